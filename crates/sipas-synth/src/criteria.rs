//! Appraised criteria of the commune PAR index, drawn for a demo: what an appraisal council
//! would send, with its usual faults (one row of a criterion the rule does not have, one row
//! sent twice) so that a run shows their quarantine.

use std::fmt::Write as _;

use sipas_core::par::ParDefinition;
use sipas_core::{Period, PilotSet};

use crate::rng::{Xoshiro256pp as Rng, fnv1a};

/// The criteria table (`unit_code,period,criterion,points,maximum`) of the given unit ×
/// periods: a unit's share of each maximum is its own level (0.55–0.85) plus the criterion's
/// offset (±0.05), a gain of 0.005 a period, 0.08 more in pilot units from the pilot start,
/// and noise (SD 0.03), clipped to [0, 1]; points in quarter points. Seeded: the same
/// arguments give the same bytes. Two faulty rows follow the data: a criterion `c_unknown`
/// and an exact copy of the first row.
pub fn criteria_csv(
    def: &ParDefinition,
    cells: &[(String, Period)],
    pilots: &PilotSet,
    seed: u64,
) -> String {
    let cells: Vec<(String, Period, bool)> = cells
        .iter()
        .map(|(u, p)| (u.clone(), *p, pilots.contains(u)))
        .collect();
    criteria_csv_of(def, &cells, pilots.start, seed)
}

/// [`criteria_csv`] with each unit × period's pilot status given (`(code, period, pilot)`: a
/// code may name an old commune before a reorganisation and today's unit after it).
pub fn criteria_csv_of(
    def: &ParDefinition,
    cells: &[(String, Period, bool)],
    start: Period,
    seed: u64,
) -> String {
    let mut s = String::from("unit_code,period,criterion,points,maximum\n");
    let first = cells.iter().map(|(_, p, _)| p.index()).min().unwrap_or(0);
    let offsets: Vec<f64> = def
        .criteria
        .iter()
        .map(|c| 0.1 * (Rng::stream(seed, &[fnv1a(&c.id), 1]).uniform() - 0.5))
        .collect();
    let mut first_row = None;
    for (unit, period, pilot) in cells {
        let level = 0.55 + 0.3 * Rng::stream(seed, &[fnv1a(unit), 2]).uniform();
        let t = (period.index() - first) as f64;
        let gain = if *pilot && *period >= start {
            0.08
        } else {
            0.0
        };
        let mut rng = Rng::stream(seed, &[fnv1a(unit), period.index() as u64, 3]);
        for (c, off) in def.criteria.iter().zip(&offsets) {
            let share = (level + off + 0.005 * t + gain + 0.03 * rng.normal()).clamp(0.0, 1.0);
            let points = (4.0 * c.maximum * share).round() / 4.0;
            let line = format!("{unit},{period},{},{points},{}\n", c.id, c.maximum);
            first_row.get_or_insert_with(|| line.clone());
            s.push_str(&line);
        }
    }
    if let Some((unit, period, _)) = cells.first() {
        let _ = writeln!(s, "{unit},{period},c_unknown,1,1");
    }
    if let Some(line) = first_row {
        s.push_str(&line);
    }
    s
}
