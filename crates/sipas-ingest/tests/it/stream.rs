//! `ingest_to`: the outputs do not depend on the chunk size, the input-order
//! checks hold across chunks and files, and both table layouts hold the
//! same rows.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use sipas_ingest::{IngestOptions, ReadOptions, TableLayout, WriteOptions, ingest_to};

use crate::common::{ITEMS_2017, strs, u8s};

/// A CSV row: `id,unit,period,,,weight,<answers>,village`.
fn csv_row(
    id: &str,
    unit: &str,
    period: &str,
    weight: &str,
    answer: &str,
    village: &str,
) -> String {
    format!(
        "{id},{unit},{period},,,{weight},{},{village}",
        vec![answer; ITEMS_2017.len()].join(",")
    )
}

/// `a.csv` (CRLF, a quoted field spanning two lines) and `b.parquet`.
/// The expected outcome of every row is in the comments.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut bad_answer = vec!["4"; ITEMS_2017.len()];
    bad_answer[0] = "7";
    let bad_answer = bad_answer.join(",");
    let lines = [
        format!(
            "response_id,unit_code,period,submitted_at,channel,weight,{},village",
            ITEMS_2017.join(",")
        ),
        csv_row("A1", "05443", "2024Q1", "1", "4", "v1"), // 2 accepted
        csv_row("A2", "05443", "2024Q2", "2", "3", "v2"), // 3 accepted
        csv_row("A1", "05446", "2024Q2", "1", "4", "v3"), // 4 duplicate of line 2
        csv_row("A3", "", "2024Q1", "1", "4", ""),        // 5 missing unit
        csv_row("A4", "05443", "2024-03", "1", "4", "v4"), // 6 mixed granularity
        format!("A5,05446,2023Q4,,,1,{bad_answer},"),     // 7 invalid answer
        format!("A2,05446,2024Q1,,,1,{bad_answer},v5"),   // 8 duplicate (before the answer check)
        csv_row("", "05443", "2024Q1", "1", "4", ""),     // 9 missing id
        csv_row("A6", "05443", "2023Q4", "1", "5", "\"x\r\ny\""), // 10-11 accepted
        csv_row("A7", "05446", "2024Q1", "0", "4", ""),   // 12 invalid weight
        "A8,05443,2024Q1".to_string(),                    // 13 malformed
        csv_row("A9", "05449", "2024Q1", "1", "2", "v6"), // 14 accepted
        csv_row("A4", "05449", "2024Q1", "1", "2", ""),   // 15 accepted (line 6 was not)
    ];
    let a = dir.join("a.csv");
    std::fs::write(&a, lines.join("\r\n") + "\r\n").unwrap();

    // b.parquet, line = row + 2.
    let ids = ["B1", "A3", "A6", "B2", "B1", "B3", "B4"];
    let units = [
        "05443", "05446", "05443", "05443", "05446", "05449", "05449",
    ];
    let periods = [
        "2024Q1",  // 2 accepted
        "2024Q2",  // 3 accepted (a.csv line 5 was not)
        "2024Q1",  // 4 duplicate of a.csv line 10
        "2024-05", // 5 mixed granularity
        "2024Q2",  // 6 duplicate of line 2
        "2023Q4",  // 7 invalid answer (a1 = 7)
        "2024Q2",  // 8 accepted, a2 missing
    ];
    let mut cols = vec![
        Column::new("response_id".into(), ids),
        Column::new("unit_code".into(), units),
        Column::new("period".into(), periods),
        Column::new("weight".into(), [1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0]),
    ];
    for item in ITEMS_2017 {
        let v: Vec<Option<u8>> = (0..7)
            .map(|r| match (item, r) {
                ("a1", 5) => Some(7),
                ("a2", 6) => None,
                _ => Some(1 + (r % 5) as u8),
            })
            .collect();
        cols.push(Column::new(item.into(), v));
    }
    cols.push(Column::new(
        "village".into(),
        [
            Some("p1"),
            None,
            Some("p3"),
            None,
            Some("p5"),
            None,
            Some("p7"),
        ],
    ));
    let mut df = DataFrame::new(7, cols).unwrap();
    let b = dir.join("b.parquet");
    ParquetWriter::new(std::fs::File::create(&b).unwrap())
        .finish(&mut df)
        .unwrap();
    vec![a, b]
}

fn opts() -> IngestOptions {
    IngestOptions {
        keep_columns: vec!["village".into()],
        ..IngestOptions::default()
    }
}

fn run(inputs: &[PathBuf], out: &Path, layout: TableLayout, chunk_rows: usize) {
    run_with(
        inputs,
        out,
        layout,
        chunk_rows,
        sipas_ingest::DEFAULT_SPILL_MEMORY,
        sipas_ingest::DEFAULT_SORT_ROWS,
    );
}

/// [`run`] holding at most `spill_memory` bytes of accepted rows in memory
/// (0: every period goes through a temporary file) and sorting at most
/// `sort_rows` rows at a time.
fn run_with(
    inputs: &[PathBuf],
    out: &Path,
    layout: TableLayout,
    chunk_rows: usize,
    spill_memory: usize,
    sort_rows: usize,
) {
    let write = WriteOptions {
        layout,
        chunk_rows,
        spill_memory,
        sort_rows,
    };
    ingest_to(inputs, &opts(), &ReadOptions::default(), out, &write).unwrap();
}

/// The `source_line` column.
fn source_lines(table: &DataFrame) -> Vec<u64> {
    table
        .column("source_line")
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn outputs_do_not_depend_on_the_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let reference = dir.path().join("default");
    run(
        &inputs,
        &reference,
        TableLayout::File,
        sipas_ingest::DEFAULT_CHUNK_ROWS,
    );
    // Held in memory, spilled to disk, or some of each (a few hundred bytes
    // hold one chunk of a row or two); periods sorted whole or in runs of
    // units (1 row: each unit alone; 2: 2024Q2's three units in two runs).
    for (chunk, memory, sort) in [(1, 0, 1), (2, 600, 2), (3, usize::MAX, 1), (7, 0, 3)] {
        let out = dir.path().join(format!("chunk-{chunk}"));
        run_with(&inputs, &out, TableLayout::File, chunk, memory, sort);
        for f in ["responses.parquet", "quarantine.csv", "ingest-report.json"] {
            assert!(
                read(&out.join(f)) == read(&reference.join(f)),
                "{f}, chunks of {chunk}, {memory} bytes held, {sort} rows sorted at a time"
            );
        }
        // No temporary files are left.
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["ingest-report.json", "quarantine.csv", "responses.parquet"]
        );
    }

    // The outcome, worked out by hand (see `inputs`).
    let table = sipas_dataset::Dataset::open(&reference)
        .unwrap()
        .read(None)
        .unwrap();
    let key: Vec<String> = strs(&table, "period")
        .into_iter()
        .zip(strs(&table, "unit_code"))
        .zip(strs(&table, "response_id"))
        .map(|((p, u), i)| format!("{} {} {}", p.unwrap(), u.unwrap(), i.unwrap()))
        .collect();
    assert_eq!(
        key,
        [
            "2023Q4 05443 A6",
            "2024Q1 05443 A1",
            "2024Q1 05443 B1",
            "2024Q1 05449 A4",
            "2024Q1 05449 A9",
            "2024Q2 05443 A2",
            "2024Q2 05446 A3",
            "2024Q2 05449 B4",
        ]
    );
    let village: Vec<Option<String>> = strs(&table, "village");
    let v = |s: &str| Some(s.to_string());
    assert_eq!(
        village,
        [
            v("x\r\ny"),
            v("v1"),
            v("p1"),
            None,
            v("v6"),
            v("v2"),
            None,
            v("p7")
        ]
    );
    let lines = source_lines(&table);
    assert_eq!(lines, [10, 2, 2, 15, 14, 3, 3, 8]);
    assert_eq!(u8s(&table, "a2")[7], None);
    assert_eq!(u8s(&table, "a1")[2], Some(1));

    let (a, b) = (
        inputs[0].display().to_string(),
        inputs[1].display().to_string(),
    );
    let mut q = csv::Reader::from_path(reference.join("quarantine.csv")).unwrap();
    let got: Vec<(String, String, String, String)> = q
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[4].to_string(),
            )
        })
        .collect();
    let dup = |id: &str, file: &str, line: u64| {
        format!("column response_id: {id:?} was already accepted from {file} line {line}")
    };
    let row = |file: &str, line: u64, reason: &str, detail: &str| {
        (
            file.to_string(),
            line.to_string(),
            reason.to_string(),
            detail.to_string(),
        )
    };
    let expected = [
        row(&a, 4, "duplicate_response_id", &dup("A1", &a, 2)),
        row(
            &a,
            5,
            "missing_unit",
            "column unit_code: empty unit (a GSO code or a unit name is required)",
        ),
        row(
            &a,
            6,
            "mixed_granularity",
            &format!(
                "column period: 2024-03 is a month period but the dataset's periods are by quarter (set by {a} line 2)"
            ),
        ),
        row(
            &a,
            7,
            "invalid_answer",
            "column a1: value \"7\" is not an answer code 1–5",
        ),
        row(&a, 8, "duplicate_response_id", &dup("A2", &a, 3)),
        row(
            &a,
            9,
            "missing_response_id",
            "column response_id: empty response id",
        ),
        row(
            &a,
            12,
            "invalid_weight",
            "column weight: value \"0\" is not a finite number > 0",
        ),
        row(
            &a,
            13,
            "malformed_row",
            "expected 29 fields as in the header, found 3",
        ),
        row(&b, 4, "duplicate_response_id", &dup("A6", &a, 10)),
        row(
            &b,
            5,
            "mixed_granularity",
            &format!(
                "column period: 2024-05 is a month period but the dataset's periods are by quarter (set by {a} line 2)"
            ),
        ),
        row(&b, 6, "duplicate_response_id", &dup("B1", &b, 2)),
        row(
            &b,
            7,
            "invalid_answer",
            "column a1: value \"7\" is not an answer code 1–5",
        ),
    ];
    assert_eq!(got, expected);

    let report: serde_json::Value =
        serde_json::from_slice(&read(&reference.join("ingest-report.json"))).unwrap();
    let t = &report["totals"];
    assert_eq!(
        (t["rows_read"].as_u64(), t["accepted"].as_u64()),
        (Some(20), Some(8))
    );
    assert_eq!(
        t["quarantined_by_reason"]["duplicate_response_id"].as_u64(),
        Some(4)
    );
    assert_eq!(report["inputs"][0]["accepted"].as_u64(), Some(5));
    assert_eq!(report["inputs"][1]["quarantined"].as_u64(), Some(4));
    assert_eq!(
        report["periods"],
        serde_json::json!(["2023Q4", "2024Q1", "2024Q2"])
    );
    assert_eq!(report["units"].as_u64(), Some(3));
}

#[test]
fn the_period_layout_holds_the_same_rows_and_the_in_memory_api_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let file = dir.path().join("file");
    let by_period = dir.path().join("period");
    run(&inputs, &file, TableLayout::File, 3);
    run(&inputs, &by_period, TableLayout::ByPeriod, 2);
    assert!(by_period.join("responses/period=2024Q1").is_dir());
    assert!(!by_period.join("responses.parquet").exists());
    for f in ["quarantine.csv", "ingest-report.json"] {
        assert!(read(&file.join(f)) == read(&by_period.join(f)), "{f}");
    }
    let a = sipas_dataset::Dataset::open(&file)
        .unwrap()
        .read(None)
        .unwrap();
    let b = sipas_dataset::Dataset::open(&by_period)
        .unwrap()
        .read(None)
        .unwrap();
    assert_eq!(a.height(), 8);
    assert!(a.equals_missing(&b));

    // `ingest_with` + `write_outputs` run the same pipeline.
    let ingested = sipas_ingest::ingest_with(&inputs, &opts(), &ReadOptions::default()).unwrap();
    assert!(ingested.responses.equals_missing(&a));
    let legacy = dir.path().join("legacy");
    sipas_ingest::write_outputs(&ingested, &legacy).unwrap();
    for f in ["responses.parquet", "quarantine.csv", "ingest-report.json"] {
        assert!(read(&file.join(f)) == read(&legacy.join(f)), "{f}");
    }

    // Switching layouts in one folder replaces the table.
    run(&inputs, &by_period, TableLayout::File, 5);
    assert!(by_period.join("responses.parquet").is_file());
    assert!(!by_period.join("responses").exists());
}

/// One CSV of 60 rows read in parallel parts: every fifth row (i % 10 is
/// 3 or 8) holds a village over two lines with doubled quotes, so the
/// boundaries guessed between parts fall inside quoted fields at small chunk
/// sizes; the errors and the repeated id sit in the second half of the file.
#[test]
fn one_csv_in_parallel_parts_reads_as_one_reader_does() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let answers = vec!["4"; ITEMS_2017.len()].join(",");
    let multi = |i: usize| i % 10 == 3 || i % 10 == 8;
    let mut text = format!(
        "response_id,unit_code,period,submitted_at,channel,weight,{},village\n",
        ITEMS_2017.join(",")
    );
    for i in 0..60 {
        let id = if i == 52 {
            "R1".to_string()
        } else {
            format!("R{i}")
        };
        let village = if multi(i) {
            format!("\"th\u{f4}n {i}\nsaid \"\"hi\"\", \"\"bye\"\"\"")
        } else {
            format!("v{i}")
        };
        let mut a = answers.clone();
        if i == 45 {
            a.replace_range(0..1, "7");
        }
        if i == 57 {
            text.push_str("R57,05443,2024Q1\n");
        } else {
            writeln!(text, "{id},05443,2024Q1,,,1,{a},{village}").unwrap();
        }
    }
    let path = dir.path().join("big.csv");
    std::fs::write(&path, &text).unwrap();
    // Row i starts on line 2 + i + (two-line rows before it).
    let line = |i: usize| 2 + i + (0..i).filter(|&j| multi(j)).count();
    assert_eq!((line(1), line(45), line(52), line(57)), (3, 56, 64, 70));

    let reference = dir.path().join("default");
    run(
        std::slice::from_ref(&path),
        &reference,
        TableLayout::File,
        sipas_ingest::DEFAULT_CHUNK_ROWS,
    );
    for chunk in [1, 2, 3, 5, 8] {
        let out = dir.path().join(format!("chunk-{chunk}"));
        let memory = if chunk % 2 == 0 { usize::MAX } else { 0 };
        run_with(
            std::slice::from_ref(&path),
            &out,
            TableLayout::File,
            chunk,
            memory,
            chunk,
        );
        for f in ["responses.parquet", "quarantine.csv", "ingest-report.json"] {
            assert!(
                read(&out.join(f)) == read(&reference.join(f)),
                "{f}, chunks of {chunk}"
            );
        }
    }

    let file = path.display().to_string();
    let mut q = csv::Reader::from_path(reference.join("quarantine.csv")).unwrap();
    let got: Vec<(String, String, String)> = q
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[2].to_string(), r[4].to_string())
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "56".to_string(),
                "invalid_answer".to_string(),
                "column a1: value \"7\" is not an answer code 1–5".to_string()
            ),
            (
                "64".to_string(),
                "duplicate_response_id".to_string(),
                format!("column response_id: \"R1\" was already accepted from {file} line 3")
            ),
            (
                "70".to_string(),
                "malformed_row".to_string(),
                "expected 29 fields as in the header, found 3".to_string()
            ),
        ]
    );
    let table = sipas_dataset::Dataset::open(&reference)
        .unwrap()
        .read(None)
        .unwrap();
    assert_eq!(table.height(), 57);
    let ids = strs(&table, "response_id");
    let villages = strs(&table, "village");
    let lines = source_lines(&table);
    for ((id, village), l) in ids.iter().zip(&villages).zip(&lines) {
        let i: usize = id.as_deref().unwrap()[1..].parse().unwrap();
        assert_eq!(*l as usize, line(i), "{id:?}");
        let want = if multi(i) {
            format!("th\u{f4}n {i}\nsaid \"hi\", \"bye\"")
        } else {
            format!("v{i}")
        };
        assert_eq!(village.as_deref(), Some(want.as_str()));
    }
}
