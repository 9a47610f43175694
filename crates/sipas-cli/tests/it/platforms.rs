//! KoboToolbox and ODK Central exports, as the platforms write them
//! (fixtures/ingest/platform/, made by its make_fixtures.py), through
//! ingest → clean → aggregate with no configuration. The expected numbers
//! are computed here from `truth.csv` (what each submission must come out
//! as), by the index's formulas, independently of sipas.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{code, num, read_csv, sipas, stderr};

fn platform() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ingest/platform")
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `sipas ingest INPUT`, then `extra`, into `dir/out`.
fn ingest(dir: &Path, input: &Path, extra: &[&str], out: &str) -> std::process::Output {
    let input = input.to_str().unwrap();
    sipas(
        dir,
        &[&["ingest", input][..], extra, &["--out", out]].concat(),
    )
}

/// The truth's rows.
fn truth() -> Vec<HashMap<String, String>> {
    read_csv(&platform().join("truth.csv"))
}

const ITEMS: [&str; 22] = [
    "a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5", "c1", "c2", "c3", "c4", "c5", "c6", "d1",
    "d2", "d3", "e1", "e2", "e3", "e4",
];

/// Element → its items (the sipas-2017 instrument).
fn elements() -> Vec<(&'static str, Vec<&'static str>)> {
    let by = |p: char| ITEMS.iter().copied().filter(|i| i.starts_with(p)).collect();
    vec![
        ("access", by('a')),
        ("procedures", by('b')),
        ("staff", by('c')),
        ("results", by('d')),
        ("feedback", by('e')),
    ]
}

/// Per (unit, period): (n, item → (valid answers, share satisfied)).
type Cells = BTreeMap<(String, String), (usize, BTreeMap<&'static str, (usize, f64)>)>;

/// The index by hand from the kept rows of the truth: item share =
/// 100 × (answers 4 or 5) / (valid answers).
fn expected_cells(kept: &[&HashMap<String, String>]) -> Cells {
    let mut cells: Cells = BTreeMap::new();
    let mut by_cell: BTreeMap<(String, String), Vec<&HashMap<String, String>>> = BTreeMap::new();
    for r in kept {
        by_cell
            .entry((r["unit_code"].clone(), r["period"].clone()))
            .or_default()
            .push(r);
    }
    for (cell, rows) in by_cell {
        let mut items = BTreeMap::new();
        for it in ITEMS {
            let valid: Vec<u8> = rows
                .iter()
                .filter(|r| !r[it].is_empty())
                .map(|r| r[it].parse().unwrap())
                .collect();
            assert!(!valid.is_empty(), "{cell:?} {it}: no valid answer");
            let sat = valid.iter().filter(|&&v| v >= 4).count();
            items.insert(it, (valid.len(), 100.0 * sat as f64 / valid.len() as f64));
        }
        cells.insert(cell, (rows.len(), items));
    }
    cells
}

/// Ingests, cleans and aggregates `input` in `dir`; checks the counts and
/// every unit × period and item number against the truth. `extra_read`:
/// rows read besides the 24 submissions (the Kobo edit's original).
fn check_export(input: &str, extra_read: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = platform().join(input);
    let ing = ingest(dir, &path, &[], "ing");
    // The rejected submission is excluded by policy: not a data problem.
    assert_eq!(code(&ing), 0, "{input}: {}", stderr(&ing));
    let truth = truth();
    let kept: Vec<&HashMap<String, String>> =
        truth.iter().filter(|r| r["kept"] == "true").collect();
    let rejected: Vec<&HashMap<String, String>> =
        truth.iter().filter(|r| r["kept"] == "false").collect();
    let dk: u64 = kept
        .iter()
        .map(|r| ITEMS.iter().filter(|it| r[**it].is_empty()).count() as u64)
        .sum();
    let flagged = kept
        .iter()
        .filter(|r| ["hasIssues"].contains(&r["review"].as_str()))
        .count();

    let rep = report(&dir.join("ing/ingest-report.json"));
    let t = &rep["totals"];
    assert_eq!(t["rows_read"], truth.len() as u64 + extra_read, "{input}");
    assert_eq!(t["accepted"], kept.len() as u64, "{input}");
    assert_eq!(
        t["quarantined_by_reason"]["review_rejected"],
        rejected.len() as u64,
        "{input}"
    );
    assert_eq!(
        t["quarantined_by_reason"]["superseded_by_edit"], extra_read,
        "{input}"
    );
    assert_eq!(
        t["quarantined"],
        rejected.len() as u64 + extra_read,
        "{input}"
    );
    assert_eq!(t["missing_code_answers"], dk, "{input}");
    assert_eq!(t["review_flagged"], flagged as u64, "{input}");
    assert_eq!(rep["review"], "exclude-rejected");
    assert_eq!(
        rep["kept_columns"],
        serde_json::json!(["started_at", "ended_at", "review_state"]),
        "{input}"
    );
    // The rejected row is in the quarantine with its reason and its id.
    let q = read_csv(&dir.join("ing/quarantine.csv"));
    let r = q.iter().find(|q| q["reason"] == "review_rejected").unwrap();
    assert!(
        r["record"].contains(&rejected[0]["kobo_id"]),
        "{input}: {}",
        r["record"]
    );

    let cl = sipas(dir, &["clean", "--data", "ing", "--out", "cl"]);
    assert_eq!(code(&cl), 0, "{input}: {}", stderr(&cl));
    let clean = report(&dir.join("cl/clean-report.json"));
    assert_eq!(clean["kept"], kept.len() as u64, "{input}");
    // start / end give the duration: the one interview under 120 s.
    let speeders = kept.iter().filter(|r| num(r, "duration_s") < 120.0).count();
    assert_eq!(speeders, 1);
    assert_eq!(
        clean["flagged_by_reason"]["flag_speeder"], speeders as u64,
        "{input}"
    );

    let agg = sipas(dir, &["aggregate", "--data", "cl", "--out", "res"]);
    assert_eq!(code(&agg), 0, "{input}: {}", stderr(&agg));
    let want = expected_cells(&kept);
    let cells = read_csv(&dir.join("res/unit_period.csv"));
    assert_eq!(cells.len(), want.len(), "{input}");
    for c in &cells {
        let (n, items) = &want[&(c["unit_code"].clone(), c["period"].clone())];
        assert_eq!(num(c, "n") as usize, *n, "{input}");
        let mut element_means = Vec::new();
        for (element, its) in elements() {
            let mean = its.iter().map(|it| items[it].1).sum::<f64>() / its.len() as f64;
            assert!(
                (num(c, element) - mean).abs() < 1e-5,
                "{input} {} {} {element}: {} vs {mean}",
                c["unit_code"],
                c["period"],
                c[element]
            );
            element_means.push(mean);
        }
        let sipas_index = element_means.iter().sum::<f64>() / 5.0;
        assert!((num(c, "sipas") - sipas_index).abs() < 1e-5, "{input}");
    }
    let items = read_csv(&dir.join("res/items.csv"));
    assert_eq!(items.len(), want.len() * ITEMS.len(), "{input}");
    for r in &items {
        let (_, cell) = &want[&(r["unit_code"].clone(), r["period"].clone())];
        let (n_valid, share) = cell[r["item"].as_str()];
        assert_eq!(num(r, "n_valid") as usize, n_valid, "{input}");
        assert!((num(r, "share") - share).abs() < 1e-5, "{input}");
    }
}

#[test]
fn kobo_labels_csv_semicolons_quoted_crlf_vietnamese_labels() {
    let raw = fs::read(platform().join("kobo_labels.csv")).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("\"start\";\"end\";\"Thông tin chung/Mã xã\""));
    assert!(text.contains("\r\n") && text.contains("\"Không biết/Không trả lời\""));
    check_export("kobo_labels.csv", 0);
}

#[test]
fn kobo_xml_csv_with_group_headers() {
    check_export("kobo_xml.csv", 0);
}

#[test]
fn kobo_xlsx_with_a_repeat_sheet() {
    check_export("kobo_repeat.xlsx", 0);
}

#[test]
fn kobo_api_pages_and_a_later_edit() {
    // The edit's original is on page 1; later/edits.json holds the edit.
    check_export("kobo_json", 1);
}

#[test]
fn odk_odata_pages() {
    check_export("odk_odata", 0);
}

#[test]
fn odk_csv_zip_with_a_repeat_table() {
    check_export("odk_csv.zip", 0);
}

#[test]
fn repeat_tables_and_pages_are_noted_in_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = platform().join("odk_csv.zip");
    let ing = ingest(tmp.path(), &zip, &[], "ing");
    assert_eq!(code(&ing), 0, "{}", stderr(&ing));
    assert!(
        stderr(&ing).contains("sipas_2017-grp_visits.csv: repeat group table (24 rows, linked to their submissions by `PARENT_KEY`)"),
        "{}",
        stderr(&ing)
    );
    let pages = platform().join("kobo_json");
    let ing = ingest(tmp.path(), &pages, &[], "ing2");
    let rep = report(&tmp.path().join("ing2/ingest-report.json"));
    let notes: Vec<&str> = rep["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("2 page(s), 24 records, as many as the server counted (24)")),
        "{notes:?} {}",
        stderr(&ing)
    );
    // 16 of 24 submissions list visits: 8 × (1 + 2) = 24 entries.
    let visits: usize = notes
        .iter()
        .filter(|n| n.contains("repeat group `grp_visits`"))
        .map(|n| {
            let at = n.find(" records (").unwrap();
            n[at + 10..]
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(visits, 24, "{notes:?}");
}

#[test]
fn review_policies_include_and_approved_only() {
    let tmp = tempfile::tempdir().unwrap();
    let odata = platform().join("odk_odata");
    let truth = truth();
    let approved = truth.iter().filter(|r| r["review"] == "approved").count() as u64;
    for (policy, accepted) in [("include", truth.len() as u64), ("approved-only", approved)] {
        let out = format!("ing-{policy}");
        let ing = ingest(tmp.path(), &odata, &["--review", policy], &out);
        assert_eq!(code(&ing), 0, "{}", stderr(&ing));
        let rep = report(&tmp.path().join(out).join("ingest-report.json"));
        assert_eq!(rep["totals"]["accepted"], accepted, "{policy}");
        assert_eq!(rep["review"], policy);
        if policy == "approved-only" {
            let by = &rep["totals"]["quarantined_by_reason"];
            assert_eq!(by["review_rejected"], 1);
            assert_eq!(by["review_not_approved"], truth.len() as u64 - approved - 1);
        }
    }
}

#[test]
fn a_mapped_answer_that_is_still_invalid_stops_the_run_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = platform().join("kobo_labels.csv");
    let ingest_with = |mapping: &str| {
        fs::write(tmp.path().join("m.toml"), mapping).unwrap();
        ingest(tmp.path(), &csv, &["--mapping", "m.toml"], "ing")
    };
    let ing = ingest_with("[answers]\n\"Không biết/Không trả lời\" = 7\n");
    assert_eq!(code(&ing), 2, "{}", stderr(&ing));
    assert!(
        stderr(&ing).contains("\"Không biết/Không trả lời\" = 7"),
        "{}",
        stderr(&ing)
    );
    assert!(!tmp.path().join("ing/responses.parquet").exists());
    // Sent to missing explicitly, the same label is read as missing.
    let ing = ingest_with("[answers]\n\"Không biết/Không trả lời\" = \"missing\"\n");
    assert_eq!(code(&ing), 0, "{}", stderr(&ing));
}

#[test]
fn repeats_keep_writes_each_repeat_table_keyed_to_its_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = truth();
    for (input, file, id_col) in [
        (
            "odk_csv.zip",
            "odk_csv.zip_sipas_2017-grp_visits.csv",
            "odk_id",
        ),
        (
            "kobo_repeat.xlsx",
            "kobo_repeat.xlsx_grp_visits.csv",
            "kobo_id",
        ),
    ] {
        let out = format!("ing-{input}");
        let path = platform().join(input);
        let ing = ingest(tmp.path(), &path, &["--repeats", "keep"], &out);
        assert_eq!(code(&ing), 0, "{}", stderr(&ing));
        let rows = read_csv(&tmp.path().join(&out).join("repeats").join(file));
        // 16 of 24 submissions list visits: 8 × (1 + 2) = 24 rows.
        assert_eq!(rows.len(), 24, "{input}");
        let ids: std::collections::HashSet<&str> =
            truth.iter().map(|r| r[id_col].as_str()).collect();
        for r in &rows {
            assert!(
                ids.contains(r["parent_response_id"].as_str()),
                "{input}: {r:?}"
            );
        }
        // The responses themselves are as without the option.
        let rep = report(&tmp.path().join(&out).join("ingest-report.json"));
        assert_eq!(rep["totals"]["accepted"], 23, "{input}");
    }
}
