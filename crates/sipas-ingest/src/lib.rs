//! Reads survey responses into the canonical response table, validating
//! every row and quarantining what it cannot use.
//!
//! `sipas ingest INPUT... --out DIR` is built on this crate: [`ingest`] reads
//! CSV and Parquet files (or folders of them) in the canonical layout,
//! validates each row, and [`write_outputs`] writes `DIR/responses.parquet`,
//! `DIR/quarantine.csv` and `DIR/ingest-report.json`. Every row read ends up
//! either accepted or quarantined, and the counts reconcile
//! (`rows_read = accepted + quarantined`, per input and in total).
//!
//! # Overview
//! - [`ingest`] with [`IngestOptions`] (instrument, unit registry) returns an
//!   [`Ingested`]: the response table ([`Ingested::responses`], schema
//!   [`responses_schema`]), the [`QuarantinedRow`]s and the [`IngestReport`].
//! - [`write_outputs`] writes the three files atomically, byte-reproducibly.
//! - [`discover`] / [`detect_format`]: which files are read, and how
//!   ([`Format`]: Parquet is recognised by its `PAR1` magic bytes).
//! - [`Reason`]: why a row was quarantined.
//!
//! # Canonical layout
//! A header row, then `response_id` (text, unique), `unit_code` (5-digit GSO
//! code, read as text so leading zeros stay), `period` (one granularity per
//! dataset), optional `submitted_at`, `channel` (empty ⇒ `survey`) and
//! `weight` (empty ⇒ 1), and one column per item id of the instrument (1–5,
//! or empty = missing). Columns may come in any order; other columns are
//! ignored and listed in the report. A missing `response_id` / `unit_code` /
//! `period` column or a missing item column is an error for the whole file.
//! Text is trimmed and NFC-normalised. CSV must be UTF-8 (a BOM is stripped).
//!
//! # Quarantine reasons
//! Checks run in this order; a row's reason is its first failing check:
//! - `malformed_row`: wrong number of fields, unparsable record, or a text
//!   field that is not UTF-8.
//! - `missing_response_id`: empty `response_id`.
//! - `duplicate_response_id`: the id was already accepted earlier in input
//!   order (files in the order given, rows in file order); the detail names
//!   the first occurrence's file and line.
//! - `unknown_unit`: `unit_code` is not in the unit registry.
//! - `invalid_period`: `period` does not parse as a [`sipas_core::Period`].
//! - `mixed_granularity`: the period's granularity differs from that of the
//!   first accepted row.
//! - `invalid_answer`: an item value that is not empty, not an integer of the
//!   scale (`4`, ` 4 `, `4.0`) and not one of its missing codes (`9`, `99`,
//!   read as missing and counted as `missing_code_answers`).
//! - `invalid_weight`: `weight` present but not a finite number > 0.
//!
//! # Example
//! ```no_run
//! use std::path::{Path, PathBuf};
//! let opts = sipas_ingest::IngestOptions::default();
//! let ingested = sipas_ingest::ingest(&[PathBuf::from("responses/")], &opts)?;
//! let report = sipas_ingest::write_outputs(&ingested, Path::new("out"))?;
//! if report.totals.quarantined > 0 { /* exit code 1 in the CLI */ }
//! # Ok::<(), sipas_ingest::Error>(())
//! ```

#![warn(missing_docs)]

mod error;
mod input;
mod layout;
mod merge;
mod output;
mod reason;
mod report;
mod table;
mod validate;

use std::collections::BTreeSet;
use std::path::PathBuf;

use polars::prelude::DataFrame;
use rayon::prelude::*;
use sipas_core::{Instrument, UnitRegistry};

pub use error::{Error, Result};
pub use input::{Format, InputFile, detect_format, discover};
pub use output::{QUARANTINE_FILE, REPORT_FILE, RESPONSES_FILE, write_outputs};
pub use reason::Reason;
pub use report::{IngestReport, InputReport, QuarantinedRow, ReasonCounts, Totals};
pub use table::responses_schema;

use layout::Layout;
use validate::{Ctx, FileValidator};

/// What [`ingest`] needs besides the inputs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The instrument; `None` detects it from the first input's header.
    pub instrument: Option<Instrument>,
    /// The units a `unit_code` must belong to.
    pub units: UnitRegistry,
}

impl Default for IngestOptions {
    /// Instrument detected, the bundled Thái Nguyên units.
    fn default() -> Self {
        IngestOptions {
            instrument: None,
            units: sipas_core::bundled::units(),
        }
    }
}

/// The result of [`ingest`]: accepted rows, quarantined rows and counts.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The instrument the rows were read with.
    pub instrument: Instrument,
    /// The canonical response table ([`responses_schema`]), sorted by
    /// (period, unit_code, response_id).
    pub responses: DataFrame,
    /// Quarantined rows in input order.
    pub quarantine: Vec<QuarantinedRow>,
    /// Counts, as written to `ingest-report.json`.
    pub report: IngestReport,
}

impl Ingested {
    /// Rows accepted.
    pub fn accepted(&self) -> u64 {
        self.report.totals.accepted
    }

    /// Rows quarantined (the CLI exits 1 when this is not 0).
    pub fn quarantined(&self) -> u64 {
        self.report.totals.quarantined
    }
}

/// Reads and validates the inputs (files or folders, see [`discover`]).
/// Files are parsed in parallel; results are merged in input order, so the
/// outcome does not depend on the number of threads.
pub fn ingest(inputs: &[PathBuf], opts: &IngestOptions) -> Result<Ingested> {
    let files = discover(inputs)?;
    let instrument = if let Some(i) = &opts.instrument {
        i.clone()
    } else {
        let header = input::read_header(&files[0])?;
        layout::detect_instrument(&files[0].path, &header)?
    };
    let ctx = Ctx::new(&instrument, &opts.units);
    let per_file: Vec<(Layout, validate::Parsed)> = files
        .par_iter()
        .map(|f| {
            let header = input::read_header(f)?;
            let layout = Layout::canonical(&f.path, &header, &instrument)?;
            let mut v = FileValidator::new(&ctx, &layout);
            input::scan_records(f, &mut |line, row| v.row(line, row))?;
            let parsed = v.finish();
            Ok((layout, parsed))
        })
        .collect::<Result<_>>()?;
    let (layouts, parsed): (Vec<Layout>, Vec<validate::Parsed>) = per_file.into_iter().unzip();

    let mut merged = merge::merge(&files, &parsed)?;
    table::sort_accepted(&parsed, &mut merged.accepted);
    let file_names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    let responses =
        table::build(&ctx, &file_names, &parsed, &merged.accepted).map_err(|source| {
            Error::Polars {
                path: files[0].path.clone(),
                source,
            }
        })?;
    let (periods, units) = merge::periods_and_units(&parsed, &merged.accepted);
    let ignored: BTreeSet<&String> = layouts.iter().flat_map(|l| &l.ignored).collect();
    let report = IngestReport {
        instrument: instrument.id.clone(),
        granularity: merged
            .granularity
            .map(|g| merge::granularity_name(g).to_string()),
        inputs: merged.inputs,
        totals: merged.totals,
        ignored_columns: ignored.into_iter().cloned().collect(),
        periods,
        units,
    };
    report.check_counts()?;
    Ok(Ingested {
        instrument,
        responses,
        quarantine: merged.quarantine,
        report,
    })
}
