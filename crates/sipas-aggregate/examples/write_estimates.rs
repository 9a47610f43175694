//! Times `write_estimates` alone: the estimates of every domain under the default design are
//! made once from the clean table, then `estimates.csv` and its twin are written `TIMES` times
//! (default 3) into `OUT`, each write's wall time printed. With a 10,000-unit table this is the
//! largest writer of `sipas aggregate`, measured without the evaluation beside it.
//!
//! `cargo run --release -p sipas-aggregate --example write_estimates -- DATA UNITS PILOTS OUT [TIMES]`
//! where `DATA` is anything `read_responses` accepts, `UNITS` a unit list (CSV) and `PILOTS` a
//! pilot set (TOML), as `sipas aggregate --units --pilots` take them.

use std::path::PathBuf;
use std::time::Instant;

use sipas_aggregate::{
    AggregateOptions, DesignSpec, estimate_domains, read_responses_with, write_estimates,
};
use sipas_core::{PilotSet, UnitRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [data, units, pilots, out, rest @ ..] = &args[..] else {
        return Err("usage: write_estimates DATA UNITS PILOTS OUT [TIMES]".into());
    };
    let times: usize = match rest.first() {
        Some(t) => t.to_string_lossy().parse()?,
        None => 3,
    };
    let units = UnitRegistry::from_path(units)?;
    let mut pilot_set = PilotSet::from_path(pilots)?;
    pilot_set.resolve_against(&units, &pilots.display().to_string())?;
    let design = DesignSpec::default();
    let opts = AggregateOptions::new(units, pilot_set);
    let responses = read_responses_with(data, None, &design.columns())?;
    let estimates = estimate_domains(&responses, &opts, &design)?;
    eprintln!("{} rows of estimates.csv", estimates.rows.len());
    for _ in 0..times {
        let t = Instant::now();
        write_estimates(&estimates, out)?;
        eprintln!("write_estimates: {:.3} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
