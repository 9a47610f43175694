//! Bootstrap replicates in lanes: the weights of [`LANES`] consecutive
//! replicates laid out unit by unit (cluster by cluster), so that each
//! unit's data is read once for all of them and their sums run side by side.
//! Each lane's sums are those of its replicate alone, added in the same
//! order as one replicate at a time: the results do not depend on the
//! grouping (the wild cluster bootstrap of [`crate::panel`], the multiplier
//! bootstrap of [`crate::rollout`]).

/// SplitMix64 step: the generator of every replicate's weights (each
/// replicate a stream of its own).
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
    /// One replicate's weights as drawn.
    one: Vec<f64>,
}

impl Lanes {
    /// Lanes over `n` units.
    pub(crate) fn new(n: usize) -> Self {
        Lanes {
            v: vec![[0.0; LANES]; n],
            one: vec![0.0; n],
        }
    }

    /// Blocks of lanes for `replicates` replicates.
    pub(crate) fn blocks(replicates: usize) -> usize {
        replicates.div_ceil(LANES)
    }

    /// Draws block `blk` of `replicates` replicates, replicate b's weights by
    /// `draw(b, out)`; returns how many replicates the block holds.
    pub(crate) fn draw(
        &mut self,
        blk: usize,
        replicates: usize,
        draw: impl Fn(u64, &mut [f64]),
    ) -> usize {
        let first = blk * LANES;
        let nb = LANES.min(replicates - first);
        for l in 0..LANES {
            if l < nb {
                draw((first + l) as u64, &mut self.one);
            } else {
                self.one.fill(0.0);
            }
            for (v, &x) in self.v.iter_mut().zip(&self.one) {
                v[l] = x;
            }
        }
        nb
    }

    /// `out[j][l]` = Σ_i v_i·m_i[j] in unit order (from +0), `m` the units'
    /// rows of `k` (row-major).
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

/// Σ_j a_j·b_j of `a` with each lane of `b` (`b[j][l]`), in order from −0
/// (as `Iterator::sum`).
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
}
