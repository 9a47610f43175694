//! The confidence level of every interval sipas computes, shows and labels.
//!
//! One value, [`Level`], flows from the job (`[aggregate] level`, `--level`)
//! through every interval: cell, group and domain indices, Wilson and logit
//! intervals of item shares, the difference-in-differences (2×2 and TWFE), the
//! event study, the wild bootstrap's test inversion, the staggered rollout's
//! pointwise intervals and simultaneous bands, the SQL engine's interval
//! columns, and every label of the report ("95%", "90%"). Nothing else in
//! sipas writes a quantile or a percentage of confidence.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A two-sided confidence level, strictly between 0.5 and 1 (default 0.95).
///
/// Serialised as the plain number (`0.95`); a value outside (0.5, 1) is
/// refused when read.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Level(f64);

/// Why a number is not a confidence level.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("confidence level {0} is not strictly between 0.5 and 1 (write 0.90 for 90 %)")]
pub struct LevelError(pub f64);

impl Level {
    /// The default level, 95 %.
    pub const DEFAULT: Level = Level(0.95);

    /// A level in (0.5, 1).
    ///
    /// # Errors
    /// [`LevelError`] when `level` is not strictly between 0.5 and 1 (or NaN).
    pub fn new(level: f64) -> Result<Level, LevelError> {
        if level > 0.5 && level < 1.0 {
            Ok(Level(level))
        } else {
            Err(LevelError(level))
        }
    }

    /// The level as a fraction (`0.95`).
    pub fn value(self) -> f64 {
        self.0
    }

    /// `α = 1 − level`: the two tails together.
    pub fn alpha(self) -> f64 {
        1.0 - self.0
    }

    /// The upper quantile of the two-sided interval: `1 − α/2` (`0.975`).
    pub fn upper_probability(self) -> f64 {
        1.0 - self.alpha() / 2.0
    }

    /// `qnorm(1 − α/2)` to double precision (Wichura's AS 241, the algorithm
    /// of R's `qnorm`): the z of Wilson intervals, of the rollout's pointwise
    /// intervals and the floor of its simultaneous bands.
    pub fn z(self) -> f64 {
        qnorm(self.upper_probability())
    }

    /// The multiplier of the normal intervals `estimate ± m·SE` of indices,
    /// differences and regression coefficients: `1.96` at the default 95 %
    /// (the two-decimal value SIPAS reports have always printed, kept so that
    /// results at the default level are unchanged), [`Level::z`] at any other
    /// level (so `--level 0.90` gives R's `confint(…, level = 0.90)`).
    pub fn normal_multiplier(self) -> f64 {
        if self == Level::DEFAULT {
            1.96
        } else {
            self.z()
        }
    }

    /// [`Level::normal_multiplier`] as a sentence prints it: three decimals
    /// at most, trailing zeros dropped (`1.96` at 95 %, `1.645` at 90 %).
    pub fn multiplier_label(self) -> String {
        let s = format!("{:.3}", self.normal_multiplier());
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// The level in percent, as labels print it (`95`, `90`, `99.5`).
    pub fn percent(self) -> String {
        percent_of(self.0)
    }

    /// `α` in percent with its sign, as the methods text prints a test's
    /// size (`5%` at the 95 % level, `10%` at 90 %).
    pub fn alpha_percent(self) -> String {
        format!("{}%", percent_of(self.alpha()))
    }
}

/// Never NaN (validated on construction), so equality is total.
impl Eq for Level {}

impl Default for Level {
    fn default() -> Self {
        Level::DEFAULT
    }
}

impl TryFrom<f64> for Level {
    type Error = LevelError;
    fn try_from(v: f64) -> Result<Self, LevelError> {
        Level::new(v)
    }
}

impl From<Level> for f64 {
    fn from(l: Level) -> f64 {
        l.0
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    /// `0.90`, or `90%` / `90 %`.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (num, pct) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let v: f64 = num
            .parse()
            .map_err(|_| format!("confidence level {s:?} is not a number (write 0.90 for 90 %)"))?;
        Level::new(if pct { v / 100.0 } else { v }).map_err(|e| e.to_string())
    }
}

/// `x` (a fraction) in percent to one decimal, without a trailing `.0`.
fn percent_of(x: f64) -> String {
    let p = (x * 1000.0).round() / 10.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round())
    } else {
        format!("{p}")
    }
}

/// `95%` (the form of the report's labels and the methods text).
impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent())
    }
}

/// The standard normal quantile `Φ⁻¹(p)`, `0 < p < 1` (Wichura 1988, AS 241
/// `PPND16`, relative accuracy about 1e-16).
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
fn qnorm(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let r0 = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r0.ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        let r = r - 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // R's values as it prints them (17 digits)
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_r_qnorm() {
        // R: sprintf("%.17g", qnorm(c(0.975, 0.95, 0.995, 0.9)))
        for (level, z) in [
            (0.95, 1.959_963_984_540_053_6),
            (0.90, 1.644_853_626_951_471_5),
            (0.99, 2.575_829_303_548_899_9),
            (0.80, 1.281_551_565_544_600_8),
        ] {
            let got = Level::new(level).unwrap().z();
            assert!((got - z).abs() <= 2e-16 * z, "level {level}: {got} vs {z}");
        }
        // Both tails and the far branch of AS 241: R's qnorm(0.6), qnorm(1 − 0.5e-12).
        assert!((qnorm(0.6) - 0.253_347_103_135_799_78).abs() < 1e-16);
        assert!((qnorm(0.4) + 0.253_347_103_135_799_78).abs() < 1e-16);
        assert!((qnorm(1.0 - 0.5e-12) - 7.130_494_613_066_503_9).abs() < 1e-9);
    }

    #[test]
    fn default_keeps_the_published_multiplier() {
        assert_eq!(Level::default().value(), 0.95);
        assert_eq!(Level::default().normal_multiplier(), 1.96);
        // R's qnorm(0.975) to the bit; the former constant `Z975`
        // (1.959963984540054) was two units in the last place above it.
        assert_eq!(Level::default().z(), 1.959_963_984_540_053_6);
        assert_eq!(
            (1.959_963_984_540_054_f64).to_bits() - Level::default().z().to_bits(),
            2
        );
        let l90 = Level::new(0.90).unwrap();
        assert_eq!(l90.normal_multiplier(), l90.z());
        assert!((l90.alpha() - 0.1).abs() < 1e-15);
        assert!((l90.upper_probability() - 0.95).abs() < 1e-15);
    }

    #[test]
    fn labels_and_parsing() {
        assert_eq!(Level::default().to_string(), "95%");
        assert_eq!(Level::new(0.9).unwrap().to_string(), "90%");
        assert_eq!(Level::new(0.995).unwrap().to_string(), "99.5%");
        assert_eq!(Level::default().alpha_percent(), "5%");
        assert_eq!(Level::default().multiplier_label(), "1.96");
        assert_eq!(Level::new(0.9).unwrap().multiplier_label(), "1.645");
        assert_eq!(Level::new(0.99).unwrap().multiplier_label(), "2.576");
        assert_eq!(Level::new(0.9).unwrap().alpha_percent(), "10%");
        assert_eq!("0.90".parse::<Level>().unwrap().value(), 0.90);
        assert_eq!("90%".parse::<Level>().unwrap().value(), 0.90);
        assert_eq!("90 %".parse::<Level>().unwrap().value(), 0.90);
        for bad in ["0.5", "1", "95", "-0.9", "abc", "NaN"] {
            assert!(bad.parse::<Level>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_is_the_plain_number_and_validates() {
        #[derive(Deserialize)]
        struct T {
            level: Level,
        }
        let t: T = toml::from_str("level = 0.9").unwrap();
        assert_eq!(t.level.value(), 0.9);
        assert_eq!(f64::from(t.level), 0.9);
        let err = toml::from_str::<T>("level = 95.0")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not strictly between 0.5 and 1"), "{err}");
    }
}
