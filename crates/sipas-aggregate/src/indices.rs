//! What the aggregate stage computes, as plain structs: every unit × period
//! cell, the pooled pilot and baseline groups, the 2×2 DiD and the counts
//! that reconcile them with the input ([`Indices`]). The result tables of
//! `sipas_core::results` are written from these.

use std::collections::BTreeMap;

use serde::Serialize;
use sipas_core::{Level, Period};

use crate::arms::Arm;

/// A point estimate with its linearized standard error and interval at the
/// run's [`Level`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    /// The index, 0–100; `None` when an item it needs has no answer.
    pub value: Option<f64>,
    /// Standard error; `None` when undefined (no value, or a single response).
    pub se: Option<f64>,
    /// Lower bound of `value ± m·se`, clipped to [0, 100] (`m` =
    /// [`Level::normal_multiplier`]).
    pub lo: Option<f64>,
    /// Upper bound, clipped to [0, 100].
    pub hi: Option<f64>,
}

impl Estimate {
    /// The estimate of a value and its variance, its interval clipped to
    /// the scale from `bounds.0` to `bounds.1` (see [`Estimate::with_se_in`]).
    pub(crate) fn new_in(
        value: Option<f64>,
        var: Option<f64>,
        level: Level,
        bounds: (f64, f64),
    ) -> Self {
        let se = value.and(var).map(|v| v.max(0.0).sqrt());
        Self::with_se_in(value, se, level, bounds)
    }

    /// `value ± m·se` clipped to [0, 100], `m` = [`Level::normal_multiplier`]
    /// (the one interval of every composite index).
    pub fn with_se(value: Option<f64>, se: Option<f64>, level: Level) -> Self {
        Self::with_se_in(
            value,
            se,
            level,
            sipas_core::index::LevelScale::PERCENT.bounds(),
        )
    }

    /// [`Estimate::with_se`] clipped to the scale `bounds` (lowest, highest)
    /// of an index shown on another scale (1–10 for a PAPI dimension).
    pub fn with_se_in(
        value: Option<f64>,
        se: Option<f64>,
        level: Level,
        (b0, b1): (f64, f64),
    ) -> Self {
        let m = level.normal_multiplier();
        let (lo, hi) = match (value, se) {
            (Some(v), Some(se)) => (
                Some((v - m * se).clamp(b0, b1)),
                Some((v + m * se).clamp(b0, b1)),
            ),
            _ => (None, None),
        };
        Estimate { value, se, lo, hi }
    }
}

/// The share satisfied of one item in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ItemShare {
    /// Number of rows that answered the item.
    pub n_valid: usize,
    /// Weighted share satisfied, 0–100; `None` without answers.
    pub share: Option<f64>,
    /// Lower Wilson bound at the run's level, 0–100.
    pub lo: Option<f64>,
    /// Upper Wilson bound, 0–100.
    pub hi: Option<f64>,
}

/// Indices of one unit in one period (one stratum).
#[derive(Debug, Clone, PartialEq)]
pub struct CellEstimate {
    /// GSO code.
    pub unit_code: String,
    /// Full name with prefix (`Phường Trưng Vương`).
    pub unit_name: String,
    /// District name.
    pub district: String,
    /// `xa`, `phuong` or `thi_tran`.
    pub kind: String,
    /// Whether the unit is a pilot unit.
    pub pilot: bool,
    /// The period.
    pub period: Period,
    /// Number of responses (rows).
    pub n: usize,
    /// The overall index with its uncertainty.
    pub sipas: Estimate,
    /// Values of the reported groups, aligned with [`Indices::group_ids`].
    pub groups: Vec<Option<f64>>,
    /// Item shares, aligned with [`Indices::item_ids`].
    pub items: Vec<ItemShare>,
}

/// The pooled estimate of all pilot or all baseline units in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEstimate {
    /// The period.
    pub period: Period,
    /// Pilot or baseline.
    pub group: Arm,
    /// Number of responses.
    pub n: usize,
    /// The overall index with its uncertainty.
    pub sipas: Estimate,
    /// Values of the reported groups, aligned with [`Indices::group_ids`].
    pub groups: Vec<Option<f64>>,
}

/// The difference-in-differences of SIPAS: `(P_post − P_pre) − (B_post − B_pre)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DidEstimate {
    /// First period of the pilot.
    pub pilot_start: Period,
    /// The point estimate, in index points.
    pub estimate: f64,
    /// Standard error: `sqrt` of the sum of the four quadrant variances
    /// (disjoint strata, the default design); under a declared design
    /// ([`crate::aggregate_with_design`]) √(c′Vc) with the quadrants' full
    /// covariance V.
    pub se: f64,
    /// `estimate − m·se` (not clipped; `m` = [`Level::normal_multiplier`]).
    pub lo: f64,
    /// `estimate + m·se` (not clipped).
    pub hi: f64,
    /// SIPAS of the pilot units pooled over the periods before the start.
    pub pilot_pre: Estimate,
    /// … over the periods from the start.
    pub pilot_post: Estimate,
    /// SIPAS of the baseline units before the start.
    pub baseline_pre: Estimate,
    /// … from the start.
    pub baseline_post: Estimate,
}

/// The run's headline index by its id, names and scale (`aggregate-report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Group id (`sipas`, `papi`).
    pub id: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Lowest and highest value of its scale.
    pub scale: (f64, f64),
}

impl Headline {
    /// The headline (root) of an instrument.
    pub fn of(inst: &sipas_core::Instrument) -> Self {
        let id = inst.root();
        let g = inst.group(id).expect("the root is a group");
        Headline {
            id: id.to_string(),
            name_vi: g.name_vi.clone(),
            name_en: g.name_en.clone(),
            scale: g.scale.bounds(),
        }
    }
}

/// Counts that reconcile the input with the outputs (`aggregate-report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateReport {
    /// The response table (file name).
    pub source: String,
    /// Instrument id.
    pub instrument: String,
    /// The run's headline index: the `sipas*` columns of `unit_period.csv` and `groups.csv`,
    /// `did.csv` and the panel files hold it (SIPAS for the SIPAS instruments).
    pub headline: Headline,
    /// The channel used: `survey` (with the pooled modes in parentheses
    /// when there are several), or the one channel estimated.
    pub channel: String,
    /// Rows per channel used (the survey modes pooled).
    pub channels_used: BTreeMap<String, usize>,
    /// Rows in the response table.
    pub rows_read: usize,
    /// Rows of the used channel.
    pub rows_used: usize,
    /// Rows of other channels (excluded, never pooled).
    pub rows_excluded_channel: usize,
    /// Excluded rows per channel.
    pub excluded_by_channel: BTreeMap<String, usize>,
    /// Units with used rows.
    pub units: usize,
    /// Periods with used rows, chronological.
    pub periods: Vec<String>,
    /// Unit × period cells (rows of `unit_period.csv`).
    pub cells: usize,
    /// Cells of pilot units.
    pub cells_pilot: usize,
    /// Cells with a single response (no standard error).
    pub cells_single_response: usize,
    /// Cells whose SIPAS is undefined (an item without answers).
    pub cells_undefined_sipas: usize,
    /// Rows of `items.csv`.
    pub item_rows: usize,
    /// Rows of `groups.csv`.
    pub group_rows: usize,
    /// First period of the pilot.
    pub pilot_start: String,
    /// Periods pooled as "before" in the DiD.
    pub did_pre_periods: Vec<String>,
    /// Periods pooled as "from the start" in the DiD.
    pub did_post_periods: Vec<String>,
    /// Why there is no difference-in-differences (e.g. no period before the
    /// start); `None` when `did.csv` holds it.
    pub did_unavailable: Option<String>,
    /// The survey design every SE and interval comes from, in words (see
    /// [`crate::design::describe`]); empty when the SEs are [`aggregate`](crate::aggregate)'s
    /// own (the default design).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub design: String,
    /// Units with data left out of the pilot / baseline comparison, with
    /// the reason (see [`crate::arms`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<crate::arms::LeftOutUnit>,
    /// The confidence level of every interval of the results (`0.95`): the
    /// report reads it from here and labels its intervals with it.
    pub level: Level,
}

/// Everything `aggregate` computes, as plain structs.
#[derive(Debug, Clone, PartialEq)]
pub struct Indices {
    /// Instrument id.
    pub instrument_id: String,
    /// The lowest and highest value of the overall index's scale (0, 100
    /// for SIPAS): its intervals are clipped to them.
    pub root_bounds: (f64, f64),
    /// Item ids, in instrument order; for an instrument whose items give
    /// several shares (a Likert mean, a numeric range), its test ids
    /// ([`sipas_core::Instrument::test_ids`]).
    pub item_ids: Vec<String>,
    /// Reported group ids (elements, then parts).
    pub group_ids: Vec<String>,
    /// One row per unit × period with responses, sorted by unit code then period.
    pub cells: Vec<CellEstimate>,
    /// Pooled pilot and baseline rows, sorted by period then group (baseline first).
    pub groups: Vec<GroupEstimate>,
    /// The difference-in-differences; `None` when the data cannot give it
    /// (see [`AggregateReport::did_unavailable`]).
    pub did: Option<DidEstimate>,
    /// Reconciliation counts.
    pub report: AggregateReport,
}

/// Wilson score interval (in %) for a proportion `p` observed on `n` answers,
/// with `z = `[`Level::z`]. `None` when `n = 0`.
pub fn wilson(p: f64, n: usize, level: Level) -> Option<(f64, f64)> {
    crate::stats::wilson(p, n as f64, level).map(|(lo, hi)| (100.0 * lo, 100.0 * hi))
}
