//! One file per quarantine reason: reason, column, line and detail; the counts
//! reconcile; the first failing check wins.

use sipas_ingest::{QuarantinedRow, write_outputs};

use crate::common::{csv, header, ingest, row, write};

/// Ingests `rows` after a good first row (`ok`, 05443, 2024Q1, line 2) and
/// returns the quarantine; checks the identity and that the good row is kept.
fn quarantined(rows: &[String]) -> Vec<QuarantinedRow> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![row("ok", "05443", "2024Q1", "", "4", &[])];
    all.extend_from_slice(rows);
    let p = csv(dir.path(), "f.csv", &all);
    let got = ingest(&[p]);
    let t = &got.report.totals;
    assert_eq!(t.rows_read, all.len() as u64);
    assert_eq!(t.rows_read, t.accepted + t.quarantined);
    assert_eq!(t.quarantined, got.quarantine.len() as u64);
    assert_eq!(t.quarantined_by_reason.values().sum::<u64>(), t.quarantined);
    assert!(got.accepted() >= 1);
    got.quarantine
}

fn one(rows: &[String]) -> QuarantinedRow {
    let q = quarantined(rows);
    assert_eq!(q.len(), 1, "{q:#?}");
    q.into_iter().next().unwrap()
}

#[test]
fn malformed_row_wrong_field_count() {
    let q = one(&["r1,05443,2024Q1".to_string()]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("malformed_row", "", 3)
    );
    assert_eq!(q.detail, "expected 28 fields as in the header, found 3");
    assert_eq!(q.record, "r1,05443,2024Q1");
}

#[test]
fn malformed_row_invalid_utf8_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!("{}\n", header()).into_bytes();
    bytes.extend_from_slice(b"r\xff1");
    bytes.extend_from_slice(row("", "05443", "2024Q1", "", "4", &[]).as_bytes());
    bytes.push(b'\n');
    let p = dir.path().join("f.csv");
    std::fs::write(&p, bytes).unwrap();
    // UTF-8 (the default, or declared): the file is refused, naming the
    // line and byte offset (after the header, "\n" and "r").
    let offset = header().len() + 2;
    for encoding in [None, Some("utf-8".to_string())] {
        let read = sipas_ingest::ReadOptions {
            encoding,
            ..Default::default()
        };
        let opts = sipas_ingest::IngestOptions::default();
        let e = sipas_ingest::ingest_with(std::slice::from_ref(&p), &opts, &read).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}, line 2, byte offset {offset}: byte 0xFF is not valid UTF-8; the file is read as UTF-8 unless its encoding is named (`--encoding windows-1258`, or `encoding = \"windows-1258\"` in the job's [ingest]) or detected (`--encoding auto`)",
                p.display()
            )
        );
    }
    // Detected: with no other non-ASCII byte the file is taken for CP1258
    // (0xFF = ÿ), confidence 1.
    let auto = sipas_ingest::ReadOptions {
        encoding: Some("auto".into()),
        ..Default::default()
    };
    let opts = sipas_ingest::IngestOptions::default();
    let got = sipas_ingest::ingest_with(std::slice::from_ref(&p), &opts, &auto).unwrap();
    assert_eq!(got.accepted(), 1);
    let input = &got.report.inputs[0];
    assert_eq!(
        (input.encoding.as_deref(), input.encoding_confidence),
        (Some("windows-1258"), Some(1.0))
    );
    assert_eq!(
        crate::common::strs(&got.responses, "response_id"),
        [Some("rÿ1".into())]
    );
    // Mostly UTF-8 (a Vietnamese name: "ã" and "à", 4 non-ASCII bytes in
    // UTF-8 sequences; 0xFF is the 1 that is not): read as UTF-8 with confidence 4/5, and the row
    // holding the bad byte is quarantined, not decoded wrongly.
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(row("r2", "Xã Hà", "2024Q1", "", "4", &[]).as_bytes());
    bytes.push(b'\n');
    std::fs::write(&p, bytes).unwrap();
    let got = sipas_ingest::ingest_with(std::slice::from_ref(&p), &opts, &auto).unwrap();
    let input = &got.report.inputs[0];
    assert_eq!(input.encoding.as_deref(), Some("UTF-8"));
    assert!((input.encoding_confidence.unwrap() - 0.8).abs() < 1e-12);
    let q = &got.quarantine[0];
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("malformed_row", "response_id", 2)
    );
    assert!(q.detail.contains("not valid UTF-8"), "{}", q.detail);
    assert_eq!(
        crate::common::strs(&got.responses, "unit_code"),
        [Some("Xã Hà".into())]
    );
}

#[test]
fn missing_response_id() {
    let q = one(&[row("  ", "05443", "2024Q1", "", "4", &[])]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("missing_response_id", "response_id", 3)
    );
}

#[test]
fn duplicate_response_id_names_the_first_occurrence() {
    // The id is compared trimmed and NFC: " ok" is the same id.
    let q = one(&[row(" ok", "05500", "2024Q1", "", "5", &[])]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("duplicate_response_id", "response_id", 3)
    );
    assert!(q.detail.ends_with("f.csv line 2"), "{}", q.detail);
    assert!(
        q.record.starts_with(" ok,05500,2024Q1,,,,5,5"),
        "{}",
        q.record
    );
}

#[test]
fn units_are_kept_as_given_and_only_an_empty_unit_is_quarantined() {
    // Codes outside the registry and names are left to the cleaning stage.
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "f.csv",
        &[
            row("r1", "99999", "2024Q1", "", "4", &[]),
            row("r2", "5443", "2024Q1", "", "4", &[]),
            row("r3", " Phường Trung Vương ", "2024Q1", "", "4", &[]),
            row("r4", "  ", "2024Q1", "", "4", &[]),
        ],
    );
    let got = ingest(&[p]);
    assert_eq!(got.accepted(), 3);
    let q = &got.quarantine;
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].reason.as_str(), q[0].column.as_str(), q[0].line),
        ("missing_unit", "unit_code", 5)
    );
    // Sorted by unit text; 5443 lost its leading zero in a spreadsheet.
    assert_eq!(
        crate::common::strs(&got.responses, "unit_code"),
        [
            Some("05443".into()),
            Some("99999".into()),
            Some("Phường Trung Vương".into())
        ]
    );
    // 99999 and the name are not codes of the registry.
    assert_eq!(got.report.rows_unit_not_in_registry, 2);
}

#[test]
fn invalid_period() {
    let q = one(&[row("r1", "05443", "2024Q5", "", "4", &[])]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("invalid_period", "period", 3)
    );
    assert!(
        q.detail.starts_with("column period: value \"2024Q5\""),
        "{}",
        q.detail
    );
}

#[test]
fn mixed_granularity_against_the_first_accepted_row() {
    let q = one(&[row("r1", "05443", "2024-01", "", "4", &[])]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("mixed_granularity", "period", 3)
    );
    assert!(q.detail.contains("month"), "{}", q.detail);
    assert!(q.detail.contains("quarter"), "{}", q.detail);
    assert!(q.detail.contains("f.csv line 2"), "{}", q.detail);
}

#[test]
fn invalid_answer_values() {
    let q = one(&[row("r1", "05443", "2024Q1", "", "4", &[("b3", "7")])]);
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("invalid_answer", "b3", 3)
    );
    assert_eq!(q.detail, "column b3: value \"7\" is not an answer code 1–5");
    for bad in ["3.5", "0", "6", "abc"] {
        let q = one(&[row("r1", "05443", "2024Q1", "", "4", &[("e1", bad)])]);
        assert_eq!(
            (q.reason.as_str(), q.column.as_str()),
            ("invalid_answer", "e1"),
            "{bad}"
        );
    }
}

#[test]
fn invalid_weight_values() {
    for bad in ["0", "-1", "NaN", "inf", "x"] {
        let q = one(&[row("r1", "05443", "2024Q1", bad, "4", &[])]);
        assert_eq!(
            (q.reason.as_str(), q.column.as_str(), q.line),
            ("invalid_weight", "weight", 3),
            "{bad}"
        );
    }
}

#[test]
fn the_first_failing_check_is_the_reason() {
    let q = quarantined(&[
        // Empty unit and a bad answer: the unit comes first.
        row("r1", "", "2024Q1", "", "7", &[]),
        // A duplicate id with an empty unit: the duplicate comes first.
        row("ok", "", "2024Q1", "", "4", &[]),
        // Mixed granularity and a bad weight: granularity comes first.
        row("r3", "05443", "2024", "0", "4", &[]),
        // A bad answer and a bad weight: the answer comes first.
        row("r4", "05443", "2024Q1", "0", "4", &[("a2", "6")]),
    ]);
    let reasons: Vec<&str> = q.iter().map(|q| q.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "missing_unit",
            "duplicate_response_id",
            "mixed_granularity",
            "invalid_answer"
        ]
    );
    let lines: Vec<u64> = q.iter().map(|q| q.line).collect();
    assert_eq!(lines, [3, 4, 5, 6]);
}

#[test]
fn a_quarantined_id_does_not_block_a_later_good_row() {
    let q = one(&[
        row("r1", "", "2024Q1", "", "4", &[]),
        row("r1", "05443", "2024Q1", "", "4", &[]),
    ]);
    assert_eq!((q.reason.as_str(), q.line), ("missing_unit", 3));
}

#[test]
fn bom_embedded_newline_and_trailing_empty_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("\u{feff}");
    text.push_str(&header());
    text.push('\n');
    // Line 2–3: channel with an embedded newline.
    text.push_str(&row("r1", "05443", "2024Q1", "", "4", &[]).replacen(
        ",,,",
        ",,\"kiosk\nA\",",
        1,
    ));
    text.push('\n');
    // Line 4: a bad answer.
    text.push_str(&row("r2", "05443", "2024Q1", "", "4", &[("c2", "x")]));
    text.push_str("\n\n\n");
    let p = write(dir.path(), "bom.csv", &text);
    let got = ingest(&[p]);
    assert_eq!(got.instrument.id, "sipas-2017");
    assert_eq!(got.report.totals.rows_read, 2);
    assert_eq!(got.accepted(), 1);
    let q = &got.quarantine[0];
    assert_eq!(
        (q.reason.as_str(), q.column.as_str(), q.line),
        ("invalid_answer", "c2", 4)
    );
    let ch = got
        .responses
        .column("channel")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .map(str::to_string);
    assert_eq!(ch.as_deref(), Some("kiosk\nA"));
    let line = got
        .responses
        .column("source_line")
        .unwrap()
        .u64()
        .unwrap()
        .get(0);
    assert_eq!(line, Some(2));
}

#[test]
fn duplicate_across_files_is_quarantined_in_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let a = csv(
        dir.path(),
        "a.csv",
        &[row("r1", "05443", "2024Q1", "", "4", &[])],
    );
    let b = csv(
        dir.path(),
        "b.csv",
        &[
            row("r2", "05443", "2024Q1", "", "4", &[]),
            row("r1", "05500", "2024Q1", "", "3", &[]),
        ],
    );
    let got = ingest(&[a.clone(), b.clone()]);
    assert_eq!(got.quarantine.len(), 1);
    let q = &got.quarantine[0];
    assert_eq!(q.source_file, b.display().to_string());
    assert_eq!((q.reason.as_str(), q.line), ("duplicate_response_id", 3));
    assert_eq!(
        q.detail,
        format!(
            "column response_id: \"r1\" was already accepted from {} line 2",
            a.display()
        )
    );
    assert_eq!(q.record, row("r1", "05500", "2024Q1", "", "3", &[]));
    let r = &got.report;
    assert_eq!((r.inputs[0].accepted, r.inputs[0].quarantined), (1, 0));
    assert_eq!((r.inputs[1].accepted, r.inputs[1].quarantined), (1, 1));
    assert_eq!(
        r.inputs[1].quarantined_by_reason["duplicate_response_id"],
        1
    );

    // quarantine.csv holds the record as one quoted CSV field.
    let out = dir.path().join("out");
    write_outputs(&got, &out).unwrap();
    let text = std::fs::read_to_string(out.join("quarantine.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let recs: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(&recs[0][0], b.to_str().unwrap());
    assert_eq!(&recs[0][1], "3");
    assert_eq!(&recs[0][2], "duplicate_response_id");
    assert_eq!(&recs[0][3], "response_id");
    assert_eq!(&recs[0][5], row("r1", "05500", "2024Q1", "", "3", &[]));
}
