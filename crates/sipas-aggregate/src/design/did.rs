//! The 2×2 difference-in-differences of the index under the design: the four
//! quadrant domains (pilot / baseline × before / from the pilot start) with
//! their full covariance, and the contrast's SE.
//!
//! As R's `svycontrast` over `svyby(~totals, ~quadrant, design, svytotal,
//! covmat = TRUE)`: the covariance of the quadrants' weighted item totals
//! comes from the design (linearization, jackknife or bootstrap replicates of
//! the totals), and the delta method carries it to the four indices and the
//! contrast. A PSU may hold rows of several quadrants (a village surveyed
//! before and after the start, a district stratum with pilot and baseline
//! communes): its influence vector has several nonzero entries, which is
//! where the covariances come from.

// 4 × 4 covariance algebra reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;
use sipas_core::Period;

use super::model::{Design, LinTable, Model};
use super::replicate::{Supplied, bootstrap_factors};
use super::spec::{DesignSpec, LonelyPsu, VarianceMethod};
use crate::cells::ItemTotals;

/// The quadrant of a cell of a unit left out of the comparison
/// ([`crate::arms`]): its rows count in no quadrant (in the variance they
/// are rows outside the domain, as R's `subset`).
pub(super) const LEFT_OUT: usize = 4;

/// Quadrant names, in the order of [`DesignDid::values`] and [`DesignDid::cov`].
pub const QUADRANTS: [&str; 4] = ["pilot_pre", "pilot_post", "baseline_pre", "baseline_post"];

/// Contrast coefficients of the DiD over [`QUADRANTS`]:
/// (pilot_post − pilot_pre) − (baseline_post − baseline_pre).
const CONTRAST: [f64; 4] = [-1.0, 1.0, 1.0, -1.0];

/// The DiD of the index under a design.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignDid {
    /// First period of the pilot.
    pub pilot_start: Period,
    /// The index of each quadrant (order of [`QUADRANTS`]).
    pub values: [f64; 4],
    /// Responses per quadrant.
    pub n: [usize; 4],
    /// Covariance of the four quadrant indices.
    pub cov: [[f64; 4]; 4],
    /// The contrast (pilot change minus baseline change), index points.
    pub estimate: f64,
    /// Its standard error, √(c′Vc).
    pub se: f64,
}

impl DesignDid {
    /// Standard error of quadrant `q`.
    pub fn quadrant_se(&self, q: usize) -> f64 {
        self.cov[q][q].max(0.0).sqrt()
    }
}

/// Per stratum: Σ z and Σ z z′ of the PSU influence vectors.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StratumSums {
    pub(super) sz: [f64; 4],
    pub(super) szz: [[f64; 4]; 4],
}

/// What the design engine's bit-count pass needs to sum the DiD's
/// influence vectors with the domain estimates (weight-1 rows, one row per
/// PSU, linearization): each cell's quadrant, and per quadrant the index's
/// totals and linearization table. Each PSU is one row in one quadrant, so
/// per stratum only Σ z_q and Σ z_q² are nonzero; the engine adds them from
/// each (stratum, cell) pair's bit counts ([`StratumSums`]), and
/// [`DidTables::finish`] carries them to the contrast as [`did`] does.
pub(super) struct DidTables {
    /// The quadrant of cell c = unit × n_periods + period ([`LEFT_OUT`] for none).
    pub(super) quadrant_of_cell: Vec<u8>,
    /// Per quadrant: the linearization table of its totals (the root's terms are read).
    pub(super) tables: Vec<LinTable>,
    values: [f64; 4],
    n: [usize; 4],
}

impl DidTables {
    /// `None` when a quadrant has no rows or an undefined index (no DiD, as [`did`]).
    pub(super) fn new(
        model: &Model,
        quadrant_of_cell: Vec<u8>,
        totals: &[ItemTotals],
    ) -> Option<Self> {
        let values = quadrant_values(model, |q| (totals[q].n, &totals[q].x, &totals[q].y))?;
        Some(DidTables {
            quadrant_of_cell,
            tables: totals[..4]
                .iter()
                .map(|t| LinTable::new(model, t))
                .collect(),
            values,
            n: [0, 1, 2, 3].map(|q| totals[q].n),
        })
    }

    /// The DiD from the strata's sums (linearization).
    pub(super) fn finish(
        &self,
        design: &Design,
        spec: &DesignSpec,
        strata: &[StratumSums],
        pilot_start: Period,
    ) -> DesignDid {
        debug_assert_eq!(spec.variance, VarianceMethod::Linearization);
        contrast(
            pilot_start,
            self.values,
            self.n,
            linearized(design, spec, strata),
        )
    }
}

/// A chunk's per-stratum sums (in stratum order) and, for the bootstrap, its PSUs' z.
type ChunkSums = (Vec<(u32, StratumSums)>, Vec<[f64; 4]>);

/// The DiD under `design`; `None` when a quadrant has no rows or an
/// undefined index. `quadrant_of_cell[c]` is the quadrant of cell (or
/// [`LEFT_OUT`])
/// c = unit × n_periods + period.
pub(super) fn did(
    design: &Design,
    model: &Model,
    spec: &DesignSpec,
    supplied: Option<&Supplied>,
    quadrant_of_cell: &[u8],
    pilot_start: Period,
) -> Option<DesignDid> {
    let j = model.j;
    let root = &model.ind[0];
    let resp = design.responses;
    let quad = |r: usize| -> usize {
        let c =
            resp.unit_indices()[r] as usize * design.n_periods + resp.period_indices()[r] as usize;
        usize::from(quadrant_of_cell[c])
    };
    // Quadrant totals (chunk order: deterministic).
    let parts: Vec<([usize; 4], Vec<f64>)> = (0..design.chunks.len() - 1)
        .into_par_iter()
        .map(|c| {
            let mut n = [0usize; 4];
            let mut t = vec![0.0; 4 * 2 * j];
            let mut row = vec![0u8; j];
            for (p, _) in design.chunk_psus(c) {
                for &r in design.psu_rows(p) {
                    let r = r as usize;
                    let q = quad(r);
                    if q == LEFT_OUT {
                        continue;
                    }
                    let w = design.weights[r];
                    resp.row_states(r, &mut row);
                    n[q] += 1;
                    for (jj, &s) in row.iter().enumerate() {
                        t[q * 2 * j + jj] += w * model.answered[usize::from(s)];
                        t[q * 2 * j + j + jj] += w * model.satisfied[usize::from(s)];
                    }
                }
            }
            (n, t)
        })
        .collect();
    let mut n = [0usize; 4];
    let mut t = vec![0.0; 4 * 2 * j];
    for (pn, pt) in parts {
        for q in 0..4 {
            n[q] += pn[q];
        }
        for (a, b) in t.iter_mut().zip(pt) {
            *a += b;
        }
    }
    let values = quadrant_values(model, |q| {
        (
            n[q],
            &t[q * 2 * j..q * 2 * j + j],
            &t[q * 2 * j + j..(q + 1) * 2 * j],
        )
    })?;
    // Influence tables: per quadrant and item, by answer state,
    // c_j·(s − R_j·a)/X_j (c_j already × 100).
    let mut table = vec![[0.0f64; 3]; 4 * j];
    for q in 0..4 {
        for &(jj, c) in &root.coefs {
            let (x, y) = (t[q * 2 * j + jj], t[q * 2 * j + j + jj]);
            let r = y / x;
            for (s, v) in table[q * j + jj].iter_mut().enumerate() {
                *v = c * (model.satisfied[s] - r * model.answered[s]) / x;
            }
        }
    }
    // PSU influence vectors z_p, summed per stratum; kept per PSU for the bootstrap.
    let keep = spec.variance == VarianceMethod::Bootstrap;
    let parts: Vec<ChunkSums> = (0..design.chunks.len() - 1)
        .into_par_iter()
        .map(|c| {
            let mut sums: Vec<(u32, StratumSums)> = Vec::new();
            let mut zs = Vec::new();
            let mut row = vec![0u8; j];
            for (p, h) in design.chunk_psus(c) {
                let mut z = [0.0; 4];
                for &r in design.psu_rows(p) {
                    let r = r as usize;
                    let q = quad(r);
                    if q == LEFT_OUT {
                        continue;
                    }
                    resp.row_states(r, &mut row);
                    let mut acc = 0.0;
                    for &(jj, _) in &root.coefs {
                        acc += table[q * j + jj][usize::from(row[jj])];
                    }
                    z[q] += design.weights[r] * acc;
                }
                if sums.last().is_none_or(|(hh, _)| *hh != h) {
                    sums.push((h, StratumSums::default()));
                }
                let s = &mut sums.last_mut().expect("pushed").1;
                for a in 0..4 {
                    s.sz[a] += z[a];
                    for b in 0..4 {
                        s.szz[a][b] += z[a] * z[b];
                    }
                }
                if keep {
                    zs.push(z);
                }
            }
            (sums, zs)
        })
        .collect();
    let mut strata = vec![StratumSums::default(); design.n_strata()];
    let mut zp: Vec<[f64; 4]> = Vec::new();
    for (sums, zs) in parts {
        for (h, s) in sums {
            let e = &mut strata[h as usize];
            for a in 0..4 {
                e.sz[a] += s.sz[a];
                for b in 0..4 {
                    e.szz[a][b] += s.szz[a][b];
                }
            }
        }
        zp.extend(zs);
    }
    let cov = match spec.variance {
        _ if supplied.is_some() => {
            supplied_cov(design, model, supplied.expect("matched"), &table, &quad)
        }
        VarianceMethod::Linearization => linearized(design, spec, &strata),
        VarianceMethod::Jackknife => jackknife(design, spec, &strata),
        VarianceMethod::Bootstrap => bootstrap(design, spec, &zp),
    };
    Some(contrast(pilot_start, values, n, cov))
}

/// The index of each quadrant from its rows and weighted totals
/// `of(q)` = (rows, Σ w·answered, Σ w·satisfied); `None` when a quadrant
/// has no rows or an undefined index (no DiD).
fn quadrant_values<'t>(
    model: &Model,
    of: impl Fn(usize) -> (usize, &'t [f64], &'t [f64]),
) -> Option<[f64; 4]> {
    let mut values = [0.0; 4];
    for (q, value) in values.iter_mut().enumerate() {
        let (n, x, y) = of(q);
        let mut v = [0.0];
        model.values_of(0, x, y, &mut v);
        if n == 0 || !v[0].is_finite() {
            return None;
        }
        *value = v[0];
    }
    Some(values)
}

/// The DiD of the quadrant indices `values` with covariance `cov`.
fn contrast(pilot_start: Period, values: [f64; 4], n: [usize; 4], cov: [[f64; 4]; 4]) -> DesignDid {
    let estimate = (values[1] - values[0]) - (values[3] - values[2]);
    let mut var = 0.0;
    for a in 0..4 {
        for b in 0..4 {
            var += CONTRAST[a] * cov[a][b] * CONTRAST[b];
        }
    }
    DesignDid {
        pilot_start,
        values,
        n,
        cov,
        estimate,
        se: var.max(0.0).sqrt(),
    }
}

fn outer_add(v: &mut [[f64; 4]; 4], k: f64, a: &[f64; 4], b: &[f64; 4]) {
    for x in 0..4 {
        for y in 0..4 {
            v[x][y] += k * a[x] * b[y];
        }
    }
}

/// Σ_h (1 − f_h)·n_h/(n_h − 1)·(S_zz − S_z S_z′/n_h), with the lonely-PSU rules
/// of the domain estimates.
fn linearized(design: &Design, spec: &DesignSpec, strata: &[StratumSums]) -> [[f64; 4]; 4] {
    let mut v = [[0.0; 4]; 4];
    let mut lonely = 0usize;
    for (h, s) in strata.iter().enumerate() {
        let n = design.npsu(h);
        let f = design.fcorr[h];
        if n == 1 {
            lonely += 1;
        }
        if f < 1e-7 {
            continue;
        }
        if n > 1 {
            for a in 0..4 {
                for b in 0..4 {
                    v[a][b] += crate::cells::stratum_cov(n, f, s.szz[a][b], s.sz[a], s.sz[b]);
                }
            }
        } else if spec.lonely_psu == LonelyPsu::Adjust {
            outer_add(&mut v, f, &s.sz, &s.sz);
        }
    }
    let hn = strata.len();
    if spec.lonely_psu == LonelyPsu::Average && lonely > 0 && lonely < hn {
        let k = hn as f64 / (hn - lonely) as f64;
        v = v.map(|r| r.map(|x| x * k));
    }
    v
}

/// Jackknife (JKn / JK1) covariance of the quadrant totals carried by the
/// delta method: replicate deleting PSU p of stratum h moves the linearized
/// total by Δ_p = −z_p + (Z_h − z_p)/(n_h − 1). Per stratum Σ_p Δ_p = 0 and
/// Σ_p Δ_p Δ_p′ = n_h(n_h S_zz − Z_h Z_h′)/(n_h − 1)², so the sums are
/// formed from the stratum totals.
fn jackknife(design: &Design, spec: &DesignSpec, strata: &[StratumSums]) -> [[f64; 4]; 4] {
    let s_count = strata.len() as f64;
    let adjust = spec.lonely_psu == LonelyPsu::Adjust && strata.len() > 1;
    // Σ rs ΔΔ′, Σ Δ, Σ rs Δ, Σ rs, replicates, PSUs.
    let mut sdd = [[0.0; 4]; 4];
    let mut sd = [0.0; 4];
    let mut srd = [0.0; 4];
    let (mut sum_rs, mut n_rep, mut total_psu) = (0.0, 0usize, 0usize);
    for (h, s) in strata.iter().enumerate() {
        let n = design.npsu(h);
        let f = design.fcorr[h];
        total_psu += n;
        if n >= 2 && f > 0.0 {
            let nf = n as f64;
            let rs = f * (nf - 1.0) / nf;
            for a in 0..4 {
                for b in 0..4 {
                    sdd[a][b] += rs * nf * (nf * s.szz[a][b] - s.sz[a] * s.sz[b])
                        / ((nf - 1.0) * (nf - 1.0));
                }
            }
            sum_rs += rs * nf;
            n_rep += n;
        } else if n == 1 && adjust {
            // Drop the stratum, reweight every other PSU by S/(S − 1): the
            // linearized totals sum to 0 over the sample, so Δ = −Z_h·S/(S − 1).
            let rs = (s_count - 1.0) / s_count;
            let d = s.sz.map(|z| -z * s_count / (s_count - 1.0));
            outer_add(&mut sdd, rs, &d, &d);
            for a in 0..4 {
                sd[a] += d[a];
                srd[a] += rs * d[a];
            }
            sum_rs += rs;
            n_rep += 1;
        }
    }
    if n_rep == 0 {
        return [[f64::NAN; 4]; 4];
    }
    let scale = if spec.lonely_psu == LonelyPsu::Average && n_rep < total_psu {
        total_psu as f64 / n_rep as f64
    } else {
        1.0
    };
    let mean = if spec.mse {
        [0.0; 4]
    } else {
        sd.map(|x| x / n_rep as f64)
    };
    let mut v = [[0.0; 4]; 4];
    for a in 0..4 {
        for b in 0..4 {
            v[a][b] = scale
                * (sdd[a][b] - mean[a] * srd[b] - srd[a] * mean[b] + mean[a] * mean[b] * sum_rs);
        }
    }
    v
}

/// Rao–Wu bootstrap covariance of the quadrant totals (the same replicate
/// factors as the domain estimates), carried by the delta method:
/// Δ_r = Σ_p (f_pr − 1)·z_p.
fn bootstrap(design: &Design, spec: &DesignSpec, zp: &[[f64; 4]]) -> [[f64; 4]; 4] {
    let reps = spec.replicates.max(2);
    let deltas: Vec<[f64; 4]> = (0..reps)
        .into_par_iter()
        .map(|r| {
            let f = bootstrap_factors(design, spec, r);
            let mut d = [0.0; 4];
            for (fp, z) in f.iter().zip(zp) {
                for a in 0..4 {
                    d[a] += (fp - 1.0) * z[a];
                }
            }
            d
        })
        .collect();
    let rf = reps as f64;
    let mut mean = [0.0; 4];
    if !spec.mse {
        for d in &deltas {
            for a in 0..4 {
                mean[a] += d[a] / rf;
            }
        }
    }
    let mut v = [[0.0; 4]; 4];
    for d in &deltas {
        let e = [0, 1, 2, 3].map(|a| d[a] - mean[a]);
        outer_add(&mut v, 1.0 / (rf - 1.0), &e, &e);
    }
    v
}

/// Covariance from replicate weights supplied with the data, carried by the
/// delta method as R's `svycontrast` over `svyby(covmat = TRUE)` on an
/// `svrepdesign`: Δ_r = Σ_i (w_ir/w_i − 1)·z_i (z_i the row's influence).
fn supplied_cov(
    design: &Design,
    model: &Model,
    sup: &Supplied,
    table: &[[f64; 3]],
    quad: &(dyn Fn(usize) -> usize + Sync),
) -> [[f64; 4]; 4] {
    let j = model.j;
    let root = &model.ind[0];
    let mut row = vec![0u8; j];
    // Per used row: its quadrant and influence.
    let z: Vec<(usize, usize, f64)> = design
        .order
        .iter()
        .filter_map(|&r| {
            let r = r as usize;
            let q = quad(r);
            if q == LEFT_OUT {
                return None;
            }
            design.responses.row_states(r, &mut row);
            let mut acc = 0.0;
            for &(jj, _) in &root.coefs {
                acc += table[q * j + jj][usize::from(row[jj])];
            }
            Some((r, q, design.weights[r] * acc))
        })
        .collect();
    let deltas: Vec<[f64; 4]> = sup
        .weights
        .par_iter()
        .map(|w| {
            let mut d = [0.0; 4];
            for &(r, q, zi) in &z {
                d[q] += (w[r] / design.weights[r] - 1.0) * zi;
            }
            d
        })
        .collect();
    let mut v = [[0.0; 4]; 4];
    for a in 0..4 {
        for b in a..4 {
            let (mut ma, mut mb) = (0.0, 0.0);
            if !sup.mse {
                for d in &deltas {
                    ma += d[a];
                    mb += d[b];
                }
                ma /= deltas.len() as f64;
                mb /= deltas.len() as f64;
            }
            let mut s = 0.0;
            for (r, d) in deltas.iter().enumerate() {
                let rs = sup.rscales[r];
                s += rs * (d[a] - ma) * (d[b] - mb);
            }
            v[a][b] = sup.scale * s;
            v[b][a] = v[a][b];
        }
    }
    v
}
