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
    let cells: Vec<Appraised> = cells
        .iter()
        .map(|(u, p)| Appraised {
            code: u.clone(),
            period: *p,
            pilot: pilots.contains(u),
            level_of: Vec::new(),
        })
        .collect();
    criteria_csv_of(def, &cells, pilots.start, seed)
}

/// A commune appraised in a period (see [`criteria_csv_of`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Appraised {
    /// Its code in the period (an old commune before a reorganisation, today's unit after).
    pub code: String,
    /// The period.
    pub period: Period,
    /// Whether it is a pilot commune.
    pub pilot: bool,
    /// The communes whose mean level it has (a unit made of merged communes has theirs, so that
    /// its points continue theirs); empty: its own level.
    pub level_of: Vec<String>,
}

/// [`criteria_csv`] of communes given with their pilot status and level ([`Appraised`]).
pub fn criteria_csv_of(
    def: &ParDefinition,
    cells: &[Appraised],
    start: Period,
    seed: u64,
) -> String {
    let mut s = String::from("unit_code,period,criterion,points,maximum\n");
    let first = cells.iter().map(|c| c.period.index()).min().unwrap_or(0);
    let offsets: Vec<f64> = def
        .criteria
        .iter()
        .map(|c| 0.1 * (Rng::stream(seed, &[fnv1a(&c.id), 1]).uniform() - 0.5))
        .collect();
    let mut first_row = None;
    let own = |code: &str| 0.55 + 0.3 * Rng::stream(seed, &[fnv1a(code), 2]).uniform();
    for c in cells {
        let (unit, period, pilot) = (&c.code, &c.period, &c.pilot);
        let level = if c.level_of.is_empty() {
            own(unit)
        } else {
            c.level_of.iter().map(|x| own(x)).sum::<f64>() / c.level_of.len() as f64
        };
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
    if let Some(Appraised {
        code: unit, period, ..
    }) = cells.first()
    {
        let _ = writeln!(s, "{unit},{period},c_unknown,1,1");
    }
    if let Some(line) = first_row {
        s.push_str(&line);
    }
    s
}
