//! `sipas clean`: ingested rows → the analysis set and its audit trail.

use std::path::Path;

use anyhow::Context;
use sipas_clean::Units;
use sipas_core::Instrument;

use crate::ExitStatus;
use crate::args::CleanArgs;
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::options::CleanSettings;
use crate::resolve;

pub(crate) fn run(a: &CleanArgs) -> anyhow::Result<ExitStatus> {
    let input = a.input();
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::unit_history(a.domain.units.as_deref())?;
    let rec = Recorder::start();
    super::check_input(input, "ingest")?;
    let staging = super::begin("clean", &a.out, &[input], &rec)?;
    let settings = CleanSettings::new(&a.rules)?;
    let done = run_clean(
        input,
        staging.path(),
        &a.out,
        instrument.as_ref(),
        (&units).into(),
        &settings,
    )?;
    let inputs = [super::input(input)];
    super::commit("clean", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

/// Cleans `data` into `out` with the converted rules; messages name `shown`
/// (the folder `out` is staged for).
pub(crate) fn run_clean(
    data: &Path,
    out: &Path,
    shown: &Path,
    instrument: Option<&Instrument>,
    units: Units<'_>,
    settings: &CleanSettings,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let run = sipas_clean::FolderOptions {
        layout: settings.layout,
        ..sipas_clean::FolderOptions::default()
    };
    let report =
        sipas_clean::clean_folder_with(data, out, instrument, units, &settings.options, &run)
            .with_context(|| format!("cannot clean {}", data.display()))?;
    let t = &report.totals;
    let timing = crate::timing::Timing::since(started, Some(t.rows_in));
    let flagged: Vec<String> = t
        .flagged_by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    say(&format!(
        "clean: {} rows in = {} kept + {} excluded; flagged (kept): {} → {}{}",
        t.rows_in,
        t.kept,
        t.excluded,
        if flagged.is_empty() {
            "none".to_string()
        } else {
            flagged.join(", ")
        },
        shown.display(),
        timing.summary()
    ));
    if t.excluded > 0 {
        let reasons: Vec<String> = t
            .excluded_by_reason
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        say(&format!(
            "clean: excluded {} ({}), see {}",
            t.excluded,
            reasons.join(", "),
            shown.join("quarantine.csv").display()
        ));
    }
    let status = if t.excluded > 0 {
        ExitStatus::DataProblems
    } else {
        ExitStatus::Success
    };
    Ok(Done::new(
        status,
        &[
            ("rows_in", t.rows_in),
            ("kept", t.kept),
            ("excluded", t.excluded),
        ],
    )
    .timed(timing))
}
