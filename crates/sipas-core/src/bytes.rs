//! Byte scans eight bytes at a time, shared by ingest's line splitter and
//! the Parquet writer's run finder, and byte counts the compiler turns into
//! vector code.

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

/// The bytes of `b` equal to `x` (a line count: `x` = `\n`).
///
/// In blocks of at most 255 bytes, each counted into one byte: the compiler
/// makes that loop a vector compare and subtract (`iter().filter().count()`
/// stays a byte-at-a-time loop, about 2.5 GB/s).
pub fn count_byte(b: &[u8], x: u8) -> u64 {
    b.chunks(255)
        .map(|c| u64::from(c.iter().fold(0u8, |n, &v| n + u8::from(v == x))))
        .sum()
}

/// The bytes of `b` that are not ASCII (≥ 0x80), counted as [`count_byte`].
pub fn count_non_ascii(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &v| n + (v >> 7))))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both counts equal the plain filters on texts of every length around
    /// the 255-byte blocks, of all bytes equal, none, and mixed.
    #[test]
    fn counts_are_the_filters_counts() {
        let mut rng = crate::xorshift::XorShift64::new(0x2545_f491_4f6c_dd1d);
        for len in (0..600).chain([4095, 4096, 65_537]) {
            for fill in [0u8, b'\n', 0xc3, 0xff] {
                let text: Vec<u8> = (0..len)
                    .map(|i| {
                        let state = rng.next_u64();
                        match state % 4 {
                            0 if i % 3 == 0 => b'\n',
                            1 => (state >> 8) as u8,
                            _ => fill,
                        }
                    })
                    .collect();
                #[allow(clippy::naive_bytecount)] // the reference
                let lines = text.iter().filter(|&&b| b == b'\n').count() as u64;
                let high = text.iter().filter(|b| !b.is_ascii()).count();
                assert_eq!(count_byte(&text, b'\n'), lines, "{len} bytes");
                assert_eq!(count_non_ascii(&text), high, "{len} bytes");
            }
        }
        let all = vec![b'\n'; 1000];
        assert_eq!(count_byte(&all, b'\n'), 1000);
        assert_eq!(count_non_ascii(&[0x80; 510]), 510);
    }

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
