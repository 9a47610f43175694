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
            styles: g.styles.clone(),
        };
        let file = job.out.join("data").join("responses.csv");
        generate(&spec, &gen_instrument, &units, &pilots, &file)?;
        match g.codes_at_date.as_deref() {
            None => {}
            Some("thai-nguyen") => code_at_date(&file, &sipas_clean::Crosswalk::thai_nguyen())?,
            Some(other) => {
                anyhow::bail!("[generate] codes_at_date = `{other}`: only `thai-nguyen` is known")
            }
        }
        inputs.push(file);
    }
    let ingest_dir = job.out.join("ingest");
    let mut keep_columns = job.ingest.keep_columns.clone();
    // A replicate-weight pattern (`repwt*`) is resolved at aggregate; ingest
    // keeps the columns named in `[ingest] keep_columns`.
    for c in job
        .design
        .columns()
        .into_iter()
        .filter(|c| !c.contains('*'))
    {
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
    let history = if job.units.is_some() {
        sipas_core::UnitHistory::single(units.clone())
    } else {
        sipas_core::bundled::unit_history()
    };
    status = status.max(super::clean::run_clean(
        &ingest_dir,
        &clean_dir,
        instrument.as_ref(),
        (&history).into(),
        &job.clean,
    )?);
    let treatment = treatment_source(job, &pilots)?;
    let (units, pilots) = analysis_units(job, units, pilots, &history)?;
    let results = job.out.join("results");
    status = status.max(super::aggregate::run_aggregate(
        &clean_dir,
        &super::aggregate::Settings {
            instrument: instrument.as_ref(),
            units,
            pilots: pilots.clone(),
            channel: &job.aggregate.channel,
            channels: super::aggregate::channel_classes(
                job.aggregate.survey_modes.as_deref(),
                job.aggregate.rating_channels.as_deref(),
            )?,
            design: &job.design,
            evaluation: &job.evaluation,
            treatment,
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

/// Rewrites the `unit_code` of a generated CSV (second column; codes of the
/// first unit list) with the code in force on each row's submission day
/// (fourth column), as offices would have written it.
fn code_at_date(file: &std::path::Path, crosswalk: &sipas_clean::Crosswalk) -> anyhow::Result<()> {
    use sipas_clean::{CrosswalkTarget, Mapped};
    let history = sipas_core::bundled::unit_history();
    let Some(first) = crosswalk.step_dates().first().copied() else {
        return Ok(());
    };
    let before = first.pred();
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = String::with_capacity(text.len());
    let mut cache: std::collections::HashMap<(String, sipas_core::IsoDate), String> =
        std::collections::HashMap::new();
    let mut moved = 0u64;
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.splitn(5, ',').collect();
        let day = (i > 0 && f.len() == 5)
            .then(|| sipas_core::IsoDate::from_prefix(f[3]))
            .flatten();
        let Some(day) = day.filter(|d| *d >= first) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let code = cache
            .entry((f[1].to_string(), day))
            .or_insert_with(|| {
                match crosswalk.map(f[1], before, CrosswalkTarget::On(day), &history) {
                    Mapped::Code { code, .. } => code,
                    Mapped::NotOneToOne { .. } => f[1].to_string(),
                }
            })
            .clone();
        moved += u64::from(code != f[1]);
        out.push_str(&[f[0], code.as_str(), f[2], f[3], f[4]].join(","));
        out.push('\n');
    }
    sipas_core::atomic::write_bytes(file, out.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    say(&format!(
        "generate: coded as offices did on each submission day ({moved} rows carry a code of 01/12/2024 or 01/07/2025)"
    ));
    Ok(())
}

/// With a crosswalk onto newer units: the pilots as named and the first and
/// last step, for the treatment intensity of today's units.
fn treatment_source(
    job: &Job,
    pilots: &PilotSet,
) -> anyhow::Result<Option<super::aggregate::TreatmentSource>> {
    if job.clean.crosswalk.is_none() {
        return Ok(None);
    }
    let opts = super::clean::options(&job.clean)?;
    let crosswalk = opts.crosswalk.expect("a crosswalk was named");
    let dates = crosswalk.step_dates();
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
        return Ok(None);
    };
    Ok(Some(super::aggregate::TreatmentSource {
        pilots: pilots.clone(),
        first_step: *first,
        last_step: *last,
    }))
}

/// The units and pilots the analysis uses: after a crosswalk, the units in
/// force on its target (`[clean] units_after` when given) and the pilot
/// codes mapped onto them ([`sipas_clean::Crosswalk::analysis_units`]), so
/// that a trend across a merge compares one set of units; otherwise the
/// given ones.
fn analysis_units(
    job: &Job,
    units: UnitRegistry,
    pilots: PilotSet,
    history: &sipas_core::UnitHistory,
) -> anyhow::Result<(UnitRegistry, PilotSet)> {
    if job.clean.crosswalk.is_none() {
        return Ok((units, pilots));
    }
    let opts = super::clean::options(&job.clean)?;
    let crosswalk = opts.crosswalk.expect("a crosswalk was named");
    let mapped = crosswalk
        .analysis_units(&pilots, opts.crosswalk_target, history)
        .map_err(anyhow::Error::msg)?;
    let after = match &job.clean.units_after {
        Some(path) => resolve::units(Some(path))?,
        None if job.units.is_none() => mapped.units,
        None => units,
    };
    if !mapped.changes.is_empty() {
        say(&format!(
            "run: crosswalk onto the units of {}: pilot codes {} (a merged unit is analysed as a whole in every period)",
            opts.crosswalk_target.label(),
            mapped.changes.join(", ")
        ));
    }
    mapped
        .pilots
        .check_against(&after, "pilots after the crosswalk")
        .context("hint: set [clean] units_after to the unit list after the crosswalk")?;
    Ok((after, mapped.pilots))
}
