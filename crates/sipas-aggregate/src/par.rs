//! The commune PAR index: appraised criteria points plus the survey-based
//! points of [`sipas_core::par::ParDefinition`].
//!
//! - [`Criteria`] reads the criteria table (`unit_code,period,criterion,points,maximum`, one
//!   row per appraised criterion of a unit in a period). Every row is used or quarantined with
//!   its reason ([`CriteriaReason`]), and `rows_read = rows_used + quarantined`.
//! - The survey part (`par_survey`) is estimated by the engines like any index, with its
//!   design-based SE. [`with_criteria`] turns the estimates of `par_survey` into those of the
//!   total (`par_total`): a unit × period adds its appraised points; a pooled domain (pilot or
//!   baseline units in a period, a DiD quadrant) adds its cells' points averaged with the
//!   weights its responses carry (Σ of the survey weights in each cell), so that the total is
//!   the same response-weighted mean as its survey part. The appraised points are fixed
//!   numbers, not a sample: the SE of the total is its survey part's, and the intervals carry
//!   the survey's uncertainty only.
//! - [`ranking`] ranks the units of each period by the total, with rank intervals from
//!   normal draws of every unit's total (Marshall & Spiegelhalter's league-table intervals).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use sipas_core::par::ParDefinition;
use sipas_core::{Level, Period, UnitRegistry};

use crate::design::SplitMix;
use crate::indices::{Estimate, Indices};
use crate::{DomainEstimates, Error, Result};

/// Why a row of the criteria table is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CriteriaReason {
    /// The unit code is not a unit of the analysis.
    UnknownUnit,
    /// The period does not parse.
    BadPeriod,
    /// The criterion is not one of the instrument's `[[par.criteria]]`.
    UnknownCriterion,
    /// `maximum` differs from the instrument's (a table of another scoring rule).
    MaximumMismatch,
    /// `points` is not a number from 0 to the maximum.
    PointsOutOfRange,
    /// A second row of a unit, period and criterion with the same points (the first is used).
    DuplicateCopy,
    /// Rows of one unit, period and criterion with different points (none is used).
    ConflictingDuplicate,
    /// No survey responses in the unit and period: no total can be formed.
    NoSurveyCell,
    /// A row on an old commune's code for today's unit × period that also has rows on today's
    /// code (today's rows are used).
    OldAndNewCodes,
}

impl CriteriaReason {
    /// The reason as `par_quarantine.csv` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CriteriaReason::UnknownUnit => "unknown_unit",
            CriteriaReason::BadPeriod => "bad_period",
            CriteriaReason::UnknownCriterion => "unknown_criterion",
            CriteriaReason::MaximumMismatch => "maximum_mismatch",
            CriteriaReason::PointsOutOfRange => "points_out_of_range",
            CriteriaReason::DuplicateCopy => "duplicate_copy",
            CriteriaReason::ConflictingDuplicate => "conflicting_duplicate",
            CriteriaReason::NoSurveyCell => "no_survey_cell",
            CriteriaReason::OldAndNewCodes => "old_and_new_codes",
        }
    }
}

/// One row of the criteria table as read.
#[derive(Debug, Clone, PartialEq)]
pub struct CriteriaRow {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    /// The fields as given.
    pub unit_code: String,
    /// …
    pub period: String,
    /// …
    pub criterion: String,
    /// …
    pub points: String,
    /// …
    pub maximum: String,
}

/// A criterion of a cell: no row yet, the used row (its points and line; the rows of the old
/// communes of a merged unit, their points averaged), rows that conflict (none used, and a
/// later copy conflicts too), or rows of some of a merged unit's old communes only (no points).
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Empty,
    Used { points: f64, lines: Vec<usize> },
    Conflict,
    Partial { lines: Vec<usize> },
}

impl Slot {
    fn lines(&self) -> &[usize] {
        match self {
            Slot::Used { lines, .. } | Slot::Partial { lines } => lines,
            Slot::Empty | Slot::Conflict => &[],
        }
    }
}

/// The codes the responses carried (`old_unit_code`: the code in force on the day) in each of
/// today's unit × periods: (code, period) → (today's unit, Σ of the survey weights of its rows).
pub type CodeWeights = HashMap<(String, Period), (String, f64)>;

/// [`CodeWeights`] of a response table (rows of the used channel only); `None` without an
/// `old_unit_code` column (no crosswalk was applied).
///
/// # Errors
/// A channel the options do not classify.
pub fn code_weights(
    responses: &crate::Responses,
    opts: &crate::AggregateOptions,
) -> Result<Option<CodeWeights>> {
    let Some(crate::responses::DesignColumn::Text { values, idx }) =
        responses.design_column(sipas_core::schema::OLD_UNIT_CODE)
    else {
        return Ok(None);
    };
    let used = opts.channels.used(responses, &opts.channel)?;
    let (ui, pi, ci, w) = (
        responses.unit_indices(),
        responses.period_indices(),
        responses.channel_indices(),
        responses.weights(),
    );
    let mut sums: HashMap<(u32, u32, u32), f64> = HashMap::new();
    for r in 0..responses.len() {
        if used[ci[r] as usize] {
            *sums.entry((idx[r], pi[r], ui[r])).or_insert(0.0) += w[r];
        }
    }
    let mut out = HashMap::new();
    for ((code, p, u), s) in sums {
        out.insert(
            (
                values[code as usize].clone(),
                responses.periods()[p as usize],
            ),
            (responses.units()[u as usize].clone(), s),
        );
    }
    Ok(Some(out))
}

/// The appraised criteria of every unit × period, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    /// The file, as messages name it.
    pub origin: String,
    /// Data rows in the file.
    pub rows_read: usize,
    /// Rows quarantined, with their reason, in file order.
    pub quarantine: Vec<(CriteriaRow, CriteriaReason)>,
    /// Used rows per unit × period: per criterion (instrument order), its points and line.
    cells: BTreeMap<(String, Period), Vec<Slot>>,
    /// The rows behind `cells`, by line, for a later quarantine.
    kept: HashMap<usize, CriteriaRow>,
    per_cell: usize,
    /// Today's unit × periods whose points average the rows of several old communes.
    merged: BTreeMap<(String, Period), Vec<String>>,
    /// Today's unit × periods whose appraised communes hold only part of the cell's survey
    /// weight (a commune with responses but no row), with that share.
    coverage: BTreeMap<(String, Period), f64>,
}

impl Criteria {
    /// Reads a criteria table (UTF-8 CSV, header `unit_code,period,criterion,points,maximum`;
    /// other columns are ignored). After a crosswalk (`codes`, [`code_weights`]) a row may also
    /// name a commune by a code the responses carried (an old commune before the
    /// reorganisation); its rows count for today's unit that holds it ([`Criteria::attribute`]).
    ///
    /// # Errors
    /// The file cannot be read, or lacks a column: an error naming the file (bad rows are
    /// quarantined, not errors).
    pub fn read(
        path: &Path,
        def: &ParDefinition,
        units: &UnitRegistry,
        codes: Option<&CodeWeights>,
    ) -> Result<Criteria> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let old: std::collections::HashSet<&str> = codes
            .into_iter()
            .flat_map(|c| c.keys().map(|(code, _)| code.as_str()))
            .collect();
        let mut c = Self::parse(&text, &path.display().to_string(), def, units, &old)?;
        if let Some(codes) = codes {
            c.attribute(codes);
        }
        Ok(c)
    }

    /// [`Criteria::read`] of a text; `origin` names it in errors.
    ///
    /// # Errors
    /// A missing column, or CSV that does not parse.
    pub fn from_csv_str(
        text: &str,
        origin: &str,
        def: &ParDefinition,
        units: &UnitRegistry,
    ) -> Result<Criteria> {
        Self::parse(text, origin, def, units, &std::collections::HashSet::new())
    }

    fn parse(
        text: &str,
        origin: &str,
        def: &ParDefinition,
        units: &UnitRegistry,
        old_codes: &std::collections::HashSet<&str>,
    ) -> Result<Criteria> {
        let err = |message: String| Error::Data {
            origin: origin.to_string(),
            message,
        };
        let (mut r, header) = crate::csv_in::with_header(text, origin)?;
        let col = |name: &str| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                err(format!(
                    "no column `{name}` (columns: unit_code, period, criterion, points, maximum)"
                ))
            })
        };
        let cols = [
            col("unit_code")?,
            col("period")?,
            col("criterion")?,
            col("points")?,
            col("maximum")?,
        ];
        let mut out = Criteria {
            origin: origin.to_string(),
            rows_read: 0,
            quarantine: Vec::new(),
            cells: BTreeMap::new(),
            kept: HashMap::new(),
            per_cell: def.criteria.len(),
            merged: BTreeMap::new(),
            coverage: BTreeMap::new(),
        };
        for (i, rec) in r.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| err(format!("line {line}: {e}")))?;
            out.rows_read += 1;
            let f = |k: usize| sipas_core::text::nfc(rec.get(cols[k]).unwrap_or("").trim());
            let row = CriteriaRow {
                line,
                unit_code: f(0),
                period: f(1),
                criterion: f(2),
                points: f(3),
                maximum: f(4),
            };
            match check(&row, def, &|c| {
                units.get(c).is_some() || old_codes.contains(c)
            }) {
                Err(reason) => out.quarantine.push((row, reason)),
                Ok((period, k, points)) => {
                    let slot = out
                        .cells
                        .entry((row.unit_code.clone(), period))
                        .or_insert_with(|| vec![Slot::Empty; def.criteria.len()]);
                    match &slot[k] {
                        Slot::Empty => {
                            slot[k] = Slot::Used {
                                points,
                                lines: vec![line],
                            };
                            out.kept.insert(line, row);
                        }
                        Slot::Used { points: first, .. } if *first == points => {
                            out.quarantine.push((row, CriteriaReason::DuplicateCopy));
                        }
                        Slot::Used { lines, .. } => {
                            // Conflicting: the used row leaves too.
                            let first = out.kept.remove(&lines[0]).expect("kept row");
                            out.quarantine
                                .push((first, CriteriaReason::ConflictingDuplicate));
                            slot[k] = Slot::Conflict;
                            out.quarantine
                                .push((row, CriteriaReason::ConflictingDuplicate));
                        }
                        Slot::Conflict | Slot::Partial { .. } => {
                            out.quarantine
                                .push((row, CriteriaReason::ConflictingDuplicate));
                        }
                    }
                }
            }
        }
        out.quarantine.sort_by_key(|(r, _)| r.line);
        Ok(out)
    }

    /// Attributes every row to today's unit: a row on a code the responses carried in a period
    /// (`codes`: an old commune before the reorganisation, today's own code after it) counts
    /// for the unit its responses were mapped to. When several codes count for one of today's
    /// unit × periods (the old communes of a merged unit), each criterion's points are their
    /// points averaged with the survey weights of their responses in the period (as pooled
    /// groups are, [`with_criteria`]); a criterion that some of them lack has no points (the
    /// cell is incomplete). A commune with responses but no row at all does not count (an
    /// office that kept using a former code after a merger); the cell's share of survey weight
    /// held by appraised communes is kept ([`Criteria::partial_coverage`]). A cell that also has rows on today's code keeps those, and the old
    /// communes' rows are quarantined ([`CriteriaReason::OldAndNewCodes`]). Rows on a code of
    /// no survey response in the period stay under that code (no survey cell, quarantined by
    /// [`Criteria::keep_cells`]).
    pub fn attribute(&mut self, codes: &CodeWeights) {
        type Contributor = (String, Option<f64>, Vec<Slot>);
        let mut by_cell: BTreeMap<(String, Period), Vec<Contributor>> = BTreeMap::new();
        for ((code, p), slots) in std::mem::take(&mut self.cells) {
            // A code the responses carried in the period counts with their weight (today's
            // code too: before a merger it was one of the old communes, GSO reusing codes);
            // any other code is today's unit itself.
            let (target, w) = match codes.get(&(code.clone(), p)) {
                Some((u, w)) => (u.clone(), Some(*w)),
                None => (code.clone(), None),
            };
            by_cell
                .entry((target, p))
                .or_default()
                .push((code, w, slots));
        }
        let mut totals: HashMap<(&str, Period), f64> = HashMap::new();
        for ((_, p), (u, w)) in codes {
            *totals.entry((u.as_str(), *p)).or_insert(0.0) += w;
        }
        for (key, mut parts) in by_cell {
            // The share of the cell's survey weight its appraised communes hold.
            if parts.iter().all(|(_, w, _)| w.is_some()) {
                let covered: f64 = parts.iter().filter_map(|(_, w, _)| *w).sum();
                let total = totals.get(&(key.0.as_str(), key.1)).copied().unwrap_or(0.0);
                if covered < total * (1.0 - 1e-12) {
                    self.coverage.insert(key.clone(), covered / total);
                }
            }
            if parts.len() == 1 {
                self.cells.insert(key, parts.pop().expect("one").2);
                continue;
            }
            if let Some(own) = parts.iter().position(|(_, w, _)| w.is_none()) {
                let (_, _, slots) = parts.swap_remove(own);
                for (_, _, other) in parts {
                    for line in other.iter().flat_map(Slot::lines) {
                        if let Some(row) = self.kept.remove(line) {
                            self.quarantine.push((row, CriteriaReason::OldAndNewCodes));
                        }
                    }
                }
                self.cells.insert(key, slots);
                continue;
            }
            let merged: Vec<Slot> = (0..self.per_cell)
                .map(|k| {
                    let lines: Vec<usize> = parts
                        .iter()
                        .flat_map(|(_, _, s)| s[k].lines().to_vec())
                        .collect();
                    let (mut num, mut den) = (0.0, 0.0);
                    for (_, w, s) in &parts {
                        let w = w.expect("old codes carry weights");
                        match &s[k] {
                            Slot::Used { points, .. } => {
                                num += w * points;
                                den += w;
                            }
                            _ => return Slot::Partial { lines },
                        }
                    }
                    if den > 0.0 {
                        Slot::Used {
                            points: num / den,
                            lines,
                        }
                    } else {
                        Slot::Partial { lines }
                    }
                })
                .collect();
            self.merged
                .insert(key.clone(), parts.into_iter().map(|(c, _, _)| c).collect());
            self.cells.insert(key, merged);
        }
        self.quarantine.sort_by_key(|(r, _)| r.line);
    }

    /// Today's unit × periods whose points average the rows of several old communes, with
    /// those communes' codes.
    pub fn merged(&self) -> &BTreeMap<(String, Period), Vec<String>> {
        &self.merged
    }

    /// Today's unit × periods (with a survey cell) whose appraised communes hold only part of
    /// the cell's survey weight: a commune the responses name has no row, so the points are
    /// those of the others; with the share they hold.
    pub fn partial_coverage(&self) -> Vec<(&str, Period, f64)> {
        self.coverage
            .iter()
            .filter(|(k, _)| self.cells.contains_key(*k))
            .map(|((u, p), s)| (u.as_str(), *p, *s))
            .collect()
    }

    /// Matches the table to the survey's unit × periods (`survey`): the rows of other unit ×
    /// periods go to the quarantine ([`CriteriaReason::NoSurveyCell`]), and a survey cell the
    /// table has no row for counts as one with no criterion (no total, listed by
    /// [`Criteria::incomplete`]).
    pub fn keep_cells<'a>(&mut self, survey: impl IntoIterator<Item = (&'a str, Period)>) {
        let survey: std::collections::HashSet<(&str, Period)> = survey.into_iter().collect();
        let gone: Vec<(String, Period)> = self
            .cells
            .keys()
            .filter(|(u, p)| !survey.contains(&(u.as_str(), *p)))
            .cloned()
            .collect();
        for key in gone {
            for slot in self.cells.remove(&key).into_iter().flatten() {
                for line in slot.lines() {
                    if let Some(row) = self.kept.remove(line) {
                        self.quarantine.push((row, CriteriaReason::NoSurveyCell));
                    }
                }
            }
        }
        for (u, p) in survey {
            self.cells
                .entry((u.to_string(), p))
                .or_insert_with(|| vec![Slot::Empty; self.per_cell]);
        }
        self.quarantine.sort_by_key(|(r, _)| r.line);
    }

    /// Rows used (`rows_read` − quarantined).
    pub fn rows_used(&self) -> usize {
        self.kept.len()
    }

    /// The appraised points of a unit in a period: the sum over the criteria when every
    /// criterion has one used row, else `None`.
    pub fn points(&self, unit: &str, period: Period) -> Option<f64> {
        let c = self.cells.get(&(unit.to_string(), period))?;
        c.iter()
            .map(|x| match x {
                Slot::Used { points, .. } => Some(*points),
                Slot::Empty | Slot::Conflict | Slot::Partial { .. } => None,
            })
            .sum::<Option<f64>>()
    }

    /// Unit × periods with survey cells whose criteria are incomplete (listed in methods).
    pub fn incomplete(&self) -> Vec<(String, Period, usize)> {
        self.cells
            .iter()
            .filter_map(|((u, p), c)| {
                let have = c.iter().filter(|x| matches!(x, Slot::Used { .. })).count();
                (have < self.per_cell).then(|| (u.clone(), *p, have))
            })
            .collect()
    }

    /// Quarantined rows per reason.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for (_, r) in &self.quarantine {
            *m.entry(r.as_str()).or_insert(0) += 1;
        }
        m
    }

    /// `par_quarantine.csv`: every quarantined row with its line and reason.
    pub fn quarantine_csv(&self) -> String {
        let mut s = sipas_core::results::PAR_QUARANTINE.header::<&str>(&[]);
        for (r, why) in &self.quarantine {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                r.line,
                crate::write::field(&r.unit_code),
                crate::write::field(&r.period),
                crate::write::field(&r.criterion),
                crate::write::field(&r.points),
                crate::write::field(&r.maximum),
                why.as_str()
            );
        }
        s
    }
}

fn check(
    row: &CriteriaRow,
    def: &ParDefinition,
    known: &dyn Fn(&str) -> bool,
) -> std::result::Result<(Period, usize, f64), CriteriaReason> {
    if !known(&row.unit_code) {
        return Err(CriteriaReason::UnknownUnit);
    }
    let period: Period = row.period.parse().map_err(|_| CriteriaReason::BadPeriod)?;
    let k = def
        .criteria
        .iter()
        .position(|c| c.id == row.criterion)
        .ok_or(CriteriaReason::UnknownCriterion)?;
    let max = def.criteria[k].maximum;
    match row.maximum.replace(',', ".").parse::<f64>() {
        Ok(m) if (m - max).abs() <= 1e-9 * max.abs().max(1.0) => {}
        _ => return Err(CriteriaReason::MaximumMismatch),
    }
    match row.points.replace(',', ".").parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=max).contains(&p) => Ok((period, k, p)),
        _ => Err(CriteriaReason::PointsOutOfRange),
    }
}

/// Σ of the survey weights of the used rows in every unit × period: the weights the appraised
/// points are pooled with.
pub type CellWeights = HashMap<(String, Period), f64>;

/// [`CellWeights`] of a response table (rows of the used channel only).
///
/// # Errors
/// A channel the options do not classify.
pub fn cell_weights(
    responses: &crate::Responses,
    opts: &crate::AggregateOptions,
) -> Result<CellWeights> {
    let used = opts.channels.used(responses, &opts.channel)?;
    let (ui, pi, ci, w) = (
        responses.unit_indices(),
        responses.period_indices(),
        responses.channel_indices(),
        responses.weights(),
    );
    let np = responses.periods().len();
    let mut sums = vec![0.0; responses.units().len() * np];
    for r in 0..responses.len() {
        if used[ci[r] as usize] {
            sums[ui[r] as usize * np + pi[r] as usize] += w[r];
        }
    }
    let mut out = HashMap::new();
    for (c, s) in sums.into_iter().enumerate() {
        if s > 0.0 {
            out.insert(
                (
                    responses.units()[c / np].clone(),
                    responses.periods()[c % np],
                ),
                s,
            );
        }
    }
    Ok(out)
}

/// The appraised points of a set of cells, averaged with their weights; `None` when a cell
/// lacks them.
fn pooled<'a>(
    cells: impl Iterator<Item = (&'a str, Period)>,
    criteria: &Criteria,
    weights: &CellWeights,
) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for (u, p) in cells {
        let w = weights.get(&(u.to_string(), p)).copied().unwrap_or(0.0);
        num += w * criteria.points(u, p)?;
        den += w;
    }
    (den > 0.0).then(|| num / den)
}

fn shifted(e: &Estimate, by: Option<f64>, level: Level, bounds: (f64, f64)) -> Estimate {
    let value = e.value.zip(by).map(|(v, b)| v + b);
    Estimate::with_se_in(value, value.and(e.se), level, bounds)
}

/// The estimates of the PAR total from those of its survey part: `survey` is the aggregate
/// with the survey part as its headline index ([`sipas_core::Instrument::with_root`]); its
/// cells, pooled groups and 2×2 DiD gain the appraised points (see the module doc), the
/// standard errors stay the survey part's, and the intervals are clipped to the total's scale.
pub fn with_criteria(
    mut survey: Indices,
    def: &ParDefinition,
    criteria: &Criteria,
    weights: &CellWeights,
    pilot_start: Period,
) -> Indices {
    let level = survey.report.level;
    let bounds = def.bounds();
    for c in &mut survey.cells {
        let pts = criteria.points(&c.unit_code, c.period);
        c.sipas = shifted(&c.sipas, pts, level, bounds);
    }
    let left_out: std::collections::HashSet<&str> = survey
        .report
        .left_out
        .iter()
        .map(|u| u.unit_code.as_str())
        .collect();
    // The compared cells of an arm: those of its units that are not left out.
    let arm_cells = |pilot: bool, keep: &dyn Fn(Period) -> bool| -> Vec<(&str, Period)> {
        survey
            .cells
            .iter()
            .filter(|c| {
                c.pilot == pilot && !left_out.contains(c.unit_code.as_str()) && keep(c.period)
            })
            .map(|c| (c.unit_code.as_str(), c.period))
            .collect()
    };
    let group_shift: Vec<Option<f64>> = survey
        .groups
        .iter()
        .map(|g| {
            let cells = arm_cells(g.group == crate::arms::Arm::Pilot, &|p| p == g.period);
            pooled(cells.into_iter(), criteria, weights)
        })
        .collect();
    let did_shift = survey.did.as_ref().map(|_| {
        let q = |pilot: bool, post: bool| {
            let cells = arm_cells(pilot, &|p| crate::arms::is_post(p, pilot_start) == post);
            pooled(cells.into_iter(), criteria, weights)
        };
        [
            q(true, false),
            q(true, true),
            q(false, false),
            q(false, true),
        ]
    });
    for (g, by) in survey.groups.iter_mut().zip(group_shift) {
        g.sipas = shifted(&g.sipas, by, level, bounds);
    }
    if let (Some(d), Some([pp, pq, bp, bq])) = (&mut survey.did, did_shift) {
        if let (Some(pp), Some(pq), Some(bp), Some(bq)) = (pp, pq, bp, bq) {
            d.estimate += (pq - pp) - (bq - bp);
            let m = level.normal_multiplier();
            (d.lo, d.hi) = (d.estimate - m * d.se, d.estimate + m * d.se);
            d.pilot_pre = shifted(&d.pilot_pre, Some(pp), level, bounds);
            d.pilot_post = shifted(&d.pilot_post, Some(pq), level, bounds);
            d.baseline_pre = shifted(&d.baseline_pre, Some(bp), level, bounds);
            d.baseline_post = shifted(&d.baseline_post, Some(bq), level, bounds);
        } else {
            survey.did = None;
            survey.report.did_unavailable =
                Some("a compared unit × period has no complete appraised criteria".into());
        }
    }
    survey.root_bounds = bounds;
    survey
}

/// The PAR total's rows of `estimates.csv`: each unit and each pooled group (pilot /
/// baseline) in each period, from the survey part's rows of `estimates` and the appraised
/// points of the same cells of `total` ([`with_criteria`]'s output), appended to `estimates`.
pub fn append_estimates(estimates: &mut DomainEstimates, def: &ParDefinition, total: &Indices) {
    use crate::design::{DomainType, IndicatorKind};
    let by_cell: HashMap<(&str, Period), &Estimate> = total
        .cells
        .iter()
        .map(|c| ((c.unit_code.as_str(), c.period), &c.sipas))
        .collect();
    let by_group: HashMap<(&str, Period), &Estimate> = total
        .groups
        .iter()
        .map(|g| ((g.group.as_str(), g.period), &g.sipas))
        .collect();
    let mut rows = Vec::with_capacity(estimates.rows.len() + total.cells.len());
    let total_id = crate::design::Name::from(&def.id);
    for r in &std::mem::take(&mut estimates.rows) {
        let est = if r.indicator == def.survey_id && r.ci_method == crate::design::CiMethod::Normal
        {
            match r.domain_type {
                DomainType::Unit => by_cell.get(&(r.domain.as_str(), r.period)).copied(),
                DomainType::Group => by_group.get(&(r.domain.as_str(), r.period)).copied(),
                _ => None,
            }
        } else {
            None
        };
        let total_row = est.map(|est| {
            let mut row = r.clone();
            row.indicator = total_id.clone();
            row.indicator_kind = IndicatorKind::Composite;
            if !row.suppressed {
                row.value = est.value;
                row.lo = est.lo;
                row.hi = est.hi;
                row.cv = row.se.zip(row.value).map(|(s, v)| s / v);
            }
            row
        });
        // The total right after its survey part.
        rows.push(r);
        rows.extend(total_row);
    }
    estimates.rows = rows.into();
}

/// Normal draws behind `par_ranking.csv`'s rank intervals.
pub const RANK_DRAWS: usize = 2000;

/// One unit's place in a period's ranking by the PAR total.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// The period.
    pub period: Period,
    /// 1 = the highest total.
    pub rank: usize,
    /// Unit code.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// Whether it is a pilot unit.
    pub pilot: bool,
    /// The total with its interval.
    pub total: Estimate,
    /// The rank interval at the run's level (lowest and highest rank).
    pub rank_lo: usize,
    /// …
    pub rank_hi: usize,
}

/// Ranks the units of every period by the PAR total (cells with a defined total), with rank
/// intervals: `draws` normal draws of every unit's total around its estimate with its SE
/// (seeded), the rank of each unit in each draw, and the α/2 and 1 − α/2 quantiles of its
/// ranks (a unit with no SE keeps its value in every draw).
pub fn ranking(total: &Indices, draws: usize, seed: u64) -> Vec<RankRow> {
    let alpha = 1.0 - total.report.level.value();
    let mut by_period: BTreeMap<Period, Vec<&crate::CellEstimate>> = BTreeMap::new();
    for c in &total.cells {
        if c.sipas.value.is_some() {
            by_period.entry(c.period).or_default().push(c);
        }
    }
    let mut out = Vec::new();
    for (period, cells) in by_period {
        let n = cells.len();
        let mut rng = SplitMix(seed ^ (period.index() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut ranks: Vec<Vec<u32>> = vec![Vec::with_capacity(draws); n];
        let mut x = vec![0.0; n];
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..draws {
            for (i, c) in cells.iter().enumerate() {
                x[i] =
                    c.sipas.value.expect("defined") + c.sipas.se.unwrap_or(0.0) * normal(&mut rng);
            }
            order.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
            for (r, &i) in order.iter().enumerate() {
                ranks[i].push(r as u32 + 1);
            }
        }
        let mut point: Vec<usize> = (0..n).collect();
        point.sort_by(|&a, &b| {
            let (va, vb) = (cells[a].sipas.value.unwrap(), cells[b].sipas.value.unwrap());
            vb.total_cmp(&va)
                .then(cells[a].unit_code.cmp(&cells[b].unit_code))
        });
        for (r, &i) in point.iter().enumerate() {
            let rk = &mut ranks[i];
            rk.sort_unstable();
            let q = |p: f64| {
                if rk.is_empty() {
                    r + 1
                } else {
                    let k = ((p * rk.len() as f64).ceil() as usize).clamp(1, rk.len()) - 1;
                    rk[k] as usize
                }
            };
            let c = cells[i];
            out.push(RankRow {
                period,
                rank: r + 1,
                unit_code: c.unit_code.clone(),
                unit_name: c.unit_name.clone(),
                pilot: c.pilot,
                total: c.sipas,
                rank_lo: q(alpha / 2.0),
                rank_hi: q(1.0 - alpha / 2.0),
            });
        }
    }
    out
}

/// A standard normal draw (Box–Muller, one of the pair).
fn normal(rng: &mut SplitMix) -> f64 {
    let u: f64 = ((rng.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let v: f64 = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// `par_ranking.csv`.
pub fn ranking_csv(rows: &[RankRow]) -> String {
    let mut s = sipas_core::results::PAR_RANKING.header::<&str>(&[]);
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.period,
            r.rank,
            crate::write::field(&r.unit_code),
            crate::write::field(&r.unit_name),
            r.pilot,
            crate::write::num(r.total.value),
            crate::write::num(r.total.se),
            crate::write::num(r.total.lo),
            crate::write::num(r.total.hi),
            r.rank_lo,
            r.rank_hi
        );
    }
    s
}
