//! Student t and F distributions through the regularised incomplete beta
//! function (continued fraction, Numerical Recipes §6.4; `ln Γ` by Lanczos),
//! shared by the survey-design intervals and the panel evaluation.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error ≈ 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
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
        // reflection
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

const TINY: f64 = 1e-300;

/// One step of the modified Lentz algorithm: updates `c` and `d` with the
/// coefficient `aa` and returns the factor `c·d` of the next convergent.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 + aa * *d;
    if d.abs() < TINY {
        *d = TINY;
    }
    *c = 1.0 + aa / *c;
    if c.abs() < TINY {
        *c = TINY;
    }
    *d = 1.0 / *d;
    *d * *c
}

/// Continued fraction of the incomplete beta function.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = lentz_step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta `I_x(a, b)`.
pub(crate) fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
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

/// Two-sided p-value `P(|T| ≥ |t|)` of Student's t with `df` degrees of freedom.
pub(crate) fn t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { f64::NAN } else { 0.0 };
    }
    inc_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// Upper tail `P(F ≥ f)` of the F distribution with `(d1, d2)` degrees of freedom.
pub(crate) fn f_upper(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 1.0;
    }
    inc_beta(d2 / (d2 + d1 * f), d2 / 2.0, d1 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::{f_upper, ln_gamma, t_two_sided};

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol * b.abs().max(1e-300), "{a} vs {b}");
    }

    #[test]
    fn log_gamma_of_known_values() {
        close(ln_gamma(5.0), 24f64.ln(), 1e-14);
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-13);
    }

    #[test]
    fn t_distribution_matches_r() {
        // R: 2 * pt(-2.5, 29) = 0.018325344338426069 (the quantile: design::t_quantile).
        close(t_two_sided(2.5, 29.0), 0.018_325_344_338_426_07, 1e-12);
        // Cauchy (df = 1): P(|T| ≥ 1) = 1/2 exactly.
        close(t_two_sided(1.0, 1.0), 0.5, 1e-14);
        // df = 2: P(|T| ≥ t) = 1 − t/√(2 + t²); t = 2 → 1 − 2/√6.
        close(t_two_sided(2.0, 2.0), 1.0 - 2.0 / 6f64.sqrt(), 1e-13);
    }

    #[test]
    fn f_distribution_matches_closed_forms() {
        // F(2, d2): P(F ≥ f) = (1 + 2f/d2)^(−d2/2).
        close(
            f_upper(1.7, 2.0, 29.0),
            (1.0 + 2.0 * 1.7 / 29.0f64).powf(-14.5),
            1e-12,
        );
        // F(1, d) = T²: P(F ≥ t²) = P(|T| ≥ t).
        close(f_upper(6.25, 1.0, 29.0), t_two_sided(2.5, 29.0), 1e-12);
    }
}
