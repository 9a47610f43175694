//! Parquet output: canonical types, same values as the CSV for a seed.

use std::fs::File;

use polars::prelude::*;
use sipas_core::schema;
use sipas_synth::{Format, Model, SynthConfig, WriteOptions, write_responses_with};

use crate::{sipas2023, small_config, weights};

#[test]
fn parquet_has_the_canonical_schema_and_the_csv_values() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        weights: true,
        missing_rate: 0.1,
        ..small_config(21, 777)
    };
    let model = Model::new(&cfg, &sipas2023()).unwrap();
    let opts = WriteOptions { chunk_rows: 100 };
    let pq = dir.path().join("r.PARQUET");
    let csv = dir.path().join("r.csv");
    let s = write_responses_with(&model, &pq, &opts).unwrap();
    assert_eq!(s.format, Format::Parquet);
    let s2 = write_responses_with(&model, &csv, &opts).unwrap();
    assert_eq!(s.missing_answers, s2.missing_answers);
    assert!(s.missing_answers > 0);

    let df = ParquetReader::new(File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 777);
    let schema = df.schema().clone();
    let names: Vec<&str> = schema.iter_names().map(PlSmallStr::as_str).collect();
    let inst = sipas2023();
    let items = inst.item_ids();
    let mut expected = schema::LEADING.to_vec();
    expected.extend(items.iter().copied());
    assert_eq!(names, expected);
    for (name, dtype) in schema.iter() {
        let want = match name.as_str() {
            "weight" => DataType::Float64,
            n if items.contains(&n) => DataType::UInt8,
            _ => DataType::String,
        };
        assert_eq!(dtype, &want, "{name}");
    }

    // Row-by-row comparison with the CSV, read with the csv crate.
    let mut rdr = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, expected);
    let text_cols: Vec<Vec<Option<String>>> = expected[..5]
        .iter()
        .map(|c| {
            df.column(c)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.map(String::from))
                .collect()
        })
        .collect();
    let weight = weights(&df);
    let answers: Vec<Vec<Option<u8>>> = items
        .iter()
        .map(|c| df.column(c).unwrap().u8().unwrap().iter().collect())
        .collect();
    let mut rows = 0;
    let mut nulls = 0u64;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        rows += 1;
        for (c, col) in text_cols.iter().enumerate() {
            assert_eq!(col[i].as_deref(), Some(&rec[c]), "row {i} col {c}");
        }
        assert_eq!(weight[i], rec[5].parse::<f64>().unwrap(), "row {i}");
        assert_eq!(rec[5].split_once('.').unwrap().1.len(), 6);
        for (j, col) in answers.iter().enumerate() {
            let want = if rec[6 + j].is_empty() {
                nulls += 1;
                None
            } else {
                Some(rec[6 + j].parse::<u8>().unwrap())
            };
            assert_eq!(col[i], want, "row {i} item {j}");
        }
    }
    assert_eq!(rows, 777);
    assert_eq!(nulls, s.missing_answers);
    // Rows are in (unit, period) order; the parquet is sorted by the same key as the CSV.
    assert_eq!(text_cols[0][0].as_deref(), Some("05431-2023Q3-000001"));
}

/// A recoded CSV is the plain CSV with each chunk's lines rewritten: the
/// recode sees whole lines and never the header, and a Parquet output is
/// refused.
#[test]
fn recoded_csv_is_the_plain_csv_with_its_lines_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let model = Model::new(&small_config(22, 1001), &sipas2023()).unwrap();
    // Chunks of 97 rows: 11 chunks, the last one short.
    let opts = WriteOptions { chunk_rows: 97 };
    let plain = dir.path().join("plain.csv");
    write_responses_with(&model, &plain, &opts).unwrap();
    let chunks = std::sync::atomic::AtomicUsize::new(0);
    let upper = |buf: &mut Vec<u8>| {
        assert!(buf.ends_with(b"\n"), "whole lines");
        assert!(!buf.starts_with(b"response_id"), "never the header");
        chunks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        buf.make_ascii_uppercase();
    };
    let recoded = dir.path().join("recoded.csv");
    let s = sipas_synth::write_responses_recoded(&model, &recoded, &opts, &upper).unwrap();
    assert_eq!(s.rows, 1001);
    assert_eq!(chunks.load(std::sync::atomic::Ordering::Relaxed), 11);
    let plain = std::fs::read_to_string(&plain).unwrap();
    let (header, body) = plain.split_once('\n').unwrap();
    assert_eq!(
        std::fs::read_to_string(&recoded).unwrap(),
        format!("{header}\n{}", body.to_ascii_uppercase())
    );
    let err =
        sipas_synth::write_responses_recoded(&model, &dir.path().join("r.parquet"), &opts, &upper)
            .unwrap_err();
    assert!(err.to_string().contains("CSV output only"), "{err}");
}
