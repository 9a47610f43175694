//! The default design's SIPAS-only kernel ([`aggregate`]): ratio estimates
//! of item shares, linear group indices and the Taylor-linearized variance
//! of SIPAS for cells, pooled groups and the difference-in-differences, for
//! in-memory use and the benchmarks. Its cell totals are those of every
//! design ([`crate::cells`]), its stratum variance the engine's formula
//! ([`crate::cells::stratum_cov`]); [`super::aggregate_with_design`] takes
//! its counts and point estimates ([`point_indices`]) and every SE from the
//! design engine.
//!
//! The design is stratified by unit × period with one-stage sampling and
//! weights (`svydesign(ids = ~1, strata = ~interaction(unit_code, period),
//! weights = ~weight)` in R `survey`). Every domain used here (one cell, the
//! pilot or baseline units of one period, a DiD quadrant) is a union of whole
//! strata, so its variance is the sum of its strata's contributions.

use rayon::prelude::*;
use sipas_core::{Level, Period, Unit};

use crate::Result;
use crate::arms::{Arm, is_post};
use crate::cells::{self, CellRows, ItemTotals, Rows, cell_totals};
use crate::indices::{
    AggregateReport, CellEstimate, DidEstimate, Estimate, GroupEstimate, Indices, ItemShare, wilson,
};
use crate::options::AggregateOptions;
use crate::responses::Responses;

/// A domain's point estimates.
#[derive(Debug, Clone)]
struct Solved {
    root: Option<f64>,
    groups: Vec<Option<f64>>,
}

/// The linearized variable of the root index as byte tables over a row's
/// masks: with α_j = 100·c_j/X_j and R_j = Y_j/X_j, a row contributes
/// z = w·(Σ_{j satisfied} α_j − Σ_{j answered} α_j·R_j), and each sum is
/// read eight items at a time: `sat[b][v]` = Σ α_j over the set bits of `v`
/// at byte `b` of the satisfied mask, `ans[b][v]` likewise of α_j·R_j.
#[derive(Debug, Clone)]
struct Lin {
    sat: Vec<[f64; 256]>,
    ans: Vec<[f64; 256]>,
}

/// Byte `b` of a mask (item `8b .. 8b + 8`).
#[inline]
fn mask_byte(mask: &[u64], b: usize) -> usize {
    ((mask[b / 8] >> ((b % 8) * 8)) & 0xff) as usize
}

/// Per byte of a mask, the sum over its set bits of `coef`, into `out`:
/// `t[v]` = `t[v without its lowest bit] + coef[lowest bit]`.
fn byte_sums(coef: &[f64], out: &mut [[f64; 256]]) {
    for (c, t) in coef.chunks(8).zip(out) {
        t[0] = 0.0;
        for v in 1..256usize {
            let low = v.trailing_zeros() as usize;
            t[v] = t[v & (v - 1)] + c.get(low).copied().unwrap_or(0.0);
        }
    }
}

impl Lin {
    /// The variable of an undefined index: 0 for every row.
    fn zero(n_items: usize) -> Self {
        let nb = n_items.div_ceil(8);
        Lin {
            sat: vec![[0.0; 256]; nb],
            ans: vec![[0.0; 256]; nb],
        }
    }
}

/// The per-instrument constants of the computation: per index, part and
/// element, its test coefficients and constant.
struct Model<'a> {
    j: usize,
    root: (&'a [f64], f64),
    groups: Vec<(&'a [f64], f64)>,
}

impl Model<'_> {
    fn value((c, constant): (&[f64], f64), t: &ItemTotals) -> Option<f64> {
        let mut g = 0.0;
        for ((&c, &x), &y) in c.iter().zip(&t.x).zip(&t.y) {
            if c != 0.0 {
                if x <= 0.0 {
                    return None;
                }
                g += c * (y / x);
            }
        }
        Some(constant + 100.0 * g)
    }

    fn solve(&self, t: &ItemTotals) -> Solved {
        let root = Self::value(self.root, t);
        let groups = self.groups.iter().map(|&c| Self::value(c, t)).collect();
        Solved { root, groups }
    }

    /// The linearized variable of the root index at totals `t`, into `out`
    /// (all zero when the index is undefined: the variable is then 0).
    fn lin(&self, t: &ItemTotals, root: Option<f64>, out: &mut Lin) {
        let (mut alpha, mut alpha_r) = (vec![0.0; self.j], vec![0.0; self.j]);
        if root.is_some() {
            for j in 0..self.j {
                let c = self.root.0[j];
                if c != 0.0 {
                    alpha[j] = 100.0 * c / t.x[j];
                    alpha_r[j] = alpha[j] * (t.y[j] / t.x[j]);
                }
            }
        }
        byte_sums(&alpha, &mut out.sat);
        byte_sums(&alpha_r, &mut out.ans);
    }
}

/// What [`aggregate`] and [`point_estimates`] compute first: the rows of the
/// used channel grouped by unit × period cell, each cell's totals and point
/// estimates.
struct CellPass<'a> {
    model: Model<'a>,
    level: Level,
    /// The overall index's scale: (0, 100) for SIPAS.
    bounds: (f64, f64),
    meta: Vec<&'a Unit>,
    pilot: Vec<bool>,
    arms: crate::arms::Arms,
    cell_rows: CellRows,
    cell_n: Vec<usize>,
    per_channel: Vec<usize>,
    /// Per channel: whether its rows are used.
    used: Vec<bool>,
    /// Cells with rows, in cell order.
    present: Vec<usize>,
    cell_totals: Vec<ItemTotals>,
    cell_solved: Vec<Solved>,
    rows: Rows<'a>,
}

fn cell_pass<'a>(responses: &'a Responses, opts: &'a AggregateOptions) -> Result<CellPass<'a>> {
    let inst = responses.instrument();
    let of = |id: &str| {
        (
            inst.coefficients(id).expect("every group has coefficients"),
            inst.constant(id).expect("every group has a constant"),
        )
    };
    // "Items" below are the instrument's tests: one bit of the masks each.
    let n_items = inst.tests().len();
    let model = Model {
        j: n_items,
        root: of(inst.root()),
        groups: inst.reported_groups().iter().map(|g| of(&g.id)).collect(),
    };
    let units = responses.units();
    let n_periods = responses.periods().len();
    let meta = responses.unit_meta(&opts.units)?;
    let pilot: Vec<bool> = units.iter().map(|c| opts.pilots.contains(c)).collect();

    // Group the used rows by cell (runs or a counting sort: deterministic, O(n)).
    let n_cells = units.len() * n_periods;
    let used = opts.channels.used(responses, &opts.channel)?;
    let (ui, pi, ci) = (
        responses.unit_indices(),
        responses.period_indices(),
        responses.channel_indices(),
    );
    let (runs, per_channel) = cells::scan_runs(
        responses.len(),
        |r| used[ci[r] as usize].then(|| ui[r] as usize * n_periods + pi[r] as usize),
        |r| r,
        |r| ci[r] as usize,
        responses.channels().len(),
    );
    let cell_rows = CellRows::from_runs(&runs, n_cells);
    drop(runs);
    let cell_n: Vec<usize> = (0..n_cells).map(|c| cell_rows.len(c)).collect();
    let present: Vec<usize> = (0..n_cells).filter(|&c| cell_n[c] > 0).collect();
    let arms = crate::arms::of_responses(responses, &meta, &opts.pilots, opts.baseline, |c| {
        cell_n[c] > 0
    });
    let rows = Rows {
        weights: responses.weights(),
        states: responses.states(),
        words: responses.words(),
        n_items,
    };

    // Pass 1: weighted totals per cell.
    let cell_totals: Vec<ItemTotals> = present
        .par_iter()
        .map(|&c| cell_totals(&cell_rows, c, rows))
        .collect();
    let cell_solved: Vec<Solved> = cell_totals.par_iter().map(|t| model.solve(t)).collect();
    Ok(CellPass {
        model,
        level: opts.level,
        bounds: inst.bounds(inst.root()).expect("root scale"),
        meta,
        pilot,
        arms,
        cell_rows,
        cell_n,
        per_channel,
        used,
        present,
        cell_totals,
        cell_solved,
        rows,
    })
}

/// The cell rows of a [`CellPass`]; `var(i)` is the SIPAS variance of the
/// `i`-th present cell (`None`: no SE).
fn cell_estimates(
    responses: &Responses,
    pass: &CellPass<'_>,
    var: &(dyn Fn(usize) -> Option<f64> + Sync),
) -> Vec<CellEstimate> {
    let n_periods = responses.periods().len();
    let n_items = pass.rows.n_items;
    let level = pass.level;
    pass.present
        .par_iter()
        .enumerate()
        .zip(&pass.cell_totals)
        .zip(&pass.cell_solved)
        .map(|(((i, &c), t), s)| {
            let u = c / n_periods;
            let unit = pass.meta[u];
            let items = (0..n_items)
                .map(|j| {
                    if t.nv[j] == 0 || t.x[j] <= 0.0 {
                        return ItemShare::default();
                    }
                    let p = t.y[j] / t.x[j];
                    let ci = wilson(p, t.nv[j], level);
                    ItemShare {
                        n_valid: t.nv[j],
                        share: Some(100.0 * p),
                        lo: ci.map(|c| c.0),
                        hi: ci.map(|c| c.1),
                    }
                })
                .collect();
            CellEstimate {
                unit_code: unit.code.clone(),
                unit_name: unit.full_name(),
                district: unit.district_name.clone(),
                kind: unit.kind.as_str().to_string(),
                pilot: pass.pilot[u],
                period: responses.periods()[c % n_periods],
                n: t.n,
                sipas: Estimate::new_in(s.root, var(i), level, pass.bounds),
                groups: s.groups.clone(),
                items,
            }
        })
        .collect()
}

/// The cells of [`aggregate`] without the linearized variance pass: item
/// shares with their Wilson intervals, groups and SIPAS values, SIPAS with
/// no SE or interval. For previews and for timing against engines that
/// compute point estimates only.
pub fn point_estimates(
    responses: &Responses,
    opts: &AggregateOptions,
) -> Result<Vec<CellEstimate>> {
    let pass = cell_pass(responses, opts)?;
    Ok(cell_estimates(responses, &pass, &|_| None))
}

/// Computes every index of the response table (see the crate docs for the
/// estimator). Pure computation; deterministic to the bit.
pub fn aggregate(responses: &Responses, opts: &AggregateOptions) -> Result<Indices> {
    indices(responses, opts, true)
}

/// The tables of [`aggregate`] without the variance pass (every SE `None`,
/// the DiD's 0): the counts and point estimates that
/// [`aggregate_with_design`](super::aggregate_with_design) completes with
/// the declared design's SEs, so that no SE is computed twice.
pub(super) fn point_indices(responses: &Responses, opts: &AggregateOptions) -> Result<Indices> {
    indices(responses, opts, false)
}

/// [`aggregate`], with or without its variance pass.
fn indices(responses: &Responses, opts: &AggregateOptions, with_ses: bool) -> Result<Indices> {
    let inst = responses.instrument();
    let n_items = inst.tests().len();
    let reported = inst.reported_groups();
    let pass = cell_pass(responses, opts)?;
    let CellPass {
        model,
        arms,
        cell_n,
        present,
        cell_totals,
        ..
    } = &pass;
    let units = responses.units();
    let periods = responses.periods();
    let (n_units, n_periods) = (units.len(), periods.len());
    let start = opts.pilots.start;
    let post: Vec<bool> = periods.iter().map(|&p| is_post(p, start)).collect();

    // Domain totals: sums of cell totals in cell order. Arm slot 0 is the
    // baseline, 1 the pilot, 2 the units left out of the comparison
    // (`crate::arms`; their totals are never reported).
    let arm_of = |c: usize| match arms.of(c / n_periods) {
        Some(Arm::Baseline) => 0,
        Some(Arm::Pilot) => 1,
        None => 2,
    };
    let period_of = |c: usize| c % n_periods;
    let gp_of = |c: usize| arm_of(c) * n_periods + period_of(c);
    let quad_of = |c: usize| arm_of(c) * 2 + usize::from(post[period_of(c)]);
    let mut gp_totals = vec![ItemTotals::zero(n_items); 3 * n_periods];
    let mut quad_totals = vec![ItemTotals::zero(n_items); 6];
    for (&c, t) in present.iter().zip(cell_totals) {
        gp_totals[gp_of(c)].add(t);
        quad_totals[quad_of(c)].add(t);
    }
    let gp_solved: Vec<Solved> = gp_totals.iter().map(|t| model.solve(t)).collect();
    let quad_solved: Vec<Solved> = quad_totals.iter().map(|t| model.solve(t)).collect();
    let contrib: Vec<[f64; 3]> = if with_ses {
        // Linearization tables of the pooled domains (few); a cell's own
        // table is built when its rows are visited.
        let lin_of = |totals: &[ItemTotals], solved: &[Solved]| -> Vec<Lin> {
            totals
                .iter()
                .zip(solved)
                .map(|(t, s)| {
                    let mut l = Lin::zero(n_items);
                    model.lin(t, s.root, &mut l);
                    l
                })
                .collect()
        };
        variance_pass(
            &pass,
            &lin_of(&gp_totals, &gp_solved),
            &lin_of(&quad_totals, &quad_solved),
            &|c| (gp_of(c), quad_of(c)),
        )
    } else {
        vec![[0.0; 3]; present.len()]
    };
    let mut gp_var = vec![0.0; 3 * n_periods];
    let mut quad_var = [0.0; 6];
    for (&c, v) in present.iter().zip(&contrib) {
        gp_var[gp_of(c)] += v[1];
        quad_var[quad_of(c)] += v[2];
    }

    // Cells.
    let cells = cell_estimates(responses, &pass, &|i| {
        (with_ses && pass.cell_totals[i].n > 1).then_some(contrib[i][0])
    });

    // Pooled pilot / baseline per period.
    let mut groups = Vec::new();
    for (p, &period) in periods.iter().enumerate() {
        for arm in [Arm::Baseline, Arm::Pilot] {
            let d = usize::from(arm == Arm::Pilot) * n_periods + p;
            if gp_totals[d].n == 0 {
                continue;
            }
            groups.push(GroupEstimate {
                period,
                group: arm,
                n: gp_totals[d].n,
                sipas: Estimate::new_in(
                    gp_solved[d].root,
                    with_ses.then_some(gp_var[d]),
                    opts.level,
                    pass.bounds,
                ),
                groups: gp_solved[d].groups.clone(),
            });
        }
    }

    let used_periods: Vec<usize> = (0..n_periods)
        .filter(|&p| (0..n_units).any(|u| cell_n[u * n_periods + p] > 0))
        .collect();
    let did = pooled_did(
        Quadrants {
            totals: &quad_totals,
            solved: &quad_solved,
            var: &quad_var,
            bounds: pass.bounds,
        },
        &used_periods,
        &post,
        start,
        opts.level,
    );
    let (did, did_unavailable) = match did {
        Ok(d) => (Some(d), None),
        Err(m) => (None, Some(format!("pilot start {start}: {m}"))),
    };

    let report = report_of(
        responses,
        opts,
        &pass,
        &cells,
        groups.len(),
        (&used_periods, &post),
        did_unavailable,
    );

    Ok(Indices {
        instrument_id: inst.id.clone(),
        root_bounds: pass.bounds,
        item_ids: inst.test_ids().into_iter().map(String::from).collect(),
        group_ids: reported.iter().map(|g| g.id.clone()).collect(),
        cells,
        groups,
        did,
        report,
    })
}

/// Pass 2: per cell (the default design's stratum, every response its own
/// PSU), the stratum's contribution ([`cells::stratum_cov`]) to the variance
/// of SIPAS in the three domains it belongs to: itself, its arm × period
/// (`gp_lin[pooled(c).0]`) and its DiD quadrant (`quad_lin[pooled(c).1]`).
/// Each row's linearized variable is read from the byte tables of [`Lin`]:
/// 30 lookups a row for 33 items.
fn variance_pass(
    pass: &CellPass<'_>,
    gp_lin: &[Lin],
    quad_lin: &[Lin],
    pooled: &(dyn Fn(usize) -> (usize, usize) + Sync),
) -> Vec<[f64; 3]> {
    let Rows {
        weights,
        states,
        words,
        n_items,
    } = pass.rows;
    let stride = 2 * words;
    pass.present
        .par_iter()
        .zip(&pass.cell_totals)
        .zip(&pass.cell_solved)
        .map_init(
            || Lin::zero(n_items),
            |own, ((&c, t), solved)| {
                pass.model.lin(t, solved.root, own);
                let (g, q) = pooled(c);
                let (l0, l1, l2) = (&*own, &gp_lin[g], &quad_lin[q]);
                let (mut sz, mut szz) = ([0.0; 3], [0.0; 3]);
                pass.cell_rows.for_each(c, |r| {
                    let (a, s) = states[r * stride..(r + 1) * stride].split_at(words);
                    let mut acc = [0.0; 3];
                    for b in 0..l0.sat.len() {
                        let (va, vs) = (mask_byte(a, b), mask_byte(s, b));
                        acc[0] += l0.sat[b][vs] - l0.ans[b][va];
                        acc[1] += l1.sat[b][vs] - l1.ans[b][va];
                        acc[2] += l2.sat[b][vs] - l2.ans[b][va];
                    }
                    let w = weights[r];
                    for d in 0..3 {
                        let z = w * acc[d];
                        sz[d] += z;
                        szz[d] += z * z;
                    }
                });
                let n = pass.cell_n[c];
                if n < 2 {
                    return [0.0; 3];
                }
                [0, 1, 2].map(|d| cells::stratum_cov(n, 1.0, szz[d], sz[d], sz[d]))
            },
        )
        .collect()
}

/// The pooled quadrants (pilot / baseline × before / from the start) of
/// [`aggregate`]: totals, solved indices and variances, in slots
/// `arm × 2 + post` (arm 0 baseline, 1 pilot).
#[derive(Clone, Copy)]
struct Quadrants<'a> {
    totals: &'a [ItemTotals],
    solved: &'a [Solved],
    var: &'a [f64],
    /// The overall index's scale: its intervals are clipped to it.
    bounds: (f64, f64),
}

/// The 2×2 difference-in-differences of the pooled quadrants, or why there
/// is none.
fn pooled_did(
    q: Quadrants<'_>,
    used_periods: &[usize],
    post: &[bool],
    start: Period,
    level: Level,
) -> std::result::Result<DidEstimate, String> {
    // Difference-in-differences: only when the data has periods on both
    // sides of the start and every quadrant is estimable; otherwise the
    // tables are still produced and the reason is reported.
    let quad = |arm: Arm, is_post: bool| -> std::result::Result<Estimate, String> {
        let d = usize::from(arm == Arm::Pilot) * 2 + usize::from(is_post);
        let when = if is_post { "from" } else { "before" };
        if q.totals[d].n == 0 {
            return Err(format!("no {} rows {when} the start", arm.as_str()));
        }
        let e = Estimate::new_in(q.solved[d].root, Some(q.var[d]), level, q.bounds);
        if e.value.is_none() {
            return Err(format!(
                "the {} index {when} the start is undefined (an item has no answer)",
                arm.as_str()
            ));
        }
        Ok(e)
    };
    (|| -> std::result::Result<DidEstimate, String> {
        if !used_periods.iter().any(|&p| !post[p]) {
            return Err("no period before the start".into());
        }
        if !used_periods.iter().any(|&p| post[p]) {
            return Err("no period from the start".into());
        }
        let (pp, pq, bp, bq) = (
            quad(Arm::Pilot, false)?,
            quad(Arm::Pilot, true)?,
            quad(Arm::Baseline, false)?,
            quad(Arm::Baseline, true)?,
        );
        let val = |e: &Estimate| e.value.expect("checked by quad");
        let estimate = (val(&pq) - val(&pp)) - (val(&bq) - val(&bp));
        let se = q.var[..4].iter().sum::<f64>().max(0.0).sqrt();
        Ok(DidEstimate {
            pilot_start: start,
            estimate,
            se,
            lo: estimate - level.normal_multiplier() * se,
            hi: estimate + level.normal_multiplier() * se,
            pilot_pre: pp,
            pilot_post: pq,
            baseline_pre: bp,
            baseline_post: bq,
        })
    })()
}

/// The reconciliation report of [`aggregate`]: rows read, used and excluded
/// by channel, cells, periods and the units left out of the comparison.
fn report_of(
    responses: &Responses,
    opts: &AggregateOptions,
    pass: &CellPass<'_>,
    cells: &[CellEstimate],
    group_rows: usize,
    (used_periods, post): (&[usize], &[bool]),
    did_unavailable: Option<String>,
) -> AggregateReport {
    let inst = responses.instrument();
    let CellPass {
        arms,
        cell_n,
        per_channel,
        used,
        ..
    } = pass;
    let (n_units, n_periods) = (responses.units().len(), responses.periods().len());
    let rows_used: usize = cell_n.iter().sum();
    let start = opts.pilots.start;
    let periods = responses.periods();
    let label = |p: &usize| periods[*p].to_string();
    AggregateReport {
        source: responses.origin().to_string(),
        instrument: inst.id.clone(),
        headline: crate::indices::Headline::of(inst),
        channel: crate::channels::used_label(responses, used, &opts.channel),
        channels_used: responses
            .channels()
            .iter()
            .zip(per_channel.iter().zip(used))
            .filter(|(_, (_, u))| **u)
            .map(|(c, (&n, _))| (c.clone(), n))
            .collect(),
        rows_read: responses.len(),
        rows_used,
        rows_excluded_channel: responses.len() - rows_used,
        excluded_by_channel: responses
            .channels()
            .iter()
            .zip(per_channel.iter().zip(used))
            .filter(|(_, (_, u))| !**u)
            .map(|(c, (&n, _))| (c.clone(), n))
            .collect(),
        units: (0..n_units)
            .filter(|&u| (0..n_periods).any(|p| cell_n[u * n_periods + p] > 0))
            .count(),
        periods: used_periods.iter().map(label).collect(),
        cells: cells.len(),
        cells_pilot: cells.iter().filter(|c| c.pilot).count(),
        cells_single_response: cells.iter().filter(|c| c.n == 1).count(),
        cells_undefined_sipas: cells.iter().filter(|c| c.sipas.value.is_none()).count(),
        item_rows: cells.len() * inst.tests().len(),
        group_rows,
        pilot_start: start.to_string(),
        did_pre_periods: used_periods
            .iter()
            .filter(|&&p| !post[p])
            .map(label)
            .collect(),
        did_post_periods: used_periods
            .iter()
            .filter(|&&p| post[p])
            .map(label)
            .collect(),
        did_unavailable,
        design: String::new(),
        left_out: arms.left_out().to_vec(),
        level: opts.level,
    }
}

#[cfg(test)]
mod tests;
