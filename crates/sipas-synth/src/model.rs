//! The drawn model: unit and item effects for a configuration, the linear
//! predictor, how responses are spread over cells, and the exact truth.

use rayon::prelude::*;
use sipas_core::index::{Direction, ItemType, Test};
use sipas_core::{Granularity, Instrument, Item, Period};

use crate::config::SynthConfig;
use crate::quad::LogisticNormal;
use crate::rng::{Xoshiro256pp, fnv1a};
use crate::{Error, Result};

/// Stream tags (first key of every derived random stream).
pub(crate) const TAG_UNIT: u64 = 1;
pub(crate) const TAG_ITEM: u64 = 2;
pub(crate) const TAG_RESPONDENT: u64 = 3;

/// A configuration with its random parameters drawn: unit effects α_u and
/// item effects γ_j. Everything else (responses, truth) follows from it
/// deterministically.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) cfg: SynthConfig,
    pub(crate) instrument: Instrument,
    pub(crate) alpha: Vec<f64>,
    pub(crate) gamma: Vec<f64>,
    pub(crate) pilot: Vec<bool>,
    /// Per unit: the start of its wave (`None`: never treated).
    pub(crate) start: Vec<Option<Period>>,
    pub(crate) period_labels: Vec<String>,
    /// Per period: every day of the period as `YYYY-MM-DD`.
    pub(crate) dates: Vec<Vec<String>>,
    pub(crate) unit_keys: Vec<u64>,
    pub(crate) period_keys: Vec<u64>,
    pub(crate) code_min: u8,
    /// Index in `thresholds` of κ_{s−1}, s = satisfied_min.
    pub(crate) sat_threshold: usize,
    rule: LogisticNormal,
}

/// The exact expected indices of one unit in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    /// GSO code of the unit.
    pub unit_code: String,
    /// The period.
    pub period: Period,
    /// Whether the unit is a pilot unit (in every period, before and after the start).
    pub pilot: bool,
    /// Overall index (0–100 for SIPAS; on the root's scale).
    pub sipas: f64,
    /// Values of `instrument.reported_groups()`, in that order, each on its scale.
    pub groups: Vec<f64>,
    /// Expected share of each test ([`Instrument::tests`]; for SIPAS: the
    /// share satisfied of each item, in instrument order), 0–1.
    pub items: Vec<f64>,
}

impl Model {
    /// Checks the configuration and draws α_u (keyed by unit code) and γ_j
    /// (keyed by item id) from the seed.
    pub fn new(cfg: &SynthConfig, instrument: &Instrument) -> Result<Self> {
        let bad = |m: String| Err(Error::Config(m));
        let mut cfg = cfg.clone();
        cfg.units.sort();
        if cfg.units.is_empty() {
            return bad("`units` is empty".into());
        }
        if let Some([dup, _]) = cfg.units.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("unit `{dup}` is listed twice"));
        }
        cfg.periods.sort();
        if cfg.periods.is_empty() {
            return bad("`periods` is empty".into());
        }
        if let Some([dup, _]) = cfg.periods.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("period `{dup}` is listed twice"));
        }
        let g = cfg.periods[0].granularity();
        if let Some(p) = cfg.periods.iter().find(|p| p.granularity() != g) {
            return bad(format!(
                "period `{p}` has another granularity than `{}`",
                cfg.periods[0]
            ));
        }
        let scale = &instrument.scale;
        let n_thresholds = usize::from(scale.max - scale.min);
        if cfg.thresholds.len() != n_thresholds {
            return bad(format!(
                "`thresholds` needs {n_thresholds} values for codes {}–{}, got {}",
                scale.min,
                scale.max,
                cfg.thresholds.len()
            ));
        }
        if cfg.thresholds.iter().any(|k| !k.is_finite())
            || cfg.thresholds.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(format!(
                "`thresholds` must be finite and strictly increasing, got {:?}",
                cfg.thresholds
            ));
        }
        if scale.satisfied_min <= scale.min {
            return bad("the scale's satisfied_min must be above its min".into());
        }
        for (name, v) in [
            ("sigma_unit", cfg.sigma_unit),
            ("sigma_item", cfg.sigma_item),
            ("sigma_respondent", cfg.sigma_respondent),
            ("weight_sigma", cfg.weight_sigma),
            ("sigma_village", cfg.sigma_village),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("`{name}` must be finite and ≥ 0, got {v}"));
            }
        }
        if let Some(h) = cfg.effect_path.iter().find(|h| !h.is_finite()) {
            return bad(format!("`effect_path` must hold finite shares, got {h}"));
        }
        for (name, v) in [
            ("mu", cfg.mu),
            ("trend", cfg.trend),
            ("pilot_effect", cfg.pilot_effect),
        ] {
            if !v.is_finite() {
                return bad(format!("`{name}` must be finite, got {v}"));
            }
        }
        if !(0.0..1.0).contains(&cfg.missing_rate) {
            return bad(format!(
                "`missing_rate` must be in [0, 1), got {}",
                cfg.missing_rate
            ));
        }
        cfg.styles.check().map_err(Error::Config)?;
        let unit_keys: Vec<u64> = cfg.units.iter().map(|c| fnv1a(c)).collect();
        let alpha = unit_keys
            .iter()
            .map(|&k| cfg.sigma_unit * Xoshiro256pp::stream(cfg.seed, &[TAG_UNIT, k]).normal())
            .collect();
        let gamma = instrument
            .items()
            .iter()
            .map(|it| {
                cfg.sigma_item * Xoshiro256pp::stream(cfg.seed, &[TAG_ITEM, fnv1a(&it.id)]).normal()
            })
            .collect();
        let start: Vec<Option<Period>> = cfg.units.iter().map(|c| cfg.pilots.start_of(c)).collect();
        let pilot = start.iter().map(Option::is_some).collect();
        let period_labels = cfg.periods.iter().map(ToString::to_string).collect();
        let dates = cfg.periods.iter().map(|p| period_days(*p)).collect();
        let period_keys = cfg
            .periods
            .iter()
            .map(|p| (p.index() as u64) << 4 | u64::from(p.granularity().per_year()))
            .collect();
        let rule = LogisticNormal::new(crate::cluster::latent_sd(&cfg));
        Ok(Model {
            code_min: scale.min,
            sat_threshold: usize::from(scale.satisfied_min - scale.min - 1),
            instrument: instrument.clone(),
            alpha,
            gamma,
            pilot,
            start,
            period_labels,
            dates,
            unit_keys,
            period_keys,
            rule,
            cfg,
        })
    }

    /// The configuration (units and periods sorted).
    pub fn config(&self) -> &SynthConfig {
        &self.cfg
    }

    /// The instrument the responses follow.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// Unit codes, sorted; unit indices refer to this list.
    pub fn units(&self) -> &[String] {
        &self.cfg.units
    }

    /// Periods, sorted; period indices (and `k_t`) refer to this list.
    pub fn periods(&self) -> &[Period] {
        &self.cfg.periods
    }

    /// The drawn unit effects α_u, by unit index.
    pub fn unit_effects(&self) -> &[f64] {
        &self.alpha
    }

    /// The drawn item effects γ_j, in instrument order.
    pub fn item_effects(&self) -> &[f64] {
        &self.gamma
    }

    /// Whether unit `u` is treated in period `t` (a unit of a wave, on or after its start).
    pub fn treated(&self, u: usize, t: usize) -> bool {
        self.exposure(u, t).is_some()
    }

    /// The exposure of unit `u` in period `t`: periods since its wave's start (0 in the start
    /// period); `None` before the start or for a unit of no wave. With a start of another
    /// granularity than the periods, the exposure counts the periods of the list from the first
    /// one on or after the start.
    pub fn exposure(&self, u: usize, t: usize) -> Option<i64> {
        let start = self.start[u]?;
        let p = self.cfg.periods[t];
        if p < start {
            return None;
        }
        if p.granularity() == start.granularity() {
            return Some(p.index() - start.index());
        }
        let first = self.cfg.periods.iter().position(|q| *q >= start)?;
        Some(t as i64 - first as i64)
    }

    /// The effect of the pilot on the linear predictor of unit `u` in period `t`:
    /// `δ·h(e)` with `e` the [exposure](Self::exposure) and `h` the configuration's
    /// `effect_path` (1 when it is empty, its last value beyond its end); 0 when untreated.
    pub fn effect(&self, u: usize, t: usize) -> f64 {
        let c = &self.cfg;
        match self.exposure(u, t) {
            None => 0.0,
            Some(e) => {
                let share = match c.effect_path.as_slice() {
                    [] => 1.0,
                    path => path[usize::try_from(e).map_or(0, |e| e.min(path.len() - 1))],
                };
                c.pilot_effect * share
            }
        }
    }

    /// The linear predictor without the respondent effect, η₀.
    pub fn eta0(&self, u: usize, t: usize, j: usize) -> f64 {
        self.eta0_with(u, t, j, self.effect(u, t))
    }

    /// η₀ with the pilot's effect `d` (0: the untreated potential outcome's predictor). The sum
    /// is taken in this order so that every draw is the same bits as before effect paths.
    fn eta0_with(&self, u: usize, t: usize, j: usize, d: f64) -> f64 {
        let c = &self.cfg;
        c.mu + self.alpha[u] + c.trend * t as f64 + d + self.gamma[j]
    }

    /// The exact expected share satisfied of item `j` in unit `u`, period `t`:
    /// `∫ logistic(η₀ + b − κ_sat) φ(b; 0, σ_b) db`, mixed over the response
    /// styles when they are on (see [`crate::styles`]).
    pub fn item_share(&self, u: usize, t: usize, j: usize) -> f64 {
        self.share_at(self.eta0(u, t, j))
    }

    /// The exact expected share of test `k` of the instrument
    /// ([`Instrument::tests`]) among the answers of unit `u` in period `t`.
    /// For a SIPAS instrument test `k` is item `k`'s satisfied share,
    /// [`Model::item_share`].
    pub fn test_share(&self, u: usize, t: usize, k: usize) -> f64 {
        let j = self.instrument.tests()[k].item;
        self.test_share_at(k, self.eta0(u, t, j))
    }

    /// The κ of the yes/no and choice items and the centre of a numeric
    /// item's cuts: the Likert threshold of "satisfied".
    fn kappa_sat(&self) -> f64 {
        self.cfg.thresholds[self.sat_threshold]
    }

    /// The cuts of numeric item `j` (`lo..=hi`, m = hi − lo): `κ_sat + i − (m − 1)/2`,
    /// `i < m`; its code is `lo + #{cuts below the latent value}` (`hi − …` when
    /// lower is better).
    pub(crate) fn numeric_cuts(&self, j: usize) -> Vec<f64> {
        let v = &self.instrument.items()[j].rule.valid;
        (0..v.len() - 1).map(|i| self.numeric_cut(j, i)).collect()
    }

    /// Cut `i` of numeric item `j` ([`Model::numeric_cuts`]).
    fn numeric_cut(&self, j: usize, i: usize) -> f64 {
        let v = &self.instrument.items()[j].rule.valid;
        let m = f64::from(v[v.len() - 1] - v[0]);
        self.kappa_sat() + i as f64 - (m - 1.0) / 2.0
    }

    /// The share of latent values above a cut (`x` = η₀ minus the cut) among
    /// respondents who answer by it, mixed over the modes.
    fn above(&self, x: f64) -> f64 {
        if self.cfg.styles.enabled() {
            crate::styles::answered_share(&self.cfg.styles, x, |x| self.rule.mean(x))
        } else {
            self.rule.mean(x)
        }
    }

    /// `P(code ≥ c)` of an ordered item `j` (Likert or numeric) at
    /// predictor `eta0`, acquiescent respondents included (Likert only).
    fn at_least(&self, j: usize, c: u8, eta0: f64) -> f64 {
        let item = &self.instrument.items()[j];
        let v = &item.rule.valid;
        let (lo, hi) = (v[0], v[v.len() - 1]);
        if c <= lo {
            return 1.0;
        }
        if c > hi {
            return 0.0;
        }
        let s = usize::from(c - lo);
        if item.rule.kind == ItemType::Numeric {
            let m = usize::from(hi - lo);
            return if item.coding.direction == Direction::Down {
                // code ≥ lo + s ⟺ #{cuts below} ≤ m − s ⟺ latent ≤ cut m − s.
                1.0 - self.above(eta0 - self.numeric_cut(j, m - s))
            } else {
                self.above(eta0 - self.numeric_cut(j, s - 1))
            };
        }
        let answered = self.above(eta0 - self.cfg.thresholds[s - 1]);
        let st = &self.cfg.styles;
        if !st.enabled() {
            return answered;
        }
        // Acquiescent respondents answer `satisfied_min` or the top code.
        // At or below `satisfied_min` both pass: exactly 1, so that the
        // satisfied share is the bits of [`Model::share_at`].
        let scale = &self.instrument.scale;
        let acq = if scale.satisfied_min >= c {
            1.0
        } else {
            st.acquiescent_top_share * f64::from(u8::from(scale.max >= c))
        };
        st.acquiescent_share * acq + (1.0 - st.acquiescent_share) * answered
    }

    /// [`Model::test_share`] at predictor `eta0` of the test's item.
    fn test_share_at(&self, k: usize, eta0: f64) -> f64 {
        let test = &self.instrument.tests()[k];
        let j = test.item;
        let item = &self.instrument.items()[j];
        match (item.rule.kind, &test.test) {
            (ItemType::Likert | ItemType::Numeric, Test::AtLeast(c)) => self.at_least(j, *c, eta0),
            (ItemType::Likert | ItemType::Numeric, Test::In(set)) => set
                .iter()
                .map(|&c| self.at_least(j, c, eta0) - self.at_least(j, c + 1, eta0))
                .sum(),
            (ItemType::YesNo | ItemType::Choice, test) => {
                // The codes that pass (instruments give these items set tests).
                let set: Vec<u8> = item
                    .rule
                    .valid
                    .iter()
                    .copied()
                    .filter(|&c| test.passes(c))
                    .collect();
                if item.rule.kind == ItemType::YesNo {
                    // Yes above κ_sat, and from every acquiescent respondent:
                    // the same share as "satisfied".
                    let yes = self.share_at(eta0);
                    let has =
                        |c: Option<u8>| f64::from(u8::from(c.is_some_and(|c| set.contains(&c))));
                    return yes * has(item.coding.yes) + (1.0 - yes) * has(item.coding.no);
                }
                let answered = self.above(eta0 - self.kappa_sat());
                let (good, other) = choice_codes(item);
                let frac = |codes: &[u8]| {
                    codes.iter().filter(|c| set.contains(c)).count() as f64 / codes.len() as f64
                };
                if other.is_empty() {
                    frac(&good)
                } else {
                    answered * frac(&good) + (1.0 - answered) * frac(&other)
                }
            }
        }
    }

    /// The expected share satisfied at predictor `eta0`.
    fn share_at(&self, eta0: f64) -> f64 {
        let x = eta0 - self.cfg.thresholds[self.sat_threshold];
        if self.cfg.styles.enabled() {
            crate::styles::item_share(&self.cfg.styles, x, |x| self.rule.mean(x))
        } else {
            self.rule.mean(x)
        }
    }

    /// Number of unit × period cells.
    pub fn n_cells(&self) -> usize {
        self.cfg.units.len() * self.cfg.periods.len()
    }

    /// Total number of responses.
    pub fn n_rows(&self) -> u64 {
        self.cfg.responses
    }

    /// Number of responses of cell `c` (cells in (unit, period) order,
    /// `c = u · periods + t`): `N / C`, plus one for the first `N mod C` cells.
    pub fn cell_count(&self, c: usize) -> u64 {
        let n = self.n_cells() as u64;
        let base = self.cfg.responses / n;
        base + u64::from((c as u64) < self.cfg.responses % n)
    }

    /// The cell and 0-based position in it of global row `r`.
    pub(crate) fn locate(&self, r: u64) -> (usize, u64) {
        let n = self.n_cells() as u64;
        let base = self.cfg.responses / n;
        let rem = self.cfg.responses % n;
        let big = rem * (base + 1);
        if r < big {
            ((r / (base + 1)) as usize, r % (base + 1))
        } else {
            let r = r - big;
            ((rem + r / base) as usize, r % base)
        }
    }

    /// The exact truth: one row per unit × period, sorted by unit code then
    /// period. Missingness is MCAR and does not enter.
    pub fn truth(&self) -> Vec<TruthRow> {
        let inst = &self.instrument;
        let groups: Vec<&str> = inst
            .reported_groups()
            .iter()
            .map(|g| g.id.as_str())
            .collect();
        let n_periods = self.cfg.periods.len();
        let n_tests = inst.tests().len();
        (0..self.n_cells())
            .into_par_iter()
            .map(|c| {
                let (u, t) = (c / n_periods, c % n_periods);
                let items: Vec<f64> = (0..n_tests).map(|k| self.test_share(u, t, k)).collect();
                let value = |g: &str| inst.value_at(g, &items).expect("a group of the instrument");
                TruthRow {
                    unit_code: self.cfg.units[u].clone(),
                    period: self.cfg.periods[t],
                    pilot: self.pilot[u],
                    sipas: value(inst.root()),
                    groups: groups.iter().map(|g| value(g)).collect(),
                    items,
                }
            })
            .collect()
    }
}

/// The exact group-time effect ATT(g, t) of one index (SIPAS, a part or an element) for one
/// wave and period (see [`Model::att_truth`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AttTruth {
    /// The index: the instrument's root (`sipas`) or a reported group id, as in
    /// `estimates.csv` and `att_gt.csv`.
    pub index: String,
    /// The wave's start (its first treated period).
    pub group: Period,
    /// The period.
    pub period: Period,
    /// Periods since the start (negative before it).
    pub exposure: i64,
    /// The wave's units in the model.
    pub units: usize,
    /// ATT(g, t) in index points: the wave's mean index minus its mean index without the pilot
    /// (0 before the start).
    pub att: f64,
    /// The wave's mean index without the pilot (the untreated potential outcome).
    pub untreated: f64,
}

impl Model {
    /// The exact truth of every group-time effect of every index — SIPAS, then each reported
    /// group (elements and parts, in `instrument.reported_groups()` order) — one row per index,
    /// wave of the pilot set (with units in the model) and period, by index, wave, period.
    ///
    /// # Derivation
    /// Write `S_ut(d) = 100 Σ_j c_j p_utj(d)` for the SIPAS of unit `u` in period `t` (`c`: the
    /// root coefficients of the instrument), where `p_utj(d)` is the expected share satisfied
    /// of item `j` with the linear predictor `η₀ = μ + α_u + β k_t + d + γ_j` — the integral over
    /// the respondent effect (and the response styles) of [`Model::item_share`]. The observed
    /// cell has `d = δ·h(e_ut)` (the pilot's effect at the unit's exposure, [`Model::effect`]):
    /// its `S` is the `sipas` of [`Model::truth`], `S_ut(1)`. Without the pilot `d = 0`:
    /// `S_ut(0)`. Respondents are drawn from the same distribution either way, so the only
    /// difference between the two is `d`. With `U_g` the model's units whose wave starts in `g`,
    /// each weighted equally (as the estimator weights units by default),
    ///
    /// `ATT(g, t) = (1/|U_g|) Σ_{u ∈ U_g} [S_ut(1) − S_ut(0)]`,
    ///
    /// exactly 0 for `t < g` (then `d = 0` in both). Both terms are the same quadrature as the
    /// truth table, so the effect is exact to its 10⁻¹⁰.
    ///
    /// A part or an element is the same with its own coefficients `c` (the items under it).
    ///
    /// This is the causal effect. The Callaway–Sant'Anna estimand equals it when the untreated
    /// SIPAS of the wave and of its comparison units move in parallel. In this model the
    /// untreated trend is common on the logit scale (`β k_t`), so on the 0–100 scale the
    /// trends differ slightly with each unit's level `α_u` (the logistic is curved): the gap is
    /// the wave's change in `untreated` minus the comparison units' change in their truth,
    /// second order in `β` and `α` (a few hundredths of a point with the defaults); with
    /// `trend = 0` it is exactly 0.
    pub fn att_truth(&self) -> Vec<AttTruth> {
        let inst = &self.instrument;
        let indices: Vec<String> = std::iter::once(inst.root().to_string())
            .chain(inst.reported_groups().iter().map(|g| g.id.clone()))
            .collect();
        let mut out = Vec::new();
        for index in indices {
            let c = inst
                .coefficients(&index)
                .expect("every index has coefficients");
            let constant = inst.constant(&index).expect("every index has a constant");
            debug_assert_eq!(c.len(), inst.tests().len());
            self.att_truth_of(&index, (constant, c), &mut out);
        }
        out
    }

    /// [`Model::att_truth`] of one index with its constant and test coefficients `c`,
    /// appended to `out`.
    fn att_truth_of(&self, index: &str, (constant, c): (f64, &[f64]), out: &mut Vec<AttTruth>) {
        let tests = self.instrument.tests();
        let sipas = |u: usize, t: usize, d: f64| {
            constant
                + 100.0
                    * c.iter()
                        .enumerate()
                        .filter(|(_, a)| **a != 0.0)
                        .map(|(k, a)| {
                            a * self.test_share_at(k, self.eta0_with(u, t, tests[k].item, d))
                        })
                        .sum::<f64>()
        };
        for wave in self.cfg.pilots.waves() {
            let members: Vec<usize> = (0..self.cfg.units.len())
                .filter(|&u| self.start[u] == Some(wave.start))
                .collect();
            if members.is_empty() {
                continue;
            }
            let first = self.cfg.periods.iter().position(|q| *q >= wave.start);
            for (t, &p) in self.cfg.periods.iter().enumerate() {
                let exposure = if p.granularity() == wave.start.granularity() {
                    p.index() - wave.start.index()
                } else {
                    let first = first.unwrap_or(self.cfg.periods.len());
                    t as i64 - first as i64
                };
                let (mut att, mut untreated) = (0.0, 0.0);
                for &u in &members {
                    let y0 = sipas(u, t, 0.0);
                    let y1 = sipas(u, t, self.effect(u, t));
                    att += y1 - y0;
                    untreated += y0;
                }
                let n = members.len() as f64;
                out.push(AttTruth {
                    index: index.to_string(),
                    group: wave.start,
                    period: p,
                    exposure,
                    units: members.len(),
                    att: att / n,
                    untreated: untreated / n,
                });
            }
        }
    }
}

/// A choice item's codes: those of its `share_in` (drawn when the latent
/// value is above κ_sat) and the others.
pub(crate) fn choice_codes(item: &Item) -> (Vec<u8>, Vec<u8>) {
    item.rule
        .valid
        .iter()
        .partition(|c| item.coding.share_in.contains(c))
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Every day of a period as an ISO date.
fn period_days(p: Period) -> Vec<String> {
    let (first, months) = match p.granularity() {
        Granularity::Year => (1, 12),
        Granularity::Half => ((p.sub() - 1) * 6 + 1, 6),
        Granularity::Quarter => ((p.sub() - 1) * 3 + 1, 3),
        Granularity::Month => (p.sub(), 1),
    };
    let y = p.year();
    (first..first + months)
        .flat_map(|m| (1..=days_in_month(y, m)).map(move |d| format!("{y:04}-{m:02}-{d:02}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_days_cover_the_calendar() {
        let q: Period = "2024Q1".parse().unwrap();
        let d = period_days(q);
        assert_eq!(d.len(), 31 + 29 + 31);
        assert_eq!(d[0], "2024-01-01");
        assert_eq!(d[59], "2024-02-29");
        assert_eq!(d.last().unwrap(), "2024-03-31");
        assert_eq!(period_days("2023".parse().unwrap()).len(), 365);
        assert_eq!(period_days("2100-02".parse().unwrap()).len(), 28);
        assert_eq!(period_days("2000-02".parse().unwrap()).len(), 29);
        let h2 = period_days("2025-H2".parse().unwrap());
        assert_eq!(h2.len(), 184);
        assert_eq!(h2[0], "2025-07-01");
    }
}
