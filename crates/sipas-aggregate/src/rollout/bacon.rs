//! Goodman-Bacon (2021) decomposition of the two-way fixed-effects estimate
//! `y_it = α_i + λ_t + β·D_it + ε_it` on a balanced panel with staggered
//! starts: β̂ is a weighted average of every 2×2 DiD between timing groups
//! and the never-treated units, with weights that sum to one.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{UnitSeries, err};
use crate::Result;

/// The kind of a 2×2 comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaconKind {
    /// A timing group against the never-treated units.
    TreatedVsNever,
    /// An earlier group against a later group not yet treated (before the later start).
    EarlierVsLater,
    /// A later group against an earlier group already treated: the "forbidden"
    /// comparison; a change in the earlier group's effect enters with a minus sign.
    LaterVsEarlier,
}

impl BaconKind {
    /// `treated_vs_never`, `earlier_vs_later` or `later_vs_earlier`.
    pub fn as_str(self) -> &'static str {
        match self {
            BaconKind::TreatedVsNever => "treated_vs_never",
            BaconKind::EarlierVsLater => "earlier_vs_later",
            BaconKind::LaterVsEarlier => "later_vs_earlier",
        }
    }

    /// Whether this is a "forbidden" comparison (already-treated units as controls).
    pub fn forbidden(self) -> bool {
        self == BaconKind::LaterVsEarlier
    }
}

/// One 2×2 comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaconRow {
    /// The comparison.
    pub kind: BaconKind,
    /// First treated period of the treated side.
    pub treated: i64,
    /// First treated period of the comparison side; `None` for the never treated.
    pub control: Option<i64>,
    /// The 2×2 DiD estimate.
    pub estimate: f64,
    /// Its weight in the TWFE estimate.
    pub weight: f64,
}

/// The decomposition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bacon {
    /// The TWFE estimate β̂ on the balanced panel (computed by the
    /// within transformation, independently of the decomposition).
    pub twfe: f64,
    /// The 2×2 comparisons: `Σ weight = 1`, `Σ weight·estimate = twfe`.
    pub rows: Vec<BaconRow>,
    /// Units in the balanced panel.
    pub units: usize,
    /// Units left out: not observed in every period, or treated from the first period.
    pub dropped_units: usize,
}

impl Bacon {
    /// Total weight of the forbidden comparisons.
    pub fn forbidden_weight(&self) -> f64 {
        self.rows
            .iter()
            .filter(|r| r.kind.forbidden())
            .map(|r| r.weight)
            .sum()
    }
}

/// The decomposition on the units observed in every period of the panel
/// (equal weights; units treated from the first period are left out, as in
/// the Callaway–Sant'Anna estimate; units first treated after the last
/// period count as never treated).
pub fn bacon(units: &[UnitSeries]) -> Result<Bacon> {
    let periods = super::all_periods(units);
    let tn = periods.len();
    if tn < 2 {
        return Err(err("the decomposition needs at least two periods"));
    }
    let (first, last) = (periods[0], periods[tn - 1]);
    // Start position of each timing group; None = never.
    let mut kept: Vec<(&UnitSeries, Option<usize>)> = Vec::new();
    for u in units {
        if u.values.len() != tn || u.group.is_some_and(|g| g <= first) {
            continue;
        }
        let start = u
            .group
            .filter(|&g| g <= last)
            .map(|g| periods.iter().position(|&p| p >= g).unwrap_or(tn));
        kept.push((u, start));
    }
    let dropped_units = units.len() - kept.len();
    let n = kept.len();
    if n == 0 {
        return Err(err("no unit is observed in every period"));
    }
    let y = |u: &UnitSeries, pos: usize| u.values[&periods[pos]];

    // TWFE by the within transformation: D̃ = D − D̄_i − D̄_t + D̄.
    let d = |s: Option<usize>, pos: usize| f64::from(u8::from(s.is_some_and(|s| pos >= s)));
    let mut d_t = vec![0.0; tn];
    for &(_, s) in &kept {
        for (pos, x) in d_t.iter_mut().enumerate() {
            *x += d(s, pos) / n as f64;
        }
    }
    let d_all = d_t.iter().sum::<f64>() / tn as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(u, s) in &kept {
        let d_i = (0..tn).map(|pos| d(s, pos)).sum::<f64>() / tn as f64;
        for (pos, dt) in d_t.iter().enumerate() {
            let dd = d(s, pos) - d_i - dt + d_all;
            sxy += dd * y(u, pos);
            sxx += dd * dd;
        }
    }
    if sxx <= 0.0 {
        return Err(err(
            "the treatment does not vary beyond unit and period effects",
        ));
    }
    let twfe = sxy / sxx;
    let v_d = sxx / (n * tn) as f64;

    // Timing groups.
    let mut members: BTreeMap<Option<usize>, Vec<&UnitSeries>> = BTreeMap::new();
    for &(u, s) in &kept {
        members.entry(s).or_default().push(u);
    }
    let mean = |us: &[&UnitSeries], from: usize, to: usize| {
        let mut s = 0.0;
        for u in us {
            for pos in from..to {
                s += y(u, pos);
            }
        }
        s / (us.len() * (to - from)) as f64
    };
    let share = |s: Option<usize>| members.get(&s).map_or(0.0, |m| m.len() as f64 / n as f64);
    let dbar = |s: usize| (tn - s) as f64 / tn as f64;
    let group_of = |s: usize| periods[s];
    let timing: Vec<usize> = members.keys().flatten().copied().collect();
    let mut rows = Vec::new();
    if let Some(never) = members.get(&None) {
        let nu = share(None);
        for &k in &timing {
            let (nk, dk) = (share(Some(k)), dbar(k));
            let nku = nk / (nk + nu);
            let w = (nk + nu).powi(2) * nku * (1.0 - nku) * dk * (1.0 - dk) / v_d;
            let tk = &members[&Some(k)];
            let est = (mean(tk, k, tn) - mean(tk, 0, k)) - (mean(never, k, tn) - mean(never, 0, k));
            rows.push(BaconRow {
                kind: BaconKind::TreatedVsNever,
                treated: group_of(k),
                control: None,
                estimate: est,
                weight: w,
            });
        }
    }
    for (a, &k) in timing.iter().enumerate() {
        for &l in &timing[a + 1..] {
            // k starts earlier than l.
            let (nk, nl, dk, dl) = (share(Some(k)), share(Some(l)), dbar(k), dbar(l));
            let nkl = nk / (nk + nl);
            let (tk, tl) = (&members[&Some(k)], &members[&Some(l)]);
            let w_k = ((nk + nl) * (1.0 - dl)).powi(2)
                * nkl
                * (1.0 - nkl)
                * ((dk - dl) / (1.0 - dl))
                * ((1.0 - dk) / (1.0 - dl))
                / v_d;
            let est_k = (mean(tk, k, l) - mean(tk, 0, k)) - (mean(tl, k, l) - mean(tl, 0, k));
            rows.push(BaconRow {
                kind: BaconKind::EarlierVsLater,
                treated: group_of(k),
                control: Some(group_of(l)),
                estimate: est_k,
                weight: w_k,
            });
            let w_l =
                ((nk + nl) * dk).powi(2) * nkl * (1.0 - nkl) * (dl / dk) * ((dk - dl) / dk) / v_d;
            let est_l = (mean(tl, l, tn) - mean(tl, k, l)) - (mean(tk, l, tn) - mean(tk, k, l));
            rows.push(BaconRow {
                kind: BaconKind::LaterVsEarlier,
                treated: group_of(l),
                control: Some(group_of(k)),
                estimate: est_l,
                weight: w_l,
            });
        }
    }
    Ok(Bacon {
        twfe,
        rows,
        units: n,
        dropped_units,
    })
}
