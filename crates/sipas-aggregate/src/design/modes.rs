//! Survey modes as domains of one sample: SIPAS per mode and the
//! difference between two modes, with a design-consistent standard error.
//!
//! Two modes of one period are two domains of the same sample (they share
//! strata and, with clusters, PSUs), so their estimates are not
//! independent. The difference θ_A − θ_B is linearized as one statistic:
//! each row's value is z_A (its SIPAS influence in domain A) if it is in A,
//! −z_B if in B, 0 otherwise; the PSU totals D give
//! Var = Σ_h (1 − f_h)·n_h/(n_h − 1)·Σ_i (D_hi − D̄_h)² over every stratum and
//! PSU of the design (a stratum with one PSU: 0, or its Σ D² with
//! `lonely_psu = "adjust"`). The SE of each mode's SIPAS is the one in
//! `estimates.csv` (same computation, same variance method); the
//! difference's SE is always linearized.

use std::path::Path;

use super::model::{Design, LinTable, Model};
use super::output::DomainType;
use super::spec::{DesignSpec, LonelyPsu};
use crate::Result;

// SIPAS of two survey modes in one period and their difference: a row of `modes.csv`, the
// results contract's row type (the report reads it back as it is).
pub use sipas_core::results::ModesRow as ModeDifference;

/// The differences of SIPAS between every pair of modes of each period.
/// `root[d]` is the SIPAS value and SE of domain `d`, `n[d]` its rows.
pub(super) fn differences(
    design: &Design<'_>,
    model: &Model,
    tables: &[Option<LinTable>],
    root: &[(Option<f64>, Option<f64>)],
    n: &[usize],
    spec: &DesignSpec,
    level: sipas_core::Level,
) -> Vec<ModeDifference> {
    let periods = design.responses.periods();
    // Pairs (a, b) of mode domains of one period, a before b in name order.
    let modes: Vec<usize> = (0..design.domains.len())
        .filter(|&d| {
            design.domains[d].dtype == DomainType::Mode && design.domains[d].period != usize::MAX
        })
        .collect();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, &a) in modes.iter().enumerate() {
        for &b in &modes[i + 1..] {
            if design.domains[a].period == design.domains[b].period {
                pairs.push((a, b));
            }
        }
    }
    if pairs.is_empty() {
        return Vec::new();
    }
    // Per row: its SIPAS influence in its own mode domain.
    let (t0, t1) = (model.term_start[0], model.term_start[1]);
    let mut state = vec![0u8; model.j];
    let z_root = |r: usize, d: usize, state: &mut [u8]| -> f64 {
        design.responses.row_states(r, state);
        let tab = &tables[d]
            .as_ref()
            .expect("the mode pass has every domain's table")
            .term[t0..t1];
        let s: f64 = model.terms[t0..t1]
            .iter()
            .zip(tab)
            .map(|(&jj, v)| v[usize::from(state[jj] & 3)])
            .sum();
        design.weights[r] * s
    };
    let mut var = vec![0.0; pairs.len()];
    let mut psu_d = vec![0.0; pairs.len()];
    for h in 0..design.n_strata() {
        let npsu = design.npsu(h);
        let f = design.fcorr[h];
        let (mut sum, mut sum2) = (vec![0.0; pairs.len()], vec![0.0; pairs.len()]);
        for p in design.stratum_psus[h]..design.stratum_psus[h + 1] {
            psu_d.fill(0.0);
            for &r in design.psu_rows(p) {
                let r = r as usize;
                let d = design.row_domains(r)[0] as usize;
                let z = z_root(r, d, &mut state);
                for (k, &(a, b)) in pairs.iter().enumerate() {
                    if d == a {
                        psu_d[k] += z;
                    } else if d == b {
                        psu_d[k] -= z;
                    }
                }
            }
            for k in 0..pairs.len() {
                sum[k] += psu_d[k];
                sum2[k] += psu_d[k] * psu_d[k];
            }
        }
        for k in 0..pairs.len() {
            var[k] += if npsu > 1 {
                crate::cells::stratum_cov(npsu, f, sum2[k], sum[k], sum[k])
            } else if spec.lonely_psu == LonelyPsu::Adjust {
                f * sum2[k]
            } else {
                0.0
            };
        }
    }
    pairs
        .iter()
        .zip(var)
        .map(|(&(a, b), v)| {
            let (ka, kb) = (&design.domains[a], &design.domains[b]);
            let difference = match (root[a].0, root[b].0) {
                (Some(x), Some(y)) => Some(x - y),
                _ => None,
            };
            let se = difference.and((v.is_finite()).then(|| v.max(0.0).sqrt()));
            let (lo, hi) = match (difference, se) {
                (Some(d), Some(s)) => (
                    Some(d - level.normal_multiplier() * s),
                    Some(d + level.normal_multiplier() * s),
                ),
                _ => (None, None),
            };
            ModeDifference {
                period: periods[ka.period],
                mode_a: ka.name.clone(),
                mode_b: kb.name.clone(),
                n_a: n[a],
                n_b: n[b],
                sipas_a: root[a].0,
                se_a: root[a].1,
                sipas_b: root[b].0,
                se_b: root[b].1,
                difference,
                se,
                lo,
                hi,
            }
        })
        .collect()
}

/// The CSV text of `modes.csv` (header only without modes).
pub fn modes_csv(diffs: &[ModeDifference]) -> String {
    let mut s = sipas_core::results::MODES.header::<&str>(&[]);
    for d in diffs {
        d.write_line(&mut s);
    }
    s
}

/// Writes `modes.csv` into `out_dir`, atomically.
pub(super) fn write_modes(diffs: &[ModeDifference], out_dir: &Path) -> Result<()> {
    crate::twin::write_csv_and_twin(
        out_dir,
        &sipas_core::results::MODES,
        modes_csv(diffs).as_bytes(),
    )
}
