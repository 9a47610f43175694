//! Why a row was quarantined: stable snake_case codes.

use std::fmt;

/// The reason a row went to the quarantine. The codes ([`Reason::as_str`]) are
/// stable: they appear in `quarantine.csv` and `ingest-report.json`.
///
/// Checks run in the order of the variants; a row's reason is its first
/// failing check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// `malformed_row`: wrong number of fields, an unparsable record or text
    /// that is not UTF-8.
    MalformedRow,
    /// `missing_response_id`: empty `response_id`.
    MissingResponseId,
    /// `superseded_by_edit`: a later version of the same submission is among
    /// the inputs (its `meta/deprecatedID` names this row's instance id): the
    /// edit replaces the original.
    SupersededByEdit,
    /// `review_rejected`: a reviewer rejected the submission (Kobo *Not
    /// approved*, ODK `rejected`); excluded unless the review policy is
    /// `include`.
    ReviewRejected,
    /// `review_not_approved`: under the `approved-only` review policy, a
    /// submission without an approval.
    ReviewNotApproved,
    /// `duplicate_response_id`: the id was already accepted earlier in input
    /// order (files in the order given, rows in file order).
    DuplicateResponseId,
    /// `missing_unit`: the unit (code or name) is empty. Whether a unit is
    /// known is decided by the cleaning stage, which matches names.
    MissingUnit,
    /// `invalid_period`: `period` does not parse.
    InvalidPeriod,
    /// `invalid_submitted_at`: a non-empty `submitted_at` that is not a
    /// date ([`crate::DateChecks`]).
    InvalidSubmittedAt,
    /// `submitted_in_future`: `submitted_at` after the run's as-of date
    /// plus the tolerance.
    SubmittedInFuture,
    /// `submitted_before_start`: `submitted_at` before the survey's start.
    SubmittedBeforeStart,
    /// `period_out_of_range`: a period outside the survey's configured
    /// periods.
    PeriodOutOfRange,
    /// `period_date_mismatch`: `submitted_at` does not fall within the
    /// row's period (plus the grace days).
    PeriodDateMismatch,
    /// `mixed_granularity`: the period's granularity differs from the
    /// dataset's (that of the first accepted row).
    MixedGranularity,
    /// `invalid_answer`: an item value that is neither empty, an answer code
    /// of the scale, nor one of its missing codes.
    InvalidAnswer,
    /// `invalid_weight`: `weight` is present but not a finite number > 0.
    InvalidWeight,
}

impl Reason {
    /// Every reason, in check order.
    pub const ALL: [Reason; 16] = [
        Reason::MalformedRow,
        Reason::MissingResponseId,
        Reason::SupersededByEdit,
        Reason::ReviewRejected,
        Reason::ReviewNotApproved,
        Reason::DuplicateResponseId,
        Reason::MissingUnit,
        Reason::InvalidPeriod,
        Reason::InvalidSubmittedAt,
        Reason::SubmittedInFuture,
        Reason::SubmittedBeforeStart,
        Reason::PeriodOutOfRange,
        Reason::PeriodDateMismatch,
        Reason::MixedGranularity,
        Reason::InvalidAnswer,
        Reason::InvalidWeight,
    ];

    /// Whether the row was excluded by a rule of the run (review policy,
    /// edits) rather than for a problem with its data: such rows do not make
    /// the CLI report data problems.
    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Reason::SupersededByEdit | Reason::ReviewRejected | Reason::ReviewNotApproved
        )
    }

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedRow => "malformed_row",
            Reason::MissingResponseId => "missing_response_id",
            Reason::SupersededByEdit => "superseded_by_edit",
            Reason::ReviewRejected => "review_rejected",
            Reason::ReviewNotApproved => "review_not_approved",
            Reason::DuplicateResponseId => "duplicate_response_id",
            Reason::MissingUnit => "missing_unit",
            Reason::InvalidPeriod => "invalid_period",
            Reason::InvalidSubmittedAt => "invalid_submitted_at",
            Reason::SubmittedInFuture => "submitted_in_future",
            Reason::SubmittedBeforeStart => "submitted_before_start",
            Reason::PeriodOutOfRange => "period_out_of_range",
            Reason::PeriodDateMismatch => "period_date_mismatch",
            Reason::MixedGranularity => "mixed_granularity",
            Reason::InvalidAnswer => "invalid_answer",
            Reason::InvalidWeight => "invalid_weight",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn codes_are_unique_snake_case() {
        let codes: std::collections::BTreeSet<&str> =
            Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }
}
