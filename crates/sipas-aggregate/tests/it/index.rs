//! An index that is not SIPAS-shaped (fixtures/reference/index: yes/no,
//! choice, Likert-mean, numeric-down and Likert-share items; weighted parts;
//! an index and parts on 1–10, elements on 0–100) against R `survey`
//! (reference.R → reference.csv, svycontrast over domain totals): every
//! group and every share, value and linearized SE, in every unit and
//! pilot/baseline domain under the default and a clustered design; and the
//! default engine's unit × period table, which must give the same numbers.

use std::collections::HashMap;
use std::fmt::Write as _;
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
const GROUPS: [&str; 7] = [
    "dim",
    "know",
    "take_part",
    "heard",
    "meet",
    "say",
    "par_survey",
];

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
            let key = row_key(name, &row);
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
            if row.indicator == "par_survey" {
                assert!(row.lo.unwrap() >= 0.0 && row.hi.unwrap() <= 30.0, "{key:?}");
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
    let mut r = responses();
    let refs = reference();
    // The index itself, then the PAR-style composite made the headline (as `indices.csv` does).
    for index in ["dim", "par_survey"] {
        r.set_root(index).unwrap();
        for (name, spec) in &designs()[..2] {
            let est = estimate_domains(&r, &options(), spec).unwrap();
            let did = est.did.as_ref().expect("all four quadrants have rows");
            let key = |q: &str| {
                (
                    name.to_string(),
                    "did".to_string(),
                    q.to_string(),
                    String::new(),
                    index.to_string(),
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
            close(
                did.estimate,
                value,
                1e-9,
                &format!("{index} {name} contrast"),
            );
            close(did.se, se, 1e-9, &format!("{index} {name} contrast se"));
        }
    }
}

/// `indices.csv` evaluates every other headline index from the headline's tables re-rooted
/// plus its own design DiD (`headline::index_aggregate`): the same cells, groups and 2×2 DiD as
/// aggregating again with the index as headline (1e-12), and R's contrast (1e-9), under the
/// default, clustered and JKn designs.
#[test]
fn an_index_from_the_headline_tables_equals_its_own_aggregate_and_r() {
    let refs = reference();
    let close_opt = |a: Option<f64>, b: Option<f64>, what: &str| match (a, b) {
        (Some(a), Some(b)) => close(a, b, 1e-12, what),
        (None, None) => {}
        other => panic!("{what}: {other:?}"),
    };
    for (name, spec) in &designs() {
        let mut r = responses();
        let head = sipas_aggregate::aggregate_with_design(&r, &options(), spec).unwrap();
        // A part and the PAR-style composite (R's reference has the composite's contrast).
        for index in ["know", "par_survey"] {
            let got = sipas_aggregate::headline::index_aggregate(
                &mut r,
                &options(),
                spec,
                (&head.0, &head.1),
                index,
            )
            .unwrap();
            r.set_root(index).unwrap();
            let (own, _) = sipas_aggregate::aggregate_with_design(&r, &options(), spec).unwrap();
            r.set_root(instrument().root()).unwrap();
            assert_eq!(got.cells.len(), own.cells.len());
            for (a, b) in got.cells.iter().zip(&own.cells) {
                let what = format!("{name} {index} {} {}", a.unit_code, a.period);
                close_opt(a.sipas.value, b.sipas.value, &what);
                close_opt(a.sipas.se, b.sipas.se, &format!("{what} se"));
                close_opt(a.sipas.lo, b.sipas.lo, &format!("{what} lo"));
            }
            for (a, b) in got.groups.iter().zip(&own.groups) {
                let what = format!("{name} {index} {:?} {}", a.group, a.period);
                close_opt(a.sipas.value, b.sipas.value, &what);
                close_opt(a.sipas.se, b.sipas.se, &format!("{what} se"));
            }
            let (d, o) = (got.did.unwrap(), own.did.unwrap());
            close(
                d.estimate,
                o.estimate,
                1e-12,
                &format!("{name} {index} did"),
            );
            close(d.se, o.se, 1e-12, &format!("{name} {index} did se"));
            close_opt(
                d.pilot_post.se,
                o.pilot_post.se,
                &format!("{name} {index} q1 se"),
            );
            if *name != "jkn" && index == "par_survey" {
                let key = (
                    name.to_string(),
                    "did".to_string(),
                    "contrast".to_string(),
                    String::new(),
                    index.to_string(),
                );
                let (value, se) = refs[&key];
                close(
                    d.estimate,
                    value,
                    1e-9,
                    &format!("{name} {index} R contrast"),
                );
                close(d.se, se, 1e-9, &format!("{name} {index} R contrast se"));
            }
        }
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

/// Σ of the weights per unit × period, straight from the fixture's CSV (not through sipas).
fn weight_sums() -> HashMap<(String, String), f64> {
    let text = std::fs::read_to_string(dir().join("responses.csv")).unwrap();
    let mut m = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *m.entry((f[1].to_string(), f[2].to_string())).or_insert(0.0) += num(f[3]);
    }
    m
}

/// The appraised points the PAR tests give each cell: 30 + its position (distinct values).
fn appraised() -> Vec<((String, String), f64)> {
    let mut cells: Vec<(String, String)> = weight_sums().into_keys().collect();
    cells.sort();
    cells
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, 30.0 + i as f64 * 1.5))
        .collect()
}

fn criteria_csv(extra: &str) -> String {
    let mut s = String::from("unit_code,period,criterion,points,maximum\n");
    for ((u, p), pts) in appraised() {
        let _ = writeln!(s, "{u},{p},k1,{pts},70");
    }
    s.push_str(extra);
    s
}

#[test]
fn the_criteria_table_quarantines_every_bad_row_with_its_reason() {
    let inst = instrument();
    let def = inst.par().unwrap();
    let units = &options().units;
    let extra = "99999,2024Q1,k1,10,70\n\
                 05443,2024Q9,k1,10,70\n\
                 05443,2024Q1,k9,10,70\n\
                 05446,2024Q1,k1,10,60\n\
                 05449,2024Q1,k1,71,70\n\
                 05449,2024Q1,k1,-1,70\n\
                 05452,2024Q1,k1,43.5,70\n\
                 05695,2024Q1,k1,1,70\n\
                 05443,2023Q3,k1,5,70\n";
    let mut c =
        sipas_aggregate::par::Criteria::from_csv_str(&criteria_csv(extra), "t.csv", def, units)
            .unwrap();
    let survey: Vec<(String, sipas_core::Period)> = appraised()
        .into_iter()
        .map(|((u, p), _)| (u, p.parse().unwrap()))
        .collect();
    let survey_cells = || survey.iter().map(|(u, p)| (u.as_str(), *p));
    c.keep_cells(survey_cells());
    let reasons: Vec<(usize, &str)> = c
        .quarantine
        .iter()
        .map(|(r, why)| (r.line, why.as_str()))
        .collect();
    // 16 data rows (lines 2–17), then the extra rows from line 18. 05452 2024Q1 has 30 + 7·1.5
    // = 40.5 in the table: 43.5 conflicts (both out); 05695 2024Q1 likewise with 1.
    let line_of = |u: &str, p: &str| {
        2 + appraised()
            .iter()
            .position(|((a, b), _)| a == u && b == p)
            .unwrap()
    };
    let mut want = vec![
        (18, "unknown_unit"),
        (19, "bad_period"),
        (20, "unknown_criterion"),
        (21, "maximum_mismatch"),
        (22, "points_out_of_range"),
        (23, "points_out_of_range"),
        (24, "conflicting_duplicate"),
        (25, "conflicting_duplicate"),
        (26, "no_survey_cell"),
        (line_of("05452", "2024Q1"), "conflicting_duplicate"),
        (line_of("05695", "2024Q1"), "conflicting_duplicate"),
    ];
    want.sort_unstable();
    assert_eq!(reasons, want);
    assert_eq!(c.rows_read, 25);
    assert_eq!(c.rows_used() + c.quarantine.len(), c.rows_read);
    let p = |s: &str| s.parse::<sipas_core::Period>().unwrap();
    assert_eq!(c.points("05452", p("2024Q1")), None);
    assert_eq!(c.points("05443", p("2024Q1")), Some(31.5));
    // An identical copy is dropped, the first row kept.
    let mut c2 = sipas_aggregate::par::Criteria::from_csv_str(
        &criteria_csv("05443,2024Q1,k1,31.5,70\n"),
        "t.csv",
        def,
        units,
    )
    .unwrap();
    c2.keep_cells(survey_cells());
    assert_eq!(c2.quarantine.len(), 1);
    assert_eq!(c2.quarantine[0].1.as_str(), "duplicate_copy");
    assert_eq!(c2.points("05443", p("2024Q1")), Some(31.5));
    // A survey cell the table has no row for has no total and is listed as incomplete.
    let mut empty = sipas_aggregate::par::Criteria::from_csv_str(
        &criteria_csv("")
            .lines()
            .filter(|l| !l.starts_with("05698,2024Q1"))
            .collect::<Vec<_>>()
            .join("\n"),
        "t.csv",
        def,
        units,
    )
    .unwrap();
    empty.keep_cells(survey_cells());
    assert_eq!(empty.points("05698", p("2024Q1")), None);
    assert_eq!(empty.incomplete(), [("05698".to_string(), p("2024Q1"), 0)]);
    assert_eq!(c2.incomplete(), []);
    // A missing column is an error naming the file.
    let err =
        sipas_aggregate::par::Criteria::from_csv_str("unit_code,period\n", "t.csv", def, units)
            .unwrap_err();
    assert!(
        err.to_string().contains("t.csv") && err.to_string().contains("criterion"),
        "{err}"
    );
}

#[test]
fn the_par_total_adds_the_appraised_points_to_its_survey_part_by_hand() {
    use sipas_aggregate::par::{Criteria, append_estimates, cell_weights, ranking, with_criteria};
    let inst = instrument();
    let def = inst.par().unwrap().clone();
    let opts = options();
    let mut r = responses();
    r.set_root("par_survey").unwrap();
    let (survey, mut est) =
        sipas_aggregate::aggregate_with_design(&r, &opts, &DesignSpec::default()).unwrap();
    let c = Criteria::from_csv_str(&criteria_csv(""), "t.csv", &def, &opts.units).unwrap();
    let weights = cell_weights(&r, &opts).unwrap();
    let total = with_criteria(survey.clone(), &def, &c, &weights, opts.pilots.start);
    let pts: HashMap<(String, String), f64> = appraised().into_iter().collect();
    let w = weight_sums();
    let m = 1.96;
    for (s, t) in survey.cells.iter().zip(&total.cells) {
        let key = (s.unit_code.clone(), s.period.to_string());
        let want = s.sipas.value.unwrap() + pts[&key];
        close(t.sipas.value.unwrap(), want, 1e-12, "cell total");
        assert_eq!(t.sipas.se, s.sipas.se, "the SE is the survey part's");
        let se = s.sipas.se.unwrap();
        close(t.sipas.lo.unwrap(), (want - m * se).max(0.0), 1e-12, "lo");
        close(t.sipas.hi.unwrap(), (want + m * se).min(100.0), 1e-12, "hi");
    }
    // A pooled group: its cells' points averaged with their weight sums.
    let pooled = |units: &[&str], periods: &[&str]| {
        let (mut a, mut b) = (0.0, 0.0);
        for u in units {
            for p in periods {
                let k = (u.to_string(), p.to_string());
                a += w[&k] * pts[&k];
                b += w[&k];
            }
        }
        a / b
    };
    let pilots = ["05443", "05695"];
    let base = ["05446", "05449", "05452", "05698", "05701", "05704"];
    for (s, t) in survey.groups.iter().zip(&total.groups) {
        let units: &[&str] = if t.group == sipas_aggregate::Arm::Pilot {
            &pilots
        } else {
            &base
        };
        let want = s.sipas.value.unwrap() + pooled(units, &[&t.period.to_string()]);
        close(t.sipas.value.unwrap(), want, 1e-12, "group total");
        assert_eq!(t.sipas.se, s.sipas.se);
    }
    let (sd, td) = (survey.did.as_ref().unwrap(), total.did.as_ref().unwrap());
    let shift = (pooled(&pilots, &["2024Q1"]) - pooled(&pilots, &["2023Q4"]))
        - (pooled(&base, &["2024Q1"]) - pooled(&base, &["2023Q4"]));
    close(td.estimate, sd.estimate + shift, 1e-12, "did");
    assert_eq!(td.se, sd.se);
    close(td.lo, td.estimate - m * td.se, 1e-12, "did lo");
    assert_eq!(total.root_bounds, (0.0, 100.0));
    // estimates.csv: the total's row right after its survey part's, same SE.
    append_estimates(&mut est, &def, &total);
    let i = est
        .rows
        .iter()
        .position(|row| row.indicator == "par_total" && row.domain == "05446")
        .unwrap();
    let (before, row) = (est.rows.get(i - 1).unwrap(), est.rows.get(i).unwrap());
    assert_eq!(before.indicator, "par_survey");
    assert_eq!(row.se, before.se);
    let cell = total
        .cells
        .iter()
        .find(|c| c.unit_code == "05446" && c.period == row.period)
        .unwrap();
    assert_eq!(row.value, cell.sipas.value);
    // Ranking: by value, every rank inside its interval; with no SE the interval is the rank.
    let rows = ranking(&total, 500, 7);
    assert_eq!(rows, ranking(&total, 500, 7), "seeded");
    for p in ["2023Q4", "2024Q1"] {
        let v: Vec<_> = rows.iter().filter(|r| r.period.to_string() == p).collect();
        assert_eq!(v.len(), 8);
        for (k, r) in v.iter().enumerate() {
            assert_eq!(r.rank, k + 1);
            assert!(r.rank_lo <= r.rank && r.rank <= r.rank_hi, "{r:?}");
            if k > 0 {
                assert!(v[k - 1].total.value >= r.total.value);
            }
        }
    }
    let mut exact = total.clone();
    for c in &mut exact.cells {
        c.sipas.se = Some(0.0);
    }
    assert!(
        ranking(&exact, 50, 1)
            .iter()
            .all(|r| r.rank_lo == r.rank && r.rank_hi == r.rank)
    );
}

/// After a crosswalk, an appraisal before the reorganisation names the old communes: rows on
/// codes the responses carried count for today's unit, several communes' points averaged with
/// their responses' weights (by hand), a commune without rows leaves the others' points with
/// the share of weight they cover, today's own rows win over old communes' (those quarantined), and a code of no
/// response in the period is no survey cell; a code that is neither is an unknown unit.
#[test]
fn old_communes_appraisals_count_for_todays_unit_weighted_by_their_responses() {
    use sipas_aggregate::par::{CodeWeights, Criteria};
    let inst = instrument();
    let def = inst.par().unwrap();
    let units = &options().units;
    let p = |s: &str| s.parse::<sipas_core::Period>().unwrap();
    // 05443 in 2023Q4 holds old communes X1 (Σw 2) and X2 (Σw 6); in 2024Q1 X1, X2 and X3
    // (X3 has no row: X1 and X2 cover 2/3 of the weight; X2 lacks criterion k1 nowhere); 05446 in 2023Q4 holds Y1 and has its own rows
    // too; 05449 in 2023Q4 holds only its own code (today's code carried by its responses).
    let codes: CodeWeights = [
        (("X1", "2023Q4"), ("05443", 2.0)),
        (("X2", "2023Q4"), ("05443", 6.0)),
        (("X1", "2024Q1"), ("05443", 1.0)),
        (("X2", "2024Q1"), ("05443", 1.0)),
        (("X3", "2024Q1"), ("05443", 1.0)),
        (("Y1", "2023Q4"), ("05446", 3.0)),
        (("05449", "2023Q4"), ("05449", 4.0)),
        (("Z1", "2023Q3"), ("05449", 1.0)),
        (("V1", "2023Q4"), ("05452", 1.0)),
        (("V2", "2023Q4"), ("05452", 1.0)),
    ]
    .into_iter()
    .map(|((c, pp), (u, w))| ((c.to_string(), p(pp)), (u.to_string(), w)))
    .collect();
    let table = "unit_code,period,criterion,points,maximum\n\
                 X1,2023Q4,k1,40,70\n\
                 X2,2023Q4,k1,60,70\n\
                 X1,2024Q1,k1,50,70\n\
                 X2,2024Q1,k1,52,70\n\
                 Y1,2023Q4,k1,10,70\n\
                 05446,2023Q4,k1,20,70\n\
                 05449,2023Q4,k1,33,70\n\
                 Z1,2023Q4,k1,5,70\n\
                 W9,2023Q4,k1,5,70\n\
                 V1,2023Q4,k1,30,70\n\
                 V2,2023Q4,k1,31,70\n\
                 V2,2023Q4,k1,32,70\n";
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("criteria.csv");
    std::fs::write(&path, table).unwrap();
    let mut c = Criteria::read(&path, def, units, Some(&codes)).unwrap();
    let survey = [
        ("05443", p("2023Q4")),
        ("05443", p("2024Q1")),
        ("05446", p("2023Q4")),
        ("05449", p("2023Q4")),
        ("05452", p("2023Q4")),
    ];
    c.keep_cells(survey.iter().copied());
    // (2·40 + 6·60) / 8 = 55.
    assert_eq!(c.points("05443", p("2023Q4")), Some(55.0));
    // (1·50 + 1·52) / 2 = 51, covering Σw 2 of 3.
    assert_eq!(c.points("05443", p("2024Q1")), Some(51.0));
    assert_eq!(c.partial_coverage(), [("05443", p("2024Q1"), 2.0 / 3.0)]);
    assert_eq!(
        c.points("05446", p("2023Q4")),
        Some(20.0),
        "today's row wins"
    );
    assert_eq!(c.points("05449", p("2023Q4")), Some(33.0));
    let reasons: Vec<(usize, &str)> = c
        .quarantine
        .iter()
        .map(|(r, why)| (r.line, why.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (6, "old_and_new_codes"),
            (9, "no_survey_cell"),
            (10, "unknown_unit"),
            (12, "conflicting_duplicate"),
            (13, "conflicting_duplicate")
        ]
    );
    // V2's rows conflict: 05452 has V1's points for k1 but not V2's, so no total.
    assert_eq!(c.points("05452", p("2023Q4")), None);
    assert_eq!(c.rows_used() + c.quarantine.len(), c.rows_read);
    assert_eq!(c.incomplete(), [("05452".to_string(), p("2023Q4"), 0)]);
    let merged: Vec<(&str, Vec<&str>)> = c
        .merged()
        .iter()
        .map(|((u, _), codes)| (u.as_str(), codes.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        merged,
        [
            ("05443", vec!["X1", "X2"]),
            ("05443", vec!["X1", "X2"]),
            ("05452", vec!["V1", "V2"])
        ]
    );
}
