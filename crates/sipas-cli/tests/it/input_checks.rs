//! Input is read or refused, never guessed: strict UTF-8 and `--encoding
//! auto`, the `|` delimiter in a folder, a single unreadable input named
//! with its reason, and the date / period checks, through the binary.

use std::fmt::Write as _;
use std::path::Path;

use crate::common::{code, sipas, stderr};

const ITEMS: [&str; 22] = [
    "a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5", "c1", "c2", "c3", "c4", "c5", "c6", "d1",
    "d2", "d3", "e1", "e2", "e3", "e4",
];

/// Header and `n` rows (ids `{id}1`…, every other unit a name with
/// diacritics) of the 2017 instrument, delimited by `d`.
fn rows(n: usize, d: &str, id: &str) -> String {
    let mut t = format!("response_id{d}unit_code{d}period{d}{}\n", ITEMS.join(d));
    let answers = vec!["4"; ITEMS.len()].join(d);
    for i in 1..=n {
        let unit = if i % 2 == 0 { "Xã Hà Châu" } else { "05443" };
        writeln!(t, "{id}{i}{d}{unit}{d}2024Q1{d}{answers}").unwrap();
    }
    t
}

fn table(n: usize, d: &str) -> String {
    rows(n, d, "r")
}

fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("ingest-report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn one_invalid_byte_stops_the_run_unless_the_encoding_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bytes = table(2000, ",").into_bytes();
    // Line 1001 (row r1000, a "Xã Hà Châu" row): its first byte becomes 0xFF.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let offset = text
        .match_indices('\n')
        .nth(999)
        .map(|(i, _)| i + 1)
        .unwrap();
    assert!(text[offset..].starts_with("r1000,Xã"));
    bytes[offset] = 0xFF;
    std::fs::write(d.join("big.csv"), &bytes).unwrap();
    let out = sipas(
        d,
        &["ingest", "big.csv", "--out", "o", "--as-of", "2024-06-30"],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains(&format!(
            "big.csv, line 1001, byte offset {offset}: byte 0xFF is not valid UTF-8"
        )),
        "{err}"
    );
    assert!(!d.join("o").exists(), "nothing is written");

    // --encoding auto: UTF-8 is detected. "ã", "à" and "â" of the 1000
    // even rows are 3 × 2 × 1000 = 6000 non-ASCII bytes in UTF-8 sequences,
    // 0xFF is 1 that is not: confidence 6000 / 6001. Its row is
    // quarantined, the others are read.
    let out = sipas(
        d,
        &[
            "ingest",
            "big.csv",
            "--out",
            "o",
            "--encoding",
            "auto",
            "--as-of",
            "2024-06-30",
        ],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("big.csv: 2000 rows = 1999 accepted + 1 quarantined (csv, UTF-8, detected with confidence 1.00, delimiter `,`)"),
        "{err}"
    );
    let r = report(&d.join("o"));
    let input = &r["inputs"][0];
    assert_eq!(input["encoding"], "UTF-8");
    let c = input["encoding_confidence"].as_f64().unwrap();
    assert!((c - 6000.0 / 6001.0).abs() < 1e-12, "{c}");
    assert_eq!(r["totals"]["quarantined_by_reason"]["malformed_row"], 1);
    // The detection and its confidence are in the manifest too.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("o/manifest.json")).unwrap()).unwrap();
    let read = &m["reading"][0];
    assert_eq!(read["encoding"], "UTF-8");
    assert_eq!(read["rows_read"], 2000);
    let mc = read["encoding_confidence"].as_f64().unwrap();
    assert!((mc - 6000.0 / 6001.0).abs() < 1e-12, "{mc}");
}

#[test]
fn a_pipe_delimited_file_in_a_folder_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    std::fs::write(d.join("in/a.csv"), table(3, ",")).unwrap();
    std::fs::write(d.join("in/b.txt"), rows(4, "|", "p")).unwrap();
    let out = sipas(d, &["ingest", "in", "--out", "o", "--as-of", "2024-06-30"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("delimiter `|`"), "{err}");
    let r = report(&d.join("o"));
    assert_eq!(r["totals"]["rows_read"], 7);
    assert_eq!(r["totals"]["accepted"], 7);
    assert_eq!(r["inputs"][1]["delimiter"], "|");
    assert_eq!(r["skipped"], serde_json::json!([]));
    // The manifest counts the files read and skipped too.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("o/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["rows"]["files_read"], 2);
    assert_eq!(m["rows"]["files_skipped"], 0);
    assert_eq!(m["reading"][1]["delimiter"], "|");
    assert_eq!(m["reading"][1]["format"], "csv");
}

#[test]
fn a_single_input_that_cannot_be_read_is_named_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.csv"), b"").unwrap();
    let out = sipas(d, &["ingest", "empty.csv", "--out", "o"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("no input file could be read: empty.csv (empty file)"),
        "{err}"
    );
    std::fs::write(d.join("notes.csv"), "hello,world\n1,2\n").unwrap();
    let out = sipas(d, &["ingest", "notes.csv", "--out", "o"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("notes.csv (no header row naming a response id, a unit and a period)"),
        "{err}"
    );
}

#[test]
fn dates_and_periods_are_checked_against_the_job_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let answers = vec!["4"; ITEMS.len()].join(",");
    let rows = [
        ("ok", "2024Q2", "2024-05-03"),
        ("x1", "2024Q1", "not-a-date"),
        ("x2", "2024Q1", "2024-13-45"),
        ("x3", "2024Q2", "2999-01-01"),
        ("x4", "2023Q1", "2022-12-31"),
        ("x5", "2099Q1", ""),
        ("x6", "2024Q2", "2024-03-15"),
    ];
    let mut t = format!(
        "response_id,unit_code,period,submitted_at,{}\n",
        ITEMS.join(",")
    );
    for (id, p, s) in rows {
        writeln!(t, "{id},05443,{p},{s},{answers}").unwrap();
    }
    std::fs::write(d.join("dated.csv"), t).unwrap();
    // The calendar from flags …
    let out = sipas(
        d,
        &[
            "ingest",
            "dated.csv",
            "--out",
            "o",
            "--as-of",
            "2024-06-30",
            "--survey-start",
            "2023-01-01",
            "--first-survey-period",
            "2023Q1",
            "--last-survey-period",
            "2024Q4",
        ],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let by = &report(&d.join("o"))["totals"]["quarantined_by_reason"];
    let counts: Vec<(&str, u64)> = [
        "invalid_submitted_at",
        "submitted_in_future",
        "submitted_before_start",
        "period_out_of_range",
        "period_date_mismatch",
    ]
    .into_iter()
    .map(|c| (c, by[c].as_u64().unwrap()))
    .collect();
    assert_eq!(
        counts,
        [
            ("invalid_submitted_at", 2),
            ("submitted_in_future", 1),
            ("submitted_before_start", 1),
            ("period_out_of_range", 1),
            ("period_date_mismatch", 1),
        ]
    );
    // … or from a job file's [ingest] section: the same counts.
    std::fs::write(
        d.join("job.toml"),
        "out = \"j\"\ninstrument = \"sipas-2017\"\n[ingest]\ninputs = [\"dated.csv\"]\nas_of = \"2024-06-30\"\nsurvey_start = \"2023-01-01\"\nfirst_survey_period = \"2023Q1\"\nlast_survey_period = \"2024Q4\"\n",
    )
    .unwrap();
    let out = sipas(d, &["run", "--config", "job.toml"]);
    let err = stderr(&out);
    let r = report(&d.join("j/ingest"));
    assert_eq!(r["totals"]["quarantined"], 6, "{err}");
    assert_eq!(r["date_checks"]["as_of"], "2024-06-30");
    assert_eq!(
        r["totals"]["quarantined_by_reason"]["invalid_submitted_at"],
        2
    );
    // A bad setting is an error.
    let out = sipas(
        d,
        &["ingest", "dated.csv", "--out", "o", "--as-of", "30/06/2024"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("invalid as-of date `30/06/2024`"));
}
