//! Reads survey responses into the canonical response table, validating
//! every row and quarantining what it cannot use.
//!
//! `sipas ingest INPUT... --out DIR` is built on this crate: [`ingest`] reads
//! delimited text (any of `,` `;` tab; UTF-8, UTF-16, CP1258), Excel
//! workbooks, JSON / NDJSON and Parquet files (or folders of them), maps
//! their columns to the canonical layout ([`Mapping`] and built-in
//! Vietnamese / KoboToolbox / ODK rules),
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
//! - [`ingest_with`] takes [`ReadOptions`] too (delimiter, encoding, mapping).
//! - [`discover`] / [`detect_format`]: which files are read, and how
//!   ([`Format`], detected from content; others are [`Skipped`]).
//! - [`Reason`]: why a row was quarantined.
//!
//! # Canonical layout
//! A header row, then `response_id` (text, unique), `unit_code` (5-digit GSO
//! code, read as text so leading zeros stay), `period` (one granularity per
//! dataset), optional `submitted_at`, `channel` (empty ⇒ `survey`) and
//! `weight` (empty ⇒ 1), and one column per item id of the instrument (1–5,
//! or empty = missing). Columns may come in any order; other columns are
//! ignored and listed in the report, unless named in
//! [`IngestOptions::keep_columns`] (survey-design columns such as `village`),
//! which are kept as nullable text columns after `source_line`. A missing `response_id` / `unit_code` /
//! `period` column or a missing item column is an error for the whole file.
//! Text is trimmed and NFC-normalised. The unit may be a code or a name and
//! is kept as given (an optional `district` column is passed through): the
//! cleaning stage matches names.
//!
//! # Quarantine reasons
//! Checks run in this order; a row's reason is its first failing check:
//! - `malformed_row`: wrong number of fields, unparsable record, or a text
//!   field that is not UTF-8.
//! - `missing_response_id`: empty `response_id`.
//! - `duplicate_response_id`: the id was already accepted earlier in input
//!   order (files in the order given, rows in file order); the detail names
//!   the first occurrence's file and line.
//! - `missing_unit`: the unit is empty.
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
mod excel;
mod input;
mod json;
mod layout;
mod mapping;
mod merge;
mod output;
mod reason;
mod report;
mod table;
mod validate;

#[cfg(feature = "http")]
pub mod sources;

use std::collections::BTreeSet;
use std::path::PathBuf;

use polars::prelude::DataFrame;
use rayon::prelude::*;
use sipas_core::{Instrument, UnitRegistry};

pub use error::{Error, Result};
pub use input::{Discovery, Format, InputFile, Skipped, detect_format, discover};
pub use mapping::{Mapping, PeriodFromDate};
pub use output::{QUARANTINE_FILE, REPORT_FILE, RESPONSES_FILE, write_outputs};
pub use reason::Reason;
pub use report::{IngestReport, InputReport, QuarantinedRow, ReasonCounts, Totals};
pub use table::{DISTRICT, responses_schema, responses_schema_kept, responses_schema_with};

use input::Loaded;
use layout::Layout;
use mapping::Resolver;
use validate::{Ctx, FileValidator};

/// What [`ingest`] needs besides the inputs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The instrument; `None` detects it from the first input's header.
    pub instrument: Option<Instrument>,
    /// The unit registry: units are kept as given (code or name), and
    /// accepted rows whose unit is not one of its codes are counted in
    /// [`IngestReport::rows_unit_not_in_registry`] (clean matches them).
    pub units: UnitRegistry,
    /// Extra source columns to keep (default none): survey-design columns
    /// such as a cluster (`village`, `interviewer`), custom strata or an
    /// fpc. Each is written to `responses.parquet` as a nullable `String`
    /// column after `source_line`, in this order, under the name given
    /// (NFC, trimmed); values are NFC and trimmed, empty ⇒ null (an fpc stays
    /// text here: aggregate parses it).
    ///
    /// Per input, a column is found (after the mapping: a mapping-file entry
    /// `"Thôn" = "village"` names it) by exact name among the columns not
    /// used for a canonical field or an item, else by
    /// [`sipas_core::text::match_key`], else by the last segment of a group
    /// path (`grp/village`). An input lacking it gets nulls and lists it in
    /// [`InputReport::missing_kept_columns`]. Names of canonical columns
    /// (`response_id` … `source_line`) and item ids are already in the table
    /// and are not added again, except that `district` makes the district
    /// column present even when no input has one; repeated names count once.
    pub keep_columns: Vec<String>,
}

impl Default for IngestOptions {
    /// Instrument detected, the bundled Thái Nguyên units.
    fn default() -> Self {
        IngestOptions {
            instrument: None,
            units: sipas_core::bundled::units(),
            keep_columns: Vec::new(),
        }
    }
}

/// How files are read (see [`ingest_with`]); the default sniffs everything.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Field delimiter of delimited text (`b','`, `b';'`, `b'\t'`); `None`
    /// sniffs it from the header line.
    pub delimiter: Option<u8>,
    /// Encoding label of text files without a BOM (`utf-8`, `windows-1258`,
    /// `utf-16le`…); `None`: UTF-8 when valid, else CP1258.
    pub encoding: Option<String>,
    /// Column and answer-label mapping; the built-in rules apply without it.
    pub mapping: Option<Mapping>,
}

/// The result of [`ingest`]: accepted rows, quarantined rows and counts.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The instrument the rows were read with.
    pub instrument: Instrument,
    /// The canonical response table ([`responses_schema_with`]), sorted by
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

/// One source (a file, or a sheet of a workbook) loaded in memory.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) file: InputFile,
    pub(crate) loaded: Loaded,
    /// Index of the header record; records after it are data.
    pub(crate) header: usize,
    /// Line of the header record.
    pub(crate) header_line: u64,
    /// The header's cleaned names.
    pub(crate) names: Vec<String>,
}

/// The kept columns that are not canonical columns or items (NFC, trimmed,
/// once each, in order), and whether `district` was asked for.
fn keep_list(asked: &[String], instrument: &Instrument) -> Result<(Vec<String>, bool)> {
    let canonical: Vec<&str> = sipas_core::schema::LEADING
        .into_iter()
        .chain(sipas_core::schema::PROVENANCE)
        .collect();
    let items = instrument.item_ids();
    let mut keep: Vec<String> = Vec::with_capacity(asked.len());
    let mut district = false;
    for name in asked {
        let name = sipas_core::text::nfc(name.trim());
        if name.is_empty() {
            return Err(Error::KeepColumn {
                column: name,
                message: "the name is empty".into(),
            });
        }
        if name == DISTRICT {
            district = true;
        } else if !canonical.contains(&name.as_str())
            && !items.contains(&name.as_str())
            && !keep.contains(&name)
        {
            keep.push(name);
        }
    }
    Ok((keep, district))
}

/// [`ingest_with`] with the default [`ReadOptions`].
pub fn ingest(inputs: &[PathBuf], opts: &IngestOptions) -> Result<Ingested> {
    ingest_with(inputs, opts, &ReadOptions::default())
}

/// Loads a file (every sheet of a workbook) and finds each source's header;
/// sources without one are skipped.
fn load_file(
    file: &InputFile,
    text: input::TextOpts,
    resolver: &Resolver,
) -> Result<Vec<std::result::Result<Source, Skipped>>> {
    let loaded: Vec<(InputFile, Loaded)> = match file.format {
        Format::Xlsx | Format::Xls => excel::load_all(file)?,
        _ => vec![(file.clone(), input::load(file, text)?)],
    };
    loaded
        .into_iter()
        .map(|(file, loaded)| {
            let found = layout::find_header(&loaded, &file.path, resolver)?;
            let Some((header, names)) = found else {
                return Ok(Err(Skipped {
                    file: file.name(),
                    reason: "no header row naming a response id, a unit and a period".into(),
                }));
            };
            let mut header_line = 0;
            loaded.scan(&file.path, &mut |i, line, _| {
                if i == header {
                    header_line = line;
                }
                i < header
            })?;
            Ok(Ok(Source {
                file,
                loaded,
                header,
                header_line,
                names,
            }))
        })
        .collect()
}

/// Reads and validates the inputs (files or folders, see [`discover`]).
/// Files are parsed in parallel; results are merged in input order, so the
/// outcome does not depend on the number of threads.
pub fn ingest_with(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    read: &ReadOptions,
) -> Result<Ingested> {
    let found = discover(inputs)?;
    let encoding = read
        .encoding
        .as_deref()
        .map(|label| {
            encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                Error::UnknownEncoding {
                    label: label.to_string(),
                }
            })
        })
        .transpose()?;
    let text = input::TextOpts {
        delimiter: read.delimiter,
        encoding,
    };
    let resolver = Resolver::new(&read.mapping.clone().unwrap_or_default());
    let loaded: Vec<Vec<std::result::Result<Source, Skipped>>> = found
        .files
        .par_iter()
        .map(|f| load_file(f, text, &resolver))
        .collect::<Result<_>>()?;
    let mut skipped = found.skipped;
    let mut sources = Vec::new();
    for r in loaded.into_iter().flatten() {
        match r {
            Ok(s) => sources.push(s),
            Err(s) => skipped.push(s),
        }
    }
    let Some(first) = sources.first() else {
        return Err(Error::NoInputs);
    };
    let instrument = if let Some(i) = &opts.instrument {
        i.clone()
    } else {
        let path = PathBuf::from(first.file.name());
        layout::detect_instrument(&path, &first.names, &resolver)?
    };
    let (keep, force_district) = keep_list(&opts.keep_columns, &instrument)?;
    let ctx = Ctx::new(&instrument, &resolver);
    let per_file: Vec<(Layout, validate::Parsed)> = sources
        .par_iter()
        .map(|s| {
            let path = PathBuf::from(s.file.name());
            let layout = Layout::map(&path, &s.names, &instrument, &resolver, &keep)?;
            let mut v = FileValidator::new(&ctx, &layout);
            s.loaded.scan(&s.file.path, &mut |i, line, row| {
                if i > s.header {
                    v.row(line, row);
                }
                true
            })?;
            let parsed = v.finish();
            Ok((layout, parsed))
        })
        .collect::<Result<_>>()?;
    let (layouts, parsed): (Vec<Layout>, Vec<validate::Parsed>) = per_file.into_iter().unzip();

    let mut merged = merge::merge(&sources, &parsed)?;
    for (input, layout) in merged.inputs.iter_mut().zip(&layouts) {
        input.missing_kept_columns.clone_from(&layout.missing_kept);
    }
    table::sort_accepted(&parsed, &mut merged.accepted);
    let file_names: Vec<String> = sources.iter().map(|s| s.file.name()).collect();
    let with_district = force_district || layouts.iter().any(|l| l.district.is_some());
    let responses = table::build(
        &ctx,
        &file_names,
        &parsed,
        &merged.accepted,
        with_district,
        &keep,
    )
    .map_err(|source| Error::Polars {
        path: sources[0].file.path.clone(),
        source,
    })?;
    let (periods, units) = merge::periods_and_units(&parsed, &merged.accepted);
    let rows_unit_not_in_registry = merged
        .accepted
        .iter()
        .filter(|&&(f, k)| {
            !opts
                .units
                .contains(parsed[f as usize].cand.unit(k as usize))
        })
        .count() as u64;
    let ignored: BTreeSet<&String> = layouts.iter().flat_map(|l| &l.ignored).collect();
    let report = IngestReport {
        instrument: instrument.id.clone(),
        granularity: merged
            .granularity
            .map(|g| merge::granularity_name(g).to_string()),
        inputs: merged.inputs,
        totals: merged.totals,
        ignored_columns: ignored.into_iter().cloned().collect(),
        kept_columns: keep,
        skipped,
        rows_unit_not_in_registry,
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
