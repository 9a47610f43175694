//! `sipas clean`: ingested rows → the analysis set and its audit trail.

use std::path::Path;

use anyhow::Context;
use sipas_clean::{CleanOptions, Crosswalk, CrosswalkTarget, Units};
use sipas_core::Instrument;

use crate::ExitStatus;
use crate::args::{CleanArgs, CleanRules};
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::resolve;

pub(crate) fn run(a: &CleanArgs) -> anyhow::Result<ExitStatus> {
    let input = a.input();
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::unit_history(a.domain.units.as_deref())?;
    let rec = Recorder::start();
    super::check_input(input, "ingest")?;
    let staging = super::begin("clean", &a.out, &[input], &rec)?;
    let done = run_clean(
        input,
        staging.path(),
        &a.out,
        instrument.as_ref(),
        (&units).into(),
        &a.rules,
    )?;
    let inputs = [super::input(input)];
    super::commit("clean", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

/// The crosswalk named by `spec`: `thai-nguyen` (the bundled 01/12/2024
/// and 01/07/2025 steps) or a CSV path, several separated by commas,
/// chained by date.
pub(crate) fn crosswalk(spec: &str) -> anyhow::Result<Crosswalk> {
    let mut out: Option<Crosswalk> = None;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let c = if part == "thai-nguyen" {
            Crosswalk::thai_nguyen()
        } else {
            Crosswalk::from_path(Path::new(part))
                .with_context(|| format!("cannot load crosswalk {part}"))?
        };
        out = Some(match out {
            None => c,
            Some(prev) => prev
                .chain(&c)
                .with_context(|| format!("cannot chain crosswalk {part}"))?,
        });
    }
    out.with_context(|| format!("no crosswalk in `{spec}`"))
}

/// Turns the command-line / job rules into library options.
pub(crate) fn options(rules: &CleanRules) -> anyhow::Result<CleanOptions> {
    let crosswalk = rules.crosswalk.as_deref().map(crosswalk).transpose()?;
    let Some(crosswalk_target) = CrosswalkTarget::parse(&rules.crosswalk_target) else {
        anyhow::bail!(
            "invalid crosswalk target `{}` (expected new, old or a date YYYY-MM-DD)",
            rules.crosswalk_target
        );
    };
    if !(0.0..=1.0).contains(&rules.max_missing_share) {
        anyhow::bail!(
            "max missing share {} must be between 0 and 1",
            rules.max_missing_share
        );
    }
    Ok(CleanOptions {
        allow_ascii_fallback: rules.ascii_fallback,
        crosswalk,
        crosswalk_target,
        exclude_flagged: rules.exclude_flagged,
        exclude_resent_copies: !rules.keep_resent_copies,
        max_missing_share: rules.max_missing_share,
        min_duration_s: rules.min_duration_s,
    })
}

pub(crate) fn run_clean(
    data: &Path,
    out: &Path,
    shown: &Path,
    instrument: Option<&Instrument>,
    units: Units<'_>,
    rules: &CleanRules,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let opts = options(rules)?;
    let run = sipas_clean::io::RunOptions {
        layout: super::ingest::layout(&rules.layout)?,
        ..sipas_clean::io::RunOptions::default()
    };
    let report = sipas_clean::io::run_with(data, out, instrument, units, &opts, &run)
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
