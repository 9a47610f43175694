//! Where each field of the canonical table sits in a file's header.
//!
//! The canonical layout names its columns exactly (`response_id`,
//! `unit_code`, `period`, optional `submitted_at`, `channel`, `weight`, then
//! the item ids). Later dialects (Vietnamese headers, Kobo / ODK keys) map
//! their headers to the same [`Layout`].

use std::collections::HashMap;
use std::path::Path;

use sipas_core::{Instrument, schema};

use crate::{Error, Result};

/// Column positions of one file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Number of fields in the header (every record must have as many).
    pub(crate) n_fields: usize,
    /// Column names, as cleaned from the header.
    pub(crate) names: Vec<String>,
    pub(crate) response_id: usize,
    pub(crate) unit_code: usize,
    pub(crate) period: usize,
    pub(crate) submitted_at: Option<usize>,
    pub(crate) channel: Option<usize>,
    pub(crate) weight: Option<usize>,
    /// Position of each instrument item, in instrument order.
    pub(crate) items: Vec<usize>,
    /// Columns that are neither canonical nor items.
    pub(crate) ignored: Vec<String>,
}

impl Layout {
    /// Maps a canonical header. Missing required or item columns and
    /// duplicate names are file-level errors.
    pub(crate) fn canonical(path: &Path, header: &[String], inst: &Instrument) -> Result<Self> {
        let mut pos: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            if pos.insert(name.as_str(), i).is_some() {
                return Err(Error::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                });
            }
        }
        let required = |column: &str| {
            pos.get(column)
                .copied()
                .ok_or_else(|| Error::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                })
        };
        let response_id = required(schema::RESPONSE_ID)?;
        let unit_code = required(schema::UNIT_CODE)?;
        let period = required(schema::PERIOD)?;
        let ids = inst.item_ids();
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !pos.contains_key(id))
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingItems {
                path: path.to_path_buf(),
                instrument: inst.id.clone(),
                columns: missing.join(", "),
            });
        }
        let items = ids.iter().map(|id| pos[id]).collect();
        let known = |n: &str| {
            schema::REQUIRED.contains(&n) || schema::OPTIONAL.contains(&n) || ids.contains(&n)
        };
        let ignored = header
            .iter()
            .filter(|n| !known(n.as_str()))
            .cloned()
            .collect();
        Ok(Layout {
            n_fields: header.len(),
            names: header.to_vec(),
            response_id,
            unit_code,
            period,
            submitted_at: pos.get(schema::SUBMITTED_AT).copied(),
            channel: pos.get(schema::CHANNEL).copied(),
            weight: pos.get(schema::WEIGHT).copied(),
            items,
            ignored,
        })
    }
}

/// The bundled instrument whose items are all in `header`, or an error naming
/// the missing item columns of the closest one.
pub(crate) fn detect_instrument(path: &Path, header: &[String]) -> Result<Instrument> {
    if let Some(inst) = sipas_core::bundled::detect_instrument(header) {
        return Ok(inst);
    }
    let closest = sipas_core::bundled::instruments()
        .into_iter()
        .map(|inst| {
            let missing: Vec<String> = inst
                .item_ids()
                .iter()
                .filter(|id| !header.iter().any(|h| h == *id))
                .map(|s| (*s).to_string())
                .collect();
            (inst, missing)
        })
        .min_by_key(|(inst, missing)| (missing.len(), std::cmp::Reverse(inst.items().len())));
    let (closest, missing) = match closest {
        Some((inst, missing)) => (inst.id, missing.join(", ")),
        None => (String::from("none"), String::new()),
    };
    Err(Error::UnknownInstrument {
        path: path.to_path_buf(),
        closest,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(extra: &[&str], drop: &[&str]) -> Vec<String> {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        let mut h: Vec<String> = ["response_id", "unit_code", "period"]
            .iter()
            .chain(inst.item_ids().iter())
            .chain(extra.iter())
            .filter(|c| !drop.contains(c))
            .map(|s| (*s).to_string())
            .collect();
        h.rotate_left(1);
        h
    }

    #[test]
    fn maps_columns_in_any_order_and_lists_ignored_ones() {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        let h = header(&["note", "weight"], &[]);
        let l = Layout::canonical(Path::new("f.csv"), &h, &inst).unwrap();
        assert_eq!(h[l.response_id], "response_id");
        assert_eq!(h[l.items[0]], "a1");
        assert_eq!(h[l.weight.unwrap()], "weight");
        assert_eq!(l.ignored, vec!["note".to_string()]);
        assert!(l.channel.is_none());
    }

    #[test]
    fn closest_instrument_names_missing_items() {
        let h = header(&[], &["e3", "e4"]);
        let err = detect_instrument(Path::new("f.csv"), &h).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("closest is sipas-2017"), "{msg}");
        assert!(msg.ends_with("missing item columns: e3, e4"), "{msg}");
    }
}
