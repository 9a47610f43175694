//! Small distribution functions at a confidence [`Level`]: the Student t
//! quantile, Wilson and logit intervals.

use sipas_core::Level;

use crate::dist::t_two_sided;

/// `qt(1 − α/2, df)`: the t quantile of a two-sided interval at `level`
/// (bisection on the exact tail to machine precision). `None` when `df` ≤ 0.
///
/// The bracket starts at [`Level::z`] (the limit as `df` → ∞), which keeps the
/// result at or above it where the tail loses precision for very large `df`.
pub fn t_quantile(level: Level, df: f64) -> Option<f64> {
    if df <= 0.0 || df.is_nan() {
        return None;
    }
    if df > 1e9 {
        return Some(level.z());
    }
    // Every estimate of a domain shares its degrees of freedom, and a run has
    // few distinct ones: remember them (per thread, so no locking) instead of
    // repeating the bisection for each of the ~10⁵ rows of estimates.csv.
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<(u64, u64), f64>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    let key = (level.value().to_bits(), df.to_bits());
    if let Some(t) = CACHE.with(|c| c.borrow().get(&key).copied()) {
        return Some(t);
    }
    let t = t_quantile_uncached(level, df);
    CACHE.with(|c| c.borrow_mut().insert(key, t));
    Some(t)
}

fn t_quantile_uncached(level: Level, df: f64) -> f64 {
    let alpha = level.alpha();
    let (mut lo, mut hi) = (level.z(), 1e4);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_two_sided(mid, df) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Wilson score interval (fractions) for a proportion `p` on `n` (possibly
/// effective, non-integer) observations with `z = `[`Level::z`].
pub fn wilson(p: f64, n: f64, level: Level) -> Option<(f64, f64)> {
    wilson_z(p, n, level.z())
}

/// [`wilson`] with the normal quantile `z` of the level already computed (a table of
/// millions of intervals computes it once).
pub(crate) fn wilson_z(p: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || n.is_nan() {
        return None;
    }
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some((
        (center - half).clamp(0.0, 1.0),
        (center + half).clamp(0.0, 1.0),
    ))
}

/// Logit interval (fractions) as R `svyciprop(method = "logit", level)`:
/// expit(logit p ± t·se/(p(1 − p))) with t = `qt(1 − α/2, df)`.
/// `None` when p ∈ {0, 1} or df ≤ 0.
pub fn logit_ci(p: f64, se: f64, df: f64, level: Level) -> Option<(f64, f64)> {
    logit_ci_t(p, se, || t_quantile(level, df))
}

/// [`logit_ci`] with the t quantile from `t` (called only when p is inside (0, 1)), e.g. from a
/// cache by degrees of freedom.
pub(crate) fn logit_ci_t(p: f64, se: f64, t: impl FnOnce() -> Option<f64>) -> Option<(f64, f64)> {
    if p <= 0.0 || p >= 1.0 {
        return None;
    }
    let t = t()?;
    let l = (p / (1.0 - p)).ln();
    let h = t * se / (p * (1.0 - p));
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some((expit(l - h), expit(l + h)))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // R's values as it prints them (17 digits)
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_r() {
        // qt(0.975, c(1, 2, 5, 29, 30, 99)) in R, 17 digits.
        for (df, q) in [
            (1.0, 12.706_204_736_174_694),
            (2.0, 4.302_652_729_749_462),
            (5.0, 2.570_581_835_636_314),
            (29.0, 2.045_229_642_132_703),
            (30.0, 2.042_272_456_301_238),
            (99.0, 1.984_216_951_586_417),
        ] {
            let t = t_quantile(Level::DEFAULT, df).unwrap();
            assert!((t - q).abs() < 1e-11 * q, "df {df}: {t} vs {q}");
        }
        assert_eq!(t_quantile(Level::DEFAULT, 0.0), None);
        // qt(0.95, c(1, 7, 40)) in R: the 90 % level.
        let l90 = Level::new(0.90).unwrap();
        for (df, q) in [
            (1.0, 6.313_751_514_675_037_6),
            (7.0, 1.894_578_605_090_006_2),
            (40.0, 1.683_851_013_335_652_6),
        ] {
            let t = t_quantile(l90, df).unwrap();
            assert!((t - q).abs() < 1e-11 * q, "df {df}: {t} vs {q}");
        }
    }

    #[test]
    fn wilson_and_logit_by_hand() {
        // p = 0.5, n = 100: centre 0.5, half = z/(1 + z²/n)·sqrt(0.0025 + z²/40000).
        let (lo, hi) = wilson(0.5, 100.0, Level::DEFAULT).unwrap();
        let z = 1.959_963_984_540_054;
        let half = z / (1.0 + z * z / 100.0) * (0.0025 + z * z / 40_000.0_f64).sqrt();
        assert!((lo - (0.5 - half)).abs() < 1e-15 && (hi - (0.5 + half)).abs() < 1e-15);
        // logit 0.5 = 0: bounds expit(±t·se/0.25).
        let (lo, hi) = logit_ci(0.5, 0.05, 1e12, Level::DEFAULT).unwrap();
        assert!((lo - 1.0 / (1.0 + (z * 0.2).exp())).abs() < 1e-15);
        assert!((lo + hi - 1.0).abs() < 1e-15);
        assert_eq!(logit_ci(1.0, 0.0, 10.0, Level::DEFAULT), None);
        // 90 %: z = qnorm(0.95) = 1.6448536269514715 in R.
        let z = 1.644_853_626_951_471_5;
        let (lo, _) = wilson(0.5, 100.0, Level::new(0.90).unwrap()).unwrap();
        let half = z / (1.0 + z * z / 100.0) * (0.0025 + z * z / 40_000.0_f64).sqrt();
        assert!((lo - (0.5 - half)).abs() < 1e-15);
    }
}
