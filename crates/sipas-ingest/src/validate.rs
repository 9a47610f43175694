//! Row validation of one file: the checks that need nothing but the row.
//!
//! Rows that pass go into a columnar [`Candidates`] store (answers in one
//! `Vec<u8>` per item, 0 = missing); rows that fail become [`Failure`]s with
//! the original record. The checks that depend on earlier rows
//! (`duplicate_response_id`, `mixed_granularity`) run later, in input order,
//! in the merge step that follows, which takes these failures as they are;
//! a failure's [`Stage`] says where it sits relative to them so that a row's
//! reason is always its first failing check. This module knows nothing of that
//! step: the flow is one way, validate → merge.

use std::collections::{HashMap, HashSet};

use sipas_core::{Instrument, Item, Period, Scale};

use crate::Reason;
use crate::ids::{IdKey, id_key};
use crate::input::{Record, Row};
use crate::layout::Layout;
use crate::mapping::{Label, Resolver, is_missing_code};
use crate::review::{ReviewPolicy, ReviewState, instance_key};
use sipas_core::text::match_key;

/// Strings stored end to end in one buffer.
#[derive(Debug, Default)]
pub(crate) struct StrCol {
    data: String,
    ends: Vec<usize>,
}

impl StrCol {
    pub(crate) fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.ends.push(self.data.len());
    }

    /// Pushes the NFC form of `s` (no allocation for ASCII).
    pub(crate) fn push_nfc(&mut self, s: &str) {
        if s.is_ascii() {
            self.data.push_str(s);
        } else {
            self.data
                .extend(unicode_normalization::UnicodeNormalization::nfc(s));
        }
        self.ends.push(self.data.len());
    }

    pub(crate) fn get(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.data[start..self.ends[k]]
    }
}

/// Shared, read-only context of a run.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) instrument: &'a Instrument,
    /// Column mapping, answer labels and the period rule.
    pub(crate) resolver: &'a Resolver,
    /// Which submissions to keep by their review decision.
    pub(crate) review: ReviewPolicy,
    /// Instance ids (without `uuid:`) that a later version among the inputs
    /// names in `meta/deprecatedID`.
    pub(crate) superseded: &'a HashSet<String>,
    /// Date and period checks.
    pub(crate) dates: &'a crate::DateChecks,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        instrument: &'a Instrument,
        resolver: &'a Resolver,
        review: ReviewPolicy,
        superseded: &'a HashSet<String>,
        dates: &'a crate::DateChecks,
    ) -> Self {
        Ctx {
            instrument,
            resolver,
            review,
            superseded,
            dates,
        }
    }
}

/// Interned strings (units, channels): index per row, table of values.
#[derive(Debug, Default)]
pub(crate) struct Interned {
    pub(crate) table: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interned {
    /// The index of `raw` (trimmed input), storing `clean(raw)` the first time.
    fn intern(&mut self, raw: &str, clean: impl FnOnce(&str) -> String) -> u32 {
        if let Some(&k) = self.index.get(raw) {
            return k;
        }
        let value = clean(raw);
        let next = self.table.len() as u32;
        let k = *self.index.entry(value.clone()).or_insert(next);
        if k == next {
            self.table.push(value);
        }
        self.index.entry(raw.to_string()).or_insert(k);
        k
    }
}

/// A unit as kept: NFC, trimmed; a code of fewer than 5 digits (a number
/// that lost its leading zero in a spreadsheet) is padded to 5 digits.
pub(crate) fn unit_text(raw: &str) -> String {
    if !raw.is_empty() && raw.len() < 5 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{raw:0>5}")
    } else {
        sipas_core::text::nfc(raw)
    }
}

/// Rows of one file that passed every row-local check, column by column.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    pub(crate) lines: Vec<u64>,
    pub(crate) ids: StrCol,
    /// The 128-bit key of each id ([`crate::ids`]).
    pub(crate) keys: Vec<IdKey>,
    pub(crate) units: Vec<u32>,
    pub(crate) unit_table: Interned,
    pub(crate) district: StrCol,
    pub(crate) district_valid: Vec<bool>,
    pub(crate) periods: Vec<u32>,
    pub(crate) period_table: Vec<Period>,
    period_index: HashMap<Period, u32>,
    pub(crate) submitted: StrCol,
    pub(crate) submitted_valid: Vec<bool>,
    pub(crate) channels: Vec<u32>,
    pub(crate) channel_table: Interned,
    pub(crate) weights: Vec<f64>,
    /// One vector per item (instrument order), [`NO_ANSWER`] = missing.
    pub(crate) answers: Vec<Vec<u8>>,
    /// Per row: how many answers were a scale missing code.
    pub(crate) missing_codes: Vec<u8>,
    /// Per row: kept although its review is on hold / has issues.
    pub(crate) review_flagged: Vec<bool>,
    /// One text column per kept column (NFC, trimmed; `""` when null).
    pub(crate) kept: Vec<StrCol>,
    /// Per kept column and row: whether the value is present (not empty).
    pub(crate) kept_valid: Vec<Vec<bool>>,
}

impl Candidates {
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(crate) fn period(&self, k: usize) -> Period {
        self.period_table[self.periods[k] as usize]
    }

    pub(crate) fn unit(&self, k: usize) -> &str {
        &self.unit_table.table[self.units[k] as usize]
    }
}

/// Where a row-local failure sits relative to the input-order checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before `duplicate_response_id` (malformed row, missing id).
    BeforeDuplicate,
    /// After `duplicate_response_id`, before `mixed_granularity` (unit, period).
    BeforeGranularity,
    /// After `mixed_granularity` (answers, weight).
    Last,
}

/// A row that failed a row-local check.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Number of candidates of the file accepted before this row.
    pub(crate) before: usize,
    pub(crate) line: u64,
    pub(crate) stage: Stage,
    pub(crate) reason: Reason,
    pub(crate) column: String,
    pub(crate) detail: String,
    /// The NFC response id (stages after the duplicate check).
    pub(crate) id: Option<String>,
    /// The period (stage [`Stage::Last`]).
    pub(crate) period: Option<Period>,
    pub(crate) record: String,
}

/// The row-local result of one file.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) rows_read: u64,
    /// Records whose every field is empty (not counted as rows).
    pub(crate) blank_rows: u64,
    pub(crate) cand: Candidates,
    /// In line order.
    pub(crate) failures: Vec<Failure>,
}

/// The original record re-serialized as one CSV line (no terminator).
pub(crate) fn record_text(rec: Record<'_>) -> String {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    w.write_record(rec.iter())
        .expect("writing to memory cannot fail");
    let mut bytes = w.into_inner().expect("flushing to memory cannot fail");
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The result of reading one answer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A valid code of the scale.
    Code(u8),
    /// Empty.
    Missing,
    /// One of the scale's missing codes (read as missing, counted).
    MissingCode,
    /// Anything else.
    Invalid,
}

/// The code of `text` among the item's own labels (`labels_vi` of a yes/no
/// or choice item, in code order), compared as the answer labels are.
fn item_label(item: &Item, text: &str) -> Option<u8> {
    let labels = &item.coding.labels_vi;
    if labels.is_empty() || item.rule.kind == sipas_core::index::ItemType::Likert {
        return None;
    }
    let key = match_key(text);
    labels
        .iter()
        .position(|l| match_key(l) == key)
        .map(|k| item.rule.valid[k])
}

/// A missing answer in [`Candidates::answers`] (no item takes 255 as a
/// valid code: [`sipas_core::index::ItemCoding::compile`]).
pub(crate) const NO_ANSWER: u8 = u8::MAX;

/// Reads an answer to `item`: surrounding whitespace and `4.0`-style
/// integers are accepted; the scale's missing codes read as missing unless
/// they are valid answers of the item.
pub(crate) fn parse_answer(b: &[u8], item: &Item, scale: &Scale) -> Answer {
    if let [d] = b
        && d.is_ascii_digit()
    {
        let v = d - b'0';
        return if item.is_valid(v) {
            Answer::Code(v)
        } else if is_missing_code(u16::from(v), scale) {
            Answer::MissingCode
        } else {
            Answer::Invalid
        };
    }
    let Ok(s) = std::str::from_utf8(b) else {
        return Answer::Invalid;
    };
    let s = s.trim();
    if s.is_empty() {
        return Answer::Missing;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 6
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c == b'0')
    {
        return Answer::Invalid;
    }
    let v: u32 = int.parse().expect("at most 6 ascii digits");
    if let Ok(v8) = u8::try_from(v)
        && item.is_valid(v8)
    {
        return Answer::Code(v8);
    }
    if u16::try_from(v).is_ok_and(|v| is_missing_code(v, scale)) {
        Answer::MissingCode
    } else {
        Answer::Invalid
    }
}

/// Reads a weight: empty ⇒ 1; otherwise a finite number > 0.
pub(crate) fn parse_weight(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(1.0);
    }
    s.parse::<f64>().ok().filter(|w| w.is_finite() && *w > 0.0)
}

/// Validates the rows of one file.
pub(crate) struct FileValidator<'a> {
    ctx: &'a Ctx<'a>,
    layout: &'a Layout,
    out: Parsed,
    codes: Vec<u8>,
}

fn shown(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

impl<'a> FileValidator<'a> {
    pub(crate) fn new(ctx: &'a Ctx<'a>, layout: &'a Layout) -> Self {
        let cand = Candidates {
            answers: vec![Vec::new(); layout.items.len()],
            kept: (0..layout.kept.len()).map(|_| StrCol::default()).collect(),
            kept_valid: vec![Vec::new(); layout.kept.len()],
            ..Candidates::default()
        };
        FileValidator {
            ctx,
            layout,
            out: Parsed {
                rows_read: 0,
                blank_rows: 0,
                cand,
                failures: Vec::new(),
            },
            codes: vec![NO_ANSWER; layout.items.len()],
        }
    }

    pub(crate) fn finish(self) -> Parsed {
        self.out
    }

    /// Validates one record.
    pub(crate) fn row(&mut self, line: u64, row: Row<'_>) {
        if let Ok(rec) = row
            && rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            self.out.blank_rows += 1;
            return;
        }
        self.out.rows_read += 1;
        let rec = match row {
            Ok(rec) => rec,
            Err(msg) => {
                self.out.failures.push(Failure {
                    before: self.out.cand.len(),
                    line,
                    stage: Stage::BeforeDuplicate,
                    reason: Reason::MalformedRow,
                    column: String::new(),
                    detail: format!("unparsable record: {msg}"),
                    id: None,
                    period: None,
                    record: String::new(),
                });
                return;
            }
        };
        if let Err(f) = self.check(line, rec) {
            let mut f = *f;
            f.before = self.out.cand.len();
            f.record = record_text(rec);
            self.out.failures.push(f);
        }
    }

    // Boxed: keeps `Result<_, Box<Failure>>` small on the hot path.
    #[allow(clippy::unnecessary_box_returns)]
    fn fail(
        &self,
        line: u64,
        stage: Stage,
        reason: Reason,
        col: usize,
        detail: String,
    ) -> Box<Failure> {
        let column = self.layout.names.get(col).cloned().unwrap_or_default();
        Box::new(Failure {
            before: 0,
            line,
            stage,
            reason,
            detail: if column.is_empty() {
                detail
            } else {
                format!("column {column}: {detail}")
            },
            column,
            id: None,
            period: None,
            record: String::new(),
        })
    }

    fn text<'r>(&self, line: u64, rec: Record<'r>, col: usize) -> Result<&'r str, Box<Failure>> {
        let b = rec.field(col);
        std::str::from_utf8(b).map(str::trim).map_err(|_| {
            self.fail(
                line,
                Stage::BeforeDuplicate,
                Reason::MalformedRow,
                col,
                format!(
                    "value {} is not valid UTF-8 (the file was read as UTF-8; name its encoding if it is another)",
                    shown(b)
                ),
            )
        })
    }

    fn check(&mut self, line: u64, rec: Record<'_>) -> Result<(), Box<Failure>> {
        let l = self.layout;
        if rec.len() != l.n_fields {
            return Err(self.fail(
                line,
                Stage::BeforeDuplicate,
                Reason::MalformedRow,
                usize::MAX,
                format!(
                    "expected {} fields as in the header, found {}",
                    l.n_fields,
                    rec.len()
                ),
            ));
        }
        let id = self.text(line, rec, l.response_id)?;
        let submitted = l
            .submitted_at
            .map(|c| self.text(line, rec, c))
            .transpose()?;
        let channel = l.channel.map(|c| self.text(line, rec, c)).transpose()?;
        let unit = self.text(line, rec, l.unit_code)?;
        let district = l.district.map(|c| self.text(line, rec, c)).transpose()?;
        let kept = l
            .kept
            .iter()
            .map(|c| c.map(|c| self.text(line, rec, c)).transpose())
            .collect::<Result<Vec<Option<&str>>, _>>()?;
        if id.is_empty() {
            return Err(self.fail(
                line,
                Stage::BeforeDuplicate,
                Reason::MissingResponseId,
                l.response_id,
                "empty response id".into(),
            ));
        }
        if let Some(c) = l.instance
            && !self.ctx.superseded.is_empty()
        {
            let v = self.text(line, rec, c)?;
            if !v.is_empty() && self.ctx.superseded.contains(instance_key(v)) {
                return Err(self.fail(
                    line,
                    Stage::BeforeDuplicate,
                    Reason::SupersededByEdit,
                    c,
                    format!(
                        "instance {v:?} was replaced by an edit among the inputs (a later version names it in meta/deprecatedID)"
                    ),
                ));
            }
        }
        let review = match l.review {
            Some(c) => ReviewState::parse(self.text(line, rec, c)?),
            None => ReviewState::None,
        };
        if let Some(c) = l.review
            && let Some(reason) = self.ctx.review.excludes(review)
        {
            let detail = format!(
                "review {:?} excluded by the review policy {}",
                String::from_utf8_lossy(&rec[c]).trim(),
                self.ctx.review
            );
            return Err(self.fail(line, Stage::BeforeDuplicate, reason, c, detail));
        }
        let id_nfc = || sipas_core::text::nfc(id);
        // Unit and period: checked after the duplicate test.
        if unit.is_empty() {
            let mut f = self.fail(
                line,
                Stage::BeforeGranularity,
                Reason::MissingUnit,
                l.unit_code,
                "empty unit (a GSO code or a unit name is required)".into(),
            );
            f.id = Some(id_nfc());
            return Err(f);
        }
        let rule = self.ctx.resolver.period_from_date;
        let period_col = l
            .period
            .or(l.submitted_at)
            .expect("layout has a period source");
        let period_raw = &rec[period_col];
        let period = std::str::from_utf8(period_raw).ok().and_then(|p| {
            let p = p.trim();
            let direct = if l.period.is_some() {
                p.parse::<Period>().ok()
            } else {
                None
            };
            direct.or_else(|| rule.and_then(|r| crate::mapping::period_of_date(p, r)))
        });
        let Some(period) = period else {
            let expected = if rule.is_some() {
                "YYYY, YYYY-H1/H2, YYYYQ1-Q4, YYYY-MM or a date YYYY-MM-DD / DD/MM/YYYY"
            } else {
                "YYYY, YYYY-H1/H2, YYYYQ1-Q4 or YYYY-MM"
            };
            let mut f = self.fail(
                line,
                Stage::BeforeGranularity,
                Reason::InvalidPeriod,
                period_col,
                format!(
                    "value {} is not a period (expected {expected})",
                    shown(period_raw)
                ),
            );
            f.id = Some(id_nfc());
            return Err(f);
        };
        if let Err((reason, on_period, detail)) =
            self.ctx.dates.check(submitted, period, l.period.is_some())
        {
            let col = if on_period {
                period_col
            } else {
                l.submitted_at.expect("a submitted_at fault has its column")
            };
            let mut f = self.fail(line, Stage::BeforeGranularity, reason, col, detail);
            f.id = Some(id_nfc());
            return Err(f);
        }
        let late = |this: &Self, reason, col, detail| {
            let mut f = this.fail(line, Stage::Last, reason, col, detail);
            f.id = Some(id_nfc());
            f.period = Some(period);
            f
        };
        let inst = &self.ctx.instrument;
        let scale = &inst.scale;
        let mut n_missing_codes = 0u8;
        for (j, &col) in l.items.iter().enumerate() {
            let b = &rec[col];
            let item = &inst.items()[j];
            let answer = match parse_answer(b, item, scale) {
                Answer::Invalid => {
                    let text = std::str::from_utf8(b).ok();
                    // The item's own labels first (`Có` / `Không` of a yes/no
                    // item), then the built-in and mapped ones.
                    match text.and_then(|t| item_label(item, t)) {
                        Some(v) => Answer::Code(v),
                        None => match text.and_then(|t| self.ctx.resolver.label(t)) {
                            Some(Label::Code(v)) => match u8::try_from(v) {
                                Ok(v8) if item.is_valid(v8) => Answer::Code(v8),
                                _ if is_missing_code(v, scale) => Answer::MissingCode,
                                _ => Answer::Invalid,
                            },
                            Some(Label::Missing) => Answer::MissingCode,
                            None => Answer::Invalid,
                        },
                    }
                }
                a => a,
            };
            self.codes[j] = match answer {
                Answer::Code(v) => v,
                Answer::Missing => NO_ANSWER,
                Answer::MissingCode => {
                    n_missing_codes = n_missing_codes.saturating_add(1);
                    NO_ANSWER
                }
                Answer::Invalid => {
                    let detail = format!("value {} is not {}", shown(b), inst.expected_answer(j));
                    return Err(late(self, Reason::InvalidAnswer, col, detail));
                }
            };
        }
        let weight = match l.weight {
            None => 1.0,
            Some(col) => {
                let b = &rec[col];
                if let Some(w) = std::str::from_utf8(b).ok().and_then(parse_weight) {
                    w
                } else {
                    let detail = format!("value {} is not a finite number > 0", shown(b));
                    return Err(late(self, Reason::InvalidWeight, col, detail));
                }
            }
        };
        // Accepted locally: store column by column.
        let c = &mut self.out.cand;
        c.lines.push(line);
        c.ids.push_nfc(id);
        c.keys.push(id_key(c.ids.get(c.lines.len() - 1)));
        let u = c.unit_table.intern(unit, unit_text);
        c.units.push(u);
        match district {
            Some(d) if !d.is_empty() => {
                c.district.push_nfc(d);
                c.district_valid.push(true);
            }
            _ => {
                c.district.push("");
                c.district_valid.push(false);
            }
        }
        let next = c.period_table.len() as u32;
        let p = *c.period_index.entry(period).or_insert(next);
        if p == next {
            c.period_table.push(period);
        }
        c.periods.push(p);
        match submitted {
            Some(s) if !s.is_empty() => {
                c.submitted.push_nfc(s);
                c.submitted_valid.push(true);
            }
            _ => {
                c.submitted.push("");
                c.submitted_valid.push(false);
            }
        }
        let channel = match channel {
            Some(s) if !s.is_empty() => s,
            _ => sipas_core::schema::DEFAULT_CHANNEL,
        };
        let ch = c.channel_table.intern(channel, sipas_core::text::nfc);
        c.channels.push(ch);
        c.weights.push(weight);
        for (j, v) in self.codes.iter().enumerate() {
            c.answers[j].push(*v);
        }
        c.missing_codes.push(n_missing_codes);
        c.review_flagged.push(review.is_flagged());
        let review_code = review.code();
        for (k, ((col, valid), v)) in c
            .kept
            .iter_mut()
            .zip(&mut c.kept_valid)
            .zip(kept)
            .enumerate()
        {
            let v = if l.review_kept == Some(k) {
                review_code
            } else {
                v
            };
            match v {
                Some(v) if !v.is_empty() => {
                    col.push_nfc(v);
                    valid.push(true);
                }
                _ => {
                    col.push("");
                    valid.push(false);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_accept_whitespace_and_integral_decimals() {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        let p = |b: &[u8]| parse_answer(b, &inst.items()[0], &inst.scale);
        assert_eq!(p(b"4"), Answer::Code(4));
        assert_eq!(p(b" 4 "), Answer::Code(4));
        assert_eq!(p(b"4.0"), Answer::Code(4));
        assert_eq!(p(b"5.00"), Answer::Code(5));
        assert_eq!(p(b""), Answer::Missing);
        assert_eq!(p(b"  "), Answer::Missing);
        assert_eq!(p(b"9"), Answer::MissingCode);
        assert_eq!(p(b"99"), Answer::MissingCode);
        assert_eq!(p(b"99.0"), Answer::MissingCode);
        for bad in [
            &b"3.5"[..],
            b"0",
            b"6",
            b"abc",
            b"-4",
            b"+4",
            b".5",
            b"4e0",
            b"\xff",
            b"1000000000",
        ] {
            assert_eq!(p(bad), Answer::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn answers_follow_each_items_type() {
        let inst = Instrument::from_toml_str(
            include_str!("../../../fixtures/instruments/test/mixed.toml"),
            "mixed.toml",
        )
        .unwrap();
        let p = |j: usize, b: &[u8]| parse_answer(b, &inst.items()[j], &inst.scale);
        // q2 yes/no (1, 2): 3 is not a code, 9 stays missing.
        assert_eq!(p(1, b"2"), Answer::Code(2));
        assert_eq!(p(1, b"3"), Answer::Invalid);
        assert_eq!(p(1, b"9"), Answer::MissingCode);
        // q4 numeric 0–4: 0 is an answer (a Likert item refuses it), 5 is not.
        assert_eq!(p(3, b"0"), Answer::Code(0));
        assert_eq!(p(0, b"0"), Answer::Invalid);
        assert_eq!(p(3, b"5"), Answer::Invalid);
        // The yes/no item's own labels, as offices type them.
        assert_eq!(item_label(&inst.items()[1], "có"), Some(1));
        assert_eq!(item_label(&inst.items()[1], " KHÔNG "), Some(2));
        assert_eq!(item_label(&inst.items()[1], "Hài lòng"), None);
        assert_eq!(item_label(&inst.items()[0], "Có"), None);
        assert_eq!(inst.expected_answer(3), "a whole number 0–4");
        assert_eq!(inst.expected_answer(1), "one of the codes 1, 2");
        assert_eq!(inst.expected_answer(0), "an answer code 1–5");
    }

    #[test]
    fn weights_default_to_one_and_must_be_positive_finite() {
        assert_eq!(parse_weight(""), Some(1.0));
        assert_eq!(parse_weight(" 2.5 "), Some(2.5));
        for bad in ["0", "-1", "NaN", "inf", "x"] {
            assert_eq!(parse_weight(bad), None, "{bad}");
        }
    }

    #[test]
    fn records_round_trip_with_quotes_and_newlines() {
        let rec = csv::ByteRecord::from(vec!["a", "b,c", "line1\nline2", "say \"hi\""]);
        let mut bounds = Vec::new();
        assert_eq!(
            record_text(Record::of(&rec, &mut bounds)),
            "a,\"b,c\",\"line1\nline2\",\"say \"\"hi\"\"\""
        );
    }

    #[test]
    fn strcol_stores_strings_end_to_end() {
        let mut c = StrCol::default();
        c.push("ab");
        c.push("");
        c.push_nfc("Ho\u{300}a");
        assert_eq!(c.get(0), "ab");
        assert_eq!(c.get(1), "");
        assert_eq!(c.get(2), "Hòa");
    }
}
