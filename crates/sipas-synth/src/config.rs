//! The parameters of the synthetic survey: which units and periods, how many
//! responses, and the ordered-logit model's coefficients.

use sipas_core::{Period, PilotSet, bundled};

use crate::styles::ResponseStyles;

/// Everything that determines a synthetic dataset. Two equal configurations
/// (with the same instrument) produce byte-identical outputs.
///
/// The model is described in the [crate docs](crate#model); the field names
/// follow it: `η = mu + α_u + trend·k_t + pilot_effect·h(k_t − k_{g(u)}) + γ_j + b_i`, with `g(u)`
/// the start of the unit's wave and `h` the [`effect_path`](Self::effect_path) (0 before the start).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Seed of every random draw (unit and item effects, respondents).
    pub seed: u64,
    /// Total number of responses N, spread over unit × period cells.
    pub responses: u64,
    /// Survey periods, one granularity; `k_t` is the position in this list
    /// after sorting.
    pub periods: Vec<Period>,
    /// GSO codes of the units surveyed (sorted on use; must be unique).
    pub units: Vec<String>,
    /// Pilot units and the first period of the pilot, in one or more waves
    /// (each unit treated from its wave's start). Pilot codes that are not in
    /// `units` are ignored.
    pub pilots: PilotSet,
    /// Intercept μ of the linear predictor.
    pub mu: f64,
    /// Ordered-logit thresholds κ₁ < … < κ₄ (one fewer than the answer codes):
    /// `P(Y ≤ k) = logistic(κ_k − η)`.
    pub thresholds: Vec<f64>,
    /// Standard deviation σ_u of the unit effect α_u.
    pub sigma_unit: f64,
    /// Standard deviation σ_γ of the item effect γ_j.
    pub sigma_item: f64,
    /// Standard deviation σ_b of the respondent random effect b_i.
    pub sigma_respondent: f64,
    /// Linear time trend β per period (logit scale).
    pub trend: f64,
    /// Pilot effect δ on the logit scale, from each unit's wave start on.
    pub pilot_effect: f64,
    /// How the effect builds up with exposure: the share `h(e)` of δ a unit gets `e = 0, 1, 2, …`
    /// periods after its wave's start, the last value from then on (`[0, 0.25, 0.5, 0.75, 1]`:
    /// nothing in the first period, the full effect after four). Empty (the default): the full
    /// effect from the start, `h(e) = 1`.
    pub effect_path: Vec<f64>,
    /// Probability that an answer is missing (MCAR), in [0, 1).
    pub missing_rate: f64,
    /// Whether to draw sampling weights `w = exp(N(0, weight_sigma²))`
    /// (rounded to 6 decimals); when false every weight is 1.
    pub weights: bool,
    /// Log-scale standard deviation of the drawn weights.
    pub weight_sigma: f64,
    /// Response styles (acquiescence, clustered nonresponse, modes, re-sent
    /// copies, edits); default: off. See [`crate::styles`].
    pub styles: ResponseStyles,
    /// Villages (clusters) per unit × period cell; 0: no clusters and no
    /// `village` column (see the `cluster` module).
    pub villages: u32,
    /// Standard deviation σ_v of the village effect (logit scale).
    pub sigma_village: f64,
}

impl SynthConfig {
    /// The default Thái Nguyên setup: the 177 bundled units, 2023Q1–2025Q4,
    /// the bundled pilots (12 units from 2024Q1), 150 responses per unit and
    /// period (318,600 in all), seed 0, and model defaults that give a mean
    /// SIPAS of about 85%.
    pub fn thai_nguyen() -> Self {
        let units: Vec<String> = bundled::units().iter().map(|u| u.code.clone()).collect();
        let first: Period = "2023Q1".parse().expect("valid period literal");
        let last: Period = "2025Q4".parse().expect("valid period literal");
        let periods = first.range_to(last);
        let responses = 150 * (units.len() * periods.len()) as u64;
        SynthConfig {
            seed: 0,
            responses,
            periods,
            units,
            pilots: bundled::pilots(),
            mu: DEFAULT_MU,
            thresholds: vec![-4.2, -3.2, -1.9, 0.9],
            sigma_unit: 0.35,
            sigma_item: 0.25,
            sigma_respondent: 0.8,
            trend: 0.02,
            pilot_effect: 0.35,
            effect_path: Vec::new(),
            missing_rate: 0.02,
            weights: false,
            weight_sigma: 0.3,
            styles: ResponseStyles::default(),
            villages: 0,
            sigma_village: 0.8,
        }
    }

    /// The Thái Nguyên defaults with another seed and number of responses.
    pub fn with_seed_and_responses(seed: u64, responses: u64) -> Self {
        SynthConfig {
            seed,
            responses,
            ..Self::thai_nguyen()
        }
    }
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self::thai_nguyen()
    }
}

/// Default intercept μ, tuned so that the mean truth SIPAS over the default
/// units and periods is about 85%: 85.0% on average over seeds 0–19, between
/// about 83.8% and 86.0% for a single seed (the unit effects are drawn).
pub const DEFAULT_MU: f64 = -0.02;
