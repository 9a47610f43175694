//! Small distribution functions: Student t quantile, Wilson and logit intervals.

/// `qnorm(0.975)` to double precision.
pub const Z975: f64 = 1.959_963_984_540_054;

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..1000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Upper tail P(T > t) of Student's t with `df` degrees of freedom, t ≥ 0.
fn t_upper(t: f64, df: f64) -> f64 {
    0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// `qt(0.975, df)`: the t quantile of a two-sided 95% interval (bisection
/// on the exact tail to machine precision). `None` when `df` ≤ 0.
pub fn t975(df: f64) -> Option<f64> {
    if df <= 0.0 || df.is_nan() {
        return None;
    }
    if df > 1e9 {
        return Some(Z975);
    }
    let (mut lo, mut hi) = (Z975, 1e4);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_upper(mid, df) > 0.025 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Wilson score interval (fractions) for a proportion `p` on `n` (possibly
/// effective, non-integer) observations with `z = `[`Z975`].
pub fn wilson(p: f64, n: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || n.is_nan() {
        return None;
    }
    let z2 = Z975 * Z975;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z975 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some((
        (center - half).clamp(0.0, 1.0),
        (center + half).clamp(0.0, 1.0),
    ))
}

/// Logit interval (fractions) as R `svyciprop(method = "logit")`:
/// expit(logit p ± t·se/(p(1 − p))) with t = `qt(0.975, df)`.
/// `None` when p ∈ {0, 1} or df ≤ 0.
pub fn logit_ci(p: f64, se: f64, df: f64) -> Option<(f64, f64)> {
    if p <= 0.0 || p >= 1.0 {
        return None;
    }
    let t = t975(df)?;
    let l = (p / (1.0 - p)).ln();
    let h = t * se / (p * (1.0 - p));
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some((expit(l - h), expit(l + h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_r() {
        // qt(0.975, c(1, 2, 5, 30, 99)) in R, 17 digits.
        for (df, q) in [
            (1.0, 12.706_204_736_174_694),
            (2.0, 4.302_652_729_749_462),
            (5.0, 2.570_581_835_636_314),
            (30.0, 2.042_272_456_301_238),
            (99.0, 1.984_216_951_586_417),
        ] {
            let t = t975(df).unwrap();
            assert!((t - q).abs() < 1e-11 * q, "df {df}: {t} vs {q}");
        }
        assert_eq!(t975(0.0), None);
    }

    #[test]
    fn wilson_and_logit_by_hand() {
        // p = 0.5, n = 100: centre 0.5, half = z/(1 + z²/n)·sqrt(0.0025 + z²/40000).
        let (lo, hi) = wilson(0.5, 100.0).unwrap();
        let z = Z975;
        let half = z / (1.0 + z * z / 100.0) * (0.0025 + z * z / 40_000.0_f64).sqrt();
        assert!((lo - (0.5 - half)).abs() < 1e-15 && (hi - (0.5 + half)).abs() < 1e-15);
        // logit 0.5 = 0: bounds expit(±t·se/0.25).
        let (lo, hi) = logit_ci(0.5, 0.05, 1e12).unwrap();
        assert!((lo - 1.0 / (1.0 + (z * 0.2).exp())).abs() < 1e-15);
        assert!((lo + hi - 1.0).abs() < 1e-15);
        assert_eq!(logit_ci(1.0, 0.0, 10.0), None);
    }
}
