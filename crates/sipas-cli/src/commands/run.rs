//! `sipas run`: every stage from a job file, or the bundled demo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::ExitStatus;
use crate::args::RunArgs;
use crate::commands::generate::{GenerateSpec, generate};
use crate::commands::{Done, say};
use crate::job::Job;
use crate::manifest::Recorder;
use crate::resolve;
use sipas_core::{PilotSet, UnitRegistry};

pub(crate) fn run(a: &RunArgs) -> anyhow::Result<ExitStatus> {
    let mut job = if let Some(path) = a.input() {
        Job::from_path(path)?
    } else {
        say("run: no --config given, running the bundled demo (fixtures/demo/job.toml)");
        Job::demo()
    };
    if let Some(out) = &a.out {
        job.out.clone_from(out);
    }
    if let Some(level) = a.level {
        job.level = level;
    }
    if job.excel_csv {
        sipas_core::csv_out::set_excel_bom(true);
    }
    run_job(&job)
}

/// Runs generate (when asked) → ingest → clean → aggregate → report, into a staging folder
/// beside the job's `out` that replaces it whole when every stage went through.
pub(crate) fn run_job(job: &Job) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(job.instrument.as_deref())?;
    let units = resolve::units(job.units.as_deref())?;
    let pilots = resolve::pilots(job.pilots.as_deref(), &units)?;
    let rec = Recorder::start();
    let run_started = std::time::Instant::now();
    let given: Vec<&Path> = job.ingest.inputs.iter().map(PathBuf::as_path).collect();
    let staging = super::begin("run", &job.out, &given, &rec)?;
    let out = staging.path().to_path_buf();
    let mut status = ExitStatus::Success;
    // Inputs as the stage manifests name them: as given, or relative to OUT when made here.
    let mut inputs: Vec<(PathBuf, String)> =
        job.ingest.inputs.iter().map(|p| super::input(p)).collect();
    let mut rows = BTreeMap::new();
    if !job.sources.is_empty() {
        let store = out.join("raw");
        // The local store (records and watermarks) carries over from the previous run.
        let previous = job.out.join("raw");
        if previous.is_dir() {
            copy_dir(&previous, &store)?;
        }
        let review = super::sync::review_policy(job.ingest.read.review.as_deref())?;
        for f in super::sync::sync_sources(&job.sources, &store, false, false, review)? {
            let shown = relative(&f, &out);
            inputs.push((f, shown));
        }
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
            pilot_start: g
                .pilot_start
                .as_deref()
                .map(str::parse::<sipas_core::Period>)
                .transpose()
                .context("[generate] pilot_start")?,
            pilot_effect: g.pilot_effect,
            weights: g.weights,
            styles: g.styles.clone(),
        };
        let file = out.join("data").join("responses.csv");
        let shown = job.out.join("data").join("responses.csv");
        generate(&spec, &gen_instrument, &units, &pilots, &file, &shown)?;
        let dated = super::generate::dated_codes(
            g.codes_at_date.as_deref(),
            job.units.is_none(),
            "[generate] codes_at_date",
        )?;
        if g.bac_kan {
            let bk_file = out.join("data").join("bac_kan").join("responses.csv");
            let bk_shown = job.out.join("data").join("bac_kan").join("responses.csv");
            if bac_kan_responses(&spec, dated, &gen_instrument, &pilots, &bk_file, &bk_shown)? {
                inputs.push((bk_file, "data/bac_kan/responses.csv".to_string()));
            }
        }
        if dated {
            code_at_date(&file, &sipas_clean::Crosswalk::thai_nguyen())?;
            if job.clean.crosswalk.is_none() && spec.last >= "2024Q4".parse().expect("a period") {
                say(
                    "run: the generated rows carry the codes of their day (177 → 172 → 92) and no crosswalk is set: a code may name different units over time\nhint: set [clean] crosswalk = \"thai-nguyen\" to analyse every period on today's units",
                );
            }
        }
        inputs.push((file, "data/responses.csv".to_string()));
    }
    let ingest_dir = out.join("ingest");
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
    let stage = Recorder::start();
    let paths: Vec<PathBuf> = inputs.iter().map(|(p, _)| p.clone()).collect();
    let done = super::ingest::run_ingest(
        &paths,
        instrument.clone(),
        units.clone(),
        &job.ingest.read,
        &keep_columns,
        job.ingest.layout.as_deref().unwrap_or("file"),
        &ingest_dir,
        &job.out.join("ingest"),
    )?;
    let opts = format!("{:?}", job.ingest);
    finish_stage(
        &stage,
        &ingest_dir,
        "ingest",
        opts,
        &inputs,
        &done,
        &mut rows,
    )?;
    status = status.max(done.status);

    let clean_dir = out.join("clean");
    read_stage(&ingest_dir, "ingest")?;
    let history = if job.units.is_some() {
        sipas_core::UnitHistory::single(units.clone())
    } else {
        sipas_core::bundled::unit_history()
    };
    let stage = Recorder::start();
    let done = super::clean::run_clean(
        &ingest_dir,
        &clean_dir,
        &job.out.join("clean"),
        instrument.as_ref(),
        (&history).into(),
        &job.clean,
    )?;
    let from = [(ingest_dir.clone(), "ingest".to_string())];
    let opts = format!("{:?}", job.clean);
    finish_stage(&stage, &clean_dir, "clean", opts, &from, &done, &mut rows)?;
    status = status.max(done.status);

    let treatment = treatment_source(job, &pilots, &history)?;
    let (units, pilots) = analysis_units(job, units, pilots, &history)?;
    let results = out.join("results");
    read_stage(&clean_dir, "clean")?;
    let stage = Recorder::start();
    let done = super::aggregate::run_aggregate(
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
            spark_master: job.aggregate.spark_master(),
            level: job.level,
        },
        &results,
        &job.out.join("results"),
    )?;
    let from = [(clean_dir.clone(), "clean".to_string())];
    let opts = format!(
        "{:?} {:?} {:?} level {}",
        job.aggregate,
        job.design,
        job.evaluation,
        job.level.value()
    );
    finish_stage(&stage, &results, "aggregate", opts, &from, &done, &mut rows)?;
    status = status.max(done.status);

    let report = out.join("report");
    read_stage(&results, "aggregate")?;
    let stage = Recorder::start();
    let lang = job.lang.parse().map_err(anyhow::Error::msg)?;
    let done =
        super::report::run_report(&results, &pilots, &report, &job.out.join("report"), lang)?;
    if job.single_file {
        let n = sipas_report::embed_images(&report)
            .with_context(|| format!("cannot embed the charts in {}", report.display()))?;
        say(&format!("report: {n} charts embedded in index.html"));
    }
    let from = [(results.clone(), "results".to_string())];
    finish_stage(
        &stage,
        &report,
        "report",
        String::new(),
        &from,
        &done,
        &mut rows,
    )?;
    status = status.max(done.status);

    let read = rows.get("ingest.rows_read").copied();
    let whole = Done {
        status,
        rows,
        timing: Some(crate::timing::Timing::since(run_started, read)),
        reading: Vec::new(),
    };
    let given: Vec<_> = job.ingest.inputs.iter().map(|p| super::input(p)).collect();
    super::commit("run", staging, &rec, format!("{job:?}"), &given, &whole)?;
    say(&format!(
        "run: done → {} (open {})",
        job.out.display(),
        job.out.join("report").join("index.html").display()
    ));
    Ok(status)
}

/// Writes a stage's manifest inside the run and adds its row counts to the run's.
fn finish_stage(
    rec: &Recorder,
    dir: &Path,
    stage: &str,
    options: String,
    inputs: &[(PathBuf, String)],
    done: &Done,
    rows: &mut BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    let entries = crate::manifest::input_entries(inputs)?;
    rec.write(dir, stage, options, entries, done.summary())?;
    for (k, n) in &done.rows {
        rows.insert(format!("{stage}.{k}"), *n);
    }
    Ok(())
}

/// A stage's folder, checked against its manifest before the next stage reads it.
fn read_stage(dir: &Path, stage: &str) -> anyhow::Result<()> {
    crate::manifest::verify(dir, stage).map(|_| ())
}

/// `path` relative to `base`, `/`-separated (or as it is when outside).
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).map_or_else(
        |_| path.display().to_string(),
        |r| {
            r.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        },
    )
}

/// Copies the folder `from` to `to` (created), recursively.
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let e = e.with_context(|| format!("cannot list {}", from.display()))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// The units of the 92 made only of former Bắc Kạn communes (none of the
/// 177 Thái Nguyên units goes into them).
pub(crate) fn bac_kan_units() -> UnitRegistry {
    use sipas_clean::{Crosswalk, CrosswalkTarget, Mapped};
    let history = sipas_core::bundled::unit_history();
    let cw = Crosswalk::thai_nguyen();
    let day = "2024-11-30".parse().expect("a date");
    let onto = |units: &UnitRegistry| -> std::collections::BTreeSet<String> {
        units
            .iter()
            .filter_map(
                |u| match cw.map(&u.code, day, CrosswalkTarget::New, &history) {
                    Mapped::Code { code, .. } => Some(code),
                    Mapped::NotOneToOne { .. } => None,
                },
            )
            .collect()
    };
    let from_tn = onto(&sipas_core::bundled::units());
    let from_bk = onto(&sipas_core::bundled::units_bac_kan());
    sipas_core::bundled::units_2025_07()
        .filtered(|u| from_bk.contains(&u.code) && !from_tn.contains(&u.code))
}

/// `[generate] bac_kan`: responses of former Bắc Kạn's units from 2025Q3
/// (when they joined the province) to the last period, as many per unit
/// and period as the main file (its seed + 1); `false` when no period is
/// left.
fn bac_kan_responses(
    spec: &GenerateSpec,
    dated: bool,
    instrument: &sipas_core::Instrument,
    pilots: &PilotSet,
    file: &Path,
    shown: &Path,
) -> anyhow::Result<bool> {
    if !dated {
        anyhow::bail!(
            "[generate] bac_kan needs the bundled units and codes of the day (codes_at_date = \"thai-nguyen\")"
        );
    }
    let joined: sipas_core::IsoDate = "2025-07-01".parse().expect("a date");
    let all = spec.first.range_to(spec.last);
    let Some(&first) = all
        .iter()
        .find(|p| sipas_core::history::period_start(**p) >= joined)
    else {
        return Ok(false);
    };
    let units = bac_kan_units();
    let tn = sipas_core::bundled::units().len() as u64;
    let per_cell = spec.responses / (tn * all.len() as u64).max(1);
    let periods = first.range_to(spec.last).len() as u64;
    let bk = GenerateSpec {
        responses: per_cell.max(1) * units.len() as u64 * periods,
        seed: spec.seed.wrapping_add(1),
        first,
        ..spec.clone()
    };
    generate(&bk, instrument, &units, pilots, file, shown)?;
    say(&format!(
        "generate: former Bắc Kạn's {} units of the 92 surveyed from {first} (they joined the province on 01/07/2025)",
        units.len()
    ));
    Ok(true)
}

/// Rewrites the `unit_code` of a generated CSV (second column; codes of the
/// first unit list) with the code in force on each row's submission day
/// (fourth column), as offices would have written it.
pub(crate) fn code_at_date(
    file: &std::path::Path,
    crosswalk: &sipas_clean::Crosswalk,
) -> anyhow::Result<()> {
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
    history: &sipas_core::UnitHistory,
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
    let population = job
        .aggregate
        .population
        .as_deref()
        .map(|p| {
            sipas_aggregate::panel::Population::from_path(p)
                .with_context(|| format!("[aggregate] population = {}", p.display()))
        })
        .transpose()?;
    // Names of the old units: the units in force the day before the first step.
    let old_names = history
        .in_force(first.pred())
        .iter()
        .map(|u| (u.code.clone(), u.full_name()))
        .collect();
    Ok(Some(super::aggregate::TreatmentSource {
        pilots: pilots.clone(),
        first_step: *first,
        last_step: *last,
        population,
        old_names,
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
