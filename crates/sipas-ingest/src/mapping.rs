//! From a source's column names and answer labels to the canonical fields,
//! item ids and answer codes: the optional mapping file ([`Mapping`], TOML)
//! and the built-in rules (canonical names, Vietnamese headers and labels,
//! KoboToolbox / ODK Central keys).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use sipas_core::Instrument;
use sipas_core::text::match_key;

use crate::{Error, Result};

/// How a period is derived from a date (`period_from_date` in the mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodFromDate {
    /// `2024`.
    Year,
    /// `2024-H1`.
    Half,
    /// `2024Q1`.
    Quarter,
    /// `2024-01`.
    Month,
}

/// A mapping file: column names → canonical fields or item ids, answer
/// labels → codes, and an optional rule to read periods from dates.
///
/// ```toml
/// period_from_date = "quarter"   # optional: year | half | quarter | month
///
/// [columns]                      # source column → field or item id
/// "Số phiếu" = "response_id"
/// "Tên xã" = "unit_code"         # a unit name is fine: clean matches it
/// "Câu 1" = "a1"
/// "Ghi chú" = "ignore"
///
/// [answers]                      # answer label → code (besides the built-in ones)
/// "Rất tốt" = 5
/// ```
///
/// Column names and labels are compared on [`sipas_core::text::match_key`]
/// (case, spacing and tone placement ignored). Fields: `response_id`,
/// `unit_code`, `district`, `period`, `submitted_at`, `channel`, `weight`,
/// `ignore`; any other target must be an item id of the instrument or a name
/// of [`crate::IngestOptions::keep_columns`] (`"Thôn" = "village"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Read a period that does not parse as one from a date (`2024-02-15`,
    /// `15/02/2024`); with no period column, from `submitted_at`.
    #[serde(default)]
    pub period_from_date: Option<PeriodFromDate>,
    /// Source column name → field name or item id.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Answer label → code, or `"missing"` (read as missing, like the
    /// scale's don't-know codes).
    #[serde(default)]
    pub answers: BTreeMap<String, AnswerValue>,
}

/// What an answer label of the mapping file means: a code of the scale (or
/// one of its missing codes), or `"missing"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    /// A code (`"Rất tốt" = 5`).
    Code(u16),
    /// `"missing"`: the label is a non-answer (don't know, refused…).
    Word(MissingWord),
}

/// The word `missing` in the mapping file's `[answers]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingWord {
    /// Read the label as missing.
    Missing,
}

impl Mapping {
    /// Parses a mapping from TOML text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Mapping {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads a mapping file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, path)
    }
}

/// The canonical field a column maps to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    ResponseId,
    Unit,
    District,
    Period,
    SubmittedAt,
    Channel,
    Weight,
    /// An item id (not yet checked against the instrument).
    Item(String),
    /// When the interview started (KoboToolbox / ODK `start`).
    StartedAt,
    /// When the interview ended (`end`).
    EndedAt,
    /// The platform's review decision (Kobo `_validation_status`, ODK
    /// `__system/reviewState` / `ReviewState`).
    Review,
    Ignore,
}

impl Target {
    /// The canonical column name (items: the id).
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::ResponseId => "response_id",
            Target::Unit => "unit_code",
            Target::District => "district",
            Target::Period => "period",
            Target::SubmittedAt => "submitted_at",
            Target::Channel => "channel",
            Target::Weight => "weight",
            Target::Item(id) => id,
            Target::StartedAt => STARTED_AT,
            Target::EndedAt => ENDED_AT,
            Target::Review => REVIEW_STATE,
            Target::Ignore => "ignore",
        }
    }

    fn field(name: &str) -> Option<Target> {
        Some(match name {
            "response_id" => Target::ResponseId,
            "unit_code" | "unit" => Target::Unit,
            "district" => Target::District,
            "period" => Target::Period,
            "submitted_at" => Target::SubmittedAt,
            "channel" => Target::Channel,
            "weight" => Target::Weight,
            "started_at" => Target::StartedAt,
            "ended_at" => Target::EndedAt,
            "review_state" => Target::Review,
            "ignore" => Target::Ignore,
            _ => return None,
        })
    }
}

/// Built-in header aliases: (target, rank, names). A lower rank wins when
/// several columns map to the same field (a code column beats a name column).
const ALIASES: &[(&str, u8, &[&str])] = &[
    (
        "response_id",
        4,
        &["Mã phiếu", "ID", "Số phiếu", "Mã phiếu khảo sát"],
    ),
    (
        "unit_code",
        4,
        &[
            "Mã xã",
            "Mã đơn vị",
            "Mã ĐVHC",
            "Mã xã/phường",
            "Mã xã phường",
        ],
    ),
    (
        "unit_code",
        5,
        &[
            "Xã/Phường",
            "Xã/Phường/Thị trấn",
            "Tên xã",
            "Tên đơn vị",
            "Đơn vị",
            "Xã",
            "Phường",
        ],
    ),
    (
        "district",
        4,
        &[
            "Huyện",
            "Quận/Huyện",
            "Huyện/Thành phố",
            "Huyện/Thị xã/Thành phố",
        ],
    ),
    (
        "period",
        4,
        &["Kỳ", "Kỳ khảo sát", "Kỳ báo cáo", "Đợt khảo sát"],
    ),
    (
        "submitted_at",
        4,
        &["Ngày", "Thời gian", "Ngày khảo sát", "Thời gian nộp"],
    ),
    ("weight", 4, &["Trọng số"]),
    ("channel", 4, &["Kênh", "Kênh khảo sát"]),
];

/// The column written for the interview's start (clean computes the
/// duration from it and [`ENDED_AT`]).
pub(crate) const STARTED_AT: &str = "started_at";
/// The column written for the interview's end.
pub(crate) const ENDED_AT: &str = "ended_at";
/// The column written for the platform's review decision.
pub(crate) const REVIEW_STATE: &str = "review_state";

/// Platform keys (KoboToolbox, ODK Central), matched exactly: (key, rank,
/// field). Kobo: API v2 JSON and the CSV / XLSX exports with XML names
/// (`meta/instanceID`); ODK Central: OData JSON (`__id`, `__system/…`) and the
/// CSV export (`KEY`, `SubmissionDate`, `ReviewState`, `meta-instanceID`).
const PLATFORM: &[(&str, u8, &str)] = &[
    ("_uuid", 2, "response_id"),
    ("__id", 2, "response_id"),
    ("KEY", 2, "response_id"),
    ("meta/instanceID", 3, "response_id"),
    ("meta-instanceID", 3, "response_id"),
    ("_submission_time", 2, "submitted_at"),
    ("__system/submissionDate", 2, "submitted_at"),
    ("SubmissionDate", 2, "submitted_at"),
    ("_validation_status", 2, "review_state"),
    ("_validation_status/uid", 2, "review_state"),
    ("__system/reviewState", 2, "review_state"),
    ("ReviewState", 2, "review_state"),
    ("start", 2, "started_at"),
    ("end", 2, "ended_at"),
    ("meta/start", 3, "started_at"),
    ("meta/end", 3, "ended_at"),
    ("meta-start", 3, "started_at"),
    ("meta-end", 3, "ended_at"),
];

/// Platform columns that are read for edits (not fields): the instance id of
/// a version and the one it replaces. Matched exactly.
pub(crate) const INSTANCE_KEYS: &[&str] = &["meta/instanceID", "meta-instanceID", "_uuid"];
/// See [`INSTANCE_KEYS`].
pub(crate) const DEPRECATED_KEYS: &[&str] = &["meta/deprecatedID", "meta-deprecatedID"];

/// Don't-know and refusal answers of the instruments, in Vietnamese and
/// English: read as missing. Compared without diacritics, case, spacing and
/// punctuation ([`dk_key`]).
const DONT_KNOW: &[&str] = &[
    "Không biết",
    "Không trả lời",
    "Không biết/Không trả lời",
    "Không biết / không trả lời",
    "Không biết, không trả lời",
    "Không biết hoặc không trả lời",
    "Không ý kiến",
    "Không có ý kiến",
    "Không rõ",
    "Từ chối",
    "Từ chối trả lời",
    "Không muốn trả lời",
    "KB/KTL",
    "Don't know",
    "Do not know",
    "Don't know/No answer",
    "DK",
    "DK/NA",
    "No answer",
    "No opinion",
    "Refused",
    "Refuse",
    "Refused to answer",
    "Prefer not to say",
    "Prefer not to answer",
];

/// Codes read as missing besides the scale's own missing codes (`9`, `99`):
/// the common "refused" code of questionnaires.
pub(crate) const EXTRA_MISSING_CODES: &[u16] = &[98];

/// The key a don't-know label is compared on: `/`, `;` and brackets read as
/// spaces, then [`sipas_core::text::ascii_key`] (no diacritics, lower case,
/// apostrophes dropped).
fn dk_key(s: &str) -> String {
    sipas_core::text::ascii_key(&s.replace(['/', ';', '(', ')'], " "))
}

/// The built-in answer labels of the 1–5 satisfaction scale.
const LABELS: [(&str, u8); 5] = [
    ("Rất không hài lòng", 1),
    ("Không hài lòng", 2),
    ("Bình thường", 3),
    ("Hài lòng", 4),
    ("Rất hài lòng", 5),
];

/// Key of a header: `/` read as a space, then [`match_key`].
pub(crate) fn header_key(s: &str) -> String {
    match_key(&s.replace('/', " "))
}

/// Accent-free key of a header: `/` and `_` read as spaces, then
/// [`sipas_core::text::ascii_key`], so XLSForm field names such as `ma_xa`,
/// `ten_xa` or `ky_khao_sat` find the built-in Vietnamese aliases.
fn ascii_header_key(s: &str) -> String {
    sipas_core::text::ascii_key(&s.replace(['/', '_'], " "))
}

/// The compiled mapping of a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolver {
    exact: HashMap<String, Target>,
    keyed: HashMap<String, Target>,
    aliases: HashMap<String, (Target, u8)>,
    ascii_aliases: HashMap<String, (Target, u8)>,
    labels: HashMap<String, u16>,
    /// Labels of the mapping file read as missing (on [`match_key`]).
    missing_labels: std::collections::HashSet<String>,
    /// Built-in don't-know labels (on [`dk_key`]).
    dont_know: std::collections::HashSet<String>,
    /// The mapping's `[answers]` entries with a code, for the start-up check.
    mapped_codes: Vec<(String, u16)>,
    pub(crate) period_from_date: Option<PeriodFromDate>,
}

/// What an answer label reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// A code (a valid answer or one of the scale's missing codes).
    Code(u16),
    /// A don't-know / refusal label, or one the mapping sends to missing.
    Missing,
}

impl Resolver {
    pub(crate) fn new(m: &Mapping) -> Self {
        let target = |t: &str| Target::field(t).unwrap_or_else(|| Target::Item(t.trim().into()));
        let mut r = Resolver {
            period_from_date: m.period_from_date,
            ..Resolver::default()
        };
        for (col, t) in &m.columns {
            let col = sipas_core::text::nfc(col.trim());
            r.keyed.insert(header_key(&col), target(t));
            r.exact.insert(col, target(t));
        }
        for (t, rank, names) in ALIASES {
            for n in *names {
                let t = Target::field(t).expect("aliases name fields");
                r.aliases.entry(header_key(n)).or_insert((t.clone(), *rank));
                r.ascii_aliases
                    .entry(ascii_header_key(n))
                    .or_insert((t, *rank));
            }
        }
        for (label, code) in LABELS {
            r.labels.insert(match_key(label), u16::from(code));
        }
        r.dont_know = DONT_KNOW.iter().map(|l| dk_key(l)).collect();
        for (label, value) in &m.answers {
            match value {
                AnswerValue::Code(code) => {
                    r.labels.insert(match_key(label), *code);
                    r.mapped_codes.push((label.clone(), *code));
                }
                AnswerValue::Word(MissingWord::Missing) => {
                    r.labels.remove(&match_key(label));
                    r.missing_labels.insert(match_key(label));
                }
            }
        }
        r
    }

    /// Checks the mapping's answer codes against the instrument: each must
    /// be a valid answer of one of its items (a code of the scale, of a
    /// yes/no or choice item, a number in a numeric item's range) or one of
    /// the scale's missing codes. An error names the label, so that a wrong
    /// mapping stops the run before any row is read (rather than
    /// quarantining every respondent who gave that answer).
    pub(crate) fn check_answers(
        &self,
        instrument: &sipas_core::Instrument,
    ) -> std::result::Result<(), String> {
        let scale = &instrument.scale;
        for (label, code) in &self.mapped_codes {
            let valid =
                u8::try_from(*code).is_ok_and(|c| instrument.items().iter().any(|i| i.is_valid(c)));
            if !valid && !is_missing_code(*code, scale) {
                return Err(format!(
                    "[answers] \"{label}\" = {code}: {code} is neither an answer code {}–{} nor a missing code ({}); write \"{label}\" = \"missing\" to read it as missing",
                    scale.min,
                    scale.max,
                    missing_codes(scale)
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The field a column maps to and its rank (lower wins), or `None`.
    /// `item` turns a key into an item id of the instrument(s) in use.
    pub(crate) fn resolve(
        &self,
        name: &str,
        item: &dyn Fn(&str) -> Option<String>,
    ) -> Option<(Target, u8)> {
        if let Some(t) = self.exact.get(name) {
            return Some((t.clone(), 0));
        }
        let key = header_key(name);
        if let Some(t) = self.keyed.get(&key) {
            return Some((t.clone(), 0));
        }
        if let Some(t) = Target::field(name).filter(|t| *t != Target::Ignore) {
            return Some((t, 1));
        }
        if let Some(id) = item(name) {
            return Some((Target::Item(id), 1));
        }
        if let Some((_, rank, t)) = PLATFORM.iter().find(|(k, _, _)| *k == name) {
            return Some((Target::field(t).expect("platform keys name fields"), *rank));
        }
        if name.starts_with('_') {
            return None;
        }
        if let Some((t, rank)) = self.aliases.get(&key) {
            return Some((t.clone(), *rank));
        }
        if let Some((t, rank)) = self.ascii_aliases.get(&ascii_header_key(name)) {
            return Some((t.clone(), *rank));
        }
        if let Some(id) = item(&key) {
            return Some((Target::Item(id), 4));
        }
        // A group path: the last segment, when it is an item or a field.
        let Some(last) = last_segment(name) else {
            return leading_item(name, item).map(|id| (Target::Item(id), 8));
        };
        if last.starts_with('_') || last.is_empty() {
            return None;
        }
        if let Some(t) = Target::field(last).filter(|t| *t != Target::Ignore) {
            return Some((t, 6));
        }
        if let Some(id) = item(last).or_else(|| item(&match_key(last))) {
            return Some((Target::Item(id), 6));
        }
        self.aliases
            .get(&header_key(last))
            .or_else(|| self.ascii_aliases.get(&ascii_header_key(last)))
            .map(|(t, _)| (t.clone(), 7))
            .or_else(|| leading_item(last, item).map(|id| (Target::Item(id), 8)))
    }

    /// What an answer label reads as (`Hài lòng`, `4 - Hài lòng`, `Không
    /// biết`, `9 - Không biết`), if known.
    pub(crate) fn label(&self, s: &str) -> Option<Label> {
        let key = match_key(s);
        if self.missing_labels.contains(&key) {
            return Some(Label::Missing);
        }
        if let Some(&c) = self.labels.get(&key) {
            return Some(Label::Code(c));
        }
        if self.dont_know.contains(&dk_key(s)) {
            return Some(Label::Missing);
        }
        // `4 - Hài lòng`: the number must agree with the label.
        let (num, rest) = key.split_once(' ')?;
        let n: u16 = num.parse().ok()?;
        if let Some(&c) = self.labels.get(rest) {
            return (c == n).then_some(Label::Code(c));
        }
        let rest_raw = s.trim().trim_start_matches(|c: char| c.is_ascii_digit());
        let rest_raw = rest_raw.trim_start_matches([' ', '-', '.', ':', ')']);
        // `9 - Không biết`: a number that is not an answer of a 1–5 scale.
        ((self.missing_labels.contains(rest) || self.dont_know.contains(&dk_key(rest_raw)))
            && !(1..=5).contains(&n))
        .then_some(Label::Missing)
    }
}

/// The codes read as missing: the scale's missing codes and
/// [`EXTRA_MISSING_CODES`] that are not answer codes of the scale.
pub(crate) fn missing_codes(scale: &sipas_core::Scale) -> Vec<u16> {
    let mut out = scale.missing_codes.clone();
    for &c in EXTRA_MISSING_CODES {
        let valid = u8::try_from(c).is_ok_and(|c| scale.is_valid(c));
        if !valid && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Whether `code` reads as missing ([`missing_codes`]).
pub(crate) fn is_missing_code(code: u16, scale: &sipas_core::Scale) -> bool {
    let valid = u8::try_from(code).is_ok_and(|c| scale.is_valid(c));
    !valid && (scale.missing_codes.contains(&code) || EXTRA_MISSING_CODES.contains(&code))
}

/// The name after the last group separator: `/` (KoboToolbox, the OData
/// flattening) or, in a name without spaces, `-` (ODK Central's CSV:
/// `grp_access-a1`). `None` when there is no separator.
pub(crate) fn last_segment(name: &str) -> Option<&str> {
    if let Some((_, last)) = name.rsplit_once('/') {
        return Some(last);
    }
    if name.contains(char::is_whitespace) {
        return None;
    }
    name.rsplit_once('-').map(|(_, last)| last)
}

/// A question label that starts with an item id (`A1. Nơi tiếp nhận…`,
/// `b3) …`, `C2 - …`): the item, as in Kobo's labels exports of forms whose
/// labels are numbered by the questionnaire.
fn leading_item(label: &str, item: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let t = label.trim_start();
    let end = t
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(t.len());
    let (head, rest) = t.split_at(end);
    if head.is_empty() || rest.is_empty() {
        return None;
    }
    // The id must be followed by punctuation (`.`, `)`, `:`, ` -`), not by a word.
    let rest = rest.trim_start();
    if !rest.starts_with(['.', ')', ':', '-']) {
        return None;
    }
    item(head)
}

/// Maps a key to an item id of `inst` (exact, or case-insensitively).
pub(crate) fn item_of(inst: &Instrument) -> impl Fn(&str) -> Option<String> + '_ {
    move |k: &str| {
        inst.item_ids()
            .into_iter()
            .find(|id| *id == k || id.eq_ignore_ascii_case(k))
            .map(str::to_string)
    }
}

/// A date's (year, month, day): `2024-02-15` (optionally followed by a
/// time), `2024/02/15`, `15/02/2024`, `15-02-2024` or `15.02.2024`.
pub(crate) fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let s = s.trim();
    let date = s.split(['T', ' ']).next()?;
    let parts: Vec<&str> = date.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |x: &str| -> Option<u32> {
        (!x.is_empty() && x.len() <= 4 && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    let (y, m, d) = if a.len() == 4 {
        (num(a)?, num(b)?, num(c)?)
    } else if c.len() == 4 {
        (num(c)?, num(b)?, num(a)?)
    } else {
        return None;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y as i32, m, d))
}

/// The period of a date under a rule.
pub(crate) fn period_of_date(s: &str, rule: PeriodFromDate) -> Option<sipas_core::Period> {
    let (y, m, _) = parse_date(s)?;
    let label = match rule {
        PeriodFromDate::Year => format!("{y}"),
        PeriodFromDate::Half => format!("{y}-H{}", if m <= 6 { 1 } else { 2 }),
        PeriodFromDate::Quarter => format!("{y}Q{}", (m - 1) / 3 + 1),
        PeriodFromDate::Month => format!("{y}-{m:02}"),
    };
    label.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> Instrument {
        sipas_core::bundled::instrument("sipas-2017").unwrap()
    }

    /// The field a header maps to with no mapping file (sipas-2017's
    /// items), and the rank of the rule that matched it.
    fn default_target(header: &str) -> Option<(String, u8)> {
        let i = inst();
        Resolver::new(&Mapping::default())
            .resolve(header, &item_of(&i))
            .map(|(t, rank)| (t.name().to_string(), rank))
    }

    #[test]
    fn vietnamese_headers_and_platform_keys() {
        let t = default_target;
        assert_eq!(t("MÃ XÃ"), Some(("unit_code".into(), 4)));
        assert_eq!(t("Xã / Phường"), Some(("unit_code".into(), 5)));
        assert_eq!(t("Quận/Huyện"), Some(("district".into(), 4)));
        assert_eq!(t("Kỳ khảo sát"), Some(("period".into(), 4)));
        assert_eq!(t("Trọng số"), Some(("weight".into(), 4)));
        assert_eq!(t("_uuid"), Some(("response_id".into(), 2)));
        assert_eq!(t("_id"), None);
        assert_eq!(t("meta/instanceID"), Some(("response_id".into(), 3)));
        assert_eq!(
            t("__system/submissionDate"),
            Some(("submitted_at".into(), 2))
        );
        assert_eq!(t("group_x/b3"), Some(("b3".into(), 6)));
        assert_eq!(t("A1"), Some(("a1".into(), 1)));
        assert_eq!(t("group_x/note"), None);
        // XLSForm-style ASCII names of the same headers.
        assert_eq!(t("ma_xa"), Some(("unit_code".into(), 4)));
        assert_eq!(t("ten_xa"), Some(("unit_code".into(), 5)));
        assert_eq!(t("Ky khao sat"), Some(("period".into(), 4)));
        assert_eq!(t("thong_tin/ma_xa"), Some(("unit_code".into(), 7)));
        assert_eq!(t("trong_so"), Some(("weight".into(), 4)));
        assert_eq!(t("ghi_chu"), None);
    }

    #[test]
    fn mapping_columns_win_and_labels_are_read() {
        let m = Mapping::from_toml_str(
            "period_from_date = \"quarter\"\n[columns]\n\"Câu 1\" = \"a1\"\n\"ID\" = \"ignore\"\n[answers]\n\"Rất tốt\" = 5\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let r = Resolver::new(&m);
        let i = inst();
        let item = item_of(&i);
        assert_eq!(
            r.resolve("câu  1", &item),
            Some((Target::Item("a1".into()), 0))
        );
        assert_eq!(r.resolve("ID", &item), Some((Target::Ignore, 0)));
        let c = |v| Some(Label::Code(v));
        assert_eq!(r.label("rất TỐT"), c(5));
        assert_eq!(r.label("Hài lòng"), c(4));
        assert_eq!(r.label("  hài   LÒNG "), c(4));
        assert_eq!(r.label("Hài lòng"), c(4));
        assert_eq!(r.label("Rất không hài lòng"), c(1));
        assert_eq!(r.label("1 - Rất không hài lòng"), c(1));
        assert_eq!(r.label("2 - Rất không hài lòng"), None);
        assert_eq!(r.label("tốt"), None);
        assert!(Mapping::from_toml_str("[colums]\n", Path::new("m.toml")).is_err());
    }

    #[test]
    fn dont_know_labels_read_as_missing() {
        let r = Resolver::new(&Mapping::default());
        for dk in [
            "Không biết/Không trả lời",
            "Không biết / Không trả lời",
            "Khong biet/Khong tra loi",
            "KHÔNG BIẾT",
            "Không biết",
            "Từ chối trả lời",
            "Tu choi tra loi",
            "Don't know",
            "Don’t know",
            "dont know",
            "Refused",
            "9 - Không biết",
            "99. Từ chối trả lời",
        ] {
            assert_eq!(r.label(dk), Some(Label::Missing), "{dk}");
        }
        // Not non-answers.
        for other in ["Không hài lòng", "Biết", "Known", "4 - Không biết"] {
            assert_ne!(r.label(other), Some(Label::Missing), "{other}");
        }
        let scale = inst().scale;
        assert_eq!(missing_codes(&scale), vec![9, 99, 98]);
        assert!(is_missing_code(98, &scale) && !is_missing_code(4, &scale));
    }

    #[test]
    fn mapped_answers_may_be_missing_and_bad_codes_fail_at_start_up() {
        let m = Mapping::from_toml_str(
            "[answers]\n\"Không rõ\" = \"missing\"\n\"KB\" = 9\n\"Tốt\" = 4\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let r = Resolver::new(&m);
        assert_eq!(r.label("không rõ"), Some(Label::Missing));
        assert_eq!(r.label("KB"), Some(Label::Code(9)));
        let inst = inst();
        assert!(r.check_answers(&inst).is_ok());
        let bad = Mapping::from_toml_str("[answers]\n\"Tốt\" = 7\n", Path::new("m.toml")).unwrap();
        let e = Resolver::new(&bad).check_answers(&inst).unwrap_err();
        assert!(e.contains("\"Tốt\" = 7") && e.contains("missing"), "{e}");
        assert!(
            Mapping::from_toml_str("[answers]\n\"x\" = \"maybe\"\n", Path::new("m.toml")).is_err()
        );
    }

    #[test]
    fn platform_columns_map_without_configuration() {
        let t = default_target;
        assert_eq!(t("KEY"), Some(("response_id".into(), 2)));
        assert_eq!(t("meta-instanceID"), Some(("response_id".into(), 3)));
        assert_eq!(t("SubmissionDate"), Some(("submitted_at".into(), 2)));
        assert_eq!(t("ReviewState"), Some(("review_state".into(), 2)));
        assert_eq!(t("__system/reviewState"), Some(("review_state".into(), 2)));
        assert_eq!(t("_validation_status"), Some(("review_state".into(), 2)));
        assert_eq!(
            t("_validation_status/uid"),
            Some(("review_state".into(), 2))
        );
        assert_eq!(t("_validation_status/label"), None);
        assert_eq!(t("start"), Some(("started_at".into(), 2)));
        assert_eq!(t("end"), Some(("ended_at".into(), 2)));
        assert_eq!(t("_id"), None);
        // Group prefixes: `/` (Kobo, OData) and `-` (ODK CSV).
        assert_eq!(t("grp_access-a1"), Some(("a1".into(), 6)));
        assert_eq!(t("grp_info-ma_xa"), Some(("unit_code".into(), 7)));
        assert_eq!(t("grp_a/grp_b/c2"), Some(("c2".into(), 6)));
        // Labels numbered by the questionnaire.
        assert_eq!(
            t("A1. Nơi tiếp nhận có đủ chỗ ngồi"),
            Some(("a1".into(), 8))
        );
        assert_eq!(t("Tiếp cận/B3) Thủ tục"), Some(("b3".into(), 8)));
        assert_eq!(t("A1 Nơi tiếp nhận"), None);
        assert_eq!(t("Ghi chú - khác"), None);
    }

    #[test]
    fn dates_give_periods() {
        let q = |s| period_of_date(s, PeriodFromDate::Quarter).map(|p| p.to_string());
        assert_eq!(q("2024-02-15"), Some("2024Q1".into()));
        assert_eq!(q("15/08/2024"), Some("2024Q3".into()));
        assert_eq!(q("2024-12-31T23:59:00+07:00"), Some("2024Q4".into()));
        assert_eq!(q("31/13/2024"), None);
        assert_eq!(q("31/04/2024"), None);
        assert_eq!(q("29/02/2024"), Some("2024Q1".into()));
        assert_eq!(q("29/02/2023"), None);
        assert_eq!(q("2024Q1"), None);
        let h = period_of_date("01/07/2024", PeriodFromDate::Half).unwrap();
        assert_eq!(h.to_string(), "2024-H2");
        let m = period_of_date("2024-03-01", PeriodFromDate::Month).unwrap();
        assert_eq!(m.to_string(), "2024-03");
    }
}
