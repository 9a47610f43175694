//! The two answer-mask columns of a clean table
//! ([`sipas_core::schema::mask_columns`]).

use polars::prelude::*;
use sipas_core::Instrument;
use sipas_core::schema;

/// `df` with the answered / satisfied mask columns of `instrument` computed
/// from its item columns (UInt8; missing or not a valid code of the item =
/// unanswered) and set: appended, or replacing columns of the same names (a
/// table cleaned again). Bit k is the instrument's test k: its item answered,
/// and the answer passing the test. Unchanged when the instrument has more
/// than 64 tests (no mask columns) or `df` lacks an item column.
pub fn with_answer_masks(mut df: DataFrame, instrument: &Instrument) -> PolarsResult<DataFrame> {
    let Some([na, ns]) = schema::mask_columns(instrument) else {
        return Ok(df);
    };
    let ids = instrument.item_ids();
    if ids.iter().any(|id| !df.schema().contains(id)) {
        return Ok(df);
    }
    let n = df.height();
    let (mut a, mut s) = (vec![0u64; n], vec![0u64; n]);
    for (j, id) in ids.iter().enumerate() {
        let col = df.column(id)?.cast(&DataType::UInt8)?;
        let ca = col.u8()?;
        let item = &instrument.items()[j];
        // Per code: the bits of this item's tests it sets (answered, passed).
        let mut answered = 0u64;
        let mut passed = [0u64; 256];
        for (k, t) in instrument.tests().iter().enumerate() {
            if t.item == j {
                answered |= 1 << k;
                for c in 0..=255u8 {
                    if item.is_valid(c) && t.test.passes(c) {
                        passed[usize::from(c)] |= 1 << k;
                    }
                }
            }
        }
        for ((r, code), (a, s)) in ca.iter().enumerate().zip(a.iter_mut().zip(s.iter_mut())) {
            debug_assert!(r < n);
            if let Some(c) = code
                && item.is_valid(c)
            {
                *a |= answered;
                *s |= passed[usize::from(c)];
            }
        }
    }
    df.with_column(Column::new(na.into(), a))?;
    df.with_column(Column::new(ns.into(), s))?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_the_scale() {
        let inst = sipas_core::bundled::instrument("sipas-2023").unwrap();
        let ids = inst.item_ids();
        // Row 0: every item 5; row 1: item 0 = 3 (answered, not satisfied),
        // item 1 = 4, item 2 missing, the rest 1; row 2: every item missing.
        let cols: Vec<Column> = ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let v: Vec<Option<u8>> = vec![
                    Some(5),
                    match j {
                        0 => Some(3),
                        1 => Some(4),
                        2 => None,
                        _ => Some(1),
                    },
                    None,
                ];
                Column::new((*id).into(), v)
            })
            .collect();
        let df = with_answer_masks(DataFrame::new_infer_height(cols).unwrap(), &inst).unwrap();
        let [na, ns] = schema::mask_columns(&inst).unwrap();
        let a: Vec<u64> = df
            .column(&na)
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let s: Vec<u64> = df
            .column(&ns)
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let all = (1u64 << ids.len()) - 1;
        assert_eq!(a, vec![all, all & !0b100, 0]);
        assert_eq!(s, vec![all, 0b10, 0]);
        // Cleaning again replaces them in place.
        let again = with_answer_masks(df.clone(), &inst).unwrap();
        assert_eq!(again.width(), df.width());
        assert!(again.equals_missing(&df));
    }

    #[test]
    fn masks_of_other_item_types_carry_one_bit_per_test() {
        let inst = sipas_core::Instrument::from_toml_str(
            include_str!("../../../fixtures/instruments/test/mixed.toml"),
            "mixed.toml",
        )
        .unwrap();
        // Tests: q1 ≥ 4 (bit 0), q2 = 1 (1), q3 ≥ 2..5 (2–5), q4 ≥ 1..4 (6–9).
        // Row 0: q1 = 5, q2 = 1, q3 = 3, q4 = 2.
        // Row 1: q1 = 9 (missing code), q2 = 2, q3 missing, q4 = 0.
        // Row 2: q1 = 0 (not valid for a Likert item), q2 = 3 (not valid), q3 = 1, q4 = 5 (not valid).
        let col = |name: &str, v: [Option<u8>; 3]| Column::new(name.into(), v.to_vec());
        let df = DataFrame::new_infer_height(vec![
            col("q1", [Some(5), Some(9), Some(0)]),
            col("q2", [Some(1), Some(2), Some(3)]),
            col("q3", [Some(3), None, Some(1)]),
            col("q4", [Some(2), Some(0), Some(5)]),
        ])
        .unwrap();
        let df = with_answer_masks(df, &inst).unwrap();
        let [na, ns] = schema::mask_columns(&inst).unwrap();
        let get = |c: &str| -> Vec<u64> {
            df.column(c)
                .unwrap()
                .u64()
                .unwrap()
                .into_no_null_iter()
                .collect()
        };
        assert_eq!(get(&na), [0b11_1111_1111, 0b11_1100_0010, 0b00_0011_1100]);
        assert_eq!(get(&ns), [0b00_1100_1111, 0, 0]);
        // Another shape, another fingerprint: a table cleaned under the
        // SIPAS reading of these columns is not read as this one's.
        let mini = sipas_core::Instrument::from_toml_str(
            include_str!("../../../fixtures/instruments/test/mini.toml"),
            "mini.toml",
        )
        .unwrap();
        assert_ne!(schema::mask_columns(&mini), schema::mask_columns(&inst));
    }
}
