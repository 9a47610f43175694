//! The cleaning pass: unit matching, crosswalk, recoding, duplicates and
//! careless-responding flags, with counts that reconcile.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sipas_core::{Instrument, UnitRegistry};

use crate::crosswalk::{Crosswalk, CrosswalkTarget};
use crate::rules;
use crate::table::{FLAG_COLUMNS, Response, ResponseTable};
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
    /// Which set of units the crosswalk maps onto. Default [`CrosswalkTarget::New`].
    pub crosswalk_target: CrosswalkTarget,
    /// Exclude rows with a careless-responding flag (straightline, missing,
    /// speeder) instead of keeping them flagged. Default `false`.
    pub exclude_flagged: bool,
    /// Exclude content duplicates (kept and flagged otherwise). Default `true`.
    pub exclude_content_duplicates: bool,
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
            exclude_content_duplicates: true,
            max_missing_share: 0.5,
            min_duration_s: 120.0,
        }
    }
}

impl CleanOptions {
    fn check(&self) -> Result<()> {
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
    /// Same content as another row with a different id.
    DuplicateContent,
    /// Careless responding: straight-lining (with `exclude_flagged`).
    FlagStraightline,
    /// Careless responding: too fast (with `exclude_flagged`).
    FlagSpeeder,
    /// Careless responding: too many items missing (with `exclude_flagged`).
    FlagMissing,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 7] = [
        Reason::DuplicateIdSuperseded,
        Reason::UnknownUnit,
        Reason::AmbiguousUnit,
        Reason::DuplicateContent,
        Reason::FlagStraightline,
        Reason::FlagSpeeder,
        Reason::FlagMissing,
    ];

    /// The name written in the quarantine and the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DuplicateIdSuperseded => "duplicate_id_superseded",
            Reason::UnknownUnit => "unknown_unit",
            Reason::AmbiguousUnit => "ambiguous_unit",
            Reason::DuplicateContent => "duplicate_content",
            Reason::FlagStraightline => "flag_straightline",
            Reason::FlagSpeeder => "flag_speeder",
            Reason::FlagMissing => "flag_missing",
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
    fn empty() -> Self {
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
    /// `new` or `old`.
    pub target: String,
    /// Lines of the crosswalk.
    pub entries: u64,
    /// Rows whose unit code was changed.
    pub rows_remapped: u64,
}

/// The options as recorded in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionsSummary {
    /// See [`CleanOptions::allow_ascii_fallback`].
    pub allow_ascii_fallback: bool,
    /// See [`CleanOptions::exclude_flagged`].
    pub exclude_flagged: bool,
    /// See [`CleanOptions::exclude_content_duplicates`].
    pub exclude_content_duplicates: bool,
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
}

/// Content of a row for duplicate detection: unit, period, channel, weight bits, answers.
type ContentKey<'a> = (&'a str, &'a str, &'a str, u64, &'a [Option<u8>]);

/// Ordering key of `submitted_at`: parsed instants first compared as
/// instants; missing sorts earliest.
fn submitted_key(r: &Response) -> (u8, f64, &str) {
    match r.submitted_at.as_deref() {
        None => (0, 0.0, ""),
        Some(s) => match parse_iso8601(s) {
            Some(t) => (2, t, s),
            None => (1, 0.0, s),
        },
    }
}

/// Whether `a` was submitted after `b` (ties: later source file, then line,
/// then the canonical order).
fn later(a: &Response, b: &Response) -> bool {
    let (ka, kb) = (submitted_key(a), submitted_key(b));
    ka.0.cmp(&kb.0)
        .then_with(|| ka.1.total_cmp(&kb.1))
        .then_with(|| ka.2.cmp(kb.2))
        .then_with(|| a.source_file.cmp(&b.source_file))
        .then_with(|| a.source_line.cmp(&b.source_line))
        .then_with(|| a.canonical_cmp(b))
        .is_gt()
}

/// Cleans a response table. Pure: no I/O, no clock; the result does not
/// depend on the order of `input.rows`.
///
/// Steps: (1) resolve every unit (code, else name; then the crosswalk);
/// (2) set missing codes and out-of-range answers to missing; (3) keep the
/// latest row per `response_id`; (4) quarantine unknown / ambiguous units;
/// (5) content duplicates; (6) careless-responding flags.
pub fn clean(
    input: &ResponseTable,
    instrument: &Instrument,
    registry: &UnitRegistry,
    opts: &CleanOptions,
) -> Result<CleanOutcome> {
    opts.check()?;
    let want: Vec<&str> = instrument.item_ids();
    if input
        .items
        .iter()
        .map(String::as_str)
        .ne(want.iter().copied())
        || input.rows.iter().any(|r| r.answers.len() != want.len())
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
    let matcher = UnitMatcher::new(registry).with_ascii_fallback(opts.allow_ascii_fallback);
    let mut rows = input.rows.clone();
    rows.sort_by(Response::canonical_cmp);

    // (1) units.
    let mut by_name = 0u64;
    let mut by_fallback = 0u64;
    let mut remapped = 0u64;
    let mut resolved: Vec<std::result::Result<String, (Reason, String)>> = Vec::new();
    // Per row: whether the unit was matched by name (kept rows then carry
    // the text as given in `unit_text`).
    let mut named = Vec::with_capacity(rows.len());
    let mut cache: HashMap<(String, Option<String>), UnitMatch> = HashMap::new();
    for r in &rows {
        let text = r.unit_code.trim();
        let known =
            registry.contains(text) || opts.crosswalk.as_ref().is_some_and(|c| c.mentions(text));
        named.push(!known);
        let m = if known {
            UnitMatch::Exact(text.to_string())
        } else {
            let district = r
                .district
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            cache
                .entry((text.to_string(), district.map(str::to_string)))
                .or_insert_with(|| matcher.match_unit(text, district))
                .clone()
        };
        let code = match m {
            UnitMatch::Exact(c) => {
                by_name += u64::from(!known);
                c
            }
            UnitMatch::AccentFallback(c) => {
                by_fallback += 1;
                c
            }
            UnitMatch::Ambiguous(c) => {
                resolved.push(Err((
                    Reason::AmbiguousUnit,
                    format!("candidates: {}", c.join("|")),
                )));
                continue;
            }
            UnitMatch::Unknown => {
                resolved.push(Err((
                    Reason::UnknownUnit,
                    format!("no unit matches `{text}`"),
                )));
                continue;
            }
        };
        let code = match opts
            .crosswalk
            .as_ref()
            .and_then(|c| c.apply(&code, opts.crosswalk_target, registry))
        {
            Some(new) => {
                remapped += 1;
                new
            }
            None => code,
        };
        resolved.push(Ok(code));
    }

    // (2) recode.
    let mut recoded = Vec::with_capacity(rows.len());
    for r in &mut rows {
        let rc = rules::recode(&mut r.answers, &instrument.scale);
        if rc.any() {
            r.flags.recoded = true;
        }
        recoded.push(rc);
    }

    let n = rows.len();
    let mut fate: Vec<Option<(Reason, String)>> = vec![None; n];

    // (3) duplicate ids: the latest wins.
    let mut winner: HashMap<&str, usize> = HashMap::new();
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

    // (4) unit failures.
    for i in 0..n {
        if fate[i].is_none()
            && let Err(e) = &resolved[i]
        {
            fate[i] = Some(e.clone());
        }
    }

    // (5) content duplicates: same unit, period, channel, weight and answers.
    let mut first: HashMap<ContentKey<'_>, usize> = HashMap::new();
    let mut order: Vec<usize> = (0..n).filter(|&i| fate[i].is_none()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&rows[a], &rows[b]);
        let (ka, kb) = (submitted_key(ra), submitted_key(rb));
        ka.0.cmp(&kb.0)
            .then_with(|| ka.1.total_cmp(&kb.1))
            .then_with(|| ka.2.cmp(kb.2))
            .then_with(|| ra.source_file.cmp(&rb.source_file))
            .then_with(|| ra.source_line.cmp(&rb.source_line))
            .then_with(|| ra.response_id.cmp(&rb.response_id))
    });
    let mut dup_of: Vec<Option<usize>> = vec![None; n];
    for &i in &order {
        let r = &rows[i];
        let code = resolved[i]
            .as_ref()
            .expect("unit failures were excluded")
            .as_str();
        let key = (
            code,
            r.period.as_str(),
            r.channel.as_str(),
            r.weight.to_bits(),
            &r.answers[..],
        );
        match first.get(&key) {
            Some(&f) => dup_of[i] = Some(f),
            None => {
                first.insert(key, i);
            }
        }
    }
    for i in 0..n {
        if let Some(f) = dup_of[i] {
            rows[i].flags.duplicate_content = true;
            if opts.exclude_content_duplicates {
                fate[i] = Some((
                    Reason::DuplicateContent,
                    format!("same content as {}", rows[f].response_id),
                ));
            }
        }
    }

    // (6) careless responding.
    for i in 0..n {
        if fate[i].is_some() {
            continue;
        }
        let r = &mut rows[i];
        r.flags.straightline |= rules::is_straightline(&r.answers);
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

    // Assemble.
    let mut totals = Counts::empty();
    let mut cells: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut channels: BTreeMap<String, ChannelCounts> = BTreeMap::new();
    let mut values_recoded = BTreeMap::from([
        ("missing_code".to_string(), 0),
        ("out_of_range".to_string(), 0),
    ]);
    let mut kept = Vec::new();
    let mut quarantine = Vec::new();
    for (i, mut r) in rows.into_iter().enumerate() {
        let cell_unit = match &resolved[i] {
            Ok(c) => c.clone(),
            Err(_) => r.unit_code.clone(),
        };
        let cell = cells
            .entry((cell_unit.clone(), r.period.clone()))
            .or_insert_with(Counts::empty);
        let ch = channels.entry(r.channel.clone()).or_default();
        ch.rows_in += 1;
        cell.rows_in += 1;
        totals.rows_in += 1;
        if let Some((reason, detail)) = fate[i].take() {
            for c in [&mut *cell, &mut totals] {
                c.excluded += 1;
                *c.excluded_by_reason
                    .entry(reason.as_str().into())
                    .or_default() += 1;
            }
            quarantine.push(Excluded {
                row: r,
                reason,
                detail,
                cell_unit,
            });
        } else {
            ch.kept += 1;
            *values_recoded.get_mut("missing_code").expect("inserted") += recoded[i].missing_code;
            *values_recoded.get_mut("out_of_range").expect("inserted") += recoded[i].out_of_range;
            for c in [&mut *cell, &mut totals] {
                c.kept += 1;
                for (on, name) in r.flags.as_array().into_iter().zip(FLAG_COLUMNS) {
                    if on {
                        *c.flagged_by_reason.entry(name.into()).or_default() += 1;
                    }
                }
            }
            if named[i] {
                r.unit_text = Some(std::mem::take(&mut r.unit_code));
            }
            r.unit_code = cell_unit;
            kept.push(r);
        }
    }
    totals.check("total")?;
    for ((u, p), c) in &cells {
        c.check(&format!("{u}/{p}"))?;
    }
    kept.sort_by(Response::canonical_cmp);
    let report = CleanReport {
        instrument: instrument.id.clone(),
        totals,
        values_recoded,
        units_matched_by_name: by_name,
        units_matched_by_accent_fallback: by_fallback,
        crosswalk: opts.crosswalk.as_ref().map(|c| CrosswalkSummary {
            target: opts.crosswalk_target.as_str().into(),
            entries: c.entries().len() as u64,
            rows_remapped: remapped,
        }),
        channels,
        options: OptionsSummary {
            allow_ascii_fallback: opts.allow_ascii_fallback,
            exclude_flagged: opts.exclude_flagged,
            exclude_content_duplicates: opts.exclude_content_duplicates,
            max_missing_share: opts.max_missing_share,
            min_duration_s: opts.min_duration_s,
        },
    };
    Ok(CleanOutcome {
        table: ResponseTable {
            items: input.items.clone(),
            has_duration: input.has_duration,
            has_district: input.has_district,
            has_unit_text: input.has_unit_text || kept.iter().any(|r| r.unit_text.is_some()),
            extra: input.extra.clone(),
            rows: kept,
        },
        quarantine,
        report,
        cells,
    })
}
