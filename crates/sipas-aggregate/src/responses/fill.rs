//! The compact table being filled: one slot per chunk, each chunk's text
//! columns dictionary-encoded locally, then merged in table order.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The columns of the compact table, allocated for every row up front and
/// filled chunk by chunk (see [`Table::slots`]).
#[derive(Debug)]
pub(super) struct Table {
    pub(super) units: Vec<u32>,
    pub(super) periods: Vec<u32>,
    pub(super) channels: Vec<u32>,
    pub(super) weights: Vec<f64>,
    pub(super) states: Vec<u64>,
    /// Per design column: dictionary indices (text) or numbers.
    pub(super) design: Vec<DesignBuf>,
    /// Per test: its codes.
    pub(super) codes: Arc<[Codes]>,
    pub(super) words: usize,
}

/// A design column being read.
#[derive(Debug)]
pub(super) enum DesignBuf {
    Text(Vec<u32>),
    Number(Vec<f64>),
}

/// The rows of one chunk: disjoint parts of a [`Table`]'s columns. Text
/// columns receive indices into the chunk's own dictionaries ([`Local`]).
pub(super) struct Slot<'a> {
    pub(super) units: &'a mut [u32],
    pub(super) periods: &'a mut [u32],
    pub(super) channels: &'a mut [u32],
    pub(super) weights: &'a mut [f64],
    pub(super) states: &'a mut [u64],
    pub(super) design: Vec<DesignSlot<'a>>,
    pub(super) codes: Arc<[Codes]>,
    pub(super) words: usize,
}

pub(super) enum DesignSlot<'a> {
    Text(&'a mut [u32]),
    Number(&'a mut [f64]),
}

/// The dictionaries of one chunk, values in first-seen order.
#[derive(Debug)]
pub(super) struct Local {
    pub(super) rows: usize,
    pub(super) units: Dict,
    pub(super) periods: Dict,
    pub(super) channels: Dict,
    /// Per design column: its dictionary (text) or `None` (numbers).
    pub(super) design: Vec<Option<Dict>>,
}

/// Splits `v` into consecutive parts of `lens[i] * stride` elements.
pub(super) fn split<'a, T>(mut v: &'a mut [T], lens: &[usize], stride: usize) -> Vec<&'a mut [T]> {
    lens.iter()
        .map(|&n| {
            let (a, b) = std::mem::take(&mut v).split_at_mut(n * stride);
            v = b;
            a
        })
        .collect()
}

impl Table {
    /// A table of `rows` rows for `plan` (zeroed; weights 1 when the table has none).
    pub(super) fn new(plan: &Plan, rows: usize) -> Self {
        let codes = Codes::of(&plan.instrument).into();
        let words = mask_words(plan.instrument.tests().len());
        Table {
            units: vec![0; rows],
            periods: vec![0; rows],
            channels: vec![0; rows],
            weights: vec![if plan.has_weight { 0.0 } else { 1.0 }; rows],
            states: vec![0; 2 * words * rows],
            design: plan
                .design
                .iter()
                .map(|&(_, text)| {
                    if text {
                        DesignBuf::Text(vec![0; rows])
                    } else {
                        DesignBuf::Number(vec![0.0; rows])
                    }
                })
                .collect(),
            codes,
            words,
        }
    }

    /// The slots of consecutive chunks of `lens` rows (summing to the rows).
    pub(super) fn slots(&mut self, lens: &[usize]) -> Vec<Slot<'_>> {
        debug_assert_eq!(lens.iter().sum::<usize>(), self.weights.len());
        let mut design: Vec<std::vec::IntoIter<DesignSlot<'_>>> = self
            .design
            .iter_mut()
            .map(|d| match d {
                DesignBuf::Text(v) => split(v, lens, 1)
                    .into_iter()
                    .map(DesignSlot::Text)
                    .collect::<Vec<_>>()
                    .into_iter(),
                DesignBuf::Number(v) => split(v, lens, 1)
                    .into_iter()
                    .map(DesignSlot::Number)
                    .collect::<Vec<_>>()
                    .into_iter(),
            })
            .collect();
        let words = self.words;
        split(&mut self.units, lens, 1)
            .into_iter()
            .zip(split(&mut self.periods, lens, 1))
            .zip(split(&mut self.channels, lens, 1))
            .zip(split(&mut self.weights, lens, 1))
            .zip(split(&mut self.states, lens, 2 * words))
            .map(|((((units, periods), channels), weights), states)| Slot {
                units,
                periods,
                channels,
                weights,
                states,
                design: design
                    .iter_mut()
                    .map(|d| d.next().expect("one part per chunk"))
                    .collect(),
                codes: Arc::clone(&self.codes),
                words,
            })
            .collect()
    }

    /// Merges the chunks' dictionaries (in chunk order, so values keep their
    /// first-seen order) and re-indexes each chunk's rows into them.
    pub(super) fn finish(
        mut self,
        plan: Plan,
        locals: &[Local],
        origin: String,
    ) -> Result<Responses> {
        let mut units = Dict::default();
        let mut periods = Dict::default();
        let mut channels = if plan.has_channel {
            Dict::default()
        } else {
            Dict::constant(schema::DEFAULT_CHANNEL)
        };
        let mut design: Vec<Dict> = plan.design.iter().map(|_| Dict::default()).collect();
        let lens: Vec<usize> = locals.iter().map(|l| l.rows).collect();
        let remap = |global: &mut Dict, local: &Dict, idx: &mut [u32]| {
            let map: Vec<u32> = local.values.iter().map(|v| global.id(v)).collect();
            if map.iter().enumerate().any(|(i, &g)| i as u32 != g) {
                idx.par_iter_mut().for_each(|i| *i = map[*i as usize]);
            }
        };
        let mut unit_parts = split(&mut self.units, &lens, 1).into_iter();
        let mut period_parts = split(&mut self.periods, &lens, 1).into_iter();
        let mut channel_parts = split(&mut self.channels, &lens, 1).into_iter();
        let mut design_parts: Vec<_> = self
            .design
            .iter_mut()
            .map(|d| match d {
                DesignBuf::Text(v) => Some(split(v, &lens, 1).into_iter()),
                DesignBuf::Number(_) => None,
            })
            .collect();
        for local in locals {
            remap(&mut units, &local.units, unit_parts.next().expect("a part"));
            remap(
                &mut periods,
                &local.periods,
                period_parts.next().expect("a part"),
            );
            let ch = channel_parts.next().expect("a part");
            if plan.has_channel {
                remap(&mut channels, &local.channels, ch);
            }
            for ((g, l), parts) in design.iter_mut().zip(&local.design).zip(&mut design_parts) {
                if let (Some(l), Some(parts)) = (l, parts) {
                    remap(g, l, parts.next().expect("a part"));
                }
            }
        }
        let coded = |dict, idx| Coded { dict, idx };
        let mut r = Responses::finish(
            plan.instrument,
            origin,
            coded(units, self.units),
            coded(periods, self.periods),
            coded(channels, self.channels),
            self.weights,
            self.states,
        )?;
        for (((name, _), buf), dict) in plan.design.into_iter().zip(self.design).zip(design) {
            let column = match buf {
                DesignBuf::Text(idx) => {
                    let (values, idx) = coded(dict, idx).sorted_by(|v| Ok(v.clone()))?;
                    DesignColumn::Text { values, idx }
                }
                DesignBuf::Number(v) => DesignColumn::Number(v),
            };
            r.design_columns.insert(name, column);
        }
        Ok(r)
    }
}

/// Fills `slot` from `df` (the plan's columns; a chunk of the table whose
/// first row is row `first_row` of `origin`), returning the chunk's
/// dictionaries. Errors name `origin` and the 1-based row. `par`: pack the
/// answers on all cores (when this is the only chunk).
pub(super) fn fill(
    plan: &Plan,
    df: &DataFrame,
    origin: &str,
    first_row: usize,
    slot: Slot<'_>,
    par: bool,
) -> Result<Local> {
    // Parts of a partitioned table may disagree with its schema file.
    let schema = df.schema();
    let typed = |name: &str, expected: &DataType| -> Result<&Column> {
        check_type(schema, name, expected, origin)?;
        Ok(df.column(name).expect("checked above"))
    };
    let text = |name: &str| -> Result<&StringChunked> {
        Ok(typed(name, &DataType::String)?
            .str()
            .expect("dtype checked"))
    };
    let units_ca = text(schema::UNIT_CODE)?;
    let periods_ca = text(schema::PERIOD)?;
    let channels_ca = if plan.has_channel {
        Some(text(schema::CHANNEL)?)
    } else {
        None
    };
    let weights_ca = if plan.has_weight {
        Some(
            typed(schema::WEIGHT, &DataType::Float64)?
                .f64()
                .expect("dtype checked"),
        )
    } else {
        None
    };
    let items = if plan.masks.is_some() {
        Vec::new()
    } else {
        plan.instrument
            .item_ids()
            .iter()
            .map(|id| {
                Ok(typed(id, &DataType::UInt8)?
                    .u8()
                    .expect("dtype checked")
                    .rechunk())
            })
            .collect::<Result<Vec<_>>>()?
    };
    let mut design_cols = Vec::with_capacity(plan.design.len());
    for (name, text) in &plan.design {
        let col = df.column(name).map_err(|_| Error::MissingColumn {
            origin: origin.to_string(),
            column: name.clone(),
        })?;
        let ok = if *text {
            col.dtype() == &DataType::String
        } else {
            col.dtype().is_primitive_numeric()
        };
        if !ok {
            return Err(Error::ColumnType {
                origin: origin.to_string(),
                column: name.clone(),
                expected: if *text { "str" } else { "a number" }.into(),
                found: col.dtype().to_string(),
            });
        }
        design_cols.push(col);
    }

    let n = df.height();
    let Slot {
        units,
        periods,
        channels,
        weights,
        states,
        design,
        codes,
        words,
    } = slot;
    // One column per test: an item with several tests repeats its column.
    let item_cas: Vec<&UInt8Chunked> = if items.is_empty() {
        Vec::new()
    } else {
        plan.instrument
            .tests()
            .iter()
            .map(|t| items[t.item].as_ref())
            .collect()
    };
    let missing = |column: &'static str| {
        move |i: usize| value_err(origin, first_row + i + 1, column, "missing value".into())
    };
    let mut local = Local {
        rows: n,
        units: Dict::default(),
        periods: Dict::default(),
        channels: Dict::default(),
        design: Vec::with_capacity(design.len()),
    };
    let mut encode = || -> Result<()> {
        local
            .units
            .encode(units_ca, false, units)
            .map_err(missing(schema::UNIT_CODE))?;
        local
            .periods
            .encode(periods_ca, false, periods)
            .map_err(missing(schema::PERIOD))?;
        if let Some(ca) = channels_ca {
            local
                .channels
                .encode(ca, false, channels)
                .map_err(missing(schema::CHANNEL))?;
        }
        if let Some(ca) = weights_ca {
            fill_weights(weights, ca)
                .map_err(|(i, m)| value_err(origin, first_row + i + 1, schema::WEIGHT, m))?;
        }
        Ok(())
    };
    if let Some(names) = &plan.masks {
        let [ca, cs] = names.each_ref().map(|name| {
            df.column(name)
                .ok()
                .and_then(|c| c.u64().ok())
                .expect("mask column checked by the plan")
        });
        encode()?;
        copy_masks(states, ca, cs, plan.instrument.tests().len())
            .map_err(|(i, c, m)| value_err(origin, first_row + i + 1, &names[c], m))?;
        return fill_design(plan, origin, first_row, design, design_cols, local);
    }
    let (bad_answer, text) = if par {
        rayon::join(
            || pack_states(states, words, &item_cas, &codes, true),
            encode,
        )
    } else {
        let text = encode();
        (pack_states(states, words, &item_cas, &codes, false), text)
    };
    text?;
    if let Some((row, k, code)) = bad_answer {
        let j = plan.instrument.tests()[k].item;
        return Err(value_err(
            origin,
            first_row + row + 1,
            &plan.instrument.items()[j].id,
            plan.instrument.invalid_answer(j, code),
        ));
    }
    debug_assert_eq!(units.len(), n);
    fill_design(plan, origin, first_row, design, design_cols, local)
}

/// Copies the answered / satisfied mask columns clean wrote (one word per
/// row each: at most 64 tests) into the row masks `states`, checking that
/// no value is missing, no bit lies beyond the `n_items` tests and every
/// passed test is answered; otherwise the row index, the column (0
/// answered, 1 satisfied) and the reason.
fn copy_masks(
    states: &mut [u64],
    answered: &UInt64Chunked,
    satisfied: &UInt64Chunked,
    n_items: usize,
) -> std::result::Result<(), (usize, usize, String)> {
    for (c, ca) in [answered, satisfied].into_iter().enumerate() {
        if ca.null_count() > 0 {
            let i = ca.iter().position(|v| v.is_none()).expect("a null");
            return Err((i, c, "missing value".into()));
        }
    }
    let beyond = if n_items >= 64 { 0 } else { !0u64 << n_items };
    let (answered, satisfied) = (answered.rechunk(), satisfied.rechunk());
    let (aa, sa) = (
        answered.cont_slice().expect("one chunk, no nulls"),
        satisfied.cont_slice().expect("one chunk, no nulls"),
    );
    for (i, ((&a, &s), row)) in aa
        .iter()
        .zip(sa)
        .zip(states.chunks_exact_mut(2))
        .enumerate()
    {
        if a & beyond != 0 || s & !a != 0 {
            let (c, v) = if a & beyond != 0 { (0, a) } else { (1, s) };
            return Err((
                i,
                c,
                format!(
                    "mask {v:#x} is not an answer mask of this instrument's {n_items} items \
                     (answered {a:#x}, satisfied {s:#x}): was the table edited after clean?"
                ),
            ));
        }
        row[0] = a;
        row[1] = s;
    }
    Ok(())
}

/// The design columns of a chunk into their slots.
fn fill_design(
    plan: &Plan,
    origin: &str,
    first_row: usize,
    design: Vec<DesignSlot<'_>>,
    design_cols: Vec<&Column>,
    mut local: Local,
) -> Result<Local> {
    for (((name, _), slot), col) in plan.design.iter().zip(design).zip(design_cols) {
        match slot {
            DesignSlot::Text(idx) => {
                let mut d = Dict::default();
                d.encode(col.str().expect("dtype checked"), true, idx)
                    .map_err(|i| {
                        value_err(origin, first_row + i + 1, name, "missing value".into())
                    })?;
                local.design.push(Some(d));
            }
            DesignSlot::Number(v) => {
                let cast = col
                    .cast(&DataType::Float64)
                    .map_err(|source| Error::Polars {
                        origin: origin.to_string(),
                        source,
                    })?;
                let ca = cast.f64().expect("cast to f64");
                if ca.null_count() > 0 {
                    let i = ca.iter().position(|v| v.is_none()).expect("a null");
                    return Err(value_err(
                        origin,
                        first_row + i + 1,
                        name,
                        "missing value".into(),
                    ));
                }
                let mut at = 0;
                for arr in ca.downcast_iter() {
                    v[at..at + arr.len()].copy_from_slice(arr.values());
                    at += arr.len();
                }
                local.design.push(None);
            }
        }
    }
    Ok(local)
}

/// Copies a weight column (finite, > 0) into `out`; otherwise the index
/// and the reason.
pub(super) fn fill_weights(
    out: &mut [f64],
    ca: &Float64Chunked,
) -> std::result::Result<(), (usize, String)> {
    let ok = |w: f64| w.is_finite() && w > 0.0;
    if ca.null_count() == 0
        && ca
            .downcast_iter()
            .all(|arr| arr.values().iter().all(|&w| ok(w)))
    {
        let mut at = 0;
        for arr in ca.downcast_iter() {
            out[at..at + arr.len()].copy_from_slice(arr.values());
            at += arr.len();
        }
        return Ok(());
    }
    for (i, (o, w)) in out.iter_mut().zip(ca.iter()).enumerate() {
        match w {
            Some(w) if ok(w) => *o = w,
            other => {
                return Err((
                    i,
                    match other {
                        Some(w) => format!("weight {w} is not finite and > 0"),
                        None => "missing weight".into(),
                    },
                ));
            }
        }
    }
    Ok(())
}
