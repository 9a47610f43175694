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

#[test]
fn spark_engine_gives_the_local_unit_period_table() {
    let probe = tempfile::tempdir().unwrap();
    if let Err(e) = sipas_aggregate::sql::check_engine(
        &sipas_aggregate::sql::python(),
        &sipas_aggregate::sql::Engine::Spark("local[2]".into()),
        probe.path(),
    ) {
        eprintln!("SKIPPED: Spark is not available here: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("local.toml"), JOB).unwrap();
    std::fs::write(
        d.join("spark.toml"),
        JOB.replace(
            "channel = \"survey\"",
            "channel = \"survey\"\nengine = \"spark\"\nspark_master = \"local[2]\"",
        ),
    )
    .unwrap();
    for (job, out) in [("local.toml", "local"), ("spark.toml", "spark")] {
        let o = sipas(d, &["run", job, "-o", out]);
        assert!(code(&o) <= 1, "{job}: {}", stderr(&o));
    }
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
