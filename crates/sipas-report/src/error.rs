//! Errors of the report stage.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while reading results or writing the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, created or renamed into place.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A results CSV is not well-formed CSV.
    #[error("{}: invalid CSV", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// A required column is missing from a results CSV header.
    #[error("{}: missing column `{column}`", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column name.
        column: String,
    },
    /// A JSON report (`evaluation.json`, `ingest-report.json`, `clean-report.json`) is malformed.
    #[error("{}: invalid JSON", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A field does not hold a valid value.
    #[error("{}: line {line}, column `{column}`: {reason}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file (the header is line 1).
        line: u64,
        /// The column name.
        column: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// The results are inconsistent with each other or with the pilot set.
    #[error("{}: {message}", path.display())]
    Inconsistent {
        /// The file the problem was found in.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The pilot set and the results' `pilot` column disagree about a unit.
    #[error("unit {code}: {message}")]
    PilotMismatch {
        /// The unit's GSO code.
        code: String,
        /// How they disagree.
        message: String,
    },
    /// A unit asked for is not in the results.
    #[error("unit {0} is not in the results")]
    UnknownUnit(String),
    /// Drawing a chart failed.
    #[error("cannot draw chart: {0}")]
    Draw(String),
    /// Encoding a PNG failed.
    #[error("cannot encode PNG")]
    Png(#[source] image::ImageError),
}
