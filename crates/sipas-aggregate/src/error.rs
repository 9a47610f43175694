//! Errors of reading responses, estimating and writing results.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while aggregating responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Polars failed to read or write a table.
    #[error("polars failed on {origin}")]
    Polars {
        /// File name, or a description of the in-memory table.
        origin: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// The response table could not be found or read (layout, file, Parquet).
    #[error("cannot read the response table")]
    Dataset(#[from] sipas_dataset::Error),
    /// A required column is absent.
    #[error("{origin}: missing column `{column}`")]
    MissingColumn {
        /// File name or table description.
        origin: String,
        /// The column.
        column: String,
    },
    /// A column has the wrong data type.
    #[error("{origin}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// File name or table description.
        origin: String,
        /// The column.
        column: String,
        /// The data type the schema requires.
        expected: String,
        /// The data type found.
        found: String,
    },
    /// No bundled instrument has all its items among the columns.
    #[error("{origin}: the columns match no known instrument (give one explicitly)")]
    UnknownInstrument {
        /// File name or table description.
        origin: String,
    },
    /// A value is invalid.
    #[error("{origin}: row {row}, column `{column}`: {message}")]
    Value {
        /// File name or table description.
        origin: String,
        /// 1-based data row (not counting the header).
        row: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The data as a whole is inconsistent (mixed period granularities…).
    #[error("{origin}: {message}")]
    Data {
        /// File name or table description.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A unit code is not in the unit registry.
    #[error("unit code {code} is not in the unit registry")]
    UnknownUnit {
        /// The unit code.
        code: String,
    },
    /// The difference-in-differences cannot be estimated.
    #[error("difference-in-differences (pilot start {start}): {message}")]
    Did {
        /// First period of the pilot.
        start: String,
        /// Why not.
        message: String,
    },
    /// The report could not be serialised.
    #[error("cannot serialise the aggregate report")]
    Json(#[from] serde_json::Error),
}
