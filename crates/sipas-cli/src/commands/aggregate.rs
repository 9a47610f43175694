//! `sipas aggregate`: the response table (responses.parquet or responses/) → result tables.

use std::path::Path;

use anyhow::Context;
use sipas_aggregate::{
    AggregateOptions, DesignSpec, EvaluationOptions, aggregate_with_design, evaluate, methods_text,
    read_responses_with, select_panel, write_estimates, write_evaluation, write_results,
};
use sipas_core::{Instrument, PilotSet, UnitRegistry};

use crate::ExitStatus;
use crate::args::{AggregateArgs, EvaluationArgs};
use crate::commands::say;
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
    run_aggregate(
        &a.data,
        &Settings {
            instrument: instrument.as_ref(),
            units,
            pilots,
            channel: &a.channel,
            design: &design,
            evaluation: &a.evaluation,
        },
        &a.out,
    )
}

/// What aggregate needs besides its input and output folders.
pub(crate) struct Settings<'a> {
    pub(crate) instrument: Option<&'a Instrument>,
    pub(crate) units: UnitRegistry,
    pub(crate) pilots: PilotSet,
    pub(crate) channel: &'a str,
    pub(crate) design: &'a DesignSpec,
    pub(crate) evaluation: &'a EvaluationArgs,
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
) -> anyhow::Result<ExitStatus> {
    let Settings {
        instrument,
        units,
        pilots,
        channel,
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
    // The design is resolved once: every SE and interval of every table
    // (unit_period, groups, items, did, estimates) comes from it.
    let (indices, estimates) =
        aggregate_with_design(&responses, &opts, design).context("aggregation failed")?;
    write_results(&indices, out)
        .with_context(|| format!("cannot write results to {}", out.display()))?;
    let r = &indices.report;
    say(&format!(
        "aggregate: {} of {} rows ({} channel) in {} unit × period cells → {}",
        r.rows_used,
        r.rows_read,
        r.channel,
        r.cells,
        out.display()
    ));
    if r.rows_excluded_channel > 0 {
        say(&format!(
            "aggregate: {} rows of other channels excluded (never pooled with {})",
            r.rows_excluded_channel, r.channel
        ));
    }
    say(&format!("aggregate: {}", indices.report.design));
    write_estimates(&estimates, out)
        .with_context(|| format!("cannot write estimates to {}", out.display()))?;
    let Some(d) = &indices.did else {
        let reason = r
            .did_unavailable
            .as_deref()
            .unwrap_or("no difference-in-differences");
        say(&format!(
            "aggregate: no pilot evaluation ({reason}); unit, item and group tables are written"
        ));
        // Never leave an earlier run's evaluation beside these tables.
        for f in sipas_aggregate::panel::EVALUATION_FILES
            .iter()
            .copied()
            .chain(["methods.txt"])
        {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove stale {}", p.display()))?;
            }
        }
        return Ok(ExitStatus::Success);
    };
    say(&format!(
        "aggregate: difference-in-differences of SIPAS, pilot vs baseline from {}: {:.2} points (SE {:.2}, 95% CI {:.2} to {:.2})",
        d.pilot_start, d.estimate, d.se, d.lo, d.hi
    ));
    let (panel, selection) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
    let ev = evaluate(&panel, opts.pilots.start, &ev_opts).context("pilot evaluation failed")?;
    write_evaluation(&ev, Some(&selection), out)
        .with_context(|| format!("cannot write the evaluation to {}", out.display()))?;
    // methods.txt names the design and variance method of every SE.
    let methods = format!(
        "{}\n\n{}\n",
        methods_text(&ev).trim_end(),
        indices.report.design
    );
    sipas_core::atomic::write_bytes(&out.join("methods.txt"), methods.as_bytes())
        .with_context(|| format!("cannot write {}", out.join("methods.txt").display()))?;
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
    Ok(ExitStatus::Success)
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
