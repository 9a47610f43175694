//! A small ISO 8601 reader for `submitted_at`, `started_at` and `ended_at`.
//!
//! Accepted: `YYYY-MM-DD`, optionally followed by `T` or a space and
//! `HH:MM[:SS[.fraction]]`, optionally followed by `Z`, `±HH:MM` or `±HHMM`.
//! A time without a zone is read as UTC.

/// Seconds since 1970-01-01T00:00:00Z (with fraction), or `None` if the text
/// is not an accepted ISO 8601 date-time.
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = num(&s[0..4])?;
    let month: u32 = num(&s[5..7])?;
    let day: u32 = num(&s[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let mut parts = clock.split(':');
    let h: u32 = num(parts.next()?)?;
    let m: u32 = num(parts.next()?)?;
    let sec: f64 = match parts.next() {
        Some(x) if !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit() || c == b'.') => {
            x.parse().ok()?
        }
        Some(_) => return None,
        None => 0.0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    secs += f64::from(h * 3600 + m * 60) + sec;
    match zone {
        "" | "Z" => {}
        z => {
            let sign = if z.starts_with('-') { 1.0 } else { -1.0 };
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            let zh: u32 = num(&digits[0..2])?;
            let zm: u32 = num(&digits[2..4])?;
            secs += sign * f64::from(zh * 3600 + zm * 60);
        }
    }
    Some(secs)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `s` is a valid `YYYY-MM-DD` date.
pub fn is_iso_date(s: &str) -> bool {
    s.len() == 10 && parse_iso8601(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(parse_iso8601("1970-01-01"), Some(0.0));
        // 2024-12-01 is 20058 days after the epoch (54 years, 13 leap days, then 335 days of 2024).
        assert_eq!(parse_iso8601("2024-12-01"), Some(20_058.0 * 86_400.0));
        assert_eq!(parse_iso8601("1970-01-01T01:02:03Z"), Some(3723.0));
        assert_eq!(parse_iso8601("1970-01-01 01:02:03.5"), Some(3723.5));
        // 07:00 in Hanoi (+07:00) is midnight UTC.
        assert_eq!(parse_iso8601("1970-01-02T07:00:00+07:00"), Some(86_400.0));
        assert_eq!(parse_iso8601("1970-01-01T00:00-0100"), Some(3600.0));
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2024",
            "2024-02-30",
            "2024-13-01",
            "2024-01-01X",
            "2024-01-01T25:00",
            "x024-01-01",
        ] {
            assert_eq!(parse_iso8601(s), None, "{s}");
        }
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("2024-02-01T00:00"));
    }
}
