//! Unit lists over time: which commune-level units were in force on a date.
//!
//! A [`UnitHistory`] is a sequence of eras, each a [`UnitRegistry`] in force
//! from a first day to a last day (open at both ends of the history). The
//! bundled Thái Nguyên history ([`crate::bundled::unit_history`]) has three:
//! the 177 units to 30/11/2024, the 172 from 01/12/2024 (Nghị quyết
//! 1240/NQ-UBTVQH15) to 30/06/2025, and the 92 of the merged province from
//! 01/07/2025 (Nghị quyết 1683/NQ-UBTVQH15). GSO reuses codes with another
//! meaning (05569: Xã Bảo Cường, then Thị trấn Chợ Chu, then Xã Định Hóa):
//! a code means what it meant on the date it was used.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result, Unit, UnitRegistry};

/// A calendar day (`YYYY-MM-DD`), ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoDate {
    year: u16,
    month: u8,
    day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

impl IsoDate {
    /// The day, if it exists (`year` 1000–9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        ((1000..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(IsoDate { year, month, day })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The day before.
    #[must_use]
    pub fn pred(self) -> Self {
        if self.day > 1 {
            return IsoDate {
                day: self.day - 1,
                ..self
            };
        }
        let (year, month) = if self.month == 1 {
            (self.year - 1, 12)
        } else {
            (self.year, self.month - 1)
        };
        IsoDate {
            year,
            month,
            day: days_in_month(year, month),
        }
    }

    /// The date at the start of a text (`2024-12-05T08:00:00+07:00` →
    /// 2024-12-05, the day as the office wrote it); `None` if the text does
    /// not start with a valid `YYYY-MM-DD`.
    pub fn from_prefix(text: &str) -> Option<Self> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || (b.len() > 10 && b[10].is_ascii_digit())
        {
            return None;
        }
        let num = |s: &str| -> Option<u16> {
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten()
        };
        let year = num(&t[0..4])?;
        let month = u8::try_from(num(&t[5..7])?).ok()?;
        let day = u8::try_from(num(&t[8..10])?).ok()?;
        IsoDate::new(year, month, day)
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for IsoDate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.len() != 10 {
            return Err(Error::Date(s.to_string()));
        }
        IsoDate::from_prefix(t).ok_or_else(|| Error::Date(s.to_string()))
    }
}

/// The first day of a period (`2024Q4` → 2024-10-01).
pub fn period_start(p: crate::Period) -> IsoDate {
    let per = p.granularity().per_year();
    let month = (p.sub() - 1) * (12 / per) + 1;
    IsoDate::new(
        u16::try_from(p.year()).expect("periods have 4-digit years"),
        u8::try_from(month).expect("a month"),
        1,
    )
    .expect("a valid first day")
}

/// One unit list and the days it was in force.
#[derive(Debug, Clone)]
pub struct UnitEra {
    /// First day in force (`None`: since before the history starts).
    pub valid_from: Option<IsoDate>,
    /// Last day in force (`None`: still in force).
    pub valid_to: Option<IsoDate>,
    /// The units.
    pub units: UnitRegistry,
}

impl UnitEra {
    /// Whether the era covers `date`.
    pub fn covers(&self, date: IsoDate) -> bool {
        self.valid_from.is_none_or(|f| f <= date) && self.valid_to.is_none_or(|t| date <= t)
    }
}

/// One meaning of a code: the unit and the days it was in force with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedUnit<'a> {
    /// The unit as listed.
    pub unit: &'a Unit,
    /// First day in force (`None`: since before the history starts).
    pub valid_from: Option<IsoDate>,
    /// Last day in force (`None`: still in force).
    pub valid_to: Option<IsoDate>,
}

/// Unit lists in force one after the other.
#[derive(Debug, Clone)]
pub struct UnitHistory {
    eras: Vec<UnitEra>,
}

impl UnitHistory {
    /// One list in force at every date (a user's own unit list).
    pub fn single(units: UnitRegistry) -> Self {
        UnitHistory {
            eras: vec![UnitEra {
                valid_from: None,
                valid_to: None,
                units,
            }],
        }
    }

    /// Lists with the first day each comes into force, in order: the first
    /// list holds before the second's first day, the last from its first
    /// day on. `origin` names the history in errors.
    pub fn from_eras(lists: Vec<(Option<IsoDate>, UnitRegistry)>, origin: &str) -> Result<Self> {
        let bad = |message: String| Error::Invalid {
            origin: origin.to_string(),
            message,
        };
        if lists.is_empty() {
            return Err(bad("no unit list".into()));
        }
        let starts: Vec<Option<IsoDate>> = lists.iter().map(|(f, _)| *f).collect();
        if starts[1..].iter().any(Option::is_none) {
            return Err(bad("every list after the first needs its first day".into()));
        }
        if starts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("the lists are not in date order".into()));
        }
        let n = lists.len();
        let eras = lists
            .into_iter()
            .enumerate()
            .map(|(i, (valid_from, units))| UnitEra {
                valid_from,
                valid_to: starts.get(i + 1).copied().flatten().map(IsoDate::pred),
                units,
            })
            .collect::<Vec<_>>();
        debug_assert_eq!(eras.len(), n);
        Ok(UnitHistory { eras })
    }

    /// The eras, oldest first.
    pub fn eras(&self) -> &[UnitEra] {
        &self.eras
    }

    /// The index of the era in force on `date`.
    pub fn era_index(&self, date: IsoDate) -> usize {
        self.eras
            .iter()
            .position(|e| e.covers(date))
            .expect("the eras cover every date")
    }

    /// The units in force on `date`.
    pub fn in_force(&self, date: IsoDate) -> &UnitRegistry {
        &self.eras[self.era_index(date)].units
    }

    /// The units in force today (the last era).
    pub fn latest(&self) -> &UnitRegistry {
        &self.eras.last().expect("at least one era").units
    }

    /// The unit a code stood for on `date`.
    pub fn get(&self, code: &str, date: IsoDate) -> Option<&Unit> {
        self.in_force(date).get(code)
    }

    /// Every meaning of a code, oldest first: consecutive eras listing the
    /// code with the same name, kind and district are one meaning (the
    /// districts ended on 30/06/2025, so every unit of the 92 starts anew).
    pub fn versions(&self, code: &str) -> Vec<DatedUnit<'_>> {
        let mut out: Vec<DatedUnit<'_>> = Vec::new();
        let mut prev_listed = false;
        for e in &self.eras {
            let Some(u) = e.units.get(code) else {
                prev_listed = false;
                continue;
            };
            match out.last_mut() {
                Some(last)
                    if prev_listed
                        && last.unit.name == u.name
                        && last.unit.kind == u.kind
                        && last.unit.district_name == u.district_name =>
                {
                    last.valid_to = e.valid_to;
                }
                _ => out.push(DatedUnit {
                    unit: u,
                    valid_from: e.valid_from,
                    valid_to: e.valid_to,
                }),
            }
            prev_listed = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled;

    fn d(s: &str) -> IsoDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_parse_order_and_step_back() {
        assert_eq!(d("2024-12-01").pred(), d("2024-11-30"));
        assert_eq!(d("2025-01-01").pred(), d("2024-12-31"));
        assert_eq!(d("2024-03-01").pred(), d("2024-02-29"));
        assert_eq!(d("2025-03-01").pred(), d("2025-02-28"));
        assert!(d("2024-11-30") < d("2024-12-01"));
        for bad in ["2024-02-30", "2024-13-01", "01/12/2024", "2024-1-01", ""] {
            assert!(bad.parse::<IsoDate>().is_err(), "{bad}");
        }
        assert_eq!(
            IsoDate::from_prefix("2024-12-05T08:00:00+07:00"),
            Some(d("2024-12-05"))
        );
        assert_eq!(IsoDate::from_prefix("2024-12-051"), None);
        let p = |s: &str| period_start(s.parse().unwrap()).to_string();
        assert_eq!(p("2024Q4"), "2024-10-01");
        assert_eq!(p("2025-H2"), "2025-07-01");
        assert_eq!(p("2025-03"), "2025-03-01");
        assert_eq!(p("2023"), "2023-01-01");
    }

    #[test]
    fn bundled_eras_177_172_92() {
        let h = bundled::unit_history();
        // 01/12/2024–30/06/2025: Thái Nguyên's 172 and Bắc Kạn's 108.
        let sizes: Vec<usize> = h.eras().iter().map(|e| e.units.len()).collect();
        assert_eq!(sizes, [177, 172 + 108, 92]);
        assert_eq!(h.in_force(d("2024-11-30")).len(), 177);
        assert_eq!(h.in_force(d("2024-12-01")).len(), 280);
        assert_eq!(h.in_force(d("2025-06-30")).len(), 280);
        assert_eq!(
            h.get("01834", d("2025-06-30"))
                .map(Unit::full_name)
                .as_deref(),
            Some("Phường Nguyễn Thị Minh Khai")
        );
        assert!(h.get("01834", d("2025-07-01")).is_none());
        assert!(h.get("01834", d("2024-11-30")).is_none());
        assert_eq!(h.in_force(d("2025-07-01")).len(), 92);
        assert_eq!(h.in_force(d("2019-01-01")).len(), 177);
        let e = h.eras();
        assert_eq!(e[0].valid_to, Some(d("2024-11-30")));
        assert_eq!(
            (e[1].valid_from, e[1].valid_to),
            (Some(d("2024-12-01")), Some(d("2025-06-30")))
        );
        assert_eq!(
            (e[2].valid_from, e[2].valid_to),
            (Some(d("2025-07-01")), None)
        );
        // The 92: 77 xã + 15 phường, no district.
        let count = |k| e[2].units.iter().filter(|u| u.kind == k).count();
        assert_eq!(count(crate::UnitKind::Xa), 77);
        assert_eq!(count(crate::UnitKind::Phuong), 15);
        assert!(e[2].units.iter().all(|u| u.district_name.is_empty()));
        // The 172: 121 xã + 41 phường + 10 thị trấn (besides Bắc Kạn's 95 + 6 + 7).
        let count = |k| e[1].units.iter().filter(|u| u.kind == k).count();
        assert_eq!(
            (
                count(crate::UnitKind::Xa),
                count(crate::UnitKind::Phuong),
                count(crate::UnitKind::ThiTran)
            ),
            (121 + 95, 41 + 6, 10 + 7)
        );
    }

    #[test]
    fn a_reused_code_resolves_by_date() {
        let h = bundled::unit_history();
        let name = |date: &str| h.get("05569", d(date)).map(Unit::full_name);
        assert_eq!(name("2024-11-30").as_deref(), Some("Xã Bảo Cường"));
        assert_eq!(name("2024-12-01").as_deref(), Some("Thị trấn Chợ Chu"));
        assert_eq!(name("2025-06-30").as_deref(), Some("Thị trấn Chợ Chu"));
        assert_eq!(name("2025-07-01").as_deref(), Some("Xã Định Hóa"));
        let v = h.versions("05569");
        let spans: Vec<(String, Option<IsoDate>, Option<IsoDate>)> = v
            .iter()
            .map(|x| (x.unit.full_name(), x.valid_from, x.valid_to))
            .collect();
        assert_eq!(
            spans,
            [
                ("Xã Bảo Cường".to_string(), None, Some(d("2024-11-30"))),
                (
                    "Thị trấn Chợ Chu".to_string(),
                    Some(d("2024-12-01")),
                    Some(d("2025-06-30"))
                ),
                ("Xã Định Hóa".to_string(), Some(d("2025-07-01")), None),
            ]
        );
        // The old Chợ Chu code: in force to 30/11/2024 only.
        let v = h.versions("05536");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].valid_to, Some(d("2024-11-30")));
        // A unit unchanged by the 2024 merges is one meaning until 30/06/2025.
        let v = h.versions("05602");
        assert_eq!(v.len(), 2, "Phú Đình keeps its code in the 92");
        assert_eq!(v[0].valid_to, Some(d("2025-06-30")));
    }

    #[test]
    fn eras_must_be_in_order() {
        let u = bundled::units();
        let err = UnitHistory::from_eras(
            vec![
                (None, u.clone()),
                (Some(d("2025-07-01")), u.clone()),
                (Some(d("2024-12-01")), u),
            ],
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("date order"), "{err}");
    }
}
