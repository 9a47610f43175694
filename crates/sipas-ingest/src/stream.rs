//! The ingest pipeline, in bounded memory.
//!
//! 1. Every input is opened once to find its header and map its columns
//!    (errors about whole files come before any row is read).
//! 2. Sources are read in input order, in chunks of at most
//!    [`WriteOptions::chunk_rows`] records (delimited text: about
//!    `chunk_rows` × [`TEXT_ROW_BYTES`] bytes, cut into [`TEXT_PARTS`] parts
//!    by [`Loaded::scan_text_parts`]). A chunk is validated in parallel
//!    parts ([`crate::validate`]), then the parts go through the input-order
//!    checks in order ([`Merger`]), and the accepted rows are built into
//!    frames of the canonical schema (the answers as bytes, `NO_ANSWER`
//!    for a missing one, until they are written) and held by period
//!    ([`sipas_dataset::Spill`]): in memory up to
//!    [`WriteOptions::spill_memory`], beyond it the largest periods go to
//!    temporary Parquet files. The next chunk is read and validated while
//!    one goes through the checks and is built.
//! 3. Period by period, in ascending order, the held rows are sorted by
//!    (unit_code, response_id) and written ([`sipas_dataset::DatasetWriter`]);
//!    a period of more than [`WriteOptions::sort_rows`] rows is read back a
//!    slice at a time into runs of consecutive units, each sorted and written
//!    in turn ([`write_sorted`]).
//!
//! Memory holds two chunks, the rows held in memory (at most
//! `spill_memory` less the id table, plus 65,536 rows per period on disk),
//! the set of accepted ids (10 bytes per input row, see [`crate::ids`]), the
//! quarantined rows and, at the end, the rows of one period or of one run of
//! its units. A UTF-8 text larger than two
//! chunks is read a chunk's window at a time ([`input::open_windowed`]);
//! other text (UTF-16, CP1258), JSON and Excel sources are held whole
//! (decoded bytes or records) while they are read; a Parquet source is read
//! slice by slice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, schema};
use sipas_dataset::{DatasetWriter, Spill};

use crate::ids::IdSet;
use crate::input::{self, Cursor, Loaded, ParquetRows, View};
use crate::layout::{self, Layout};
use crate::mapping::Resolver;
use crate::merge::{self, FileInfo, Merged, Merger};
use crate::repeats::RepeatTable;
use crate::validate::{Ctx, FileValidator, Parsed, record_text};
use crate::{
    Error, Format, IngestOptions, IngestReport, InputFile, QuarantinedRow, ReadOptions, Result,
    Skipped, output, table,
};

/// The default number of records per chunk (its rows parsed and validated
/// are a few hundred MB; 2^19 was as fast as 2^20 at 10^7 and holds 0.1 GB
/// less).
pub const DEFAULT_CHUNK_ROWS: usize = 1 << 19;

/// The default bytes of accepted rows and their id table held in memory
/// (1 GiB: about 7 million SIPAS rows of 10^7; at 10^8 the id table takes
/// it all) before the largest period is spilled to disk.
pub const DEFAULT_SPILL_MEMORY: usize = 1 << 30;

/// The default number of rows sorted at a time when the table is written
/// (about 270 MB of SIPAS rows).
pub const DEFAULT_SORT_ROWS: usize = 2 << 20;

/// Rows validated by one task within a chunk (Parquet, JSON, Excel).
const PART_ROWS: usize = 1 << 16;

/// A delimited-text chunk of `chunk_rows` records is read as this many bytes
/// per record (a SIPAS row of 33 items is about 120 bytes): 64 MiB by default.
const TEXT_ROW_BYTES: usize = 128;

/// The bytes of a delimited-text chunk of `chunk_rows` records.
fn text_budget(chunk_rows: usize) -> usize {
    chunk_rows.max(1).saturating_mul(TEXT_ROW_BYTES)
}

/// Parts of a delimited-text chunk, read and validated in parallel.
const TEXT_PARTS: usize = 8;

/// A decoded source held in memory between the header search and the rows
/// is dropped, and the file read again, above this size.
const KEEP_LOADED_BYTES: usize = 64 << 20;

/// How [`ingest_to`] writes the response table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// One file, or one folder per period.
    pub layout: sipas_dataset::Layout,
    /// Records read and validated at a time (memory grows with it; the
    /// outputs do not depend on it). 0 is taken as 1.
    pub chunk_rows: usize,
    /// Bytes of accepted rows, and of the table of their ids
    /// (10 bytes per input row, kept as 64-bit hashes), held in memory before
    /// periods are spilled to temporary files (the outputs do not depend on
    /// it).
    pub spill_memory: usize,
    /// Rows sorted at a time when the table is written: a period with more
    /// rows is split into runs of consecutive units of at most this many
    /// rows (a unit with more is one run), sorted and written one after the
    /// other (the outputs do not depend on it). 0 is taken as 1.
    pub sort_rows: usize,
}

impl Default for WriteOptions {
    /// [`sipas_dataset::Layout::File`], chunks of [`DEFAULT_CHUNK_ROWS`],
    /// [`DEFAULT_SPILL_MEMORY`] of rows held.
    fn default() -> Self {
        WriteOptions {
            layout: sipas_dataset::Layout::File,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            spill_memory: DEFAULT_SPILL_MEMORY,
            sort_rows: DEFAULT_SORT_ROWS,
        }
    }
}

/// What [`ingest_to`] did.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The instrument the rows were read with.
    pub instrument: Instrument,
    /// The content of `ingest-report.json`.
    pub report: IngestReport,
    /// Rows quarantined, policy exclusions included (the CLI exits 1 when
    /// rows other than [`crate::Reason::is_policy`] ones were quarantined).
    pub quarantined: u64,
    /// The response table written: `DIR/responses.parquet` or `DIR/responses/`.
    pub responses: PathBuf,
}

/// One source (a file, or a sheet of a workbook) and its header.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) file: InputFile,
    /// The decoded source, unless it was too large to keep until its rows
    /// are read (it is then loaded again).
    pub(crate) loaded: Option<Loaded>,
    /// Index of the header record; records after it are data.
    pub(crate) header: usize,
    /// Line of the header record.
    pub(crate) header_line: u64,
    /// The header's cleaned names.
    pub(crate) names: Vec<String>,
    /// At least the number of its rows (lines of text, records, Parquet
    /// rows): sizes the set of accepted ids.
    pub(crate) rows_bound: usize,
    /// What a JSON source said besides its records (page count, repeats).
    pub(crate) json: Option<crate::json::JsonInfo>,
}

/// Columns that link a row to its parent submission: a table holding one
/// is a repeat group (ODK Central `PARENT_KEY` in `form-repeat.csv`; Kobo
/// `_parent_index` / `_parent_table_name` in a repeat sheet of the XLSX export,
/// `_submission__uuid` in newer ones).
const PARENT_COLUMNS: &[&str] = &[
    "PARENT_KEY",
    "_parent_index",
    "_parent_table_name",
    "_submission__uuid",
];

/// If `loaded` is a repeat-group table: its header record and why it is not
/// read (the column that links it to its parent and its number of rows).
fn repeat_table(loaded: &Loaded, path: &Path) -> Result<Option<(usize, String)>> {
    let mut found: Option<(usize, String)> = None;
    let mut rows = 0u64;
    loaded.scan(path, &mut |i, _, row| {
        if let Ok(rec) = row {
            if found.is_some() {
                if rec.iter().any(|f| !f.iter().all(u8::is_ascii_whitespace)) {
                    rows += 1;
                }
            } else if i < 30 {
                let names: Vec<String> = rec
                    .iter()
                    .map(|f| input::clean_name(&String::from_utf8_lossy(f)))
                    .collect();
                if let Some(col) = PARENT_COLUMNS
                    .iter()
                    .find(|c| names.iter().any(|n| n == *c))
                {
                    found = Some((i, (*col).to_string()));
                }
            }
        }
        found.is_some() || i < 30
    })?;
    Ok(found.map(|(i, col)| {
        (
            i,
            format!(
                "repeat group table ({rows} rows, linked to their submissions by `{col}`): repeat groups are not responses"
            ),
        )
    }))
}

/// At least the number of rows of a source: the lines of a text (a record
/// holds at least one line), the records of JSON or Excel, the rows of
/// Parquet (plus the header).
fn rows_bound(l: &Loaded) -> usize {
    match l {
        Loaded::Text { text, .. } => usize::try_from(text.newlines())
            .unwrap_or(usize::MAX)
            .saturating_add(1),
        Loaded::Records(recs) => recs.len(),
        Loaded::Parquet { rows, .. } => rows + 1,
    }
}

/// An estimate of the memory a decoded source holds.
fn loaded_bytes(l: &Loaded) -> usize {
    match l {
        Loaded::Text { text, .. } => text.held(),
        Loaded::Records(recs) => recs
            .iter()
            .map(|(_, r)| 64 + r.as_ref().map_or(0, |r| r.as_slice().len() + 8 * r.len()))
            .sum(),
        Loaded::Parquet { .. } => 0,
    }
}

/// The sources of a file (or why each was skipped) and its repeat tables
/// kept for writing.
type FileSources = (Vec<std::result::Result<Source, Skipped>>, Vec<RepeatTable>);

/// Loads a file (every sheet of a workbook, every CSV of a zip) and finds
/// each source's header; sources without one, and repeat-group tables, are
/// skipped.
///
/// A large decoded source is dropped after its header is found and loaded
/// again to read its rows, unless `keep_first` (the first input: it is read
/// as soon as the plan is made, so it is kept rather than loaded twice).
fn load_file(
    file: &InputFile,
    text: input::TextOpts,
    resolver: &Resolver,
    keep_repeats: bool,
    keep_first: bool,
) -> Result<FileSources> {
    let mut repeats = Vec::new();
    let loaded: Vec<(InputFile, Loaded, Option<crate::json::JsonInfo>)> = match file.format {
        Format::Xlsx | Format::Xls => crate::excel::load_all(file)?
            .into_iter()
            .map(|(f, l)| (f, l, None))
            .collect(),
        Format::CsvZip => crate::zipcsv::load_all(file, text)?
            .into_iter()
            .map(|(f, l)| (f, l, None))
            .collect(),
        Format::Json | Format::Ndjson | Format::KoboJson | Format::OdkJson => {
            let raw = std::fs::read(&file.path).map_err(|source| Error::Io {
                path: file.path.clone(),
                source,
            })?;
            let (l, info) = crate::json::load(&raw, crate::load::json_kind(file.format));
            vec![(file.clone(), l, Some(info))]
        }
        _ => vec![(file.clone(), crate::load::load(file, text)?, None)],
    };
    let sources = loaded
        .into_iter()
        .map(|(file, loaded, json)| {
            if let Some((header, reason)) = repeat_table(&loaded, &file.path)? {
                let reason = if keep_repeats {
                    format!("{reason}; written to repeats/ keyed to parent_response_id")
                } else {
                    reason
                };
                if keep_repeats {
                    repeats.push(RepeatTable {
                        name: file.name(),
                        path: file.path.clone(),
                        loaded,
                        header,
                    });
                }
                return Ok(Err(Skipped {
                    file: file.name(),
                    reason,
                }));
            }
            let found = layout::find_header(&loaded, &file.path, resolver)?;
            let Some((header, names)) = found else {
                return Ok(Err(Skipped {
                    file: file.name(),
                    reason: "no header row naming a response id, a unit and a period".into(),
                }));
            };
            let mut header_line = 0;
            loaded.scan_from(&file.path, Cursor::START, header + 1, &mut |i, line, _| {
                if i == header {
                    header_line = line;
                }
                true
            })?;
            // Pages are small and may be widened to their data set's header:
            // always kept.
            let page = matches!(file.format, Format::KoboJson | Format::OdkJson);
            let keep = page || keep_first || loaded_bytes(&loaded) <= KEEP_LOADED_BYTES;
            Ok(Ok(Source {
                file,
                rows_bound: rows_bound(&loaded),
                loaded: keep.then_some(loaded),
                header,
                header_line,
                names,
                json,
            }))
        })
        .collect::<Result<_>>()?;
    Ok((sources, repeats))
}

/// Saved API pages of one data set: consecutive sources of one platform in
/// one folder. They share one header (the union of their keys: a page where
/// nobody answered a question lacks its key), and their records are checked
/// against the count the server reported. Returns notes for the report.
fn join_pages(sources: &mut [Source]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut i = 0;
    while i < sources.len() {
        let f = sources[i].file.format;
        let dir = sources[i].file.path.parent().map(Path::to_path_buf);
        let mut j = i + 1;
        if matches!(f, Format::KoboJson | Format::OdkJson) {
            while j < sources.len()
                && sources[j].file.format == f
                && sources[j].file.path.parent().map(Path::to_path_buf) == dir
            {
                j += 1;
            }
        } else {
            i = j;
            continue;
        }
        let group = &mut sources[i..j];
        let mut union: Vec<String> = Vec::new();
        for s in group.iter() {
            for n in &s.names {
                if !union.contains(n) {
                    union.push(n.clone());
                }
            }
        }
        let mut records = 0usize;
        let mut count = None;
        for s in group.iter_mut() {
            if let Some(Loaded::Records(r)) = &s.loaded {
                records += r.len().saturating_sub(1);
            }
            if s.names != union {
                s.loaded = s.loaded.take().map(|l| crate::json::widen(l, &union));
                s.names.clone_from(&union);
            }
            count = count.or(s.json.as_ref().and_then(|j| j.count));
        }
        let platform = if f == Format::KoboJson {
            "KoboToolbox"
        } else {
            "ODK Central"
        };
        let place = dir.map_or_else(String::new, |d| format!(" in {}", d.display()));
        let pages = group.len();
        match count {
            Some(c) if c as usize != records => notes.push(format!(
                "{platform} pages{place}: the server counted {c} submissions, the {pages} page(s) hold {records} records (a page is missing or saved twice)"
            )),
            Some(c) => notes.push(format!(
                "{platform} pages{place}: {pages} page(s), {records} records, as many as the server counted ({c})"
            )),
            None => notes.push(format!(
                "{platform} pages{place}: {pages} page(s), {records} records (the server's count was not saved)"
            )),
        }
        i = j;
    }
    notes
}

/// Notes on the repeat groups of JSON sources (set aside, not read).
fn repeat_notes(sources: &[Source]) -> Vec<String> {
    let mut notes = Vec::new();
    for s in sources {
        let Some(info) = &s.json else { continue };
        for (name, (records, entries)) in &info.repeats {
            notes.push(if *entries == 0 {
                format!(
                    "{}: repeat group `{name}` linked from {records} records (an OData navigation link; its table is not in the page): repeat groups are not responses",
                    s.file.name()
                )
            } else {
                format!(
                    "{}: repeat group `{name}` in {records} records ({entries} entries) not read: repeat groups are not responses",
                    s.file.name()
                )
            });
        }
    }
    notes
}

/// The instance ids that later versions among the inputs replace (their
/// `meta/deprecatedID`), without the `uuid:` prefix.
fn superseded_ids(plan: &Plan) -> Result<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for (src, layout) in plan.sources.iter().zip(&plan.layouts) {
        let Some(col) = layout.deprecated else {
            continue;
        };
        let reloaded;
        let loaded = if let Some(l) = &src.loaded {
            l
        } else {
            reloaded = crate::load::load(&src.file, plan.text)?;
            &reloaded
        };
        loaded.scan(&src.file.path, &mut |i, _, row| {
            if i > src.header
                && let Ok(rec) = row
                && let Some(v) = rec.get(col).and_then(|v| std::str::from_utf8(v).ok())
                && !v.trim().is_empty()
            {
                out.insert(crate::review::instance_key(v).to_string());
            }
            true
        })?;
    }
    Ok(out)
}

/// The kept columns that are not canonical columns or items (NFC, trimmed,
/// once each, in order), and whether `district` was asked for.
fn keep_list(asked: &[String], instrument: &Instrument) -> Result<(Vec<String>, bool)> {
    let canonical: Vec<&str> = schema::LEADING
        .into_iter()
        .chain(schema::PROVENANCE)
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
        if name == crate::DISTRICT {
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

/// Everything known before the first data row is read.
struct Plan {
    text: input::TextOpts,
    resolver: Resolver,
    sources: Vec<Source>,
    skipped: Vec<Skipped>,
    instrument: Instrument,
    keep: Vec<String>,
    layouts: Vec<Layout>,
    with_district: bool,
    /// Instance ids replaced by an edit among the inputs.
    superseded: std::collections::HashSet<String>,
    /// Notes for the report (pages, repeat groups).
    notes: Vec<String>,
    /// Repeat-group tables to write (under [`crate::RepeatPolicy::Keep`]).
    repeat_tables: Vec<RepeatTable>,
    /// Date and period checks.
    dates: crate::DateChecks,
}

/// The size above which a text read window by window is read past the page
/// cache: a quarter of the machine's memory. A file that large is read twice
/// (checked, then parsed) while the stage writes gigabytes of its own, so it
/// does not stay cached from one read to the next; through the page cache
/// each read costs the kernel more than the reading (measured: 22 s of
/// system time for one read of a 12 GB CSV not cached, 0.6 s past it) and
/// evicts what the stage wrote. A smaller file is usually cached (just
/// written or downloaded) and read from memory.
fn direct_above() -> usize {
    sipas_core::direct::physical_memory()
        .and_then(|m| usize::try_from(m / 4).ok())
        .unwrap_or(usize::MAX)
}

/// Reads the inputs' headers and maps their columns; a UTF-8 text larger
/// than `window_above` bytes will be read window by window.
fn plan(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    read: &ReadOptions,
    window_above: usize,
) -> Result<Plan> {
    let found = input::discover_shown(inputs, opts.shown_as.as_ref())?;
    let encoding = read
        .encoding
        .as_deref()
        .map(|label| {
            input::TextEncoding::from_label(label).ok_or_else(|| Error::UnknownEncoding {
                label: label.to_string(),
            })
        })
        .transpose()?
        .unwrap_or_default();
    let text = input::TextOpts {
        delimiter: read.delimiter,
        encoding,
        window_above,
        direct_above: direct_above(),
    };
    let resolver = Resolver::new(&read.mapping.clone().unwrap_or_default());
    let keep_repeats = opts.repeats == crate::RepeatPolicy::Keep;
    let loaded: Vec<FileSources> = found
        .files
        .par_iter()
        .enumerate()
        .map(|(i, f)| load_file(f, text, &resolver, keep_repeats, i == 0))
        .collect::<Result<_>>()?;
    let mut skipped = found.skipped;
    let mut sources = Vec::new();
    let mut repeat_tables = Vec::new();
    for (found, repeats) in loaded {
        repeat_tables.extend(repeats);
        for r in found {
            match r {
                Ok(s) => sources.push(s),
                Err(s) => skipped.push(s),
            }
        }
    }
    let mut notes = join_pages(&mut sources);
    notes.extend(repeat_notes(&sources));
    let Some(first) = sources.first() else {
        return Err(if skipped.is_empty() {
            Error::NoInputs
        } else {
            Error::NothingRead { skipped }
        });
    };
    let instrument = if let Some(i) = &opts.instrument {
        i.clone()
    } else {
        let path = PathBuf::from(first.file.name());
        layout::detect_instrument(&path, &first.names, &resolver)?
    };
    resolver
        .check_answers(&instrument)
        .map_err(|message| Error::Mapping {
            path: PathBuf::from("the mapping's [answers]"),
            message,
        })?;
    let (mut keep, force_district) = keep_list(&opts.keep_columns, &instrument)?;
    // Interview start / end and the review decision of platform exports are
    // written as kept columns (clean reads the duration from them).
    let found: Vec<&str> = sources
        .iter()
        .flat_map(|s| layout::platform_kept(&s.names, &resolver))
        .collect();
    for name in [
        crate::mapping::STARTED_AT,
        crate::mapping::ENDED_AT,
        crate::mapping::REVIEW_STATE,
    ] {
        if found.contains(&name) && !keep.iter().any(|k| k == name) {
            keep.push(name.to_string());
        }
    }
    let layouts: Vec<Layout> = sources
        .par_iter()
        .map(|s| {
            let path = PathBuf::from(s.file.name());
            Layout::map(&path, &s.names, &instrument, &resolver, &keep)
        })
        .collect::<Result<_>>()?;
    let with_district = force_district || layouts.iter().any(|l| l.district.is_some());
    let mut plan = Plan {
        text,
        resolver,
        sources,
        skipped,
        instrument,
        keep,
        layouts,
        with_district,
        superseded: std::collections::HashSet::new(),
        notes,
        repeat_tables,
        dates: opts.dates.clone(),
    };
    plan.superseded = superseded_ids(&plan)?;
    Ok(plan)
}

/// The records of a chunk, to read again for quarantine records.
enum ChunkData {
    /// `n` records from a cursor (JSON, Excel).
    Seq { at: Cursor, n: usize },
    /// The parts of a delimited-text chunk: where each starts and its
    /// number of records.
    Text(Vec<(Cursor, usize)>),
    /// A slice of a Parquet file.
    Parquet(ParquetRows),
}

/// A validated chunk: its records, its parts in order, where the next
/// chunk starts, how many records it holds and whether it is the source's
/// last.
struct Validated {
    data: ChunkData,
    parts: Vec<Parsed>,
    next: Cursor,
    n: usize,
    last: bool,
}

/// Consecutive ranges of at most [`PART_ROWS`] covering `0..n`.
fn part_ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    (0..n.div_ceil(PART_ROWS))
        .map(|i| i * PART_ROWS..((i + 1) * PART_ROWS).min(n))
        .collect()
}

/// Reads and validates up to `max` records of `loaded` from `at`.
fn validate_chunk(
    loaded: &Loaded,
    path: &Path,
    ctx: &Ctx<'_>,
    layout: &Layout,
    at: Cursor,
    max: usize,
) -> Result<Validated> {
    match loaded {
        Loaded::Text { .. } => {
            // About `max` records' worth of bytes, in parts read and
            // validated in parallel.
            let read =
                |text: View<'_>, start: Cursor, end: usize| -> Result<(Parsed, Cursor, usize)> {
                    let mut v = FileValidator::new(ctx, layout);
                    let (next, n) = text.scan_until(path, start, end, &mut |_, line, row| {
                        v.row(line, row);
                        true
                    })?;
                    Ok((v.finish(), next, n))
                };
            let chunk = loaded.scan_text_parts(at, text_budget(max), TEXT_PARTS, &read)?;
            let n = chunk.parts.iter().map(|p| p.n).sum();
            let data = ChunkData::Text(chunk.parts.iter().map(|p| (p.at, p.n)).collect());
            Ok(Validated {
                data,
                parts: chunk.parts.into_iter().map(|p| p.out).collect(),
                next: chunk.next,
                n,
                last: n == 0 || chunk.done,
            })
        }
        Loaded::Records(recs) => {
            let n = recs.len().saturating_sub(at.index).min(max);
            let parts = part_ranges(n)
                .into_par_iter()
                .map(|r| {
                    let mut v = FileValidator::new(ctx, layout);
                    let mut bounds = Vec::new();
                    for (line, row) in &recs[at.index + r.start..at.index + r.end] {
                        match row {
                            Ok(rec) => v.row(*line, Ok(input::Record::of(rec, &mut bounds))),
                            Err(msg) => v.row(*line, Err(msg.clone())),
                        }
                    }
                    v.finish()
                })
                .collect();
            let next = loaded.cursor_at(path, at.index + n)?;
            Ok(Validated {
                data: ChunkData::Seq { at, n },
                parts,
                next,
                n,
                last: n < max,
            })
        }
        Loaded::Parquet { rows, metadata, .. } => {
            // Record i is row i - 1 (record 0 is the column names).
            let first = at.index.max(1) - 1;
            let n = rows.saturating_sub(first).min(max);
            if n == 0 {
                return Ok(Validated {
                    data: ChunkData::Seq { at, n },
                    parts: Vec::new(),
                    next: at,
                    n,
                    last: true,
                });
            }
            let data = ParquetRows::read(path, metadata, first, n)?;
            let parts = part_ranges(data.len())
                .into_par_iter()
                .map(|r| {
                    let mut v = FileValidator::new(ctx, layout);
                    data.scan(r, &mut |_, line, row| {
                        v.row(line, row);
                        true
                    });
                    v.finish()
                })
                .collect();
            let next = loaded.cursor_at(path, first + 1 + n)?;
            Ok(Validated {
                data: ChunkData::Parquet(data),
                parts,
                next,
                n,
                last: n < max,
            })
        }
    }
}

/// The schema of the response table of a plan.
fn table_schema(plan: &Plan) -> Schema {
    table::responses_schema_kept(&plan.instrument, plan.with_district, &plan.keep)
}

/// What [`run`] produced: the table is written but not yet in place.
pub(crate) struct Run {
    pub(crate) instrument: Instrument,
    pub(crate) report: IngestReport,
    pub(crate) quarantine: Vec<QuarantinedRow>,
    pub(crate) writer: DatasetWriter,
}

/// Frames of accepted rows on their way to the spill, by period.
type Frames = Vec<(String, DataFrame)>;

/// Reads, validates and merges the inputs, and writes the table (not yet
/// finished) with `write.layout` into `table_dir`; temporary files go to
/// `spill_dir`. Accepted ids are kept as 128-bit keys when `wide`, else as
/// 64-bit hashes; if two different ids shared a 64-bit hash (see
/// [`crate::ids`]), the run is done again with 128-bit keys.
pub(crate) fn run(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    read: &ReadOptions,
    table_dir: &Path,
    spill_dir: &Path,
    write: &WriteOptions,
    wide: bool,
) -> Result<Run> {
    // A text over twice a chunk's bytes is read a chunk's window at a time.
    let window_above = text_budget(write.chunk_rows).saturating_mul(2);
    let mut plan = plan(inputs, opts, read, window_above)?;
    let tables = std::mem::take(&mut plan.repeat_tables);
    let written = crate::repeats::write_tables(table_dir, &tables)?;
    drop(tables);
    plan.notes.extend(
        written
            .into_iter()
            .map(|w| format!("repeat group table written to {w} (keyed to parent_response_id)")),
    );
    let schema = table_schema(&plan);
    let names: Vec<String> = plan.sources.iter().map(|s| s.file.name()).collect();
    let seen = if wide {
        IdSet::wide()
    } else {
        IdSet::narrow(plan.sources.iter().map(|s| s.rows_bound).sum())
    };
    // The id table counts against the memory for rows: at 10^8 rows it
    // takes 1 GB of the default 1 GiB, and rows go to disk as they come.
    let held = write.spill_memory.saturating_sub(seen.heap_bytes());
    let spill: Spill<String> = Spill::new_in(spill_dir, &schema)?.with_memory(held);
    let mut merger = Merger::new(&names, &opts.units, seen);

    // The spill writes on its own thread while the next chunk is validated.
    let spill = std::thread::scope(|scope| -> Result<Spill<String>> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Frames>(0);
        let sink = scope.spawn(move || -> Result<Spill<String>> {
            let mut spill = spill;
            for frames in rx {
                for (label, df) in frames {
                    spill.push(&label, df)?;
                }
            }
            Ok(spill)
        });
        let read = read_sources(
            &mut plan,
            &names,
            &mut merger,
            write.chunk_rows.max(1),
            opts.review,
            &tx,
        );
        drop(tx);
        let spill = sink.join().expect("the spill thread does not panic");
        // An error of the reader comes first (the sink stops when it does).
        read?;
        spill
    })?;

    let Merged {
        mut quarantine,
        mut pending,
        inputs: read_inputs,
        totals,
        granularity,
        periods,
        units,
        rows_unit_not_in_registry,
    } = merger.finish();
    let ignored: std::collections::BTreeSet<&String> =
        plan.layouts.iter().flat_map(|l| &l.ignored).collect();
    let report = IngestReport {
        instrument: plan.instrument.id.clone(),
        granularity: granularity.map(|g| merge::granularity_name(g).to_string()),
        inputs: read_inputs,
        totals,
        ignored_columns: ignored.into_iter().cloned().collect(),
        kept_columns: plan.keep.clone(),
        skipped: plan.skipped,
        notes: plan.notes,
        review: opts.review,
        rows_unit_not_in_registry,
        periods,
        units,
        date_checks: plan.dates.clone(),
    };
    report.check_counts()?;

    let spilled = spill.finish()?;
    let writer = DatasetWriter::create(table_dir, write.layout, &schema)?;
    let writer = write_sorted(
        spilled,
        writer,
        table_dir,
        write.sort_rows.max(1),
        &mut pending,
        &mut quarantine,
        &plan.instrument.item_ids(),
    )?;
    if let Some(id) = pending.into_keys().min() {
        if wide {
            return Err(Error::IdCollision { id });
        }
        // The table's temporary files go with the writer.
        drop(writer);
        return run(inputs, opts, read, table_dir, spill_dir, write, true);
    }
    Ok(Run {
        instrument: plan.instrument,
        report,
        quarantine,
        writer,
    })
}

/// Reads every source chunk by chunk: validation, input-order checks, and
/// the accepted rows sent to the spill as frames.
fn read_sources(
    plan: &mut Plan,
    names: &[String],
    merger: &mut Merger<'_>,
    chunk_rows: usize,
    review: crate::ReviewPolicy,
    spill: &std::sync::mpsc::SyncSender<Frames>,
) -> Result<()> {
    let ctx = Ctx::new(
        &plan.instrument,
        &plan.resolver,
        review,
        &plan.superseded,
        &plan.dates,
    );
    sipas_core::progress::begin("ingest: reading", "rows", None);
    for (fi, src) in plan.sources.iter_mut().enumerate() {
        let path = src.file.path.clone();
        let polars_err = |source| Error::Polars {
            path: path.clone(),
            source,
        };
        let loaded = match src.loaded.take() {
            Some(l) => l,
            None => crate::load::load(&src.file, plan.text)?,
        };
        let layout = &plan.layouts[fi];
        let text_info = loaded.text_info();
        let at = loaded.cursor_at(&path, src.header + 1)?;
        // The next chunk is read and validated while this one goes through
        // the input-order checks and is built into frames (two chunks are
        // held at a time).
        let mut upcoming = Some(validate_chunk(&loaded, &path, &ctx, layout, at, chunk_rows));
        while let Some(chunk) = upcoming.take() {
            let chunk = chunk?;
            if chunk.n == 0 {
                break;
            }
            sipas_core::progress::advance(chunk.n as u64);
            let (last, next) = (chunk.last, chunk.next);
            let merge = || -> Result<Frames> {
                let mut refetch = HashMap::new();
                let accepted: Vec<Vec<u32>> = chunk
                    .parts
                    .iter()
                    .map(|p| merger.part(fi, p, &mut refetch))
                    .collect();
                if !refetch.is_empty() {
                    refetch_records(&loaded, &path, &chunk.data, &refetch, merger)?;
                }
                drop(chunk.data);
                let build = |p: &Parsed, rows: &[u32], label: &str| {
                    table::build(
                        &ctx,
                        &names[fi],
                        &p.cand,
                        rows,
                        label,
                        plan.with_district,
                        &plan.keep,
                    )
                    .map_err(polars_err)
                };
                let frames = frames_by_period(&chunk.parts, &accepted, &build)?;
                drop(chunk.parts);
                Ok(frames)
            };
            let (frames, after) = rayon::join(merge, || {
                (!last).then(|| validate_chunk(&loaded, &path, &ctx, layout, next, chunk_rows))
            });
            if spill.send(frames?).is_err() {
                // The spill failed: its error is returned by its thread.
                return Ok(());
            }
            upcoming = after;
        }
        merger.end_file(
            fi,
            FileInfo {
                format: src.file.format,
                text: text_info,
                header_line: src.header_line,
                missing_kept_columns: layout.missing_kept.clone(),
            },
        );
    }
    sipas_core::progress::end();
    Ok(())
}

/// Reads again the records of `data` whose lines `refetch` names (rows a merge quarantined
/// after the chunk was validated) and gives each its record text in the quarantine
/// (`refetch`: line → quarantine index).
fn refetch_records(
    loaded: &Loaded,
    path: &Path,
    data: &ChunkData,
    refetch: &HashMap<u64, usize>,
    merger: &mut Merger<'_>,
) -> Result<()> {
    let mut fill = |_: usize, line: u64, row: input::Row<'_>| {
        if let (Some(&qi), Ok(rec)) = (refetch.get(&line), row) {
            merger.set_record(qi, record_text(rec));
        }
        true
    };
    match data {
        ChunkData::Seq { at, n } => {
            loaded.scan_from(path, *at, *n, &mut fill)?;
        }
        ChunkData::Text(parts) => {
            // Only the parts that may hold a quarantined row (a part's records start on lines
            // from its cursor's to the next part's cursor's).
            for (k, (at, n)) in parts.iter().enumerate() {
                let last = parts.get(k + 1).map_or(u64::MAX, |(c, _)| c.line());
                if refetch.keys().any(|&l| l >= at.line() && l <= last) {
                    loaded.scan_from(path, *at, *n, &mut fill)?;
                }
            }
        }
        ChunkData::Parquet(rows) => rows.scan(0..rows.len(), &mut fill),
    }
    Ok(())
}

/// The accepted rows of a chunk's `parts` (`accepted[k]`: part k's) as frames, part by part
/// (in parallel) and period by period within a part: `build(part, rows, period)` makes one.
fn frames_by_period(
    parts: &[Parsed],
    accepted: &[Vec<u32>],
    build: &(impl Fn(&Parsed, &[u32], &str) -> Result<DataFrame> + Sync),
) -> Result<Frames> {
    let frames: Vec<Frames> = parts
        .par_iter()
        .zip(accepted)
        .map(|(p, acc)| {
            let mut by_period: Vec<Vec<u32>> = vec![Vec::new(); p.cand.period_table.len()];
            for &k in acc {
                by_period[p.cand.periods[k as usize] as usize].push(k);
            }
            by_period
                .iter()
                .enumerate()
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(pi, rows)| {
                    let label = p.cand.period_table[pi].to_string();
                    let df = build(p, rows, &label)?;
                    Ok((label, df))
                })
                .collect::<Result<Frames>>()
        })
        .collect::<Result<_>>()?;
    Ok(frames.into_iter().flatten().collect())
}

/// Writes the spilled rows period by period, each sorted by (unit_code,
/// response_id), and fills in the duplicates' details on the way. The
/// writing runs on its own thread while the next rows are sorted. A period
/// of more than `sort_rows` rows on disk is sorted in runs of consecutive
/// units ([`unit_runs`], from its `unit_code` column alone), each run read
/// from the row groups that hold its rows ([`read_run`]), so memory holds
/// one run, not the period; rows arrive grouped by unit in most inputs, and
/// then each row group is read about once. Row groups of the table are cut
/// as if the period had been sorted whole (`ROW_GROUP_ROWS` rows each, the
/// period's last shorter): the file is the same either way.
fn write_sorted(
    mut spilled: sipas_dataset::Spilled<String>,
    writer: DatasetWriter,
    table_dir: &Path,
    sort_rows: usize,
    pending: &mut HashMap<String, Vec<usize>>,
    quarantine: &mut [QuarantinedRow],
    items: &[&str],
) -> Result<DatasetWriter> {
    let perr = |source| Error::Polars {
        path: table_dir.to_path_buf(),
        source,
    };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(String, DataFrame)>(0);
        let sink = scope.spawn(move || -> Result<DatasetWriter> {
            let mut writer = writer;
            for (period, mut df) in rx {
                // Missing answers become nulls as the rows are written.
                table::answers_as_nulls(&mut df, items).map_err(perr)?;
                writer.write(&period, &df)?;
            }
            Ok(writer)
        });
        let total: u64 = spilled.keys().iter().map(|k| spilled.rows(k)).sum();
        sipas_core::progress::begin("ingest: sorting, writing", "rows", Some(total));
        // `Err(None)`: the writer stopped (its error is returned by its thread).
        let sorted = (|| -> std::result::Result<(), Option<Error>> {
            for period in spilled.keys() {
                let mut groups = RowGroups::new(sipas_dataset::ROW_GROUP_ROWS, table_dir);
                let mut send = |part: DataFrame| -> std::result::Result<(), Option<Error>> {
                    sipas_core::progress::advance(part.height() as u64);
                    tx.send((period.clone(), part)).map_err(|_| None)
                };
                let mut sort_and_send = |df: DataFrame| -> std::result::Result<(), Option<Error>> {
                    if !pending.is_empty() {
                        resolve(&df, pending, quarantine).map_err(perr)?;
                    }
                    let order = sort_order(&df).map_err(perr)?;
                    groups.push(&df, &order, &mut send)
                };
                let large =
                    usize::try_from(spilled.rows(&period)).unwrap_or(usize::MAX) > sort_rows;
                let on_disk = if large {
                    spilled.row_groups(&period).map_err(Error::from)?
                } else {
                    None
                };
                match on_disk {
                    // In memory already (within the spill's budget), or small.
                    None => sort_and_send(spilled.take(&period).map_err(Error::from)?)?,
                    Some(row_groups) => {
                        let (run_of, n_runs) = {
                            let units = spilled
                                .column(&period, schema::UNIT_CODE)
                                .map_err(Error::from)?;
                            let units = units.str().map_err(perr)?;
                            let runs = unit_runs(units, sort_rows);
                            let run_of: Vec<u32> = units
                                .iter()
                                .map(|u| {
                                    let u = u.unwrap_or_default();
                                    runs.partition_point(|b| b.as_str() <= u) as u32
                                })
                                .collect();
                            // Each boundary is a unit of the period: no run is empty.
                            (run_of, runs.len() as u32 + 1)
                        };
                        for run in 0..n_runs {
                            let df = read_run(
                                &spilled,
                                &period,
                                &row_groups,
                                (&run_of, run),
                                sort_rows,
                                table_dir,
                            )?;
                            sort_and_send(df)?;
                        }
                        spilled.remove(&period).map_err(Error::from)?;
                    }
                }
                groups.finish(&mut send)?;
            }
            Ok(())
        })();
        drop(tx);
        let writer = sink.join().expect("the writer thread does not panic");
        sipas_core::progress::end();
        match sorted {
            Err(Some(e)) => Err(e),
            // The writer's error, if it stopped.
            Ok(()) | Err(None) => writer,
        }
    })
}

/// The rows of run `run` of a period on disk: the row groups holding any
/// of them, read in slices of consecutive groups (of at most `max_rows`
/// rows, unless one group is larger), the other runs' rows filtered out.
/// `run_of[i]` is the run of the period's row `i`; errors name `path`.
fn read_run(
    spilled: &sipas_dataset::Spilled<String>,
    period: &String,
    row_groups: &[usize],
    (run_of, run): (&[u32], u32),
    max_rows: usize,
    path: &Path,
) -> Result<DataFrame> {
    let perr = |source| Error::Polars {
        path: path.to_path_buf(),
        source,
    };
    let mut slices: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for &g in row_groups {
        let end = (start + g).min(run_of.len());
        if run_of[start..end].contains(&run) {
            match slices.last_mut() {
                Some((s, n)) if *s + *n == start && *n + g <= max_rows => *n += g,
                _ => slices.push((start, g)),
            }
        }
        start = end;
    }
    let mut parts = Vec::with_capacity(slices.len());
    for (offset, len) in slices {
        let mut df = spilled.slice(period, offset, len)?;
        let keep = &run_of[offset..offset + df.height()];
        if keep.iter().any(|&r| r != run) {
            let mask =
                BooleanChunked::from_iter_values(PlSmallStr::EMPTY, keep.iter().map(|&r| r == run));
            df = df.filter(&mask).map_err(perr)?;
        }
        parts.push(df);
    }
    Ok(sipas_dataset::stack(parts)
        .map_err(perr)?
        .unwrap_or_else(|| DataFrame::empty_with_schema(spilled.schema())))
}

/// The first unit code of each run of consecutive units (in byte order)
/// after the first run: runs of at most `max_rows` rows, a unit with more
/// rows alone. Row `i` is in run `runs.partition_point(|b| b <= unit_i)`.
fn unit_runs(units: &StringChunked, max_rows: usize) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for u in units.iter() {
        *counts.entry(u.unwrap_or_default()).or_default() += 1;
    }
    let mut distinct: Vec<(&str, usize)> = counts.into_iter().collect();
    distinct.sort_unstable();
    let mut runs = Vec::new();
    let mut rows = 0;
    for (u, n) in distinct {
        if rows > 0 && rows + n > max_rows {
            runs.push(u.to_string());
            rows = 0;
        }
        rows += n;
    }
    runs
}

/// Rows cut into row groups of `size` rows as they come, sorted part by
/// sorted part: each row group is sent once full, the last (shorter) one
/// by [`RowGroups::finish`].
struct RowGroups<'a> {
    size: usize,
    carry: Option<DataFrame>,
    /// Named by errors.
    path: &'a Path,
}

impl<'a> RowGroups<'a> {
    fn new(size: usize, path: &'a Path) -> Self {
        RowGroups {
            size: size.max(1),
            carry: None,
            path,
        }
    }

    /// Sends the rows of `df` in `order`, after the rows carried.
    fn push<E: From<Error>>(
        &mut self,
        df: &DataFrame,
        order: &[IdxSize],
        send: &mut dyn FnMut(DataFrame) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let perr = |source| Error::Polars {
            path: self.path.to_path_buf(),
            source,
        };
        let mut at = 0;
        while at < order.len() {
            let held = self.carry.as_ref().map_or(0, DataFrame::height);
            let n = (self.size - held).min(order.len() - at);
            let part = gather(df, &order[at..at + n]).map_err(perr)?;
            at += n;
            let part = match self.carry.take() {
                Some(mut c) => {
                    c.vstack_mut_owned(part).map_err(perr)?;
                    c
                }
                None => part,
            };
            if part.height() == self.size {
                send(part)?;
            } else {
                self.carry = Some(part);
            }
        }
        Ok(())
    }

    /// Sends the rows still carried.
    fn finish<E>(
        &mut self,
        send: &mut dyn FnMut(DataFrame) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.carry.take() {
            Some(c) => send(c),
            None => Ok(()),
        }
    }
}

/// Runs of consecutive rows at least this long on average are copied as
/// slices by [`gather`].
const GATHER_RUN: usize = 64;

/// The rows `idx` of `df`, in that order: as slices of `df` where the rows
/// come in runs of consecutive rows (inputs arrive sorted by unit and id
/// more often than not: a file per unit, an export in id order), else
/// gathered one by one. The same rows either way.
fn gather(df: &DataFrame, idx: &[IdxSize]) -> PolarsResult<DataFrame> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &i in idx {
        let i = i as usize;
        match runs.last_mut() {
            Some((start, len)) if *start + *len == i => *len += 1,
            _ => {
                if (runs.len() + 1) * GATHER_RUN > idx.len() {
                    let idx = IdxCa::from_vec(PlSmallStr::EMPTY, idx.to_vec());
                    return df.take(&idx);
                }
                runs.push((i, 1));
            }
        }
    }
    let parts = runs
        .into_iter()
        .map(|(start, len)| df.slice(start as i64, len));
    Ok(sipas_dataset::stack(parts)?.unwrap_or_else(|| df.clear()))
}

/// The row order of one period's rows: by (unit_code, response_id), ids
/// being unique among accepted rows.
fn sort_order(df: &DataFrame) -> PolarsResult<Vec<IdxSize>> {
    let units = df.column(schema::UNIT_CODE)?.str()?.rechunk();
    let ids = df.column(schema::RESPONSE_ID)?.str()?.rechunk();
    let (units, ids) = (units.downcast_as_array(), ids.downcast_as_array());
    // Units are few: compare their ranks, not their text.
    let mut distinct: Vec<&str> = units.values_iter().collect();
    distinct.par_sort_unstable();
    distinct.dedup();
    let rank: HashMap<&str, u32> = distinct
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, i as u32))
        .collect();
    let unit_rank: Vec<u32> = units.values_iter().map(|u| rank[u]).collect();
    let mut order: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        unit_rank[a]
            .cmp(&unit_rank[b])
            .then_with(|| ids.value(a).cmp(ids.value(b)))
    });
    Ok(order)
}

/// Fills in the detail of the duplicates whose first occurrence is among
/// the rows of `df` (see [`Merger::part`]).
fn resolve(
    df: &DataFrame,
    pending: &mut HashMap<String, Vec<usize>>,
    quarantine: &mut [QuarantinedRow],
) -> PolarsResult<()> {
    let ids = df.column(schema::RESPONSE_ID)?.str()?;
    let files = df.column(schema::SOURCE_FILE)?.str()?;
    let lines = df.column(schema::SOURCE_LINE)?.u64()?;
    for ((id, file), line) in ids.iter().zip(files.iter()).zip(lines.iter()) {
        let Some(id) = id else { continue };
        if let Some(qis) = pending.remove(id) {
            let detail = merge::dup_detail(id, file.unwrap_or_default(), line.unwrap_or_default());
            for qi in qis {
                quarantine[qi].detail.clone_from(&detail);
            }
            if pending.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

/// Reads and validates the inputs (files or folders, see
/// [`crate::discover`]) and writes into `out_dir` (created if needed) the
/// response table in `write.layout`, `quarantine.csv` and
/// `ingest-report.json`, each atomically. Memory stays bounded whatever the
/// number of rows (see the crate docs); the outputs are the same whatever
/// the chunk size and the number of threads. Temporary files go to a
/// hidden folder inside `out_dir` and are removed.
pub fn ingest_to(
    inputs: &[PathBuf],
    opts: &IngestOptions,
    read: &ReadOptions,
    out_dir: &Path,
    write: &WriteOptions,
) -> Result<IngestOutcome> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let run = run(inputs, opts, read, out_dir, out_dir, write, false)?;
    let responses = run.writer.finish()?;
    output::write_quarantine_file(out_dir, &run.quarantine)?;
    output::write_report_file(out_dir, &run.report)?;
    Ok(IngestOutcome {
        instrument: run.instrument,
        quarantined: run.report.totals.quarantined,
        report: run.report,
        responses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::FINGERPRINT_MASK;
    use std::fmt::Write as _;

    const ITEMS_2017: [&str; 22] = [
        "a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5", "c1", "c2", "c3", "c4", "c5", "c6",
        "d1", "d2", "d3", "e1", "e2", "e3", "e4",
    ];

    /// 40 rows with distinct ids `R0`…`R39`, then `R5` and `R17` again.
    fn input(dir: &Path) -> PathBuf {
        let answers = vec!["4"; ITEMS_2017.len()].join(",");
        let mut text = format!("response_id,unit_code,period,{}\n", ITEMS_2017.join(","));
        for i in (0..40).chain([5, 17]) {
            writeln!(text, "R{i},05443,2024Q1,{answers}").unwrap();
        }
        let path = dir.join("r.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn outputs(dir: &Path) -> Vec<Vec<u8>> {
        ["responses.parquet", "quarantine.csv", "ingest-report.json"]
            .iter()
            .map(|f| std::fs::read(dir.join(f)).unwrap())
            .collect()
    }

    /// The row order is by (unit, id) text: for rows in that order already
    /// (the identity, found without sorting), rows with two neighbours
    /// swapped, units interleaved, and shuffled rows.
    #[test]
    fn rows_are_ordered_by_unit_then_id() {
        let units = ["05536", "05569", "01834", "05431"];
        let rows: Vec<(String, String)> = (0..4_000u32)
            .map(|i| {
                let u = units[(i / 1_000) as usize];
                (
                    u.to_string(),
                    format!("{u}-2024Q1-{:06}", (i * 7919) % 1_000),
                )
            })
            .collect();
        let mut sorted = rows.clone();
        sorted.sort();
        let mut swapped = sorted.clone();
        swapped.swap(1_500, 1_501);
        let mut interleaved = sorted.clone();
        interleaved.sort_by_key(|(_, id)| id[id.len() - 3..].to_string());
        let mut rng = sipas_core::xorshift::XorShift64::new(3);
        let mut shuffled = sorted.clone();
        for i in (1..shuffled.len()).rev() {
            let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        for case in [rows, sorted.clone(), swapped, interleaved, shuffled] {
            let df = df![
                schema::UNIT_CODE => case.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
                schema::RESPONSE_ID => case.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
            ]
            .unwrap();
            let order = sort_order(&df).unwrap();
            let got: Vec<(String, String)> =
                order.iter().map(|&i| case[i as usize].clone()).collect();
            assert_eq!(got, sorted);
        }
    }

    /// Rows taken as slices (runs of consecutive rows) are the rows
    /// gathered one by one: the identity, long runs in another order, runs
    /// too short to slice, a reversal, a scatter, one row and none.
    #[test]
    fn rows_in_runs_are_the_rows_gathered() {
        let n = 5_000u32;
        let df = DataFrame::new(
            n as usize,
            vec![
                Column::new(
                    "id".into(),
                    (0..n).map(|i| format!("R{i}")).collect::<Vec<_>>(),
                ),
                Column::new(
                    "a".into(),
                    (0..n)
                        .map(|i| (i % 7 != 0).then_some((i % 5) as u8))
                        .collect::<Vec<_>>(),
                ),
                Column::new("w".into(), (0..n).map(f64::from).collect::<Vec<_>>()),
            ],
        )
        .unwrap();
        let blocks = |len: u32| -> Vec<IdxSize> {
            // Blocks of `len` rows, taken last block first.
            let mut v: Vec<IdxSize> = Vec::new();
            for b in (0..n.div_ceil(len)).rev() {
                v.extend(b * len..((b + 1) * len).min(n));
            }
            v
        };
        let mut scatter: Vec<IdxSize> = (0..n).collect();
        scatter.sort_by_key(|&i| (i * 7919) % n);
        let orders: Vec<Vec<IdxSize>> = vec![
            (0..n).collect(),
            (100..2100).collect(),
            blocks(700),
            blocks(64),
            blocks(63),
            blocks(3),
            (0..n).rev().collect(),
            scatter,
            vec![42],
            Vec::new(),
        ];
        for order in orders {
            let want = df
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, order.clone()))
                .unwrap();
            let got = gather(&df, &order).unwrap();
            assert_eq!(got.height(), order.len());
            assert!(got.equals_missing(&want), "{} rows", order.len());
        }
    }

    /// Runs of consecutive units (byte order) of at most `max` rows, a
    /// larger unit alone; worked out by hand.
    #[test]
    fn unit_runs_cut_sorted_units_into_runs_of_at_most_max_rows() {
        // Counts: 05440 ×2, 05443 ×3, 05446 ×1, 05449 ×4, 05452 ×1.
        let units = StringChunked::from_iter_values(
            PlSmallStr::EMPTY,
            [
                "05449", "05443", "05440", "05452", "05443", "05449", "05446", "05440", "05449",
                "05443", "05449",
            ]
            .into_iter(),
        );
        // 2 + 3 | 1 + 4 | 1, and 2 + 3 + 1 | 4 + 1.
        assert_eq!(unit_runs(&units, 5), ["05446", "05452"]);
        assert_eq!(unit_runs(&units, 6), ["05449"]);
        assert_eq!(unit_runs(&units, 3), ["05443", "05446", "05449", "05452"]);
        assert!(unit_runs(&units, 11).is_empty());
        assert_eq!(unit_runs(&units, 1), ["05443", "05446", "05449", "05452"]);
        // Row i's run: the boundaries at or before its unit.
        let runs = unit_runs(&units, 5);
        let run = |u: &str| runs.partition_point(|b| b.as_str() <= u);
        assert_eq!(
            ["05440", "05443", "05446", "05449", "05452"].map(run),
            [0, 0, 1, 1, 2]
        );
    }

    /// Parts sorted one after the other are cut into the row groups of the
    /// whole: full groups sent as they fill, the rest carried to the next
    /// part, the last group sent by `finish`.
    #[test]
    fn row_groups_are_cut_across_parts_as_if_sorted_whole() {
        let frame = |v: &[u32]| df!("x" => v).unwrap();
        let mut sent: Vec<Vec<u32>> = Vec::new();
        let mut send = |df: DataFrame| -> Result<()> {
            sent.push(
                df.column("x")
                    .unwrap()
                    .u32()
                    .unwrap()
                    .into_no_null_iter()
                    .collect(),
            );
            Ok(())
        };
        let mut groups = RowGroups::new(4, Path::new("t"));
        // Part 1, in the order 2, 0, 1: three rows, carried.
        groups
            .push(&frame(&[10, 11, 12]), &[2, 0, 1], &mut send)
            .unwrap();
        // Part 2: one row completes the group, four fill the next, two carried.
        groups
            .push(
                &frame(&[20, 21, 22, 23, 24, 25, 26]),
                &[6, 5, 4, 3, 2, 1, 0],
                &mut send,
            )
            .unwrap();
        // An empty part changes nothing.
        groups.push(&frame(&[]), &[], &mut send).unwrap();
        groups.finish(&mut send).unwrap();
        groups.finish(&mut send).unwrap();
        assert_eq!(
            sent,
            [vec![12, 10, 11, 26], vec![25, 24, 23, 22], vec![21, 20]]
        );
    }

    #[test]
    fn ids_sharing_a_64_bit_hash_are_caught_and_the_run_redone_with_full_keys() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = [input(dir.path())];
        let (opts, read) = (IngestOptions::default(), ReadOptions::default());
        let write = WriteOptions {
            chunk_rows: 4,
            ..WriteOptions::default()
        };
        let plain = dir.path().join("plain");
        let outcome = ingest_to(&inputs, &opts, &read, &plain, &write).unwrap();
        // Worked out by hand: lines 42 and 43 repeat lines 7 and 19.
        assert_eq!(outcome.report.totals.accepted, 40);
        let quarantine = String::from_utf8(outputs(&plain)[1].clone()).unwrap();
        assert!(quarantine.contains(",42,duplicate_response_id,response_id,"));
        assert!(quarantine.contains("r.csv line 19"));

        // Four bits of hash: 40 ids share 15 values, so the 64-bit set takes
        // distinct ids for one...
        FINGERPRINT_MASK.with(|m| m.set(0xF));
        let mut narrow = IdSet::narrow(40);
        let fooled = (0..40)
            .filter(|i| !narrow.insert(crate::ids::id_key(&format!("R{i}"))))
            .count();
        assert!(fooled >= 25, "40 ids, at most 15 hashes");
        // ... which the lookup catches; redone with full keys, the outputs
        // are those of the plain run.
        let redone = dir.path().join("redone");
        ingest_to(&inputs, &opts, &read, &redone, &write).unwrap();
        FINGERPRINT_MASK.with(|m| m.set(u64::MAX));
        assert!(outputs(&redone) == outputs(&plain));
    }
}
