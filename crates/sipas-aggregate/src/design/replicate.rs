//! Replication variances: delete-one-PSU jackknife (JK1 / JKn, as R's
//! `as.svrepdesign`) and the Rao–Wu rescaling bootstrap.

use rayon::prelude::*;

use super::model::{Design, ItemTotals, KeyMap, Model};
use super::spec::{DesignSpec, LonelyPsu};

/// Per domain: totals of one PSU (x then y, 2·J values) and its answers
/// per item.
type PsuTotals = Vec<(u32, Vec<f64>, Vec<usize>)>;

fn psu_totals(design: &Design, model: &Model, p: usize) -> PsuTotals {
    let j = model.j;
    let mut out: PsuTotals = Vec::new();
    let mut row = vec![0u8; j];
    for &r in design.psu_rows(p) {
        let r = r as usize;
        let w = design.weights[r];
        design.responses.row_states(r, &mut row);
        for d in design.row_domains(r) {
            let e = if let Some(e) = out.iter().position(|(x, _, _)| *x == d) {
                e
            } else {
                out.push((d, vec![0.0; 2 * j], vec![0; j]));
                out.len() - 1
            };
            add_codes(model, &row, w, &mut out[e].1);
            for (n, &code) in out[e].2.iter_mut().zip(&row) {
                *n += usize::from(code > 0);
            }
        }
    }
    out
}

/// Adds the answer states `codes` of one row, weighted `w`, to one domain's
/// totals `t` (x then y, 2·J values).
fn add_codes(model: &Model, codes: &[u8], w: f64, t: &mut [f64]) {
    let j = model.j;
    for (jj, &code) in codes.iter().enumerate() {
        t[jj] += w * model.answered[usize::from(code)];
        t[j + jj] += w * model.satisfied[usize::from(code)];
    }
}

/// Adds row `row`, weighted `w`, to the totals `t` of each of its domains
/// (domain `d` at `d · 2J`); `codes` is scratch space of J states.
fn add_row(design: &Design, model: &Model, row: usize, w: f64, codes: &mut [u8], t: &mut [f64]) {
    let j = model.j;
    design.responses.row_states(row, codes);
    for d in design.row_domains(row) {
        let base = d as usize * 2 * j;
        add_codes(model, codes, w, &mut t[base..base + 2 * j]);
    }
}

/// The deviations of every domain's indicators (`ni` each) at the replicate
/// totals `t` (laid out as in [`add_row`]) from the full-sample `values`.
fn replicate_deviations(
    model: &Model,
    t: &[f64],
    values: &[Vec<f64>],
    nd: usize,
    ni: usize,
) -> Vec<f64> {
    let j = model.j;
    let mut out = vec![0.0; nd * ni];
    for d in 0..nd {
        let base = d * 2 * j;
        deviations(
            model,
            &t[base..base + j],
            &t[base + j..base + 2 * j],
            &values[d],
            &mut out[d * ni..(d + 1) * ni],
        );
    }
    out
}

/// Deviations of the indicators at replicate totals from the full-sample values.
fn deviations(model: &Model, x: &[f64], y: &[f64], full: &[f64], out: &mut [f64]) {
    model.values(x, y, out);
    for (o, f) in out.iter_mut().zip(full) {
        *o -= f;
    }
}

#[derive(Clone)]
struct JkAcc {
    sd: Vec<f64>,
    sdd: Vec<f64>,
    /// Per indicator: replicates of this stratum whose estimate is undefined
    /// (the deleted PSU held every answer of an item in the domain).
    undefined: Vec<u32>,
    m: usize,
}

impl JkAcc {
    fn zero(ni: usize) -> Self {
        JkAcc {
            sd: vec![0.0; ni],
            sdd: vec![0.0; ni],
            undefined: vec![0; ni],
            m: 0,
        }
    }
}

/// Jackknife variances (JKn; JK1 is the one-stratum case), centred at the
/// mean of the replicates (R's default `mse = false`) or at the full-sample
/// estimate (`mse = true`). A replicate whose estimate is undefined (it
/// deleted every answer of an item in the domain) is left out of that
/// estimate's variance, with its scale, as R's `svrVar` does with `NA`.
pub(super) fn jackknife(
    design: &Design,
    model: &Model,
    spec: &DesignSpec,
    hd: &[((u32, u32), ItemTotals)],
    hd_ranges: &[std::ops::Range<usize>],
    dom: &[ItemTotals],
    values: &[Vec<f64>],
) -> Vec<Vec<Option<f64>>> {
    let (j, ni) = (model.j, model.ind.len());
    let nd = dom.len();
    let n_strata = design.n_strata();
    let s = n_strata as f64;
    let hd_of = |h: u32, d: u32| -> &ItemTotals {
        let rg = hd_ranges[d as usize].clone();
        let i = hd[rg.clone()]
            .binary_search_by_key(&h, |((hh, _), _)| *hh)
            .expect("the PSU's stratum touches the domain");
        &hd[rg.start + i].1
    };
    // Per (stratum, domain): sums of deviations of the replicates that delete a PSU of the domain.
    let parts: Vec<KeyMap<JkAcc>> = (0..design.chunks.len() - 1)
        .into_par_iter()
        .map(|c| {
            let mut map = KeyMap::new();
            let mut dev = vec![0.0; ni];
            let (mut x, mut y) = (vec![0.0; j], vec![0.0; j]);
            for (p, h) in design.chunk_psus(c) {
                let n = design.npsu(h as usize);
                if n < 2 || design.fcorr[h as usize] <= 0.0 {
                    continue;
                }
                let g = 1.0 / (n as f64 - 1.0);
                for (d, t, answers) in psu_totals(design, model, p) {
                    let (td, th) = (&dom[d as usize], hd_of(h, d));
                    for jj in 0..j {
                        // Deleting the PSU's every answer of the item in the
                        // domain leaves no total (0, not a rounding residue:
                        // the totals are summed in another order).
                        (x[jj], y[jj]) = if td.nv[jj] == answers[jj] {
                            (0.0, 0.0)
                        } else {
                            (
                                td.x[jj] - t[jj] + g * (th.x[jj] - t[jj]),
                                td.y[jj] - t[j + jj] + g * (th.y[jj] - t[j + jj]),
                            )
                        };
                    }
                    deviations(model, &x, &y, &values[d as usize], &mut dev);
                    let a = map.entry((h, d), || JkAcc::zero(ni));
                    a.m += 1;
                    for (((sd, sdd), u), v) in
                        a.sd.iter_mut()
                            .zip(&mut a.sdd)
                            .zip(&mut a.undefined)
                            .zip(&dev)
                    {
                        if v.is_finite() {
                            *sd += v;
                            *sdd += v * v;
                        } else {
                            *u += 1;
                        }
                    }
                }
            }
            map
        })
        .collect();
    let mut all: KeyMap<JkAcc> = KeyMap::new();
    for part in parts {
        for (key, a) in part.items {
            let e = all.entry(key, || JkAcc::zero(ni));
            e.m += a.m;
            for i in 0..ni {
                e.sd[i] += a.sd[i];
                e.sdd[i] += a.sdd[i];
                e.undefined[i] += a.undefined[i];
            }
        }
    }
    let all = all.into_sorted();
    let acc_ranges = super::model::ranges(&all, nd);

    // Replicates of the whole design: count, Σ rscale, and the scale.
    let adjust = spec.lonely_psu == LonelyPsu::Adjust;
    let mut n_rep = 0usize;
    let mut sum_rs = 0.0;
    let mut total_psu = 0usize;
    for h in 0..n_strata {
        let n = design.npsu(h);
        total_psu += n;
        let f = design.fcorr[h];
        if n >= 2 && f > 0.0 {
            n_rep += n;
            sum_rs += n as f64 * f * (n as f64 - 1.0) / n as f64;
        } else if n == 1 && adjust && n_strata > 1 {
            n_rep += 1;
            sum_rs += (s - 1.0) / s;
        }
    }
    let scale = if spec.lonely_psu == LonelyPsu::Average && n_rep < total_psu {
        total_psu as f64 / n_rep as f64
    } else {
        1.0
    };

    (0..nd)
        .map(|d| {
            let mut sd = vec![0.0; ni];
            let mut srd = vec![0.0; ni];
            let mut srdd = vec![0.0; ni];
            // Per indicator: undefined replicates and their Σ rscale.
            let mut lost = vec![0usize; ni];
            let mut lost_rs = vec![0.0; ni];
            let mut dev = vec![0.0; ni];
            let (mut x, mut y) = (vec![0.0; j], vec![0.0; j]);
            let td = &dom[d];
            for ((h, _), th) in &hd[hd_ranges[d].clone()] {
                let hh = *h as usize;
                let n = design.npsu(hh);
                let f = design.fcorr[hh];
                if n >= 2 && f > 0.0 {
                    let rs = f * (n as f64 - 1.0) / n as f64;
                    let g = 1.0 / (n as f64 - 1.0);
                    let a = all[acc_ranges[d].clone()]
                        .iter()
                        .find(|((ah, _), _)| ah == h)
                        .map(|(_, a)| a);
                    // PSUs of the stratum without rows in the domain: each
                    // replicate deleting one scales the domain's rows of the
                    // stratum by n/(n − 1) and keeps the rest.
                    let untouched = n - a.map_or(0, |a| a.m);
                    for jj in 0..j {
                        x[jj] = td.x[jj] + g * th.x[jj];
                        y[jj] = td.y[jj] + g * th.y[jj];
                    }
                    deviations(model, &x, &y, &values[d], &mut dev);
                    for i in 0..ni {
                        let (a_sd, a_sdd) = a.map_or((0.0, 0.0), |a| (a.sd[i], a.sdd[i]));
                        let bad = a.map_or(0, |a| a.undefined[i] as usize);
                        let u = untouched as f64;
                        let (t1, t2, bad) = if untouched == 0 {
                            (a_sd, a_sdd, bad)
                        } else if dev[i].is_finite() {
                            (a_sd + u * dev[i], a_sdd + u * dev[i] * dev[i], bad)
                        } else {
                            (a_sd, a_sdd, bad + untouched)
                        };
                        sd[i] += t1;
                        srd[i] += rs * t1;
                        srdd[i] += rs * t2;
                        lost[i] += bad;
                        lost_rs[i] += rs * bad as f64;
                    }
                } else if n == 1 && adjust && n_strata > 1 {
                    let rs = (s - 1.0) / s;
                    let g = s / (s - 1.0);
                    for jj in 0..j {
                        x[jj] = g * (td.x[jj] - th.x[jj]);
                        y[jj] = g * (td.y[jj] - th.y[jj]);
                    }
                    deviations(model, &x, &y, &values[d], &mut dev);
                    for i in 0..ni {
                        if dev[i].is_finite() {
                            sd[i] += dev[i];
                            srd[i] += rs * dev[i];
                            srdd[i] += rs * dev[i] * dev[i];
                        } else {
                            lost[i] += 1;
                            lost_rs[i] += rs;
                        }
                    }
                }
            }
            (0..ni)
                .map(|i| {
                    let kept = n_rep - lost[i];
                    let v = if spec.mse {
                        scale * srdd[i]
                    } else {
                        let mean = sd[i] / kept as f64;
                        scale
                            * (srdd[i] - 2.0 * mean * srd[i] + mean * mean * (sum_rs - lost_rs[i]))
                    };
                    (v.is_finite() && kept > 0).then_some(v.max(0.0))
                })
                .collect()
        })
        .collect()
}

/// SplitMix64: a small, fast, well-mixed generator (deterministic per seed).
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[cfg(test)]
    pub(crate) fn unif(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (Lemire's multiply-shift with rejection).
    fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// The PSU weight factors of bootstrap replicate `r` (Rao–Wu, m_h = n_h − 1
/// draws with replacement per stratum; lonely strata keep factor 1). Each
/// replicate has its own stream seeded from (seed, r).
pub(super) fn bootstrap_factors(design: &Design, spec: &DesignSpec, r: usize) -> Vec<f64> {
    let mut rng = SplitMix(
        spec.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(r as u64)
            .wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    let mut factor = vec![1.0; design.n_psu()];
    let mut count = Vec::new();
    for h in 0..design.n_strata() {
        let n = design.npsu(h);
        if n < 2 {
            continue;
        }
        let first = design.stratum_psus[h];
        count.clear();
        count.resize(n, 0u32);
        for _ in 0..n - 1 {
            count[rng.below(n as u64) as usize] += 1;
        }
        let lambda = design.fcorr[h].max(0.0).sqrt();
        let g = n as f64 / (n as f64 - 1.0);
        for (i, &m) in count.iter().enumerate() {
            factor[first + i] = 1.0 - lambda + lambda * g * f64::from(m);
        }
    }
    factor
}

/// Rao–Wu rescaling bootstrap with m_h = n_h − 1 PSUs drawn with
/// replacement per stratum: w* = w·(1 − λ + λ·n_h/(n_h − 1)·m_hi),
/// λ = √(1 − f_h); Var = Σ_r (θ_r − θ̄)²/(R − 1) over the replicates where
/// the estimate is defined. Replicate r uses its
/// own stream seeded from (seed, r), so results do not depend on threads.
pub(super) fn bootstrap(
    design: &Design,
    model: &Model,
    spec: &DesignSpec,
    dom: &[ItemTotals],
    values: &[Vec<f64>],
) -> Vec<Vec<Option<f64>>> {
    let (j, ni) = (model.j, model.ind.len());
    let nd = dom.len();
    let reps = spec.replicates.max(2);
    let replicate = |r: usize| -> Vec<f64> {
        let factor = bootstrap_factors(design, spec, r);
        let mut t = vec![0.0; nd * 2 * j];
        let mut codes = vec![0u8; j];
        for (p, &fp) in factor.iter().enumerate() {
            if fp == 0.0 {
                continue;
            }
            for &row in design.psu_rows(p) {
                let row = row as usize;
                add_row(
                    design,
                    model,
                    row,
                    fp * design.weights[row],
                    &mut codes,
                    &mut t,
                );
            }
        }
        replicate_deviations(model, &t, values, nd, ni)
    };
    let mut s1 = vec![0.0; nd * ni];
    let mut s2 = vec![0.0; nd * ni];
    let mut ok = vec![0usize; nd * ni];
    let block = 64;
    for start in (0..reps).step_by(block) {
        let devs: Vec<Vec<f64>> = (start..(start + block).min(reps))
            .into_par_iter()
            .map(replicate)
            .collect();
        for dv in devs {
            for (i, v) in dv.iter().enumerate() {
                // A replicate where an item has no answer in the domain is
                // discarded for that estimate, as R's `svrVar` does with NA.
                if v.is_finite() {
                    s1[i] += v;
                    s2[i] += v * v;
                    ok[i] += 1;
                }
            }
        }
    }
    let r = reps as f64;
    (0..nd)
        .map(|d| {
            (0..ni)
                .map(|i| {
                    let (a, b, c) = (s1[d * ni + i], s2[d * ni + i], ok[d * ni + i]);
                    let v = if spec.mse {
                        b / (r - 1.0)
                    } else {
                        (b - a * a / c as f64) / (r - 1.0)
                    };
                    (c > 1 && v.is_finite()).then_some(v.max(0.0))
                })
                .collect()
        })
        .collect()
}

/// Replicate weights supplied with the data, resolved: per replicate its
/// row weights, and the variance's scale and rscales (R `svrepdesign`).
pub(super) struct Supplied {
    /// Per replicate: the weight of every row (combined with the sampling weight).
    pub(super) weights: Vec<Vec<f64>>,
    pub(super) scale: f64,
    pub(super) rscales: Vec<f64>,
    pub(super) mse: bool,
}

impl Supplied {
    /// Reads the replicate columns of `spec.replicate_weights` from the table.
    pub(super) fn resolve(design: &Design, spec: &DesignSpec) -> crate::Result<Option<Self>> {
        use super::spec::ReplicateType;
        let Some(rw) = &spec.replicate_weights else {
            return Ok(None);
        };
        let resp = design.responses;
        let origin = || resp.origin().to_string();
        let names = resp.design_columns_matching(&rw.columns);
        if names.is_empty() {
            return Err(crate::Error::MissingColumn {
                origin: origin(),
                column: rw.columns.clone(),
            });
        }
        let mut weights = Vec::with_capacity(names.len());
        // Per replicate: the largest factor (R guesses JK scales from it
        // when the columns are factors).
        let mut max_factor = Vec::with_capacity(names.len());
        for name in &names {
            let col = resp
                .design_column(name)
                .expect("matched")
                .to_numbers()
                .map_err(|(row, value)| crate::Error::Value {
                    origin: origin(),
                    row,
                    column: (*name).to_string(),
                    message: format!("replicate weight `{value}` is not a number"),
                })?;
            if let Some(i) = col.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
                return Err(crate::Error::Value {
                    origin: origin(),
                    row: i + 1,
                    column: (*name).to_string(),
                    message: format!("replicate weight {} is not finite and ≥ 0", col[i]),
                });
            }
            max_factor.push(col.iter().copied().fold(0.0, f64::max));
            weights.push(if rw.combined_weights {
                col
            } else {
                col.iter()
                    .zip(design.weights.iter())
                    .map(|(a, w)| a * w)
                    .collect()
            });
        }
        let r = weights.len() as f64;
        let bad = |message: String| crate::Error::Data {
            origin: origin(),
            message,
        };
        // Defaults as R's svrepdesign: JK1 (n − 1)/n with n the number of
        // replicates, or 1/max(factor of replicate 1) when the columns are
        // factors; JKn rscales 1/max(factor) per replicate (factors only);
        // bootstrap 1/(R − 1); other 1.
        let scale = match (rw.scale, rw.kind) {
            (Some(s), _) => s,
            (None, ReplicateType::Bootstrap) => 1.0 / (r - 1.0),
            (None, ReplicateType::Jk1) if rw.combined_weights => (r - 1.0) / r,
            (None, ReplicateType::Jk1) => 1.0 / max_factor[0],
            (None, ReplicateType::Jkn | ReplicateType::Other) => 1.0,
        };
        let rscales = match (&rw.rscales, rw.kind) {
            (Some(v), _) => v.clone(),
            (None, ReplicateType::Jkn) if rw.combined_weights => {
                return Err(bad(
                    "combined replicate weights of type \"jkn\" need `rscales` ((n_h − 1)/n_h per replicate)"
                        .into(),
                ));
            }
            (None, ReplicateType::Jkn) => max_factor.iter().map(|m| 1.0 / m).collect(),
            (None, _) => vec![1.0; weights.len()],
        };
        if rscales.len() != weights.len() {
            return Err(bad(format!(
                "{} rscales for {} replicate columns matching `{}`",
                rscales.len(),
                weights.len(),
                rw.columns
            )));
        }
        Ok(Some(Supplied {
            weights,
            scale,
            rscales,
            mse: spec.mse,
        }))
    }

    /// Σ-form variance of replicate deviations `dev[r]` from the full-sample
    /// estimate, undefined replicates dropped with their rscale (R's `svrVar`).
    pub(super) fn variance(&self, devs: impl Iterator<Item = (usize, f64)>) -> Option<f64> {
        let (mut sd, mut srd, mut srdd, mut srs, mut ok) = (0.0, 0.0, 0.0, 0.0, 0usize);
        for (r, d) in devs {
            if !d.is_finite() {
                continue;
            }
            let rs = self.rscales[r];
            sd += d;
            srd += rs * d;
            srdd += rs * d * d;
            srs += rs;
            ok += 1;
        }
        if ok == 0 {
            return None;
        }
        let v = if self.mse {
            self.scale * srdd
        } else {
            let m = sd / ok as f64;
            self.scale * (srdd - 2.0 * m * srd + m * m * srs)
        };
        v.is_finite().then_some(v.max(0.0))
    }
}

/// Variances from replicate weights supplied with the data: every estimate
/// recomputed with each replicate's weights (R `svrepdesign` +
/// `svyby`/`withReplicates`).
pub(super) fn supplied(
    design: &Design,
    model: &Model,
    sup: &Supplied,
    nd: usize,
    values: &[Vec<f64>],
) -> Vec<Vec<Option<f64>>> {
    let (j, ni) = (model.j, model.ind.len());
    let reps = sup.weights.len();
    let devs: Vec<Vec<f64>> = (0..reps)
        .into_par_iter()
        .map(|r| {
            let w = &sup.weights[r];
            let mut t = vec![0.0; nd * 2 * j];
            let mut codes = vec![0u8; j];
            for &row in &design.order {
                let row = row as usize;
                if w[row] != 0.0 {
                    add_row(design, model, row, w[row], &mut codes, &mut t);
                }
            }
            replicate_deviations(model, &t, values, nd, ni)
        })
        .collect();
    (0..nd)
        .map(|d| {
            (0..ni)
                .map(|i| sup.variance(devs.iter().map(|v| v[d * ni + i]).enumerate()))
                .collect()
        })
        .collect()
}
