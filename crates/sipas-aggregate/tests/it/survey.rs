//! Survey-design estimates against R `survey` 4.1.1
//! (fixtures/reference/survey/reference.R → reference.csv).

use std::collections::HashMap;
use std::path::PathBuf;

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::{
    AggregateOptions, DesignSpec, LonelyPsu, Responses, Strata, VarianceMethod, aggregate,
    estimate_domains, write_estimates,
};
use sipas_core::{Instrument, Period};

use crate::common::{Key, keyed_rows, num, row_key};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/survey")
}

fn as_str(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The fixture responses; `weighted = false` sets every weight to 1.
fn responses(weighted: bool) -> Responses {
    let inst = Instrument::from_path(&dir().join("instrument.toml")).unwrap();
    let text = std::fs::read_to_string(dir().join("responses.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (u, p, w, v, vl, pop) = (
        col("unit_code"),
        col("period"),
        col("weight"),
        col("village"),
        col("village_lonely"),
        col("villages_pop"),
    );
    let items: Vec<usize> = ["q1", "q2", "q3", "q4", "q5"].map(col).to_vec();
    let mut b = Responses::builder(inst);
    let (mut village, mut lonely, mut fpc) = (Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let answers: Vec<Option<u8>> = items.iter().map(|&i| f[i].parse().ok()).collect();
        let weight = if weighted { f[w].parse().unwrap() } else { 1.0 };
        b.push(f[u], f[p], "survey", weight, &answers).unwrap();
        village.push(f[v].to_string());
        lonely.push(f[vl].to_string());
        fpc.push(f[pop].parse::<f64>().unwrap());
    }
    b.build()
        .unwrap()
        .with_text_column("village", &as_str(&village))
        .unwrap()
        .with_text_column("village_lonely", &as_str(&lonely))
        .unwrap()
        .with_number_column("villages_pop", fpc)
        .unwrap()
}

#[derive(Debug, Clone, Copy)]
struct Ref {
    value: f64,
    se: f64,
    deff: f64,
    lo: f64,
    hi: f64,
}

fn reference() -> HashMap<Key, Ref> {
    keyed_rows(&dir().join("reference.csv"))
        .into_iter()
        .map(|(k, f)| {
            let r = Ref {
                value: num(&f[5]),
                se: num(&f[6]),
                deff: num(&f[7]),
                lo: num(&f[8]),
                hi: num(&f[9]),
            };
            (k, r)
        })
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * b.abs() + 1e-9,
        "{what}: sipas {a} vs R {b}"
    );
}

/// Compares every domain × indicator of one design with R.
fn check(design: &str, responses: &Responses, spec: &DesignSpec, with_deff: bool) {
    let est = estimate_domains(responses, &AggregateOptions::bundled(), spec).unwrap();
    let refs = reference();
    let mut compared = 0;
    for row in &est.rows {
        if row.ci_method == CiMethod::Wilson {
            continue;
        }
        let key = row_key(design, &row);
        let r = refs
            .get(&key)
            .unwrap_or_else(|| panic!("no R row for {key:?}"));
        let what = format!("{key:?}");
        close(row.value.unwrap(), r.value, &format!("{what} value"));
        if r.se.is_nan() || r.se < 1e-6 {
            // R's delta method takes sqrt of a variance that is 0 up to
            // rounding; with lonely.psu = "average" and only lonely strata in
            // the domain R's variance is 0·H/0 = NaN and ours undefined.
            assert!(
                row.se.is_none_or(|se| se < 1e-6),
                "{what}: se {:?}, R {}",
                row.se,
                r.se
            );
        } else {
            close(row.se.unwrap(), r.se, &format!("{what} se"));
        }
        if with_deff && r.deff.is_finite() && r.se > 1e-6 {
            close(row.deff.unwrap(), r.deff, &format!("{what} deff"));
        }
        // With df = 1 R's confint.svyglm maps t = 12.7 through 1 − 2·pnorm(−t),
        // which rounds to 1 (lo = 0, hi = NaN): an R artefact, skipped.
        if row.ci_method == CiMethod::Logit && r.hi.is_finite() && r.se > 1e-6 {
            close(row.lo.unwrap(), r.lo, &format!("{what} lo"));
            close(row.hi.unwrap(), r.hi, &format!("{what} hi"));
        }
        compared += 1;
    }
    assert_eq!(compared, 360, "{design}: every R row is compared");
}

fn spec(strata: Strata, cluster: Option<&str>) -> DesignSpec {
    DesignSpec {
        strata,
        cluster: cluster.map(str::to_string),
        ..DesignSpec::default()
    }
}

#[test]
fn unweighted_and_weighted_unit_period_designs_match_r() {
    check(
        "unweighted",
        &responses(false),
        &DesignSpec::default(),
        true,
    );
    check("weighted", &responses(true), &DesignSpec::default(), true);
}

#[test]
fn stratified_clustered_and_fpc_designs_match_r() {
    let r = responses(true);
    check("stratified", &r, &spec(Strata::District, None), true);
    check(
        "clustered",
        &r,
        &spec(Strata::District, Some("village")),
        true,
    );
    check(
        "unstratified_clustered",
        &r,
        &spec(Strata::None, Some("village")),
        true,
    );
    let fpc = DesignSpec {
        fpc: Some("villages_pop".into()),
        ..spec(Strata::District, Some("village"))
    };
    check("fpc", &r, &fpc, true);
    // Ingest keeps extra columns as text: the same fpc as text gives R's numbers too.
    let text_pop: Vec<String> = std::fs::read_to_string(dir().join("responses.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let pop = r_col("villages_pop");
            format!(" {} ", l.split(',').nth(pop).unwrap())
        })
        .collect();
    let r_text = responses(true)
        .with_text_column("villages_pop_text", &as_str(&text_pop))
        .unwrap();
    let fpc_text = DesignSpec {
        fpc: Some("villages_pop_text".into()),
        ..spec(Strata::District, Some("village"))
    };
    check("fpc", &r_text, &fpc_text, true);
}

/// Index of a column of the reference responses.csv.
fn r_col(name: &str) -> usize {
    let text = std::fs::read_to_string(dir().join("responses.csv")).unwrap();
    text.lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == name)
        .unwrap()
}

#[test]
fn lonely_psu_rules_match_r() {
    let r = responses(true);
    for (name, rule) in [
        ("lonely_certainty", LonelyPsu::Certainty),
        ("lonely_certainty", LonelyPsu::Remove),
        ("lonely_adjust", LonelyPsu::Adjust),
        ("lonely_average", LonelyPsu::Average),
    ] {
        let s = DesignSpec {
            lonely_psu: rule,
            ..spec(Strata::District, Some("village_lonely"))
        };
        check(name, &r, &s, true);
    }
    let s = DesignSpec {
        lonely_psu: LonelyPsu::Fail,
        ..spec(Strata::District, Some("village_lonely"))
    };
    let err = estimate_domains(&r, &AggregateOptions::bundled(), &s).unwrap_err();
    assert!(err.to_string().contains("only one PSU"), "{err}");
}

#[test]
fn jackknife_matches_r() {
    let r = responses(true);
    let jk = |strata| DesignSpec {
        variance: VarianceMethod::Jackknife,
        ..spec(strata, Some("village"))
    };
    check("jk1", &r, &jk(Strata::None), false);
    check("jkn", &r, &jk(Strata::District), false);
}

#[test]
fn bootstrap_is_deterministic_and_close_to_linearization() {
    let r = responses(true);
    let lin = estimate_domains(&r, &AggregateOptions::bundled(), &DesignSpec::default()).unwrap();
    let boot_spec = DesignSpec {
        variance: VarianceMethod::Bootstrap,
        replicates: 2000,
        seed: 42,
        ..DesignSpec::default()
    };
    let boot = estimate_domains(&r, &AggregateOptions::bundled(), &boot_spec).unwrap();
    let again = estimate_domains(&r, &AggregateOptions::bundled(), &boot_spec).unwrap();
    assert_eq!(boot, again);
    // Pooled domains (≥ 100 responses): the bootstrap SE is within Monte-Carlo
    // error (≈ 1/√(2·2000) ≈ 1.6%) plus a small-sample difference of the
    // linearized one.
    let mut n = 0;
    for (a, b) in lin.rows.iter().zip(&boot.rows) {
        assert_eq!((&a.domain, &a.indicator), (&b.domain, &b.indicator));
        if a.domain_type != DomainType::Unit && a.indicator == "sipas" && a.n >= 30 {
            let (x, y) = (a.se.unwrap(), b.se.unwrap_or(f64::NAN));
            assert!(
                (y / x - 1.0).abs() < 0.1,
                "{} {}: {y} vs {x}",
                a.domain,
                a.period
            );
            n += 1;
        }
    }
    assert!(n >= 20);
}

#[test]
fn default_design_reproduces_aggregate() {
    let r = responses(true);
    let opts = AggregateOptions::bundled();
    let ix = aggregate(&r, &opts).unwrap();
    let est = estimate_domains(&r, &opts, &DesignSpec::default()).unwrap();
    let close12 = |a: f64, b: f64| assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
    for c in &ix.cells {
        let row = est
            .get(
                DomainType::Unit,
                &c.unit_code,
                c.period,
                "sipas",
                CiMethod::Normal,
            )
            .unwrap();
        close12(row.value.unwrap(), c.sipas.value.unwrap());
        close12(row.se.unwrap(), c.sipas.se.unwrap());
        close12(row.lo.unwrap(), c.sipas.lo.unwrap());
        for (g, v) in ix.group_ids.iter().zip(&c.groups) {
            let row = est
                .get(
                    DomainType::Unit,
                    &c.unit_code,
                    c.period,
                    g,
                    CiMethod::Normal,
                )
                .unwrap();
            close12(row.value.unwrap(), v.unwrap());
        }
    }
    for g in &ix.groups {
        let row = est
            .get(
                DomainType::Group,
                g.group.as_str(),
                g.period,
                "sipas",
                CiMethod::Normal,
            )
            .unwrap();
        close12(row.se.unwrap(), g.sipas.se.unwrap());
    }
}

#[test]
fn estimates_csv_is_long_sorted_and_suppresses_small_cells() {
    let r = responses(true);
    let est = estimate_domains(&r, &AggregateOptions::bundled(), &DesignSpec::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_estimates(&est, tmp.path()).unwrap();
    let text = std::fs::read_to_string(tmp.path().join("estimates.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "domain_type,domain,period,indicator,indicator_kind,n,value,se,lo,hi,ci_method,deff,n_eff,cv,reliable,suppressed"
    );
    // 6 units × 3 periods + 3 × (2 groups + 4 districts + 3 kinds) = 45 domains,
    // each: 3 composites + 5 items × 2 interval methods.
    assert_eq!(lines.len(), 1 + 45 * 13);
    assert!(lines[1].starts_with("unit,05443,2023Q4,sipas,index,"));
    assert!(lines[2].starts_with("unit,05443,2023Q4,e1,element,"));
    assert!(lines[4].starts_with("unit,05443,2023Q4,q1,item,"));
    assert!(lines[4].contains(",logit,") && lines[5].contains(",wilson,"));
    // 05611 in 2024Q2 has 6 responses: the row is kept, its values are empty.
    let p = Period::from_str_checked("2024Q2");
    let small = est
        .get(DomainType::Unit, "05611", p, "sipas", CiMethod::Normal)
        .unwrap();
    assert!(small.suppressed && !small.reliable && small.value.is_some());
    let line = lines
        .iter()
        .find(|l| l.starts_with("unit,05611,2024Q2,sipas,"))
        .unwrap();
    assert_eq!(
        *line,
        "unit,05611,2024Q2,sipas,index,6,,,,,normal,,,,false,true"
    );
    // Same input, same bytes.
    write_estimates(&est, tmp.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("estimates.csv")).unwrap(),
        text
    );
}

trait FromStrChecked {
    fn from_str_checked(s: &str) -> Self;
}

impl FromStrChecked for Period {
    fn from_str_checked(s: &str) -> Self {
        s.parse().unwrap()
    }
}
