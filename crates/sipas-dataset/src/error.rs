//! Errors of reading and writing the response table.

use std::path::PathBuf;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading or writing Parquet failed.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: polars::prelude::PolarsError,
    },
    /// The folder does not hold a response table in a known layout, or holds two.
    #[error("{path}: {message}")]
    Layout {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn pe(path: &std::path::Path) -> impl Fn(polars::prelude::PolarsError) -> Error + '_ {
    move |source| Error::Polars {
        path: path.to_path_buf(),
        source,
    }
}
