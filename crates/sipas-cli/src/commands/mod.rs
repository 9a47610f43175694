//! One module per subcommand. This module owns all printing to stderr:
//! progress and summaries are logs, never data.

pub(crate) mod aggregate;
pub(crate) mod clean;
pub(crate) mod docs;

pub(crate) mod generate;
pub(crate) mod ingest;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod sync;

/// Writes one log line to stderr (above the progress bars, if drawn; not with `-q`).
pub(crate) fn say(msg: &str) {
    crate::logging::line(msg, false);
}
