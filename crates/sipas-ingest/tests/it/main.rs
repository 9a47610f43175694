//! Integration tests of sipas-ingest on small real files.

mod clean;
mod common;
mod formats;
mod quarantine;
mod reproducible;
