//! Clusters: villages inside each unit × period cell, with a village effect
//! that makes answers of one village correlated (an intra-cluster
//! correlation), so that design-based intervals with villages as PSUs can be
//! checked against the truth.
//!
//! With `villages = V > 0`, respondent `seq` of a cell lives in village
//! `seq mod V` (labelled `{unit}-{period}-V{v:02}`, 1-based), and every answer
//! of a village's respondents gets the village effect `c_v ~ N(0, σ_v²)`
//! added to η. The villages of a cell are a fresh sample each period (a
//! two-stage sample in each unit × period stratum). The truth integrates
//! the village effect like the respondent effect: b + c ~ N(0, σ_b² + σ_v²).
//! The effect comes from its own stream keyed by (seed, unit, period,
//! village), so the respondents' draws and the output without villages are
//! unchanged.

use polars::prelude::*;

use crate::generate::RawChunk;
use crate::model::Model;
use crate::rng::Xoshiro256pp;

/// Stream tag of village effects.
const TAG_VILLAGE: u64 = 4;

/// Name of the village column (present when `villages > 0`).
pub const VILLAGE: &str = "village";

/// Village index of respondent `seq` of a cell, when villages are drawn.
pub(crate) fn village_of(model: &Model, seq: u64) -> Option<u64> {
    let v = u64::from(model.config().villages);
    (v > 0).then(|| seq % v)
}

/// The village effect c_v of village `v` of cell (u, t).
pub(crate) fn effect(model: &Model, u: usize, t: usize, v: u64) -> f64 {
    let mut rng = Xoshiro256pp::stream(
        model.config().seed,
        &[TAG_VILLAGE, model.unit_keys[u], model.period_keys[t], v],
    );
    model.config().sigma_village * rng.normal()
}

/// The standard deviation of the latent respondent-plus-village effect the
/// truth integrates over.
pub(crate) fn latent_sd(cfg: &crate::SynthConfig) -> f64 {
    if cfg.villages > 0 {
        cfg.sigma_respondent.hypot(cfg.sigma_village)
    } else {
        cfg.sigma_respondent
    }
}

/// `{unit}-{period}-V{v:02}`, 1-based.
pub(crate) fn label(model: &Model, u: usize, t: usize, v: u64) -> String {
    format!(
        "{}-{}-V{:02}",
        model.config().units[u],
        model.period_labels[t],
        v + 1
    )
}

/// The village column of a chunk, when villages are drawn.
pub(crate) fn column(model: &Model, chunk: &RawChunk) -> Option<Column> {
    model.config().villages.checked_sub(1)?;
    let n_periods = model.config().periods.len();
    let values = (0..chunk.len()).map(|i| {
        let c = chunk.cell[i] as usize;
        let v = village_of(model, chunk.seq[i]).expect("villages are drawn");
        label(model, c / n_periods, c % n_periods, v)
    });
    Some(StringChunked::from_iter_values(VILLAGE.into(), values).into_column())
}
