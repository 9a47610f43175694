//! Helpers: fixture CSV → in-memory table.

use std::path::PathBuf;

use sipas_clean::{ExtraColumn, ExtraType, Flags, Response, ResponseTable, Value};
use sipas_core::{Instrument, UnitRegistry, bundled, schema};

pub(crate) fn instrument() -> Instrument {
    bundled::instrument("sipas-2017").unwrap()
}

pub(crate) fn units() -> UnitRegistry {
    bundled::units()
}

pub(crate) fn fixture(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/clean")
        .join(case)
        .join("input.csv")
}

/// Reads a canonical CSV (plus optional `duration_s` and `district`) with the
/// csv crate; any other column is an extra text column (empty = null).
pub(crate) fn read_case(case: &str) -> ResponseTable {
    let inst = instrument();
    let mut rdr = csv::Reader::from_path(fixture(case)).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n);
    let items: Vec<String> = inst.item_ids().iter().map(|s| (*s).to_string()).collect();
    let item_cols: Vec<usize> = items.iter().map(|i| col(i).unwrap()).collect();
    let dur = col("duration_s");
    let district = col("district");
    let known: Vec<&str> = schema::LEADING
        .into_iter()
        .chain(["duration_s", "district"])
        .collect();
    let extra_cols: Vec<usize> = (0..h.len())
        .filter(|&i| !known.contains(&&h[i]) && !items.iter().any(|it| it == &h[i]))
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let get = |n: &str| col(n).map(|i| rec[i].to_string()).filter(|s| !s.is_empty());
        rows.push(Response {
            response_id: get("response_id").unwrap(),
            unit_code: get("unit_code").unwrap(),
            period: get("period").unwrap(),
            submitted_at: get("submitted_at"),
            channel: get("channel").unwrap_or_else(|| "survey".into()),
            weight: get("weight").map_or(1.0, |w| w.parse().unwrap()),
            answers: item_cols
                .iter()
                .map(|&i| (!rec[i].is_empty()).then(|| rec[i].parse().unwrap()))
                .collect(),
            source_file: "input.csv".into(),
            source_line: rec.position().unwrap().line(),
            duration_s: dur.and_then(|i| rec[i].parse().ok()),
            flags: Flags::default(),
            district: get("district"),
            unit_text: None,
            extra: extra_cols
                .iter()
                .map(|&i| {
                    if rec[i].is_empty() {
                        Value::Null
                    } else {
                        Value::Str(rec[i].to_string())
                    }
                })
                .collect(),
        });
    }
    ResponseTable {
        items,
        has_duration: dur.is_some(),
        has_district: district.is_some(),
        has_unit_text: false,
        extra: extra_cols
            .iter()
            .map(|&i| ExtraColumn {
                name: h[i].to_string(),
                dtype: ExtraType::String,
            })
            .collect(),
        rows,
    }
}

/// The `design_columns` case's kept rows in clean order (d5, d3, d1, d4, d8,
/// d7): the unit as typed, then the village (from its CSV).
pub(crate) const DESIGN_COLUMNS_UNIT_TEXT: [Option<&str>; 6] = [
    None,
    Some("Tân Thịnh"),
    Some("Tân Thịnh"),
    Some("Xã Tân Thịnh"),
    Some("Tân Thịnh"),
    Some("Tân Long"),
];
/// See [`DESIGN_COLUMNS_UNIT_TEXT`].
pub(crate) const DESIGN_COLUMNS_VILLAGE: [Option<&str>; 6] = [
    Some("Tổ 1"),
    Some("Tổ 5"),
    Some("Bản Cọ"),
    None,
    Some("Bản Khác"),
    Some("Xóm 7"),
];

/// `values` borrowed, to compare with a constant.
pub(crate) fn as_strs(values: &[Option<String>]) -> Vec<Option<&str>> {
    values.iter().map(Option::as_deref).collect()
}
