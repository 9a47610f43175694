//! The dictionary of a text column, made directly.
//!
//! polars' writer decides whether a text column gets a dictionary by
//! hashing every value into a HyperLogLog sketch (more than 128 rows and an
//! estimate above ¾ of them: PLAIN), and then makes the dictionary by casting
//! the column, which hashes every value again. The response tables' text
//! columns (`unit_code`, `period`, `channel`, `source_file`, `district`)
//! hold a few distinct values in long runs, so both passes cost far more
//! than the answer they give. [`encode`] finds the dictionary with one
//! comparison of each row's 16-byte view with the previous row's (and a
//! small cache of views before any hash), takes polars' decision from the
//! sketch of the distinct values alone (a HyperLogLog sketch depends only
//! on the set of values added: the same estimate), and hands polars' own
//! page writer the same dictionary array its cast would have made: the same
//! bytes, which the tests check against polars' writer. A column whose
//! values are mostly distinct (`response_id`, `submitted_at`) is seen as
//! such within its first rows and left to polars.

use std::collections::HashMap;

use polars::prelude::{PolarsResult, polars_err};
use polars_arrow::array::{
    Array, DictionaryArray, MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray,
};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_parquet::parquet::page::Page;
use polars_parquet::write::{DynIter, Encoding, ParquetType, WriteOptions, array_to_columns};

/// polars' threshold: a column of more rows gets PLAIN when its estimated
/// distinct values are more than [`PLAIN_SHARE`] of its rows.
const SMALL_ROWS: usize = 128;
const PLAIN_SHARE: f64 = 0.75;

/// Views remembered before the hash map is asked (direct-mapped).
const CACHE: usize = 64;

/// Distinct values seen before a column can be judged mostly distinct.
const JUDGE_AFTER: usize = 64;

/// The pages polars writes for a text column `array` (`Utf8View`) whose
/// encoding is `RleDictionary`, or `None` where the column is left to polars
/// (empty, all null, or mostly distinct values).
///
/// # Errors
/// polars' error of encoding the pages.
pub(crate) fn encode(
    array: &dyn Array,
    type_: &ParquetType,
    options: &WriteOptions,
) -> Option<PolarsResult<Vec<DynIter<'static, PolarsResult<Page>>>>> {
    if let Some(dict) = array.as_any().downcast_ref::<DictionaryArray<u32>>() {
        return Some(encode_dictionary(dict, type_, options));
    }
    let text = array.as_any().downcast_ref::<Utf8ViewArray>()?;
    let n = text.len();
    if n == 0 || text.null_count() == n {
        return None;
    }
    let (keys, values) = dictionary(text)?;
    // The array polars' cast makes: the values in order of first
    // appearance, a `u32` key per row, a validity only where a row is null.
    let validity = text.validity().filter(|v| v.unset_bits() > 0).cloned();
    Some(encode_dictionary(
        &text_dictionary(keys, validity, &values),
        type_,
        options,
    ))
}

/// A text column given as its dictionary: `values` (distinct, in their order of first
/// appearance, as polars' cast orders them) and a key into them per row (`validity`: which
/// rows are set; `None` when every row is). The array [`crate::ParquetOut::write_arrays`]
/// takes for a text column.
///
/// # Panics
/// If a key is not below the number of values.
pub fn text_dictionary(
    keys: Vec<u32>,
    validity: Option<Bitmap>,
    values: &[&str],
) -> DictionaryArray<u32> {
    let keys = PrimitiveArray::<u32>::new(ArrowDataType::UInt32, keys.into(), validity);
    let dtype = ArrowDataType::Dictionary(
        IntegerType::UInt32,
        Box::new(ArrowDataType::Utf8View),
        false,
    );
    DictionaryArray::<u32>::try_new(
        dtype,
        keys,
        Utf8ViewArray::from_slice_values(values).boxed(),
    )
    .expect("every key is below the number of values")
}

/// The pages polars writes for the text column that `dict` stands for (`RleDictionary`
/// asked): the dictionary's, or PLAIN where polars would choose it, from the same text.
fn encode_dictionary(
    dict: &DictionaryArray<u32>,
    type_: &ParquetType,
    options: &WriteOptions,
) -> PolarsResult<Vec<DynIter<'static, PolarsResult<Page>>>> {
    let n = dict.len();
    let nulls = dict.null_count();
    let values = dict
        .values()
        .as_any()
        .downcast_ref::<Utf8ViewArray>()
        .ok_or_else(|| polars_err!(ComputeError: "a text dictionary's values are not text"))?;
    let distinct: Vec<&str> = values.values_iter().collect();
    // Left to polars (empty or all null), or PLAIN: the text itself.
    if n == 0 || nulls == n || plain(n, &distinct, nulls > 0) {
        let encoding = if n == 0 || nulls == n {
            Encoding::RleDictionary
        } else {
            Encoding::Plain
        };
        let text = text_of(dict, values);
        return array_to_columns(&text as &dyn Array, type_.clone(), *options, &[encoding]);
    }
    array_to_columns(
        dict as &dyn Array,
        type_.clone(),
        *options,
        &[Encoding::RleDictionary],
    )
}

/// The text of `array` row by row when it is a text column given as a dictionary
/// ([`text_dictionary`]); `None` for any other array.
pub(crate) fn given_text(array: &dyn Array) -> Option<Box<dyn Array>> {
    let dict = array.as_any().downcast_ref::<DictionaryArray<u32>>()?;
    let values = dict.values().as_any().downcast_ref::<Utf8ViewArray>()?;
    Some(text_of(dict, values).boxed())
}

/// The text the dictionary array `dict` (of text `values`) stands for, row by row.
fn text_of(dict: &DictionaryArray<u32>, values: &Utf8ViewArray) -> Utf8ViewArray {
    let keys = dict.keys();
    let mut out = MutableBinaryViewArray::<str>::with_capacity(keys.len());
    for (i, &k) in keys.values().iter().enumerate() {
        if keys.is_valid(i) {
            out.push_value(values.value(k as usize));
        } else {
            out.push_null();
        }
    }
    out.into()
}

/// polars' choice of PLAIN for a text column of `n` rows, whose distinct
/// values are `values` (and a null if `nulls`).
fn plain(n: usize, values: &[&str], nulls: bool) -> bool {
    n > SMALL_ROWS && (estimate(values, nulls) as f64) / (n as f64) > PLAIN_SHARE
}

/// polars' estimate of the distinct values of a column from its distinct
/// values `values` (and a null if `nulls`, hashed as the empty value as
/// polars hashes it): a sketch of a set does not depend on how often each
/// value comes.
fn estimate(values: &[&str], nulls: bool) -> usize {
    let mut set = values.to_vec();
    if nulls {
        set.push("");
    }
    polars_compute::cardinality::estimate_cardinality(&Utf8ViewArray::from_slice_values(&set))
}

/// Each row's key (0 for a null) and the distinct values in order of first
/// appearance, or `None` once more than half of the rows read are distinct
/// values (past the first [`JUDGE_AFTER`]).
fn dictionary(array: &Utf8ViewArray) -> Option<(Vec<u32>, Vec<&str>)> {
    let n = array.len();
    let views = array.views();
    let validity = array.validity().filter(|v| v.unset_bits() > 0);
    let mut keys: Vec<u32> = Vec::with_capacity(n);
    let mut values: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, u32> = HashMap::new();
    // Equal views are equal values (inline: the same bytes; else the same
    // buffer, offset and length); unequal views may still be equal values.
    let mut cache = [(u128::MAX, 0u32); CACHE];
    let mut last = (u128::MAX, 0u32);
    for (i, view) in views.iter().enumerate() {
        if validity.is_some_and(|v| !v.get_bit(i)) {
            keys.push(0);
            continue;
        }
        let v = view.as_u128();
        if v == last.0 {
            keys.push(last.1);
            continue;
        }
        let slot = (v.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) >> 122) as usize;
        let key = if cache[slot].0 == v {
            cache[slot].1
        } else {
            let value = array.value(i);
            let key = if let Some(&k) = index.get(value) {
                k
            } else {
                let k = values.len() as u32;
                values.push(value);
                index.insert(value, k);
                if values.len() > JUDGE_AFTER && 2 * values.len() > i + 1 {
                    return None;
                }
                k
            };
            cache[slot] = (v, key);
            key
        };
        last = (v, key);
        keys.push(key);
    }
    Some((keys, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(values: &[Option<&str>]) -> Utf8ViewArray {
        Utf8ViewArray::from_slice(values)
    }

    /// Keys in order of first appearance, nulls keyed 0, equal values with
    /// unequal views (long values of two buffers) given one key.
    #[test]
    fn the_dictionary_is_the_values_in_order_of_first_appearance() {
        let long = "một giá trị dài hơn mười hai byte";
        let a = Utf8ViewArray::from_slice([Some("b"), Some(long), None, Some("a")]);
        let b = Utf8ViewArray::from_slice([Some(long), Some("b"), Some("b"), None]);
        let both = polars_arrow::compute::concatenate::concatenate(&[&a, &b]).unwrap();
        let both = both.as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        let (keys, values) = dictionary(both).unwrap();
        assert_eq!(keys, [0, 1, 0, 2, 1, 0, 0, 0]);
        let expected = ["b", long, "a"];
        assert_eq!(values, expected);
    }

    /// The choice of PLAIN from the distinct values is polars' choice from
    /// every row, on both sides of its threshold, with nulls and the empty
    /// value, and for short columns (always a dictionary).
    #[test]
    fn plain_is_chosen_as_polars_chooses_it() {
        let mut draw = crate::tests::draws(7);
        let mut chosen = [0, 0];
        for n in [100, 128, 129, 1000, 20_000] {
            for share in [0.3, 0.6, 1.0, 1.4, 1.55, 1.6, 1.65, 1.8, 2.5, 4.0] {
                let pool = ((n as f64) * share) as u64;
                // Draws from a pool of share·n values: 0.26 to 0.88 of the rows
                // distinct; nulls below 1.6, empty values from 1.0.
                let rows: Vec<Option<String>> = (0..n)
                    .map(|_| {
                        let r = draw();
                        match r % 97 {
                            0 if share < 1.6 => None,
                            1 if share >= 1.0 => Some(String::new()),
                            _ => Some(format!("v{}", (r >> 8) % pool.max(1))),
                        }
                    })
                    .collect();
                let rows: Vec<Option<&str>> = rows.iter().map(Option::as_deref).collect();
                let whole = Utf8ViewArray::from_slice(&rows);
                let sketch = polars_compute::cardinality::estimate_cardinality(&whole);
                let polars = n > 128 && (sketch as f64) / (n as f64) > 0.75;
                let mut distinct: Vec<&str> = rows.iter().flatten().copied().collect();
                distinct.sort_unstable();
                distinct.dedup();
                let nulls = rows.iter().any(Option::is_none);
                assert_eq!(estimate(&distinct, nulls), sketch, "{n} rows, pool {share}");
                assert_eq!(plain(n, &distinct, nulls), polars, "{n} rows, pool {share}");
                chosen[usize::from(polars)] += 1;
            }
        }
        // Both choices were met.
        assert!(chosen[0] > 5 && chosen[1] > 5, "{chosen:?}");
    }

    /// Past the first 64 distinct values, a column whose rows are more
    /// than half distinct values is left to polars; one that repeats is not.
    #[test]
    fn mostly_distinct_columns_are_left_to_polars() {
        let ids: Vec<String> = (0..1000).map(|i| format!("id{i}")).collect();
        let some: Vec<Option<&str>> = ids.iter().map(|s| Some(s.as_str())).collect();
        assert!(dictionary(&array(&some)).is_none());
        // Each of 100 values three rows running, then again: a third of the
        // rows read are new values, never more.
        let cycled: Vec<String> = (0..1000).map(|i| format!("v{}", (i / 3) % 100)).collect();
        let some: Vec<Option<&str>> = cycled.iter().map(|s| Some(s.as_str())).collect();
        let cycled = array(&some);
        let (keys, values) = dictionary(&cycled).unwrap();
        assert_eq!(values.len(), 100);
        let expected: Vec<u32> = (0..1000).map(|i| (i / 3) % 100).collect();
        assert_eq!(keys, expected);
    }
}
