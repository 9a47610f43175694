//! Integration tests of the `sipas` binary: one test binary, a module per topic.

mod bad_input;
mod browser;
mod common;
mod contract;
mod coverage;
#[path = "../../../sipas-aggregate/tests/it/design_fixture.rs"]
mod design_fixture;
mod design_report;
mod evaluate;
mod hostile_cells;
mod input_checks;
mod interface;
mod layering;
mod level;
mod naming;
mod pipeline;
mod platforms;
mod real_styles;
mod results_folder;
mod spark_engine;
mod staggered;
mod units_over_time;
