//! `sipas aggregate`: the response table (responses.parquet or responses/) → result tables.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use sipas_aggregate::methods::Methods;
use sipas_aggregate::{
    AggregateOptions, ChannelClasses, DesignSpec, EvaluationOptions, aggregate_with_design,
    evaluate, read_responses_with, select_panel, write_estimates, write_evaluation, write_results,
};
use sipas_core::{Instrument, Level, PilotSet, UnitRegistry, results, schema};

use crate::ExitStatus;
use crate::args::AggregateArgs;
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::options::{self, Engine};
use crate::resolve;

pub(crate) fn run(a: &AggregateArgs) -> anyhow::Result<ExitStatus> {
    let input = a.input();
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    let design = match &a.design {
        None => DesignSpec::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read design file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid design file {}", path.display()))?
        }
    };
    let evaluation = options::evaluation(&a.evaluation, a.level.or_default())?;
    let rollout = options::rollout(a.rollout, &evaluation);
    let rec = Recorder::start();
    let staging = super::begin("aggregate", &a.out, &[input], &rec)?;
    let done = run_aggregate(
        input,
        &Settings {
            instrument: instrument.as_ref(),
            units,
            pilots,
            channel: &a.channels.channel,
            channels: a.channels.classes()?,
            design: &design,
            evaluation,
            rollout,
            criteria: a.criteria.as_deref(),
            treatment: None,
            engine: Engine::named(&a.engine, &a.spark_master)?,
            level: a.level.or_default(),
            check: true,
        },
        staging.path(),
        &a.out,
    )?;
    let inputs = [super::input(input)];
    super::commit("aggregate", staging, &rec, format!("{a:?}"), &inputs, &done)?;
    Ok(done.status)
}

/// What aggregate needs besides its input and output folders.
pub(crate) struct Settings<'a> {
    pub(crate) instrument: Option<&'a Instrument>,
    pub(crate) units: UnitRegistry,
    pub(crate) pilots: PilotSet,
    pub(crate) channel: &'a str,
    pub(crate) channels: ChannelClasses,
    pub(crate) design: &'a DesignSpec,
    pub(crate) evaluation: EvaluationOptions,
    /// The staggered-rollout estimates (comparison group, base period, design variance).
    pub(crate) rollout: sipas_aggregate::rollout::RolloutOptions,
    /// The commune PAR index's appraised criteria table (an instrument with `[par]`).
    pub(crate) criteria: Option<&'a Path>,
    /// After a crosswalk: the pilots as named and the first reorganisation,
    /// for the treatment on today's units.
    pub(crate) treatment: Option<TreatmentSource>,
    /// Where the tables are computed.
    pub(crate) engine: Engine,
    /// Confidence level of every interval (`--level`, the job's `level`).
    pub(crate) level: Level,
    /// Whether the input folder is checked against its manifest ([`super::check_input`],
    /// beside the read of its table): a standalone stage's is; a job checks its clean stage's
    /// folder itself before it aggregates.
    pub(crate) check: bool,
}

/// The pilots before a crosswalk mapped them onto today's units, and the
/// day of the first reorganisation (rows of periods ending before it carry
/// the communes the pilot list names).
#[derive(Debug, Clone)]
pub(crate) struct TreatmentSource {
    pub(crate) pilots: PilotSet,
    /// The first and last step, and the old units' names.
    pub(crate) reorganisation: sipas_clean::Reorganisation,
    /// `[aggregate] population`: intensity as a share of population.
    pub(crate) population: Option<sipas_aggregate::panel::Population>,
}

pub(crate) fn run_aggregate(
    data: &Path,
    s: &Settings<'_>,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<Done> {
    if let Engine::Spark { master } = &s.engine {
        if s.check {
            super::check_input(data, "clean")?;
        }
        return super::spark::run(data, s, master, out, shown);
    }
    let started = std::time::Instant::now();
    // Each phase's wall time at `-v` (where a large run spends its time).
    let mut phase_start = started;
    let mut phase = |what: &str| {
        tracing::debug!(
            "aggregate: {what} in {:.2} s",
            phase_start.elapsed().as_secs_f64()
        );
        phase_start = std::time::Instant::now();
    };
    let Settings {
        instrument,
        units,
        pilots,
        channel,
        channels,
        design,
        evaluation: ev_opts,
        rollout: _,
        criteria,
        treatment: _,
        engine: _,
        level,
        check,
    } = s;
    let instrument = *instrument;
    // `data` holds responses.parquet or responses/ (partitioned by period).
    // After a crosswalk, the old units are the default strata: keep their column.
    let mut columns = design.columns();
    if sipas_dataset::Dataset::open(data).is_ok_and(|d| d.has_column(schema::OLD_UNIT_CODE)) {
        columns.push(schema::OLD_UNIT_CODE);
    }
    // The input folder is checked against its manifest (every file hashed) while its table is
    // read; a folder that is not as sipas wrote it is reported before anything the read found.
    let (read, checked) = std::thread::scope(|scope| {
        let checked = check.then(|| scope.spawn(|| super::check_input(data, "clean")));
        let read = read_responses_with(data, instrument, &columns);
        let checked = checked.map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (read, checked)
    });
    checked.transpose()?;
    let mut responses =
        read.with_context(|| format!("cannot read the response table in {}", data.display()))?;
    phase("read the response table");
    let mut opts = AggregateOptions::new(units.clone(), pilots.clone());
    opts.channel = (*channel).to_string();
    opts.channels = channels.clone();
    opts.baseline = ev_opts.baseline;
    opts.level = *level;
    // The design is resolved once: every SE and interval of every table
    // (unit_period, groups, items, did, estimates) comes from it.
    let (mut indices, mut estimates) =
        aggregate_with_design(&responses, &opts, design).context("aggregation failed")?;
    phase("estimated every domain under the design");
    // Every other headline index (PAPI-style dimensions, the PAR total) through the same path.
    let mut heads = {
        let inst = responses.instrument().clone();
        // Σ of survey weights per cell: how the PAR total's pooled groups average the points.
        // After a crosswalk, the codes the responses carried in each period (the old communes
        // an appraisal before the reorganisation names).
        let weights = match (inst.par(), criteria) {
            (Some(_), Some(_)) => Some((
                sipas_aggregate::par::cell_weights(&responses, &opts)?,
                sipas_aggregate::par::code_weights(&responses, &opts)?,
            )),
            _ => None,
        };
        // Each index's cells and groups are the headline's tables re-rooted; only its 2×2 DiD
        // (the quadrant covariance of its own linearisation) is computed again.
        let mut aggregate = |group_id: &str| {
            sipas_aggregate::headline::index_aggregate(
                &mut responses,
                &opts,
                design,
                (&indices, &estimates),
                group_id,
            )
        };
        other_indices(
            &inst,
            &mut aggregate,
            weights,
            (&opts, ev_opts),
            *criteria,
            &indices,
        )?
    };
    if let Some((def, _, Some(total))) = &heads.par {
        sipas_aggregate::par::append_estimates(&mut estimates, def, total);
    }
    phase("aggregated the other indices");
    // A run reads the clean table inside its staging folder: name it as it is after the swap
    // (`out/clean/…`), so that the report's bytes do not depend on the process id.
    if let Some(s) = sipas_core::staging::ShownAs::of_stage(out, shown) {
        indices.report.source = s
            .path(Path::new(&indices.report.source))
            .display()
            .to_string();
        // The criteria table a run drew sits in its staging folder too (methods.txt names it).
        if let Some((_, c, _)) = &mut heads.par {
            c.origin = s.path(Path::new(&c.origin)).display().to_string();
        }
    }
    // `estimates.csv` and its twin (with 10,000 units, 9.5 M rows and a third of the run) are
    // final here: written on a thread of their own beside everything below (the other tables,
    // the pilot's evaluation), which reads the estimates in memory, never the files. The
    // writer's error is reported where a run one step after the other would have stopped:
    // after the unit, item and group tables', before the evaluation's.
    let write_est = || -> anyhow::Result<std::time::Duration> {
        let t = std::time::Instant::now();
        write_estimates(&estimates, out)
            .with_context(|| format!("cannot write estimates to {}", shown.display()))?;
        Ok(t.elapsed())
    };
    let run = Final {
        responses: &responses,
        indices: &indices,
        estimates: &estimates,
        heads: &heads,
        opts: &opts,
        settings: s,
        out: (out, shown),
        started,
    };
    std::thread::scope(|scope| -> anyhow::Result<Done> {
        let writer = scope.spawn(write_est);
        let written = || -> anyhow::Result<std::time::Duration> {
            writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        run.write(&mut phase, written)
    })
}

/// A run once its estimates are final: what its tables, the pilot's evaluation and
/// `methods.txt` are written from while `estimates.csv` is written on another thread.
struct Final<'a> {
    responses: &'a sipas_aggregate::Responses,
    indices: &'a sipas_aggregate::Indices,
    estimates: &'a sipas_aggregate::DomainEstimates,
    heads: &'a Heads,
    opts: &'a AggregateOptions,
    settings: &'a Settings<'a>,
    /// The staging folder written to, and the folder it is shown as.
    out: (&'a Path, &'a Path),
    started: std::time::Instant,
}

impl Final<'_> {
    /// The unit, item and group tables, the run's summary, then the pilot's evaluation (or,
    /// without one, `methods.txt` and the index tables alone). `written` waits for the
    /// `estimates.csv` writer: its error comes first, where a sequential run would have stopped.
    fn write(
        &self,
        phase: &mut dyn FnMut(&str),
        written: impl FnOnce() -> anyhow::Result<std::time::Duration>,
    ) -> anyhow::Result<Done> {
        let (indices, (out, shown)) = (self.indices, self.out);
        write_results(indices, out)
            .with_context(|| format!("cannot write results to {}", shown.display()))?;
        phase("wrote the unit, item and group tables");
        let r = &indices.report;
        let timing = crate::timing::Timing::since(self.started, Some(r.rows_read as u64));
        let rows = [
            ("rows_read", r.rows_read as u64),
            ("rows_used", r.rows_used as u64),
            ("cells", r.cells as u64),
        ];
        let no_pre = self.say_summary(&timing);
        let Some(d) = &indices.did else {
            let took = written()?;
            tracing::debug!(
                "aggregate: wrote estimates.csv and its twin in {:.2} s (beside the tables)",
                took.as_secs_f64()
            );
            let reason = r
                .did_unavailable
                .as_deref()
                .unwrap_or("no difference-in-differences");
            say(&format!(
                "aggregate: no pilot evaluation ({reason}); unit, item and group tables are written"
            ));
            // methods.txt still says how every table of the folder was computed.
            let methods = Methods::design(r).data(r);
            self.heads.write(
                indices,
                self.responses.instrument(),
                None,
                self.out,
                methods,
            )?;
            // The folder is written whole (staged): no earlier run's evaluation can remain beside
            // these tables.
            return Ok(Done::new(ExitStatus::Success, &rows).timed(timing));
        };
        let level = self.settings.level;
        // The instrument's overall index by its name (`SIPAS index`, `Commune PAPI …`).
        let inst = self.responses.instrument();
        let index_name = inst
            .group(inst.root())
            .map_or("the index", |g| g.name_en.as_str());
        say(&format!(
            "aggregate: difference-in-differences of {index_name}, pilot vs baseline from {}: {:.2} points (SE {:.2}, {level} CI {:.2} to {:.2})",
            d.pilot_start, d.estimate, d.se, d.lo, d.hi
        ));
        // The pilot's evaluation runs on this thread while `estimates.csv` is still written on
        // another.
        let evaluated = self.evaluate_pilot(no_pre, phase);
        // The writer's error first: it is the step a sequential run would have stopped at.
        let took = written()?;
        tracing::debug!(
            "aggregate: wrote estimates.csv and its twin in {:.2} s (beside the tables and the evaluation)",
            took.as_secs_f64()
        );
        let (ev, methods) = evaluated?;
        self.heads
            .write(indices, inst, Some(&ev), self.out, methods)?;
        let o = &ev.overall;
        say(&format!(
            "aggregate: two-way fixed effects, {} pilot and {} baseline units: {:.2} points, clustered {level} CI {:.2} to {:.2}; wild cluster bootstrap p {}, {level} CI {} to {}",
            o.n_treated,
            o.n_clusters - o.n_treated,
            o.estimate,
            o.lo_cr1,
            o.hi_cr1,
            fmt_p(o.wild.as_ref().map(|w| w.p)),
            fmt_opt(o.wild.as_ref().and_then(|w| w.lo)),
            fmt_opt(o.wild.as_ref().and_then(|w| w.hi))
        ));
        Ok(Done::new(ExitStatus::Success, &rows).timed(timing))
    }

    /// The run's summary lines (rows, survey modes, excluded channels, the design, units left
    /// out of the comparison); returns how many units have no period before the pilot start.
    fn say_summary(&self, timing: &crate::timing::Timing) -> usize {
        let r = &self.indices.report;
        say(&format!(
            "aggregate: {} of {} rows ({} channel) in {} unit × period cells → {}{}",
            r.rows_used,
            r.rows_read,
            r.channel,
            r.cells,
            self.out.1.display(),
            timing.summary()
        ));
        // `survey 120, phone 30`: rows per channel.
        let counts = |m: &std::collections::BTreeMap<String, usize>| {
            m.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if r.channels_used.len() > 1 {
            say(&format!(
                "aggregate: survey modes pooled (one sample): {}",
                counts(&r.channels_used)
            ));
        }
        if r.rows_excluded_channel > 0 {
            say(&format!(
                "aggregate: {} rows of other channels excluded (never pooled with {}): {}",
                r.rows_excluded_channel,
                r.channel,
                counts(&r.excluded_by_channel)
            ));
        }
        say(&format!("aggregate: {}", r.design));
        let no_pre = r
            .left_out
            .iter()
            .filter(|u| u.reason == sipas_aggregate::arms::LeftOut::NoPrePeriod)
            .count();
        if no_pre > 0 {
            say(&format!(
                "aggregate: {no_pre} units have no period before the pilot start ({}) and are left out of the pilot / baseline comparison (listed in methods.txt)",
                self.opts.pilots.start
            ));
        }
        no_pre
    }

    /// The pilot's evaluation (the DiD, TWFE and event study, the treatment rows after a
    /// crosswalk, then the staggered estimates), written, with the `methods.txt` it describes.
    fn evaluate_pilot(
        &self,
        no_pre: usize,
        phase: &mut dyn FnMut(&str),
    ) -> anyhow::Result<(sipas_aggregate::Evaluation, Methods)> {
        let (indices, opts, (out, shown)) = (self.indices, self.opts, self.out);
        let ev_opts = &self.settings.evaluation;
        let (panel, selection) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
        let ev = evaluate(&panel, opts.pilots.start, ev_opts).context("pilot evaluation failed")?;
        write_evaluation(&ev, Some(&selection), out)
            .with_context(|| format!("cannot write the evaluation to {}", shown.display()))?;
        phase("evaluated the pilot (DiD, TWFE, event study)");
        // methods.txt names the design and variance method of every SE.
        let mut methods = Methods::evaluation(&ev, &indices.report)
            .data(&indices.report)
            .left_out(&indices.report, opts.pilots.start);
        if let Some(ts) = &self.settings.treatment {
            treatment_rows(
                self.responses,
                &panel,
                ts,
                ev_opts,
                out,
                no_pre,
                &mut methods,
            )?;
        }
        // The staggered estimates take every wave, each from its own start (the 2×2 and TWFE
        // panel above is the first wave against the never-treated units).
        let (rollout_panel, _) = sipas_aggregate::panel::select_panel_for(
            &indices.cells,
            &opts.pilots,
            ev_opts.baseline,
            sipas_aggregate::arms::Comparison::AllWaves,
        );
        // The PAR total's panel is selected from its own cells by the same rule (a unit × period
        // without a complete set of criteria has no total).
        let par_panel = self
            .heads
            .par
            .as_ref()
            .and_then(|(def, _, total)| total.as_ref().map(|t| (def, t)))
            .map(|(def, t)| {
                let (p, _) = sipas_aggregate::panel::select_panel_for(
                    &t.cells,
                    &opts.pilots,
                    ev_opts.baseline,
                    sipas_aggregate::arms::Comparison::AllWaves,
                );
                (def.id.as_str(), p)
            });
        staggered(
            (
                &rollout_panel,
                par_panel.as_ref().map(|(id, p)| (*id, p.as_slice())),
            ),
            (indices, self.estimates),
            &opts.pilots,
            ev_opts.weighting,
            &self.settings.rollout,
            out,
            &mut methods,
        )
        .with_context(|| {
            format!(
                "cannot write the staggered evaluation to {}",
                shown.display()
            )
        })?;
        phase("staggered estimates");
        Ok((ev, methods))
    }
}

/// The headline indices other than the run's own, evaluated, and the commune PAR index.
pub(crate) struct Heads {
    rows: Vec<sipas_aggregate::headline::IndexEvaluation>,
    /// The PAR definition, its validated criteria and the total's aggregate (`None` when the
    /// instrument names the total among its indices but no criteria table was given).
    pub(crate) par: Option<(
        sipas_core::par::ParDefinition,
        sipas_aggregate::par::Criteria,
        Option<sipas_aggregate::Indices>,
    )>,
    /// The evaluation's seed, also the ranking's draws'.
    seed: u64,
}

/// Loads the criteria table (an instrument with `[par]`) and evaluates every headline index
/// but the run's own, each aggregated by `aggregate` (the engine's: the local engine aggregates
/// the responses again with the index as headline, Spark's re-roots the tables it returned);
/// `weights`: the Σ of survey weights per cell that pools the PAR total's groups (`None`: its
/// pooled groups have no value), and per code the responses carried (after a crosswalk: the
/// old communes the criteria table may name before the reorganisation).
pub(crate) fn other_indices(
    inst: &Instrument,
    aggregate: &mut dyn FnMut(&str) -> sipas_aggregate::Result<sipas_aggregate::Indices>,
    weights: Option<(
        sipas_aggregate::par::CellWeights,
        Option<sipas_aggregate::par::CodeWeights>,
    )>,
    (opts, ev_opts): (&AggregateOptions, &EvaluationOptions),
    criteria: Option<&Path>,
    headline: &sipas_aggregate::Indices,
) -> anyhow::Result<Heads> {
    use sipas_aggregate::headline::{ParInputs, evaluate_indices};
    use sipas_aggregate::par::Criteria;
    let par = match (inst.par(), criteria) {
        (Some(def), Some(path)) => {
            let codes = weights.as_ref().and_then(|w| w.1.as_ref());
            let mut c = Criteria::read(path, def, &opts.units, codes)
                .with_context(|| format!("cannot read the criteria table {}", path.display()))?;
            c.keep_cells(
                headline
                    .cells
                    .iter()
                    .map(|c| (c.unit_code.as_str(), c.period)),
            );
            Some((def.clone(), c))
        }
        (Some(def), None) => {
            say(&format!(
                "aggregate: the instrument defines {} but no criteria table is given (--criteria, [aggregate] criteria): only its survey part {} is estimated",
                def.id, def.survey_id
            ));
            None
        }
        (None, Some(path)) => anyhow::bail!(
            "a criteria table ({}) is given but the instrument {} has no [par] table",
            path.display(),
            inst.id
        ),
        (None, None) => None,
    };
    let weights = weights.map(|w| w.0).unwrap_or_default();
    let inputs = par.as_ref().map(|(def, c)| ParInputs {
        def,
        criteria: c,
        weights: &weights,
    });
    let mut why = Vec::new();
    let (rows, total) = evaluate_indices(inst, aggregate, opts, ev_opts, inputs.as_ref(), &mut why)
        .context("the headline indices' aggregation failed")?;
    for w in why {
        say(&format!("aggregate: {w}"));
    }
    Ok(Heads {
        rows,
        par: par.map(|(d, c)| (d, c, total)),
        seed: ev_opts.seed,
    })
}

impl Heads {
    /// Writes `indices.csv` (the run's headline first in the instrument's order), and the PAR
    /// ranking and quarantine (header only without a PAR index), says each index's result, and
    /// writes `methods` with the indices' paragraphs appended as the folder's `methods.txt`
    /// (`out`; `shown`: the folder as messages name it).
    pub(crate) fn write(
        &self,
        indices: &sipas_aggregate::Indices,
        inst: &Instrument,
        ev: Option<&sipas_aggregate::Evaluation>,
        (out, shown): (&Path, &Path),
        mut methods: Methods,
    ) -> anyhow::Result<()> {
        use sipas_aggregate::headline::{index_row, indices_csv, methods_text};
        use sipas_aggregate::twin::write_csv_and_twin;
        let mut rows = self.rows.clone();
        let head = inst.root();
        if let Some(pos) = inst.indices().iter().position(|i| i == head) {
            let g = inst.group(head).expect("the root is a group");
            let row = index_row(indices, (head, &g.name_vi, &g.name_en), ev, "survey");
            rows.insert(pos.min(rows.len()), row);
        }
        let err = |t: &sipas_core::results::Table| {
            format!("cannot write {}", shown.join(t.file).display())
        };
        write_csv_and_twin(out, &results::INDICES, indices_csv(&rows).as_bytes())
            .with_context(|| err(&results::INDICES))?;
        let (ranking, quarantine) = match &self.par {
            Some((_, c, total)) => (
                total.as_ref().map_or_else(
                    || results::PAR_RANKING.header::<&str>(&[]),
                    |t| {
                        sipas_aggregate::par::ranking_csv(&sipas_aggregate::par::ranking(
                            t,
                            sipas_aggregate::par::RANK_DRAWS,
                            self.seed,
                        ))
                    },
                ),
                c.quarantine_csv(),
            ),
            None => (
                results::PAR_RANKING.header::<&str>(&[]),
                results::PAR_QUARANTINE.header::<&str>(&[]),
            ),
        };
        write_csv_and_twin(out, &results::PAR_RANKING, ranking.as_bytes())
            .with_context(|| err(&results::PAR_RANKING))?;
        write_csv_and_twin(out, &results::PAR_QUARANTINE, quarantine.as_bytes())
            .with_context(|| err(&results::PAR_QUARANTINE))?;
        if let Some((def, c, _)) = &self.par {
            let counts: Vec<String> = c.counts().iter().map(|(k, v)| format!("{k} {v}")).collect();
            say(&format!(
                "aggregate: {}: criteria table {} rows = {} used + {} quarantined{}",
                def.id,
                c.rows_read,
                c.rows_used(),
                c.quarantine.len(),
                if counts.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({}), see {}",
                        counts.join(", "),
                        shown.join(results::PAR_QUARANTINE.file).display()
                    )
                }
            ));
        }
        let level = indices.report.level;
        let ci = |what: &str, e: Option<(f64, f64, f64)>| {
            e.map_or_else(
                || format!("no {what}"),
                |(e, lo, hi)| format!("{what} {e:.2} ({level} CI {lo:.2} to {hi:.2})"),
            )
        };
        for r in rows.iter().filter(|r| r.id != head) {
            let did = ci("DiD", r.did.as_ref().map(|d| (d.estimate, d.lo, d.hi)));
            let twfe = ci(
                "TWFE",
                r.twfe.as_ref().map(|t| (t.estimate, t.lo_cr1, t.hi_cr1)),
            );
            say(&format!(
                "aggregate: {} ({}, {}–{}): {did}; {twfe}{}",
                r.name_en,
                r.id,
                r.bounds.0,
                r.bounds.1,
                if r.uncertainty == "survey" {
                    String::new()
                } else {
                    format!(" [intervals: {}]", r.uncertainty)
                }
            ));
        }
        methods.push(&methods_text(
            &rows,
            self.par.as_ref().map(|(d, c, _)| (d, c)),
        ));
        methods.write(out).with_context(|| {
            format!(
                "cannot write {}",
                shown.join(results::METHODS.file).display()
            )
        })
    }
}

/// The staggered-rollout evaluation of SIPAS on the evaluation panel (every wave of the pilot
/// file; one wave works too), of every reported group on the same cells, and of the commune
/// PAR total on its own panel (`par_total`): Callaway–Sant'Anna group-time effects and their aggregations, the
/// TWFE figure and its Goodman-Bacon decomposition, written as `att_*.csv` and `bacon.csv` with
/// their explanation appended to `methods.txt`. Estimates that cannot be made (e.g. no
/// never-treated unit) are said, not fatal.
fn staggered(
    (panel, par_total): (
        &[sipas_aggregate::panel::PanelCell],
        Option<(&str, &[sipas_aggregate::panel::PanelCell])>,
    ),
    (indices, estimates): (&sipas_aggregate::Indices, &sipas_aggregate::DomainEstimates),
    pilots: &PilotSet,
    weighting: sipas_aggregate::Weighting,
    opts: &sipas_aggregate::rollout::RolloutOptions,
    out: &Path,
    methods: &mut Methods,
) -> anyhow::Result<()> {
    use sipas_aggregate::rollout::{IndexRollout, of_run, write_rollout};
    let mut run = match of_run(panel, indices, estimates, pilots, weighting, opts) {
        Ok(run) => run,
        Err(e) => {
            say(&format!(
                "aggregate: no staggered (Callaway–Sant'Anna) estimate: {e}"
            ));
            return Ok(());
        }
    };
    if let Some((id, p)) = par_total
        && let Err(e) = run.push(id, p, pilots, weighting, opts)
    {
        run.skipped.push((id.to_string(), e.to_string()));
    }
    for (id, why) in &run.skipped {
        say(&format!("aggregate: no staggered estimate of {id}: {why}"));
    }
    let label = |i: i64| {
        run.periods
            .get(&i)
            .map_or_else(|| i.to_string(), ToString::to_string)
    };
    let tables: Vec<IndexRollout<'_>> = run
        .indices
        .iter()
        .map(|(id, r, b)| IndexRollout {
            index: id,
            rollout: r,
            bacon: b.as_ref(),
        })
        .collect();
    let (r, b) = (&run.indices[0].1, run.indices[0].2.as_ref());
    write_rollout(out, &tables, &label)?;
    methods.staggered(r, b, &label);
    let waves = pilots.waves().len();
    let interval = r.simple.ci(opts.level).map_or_else(
        || "no SE".to_string(),
        |(lo, hi)| format!("{} CI {lo:.2} to {hi:.2}", opts.level),
    );
    let twfe = b.map_or_else(
        || "TWFE not decomposable".to_string(),
        |b| {
            format!(
                "TWFE {:.2} ({:.0}% of its weight on already-treated comparisons)",
                b.twfe,
                // `+ 0.0` writes a weight of −0 as 0.
                100.0 * b.forbidden_weight() + 0.0
            )
        },
    );
    say(&format!(
        "aggregate: staggered (Callaway–Sant'Anna, {waves} wave{}, comparison {}, base period {}): overall ATT {:.2} points, {interval}; {twfe}",
        if waves == 1 { "" } else { "s" },
        opts.control.as_str(),
        opts.base.as_str(),
        r.simple.att,
    ));
    Ok(())
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "n/a".to_string(),
        Some(v) if v < 0.001 => "< 0.001".to_string(),
        Some(v) => format!("= {v:.3}"),
    }
}

/// The TWFE DiD on today's units under the three treatment definitions
/// (`did_twfe.csv` rows with scope `treatment`) and their explanation in
/// `methods.txt`.
fn treatment_rows(
    responses: &sipas_aggregate::Responses,
    panel: &[sipas_aggregate::panel::PanelCell],
    ts: &TreatmentSource,
    ev_opts: &EvaluationOptions,
    out: &Path,
    no_pre: usize,
    methods: &mut Methods,
) -> anyhow::Result<()> {
    use sipas_aggregate::panel::{
        append_treatment_rows, intensity_from_population, intensity_from_responses, twfe_merged,
    };
    use sipas_core::history::period_start;
    let start_day = period_start(ts.pilots.start);
    // Pilots named by today's codes (start on or after the last step) cover their unit.
    let by_new_code = start_day >= ts.reorganisation.last_step;
    let before = |p: sipas_core::Period| period_start(p.offset(1)) <= ts.reorganisation.first_step;
    let is_pilot = |unit: &str, old: &str| {
        if by_new_code {
            ts.pilots.contains(unit)
        } else {
            ts.pilots.contains(old)
        }
    };
    let Some(by_responses) = intensity_from_responses(responses, before, is_pilot) else {
        return Ok(());
    };
    // One intensity for the DiD and treatment.csv: of population when given.
    let t = match &ts.population {
        None => by_responses.clone(),
        Some(pop) => intensity_from_population(responses, before, is_pilot, pop)
            .expect("the old_unit_code column is present")
            .context("cannot compute the treatment intensity from population")?,
    };
    let by_population = ts.population.is_some();
    let basis = if by_population {
        "population"
    } else {
        "responses"
    };
    let m = match twfe_merged(panel, &t, ts.pilots.start, ev_opts.weighting, ev_opts.level) {
        Ok(m) => m,
        Err(e) => {
            say(&format!("aggregate: no DiD on today's units ({e})"));
            return Ok(());
        }
    };
    append_treatment_rows(&m, by_population, out)
        .with_context(|| format!("cannot write the treatment rows to {}", out.display()))?;
    // Which old units make up each unit with a pilot commune, named.
    let mut csv = results::TREATMENT.header::<&str>(&[]);
    for u in t.values().filter(|u| u.contains_pilot()) {
        let olds: Vec<&str> = u.parts.keys().map(String::as_str).collect();
        let pilots: Vec<&str> = u
            .parts
            .iter()
            .filter(|(_, p)| **p)
            .map(|(o, _)| o.as_str())
            .collect();
        let names: Vec<&str> = olds
            .iter()
            .map(|o| {
                ts.reorganisation
                    .old_names
                    .get(*o)
                    .map_or("", String::as_str)
            })
            .collect();
        let responses_n = by_responses.get(&u.unit_code).map_or(0.0, |r| r.basis);
        let population = if by_population {
            format!("{}", u.basis)
        } else {
            String::new()
        };
        let _ = writeln!(
            csv,
            "{},{:.6},{},{},{},{},{},{},{}",
            u.unit_code,
            u.intensity,
            u.mixed(),
            olds.join("|"),
            pilots.join("|"),
            responses_n,
            basis,
            population,
            results::field(&names.join("|"))
        );
    }
    sipas_aggregate::twin::write_csv_and_twin(out, &results::TREATMENT, csv.as_bytes())
        .with_context(|| {
            format!(
                "cannot write {}",
                out.join(results::TREATMENT.file).display()
            )
        })?;
    let rows = m.summary(by_population, ev_opts.level);
    say(&format!(
        "aggregate: on today's units: {}; {} units without a period before the start left out, {} mixed units",
        rows.join("; "),
        no_pre,
        m.mixed.len()
    ));
    methods.treatment(&m, &t, by_population, no_pre, ev_opts.level);
    Ok(())
}
