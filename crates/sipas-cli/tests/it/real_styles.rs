//! Issue 13's acceptance check: on data shaped like a real survey (40% of
//! respondents give "Hài lòng" to every item, a file sent twice), clean
//! keeps every respondent, drops exactly the re-sent copies, and SIPAS and
//! its SE equal the formulas on the kept rows.

use std::collections::BTreeSet;

use sipas_aggregate::{AggregateOptions, DesignSpec, Responses, aggregate, estimate_domains};
use sipas_clean::{CleanOptions, Response, ResponseTable, clean};
use sipas_core::bundled;

/// A small deterministic generator (64-bit LCG), independent of sipas-synth.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CELLS: [(&str, &str); 4] = [
    ("05443", "2024Q1"),
    ("05443", "2024Q2"),
    ("05602", "2024Q1"),
    ("05602", "2024Q2"),
];

/// 4 cells × 60 respondents (24 of each cell answer 4 to every item, at
/// distinct times), then 10 of them sent again in `resent.csv` under new ids.
fn table() -> (ResponseTable, BTreeSet<String>) {
    let inst = bundled::instrument("sipas-2017").unwrap();
    let items: Vec<String> = inst.item_ids().iter().map(|s| (*s).to_string()).collect();
    let mut rng = Lcg(13);
    let mut rows = Vec::new();
    for (c, (unit, period)) in CELLS.iter().enumerate() {
        for i in 0..60u32 {
            let answers: Vec<Option<u8>> = if i < 24 {
                vec![Some(4); items.len()]
            } else {
                (0..items.len())
                    .map(|_| {
                        let u = rng.next();
                        // 5% missing, else 1–5 weighted towards 4.
                        if u < 0.05 {
                            None
                        } else {
                            Some(match rng.next() {
                                x if x < 0.05 => 1,
                                x if x < 0.15 => 2,
                                x if x < 0.35 => 3,
                                x if x < 0.80 => 4,
                                _ => 5,
                            })
                        }
                    })
                    .collect()
            };
            let month = if period.ends_with("Q1") { 2 } else { 5 };
            rows.push(Response {
                response_id: format!("k-{c}-{i:03}"),
                unit_code: (*unit).to_string(),
                period: (*period).to_string(),
                submitted_at: Some(format!(
                    "2024-{month:02}-{:02}T{:02}:{:02}:00+07:00",
                    1 + i % 28,
                    8 + i % 9,
                    i % 60
                )),
                channel: "survey".into(),
                weight: 1.0,
                answers,
                source_file: "kobo.csv".into(),
                source_line: u64::from(i) + 2 + 60 * c as u64,
                duration_s: None,
                flags: sipas_clean::Flags::default(),
                district: None,
                unit_text: None,
                extra: Vec::new(),
            });
        }
    }
    // The re-sent file: rows 0..5 (straight-liners) and 30..35 of cell 0,
    // exported again under new ids.
    let mut copies = BTreeSet::new();
    for (k, i) in (0..5).chain(30..35).enumerate() {
        let mut r = rows[i].clone();
        r.response_id = format!("resent-{k}");
        r.source_file = "resent.csv".into();
        r.source_line = k as u64 + 2;
        copies.insert(r.response_id.clone());
        rows.push(r);
    }
    let t = ResponseTable {
        items,
        rows,
        ..ResponseTable::default()
    };
    (t, copies)
}

/// SIPAS (2017) and its linearized SE of a set of rows of weight 1, from the
/// formulas: R_j = Σ s_ij / Σ a_ij; SIPAS = 100 Σ_j c_j R_j with c_j =
/// 1/(5 · size of j's element); z_i = 100 Σ_j c_j (s_ij − R_j a_ij) / X_j;
/// Var = n/(n − 1) Σ_i (z_i − z̄)².
fn by_formula(items: &[String], rows: &[&Response]) -> (f64, f64) {
    let element = |id: &str| id.chars().next().unwrap();
    let size = |e: char| items.iter().filter(|i| element(i) == e).count() as f64;
    let c: Vec<f64> = items
        .iter()
        .map(|i| 1.0 / (5.0 * size(element(i))))
        .collect();
    let j = items.len();
    let (mut x, mut y) = (vec![0.0; j], vec![0.0; j]);
    for r in rows {
        for (k, a) in r.answers.iter().enumerate() {
            if let Some(v) = a {
                x[k] += 1.0;
                y[k] += f64::from(u8::from(*v >= 4));
            }
        }
    }
    let ratio: Vec<f64> = (0..j).map(|k| y[k] / x[k]).collect();
    let sipas = 100.0 * (0..j).map(|k| c[k] * ratio[k]).sum::<f64>();
    let z: Vec<f64> = rows
        .iter()
        .map(|r| {
            100.0
                * (0..j)
                    .map(|k| {
                        let (a, s) = match r.answers[k] {
                            Some(v) => (1.0, f64::from(u8::from(v >= 4))),
                            None => (0.0, 0.0),
                        };
                        c[k] * (s - ratio[k] * a) / x[k]
                    })
                    .sum::<f64>()
        })
        .collect();
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let var = n / (n - 1.0) * z.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    (sipas, var.sqrt())
}

#[test]
fn same_answers_are_kept_copies_dropped_and_sipas_is_the_formula() {
    let (t, copies) = table();
    let inst = bundled::instrument("sipas-2017").unwrap();
    let o = clean(&t, &inst, &bundled::units(), &CleanOptions::default()).unwrap();
    // Every respondent kept; exactly the re-sent copies dropped.
    assert_eq!(o.report.totals.rows_in, 250);
    assert_eq!(o.report.totals.kept, 240);
    assert_eq!(o.report.totals.excluded, 10);
    assert_eq!(o.report.totals.excluded_by_reason["duplicate_resent"], 10);
    let dropped: BTreeSet<String> = o
        .quarantine
        .iter()
        .map(|e| e.row.response_id.clone())
        .collect();
    assert_eq!(dropped, copies);
    // The straight-liners are flagged and kept (24 per cell); none is
    // flagged for shared answers: they have distinct submission times.
    assert_eq!(o.report.totals.flagged_by_reason["flag_straightline"], 96);
    assert_eq!(o.report.totals.flagged_by_reason["flag_same_answers"], 0);

    // SIPAS and SE of each cell: aggregate and the design engine equal the
    // formulas on the kept rows.
    let mut b = Responses::builder(inst.clone());
    for r in &o.table.rows {
        b.push(&r.unit_code, &r.period, &r.channel, r.weight, &r.answers)
            .unwrap();
    }
    let responses = b.build().unwrap();
    let opts = AggregateOptions::bundled();
    let ix = aggregate(&responses, &opts).unwrap();
    let est = estimate_domains(&responses, &opts, &DesignSpec::default()).unwrap();
    assert_eq!(ix.cells.len(), 4);
    for cell in &ix.cells {
        let rows: Vec<&Response> = o
            .table
            .rows
            .iter()
            .filter(|r| r.unit_code == cell.unit_code && r.period == cell.period.to_string())
            .collect();
        assert_eq!(rows.len(), 60);
        assert_eq!(cell.n, 60);
        let (sipas, se) = by_formula(&t.items, &rows);
        let got = (cell.sipas.value.unwrap(), cell.sipas.se.unwrap());
        assert!((got.0 - sipas).abs() < 1e-9, "{got:?} vs {sipas}");
        assert!((got.1 - se).abs() < 1e-9, "{got:?} vs {se}");
        let row = est
            .rows
            .iter()
            .find(|r| {
                r.domain_type.as_str() == "unit"
                    && r.domain == cell.unit_code
                    && r.period == cell.period
                    && r.indicator == "sipas"
            })
            .unwrap();
        assert!((row.value.unwrap() - sipas).abs() < 1e-9);
        assert!((row.se.unwrap() - se).abs() < 1e-9);
        // With 40% answering 4 to everything, SIPAS is well above the rest's.
        assert!(sipas > 60.0, "{sipas}");
    }

    // The old rule (same unit, period, channel, weight and answers = a
    // duplicate) would have dropped 23 of the 24 straight-liners per cell.
    let same_answers = o
        .table
        .rows
        .iter()
        .filter(|r| r.answers.iter().all(|a| *a == Some(4)))
        .count();
    assert_eq!(same_answers, 96);
}

/// Real response styles through the whole pipeline: generate with
/// acquiescent respondents, clustered nonresponse, three modes, re-sent
/// copies and edits → ingest (keeps each id's first row: the edit) →
/// clean (drops the copies) → aggregate (pools the modes). The 95%
/// intervals of unit × period SIPAS cover the exact styled truth in about
/// 95% of the 708 cells (binomial SE of the rate 0.0082).
#[test]
fn styled_data_through_the_pipeline_cover_the_truth() {
    use crate::common::{code, num, read_csv, sipas, stderr};
    use std::collections::HashMap;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = r#"
out = "out"
instrument = "sipas-2023"

[generate]
responses = 42480
seed = 31
first_period = "2023Q3"
last_period = "2024Q2"

[generate.styles]
acquiescent_share = 0.3
acquiescent_top_share = 0.2
nonresponse_share = 0.05
nonresponse_rate = 0.5
resent_share = 0.01
edit_share = 0.02
modes = [
  { name = "paper", share = 0.5, effect = 0.0 },
  { name = "online", share = 0.3, effect = -0.15 },
  { name = "phone", share = 0.2, effect = 0.10 },
]
"#;
    std::fs::write(dir.join("job.toml"), job).unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    // Drafts quarantined by ingest, copies excluded by clean: exit 1.
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("excluded") && err.contains("duplicate_resent"),
        "{err}"
    );
    assert!(err.contains("flag_straightline"), "{err}");
    assert!(err.contains("survey modes pooled"), "{err}");
    let root = dir.join("out");
    let json = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(p)).unwrap()).unwrap()
    };
    let ingest = json("ingest/ingest-report.json");
    let clean = json("clean/clean-report.json");
    let agg = json("results/aggregate-report.json");
    let drafts = ingest["totals"]["quarantined_by_reason"]["duplicate_response_id"]
        .as_u64()
        .unwrap();
    let copies = clean["excluded_by_reason"]["duplicate_resent"]
        .as_u64()
        .unwrap();
    // Every respondent, and only them, reaches aggregate.
    assert_eq!(ingest["totals"]["quarantined"].as_u64().unwrap(), drafts);
    // The quarantine and the report name the generated file where it is after the run
    // (out/data/…), not by the run's staging folder (which differs on every run).
    let quarantine = std::fs::read_to_string(root.join("ingest/quarantine.csv")).unwrap();
    let data_file = std::path::Path::new("out")
        .join("data")
        .join("responses.csv");
    assert!(
        !quarantine.contains("sipas-staging") && quarantine.contains(&*data_file.to_string_lossy()),
        "{}",
        &quarantine[..quarantine.len().min(600)]
    );
    assert_eq!(
        ingest["inputs"][0]["file"].as_str(),
        Some(&*data_file.to_string_lossy())
    );
    // So does the aggregate report its input: out/clean, not the staging folder.
    assert_eq!(
        agg["source"].as_str(),
        Some(&*std::path::Path::new("out").join("clean").to_string_lossy())
    );
    assert_eq!(clean["excluded"].as_u64().unwrap(), copies);
    assert_eq!(clean["kept"], 42480);
    assert_eq!(agg["rows_used"], 42480);
    // About 2% edits and 1% copies (4 binomial SE).
    assert!((drafts as f64 - 849.6).abs() < 4.0 * 29.2, "{drafts}");
    assert!((copies as f64 - 424.8).abs() < 4.0 * 20.5, "{copies}");
    // SIPAS by mode: three pairs per period.
    assert_eq!(read_csv(&root.join("results/modes.csv")).len(), 3 * 4);
    let methods = std::fs::read_to_string(root.join("results/methods.txt")).unwrap();
    assert!(methods.contains("Survey modes. The responses were collected in several modes"));

    let truth: HashMap<(String, String), f64> = read_csv(&root.join("data/truth.csv"))
        .iter()
        .map(|r| {
            (
                (r["unit_code"].clone(), r["period"].clone()),
                num(r, "sipas"),
            )
        })
        .collect();
    let cells = read_csv(&root.join("results/unit_period.csv"));
    assert_eq!(cells.len(), 708);
    let covered = cells
        .iter()
        .filter(|c| {
            let t = truth[&(c["unit_code"].clone(), c["period"].clone())];
            num(c, "sipas_lo") <= t && t <= num(c, "sipas_hi")
        })
        .count();
    let rate = covered as f64 / cells.len() as f64;
    assert!((0.92..=0.975).contains(&rate), "coverage {rate}");
}

#[test]
fn an_unknown_channel_stops_aggregate_naming_it() {
    use crate::common::{code, sipas, stderr};
    use std::fmt::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let inst = bundled::instrument("sipas-2017").unwrap();
    let items = inst.item_ids().join(",");
    let answers = vec!["4"; 22].join(",");
    let mut csv = format!("response_id,unit_code,period,channel,{items}\n");
    for (i, ch) in ["paper", "zalo", "paper", "qr"].iter().enumerate() {
        let _ = writeln!(csv, "r{i},05443,2024Q1,{ch},{answers}");
    }
    std::fs::write(tmp.path().join("in.csv"), csv).unwrap();
    let ing = sipas(tmp.path(), &["ingest", "in.csv", "--out", "ing"]);
    assert_eq!(code(&ing), 0, "{}", stderr(&ing));
    let agg = sipas(tmp.path(), &["aggregate", "--data", "ing", "--out", "res"]);
    assert_eq!(code(&agg), 2, "{}", stderr(&agg));
    let err = stderr(&agg);
    for part in [
        "channel value `zalo` is neither a survey mode nor a rating channel",
        "`paper` (2 rows, survey mode)",
        "`qr` (1 rows, rating)",
        "--survey-modes",
    ] {
        assert!(err.contains(part), "`{part}` not in {err}");
    }
    // Classified as a mode, it is pooled; the QR rating stays out.
    let ok = sipas(
        tmp.path(),
        &[
            "aggregate",
            "--data",
            "ing",
            "--out",
            "res",
            "--survey-modes",
            "paper,zalo",
        ],
    );
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("res/aggregate-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["rows_used"], 3);
    assert_eq!(report["excluded_by_channel"]["qr"], 1);
}

/// The PAPI-style module through the whole pipeline (generate → ingest → clean → aggregate →
/// report) with acquiescent respondents and modes: the 95 % intervals of the index and of its
/// three dimensions in `estimates.csv` cover the generator's exact truth at about the nominal
/// rate, every value on its own scale (1–10 per dimension, 3–30 for the sum).
#[test]
fn the_papi_module_through_the_pipeline_covers_the_truth() {
    use crate::common::{code, num, read_csv, sipas, stderr};
    use std::collections::HashMap;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let inst = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/instruments/papi-commune.toml");
    let job = format!(
        r#"
out = "out"
instrument = "{}"

[generate]
responses = 42480
seed = 5
first_period = "2023Q3"
last_period = "2024Q2"

[generate.styles]
acquiescent_share = 0.2
acquiescent_top_share = 0.2
modes = [
  {{ name = "paper", share = 0.6, effect = 0.0 }},
  {{ name = "phone", share = 0.4, effect = 0.2 }},
]
"#,
        inst.display().to_string().replace('\\', "/")
    );
    std::fs::write(dir.join("job.toml"), job).unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("difference-in-differences of Commune PAPI"),
        "{}",
        stderr(&out)
    );
    let root = dir.join("out");
    let truth = read_csv(&root.join("data/truth.csv"));
    let truth: HashMap<(String, String), &HashMap<String, String>> = truth
        .iter()
        .map(|r| ((r["unit_code"].clone(), r["period"].clone()), r))
        .collect();
    let est = read_csv(&root.join("results/estimates.csv"));
    for (index, (lo, hi)) in [
        ("papi", (3.0, 30.0)),
        ("papi_participation", (1.0, 10.0)),
        ("papi_transparency", (1.0, 10.0)),
        ("papi_accountability", (1.0, 10.0)),
    ] {
        let rows: Vec<_> = est
            .iter()
            .filter(|r| r["domain_type"] == "unit" && r["indicator"] == index)
            .collect();
        assert_eq!(rows.len(), 708, "{index}");
        let mut covered = 0;
        for r in &rows {
            let t = num(truth[&(r["domain"].clone(), r["period"].clone())], index);
            let (v, l, h) = (num(r, "value"), num(r, "lo"), num(r, "hi"));
            assert!(lo <= l && l <= v && v <= h && h <= hi, "{index}: {r:?}");
            covered += usize::from(l <= t && t <= h);
        }
        let rate = covered as f64 / rows.len() as f64;
        assert!((0.92..=0.975).contains(&rate), "{index}: coverage {rate}");
    }
    assert!(root.join("report/index.html").exists());
}
