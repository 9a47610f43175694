//! An index that is not SIPAS-shaped (fixtures/reference/index: yes/no,
//! choice, Likert-mean, numeric-down and Likert-share items; weighted parts;
//! an index and parts on 1–10, elements on 0–100) against R `survey`
//! (reference.R → reference.csv, svycontrast over domain totals): every
//! group and every share, value and linearized SE, in every unit and
//! pilot/baseline domain under the default and a clustered design; and the
//! default engine's unit × period table, which must give the same numbers.

use std::collections::HashMap;
use std::path::PathBuf;

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::{
    AggregateOptions, DesignSpec, Responses, Strata, VarianceMethod, estimate_domains,
};
use sipas_core::Instrument;

use crate::common::{Key, keyed_rows, num, row_key};

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/index")
}

fn instrument() -> Instrument {
    Instrument::from_path(&dir().join("instrument.toml")).unwrap()
}

/// The fixture's rows, with their village and district columns.
pub(crate) fn responses() -> Responses {
    crate::design_fixture::read_rows(&dir(), instrument()).0
}

pub(crate) fn options() -> AggregateOptions {
    let mut o = AggregateOptions::bundled();
    o.pilots = sipas_core::PilotSet::new(
        "test",
        "2024Q1".parse().unwrap(),
        ["05443".to_string(), "05695".to_string()].into(),
    );
    o
}

fn reference() -> HashMap<Key, (f64, f64)> {
    keyed_rows(&dir().join("reference.csv"))
        .into_iter()
        .map(|(k, f)| (k, (num(&f[5]), num(&f[6]))))
        .collect()
}

/// The groups of the fixture's instrument.
const GROUPS: [&str; 6] = ["dim", "know", "take_part", "heard", "meet", "say"];

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: sipas {a} vs R {b}"
    );
}

#[test]
fn the_instrument_compiles_to_fourteen_shares() {
    let inst = instrument();
    assert!(!inst.is_sipas_shaped());
    assert_eq!(
        inst.test_ids(),
        [
            "y1", "c1", "l1_ge2", "l1_ge3", "l1_ge4", "l1_ge5", "y2", "n1_ge1", "n1_ge2", "n1_ge3",
            "n1_ge4", "n1_ge5", "n1_ge6", "l2"
        ]
    );
    // dim on 1–10 = 1 + 9·(2·heard + take_part)/3: the constant is 1 plus
    // 9 × (2/3 × 0 + 1/3 × (meet's n1 constant 1/4)/2) = 1 + 9/24.
    assert!((inst.constant("dim").unwrap() - (1.0 + 9.0 / 24.0)).abs() < 1e-15);
    assert_eq!(inst.constant("heard"), Some(0.0));
    assert!((inst.constant("meet").unwrap() - 25.0).abs() < 1e-12);
}

fn clustered() -> DesignSpec {
    DesignSpec {
        strata: Strata::Column("district_code".into()),
        cluster: Some("village".into()),
        ..DesignSpec::default()
    }
}

/// The designs of R's reference rows: linearized (default, clustered) and
/// the clustered design's JKn replicates.
fn designs() -> [(&'static str, DesignSpec); 3] {
    [
        ("default", DesignSpec::default()),
        ("clustered", clustered()),
        (
            "jkn",
            DesignSpec {
                variance: VarianceMethod::Jackknife,
                ..clustered()
            },
        ),
    ]
}

#[test]
fn every_group_and_share_matches_r_under_three_designs() {
    let r = responses();
    let refs = reference();
    let tests = instrument().test_ids().len();
    for (name, spec) in designs() {
        let est = estimate_domains(&r, &options(), &spec).unwrap();
        let mut compared = 0;
        for row in &est.rows {
            if !matches!(row.domain_type, DomainType::Unit | DomainType::Group)
                || row.ci_method == CiMethod::Wilson
            {
                continue;
            }
            let key = row_key(name, row);
            let Some(&(value, se)) = refs.get(&key) else {
                // R lists the shares of unit domains only.
                assert!(
                    row.domain_type == DomainType::Group
                        && !GROUPS.contains(&row.indicator.as_str()),
                    "no R row for {key:?}"
                );
                continue;
            };
            close(row.value.unwrap(), value, 1e-9, &format!("{key:?} value"));
            close(row.se.unwrap(), se, 1e-9, &format!("{key:?} se"));
            // Intervals stay on each group's scale.
            if ["dim", "know", "take_part"].contains(&row.indicator.as_str()) {
                assert!(row.lo.unwrap() >= 1.0 && row.hi.unwrap() <= 10.0, "{key:?}");
            }
            compared += 1;
        }
        // 8 units × 2 periods × (6 groups + 14 shares) + 2 arms × 2 periods × 6.
        assert_eq!(
            compared,
            16 * (GROUPS.len() + tests) + 4 * GROUPS.len(),
            "{name}"
        );
    }
}

#[test]
fn the_2x2_did_of_the_index_equals_svycontrast_over_svyby_with_covmat() {
    let r = responses();
    let refs = reference();
    for (name, spec) in &designs()[..2] {
        let est = estimate_domains(&r, &options(), spec).unwrap();
        let did = est.did.as_ref().expect("all four quadrants have rows");
        let key = |q: &str| {
            (
                name.to_string(),
                "did".to_string(),
                q.to_string(),
                String::new(),
                "dim".to_string(),
            )
        };
        for (q, quadrant) in sipas_aggregate::design::QUADRANTS.iter().enumerate() {
            let (value, se) = refs[&key(quadrant)];
            close(did.values[q], value, 1e-9, &format!("{name} {quadrant}"));
            close(
                did.quadrant_se(q),
                se,
                1e-9,
                &format!("{name} {quadrant} se"),
            );
        }
        let (value, se) = refs[&key("contrast")];
        close(did.estimate, value, 1e-9, &format!("{name} contrast"));
        close(did.se, se, 1e-9, &format!("{name} contrast se"));
    }
}

#[test]
fn the_unit_period_table_gives_the_same_numbers() {
    let r = responses();
    let refs = reference();
    let inst = instrument();
    let idx = sipas_aggregate::aggregate(&r, &options()).unwrap();
    assert_eq!(idx.root_bounds, (1.0, 10.0));
    assert_eq!(idx.item_ids, inst.test_ids());
    assert_eq!(idx.cells.len(), 16);
    for c in &idx.cells {
        let key = |ind: &str| {
            (
                "default".to_string(),
                "unit".to_string(),
                c.unit_code.clone(),
                c.period.to_string(),
                ind.to_string(),
            )
        };
        let (value, se) = refs[&key("dim")];
        close(c.sipas.value.unwrap(), value, 1e-9, "dim value");
        close(c.sipas.se.unwrap(), se, 1e-9, "dim se");
        for (g, v) in idx.group_ids.iter().zip(&c.groups) {
            close(v.unwrap(), refs[&key(g)].0, 1e-9, g);
        }
        for (t, s) in idx.item_ids.iter().zip(&c.items) {
            close(s.share.unwrap(), refs[&key(t)].0, 1e-9, t);
        }
    }
}
