//! Staggered rollout: Callaway–Sant'Anna group-time effects and the
//! Goodman-Bacon decomposition of the two-way fixed-effects estimate.
//!
//! # Overview
//! - [`UnitSeries`]: one unit of a unit × period panel (its first treated
//!   period, its weight, its values by period index).
//! - [`callaway_santanna`] computes every ATT(g, t) without covariates, its
//!   influence function (clustered by unit), simultaneous bands from a seeded
//!   multiplier bootstrap, and the four aggregations of R `did::aggte`
//!   (simple, event/exposure, group, calendar), each with its interval.
//! - [`bacon`] decomposes the TWFE estimate `y_it = α_i + λ_t + β·D_it` into
//!   the 2×2 comparisons it averages (Goodman-Bacon 2021), the "forbidden"
//!   later-vs-earlier comparisons included.
//!
//! # ATT(g, t)
//! For the units first treated in period `g` (group g) and a period `t`, with
//! base period `b`:
//!
//! `ATT(g,t) = Σ_{G=g} w_i ΔY_i / Σ_{G=g} w_i − Σ_{C} w_j ΔY_j / Σ_{C} w_j`,
//! `ΔY = Y_t − Y_b`.
//!
//! The comparison units `C` are the never-treated units ([`Control::Never`])
//! or the units not yet treated in `t` nor in `b` ([`Control::NotYet`]: never
//! treated or first treated after `max(t, b)`, other than g). With the
//! *varying* base period `b = g−1` for `t ≥ g` and `b = t−1` (the previous
//! period of the panel) for `t < g`; with the *universal* base period
//! `b = g−1` always (the cell `t = g−1` is reported as 0 without an SE).
//! Periods are the periods observed in the panel, in order; "g−1" is the last
//! of them before `g`.
//!
//! A unit enters a cell when it has a value in both `t` and `b`; on a
//! balanced panel this is R `did`'s panel estimator exactly. Weights `w` are
//! one per unit (1 for equal weighting, or e.g. the unit's mean number of
//! responses per period).
//!
//! # Standard errors
//! The influence function of ATT(g,t) for unit i, on the `n` units of the
//! estimation, is `n·w_i(ΔY_i − m₁)/W₁` for a unit of group g,
//! `−n·w_i(ΔY_i − m₀)/W₀` for a comparison unit and 0 otherwise (`m`, `W`:
//! weighted mean and total weight of each side). `SE = √(Σ_i ψ_i²)/n`: the
//! unit-clustered analytic SE of R `did` with `bstrap = FALSE` (every period
//! of a unit is in its one ψ_i, so serial correlation within a unit is
//! allowed for). It treats the cell values as the data: their own sampling
//! error (the survey's design-based SE) enters only through the spread of
//! ΔY across units; [`RolloutOptions::design_variance`] adds it.
//!
//! Aggregations are weighted averages `θ = Σ_k v_k ATT_k` with `v_k`
//! proportional to the group's weighted share `P(G = g)`; their influence
//! functions add the estimation effect of those shares (R `did`'s `wif`).
//!
//! Simultaneous bands: Mammen multiplier bootstrap of the influence
//! functions, `crit = (1−α)` quantile of `max_k |ψ*_k|/σ̂_k` with `σ̂_k` the
//! bootstrap IQR / 1.349 (R `did::mboot`). Seeded; the draws are a function
//! of `(seed, replicate)` only.

mod bacon;
mod boot;
mod cells;
mod io;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use bacon::{Bacon, BaconKind, BaconRow, bacon};
pub use cells::{RunRollout, of_run, series_of_cells};
pub use io::{
    IndexRollout, Labels, PanelColumns, PanelFile, methods_text, read_panel, write_rollout,
};

use crate::{Error, Result};

/// Which units form the comparison group of each ATT(g, t).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// Units never treated in the panel.
    #[default]
    Never,
    /// Units not yet treated in `t` and in the base period (the never treated included).
    NotYet,
}

impl Control {
    /// `never` or `not-yet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Never => "never",
            Control::NotYet => "not-yet",
        }
    }
}

/// The base period of each ATT(g, t).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasePeriod {
    /// `g−1` after the start, the previous period before it (pre-trends are period-on-period).
    #[default]
    Varying,
    /// `g−1` for every `t` (pre-period effects are relative to the last period before the start).
    Universal,
}

impl BasePeriod {
    /// `varying` or `universal`.
    pub fn as_str(self) -> &'static str {
        match self {
            BasePeriod::Varying => "varying",
            BasePeriod::Universal => "universal",
        }
    }
}

/// Options of [`callaway_santanna`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutOptions {
    /// Comparison group.
    pub control: Control,
    /// Base period.
    pub base: BasePeriod,
    /// Multiplier-bootstrap replicates for the simultaneous bands (0 = none).
    pub replicates: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Add the design-based variance of the cell estimates to every SE
    /// (see [`UnitSeries::variances`]).
    pub design_variance: bool,
    /// Confidence level of the pointwise intervals (`Φ⁻¹(1 − α/2)`) and of
    /// the simultaneous bands.
    pub level: sipas_core::Level,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            control: Control::Never,
            base: BasePeriod::Varying,
            replicates: 999,
            seed: 20_240_101,
            design_variance: false,
            level: sipas_core::Level::DEFAULT,
        }
    }
}

/// One unit of the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSeries {
    /// The unit's id.
    pub unit: String,
    /// Index of its first treated period; `None` when never treated.
    pub group: Option<i64>,
    /// Its weight (> 0): 1, or its mean number of responses per period.
    pub weight: f64,
    /// Its values by period index (one per period at most).
    pub values: BTreeMap<i64, f64>,
    /// Design-based sampling variances of the values (the survey's SE²), by
    /// period index; used only with [`RolloutOptions::design_variance`]
    /// (a value without one adds nothing).
    pub variances: BTreeMap<i64, f64>,
}

/// One group-time effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttGt {
    /// First treated period of the group.
    pub group: i64,
    /// The period.
    pub period: i64,
    /// Its base period.
    pub base: i64,
    /// ATT(g, t).
    pub att: f64,
    /// Analytic SE (unit-clustered); `None` when undefined (base cell, no spread).
    pub se: Option<f64>,
    /// Units of the group in the cell.
    pub n_treated: usize,
    /// Comparison units in the cell.
    pub n_control: usize,
}

/// One aggregated effect (exposure, group or calendar period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggEffect {
    /// The exposure `t − g` (in periods), the group or the period; `None` for an overall row.
    pub key: Option<i64>,
    /// The effect.
    pub att: f64,
    /// Analytic SE.
    pub se: Option<f64>,
}

impl AggEffect {
    /// Pointwise interval at `level`: `att ± Φ⁻¹(1 − α/2)·se`.
    pub fn ci(&self, level: sipas_core::Level) -> Option<(f64, f64)> {
        let z = level.z();
        self.se.map(|s| (self.att - z * s, self.att + z * s))
    }
}

/// One aggregation: its rows and its overall average.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregation {
    /// Per exposure / group / period.
    pub rows: Vec<AggEffect>,
    /// The overall average of this aggregation.
    pub overall: AggEffect,
    /// Critical value of the simultaneous band (at [`RolloutOptions::level`])
    /// over `rows` (bootstrap), when computed.
    pub crit: Option<f64>,
}

/// How a unit was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitUse {
    /// The unit's id.
    pub unit: String,
    /// Its group as given (`None`: never treated).
    pub group: Option<i64>,
    /// Whether it entered at least one ATT(g, t).
    pub used: bool,
    /// Why not, or how (e.g. "never treated", "treated in the first period: no pre-period").
    pub reason: String,
}

/// The Callaway–Sant'Anna estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// The options used.
    pub options: RolloutOptions,
    /// Units in the estimation (`n` of the influence functions).
    pub n_units: usize,
    /// Every ATT(g, t), by group then period.
    pub att_gt: Vec<AttGt>,
    /// Critical value of the simultaneous band over all ATT(g, t) with an SE.
    pub att_gt_crit: Option<f64>,
    /// Simple weighted average of the post-treatment ATT(g, t).
    pub simple: AggEffect,
    /// By exposure `e = t − g`; overall = mean over `e ≥ 0`.
    pub event: Aggregation,
    /// By group; overall = average weighted by group size.
    pub group: Aggregation,
    /// By calendar period; overall = mean over periods.
    pub calendar: Aggregation,
    /// Every unit of the input and its use.
    pub units: Vec<UnitUse>,
    /// Cells (g, t) that could not be estimated, with the reason.
    pub skipped: Vec<(i64, i64, String)>,
}

fn err(message: impl Into<String>) -> Error {
    Error::Data {
        origin: "staggered rollout".into(),
        message: message.into(),
    }
}

/// `√(Σψ²)/n`, `None` when (numerically) zero or not finite, as R `did`.
fn se_of(psi: &[f64], n: usize) -> Option<f64> {
    let se = psi.iter().map(|x| x * x).sum::<f64>().sqrt() / n as f64;
    (se.is_finite() && se > f64::EPSILON.sqrt() * 10.0).then_some(se)
}

struct Prepared<'a> {
    /// Units in the estimation.
    units: Vec<&'a UnitSeries>,
    /// Their groups after recoding (treated after the panel → never).
    g: Vec<Option<i64>>,
    /// Weights normalised to mean 1.
    w: Vec<f64>,
    /// Periods of the panel, sorted.
    periods: Vec<i64>,
    /// Treated groups, sorted.
    groups: Vec<i64>,
    uses: Vec<UnitUse>,
    /// Add the design variance to the SEs.
    design: bool,
}

impl Prepared<'_> {
    /// The SE of an estimate: unit-clustered, plus the design variance of
    /// the cell values when asked.
    fn se(&self, e: &Est) -> Option<f64> {
        let se = se_of(&e.psi, self.units.len())?;
        if !self.design {
            return Some(se);
        }
        let extra: f64 = e
            .lin
            .iter()
            .map(|(&(i, t), c)| c * c * self.units[i].variances.get(&t).copied().unwrap_or(0.0))
            .sum();
        Some((se * se + extra).sqrt())
    }
}

/// Every period observed in some unit, in order.
pub(crate) fn all_periods(units: &[UnitSeries]) -> Vec<i64> {
    units
        .iter()
        .flat_map(|u| u.values.keys().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn prepare(units: &[UnitSeries], design: bool) -> Result<Prepared<'_>> {
    let periods = all_periods(units);
    let (Some(&first), Some(&last)) = (periods.first(), periods.last()) else {
        return Err(err("the panel has no observations"));
    };
    let mut seen = BTreeSet::new();
    let mut kept = Vec::new();
    let mut g = Vec::new();
    let mut uses = Vec::new();
    for u in units {
        if !seen.insert(u.unit.as_str()) {
            return Err(err(format!("unit {} appears twice", u.unit)));
        }
        if !(u.weight.is_finite() && u.weight > 0.0) {
            return Err(err(format!(
                "unit {}: weight {} is not positive",
                u.unit, u.weight
            )));
        }
        if let Some((p, v)) = u.values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(err(format!(
                "unit {}: value {v} in period {p} is not finite",
                u.unit
            )));
        }
        let (group, reason) = match u.group {
            None => (None, "never treated".to_string()),
            Some(s) if s <= first => {
                uses.push(UnitUse {
                    unit: u.unit.clone(),
                    group: u.group,
                    used: false,
                    reason: "treated from the first period of the panel: no pre-period".into(),
                });
                continue;
            }
            Some(s) if s > last => (
                None,
                "first treated after the last period: used as never treated".to_string(),
            ),
            Some(s) => (Some(s), String::new()),
        };
        if u.values.is_empty() {
            uses.push(UnitUse {
                unit: u.unit.clone(),
                group: u.group,
                used: false,
                reason: "no observations".into(),
            });
            continue;
        }
        uses.push(UnitUse {
            unit: u.unit.clone(),
            group: u.group,
            used: false,
            reason,
        });
        kept.push(u);
        g.push(group);
    }
    if kept.is_empty() {
        return Err(err("no unit can be used"));
    }
    let mean_w = kept.iter().map(|u| u.weight).sum::<f64>() / kept.len() as f64;
    let w = kept.iter().map(|u| u.weight / mean_w).collect();
    let groups: Vec<i64> = g
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if groups.is_empty() {
        return Err(err("no treated unit with a pre-period"));
    }
    Ok(Prepared {
        units: kept,
        g,
        w,
        periods,
        groups,
        uses,
        design,
    })
}

/// The coefficients of an estimate on the cell values `(unit, period)`:
/// every estimate here is linear in them.
type Lin = BTreeMap<(usize, i64), f64>;

/// An estimate, its influence function and its coefficients on the cell values (empty
/// without the design variance, the one use of them).
#[derive(Clone)]
struct Est {
    att: f64,
    psi: Vec<f64>,
    lin: Lin,
}

fn add_lin(acc: &mut Lin, lin: &Lin, v: f64) {
    for (k, c) in lin {
        *acc.entry(*k).or_insert(0.0) += v * c;
    }
}

/// One estimated cell with its influence function.
struct Cell {
    est: AttGt,
    e: Est,
    touched: Vec<usize>,
}

fn cell(p: &Prepared<'_>, control: Control, group: i64, t: i64, b: i64) -> Result<Cell, String> {
    let n = p.units.len();
    let (mut w1, mut s1, mut w0, mut s0) = (0.0, 0.0, 0.0, 0.0);
    let mut treated = Vec::new();
    let mut controls = Vec::new();
    let later = t.max(b);
    for (i, u) in p.units.iter().enumerate() {
        let (Some(yt), Some(yb)) = (u.values.get(&t), u.values.get(&b)) else {
            continue;
        };
        let dy = yt - yb;
        let wi = p.w[i];
        match p.g[i] {
            Some(gi) if gi == group => {
                w1 += wi;
                s1 += wi * dy;
                treated.push((i, dy));
            }
            gi => {
                let is_control = match control {
                    Control::Never => gi.is_none(),
                    Control::NotYet => gi.is_none_or(|gi| gi > later),
                };
                if is_control {
                    w0 += wi;
                    s0 += wi * dy;
                    controls.push((i, dy));
                }
            }
        }
    }
    if treated.is_empty() {
        return Err("no unit of the group observed in both periods".into());
    }
    if controls.is_empty() {
        return Err("no comparison unit observed in both periods".into());
    }
    let (m1, m0) = (s1 / w1, s0 / w0);
    let mut psi = vec![0.0; n];
    // The coefficients serve only the design variance ([`Prepared::se`]): without it they
    // stay empty, and so do those of every aggregation of the cell (10⁴ units: 2·10⁴ keys a
    // cell, added up in every aggregation).
    let mut lin = Lin::new();
    let nf = n as f64;
    for &(i, dy) in &treated {
        psi[i] = nf * p.w[i] * (dy - m1) / w1;
        if p.design {
            lin.insert((i, t), p.w[i] / w1);
            lin.insert((i, b), -p.w[i] / w1);
        }
    }
    for &(i, dy) in &controls {
        psi[i] = -nf * p.w[i] * (dy - m0) / w0;
        if p.design {
            lin.insert((i, t), -p.w[i] / w0);
            lin.insert((i, b), p.w[i] / w0);
        }
    }
    let e = Est {
        att: m1 - m0,
        psi,
        lin,
    };
    let touched = treated.iter().chain(&controls).map(|&(i, _)| i).collect();
    Ok(Cell {
        est: AttGt {
            group,
            period: t,
            base: b,
            att: m1 - m0,
            se: p.se(&e),
            n_treated: treated.len(),
            n_control: controls.len(),
        },
        e,
        touched,
    })
}

/// What the aggregations need.
struct AggInput<'a> {
    cells: &'a [Est],
    /// `P(G = g)` of each cell's group.
    pg: &'a [f64],
    /// Each cell's group.
    cg: &'a [i64],
    /// Each unit's group.
    ug: &'a [Option<i64>],
    /// Each unit's normalised weight.
    w: &'a [f64],
}

impl AggInput<'_> {
    /// The weighted average `Σ v_k att_k` over `which` with `v ∝ pg`, and
    /// its influence function, with the estimation effect of the weights
    /// when `with_wif` (R `did`: `get_agg_inf_func` with `wif`).
    fn weighted(&self, which: &[usize], with_wif: bool) -> Est {
        let n = self.w.len();
        let total: f64 = which.iter().map(|&k| self.pg[k]).sum();
        let att = which
            .iter()
            .map(|&k| self.pg[k] * self.cells[k].att)
            .sum::<f64>()
            / total;
        let mut psi = vec![0.0; n];
        let mut lin = Lin::new();
        for &k in which {
            let v = self.pg[k] / total;
            for (x, p) in psi.iter_mut().zip(&self.cells[k].psi) {
                *x += v * p;
            }
            add_lin(&mut lin, &self.cells[k].lin, v);
        }
        if with_wif {
            // wif_ik = (a_ik − pg_k)/S − (Σ_k' (a_ik' − pg_k'))·pg_k/S²,
            // a_ik = w_i·1{G_i = g_k}; added: Σ_k wif_ik·att_k.
            let att_dot_pg: f64 = which.iter().map(|&k| self.pg[k] * self.cells[k].att).sum();
            for (i, x) in psi.iter_mut().enumerate() {
                let (mut row_sum, mut if1) = (0.0, 0.0);
                for &k in which {
                    let a = if self.ug[i] == Some(self.cg[k]) {
                        self.w[i]
                    } else {
                        0.0
                    };
                    let d = a - self.pg[k];
                    row_sum += d;
                    if1 += d * self.cells[k].att;
                }
                *x += if1 / total - row_sum * att_dot_pg / (total * total);
            }
        }
        Est { att, psi, lin }
    }
}

/// The plain mean of estimates (no weights to estimate).
fn mean_of(rows: &[&Est], n: usize) -> Est {
    let m = rows.len() as f64;
    let att = rows.iter().map(|r| r.att).sum::<f64>() / m;
    let mut psi = vec![0.0; n];
    let mut lin = Lin::new();
    for r in rows {
        for (x, p) in psi.iter_mut().zip(&r.psi) {
            *x += p / m;
        }
        add_lin(&mut lin, &r.lin, 1.0 / m);
    }
    Est { att, psi, lin }
}

/// The previous period of the panel before `t`.
fn before(periods: &[i64], t: i64) -> Option<i64> {
    periods.iter().copied().take_while(|&p| p < t).last()
}

/// Callaway–Sant'Anna (2021) group-time effects without covariates and their
/// aggregations; see the [module documentation](self).
pub fn callaway_santanna(units: &[UnitSeries], opts: &RolloutOptions) -> Result<Rollout> {
    let mut p = prepare(units, opts.design_variance)?;
    let n = p.units.len();
    if opts.control == Control::Never && p.g.iter().all(Option::is_some) {
        return Err(err(
            "no never-treated unit: use the not-yet-treated comparison group",
        ));
    }
    let mut cells: Vec<Cell> = Vec::new();
    let mut skipped = Vec::new();
    for &g in &p.groups {
        let Some(gb) = before(&p.periods, g) else {
            continue;
        };
        for &t in &p.periods {
            let b = match opts.base {
                BasePeriod::Varying if t >= g => gb,
                BasePeriod::Varying => match before(&p.periods, t) {
                    Some(b) => b,
                    None => continue,
                },
                BasePeriod::Universal => gb,
            };
            if t == b {
                cells.push(Cell {
                    est: AttGt {
                        group: g,
                        period: t,
                        base: b,
                        att: 0.0,
                        se: None,
                        n_treated: 0,
                        n_control: 0,
                    },
                    e: Est {
                        att: 0.0,
                        psi: vec![0.0; n],
                        lin: Lin::new(),
                    },
                    touched: Vec::new(),
                });
                continue;
            }
            match cell(&p, opts.control, g, t, b) {
                Ok(c) => cells.push(c),
                Err(why) => skipped.push((g, t, why)),
            }
        }
    }
    if !cells.iter().any(|c| c.est.period >= c.est.group) {
        return Err(err("no post-treatment group-time effect can be estimated"));
    }
    let mut used = vec![false; n];
    for c in &cells {
        for &i in &c.touched {
            used[i] = true;
        }
    }
    let index: BTreeMap<&str, usize> = p
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.unit.as_str(), i))
        .collect();
    for u in &mut p.uses {
        if let Some(&i) = index.get(u.unit.as_str()) {
            u.used = used[i];
            if !used[i] {
                u.reason = if p.g[i].is_some() {
                    "not observed in its base period and a later period".into()
                } else {
                    "not observed in any pair of periods a comparison needs".into()
                };
            }
        }
    }

    // P(G = g) of each group, with the normalised weights.
    let pg_group: BTreeMap<i64, f64> = p
        .groups
        .iter()
        .map(|&g| {
            let s: f64 =
                p.g.iter()
                    .zip(&p.w)
                    .filter(|(x, _)| **x == Some(g))
                    .map(|(_, w)| w)
                    .sum();
            (g, s / n as f64)
        })
        .collect();
    let ests: Vec<Est> = cells.iter().map(|c| c.e.clone()).collect();
    let cg: Vec<i64> = cells.iter().map(|c| c.est.group).collect();
    let ct: Vec<i64> = cells.iter().map(|c| c.est.period).collect();
    let pg: Vec<f64> = cg.iter().map(|g| pg_group[g]).collect();
    let agg = AggInput {
        cells: &ests,
        pg: &pg,
        cg: &cg,
        ug: &p.g,
        w: &p.w,
    };
    let effect = |key: Option<i64>, e: &Est| AggEffect {
        key,
        att: e.att,
        se: p.se(e),
    };
    let aggregation = |rows: &[(i64, Est)], overall: &Est| Aggregation {
        rows: rows.iter().map(|(k, e)| effect(Some(*k), e)).collect(),
        overall: effect(None, overall),
        crit: boot::crit(
            &rows
                .iter()
                .map(|(_, e)| e.psi.as_slice())
                .collect::<Vec<_>>(),
            opts,
        ),
    };

    // Simple: post cells weighted by group size.
    let keepers: Vec<usize> = (0..cells.len()).filter(|&k| cg[k] <= ct[k]).collect();
    let simple = effect(None, &agg.weighted(&keepers, true));

    // Event study: by exposure; overall = mean over e ≥ 0.
    let exposures: BTreeSet<i64> = (0..cells.len()).map(|k| ct[k] - cg[k]).collect();
    let event_rows: Vec<(i64, Est)> = exposures
        .iter()
        .map(|&e| {
            let which: Vec<usize> = (0..cells.len()).filter(|&k| ct[k] - cg[k] == e).collect();
            (e, agg.weighted(&which, true))
        })
        .collect();
    let post: Vec<&Est> = event_rows
        .iter()
        .filter(|(e, _)| *e >= 0)
        .map(|(_, r)| r)
        .collect();
    let event = aggregation(&event_rows, &mean_of(&post, n));

    // Group: mean of each group's post cells; overall weighted by group size.
    let group_rows: Vec<(i64, Est)> = p
        .groups
        .iter()
        .filter_map(|&g| {
            let which: Vec<usize> = keepers.iter().copied().filter(|&k| cg[k] == g).collect();
            (!which.is_empty()).then(|| (g, agg.weighted(&which, false)))
        })
        .collect();
    let group_overall = {
        let gest: Vec<Est> = group_rows.iter().map(|(_, r)| r.clone()).collect();
        let gg: Vec<i64> = group_rows.iter().map(|(g, _)| *g).collect();
        let gpg: Vec<f64> = gg.iter().map(|g| pg_group[g]).collect();
        let ga = AggInput {
            cells: &gest,
            pg: &gpg,
            cg: &gg,
            ug: &p.g,
            w: &p.w,
        };
        ga.weighted(&(0..gg.len()).collect::<Vec<_>>(), true)
    };
    let group = aggregation(&group_rows, &group_overall);

    // Calendar: post cells of each period from the first start; overall = mean.
    let min_g = p.groups[0];
    let cal_rows: Vec<(i64, Est)> = p
        .periods
        .iter()
        .filter(|&&t| t >= min_g)
        .filter_map(|&t| {
            let which: Vec<usize> = (0..cells.len())
                .filter(|&k| ct[k] == t && cg[k] <= t)
                .collect();
            (!which.is_empty()).then(|| (t, agg.weighted(&which, true)))
        })
        .collect();
    let cal_all: Vec<&Est> = cal_rows.iter().map(|(_, r)| r).collect();
    let calendar = aggregation(&cal_rows, &mean_of(&cal_all, n));

    let att_gt_crit = boot::crit(
        &cells
            .iter()
            .filter(|c| c.est.se.is_some())
            .map(|c| c.e.psi.as_slice())
            .collect::<Vec<_>>(),
        opts,
    );
    let uses = std::mem::take(&mut p.uses);
    Ok(Rollout {
        options: *opts,
        n_units: n,
        att_gt: cells.into_iter().map(|c| c.est).collect(),
        att_gt_crit,
        simple,
        event,
        group,
        calendar,
        units: uses,
        skipped,
    })
}
