//! Times sipas' aggregation itself (read `responses.parquet` + `aggregate`,
//! no result tables written) for `benches/compare`.
//!
//! `sipas-bench-aggregate RESPONSES.parquet [--units CSV] [--pilots TOML]
//! [--cells OUT.csv] [--timing FILE]`: with `--cells`, writes the per-cell
//! estimates with full precision; with `--timing`, appends the seconds spent
//! reading and aggregating (one line per run).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use sipas_aggregate::{AggregateOptions, aggregate, read_responses};

/// The allocator of the `sipas` binary, so that this times what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut input: Option<PathBuf> = None;
    let (mut units, mut pilots, mut cells, mut timing) = (None, None, None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--units" => units = Some(PathBuf::from(value()?)),
            "--pilots" => pilots = Some(PathBuf::from(value()?)),
            "--cells" => cells = Some(PathBuf::from(value()?)),
            "--timing" => timing = Some(PathBuf::from(value()?)),
            _ if input.is_none() && !a.starts_with("--") => input = Some(PathBuf::from(&a)),
            _ => bail!("unexpected argument `{a}`"),
        }
    }
    let input = input.context("usage: sipas-bench-aggregate RESPONSES.parquet [--units CSV] [--pilots TOML] [--cells OUT.csv] [--timing FILE]")?;
    let (units, pilots) = sipas_bench::units_and_pilots(units.as_deref(), pilots.as_deref())?;
    let opts = AggregateOptions::new(units, pilots);

    let t0 = Instant::now();
    let responses = read_responses(&input, None)?;
    let t_read = t0.elapsed().as_secs_f64();
    let indices = aggregate(&responses, &opts)?;
    let total = t0.elapsed().as_secs_f64();
    eprintln!(
        "sipas-bench-aggregate: {} rows, {} cells: read {t_read:.3} s + aggregate {:.3} s = {total:.3} s",
        responses.len(),
        indices.cells.len(),
        total - t_read
    );
    if let Some(path) = timing {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(f, "{total:.6} {t_read:.6}")?;
    }
    if let Some(path) = cells {
        std::fs::write(&path, sipas_bench::write_cells_full_precision(&indices))?;
    }
    Ok(())
}
