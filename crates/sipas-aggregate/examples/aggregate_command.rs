//! The sequence of `sipas aggregate` with the bundled units and pilots and
//! the command's default settings, timing each stage and printing the peak
//! resident memory so far (Linux `VmHWM`) after it.
//!
//! `cargo run --release -p sipas-aggregate --example aggregate_command -- DATA OUT`
//! where `DATA` is anything `read_responses` accepts (a Parquet file, an
//! output folder in either layout, a partitioned `responses/` folder).

use std::path::PathBuf;
use std::time::Instant;

use sipas_aggregate::{
    AggregateOptions, DesignSpec, EvaluationOptions, aggregate, estimate_domains, evaluate,
    methods_text, read_responses_with, select_panel, write_estimates, write_evaluation,
    write_results,
};

/// Peak resident set size so far, in MB (0 where `/proc` is unavailable).
fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1000)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(data), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: aggregate_command DATA OUT".into());
    };
    let (data, out) = (PathBuf::from(data), PathBuf::from(out));
    let t0 = Instant::now();
    let mut last = t0;
    let mut stage = |name: &str| {
        let now = Instant::now();
        eprintln!(
            "{name:>18}: {:7.2} s (total {:7.2} s), peak RSS so far {} MB",
            (now - last).as_secs_f64(),
            (now - t0).as_secs_f64(),
            peak_mb()
        );
        last = now;
    };
    let design = DesignSpec::default();
    let opts = AggregateOptions::bundled();
    // The command's defaults (`--bootstrap-weights webb`).
    let ev_opts: EvaluationOptions = serde_json::from_value(serde_json::json!({
        "baseline": "all", "weighting": "equal", "bootstrap_weights": "webb",
        "replicates": 9999, "seed": 20_240_101,
    }))?;

    let responses = read_responses_with(&data, None, &design.columns())?;
    stage("read");
    let indices = aggregate(&responses, &opts)?;
    stage("aggregate");
    write_results(&indices, &out)?;
    stage("write_results");
    let estimates = estimate_domains(&responses, &opts, &design)?;
    stage("estimate_domains");
    write_estimates(&estimates, &out)?;
    stage("write_estimates");
    drop(estimates);
    if indices.did.is_some() {
        let (panel, selection) = select_panel(&indices.cells, &opts.pilots, ev_opts.baseline);
        let ev = evaluate(&panel, opts.pilots.start, &ev_opts)?;
        write_evaluation(&ev, Some(&selection), &out)?;
        std::fs::write(out.join("methods.txt"), methods_text(&ev))?;
        stage("evaluate + write");
    }
    eprintln!(
        "{} rows, {} cells: {:.2} s, {:.1} ns/row",
        responses.len(),
        indices.cells.len(),
        t0.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64() * 1e9 / responses.len().max(1) as f64
    );
    Ok(())
}
