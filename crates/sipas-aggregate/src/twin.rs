//! Parquet twins of the result tables: the same rows as the CSV, with typed columns.
//!
//! A CSV has no types, so a reader guesses them: pandas and Excel read the unit code `05569` as
//! the number 5569, and a column holding unit codes and district names becomes a mix. Every result
//! table that `aggregate` writes as `X.csv` is also written as `X.parquet` from the same text:
//! codes and names as `Utf8`, counts as `Int64`, estimates as `Float64`, flags as `Boolean`, an
//! empty CSV field as null. The column's type is the one the results contract declares
//! ([`sipas_core::results::Table::kind_of`]), so it is the same in every run; a value that does
//! not fit the type (never written by sipas) makes the column `Utf8` rather than lose it.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use sipas_core::results::Table;

use crate::{Error, Result};

pub use sipas_core::results::Kind;

/// The CSV text `csv` of `table` (header first, as sipas writes it, before the cells are made
/// inert for spreadsheets) as a typed frame (see [`Table::kind_of`]).
///
/// # Errors
/// A CSV that cannot be parsed, or a frame polars refuses.
pub fn frame_of_csv(csv: &[u8], table: &Table, origin: &str) -> Result<DataFrame> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv);
    let polars_err = |e: String| Error::Polars {
        origin: origin.to_string(),
        source: PolarsError::ComputeError(e.into()),
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| polars_err(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    // Each column's fields end to end in one buffer (a table of millions of
    // fields is not a `String` each).
    let mut cols: Vec<ColumnText> = vec![ColumnText::default(); header.len()];
    let mut rec = ::csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .map_err(|e| polars_err(e.to_string()))?
    {
        for (i, c) in cols.iter_mut().enumerate() {
            c.push(rec.get(i).unwrap_or(""));
        }
    }
    let height = cols.first().map_or(0, |c| c.ends.len());
    let columns: Vec<Column> = header
        .par_iter()
        .zip(&cols)
        .map(|(name, values)| typed(name, table.kind_of(name), values))
        .collect();
    DataFrame::new(height, columns).map_err(|source| Error::Polars {
        origin: origin.to_string(),
        source,
    })
}

/// The schema of the twin of `table` written from rows rather than from its text
/// ([`TwinWriter`]): each fixed column typed as [`frame_of_csv`] types it when every value fits
/// the kind the results contract declares (`Text` → `String`, `Int` → `Int64`, `Float` →
/// `Float64`, `Bool` → `Boolean`). For a table without group columns.
pub fn schema_of(table: &Table) -> Schema {
    debug_assert!(
        table.group_columns.is_none(),
        "{} has group columns",
        table.file
    );
    table
        .columns
        .iter()
        .map(|c| {
            let dtype = match c.kind {
                Kind::Text => DataType::String,
                Kind::Int => DataType::Int64,
                Kind::Float => DataType::Float64,
                Kind::Bool => DataType::Boolean,
            };
            Field::new(c.name.into(), dtype)
        })
        .collect()
}

/// The text of each period of a table, made once: the period column of a twin written from
/// rows borrows it (a table of millions of rows has a dozen periods).
#[derive(Debug)]
pub struct PeriodTexts(Vec<(sipas_core::Period, String)>);

impl PeriodTexts {
    /// The distinct periods among `periods`, each with its text.
    pub fn of(periods: impl IntoIterator<Item = sipas_core::Period>) -> Self {
        let mut periods: Vec<sipas_core::Period> = periods.into_iter().collect();
        periods.sort_unstable();
        periods.dedup();
        PeriodTexts(periods.into_iter().map(|p| (p, p.to_string())).collect())
    }

    /// The text of `period`, one of the periods this was made of.
    pub fn text(&self, period: sipas_core::Period) -> &str {
        let k = self
            .0
            .binary_search_by_key(&period, |p| p.0)
            .expect("every period is listed");
        &self.0[k].1
    }
}

/// The fields of one CSV column, end to end.
#[derive(Debug, Clone, Default)]
struct ColumnText {
    text: String,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
}

impl ColumnText {
    fn push(&mut self, field: &str) {
        self.text.push_str(field);
        self.ends.push(self.text.len());
    }

    fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.text[a..b])
    }
}

fn typed(name: &str, kind: Kind, values: &ColumnText) -> Column {
    /// Every value parsed (empty: null), or `None` when one does not parse.
    fn parsed<T: std::str::FromStr>(values: &ColumnText) -> Option<Vec<Option<T>>> {
        values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    Some(None)
                } else {
                    v.parse::<T>().ok().map(Some)
                }
            })
            .collect()
    }
    let ints = || parsed::<i64>(values).map(|v| Column::new(name.into(), v));
    let bools = || parsed::<bool>(values).map(|v| Column::new(name.into(), v));
    let floats = || parsed::<f64>(values).map(|v| Column::new(name.into(), v));
    let typed = match kind {
        Kind::Int => ints().or_else(floats),
        Kind::Bool => bools(),
        Kind::Float => floats(),
        Kind::Text => None,
    };
    // Text, or a value that does not fit the column's type.
    typed.unwrap_or_else(|| {
        Column::new(
            name.into(),
            values
                .iter()
                .map(|v| (!v.is_empty()).then_some(v))
                .collect::<Vec<Option<&str>>>(),
        )
    })
}

/// Writes `df` as the Parquet file `target`, atomically (polars' bytes,
/// columns encoded in parallel: [`sipas_dataset::write_frame`]).
///
/// # Errors
/// The polars or I/O error of writing.
pub fn write_parquet_file(target: &Path, df: &mut DataFrame) -> Result<()> {
    let mut buf = Vec::new();
    sipas_dataset::write_frame(&mut buf, df).map_err(|source| Error::Polars {
        origin: target.display().to_string(),
        source,
    })?;
    sipas_core::atomic::write_bytes(target, &buf).map_err(|source| Error::Io {
        path: target.to_path_buf(),
        source,
    })
}

/// Rows per row group of a twin written in batches ([`TwinWriter`]):
/// the size polars aims at when it cuts a whole frame ([`sipas_dataset::FRAME_ROW_GROUP`]).
pub const ROW_GROUP: usize = sipas_dataset::FRAME_ROW_GROUP;

/// A Parquet file written one row group at a time ([`TwinWriter::push_arrays`]), atomically: a
/// large table is encoded a group at a time into the file's temporary copy instead of being
/// held whole, as a frame or as the file's bytes. It is compressed by zstd at level 1
/// ([`sipas_dataset::ParquetOut::fast`]): the large table it writes is written once and
/// read seldom.
pub struct TwinWriter {
    target: std::path::PathBuf,
    sink: Sink,
    out: sipas_dataset::ParquetOut<Sink>,
}

impl std::fmt::Debug for TwinWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinWriter")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The encoder's output: the file, written past the page cache ([`sipas_core::direct`]).
/// Shared with the [`TwinWriter`], which commits it once the encoder (that owns its output)
/// has written the footer, so that an error of the last write is reported, not lost in a drop.
#[derive(Clone)]
struct Sink(std::sync::Arc<std::sync::Mutex<sipas_core::atomic::DirectFile>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.lock().write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.lock().flush()
    }
}

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, sipas_core::atomic::DirectFile> {
        // A panic while writing poisons the lock; the bytes are then unusable anyway, and the
        // temporary file is removed.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TwinWriter {
    /// Starts the file `target` of `schema`.
    ///
    /// # Errors
    /// The I/O error of creating its temporary file, or a type Parquet cannot hold.
    pub fn new(target: &Path, schema: &Schema) -> Result<Self> {
        Self::start(target, schema, sipas_dataset::ParquetOut::fast)
    }

    /// Starts the file `target` of `schema`, encoded as a whole frame's file
    /// ([`sipas_dataset::write_frame`], polars' defaults): pushed in the row groups of
    /// [`sipas_dataset::frame_row_groups`], it is the file of the frame of its rows, without the
    /// frame being made.
    ///
    /// # Errors
    /// As [`TwinWriter::new`].
    pub fn like_frame(target: &Path, schema: &Schema) -> Result<Self> {
        Self::start(target, schema, |out, schema| {
            sipas_dataset::ParquetOut::new(out, schema, |_| false)
        })
    }

    fn start(
        target: &Path,
        schema: &Schema,
        encoder: impl FnOnce(
            Sink,
            &Schema,
        ) -> polars::prelude::PolarsResult<sipas_dataset::ParquetOut<Sink>>,
    ) -> Result<Self> {
        let io = |source| Error::Io {
            path: target.to_path_buf(),
            source,
        };
        let file = sipas_core::atomic::DirectFile::create(target).map_err(io)?;
        let sink = Sink(std::sync::Arc::new(std::sync::Mutex::new(file)));
        let out = encoder(sink.clone(), schema).map_err(|source| Error::Polars {
            origin: target.display().to_string(),
            source,
        })?;
        Ok(TwinWriter {
            target: target.to_path_buf(),
            sink,
            out,
        })
    }

    /// Writes `columns` (one array per column of the schema, of one length: [`ROW_GROUP`]
    /// rows or fewer, or the groups of [`sipas_dataset::frame_row_groups`]; a text column may
    /// be a [`TextColumn`]'s dictionary) as the next row group.
    ///
    /// # Errors
    /// The polars error of encoding or writing.
    pub fn push_arrays(&mut self, columns: &[ArrayRef]) -> Result<()> {
        self.out
            .write_arrays(columns)
            .map_err(|source| Error::Polars {
                origin: self.target.display().to_string(),
                source,
            })
    }

    /// Writes the footer and renames the file into place.
    ///
    /// # Errors
    /// The polars or I/O error of writing.
    pub fn finish(self) -> Result<()> {
        let TwinWriter { target, sink, out } = self;
        out.finish().map_err(|source| Error::Polars {
            origin: target.display().to_string(),
            source,
        })?;
        let io = |source| Error::Io {
            path: target.clone(),
            source,
        };
        // The encoder, finished, has dropped its handle on the sink.
        std::sync::Arc::try_unwrap(sink.0)
            .map_err(|_| io(std::io::Error::other("the Parquet encoder kept its output")))?
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .commit()
            .map_err(io)
    }
}

/// A text column made row by row as its dictionary: the distinct texts in their order of
/// first appearance and a key per row (see [`sipas_dataset::text_dictionary`]), so that no text
/// is copied per row and the dictionary is not searched for again when the twin is written.
///
/// Rows usually repeat a text held once (an `Arc<str>` shared by many rows, a `&'static str`):
/// its key is found by the text's address, and the text itself is hashed only for an address
/// not seen before.
#[derive(Debug, Default)]
pub struct TextColumn<'a> {
    values: Vec<&'a str>,
    keys: Vec<u32>,
    by_text: PlHashMap<&'a str, u32>,
    by_address: PlHashMap<(usize, usize), u32>,
    last: Option<((usize, usize), u32)>,
    /// Which rows are set, once a row is null ([`TextColumn::push_or_null`]).
    set: Option<polars_arrow::bitmap::MutableBitmap>,
}

impl<'a> TextColumn<'a> {
    /// An empty column with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        TextColumn {
            keys: Vec::with_capacity(rows),
            ..TextColumn::default()
        }
    }

    /// Appends a row holding `text`.
    pub fn push(&mut self, text: &'a str) {
        let address = (text.as_ptr() as usize, text.len());
        let key = match self.last {
            Some((a, key)) if a == address => key,
            _ => {
                let key = if let Some(&key) = self.by_address.get(&address) {
                    key
                } else {
                    let next = u32::try_from(self.values.len()).expect("fewer than 2³² texts");
                    let key = *self.by_text.entry(text).or_insert(next);
                    if key == next {
                        self.values.push(text);
                    }
                    self.by_address.insert(address, key);
                    key
                };
                self.last = Some((address, key));
                key
            }
        };
        self.keys.push(key);
        if let Some(set) = &mut self.set {
            set.push(true);
        }
    }

    /// Appends a row holding `text`, or a null where `text` is empty (as a reader takes an
    /// empty field of a CSV).
    pub fn push_or_null(&mut self, text: &'a str) {
        if !text.is_empty() {
            self.push(text);
            return;
        }
        let set = self.set.get_or_insert_with(|| {
            let mut set = polars_arrow::bitmap::MutableBitmap::with_capacity(self.keys.capacity());
            set.extend_constant(self.keys.len(), true);
            set
        });
        set.push(false);
        // A null row's key is never read, but must be a key: 0 (a column of nulls only is
        // given one empty text, [`TextColumn::finish`]).
        self.keys.push(0);
    }

    /// The column's array: a dictionary of its texts.
    pub fn finish(mut self) -> ArrayRef {
        if self.values.is_empty() && !self.keys.is_empty() {
            self.values.push("");
        }
        Box::new(sipas_dataset::text_dictionary(
            self.keys,
            self.set.map(Into::into),
            &self.values,
        ))
    }
}

/// A `Float64` column made row by row: the values and which of them are set, made into the array
/// polars makes of a column of options (a validity only where a value is null), so that a twin
/// written from rows is the file of the frame of those rows.
#[derive(Debug)]
pub struct FloatColumn {
    values: Vec<f64>,
    set: polars_arrow::bitmap::MutableBitmap,
}

impl FloatColumn {
    /// An empty column with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        FloatColumn {
            values: Vec::with_capacity(rows),
            set: polars_arrow::bitmap::MutableBitmap::with_capacity(rows),
        }
    }

    /// Appends a row holding `v` (`None`: null).
    pub fn push(&mut self, v: Option<f64>) {
        self.values.push(v.unwrap_or(0.0));
        self.set.push(v.is_some());
    }

    /// The column's array.
    pub fn finish(self) -> ArrayRef {
        let set: polars_arrow::bitmap::Bitmap = self.set.into();
        let validity = (set.unset_bits() > 0).then_some(set);
        Box::new(polars_arrow::array::PrimitiveArray::<f64>::new(
            polars_arrow::datatypes::ArrowDataType::Float64,
            self.values.into(),
            validity,
        ))
    }
}

/// Writes the result table `table` (`X.csv`) into `dir` twice: the CSV through
/// [`sipas_core::csv_out::write`] (cells made inert for spreadsheets, the Excel BOM when asked)
/// and its typed twin `X.parquet` (see [`frame_of_csv`]).
///
/// # Errors
/// The error of parsing the text or writing either file; a header that is not the contract's
/// (the fixed columns of `table`, in order, then its group columns when it has them).
pub fn write_csv_and_twin(dir: &Path, table: &Table, csv: &[u8]) -> Result<()> {
    let target = dir.join(table.file);
    let origin = target.display().to_string();
    check_header(csv, table, &origin)?;
    let mut df = frame_of_csv(csv, table, &origin)?;
    sipas_core::csv_out::write(&target, csv).map_err(|source| Error::Io {
        path: target.clone(),
        source,
    })?;
    write_parquet_file(&dir.join(table.parquet()), &mut df)
}

/// Whether the first line of `csv` starts with the fixed columns of `table` (and holds nothing
/// more unless the table has group columns).
fn check_header(csv: &[u8], table: &Table, origin: &str) -> Result<()> {
    let line = csv.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let names: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
    let fixed: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let ok = names.len() >= fixed.len()
        && names[..fixed.len()] == fixed[..]
        && (table.group_columns.is_some() || names.len() == fixed.len());
    if ok {
        Ok(())
    } else {
        Err(Error::Data {
            origin: origin.to_string(),
            message: format!(
                "header `{line}` is not the results contract's `{}`",
                table.header::<&str>(&[]).trim_end()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipas_core::results;

    #[test]
    fn columns_are_typed_by_name_and_codes_keep_their_zeros() {
        // `access` is a group column (a float) holding a value that is not a number: text.
        let csv = "unit_code,district,n,pilot,sipas,access\n05569,05569,12,true,81.250000,x\n,Định Hóa,,false,,-1.5\n";
        let df = frame_of_csv(csv.as_bytes(), &results::UNIT_PERIOD, "t").unwrap();
        let types: Vec<DataType> = df.dtypes();
        assert_eq!(
            types,
            [
                DataType::String,
                DataType::String,
                DataType::Int64,
                DataType::Boolean,
                DataType::Float64,
                DataType::String,
            ]
        );
        assert_eq!(
            df.column("unit_code").unwrap().str().unwrap().get(0),
            Some("05569")
        );
        assert_eq!(df.column("unit_code").unwrap().str().unwrap().get(1), None);
        assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(12));
        assert_eq!(
            df.column("sipas").unwrap().f64().unwrap().get(0),
            Some(81.25)
        );
        assert_eq!(df.column("sipas").unwrap().f64().unwrap().get(1), None);
    }

    /// Keys in order of first appearance; an equal text in another string gets the same key.
    #[test]
    fn a_text_column_keys_each_text_once() {
        let shared: std::sync::Arc<str> = "Đại Từ".into();
        let other = String::from("Đại Từ");
        let rows = [
            &*shared,
            "Võ Nhai",
            &*shared,
            other.as_str(),
            "Võ Nhai",
            "Phú Lương",
        ];
        let mut column = TextColumn::with_capacity(rows.len());
        for t in rows {
            column.push(t);
        }
        let array = column.finish();
        let dict = array
            .as_any()
            .downcast_ref::<polars_arrow::array::DictionaryArray<u32>>()
            .unwrap();
        assert_eq!(dict.keys().values().as_slice(), [0, 1, 0, 0, 1, 2]);
        let values = dict
            .values()
            .as_any()
            .downcast_ref::<polars_arrow::array::Utf8ViewArray>()
            .unwrap();
        let values: Vec<&str> = values.values_iter().collect();
        assert_eq!(values, ["Đại Từ", "Võ Nhai", "Phú Lương"]);
    }

    const TWO: Table = Table {
        file: "t.csv",
        stage: results::Stage::Design,
        doc: "a test table",
        columns: &[
            results::Column {
                name: "domain",
                kind: Kind::Text,
                doc: "a label",
            },
            results::Column {
                name: "value",
                kind: Kind::Float,
                doc: "a number",
            },
        ],
        group_columns: None,
    };

    #[test]
    fn a_header_that_is_not_the_contracts_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_csv_and_twin(dir.path(), &TWO, b"value,domain\n1,a\n").unwrap_err();
        assert!(err.to_string().contains("t.csv"), "{err}");
        assert!(!dir.path().join("t.csv").exists());
        // Group columns only where the contract has them.
        assert!(write_csv_and_twin(dir.path(), &TWO, b"domain,value,x\na,1,2\n").is_err());
    }

    #[test]
    fn a_twin_holds_the_original_text_and_the_csv_the_inert_one() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "domain,value\n=HYPERLINK(\"x\"),-2.000000\n";
        write_csv_and_twin(dir.path(), &TWO, csv.as_bytes()).unwrap();
        let written = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert_eq!(written, "domain,value\n'=HYPERLINK(\"x\"),-2.000000\n");
        let f = std::fs::File::open(dir.path().join("t.parquet")).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        assert_eq!(
            df.column("domain").unwrap().str().unwrap().get(0),
            Some("=HYPERLINK(\"x\")")
        );
        assert_eq!(
            df.column("value").unwrap().f64().unwrap().get(0),
            Some(-2.0)
        );
    }
}
