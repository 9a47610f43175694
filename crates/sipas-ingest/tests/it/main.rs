//! Integration tests of sipas-ingest on small real files.

mod clean;
mod common;
mod dates;
mod files;
mod formats;
mod fuzz;
mod keep;
mod quarantine;
mod reproducible;
mod stream;
