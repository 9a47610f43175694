//! The design (strata, PSUs, fpc), domain totals and Taylor linearization.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use sipas_core::instrument::GroupKind;
use sipas_core::schema;

use super::modes::ModeDifference;
use super::output::{CiMethod, DomainEstimates, DomainType, EstimateRow, IndicatorKind};
use super::spec::{DesignSpec, LonelyPsu, Strata, VarianceMethod};
use super::{replicate, stats};
use crate::estimate::AggregateOptions;
use crate::responses::{DesignColumn, Responses};
use crate::{Error, Result};

/// Rows per parallel chunk (chunks end on PSU boundaries; fixed by the data,
/// not by the thread count, so sums are combined in the same order).
const CHUNK_ROWS: usize = 1 << 16;

/// One indicator: a linear combination (coefficients already × 100) of item shares.
#[derive(Debug, Clone)]
pub(super) struct Indicator {
    pub(super) id: String,
    pub(super) kind: IndicatorKind,
    pub(super) coefs: Vec<(usize, f64)>,
}

/// The per-instrument constants.
#[derive(Debug)]
pub(super) struct Model {
    pub(super) j: usize,
    /// By answer state (0 missing, 1 answered not satisfied, 2 satisfied,
    /// see [`Responses::row_states`]): whether answered.
    pub(super) answered: Vec<f64>,
    /// By answer state: whether satisfied.
    pub(super) satisfied: Vec<f64>,
    pub(super) ind: Vec<Indicator>,
    /// Every (indicator, coefficient) pair in order: its item.
    pub(super) terms: Vec<usize>,
    /// Indicator i owns `terms[term_start[i]..term_start[i + 1]]`.
    pub(super) term_start: Vec<usize>,
}

impl Model {
    fn new(responses: &Responses) -> Self {
        let inst = responses.instrument();
        let j = inst.items().len();
        let sparse = |c: &[f64]| -> Vec<(usize, f64)> {
            c.iter()
                .enumerate()
                .filter(|(_, c)| **c != 0.0)
                .map(|(j, c)| (j, 100.0 * c))
                .collect()
        };
        let mut ind = vec![Indicator {
            id: inst.root().to_string(),
            kind: IndicatorKind::Index,
            coefs: sparse(inst.coefficients(inst.root()).expect("root coefficients")),
        }];
        for (want, kind) in [
            (GroupKind::Part, IndicatorKind::Part),
            (GroupKind::Element, IndicatorKind::Element),
        ] {
            for g in inst.reported_groups() {
                if g.kind == want {
                    ind.push(Indicator {
                        id: g.id.clone(),
                        kind,
                        coefs: sparse(inst.coefficients(&g.id).expect("group coefficients")),
                    });
                }
            }
        }
        for (jj, it) in inst.items().iter().enumerate() {
            ind.push(Indicator {
                id: it.id.clone(),
                kind: IndicatorKind::Item,
                coefs: vec![(jj, 100.0)],
            });
        }
        let mut terms = Vec::new();
        let mut term_start = vec![0];
        for i in &ind {
            terms.extend(i.coefs.iter().map(|&(jj, _)| jj));
            term_start.push(terms.len());
        }
        Model {
            j,
            answered: vec![0.0, 1.0, 1.0],
            satisfied: vec![0.0, 0.0, 1.0],
            ind,
            terms,
            term_start,
        }
    }

    /// Value of indicator `i` from item totals into `out[0]`; `NaN` when undefined.
    pub(super) fn values_of(&self, i: usize, x: &[f64], y: &[f64], out: &mut [f64; 1]) {
        let mut v = 0.0;
        for &(j, c) in &self.ind[i].coefs {
            if x[j] <= 0.0 {
                v = f64::NAN;
                break;
            }
            v += c * (y[j] / x[j]);
        }
        out[0] = v;
    }

    /// Value of every indicator from item totals; `NaN` when undefined.
    pub(super) fn values(&self, x: &[f64], y: &[f64], out: &mut [f64]) {
        for (o, ind) in out.iter_mut().zip(&self.ind) {
            let mut v = 0.0;
            for &(j, c) in &ind.coefs {
                if x[j] <= 0.0 {
                    v = f64::NAN;
                    break;
                }
                v += c * (y[j] / x[j]);
            }
            *o = v;
        }
    }
}

/// A domain: its type, name and period index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DomainKey {
    pub(super) dtype: DomainType,
    pub(super) name: String,
    pub(super) period: usize,
}

/// The sample under a design.
pub(super) struct Design<'a> {
    pub(super) responses: &'a Responses,
    pub(super) weights: Cow<'a, [f64]>,
    /// Used rows sorted by (stratum, PSU, row).
    pub(super) order: Vec<u32>,
    /// PSU p holds `order[psu_bounds[p]..psu_bounds[p + 1]]`; `None` when
    /// every row is its own PSU (PSU p holds `order[p]`).
    pub(super) psu_bounds: Option<Vec<u32>>,
    /// Stratum h holds PSUs `stratum_psus[h]..stratum_psus[h + 1]`.
    pub(super) stratum_psus: Vec<usize>,
    /// 1 − f_h.
    pub(super) fcorr: Vec<f64>,
    pub(super) domains: Vec<DomainKey>,
    /// Per cell (unit × n_periods + period): its unit, group, district and
    /// kind domains; in the mode pass, per channel × n_periods + period: its
    /// mode domain and three times a discarded filler domain.
    pub(super) cell_domains: Vec<[u32; 4]>,
    /// The mode pass: domains are survey modes × periods.
    pub(super) mode_pass: bool,
    pub(super) n_periods: usize,
    /// Chunks of PSUs (`chunks[c]..chunks[c + 1]`).
    pub(super) chunks: Vec<usize>,
}

impl Design<'_> {
    pub(super) fn n_strata(&self) -> usize {
        self.stratum_psus.len() - 1
    }

    pub(super) fn npsu(&self, h: usize) -> usize {
        self.stratum_psus[h + 1] - self.stratum_psus[h]
    }

    pub(super) fn row_domains(&self, r: usize) -> [u32; 4] {
        let u = if self.mode_pass {
            self.responses.channel_indices()[r] as usize
        } else {
            self.responses.unit_indices()[r] as usize
        };
        let p = self.responses.period_indices()[r] as usize;
        self.cell_domains[u * self.n_periods + p]
    }

    pub(super) fn psu_rows(&self, p: usize) -> &[u32] {
        match &self.psu_bounds {
            Some(b) => &self.order[b[p] as usize..b[p + 1] as usize],
            None => &self.order[p..=p],
        }
    }

    /// Number of PSUs.
    pub(super) fn n_psu(&self) -> usize {
        self.stratum_psus[self.n_strata()]
    }

    /// The PSUs of chunk `c`, each with its stratum.
    pub(super) fn chunk_psus(&self, c: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
        let (first, end) = (self.chunks[c], self.chunks[c + 1]);
        let mut h = self.stratum_psus.partition_point(|&s| s <= first) - 1;
        (first..end).map(move |p| {
            while self.stratum_psus[h + 1] <= p {
                h += 1;
            }
            (p, h as u32)
        })
    }
}

fn data_err(responses: &Responses, message: String) -> Error {
    Error::Data {
        origin: responses.origin().to_string(),
        message,
    }
}

/// Per-row labels of a design column (text or number).
fn column_labels<'a>(
    responses: &'a Responses,
    name: &str,
) -> Result<(Vec<String>, std::borrow::Cow<'a, [u32]>)> {
    match responses.design_column(name) {
        Some(DesignColumn::Text { values, idx }) => Ok((values.clone(), idx.as_slice().into())),
        Some(DesignColumn::Number(v)) => {
            let mut keys: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            keys.sort_unstable();
            keys.dedup();
            let idx = v
                .iter()
                .map(|x| keys.binary_search(&x.to_bits()).expect("present") as u32)
                .collect::<Vec<_>>();
            let labels = keys
                .iter()
                .map(|b| f64::from_bits(*b).to_string())
                .collect();
            Ok((labels, idx.into()))
        }
        None => Err(Error::MissingColumn {
            origin: responses.origin().to_string(),
            column: name.to_string(),
        }),
    }
}

fn prepare<'a>(
    responses: &'a Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
    mode_pass: bool,
) -> Result<Design<'a>> {
    let units = responses.units();
    let periods = responses.periods();
    let n_periods = periods.len();
    let meta = responses.unit_meta(&opts.units)?;
    let used = opts.channels.used(responses, &opts.channel)?;
    let (ui, pi, ci) = (
        responses.unit_indices(),
        responses.period_indices(),
        responses.channel_indices(),
    );

    // Weights.
    let weights: Cow<'a, [f64]> = if spec.weights == sipas_core::schema::WEIGHT {
        responses.weights().into()
    } else {
        match responses
            .design_column(&spec.weights)
            .map(DesignColumn::to_numbers)
        {
            Some(Ok(v)) => {
                if let Some(i) = v.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
                    return Err(Error::Value {
                        origin: responses.origin().to_string(),
                        row: i + 1,
                        column: spec.weights.clone(),
                        message: format!("weight {} is not finite and > 0", v[i]),
                    });
                }
                v.into()
            }
            Some(Err((row, value))) => {
                return Err(Error::Value {
                    origin: responses.origin().to_string(),
                    row,
                    column: spec.weights.clone(),
                    message: format!("weight `{value}` is not a number"),
                });
            }
            None => {
                return Err(Error::MissingColumn {
                    origin: responses.origin().to_string(),
                    column: spec.weights.clone(),
                });
            }
        }
    };

    // Strata.
    let district_ix: BTreeMap<&str, u32> = meta
        .iter()
        .map(|m| m.district_code.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, i as u32))
        .collect();
    let kind_ix: BTreeMap<&str, u32> = meta
        .iter()
        .map(|m| m.kind.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, i as u32))
        .collect();
    let strata_col = match &spec.strata {
        Strata::Column(c) => Some(column_labels(responses, c)?),
        _ => None,
    };
    // Across a merge the default strata are the old units × period: the
    // units were sampled separately (clean writes `old_unit_code` with a
    // crosswalk; read it when present).
    let old_units = match &spec.strata {
        Strata::UnitPeriod if responses.design_column(schema::OLD_UNIT_CODE).is_some() => {
            Some(column_labels(responses, schema::OLD_UNIT_CODE)?)
        }
        _ => None,
    };
    // Per unit: its stratum when strata are districts or kinds.
    let unit_stratum: Vec<u32> = meta
        .iter()
        .map(|m| match &spec.strata {
            Strata::District => district_ix[m.district_code.as_str()],
            Strata::Kind => kind_ix[m.kind.as_str()],
            _ => 0,
        })
        .collect();
    let n_keys = match &spec.strata {
        Strata::UnitPeriod => old_units.as_ref().map_or(units.len(), |c| c.0.len()) * n_periods,
        Strata::Unit => units.len(),
        Strata::District => district_ix.len(),
        Strata::Kind => kind_ix.len(),
        Strata::None => 1,
        Strata::Column(_) => strata_col.as_ref().map_or(0, |c| c.0.len()),
    };
    let stratum_of = |r: usize| -> usize {
        let u = ui[r] as usize;
        match &spec.strata {
            Strata::UnitPeriod => {
                old_units.as_ref().map_or(u, |c| c.1[r] as usize) * n_periods + pi[r] as usize
            }
            Strata::Unit => u,
            Strata::District | Strata::Kind => unit_stratum[u] as usize,
            Strata::None => 0,
            Strata::Column(_) => strata_col.as_ref().expect("read above").1[r] as usize,
        }
    };
    let cluster_col = match &spec.cluster {
        Some(c) => Some(column_labels(responses, c)?.1),
        None => None,
    };

    // Used rows sorted by (stratum, PSU, row): a counting sort by stratum
    // (stable: rows stay in order), then each stratum by (PSU, row) when
    // PSUs are clusters (otherwise every row is its own PSU). Strata and
    // PSUs are renumbered densely.
    let is_used = |r: usize| used[ci[r] as usize];
    let mut start = vec![0usize; n_keys + 1];
    for r in (0..responses.len()).filter(|&r| is_used(r)) {
        start[stratum_of(r) + 1] += 1;
    }
    for h in 1..start.len() {
        start[h] += start[h - 1];
    }
    let n_used = start[n_keys];
    if n_used == 0 {
        return Err(data_err(
            responses,
            format!(
                "no rows of channel `{}` (channels seen: {})",
                opts.channel,
                responses.channels().join(", ")
            ),
        ));
    }
    let mut order = vec![0u32; n_used];
    let mut next = start.clone();
    for r in (0..responses.len()).filter(|&r| is_used(r)) {
        let h = stratum_of(r);
        order[next[h]] = u32::try_from(r).expect("fewer than 2^32 rows");
        next[h] += 1;
    }
    drop(next);
    if let Some(c) = &cluster_col {
        let mut segments = Vec::with_capacity(n_keys);
        let mut rest = order.as_mut_slice();
        for h in 0..n_keys {
            let (seg, tail) = rest.split_at_mut(start[h + 1] - start[h]);
            segments.push(seg);
            rest = tail;
        }
        segments
            .into_par_iter()
            .for_each(|seg| seg.sort_unstable_by_key(|&r| (c[r as usize], r)));
    }
    let mut psu_bounds: Option<Vec<u32>> = cluster_col.as_ref().map(|_| vec![0]);
    let mut stratum_psus = vec![0];
    let mut stratum_first_row = Vec::new();
    for h in 0..n_keys {
        let seg = &order[start[h]..start[h + 1]];
        let Some(&first) = seg.first() else {
            continue;
        };
        stratum_first_row.push(first as usize);
        if let (Some(b), Some(c)) = (&mut psu_bounds, &cluster_col) {
            for i in 1..seg.len() {
                if c[seg[i] as usize] != c[seg[i - 1] as usize] {
                    b.push((start[h] + i) as u32);
                }
            }
            b.push(start[h + 1] as u32);
        }
        stratum_psus.push(psu_bounds.as_ref().map_or(start[h + 1], |b| b.len() - 1));
    }
    drop(start);
    let n_strata = stratum_psus.len() - 1;
    let row_pos = |p: usize| psu_bounds.as_ref().map_or(p, |b| b[p] as usize);

    // Finite population correction per stratum.
    let fcorr: Vec<f64> = match &spec.fpc {
        None => vec![1.0; n_strata],
        Some(name) => {
            let v = match responses.design_column(name).map(DesignColumn::to_numbers) {
                Some(Ok(v)) => v,
                Some(Err((row, value))) => {
                    return Err(Error::Value {
                        origin: responses.origin().to_string(),
                        row,
                        column: name.clone(),
                        message: format!("fpc `{value}` is not a number"),
                    });
                }
                None => {
                    return Err(Error::MissingColumn {
                        origin: responses.origin().to_string(),
                        column: name.clone(),
                    });
                }
            };
            (0..n_strata)
                .map(|h| {
                    let rows = &order[row_pos(stratum_psus[h])..row_pos(stratum_psus[h + 1])];
                    let first = v[stratum_first_row[h]];
                    if let Some(&r) = rows.iter().find(|&&r| v[r as usize] != first) {
                        return Err(Error::Value {
                            origin: responses.origin().to_string(),
                            row: r as usize + 1,
                            column: name.clone(),
                            message: format!(
                                "fpc {} differs from {first} elsewhere in its stratum",
                                v[r as usize]
                            ),
                        });
                    }
                    let n = (stratum_psus[h + 1] - stratum_psus[h]) as f64;
                    if first.is_nan() || first <= 0.0 || (first > 1.0 && first < n) {
                        return Err(Error::Value {
                            origin: responses.origin().to_string(),
                            row: stratum_first_row[h] + 1,
                            column: name.clone(),
                            message: format!(
                                "fpc {first} is neither a fraction in (0, 1] nor a population ≥ the {n} sampled PSUs"
                            ),
                        });
                    }
                    Ok(if first <= 1.0 { 1.0 - first } else { (first - n) / first })
                })
                .collect::<Result<_>>()?
        }
    };

    if spec.lonely_psu == LonelyPsu::Fail
        && let Some(h) = (0..n_strata).find(|&h| stratum_psus[h + 1] - stratum_psus[h] == 1)
    {
        let r = stratum_first_row[h];
        return Err(data_err(
            responses,
            format!(
                "the stratum of row {} (unit {}, period {}) has only one PSU (lonely_psu = \"fail\")",
                r + 1,
                units[ui[r] as usize],
                periods[pi[r] as usize]
            ),
        ));
    }

    // Domains.
    let mut present = vec![false; units.len() * n_periods];
    for &r in &order {
        present[ui[r as usize] as usize * n_periods + pi[r as usize] as usize] = true;
    }
    let cell_keys = |c: usize| -> [DomainKey; 4] {
        let (u, p) = (c / n_periods, c % n_periods);
        let m = meta[u];
        let arm = if opts.pilots.contains(&m.code) {
            "pilot"
        } else {
            "baseline"
        };
        [
            (DomainType::Unit, m.code.clone()),
            (DomainType::Group, arm.to_string()),
            (DomainType::District, m.district_name.clone()),
            (DomainType::Kind, m.kind.as_str().to_string()),
        ]
        .map(|(dtype, name)| DomainKey {
            dtype,
            name,
            period: p,
        })
    };
    let mut ids: BTreeMap<DomainKey, u32> = BTreeMap::new();
    for c in (0..present.len()).filter(|&c| present[c]) {
        for k in cell_keys(c) {
            ids.insert(k, 0);
        }
    }
    let domains: Vec<DomainKey> = ids.keys().cloned().collect();
    for (i, v) in ids.values_mut().enumerate() {
        *v = i as u32;
    }
    let cell_domains = (0..present.len())
        .map(|c| {
            if present[c] {
                cell_keys(c).map(|k| ids[&k])
            } else {
                [u32::MAX; 4]
            }
        })
        .collect();
    let (domains, cell_domains) = if mode_pass {
        mode_domains(responses, &order, n_periods)
    } else {
        (domains, cell_domains)
    };

    // Chunks of whole PSUs.
    let n_psu = stratum_psus[n_strata];
    let mut chunks = vec![0];
    for p in 0..n_psu {
        if row_pos(p + 1) - row_pos(chunks[chunks.len() - 1]) >= CHUNK_ROWS {
            chunks.push(p + 1);
        }
    }
    if chunks[chunks.len() - 1] != n_psu {
        chunks.push(n_psu);
    }

    Ok(Design {
        responses,
        weights,
        order,
        psu_bounds,
        stratum_psus,
        fcorr,
        domains,
        cell_domains,
        mode_pass,
        n_periods,
        chunks,
    })
}

/// The mode pass's domains: each (channel, period) with used rows, and a
/// filler (period `usize::MAX`, never written) for the three other slots.
fn mode_domains(
    responses: &Responses,
    order: &[u32],
    n_periods: usize,
) -> (Vec<DomainKey>, Vec<[u32; 4]>) {
    let (ci, pi) = (responses.channel_indices(), responses.period_indices());
    let channels = responses.channels();
    let mut present = vec![false; channels.len() * n_periods];
    for &r in order {
        present[ci[r as usize] as usize * n_periods + pi[r as usize] as usize] = true;
    }
    let filler = DomainKey {
        dtype: DomainType::Mode,
        name: String::new(),
        period: usize::MAX,
    };
    let key = |c: usize| DomainKey {
        dtype: DomainType::Mode,
        name: channels[c / n_periods].clone(),
        period: c % n_periods,
    };
    let mut ids: BTreeMap<DomainKey, u32> = BTreeMap::new();
    ids.insert(filler.clone(), 0);
    for c in (0..present.len()).filter(|&c| present[c]) {
        ids.insert(key(c), 0);
    }
    for (i, v) in ids.values_mut().enumerate() {
        *v = i as u32;
    }
    let f = ids[&filler];
    let cell_domains = (0..present.len())
        .map(|c| {
            if present[c] {
                [ids[&key(c)], f, f, f]
            } else {
                [u32::MAX; 4]
            }
        })
        .collect();
    (ids.into_keys().collect(), cell_domains)
}

/// Weighted item totals of a set of rows.
#[derive(Debug, Clone)]
pub(super) struct Tot {
    pub(super) n: usize,
    pub(super) w: f64,
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<f64>,
    pub(super) nv: Vec<usize>,
}

impl Tot {
    pub(super) fn zero(j: usize) -> Self {
        Tot {
            n: 0,
            w: 0.0,
            x: vec![0.0; j],
            y: vec![0.0; j],
            nv: vec![0; j],
        }
    }

    fn add(&mut self, o: &Tot) {
        self.n += o.n;
        self.w += o.w;
        for (a, b) in self.x.iter_mut().zip(&o.x) {
            *a += b;
        }
        for (a, b) in self.y.iter_mut().zip(&o.y) {
            *a += b;
        }
        for (a, b) in self.nv.iter_mut().zip(&o.nv) {
            *a += b;
        }
    }
}

/// A sparse map keyed by (stratum, domain), in insertion order.
pub(super) struct KeyMap<T> {
    index: HashMap<(u32, u32), usize>,
    pub(super) items: Vec<((u32, u32), T)>,
}

impl<T> KeyMap<T> {
    pub(super) fn new() -> Self {
        KeyMap {
            index: HashMap::new(),
            items: Vec::new(),
        }
    }

    pub(super) fn entry(&mut self, key: (u32, u32), make: impl FnOnce() -> T) -> &mut T {
        let i = *self.index.entry(key).or_insert_with(|| {
            self.items.push((key, make()));
            self.items.len() - 1
        });
        &mut self.items[i].1
    }

    /// Items sorted by (domain, stratum).
    pub(super) fn into_sorted(mut self) -> Vec<((u32, u32), T)> {
        self.items.sort_by_key(|((h, d), _)| (*d, *h));
        self.items
    }
}

/// Chunk-local sums per (stratum, domain). Rows arrive sorted by stratum, so
/// a dense per-domain slot table for the current stratum replaces hashing;
/// each key is filled from its rows in row order, as with [`KeyMap`].
struct ChunkMap<T> {
    items: Vec<((u32, u32), T)>,
    h: u32,
    /// Per domain: its index in `items` for stratum `h`, or `u32::MAX`.
    slot: Vec<u32>,
    touched: Vec<u32>,
}

impl<T> ChunkMap<T> {
    fn new(n_domains: usize) -> Self {
        ChunkMap {
            items: Vec::new(),
            h: u32::MAX,
            slot: vec![u32::MAX; n_domains],
            touched: Vec::new(),
        }
    }

    fn entry(&mut self, h: u32, d: u32, make: impl FnOnce() -> T) -> &mut T {
        if h != self.h {
            for d in self.touched.drain(..) {
                self.slot[d as usize] = u32::MAX;
            }
            self.h = h;
        }
        let s = &mut self.slot[d as usize];
        if *s == u32::MAX {
            *s = self.items.len() as u32;
            self.items.push(((h, d), make()));
            self.touched.push(d);
        }
        &mut self.items[*s as usize].1
    }
}

/// Pass 1: totals per (stratum, domain), merged in chunk order.
fn totals(design: &Design, model: &Model) -> Vec<((u32, u32), Tot)> {
    let j = model.j;
    let nd = design.domains.len();
    let parts: Vec<ChunkMap<Tot>> = (0..design.chunks.len() - 1)
        .into_par_iter()
        .map(|c| {
            let mut map = ChunkMap::new(nd);
            // Per row: w·a_j, w·s_j and a_j, shared by its four domains.
            let (mut wa, mut ws, mut av) = (vec![0.0; j], vec![0.0; j], vec![0usize; j]);
            let mut row = vec![0u8; j];
            for (p, h) in design.chunk_psus(c) {
                for &r in design.psu_rows(p) {
                    let r = r as usize;
                    let w = design.weights[r];
                    design.responses.row_states(r, &mut row);
                    for (jj, &state) in row.iter().enumerate() {
                        let state = usize::from(state);
                        wa[jj] = w * model.answered[state];
                        ws[jj] = w * model.satisfied[state];
                        av[jj] = usize::from(state > 0);
                    }
                    for d in design.row_domains(r) {
                        let t = map.entry(h, d, || Tot::zero(j));
                        t.n += 1;
                        t.w += w;
                        for (x, v) in t.x.iter_mut().zip(&wa) {
                            *x += v;
                        }
                        for (y, v) in t.y.iter_mut().zip(&ws) {
                            *y += v;
                        }
                        for (n, v) in t.nv.iter_mut().zip(&av) {
                            *n += v;
                        }
                    }
                }
            }
            map
        })
        .collect();
    let mut all = KeyMap::new();
    for part in parts {
        for (key, t) in part.items {
            all.entry(key, || Tot::zero(j)).add(&t);
        }
    }
    all.into_sorted()
}

/// A domain's linearization tables: the influence of an item (and of each
/// indicator term) takes one value per answer state (index `state & 3`,
/// slot 3 unused).
pub(super) struct LinTable {
    /// `item[jj][state]` = (s − R_j·a)/X_j (0 when X_j = 0).
    item: Vec<[f64; 4]>,
    /// `term[q][state]` = c_q · `item[terms[q]][state]`: the term's
    /// contribution for a row of weight 1.
    pub(super) term: Vec<[f64; 4]>,
}

impl LinTable {
    fn new(model: &Model, t: &Tot) -> Self {
        let mut item = vec![[0.0; 4]; model.j];
        for (jj, tab) in item.iter_mut().enumerate() {
            if t.x[jj] > 0.0 {
                let r = t.y[jj] / t.x[jj];
                for (v, (a, s)) in tab.iter_mut().zip([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]) {
                    *v = (s - r * a) / t.x[jj];
                }
            }
        }
        let mut term = Vec::with_capacity(model.terms.len());
        for ind in &model.ind {
            for &(jj, c) in &ind.coefs {
                term.push(item[jj].map(|v| c * v));
            }
        }
        LinTable { item, term }
    }
}

/// A row's answer states, shared by its four domains.
struct RowStates {
    w: f64,
    /// w = 1, so w·x = x exactly and every term is a table lookup.
    unit: bool,
    answered: Vec<bool>,
    /// Per item: its state.
    item: Vec<u8>,
}

impl RowStates {
    fn new(model: &Model) -> Self {
        RowStates {
            w: 1.0,
            unit: true,
            answered: vec![false; model.j],
            item: vec![0; model.j],
        }
    }

    /// A row of weight `w` and answer states `row` (see [`Responses::row_states`]).
    fn set(&mut self, w: f64, row: &[u8]) {
        self.w = w;
        self.unit = w.to_bits() == 1.0f64.to_bits();
        for ((a, s), &state) in self.answered.iter_mut().zip(&mut self.item).zip(row) {
            *s = state;
            *a = state > 0;
        }
    }

    /// The row's linearized value of every indicator in each of its four
    /// domains, `out[i][k]` for domain `t[k]`: Σ_q c_q·(w·item_q) summed in
    /// coefficient order (the four domains interleaved, each in that order).
    fn z(&self, model: &Model, t: [&LinTable; 4], zeta: &mut [[f64; 4]], out: &mut [[f64; 4]]) {
        let ts = &model.term_start;
        if self.unit {
            for (i, zi) in out.iter_mut().enumerate() {
                let rg = ts[i]..ts[i + 1];
                let [t0, t1, t2, t3] = t.map(|tk| &tk.term[rg.clone()]);
                let mut acc = [-0.0; 4];
                for ((((&jj, v0), v1), v2), v3) in
                    model.terms[rg].iter().zip(t0).zip(t1).zip(t2).zip(t3)
                {
                    let s = usize::from(self.item[jj] & 3);
                    acc[0] += v0[s];
                    acc[1] += v1[s];
                    acc[2] += v2[s];
                    acc[3] += v3[s];
                }
                *zi = acc;
            }
        } else {
            for (jj, zj) in zeta.iter_mut().enumerate() {
                let s = usize::from(self.item[jj] & 3);
                for (z, tk) in zj.iter_mut().zip(t) {
                    *z = self.w * tk.item[jj][s];
                }
            }
            for (zi, ind) in out.iter_mut().zip(&model.ind) {
                let mut acc = [-0.0; 4];
                for &(jj, c) in &ind.coefs {
                    for (a, z) in acc.iter_mut().zip(zeta[jj]) {
                        *a += c * z;
                    }
                }
                *zi = acc;
            }
        }
    }
}

/// Pass 2 accumulator per (stratum, domain).
#[derive(Debug, Clone)]
struct Acc {
    sz: Vec<f64>,
    szz: Vec<f64>,
    szw: Vec<f64>,
    psu_ans: Vec<u32>,
    psu_n: u32,
}

impl Acc {
    fn zero(ni: usize, j: usize) -> Self {
        Acc {
            sz: vec![0.0; ni],
            szz: vec![0.0; ni],
            szw: vec![0.0; ni],
            psu_ans: vec![0; j],
            psu_n: 0,
        }
    }

    fn add(&mut self, o: &Acc) {
        for (a, b) in [
            (&mut self.sz, &o.sz),
            (&mut self.szz, &o.szz),
            (&mut self.szw, &o.szw),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (x, y) in self.psu_ans.iter_mut().zip(&o.psu_ans) {
            *x += y;
        }
        self.psu_n += o.psu_n;
    }

    /// Adds one PSU with totals `z` (and Σ z²/w over its rows `zw`).
    fn add_psu(&mut self, z: &[f64], zw: &[f64], ans: &[bool]) {
        self.psu_n += 1;
        for (((sz, szz), szw), (&v, &vw)) in self
            .sz
            .iter_mut()
            .zip(self.szz.iter_mut())
            .zip(self.szw.iter_mut())
            .zip(z.iter().zip(zw))
        {
            *sz += v;
            *szz += v * v;
            *szw += vw;
        }
        for (n, &f) in self.psu_ans.iter_mut().zip(ans) {
            *n += u32::from(f);
        }
    }

    /// Adds a PSU of one row with values `z` and weight `w` (as
    /// [`Acc::add_psu`] with z/w² = z²/w; the sums are bit-identical, as
    /// 0 + z only turns −0 into +0, which no sum here can tell apart).
    fn add_row_psu(&mut self, z: &[[f64; 4]], k: usize, rs: &RowStates) {
        self.psu_n += 1;
        let it = self
            .sz
            .iter_mut()
            .zip(self.szz.iter_mut())
            .zip(self.szw.iter_mut())
            .zip(z.iter().map(|z| z[k]));
        if rs.unit {
            for (((sz, szz), szw), v) in it {
                *sz += v;
                *szz += v * v;
                *szw += v * v;
            }
        } else {
            for (((sz, szz), szw), v) in it {
                *sz += v;
                *szz += v * v;
                *szw += v * v / rs.w;
            }
        }
        for (n, &f) in self.psu_ans.iter_mut().zip(&rs.answered) {
            *n += u32::from(f);
        }
    }
}

/// Pass 2: per (stratum, domain), sums over PSUs of the linearized
/// variables z (and z²), and over rows of z²/w.
///
/// A row's answer states are computed once for its four domains; with weight
/// 1 every term is a table lookup, otherwise formed as c·(w·table): the same
/// products and sums either way.
fn linearize(design: &Design, model: &Model, tables: &[LinTable]) -> Vec<((u32, u32), Acc)> {
    let (j, ni) = (model.j, model.ind.len());
    let nd = design.domains.len();
    let parts: Vec<ChunkMap<Acc>> = (0..design.chunks.len() - 1)
        .into_par_iter()
        .map(|c| {
            let mut map = ChunkMap::new(nd);
            // PSU-local: domain ids, then flat z, z²/w and answered flags.
            let mut local: Vec<u32> = Vec::new();
            let mut z: Vec<f64> = Vec::new();
            let mut zw: Vec<f64> = Vec::new();
            let mut ans: Vec<bool> = Vec::new();
            let mut rs = RowStates::new(model);
            let mut row = vec![0u8; j];
            let mut zeta = vec![[0.0; 4]; j];
            let mut zrow = vec![[0.0; 4]; ni];
            for (p, h) in design.chunk_psus(c) {
                let rows = design.psu_rows(p);
                if let [r] = *rows {
                    // A PSU of one row: its totals are the row's values.
                    let r = r as usize;
                    {
                        design.responses.row_states(r, &mut row);
                        rs.set(design.weights[r], &row);
                    }
                    let ds = design.row_domains(r);
                    rs.z(model, ds.map(|d| &tables[d as usize]), &mut zeta, &mut zrow);
                    for (k, d) in ds.into_iter().enumerate() {
                        map.entry(h, d, || Acc::zero(ni, j))
                            .add_row_psu(&zrow, k, &rs);
                    }
                    continue;
                }
                local.clear();
                z.clear();
                zw.clear();
                ans.clear();
                for &r in rows {
                    let r = r as usize;
                    {
                        design.responses.row_states(r, &mut row);
                        rs.set(design.weights[r], &row);
                    }
                    let ds = design.row_domains(r);
                    rs.z(model, ds.map(|d| &tables[d as usize]), &mut zeta, &mut zrow);
                    for (k, d) in ds.into_iter().enumerate() {
                        let e = if let Some(e) = local.iter().position(|&x| x == d) {
                            e
                        } else {
                            local.push(d);
                            z.resize(z.len() + ni, 0.0);
                            zw.resize(zw.len() + ni, 0.0);
                            ans.resize(ans.len() + j, false);
                            local.len() - 1
                        };
                        let ze = &mut z[e * ni..(e + 1) * ni];
                        let zwe = &mut zw[e * ni..(e + 1) * ni];
                        for ((a, b), v) in ze
                            .iter_mut()
                            .zip(zwe.iter_mut())
                            .zip(zrow.iter().map(|z| z[k]))
                        {
                            *a += v;
                            *b += v * v / rs.w;
                        }
                        for (f, &a) in ans[e * j..(e + 1) * j].iter_mut().zip(&rs.answered) {
                            *f |= a;
                        }
                    }
                }
                for (e, &d) in local.iter().enumerate() {
                    map.entry(h, d, || Acc::zero(ni, j)).add_psu(
                        &z[e * ni..(e + 1) * ni],
                        &zw[e * ni..(e + 1) * ni],
                        &ans[e * j..(e + 1) * j],
                    );
                }
            }
            map
        })
        .collect();
    let mut all = KeyMap::new();
    for part in parts {
        for (key, a) in part.items {
            all.entry(key, || Acc::zero(ni, j)).add(&a);
        }
    }
    all.into_sorted()
}

/// Groups a (domain, stratum)-sorted list by domain: `ranges[d]`.
pub(super) fn ranges<T>(
    items: &[((u32, u32), T)],
    n_domains: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![0..0; n_domains];
    let mut i = 0;
    while i < items.len() {
        let d = items[i].0.1;
        let s = i;
        while i < items.len() && items[i].0.1 == d {
            i += 1;
        }
        out[d as usize] = s..i;
    }
    out
}

/// Estimates every indicator in every domain under `spec` (see the README,
/// "Survey designs"). Pure computation; deterministic for a given input and
/// seed, whatever the number of threads.
///
/// With two or more survey modes among the rows used, a second pass over
/// the same design estimates every indicator per mode and period (domain
/// type `mode`) and the difference of SIPAS between each pair of modes
/// ([`DomainEstimates::mode_differences`]).
pub fn estimate_domains(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
) -> Result<DomainEstimates> {
    let (mut rows, _, did) = estimate_pass(responses, opts, spec, false)?;
    let used = opts.channels.used(responses, &opts.channel)?;
    let mut mode_differences = Vec::new();
    if used.iter().filter(|u| **u).count() > 1 {
        let (mode_rows, diffs, _) = estimate_pass(responses, opts, spec, true)?;
        rows.extend(mode_rows);
        mode_differences = diffs;
    }
    Ok(DomainEstimates {
        instrument_id: responses.instrument().id.clone(),
        design: spec.clone(),
        rows,
        mode_differences,
        did,
        level: opts.level,
    })
}

/// One pass's rows, the differences between modes (mode pass) and the 2×2
/// DiD under the design (cell pass).
type PassOutput = (
    Vec<EstimateRow>,
    Vec<ModeDifference>,
    Option<super::DesignDid>,
);

/// One pass of [`estimate_domains`]: the cell domains with the 2×2 DiD, or
/// (`mode_pass`) the mode domains with the differences between modes.
fn estimate_pass(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
    mode_pass: bool,
) -> Result<PassOutput> {
    let model = Model::new(responses);
    let design = prepare(responses, opts, spec, mode_pass)?;
    let (j, ni) = (model.j, model.ind.len());
    let nd = design.domains.len();

    let hd = totals(&design, &model);
    let hd_ranges = ranges(&hd, nd);
    let dom: Vec<Tot> = hd_ranges
        .iter()
        .map(|rg| {
            let mut t = Tot::zero(j);
            for (_, x) in &hd[rg.clone()] {
                t.add(x);
            }
            t
        })
        .collect();
    let values: Vec<Vec<f64>> = dom
        .iter()
        .map(|t| {
            let mut v = vec![0.0; ni];
            model.values(&t.x, &t.y, &mut v);
            v
        })
        .collect();
    let tables: Vec<LinTable> = dom.iter().map(|t| LinTable::new(&model, t)).collect();

    let acc = linearize(&design, &model, &tables);
    let acc_ranges = ranges(&acc, nd);
    // Linearized variances. As R's `subset` / `svyby`, the strata of a
    // domain estimate are those with rows in the domain (with answers, for an
    // item): `average` rescales by their count over their non-lonely count.
    let lin_var: Vec<Vec<Option<f64>>> = (0..nd)
        .map(|d| {
            let mut var = vec![0.0; ni];
            let mut touched = vec![0usize; ni];
            let mut lonely = vec![0usize; ni];
            for ((h, _), a) in &acc[acc_ranges[d].clone()] {
                let h = *h as usize;
                let n = design.npsu(h);
                let f = design.fcorr[h];
                for (i, ind) in model.ind.iter().enumerate() {
                    let present = if ind.kind == IndicatorKind::Item {
                        a.psu_ans[ind.coefs[0].0] > 0
                    } else {
                        a.psu_n > 0
                    };
                    if !present {
                        continue;
                    }
                    touched[i] += 1;
                    lonely[i] += usize::from(n == 1);
                    if f < 1e-7 {
                        continue;
                    }
                    var[i] += if n > 1 {
                        let nf = n as f64;
                        f * nf / (nf - 1.0) * (a.szz[i] - a.sz[i] * a.sz[i] / nf)
                    } else if spec.lonely_psu == LonelyPsu::Adjust {
                        f * a.szz[i]
                    } else {
                        0.0
                    };
                }
            }
            (0..ni)
                .map(|i| {
                    let mut v = var[i];
                    if spec.lonely_psu == LonelyPsu::Average && lonely[i] > 0 {
                        v *= touched[i] as f64 / (touched[i] - lonely[i]) as f64;
                    }
                    v.is_finite().then_some(v.max(0.0))
                })
                .collect()
        })
        .collect();

    let supplied = replicate::Supplied::resolve(&design, spec)?;
    let var = match spec.variance {
        _ if supplied.is_some() => replicate::supplied(
            &design,
            &model,
            supplied.as_ref().expect("matched"),
            nd,
            &values,
        ),
        VarianceMethod::Linearization => lin_var,
        VarianceMethod::Jackknife => {
            replicate::jackknife(&design, &model, spec, &hd, &hd_ranges, &dom, &values)
        }
        VarianceMethod::Bootstrap => replicate::bootstrap(&design, &model, spec, &dom, &values),
    };

    // Rows.
    let periods = responses.periods();
    let mut rows = Vec::with_capacity(nd * (ni + j));
    for d in 0..nd {
        let key = &design.domains[d];
        if key.period == usize::MAX {
            continue; // the mode pass's filler
        }
        let t = &dom[d];
        let accs = &acc[acc_ranges[d].clone()];
        let szw = |i: usize| accs.iter().map(|(_, a)| a.szw[i]).sum::<f64>();
        for (i, ind) in model.ind.iter().enumerate() {
            let value = values[d][i];
            let value = value.is_finite().then_some(value);
            let se = value.and(var[d][i]).map(f64::sqrt);
            let (n, w_ind, df) = if ind.kind == IndicatorKind::Item {
                let jj = ind.coefs[0].0;
                let psus: u32 = accs.iter().map(|(_, a)| a.psu_ans[jj]).sum();
                let strata = accs.iter().filter(|(_, a)| a.psu_ans[jj] > 0).count();
                (t.nv[jj], t.x[jj], f64::from(psus) - strata as f64)
            } else {
                let psus: u32 = accs.iter().map(|(_, a)| a.psu_n).sum();
                (t.n, t.w, f64::from(psus) - accs.len() as f64)
            };
            let vsrs = w_ind * szw(i) / (n as f64 - 1.0);
            let deff = match (se, n > 1 && vsrs > 0.0 && vsrs.is_finite()) {
                (Some(se), true) => Some(se * se / vsrs),
                _ => None,
            };
            let n_eff = deff.filter(|&x| x > 0.0).map(|x| n as f64 / x);
            let cv = match (value, se) {
                (Some(v), Some(se)) if v > 0.0 => Some(se / v),
                _ => None,
            };
            let reliable = n >= spec.min_n && cv.is_some_and(|cv| cv <= spec.max_cv);
            let base = EstimateRow {
                domain_type: key.dtype,
                domain: key.name.clone(),
                period: periods[key.period],
                indicator: ind.id.clone(),
                indicator_kind: ind.kind,
                n,
                value,
                se,
                lo: None,
                hi: None,
                ci_method: CiMethod::Normal,
                deff,
                n_eff,
                cv,
                reliable,
                suppressed: n < spec.suppress_below,
                df: Some(df),
            };
            if ind.kind == IndicatorKind::Item {
                let p = value.map(|v| v / 100.0);
                let logit = match (p, se) {
                    (Some(p), Some(se)) => stats::logit_ci(p, se / 100.0, df, opts.level),
                    _ => None,
                };
                let wilson =
                    p.and_then(|p| stats::wilson(p, n_eff.unwrap_or(n as f64), opts.level));
                for (m, ci) in [(CiMethod::Logit, logit), (CiMethod::Wilson, wilson)] {
                    rows.push(EstimateRow {
                        lo: ci.map(|c| 100.0 * c.0),
                        hi: ci.map(|c| 100.0 * c.1),
                        ci_method: m,
                        ..base.clone()
                    });
                }
            } else {
                let ci = crate::Estimate::with_se(value, se, opts.level);
                rows.push(EstimateRow {
                    lo: ci.lo,
                    hi: ci.hi,
                    ..base
                });
            }
        }
    }
    let diffs = if mode_pass {
        let n: Vec<usize> = dom.iter().map(|t| t.n).collect();
        let root: Vec<(Option<f64>, Option<f64>)> = (0..nd)
            .map(|d| {
                let v = values[d][0];
                let v = v.is_finite().then_some(v);
                (v, v.and(var[d][0]).map(f64::sqrt))
            })
            .collect();
        super::modes::differences(&design, &model, &tables, &root, &n, spec, opts.level)
    } else {
        Vec::new()
    };
    if mode_pass {
        return Ok((rows, diffs, None));
    }
    // The DiD quadrant of every cell.
    let start = opts.pilots.start;
    let quadrant_of_cell: Vec<u8> = (0..responses.units().len() * design.n_periods)
        .map(|c| {
            let pilot = opts
                .pilots
                .contains(&responses.units()[c / design.n_periods]);
            let post = crate::is_post(periods[c % design.n_periods], start);
            match (pilot, post) {
                (true, false) => 0,
                (true, true) => 1,
                (false, false) => 2,
                (false, true) => 3,
            }
        })
        .collect();
    let did = super::did::did(
        &design,
        &model,
        spec,
        supplied.as_ref(),
        &quadrant_of_cell,
        start,
    );
    Ok((rows, diffs, did))
}
