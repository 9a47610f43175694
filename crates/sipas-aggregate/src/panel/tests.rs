//! Checks against the independent R implementation in
//! `fixtures/reference/panel/reference.R` (`lm` + `sandwich::vcovCL(type =
//! "HC1")`, and a WCR bootstrap in plain R), and hand-computed cases.

use std::collections::HashMap;
use std::path::PathBuf;

use sipas_core::{Period, PilotSet};

use super::fit::Wild;
use super::*;
use crate::indices::Estimate;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/panel")
}

/// The rows of a reference CSV, each by column name (fields trimmed).
fn read_csv(name: &str) -> Vec<HashMap<String, String>> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::Fields)
        .from_path(dir().join(name))
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect()
}

fn f(r: &HashMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k} = {}", r[k]))
}

fn panel(name: &str) -> Vec<PanelCell> {
    read_csv(name)
        .iter()
        .map(|r| PanelCell {
            unit_code: r["unit_code"].clone(),
            period: r["period"].parse().unwrap(),
            pilot: r["pilot"] == "true",
            value: f(r, "value"),
            se: Some(f(r, "se")),
            n: r["n"].parse().unwrap(),
        })
        .collect()
}

fn start() -> Period {
    "2024Q1".parse().unwrap()
}

fn rel(a: f64, b: f64, tol: f64) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1e-3),
        "{a} vs R {b} (rel {})",
        (a - b).abs() / b.abs()
    );
}

fn file_of(panel_name: &str) -> &'static str {
    if panel_name == "balanced" {
        "panel.csv"
    } else {
        "panel_unbalanced.csv"
    }
}

#[test]
fn twfe_and_cr1_match_r_lm_and_sandwich() {
    let reference = read_csv("twfe.csv");
    let no_boot = EvaluationOptions {
        replicates: 0,
        ..EvaluationOptions::default()
    };
    for panel_name in ["balanced", "unbalanced"] {
        let cells = panel(file_of(panel_name));
        for (wname, weighting) in [("equal", Weighting::Equal), ("n", Weighting::N)] {
            let ev = evaluate(
                &cells,
                start(),
                &EvaluationOptions {
                    weighting,
                    ..no_boot
                },
            )
            .unwrap();
            let rows: Vec<_> = reference
                .iter()
                .filter(|r| r["panel"] == panel_name && r["weighting"] == wname)
                .collect();
            assert_eq!(rows.len(), 7);
            for r in rows {
                let got = if r["scope"] == "overall" {
                    &ev.overall
                } else {
                    ev.units
                        .iter()
                        .find(|u| u.unit_code.as_deref() == Some(r["unit_code"].as_str()))
                        .unwrap()
                };
                rel(got.estimate, f(r, "estimate"), 1e-6);
                rel(got.se_cr1, f(r, "se"), 1e-6);
                rel(got.lo_cr1, f(r, "lo"), 1e-6);
                rel(got.hi_cr1, f(r, "hi"), 1e-6);
                rel(got.p_cr1, f(r, "p"), 1e-6);
                assert_eq!(got.n_clusters, r["n_clusters"].parse::<usize>().unwrap());
                assert_eq!(got.n_treated, r["n_treated"].parse::<usize>().unwrap());
                assert_eq!(got.n_obs, r["n_obs"].parse::<usize>().unwrap());
            }
            // the CR1-only entry point gives the same overall row
            let d = twfe_did(&cells, start(), weighting, sipas_core::Level::DEFAULT).unwrap();
            assert_eq!(d, ev.overall);
        }
    }
}

#[test]
fn event_study_and_pretrend_match_r() {
    let es = read_csv("event_study.csv");
    let pt = read_csv("pretrend.csv");
    for panel_name in ["balanced", "unbalanced"] {
        let cells = panel(file_of(panel_name));
        let ev = evaluate(
            &cells,
            start(),
            &EvaluationOptions {
                replicates: 999,
                ..EvaluationOptions::default()
            },
        )
        .unwrap();
        let study = &ev.event_study;
        assert_eq!(study.reference, -1);
        assert_eq!(study.rows.len(), 8);
        let refrow = study.rows.iter().find(|r| r.k == -1).unwrap();
        assert_eq!(refrow.period.to_string(), "2023Q4");
        assert_eq!((refrow.estimate, refrow.se), (Some(0.0), None));
        for r in es.iter().filter(|r| r["panel"] == panel_name) {
            let k: i64 = r["k"].parse().unwrap();
            let got = study.rows.iter().find(|x| x.k == k).unwrap();
            rel(got.estimate.unwrap(), f(r, "estimate"), 1e-6);
            rel(got.se.unwrap(), f(r, "se"), 1e-6);
            rel(got.lo.unwrap(), f(r, "lo"), 1e-6);
            rel(got.hi.unwrap(), f(r, "hi"), 1e-6);
            rel(got.p.unwrap(), f(r, "p"), 1e-6);
        }
        let r = pt.iter().find(|r| r["panel"] == panel_name).unwrap();
        let t = study.pretrend.unwrap();
        assert_eq!(t.q, 3);
        assert_eq!(t.df2, 29);
        rel(t.wald, f(r, "wald"), 1e-6);
        rel(t.f, f(r, "f"), 1e-6);
        rel(t.p, f(r, "p"), 1e-6);
        let pw = t.p_wild.unwrap();
        assert!((0.0..=1.0).contains(&pw));
    }
}

/// The overall TWFE design and fit of all `cells` (equal weights).
fn fitted(cells: &[PanelCell]) -> (Design, Fit) {
    let ix = Indexed::new(cells, start()).unwrap();
    let all: Vec<usize> = (0..cells.len()).collect();
    let (d, fit, _) = did_fit(
        &ix,
        &all,
        &|i| cells[i].pilot,
        Weighting::Equal,
        sipas_core::Level::DEFAULT,
    )
    .unwrap();
    (d, fit)
}

fn wild_p(cells: &[PanelCell], beta0: f64, b: usize, seed: u64) -> f64 {
    let (d, fit) = fitted(cells);
    Wild::new(&d, &fit, &[0])
        .p_value(&[beta0], WildWeights::Rademacher, b, seed)
        .unwrap()
}

#[test]
fn wild_bootstrap_p_values_match_r_within_monte_carlo_error() {
    const B: usize = 9999;
    for r in read_csv("wild.csv") {
        let cells = panel(file_of(&r["panel"]));
        let p_r = f(&r, "p");
        let b_r = f(&r, "replicates");
        let p = wild_p(&cells, f(&r, "beta0"), B, 11);
        // Both are Monte-Carlo estimates of the same p: allow 4 SD of the
        // difference, sqrt(p(1−p)(1/B + 1/B_R)), plus 0.002.
        let sd = (p_r * (1.0 - p_r) * (1.0 / B as f64 + 1.0 / b_r)).sqrt();
        assert!(
            (p - p_r).abs() < 4.0 * sd + 0.002,
            "{} β0={}: {p} vs R {p_r}",
            r["panel"],
            r["beta0"]
        );
    }
}

#[test]
fn wild_bootstrap_is_deterministic_whatever_the_thread_count() {
    let cells = panel("panel_unbalanced.csv");
    let many = wild_p(&cells, 1.0, 2000, 5);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| wild_p(&cells, 1.0, 2000, 5));
    assert_eq!(many, one);
    assert_ne!(many, wild_p(&cells, 1.0, 2000, 6));
}

/// The p-value curve (one bootstrap pass, affine in β0) gives the p-value of
/// a new bootstrap at every null value: the same replicates, the same
/// statistics up to rounding, so the same counts.
#[test]
fn the_p_value_curve_equals_a_bootstrap_at_every_null_value() {
    for file in ["panel.csv", "panel_unbalanced.csv"] {
        let cells = panel(file);
        let (d, fit) = fitted(&cells);
        let wild = Wild::new(&d, &fit, &[0]);
        for weights in [WildWeights::Rademacher, WildWeights::Webb] {
            let curve = wild.p_curve(weights, 999, 3).unwrap();
            let (est, se) = (fit.beta[0], fit.se(0));
            let mut distinct = std::collections::BTreeSet::new();
            for step in -8..=8 {
                let b0 = est + f64::from(step) * 0.5 * se;
                let direct = wild.p_value(&[b0], weights, 999, 3).unwrap();
                assert_eq!(
                    curve.p_value(b0).unwrap(),
                    direct,
                    "{file} {weights:?} β0 = {b0}"
                );
                distinct.insert((direct * 999.0).round() as i64);
            }
            assert!(distinct.len() > 5, "{file}: {distinct:?}");
        }
    }
    // Two tested coefficients have no curve.
    let cells = panel("panel.csv");
    let (d, fit) = fitted(&cells);
    assert!(
        Wild::new(&d, &fit, &[0, 1])
            .p_curve(WildWeights::Rademacher, 9, 1)
            .is_none()
    );
}

/// Clusters with the same demeaned regressors (a balanced panel's units of one arm) share
/// their products with each replicate's δ: where some clusters have blocks of their own the
/// statistics are those of every cluster computed on its own, bit for bit; where every
/// cluster shares (the balanced panel), a replicate's sums are taken over per-cluster
/// products ([`Wild::projected`], the same numbers added in another order): equal to 1e-9 and
/// the same p-values, for one and for two tested coefficients and for the p-value curve.
#[test]
fn shared_cluster_blocks_give_the_same_statistics() {
    let mut seen = Vec::new();
    for file in ["panel.csv", "panel_unbalanced.csv"] {
        let cells = panel(file);
        let (d, fit) = fitted(&cells);
        for cols in [&[0][..], &[0, 1][..]] {
            let wild = Wild::new(&d, &fit, cols);
            let alone = wild.unshared();
            let beta0 = vec![0.5; cols.len()];
            for weights in [WildWeights::Rademacher, WildWeights::Webb] {
                assert_eq!(
                    wild.p_value(&beta0, weights, 999, 3),
                    alone.p_value(&beta0, weights, 999, 3),
                    "{file} {cols:?}"
                );
            }
            if cols.len() == 1 {
                let a = wild.p_curve(WildWeights::Webb, 999, 3).unwrap();
                let b = alone.p_curve(WildWeights::Webb, 999, 3).unwrap();
                for (x, y) in a.draws().iter().zip(b.draws()) {
                    if wild.all_shared() {
                        for (u, v) in x.iter().zip(y) {
                            assert!((u - v).abs() <= 1e-9 * v.abs().max(1.0), "{file}: {u} {v}");
                        }
                    } else {
                        assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits), "{file}");
                    }
                }
                let (est, se) = (fit.beta[0], fit.se(0));
                for step in -6..=6 {
                    let b0 = est + f64::from(step) * 0.5 * se;
                    assert_eq!(a.p_value(b0), b.p_value(b0), "{file} β0 = {b0}");
                }
            }
            seen.push((file, wild.shared_slots(), wild.all_shared()));
        }
    }
    // The balanced panel shares every block, the unbalanced one not all: both ways were
    // compared with the computation they replace.
    assert!(
        seen.iter().any(|&(f, _, all)| f == "panel.csv" && all),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|&(f, s, all)| f == "panel_unbalanced.csv" && s > 0 && !all),
        "{seen:?}"
    );
}

#[test]
fn wild_interval_inverts_the_test() {
    let cells = panel("panel.csv");
    let opts = EvaluationOptions {
        replicates: 1999,
        bootstrap_weights: WildWeights::Webb,
        ..EvaluationOptions::default()
    };
    let ev = evaluate(&cells, start(), &opts).unwrap();
    let w = ev.overall.wild.unwrap();
    let (lo, hi) = (w.lo.unwrap(), w.hi.unwrap());
    assert!(lo < ev.overall.estimate && ev.overall.estimate < hi);
    let (d, fit) = fitted(&cells);
    let wild = Wild::new(&d, &fit, &[0]);
    let p = |b0: f64| {
        wild.p_value(&[b0], WildWeights::Webb, 1999, opts.seed)
            .unwrap()
    };
    let eps = 1e-3;
    assert!(p(lo - eps) <= 0.05 && p(lo + eps) > 0.05, "{lo}");
    assert!(p(hi + eps) <= 0.05 && p(hi - eps) > 0.05, "{hi}");
    assert_eq!(p(0.0), w.p);
    // The bootstrap interval is wider than the CR1 one here (6 treated clusters).
    assert!(hi - lo > 0.9 * (ev.overall.hi_cr1 - ev.overall.lo_cr1));
}

#[test]
fn single_unit_twfe_equals_the_two_by_two_of_means_on_a_balanced_panel() {
    let cells = panel("panel.csv");
    let ev = evaluate(
        &cells,
        start(),
        &EvaluationOptions {
            replicates: 0,
            ..EvaluationOptions::default()
        },
    )
    .unwrap();
    assert_eq!(ev.units.len(), 6);
    for (u, m) in ev.units.iter().zip(&ev.unit_means) {
        assert_eq!(u.unit_code.as_deref(), Some(m.unit_code.as_str()));
        assert!((u.estimate - m.estimate.unwrap()).abs() < 1e-9);
    }
    // By hand for U03: means of its 4 pre / 4 post cells and of the 24 baseline units.
    let mean = |f: &dyn Fn(&PanelCell) -> bool| {
        let v: Vec<f64> = cells.iter().filter(|c| f(c)).map(|c| c.value).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let post = |c: &PanelCell| c.period >= start();
    let m = &ev.unit_means[0];
    assert_eq!(m.unit_code, "U03");
    let pp = mean(&|c| c.unit_code == "U03" && post(c));
    let p0 = mean(&|c| c.unit_code == "U03" && !post(c));
    let bp = mean(&|c| !c.pilot && post(c));
    let b0 = mean(&|c| !c.pilot && !post(c));
    assert!((m.estimate.unwrap() - ((pp - p0) - (bp - b0))).abs() < 1e-12);
    // SE: Σ over quadrants of Σ se² / n_q².
    let v = |f: &dyn Fn(&PanelCell) -> bool| {
        let s: Vec<f64> = cells
            .iter()
            .filter(|c| f(c))
            .map(|c| c.se.unwrap())
            .collect();
        s.iter().map(|x| x * x).sum::<f64>() / (s.len() * s.len()) as f64
    };
    let se = (v(&|c| c.unit_code == "U03" && post(c))
        + v(&|c| c.unit_code == "U03" && !post(c))
        + v(&|c| !c.pilot && post(c))
        + v(&|c| !c.pilot && !post(c)))
    .sqrt();
    assert!((m.se.unwrap() - se).abs() < 1e-12);
}

fn cell(code: &str, kind: &str, district: &str, period: &str, value: Option<f64>) -> CellEstimate {
    CellEstimate {
        unit_code: code.into(),
        unit_name: code.into(),
        district: district.into(),
        kind: kind.into(),
        pilot: false,
        period: period.parse().unwrap(),
        n: 10,
        sipas: Estimate {
            value,
            se: Some(1.0),
            lo: None,
            hi: None,
        },
        groups: vec![],
        items: vec![],
    }
}

#[test]
fn baseline_choices_select_units() {
    let cells = vec![
        cell("00001", "phuong", "A", "2024Q1", Some(80.0)), // pilot
        cell("00002", "phuong", "B", "2024Q1", Some(81.0)),
        cell("00002", "phuong", "B", "2024Q2", None),
        cell("00003", "xa", "A", "2024Q1", Some(70.0)),
        cell("00004", "xa", "C", "2024Q1", Some(75.0)),
        cell("00004", "xa", "C", "2024Q2", Some(76.0)),
    ];
    let pilots = PilotSet::new("p", "2024Q2".parse().unwrap(), ["00001".to_string()].into());
    let (p, s) = select_panel(&cells, &pilots, Baseline::All);
    assert_eq!(
        (s.pilot_units, s.baseline_units, s.dropped_units),
        (1, 3, 0)
    );
    assert_eq!((s.dropped_cells_undefined, s.cells), (1, 5));
    assert!(p[0].pilot && !p[1].pilot);
    let (p, s) = select_panel(&cells, &pilots, Baseline::SameKind);
    assert_eq!((s.baseline_units, s.dropped_units), (1, 2));
    assert_eq!((s.dropped_cells_outside_baseline, s.cells), (3, 2));
    assert_eq!(p[1].unit_code, "00002");
    let (p, s) = select_panel(&cells, &pilots, Baseline::SameDistrict);
    assert_eq!((s.baseline_units, s.dropped_units, s.cells), (1, 2, 2));
    assert_eq!(p[1].unit_code, "00003");
}

#[test]
fn options_parse_from_a_job_file_section() {
    #[derive(serde::Deserialize)]
    struct Job {
        evaluation: EvaluationOptions,
    }
    let job: Job = serde_json::from_str(
        r#"{"evaluation": {"baseline": "same_district", "weighting": "n", "bootstrap_weights": "webb", "seed": 3}}"#,
    )
    .unwrap();
    assert_eq!(job.evaluation.baseline, Baseline::SameDistrict);
    assert_eq!(job.evaluation.weighting, Weighting::N);
    assert_eq!(job.evaluation.bootstrap_weights, WildWeights::Webb);
    assert_eq!((job.evaluation.replicates, job.evaluation.seed), (9999, 3));
    assert!(serde_json::from_str::<EvaluationOptions>(r#"{"replicate": 9}"#).is_err());
}

#[test]
fn tables_are_written_with_six_decimals_and_reproducibly() {
    let cells = panel("panel_unbalanced.csv");
    let opts = EvaluationOptions {
        replicates: 199,
        ..EvaluationOptions::default()
    };
    let ev = evaluate(&cells, start(), &opts).unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_evaluation(&ev, None, a.path()).unwrap();
    write_evaluation(&evaluate(&cells, start(), &opts).unwrap(), None, b.path()).unwrap();
    for name in sipas_core::results::Stage::Evaluation.files() {
        let x = std::fs::read(a.path().join(&name)).unwrap();
        assert_eq!(x, std::fs::read(b.path().join(&name)).unwrap(), "{name}");
    }
    let did = std::fs::read_to_string(a.path().join("did_twfe.csv")).unwrap();
    let lines: Vec<&str> = did.lines().collect();
    assert_eq!(
        lines[0],
        "scope,unit_code,estimate,se_cr1,lo_cr1,hi_cr1,p_cr1,p_wild,lo_wild,hi_wild,n_clusters,n_treated,n_obs,bootstrap_weights,replicates,seed"
    );
    // R: estimate 3.1856..., see twfe.csv (unbalanced, equal, overall)
    let r = read_csv("twfe.csv");
    let r = r
        .iter()
        .find(|r| {
            r["panel"] == "unbalanced" && r["weighting"] == "equal" && r["scope"] == "overall"
        })
        .unwrap();
    assert!(lines[1].starts_with(&format!(
        "overall,,{:.6},{:.6},",
        f(r, "estimate"),
        f(r, "se")
    )));
    assert!(
        lines[1].ends_with(",30,6,233,rademacher,199,20240101"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 8);
    assert!(
        lines[2].starts_with("unit,U03,") && lines[2].ends_with(",25,1,196,,,"),
        "{}",
        lines[2]
    );
    let es = std::fs::read_to_string(a.path().join("event_study.csv")).unwrap();
    assert!(es.starts_with("k,period,estimate,se,lo,hi,p\n-4,2023Q1,"));
    assert!(es.contains("\n-1,2023Q4,0.000000,,,,\n"));
    let pt = std::fs::read_to_string(a.path().join("pretrend.csv")).unwrap();
    assert!(pt.starts_with("q,df1,df2,wald,f,p,p_wild,bootstrap_weights,replicates,seed\n3,3,29,"));
    let text = methods_text(&ev);
    assert!(text.contains("parallel") && text.contains("wild cluster restricted bootstrap"));
    assert!(text.is_ascii());
}

/// Each pilot unit's fit from the baseline's moments summed once is the fit made from its
/// own cells: the same design rows bit for bit, and the same estimate and CR1 SE up to the
/// order of the additions, on a balanced and an unbalanced panel and with both weightings.
/// Without a baseline cell in some period the moments are not shared.
#[test]
fn a_pilot_units_fit_from_the_shared_baseline_is_its_own_fit() {
    for name in ["balanced", "unbalanced"] {
        let cells = panel(file_of(name));
        let pilot_units: BTreeSet<&str> = cells
            .iter()
            .filter(|c| c.pilot)
            .map(|c| c.unit_code.as_str())
            .collect();
        for weighting in [Weighting::Equal, Weighting::N] {
            let ix = Indexed::new(&cells, start()).unwrap();
            let all: Vec<usize> = (0..cells.len()).collect();
            let treated = |i: usize| cells[i].pilot;
            let level = sipas_core::Level::DEFAULT;
            let (design, _, _) = did_fit(&ix, &all, &treated, weighting, level).unwrap();
            let base = BaselineMoments::new(&ix, &design).expect("the baseline has every period");
            for code in &pilot_units {
                let keep: Vec<usize> = (0..cells.len())
                    .filter(|&i| !cells[i].pilot || cells[i].unit_code == *code)
                    .collect();
                let (own_design, own_fit, own) =
                    did_fit(&ix, &keep, &treated, weighting, level).unwrap();
                let sub = design.subset(&keep);
                assert_eq!(sub.x, own_design.x, "{name} {code}");
                assert_eq!(sub.y, own_design.y);
                assert_eq!(sub.clusters, own_design.clusters);
                let shared = base.fit(&design, &keep, &treated).unwrap();
                let row = did_row(&ix, &keep, &treated, Some(&shared), level).unwrap();
                rel(row.estimate, own.estimate, 1e-10);
                rel(row.se_cr1, own.se_cr1, 1e-10);
                assert_eq!(row.n_clusters, own.n_clusters);
                assert_eq!(row.n_obs, own.n_obs);
                for (a, b) in shared.xtx.iter().zip(&own_fit.xtx) {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
                }
            }
        }
    }
    // The baseline without its cells of one period: each pilot unit's fit numbers its
    // periods otherwise, so nothing is shared.
    let cells = panel(file_of("balanced"));
    let last = cells.iter().map(|c| c.period).max().unwrap();
    let fewer: Vec<PanelCell> = cells
        .into_iter()
        .filter(|c| c.pilot || c.period != last)
        .collect();
    let ix = Indexed::new(&fewer, start()).unwrap();
    let (design, _) = fitted(&fewer);
    assert!(BaselineMoments::new(&ix, &design).is_none());
}
