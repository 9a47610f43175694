//! `sipas ingest`: files → the response table (responses.parquet or responses/) + quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, UnitRegistry};
use sipas_ingest::{IngestOptions, WriteOptions, ingest_to};

use crate::ExitStatus;
use crate::args::IngestArgs;
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::options::IngestSettings;
use crate::resolve;

pub(crate) fn run(a: &IngestArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let rec = Recorder::start();
    let inputs: Vec<&Path> = a.inputs.iter().map(PathBuf::as_path).collect();
    let staging = super::begin("ingest", &a.out, &inputs, &rec)?;
    let settings = IngestSettings::new(&a.read, &a.keep_columns, &a.layout)?;
    let done = run_ingest(
        &a.inputs,
        instrument,
        units,
        &settings,
        staging.path(),
        &a.out,
    )?;
    let inputs: Vec<_> = a.inputs.iter().map(|p| super::input(p)).collect();
    super::commit("ingest", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

/// An input's format as the ingest report names it (`csv`, `excel`, …).
fn format_name(i: &sipas_ingest::InputReport) -> Option<String> {
    serde_json::to_value(i.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

/// How each input was read (format, encoding with the detector's confidence,
/// delimiter, rows) or why it was skipped, for `manifest.json`.
fn reading_entries(report: &sipas_ingest::IngestReport) -> Vec<crate::manifest::ReadEntry> {
    let read = report.inputs.iter().map(|i| crate::manifest::ReadEntry {
        file: i.file.clone(),
        format: format_name(i),
        encoding: i.encoding.clone(),
        encoding_confidence: i.encoding_confidence,
        delimiter: i.delimiter.clone(),
        rows_read: Some(i.rows_read),
        skipped: None,
    });
    let skipped = report.skipped.iter().map(|s| crate::manifest::ReadEntry {
        file: s.file.clone(),
        format: None,
        encoding: None,
        encoding_confidence: None,
        delimiter: None,
        rows_read: None,
        skipped: Some(s.reason.clone()),
    });
    read.chain(skipped).collect()
}

/// The per-file line of the ingest summary: rows, format, encoding (with the
/// detector's confidence) and delimiter.
fn input_line(i: &sipas_ingest::InputReport) -> String {
    let format = format_name(i).unwrap_or_default();
    let mut how = vec![format];
    if let Some(e) = &i.encoding {
        how.push(match i.encoding_confidence {
            Some(c) => format!("{e}, detected with confidence {c:.2}"),
            None => e.clone(),
        });
    }
    if let Some(d) = &i.delimiter {
        how.push(format!("delimiter `{d}`"));
    }
    format!(
        "{}: {} rows = {} accepted + {} quarantined ({})",
        i.file,
        i.rows_read,
        i.accepted,
        i.quarantined,
        how.join(", ")
    )
}

/// Writes into `out`; messages name `shown` (the results folder `out` is staged for).
pub(crate) fn run_ingest(
    inputs: &[PathBuf],
    instrument: Option<Instrument>,
    units: UnitRegistry,
    settings: &IngestSettings,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let dates = settings.dates.clone();
    say(&format!(
        "ingest: as-of date {}{}",
        dates.as_of.map_or_else(String::new, |d| d.to_string()),
        if settings.as_of_given {
            ""
        } else {
            " (today, UTC; name it with --as-of or the job's as_of to rerun identically)"
        }
    ));
    let opts = IngestOptions {
        instrument,
        units,
        keep_columns: settings.keep_columns.clone(),
        review: settings.review,
        repeats: settings.repeats,
        dates,
        // Files a run generated inside its staging folder are named as they
        // will be after the swap (`out/data/…`), not by the staging path.
        shown_as: sipas_core::staging::ShownAs::of_stage(out, shown),
    };
    let write = WriteOptions {
        layout: settings.layout,
        ..WriteOptions::default()
    };
    let outcome = ingest_to(inputs, &opts, &settings.read, out, &write)
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
    for i in &report.inputs {
        say(&format!("ingest: read {}", input_line(i)));
    }
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
    let mut done = Done::new(
        status,
        &[
            ("rows_read", t.rows_read),
            ("accepted", t.accepted),
            ("quarantined", t.quarantined),
            ("files_read", report.inputs.len() as u64),
            ("files_skipped", report.skipped.len() as u64),
        ],
    )
    .timed(timing);
    done.reading = reading_entries(report);
    Ok(done)
}
