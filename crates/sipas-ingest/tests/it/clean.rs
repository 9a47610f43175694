//! A clean canonical file ingests fully, with the exact schema and values.

use sipas_ingest::{IngestOptions, responses_schema, write_outputs};

use crate::common::{ITEMS_2017, csv, header, ingest, read_parquet, row, strs, u8s, write};

#[test]
fn clean_csv_ingests_fully_with_exact_schema_and_values() {
    let dir = tempfile::tempdir().unwrap();
    // Written out of order; two units, two quarters; one answer empty, one
    // a missing code (9), one `4.0`, one with spaces; weights empty and 2.5.
    let mut text = header();
    text.push('\n');
    text.push_str(&row("r3", "05500", "2024Q2", "", "5", &[]));
    text.push('\n');
    text.push_str(&row(
        "r2",
        "05443",
        "2024Q1",
        "2.5",
        "4",
        &[("a1", ""), ("e4", "9")],
    ));
    text.push('\n');
    // submitted_at and channel set, id with a decomposed Vietnamese letter.
    text.push_str(
        &row(
            "Ho\u{300}a-1",
            "05443",
            "2024q1",
            "",
            "3",
            &[("b1", " 2 "), ("c1", "4.0")],
        )
        .replacen(",,,", ",2024-02-01T08:00:00,qr,", 1),
    );
    text.push('\n');
    let p = write(dir.path(), "clean.csv", &text);
    let got = ingest(std::slice::from_ref(&p));

    assert_eq!(got.instrument.id, "sipas-2017");
    assert_eq!(got.accepted(), 3);
    assert_eq!(got.quarantined(), 0);
    let r = &got.report;
    assert_eq!(r.granularity.as_deref(), Some("quarter"));
    assert_eq!(r.periods, ["2024Q1", "2024Q2"]);
    assert_eq!(r.units, 2);
    assert_eq!(r.totals.missing_code_answers, 1);
    assert!(r.ignored_columns.is_empty());

    let df = &got.responses;
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    assert_eq!(**df.schema(), responses_schema(&inst));
    assert_eq!(df.width(), 6 + 22 + 2);
    // Sorted by (period, unit_code, response_id); "Hòa-1" < "r2" bytewise.
    assert_eq!(
        strs(df, "response_id"),
        [Some("Hòa-1".into()), Some("r2".into()), Some("r3".into())]
    );
    assert_eq!(
        strs(df, "unit_code"),
        [
            Some("05443".into()),
            Some("05443".into()),
            Some("05500".into())
        ]
    );
    assert_eq!(
        strs(df, "period"),
        [
            Some("2024Q1".into()),
            Some("2024Q1".into()),
            Some("2024Q2".into())
        ]
    );
    assert_eq!(
        strs(df, "submitted_at"),
        [Some("2024-02-01T08:00:00".into()), None, None]
    );
    assert_eq!(
        strs(df, "channel"),
        [
            Some("qr".into()),
            Some("survey".into()),
            Some("survey".into())
        ]
    );
    let w: Vec<Option<f64>> = df.column("weight").unwrap().f64().unwrap().iter().collect();
    assert_eq!(w, [Some(1.0), Some(2.5), Some(1.0)]);
    assert_eq!(u8s(df, "a1"), [Some(3), None, Some(5)]);
    assert_eq!(u8s(df, "e4"), [Some(3), None, Some(5)]);
    assert_eq!(u8s(df, "b1"), [Some(2), Some(4), Some(5)]);
    assert_eq!(u8s(df, "c1"), [Some(4), Some(4), Some(5)]);
    assert_eq!(u8s(df, "d3"), [Some(3), Some(4), Some(5)]);
    let lines: Vec<Option<u64>> = df
        .column("source_line")
        .unwrap()
        .u64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(lines, [Some(4), Some(3), Some(2)]);
    assert_eq!(
        strs(df, "source_file")[0].as_deref(),
        Some(p.to_str().unwrap())
    );

    // Written and read back: the same schema and rows.
    let out = dir.path().join("out");
    let report = write_outputs(&got, &out).unwrap();
    assert_eq!(report, got.report);
    let back = read_parquet(&out.join("responses.parquet"));
    assert!(back.equals_missing(df));
    assert_eq!(**back.schema(), responses_schema(&inst));
    let q = std::fs::read_to_string(out.join("quarantine.csv")).unwrap();
    assert_eq!(q, "source_file,line,reason,column,detail,record\n");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ingest-report.json")).unwrap())
            .unwrap();
    assert_eq!(json["instrument"], "sipas-2017");
    assert_eq!(json["inputs"][0]["format"], "csv");
    assert_eq!(json["inputs"][0]["rows_read"], 3);
    assert_eq!(json["totals"]["quarantined_by_reason"]["invalid_answer"], 0);
    assert_eq!(json["units"], 2);
}

#[test]
fn extra_columns_are_ignored_and_reported_and_optional_columns_may_be_absent() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "note,response_id,unit_code,period,{},interviewer\nhi,x1,05443,2024,{},An\n",
        ITEMS_2017.join(","),
        ["4"; 22].join(",")
    );
    let p = write(dir.path(), "f.csv", &text);
    let got = ingest(&[p]);
    assert_eq!(got.accepted(), 1);
    assert_eq!(got.report.ignored_columns, ["interviewer", "note"]);
    assert_eq!(got.report.granularity.as_deref(), Some("year"));
    let df = &got.responses;
    assert_eq!(strs(df, "channel"), [Some("survey".into())]);
    assert_eq!(strs(df, "submitted_at"), [None]);
    assert_eq!(
        df.column("weight").unwrap().f64().unwrap().get(0),
        Some(1.0)
    );
}

#[test]
fn missing_required_column_is_an_error_naming_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = csv(
        dir.path(),
        "a.csv",
        &[row("r1", "05443", "2024Q1", "", "4", &[])],
    );
    let text = format!(
        "response_id,period,{}\nr2,2024Q1,{}\n",
        ITEMS_2017.join(","),
        ["4"; 22].join(",")
    );
    let bad = write(dir.path(), "b.csv", &text);
    let opts = IngestOptions::default();
    let err = sipas_ingest::ingest(&[good, bad.clone()], &opts).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(bad.to_str().unwrap()), "{msg}");
    assert!(msg.contains("missing required column `unit_code`"), "{msg}");
}

#[test]
fn unknown_instrument_names_the_closest_and_its_missing_items() {
    let dir = tempfile::tempdir().unwrap();
    let cols: Vec<&str> = ITEMS_2017.iter().copied().filter(|c| *c != "c6").collect();
    let text = format!("response_id,unit_code,period,{}\n", cols.join(","));
    let p = write(dir.path(), "f.csv", &text);
    let err = sipas_ingest::ingest(&[p], &IngestOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("closest is sipas-2017, missing item columns: c6"),
        "{msg}"
    );
}

#[test]
fn an_explicit_instrument_requires_its_items_in_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "a.csv",
        &[row("r1", "05443", "2024Q1", "", "4", &[])],
    );
    let opts = IngestOptions {
        instrument: sipas_core::bundled::instrument("sipas-2023"),
        ..IngestOptions::default()
    };
    let msg = sipas_ingest::ingest(&[p], &opts).unwrap_err().to_string();
    assert!(
        msg.contains("missing item columns of instrument sipas-2023: pa1, pa2"),
        "{msg}"
    );
}

#[test]
fn a_custom_unit_registry_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "a.csv",
        &[
            row("r1", "05443", "2024Q1", "", "4", &[]),
            row("r2", "00001", "2024Q1", "", "4", &[]),
        ],
    );
    let units = sipas_core::UnitRegistry::from_csv_str(
        "code,name,kind,district_code,district_name\n00001,Thử,xa,001,Huyện Thử\n",
        "test",
    )
    .unwrap();
    let opts = IngestOptions {
        instrument: None,
        units,
        keep_columns: Vec::new(),
        ..IngestOptions::default()
    };
    let got = sipas_ingest::ingest(&[p], &opts).unwrap();
    // Both kept (clean decides); 05443 is not a code of this registry.
    assert_eq!(
        strs(&got.responses, "unit_code"),
        [Some("00001".into()), Some("05443".into())]
    );
    assert!(got.quarantine.is_empty());
    assert_eq!(got.report.rows_unit_not_in_registry, 1);
}
