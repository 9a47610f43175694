//! `sipas run` with `[aggregate] engine = "spark"` gives the local engine's unit × period table:
//! the same job run twice, once per engine, compared value by value (1e-9) on the Parquet twin and
//! byte for byte on the CSV. Skipped, saying why, where Python with PySpark and Java is missing
//! (`.ci/run` installs PySpark into `~/.cache/sipas/venv-spark`).

use std::path::Path;

use polars::prelude::*;

use crate::common::{code, sipas, stderr};

const JOB: &str = r#"
out = "out"
instrument = "sipas-2023"

[generate]
responses = 4248
seed = 17
first_period = "2023Q3"
last_period = "2024Q2"
weights = true

[aggregate]
channel = "survey"
"#;

fn unit_period(dir: &Path) -> DataFrame {
    let f = std::fs::File::open(dir.join("results/unit_period.parquet")).unwrap();
    ParquetReader::new(f)
        .finish()
        .unwrap()
        .sort(["unit_code", "period"], SortMultipleOptions::default())
        .unwrap()
}

/// Runs `job` twice in a new folder, into `local/` with the local engine and into `spark/` with
/// Spark in local mode; `None` (saying why) where Spark is not available.
fn run_both_engines(job: &str) -> Option<tempfile::TempDir> {
    let probe = tempfile::tempdir().unwrap();
    if let Err(e) = sipas_aggregate::sql::check_engine(
        &sipas_aggregate::sql::python(),
        &sipas_aggregate::sql::Engine::Spark("local[2]".into()),
        probe.path(),
    ) {
        eprintln!("SKIPPED: Spark is not available here: {e}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("local.toml"), job).unwrap();
    std::fs::write(
        d.join("spark.toml"),
        job.replace(
            "channel = \"survey\"",
            "channel = \"survey\"\nengine = \"spark\"\nspark_master = \"local[2]\"",
        ),
    )
    .unwrap();
    for (job, out) in [("local.toml", "local"), ("spark.toml", "spark")] {
        let o = sipas(d, &["run", job, "-o", out]);
        assert!(code(&o) <= 1, "{job}: {}", stderr(&o));
    }
    Some(dir)
}

#[test]
fn spark_engine_gives_the_local_unit_period_table() {
    let Some(dir) = run_both_engines(JOB) else {
        return;
    };
    let d = dir.path();
    let spark_log = std::fs::read_to_string(d.join("spark/results/aggregate-report.json")).unwrap();
    assert!(spark_log.contains("spark"), "{spark_log}");
    let (a, b) = (unit_period(&d.join("local")), unit_period(&d.join("spark")));
    assert_eq!(a.shape(), b.shape());
    assert!(a.height() > 100, "{}", a.height());
    assert_eq!(a.get_column_names(), b.get_column_names());
    let mut compared = 0usize;
    for (x, y) in a.columns().iter().zip(b.columns()) {
        if x.dtype().is_float() {
            let (x, y) = (x.f64().unwrap(), y.f64().unwrap());
            for (u, v) in (0..x.len()).map(|i| (x.get(i), y.get(i))) {
                match (u, v) {
                    (Some(u), Some(v)) => {
                        assert!((u - v).abs() <= 1e-9, "{}: {u} vs {v}", x.name());
                        compared += 1;
                    }
                    (None, None) => {}
                    other => panic!("{}: {other:?}", x.name()),
                }
            }
        } else {
            assert!(x.equals_missing(y), "{}", x.name());
        }
    }
    assert!(compared > 1000, "{compared}");
    assert_eq!(
        std::fs::read(d.join("local/results/unit_period.csv")).unwrap(),
        std::fs::read(d.join("spark/results/unit_period.csv")).unwrap()
    );
}

/// The three indices on Spark: every headline index's TWFE estimate and pre-trend test, the PAR
/// total's unit and pooled rows, its ranking and its criteria quarantine are the local engine's
/// (the same code on the same cells); the 2×2 DiD stays the local engine's alone.
#[test]
fn spark_engine_evaluates_every_headline_index_like_the_local_engine() {
    let job = JOB
        .replace("sipas-2023", "thai-nguyen-pilot")
        .replace("weights = true", "criteria = true");
    let Some(dir) = run_both_engines(&job) else {
        return;
    };
    let d = dir.path();
    let read =
        |engine: &str, f: &str| crate::common::read_csv(&d.join(engine).join("results").join(f));
    let (local, spark) = (read("local", "indices.csv"), read("spark", "indices.csv"));
    let ids: Vec<&str> = spark.iter().map(|r| r["index"].as_str()).collect();
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
    for (a, b) in local.iter().zip(&spark) {
        assert!(
            !a["did"].is_empty() && b["did"].is_empty(),
            "{}",
            a["index"]
        );
        for col in [
            "twfe",
            "twfe_se",
            "twfe_lo",
            "twfe_hi",
            "pretrend_p",
            "uncertainty",
        ] {
            assert!(!b[col].is_empty(), "{} {col}", b["index"]);
            assert_eq!(a[col], b[col], "{} {col}", a["index"]);
        }
    }
    // The PAR total's rows of estimates.csv (unit and pooled), value and SE.
    let total = |engine: &str| -> Vec<(String, String, String, String, String)> {
        read(engine, "estimates.csv")
            .into_iter()
            .filter(|r| r["indicator"] == "par_total" && r["ci_method"] == "normal")
            .map(|r| {
                (
                    r["domain"].clone(),
                    r["period"].clone(),
                    r["value"].clone(),
                    r["se"].clone(),
                    r["domain_type"].clone(),
                )
            })
            .collect()
    };
    let (a, b) = (total("local"), total("spark"));
    let pooled = a
        .iter()
        .filter(|r| r.4 == "group" && !r.2.is_empty())
        .count();
    assert_eq!(pooled, 8, "both arms, 4 periods");
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x == y, "{x:?} vs {y:?}");
    }
    for f in ["par_ranking.csv", "par_quarantine.csv"] {
        assert_eq!(
            std::fs::read(d.join("local/results").join(f)).unwrap(),
            std::fs::read(d.join("spark/results").join(f)).unwrap(),
            "{f}"
        );
    }
}
