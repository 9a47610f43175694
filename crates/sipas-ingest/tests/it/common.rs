//! Builders for small canonical files of the 2017 instrument (22 items).

use std::path::{Path, PathBuf};

use polars::prelude::*;
use sipas_ingest::{IngestOptions, Ingested};

pub(crate) const ITEMS_2017: [&str; 22] = [
    "a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5", "c1", "c2", "c3", "c4", "c5", "c6", "d1",
    "d2", "d3", "e1", "e2", "e3", "e4",
];

/// `response_id,unit_code,period,submitted_at,channel,weight,a1,…,e4`
pub(crate) fn header() -> String {
    format!(
        "response_id,unit_code,period,submitted_at,channel,weight,{}",
        ITEMS_2017.join(",")
    )
}

/// A row with every answer `answer`, except the `(item, value)` overrides.
pub(crate) fn row(
    id: &str,
    unit: &str,
    period: &str,
    weight: &str,
    answer: &str,
    overrides: &[(&str, &str)],
) -> String {
    let answers: Vec<&str> = ITEMS_2017
        .iter()
        .map(|it| {
            overrides
                .iter()
                .find(|(k, _)| k == it)
                .map_or(answer, |(_, v)| v)
        })
        .collect();
    format!("{id},{unit},{period},,,{weight},{}", answers.join(","))
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// A CSV file: header then rows, each ended by `\n`.
pub(crate) fn csv(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let mut text = header();
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    write(dir, name, &text)
}

pub(crate) fn ingest(paths: &[PathBuf]) -> Ingested {
    sipas_ingest::ingest(paths, &IngestOptions::default()).unwrap()
}

pub(crate) fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

pub(crate) fn u8s(df: &DataFrame, col: &str) -> Vec<Option<u8>> {
    df.column(col).unwrap().u8().unwrap().iter().collect()
}

pub(crate) fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}
