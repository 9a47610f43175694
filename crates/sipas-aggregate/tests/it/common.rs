//! Helpers shared by the integration tests: reading R's reference CSVs.

use std::path::Path;

/// (design or case, domain_type, domain, period, indicator): the key of a
/// reference row.
pub(crate) type Key = (String, String, String, String, String);

/// A number of a reference CSV; empty or `NA` is NaN.
pub(crate) fn num(s: &str) -> f64 {
    s.trim().parse::<f64>().unwrap_or(f64::NAN)
}

/// The data rows of a reference CSV (header skipped), each keyed by its first
/// five fields, with every field.
pub(crate) fn keyed_rows(path: &Path) -> Vec<(Key, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<String> = l.split(',').map(str::to_string).collect();
            let key = (
                f[0].clone(),
                f[1].clone(),
                f[2].clone(),
                f[3].clone(),
                f[4].clone(),
            );
            (key, f)
        })
        .collect()
}

/// The reference key of an `estimates.csv` row under the design named `design`.
pub(crate) fn row_key(design: &str, row: &sipas_aggregate::EstimateRow) -> Key {
    (
        design.to_string(),
        row.domain_type.as_str().to_string(),
        row.domain.to_string(),
        row.period.to_string(),
        row.indicator.to_string(),
    )
}
