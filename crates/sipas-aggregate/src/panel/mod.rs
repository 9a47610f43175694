//! The econometric evaluation of the pilot on the unit × period panel of
//! SIPAS: two-way fixed-effects difference-in-differences with
//! cluster-robust (CR1) errors and a wild cluster restricted bootstrap, an
//! event study with a joint pre-trend test, and per-pilot-unit effects.
//!
//! # Overview
//! - [`select_panel`] turns [`CellEstimate`]s into [`PanelCell`]s: the pilot
//!   units plus the chosen [`Baseline`] (dropped units are counted in
//!   [`PanelSelection`]).
//! - [`evaluate`] computes an [`Evaluation`] from the panel and
//!   [`EvaluationOptions`] (the job file's `[evaluation]` section).
//! - [`twfe_did`] is the CR1-only overall TWFE DiD (cheap; no bootstrap).
//! - [`write_evaluation`] writes `did_twfe.csv`, `did_units.csv`,
//!   `event_study.csv`, `pretrend.csv` and `evaluation.json`;
//!   [`methods_text`] explains the methods in plain English.
//!
//! # Model
//! `y_ut = α_u + λ_t + β·D_ut + ε_ut`, `D_ut = pilot_u·[t ≥ start]`, by
//! (weighted) least squares on the cells. Unit effects are removed exactly by
//! demeaning within unit, period effects are dummies, so unbalanced panels
//! are handled exactly. CR1 covariance = `sandwich::vcovCL(fit, cluster =
//! ~unit, type = "HC1")` of `lm(y ~ D + factor(unit) + factor(period))`:
//! `G/(G−1)·(N−1)/(N−K)` with *K* the rank of the full model matrix
//! (intercept, unit and period dummies included). CR1 p-values and
//! intervals use Student's t with `G − 1` degrees of freedom.
//!
//! The wild cluster restricted bootstrap (WCR, Roodman et al. 2019,
//! `boottest`) imposes the null, multiplies the restricted residuals of each
//! unit by one auxiliary weight, and refits; its p-value is the share of
//! replicates whose |t| is at least the observed |t|. Its interval inverts the
//! test by bisection with the same draws. With Rademacher weights there are
//! only 2^G distinct sign patterns, and with few treated clusters (12 pilot
//! units: 2^12 = 4096 patterns among them) the bootstrap distribution is
//! coarse; Webb's six-point weights (6^12 patterns) are the usual remedy.

mod fit;
mod linalg;
mod merged;
mod output;
mod population;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sipas_core::{Period, PilotSet};

pub use fit::WildWeights;
pub use merged::{
    MergedDid, Treatment, UnitTreatment, intensity_from_responses, treatment_intensity, twfe_merged,
};
pub use output::{append_treatment_rows, methods_text, write_evaluation};
pub use population::{Population, intensity_from_population};

use crate::indices::CellEstimate;
use crate::{Error, Result};
use fit::{Design, Fit, Row, Wild};
use sipas_core::Level;

pub use crate::arms::Baseline;
use crate::arms::{Arm, Comparison, LeftOut};

/// How the cells are weighted in the regressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Every cell counts the same (ordinary least squares).
    #[default]
    Equal,
    /// Cells weighted by their number of responses.
    N,
}

/// Options of the evaluation: the job file's `[evaluation]` section.
///
/// ```toml
/// [evaluation]
/// baseline = "all"               # "all" | "same_kind" | "same_district"
/// weighting = "equal"            # "equal" | "n"
/// bootstrap_weights = "rademacher" # "rademacher" | "webb"
/// replicates = 9999
/// seed = 20240101
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationOptions {
    /// The comparison units.
    pub baseline: Baseline,
    /// Cell weights in the regressions.
    pub weighting: Weighting,
    /// Auxiliary weights of the wild bootstrap.
    pub bootstrap_weights: WildWeights,
    /// Bootstrap replicates B (0 = no bootstrap).
    pub replicates: usize,
    /// Seed of the bootstrap draws.
    pub seed: u64,
    /// Confidence level of every interval (CR1 t, wild bootstrap inversion,
    /// 2×2 normal, event study).
    pub level: Level,
}

impl Default for EvaluationOptions {
    fn default() -> Self {
        EvaluationOptions {
            baseline: Baseline::All,
            weighting: Weighting::Equal,
            bootstrap_weights: WildWeights::Rademacher,
            replicates: 9999,
            seed: 20_240_101,
            level: Level::DEFAULT,
        }
    }
}

/// One unit × period observation of the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelCell {
    /// GSO code.
    pub unit_code: String,
    /// The period.
    pub period: Period,
    /// Whether the unit is a pilot unit.
    pub pilot: bool,
    /// SIPAS, 0–100.
    pub value: f64,
    /// Its design-based standard error, when defined.
    pub se: Option<f64>,
    /// Number of responses.
    pub n: usize,
}

/// What [`select_panel`] kept and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelSelection {
    /// The baseline choice.
    pub baseline: Baseline,
    /// Pilot units in the panel.
    pub pilot_units: usize,
    /// Baseline units in the panel.
    pub baseline_units: usize,
    /// Non-pilot units outside the baseline (dropped).
    pub dropped_units: usize,
    /// Their cells.
    pub dropped_cells_outside_baseline: usize,
    /// Units (pilot or not) without a period before the start (dropped:
    /// they would change the arms' composition at the start).
    pub dropped_units_no_pre_period: usize,
    /// Their cells.
    pub dropped_cells_no_pre_period: usize,
    /// Units of later waves of a staggered rollout (dropped from the first
    /// wave's comparison, [`crate::arms::LeftOut::LaterWave`]).
    pub dropped_units_later_wave: usize,
    /// Their cells.
    pub dropped_cells_later_wave: usize,
    /// Cells of kept units whose SIPAS is undefined (dropped).
    pub dropped_cells_undefined: usize,
    /// Cells in the panel.
    pub cells: usize,
}

/// The panel for the evaluation: the pilot units (from `pilots`) and the
/// baseline units, by the rule of [`crate::arms`] (the one `groups.csv` and
/// the 2×2 DiD use): units without a period before the start and non-pilot
/// units outside the `baseline` choice are dropped; cells without a SIPAS
/// value are dropped. Sorted by unit code then period.
pub fn select_panel(
    cells: &[CellEstimate],
    pilots: &PilotSet,
    baseline: Baseline,
) -> (Vec<PanelCell>, PanelSelection) {
    select_panel_for(cells, pilots, baseline, Comparison::FirstWave)
}

/// [`select_panel`] for the chosen [`Comparison`]: with
/// [`Comparison::AllWaves`], the staggered rollout's panel (every wave's
/// units in the pilot arm, `pilot` = in any wave), which the staggered
/// estimates split by each unit's start.
pub fn select_panel_for(
    cells: &[CellEstimate],
    pilots: &PilotSet,
    baseline: Baseline,
    comparison: Comparison,
) -> (Vec<PanelCell>, PanelSelection) {
    let (codes, arms) = crate::arms::of_cells(cells, pilots, baseline, comparison);
    // Position of each unit code in `arms`.
    let pos: BTreeMap<&str, usize> = codes.iter().enumerate().map(|(u, c)| (*c, u)).collect();
    let (mut dropped_cells, mut dropped_cells_pre, mut dropped_cells_later, mut undefined) =
        (0, 0, 0, 0);
    let mut panel = Vec::new();
    for c in cells {
        let u = pos[c.unit_code.as_str()];
        let Some(a) = arms.of(u) else {
            match arms.reason(u) {
                Some(LeftOut::NoPrePeriod) => dropped_cells_pre += 1,
                Some(LeftOut::LaterWave) => dropped_cells_later += 1,
                _ => dropped_cells += 1,
            }
            continue;
        };
        let Some(value) = c.sipas.value else {
            undefined += 1;
            continue;
        };
        panel.push(PanelCell {
            unit_code: c.unit_code.clone(),
            period: c.period,
            pilot: a == Arm::Pilot,
            value,
            se: c.sipas.se,
            n: c.n,
        });
    }
    panel.sort_by(|a, b| (&a.unit_code, a.period).cmp(&(&b.unit_code, b.period)));
    let in_arm = |want: Arm| {
        (0..codes.len())
            .filter(|&u| arms.of(u) == Some(want))
            .count()
    };
    let selection = PanelSelection {
        baseline,
        pilot_units: in_arm(Arm::Pilot),
        baseline_units: in_arm(Arm::Baseline),
        dropped_units: arms.count(LeftOut::OutsideBaseline),
        dropped_cells_outside_baseline: dropped_cells,
        dropped_units_no_pre_period: arms.count(LeftOut::NoPrePeriod),
        dropped_cells_no_pre_period: dropped_cells_pre,
        dropped_units_later_wave: arms.count(LeftOut::LaterWave),
        dropped_cells_later_wave: dropped_cells_later,
        dropped_cells_undefined: undefined,
        cells: panel.len(),
    };
    (panel, selection)
}

/// Wild cluster restricted bootstrap results of one coefficient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WildResult {
    /// p-value of `H0: β = 0` (symmetric, t-based).
    pub p: f64,
    /// Lower bound of the interval (at [`EvaluationOptions::level`]) by test inversion.
    pub lo: Option<f64>,
    /// Upper bound.
    pub hi: Option<f64>,
    /// The auxiliary weights.
    pub weights: WildWeights,
    /// Number of replicates B.
    pub replicates: usize,
    /// The seed.
    pub seed: u64,
}

/// One TWFE difference-in-differences (overall, or one pilot unit against the baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct DidRow {
    /// `None` for the overall effect, else the pilot unit.
    pub unit_code: Option<String>,
    /// β̂, in index points.
    pub estimate: f64,
    /// CR1 standard error.
    pub se_cr1: f64,
    /// `β̂ − t_{1−α/2, G−1}·se` (α = 1 − [`EvaluationOptions::level`]).
    pub lo_cr1: f64,
    /// `β̂ + t_{1−α/2, G−1}·se`.
    pub hi_cr1: f64,
    /// Two-sided p-value of `β = 0` from t with `G − 1` degrees of freedom.
    pub p_cr1: f64,
    /// Wild bootstrap (overall row only).
    pub wild: Option<WildResult>,
    /// Clusters (units) G.
    pub n_clusters: usize,
    /// Treated clusters.
    pub n_treated: usize,
    /// Cells N.
    pub n_obs: usize,
}

// The simple 2×2 difference of cell means of one pilot unit against the baseline (a row of
// `did_units.csv`) and one event-study coefficient (a row of `event_study.csv`): the results
// contract's row types, which the report reads back as they are.
pub use sipas_core::results::{DidUnitsRow as UnitMeans, EventStudyRow as EventRow};

/// The joint test that all pre-period event-study coefficients are zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PretrendTest {
    /// Number of restrictions q.
    pub q: usize,
    /// Denominator degrees of freedom `G − 1`.
    pub df2: usize,
    /// Wald statistic with the CR1 covariance.
    pub wald: f64,
    /// `wald / q`.
    pub f: f64,
    /// `P(F(q, G−1) ≥ f)`.
    pub p: f64,
    /// Wild cluster restricted bootstrap p-value of the Wald statistic.
    pub p_wild: Option<f64>,
}

/// The event study.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStudy {
    /// The reference event time (−1 unless that period is absent).
    pub reference: i64,
    /// One row per event time, the reference included, ascending.
    pub rows: Vec<EventRow>,
    /// `None` when there are no pre-period coefficients.
    pub pretrend: Option<PretrendTest>,
    /// Clusters G.
    pub n_clusters: usize,
    /// Cells N.
    pub n_obs: usize,
}

/// Everything [`evaluate`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The options used.
    pub options: EvaluationOptions,
    /// First period of the pilot (at the data's granularity).
    pub start: Period,
    /// Pilot units, sorted by code.
    pub pilot_units: Vec<String>,
    /// Baseline units in the panel.
    pub baseline_units: usize,
    /// Cells in the panel.
    pub n_obs: usize,
    /// The overall TWFE DiD.
    pub overall: DidRow,
    /// One TWFE DiD per pilot unit (that unit against the baseline).
    pub units: Vec<DidRow>,
    /// The 2×2 of cell means per pilot unit.
    pub unit_means: Vec<UnitMeans>,
    /// The event study.
    pub event_study: EventStudy,
}

/// The panel indexed for the regressions.
struct Indexed<'a> {
    cells: &'a [PanelCell],
    /// Unit index of each cell (cells sorted by unit code).
    unit: Vec<usize>,
    /// Period index of each cell (into the sorted periods of the panel).
    period: Vec<usize>,
    /// Periods of the panel.
    n_period_values: usize,
    unit_codes: Vec<String>,
    start: Period,
}

fn did_err(start: Period, message: impl Into<String>) -> Error {
    Error::Did {
        start: start.to_string(),
        message: message.into(),
    }
}

/// The pilot start expressed at granularity of `p`: the first period at that
/// granularity that counts as "from the start" (see [`crate::is_post`]).
fn start_at(p: Period, start: Period) -> Period {
    let (g, sg) = (p.granularity(), start.granularity());
    if g.per_year() <= sg.per_year() {
        start.coarsen(g).expect("granularities 1, 2, 4, 12 nest")
    } else {
        let ratio = g.per_year() / sg.per_year();
        Period::new(g, start.year(), (start.sub() - 1) * ratio + 1).expect("valid sub-period")
    }
}

impl<'a> Indexed<'a> {
    fn new(cells: &'a [PanelCell], start: Period) -> Result<Self> {
        let Some(first) = cells.first() else {
            return Err(did_err(start, "the panel is empty"));
        };
        if cells
            .iter()
            .any(|c| c.period.granularity() != first.period.granularity())
        {
            return Err(did_err(start, "the panel mixes period granularities"));
        }
        if cells
            .windows(2)
            .any(|w| (&w[0].unit_code, w[0].period) >= (&w[1].unit_code, w[1].period))
        {
            return Err(did_err(
                start,
                "panel cells must be unique and sorted by unit code then period",
            ));
        }
        if let Some(c) = cells.iter().find(|c| !c.value.is_finite()) {
            return Err(did_err(
                start,
                format!(
                    "unit {} period {}: value is not finite",
                    c.unit_code, c.period
                ),
            ));
        }
        let start = start_at(first.period, start);
        let periods: Vec<Period> = cells
            .iter()
            .map(|c| c.period)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut unit_codes: Vec<String> = Vec::new();
        let mut unit = Vec::with_capacity(cells.len());
        for c in cells {
            if unit_codes.last() != Some(&c.unit_code) {
                unit_codes.push(c.unit_code.clone());
            }
            unit.push(unit_codes.len() - 1);
        }
        let period = cells
            .iter()
            .map(|c| periods.binary_search(&c.period).expect("period listed"))
            .collect();
        Ok(Indexed {
            cells,
            unit,
            period,
            n_period_values: periods.len(),
            unit_codes,
            start,
        })
    }

    /// The rows of the cells `keep` for a fit, and the number of periods among them.
    fn rows(&self, keep: &[usize], weighting: Weighting) -> (Vec<Row>, usize) {
        // Re-number units (in their order among the kept cells) and periods (in
        // time order) among the kept cells: by index, the cells' units and periods
        // being indices already (one fit per pilot unit renumbers 10⁵ cells).
        let mut unit_no = vec![usize::MAX; self.unit_codes.len()];
        let mut next = 0;
        let mut period_no = vec![usize::MAX; self.n_period_values];
        for &i in keep {
            let u = &mut unit_no[self.unit[i]];
            if *u == usize::MAX {
                *u = next;
                next += 1;
            }
            period_no[self.period[i]] = 0;
        }
        let mut n_periods = 0;
        for p in period_no.iter_mut().filter(|p| **p == 0) {
            *p = n_periods;
            n_periods += 1;
        }
        let rows = keep
            .iter()
            .map(|&i| Row {
                unit: unit_no[self.unit[i]],
                period: period_no[self.period[i]],
                y: self.cells[i].value,
                w: match weighting {
                    Weighting::Equal => 1.0,
                    Weighting::N => self.cells[i].n as f64,
                },
            })
            .collect();
        (rows, n_periods)
    }

    fn post(&self, i: usize) -> bool {
        self.cells[i].period >= self.start
    }

    fn k(&self, i: usize) -> i64 {
        self.cells[i].period.index() - self.start.index()
    }
}

/// CR1 row of one TWFE DiD on the cells `keep` with `treated(i)` marking D = 1.
fn did_fit(
    ix: &Indexed<'_>,
    keep: &[usize],
    treated_unit: &dyn Fn(usize) -> bool,
    weighting: Weighting,
    level: Level,
) -> Result<(Design, Fit, DidRow)> {
    let (rows, n_periods) = ix.rows(keep, weighting);
    let d: Vec<f64> = keep
        .iter()
        .map(|&i| f64::from(u8::from(treated_unit(i) && ix.post(i))))
        .collect();
    let design = Design::new(&rows, n_periods, &[d]);
    let fit = Fit::new(&design);
    let row = did_row(ix, keep, treated_unit, fit.as_ref(), level)?;
    Ok((design, fit.expect("did_row checked it"), row))
}

/// The CR1 row of a TWFE DiD `fit` on the cells `keep` (`None`: the model has no fit).
fn did_row(
    ix: &Indexed<'_>,
    keep: &[usize],
    treated_unit: &dyn Fn(usize) -> bool,
    fit: Option<&Fit>,
    level: Level,
) -> Result<DidRow> {
    let fit = fit.ok_or_else(|| {
        did_err(
            ix.start,
            "too few cells or units for the two-way fixed-effects model",
        )
    })?;
    if fit.chol.is_aliased(0) {
        return Err(did_err(
            ix.start,
            "the treatment indicator is collinear with the fixed effects (no treated cell before and after the start?)",
        ));
    }
    let g = fit.g;
    let (estimate, se) = (fit.beta[0], fit.se(0));
    let tq = crate::stats::t_quantile(level, (g - 1) as f64).unwrap_or(f64::NAN);
    let treated: BTreeSet<usize> = keep
        .iter()
        .filter(|&&i| treated_unit(i))
        .map(|&i| ix.unit[i])
        .collect();
    let row = DidRow {
        unit_code: None,
        estimate,
        se_cr1: se,
        lo_cr1: estimate - tq * se,
        hi_cr1: estimate + tq * se,
        p_cr1: crate::dist::t_two_sided(estimate / se, (g - 1) as f64),
        wild: None,
        n_clusters: g,
        n_treated: treated.len(),
        n_obs: keep.len(),
    };
    Ok(row)
}

/// The overall TWFE DiD with CR1 errors only (no bootstrap); `start` is the
/// pilot's first period. `cells` sorted by unit code then period.
pub fn twfe_did(
    cells: &[PanelCell],
    start: Period,
    weighting: Weighting,
    level: Level,
) -> Result<DidRow> {
    let ix = Indexed::new(cells, start)?;
    let keep: Vec<usize> = (0..cells.len()).collect();
    Ok(did_fit(&ix, &keep, &|i| cells[i].pilot, weighting, level)?.2)
}

/// Wild bootstrap p-value at 0 and the interval at `opts.level` by test
/// inversion (the values not rejected at `α = 1 − level`).
fn wild_did(d: &Design, fit: &Fit, opts: &EvaluationOptions) -> Option<WildResult> {
    if opts.replicates == 0 {
        return None;
    }
    let wild = Wild::new(d, fit, &[0]);
    let curve = wild
        .p_curve(opts.bootstrap_weights, opts.replicates, opts.seed)
        .expect("one tested coefficient");
    let p_at = |b0: f64| curve.p_value(b0).unwrap_or(f64::NAN);
    let p = p_at(0.0);
    let (est, se) = (fit.beta[0], fit.se(0));
    let alpha = opts.level.alpha();
    let bound = |dir: f64| -> Option<f64> {
        // Inner point (not rejected) and outer point (rejected at α).
        let mut step = se.max(1e-8);
        let mut outer = est + dir * step;
        let mut tries = 0;
        while p_at(outer) > alpha {
            step *= 2.0;
            outer = est + dir * step;
            tries += 1;
            if tries > 40 {
                return None;
            }
        }
        let mut inner = est;
        for _ in 0..60 {
            if (outer - inner).abs() <= 1e-7 * se.max(1e-12) {
                break;
            }
            let mid = 0.5 * (inner + outer);
            if p_at(mid) > alpha {
                inner = mid;
            } else {
                outer = mid;
            }
        }
        Some(0.5 * (inner + outer))
    };
    Some(WildResult {
        p,
        lo: bound(-1.0),
        hi: bound(1.0),
        weights: opts.bootstrap_weights,
        replicates: opts.replicates,
        seed: opts.seed,
    })
}

/// The full evaluation: overall TWFE DiD (CR1 and wild bootstrap), one DiD
/// per pilot unit (TWFE with CR1, and the 2×2 of cell means), and the event
/// study with the joint pre-trend test. `cells` is the output of
/// [`select_panel`] (sorted by unit code then period, one granularity);
/// `start` is the pilot's first period.
pub fn evaluate(
    cells: &[PanelCell],
    start: Period,
    opts: &EvaluationOptions,
) -> Result<Evaluation> {
    let ix = Indexed::new(cells, start)?;
    let all: Vec<usize> = (0..cells.len()).collect();
    let pilot_units: Vec<String> = cells
        .iter()
        .filter(|c| c.pilot)
        .map(|c| c.unit_code.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if pilot_units.is_empty() {
        return Err(did_err(ix.start, "no pilot unit in the panel"));
    }
    let baseline_units = ix.unit_codes.len() - pilot_units.len();
    if baseline_units == 0 {
        return Err(did_err(ix.start, "no baseline unit in the panel"));
    }
    let (design, fit, mut overall) =
        did_fit(&ix, &all, &|i| cells[i].pilot, opts.weighting, opts.level)?;
    overall.wild = wild_did(&design, &fit, opts);

    // One fit per pilot unit, each on its own cells: in parallel, kept in unit order (the
    // first error in that order is returned, as one after the other).
    let baseline = BaselineMoments::new(&ix, &design);
    let per_unit: Vec<Result<(DidRow, UnitMeans)>> = pilot_units
        .par_iter()
        .map(|code| {
            let keep: Vec<usize> = (0..cells.len())
                .filter(|&i| !cells[i].pilot || &cells[i].unit_code == code)
                .collect();
            let mut row = match &baseline {
                Some(b) => {
                    let fit = b.fit(&design, &keep, &|i| cells[i].pilot);
                    did_row(&ix, &keep, &|i| cells[i].pilot, fit.as_ref(), opts.level)?
                }
                None => did_fit(&ix, &keep, &|i| cells[i].pilot, opts.weighting, opts.level)?.2,
            };
            row.unit_code = Some(code.clone());
            Ok((row, unit_means_of(&ix, &keep, code, opts.level)?))
        })
        .collect();
    let mut units = Vec::new();
    let mut unit_means = Vec::new();
    for r in per_unit {
        let (row, means) = r?;
        units.push(row);
        unit_means.push(means);
    }
    let event_study = event_study(&ix, &all, opts)?;
    Ok(Evaluation {
        options: *opts,
        start: ix.start,
        pilot_units,
        baseline_units,
        n_obs: cells.len(),
        overall,
        units,
        unit_means,
        event_study,
    })
}

/// `X'X` and `X'y` of the baseline's rows of the overall TWFE design: each pilot unit's fit
/// is on the baseline and that unit, and the baseline's rows are the same in every one of them
/// (the demeaning is within unit, the treatment indicator 0 on them, and the periods are
/// numbered alike when the baseline has every period): their moments are summed once, and a
/// unit's fit adds its own rows' (10,000 units: 100 fits of 10⁵ rows each).
struct BaselineMoments {
    xtx: Vec<f64>,
    xty: Vec<f64>,
}

impl BaselineMoments {
    /// `None` when the baseline lacks a period of the panel (a pilot unit's fit then numbers
    /// its periods otherwise, and is made from its cells).
    fn new(ix: &Indexed<'_>, design: &Design) -> Option<Self> {
        let rows = || (0..ix.cells.len()).filter(|&i| !ix.cells[i].pilot);
        let mut seen = vec![false; ix.n_period_values];
        for i in rows() {
            seen[ix.period[i]] = true;
        }
        seen.iter().all(|&s| s).then(|| BaselineMoments {
            xtx: design.xtx_of(rows()),
            xty: design.xtv_of(rows(), &design.y),
        })
    }

    /// The fit on the cells `keep` (the baseline and the pilot cells `own` marks) of the
    /// overall `design`: the moments of the design's rows `keep`, those of the baseline's
    /// plus those of the others. Equal, up to the order of the additions, to the fit
    /// [`did_fit`] makes from the same cells.
    fn fit(&self, design: &Design, keep: &[usize], own: &dyn Fn(usize) -> bool) -> Option<Fit> {
        let mine = || keep.iter().copied().filter(|&i| own(i));
        let add =
            |a: &[f64], b: Vec<f64>| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x + y).collect() };
        let xtx = add(&self.xtx, design.xtx_of(mine()));
        let xty = add(&self.xty, design.xtv_of(mine(), &design.y));
        Fit::with_moments(&design.subset(keep), xtx, &xty)
    }
}

fn unit_means_of(ix: &Indexed<'_>, keep: &[usize], code: &str, level: Level) -> Result<UnitMeans> {
    // quadrants: 0 pilot pre, 1 pilot post, 2 baseline pre, 3 baseline post
    let mut sum = [0.0; 4];
    let mut var = [0.0; 4];
    let mut count = [0usize; 4];
    let mut se_defined = true;
    for &i in keep {
        let c = &ix.cells[i];
        let q = usize::from(!c.pilot) * 2 + usize::from(ix.post(i));
        sum[q] += c.value;
        count[q] += 1;
        match c.se {
            Some(se) => var[q] += se * se,
            None => se_defined = false,
        }
    }
    if count.contains(&0) {
        return Err(did_err(
            ix.start,
            format!("pilot unit {code}: a 2×2 quadrant has no cell"),
        ));
    }
    let mean = |q: usize| sum[q] / count[q] as f64;
    let estimate = (mean(1) - mean(0)) - (mean(3) - mean(2));
    let se = se_defined.then(|| {
        (0..4)
            .map(|q| var[q] / (count[q] * count[q]) as f64)
            .sum::<f64>()
            .sqrt()
    });
    Ok(UnitMeans {
        unit_code: code.to_string(),
        pilot_pre: Some(mean(0)),
        pilot_post: Some(mean(1)),
        baseline_pre: Some(mean(2)),
        baseline_post: Some(mean(3)),
        estimate: Some(estimate),
        se,
        lo: se.map(|s| estimate - level.normal_multiplier() * s),
        hi: se.map(|s| estimate + level.normal_multiplier() * s),
    })
}

fn event_study(ix: &Indexed<'_>, keep: &[usize], opts: &EvaluationOptions) -> Result<EventStudy> {
    let ks: BTreeSet<i64> = keep
        .iter()
        .filter(|&&i| ix.cells[i].pilot)
        .map(|&i| ix.k(i))
        .collect();
    let reference = if ks.contains(&-1) {
        -1
    } else {
        *ks.range(..0)
            .next_back()
            .ok_or_else(|| did_err(ix.start, "no pilot cell before the start"))?
    };
    let event_ks: Vec<i64> = ks.iter().copied().filter(|&k| k != reference).collect();
    let cols: Vec<Vec<f64>> = event_ks
        .iter()
        .map(|&k| {
            keep.iter()
                .map(|&i| f64::from(u8::from(ix.cells[i].pilot && ix.k(i) == k)))
                .collect()
        })
        .collect();
    let (rows, n_periods) = ix.rows(keep, opts.weighting);
    let design = Design::new(&rows, n_periods, &cols);
    let fit = Fit::new(&design)
        .ok_or_else(|| did_err(ix.start, "too few cells or units for the event study"))?;
    let g = fit.g;
    let df = (g - 1) as f64;
    let tq = crate::stats::t_quantile(opts.level, df).unwrap_or(f64::NAN);
    let mut out = Vec::new();
    for &k in &ks {
        let period = ix.start.offset(k);
        if k == reference {
            out.push(EventRow {
                k,
                period,
                estimate: Some(0.0),
                se: None,
                lo: None,
                hi: None,
                p: None,
            });
            continue;
        }
        let j = event_ks.iter().position(|&e| e == k).expect("listed");
        if fit.chol.is_aliased(j) {
            out.push(EventRow {
                k,
                period,
                estimate: None,
                se: None,
                lo: None,
                hi: None,
                p: None,
            });
            continue;
        }
        let (b, se) = (fit.beta[j], fit.se(j));
        out.push(EventRow {
            k,
            period,
            estimate: Some(b),
            se: Some(se),
            lo: Some(b - tq * se),
            hi: Some(b + tq * se),
            p: Some(crate::dist::t_two_sided(b / se, df)),
        });
    }
    let pre: Vec<usize> = event_ks
        .iter()
        .enumerate()
        .filter(|(j, k)| **k < 0 && !fit.chol.is_aliased(*j))
        .map(|(j, _)| j)
        .collect();
    let pretrend = if pre.is_empty() {
        None
    } else {
        let zeros = vec![0.0; pre.len()];
        fit.wald(&pre, &zeros).map(|wald| {
            let q = pre.len();
            let f = wald / q as f64;
            let p_wild = (opts.replicates > 0)
                .then(|| {
                    Wild::new(&design, &fit, &pre).p_value(
                        &zeros,
                        opts.bootstrap_weights,
                        opts.replicates,
                        opts.seed,
                    )
                })
                .flatten();
            PretrendTest {
                q,
                df2: g - 1,
                wald,
                f,
                p: crate::dist::f_upper(f, q as f64, df),
                p_wild,
            }
        })
    };
    Ok(EventStudy {
        reference,
        rows: out,
        pretrend,
        n_clusters: g,
        n_obs: keep.len(),
    })
}

#[cfg(test)]
mod tests;
