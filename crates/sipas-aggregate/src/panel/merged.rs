//! The pilot on today's units. After the 01/07/2025 reorganisation the 12
//! pilot communes lie in 11 of the 92 units, most of which also absorbed
//! non-pilot communes. Which units count as treated is a choice; this
//! module makes it explicit and estimates the TWFE DiD three ways:
//!
//! - `contains_pilot`: D = 1 from the start in every unit that contains a
//!   pilot commune (a diluted effect where the unit also holds non-pilot
//!   communes);
//! - `intensity`: D = the unit's treatment intensity from the start: the
//!   share of its pre-merge responses (or population) from pilot communes,
//!   so β̂ is the effect of a fully treated unit if the effect scales with
//!   the share;
//! - `contains_pilot_unmixed`: as `contains_pilot`, without the mixed units
//!   (0 < intensity < 1): pure pilot units against pure non-pilot units.
//!
//! Units with no period before the start (all of former Bắc Kạn, surveyed
//! only from 2025Q3) carry no information on the pre-trend and join no
//! comparison; they are left out and counted.

use std::collections::{BTreeMap, BTreeSet};

use sipas_core::Period;

use super::fit::{Design, Fit};
use super::{DidRow, Indexed, PanelCell, Weighting, did_err};
use crate::Result;

/// How much of a unit the pilot covers.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTreatment {
    /// The unit (today's code).
    pub unit_code: String,
    /// Share, 0–1, of the unit's pre-merge responses (or population) from
    /// pilot communes.
    pub intensity: f64,
    /// The responses (or population) the share is taken over.
    pub basis: f64,
    /// The old units behind it, with whether each is a pilot.
    pub parts: BTreeMap<String, bool>,
}

impl UnitTreatment {
    /// Whether a pilot commune lies in the unit.
    pub fn contains_pilot(&self) -> bool {
        self.intensity > 0.0
    }

    /// Whether the unit mixes pilot and non-pilot communes.
    pub fn mixed(&self) -> bool {
        self.intensity > 0.0 && self.intensity < 1.0
    }
}

/// Treatment intensity per unit from `(unit_code, old_unit_code, amount)`
/// of the pre-merge rows (amount 1 per response, or the old unit's
/// population once per old unit). `is_pilot(unit, old)` says whether the
/// part is a pilot commune (a pilot named by today's code covers its whole
/// unit: pass `true` when `unit` is such a code).
pub fn treatment_intensity<'a>(
    parts: impl IntoIterator<Item = (&'a str, &'a str, f64)>,
    is_pilot: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, UnitTreatment> {
    let mut acc: BTreeMap<&str, (f64, f64, BTreeMap<String, bool>)> = BTreeMap::new();
    for (unit, old, amount) in parts {
        let p = is_pilot(unit, old);
        let e = acc.entry(unit).or_default();
        e.0 += amount;
        if p {
            e.1 += amount;
        }
        e.2.insert(old.to_string(), p);
    }
    acc.into_iter()
        .map(|(u, (basis, pilot, parts))| {
            let intensity = if basis > 0.0 { pilot / basis } else { 0.0 };
            (
                u.to_string(),
                UnitTreatment {
                    unit_code: u.to_string(),
                    intensity,
                    basis,
                    parts,
                },
            )
        })
        .collect()
}

/// The three definitions of treatment on today's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Treatment {
    /// D = 1 in units that contain a pilot commune.
    ContainsPilot,
    /// D = the unit's intensity.
    Intensity,
    /// D = 1 in units that contain a pilot commune; mixed units left out.
    ContainsPilotUnmixed,
}

impl Treatment {
    /// Every definition, in output order.
    pub const ALL: [Treatment; 3] = [
        Treatment::ContainsPilot,
        Treatment::Intensity,
        Treatment::ContainsPilotUnmixed,
    ];

    /// The label written in `did_twfe.csv` when the intensity is a share
    /// of population (`intensity_population`) or of responses (as
    /// [`Treatment::as_str`]).
    pub fn label(self, by_population: bool) -> &'static str {
        match self {
            Treatment::Intensity if by_population => "intensity_population",
            t => t.as_str(),
        }
    }

    /// The label written in `did_twfe.csv` (intensity from responses).
    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::ContainsPilot => "contains_pilot",
            Treatment::Intensity => "intensity",
            Treatment::ContainsPilotUnmixed => "contains_pilot_unmixed",
        }
    }
}

/// The TWFE DiD on today's units under each treatment definition.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedDid {
    /// One row per definition (a definition that cannot be estimated, e.g.
    /// no unmixed pilot unit, is left out).
    pub rows: Vec<(Treatment, DidRow)>,
    /// Mixed units (left out of `contains_pilot_unmixed`).
    pub mixed: Vec<String>,
}

impl MergedDid {
    /// One line per treatment definition, in words: its estimate with its `level` interval
    /// and units, or why it could not be estimated (for the console and `methods.txt`).
    pub fn summary(&self, by_population: bool, level: sipas_core::Level) -> Vec<String> {
        let mut lines: Vec<String> = self
            .rows
            .iter()
            .map(|(k, r)| {
                format!(
                    "{} {:.2} ({level} CI {:.2} to {:.2}; {} treated of {} units)",
                    k.label(by_population),
                    r.estimate,
                    r.lo_cr1,
                    r.hi_cr1,
                    r.n_treated,
                    r.n_clusters
                )
            })
            .collect();
        for k in Treatment::ALL {
            if !self.rows.iter().any(|(t, _)| *t == k) {
                lines.push(format!(
                    "{} not estimable (no treated unit left, e.g. every unit with a pilot commune is mixed)",
                    k.label(by_population)
                ));
            }
        }
        lines
    }
}

/// The TWFE DiD (CR1) under the three treatment definitions. `cells` sorted
/// by unit code then period (their `pilot` flag is not used: units missing
/// from `treatment` have intensity 0); `start` is the pilot's first period.
pub fn twfe_merged(
    cells: &[PanelCell],
    treatment: &BTreeMap<String, UnitTreatment>,
    start: Period,
    weighting: Weighting,
    level: sipas_core::Level,
) -> Result<MergedDid> {
    let ix = Indexed::new(cells, start)?;
    let with_pre: BTreeSet<usize> = (0..cells.len())
        .filter(|&i| !ix.post(i))
        .map(|i| ix.unit[i])
        .collect();
    let intensity = |i: usize| {
        treatment
            .get(&cells[i].unit_code)
            .map_or(0.0, |t| t.intensity)
    };
    let mixed: Vec<String> = ix
        .unit_codes
        .iter()
        .filter(|u| treatment.get(*u).is_some_and(UnitTreatment::mixed))
        .cloned()
        .collect();
    let mut rows = Vec::new();
    for t in Treatment::ALL {
        let keep: Vec<usize> = (0..cells.len())
            .filter(|&i| with_pre.contains(&ix.unit[i]))
            .filter(|&i| {
                t != Treatment::ContainsPilotUnmixed || {
                    let x = intensity(i);
                    x == 0.0 || x >= 1.0
                }
            })
            .collect();
        let dose = |i: usize| match t {
            Treatment::Intensity => intensity(i),
            _ => f64::from(u8::from(intensity(i) > 0.0)),
        };
        let d: Vec<f64> = keep
            .iter()
            .map(|&i| if ix.post(i) { dose(i) } else { 0.0 })
            .collect();
        let treated: BTreeSet<usize> = keep
            .iter()
            .filter(|&&i| dose(i) > 0.0)
            .map(|&i| ix.unit[i])
            .collect();
        if treated.is_empty() {
            continue;
        }
        let (fit_rows, n_periods) = ix.rows(&keep, weighting);
        let design = Design::new(&fit_rows, n_periods, &[d]);
        let Some(fit) = Fit::new(&design) else {
            continue;
        };
        if fit.chol.is_aliased(0) || fit.g < 2 {
            continue;
        }
        let (estimate, se) = (fit.beta[0], fit.se(0));
        let df = (fit.g - 1) as f64;
        let tq = crate::stats::t_quantile(level, df).unwrap_or(f64::NAN);
        rows.push((
            t,
            DidRow {
                unit_code: None,
                estimate,
                se_cr1: se,
                lo_cr1: estimate - tq * se,
                hi_cr1: estimate + tq * se,
                p_cr1: crate::dist::t_two_sided(estimate / se, df),
                wild: None,
                n_clusters: fit.g,
                n_treated: treated.len(),
                n_obs: keep.len(),
            },
        ));
    }
    if rows.is_empty() {
        return Err(did_err(
            start,
            "no treatment definition on today's units can be estimated",
        ));
    }
    Ok(MergedDid { rows, mixed })
}

/// (unit, old unit) of every row whose period passes `before`; `None`
/// without an `old_unit_code` column.
pub(crate) fn old_unit_rows<'a>(
    responses: &'a crate::Responses,
    before: impl Fn(Period) -> bool + 'a,
) -> Option<impl Iterator<Item = (&'a str, &'a str)> + 'a> {
    let Some(crate::responses::DesignColumn::Text { values, idx }) =
        responses.design_column(sipas_core::schema::OLD_UNIT_CODE)
    else {
        return None;
    };
    let units = responses.units();
    let periods = responses.periods();
    let (ui, pi) = (responses.unit_indices(), responses.period_indices());
    Some(
        (0..responses.len())
            .filter(move |&r| before(periods[pi[r] as usize]))
            .map(move |r| {
                (
                    units[ui[r] as usize].as_str(),
                    values[idx[r] as usize].as_str(),
                )
            }),
    )
}

/// Treatment intensity per unit from the response table: the rows of the
/// periods `before` accepts (those that end before the first
/// reorganisation, whose `old_unit_code` is a commune of the pilot's list),
/// one response each. `None` when the table has no `old_unit_code` column
/// (no crosswalk was applied).
pub fn intensity_from_responses(
    responses: &crate::Responses,
    before: impl Fn(Period) -> bool,
    is_pilot: impl Fn(&str, &str) -> bool,
) -> Option<BTreeMap<String, UnitTreatment>> {
    let parts = old_unit_rows(responses, before)?.map(|(unit, old)| (unit, old, 1.0));
    Some(treatment_intensity(parts, is_pilot))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise, roughly N(0, sd²): a sum of 12 uniforms.
    struct Noise(u64);
    impl Noise {
        fn next(&mut self, sd: f64) -> f64 {
            let mut s = 0.0;
            for _ in 0..12 {
                self.0 = self
                    .0
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s += (self.0 >> 11) as f64 / (1u64 << 53) as f64;
            }
            (s - 6.0) * sd
        }
    }

    /// 40 units × 8 quarters (start 2024Q1 = 5th), plus 3 units with only
    /// post-start quarters (as former Bắc Kạn). Intensities: 6 units 1.0, 6
    /// mixed (0.25–0.75), the rest 0. The outcome has a true effect `beta`
    /// times `dose(intensity)`.
    fn panel(
        beta: f64,
        dose: impl Fn(f64) -> f64,
    ) -> (Vec<PanelCell>, BTreeMap<String, UnitTreatment>) {
        let periods: Vec<Period> = "2023Q1"
            .parse::<Period>()
            .unwrap()
            .range_to("2024Q4".parse().unwrap());
        let start: Period = "2024Q1".parse().unwrap();
        let mut noise = Noise(7);
        let mut parts = Vec::new();
        let mut cells = Vec::new();
        let codes: Vec<String> = (0..43).map(|u| format!("{:05}", 1000 + u)).collect();
        for (u, code) in codes.iter().enumerate() {
            let x = match u {
                0..6 => 1.0,
                6..12 => [0.25, 0.5, 0.75, 0.4, 0.6, 0.3][u - 6],
                _ => 0.0,
            };
            // Pre-merge responses: 100·x from a pilot commune, the rest not.
            if x > 0.0 {
                parts.push((code.clone(), format!("{code}-p"), 100.0 * x));
            }
            if x < 1.0 {
                parts.push((code.clone(), format!("{code}-n"), 100.0 * (1.0 - x)));
            }
            let alpha = noise.next(5.0) + 60.0;
            for (t, p) in periods.iter().enumerate() {
                if u >= 40 && *p < start {
                    continue;
                }
                let post = *p >= start;
                let y = alpha
                    + 0.8 * t as f64
                    + if post { beta * dose(x) } else { 0.0 }
                    + noise.next(1.0);
                cells.push(PanelCell {
                    unit_code: code.clone(),
                    period: *p,
                    pilot: x > 0.0,
                    value: y,
                    se: None,
                    n: 100,
                });
            }
        }
        let t = treatment_intensity(
            parts.iter().map(|(u, o, a)| (u.as_str(), o.as_str(), *a)),
            |_, old| old.ends_with("-p"),
        );
        (cells, t)
    }

    #[test]
    fn intensity_is_the_share_of_pre_merge_responses_from_pilot_communes() {
        let t = treatment_intensity(
            [
                // Bách Quang 05528: Lương Sơn 30 and Tân Quang 20 (pilots), Bách Quang 50.
                ("05528", "05506", 30.0),
                ("05528", "05527", 20.0),
                ("05528", "05528", 50.0),
                // Định Hóa 05569: Chợ Chu 40 of 160.
                ("05569", "05536", 40.0),
                ("05569", "05554", 120.0),
                ("05640", "05640", 10.0),
            ],
            |_, old| ["05506", "05527", "05536"].contains(&old),
        );
        assert!((t["05528"].intensity - 0.5).abs() < 1e-15);
        assert!((t["05569"].intensity - 0.25).abs() < 1e-15);
        assert!(t["05528"].mixed() && t["05569"].contains_pilot());
        assert!(!t["05640"].contains_pilot());
        assert_eq!(t["05528"].parts.len(), 3);
        // A pilot named by today's code covers its unit.
        let t = treatment_intensity(
            [("05528", "05506", 1.0), ("05528", "05528", 3.0)],
            |u, _| u == "05528",
        );
        assert!((t["05528"].intensity - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_known_effect_is_recovered_within_its_interval() {
        let start: Period = "2024Q1".parse().unwrap();
        // Effect proportional to the intensity: the intensity model holds.
        let (cells, t) = panel(4.0, |x| x);
        assert!((t["01006"].intensity - 0.25).abs() < 1e-15);
        let m = twfe_merged(
            &cells,
            &t,
            start,
            Weighting::Equal,
            sipas_core::Level::DEFAULT,
        )
        .unwrap();
        assert_eq!(m.mixed.len(), 6);
        let row = |k: Treatment| &m.rows.iter().find(|(t, _)| *t == k).unwrap().1;
        let r = row(Treatment::Intensity);
        assert!(r.lo_cr1 < 4.0 && 4.0 < r.hi_cr1, "{r:?}");
        assert!(r.lo_cr1 > 0.0, "the effect is detected: {r:?}");
        // The three units without a period before the start are left out.
        assert_eq!(r.n_clusters, 40);
        assert_eq!(r.n_treated, 12);
        // The summary in words (console and methods.txt): one line per definition.
        let lines = m.summary(false, sipas_core::Level::DEFAULT);
        assert_eq!(lines.len(), 3);
        assert!(lines.contains(&format!(
            "intensity {:.2} (95% CI {:.2} to {:.2}; 12 treated of 40 units)",
            r.estimate, r.lo_cr1, r.hi_cr1
        )));
        let none = MergedDid {
            rows: Vec::new(),
            mixed: Vec::new(),
        };
        let lines = none.summary(true, sipas_core::Level::DEFAULT);
        assert!(lines[1].starts_with("intensity_population not estimable (no treated unit left"));
        // Without mixed units the binary and intensity definitions agree:
        // pure pilot units carry the full effect.
        let r = row(Treatment::ContainsPilotUnmixed);
        assert!(r.lo_cr1 < 4.0 && 4.0 < r.hi_cr1, "{r:?}");
        assert_eq!((r.n_clusters, r.n_treated), (34, 6));
        // The binary indicator over mixed units estimates a diluted effect.
        let r = row(Treatment::ContainsPilot);
        assert!(r.estimate < 4.0 - 0.5, "{r:?}");
        // An all-or-nothing effect in every unit with a pilot: the binary
        // definition recovers it.
        let (cells, t) = panel(3.0, |x| f64::from(u8::from(x > 0.0)));
        let m = twfe_merged(&cells, &t, start, Weighting::N, sipas_core::Level::DEFAULT).unwrap();
        let r = &m
            .rows
            .iter()
            .find(|(t, _)| *t == Treatment::ContainsPilot)
            .unwrap()
            .1;
        assert!(r.lo_cr1 < 3.0 && 3.0 < r.hi_cr1, "{r:?}");
        assert_eq!((r.n_clusters, r.n_treated), (40, 12));
    }
}
