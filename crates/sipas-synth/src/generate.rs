//! Drawing responses: a range of global rows becomes a [`RawChunk`], which is
//! then formatted as CSV bytes or built into a polars [`DataFrame`].
//!
//! Rows are numbered globally in (unit, period, sequence) order. Each
//! respondent draws from its own stream keyed by (seed, unit code, period,
//! sequence), in a fixed order: `b_i`, the day, the weight (only when weights
//! are drawn), then per item a missingness uniform and an answer uniform.
//! So any split of the rows into chunks gives the same values.

use std::io::Write as _;
use std::ops::Range;

use polars::prelude::*;
use sipas_core::schema;

use crate::model::{Model, TAG_RESPONDENT};
use crate::rng::Xoshiro256pp;
use crate::styles::{self, Version};
use crate::{Error, Result};

/// Generated rows before formatting.
#[derive(Debug, Default)]
pub(crate) struct RawChunk {
    pub(crate) cell: Vec<u32>,
    /// 0-based position within the cell.
    pub(crate) seq: Vec<u64>,
    pub(crate) day: Vec<u16>,
    pub(crate) weight: Vec<f64>,
    /// Row-major answers, `n_items` per row; [`MISSING`] = missing.
    pub(crate) answers: Vec<u8>,
    pub(crate) missing: u64,
    /// Per row, its response styles (empty when styles are off).
    pub(crate) styles: Vec<styles::Respondent>,
}

impl RawChunk {
    pub(crate) fn len(&self) -> usize {
        self.cell.len()
    }
}

/// Draws rows `rows` (global indices, clamped to N).
/// A missing answer in [`RawChunk::answers`] (never a valid code).
pub(crate) const MISSING: u8 = u8::MAX;

/// How an item's latent value `l` becomes its code (see [`Model::test_share`]
/// for the shares this gives).
enum Coder {
    /// `code_min + #{κ < l}`; an acquiescent respondent's code.
    Likert,
    /// `yes` when `l > κ_sat` or the respondent is acquiescent, else `no`.
    YesNo { yes: u8, no: u8 },
    /// A code of `good` (its `share_in`) when `l > κ_sat`, else of `other`,
    /// uniformly (one more uniform from the respondent's stream).
    Choice { good: Vec<u8>, other: Vec<u8> },
    /// `lo + #{cuts < l}`, or `hi − …` when lower is better.
    Numeric {
        lo: u8,
        hi: u8,
        down: bool,
        cuts: Vec<f64>,
    },
}

impl Coder {
    /// The latent values this item's code counts the cuts below (ascending):
    /// the thresholds κ (Likert), κ_sat (yes/no, choice), the item's cuts
    /// (numeric).
    fn cuts<'a>(&'a self, thresholds: &'a [f64], kappa_sat: &'a f64) -> &'a [f64] {
        match self {
            Coder::Likert => thresholds,
            Coder::YesNo { .. } | Coder::Choice { .. } => std::slice::from_ref(kappa_sat),
            Coder::Numeric { cuts, .. } => cuts,
        }
    }
}

/// The relative margin within which the odds of a latent value are too
/// close to a cut's to be compared without the logarithm ([`above_cuts`]):
/// far above the rounding error of either way (~10⁻¹⁵).
const ODDS_MARGIN: f64 = 1e-9;

/// The number of cuts below the latent value
/// `l = ln(u / (1 − u)) + e + c` (`q` = u / (1 − u); the cuts ascending),
/// without its logarithm: `κ < l` ⟺ `q > exp(κ − e) · exp(−c)`, with
/// `odds[k]` = exp(κ_k − e) and `g` = exp(−c). Where `q` lies within
/// [`ODDS_MARGIN`] of a cut's odds, `l` is computed (by `exact`) and
/// compared as it always was, so the codes are those of the logarithm.
#[inline]
#[allow(clippy::needless_bitwise_bool)] // `&`: no branch on a random outcome
fn above_cuts(q: f64, odds: &[f64], g: f64, cuts: &[f64], exact: impl Fn() -> f64) -> u8 {
    // Every cut is compared (no branch on the random outcome, which the
    // processor could not predict); a cut too close is rare.
    let (mut above, mut near) = (0u8, false);
    for &o in odds {
        let x = o * g;
        above += u8::from(q > x * (1.0 + ODDS_MARGIN));
        near |= (q >= x * (1.0 - ODDS_MARGIN)) & (q <= x * (1.0 + ODDS_MARGIN));
    }
    if near {
        let l = exact();
        cuts.iter().filter(|&&k| k < l).count() as u8
    } else {
        above
    }
}

fn coders(model: &Model) -> Vec<Coder> {
    use sipas_core::index::{Direction, ItemType};
    model
        .instrument
        .items()
        .iter()
        .enumerate()
        .map(|(j, item)| {
            let v = &item.rule.valid;
            match item.rule.kind {
                ItemType::Likert => Coder::Likert,
                ItemType::YesNo => Coder::YesNo {
                    yes: item.coding.yes.expect("a yes/no item has a yes code"),
                    no: item.coding.no.expect("a yes/no item has a no code"),
                },
                ItemType::Choice => {
                    let (good, other) = crate::model::choice_codes(item);
                    Coder::Choice { good, other }
                }
                ItemType::Numeric => Coder::Numeric {
                    lo: v[0],
                    hi: v[v.len() - 1],
                    down: item.coding.direction == Direction::Down,
                    cuts: model.numeric_cuts(j),
                },
            }
        })
        .collect()
}

pub(crate) fn draw(model: &Model, rows: Range<u64>) -> RawChunk {
    let end = rows.end.min(model.n_rows());
    let start = rows.start.min(end);
    let n = (end - start) as usize;
    let n_items = model.gamma.len();
    let n_periods = model.cfg.periods.len();
    let cfg = &model.cfg;
    let mut out = RawChunk {
        cell: Vec::with_capacity(n),
        seq: Vec::with_capacity(n),
        day: Vec::with_capacity(n),
        weight: Vec::with_capacity(n),
        answers: Vec::with_capacity(n * n_items),
        missing: 0,
        styles: Vec::new(),
    };
    let with_styles = cfg.styles.enabled();
    if n == 0 {
        return out;
    }
    let coders = coders(model);
    let kappa_sat = cfg.thresholds[model.sat_threshold];
    let (mut cell, mut seq) = model.locate(start);
    let mut in_cell = model.cell_count(cell);
    let mut eta0 = vec![0.0; n_items];
    // Per item, its cuts (ascending) and, in the cell, their odds
    // exp(κ − η₀) ([`above_cuts`]): items `j` at `at[j]..at[j + 1]`.
    let cuts: Vec<&[f64]> = coders
        .iter()
        .map(|c| c.cuts(&cfg.thresholds, &kappa_sat))
        .collect();
    let at: Vec<usize> = std::iter::once(0)
        .chain(cuts.iter().scan(0, |n, c| {
            *n += c.len();
            Some(*n)
        }))
        .collect();
    let mut odds = vec![0.0; at[n_items]];
    let fill_eta = |cell: usize, eta0: &mut [f64], odds: &mut [f64]| {
        let (u, t) = (cell / n_periods, cell % n_periods);
        for (j, e) in eta0.iter_mut().enumerate() {
            *e = model.eta0(u, t, j);
            for (o, k) in odds[at[j]..at[j + 1]].iter_mut().zip(cuts[j]) {
                *o = (k - *e).exp();
            }
        }
    };
    fill_eta(cell, &mut eta0, &mut odds);
    for _ in 0..n {
        while seq >= in_cell {
            cell += 1;
            seq = 0;
            in_cell = model.cell_count(cell);
            fill_eta(cell, &mut eta0, &mut odds);
        }
        let (u, t) = (cell / n_periods, cell % n_periods);
        let mut rng = Xoshiro256pp::stream(
            cfg.seed,
            &[
                TAG_RESPONDENT,
                model.unit_keys[u],
                model.period_keys[t],
                seq,
            ],
        );
        let mut b = cfg.sigma_respondent * rng.normal();
        if let Some(v) = crate::cluster::village_of(model, seq) {
            b += crate::cluster::effect(model, u, t, v);
        }
        let n_days = model.dates[t].len();
        let day = ((rng.uniform() * n_days as f64) as usize).min(n_days - 1);
        let weight = if cfg.weights {
            ((cfg.weight_sigma * rng.normal()).exp() * 1e6).round() / 1e6
        } else {
            1.0
        };
        let st = if with_styles {
            let st = styles::respondent(model, u, t, seq);
            out.styles.push(st);
            st
        } else {
            styles::Respondent {
                missing_rate: cfg.missing_rate,
                ..styles::Respondent::default()
            }
        };
        // exp(−(b + effect)): the respondent's part of every cut's odds.
        let g = (-(b + st.effect)).exp();
        for (j, (&e, coder)) in eta0.iter().zip(&coders).enumerate() {
            let u_missing = rng.uniform();
            let u_answer = rng.open01();
            if u_missing < st.missing_rate {
                out.answers.push(MISSING);
                out.missing += 1;
                continue;
            }
            let q = u_answer / (1.0 - u_answer);
            // The cuts below l = ln q + η₀ + b + effect (no draw: the
            // stream is the same whether the code uses them or not).
            let above = above_cuts(q, &odds[at[j]..at[j + 1]], g, cuts[j], || {
                q.ln() + e + b + st.effect
            });
            let code = match coder {
                Coder::Likert => {
                    if let Some(code) = st.acquiescent {
                        code
                    } else {
                        model.code_min + above
                    }
                }
                Coder::YesNo { yes, no } => {
                    if st.acquiescent.is_some() || above == 1 {
                        *yes
                    } else {
                        *no
                    }
                }
                Coder::Choice { good, other } => {
                    let pool = if above == 1 || other.is_empty() {
                        good
                    } else {
                        other
                    };
                    let i = ((rng.uniform() * pool.len() as f64) as usize).min(pool.len() - 1);
                    pool[i]
                }
                Coder::Numeric { lo, hi, down, .. } => {
                    if *down {
                        hi - above
                    } else {
                        lo + above
                    }
                }
            };
            out.answers.push(code);
        }
        out.cell.push(cell as u32);
        out.seq.push(seq);
        out.day.push(day as u16);
        out.weight.push(weight);
        seq += 1;
    }
    out
}

fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    buf.extend(std::iter::repeat_n(b'0', width.saturating_sub(len)));
    buf.extend_from_slice(&digits[i..]);
}

/// `{unit_code}-{period}-{seq:06}` with a 1-based sequence number.
fn push_response_id(buf: &mut Vec<u8>, model: &Model, u: usize, t: usize, seq: u64) {
    buf.extend_from_slice(model.cfg.units[u].as_bytes());
    buf.push(b'-');
    buf.extend_from_slice(model.period_labels[t].as_bytes());
    buf.push(b'-');
    push_padded(buf, seq + 1, 6);
}

/// The CSV header line (with its `\n`).
pub(crate) fn csv_header(model: &Model) -> Vec<u8> {
    let mut cols = schema::LEADING.to_vec();
    if model.cfg.villages > 0 {
        cols.push(crate::cluster::VILLAGE);
    }
    cols.extend(model.instrument.item_ids());
    let mut s = cols.join(",");
    s.push('\n');
    s.into_bytes()
}

/// The rows written for a chunk: with styles, edit drafts before and
/// re-sent copies after their respondent's row.
fn written(chunk: &RawChunk) -> Vec<(usize, Version)> {
    styles::expand(
        (!chunk.styles.is_empty()).then_some(chunk.styles.as_slice()),
        chunk.len(),
    )
}

/// The `submitted_at` of a written row.
fn submitted_at(model: &Model, chunk: &RawChunk, i: usize, v: Version) -> String {
    let n_periods = model.cfg.periods.len();
    let date = &model.dates[chunk.cell[i] as usize % n_periods][chunk.day[i] as usize];
    match chunk.styles.get(i) {
        None => date.clone(),
        Some(st) => {
            let secs = match (v, st.draft) {
                (Version::Draft, Some((_, _, s))) => s,
                _ => st.seconds,
            };
            styles::timestamp(date, secs)
        }
    }
}

/// The `channel` of a row: its mode, or `survey`.
fn channel<'a>(model: &'a Model, chunk: &RawChunk, i: usize) -> &'a str {
    match chunk.styles.get(i) {
        Some(st) if !model.cfg.styles.modes.is_empty() => {
            &model.cfg.styles.modes[st.mode as usize].name
        }
        _ => schema::DEFAULT_CHANNEL,
    }
}

/// The answer of a written row to item `j` ([`MISSING`] = missing).
fn answer(chunk: &RawChunk, n_items: usize, i: usize, v: Version, j: usize) -> u8 {
    if v == Version::Draft
        && let Some((item, code, _)) = chunk.styles[i].draft
        && usize::from(item) == j
    {
        return code;
    }
    chunk.answers[i * n_items + j]
}

/// Formats a chunk as CSV rows (no header), `\n` line ends.
pub(crate) fn to_csv(model: &Model, chunk: &RawChunk, buf: &mut Vec<u8>) {
    let n_items = model.gamma.len();
    let n_periods = model.cfg.periods.len();
    buf.reserve(chunk.len() * (48 + 2 * n_items));
    for (i, v) in written(chunk) {
        let cell = chunk.cell[i] as usize;
        let (u, t) = (cell / n_periods, cell % n_periods);
        push_response_id(buf, model, u, t, chunk.seq[i]);
        if v == Version::Copy {
            buf.extend_from_slice(b"-resent");
        }
        buf.push(b',');
        buf.extend_from_slice(model.cfg.units[u].as_bytes());
        buf.push(b',');
        buf.extend_from_slice(model.period_labels[t].as_bytes());
        buf.push(b',');
        if chunk.styles.is_empty() {
            buf.extend_from_slice(model.dates[t][chunk.day[i] as usize].as_bytes());
        } else {
            buf.extend_from_slice(submitted_at(model, chunk, i, v).as_bytes());
        }
        buf.push(b',');
        buf.extend_from_slice(channel(model, chunk, i).as_bytes());
        buf.push(b',');
        if model.cfg.weights {
            write!(buf, "{:.6}", chunk.weight[i]).expect("writing to a Vec cannot fail");
        } else {
            buf.push(b'1');
        }
        if let Some(vil) = crate::cluster::village_of(model, chunk.seq[i]) {
            buf.push(b',');
            buf.extend_from_slice(crate::cluster::label(model, u, t, vil).as_bytes());
        }
        for j in 0..n_items {
            let a = answer(chunk, n_items, i, v, j);
            buf.push(b',');
            if a < 10 {
                buf.push(b'0' + a);
            } else if a != MISSING {
                write!(buf, "{a}").expect("writing to a Vec cannot fail");
            }
        }
        buf.push(b'\n');
    }
}

/// The schema of the response frames: text metadata, `weight: Float64`,
/// items `UInt8` (null = missing).
pub fn frame_schema(model: &Model) -> Schema {
    let mut s = sipas_dataset::leading_schema();
    if model.cfg.villages > 0 {
        s.insert(crate::cluster::VILLAGE.into(), DataType::String);
    }
    for id in model.instrument.item_ids() {
        s.insert(id.into(), DataType::UInt8);
    }
    s
}

/// Builds a frame (columns as in [`frame_schema`]) from a chunk.
pub(crate) fn to_frame(model: &Model, chunk: &RawChunk) -> Result<DataFrame> {
    let rows = written(chunk);
    let n = rows.len();
    let n_items = model.gamma.len();
    let n_periods = model.cfg.periods.len();
    let ut = |i: usize| {
        let c = chunk.cell[i] as usize;
        (c / n_periods, c % n_periods)
    };
    let mut id_buf = Vec::with_capacity(32);
    let ids = StringChunked::from_iter_values(
        schema::RESPONSE_ID.into(),
        rows.iter().map(|&(i, v)| {
            let (u, t) = ut(i);
            id_buf.clear();
            push_response_id(&mut id_buf, model, u, t, chunk.seq[i]);
            if v == Version::Copy {
                id_buf.extend_from_slice(b"-resent");
            }
            String::from_utf8(id_buf.clone()).expect("ids are built from UTF-8 parts")
        }),
    );
    let units = StringChunked::from_iter_values(
        schema::UNIT_CODE.into(),
        rows.iter().map(|&(i, _)| model.cfg.units[ut(i).0].as_str()),
    );
    let periods = StringChunked::from_iter_values(
        schema::PERIOD.into(),
        rows.iter()
            .map(|&(i, _)| model.period_labels[ut(i).1].as_str()),
    );
    let dates = StringChunked::from_iter_values(
        schema::SUBMITTED_AT.into(),
        rows.iter().map(|&(i, v)| submitted_at(model, chunk, i, v)),
    );
    let channel = StringChunked::from_iter_values(
        schema::CHANNEL.into(),
        rows.iter().map(|&(i, _)| channel(model, chunk, i)),
    );
    let weights: Vec<f64> = rows.iter().map(|&(i, _)| chunk.weight[i]).collect();
    let weight = Float64Chunked::from_vec(schema::WEIGHT.into(), weights);
    let mut columns: Vec<Column> = vec![
        ids.into_column(),
        units.into_column(),
        periods.into_column(),
        dates.into_column(),
        channel.into_column(),
        weight.into_column(),
    ];
    columns.extend(crate::cluster::column(model, chunk));
    for (j, id) in model.instrument.item_ids().into_iter().enumerate() {
        let col = UInt8Chunked::from_iter_options(
            id.into(),
            rows.iter().map(|&(i, v)| {
                let a = answer(chunk, n_items, i, v, j);
                (a != MISSING).then_some(a)
            }),
        );
        columns.push(col.into_column());
    }
    DataFrame::new(n, columns).map_err(Error::Frame)
}

/// Generates global rows `rows` (clamped to N) as a frame with the columns of
/// [`frame_schema`]. Chunks of any size concatenate to the same data.
pub fn generate_chunk(model: &Model, rows: Range<u64>) -> Result<DataFrame> {
    to_frame(model, &draw(model, rows))
}

/// Iterator over consecutive frames of at most `chunk_rows` rows covering
/// all N responses (see [`Model::frames`]).
#[derive(Debug)]
pub struct Frames<'a> {
    model: &'a Model,
    next: u64,
    chunk_rows: u64,
}

impl Iterator for Frames<'_> {
    type Item = Result<DataFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.model.n_rows() {
            return None;
        }
        let end = (self.next + self.chunk_rows).min(self.model.n_rows());
        let r = generate_chunk(self.model, self.next..end);
        self.next = end;
        Some(r)
    }
}

impl Model {
    /// All responses as consecutive frames of at most `chunk_rows` rows (≥ 1).
    pub fn frames(&self, chunk_rows: usize) -> Frames<'_> {
        Frames {
            model: self,
            next: 0,
            chunk_rows: chunk_rows.max(1) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cuts below `l = ln(u / (1 − u)) + e + c`, as the code was always drawn.
    fn by_logarithm(u: f64, e: f64, c: f64, cuts: &[f64]) -> u8 {
        let l = (u / (1.0 - u)).ln() + e + c;
        cuts.iter().filter(|&&k| k < l).count() as u8
    }

    #[test]
    fn odds_give_the_codes_of_the_logarithm_also_next_to_a_cut() {
        let cuts = [-1.7, -0.45, 0.3, 1.9];
        let mut rng = Xoshiro256pp::stream(11, &[5]);
        let (mut checked, mut next_to) = (0, 0);
        for _ in 0..2_000 {
            let e = 3.0 * rng.uniform() - 1.5;
            let c = 2.0 * rng.uniform() - 1.0;
            let odds: Vec<f64> = cuts.iter().map(|k| (k - e).exp()).collect();
            let g = (-c).exp();
            // Random uniforms, and the uniforms whose latent value falls on
            // each cut, moved by a few units in the last place either way.
            let mut us: Vec<f64> = (0..50).map(|_| rng.open01()).collect();
            for k in cuts {
                let on = 1.0 / (1.0 + (-(k - e - c)).exp());
                let mut u = on;
                for _ in 0..4 {
                    u = u.next_down();
                }
                for _ in 0..9 {
                    us.push(u);
                    u = u.next_up();
                }
            }
            for u in us {
                let q = u / (1.0 - u);
                let exact_used = std::cell::Cell::new(false);
                let got = above_cuts(q, &odds, g, &cuts, || {
                    exact_used.set(true);
                    q.ln() + e + c
                });
                assert_eq!(got, by_logarithm(u, e, c, &cuts), "u {u}, e {e}, c {c}");
                checked += 1;
                next_to += usize::from(exact_used.get());
            }
        }
        // The uniforms placed on a cut went the logarithm's way (36 of the 86
        // uniforms per draw of e and c), the random ones without it.
        assert_eq!(checked, 2_000 * 86);
        assert!(next_to >= 2_000 * 36, "{next_to}");
        assert!(next_to < 2_000 * 37, "{next_to}");
    }
}
