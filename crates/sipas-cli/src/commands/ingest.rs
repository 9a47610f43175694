//! `sipas ingest`: files → the response table (responses.parquet or responses/) + quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, UnitRegistry};
use sipas_ingest::{IngestOptions, Mapping, ReadOptions, WriteOptions, ingest_to};

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
        &a.layout,
        &a.out,
    )
}

/// The table layout named on the command line or in a job file.
pub(crate) fn layout(name: &str) -> anyhow::Result<sipas_dataset::Layout> {
    name.parse().map_err(anyhow::Error::msg)
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
    layout_name: &str,
    out: &Path,
) -> anyhow::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let review = match read.review.as_deref() {
        None => sipas_ingest::ReviewPolicy::default(),
        Some(r) => r.parse().map_err(anyhow::Error::msg)?,
    };
    let repeats = match read.repeats.as_deref() {
        None => sipas_ingest::RepeatPolicy::default(),
        Some(r) => r.parse().map_err(anyhow::Error::msg)?,
    };
    let opts = IngestOptions {
        instrument,
        units,
        keep_columns: keep_columns.to_vec(),
        review,
        repeats,
    };
    let write = WriteOptions {
        layout: layout(layout_name)?,
        ..WriteOptions::default()
    };
    let outcome = ingest_to(inputs, &opts, &read_options(read)?, out, &write)
        .with_context(|| format!("ingest into {} failed", out.display()))?;
    let report = &outcome.report;
    let t = &report.totals;
    say(&format!(
        "ingest: {} rows read = {} accepted + {} quarantined ({}) → {}{}",
        t.rows_read,
        t.accepted,
        t.quarantined,
        outcome.instrument.id,
        outcome.responses.display(),
        crate::logging::rate(started, t.rows_read)
    ));
    for s in &report.skipped {
        say(&format!("ingest: skipped {}: {}", s.file, s.reason));
    }
    for n in &report.notes {
        say(&format!("ingest: {n}"));
    }
    // Rows excluded by the review policy or replaced by an edit are counted
    // in the quarantine, but are not data problems.
    let excluded: u64 = sipas_ingest::Reason::ALL
        .iter()
        .filter(|r| r.is_policy())
        .map(|r| {
            t.quarantined_by_reason
                .get(r.as_str())
                .copied()
                .unwrap_or(0)
        })
        .sum();
    if excluded > 0 {
        say(&format!(
            "ingest: {excluded} rows excluded by the review policy ({}) or replaced by an edit",
            report.review
        ));
    }
    if t.review_flagged > 0 {
        say(&format!(
            "ingest: {} rows kept with a review on hold / with issues (column review_state)",
            t.review_flagged
        ));
    }
    if outcome.quarantined > excluded {
        say(&format!(
            "ingest: {} rows quarantined, see {}",
            outcome.quarantined,
            out.join(sipas_ingest::QUARANTINE_FILE).display()
        ));
        return Ok(ExitStatus::DataProblems);
    }
    Ok(ExitStatus::Success)
}
