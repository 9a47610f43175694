//! Any survey index as data: how each item's answers become an indicator,
//! and how indicators roll up into sub-dimensions, dimensions and indices
//! with weights and a scale per level.
//!
//! Every indicator an item can give is an affine function of *shares*:
//! share of answers passing a [`Test`] (at least a threshold, or in a set
//! of codes) among the item's valid answers. A Likert mean on `lo..=hi` is
//! `lo + Σ_{t=lo+1..=hi} share(code ≥ t)` (exactly), so it rescales to
//! `Σ_t share(code ≥ t) / (hi − lo)` on \[0, 1\]; a whole-number item on a
//! range is read the same way, reversed for `direction = "down"`. Each group
//! is the weighted mean of its children on \[0, 1\], reported on its own
//! scale `lo + (hi − lo) · value`. So every group's value is
//! `a + Σₖ cₖ · shareₖ` over the instrument's *tests* ([`IndexModel::tests`]),
//! and its design-based variance comes from linearising those shares, as for
//! the SIPAS items. A SIPAS instrument (Likert items, "satisfied" shares,
//! equal weights) compiles to one test per item and the coefficients
//! [`crate::Instrument::coefficients`] always gave.

use serde::Deserialize;

/// How an item's answers are coded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// Codes of the instrument's answer scale (`[scale]`).
    #[default]
    Likert,
    /// Two codes: `yes` and `no`.
    YesNo,
    /// One of the listed `codes`.
    Choice,
    /// A whole number from `min` to `max`.
    Numeric,
}

/// What an item contributes to its group, on \[0, 1\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorRule {
    /// Share of answers at or above `threshold` (Likert default, with the
    /// scale's `satisfied_min`).
    ShareAtLeast,
    /// Share of `yes` answers (yes/no default).
    ShareYes,
    /// Share of answers among `share_in` (choice default).
    ShareIn,
    /// The mean answer, rescaled from the item's range to \[0, 1\].
    Mean,
    /// A numeric answer rescaled from its range to \[0, 1\] (`direction`
    /// `down`: 1 at the minimum). Numeric default.
    Rescaled,
}

/// Which end of a numeric item is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better.
    #[default]
    Up,
    /// Smaller is better.
    Down,
}

/// The test a share counts: answers at or above a code, or in a set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Test {
    /// `code ≥ t`.
    AtLeast(u8),
    /// `code ∈ set` (sorted, distinct).
    In(Vec<u8>),
}

impl Test {
    /// Whether a valid answer passes.
    pub fn passes(&self, code: u8) -> bool {
        match self {
            Test::AtLeast(t) => code >= *t,
            Test::In(set) => set.binary_search(&code).is_ok(),
        }
    }
}

/// One share the index is built from: of item `item`'s valid answers, those
/// passing `test`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShareTest {
    /// The item, by its position in the instrument.
    pub item: usize,
    /// What counts.
    pub test: Test,
}

/// `intercept + Σₖ coef[k] · share[k]` over [`IndexModel::tests`].
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    /// The constant term.
    pub intercept: f64,
    /// One coefficient per test.
    pub coef: Vec<f64>,
}

impl Affine {
    fn zero(n: usize) -> Self {
        Affine {
            intercept: 0.0,
            coef: vec![0.0; n],
        }
    }

    /// `self += w · other`.
    fn add_scaled(&mut self, w: f64, other: &Affine) {
        self.intercept += w * other.intercept;
        for (a, b) in self.coef.iter_mut().zip(&other.coef) {
            *a += w * b;
        }
    }

    /// The value at the given shares.
    pub fn eval(&self, shares: &[f64]) -> f64 {
        self.intercept
            + self
                .coef
                .iter()
                .zip(shares)
                .map(|(c, s)| c * s)
                .sum::<f64>()
    }
}

/// The reporting scale of a group: its value on \[0, 1\] is shown as
/// `lo + (hi − lo) · value`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelScale {
    /// The value shown for 0.
    pub lo: f64,
    /// The value shown for 1.
    pub hi: f64,
}

impl LevelScale {
    /// 0–100, the SIPAS scale (and the default).
    pub const PERCENT: LevelScale = LevelScale { lo: 0.0, hi: 100.0 };

    /// A value on \[0, 1\] on this scale.
    pub fn show(&self, unit: f64) -> f64 {
        self.lo + (self.hi - self.lo) * unit
    }

    /// The lowest and highest value shown.
    pub fn bounds(&self) -> (f64, f64) {
        (self.lo.min(self.hi), self.lo.max(self.hi))
    }
}

/// An item as the index model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRule {
    /// How its answers are coded.
    pub kind: ItemType,
    /// Its valid codes, sorted.
    pub valid: Vec<u8>,
    /// What it contributes, on \[0, 1\], as an affine function of its tests.
    pub rule: IndicatorRule,
    /// The tests it contributes and their coefficients, and a constant.
    pub parts: Vec<(Test, f64)>,
    /// The constant term of its indicator.
    pub intercept: f64,
}

/// The fields of an item that describe its coding and indicator, as read
/// from an instrument file's `[[items]]` (see `fixtures/instruments/` and
/// the README's "Describing an index").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemCoding {
    /// `likert` (default), `yes_no`, `choice` or `numeric`.
    pub kind: ItemType,
    /// Yes/no: the code of "yes".
    pub yes: Option<u8>,
    /// Yes/no: the code of "no".
    pub no: Option<u8>,
    /// Choice: the valid codes.
    pub codes: Vec<u8>,
    /// Numeric: the smallest valid answer.
    pub min: Option<u8>,
    /// Numeric: the largest valid answer.
    pub max: Option<u8>,
    /// What the item contributes (default by type: `share_at_least`,
    /// `share_yes`, `share_in`, `rescaled`).
    pub indicator: Option<IndicatorRule>,
    /// `share_at_least`: the lowest counted code (default: the scale's
    /// `satisfied_min`).
    pub threshold: Option<u8>,
    /// `share_in`: the counted codes.
    pub share_in: Vec<u8>,
    /// `rescaled`: which end is better.
    pub direction: Direction,
    /// Vietnamese labels of the codes (`["Có", "Không"]`), in code order,
    /// for yes/no and choice items.
    pub labels_vi: Vec<String>,
}

impl ItemCoding {
    /// The item's rule, given the instrument's Likert scale `(min, max,
    /// satisfied_min)`; `Err` says what is wrong.
    pub fn compile(&self, likert: (u8, u8, u8)) -> Result<ItemRule, String> {
        let range = |lo: u8, hi: u8| -> Vec<u8> { (lo..=hi).collect() };
        let valid: Vec<u8> = match self.kind {
            ItemType::Likert => range(likert.0, likert.1),
            ItemType::YesNo => match (self.yes, self.no) {
                (Some(y), Some(n)) if y != n => {
                    let mut v = vec![y, n];
                    v.sort_unstable();
                    v
                }
                _ => return Err("a yes_no item needs two different codes `yes` and `no`".into()),
            },
            ItemType::Choice => {
                let mut v = self.codes.clone();
                v.sort_unstable();
                v.dedup();
                if v.len() < 2 {
                    return Err("a choice item needs at least two `codes`".into());
                }
                v
            }
            ItemType::Numeric => match (self.min, self.max) {
                (Some(lo), Some(hi)) if lo < hi => range(lo, hi),
                _ => return Err("a numeric item needs `min` < `max`".into()),
            },
        };
        let (lo, hi) = (valid[0], valid[valid.len() - 1]);
        if hi == u8::MAX {
            // 255 marks a missing answer in the pipeline's byte columns.
            return Err("codes and numeric answers must be at most 254".into());
        }
        let rule = self.indicator.unwrap_or(match self.kind {
            ItemType::Likert => IndicatorRule::ShareAtLeast,
            ItemType::YesNo => IndicatorRule::ShareYes,
            ItemType::Choice => IndicatorRule::ShareIn,
            ItemType::Numeric => IndicatorRule::Rescaled,
        });
        let ladder = |down: bool| -> (f64, Vec<(Test, f64)>) {
            // (x − lo)/(hi − lo) = Σ_{t=lo+1..=hi} 1{x ≥ t} / (hi − lo).
            let step = 1.0 / f64::from(hi - lo);
            let sign = if down { -1.0 } else { 1.0 };
            let parts = (lo + 1..=hi)
                .map(|t| (Test::AtLeast(t), sign * step))
                .collect();
            (if down { 1.0 } else { 0.0 }, parts)
        };
        let (intercept, parts) = match (rule, self.kind) {
            (IndicatorRule::ShareAtLeast, ItemType::Likert | ItemType::Numeric) => {
                let t = self.threshold.unwrap_or(likert.2);
                if !valid.contains(&t) {
                    return Err(format!("threshold {t} is not a valid code"));
                }
                (0.0, vec![(Test::AtLeast(t), 1.0)])
            }
            (IndicatorRule::ShareYes, ItemType::YesNo) => {
                (0.0, vec![(Test::In(vec![self.yes.unwrap_or(1)]), 1.0)])
            }
            (IndicatorRule::ShareIn, ItemType::Choice | ItemType::Likert | ItemType::YesNo) => {
                let mut set = self.share_in.clone();
                set.sort_unstable();
                set.dedup();
                if set.is_empty() || set.iter().any(|c| !valid.contains(c)) {
                    return Err("`share_in` must list valid codes".into());
                }
                (0.0, vec![(Test::In(set), 1.0)])
            }
            (IndicatorRule::Mean, ItemType::Likert | ItemType::Numeric) => ladder(false),
            (IndicatorRule::Rescaled, ItemType::Numeric) => {
                ladder(self.direction == Direction::Down)
            }
            (rule, kind) => {
                return Err(format!(
                    "indicator {rule:?} does not apply to a {kind:?} item"
                ));
            }
        };
        if self.kind != ItemType::Likert
            && !self.labels_vi.is_empty()
            && self.labels_vi.len() != valid.len()
        {
            return Err("`labels_vi` needs one label per valid code".into());
        }
        Ok(ItemRule {
            kind: self.kind,
            valid,
            rule,
            parts,
            intercept,
        })
    }
}

/// A node of the rollup for [`IndexModel::build`]: its id, parent, weight
/// among its siblings and reporting scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    /// The group's id.
    pub id: &'a str,
    /// Its parent group (`None` for an index).
    pub parent: Option<&'a str>,
    /// Its weight among its parent's children.
    pub weight: f64,
    /// Its reporting scale.
    pub scale: LevelScale,
}

/// A group's value on [0, 1]: the weighted mean of its items' indicators
/// and its child groups' values.
fn value(
    id: &str,
    depth: usize,
    items: &[(&str, &ItemRule, f64)],
    groups: &[Node<'_>],
    item_affine: &dyn Fn(usize) -> Affine,
    n: usize,
) -> Result<Affine, String> {
    if depth > groups.len() {
        return Err("the group tree has a cycle".into());
    }
    let mut children: Vec<(f64, Affine)> = Vec::new();
    for (j, (group, _, w)) in items.iter().enumerate() {
        if *group == id {
            children.push((*w, item_affine(j)));
        }
    }
    for g in groups.iter().filter(|g| g.parent == Some(id)) {
        children.push((
            g.weight,
            value(g.id, depth + 1, items, groups, item_affine, n)?,
        ));
    }
    if children.is_empty() {
        return Err(format!("group `{id}` has no children"));
    }
    let total: f64 = children.iter().map(|c| c.0).sum();
    if children.iter().any(|c| !(c.0.is_finite() && c.0 > 0.0)) {
        return Err(format!("group `{id}`: weights must be finite and > 0"));
    }
    let mut a = Affine::zero(n);
    for (w, c) in &children {
        a.add_scaled(w / total, c);
    }
    Ok(a)
}

/// An instrument's index model: the shares it is built from and each
/// group's affine form over them.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexModel {
    tests: Vec<ShareTest>,
    /// Per group (in the order given to [`IndexModel::build`]): its value on
    /// \[0, 1\].
    groups: Vec<(String, Affine, LevelScale)>,
}

impl IndexModel {
    /// Compiles items (their group, rule and weight) and groups: a group's
    /// value is the weighted mean of its items' indicators and its child
    /// groups' values (each on \[0, 1\]). Tests are numbered in item order,
    /// one per distinct (item, test).
    pub fn build(
        items: &[(&str, &ItemRule, f64)],
        groups: &[Node<'_>],
    ) -> Result<IndexModel, String> {
        let mut tests: Vec<ShareTest> = Vec::new();
        let mut item_parts: Vec<Vec<(usize, f64)>> = Vec::with_capacity(items.len());
        for (j, (_, rule, _)) in items.iter().enumerate() {
            let mut parts = Vec::with_capacity(rule.parts.len());
            for (test, c) in &rule.parts {
                let t = ShareTest {
                    item: j,
                    test: test.clone(),
                };
                let k = if let Some(k) = tests.iter().position(|x| *x == t) {
                    k
                } else {
                    tests.push(t);
                    tests.len() - 1
                };
                parts.push((k, *c));
            }
            item_parts.push(parts);
        }
        let n = tests.len();
        let item_affine = |j: usize| {
            let mut a = Affine::zero(n);
            a.intercept = items[j].1.intercept;
            for &(k, c) in &item_parts[j] {
                a.coef[k] += c;
            }
            a
        };
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            if g.scale.hi == g.scale.lo || !g.scale.lo.is_finite() || !g.scale.hi.is_finite() {
                return Err(format!("group `{}`: its scale needs lo ≠ hi", g.id));
            }
            let a = value(g.id, 0, items, groups, &item_affine, n)?;
            out.push((g.id.to_string(), a, g.scale));
        }
        Ok(IndexModel { tests, groups: out })
    }

    /// The shares every group is built from, in item order.
    pub fn tests(&self) -> &[ShareTest] {
        &self.tests
    }

    /// A group's value on \[0, 1\] as an affine form over [`Self::tests`].
    pub fn affine(&self, group: &str) -> Option<&Affine> {
        self.groups.iter().find(|g| g.0 == group).map(|g| &g.1)
    }

    /// A group's reporting scale.
    pub fn scale(&self, group: &str) -> Option<LevelScale> {
        self.groups.iter().find(|g| g.0 == group).map(|g| g.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn likert() -> (u8, u8, u8) {
        (1, 5, 4)
    }

    #[test]
    fn a_likert_mean_is_a_ladder_of_threshold_shares() {
        let c = ItemCoding {
            indicator: Some(IndicatorRule::Mean),
            ..ItemCoding::default()
        };
        let r = c.compile(likert()).unwrap();
        // Answers 1, 2, 5, 5: mean 3.25, on [0, 1] (3.25 − 1)/4 = 0.5625.
        let answers = [1u8, 2, 5, 5];
        let share = |t: &Test| {
            answers.iter().filter(|&&a| t.passes(a)).count() as f64 / answers.len() as f64
        };
        let v = r.intercept + r.parts.iter().map(|(t, c)| c * share(t)).sum::<f64>();
        assert!((v - 0.5625).abs() < 1e-15, "{v}");
        assert_eq!(r.parts.len(), 4);
    }

    #[test]
    fn a_numeric_item_reads_down_from_its_best_end() {
        let c = ItemCoding {
            kind: ItemType::Numeric,
            min: Some(0),
            max: Some(4),
            direction: Direction::Down,
            ..ItemCoding::default()
        };
        let r = c.compile(likert()).unwrap();
        // Answers 0 and 3: rescaled up (0 + 0.75)/2 = 0.375; down 0.625.
        let answers = [0u8, 3];
        let share = |t: &Test| {
            answers.iter().filter(|&&a| t.passes(a)).count() as f64 / answers.len() as f64
        };
        let v = r.intercept + r.parts.iter().map(|(t, c)| c * share(t)).sum::<f64>();
        assert!((v - 0.625).abs() < 1e-15, "{v}");
        assert_eq!(r.valid, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn yes_no_and_choice_items_count_their_codes() {
        let yn = ItemCoding {
            kind: ItemType::YesNo,
            yes: Some(1),
            no: Some(2),
            ..ItemCoding::default()
        }
        .compile(likert())
        .unwrap();
        assert_eq!(yn.parts, [(Test::In(vec![1]), 1.0)]);
        assert_eq!(yn.valid, [1, 2]);
        let ch = ItemCoding {
            kind: ItemType::Choice,
            codes: vec![4, 1, 2, 3],
            share_in: vec![3, 2],
            ..ItemCoding::default()
        }
        .compile(likert())
        .unwrap();
        assert_eq!(ch.parts, [(Test::In(vec![2, 3]), 1.0)]);
        assert!(
            ItemCoding {
                kind: ItemType::Choice,
                codes: vec![1, 2],
                share_in: vec![7],
                ..ItemCoding::default()
            }
            .compile(likert())
            .unwrap_err()
            .contains("share_in")
        );
        assert!(
            ItemCoding {
                kind: ItemType::YesNo,
                indicator: Some(IndicatorRule::Mean),
                yes: Some(1),
                no: Some(0),
                ..ItemCoding::default()
            }
            .compile(likert())
            .unwrap_err()
            .contains("does not apply")
        );
    }

    #[test]
    fn weights_and_scales_roll_up_as_data() {
        // d = (2·q1 + 1·s) / 3 on 1–10, s = mean(q2 yes share, q3 down).
        let q1 = ItemCoding::default().compile(likert()).unwrap();
        let q2 = ItemCoding {
            kind: ItemType::YesNo,
            yes: Some(1),
            no: Some(2),
            ..ItemCoding::default()
        }
        .compile(likert())
        .unwrap();
        let q3 = ItemCoding {
            kind: ItemType::Numeric,
            min: Some(0),
            max: Some(2),
            direction: Direction::Down,
            ..ItemCoding::default()
        }
        .compile(likert())
        .unwrap();
        let items = [("d", &q1, 2.0), ("s", &q2, 1.0), ("s", &q3, 1.0)];
        let ten = LevelScale { lo: 1.0, hi: 10.0 };
        let groups = [
            Node {
                id: "d",
                parent: None,
                weight: 1.0,
                scale: ten,
            },
            Node {
                id: "s",
                parent: Some("d"),
                weight: 1.0,
                scale: ten,
            },
        ];
        let m = IndexModel::build(&items, &groups).unwrap();
        // Tests: q1 ≥ 4, q2 = 1, q3 ≥ 1, q3 ≥ 2.
        assert_eq!(m.tests().len(), 4);
        let shares = [0.6, 0.5, 0.5, 0.25];
        // q3 down: 1 − (0.5 + 0.25)/2 = 0.625; s = (0.5 + 0.625)/2 = 0.5625;
        // d = (2·0.6 + 0.5625)/3 = 0.5875, shown 1 + 9·0.5875 = 6.2875.
        let d = m.affine("d").unwrap();
        assert!((d.eval(&shares) - 0.5875).abs() < 1e-15);
        assert!((m.scale("d").unwrap().show(d.eval(&shares)) - 6.2875).abs() < 1e-12);
        assert!((m.affine("s").unwrap().eval(&shares) - 0.5625).abs() < 1e-15);
        // A group without children, a zero weight, a flat scale: refused.
        let lone = [Node {
            id: "x",
            parent: None,
            weight: 1.0,
            scale: ten,
        }];
        assert!(
            IndexModel::build(&items, &lone)
                .unwrap_err()
                .contains("no children")
        );
        let zero = [("d", &q1, 0.0)];
        assert!(
            IndexModel::build(&zero, &groups[..1])
                .unwrap_err()
                .contains("weights")
        );
    }

    #[test]
    fn the_bundled_sipas_instruments_are_sipas_shaped() {
        // One test per item, the satisfied share, no constant: the hand-worked
        // coefficients are checked in instrument.rs.
        for id in ["sipas-2017", "sipas-2023"] {
            let inst = crate::bundled::instrument(id).unwrap();
            assert!(inst.is_sipas_shaped(), "{id}");
            assert_eq!(inst.test_ids(), inst.item_ids());
            for g in inst.groups() {
                assert_eq!(inst.constant(&g.id), Some(0.0));
                let c = inst.coefficients(&g.id).unwrap();
                assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{id} {}", g.id);
            }
        }
    }
}
