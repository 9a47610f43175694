//! What every variance path shares: the instrument as linear indicators
//! ([`Model`]), the resolved design ([`Design`]: strata, PSUs, fpc, domains),
//! domain totals ([`ItemTotals`]) and linearization tables ([`LinTable`]).
//!
//! The engine ([`super::engine`]) builds them and runs the passes; the
//! replicate, bootstrap, DiD and mode paths read them. Nothing here calls
//! back into those paths, so the design's code flows one way:
//! `model` ← `replicate`, `did`, `modes` ← `engine`.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;

use sipas_core::instrument::GroupKind;

use super::output::{DomainType, IndicatorKind};
pub(super) use crate::cells::ItemTotals;
use crate::responses::Responses;

/// One indicator: a linear combination (coefficients already × 100) of item shares.
#[derive(Debug, Clone)]
pub(crate) struct Indicator {
    pub(crate) id: String,
    pub(crate) kind: IndicatorKind,
    /// Its value = `constant` + Σ c · share over these (test, c) pairs.
    pub(crate) coefs: Vec<(usize, f64)>,
    /// The constant of a group on its scale (0 for SIPAS and for items).
    pub(crate) constant: f64,
    /// The lowest and highest value of its scale (0, 100 for SIPAS and items).
    pub(crate) bounds: (f64, f64),
}

/// The indicators of an instrument, in the order of `estimates.csv`: the
/// headline index, the parts, the elements, the other indices, the
/// composites, then every item. One list for every
/// engine (the design engine and the SQL of [`crate::sql`]).
pub(crate) fn indicators(inst: &sipas_core::Instrument) -> Vec<Indicator> {
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
        constant: inst.constant(inst.root()).expect("root constant"),
        bounds: inst.bounds(inst.root()).expect("root scale"),
    }];
    for (want, kind) in [
        (GroupKind::Part, IndicatorKind::Part),
        (GroupKind::Element, IndicatorKind::Element),
        (GroupKind::Index, IndicatorKind::Index),
        (GroupKind::Composite, IndicatorKind::Composite),
    ] {
        for g in inst.reported_groups() {
            if g.kind == want {
                ind.push(Indicator {
                    id: g.id.clone(),
                    kind,
                    coefs: sparse(inst.coefficients(&g.id).expect("group coefficients")),
                    constant: inst.constant(&g.id).expect("group constant"),
                    bounds: g.scale.bounds(),
                });
            }
        }
    }
    // The item rows: one per test (the item's share when it has one).
    for (k, id) in inst.test_ids().into_iter().enumerate() {
        ind.push(Indicator {
            id: id.to_string(),
            kind: IndicatorKind::Item,
            coefs: vec![(k, 100.0)],
            constant: 0.0,
            bounds: sipas_core::index::LevelScale::PERCENT.bounds(),
        });
    }
    ind
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
    pub(super) fn new(responses: &Responses) -> Self {
        let inst = responses.instrument();
        let j = inst.tests().len();
        let ind = indicators(inst);
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
        let mut v = self.ind[i].constant;
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
            let mut v = ind.constant;
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
    pub(super) cell_domains: Vec<[u32; DOMAINS_PER_CELL]>,
    /// Every unit's arm in the comparison ([`crate::arms`]).
    pub(super) arms: crate::arms::Arms,
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

    /// Position in `order` of PSU `p`'s first row (`p` = the number of
    /// PSUs: the end).
    pub(super) fn psu_pos(&self, p: usize) -> usize {
        self.psu_bounds.as_ref().map_or(p, |b| b[p] as usize)
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

/// A sparse map keyed by (stratum, domain), in insertion order.
pub(super) struct KeyMap<T> {
    pub(super) index: HashMap<(u32, u32), usize>,
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

    /// Items sorted by (domain, stratum) (each key is there once: an unstable sort, in
    /// parallel, gives the one order).
    pub(super) fn into_sorted(mut self) -> Vec<((u32, u32), T)>
    where
        T: Send,
    {
        self.items.par_sort_unstable_by_key(|((h, d), _)| (*d, *h));
        self.items
    }
}

/// Domains of a cell (its unit, its arm, its district and its kind).
pub(super) const DOMAINS_PER_CELL: usize = 4;

/// A domain's linearization tables: the influence of an item (and of each
/// indicator term) takes one value per answer state (index `state & 3`,
/// slot 3 unused).
pub(super) struct LinTable {
    /// `item[jj][state]` = (s − R_j·a)/X_j (0 when X_j = 0).
    pub(super) item: Vec<[f64; 4]>,
    /// `term[q][state]` = c_q · `item[terms[q]][state]`: the term's
    /// contribution for a row of weight 1.
    pub(super) term: Vec<[f64; 4]>,
}

impl LinTable {
    pub(super) fn new(model: &Model, t: &ItemTotals) -> Self {
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
