//! Reading `responses.parquet` into a [`ResponseTable`] and writing the
//! clean outputs (atomically: a temp file in the same folder, then rename).

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sipas_core::{Instrument, UnitRegistry, bundled, schema};

use crate::clean::{CleanOptions, CleanOutcome, CleanReport, Counts, Reason, clean};
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

fn pe(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
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

/// Reads a canonical `responses.parquet`. The canonical columns, the
/// optional `district`, `unit_text` and `duration_s` columns and the flag
/// columns are read into their fields; every other column (`village`,
/// `started_at`…) is an extra column ([`ResponseTable::extra`]) carried
/// through unchanged, with its type (types other than String, Boolean,
/// Int32/64, UInt8/32/64 and Float32/64 are read as text). Without
/// `duration_s`, the duration is `ended_at − started_at` when both exist.
/// With `instrument` `None`, the instrument is detected from the column
/// names.
pub fn read_responses(
    path: &Path,
    instrument: Option<&Instrument>,
) -> Result<(ResponseTable, Instrument)> {
    let f = File::open(path).map_err(io_err(path))?;
    let df = ParquetReader::new(f).finish().map_err(pe(path))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(ToString::to_string)
        .collect();
    let instrument = match instrument {
        Some(i) => i.clone(),
        None => bundled::detect_instrument(&names).ok_or_else(|| Error::UnknownInstrument {
            path: path.to_path_buf(),
        })?,
    };
    let has = |c: &str| names.iter().any(|n| n == c);
    let strings = |c: &str, required: bool| -> Result<Option<Vec<Option<String>>>> {
        if !has(c) {
            return if required {
                Err(Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: c.into(),
                })
            } else {
                Ok(None)
            };
        }
        let col = df
            .column(c)
            .and_then(|x| x.cast(&DataType::String))
            .map_err(pe(path))?;
        let ca = col.str().map_err(pe(path))?;
        Ok(Some(ca.iter().map(|v| v.map(str::to_string)).collect()))
    };
    let floats = |c: &str| -> Result<Option<Vec<Option<f64>>>> {
        if !has(c) {
            return Ok(None);
        }
        let col = df
            .column(c)
            .and_then(|x| x.cast(&DataType::Float64))
            .map_err(pe(path))?;
        Ok(Some(col.f64().map_err(pe(path))?.iter().collect()))
    };
    let required = |c: &str| -> Result<Vec<String>> {
        let v = strings(c, true)?.expect("required columns are present");
        v.into_iter()
            .enumerate()
            .map(|(i, x)| {
                x.ok_or_else(|| Error::NullValue {
                    path: path.to_path_buf(),
                    row: i + 1,
                    column: c.into(),
                })
            })
            .collect()
    };
    let ids = required(schema::RESPONSE_ID)?;
    let units = required(schema::UNIT_CODE)?;
    let periods = required(schema::PERIOD)?;
    let submitted = strings(schema::SUBMITTED_AT, false)?;
    let channels = strings(schema::CHANNEL, false)?;
    let weights = floats(schema::WEIGHT)?;
    let files = strings(schema::SOURCE_FILE, false)?;
    let lines = floats(schema::SOURCE_LINE)?;
    let mut answers: Vec<Vec<Option<i64>>> = Vec::new();
    for item in instrument.item_ids() {
        if !has(item) {
            return Err(Error::MissingColumn {
                path: path.to_path_buf(),
                column: item.into(),
            });
        }
        let col = df
            .column(item)
            .and_then(|x| x.cast(&DataType::Int64))
            .map_err(pe(path))?;
        answers.push(col.i64().map_err(pe(path))?.iter().collect());
    }
    let duration = match floats(DURATION_S)? {
        Some(d) => Some(d),
        None => match (strings(STARTED_AT, false)?, strings(ENDED_AT, false)?) {
            (Some(s), Some(e)) => Some(
                s.iter()
                    .zip(&e)
                    .map(|(s, e)| {
                        let s = parse_iso8601(s.as_deref()?)?;
                        let e = parse_iso8601(e.as_deref()?)?;
                        Some(e - s)
                    })
                    .collect(),
            ),
            _ => None,
        },
    };
    let districts = strings(DISTRICT, false)?;
    let unit_texts = strings(UNIT_TEXT, false)?;
    let (extra_cols, extra_values) = read_extra(&df, &instrument, path)?;
    let mut flag_cols: Vec<Option<Vec<Option<bool>>>> = Vec::new();
    for f in FLAG_COLUMNS {
        flag_cols.push(if has(f) {
            let col = df
                .column(f)
                .and_then(|x| x.cast(&DataType::Boolean))
                .map_err(pe(path))?;
            Some(col.bool().map_err(pe(path))?.iter().collect())
        } else {
            None
        });
    }
    let file_name = path.display().to_string();
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let answers_i = answers
            .iter()
            .map(|col| col[i].map(|v| u8::try_from(v).unwrap_or(u8::MAX)))
            .collect();
        let flags = Flags::from_array(std::array::from_fn(|k| {
            flag_cols[k].as_ref().is_some_and(|c| c[i] == Some(true))
        }));
        rows.push(Response {
            response_id: ids[i].clone(),
            unit_code: units[i].clone(),
            period: periods[i].clone(),
            submitted_at: submitted.as_ref().and_then(|c| c[i].clone()),
            channel: channels
                .as_ref()
                .and_then(|c| c[i].clone())
                .unwrap_or_else(|| schema::DEFAULT_CHANNEL.to_string()),
            weight: weights.as_ref().and_then(|c| c[i]).unwrap_or(1.0),
            answers: answers_i,
            source_file: files
                .as_ref()
                .and_then(|c| c[i].clone())
                .unwrap_or_else(|| file_name.clone()),
            source_line: lines
                .as_ref()
                .and_then(|c| c[i])
                .map_or(i as u64 + 2, |v| v as u64),
            duration_s: duration.as_ref().and_then(|c| c[i]),
            flags,
            district: districts.as_ref().and_then(|c| c[i].clone()),
            unit_text: unit_texts.as_ref().and_then(|c| c[i].clone()),
            extra: extra_values.iter().map(|c| c[i].clone()).collect(),
        });
    }
    let table = ResponseTable {
        items: instrument
            .item_ids()
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
        has_duration: duration.is_some(),
        has_district: districts.is_some(),
        has_unit_text: unit_texts.is_some(),
        extra: extra_cols,
        rows,
    };
    Ok((table, instrument))
}

/// Whether clean reads `name` into a field of [`Response`].
fn is_known(name: &str, instrument: &Instrument) -> bool {
    schema::LEADING.contains(&name)
        || schema::PROVENANCE.contains(&name)
        || [DISTRICT, UNIT_TEXT, DURATION_S].contains(&name)
        || FLAG_COLUMNS.contains(&name)
        || instrument.item_ids().contains(&name)
}

/// The columns clean does not know, in frame order, with their values.
fn read_extra(
    df: &DataFrame,
    instrument: &Instrument,
    path: &Path,
) -> Result<(Vec<ExtraColumn>, Vec<Vec<Value>>)> {
    let mut cols = Vec::new();
    let mut values = Vec::new();
    for col in df.columns() {
        let name = col.name().as_str();
        if is_known(name, instrument) {
            continue;
        }
        let dtype = match col.dtype() {
            DataType::Boolean => ExtraType::Boolean,
            DataType::Int32 => ExtraType::Int32,
            DataType::Int64 => ExtraType::Int64,
            DataType::UInt8 => ExtraType::UInt8,
            DataType::UInt32 => ExtraType::UInt32,
            DataType::UInt64 => ExtraType::UInt64,
            DataType::Float32 => ExtraType::Float32,
            DataType::Float64 => ExtraType::Float64,
            _ => ExtraType::String,
        };
        let v: Vec<Value> = match dtype {
            ExtraType::Boolean => col
                .bool()
                .map_err(pe(path))?
                .iter()
                .map(|v| v.map_or(Value::Null, Value::Bool))
                .collect(),
            ExtraType::Int32 | ExtraType::Int64 => {
                let c = col.cast(&DataType::Int64).map_err(pe(path))?;
                c.i64()
                    .map_err(pe(path))?
                    .iter()
                    .map(|v| v.map_or(Value::Null, Value::Int))
                    .collect()
            }
            ExtraType::UInt8 | ExtraType::UInt32 | ExtraType::UInt64 => {
                let c = col.cast(&DataType::UInt64).map_err(pe(path))?;
                c.u64()
                    .map_err(pe(path))?
                    .iter()
                    .map(|v| v.map_or(Value::Null, Value::UInt))
                    .collect()
            }
            ExtraType::Float32 | ExtraType::Float64 => {
                let c = col.cast(&DataType::Float64).map_err(pe(path))?;
                c.f64()
                    .map_err(pe(path))?
                    .iter()
                    .map(|v| v.map_or(Value::Null, Value::Float))
                    .collect()
            }
            ExtraType::String => {
                let c = col.cast(&DataType::String).map_err(pe(path))?;
                c.str()
                    .map_err(pe(path))?
                    .iter()
                    .map(|v| v.map_or(Value::Null, |s| Value::Str(s.to_string())))
                    .collect()
            }
        };
        cols.push(ExtraColumn {
            name: name.to_string(),
            dtype,
        });
        values.push(v);
    }
    Ok((cols, values))
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

/// Writes `bytes` to `path` atomically (temp file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    sipas_core::atomic::write_bytes(path, bytes).map_err(io_err(path))
}

/// Writes a response table as parquet (atomically).
pub fn write_responses(path: &Path, table: &ResponseTable, with_flags: bool) -> Result<()> {
    let mut df = to_frame(table, with_flags).map_err(pe(path))?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(&mut df)
        .map_err(pe(path))?;
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
    let t = &outcome.table;
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
        w.write_record(&header)?;
        for q in &outcome.quarantine {
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

/// Writes the four outputs into `out` (created if needed).
pub fn write_outcome(out: &Path, outcome: &CleanOutcome) -> Result<()> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let quarantine = quarantine_csv(outcome)?;
    let cells = by_cell_csv(&outcome.cells)?;
    let report = report_json(&outcome.report)?;
    write_responses(&out.join(RESPONSES), &outcome.table, true)?;
    write_atomic(&out.join(QUARANTINE), &quarantine)?;
    write_atomic(&out.join(BY_CELL), &cells)?;
    write_atomic(&out.join(REPORT), &report)?;
    Ok(())
}

/// `sipas clean --data DIR --out CLEAN`: reads `DIR/responses.parquet`,
/// cleans it and writes `CLEAN/{responses.parquet, quarantine.csv,
/// clean-report.json, clean-by-cell.csv}`.
pub fn run(
    data: &Path,
    out: &Path,
    instrument: Option<&Instrument>,
    registry: &UnitRegistry,
    opts: &CleanOptions,
) -> Result<CleanReport> {
    let input: PathBuf = data.join(RESPONSES);
    let (table, instrument) = read_responses(&input, instrument)?;
    let outcome = clean(&table, &instrument, registry, opts)?;
    write_outcome(out, &outcome)?;
    Ok(outcome.report)
}
