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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, Period, Unit, UnitRegistry, bundled, schema};
use sipas_dataset::Dataset;

use crate::{Error, Result};

mod builder;
mod dict;
mod fill;
pub(crate) mod pack;
mod plan;
mod read;

pub use builder::ResponsesBuilder;
pub use read::{READ_CHUNK_ROWS, read_responses, read_responses_chunked, read_responses_with};
#[allow(clippy::wildcard_imports)]
use {dict::*, fill::*, pack::*, plan::*};

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
        let words = mask_words(instrument.tests().len());
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

    /// Makes `group` the headline index of every estimate made from this table
    /// ([`Instrument::with_root`]); the answers are untouched.
    ///
    /// # Errors
    /// `group` is not a group of the instrument.
    pub fn set_root(&mut self, group: &str) -> Result<()> {
        self.instrument = self
            .instrument
            .with_root(group)
            .map_err(|e| crate::Error::Data {
                origin: self.origin.clone(),
                message: e.to_string(),
            })?;
        Ok(())
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

#[cfg(test)]
mod tests;
