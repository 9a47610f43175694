//! One variance path: the SEs and intervals of every table come from the
//! design engine ([`estimate_domains`](super::estimate_domains)).
//!
//! [`aggregate_with_design`] resolves the design once, estimates every domain
//! under it, and writes its SEs and intervals into the [`Indices`] that
//! `unit_period.csv`, `groups.csv`, `items.csv`, `did.csv` and the report's
//! charts are made from, so that they are the numbers of `estimates.csv`.

use rayon::prelude::*;
use sipas_core::Period;

use super::default::point_indices;

use super::RowIndex;
use super::output::{CiMethod, DomainEstimates, DomainType};
use super::spec::{DesignSpec, Strata, VarianceMethod};
use crate::Result;
use crate::indices::{Estimate, Indices};
use crate::options::AggregateOptions;
use crate::responses::Responses;

/// The result tables' numbers under the design `spec`: the cells, groups and
/// DiD of [`aggregate`](super::aggregate) (counts, the reconciliation
/// report), without its own variance pass, with every value, SE and
/// interval taken from [`estimate_domains`](super::estimate_domains):
///
/// - `unit_period.csv` `sipas_se`, `sipas_lo`, `sipas_hi`: the unit × period
///   domain's SE and normal interval (a cell with one response keeps no SE);
/// - `groups.csv`: the pilot / baseline domain of the period;
/// - `items.csv` `lo`, `hi`: the Wilson interval at the design's effective
///   number of answers (`n / deff`; the `wilson` rows of `estimates.csv`);
/// - `did.csv`: the contrast of the four quadrant domains with their full
///   covariance under the design ([`DesignDid`](super::DesignDid)).
///
/// Under the default design (strata = unit × period, no clusters,
/// linearization) the SEs equal those `aggregate` computes with its
/// SIPAS-only kernel (to rounding; a test holds them to 1e-12).
pub fn aggregate_with_design(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
) -> Result<(Indices, DomainEstimates)> {
    // The two read the responses only; side by side, each fills the other's serial steps.
    let (indices, est) = rayon::join(
        || point_indices(responses, opts),
        || super::estimate_domains(responses, opts, spec),
    );
    let (mut indices, est) = (indices?, est?);
    apply_design(&mut indices, &est);
    Ok((indices, est))
}

/// Interval of the overall index at the estimates' level, on its scale
/// (see [`Estimate::with_se_in`]).
fn estimate(
    value: Option<f64>,
    se: Option<f64>,
    level: sipas_core::Level,
    bounds: (f64, f64),
) -> Estimate {
    Estimate::with_se_in(value, value.and(se), level, bounds)
}

/// Replaces the SEs and intervals of `indices` by those of the design
/// estimates `est` (see [`aggregate_with_design`]).
pub fn apply_design(indices: &mut Indices, est: &DomainEstimates) {
    let bounds = indices.root_bounds;
    let index = RowIndex::new(&est.rows);
    let root = est.rows.first().map(|r| r.indicator).unwrap_or_default();
    let get =
        |t: DomainType, d: &str, p: Period, ind: &str, m: CiMethod| index.get(t, d, p, ind, m);
    // Values too come from the design engine (equal to `aggregate`'s to
    // rounding), so that a number shown twice is computed once.
    let (group_ids, item_ids) = (&indices.group_ids, &indices.item_ids);
    // Each cell's domain is looked up once, the cells in parallel (10,000 units: 120,000
    // cells of some 50 numbers each).
    indices.cells.par_iter_mut().for_each(|c| {
        let Some(dom) = index.domain(DomainType::Unit, &c.unit_code, c.period) else {
            return;
        };
        if let Some(row) = dom.get(&root, CiMethod::Normal) {
            let se = row.se.filter(|_| c.n > 1);
            c.sipas = estimate(row.value, se, est.level, bounds);
        }
        for (g, v) in group_ids.iter().zip(&mut c.groups) {
            if let Some(row) = dom.get(g, CiMethod::Normal) {
                *v = row.value;
            }
        }
        for (item, share) in item_ids.iter().zip(&mut c.items) {
            if let Some(w) = dom.get(item, CiMethod::Wilson) {
                share.share = w.value;
                share.lo = w.lo;
                share.hi = w.hi;
            }
        }
    });
    for g in &mut indices.groups {
        let (d, p) = (g.group.as_str(), g.period);
        if let Some(row) = get(DomainType::Group, d, p, &root, CiMethod::Normal) {
            let se = row.se.filter(|_| g.n > 1);
            g.sipas = estimate(row.value, se, est.level, bounds);
        }
        for (id, v) in group_ids.iter().zip(&mut g.groups) {
            if let Some(row) = get(DomainType::Group, d, p, id, CiMethod::Normal) {
                *v = row.value;
            }
        }
    }
    if indices.did.is_some() && est.did.is_none() {
        // Both need every quadrant estimable; kept in step so that no DiD
        // is shown without the design's SE.
        indices.did = None;
        indices.report.did_unavailable =
            Some("the 2×2 DiD is not estimable under the design".to_string());
    }
    if let (Some(d), Some(dd)) = (&mut indices.did, &est.did) {
        *d = did_estimate(dd, d.pilot_start, est.level, bounds);
    }
    indices.report.design = format!("{} {}", describe(&est.design), describe_level(est.level));
    indices.report.level = est.level;
}

/// The 2×2 DiD of the tables (`did.csv`, `indices.csv`) from the design's: the contrast with
/// its normal interval and each quadrant's index with its interval on the scale `bounds`.
pub fn did_estimate(
    dd: &super::DesignDid,
    pilot_start: Period,
    level: sipas_core::Level,
    bounds: (f64, f64),
) -> crate::indices::DidEstimate {
    let m = level.normal_multiplier();
    let q = |k: usize| estimate(Some(dd.values[k]), Some(dd.quadrant_se(k)), level, bounds);
    crate::indices::DidEstimate {
        pilot_start,
        estimate: dd.estimate,
        se: dd.se,
        lo: dd.estimate - m * dd.se,
        hi: dd.estimate + m * dd.se,
        pilot_pre: q(0),
        pilot_post: q(1),
        baseline_pre: q(2),
        baseline_post: q(3),
    }
}

/// The confidence level of every interval, in a statistician's words, in
/// English and Vietnamese (for `methods.txt` and the run's log).
pub fn describe_level(level: sipas_core::Level) -> String {
    format!(
        "Confidence level: every interval is at the {level} level (α = {alpha}): \
         composite indices, differences and 2×2 DiDs are estimate ± {m} SE, items use the \
         Wilson (z = {z:.4}) and logit (Student t on the design df) intervals, regression \
         coefficients Student t with G − 1 df. \
         Mức tin cậy: mọi khoảng tin cậy ở mức {level}.",
        alpha = level.alpha_percent(),
        m = level.multiplier_label(),
        z = level.z(),
    )
}

/// The design and variance method in a statistician's words (for
/// `aggregate-report.json`, `methods.txt` and the report).
pub fn describe(spec: &DesignSpec) -> String {
    let strata = match &spec.strata {
        Strata::UnitPeriod => "strata = unit × period".to_string(),
        Strata::Unit => "strata = unit".to_string(),
        Strata::District => "strata = district".to_string(),
        Strata::Kind => "strata = unit kind".to_string(),
        Strata::None => "no strata".to_string(),
        Strata::Column(c) => format!("strata = column `{c}`"),
    };
    let psu = spec.cluster.as_deref().map_or_else(
        || "each response its own PSU".to_string(),
        |c| format!("clusters (PSUs) = column `{c}`, nested in strata"),
    );
    let weights = format!("weights = column `{}`", spec.weights);
    let fpc = spec
        .fpc
        .as_deref()
        .map_or_else(String::new, |f| format!(", fpc = column `{f}`"));
    let mse = if spec.mse {
        "centred at the full-sample estimate (mse)"
    } else {
        "centred at the replicate mean"
    };
    let variance = match spec.variance {
        _ if spec.replicate_weights.is_some() => {
            let rw = spec.replicate_weights.as_ref().expect("matched");
            let kind = serde_json::to_value(rw.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!(
                "replicate weights supplied with the data (columns `{}`, type {kind}{}), {mse}",
                rw.columns,
                if rw.combined_weights {
                    ""
                } else {
                    ", factors of the weights"
                }
            )
        }
        VarianceMethod::Linearization => "Taylor linearization".to_string(),
        VarianceMethod::Jackknife => {
            let kind = if spec.strata == Strata::None {
                "JK1"
            } else {
                "JKn"
            };
            format!("delete-one-PSU jackknife ({kind}), {mse}")
        }
        VarianceMethod::Bootstrap => format!(
            "Rao–Wu rescaling bootstrap, {} replicates, seed {}, {mse}",
            spec.replicates, spec.seed
        ),
    };
    let lonely = serde_json::to_value(spec.lonely_psu)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "Survey design: {strata}; {psu}; {weights}{fpc}; lonely PSUs: {lonely}. \
         Variance: {variance}. Every standard error and interval (unit × period cells, \
         pilot and baseline groups, items, estimates.csv and the 2×2 difference-in-differences, \
         whose four quadrants carry their full covariance) comes from this design."
    )
}
