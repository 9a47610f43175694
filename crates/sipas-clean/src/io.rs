//! Reading the response table into a [`ResponseTable`] and writing the
//! clean outputs (atomically: a temp file or folder, then a rename). The
//! whole stage on folders, in bounded memory, is [`crate::clean_folder`],
//! which uses this module (never the other way round).

use std::path::Path;

use polars::prelude::*;
use sipas_core::{Instrument, bundled, schema};

use sipas_dataset::{DatasetWriter, Layout};

use crate::clean::{CleanOutcome, CleanReport, Counts, Excluded, Reason};
use crate::table::{
    DISTRICT, DURATION_S, ENDED_AT, ExtraColumn, ExtraType, FLAG_COLUMNS, Flags, Response,
    ResponseTable, STARTED_AT, UNIT_TEXT, Value,
};
use crate::time::parse_iso8601;
use crate::{Error, Result};

/// Name of the clean table in the output folder.
pub const RESPONSES: &str = "responses.parquet";
/// Name of the quarantine file.
pub const QUARANTINE: &str = "quarantine.csv";
/// Name of the report.
pub const REPORT: &str = "clean-report.json";
/// Name of the per-cell counts.
pub const BY_CELL: &str = "clean-by-cell.csv";

/// A polars error while reading or writing `path`.
pub(crate) fn polars_err(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |source| Error::Polars {
        path: path.to_path_buf(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Name of the internal column with each row's index in the whole table
/// (used while cleaning in parts; never written).
pub(crate) const ORDINAL: &str = "__sipas_clean_ordinal";

/// A `sipas-dataset` error.
pub(crate) fn ds_err(e: sipas_dataset::Error) -> Error {
    Error::Dataset(e)
}

/// The instrument given, or the one detected from the column names.
pub(crate) fn instrument_for(
    names: &[String],
    instrument: Option<&Instrument>,
    path: &Path,
) -> Result<Instrument> {
    match instrument {
        Some(i) => Ok(i.clone()),
        None => bundled::detect_instrument(names).ok_or_else(|| Error::UnknownInstrument {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads a canonical response table: `path` is a Parquet file, or a folder
/// holding the table in either layout (see [`sipas_dataset::Dataset::open`]).
/// The canonical columns, the
/// optional `district`, `unit_text` and `duration_s` columns and the flag
/// columns are read into their fields; every other column (`village`,
/// `started_at`…) is an extra column ([`ResponseTable::extra`]) carried
/// through unchanged, with its type (types other than String, Boolean,
/// Int32/64, UInt8/32/64 and Float32/64 are read as text). Without
/// `duration_s`, the duration is `ended_at − started_at` when both exist.
/// Without `source_file` / `source_line`, they are the table's path and the
/// row's index + 2. With `instrument` `None`, the instrument is detected
/// from the column names.
pub fn read_response_table(
    path: &Path,
    instrument: Option<&Instrument>,
) -> Result<(ResponseTable, Instrument)> {
    let ds = sipas_dataset::Dataset::open(path).map_err(ds_err)?;
    let instrument = instrument_for(&ds.column_names(), instrument, ds.path())?;
    let df = ds.read(None).map_err(ds_err)?;
    let file_name = ds.path().display().to_string();
    let table = table_from_frame(&df, &instrument, ds.path(), &file_name, None)?;
    Ok((table, instrument))
}

/// A frame's column as text (cast when needed).
pub(crate) fn str_column(df: &DataFrame, c: &str, path: &Path) -> Result<StringChunked> {
    let col = df
        .column(c)
        .and_then(|x| x.cast(&DataType::String))
        .map_err(polars_err(path))?;
    Ok(col.str().map_err(polars_err(path))?.clone())
}

/// A frame's column as Float64 (cast when needed).
pub(crate) fn f64_column(df: &DataFrame, c: &str, path: &Path) -> Result<Float64Chunked> {
    let col = df
        .column(c)
        .and_then(|x| x.cast(&DataType::Float64))
        .map_err(polars_err(path))?;
    Ok(col.f64().map_err(polars_err(path))?.clone())
}

/// Builds the rows of a frame with the canonical columns (see
/// [`read_response_table`]). `ordinals[i]` is row `i`'s index in the whole
/// table (`i` when `None`): it numbers rows in errors and gives the default
/// `source_line` (index + 2); `default_file` is the default `source_file`.
pub(crate) fn table_from_frame(
    df: &DataFrame,
    instrument: &Instrument,
    path: &Path,
    default_file: &str,
    ordinals: Option<&[u64]>,
) -> Result<ResponseTable> {
    let n = df.height();
    let ordinal = |i: usize| ordinals.map_or(i as u64, |o| o[i]);
    let has = |c: &str| df.schema().contains(c);
    let items = instrument.item_ids();
    for c in [schema::RESPONSE_ID, schema::UNIT_CODE, schema::PERIOD]
        .into_iter()
        .chain(items.iter().copied())
    {
        if !has(c) {
            return Err(Error::MissingColumn {
                path: path.to_path_buf(),
                column: c.into(),
            });
        }
    }
    let extra_cols = extra_columns(df, instrument);
    let mut rows: Vec<Response> = (0..n)
        .map(|_| Response {
            response_id: String::new(),
            unit_code: String::new(),
            period: String::new(),
            submitted_at: None,
            channel: String::new(),
            weight: 1.0,
            answers: Vec::with_capacity(items.len()),
            source_file: String::new(),
            source_line: 0,
            duration_s: None,
            flags: Flags::default(),
            district: None,
            unit_text: None,
            extra: Vec::with_capacity(extra_cols.len()),
        })
        .collect();
    // Required text columns.
    for (c, field) in [
        (schema::RESPONSE_ID, 0),
        (schema::UNIT_CODE, 1),
        (schema::PERIOD, 2),
    ] {
        let ca = str_column(df, c, path)?;
        for (i, (r, v)) in rows.iter_mut().zip(ca.iter()).enumerate() {
            let v = v.ok_or_else(|| Error::NullValue {
                path: path.to_path_buf(),
                row: usize::try_from(ordinal(i))
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
                column: c.into(),
            })?;
            let dst = match field {
                0 => &mut r.response_id,
                1 => &mut r.unit_code,
                _ => &mut r.period,
            };
            v.clone_into(dst);
        }
    }
    // Optional text columns.
    for (c, field) in [(schema::SUBMITTED_AT, 0), (DISTRICT, 1), (UNIT_TEXT, 2)] {
        if !has(c) {
            continue;
        }
        let ca = str_column(df, c, path)?;
        for (r, v) in rows.iter_mut().zip(ca.iter()) {
            let dst = match field {
                0 => &mut r.submitted_at,
                1 => &mut r.district,
                _ => &mut r.unit_text,
            };
            *dst = v.map(str::to_string);
        }
    }
    if has(schema::CHANNEL) {
        let ca = str_column(df, schema::CHANNEL, path)?;
        for (r, v) in rows.iter_mut().zip(ca.iter()) {
            v.unwrap_or(schema::DEFAULT_CHANNEL)
                .clone_into(&mut r.channel);
        }
    } else {
        for r in &mut rows {
            schema::DEFAULT_CHANNEL.clone_into(&mut r.channel);
        }
    }
    if has(schema::WEIGHT) {
        let ca = f64_column(df, schema::WEIGHT, path)?;
        for (r, v) in rows.iter_mut().zip(ca.iter()) {
            r.weight = v.unwrap_or(1.0);
        }
    }
    for item in &items {
        let col = df.column(item).map_err(polars_err(path))?;
        if col.dtype() == &DataType::UInt8 {
            let ca = col.u8().map_err(polars_err(path))?;
            for (r, v) in rows.iter_mut().zip(ca.iter()) {
                r.answers.push(v);
            }
        } else {
            let col = col.cast(&DataType::Int64).map_err(polars_err(path))?;
            for (r, v) in rows
                .iter_mut()
                .zip(col.i64().map_err(polars_err(path))?.iter())
            {
                r.answers
                    .push(v.map(|v| u8::try_from(v).unwrap_or(u8::MAX)));
            }
        }
    }
    if has(schema::SOURCE_FILE) {
        let ca = str_column(df, schema::SOURCE_FILE, path)?;
        for (r, v) in rows.iter_mut().zip(ca.iter()) {
            v.unwrap_or(default_file).clone_into(&mut r.source_file);
        }
    } else {
        for r in &mut rows {
            default_file.clone_into(&mut r.source_file);
        }
    }
    if has(schema::SOURCE_LINE) {
        let ca = f64_column(df, schema::SOURCE_LINE, path)?;
        for (i, (r, v)) in rows.iter_mut().zip(ca.iter()).enumerate() {
            r.source_line = v.map_or(ordinal(i) + 2, |v| v as u64);
        }
    } else {
        for (i, r) in rows.iter_mut().enumerate() {
            r.source_line = ordinal(i) + 2;
        }
    }
    let has_duration = if has(DURATION_S) {
        let ca = f64_column(df, DURATION_S, path)?;
        for (r, v) in rows.iter_mut().zip(ca.iter()) {
            r.duration_s = v;
        }
        true
    } else if has(STARTED_AT) && has(ENDED_AT) {
        let s = str_column(df, STARTED_AT, path)?;
        let e = str_column(df, ENDED_AT, path)?;
        for (r, (s, e)) in rows.iter_mut().zip(s.iter().zip(e.iter())) {
            r.duration_s = (|| {
                let s = parse_iso8601(s?)?;
                let e = parse_iso8601(e?)?;
                Some(e - s)
            })();
        }
        true
    } else {
        false
    };
    read_extra(df, &extra_cols, &mut rows, path)?;
    for (k, f) in FLAG_COLUMNS.iter().enumerate() {
        if !has(f) {
            continue;
        }
        let col = df
            .column(f)
            .and_then(|x| x.cast(&DataType::Boolean))
            .map_err(polars_err(path))?;
        for (r, v) in rows
            .iter_mut()
            .zip(col.bool().map_err(polars_err(path))?.iter())
        {
            let mut a = r.flags.as_array();
            a[k] = v == Some(true);
            r.flags = Flags::from_array(a);
        }
    }
    Ok(ResponseTable {
        items: items.iter().map(|s| (*s).to_string()).collect(),
        has_duration,
        has_district: has(DISTRICT),
        has_unit_text: has(UNIT_TEXT),
        extra: extra_cols,
        rows,
    })
}

/// Whether clean reads `name` into a field of [`Response`] (the answer-mask
/// columns of an earlier clean are dropped and written anew from the items).
fn is_known(name: &str, instrument: &Instrument) -> bool {
    schema::LEADING.contains(&name)
        || schema::PROVENANCE.contains(&name)
        || [DISTRICT, UNIT_TEXT, DURATION_S].contains(&name)
        || FLAG_COLUMNS.contains(&name)
        || name == ORDINAL
        || name.starts_with(schema::MASK_PREFIX)
        || instrument.item_ids().contains(&name)
}

/// The columns clean does not know, in frame order, with their types.
fn extra_columns(df: &DataFrame, instrument: &Instrument) -> Vec<ExtraColumn> {
    df.columns()
        .iter()
        .filter(|col| !is_known(col.name().as_str(), instrument))
        .map(|col| ExtraColumn {
            name: col.name().to_string(),
            dtype: match col.dtype() {
                DataType::Boolean => ExtraType::Boolean,
                DataType::Int32 => ExtraType::Int32,
                DataType::Int64 => ExtraType::Int64,
                DataType::UInt8 => ExtraType::UInt8,
                DataType::UInt32 => ExtraType::UInt32,
                DataType::UInt64 => ExtraType::UInt64,
                DataType::Float32 => ExtraType::Float32,
                DataType::Float64 => ExtraType::Float64,
                _ => ExtraType::String,
            },
        })
        .collect()
}

/// Appends the values of the extra columns to every row.
fn read_extra(
    df: &DataFrame,
    cols: &[ExtraColumn],
    rows: &mut [Response],
    path: &Path,
) -> Result<()> {
    for ExtraColumn { name, dtype } in cols {
        let col = df.column(name).map_err(polars_err(path))?;
        let cast = |t: &DataType| col.cast(t).map_err(polars_err(path));
        match dtype {
            ExtraType::Boolean => {
                for (r, v) in rows
                    .iter_mut()
                    .zip(col.bool().map_err(polars_err(path))?.iter())
                {
                    r.extra.push(v.map_or(Value::Null, Value::Bool));
                }
            }
            ExtraType::Int32 | ExtraType::Int64 => {
                let c = cast(&DataType::Int64)?;
                for (r, v) in rows
                    .iter_mut()
                    .zip(c.i64().map_err(polars_err(path))?.iter())
                {
                    r.extra.push(v.map_or(Value::Null, Value::Int));
                }
            }
            ExtraType::UInt8 | ExtraType::UInt32 | ExtraType::UInt64 => {
                let c = cast(&DataType::UInt64)?;
                for (r, v) in rows
                    .iter_mut()
                    .zip(c.u64().map_err(polars_err(path))?.iter())
                {
                    r.extra.push(v.map_or(Value::Null, Value::UInt));
                }
            }
            ExtraType::Float32 | ExtraType::Float64 => {
                let c = cast(&DataType::Float64)?;
                for (r, v) in rows
                    .iter_mut()
                    .zip(c.f64().map_err(polars_err(path))?.iter())
                {
                    r.extra.push(v.map_or(Value::Null, Value::Float));
                }
            }
            ExtraType::String => {
                let c = cast(&DataType::String)?;
                for (r, v) in rows
                    .iter_mut()
                    .zip(c.str().map_err(polars_err(path))?.iter())
                {
                    r.extra
                        .push(v.map_or(Value::Null, |s| Value::Str(s.to_string())));
                }
            }
        }
    }
    Ok(())
}

/// A column named `name` holding `f` of every row.
fn column<'a, T>(rows: &'a [Response], name: &str, f: impl Fn(&'a Response) -> T) -> Column
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<T>>())
}

/// The polars type an extra column is written with (as it was read).
fn extra_dtype(dtype: ExtraType) -> DataType {
    match dtype {
        ExtraType::String => DataType::String,
        ExtraType::Boolean => DataType::Boolean,
        ExtraType::Int32 => DataType::Int32,
        ExtraType::Int64 => DataType::Int64,
        ExtraType::UInt8 => DataType::UInt8,
        ExtraType::UInt32 => DataType::UInt32,
        ExtraType::UInt64 => DataType::UInt64,
        ExtraType::Float32 => DataType::Float32,
        ExtraType::Float64 => DataType::Float64,
    }
}

/// An extra column as a polars column of its type.
fn extra_column(table: &ResponseTable, j: usize) -> PolarsResult<Column> {
    /// The `j`-th extra value of every row; `pick` returns `None` for a
    /// value of another type than the column's (an error).
    fn values<'a, T>(
        table: &'a ResponseTable,
        j: usize,
        pick: impl Fn(&'a Value) -> Option<T>,
    ) -> PolarsResult<Vec<Option<T>>> {
        let ExtraColumn { name, dtype } = &table.extra[j];
        table
            .rows
            .iter()
            .map(|r| match &r.extra[j] {
                Value::Null => Ok(None),
                v => pick(v).map(Some).ok_or_else(|| {
                    PolarsError::ComputeError(
                        format!("extra column `{name}` of type {dtype:?} holds {v:?}").into(),
                    )
                }),
            })
            .collect()
    }
    let ExtraColumn { name, dtype } = &table.extra[j];
    let name: PlSmallStr = name.as_str().into();
    // The column of the values `Value::$variant($x)`, as `$out`.
    macro_rules! typed {
        ($variant:ident, $x:ident => $out:expr) => {
            Column::new(
                name,
                values(table, j, |v| match v {
                    Value::$variant($x) => Some($out),
                    _ => None,
                })?,
            )
        };
    }
    let c = match dtype {
        ExtraType::String => typed!(Str, s => s.as_str()),
        ExtraType::Boolean => typed!(Bool, b => *b),
        ExtraType::Int32 | ExtraType::Int64 => typed!(Int, x => *x),
        ExtraType::UInt8 | ExtraType::UInt32 | ExtraType::UInt64 => typed!(UInt, x => *x),
        ExtraType::Float32 | ExtraType::Float64 => typed!(Float, x => *x),
    };
    let target = extra_dtype(*dtype);
    if c.dtype() == &target {
        Ok(c)
    } else {
        c.cast(&target)
    }
}

/// The table as a frame: `response_id, unit_code, period, submitted_at,
/// channel, weight, [district], [unit_text], <items>, source_file,
/// source_line, [extra columns…], [duration_s]` and, with `with_flags`, the
/// Boolean flag columns.
pub fn to_frame(table: &ResponseTable, with_flags: bool) -> PolarsResult<DataFrame> {
    let rows = &table.rows;
    let mut cols = vec![
        column(rows, schema::RESPONSE_ID, |r| r.response_id.as_str()),
        column(rows, schema::UNIT_CODE, |r| r.unit_code.as_str()),
        column(rows, schema::PERIOD, |r| r.period.as_str()),
        column(rows, schema::SUBMITTED_AT, |r| r.submitted_at.as_deref()),
        column(rows, schema::CHANNEL, |r| r.channel.as_str()),
        column(rows, schema::WEIGHT, |r| r.weight),
    ];
    if table.has_district {
        cols.push(column(rows, DISTRICT, |r| r.district.as_deref()));
    }
    if table.has_unit_text {
        cols.push(column(rows, UNIT_TEXT, |r| r.unit_text.as_deref()));
    }
    for (j, item) in table.items.iter().enumerate() {
        cols.push(column(rows, item, |r| r.answers[j]));
    }
    cols.push(column(rows, schema::SOURCE_FILE, |r| {
        r.source_file.as_str()
    }));
    cols.push(column(rows, schema::SOURCE_LINE, |r| r.source_line));
    for j in 0..table.extra.len() {
        cols.push(extra_column(table, j)?);
    }
    if table.has_duration {
        cols.push(column(rows, DURATION_S, |r| r.duration_s));
    }
    if with_flags {
        for (k, name) in FLAG_COLUMNS.iter().enumerate() {
            cols.push(column(rows, name, |r| r.flags.as_array()[k]));
        }
    }
    DataFrame::new(rows.len(), cols)
}

/// Writes a CSV file through [`sipas_core::csv_out::write`] (cells made inert
/// for spreadsheets, the Excel BOM when asked), atomically.
pub fn write_csv(path: &Path, bytes: &[u8]) -> Result<()> {
    sipas_core::csv_out::write(path, bytes).map_err(io_err(path))
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    sipas_core::atomic::write_bytes(path, bytes).map_err(io_err(path))
}

/// Writes a response table as parquet (atomically).
pub fn write_responses(path: &Path, table: &ResponseTable, with_flags: bool) -> Result<()> {
    let mut df = to_frame(table, with_flags).map_err(polars_err(path))?;
    let mut buf = Vec::new();
    sipas_dataset::write_frame(&mut buf, &mut df).map_err(polars_err(path))?;
    write_atomic(path, &buf)
}

fn csv_bytes(
    origin: &Path,
    f: impl FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()>,
) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut buf);
        f(&mut w).map_err(|source| Error::Csv {
            origin: origin.display().to_string(),
            source,
        })?;
        w.flush().map_err(io_err(origin))?;
    }
    Ok(buf)
}

/// The quarantine as CSV bytes: the row (unit text as given) with `reason`
/// and `detail`. Columns as in the clean table (`district` and `unit_text`
/// when it has them, the extra columns after `source_line`), without
/// `duration_s` and the flags.
pub fn quarantine_csv(outcome: &CleanOutcome) -> Result<Vec<u8>> {
    quarantine_csv_of(&outcome.table, &outcome.quarantine)
}

/// [`quarantine_csv`] of `quarantine`, with the columns of table `t` (its rows are not read).
pub(crate) fn quarantine_csv_of(t: &ResponseTable, quarantine: &[Excluded]) -> Result<Vec<u8>> {
    quarantine_csv_part(t, quarantine, true)
}

/// Quarantine rows as CSV bytes (see [`quarantine_csv`]), after the header
/// when `header_row`: a quarantine written in pieces is the concatenation.
pub(crate) fn quarantine_csv_part(
    t: &ResponseTable,
    quarantine: &[Excluded],
    header_row: bool,
) -> Result<Vec<u8>> {
    let items = &t.items;
    csv_bytes(Path::new(QUARANTINE), |w| {
        let mut header = schema::LEADING.to_vec();
        if t.has_district {
            header.push(DISTRICT);
        }
        if t.has_unit_text {
            header.push(UNIT_TEXT);
        }
        header.extend(items.iter().map(String::as_str));
        header.extend([schema::SOURCE_FILE, schema::SOURCE_LINE]);
        header.extend(t.extra.iter().map(|c| c.name.as_str()));
        header.extend(["reason", "detail"]);
        if header_row {
            w.write_record(&header)?;
        }
        for q in quarantine {
            let r = &q.row;
            let mut rec = vec![
                r.response_id.clone(),
                r.unit_code.clone(),
                r.period.clone(),
                r.submitted_at.clone().unwrap_or_default(),
                r.channel.clone(),
                r.weight.to_string(),
            ];
            if t.has_district {
                rec.push(r.district.clone().unwrap_or_default());
            }
            if t.has_unit_text {
                rec.push(r.unit_text.clone().unwrap_or_default());
            }
            rec.extend(
                r.answers
                    .iter()
                    .map(|a| a.map(|v| v.to_string()).unwrap_or_default()),
            );
            rec.extend([r.source_file.clone(), r.source_line.to_string()]);
            rec.extend(r.extra.iter().map(Value::to_text));
            rec.extend([q.reason.as_str().to_string(), q.detail.clone()]);
            w.write_record(&rec)?;
        }
        Ok(())
    })
}

/// The per-cell counts as CSV bytes, sorted by unit_code then period.
pub fn by_cell_csv(
    cells: &std::collections::BTreeMap<(String, String), Counts>,
) -> Result<Vec<u8>> {
    csv_bytes(Path::new(BY_CELL), |w| {
        let mut header = vec![
            "unit_code".to_string(),
            "period".into(),
            "rows_in".into(),
            "kept".into(),
            "excluded".into(),
        ];
        header.extend(
            Reason::ALL
                .iter()
                .map(|r| format!("excluded_{}", r.as_str())),
        );
        header.extend(FLAG_COLUMNS.iter().map(|f| (*f).to_string()));
        w.write_record(&header)?;
        for ((u, p), c) in cells {
            let mut rec = vec![
                u.clone(),
                p.clone(),
                c.rows_in.to_string(),
                c.kept.to_string(),
                c.excluded.to_string(),
            ];
            rec.extend(
                Reason::ALL
                    .iter()
                    .map(|r| c.excluded_by_reason[r.as_str()].to_string()),
            );
            rec.extend(
                FLAG_COLUMNS
                    .iter()
                    .map(|f| c.flagged_by_reason[*f].to_string()),
            );
            w.write_record(&rec)?;
        }
        Ok(())
    })
}

/// The report as pretty JSON bytes (ending with a newline).
pub fn report_json(report: &CleanReport) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(report).map_err(Error::Json)?;
    v.push(b'\n');
    Ok(v)
}

/// Writes the four outputs into `out` (created if needed); the clean table
/// in the single-file layout, with its two answer-mask columns
/// ([`sipas_core::schema::mask_columns`]).
pub fn write_outcome(out: &Path, outcome: &CleanOutcome) -> Result<()> {
    write_outcome_with(out, outcome, Layout::File)
}

/// [`write_outcome`] with the clean table in `layout`.
pub fn write_outcome_with(out: &Path, outcome: &CleanOutcome, layout: Layout) -> Result<()> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let quarantine = quarantine_csv(outcome)?;
    let cells = by_cell_csv(&outcome.cells)?;
    let report = report_json(&outcome.report)?;
    let df = to_frame(&outcome.table, true)
        .and_then(|f| sipas_dataset::with_answer_masks(f, &outcome.instrument))
        .map_err(polars_err(out))?;
    let mut w = DatasetWriter::create(out, layout, df.schema()).map_err(ds_err)?;
    let rows = &outcome.table.rows;
    let mut start = 0;
    while start < rows.len() {
        let period = &rows[start].period;
        let len = rows[start..].partition_point(|r| &r.period == period);
        w.write(period, &df.slice(start as i64, len))
            .map_err(ds_err)?;
        start += len;
    }
    w.finish().map_err(ds_err)?;
    write_csv(&out.join(QUARANTINE), &quarantine)?;
    write_csv(&out.join(BY_CELL), &cells)?;
    write_atomic(&out.join(REPORT), &report)?;
    Ok(())
}
