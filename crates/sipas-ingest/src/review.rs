//! Review decisions of the collection platforms, and which submissions a run
//! keeps.
//!
//! KoboToolbox records a validation status per submission (`_validation_status`:
//! `validation_status_approved`, `validation_status_not_approved`,
//! `validation_status_on_hold`, shown as *Approved*, *Not approved*, *On
//! hold*); ODK Central a review state (`__system/reviewState` in OData,
//! `ReviewState` in the CSV export: empty = received, `hasIssues`, `edited`,
//! `rejected`, `approved`). Both are read into one [`ReviewState`].

use std::fmt;
use std::str::FromStr;

/// Which submissions to keep, by their review decision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewPolicy {
    /// Keep every submission, whatever its review.
    Include,
    /// Exclude submissions a reviewer rejected (Kobo *Not approved*, ODK
    /// `rejected`), reason `review_rejected`; keep the others (the default).
    #[default]
    ExcludeRejected,
    /// Keep only approved submissions; rejected ones are `review_rejected`,
    /// the others (no decision, on hold, has issues, edited)
    /// `review_not_approved`.
    ApprovedOnly,
}

impl ReviewPolicy {
    /// The name used on the command line and in job files.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewPolicy::Include => "include",
            ReviewPolicy::ExcludeRejected => "exclude-rejected",
            ReviewPolicy::ApprovedOnly => "approved-only",
        }
    }

    /// Whether a submission in `state` is excluded, and with which reason.
    pub(crate) fn excludes(self, state: ReviewState) -> Option<crate::Reason> {
        match (self, state) {
            (ReviewPolicy::Include, _) | (_, ReviewState::Approved) => None,
            (_, ReviewState::Rejected) => Some(crate::Reason::ReviewRejected),
            (ReviewPolicy::ApprovedOnly, _) => Some(crate::Reason::ReviewNotApproved),
            (ReviewPolicy::ExcludeRejected, _) => None,
        }
    }
}

impl fmt::Display for ReviewPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "include" => Ok(ReviewPolicy::Include),
            "exclude-rejected" => Ok(ReviewPolicy::ExcludeRejected),
            "approved-only" => Ok(ReviewPolicy::ApprovedOnly),
            other => Err(format!(
                "unknown review policy `{other}` (expected include, exclude-rejected or approved-only)"
            )),
        }
    }
}

/// A submission's review decision, across platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReviewState {
    /// No decision (Kobo no status, ODK received).
    None,
    /// Approved.
    Approved,
    /// Kobo *Not approved*, ODK `rejected`.
    Rejected,
    /// Kobo *On hold*.
    OnHold,
    /// ODK `hasIssues`.
    HasIssues,
    /// ODK `edited` (edited after submission, not reviewed since).
    Edited,
    /// A value neither platform uses (kept as given).
    Other,
}

impl ReviewState {
    /// Reads a review value as the platforms export it: Kobo's uid
    /// (`validation_status_not_approved`) or label (`Not approved`), ODK's
    /// state (`rejected`, `hasIssues`…); case and spacing ignored.
    pub(crate) fn parse(s: &str) -> ReviewState {
        let k: String = s
            .trim()
            .trim_start_matches("validation_status_")
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        match k.as_str() {
            "" | "received" | "nostatus" => ReviewState::None,
            "approved" => ReviewState::Approved,
            "notapproved" | "rejected" => ReviewState::Rejected,
            "onhold" => ReviewState::OnHold,
            "hasissues" => ReviewState::HasIssues,
            "edited" => ReviewState::Edited,
            _ => ReviewState::Other,
        }
    }

    /// The value written to the `review_state` column (`None` = null).
    pub(crate) fn code(self) -> Option<&'static str> {
        match self {
            ReviewState::None => None,
            ReviewState::Approved => Some("approved"),
            ReviewState::Rejected => Some("rejected"),
            ReviewState::OnHold => Some("on_hold"),
            ReviewState::HasIssues => Some("has_issues"),
            ReviewState::Edited => Some("edited"),
            ReviewState::Other => Some("other"),
        }
    }

    /// On hold or with issues: kept, flagged for the analyst.
    pub(crate) fn is_flagged(self) -> bool {
        matches!(self, ReviewState::OnHold | ReviewState::HasIssues)
    }
}

/// An instance id as compared for edits: trimmed, without the `uuid:`
/// prefix (Kobo's `_uuid` has none, `meta/instanceID` has it).
pub(crate) fn instance_key(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix("uuid:").unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reason;

    #[test]
    fn platform_values_read_as_one_state() {
        let cases = [
            ("validation_status_not_approved", ReviewState::Rejected),
            ("Not Approved", ReviewState::Rejected),
            ("validation_status_approved", ReviewState::Approved),
            ("validation_status_on_hold", ReviewState::OnHold),
            ("On hold", ReviewState::OnHold),
            ("rejected", ReviewState::Rejected),
            ("hasIssues", ReviewState::HasIssues),
            ("edited", ReviewState::Edited),
            ("approved", ReviewState::Approved),
            ("", ReviewState::None),
            ("maybe", ReviewState::Other),
        ];
        for (s, want) in cases {
            assert_eq!(ReviewState::parse(s), want, "{s}");
        }
    }

    #[test]
    fn policies_exclude_by_state() {
        use ReviewPolicy::*;
        use ReviewState as S;
        assert_eq!(
            ExcludeRejected.excludes(S::Rejected),
            Some(Reason::ReviewRejected)
        );
        assert_eq!(ExcludeRejected.excludes(S::OnHold), None);
        assert_eq!(ExcludeRejected.excludes(S::None), None);
        assert_eq!(Include.excludes(S::Rejected), None);
        assert_eq!(ApprovedOnly.excludes(S::Approved), None);
        assert_eq!(
            ApprovedOnly.excludes(S::Rejected),
            Some(Reason::ReviewRejected)
        );
        assert_eq!(
            ApprovedOnly.excludes(S::HasIssues),
            Some(Reason::ReviewNotApproved)
        );
        assert_eq!(
            ApprovedOnly.excludes(S::None),
            Some(Reason::ReviewNotApproved)
        );
        for p in [Include, ExcludeRejected, ApprovedOnly] {
            assert_eq!(p.as_str().parse::<ReviewPolicy>(), Ok(p));
        }
        assert!("all".parse::<ReviewPolicy>().is_err());
    }

    #[test]
    fn instance_ids_compare_without_the_uuid_prefix() {
        assert_eq!(instance_key(" uuid:ab-1 "), "ab-1");
        assert_eq!(instance_key("ab-1"), "ab-1");
    }
}
