//! Folder walking, Parquet input and detection by magic bytes.

use std::path::Path;

use polars::prelude::*;
use sipas_ingest::Format;

use crate::common::{ITEMS_2017, csv, ingest, row, write};

#[test]
fn folders_are_walked_recursively_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in");
    // The same id in both files: the one read first (a/x.csv) is accepted.
    csv(
        &root,
        "b.csv",
        &[row("r1", "05500", "2024Q1", "", "4", &[])],
    );
    csv(
        &root.join("a"),
        "x.csv",
        &[row("r1", "05443", "2024Q1", "", "4", &[])],
    );
    write(&root, "notes.txt", "not data\n");
    write(&root, "c.dat", "not read either\n");
    let got = ingest(std::slice::from_ref(&root));
    let files: Vec<&str> = got.report.inputs.iter().map(|i| i.file.as_str()).collect();
    let expect_a = root.join("a").join("x.csv");
    let expect_b = root.join("b.csv");
    assert_eq!(
        files,
        [expect_a.to_str().unwrap(), expect_b.to_str().unwrap()]
    );
    let unit = got
        .responses
        .column("unit_code")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .map(str::to_string);
    assert_eq!(unit.as_deref(), Some("05443"));
    assert_eq!(got.quarantine[0].reason.as_str(), "duplicate_response_id");
}

/// A Parquet file with the rows of `rows` (answers as Int64, unit as text).
fn write_parquet(path: &Path, rows: &[(&str, &str, &str, Option<i64>)]) {
    let mut cols = vec![
        Column::new(
            "response_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "unit_code".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "period".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
    ];
    for it in ITEMS_2017 {
        cols.push(Column::new(
            it.into(),
            rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        ));
    }
    let mut df = DataFrame::new(rows.len(), cols).unwrap();
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
}

#[test]
fn parquet_input_gives_the_same_rows_as_the_equivalent_csv() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ("p2", "05443", "2024Q1", Some(4)),
        ("p1", "05536", "2024Q1", None),
        ("p3", "05443", "2024Q1", Some(7)),
    ];
    let pq = dir.path().join("in.parquet");
    write_parquet(&pq, &rows);
    let csv_rows: Vec<String> = rows
        .iter()
        .map(|r| {
            let a = r.3.map(|v| v.to_string()).unwrap_or_default();
            row(r.0, r.1, r.2, "", &a, &[])
        })
        .collect();
    let c = csv(dir.path(), "in.csv", &csv_rows);
    let from_pq = ingest(std::slice::from_ref(&pq));
    let from_csv = ingest(std::slice::from_ref(&c));
    assert_eq!(from_pq.report.inputs[0].format, Format::Parquet);
    assert_eq!(from_pq.accepted(), 2);
    let drop = |df: &DataFrame| df.drop("source_file").unwrap();
    assert!(drop(&from_pq.responses).equals_missing(&drop(&from_csv.responses)));
    // Line = row number + 1 (first row is line 2, as in the CSV).
    let q = &from_pq.quarantine[0];
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("invalid_answer", "a1", 4)
    );
    assert_eq!(q.line, from_csv.quarantine[0].line);

    // The same bytes under a .dat name are detected as Parquet.
    let dat = dir.path().join("export.dat");
    std::fs::copy(&pq, &dat).unwrap();
    let from_dat = ingest(std::slice::from_ref(&dat));
    assert_eq!(from_dat.report.inputs[0].format, Format::Parquet);
    assert!(drop(&from_dat.responses).equals_missing(&drop(&from_pq.responses)));
}
