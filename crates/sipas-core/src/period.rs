//! Survey periods: a year, a half, a quarter or a month.
//!
//! Labels: `2024` (year), `2024-H1`/`2024-H2` (half), `2024Q1`–`2024Q4`
//! (quarter), `2024-01`–`2024-12` (month). One dataset uses one granularity.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// A calendar year.
    Year,
    /// A half year, H1 or H2.
    Half,
    /// A quarter, Q1–Q4.
    Quarter,
    /// A calendar month.
    Month,
}

impl Granularity {
    /// Number of periods of this granularity in a year.
    pub fn per_year(self) -> u32 {
        match self {
            Granularity::Year => 1,
            Granularity::Half => 2,
            Granularity::Quarter => 4,
            Granularity::Month => 12,
        }
    }
}

/// A survey period. Ordered by time within one granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    granularity: Granularity,
    year: i32,
    /// 1-based position within the year (always 1 for a year).
    sub: u32,
}

impl Period {
    /// Builds a period; `sub` is the 1-based half, quarter or month (1 for a year).
    pub fn new(granularity: Granularity, year: i32, sub: u32) -> Result<Self> {
        if !(1000..=9999).contains(&year) || sub == 0 || sub > granularity.per_year() {
            return Err(Error::Period(format!("{granularity:?} {year} {sub}")));
        }
        Ok(Period {
            granularity,
            year,
            sub,
        })
    }

    /// The granularity.
    pub fn granularity(self) -> Granularity {
        self.granularity
    }

    /// The calendar year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The 1-based position within the year.
    pub fn sub(self) -> u32 {
        self.sub
    }

    /// A running index: consecutive periods have consecutive indices.
    pub fn index(self) -> i64 {
        i64::from(self.year) * i64::from(self.granularity.per_year()) + i64::from(self.sub) - 1
    }

    /// The period `k` steps later (earlier when negative).
    #[must_use]
    pub fn offset(self, k: i64) -> Self {
        let per = i64::from(self.granularity.per_year());
        let i = self.index() + k;
        Period {
            granularity: self.granularity,
            year: i.div_euclid(per) as i32,
            sub: (i.rem_euclid(per) + 1) as u32,
        }
    }

    /// All periods from `self` to `last`, both included.
    pub fn range_to(self, last: Period) -> Vec<Period> {
        if last.granularity != self.granularity || last < self {
            return Vec::new();
        }
        (0..=(last.index() - self.index()))
            .map(|k| self.offset(k))
            .collect()
    }

    /// Converts `self` to a coarser-or-equal granularity label's period that
    /// contains it; `None` when `target` is finer than `self`.
    pub fn coarsen(self, target: Granularity) -> Option<Period> {
        if target.per_year() > self.granularity.per_year()
            || !self
                .granularity
                .per_year()
                .is_multiple_of(target.per_year())
        {
            return None;
        }
        let ratio = self.granularity.per_year() / target.per_year();
        Some(Period {
            granularity: target,
            year: self.year,
            sub: (self.sub - 1) / ratio + 1,
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.granularity {
            Granularity::Year => write!(f, "{}", self.year),
            Granularity::Half => write!(f, "{}-H{}", self.year, self.sub),
            Granularity::Quarter => write!(f, "{}Q{}", self.year, self.sub),
            Granularity::Month => write!(f, "{}-{:02}", self.year, self.sub),
        }
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Period(s.to_string());
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let year: i32 = t[..4].parse().map_err(|_| bad())?;
        let rest = &t[4..];
        let digit = |r: &str| -> Result<u32> {
            if r.is_empty() || !r.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            r.parse().map_err(|_| bad())
        };
        let (g, sub) = if rest.is_empty() {
            (Granularity::Year, 1)
        } else if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            if q.len() != 1 {
                return Err(bad());
            }
            (Granularity::Quarter, digit(q)?)
        } else if let Some(h) = rest.strip_prefix("-H").or_else(|| rest.strip_prefix("-h")) {
            if h.len() != 1 {
                return Err(bad());
            }
            (Granularity::Half, digit(h)?)
        } else if let Some(m) = rest.strip_prefix('-') {
            if m.len() != 2 {
                return Err(bad());
            }
            (Granularity::Month, digit(m)?)
        } else {
            return Err(bad());
        };
        Period::new(g, year, sub).map_err(|_| bad())
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for s in ["2024", "2024-H2", "2024Q3", "2024-07"] {
            assert_eq!(s.parse::<Period>().unwrap().to_string(), s);
        }
        assert_eq!("2024q1".parse::<Period>().unwrap().to_string(), "2024Q1");
    }

    #[test]
    fn rejects_malformed_labels() {
        for s in [
            "", "24Q1", "2024Q5", "2024Q0", "2024-13", "2024-H3", "2024-1", "2024 Q1", "abcd",
            "2024Q12",
        ] {
            assert!(s.parse::<Period>().is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn orders_and_steps_quarters_across_years() {
        let a: Period = "2023Q4".parse().unwrap();
        let b: Period = "2024Q1".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.offset(1), b);
        assert_eq!(b.offset(-5).to_string(), "2022Q4");
        let r = "2023Q1"
            .parse::<Period>()
            .unwrap()
            .range_to("2025Q4".parse().unwrap());
        assert_eq!(r.len(), 12);
        assert_eq!(r[11].to_string(), "2025Q4");
    }

    #[test]
    fn coarsens_months_to_quarters() {
        let m: Period = "2024-05".parse().unwrap();
        assert_eq!(
            m.coarsen(Granularity::Quarter).unwrap().to_string(),
            "2024Q2"
        );
        assert_eq!(m.coarsen(Granularity::Half).unwrap().to_string(), "2024-H1");
        assert!(m.coarsen(Granularity::Month).is_some());
        let q: Period = "2024Q2".parse().unwrap();
        assert!(q.coarsen(Granularity::Month).is_none());
    }
}
