//! Byte scans eight bytes at a time, shared by ingest's line splitter and
//! the Parquet writer's run finder.

/// 0x80 in each byte of `x` that is zero, 0 in every other byte.
///
/// Exact: `(x & 0x7f…) + 0x7f…` sets a byte's high bit when its low seven
/// bits are not all zero, and cannot carry into the next byte; or-ing `x`
/// adds the bytes whose own high bit is set. (The shorter `(x - 0x01…) & !x
/// & 0x80…` can also flag the byte after a zero one.)
#[inline]
pub fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_in_every_place_is_zero_or_not() {
        for place in 0..8 {
            for b in 0..=255u64 {
                // The other bytes zero, then 0xff, then the byte itself.
                for fill in [0u64, 0xff, b] {
                    let mut x = 0u64;
                    for k in 0..8 {
                        x |= (if k == place { b } else { fill }) << (8 * k);
                    }
                    let want: u64 = (0..8)
                        .filter(|&k| x.to_le_bytes()[k] == 0)
                        .map(|k| 0x80u64 << (8 * k))
                        .sum();
                    assert_eq!(zero_bytes(x), want, "{x:#018x}");
                }
            }
        }
    }
}
