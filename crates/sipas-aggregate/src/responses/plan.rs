//! Which columns a table must have and of which types: the instrument's items,
//! the canonical columns and the design columns asked for.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn resolve_instrument(
    names: &[String],
    instrument: Option<&Instrument>,
    origin: &str,
) -> Result<Instrument> {
    match instrument {
        Some(i) => Ok(i.clone()),
        None => bundled::detect_instrument(names).ok_or_else(|| Error::UnknownInstrument {
            origin: origin.to_string(),
        }),
    }
}

/// A column of `schema` with the data type `expected`, or an error naming it.
pub(super) fn check_type<'a>(
    schema: &'a Schema,
    name: &str,
    expected: &DataType,
    origin: &str,
) -> Result<&'a DataType> {
    let found = schema.get(name).ok_or_else(|| Error::MissingColumn {
        origin: origin.to_string(),
        column: name.to_string(),
    })?;
    if found == expected {
        Ok(found)
    } else {
        Err(Error::ColumnType {
            origin: origin.to_string(),
            column: name.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        })
    }
}

/// The columns to read and their kinds, checked against the schema before
/// any row is read.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) instrument: Instrument,
    pub(super) has_channel: bool,
    pub(super) has_weight: bool,
    /// Design columns (distinct names): text (`true`) or numbers.
    pub(super) design: Vec<(String, bool)>,
    /// The answered and satisfied mask columns clean wrote for this
    /// instrument ([`schema::mask_columns`]), read instead of the items.
    pub(super) masks: Option<[String; 2]>,
}

/// Compares names with digit runs as numbers (`rb2` < `rb10`).
pub(super) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    pub(super) fn key(s: &str) -> Vec<(String, u128)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut num: Option<u128> = None;
        for ch in s.chars() {
            if let Some(d) = ch.to_digit(10) {
                num = Some(
                    num.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(u128::from(d)),
                );
            } else {
                if let Some(n) = num.take() {
                    out.push((std::mem::take(&mut text), n));
                }
                text.push(ch);
            }
        }
        out.push((text, num.unwrap_or(0)));
        out
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Whether `name` matches `pattern`, where `*` matches any text.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

impl Plan {
    pub(super) fn new(
        schema: &Schema,
        instrument: Option<&Instrument>,
        origin: &str,
        design_columns: &[&str],
    ) -> Result<Plan> {
        let names: Vec<String> = schema.iter_names().map(ToString::to_string).collect();
        let instrument = resolve_instrument(&names, instrument, origin)?;
        check_type(schema, schema::UNIT_CODE, &DataType::String, origin)?;
        check_type(schema, schema::PERIOD, &DataType::String, origin)?;
        let has_channel = schema.contains(schema::CHANNEL);
        if has_channel {
            check_type(schema, schema::CHANNEL, &DataType::String, origin)?;
        }
        let has_weight = schema.contains(schema::WEIGHT);
        if has_weight {
            check_type(schema, schema::WEIGHT, &DataType::Float64, origin)?;
        }
        for id in instrument.item_ids() {
            check_type(schema, id, &DataType::UInt8, origin)?;
        }
        let masks = schema::mask_columns(&instrument).filter(|m| {
            m.iter()
                .all(|c| schema.get(c).is_some_and(|t| t == &DataType::UInt64))
        });
        let mut design: Vec<(String, bool)> = Vec::new();
        // A name with `*` stands for every column it matches (replicate weights).
        let mut expanded: Vec<&str> = Vec::new();
        for &name in design_columns {
            if name.contains('*') {
                let hits: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|c| glob_match(name, c))
                    .collect();
                if hits.is_empty() {
                    return Err(Error::MissingColumn {
                        origin: origin.to_string(),
                        column: name.to_string(),
                    });
                }
                expanded.extend(hits);
            } else {
                expanded.push(name);
            }
        }
        for name in expanded {
            if design.iter().any(|(d, _)| d == name) {
                continue;
            }
            let dtype = schema.get(name).ok_or_else(|| Error::MissingColumn {
                origin: origin.to_string(),
                column: name.to_string(),
            })?;
            let text = if dtype == &DataType::String {
                true
            } else if dtype.is_primitive_numeric() {
                false
            } else {
                return Err(Error::ColumnType {
                    origin: origin.to_string(),
                    column: name.to_string(),
                    expected: "str or a number".into(),
                    found: dtype.to_string(),
                });
            };
            design.push((name.to_string(), text));
        }
        Ok(Plan {
            instrument,
            has_channel,
            has_weight,
            design,
            masks,
        })
    }

    /// Every column to read (distinct names).
    pub(super) fn columns(&self) -> Vec<&str> {
        let mut c = vec![schema::UNIT_CODE, schema::PERIOD];
        if self.has_channel {
            c.push(schema::CHANNEL);
        }
        if self.has_weight {
            c.push(schema::WEIGHT);
        }
        match &self.masks {
            Some(m) => c.extend(m.iter().map(String::as_str)),
            None => c.extend(self.instrument.item_ids()),
        }
        for (d, _) in &self.design {
            if !c.contains(&d.as_str()) {
                c.push(d);
            }
        }
        c
    }
}

pub(super) fn value_err(origin: &str, row: usize, column: &str, message: String) -> Error {
    Error::Value {
        origin: origin.to_string(),
        row,
        column: column.to_string(),
        message,
    }
}
