//! Questionnaires as data.
//!
//! An [`Instrument`] lists its items, the answer [`Scale`] of its Likert
//! items and a tree of [`Group`]s. Each item is coded as a Likert, yes/no,
//! choice or numeric answer and contributes an indicator on \[0, 1\] (a
//! share, a mean or a rescaled value: [`crate::index`]); every group's value
//! is the weighted mean of its children (equal weights unless the file says
//! otherwise), shown on the group's own scale (0–100 unless the file says
//! otherwise). So every group is an affine function of the *shares* of the
//! instrument's tests ([`Instrument::tests`]): [`Instrument::constant`] plus
//! 100 × Σₖ [`Instrument::coefficients`]ₖ · shareₖ. A SIPAS instrument (Likert
//! items counted as satisfied, equal weights, 0–100) has one test per item,
//! the item's satisfied share, and no constant. Instruments are read from
//! TOML; see `fixtures/instruments/` for the bundled ones.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::index::{
    Direction, IndexModel, IndicatorRule, ItemCoding, ItemRule, ItemType, LevelScale, Node,
    ShareTest, Test,
};
use crate::{Error, Result};

/// The answer scale of the satisfaction items.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// Lowest valid code (1).
    pub min: u8,
    /// Highest valid code (5).
    pub max: u8,
    /// Codes at or above this count as satisfied (4).
    pub satisfied_min: u8,
    /// Codes at or below this count as dissatisfied (2).
    pub dissatisfied_max: u8,
    /// Codes meaning "don't know" / "no answer" (read as missing, flagged).
    #[serde(default)]
    pub missing_codes: Vec<u16>,
    /// Vietnamese label of each code from `min` to `max`.
    pub labels_vi: Vec<String>,
    /// English gloss of each code from `min` to `max`.
    pub labels_en: Vec<String>,
}

impl Scale {
    /// Whether `code` is a valid answer.
    #[inline]
    pub fn is_valid(&self, code: u8) -> bool {
        (self.min..=self.max).contains(&code)
    }

    /// Whether `code` counts as satisfied.
    pub fn is_satisfied(&self, code: u8) -> bool {
        self.is_valid(code) && code >= self.satisfied_min
    }
}

/// One item (question).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Column name of the item in the canonical table (`sa1`).
    pub id: String,
    /// The group (element) it belongs to.
    pub group: String,
    /// The question in Vietnamese.
    pub text_vi: String,
    /// An English gloss.
    pub text_en: String,
    /// Its weight among its group's children (1).
    pub weight: f64,
    /// How its answers are coded and what it contributes, as written.
    pub coding: ItemCoding,
    /// The same, compiled: valid codes and the tests it contributes.
    pub rule: ItemRule,
    /// Its valid codes as a 256-bit set.
    valid: [u64; 4],
}

impl Item {
    /// Whether `code` is a valid answer to this item.
    #[inline]
    pub fn is_valid(&self, code: u8) -> bool {
        self.valid[usize::from(code >> 6)] >> (code & 63) & 1 == 1
    }
}

/// An item as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    group: String,
    text_vi: String,
    text_en: String,
    #[serde(default = "one")]
    weight: f64,
    #[serde(default, rename = "type")]
    kind: ItemType,
    #[serde(default)]
    yes: Option<u8>,
    #[serde(default)]
    no: Option<u8>,
    #[serde(default)]
    codes: Vec<u8>,
    #[serde(default)]
    min: Option<u8>,
    #[serde(default)]
    max: Option<u8>,
    #[serde(default)]
    indicator: Option<IndicatorRule>,
    #[serde(default)]
    threshold: Option<u8>,
    #[serde(default)]
    share_in: Vec<u8>,
    #[serde(default)]
    direction: Direction,
    #[serde(default)]
    labels_vi: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// A node of the rollup tree: the index of a group is the mean of its children.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Identifier, also the output column name (`access`, `service`, `sipas`).
    pub id: String,
    /// Parent group; `None` for the root (the overall index).
    #[serde(default)]
    pub parent: Option<String>,
    /// `index` (root), `part` or `element`.
    pub kind: GroupKind,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Its weight among its parent's children (1).
    #[serde(default = "one")]
    pub weight: f64,
    /// The scale it is shown on: `{ lo = 0.0, hi = 100.0 }` unless given
    /// (`{ lo = 1.0, hi = 10.0 }` for a PAPI dimension).
    #[serde(default = "percent")]
    pub scale: LevelScale,
}

fn percent() -> LevelScale {
    LevelScale::PERCENT
}

/// Level of a group in the rollup tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// The overall index (root).
    Index,
    /// A part: mean of its elements.
    Part,
    /// An element: mean of its items.
    Element,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    id: String,
    title_vi: String,
    title_en: String,
    source: String,
    scale: Scale,
    groups: Vec<Group>,
    items: Vec<RawItem>,
}

/// A questionnaire: items, scale and rollup.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// Identifier (`sipas-2023`).
    pub id: String,
    /// Vietnamese title.
    pub title_vi: String,
    /// English title.
    pub title_en: String,
    /// Legal source of the questionnaire.
    pub source: String,
    /// Answer scale.
    pub scale: Scale,
    groups: Vec<Group>,
    items: Vec<Item>,
    /// The shares every group is built from.
    tests: Vec<ShareTest>,
    /// Per test: its name in outputs (the item id when the item has one test).
    test_ids: Vec<String>,
    /// Per group: test coefficients (length = number of tests), in units of
    /// the group's scale ÷ 100.
    coefficients: HashMap<String, Vec<f64>>,
    /// Per group: the constant term, in units of its scale.
    constants: HashMap<String, f64>,
    root: String,
}

impl Instrument {
    /// Reads an instrument from a TOML file.
    pub fn from_path(path: &Path) -> Result<Self> {
        crate::source::parse_definition(path, Self::from_toml_str)
    }

    /// Parses an instrument definition; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let raw: RawInstrument = toml::from_str(text).map_err(|source| Error::Toml {
            origin: origin.to_string(),
            source,
        })?;
        Self::build(raw, origin)
    }

    fn build(raw: RawInstrument, origin: &str) -> Result<Self> {
        let invalid = |message: String| Error::Invalid {
            origin: origin.to_string(),
            message,
        };
        let s = &raw.scale;
        let n_codes = usize::from(s.max.saturating_sub(s.min)) + 1;
        if s.min > s.max
            || !(s.min..=s.max).contains(&s.satisfied_min)
            || !(s.min..=s.max).contains(&s.dissatisfied_max)
            || s.labels_vi.len() != n_codes
            || s.labels_en.len() != n_codes
        {
            return Err(invalid(
                "scale: min ≤ satisfied_min, dissatisfied_max ≤ max and one label per code are required"
                    .into(),
            ));
        }
        let mut ids = HashSet::new();
        let roots: Vec<&Group> = raw.groups.iter().filter(|g| g.parent.is_none()).collect();
        if roots.len() != 1 {
            return Err(invalid(format!(
                "exactly one group without a parent (the overall index) is required, found {}",
                roots.len()
            )));
        }
        let root = roots[0].id.clone();
        for g in &raw.groups {
            if !ids.insert(g.id.as_str()) {
                return Err(invalid(format!("duplicate id `{}`", g.id)));
            }
            if let Some(p) = &g.parent
                && !raw.groups.iter().any(|x| &x.id == p)
            {
                return Err(invalid(format!("group `{}`: unknown parent `{p}`", g.id)));
            }
        }
        for it in &raw.items {
            if !ids.insert(it.id.as_str()) {
                return Err(invalid(format!("duplicate id `{}`", it.id)));
            }
            match raw.groups.iter().find(|g| g.id == it.group) {
                Some(g) if g.kind == GroupKind::Element => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "item `{}`: group `{}` is not an element",
                        it.id, it.group
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "item `{}`: unknown group `{}`",
                        it.id, it.group
                    )));
                }
            }
        }
        if raw.items.is_empty() {
            return Err(invalid("no items".into()));
        }
        let likert = (s.min, s.max, s.satisfied_min);
        let mut items = Vec::with_capacity(raw.items.len());
        for it in raw.items {
            let coding = ItemCoding {
                kind: it.kind,
                yes: it.yes,
                no: it.no,
                codes: it.codes,
                min: it.min,
                max: it.max,
                indicator: it.indicator,
                threshold: it.threshold,
                share_in: it.share_in,
                direction: it.direction,
                labels_vi: it.labels_vi,
            };
            let rule = coding
                .compile(likert)
                .map_err(|m| invalid(format!("item `{}`: {m}", it.id)))?;
            let mut valid = [0u64; 4];
            for &c in &rule.valid {
                valid[usize::from(c >> 6)] |= 1 << (c & 63);
            }
            let item = Item {
                id: it.id,
                group: it.group,
                text_vi: it.text_vi,
                text_en: it.text_en,
                weight: it.weight,
                coding,
                rule,
                valid,
            };
            if let Some(c) = s
                .missing_codes
                .iter()
                .find(|&&c| u8::try_from(c).is_ok_and(|c| item.is_valid(c)))
            {
                return Err(invalid(format!(
                    "item `{}`: the missing code {c} is also a valid answer",
                    item.id
                )));
            }
            items.push(item);
        }
        let model = {
            let rows: Vec<(&str, &ItemRule, f64)> = items
                .iter()
                .map(|i| (i.group.as_str(), &i.rule, i.weight))
                .collect();
            let nodes: Vec<Node<'_>> = raw
                .groups
                .iter()
                .map(|g| Node {
                    id: &g.id,
                    parent: g.parent.as_deref(),
                    weight: g.weight,
                    scale: g.scale,
                })
                .collect();
            IndexModel::build(&rows, &nodes).map_err(invalid)?
        };
        let test_ids = test_names(&items, model.tests());
        let mut coefficients = HashMap::new();
        let mut constants = HashMap::new();
        for g in &raw.groups {
            let a = model.affine(&g.id).expect("every group is in the model");
            // Shown value = lo + (hi − lo)·(a₀ + Σ aₖ pₖ) = constant + 100 Σ cₖ pₖ.
            let factor = (g.scale.hi - g.scale.lo) / 100.0;
            let c: Vec<f64> = if factor == 1.0 {
                a.coef.clone()
            } else {
                a.coef.iter().map(|x| x * factor).collect()
            };
            coefficients.insert(g.id.clone(), c);
            constants.insert(g.id.clone(), g.scale.show(a.intercept));
        }
        Ok(Instrument {
            id: raw.id,
            title_vi: raw.title_vi,
            title_en: raw.title_en,
            source: raw.source,
            scale: raw.scale,
            groups: raw.groups,
            items,
            tests: model.tests().to_vec(),
            test_ids,
            coefficients,
            constants,
            root,
        })
    }

    /// Whether `code` is a valid answer to item `j` (by position).
    #[inline]
    pub fn is_valid(&self, j: usize, code: u8) -> bool {
        self.items[j].is_valid(code)
    }

    /// What a valid answer to item `j` is, for error messages: "an answer
    /// code 1–5" (Likert), "a whole number 0–10" (numeric), "one of the
    /// codes 1, 2" (yes/no, choice).
    pub fn expected_answer(&self, j: usize) -> String {
        let rule = &self.items[j].rule;
        match rule.kind {
            ItemType::Likert => {
                format!("an answer code {}–{}", self.scale.min, self.scale.max)
            }
            ItemType::Numeric => format!(
                "a whole number {}–{}",
                rule.valid[0],
                rule.valid[rule.valid.len() - 1]
            ),
            ItemType::YesNo | ItemType::Choice => {
                let codes: Vec<String> = rule.valid.iter().map(u8::to_string).collect();
                format!("one of the codes {}", codes.join(", "))
            }
        }
    }

    /// Why `code` is not a valid answer to item `j`: "answer code 7 is
    /// outside the scale 1–5" for a Likert item, else what is expected.
    pub fn invalid_answer(&self, j: usize, code: u8) -> String {
        if self.items[j].rule.kind == ItemType::Likert {
            format!(
                "answer code {code} is outside the scale {}–{}",
                self.scale.min, self.scale.max
            )
        } else {
            format!("answer code {code} is not {}", self.expected_answer(j))
        }
    }

    /// The items, in questionnaire order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The item ids, in questionnaire order.
    pub fn item_ids(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.id.as_str()).collect()
    }

    /// All groups, in definition order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The id of the overall index (the root group, `sipas`).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The groups reported as columns: every element, then every part, in
    /// definition order (the root is reported separately).
    pub fn reported_groups(&self) -> Vec<&Group> {
        let mut out: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::Element)
            .collect();
        out.extend(self.groups.iter().filter(|g| g.kind == GroupKind::Part));
        out
    }

    /// Test coefficients of a group: its value on its scale equals
    /// [`Self::constant`] + 100 · Σₖ cₖ · shareₖ over [`Self::tests`]. For a
    /// SIPAS instrument the tests are the items' satisfied shares, in item
    /// order.
    pub fn coefficients(&self, group: &str) -> Option<&[f64]> {
        self.coefficients.get(group).map(Vec::as_slice)
    }

    /// A group's value on its scale at the given shares of the tests:
    /// [`Self::constant`] + 100 · Σₖ cₖ · shareₖ (`None` for an unknown group).
    pub fn value_at(&self, group: &str, shares: &[f64]) -> Option<f64> {
        let c = self.coefficients(group)?;
        let sum: f64 = c.iter().zip(shares).map(|(c, p)| c * p).sum();
        Some(self.constant(group)? + 100.0 * sum)
    }

    /// The lowest and highest value of a group's scale ((0, 100) for SIPAS).
    pub fn bounds(&self, group: &str) -> Option<(f64, f64)> {
        self.group(group).map(|g| g.scale.bounds())
    }

    /// The constant term of a group on its scale (0 for every SIPAS group).
    pub fn constant(&self, group: &str) -> Option<f64> {
        self.constants.get(group).copied()
    }

    /// The shares the groups are built from: per test, its item (by
    /// position) and what counts.
    pub fn tests(&self) -> &[ShareTest] {
        &self.tests
    }

    /// Each test's name in outputs: the item's id when the item gives one
    /// share, else `item_geT` (code ≥ T) or `item_inA_B` (codes A, B).
    pub fn test_ids(&self) -> Vec<&str> {
        self.test_ids.iter().map(String::as_str).collect()
    }

    /// Whether every item gives exactly one test, in item order, counted as
    /// "at least the scale's `satisfied_min`" on the Likert scale, and every
    /// group is a 0–100 value without constant: the SIPAS shape, in which
    /// tests and items coincide.
    pub fn is_sipas_shaped(&self) -> bool {
        self.tests.len() == self.items.len()
            && self.tests.iter().enumerate().all(|(j, t)| {
                t.item == j
                    && self.items[j].rule.kind == ItemType::Likert
                    && t.test == Test::AtLeast(self.scale.satisfied_min)
            })
            && self.groups.iter().all(|g| g.scale == LevelScale::PERCENT)
            && self.constants.values().all(|&c| c == 0.0)
    }

    /// The direct children of a group: item ids and group ids.
    pub fn children(&self, group: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.group == group)
            .map(|i| i.id.as_str())
            .collect();
        out.extend(
            self.groups
                .iter()
                .filter(|g| g.parent.as_deref() == Some(group))
                .map(|g| g.id.as_str()),
        );
        out
    }
}

/// Output names of the tests: the item's id when it gives one test.
fn test_names(items: &[Item], tests: &[ShareTest]) -> Vec<String> {
    tests
        .iter()
        .map(|t| {
            let id = &items[t.item].id;
            if tests.iter().filter(|u| u.item == t.item).count() == 1 {
                return id.clone();
            }
            match &t.test {
                Test::AtLeast(c) => format!("{id}_ge{c}"),
                Test::In(set) => {
                    let codes: Vec<String> = set.iter().map(u8::to_string).collect();
                    format!("{id}_in{}", codes.join("_"))
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::bundled;

    #[test]
    fn sipas_2017_is_the_mean_of_five_elements() {
        let i = bundled::instrument("sipas-2017").unwrap();
        assert_eq!(i.items().len(), 22);
        let c = i.coefficients("sipas").unwrap();
        // access has 4 items: each weighs 1/5 · 1/4.
        assert!((c[0] - 0.05).abs() < 1e-15);
        // procedures has 5 items: 1/5 · 1/5.
        assert!((c[4] - 0.04).abs() < 1e-15);
        // staff has 6 items.
        assert!((c[9] - 1.0 / 30.0).abs() < 1e-15);
        assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let names: Vec<&str> = i.reported_groups().iter().map(|g| g.id.as_str()).collect();
        assert_eq!(
            names,
            ["access", "procedures", "staff", "results", "feedback"]
        );
    }

    #[test]
    fn sipas_2023_is_the_mean_of_two_parts() {
        let i = bundled::instrument("sipas-2023").unwrap();
        assert_eq!(i.items().len(), 33);
        let c = i.coefficients("sipas").unwrap();
        let id = |s: &str| i.items().iter().position(|x| x.id == s).unwrap();
        // pa1: 1/2 (policy) · 1/4 (accountability among 4 elements) · 1/2 (2 items).
        assert!((c[id("pa1")] - 1.0 / 16.0).abs() < 1e-15);
        // pc1: 1/2 · 1/4 · 1/8.
        assert!((c[id("pc1")] - 1.0 / 64.0).abs() < 1e-15);
        // sc1: 1/2 (service) · 1/5 (staff among 5 elements) · 1/5.
        assert!((c[id("sc1")] - 1.0 / 50.0).abs() < 1e-15);
        assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let policy = i.coefficients("policy").unwrap();
        assert!((policy.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(policy[id("sa1")], 0.0);
        let names: Vec<&str> = i.reported_groups().iter().map(|g| g.id.as_str()).collect();
        assert_eq!(
            names,
            [
                "accountability",
                "participation",
                "policy_quality",
                "impact",
                "access",
                "procedures",
                "staff",
                "results",
                "feedback",
                "policy",
                "service"
            ]
        );
        assert_eq!(i.children("sipas"), ["policy", "service"]);
    }

    #[test]
    fn item_types_weights_and_scales_give_constants_and_test_coefficients() {
        let text = include_str!("../../../fixtures/instruments/test/mixed.toml");
        let i = super::Instrument::from_toml_str(text, "mixed.toml").unwrap();
        assert!(!i.is_sipas_shaped());
        assert_eq!(
            i.test_ids(),
            [
                "q1", "q2", "q3_ge2", "q3_ge3", "q3_ge4", "q3_ge5", "q4_ge1", "q4_ge2", "q4_ge3",
                "q4_ge4"
            ]
        );
        let near = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-15)
        };
        // s1 on 1–10: 1 + 9·(p0 + p1)/2 = 1 + 100·(0.045 p0 + 0.045 p1).
        assert_eq!(i.constant("s1"), Some(1.0));
        let mut s1 = vec![0.0; 10];
        s1[..2].copy_from_slice(&[0.045, 0.045]);
        assert!(near(i.coefficients("s1").unwrap(), &s1));
        // s2 on 0–100: q3 mean on [0, 1] = Σ_{t=2..5} p(q3 ≥ t)/4; q4 down
        // = 1 − Σ_{t=1..4} p(q4 ≥ t)/4; s2 = 50 + 100·(±0.125 each).
        assert_eq!(i.constant("s2"), Some(50.0));
        let s2: Vec<f64> = (0..10)
            .map(|k| match k {
                2..=5 => 0.125,
                6..=9 => -0.125,
                _ => 0.0,
            })
            .collect();
        assert!(near(i.coefficients("s2").unwrap(), &s2));
        // d on 1–10 = 1 + 9·(2·s1 + s2)/3 over [0, 1] values:
        // constant 1 + 9/6 = 2.5; p0, p1: 0.09/3; q3, q4 tests: ±0.09/24.
        assert!((i.constant("d").unwrap() - 2.5).abs() < 1e-15);
        let d: Vec<f64> = (0..10)
            .map(|k| match k {
                0 | 1 => 0.03,
                2..=5 => 0.00375,
                _ => -0.00375,
            })
            .collect();
        assert!(near(i.coefficients("d").unwrap(), &d));
        // Valid codes follow each item's type; 9 stays a missing code.
        assert!(i.is_valid(1, 2) && !i.is_valid(1, 3));
        assert!(i.is_valid(3, 0) && i.is_valid(3, 4) && !i.is_valid(3, 5));
        assert!(!i.is_valid(0, 0) && i.is_valid(0, 5) && !i.is_valid(0, 9));
        // Respondents (q1, q2, q3, q4): (5, 1, 5, 0), (2, 2, 1, 4), (4, 1, 3, 1):
        // s1 on [0, 1] = (2/3 + 2/3)/2; s2 = (mean(4, 0, 2)/4 + 1 − mean(0, 4, 1)/4)/2.
        let rows = [[5u8, 1, 5, 0], [2, 2, 1, 4], [4, 1, 3, 1]];
        let shares: Vec<f64> = i
            .tests()
            .iter()
            .map(|t| rows.iter().filter(|r| t.test.passes(r[t.item])).count() as f64 / 3.0)
            .collect();
        let at = |g: &str| i.value_at(g, &shares).unwrap();
        let (u1, u2) = (2.0 / 3.0, f64::midpoint(0.5, 1.0 - 5.0 / 12.0));
        assert!((at("s1") - (1.0 + 9.0 * u1)).abs() < 1e-12);
        assert!((at("s2") - 100.0 * u2).abs() < 1e-12);
        assert!((at("d") - (1.0 + 9.0 * (2.0 * u1 + u2) / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn the_papi_module_scores_dimensions_as_sums_of_sub_dimensions() {
        let text = include_str!("../../../fixtures/instruments/papi-commune.toml");
        let i = super::Instrument::from_toml_str(text, "papi-commune.toml").unwrap();
        assert_eq!(i.items().len(), 22);
        // 21 yes/no and choice items give one share each; the meetings
        // count (0–4) gives four: pp4_ge1 … pp4_ge4.
        assert_eq!(i.tests().len(), 25);
        assert!(i.test_ids().contains(&"pp4_ge4"));
        // Any shares: each dimension (1–10) is the sum of its sub-dimension
        // scores (1/k to 10/k) and `papi` (3–30) the sum of the dimensions.
        let shares: Vec<f64> = (0..25)
            .map(|k| f64::from((k * 7 + 3) % 11) / 10.0)
            .collect();
        let at = |g: &str| i.value_at(g, &shares).unwrap();
        let mut dims = 0.0;
        for dim in [
            "papi_participation",
            "papi_transparency",
            "papi_accountability",
        ] {
            let subs: f64 = i.children(dim).iter().map(|s| at(s)).sum();
            assert!(
                (at(dim) - subs).abs() < 1e-12,
                "{dim}: {} vs {subs}",
                at(dim)
            );
            assert!((1.0..=10.0).contains(&at(dim)));
            dims += at(dim);
        }
        assert!((at("papi") - dims).abs() < 1e-12);
        // All shares 1: every dimension 10; all 0: every dimension 1.
        for (p, want) in [(1.0, 10.0), (0.0, 1.0)] {
            let v = i.constant("papi_transparency").unwrap()
                + 100.0
                    * p
                    * i.coefficients("papi_transparency")
                        .unwrap()
                        .iter()
                        .sum::<f64>();
            assert!((v - want).abs() < 1e-12);
        }
    }

    #[test]
    fn rejects_a_missing_code_that_is_a_valid_answer() {
        let text = include_str!("../../../fixtures/instruments/test/mixed.toml").replacen(
            "max = 4\n",
            "max = 9\n",
            1,
        );
        let err = super::Instrument::from_toml_str(&text, "m.toml").unwrap_err();
        assert!(
            err.to_string().contains("item `q4`: the missing code 9"),
            "{err}"
        );
    }

    #[test]
    fn rejects_an_item_in_an_unknown_group() {
        let text = include_str!("../../../fixtures/instruments/test/mini.toml").replacen(
            "group = \"e2\"",
            "group = \"nowhere\"",
            1,
        );
        let err = super::Instrument::from_toml_str(&text, "test.toml").unwrap_err();
        assert!(err.to_string().contains("unknown group `nowhere`"), "{err}");
    }
}
