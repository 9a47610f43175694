//! The SQL of `sipas sql` run in DuckDB and in Spark local mode against
//! sipas' own estimator: every value and SE of `unit_period`, `groups` and
//! the composite and item rows of `estimates` to 1e-9, for a custom
//! instrument under weights, strata (unit × period, unit, district, a
//! column), clusters, fpc and the lonely-PSU rules, and for both bundled
//! instruments.
//!
//! The engines are Python packages (`duckdb`, `pyspark`, found through
//! `$SIPAS_PYTHON`, else `~/.cache/sipas/venv-spark/bin/python` as `.ci/run`
//! installs it, else `python3`); a test without its engine says so and
//! passes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::sql::{self, Dialect, Engine, SqlOutput, SqlSpec};
use sipas_aggregate::{
    AggregateOptions, DesignSpec, LonelyPsu, Responses, Strata, aggregate_with_design,
};
use sipas_core::Instrument;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SIPAS_PYTHON") {
        return p.into();
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = Path::new(&home).join(".cache/sipas/venv-spark/bin/python");
        if p.exists() {
            return p;
        }
    }
    "python3".into()
}

/// Whether the engine can run here; says why not on stderr.
fn available(engine: &Engine) -> bool {
    let dir = tempfile::tempdir().unwrap();
    match sql::check_engine(&python(), engine, dir.path()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("SKIPPED: {engine:?} is not available here: {e}");
            false
        }
    }
}

/// A data set: the responses as sipas reads them and the same rows as CSV.
struct Case {
    name: &'static str,
    responses: Responses,
    csv: PathBuf,
    designs: Vec<(&'static str, DesignSpec)>,
    /// The result tables checked.
    outputs: &'static [&'static str],
    /// Units and pilots (the bundled ones; for sipas-2023 a second wave).
    opts: AggregateOptions,
}

fn design_fixture(dir: &Path) -> Case {
    // The fixture's villages per district (its fpc column) beside the design columns.
    let text = std::fs::read_to_string(crate::design::dir().join("responses.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == "villages_pop").unwrap();
    let pop: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(k).unwrap().parse().unwrap())
        .collect();
    let responses = crate::design::responses(false)
        .with_number_column("villages_pop", pop)
        .unwrap();
    let csv = dir.join("design.csv");
    std::fs::copy(crate::design::dir().join("responses.csv"), &csv).unwrap();
    let clustered = DesignSpec {
        strata: Strata::Column("district_code".into()),
        cluster: Some("village".into()),
        ..DesignSpec::default()
    };
    Case {
        name: "custom",
        responses,
        csv,
        outputs: &ALL,
        opts: AggregateOptions::bundled(),
        designs: vec![
            ("default", DesignSpec::default()),
            ("clustered", clustered.clone()),
            (
                "clustered_fpc",
                DesignSpec {
                    fpc: Some("villages_pop".into()),
                    ..clustered.clone()
                },
            ),
            (
                "unit_adjust",
                DesignSpec {
                    strata: Strata::Unit,
                    cluster: Some("village".into()),
                    lonely_psu: LonelyPsu::Adjust,
                    ..DesignSpec::default()
                },
            ),
            (
                "unit_average",
                DesignSpec {
                    strata: Strata::Unit,
                    cluster: Some("village".into()),
                    lonely_psu: LonelyPsu::Average,
                    ..DesignSpec::default()
                },
            ),
            (
                "district_rows",
                DesignSpec {
                    strata: Strata::District,
                    lonely_psu: LonelyPsu::Adjust,
                    ..DesignSpec::default()
                },
            ),
            (
                "unstratified",
                DesignSpec {
                    strata: Strata::None,
                    cluster: Some("village".into()),
                    ..DesignSpec::default()
                },
            ),
        ],
    }
}

/// Generated responses of a bundled instrument: 5 units (one a pilot, one
/// surveyed in the second period only), two periods, villages, weights and
/// missing answers (a fixed LCG, seed 19).
fn bundled_case(dir: &Path, id: &'static str) -> Case {
    let inst = sipas_core::bundled::instrument(id).unwrap();
    let mut opts = AggregateOptions::bundled();
    let pilot = opts.pilots.units.iter().next().unwrap().clone();
    let mut units: Vec<String> = opts
        .units
        .iter()
        .map(|u| u.code.clone())
        .filter(|c| !opts.pilots.contains(c))
        .take(4)
        .collect();
    units.push(pilot);
    // With sipas-2023, the second unit joins the pilot in a second wave
    // (from 2024Q3): it leaves the first wave's comparison (groups) as a later wave.
    if id == "sipas-2023" {
        let first = opts.pilots.clone();
        opts.pilots = sipas_core::PilotSet::from_waves(
            "test",
            vec![
                sipas_core::Wave {
                    start: first.start,
                    units: first.units,
                },
                sipas_core::Wave {
                    start: "2024Q3".parse().unwrap(),
                    units: [units[1].clone()].into(),
                },
            ],
        )
        .unwrap();
    }
    let mut state: u64 = 19;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / f64::from(1u32 << 31)
    };
    let items = inst.item_ids().len();
    let mut text = String::from("response_id,unit_code,period,weight,village");
    for it in inst.item_ids() {
        let _ = write!(text, ",{it}");
    }
    text.push('\n');
    let mut b = Responses::builder(inst.clone());
    let mut villages = Vec::new();
    let mut k = 0;
    for (i, u) in units.iter().enumerate() {
        for p in ["2023", "2024"] {
            // The fourth unit is surveyed from the pilot start only: it is
            // left out of the pilot / baseline comparison (groups), not of
            // its own cells.
            if i == 3 && p == "2023" {
                continue;
            }
            for _ in 0..12 {
                k += 1;
                let w = (0.5 + 2.0 * next() * 1e4).round() / 1e4;
                let village = format!("{u}-V{}", 1 + (next() * 3.0) as u32);
                let answers: Vec<Option<u8>> = (0..items)
                    .map(|_| {
                        let x = next();
                        (x >= 0.1).then(|| 1 + ((x - 0.1) / 0.9 * 5.0).min(4.0) as u8)
                    })
                    .collect();
                let _ = write!(text, "r{k},{u},{p},{w},{village}");
                for a in &answers {
                    let _ = write!(text, ",{}", a.map_or(String::new(), |a| a.to_string()));
                }
                text.push('\n');
                b.push(u, p, "survey", w, &answers).unwrap();
                villages.push(village);
            }
        }
    }
    let refs: Vec<&str> = villages.iter().map(String::as_str).collect();
    let responses = b
        .build()
        .unwrap()
        .with_text_column("village", &refs)
        .unwrap();
    let left = sipas_aggregate::aggregate(&responses, &opts)
        .unwrap()
        .report
        .left_out;
    let mut want = vec![units[3].as_str()];
    if id == "sipas-2023" {
        want.push(units[1].as_str());
        want.sort_unstable();
    }
    assert_eq!(
        left.iter()
            .map(|u| u.unit_code.as_str())
            .collect::<Vec<_>>(),
        want
    );
    let csv = dir.join(format!("{id}.csv"));
    std::fs::write(&csv, text).unwrap();
    Case {
        name: id,
        responses,
        csv,
        outputs: &ALL,
        opts,
        designs: vec![
            ("default", DesignSpec::default()),
            (
                "district_clustered",
                DesignSpec {
                    strata: Strata::District,
                    cluster: Some("village".into()),
                    lonely_psu: LonelyPsu::Adjust,
                    ..DesignSpec::default()
                },
            ),
        ],
    }
}

const ALL: [&str; 3] = ["unit_period", "groups", "estimates"];

const OUTPUTS: [(&str, SqlOutput); 3] = [
    ("unit_period", SqlOutput::UnitPeriod),
    ("groups", SqlOutput::Groups),
    ("estimates", SqlOutput::Estimates),
];

fn queries(case: &Case, dialect: Dialect) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (dname, design) in &case.designs {
        let spec = SqlSpec {
            instrument: case.responses.instrument(),
            opts: &case.opts,
            design,
            table: view(case),
            has_channel: false,
            has_weight: true,
            has_old_unit_code: false,
        };
        for (oname, output) in OUTPUTS {
            if !case.outputs.contains(&oname) {
                continue;
            }
            out.push((
                format!("{}__{dname}__{oname}", case.name),
                sql::sql(&spec, dialect, output).unwrap(),
            ));
        }
    }
    out
}

/// A CSV written by the runner: header → column, rows of fields.
fn read_csv(path: &Path) -> (HashMap<String, usize>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    // No field of these tables holds a comma except unit names (quoted by
    // csv when needed; Vietnamese names have none).
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn num(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

/// Equal to 1e-9 (relative to the larger of 1 and the value), both undefined alike.
fn same(what: &str, sql: Option<f64>, ours: Option<f64>) -> usize {
    match (sql, ours) {
        (None, None) => 0,
        (Some(a), Some(b)) => {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{what}: SQL {a} vs sipas {b}"
            );
            1
        }
        _ => panic!("{what}: SQL {sql:?} vs sipas {ours:?}"),
    }
}

/// Compares every output of every design of `case`; returns the numbers compared.
fn compare(case: &Case, out: &Path) -> usize {
    let mut compared = 0;
    for (dname, design) in &case.designs {
        let (ind, est) = aggregate_with_design(&case.responses, &case.opts, design).unwrap();
        let file = |o: &str| out.join(format!("{}__{dname}__{o}.csv", case.name));
        let tag = format!("{} {dname}", case.name);

        // unit_period
        assert!(case.outputs.contains(&"unit_period"));
        let (h, rows) = read_csv(&file("unit_period"));
        assert_eq!(rows.len(), ind.cells.len(), "{tag}: unit_period rows");
        assert_eq!(
            h.len(),
            11 + ind.group_ids.len(),
            "{tag}: unit_period columns"
        );
        for (c, r) in ind.cells.iter().zip(&rows) {
            let what = format!("{tag} unit_period {} {}", c.unit_code, c.period);
            assert_eq!(r[h["unit_code"]], c.unit_code, "{what}");
            assert_eq!(r[h["period"]], c.period.to_string(), "{what}");
            assert_eq!(r[h["unit_name"]], c.unit_name, "{what}");
            assert_eq!(r[h["district"]], c.district, "{what}");
            assert_eq!(r[h["kind"]], c.kind, "{what}");
            assert_eq!(r[h["pilot"]], c.pilot.to_string(), "{what}");
            assert_eq!(r[h["n"]], c.n.to_string(), "{what}");
            for (col, v) in [
                ("sipas", c.sipas.value),
                ("sipas_se", c.sipas.se),
                ("sipas_lo", c.sipas.lo),
                ("sipas_hi", c.sipas.hi),
            ] {
                compared += same(&format!("{what} {col}"), num(&r[h[col]]), v);
            }
            for (g, v) in ind.group_ids.iter().zip(&c.groups) {
                compared += same(&format!("{what} {g}"), num(&r[h[g.as_str()]]), *v);
            }
        }

        // groups
        if !case.outputs.contains(&"groups") {
            continue;
        }
        let (h, rows) = read_csv(&file("groups"));
        assert_eq!(rows.len(), ind.groups.len(), "{tag}: groups rows");
        for (g, r) in ind.groups.iter().zip(&rows) {
            let what = format!("{tag} groups {} {}", g.period, g.group.as_str());
            assert_eq!(r[h["period"]], g.period.to_string(), "{what}");
            assert_eq!(r[h["group"]], g.group.as_str(), "{what}");
            assert_eq!(r[h["n"]], g.n.to_string(), "{what}");
            for (col, v) in [
                ("sipas", g.sipas.value),
                ("sipas_se", g.sipas.se),
                ("sipas_lo", g.sipas.lo),
                ("sipas_hi", g.sipas.hi),
            ] {
                compared += same(&format!("{what} {col}"), num(&r[h[col]]), v);
            }
            for (id, v) in ind.group_ids.iter().zip(&g.groups) {
                compared += same(&format!("{what} {id}"), num(&r[h[id.as_str()]]), *v);
            }
        }

        // estimates: the normal rows of composites, the wilson row of items
        // (value and SE; the SQL leaves item intervals to sipas).
        if !case.outputs.contains(&"estimates") {
            continue;
        }
        let (h, rows) = read_csv(&file("estimates"));
        let ours: Vec<_> = est
            .rows
            .iter()
            .filter(|r| r.domain_type != DomainType::Mode && r.ci_method != CiMethod::Logit)
            .collect();
        assert_eq!(rows.len(), ours.len(), "{tag}: estimates rows");
        let by_key: HashMap<(&str, &str, String, &str), &Vec<String>> = rows
            .iter()
            .map(|r| {
                (
                    (
                        r[h["domain_type"]].as_str(),
                        r[h["domain"]].as_str(),
                        r[h["period"]].clone(),
                        r[h["indicator"]].as_str(),
                    ),
                    r,
                )
            })
            .collect();
        for e in ours {
            let what = format!(
                "{tag} estimates {} {} {} {}",
                e.domain_type.as_str(),
                e.domain,
                e.period,
                e.indicator
            );
            let r = by_key[&(
                e.domain_type.as_str(),
                e.domain.as_str(),
                e.period.to_string(),
                e.indicator.as_str(),
            )];
            assert_eq!(r[h["indicator_kind"]], e.indicator_kind.as_str(), "{what}");
            assert_eq!(r[h["n"]], e.n.to_string(), "{what}");
            compared += same(&format!("{what} value"), num(&r[h["value"]]), e.value);
            compared += same(&format!("{what} se"), num(&r[h["se"]]), e.se);
            if e.ci_method == CiMethod::Normal {
                compared += same(&format!("{what} lo"), num(&r[h["lo"]]), e.lo);
                compared += same(&format!("{what} hi"), num(&r[h["hi"]]), e.hi);
            } else {
                assert_eq!((r[h["lo"]].as_str(), r[h["hi"]].as_str()), ("", ""));
            }
        }
    }
    compared
}

/// The table name of a case's responses in the engine.
fn view(case: &Case) -> String {
    format!("responses_{}", case.name.replace('-', "_"))
}

/// Runs every query of `cases` in one engine session, then compares.
fn run_cases(engine: &Engine, dialect: Dialect, cases: &[Case], out: &Path) -> usize {
    let mut qs = Vec::new();
    let mut views = Vec::new();
    for c in cases {
        qs.extend(queries(c, dialect));
        views.push((view(c), format!("csv:{}", c.csv.display())));
    }
    sql::run_queries(&python(), engine, &qs, &views, out).unwrap();
    cases.iter().map(|c| compare(c, out)).sum()
}

fn custom_sipas_sql(out: &Path) -> Case {
    design_fixture(out)
}

/// The index fixture (fixtures/reference/index: every item type, weighted
/// parts, groups on 1–10): constants, ladders of shares and each group's
/// interval bounds in SQL.
fn index_case(dir: &Path) -> Case {
    let csv = dir.join("index.csv");
    std::fs::copy(crate::index::dir().join("responses.csv"), &csv).unwrap();
    Case {
        name: "index",
        responses: crate::index::responses(),
        csv,
        outputs: &ALL,
        opts: crate::index::options(),
        designs: vec![
            ("default", DesignSpec::default()),
            (
                "clustered",
                DesignSpec {
                    strata: Strata::Column("district_code".into()),
                    cluster: Some("village".into()),
                    ..DesignSpec::default()
                },
            ),
        ],
    }
}

#[test]
fn duckdb_equals_sipas_for_every_design_and_instrument() {
    if !available(&Engine::DuckDb) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        custom_sipas_sql(dir.path()),
        index_case(dir.path()),
        bundled_case(dir.path(), "sipas-2017"),
        bundled_case(dir.path(), "sipas-2023"),
    ];
    let n = run_cases(&Engine::DuckDb, Dialect::DuckDb, &cases, dir.path());
    eprintln!("DuckDB: {n} numbers equal sipas' to 1e-9");
    assert!(n > 10_000, "{n}");
}

#[test]
fn spark_equals_sipas_for_every_design_and_instrument() {
    let engine = Engine::Spark("local[2]".into());
    if !available(&engine) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut custom = custom_sipas_sql(dir.path());
    // Spark's JVM is slow to start: fewer designs, each feature once.
    custom.designs.retain(|(n, _)| *n == "clustered_fpc");
    let mut average = design_fixture(dir.path());
    average.name = "custom_average";
    average.designs.retain(|(n, _)| *n == "unit_average");
    average.outputs = &["unit_period"];
    let mut b17 = bundled_case(dir.path(), "sipas-2017");
    b17.designs.truncate(1);
    b17.outputs = &["unit_period"];
    let mut b23 = bundled_case(dir.path(), "sipas-2023");
    b23.designs.retain(|(n, _)| *n == "district_clustered");
    b23.outputs = &["unit_period", "groups"];
    let mut index = index_case(dir.path());
    index.designs.truncate(1);
    let n = run_cases(
        &engine,
        Dialect::Spark,
        &[custom, average, b17, b23, index],
        dir.path(),
    );
    eprintln!("Spark: {n} numbers equal sipas' to 1e-9");
    assert!(n > 2_000, "{n}");
}

#[test]
fn replication_designs_are_refused_by_name() {
    let opts = AggregateOptions::bundled();
    let inst: Instrument = sipas_core::bundled::instrument("sipas-2023").unwrap();
    let design = DesignSpec {
        variance: sipas_aggregate::VarianceMethod::Jackknife,
        ..DesignSpec::default()
    };
    let spec = SqlSpec {
        instrument: &inst,
        opts: &opts,
        design: &design,
        table: "t".into(),
        has_channel: true,
        has_weight: true,
        has_old_unit_code: false,
    };
    let err = sql::sql(&spec, Dialect::DuckDb, SqlOutput::UnitPeriod).unwrap_err();
    assert!(err.to_string().contains("jackknife"), "{err}");
}
