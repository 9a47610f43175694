//! Cleaning one group of rows column by column, when no rule needs the
//! rows themselves: every unit is a code in force (no name, no crosswalk),
//! no row is excluded, and nothing can be a re-sent copy or a same-answers
//! row. The kept rows are then the rows as read, in the order read, with
//! their answers recoded and their flags set: the frame is rebuilt from
//! its columns instead of from one struct per row. Any other group goes
//! through [`crate::clean::clean_part`]; both give the same rows, counts
//! and order (the property tests compare the two on random tables). When
//! the only obstacle is rows that may be re-sent copies, [`ByColumns::Copies`]
//! names them, and the caller cleans them through the row structs and the
//! others column by column.

use std::hash::BuildHasher;
use std::path::Path;

use polars::prelude::*;
use sipas_core::{Instrument, schema};

use crate::clean::{CleanOptions, Counts, Resolver, Tally};
use crate::io::{f64_column, polars_err, str_column};
use crate::table::{DISTRICT, DURATION_S, FLAG_COLUMNS, ResponseTable, UNIT_TEXT};
use crate::{Result, rules};

/// What a group is cleaned with.
pub(crate) struct Columns<'a> {
    pub(crate) instrument: &'a Instrument,
    pub(crate) path: &'a Path,
    pub(crate) default_file: &'a str,
    pub(crate) resolver: &'a Resolver<'a>,
    pub(crate) opts: &'a CleanOptions,
    /// The clean table's columns (no rows).
    pub(crate) out_meta: &'a ResponseTable,
}

/// An answer that is missing (a read value of 255 sends the group to the
/// row-wise path, so the marker is never a real value).
const NONE: u8 = u8::MAX;

/// A text column (cast when needed); `None` when the frame lacks it.
fn text(df: &DataFrame, c: &str, path: &Path) -> Result<Option<StringChunked>> {
    df.schema()
        .contains(c)
        .then(|| str_column(df, c, path))
        .transpose()
}

/// A Float64 column (cast when needed); `None` when the frame lacks it.
fn float(df: &DataFrame, c: &str, path: &Path) -> Result<Option<Float64Chunked>> {
    df.schema()
        .contains(c)
        .then(|| f64_column(df, c, path))
        .transpose()
}

/// The values of a text column, nulls as `""` (`None`: all null).
fn strs(ca: Option<&StringChunked>, n: usize) -> Vec<Option<&str>> {
    match ca {
        Some(ca) => ca.iter().collect(),
        None => vec![None; n],
    }
}

/// What [`Columns::clean`] made of a group.
pub(crate) enum ByColumns {
    /// The kept rows and the counts: every row kept.
    Done(Box<(DataFrame, Tally)>),
    /// A rule needs the rows.
    Rows,
    /// Only that some rows may be re-sent copies of others: these (every
    /// row whose record, as hashed, another row shares; ascending). The
    /// other rows can be cleaned column by column without them.
    Copies(Vec<usize>),
}

impl Columns<'_> {
    /// The kept rows and counts of a group cleaned column by column, or
    /// what stops it (see the module documentation). `ordinals` and
    /// `resolved` give each row's index in the whole table and its unit
    /// resolution.
    pub(crate) fn clean(
        &self,
        df: &DataFrame,
        ordinals: &[u64],
        resolved: &[u32],
    ) -> Result<ByColumns> {
        let (path, meta, opts) = (self.path, self.out_meta, self.opts);
        let n = df.height();
        let has = |c: &str| df.schema().contains(c);
        if n == 0
            || opts.crosswalk.is_some()
            || !meta.extra.is_empty()
            || meta.has_unit_text
            || has(UNIT_TEXT)
            || FLAG_COLUMNS.iter().any(|f| has(f))
            || meta.has_duration != has(DURATION_S)
        {
            return Ok(ByColumns::Rows);
        }
        // Every unit a code in force, as given.
        let mut last = None;
        for &r in resolved {
            if last == Some(r) {
                continue;
            }
            let res = self.resolver.get(r);
            match &res.result {
                Ok(code) if !res.named && *code == res.raw => {}
                _ => return Ok(ByColumns::Rows),
            }
            last = Some(r);
        }
        // Rows strictly in canonical order: the order read is the order
        // of the clean table.
        let need = |c: &str| -> Result<StringChunked> {
            Ok(text(df, c, path)?.expect("checked by pass 1"))
        };
        let (ids, units, periods) = (
            need(schema::RESPONSE_ID)?,
            need(schema::UNIT_CODE)?,
            need(schema::PERIOD)?,
        );
        {
            let (p, u, id) = (
                strs(Some(&periods), n),
                strs(Some(&units), n),
                strs(Some(&ids), n),
            );
            if (1..n).any(|i| (p[i - 1], u[i - 1], id[i - 1]) >= (p[i], u[i], id[i])) {
                return Ok(ByColumns::Rows);
            }
        }
        // The answers, row by row.
        let items = self.instrument.item_ids();
        let k = items.len();
        if k == 0 {
            return Ok(ByColumns::Rows);
        }
        let mut ans = vec![NONE; n * k];
        let mut item_cols = Vec::with_capacity(k);
        for (j, item) in items.iter().enumerate() {
            let col = df.column(item).map_err(polars_err(path))?;
            if col.dtype() != &DataType::UInt8 {
                return Ok(ByColumns::Rows);
            }
            let ca = col.u8().map_err(polars_err(path))?.clone();
            let mut i = 0;
            for arr in ca.downcast_iter() {
                let vals = arr.values().as_slice();
                if vals.contains(&NONE) {
                    return Ok(ByColumns::Rows);
                }
                match arr.validity().filter(|v| v.unset_bits() > 0) {
                    None => {
                        for (r, &v) in vals.iter().enumerate() {
                            ans[(i + r) * k + j] = v;
                        }
                    }
                    Some(valid) => {
                        for (r, (&v, ok)) in vals.iter().zip(valid.iter()).enumerate() {
                            if ok {
                                ans[(i + r) * k + j] = v;
                            }
                        }
                    }
                }
                i += vals.len();
            }
            item_cols.push(ca);
        }
        // Re-sent copies and same answers need a submission time to tell
        // rows apart: every row has one, and no two rows are the same
        // record (equal in every field the platform records; a hash of
        // them, so that a collision only sends the group to the rows).
        let Some(subs) = text(df, schema::SUBMITTED_AT, path)? else {
            return Ok(ByColumns::Rows);
        };
        if subs.null_count() > 0 {
            return Ok(ByColumns::Rows);
        }
        let channels = text(df, schema::CHANNEL, path)?;
        let ch = strs(channels.as_ref(), n);
        let weights = float(df, schema::WEIGHT, path)?;
        let duration = float(df, DURATION_S, path)?;
        let districts = text(df, DISTRICT, path)?;
        {
            let (u, dist) = (strs(Some(&units), n), strs(districts.as_ref(), n));
            let h = PlFixedStateQuality::default();
            let hashes: Vec<u64> = subs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let w = weights.as_ref().and_then(|c| c.get(i)).unwrap_or(1.0);
                    let d = duration.as_ref().and_then(|c| c.get(i));
                    h.hash_one((
                        (s, u[i], dist[i], ch[i].unwrap_or(schema::DEFAULT_CHANNEL)),
                        (w.to_bits(), d.map(f64::to_bits)),
                        &ans[i * k..(i + 1) * k],
                    ))
                })
                .collect();
            let mut sorted = hashes.clone();
            sorted.sort_unstable();
            let shared: std::collections::HashSet<u64> = sorted
                .windows(2)
                .filter(|w| w[0] == w[1])
                .map(|w| w[0])
                .collect();
            if !shared.is_empty() {
                return Ok(ByColumns::Copies(
                    (0..n).filter(|&i| shared.contains(&hashes[i])).collect(),
                ));
            }
        }
        // Recode and flag, row by row.
        let scale = &self.instrument.scale;
        let likert = rules::likert_positions(self.instrument);
        // Per item, per code: whether it is a valid answer (one lookup a value).
        let valid: Vec<bool> = (0..k)
            .flat_map(|j| (0..=255u8).map(move |c| (j, c)))
            .map(|(j, c)| self.instrument.is_valid(j, c))
            .collect();
        let mut recoded_values = [0u64; 2];
        let mut flags: [Vec<bool>; 6] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut col_changed = vec![false; k];
        let mut buf: Vec<Option<u8>> = vec![None; k];
        for i in 0..n {
            let row = &mut ans[i * k..(i + 1) * k];
            let mut any = false;
            for (j, a) in row.iter_mut().enumerate() {
                if *a != NONE && !valid[j * 256 + usize::from(*a)] {
                    if scale.missing_codes.contains(&u16::from(*a)) {
                        recoded_values[0] += 1;
                    } else {
                        recoded_values[1] += 1;
                    }
                    *a = NONE;
                    any = true;
                    col_changed[j] = true;
                }
            }
            for (b, a) in buf.iter_mut().zip(row.iter()) {
                *b = (*a != NONE).then_some(*a);
            }
            let d = duration.as_ref().and_then(|c| c.get(i));
            let f = [
                rules::is_straightline_at(&buf, likert.as_deref()),
                rules::is_missing_heavy(&buf, opts.max_missing_share),
                rules::is_speeder(d, opts.min_duration_s),
                any,
                false,
                false,
            ];
            if opts.exclude_flagged && (f[0] || f[1] || f[2]) {
                return Ok(ByColumns::Rows);
            }
            for (v, on) in flags.iter_mut().zip(f) {
                v.push(on);
            }
        }
        debug_assert_eq!(
            FLAG_COLUMNS,
            [
                "flag_straightline",
                "flag_missing",
                "flag_speeder",
                "flag_recoded",
                "flag_same_answers",
                "flag_resent_copy"
            ]
        );

        // Counts: every row kept.
        let mut tally = Tally::new();
        tally.values_recoded = recoded_values;
        let mut by_channel: Vec<(&str, u64)> = Vec::new();
        for c in &ch {
            let c = c.unwrap_or(schema::DEFAULT_CHANNEL);
            match by_channel.iter_mut().find(|(x, _)| *x == c) {
                Some(e) => e.1 += 1,
                None => by_channel.push((c, 1)),
            }
        }
        for (c, rows) in by_channel {
            let e = tally.channels.entry(c.to_string()).or_default();
            e.rows_in += rows;
            e.kept += rows;
        }
        let flagged = |range: std::ops::Range<usize>| -> [u64; 6] {
            std::array::from_fn(|f| flags[f][range.clone()].iter().filter(|b| **b).count() as u64)
        };
        let u = strs(Some(&units), n);
        let period = periods.get(0).unwrap_or_default();
        let mut start = 0;
        while start < n {
            let len = u[start..].partition_point(|x| *x == u[start]);
            let mut c = Counts::empty();
            c.keep_many(len as u64, flagged(start..start + len));
            tally
                .cells
                .entry((u[start].unwrap_or_default().to_string(), period.to_string()))
                .or_insert_with(Counts::empty)
                .add(&c);
            start += len;
        }
        tally.totals.keep_many(n as u64, flagged(0..n));

        // The kept rows, as `to_frame` writes them.
        let named = |ca: StringChunked, name: &str| ca.with_name(name.into()).into_column();
        let filled = |c: Option<StringChunked>, name: &str, default: &str| -> Column {
            match c {
                Some(ca) if ca.null_count() == 0 => named(ca, name),
                Some(ca) => named(
                    ca.iter().map(|v| Some(v.unwrap_or(default))).collect(),
                    name,
                ),
                None => Column::new(name.into(), vec![default; n]),
            }
        };
        let mut cols = vec![
            named(ids.clone(), schema::RESPONSE_ID),
            named(units.clone(), schema::UNIT_CODE),
            named(periods.clone(), schema::PERIOD),
            named(subs, schema::SUBMITTED_AT),
            filled(channels, schema::CHANNEL, schema::DEFAULT_CHANNEL),
        ];
        cols.push(match weights {
            Some(w) if w.null_count() == 0 => w.with_name(schema::WEIGHT.into()).into_column(),
            Some(w) => Column::new(
                schema::WEIGHT.into(),
                w.iter().map(|v| v.unwrap_or(1.0)).collect::<Vec<f64>>(),
            ),
            None => Column::new(schema::WEIGHT.into(), vec![1.0f64; n]),
        });
        if meta.has_district {
            let d = districts.expect("the table has a district");
            cols.push(named(d, DISTRICT));
        }
        for (j, (item, ca)) in items.iter().zip(item_cols).enumerate() {
            let ca = if col_changed[j] {
                (0..n)
                    .map(|i| Some(ans[i * k + j]).filter(|a| *a != NONE))
                    .collect::<UInt8Chunked>()
            } else {
                ca
            };
            cols.push(ca.with_name((*item).into()).into_column());
        }
        cols.push(filled(
            text(df, schema::SOURCE_FILE, path)?,
            schema::SOURCE_FILE,
            self.default_file,
        ));
        let lines: Vec<u64> = match float(df, schema::SOURCE_LINE, path)? {
            Some(l) => l
                .iter()
                .zip(ordinals)
                .map(|(v, o)| v.map_or(o + 2, |v| v as u64))
                .collect(),
            None => ordinals.iter().map(|o| o + 2).collect(),
        };
        cols.push(Column::new(schema::SOURCE_LINE.into(), lines));
        if meta.has_duration {
            let d = duration.expect("checked above");
            cols.push(d.with_name(DURATION_S.into()).into_column());
        }
        for (name, v) in FLAG_COLUMNS.iter().zip(flags) {
            cols.push(Column::new((*name).into(), v));
        }
        let frame = DataFrame::new(n, cols).map_err(polars_err(path))?;
        Ok(ByColumns::Done(Box::new((frame, tally))))
    }
}
