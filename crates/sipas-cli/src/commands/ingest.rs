//! `sipas ingest`: files → responses.parquet + quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, UnitRegistry};
use sipas_ingest::{IngestOptions, ingest};

use crate::ExitStatus;
use crate::args::IngestArgs;
use crate::commands::say;
use crate::resolve;

pub(crate) fn run(a: &IngestArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument_opt(a.domain.instrument.as_deref())?;
    let units = resolve::units(a.domain.units.as_deref())?;
    run_ingest(&a.inputs, instrument, units, &a.out)
}

pub(crate) fn run_ingest(
    inputs: &[PathBuf],
    instrument: Option<Instrument>,
    units: UnitRegistry,
    out: &Path,
) -> anyhow::Result<ExitStatus> {
    let opts = IngestOptions { instrument, units };
    let ingested = ingest(inputs, &opts).context("ingest failed")?;
    let report = sipas_ingest::write_outputs(&ingested, out)
        .with_context(|| format!("cannot write ingest outputs to {}", out.display()))?;
    let t = &report.totals;
    say(&format!(
        "ingest: {} rows read = {} accepted + {} quarantined ({}) → {}",
        t.rows_read,
        t.accepted,
        t.quarantined,
        ingested.instrument.id,
        out.display()
    ));
    if ingested.quarantined() > 0 {
        say(&format!(
            "ingest: {} rows quarantined, see {}",
            ingested.quarantined(),
            out.join(sipas_ingest::QUARANTINE_FILE).display()
        ));
        return Ok(ExitStatus::DataProblems);
    }
    Ok(ExitStatus::Success)
}
