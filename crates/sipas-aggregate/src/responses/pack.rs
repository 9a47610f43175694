//! Answer codes packed into each row's two bit masks (answered, satisfied),
//! 64 rows at a time.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A set of answer codes: a range `lo ..= lo + span` (compared 16 bytes at
/// a time), any other set (looked up), or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Bits {
    Range { lo: u8, span: u8 },
    Set([u64; 4]),
    Empty,
}

impl Bits {
    /// The codes `0..=255` for which `keep` holds.
    pub(super) fn of(keep: impl Fn(u8) -> bool) -> Self {
        let mut set = [0u64; 4];
        for c in 0..=255u8 {
            if keep(c) {
                set[usize::from(c >> 6)] |= 1 << (c & 63);
            }
        }
        let n: u32 = set.iter().map(|w| w.count_ones()).sum();
        let has = |c: u8| set[usize::from(c >> 6)] >> (c & 63) & 1 == 1;
        let Some(lo) = (0..=255u8).find(|&c| has(c)) else {
            return Bits::Empty;
        };
        let hi = (lo..=255u8)
            .rev()
            .find(|&c| has(c))
            .expect("lo is in the set");
        if u32::from(hi - lo) + 1 == n {
            Bits::Range { lo, span: hi - lo }
        } else {
            Bits::Set(set)
        }
    }

    /// Bit `i` set where `v[i]` is in the set (`v` at most 64 codes).
    #[inline]
    pub(super) fn bits(&self, v: &[u8]) -> u64 {
        match *self {
            Bits::Range { lo, span } => match <&[u8; 64]>::try_from(v) {
                Ok(v64) => range_bits64(v64, lo, span),
                Err(_) => range_bits(v, lo, span),
            },
            Bits::Set(set) => {
                let mut m = 0u64;
                for (i, &x) in v.iter().enumerate() {
                    m |= (set[usize::from(x >> 6)] >> (x & 63) & 1) << i;
                }
                m
            }
            Bits::Empty => 0,
        }
    }
}

/// The codes of one test ([`sipas_core::Instrument::tests`]) as bit sets:
/// valid answers of its item, and answers that pass it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Codes {
    pub(super) valid: Bits,
    pub(super) pass: Bits,
}

impl Codes {
    /// One per test of `inst`, in test order.
    pub(super) fn of(inst: &Instrument) -> Vec<Self> {
        inst.tests()
            .iter()
            .map(|t| {
                let item = &inst.items()[t.item];
                Codes {
                    valid: Bits::of(|c| item.is_valid(c)),
                    pass: Bits::of(|c| item.is_valid(c) && t.test.passes(c)),
                }
            })
            .collect()
    }
}

/// Bit `i` set where `v[i]` lies in `lo ..= lo + span` (`v` at most 64 codes).
#[inline]
pub(super) fn range_bits(v: &[u8], lo: u8, span: u8) -> u64 {
    let mut m = 0u64;
    for (i, &x) in v.iter().enumerate() {
        m |= u64::from(x.wrapping_sub(lo) <= span) << i;
    }
    m
}

/// [`range_bits`] of exactly 64 codes: byte flags (compared 16 at a time
/// by the compiler's vector code), then eight flags to eight bits with one
/// multiplication (flag `i` at bit `8i` moves to bit `56 + i`).
#[inline]
pub(super) fn range_bits64(v: &[u8; 64], lo: u8, span: u8) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &x) in flags.iter_mut().zip(v) {
        *f = u8::from(x.wrapping_sub(lo) <= span);
    }
    let mut m = 0u64;
    for (k, c) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(c.try_into().expect("8 flags"));
        m |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    m
}

/// Bits `p .. p + 64` of a bitmap's bytes (least significant bit first),
/// zero past its end.
#[inline]
pub(super) fn bitmap_word(bytes: &[u8], p: usize) -> u64 {
    let from = p / 8;
    let word = if let Some(b) = bytes.get(from..from + 16) {
        u128::from_le_bytes(b.try_into().expect("16 bytes"))
    } else {
        let mut buf = [0u8; 16];
        let n = bytes.len().saturating_sub(from).min(16);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        u128::from_le_bytes(buf)
    };
    (word >> (p % 8)) as u64
}

/// Transposes a 64 × 64 bit matrix: bit `j` of `m[i]` becomes bit `i` of
/// `m[j]` (swaps of ever smaller blocks, Hacker's Delight 7–3).
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
pub(crate) fn transpose64(m: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            let t = ((m[k] >> width) ^ m[k + width]) & mask;
            m[k] ^= t << width;
            m[k + width] ^= t;
            k = (k + width + 1) & !width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Packs the UInt8 item columns, one per test (an item with several tests
/// repeats its column; same lengths), into the zeroed row masks `out`
/// (`2 * words` words a row, see [`Responses::states`]); null = missing.
/// Sixty-four rows at a time, each test's codes become one word of answered
/// and one of passed ("satisfied") bits (a bit per row), and the 64 × 64 bit
/// matrices are transposed into the rows' masks. Returns the first (row,
/// test, code) whose code is not valid for the test's item, in row then
/// test order. `par`: blocks on all cores.
pub(super) fn pack_states(
    out: &mut [u64],
    words: usize,
    cols: &[&UInt8Chunked],
    codes: &[Codes],
    par: bool,
) -> Option<(usize, usize, u8)> {
    debug_assert_eq!(cols.len(), codes.len());
    let stride = 2 * words;
    // Per item: its values and, when it has nulls, its validity.
    let arrays: Vec<_> = cols
        .iter()
        .map(|ca| {
            let arr = ca.downcast_as_array();
            (arr, arr.validity().filter(|_| ca.null_count() > 0))
        })
        .collect();
    if cols.is_empty() || out.is_empty() {
        return None;
    }
    let block = |(b, block): (usize, &mut [u64])| {
        let start = b * BLOCK;
        let rows = block.len() / stride;
        let mut first_bad: Option<(usize, usize, u8)> = None;
        // Per 64-row group of a span: the items' answered and satisfied
        // words. A span reads each item's codes in one sequential stretch.
        let mut am = [[0u64; 64]; GROUPS];
        let mut sm = [[0u64; 64]; GROUPS];
        for g0 in (0..rows).step_by(64 * GROUPS) {
            let span = (rows - g0).min(64 * GROUPS);
            let groups = span.div_ceil(64);
            for (wi, items) in arrays.chunks(64).enumerate() {
                for g in 0..groups {
                    am[g].fill(0);
                    sm[g].fill(0);
                }
                for (jj, &(arr, validity)) in items.iter().enumerate() {
                    let code = codes[wi * 64 + jj];
                    let values = &arr.values()[start + g0..start + g0 + span];
                    for (g, v) in values.chunks(64).enumerate() {
                        let at = start + g0 + 64 * g;
                        let live = if v.len() == 64 {
                            u64::MAX
                        } else {
                            (1u64 << v.len()) - 1
                        };
                        let present = match validity {
                            None => live,
                            Some(bm) => {
                                let (bytes, offset, _) = bm.as_slice();
                                bitmap_word(bytes, offset + at) & live
                            }
                        };
                        let (valid, sat) = (code.valid.bits(v), code.pass.bits(v));
                        am[g][jj] = valid & present;
                        sm[g][jj] = sat & present;
                        let bad = !valid & present;
                        if bad != 0 {
                            let (r, j) = (at + bad.trailing_zeros() as usize, wi * 64 + jj);
                            if first_bad.is_none_or(|(fr, fj, _)| (r, j) < (fr, fj)) {
                                first_bad = Some((r, j, arr.values()[r]));
                            }
                        }
                    }
                }
                for g in 0..groups {
                    transpose64(&mut am[g]);
                    transpose64(&mut sm[g]);
                    let r0 = g0 + 64 * g;
                    let len = (rows - r0).min(64);
                    for (i, row) in block[r0 * stride..(r0 + len) * stride]
                        .chunks_exact_mut(stride)
                        .enumerate()
                    {
                        row[wi] = am[g][i];
                        row[words + wi] = sm[g][i];
                    }
                }
            }
        }
        first_bad
    };
    if par {
        out.par_chunks_mut(BLOCK * stride)
            .enumerate()
            .filter_map(block)
            .min()
    } else {
        out.chunks_mut(BLOCK * stride)
            .enumerate()
            .filter_map(block)
            .min()
    }
}
