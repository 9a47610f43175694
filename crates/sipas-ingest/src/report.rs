//! What an ingest run did: the quarantined rows and the counts of
//! `ingest-report.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Format, Reason};

/// One quarantined row, as written to `quarantine.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedRow {
    /// The file the row came from.
    pub source_file: String,
    /// 1-based line where the record starts (header = line 1; Parquet: row
    /// number + 1).
    pub line: u64,
    /// The first failing check.
    pub reason: Reason,
    /// The column at fault (empty when the whole row is, e.g. a wrong field count).
    pub column: String,
    /// What is wrong, for people.
    pub detail: String,
    /// The original record re-serialized as CSV text, fields exactly as read.
    pub record: String,
}

/// Counts per reason, every reason present (0 when none), keyed by code.
pub type ReasonCounts = BTreeMap<String, u64>;

pub(crate) fn empty_reason_counts() -> ReasonCounts {
    Reason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), 0))
        .collect()
}

/// Counts of one input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputReport {
    /// The file.
    pub file: String,
    /// How it was read.
    pub format: Format,
    /// Text encoding (`UTF-8`, `UTF-16LE`, `windows-1258`…); null if not text.
    pub encoding: Option<String>,
    /// With `encoding = "auto"`: the detector's confidence in `encoding`
    /// (0.5–1, the share of non-ASCII bytes that fit it); null when the
    /// encoding was not detected (a BOM, UTF-8 by default, or named).
    pub encoding_confidence: Option<f64>,
    /// Field delimiter of delimited text (`,` `;` `\t` `|`), given or
    /// sniffed from the header line; null if not text.
    pub delimiter: Option<String>,
    /// Line (sheet row) of the header; 0 when synthesized (JSON).
    pub header_line: u64,
    /// Records whose every field was empty: not rows, not counted.
    pub blank_rows: u64,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows in `responses.parquet`.
    pub accepted: u64,
    /// Rows in `quarantine.csv`.
    pub quarantined: u64,
    /// Quarantined rows per reason code.
    pub quarantined_by_reason: ReasonCounts,
    /// Kept columns ([`crate::IngestOptions::keep_columns`]) this input
    /// lacks: null for its rows. In keep order.
    pub missing_kept_columns: Vec<String>,
}

/// Counts over all inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// Quarantined rows per reason code.
    pub quarantined_by_reason: ReasonCounts,
    /// Answers of accepted rows that were a non-answer read as missing: one
    /// of the scale's missing codes (9, 99) or 98, a don't-know / refusal
    /// label (`Không biết/Không trả lời`, `Don't know`, `Refused`…) or a
    /// label the mapping sends to missing.
    pub missing_code_answers: u64,
    /// Accepted rows whose review is *On hold* (Kobo) or `hasIssues` (ODK):
    /// kept, and marked in the `review_state` column.
    pub review_flagged: u64,
}

/// The content of `ingest-report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// Instrument id (`sipas-2017`).
    pub instrument: String,
    /// Granularity of the dataset's periods (`year`, `half`, `quarter`,
    /// `month`); `null` when no row was accepted.
    pub granularity: Option<String>,
    /// Per input file, in input order.
    pub inputs: Vec<InputReport>,
    /// Over all inputs.
    pub totals: Totals,
    /// Columns that are neither canonical nor items nor kept (sorted, once each).
    pub ignored_columns: Vec<String>,
    /// Extra columns written to `responses.parquet` after `source_line`
    /// ([`crate::IngestOptions::keep_columns`] less canonical names), in order.
    pub kept_columns: Vec<String>,
    /// Files and sheets not read, and why (none silently): repeat-group
    /// tables among them.
    pub skipped: Vec<crate::Skipped>,
    /// What the reader noticed besides the rows: saved API pages against
    /// the server's count, repeat groups set aside in JSON records.
    pub notes: Vec<String>,
    /// The review policy the run applied.
    pub review: crate::ReviewPolicy,
    /// Accepted rows whose unit is not a code of the unit registry (names,
    /// or unknown codes): matched, or quarantined, by the cleaning stage.
    pub rows_unit_not_in_registry: u64,
    /// Periods of accepted rows, chronological.
    pub periods: Vec<String>,
    /// Number of distinct units among accepted rows.
    pub units: usize,
    /// The date and period checks applied (as-of date, tolerance, survey
    /// start and periods, grace days).
    pub date_checks: crate::DateChecks,
}

impl IngestReport {
    /// Checks rows_read = accepted + quarantined per input and in total.
    pub fn check_counts(&self) -> crate::Result<()> {
        let check = |scope: &str, r: u64, a: u64, q: u64, by: &ReasonCounts| {
            if r == a + q && by.values().sum::<u64>() == q {
                Ok(())
            } else {
                Err(crate::Error::CountMismatch {
                    scope: scope.to_string(),
                    rows_read: r,
                    accepted: a,
                    quarantined: q,
                })
            }
        };
        for i in &self.inputs {
            check(
                &i.file,
                i.rows_read,
                i.accepted,
                i.quarantined,
                &i.quarantined_by_reason,
            )?;
        }
        let t = &self.totals;
        check(
            "total",
            t.rows_read,
            t.accepted,
            t.quarantined,
            &t.quarantined_by_reason,
        )?;
        let sum = |f: fn(&InputReport) -> u64| self.inputs.iter().map(f).sum::<u64>();
        if sum(|i| i.rows_read) != t.rows_read
            || sum(|i| i.accepted) != t.accepted
            || sum(|i| i.quarantined) != t.quarantined
        {
            return Err(crate::Error::CountMismatch {
                scope: "total vs sum of inputs".into(),
                rows_read: sum(|i| i.rows_read),
                accepted: sum(|i| i.accepted),
                quarantined: sum(|i| i.quarantined),
            });
        }
        Ok(())
    }
}
