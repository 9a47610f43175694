//! One variance path: the SEs and intervals of every table come from the
//! design engine ([`estimate_domains`](super::estimate_domains)).
//!
//! [`aggregate_with_design`] resolves the design once, estimates every domain
//! under it, and writes its SEs and intervals into the [`Indices`] that
//! `unit_period.csv`, `groups.csv`, `items.csv`, `did.csv` and the report's
//! charts are made from, so that they are the numbers of `estimates.csv`.

use std::collections::HashMap;

use sipas_core::Period;

use super::output::{CiMethod, DomainEstimates, DomainType};
use super::spec::{DesignSpec, Strata, VarianceMethod};
use crate::Result;
use crate::estimate::{AggregateOptions, Estimate, Indices, Z_INTERVAL, aggregate};
use crate::responses::Responses;

/// Point estimates ([`aggregate`]) with every SE and interval taken from the
/// design `spec` ([`estimate_domains`](super::estimate_domains)):
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
/// linearization) the SEs are those `aggregate` computes itself.
pub fn aggregate_with_design(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
) -> Result<(Indices, DomainEstimates)> {
    let mut indices = aggregate(responses, opts)?;
    let est = super::estimate_domains(responses, opts, spec)?;
    apply_design(&mut indices, &est);
    Ok((indices, est))
}

/// Interval of a composite: value ± 1.96·SE clipped to 0–100.
fn estimate(value: Option<f64>, se: Option<f64>) -> Estimate {
    let se = value.and(se);
    let (lo, hi) = match (value, se) {
        (Some(v), Some(se)) => (
            Some((v - Z_INTERVAL * se).clamp(0.0, 100.0)),
            Some((v + Z_INTERVAL * se).clamp(0.0, 100.0)),
        ),
        _ => (None, None),
    };
    Estimate { value, se, lo, hi }
}

/// Replaces the SEs and intervals of `indices` by those of the design
/// estimates `est` (see [`aggregate_with_design`]).
pub fn apply_design(indices: &mut Indices, est: &DomainEstimates) {
    type Key<'a> = (DomainType, &'a str, Period, &'a str, CiMethod);
    let rows: HashMap<Key<'_>, usize> = est
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            matches!(r.domain_type, DomainType::Unit | DomainType::Group)
                && r.ci_method != CiMethod::Logit
        })
        .map(|(i, r)| {
            (
                (
                    r.domain_type,
                    r.domain.as_str(),
                    r.period,
                    r.indicator.as_str(),
                    r.ci_method,
                ),
                i,
            )
        })
        .collect();
    let root = est
        .rows
        .first()
        .map(|r| r.indicator.clone())
        .unwrap_or_default();
    let get = |t: DomainType, d: &str, p: Period, ind: &str, m: CiMethod| {
        rows.get(&(t, d, p, ind, m)).map(|&i| &est.rows[i])
    };
    for c in &mut indices.cells {
        let row = get(
            DomainType::Unit,
            &c.unit_code,
            c.period,
            &root,
            CiMethod::Normal,
        );
        let se = row.and_then(|r| r.se).filter(|_| c.n > 1);
        c.sipas = estimate(c.sipas.value, se);
        for (item, share) in indices.item_ids.iter().zip(&mut c.items) {
            let w = get(
                DomainType::Unit,
                &c.unit_code,
                c.period,
                item,
                CiMethod::Wilson,
            );
            if share.share.is_some() {
                share.lo = w.and_then(|r| r.lo);
                share.hi = w.and_then(|r| r.hi);
            }
        }
    }
    for g in &mut indices.groups {
        let row = get(
            DomainType::Group,
            g.group.as_str(),
            g.period,
            &root,
            CiMethod::Normal,
        );
        let se = row.and_then(|r| r.se).filter(|_| g.n > 1);
        g.sipas = estimate(g.sipas.value, se);
    }
    if let (Some(d), Some(dd)) = (&mut indices.did, &est.did) {
        d.se = dd.se;
        d.lo = d.estimate - Z_INTERVAL * dd.se;
        d.hi = d.estimate + Z_INTERVAL * dd.se;
        for (q, e) in [
            &mut d.pilot_pre,
            &mut d.pilot_post,
            &mut d.baseline_pre,
            &mut d.baseline_post,
        ]
        .into_iter()
        .enumerate()
        {
            *e = estimate(e.value, Some(dd.quadrant_se(q)));
        }
    }
    indices.report.design = describe(&est.design);
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
