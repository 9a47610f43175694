//! Deterministic data for sipas' benchmarks.
//!
//! Every generator uses `sipas_synth` with a fixed seed ([`SEED`]), the
//! bundled `sipas-2023` instrument (33 items), the 177 bundled Thái Nguyên
//! units and 2023Q1–2025Q4, so a size always gives the same bytes.
//!
//! # Overview
//! - [`model`]: the synthetic model for `rows` responses.
//! - [`frame`]: the canonical response frame (as `sipas generate` draws it).
//! - [`write_input`]: the responses as CSV or Parquet in a folder.
//! - [`ingested`] / [`cleaned`] / [`results`]: the output folder of each
//!   stage, ready as the input of the next one.
//! - [`responses`]: the in-memory [`sipas_aggregate::Responses`].
//! - [`write_cells_full_precision`]: per-cell estimates with every digit, for
//!   the cross-tool check of `benches/compare`.
//!
//! Benches live in `benches/benches/*.rs`; the end-to-end comparison with
//! DuckDB, polars, pandas and R `survey` in `benches/compare/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;
use sipas_aggregate::{AggregateOptions, Indices, Responses};
use sipas_synth::{Model, SynthConfig};

/// Seed of every generated dataset.
pub const SEED: u64 = 1;

/// Row counts of the criterion benches.
pub const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

/// The unit list and pilots of a bench binary: the files given with
/// `--units` / `--pilots`, else the bundled ones.
///
/// # Errors
/// A given file that cannot be read or parsed.
pub fn units_and_pilots(
    units: Option<&Path>,
    pilots: Option<&Path>,
) -> sipas_core::Result<(sipas_core::UnitRegistry, sipas_core::PilotSet)> {
    let units = match units {
        Some(p) => sipas_core::UnitRegistry::from_path(p)?,
        None => sipas_core::bundled::units(),
    };
    let pilots = match pilots {
        Some(p) => sipas_core::PilotSet::from_path(p)?,
        None => sipas_core::bundled::pilots(),
    };
    Ok((units, pilots))
}

/// The bundled `sipas-2023` instrument.
pub fn instrument() -> sipas_core::Instrument {
    sipas_core::bundled::instrument("sipas-2023").expect("bundled instrument")
}

/// The synthetic model of `rows` responses (seed [`SEED`], bundled units,
/// 2023Q1–2025Q4, weight 1).
pub fn model(rows: u64) -> Model {
    let cfg = SynthConfig::with_seed_and_responses(SEED, rows);
    Model::new(&cfg, &instrument()).expect("valid default configuration")
}

/// All `rows` responses as one canonical frame.
pub fn frame(rows: u64) -> DataFrame {
    sipas_synth::generate_chunk(&model(rows), 0..rows).expect("generation succeeds")
}

/// Writes `rows` responses to `dir/responses.{ext}` (`ext` = `csv` or
/// `parquet`) and returns the path.
pub fn write_input(dir: &Path, rows: u64, ext: &str) -> PathBuf {
    let path = dir.join(format!("responses.{ext}"));
    sipas_synth::write_responses(&model(rows), &path).expect("write responses");
    path
}

/// Ingests `input` into `out` (responses.parquet, quarantine, report).
pub fn ingest_into(input: &Path, out: &Path) {
    let opts = sipas_ingest::IngestOptions::default();
    let ingested = sipas_ingest::ingest(&[input.to_path_buf()], &opts).expect("ingest");
    sipas_ingest::write_outputs(&ingested, out).expect("write ingest outputs");
}

/// Generates `rows` responses as Parquet under `dir/data` and ingests them
/// into `dir/ingest`; returns the ingest folder.
pub fn ingested(dir: &Path, rows: u64) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create data folder");
    let input = write_input(&data, rows, "parquet");
    let out = dir.join("ingest");
    ingest_into(&input, &out);
    out
}

/// Cleans `ingest_dir` into `out` with the default rules.
pub fn clean_into(ingest_dir: &Path, out: &Path) {
    let units = sipas_core::bundled::units();
    sipas_clean::clean_folder(
        ingest_dir,
        out,
        None,
        &units,
        &sipas_clean::CleanOptions::default(),
    )
    .expect("clean");
}

/// [`ingested`], then cleaned into `dir/clean`; returns the clean folder.
pub fn cleaned(dir: &Path, rows: u64) -> PathBuf {
    let ingest = ingested(dir, rows);
    let out = dir.join("clean");
    clean_into(&ingest, &out);
    out
}

/// [`cleaned`], then aggregated into `dir/results`; returns the results folder.
pub fn results(dir: &Path, rows: u64) -> PathBuf {
    let clean = cleaned(dir, rows);
    let responses =
        sipas_aggregate::read_responses(&clean.join("responses.parquet"), None).expect("read");
    let indices =
        sipas_aggregate::aggregate(&responses, &AggregateOptions::bundled()).expect("aggregate");
    let out = dir.join("results");
    sipas_aggregate::write_results(&indices, &out).expect("write results");
    out
}

/// The `rows` generated responses as the aggregate crate's table.
pub fn responses(rows: u64) -> Responses {
    Responses::from_frame(&frame(rows), None, "generated").expect("canonical frame")
}

/// Per-cell estimates with full precision (shortest round-trip decimals), the
/// common format of `benches/compare`:
/// `unit_code,period,n,<item ids>,<reported groups>,sipas,sipas_se`, item
/// shares and indices in percent, empty = undefined, sorted by unit then period.
pub fn write_cells_full_precision(indices: &Indices) -> String {
    let mut s = String::from("unit_code,period,n");
    for id in indices.item_ids.iter().chain(&indices.group_ids) {
        s.push(',');
        s.push_str(id);
    }
    s.push_str(",sipas,sipas_se\n");
    let num = |s: &mut String, v: Option<f64>| {
        s.push(',');
        if let Some(v) = v {
            let _ = write!(s, "{v:?}");
        }
    };
    for c in &indices.cells {
        let _ = write!(s, "{},{},{}", c.unit_code, c.period, c.n);
        for it in &c.items {
            num(&mut s, it.share);
        }
        for g in &c.groups {
            num(&mut s, *g);
        }
        num(&mut s, c.sipas.value);
        num(&mut s, c.sipas.se);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_sized() {
        let a = frame(500);
        let b = frame(500);
        assert_eq!(a.height(), 500);
        assert!(a.equals_missing(&b));
        let r = responses(500);
        assert_eq!(r.len(), 500);
        assert_eq!(r.states().len(), 500 * 2 * r.words());
    }

    #[test]
    fn full_precision_cells_round_trip() {
        let r = responses(20_000);
        let indices = sipas_aggregate::aggregate(&r, &AggregateOptions::bundled()).unwrap();
        let text = write_cells_full_precision(&indices);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header.len(), 3 + 33 + indices.group_ids.len() + 2);
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        let c = &indices.cells[0];
        assert_eq!(first[0], c.unit_code);
        let sipas: Option<f64> = Some(first[header.len() - 2])
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap());
        assert!(sipas.is_some());
        assert_eq!(sipas, c.sipas.value);
        assert_eq!(text.lines().count(), 1 + indices.cells.len());
    }
}
