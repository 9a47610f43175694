//! Synthetic SIPAS survey responses drawn from an explicit statistical model,
//! together with the exact population truth they were drawn from.
//!
//! `sipas generate` uses this crate to produce test data of any size (up to
//! 10⁸ rows and beyond, in bounded memory) whose true indices are known
//! exactly, so every later stage (ingest, aggregate, the pilot evaluation) can
//! be checked against the truth.
//!
//! # Overview
//! - [`SynthConfig`]: seed, number of responses, units, periods, pilots and
//!   the model parameters; [`SynthConfig::thai_nguyen`] gives the defaults
//!   (177 Thái Nguyên units, 2023Q1–2025Q4, 12 pilot units from 2024Q1).
//! - [`Model`]: a configuration with its random effects drawn;
//!   [`Model::truth`] gives the exact expected indices ([`TruthRow`]).
//! - [`write_responses`] (CSV or Parquet by extension) and [`write_truth`]
//!   write files atomically; [`generate_chunk`] / [`Model::frames`] give
//!   polars frames for tests and benches.
//! - [`quad`]: the logistic-normal integral behind the truth.
//!
//! # Model
//! Ordered logit with a respondent random effect. For respondent *i* in unit
//! *u*, period *t* (position `k_t = 0, 1, 2, …` in the sorted period list) and
//! item *j*:
//!
//! ```text
//! η = μ + α_u + β·k_t + δ·h(e_ut) + γ_j + b_i
//! P(Y ≤ k) = logistic(κ_k − η),  k = 1..4,  κ₁ < κ₂ < κ₃ < κ₄
//! α_u ~ N(0, σ_u²) once per unit, γ_j ~ N(0, σ_γ²) once per item,
//! b_i ~ N(0, σ_b²) once per respondent (shared by all their answers)
//! ```
//!
//! `e_ut` is the exposure of unit *u* in period *t*: periods since the start of its wave of the
//! pilot set (0 in the start period; the pilot set may have several waves), and `h(e)` the share
//! of the effect reached after `e` periods (`effect_path`, e.g. `[0, 0.25, 0.5, 0.75, 1]`; by
//! default `h = 1`, the full effect from the start); `δ·h = 0` before the start and for units of
//! no wave.
//!
//! Each answer is missing independently with probability `m` (MCAR).
//! Satisfied means `Y ≥ 4`, so `P(sat | b) = logistic(η − κ₃)`.
//!
//! | field | symbol | default |
//! |---|---|---|
//! | `mu` | μ | −0.02 |
//! | `thresholds` | κ | (−4.2, −3.2, −1.9, 0.9) |
//! | `sigma_unit` | σ_u | 0.35 |
//! | `sigma_item` | σ_γ | 0.25 |
//! | `sigma_respondent` | σ_b | 0.8 |
//! | `trend` | β | 0.02 per period |
//! | `pilot_effect` | δ | 0.35 |
//! | `missing_rate` | m | 0.02 |
//! | `weights` | w = exp(N(0, 0.3²)) | off (w = 1) |
//!
//! With these defaults the mean truth SIPAS is about 85% (national SIPAS was
//! 80–87% in 2019–2024).
//!
//! **Truth.** The expected share satisfied of item *j* in a cell is
//! `p_utj = ∫ logistic(η₀ + b − κ₃) φ(b; 0, σ_b) db` (η₀ = η without `b_i`),
//! computed by quadrature to better than 10⁻¹⁰ ([`quad`]). Group values are
//! `100 · Σ_j c_gj p_utj` with `c` from `Instrument::coefficients`. Missing
//! answers are MCAR, so they do not change the truth.
//!
//! **Truth of the group-time effects.** [`Model::att_truth`] gives, for every wave `g` and
//! period `t`, the wave's mean of `S_ut(1) − S_ut(0)` (SIPAS with and without the effect), exact
//! (see its derivation); [`write_att_truth`] writes it as `truth_att_gt.csv`.
//!
//! **Sampling.** N responses are spread over unit × period cells as evenly as
//! possible: every cell gets `⌊N / C⌋`, the first `N mod C` cells in (unit,
//! period) order one more. Random draws use xoshiro256++ seeded through
//! splitmix64: α_u from (seed, unit code), γ_j from (seed, item id), and
//! each respondent from (seed, unit code, period, sequence number), so the
//! output is the same for a seed whatever the number of threads or the
//! chunking. Normals use Box–Muller; an answer is drawn by inverting the
//! ordered-logit CDF with one uniform.
//!
//! # Output
//! The canonical response layout:
//! `response_id,unit_code,period,submitted_at,channel,weight,<item ids>` with
//! `response_id = {unit_code}-{period}-{seq:06}` (1-based within the cell),
//! `submitted_at` a date inside the period, `channel = survey`, answers 1–5
//! or empty. Parquet uses String for text, Float64 for `weight` and nullable
//! UInt8 for items.
//!
//! ```no_run
//! use std::path::Path;
//! use sipas_synth::{Model, SynthConfig, write_responses, write_truth};
//!
//! let cfg = SynthConfig::with_seed_and_responses(42, 1_000_000);
//! let instrument = sipas_core::bundled::instrument("sipas-2023").unwrap();
//! let model = Model::new(&cfg, &instrument)?;
//! write_responses(&model, Path::new("responses.parquet"))?;
//! write_truth(&model, Path::new("truth.csv"))?;
//! # Ok::<(), sipas_synth::Error>(())
//! ```

#![warn(missing_docs)]

mod cluster;
mod config;
pub mod criteria;
mod error;
mod generate;
mod model;
pub mod quad;
mod rng;
pub mod styles;
mod write;

pub use cluster::VILLAGE;
pub use config::{DEFAULT_MU, SynthConfig};
pub use error::{Error, Result};
pub use generate::{Frames, frame_schema, generate_chunk};
pub use model::{AttTruth, Model, TruthRow};
pub use styles::{Mode, ResponseStyles};
pub use write::{
    ATT_TRUTH_FILE, Format, Recode, Summary, WriteOptions, write_att_truth, write_att_truth_to,
    write_responses, write_responses_recoded, write_responses_with, write_truth, write_truth_to,
};
