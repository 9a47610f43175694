//! Least squares with unit and period fixed effects, cluster-robust (CR1)
//! variances and the wild cluster restricted bootstrap.
//!
//! Unit effects are removed exactly by (weighted) demeaning within unit
//! (Frisch–Waugh–Lovell); period effects stay in the design as dummies (one
//! per period but the first), so unbalanced panels need no iteration. Rows
//! are scaled by √w, so weighted least squares is ordinary least squares on
//! the scaled rows and the scores `w·x·e` of R `sandwich` are `x̃·ẽ`.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::linalg::Cholesky;
use crate::lanes::{LANES, Lanes, TwoPoint, dot_lanes, splitmix};

/// The auxiliary weights of the wild bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WildWeights {
    /// ±1 with probability ½ each (Rademacher).
    #[default]
    Rademacher,
    /// Webb's six-point distribution ±√½, ±1, ±√(3/2), each with probability ⅙.
    Webb,
}

impl WildWeights {
    /// `rademacher` or `webb`.
    pub fn as_str(self) -> &'static str {
        match self {
            WildWeights::Rademacher => "rademacher",
            WildWeights::Webb => "webb",
        }
    }
}

/// One observation of the panel, ready for the design.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Cluster (unit) index.
    pub unit: usize,
    /// Period index (0-based, into the sorted periods present).
    pub period: usize,
    pub y: f64,
    pub w: f64,
}

/// The design after partialling out the unit effects.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    pub n: usize,
    pub k: usize,
    /// Rows of each cluster (rows are sorted by unit).
    pub clusters: Vec<Range<usize>>,
    /// `n × k`, row-major: the regressors of interest, then the period dummies.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Design {
    /// `rows` sorted by unit; `interest[c][i]` is regressor `c` of row `i`.
    pub(crate) fn new(rows: &[Row], n_periods: usize, interest: &[Vec<f64>]) -> Self {
        let n = rows.len();
        let ki = interest.len();
        let k = ki + n_periods.saturating_sub(1);
        let mut x = vec![0.0; n * k];
        let mut y = vec![0.0; n];
        for (i, r) in rows.iter().enumerate() {
            for (c, col) in interest.iter().enumerate() {
                x[i * k + c] = col[i];
            }
            if r.period > 0 {
                x[i * k + ki + r.period - 1] = 1.0;
            }
            y[i] = r.y;
        }
        let mut clusters = Vec::new();
        let mut s = 0;
        for i in 1..=n {
            if i == n || rows[i].unit != rows[s].unit {
                debug_assert!(i == n || rows[i].unit > rows[s].unit, "rows sorted by unit");
                clusters.push(s..i);
                s = i;
            }
        }
        // Weighted demeaning within unit, then scaling by √w.
        for g in &clusters {
            let sw: f64 = rows[g.clone()].iter().map(|r| r.w).sum();
            let mut means = vec![0.0; k + 1];
            for i in g.clone() {
                let w = rows[i].w;
                for c in 0..k {
                    means[c] += w * x[i * k + c];
                }
                means[k] += w * y[i];
            }
            for m in &mut means {
                *m /= sw;
            }
            for i in g.clone() {
                let sq = rows[i].w.sqrt();
                for c in 0..k {
                    x[i * k + c] = sq * (x[i * k + c] - means[c]);
                }
                y[i] = sq * (y[i] - means[k]);
            }
        }
        Design {
            n,
            k,
            clusters,
            x,
            y,
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.k..(i + 1) * self.k]
    }

    fn xtx(&self) -> Vec<f64> {
        self.xtx_of(0..self.n)
    }

    /// `X'X` over the rows `rows` (in their order), full (both triangles).
    pub(crate) fn xtx_of(&self, rows: impl Iterator<Item = usize>) -> Vec<f64> {
        let k = self.k;
        let mut m = vec![0.0; k * k];
        for i in rows {
            let r = self.row(i);
            for a in 0..k {
                if r[a] == 0.0 {
                    continue;
                }
                for b in 0..=a {
                    m[a * k + b] += r[a] * r[b];
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                m[b * k + a] = m[a * k + b];
            }
        }
        m
    }

    fn xtv(&self, v: &[f64]) -> Vec<f64> {
        self.xtv_of(0..v.len(), v)
    }

    /// `X'v` over the rows `rows` (in their order), `v` a value per row of the design.
    pub(crate) fn xtv_of(&self, rows: impl Iterator<Item = usize>, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.k];
        for i in rows {
            for (o, x) in out.iter_mut().zip(self.row(i)) {
                *o += x * v[i];
            }
        }
        out
    }

    /// The design of the rows `keep` (increasing) alone: their rows as they are here, each
    /// cluster the kept rows of one of these clusters. It is the design [`Design::new`] makes
    /// of those rows when each kept unit keeps all its rows and the kept rows cover every
    /// period (the demeaning is within unit, and the periods are numbered alike).
    pub(crate) fn subset(&self, keep: &[usize]) -> Design {
        let k = self.k;
        let mut x = Vec::with_capacity(keep.len() * k);
        let mut y = Vec::with_capacity(keep.len());
        let mut clusters = Vec::new();
        let mut of_cluster = self.clusters.iter().enumerate().peekable();
        let mut open: Option<(usize, usize)> = None; // (cluster, first kept row)
        for (j, &i) in keep.iter().enumerate() {
            x.extend_from_slice(self.row(i));
            y.push(self.y[i]);
            let c = loop {
                let (c, range) = of_cluster.peek().expect("rows of the design, increasing");
                if range.contains(&i) {
                    break *c;
                }
                of_cluster.next();
            };
            match open {
                Some((oc, _)) if oc == c => {}
                Some((_, s)) => {
                    clusters.push(s..j);
                    open = Some((c, j));
                }
                None => open = Some((c, j)),
            }
        }
        if let Some((_, s)) = open {
            clusters.push(s..keep.len());
        }
        Design {
            n: keep.len(),
            k,
            clusters,
            x,
            y,
        }
    }
}

/// An OLS fit on a [`Design`] with its CR1 cluster-robust covariance.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    pub beta: Vec<f64>,
    /// `(X'X)⁻¹`, row-major (zero rows / columns for aliased columns).
    pub a: Vec<f64>,
    pub xtx: Vec<f64>,
    pub chol: Cholesky,
    /// CR1 covariance, row-major.
    pub vcov: Vec<f64>,
    /// `G/(G−1) · (N−1)/(N−K)`.
    pub cfac: f64,
    /// Number of clusters G.
    pub g: usize,
}

impl Fit {
    /// `None` when the model has no residual degrees of freedom or fewer than 2 clusters.
    pub(crate) fn new(d: &Design) -> Option<Self> {
        Self::with_moments(d, d.xtx(), &d.xtv(&d.y))
    }

    /// The fit of `d` from its `X'X` and `X'y` computed elsewhere (e.g. summed from
    /// [`Design::xtx_of`] and [`Design::xtv_of`] of its parts).
    pub(crate) fn with_moments(d: &Design, xtx: Vec<f64>, xty: &[f64]) -> Option<Self> {
        let k = d.k;
        let chol = Cholesky::new(&xtx, k);
        let beta = chol.solve(xty);
        let a = chol.inverse();
        let g = d.clusters.len();
        let rank = g + chol.rank();
        if g < 2 || d.n <= rank {
            return None;
        }
        let cfac = g as f64 / (g - 1) as f64 * (d.n - 1) as f64 / (d.n - rank) as f64;
        let mut meat = vec![0.0; k * k];
        let mut s = vec![0.0; k];
        for range in &d.clusters {
            s.fill(0.0);
            for i in range.clone() {
                let r = d.row(i);
                let e = d.y[i] - dot(r, &beta);
                for (sv, x) in s.iter_mut().zip(r) {
                    *sv += x * e;
                }
            }
            for p in 0..k {
                for q in 0..k {
                    meat[p * k + q] += s[p] * s[q];
                }
            }
        }
        let am = matmul(&a, &meat, k);
        let mut vcov = matmul(&am, &a, k);
        for v in &mut vcov {
            *v *= cfac;
        }
        Some(Fit {
            beta,
            a,
            xtx,
            chol,
            vcov,
            cfac,
            g,
        })
    }

    /// CR1 standard error of coefficient `j`.
    pub(crate) fn se(&self, j: usize) -> f64 {
        let k = self.beta.len();
        self.vcov[j * k + j].max(0.0).sqrt()
    }

    /// Wald statistic `(β_S − β0)' V_S⁻¹ (β_S − β0)` for the coefficients `cols`;
    /// `None` when `V_S` is singular.
    pub(crate) fn wald(&self, cols: &[usize], beta0: &[f64]) -> Option<f64> {
        let k = self.beta.len();
        let q = cols.len();
        let mut v = vec![0.0; q * q];
        for (p, &a) in cols.iter().enumerate() {
            for (r, &b) in cols.iter().enumerate() {
                v[p * q + r] = self.vcov[a * k + b];
            }
        }
        let diff: Vec<f64> = cols
            .iter()
            .zip(beta0)
            .map(|(&c, b)| self.beta[c] - b)
            .collect();
        quad_form_inv(&v, &diff)
    }
}

/// `d' V⁻¹ d`, `None` when `V` is singular.
fn quad_form_inv(v: &[f64], d: &[f64]) -> Option<f64> {
    let q = d.len();
    let chol = Cholesky::new(v, q);
    if chol.rank() < q {
        return None;
    }
    Some(dot(d, &chol.solve(d)))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn matmul(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for p in 0..k {
            let aip = a[i * k + p];
            if aip == 0.0 {
                continue;
            }
            for j in 0..k {
                out[i * k + j] += aip * b[p * k + j];
            }
        }
    }
    out
}

/// Per-cluster quantities of the wild cluster restricted bootstrap for one
/// set of tested coefficients that do not depend on the null values.
#[derive(Debug, Clone)]
pub(crate) struct Wild<'a> {
    d: &'a Design,
    fit: &'a Fit,
    cols: Vec<usize>,
    /// Per cluster (one after the other), `q × k` row-major: `P H_g`, `P` =
    /// rows `cols` of `(X'X)⁻¹`.
    c: Vec<f64>,
    /// Clusters whose `P H_g` are the same numbers (a balanced panel's units of one arm have
    /// the same demeaned regressors): per cluster its slot among those shared blocks, or
    /// [`NOT_SHARED`]; per slot, one cluster that holds it. A replicate's products with a
    /// shared block are made once per slot, not once per cluster (the same bits: the same
    /// products of the same numbers).
    shared: Vec<u32>,
    holders: Vec<usize>,
    /// `X'X` with the tested rows and columns set to zero (restricted model).
    restricted: Cholesky,
}

impl<'a> Wild<'a> {
    pub(crate) fn new(d: &'a Design, fit: &'a Fit, cols: &[usize]) -> Self {
        let k = d.k;
        let q = cols.len();
        let mut c = vec![0.0; d.clusters.len() * q * k];
        for (range, m) in d.clusters.iter().zip(c.chunks_exact_mut(q * k)) {
            for i in range.clone() {
                let r = d.row(i);
                for (p, &col) in cols.iter().enumerate() {
                    let px = dot(&fit.a[col * k..(col + 1) * k], r);
                    for (m, x) in m[p * k..(p + 1) * k].iter_mut().zip(r) {
                        *m += px * x;
                    }
                }
            }
        }
        let (shared, holders) = shared_blocks(&c, q * k);
        let mut xtx = fit.xtx.clone();
        for &col in cols {
            for j in 0..k {
                xtx[col * k + j] = 0.0;
                xtx[j * k + col] = 0.0;
            }
        }
        Wild {
            d,
            fit,
            cols: cols.to_vec(),
            c,
            shared,
            holders,
            restricted: Cholesky::new(&xtx, k),
        }
    }

    /// When every cluster shares its `P H_g` with others (a balanced panel): per cluster, the
    /// numbers whose weighted sums are all a replicate needs of each `δ = Σ_g v_g d_g` (one
    /// per `dgs`, `k` numbers a cluster each): its tested coefficients, then per shared slot
    /// each tested row of the slot's `P H` times `d_g` (`δ` is linear in the `d_g`, so
    /// `P H δ = Σ_g v_g P H d_g`). That is `q·(1 + slots)` numbers a cluster and `δ` instead
    /// of `k` (the event study's pre-trend test: 9 instead of 22). With those numbers, how
    /// many there are a cluster; `None` when a cluster has a block of its own.
    fn projected(&self, dgs: &[&[f64]]) -> Option<(Vec<f64>, usize)> {
        let (k, q) = (self.d.k, self.cols.len());
        if !self.all_shared() {
            return None;
        }
        let width = dgs.len() * q * (1 + self.holders.len());
        let mut out = Vec::with_capacity(self.shared.len() * width);
        for gi in 0..self.shared.len() {
            for dg in dgs {
                let d = &dg[gi * k..(gi + 1) * k];
                out.extend(self.cols.iter().map(|&c| d[c]));
            }
            for &h in &self.holders {
                let ch = &self.c[h * q * k..(h + 1) * q * k];
                for dg in dgs {
                    let d = &dg[gi * k..(gi + 1) * k];
                    out.extend((0..q).map(|p| dot(&ch[p * k..(p + 1) * k], d)));
                }
            }
        }
        Some((out, width))
    }

    /// Whether every cluster shares its block with others ([`Wild::projected`]).
    pub(crate) fn all_shared(&self) -> bool {
        !self.holders.is_empty() && !self.shared.contains(&NOT_SHARED)
    }

    /// The same bootstrap with every cluster's products made on its own (no shared block).
    #[cfg(test)]
    pub(crate) fn unshared(&self) -> Self {
        Wild {
            shared: vec![NOT_SHARED; self.shared.len()],
            holders: Vec::new(),
            ..self.clone()
        }
    }

    /// How many distinct `P H_g` blocks several clusters share.
    #[cfg(test)]
    pub(crate) fn shared_slots(&self) -> usize {
        self.holders.len()
    }

    /// Bootstrap p-value of `H0: β_cols = beta0` with the Wald statistic
    /// (for one coefficient, the symmetric t test): the share of replicates
    /// whose statistic is at least the observed one. `None` when the
    /// observed statistic is undefined.
    pub(crate) fn p_value(
        &self,
        beta0: &[f64],
        weights: WildWeights,
        replicates: usize,
        seed: u64,
    ) -> Option<f64> {
        let (d, fit, k, q) = (self.d, self.fit, self.d.k, self.cols.len());
        let observed = fit.wald(&self.cols, beta0)?;
        // Restricted residuals: y − Σ β0_s x_s regressed on the other columns.
        let mut y0 = d.y.clone();
        for (i, yi) in y0.iter_mut().enumerate() {
            let r = d.row(i);
            for (&c, b) in self.cols.iter().zip(beta0) {
                *yi -= b * r[c];
            }
        }
        let u = self.restricted_resid(&y0);
        // d_g = (X'X)⁻¹ X_g' ũ_g
        let dg = self.cluster_d(&u);
        let projected = self.projected(&[&dg]);
        let sums = projected.as_ref().map(|(p, width)| (&p[..], *width));
        let g = d.clusters.len();
        let cfac = fit.cfac;
        let drawn = Draws::new(weights, seed, g, replicates);
        // Replicates in lanes ([`Lanes`]): each cluster's d_g and c_g are
        // read once per block, every lane's sums those of its replicate.
        let hits: usize = (0..Lanes::blocks(replicates))
            .into_par_iter()
            .map_init(
                || {
                    (
                        Lanes::new(g),
                        vec![[0.0; LANES]; k],
                        vec![[0.0; LANES]; q * q],
                        vec![[0.0; LANES]; q],
                        vec![[0.0; LANES]; self.holders.len() * q],
                        vec![[0.0; LANES]; sums.map_or(0, |s| s.1)],
                    )
                },
                |(lanes, delta, meat, s, by_slot, acc), blk| {
                    let bufs = (
                        lanes,
                        &mut delta[..],
                        &mut meat[..],
                        &mut s[..],
                        &mut by_slot[..],
                        &mut acc[..],
                    );
                    let nb = crate::wide::wide(
                        #[inline(always)]
                        || value_block(self, &drawn, (&dg, sums), bufs, blk),
                    );
                    (0..nb)
                        .filter(|&l| {
                            let meat: Vec<f64> = meat.iter().map(|m| m[l] * cfac).collect();
                            let diff: Vec<f64> = self.cols.iter().map(|&c| delta[c][l]).collect();
                            let stat = if q == 1 {
                                diff[0] * diff[0] / meat[0]
                            } else {
                                quad_form_inv(&meat, &diff).unwrap_or(f64::NAN)
                            };
                            stat >= observed
                        })
                        .count()
                },
            )
            .sum();
        Some(hits as f64 / replicates as f64)
    }
}

/// The bootstrap p-value of one coefficient as a function of its null value
/// β0, from one pass over the replicates ([`Wild::p_curve`]). With
/// y0 = y − β0·x (x the tested column), the restricted residuals, each
/// cluster's d_g, each replicate's δ and score s_g are affine in β0, so a
/// replicate's statistic is (δ_y − β0 δ_x)² / (cfac·(S_yy − 2β0 S_xy + β0² S_xx)):
/// five numbers a replicate, and every p-value of the interval's search
/// costs one pass over them instead of a new bootstrap (Roodman et al.
/// 2019, "Fast and wild", § 5). Equal to [`Wild::p_value`] up to rounding.
#[derive(Debug, Clone)]
pub(crate) struct PCurve<'a> {
    fit: &'a Fit,
    col: usize,
    /// Per replicate: δ_y, δ_x, S_yy, S_xy, S_xx.
    draws: Vec<[f64; 5]>,
}

impl PCurve<'_> {
    /// Per replicate: δ_y, δ_x, S_yy, S_xy, S_xx.
    #[cfg(test)]
    pub(crate) fn draws(&self) -> &[[f64; 5]] {
        &self.draws
    }

    /// The p-value of `H0: β = beta0` (as [`Wild::p_value`]).
    pub(crate) fn p_value(&self, beta0: f64) -> Option<f64> {
        let observed = self.fit.wald(&[self.col], &[beta0])?;
        let hits = self
            .draws
            .iter()
            .filter(|[dy, dx, syy, sxy, sxx]| {
                let diff = dy - beta0 * dx;
                let meat = (syy - 2.0 * beta0 * sxy + beta0 * beta0 * sxx) * self.fit.cfac;
                diff * diff / meat >= observed
            })
            .count();
        Some(hits as f64 / self.draws.len() as f64)
    }
}

impl<'a> Wild<'a> {
    /// Restricted residuals of `v`: v − X γ, γ from the restricted model.
    fn restricted_resid(&self, v: &[f64]) -> Vec<f64> {
        let d = self.d;
        let gamma = self.restricted.solve(&d.xtv(v));
        (0..d.n).map(|i| v[i] - dot(d.row(i), &gamma)).collect()
    }

    /// Per cluster (one after the other, `k` each): (X'X)⁻¹ X_g' u_g.
    fn cluster_d(&self, u: &[f64]) -> Vec<f64> {
        let (d, fit, k) = (self.d, self.fit, self.d.k);
        let mut out = Vec::with_capacity(d.clusters.len() * k);
        let mut a = vec![0.0; k];
        for range in &d.clusters {
            a.fill(0.0);
            for i in range.clone() {
                for (av, x) in a.iter_mut().zip(d.row(i)) {
                    *av += x * u[i];
                }
            }
            out.extend((0..k).map(|p| dot(&fit.a[p * k..(p + 1) * k], &a)));
        }
        out
    }

    /// The p-value of the one tested coefficient as a function of its null
    /// value ([`PCurve`]); `None` unless exactly one coefficient is tested.
    pub(crate) fn p_curve(
        &self,
        weights: WildWeights,
        replicates: usize,
        seed: u64,
    ) -> Option<PCurve<'a>> {
        let [col] = self.cols[..] else { return None };
        let (d, k) = (self.d, self.d.k);
        let x: Vec<f64> = (0..d.n).map(|i| d.row(i)[col]).collect();
        let (uy, ux) = (self.restricted_resid(&d.y), self.restricted_resid(&x));
        let (dgy, dgx) = (self.cluster_d(&uy), self.cluster_d(&ux));
        let projected = self.projected(&[&dgy, &dgx]);
        let g = d.clusters.len();
        let drawn = Draws::new(weights, seed, g, replicates);
        // Replicates in lanes, as in `p_value` (one tested column: c_g is `k` long).
        let draws: Vec<[f64; 5]> = (0..Lanes::blocks(replicates))
            .into_par_iter()
            .map_init(
                || {
                    (
                        Lanes::new(g),
                        vec![[0.0; LANES]; k],
                        vec![[0.0; LANES]; k],
                        vec![[[0.0; LANES]; 2]; self.holders.len()],
                        vec![[0.0; LANES]; projected.as_ref().map_or(0, |p| p.1)],
                    )
                },
                |(lanes, ey, ex, by_slot, acc), blk| {
                    let (nb, sums) = crate::wide::wide(
                        #[inline(always)]
                        || {
                            curve_block(
                                self,
                                &drawn,
                                (&dgy, &dgx, projected.as_ref().map(|(p, w)| (&p[..], *w))),
                                (lanes, ey, ex, by_slot, acc),
                                blk,
                            )
                        },
                    );
                    (0..nb)
                        .map(|l| [ey[col][l], ex[col][l], sums[0][l], sums[1][l], sums[2][l]])
                        .collect::<Vec<[f64; 5]>>()
                },
            )
            .flatten_iter()
            .collect();
        Some(PCurve {
            fit: self.fit,
            col,
            draws,
        })
    }
}

/// A block's buffers: its lanes of weights, per lane the sums of `k` coefficients and the
/// `q` or `q²` numbers of its statistic, and per shared slot of `P H_g` its `q` products
/// with the lanes' δ.
type BlockBufs<'a> = (
    &'a mut Lanes,
    &'a mut [[f64; LANES]],
    &'a mut [[f64; LANES]],
    &'a mut [[f64; LANES]],
    &'a mut [[f64; LANES]],
    &'a mut [[f64; LANES]],
);

/// The per-cluster numbers a replicate sums when every cluster shares its block, and how many
/// there are a cluster ([`Wild::projected`]); `None` otherwise.
type Projected<'a> = Option<(&'a [f64], usize)>;

/// Marks a cluster whose `P H_g` no other cluster has ([`Wild`]).
const NOT_SHARED: u32 = u32::MAX;

/// Per block of `len` numbers of `c`: its slot among the blocks that two or more blocks are
/// (bit for bit), or [`NOT_SHARED`]; and per slot, the first block that holds it.
fn shared_blocks(c: &[f64], len: usize) -> (Vec<u32>, Vec<usize>) {
    let blocks = c.len().checked_div(len).unwrap_or(0);
    let mut first: polars::prelude::PlHashMap<Vec<u64>, usize> =
        polars::prelude::PlHashMap::default();
    let mut of = Vec::with_capacity(blocks);
    for (g, block) in c.chunks_exact(len.max(1)).take(blocks).enumerate() {
        let bits: Vec<u64> = block.iter().map(|x| x.to_bits()).collect();
        of.push(*first.entry(bits).or_insert(g));
    }
    let mut members = vec![0usize; blocks];
    for &f in &of {
        members[f] += 1;
    }
    let mut slot = vec![NOT_SHARED; blocks];
    let mut holders = Vec::new();
    for (g, &m) in members.iter().enumerate() {
        if m > 1 {
            slot[g] = u32::try_from(holders.len()).expect("fewer than 2³² clusters");
            holders.push(g);
        }
    }
    let shared = of.iter().map(|&f| slot[f]).collect();
    (shared, holders)
}

/// One block of lanes of [`Wild::p_value`] (compiled wide, [`crate::wide`]): the block's
/// weights, each lane's δ = Σ_g v_g d_g (`delta`) and the meat of its statistic
/// (`meat`, q × q, from each cluster's scores `s`). Returns how many replicates the block
/// holds.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn value_block(
    wild: &Wild<'_>,
    drawn: &Draws,
    (dg, projected): (&[f64], Projected<'_>),
    (lanes, delta, meat, s, by_slot, acc): BlockBufs<'_>,
    blk: usize,
) -> usize {
    let (k, q, g) = (wild.d.k, wild.cols.len(), wild.d.clusters.len());
    let nb = drawn.fill(lanes, blk);
    if let Some((sums, width)) = projected {
        // Every cluster shares its block ([`Wild::projected`]): the tested coefficients of
        // δ, then each slot's products with δ, as sums over the clusters.
        lanes.combine(sums, width, acc);
        for (p, &c) in wild.cols.iter().enumerate() {
            delta[c] = acc[p];
        }
        by_slot.copy_from_slice(&acc[q..]);
    } else {
        lanes.combine(dg, k, delta);
        for (&gi, out) in wild.holders.iter().zip(by_slot.chunks_exact_mut(q.max(1))) {
            let cg = &wild.c[gi * q * k..(gi + 1) * q * k];
            for (p, o) in out.iter_mut().enumerate() {
                *o = dot_lanes(&cg[p * k..(p + 1) * k], delta);
            }
        }
    }
    for m in meat.iter_mut() {
        *m = [0.0; LANES];
    }
    for gi in 0..g {
        let vg = &lanes.v[gi];
        let cg = &wild.c[gi * q * k..(gi + 1) * q * k];
        let slot = wild.shared[gi];
        for (p, &col) in wild.cols.iter().enumerate() {
            let c = if slot == NOT_SHARED {
                dot_lanes(&cg[p * k..(p + 1) * k], delta)
            } else {
                by_slot[slot as usize * q + p]
            };
            let a = dg[gi * k + col];
            for l in 0..LANES {
                s[p][l] = vg[l] * a - c[l];
            }
        }
        // One triangle (s_p·s_r and s_r·s_p are the same product), mirrored below.
        for p in 0..q {
            for r in p..q {
                let m = &mut meat[p * q + r];
                for l in 0..LANES {
                    m[l] += s[p][l] * s[r][l];
                }
            }
        }
    }
    for p in 0..q {
        for r in p + 1..q {
            meat[r * q + p] = meat[p * q + r];
        }
    }
    nb
}

/// A curve block's buffers: its lanes of weights, each lane's δ of y and of x, and per shared
/// slot of `P H_g` its products with both.
type CurveBufs<'a> = (
    &'a mut Lanes,
    &'a mut [[f64; LANES]],
    &'a mut [[f64; LANES]],
    &'a mut [[[f64; LANES]; 2]],
    &'a mut [[f64; LANES]],
);

/// One block of lanes of [`Wild::p_curve`] (compiled wide, [`crate::wide`]): each lane's
/// δ of y and of x (`ey`, `ex`), and its S_yy, S_xy, S_xx. Returns how many replicates the
/// block holds, and the three sums per lane.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn curve_block(
    wild: &Wild<'_>,
    drawn: &Draws,
    (dgy, dgx, projected): (&[f64], &[f64], Projected<'_>),
    (lanes, ey, ex, by_slot, acc): CurveBufs<'_>,
    blk: usize,
) -> (usize, [[f64; LANES]; 3]) {
    let (k, g, col) = (wild.d.k, wild.d.clusters.len(), wild.cols[0]);
    let nb = drawn.fill(lanes, blk);
    if let Some((sums, width)) = projected {
        // Every cluster shares its block ([`Wild::projected`]): δ_y and δ_x of the tested
        // column, then each slot's products with δ_y and δ_x, as sums over the clusters.
        lanes.combine(sums, width, acc);
        ey[col] = acc[0];
        ex[col] = acc[1];
        for (s, out) in by_slot.iter_mut().enumerate() {
            *out = [acc[2 + 2 * s], acc[3 + 2 * s]];
        }
    } else {
        lanes.combine(dgy, k, ey);
        lanes.combine(dgx, k, ex);
        for (&gi, out) in wild.holders.iter().zip(by_slot.iter_mut()) {
            let cg = &wild.c[gi * k..(gi + 1) * k];
            *out = [dot_lanes(cg, ey), dot_lanes(cg, ex)];
        }
    }
    let mut sums = [[0.0f64; LANES]; 3];
    for gi in 0..g {
        let vg = &lanes.v[gi];
        let cg = &wild.c[gi * k..(gi + 1) * k];
        let (cy, cx) = match wild.shared[gi] {
            NOT_SHARED => (dot_lanes(cg, ey), dot_lanes(cg, ex)),
            slot => {
                let [cy, cx] = by_slot[slot as usize];
                (cy, cx)
            }
        };
        let (gy, gx) = (dgy[gi * k + col], dgx[gi * k + col]);
        for l in 0..LANES {
            let sy = vg[l] * gy - cy[l];
            let sx = vg[l] * gx - cx[l];
            sums[0][l] += sy * sy;
            sums[1][l] += sy * sx;
            sums[2][l] += sx * sx;
        }
    }
    (nb, sums)
}

/// The state of replicate `b`'s stream of weights, seeded from `(seed, b)`.
fn stream(seed: u64, b: u64) -> u64 {
    let mut state = seed ^ 0x5135_u64.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut key = splitmix(&mut state) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    splitmix(&mut key)
}

/// Replicate `b`'s Rademacher draws, 1 for +1 and 0 for −1: one 64-bit
/// step of its stream per 64 clusters.
fn rademacher_bits(seed: u64, b: u64, out: &mut [u8]) {
    let mut state = stream(seed, b);
    for chunk in out.chunks_mut(64) {
        let bits = splitmix(&mut state);
        for (i, x) in chunk.iter_mut().enumerate() {
            *x = u8::from((bits >> i) & 1 == 1);
        }
    }
}

/// The weights of replicate `b`: a stream of its own, seeded from
/// `(seed, b)`, so the draws do not depend on the number of threads (the
/// bootstraps draw them a block of lanes at a time, [`Draws`]).
#[cfg(test)]
pub(crate) fn draw_weights(kind: WildWeights, seed: u64, b: u64, v: &mut [f64]) {
    match kind {
        WildWeights::Rademacher => {
            let mut bits = vec![0u8; v.len()];
            rademacher_bits(seed, b, &mut bits);
            for (x, bit) in v.iter_mut().zip(bits) {
                *x = if bit == 1 { 1.0 } else { -1.0 };
            }
        }
        WildWeights::Webb => {
            let mut state = stream(seed, b);
            for x in v.iter_mut() {
                *x = webb(&mut state);
            }
        }
    }
}

/// The next of Webb's six weights from a replicate's stream.
#[inline(always)]
fn webb(state: &mut u64) -> f64 {
    const W: [f64; 6] = [
        -1.224_744_871_391_589,
        -1.0,
        -std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::FRAC_1_SQRT_2,
        1.0,
        1.224_744_871_391_589,
    ];
    let r = splitmix(state) >> 32;
    W[((r * 6) >> 32) as usize]
}

/// The replicates' weights over `g` clusters: Rademacher's two points drawn
/// once per process and shared ([`crate::lanes::shared_draws`]: the DiD's
/// interval and the pre-trend test draw the same), Webb's six drawn block by
/// block, the block's streams side by side.
struct Draws {
    seed: u64,
    replicates: usize,
    /// Rademacher's draws; `None` for Webb's.
    two: Option<std::sync::Arc<TwoPoint>>,
}

impl Draws {
    fn new(kind: WildWeights, seed: u64, g: usize, replicates: usize) -> Self {
        let two = (kind == WildWeights::Rademacher).then(|| {
            crate::lanes::shared_draws((b'R', seed, g, replicates), || {
                TwoPoint::new(g, replicates, [-1.0, 1.0], |b, out| {
                    rademacher_bits(seed, b, out);
                })
            })
        });
        Draws {
            seed,
            replicates,
            two,
        }
    }

    /// Block `blk`'s weights into `lanes`; how many replicates it holds.
    #[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
    #[inline(always)]
    fn fill(&self, lanes: &mut Lanes, blk: usize) -> usize {
        match &self.two {
            Some(d) => lanes.fill(d, blk),
            None => lanes.draw_streams(blk, self.replicates, |b| stream(self.seed, b), webb),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Design, Fit, NOT_SHARED, Row, WildWeights, draw_weights, shared_blocks};

    #[test]
    fn simple_did_by_hand() {
        // 2 units × 2 periods, unit 1 treated in period 1: β = (y11 − y10) − (y01 − y00).
        let rows = [
            Row {
                unit: 0,
                period: 0,
                y: 10.0,
                w: 1.0,
            },
            Row {
                unit: 0,
                period: 1,
                y: 12.0,
                w: 1.0,
            },
            Row {
                unit: 1,
                period: 0,
                y: 20.0,
                w: 1.0,
            },
            Row {
                unit: 1,
                period: 1,
                y: 27.0,
                w: 1.0,
            },
        ];
        let d = Design::new(&rows, 2, &[vec![0.0, 0.0, 0.0, 1.0]]);
        // N = 4 = rank ⇒ no residual degrees of freedom.
        assert!(Fit::new(&d).is_none());
        let d3 = {
            let mut r = rows.to_vec();
            r.push(Row {
                unit: 2,
                period: 0,
                y: 5.0,
                w: 1.0,
            });
            r.push(Row {
                unit: 2,
                period: 1,
                y: 9.0,
                w: 1.0,
            });
            Design::new(&r, 2, &[vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
        };
        let f = Fit::new(&d3).unwrap();
        // Controls change by 2 and 4 ⇒ β = 7 − 3 = 4.
        assert!((f.beta[0] - 4.0).abs() < 1e-12, "{}", f.beta[0]);
        // rank = 3 units + 1 period dummy + D = 5, N = 6 ⇒ (N−1)/(N−K) = 5.
        assert!((f.cfac - 1.5 * 5.0).abs() < 1e-12);
    }

    /// Blocks equal bit for bit share a slot (the first holder named); a block no other
    /// equals has none; `-0.0` and `0.0` are different bits, so different blocks.
    #[test]
    fn shared_blocks_are_the_blocks_equal_bit_for_bit() {
        let c = [
            1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 0.0, 5.0, 3.0, 4.0, -0.0, 5.0, 1.0, 2.0,
        ];
        let (shared, holders) = shared_blocks(&c, 2);
        let n = NOT_SHARED;
        assert_eq!(shared, [0, 1, 0, n, 1, n, 0]);
        assert_eq!(holders, [0, 1]);
    }

    #[test]
    fn rademacher_weights_are_balanced_and_reproducible() {
        let mut a = vec![0.0; 100];
        let mut b = vec![0.0; 100];
        draw_weights(WildWeights::Rademacher, 7, 3, &mut a);
        draw_weights(WildWeights::Rademacher, 7, 3, &mut b);
        assert_eq!(a, b);
        draw_weights(WildWeights::Rademacher, 7, 4, &mut b);
        assert_ne!(a, b);
        let mut sum = 0.0;
        let mut sq = 0.0;
        let mut v = vec![0.0; 6];
        for r in 0..20_000 {
            draw_weights(WildWeights::Webb, 1, r, &mut v);
            sum += v.iter().sum::<f64>();
            sq += v.iter().map(|x| x * x).sum::<f64>();
        }
        // Webb: mean 0, variance 1 ⇒ over 120,000 draws |mean| < 4·(1/√120000).
        let m = sum / 120_000.0;
        assert!(m.abs() < 4.0 / 120_000f64.sqrt(), "{m}");
        assert!((sq / 120_000.0 - 1.0).abs() < 0.02);
    }
}
