//! A declared design (districts as strata, villages as clusters, weights,
//! small commune domains inside strata) against R `survey` 4.1.1
//! (fixtures/reference/design/reference.R → reference.csv): every SE of
//! every output, linearized and replicated, and the 2×2 DiD.

use std::collections::HashMap;

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::{
    AggregateOptions, DesignSpec, DomainEstimates, Strata, VarianceMethod, estimate_domains,
};

use crate::common::{Key, keyed_rows, num, row_key};

pub(crate) use crate::design_fixture::{dir, responses};

/// R's numbers: (design, domain_type, domain, period, indicator) → (value, se).
pub(crate) fn reference() -> HashMap<Key, (f64, f64)> {
    keyed_rows(&dir().join("reference.csv"))
        .into_iter()
        .map(|(k, f)| (k, (num(&f[5]), num(&f[6]))))
        .collect()
}

pub(crate) fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: sipas {a} vs R {b}"
    );
}

pub(crate) fn options() -> AggregateOptions {
    AggregateOptions::bundled()
}

pub(crate) fn clustered() -> DesignSpec {
    DesignSpec {
        strata: Strata::Column("district_code".into()),
        cluster: Some("village".into()),
        ..DesignSpec::default()
    }
}

/// Designs whose reference has the items of the unit domains too.
const WITH_ITEMS: [&str; 4] = ["clustered", "jkn", "jk1", "supplied_bootstrap"];

/// Rows `check_domains` compares: 48 unit × period SIPAS (and 5 items
/// each for the designs of [`WITH_ITEMS`]) and 8 group SIPAS.
fn expected(design: &str) -> usize {
    if WITH_ITEMS.contains(&design) {
        48 * 6 + 8
    } else {
        48 + 8
    }
}

/// Compares the SIPAS of every unit and group domain, and the items of the
/// unit domains, with R's rows of `design`. Returns the number compared.
fn check_domains(design: &str, est: &DomainEstimates, tol: f64) -> usize {
    let refs = reference();
    let items = WITH_ITEMS.contains(&design);
    let mut compared = 0;
    for row in &est.rows {
        let wanted = match row.domain_type {
            DomainType::Unit => {
                row.indicator == "sipas" || (items && row.indicator.starts_with('q'))
            }
            DomainType::Group => row.indicator == "sipas",
            _ => false,
        };
        if !wanted || row.ci_method == CiMethod::Wilson {
            continue;
        }
        let key = row_key(design, &row);
        let &(value, se) = reference_row(&refs, &key);
        let what = format!("{key:?}");
        close(row.value.unwrap(), value, 1e-9, &format!("{what} value"));
        if se.is_nan() || se < 1e-5 {
            // A domain inside one PSU: R's delta method takes the square
            // root of a variance that is 0 up to rounding (NaN when negative).
            assert!(
                row.se.is_none_or(|s| s < 1e-5),
                "{what}: se {:?}, R {se}",
                row.se
            );
        } else {
            close(row.se.unwrap(), se, tol, &format!("{what} se"));
        }
        compared += 1;
    }
    compared
}

fn reference_row<'a>(refs: &'a HashMap<Key, (f64, f64)>, key: &Key) -> &'a (f64, f64) {
    refs.get(key)
        .unwrap_or_else(|| panic!("no R row for {key:?}"))
}

/// The designs of R's linearized reference rows: the default, clustered in
/// districts, and clustered without strata.
fn linearized_designs() -> Vec<(&'static str, DesignSpec)> {
    vec![
        ("default", DesignSpec::default()),
        ("clustered", clustered()),
        (
            "unstratified",
            DesignSpec {
                strata: Strata::None,
                ..clustered()
            },
        ),
    ]
}

#[test]
fn linearized_domains_match_r_under_a_declared_design() {
    let r = responses(false);
    for (name, spec) in linearized_designs() {
        let est = estimate_domains(&r, &options(), &spec).unwrap();
        // 12 units × 4 periods × 6 + 2 groups × 4 periods.
        assert_eq!(check_domains(name, &est, 1e-6), expected(name), "{name}");
    }
}

#[test]
fn jackknife_equals_r_in_every_small_domain() {
    // Small domains (a commune, 1–4 villages, inside a district stratum of
    // 5–14 villages): R's JKn is 1.13–6.6 × the linearized SE here (median
    // 1.69; the delete-one ratio of a domain with k PSUs moves by about
    // k/(k − 1) times its linearized influence), and sipas equals R in every
    // domain, including 05530 (one village: the replicate deleting it has no
    // estimate and is dropped, as R's svrVar drops NA, leaving SE 0).
    let r = responses(false);
    for (name, strata, mse) in [
        ("jkn", Strata::Column("district_code".into()), false),
        ("jkn_mse", Strata::Column("district_code".into()), true),
        ("jk1", Strata::None, false),
        ("jk1_mse", Strata::None, true),
        ("jkn_rows", Strata::Column("district_code".into()), false),
    ] {
        let spec = DesignSpec {
            strata,
            cluster: (name != "jkn_rows").then(|| "village".to_string()),
            variance: VarianceMethod::Jackknife,
            mse,
            ..clustered()
        };
        let est = estimate_domains(&r, &options(), &spec).unwrap();
        assert_eq!(check_domains(name, &est, 1e-6), expected(name), "{name}");
        let one_village = est
            .get(
                DomainType::Unit,
                "05530",
                "2023Q3".parse().unwrap(),
                "sipas",
                CiMethod::Normal,
            )
            .unwrap();
        if name != "jkn_rows" {
            assert_eq!(one_village.se.map(|s| s < 1e-9), Some(true), "{name}");
        }
    }
}

#[test]
fn the_2x2_did_equals_svycontrast_over_svyby_with_covmat() {
    let r = responses(false);
    let refs = reference();
    let jk = |strata: Strata, mse: bool| DesignSpec {
        strata,
        variance: VarianceMethod::Jackknife,
        mse,
        ..clustered()
    };
    let district = || Strata::Column("district_code".into());
    for (name, spec) in linearized_designs().into_iter().chain([
        ("jkn", jk(district(), false)),
        ("jkn_mse", jk(district(), true)),
        ("jk1", jk(Strata::None, false)),
        ("jk1_mse", jk(Strata::None, true)),
    ]) {
        let est = estimate_domains(&r, &options(), &spec).unwrap();
        let did = est
            .did
            .as_ref()
            .expect("the fixture has all four quadrants");
        let key = |d: &str| {
            (
                name.to_string(),
                "did".to_string(),
                d.to_string(),
                String::new(),
                "sipas".to_string(),
            )
        };
        for (q, quadrant) in sipas_aggregate::design::QUADRANTS.iter().enumerate() {
            let &(value, se) = reference_row(&refs, &key(quadrant));
            close(
                did.values[q],
                value,
                1e-9,
                &format!("{name} {quadrant} value"),
            );
            close(
                did.quadrant_se(q),
                se,
                1e-6,
                &format!("{name} {quadrant} se"),
            );
        }
        let &(value, se) = reference_row(&refs, &key("contrast"));
        close(did.estimate, value, 1e-9, &format!("{name} contrast"));
        close(did.se, se, 1e-6, &format!("{name} contrast se"));
    }
}

#[test]
fn every_table_takes_its_ses_from_the_declared_design() {
    use sipas_aggregate::{aggregate, aggregate_with_design, write_results};
    let r = responses(false);
    let refs = reference();
    let (ix, est) = aggregate_with_design(&r, &options(), &clustered()).unwrap();
    // unit_period: R's clustered SE of every cell, not the default design's.
    let mut wider = 0;
    let plain = aggregate(&r, &options()).unwrap();
    for (c, p) in ix.cells.iter().zip(&plain.cells) {
        let key = (
            "clustered".to_string(),
            "unit".to_string(),
            c.unit_code.clone(),
            c.period.to_string(),
            "sipas".to_string(),
        );
        let &(value, se) = reference_row(&refs, &key);
        close(c.sipas.value.unwrap(), value, 1e-9, &format!("{key:?}"));
        if se > 1e-5 {
            close(c.sipas.se.unwrap(), se, 1e-6, &format!("{key:?} se"));
            let lo = (value - 1.96 * se).clamp(0.0, 100.0);
            close(c.sipas.lo.unwrap(), lo, 1e-6, &format!("{key:?} lo"));
        }
        if let (Some(a), Some(b)) = (c.sipas.se, p.sipas.se) {
            wider += usize::from((a / b - 1.0).abs() > 0.01);
        }
        // items.csv: the design's Wilson interval, as in estimates.csv.
        for (item, share) in ix.item_ids.iter().zip(&c.items) {
            let w = est
                .get(
                    DomainType::Unit,
                    &c.unit_code,
                    c.period,
                    item,
                    CiMethod::Wilson,
                )
                .unwrap();
            assert_eq!((share.lo, share.hi), (w.lo, w.hi), "{key:?} {item}");
        }
    }
    assert!(
        wider >= 40,
        "the design changes the cells' SEs: {wider} of 48"
    );
    for g in &ix.groups {
        let key = (
            "clustered".to_string(),
            "group".to_string(),
            g.group.as_str().to_string(),
            g.period.to_string(),
            "sipas".to_string(),
        );
        close(
            g.sipas.se.unwrap(),
            reference_row(&refs, &key).1,
            1e-6,
            &format!("{key:?}"),
        );
    }
    let d = ix.did.as_ref().unwrap();
    let key = |q: &str| {
        (
            "clustered".to_string(),
            "did".to_string(),
            q.to_string(),
            String::new(),
            "sipas".to_string(),
        )
    };
    close(
        d.se,
        reference_row(&refs, &key("contrast")).1,
        1e-6,
        "did se",
    );
    close(d.lo, d.estimate - 1.96 * d.se, 1e-12, "did lo");
    close(
        d.pilot_post.se.unwrap(),
        reference_row(&refs, &key("pilot_post")).1,
        1e-6,
        "pilot_post se",
    );
    assert!(
        ix.report.design.contains("column `village`"),
        "{}",
        ix.report.design
    );
    // The tables written carry these numbers.
    let tmp = tempfile::tempdir().unwrap();
    write_results(&ix, tmp.path()).unwrap();
    let did = std::fs::read_to_string(tmp.path().join("did.csv")).unwrap();
    assert!(did.contains(&format!(",{:.6},", d.se)), "{did}");
}

#[test]
fn without_a_declared_design_the_numbers_are_aggregates() {
    use sipas_aggregate::{aggregate, aggregate_with_design};
    let r = responses(false);
    let plain = aggregate(&r, &options()).unwrap();
    let (ix, _) = aggregate_with_design(&r, &options(), &DesignSpec::default()).unwrap();
    let same = |a: Option<f64>, b: Option<f64>, what: &str| match (a, b) {
        (Some(a), Some(b)) => close(a, b, 1e-12, what),
        (a, b) => assert_eq!(a, b, "{what}"),
    };
    for (a, b) in ix.cells.iter().zip(&plain.cells) {
        same(a.sipas.value, b.sipas.value, "cell value");
        for (x, y) in a.groups.iter().zip(&b.groups) {
            same(*x, *y, "cell element / part");
        }
        for (x, y) in a.items.iter().zip(&b.items) {
            same(x.share, y.share, "item share");
        }
        same(a.sipas.se, b.sipas.se, "cell se");
        same(a.sipas.lo, b.sipas.lo, "cell lo");
        same(a.sipas.hi, b.sipas.hi, "cell hi");
    }
    for (a, b) in ix.groups.iter().zip(&plain.groups) {
        same(a.sipas.se, b.sipas.se, "group se");
    }
    let (a, b) = (ix.did.unwrap(), plain.did.unwrap());
    close(a.se, b.se, 1e-12, "did se");
    close(a.estimate, b.estimate, 1e-12, "did estimate");
    same(a.pilot_pre.se, b.pilot_pre.se, "quadrant se");
}

#[test]
fn rao_wu_bootstrap_matches_r_subbootstrap_in_distribution() {
    // Small domains inside strata are where the bootstrap and the
    // linearized SE part (R's own subbootstrap: median 1.13 × the
    // linearized SE over these cells, up to 3.1 ×); what must hold is that
    // sipas' replicates behave as R's: over the domains with an SE the
    // median ratio of the two bootstrap SEs (1,000 replicates each,
    // independent draws; Monte-Carlo SD of one ratio ≈ 3%) is 1 ± 0.03.
    let r = responses(false);
    let refs = reference();
    let spec = DesignSpec {
        variance: VarianceMethod::Bootstrap,
        replicates: 1000,
        seed: 11,
        ..clustered()
    };
    let boot = estimate_domains(&r, &options(), &spec).unwrap();
    let lin = estimate_domains(&r, &options(), &clustered()).unwrap();
    let (mut to_r, mut to_lin, mut r_to_lin) = (Vec::new(), Vec::new(), Vec::new());
    for (b, l) in boot.rows.iter().zip(&lin.rows) {
        if b.indicator != "sipas" || !matches!(b.domain_type, DomainType::Unit | DomainType::Group)
        {
            continue;
        }
        let key = (
            "subbootstrap".to_string(),
            b.domain_type.as_str().to_string(),
            b.domain.to_string(),
            b.period.to_string(),
            "sipas".to_string(),
        );
        let r_se = reference_row(&refs, &key).1;
        let (Some(bs), Some(ls)) = (b.se, l.se) else {
            continue;
        };
        if ls < 1e-5 || r_se.is_nan() {
            continue;
        }
        to_r.push(bs / r_se);
        to_lin.push(bs / ls);
        r_to_lin.push(r_se / ls);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    assert!(to_r.len() >= 50, "{} domains", to_r.len());
    let m = median(&mut to_r);
    assert!((m - 1.0).abs() <= 0.03, "median sipas / R bootstrap SE {m}");
    let (a, b) = (median(&mut to_lin), median(&mut r_to_lin));
    assert!(
        (a - b).abs() <= 0.03,
        "median ratio to linearized: sipas {a}, R {b}"
    );
    eprintln!(
        "sipas/R {m}, to linearized: sipas {a}, R {b}, {} domains",
        to_r.len()
    );
}

#[test]
fn supplied_replicate_weights_give_rs_ses() {
    use sipas_aggregate::design::{ReplicateType, ReplicateWeights};
    let r = responses(true);
    let refs = reference();
    let nj = 30;
    let supplied = |columns: &str, kind, scale, rscales, mse| DesignSpec {
        replicate_weights: Some(ReplicateWeights {
            columns: columns.into(),
            kind,
            scale,
            rscales,
            // replicates.csv holds factors per village.
            combined_weights: false,
        }),
        mse,
        ..DesignSpec::default()
    };
    let rscales: Vec<f64> = (0..nj)
        .map(|i| 0.5 + f64::from(i) / f64::from(nj - 1))
        .collect();
    for (name, spec) in [
        (
            "supplied_bootstrap",
            supplied("rb*", ReplicateType::Bootstrap, None, None, false),
        ),
        (
            "supplied_jk1_mse",
            supplied("rj*", ReplicateType::Jk1, None, None, true),
        ),
        (
            "supplied_other",
            supplied("rj*", ReplicateType::Other, Some(0.5), Some(rscales), false),
        ),
    ] {
        let est = estimate_domains(&r, &options(), &spec).unwrap();
        assert_eq!(check_domains(name, &est, 1e-9), expected(name), "{name}");
        let did = est.did.as_ref().unwrap();
        let key = (
            name.to_string(),
            "did".to_string(),
            "contrast".to_string(),
            String::new(),
            "sipas".to_string(),
        );
        close(
            did.se,
            reference_row(&refs, &key).1,
            1e-9,
            &format!("{name} did"),
        );
    }
    // Full JKn weights need their rscales (factors give them, as R guesses);
    // a pattern that matches nothing is named.
    let mut jkn = supplied("rj*", ReplicateType::Jkn, None, None, false);
    if let Some(rw) = &mut jkn.replicate_weights {
        rw.combined_weights = true;
    }
    let err = estimate_domains(&r, &options(), &jkn).err().unwrap();
    assert!(err.to_string().contains("rscales"), "{err}");
    let none = supplied("zz*", ReplicateType::Jk1, None, None, false);
    let err = estimate_domains(&r, &options(), &none).err().unwrap();
    assert!(err.to_string().contains("zz*"), "{err}");
}
