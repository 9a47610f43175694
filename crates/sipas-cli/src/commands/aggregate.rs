//! `sipas aggregate`: the response table (responses.parquet or responses/) → result tables.

use std::path::Path;

use anyhow::Context;
use sipas_aggregate::{
    AggregateOptions, ChannelClasses, DesignSpec, EvaluationOptions, aggregate, estimate_domains,
    evaluate, methods_text, read_responses_with, select_panel, write_estimates, write_evaluation,
    write_results,
};
use sipas_core::{Instrument, PilotSet, UnitRegistry};

use crate::ExitStatus;
use crate::args::{AggregateArgs, EvaluationArgs};
use crate::commands::{Done, say};
use crate::manifest::Recorder;
use crate::resolve;

pub(crate) fn run(a: &AggregateArgs) -> anyhow::Result<ExitStatus> {
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
    let rec = Recorder::start();
    super::check_input(&a.data, "clean")?;
    let staging = super::begin("aggregate", &a.out, &[&a.data], &rec)?;
    let done = run_aggregate(
        &a.data,
        &Settings {
            instrument: instrument.as_ref(),
            units,
            pilots,
            channel: &a.channel,
            channels: channel_classes(a.survey_modes.as_deref(), a.rating_channels.as_deref())?,
            design: &design,
            evaluation: &a.evaluation,
        },
        staging.path(),
        &a.out,
    )?;
    let inputs = [super::input(&a.data)];
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
    pub(crate) evaluation: &'a EvaluationArgs,
}

/// Channel classes from the CLI / job lists (`None`: the bundled list).
pub(crate) fn channel_classes(
    survey_modes: Option<&[String]>,
    rating_channels: Option<&[String]>,
) -> anyhow::Result<ChannelClasses> {
    ChannelClasses::new(survey_modes, rating_channels).context("invalid channel classes")
}

/// The library's evaluation options from the CLI / job settings.
fn evaluation_options(e: &EvaluationArgs) -> anyhow::Result<EvaluationOptions> {
    let value = serde_json::json!({
        "baseline": e.baseline,
        "weighting": e.weighting,
        "bootstrap_weights": e.bootstrap_weights,
        "replicates": e.replicates,
        "seed": e.seed,
    });
    serde_json::from_value(value).context("invalid [evaluation] settings")
}

pub(crate) fn run_aggregate(
    data: &Path,
    s: &Settings<'_>,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<Done> {
    let started = std::time::Instant::now();
    let Settings {
        instrument,
        units,
        pilots,
        channel,
        channels,
        design,
        evaluation,
    } = s;
    let instrument = *instrument;
    let ev_opts = evaluation_options(evaluation)?;
    // `data` holds responses.parquet or responses/ (partitioned by period).
    let responses = read_responses_with(data, instrument, &design.columns())
        .with_context(|| format!("cannot read the response table in {}", data.display()))?;
    let mut opts = AggregateOptions::new(units.clone(), pilots.clone());
    opts.channel = (*channel).to_string();
    opts.channels = channels.clone();
    let indices = aggregate(&responses, &opts).context("aggregation failed")?;
    write_results(&indices, out)
        .with_context(|| format!("cannot write results to {}", shown.display()))?;
    let r = &indices.report;
    let rows = [
        ("rows_read", r.rows_read as u64),
        ("rows_used", r.rows_used as u64),
        ("cells", r.cells as u64),
    ];
    say(&format!(
        "aggregate: {} of {} rows ({} channel) in {} unit × period cells → {}{}",
        r.rows_used,
        r.rows_read,
        r.channel,
        r.cells,
        shown.display(),
        crate::logging::rate(started, r.rows_read as u64)
    ));
    if r.channels_used.len() > 1 {
        let modes: Vec<String> = r
            .channels_used
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        say(&format!(
            "aggregate: survey modes pooled (one sample): {}",
            modes.join(", ")
        ));
    }
    if r.rows_excluded_channel > 0 {
        let other: Vec<String> = r
            .excluded_by_channel
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        say(&format!(
            "aggregate: {} rows of other channels excluded (never pooled with {}): {}",
            r.rows_excluded_channel,
            r.channel,
            other.join(", ")
        ));
    }
    let estimates =
        estimate_domains(&responses, &opts, design).context("design-based estimation failed")?;
    write_estimates(&estimates, out)
        .with_context(|| format!("cannot write estimates to {}", shown.display()))?;
    let Some(d) = &indices.did else {
        let reason = r
            .did_unavailable
            .as_deref()
            .unwrap_or("no difference-in-differences");
        say(&format!(
            "aggregate: no pilot evaluation ({reason}); unit, item and group tables are written"
        ));
        // The folder is written whole (staged): no earlier run's evaluation can remain beside
        // these tables.
        return Ok(Done::new(ExitStatus::Success, &rows));
    };
    say(&format!(
        "aggregate: difference-in-differences of SIPAS, pilot vs baseline from {}: {:.2} points (SE {:.2}, 95% CI {:.2} to {:.2})",
        d.pilot_start, d.estimate, d.se, d.lo, d.hi
    ));
    let (panel, selection) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
    let ev = evaluate(&panel, opts.pilots.start, &ev_opts).context("pilot evaluation failed")?;
    write_evaluation(&ev, Some(&selection), out)
        .with_context(|| format!("cannot write the evaluation to {}", shown.display()))?;
    let methods = format!(
        "{}\n{}",
        methods_text(&ev),
        sipas_aggregate::channels::data_methods_text(&indices.report)
    );
    sipas_core::atomic::write_bytes(&out.join("methods.txt"), methods.as_bytes())
        .with_context(|| format!("cannot write {}", shown.join("methods.txt").display()))?;
    let o = &ev.overall;
    say(&format!(
        "aggregate: two-way fixed effects, {} pilot and {} baseline units: {:.2} points, clustered 95% CI {:.2} to {:.2}; wild cluster bootstrap p {}, 95% CI {} to {}",
        o.n_treated,
        o.n_clusters - o.n_treated,
        o.estimate,
        o.lo_cr1,
        o.hi_cr1,
        fmt_p(o.wild.as_ref().map(|w| w.p)),
        fmt_opt(o.wild.as_ref().and_then(|w| w.lo)),
        fmt_opt(o.wild.as_ref().and_then(|w| w.hi))
    ));
    Ok(Done::new(ExitStatus::Success, &rows))
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
