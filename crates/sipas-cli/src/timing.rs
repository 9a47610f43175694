//! A stage's wall time and throughput: measured once, shown in its summary line
//! ("… (1.23 s, 172,600 rows/s)") and recorded under `timing` in its `manifest.json`.
//!
//! **Where timing lives.** The manifest is the one file of a results folder that differs
//! from run to run (it already holds the start and end time); every other file, the stage
//! reports (`ingest-report.json`, `clean-report.json`, `aggregate-report.json`) included, is
//! byte-for-byte the same for the same input. So the wall time and rows/s are written to
//! `manifest.json` → `timing` only, never into a report JSON or a table.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A stage's wall time and, when it reads rows, its rows per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall time of the stage in seconds, to the millisecond.
    pub wall_s: f64,
    /// The rows the rate counts (ingest: rows read; clean: rows in; aggregate: rows read;
    /// generate: rows written); absent for a stage that reads no rows (report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// `rows / wall_s`, rounded to a whole row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_s: Option<u64>,
}

impl Timing {
    /// The time since `started`, with `rows` (if any) per second.
    pub fn since(started: Instant, rows: Option<u64>) -> Timing {
        Self::from_secs(started.elapsed().as_secs_f64(), rows)
    }

    /// A timing of `secs` seconds for `rows` rows.
    pub fn from_secs(secs: f64, rows: Option<u64>) -> Timing {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rows_per_s = rows.map(|n| {
            if secs > 0.0 {
                (n as f64 / secs).round() as u64
            } else {
                0
            }
        });
        Timing {
            wall_s: (secs * 1000.0).round() / 1000.0,
            rows,
            rows_per_s,
        }
    }

    /// " (1.23 s, 172,600 rows/s)", or " (1.23 s)" without rows: the end of a summary line.
    pub fn summary(&self) -> String {
        match self.rows_per_s {
            Some(r) => format!(
                " ({:.2} s, {} rows/s)",
                self.wall_s,
                crate::logging::thousands(r)
            ),
            None => format!(" ({:.2} s)", self.wall_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_line_come_from_one_measurement() {
        // 212,400 rows in 1.5 s = 141,600 rows/s.
        let t = Timing::from_secs(1.5, Some(212_400));
        assert_eq!(t.wall_s, 1.5);
        assert_eq!(t.rows_per_s, Some(141_600));
        assert_eq!(t.summary(), " (1.50 s, 141,600 rows/s)");
        // 10 rows in 0.0004 s: wall time to the millisecond (0.000), rate from the exact time.
        let t = Timing::from_secs(0.0004, Some(10));
        assert_eq!(t.wall_s, 0.0);
        assert_eq!(t.rows_per_s, Some(25_000));
        assert_eq!(Timing::from_secs(0.0, Some(10)).rows_per_s, Some(0));
        let r = Timing::from_secs(2.345_6, None);
        assert_eq!(r.summary(), " (2.35 s)");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"wall_s":2.346}"#,
            "no rows, no rate"
        );
    }
}
