//! Bootstrap replicates in lanes: the weights of [`LANES`] consecutive
//! replicates laid out unit by unit (cluster by cluster), so that each
//! unit's data is read once for all of them and their sums run side by side.
//! Each lane's sums are those of its replicate alone, added in the same
//! order as one replicate at a time: the results do not depend on the
//! grouping (the wild cluster bootstrap of [`crate::panel`], the multiplier
//! bootstrap of [`crate::rollout`]).

/// SplitMix64 step: the generator of every replicate's weights (each
/// replicate a stream of its own).
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Replicates computed together.
pub(crate) const LANES: usize = 8;

/// The weights of the replicates of one block, `v[i][l]`: unit i in
/// replicate `first + l` (0 in lanes past the last replicate).
#[derive(Debug, Clone)]
pub(crate) struct Lanes {
    pub(crate) v: Vec<[f64; LANES]>,
}

impl Lanes {
    /// Lanes over `n` units.
    pub(crate) fn new(n: usize) -> Self {
        Lanes {
            v: vec![[0.0; LANES]; n],
        }
    }

    /// Blocks of lanes for `replicates` replicates.
    pub(crate) fn blocks(replicates: usize) -> usize {
        replicates.div_ceil(LANES)
    }

    /// Draws block `blk` of `replicates` replicates, each replicate a stream
    /// of its own (`start(b)` its state, `weight` the next weight from a
    /// state), the streams of the block's lanes advanced side by side unit by
    /// unit: the weights [`Lanes::draw`] makes from the same streams, without
    /// a pass per lane. Returns how many replicates the block holds.
    #[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
    #[inline(always)]
    pub(crate) fn draw_streams(
        &mut self,
        blk: usize,
        replicates: usize,
        start: impl Fn(u64) -> u64,
        weight: impl Fn(&mut u64) -> f64,
    ) -> usize {
        let first = blk * LANES;
        let nb = LANES.min(replicates - first);
        let mut states = [0u64; LANES];
        for (l, s) in states.iter_mut().enumerate().take(nb) {
            *s = start((first + l) as u64);
        }
        for v in &mut self.v {
            for l in 0..LANES {
                v[l] = if l < nb { weight(&mut states[l]) } else { 0.0 };
            }
        }
        nb
    }

    /// Draws block `blk` of `replicates` replicates, replicate b's weights by
    /// `draw(b, out)`; returns how many replicates the block holds.
    #[cfg(test)]
    pub(crate) fn draw(
        &mut self,
        blk: usize,
        replicates: usize,
        draw: impl Fn(u64, &mut [f64]),
    ) -> usize {
        let first = blk * LANES;
        let nb = LANES.min(replicates - first);
        let mut one = vec![0.0; self.v.len()];
        for l in 0..LANES {
            if l < nb {
                draw((first + l) as u64, &mut one);
            } else {
                one.fill(0.0);
            }
            for (v, &x) in self.v.iter_mut().zip(&one) {
                v[l] = x;
            }
        }
        nb
    }

    /// Block `blk` of the two-point draws `d` (over the same units): the
    /// same weights as [`Lanes::draw`] with the draws' own generator;
    /// returns how many replicates the block holds.
    #[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
    #[inline(always)]
    pub(crate) fn fill(&mut self, d: &TwoPoint, blk: usize) -> usize {
        let (bytes, table, nb) = d.block(blk);
        for (v, &b) in self.v.iter_mut().zip(bytes) {
            *v = table[usize::from(b)];
        }
        nb
    }

    /// `out[j][l]` = Σ_i v_i·m_i[j] in unit order (from +0), `m` the units'
    /// rows of `k` (row-major).
    #[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
    #[inline(always)]
    pub(crate) fn combine(&self, m: &[f64], k: usize, out: &mut [[f64; LANES]]) {
        for o in out.iter_mut() {
            *o = [0.0; LANES];
        }
        for (vi, mi) in self.v.iter().zip(m.chunks_exact(k)) {
            for (o, &y) in out.iter_mut().zip(mi) {
                for l in 0..LANES {
                    o[l] += vi[l] * y;
                }
            }
        }
    }
}

/// Weights that take one of two values (Rademacher's ±1, Mammen's two
/// points) for every replicate, drawn once and kept as bits: byte
/// `blk·n + i` holds unit i's draw in each of the [`LANES`] replicates of
/// block `blk` (bit l set: replicate `blk·LANES + l` gives the unit
/// `values[1]`, else `values[0]`). 1.25 MB per 10⁴ units × 10³ replicates,
/// where the weights themselves would take 80 MB: a bootstrap that is run
/// several times on the same units (every band of the staggered estimates,
/// of every index) draws them once, and a block's weights are read from a
/// table of the 256 bytes' lanes instead of being drawn and transposed.
#[derive(Debug)]
pub(crate) struct TwoPoint {
    n: usize,
    replicates: usize,
    bytes: Vec<u8>,
    /// `table[byte][l]`: lane l's weight.
    table: Box<[[f64; LANES]; 256]>,
    /// The last block's table: lanes past the last replicate weigh 0 (as
    /// [`Lanes::draw`] leaves them).
    last: Box<[[f64; LANES]; 256]>,
}

impl TwoPoint {
    /// The draws of `replicates` replicates over `n` units: `bits(b, out)`
    /// writes replicate b's draw of each unit (0 or 1) into `out`.
    pub(crate) fn new(
        n: usize,
        replicates: usize,
        values: [f64; 2],
        bits: impl Fn(u64, &mut [u8]),
    ) -> Self {
        let blocks = Lanes::blocks(replicates);
        let mut bytes = vec![0u8; blocks * n];
        let mut one = vec![0u8; n];
        for b in 0..replicates {
            bits(b as u64, &mut one);
            let (blk, l) = (b / LANES, b % LANES);
            for (byte, &x) in bytes[blk * n..(blk + 1) * n].iter_mut().zip(&one) {
                *byte |= (x & 1) << l;
            }
        }
        let table_of = |lanes: usize| {
            let mut t = Box::new([[0.0; LANES]; 256]);
            for (byte, row) in t.iter_mut().enumerate() {
                for (l, w) in row.iter_mut().enumerate().take(lanes) {
                    *w = values[(byte >> l) & 1];
                }
            }
            t
        };
        let in_last = replicates - (blocks.max(1) - 1) * LANES;
        TwoPoint {
            n,
            replicates,
            bytes,
            table: table_of(LANES),
            last: table_of(in_last),
        }
    }

    /// Block `blk`'s bytes (one per unit), the table of their lanes'
    /// weights, and how many replicates the block holds.
    pub(crate) fn block(&self, blk: usize) -> (&[u8], &[[f64; LANES]; 256], usize) {
        let first = blk * LANES;
        let nb = LANES.min(self.replicates - first);
        let table = if first + LANES >= self.replicates {
            &self.last
        } else {
            &self.table
        };
        (&self.bytes[blk * self.n..(blk + 1) * self.n], table, nb)
    }
}

/// The draws `make` builds for `key` (the weights' kind, seed, units and
/// replicates: what the draws are a function of), made once and shared by
/// every bootstrap of the process with the same key (the last few keys are
/// kept). Two threads that ask at once may each make them: the same bits.
pub(crate) fn shared_draws(
    key: (u8, u64, usize, usize),
    make: impl FnOnce() -> TwoPoint,
) -> std::sync::Arc<TwoPoint> {
    use std::sync::{Arc, Mutex};
    type Memo = Vec<((u8, u64, usize, usize), Arc<TwoPoint>)>;
    static MEMO: Mutex<Memo> = Mutex::new(Vec::new());
    const KEEP: usize = 4;
    let found = MEMO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| Arc::clone(d));
    if let Some(d) = found {
        return d;
    }
    // Made outside the lock: another thread's bootstrap goes on meanwhile.
    let d = Arc::new(make());
    let mut memo = MEMO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !memo.iter().any(|(k, _)| *k == key) {
        if memo.len() == KEEP {
            memo.remove(0);
        }
        memo.push((key, Arc::clone(&d)));
    }
    d
}

/// Σ_j a_j·b_j of `a` with each lane of `b` (`b[j][l]`), in order from −0
/// (as `Iterator::sum`).
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
pub(crate) fn dot_lanes(a: &[f64], b: &[[f64; LANES]]) -> [f64; LANES] {
    let mut acc = [-0.0; LANES];
    for (&x, y) in a.iter().zip(b) {
        for l in 0..LANES {
            acc[l] += x * y[l];
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block past the last replicate holds zeros in its spare lanes, and
    /// each lane's sums are the replicate's own, bit for bit.
    #[test]
    fn lanes_are_the_replicates_one_at_a_time() {
        let draw = |b: u64, out: &mut [f64]| {
            for (i, x) in out.iter_mut().enumerate() {
                *x = ((b as f64 + 1.0) * 0.37 + i as f64 * 1.1).sin();
            }
        };
        let (n, k, replicates) = (37, 3, 11);
        let m: Vec<f64> = (0..n * k).map(|x| (x as f64 * 0.7).cos()).collect();
        let a = [0.3, -1.7, 2.9];
        let mut lanes = Lanes::new(n);
        let mut out = vec![[0.0; LANES]; k];
        let mut seen = 0;
        for blk in 0..Lanes::blocks(replicates) {
            let nb = lanes.draw(blk, replicates, draw);
            lanes.combine(&m, k, &mut out);
            let dots = dot_lanes(&a, &out);
            for l in 0..LANES {
                let mut w = vec![0.0; n];
                if l < nb {
                    draw((blk * LANES + l) as u64, &mut w);
                    seen += 1;
                }
                let mut e = vec![0.0; k];
                for (wi, mi) in w.iter().zip(m.chunks_exact(k)) {
                    for (ej, y) in e.iter_mut().zip(mi) {
                        *ej += wi * y;
                    }
                }
                for j in 0..k {
                    assert_eq!(out[j][l].to_bits(), e[j].to_bits(), "block {blk} lane {l}");
                }
                let d: f64 = a.iter().zip(&e).map(|(x, y)| x * y).sum();
                assert_eq!(dots[l].to_bits(), d.to_bits());
            }
        }
        assert_eq!(seen, replicates);
    }

    /// Streams advanced side by side give each replicate's weights as drawn
    /// one replicate at a time, spare lanes 0.
    #[test]
    fn streams_side_by_side_are_the_replicates_drawn_one_at_a_time() {
        let start = |b: u64| b.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x5135;
        let weight = |s: &mut u64| (splitmix(s) >> 11) as f64 - 1e15;
        let draw = |b: u64, out: &mut [f64]| {
            let mut s = start(b);
            for x in out.iter_mut() {
                *x = weight(&mut s);
            }
        };
        let n = 29;
        for replicates in [5, 8, 19] {
            let (mut a, mut b) = (Lanes::new(n), Lanes::new(n));
            for blk in 0..Lanes::blocks(replicates) {
                let nb = a.draw(blk, replicates, draw);
                assert_eq!(b.draw_streams(blk, replicates, start, weight), nb);
                for (x, y) in a.v.iter().zip(&b.v) {
                    assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits), "{replicates}");
                }
            }
        }
    }

    /// Two-point draws read through the table are the weights
    /// [`Lanes::draw`] makes from the same generator, spare lanes 0 included,
    /// for a replicate count that fills its last block and one that does not.
    #[test]
    fn two_point_draws_are_the_weights_drawn_one_replicate_at_a_time() {
        let bits = |b: u64, out: &mut [u8]| {
            let mut state = b.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x11;
            for x in out.iter_mut() {
                *x = u8::from(splitmix(&mut state).is_multiple_of(3));
            }
        };
        let values = [-0.618, 1.618];
        let draw = |b: u64, out: &mut [f64]| {
            let mut one = vec![0u8; out.len()];
            bits(b, &mut one);
            for (w, x) in out.iter_mut().zip(one) {
                *w = values[usize::from(x)];
            }
        };
        let n = 37;
        for replicates in [3, 11, 16] {
            let d = TwoPoint::new(n, replicates, values, bits);
            assert_eq!((d.n, d.replicates), (n, replicates));
            let (mut a, mut b) = (Lanes::new(n), Lanes::new(n));
            for blk in 0..Lanes::blocks(replicates) {
                let nb = a.draw(blk, replicates, draw);
                assert_eq!(b.fill(&d, blk), nb);
                for (x, y) in a.v.iter().zip(&b.v) {
                    assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits), "{replicates}");
                }
            }
        }
        // Both values occur, and the memo gives the same draws for the same key.
        let d = shared_draws((9, 1, n, 11), || TwoPoint::new(n, 11, values, bits));
        let again = shared_draws((9, 1, n, 11), || unreachable!("drawn once"));
        assert!(std::sync::Arc::ptr_eq(&d, &again));
        let (bytes, _, _) = d.block(0);
        assert!(bytes.iter().any(|&b| b != 0) && bytes.iter().any(|&b| b != 0xFF));
    }
}
