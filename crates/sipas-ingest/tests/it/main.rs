//! Integration tests of sipas-ingest on small real files.

mod clean;
mod common;
mod files;
mod formats;
mod quarantine;
mod reproducible;
