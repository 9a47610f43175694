//! The canonical response table's schema, and its rows as polars
//! [`DataFrame`]s built from the columnar candidates of a validated part.

use polars::prelude::*;
use sipas_core::{Instrument, schema};

use crate::validate::{Candidates, Ctx};

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
    let mut s = sipas_dataset::leading_schema();
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

fn str_col<'a>(name: &str, rows: &[u32], f: impl Fn(usize) -> &'a str) -> Column {
    StringChunked::from_iter_values(name.into(), rows.iter().map(|&k| f(k as usize))).into_column()
}

/// The answers of `rows` as a `UInt8` column without nulls: a missing
/// answer stays [`crate::validate::NO_ANSWER`] while the rows are held,
/// spilled and sorted (no validity to build, encode, decode or gather),
/// and becomes a null when the table is written ([`answers_as_nulls`]).
fn answers_column(name: &str, answers: &[u8], rows: &[u32]) -> Column {
    UInt8Chunked::from_vec(
        name.into(),
        rows.iter().map(|&k| answers[k as usize]).collect(),
    )
    .into_column()
}

/// Turns each answer column `items` of `df` (as [`build`] made it) into the
/// table's: null where [`crate::validate::NO_ANSWER`], the null's slot 0
/// (as polars' builders leave it).
pub(crate) fn answers_as_nulls(df: &mut DataFrame, items: &[&str]) -> PolarsResult<()> {
    use crate::validate::NO_ANSWER;
    for &name in items {
        let col = df.column(name)?.u8()?.rechunk();
        let answers = col.cont_slice()?;
        let valid = polars_arrow::bitmap::Bitmap::from_trusted_len_iter(
            answers.iter().map(|&v| v != NO_ANSWER),
        );
        if valid.unset_bits() == 0 {
            continue;
        }
        // One pass: NO_ANSWER (all bits set) becomes 0, any other byte stays.
        let values: Vec<u8> = answers
            .iter()
            .map(|&v| v & u8::from(v == NO_ANSWER).wrapping_sub(1))
            .collect();
        let array = polars_arrow::array::PrimitiveArray::<u8>::new(
            polars_arrow::datatypes::ArrowDataType::UInt8,
            values.into(),
            Some(valid),
        );
        df.with_column(UInt8Chunked::with_chunk(name.into(), array).into_column())?;
    }
    Ok(())
}

/// Builds the rows `rows` (candidate indices, all of period `period`) of a
/// validated part of file `file_name` in the canonical schema
/// ([`responses_schema_kept`]).
pub(crate) fn build(
    ctx: &Ctx<'_>,
    file_name: &str,
    c: &Candidates,
    rows: &[u32],
    period: &str,
    with_district: bool,
    kept: &[String],
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let mut cols = Vec::with_capacity(8 + ctx.instrument.items().len() + kept.len());
    cols.push(str_col(schema::RESPONSE_ID, rows, |k| c.ids.get(k)));
    cols.push(str_col(schema::UNIT_CODE, rows, |k| c.unit(k)));
    cols.push(StringChunked::full(schema::PERIOD.into(), period, n).into_column());
    cols.push(
        StringChunked::from_iter_options(
            schema::SUBMITTED_AT.into(),
            rows.iter().map(|&k| {
                let k = k as usize;
                c.submitted_valid[k].then(|| c.submitted.get(k))
            }),
        )
        .into_column(),
    );
    cols.push(str_col(schema::CHANNEL, rows, |k| {
        &c.channel_table.table[c.channels[k] as usize]
    }));
    cols.push(
        Float64Chunked::from_iter_values(
            schema::WEIGHT.into(),
            rows.iter().map(|&k| c.weights[k as usize]),
        )
        .into_column(),
    );
    if with_district {
        cols.push(
            StringChunked::from_iter_options(
                DISTRICT.into(),
                rows.iter().map(|&k| {
                    let k = k as usize;
                    c.district_valid[k].then(|| c.district.get(k))
                }),
            )
            .into_column(),
        );
    }
    for (j, id) in ctx.instrument.item_ids().into_iter().enumerate() {
        cols.push(answers_column(id, &c.answers[j], rows));
    }
    cols.push(StringChunked::full(schema::SOURCE_FILE.into(), file_name, n).into_column());
    cols.push(
        UInt64Chunked::from_iter_values(
            schema::SOURCE_LINE.into(),
            rows.iter().map(|&k| c.lines[k as usize]),
        )
        .into_column(),
    );
    for (j, name) in kept.iter().enumerate() {
        cols.push(
            StringChunked::from_iter_options(
                name.as_str().into(),
                rows.iter().map(|&k| {
                    let k = k as usize;
                    c.kept_valid[j][k].then(|| c.kept[j].get(k))
                }),
            )
            .into_column(),
        );
    }
    DataFrame::new(n, cols)
}
