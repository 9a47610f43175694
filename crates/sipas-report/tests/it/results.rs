//! Reading the results tables.

use std::fs;

use sipas_core::Period;
use sipas_report::{Error, load_results};

use crate::{small, small_dir};

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

#[test]
fn loads_units_groups_and_did() {
    let r = small();
    let labels: Vec<String> = r.periods.iter().map(ToString::to_string).collect();
    assert_eq!(
        labels,
        ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    );
    assert_eq!(r.units.len(), 3);
    assert_eq!(r.baseline_unit_count(), 1);
    assert_eq!(r.pilot_codes(), ["05443", "05602"]);

    let tv = r.unit("05443").unwrap();
    assert_eq!(tv.name, "Phường Trưng Vương");
    assert_eq!(tv.district, "Thành phố Thái Nguyên");
    assert_eq!(tv.kind, "phuong");
    let e = tv.by_period[&p("2024Q2")];
    assert_eq!(e.n, 120);
    assert_eq!(e.sipas, Some(88.5));
    assert_eq!(e.se, Some(2.0));
    // 88.5 ± 1.959964 × 2
    assert!((e.lo.unwrap() - 84.580_072).abs() < 1e-9);
    assert!((e.hi.unwrap() - 92.419_928).abs() < 1e-9);

    // The undefined cell: no responses, every value empty.
    let gap = r.unit("05602").unwrap().by_period[&p("2023Q3")];
    assert_eq!((gap.n, gap.sipas, gap.lo, gap.hi), (0, None, None, None));

    assert_eq!(r.baseline[&p("2023Q1")].sipas, Some(80.0));
    assert_eq!(r.pilot_group[&p("2024Q2")].n, 215);

    // DiD = (85.45 − 77.6) − (82.25 − 80.75) = 6.35.
    let d = r.did.expect("did.csv has its row");
    assert!((d.estimate.unwrap() - 6.35).abs() < 1e-9);
    assert_eq!(d.se, Some(2.1));
    assert_eq!(d.pilot_start, Some(p("2024Q1")));
    assert!((d.pilot_post.unwrap() - d.pilot_pre.unwrap() - 7.85).abs() < 1e-9);
}

/// Copies the fixture into a temp dir, letting `edit` change unit_period.csv.
fn edited(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["unit_period.csv", "groups.csv", "did.csv", "items.csv"] {
        let mut text = fs::read_to_string(small_dir().join(f)).unwrap();
        if f == "unit_period.csv" {
            text = edit(text);
        }
        fs::write(dir.path().join(f), text).unwrap();
    }
    dir
}

#[test]
fn names_are_normalised_to_nfc() {
    // "Phú Đình" with decomposed marks (u + U+0301).
    let dir = edited(|t| t.replace("Xã Phú Đình", "Xã Phu\u{301} Đình"));
    let r = load_results(dir.path()).unwrap();
    assert_eq!(r.unit("05602").unwrap().name, "Xã Phú Đình");
}

#[test]
fn a_bad_number_names_file_line_and_column() {
    // Line 3 of the file = the second data row.
    let dir = edited(|t| t.replacen(",120,79.500000,", ",120,79.5x,", 1));
    let err = load_results(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Field { line: 3, .. }), "{msg}");
    assert!(msg.contains("unit_period.csv"), "{msg}");
    assert!(msg.contains("column `sipas`"), "{msg}");
}

#[test]
fn a_missing_column_is_reported() {
    let dir = edited(|t| t.replacen("sipas_hi", "sipas_high", 1));
    let err = load_results(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingColumn { column, .. } if column == "sipas_hi"),
        "{err}"
    );
}

#[test]
fn a_duplicate_cell_is_rejected() {
    let dir = edited(|t| t.replacen("2023Q2", "2023Q1", 1));
    let err = load_results(dir.path()).unwrap_err();
    assert!(err.to_string().contains("has period 2023Q1 twice"), "{err}");
}
