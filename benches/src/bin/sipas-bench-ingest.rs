//! Times the streaming ingest (`sipas_ingest::ingest_to`) on one input, for
//! the 10^7 / 10^8 scale runs while the CLI still calls `ingest_with`.
//!
//! `sipas-bench-ingest INPUT OUT_DIR [--layout file|period] [--chunk-rows N]`
//! ingests INPUT into OUT_DIR and prints the rows read and the seconds spent.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut write = sipas_ingest::WriteOptions::default();
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--layout" => write.layout = value()?.parse().map_err(anyhow::Error::msg)?,
            "--chunk-rows" => write.chunk_rows = value()?.parse().context("--chunk-rows")?,
            _ if !a.starts_with("--") => pos.push(a),
            _ => bail!("unexpected argument `{a}`"),
        }
    }
    let [input, out] = pos.as_slice() else {
        bail!("usage: sipas-bench-ingest INPUT OUT_DIR [--layout file|period] [--chunk-rows N]");
    };
    let t = Instant::now();
    let outcome = sipas_ingest::ingest_to(
        &[PathBuf::from(input)],
        &sipas_ingest::IngestOptions::default(),
        &sipas_ingest::ReadOptions::default(),
        &PathBuf::from(out),
        &write,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let rows = outcome.report.totals.rows_read;
    eprintln!(
        "ingest: {rows} rows read, {} accepted, {} quarantined, {secs:.2} s, {:.0} ns/row",
        outcome.report.totals.accepted,
        outcome.quarantined,
        secs * 1e9 / rows.max(1) as f64
    );
    Ok(())
}
