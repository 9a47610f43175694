//! PLAIN pages of a `Float64` column, written directly.
//!
//! polars' writer makes a PLAIN float page in three passes over its values: the statistics
//! through a scalar fold over an iterator of the valid values (`min_max`, about 6 ns a value
//! with nulls), the values copied run by run, and the definition levels. The twin of
//! `estimates.csv` has seven float columns of 9.5 M rows with 10,000 units; [`pages`] makes
//! the same pages (the same page cuts, levels, values, headers and statistics: the same bytes,
//! which the tests check against polars' writer) a 64-row word of the validity at a time.

use polars_arrow::array::{Array, PrimitiveArray};
use polars_arrow::bitmap::Bitmap;
use polars_parquet::parquet::page::Page;
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::statistics::PrimitiveStatistics;
use polars_parquet::write::{Encoding, Version, WriteOptions, write_def_levels};

/// The PLAIN pages polars writes for `array` (a flat `Float64` column) with `options` (format
/// version 1), or `None` for another array, a version 2 file or a column holding a NaN (whose
/// statistics polars' fold propagates: the caller leaves those to polars).
pub(crate) fn pages(
    array: &dyn Array,
    type_: &PrimitiveType,
    options: &WriteOptions,
) -> Option<Vec<Page>> {
    let array = array.as_any().downcast_ref::<PrimitiveArray<f64>>()?;
    if array.is_empty() || options.version != Version::V1 {
        return None;
    }
    let values = array.values().as_slice();
    let validity = array.validity();
    let optional = type_.field_info.repetition == Repetition::Optional;
    if !optional && array.null_count() > 0 {
        // polars refuses it, with its own error.
        return None;
    }
    let cuts = crate::dict8::page_cuts(array.len(), 8, validity, options);
    let mut pages = Vec::new();
    for (offset, len, page_validity) in cuts {
        let nulls = page_validity.as_ref().map_or(0, Bitmap::unset_bits);
        let page_values = &values[offset..offset + len];
        let mut buffer = Vec::with_capacity(8 * (len - nulls) + len / 8 + 16);
        write_def_levels(
            &mut buffer,
            optional,
            page_validity.as_ref(),
            len,
            Version::V1,
        )
        .ok()?;
        let (min, max) = match &page_validity {
            None => push_all(&mut buffer, page_values),
            Some(v) => push_valid(&mut buffer, page_values, v),
        }?;
        let s = &options.statistics;
        let statistics = options.has_statistics().then(|| {
            PrimitiveStatistics::<f64> {
                primitive_type: type_.clone(),
                null_count: s.null_count.then_some(nulls as i64),
                distinct_count: None,
                // polars' `norm_min` and `norm_max`: a zero is −0.0 as a minimum, +0.0 as a
                // maximum (the Parquet specification).
                min_value: min
                    .filter(|_| s.min_value)
                    .map(|m| if m == 0.0 { -0.0 } else { m }),
                max_value: max
                    .filter(|_| s.max_value)
                    .map(|m| if m == 0.0 { 0.0 } else { m }),
            }
            .serialize()
        });
        pages.push(crate::dict8::data_page(
            buffer,
            len,
            Encoding::Plain,
            statistics,
            type_,
        ));
    }
    Some(pages)
}

/// Running minimum and maximum of the values pushed (`None` before the first); `None` once a
/// NaN is met.
type Bounds = Option<(Option<f64>, Option<f64>)>;

/// Appends every value of `values` (little-endian) to `out`; their minimum and maximum.
fn push_all(out: &mut Vec<u8>, values: &[f64]) -> Bounds {
    let (mut lo, mut hi, mut nan) = (f64::INFINITY, f64::NEG_INFINITY, false);
    for &x in values {
        out.extend_from_slice(&x.to_le_bytes());
        lo = lo.min(x);
        hi = hi.max(x);
        nan |= x.is_nan();
    }
    bounds(values.is_empty(), nan, lo, hi)
}

/// Appends the values of `values` set in `validity` (little-endian) to `out`, a 64-row word
/// at a time (a word without nulls copied whole); their minimum and maximum.
fn push_valid(out: &mut Vec<u8>, values: &[f64], validity: &Bitmap) -> Bounds {
    let (mut lo, mut hi, mut nan, mut any) = (f64::INFINITY, f64::NEG_INFINITY, false, false);
    let mut take = |x: f64| {
        out.extend_from_slice(&x.to_le_bytes());
        lo = lo.min(x);
        hi = hi.max(x);
        nan |= x.is_nan();
        any = true;
    };
    for (block, word) in values.chunks(64).zip(crate::dict8::words(validity)) {
        if word == u64::MAX {
            for &x in block {
                take(x);
            }
        } else {
            crate::dict8::for_each_bit(word, |k| take(block[k]));
        }
    }
    bounds(!any, nan, lo, hi)
}

fn bounds(empty: bool, nan: bool, lo: f64, hi: f64) -> Bounds {
    match (empty, nan) {
        (_, true) => None,
        (true, false) => Some((None, None)),
        (false, false) => Some((Some(lo), Some(hi))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pages of [`pages`] and of polars' `array_to_columns` for the same float arrays
    /// (nulls in runs, in scattered rows, none, all; negative and positive zeros; a
    /// length that is not a multiple of 64) are equal, header and bytes, whatever the data
    /// page size asked for and the statistics kept; a column with a NaN is left to polars.
    #[test]
    fn pages_equal_polars_pages() {
        use polars::prelude::{CompatLevel, DataType, Field};
        use polars_parquet::write::{
            CompressionOptions, ParquetType, StatisticsOptions, to_parquet_type,
        };
        let mut next = crate::tests::draws(0x9e37_79b9_7f4a_7c15);
        let n = 70_001;
        let value = |r: u64| {
            let x = (r % 2_000_001) as f64 / 1000.0 - 1000.0;
            if r.is_multiple_of(97) {
                [0.0, -0.0][(r / 97 % 2) as usize]
            } else {
                x
            }
        };
        let scattered: Vec<Option<f64>> = (0..n)
            .map(|_| {
                let r = next();
                (!r.is_multiple_of(7)).then(|| value(r >> 8))
            })
            .collect();
        let runs: Vec<Option<f64>> = (0..n)
            .map(|i| ((i / 300) % 3 != 0).then(|| value(next())))
            .collect();
        let full: Vec<Option<f64>> = (0..n).map(|_| Some(value(next()))).collect();
        let none: Vec<Option<f64>> = vec![None; 1000];
        let zeros: Vec<Option<f64>> = vec![Some(-0.0), None, Some(0.0), Some(-0.0)];
        let field = Field::new("a".into(), DataType::Float64).to_arrow(CompatLevel::newest());
        let t = to_parquet_type(&field).unwrap();
        let ParquetType::PrimitiveType(pt) = &t else {
            panic!("a flat column")
        };
        let mut only_min = StatisticsOptions::empty();
        only_min.min_value = true;
        for values in [&scattered, &runs, &full, &none, &zeros] {
            let array: PrimitiveArray<f64> = values.iter().copied().collect();
            for page_size in [None, Some(1 << 12), Some(100), Some(1)] {
                for statistics in [
                    StatisticsOptions::default(),
                    only_min,
                    StatisticsOptions::empty(),
                ] {
                    let options = WriteOptions {
                        statistics,
                        version: Version::V1,
                        compression: CompressionOptions::Uncompressed,
                        data_page_size: page_size,
                    };
                    let ours = pages(&array, pt, &options).expect("PLAIN pages");
                    crate::tests::assert_pages_as_polars(
                        &ours,
                        array.clone().boxed(),
                        &t,
                        options,
                        Encoding::Plain,
                        &format!("{page_size:?}, {statistics:?}"),
                    );
                }
            }
        }
        let with_nan: PrimitiveArray<f64> = [Some(1.0), None, Some(f64::NAN)].into_iter().collect();
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            compression: CompressionOptions::Uncompressed,
            data_page_size: None,
        };
        assert!(pages(&with_nan, pt, &options).is_none());
    }
}
