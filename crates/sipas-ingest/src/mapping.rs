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
    /// Answer label → code.
    #[serde(default)]
    pub answers: BTreeMap<String, u8>,
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

/// Platform keys (KoboToolbox, ODK Central), matched exactly.
const PLATFORM: &[(&str, u8, &str)] = &[
    ("_uuid", 2, "response_id"),
    ("__id", 2, "response_id"),
    ("meta/instanceID", 3, "response_id"),
    ("_submission_time", 2, "submitted_at"),
    ("__system/submissionDate", 2, "submitted_at"),
];

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
    labels: HashMap<String, u8>,
    pub(crate) period_from_date: Option<PeriodFromDate>,
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
            r.labels.insert(match_key(label), code);
        }
        for (label, code) in &m.answers {
            r.labels.insert(match_key(label), *code);
        }
        r
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
        let (_, last) = name.rsplit_once('/')?;
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
    }

    /// The code of an answer label (`Hài lòng`, `4 - Hài lòng`), if known.
    pub(crate) fn label(&self, s: &str) -> Option<u8> {
        let key = match_key(s);
        if let Some(&c) = self.labels.get(&key) {
            return Some(c);
        }
        let (num, rest) = key.split_once(' ')?;
        let n: u8 = num.parse().ok()?;
        let c = *self.labels.get(rest)?;
        (c == n).then_some(c)
    }
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

    #[test]
    fn vietnamese_headers_and_platform_keys() {
        let r = Resolver::new(&Mapping::default());
        let i = inst();
        let item = item_of(&i);
        let t = |n: &str| {
            r.resolve(n, &item)
                .map(|(t, rank)| (t.name().to_string(), rank))
        };
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
        assert_eq!(r.label("rất TỐT"), Some(5));
        assert_eq!(r.label("Hài lòng"), Some(4));
        assert_eq!(r.label("  hài   LÒNG "), Some(4));
        assert_eq!(r.label("Hài lòng"), Some(4));
        assert_eq!(r.label("Rất không hài lòng"), Some(1));
        assert_eq!(r.label("1 - Rất không hài lòng"), Some(1));
        assert_eq!(r.label("2 - Rất không hài lòng"), None);
        assert_eq!(r.label("tốt"), None);
        assert!(Mapping::from_toml_str("[colums]\n", Path::new("m.toml")).is_err());
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
