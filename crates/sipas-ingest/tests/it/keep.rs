//! `IngestOptions::keep_columns`: survey-design columns (`village`) kept as
//! nullable text after `source_line`, found by exact name, by match key, by
//! group path or through the mapping file; inputs without them give nulls.

use std::path::Path;

use sipas_ingest::{
    Error, IngestOptions, Mapping, ReadOptions, ingest_with, responses_schema_kept, write_outputs,
};

use crate::common::{ITEMS_2017, read_parquet, strs, write};

fn answers(v: &str) -> String {
    vec![v; ITEMS_2017.len()].join(",")
}

fn opts(keep: &[&str]) -> IngestOptions {
    IngestOptions {
        instrument: sipas_core::bundled::instrument("sipas-2017"),
        keep_columns: keep.iter().map(|s| (*s).to_string()).collect(),
        ..IngestOptions::default()
    }
}

#[test]
fn kept_columns_hold_the_values_and_nulls_where_absent() {
    let dir = tempfile::tempdir().unwrap();
    let items = ITEMS_2017.join(",");
    // a.csv: header `Village ` (matched by key, not exactly), a decomposed
    // "Thôn Na", a padded value, an empty one, and a quarantined row.
    let a = write(
        dir.path(),
        "a.csv",
        &format!(
            "response_id,unit_code,period,Village ,note,{items}\n\
             r1,05443,2024Q1,Tho\u{302}n Na,x,{a4}\n\
             r2,05443,2024Q1,  Xóm Bãi  ,,{a4}\n\
             r3,05500,2024Q1,,,{a4}\n\
             r4,05500,2024Q1,Thôn 1,,{a6}\n",
            a4 = answers("4"),
            a6 = answers("6"),
        ),
    );
    // b.csv: no village column at all.
    let b = write(
        dir.path(),
        "b.csv",
        &format!(
            "response_id,unit_code,period,{items}\ns1,05443,2024Q1,{}\n",
            answers("3")
        ),
    );
    // c.ndjson: a group path `grp/village`.
    let fields: Vec<String> = ITEMS_2017
        .iter()
        .map(|i| format!("\"{i}\":\"5\""))
        .collect();
    let c = write(
        dir.path(),
        "c.ndjson",
        &format!(
            "{{\"response_id\":\"t1\",\"unit_code\":\"05602\",\"period\":\"2024Q1\",\"grp\":{{\"village\":\"Bản C\"}},{}}}\n",
            fields.join(",")
        ),
    );
    // d.csv: a Vietnamese header mapped to `village` by the mapping file.
    let d = write(
        dir.path(),
        "d.csv",
        &format!(
            "response_id,unit_code,period,Thôn/Xóm,{items}\nd1,05860,2024Q1,Thôn 3,{}\n",
            answers("2")
        ),
    );
    let read = ReadOptions {
        mapping: Some(
            Mapping::from_toml_str(
                "[columns]\n\"Thôn/Xóm\" = \"village\"\n",
                Path::new("m.toml"),
            )
            .unwrap(),
        ),
        ..ReadOptions::default()
    };
    // `weight` is canonical (not added again), `village` repeated counts once,
    // `district` makes the district column present although no input has one.
    let got = ingest_with(
        &[a, b, c, d],
        &opts(&["village", "weight", " district", "village"]),
        &read,
    )
    .unwrap();
    assert_eq!((got.accepted(), got.quarantined()), (6, 1));
    let r = &got.report;
    assert_eq!(r.kept_columns, ["village"]);
    assert_eq!(r.ignored_columns, ["note"]);
    let missing: Vec<&[String]> = r
        .inputs
        .iter()
        .map(|i| i.missing_kept_columns.as_slice())
        .collect();
    assert_eq!(
        missing,
        [&[][..], &["village".to_string()][..], &[][..], &[][..]]
    );

    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let schema = responses_schema_kept(&inst, true, &["village".to_string()]);
    let df = &got.responses;
    assert_eq!(**df.schema(), schema);
    // Kept columns come last, after source_line.
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        &names[names.len() - 3..],
        ["source_file", "source_line", "village"]
    );
    // Sorted by (period, unit_code, response_id).
    let ids: Vec<Option<String>> = strs(df, "response_id");
    let want_ids = ["r1", "r2", "s1", "r3", "t1", "d1"];
    assert_eq!(ids, want_ids.map(|s| Some(s.to_string())));
    assert_eq!(
        strs(df, "village"),
        [
            Some("Thôn Na".to_string()),
            Some("Xóm Bãi".to_string()),
            None,
            None,
            Some("Bản C".to_string()),
            Some("Thôn 3".to_string()),
        ]
    );
    assert_eq!(strs(df, "district"), [None, None, None, None, None, None]);

    // Written and read back unchanged; the report names the missing column.
    let out = dir.path().join("out");
    write_outputs(&got, &out).unwrap();
    let back = read_parquet(&out.join("responses.parquet"));
    assert_eq!(**back.schema(), schema);
    assert!(back.equals_missing(df));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ingest-report.json")).unwrap())
            .unwrap();
    assert_eq!(json["kept_columns"][0], "village");
    assert_eq!(json["inputs"][1]["missing_kept_columns"][0], "village");
    assert_eq!(
        json["inputs"][0]["missing_kept_columns"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn without_keep_columns_the_table_is_unchanged_and_bad_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let items = ITEMS_2017.join(",");
    let p = write(
        dir.path(),
        "f.csv",
        &format!(
            "response_id,unit_code,period,village,{items}\nr1,05443,2024,V1,{}\n",
            answers("4")
        ),
    );
    let got = ingest_with(
        std::slice::from_ref(&p),
        &opts(&[]),
        &ReadOptions::default(),
    )
    .unwrap();
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    assert_eq!(
        **got.responses.schema(),
        sipas_ingest::responses_schema(&inst)
    );
    assert_eq!(got.report.ignored_columns, ["village"]);
    assert!(got.report.kept_columns.is_empty());

    let e = ingest_with(
        std::slice::from_ref(&p),
        &opts(&[" "]),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::KeepColumn { .. }), "{e}");

    // Two columns matching the kept name by key (neither exactly) are ambiguous.
    let q = write(
        dir.path(),
        "two.csv",
        &format!(
            "response_id,unit_code,period,Village,VILLAGE,{items}\nr1,05443,2024,V1,V2,{}\n",
            answers("4")
        ),
    );
    let e = ingest_with(&[q], &opts(&["village"]), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("two.csv") && e.contains("Village, VILLAGE"),
        "{e}"
    );
}

#[test]
fn the_design_fixture_keeps_village_and_district() {
    // fixtures/ingest/design/survey.csv: 6 rows, units by name or code, a
    // district column (empty on v2, v4) and a village column (empty on v4).
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ingest/design");
    let got = ingest_with(&[p], &opts(&["village"]), &ReadOptions::default()).unwrap();
    assert_eq!((got.accepted(), got.quarantined()), (6, 0));
    assert_eq!(got.report.rows_unit_not_in_registry, 5);
    let df = &got.responses;
    // Sorted by unit text: "05443" < "Tân Long" < "Tân Thịnh" (v1, v2, v3) < "Xã Tân Thịnh".
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        strs(df, "response_id"),
        [s("v5"), s("v6"), s("v1"), s("v2"), s("v3"), s("v4")]
    );
    assert_eq!(
        strs(df, "village"),
        [
            s("Tổ 1"),
            s("Xóm 7"),
            s("Bản Cọ"),
            s("Tổ 3"),
            s("Tổ 5"),
            None
        ]
    );
    assert_eq!(
        strs(df, "district"),
        [
            s("Thành phố Thái Nguyên"),
            s("Huyện Đồng Hỷ"),
            s("Huyện Định Hóa"),
            None,
            s("Thành phố Thái Nguyên"),
            None
        ]
    );
}
