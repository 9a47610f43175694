//! Domain types shared by every stage of sipas.
//!
//! `sipas-core` knows what a SIPAS survey *is*, and nothing about files formats
//! beyond the small data files that define the domain (instrument TOML, unit
//! list CSV, pilot TOML). Stages exchange data through the canonical response
//! table whose column names live in [`schema`].
//!
//! # Overview
//! - [`Instrument`]: a questionnaire as data: items, the answer [`Scale`] and the
//!   tree of groups (element → part → SIPAS) that an index rolls up through.
//! - [`UnitRegistry`] / [`Unit`]: the official commune-level units, keyed by GSO code.
//! - [`UnitHistory`] / [`IsoDate`]: the unit lists in force one after the other
//!   (177 → 172 → 92 in Thái Nguyên); a code means what it meant on its date.
//! - [`PilotSet`]: the pilot units and the period the pilot starts (one start, or waves: [`Wave`]).
//! - [`Level`]: the confidence level of every interval and label (default 95 %).
//! - [`Period`]: a survey period (`2024`, `2024-H1`, `2024Q1`, `2024-01`).
//! - [`text`]: Unicode NFC normalisation and a Vietnamese matching key.
//! - [`atomic`]: atomic file writes (temp file, sync, rename).
//! - [`bundled`]: the instruments, units and pilots shipped with sipas.
//! - [`bytes`]: byte scans eight bytes at a time (the zero bytes of a word).
//! - [`progress`]: progress events of long work, for a front end to draw.
//! - [`csv_safe`]: text cells made inert for spreadsheets (CSV injection).
//! - [`csv_out`]: the one writer of every CSV file (cells made inert, optional Excel BOM).
//! - [`source`]: definition files read whole and parsed with the name their errors cite.
//! - [`staging`]: a results folder written as one unit (staged, locked, swapped in whole).
//! - [`results`]: the results folder's contract: each table's file, columns, row type and
//!   formatting, used by every writer and reader of it.

#![warn(missing_docs)]

pub mod atomic;
pub mod bundled;
pub mod bytes;
pub mod csv_out;
pub mod csv_safe;
pub mod direct;
mod error;
pub mod history;
pub mod index;
pub mod instrument;
pub mod level;
pub mod par;
pub mod period;
pub mod pilots;
pub mod progress;
pub mod results;
pub mod schema;
pub mod source;
pub mod staging;
pub mod text;
pub mod units;
pub mod xorshift;

pub use error::{Error, Result};
pub use history::{DatedUnit, IsoDate, UnitEra, UnitHistory};
pub use instrument::{Group, Instrument, Item, Scale};
pub use level::Level;
pub use period::{Granularity, Period};
pub use pilots::{PilotSet, Wave};
pub use units::{Unit, UnitKind, UnitRegistry};
