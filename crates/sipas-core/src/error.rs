//! Errors of the domain files (instrument, units, pilots, periods).

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while reading or checking domain definitions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A domain file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A TOML definition does not parse.
    #[error("invalid TOML in {origin}")]
    Toml {
        /// File name or bundled name.
        origin: String,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },
    /// A CSV definition does not parse.
    #[error("invalid CSV in {origin}")]
    Csv {
        /// File name or bundled name.
        origin: String,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// A definition parses but is inconsistent.
    #[error("{origin}: {message}")]
    Invalid {
        /// File name or bundled name.
        origin: String,
        /// What is wrong, naming the row or key.
        message: String,
    },
    /// A period label does not follow one of the accepted forms.
    #[error("invalid period `{0}` (expected YYYY, YYYY-H1/H2, YYYYQ1-Q4 or YYYY-MM)")]
    Period(String),
    /// A date is not a valid `YYYY-MM-DD`.
    #[error("invalid date `{0}` (expected YYYY-MM-DD)")]
    Date(String),
}
