//! Errors of the synthetic generator.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while building a model or writing its data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is inconsistent (names the field and the reason).
    #[error("invalid synthetic configuration: {0}")]
    Config(String),
    /// The output extension is neither `.csv` nor `.parquet`.
    #[error("cannot tell the output format of {} (expected a .csv or .parquet extension)", path.display())]
    UnknownFormat {
        /// The requested output.
        path: PathBuf,
    },
    /// Writing a file failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file (or the temporary file next to it).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Polars failed to build or write a frame.
    #[error("cannot write parquet {}", path.display())]
    Polars {
        /// The output file; empty when no file was involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// Building an in-memory frame failed.
    #[error("cannot build a response frame")]
    Frame(#[source] polars::error::PolarsError),
}
