//! The canonical response table on disk, read and written in bounded memory.
//!
//! Ingest and clean write, and clean and aggregate read, the canonical
//! response table in one of two layouts ([`Layout`]) inside an output folder:
//!
//! - [`Layout::File`]: `DIR/responses.parquet`, one file sorted by
//!   `(period, unit_code, response_id)`; a row group never spans two periods.
//! - [`Layout::ByPeriod`]: Hive-style partitions, one folder per period,
//!   `DIR/responses/period=2024Q1/part-00000.parquet`, whose files do **not**
//!   carry the `period` column (the folder name does, as Spark, DataFusion,
//!   DuckDB and polars expect), plus `DIR/responses/_schema.parquet`: no rows,
//!   the whole schema in its column order (engines skip `_`-prefixed files).
//!   Read the period as text (e.g. DuckDB `hive_types = {'period': VARCHAR}`),
//!   or a yearly `2024` becomes a number.
//!
//! [`Dataset::open`] finds either layout and reads it in chunks of at most a
//! given number of rows ([`Dataset::chunks`]), each with the `period`
//! column in its place, so a reader never holds more than one chunk of a
//! part. The same chunks, as [`ChunkSpec`]s ([`Dataset::chunk_specs`]), can
//! be read independently on several threads ([`Dataset::read_chunk`], or
//! [`Dataset::read_chunk_here`] to decode on the calling thread only).
//! [`DatasetWriter`] writes either layout from per-period frames and
//! replaces the folder's previous table atomically when it finishes (a
//! temporary file or folder, then a rename; the other layout's table is
//! removed). [`Spill`] partitions rows by a key into temporary Parquet files
//! so that a stage can work one partition at a time.

#![warn(missing_docs)]

mod dict8;
mod dicttext;
mod error;
mod masks;
mod parquet;
mod plain64;
mod read;
mod spill;
mod write;

pub use dicttext::text_dictionary;
pub use error::{Error, Result};
pub use masks::with_answer_masks;
pub use parquet::{FRAME_ROW_GROUP, ParquetOut, frame_row_groups, write_frame};
pub use read::{Chunk, ChunkSpec, Chunks, Dataset, Part};
pub use spill::{Spill, Spilled};
pub use write::{DatasetWriter, stored_plain};

use std::fmt;
use std::str::FromStr;

/// File name of the single-file layout.
pub const RESPONSES_FILE: &str = "responses.parquet";
/// Folder name of the partitioned layout.
pub const RESPONSES_DIR: &str = "responses";
/// The schema file of the partitioned layout (no rows).
pub const SCHEMA_FILE: &str = "_schema.parquet";
/// Rows per Parquet row group written by [`DatasetWriter`].
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// The schema of the six leading columns every response frame starts with
/// ([`sipas_core::schema::LEADING`]): text, but `weight` is `Float64`.
pub fn leading_schema() -> polars::prelude::Schema {
    use polars::prelude::DataType;
    let mut s = polars::prelude::Schema::default();
    for c in sipas_core::schema::LEADING {
        let dtype = if c == sipas_core::schema::WEIGHT {
            DataType::Float64
        } else {
            DataType::String
        };
        s.insert(c.into(), dtype);
    }
    s
}

/// How the response table is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One file, `responses.parquet`.
    #[default]
    File,
    /// One folder per period, `responses/period=P/part-00000.parquet`.
    ByPeriod,
}

impl Layout {
    /// The name used on the command line and in job files (`file`, `period`).
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::File => "file",
            Layout::ByPeriod => "period",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "file" => Ok(Layout::File),
            "period" | "by-period" | "by_period" => Ok(Layout::ByPeriod),
            other => Err(format!(
                "unknown layout `{other}` (expected `file` or `period`)"
            )),
        }
    }
}

/// The frames stacked one after another, in order (each frame's chunks
/// kept: rechunk where one chunk is needed); `None` when there is none.
///
/// # Errors
/// Frames whose columns differ.
pub fn stack(
    frames: impl IntoIterator<Item = polars::prelude::DataFrame>,
) -> polars::prelude::PolarsResult<Option<polars::prelude::DataFrame>> {
    let mut out: Option<polars::prelude::DataFrame> = None;
    for f in frames {
        match &mut out {
            None => out = Some(f),
            Some(o) => {
                o.vstack_mut_owned(f)?;
            }
        }
    }
    Ok(out)
}

/// The Hive folder name of a period (`period=2024Q1`).
pub fn partition_dir(period: &str) -> String {
    format!("{}={period}", sipas_core::schema::PERIOD)
}

#[cfg(test)]
mod tests;
