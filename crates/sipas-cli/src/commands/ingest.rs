//! `sipas ingest`: files → responses.parquet + quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, UnitRegistry};
use sipas_ingest::{IngestOptions, Mapping, ReadOptions, ingest_with};

use crate::ExitStatus;
use crate::args::{IngestArgs, ReadArgs};
use crate::commands::say;
use crate::resolve;

pub(crate) fn run(a: &IngestArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    run_ingest(
        &a.inputs,
        instrument,
        units,
        &a.read,
        &a.keep_columns,
        &a.out,
    )
}

/// Library read options from the CLI / job settings.
pub(crate) fn read_options(r: &ReadArgs) -> anyhow::Result<ReadOptions> {
    let delimiter = match r.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => anyhow::bail!("invalid delimiter `{d}` (expected one character, or `tab`)"),
    };
    let mapping = r
        .mapping
        .as_deref()
        .map(|p| {
            Mapping::from_path(p).with_context(|| format!("cannot load mapping {}", p.display()))
        })
        .transpose()?;
    Ok(ReadOptions {
        delimiter,
        encoding: r.encoding.clone(),
        mapping,
    })
}

pub(crate) fn run_ingest(
    inputs: &[PathBuf],
    instrument: Option<Instrument>,
    units: UnitRegistry,
    read: &ReadArgs,
    keep_columns: &[String],
    out: &Path,
) -> anyhow::Result<ExitStatus> {
    let opts = IngestOptions {
        instrument,
        units,
        keep_columns: keep_columns.to_vec(),
    };
    let ingested = ingest_with(inputs, &opts, &read_options(read)?).context("ingest failed")?;
    let report = sipas_ingest::write_outputs(&ingested, out)
        .with_context(|| format!("cannot write ingest outputs to {}", out.display()))?;
    let t = &report.totals;
    say(&format!(
        "ingest: {} rows read = {} accepted + {} quarantined ({}) → {}",
        t.rows_read,
        t.accepted,
        t.quarantined,
        ingested.instrument.id,
        out.display()
    ));
    for s in &report.skipped {
        say(&format!("ingest: skipped {}: {}", s.file, s.reason));
    }
    if ingested.quarantined() > 0 {
        say(&format!(
            "ingest: {} rows quarantined, see {}",
            ingested.quarantined(),
            out.join(sipas_ingest::QUARANTINE_FILE).display()
        ));
        return Ok(ExitStatus::DataProblems);
    }
    Ok(ExitStatus::Success)
}
