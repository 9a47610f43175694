//! The response table in memory, in the compact layout the estimators use.
//!
//! Text columns (`unit_code`, `period`, `channel`) are dictionary-encoded: each
//! distinct value is stored once and rows hold `u32` indices. Answers are one
//! flat row-major `Vec<u8>` (row × item, `0` = missing) and weights a
//! `Vec<f64>`. Building this layout is the only place where rows are touched
//! through polars.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, Period, Unit, UnitRegistry, bundled, schema};
use sipas_dataset::Dataset;

use crate::{Error, Result};

/// Rows per block when the answers are transposed into the row-major layout.
const BLOCK: usize = 4096;

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
    answers: Vec<u8>,
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
            units: Dict::default(),
            periods: Dict::default(),
            channels: Dict::default(),
            weights: Vec::new(),
            answers: Vec::new(),
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
        units: Dict,
        periods: Dict,
        channels: Dict,
        weights: Vec<f64>,
        answers: Vec<u8>,
    ) -> Result<Self> {
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
            answers,
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
        let mut b = Builder::new(plan, df.height());
        b.append(df, origin, 0)?;
        b.finish(origin.to_string())
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

    /// Row-major answers: row `i`, item `j` at `i * n_items + j`; `0` = missing.
    pub fn answers(&self) -> &[u8] {
        &self.answers
    }
}

/// Rows read at a time: four default row groups (4,194,304). Measured at
/// 10^7 rows (benches/README.md): 1.30 s to read with chunks of 2^22 rows,
/// 1.59 s with 2^20 (more, smaller Parquet reads and dictionary merges) and
/// 2.7 s in one piece; a chunk costs about 160 MB of polars buffers.
pub const READ_CHUNK_ROWS: usize = 4 * sipas_dataset::ROW_GROUP_ROWS;

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
/// The result does not depend on `chunk_rows`; memory is the compact table
/// (reserved from the row count) plus one chunk. (Decoding the next chunk
/// on another thread while appending this one was slower on two cores.)
///
/// A bad value is reported with the Parquet file holding it (the table's
/// file, or the partition file in the partitioned layout) and its 1-based
/// row within that file.
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
    let mut b = Builder::new(plan, rows);
    for chunk in dataset.chunks(chunk_rows, Some(&columns)) {
        let chunk = chunk?;
        let part = dataset.parts()[chunk.part].path.display().to_string();
        b.append(&chunk.df, &part, chunk.offset)?;
    }
    b.finish(origin)
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
        for &name in design_columns {
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

/// A design column being read.
#[derive(Debug)]
enum DesignBuf {
    Text(Dict),
    Number(Vec<f64>),
}

/// Appends frames (chunks of the table, in order) into the compact layout.
#[derive(Debug)]
struct Builder {
    plan: Plan,
    /// `valid[code]`: whether an answer code is on the scale.
    valid: [bool; 256],
    units: Dict,
    periods: Dict,
    channels: Dict,
    weights: Vec<f64>,
    answers: Vec<u8>,
    design: Vec<DesignBuf>,
}

fn value_err(origin: &str, row: usize, column: &str, message: String) -> Error {
    Error::Value {
        origin: origin.to_string(),
        row,
        column: column.to_string(),
        message,
    }
}

impl Builder {
    /// A builder for `rows` rows (the capacity reserved; more may be appended).
    fn new(plan: Plan, rows: usize) -> Self {
        let scale = &plan.instrument.scale;
        let mut valid = [false; 256];
        for (code, v) in valid.iter_mut().enumerate() {
            *v = scale.is_valid(u8::try_from(code).expect("256 codes"));
        }
        let n_items = plan.instrument.items().len();
        let design = plan
            .design
            .iter()
            .map(|&(_, text)| {
                if text {
                    DesignBuf::Text(Dict::with_capacity(rows))
                } else {
                    DesignBuf::Number(Vec::with_capacity(rows))
                }
            })
            .collect();
        Builder {
            valid,
            units: Dict::with_capacity(rows),
            periods: Dict::with_capacity(rows),
            channels: if plan.has_channel {
                Dict::with_capacity(rows)
            } else {
                Dict::default()
            },
            weights: Vec::with_capacity(rows),
            answers: Vec::with_capacity(rows * n_items),
            design,
            plan,
        }
    }

    /// Appends the rows of `df`; errors name `origin` and the 1-based row
    /// `first_row + i + 1`.
    fn append(&mut self, df: &DataFrame, origin: &str, first_row: usize) -> Result<()> {
        // Parts of a partitioned table may disagree with its schema file.
        let schema = df.schema();
        let typed = |name: &str, expected: &DataType| -> Result<&Column> {
            check_type(schema, name, expected, origin)?;
            Ok(df.column(name).expect("checked above"))
        };
        let units_ca = typed(schema::UNIT_CODE, &DataType::String)?
            .str()
            .expect("dtype checked");
        let periods_ca = typed(schema::PERIOD, &DataType::String)?
            .str()
            .expect("dtype checked");
        let channels_ca = if self.plan.has_channel {
            Some(
                typed(schema::CHANNEL, &DataType::String)?
                    .str()
                    .expect("dtype checked"),
            )
        } else {
            None
        };
        let weights_ca = if self.plan.has_weight {
            Some(
                typed(schema::WEIGHT, &DataType::Float64)?
                    .f64()
                    .expect("dtype checked"),
            )
        } else {
            None
        };
        let items = self
            .plan
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
        let mut design_cols = Vec::with_capacity(self.plan.design.len());
        for (name, text) in &self.plan.design {
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
        let Builder {
            plan,
            valid,
            units,
            periods,
            channels,
            weights,
            answers,
            design,
        } = self;
        let n_items = items.len();
        let start = answers.len();
        answers.resize(start + n * n_items, 0);
        let item_cas: Vec<&UInt8Chunked> = items.iter().map(AsRef::as_ref).collect();
        let missing = |column: &'static str| {
            move |i: usize| value_err(origin, first_row + i + 1, column, "missing value".into())
        };
        let (bad_answer, text) = rayon::join(
            || fill_answers(&mut answers[start..], &item_cas, valid),
            || -> Result<()> {
                units
                    .extend(units_ca, false)
                    .map_err(missing(schema::UNIT_CODE))?;
                periods
                    .extend(periods_ca, false)
                    .map_err(missing(schema::PERIOD))?;
                if let Some(ca) = channels_ca {
                    channels
                        .extend(ca, false)
                        .map_err(missing(schema::CHANNEL))?;
                }
                match weights_ca {
                    Some(ca) => extend_weights(weights, ca).map_err(|(i, m)| {
                        value_err(origin, first_row + i + 1, schema::WEIGHT, m)
                    })?,
                    None => weights.resize(weights.len() + n, 1.0),
                }
                Ok(())
            },
        );
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
        for (((name, _), buf), col) in plan.design.iter().zip(design).zip(design_cols) {
            match buf {
                DesignBuf::Text(d) => {
                    d.extend(col.str().expect("dtype checked"), true)
                        .map_err(|i| {
                            value_err(origin, first_row + i + 1, name, "missing value".into())
                        })?;
                }
                DesignBuf::Number(v) => {
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
                    for arr in ca.downcast_iter() {
                        v.extend_from_slice(arr.values());
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self, origin: String) -> Result<Responses> {
        let n = self.weights.len();
        let channels = if self.plan.has_channel {
            self.channels
        } else {
            Dict::constant(schema::DEFAULT_CHANNEL, n)
        };
        let mut r = Responses::finish(
            self.plan.instrument,
            origin,
            self.units,
            self.periods,
            channels,
            self.weights,
            self.answers,
        )?;
        for ((name, _), buf) in self.plan.design.into_iter().zip(self.design) {
            let column = match buf {
                DesignBuf::Text(d) => {
                    let (values, idx) = d.sorted_by(|v| Ok(v.clone()))?;
                    DesignColumn::Text { values, idx }
                }
                DesignBuf::Number(v) => DesignColumn::Number(v),
            };
            r.design_columns.insert(name, column);
        }
        Ok(r)
    }
}

/// Appends a weight column (finite, > 0); otherwise the index and the reason.
fn extend_weights(
    out: &mut Vec<f64>,
    ca: &Float64Chunked,
) -> std::result::Result<(), (usize, String)> {
    let ok = |w: f64| w.is_finite() && w > 0.0;
    if ca.null_count() == 0
        && ca
            .downcast_iter()
            .all(|arr| arr.values().iter().all(|&w| ok(w)))
    {
        for arr in ca.downcast_iter() {
            out.extend_from_slice(arr.values());
        }
        return Ok(());
    }
    for (i, w) in ca.iter().enumerate() {
        match w {
            Some(w) if ok(w) => out.push(w),
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

/// Transposes the UInt8 item columns (one array each, same length) into
/// `out`, row-major; null = 0. Returns the first (row, item, code) whose
/// code is not on the scale (`valid[code]` false), in row then item order.
fn fill_answers(
    out: &mut [u8],
    cols: &[&UInt8Chunked],
    valid: &[bool; 256],
) -> Option<(usize, usize, u8)> {
    let j_count = cols.len();
    // Per item: its values and, when it has nulls, its validity.
    let arrays: Vec<_> = cols
        .iter()
        .map(|ca| {
            let arr = ca.downcast_as_array();
            (arr, arr.validity().filter(|_| ca.null_count() > 0))
        })
        .collect();
    if j_count == 0 || out.is_empty() {
        return None;
    }
    // Each block reports its first bad (row, item, code); the smallest wins.
    out.par_chunks_mut(BLOCK * j_count)
        .enumerate()
        .filter_map(|(b, block)| {
            let start = b * BLOCK;
            let rows = block.len() / j_count;
            let mut first_bad: Option<(usize, usize, u8)> = None;
            for (j, &(arr, validity)) in arrays.iter().enumerate() {
                let values = &arr.values()[start..start + rows];
                let mut all_valid = true;
                match validity {
                    None => {
                        for (r, &v) in values.iter().enumerate() {
                            block[r * j_count + j] = v;
                            all_valid &= valid[usize::from(v)];
                        }
                    }
                    Some(bm) => {
                        for (r, &v) in values.iter().enumerate() {
                            let present = bm.get_bit(start + r);
                            block[r * j_count + j] = if present { v } else { 0 };
                            all_valid &= !present || valid[usize::from(v)];
                        }
                    }
                }
                if all_valid {
                    continue;
                }
                let bad = values.iter().enumerate().find(|&(r, &v)| {
                    !valid[usize::from(v)] && validity.is_none_or(|bm| bm.get_bit(start + r))
                });
                if let Some((r, &v)) = bad
                    && first_bad.is_none_or(|(fr, fj, _)| (start + r, j) < (fr, fj))
                {
                    first_bad = Some((start + r, j, v));
                }
            }
            first_bad
        })
        .min()
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

/// A dictionary of distinct text values with per-row indices (first-seen order).
#[derive(Debug, Default)]
struct Dict {
    values: Vec<String>,
    lookup: HashMap<String, u32>,
    /// Values of at most 12 bytes by [`short_key`].
    short: HashMap<u128, u32, BuildHasherDefault<KeyHasher>>,
    idx: Vec<u32>,
}

impl Dict {
    fn with_capacity(rows: usize) -> Self {
        Dict {
            idx: Vec::with_capacity(rows),
            ..Dict::default()
        }
    }

    fn constant(value: &str, n: usize) -> Self {
        Dict {
            values: vec![value.to_string()],
            lookup: HashMap::from([(value.to_string(), 0)]),
            short: HashMap::default(),
            idx: vec![0; n],
        }
    }

    fn insert(&mut self, v: &str) -> u32 {
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

    fn push(&mut self, v: &str) {
        // Sorted input repeats values: the previous row is the common hit.
        if let Some(&last) = self.idx.last()
            && self.values[last as usize] == v
        {
            self.idx.push(last);
            return;
        }
        let i = self.insert(v);
        self.idx.push(i);
    }

    /// Appends a string column; `Err(i)` for the first null (or, unless
    /// `allow_empty`, empty) value at index `i`. Compares the 16-byte views,
    /// not the strings: a view equal to the previous row's is the same value,
    /// and a short value (≤ 12 bytes, held in its view) is looked up by its
    /// bytes without touching the string buffers.
    fn extend(&mut self, ca: &StringChunked, allow_empty: bool) -> std::result::Result<(), usize> {
        if ca.null_count() > 0 {
            return Err(ca.iter().position(|v| v.is_none()).expect("a null"));
        }
        let mut base = 0;
        for arr in ca.downcast_iter() {
            // (raw view, index) of the previous row of this array.
            let mut prev: Option<(u128, u32)> = None;
            for (i, view) in arr.views().iter().enumerate() {
                if !allow_empty && view.length == 0 {
                    return Err(base + i);
                }
                let raw = view.as_u128();
                let id = match prev {
                    Some((p, id)) if p == raw => id,
                    _ => {
                        let id = match view.get_inlined_slice() {
                            Some(bytes) => match self.short.get(&short_key(bytes)) {
                                Some(&id) => id,
                                None => self.insert(arr.value(i)),
                            },
                            None => self.insert(arr.value(i)),
                        };
                        prev = Some((raw, id));
                        id
                    }
                };
                self.idx.push(id);
            }
            base += arr.len();
        }
        Ok(())
    }

    /// Maps each distinct value to a key, sorts by key (merging equal keys)
    /// and re-indexes the rows.
    fn sorted_by<K: Ord + Clone>(
        self,
        key: impl Fn(&String) -> Result<K>,
    ) -> Result<(Vec<K>, Vec<u32>)> {
        let keys = self.values.iter().map(key).collect::<Result<Vec<K>>>()?;
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
    units: Dict,
    periods: Dict,
    channels: Dict,
    weights: Vec<f64>,
    answers: Vec<u8>,
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
        self.answers.extend(answers.iter().map(|a| a.unwrap_or(0)));
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
            self.answers,
        )
    }
}

#[cfg(test)]
mod tests;
