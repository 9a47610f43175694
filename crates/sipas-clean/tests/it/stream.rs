//! Cleaning in groups (`clean_folder_with`) against `clean()` on the whole table.

use std::path::Path;

use polars::prelude::*;
use sipas_clean::FolderOptions;
use sipas_clean::io::{self, read_response_table, to_frame, write_outcome_with};
use sipas_clean::{CleanOptions, Crosswalk, ResponseTable, Value, clean};
use sipas_dataset::{Dataset, DatasetWriter, Layout};

use crate::common::{instrument, read_case, units};

/// Writes `t` as the response table of `dir` in `layout`; without
/// `provenance`, the `source_file` / `source_line` columns are left out
/// (the readers then number the rows themselves).
pub(crate) fn write_input(dir: &Path, t: &ResponseTable, layout: Layout, provenance: bool) {
    let mut t = t.clone();
    if layout == Layout::ByPeriod {
        t.rows.sort_by(|a, b| a.period.cmp(&b.period));
    }
    let mut df = to_frame(&t, false).unwrap();
    if !provenance {
        df = df.drop_many(["source_file", "source_line"]);
    }
    std::fs::create_dir_all(dir).unwrap();
    match layout {
        Layout::File => {
            let _ = std::fs::remove_dir_all(dir.join("responses"));
            let f = std::fs::File::create(dir.join(io::RESPONSES)).unwrap();
            ParquetWriter::new(f).finish(&mut df).unwrap();
        }
        Layout::ByPeriod => {
            let mut w = DatasetWriter::create(dir, layout, df.schema()).unwrap();
            let mut start = 0;
            while start < t.rows.len() {
                let p = &t.rows[start].period;
                let len = t.rows[start..].partition_point(|r| &r.period == p);
                w.write(p, &df.slice(start as i64, len)).unwrap();
                start += len;
            }
            w.finish().unwrap();
        }
    }
}

/// Cleans `data` whole (`clean` + `write_outcome_with`) into `want` and in
/// groups into `got`; asserts the same table, quarantine, report and counts.
pub(crate) fn assert_same(
    data: &Path,
    want: &Path,
    got: &Path,
    opts: &CleanOptions,
    run: &FolderOptions,
) {
    let (t, inst) = read_response_table(data, None).unwrap();
    let whole = clean(&t, &inst, &units(), opts).unwrap();
    write_outcome_with(want, &whole, Layout::File).unwrap();
    let report = sipas_clean::clean_folder_with(data, got, None, &units(), opts, run).unwrap();
    assert_eq!(report, whole.report, "{run:?}");
    let a = Dataset::open(want).unwrap().read(None).unwrap();
    let b = Dataset::open(got).unwrap().read(None).unwrap();
    assert_eq!(a.schema(), b.schema(), "{run:?}");
    assert!(a.equals_missing(&b), "{run:?}\n{a}\n{b}");
    for f in [io::QUARANTINE, io::REPORT, io::BY_CELL] {
        assert_eq!(
            std::fs::read_to_string(want.join(f)).unwrap(),
            std::fs::read_to_string(got.join(f)).unwrap(),
            "{f} {run:?}"
        );
    }
    // No spill folder is left behind.
    assert!(std::fs::read_dir(got).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".sipas")
    }));
}

/// Every fixture case in one table with `village` as extra column, plus
/// rows that make the groups matter: an id repeated in another period, an
/// id repeated with the same submission (same time, file and line: decided
/// on the whole rows), names, a crosswalk remap, re-sent copies, shared
/// answers without a submission time.
fn mixed() -> ResponseTable {
    let mut t = read_case("design_columns");
    for case in ["dup_submissions", "unit_names", "careless"] {
        for mut r in read_case(case).rows {
            r.district = None;
            r.extra = vec![Value::Null];
            r.source_file = format!("{case}.csv");
            t.rows.push(r);
        }
    }
    t.has_duration = true;
    let base = t.rows[0].clone();
    let mut add = |id: &str, unit: &str, period: &str, sub: Option<&str>, line: u64, a0: u8| {
        let mut r = base.clone();
        r.response_id = id.into();
        r.unit_code = unit.into();
        r.period = period.into();
        r.submitted_at = sub.map(str::to_string);
        r.source_file = "extra.csv".into();
        r.source_line = line;
        r.answers[0] = Some(a0);
        r.extra = vec![Value::Str("Xóm 9".into())];
        t.rows.push(r);
    };
    // r1 again in 2024Q2, later: supersedes both 2024Q1 rows.
    add("r1", "05602", "2024Q2", Some("2024-06-01"), 2, 1);
    // x1 three times with the same submission (time, file, line): the
    // greatest row after recoding wins (9 is a missing code: it becomes
    // missing and sorts first, so the row with 5 wins, not the one with 9).
    add("x1", "05443", "2024Q1", Some("2024-03-01"), 3, 2);
    add("x1", "05443", "2024Q1", Some("2024-03-01"), 3, 9);
    add("x1", "05443", "2024Q1", Some("2024-03-01"), 3, 5);
    // 05536 is remapped to 05569 by the crosswalk; y2 is a re-sent copy of
    // y1; y5 (no submission time) has y1's answers in 05569 once remapped.
    add("y1", "05536", "2024Q3", Some("2024-07-01"), 4, 3);
    add("y2", "05536", "2024Q3", Some("2024-07-01"), 5, 3);
    add("y3", "Xa Phu Dinh", "2024Q3", None, 6, 3);
    add("y4", "Nowhere", "2024Q3", None, 7, 3);
    add("y5", "05569", "2024Q3", None, 8, 3);
    t
}

#[test]
fn groups_give_the_whole_table_result() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let opts = [
        CleanOptions {
            crosswalk: Some(Crosswalk::thai_nguyen_2024_12()),
            ..CleanOptions::default()
        },
        CleanOptions {
            allow_ascii_fallback: true,
            exclude_flagged: true,
            exclude_resent_copies: false,
            ..CleanOptions::default()
        },
    ];
    let mut n = 0;
    for in_layout in [Layout::File, Layout::ByPeriod] {
        for provenance in [true, false] {
            let data = dir.path().join(format!("data-{in_layout}-{provenance}"));
            write_input(&data, &t, in_layout, provenance);
            for opts in &opts {
                for (group_rows, chunk_rows) in [(1, 1), (2, 3), (3, 2), (1 << 20, 1 << 20)] {
                    for layout in [Layout::File, Layout::ByPeriod] {
                        n += 1;
                        let run = FolderOptions {
                            layout,
                            group_rows,
                            chunk_rows,
                        };
                        assert_same(
                            &data,
                            &dir.path().join(format!("want{n}")),
                            &dir.path().join(format!("got{n}")),
                            opts,
                            &run,
                        );
                    }
                }
            }
        }
    }
    // The cases do what they are meant to: check one run by hand.
    let data = dir.path().join("data-file-true");
    let out = dir.path().join("check");
    let report = sipas_clean::clean_folder_with(
        &data,
        &out,
        None,
        &units(),
        &opts[0],
        &FolderOptions {
            group_rows: 2,
            chunk_rows: 3,
            ..FolderOptions::default()
        },
    )
    .unwrap();
    let by = |r: &str| report.totals.excluded_by_reason[r];
    // dup_submissions: r1 ×2 (+1 here), r4 ×2; x1 ×3.
    assert_eq!(by("duplicate_id_superseded"), 2 + 1 + 2);
    let q = std::fs::read_to_string(out.join(io::QUARANTINE)).unwrap();
    assert!(q.contains("superseded by extra.csv:2"), "{q}");
    // x1: answers 2, 9 (→ missing), 5: the row with 5 wins.
    assert_eq!(q.matches("superseded by extra.csv:3").count(), 2, "{q}");
    let kept = Dataset::open(&out).unwrap().read(None).unwrap();
    let x1 = kept
        .clone()
        .lazy()
        .filter(col("response_id").eq(lit("x1")))
        .collect()
        .unwrap();
    assert_eq!(x1.height(), 1);
    assert_eq!(x1.column("a1").unwrap().u8().unwrap().get(0), Some(5));
    // Re-sent copies: r6 of r2 (dup_submissions), y2 of y1.
    assert_eq!(by("duplicate_resent"), 2);
    assert!(q.contains("copy of y1 (extra.csv:4)"), "{q}");
    assert!(q.contains("copy of r2 (dup_submissions.csv:4)"), "{q}");
    // Flagged for shared answers without a submission time: in
    // 05443/2024Q1 u1, d5 and c6 (the answers of r2 and r3, which have
    // one); d1 and d8 in 05548; y5 (y1's answers once 05536 became 05569);
    // r7 (r5's, weight 2).
    assert_eq!(report.totals.flagged_by_reason["flag_same_answers"], 7);
    let mut flagged: Vec<String> = kept
        .clone()
        .lazy()
        .filter(col("flag_same_answers"))
        .collect()
        .unwrap()
        .column("response_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    flagged.sort();
    assert_eq!(flagged, ["c6", "d1", "d5", "d8", "r7", "u1", "y5"]);
    // u5, y1 and y2 are in 05536.
    assert_eq!(report.crosswalk.as_ref().unwrap().rows_remapped, 3);
}

#[test]
fn kept_rows_matched_by_name_decide_unit_text() {
    // A row given by name that is then superseded: no kept row carries a
    // name, so the clean table has no `unit_text` column (as with clean()).
    let dir = tempfile::tempdir().unwrap();
    let mut t = read_case("dup_submissions");
    let mut r = t.rows[0].clone();
    r.unit_code = "P. Trưng Vương".into();
    r.submitted_at = Some("2020-01-01".into());
    t.rows.push(r);
    let data = dir.path().join("data");
    write_input(&data, &t, Layout::File, true);
    for layout in [Layout::File, Layout::ByPeriod] {
        let run = FolderOptions {
            layout,
            group_rows: 1,
            chunk_rows: 2,
        };
        let got = dir.path().join(format!("got-{layout}"));
        assert_same(
            &data,
            &dir.path().join(format!("want-{layout}")),
            &got,
            &CleanOptions::default(),
            &run,
        );
        let ds = Dataset::open(&got).unwrap();
        assert!(!ds.has_column("unit_text"));
        assert_eq!(ds.layout(), layout);
    }
}

#[test]
fn empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = read_case("dup_submissions");
    t.rows.clear();
    let data = dir.path().join("data");
    write_input(&data, &t, Layout::File, true);
    assert_same(
        &data,
        &dir.path().join("want"),
        &dir.path().join("got"),
        &CleanOptions::default(),
        &FolderOptions::default(),
    );
}

#[test]
fn null_id_is_named_with_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let t = read_case("dup_submissions");
    let data = dir.path().join("data");
    write_input(&data, &t, Layout::File, true);
    let f = data.join(io::RESPONSES);
    let mut df = ParquetReader::new(std::fs::File::open(&f).unwrap())
        .finish()
        .unwrap();
    let ids: Vec<Option<&str>> = vec![
        Some("a"),
        Some("b"),
        Some("c"),
        None,
        Some("e"),
        Some("f"),
        Some("g"),
        Some("h"),
        Some("i"),
    ];
    df.with_column(Column::new("response_id".into(), ids))
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&f).unwrap())
        .finish(&mut df)
        .unwrap();
    let run = FolderOptions {
        chunk_rows: 2,
        ..FolderOptions::default()
    };
    let err = sipas_clean::clean_folder_with(
        &data,
        &dir.path().join("out"),
        Some(&instrument()),
        &units(),
        &CleanOptions::default(),
        &run,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: row 4, column `response_id`: value is missing",
            f.display()
        )
    );
}

/// A table in which most rows are removed (unknown and ambiguous units,
/// repeated ids, careless rows excluded), cleaned in many small groups:
/// the quarantine, held compactly and written at the end, is the one the
/// whole-table clean writes, row for row and in the same order.
#[test]
fn a_large_quarantine_is_the_whole_table_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = read_case("design_columns");
    let base = t.rows[0].clone();
    t.rows.clear();
    t.has_duration = true;
    let units = [
        "05443",
        "99999",
        "Nowhere",
        "Tân Thịnh",
        "05536",
        "Tân Long",
    ];
    for i in 0..1200u64 {
        let mut r = base.clone();
        // Ids repeat every 500 rows, in the same period: superseded rows.
        r.response_id = format!("q{:03}", i % 500);
        r.unit_code = units[(i % 6) as usize].into();
        r.period = if i % 2 == 0 { "2024Q1" } else { "2024Q2" }.into();
        r.submitted_at = Some(format!("2024-0{}-1{}T08:00:00+07:00", 1 + i % 3, i % 10));
        r.source_file = if i % 7 == 0 { "b.csv" } else { "a.csv" }.into();
        r.source_line = i % 400 + 2;
        r.answers[0] = Some((i % 10) as u8);
        if i % 5 == 0 {
            r.answers.iter_mut().for_each(|a| *a = Some(4));
        }
        r.duration_s = Some(if i % 4 == 1 { 60.0 } else { 300.0 });
        r.extra = vec![Value::Str(format!("Xóm {}", i % 4))];
        r.district = None;
        t.rows.push(r);
    }
    let data = dir.path().join("data");
    write_input(&data, &t, Layout::File, true);
    let opts = CleanOptions {
        exclude_flagged: true,
        ..CleanOptions::default()
    };
    let run = FolderOptions {
        layout: Layout::File,
        group_rows: 7,
        chunk_rows: 5,
    };
    assert_same(
        &data,
        &dir.path().join("want"),
        &dir.path().join("got"),
        &opts,
        &run,
    );
    // Most rows are in it, with every kind of reason.
    let q = std::fs::read_to_string(dir.path().join("got").join(io::QUARANTINE)).unwrap();
    assert!(q.lines().count() > 900, "{}", q.lines().count());
    for reason in [
        "unknown_unit",
        "ambiguous_unit",
        "duplicate_id_superseded",
        "flag_",
    ] {
        assert!(q.contains(reason), "{reason}");
    }
}
