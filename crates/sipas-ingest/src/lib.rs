//! Reads survey responses into the canonical response table, validating
//! every row and quarantining what it cannot use.
//!
//! `sipas ingest INPUT... --out DIR` is built on this crate: [`ingest`] reads
//! delimited text (any of `,` `;` tab `|`; UTF-8, UTF-16, or an encoding
//! named or detected: [`ReadOptions::encoding`]), Excel
//! workbooks, JSON / NDJSON, saved KoboToolbox / ODK Central API pages, ODK's
//! CSV zip and Parquet files (or folders of them), maps
//! their columns to the canonical layout ([`Mapping`] and built-in
//! Vietnamese / KoboToolbox / ODK rules),
//! validates each row, and [`write_outputs`] writes `DIR/responses.parquet`,
//! `DIR/quarantine.csv` and `DIR/ingest-report.json`. Every row read ends up
//! either accepted or quarantined, and the counts reconcile
//! (`rows_read = accepted + quarantined`, per input and in total).
//!
//! # Overview
//! - [`ingest_to`] reads the inputs in chunks and writes the three outputs
//!   into a folder, the table in either [`TableLayout`] (`responses.parquet`
//!   or `responses/period=P/…`), in bounded memory ([`WriteOptions`]: layout,
//!   chunk size; see "Memory" below).
//! - [`ingest`] with [`IngestOptions`] (instrument, unit registry) returns an
//!   [`Ingested`]: the response table ([`Ingested::responses`], schema
//!   [`responses_schema`]), the [`QuarantinedRow`]s and the [`IngestReport`].
//!   It runs the same pipeline as [`ingest_to`] into a temporary folder and
//!   reads the table back, so the table must fit in memory.
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
//! - `superseded_by_edit`: a later version of the submission among the
//!   inputs names this row's instance id in `meta/deprecatedID`.
//! - `review_rejected` / `review_not_approved`: excluded by the review
//!   policy ([`IngestOptions::review`], [`ReviewPolicy`]).
//! - `duplicate_response_id`: the id was already accepted earlier in input
//!   order (files in the order given, rows in file order); the detail names
//!   the first occurrence's file and line.
//! - `missing_unit`: the unit is empty.
//! - `invalid_period`: `period` does not parse as a [`sipas_core::Period`].
//! - `invalid_submitted_at`, `submitted_in_future`, `submitted_before_start`,
//!   `period_out_of_range`, `period_date_mismatch`: the date and period
//!   checks of [`DateChecks`] ([`IngestOptions::dates`]).
//! - `mixed_granularity`: the period's granularity differs from that of the
//!   first accepted row.
//! - `invalid_answer`: an item value that is not empty, not an integer of the
//!   scale (`4`, ` 4 `, `4.0`) and not one of its missing codes (`9`, `99`,
//!   read as missing and counted as `missing_code_answers`).
//! - `invalid_weight`: `weight` present but not a finite number > 0.
//!
//! # Memory
//! Sources are read in input order, in chunks of at most
//! [`WriteOptions::chunk_rows`] records (Parquet files slice by slice; a
//! UTF-8 text file larger than two chunks window by window, after one pass
//! that checks its UTF-8 and counts its lines; other text, JSON and Excel
//! sources are held whole, one source at a time, while they are read). A
//! chunk of delimited text (about
//! `chunk_rows` × 128 bytes) is parsed and validated in parts on all
//! threads: the parts are cut at line starts outside quotes and each cut is
//! checked against where the part before it ended, so the rows and their
//! line numbers are exactly those of one sequential reader. Accepted rows
//! are held per period, in memory up to [`WriteOptions::spill_memory`]
//! less the id table below (beyond it the largest periods go to temporary
//! Parquet files inside the output folder), then each period is sorted and
//! written, a period of more than [`WriteOptions::sort_rows`] rows in runs
//! of consecutive units. What stays in memory for the whole
//! run is the quarantined rows and the set of accepted ids, kept as 64-bit
//! hashes in one table sized from an upper bound on the input rows: 10 bytes
//! per row. Two ids sharing a hash (probability at most n²/2^65 for n ids,
//! 2.7·10^-4 at 10^8) are caught when the duplicate's first occurrence is
//! looked up by its text as the table is written, and the run is then done
//! again with 128-bit keys (n²/2^129; a collision of those stops the run
//! with [`Error::IdCollision`]). At the end, one period's rows (at most
//! `sort_rows` of them) are in memory at a time. The outputs do not depend
//! on the chunk size, the memory settings or the number of threads.
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

mod dates;
mod error;
mod excel;
mod ids;
mod input;
mod json;
mod layout;
mod load;
mod mapping;
mod merge;
mod output;
mod platform;
mod reason;
mod repeats;
mod report;
mod review;
mod stream;
mod table;
mod validate;
mod zipcsv;

#[cfg(feature = "http")]
pub mod sources;

use std::path::PathBuf;

use polars::prelude::DataFrame;
use sipas_core::{Instrument, UnitRegistry};

pub use dates::{DateChecks, date_of_day_number};
pub use error::{Error, Result};
pub use input::{Discovery, Format, InputFile, Skipped, detect_format, discover, discover_shown};
pub use mapping::{AnswerValue, Mapping, MissingWord, PeriodFromDate};
pub use output::{QUARANTINE_FILE, REPORT_FILE, RESPONSES_FILE, write_outputs};
pub use reason::Reason;
pub use repeats::RepeatPolicy;
pub use report::{IngestReport, InputReport, QuarantinedRow, ReasonCounts, Totals};
pub use review::ReviewPolicy;
pub use sipas_dataset::Layout as TableLayout;
pub use stream::{
    DEFAULT_CHUNK_ROWS, DEFAULT_SORT_ROWS, DEFAULT_SPILL_MEMORY, IngestOutcome, WriteOptions,
    ingest_to,
};
pub use table::{DISTRICT, responses_schema, responses_schema_kept, responses_schema_with};

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
    /// Which submissions to keep by the platform's review decision (Kobo
    /// `_validation_status`, ODK review state); default
    /// [`ReviewPolicy::ExcludeRejected`]. Applies to sources with a review
    /// column.
    pub review: ReviewPolicy,
    /// Repeat-group tables (ODK `PARENT_KEY`, Kobo repeat sheets): skipped
    /// with a note (default), or also written as `repeats/<source>.csv`
    /// keyed to `parent_response_id` ([`RepeatPolicy::Keep`]; by
    /// [`ingest_to`], into its output folder).
    pub repeats: RepeatPolicy,
    /// Checks of `submitted_at` and `period` against the as-of date, the
    /// survey's start and its periods (default: form and mismatch only).
    pub dates: DateChecks,
    /// Inputs inside a run's staging folder are named in the report and
    /// quarantine as they are after the swap (a run generates its data inside
    /// its staging folder, which is renamed when the run succeeds).
    pub shown_as: Option<sipas_core::staging::ShownAs>,
}

impl Default for IngestOptions {
    /// Instrument detected, the bundled Thái Nguyên units, rejected
    /// submissions excluded.
    fn default() -> Self {
        IngestOptions {
            instrument: None,
            units: sipas_core::bundled::units(),
            keep_columns: Vec::new(),
            review: ReviewPolicy::default(),
            repeats: RepeatPolicy::default(),
            dates: DateChecks::default(),
            shown_as: None,
        }
    }
}

/// How files are read (see [`ingest_with`]); the default sniffs everything.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Field delimiter of delimited text (`b','`, `b';'`, `b'\t'`, `b'|'`);
    /// `None` sniffs it from the header line.
    pub delimiter: Option<u8>,
    /// Encoding of text files without a BOM: an `encoding_rs` label
    /// (`utf-8`, `windows-1258`, `utf-16le`…) or `auto` (UTF-8 or CP1258
    /// detected per file, with a confidence in
    /// [`InputReport::encoding_confidence`]). `None` or `utf-8`: strict
    /// UTF-8, a byte that is not UTF-8 is [`Error::InvalidUtf8`].
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

    /// Rows quarantined, policy exclusions included (the CLI exits 1 when
    /// rows other than [`Reason::is_policy`] ones were quarantined).
    pub fn quarantined(&self) -> u64 {
        self.report.totals.quarantined
    }
}

/// [`ingest_with`] with the default [`ReadOptions`].
pub fn ingest(inputs: &[PathBuf], opts: &IngestOptions) -> Result<Ingested> {
    ingest_with(inputs, opts, &ReadOptions::default())
}

/// Reads and validates the inputs (files or folders, see [`discover`]) into
/// memory: the same pipeline as [`ingest_to`], whose table is written to a
/// temporary folder and read back. The whole table is in memory: use
/// [`ingest_to`] for large inputs.
pub fn ingest_with(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    read: &ReadOptions,
) -> Result<Ingested> {
    let tmp = tempfile::Builder::new()
        .prefix("sipas-ingest-")
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let run = stream::run(
        inputs,
        opts,
        read,
        tmp.path(),
        tmp.path(),
        &WriteOptions::default(),
        false,
    )?;
    let table = run.writer.finish()?;
    let responses = sipas_dataset::Dataset::open(&table)?.read(None)?;
    Ok(Ingested {
        instrument: run.instrument,
        responses,
        quarantine: run.quarantine,
        report: run.report,
    })
}
