//! One Parquet encoder for every table sipas writes.

use std::io::Write;

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;
use polars_parquet::write::{
    CompressedPage, CompressionOptions, Encoding, ParquetType, StatisticsOptions, Version,
    WriteOptions, ZstdLevel, array_to_columns, compress, get_dtype_encoding,
};
use rayon::prelude::*;

/// The rows per row group polars' `ParquetWriter::finish` aims at (and [`write_frame`]).
pub const FRAME_ROW_GROUP: usize = 512 * 512;

/// A Parquet file written one row group per batch chunk, each column encoded
/// and compressed on its own thread (polars' writer compresses the columns
/// one after another on the writing thread).
///
/// Every column is written exactly as polars' `ParquetWriter` with zstd
/// writes it (dictionary where it pays, zstd, default statistics: the same
/// bytes), except the columns `plain` selects, which are stored PLAIN and
/// uncompressed (see [`crate::stored_plain`]). The dictionary pages of a
/// `UInt8` column (the answers) are made by `dict8`, the same bytes as
/// polars' (ingest 8 % and clean 15 % faster at 10⁷ for it), and a text
/// column's dictionary by `dicttext`, the array polars' cast makes.
pub struct ParquetOut<W: Write> {
    writer: BatchedWriter<W>,
    /// Per column: its Parquet type, encodings and options.
    columns: Vec<(ParquetType, Vec<Encoding>, WriteOptions)>,
}

impl<W: Write> std::fmt::Debug for ParquetOut<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetOut")
            .field("columns", &self.columns.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> ParquetOut<W> {
    /// Starts a file of `schema` on `out`.
    ///
    /// # Errors
    /// A type Parquet cannot hold, or the error of writing the file's start.
    pub fn new(out: W, schema: &Schema, plain: impl Fn(&str) -> bool) -> PolarsResult<Self> {
        Self::start(
            out,
            schema,
            (ParquetCompression::Zstd(None), StatisticsOptions::default()),
            |field| {
                if plain(field.name.as_str()) {
                    (plain_leaves(&field.dtype), CompressionOptions::Uncompressed)
                } else {
                    (
                        get_dtype_encoding(&field.dtype),
                        CompressionOptions::Zstd(None),
                    )
                }
            },
        )
    }

    /// Starts a file of `schema` on `out` encoded as [`ParquetOut::new`] encodes it, but
    /// compressed by zstd at level 1, its fastest, instead of polars' default 3, and with every
    /// `Float64` column PLAIN: for a large table of estimates written once and read seldom (the
    /// twin of the 1.1 GB `estimates.csv`, 9.5 M rows with 10,000 units, is 0.4 % larger and
    /// written with 0.4–0.9 CPU-seconds less). polars would first sketch each float column's
    /// cardinality and fall back to PLAIN where more than 3 values in 4 differ, as they do in
    /// every row group of that table; its PLAIN pages are made directly (`plain64`, the same
    /// bytes as polars').
    ///
    /// # Errors
    /// A type Parquet cannot hold, or the error of writing the file's start.
    pub fn fast(out: W, schema: &Schema) -> PolarsResult<Self> {
        let level = ZstdLevel::try_new(1)?;
        Self::start(
            out,
            schema,
            (
                ParquetCompression::Zstd(Some(level)),
                StatisticsOptions::default(),
            ),
            |field| {
                let encodings = if field.dtype == ArrowDataType::Float64 {
                    vec![Encoding::Plain]
                } else {
                    get_dtype_encoding(&field.dtype)
                };
                (encodings, CompressionOptions::Zstd(Some(level)))
            },
        )
    }

    /// Starts a temporary file of `schema` on `out`, read back only by this
    /// process ([`crate::Spill`]): every column PLAIN (no dictionary to
    /// build, no keys to bit-pack), LZ4_RAW, no statistics.
    ///
    /// # Errors
    /// A type Parquet cannot hold, or the error of writing the file's start.
    pub fn scratch(out: W, schema: &Schema) -> PolarsResult<Self> {
        Self::start(
            out,
            schema,
            (ParquetCompression::Lz4Raw, StatisticsOptions::empty()),
            |field| (plain_leaves(&field.dtype), CompressionOptions::Lz4Raw),
        )
    }

    /// The file's writer (`codec` and `statistics` for the whole file) and,
    /// per column, the encodings and codec `column` gives its field.
    fn start(
        out: W,
        schema: &Schema,
        (codec, statistics): (ParquetCompression, StatisticsOptions),
        column: impl Fn(&ArrowField) -> (Vec<Encoding>, CompressionOptions),
    ) -> PolarsResult<Self> {
        let mut writer = ParquetWriter::new(out)
            .with_compression(codec)
            .with_statistics(statistics)
            .batched(schema)?;
        let arrow = schema.to_arrow(CompatLevel::newest());
        let columns = writer
            .parquet_schema()
            .fields()
            .iter()
            .zip(arrow.iter_values())
            .map(|(t, field)| {
                let (encodings, compression) = column(field);
                let options = WriteOptions {
                    statistics,
                    version: Version::V1,
                    compression,
                    data_page_size: None,
                };
                (t.clone(), encodings, options)
            })
            .collect();
        Ok(ParquetOut { writer, columns })
    }

    /// Writes `df` (of the file's schema) as one row group per chunk of its
    /// columns (aligned chunks: rechunk the frame or a slice of it first).
    ///
    /// # Errors
    /// The error of encoding or writing.
    pub fn write_batch(&mut self, df: &DataFrame) -> PolarsResult<()> {
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            self.write_arrays(batch.columns())?;
        }
        Ok(())
    }

    /// Writes `columns` (one array per column of the file's schema, all of one length) as
    /// the next row group; nothing when they have no rows. A text column may come as a
    /// `DictionaryArray<u32>` of `Utf8View` values in their order of first appearance (see
    /// [`crate::text_dictionary`]): its pages are those of the text it stands for, without the text
    /// being made row by row and its dictionary found again.
    ///
    /// # Errors
    /// The error of encoding or writing.
    pub fn write_arrays(&mut self, columns: &[ArrayRef]) -> PolarsResult<()> {
        let rows = columns.first().map_or(0, |a| a.len());
        if rows == 0 {
            return Ok(());
        }
        let encoded: Vec<Vec<Vec<CompressedPage>>> = columns
            .par_iter()
            .zip(&self.columns)
            .map(|(array, column)| encode_column(array, column))
            .collect::<PolarsResult<_>>()?;
        let leaves: Vec<Vec<CompressedPage>> = encoded.into_iter().flatten().collect();
        self.writer.write_row_group(rows as u64, &leaves)
    }

    /// Writes the footer; returns the file's size.
    ///
    /// # Errors
    /// The error of writing.
    pub fn finish(self) -> PolarsResult<u64> {
        self.writer.finish()
    }
}

/// The compressed pages of each Parquet leaf of one column (`array`, of the column's type or a
/// dictionary of its text) with its Parquet type, encodings and options.
fn encode_column(
    array: &ArrayRef,
    (t, encodings, options): &(ParquetType, Vec<Encoding>, WriteOptions),
) -> PolarsResult<Vec<Vec<CompressedPage>>> {
    // Pages written directly: a small-integer column's dictionary pages, or a float column
    // stored PLAIN ([`ParquetOut::fast`]).
    let direct = match (t, encodings.as_slice()) {
        (ParquetType::PrimitiveType(pt), [Encoding::RleDictionary]) => {
            crate::dict8::pages(array.as_ref(), pt, options)
        }
        (ParquetType::PrimitiveType(pt), [Encoding::Plain]) => {
            crate::plain64::pages(array.as_ref(), pt, options)
        }
        _ => None,
    };
    if let Some(pages) = direct {
        let pages = pages
            .into_iter()
            .map(|page| compress(page, Vec::new(), options.compression).map_err(PolarsError::from))
            .collect::<PolarsResult<Vec<_>>>()?;
        return Ok(vec![pages]);
    }
    // A text column's dictionary: made directly where it pays, or given.
    let columns = match encodings.as_slice() {
        [Encoding::RleDictionary] => crate::dicttext::encode(array.as_ref(), t, options),
        _ => None,
    };
    let columns = match columns {
        Some(columns) => columns?,
        None => match crate::dicttext::given_text(array.as_ref()) {
            // A text column given as a dictionary but stored otherwise: its text.
            Some(text) => array_to_columns(&text, t.clone(), *options, encodings)?,
            None => array_to_columns(array, t.clone(), *options, encodings)?,
        },
    };
    columns
        .into_iter()
        .map(|pages| {
            pages
                .map(|page| {
                    compress(page?, Vec::new(), options.compression).map_err(PolarsError::from)
                })
                .collect::<PolarsResult<Vec<_>>>()
        })
        .collect()
}

/// PLAIN for every Parquet leaf of a column of type `dtype` (one for a
/// flat column, one per leaf of a nested one).
fn plain_leaves(dtype: &ArrowDataType) -> Vec<Encoding> {
    vec![Encoding::Plain; get_dtype_encoding(dtype).len()]
}

/// The row groups [`write_frame`] writes a frame of `height` rows held in one chunk as: the
/// rows cut as polars cuts them (`chunk_df_for_writing`), so that a table written a row group
/// at a time ([`ParquetOut::write_arrays`]) is the same file as the whole frame, never made.
/// Below [`FRAME_ROW_GROUP`] rows, one group; else `height / FRAME_ROW_GROUP` groups of
/// `height / groups` rows, the last with the remainder.
pub fn frame_row_groups(height: usize) -> Vec<std::ops::Range<usize>> {
    // One group (none for no rows) below two row groups' worth.
    let groups = (height / FRAME_ROW_GROUP).max(usize::from(height > 0));
    let size = height.checked_div(groups).unwrap_or(0);
    (0..groups)
        .map(|g| {
            g * size..if g + 1 == groups {
                height
            } else {
                (g + 1) * size
            }
        })
        .collect()
}

/// Writes the whole frame `df` to `out` as polars' `ParquetWriter::finish`
/// does (zstd; the frame's chunks cut or joined into row groups around
/// [`FRAME_ROW_GROUP`] rows, as polars cuts them; the same bytes), its
/// columns encoded in parallel ([`ParquetOut`]).
///
/// # Errors
/// The error of encoding or writing.
pub fn write_frame<W: Write>(out: W, df: &mut DataFrame) -> PolarsResult<u64> {
    let chunked = polars::frame::chunk_df_for_writing(df, FRAME_ROW_GROUP)?;
    let mut w = ParquetOut::new(out, chunked.schema(), |_| false)?;
    w.write_batch(&chunked)?;
    w.finish()
}
