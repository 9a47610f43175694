//! Integration tests of the `sipas` binary: one test binary, a module per topic.

mod browser;
mod common;
mod coverage;
mod interface;
mod design_report;
mod layering;
mod pipeline;
mod real_styles;
mod units_over_time;
mod platforms;
