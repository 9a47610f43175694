//! Every headline index of an instrument evaluated the same way (`indices.csv`).
//!
//! An instrument names its headline indices ([`sipas_core::Instrument::indices`]: SIPAS,
//! the PAPI-style dimensions, the commune PAR total). Each gets what SIPAS gets: its cells and
//! pooled groups (the headline's design estimates of it, re-rooted: [`rerooted`]), its
//! design-based 2×2 DiD under the run's design (computed with it as the root of the response
//! table: [`index_aggregate`]), and [`crate::evaluate`] on its unit × period panel (TWFE, event
//! study). The PAR total is its survey part made headline, plus the appraised points
//! ([`crate::par::with_criteria`]).

use std::fmt::Write as _;

use sipas_core::par::ParDefinition;
use sipas_core::results::{self, num};

use crate::indices::{DidEstimate, Indices};
use crate::panel::{DidRow, Evaluation, EvaluationOptions, evaluate, select_panel};
use crate::par::{CellWeights, Criteria, with_criteria};
use crate::{AggregateOptions, DesignSpec, Responses, Result};

/// One headline index's evaluation: a row of `indices.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEvaluation {
    /// The index id (`sipas`, `papi_participation`, `par_total`).
    pub id: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Its scale (lowest, highest).
    pub bounds: (f64, f64),
    /// The design-based 2×2 DiD (`None` when the data cannot give it).
    pub did: Option<DidEstimate>,
    /// The TWFE DiD on its panel (`None` when the panel cannot give it).
    pub twfe: Option<DidRow>,
    /// p-value of the event study's joint pre-trend test.
    pub pretrend_p: Option<f64>,
    /// What its intervals carry.
    pub uncertainty: &'static str,
}

/// The row of one headline index: its DiD from its aggregate, its TWFE and pre-trend test
/// from its panel's evaluation (`None`: the fields stay empty).
pub fn index_row(
    indices: &Indices,
    (id, name_vi, name_en): (&str, &str, &str),
    ev: Option<&Evaluation>,
    uncertainty: &'static str,
) -> IndexEvaluation {
    IndexEvaluation {
        id: id.to_string(),
        name_vi: name_vi.to_string(),
        name_en: name_en.to_string(),
        bounds: indices.root_bounds,
        did: indices.did.clone(),
        twfe: ev.map(|e| e.overall.clone()),
        pretrend_p: ev.and_then(|e| e.event_study.pretrend.as_ref().map(|t| t.p)),
        uncertainty,
    }
}

/// The panel evaluation of an aggregate's headline index (`None`, with the reason pushed to
/// `why`, when the panel cannot be evaluated). It needs the cells only, not the 2×2 DiD (which
/// an engine returning only the tables, Spark, does not have).
fn evaluate_panel(
    indices: &Indices,
    id: &str,
    opts: &AggregateOptions,
    ev_opts: &EvaluationOptions,
    why: &mut Vec<String>,
) -> Option<Evaluation> {
    let (panel, _) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
    match evaluate(&panel, opts.pilots.start, ev_opts) {
        Ok(ev) => Some(ev),
        Err(e) => {
            why.push(format!("{id}: no TWFE estimate ({e})"));
            None
        }
    }
}

/// What [`evaluate_indices`] needs for the PAR total.
pub struct ParInputs<'a> {
    /// The instrument's `[par]`.
    pub def: &'a ParDefinition,
    /// The appraised criteria, validated.
    pub criteria: &'a Criteria,
    /// Σ of survey weights per cell ([`crate::par::cell_weights`]).
    pub weights: &'a CellWeights,
}

/// Every headline index but the run's own headline (already evaluated by the caller), each
/// aggregated by `aggregate` (its group id → its [`Indices`] as the headline: the local engine
/// re-roots its tables and computes the index's own design DiD, [`index_aggregate`]; the Spark
/// engine re-roots the tables Spark returned, [`rerooted`]), with the PAR total's aggregate when
/// the instrument has one. The PAR total, the panel evaluation and the row are the same code
/// for every engine.
///
/// # Errors
/// An aggregation error.
pub fn evaluate_indices(
    inst: &sipas_core::Instrument,
    aggregate: &mut dyn FnMut(&str) -> Result<Indices>,
    opts: &AggregateOptions,
    ev_opts: &EvaluationOptions,
    par: Option<&ParInputs<'_>>,
    why: &mut Vec<String>,
) -> Result<(Vec<IndexEvaluation>, Option<Indices>)> {
    let headline = inst.root().to_string();
    let mut rows = Vec::new();
    let mut par_total = None;
    for id in inst.indices() {
        if *id == headline {
            continue;
        }
        let par_def = par.filter(|p| p.def.id == *id);
        if par_def.is_none() && inst.par().is_some_and(|p| p.id == *id) {
            why.push(format!(
                "{id}: not estimated (no appraised criteria table); its survey part is in estimates.csv"
            ));
            continue;
        }
        let group_id = par_def.map_or(id.as_str(), |p| p.def.survey_id.as_str());
        let mut indices = aggregate(group_id)?;
        let (name_vi, name_en, uncertainty) = if let Some(p) = par_def {
            indices = with_criteria(indices, p.def, p.criteria, p.weights, opts.pilots.start);
            (
                p.def.name_vi.clone(),
                p.def.name_en.clone(),
                "survey part only",
            )
        } else {
            let g = inst.group(id).expect("indices are groups or the PAR total");
            (g.name_vi.clone(), g.name_en.clone(), "survey")
        };
        if indices.did.is_none() {
            let reason = indices
                .report
                .did_unavailable
                .as_deref()
                .unwrap_or("no DiD");
            why.push(format!("{id}: no difference-in-differences ({reason})"));
        }
        let ev = evaluate_panel(&indices, id, opts, ev_opts, why);
        rows.push(index_row(
            &indices,
            (id, &name_vi, &name_en),
            ev.as_ref(),
            uncertainty,
        ));
        if par_def.is_some() {
            par_total = Some(indices);
        }
    }
    Ok((rows, par_total))
}

/// The aggregate of reported group `id` as the headline, from the headline's aggregate
/// `headline` (its cells' and pooled groups' values of `id`) and the design estimates `est`
/// (their SEs, the unit and group rows of `id`, normal intervals): what an engine that returns
/// only these tables (Spark) has of each index. No 2×2 DiD (its quadrant covariance is not
/// among them); `bounds` is the index's scale.
pub fn rerooted(
    headline: &Indices,
    est: &crate::DomainEstimates,
    id: &str,
    bounds: (f64, f64),
) -> Option<Indices> {
    use crate::design::{CiMethod, DomainType};
    let k = headline.group_ids.iter().position(|g| g == id)?;
    let index = crate::design::RowIndex::new(&est.rows);
    let level = headline.report.level;
    let estimate = |value: Option<f64>, (t, d, p): (DomainType, &str, sipas_core::Period)| {
        let se = index.get(t, d, p, id, CiMethod::Normal).and_then(|r| r.se);
        crate::Estimate::with_se_in(value, value.and(se), level, bounds)
    };
    let mut out = headline.clone();
    out.root_bounds = bounds;
    out.did = None;
    // As the headline's (crate::apply_design): no SE for a domain of one response.
    for c in &mut out.cells {
        let e = estimate(c.groups[k], (DomainType::Unit, &c.unit_code, c.period));
        c.sipas = crate::Estimate::with_se_in(e.value, e.se.filter(|_| c.n > 1), level, bounds);
    }
    for g in &mut out.groups {
        let e = estimate(g.groups[k], (DomainType::Group, g.group.as_str(), g.period));
        g.sipas = crate::Estimate::with_se_in(e.value, e.se.filter(|_| g.n > 1), level, bounds);
    }
    Some(out)
}

/// The aggregate of reported group `id` made the headline, for the local engine: its cells and
/// pooled groups re-rooted from the headline's aggregate `headline` and design estimates `est`
/// ([`rerooted`]: the numbers `estimates.csv` shows for `id`, computed once), and its 2×2 DiD
/// under the design ([`crate::design::design_did`] with `id` as the root of `responses`,
/// restored after). The same numbers as [`crate::aggregate_with_design`] with `id` as the
/// headline, without estimating every domain of every indicator again.
///
/// # Errors
/// `id` is not a reported group; an error of the design.
pub fn index_aggregate(
    responses: &mut Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
    (headline, est): (&Indices, &crate::DomainEstimates),
    id: &str,
) -> Result<Indices> {
    let not_group = || crate::Error::Data {
        origin: format!("instrument {}", responses.instrument().id),
        message: format!("{id} is not a reported group"),
    };
    let bounds = responses.instrument().bounds(id).ok_or_else(not_group)?;
    let mut out = rerooted(headline, est, id, bounds).ok_or_else(not_group)?;
    let Some(hd) = &headline.did else {
        return Ok(out);
    };
    let root = responses.instrument().root().to_string();
    responses.set_root(id)?;
    let dd = crate::design::design_did(responses, opts, spec);
    responses.set_root(&root)?;
    match dd? {
        Some(dd) => {
            out.did = Some(crate::design::did_estimate(
                &dd,
                hd.pilot_start,
                headline.report.level,
                bounds,
            ));
        }
        None => {
            out.report.did_unavailable =
                Some("the 2×2 DiD is not estimable under the design".to_string());
        }
    }
    Ok(out)
}

/// `indices.csv`: one row per headline index, in the instrument's order.
pub fn indices_csv(rows: &[IndexEvaluation]) -> String {
    let mut s = results::INDICES.header::<&str>(&[]);
    for r in rows {
        let d = r.did.as_ref();
        let t = r.twfe.as_ref();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            results::field(&r.id),
            results::field(&r.name_vi),
            results::field(&r.name_en),
            num(Some(r.bounds.0)),
            num(Some(r.bounds.1)),
            d.map_or_else(String::new, |d| d.pilot_start.to_string()),
            num(d.map(|d| d.estimate)),
            num(d.map(|d| d.se)),
            num(d.map(|d| d.lo)),
            num(d.map(|d| d.hi)),
            num(d.and_then(|d| d.pilot_pre.value)),
            num(d.and_then(|d| d.pilot_post.value)),
            num(d.and_then(|d| d.baseline_pre.value)),
            num(d.and_then(|d| d.baseline_post.value)),
            num(t.map(|t| t.estimate)),
            num(t.map(|t| t.se_cr1)),
            num(t.map(|t| t.lo_cr1)),
            num(t.map(|t| t.hi_cr1)),
            num(t.and_then(|t| t.wild.as_ref().map(|w| w.p))),
            num(r.pretrend_p),
            r.uncertainty
        );
    }
    s
}

/// The paragraphs of `methods.txt` on the headline indices and the commune PAR index.
pub fn methods_text(rows: &[IndexEvaluation], par: Option<(&ParDefinition, &Criteria)>) -> String {
    let mut s = String::from(
        "\n\nHeadline indices (indices.csv). Each index the instrument names goes through the path \
         of the run's headline: its unit × period cells, pilot and baseline groups and 2×2 DiD \
         under the run's survey design (a dimension is a linear function of the item shares, \
         each a ratio of totals, so its SE is linearised like SIPAS), then the TWFE DiD and \
         event study on its unit × period panel. Its per-unit, per-group and per-period \
         estimates are the rows of estimates.csv with its id as the indicator. Indices: ",
    );
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{} ({}, {}–{})", r.id, r.name_en, r.bounds.0, r.bounds.1))
        .collect();
    s.push_str(&names.join("; "));
    s.push('.');
    if let Some((def, c)) = par {
        let _ = write!(
            s,
            "\n\nCommune PAR index ({id}, 0–{max}). {id} = the appraised criteria points of \
             the unit in the period ({n} criteria, at most {cmax} points) + {sid} (at most {smax} \
             points: {parts}). {sid} is estimated like any index, with its design-based SE; the \
             appraised points are fixed numbers, not a sample, so the SE and interval of {id} \
             carry the survey part's uncertainty only. A pooled group (pilot or baseline units \
             in a period, a DiD quadrant) adds its cells' appraised points averaged with the \
             survey weights of their responses. A unit × period without a complete set of \
             criteria has no total. Ranking (par_ranking.csv): rank 1 is the highest total; \
             the rank interval holds the central draws of the unit's rank over normal draws of \
             every unit's total (its estimate, its SE). Criteria table {origin}: {read} rows = \
             {used} used + {q} quarantined (par_quarantine.csv{reasons}).",
            id = def.id,
            max = def.bounds().1,
            n = def.criteria.len(),
            cmax = def.criteria_max(),
            sid = def.survey_id,
            smax = def.survey_max(),
            parts = def
                .survey
                .iter()
                .map(|p| format!("{} mapped from its scale onto 0–{}", p.index, p.points))
                .collect::<Vec<_>>()
                .join(", "),
            origin = c.origin,
            read = c.rows_read,
            used = c.rows_used(),
            q = c.quarantine.len(),
            reasons = if c.quarantine.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    c.counts()
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        let merged = c.merged();
        if let Some(((u, p), codes)) = merged.iter().next() {
            let _ = write!(
                s,
                " Rows may name a commune by the code the responses carried in the period (an \
                 old commune before the reorganisation); {n} of today's unit × periods average \
                 the points of several such communes, criterion by criterion, with the survey \
                 weights of their responses in the period (e.g. {u} {p}: {codes}); a criterion \
                 that one of them lacks leaves the unit × period incomplete.",
                n = merged.len(),
                codes = codes.join(", "),
            );
        }
        let part = c.partial_coverage();
        if !part.is_empty() {
            let _ = write!(
                s,
                " Unit × periods where a commune the responses name has no row (its points are \
                 the appraised communes', which hold this share of the survey weight): {}.",
                part.iter()
                    .map(|(u, p, share)| format!("{u} {p} ({:.1}%)", 100.0 * share))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let inc = c.incomplete();
        if !inc.is_empty() {
            let _ = write!(
                s,
                " Unit × periods with incomplete criteria (no total): {}.",
                inc.iter()
                    .map(|(u, p, n)| format!("{u} {p} ({n} of {})", def.criteria.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    s
}
