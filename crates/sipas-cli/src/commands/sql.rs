//! `sipas sql`: the aggregation as one SQL query (Spark SQL or DuckDB) for the
//! instrument, channel and design of a job, printed to stdout.

use std::path::Path;

use anyhow::{Context, bail};
use sipas_aggregate::sql::{self, Dialect, SqlOutput, SqlSpec};
use sipas_aggregate::{AggregateOptions, DesignSpec};
use sipas_core::{Instrument, schema};

use crate::ExitStatus;
use crate::args::SqlArgs;
use crate::resolve;

/// Reads a `[design]` TOML file (the default design when `None`).
pub(crate) fn design(path: Option<&Path>) -> anyhow::Result<DesignSpec> {
    match path {
        None => Ok(DesignSpec::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read design file {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid design file {}", path.display()))
        }
    }
}

/// What the table at `table` holds, read from its schema when it is a local
/// Parquet table: (instrument, has `channel`, has the weight column, has `old_unit_code`).
pub(crate) fn table_facts(
    table: &Path,
    instrument: Option<Instrument>,
    design: &DesignSpec,
) -> anyhow::Result<(Instrument, bool, bool, bool)> {
    match sipas_dataset::Dataset::open(table) {
        Ok(d) => {
            let cols = d.column_names();
            let inst = match instrument {
                Some(i) => i,
                None => sipas_core::bundled::detect_instrument(&cols).with_context(|| {
                    format!(
                        "cannot recognise the instrument from the columns of {}: give --instrument",
                        table.display()
                    )
                })?,
            };
            if let Some(missing) = inst.item_ids().into_iter().find(|i| !d.has_column(i)) {
                bail!(
                    "{}: no column `{missing}` of instrument {}",
                    table.display(),
                    inst.id
                );
            }
            Ok((
                inst,
                d.has_column(schema::CHANNEL),
                d.has_column(&design.weights),
                d.has_column(schema::OLD_UNIT_CODE),
            ))
        }
        // A table this machine cannot open (on a cluster's storage): the
        // ingest schema is assumed (channel and weight columns present).
        Err(e) => match instrument {
            Some(i) => Ok((i, true, true, false)),
            None => Err(anyhow::Error::new(e).context(format!(
                "cannot open {} to recognise the instrument: give --instrument",
                table.display()
            ))),
        },
    }
}

pub(crate) fn run(a: &SqlArgs) -> anyhow::Result<ExitStatus> {
    let dialect = Dialect::parse(&a.dialect).context("--dialect is spark or duckdb")?;
    let output =
        SqlOutput::parse(&a.output).context("--output is unit_period, groups or estimates")?;
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    let design = design(a.design.as_deref())?;
    let (instrument, has_channel, has_weight, has_old_unit_code) =
        table_facts(&a.table, instrument, &design)?;
    let mut opts = AggregateOptions::new(units, pilots);
    opts.channel.clone_from(&a.channels.channel);
    opts.channels = a.channels.classes()?;
    let spec = SqlSpec {
        instrument: &instrument,
        opts: &opts,
        design: &design,
        table: sql::table_expression(dialect, &a.table),
        has_channel,
        has_weight,
        has_old_unit_code,
    };
    let text = sql::sql(&spec, dialect, output)?;
    print!("{text}");
    Ok(ExitStatus::Success)
}
