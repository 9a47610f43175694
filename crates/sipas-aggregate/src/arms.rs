//! Who is compared with whom: every unit's arm in the pilot evaluation.
//!
//! One rule, used by every output that compares pilot and baseline units
//! (`groups.csv` and the trend charts' baseline, the 2×2 DiD, the group
//! domains of `estimates.csv`, the TWFE and event-study panel, and the SQL of
//! `sipas sql`):
//!
//! - a unit enters the comparison only if it has responses in a period
//!   before the pilot start: a unit first surveyed after the start (all of
//!   former Bắc Kạn, surveyed from 2025Q3 on today's units) would change the
//!   baseline's composition exactly when the pilot starts, and its level
//!   would pass for an effect. It is left out with the reason
//!   [`LeftOut::NoPrePeriod`] (when no unit has a period before the start,
//!   the data hold no comparison across it and nobody is left out);
//! - a pilot unit is in the pilot arm; with a staggered rollout, the pilot
//!   arm is the first wave, and a unit of a later wave is left out with
//!   [`LeftOut::LaterWave`]: it is treated from its own start, so it is
//!   neither a never-treated comparison unit nor part of the first wave
//!   (the staggered estimates of [`crate::rollout`] take every wave, on the
//!   panel of [`Comparison::AllWaves`]);
//! - a non-pilot unit is in the baseline arm when the baseline choice
//!   ([`Baseline`]) takes it, else it is left out with
//!   [`LeftOut::OutsideBaseline`].
//!
//! Its cells stay in `unit_period.csv` and in the district and kind domains:
//! only the comparison leaves them out.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sipas_core::{Period, PilotSet};

/// Pilot or baseline (non-pilot) units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arm {
    /// The units outside the pilot.
    Baseline,
    /// The pilot units.
    Pilot,
}

impl Arm {
    /// `baseline` or `pilot`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Baseline => "baseline",
            Arm::Pilot => "pilot",
        }
    }
}

/// Which non-pilot units form the comparison group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// Every non-pilot unit.
    #[default]
    All,
    /// Non-pilot units of a kind (phường / xã / thị trấn) that some pilot unit has.
    SameKind,
    /// Non-pilot units of a district that some pilot unit is in.
    SameDistrict,
}

impl Baseline {
    /// `all`, `same_kind` or `same_district`.
    pub fn as_str(self) -> &'static str {
        match self {
            Baseline::All => "all",
            Baseline::SameKind => "same_kind",
            Baseline::SameDistrict => "same_district",
        }
    }
}

/// Why a unit with data is not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// No response in any period before the pilot start.
    NoPrePeriod,
    /// A non-pilot unit the baseline choice does not take.
    OutsideBaseline,
    /// A pilot unit of a later wave of a staggered rollout (in the first
    /// wave's comparison it would be a "control" that is itself treated).
    LaterWave,
}

/// Which pilot units form the pilot arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    /// The first wave against the never-treated units (units of later
    /// waves are left out): `groups.csv`, the 2×2 DiD, the TWFE panel and
    /// the event study, which know one start.
    #[default]
    FirstWave,
    /// Every wave's units in the pilot arm, each with its own start: the
    /// panel of the staggered (Callaway–Sant'Anna) estimates.
    AllWaves,
}

/// What the rule needs to know of a unit with data.
#[derive(Debug, Clone, Copy)]
pub struct UnitFacts<'a> {
    /// GSO code.
    pub code: &'a str,
    /// Kind (phường / xã / thị trấn), as written in the tables.
    pub kind: &'a str,
    /// District name ("" on today's units).
    pub district: &'a str,
    /// Whether the unit has responses used in the estimates (a unit
    /// without is in no arm and not listed as left out).
    pub has_data: bool,
    /// Whether the unit has responses in a period before the pilot start.
    pub has_pre_period: bool,
}

/// A unit left out of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOutUnit {
    /// GSO code.
    pub unit_code: String,
    /// Whether it is a pilot unit.
    pub pilot: bool,
    /// Why.
    pub reason: LeftOut,
}

/// Every unit's arm: `None` for a unit left out of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arms {
    /// By position: `Ok(arm)`, `Err(reason)` when left out, `None` without data.
    status: Vec<Option<Result<Arm, LeftOut>>>,
    left_out: Vec<LeftOutUnit>,
}

impl Arms {
    /// Applies the rule to the units with data, in the order given;
    /// [`Arms::of`] takes the same positions.
    pub fn assign(units: &[UnitFacts<'_>], pilots: &PilotSet, baseline: Baseline) -> Self {
        Self::assign_for(units, pilots, baseline, Comparison::FirstWave)
    }

    /// [`Arms::assign`] for the chosen [`Comparison`].
    pub fn assign_for(
        units: &[UnitFacts<'_>],
        pilots: &PilotSet,
        baseline: Baseline,
        comparison: Comparison,
    ) -> Self {
        let is_pilot = |code: &str| match comparison {
            Comparison::FirstWave => pilots.contains(code),
            Comparison::AllWaves => pilots.in_any_wave(code),
        };
        // Data that start at the pilot start (no unit has a period before
        // it) have no comparison across the start: nobody's composition
        // changes there, and the rule leaves no one out.
        let any_pre = units.iter().any(|u| u.has_data && u.has_pre_period);
        let compared = |u: &UnitFacts<'_>| u.has_data && (u.has_pre_period || !any_pre);
        let pilot_kinds: BTreeSet<&str> = units
            .iter()
            .filter(|u| is_pilot(u.code) && compared(u))
            .map(|u| u.kind)
            .collect();
        let pilot_districts: BTreeSet<&str> = units
            .iter()
            .filter(|u| is_pilot(u.code) && compared(u))
            .map(|u| u.district)
            .collect();
        let status: Vec<Option<Result<Arm, LeftOut>>> = units
            .iter()
            .map(|u| {
                if !u.has_data {
                    return None;
                }
                let pilot = is_pilot(u.code);
                Some(if !compared(u) {
                    Err(LeftOut::NoPrePeriod)
                } else if pilot {
                    Ok(Arm::Pilot)
                } else if pilots.in_later_wave(u.code) {
                    Err(LeftOut::LaterWave)
                } else {
                    let taken = match baseline {
                        Baseline::All => true,
                        Baseline::SameKind => pilot_kinds.contains(u.kind),
                        Baseline::SameDistrict => pilot_districts.contains(u.district),
                    };
                    if taken {
                        Ok(Arm::Baseline)
                    } else {
                        Err(LeftOut::OutsideBaseline)
                    }
                })
            })
            .collect();
        let mut left_out: Vec<LeftOutUnit> = units
            .iter()
            .zip(&status)
            .filter_map(|(u, st)| match st {
                Some(Err(reason)) => Some(LeftOutUnit {
                    unit_code: u.code.to_string(),
                    pilot: pilots.in_any_wave(u.code),
                    reason: *reason,
                }),
                _ => None,
            })
            .collect();
        left_out.sort_by(|a, b| a.unit_code.cmp(&b.unit_code));
        Arms { status, left_out }
    }

    /// The arm of the unit at position `u` of [`Arms::assign`]'s list.
    pub fn of(&self, u: usize) -> Option<Arm> {
        self.status.get(u).copied().flatten().and_then(Result::ok)
    }

    /// Why the unit at position `u` is left out (`None`: compared, or no data).
    pub fn reason(&self, u: usize) -> Option<LeftOut> {
        self.status.get(u).copied().flatten().and_then(Result::err)
    }

    /// The units left out, by code.
    pub fn left_out(&self) -> &[LeftOutUnit] {
        &self.left_out
    }

    /// How many units are left out for `reason`.
    pub fn count(&self, reason: LeftOut) -> usize {
        self.left_out.iter().filter(|u| u.reason == reason).count()
    }
}

/// The arms of the units of `responses` (by unit index) whose cell
/// `unit × n_periods + period` has used rows where `present` says so.
pub(crate) fn of_responses(
    responses: &crate::Responses,
    meta: &[&sipas_core::Unit],
    pilots: &PilotSet,
    baseline: Baseline,
    present: impl Fn(usize) -> bool,
) -> Arms {
    let periods = responses.periods();
    let n_periods = periods.len();
    let facts: Vec<UnitFacts<'_>> = meta
        .iter()
        .enumerate()
        .map(|(u, m)| {
            let cells = || (0..n_periods).filter(|&p| present(u * n_periods + p));
            UnitFacts {
                code: &m.code,
                kind: m.kind.as_str(),
                district: &m.district_name,
                has_data: cells().next().is_some(),
                has_pre_period: cells().any(|p| is_pre(periods[p], pilots.start)),
            }
        })
        .collect();
    Arms::assign(&facts, pilots, baseline)
}

/// The paragraph of `methods.txt` on the units left out of the comparison
/// (empty when none is), English then Vietnamese.
pub fn methods_text(left_out: &[LeftOutUnit], start: Period) -> String {
    let list = |reason: LeftOut| -> Vec<&str> {
        left_out
            .iter()
            .filter(|u| u.reason == reason)
            .map(|u| u.unit_code.as_str())
            .collect()
    };
    let (no_pre, outside, later) = (
        list(LeftOut::NoPrePeriod),
        list(LeftOut::OutsideBaseline),
        list(LeftOut::LaterWave),
    );
    let mut s = String::new();
    if !no_pre.is_empty() {
        let _ = write!(
            s,
            "Units compared. {n} unit(s) with responses have none before the pilot start ({start}) \
             and are left out of the pilot / baseline comparison (groups.csv, the 2×2 and TWFE \
             difference-in-differences, the event study): they would change the composition of \
             the comparison exactly when the pilot starts (e.g. former Bắc Kạn's units, surveyed \
             only from 2025Q3). Their own unit × period estimates are in unit_period.csv. Units: \
             {codes}.\n\
             Đơn vị so sánh. {n} đơn vị có phiếu nhưng không có phiếu nào trước kỳ bắt đầu thí điểm \
             ({start}) nên không đưa vào so sánh thí điểm / đối chứng (groups.csv, DiD 2×2 và TWFE, \
             nghiên cứu sự kiện), vì chúng làm thay đổi thành phần nhóm so sánh đúng lúc thí điểm \
             bắt đầu (ví dụ các đơn vị thuộc tỉnh Bắc Kạn cũ, chỉ được khảo sát từ quý 3/2025). \
             Chỉ số riêng của từng đơn vị vẫn có trong unit_period.csv.\n",
            n = no_pre.len(),
            codes = no_pre.join(", ")
        );
    }
    if !outside.is_empty() {
        let _ = write!(
            s,
            "{n} non-pilot unit(s) are outside the chosen baseline and left out of the \
             comparison: {codes}.\n\
             {n} đơn vị không thí điểm nằm ngoài nhóm đối chứng đã chọn và không đưa vào so sánh.\n",
            n = outside.len(),
            codes = outside.join(", ")
        );
    }
    if !later.is_empty() {
        let _ = write!(
            s,
            "{n} unit(s) of later waves of the rollout are left out of the first wave's \
             comparison (groups.csv, the 2×2 and TWFE difference-in-differences, the event \
             study), which knows one start: from their own start they are treated, so they \
             cannot serve as its controls. The staggered estimates (att_*.csv) use them, each \
             from its own start. Units: {codes}.\n\
             {n} đơn vị thuộc các đợt thí điểm sau không đưa vào so sánh của đợt đầu (groups.csv, \
             DiD 2×2 và TWFE, nghiên cứu sự kiện) vì từ kỳ bắt đầu của mình chúng đã được thí \
             điểm; ước lượng theo từng đợt (att_*.csv) có dùng chúng.\n",
            n = later.len(),
            codes = later.join(", ")
        );
    }
    s
}

/// The arms of the units of `cells` (a result table's unit × period
/// rows), with the unit codes in the order [`Arms::of`] takes.
pub fn of_cells<'a>(
    cells: &'a [crate::CellEstimate],
    pilots: &PilotSet,
    baseline: Baseline,
    comparison: Comparison,
) -> (Vec<&'a str>, Arms) {
    let mut units: std::collections::BTreeMap<&str, UnitFacts<'_>> =
        std::collections::BTreeMap::new();
    for c in cells {
        let f = units.entry(c.unit_code.as_str()).or_insert(UnitFacts {
            code: &c.unit_code,
            kind: &c.kind,
            district: &c.district,
            has_data: true,
            has_pre_period: false,
        });
        f.has_pre_period |= is_pre(c.period, pilots.start);
    }
    let facts: Vec<UnitFacts<'_>> = units.values().copied().collect();
    let arms = Arms::assign_for(&facts, pilots, baseline, comparison);
    (units.into_keys().collect(), arms)
}

/// Whether `period` is before the pilot `start` (the complement of
/// [`is_post`]).
pub fn is_pre(period: Period, start: Period) -> bool {
    !crate::is_post(period, start)
}

/// Whether `p` is in the pilot's "from the start" arm. Periods are compared
/// at the coarser of the two granularities: the period that contains the
/// start (or that the start contains) counts as "from the start".
pub fn is_post(p: Period, start: Period) -> bool {
    let coarse = |a: Period, g| a.coarsen(g).expect("granularities 1, 2, 4, 12 nest");
    if p.granularity().per_year() <= start.granularity().per_year() {
        p >= coarse(start, p.granularity())
    } else {
        coarse(p, start.granularity()) >= start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pilots() -> PilotSet {
        let units = ["P1", "P2"].map(String::from).into_iter().collect();
        PilotSet::new("t", "2024Q1".parse().expect("period"), units)
    }

    fn facts<'a>(code: &'a str, kind: &'a str, district: &'a str, pre: bool) -> UnitFacts<'a> {
        UnitFacts {
            code,
            kind,
            district,
            has_data: true,
            has_pre_period: pre,
        }
    }

    #[test]
    fn units_without_a_pre_period_are_left_out_of_both_arms() {
        let units = [
            facts("P1", "xa", "A", true),
            facts("P2", "phuong", "B", false),
            facts("B1", "xa", "A", true),
            facts("B2", "xa", "C", false),
        ];
        let arms = Arms::assign(&units, &pilots(), Baseline::All);
        assert_eq!(arms.of(0), Some(Arm::Pilot));
        assert_eq!(arms.of(1), None);
        assert_eq!(arms.of(2), Some(Arm::Baseline));
        assert_eq!(arms.of(3), None);
        assert_eq!(arms.count(LeftOut::NoPrePeriod), 2);
        assert_eq!(arms.count(LeftOut::OutsideBaseline), 0);
        assert_eq!(
            arms.left_out()
                .iter()
                .map(|u| (u.unit_code.as_str(), u.pilot))
                .collect::<Vec<_>>(),
            [("B2", false), ("P2", true)]
        );
    }

    #[test]
    fn the_baseline_choice_looks_at_compared_pilots_only() {
        // P2 has no pre-period: its kind (phuong) and district (B) do not
        // bring baseline units in.
        let units = [
            facts("P1", "xa", "A", true),
            facts("P2", "phuong", "B", false),
            facts("B1", "xa", "C", true),
            facts("B2", "phuong", "A", true),
            facts("B3", "xa", "B", true),
        ];
        let kind = Arms::assign(&units, &pilots(), Baseline::SameKind);
        assert_eq!(
            (2..5).map(|u| kind.of(u)).collect::<Vec<_>>(),
            [Some(Arm::Baseline), None, Some(Arm::Baseline)]
        );
        let district = Arms::assign(&units, &pilots(), Baseline::SameDistrict);
        assert_eq!(
            (2..5).map(|u| district.of(u)).collect::<Vec<_>>(),
            [None, Some(Arm::Baseline), None]
        );
        assert_eq!(district.count(LeftOut::OutsideBaseline), 2);
    }

    #[test]
    fn data_that_start_at_the_pilot_start_leave_no_one_out() {
        let units = [facts("P1", "xa", "A", false), facts("B1", "xa", "A", false)];
        let arms = Arms::assign(&units, &pilots(), Baseline::All);
        assert_eq!(
            (arms.of(0), arms.of(1)),
            (Some(Arm::Pilot), Some(Arm::Baseline))
        );
        assert!(arms.left_out().is_empty());
    }
}
