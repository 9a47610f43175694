//! The quarantine of a table cleaned in parts, held compactly until it is
//! written: each removed row as one byte string (its fields as read, its
//! reason, its detail as an index into the distinct details), instead of
//! a [`Response`] with a dozen allocations. Millions of removed rows (a
//! table full of retired unit codes) then fit in a few hundred bytes each.
//! At the end the rows are sorted as [`crate::clean()`] sorts its
//! quarantine (the canonical order of the rows as read) and written in
//! pieces, with the answers recoded as in the clean table.

use std::cmp::Ordering;
use std::path::Path;

use polars::prelude::PlHashMap as HashMap;
use sipas_core::Instrument;

use crate::clean::{Before, Excluded, Reason};
use crate::io::quarantine_csv_part;
use crate::rules;
use crate::table::{Flags, Response, ResponseTable, Value};
use crate::{Error, Result};

/// Removed rows, encoded.
#[derive(Default)]
pub(crate) struct Held {
    rows: Vec<Box<[u8]>>,
    details: Vec<String>,
    detail_index: HashMap<String, u32>,
}

/// Rows decoded and written at a time.
const WRITE_ROWS: usize = 1 << 14;

fn put_len(b: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("a field under 4 GiB");
    if n < 255 {
        b.push(u8::try_from(n).expect("under 255"));
    } else {
        b.push(255);
        b.extend_from_slice(&n.to_le_bytes());
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend_from_slice(s.as_bytes());
}

fn put_opt_str(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => b.push(0),
        Some(s) => {
            b.push(1);
            put_str(b, s);
        }
    }
}

/// Reads what the `put_*` functions wrote, in order.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn byte(&mut self) -> u8 {
        self.bytes(1)[0]
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes(8).try_into().expect("8 bytes"))
    }
    fn len(&mut self) -> usize {
        match self.byte() {
            255 => {
                let n = u32::from_le_bytes(self.bytes(4).try_into().expect("4 bytes"));
                usize::try_from(n).expect("fits")
            }
            n => usize::from(n),
        }
    }
    fn str(&mut self) -> &'a str {
        let n = self.len();
        std::str::from_utf8(self.bytes(n)).expect("encoded from a str")
    }
    fn opt_str(&mut self) -> Option<&'a str> {
        (self.byte() == 1).then(|| self.str())
    }
    fn opt_f64(&mut self) -> Option<f64> {
        (self.byte() == 1).then(|| f64::from_bits(self.u64()))
    }
}

/// The first fields of the canonical order: period, unit code, id, source
/// file and line (enough to order almost every pair of rows).
fn prefix(b: &[u8]) -> (&str, &str, &str, &str, u64) {
    let mut r = Reader(b);
    (r.str(), r.str(), r.str(), r.str(), r.u64())
}

/// A row as read, its reason and the index of its detail.
fn decode(b: &[u8]) -> (Response, Reason, u32) {
    let mut r = Reader(b);
    let (period, unit_code, response_id, source_file) = (r.str(), r.str(), r.str(), r.str());
    let source_line = r.u64();
    let submitted_at = r.opt_str().map(str::to_string);
    let channel = r.str().to_string();
    let weight = f64::from_bits(r.u64());
    let k = r.len();
    let missing = r.bytes(k.div_ceil(8));
    let values = r.bytes(k);
    let answers = (0..k)
        .map(|i| (missing[i / 8] & (1 << (i % 8)) == 0).then_some(values[i]))
        .collect();
    let duration_s = r.opt_f64();
    let f = r.byte();
    let flags = Flags::from_array(std::array::from_fn(|i| f & (1 << i) != 0));
    let district = r.opt_str().map(str::to_string);
    let unit_text = r.opt_str().map(str::to_string);
    let extra = (0..r.len())
        .map(|_| match r.byte() {
            0 => Value::Null,
            1 => Value::Bool(r.byte() == 1),
            2 => Value::Int(i64::from_le_bytes(r.bytes(8).try_into().expect("8 bytes"))),
            3 => Value::UInt(r.u64()),
            4 => Value::Float(f64::from_bits(r.u64())),
            _ => Value::Str(r.str().to_string()),
        })
        .collect();
    let reason = Reason::ALL[usize::from(r.byte())];
    let detail = u32::from_le_bytes(r.bytes(4).try_into().expect("4 bytes"));
    let row = Response {
        response_id: response_id.to_string(),
        unit_code: unit_code.to_string(),
        period: period.to_string(),
        submitted_at,
        channel,
        weight,
        answers,
        source_file: source_file.to_string(),
        source_line,
        duration_s,
        flags,
        district,
        unit_text,
        extra,
    };
    (row, reason, detail)
}

/// The canonical order of two encoded rows as read.
fn canonical(a: &[u8], b: &[u8]) -> Ordering {
    prefix(a)
        .cmp(&prefix(b))
        .then_with(|| decode(a).0.canonical_cmp(&decode(b).0))
}

impl Held {
    /// Holds a removed row: its fields as read (`before`), its reason and
    /// detail.
    pub(crate) fn push(&mut self, e: Excluded, before: &Before) {
        let r = &e.row;
        let mut b = Vec::with_capacity(160 + r.answers.len() * 2);
        put_str(&mut b, &r.period);
        put_str(&mut b, &r.unit_code);
        put_str(&mut b, &r.response_id);
        put_str(&mut b, &r.source_file);
        b.extend_from_slice(&r.source_line.to_le_bytes());
        put_opt_str(&mut b, r.submitted_at.as_deref());
        put_str(&mut b, &r.channel);
        b.extend_from_slice(&r.weight.to_bits().to_le_bytes());
        let answers = before.answers.as_deref().unwrap_or(&r.answers);
        put_len(&mut b, answers.len());
        let mut missing = vec![0u8; answers.len().div_ceil(8)];
        for (i, a) in answers.iter().enumerate() {
            if a.is_none() {
                missing[i / 8] |= 1 << (i % 8);
            }
        }
        b.extend_from_slice(&missing);
        b.extend(answers.iter().map(|a| a.unwrap_or(0)));
        match r.duration_s {
            None => b.push(0),
            Some(d) => {
                b.push(1);
                b.extend_from_slice(&d.to_bits().to_le_bytes());
            }
        }
        let flags = before.flags.as_array();
        b.push((0..6).fold(0u8, |m, i| m | (u8::from(flags[i]) << i)));
        put_opt_str(&mut b, r.district.as_deref());
        put_opt_str(&mut b, r.unit_text.as_deref());
        put_len(&mut b, r.extra.len());
        for v in &r.extra {
            match v {
                Value::Null => b.push(0),
                Value::Bool(x) => b.extend_from_slice(&[1, u8::from(*x)]),
                Value::Int(x) => {
                    b.push(2);
                    b.extend_from_slice(&x.to_le_bytes());
                }
                Value::UInt(x) => {
                    b.push(3);
                    b.extend_from_slice(&x.to_le_bytes());
                }
                Value::Float(x) => {
                    b.push(4);
                    b.extend_from_slice(&x.to_bits().to_le_bytes());
                }
                Value::Str(s) => {
                    b.push(5);
                    put_str(&mut b, s);
                }
            }
        }
        let reason = Reason::ALL
            .iter()
            .position(|x| *x == e.reason)
            .expect("every reason is listed");
        b.push(u8::try_from(reason).expect("few reasons"));
        let detail = if let Some(&i) = self.detail_index.get(&e.detail) {
            i
        } else {
            let i = u32::try_from(self.details.len()).expect("fewer than 2^32 details");
            self.detail_index.insert(e.detail.clone(), i);
            self.details.push(e.detail);
            i
        };
        b.extend_from_slice(&detail.to_le_bytes());
        self.rows.push(b.into_boxed_slice());
    }

    /// Writes `path` (the quarantine CSV of a table with `meta`'s columns):
    /// the rows in the canonical order of the rows as read (equal rows in
    /// the order held), answers recoded by `instrument`'s items.
    pub(crate) fn write(
        mut self,
        path: &Path,
        meta: &ResponseTable,
        instrument: &Instrument,
    ) -> Result<()> {
        self.rows.sort_by(|a, b| canonical(a, b));
        let mut fail = None;
        let written = sipas_core::csv_out::write_with(path, |sink| {
            let header = quarantine_csv_part(meta, &[], true).map_err(|e| {
                fail = Some(e);
                std::io::Error::other("quarantine")
            })?;
            sink.records(&header)?;
            for rows in self.rows.chunks(WRITE_ROWS) {
                let part: Vec<Excluded> = rows
                    .iter()
                    .map(|b| {
                        let (mut row, reason, detail) = decode(b);
                        rules::recode(&mut row.answers, instrument);
                        Excluded {
                            row,
                            reason,
                            detail: self.details[detail as usize].clone(),
                            cell_unit: String::new(),
                        }
                    })
                    .collect();
                let csv = quarantine_csv_part(meta, &part, false).map_err(|e| {
                    fail = Some(e);
                    std::io::Error::other("quarantine")
                })?;
                sink.records(&csv)?;
            }
            Ok(())
        });
        if let Some(e) = fail {
            return Err(e);
        }
        written.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
