//! Dictionary pages of a `UInt8` column, written directly.
//!
//! polars' writer encodes a small-integer column through generic iterators:
//! the keys widened to `u32`, zipped with the validity, filtered, and fed
//! one at a time to its hybrid RLE / bit-packing encoder, about 13 ns a
//! value. The 33 answer columns of every response table are `UInt8` with a
//! handful of distinct values, so that loop was most of writing a table.
//! [`pages`] makes the same pages (the same dictionary, page cuts, levels,
//! keys, headers and statistics: the same bytes, which the tests check
//! against polars' writer) from byte slices.

use polars_arrow::array::{Array, PrimitiveArray};
use polars_arrow::bitmap::Bitmap;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1, DictPage, Page};
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::statistics::ParquetStatistics;
use polars_parquet::write::{Encoding, Version, WriteOptions};

/// polars' default data page size (`row_slice_ranges`; its largest is
/// 2³¹ − 2²⁵).
const PAGE_BYTES: usize = 1024 * 1024;

/// polars' longest literal run (`MAX_VALUES_PER_LITERAL_RUN`).
const MAX_LITERAL: usize = 8 * 1024;

/// The pages polars writes for `array` (a flat `UInt8` column) with
/// dictionary encoding and `options` (format version 1), or `None` where
/// polars would not write a dictionary (no value, or too many distinct
/// ones: the caller leaves those to polars).
pub(crate) fn pages(
    array: &dyn Array,
    type_: &PrimitiveType,
    options: &WriteOptions,
) -> Option<Vec<Page>> {
    let array = array.as_any().downcast_ref::<PrimitiveArray<u8>>()?;
    if array.is_empty() || options.version != Version::V1 {
        return None;
    }
    let values = array.values().as_slice();
    let validity = array.validity();
    // The distinct values present (polars: the `seen` mask between the
    // minimum and the maximum).
    let mut seen = [false; 256];
    match validity {
        Some(v) if v.unset_bits() > 0 => {
            for (block, word) in values.chunks(64).zip(words(v)) {
                if word == u64::MAX {
                    for &x in block {
                        seen[x as usize] = true;
                    }
                } else {
                    for_each_bit(word, |k| seen[block[k] as usize] = true);
                }
            }
        }
        _ => values.iter().for_each(|&x| seen[x as usize] = true),
    }
    let dict: Vec<u8> = (0..=255u8).filter(|&x| seen[x as usize]).collect();
    let (&min, &max) = (dict.first()?, dict.last()?);
    // polars' `min_max_integer_encode_as_dictionary_optional`: worth it with
    // at most 16 values, or fewer than 3 per 4 rows.
    if !(dict.len() <= 16 || (dict.len() as f64) / (array.len() as f64) < 0.75) {
        return None;
    }
    // Value -> key (polars also gives nulls' slots a key; no page holds
    // those).
    let mut lookup = [0u8; 256];
    for (k, &x) in dict.iter().enumerate() {
        lookup[x as usize] = k as u8;
    }
    let key = |x: u8| lookup[x as usize];

    let nulls = array.null_count();
    let statistics = (!options.statistics.is_empty()).then(|| ParquetStatistics {
        null_count: Some(nulls as i64),
        distinct_count: None,
        max_value: options
            .statistics
            .max_value
            .then(|| i32::from(max).to_le_bytes().to_vec()),
        min_value: options
            .statistics
            .min_value
            .then(|| i32::from(min).to_le_bytes().to_vec()),
        max: None,
        min: None,
        is_max_value_exact: None,
        is_min_value_exact: None,
    });
    let dict_bytes: Vec<u8> = dict
        .iter()
        .flat_map(|&x| i32::from(x).to_le_bytes())
        .collect();
    let mut pages = vec![Page::Dict(DictPage::new(
        CowBuffer::Owned(dict_bytes),
        dict.len(),
        false,
    ))];

    // Page cuts (polars' `row_slice_ranges` on the u32 keys).
    let optional = type_.field_info.repetition == Repetition::Optional;
    let mut levels = Vec::new();
    let mut keys = Vec::new();
    for (offset, len, page_validity) in page_cuts(array.len(), 4, validity, options) {
        let page_values = &values[offset..offset + len];
        let mut buffer = Vec::with_capacity(len / 2 + 64);
        if optional {
            buffer.extend([0u8; 4]);
            match &page_validity {
                None => run(&mut buffer, len, 1, 1),
                Some(v) => {
                    levels.clear();
                    levels.resize(len, 0);
                    for (block, word) in levels.chunks_mut(64).zip(words(v)) {
                        for (k, level) in block.iter_mut().enumerate() {
                            *level = ((word >> k) & 1) as u8;
                        }
                    }
                    encode(&mut buffer, &levels, 1, false);
                }
            }
            let length = ((buffer.len() - 4) as i32).to_le_bytes();
            buffer[..4].copy_from_slice(&length);
        }
        keys.clear();
        match &page_validity {
            None => keys.extend(page_values.iter().map(|&x| key(x))),
            Some(v) => {
                // The valid values' keys.
                // Every value's key written, the cursor moved past the valid
                // ones only (no branch per value).
                keys.resize(len + 1, 0);
                let mut at = 0;
                for (block, word) in page_values.chunks(64).zip(words(v)) {
                    if word == u64::MAX {
                        for (slot, &x) in keys[at..at + block.len()].iter_mut().zip(block) {
                            *slot = key(x);
                        }
                        at += block.len();
                    } else {
                        for (k, &x) in block.iter().enumerate() {
                            keys[at] = key(x);
                            at += ((word >> k) & 1) as usize;
                        }
                    }
                }
                keys.truncate(at);
            }
        }
        // (A fold, not `max()`: it vectorises.)
        let top = keys.iter().fold(0u8, |m, &k| m.max(k));
        let width = 8 - top.leading_zeros() as usize;
        buffer.push(width as u8);
        encode(&mut buffer, &keys, width, true);
        pages.push(data_page(
            buffer,
            len,
            Encoding::RleDictionary,
            statistics.clone(),
            type_,
        ));
    }
    Some(pages)
}

/// The data pages polars cuts a flat column of `n` rows into (its `row_slice_ranges` on
/// `estimated_bytes_size`: `value_bytes` a value and the validity's bytes): each page's
/// first row, rows and validity (kept only where the page has a null, as a polars-arrow slice
/// keeps it).
pub(crate) fn page_cuts<'a>(
    n: usize,
    value_bytes: usize,
    validity: Option<&'a Bitmap>,
    options: &WriteOptions,
) -> impl Iterator<Item = (usize, usize, Option<Bitmap>)> + 'a {
    let byte_size = n * value_bytes + validity.map_or(0, |v| v.as_slice().0.len());
    let page_bytes = options
        .data_page_size
        .unwrap_or(PAGE_BYTES)
        .min((1 << 31) - (1 << 25));
    let rows_per_page = (page_bytes / (byte_size / n.max(1) + 1)).max(1);
    (0..n).step_by(rows_per_page).map(move |offset| {
        let len = rows_per_page.min(n - offset);
        let page_validity = validity
            .map(|v| v.clone().sliced(offset, len))
            .filter(|v| v.unset_bits() > 0);
        (offset, len, page_validity)
    })
}

/// A data page of `len` rows (format version 1, flat column of `type_`) holding `buffer`
/// (levels and values) with `encoding` and `statistics`, as polars heads it.
pub(crate) fn data_page(
    buffer: Vec<u8>,
    len: usize,
    encoding: Encoding,
    statistics: Option<ParquetStatistics>,
    type_: &PrimitiveType,
) -> Page {
    let header = DataPageHeader::V1(DataPageHeaderV1 {
        num_values: i32::try_from(len).expect("a page holds fewer than 2^31 rows"),
        encoding: encoding.into(),
        definition_level_encoding: Encoding::Rle.into(),
        repetition_level_encoding: Encoding::Rle.into(),
        statistics,
    });
    Page::Data(DataPage::new(
        header,
        CowBuffer::Owned(buffer),
        Descriptor {
            primitive_type: type_.clone(),
            max_def_level: 0,
            max_rep_level: 0,
        },
        len,
    ))
}

/// The bits of `bitmap`, 64 to a word (the last one's unused bits zero),
/// read by polars-arrow's own word iterator.
pub(crate) fn words(bitmap: &Bitmap) -> Vec<u64> {
    let mut iter = bitmap.fast_iter_u64();
    let mut words: Vec<u64> = iter.by_ref().collect();
    let (rest, left) = iter.remainder();
    words.extend_from_slice(&rest[..left.div_ceil(64)]);
    words
}

/// Calls `f` with the position of each set bit of `word`, lowest first.
#[inline]
pub(crate) fn for_each_bit(mut word: u64, mut f: impl FnMut(usize)) {
    while word != 0 {
        f(word.trailing_zeros() as usize);
        word &= word - 1;
    }
}

/// Writes `x` as ULEB128.
fn uleb128(out: &mut Vec<u8>, mut x: u64) {
    loop {
        let byte = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An RLE run: `count` times `value`, in `ceil(width / 8)` bytes (a
/// level's run takes one byte).
fn run(out: &mut Vec<u8>, count: usize, value: u8, width: usize) {
    uleb128(out, (count as u64) << 1);
    if width > 0 {
        out.push(value);
    }
}

/// A bit-packed run of `values` (their count a multiple of 8 unless it is
/// the last run), `width` bits each, least significant bit first. polars
/// packs keys 32 at a time from a reused buffer, so the slots of a last
/// group of fewer than 8 that lie beyond the values hold the values 32
/// places earlier in the run (or 0): `stale` reproduces them; levels are
/// padded with zeros.
fn packed(out: &mut Vec<u8>, values: &[u8], width: usize, stale: bool) {
    let n = values.len();
    let groups = n.div_ceil(8);
    uleb128(out, ((groups as u64) << 1) | 1);
    if width == 0 {
        return;
    }
    let slot = |i: usize| -> u64 {
        if i < n {
            u64::from(values[i])
        } else if stale && i >= 32 {
            // The block of 32 before the last one, same place.
            u64::from(values[i - 32])
        } else {
            0
        }
    };
    out.reserve(groups * width);
    let mut g = 0;
    // Whole groups of 8 values: 8 × width bits = `width` bytes.
    let whole = n / 8;
    while g < whole {
        let v = &values[g * 8..g * 8 + 8];
        let mut acc = 0u64;
        for (j, &x) in v.iter().enumerate() {
            acc |= u64::from(x) << (j * width);
        }
        out.extend_from_slice(&acc.to_le_bytes()[..width]);
        g += 1;
    }
    if g < groups {
        let mut acc = 0u64;
        for j in 0..8 {
            acc |= slot(g * 8 + j) << (j * width);
        }
        out.extend_from_slice(&acc.to_le_bytes()[..width]);
    }
}

/// The state of polars' hybrid RLE / bit-packing encoder
/// (`hybrid_rle::encode`) over a slice: `values[lit_start..lit_start +
/// buffered]` are buffered, the first `literal` of them committed to the
/// literal run; `repeats` counts the current run of `previous`.
struct Hybrid<'a> {
    out: &'a mut Vec<u8>,
    values: &'a [u8],
    width: usize,
    stale: bool,
    repeats: usize,
    previous: u8,
    lit_start: usize,
    buffered: usize,
    literal: usize,
}

impl Hybrid<'_> {
    /// polars' loop body for the value at `i`: a repeat of more than 8 is
    /// skipped (it becomes an RLE run), anything else is buffered into
    /// literal runs of at most [`MAX_LITERAL`] values (the literal run
    /// before an RLE run padded to a multiple of 8 with its first repeats).
    #[inline]
    fn step(&mut self, i: usize) {
        let x = self.values[i];
        if x == self.previous {
            self.repeats += 1;
            if self.repeats >= 8 {
                if self.repeats > 8 {
                    return;
                }
                let padding = (8 - self.literal % 8) % 8;
                self.repeats -= padding;
                self.literal += padding;
            }
        } else if self.repeats > 8 {
            if self.literal > 0 {
                self.flush(self.literal);
                self.literal = 0;
            }
            run(self.out, self.repeats, self.previous, self.width);
            self.repeats = 1;
            self.buffered = 0;
        } else {
            self.literal = self.buffered;
            self.repeats = 1;
        }
        if self.buffered == MAX_LITERAL {
            self.flush(MAX_LITERAL);
            self.repeats = 1;
            self.buffered = 0;
            self.literal = 0;
        }
        if self.buffered == 0 {
            self.lit_start = i;
        }
        self.previous = x;
        self.buffered += 1;
    }

    /// The first `count` buffered values as a bit-packed run.
    fn flush(&mut self, count: usize) {
        let v = &self.values[self.lit_start..self.lit_start + count];
        packed(self.out, v, self.width, self.stale);
    }

    /// [`Self::step`] for each of `range`, known to hold no run of more than
    /// 8 equal values and to start with a new run: every value is buffered,
    /// and a full buffer is written as it fills.
    fn bulk(&mut self, range: std::ops::Range<usize>) {
        let mut i = range.start;
        while i < range.end {
            if self.buffered == MAX_LITERAL {
                self.flush(MAX_LITERAL);
                self.buffered = 0;
            }
            if self.buffered == 0 {
                self.lit_start = i;
            }
            let take = (MAX_LITERAL - self.buffered).min(range.end - i);
            self.buffered += take;
            i += take;
        }
        if range.end > range.start {
            self.previous = self.values[range.end - 1];
            // Runs here are of at most 8: the next new value commits the
            // buffer (`repeats` only has to be at most 8).
            self.repeats = 1;
        }
    }

    /// The runs left when the input ends.
    fn finish(mut self) {
        if self.repeats <= 8 {
            self.literal = self.buffered;
        }
        if self.literal > 0 {
            self.flush(self.literal);
        }
        if self.repeats > 8 {
            run(self.out, self.repeats, self.previous, self.width);
        }
    }
}

/// polars' hybrid RLE / bit-packing encoder (`hybrid_rle::encode`), the
/// same runs and bytes, over a slice. Only a run of at least 9 equal values
/// can become an RLE run: those are found a word of 64 positions at a time
/// and stepped through value by value ([`Hybrid::step`], at most 17 values
/// each); the values between them are literal ([`Hybrid::bulk`]).
fn encode(out: &mut Vec<u8>, values: &[u8], width: usize, stale: bool) {
    let n = values.len();
    let mut h = Hybrid {
        out,
        values,
        width,
        stale,
        repeats: 0,
        previous: 0,
        lit_start: 0,
        buffered: 0,
        literal: 0,
    };
    let mut i = 0;
    let mut search = 0;
    while let Some((start, end)) = long_run(values, search) {
        if i < start {
            h.step(i);
            h.bulk(i + 1..start);
        }
        let mut j = start;
        while j < end {
            h.step(j);
            j += 1;
            if h.repeats > 8 {
                // The rest of the run is skipped, one repeat each.
                h.repeats += end - j;
                j = end;
            }
        }
        i = end;
        search = end;
    }
    if i < n {
        h.step(i);
        h.bulk(i + 1..n);
    }
    h.finish();
}

/// The first maximal run of at least 9 equal values that ends after `from`
/// and starts at or after it (`from` is 0 or the end of the previous
/// run): its start and end.
fn long_run(values: &[u8], from: usize) -> Option<(usize, usize)> {
    let n = values.len();
    if n < from + 9 {
        return None;
    }
    // Bit k of `eq(w)`: values[w + k] == values[w + k + 1].
    let eq = |w: usize| -> u64 {
        let mut m = 0u64;
        if w + 65 <= n {
            // Eight neighbours at a time: the zero bytes of a ^ b.
            for j in 0..8 {
                let at = w + 8 * j;
                let a = u64::from_le_bytes(values[at..at + 8].try_into().expect("8 bytes"));
                let b = u64::from_le_bytes(values[at + 1..at + 9].try_into().expect("8 bytes"));
                let zero = sipas_core::bytes::zero_bytes(a ^ b);
                // The eight high bits gathered into one byte, byte i to bit i.
                let bits = ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
                m |= bits << (8 * j);
            }
        } else {
            for (k, pair) in values[w..].windows(2).enumerate() {
                m |= u64::from(pair[0] == pair[1]) << k;
            }
        }
        m
    };
    let mut w = from;
    let mut lo = eq(w);
    while w + 8 < n {
        let hi = if w + 64 < n - 1 { eq(w + 64) } else { 0 };
        let wide = (u128::from(hi) << 64) | u128::from(lo);
        // Eight equal neighbours in a row from position k: a run of 9.
        let mut all = wide;
        for s in 1..8 {
            all &= wide >> s;
        }
        let hit = all as u64;
        if hit != 0 {
            let k = w + hit.trailing_zeros() as usize;
            let v = values[k];
            let mut start = k;
            while start > from && values[start - 1] == v {
                start -= 1;
            }
            let mut end = k + 9;
            while end < n && values[end] == v {
                end += 1;
            }
            return Some((start, end));
        }
        w += 64;
        lo = hi;
    }
    None
}

#[cfg(test)]
mod tests {
    use polars_parquet::parquet::encoding::hybrid_rle;

    use super::*;

    /// The pages of [`pages`] and of polars' `array_to_columns` for the same
    /// arrays are equal, header and bytes, whatever the data page size
    /// asked for (`ParquetOut` leaves polars' default, 1 MiB).
    #[test]
    fn pages_equal_polars_pages_for_any_page_size() {
        use polars::prelude::{CompatLevel, DataType, Field};
        use polars_parquet::write::{
            CompressionOptions, ParquetType, StatisticsOptions, to_parquet_type,
        };
        let n = 70_000;
        let values: Vec<Option<u8>> = (0..n)
            .map(|i: usize| (!i.is_multiple_of(23)).then_some((i * 7 % 5 + (i / 5000) % 2) as u8))
            .collect();
        let array: PrimitiveArray<u8> = values.iter().copied().collect();
        let field = Field::new("a".into(), DataType::UInt8).to_arrow(CompatLevel::newest());
        let t = to_parquet_type(&field).unwrap();
        let ParquetType::PrimitiveType(pt) = &t else {
            panic!("a flat column")
        };
        for page_size in [None, Some(1 << 12), Some(100), Some(1)] {
            let options = WriteOptions {
                statistics: StatisticsOptions::default(),
                version: Version::V1,
                compression: CompressionOptions::Uncompressed,
                data_page_size: page_size,
            };
            let ours = pages(&array, pt, &options).expect("a dictionary");
            crate::tests::assert_pages_as_polars(
                &ours,
                array.clone().boxed(),
                &t,
                options,
                Encoding::RleDictionary,
                &format!("{page_size:?}"),
            );
        }
    }

    /// Keys (3 bits, polars' `u32` encoder) and levels (1 bit, its `bool`
    /// encoder) in runs of every length around the 9 that makes an RLE run
    /// and the 8,192 that ends a literal run, encoded by [`encode`] and by
    /// polars' own encoder: the same bytes.
    #[test]
    fn runs_found_by_word_encode_as_polars_encodes_them() {
        let mut next = crate::tests::draws(0x2545_f491_4f6c_dd1d);
        let mut draw = |m: u64| next() % m;
        for case in 0..4000 {
            let n = draw(400) as usize + if case % 10 == 0 { 20_000 } else { 0 };
            let max_run = [3, 10, 14, 40, 9000][case % 5];
            let levels = case % 2 == 1;
            let mut values = Vec::with_capacity(n);
            while values.len() < n {
                let v = draw(if levels { 2 } else { 5 }) as u8;
                let len = 1 + draw(max_run) as usize;
                values.extend(std::iter::repeat_n(v, len.min(n - values.len())));
            }
            let mut got = Vec::new();
            let mut want = Vec::new();
            if levels {
                encode(&mut got, &values, 1, false);
                hybrid_rle::encode::<bool, _, _>(&mut want, values.iter().map(|&v| v == 1), 1)
                    .unwrap();
            } else {
                encode(&mut got, &values, 3, true);
                hybrid_rle::encode::<u32, _, _>(&mut want, values.iter().map(|&v| u32::from(v)), 3)
                    .unwrap();
            }
            assert!(
                got == want,
                "case {case}: {n} values in runs of 1-{max_run}"
            );
        }
    }
}
