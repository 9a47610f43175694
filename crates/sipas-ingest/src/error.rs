//! Errors of ingest: problems with whole files or the run, never with a single
//! row (rows that cannot be used are quarantined, see [`crate::Reason`]).

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop an ingest run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No input path was given, or none of the files given or found holds a
    /// response table (CSV, Excel, JSON or Parquet with a recognisable header).
    #[error(
        "no input files (expected CSV, Excel, JSON or Parquet files with a response_id / unit / period header, or folders holding them)"
    )]
    NoInputs,
    /// An input path does not exist.
    #[error("input {} does not exist", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A file or folder could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The CSV reader failed on a file (other than a malformed row).
    #[error("cannot read CSV {}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// Polars failed to read a Parquet input or to build / write the table.
    #[error("parquet or table error for {}", path.display())]
    Polars {
        /// The file being read or written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A file has no header row.
    #[error("{}: the file is empty (a header row is required)", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A required column (`response_id`, `unit_code`, `period`) is missing.
    #[error("{}, line 1: missing required column `{column}`", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// Item columns of the instrument are missing from a file's header.
    #[error("{}, line 1: missing item columns of instrument {instrument}: {columns}", path.display())]
    MissingItems {
        /// The file.
        path: PathBuf,
        /// The instrument id.
        instrument: String,
        /// The missing item ids, comma-separated.
        columns: String,
    },
    /// A column name appears twice in a header.
    #[error("{}, line 1: column `{column}` appears more than once", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// Two columns map to the same field with the same precedence.
    #[error("{}, header: columns {columns} both map to `{field}`", path.display())]
    AmbiguousColumn {
        /// The file (or `file#sheet`).
        path: PathBuf,
        /// The field or item id.
        field: String,
        /// The two columns, comma-separated.
        columns: String,
    },
    /// A mapping file cannot be read, or maps a column to an unknown target.
    #[error("mapping for {}: {message}", path.display())]
    Mapping {
        /// The mapping file, or the data file whose column is mapped.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A name in [`crate::IngestOptions::keep_columns`] cannot be used.
    #[error("keep column {column:?}: {message}")]
    KeepColumn {
        /// The name as given.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A zip archive (or one of its entries) cannot be read.
    #[error("cannot read archive {}: {message}", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// An Excel workbook (or one of its sheets) cannot be read.
    #[error("cannot read workbook {}: {message}", path.display())]
    Excel {
        /// The workbook.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A text file (read as UTF-8, the default) holds a byte sequence that
    /// is not UTF-8.
    #[error(
        "{file}, line {line}, byte offset {offset}: byte 0x{byte:02X} is not valid UTF-8; the file is read as UTF-8 unless its encoding is named (`--encoding windows-1258`, or `encoding = \"windows-1258\"` in the job's [ingest]) or detected (`--encoding auto`)"
    )]
    InvalidUtf8 {
        /// The file (`archive.zip#entry.csv` for a zip entry).
        file: String,
        /// 1-based line of the first invalid byte.
        line: u64,
        /// 0-based byte offset of the first invalid byte in the file.
        offset: usize,
        /// The invalid byte.
        byte: u8,
    },
    /// None of the inputs could be read as a response table: each file
    /// given or found was skipped, for the reason listed.
    #[error("no input file could be read: {}", list_skipped(skipped))]
    NothingRead {
        /// Every file or sheet, with why it was not read.
        skipped: Vec<crate::Skipped>,
    },
    /// The `encoding` option names no known encoding.
    #[error("unknown text encoding `{label}` (try utf-8, windows-1258, utf-16le, or auto)")]
    UnknownEncoding {
        /// The label given.
        label: String,
    },
    /// No bundled instrument has all its items among the first file's columns.
    #[error(
        "{}: no instrument matches the header; closest is {closest}, missing item columns: {missing}",
        path.display()
    )]
    UnknownInstrument {
        /// The first input file.
        path: PathBuf,
        /// The instrument with the fewest missing items.
        closest: String,
        /// Its missing item ids, comma-separated.
        missing: String,
    },
    /// The response table could not be written, or read back.
    #[error("cannot write or read the response table")]
    Dataset(#[from] sipas_dataset::Error),
    /// An id's 128-bit hash matched that of an accepted id, but no accepted
    /// row has that id: a hash collision (probability below n²/2^129 for n
    /// ids, see the crate docs). Never expected; nothing is written. (A
    /// collision of the 64-bit hashes of the first attempt does not stop the
    /// run: it is done again with 128-bit keys.)
    #[error(
        "response id {id:?} was taken for a duplicate by its 128-bit hash, but no accepted row has it (a hash collision); please report this"
    )]
    IdCollision {
        /// The id quarantined as a duplicate.
        id: String,
    },
    /// The report could not be serialized.
    #[error("cannot serialize the ingest report")]
    Json(#[source] serde_json::Error),
    /// The identity rows_read = accepted + quarantined failed (a bug).
    #[error(
        "row counts do not reconcile for {scope}: {rows_read} read ≠ {accepted} accepted + {quarantined} quarantined"
    )]
    CountMismatch {
        /// `total` or the input file.
        scope: String,
        /// Rows read.
        rows_read: u64,
        /// Rows accepted.
        accepted: u64,
        /// Rows quarantined.
        quarantined: u64,
    },
}

/// `file: reason; file: reason`.
fn list_skipped(skipped: &[crate::Skipped]) -> String {
    skipped
        .iter()
        .map(|s| format!("{} ({})", s.file, s.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
