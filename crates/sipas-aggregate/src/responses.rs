//! The response table in memory, in the compact layout the estimators use.
//!
//! Text columns (`unit_code`, `period`, `channel`) are dictionary-encoded: each
//! distinct value is stored once and rows hold `u32` indices. Answers are one
//! flat row-major `Vec<u8>` (row × item, `0` = missing) and weights a
//! `Vec<f64>`. Building this layout is the only place where rows are touched
//! through polars.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, Period, Unit, UnitRegistry, bundled, schema};

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
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(ToString::to_string)
            .collect();
        let instrument = resolve_instrument(&names, instrument, origin)?;
        let column = |name: &str| {
            df.column(name).map_err(|_| Error::MissingColumn {
                origin: origin.to_string(),
                column: name.to_string(),
            })
        };
        let check = |name: &str, expected: &DataType| -> Result<&Column> {
            let c = column(name)?;
            if c.dtype() == expected {
                Ok(c)
            } else {
                Err(Error::ColumnType {
                    origin: origin.to_string(),
                    column: name.to_string(),
                    expected: expected.to_string(),
                    found: c.dtype().to_string(),
                })
            }
        };
        let n = df.height();
        let unit_col = check(schema::UNIT_CODE, &DataType::String)?;
        let period_col = check(schema::PERIOD, &DataType::String)?;
        let channel_col = if names.iter().any(|c| c == schema::CHANNEL) {
            Some(check(schema::CHANNEL, &DataType::String)?)
        } else {
            None
        };
        let weight_col = if names.iter().any(|c| c == schema::WEIGHT) {
            Some(check(schema::WEIGHT, &DataType::Float64)?)
        } else {
            None
        };
        let item_cols = instrument
            .item_ids()
            .iter()
            .map(|id| check(id, &DataType::UInt8))
            .collect::<Result<Vec<_>>>()?;

        let str_of = |c: &Column| c.str().cloned().expect("dtype checked above");
        let units_ca = str_of(unit_col);
        let periods_ca = str_of(period_col);
        let channels_ca = channel_col.map(str_of);
        let ((units, periods), (channels, weights)) = rayon::join(
            || {
                rayon::join(
                    || Dict::encode(&units_ca, origin, schema::UNIT_CODE),
                    || Dict::encode(&periods_ca, origin, schema::PERIOD),
                )
            },
            || {
                rayon::join(
                    || match &channels_ca {
                        Some(ca) => Dict::encode(ca, origin, schema::CHANNEL),
                        None => Ok(Dict::constant(schema::DEFAULT_CHANNEL, n)),
                    },
                    || read_weights(weight_col, n, origin),
                )
            },
        );
        let answers = read_answers(&item_cols, &instrument, n, origin)?;
        Self::finish(
            instrument,
            origin.to_string(),
            units?,
            periods?,
            channels?,
            weights?,
            answers,
        )
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
        let mut r = Self::from_frame(df, instrument, origin)?;
        for &name in design_columns {
            let col = df.column(name).map_err(|_| Error::MissingColumn {
                origin: origin.to_string(),
                column: name.to_string(),
            })?;
            let null_row = |i: usize| Error::Value {
                origin: origin.to_string(),
                row: i + 1,
                column: name.to_string(),
                message: "missing value".into(),
            };
            let column = if col.dtype() == &DataType::String {
                let ca = col.str().expect("dtype checked");
                let mut values = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    values.push(v.ok_or_else(|| null_row(i))?);
                }
                text_column(&values)
            } else if col.dtype().is_primitive_numeric() {
                let cast = col
                    .cast(&DataType::Float64)
                    .map_err(|source| Error::Polars {
                        origin: origin.to_string(),
                        source,
                    })?;
                let ca = cast.f64().expect("cast to f64");
                let mut values = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    values.push(v.ok_or_else(|| null_row(i))?);
                }
                DesignColumn::Number(values)
            } else {
                return Err(Error::ColumnType {
                    origin: origin.to_string(),
                    column: name.to_string(),
                    expected: "str or a number".into(),
                    found: col.dtype().to_string(),
                });
            };
            r.design_columns.insert(name.to_string(), column);
        }
        Ok(r)
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

/// Reads `responses.parquet` (the canonical schema, see the crate docs).
///
/// Only the columns the estimators need are read. Without an instrument the
/// bundled one is detected from the column names.
pub fn read_responses(path: &Path, instrument: Option<&Instrument>) -> Result<Responses> {
    read_responses_with(path, instrument, &[])
}

/// Reads `responses.parquet` like [`read_responses`] and keeps the named
/// design columns (see [`Responses::from_frame_with`]).
pub fn read_responses_with(
    path: &Path,
    instrument: Option<&Instrument>,
    design_columns: &[&str],
) -> Result<Responses> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let polars_err = |source| Error::Polars {
        origin: origin.clone(),
        source,
    };
    let mut reader = ParquetReader::new(file);
    let arrow_schema = reader.schema().map_err(polars_err)?;
    let names: Vec<String> = arrow_schema.iter_names().map(ToString::to_string).collect();
    let instrument = resolve_instrument(&names, instrument, &origin)?;
    let mut wanted: Vec<String> = vec![schema::UNIT_CODE.into(), schema::PERIOD.into()];
    for optional in [schema::CHANNEL, schema::WEIGHT] {
        if names.iter().any(|c| c == optional) {
            wanted.push(optional.into());
        }
    }
    wanted.extend(instrument.item_ids().iter().map(|s| (*s).to_string()));
    for c in design_columns {
        if !wanted.iter().any(|w| w == c) {
            wanted.push((*c).to_string());
        }
    }
    if let Some(missing) = wanted.iter().find(|w| !names.contains(w)) {
        return Err(Error::MissingColumn {
            origin,
            column: missing.clone(),
        });
    }
    let df = reader
        .with_columns(Some(wanted))
        .finish()
        .map_err(polars_err)?;
    Responses::from_frame_with(&df, Some(&instrument), &origin, design_columns)
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

fn read_weights(col: Option<&Column>, n: usize, origin: &str) -> Result<Vec<f64>> {
    let Some(col) = col else {
        return Ok(vec![1.0; n]);
    };
    let ca = col.f64().expect("dtype checked by the caller");
    let mut out = Vec::with_capacity(n);
    for (i, w) in ca.iter().enumerate() {
        match w {
            Some(w) if w.is_finite() && w > 0.0 => out.push(w),
            other => {
                return Err(Error::Value {
                    origin: origin.to_string(),
                    row: i + 1,
                    column: schema::WEIGHT.to_string(),
                    message: match other {
                        Some(w) => format!("weight {w} is not finite and > 0"),
                        None => "missing weight".into(),
                    },
                });
            }
        }
    }
    Ok(out)
}

/// Transposes the UInt8 item columns into the row-major answer buffer,
/// checking that every non-null code is on the scale.
fn read_answers(
    cols: &[&Column],
    instrument: &Instrument,
    n: usize,
    origin: &str,
) -> Result<Vec<u8>> {
    let j_count = cols.len();
    let scale = &instrument.scale;
    let chunked: Vec<_> = cols
        .iter()
        .map(|c| c.u8().expect("dtype checked by the caller").rechunk())
        .collect();
    let arrays: Vec<_> = chunked.iter().map(|ca| ca.downcast_as_array()).collect();
    let mut answers = vec![0u8; n * j_count];
    if j_count == 0 || n == 0 {
        return Ok(answers);
    }
    // Each block reports its first bad (row, item, code); the smallest wins.
    let bad = answers
        .par_chunks_mut(BLOCK * j_count)
        .enumerate()
        .filter_map(|(b, block)| {
            let start = b * BLOCK;
            let rows = block.len() / j_count;
            let mut first_bad: Option<(usize, usize, u8)> = None;
            for (j, arr) in arrays.iter().enumerate() {
                let values = &arr.values()[start..start + rows];
                let validity = arr.validity();
                for (r, &v) in values.iter().enumerate() {
                    let present = validity.is_none_or(|bm| bm.get_bit(start + r));
                    if !present {
                        continue;
                    }
                    if scale.is_valid(v) {
                        block[r * j_count + j] = v;
                    } else if first_bad.is_none_or(|(fr, fj, _)| (start + r, j) < (fr, fj)) {
                        first_bad = Some((start + r, j, v));
                    }
                }
            }
            first_bad
        })
        .min();
    if let Some((row, j, code)) = bad {
        return Err(Error::Value {
            origin: origin.to_string(),
            row: row + 1,
            column: instrument.items()[j].id.clone(),
            message: format!(
                "answer code {code} is outside the scale {}–{}",
                scale.min, scale.max
            ),
        });
    }
    Ok(answers)
}

/// A dictionary of distinct text values with per-row indices (first-seen order).
#[derive(Debug, Default)]
struct Dict {
    values: Vec<String>,
    lookup: HashMap<String, u32>,
    idx: Vec<u32>,
}

impl Dict {
    fn constant(value: &str, n: usize) -> Self {
        Dict {
            values: vec![value.to_string()],
            lookup: HashMap::from([(value.to_string(), 0)]),
            idx: vec![0; n],
        }
    }

    fn push(&mut self, v: &str) {
        // Sorted input repeats values: the previous row is the common hit.
        if let Some(&last) = self.idx.last()
            && self.values[last as usize] == v
        {
            self.idx.push(last);
            return;
        }
        let i = if let Some(&i) = self.lookup.get(v) {
            i
        } else {
            let i = self.values.len() as u32;
            self.values.push(v.to_string());
            self.lookup.insert(v.to_string(), i);
            i
        };
        self.idx.push(i);
    }

    fn encode(ca: &StringChunked, origin: &str, column: &str) -> Result<Self> {
        let mut d = Dict {
            idx: Vec::with_capacity(ca.len()),
            ..Dict::default()
        };
        for (i, v) in ca.iter().enumerate() {
            match v {
                Some(v) if !v.is_empty() => d.push(v),
                _ => {
                    return Err(Error::Value {
                        origin: origin.to_string(),
                        row: i + 1,
                        column: column.to_string(),
                        message: "missing value".into(),
                    });
                }
            }
        }
        Ok(d)
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
        let idx = if remap.iter().enumerate().all(|(i, &r)| i as u32 == r) {
            self.idx
        } else {
            self.idx.par_iter().map(|&i| remap[i as usize]).collect()
        };
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
mod tests {
    use std::path::Path;

    use polars::prelude::*;

    use super::{Responses, read_responses};

    fn frame() -> DataFrame {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        let mut cols = vec![
            Column::new("response_id".into(), ["a", "b", "c"]),
            Column::new("unit_code".into(), ["05446", "05443", "05446"]),
            Column::new("period".into(), ["2024Q1", "2023Q4", "2023Q4"]),
            Column::new("channel".into(), ["survey", "qr", "survey"]),
            Column::new("weight".into(), [1.0, 2.0, 0.5]),
        ];
        for (j, it) in inst.items().iter().enumerate() {
            let v: Vec<Option<u8>> = vec![Some(1 + (j % 5) as u8), None, Some(5)];
            cols.push(Column::new(it.id.as_str().into(), v));
        }
        cols.push(Column::new("source_line".into(), [2u64, 3, 4]));
        DataFrame::new_infer_height(cols).unwrap()
    }

    fn write(df: &mut DataFrame, path: &Path) {
        let f = std::fs::File::create(path).unwrap();
        ParquetWriter::new(f).finish(df).unwrap();
    }

    #[test]
    fn reads_parquet_into_the_compact_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.parquet");
        write(&mut frame(), &path);
        let r = read_responses(&path, None).unwrap();
        assert_eq!(r.instrument().id, "sipas-2017");
        assert_eq!(r.len(), 3);
        assert_eq!(r.units(), ["05443", "05446"]);
        let periods: Vec<String> = r.periods().iter().map(ToString::to_string).collect();
        assert_eq!(periods, ["2023Q4", "2024Q1"]);
        assert_eq!(r.channels(), ["qr", "survey"]);
        assert_eq!(r.unit_indices(), [1, 0, 1]);
        assert_eq!(r.period_indices(), [1, 0, 0]);
        assert_eq!(r.channel_indices(), [1, 0, 1]);
        assert_eq!(r.weights(), [1.0, 2.0, 0.5]);
        // Row 1: 1,2,3,4,5,1,…; row 2 all missing; row 3 all 5.
        assert_eq!(&r.answers()[..6], [1, 2, 3, 4, 5, 1]);
        assert!(r.answers()[22..44].iter().all(|&a| a == 0));
        assert!(r.answers()[44..].iter().all(|&a| a == 5));
        // Same table as from the frame directly.
        let m = Responses::from_frame(&frame(), None, "frame").unwrap();
        assert_eq!(m.answers(), r.answers());
    }

    #[test]
    fn wrong_type_names_the_file_and_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.parquet");
        let mut df = frame();
        df.with_column(Column::new("a2".into(), [1i64, 2, 3]))
            .unwrap();
        write(&mut df, &path);
        let err = read_responses(&path, None).unwrap_err().to_string();
        assert!(err.contains("responses.parquet"), "{err}");
        assert!(
            err.ends_with("column `a2` has type i64, expected u8"),
            "{err}"
        );
    }

    #[test]
    fn missing_column_and_bad_values_are_named() {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        let df = frame().drop("period").unwrap();
        let err = Responses::from_frame(&df, Some(&inst), "t.parquet").unwrap_err();
        assert_eq!(err.to_string(), "t.parquet: missing column `period`");

        let mut df = frame();
        df.with_column(Column::new("a3".into(), [Some(1u8), Some(7), None]))
            .unwrap();
        let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.parquet: row 2, column `a3`: answer code 7 is outside the scale 1–5"
        );

        let mut df = frame();
        df.with_column(Column::new("weight".into(), [1.0, 0.0, 1.0]))
            .unwrap();
        let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.parquet: row 2, column `weight`: weight 0 is not finite and > 0"
        );

        let mut df = frame();
        df.with_column(Column::new("period".into(), ["2024Q1", "2024", "2024Q1"]))
            .unwrap();
        let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.parquet: mixed period granularities (2024 and 2024Q1)"
        );

        let df = frame().drop("a1").unwrap();
        let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
        assert!(
            err.to_string().contains("match no known instrument"),
            "{err}"
        );
    }
}
