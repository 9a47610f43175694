//! Errors of the cleaning stage.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while cleaning responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written or renamed into place.
    #[error("i/o error on {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Polars failed to read or write a parquet file or to build a frame.
    #[error("parquet or table error for {}", path.display())]
    Polars {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// The response table could not be found, read or written.
    #[error("response table error")]
    Dataset(#[source] sipas_dataset::Error),
    /// A CSV file (crosswalk, or an output) could not be read or written.
    #[error("csv error on {origin}")]
    Csv {
        /// File name or bundled name.
        origin: String,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// The report could not be serialised.
    #[error("cannot serialise the clean report")]
    Json(#[source] serde_json::Error),
    /// A required column is absent.
    #[error("{}: column `{column}` is missing", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// A required value is null.
    #[error("{}: row {row}, column `{column}`: value is missing", path.display())]
    NullValue {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: usize,
        /// The column.
        column: String,
    },
    /// The columns do not belong to a known instrument.
    #[error("{}: the columns match no known instrument", path.display())]
    UnknownInstrument {
        /// The file.
        path: PathBuf,
    },
    /// The table's item columns are not the instrument's items, in order.
    #[error("the item columns are not those of instrument {instrument}")]
    Items {
        /// Instrument id.
        instrument: String,
    },
    /// A row's extra values do not match the table's extra columns.
    #[error("row {response_id} has {found} extra values for {expected} extra columns")]
    Extra {
        /// The row's id.
        response_id: String,
        /// Extra values of the row.
        found: usize,
        /// Extra columns of the table.
        expected: usize,
    },
    /// A crosswalk file is inconsistent.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Crosswalk {
        /// File name or bundled name.
        origin: String,
        /// 1-based line (header = 1).
        line: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// An option is out of its domain.
    #[error("invalid option {name}: {message}")]
    Option {
        /// Option name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The counts do not reconcile (rows in ≠ kept + excluded): a bug.
    #[error(
        "counts do not reconcile for {scope}: rows in {rows_in}, kept {kept}, excluded {excluded}"
    )]
    Reconciliation {
        /// `total` or `unit_code/period`.
        scope: String,
        /// Rows in.
        rows_in: u64,
        /// Rows kept.
        kept: u64,
        /// Rows excluded.
        excluded: u64,
    },
}
