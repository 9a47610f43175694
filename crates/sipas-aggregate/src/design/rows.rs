//! The rows of `estimates.csv` ([`EstimateRows`]): the engine's are made one
//! at a time from each domain's totals when they are read ([`MadeRows`]), not
//! held as a table. With 10,000 units there are 9.5 million rows, 1.8 GB of
//! memory written once and read twice (the CSV and its Parquet twin); the
//! totals they are made from are a fifth of that and already in memory.
//!
//! Every reader makes a row with the same code ([`MadeRows::row`]): the CSV,
//! its twin, the tables' SEs and intervals ([`super::apply_design`]), the
//! staggered panels' SEs. Rows that come from elsewhere (read back from a CSV,
//! the PAR total's composite rows) are listed as they are.

use std::ops::Range;
use std::sync::Arc;

use polars::prelude::PlHashMap;
use rayon::prelude::*;
use sipas_core::Period;

use super::output::{CiMethod, DomainType, EstimateRow, IndicatorKind, Name};
use crate::stats;

/// What a row needs of one indicator.
#[derive(Debug)]
pub(super) struct RowIndicator {
    pub(super) name: Name,
    pub(super) kind: IndicatorKind,
    /// Its item's column (items; `usize::MAX` for the others).
    pub(super) item: usize,
    /// Its scale.
    pub(super) bounds: (f64, f64),
}

/// What a row needs of one domain: its totals, design counts, values and variances.
#[derive(Debug)]
pub(super) struct DomainParts {
    /// Type, name and period.
    pub(super) key: (DomainType, Name, Period),
    /// Rows and Σ w.
    pub(super) n: usize,
    pub(super) w: f64,
    /// PSUs and strata with rows in the domain.
    pub(super) psu_n: u32,
    pub(super) strata: u32,
    /// Per item: answers, Σ w·answered, PSUs with an answer and strata with such a PSU.
    pub(super) nv: Vec<usize>,
    pub(super) x: Vec<f64>,
    pub(super) psu_ans: Vec<u32>,
    pub(super) strata_ans: Vec<u32>,
    /// Per indicator: Σ z²/w, the value (`NaN` when undefined) and the variance.
    pub(super) szw: Vec<f64>,
    pub(super) values: Vec<f64>,
    pub(super) var: Vec<Option<f64>>,
}

impl DomainParts {
    /// The design df of item column `jj`: PSUs with an answer − strata with such a PSU.
    fn item_df(&self, jj: usize) -> f64 {
        f64::from(self.psu_ans[jj]) - f64::from(self.strata_ans[jj])
    }
}

/// The rows of one pass of the engine: every domain has the same rows, one per indicator
/// and two per item (logit, Wilson); row k is slot `k % slots` of domain `k / slots`.
#[derive(Debug)]
pub(super) struct MadeRows {
    domains: Vec<DomainParts>,
    ind: Vec<RowIndicator>,
    slots: Vec<(usize, CiMethod)>,
    level: sipas_core::Level,
    /// The normal quantile of the Wilson intervals.
    z: f64,
    /// The t quantile of each design df of the logit intervals (by its bits).
    t_by_df: PlHashMap<u64, Option<f64>>,
    min_n: usize,
    max_cv: f64,
    suppress_below: usize,
}

impl MadeRows {
    /// The rows of `domains` (in their order) for the indicators `ind`.
    pub(super) fn new(
        domains: Vec<DomainParts>,
        ind: Vec<RowIndicator>,
        level: sipas_core::Level,
        spec: &super::DesignSpec,
    ) -> Self {
        let slots: Vec<(usize, CiMethod)> = ind
            .iter()
            .enumerate()
            .flat_map(|(i, ind)| {
                if ind.kind == IndicatorKind::Item {
                    vec![(i, CiMethod::Logit), (i, CiMethod::Wilson)]
                } else {
                    vec![(i, CiMethod::Normal)]
                }
            })
            .collect();
        // The quantiles of the item intervals: z once, t once per design df.
        let mut t_by_df = PlHashMap::default();
        for d in &domains {
            for i in ind.iter().filter(|i| i.kind == IndicatorKind::Item) {
                let df = d.item_df(i.item);
                t_by_df
                    .entry(df.to_bits())
                    .or_insert_with(|| stats::t_quantile(level, df));
            }
        }
        MadeRows {
            domains,
            ind,
            slots,
            level,
            z: level.z(),
            t_by_df,
            min_n: spec.min_n,
            max_cv: spec.max_cv,
            suppress_below: spec.suppress_below,
        }
    }

    fn len(&self) -> usize {
        self.domains.len() * self.slots.len()
    }

    /// The domain of row `k`, and its slot: the indicator's place and the interval method.
    fn at(&self, k: usize) -> (&DomainParts, usize, CiMethod) {
        let (r, (i, method)) = (k / self.slots.len(), self.slots[k % self.slots.len()]);
        (&self.domains[r], i, method)
    }

    /// Row `k`: the estimate, its SE, interval, design effect, effective n, cv and flags.
    fn row(&self, k: usize) -> EstimateRow {
        self.row_named(k, Name::clone)
    }

    /// Row `k`, its names made by `name` from the domain's and the indicator's.
    fn row_named<'a, N>(&'a self, k: usize, name: impl Fn(&'a Name) -> N) -> EstimateRow<N> {
        let (p, i, method) = self.at(k);
        let ind = &self.ind[i];
        let value = p.values[i];
        let value = value.is_finite().then_some(value);
        let se = value.and(p.var[i]).map(f64::sqrt);
        let (n, w_ind, df) = if ind.kind == IndicatorKind::Item {
            (p.nv[ind.item], p.x[ind.item], p.item_df(ind.item))
        } else {
            (p.n, p.w, f64::from(p.psu_n) - f64::from(p.strata))
        };
        let vsrs = w_ind * p.szw[i] / (n as f64 - 1.0);
        let deff = match (se, n > 1 && vsrs > 0.0 && vsrs.is_finite()) {
            (Some(se), true) => Some(se * se / vsrs),
            _ => None,
        };
        let n_eff = deff.filter(|&x| x > 0.0).map(|x| n as f64 / x);
        let cv = match (value, se) {
            (Some(v), Some(se)) if v > 0.0 => Some(se / v),
            _ => None,
        };
        let (lo, hi) = match method {
            CiMethod::Normal => {
                let ci = crate::indices::Estimate::with_se_in(value, se, self.level, ind.bounds);
                (ci.lo, ci.hi)
            }
            CiMethod::Logit | CiMethod::Wilson => {
                let p = value.map(|v| v / 100.0);
                let ci = if method == CiMethod::Logit {
                    match (p, se) {
                        (Some(p), Some(se)) => {
                            stats::logit_ci_t(p, se / 100.0, || self.t_by_df[&df.to_bits()])
                        }
                        _ => None,
                    }
                } else {
                    p.and_then(|p| stats::wilson_z(p, n_eff.unwrap_or(n as f64), self.z))
                };
                (ci.map(|c| 100.0 * c.0), ci.map(|c| 100.0 * c.1))
            }
        };
        let (dtype, domain, period) = &p.key;
        EstimateRow {
            domain_type: *dtype,
            domain: name(domain),
            period: *period,
            indicator: name(&ind.name),
            indicator_kind: ind.kind,
            n,
            value,
            se,
            lo,
            hi,
            ci_method: method,
            deff,
            n_eff,
            cv,
            reliable: n >= self.min_n && cv.is_some_and(|cv| cv <= self.max_cv),
            suppressed: n < self.suppress_below,
            df: Some(df),
        }
    }
}

/// A domain's type, name and period.
type DomainKeyRef<'a> = (DomainType, &'a str, Period);

/// One run of rows: made by the engine, or listed.
#[derive(Debug, Clone)]
enum Part {
    Made(Arc<MadeRows>),
    Listed(Vec<EstimateRow>),
}

impl Part {
    fn len(&self) -> usize {
        match self {
            Part::Made(m) => m.len(),
            Part::Listed(v) => v.len(),
        }
    }
}

/// The rows of `estimates.csv`, in order: sorted by domain type, domain, period, indicator
/// (index, parts, elements in instrument order, items), then ci method. The engine's rows
/// are made when read (see the module's documentation), so reading returns rows by value.
#[derive(Clone, Default)]
pub struct EstimateRows {
    parts: Vec<Part>,
    /// Where each part starts (and the number of rows last).
    starts: Vec<usize>,
}

impl EstimateRows {
    pub(super) fn made(rows: MadeRows) -> Self {
        let mut out = EstimateRows::default();
        out.push(Part::Made(Arc::new(rows)));
        out
    }

    fn push(&mut self, part: Part) {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        let end = self.len() + part.len();
        self.parts.push(part);
        self.starts.push(end);
    }

    /// Appends the rows of `other` after these.
    pub fn append(&mut self, other: EstimateRows) {
        for p in other.parts {
            self.push(p);
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The part of row `k` and its position there.
    fn locate(&self, k: usize) -> (&Part, usize) {
        let p = self.starts.partition_point(|&s| s <= k) - 1;
        (&self.parts[p], k - self.starts[p])
    }

    /// Row `k` (`k < len()`).
    fn row(&self, k: usize) -> EstimateRow {
        match self.locate(k) {
            (Part::Made(m), j) => m.row(j),
            (Part::Listed(v), j) => v[j].clone(),
        }
    }

    /// Row `k` (`k < len()`) with its names borrowed.
    fn row_view(&self, k: usize) -> EstimateRow<&str> {
        match self.locate(k) {
            (Part::Made(m), j) => m.row_named(j, Name::as_str),
            (Part::Listed(v), j) => v[j].view(),
        }
    }

    /// Row `k`, if there is one.
    pub fn get(&self, k: usize) -> Option<EstimateRow> {
        (k < self.len()).then(|| self.row(k))
    }

    /// The first row.
    pub fn first(&self) -> Option<EstimateRow> {
        self.get(0)
    }

    /// Every row in order, one at a time.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EstimateRow> + '_ {
        (0..self.len()).map(|k| self.row(k))
    }

    /// Every row in order, made in parallel.
    pub fn to_vec(&self) -> Vec<EstimateRow> {
        let mut out = Vec::new();
        self.fill(0..self.len(), &mut out);
        out
    }

    /// The rows of `range` into `out` (replacing its content, keeping its memory), made in
    /// parallel.
    pub fn fill(&self, range: Range<usize>, out: &mut Vec<EstimateRow>) {
        range
            .into_par_iter()
            .map(|k| self.row(k))
            .collect_into_vec(out);
    }

    /// [`EstimateRows::fill`] with the rows' names borrowed (what the files are written from:
    /// no reference counted per row on names that millions of rows share).
    pub fn fill_views<'a>(&'a self, range: Range<usize>, out: &mut Vec<EstimateRow<&'a str>>) {
        range
            .into_par_iter()
            .map(|k| self.row_view(k))
            .collect_into_vec(out);
    }

    /// The periods of the rows, sorted, each once (without making the rows).
    pub fn periods(&self) -> Vec<Period> {
        let mut out: Vec<Period> = self.runs().into_iter().map(|(key, ..)| key.2).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The domain and indicator of row `k` (`k < len()`), without making the row.
    fn key(&self, k: usize) -> (DomainKeyRef<'_>, (&str, CiMethod)) {
        match self.locate(k) {
            (Part::Made(m), j) => {
                let (p, i, method) = m.at(j);
                let ind = &m.ind[i];
                let (t, d, period) = &p.key;
                ((*t, d.as_str(), *period), (ind.name.as_str(), method))
            }
            (Part::Listed(v), j) => {
                let r = &v[j];
                (
                    (r.domain_type, r.domain.as_str(), r.period),
                    (r.indicator.as_str(), r.ci_method),
                )
            }
        }
    }

    /// The runs of consecutive rows of one domain × period, in order, each with the engine's
    /// rows it is one domain of (`None` for listed rows).
    fn runs(&self) -> Vec<(DomainKeyRef<'_>, Range<usize>, Option<&MadeRows>)> {
        let mut out = Vec::new();
        for (part, &start) in self.parts.iter().zip(&self.starts) {
            match part {
                Part::Made(m) => {
                    let s = m.slots.len();
                    for (r, p) in m.domains.iter().enumerate() {
                        let (t, d, period) = &p.key;
                        let first = start + r * s;
                        out.push(((*t, d.as_str(), *period), first..first + s, Some(&**m)));
                    }
                }
                Part::Listed(v) => {
                    let mut a = 0;
                    while a < v.len() {
                        let r = &v[a];
                        let key = (r.domain_type, r.domain.as_str(), r.period);
                        let same = |x: &EstimateRow| {
                            x.domain_type == key.0 && x.period == key.2 && x.domain == key.1
                        };
                        let b = a + v[a..].iter().take_while(|x| same(x)).count();
                        out.push((key, start + a..start + b, None));
                        a = b;
                    }
                }
            }
        }
        out
    }
}

impl From<Vec<EstimateRow>> for EstimateRows {
    fn from(rows: Vec<EstimateRow>) -> Self {
        let mut out = EstimateRows::default();
        out.push(Part::Listed(rows));
        out
    }
}

impl<'a> IntoIterator for &'a EstimateRows {
    type Item = EstimateRow;
    type IntoIter = Box<dyn ExactSizeIterator<Item = EstimateRow> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Equal when they hold the same rows in the same order.
impl PartialEq for EstimateRows {
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len() && self.iter().zip(o.iter()).all(|(a, b)| a == b)
    }
}

impl std::fmt::Debug for EstimateRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Where each row of a unit or group domain is: the rows of one domain × period are
/// together (the engine's order), each domain's indicators in the same order, so a row is
/// found from its domain's first row and its indicator's offset there (checked, with a scan
/// of the domain's rows when the offset does not hold). With 10,000 units that is 120,000
/// keys instead of 5 million (and no hashing of indicator names); only the rows looked up
/// are made.
pub(crate) struct RowIndex<'a> {
    rows: &'a EstimateRows,
    /// (type, domain, period) → its rows, and whether they are one domain of the engine's
    /// rows the offsets come from (every such domain has the same indicators in the same
    /// order: an offset then holds without checking the row's key).
    domains: PlHashMap<DomainKeyRef<'a>, (Range<usize>, bool)>,
    /// (indicator, ci method) → its offset in a domain's rows (the first domain's).
    offsets: PlHashMap<(&'a str, CiMethod), usize>,
    /// The later runs of a domain whose rows are not together (none in the engine's order).
    scattered: PlHashMap<DomainKeyRef<'a>, Vec<Range<usize>>>,
}

impl<'a> RowIndex<'a> {
    pub(crate) fn new(rows: &'a EstimateRows) -> Self {
        let mut domains = PlHashMap::default();
        let mut offsets = PlHashMap::default();
        let mut scattered = PlHashMap::default();
        // The engine's rows of the first run, from which the offsets are taken.
        let mut laid_out: Option<Option<&MadeRows>> = None;
        for (key, run, made) in rows.runs() {
            if !matches!(key.0, DomainType::Unit | DomainType::Group) {
                continue;
            }
            let first = *laid_out.get_or_insert(made);
            let standard = matches!((first, made), (Some(a), Some(b)) if std::ptr::eq(a, b));
            if domains.contains_key(&key) {
                // Not the engine's order: the domain's rows are in several runs.
                scattered
                    .entry(key)
                    .or_insert_with(Vec::new)
                    .push(run.clone());
            } else {
                domains.insert(key, (run.clone(), standard));
            }
            if offsets.is_empty() {
                for (j, k) in run.enumerate() {
                    offsets.entry(rows.key(k).1).or_insert(j);
                }
            }
        }
        RowIndex {
            rows,
            domains,
            offsets,
            scattered,
        }
    }

    /// The row of `indicator` by `method` in domain `(t, d)` of period `p`.
    pub(crate) fn get(
        &self,
        t: DomainType,
        d: &str,
        p: Period,
        indicator: &str,
        method: CiMethod,
    ) -> Option<EstimateRow<&'a str>> {
        self.domain(t, d, p)?.get(indicator, method)
    }

    /// Domain `(t, d)` of period `p`, to look up several of its rows.
    pub(crate) fn domain<'k>(
        &'k self,
        t: DomainType,
        d: &'k str,
        p: Period,
    ) -> Option<Domain<'a, 'k>> {
        let key = (t, d, p);
        let (rows, standard) = self.domains.get(&key)?.clone();
        Some(Domain {
            index: self,
            key,
            rows,
            standard,
        })
    }
}

/// The rows of one domain × period of a [`RowIndex`].
pub(crate) struct Domain<'a, 'k> {
    index: &'k RowIndex<'a>,
    key: DomainKeyRef<'k>,
    rows: Range<usize>,
    /// The rows are laid out as the domain the offsets come from.
    standard: bool,
}

impl<'a> Domain<'a, '_> {
    /// The domain's row of `indicator` by `method`, its names borrowed.
    pub(crate) fn get(&self, indicator: &str, method: CiMethod) -> Option<EstimateRow<&'a str>> {
        let all = self.index.rows;
        let is = |k: usize| all.key(k).1 == (indicator, method);
        let at = self
            .index
            .offsets
            .get(&(indicator, method))
            .map(|&j| self.rows.start + j)
            .filter(|&k| k < self.rows.end && (self.standard || is(k)));
        let k = at
            .or_else(|| self.rows.clone().find(|&k| is(k)))
            .or_else(|| {
                self.index
                    .scattered
                    .get(&self.key)?
                    .iter()
                    .find_map(|rg| rg.clone().find(|&k| is(k)))
            })?;
        Some(all.row_view(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: DomainType, d: &str, p: &str, ind: &str, m: CiMethod, v: f64) -> EstimateRow {
        EstimateRow {
            domain_type: t,
            domain: d.into(),
            period: p.parse().unwrap(),
            indicator: ind.into(),
            indicator_kind: IndicatorKind::Item,
            n: 1,
            value: Some(v),
            se: None,
            lo: None,
            hi: None,
            ci_method: m,
            deff: None,
            n_eff: None,
            cv: None,
            reliable: false,
            suppressed: false,
            df: None,
        }
    }

    /// Rows are found by offset in the engine's order, by a scan in a domain
    /// laid out otherwise, and in a domain whose rows are in two runs.
    #[test]
    fn every_row_is_found_whatever_the_layout() {
        use CiMethod::{Logit, Normal, Wilson};
        use DomainType::{District, Group, Unit};
        let rows = vec![
            row(Unit, "05443", "2024Q1", "sipas", Normal, 1.0),
            row(Unit, "05443", "2024Q1", "q1", Logit, 2.0),
            row(Unit, "05443", "2024Q1", "q1", Wilson, 3.0),
            // Another layout: the item first.
            row(Unit, "05446", "2024Q1", "q1", Wilson, 4.0),
            row(Unit, "05446", "2024Q1", "sipas", Normal, 5.0),
            row(District, "Đại Từ", "2024Q1", "sipas", Normal, 6.0),
            row(Group, "pilot", "2024Q1", "sipas", Normal, 7.0),
            // 05443 again, after other domains.
            row(Unit, "05443", "2024Q1", "q2", Wilson, 8.0),
        ];
        let rows = EstimateRows::from(rows);
        let ix = RowIndex::new(&rows);
        let p: Period = "2024Q1".parse().unwrap();
        let v = |t, d, ind, m| ix.get(t, d, p, ind, m).and_then(|r| r.value);
        assert_eq!(v(Unit, "05443", "sipas", Normal), Some(1.0));
        assert_eq!(v(Unit, "05443", "q1", Wilson), Some(3.0));
        assert_eq!(v(Unit, "05446", "q1", Wilson), Some(4.0));
        assert_eq!(v(Unit, "05446", "sipas", Normal), Some(5.0));
        assert_eq!(v(Group, "pilot", "sipas", Normal), Some(7.0));
        assert_eq!(v(Unit, "05443", "q2", Wilson), Some(8.0));
        // Districts are not indexed; absent rows are none.
        assert_eq!(v(District, "Đại Từ", "sipas", Normal), None);
        assert_eq!(v(Unit, "05446", "q1", Logit), None);
        assert_eq!(v(Unit, "05500", "sipas", Normal), None);
    }

    /// Two domains of an index and an item (a row for the index, a logit and a Wilson row
    /// for the item), made; then a listed row after them.
    fn made_and_listed() -> EstimateRows {
        let p = |q: &str| -> Period { q.parse().unwrap() };
        let parts = |d: &str, q: &str, share: f64| DomainParts {
            key: (DomainType::Unit, d.into(), p(q)),
            n: 40,
            w: 40.0,
            psu_n: 40,
            strata: 1,
            nv: vec![40],
            x: vec![40.0],
            psu_ans: vec![40],
            strata_ans: vec![1],
            szw: vec![400.0, 40.0 * share * (1.0 - share) * 1e4 / 40.0],
            values: vec![80.0, 100.0 * share],
            var: vec![Some(4.0), Some(1e4 * share * (1.0 - share) / 39.0)],
        };
        let ind = vec![
            RowIndicator {
                name: "sipas".into(),
                kind: IndicatorKind::Index,
                item: 0,
                bounds: (0.0, 100.0),
            },
            RowIndicator {
                name: "q1".into(),
                kind: IndicatorKind::Item,
                item: 0,
                bounds: (0.0, 100.0),
            },
        ];
        let made = MadeRows::new(
            vec![
                parts("05443", "2024Q1", 0.5),
                parts("05446", "2024Q2", 0.25),
            ],
            ind,
            sipas_core::Level::DEFAULT,
            &crate::DesignSpec::default(),
        );
        let mut rows = EstimateRows::made(made);
        rows.append(EstimateRows::from(vec![row(
            DomainType::Group,
            "pilot",
            "2024Q1",
            "sipas",
            CiMethod::Normal,
            7.0,
        )]));
        rows
    }

    /// Rows made by two passes whose indicators come in other orders: a domain of the second
    /// is not read at the first one's offsets (they do not hold there), every row is found.
    #[test]
    fn a_second_pass_in_another_order_is_checked() {
        use CiMethod::{Logit, Normal, Wilson};
        let first = made_and_listed();
        let Part::Made(m) = &first.parts[0] else {
            panic!("made rows first")
        };
        let p = |q: &str| -> Period { q.parse().unwrap() };
        let domain = |d: &str| {
            let mut parts = clone_parts(&m.domains[0]);
            parts.key = (DomainType::Unit, d.into(), p("2024Q3"));
            parts
        };
        // The second pass: the item first, then the index.
        let (d1, d2) = (domain("05450"), domain("05452"));
        let ind: Vec<RowIndicator> = m.ind.iter().rev().map(clone_indicator).collect();
        let swap = |mut d: DomainParts| {
            d.szw.reverse();
            d.values.reverse();
            d.var.reverse();
            d
        };
        let second = MadeRows::new(
            vec![swap(d1), swap(d2)],
            ind,
            sipas_core::Level::DEFAULT,
            &crate::DesignSpec::default(),
        );
        let mut all_rows = first.clone();
        all_rows.append(EstimateRows::made(second));
        let ix = RowIndex::new(&all_rows);
        let all: Vec<EstimateRow> = all_rows.iter().collect();
        for r in &all {
            if !matches!(r.domain_type, DomainType::Unit | DomainType::Group) {
                continue;
            }
            let found = ix.get(
                r.domain_type,
                &r.domain,
                r.period,
                &r.indicator,
                r.ci_method,
            );
            assert_eq!(
                found,
                Some(r.view()),
                "{} {} {:?}",
                r.domain,
                r.indicator,
                r.ci_method
            );
        }
        // The second pass's index row is its last: 80 points as the first pass's.
        let idx = ix
            .get(DomainType::Unit, "05452", p("2024Q3"), "sipas", Normal)
            .unwrap();
        assert_eq!(idx.value, Some(80.0));
        assert!(
            ix.get(DomainType::Unit, "05450", p("2024Q3"), "q1", Logit)
                .is_some()
        );
        assert!(
            ix.get(DomainType::Unit, "05450", p("2024Q3"), "q1", Wilson)
                .is_some()
        );
    }

    fn clone_parts(d: &DomainParts) -> DomainParts {
        DomainParts {
            key: d.key.clone(),
            n: d.n,
            w: d.w,
            psu_n: d.psu_n,
            strata: d.strata,
            nv: d.nv.clone(),
            x: d.x.clone(),
            psu_ans: d.psu_ans.clone(),
            strata_ans: d.strata_ans.clone(),
            szw: d.szw.clone(),
            values: d.values.clone(),
            var: d.var.clone(),
        }
    }

    fn clone_indicator(i: &RowIndicator) -> RowIndicator {
        RowIndicator {
            name: i.name.clone(),
            kind: i.kind,
            item: i.item,
            bounds: i.bounds,
        }
    }

    /// Row k of made rows is slot k % 3 of domain k / 3; what the index reads of a row
    /// without making it (its domain and indicator) is what the made row holds; every way of
    /// reading the rows gives the same rows.
    #[test]
    fn made_rows_are_read_the_same_every_way() {
        use CiMethod::{Logit, Normal, Wilson};
        let rows = made_and_listed();
        assert_eq!(rows.len(), 7);
        let all: Vec<EstimateRow> = rows.iter().collect();
        let keys: Vec<(&str, &str, CiMethod)> = all
            .iter()
            .map(|r| (r.domain.as_str(), r.indicator.as_str(), r.ci_method))
            .collect();
        assert_eq!(
            keys,
            [
                ("05443", "sipas", Normal),
                ("05443", "q1", Logit),
                ("05443", "q1", Wilson),
                ("05446", "sipas", Normal),
                ("05446", "q1", Logit),
                ("05446", "q1", Wilson),
                ("pilot", "sipas", Normal),
            ]
        );
        for (k, r) in all.iter().enumerate() {
            let ((t, d, p), (ind, m)) = rows.key(k);
            assert_eq!(
                (t, d, p, ind, m),
                (
                    r.domain_type,
                    r.domain.as_str(),
                    r.period,
                    r.indicator.as_str(),
                    r.ci_method
                )
            );
        }
        assert_eq!(rows.to_vec(), all);
        let mut part = vec![all[6].clone()];
        rows.fill(2..5, &mut part);
        assert_eq!(part, all[2..5]);
        assert_eq!(rows.get(7), None);
        assert_eq!(rows.first().as_ref(), all.first());
        let runs: Vec<_> = rows.runs().into_iter().map(|(k, r, _)| (k.1, r)).collect();
        assert_eq!(runs, [("05443", 0..3), ("05446", 3..6), ("pilot", 6..7)]);
        let q = |s: &str| -> Period { s.parse().unwrap() };
        assert_eq!(rows.periods(), [q("2024Q1"), q("2024Q2")]);
        // The numbers of a made row, by hand: the index 80 ± 1.96·2; the item's share 50 %
        // with SE √(10⁴·0.25/39), its Wilson interval on n_eff = n / deff.
        let idx = &all[0];
        assert_eq!((idx.value, idx.se, idx.n), (Some(80.0), Some(2.0), 40));
        let m = sipas_core::Level::DEFAULT.normal_multiplier();
        assert!((idx.lo.unwrap() - (80.0 - m * 2.0)).abs() < 1e-12);
        assert_eq!(idx.df, Some(39.0));
        let w = &all[2];
        let se = (1e4 * 0.25 / 39.0f64).sqrt();
        assert!((w.se.unwrap() - se).abs() < 1e-12);
        let vsrs = 40.0 * (40.0 * 0.25 * 1e4 / 40.0) / 39.0;
        assert!((w.deff.unwrap() - se * se / vsrs).abs() < 1e-12);
        let (lo, hi) =
            crate::stats::wilson_z(0.5, 40.0 / w.deff.unwrap(), sipas_core::Level::DEFAULT.z())
                .unwrap();
        assert_eq!((w.lo, w.hi), (Some(100.0 * lo), Some(100.0 * hi)));
        // The index finds made rows by offset, and the listed group.
        let ix = RowIndex::new(&rows);
        let v = |t, d, p: &str, ind, m| ix.get(t, d, q(p), ind, m);
        assert_eq!(
            v(DomainType::Unit, "05446", "2024Q2", "q1", Wilson),
            Some(all[5].view())
        );
        assert_eq!(
            v(DomainType::Group, "pilot", "2024Q1", "sipas", Normal),
            Some(all[6].view())
        );
        assert_eq!(v(DomainType::Unit, "05446", "2024Q1", "q1", Wilson), None);
    }
}
