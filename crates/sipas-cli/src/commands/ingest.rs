//! `sipas ingest`: files → the response table (responses.parquet or responses/) + quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, UnitRegistry};
use sipas_ingest::{IngestOptions, Mapping, ReadOptions, WriteOptions, ingest_to};

use crate::ExitStatus;
use crate::args::{IngestArgs, ReadArgs};
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::resolve;

pub(crate) fn run(a: &IngestArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let rec = Recorder::start();
    let inputs: Vec<&Path> = a.inputs.iter().map(PathBuf::as_path).collect();
    let staging = super::begin("ingest", &a.out, &inputs, &rec)?;
    let done = run_ingest(
        &a.inputs,
        instrument,
        units,
        &a.read,
        &a.keep_columns,
        &a.layout,
        staging.path(),
        &a.out,
    )?;
    let inputs: Vec<_> = a.inputs.iter().map(|p| super::input(p)).collect();
    super::commit("ingest", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
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

/// Writes into `out`; messages name `shown` (the results folder `out` is staged for).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_ingest(
    inputs: &[PathBuf],
    instrument: Option<Instrument>,
    units: UnitRegistry,
    read: &ReadArgs,
    keep_columns: &[String],
    layout_name: &str,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<Done> {
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
        .with_context(|| format!("ingest into {} failed", shown.display()))?;
    let report = &outcome.report;
    let t = &report.totals;
    let timing = crate::timing::Timing::since(started, Some(t.rows_read));
    say(&format!(
        "ingest: {} rows read = {} accepted + {} quarantined ({}) → {}{}",
        t.rows_read,
        t.accepted,
        t.quarantined,
        outcome.instrument.id,
        shown
            .join(
                outcome
                    .responses
                    .strip_prefix(out)
                    .unwrap_or(&outcome.responses)
            )
            .display(),
        timing.summary()
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
            shown.join(sipas_ingest::QUARANTINE_FILE).display()
        ));
    }
    let status = if outcome.quarantined > excluded {
        ExitStatus::DataProblems
    } else {
        ExitStatus::Success
    };
    Ok(Done::new(
        status,
        &[
            ("rows_read", t.rows_read),
            ("accepted", t.accepted),
            ("quarantined", t.quarantined),
        ],
    )
    .timed(timing))
}
