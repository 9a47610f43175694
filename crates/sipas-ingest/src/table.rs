//! The canonical response table as a polars [`DataFrame`], built once from
//! the columnar candidates, rows sorted by (period, unit_code, response_id).

use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::{Instrument, schema};

use crate::validate::{Ctx, Parsed};

/// The optional district column (text as read, for unit matching in clean).
pub const DISTRICT: &str = "district";

/// The exact schema of `responses.parquet` for an instrument:
/// `response_id, unit_code, period: String; submitted_at: String (nullable);
/// channel: String; weight: Float64; <items>: UInt8 (null = missing);
/// source_file: String; source_line: UInt64`.
pub fn responses_schema(instrument: &Instrument) -> Schema {
    responses_schema_with(instrument, false)
}

/// [`responses_schema`], with a nullable `district: String` column after
/// `weight` when `district` is true (some input had a district column).
pub fn responses_schema_with(instrument: &Instrument, district: bool) -> Schema {
    responses_schema_kept(instrument, district, &[])
}

/// [`responses_schema_with`], followed by one nullable `String` column per
/// kept column (see [`crate::IngestOptions::keep_columns`]), in that order,
/// after `source_line`.
pub fn responses_schema_kept(instrument: &Instrument, district: bool, kept: &[String]) -> Schema {
    let mut s = Schema::default();
    for c in schema::LEADING {
        let dtype = if c == schema::WEIGHT {
            DataType::Float64
        } else {
            DataType::String
        };
        s.insert(c.into(), dtype);
    }
    if district {
        s.insert(DISTRICT.into(), DataType::String);
    }
    for id in instrument.item_ids() {
        s.insert(id.into(), DataType::UInt8);
    }
    s.insert(schema::SOURCE_FILE.into(), DataType::String);
    s.insert(schema::SOURCE_LINE.into(), DataType::UInt64);
    for c in kept {
        s.insert(c.as_str().into(), DataType::String);
    }
    s
}

/// Sorts the accepted rows by (period, unit_code, response_id). Ids are
/// unique among accepted rows, so the order is total and deterministic.
pub(crate) fn sort_accepted(parsed: &[Parsed], accepted: &mut [(u32, u32)]) {
    accepted.par_sort_unstable_by(|&(fa, ka), &(fb, kb)| {
        let (a, b) = (&parsed[fa as usize].cand, &parsed[fb as usize].cand);
        let (ka, kb) = (ka as usize, kb as usize);
        a.period(ka)
            .cmp(&b.period(kb))
            .then_with(|| a.unit(ka).cmp(b.unit(kb)))
            .then_with(|| a.ids.get(ka).cmp(b.ids.get(kb)))
    });
}

fn str_col<'a>(name: &str, rows: &[(u32, u32)], f: impl Fn(&(u32, u32)) -> &'a str) -> Column {
    StringChunked::from_iter_values(name.into(), rows.iter().map(f)).into_column()
}

/// Builds the response table from sorted accepted rows.
pub(crate) fn build(
    ctx: &Ctx<'_>,
    file_names: &[String],
    parsed: &[Parsed],
    rows: &[(u32, u32)],
    with_district: bool,
    kept: &[String],
) -> PolarsResult<DataFrame> {
    let at = |&(f, k): &(u32, u32)| (&parsed[f as usize].cand, k as usize);
    let period_labels: Vec<Vec<String>> = parsed
        .iter()
        .map(|p| {
            p.cand
                .period_table
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .collect();
    let mut cols = Vec::with_capacity(8 + ctx.instrument.items().len());
    cols.push(str_col(schema::RESPONSE_ID, rows, |r| {
        let (c, k) = at(r);
        c.ids.get(k)
    }));
    cols.push(str_col(schema::UNIT_CODE, rows, |r| {
        let (c, k) = at(r);
        c.unit(k)
    }));
    cols.push(str_col(schema::PERIOD, rows, |&(f, k)| {
        let c = &parsed[f as usize].cand;
        &period_labels[f as usize][c.periods[k as usize] as usize]
    }));
    cols.push(
        StringChunked::from_iter_options(
            schema::SUBMITTED_AT.into(),
            rows.iter().map(|r| {
                let (c, k) = at(r);
                c.submitted_valid[k].then(|| c.submitted.get(k))
            }),
        )
        .into_column(),
    );
    cols.push(str_col(schema::CHANNEL, rows, |r| {
        let (c, k) = at(r);
        &c.channel_table.table[c.channels[k] as usize]
    }));
    cols.push(
        Float64Chunked::from_iter_values(
            schema::WEIGHT.into(),
            rows.iter().map(|r| {
                let (c, k) = at(r);
                c.weights[k]
            }),
        )
        .into_column(),
    );
    if with_district {
        cols.push(
            StringChunked::from_iter_options(
                DISTRICT.into(),
                rows.iter().map(|r| {
                    let (c, k) = at(r);
                    c.district_valid[k].then(|| c.district.get(k))
                }),
            )
            .into_column(),
        );
    }
    let items: Vec<Column> = ctx
        .instrument
        .item_ids()
        .par_iter()
        .enumerate()
        .map(|(j, id)| {
            UInt8Chunked::from_iter_options(
                (*id).into(),
                rows.iter().map(|r| {
                    let (c, k) = at(r);
                    let v = c.answers[j][k];
                    (v != 0).then_some(v)
                }),
            )
            .into_column()
        })
        .collect();
    cols.extend(items);
    cols.push(str_col(schema::SOURCE_FILE, rows, |&(f, _)| {
        &file_names[f as usize]
    }));
    cols.push(
        UInt64Chunked::from_iter_values(
            schema::SOURCE_LINE.into(),
            rows.iter().map(|r| {
                let (c, k) = at(r);
                c.lines[k]
            }),
        )
        .into_column(),
    );
    for (j, name) in kept.iter().enumerate() {
        cols.push(
            StringChunked::from_iter_options(
                name.as_str().into(),
                rows.iter().map(|r| {
                    let (c, k) = at(r);
                    c.kept_valid[j][k].then(|| c.kept[j].get(k))
                }),
            )
            .into_column(),
        );
    }
    DataFrame::new(rows.len(), cols)
}
