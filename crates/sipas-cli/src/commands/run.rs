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
use crate::options::{CleanSettings, JobSettings};
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
    if let Some(level) = a.level.given {
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
    let settings = JobSettings::new(job)?;
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
        let review = settings.ingest.review;
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
            effect_path: g.effect_path.clone(),
            weights: g.weights,
            styles: g.styles.clone(),
        };
        let file = out.join("data").join("responses.csv");
        let shown = job.out.join("data").join("responses.csv");
        let dated = super::generate::dated_codes(
            g.codes_at_date.as_deref(),
            job.units.is_none(),
            "[generate] codes_at_date",
        )?;
        generate(
            &spec,
            &gen_instrument,
            &units,
            &pilots,
            &file,
            &shown,
            dated.as_ref(),
        )?;
        if g.bac_kan {
            let bk_file = out.join("data").join("bac_kan").join("responses.csv");
            let bk_shown = job.out.join("data").join("bac_kan").join("responses.csv");
            if super::generate::bac_kan_responses(
                &spec,
                dated.as_ref(),
                &gen_instrument,
                &pilots,
                &bk_file,
                &bk_shown,
            )? {
                inputs.push((bk_file, "data/bac_kan/responses.csv".to_string()));
            }
        }
        if dated.is_some()
            && job.clean.crosswalk.is_none()
            && spec.last >= "2024Q4".parse().expect("a period")
        {
            say(
                "run: the generated rows carry the codes of their day (177 → 172 → 92) and no crosswalk is set: a code may name different units over time\nhint: set [clean] crosswalk = \"thai-nguyen\" to analyse every period on today's units",
            );
        }
        inputs.push((file, "data/responses.csv".to_string()));
    }
    let ingest_dir = out.join("ingest");
    let stage = Recorder::start();
    let paths: Vec<PathBuf> = inputs.iter().map(|(p, _)| p.clone()).collect();
    let done = super::ingest::run_ingest(
        &paths,
        instrument.clone(),
        units.clone(),
        &settings.ingest,
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
        &settings.clean,
    )?;
    let from = [(ingest_dir.clone(), "ingest".to_string())];
    let opts = format!("{:?}", job.clean);
    finish_stage(&stage, &clean_dir, "clean", opts, &from, &done, &mut rows)?;
    status = status.max(done.status);

    let treatment = treatment_source(job, &settings.clean, &pilots, &history)?;
    let named_pilots = pilots.clone();
    let (units, pilots) = analysis_units(job, &settings.clean, units, pilots, &history)?;
    let criteria = match (&job.aggregate.criteria, &job.generate) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(g)) if g.criteria => {
            let inst = instrument.clone().map_or_else(
                || resolve::instrument(g.instrument.as_deref().unwrap_or("sipas-2023")),
                Ok,
            )?;
            match inst.par() {
                Some(def) => {
                    let mut opts =
                        sipas_aggregate::AggregateOptions::new(units.clone(), pilots.clone());
                    opts.channel.clone_from(&job.aggregate.channel);
                    opts.channels = settings.channels.clone();
                    let appraised =
                        appraisal_cells(&clean_dir, &inst, &opts, &history, &named_pilots)?;
                    Some(draw_criteria(
                        def,
                        &clean_dir,
                        (&pilots, appraised),
                        g.seed,
                        &out,
                        job,
                    )?)
                }
                None => anyhow::bail!(
                    "[generate] criteria = true: the instrument {} has no [par] table (commune PAR index)",
                    inst.id
                ),
            }
        }
        _ => None,
    };
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
            channels: settings.channels.clone(),
            design: &job.design,
            evaluation: settings.evaluation,
            rollout: settings.rollout,
            criteria: criteria.as_deref(),
            treatment,
            engine: settings.engine.clone(),
            level: job.level,
            check: false,
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
    let done = super::report::run_report(
        &results,
        &pilots,
        &report,
        &job.out.join("report"),
        settings.lang,
    )?;
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

/// Draws the demo's appraised criteria for every unit × period of the clean table
/// (`clean-by-cell.csv`) into `data/criteria.csv`; returns its path.
fn draw_criteria(
    def: &sipas_core::par::ParDefinition,
    clean_dir: &Path,
    (pilots, appraised): (&PilotSet, Option<Vec<sipas_synth::criteria::Appraised>>),
    seed: u64,
    out: &Path,
    job: &Job,
) -> anyhow::Result<PathBuf> {
    if let Some(cells) = appraised {
        let csv = sipas_synth::criteria::criteria_csv_of(def, &cells, pilots.start, seed);
        let file = out.join("data").join("criteria.csv");
        sipas_core::atomic::write_bytes(&file, csv.as_bytes())
            .with_context(|| format!("cannot write {}", file.display()))?;
        say(&format!(
            "generate: appraised criteria of {} ({} criteria) for {} commune × periods, on the codes in force in each period (the old communes before the reorganisation) → {}",
            def.id,
            def.criteria.len(),
            cells.len(),
            job.out.join("data").join("criteria.csv").display()
        ));
        return Ok(file);
    }
    let by_cell = clean_dir.join(sipas_clean::io::BY_CELL);
    let text = std::fs::read_to_string(&by_cell)
        .with_context(|| format!("cannot read {}", by_cell.display()))?;
    let mut cells = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut f = line.split(',');
        let (Some(u), Some(p), Some(_), Some(kept)) = (f.next(), f.next(), f.next(), f.next())
        else {
            anyhow::bail!("{}: line {}: too few fields", by_cell.display(), i + 1);
        };
        if kept != "0" {
            let p: sipas_core::Period = p
                .parse()
                .with_context(|| format!("{}: line {}", by_cell.display(), i + 1))?;
            cells.push((u.to_string(), p));
        }
    }
    let csv = sipas_synth::criteria::criteria_csv(def, &cells, pilots, seed);
    let file = out.join("data").join("criteria.csv");
    sipas_core::atomic::write_bytes(&file, csv.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    say(&format!(
        "generate: appraised criteria of {} ({} criteria) for {} unit × periods → {}",
        def.id,
        def.criteria.len(),
        cells.len(),
        job.out.join("data").join("criteria.csv").display()
    ));
    Ok(file)
}

/// The communes an appraisal names in each period after a crosswalk: every code the responses
/// carried in the period (`old_unit_code`) that was in force on the period's first day (the
/// old communes before the reorganisation, today's units after it), each with its pilot
/// status (the pilot list as named before the last reorganisation, today's pilots after it).
/// `None` without a crosswalk (the criteria are drawn on the analysis cells).
fn appraisal_cells(
    clean_dir: &Path,
    inst: &sipas_core::Instrument,
    opts: &sipas_aggregate::AggregateOptions,
    history: &sipas_core::UnitHistory,
    named: &PilotSet,
) -> anyhow::Result<Option<Vec<sipas_synth::criteria::Appraised>>> {
    let old = sipas_core::schema::OLD_UNIT_CODE;
    if !sipas_dataset::Dataset::open(clean_dir).is_ok_and(|d| d.has_column(old)) {
        return Ok(None);
    }
    let responses = sipas_aggregate::read_responses_with(clean_dir, Some(inst), &[old])
        .with_context(|| format!("cannot read the response table in {}", clean_dir.display()))?;
    let Some(codes) = sipas_aggregate::par::code_weights(&responses, opts)? else {
        return Ok(None);
    };
    let last = history.eras().len().saturating_sub(1);
    // Today's unit has the mean level of the communes it was made of (its appraisals continue
    // theirs); a commune in force before the last reorganisation has its own.
    let in_force: Vec<(String, sipas_core::Period, String, bool)> = codes
        .into_iter()
        .filter_map(|((code, p), (unit, _))| {
            let day = sipas_core::history::period_start(p);
            history.get(&code, day)?;
            Some((code, p, unit, history.era_index(day) == last))
        })
        .collect();
    let mut members: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (code, _, unit, today) in &in_force {
        if !today {
            members.entry(unit).or_default().insert(code);
        }
    }
    let mut cells: Vec<sipas_synth::criteria::Appraised> = in_force
        .iter()
        .map(|(code, p, unit, today)| sipas_synth::criteria::Appraised {
            code: code.clone(),
            period: *p,
            pilot: if *today {
                opts.pilots.contains(unit)
            } else {
                named.contains(code)
            },
            level_of: members
                .get(unit.as_str())
                .filter(|_| *today)
                .map(|m| m.iter().map(|c| (*c).to_string()).collect())
                .unwrap_or_default(),
        })
        .collect();
    cells.sort();
    Ok(Some(cells))
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

/// With a crosswalk onto newer units: the pilots as named and the first and
/// last step, for the treatment intensity of today's units.
fn treatment_source(
    job: &Job,
    clean: &CleanSettings,
    pilots: &PilotSet,
    history: &sipas_core::UnitHistory,
) -> anyhow::Result<Option<super::aggregate::TreatmentSource>> {
    let Some(reorganisation) = clean
        .options
        .crosswalk
        .as_ref()
        .and_then(|c| c.reorganisation(history))
    else {
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
    Ok(Some(super::aggregate::TreatmentSource {
        pilots: pilots.clone(),
        reorganisation,
        population,
    }))
}

/// The units and pilots the analysis uses: after a crosswalk, the units in
/// force on its target (`[clean] units_after` when given) and the pilot
/// codes mapped onto them ([`sipas_clean::Crosswalk::analysis_units`]), so
/// that a trend across a merge compares one set of units; otherwise the
/// given ones.
fn analysis_units(
    job: &Job,
    clean: &CleanSettings,
    units: UnitRegistry,
    pilots: PilotSet,
    history: &sipas_core::UnitHistory,
) -> anyhow::Result<(UnitRegistry, PilotSet)> {
    let opts = &clean.options;
    let Some(crosswalk) = &opts.crosswalk else {
        return Ok((units, pilots));
    };
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
