//! Tests of the estimators against hand-derived values, an independent
//! naive implementation, polars and a coverage simulation.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::*;
use sipas_core::{Instrument, Level, bundled};

use super::*;
use crate::responses::ResponsesBuilder;

/// SIPAS = mean(e1, e2); e1 = mean(q1, q2); e2 = q3 ⇒ c = (1/4, 1/4, 1/2).
const MINI: &str = include_str!("../../../../../fixtures/instruments/test/mini.toml");

fn mini() -> Instrument {
    Instrument::from_toml_str(MINI, "mini").unwrap()
}

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
}

/// Filler rows so that the DiD (required by `aggregate`) exists: pilot unit
/// 05500 and baseline unit 05446, in 2023Q4 and 2024Q1, all answers `code`.
fn pad(b: &mut ResponsesBuilder, n_items: usize) {
    for unit in ["05500", "05446"] {
        for period in ["2023Q4", "2024Q1"] {
            for _ in 0..2 {
                b.push(unit, period, "survey", 1.0, &vec![Some(4); n_items])
                    .unwrap();
            }
        }
    }
}

fn cell<'a>(ix: &'a Indices, unit: &str, period: &str) -> &'a CellEstimate {
    ix.cells
        .iter()
        .find(|c| c.unit_code == unit && c.period.to_string() == period)
        .unwrap()
}

#[test]
fn hand_computed_cell() {
    // Cell 05443 × 2024Q1, answers (q1, q2, q3), satisfied = 4 or 5:
    //   row  w  q1 q2 q3   s1 s2 s3   a2
    //   1    1  5  4  2    1  1  0    1
    //   2    2  3  5  4    0  1  1    1
    //   3    1  4  -  5    1  0  1    0
    //   4    2  1  2  3    0  0  0    1
    //   5    1  5  4  4    1  1  1    1
    //   6    1  2  5  1    0  1  0    1
    // X1 = 1+2+1+2+1+1 = 8, Y1 = 1+1+1 = 3, R1 = 3/8 (37.5%)
    // X2 = 8 − 1 (row 3) = 7, Y2 = 1+2+1+1 = 5, R2 = 5/7 (71.428571%)
    // X3 = 8, Y3 = 2+1+1 = 4, R3 = 1/2 (50%)
    // e1 = 100·(3/8 + 5/7)/2 = 100·61/112 = 54.464286; e2 = 50
    // SIPAS = (e1 + e2)/2 = 100·(61/224 + 56/224) = 100·117/224 = 52.232143
    //
    // z_i = 100 w_i [ (s1 − 3/8 a1)/32 + (s2 − 5/7 a2)/28 + (s3 − 1/2 a3)/16 ]
    // (c_j/X_j = 1/32, 1/28, 1/16). In units of 1/12544:
    //   row 1: 5/256 + 1/98 − 1/32       = (245 + 128 − 392) = −19   → z = −1900/12544
    //   row 2: −3/256 + 1/98 + 1/32      = (−147 + 128 + 392) = 373  → z = 2·37300/12544
    //   row 3: 5/256 + 0 + 1/32          = (245 + 0 + 392)   = 637   → z = 63700/12544 = 325/64
    //   row 4: −3/256 − 5/196 − 1/32     = (−147 − 320 − 392) = −859 → z = −2·85900/12544
    //   row 5: 5/256 + 1/98 + 1/32       = (245 + 128 + 392) = 765   → z = 76500/12544
    //   row 6: −3/256 + 1/98 − 1/32      = (−147 + 128 − 392) = −411 → z = −41100/12544
    // Σ z = (−1900 + 74600 + 63700 − 171800 + 76500 − 41100)/12544 = 0 ⇒ z̄ = 0.
    // Σ z² = (1900² + 74600² + 63700² + 171800² + 76500² + 41100²)/12544²
    //      = 46 683 160 000 / 157 351 936 = 296.679921
    // Var = 6/5 · Σ z² = 356.015906 and SE = 18.868384
    let mut b = Responses::builder(mini());
    let rows: [(f64, [Option<u8>; 3]); 6] = [
        (1.0, [Some(5), Some(4), Some(2)]),
        (2.0, [Some(3), Some(5), Some(4)]),
        (1.0, [Some(4), None, Some(5)]),
        (2.0, [Some(1), Some(2), Some(3)]),
        (1.0, [Some(5), Some(4), Some(4)]),
        (1.0, [Some(2), Some(5), Some(1)]),
    ];
    for (w, a) in &rows {
        b.push("05443", "2024Q1", "survey", *w, a).unwrap();
    }
    pad(&mut b, 3);
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    let c = cell(&ix, "05443", "2024Q1");
    assert_eq!(c.n, 6);
    assert_eq!(c.unit_name, "Phường Trưng Vương");
    assert!(c.pilot);
    let n_valid: Vec<usize> = c.items.iter().map(|i| i.n_valid).collect();
    assert_eq!(n_valid, [6, 5, 6]);
    close(c.items[0].share.unwrap(), 37.5, 1e-12);
    close(c.items[1].share.unwrap(), 500.0 / 7.0, 1e-12);
    close(c.items[2].share.unwrap(), 50.0, 1e-12);
    assert_eq!(ix.group_ids, ["e1", "e2"]);
    close(c.groups[0].unwrap(), 6100.0 / 112.0, 1e-12);
    close(c.groups[1].unwrap(), 50.0, 1e-12);
    close(c.sipas.value.unwrap(), 11700.0 / 224.0, 1e-12);
    let sum_z2 = (1900f64.powi(2)
        + 74600f64.powi(2)
        + 63700f64.powi(2)
        + 171_800f64.powi(2)
        + 76500f64.powi(2)
        + 41100f64.powi(2))
        / 12544f64.powi(2);
    close(sum_z2, 296.679_921, 1e-6);
    let se = (6.0 / 5.0 * sum_z2).sqrt();
    close(se, 18.868_384, 1e-6);
    close(c.sipas.se.unwrap(), se, 1e-10);
    close(c.sipas.lo.unwrap(), 11700.0 / 224.0 - 1.96 * se, 1e-10);
    close(c.sipas.hi.unwrap(), 11700.0 / 224.0 + 1.96 * se, 1e-10);
}

#[test]
fn single_response_cell_has_no_se_and_missing_item_leaves_index_undefined() {
    let mut b = Responses::builder(mini());
    b.push(
        "05443",
        "2024Q1",
        "survey",
        1.0,
        &[Some(5), Some(4), Some(1)],
    )
    .unwrap();
    // q3 never answered in this cell ⇒ e2 and SIPAS undefined, e1 defined.
    b.push("05449", "2024Q1", "survey", 1.0, &[Some(5), Some(1), None])
        .unwrap();
    b.push("05449", "2024Q1", "survey", 2.0, &[Some(2), Some(4), None])
        .unwrap();
    pad(&mut b, 3);
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    let one = cell(&ix, "05443", "2024Q1");
    close(one.sipas.value.unwrap(), 100.0 * (0.25 + 0.25), 1e-12);
    assert_eq!(one.sipas.se, None);
    assert_eq!(one.sipas.lo, None);
    let und = cell(&ix, "05449", "2024Q1");
    assert_eq!(und.sipas, Estimate::default());
    // e1 = 100·(1/3 + 2/3)/2 = 50.
    close(und.groups[0].unwrap(), 50.0, 1e-12);
    assert_eq!(und.groups[1], None);
    assert_eq!(und.items[2], ItemShare::default());
    assert_eq!(ix.report.cells_single_response, 1);
    assert_eq!(ix.report.cells_undefined_sipas, 1);
}

#[test]
fn rollup_of_both_bundled_instruments() {
    // 2023: every policy item satisfied (5), every service item not (2):
    // policy elements 100, service elements 0, policy 100, service 0, SIPAS 50.
    let inst = bundled::instrument("sipas-2023").unwrap();
    let policy = inst.coefficients("policy").unwrap().to_vec();
    let answers: Vec<Option<u8>> = policy
        .iter()
        .map(|&c| Some(if c > 0.0 { 5 } else { 2 }))
        .collect();
    let mut b = Responses::builder(inst.clone());
    for w in [1.0, 2.5, 0.7] {
        b.push("05443", "2024Q1", "survey", w, &answers).unwrap();
    }
    pad(&mut b, inst.items().len());
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    let c = cell(&ix, "05443", "2024Q1");
    let got: BTreeMap<&str, f64> = ix
        .group_ids
        .iter()
        .map(String::as_str)
        .zip(c.groups.iter().map(|g| g.unwrap()))
        .collect();
    for g in [
        "accountability",
        "participation",
        "policy_quality",
        "impact",
        "policy",
    ] {
        close(got[g], 100.0, 1e-12);
    }
    for g in [
        "access",
        "procedures",
        "staff",
        "results",
        "feedback",
        "service",
    ] {
        close(got[g], 0.0, 1e-12);
    }
    close(c.sipas.value.unwrap(), 50.0, 1e-12);
    // Every row has the same z (same answers, z ∝ w·(Σ c(s − R)) = 0): SE 0.
    close(c.sipas.se.unwrap(), 0.0, 1e-12);

    // 2017: access and staff satisfied, the other three elements not:
    // SIPAS = (100 + 0 + 100 + 0 + 0)/5 = 40.
    let inst = bundled::instrument("sipas-2017").unwrap();
    let answers: Vec<Option<u8>> = inst
        .items()
        .iter()
        .map(|i| {
            Some(if i.group == "access" || i.group == "staff" {
                4
            } else {
                3
            })
        })
        .collect();
    let mut b = Responses::builder(inst.clone());
    b.push("05443", "2024Q1", "survey", 1.0, &answers).unwrap();
    b.push("05443", "2024Q1", "survey", 3.0, &answers).unwrap();
    pad(&mut b, inst.items().len());
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    let c = cell(&ix, "05443", "2024Q1");
    assert_eq!(
        ix.group_ids,
        ["access", "procedures", "staff", "results", "feedback"]
    );
    for (g, want) in c.groups.iter().zip([100.0, 0.0, 100.0, 0.0, 0.0]) {
        close(g.unwrap(), want, 1e-12);
    }
    close(c.sipas.value.unwrap(), 40.0, 1e-12);
}

#[test]
fn wilson_bounds() {
    // p = 0.5, n = 10, z² = 3.841459: denom = 1 + z²/10 = 1.3841459;
    // centre = (0.5 + 0.1920729)/1.3841459 = 0.5;
    // half = (1.959964/1.3841459)·√(0.025 + 3.841459/400) = 1.416016·0.1860199 = 0.2634073
    // ⇒ [23.659, 76.341] %.
    // p = 0: centre = 0.1920729/1.3841459 = 0.1387660 = half ⇒ [0, 27.753] %.
    // p = 1 mirrors p = 0 ⇒ [72.247, 100] %.
    // p = 0.8, n = 100: denom = 1.0384146, centre = (0.8 + 0.0192073)/1.0384146 = 0.7889020,
    // half = 1.887452·√(0.0016 + 0.0000960) = 1.887452·0.0411830 = 0.0777311 ⇒ [71.117, 86.663] %.
    // (Bounds hand-rounded to 3 decimals: 5e-4; the exact 0 and 100 to 1e-12.)
    for (p, n, lo, hi) in [
        (0.5, 10, 23.659, 76.341),
        (0.0, 10, 0.0, 27.753),
        (1.0, 10, 72.247, 100.0),
        (0.8, 100, 71.117, 86.663),
    ] {
        let (l, h) = wilson(p, n, Level::DEFAULT).unwrap();
        let tol = |x: f64| if x == 0.0 || x == 100.0 { 1e-12 } else { 5e-4 };
        close(l, lo, tol(lo));
        close(h, hi, tol(hi));
    }
    assert_eq!(wilson(0.5, 0, Level::DEFAULT), None);
}

#[test]
fn period_arms_compare_at_the_coarser_granularity() {
    let p = |s: &str| s.parse::<Period>().unwrap();
    assert!(!is_post(p("2023Q4"), p("2024Q1")));
    assert!(is_post(p("2024Q1"), p("2024Q1")));
    assert!(is_post(p("2024"), p("2024Q3")));
    assert!(!is_post(p("2023"), p("2024Q1")));
    assert!(!is_post(p("2024-03"), p("2024Q2")));
    assert!(is_post(p("2024-04"), p("2024Q2")));
}

/// Unit, period and (weight, satisfied) rows of one cell.
type CellRows<'a> = (&'a str, &'a str, &'a [(f64, bool)]);

/// A row of the independent naive computation: stratum, weight, answers.
type NaiveRow = (String, f64, Vec<Option<u8>>);

/// SIPAS and its variance over `rows`, straight from the formulas, with the
/// mini instrument coefficients (1/4, 1/4, 1/2).
fn naive(rows: &[NaiveRow]) -> (f64, f64) {
    let c = [0.25, 0.25, 0.5];
    let sat = |a: Option<u8>| f64::from(u8::from(a.is_some_and(|v| v >= 4)));
    let ans = |a: Option<u8>| f64::from(u8::from(a.is_some()));
    let mut x = [0.0; 3];
    let mut y = [0.0; 3];
    for (_, w, a) in rows {
        for j in 0..3 {
            x[j] += w * ans(a[j]);
            y[j] += w * sat(a[j]);
        }
    }
    let r: Vec<f64> = (0..3).map(|j| y[j] / x[j]).collect();
    let g = 100.0 * (0..3).map(|j| c[j] * r[j]).sum::<f64>();
    let mut strata: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (h, w, a) in rows {
        let z = 100.0
            * w
            * (0..3)
                .map(|j| c[j] * (sat(a[j]) - r[j] * ans(a[j])) / x[j])
                .sum::<f64>();
        strata.entry(h).or_default().push(z);
    }
    let var = strata
        .values()
        .filter(|z| z.len() > 1)
        .map(|z| {
            let n = z.len() as f64;
            let m = z.iter().sum::<f64>() / n;
            n / (n - 1.0) * z.iter().map(|v| (v - m).powi(2)).sum::<f64>()
        })
        .sum();
    (g, var)
}

#[test]
fn pooled_groups_and_did() {
    // One satisfied flag per row, repeated on all three items, so every
    // index equals 100·Y/X of the flags. Pilot units A = 05443, B = 05500;
    // baseline C = 05446, D = 05449. Start 2024Q1.
    //   pilot pre  (2023Q4): A (1,s)(1,n)(2,s) B (1,s)(3,n)          Y = 4, X = 8  ⇒ 50
    //   pilot post (2024Q1): A (1,s)(1,s)(2,n) B (2,s)(1,s)(1,n)
    //              (2024Q2): A (1,s)(1,s)      B (1,s)(1,n)          Y = 8, X = 12 ⇒ 66.667
    //   base pre   (2023Q4): C (1,s)(1,n)      D (1,s)(1,n)(2,n)     Y = 2, X = 6  ⇒ 33.333
    //   base post  (2024Q1): C (1,s)(1,s)(1,n)(1,n) D (2,s)(2,n)
    //              (2024Q2): C (1,s)(1,n)      D (1,s)(1,s)          Y = 7, X = 12 ⇒ 58.333
    // DiD = (66.667 − 50) − (58.333 − 33.333) = 50/3 − 25 = −25/3.
    // 2024Q1 pooled: pilot Y = 2 + 3 = 5, X = 8 ⇒ 62.5; baseline Y = 4, X = 8 ⇒ 50.
    let data: &[CellRows] = &[
        ("05443", "2023Q4", &[(1.0, true), (1.0, false), (2.0, true)]),
        ("05500", "2023Q4", &[(1.0, true), (3.0, false)]),
        ("05443", "2024Q1", &[(1.0, true), (1.0, true), (2.0, false)]),
        ("05500", "2024Q1", &[(2.0, true), (1.0, true), (1.0, false)]),
        ("05443", "2024Q2", &[(1.0, true), (1.0, true)]),
        ("05500", "2024Q2", &[(1.0, true), (1.0, false)]),
        ("05446", "2023Q4", &[(1.0, true), (1.0, false)]),
        (
            "05449",
            "2023Q4",
            &[(1.0, true), (1.0, false), (2.0, false)],
        ),
        (
            "05446",
            "2024Q1",
            &[(1.0, true), (1.0, true), (1.0, false), (1.0, false)],
        ),
        ("05449", "2024Q1", &[(2.0, true), (2.0, false)]),
        ("05446", "2024Q2", &[(1.0, true), (1.0, false)]),
        ("05449", "2024Q2", &[(1.0, true), (1.0, true)]),
    ];
    let mut b = Responses::builder(mini());
    let mut rows: Vec<(String, String, NaiveRow)> = Vec::new();
    for (unit, period, rs) in data {
        for &(w, s) in *rs {
            let a = vec![Some(if s { 5 } else { 1 }); 3];
            b.push(unit, period, "survey", w, &a).unwrap();
            rows.push((
                (*unit).to_string(),
                (*period).to_string(),
                (format!("{unit}×{period}"), w, a),
            ));
        }
    }
    // A QR rating in a pilot cell: excluded, never pooled.
    b.push("05443", "2024Q1", "qr", 1.0, &[Some(1); 3]).unwrap();
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();

    let pilots = ["05443", "05500"];
    let select = |pilot: bool, periods: &[&str]| -> Vec<NaiveRow> {
        rows.iter()
            .filter(|(u, p, _)| {
                pilots.contains(&u.as_str()) == pilot && periods.contains(&p.as_str())
            })
            .map(|(_, _, r)| r.clone())
            .collect()
    };
    let (pp, vpp) = naive(&select(true, &["2023Q4"]));
    let (pq, vpq) = naive(&select(true, &["2024Q1", "2024Q2"]));
    let (bp, vbp) = naive(&select(false, &["2023Q4"]));
    let (bq, vbq) = naive(&select(false, &["2024Q1", "2024Q2"]));
    close(pp, 50.0, 1e-12);
    close(pq, 200.0 / 3.0, 1e-12);
    close(bp, 100.0 / 3.0, 1e-12);
    close(bq, 175.0 / 3.0, 1e-12);

    let d = ix.did.as_ref().expect("both sides of the start have data");
    assert_eq!(d.pilot_start.to_string(), "2024Q1");
    close(d.estimate, -25.0 / 3.0, 1e-12);
    close(d.pilot_pre.value.unwrap(), 50.0, 1e-12);
    close(d.pilot_post.value.unwrap(), 200.0 / 3.0, 1e-12);
    close(d.baseline_pre.value.unwrap(), 100.0 / 3.0, 1e-12);
    close(d.baseline_post.value.unwrap(), 175.0 / 3.0, 1e-12);
    close(d.pilot_post.se.unwrap(), vpq.sqrt(), 1e-10);
    let se = (vpp + vpq + vbp + vbq).sqrt();
    assert!(se > 1.0);
    close(d.se, se, 1e-10);
    close(d.lo, -25.0 / 3.0 - 1.96 * se, 1e-10);
    close(d.hi, -25.0 / 3.0 + 1.96 * se, 1e-10);

    // groups.csv rows: baseline then pilot, per period.
    let labels: Vec<String> = ix
        .groups
        .iter()
        .map(|g| format!("{} {}", g.period, g.group.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            "2023Q4 baseline",
            "2023Q4 pilot",
            "2024Q1 baseline",
            "2024Q1 pilot",
            "2024Q2 baseline",
            "2024Q2 pilot"
        ]
    );
    let g = &ix.groups[3];
    assert_eq!(g.n, 6); // the QR row is not counted
    close(g.sipas.value.unwrap(), 62.5, 1e-12);
    let (v, var) = naive(&select(true, &["2024Q1"]));
    close(v, 62.5, 1e-12);
    close(g.sipas.se.unwrap(), var.sqrt(), 1e-10);
    close(ix.groups[2].sipas.value.unwrap(), 50.0, 1e-12);

    let r = &ix.report;
    assert_eq!(r.rows_read, 31);
    assert_eq!(r.rows_used, 30);
    assert_eq!(r.rows_excluded_channel, 1);
    assert_eq!(r.excluded_by_channel.get("qr"), Some(&1));
    assert_eq!(r.cells, 12);
    assert_eq!(r.cells_pilot, 6);
    assert_eq!(r.did_pre_periods, ["2023Q4"]);
    assert_eq!(r.did_post_periods, ["2024Q1", "2024Q2"]);
    // 05443 × 2024Q1 still has 3 survey rows, the QR one is not counted.
    assert_eq!(cell(&ix, "05443", "2024Q1").n, 3);
}

#[test]
fn without_a_did_the_tables_remain_and_the_reason_names_the_missing_part() {
    let mut b = Responses::builder(mini());
    for unit in ["05443", "05446"] {
        b.push(unit, "2024Q1", "survey", 1.0, &[Some(4); 3])
            .unwrap();
    }
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    assert!(ix.did.is_none());
    assert_eq!(
        ix.report.did_unavailable.as_deref(),
        Some("pilot start 2024Q1: no period before the start")
    );
    // The single round still has its cells and groups.
    assert_eq!(ix.cells.len(), 2);
    assert_eq!(ix.groups.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    crate::write_results(&ix, dir.path()).unwrap();
    let did = std::fs::read_to_string(dir.path().join("did.csv")).unwrap();
    assert_eq!(
        did,
        "pilot_start,estimate,se,lo,hi,pilot_pre,pilot_post,baseline_pre,baseline_post\n"
    );

    let mut b = Responses::builder(mini());
    for period in ["2023Q4", "2024Q1"] {
        b.push("05446", period, "survey", 1.0, &[Some(4); 3])
            .unwrap();
    }
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap();
    assert!(ix.did.is_none());
    assert_eq!(
        ix.report.did_unavailable.as_deref(),
        Some("pilot start 2024Q1: no pilot rows before the start")
    );
}

#[test]
fn unknown_unit_is_an_error() {
    let mut b = Responses::builder(mini());
    b.push("99999", "2024Q1", "survey", 1.0, &[Some(4); 3])
        .unwrap();
    pad(&mut b, 3);
    let err = aggregate(&b.build().unwrap(), &AggregateOptions::bundled()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unit code 99999 is not in the unit registry"
    );
}

/// The design's generator (splitmix64).
use crate::design::SplitMix as Rng;

#[test]
fn intervals_cover_the_truth() {
    let rate = coverage(20_240_101);
    eprintln!("coverage of the 95% SIPAS intervals: {rate}");
    assert!((0.92..=0.98).contains(&rate), "coverage {rate}");
}

#[test]
#[ignore = "slow: checks the coverage over several seeds"]
fn coverage_over_seeds() {
    let rates: Vec<f64> = (1..=8).map(coverage).collect();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    eprintln!("coverage per seed {rates:?}, mean {mean}");
    assert!((0.93..=0.97).contains(&mean), "mean coverage {mean}");
}

fn coverage(seed: u64) -> f64 {
    // 100 units × 4 quarters = 400 cells of 80 responses; per cell and item
    // an independent P(satisfied) p_j ∈ [0.55, 0.95]; 10% of answers missing;
    // weights uniform on [0.5, 2]. Truth = 100·Σ c_j p_j with c = (1/4, 1/4, 1/2).
    let units = bundled::units();
    let pilots = bundled::pilots();
    let mut codes: Vec<String> = pilots.units.iter().cloned().collect();
    codes.extend(
        units
            .iter()
            .filter(|u| !pilots.contains(&u.code))
            .take(88)
            .map(|u| u.code.clone()),
    );
    let periods = ["2023Q3", "2023Q4", "2024Q1", "2024Q2"];
    let c = [0.25, 0.25, 0.5];
    let mut rng = Rng(seed);
    let mut truth = BTreeMap::new();
    let mut b = Responses::builder(mini());
    for code in &codes {
        for period in periods {
            let p: Vec<f64> = (0..3).map(|_| 0.55 + 0.4 * rng.unif()).collect();
            truth.insert(
                (code.clone(), period.to_string()),
                100.0 * (0..3).map(|j| c[j] * p[j]).sum::<f64>(),
            );
            for _ in 0..80 {
                let w = 0.5 + 1.5 * rng.unif();
                let a: Vec<Option<u8>> = p
                    .iter()
                    .map(|&pj| {
                        if rng.unif() < 0.1 {
                            None
                        } else if rng.unif() < pj {
                            Some(4 + (rng.next() % 2) as u8)
                        } else {
                            Some(1 + (rng.next() % 3) as u8)
                        }
                    })
                    .collect();
                b.push(code, period, "survey", w, &a).unwrap();
            }
        }
    }
    let ix = aggregate(&b.build().unwrap(), &AggregateOptions::new(units, pilots)).unwrap();
    assert_eq!(ix.cells.len(), 400);
    let covered = ix
        .cells
        .iter()
        .filter(|cell| {
            let t = truth[&(cell.unit_code.clone(), cell.period.to_string())];
            cell.sipas.lo.unwrap() <= t && t <= cell.sipas.hi.unwrap()
        })
        .count();
    covered as f64 / 400.0
}

fn random_frame(seed: u64) -> DataFrame {
    // 2017 instrument, 2 pilot + 2 baseline units × 2 quarters, 40 rows each,
    // some QR rows, ~15% missing answers.
    let inst = bundled::instrument("sipas-2017").unwrap();
    let mut rng = Rng(seed);
    let (mut unit, mut period, mut channel, mut weight, mut rid) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut items: Vec<Vec<Option<u8>>> = vec![Vec::new(); inst.items().len()];
    for u in ["05443", "05500", "05446", "05449"] {
        for p in ["2023Q4", "2024Q1"] {
            for i in 0..40 {
                rid.push(format!("{u}-{p}-{i}"));
                unit.push(u.to_string());
                period.push(p.to_string());
                channel.push(if rng.unif() < 0.1 { "kiosk" } else { "survey" }.to_string());
                weight.push(0.3 + 3.0 * rng.unif());
                for col in &mut items {
                    col.push((rng.unif() >= 0.15).then(|| 1 + (rng.next() % 5) as u8));
                }
            }
        }
    }
    let mut cols = vec![
        Column::new("response_id".into(), rid),
        Column::new("unit_code".into(), unit),
        Column::new("period".into(), period),
        Column::new("channel".into(), channel),
        Column::new("weight".into(), weight),
    ];
    for (it, col) in inst.items().iter().zip(items) {
        cols.push(Column::new(it.id.as_str().into(), col));
    }
    DataFrame::new_infer_height(cols).unwrap()
}

#[test]
fn item_shares_match_a_polars_group_by() {
    let df = random_frame(7);
    let responses = Responses::from_frame(&df, None, "random frame").unwrap();
    assert_eq!(responses.instrument().id, "sipas-2017");
    let ix = aggregate(&responses, &AggregateOptions::bundled()).unwrap();
    let inst = responses.instrument();
    let mut aggs = Vec::new();
    for id in inst.item_ids() {
        let sat = col(id)
            .gt_eq(lit(4u8))
            .fill_null(lit(false))
            .cast(DataType::Float64);
        let ans = col(id).is_not_null().cast(DataType::Float64);
        aggs.push(
            (lit(100.0) * (col("weight") * sat).sum() / (col("weight") * ans).sum())
                .alias(format!("share_{id}")),
        );
    }
    let out = df
        .lazy()
        .filter(col("channel").eq(lit("survey")))
        .group_by([col("unit_code"), col("period")])
        .agg(aggs)
        .sort(["unit_code", "period"], SortMultipleOptions::default())
        .collect()
        .unwrap();
    assert_eq!(out.height(), ix.cells.len());
    let units = out.column("unit_code").unwrap().str().unwrap().clone();
    let periods = out.column("period").unwrap().str().unwrap().clone();
    for (r, c) in ix.cells.iter().enumerate() {
        assert_eq!(units.get(r), Some(c.unit_code.as_str()));
        assert_eq!(periods.get(r).unwrap(), c.period.to_string());
        for (j, id) in inst.item_ids().iter().enumerate() {
            let expected = out
                .column(&format!("share_{id}"))
                .unwrap()
                .f64()
                .unwrap()
                .get(r)
                .unwrap();
            close(c.items[j].share.unwrap(), expected, 1e-12);
        }
    }
}

#[test]
fn results_are_identical_between_runs() {
    let df = random_frame(11);
    let responses = Responses::from_frame(&df, None, "random frame").unwrap();
    let opts = AggregateOptions::bundled();
    let a = aggregate(&responses, &opts).unwrap();
    let b = aggregate(&responses, &opts).unwrap();
    assert_eq!(a, b);
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = (dir.path().join("one"), dir.path().join("two"));
    crate::write_results(&a, &d1).unwrap();
    crate::write_results(&b, &d2).unwrap();
    crate::write_results(&b, &d2).unwrap(); // overwriting in place works
    let files = sipas_core::results::Stage::Aggregate.files();
    for f in &files {
        let x = std::fs::read(d1.join(f)).unwrap();
        assert!(!x.is_empty(), "{f}");
        assert_eq!(x, std::fs::read(d2.join(f)).unwrap(), "{f}");
    }
    // Nothing but the results is left behind (temp files are renamed).
    assert_eq!(std::fs::read_dir(&d2).unwrap().count(), files.len());
}

/// An instrument of 70 items (two mask words, nine bytes): SIPAS = mean of
/// e1 (items 1–40) and e2 (items 41–70).
fn wide() -> Instrument {
    let mut t = MINI[..MINI.find("[[items]]").unwrap()].replace("id = \"mini\"", "id = \"wide\"");
    for j in 0..70 {
        let g = if j < 40 { "e1" } else { "e2" };
        writeln!(
            t,
            "[[items]]\nid = \"w{j}\"\ngroup = \"{g}\"\ntext_vi = \"x\"\ntext_en = \"x\""
        )
        .unwrap();
    }
    Instrument::from_toml_str(&t, "wide").unwrap()
}

/// A row's weight and answers.
type WeightedAnswers = (f64, Vec<Option<u8>>);

#[test]
fn masks_of_many_items_match_the_formulas_in_small_and_large_cells() {
    // Cells of 40 rows (totalled item by item) and 300 rows (through byte
    // histograms), 70 items, weights in [0.5, 2], 15% missing: every share,
    // count, SIPAS and its linearized SE equal the formulas computed here
    // from the codes.
    let inst = wide();
    let n_items = inst.items().len();
    let c = inst.coefficients(inst.root()).unwrap().to_vec();
    assert!((c[0] - 0.5 / 40.0).abs() < 1e-15 && (c[69] - 0.5 / 30.0).abs() < 1e-15);
    let mut rng = Rng(7);
    let mut b = Responses::builder(inst.clone());
    let mut want: Vec<(&str, Vec<WeightedAnswers>)> = Vec::new();
    for (period, n) in [("2023Q4", 40), ("2024Q1", 300)] {
        let mut rows = Vec::new();
        for _ in 0..n {
            let w = 0.5 + 1.5 * rng.unif();
            let a: Vec<Option<u8>> = (0..n_items)
                .map(|_| (rng.unif() >= 0.15).then(|| 1 + (rng.next() % 5) as u8))
                .collect();
            b.push("05443", period, "survey", w, &a).unwrap();
            rows.push((w, a));
        }
        want.push((period, rows));
    }
    pad(&mut b, n_items);
    let r = b.build().unwrap();
    assert_eq!(r.words(), 2);
    let ix = aggregate(&r, &AggregateOptions::bundled()).unwrap();
    for (period, rows) in &want {
        let got = cell(&ix, "05443", period);
        let (mut x, mut y, mut nv) = (vec![0.0; n_items], vec![0.0; n_items], vec![0; n_items]);
        for (w, a) in rows {
            for j in 0..n_items {
                if let Some(code) = a[j] {
                    x[j] += w;
                    nv[j] += 1;
                    if code >= 4 {
                        y[j] += w;
                    }
                }
            }
        }
        for j in 0..n_items {
            assert_eq!(got.items[j].n_valid, nv[j], "{period} item {j}");
            close(got.items[j].share.unwrap(), 100.0 * y[j] / x[j], 1e-9);
        }
        let value = 100.0 * (0..n_items).map(|j| c[j] * y[j] / x[j]).sum::<f64>();
        let z: Vec<f64> = rows
            .iter()
            .map(|(w, a)| {
                100.0
                    * w
                    * (0..n_items)
                        .map(|j| {
                            let (s, ans) = match a[j] {
                                None => (0.0, 0.0),
                                Some(code) => (f64::from(u8::from(code >= 4)), 1.0),
                            };
                            c[j] * (s - y[j] / x[j] * ans) / x[j]
                        })
                        .sum::<f64>()
            })
            .collect();
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = n / (n - 1.0) * z.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        close(got.sipas.value.unwrap(), value, 1e-9);
        close(got.sipas.se.unwrap(), var.sqrt(), 1e-9);
        assert!(
            got.sipas.se.unwrap() > 0.3,
            "{period}: a real spread {:?}",
            got.sipas.se
        );
    }
}

#[test]
fn rows_in_any_order_give_the_same_indices() {
    // Six cells of 40 rows (pilots 05443, 05500; baseline 05446; before and
    // from the 2024Q1 start), pushed cell after cell (runs of rows) and
    // round robin (every row its own run: the counting-sorted path). A
    // cell's rows keep their relative order, so every sum is taken in the
    // same order and the results agree to the bit.
    let inst = wide();
    let n_items = inst.items().len();
    let mut rng = Rng(11);
    let cells: Vec<(&str, &str)> = ["05443", "05500", "05446"]
        .into_iter()
        .flat_map(|u| [(u, "2023Q4"), (u, "2024Q1")])
        .collect();
    let rows: Vec<Vec<WeightedAnswers>> = cells
        .iter()
        .map(|_| {
            (0..40)
                .map(|_| {
                    let w = 0.5 + 1.5 * rng.unif();
                    let a = (0..n_items)
                        .map(|_| (rng.unif() >= 0.1).then(|| 1 + (rng.next() % 5) as u8))
                        .collect();
                    (w, a)
                })
                .collect()
        })
        .collect();
    let mut grouped = Responses::builder(inst.clone());
    for ((u, p), rs) in cells.iter().zip(&rows) {
        for (w, a) in rs {
            grouped.push(u, p, "survey", *w, a).unwrap();
        }
    }
    let mut mixed = Responses::builder(inst);
    for i in 0..40 {
        for ((u, p), rs) in cells.iter().zip(&rows) {
            mixed.push(u, p, "survey", rs[i].0, &rs[i].1).unwrap();
        }
    }
    let opts = AggregateOptions::bundled();
    let a = aggregate(&grouped.build().unwrap(), &opts).unwrap();
    let b = aggregate(&mixed.build().unwrap(), &opts).unwrap();
    assert_eq!(a.cells.len(), 6);
    assert!(a.did.is_some());
    assert_eq!(a, b);
}

#[test]
fn point_estimates_are_the_cells_without_their_sipas_se() {
    // Same cells, shares, intervals, groups and SIPAS values as `aggregate`;
    // only the SIPAS SE and its interval are absent.
    let inst = wide();
    let n_items = inst.items().len();
    let mut rng = Rng(5);
    let mut b = Responses::builder(inst);
    for (unit, period, n) in [
        ("05443", "2023Q4", 30),
        ("05443", "2024Q1", 300),
        ("05446", "2024Q1", 1),
    ] {
        for _ in 0..n {
            let a: Vec<Option<u8>> = (0..n_items)
                .map(|_| (rng.unif() >= 0.2).then(|| 1 + (rng.next() % 5) as u8))
                .collect();
            b.push(unit, period, "survey", 0.5 + rng.unif(), &a)
                .unwrap();
        }
    }
    pad(&mut b, n_items);
    let r = b.build().unwrap();
    let opts = AggregateOptions::bundled();
    let full = aggregate(&r, &opts).unwrap().cells;
    let point = point_estimates(&r, &opts).unwrap();
    assert_eq!(point.len(), full.len());
    assert!(full.iter().filter(|c| c.sipas.se.is_some()).count() >= 3);
    for (p, f) in point.iter().zip(&full) {
        let mut f = f.clone();
        f.sipas.se = None;
        f.sipas.lo = None;
        f.sipas.hi = None;
        assert_eq!(p, &f);
    }
}
