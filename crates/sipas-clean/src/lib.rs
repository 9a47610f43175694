//! Cleaning of ingested SIPAS responses.
//!
//! `sipas-clean` takes the canonical response table written by ingest and
//! produces a clean set in which every unit is a known GSO code (names
//! matched, merges mapped through a dated crosswalk), each `response_id`
//! appears once, invalid answer codes are missing, and careless responses are
//! flagged. Every input row ends in the clean set or the quarantine, and the
//! counts reconcile (`rows_in = kept + excluded`, per unit × period and in total).
//! Cleaning is idempotent and does not depend on input row order.
//!
//! # Overview
//! - [`UnitMatcher`] / [`UnitMatch`]: unit text (code or Vietnamese name,
//!   with or without prefix and district) → GSO code.
//! - [`Crosswalk`] / [`CrosswalkTarget`]: dated old → new code mappings.
//! - [`rules`]: the per-row rules (recoding, straight-lining, missing share, speeders).
//! - [`clean()`] with [`CleanOptions`] → [`CleanOutcome`] (clean [`ResponseTable`],
//!   quarantine, [`CleanReport`], per-cell [`Counts`]). Pure: no files, no clock.
//! - [`io`]: reading the response table (either layout of `sipas-dataset`)
//!   and writing the outputs atomically.
//! - [`clean_folder`] / [`clean_folder_with`] (with [`FolderOptions`]):
//!   the whole stage, folder to folder, in bounded memory (the table is cleaned in groups of
//!   unit × period cells; duplicate ids are decided over the whole table),
//!   with the same outputs as [`clean()`] on the whole table.
//!
//! The optional `district` column narrows unit names that repeat across
//! districts and is kept; a kept row matched by name keeps the text as given
//! in `unit_text`; every column clean does not know (survey-design columns
//! such as `village`, see [`ResponseTable::extra`]) passes through unchanged.
//!
//! ```no_run
//! use std::path::Path;
//! use sipas_clean::{CleanOptions, Crosswalk, clean_folder};
//!
//! let opts = CleanOptions { crosswalk: Some(Crosswalk::thai_nguyen()), ..CleanOptions::default() };
//! let report = clean_folder(
//!     Path::new("data"),
//!     Path::new("clean"),
//!     None,
//!     &sipas_core::bundled::units(),
//!     &opts,
//! )?;
//! assert_eq!(report.totals.rows_in, report.totals.kept + report.totals.excluded);
//! # Ok::<(), sipas_clean::Error>(())
//! ```

#![warn(missing_docs)]

mod clean;
mod columns;
pub mod crosswalk;
mod error;
mod held;
pub mod io;
pub mod rules;
mod stream;
pub mod table;
pub mod time;
pub mod units;

pub use clean::{
    ChannelCounts, CleanOptions, CleanOutcome, CleanReport, Counts, CrosswalkSummary, Excluded,
    OptionsSummary, Reason, Units, clean,
};
pub use crosswalk::{
    AnalysisUnits, Crosswalk, CrosswalkEntry, CrosswalkTarget, Mapped, Part, Reorganisation,
};
pub use error::{Error, Result};
pub use stream::{FolderOptions, clean_folder, clean_folder_with};
pub use table::{ExtraColumn, ExtraType, Flags, Response, ResponseTable, Value};
pub use units::{UnitMatch, UnitMatcher};
