//! Column names of the canonical response table.
//!
//! One row per response. `response_id`, `unit_code` and `period` are required;
//! `submitted_at`, `channel` and `weight` are optional; every other column whose
//! name is an item id of the instrument holds the answer code (1–5) or is empty
//! when the item was not answered.

/// Unique identifier of a response (text).
pub const RESPONSE_ID: &str = "response_id";
/// GSO code of the commune-level unit, 5 digits, kept as text.
pub const UNIT_CODE: &str = "unit_code";
/// Survey period label, see [`crate::Period`].
pub const PERIOD: &str = "period";
/// When the response was submitted (ISO 8601 text), optional.
pub const SUBMITTED_AT: &str = "submitted_at";
/// Collection channel (`survey`, `qr`, `kiosk`…), optional; default `survey`.
pub const CHANNEL: &str = "channel";
/// Sampling weight, optional; default 1.
pub const WEIGHT: &str = "weight";
/// The unit code a row had at its date, before a crosswalk moved it (text;
/// clean writes it when a crosswalk is given). The default strata of a
/// merged unit are these old units × period.
pub const OLD_UNIT_CODE: &str = "old_unit_code";
/// Source file of a row (provenance, written by ingest).
pub const SOURCE_FILE: &str = "source_file";
/// 1-based line of the row in its source file (provenance, written by ingest).
pub const SOURCE_LINE: &str = "source_line";

/// The leading columns of the canonical table, in this order: text
/// metadata, then `weight` (a number). Items follow them.
pub const LEADING: [&str; 6] = [
    RESPONSE_ID,
    UNIT_CODE,
    PERIOD,
    SUBMITTED_AT,
    CHANNEL,
    WEIGHT,
];
/// Provenance columns ingest appends after the items.
pub const PROVENANCE: [&str; 2] = [SOURCE_FILE, SOURCE_LINE];

/// The columns every canonical table must have.
pub const REQUIRED: [&str; 3] = [RESPONSE_ID, UNIT_CODE, PERIOD];
/// Optional known metadata columns (not items).
pub const OPTIONAL: [&str; 3] = [SUBMITTED_AT, CHANNEL, WEIGHT];
/// Default channel when none is given.
pub const DEFAULT_CHANNEL: &str = "survey";

/// Prefix of the two answer-mask columns clean writes (see [`mask_columns`]).
pub const MASK_PREFIX: &str = "_sipas_mask_";

/// The names of the two answer-mask columns of `instrument`'s clean table:
/// `_sipas_mask_answered_<fp>` and `_sipas_mask_satisfied_<fp>` (UInt64:
/// bit k set when the item of test k ([`crate::Instrument::tests`]) is
/// answered with a valid code / the answer passes test k; for a SIPAS
/// instrument test k is item k's "satisfied"). `fp` is a 64-bit FNV-1a
/// fingerprint of the instrument id, its item ids in order and its scale
/// (min, max, satisfied_min), and for any other shape its tests and each
/// item's valid codes, so a table cleaned under another definition of
/// "answered" or "counted" never matches. `None` when the instrument has
/// more than 64 tests. Clean writes them so that `sipas aggregate` reads 16
/// bytes a row instead of decoding every item (the satisfied mask stored
/// plain and uncompressed, `sipas_dataset::stored_plain`); other tools ignore them, and
/// a table whose item columns are edited after clean must drop them.
pub fn mask_columns(instrument: &crate::Instrument) -> Option<[String; 2]> {
    let items = instrument.item_ids();
    let tests = instrument.tests();
    if items.is_empty() || tests.len() > 64 {
        return None;
    }
    let s = &instrument.scale;
    let mut text = format!(
        "{}|{}|{}|{}|{}",
        instrument.id,
        items.join(","),
        s.min,
        s.max,
        s.satisfied_min
    );
    if !instrument.is_sipas_shaped() {
        use std::fmt::Write as _;
        for t in tests {
            let _ = write!(text, "|{}:{:?}", t.item, t.test);
        }
        for it in instrument.items() {
            let _ = write!(text, "|{:?}", it.rule.valid);
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Some([
        format!("{MASK_PREFIX}answered_{h:016x}"),
        format!("{MASK_PREFIX}satisfied_{h:016x}"),
    ])
}
