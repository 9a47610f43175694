//! `sipas run`: every stage from a job file, or the bundled demo.

use anyhow::Context;

use crate::ExitStatus;
use crate::args::RunArgs;
use crate::commands::generate::{GenerateSpec, generate};
use crate::commands::say;
use crate::job::Job;
use crate::resolve;
use sipas_core::{PilotSet, UnitRegistry};

pub(crate) fn run(a: &RunArgs) -> anyhow::Result<ExitStatus> {
    let mut job = if let Some(path) = &a.config {
        Job::from_path(path)?
    } else {
        say("run: no --config given, running the bundled demo (fixtures/demo/job.toml)");
        Job::demo()
    };
    if let Some(out) = &a.out {
        job.out.clone_from(out);
    }
    run_job(&job)
}

/// Runs generate (when asked) → ingest → clean → aggregate → report.
pub(crate) fn run_job(job: &Job) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(job.instrument.as_deref())?;
    let units = resolve::units(job.units.as_deref())?;
    let pilots = resolve::pilots(job.pilots.as_deref(), &units)?;
    std::fs::create_dir_all(&job.out)
        .with_context(|| format!("cannot create output folder {}", job.out.display()))?;
    let mut status = ExitStatus::Success;
    let mut inputs = job.ingest.inputs.clone();
    if !job.sources.is_empty() {
        let store = job.out.join("raw");
        let review = super::sync::review_policy(job.ingest.read.review.as_deref())?;
        inputs.extend(super::sync::sync_sources(
            &job.sources,
            &store,
            false,
            review,
        )?);
    }
    if let Some(g) = &job.generate {
        let gen_instrument = match (&g.instrument, &instrument) {
            (Some(id), _) => resolve::instrument(id)?,
            (None, Some(i)) => i.clone(),
            (None, None) => resolve::instrument("sipas-2023")?,
        };
        let spec = GenerateSpec {
            responses: g.responses,
            seed: g.seed,
            first: g.first_period.parse().context("[generate] first_period")?,
            last: g.last_period.parse().context("[generate] last_period")?,
            pilot_start: None,
            pilot_effect: g.pilot_effect,
            weights: g.weights,
        };
        let file = job.out.join("data").join("responses.csv");
        generate(&spec, &gen_instrument, &units, &pilots, &file)?;
        inputs.push(file);
    }
    let ingest_dir = job.out.join("ingest");
    let mut keep_columns = job.ingest.keep_columns.clone();
    for c in job.design.columns() {
        if !keep_columns.iter().any(|k| k == c) {
            keep_columns.push(c.to_string());
        }
    }
    status = status.max(super::ingest::run_ingest(
        &inputs,
        instrument.clone(),
        units.clone(),
        &job.ingest.read,
        &keep_columns,
        job.ingest.layout.as_deref().unwrap_or("file"),
        &ingest_dir,
    )?);
    let clean_dir = job.out.join("clean");
    status = status.max(super::clean::run_clean(
        &ingest_dir,
        &clean_dir,
        instrument.as_ref(),
        &units,
        &job.clean,
    )?);
    let (units, pilots) = analysis_units(job, units, pilots)?;
    let results = job.out.join("results");
    status = status.max(super::aggregate::run_aggregate(
        &clean_dir,
        &super::aggregate::Settings {
            instrument: instrument.as_ref(),
            units,
            pilots: pilots.clone(),
            channel: &job.aggregate.channel,
            design: &job.design,
            evaluation: &job.evaluation,
        },
        &results,
    )?);
    let report = job.out.join("report");
    status = status.max(super::report::run_report(&results, &pilots, &report)?);
    say(&format!(
        "run: done → {} (open {})",
        job.out.display(),
        report.join("index.html").display()
    ));
    Ok(status)
}

/// The units and pilots the analysis uses: after a crosswalk onto new codes
/// (`[clean] crosswalk`, target `new`), the post-merge unit list and the pilot
/// codes mapped through the crosswalk, so that a trend across a merge
/// compares one set of units; otherwise the given ones.
fn analysis_units(
    job: &Job,
    units: UnitRegistry,
    pilots: PilotSet,
) -> anyhow::Result<(UnitRegistry, PilotSet)> {
    let Some(cw_spec) = job.clean.crosswalk.as_deref() else {
        return Ok((units, pilots));
    };
    if job.clean.crosswalk_target != "new" {
        return Ok((units, pilots));
    }
    let crosswalk = super::clean::options(&job.clean)?
        .crosswalk
        .expect("a crosswalk was named");
    let after = match (&job.clean.units_after, cw_spec, &job.units) {
        (Some(path), _, _) => resolve::units(Some(path))?,
        (None, "thai-nguyen", None) => sipas_core::bundled::units_2024_12(),
        (None, _, _) => units,
    };
    let mut mapped = pilots.clone();
    mapped.units = pilots
        .units
        .iter()
        .map(|c| crosswalk.to_new(c).unwrap_or(c).to_string())
        .collect();
    let changed: Vec<String> = pilots
        .units
        .iter()
        .filter_map(|c| crosswalk.to_new(c).map(|n| format!("{c} → {n}")))
        .collect();
    if !changed.is_empty() {
        say(&format!(
            "run: crosswalk onto new units: pilot codes {} (the merged unit is analysed as a whole in every period)",
            changed.join(", ")
        ));
    }
    mapped
        .check_against(&after, "pilots after the crosswalk")
        .context("hint: set [clean] units_after to the unit list after the crosswalk")?;
    Ok((after, mapped))
}
