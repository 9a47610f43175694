//! The two answer-mask columns of a clean table
//! ([`sipas_core::schema::mask_columns`]).

use polars::prelude::*;
use sipas_core::Instrument;
use sipas_core::schema;

/// `df` with the answered / satisfied mask columns of `instrument` computed
/// from its item columns (UInt8; missing or off the scale = unanswered) and
/// set: appended, or replacing columns of the same names (a table cleaned
/// again). Unchanged when the instrument has more than 64 items (no mask
/// columns) or `df` lacks an item column.
pub fn with_answer_masks(mut df: DataFrame, instrument: &Instrument) -> PolarsResult<DataFrame> {
    let Some([na, ns]) = schema::mask_columns(instrument) else {
        return Ok(df);
    };
    let ids = instrument.item_ids();
    if ids.iter().any(|id| !df.schema().contains(id)) {
        return Ok(df);
    }
    let n = df.height();
    let scale = &instrument.scale;
    let (mut a, mut s) = (vec![0u64; n], vec![0u64; n]);
    for (j, id) in ids.iter().enumerate() {
        let col = df.column(id)?.cast(&DataType::UInt8)?;
        let ca = col.u8()?;
        let bit = 1u64 << j;
        for ((r, code), (a, s)) in ca.iter().enumerate().zip(a.iter_mut().zip(s.iter_mut())) {
            debug_assert!(r < n);
            if let Some(c) = code
                && scale.is_valid(c)
            {
                *a |= bit;
                if c >= scale.satisfied_min {
                    *s |= bit;
                }
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
}
