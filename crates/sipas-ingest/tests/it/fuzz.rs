//! Property tests of the readers (CSV, Excel, JSON / NDJSON, Kobo and ODK
//! pages): whatever the bytes, ingest never panics, and when it reads a
//! file every row is accounted for (`rows_read = accepted + quarantined`,
//! one quarantine entry per quarantined row; for generated tables the row
//! count is known by construction).
//!
//! A few cases run in `cargo test`; `PROPTEST_CASES=5000 cargo test -p
//! sipas-ingest --test it fuzz` runs longer. Failures proptest finds are
//! written to `tests/proptest-regressions/` and replayed first by every
//! later run (commit them).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sipas_ingest::{IngestOptions, Ingested, ReadOptions};

use crate::common::ITEMS_2017;

/// Cases per property: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ingest")
            .join(rel),
    )
    .unwrap()
}

/// Ingests one file (strict UTF-8 and auto), asserting the accounting when
/// it is read. Errors are allowed: a whole-file problem is an error.
fn ingest_file(path: &Path) -> Vec<Ingested> {
    let mut out = Vec::new();
    for encoding in [None, Some("auto".to_string())] {
        let read = ReadOptions {
            encoding,
            ..ReadOptions::default()
        };
        if let Ok(got) =
            sipas_ingest::ingest_with(&[path.to_path_buf()], &IngestOptions::default(), &read)
        {
            let r = &got.report;
            r.check_counts().unwrap();
            let t = &r.totals;
            assert_eq!(t.rows_read, t.accepted + t.quarantined);
            assert_eq!(got.quarantine.len() as u64, t.quarantined);
            assert_eq!(got.responses.height() as u64, t.accepted);
            out.push(got);
        }
    }
    out
}

/// A cell: answers, codes, names with diacritics, and hostile text
/// (quotes, delimiters, line breaks, control characters). Not NUL: a text
/// file holding NUL is skipped as binary, named in the report
/// (`csv_bytes_never_panic` feeds NUL bytes).
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u8..=5).prop_map(|v| v.to_string()),
        1 => Just(String::new()),
        1 => Just("Xã Hà Châu".to_string()),
        1 => Just("05443".to_string()),
        1 => Just("2024Q1".to_string()),
        2 => "[a-zA-Z0-9 ,;|\t\"\r\n=+@ăâđêôơưÀ-ỹ\u{1}-\u{1f}]{0,12}",
    ]
}

/// A table: header of the 2017 instrument (maybe with an extra column),
/// and rows of cells (some with the wrong number of fields).
fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    let width = 3 + ITEMS_2017.len();
    let row = prop_oneof![
        8 => proptest::collection::vec(cell(), width),
        1 => proptest::collection::vec(cell(), 0..width + 3),
    ];
    proptest::collection::vec(row, 0..30).prop_map(move |rows| {
        let mut header = vec![
            "response_id".to_string(),
            "unit_code".to_string(),
            "period".to_string(),
        ];
        header.extend(ITEMS_2017.iter().map(ToString::to_string));
        (header, rows)
    })
}

/// Writes a table as delimited text with `csv`'s quoting.
fn write_table(path: &Path, header: &[String], rows: &[Vec<String>], delimiter: u8, crlf: bool) {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .terminator(if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_path(path)
        .unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// Rows the reader counts: records with a field that is not all ASCII
/// whitespace (blank records are not rows).
fn non_blank(rows: &[Vec<String>]) -> u64 {
    rows.iter()
        .filter(|r| {
            r.iter()
                .any(|c| !c.bytes().all(|b| b.is_ascii_whitespace()))
        })
        .count() as u64
}

fn tmp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(16)))]

    /// Generated tables in any delimiter and line ending: every non-blank
    /// row is read and accounted for.
    #[test]
    fn csv_tables_account_for_every_row(
        (header, rows) in table(),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t'), Just(b'|')],
        crlf in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_table(&p, &header, &rows, delimiter, crlf);
        let read = ReadOptions { delimiter: Some(delimiter), ..ReadOptions::default() };
        let got = sipas_ingest::ingest_with(&[p], &IngestOptions::default(), &read).unwrap();
        let t = &got.report.totals;
        prop_assert_eq!(t.rows_read, non_blank(&rows));
        prop_assert_eq!(t.rows_read, t.accepted + t.quarantined);
        prop_assert_eq!(got.quarantine.len() as u64, t.quarantined);
    }

    /// Arbitrary bytes after a valid header (invalid UTF-8, NUL, stray
    /// quotes): an error or a full accounting, never a panic.
    #[test]
    fn csv_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = format!("response_id,unit_code,period,{}\n", ITEMS_2017.join(",")).into_bytes();
        bytes.extend(tail);
        ingest_file(&tmp_file(&dir, "b.csv", &bytes));
    }

    /// JSON arrays and NDJSON of objects with canonical and random keys
    /// and values of every JSON type: one row per object.
    #[test]
    fn json_records_account_for_every_object(
        objs in proptest::collection::vec(
            proptest::collection::vec((
                prop_oneof![Just("response_id".to_string()), Just("unit_code".to_string()),
                    Just("period".to_string()), Just("a1".to_string()), "[a-z/]{1,6}"],
                prop_oneof![
                    cell().prop_map(serde_json::Value::from),
                    any::<i64>().prop_map(serde_json::Value::from),
                    any::<f64>().prop_map(|f| serde_json::json!(f)),
                    any::<bool>().prop_map(serde_json::Value::from),
                    Just(serde_json::Value::Null),
                    Just(serde_json::json!({"x": [1, {"y": null}]})),
                ],
            ), 0..8),
            1..12,
        ),
        ndjson in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<serde_json::Value> = objs
            .into_iter()
            .map(|kv| {
                let mut o: serde_json::Map<String, serde_json::Value> = kv.into_iter().collect();
                o.insert("response_id".into(), "r".into());
                o.insert("unit_code".into(), "05443".into());
                o.insert("period".into(), "2024Q1".into());
                // An object under an item's key is a group (`a1/x`): the item
                // column would be missing, a whole-file error. Other values stay.
                for it in ITEMS_2017 {
                    let v = o.entry(it.to_string()).or_insert_with(|| 3.into());
                    if v.is_object() {
                        *v = 3.into();
                    }
                }
                serde_json::Value::Object(o)
            })
            .collect();
        let n = records.len() as u64;
        let bytes = if ndjson {
            records.iter().map(|r| r.to_string() + "\n").collect::<String>().into_bytes()
        } else {
            serde_json::to_vec_pretty(&records).unwrap()
        };
        let got = ingest_file(&tmp_file(&dir, "r.json", &bytes));
        prop_assert!(!got.is_empty());
        for g in got {
            prop_assert_eq!(g.report.totals.rows_read, n);
        }
    }

    /// Saved Kobo and ODK pages, the Excel workbook and the JSON files of
    /// the fixtures with bytes overwritten or cut: never a panic.
    #[test]
    fn damaged_files_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (rel, name) = [
            ("platform/kobo_json/page1.json", "page1.json"),
            ("platform/odk_odata/page1.json", "page1.json"),
            ("mixed/khao_sat.xlsx", "k.xlsx"),
            ("mixed/kobo.ndjson", "k.ndjson"),
            ("mixed/odk.json", "o.json"),
        ][which];
        let mut bytes = fixture(rel);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let dir = tempfile::tempdir().unwrap();
        ingest_file(&tmp_file(&dir, name, &bytes));
    }
}

/// The undamaged fixtures are read by the same harness (so the property
/// above exercises the readers, not only their error paths).
#[test]
fn undamaged_fixtures_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for (rel, name) in [
        ("platform/kobo_json/page1.json", "page1.json"),
        ("platform/odk_odata/page1.json", "page1.json"),
        ("mixed/khao_sat.xlsx", "k.xlsx"),
        ("mixed/kobo.ndjson", "k.ndjson"),
        ("mixed/odk.json", "o.json"),
    ] {
        let p = tmp_file(&dir, name, &fixture(rel));
        let got = ingest_file(&p);
        assert_eq!(got.len(), 2, "{rel}");
        assert!(got[0].report.totals.rows_read > 0, "{rel}");
    }
}
