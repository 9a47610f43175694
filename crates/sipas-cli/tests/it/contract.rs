//! The results contract ([`sipas_core::results`]) holds: a run shaped like the demo (the
//! sipas-2023 instrument, three survey modes, codes of the day mapped onto today's units through
//! the crosswalk, a pilot start with periods before and after) writes every table the contract
//! lists, each with exactly the contract's columns in its CSV and its Parquet twin, and nothing
//! the contract does not list; and the report reads back what aggregate wrote.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use sipas_core::results::{self, Kind, Stage, TABLES};

use crate::common::{code, read_csv, sipas, stderr};

const JOB: &str = r#"out = "o"
instrument = "sipas-2023"

[generate]
responses = 7080
seed = 20240101
first_period = "2023Q3"
last_period = "2024Q2"
pilot_effect = 0.35
codes_at_date = "thai-nguyen"

[generate.styles]
modes = [
  { name = "paper", share = 0.5, effect = 0.0 },
  { name = "online", share = 0.3, effect = -0.15 },
  { name = "phone", share = 0.2, effect = 0.10 },
]

[clean]
crosswalk = "thai-nguyen"

[evaluation]
replicates = 49
"#;

/// The demo-shaped job's results folder (run once per test binary).
fn results_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("job.toml"), JOB).unwrap();
        let out = sipas(tmp.path(), &["-q", "run", "--config", "job.toml"]);
        assert!(code(&out) <= 1, "{}", stderr(&out));
        tmp
    })
    .path()
    .join("o/results")
}

fn group_ids() -> Vec<String> {
    let inst = sipas_core::bundled::instrument("sipas-2023").unwrap();
    inst.reported_groups()
        .iter()
        .map(|g| g.id.clone())
        .collect()
}

fn first_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    format!("{}\n", text.lines().next().unwrap_or_default())
}

#[test]
fn every_contract_table_is_written_with_exactly_its_columns_and_nothing_else() {
    let dir = &results_dir();
    let groups = group_ids();
    for t in TABLES {
        let extra: &[String] = if t.group_columns.is_some() {
            &groups
        } else {
            &[]
        };
        let header = t.header(extra);
        assert_eq!(first_line(&dir.join(t.file)), header, "{}", t.file);
        let f = std::fs::File::open(dir.join(t.parquet()))
            .unwrap_or_else(|e| panic!("{}: {e}", t.parquet()));
        let df = ParquetReader::new(f).finish().unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names.join(",") + "\n",
            header,
            "{}: the twin's columns",
            t.parquet()
        );
        for c in df.columns() {
            let want = t.kind_of(c.name());
            let ok = match want {
                Kind::Text => c.dtype() == &DataType::String,
                Kind::Bool => c.dtype() == &DataType::Boolean,
                Kind::Float => c.dtype() == &DataType::Float64,
                Kind::Int => matches!(c.dtype(), DataType::Int64 | DataType::UInt64),
            };
            assert!(
                ok,
                "{}.{} is {:?}, contract {want:?}",
                t.file,
                c.name(),
                c.dtype()
            );
        }
    }
    // The demo shape fills every table but the header-only ones of a run without them.
    for t in [
        &results::UNIT_PERIOD,
        &results::ITEMS,
        &results::GROUPS,
        &results::DID,
        &results::ESTIMATES,
        &results::MODES,
        &results::DID_TWFE,
        &results::DID_UNITS,
        &results::EVENT_STUDY,
        &results::PRETREND,
        &results::TREATMENT,
        &results::ATT_GT,
        &results::ATT_OVERALL,
        &results::ATT_UNITS,
        &results::BACON,
        &results::INDICES,
    ] {
        assert!(
            !read_csv(&dir.join(t.file)).is_empty(),
            "{} has no row",
            t.file
        );
    }
    // Every file of the folder is the contract's (and the stage manifest).
    let listed: BTreeSet<String> = [
        Stage::Aggregate,
        Stage::Design,
        Stage::Evaluation,
        Stage::Treatment,
        Stage::Rollout,
        Stage::Indices,
        Stage::Methods,
    ]
    .iter()
    .flat_map(|s| s.files())
    .chain(["manifest.json".to_string()])
    .collect();
    let found: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(found, listed);
}

/// A field as the writer meant it: empty = undefined.
fn opt(row: &HashMap<String, String>, col: &str) -> Option<f64> {
    let s = &row[col];
    (!s.is_empty()).then(|| s.parse().unwrap())
}

#[test]
fn the_report_reads_back_what_aggregate_wrote() {
    let dir = &results_dir();
    let r = sipas_report::load_results(dir).unwrap();

    // The contract's row types (event_study, did_units, modes below): read by the report,
    // written again, the same bytes.
    let text = std::fs::read_to_string(dir.join(results::EVENT_STUDY.file)).unwrap();
    let mut again = results::EVENT_STUDY.header::<&str>(&[]);
    for c in &r.evaluation.event_study {
        c.write_line(&mut again);
    }
    assert_eq!(again, text);
    assert!(r.evaluation.event_study.len() >= 3);
    let text = std::fs::read_to_string(dir.join(results::DID_UNITS.file)).unwrap();
    let mut again = results::DID_UNITS.header::<&str>(&[]);
    for d in &r.evaluation.did_units {
        d.write_line(&mut again);
    }
    let sorted = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&again), sorted(&text));
    assert!(!r.evaluation.did_units.is_empty());

    // unit_period.csv: every cell, every field.
    let rows = read_csv(&dir.join(results::UNIT_PERIOD.file));
    let mut cells = 0;
    for row in &rows {
        let u = r.unit(&row["unit_code"]).unwrap();
        assert_eq!(u.name, row["unit_name"]);
        assert_eq!(u.district, row["district"]);
        assert_eq!(u.kind, row["kind"]);
        assert_eq!(u.pilot.to_string(), row["pilot"]);
        let e = u.by_period[&row["period"].parse().unwrap()];
        assert_eq!(e.n.to_string(), row["n"]);
        assert_eq!(e.sipas, opt(row, "sipas"));
        assert_eq!(e.se, opt(row, "sipas_se"));
        assert_eq!(e.lo, opt(row, "sipas_lo"));
        assert_eq!(e.hi, opt(row, "sipas_hi"));
        cells += 1;
    }
    assert_eq!(
        cells,
        r.units.values().map(|u| u.by_period.len()).sum::<usize>()
    );

    // groups.csv: both arms and their element and part columns.
    let groups = group_ids();
    assert_eq!(r.group_columns, groups);
    for row in read_csv(&dir.join(results::GROUPS.file)) {
        let p = row["period"].parse().unwrap();
        let (est, parts) = match row["group"].as_str() {
            "pilot" => (r.pilot_group[&p], &r.pilot_parts[&p]),
            _ => (r.baseline[&p], &r.baseline_parts[&p]),
        };
        assert_eq!(est.n.to_string(), row["n"]);
        assert_eq!(
            (est.sipas, est.se, est.lo, est.hi),
            (
                opt(&row, "sipas"),
                opt(&row, "sipas_se"),
                opt(&row, "sipas_lo"),
                opt(&row, "sipas_hi")
            )
        );
        let want: Vec<Option<f64>> = groups.iter().map(|g| opt(&row, g)).collect();
        assert_eq!(parts, &want);
    }

    // did.csv and pretrend.csv: one row each.
    let row = &read_csv(&dir.join(results::DID.file))[0];
    let d = r.did.unwrap();
    assert_eq!(d.pilot_start.unwrap().to_string(), row["pilot_start"]);
    assert_eq!(
        [d.estimate, d.se, d.lo, d.hi, d.pilot_pre, d.baseline_post],
        [
            opt(row, "estimate"),
            opt(row, "se"),
            opt(row, "lo"),
            opt(row, "hi"),
            opt(row, "pilot_pre"),
            opt(row, "baseline_post")
        ]
    );
    let row = &read_csv(&dir.join(results::PRETREND.file))[0];
    let t = r.evaluation.pretrend.as_ref().unwrap();
    assert_eq!(t.q.to_string(), row["q"]);
    assert_eq!(
        (t.wald, t.p, t.p_wild),
        (opt(row, "wald"), opt(row, "p"), opt(row, "p_wild"))
    );
    assert_eq!(
        t.seed.map(|s| s.to_string()).unwrap_or_default(),
        row["seed"]
    );

    // did_twfe.csv: the overall row, one row per pilot unit, one per treatment definition.
    let rows = read_csv(&dir.join(results::DID_TWFE.file));
    let twfe = r.evaluation.twfe.as_ref().unwrap();
    let scopes: BTreeMap<&str, usize> = rows.iter().fold(BTreeMap::new(), |mut m, row| {
        *m.entry(row["scope"].as_str()).or_default() += 1;
        m
    });
    assert_eq!(scopes["overall"], 1);
    assert_eq!(scopes["unit"], twfe.units.len());
    assert_eq!(scopes["treatment"], twfe.treatments.len());
    let overall = rows.iter().find(|row| row["scope"] == "overall").unwrap();
    let o = &twfe.overall;
    assert_eq!(
        [o.estimate, o.se, o.lo, o.hi, o.p, o.p_wild],
        [
            opt(overall, "estimate"),
            opt(overall, "se_cr1"),
            opt(overall, "lo_cr1"),
            opt(overall, "hi_cr1"),
            opt(overall, "p_cr1"),
            opt(overall, "p_wild")
        ]
    );
    assert_eq!(o.n_obs.unwrap().to_string(), overall["n_obs"]);

    // treatment.csv (after the crosswalk) and modes.csv.
    let rows = read_csv(&dir.join(results::TREATMENT.file));
    assert_eq!(rows.len(), r.evaluation.treatment.len());
    for row in &rows {
        let t = r
            .evaluation
            .treatment
            .iter()
            .find(|t| t.unit_code == row["unit_code"])
            .unwrap();
        assert_eq!(t.intensity, opt(row, "intensity"));
        assert_eq!(t.old_units, row["old_units"]);
        assert_eq!(t.pilot_old_units, row["pilot_old_units"]);
        assert_eq!(t.old_unit_names, row["old_unit_names"]);
        assert_eq!(t.intensity_basis, row["intensity_basis"]);
    }
    let text = std::fs::read_to_string(dir.join(results::MODES.file)).unwrap();
    let mut again = results::MODES.header::<&str>(&[]);
    for m in &r.modes {
        m.write_line(&mut again);
    }
    assert_eq!(again, text);
    assert_eq!(r.modes.len(), 4 * 3, "4 periods × 3 pairs of modes");
    // methods.txt, written through the contract, is what the report shows.
    let methods = std::fs::read_to_string(dir.join(results::METHODS.file)).unwrap();
    assert_eq!(r.evaluation.methods.as_deref(), Some(methods.as_str()));
}
