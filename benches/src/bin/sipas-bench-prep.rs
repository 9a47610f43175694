//! Fallback for `sipas generate` + `sipas ingest` when the CLI does not build:
//! the same library calls.
//!
//! `sipas-bench-prep N OUT_DIR [--units CSV] [--pilots TOML]` writes
//! `OUT_DIR/data/responses.parquet` (seed 1, sipas-2023, 2023Q1–2025Q4) and
//! ingests it into `OUT_DIR/ingest/`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use sipas_synth::{Model, SynthConfig};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let (mut units, mut pilots) = (None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--units" => units = Some(PathBuf::from(value()?)),
            "--pilots" => pilots = Some(PathBuf::from(value()?)),
            _ if !a.starts_with("--") => pos.push(a),
            _ => bail!("unexpected argument `{a}`"),
        }
    }
    let [n, out] = pos.as_slice() else {
        bail!("usage: sipas-bench-prep N OUT_DIR [--units CSV] [--pilots TOML]");
    };
    let n: u64 = n.parse().context("N")?;
    let out = PathBuf::from(out);
    let (units, pilots) = sipas_bench::units_and_pilots(units.as_deref(), pilots.as_deref())?;
    let mut cfg = SynthConfig::with_seed_and_responses(sipas_bench::SEED, n);
    cfg.units = units.iter().map(|u| u.code.clone()).collect();
    cfg.pilots = pilots;
    let model = Model::new(&cfg, &sipas_bench::instrument())?;
    let data = out.join("data");
    std::fs::create_dir_all(&data)?;
    let input = data.join("responses.parquet");
    let t = Instant::now();
    sipas_synth::write_responses(&model, &input)?;
    eprintln!(
        "prep: generate {n} rows: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let opts = sipas_ingest::IngestOptions {
        units,
        ..sipas_ingest::IngestOptions::default()
    };
    let ingested = sipas_ingest::ingest(&[input], &opts)?;
    sipas_ingest::write_outputs(&ingested, &out.join("ingest"))?;
    eprintln!("prep: ingest: {:.2} s", t.elapsed().as_secs_f64());
    Ok(())
}
