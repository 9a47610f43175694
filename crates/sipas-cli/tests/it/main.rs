//! Integration tests of the `sipas` binary: one test binary, a module per topic.

mod common;
mod coverage;
mod design_report;
mod layering;
mod pipeline;
