//! Parquet round trip through the real I/O functions.

use sipas_clean::io::{self, read_response_table, write_responses};
use sipas_clean::{CleanOptions, Crosswalk, clean};
use sipas_core::schema;

use crate::common::{
    DESIGN_COLUMNS_UNIT_TEXT, DESIGN_COLUMNS_VILLAGE, as_strs, instrument, read_case, units,
};

#[test]
fn parquet_round_trip_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Input: the dup_submissions case plus the unit_names case (names in unit_code).
    let mut t = read_case("dup_submissions");
    t.rows.extend(read_case("unit_names").rows);
    write_responses(&data.join(io::RESPONSES), &t, false).unwrap();
    let (back, inst) = read_response_table(&data.join(io::RESPONSES), None).unwrap();
    assert_eq!(inst.id, "sipas-2017");
    assert_eq!(back, t, "canonical parquet round trip");

    let opts = CleanOptions {
        crosswalk: Some(Crosswalk::thai_nguyen_2024_12()),
        ..CleanOptions::default()
    };
    let out = dir.path().join("clean");
    let report = sipas_clean::clean_folder(&data, &out, None, &units(), &opts).unwrap();
    // 9 + 6 rows; 2 superseded ids, 1 re-sent copy, 1 ambiguous, 3 unknown
    // (u4 needs the fallback); u1 (P. Trưng Vương → 05443, same answers as
    // r2 and r3, no submission time) is kept and flagged.
    assert_eq!(
        (
            report.totals.rows_in,
            report.totals.kept,
            report.totals.excluded
        ),
        (15, 8, 7)
    );

    let (clean_back, _) =
        read_response_table(&out.join(io::RESPONSES), Some(&instrument())).unwrap();
    let expected = clean(&t, &instrument(), &units(), &opts).unwrap();
    assert_eq!(clean_back, expected.table);
    // 05536 → 05569 by the crosswalk; `old_unit_code` keeps 05536.
    assert!(clean_back.rows.iter().any(|r| r.response_id == "u5"
        && r.unit_code == "05569"
        && r.extra.last() == Some(&sipas_clean::Value::Str("05536".into()))));

    let q = std::fs::read_to_string(out.join(io::QUARANTINE)).unwrap();
    assert_eq!(q.lines().count(), 1 + 7);
    assert!(
        q.lines()
            .next()
            .unwrap()
            .ends_with("source_file,source_line,old_unit_code,reason,detail")
    );
    assert!(q.contains("u2,Tân Long,2024Q1,,survey,1,"));
    let cells = std::fs::read_to_string(out.join(io::BY_CELL)).unwrap();
    assert!(
        cells.starts_with(
            "unit_code,period,rows_in,kept,excluded,excluded_duplicate_id_superseded,"
        )
    );
    // 05443/2024Q1: r1 ×2, r2, r3, r6, u1 in; r1 superseded, r6 a copy;
    // u1 flagged `flag_same_answers`.
    assert!(
        cells.contains("\n05443,2024Q1,6,4,2,1,0,0,1,0,0,0,0,0,0,0,0,1,0\n"),
        "{cells}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(io::REPORT)).unwrap()).unwrap();
    assert_eq!(json["rows_in"], 15);
    assert_eq!(json["crosswalk"]["rows_remapped"], 1);

    // Reversed input order and a second run give the same bytes.
    let out2 = dir.path().join("clean2");
    let mut rev = t.clone();
    rev.rows.reverse();
    write_responses(&data.join(io::RESPONSES), &rev, false).unwrap();
    sipas_clean::clean_folder(&data, &out2, None, &units(), &opts).unwrap();
    for f in [io::RESPONSES, io::QUARANTINE, io::BY_CELL, io::REPORT] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
    // Cleaning the clean output changes no row.
    let out3 = dir.path().join("clean3");
    sipas_clean::clean_folder(&out, &out3, None, &units(), &opts).unwrap();
    assert_eq!(
        std::fs::read(out.join(io::RESPONSES)).unwrap(),
        std::fs::read(out3.join(io::RESPONSES)).unwrap()
    );
}

#[test]
fn design_columns_district_and_unit_text_through_parquet() {
    use polars::prelude::*;
    use sipas_clean::{ExtraColumn, ExtraType, Value};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The design_columns case (district, village) plus two typed extra
    // columns: `fpc` Float64 (null on d4) and `team` Int32.
    let mut t = read_case("design_columns");
    t.extra.push(ExtraColumn {
        name: "fpc".into(),
        dtype: ExtraType::Float64,
    });
    t.extra.push(ExtraColumn {
        name: "team".into(),
        dtype: ExtraType::Int32,
    });
    for (i, r) in t.rows.iter_mut().enumerate() {
        let fpc = if r.response_id == "d4" {
            Value::Null
        } else {
            Value::Float(12.5)
        };
        r.extra.push(fpc);
        r.extra.push(Value::Int(i as i64 % 2));
    }
    write_responses(&data.join(io::RESPONSES), &t, false).unwrap();
    let (back, _) = read_response_table(&data.join(io::RESPONSES), None).unwrap();
    assert_eq!(back, t, "design columns round trip");

    let out = dir.path().join("clean");
    let report =
        sipas_clean::clean_folder(&data, &out, None, &units(), &CleanOptions::default()).unwrap();
    assert_eq!(
        (
            report.totals.rows_in,
            report.totals.kept,
            report.totals.excluded
        ),
        (8, 6, 2)
    );
    let df = ParquetReader::new(std::fs::File::open(out.join(io::RESPONSES)).unwrap())
        .finish()
        .unwrap();
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(&names[..6], schema::LEADING);
    assert_eq!(&names[6..8], ["district", "unit_text"]);
    assert_eq!(
        &names[8 + 22..8 + 22 + 5],
        ["source_file", "source_line", "village", "fpc", "team"]
    );
    assert_eq!(
        names.len(),
        8 + 22 + 5 + 6 + 2,
        "then the six flags and two masks"
    );
    assert!(
        names[8 + 22 + 5 + 6..]
            .iter()
            .all(|n| n.starts_with("_sipas_mask_"))
    );
    assert_eq!(df.column("fpc").unwrap().dtype(), &DataType::Float64);
    assert_eq!(df.column("team").unwrap().dtype(), &DataType::Int32);
    assert_eq!(df.column("village").unwrap().dtype(), &DataType::String);
    let strs = |c: &str| -> Vec<Option<String>> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        strs("unit_code"),
        [
            s("05443"),
            s("05452"),
            s("05548"),
            s("05548"),
            s("05548"),
            s("05668")
        ]
    );
    assert_eq!(as_strs(&strs("unit_text")), DESIGN_COLUMNS_UNIT_TEXT);
    assert_eq!(as_strs(&strs("village")), DESIGN_COLUMNS_VILLAGE);
    let fpc: Vec<Option<f64>> = df.column("fpc").unwrap().f64().unwrap().iter().collect();
    assert_eq!(
        fpc,
        [
            Some(12.5),
            Some(12.5),
            Some(12.5),
            None,
            Some(12.5),
            Some(12.5)
        ]
    );
    // team = input row index % 2: d5 is row 4, d3 row 2, d1 row 0, d4 row 3,
    // d8 row 7, d7 row 6.
    let team: Vec<Option<i32>> = df.column("team").unwrap().i32().unwrap().iter().collect();
    assert_eq!(team, [Some(0), Some(0), Some(0), Some(1), Some(1), Some(0)]);

    // The quarantine keeps district, unit_text and the extra columns.
    let q = std::fs::read_to_string(out.join(io::QUARANTINE)).unwrap();
    let mut lines = q.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with(
        "response_id,unit_code,period,submitted_at,channel,weight,district,unit_text,a1,"
    ));
    assert!(header.ends_with(",e4,source_file,source_line,village,fpc,team,reason,detail"));
    assert_eq!(
        lines.next().unwrap(),
        "d2,Tân Thịnh,2024Q1,,survey,1,,,3,4,2,5,4,4,3,4,5,4,2,4,4,3,5,4,4,4,3,4,5,2,\
         input.csv,3,Tổ 3,12.5,1,ambiguous_unit,candidates: 05452|05548"
    );
    assert_eq!(lines.count(), 1);

    // Cleaning the clean output gives the same bytes (unit_text is kept).
    let out2 = dir.path().join("clean2");
    sipas_clean::clean_folder(&out, &out2, None, &units(), &CleanOptions::default()).unwrap();
    assert_eq!(
        std::fs::read(out.join(io::RESPONSES)).unwrap(),
        std::fs::read(out2.join(io::RESPONSES)).unwrap()
    );
}
