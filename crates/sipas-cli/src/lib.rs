//! The `sipas` command line: argument parsing, job files and the orchestration
//! of the stages (generate → ingest → clean → aggregate → report).
//!
//! # Overview
//! - [`args::Args`]: the clap definitions of every subcommand.
//! - [`job::Job`]: a TOML job file for `sipas run`; [`job::Job::demo`] is the
//!   bundled demo.
//! - `options`: the flags and job keys converted once into the typed,
//!   validated options the libraries take (enums, loaded crosswalks).
//! - [`manifest`]: `manifest.json` of every folder a stage writes, and its check.
//! - [`timing`]: a stage's wall time and rows/s (its summary line and `manifest.json` → `timing`).
//! - [`run`]: executes a parsed command and returns an [`ExitStatus`]:
//!   0 ok, 1 data problems found (e.g. rows quarantined), 2 error.

#![warn(missing_docs)]

pub mod args;
mod commands;
pub mod job;
pub mod logging;
pub mod manifest;
mod options;
mod resolve;
pub mod timing;

use std::fmt::Write as _;
use std::io::ErrorKind;

use crate::args::{Args, Command};

/// How a run ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything went through.
    Success,
    /// The run completed but found data problems (rows quarantined).
    DataProblems,
    /// The run failed.
    Error,
}

impl ExitStatus {
    /// The process exit code: 0, 1 or 2.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::DataProblems => 1,
            ExitStatus::Error => 2,
        }
    }

    /// The worse of two statuses.
    #[must_use]
    pub fn max(self, other: ExitStatus) -> ExitStatus {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}

/// Runs one parsed command.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    sipas_core::csv_out::set_excel_bom(args.excel_csv);
    match &args.command {
        Command::Generate(a) => commands::generate::run(a),
        Command::Ingest(a) => commands::ingest::run(a),
        Command::Sync(a) => commands::sync::run(a),
        Command::Clean(a) => commands::clean::run(a),
        Command::Aggregate(a) => commands::aggregate::run(a),
        Command::Sql(a) => commands::sql::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Completions(a) => commands::docs::completions(a.shell),
        Command::Man => commands::docs::man(),
    }
}

/// Prints an error and its causes to stderr; returns the exit status to use
/// (a closed pipe is not an error).
pub fn report_error(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == ErrorKind::BrokenPipe
        {
            return ExitStatus::Success;
        }
    }
    let mut msg = format!("error: {err}");
    for cause in err.chain().skip(1) {
        let _ = write!(msg, "\n  caused by: {cause}");
    }
    logging::line(&msg, true);
    ExitStatus::Error
}
