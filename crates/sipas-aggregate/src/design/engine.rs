//! The design (strata, PSUs, fpc), domain totals and Taylor linearization.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rayon::prelude::*;
use sipas_core::schema;

use super::model::{
    DOMAINS_PER_CELL, Design, DomainKey, ItemTotals, KeyMap, LinTable, Model, ranges,
};
use super::modes::ModeDifference;
use super::output::{DomainEstimates, DomainType, IndicatorKind, Name};
use super::replicate;
use super::rows::{DomainParts, EstimateRows, MadeRows, RowIndicator};
use super::spec::{DesignSpec, LonelyPsu, Strata, VarianceMethod};
use crate::arms::Arm;
use crate::cells::{self, CellRows};
use crate::options::AggregateOptions;
use crate::responses::{DesignColumn, Responses};
use crate::{Error, Result};

/// Rows per parallel chunk (chunks end on PSU boundaries; fixed by the data,
/// not by the thread count, so sums are combined in the same order).
const CHUNK_ROWS: usize = 1 << 16;

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
    let meta = responses.unit_meta(&opts.units)?;
    let used = opts.channels.used(responses, &opts.channel)?;
    let weights = design_weights(responses, spec)?;
    let psus = sort_into_psus(responses, opts, spec, &meta, &used)?;
    let fcorr = fpc_corrections(responses, spec, &psus)?;
    check_lonely(responses, spec, &psus)?;
    let n_periods = responses.periods().len();
    let (domains, cell_domains, arms) = cell_domains(responses, opts, &meta, &psus.order);
    let (domains, cell_domains) = if mode_pass {
        mode_domains(responses, &psus.order, n_periods)
    } else {
        (domains, cell_domains)
    };
    let chunks = psu_chunks(&psus);
    Ok(Design {
        responses,
        weights,
        order: psus.order,
        psu_bounds: psus.psu_bounds,
        stratum_psus: psus.stratum_psus,
        fcorr,
        domains,
        cell_domains,
        arms,
        mode_pass,
        n_periods,
        chunks,
    })
}

/// The design's weights: the response table's `weight`, or the column the
/// design names (every value finite and > 0).
fn design_weights<'a>(responses: &'a Responses, spec: &DesignSpec) -> Result<Cow<'a, [f64]>> {
    Ok(if spec.weights == sipas_core::schema::WEIGHT {
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
    })
}

/// The used rows sorted into strata and PSUs.
struct PsuOrder {
    /// Used rows sorted by (stratum, PSU, row).
    order: Vec<u32>,
    /// With clusters: where each PSU starts in `order` (and the end).
    psu_bounds: Option<Vec<u32>>,
    /// Where each non-empty stratum's PSUs start (and the end).
    stratum_psus: Vec<usize>,
    /// Each non-empty stratum's first row.
    stratum_first_row: Vec<usize>,
}

impl PsuOrder {
    fn n_strata(&self) -> usize {
        self.stratum_psus.len() - 1
    }

    /// Position in `order` of PSU `p`'s first row.
    fn row_pos(&self, p: usize) -> usize {
        self.psu_bounds.as_ref().map_or(p, |b| b[p] as usize)
    }
}

/// Sorts the used rows by (stratum, PSU, row): a counting sort by stratum
/// (stable: rows stay in order), then each stratum by (PSU, row) when PSUs
/// are clusters (otherwise every row is its own PSU). Strata and PSUs are
/// renumbered densely.
fn sort_into_psus(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
    meta: &[&sipas_core::Unit],
    used: &[bool],
) -> Result<PsuOrder> {
    let units = responses.units();
    let n_periods = responses.periods().len();
    let (ui, pi, ci) = (
        responses.unit_indices(),
        responses.period_indices(),
        responses.channel_indices(),
    );
    // Dense numbers of the distinct districts and kinds, in name order.
    let dense = |key: fn(&sipas_core::Unit) -> &str| -> BTreeMap<&str, u32> {
        let names: std::collections::BTreeSet<&str> = meta.iter().map(|m| key(m)).collect();
        names.into_iter().zip(0..).collect()
    };
    let district_ix = dense(|m| m.district_code.as_str());
    let kind_ix = dense(|m| m.kind.as_str());
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
    Ok(PsuOrder {
        order,
        psu_bounds,
        stratum_psus,
        stratum_first_row,
    })
}

/// The finite population correction of each stratum (1 without fpc).
fn fpc_corrections(responses: &Responses, spec: &DesignSpec, psus: &PsuOrder) -> Result<Vec<f64>> {
    let (order, stratum_psus, stratum_first_row) =
        (&psus.order, &psus.stratum_psus, &psus.stratum_first_row);
    let (n_strata, row_pos) = (psus.n_strata(), |p: usize| psus.row_pos(p));
    Ok(match &spec.fpc {
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
    })
}

/// With `lonely_psu = "fail"`: an error naming the first stratum with one PSU.
fn check_lonely(responses: &Responses, spec: &DesignSpec, psus: &PsuOrder) -> Result<()> {
    let (units, periods) = (responses.units(), responses.periods());
    let (ui, pi) = (responses.unit_indices(), responses.period_indices());
    let (stratum_psus, n_strata) = (&psus.stratum_psus, psus.n_strata());
    if spec.lonely_psu == LonelyPsu::Fail
        && let Some(h) = (0..n_strata).find(|&h| stratum_psus[h + 1] - stratum_psus[h] == 1)
    {
        let r = psus.stratum_first_row[h];
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
    Ok(())
}

/// The unit, group (by [`crate::arms`]), district and kind domain of each
/// unit × period cell with used rows, and every unit's arm.
fn cell_domains(
    responses: &Responses,
    opts: &AggregateOptions,
    meta: &[&sipas_core::Unit],
    order: &[u32],
) -> (
    Vec<DomainKey>,
    Vec<[u32; DOMAINS_PER_CELL]>,
    crate::arms::Arms,
) {
    let units = responses.units();
    let n_periods = responses.periods().len();
    let (ui, pi) = (responses.unit_indices(), responses.period_indices());
    let mut present = vec![false; units.len() * n_periods];
    for &r in order {
        present[ui[r as usize] as usize * n_periods + pi[r as usize] as usize] = true;
    }
    let arms =
        crate::arms::of_responses(responses, meta, &opts.pilots, opts.baseline, |c| present[c]);
    let cell_keys = |c: usize| -> [DomainKey; 4] {
        let (u, p) = (c / n_periods, c % n_periods);
        let m = meta[u];
        // A unit left out of the comparison pools into one group domain
        // that is never written (period `usize::MAX`, as the mode pass's
        // filler).
        let (arm, arm_period) = match arms.of(u) {
            Some(a) => (a.as_str(), p),
            None => ("", usize::MAX),
        };
        [
            (DomainType::Unit, m.code.clone(), p),
            (DomainType::Group, arm.to_string(), arm_period),
            (DomainType::District, m.district_name.clone(), p),
            (DomainType::Kind, m.kind.as_str().to_string(), p),
        ]
        .map(|(dtype, name, period)| DomainKey {
            dtype,
            name,
            period,
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
    (domains, cell_domains, arms)
}

/// Chunks of whole PSUs of about [`CHUNK_ROWS`] rows: `chunks[c]..chunks[c + 1]`.
fn psu_chunks(psus: &PsuOrder) -> Vec<usize> {
    let row_pos = |p: usize| psus.row_pos(p);
    let n_strata = psus.n_strata();
    let stratum_psus = &psus.stratum_psus;
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

    chunks
}

/// The mode pass's domains: each (channel, period) with used rows, and a
/// filler (period `usize::MAX`, never written) for the three other slots.
fn mode_domains(
    responses: &Responses,
    order: &[u32],
    n_periods: usize,
) -> (Vec<DomainKey>, Vec<[u32; DOMAINS_PER_CELL]>) {
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

/// Pass 1: totals per (stratum, domain). The used rows are grouped into
/// (stratum, cell) pairs ([`crate::cells`], the same totals as the default
/// design's cells), each pair is totalled once, and its totals are added to
/// the stratum's entry of each of the cell's four domains, in pair order.
/// Totals per (stratum, domain), sorted by (domain, stratum).
type StratumDomainTotals = Vec<((u32, u32), ItemTotals)>;

/// The used rows grouped into (stratum, cell) pairs: `pairs[k]` = stratum ×
/// number of cells + cell, in that order; `rows` the rows of each pair.
struct PairRows {
    pairs: Vec<usize>,
    rows: CellRows,
}

/// With `quadrant_of_cell`, also the totals of the DiD's four quadrants
/// (sums of the pairs' totals in pair order).
fn totals(
    design: &Design,
    model: &Model,
    quadrant_of_cell: Option<&[u8]>,
) -> (StratumDomainTotals, PairRows, Option<Vec<ItemTotals>>) {
    let j = model.j;
    let order = &design.order;
    let resp = design.responses;
    let n_cells = design.cell_domains.len();
    let (ui, pi, ci) = (
        resp.unit_indices(),
        resp.period_indices(),
        resp.channel_indices(),
    );
    // Where each stratum's rows start in `order`.
    let stratum_pos: Vec<usize> = design
        .stratum_psus
        .iter()
        .map(|&p| design.psu_pos(p))
        .collect();
    let cell_of = |r: usize| {
        let u = if design.mode_pass { ci[r] } else { ui[r] } as usize;
        u * design.n_periods + pi[r] as usize
    };
    let (mut runs, _) = cells::scan_runs(
        order.len(),
        |i| {
            let h = stratum_pos.partition_point(|&s| s <= i) - 1;
            Some(h * n_cells + cell_of(order[i] as usize))
        },
        |i| order[i] as usize,
        |_| 0,
        1,
    );
    // Dense pair numbers, in (stratum, cell) order.
    let mut pairs: Vec<usize> = runs.iter().map(|r| r.0).collect();
    pairs.sort_unstable();
    pairs.dedup();
    for run in &mut runs {
        run.0 = pairs.binary_search(&run.0).expect("listed");
    }
    let grouped = CellRows::from_runs(&runs, pairs.len());
    drop(runs);
    let rows = cells::Rows {
        weights: &design.weights,
        states: resp.states(),
        words: resp.words(),
        n_items: j,
    };
    let pair_totals: Vec<ItemTotals> = (0..grouped.n_cells())
        .into_par_iter()
        .map(|k| cells::cell_totals(&grouped, k, rows))
        .collect();
    let mut quadrants = quadrant_of_cell.map(|_| vec![ItemTotals::zero(j); 4]);
    if let (Some(qs), Some(qc)) = (&mut quadrants, quadrant_of_cell) {
        for (&pair, t) in pairs.iter().zip(&pair_totals) {
            if let Some(qt) = qs.get_mut(usize::from(qc[pair % n_cells])) {
                qt.add(t);
            }
        }
    }
    (
        stratum_domain_sums(&pairs, n_cells, &design.cell_domains, &pair_totals, j),
        PairRows {
            pairs,
            rows: grouped,
        },
        quadrants,
    )
}

/// The totals per (stratum, domain), sorted by (domain, stratum): each the sum of the
/// totals of its pairs (`pair_totals[k]` of pair `pairs[k]` = stratum × `n_cells` + cell,
/// added to each of the cell's domains), added from zero in pair order.
///
/// The (domain, stratum, pair) keys are sorted (10,000 units: half a million) and each
/// key's run summed on its own thread: the same sums, in the same order, as one pass over
/// the pairs into a map of the keys (which took a third of a second there, on one core).
fn stratum_domain_sums(
    pairs: &[usize],
    n_cells: usize,
    cell_domains: &[[u32; DOMAINS_PER_CELL]],
    pair_totals: &[ItemTotals],
    j: usize,
) -> StratumDomainTotals {
    // (domain << 32 | stratum, pair): sorted, equal keys in pair order.
    let mut keyed: Vec<(u64, u32)> = pairs
        .iter()
        .enumerate()
        .flat_map(|(k, &pair)| {
            let (h, c) = (pair / n_cells, pair % n_cells);
            let k = u32::try_from(k).expect("fewer than 2^32 pairs");
            cell_domains[c]
                .iter()
                .map(move |&d| ((u64::from(d) << 32) | h as u64, k))
        })
        .collect();
    keyed.par_sort_unstable();
    let starts: Vec<usize> = (0..keyed.len())
        .filter(|&i| i == 0 || keyed[i].0 != keyed[i - 1].0)
        .collect();
    starts
        .par_iter()
        .enumerate()
        .map(|(g, &first)| {
            let end = starts.get(g + 1).copied().unwrap_or(keyed.len());
            let key = keyed[first].0;
            let mut t = ItemTotals::zero(j);
            for &(_, k) in &keyed[first..end] {
                t.add(&pair_totals[k as usize]);
            }
            (((key & u64::from(u32::MAX)) as u32, (key >> 32) as u32), t)
        })
        .collect()
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
/// A thread's buffers for one row of the linearization: its answer states
/// ([`RowStates`]) and its influence `zrow` on the indicators of each of its
/// four domains.
struct RowVisit {
    row: Vec<u8>,
    rs: RowStates,
    zeta: Vec<[f64; 4]>,
    zrow: Vec<[f64; 4]>,
}

impl RowVisit {
    fn new(model: &Model) -> Self {
        RowVisit {
            row: vec![0u8; model.j],
            rs: RowStates::new(model),
            zeta: vec![[0.0; 4]; model.j],
            zrow: vec![[0.0; 4]; model.ind.len()],
        }
    }

    /// Loads row `r` and its influences; returns its four domains.
    #[inline]
    fn visit(
        &mut self,
        design: &Design,
        model: &Model,
        tables: &[Option<LinTable>],
        r: usize,
    ) -> [u32; 4] {
        design.responses.row_states(r, &mut self.row);
        self.rs.set(design.weights[r], &self.row);
        let ds = design.row_domains(r);
        let t = ds.map(|d| {
            tables[d as usize]
                .as_ref()
                .expect("the row pass has every domain's table")
        });
        self.rs.z(model, t, &mut self.zeta, &mut self.zrow);
        ds
    }
}

fn linearize(
    design: &Design,
    model: &Model,
    tables: &[Option<LinTable>],
) -> Vec<((u32, u32), Acc)> {
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
            let mut v = RowVisit::new(model);
            for (p, h) in design.chunk_psus(c) {
                let rows = design.psu_rows(p);
                if let [r] = *rows {
                    // A PSU of one row: its totals are the row's values.
                    let r = r as usize;
                    let ds = v.visit(design, model, tables, r);
                    for (k, d) in ds.into_iter().enumerate() {
                        map.entry(h, d, || Acc::zero(ni, j))
                            .add_row_psu(&v.zrow, k, &v.rs);
                    }
                    continue;
                }
                local.clear();
                z.clear();
                zw.clear();
                ans.clear();
                for &r in rows {
                    let r = r as usize;
                    let ds = v.visit(design, model, tables, r);
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
                        for ((a, b), x) in ze
                            .iter_mut()
                            .zip(zwe.iter_mut())
                            .zip(v.zrow.iter().map(|z| z[k]))
                        {
                            *a += x;
                            *b += x * x / v.rs.w;
                        }
                        for (f, &a) in ans[e * j..(e + 1) * j].iter_mut().zip(&v.rs.answered) {
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

/// Each domain's totals: the sum of its strata's (`ranges[d]` of `hd`).
fn domain_totals(
    hd: &StratumDomainTotals,
    ranges: &[std::ops::Range<usize>],
    j: usize,
) -> Vec<ItemTotals> {
    ranges
        .par_iter()
        .map(|rg| {
            let mut t = ItemTotals::zero(j);
            for (_, x) in &hd[rg.clone()] {
                t.add(x);
            }
            t
        })
        .collect()
}

/// Whether pass 2 can read its sums from [`cells::Gram`] counts: every
/// PSU is one row and every used row has weight 1 (the default design of an
/// unweighted survey). Then a row's linearized variable in a domain is a
/// fixed linear function of its answer bits, the same for every row of a
/// (stratum, cell) pair.
fn gram_applies(design: &Design) -> bool {
    design.psu_bounds.is_none()
        && design
            .order
            .iter()
            .all(|&r| design.weights[r as usize].to_bits() == 1.0f64.to_bits())
}

/// Pass 2 of [`linearize`] from the rows' bit counts ([`gram_applies`]):
/// per (stratum, cell) pair, the [`cells::Gram`] of its rows; per domain of
/// the cell, indicator i's variable is z = Σ_b u_b·x_b over the answer bits
/// x (term q of i with table values v by state: v1 − v0 on "answered",
/// v2 − v1 on "satisfied", v0 on every row), so Σ z = Σ_b u_b·g_bb +
/// n·v0 and Σ z² = uᵀ G u (+ the v0 terms). Equal to the row-by-row sums up
/// to the order of the floating-point additions; O(items²) per 64 rows
/// instead of O(domains × terms) per row.
///
/// The pairs are taken in blocks of `block` ([`GRAM_BLOCK`]; in parallel
/// within a block); each (stratum, domain) sum is folded into its domain's
/// [`DomainSums`] as soon as its stratum is complete, so that with 10,000
/// units the half a million (stratum, domain) sums are never held at once.
/// A missing table (`None`: a unit domain, used by its own cells only) is
/// made where it is used from the domain's totals `dom`.
///
/// With `did` ([`super::did::DidTables`]), each pair's Σ z and Σ z² of the
/// 2×2 DiD's influence in its quadrant are summed per stratum too (the same
/// bit counts, [`GramLanes::moments`]), so the DiD needs no pass of its own.
fn linearize_by_gram(
    design: &Design,
    model: &Model,
    (tables, dom): (&[Option<LinTable>], &[ItemTotals]),
    pair_rows: &PairRows,
    lonely_psu: LonelyPsu,
    block: usize,
    did: Option<&super::did::DidTables>,
) -> (Vec<DomainSums>, Option<Vec<super::did::StratumSums>>) {
    let (j, ni) = (model.j, model.ind.len());
    let mut did_strata = did.map(|_| vec![super::did::StratumSums::default(); design.n_strata()]);
    let n_cells = design.cell_domains.len();
    let rows = cells::Rows {
        weights: &design.weights,
        states: design.responses.states(),
        words: design.responses.words(),
        n_items: j,
    };
    let pair_accs = |k: usize| -> (Vec<Acc>, Option<(usize, f64, f64)>) {
        // The bit counts and the moments' lanes compiled wide ([`crate::wide`]: POPCNT,
        // AVX2).
        let g = crate::wide::wide(
            #[inline(always)]
            || cells::cell_gram(&pair_rows.rows, k, rows),
        );
        let c = pair_rows.pairs[k] % n_cells;
        let doms = design.cell_domains[c];
        // A unit domain's table is made here (its cells are its only users).
        let own: Vec<Option<LinTable>> = doms
            .iter()
            .map(|&d| {
                tables[d as usize]
                    .is_none()
                    .then(|| LinTable::new(model, &dom[d as usize]))
            })
            .collect();
        let tabs: [&LinTable; DOMAINS_PER_CELL] = std::array::from_fn(|k| {
            own[k]
                .as_ref()
                .or(tables[doms[k] as usize].as_ref())
                .expect("a table made or given")
        });
        let mut accs: Vec<Acc> = doms
            .iter()
            .map(|_| {
                let mut acc = Acc::zero(ni, j);
                acc.psu_n = u32::try_from(g.n).expect("fewer than 2^32 rows in a cell");
                for (q, n) in acc.psu_ans.iter_mut().enumerate() {
                    *n = u32::try_from(g.get(q, q)).expect("counts fit");
                }
                acc
            })
            .collect();
        let mut lanes = GramLanes::default();
        crate::wide::wide(
            #[inline(always)]
            || indicator_moments(&mut lanes, &g, model, tabs, &mut accs),
        );
        // The DiD's root variable in the pair's quadrant (none left out of the comparison).
        let quadrant = did.and_then(|dg| {
            let q = usize::from(dg.quadrant_of_cell[c]);
            (q != super::did::LEFT_OUT).then(|| {
                // One table in every lane: lane 0 is `gram_moments` of it.
                let rg = model.term_start[0]..model.term_start[1];
                let vals = &dg.tables[q].term[rg.clone()];
                let (sz, szz) = lanes.moments(&g, j, &model.terms[rg], [vals; DOMAINS_PER_CELL]);
                (q, sz[0], szz[0])
            })
        });
        (accs, quadrant)
    };
    let mut sums: Vec<DomainSums> = (0..design.domains.len())
        .map(|_| DomainSums::new(ni, j))
        .collect();
    // (stratum, domain) sums of the strata not yet complete, in key order.
    let mut open: BTreeMap<(u32, u32), Acc> = BTreeMap::new();
    let n_pairs = pair_rows.pairs.len();
    let mut first = 0;
    while first < n_pairs {
        let end = (first + block).min(n_pairs);
        let parts: Vec<_> = (first..end).into_par_iter().map(pair_accs).collect();
        for (&pair, (accs, quadrant)) in pair_rows.pairs[first..end].iter().zip(&parts) {
            let (h, c) = (pair / n_cells, pair % n_cells);
            for (&d, a) in design.cell_domains[c].iter().zip(accs) {
                open.entry((h as u32, d))
                    .or_insert_with(|| Acc::zero(ni, j))
                    .add(a);
            }
            if let (Some(s), Some((q, sz, szz))) = (&mut did_strata, quadrant) {
                // One row per PSU, in one quadrant: no cross products.
                s[h].sz[*q] += sz;
                s[h].szz[*q][*q] += szz;
            }
        }
        drop(parts);
        // Every stratum before the next pair's is complete.
        let next_h = pair_rows
            .pairs
            .get(end)
            .map_or(u32::MAX, |&p| (p / n_cells) as u32);
        let still_open = open.split_off(&(next_h, 0));
        for ((h, d), a) in std::mem::replace(&mut open, still_open) {
            sums[d as usize].add_stratum(design, model, lonely_psu, h as usize, &a);
        }
        first = end;
    }
    debug_assert!(open.is_empty());
    (sums, did_strata)
}

/// Each indicator's Σ z and Σ z² ([`GramLanes::moments`]) over the rows counted in `g`, in
/// the [`DOMAINS_PER_CELL`] domains of a cell (`tabs`, `accs`); compiled wide
/// ([`crate::wide`]).
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
fn indicator_moments(
    lanes: &mut GramLanes,
    g: &cells::Gram,
    model: &Model,
    tabs: [&LinTable; DOMAINS_PER_CELL],
    accs: &mut [Acc],
) {
    for i in 0..model.ind.len() {
        let rg = model.term_start[i]..model.term_start[i + 1];
        let vals = tabs.map(|t| &t.term[rg.clone()]);
        let (sz, szz) = lanes.moments(g, model.j, &model.terms[rg], vals);
        for (k, acc) in accs.iter_mut().enumerate() {
            acc.sz[i] = sz[k];
            acc.szz[i] = szz[k];
            acc.szw[i] = szz[k];
        }
    }
}

/// Σ z and Σ z² over the rows counted in `g` of the variable z = Σ_t
/// `vals[t][state of item items[t]]`: with the answer bits x (bit q
/// "answered", bit j + q "satisfied"), z = v0 + Σ_b u_b·x_b (v1 − v0 on
/// "answered", v2 − v1 on "satisfied", v0 on every row), so Σ z = Σ_b
/// u_b·g_bb + n·v0 and Σ z² = uᵀ G u + 2·v0·Σ_b u_b·g_bb + n·v0². `u` is
/// the caller's buffer. One domain at a time: the tests' reference for
/// [`GramLanes::moments`], which the pass uses.
#[cfg(test)]
fn gram_moments(
    g: &cells::Gram,
    j: usize,
    items: &[usize],
    vals: &[[f64; 4]],
    u: &mut Vec<(usize, f64)>,
) -> (f64, f64) {
    u.clear();
    let mut v0 = 0.0;
    for (&q, v) in items.iter().zip(vals) {
        v0 += v[0];
        u.push((q, v[1] - v[0]));
        u.push((j + q, v[2] - v[1]));
    }
    let (mut sz, mut szz) = (0.0, 0.0);
    for (a, &(ba, ua)) in u.iter().enumerate() {
        let ga = g.get(ba, ba) as f64;
        sz += ua * ga;
        // v0 on every row: 2·v0·u_a·count_a.
        szz += 2.0 * v0 * ua * ga + ua * ua * ga;
        let mut cross = 0.0;
        for &(bb, ub) in &u[a + 1..] {
            cross += ub * g.get(ba, bb) as f64;
        }
        szz += 2.0 * ua * cross;
    }
    let n = g.n as f64;
    sz += v0 * n;
    szz += v0 * v0 * n;
    (sz, szz)
}

/// [`gram_moments`] of one indicator for the [`DOMAINS_PER_CELL`] domains of
/// a cell at once: the indicator's counts are read from the [`cells::Gram`]
/// once (as `f64`, in the order of its bits) and each count is used by the
/// four domains side by side, whose sums are independent. Each domain's
/// numbers are added in [`gram_moments`]' order, so they are its results bit
/// for bit; four chains of additions run together instead of one.
#[derive(Debug, Default)]
struct GramLanes {
    /// The indicator's bits: (answered, satisfied) of each term.
    bits: Vec<usize>,
    /// Upper triangle of their counts, `bits × bits` row-major.
    sub: Vec<f64>,
    /// Per bit, its coefficient in each domain.
    u: Vec<[f64; DOMAINS_PER_CELL]>,
    /// Per bit a, Σ_b>a u_b·count_ab in each domain.
    cross: Vec<[f64; DOMAINS_PER_CELL]>,
}

impl GramLanes {
    #[allow(clippy::needless_range_loop)] // the domains' lanes read best indexed
    #[inline(always)]
    fn moments(
        &mut self,
        g: &cells::Gram,
        j: usize,
        items: &[usize],
        vals: [&[[f64; 4]]; DOMAINS_PER_CELL],
    ) -> ([f64; DOMAINS_PER_CELL], [f64; DOMAINS_PER_CELL]) {
        const L: usize = DOMAINS_PER_CELL;
        self.bits.clear();
        self.u.clear();
        let mut v0 = [0.0; L];
        for (t, &q) in items.iter().enumerate() {
            self.bits.push(q);
            self.bits.push(j + q);
            let (mut answered, mut satisfied) = ([0.0; L], [0.0; L]);
            for l in 0..L {
                let v = vals[l][t];
                v0[l] += v[0];
                answered[l] = v[1] - v[0];
                satisfied[l] = v[2] - v[1];
            }
            self.u.push(answered);
            self.u.push(satisfied);
        }
        let m = self.bits.len();
        self.sub.clear();
        self.sub.resize(m * m, 0.0);
        for a in 0..m {
            for b in a..m {
                // A count of rows (< 2⁵³): exact through i64, whose conversion is one instruction.
                self.sub[a * m + b] = g.get(self.bits[a], self.bits[b]) as i64 as f64;
            }
        }
        // Each row's Σ_b>a u_b·g_ab; two rows at a time, so that their chains of additions
        // overlap (each still added in order of b).
        let mut crosses = std::mem::take(&mut self.cross);
        crosses.clear();
        crosses.resize(m, [0.0; L]);
        let mut a = 0;
        while a + 1 < m {
            let (r0, r1) = (
                &self.sub[a * m..(a + 1) * m],
                &self.sub[(a + 1) * m..(a + 2) * m],
            );
            let (mut c0, mut c1) = ([0.0; L], [0.0; L]);
            for l in 0..L {
                c0[l] += self.u[a + 1][l] * r0[a + 1];
            }
            for ((&g0, &g1), ub) in r0[a + 2..].iter().zip(&r1[a + 2..]).zip(&self.u[a + 2..]) {
                for l in 0..L {
                    c0[l] += ub[l] * g0;
                    c1[l] += ub[l] * g1;
                }
            }
            crosses[a] = c0;
            crosses[a + 1] = c1;
            a += 2;
        }
        // An odd last row has no bit after it (its cross stays 0).
        let (mut sz, mut szz) = ([0.0; L], [0.0; L]);
        for a in 0..m {
            let (ga, ua, cross) = (self.sub[a * m + a], self.u[a], crosses[a]);
            for l in 0..L {
                sz[l] += ua[l] * ga;
                szz[l] += 2.0 * v0[l] * ua[l] * ga + ua[l] * ua[l] * ga;
                szz[l] += 2.0 * ua[l] * cross[l];
            }
        }
        self.cross = crosses;
        let n = g.n as f64;
        for l in 0..L {
            sz[l] += v0[l] * n;
            szz[l] += v0[l] * v0[l] * n;
        }
        (sz, szz)
    }
}

/// Pairs of (stratum, cell) per parallel block of [`linearize_by_gram`]
/// (fixed, not the thread count: the sums are made in the same order).
const GRAM_BLOCK: usize = 4096;

/// What a domain's rows need from pass 2, summed over its strata in stratum
/// order (each stratum's [`Acc`] complete before it is added).
#[derive(Debug, Clone, PartialEq)]
struct DomainSums {
    /// Linearized variance per indicator, before the lonely-PSU average.
    var: Vec<f64>,
    /// Per indicator: strata where it is present, and those with one PSU.
    touched: Vec<u32>,
    lonely: Vec<u32>,
    /// Per indicator: Σ z²/w over the domain's rows.
    szw: Vec<f64>,
    /// Per item: PSUs with an answer, and strata with such a PSU.
    psu_ans: Vec<u32>,
    strata_ans: Vec<u32>,
    /// PSUs and strata with rows in the domain.
    psu_n: u32,
    strata: u32,
}

impl DomainSums {
    fn new(ni: usize, j: usize) -> Self {
        // The empty sum of `Iterator::sum` (its neutral element), so that a
        // domain's Σ z²/w is the same sum, in the same order, as before.
        let zero: f64 = std::iter::empty::<f64>().sum();
        DomainSums {
            var: vec![0.0; ni],
            touched: vec![0; ni],
            lonely: vec![0; ni],
            szw: vec![zero; ni],
            psu_ans: vec![0; j],
            strata_ans: vec![0; j],
            psu_n: 0,
            strata: 0,
        }
    }

    /// Adds stratum `h`'s complete sums `a`. As R's `subset` / `svyby`,
    /// the strata of a domain estimate are those with rows in the domain
    /// (with answers, for an item).
    fn add_stratum(
        &mut self,
        design: &Design,
        model: &Model,
        lonely_psu: LonelyPsu,
        h: usize,
        a: &Acc,
    ) {
        let n = design.npsu(h);
        let f = design.fcorr[h];
        for (i, ind) in model.ind.iter().enumerate() {
            self.szw[i] += a.szw[i];
            let present = if ind.kind == IndicatorKind::Item {
                a.psu_ans[ind.coefs[0].0] > 0
            } else {
                a.psu_n > 0
            };
            if !present {
                continue;
            }
            self.touched[i] += 1;
            self.lonely[i] += u32::from(n == 1);
            if f < 1e-7 {
                continue;
            }
            self.var[i] += if n > 1 {
                crate::cells::stratum_cov(n, f, a.szz[i], a.sz[i], a.sz[i])
            } else if lonely_psu == LonelyPsu::Adjust {
                f * a.szz[i]
            } else {
                0.0
            };
        }
        for ((s, t), &x) in self
            .psu_ans
            .iter_mut()
            .zip(&mut self.strata_ans)
            .zip(&a.psu_ans)
        {
            *s += x;
            *t += u32::from(x > 0);
        }
        self.psu_n += a.psu_n;
        self.strata += 1;
    }

    /// The linearized variance of each indicator: `average` rescales by the
    /// count of strata over their non-lonely count; `None` when not finite.
    fn variances(&self, lonely_psu: LonelyPsu) -> Vec<Option<f64>> {
        self.var
            .iter()
            .zip(self.touched.iter().zip(&self.lonely))
            .map(|(&v, (&touched, &lonely))| {
                let mut v = v;
                if lonely_psu == LonelyPsu::Average && lonely > 0 {
                    v *= f64::from(touched) / f64::from(touched - lonely);
                }
                v.is_finite().then_some(v.max(0.0))
            })
            .collect()
    }
}

/// The row path's (domain, stratum)-sorted sums folded per domain.
fn sums_of(
    acc: &[((u32, u32), Acc)],
    design: &Design,
    model: &Model,
    lonely_psu: LonelyPsu,
) -> Vec<DomainSums> {
    let mut sums: Vec<DomainSums> = (0..design.domains.len())
        .map(|_| DomainSums::new(model.ind.len(), model.j))
        .collect();
    for ((h, d), a) in acc {
        sums[*d as usize].add_stratum(design, model, lonely_psu, *h as usize, a);
    }
    sums
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
        rows.append(mode_rows);
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
type PassOutput = (EstimateRows, Vec<ModeDifference>, Option<super::DesignDid>);

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

    // The 2×2 DiD's sums come with the bit-count pass when it applies (and
    // the variance is linearized); otherwise from its own passes (`did_of`).
    let gram = gram_applies(&design);
    let supplied = replicate::Supplied::resolve(&design, spec)?;
    let did_in_gram =
        gram && !mode_pass && supplied.is_none() && spec.variance == VarianceMethod::Linearization;
    let quadrant_of_cell = did_in_gram.then(|| quadrants_of_cells(responses, opts, &design));
    let (hd, pair_rows, quadrant_totals) = totals(&design, &model, quadrant_of_cell.as_deref());
    let did_tables = match (quadrant_of_cell, quadrant_totals) {
        (Some(qc), Some(qt)) => super::did::DidTables::new(&model, qc, &qt),
        _ => None,
    };
    let hd_ranges = ranges(&hd, nd);
    let dom = domain_totals(&hd, &hd_ranges, j);
    let values: Vec<Vec<f64>> = dom
        .iter()
        .map(|t| {
            let mut v = vec![0.0; ni];
            model.values(&t.x, &t.y, &mut v);
            v
        })
        .collect();
    // With the bit-count pass outside the mode pass, a unit domain's table
    // is made where its cells use it (10,000 units: 0.6 GB otherwise).
    let lazy = gram && !mode_pass;
    let tables: Vec<Option<LinTable>> = dom
        .iter()
        .zip(&design.domains)
        .map(|(t, k)| (!lazy || k.dtype != DomainType::Unit).then(|| LinTable::new(&model, t)))
        .collect();

    let (sums, did_strata) = if gram {
        linearize_by_gram(
            &design,
            &model,
            (&tables, &dom),
            &pair_rows,
            spec.lonely_psu,
            GRAM_BLOCK,
            did_tables.as_ref(),
        )
    } else {
        let sums = sums_of(
            &linearize(&design, &model, &tables),
            &design,
            &model,
            spec.lonely_psu,
        );
        (sums, None)
    };
    drop(pair_rows);
    // Linearized variances.
    let lin_var: Vec<Vec<Option<f64>>> =
        sums.iter().map(|s| s.variances(spec.lonely_psu)).collect();

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
    drop(tables);
    drop(hd);

    // Rows: every domain (but the mode pass's filler) has the same rows, one per indicator
    // and two per item (logit, Wilson), made when they are read from each domain's parts.
    let periods = responses.periods();
    let ind: Vec<RowIndicator> = model
        .ind
        .iter()
        .map(|i| RowIndicator {
            name: Name::from(&i.id),
            kind: i.kind,
            item: if i.kind == IndicatorKind::Item {
                i.coefs[0].0
            } else {
                usize::MAX
            },
            bounds: i.bounds,
        })
        .collect();
    let parts: Vec<DomainParts> = design
        .domains
        .iter()
        .zip(dom)
        .zip(sums)
        .zip(values.into_iter().zip(var))
        .filter(|(((key, _), _), _)| key.period != usize::MAX)
        .map(|(((key, t), s), (values, var))| DomainParts {
            key: (key.dtype, Name::from(&key.name), periods[key.period]),
            n: t.n,
            w: t.w,
            psu_n: s.psu_n,
            strata: s.strata,
            nv: t.nv,
            x: t.x,
            psu_ans: s.psu_ans,
            strata_ans: s.strata_ans,
            szw: s.szw,
            values,
            var,
        })
        .collect();
    let rows = EstimateRows::made(MadeRows::new(parts, ind, opts.level, spec));
    if mode_pass {
        return Ok((rows, diffs, None));
    }
    let did = if did_in_gram {
        // `None` tables: a quadrant without rows or index (as `did_of`).
        did_tables
            .zip(did_strata)
            .map(|(dt, strata)| dt.finish(&design, spec, &strata, opts.pilots.start))
    } else {
        did_of(responses, opts, spec, &design, &model, supplied.as_ref())
    };
    Ok((rows, diffs, did))
}

/// The DiD quadrant of each cell c = unit × n_periods + period
/// ([`super::did::LEFT_OUT`] for a unit outside the comparison).
fn quadrants_of_cells(
    responses: &Responses,
    opts: &AggregateOptions,
    design: &Design<'_>,
) -> Vec<u8> {
    let (periods, start) = (responses.periods(), opts.pilots.start);
    (0..responses.units().len() * design.n_periods)
        .map(|c| {
            let post = crate::arms::is_post(periods[c % design.n_periods], start);
            match (design.arms.of(c / design.n_periods), post) {
                (Some(Arm::Pilot), false) => 0,
                (Some(Arm::Pilot), true) => 1,
                (Some(Arm::Baseline), false) => 2,
                (Some(Arm::Baseline), true) => 3,
                (None, _) => super::did::LEFT_OUT as u8,
            }
        })
        .collect()
}

/// The 2×2 DiD of the model's headline under the design, each cell in its quadrant
/// ([`super::did::LEFT_OUT`] for a unit outside the comparison).
fn did_of(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
    design: &Design<'_>,
    model: &Model,
    supplied: Option<&replicate::Supplied>,
) -> Option<super::DesignDid> {
    let quadrant_of_cell = quadrants_of_cells(responses, opts, design);
    super::did::did(
        design,
        model,
        spec,
        supplied,
        &quadrant_of_cell,
        opts.pilots.start,
    )
}

/// The 2×2 DiD of the responses' headline index under the design, alone: the quadrant
/// covariance of [`estimate_domains`]' cell pass without its domain estimates (what another
/// headline index needs beyond the headline's tables, [`crate::headline`]).
///
/// # Errors
/// As [`estimate_domains`] (unknown units, channels or design columns).
pub fn design_did(
    responses: &Responses,
    opts: &AggregateOptions,
    spec: &DesignSpec,
) -> Result<Option<super::DesignDid>> {
    let model = Model::new(responses);
    let design = prepare(responses, opts, spec, false)?;
    let supplied = replicate::Supplied::resolve(&design, spec)?;
    Ok(did_of(
        responses,
        opts,
        spec,
        &design,
        &model,
        supplied.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use sipas_core::bundled;

    use super::*;

    /// A table of weight-1 rows: 4 units × 3 periods, cells of 1 to 140
    /// rows (so runs of 64 rows end inside and at the edge of a cell),
    /// every item missing, dissatisfied or satisfied at random, under the
    /// bundled 33-item instrument (two mask words' worth of bits).
    fn unweighted() -> Responses {
        let inst = bundled::instrument("sipas-2023").unwrap();
        let j = inst.items().len();
        let mut b = Responses::builder(inst);
        let mut rng = sipas_core::xorshift::XorShift64::new(0x9E37_79B9_7F4A_7C15);
        let mut next = move || rng.next_u64();
        let units = ["05443", "05446", "05500", "05431"];
        let periods = ["2023Q4", "2024Q1", "2024Q2"];
        let sizes = [1usize, 2, 63, 64, 65, 140, 3, 128, 129, 17, 5, 90];
        for (k, (u, p)) in units
            .iter()
            .flat_map(|u| periods.iter().map(move |p| (u, p)))
            .enumerate()
        {
            for _ in 0..sizes[k] {
                let answers: Vec<Option<u8>> = (0..j)
                    .map(|_| match next() % 7 {
                        0 => None,
                        v => Some(u8::try_from(v.min(5)).unwrap()),
                    })
                    .collect();
                b.push(u, p, "survey", 1.0, &answers).unwrap();
            }
        }
        b.build().unwrap()
    }

    /// The default design (strata = unit × period) and strata = unit, where
    /// a stratum holds several cells (and both sides of the pilot start).
    fn unit_period_and_unit_strata() -> [DesignSpec; 2] {
        [
            DesignSpec::default(),
            DesignSpec {
                strata: Strata::Unit,
                ..DesignSpec::default()
            },
        ]
    }

    /// The four domains' moments side by side are [`gram_moments`] of each,
    /// bit for bit (counts and values drawn at random, a constant state 0
    /// value included, indicators of 1 to 33 terms).
    #[test]
    fn gram_lanes_are_the_moments_of_each_domain() {
        let j = 33;
        let bits = 2 * j;
        let mut state = 0x5EED_u64;
        let mut next = move || crate::lanes::splitmix(&mut state);
        let mut g = cells::Gram {
            n: 5000,
            bits,
            g: vec![0; bits * bits],
        };
        for a in 0..bits {
            for b in a..bits {
                g.g[a * bits + b] = next() % 5000;
            }
        }
        let mut unit = || (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let mut lanes = GramLanes::default();
        for terms in [1, 2, 7, 33] {
            let items: Vec<usize> = (0..terms).map(|t| (t * 5) % j).collect();
            let vals: Vec<Vec<[f64; 4]>> = (0..DOMAINS_PER_CELL)
                .map(|_| {
                    (0..terms)
                        .map(|_| [unit() * 0.01, unit(), unit() * 3.0, 0.0])
                        .collect()
                })
                .collect();
            let (sz, szz) = lanes.moments(&g, j, &items, std::array::from_fn(|l| &vals[l][..]));
            let mut u = Vec::new();
            for l in 0..DOMAINS_PER_CELL {
                let (a, b) = gram_moments(&g, j, &items, &vals[l], &mut u);
                assert_eq!(sz[l].to_bits(), a.to_bits(), "{terms} terms, lane {l}");
                assert_eq!(szz[l].to_bits(), b.to_bits(), "{terms} terms, lane {l}");
            }
        }
    }

    /// The sums read from the bit counts equal the row-by-row sums (the
    /// path checked against R's `survey`) in every (stratum, domain), for
    /// strata = unit × period and for strata = unit.
    #[test]
    fn gram_pass_equals_the_row_pass() {
        let r = unweighted();
        let opts = AggregateOptions::bundled();
        for spec in unit_period_and_unit_strata() {
            let model = Model::new(&r);
            let design = prepare(&r, &opts, &spec, false).unwrap();
            assert!(gram_applies(&design));
            let (hd, pair_rows, _) = totals(&design, &model, None);
            let dom = domain_totals(&hd, &ranges(&hd, design.domains.len()), model.j);
            let tables: Vec<Option<LinTable>> =
                dom.iter().map(|t| Some(LinTable::new(&model, t))).collect();
            let rows = sums_of(
                &linearize(&design, &model, &tables),
                &design,
                &model,
                spec.lonely_psu,
            );
            // Unit domains' tables made where used, as in `estimate_pass`.
            let lazy: Vec<Option<LinTable>> = tables
                .into_iter()
                .zip(&design.domains)
                .map(|(t, k)| t.filter(|_| k.dtype != DomainType::Unit))
                .collect();
            assert!(lazy.iter().any(Option::is_none));
            let gram = |block| {
                linearize_by_gram(
                    &design,
                    &model,
                    (&lazy, &dom),
                    &pair_rows,
                    spec.lonely_psu,
                    block,
                    None,
                )
                .0
            };
            // Blocks that end inside a stratum (strata = unit: 3 pairs each)
            // give the same sums, bit for bit.
            let whole = gram(GRAM_BLOCK);
            assert_eq!(gram(1), whole);
            assert_eq!(gram(5), whole);
            let gram = whole;
            assert_eq!(rows.len(), gram.len());
            let mut compared = 0;
            for (d, (a, b)) in rows.iter().zip(&gram).enumerate() {
                assert_eq!(
                    (a.psu_n, a.strata, &a.psu_ans, &a.strata_ans),
                    (b.psu_n, b.strata, &b.psu_ans, &b.strata_ans),
                    "domain {d}"
                );
                assert_eq!((&a.touched, &a.lonely), (&b.touched, &b.lonely));
                assert!(a.psu_n > 0, "domain {d} has rows");
                for (name, x, y) in [("variance", &a.var, &b.var), ("Σz²/w", &a.szw, &b.szw)] {
                    for (i, (x, y)) in x.iter().zip(y).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-12 * x.abs().max(1e-300),
                            "{name} of indicator {i} in domain {d}: {x} vs {y}"
                        );
                        compared += 1;
                    }
                }
            }
            assert!(compared > 1000, "{compared}");
        }
    }

    /// The 2×2 DiD summed from the bit counts with the domain estimates
    /// equals the one of its own row passes (`did_of`, checked against R's
    /// `svycontrast`): the same quadrant values and counts, the covariance
    /// to 1e-12, for strata = unit × period and strata = unit (where a
    /// stratum holds cells of both periods of a quadrant and pre and post).
    #[test]
    fn did_from_the_gram_pass_equals_its_row_passes() {
        let r = unweighted();
        let opts = AggregateOptions::bundled();
        for spec in unit_period_and_unit_strata() {
            let model = Model::new(&r);
            let design = prepare(&r, &opts, &spec, false).unwrap();
            assert!(gram_applies(&design));
            let rows = did_of(&r, &opts, &spec, &design, &model, None).expect("estimable");
            let (_, _, gram) = estimate_pass(&r, &opts, &spec, false).unwrap();
            let gram = gram.expect("estimable");
            assert_eq!((rows.values, rows.n), (gram.values, gram.n));
            assert!(rows.n.iter().all(|&n| n > 0), "{:?}", rows.n);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
            for (a, b) in rows.cov.iter().flatten().zip(gram.cov.iter().flatten()) {
                assert!(close(*a, *b), "{:?} vs {:?}", rows.cov, gram.cov);
            }
            assert!(rows.cov[0][0] > 0.0);
            assert!(close(rows.estimate, gram.estimate) && close(rows.se, gram.se));
        }
    }

    /// A weight other than 1 or a cluster sends the pass row by row.
    #[test]
    fn gram_pass_only_for_unit_weights_and_single_row_psus() {
        let inst = bundled::instrument("sipas-2023").unwrap();
        let j = inst.items().len();
        let mut b = Responses::builder(inst);
        b.push("05443", "2024Q1", "survey", 1.0, &vec![Some(4); j])
            .unwrap();
        b.push("05443", "2024Q1", "survey", 2.0, &vec![Some(2); j])
            .unwrap();
        let r = b.build().unwrap();
        let design = prepare(
            &r,
            &AggregateOptions::bundled(),
            &DesignSpec::default(),
            false,
        )
        .unwrap();
        assert!(!gram_applies(&design));
    }
}
