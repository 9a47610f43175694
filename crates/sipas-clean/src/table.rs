//! The plain in-memory response table every rule works on.
//!
//! Polars is used only to read and write it ([`crate::io`]); the rules are
//! pure functions over [`ResponseTable`], so they can be unit- and
//! property-tested without files.

use std::cmp::Ordering;

/// The Boolean flag columns clean adds to the canonical schema, in output order.
pub const FLAG_COLUMNS: [&str; 6] = [
    "flag_straightline",
    "flag_missing",
    "flag_speeder",
    "flag_recoded",
    "flag_same_answers",
    "flag_resent_copy",
];

/// Optional column with the interview duration in seconds (kept in the output).
pub const DURATION_S: &str = "duration_s";
/// Optional column: start of the interview (ISO 8601), used when `duration_s` is absent.
pub const STARTED_AT: &str = "started_at";
/// Optional column: end of the interview (ISO 8601), used when `duration_s` is absent.
pub const ENDED_AT: &str = "ended_at";
/// Optional district column (text, as ingest writes it): narrows unit names
/// that repeat across districts (`Tân Thịnh` + `Huyện Định Hóa`).
pub const DISTRICT: &str = "district";
/// Column clean adds for audit: the unit text as given, on rows whose unit
/// was matched by name (null on rows given as a code). Present only when
/// some kept row was matched by name (or the input already had it).
pub const UNIT_TEXT: &str = "unit_text";

/// The type of an extra column (one clean does not know), kept so that the
/// column is written back with the type it was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtraType {
    /// Text (values [`Value::Str`]); also any type not listed here, read as text.
    String,
    /// Boolean ([`Value::Bool`]).
    Boolean,
    /// 32-bit integer ([`Value::Int`]).
    Int32,
    /// 64-bit integer ([`Value::Int`]).
    Int64,
    /// 8-bit unsigned integer ([`Value::UInt`]).
    UInt8,
    /// 32-bit unsigned integer ([`Value::UInt`]).
    UInt32,
    /// 64-bit unsigned integer ([`Value::UInt`]).
    UInt64,
    /// 32-bit float ([`Value::Float`]).
    Float32,
    /// 64-bit float ([`Value::Float`]).
    Float64,
}

/// An extra column of the input, passed through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraColumn {
    /// Column name.
    pub name: String,
    /// Column type.
    pub dtype: ExtraType,
}

/// One value of an extra column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing.
    Null,
    /// A Boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// Text.
    Str(String),
}

impl Value {
    /// A total order (null first, then by variant, floats by `total_cmp`).
    pub fn total_cmp(&self, o: &Self) -> Ordering {
        let rank = |v: &Value| match v {
            Value::Null => 0u8,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::UInt(_) => 3,
            Value::Float(_) => 4,
            Value::Str(_) => 5,
        };
        match (self, o) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::UInt(a), Value::UInt(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(o)),
        }
    }

    /// The value as CSV text (`""` for null; floats in Rust's shortest
    /// round-trip form).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(v) => v.to_string(),
            Value::UInt(v) => v.to_string(),
            Value::Float(v) => v.to_string(),
            Value::Str(s) => s.clone(),
        }
    }
}

/// The flags of one response. A flag already set in the input (by an
/// earlier run) stays set, so cleaning is idempotent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(clippy::struct_excessive_bools)] // one Boolean per output flag column
pub struct Flags {
    /// Every item answered with the same code.
    pub straightline: bool,
    /// Share of unanswered items above `max_missing_share`.
    pub missing: bool,
    /// Duration under `min_duration_s`.
    pub speeder: bool,
    /// At least one missing code (9, 99) or out-of-range value was set to missing.
    pub recoded: bool,
    /// No `submitted_at`, and the same answers as another kept response of
    /// the same unit, period, channel and weight: possibly a copy that
    /// cannot be told from a different person (kept; see `clean`).
    pub same_answers: bool,
    /// A re-sent copy of another response (identical, `submitted_at`
    /// included, under another id), kept because
    /// `exclude_resent_copies` is off.
    pub resent_copy: bool,
}

impl Flags {
    /// The flags as an array in [`FLAG_COLUMNS`] order.
    pub fn as_array(self) -> [bool; 6] {
        [
            self.straightline,
            self.missing,
            self.speeder,
            self.recoded,
            self.same_answers,
            self.resent_copy,
        ]
    }

    /// Builds flags from an array in [`FLAG_COLUMNS`] order.
    pub fn from_array(a: [bool; 6]) -> Self {
        Flags {
            straightline: a[0],
            missing: a[1],
            speeder: a[2],
            recoded: a[3],
            same_answers: a[4],
            resent_copy: a[5],
        }
    }

    /// Whether a careless-responding flag (straightline, missing, speeder) is set.
    pub fn careless(self) -> bool {
        self.straightline || self.missing || self.speeder
    }

    /// Union of two flag sets.
    #[must_use]
    pub fn or(self, o: Flags) -> Self {
        let (a, b) = (self.as_array(), o.as_array());
        Flags::from_array(std::array::from_fn(|i| a[i] || b[i]))
    }
}

/// One response (one row of the canonical table).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Unique id of the response.
    pub response_id: String,
    /// GSO code, or (before matching) possibly a unit name.
    pub unit_code: String,
    /// Period label.
    pub period: String,
    /// Submission time (ISO 8601 text), if known.
    pub submitted_at: Option<String>,
    /// Collection channel (`survey`, `qr`, `kiosk`…).
    pub channel: String,
    /// Sampling weight.
    pub weight: f64,
    /// One answer code per item of the table (`None` = missing).
    pub answers: Vec<Option<u8>>,
    /// Provenance: source file.
    pub source_file: String,
    /// Provenance: line in the source file.
    pub source_line: u64,
    /// Interview duration in seconds, if known.
    pub duration_s: Option<f64>,
    /// Flags (from an earlier run, or computed by clean).
    pub flags: Flags,
    /// District text, if given (narrows unit names; passed through).
    pub district: Option<String>,
    /// The unit text as given, when clean matched the unit by name (see
    /// [`UNIT_TEXT`]); `None` otherwise.
    pub unit_text: Option<String>,
    /// Values of the table's extra columns ([`ResponseTable::extra`]), in order.
    pub extra: Vec<Value>,
}

impl Response {
    /// A total order: period, unit_code, response_id, then provenance and
    /// every other field, so that sorting makes any input order identical.
    pub fn canonical_cmp(&self, o: &Self) -> Ordering {
        self.period
            .cmp(&o.period)
            .then_with(|| self.unit_code.cmp(&o.unit_code))
            .then_with(|| self.response_id.cmp(&o.response_id))
            .then_with(|| self.source_file.cmp(&o.source_file))
            .then_with(|| self.source_line.cmp(&o.source_line))
            .then_with(|| self.submitted_at.cmp(&o.submitted_at))
            .then_with(|| self.channel.cmp(&o.channel))
            .then_with(|| self.weight.total_cmp(&o.weight))
            .then_with(|| self.answers.cmp(&o.answers))
            .then_with(|| cmp_opt_f64(self.duration_s, o.duration_s))
            .then_with(|| self.flags.cmp(&o.flags))
            .then_with(|| self.district.cmp(&o.district))
            .then_with(|| self.unit_text.cmp(&o.unit_text))
            .then_with(|| {
                self.extra
                    .iter()
                    .zip(&o.extra)
                    .map(|(a, b)| a.total_cmp(b))
                    .find(|c| c.is_ne())
                    .unwrap_or_else(|| self.extra.len().cmp(&o.extra.len()))
            })
    }
}

fn cmp_opt_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.total_cmp(&y),
    }
}

/// A response table: the item columns and the rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseTable {
    /// Item ids, in instrument order (the order of [`Response::answers`]).
    pub items: Vec<String>,
    /// Whether the table carries a duration (`duration_s`) column.
    pub has_duration: bool,
    /// Whether the table carries a [`DISTRICT`] column.
    pub has_district: bool,
    /// Whether the table carries a [`UNIT_TEXT`] column.
    pub has_unit_text: bool,
    /// Columns clean does not know (survey-design columns such as `village`,
    /// also `started_at` / `ended_at`), passed through unchanged in input
    /// order; [`Response::extra`] holds their values.
    pub extra: Vec<ExtraColumn>,
    /// The rows.
    pub rows: Vec<Response>,
}

impl ResponseTable {
    /// Sorts the rows into the canonical order (see [`Response::canonical_cmp`]).
    pub fn sort_canonical(&mut self) {
        self.rows.sort_by(Response::canonical_cmp);
    }
}
