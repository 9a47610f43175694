//! Integration tests of sipas-clean: fixture cases, properties, parquet I/O.

mod common;
mod dated;
mod fixtures;
mod fuzz_names;
mod io;
mod props;
mod stream;
mod unit_names;
