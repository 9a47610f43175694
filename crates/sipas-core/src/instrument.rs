//! Questionnaires as data.
//!
//! An [`Instrument`] lists its items, the answer [`Scale`] and a tree of
//! [`Group`]s. Every group's index is the unweighted mean of its children's
//! indices (items for an element, elements for a part, parts or elements for
//! the root), so every index is a fixed linear combination of item shares:
//! [`Instrument::coefficients`] gives it. Instruments are read from TOML; see
//! `fixtures/instruments/` for the two bundled ones.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

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

/// One satisfaction item (question).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Column name of the item in the canonical table (`sa1`).
    pub id: String,
    /// The group (element) it belongs to.
    pub group: String,
    /// The question in Vietnamese.
    pub text_vi: String,
    /// An English gloss.
    pub text_en: String,
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
    items: Vec<Item>,
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
    /// Per group: item coefficients (length = number of items).
    coefficients: HashMap<String, Vec<f64>>,
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
        let mut inst = Instrument {
            id: raw.id,
            title_vi: raw.title_vi,
            title_en: raw.title_en,
            source: raw.source,
            scale: raw.scale,
            groups: raw.groups,
            items: raw.items,
            coefficients: HashMap::new(),
            root,
        };
        for g in &inst.groups {
            let c = inst
                .compute_coefficients(&g.id, 0)
                .map_err(|m| invalid(format!("group `{}`: {m}", g.id)))?;
            inst.coefficients.insert(g.id.clone(), c);
        }
        Ok(inst)
    }

    fn compute_coefficients(
        &self,
        id: &str,
        depth: usize,
    ) -> std::result::Result<Vec<f64>, String> {
        if depth > self.groups.len() {
            return Err("the group tree has a cycle".into());
        }
        let n = self.items.len();
        let item_children: Vec<usize> = (0..n).filter(|&j| self.items[j].group == id).collect();
        let group_children: Vec<&str> = self
            .groups
            .iter()
            .filter(|g| g.parent.as_deref() == Some(id))
            .map(|g| g.id.as_str())
            .collect();
        let k = item_children.len() + group_children.len();
        if k == 0 {
            return Err("has no children".into());
        }
        let share = 1.0 / k as f64;
        let mut c = vec![0.0; n];
        for j in item_children {
            c[j] += share;
        }
        for g in group_children {
            let sub = self.compute_coefficients(g, depth + 1)?;
            for (a, b) in c.iter_mut().zip(sub) {
                *a += share * b;
            }
        }
        Ok(c)
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

    /// Item coefficients of a group: its index equals Σⱼ cⱼ · shareⱼ.
    pub fn coefficients(&self, group: &str) -> Option<&[f64]> {
        self.coefficients.get(group).map(Vec::as_slice)
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
