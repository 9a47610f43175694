//! Multiplier bootstrap of influence functions: the critical value of a
//! simultaneous band (R `did::mboot`, Mammen weights).

use rayon::prelude::*;

use super::RolloutOptions;
use crate::lanes::{LANES, Lanes, TwoPoint, splitmix};

/// `Φ⁻¹(0.75) − Φ⁻¹(0.25)`: the IQR of a standard normal.
const NORMAL_IQR: f64 = 1.348_979_500_392_163_4;

/// Mammen's two points: (the weight with probability 1 − p, the weight
/// with probability p = (√5 + 1)/(2√5)).
fn mammen_values() -> [f64; 2] {
    let sqrt5 = 5f64.sqrt();
    [f64::midpoint(1.0, sqrt5), (1.0 - sqrt5) / 2.0]
}

/// Which of Mammen's two points ([`mammen_values`]) each unit draws in
/// replicate `b` (1: the low one, (1 − √5)/2): a stream of its own seeded
/// from `(seed, b)`.
pub(super) fn mammen_bits(seed: u64, b: u64, out: &mut [u8]) {
    let sqrt5 = 5f64.sqrt();
    let p_low = (sqrt5 + 1.0) / (2.0 * sqrt5);
    let mut key = seed ^ 0xC5A1_u64.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut state = splitmix(&mut key) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut state = splitmix(&mut state);
    for x in out.iter_mut() {
        let u = (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
        *x = u8::from(u < p_low);
    }
}

/// Mammen's two-point weights (mean 0, variance 1, third moment 1) of
/// replicate `b` ([`mammen_bits`]).
#[cfg(test)]
pub(super) fn mammen(seed: u64, b: u64, v: &mut [f64]) {
    let mut bits = vec![0u8; v.len()];
    mammen_bits(seed, b, &mut bits);
    let values = mammen_values();
    for (w, x) in v.iter_mut().zip(bits) {
        *w = values[usize::from(x)];
    }
}

/// The Mammen draws of `replicates` replicates over `n` units with `seed`,
/// drawn once per process for every band that asks for them (each index's
/// four bands of the staggered estimates, on the same units).
fn mammen_draws(seed: u64, n: usize, replicates: usize) -> std::sync::Arc<TwoPoint> {
    crate::lanes::shared_draws((b'M', seed, n, replicates), || {
        TwoPoint::new(n, replicates, mammen_values(), |b, out| {
            mammen_bits(seed, b, out);
        })
    })
}

/// Quantile of sorted data, R's type 7.
pub(super) fn quantile7(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Estimates whose bootstrap sums are added side by side.
const COLS: usize = 4;

/// `acc[k][l] += Σ_i ψ_ik·w_il` over the units i in order, `w_i` the lanes of unit i's byte
/// of draws in `table`: the `K` estimates' chains are independent, each added in unit order.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn sums<const K: usize>(
    acc: &mut [[f64; LANES]; K],
    cols: [&[f64]; K],
    bytes: &[u8],
    table: &[[f64; LANES]; 256],
) {
    for (i, &byte) in bytes.iter().enumerate() {
        let w = &table[usize::from(byte)];
        for (a, c) in acc.iter_mut().zip(&cols) {
            let p = c[i];
            for l in 0..LANES {
                a[l] += p * w[l];
            }
        }
    }
}

/// Every estimate's sums of one block of replicates (`acc[k][l]`: estimate k, lane l; see
/// [`sums`]), [`COLS`] estimates at a time so that their chains of additions overlap;
/// compiled wide ([`crate::wide`]).
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn block_sums(
    acc: &mut [[f64; LANES]],
    cols: &[&[f64]],
    bytes: &[u8],
    table: &[[f64; LANES]; 256],
) {
    let n = bytes.len();
    let mut a4 = acc.chunks_exact_mut(COLS);
    let mut c4 = cols.chunks_exact(COLS);
    for (a, c) in (&mut a4).zip(&mut c4) {
        let a: &mut [[f64; LANES]; COLS] = a.try_into().expect("COLS estimates");
        let c: [&[f64]; COLS] = std::array::from_fn(|k| &c[k][..n]);
        sums(a, c, bytes, table);
    }
    for (a, c) in a4.into_remainder().iter_mut().zip(c4.remainder()) {
        sums(std::array::from_mut(a), [&c[..n]], bytes, table);
    }
}

/// `ψ*_k = Σ_i v_i ψ_ik/√n` of each replicate (`reps[b][k]`) of the Mammen draws of `seed`
/// ([`mammen_bits`]) over the `n` units of `cols` (`n ≥ 1`, every column `n` long).
fn replicates(cols: &[&[f64]], seed: u64, b_reps: usize) -> Vec<Vec<f64>> {
    let n = cols[0].len();
    let root_n = (n as f64).sqrt();
    let k_cols = cols.len();
    // Replicates in lanes ([`Lanes`]): the lanes' sums are independent
    // (vectorised), each Σ_i v_i ψ_ik still added in unit order from −0 (as
    // `Iterator::sum`): the same numbers as one replicate at a time. A unit's
    // weights in the block's lanes are read from the table of its byte of
    // draws ([`TwoPoint`]): a block's bytes are one per unit, small enough to
    // stay in cache while every estimate's ψ is read.
    let draws = mammen_draws(seed, n, b_reps);
    (0..Lanes::blocks(b_reps))
        .into_par_iter()
        .map(|blk| {
            let (bytes, table, nb) = draws.block(blk);
            // acc[k][l]: estimate k, replicate l of the block.
            let mut acc = vec![[-0.0f64; LANES]; k_cols];
            crate::wide::wide(
                #[inline(always)]
                || block_sums(&mut acc, cols, &bytes[..n], table),
            );
            (0..nb)
                .map(|l| acc.iter().map(|a| a[l] / root_n).collect::<Vec<f64>>())
                .collect::<Vec<Vec<f64>>>()
        })
        .flatten_iter()
        .collect()
}

/// The critical value of the simultaneous band at `opts.level` over the
/// estimates whose influence functions (over the same `n` units) are `cols`:
/// the `level` quantile of `max_k |ψ*_k|/σ̂_k` over replicates, `ψ*_k = Σ_i v_i ψ_ik/√n`,
/// `σ̂_k` = bootstrap IQR / 1.349. At least `Φ⁻¹(1 − α/2)` (as R `did`, which
/// falls back to pointwise intervals otherwise). `None` without replicates
/// or without an estimate of positive spread.
pub(super) fn crit(cols: &[&[f64]], opts: &RolloutOptions) -> Option<f64> {
    let b_reps = opts.replicates;
    let n = cols.first()?.len();
    if b_reps < 2 || n == 0 {
        return None;
    }
    let reps = replicates(cols, opts.seed, b_reps);
    let sigma: Vec<Option<f64>> = (0..cols.len())
        .map(|k| {
            let mut x: Vec<f64> = reps.iter().map(|r| r[k]).collect();
            x.sort_by(f64::total_cmp);
            let s = (quantile7(&x, 0.75) - quantile7(&x, 0.25)) / NORMAL_IQR;
            (s.is_finite() && s > f64::EPSILON.sqrt() * 10.0).then_some(s)
        })
        .collect();
    if sigma.iter().all(Option::is_none) {
        return None;
    }
    let mut t: Vec<f64> = reps
        .iter()
        .map(|r| {
            r.iter()
                .zip(&sigma)
                .filter_map(|(x, s)| s.map(|s| x.abs() / s))
                .fold(0.0, f64::max)
        })
        .collect();
    t.sort_by(f64::total_cmp);
    Some(quantile7(&t, opts.level.value()).max(opts.level.z()))
}

#[cfg(test)]
mod tests {
    use super::{mammen, quantile7, replicates};

    /// The replicates' sums, four estimates side by side and the rest one by one, are each
    /// replicate's Σ_i v_i ψ_ik/√n added in unit order from −0, bit for bit (with a number of
    /// replicates that does not fill the last block of lanes).
    #[test]
    fn replicates_are_the_sums_of_one_replicate_at_a_time() {
        let (n, k_cols, b_reps, seed) = (37, 7, 19, 11);
        let cols: Vec<Vec<f64>> = (0..k_cols)
            .map(|k| {
                (0..n)
                    .map(|i| ((i * 7 + k * 3) as f64 * 0.37).sin() * 10.0)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let reps = replicates(&refs, seed, b_reps);
        assert_eq!(reps.len(), b_reps);
        let mut v = vec![0.0; n];
        for (b, rep) in reps.iter().enumerate() {
            mammen(seed, b as u64, &mut v);
            for (k, col) in cols.iter().enumerate() {
                let s: f64 = col.iter().zip(&v).map(|(p, w)| p * w).sum();
                let expected = s / (n as f64).sqrt();
                assert_eq!(
                    rep[k].to_bits(),
                    expected.to_bits(),
                    "replicate {b}, estimate {k}"
                );
            }
        }
    }

    #[test]
    fn mammen_weights_have_mean_zero_and_unit_variance() {
        let mut v = vec![0.0; 200_000];
        mammen(7, 3, &mut v);
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        let mut w = vec![0.0; 10];
        mammen(7, 3, &mut w);
        assert_eq!(w[..], v[..10]);
    }

    #[test]
    fn quantile_type_7_interpolates() {
        // R: quantile(c(1, 2, 4, 8), 0.95, type = 7) = 7.4
        assert!((quantile7(&[1.0, 2.0, 4.0, 8.0], 0.95) - 7.4).abs() < 1e-12);
        assert_eq!(quantile7(&[1.0, 2.0, 4.0, 8.0], 0.5), 3.0);
    }
}
