//! Hand-written cases under `fixtures/clean/<case>/input.csv`, with
//! expected outcomes worked out by hand (see the comments per case).

use sipas_clean::{CleanOptions, CleanOutcome, Crosswalk, clean};

use crate::common::{
    DESIGN_COLUMNS_UNIT_TEXT, DESIGN_COLUMNS_VILLAGE, as_strs, instrument, read_case, units,
};

fn run(case: &str, opts: &CleanOptions) -> CleanOutcome {
    clean(&read_case(case), &instrument(), &units(), opts).unwrap()
}

fn ids(o: &CleanOutcome) -> Vec<(&str, &str, u64)> {
    o.table
        .rows
        .iter()
        .map(|r| (r.response_id.as_str(), r.unit_code.as_str(), r.source_line))
        .collect()
}

fn excluded(o: &CleanOutcome, reason: &str) -> u64 {
    o.report.totals.excluded_by_reason[reason]
}

fn flagged(o: &CleanOutcome, flag: &str) -> u64 {
    o.report.totals.flagged_by_reason[flag]
}

#[test]
fn dup_submissions() {
    // 9 rows: r1 twice (line 2 is newer); r2/r3 the same answers at
    // different times (two people: both kept); r4 twice with the same time
    // (line 7 is the later line); r5 alone; r6 a re-sent copy of r2 (every
    // field, submitted_at included, under a new id); r7 the answers and
    // weight of r5 in its cell, without submitted_at (kept, flagged).
    let o = run("dup_submissions", &CleanOptions::default());
    assert_eq!(o.report.totals.rows_in, 9);
    assert_eq!(excluded(&o, "duplicate_id_superseded"), 2);
    assert_eq!(excluded(&o, "duplicate_resent"), 1);
    assert_eq!(o.report.totals.excluded, 3);
    // Sorted by period, unit_code, response_id.
    assert_eq!(
        ids(&o),
        vec![
            ("r1", "05443", 2),
            ("r2", "05443", 4),
            ("r3", "05443", 5),
            ("r4", "05602", 7),
            ("r5", "05602", 8),
            ("r7", "05602", 10)
        ]
    );
    let q: Vec<(&str, u64, &str)> = o
        .quarantine
        .iter()
        .map(|e| {
            (
                e.row.response_id.as_str(),
                e.row.source_line,
                e.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        q,
        vec![
            ("r1", 3, "duplicate_id_superseded"),
            ("r6", 9, "duplicate_resent"),
            ("r4", 6, "duplicate_id_superseded")
        ]
    );
    assert_eq!(o.quarantine[1].detail, "copy of r2 (input.csv:4)");
    assert_eq!(o.quarantine[0].detail, "superseded by input.csv:2");
    // Only r7 (no submission time) is flagged for its shared answers.
    assert_eq!(flagged(&o, "flag_same_answers"), 1);
    assert_eq!(flagged(&o, "flag_resent_copy"), 0);
    let flagged_ids: Vec<&str> = o
        .table
        .rows
        .iter()
        .filter(|r| r.flags.same_answers)
        .map(|r| r.response_id.as_str())
        .collect();
    assert_eq!(flagged_ids, ["r7"]);
    // Per cell: 05443/2024Q1 has r1 ×2, r2, r3, r6 (5 in, 3 kept); 05602/2024Q1
    // has r4 ×2 (2 in, 1 kept); 05602/2024Q2 has r5 and r7 (both kept).
    let c = &o.cells[&("05443".to_string(), "2024Q1".to_string())];
    assert_eq!((c.rows_in, c.kept, c.excluded), (5, 3, 2));
    let c = &o.cells[&("05602".to_string(), "2024Q1".to_string())];
    assert_eq!((c.rows_in, c.kept, c.excluded), (2, 1, 1));
    let c = &o.cells[&("05602".to_string(), "2024Q2".to_string())];
    assert_eq!((c.rows_in, c.kept, c.excluded), (2, 2, 0));

    // Re-sent copies kept (flagged) when asked.
    let keep = CleanOptions {
        exclude_resent_copies: false,
        ..CleanOptions::default()
    };
    let o = run("dup_submissions", &keep);
    assert_eq!(o.report.totals.kept, 7);
    assert_eq!(flagged(&o, "flag_resent_copy"), 1);
    assert_eq!(flagged(&o, "flag_same_answers"), 1);
    let r6 = o.table.rows.iter().find(|r| r.response_id == "r6").unwrap();
    assert!(r6.flags.resent_copy && !r6.flags.same_answers);
}

type Edit = fn(&mut sipas_clean::Response);

#[test]
fn a_copy_differs_in_nothing_but_id_and_provenance() {
    // r6 is a copy of r2; change any one recorded field and it is a
    // different submission, kept.
    let base = read_case("dup_submissions");
    let r6 = base
        .rows
        .iter()
        .position(|r| r.response_id == "r6")
        .unwrap();
    let edits: [(&str, Edit); 5] = [
        ("submitted_at", |r| {
            r.submitted_at = Some("2024-01-05T09:00:01+07:00".into());
        }),
        ("no submitted_at", |r| r.submitted_at = None),
        ("an answer", |r| r.answers[3] = Some(4)),
        ("the weight", |r| r.weight = 1.5),
        ("the duration", |r| r.duration_s = Some(300.0)),
    ];
    for (what, edit) in edits {
        let mut t = base.clone();
        edit(&mut t.rows[r6]);
        let o = clean(&t, &instrument(), &units(), &CleanOptions::default()).unwrap();
        assert_eq!(excluded(&o, "duplicate_resent"), 0, "{what}");
        assert_eq!(o.report.totals.kept, 7, "{what}");
    }
    // Another file and line: still a copy. The copy first by (file, line)
    // is the one kept: here r6, from `a_first.csv`.
    let mut t = base.clone();
    t.rows[r6].source_file = "a_first.csv".into();
    t.rows[r6].source_line = 2;
    let o = clean(&t, &instrument(), &units(), &CleanOptions::default()).unwrap();
    assert_eq!(excluded(&o, "duplicate_resent"), 1);
    let q = o
        .quarantine
        .iter()
        .find(|e| e.reason.as_str() == "duplicate_resent")
        .unwrap();
    assert_eq!(q.row.response_id, "r2");
    assert_eq!(q.detail, "copy of r6 (a_first.csv:2)");
}

#[test]
fn unit_names() {
    // u1 "P. Trưng Vương" → 05443; u2 "Tân Long" → two candidates;
    // u3 "Phường Không Có" and u6 "99999" unknown; u4 "Xa Phu Dinh" only with
    // the accent fallback (05602); u5 05536 is a code.
    let o = run("unit_names", &CleanOptions::default());
    assert_eq!(o.report.totals.kept, 2);
    assert_eq!(excluded(&o, "ambiguous_unit"), 1);
    assert_eq!(excluded(&o, "unknown_unit"), 3);
    assert_eq!(o.report.units_matched_by_name, 1);
    let amb = o
        .quarantine
        .iter()
        .find(|e| e.row.response_id == "u2")
        .unwrap();
    assert_eq!(amb.detail, "candidates: 05482|05668");
    assert_eq!(amb.row.unit_code, "Tân Long");

    let o = run(
        "unit_names",
        &CleanOptions {
            allow_ascii_fallback: true,
            crosswalk: Some(Crosswalk::thai_nguyen_2024_12()),
            ..CleanOptions::default()
        },
    );
    assert_eq!(o.report.totals.kept, 3);
    assert_eq!(excluded(&o, "unknown_unit"), 2);
    assert_eq!(o.report.units_matched_by_accent_fallback, 1);
    let cw = o.report.crosswalk.as_ref().unwrap();
    assert_eq!((cw.target.as_str(), cw.rows_remapped), ("new", 1));
    let got: Vec<(&str, &str)> = o
        .table
        .rows
        .iter()
        .map(|r| (r.response_id.as_str(), r.unit_code.as_str()))
        .collect();
    assert_eq!(got, vec![("u1", "05443"), ("u5", "05569"), ("u4", "05602")]);
}

#[test]
fn careless() {
    // c1 straight 3s; c2 12/22 missing (> 0.5); c3 11/22 = 0.5 (not flagged);
    // c4 60 s (< 120); c5 codes 9, 99 and 7; c6 clean; c7 qr with 19/22 missing.
    let o = run("careless", &CleanOptions::default());
    assert_eq!(o.report.totals.kept, 7);
    assert_eq!(flagged(&o, "flag_straightline"), 1);
    assert_eq!(flagged(&o, "flag_missing"), 2);
    assert_eq!(flagged(&o, "flag_speeder"), 1);
    assert_eq!(flagged(&o, "flag_recoded"), 1);
    assert_eq!(o.report.values_recoded["missing_code"], 2);
    assert_eq!(o.report.values_recoded["out_of_range"], 1);
    let c5 = o.table.rows.iter().find(|r| r.response_id == "c5").unwrap();
    assert_eq!(&c5.answers[..4], &[None, None, None, Some(3)]);
    assert_eq!(o.report.channels["survey"].kept, 6);
    assert_eq!(o.report.channels["qr"].kept, 1);
    let flags = |id: &str| {
        o.table
            .rows
            .iter()
            .find(|r| r.response_id == id)
            .unwrap()
            .flags
    };
    assert!(flags("c1").straightline && !flags("c1").missing);
    assert!(flags("c2").missing);
    assert!(!flags("c3").careless());
    assert!(flags("c4").speeder);
    assert!(!flags("c6").careless() && !flags("c6").recoded);

    let o = run(
        "careless",
        &CleanOptions {
            exclude_flagged: true,
            ..CleanOptions::default()
        },
    );
    let kept: Vec<&str> = o
        .table
        .rows
        .iter()
        .map(|r| r.response_id.as_str())
        .collect();
    assert_eq!(kept, vec!["c3", "c5", "c6"]);
    assert_eq!(excluded(&o, "flag_straightline"), 1);
    assert_eq!(excluded(&o, "flag_missing"), 2);
    assert_eq!(excluded(&o, "flag_speeder"), 1);
    assert_eq!(o.report.channels["qr"].kept, 0);

    // A tighter threshold flags c3 too (11/22 > 0.4).
    let o = run(
        "careless",
        &CleanOptions {
            max_missing_share: 0.4,
            ..CleanOptions::default()
        },
    );
    assert_eq!(flagged(&o, "flag_missing"), 3);
}

#[test]
fn invalid_options_are_rejected() {
    let t = read_case("careless");
    let bad = CleanOptions {
        max_missing_share: 1.5,
        ..CleanOptions::default()
    };
    let err = clean(&t, &instrument(), &units(), &bad).unwrap_err();
    assert!(err.to_string().contains("max_missing_share"), "{err}");
}

#[test]
fn design_columns_and_districts() {
    // 8 rows, all 2024Q1. "Tân Thịnh" is a phường of Thành phố Thái Nguyên
    // (05452) and a xã of Huyện Định Hóa (05548):
    // d1 + Huyện Định Hóa → 05548; d2 without district → ambiguous;
    // d3 + Thành phố Thái Nguyên → 05452; d4 "Xã Tân Thịnh" → 05548 (kind);
    // d5 is the code 05443; d6 + Huyện Đồng Hỷ (neither candidate) → unknown;
    // d7 "Tân Long" + Huyện Đồng Hỷ → 05668; d8 = d1's answers in the same
    // cell, another village, no submission time → kept, and d1 and d8
    // flagged `flag_same_answers`.
    let o = run("design_columns", &CleanOptions::default());
    let t = &o.report.totals;
    assert_eq!((t.rows_in, t.kept, t.excluded), (8, 6, 2));
    assert_eq!(excluded(&o, "ambiguous_unit"), 1);
    assert_eq!(excluded(&o, "unknown_unit"), 1);
    assert_eq!(excluded(&o, "duplicate_resent"), 0);
    assert_eq!(flagged(&o, "flag_same_answers"), 2);
    // Matched by name: d1, d3, d4, d7 and d8.
    assert_eq!(o.report.units_matched_by_name, 5);
    assert_eq!(
        ids(&o),
        vec![
            ("d5", "05443", 6),
            ("d3", "05452", 4),
            ("d1", "05548", 2),
            ("d4", "05548", 5),
            ("d8", "05548", 9),
            ("d7", "05668", 8)
        ]
    );
    let col = |f: &dyn Fn(&sipas_clean::Response) -> Option<String>| -> Vec<Option<String>> {
        o.table.rows.iter().map(f).collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        as_strs(&col(&|r| r.unit_text.clone())),
        DESIGN_COLUMNS_UNIT_TEXT
    );
    assert_eq!(
        col(&|r| r.district.clone()),
        [
            s("Thành phố Thái Nguyên"),
            s("Thành phố Thái Nguyên"),
            s("Huyện Định Hóa"),
            None,
            s("Huyện Định Hóa"),
            s("Huyện Đồng Hỷ")
        ]
    );
    let village = |r: &sipas_clean::Response| match &r.extra[0] {
        sipas_clean::Value::Str(v) => Some(v.clone()),
        _ => None,
    };
    assert_eq!(as_strs(&col(&village)), DESIGN_COLUMNS_VILLAGE);
    assert!(o.table.has_district && o.table.has_unit_text);
    assert_eq!(o.table.extra[0].name, "village");

    let q: Vec<(&str, &str, &str, Option<String>)> = o
        .quarantine
        .iter()
        .map(|e| {
            (
                e.row.response_id.as_str(),
                e.reason.as_str(),
                e.detail.as_str(),
                village(&e.row),
            )
        })
        .collect();
    assert_eq!(
        q,
        vec![
            ("d2", "ambiguous_unit", "candidates: 05452|05548", s("Tổ 3")),
            (
                "d6",
                "unknown_unit",
                "no unit matches `Tân Thịnh`",
                s("Xóm 2")
            ),
        ]
    );
    // Quarantined rows keep the unit as given and their district.
    assert_eq!(o.quarantine[1].row.unit_code, "Tân Thịnh");
    assert_eq!(
        o.quarantine[1].row.district.as_deref(),
        Some("Huyện Đồng Hỷ")
    );
    // Cells: 05548 has d1, d4 and d8 (all kept); the unresolved text has d2 and d6.
    let c = &o.cells[&("05548".to_string(), "2024Q1".to_string())];
    assert_eq!((c.rows_in, c.kept, c.excluded), (3, 3, 0));
    let c = &o.cells[&("Tân Thịnh".to_string(), "2024Q1".to_string())];
    assert_eq!((c.rows_in, c.kept, c.excluded), (2, 0, 2));

    // Without the district column only d4 ("Xã Tân Thịnh", by kind) and d5
    // (a code) resolve: the other six are ambiguous ("Tân Long" is 05482 and
    // 05668).
    let mut no_district = read_case("design_columns");
    no_district.has_district = false;
    for r in &mut no_district.rows {
        r.district = None;
    }
    let o = clean(
        &no_district,
        &instrument(),
        &units(),
        &CleanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (o.report.totals.kept, excluded(&o, "ambiguous_unit")),
        (2, 6)
    );
}
