//! The pipeline end to end through the binary: outputs, numbers against the
//! generator's exact truth, exit codes and error messages.

use std::collections::HashMap;
use std::fs;

use crate::common::{
    code, generate_job, kobo_record, kobo_server, names_in, num, read_csv, run_job, run_kobo_job,
    sipas, stderr,
};

#[test]
fn bundled_demo_job_parses() {
    let job = sipas_cli::job::Job::demo();
    let g = job.generate.expect("the demo generates its data");
    assert_eq!(g.responses, 212_400);
    assert_eq!(job.instrument.as_deref(), Some("thai-nguyen-pilot"));
    assert!(g.criteria, "the demo draws the PAR criteria");
    assert!(job.out.ends_with("out"));
}

/// 177 units × 4 quarters × 20 responses through every stage.
#[test]
fn run_writes_every_stage_and_the_counts_reconcile() {
    let tmp = tempfile::tempdir().unwrap();
    let job = generate_job("sipas-2017", 14160, 7, ("2023Q3", "2024Q2"), "");
    let out = run_job(tmp.path(), &job);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let root = tmp.path().join("result");

    let ingest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("ingest/ingest-report.json")).unwrap())
            .unwrap();
    let t = &ingest["totals"];
    assert_eq!(t["rows_read"], 14160);
    assert_eq!(t["accepted"], 14160);
    assert_eq!(t["quarantined"], 0);

    let clean: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("clean/clean-report.json")).unwrap())
            .unwrap();
    assert_eq!(clean["rows_in"], 14160);
    assert_eq!(
        clean["kept"].as_u64().unwrap() + clean["excluded"].as_u64().unwrap(),
        14160
    );

    let cells = read_csv(&root.join("results/unit_period.csv"));
    assert_eq!(cells.len(), 177 * 4);
    assert!(cells.iter().all(|r| r["n"] == "20"));
    let pilots = cells.iter().filter(|r| r["pilot"] == "true").count();
    assert_eq!(pilots, 12 * 4);
    let chu = cells
        .iter()
        .find(|r| r["unit_code"] == "05536" && r["period"] == "2024Q1")
        .unwrap();
    assert_eq!(chu["unit_name"], "Thị trấn Chợ Chu");
    assert_eq!(chu["district"], "Huyện Định Hóa");
    // SIPAS (2017) is the mean of its five elements.
    let mean5: f64 = ["access", "procedures", "staff", "results", "feedback"]
        .iter()
        .map(|e| num(chu, e))
        .sum::<f64>()
        / 5.0;
    assert!(
        (mean5 - num(chu, "sipas")).abs() < 2e-6,
        "{mean5} vs {}",
        chu["sipas"]
    );

    let items = read_csv(&root.join("results/items.csv"));
    assert_eq!(items.len(), 177 * 4 * 22);
    let groups = read_csv(&root.join("results/groups.csv"));
    assert_eq!(groups.len(), 8);
    // Pooled groups count every response of their units.
    for g in &groups {
        let expected = if g["group"] == "pilot" {
            12 * 20
        } else {
            165 * 20
        };
        assert_eq!(num(g, "n") as usize, expected);
    }
    let did = read_csv(&root.join("results/did.csv"));
    assert_eq!(did.len(), 1);
    let d = &did[0];
    let by_hand = (num(d, "pilot_post") - num(d, "pilot_pre"))
        - (num(d, "baseline_post") - num(d, "baseline_pre"));
    assert!((by_hand - num(d, "estimate")).abs() < 5e-6);

    let report = root.join("report");
    for code in sipas_core::bundled::pilots().units {
        assert!(
            report.join(format!("trend_{code}.png")).is_file(),
            "trend_{code}.png"
        );
    }
    assert!(report.join("pilots.png").is_file());
    let html = fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("Thị trấn Chợ Chu"));

    // The same job again gives the same bytes in tables and charts.
    let again = sipas(
        tmp.path(),
        &["run", "--config", "job.toml", "--out", "again"],
    );
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    for f in [
        "results/unit_period.csv",
        "results/items.csv",
        "results/groups.csv",
        "results/did.csv",
        "report/trend_05443.png",
        "report/pilots.png",
    ] {
        assert_eq!(
            fs::read(root.join(f)).unwrap(),
            fs::read(tmp.path().join("again").join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
}

/// Issue 2's acceptance check: the 95% intervals of unit × period SIPAS cover
/// the model's exact expected SIPAS (`truth.csv`) in about 95% of cells.
#[test]
fn intervals_cover_the_generators_truth_in_about_95_percent_of_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 177 units × 8 quarters × 60 responses = 1,416 cells.
    let gen_out = sipas(
        dir,
        &[
            "generate",
            "--responses",
            "84960",
            "--seed",
            "2026",
            "--instrument",
            "sipas-2023",
            "--first-period",
            "2023Q1",
            "--last-period",
            "2024Q4",
            "--out",
            "data/responses.parquet",
        ],
    );
    assert_eq!(code(&gen_out), 0, "{}", stderr(&gen_out));
    let ing = sipas(
        dir,
        &["ingest", "data/responses.parquet", "--out", "ingest"],
    );
    assert_eq!(code(&ing), 0, "{}", stderr(&ing));
    let agg = sipas(dir, &["aggregate", "--data", "ingest", "--out", "results"]);
    assert_eq!(code(&agg), 0, "{}", stderr(&agg));

    let truth: HashMap<(String, String), f64> = read_csv(&dir.join("data/truth.csv"))
        .iter()
        .map(|r| {
            (
                (r["unit_code"].clone(), r["period"].clone()),
                num(r, "sipas"),
            )
        })
        .collect();
    let cells = read_csv(&dir.join("results/unit_period.csv"));
    assert_eq!(cells.len(), 1416);
    let mut covered = 0usize;
    let mut z = Vec::new();
    for c in &cells {
        let t = truth[&(c["unit_code"].clone(), c["period"].clone())];
        if num(c, "sipas_lo") <= t && t <= num(c, "sipas_hi") {
            covered += 1;
        }
        z.push((num(c, "sipas") - t) / num(c, "sipas_se"));
    }
    let rate = covered as f64 / cells.len() as f64;
    // Binomial SE of the rate at 95% over 1,416 cells is 0.0058: the band
    // allows about −5 / +4 SE (the normal interval of a ratio composite at
    // n = 60 may undercover slightly, never by more than that).
    assert!((0.92..=0.975).contains(&rate), "coverage {rate}");
    // Standardised errors: mean ≈ 0 (SE 0.027), SD ≈ 1.
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(mean.abs() < 0.1, "mean z {mean}");
    assert!((0.93..1.1).contains(&sd), "sd z {sd}");
}

#[test]
fn quarantined_rows_exit_1_and_name_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let items = inst.item_ids().join(",");
    let good: Vec<&str> = vec!["4"; 22];
    let mut bad = good.clone();
    bad[3] = "7";
    let csv = format!(
        "response_id,unit_code,period,{items}\nr1,05443,2024Q1,{}\nr2,05443,2024Q1,{}\nr3,99999,2024Q1,{}\n",
        good.join(","),
        bad.join(","),
        good.join(",")
    );
    fs::write(tmp.path().join("in.csv"), csv).unwrap();
    let out = sipas(tmp.path(), &["ingest", "in.csv", "--out", "ing"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let q = read_csv(&tmp.path().join("ing/quarantine.csv"));
    let r2 = q
        .iter()
        .find(|r| r["line"] == "3")
        .expect("line 3 quarantined");
    assert_eq!(r2["reason"], "invalid_answer");
    assert_eq!(r2["column"], "a4");
    assert!(r2["source_file"].ends_with("in.csv"));
    let report: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("ing/ingest-report.json")).unwrap(),
    )
    .unwrap();
    let t = &report["totals"];
    assert_eq!(
        t["rows_read"].as_u64().unwrap(),
        t["accepted"].as_u64().unwrap() + t["quarantined"].as_u64().unwrap()
    );
    assert_eq!(t["rows_read"], 3);
}

#[test]
fn a_missing_input_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sipas(tmp.path(), &["ingest", "nowhere.csv", "--out", "ing"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nowhere.csv"), "{}", stderr(&out));
}

#[test]
fn a_bad_job_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        "out = \"x\"\n[generate]\nresponses = \"many\"\n",
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("job.toml"), "{}", stderr(&out));
}

#[test]
fn an_unknown_instrument_is_an_error_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sipas(
        tmp.path(),
        &[
            "generate",
            "--responses",
            "10",
            "--instrument",
            "sipas-1999",
            "--out",
            "x.csv",
        ],
    );
    assert_eq!(code(&out), 2);
    let e = stderr(&out);
    assert!(e.contains("sipas-1999") && e.contains("sipas-2023"), "{e}");
}

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// What units really send: an Excel workbook with Vietnamese headers and
/// text answers, Kobo NDJSON, ODK JSON, a CSV with a village column; units
/// typed as names (with districts). Counts worked out from the fixture files
/// (see fixtures/ingest/mixed/README.md and fixtures/ingest/design/).
#[test]
fn a_folder_of_mixed_files_ingests_and_cleans_with_the_expected_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let mixed = fixtures().join("ingest/mixed");
    let design = fixtures().join("ingest/design");
    let ing = sipas(
        tmp.path(),
        &[
            "ingest",
            mixed.to_str().unwrap(),
            design.to_str().unwrap(),
            "--keep-column",
            "village",
            "--out",
            "ing",
        ],
    );
    // Rows were quarantined: exit 1, with the skipped files named.
    assert_eq!(code(&ing), 1, "{}", stderr(&ing));
    assert!(
        stderr(&ing).contains("khao_sat.xlsx#Ghi chú"),
        "{}",
        stderr(&ing)
    );
    let report: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("ing/ingest-report.json")).unwrap(),
    )
    .unwrap();
    let t = &report["totals"];
    assert_eq!(t["rows_read"], 16);
    assert_eq!(t["accepted"], 13);
    assert_eq!(t["quarantined"], 3);
    assert_eq!(t["quarantined_by_reason"]["invalid_answer"], 2);
    assert_eq!(t["quarantined_by_reason"]["missing_unit"], 1);
    assert_eq!(report["kept_columns"], serde_json::json!(["village"]));

    let cl = sipas(tmp.path(), &["clean", "--data", "ing", "--out", "cl"]);
    assert_eq!(code(&cl), 1, "{}", stderr(&cl));
    let clean: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("cl/clean-report.json")).unwrap())
            .unwrap();
    assert_eq!(clean["rows_in"], 13);
    assert_eq!(clean["kept"], 12);
    assert_eq!(clean["excluded"], 1);
    assert_eq!(clean["excluded_by_reason"]["ambiguous_unit"], 1);
    assert_eq!(clean["units_matched_by_name"], 6);
    let q = read_csv(&tmp.path().join("cl/quarantine.csv"));
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["response_id"], "v2");
    assert!(q[0]["detail"].contains("05452|05548"), "{}", q[0]["detail"]);
}

/// One survey round: no difference-in-differences is possible, but every
/// table and the report are still produced, and the report says why.
#[test]
fn a_single_round_gets_its_tables_and_a_report_without_a_did() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        "out = \"o\"\n[generate]\nresponses = 3540\nseed = 3\nfirst_period = \"2024Q1\"\nlast_period = \"2024Q1\"\n",
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no period before the start"),
        "{}",
        stderr(&out)
    );
    let root = tmp.path().join("o");
    assert_eq!(read_csv(&root.join("results/unit_period.csv")).len(), 177);
    assert!(read_csv(&root.join("results/did.csv")).is_empty());
    assert!(!root.join("results/did_twfe.csv").exists());
    let html = fs::read_to_string(root.join("report/index.html")).unwrap();
    assert!(html.contains("Chưa ước lượng được khác biệt kép"));
}

/// A trend across the 01/12/2024 merges: with the bundled crosswalk onto the
/// units in force on 30/06/2025 (the 172), Chợ Chu (05536) and Bảo Cường
/// (05569) are one unit, 05569 "Thị trấn Chợ Chu", a pilot, in every period.
#[test]
fn a_crosswalk_onto_new_codes_analyses_merged_units_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        r#"out = "o"
instrument = "sipas-2017"
[generate]
responses = 7080
seed = 11
first_period = "2023Q4"
last_period = "2024Q1"
[clean]
crosswalk = "thai-nguyen"
crosswalk_target = "2025-06-30"
[evaluation]
replicates = 99
"#,
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("05536 → 05569"), "{}", stderr(&out));
    let clean: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("o/clean/clean-report.json")).unwrap(),
    )
    .unwrap();
    // 05536, 05608, 05839, 05704 and 05782 remapped: 5 units × 2 periods × 20 responses.
    assert_eq!(
        clean["crosswalk"]["rows_remapped"], 200,
        "{}",
        clean["crosswalk"]
    );
    assert_eq!(clean["crosswalk"]["target"], "2025-06-30");
    let cells = read_csv(&tmp.path().join("o/results/unit_period.csv"));
    // 177 units less the five merged away.
    assert_eq!(cells.len(), 172 * 2);
    assert!(!cells.iter().any(|r| r["unit_code"] == "05536"));
    let cho_chu: Vec<_> = cells.iter().filter(|r| r["unit_code"] == "05569").collect();
    assert_eq!(cho_chu.len(), 2);
    for c in cho_chu {
        assert_eq!(c["unit_name"], "Thị trấn Chợ Chu");
        assert_eq!(c["pilot"], "true");
        assert_eq!(c["n"], "40");
    }
    assert_eq!(
        cells.iter().filter(|r| r["pilot"] == "true").count(),
        12 * 2
    );
    assert!(tmp.path().join("o/report/trend_05569.png").is_file());
    // Treatment on the merged units: Thị trấn Chợ Chu 05569 pools Chợ Chu
    // (05536, a pilot) and Bảo Cường (05569), 20 responses each a quarter.
    let t = read_csv(&tmp.path().join("o/results/treatment.csv"));
    assert_eq!(t.len(), 12);
    let chu = t.iter().find(|r| r["unit_code"] == "05569").unwrap();
    assert_eq!(chu["intensity"], "0.500000");
    assert_eq!(chu["mixed"], "true");
    assert_eq!(chu["old_units"], "05536|05569");
    assert_eq!(chu["pilot_old_units"], "05536");
    assert_eq!(chu["responses"], "80");
    let did = read_csv(&tmp.path().join("o/results/did_twfe.csv"));
    let defs: Vec<&str> = did
        .iter()
        .filter(|r| r["scope"] == "treatment")
        .map(|r| r["unit_code"].as_str())
        .collect();
    assert_eq!(
        defs,
        ["contains_pilot", "intensity", "contains_pilot_unmixed"]
    );
    let unmixed = did
        .iter()
        .find(|r| r["unit_code"] == "contains_pilot_unmixed")
        .unwrap();
    assert_eq!(
        (
            unmixed["n_clusters"].as_str(),
            unmixed["n_treated"].as_str()
        ),
        ("171", "11")
    );
    let methods = fs::read_to_string(tmp.path().join("o/results/methods.txt")).unwrap();
    assert!(methods.contains("Mức độ can thiệp"), "{methods}");
    // The report lists the old units of each pilot unit and the three definitions.
    let html = fs::read_to_string(tmp.path().join("o/report/index.html")).unwrap();
    assert!(
        html.contains("Pilots on today&#39;s units") || html.contains("Pilots on today's units")
    );
    assert!(
        html.contains(
            "<td>05536 Thị trấn Chợ Chu, 05569 Xã Bảo Cường</td><td>05536 Thị trấn Chợ Chu</td><td>0.50</td>"
        ),
        "{html}"
    );
    assert!(html.contains("Theo mức độ can thiệp (intensity)"));
}

/// `[[source]]` entries are synced before ingest; a missing token is a clear
/// error naming the variable (never a value), before any request is sent.
#[test]
fn a_source_without_its_token_variable_stops_the_run_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        r#"out = "o"
[[source]]
name = "kobo-test"
kind = "kobo"
server = "http://127.0.0.1:9"
asset = "aBcD1234"
token_env = "SIPAS_TEST_TOKEN_THAT_IS_NOT_SET"
"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(["run", "--config", "job.toml"])
        .current_dir(tmp.path())
        .env_remove("SIPAS_TEST_TOKEN_THAT_IS_NOT_SET")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("SIPAS_TEST_TOKEN_THAT_IS_NOT_SET"), "{e}");
    assert!(e.contains("kobo-test"), "{e}");
}

/// `sipas run` with a KoboToolbox source on a local server: two pages
/// (following `next`), group paths and string values as Kobo sends them, the
/// token from the environment; the records reach ingest, clean and aggregate.
#[test]
fn run_syncs_a_kobo_source_then_ingests_its_records() {
    let (base, handle) = kobo_server(|base| {
        let page2 = format!("{base}/api/v2/assets/aBcD1234/data/?format=json&page=2");
        let record = |id: &str, unit: &str, answer: &str| kobo_record(id, unit, answer, true);
        vec![
            serde_json::json!({"count": 3, "next": page2, "previous": null,
                "results": [record("k-1", "05443", "4"), record("k-2", "05446", "5")]}),
            serde_json::json!({"count": 3, "next": null, "previous": null,
                "results": [record("k-3", "05443", "2")]}),
        ]
    });
    let tmp = tempfile::tempdir().unwrap();
    let settings = "out = \"o\"\ninstrument = \"sipas-2017\"\n";
    let out = run_kobo_job(tmp.path(), settings, &base, "s3cret-token-value", false);
    let auth = handle.join().unwrap();
    let e = stderr(&out);
    // Exit 1: the run completed, but 11 of the 12 pilot units have no data.
    assert_eq!(code(&out), 1, "{e}");
    assert!(e.contains("no results for pilot units 05500"), "{e}");
    assert_eq!(auth.len(), 2, "both pages fetched");
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some("Token s3cret-token-value"))
    );
    assert!(
        !e.contains("s3cret-token-value"),
        "the token must never be printed: {e}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("o/ingest/ingest-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["totals"]["rows_read"], 3);
    assert_eq!(report["totals"]["accepted"], 3);
    let cells = read_csv(&tmp.path().join("o/results/unit_period.csv"));
    let trung_vuong = cells.iter().find(|r| r["unit_code"] == "05443").unwrap();
    // k-1 satisfied on every item, k-3 on none: every share is 50%.
    assert_eq!(trung_vuong["n"], "2");
    assert!((num(trung_vuong, "sipas") - 50.0).abs() < 1e-9);
}

/// `--layout period` writes Hive partitions (one folder per period, no
/// `period` column in the files) and every later stage reads them: the
/// result tables are byte-identical to those of the single-file layout.
#[test]
fn the_period_layout_gives_the_same_results_as_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = sipas(
        dir,
        &[
            "generate",
            "--responses",
            "21240",
            "--seed",
            "5",
            "--first-period",
            "2023Q3",
            "--last-period",
            "2024Q2",
            "--out",
            "data/responses.csv",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for layout in ["file", "period"] {
        let ingest = format!("{layout}/ingest");
        let clean = format!("{layout}/clean");
        let results = format!("{layout}/results");
        let steps: [Vec<&str>; 3] = [
            vec![
                "ingest",
                "data/responses.csv",
                "--layout",
                layout,
                "--out",
                &ingest,
            ],
            vec![
                "clean", "--data", &ingest, "--layout", layout, "--out", &clean,
            ],
            vec![
                "aggregate",
                "--data",
                &clean,
                "--replicates",
                "99",
                "--out",
                &results,
            ],
        ];
        for args in &steps {
            let out = sipas(dir, args);
            assert!(code(&out) <= 1, "{args:?}: {}", stderr(&out));
        }
    }
    for stage in ["ingest", "clean"] {
        let parts = dir.join("period").join(stage).join("responses");
        assert_eq!(
            names_in(&parts),
            [
                "_schema.parquet",
                "period=2023Q3",
                "period=2023Q4",
                "period=2024Q1",
                "period=2024Q2"
            ],
            "{stage}"
        );
        assert!(
            !dir.join("period")
                .join(stage)
                .join("responses.parquet")
                .exists()
        );
        assert!(
            dir.join("file")
                .join(stage)
                .join("responses.parquet")
                .is_file()
        );
    }
    for f in [
        "unit_period.csv",
        "items.csv",
        "groups.csv",
        "estimates.csv",
        "did_twfe.csv",
    ] {
        let a = fs::read(dir.join("file/results").join(f)).unwrap();
        let b = fs::read(dir.join("period/results").join(f)).unwrap();
        assert!(a == b, "{f} differs between the layouts");
    }
    assert_eq!(
        read_csv(&dir.join("period/results/unit_period.csv")).len(),
        177 * 4
    );
    for f in ["quarantine.csv", "clean-report.json", "clean-by-cell.csv"] {
        let a = fs::read(dir.join("file/clean").join(f)).unwrap();
        let b = fs::read(dir.join("period/clean").join(f)).unwrap();
        assert!(a == b, "{f} differs between the layouts");
    }
}

/// The pilot's three indices through `sipas run`: every headline index in `indices.csv`, the
/// PAR total's rows beside its survey part's in `estimates.csv` with the same SE, the drawn
/// criteria table reconciled (its two faulty rows quarantined), the ranking complete; methods.txt
/// names the criteria table where it is after the run (never the staging folder); and a second
/// run gives the same bytes.
#[test]
fn the_three_indices_run_and_give_the_same_bytes_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let job = generate_job(
        "thai-nguyen-pilot",
        7080,
        11,
        ("2023Q3", "2024Q2"),
        "criteria = true\n\n[evaluation]\nreplicates = 49\n",
    );
    let out = run_job(tmp.path(), &job);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let root = tmp.path().join("result");
    let ids: Vec<String> = read_csv(&root.join("results/indices.csv"))
        .iter()
        .map(|r| r["index"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            "sipas",
            "papi_participation",
            "papi_transparency",
            "papi_accountability",
            "par_total"
        ]
    );
    let est = read_csv(&root.join("results/estimates.csv"));
    let mut totals = 0;
    for (i, r) in est.iter().enumerate() {
        if r["indicator"] == "par_total" {
            assert_eq!(est[i - 1]["indicator"], "par_survey");
            assert_eq!(est[i - 1]["domain"], r["domain"]);
            assert_eq!(
                est[i - 1]["se"],
                r["se"],
                "the total's SE is its survey part's"
            );
            totals += 1;
        }
    }
    let cells = read_csv(&root.join("results/unit_period.csv")).len();
    let periods = 4;
    assert_eq!(
        totals,
        cells + 2 * periods,
        "every cell and both arms each period"
    );
    // The PAR total's staggered effects, by hand from its unit rows of estimates.csv: with one
    // wave, equal weights and the never-treated comparison, ATT(g, t) is the pilots' mean change
    // from g − 1 to t minus the baseline's.
    let units = read_csv(&root.join("results/att_units.csv"));
    let value = |u: &str, p: &str| {
        est.iter()
            .find(|r| {
                r["indicator"] == "par_total"
                    && r["domain_type"] == "unit"
                    && r["domain"] == u
                    && r["period"] == p
            })
            .map(|r| num(r, "value"))
    };
    let mean_change = |treated: bool, t: &str| {
        let d: Vec<f64> = units
            .iter()
            .filter(|u| u["used"] == "true" && u["group"].is_empty() != treated)
            .filter_map(|u| Some(value(&u["unit_code"], t)? - value(&u["unit_code"], "2023Q4")?))
            .collect();
        assert!(d.len() > 3, "{t}: {} units", d.len());
        d.iter().sum::<f64>() / d.len() as f64
    };
    let gt = read_csv(&root.join("results/att_gt.csv"));
    for t in ["2024Q1", "2024Q2"] {
        let row = gt
            .iter()
            .find(|r| r["index"] == "par_total" && r["group"] == "2024Q1" && r["period"] == t)
            .unwrap_or_else(|| panic!("no ATT(2024Q1, {t}) of par_total"));
        let by_hand = mean_change(true, t) - mean_change(false, t);
        assert!(
            (num(row, "att") - by_hand).abs() < 1e-5,
            "ATT(2024Q1, {t}) of par_total {} vs {by_hand} by hand",
            row["att"]
        );
    }
    let criteria = fs::read_to_string(root.join("data/criteria.csv")).unwrap();
    let q = read_csv(&root.join("results/par_quarantine.csv"));
    let reasons: Vec<&str> = q.iter().map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons, ["unknown_criterion", "duplicate_copy"]);
    assert_eq!(criteria.lines().count() - 1, 7 * cells + 2);
    assert_eq!(read_csv(&root.join("results/par_ranking.csv")).len(), cells);
    let methods = fs::read_to_string(root.join("results/methods.txt")).unwrap();
    assert!(
        methods.contains("Criteria table result/data/criteria.csv: "),
        "{methods}"
    );
    assert!(!methods.contains("staging"));

    let again = sipas(
        tmp.path(),
        &["run", "--config", "job.toml", "--out", "again"],
    );
    assert!(code(&again) <= 1, "{}", stderr(&again));
    for f in [
        "data/criteria.csv",
        "results/indices.csv",
        "results/estimates.csv",
        "results/par_ranking.csv",
        "results/par_quarantine.csv",
        "report/index_par_total.png",
        "report/index_papi_participation.png",
        "report/index_par_total.event.png",
    ] {
        assert_eq!(
            fs::read(root.join(f)).unwrap(),
            fs::read(tmp.path().join("again").join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
}
