//! Chart specs against values derived by hand from the fixture.
//!
//! Bands are SIPAS ± 1.959964 × SE: ±3.919928 for Trưng Vương (SE 2),
//! ±3.527935 for the baseline (SE 1.8), ±4.89991 for Phú Đình (SE 2.5).

use sipas_report::spec::{check_pilots, pilots_spec, trend_spec};

use crate::{pilots, small};

const PERIODS: &str = "x: Kỳ khảo sát [2023Q1, 2023Q2, 2023Q3, 2023Q4, 2024Q1, 2024Q2]";
const BASELINE: &str = "\
series Baseline \"Nhóm đối chứng (1 đơn vị)\"
  points: (0.00, 80.00) (1.00, 80.50) (2.00, 81.00) (3.00, 81.50) (4.00, 82.00) (5.00, 82.50)
  line: (0.00, 80.00) (1.00, 80.50) (2.00, 81.00) (3.00, 81.50) (4.00, 82.00) (5.00, 82.50)
  band: (0.00, 83.53) (1.00, 84.03) (2.00, 84.53) (3.00, 85.03) (4.00, 85.53) (5.00, 86.03) \
(5.00, 78.97) (4.00, 78.47) (3.00, 77.97) (2.00, 77.47) (1.00, 76.97) (0.00, 76.47)
";

#[test]
fn trend_spec_of_trung_vuong() {
    let spec = trend_spec(&small(), &pilots(), "05443").unwrap();
    // y: lowest bound 78 − 3.92 = 74.08 → 70; highest 88.5 + 3.92 = 92.42 → 95.
    let expected = format!(
        "\
title: Phường Trưng Vương — Thành phố Thái Nguyên
{PERIODS}
y: Điểm SIPAS (0–100) [70, 95]
marker: x=3.50 \"Bắt đầu thí điểm 2024Q1\"
series Unit \"Đơn vị thí điểm\"
  points: (0.00, 78.00) (1.00, 79.50) (2.00, 80.00) (3.00, 81.00) (4.00, 86.00) (5.00, 88.50)
  line: (0.00, 78.00) (1.00, 79.50) (2.00, 80.00) (3.00, 81.00) (4.00, 86.00) (5.00, 88.50)
  band: (0.00, 81.92) (1.00, 83.42) (2.00, 83.92) (3.00, 84.92) (4.00, 89.92) (5.00, 92.42) \
(5.00, 84.58) (4.00, 82.08) (3.00, 77.08) (2.00, 76.08) (1.00, 75.58) (0.00, 74.08)
{BASELINE}"
    );
    assert_eq!(spec.to_text(), expected);
}

#[test]
fn trend_spec_of_phu_dinh_has_a_gap() {
    let spec = trend_spec(&small(), &pilots(), "05602").unwrap();
    // 2023Q3 is undefined: two line runs and two bands, nothing at x = 2.
    // y: lowest 72 − 4.90 = 67.10 → 65; highest 85 + 4.90 = 89.90 → 90.
    let expected = format!(
        "\
title: Xã Phú Đình — Huyện Định Hóa
{PERIODS}
y: Điểm SIPAS (0–100) [65, 90]
marker: x=3.50 \"Bắt đầu thí điểm 2024Q1\"
series Unit \"Đơn vị thí điểm\"
  points: (0.00, 72.00) (1.00, 74.00) (3.00, 75.00) (4.00, 82.00) (5.00, 85.00)
  line: (0.00, 72.00) (1.00, 74.00)
  line: (3.00, 75.00) (4.00, 82.00) (5.00, 85.00)
  band: (0.00, 76.90) (1.00, 78.90) (1.00, 69.10) (0.00, 67.10)
  band: (3.00, 79.90) (4.00, 86.90) (5.00, 89.90) (5.00, 80.10) (4.00, 77.10) (3.00, 70.10)
{BASELINE}"
    );
    assert_eq!(spec.to_text(), expected);
}

#[test]
fn pilot_panels_share_one_y_range() {
    let panels = pilots_spec(&small(), &pilots()).unwrap();
    let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Phường Trưng Vương", "Xã Phú Đình"]);
    // 65 from Phú Đình's 67.10, 95 from Trưng Vương's 92.42.
    for p in &panels {
        assert_eq!(p.y_range, (65.0, 95.0));
        assert_eq!(p.marker.as_ref().unwrap().x, 3.5);
    }
}

#[test]
fn unknown_unit_and_pilot_mismatch_are_errors() {
    let r = small();
    assert!(trend_spec(&r, &pilots(), "99999").is_err());
    let mut other = pilots();
    other.units.insert("05446".into()); // the baseline unit
    let err = check_pilots(&r, &other).unwrap_err();
    assert!(err.to_string().contains("05446"), "{err}");
    assert!(check_pilots(&r, &pilots()).is_ok());
}
