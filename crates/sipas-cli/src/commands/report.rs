//! `sipas report`: PNG charts and index.html.

use std::path::Path;

use anyhow::Context;
use sipas_core::PilotSet;

use crate::ExitStatus;
use crate::args::ReportArgs;
use crate::commands::say;
use crate::resolve;

pub(crate) fn run(a: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    let status = run_report(&a.results, &pilots, &a.out)?;
    if a.single_file {
        let n = sipas_report::embed_images(&a.out)
            .with_context(|| format!("cannot embed the charts in {}", a.out.display()))?;
        say(&format!(
            "report: {n} charts embedded in {}",
            a.out.join(sipas_report::html::INDEX_HTML).display()
        ));
    }
    Ok(status)
}

pub(crate) fn run_report(
    results: &Path,
    pilots: &PilotSet,
    out: &Path,
) -> anyhow::Result<ExitStatus> {
    let summary = sipas_report::write_report(results, pilots, out)
        .with_context(|| format!("cannot write the report from {}", results.display()))?;
    say(&format!(
        "report: {} pilot units against {} baseline units over {} periods, {} files → {}",
        summary.pilot_units.len(),
        summary.baseline_units,
        summary.periods,
        summary.files.len(),
        out.display()
    ));
    if !summary.missing_pilots.is_empty() {
        say(&format!(
            "report: no results for pilot units {}",
            summary.missing_pilots.join(", ")
        ));
        return Ok(ExitStatus::DataProblems);
    }
    Ok(ExitStatus::Success)
}
