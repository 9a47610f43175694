//! Integration tests of the `sipas` binary: one test binary, a module per topic.

mod browser;
mod common;
mod coverage;
mod interface;
mod layering;
mod pipeline;
mod real_styles;
mod results_folder;
