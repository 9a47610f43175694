//! Cleaning a table larger than memory, with the same outputs as [`clean`]
//! on the whole table.
//!
//! Pass 1 reads `response_id`, `unit_code`, `period` (and `district`,
//! `submitted_at`) in chunks: it hashes every id (to find the ids that
//! occur more than once) and resolves every unit, keeping each row's
//! (period, unit) cell. The cells of each period, in unit order, are cut
//! into groups of at most `group_rows` rows (a larger cell is a group of
//! its own), so that a (resolved unit, period) cell, and therefore every
//! re-sent copy, lies within one group. When ids repeat, the submission
//! keys of their rows are read and the latest submission of each repeated
//! id is decided over the whole table, exactly as [`clean`] does (hash
//! collisions only add rows to compare). Pass 2 reads whole chunks: rows
//! in group order (as ingest writes them) are cut into groups as they are
//! read; otherwise they are spilled to their group first. Groups are
//! cleaned in parallel batches, in parts of whole cells: column by column
//! ([`crate::columns`]) where no row rule is needed, else as a part of the
//! table ([`crate::clean::clean_part`]) with the superseded rows decided
//! above; kept rows are written in group order, which is the canonical
//! order. The quarantine is held compactly ([`crate::held`]) and sorted at
//! the end as [`clean`] sorts it.
//!
//! [`clean`]: crate::clean()

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::path::Path;

use polars::prelude::{PlHashMap as HashMap, PlHashSet as HashSet, *};
use rayon::prelude::*;
use sipas_core::{Instrument, schema};
use sipas_dataset::{Dataset, DatasetWriter, Layout, Spill};

use crate::clean::{
    Before, CleanOptions, CleanReport, Excluded, Resolver, RowDates, Tally, Units, clean_part,
    submission_cmp,
};
use crate::columns::{ByColumns, Columns};
use crate::held::Held;
use crate::io::{
    BY_CELL, ORDINAL, QUARANTINE, REPORT, by_cell_csv, ds_err, instrument_for, polars_err,
    report_json, str_column, table_from_frame, to_frame, write_atomic, write_csv,
};
use crate::table::{DISTRICT, Response, ResponseTable, UNIT_TEXT};
use crate::{Error, Result, rules};

/// How [`clean_folder_with`] reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderOptions {
    /// Layout of the clean table. Default [`Layout::File`].
    pub layout: Layout,
    /// Rows cleaned at a time (a larger unit × period cell is cleaned whole).
    /// Memory grows with it. Default 500,000.
    pub group_rows: usize,
    /// Rows read at a time. Default 1,048,576.
    pub chunk_rows: usize,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            layout: Layout::File,
            group_rows: 500_000,
            chunk_rows: 1 << 20,
        }
    }
}

/// A fixed-key 64-bit hash of a response id (equal ids, equal hashes).
fn id_hash(id: &str) -> u64 {
    PlFixedStateQuality::default().hash_one(id)
}

/// A text column of a chunk (all null when the table has no such column).
fn text(df: &DataFrame, c: &str, path: &Path) -> Result<StringChunked> {
    if !df.schema().contains(c) {
        return Ok(StringChunked::full_null(c.into(), df.height()));
    }
    let col = df
        .column(c)
        .and_then(|x| x.cast(&DataType::String))
        .map_err(polars_err(path))?;
    Ok(col.str().map_err(polars_err(path))?.clone())
}

/// Period labels, numbered in order of appearance.
#[derive(Default)]
struct Periods {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Periods {
    fn get_or_insert(&mut self, p: &str) -> u32 {
        if let Some(&i) = self.index.get(p) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 periods");
        self.index.insert(p.to_string(), i);
        self.names.push(p.to_string());
        i
    }
}

/// Resolves the (period, unit) of every row of a chunk and calls `each(i,
/// id hash, period, resolution)`. Errors on a null required value.
fn for_each_row(
    df: &DataFrame,
    ordinal: u64,
    path: &Path,
    resolver: &mut Resolver<'_>,
    periods: &mut Periods,
    mut each: impl FnMut(usize, u64, u32, u32),
) -> Result<()> {
    let ids = text(df, schema::RESPONSE_ID, path)?;
    let units = text(df, schema::UNIT_CODE, path)?;
    let pers = text(df, schema::PERIOD, path)?;
    let districts = text(df, DISTRICT, path)?;
    let subs = text(df, schema::SUBMITTED_AT, path)?;
    let null = |i: usize, c: &str| Error::NullValue {
        path: path.to_path_buf(),
        row: usize::try_from(ordinal + i as u64 + 1).unwrap_or(usize::MAX),
        column: c.into(),
    };
    for (c, ca) in [
        (schema::RESPONSE_ID, &ids),
        (schema::UNIT_CODE, &units),
        (schema::PERIOD, &pers),
    ] {
        if ca.null_count() > 0 {
            let i = ca.iter().position(|v| v.is_none()).expect("has a null");
            return Err(null(i, c));
        }
    }
    // Each row's id hash and submission date, in parallel (neither needs the
    // resolver).
    let (ids, subs) = (ids.rechunk(), subs.rechunk());
    let (ids, subs) = (ids.downcast_as_array(), subs.downcast_as_array());
    let per_row: Vec<(u64, Option<sipas_core::history::IsoDate>)> = (0..df.height())
        .into_par_iter()
        .with_min_len(1 << 14)
        .map(|i| {
            let sub = subs.get(i);
            (id_hash(ids.value(i)), crate::clean::submitted_date(sub))
        })
        .collect();
    let mut last_unit: Option<(&str, Option<&str>, RowDates, u32)> = None;
    let mut last_period: Option<(&str, u32)> = None;
    let rows = per_row
        .iter()
        .zip(units.iter().map(Option::unwrap_or_default))
        .zip(pers.iter().map(Option::unwrap_or_default))
        .zip(districts.iter());
    for (i, ((((hash, sub), unit), period), district)) in rows.enumerate() {
        let dates = resolver.dates_of(*sub, period);
        let r = match last_unit {
            Some((u, d, t, r)) if u == unit && d == district && t == dates => r,
            _ => {
                let r = resolver.resolve(unit, district, dates);
                last_unit = Some((unit, district, dates, r));
                r
            }
        };
        let p = match last_period {
            Some((q, p)) if q == period => p,
            _ => {
                let p = periods.get_or_insert(period);
                last_period = Some((period, p));
                p
            }
        };
        each(i, *hash, p, r);
    }
    Ok(())
}

/// What decides which of the rows sharing an id was submitted last.
struct DupRow {
    ordinal: u64,
    id: String,
    submitted_at: Option<String>,
    source_file: String,
    source_line: u64,
}

impl DupRow {
    fn submission(&self) -> (Option<&str>, &str, u64) {
        (
            self.submitted_at.as_deref(),
            &self.source_file,
            self.source_line,
        )
    }
}

/// The submission keys of rows `idx` of a chunk, as the table reader reads them.
fn dup_rows(
    df: &DataFrame,
    ordinal: u64,
    idx: &[usize],
    default_file: &str,
    path: &Path,
) -> Result<Vec<DupRow>> {
    let ids = text(df, schema::RESPONSE_ID, path)?;
    let sub = text(df, schema::SUBMITTED_AT, path)?;
    let files = text(df, schema::SOURCE_FILE, path)?;
    let lines = if df.schema().contains(schema::SOURCE_LINE) {
        let c = df
            .column(schema::SOURCE_LINE)
            .and_then(|x| x.cast(&DataType::Float64))
            .map_err(polars_err(path))?;
        Some(c.f64().map_err(polars_err(path))?.clone())
    } else {
        None
    };
    Ok(idx
        .iter()
        .map(|&i| {
            let o = ordinal + i as u64;
            DupRow {
                ordinal: o,
                id: ids.get(i).unwrap_or_default().to_string(),
                submitted_at: sub.get(i).map(str::to_string),
                source_file: files.get(i).unwrap_or(default_file).to_string(),
                source_line: lines
                    .as_ref()
                    .and_then(|c| c.get(i))
                    .map_or(o + 2, |v| v as u64),
            }
        })
        .collect())
}

/// The whole rows at `wanted` ordinals.
fn fetch_rows(
    ds: &Dataset,
    wanted: &HashSet<u64>,
    instrument: &Instrument,
    default_file: &str,
    chunk_rows: usize,
) -> Result<HashMap<u64, Response>> {
    let path = ds.path();
    let mut out = HashMap::default();
    for chunk in ds.chunks(chunk_rows, None) {
        let chunk = chunk.map_err(ds_err)?;
        let n = chunk.df.height() as u64;
        let ords: Vec<u64> = (chunk.ordinal..chunk.ordinal + n)
            .filter(|o| wanted.contains(o))
            .collect();
        if ords.is_empty() {
            continue;
        }
        let idx: Vec<IdxSize> = ords
            .iter()
            .map(|o| IdxSize::try_from(o - chunk.ordinal).expect("chunk index fits"))
            .collect();
        let df = chunk
            .df
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx))
            .map_err(polars_err(path))?;
        let t = table_from_frame(&df, instrument, path, default_file, Some(&ords))?;
        out.extend(ords.into_iter().zip(t.rows));
    }
    Ok(out)
}

/// Decides, over the whole table, which rows of a repeated id are
/// superseded (ordinal → detail), as [`crate::clean()`] does: the latest
/// submission wins; among equal submissions, the greatest row after
/// recoding in the canonical order; among equal rows, the first in the
/// canonical order of the rows as read, then in table order.
fn decide_duplicates(
    mut rows: Vec<DupRow>,
    ds: &Dataset,
    instrument: &Instrument,
    default_file: &str,
    chunk_rows: usize,
) -> Result<HashMap<u64, String>> {
    rows.sort_by(|a, b| a.id.cmp(&b.id).then(a.ordinal.cmp(&b.ordinal)));
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let end = start + rows[start..].partition_point(|r| r.id == rows[start].id);
        if end - start > 1 {
            runs.push(start..end);
        }
        start = end;
    }
    // Per run: the rows tied at the latest submission.
    let mut tied: Vec<Vec<usize>> = Vec::with_capacity(runs.len());
    for run in &runs {
        let best = run
            .clone()
            .max_by(|&a, &b| submission_cmp(rows[a].submission(), rows[b].submission()))
            .expect("a run has rows");
        tied.push(
            run.clone()
                .filter(|&i| submission_cmp(rows[i].submission(), rows[best].submission()).is_eq())
                .collect(),
        );
    }
    let wanted: HashSet<u64> = tied
        .iter()
        .filter(|t| t.len() > 1)
        .flatten()
        .map(|&i| rows[i].ordinal)
        .collect();
    let full = if wanted.is_empty() {
        HashMap::default()
    } else {
        fetch_rows(ds, &wanted, instrument, default_file, chunk_rows)?
    };
    let mut superseded = HashMap::default();
    for (run, tied) in runs.into_iter().zip(tied) {
        let winner = if let [only] = tied[..] {
            only
        } else {
            let mut t: Vec<(usize, &Response)> =
                tied.iter().map(|&i| (i, &full[&rows[i].ordinal])).collect();
            t.sort_by(|a, b| {
                a.1.canonical_cmp(b.1)
                    .then(rows[a.0].ordinal.cmp(&rows[b.0].ordinal))
            });
            let recoded: Vec<Response> = t
                .iter()
                .map(|(_, r)| {
                    let mut r = (*r).clone();
                    if rules::recode(&mut r.answers, instrument).any() {
                        r.flags.recoded = true;
                    }
                    r
                })
                .collect();
            let mut w = 0;
            for j in 1..recoded.len() {
                if recoded[j].canonical_cmp(&recoded[w]).is_gt() {
                    w = j;
                }
            }
            t[w].0
        };
        let detail = format!(
            "superseded by {}:{}",
            rows[winner].source_file, rows[winner].source_line
        );
        for i in run {
            if i != winner {
                superseded.insert(rows[i].ordinal, detail.clone());
            }
        }
    }
    Ok(superseded)
}

/// Writes a frame sorted by period, one period at a time.
fn write_by_period(w: &mut DatasetWriter, df: &DataFrame, path: &Path) -> Result<()> {
    let periods = text(df, schema::PERIOD, path)?;
    let periods: Vec<&str> = periods.iter().map(Option::unwrap_or_default).collect();
    let mut start = 0;
    while start < periods.len() {
        let p = periods[start];
        let len = periods[start..].partition_point(|q| *q == p);
        w.write(p, &df.slice(start as i64, len)).map_err(ds_err)?;
        start += len;
    }
    Ok(())
}

/// `sipas clean DIR -o CLEAN` with the default [`FolderOptions`]: reads the
/// response table of `DIR` (either layout), cleans it and writes
/// `CLEAN/{responses.parquet, quarantine.csv, clean-report.json,
/// clean-by-cell.csv}`. Same outputs as [`crate::clean()`] +
/// [`crate::io::write_outcome`] on the whole table, in bounded memory (see
/// [`clean_folder_with`]).
pub fn clean_folder<'u>(
    data: &Path,
    out: &Path,
    instrument: Option<&Instrument>,
    units: impl Into<Units<'u>>,
    opts: &CleanOptions,
) -> Result<CleanReport> {
    clean_folder_with(
        data,
        out,
        instrument,
        units,
        opts,
        &FolderOptions::default(),
    )
}

/// [`clean_folder`] with `folder`'s layout and sizes. Reads the response
/// table of `data` (either layout) in chunks: once for the ids and units,
/// then whole. When the rows come in (period, unit) order (as `sipas
/// ingest` writes them) each group is cleaned as soon as it is read;
/// otherwise the rows are first spilled by group of (period, unit) cells
/// into a temporary folder inside `out`. Groups are cleaned two or more at
/// a time (one per core): the outputs are those of [`crate::clean()`] and
/// [`crate::io::write_outcome_with`] on the whole table, whatever the sizes.
pub fn clean_folder_with<'u>(
    data: &Path,
    out: &Path,
    instrument: Option<&Instrument>,
    units: impl Into<Units<'u>>,
    opts: &CleanOptions,
    folder: &FolderOptions,
) -> Result<CleanReport> {
    opts.check()?;
    let ds = Dataset::open(data).map_err(ds_err)?;
    let path = ds.path().to_path_buf();
    let instrument = instrument_for(&ds.column_names(), instrument, &path)?;
    let default_file = path.display().to_string();
    let chunk_rows = folder.chunk_rows.max(1);
    let group_rows = folder.group_rows.max(1) as u64;
    // The table's columns and types, as the whole-table reader sees them.
    let meta = table_from_frame(
        &DataFrame::empty_with_schema(ds.schema()),
        &instrument,
        &path,
        &default_file,
        None,
    )?;
    let mut resolver = Resolver::new(units.into(), opts);
    let mut periods = Periods::default();
    let read = Reading {
        ds: &ds,
        path: &path,
        default_file: &default_file,
        chunk_rows,
    };
    let scan = scan_ids_and_cells(&read, meta.has_district, &mut resolver, &mut periods)?;
    let (groups, group_of_cell) = plan_groups(&scan, &periods, &resolver, group_rows);
    let superseded = if scan.repeated.is_empty() {
        HashMap::default()
    } else {
        let dups = repeated_id_rows(&read, &scan.repeated)?;
        decide_duplicates(dups, &ds, &instrument, &default_file, chunk_rows)?
    };
    // Each row's group, and whether the rows come in group order.
    let row_group: Vec<u32> = scan
        .row_cell
        .iter()
        .map(|&c| group_of_cell[c as usize])
        .collect();
    let in_order = row_group.windows(2).all(|w| w[0] <= w[1]);

    // The table carries `unit_text` if a kept row was matched by name:
    // assume so if any row was; fix it at the end.
    let any_named = resolver.all().iter().any(|r| r.named && r.result.is_ok());
    let extra = resolver.with_old_code_column(&meta.extra);
    let mut out_meta = ResponseTable {
        has_unit_text: meta.has_unit_text || any_named,
        extra,
        ..meta
    };
    let out_schema = with_masks(to_frame(&out_meta, true), &instrument, out)?
        .schema()
        .clone();
    let cell_resolution: Vec<u32> = scan.cells.iter().map(|&(_, r)| r).collect();
    let row_resolution: Vec<u32> = scan
        .row_cell
        .iter()
        .map(|&c| cell_resolution[c as usize])
        .collect();
    drop(scan);
    let mut batch = Batches {
        cleaner: GroupCleaner {
            instrument: &instrument,
            path: &path,
            out,
            default_file: &default_file,
            resolver: &resolver,
            opts,
            superseded: &superseded,
            row_resolution: &row_resolution,
            out_meta: &out_meta,
            part_rows: usize::try_from(group_rows / 8).unwrap_or(usize::MAX).max(1),
        },
        writer: DatasetWriter::create(out, folder.layout, &out_schema).map_err(ds_err)?,
        groups: &groups,
        pending: Vec::new(),
        pending_rows: 0,
        max_rows: usize::try_from(group_rows).unwrap_or(usize::MAX),
        tally: Tally::new(),
        quarantine: Held::default(),
    };
    sipas_core::progress::begin("clean: pass 2 of 2", "rows", Some(ds.rows()));
    if in_order {
        clean_in_order(&read, &row_group, &mut batch)?;
    } else {
        let spill = spill_by_group(&read, out, &row_group)?;
        let mut spilled = spill.map(Spill::finish).transpose().map_err(ds_err)?;
        for g in 0..groups.len() {
            let Some(sp) = spilled.as_mut() else { break };
            let g = u32::try_from(g).expect("few groups");
            let df = sp.take(&g).map_err(ds_err)?;
            batch.push(g, df)?;
        }
        batch.flush()?;
    }
    sipas_core::progress::end();
    let Batches {
        writer,
        tally,
        quarantine,
        ..
    } = batch;
    writer.finish().map_err(ds_err)?;
    let has_unit_text = meta_has_unit_text(&ds) || tally.kept_named;
    if out_meta.has_unit_text && !has_unit_text {
        out_meta.has_unit_text = false;
        rewrite_without_unit_text(&out_meta, &instrument, out, folder)?;
    }

    let (report, cells) = tally.finish(&instrument, opts)?;
    quarantine.write(&out.join(QUARANTINE), &out_meta, &instrument)?;
    write_csv(&out.join(BY_CELL), &by_cell_csv(&cells)?)?;
    write_atomic(&out.join(REPORT), &report_json(&report)?)?;
    Ok(report)
}

/// What cleaning one group needs.
struct GroupCleaner<'a> {
    instrument: &'a Instrument,
    path: &'a Path,
    out: &'a Path,
    default_file: &'a str,
    resolver: &'a Resolver<'a>,
    opts: &'a CleanOptions,
    superseded: &'a HashMap<u64, String>,
    /// Each row's unit resolution (by ordinal).
    row_resolution: &'a [u32],
    /// The clean table's columns (no rows).
    out_meta: &'a ResponseTable,
    /// Rows of a group cleaned at a time when its cells come in order (an
    /// eighth of a group): a cell that needs the row-wise rules (a copy, a
    /// name) then takes only its part with it.
    part_rows: usize,
}

/// One group cleaned: its kept rows as a frame, its counts and its
/// quarantine.
type Cleaned = (Option<DataFrame>, Tally, Vec<(Excluded, Before)>);

/// Row `i`'s (period, unit, id) from those three columns: the order of the
/// clean table.
fn canonical_key(k: &[StringChunked; 3], i: usize) -> (Option<&str>, Option<&str>, Option<&str>) {
    (k[0].get(i), k[1].get(i), k[2].get(i))
}

impl GroupCleaner<'_> {
    /// Cleans the rows of one group (with their ordinals): in parts of
    /// whole cells when the cells come in order, each part column by
    /// column when it can be.
    fn clean(&self, df: &DataFrame) -> Result<Cleaned> {
        let path = self.path;
        let ordinals: Vec<u64> = df
            .column(ORDINAL)
            .map_err(polars_err(path))?
            .u64()
            .map_err(polars_err(path))?
            .into_no_null_iter()
            .collect();
        let at = |o: u64| usize::try_from(o).expect("ordinal fits");
        let resolved: Vec<u32> = ordinals
            .iter()
            .map(|&o| self.row_resolution[at(o)])
            .collect();
        let mut frames = Vec::new();
        let mut tally = Tally::new();
        let mut quarantine = Vec::new();
        for part in self.parts(&resolved) {
            let len = part.len();
            let sub = df.slice(i64::try_from(part.start).expect("group fits"), len);
            let (frame, t, q) = self.clean_rows(&sub, &ordinals[part.clone()], &resolved[part])?;
            frames.extend(frame);
            tally.add(&t);
            quarantine.extend(q);
        }
        let frame = if frames.is_empty() {
            None
        } else {
            Some(concat(frames, path)?)
        };
        Ok((frame, tally, quarantine))
    }

    /// The group's rows cut into parts of whole cells of at least
    /// `part_rows` rows, when each cell's rows come together and the
    /// cells in order (as the clean table sorts them); else one part.
    fn parts(&self, resolved: &[u32]) -> Vec<std::ops::Range<usize>> {
        let n = resolved.len();
        let cell = |i: usize| self.resolver.get(resolved[i]).cell();
        let mut cuts = vec![0];
        for i in 1..n {
            if resolved[i] == resolved[i - 1] {
                continue;
            }
            match cell(i - 1).cmp(cell(i)) {
                std::cmp::Ordering::Less => {
                    if i - cuts.last().expect("starts at 0") >= self.part_rows {
                        cuts.push(i);
                    }
                }
                std::cmp::Ordering::Equal => {}
                std::cmp::Ordering::Greater => return std::iter::once(0..n).collect(),
            }
        }
        cuts.push(n);
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }

    /// Cleans rows of whole cells: column by column when no rule needs the
    /// rows, else through the row structs; when the only rule is re-sent
    /// copies, the rows that may be copies (a few) through the row structs
    /// and the others column by column ([`Self::split_copies`]).
    fn clean_rows(&self, df: &DataFrame, ordinals: &[u64], resolved: &[u32]) -> Result<Cleaned> {
        if self.superseded.is_empty() || !ordinals.iter().any(|o| self.superseded.contains_key(o)) {
            match self.by_columns().clean(df, ordinals, resolved)? {
                ByColumns::Done(done) => {
                    let (frame, tally) = *done;
                    return Ok((Some(frame), tally, Vec::new()));
                }
                ByColumns::Copies(maybe) if maybe.len() * 4 < df.height() => {
                    if let Some(c) = self.split_copies(df, ordinals, resolved, &maybe)? {
                        return Ok(c);
                    }
                }
                ByColumns::Copies(_) | ByColumns::Rows => {}
            }
        }
        self.by_rows(df, ordinals, resolved)
    }

    fn by_columns(&self) -> Columns<'_> {
        Columns {
            instrument: self.instrument,
            path: self.path,
            default_file: self.default_file,
            resolver: self.resolver,
            opts: self.opts,
            out_meta: self.out_meta,
        }
    }

    /// Rows of whole cells in which the only rule that needs the rows is
    /// re-sent copies (every row has a submission time, no id repeats, every
    /// unit a code in force), `maybe` the rows that may be copies or copied
    /// (ascending). A copy is equal to the row it copies in everything the
    /// hash covers, so the other rows are neither: they are cleaned column
    /// by column and kept, `maybe` through the row structs, and the kept
    /// rows of both put back in the order read (strictly canonical, so by
    /// period, unit and id). The counts add up; only rows of `maybe` can be
    /// excluded. `None` when the other rows still need the rows (an
    /// excluded flag): the caller cleans the whole part row by row.
    fn split_copies(
        &self,
        df: &DataFrame,
        ordinals: &[u64],
        resolved: &[u32],
        maybe: &[usize],
    ) -> Result<Option<Cleaned>> {
        let path = self.path;
        let n = df.height();
        let mut in_maybe = vec![false; n];
        for &i in maybe {
            in_maybe[i] = true;
        }
        let (rest, copies): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| !in_maybe[i]);
        let take = |rows: &[usize]| -> Result<(DataFrame, Vec<u64>, Vec<u32>)> {
            let idx: Vec<IdxSize> = rows
                .iter()
                .map(|&i| IdxSize::try_from(i).expect("a part fits IdxSize"))
                .collect();
            let sub = df
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx))
                .map_err(polars_err(path))?;
            Ok((
                sub,
                rows.iter().map(|&i| ordinals[i]).collect(),
                rows.iter().map(|&i| resolved[i]).collect(),
            ))
        };
        let (sub, o, r) = take(&rest)?;
        let ByColumns::Done(done) = self.by_columns().clean(&sub, &o, &r)? else {
            return Ok(None);
        };
        let (frame, mut tally) = *done;
        let (sub, o, r) = take(&copies)?;
        let (kept, t, quarantine) = self.by_rows(&sub, &o, &r)?;
        tally.add(&t);
        let Some(kept) = kept else {
            return Ok(Some((Some(frame), tally, quarantine)));
        };
        // Both in the order read (strictly canonical in such a part): each
        // kept copy goes where its (period, unit, id) falls among the rest.
        let keys = |f: &DataFrame| -> Result<[StringChunked; 3]> {
            let col = |c: &str| str_column(f, c, path);
            Ok([
                col(schema::PERIOD)?,
                col(schema::UNIT_CODE)?,
                col(schema::RESPONSE_ID)?,
            ])
        };
        let (ka, kb) = (keys(&frame)?, keys(&kept)?);
        let (na, nb) = (frame.height(), kept.height());
        let at = |k: usize| IdxSize::try_from(k).expect("a part fits IdxSize");
        let mut order: Vec<IdxSize> = Vec::with_capacity(na + nb);
        let mut from = 0;
        for j in 0..nb {
            let kj = canonical_key(&kb, j);
            let (mut lo, mut hi) = (from, na);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if canonical_key(&ka, mid) < kj {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            order.extend((from..lo).map(at));
            order.push(at(na + j));
            from = lo;
        }
        order.extend((from..na).map(at));
        let both = concat(vec![frame, kept], path)?;
        let merged = both
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, order))
            .map_err(polars_err(path))?;
        Ok(Some((Some(merged), tally, quarantine)))
    }

    /// Cleans rows of whole cells through the row structs.
    fn by_rows(&self, df: &DataFrame, ordinals: &[u64], resolved: &[u32]) -> Result<Cleaned> {
        let path = self.path;
        let table = table_from_frame(df, self.instrument, path, self.default_file, Some(ordinals))?;
        let pre: Vec<Option<String>> = ordinals
            .iter()
            .map(|o| self.superseded.get(o).cloned())
            .collect();
        let part = clean_part(
            table.rows,
            resolved.to_vec(),
            Some(pre),
            self.instrument,
            self.resolver,
            self.opts,
        );
        let frame = if part.kept.is_empty() {
            None
        } else {
            let kept = ResponseTable {
                items: self.out_meta.items.clone(),
                extra: self.out_meta.extra.clone(),
                rows: part.kept,
                ..*self.out_meta
            };
            Some(to_frame(&kept, true).map_err(polars_err(self.out))?)
        };
        Ok((
            frame,
            part.tally,
            part.quarantine.into_iter().zip(part.before).collect(),
        ))
    }
}

/// Groups waiting to be cleaned (several at a time, in parallel) and
/// written in group order.
struct Batches<'a> {
    cleaner: GroupCleaner<'a>,
    writer: DatasetWriter,
    groups: &'a [Group],
    pending: Vec<(u32, DataFrame)>,
    pending_rows: usize,
    /// Rows per batch (at least one group per core).
    max_rows: usize,
    tally: Tally,
    quarantine: Held,
}

impl Batches<'_> {
    /// Adds the rows of group `g` (groups come in order).
    fn push(&mut self, g: u32, df: DataFrame) -> Result<()> {
        self.pending_rows += df.height();
        self.pending.push((g, df));
        if self.pending.len() >= rayon::current_num_threads().max(2)
            && self.pending_rows >= self.max_rows
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Cleans the pending groups and writes their kept rows in order.
    fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        let cleaned: Vec<Result<Cleaned>> = pending
            .par_iter()
            .map(|(_, df)| {
                let (frame, tally, quarantine) = self.cleaner.clean(df)?;
                let frame = frame
                    .map(|f| with_masks(Ok(f), self.cleaner.instrument, self.cleaner.out))
                    .transpose()?;
                Ok((frame, tally, quarantine))
            })
            .collect();
        for ((g, df), c) in pending.into_iter().zip(cleaned) {
            sipas_core::progress::advance(df.height() as u64);
            drop(df);
            let (frame, tally, quarantine) = c?;
            self.tally.add(&tally);
            for (e, before) in quarantine {
                self.quarantine.push(e, &before);
            }
            if let Some(frame) = frame {
                let period = &self.groups[g as usize].0;
                self.writer.write(period, &frame).map_err(ds_err)?;
            }
        }
        Ok(())
    }
}

/// A group: its period and its number of rows.
type Group = (String, u64);

/// Where the response table is read from, and in what chunks.
struct Reading<'a> {
    ds: &'a Dataset,
    path: &'a Path,
    default_file: &'a str,
    chunk_rows: usize,
}

/// What pass 1 finds.
struct Scan {
    /// The id hashes that occur more than once.
    repeated: HashSet<u64>,
    /// The distinct (period index, unit resolution index) cells.
    cells: Vec<(u32, u32)>,
    /// Rows per cell.
    counts: Vec<u64>,
    /// Each row's cell (an index into `cells`).
    row_cell: Vec<u32>,
}

/// Pass 1: the ids whose hash occurs more than once, and the (period, unit
/// resolution) cell of every row.
fn scan_ids_and_cells(
    read: &Reading<'_>,
    has_district: bool,
    resolver: &mut Resolver<'_>,
    periods: &mut Periods,
) -> Result<Scan> {
    let ds = read.ds;
    let mut pass1 = vec![schema::RESPONSE_ID, schema::UNIT_CODE, schema::PERIOD];
    if has_district {
        pass1.push(DISTRICT);
    }
    if ds.has_column(schema::SUBMITTED_AT) {
        pass1.push(schema::SUBMITTED_AT);
    }
    let capacity = usize::try_from(ds.rows()).unwrap_or(0);
    let mut hashes: Vec<u64> = Vec::with_capacity(capacity);
    let mut row_cell: Vec<u32> = Vec::with_capacity(capacity);
    let mut cell_of: HashMap<(u32, u32), u32> = HashMap::default();
    let mut cells: Vec<(u32, u32)> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut last: Option<((u32, u32), u32)> = None;
    sipas_core::progress::begin("clean: pass 1 of 2", "rows", Some(ds.rows()));
    // The next chunk is read (decompressed, decoded) on its own thread while
    // this one is resolved.
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for chunk in ds.chunks(read.chunk_rows, Some(&pass1)) {
                if tx.send(chunk).is_err() {
                    break;
                }
            }
        });
        for chunk in rx {
            let chunk = chunk.map_err(ds_err)?;
            sipas_core::progress::advance(chunk.df.height() as u64);
            for_each_row(
                &chunk.df,
                chunk.ordinal,
                read.path,
                resolver,
                periods,
                |_, hash, p, r| {
                    hashes.push(hash);
                    let c = match last {
                        Some((k, c)) if k == (p, r) => c,
                        _ => {
                            let c = *cell_of.entry((p, r)).or_insert_with(|| {
                                cells.push((p, r));
                                counts.push(0);
                                u32::try_from(cells.len() - 1).expect("fewer than 2^32 cells")
                            });
                            last = Some(((p, r), c));
                            c
                        }
                    };
                    counts[c as usize] += 1;
                    row_cell.push(c);
                },
            )?;
        }
        Ok(())
    })?;
    sipas_core::progress::end();
    hashes.par_sort_unstable();
    let repeated: HashSet<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    Ok(Scan {
        repeated,
        cells,
        counts,
        row_cell,
    })
}

/// The groups cleaned one at a time: per period (in text order), runs of
/// unit cells (in text order) of at most `group_rows` rows (a larger cell
/// is a group of its own); and the group of each cell of `scan`.
fn plan_groups(
    scan: &Scan,
    periods: &Periods,
    resolver: &Resolver<'_>,
    group_rows: u64,
) -> (Vec<Group>, Vec<u32>) {
    let mut groups: Vec<(String, u64)> = Vec::new();
    let mut cells: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let name = |&(p, r): &(u32, u32)| (periods.names[p as usize].as_str(), resolver.get(r).cell());
    for (cell, &c) in scan.cells.iter().zip(&scan.counts) {
        *cells.entry(name(cell)).or_default() += c;
    }
    let mut group_of_cell: HashMap<(&str, &str), u32> = HashMap::default();
    for (&(p, u), &c) in &cells {
        let new = groups
            .last()
            .is_none_or(|(gp, gr)| gp != p || (*gr > 0 && gr + c > group_rows));
        if new {
            groups.push((p.to_string(), 0));
        }
        let g = groups.last_mut().expect("pushed above");
        g.1 += c;
        group_of_cell.insert((p, u), u32::try_from(groups.len() - 1).expect("few groups"));
    }
    let group_of = scan
        .cells
        .iter()
        .map(|cell| group_of_cell[&name(cell)])
        .collect();
    (groups, group_of)
}

/// The submission keys of the rows whose id hash is repeated.
fn repeated_id_rows(read: &Reading<'_>, repeated: &HashSet<u64>) -> Result<Vec<DupRow>> {
    let ds = read.ds;
    let cols: Vec<&str> = [
        schema::RESPONSE_ID,
        schema::SUBMITTED_AT,
        schema::SOURCE_FILE,
        schema::SOURCE_LINE,
    ]
    .into_iter()
    .filter(|c| ds.has_column(c))
    .collect();
    let mut dups = Vec::new();
    for chunk in ds.chunks(read.chunk_rows, Some(&cols)) {
        let chunk = chunk.map_err(ds_err)?;
        let ids = text(&chunk.df, schema::RESPONSE_ID, read.path)?;
        let idx: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| repeated.contains(&id_hash(id.unwrap_or_default())))
            .map(|(i, _)| i)
            .collect();
        if !idx.is_empty() {
            dups.extend(dup_rows(
                &chunk.df,
                chunk.ordinal,
                &idx,
                read.default_file,
                read.path,
            )?);
        }
    }
    Ok(dups)
}

/// A chunk with its rows' ordinals.
fn with_ordinals(mut df: DataFrame, ordinal: u64, path: &Path) -> Result<DataFrame> {
    let n = df.height() as u64;
    let ord = UInt64Chunked::from_vec(ORDINAL.into(), (ordinal..ordinal + n).collect());
    df.with_column(ord.into_column())
        .map_err(polars_err(path))?;
    Ok(df)
}

/// The chunk's rows of `row_group` (by ordinal), checking that the table
/// has the rows pass 1 counted.
fn chunk_groups<'g>(
    row_group: &'g [u32],
    ordinal: u64,
    n: usize,
    path: &Path,
) -> Result<&'g [u32]> {
    let start = usize::try_from(ordinal).unwrap_or(usize::MAX);
    row_group
        .get(start..start.saturating_add(n))
        .ok_or_else(|| {
            Error::Dataset(sipas_dataset::Error::Layout {
                path: path.to_path_buf(),
                message: "the table changed while it was read".into(),
            })
        })
}

/// Pass 2 when the rows come in group order: each group is cut from the
/// chunks as they are read and cleaned once whole.
fn clean_in_order(read: &Reading<'_>, row_group: &[u32], batch: &mut Batches<'_>) -> Result<()> {
    let path = read.path;
    let mut current: Option<(u32, Vec<DataFrame>)> = None;
    for chunk in read.ds.chunks(read.chunk_rows, None) {
        let chunk = chunk.map_err(ds_err)?;
        let n = chunk.df.height();
        let keys = chunk_groups(row_group, chunk.ordinal, n, path)?;
        let df = with_ordinals(chunk.df, chunk.ordinal, path)?;
        let mut start = 0;
        while start < n {
            let g = keys[start];
            let len = keys[start..].partition_point(|&k| k == g);
            let part = df.slice(i64::try_from(start).expect("chunk fits"), len);
            match current.as_mut() {
                Some((cg, parts)) if *cg == g => parts.push(part),
                _ => {
                    if let Some((cg, parts)) = current.replace((g, vec![part])) {
                        batch.push(cg, concat(parts, path)?)?;
                    }
                }
            }
            start += len;
        }
    }
    if let Some((cg, parts)) = current {
        batch.push(cg, concat(parts, path)?)?;
    }
    batch.flush()
}

/// The frames one after the other, as one chunk.
fn concat(parts: Vec<DataFrame>, path: &Path) -> Result<DataFrame> {
    let mut parts = parts.into_iter();
    let mut df = parts.next().expect("at least one part");
    for p in parts {
        df.vstack_mut_owned(p).map_err(polars_err(path))?;
    }
    df.rechunk_mut();
    Ok(df)
}

/// Pass 2 otherwise: every row, with its ordinal, spilled into `out` by
/// group.
fn spill_by_group(read: &Reading<'_>, out: &Path, row_group: &[u32]) -> Result<Option<Spill<u32>>> {
    let path = read.path;
    let mut spill: Option<Spill<u32>> = None;
    for chunk in read.ds.chunks(read.chunk_rows, None) {
        let chunk = chunk.map_err(ds_err)?;
        let n = chunk.df.height();
        let keys = chunk_groups(row_group, chunk.ordinal, n, path)?;
        let df = with_ordinals(chunk.df, chunk.ordinal, path)?;
        if spill.is_none() {
            spill = Some(Spill::new_in(out, df.schema()).map_err(ds_err)?);
        }
        spill
            .as_mut()
            .expect("created above")
            .push_by(&df, keys)
            .map_err(ds_err)?;
    }
    Ok(spill)
}

/// A frame of the clean table with its two answer-mask columns
/// ([`sipas_dataset::with_answer_masks`]), which `sipas aggregate` reads
/// instead of decoding every item.
fn with_masks(
    frame: PolarsResult<DataFrame>,
    instrument: &Instrument,
    out: &Path,
) -> Result<DataFrame> {
    frame
        .and_then(|f| sipas_dataset::with_answer_masks(f, instrument))
        .map_err(polars_err(out))
}

/// Rewrites the clean table of `out` without `unit_text` (no kept row was
/// matched by name).
fn rewrite_without_unit_text(
    out_meta: &ResponseTable,
    instrument: &Instrument,
    out: &Path,
    folder: &FolderOptions,
) -> Result<()> {
    let schema = with_masks(to_frame(out_meta, true), instrument, out)?
        .schema()
        .clone();
    let written = Dataset::open(out).map_err(ds_err)?;
    let mut w = DatasetWriter::create(out, folder.layout, &schema).map_err(ds_err)?;
    for chunk in written.chunks(folder.chunk_rows.max(1), None) {
        let chunk = chunk.map_err(ds_err)?;
        let df = chunk.df.drop(UNIT_TEXT).map_err(polars_err(out))?;
        write_by_period(&mut w, &df, out)?;
    }
    w.finish().map_err(ds_err)?;
    Ok(())
}

fn meta_has_unit_text(ds: &Dataset) -> bool {
    ds.has_column(UNIT_TEXT)
}
