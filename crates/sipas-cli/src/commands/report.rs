//! `sipas report`: PNG charts and index.html.

use std::path::Path;

use anyhow::Context;
use sipas_core::PilotSet;

use crate::ExitStatus;
use crate::args::ReportArgs;
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::resolve;

pub(crate) fn run(a: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let input = a.input();
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    let rec = Recorder::start();
    if !a.no_verify {
        crate::manifest::verify(input, "aggregate").context(
            "the results are not those sipas aggregate wrote (--no-verify reads them anyway)",
        )?;
    }
    if let Some(wanted) = a.level.given {
        check_level(input, wanted)?;
    }
    let staging = super::begin("report", &a.out, &[input], &rec)?;
    let lang = a.lang.parse().map_err(anyhow::Error::msg)?;
    let done = run_report(input, &pilots, staging.path(), &a.out, lang)?;
    if a.single_file {
        let n = sipas_report::embed_images(staging.path())
            .with_context(|| format!("cannot embed the charts in {}", a.out.display()))?;
        say(&format!(
            "report: {n} charts embedded in {}",
            a.out.join(sipas_report::html::INDEX_HTML).display()
        ));
    }
    let inputs = [super::input(input)];
    super::commit("report", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

/// `--level` names the level the results must have: the report shows the
/// intervals aggregate wrote and never recomputes them at another level.
fn check_level(results: &Path, wanted: sipas_core::Level) -> anyhow::Result<()> {
    let recorded = sipas_report::evaluation::load_aggregate_quality(results)
        .with_context(|| format!("cannot read the results' level in {}", results.display()))?
        .map(|q| q.level)
        .unwrap_or_default();
    if recorded != wanted {
        anyhow::bail!(
            "the results in {} were computed at the {recorded} confidence level \
             (aggregate-report.json), not at the {wanted} that --level asks for; \
             the report shows the intervals aggregate wrote and does not recompute them: \
             run `sipas aggregate --level {}` (or `sipas run --level {}`) first, \
             or leave --level out to report at {recorded}",
            results.display(),
            wanted.value(),
            wanted.value()
        );
    }
    Ok(())
}

pub(crate) fn run_report(
    results: &Path,
    pilots: &PilotSet,
    out: &Path,
    shown: &Path,
    lang: sipas_report::Lang,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let summary = sipas_report::write_report_in(results, pilots, out, lang)
        .with_context(|| format!("cannot write the report from {}", results.display()))?;
    let timing = crate::timing::Timing::since(started, None);
    say(&format!(
        "report: {} pilot units against {} baseline units over {} periods, {} files → {}{}",
        summary.pilot_units.len(),
        summary.baseline_units,
        summary.periods,
        summary.files.len(),
        shown.display(),
        timing.summary()
    ));
    let rows = [
        ("pilot_units", summary.pilot_units.len() as u64),
        ("baseline_units", summary.baseline_units as u64),
        ("periods", summary.periods as u64),
    ];
    if !summary.missing_pilots.is_empty() {
        say(&format!(
            "report: no results for pilot units {}",
            summary.missing_pilots.join(", ")
        ));
        return Ok(Done::new(ExitStatus::DataProblems, &rows).timed(timing));
    }
    Ok(Done::new(ExitStatus::Success, &rows).timed(timing))
}
