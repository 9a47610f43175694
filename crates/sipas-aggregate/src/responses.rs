//! The response table in memory, in the compact layout the estimators use.
//!
//! Text columns (`unit_code`, `period`, `channel`) are dictionary-encoded: each
//! distinct value is stored once and rows hold `u32` indices. Every estimator
//! needs of an answer only its state (missing, answered, satisfied), so the
//! answers of a row are two bit masks: "answered" and "satisfied", one bit
//! per item (see [`Responses::states`]). Weights are a `Vec<f64>`. Building
//! this layout is the only place where rows are touched through polars; the
//! chunks of a table are read and packed in parallel.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, Period, Unit, UnitRegistry, bundled, schema};
use sipas_dataset::Dataset;

use crate::{Error, Result};

/// Rows per parallel block when answer columns are packed into row masks.
const BLOCK: usize = 4096;

/// 64-row groups packed per span: each item's codes are read 1,024 at a
/// time (sequential reads, not one 64-byte line of every item in turn).
const GROUPS: usize = 16;

/// Words of one answer mask (one bit per item, at least one word).
pub(crate) fn mask_words(items: usize) -> usize {
    items.div_ceil(64).max(1)
}

/// Survey responses, dictionary-encoded.
#[derive(Debug, Clone)]
pub struct Responses {
    instrument: Instrument,
    origin: String,
    units: Vec<String>,
    periods: Vec<Period>,
    channels: Vec<String>,
    unit_idx: Vec<u32>,
    period_idx: Vec<u32>,
    channel_idx: Vec<u32>,
    weights: Vec<f64>,
    /// Per row: `words` words of answered bits, then `words` of satisfied bits.
    states: Vec<u64>,
    words: usize,
    /// Optional design columns (strata, clusters, fpc, other weights) by name.
    design_columns: BTreeMap<String, DesignColumn>,
}

/// An optional survey-design column kept beside the responses (see
/// [`Responses::design_column`]): text (dictionary-encoded, values sorted)
/// or numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum DesignColumn {
    /// Distinct values (sorted) and, per row, an index into them.
    Text {
        /// Distinct values, sorted.
        values: Vec<String>,
        /// Per row: index into `values`.
        idx: Vec<u32>,
    },
    /// One number per row.
    Number(Vec<f64>),
}

impl DesignColumn {
    /// The column as numbers: a numeric column as is, a text column (as
    /// ingest keeps extra columns) when every value parses as a number;
    /// otherwise the 1-based row and the value that does not.
    pub fn to_numbers(&self) -> std::result::Result<Vec<f64>, (usize, String)> {
        match self {
            DesignColumn::Number(v) => Ok(v.clone()),
            DesignColumn::Text { values, idx } => {
                let parsed: Vec<Option<f64>> = values
                    .iter()
                    .map(|v| v.trim().parse::<f64>().ok())
                    .collect();
                idx.iter()
                    .enumerate()
                    .map(|(i, &k)| {
                        parsed[k as usize].ok_or_else(|| (i + 1, values[k as usize].clone()))
                    })
                    .collect()
            }
        }
    }
}

impl Responses {
    /// A builder for small tables assembled in memory (tests, examples).
    pub fn builder(instrument: Instrument) -> ResponsesBuilder {
        ResponsesBuilder {
            instrument,
            units: Coded::default(),
            periods: Coded::default(),
            channels: Coded::default(),
            weights: Vec::new(),
            states: Vec::new(),
        }
    }

    /// Converts a canonical response frame (see the crate docs for the schema);
    /// `origin` names the table in errors. Without an instrument, the bundled
    /// one whose item ids are all among the columns is used.
    pub fn from_frame(
        df: &DataFrame,
        instrument: Option<&Instrument>,
        origin: &str,
    ) -> Result<Self> {
        Self::from_frame_with(df, instrument, origin, &[])
    }

    fn finish(
        instrument: Instrument,
        origin: String,
        units: Coded,
        periods: Coded,
        channels: Coded,
        weights: Vec<f64>,
        states: Vec<u64>,
    ) -> Result<Self> {
        let words = mask_words(instrument.items().len());
        debug_assert_eq!(states.len(), 2 * words * weights.len());
        // Units: sorted by code.
        let (unit_values, unit_idx) = units.sorted_by(|v| Ok(v.clone()))?;
        // Periods: parsed, one granularity, chronological.
        let parse = |v: &String| {
            v.parse::<Period>().map_err(|e| Error::Data {
                origin: origin.clone(),
                message: format!("column `{}`: {e}", schema::PERIOD),
            })
        };
        let (periods, period_idx) = periods.sorted_by(parse)?;
        if let (Some(first), Some(bad)) = (
            periods.first(),
            periods
                .iter()
                .find(|p| p.granularity() != periods[0].granularity()),
        ) {
            return Err(Error::Data {
                origin,
                message: format!("mixed period granularities ({first} and {bad})"),
            });
        }
        let (channel_values, channel_idx) = channels.sorted_by(|v| Ok(v.clone()))?;
        Ok(Responses {
            instrument,
            origin,
            units: unit_values,
            periods,
            channels: channel_values,
            unit_idx,
            period_idx,
            channel_idx,
            weights,
            states,
            words,
            design_columns: BTreeMap::new(),
        })
    }

    /// Converts a frame like [`Responses::from_frame`] and keeps the named
    /// design columns (`village`, `stratum`, `fpc`…): text columns are
    /// dictionary-encoded, numeric ones cast to `f64`. A missing column or a
    /// null value is an error naming the column (and row).
    pub fn from_frame_with(
        df: &DataFrame,
        instrument: Option<&Instrument>,
        origin: &str,
        design_columns: &[&str],
    ) -> Result<Self> {
        let plan = Plan::new(df.schema(), instrument, origin, design_columns)?;
        let mut table = Table::new(&plan, df.height());
        let slot = table.slots(&[df.height()]).pop().expect("one slot");
        let local = fill(&plan, df, origin, 0, slot, true)?;
        table.finish(plan, &[local], origin.to_string())
    }

    /// Attaches a text design column (one value per row).
    pub fn with_text_column(mut self, name: &str, values: &[&str]) -> Result<Self> {
        self.check_len(name, values.len())?;
        self.design_columns
            .insert(name.to_string(), text_column(values));
        Ok(self)
    }

    /// Attaches a numeric design column (one value per row).
    pub fn with_number_column(mut self, name: &str, values: Vec<f64>) -> Result<Self> {
        self.check_len(name, values.len())?;
        self.design_columns
            .insert(name.to_string(), DesignColumn::Number(values));
        Ok(self)
    }

    fn check_len(&self, name: &str, len: usize) -> Result<()> {
        if len == self.len() {
            Ok(())
        } else {
            Err(Error::Data {
                origin: self.origin.clone(),
                message: format!(
                    "design column `{name}` has {len} values for {} rows",
                    self.len()
                ),
            })
        }
    }

    /// A design column attached by [`Responses::from_frame_with`],
    /// [`read_responses_with`] or `with_*_column`.
    pub fn design_column(&self, name: &str) -> Option<&DesignColumn> {
        self.design_columns.get(name)
    }

    /// Names of the design columns matching `pattern` (`*` matches any
    /// text), in natural order: digit runs compare as numbers (`rb2` < `rb10`).
    pub fn design_columns_matching(&self, pattern: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .design_columns
            .keys()
            .map(String::as_str)
            .filter(|c| glob_match(pattern, c))
            .collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    /// The instrument the item columns belong to.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// Where the table came from (file name or description), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Distinct unit codes, sorted.
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// Distinct periods, chronological.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Distinct channels, sorted.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The index of a channel in [`Responses::channels`] (as in
    /// [`Responses::channel_indices`]); `None` when no row has it.
    pub fn channel_id(&self, channel: &str) -> Option<u32> {
        self.channels
            .iter()
            .position(|c| c == channel)
            .map(|i| i as u32)
    }

    /// The registry entry of every unit of the table, in [`Responses::units`]
    /// order; an error names the first code the registry does not know.
    pub fn unit_meta<'a>(&self, registry: &'a UnitRegistry) -> Result<Vec<&'a Unit>> {
        self.units
            .iter()
            .map(|c| {
                registry
                    .get(c)
                    .ok_or_else(|| Error::UnknownUnit { code: c.clone() })
            })
            .collect()
    }

    /// Per row: index into [`Responses::units`].
    pub fn unit_indices(&self) -> &[u32] {
        &self.unit_idx
    }

    /// Per row: index into [`Responses::periods`].
    pub fn period_indices(&self) -> &[u32] {
        &self.period_idx
    }

    /// Per row: index into [`Responses::channels`].
    pub fn channel_indices(&self) -> &[u32] {
        &self.channel_idx
    }

    /// Per row: the sampling weight (finite, > 0).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The answer masks of every row, row after row: [`Responses::words`]
    /// words of "answered" bits (item `j` at bit `j % 64` of word `j / 64`),
    /// then as many of "satisfied" bits (a subset of the answered ones).
    pub fn states(&self) -> &[u64] {
        &self.states
    }

    /// Words of one answer mask: `ceil(items / 64)`, at least 1.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Row `r`'s answered and satisfied masks.
    pub fn masks(&self, r: usize) -> (&[u64], &[u64]) {
        let row = &self.states[2 * self.words * r..2 * self.words * (r + 1)];
        row.split_at(self.words)
    }

    /// Row `r`'s answer states in item order, into `out` (one per item):
    /// 0 missing, 1 answered and not satisfied, 2 satisfied.
    pub fn row_states(&self, r: usize, out: &mut [u8]) {
        let (a, s) = self.masks(r);
        for (j, o) in out.iter_mut().enumerate() {
            let (w, b) = (j / 64, j % 64);
            *o = ((a[w] >> b) & 1) as u8 + ((s[w] >> b) & 1) as u8;
        }
    }
}

/// Rows read at a time: at most one default row group, and fewer when the
/// table would otherwise give some core no chunk. Chunks are read and
/// packed on all cores at once, each by one thread (benches/README.md has
/// the measurements).
pub const READ_CHUNK_ROWS: usize = sipas_dataset::ROW_GROUP_ROWS;

/// Tables of fewer rows are read by one reader (polars still decodes
/// their columns in parallel).
const PARALLEL_READ_ROWS: usize = 1 << 17;

/// Reads the response table (the canonical schema, see the crate docs).
///
/// `path` is what [`sipas_dataset::Dataset::open`] accepts: a Parquet file,
/// an output folder holding `responses.parquet` or a `responses/` folder
/// partitioned by period, or that folder itself. Only the columns the
/// estimators need are read, [`READ_CHUNK_ROWS`] rows at a time. Without an
/// instrument the bundled one is detected from the column names.
pub fn read_responses(path: &Path, instrument: Option<&Instrument>) -> Result<Responses> {
    read_responses_with(path, instrument, &[])
}

/// Reads the response table like [`read_responses`] and keeps the named
/// design columns (see [`Responses::from_frame_with`]).
pub fn read_responses_with(
    path: &Path,
    instrument: Option<&Instrument>,
    design_columns: &[&str],
) -> Result<Responses> {
    read_responses_chunked(path, instrument, design_columns, READ_CHUNK_ROWS)
}

/// [`read_responses_with`] reading `chunk_rows` rows at a time (at least 1).
/// The result does not depend on `chunk_rows`. Chunks are decoded and
/// packed in parallel straight into the compact table (allocated from the
/// row count); memory is that table plus one chunk per thread.
///
/// A bad value is reported with the Parquet file holding it (the table's
/// file, or the partition file in the partitioned layout) and its 1-based
/// row within that file: the first bad value in table order.
pub fn read_responses_chunked(
    path: &Path,
    instrument: Option<&Instrument>,
    design_columns: &[&str],
    chunk_rows: usize,
) -> Result<Responses> {
    let origin = path.display().to_string();
    let dataset = Dataset::open(path)?;
    let plan = Plan::new(dataset.schema(), instrument, &origin, design_columns)?;
    let rows = usize::try_from(dataset.rows()).expect("the row count fits in memory");
    if u32::try_from(rows).is_err() {
        return Err(Error::Data {
            origin,
            message: format!("{rows} rows: at most {} are supported", u32::MAX),
        });
    }
    let columns: Vec<String> = plan.columns().into_iter().map(String::from).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    // At least one chunk per core when the table has enough row groups
    // (whole row groups are never split unless larger than a chunk); a
    // small table in one piece (a reader per core costs more than it saves).
    let cores = rayon::current_num_threads().max(1);
    let threads = if rows < PARALLEL_READ_ROWS { 1 } else { cores };
    let specs = dataset.chunk_specs(chunk_rows.min(rows.div_ceil(threads)).max(1));
    let lens: Vec<usize> = specs.iter().map(|s| s.len).collect();
    // Fewer chunks than cores: let polars spread each over its own threads.
    let here = specs.len() >= cores;
    let mut table = Table::new(&plan, rows);
    // One chunk per thread at a time, taken in table order. Plain threads,
    // not rayon tasks: a rayon task waiting inside polars' reader would
    // start other chunks and hold them all in memory at once. Chunks after
    // the first failed one are skipped: their errors would come later in
    // table order.
    let slots: Vec<Mutex<Option<Slot<'_>>>> = table
        .slots(&lens)
        .into_iter()
        .map(|s| Mutex::new(Some(s)))
        .collect();
    let results: Vec<Mutex<Option<Result<Local>>>> =
        specs.iter().map(|_| Mutex::new(None)).collect();
    let (next, failed) = (AtomicUsize::new(0), AtomicUsize::new(usize::MAX));
    let read_one = |i: usize| -> Result<Local> {
        let spec = &specs[i];
        let slot = slots[i]
            .lock()
            .expect("no reader panicked")
            .take()
            .expect("each chunk is read once");
        let part = dataset.parts()[spec.part].path.display().to_string();
        let chunk = if here {
            dataset.read_chunk_here(spec, Some(&columns))?
        } else {
            dataset.read_chunk(spec, Some(&columns))?
        };
        if chunk.df.height() != spec.len {
            return Err(Error::Data {
                origin: part,
                message: format!(
                    "{} rows read from row {} where the footer has {}",
                    chunk.df.height(),
                    spec.offset + 1,
                    spec.len
                ),
            });
        }
        sipas_core::progress::advance(spec.len as u64);
        fill(&plan, &chunk.df, &part, spec.offset, slot, false)
    };
    let threads = threads.min(specs.len().max(1));
    sipas_core::progress::begin("aggregate: reading", "rows", Some(rows as u64));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= specs.len() || i > failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let out = read_one(i);
                    if out.is_err() {
                        failed.fetch_min(i, Ordering::Relaxed);
                    }
                    *results[i].lock().expect("no reader panicked") = Some(out);
                }
            });
        }
    });
    sipas_core::progress::end();
    let locals: Vec<Option<Result<Local>>> = results
        .into_iter()
        .map(|m| m.into_inner().expect("no reader panicked"))
        .collect();
    let mut done = Vec::with_capacity(locals.len());
    for l in locals {
        done.push(l.expect("a chunk is skipped only after a failed one")?);
    }
    table.finish(plan, &done, origin)
}

fn text_column(values: &[&str]) -> DesignColumn {
    let mut sorted: Vec<&str> = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let idx = values
        .iter()
        .map(|v| {
            sorted
                .binary_search(v)
                .expect("value is in the sorted list") as u32
        })
        .collect();
    DesignColumn::Text {
        values: sorted.into_iter().map(str::to_string).collect(),
        idx,
    }
}

fn resolve_instrument(
    names: &[String],
    instrument: Option<&Instrument>,
    origin: &str,
) -> Result<Instrument> {
    match instrument {
        Some(i) => Ok(i.clone()),
        None => bundled::detect_instrument(names).ok_or_else(|| Error::UnknownInstrument {
            origin: origin.to_string(),
        }),
    }
}

/// A column of `schema` with the data type `expected`, or an error naming it.
fn check_type<'a>(
    schema: &'a Schema,
    name: &str,
    expected: &DataType,
    origin: &str,
) -> Result<&'a DataType> {
    let found = schema.get(name).ok_or_else(|| Error::MissingColumn {
        origin: origin.to_string(),
        column: name.to_string(),
    })?;
    if found == expected {
        Ok(found)
    } else {
        Err(Error::ColumnType {
            origin: origin.to_string(),
            column: name.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        })
    }
}

/// The columns to read and their kinds, checked against the schema before
/// any row is read.
#[derive(Debug)]
struct Plan {
    instrument: Instrument,
    has_channel: bool,
    has_weight: bool,
    /// Design columns (distinct names): text (`true`) or numbers.
    design: Vec<(String, bool)>,
}

/// Compares names with digit runs as numbers (`rb2` < `rb10`).
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> Vec<(String, u128)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut num: Option<u128> = None;
        for ch in s.chars() {
            if let Some(d) = ch.to_digit(10) {
                num = Some(
                    num.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(u128::from(d)),
                );
            } else {
                if let Some(n) = num.take() {
                    out.push((std::mem::take(&mut text), n));
                }
                text.push(ch);
            }
        }
        out.push((text, num.unwrap_or(0)));
        out
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Whether `name` matches `pattern`, where `*` matches any text.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

impl Plan {
    fn new(
        schema: &Schema,
        instrument: Option<&Instrument>,
        origin: &str,
        design_columns: &[&str],
    ) -> Result<Plan> {
        let names: Vec<String> = schema.iter_names().map(ToString::to_string).collect();
        let instrument = resolve_instrument(&names, instrument, origin)?;
        check_type(schema, schema::UNIT_CODE, &DataType::String, origin)?;
        check_type(schema, schema::PERIOD, &DataType::String, origin)?;
        let has_channel = schema.contains(schema::CHANNEL);
        if has_channel {
            check_type(schema, schema::CHANNEL, &DataType::String, origin)?;
        }
        let has_weight = schema.contains(schema::WEIGHT);
        if has_weight {
            check_type(schema, schema::WEIGHT, &DataType::Float64, origin)?;
        }
        for id in instrument.item_ids() {
            check_type(schema, id, &DataType::UInt8, origin)?;
        }
        let mut design: Vec<(String, bool)> = Vec::new();
        // A name with `*` stands for every column it matches (replicate weights).
        let mut expanded: Vec<&str> = Vec::new();
        for &name in design_columns {
            if name.contains('*') {
                let hits: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|c| glob_match(name, c))
                    .collect();
                if hits.is_empty() {
                    return Err(Error::MissingColumn {
                        origin: origin.to_string(),
                        column: name.to_string(),
                    });
                }
                expanded.extend(hits);
            } else {
                expanded.push(name);
            }
        }
        for name in expanded {
            if design.iter().any(|(d, _)| d == name) {
                continue;
            }
            let dtype = schema.get(name).ok_or_else(|| Error::MissingColumn {
                origin: origin.to_string(),
                column: name.to_string(),
            })?;
            let text = if dtype == &DataType::String {
                true
            } else if dtype.is_primitive_numeric() {
                false
            } else {
                return Err(Error::ColumnType {
                    origin: origin.to_string(),
                    column: name.to_string(),
                    expected: "str or a number".into(),
                    found: dtype.to_string(),
                });
            };
            design.push((name.to_string(), text));
        }
        Ok(Plan {
            instrument,
            has_channel,
            has_weight,
            design,
        })
    }

    /// Every column to read (distinct names).
    fn columns(&self) -> Vec<&str> {
        let mut c = vec![schema::UNIT_CODE, schema::PERIOD];
        if self.has_channel {
            c.push(schema::CHANNEL);
        }
        if self.has_weight {
            c.push(schema::WEIGHT);
        }
        c.extend(self.instrument.item_ids());
        for (d, _) in &self.design {
            if !c.contains(&d.as_str()) {
                c.push(d);
            }
        }
        c
    }
}

fn value_err(origin: &str, row: usize, column: &str, message: String) -> Error {
    Error::Value {
        origin: origin.to_string(),
        row,
        column: column.to_string(),
        message,
    }
}

/// The columns of the compact table, allocated for every row up front and
/// filled chunk by chunk (see [`Table::slots`]).
#[derive(Debug)]
struct Table {
    units: Vec<u32>,
    periods: Vec<u32>,
    channels: Vec<u32>,
    weights: Vec<f64>,
    states: Vec<u64>,
    /// Per design column: dictionary indices (text) or numbers.
    design: Vec<DesignBuf>,
    codes: Codes,
    words: usize,
}

/// A design column being read.
#[derive(Debug)]
enum DesignBuf {
    Text(Vec<u32>),
    Number(Vec<f64>),
}

/// The rows of one chunk: disjoint parts of a [`Table`]'s columns. Text
/// columns receive indices into the chunk's own dictionaries ([`Local`]).
struct Slot<'a> {
    units: &'a mut [u32],
    periods: &'a mut [u32],
    channels: &'a mut [u32],
    weights: &'a mut [f64],
    states: &'a mut [u64],
    design: Vec<DesignSlot<'a>>,
    codes: Codes,
    words: usize,
}

enum DesignSlot<'a> {
    Text(&'a mut [u32]),
    Number(&'a mut [f64]),
}

/// The dictionaries of one chunk, values in first-seen order.
#[derive(Debug)]
struct Local {
    rows: usize,
    units: Dict,
    periods: Dict,
    channels: Dict,
    /// Per design column: its dictionary (text) or `None` (numbers).
    design: Vec<Option<Dict>>,
}

/// Splits `v` into consecutive parts of `lens[i] * stride` elements.
fn split<'a, T>(mut v: &'a mut [T], lens: &[usize], stride: usize) -> Vec<&'a mut [T]> {
    lens.iter()
        .map(|&n| {
            let (a, b) = std::mem::take(&mut v).split_at_mut(n * stride);
            v = b;
            a
        })
        .collect()
}

impl Table {
    /// A table of `rows` rows for `plan` (zeroed; weights 1 when the table has none).
    fn new(plan: &Plan, rows: usize) -> Self {
        let scale = &plan.instrument.scale;
        let codes = Codes::new(scale);
        let words = mask_words(plan.instrument.items().len());
        Table {
            units: vec![0; rows],
            periods: vec![0; rows],
            channels: vec![0; rows],
            weights: vec![if plan.has_weight { 0.0 } else { 1.0 }; rows],
            states: vec![0; 2 * words * rows],
            design: plan
                .design
                .iter()
                .map(|&(_, text)| {
                    if text {
                        DesignBuf::Text(vec![0; rows])
                    } else {
                        DesignBuf::Number(vec![0.0; rows])
                    }
                })
                .collect(),
            codes,
            words,
        }
    }

    /// The slots of consecutive chunks of `lens` rows (summing to the rows).
    fn slots(&mut self, lens: &[usize]) -> Vec<Slot<'_>> {
        debug_assert_eq!(lens.iter().sum::<usize>(), self.weights.len());
        let mut design: Vec<std::vec::IntoIter<DesignSlot<'_>>> = self
            .design
            .iter_mut()
            .map(|d| match d {
                DesignBuf::Text(v) => split(v, lens, 1)
                    .into_iter()
                    .map(DesignSlot::Text)
                    .collect::<Vec<_>>()
                    .into_iter(),
                DesignBuf::Number(v) => split(v, lens, 1)
                    .into_iter()
                    .map(DesignSlot::Number)
                    .collect::<Vec<_>>()
                    .into_iter(),
            })
            .collect();
        let (codes, words) = (self.codes, self.words);
        split(&mut self.units, lens, 1)
            .into_iter()
            .zip(split(&mut self.periods, lens, 1))
            .zip(split(&mut self.channels, lens, 1))
            .zip(split(&mut self.weights, lens, 1))
            .zip(split(&mut self.states, lens, 2 * words))
            .map(|((((units, periods), channels), weights), states)| Slot {
                units,
                periods,
                channels,
                weights,
                states,
                design: design
                    .iter_mut()
                    .map(|d| d.next().expect("one part per chunk"))
                    .collect(),
                codes,
                words,
            })
            .collect()
    }

    /// Merges the chunks' dictionaries (in chunk order, so values keep their
    /// first-seen order) and re-indexes each chunk's rows into them.
    fn finish(mut self, plan: Plan, locals: &[Local], origin: String) -> Result<Responses> {
        let mut units = Dict::default();
        let mut periods = Dict::default();
        let mut channels = if plan.has_channel {
            Dict::default()
        } else {
            Dict::constant(schema::DEFAULT_CHANNEL)
        };
        let mut design: Vec<Dict> = plan.design.iter().map(|_| Dict::default()).collect();
        let lens: Vec<usize> = locals.iter().map(|l| l.rows).collect();
        let remap = |global: &mut Dict, local: &Dict, idx: &mut [u32]| {
            let map: Vec<u32> = local.values.iter().map(|v| global.id(v)).collect();
            if map.iter().enumerate().any(|(i, &g)| i as u32 != g) {
                idx.par_iter_mut().for_each(|i| *i = map[*i as usize]);
            }
        };
        let mut unit_parts = split(&mut self.units, &lens, 1).into_iter();
        let mut period_parts = split(&mut self.periods, &lens, 1).into_iter();
        let mut channel_parts = split(&mut self.channels, &lens, 1).into_iter();
        let mut design_parts: Vec<_> = self
            .design
            .iter_mut()
            .map(|d| match d {
                DesignBuf::Text(v) => Some(split(v, &lens, 1).into_iter()),
                DesignBuf::Number(_) => None,
            })
            .collect();
        for local in locals {
            remap(&mut units, &local.units, unit_parts.next().expect("a part"));
            remap(
                &mut periods,
                &local.periods,
                period_parts.next().expect("a part"),
            );
            let ch = channel_parts.next().expect("a part");
            if plan.has_channel {
                remap(&mut channels, &local.channels, ch);
            }
            for ((g, l), parts) in design.iter_mut().zip(&local.design).zip(&mut design_parts) {
                if let (Some(l), Some(parts)) = (l, parts) {
                    remap(g, l, parts.next().expect("a part"));
                }
            }
        }
        let coded = |dict, idx| Coded { dict, idx };
        let mut r = Responses::finish(
            plan.instrument,
            origin,
            coded(units, self.units),
            coded(periods, self.periods),
            coded(channels, self.channels),
            self.weights,
            self.states,
        )?;
        for (((name, _), buf), dict) in plan.design.into_iter().zip(self.design).zip(design) {
            let column = match buf {
                DesignBuf::Text(idx) => {
                    let (values, idx) = coded(dict, idx).sorted_by(|v| Ok(v.clone()))?;
                    DesignColumn::Text { values, idx }
                }
                DesignBuf::Number(v) => DesignColumn::Number(v),
            };
            r.design_columns.insert(name, column);
        }
        Ok(r)
    }
}

/// Fills `slot` from `df` (the plan's columns; a chunk of the table whose
/// first row is row `first_row` of `origin`), returning the chunk's
/// dictionaries. Errors name `origin` and the 1-based row. `par`: pack the
/// answers on all cores (when this is the only chunk).
fn fill(
    plan: &Plan,
    df: &DataFrame,
    origin: &str,
    first_row: usize,
    slot: Slot<'_>,
    par: bool,
) -> Result<Local> {
    // Parts of a partitioned table may disagree with its schema file.
    let schema = df.schema();
    let typed = |name: &str, expected: &DataType| -> Result<&Column> {
        check_type(schema, name, expected, origin)?;
        Ok(df.column(name).expect("checked above"))
    };
    let text = |name: &str| -> Result<&StringChunked> {
        Ok(typed(name, &DataType::String)?
            .str()
            .expect("dtype checked"))
    };
    let units_ca = text(schema::UNIT_CODE)?;
    let periods_ca = text(schema::PERIOD)?;
    let channels_ca = if plan.has_channel {
        Some(text(schema::CHANNEL)?)
    } else {
        None
    };
    let weights_ca = if plan.has_weight {
        Some(
            typed(schema::WEIGHT, &DataType::Float64)?
                .f64()
                .expect("dtype checked"),
        )
    } else {
        None
    };
    let items = plan
        .instrument
        .item_ids()
        .iter()
        .map(|id| {
            Ok(typed(id, &DataType::UInt8)?
                .u8()
                .expect("dtype checked")
                .rechunk())
        })
        .collect::<Result<Vec<_>>>()?;
    let mut design_cols = Vec::with_capacity(plan.design.len());
    for (name, text) in &plan.design {
        let col = df.column(name).map_err(|_| Error::MissingColumn {
            origin: origin.to_string(),
            column: name.clone(),
        })?;
        let ok = if *text {
            col.dtype() == &DataType::String
        } else {
            col.dtype().is_primitive_numeric()
        };
        if !ok {
            return Err(Error::ColumnType {
                origin: origin.to_string(),
                column: name.clone(),
                expected: if *text { "str" } else { "a number" }.into(),
                found: col.dtype().to_string(),
            });
        }
        design_cols.push(col);
    }

    let n = df.height();
    let Slot {
        units,
        periods,
        channels,
        weights,
        states,
        design,
        codes,
        words,
    } = slot;
    let item_cas: Vec<&UInt8Chunked> = items.iter().map(AsRef::as_ref).collect();
    let missing = |column: &'static str| {
        move |i: usize| value_err(origin, first_row + i + 1, column, "missing value".into())
    };
    let mut local = Local {
        rows: n,
        units: Dict::default(),
        periods: Dict::default(),
        channels: Dict::default(),
        design: Vec::with_capacity(design.len()),
    };
    let mut encode = || -> Result<()> {
        local
            .units
            .encode(units_ca, false, units)
            .map_err(missing(schema::UNIT_CODE))?;
        local
            .periods
            .encode(periods_ca, false, periods)
            .map_err(missing(schema::PERIOD))?;
        if let Some(ca) = channels_ca {
            local
                .channels
                .encode(ca, false, channels)
                .map_err(missing(schema::CHANNEL))?;
        }
        if let Some(ca) = weights_ca {
            fill_weights(weights, ca)
                .map_err(|(i, m)| value_err(origin, first_row + i + 1, schema::WEIGHT, m))?;
        }
        Ok(())
    };
    let (bad_answer, text) = if par {
        rayon::join(
            || pack_states(states, words, &item_cas, codes, true),
            encode,
        )
    } else {
        let text = encode();
        (pack_states(states, words, &item_cas, codes, false), text)
    };
    text?;
    if let Some((row, j, code)) = bad_answer {
        let scale = &plan.instrument.scale;
        return Err(value_err(
            origin,
            first_row + row + 1,
            &plan.instrument.items()[j].id,
            format!(
                "answer code {code} is outside the scale {}–{}",
                scale.min, scale.max
            ),
        ));
    }
    debug_assert_eq!(units.len(), n);
    for (((name, _), slot), col) in plan.design.iter().zip(design).zip(design_cols) {
        match slot {
            DesignSlot::Text(idx) => {
                let mut d = Dict::default();
                d.encode(col.str().expect("dtype checked"), true, idx)
                    .map_err(|i| {
                        value_err(origin, first_row + i + 1, name, "missing value".into())
                    })?;
                local.design.push(Some(d));
            }
            DesignSlot::Number(v) => {
                let cast = col
                    .cast(&DataType::Float64)
                    .map_err(|source| Error::Polars {
                        origin: origin.to_string(),
                        source,
                    })?;
                let ca = cast.f64().expect("cast to f64");
                if ca.null_count() > 0 {
                    let i = ca.iter().position(|v| v.is_none()).expect("a null");
                    return Err(value_err(
                        origin,
                        first_row + i + 1,
                        name,
                        "missing value".into(),
                    ));
                }
                let mut at = 0;
                for arr in ca.downcast_iter() {
                    v[at..at + arr.len()].copy_from_slice(arr.values());
                    at += arr.len();
                }
                local.design.push(None);
            }
        }
    }
    Ok(local)
}

/// Copies a weight column (finite, > 0) into `out`; otherwise the index
/// and the reason.
fn fill_weights(out: &mut [f64], ca: &Float64Chunked) -> std::result::Result<(), (usize, String)> {
    let ok = |w: f64| w.is_finite() && w > 0.0;
    if ca.null_count() == 0
        && ca
            .downcast_iter()
            .all(|arr| arr.values().iter().all(|&w| ok(w)))
    {
        let mut at = 0;
        for arr in ca.downcast_iter() {
            out[at..at + arr.len()].copy_from_slice(arr.values());
            at += arr.len();
        }
        return Ok(());
    }
    for (i, (o, w)) in out.iter_mut().zip(ca.iter()).enumerate() {
        match w {
            Some(w) if ok(w) => *o = w,
            other => {
                return Err((
                    i,
                    match other {
                        Some(w) => format!("weight {w} is not finite and > 0"),
                        None => "missing weight".into(),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// The answer codes of a scale as byte ranges: valid `lo ..= lo + span`,
/// satisfied `sat_lo ..= sat_lo + sat_span` (none when `sat_lo` is `None`).
#[derive(Debug, Clone, Copy)]
struct Codes {
    lo: u8,
    span: u8,
    sat_lo: Option<u8>,
    sat_span: u8,
}

impl Codes {
    fn new(scale: &sipas_core::Scale) -> Self {
        let sat_lo = scale.satisfied_min.max(scale.min);
        Codes {
            lo: scale.min,
            span: scale.max.saturating_sub(scale.min),
            sat_lo: (sat_lo <= scale.max && scale.min <= scale.max).then_some(sat_lo),
            sat_span: scale.max.saturating_sub(sat_lo),
        }
    }
}

/// Bit `i` set where `v[i]` lies in `lo ..= lo + span` (`v` at most 64 codes).
#[inline]
fn range_bits(v: &[u8], lo: u8, span: u8) -> u64 {
    let mut m = 0u64;
    for (i, &x) in v.iter().enumerate() {
        m |= u64::from(x.wrapping_sub(lo) <= span) << i;
    }
    m
}

/// [`range_bits`] of exactly 64 codes: byte flags (compared 16 at a time
/// by the compiler's vector code), then eight flags to eight bits with one
/// multiplication (flag `i` at bit `8i` moves to bit `56 + i`).
#[inline]
fn range_bits64(v: &[u8; 64], lo: u8, span: u8) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &x) in flags.iter_mut().zip(v) {
        *f = u8::from(x.wrapping_sub(lo) <= span);
    }
    let mut m = 0u64;
    for (k, c) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(c.try_into().expect("8 flags"));
        m |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    m
}

/// Bits `p .. p + 64` of a bitmap's bytes (least significant bit first),
/// zero past its end.
#[inline]
fn bitmap_word(bytes: &[u8], p: usize) -> u64 {
    let from = p / 8;
    let word = if let Some(b) = bytes.get(from..from + 16) {
        u128::from_le_bytes(b.try_into().expect("16 bytes"))
    } else {
        let mut buf = [0u8; 16];
        let n = bytes.len().saturating_sub(from).min(16);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        u128::from_le_bytes(buf)
    };
    (word >> (p % 8)) as u64
}

/// Transposes a 64 × 64 bit matrix: bit `j` of `m[i]` becomes bit `i` of
/// `m[j]` (swaps of ever smaller blocks, Hacker's Delight 7–3).
fn transpose64(m: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            let t = ((m[k] >> width) ^ m[k + width]) & mask;
            m[k] ^= t << width;
            m[k + width] ^= t;
            k = (k + width + 1) & !width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Packs the UInt8 item columns (one array each, same length) into the
/// zeroed row masks `out` (`2 * words` words a row, see
/// [`Responses::states`]); null = missing. Sixty-four rows at a time, each
/// item's codes become one word of answered and one of satisfied bits (a
/// bit per row), and the 64 × 64 bit matrices are transposed into the rows'
/// masks. Returns the first (row, item, code) whose code is off the scale,
/// in row then item order. `par`: blocks on all cores.
fn pack_states(
    out: &mut [u64],
    words: usize,
    cols: &[&UInt8Chunked],
    codes: Codes,
    par: bool,
) -> Option<(usize, usize, u8)> {
    let stride = 2 * words;
    // Per item: its values and, when it has nulls, its validity.
    let arrays: Vec<_> = cols
        .iter()
        .map(|ca| {
            let arr = ca.downcast_as_array();
            (arr, arr.validity().filter(|_| ca.null_count() > 0))
        })
        .collect();
    if cols.is_empty() || out.is_empty() {
        return None;
    }
    let block = |(b, block): (usize, &mut [u64])| {
        let start = b * BLOCK;
        let rows = block.len() / stride;
        let mut first_bad: Option<(usize, usize, u8)> = None;
        // Per 64-row group of a span: the items' answered and satisfied
        // words. A span reads each item's codes in one sequential stretch.
        let mut am = [[0u64; 64]; GROUPS];
        let mut sm = [[0u64; 64]; GROUPS];
        for g0 in (0..rows).step_by(64 * GROUPS) {
            let span = (rows - g0).min(64 * GROUPS);
            let groups = span.div_ceil(64);
            for (wi, items) in arrays.chunks(64).enumerate() {
                for g in 0..groups {
                    am[g].fill(0);
                    sm[g].fill(0);
                }
                for (jj, &(arr, validity)) in items.iter().enumerate() {
                    let values = &arr.values()[start + g0..start + g0 + span];
                    for (g, v) in values.chunks(64).enumerate() {
                        let at = start + g0 + 64 * g;
                        let live = if v.len() == 64 {
                            u64::MAX
                        } else {
                            (1u64 << v.len()) - 1
                        };
                        let present = match validity {
                            None => live,
                            Some(bm) => {
                                let (bytes, offset, _) = bm.as_slice();
                                bitmap_word(bytes, offset + at) & live
                            }
                        };
                        let (valid, sat) = match <&[u8; 64]>::try_from(v) {
                            Ok(v64) => (
                                range_bits64(v64, codes.lo, codes.span),
                                codes
                                    .sat_lo
                                    .map_or(0, |lo| range_bits64(v64, lo, codes.sat_span)),
                            ),
                            Err(_) => (
                                range_bits(v, codes.lo, codes.span),
                                codes
                                    .sat_lo
                                    .map_or(0, |lo| range_bits(v, lo, codes.sat_span)),
                            ),
                        };
                        am[g][jj] = valid & present;
                        sm[g][jj] = sat & present;
                        let bad = !valid & present;
                        if bad != 0 {
                            let (r, j) = (at + bad.trailing_zeros() as usize, wi * 64 + jj);
                            if first_bad.is_none_or(|(fr, fj, _)| (r, j) < (fr, fj)) {
                                first_bad = Some((r, j, arr.values()[r]));
                            }
                        }
                    }
                }
                for g in 0..groups {
                    transpose64(&mut am[g]);
                    transpose64(&mut sm[g]);
                    let r0 = g0 + 64 * g;
                    let len = (rows - r0).min(64);
                    for (i, row) in block[r0 * stride..(r0 + len) * stride]
                        .chunks_exact_mut(stride)
                        .enumerate()
                    {
                        row[wi] = am[g][i];
                        row[words + wi] = sm[g][i];
                    }
                }
            }
        }
        first_bad
    };
    if par {
        out.par_chunks_mut(BLOCK * stride)
            .enumerate()
            .filter_map(block)
            .min()
    } else {
        out.chunks_mut(BLOCK * stride)
            .enumerate()
            .filter_map(block)
            .min()
    }
}

/// Hashes the 16-byte keys of short strings (multiply and fold).
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, v: u128) {
        let (lo, hi) = (v as u64, (v >> 64) as u64);
        let m = u128::from(lo ^ 0x9E37_79B9_7F4A_7C15) * u128::from(hi ^ 0xD1B5_4A32_D192_ED03);
        self.0 ^= (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The key of a string of at most 12 bytes: its length and bytes.
fn short_key(bytes: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&u32::try_from(bytes.len()).expect("short").to_le_bytes());
    b[4..4 + bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(b)
}

/// A dictionary of distinct text values (first-seen order).
#[derive(Debug, Default)]
struct Dict {
    values: Vec<String>,
    lookup: HashMap<String, u32>,
    /// Values of at most 12 bytes by [`short_key`].
    short: HashMap<u128, u32, BuildHasherDefault<KeyHasher>>,
}

impl Dict {
    fn constant(value: &str) -> Self {
        let mut d = Dict::default();
        d.id(value);
        d
    }

    /// The index of `v`, added when new.
    fn id(&mut self, v: &str) -> u32 {
        if let Some(&i) = self.lookup.get(v) {
            return i;
        }
        let i = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(v.to_string());
        self.lookup.insert(v.to_string(), i);
        if v.len() <= 12 {
            self.short.insert(short_key(v.as_bytes()), i);
        }
        i
    }

    /// Encodes a string column into `out` (one index per row); `Err(i)` for
    /// the first null (or, unless `allow_empty`, empty) value at index `i`.
    /// Compares the 16-byte views, not the strings: a view equal to the
    /// previous row's is the same value, and a short value (≤ 12 bytes, held
    /// in its view) is looked up by its bytes without touching the string
    /// buffers.
    fn encode(
        &mut self,
        ca: &StringChunked,
        allow_empty: bool,
        out: &mut [u32],
    ) -> std::result::Result<(), usize> {
        if ca.null_count() > 0 {
            return Err(ca.iter().position(|v| v.is_none()).expect("a null"));
        }
        let mut base = 0;
        for arr in ca.downcast_iter() {
            // (raw view, index) of the previous row of this array.
            let mut prev: Option<(u128, u32)> = None;
            let out = &mut out[base..base + arr.len()];
            for (i, (view, o)) in arr.views().iter().zip(out).enumerate() {
                if !allow_empty && view.length == 0 {
                    return Err(base + i);
                }
                let raw = view.as_u128();
                *o = match prev {
                    Some((p, id)) if p == raw => id,
                    _ => {
                        let id = match view.get_inlined_slice() {
                            Some(bytes) => match self.short.get(&short_key(bytes)) {
                                Some(&id) => id,
                                None => self.id(arr.value(i)),
                            },
                            None => self.id(arr.value(i)),
                        };
                        prev = Some((raw, id));
                        id
                    }
                };
            }
            base += arr.len();
        }
        Ok(())
    }
}

/// A dictionary and, per row, an index into it.
#[derive(Debug, Default)]
struct Coded {
    dict: Dict,
    idx: Vec<u32>,
}

impl Coded {
    fn push(&mut self, v: &str) {
        // Sorted input repeats values: the previous row is the common hit.
        if let Some(&last) = self.idx.last()
            && self.dict.values[last as usize] == v
        {
            self.idx.push(last);
            return;
        }
        let i = self.dict.id(v);
        self.idx.push(i);
    }

    /// Maps each distinct value to a key, sorts by key (merging equal keys)
    /// and re-indexes the rows.
    fn sorted_by<K: Ord + Clone>(
        self,
        key: impl Fn(&String) -> Result<K>,
    ) -> Result<(Vec<K>, Vec<u32>)> {
        let keys = self
            .dict
            .values
            .iter()
            .map(key)
            .collect::<Result<Vec<K>>>()?;
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        let remap: Vec<u32> = keys
            .iter()
            .map(|k| sorted.binary_search(k).expect("key is in the sorted list") as u32)
            .collect();
        let mut idx = self.idx;
        if remap.iter().enumerate().any(|(i, &r)| i as u32 != r) {
            idx.par_iter_mut().for_each(|i| *i = remap[*i as usize]);
        }
        Ok((sorted, idx))
    }
}

/// Assembles a [`Responses`] row by row (see [`Responses::builder`]).
#[derive(Debug)]
pub struct ResponsesBuilder {
    instrument: Instrument,
    units: Coded,
    periods: Coded,
    channels: Coded,
    weights: Vec<f64>,
    states: Vec<u64>,
}

impl ResponsesBuilder {
    /// Appends one response; `answers` has one entry per item, in instrument
    /// order, `None` = missing.
    pub fn push(
        &mut self,
        unit_code: &str,
        period: &str,
        channel: &str,
        weight: f64,
        answers: &[Option<u8>],
    ) -> Result<&mut Self> {
        let row = self.weights.len() + 1;
        let bad = |column: &str, message: String| Error::Value {
            origin: "in-memory responses".into(),
            row,
            column: column.to_string(),
            message,
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(bad(
                schema::WEIGHT,
                format!("weight {weight} is not finite and > 0"),
            ));
        }
        let items = self.instrument.items();
        if answers.len() != items.len() {
            return Err(bad(
                "answers",
                format!("{} answers for {} items", answers.len(), items.len()),
            ));
        }
        for (a, item) in answers.iter().zip(items) {
            if let Some(code) = *a
                && !self.instrument.scale.is_valid(code)
            {
                return Err(bad(
                    &item.id,
                    format!("answer code {code} is outside the scale"),
                ));
            }
        }
        for (v, c) in [
            (unit_code, schema::UNIT_CODE),
            (period, schema::PERIOD),
            (channel, schema::CHANNEL),
        ] {
            if v.is_empty() {
                return Err(bad(c, "missing value".into()));
            }
        }
        self.units.push(unit_code);
        self.periods.push(period);
        self.channels.push(channel);
        self.weights.push(weight);
        let words = mask_words(items.len());
        let start = self.states.len();
        self.states.resize(start + 2 * words, 0);
        let (answered, satisfied) = self.states[start..].split_at_mut(words);
        for (j, a) in answers.iter().enumerate() {
            if let Some(code) = *a {
                let scale = &self.instrument.scale;
                answered[j / 64] |= 1 << (j % 64);
                satisfied[j / 64] |= u64::from(scale.is_satisfied(code)) << (j % 64);
            }
        }
        Ok(self)
    }

    /// Finishes the table (parses and orders the periods).
    pub fn build(self) -> Result<Responses> {
        Responses::finish(
            self.instrument,
            "in-memory responses".into(),
            self.units,
            self.periods,
            self.channels,
            self.weights,
            self.states,
        )
    }
}

#[cfg(test)]
mod tests;
