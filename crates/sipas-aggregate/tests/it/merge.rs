//! The design across a merge against R `survey`
//! (fixtures/reference/merge/reference.R → reference.csv): by default the
//! strata of a merged unit are its old units × period (`old_unit_code`).

use std::collections::HashMap;
use std::path::PathBuf;

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::{AggregateOptions, DesignSpec, Responses, estimate_domains};
use sipas_core::{Instrument, PilotSet, bundled, schema};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference")
}

/// The fixture responses, with or without the `old_unit_code` column.
fn responses(with_old: bool) -> Responses {
    let inst = Instrument::from_path(&dir().join("survey/instrument.toml")).unwrap();
    let text = std::fs::read_to_string(dir().join("merge/responses.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (u, o, p, w) = (
        col("unit_code"),
        col("old_unit_code"),
        col("period"),
        col("weight"),
    );
    let items: Vec<usize> = ["q1", "q2", "q3", "q4", "q5"].map(col).to_vec();
    let mut b = Responses::builder(inst);
    let mut old = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let answers: Vec<Option<u8>> = items.iter().map(|&i| f[i].parse().ok()).collect();
        b.push(f[u], f[p], "survey", f[w].parse().unwrap(), &answers)
            .unwrap();
        old.push(f[o].to_string());
    }
    let r = b.build().unwrap();
    if with_old {
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        r.with_text_column(schema::OLD_UNIT_CODE, &old).unwrap()
    } else {
        r
    }
}

fn reference() -> HashMap<(String, String, String), (f64, f64)> {
    let text = std::fs::read_to_string(dir().join("merge/reference.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_string(), f[1].to_string(), f[2].to_string()),
                (f[3].parse().unwrap(), f[4].parse().unwrap()),
            )
        })
        .collect()
}

fn opts() -> AggregateOptions {
    let pilots = PilotSet::new("p", "2025Q3".parse().unwrap(), ["05528".to_string()].into());
    AggregateOptions::new(bundled::units_2025_07(), pilots)
}

/// (sipas − R) for every unit × period × item, value and se.
fn compare(with_old: bool) -> Vec<(String, f64, f64)> {
    let est = estimate_domains(&responses(with_old), &opts(), &DesignSpec::default()).unwrap();
    let refs = reference();
    let mut out = Vec::new();
    for row in &est.rows {
        if row.domain_type != DomainType::Unit
            || row.ci_method == CiMethod::Wilson
            || !row.indicator.starts_with('q')
        {
            continue;
        }
        let key = (
            row.domain.to_string(),
            row.period.to_string(),
            row.indicator.to_string(),
        );
        let (v, se) = refs[&key];
        out.push((
            format!("{key:?}"),
            row.value.unwrap() - v,
            row.se.unwrap() - se,
        ));
    }
    assert_eq!(out.len(), refs.len(), "every R row is compared");
    out
}

#[test]
fn old_units_are_the_default_strata_of_a_merged_unit() {
    for (what, dv, dse) in compare(true) {
        assert!(dv.abs() < 1e-9, "{what} value off by {dv}");
        assert!(dse.abs() < 1e-8, "{what} se off by {dse}");
    }
    // Without the column (one stratum per new unit × period) the 2024Q4
    // standard errors differ from R's old-unit design: the test can fail.
    let without = compare(false);
    let differ = without
        .iter()
        .filter(|(w, _, dse)| w.contains("2024Q4") && dse.abs() > 1e-4)
        .count();
    assert!(differ >= 10, "{differ} of 15 pre-merge cells differ");
    // After the merge each new unit is its own stratum either way.
    for (what, _, dse) in without.iter().filter(|(w, _, _)| w.contains("2025Q3")) {
        assert!(dse.abs() < 1e-8, "{what}");
    }
}
