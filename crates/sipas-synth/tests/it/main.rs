//! Integration tests of sipas-synth: truth, determinism, sampling, Parquet.

mod determinism;
mod indices;
mod parquet;
mod rollout;
mod sampling;
mod styles;
mod truth;

use polars::prelude::DataFrame;
use sipas_core::{Instrument, Period, bundled};
use sipas_synth::SynthConfig;

pub(crate) fn sipas2023() -> Instrument {
    bundled::instrument("sipas-2023").unwrap()
}

pub(crate) fn quarters(first: &str, last: &str) -> Vec<Period> {
    first
        .parse::<Period>()
        .unwrap()
        .range_to(last.parse().unwrap())
}

/// 5 units (two of them pilots: 05443, 05500) × 2023Q3–2024Q2, N responses.
pub(crate) fn small_config(seed: u64, responses: u64) -> SynthConfig {
    SynthConfig {
        seed,
        responses,
        units: ["05443", "05500", "05446", "05431", "05434"]
            .map(String::from)
            .to_vec(),
        periods: quarters("2023Q3", "2024Q2"),
        ..SynthConfig::thai_nguyen()
    }
}

/// The `weight` column of a generated frame (never null).
pub(crate) fn weights(df: &DataFrame) -> Vec<f64> {
    df.column("weight")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}
