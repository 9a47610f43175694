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
use crate::par::ParDefinition;
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
    /// An index: a root of the tree (an instrument may hold several).
    Index,
    /// A part: mean of its elements.
    Part,
    /// An element: mean of its items.
    Element,
    /// A weighted sum of other groups, each mapped linearly from its scale
    /// (the PAR index's survey-based points); not written in a file, made
    /// from `[par]`.
    #[serde(skip_deserializing)]
    Composite,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    id: String,
    title_vi: String,
    title_en: String,
    source: String,
    /// Instruments whose items and groups this one holds too (bundled ids,
    /// or paths relative to the file).
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    scale: Option<Scale>,
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default)]
    items: Vec<RawItem>,
    /// The headline indices (default: every root, then the PAR total).
    #[serde(default)]
    indices: Vec<String>,
    #[serde(default)]
    par: Option<ParDefinition>,
}

/// How `include = [...]` names are found: the raw text of a bundled
/// instrument or of a file, with the name its errors cite.
type Includer<'a> = &'a dyn Fn(&str) -> Result<(String, String)>;

/// Includes nest at most this deep (a cycle is an error, not a hang).
const MAX_INCLUDE_DEPTH: usize = 4;

fn parse_raw(
    text: &str,
    origin: &str,
    resolve: Includer<'_>,
    depth: usize,
) -> Result<RawInstrument> {
    let mut raw: RawInstrument = toml::from_str(text).map_err(|source| Error::Toml {
        origin: origin.to_string(),
        source,
    })?;
    if raw.include.is_empty() {
        return Ok(raw);
    }
    let invalid = |message: String| Error::Invalid {
        origin: origin.to_string(),
        message,
    };
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(invalid(format!(
            "includes nest more than {MAX_INCLUDE_DEPTH} deep (a cycle?)"
        )));
    }
    let (mut groups, mut items) = (Vec::new(), Vec::new());
    let mut scale = raw.scale.take();
    let mut par = raw.par.take();
    for name in std::mem::take(&mut raw.include) {
        let (text, inner_origin) = resolve(&name)?;
        let inner = parse_raw(&text, &inner_origin, resolve, depth + 1)?;
        match (&scale, inner.scale) {
            (None, s) => scale = s,
            (Some(a), Some(b)) if *a != b => {
                return Err(invalid(format!(
                    "include `{name}`: its Likert scale differs from the one already given (one scale per instrument)"
                )));
            }
            _ => {}
        }
        if let Some(p) = inner.par {
            if par.is_some() {
                return Err(invalid(format!(
                    "include `{name}`: a second [par] (one PAR index per instrument)"
                )));
            }
            par = Some(p);
        }
        groups.extend(inner.groups);
        items.extend(inner.items);
    }
    groups.append(&mut raw.groups);
    items.append(&mut raw.items);
    raw.groups = groups;
    raw.items = items;
    raw.scale = scale;
    raw.par = par;
    Ok(raw)
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
    /// The headline index: the first root, or the one [`Self::with_root`] chose.
    root: String,
    /// Every root (groups without a parent), in file order.
    roots: Vec<String>,
    /// The headline indices: every root, then the PAR total, unless the file lists them.
    indices: Vec<String>,
    par: Option<ParDefinition>,
}

impl Instrument {
    /// Reads an instrument from a TOML file; its `include`s are bundled
    /// ids or paths relative to the file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let resolve = move |name: &str| -> Result<(String, String)> {
            if let Some(t) = crate::bundled::instrument_text(name) {
                return Ok((t.to_string(), name.to_string()));
            }
            let p = dir.join(name);
            let text = std::fs::read_to_string(&p).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            Ok((text, p.display().to_string()))
        };
        crate::source::parse_definition(path, |text, origin| {
            Self::build(parse_raw(text, origin, &resolve, 0)?, origin)
        })
    }

    /// Parses an instrument definition; `origin` names it in errors. Its
    /// `include`s must be bundled ids.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let resolve = |name: &str| -> Result<(String, String)> {
            crate::bundled::instrument_text(name)
                .map(|t| (t.to_string(), name.to_string()))
                .ok_or_else(|| Error::Invalid {
                    origin: origin.to_string(),
                    message: format!("include `{name}`: not a bundled instrument"),
                })
        };
        Self::build(parse_raw(text, origin, &resolve, 0)?, origin)
    }

    fn build(raw: RawInstrument, origin: &str) -> Result<Self> {
        let invalid = |message: String| Error::Invalid {
            origin: origin.to_string(),
            message,
        };
        let Some(s) = &raw.scale else {
            return Err(invalid(
                "a [scale] is required (or an include that has one)".into(),
            ));
        };
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
        let roots: Vec<String> = raw
            .groups
            .iter()
            .filter(|g| g.parent.is_none())
            .map(|g| g.id.clone())
            .collect();
        if roots.is_empty() {
            return Err(invalid(
                "a group without a parent (an index) is required, found none".into(),
            ));
        }
        if let Some(g) = raw
            .groups
            .iter()
            .find(|g| g.parent.is_none() != (g.kind == GroupKind::Index))
        {
            return Err(invalid(format!(
                "group `{}`: an index has no parent and a group without a parent is an index",
                g.id
            )));
        }
        let root = roots[0].clone();
        for g in &raw.groups {
            if !ids.insert(g.id.clone()) {
                return Err(invalid(format!("duplicate id `{}`", g.id)));
            }
            if let Some(p) = &g.parent
                && !raw.groups.iter().any(|x| &x.id == p)
            {
                return Err(invalid(format!("group `{}`: unknown parent `{p}`", g.id)));
            }
        }
        for it in &raw.items {
            if !ids.insert(it.id.clone()) {
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
        let s = s.clone();
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
        let mut groups = raw.groups;
        for g in &groups {
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
        if let Some(par) = &raw.par {
            par.check().map_err(invalid)?;
            let composite = par_survey_group(par, &groups, &mut coefficients, &mut constants)
                .map_err(invalid)?;
            if !ids.insert(par.survey_id.clone()) || !ids.insert(par.id.clone()) {
                return Err(invalid(format!(
                    "par: `{}` or `{}` is already a group or item id",
                    par.id, par.survey_id
                )));
            }
            groups.push(composite);
        }
        let indices = if raw.indices.is_empty() {
            let mut v = roots.clone();
            v.extend(raw.par.as_ref().map(|p| p.id.clone()));
            v
        } else {
            for i in &raw.indices {
                let known = groups.iter().any(|g| &g.id == i)
                    || raw.par.as_ref().is_some_and(|p| &p.id == i);
                if !known {
                    return Err(invalid(format!(
                        "indices: `{i}` is not a group of the instrument (nor its PAR total)"
                    )));
                }
            }
            raw.indices
        };
        Ok(Instrument {
            id: raw.id,
            title_vi: raw.title_vi,
            title_en: raw.title_en,
            source: raw.source,
            scale: s,
            groups,
            items,
            tests: model.tests().to_vec(),
            test_ids,
            coefficients,
            constants,
            root,
            roots,
            indices,
            par: raw.par,
        })
    }

    /// The same instrument with `group` as its headline index: the index of
    /// `unit_period.csv`, `groups.csv`, the 2×2 DiD and the panel
    /// evaluation ([`Self::root`]); the other groups are reported beside it.
    ///
    /// # Errors
    /// `group` is not a group of the instrument.
    pub fn with_root(&self, group: &str) -> Result<Instrument> {
        if self.group(group).is_none() {
            return Err(Error::Invalid {
                origin: self.id.clone(),
                message: format!("`{group}` is not a group of the instrument"),
            });
        }
        let mut i = self.clone();
        i.root = group.to_string();
        Ok(i)
    }

    /// Every root of the tree (`sipas`; `sipas`, `papi` for an instrument
    /// that includes both), in file order.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// The headline indices: each gets the pilot evaluation and a report
    /// section (every root, then the PAR total, unless the file's
    /// `indices` lists them).
    pub fn indices(&self) -> &[String] {
        &self.indices
    }

    /// The commune PAR index, when the instrument defines one.
    pub fn par(&self) -> Option<&ParDefinition> {
        self.par.as_ref()
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

    /// The groups reported as columns: every element, then every part,
    /// then the other indices and the composites, in definition order (the
    /// headline index, [`Self::root`], is reported separately).
    pub fn reported_groups(&self) -> Vec<&Group> {
        let mut out: Vec<&Group> = Vec::with_capacity(self.groups.len());
        for kind in [
            GroupKind::Element,
            GroupKind::Part,
            GroupKind::Index,
            GroupKind::Composite,
        ] {
            out.extend(
                self.groups
                    .iter()
                    .filter(|g| g.kind == kind && g.id != self.root),
            );
        }
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

/// The PAR index's survey-based points as a composite group: Σ points ×
/// (value − lo) / (hi − lo) over its components, whose coefficients and
/// constant follow from theirs (`value = constant + 100 Σ c·p`).
fn par_survey_group(
    par: &ParDefinition,
    groups: &[Group],
    coefficients: &mut HashMap<String, Vec<f64>>,
    constants: &mut HashMap<String, f64>,
) -> std::result::Result<Group, String> {
    let n = coefficients.values().next().map_or(0, Vec::len);
    let (mut coef, mut constant) = (vec![0.0; n], 0.0);
    for s in &par.survey {
        let Some(g) = groups.iter().find(|g| g.id == s.index) else {
            return Err(format!(
                "par: survey component `{}` is not a group of the instrument",
                s.index
            ));
        };
        let (lo, hi) = (g.scale.lo, g.scale.hi);
        let f = s.points / (hi - lo);
        for (a, c) in coef.iter_mut().zip(&coefficients[&g.id]) {
            *a += f * c;
        }
        constant += f * (constants[&g.id] - lo);
    }
    coefficients.insert(par.survey_id.clone(), coef);
    constants.insert(par.survey_id.clone(), constant);
    Ok(Group {
        id: par.survey_id.clone(),
        parent: None,
        kind: GroupKind::Composite,
        name_vi: format!("{}: điểm từ khảo sát", par.name_vi),
        name_en: format!("{}: survey-based points", par.name_en),
        weight: 1.0,
        scale: LevelScale {
            lo: 0.0,
            hi: par.survey_max(),
        },
    })
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

    #[test]
    fn the_pilot_instrument_holds_three_indices_and_the_par_points() {
        let i = bundled::instrument("thai-nguyen-pilot").unwrap();
        let (sipas, papi) = (
            bundled::instrument("sipas-2023").unwrap(),
            bundled::instrument("papi-commune").unwrap(),
        );
        assert_eq!(i.items().len(), sipas.items().len() + papi.items().len());
        assert_eq!(i.roots(), ["sipas", "papi"]);
        assert_eq!(i.root(), "sipas");
        assert_eq!(
            i.indices(),
            [
                "sipas",
                "papi_participation",
                "papi_transparency",
                "papi_accountability",
                "par_total"
            ]
        );
        assert!(i.tests().len() <= 64, "{} tests", i.tests().len());
        // Each group equals its value in its own instrument at the same shares.
        let n_s = sipas.tests().len();
        let shares: Vec<f64> = (0..i.tests().len())
            .map(|k| ((k * 37) % 101) as f64 / 100.0)
            .collect();
        for g in ["sipas", "service", "access"] {
            let want = sipas.value_at(g, &shares[..n_s]).unwrap();
            assert!(
                (i.value_at(g, &shares).unwrap() - want).abs() < 1e-12,
                "{g}"
            );
        }
        for g in ["papi", "papi_transparency", "land_use"] {
            let want = papi.value_at(g, &shares[n_s..]).unwrap();
            assert!(
                (i.value_at(g, &shares).unwrap() - want).abs() < 1e-12,
                "{g}"
            );
        }
        // par_survey = 15·SIPAS/100 + Σ 5·(dim − 1)/9, by hand at these shares.
        let by_hand = 15.0 * i.value_at("sipas", &shares).unwrap() / 100.0
            + [
                "papi_participation",
                "papi_transparency",
                "papi_accountability",
            ]
            .iter()
            .map(|d| 5.0 * (i.value_at(d, &shares).unwrap() - 1.0) / 9.0)
            .sum::<f64>();
        assert!((i.value_at("par_survey", &shares).unwrap() - by_hand).abs() < 1e-12);
        // All shares 0 give 0 points, all 1 give the 30 points.
        let n = i.tests().len();
        assert!(i.value_at("par_survey", &vec![0.0; n]).unwrap().abs() < 1e-12);
        assert!((i.value_at("par_survey", &vec![1.0; n]).unwrap() - 30.0).abs() < 1e-12);
        let par = i.par().unwrap();
        assert_eq!(par.bounds(), (0.0, 100.0));
        assert_eq!(i.bounds("par_survey"), Some((0.0, 30.0)));
        // The headline sipas is reported apart; papi (another root) and par_survey beside it.
        let ids: Vec<&str> = i.reported_groups().iter().map(|g| g.id.as_str()).collect();
        assert!(!ids.contains(&"sipas") && ids.contains(&"papi") && ids.ends_with(&["par_survey"]));
        // Re-rooted at a dimension: that dimension is the headline, sipas is reported.
        let r = i.with_root("papi_participation").unwrap();
        let ids: Vec<&str> = r.reported_groups().iter().map(|g| g.id.as_str()).collect();
        assert!(ids.contains(&"sipas") && !ids.contains(&"papi_participation"));
        assert!(i.with_root("nowhere").is_err());
    }

    #[test]
    fn an_include_needs_one_scale_and_known_par_components() {
        let base = include_str!("../../../fixtures/instruments/thai-nguyen-pilot.toml");
        // (text replaced, its replacement, what the error names)
        for (from, to, names) in [
            (
                "index = \"papi_transparency\"",
                "index = \"papi_nothing\"",
                "`papi_nothing` is not a group",
            ),
            (
                "include = [\"sipas-2023\", ",
                "include = [\"sipas-2017\", \"sipas-2023\", ",
                "duplicate id",
            ),
            (
                "include = [\"sipas-2023\", ",
                "include = [\"nope\", ",
                "include `nope`",
            ),
            ("maximum = 6.0", "maximum = -6.0", "criterion `c2`"),
            ("\"par_total\"]", "\"par_totl\"]", "indices: `par_totl`"),
        ] {
            let bad = base.replacen(from, to, 1);
            assert_ne!(bad, base, "{from}");
            let err = super::Instrument::from_toml_str(&bad, "p.toml").unwrap_err();
            assert!(err.to_string().contains(names), "{err}");
        }
    }
}
