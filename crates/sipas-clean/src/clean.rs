//! The cleaning pass: unit matching, crosswalk, recoding, duplicates and
//! careless-responding flags, with counts that reconcile.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use polars::prelude::{PlHashMap as HashMap, PlHashMap, PlRandomState};
use rayon::prelude::*;

use serde::Serialize;
use sipas_core::{Instrument, IsoDate, Period, UnitHistory, UnitRegistry, schema};

use crate::crosswalk::{Crosswalk, CrosswalkTarget, Mapped};
use crate::rules;
use crate::table::{FLAG_COLUMNS, Flags, Response, ResponseTable};
use crate::time::parse_iso8601;
use crate::units::{UnitMatch, UnitMatcher};
use crate::{Error, Result};

/// Options of [`clean`]. See [`CleanOptions::default`] for the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanOptions {
    /// Match unit names typed without accents (reported). Default `false`.
    pub allow_ascii_fallback: bool,
    /// Crosswalk to map every response onto one set of units. Default `None`.
    pub crosswalk: Option<Crosswalk>,
    /// Which set of units the crosswalk maps onto: the units after its last
    /// step, before its first, or in force on a date. Default
    /// [`CrosswalkTarget::New`].
    pub crosswalk_target: CrosswalkTarget,
    /// Exclude rows with a careless-responding flag (straightline, missing,
    /// speeder) instead of keeping them flagged. Default `false`.
    pub exclude_flagged: bool,
    /// Exclude re-sent copies: a row under a new `response_id` identical to
    /// another in every field the platform records, `submitted_at` included
    /// (a file exported and sent twice). Kept otherwise. Default `true`.
    pub exclude_resent_copies: bool,
    /// Flag a row whose share of unanswered items is above this. Default 0.5.
    pub max_missing_share: f64,
    /// Flag a row whose duration is under this many seconds. Default 120.
    pub min_duration_s: f64,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            allow_ascii_fallback: false,
            crosswalk: None,
            crosswalk_target: CrosswalkTarget::New,
            exclude_flagged: false,
            exclude_resent_copies: true,
            max_missing_share: 0.5,
            min_duration_s: 120.0,
        }
    }
}

impl CleanOptions {
    pub(crate) fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.max_missing_share) {
            return Err(Error::Option {
                name: "max_missing_share",
                message: format!("{} is not in [0, 1]", self.max_missing_share),
            });
        }
        if !self.min_duration_s.is_finite() || self.min_duration_s < 0.0 {
            return Err(Error::Option {
                name: "min_duration_s",
                message: format!("{} is not a finite number ≥ 0", self.min_duration_s),
            });
        }
        Ok(())
    }
}

/// Why a row was removed (one reason per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Another row with the same id was submitted later.
    DuplicateIdSuperseded,
    /// The unit text matches no unit.
    UnknownUnit,
    /// The unit text matches several units.
    AmbiguousUnit,
    /// A re-sent copy: identical to another row (`submitted_at` included)
    /// under a new id.
    DuplicateResent,
    /// Careless responding: straight-lining (with `exclude_flagged`).
    FlagStraightline,
    /// Careless responding: too fast (with `exclude_flagged`).
    FlagSpeeder,
    /// Careless responding: too many items missing (with `exclude_flagged`).
    FlagMissing,
    /// The crosswalk target lies before the row's date and the row's unit
    /// cannot be mapped back one-to-one (several old units lie behind it).
    CrosswalkNotOneToOne,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 8] = [
        Reason::DuplicateIdSuperseded,
        Reason::UnknownUnit,
        Reason::AmbiguousUnit,
        Reason::DuplicateResent,
        Reason::FlagStraightline,
        Reason::FlagSpeeder,
        Reason::FlagMissing,
        Reason::CrosswalkNotOneToOne,
    ];

    /// The name written in the quarantine and the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DuplicateIdSuperseded => "duplicate_id_superseded",
            Reason::UnknownUnit => "unknown_unit",
            Reason::AmbiguousUnit => "ambiguous_unit",
            Reason::DuplicateResent => "duplicate_resent",
            Reason::FlagStraightline => "flag_straightline",
            Reason::FlagSpeeder => "flag_speeder",
            Reason::FlagMissing => "flag_missing",
            Reason::CrosswalkNotOneToOne => "crosswalk_not_one_to_one",
        }
    }
}

/// A removed row with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    /// The row as read (unit text as given; answers after recoding).
    pub row: Response,
    /// Why.
    pub reason: Reason,
    /// Candidates, superseding row, or other detail.
    pub detail: String,
    /// The unit cell the row is counted in (resolved code, else the text).
    pub cell_unit: String,
}

/// Counts of one unit × period cell (or of the whole table).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows read.
    pub rows_in: u64,
    /// Rows in the clean set.
    pub kept: u64,
    /// Rows removed.
    pub excluded: u64,
    /// Rows removed, by reason (every reason present).
    pub excluded_by_reason: BTreeMap<String, u64>,
    /// Kept rows carrying each flag (every flag column present).
    pub flagged_by_reason: BTreeMap<String, u64>,
}

impl Counts {
    pub(crate) fn empty() -> Self {
        Counts {
            excluded_by_reason: Reason::ALL.iter().map(|r| (r.as_str().into(), 0)).collect(),
            flagged_by_reason: FLAG_COLUMNS.iter().map(|f| ((*f).into(), 0)).collect(),
            ..Counts::default()
        }
    }

    fn check(&self, scope: &str) -> Result<()> {
        let by_reason: u64 = self.excluded_by_reason.values().sum();
        if self.rows_in != self.kept + self.excluded || by_reason != self.excluded {
            return Err(Error::Reconciliation {
                scope: scope.to_string(),
                rows_in: self.rows_in,
                kept: self.kept,
                excluded: self.excluded,
            });
        }
        Ok(())
    }
}

/// Rows in and kept for one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    /// Rows read.
    pub rows_in: u64,
    /// Rows kept.
    pub kept: u64,
}

/// Crosswalk activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrosswalkSummary {
    /// `new`, `old` or the date whose units the rows were mapped onto.
    pub target: String,
    /// Lines of the crosswalk.
    pub entries: u64,
    /// The dates of its steps, in order.
    pub steps: Vec<String>,
    /// Rows whose unit code was changed.
    pub rows_remapped: u64,
    /// Rows of divided units sent to their default receiving unit, per
    /// `old → default` code (such a row does not say which part of the old
    /// unit it came from).
    pub rows_to_default_unit: BTreeMap<String, u64>,
}

/// The options as recorded in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionsSummary {
    /// See [`CleanOptions::allow_ascii_fallback`].
    pub allow_ascii_fallback: bool,
    /// See [`CleanOptions::exclude_flagged`].
    pub exclude_flagged: bool,
    /// See [`CleanOptions::exclude_resent_copies`].
    pub exclude_resent_copies: bool,
    /// See [`CleanOptions::max_missing_share`].
    pub max_missing_share: f64,
    /// See [`CleanOptions::min_duration_s`].
    pub min_duration_s: f64,
}

/// `clean-report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CleanReport {
    /// Instrument id.
    pub instrument: String,
    /// Totals (rows_in = kept + excluded).
    #[serde(flatten)]
    pub totals: Counts,
    /// Answer values set to missing in kept rows: `missing_code`, `out_of_range`.
    pub values_recoded: BTreeMap<String, u64>,
    /// Rows whose unit was given as a name and matched exactly.
    pub units_matched_by_name: u64,
    /// Rows whose unit matched only without accents.
    pub units_matched_by_accent_fallback: u64,
    /// Crosswalk activity, if a crosswalk was given.
    pub crosswalk: Option<CrosswalkSummary>,
    /// Rows in and kept per channel (`qr`, `kiosk` are never pooled with `survey`).
    pub channels: BTreeMap<String, ChannelCounts>,
    /// The options used.
    pub options: OptionsSummary,
}

/// Everything [`clean`] produces.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanOutcome {
    /// The clean set, sorted by period, unit_code, response_id.
    pub table: ResponseTable,
    /// Removed rows, sorted by period, unit text, response_id.
    pub quarantine: Vec<Excluded>,
    /// The report.
    pub report: CleanReport,
    /// Counts per (unit_code, period) cell.
    pub cells: BTreeMap<(String, String), Counts>,
    /// The instrument the table was cleaned under (its scale defines the
    /// answer-mask columns written with the table).
    pub instrument: Instrument,
}

/// Content of a row for duplicate detection: unit, period, channel, weight bits, answers.
#[derive(Clone, PartialEq, Eq)]
struct ContentKey<'a>(&'a str, &'a str, &'a str, u64, &'a [Option<u8>]);

impl std::hash::Hash for ContentKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h);
        self.1.hash(h);
        self.2.hash(h);
        self.3.hash(h);
        // The answers as bytes, in one write (None and Some(255) share a
        // byte: equal keys still hash alike).
        let mut buf = [0u8; 64];
        for chunk in self.4.chunks(buf.len()) {
            for (b, a) in buf.iter_mut().zip(chunk) {
                *b = a.unwrap_or(u8::MAX);
            }
            h.write(&buf[..chunk.len()]);
        }
    }
}

/// The answers of a row as read (before recoding).
fn answers_as_read<'a>(r: &'a Response, b: &'a Before) -> &'a [Option<u8>] {
    b.answers.as_deref().unwrap_or(&r.answers)
}

/// A hash of the fields the platform records (everything but the id and
/// the provenance): equal records, equal hashes.
fn record_hash(r: &Response, b: &Before) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = polars::prelude::PlFixedStateQuality::default().build_hasher();
    r.unit_code.hash(&mut h);
    r.district.hash(&mut h);
    r.unit_text.hash(&mut h);
    r.period.hash(&mut h);
    r.submitted_at.hash(&mut h);
    r.channel.hash(&mut h);
    r.weight.to_bits().hash(&mut h);
    answers_as_read(r, b).hash(&mut h);
    r.duration_s.map(f64::to_bits).hash(&mut h);
    for v in &r.extra {
        v.to_text().hash(&mut h);
    }
    h.finish()
}

/// Whether two rows are the same record: every field the platform records
/// equal (`response_id`, `source_file` and `source_line` may differ).
fn same_record(a: &Response, ab: &Before, b: &Response, bb: &Before) -> bool {
    a.unit_code == b.unit_code
        && a.district == b.district
        && a.unit_text == b.unit_text
        && a.period == b.period
        && a.submitted_at == b.submitted_at
        && a.channel == b.channel
        && a.weight.to_bits() == b.weight.to_bits()
        && answers_as_read(a, ab) == answers_as_read(b, bb)
        && a.duration_s.map(f64::to_bits) == b.duration_s.map(f64::to_bits)
        && a.extra.len() == b.extra.len()
        && a.extra
            .iter()
            .zip(&b.extra)
            .all(|(x, y)| x.total_cmp(y).is_eq())
}

/// Ordering key of `submitted_at`: parsed instants first compared as
/// instants; missing sorts earliest.
pub(crate) fn submitted_key(submitted_at: Option<&str>) -> (u8, f64, &str) {
    match submitted_at {
        None => (0, 0.0, ""),
        Some(s) => match parse_iso8601(s) {
            Some(t) => (2, t, s),
            None => (1, 0.0, s),
        },
    }
}

/// Order of submission without the final tie-break: `submitted_at`, then
/// source file, then line.
pub(crate) fn submission_cmp(
    (sa, fa, la): (Option<&str>, &str, u64),
    (sb, fb, lb): (Option<&str>, &str, u64),
) -> Ordering {
    let (ka, kb) = (submitted_key(sa), submitted_key(sb));
    ka.0.cmp(&kb.0)
        .then_with(|| ka.1.total_cmp(&kb.1))
        .then_with(|| ka.2.cmp(kb.2))
        .then_with(|| fa.cmp(fb))
        .then_with(|| la.cmp(&lb))
}

fn submission(r: &Response) -> (Option<&str>, &str, u64) {
    (r.submitted_at.as_deref(), &r.source_file, r.source_line)
}

/// Whether `a` was submitted after `b` (ties: later source file, then line,
/// then the canonical order).
pub(crate) fn later(a: &Response, b: &Response) -> bool {
    submission_cmp(submission(a), submission(b))
        .then_with(|| a.canonical_cmp(b))
        .is_gt()
}

/// The outcome of resolving one unit text (within a district).
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // one per counter of the report
pub(crate) struct Resolved {
    /// The unit text as given (the cell of a row whose unit fails).
    pub(crate) raw: String,
    /// The code after the crosswalk, or why the unit fails.
    pub(crate) result: std::result::Result<String, (Reason, String)>,
    /// Given as a name rather than a known code.
    pub(crate) named: bool,
    /// Matched exactly by name.
    pub(crate) by_name: bool,
    /// Matched only without accents.
    pub(crate) by_fallback: bool,
    /// Changed by the crosswalk.
    pub(crate) remapped: bool,
    /// The code before the crosswalk (when the unit resolved).
    pub(crate) before_crosswalk: Option<String>,
    /// `old → default` when a divided unit went to its default receiving unit.
    pub(crate) to_default: Option<String>,
}

impl Resolved {
    /// The unit cell the row is counted in: the code, else the text as given.
    pub(crate) fn cell(&self) -> &str {
        self.result.as_deref().unwrap_or(&self.raw)
    }
}

/// The units a table is checked against: one list for every date, or the
/// lists in force one after the other (a code means what it meant on the
/// row's date).
#[derive(Debug, Clone, Copy)]
pub enum Units<'a> {
    /// One list, in force at every date.
    One(&'a UnitRegistry),
    /// Lists over time ([`sipas_core::bundled::unit_history`]).
    Dated(&'a UnitHistory),
}

impl<'a> From<&'a UnitRegistry> for Units<'a> {
    fn from(r: &'a UnitRegistry) -> Self {
        Units::One(r)
    }
}

impl<'a> From<&'a UnitHistory> for Units<'a> {
    fn from(h: &'a UnitHistory) -> Self {
        Units::Dated(h)
    }
}

impl Units<'_> {
    /// The lists as a history (one era for a single list).
    pub fn history(self) -> UnitHistory {
        match self {
            Units::One(r) => UnitHistory::single(r.clone()),
            Units::Dated(h) => h.clone(),
        }
    }
}

/// The date a row's unit is read at: the day of `submitted_at` when it
/// starts with a valid date, else the first day of the period; and the
/// first day of the period as the fallback for a unit not in force on the
/// submission day (a late submission with the code of its period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowDates {
    primary: Option<IsoDate>,
    fallback: Option<IsoDate>,
}

/// Resolves unit texts (code, else name, among the units in force at the
/// row's date; then the crosswalk), with a cache keyed by the text and
/// district as given and the row's place among the eras and steps.
pub(crate) struct Resolver<'a> {
    /// Where the `old_unit_code` extra column is (with a crosswalk).
    old_code_column: Option<usize>,
    history: UnitHistory,
    crosswalk: Option<&'a Crosswalk>,
    target: CrosswalkTarget,
    matchers: Vec<UnitMatcher>,
    period_starts: HashMap<String, Option<IsoDate>>,
    cache: HashMap<Vec<u8>, u32>,
    resolved: Vec<Resolved>,
    key: Vec<u8>,
}

/// The date of a row's `submitted_at` that decides its unit code: the date
/// of a valid ISO 8601 timestamp, else none.
pub(crate) fn submitted_date(submitted_at: Option<&str>) -> Option<IsoDate> {
    submitted_at
        .filter(|s| crate::time::parse_iso8601(s).is_some())
        .and_then(IsoDate::from_prefix)
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(units: Units<'_>, opts: &'a CleanOptions) -> Self {
        let history = units.history();
        let matchers = history
            .eras()
            .iter()
            .map(|e| UnitMatcher::new(&e.units).with_ascii_fallback(opts.allow_ascii_fallback))
            .collect();
        Resolver {
            old_code_column: None,
            history,
            crosswalk: opts.crosswalk.as_ref(),
            target: opts.crosswalk_target,
            matchers,
            period_starts: PlHashMap::default(),
            cache: PlHashMap::default(),
            resolved: Vec::new(),
            key: Vec::new(),
        }
    }

    /// With a crosswalk: the extra columns of the output, `old_unit_code`
    /// added after those of the input (or kept where the input has it, a
    /// table cleaned before), and the rows' value of it filled in.
    pub(crate) fn with_old_code_column(
        &mut self,
        extra: &[crate::table::ExtraColumn],
    ) -> Vec<crate::table::ExtraColumn> {
        let mut out = extra.to_vec();
        if self.crosswalk.is_none() {
            return out;
        }
        let i = if let Some(i) = extra.iter().position(|c| c.name == schema::OLD_UNIT_CODE) {
            i
        } else {
            out.push(crate::table::ExtraColumn {
                name: schema::OLD_UNIT_CODE.to_string(),
                dtype: crate::table::ExtraType::String,
            });
            extra.len()
        };
        self.old_code_column = Some(i);
        out
    }

    /// The dates of a row (see [`RowDates`]).
    pub(crate) fn dates(&mut self, submitted_at: Option<&str>, period: &str) -> RowDates {
        self.dates_of(submitted_date(submitted_at), period)
    }

    /// [`Resolver::dates`] of a row whose `submitted_at` gave `sub`
    /// ([`submitted_date`], which needs no resolver: rows are parsed in
    /// parallel).
    pub(crate) fn dates_of(&mut self, sub: Option<IsoDate>, period: &str) -> RowDates {
        let start = if let Some(s) = self.period_starts.get(period) {
            *s
        } else {
            let s = period
                .parse::<Period>()
                .ok()
                .map(sipas_core::history::period_start);
            self.period_starts.insert(period.to_string(), s);
            s
        };
        RowDates {
            primary: sub.or(start),
            fallback: start,
        }
    }

    /// Where a date lies: its era and the number of crosswalk steps on or
    /// before it (every date of one slot resolves alike).
    fn slot(&self, date: Option<IsoDate>) -> u64 {
        let Some(d) = date else {
            return u64::MAX;
        };
        let era = self.history.era_index(d) as u64;
        let steps = self
            .crosswalk
            .map_or(0, |c| c.step_dates().iter().filter(|s| **s <= d).count())
            as u64;
        (era << 32) | steps
    }

    /// The index (for [`Resolver::get`]) of the resolution of `unit` within
    /// `district` at the row's dates.
    pub(crate) fn resolve(&mut self, unit: &str, district: Option<&str>, dates: RowDates) -> u32 {
        self.key.clear();
        self.key
            .extend_from_slice(&(unit.len() as u64).to_le_bytes());
        self.key.extend_from_slice(unit.as_bytes());
        if self.history.eras().len() > 1 || self.crosswalk.is_some() {
            let (a, b) = (self.slot(dates.primary), self.slot(dates.fallback));
            self.key.extend_from_slice(&a.to_le_bytes());
            self.key.extend_from_slice(&b.to_le_bytes());
        }
        if let Some(d) = district {
            self.key.push(1);
            self.key.extend_from_slice(d.as_bytes());
        }
        if let Some(&i) = self.cache.get(self.key.as_slice()) {
            return i;
        }
        let r = self.resolve_uncached(unit, district, dates);
        let i = u32::try_from(self.resolved.len()).expect("fewer than 2^32 distinct unit texts");
        self.resolved.push(r);
        self.cache.insert(self.key.clone(), i);
        i
    }

    pub(crate) fn get(&self, i: u32) -> &Resolved {
        &self.resolved[i as usize]
    }

    /// Every resolution made so far.
    pub(crate) fn all(&self) -> &[Resolved] {
        &self.resolved
    }

    fn resolve_uncached(&self, unit: &str, district: Option<&str>, dates: RowDates) -> Resolved {
        // Without a valid period or submission day: the latest units.
        let latest = self.history.eras().last().and_then(|e| e.valid_from);
        let primary = dates.primary.or(latest);
        let first = self.resolve_at(unit, district, primary);
        let retry = dates.fallback.is_some()
            && self.slot(dates.fallback) != self.slot(primary)
            && matches!(first.result, Err((Reason::UnknownUnit, _)));
        if retry {
            let second = self.resolve_at(unit, district, dates.fallback);
            if second.result.is_ok() {
                return second;
            }
        }
        first
    }

    /// Resolves among the units in force on `date` (the first era when
    /// `None`: only a history of one list has no dated era).
    fn resolve_at(&self, unit: &str, district: Option<&str>, date: Option<IsoDate>) -> Resolved {
        let text = unit.trim();
        let era = date.map_or(0, |d| self.history.era_index(d));
        let registry = &self.history.eras()[era].units;
        let known = registry.contains(text)
            || self
                .crosswalk
                .zip(date)
                .is_some_and(|(c, d)| c.knows(text, d));
        let mut out = Resolved {
            raw: unit.to_string(),
            result: Err((Reason::UnknownUnit, String::new())),
            named: !known,
            by_name: false,
            by_fallback: false,
            remapped: false,
            before_crosswalk: None,
            to_default: None,
        };
        let m = if known {
            UnitMatch::Exact(text.to_string())
        } else {
            let district = district.map(str::trim).filter(|d| !d.is_empty());
            self.matchers[era].match_unit(text, district)
        };
        let code = match m {
            UnitMatch::Exact(c) => {
                out.by_name = !known;
                c
            }
            UnitMatch::AccentFallback(c) => {
                out.by_fallback = true;
                c
            }
            UnitMatch::Ambiguous(c) => {
                out.result = Err((
                    Reason::AmbiguousUnit,
                    format!("candidates: {}", c.join("|")),
                ));
                return out;
            }
            UnitMatch::Unknown => {
                out.result = Err((Reason::UnknownUnit, self.unknown_detail(text, era)));
                return out;
            }
        };
        out.before_crosswalk = Some(code.clone());
        let (Some(c), Some(d)) = (self.crosswalk, date) else {
            out.result = Ok(code);
            return out;
        };
        match c.map(&code, d, self.target, &self.history) {
            Mapped::Code { code: new, divided } => {
                out.remapped = new != code;
                if let Some(old) = divided.first() {
                    out.to_default = Some(format!("{old} → {new}"));
                }
                out.result = Ok(new);
            }
            Mapped::NotOneToOne {
                code: at,
                step,
                candidates,
            } => {
                out.result = Err((
                    Reason::CrosswalkNotOneToOne,
                    format!(
                        "{at} cannot be mapped back across the {step} step onto the units of {}: old units behind it {}",
                        self.target.label(),
                        candidates.join("|")
                    ),
                ));
            }
        }
        out
    }

    /// Why a unit text is unknown in an era: for a code in force at other
    /// dates, when.
    fn unknown_detail(&self, text: &str, era: usize) -> String {
        let span = |f: Option<IsoDate>, t: Option<IsoDate>| {
            format!(
                "{}–{}",
                f.map_or_else(|| "…".to_string(), |d| d.to_string()),
                t.map_or_else(|| "…".to_string(), |d| d.to_string())
            )
        };
        let versions = self.history.versions(text);
        if versions.is_empty() {
            return format!("no unit matches `{text}`");
        }
        let e = &self.history.eras()[era];
        let when: Vec<String> = versions
            .iter()
            .map(|v| format!("{} {}", v.unit.full_name(), span(v.valid_from, v.valid_to)))
            .collect();
        format!(
            "`{text}` is not a unit in force {} (it was: {})",
            span(e.valid_from, e.valid_to),
            when.join("; ")
        )
    }
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        self.rows_in += o.rows_in;
        self.kept += o.kept;
        self.excluded += o.excluded;
        for (k, v) in &o.excluded_by_reason {
            *self.excluded_by_reason.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.flagged_by_reason {
            *self.flagged_by_reason.entry(k.clone()).or_default() += v;
        }
    }

    fn exclude(&mut self, reason: Reason) {
        self.excluded += 1;
        *self
            .excluded_by_reason
            .get_mut(reason.as_str())
            .expect("every reason is present") += 1;
    }

    /// Adds `rows` kept rows, `flagged[k]` of them with flag `k` (in the
    /// order of [`FLAG_COLUMNS`]).
    pub(crate) fn keep_many(&mut self, rows: u64, flagged: [u64; 6]) {
        self.kept += rows;
        self.rows_in += rows;
        for (n, name) in flagged.into_iter().zip(FLAG_COLUMNS) {
            *self
                .flagged_by_reason
                .get_mut(name)
                .expect("every flag is present") += n;
        }
    }

    fn keep(&mut self, flags: Flags) {
        self.kept += 1;
        for (on, name) in flags.as_array().into_iter().zip(FLAG_COLUMNS) {
            if on {
                *self
                    .flagged_by_reason
                    .get_mut(name)
                    .expect("every flag is present") += 1;
            }
        }
    }
}

/// Counts per (unit_code, period) cell.
pub(crate) type Cells = BTreeMap<(String, String), Counts>;

/// Counts of a part of the table, to be added up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) totals: Counts,
    pub(crate) cells: BTreeMap<(String, String), Counts>,
    pub(crate) channels: BTreeMap<String, ChannelCounts>,
    /// Values set to missing in kept rows: missing codes, out of range.
    pub(crate) values_recoded: [u64; 2],
    by_name: u64,
    by_fallback: u64,
    remapped: u64,
    /// Rows sent to the default receiving unit of a divided unit, per `old → new`.
    to_default: BTreeMap<String, u64>,
    /// Whether a kept row carries the unit text as given.
    pub(crate) kept_named: bool,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Tally {
            totals: Counts::empty(),
            ..Tally::default()
        }
    }

    pub(crate) fn add(&mut self, o: &Tally) {
        self.totals.add(&o.totals);
        for (k, c) in &o.cells {
            self.cells
                .entry(k.clone())
                .or_insert_with(Counts::empty)
                .add(c);
        }
        for (k, c) in &o.channels {
            let e = self.channels.entry(k.clone()).or_default();
            e.rows_in += c.rows_in;
            e.kept += c.kept;
        }
        self.values_recoded[0] += o.values_recoded[0];
        self.values_recoded[1] += o.values_recoded[1];
        self.by_name += o.by_name;
        self.by_fallback += o.by_fallback;
        self.remapped += o.remapped;
        for (k, v) in &o.to_default {
            *self.to_default.entry(k.clone()).or_default() += v;
        }
        self.kept_named |= o.kept_named;
    }

    /// Checks that the counts reconcile and builds the report.
    pub(crate) fn finish(
        self,
        instrument: &Instrument,
        opts: &CleanOptions,
    ) -> Result<(CleanReport, Cells)> {
        self.totals.check("total")?;
        for ((u, p), c) in &self.cells {
            c.check(&format!("{u}/{p}"))?;
        }
        let report = CleanReport {
            instrument: instrument.id.clone(),
            totals: self.totals,
            values_recoded: BTreeMap::from([
                ("missing_code".to_string(), self.values_recoded[0]),
                ("out_of_range".to_string(), self.values_recoded[1]),
            ]),
            units_matched_by_name: self.by_name,
            units_matched_by_accent_fallback: self.by_fallback,
            crosswalk: opts.crosswalk.as_ref().map(|c| CrosswalkSummary {
                target: opts.crosswalk_target.label(),
                entries: c.entries().len() as u64,
                steps: c.step_dates().iter().map(ToString::to_string).collect(),
                rows_remapped: self.remapped,
                rows_to_default_unit: self.to_default,
            }),
            channels: self.channels,
            options: OptionsSummary {
                allow_ascii_fallback: opts.allow_ascii_fallback,
                exclude_flagged: opts.exclude_flagged,
                exclude_resent_copies: opts.exclude_resent_copies,
                max_missing_share: opts.max_missing_share,
                min_duration_s: opts.min_duration_s,
            },
        };
        Ok((report, self.cells))
    }
}

/// The state of a quarantined row before cleaning changed it (answers
/// recoded, flags set), for sorting quarantines of several parts the way
/// [`clean`] sorts the whole table.
#[derive(Debug, Clone)]
pub(crate) struct Before {
    /// The answers as read, when recoding changed them.
    pub(crate) answers: Option<Vec<Option<u8>>>,
    /// The flags as read.
    pub(crate) flags: Flags,
}

/// The outcome of cleaning one part of a table.
#[derive(Debug)]
pub(crate) struct Part {
    /// Kept rows, in canonical order.
    pub(crate) kept: Vec<Response>,
    /// Removed rows, in the canonical order of the rows as read.
    pub(crate) quarantine: Vec<Excluded>,
    /// For each removed row, its state as read.
    pub(crate) before: Vec<Before>,
    /// The counts.
    pub(crate) tally: Tally,
}

/// The permutation that sorts `rows` into the canonical order, equal rows
/// in their order (a stable sort).
fn canonical_order(rows: &[Response]) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..rows.len()).collect();
    perm.par_sort_unstable_by(|&a, &b| rows[a].canonical_cmp(&rows[b]).then(a.cmp(&b)));
    perm
}

/// `v` in the order `perm` (a permutation of its indices).
fn permute<T>(v: Vec<T>, perm: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = v.into_iter().map(Some).collect();
    perm.iter()
        .map(|&i| slots[i].take().expect("a permutation"))
        .collect()
}

/// Checks the table's item columns against the instrument.
pub(crate) fn check_items(items: &[String], instrument: &Instrument) -> Result<()> {
    let want: Vec<&str> = instrument.item_ids();
    if items.iter().map(String::as_str).ne(want.iter().copied()) {
        return Err(Error::Items {
            instrument: instrument.id.clone(),
        });
    }
    Ok(())
}

/// Cleans a table. Pure: no I/O, no clock; the result does not depend on
/// the order of `input.rows`.
///
/// Steps: (1) resolve every unit (code, else name; then the crosswalk);
/// (2) set missing codes and out-of-range answers to missing; (3) keep the
/// latest row per `response_id`; (4) quarantine unknown / ambiguous units;
/// (5) re-sent copies (excluded) and same answers without a submission
/// time (flagged); (6) careless-responding flags.
///
/// `units` is a [`UnitRegistry`] (one list at every date) or a
/// [`UnitHistory`]: a row's unit code or name is then read among the units
/// in force on its date (`submitted_at`, else the first day of its period;
/// the period's first day again when the unit is not in force on the
/// submission day), and a crosswalk moves it from that date to its target.
pub fn clean<'u>(
    input: &ResponseTable,
    instrument: &Instrument,
    units: impl Into<Units<'u>>,
    opts: &CleanOptions,
) -> Result<CleanOutcome> {
    opts.check()?;
    check_items(&input.items, instrument)?;
    if input
        .rows
        .iter()
        .any(|r| r.answers.len() != input.items.len())
    {
        return Err(Error::Items {
            instrument: instrument.id.clone(),
        });
    }
    if let Some(r) = input
        .rows
        .iter()
        .find(|r| r.extra.len() != input.extra.len())
    {
        return Err(Error::Extra {
            response_id: r.response_id.clone(),
            found: r.extra.len(),
            expected: input.extra.len(),
        });
    }
    let mut resolver = Resolver::new(units.into(), opts);
    let extra = resolver.with_old_code_column(&input.extra);
    let resolved = resolve_rows(&input.rows, &mut resolver);
    let part = clean_part(
        input.rows.clone(),
        resolved,
        None,
        instrument,
        &resolver,
        opts,
    );
    let has_unit_text = input.has_unit_text || part.tally.kept_named;
    let (report, cells) = part.tally.finish(instrument, opts)?;
    Ok(CleanOutcome {
        table: ResponseTable {
            items: input.items.clone(),
            has_duration: input.has_duration,
            has_district: input.has_district,
            has_unit_text,
            extra,
            rows: part.kept,
        },
        quarantine: part.quarantine,
        report,
        cells,
        instrument: instrument.clone(),
    })
}

/// Each row's unit resolution (an index for [`Resolver::get`]); a run of
/// rows with one unit text, district and dates is resolved once.
pub(crate) fn resolve_rows(rows: &[Response], resolver: &mut Resolver<'_>) -> Vec<u32> {
    let mut last: Option<(&str, Option<&str>, RowDates, u32)> = None;
    rows.iter()
        .map(|r| {
            let (unit, district) = (r.unit_code.as_str(), r.district.as_deref());
            let dates = resolver.dates(r.submitted_at.as_deref(), &r.period);
            match last {
                Some((u, d, t, i)) if u == unit && d == district && t == dates => i,
                _ => {
                    let i = resolver.resolve(unit, district, dates);
                    last = Some((unit, district, dates, i));
                    i
                }
            }
        })
        .collect()
}

/// Cleans the rows of a part of a table in which every (resolved unit,
/// period) cell is whole. `resolved` gives each row's unit resolution
/// (see [`resolve_rows`]). `superseded` gives, per row of `rows`, the fate
/// of a duplicate `response_id` decided over the whole table (the detail
/// of a superseded row, `None` for a winner or a unique id); without it the
/// duplicates are decided within `rows`.
pub(crate) fn clean_part(
    rows: Vec<Response>,
    resolved: Vec<u32>,
    superseded: Option<Vec<Option<String>>>,
    instrument: &Instrument,
    resolver: &Resolver<'_>,
    opts: &CleanOptions,
) -> Part {
    // Canonical order (stable: equal rows keep their order).
    let n = rows.len();
    assert_eq!(resolved.len(), n, "one resolution per row");
    let perm = canonical_order(&rows);
    let mut rows = permute(rows, &perm);
    let resolved = permute(resolved, &perm);
    let superseded = superseded.map(|s| {
        assert_eq!(s.len(), n, "one fate per row");
        permute(s, &perm)
    });
    let mut tally = Tally::new();

    // (1) units.
    apply_units(&mut rows, &resolved, resolver, &mut tally);

    // (2) recode, keeping the answers and flags as read.
    let (recoded, before) = recode_answers(&mut rows, instrument);

    // (3) duplicate ids: the latest wins.
    let mut fate = superseded_ids(&rows, superseded);

    // (4) unit failures.
    for i in 0..n {
        if fate[i].is_none()
            && let Err(e) = &resolver.get(resolved[i]).result
        {
            fate[i] = Some(e.clone());
        }
    }

    // (5a) re-sent copies.
    let copy_of = resent_copies(&rows, &before, &fate);
    for i in 0..n {
        let Some(f) = copy_of[i] else { continue };
        if opts.exclude_resent_copies {
            let o = &rows[f];
            fate[i] = Some((
                Reason::DuplicateResent,
                format!(
                    "copy of {} ({}:{})",
                    o.response_id, o.source_file, o.source_line
                ),
            ));
        } else {
            rows[i].flags.resent_copy = true;
        }
    }

    // (5b) same answers.
    flag_same_answers(&mut rows, &fate, resolver, &resolved);

    // (6) careless responding.
    flag_careless(&mut rows, &mut fate, opts, instrument);

    // Assemble. Cells are counted by (resolution, period) first.
    let mut periods: HashMap<String, u32> = HashMap::default();
    let mut cells: HashMap<(u32, u32), Counts> = HashMap::default();
    let mut kept = Vec::with_capacity(n);
    let mut quarantine = Vec::new();
    let mut quarantine_before = Vec::new();
    for (i, (mut r, b)) in rows.into_iter().zip(before).enumerate() {
        let res = resolver.get(resolved[i]);
        let p = if let Some(&p) = periods.get(r.period.as_str()) {
            p
        } else {
            let p = u32::try_from(periods.len()).expect("fewer than 2^32 periods");
            periods.insert(r.period.clone(), p);
            p
        };
        let cell = cells.entry((resolved[i], p)).or_insert_with(Counts::empty);
        if let Some(ch) = tally.channels.get_mut(r.channel.as_str()) {
            ch.rows_in += 1;
        } else {
            tally.channels.insert(
                r.channel.clone(),
                ChannelCounts {
                    rows_in: 1,
                    kept: 0,
                },
            );
        }
        cell.rows_in += 1;
        tally.totals.rows_in += 1;
        if let Some((reason, detail)) = fate[i].take() {
            cell.exclude(reason);
            tally.totals.exclude(reason);
            quarantine.push(Excluded {
                row: r,
                reason,
                detail,
                cell_unit: res.cell().to_string(),
            });
            quarantine_before.push(b);
        } else {
            tally
                .channels
                .get_mut(r.channel.as_str())
                .expect("inserted above")
                .kept += 1;
            tally.values_recoded[0] += recoded[i].missing_code;
            tally.values_recoded[1] += recoded[i].out_of_range;
            cell.keep(r.flags);
            tally.totals.keep(r.flags);
            let code = res.cell();
            if res.named {
                r.unit_text = Some(std::mem::replace(&mut r.unit_code, code.to_string()));
                tally.kept_named = true;
            } else if r.unit_code != code {
                code.clone_into(&mut r.unit_code);
            }
            kept.push(r);
        }
    }
    let mut period_names: Vec<String> = vec![String::new(); periods.len()];
    for (name, p) in periods {
        period_names[p as usize] = name;
    }
    for ((u, p), c) in cells {
        tally
            .cells
            .entry((
                resolver.get(u).cell().to_string(),
                period_names[p as usize].clone(),
            ))
            .or_insert_with(Counts::empty)
            .add(&c);
    }
    let perm = canonical_order(&kept);
    let kept = permute(kept, &perm);
    Part {
        kept,
        quarantine,
        before: quarantine_before,
        tally,
    }
}

/// Step (1) of [`clean_part`]: each row's unit resolution counted in
/// `tally`; the code before the crosswalk goes into the old-code column.
fn apply_units(
    rows: &mut [Response],
    resolved: &[u32],
    resolver: &Resolver<'_>,
    tally: &mut Tally,
) {
    for (r, &i) in rows.iter_mut().zip(resolved) {
        let res = resolver.get(i);
        tally.by_name += u64::from(res.by_name);
        tally.by_fallback += u64::from(res.by_fallback);
        tally.remapped += u64::from(res.remapped);
        if let Some(k) = &res.to_default {
            *tally.to_default.entry(k.clone()).or_default() += 1;
        }
        if let Some(c) = resolver.old_code_column {
            let v = res
                .before_crosswalk
                .clone()
                .map_or(crate::table::Value::Null, crate::table::Value::Str);
            if r.extra.len() == c {
                r.extra.push(v);
            } else if r.extra[c] == crate::table::Value::Null {
                r.extra[c] = v;
            }
        }
    }
}

/// Step (2): invalid answer codes recoded to missing, with the answers
/// and flags of each row as read.
fn recode_answers(
    rows: &mut [Response],
    instrument: &Instrument,
) -> (Vec<rules::Recoded>, Vec<Before>) {
    let n = rows.len();
    let mut recoded = Vec::with_capacity(n);
    let mut before: Vec<Before> = Vec::with_capacity(n);
    for r in rows.iter_mut() {
        let changes = r
            .answers
            .iter()
            .zip(instrument.items())
            .any(|(a, item)| a.is_some_and(|v| !item.is_valid(v)));
        before.push(Before {
            answers: changes.then(|| r.answers.clone()),
            flags: r.flags,
        });
        let rc = rules::recode(&mut r.answers, instrument);
        if rc.any() {
            r.flags.recoded = true;
        }
        recoded.push(rc);
    }
    (recoded, before)
}

/// Step (3), duplicate ids: the latest submission wins; the others'
/// fate is `duplicate_id_superseded`. `superseded` is the fate decided
/// over the whole table, when given.
fn superseded_ids(
    rows: &[Response],
    superseded: Option<Vec<Option<String>>>,
) -> Vec<Option<(Reason, String)>> {
    let n = rows.len();
    let mut fate: Vec<Option<(Reason, String)>> = vec![None; n];
    if let Some(s) = superseded {
        for (f, s) in fate.iter_mut().zip(s) {
            *f = s.map(|d| (Reason::DuplicateIdSuperseded, d));
        }
    } else {
        let mut winner: HashMap<&str, usize> = HashMap::default();
        for (i, r) in rows.iter().enumerate() {
            winner
                .entry(r.response_id.as_str())
                .and_modify(|w| {
                    if later(r, &rows[*w]) {
                        *w = i;
                    }
                })
                .or_insert(i);
        }
        for (i, r) in rows.iter().enumerate() {
            let w = winner[r.response_id.as_str()];
            if w != i {
                let wr = &rows[w];
                fate[i] = Some((
                    Reason::DuplicateIdSuperseded,
                    format!("superseded by {}:{}", wr.source_file, wr.source_line),
                ));
            }
        }
    }
    fate
}

/// Step (5a), re-sent copies: a row identical to another in every field
/// the platform records, `submitted_at` included (which must be present),
/// under another id. The first by (source file, line, id) is kept; each
/// later copy gets the index of the row it copies.
fn resent_copies(
    rows: &[Response],
    before: &[Before],
    fate: &[Option<(Reason, String)>],
) -> Vec<Option<usize>> {
    let n = rows.len();
    let mut copy_of: Vec<Option<usize>> = vec![None; n];
    {
        let mut cands: Vec<(u64, usize)> = (0..n)
            .filter(|&i| fate[i].is_none() && rows[i].submitted_at.is_some())
            .map(|i| (record_hash(&rows[i], &before[i]), i))
            .collect();
        cands.par_sort_unstable_by(|&(ha, a), &(hb, b)| {
            let (ra, rb) = (&rows[a], &rows[b]);
            ha.cmp(&hb)
                .then_with(|| ra.source_file.cmp(&rb.source_file))
                .then_with(|| ra.source_line.cmp(&rb.source_line))
                .then_with(|| ra.response_id.cmp(&rb.response_id))
                .then_with(|| a.cmp(&b))
        });
        let mut start = 0;
        while start < cands.len() {
            let h = cands[start].0;
            let end = start + cands[start..].partition_point(|c| c.0 == h);
            for k in start + 1..end {
                let i = cands[k].1;
                copy_of[i] = cands[start..k].iter().map(|c| c.1).find(|&j| {
                    copy_of[j].is_none() && same_record(&rows[i], &before[i], &rows[j], &before[j])
                });
            }
            start = end;
        }
    }
    copy_of
}

/// Step (5b), same answers: a kept row without `submitted_at` whose unit,
/// period, channel, weight and answers equal another kept row's cannot be
/// told from a copy; it is flagged, never excluded (people who give the
/// same answers are different people).
fn flag_same_answers(
    rows: &mut [Response],
    fate: &[Option<(Reason, String)>],
    resolver: &Resolver<'_>,
    resolved: &[u32],
) {
    let n = rows.len();
    {
        let mut count: HashMap<ContentKey<'_>, u32> =
            HashMap::with_capacity_and_hasher(n, PlRandomState::default());
        let keys: Vec<Option<ContentKey<'_>>> = (0..n)
            .map(|i| {
                fate[i].is_none().then(|| {
                    let r = &rows[i];
                    let code = resolver
                        .get(resolved[i])
                        .result
                        .as_ref()
                        .expect("unit failures were excluded")
                        .as_str();
                    ContentKey(
                        code,
                        r.period.as_str(),
                        r.channel.as_str(),
                        r.weight.to_bits(),
                        &r.answers[..],
                    )
                })
            })
            .collect();
        for k in keys.iter().flatten() {
            *count.entry(k.clone()).or_default() += 1;
        }
        let flag: Vec<bool> = keys
            .iter()
            .zip(rows.iter())
            .map(|(k, r)| r.submitted_at.is_none() && k.as_ref().is_some_and(|k| count[k] > 1))
            .collect();
        drop(keys);
        drop(count);
        for (r, f) in rows.iter_mut().zip(flag) {
            r.flags.same_answers |= f;
        }
    }
}

/// Step (6), careless responding: straight-lining, too many missing
/// answers, speeding; flagged, or excluded with `exclude_flagged`.
fn flag_careless(
    rows: &mut [Response],
    fate: &mut [Option<(Reason, String)>],
    opts: &CleanOptions,
    instrument: &Instrument,
) {
    let n = rows.len();
    let likert = rules::likert_positions(instrument);
    for i in 0..n {
        if fate[i].is_some() {
            continue;
        }
        let r = &mut rows[i];
        r.flags.straightline |= rules::is_straightline_at(&r.answers, likert.as_deref());
        r.flags.missing |= rules::is_missing_heavy(&r.answers, opts.max_missing_share);
        r.flags.speeder |= rules::is_speeder(r.duration_s, opts.min_duration_s);
        if opts.exclude_flagged && r.flags.careless() {
            let f = r.flags;
            let mut names = Vec::new();
            for (on, name) in [
                (f.straightline, "straightline"),
                (f.speeder, "speeder"),
                (f.missing, "missing"),
            ] {
                if on {
                    names.push(name);
                }
            }
            let reason = if f.straightline {
                Reason::FlagStraightline
            } else if f.speeder {
                Reason::FlagSpeeder
            } else {
                Reason::FlagMissing
            };
            fate[i] = Some((reason, format!("flags: {}", names.join("|"))));
        }
    }
}
