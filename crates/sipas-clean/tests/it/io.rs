//! Parquet round trip through the real I/O functions.

use sipas_clean::io::{self, read_responses, write_responses};
use sipas_clean::{CleanOptions, Crosswalk, clean};

use crate::common::{instrument, read_case, units};

#[test]
fn parquet_round_trip_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Input: the dup_submissions case plus the unit_names case (names in unit_code).
    let mut t = read_case("dup_submissions");
    t.rows.extend(read_case("unit_names").rows);
    write_responses(&data.join(io::RESPONSES), &t, false).unwrap();
    let (back, inst) = read_responses(&data.join(io::RESPONSES), None).unwrap();
    assert_eq!(inst.id, "sipas-2017");
    assert_eq!(back, t, "canonical parquet round trip");

    let opts = CleanOptions {
        crosswalk: Some(Crosswalk::thai_nguyen()),
        ..CleanOptions::default()
    };
    let out = dir.path().join("clean");
    let report = io::run(&data, &out, None, &units(), &opts).unwrap();
    // 7 + 6 rows; 3 duplicates, 1 ambiguous, 3 unknown (u4 needs the
    // fallback), and u1 (P. Trưng Vương → 05443, same answers as r2) is a
    // content duplicate too.
    assert_eq!(
        (
            report.totals.rows_in,
            report.totals.kept,
            report.totals.excluded
        ),
        (13, 5, 8)
    );

    let (clean_back, _) = read_responses(&out.join(io::RESPONSES), Some(&instrument())).unwrap();
    let expected = clean(&t, &instrument(), &units(), &opts).unwrap();
    assert_eq!(clean_back, expected.table);
    // 05536 → 05569 by the crosswalk.
    assert!(
        clean_back
            .rows
            .iter()
            .any(|r| r.response_id == "u5" && r.unit_code == "05569")
    );

    let q = std::fs::read_to_string(out.join(io::QUARANTINE)).unwrap();
    assert_eq!(q.lines().count(), 1 + 8);
    assert!(
        q.lines()
            .next()
            .unwrap()
            .ends_with("source_file,source_line,reason,detail")
    );
    assert!(q.contains("u2,Tân Long,2024Q1,,survey,1,"));
    let cells = std::fs::read_to_string(out.join(io::BY_CELL)).unwrap();
    assert!(
        cells.starts_with(
            "unit_code,period,rows_in,kept,excluded,excluded_duplicate_id_superseded,"
        )
    );
    assert!(
        cells.contains("\n05443,2024Q1,5,2,3,1,0,0,2,0,0,0,0,0,0,0,0\n"),
        "{cells}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(io::REPORT)).unwrap()).unwrap();
    assert_eq!(json["rows_in"], 13);
    assert_eq!(json["crosswalk"]["rows_remapped"], 1);

    // Reversed input order and a second run give the same bytes.
    let out2 = dir.path().join("clean2");
    let mut rev = t.clone();
    rev.rows.reverse();
    write_responses(&data.join(io::RESPONSES), &rev, false).unwrap();
    io::run(&data, &out2, None, &units(), &opts).unwrap();
    for f in [io::RESPONSES, io::QUARANTINE, io::BY_CELL, io::REPORT] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
    // Cleaning the clean output changes no row.
    let out3 = dir.path().join("clean3");
    io::run(&out, &out3, None, &units(), &opts).unwrap();
    assert_eq!(
        std::fs::read(out.join(io::RESPONSES)).unwrap(),
        std::fs::read(out3.join(io::RESPONSES)).unwrap()
    );
}
