//! Integration tests of the `sipas` binary: one test binary, a module per topic.

mod common;
mod coverage;
mod layering;
mod pipeline;
mod platforms;
