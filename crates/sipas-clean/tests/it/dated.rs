//! Units over time: rows read among the units in force on their date
//! (177 → 172 → 92), and the chained Thái Nguyên crosswalk.

use std::collections::BTreeMap;

use sipas_clean::FolderOptions;
use sipas_clean::io::{self, write_responses};
use sipas_clean::{
    CleanOptions, Crosswalk, CrosswalkTarget, Excluded, Response, ResponseTable, clean,
};
use sipas_core::{Granularity, IsoDate, Period, UnitHistory, bundled};

use crate::common::{instrument, read_case};

fn history() -> UnitHistory {
    bundled::unit_history()
}

fn row(id: &str, unit: &str, period: &str, sub: Option<&str>, seed: u64) -> Response {
    let mut r = read_case("dup_submissions").rows[0].clone();
    r.response_id = id.into();
    r.unit_code = unit.into();
    r.period = period.into();
    r.submitted_at = sub.map(str::to_string);
    r.source_file = "offices.csv".into();
    r.source_line = seed + 2;
    // Distinct answers per row (no content duplicates): a small LCG.
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    for a in &mut r.answers {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *a = Some(u8::try_from(1 + (x >> 33) % 5).unwrap());
    }
    r
}

fn table(rows: Vec<Response>) -> ResponseTable {
    let mut t = read_case("dup_submissions");
    t.rows = rows;
    t
}

/// Each quarantined row's reason and detail, by response id.
fn quarantined(q: &[Excluded]) -> BTreeMap<&str, (&str, &str)> {
    q.iter()
        .map(|e| {
            (
                e.row.response_id.as_str(),
                (e.reason.as_str(), e.detail.as_str()),
            )
        })
        .collect()
}

/// 2024Q1, 2024Q2, …, 2026Q2 (ten quarters).
fn quarters_2024q1_to_2026q2() -> Vec<Period> {
    let q = |year, sub| Period::new(Granularity::Quarter, year, sub).unwrap();
    q(2024, 1).range_to(q(2026, 2))
}

fn kept_unit(t: &ResponseTable, id: &str) -> Option<String> {
    t.rows
        .iter()
        .find(|r| r.response_id == id)
        .map(|r| r.unit_code.clone())
}

#[test]
fn codes_and_names_are_read_at_the_rows_date() {
    let rows = vec![
        // 05569 is Xã Bảo Cường in 2024Q3, Thị trấn Chợ Chu in December 2024.
        row("a1", "05569", "2024Q3", None, 1),
        row("a2", "Xã Bảo Cường", "2024Q3", None, 2),
        row("a3", "Xã Bảo Cường", "2025Q3", None, 3),
        // December 2024: the new Chợ Chu already, by name and by code.
        row(
            "b1",
            "Thị trấn Chợ Chu",
            "2024Q4",
            Some("2024-12-10T09:00:00+07:00"),
            4,
        ),
        row(
            "b2",
            "Thị trấn Chợ Chu",
            "2024Q4",
            Some("2024-11-20T09:00:00+07:00"),
            5,
        ),
        row(
            "b3",
            "05536",
            "2024Q4",
            Some("2024-12-10T09:00:00+07:00"),
            6,
        ),
        row("b4", "TT. Giang Tiên", "2024Q4", Some("2024-12-03"), 7),
        // The 92: no district, names of today.
        row("c1", "Xã Định Hóa", "2025Q3", None, 8),
        row(
            "c2",
            "Phường Phan Đình Phùng",
            "2025Q4",
            Some("2025-10-02"),
            9,
        ),
        row("c3", "05536", "2025Q3", None, 10),
        row("c4", "Xã Định Hóa", "2024Q3", None, 11),
        // A Bắc Kạn unit of the 92 (Đức Xuân) from 2025Q3.
        row("c5", "01840", "2025Q3", Some("2025-08-01"), 12),
    ];
    let t = table(rows);
    let o = clean(&t, &instrument(), &history(), &CleanOptions::default()).unwrap();
    let k = |id| kept_unit(&o.table, id);
    assert_eq!(k("a1").as_deref(), Some("05569"));
    assert_eq!(k("a2").as_deref(), Some("05569"));
    assert_eq!(
        k("b1").as_deref(),
        Some("05569"),
        "Chợ Chu on 10/12/2024 is 05569"
    );
    assert_eq!(
        k("b2").as_deref(),
        Some("05536"),
        "Chợ Chu on 20/11/2024 is 05536"
    );
    // 05536 no longer exists on 10/12/2024, but it did on the period's first day.
    assert_eq!(k("b3").as_deref(), Some("05536"));
    assert_eq!(k("b4").as_deref(), Some("05644"));
    assert_eq!(k("c1").as_deref(), Some("05569"));
    assert_eq!(k("c2").as_deref(), Some("05443"));
    assert_eq!(k("c5").as_deref(), Some("01840"));
    let q = quarantined(&o.quarantine);
    assert_eq!(q.len(), 3, "{q:?}");
    assert_eq!(q["a3"].0, "unknown_unit");
    assert_eq!(
        q["c4"].0, "unknown_unit",
        "Định Hóa is no xã name before 2025-07"
    );
    let (reason, detail) = q["c3"];
    assert_eq!(reason, "unknown_unit");
    assert!(
        detail.contains("not a unit in force 2025-07-01–…")
            && detail.contains("Thị trấn Chợ Chu …–2024-11-30"),
        "{detail}"
    );
}

/// Bắc Kạn's 108 units (in force until 30/06/2025): rows of former Bắc Kạn
/// coded or named as offices did before the merger validate, and the
/// 01/07/2025 crosswalk takes them onto the 92.
#[test]
fn bac_kan_rows_before_the_merger_validate_and_map() {
    let mut named = row("n1", "Phường Sông Cầu", "2025Q2", None, 4);
    named.district = Some("Thành Phố Bắc Kạn".into());
    let mut ambiguous = row("n2", "Sông Cầu", "2025Q2", None, 5);
    ambiguous.district = None;
    let mut cho_ra = row("n3", "TT Chợ Rã", "2025Q2", Some("2025-06-30"), 6);
    cho_ra.district = Some("Huyện Ba Bể".into());
    let mut t = table(vec![
        // Nguyễn Thị Minh Khai 01834 → Đức Xuân 01840.
        row("k1", "01834", "2025Q1", None, 1),
        row("k2", "Phường Nguyễn Thị Minh Khai", "2025Q2", None, 2),
        // Xuất Hóa 01855 → Bắc Kạn 01843, written with the other tone placement.
        row("k3", "P. Xuất Hoá", "2025Q1", Some("2025-02-14"), 3),
        named,
        ambiguous,
        cho_ra,
        // After the merger the old code no longer exists.
        row("x1", "01834", "2025Q3", Some("2025-07-02"), 7),
    ]);
    t.has_district = true;
    let opts = CleanOptions {
        crosswalk: Some(Crosswalk::thai_nguyen()),
        ..CleanOptions::default()
    };
    let o = clean(&t, &instrument(), &history(), &opts).unwrap();
    let k = |id| kept_unit(&o.table, id);
    assert_eq!(k("k1").as_deref(), Some("01840"));
    assert_eq!(k("k2").as_deref(), Some("01840"));
    assert_eq!(k("k3").as_deref(), Some("01843"));
    // Sông Cầu: a phường of Bắc Kạn city and a thị trấn of Đồng Hỷ (Thái
    // Nguyên); the prefix and district say which.
    assert_eq!(k("n1").as_deref(), Some("01843"));
    // Chợ Rã 01888 → Xã Chợ Rã 01912.
    assert_eq!(k("n3").as_deref(), Some("01912"));
    let q = quarantined(&o.quarantine);
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q["n2"].0, "ambiguous_unit");
    assert!(
        q["n2"].1.contains("01837") && q["n2"].1.contains("05656"),
        "{:?}",
        q["n2"]
    );
    assert_eq!(q["x1"].0, "unknown_unit");
    assert!(
        q["x1"]
            .1
            .contains("Phường Nguyễn Thị Minh Khai 2024-12-01–2025-06-30"),
        "{:?}",
        q["x1"]
    );
    // Without a crosswalk the rows keep the code of their day.
    let o = clean(&t, &instrument(), &history(), &CleanOptions::default()).unwrap();
    assert_eq!(kept_unit(&o.table, "k2").as_deref(), Some("01834"));
    assert_eq!(kept_unit(&o.table, "n3").as_deref(), Some("01888"));
}

/// Independent reading of the two published crosswalks: old code → new
/// code (the default line of a divided unit), per step.
fn published() -> [BTreeMap<String, String>; 2] {
    let read = |path: &str| {
        let mut r = csv::Reader::from_path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/crosswalk")
                .join(path),
        )
        .unwrap();
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|x| x == n);
        let mut m = BTreeMap::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            let part = col("part").map_or("whole", |i| &rec[i]);
            let default = col("note").is_some_and(|i| &rec[i] == "default");
            if part == "whole" || default {
                assert!(
                    m.insert(
                        rec[0].to_string(),
                        rec[col("new_code").unwrap()].to_string()
                    )
                    .is_none()
                );
            }
        }
        m
    };
    [read("thai_nguyen.csv"), read("thai_nguyen_2025-07.csv")]
}

/// 2024Q1–2026Q2, every unit in force in each quarter, coded as offices
/// code them at the time: the 177 in 2024 (the 172 from 01/12/2024 for
/// December submissions), the 172 in 2025Q1–Q2, the 92 from 2025Q3;
/// Bắc Kạn's 108 wherever the 01/12/2024–30/06/2025 list is in force.
fn offices_panel() -> ResponseTable {
    let h = history();
    let mut rows = Vec::new();
    let mut n = 0u64;
    for p in quarters_2024q1_to_2026q2() {
        let (year, q, period) = (p.year(), p.sub(), p.to_string());
        let month = 3 * q - 2;
        let mut days = vec![format!("{year}-{month:02}-15")];
        if (year, q) == (2024, 4) {
            days.push("2024-12-10".into());
        }
        for day in days {
            let date: IsoDate = day.parse().unwrap();
            for u in h.in_force(date).iter() {
                for k in 0..2 {
                    n += 1;
                    let unit = if k == 0 {
                        u.code.clone()
                    } else {
                        u.full_name()
                    };
                    let mut r = row(
                        &format!("r{n}"),
                        &unit,
                        &period,
                        Some(&format!("{day}T09:00:00+07:00")),
                        n,
                    );
                    // Names come with the district where there was one.
                    if k == 1 && !u.district_name.is_empty() {
                        r.district = Some(u.district_name.clone());
                    }
                    rows.push(r);
                }
            }
        }
    }
    let mut t = table(rows);
    t.has_district = true;
    t
}

#[test]
fn a_panel_coded_at_the_time_lands_on_the_92_with_no_row_lost() {
    let t = offices_panel();
    let opts = CleanOptions {
        crosswalk: Some(Crosswalk::thai_nguyen()),
        ..CleanOptions::default()
    };
    let o = clean(&t, &instrument(), &history(), &opts).unwrap();
    let lost: Vec<_> = o
        .quarantine
        .iter()
        .map(|e| {
            (
                &e.row.unit_code,
                &e.row.period,
                e.reason.as_str(),
                &e.detail,
            )
        })
        .collect();
    assert!(lost.is_empty(), "{lost:?}");
    assert_eq!(o.report.units_matched_by_name, t.rows.len() as u64 / 2);
    let coded: Vec<&Response> = t
        .rows
        .iter()
        .filter(|r| r.unit_code.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    // Every row given as a code is kept, on one of the 92.
    let latest = history().latest().clone();
    let [s1, s2] = published();
    let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in &coded {
        let d = IsoDate::from_prefix(r.submitted_at.as_deref().unwrap()).unwrap();
        let mut c = r.unit_code.clone();
        if d < "2024-12-01".parse().unwrap() {
            c = s1.get(&c).cloned().unwrap_or(c);
        }
        if d < "2025-07-01".parse().unwrap() {
            c = s2[&c].clone();
        }
        assert!(latest.contains(&c));
        let e = want.entry((c, r.period.clone())).or_default();
        e.0 += 1;
        e.1 += r.answers.iter().map(|a| u64::from(a.unwrap())).sum::<u64>();
    }
    let mut got: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in o.table.rows.iter().filter(|r| r.unit_text.is_none()) {
        let e = got
            .entry((r.unit_code.clone(), r.period.clone()))
            .or_default();
        e.0 += 1;
        e.1 += r.answers.iter().map(|a| u64::from(a.unwrap())).sum::<u64>();
    }
    assert_eq!(got, want);
    // Every one of the 92 has 2025Q3–2026Q2; the 55 that took in Thái
    // Nguyên units also 2024Q1–2025Q2; the 37 of former Bắc Kạn also the
    // quarters its 108 units were in force in (2024Q4 from the December
    // day, 2025Q1, 2025Q2).
    let cells: std::collections::BTreeSet<&String> = want.keys().map(|(u, _)| u).collect();
    assert_eq!(cells.len(), 92);
    let onto = |units: sipas_core::UnitRegistry| -> std::collections::BTreeSet<String> {
        units.iter().map(|u| s2[&u.code].clone()).collect()
    };
    let from_tn = onto(bundled::units_2024_12());
    let from_bk = onto(bundled::units_bac_kan());
    assert_eq!((from_tn.len(), from_bk.len()), (55, 37));
    assert!(from_tn.is_disjoint(&from_bk));
    assert_eq!(want.len(), 92 * 4 + 55 * 6 + 37 * 3);
    // The rows given by name land where the rows given by code do.
    for r in o.table.rows.iter().filter(|r| r.unit_text.is_some()) {
        assert!(want.contains_key(&(r.unit_code.clone(), r.period.clone())));
    }
    let cw = o.report.crosswalk.as_ref().unwrap();
    assert_eq!(cw.steps, ["2024-12-01", "2025-07-01"]);
    // The three divided units, in the 2024 and early-2025 quarters (2 rows a day).
    let days_before_2025_07 = 4 + 1 + 2; // 2024Q1–Q4 (+ a December day), 2025Q1–Q2
    for (k, days) in [
        ("05461 → 05443", days_before_2025_07),
        ("05467 → 05467", days_before_2025_07),
        ("05932 → 05941", days_before_2025_07),
    ] {
        assert_eq!(
            cw.rows_to_default_unit.get(k),
            Some(&(2 * days as u64)),
            "{k} in {:?}",
            cw.rows_to_default_unit
        );
    }
    assert_eq!(o.report.totals.rows_in, t.rows.len() as u64);
    assert_eq!(
        o.report.totals.kept + o.report.totals.excluded,
        o.report.totals.rows_in
    );
}

#[test]
fn streamed_clean_equals_clean_with_dates_and_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = offices_panel();
    t.rows
        .retain(|r| r.response_id.len() <= 3 || r.response_id.ends_with('7'));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_responses(&data.join(io::RESPONSES), &t, false).unwrap();
    for target in [
        CrosswalkTarget::New,
        CrosswalkTarget::On("2025-01-01".parse().unwrap()),
    ] {
        let opts = CleanOptions {
            crosswalk: Some(Crosswalk::thai_nguyen()),
            crosswalk_target: target,
            ..CleanOptions::default()
        };
        let whole = clean(&t, &instrument(), &history(), &opts).unwrap();
        let out = dir.path().join(format!("out-{}", target.label()));
        let report = sipas_clean::clean_folder_with(
            &data,
            &out,
            None,
            &history(),
            &opts,
            &FolderOptions {
                group_rows: 50,
                chunk_rows: 64,
                ..FolderOptions::default()
            },
        )
        .unwrap();
        assert_eq!(report, whole.report, "{target:?}");
        let want = dir.path().join(format!("want-{}", target.label()));
        io::write_outcome(&want, &whole).unwrap();
        for f in [io::QUARANTINE, io::BY_CELL, io::REPORT] {
            assert_eq!(
                std::fs::read_to_string(want.join(f)).unwrap(),
                std::fs::read_to_string(out.join(f)).unwrap(),
                "{f}"
            );
        }
        if target != CrosswalkTarget::New {
            // Onto the 172 of 01/01/2025: the rows from 2025Q3 whose unit
            // has several old units behind it are excluded, with the reason.
            let n = whole.report.totals.excluded_by_reason["crosswalk_not_one_to_one"];
            assert!(n > 0);
            assert!(
                whole
                    .quarantine
                    .iter()
                    .filter(|e| e.reason.as_str() == "crosswalk_not_one_to_one")
                    .all(|e| e.row.period.as_str() >= "2025Q3"
                        && e.detail.contains("old units behind it"))
            );
        }
    }
}
