//! Checks of `submitted_at` and `period` against the calendar of the run:
//! the as-of date, the survey's start and its period range.

use sipas_core::{IsoDate, Period};

use crate::Reason;

/// Date and period checks of a run ([`crate::IngestOptions::dates`]). Each
/// failing row is quarantined with its own reason, in this order:
/// - `invalid_submitted_at`: a non-empty `submitted_at` that is not a date
///   (`YYYY-MM-DD` with an optional time, `YYYY/MM/DD`, `DD/MM/YYYY`,
///   `DD-MM-YYYY`, `DD.MM.YYYY`; year 1000–9999);
/// - `submitted_in_future`: `submitted_at` after [`DateChecks::as_of`] plus
///   [`DateChecks::future_tolerance_days`];
/// - `submitted_before_start`: `submitted_at` before
///   [`DateChecks::survey_start`];
/// - `period_out_of_range`: a period that does not lie within
///   [`DateChecks::first_period`] … [`DateChecks::last_period`];
/// - `period_date_mismatch`: the row has both a period and a `submitted_at`,
///   and the date is not within the period (or up to
///   [`DateChecks::period_grace_days`] after its end: late returns of a
///   survey round).
///
/// An empty `submitted_at` is allowed (the column is optional). The checks
/// that need a setting are off without it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DateChecks {
    /// The run's as-of date; `None`: no check for dates in the future. The
    /// CLI sets it to the day of the run (UTC) unless `--as-of` or the job's
    /// `as_of` names a day, which makes reruns reproducible.
    #[serde(serialize_with = "opt_day")]
    pub as_of: Option<IsoDate>,
    /// Days after [`DateChecks::as_of`] still accepted (default 1: a
    /// timestamp in Vietnam, UTC+7, may be a day ahead of the UTC date).
    pub future_tolerance_days: u32,
    /// The survey's first day; `None`: no check.
    #[serde(serialize_with = "opt_day")]
    pub survey_start: Option<IsoDate>,
    /// The first period of the survey; `None`: no lower bound.
    pub first_period: Option<Period>,
    /// The last period of the survey; `None`: no upper bound.
    pub last_period: Option<Period>,
    /// Days after a period's end a `submitted_at` may fall and still match
    /// the period (default 0).
    pub period_grace_days: u32,
}

impl Default for DateChecks {
    /// Only `invalid_submitted_at` and `period_date_mismatch` (no grace)
    /// are checked; the tolerance for future dates is 1 day.
    fn default() -> Self {
        DateChecks {
            as_of: None,
            future_tolerance_days: 1,
            survey_start: None,
            first_period: None,
            last_period: None,
            period_grace_days: 0,
        }
    }
}

/// A day as `YYYY-MM-DD` text (null when absent).
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn opt_day<S: serde::Serializer>(d: &Option<IsoDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

/// A failed check: the reason, whether the column at fault is the period
/// (else `submitted_at`), and the detail.
pub(crate) type Fault = (Reason, bool, String);

/// The day number of a date (days since 1970-01-01; H. Hinnant's
/// `days_from_civil`).
pub(crate) fn day_number(d: IsoDate) -> i64 {
    let (m, dd) = (i64::from(d.month()), i64::from(d.day()));
    let y = i64::from(d.year()) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (days since 1970-01-01, so 0 is 1970-01-01);
/// `None` outside the years 1000–9999.
pub fn date_of_day_number(z: i64) -> Option<IsoDate> {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    IsoDate::new(
        u16::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    )
}

/// The last day of a period.
pub(crate) fn period_end(p: Period) -> IsoDate {
    sipas_core::history::period_start(p.offset(1)).pred()
}

/// The day of a `submitted_at` text (see [`DateChecks`] for the forms).
pub(crate) fn parse_day(s: &str) -> Option<IsoDate> {
    let (y, m, d) = crate::mapping::parse_date(s)?;
    IsoDate::new(
        u16::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    )
}

impl DateChecks {
    /// Checks a row's `submitted_at` (trimmed, `None` or empty when absent)
    /// and period; `period_given`: the period came from a period column
    /// (not derived from `submitted_at`).
    pub(crate) fn check(
        &self,
        submitted: Option<&str>,
        period: Period,
        period_given: bool,
    ) -> Result<(), Fault> {
        let day = match submitted {
            Some(s) if !s.is_empty() => {
                let Some(day) = parse_day(s) else {
                    return Err((
                        Reason::InvalidSubmittedAt,
                        false,
                        format!(
                            "submitted_at {s:?} is not a date (expected YYYY-MM-DD with an optional time, or DD/MM/YYYY)"
                        ),
                    ));
                };
                Some(day)
            }
            _ => None,
        };
        if let Some(day) = day {
            if let Some(as_of) = self.as_of
                && day_number(day) > day_number(as_of) + i64::from(self.future_tolerance_days)
            {
                return Err((
                    Reason::SubmittedInFuture,
                    false,
                    format!(
                        "submitted_at {day} is after the as-of date {as_of} (tolerance {} day(s))",
                        self.future_tolerance_days
                    ),
                ));
            }
            if let Some(start) = self.survey_start
                && day < start
            {
                return Err((
                    Reason::SubmittedBeforeStart,
                    false,
                    format!("submitted_at {day} is before the survey's start {start}"),
                ));
            }
        }
        let start = sipas_core::history::period_start(period);
        let end = period_end(period);
        let before = self
            .first_period
            .is_some_and(|f| start < sipas_core::history::period_start(f));
        let after = self.last_period.is_some_and(|l| end > period_end(l));
        if before || after {
            let range = format!(
                "{}–{}",
                self.first_period.map_or("…".into(), |p| p.to_string()),
                self.last_period.map_or("…".into(), |p| p.to_string())
            );
            return Err((
                Reason::PeriodOutOfRange,
                true,
                format!("period {period} is outside the survey's periods {range}"),
            ));
        }
        if period_given && let Some(day) = day {
            let late = day_number(day) - day_number(end);
            if day < start || late > i64::from(self.period_grace_days) {
                let grace = if self.period_grace_days > 0 {
                    format!(" or up to {} day(s) after it", self.period_grace_days)
                } else {
                    String::new()
                };
                return Err((
                    Reason::PeriodDateMismatch,
                    true,
                    format!(
                        "submitted_at {day} is not within period {period} ({start} to {end}{grace})"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> IsoDate {
        s.parse().unwrap()
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn day_numbers_match_the_calendar() {
        // 1970-01-01 is day 0; 2000-03-01 is day 11017 (30 years of 365 days
        // + 7 leap days (72, 76, …, 96) + Jan 31 + Feb 29 of 2000).
        assert_eq!(day_number(d("1970-01-01")), 0);
        assert_eq!(day_number(d("2000-03-01")), 30 * 365 + 7 + 31 + 29);
        assert_eq!(
            day_number(d("2025-01-01")) - day_number(d("2024-01-01")),
            366
        );
        for z in [-5000, 0, 11_017, 19_723, 20_000, 2_932_896] {
            let date = date_of_day_number(z).unwrap();
            assert_eq!(day_number(date), z, "{date}");
        }
        assert_eq!(period_end(p("2024Q1")), d("2024-03-31"));
        assert_eq!(period_end(p("2024-02")), d("2024-02-29"));
        assert_eq!(period_end(p("2024-H2")), d("2024-12-31"));
    }

    #[test]
    fn each_failing_check_has_its_reason() {
        let c = DateChecks {
            as_of: Some(d("2024-06-30")),
            future_tolerance_days: 1,
            survey_start: Some(d("2023-01-01")),
            first_period: Some(p("2023Q1")),
            last_period: Some(p("2024Q2")),
            period_grace_days: 10,
        };
        let reason = |s: Option<&str>, per: &str, given| {
            c.check(s, p(per), given)
                .err()
                .map(|(r, on_period, _)| (r, on_period))
        };
        assert_eq!(reason(None, "2024Q2", true), None);
        assert_eq!(reason(Some(""), "2024Q2", true), None);
        assert_eq!(
            reason(Some("2024-05-03T08:00:00+07:00"), "2024Q2", true),
            None
        );
        assert_eq!(reason(Some("03/05/2024"), "2024Q2", true), None);
        for bad in ["not-a-date", "2024-13-45", "2024-02-30", "31/04/2024"] {
            assert_eq!(
                reason(Some(bad), "2024Q2", true),
                Some((Reason::InvalidSubmittedAt, false)),
                "{bad}"
            );
        }
        // The as-of date + 1 day is accepted, the day after is not.
        assert_eq!(reason(Some("2024-07-01"), "2024Q2", true), None);
        assert_eq!(
            reason(Some("2024-07-02"), "2024Q2", true),
            Some((Reason::SubmittedInFuture, false))
        );
        assert_eq!(
            reason(Some("2999-01-01"), "2024Q2", false),
            Some((Reason::SubmittedInFuture, false))
        );
        assert_eq!(
            reason(Some("2022-12-31"), "2023Q1", true),
            Some((Reason::SubmittedBeforeStart, false))
        );
        assert_eq!(
            reason(None, "2099Q1", true),
            Some((Reason::PeriodOutOfRange, true))
        );
        assert_eq!(
            reason(None, "2022Q4", true),
            Some((Reason::PeriodOutOfRange, true))
        );
        // A month inside the range, a year that overlaps its end.
        assert_eq!(reason(None, "2024-06", true), None);
        assert_eq!(
            reason(None, "2024", true),
            Some((Reason::PeriodOutOfRange, true))
        );
        // Mismatch: a date before the period, or more than 10 days after it.
        assert_eq!(
            reason(Some("2024-03-31"), "2024Q2", true),
            Some((Reason::PeriodDateMismatch, true))
        );
        assert_eq!(reason(Some("2024-04-10"), "2024Q1", true), None);
        assert_eq!(
            reason(Some("2024-04-11"), "2024Q1", true),
            Some((Reason::PeriodDateMismatch, true))
        );
        // A period derived from the date is not compared with it.
        assert_eq!(reason(Some("2024-04-11"), "2024Q1", false), None);
        // Without settings only the date's form and the mismatch are checked.
        let none = DateChecks::default();
        assert!(none.check(Some("2999-01-01"), p("2999Q1"), true).is_ok());
        assert_eq!(
            none.check(Some("x"), p("2024Q1"), true).unwrap_err().0,
            Reason::InvalidSubmittedAt
        );
    }
}
