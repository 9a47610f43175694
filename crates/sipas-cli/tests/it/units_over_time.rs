//! 2024Q1–2026Q2 coded as offices code it at the time (177 → 172 → 92):
//! ingest and `clean --crosswalk thai-nguyen` lose no row, and every unit ×
//! period on the 92 equals the same formulas on the rows mapped by the
//! published crosswalks (mapped here, independently of sipas).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use sipas_core::{IsoDate, bundled};

use crate::common::{code, read_csv, sipas, stderr};

const QUARTERS: [(u16, u8); 10] = [
    (2024, 1),
    (2024, 2),
    (2024, 3),
    (2024, 4),
    (2025, 1),
    (2025, 2),
    (2025, 3),
    (2025, 4),
    (2026, 1),
    (2026, 2),
];

/// The published crosswalks, old → new (a divided unit: its default).
fn published(file: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/crosswalk")
        .join(file);
    let mut m = BTreeMap::new();
    for r in read_csv(&path) {
        if r.get("part").is_none_or(|p| p == "whole")
            || r.get("note").is_some_and(|n| n == "default")
        {
            m.insert(r["old_code"].clone(), r["new_code"].clone());
        }
    }
    m
}

/// Writes the offices' file and the same rows mapped onto the 92; returns
/// the number of rows.
fn write_files(dir: &Path) -> usize {
    let h = bundled::unit_history();
    let items = bundled::instrument("sipas-2017").unwrap();
    let ids = items.item_ids();
    let (s1, s2) = (
        published("thai_nguyen.csv"),
        published("thai_nguyen_2025-07.csv"),
    );
    let header = format!(
        "response_id,unit_code,period,submitted_at,{}\n",
        ids.join(",")
    );
    let (mut coded, mut mapped) = (header.clone(), header);
    let mut n = 0usize;
    let mut x: u64 = 20_250_701;
    for (year, q) in QUARTERS {
        let month = 3 * q - 1;
        let mut days = vec![format!("{year}-{month:02}-15")];
        if (year, q) == (2024, 4) {
            days.push("2024-12-09".into());
        }
        for day in &days {
            let date: IsoDate = day.parse().unwrap();
            for u in h.in_force(date).iter() {
                for _ in 0..3 {
                    n += 1;
                    let mut answers = String::new();
                    for _ in &ids {
                        x = x
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        write!(answers, ",{}", 1 + (x >> 33) % 5).unwrap();
                    }
                    let mut new = u.code.clone();
                    if date < "2024-12-01".parse().unwrap() {
                        new = s1.get(&new).cloned().unwrap_or(new);
                    }
                    if date < "2025-07-01".parse().unwrap() {
                        new = s2
                            .get(&new)
                            .cloned()
                            .expect("every unit of the 172 is in the 2025-07 step");
                    }
                    let period = format!("{year}Q{q}");
                    let sub = format!("{day}T10:00:00+07:00");
                    writeln!(coded, "r{n},{},{period},{sub}{answers}", u.code).unwrap();
                    writeln!(mapped, "r{n},{new},{period},{sub}{answers}").unwrap();
                }
            }
        }
    }
    fs::write(dir.join("offices.csv"), coded).unwrap();
    fs::write(dir.join("mapped.csv"), mapped).unwrap();
    n
}

#[test]
fn a_panel_coded_at_the_time_is_analysed_on_the_92_with_no_row_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let n = write_files(tmp.path());
    // The 92 as a plain unit list, and the 11 pilot units on them.
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/units/thai_nguyen_2025-07.csv"),
        tmp.path().join("units92.csv"),
    )
    .unwrap();
    fs::write(
        tmp.path().join("pilots92.toml"),
        "program = \"p\"\nstart = \"2024Q1\"\nunits = [\"05443\", \"05500\", \"05710\", \"05518\", \"05528\", \"05860\", \"05857\", \"05569\", \"05581\", \"05587\", \"05602\"]\n",
    )
    .unwrap();
    let job = |name: &str, input: &str, extra: &str| {
        fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!(
                "out = \"{name}\"\ninstrument = \"sipas-2017\"\n{extra}[ingest]\ninputs = [\"{input}\"]\n[evaluation]\nreplicates = 0\n"
            ),
        )
        .unwrap();
        let out = sipas(tmp.path(), &["run", "--config", &format!("{name}.toml")]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    job(
        "cw",
        "offices.csv",
        "[clean]\ncrosswalk = \"thai-nguyen\"\n",
    );
    job(
        "ref",
        "mapped.csv",
        "units = \"units92.csv\"\npilots = \"pilots92.toml\"\n",
    );
    let clean: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("cw/clean/clean-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(clean["rows_in"], n);
    assert_eq!(clean["kept"], n, "no row lost: {clean}");
    // Gia Sàng, Cam Giá, Thượng Đình: 7 days before 01/07/2025, 3 rows a day.
    for k in ["05461 → 05443", "05467 → 05467", "05932 → 05941"] {
        assert_eq!(clean["crosswalk"]["rows_to_default_unit"][k], 21, "{k}");
    }
    let got = read_csv(&tmp.path().join("cw/results/unit_period.csv"));
    let want = read_csv(&tmp.path().join("ref/results/unit_period.csv"));
    assert_eq!(got.len(), want.len());
    assert_eq!(got.len(), 92 * 4 + 55 * 6);
    let key = |r: &std::collections::HashMap<String, String>| {
        (r["unit_code"].clone(), r["period"].clone())
    };
    let want: BTreeMap<_, _> = want.iter().map(|r| (key(r), r)).collect();
    for g in &got {
        let w = want[&key(g)];
        for c in ["n", "sipas", "access", "feedback", "pilot", "unit_name"] {
            assert_eq!(g[c], w[c], "{c} of {:?}", key(g));
        }
    }
    let pilots: std::collections::BTreeSet<&String> = got
        .iter()
        .filter(|r| r["pilot"] == "true")
        .map(|r| &r["unit_code"])
        .collect();
    assert_eq!(pilots.len(), 11);
}

/// `[generate] codes_at_date = "thai-nguyen"` (the demo's setting): the
/// generated rows carry the code in force on their submission day, and the
/// bundled crosswalk brings them all onto today's units with no row lost.
#[test]
fn generated_rows_carry_the_code_of_their_day() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        "out = \"o\"\ninstrument = \"sipas-2017\"\n[generate]\nresponses = 1770\nseed = 5\nfirst_period = \"2024Q3\"\nlast_period = \"2025Q3\"\ncodes_at_date = \"thai-nguyen\"\n[clean]\ncrosswalk = \"thai-nguyen\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let h = bundled::unit_history();
    let data = read_csv(&tmp.path().join("o/data/responses.csv"));
    assert_eq!(data.len(), 1770);
    let mut seen = std::collections::BTreeSet::new();
    for r in &data {
        let day = IsoDate::from_prefix(&r["submitted_at"]).unwrap();
        assert!(
            h.in_force(day).contains(&r["unit_code"]),
            "{} on {day}",
            r["unit_code"]
        );
        // Chợ Chu (05536-…) rows: 05536 before 01/12/2024, 05569 after.
        if r["response_id"].starts_with("05536-") {
            seen.insert((r["unit_code"].clone(), day >= "2024-12-01".parse().unwrap()));
        }
    }
    assert!(seen.contains(&("05536".to_string(), false)));
    assert!(seen.contains(&("05569".to_string(), true)));
    assert!(!seen.contains(&("05536".to_string(), true)));
    let clean: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("o/clean/clean-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(clean["kept"], 1770, "{clean}");
    let cells = read_csv(&tmp.path().join("o/results/unit_period.csv"));
    // The Thái Nguyên part of the 92 (55 units) in each of the 5 quarters.
    assert_eq!(cells.len(), 55 * 5);
}
