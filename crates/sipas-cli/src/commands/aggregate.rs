//! `sipas aggregate`: responses.parquet → result tables.

use std::path::Path;

use anyhow::Context;
use sipas_aggregate::{AggregateOptions, aggregate, read_responses, write_results};
use sipas_core::{Instrument, PilotSet, UnitRegistry};

use crate::ExitStatus;
use crate::args::AggregateArgs;
use crate::commands::say;
use crate::resolve;

pub(crate) fn run(a: &AggregateArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    run_aggregate(
        &a.data,
        instrument.as_ref(),
        units,
        pilots,
        &a.channel,
        &a.out,
    )
}

pub(crate) fn run_aggregate(
    data: &Path,
    instrument: Option<&Instrument>,
    units: UnitRegistry,
    pilots: PilotSet,
    channel: &str,
    out: &Path,
) -> anyhow::Result<ExitStatus> {
    let path = data.join("responses.parquet");
    let responses = read_responses(&path, instrument)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut opts = AggregateOptions::new(units, pilots);
    opts.channel = channel.to_string();
    let indices = aggregate(&responses, &opts).context("aggregation failed")?;
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
    let d = &indices.did;
    say(&format!(
        "aggregate: difference-in-differences of SIPAS, pilot vs baseline from {}: {:.2} points (SE {:.2}, 95% CI {:.2} to {:.2})",
        d.pilot_start, d.estimate, d.se, d.lo, d.hi
    ));
    Ok(ExitStatus::Success)
}
