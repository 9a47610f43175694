//! The plain in-memory response table every rule works on.
//!
//! Polars is used only to read and write it ([`crate::io`]); the rules are
//! pure functions over [`ResponseTable`], so they can be unit- and
//! property-tested without files.

use std::cmp::Ordering;

/// The Boolean flag columns clean adds to the canonical schema, in output order.
pub const FLAG_COLUMNS: [&str; 5] = [
    "flag_straightline",
    "flag_missing",
    "flag_speeder",
    "flag_recoded",
    "flag_duplicate_content",
];

/// Optional column with the interview duration in seconds (kept in the output).
pub const DURATION_S: &str = "duration_s";
/// Optional column: start of the interview (ISO 8601), used when `duration_s` is absent.
pub const STARTED_AT: &str = "started_at";
/// Optional column: end of the interview (ISO 8601), used when `duration_s` is absent.
pub const ENDED_AT: &str = "ended_at";

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
    /// Same content as another response with a different id.
    pub duplicate_content: bool,
}

impl Flags {
    /// The flags as an array in [`FLAG_COLUMNS`] order.
    pub fn as_array(self) -> [bool; 5] {
        [
            self.straightline,
            self.missing,
            self.speeder,
            self.recoded,
            self.duplicate_content,
        ]
    }

    /// Builds flags from an array in [`FLAG_COLUMNS`] order.
    pub fn from_array(a: [bool; 5]) -> Self {
        Flags {
            straightline: a[0],
            missing: a[1],
            speeder: a[2],
            recoded: a[3],
            duplicate_content: a[4],
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
    /// The rows.
    pub rows: Vec<Response>,
}

impl ResponseTable {
    /// Sorts the rows into the canonical order (see [`Response::canonical_cmp`]).
    pub fn sort_canonical(&mut self) {
        self.rows.sort_by(Response::canonical_cmp);
    }
}
