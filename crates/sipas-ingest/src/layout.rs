//! Where each field of the canonical table sits in a source's header.
//!
//! Column names are mapped by [`crate::mapping`]: the mapping file first,
//! then canonical names and item ids, platform keys (`_uuid`, `__id`, …),
//! Vietnamese headers (`Mã xã`, `Kỳ`, …) and finally the last segment of a
//! group path (`group_x/a1`). When several columns map to one field the
//! lowest rank wins (a code column beats a unit-name column); a tie is an
//! error.

use std::collections::HashMap;
use std::path::Path;

use sipas_core::Instrument;
use sipas_core::text::match_key;

use crate::input::{Loaded, Row, clean_name};
use crate::mapping::{Resolver, Target, item_of};
use crate::{Error, Result};

/// Column positions of one source.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Number of fields in the header (every record must have as many).
    pub(crate) n_fields: usize,
    /// Column names, as cleaned from the header.
    pub(crate) names: Vec<String>,
    pub(crate) response_id: usize,
    pub(crate) unit_code: usize,
    /// `None`: the period is derived from `submitted_at` by the date rule.
    pub(crate) period: Option<usize>,
    pub(crate) submitted_at: Option<usize>,
    pub(crate) channel: Option<usize>,
    pub(crate) weight: Option<usize>,
    pub(crate) district: Option<usize>,
    /// Position of each instrument item, in instrument order.
    pub(crate) items: Vec<usize>,
    /// Columns that map to nothing (or lost to a better-ranked column).
    pub(crate) ignored: Vec<String>,
    /// Position of each kept column (in the order of the run's keep list),
    /// `None` when the source lacks it.
    pub(crate) kept: Vec<Option<usize>>,
    /// The kept columns this source lacks, in keep-list order.
    pub(crate) missing_kept: Vec<String>,
    /// The platform's review decision (`_validation_status`, `ReviewState`…).
    pub(crate) review: Option<usize>,
    /// Which kept column is the review decision (written normalised).
    pub(crate) review_kept: Option<usize>,
    /// The instance id of the version (`meta/instanceID`, else `_uuid`).
    pub(crate) instance: Option<usize>,
    /// The instance id this version replaces (`meta/deprecatedID`).
    pub(crate) deprecated: Option<usize>,
}

/// The platform columns a header has that are written as kept columns:
/// `started_at` and `ended_at` (Kobo / ODK `start`, `end`) when it has both,
/// and `review_state`.
pub(crate) fn platform_kept(names: &[String], r: &Resolver) -> Vec<&'static str> {
    let none = |_: &str| None;
    let mut out = Vec::new();
    for n in names {
        let name = match r.resolve(n, &none).map(|(t, _)| t) {
            Some(Target::StartedAt) => crate::mapping::STARTED_AT,
            Some(Target::EndedAt) => crate::mapping::ENDED_AT,
            Some(Target::Review) => crate::mapping::REVIEW_STATE,
            _ => continue,
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    // A start without an end (or the reverse) gives no duration: not kept.
    let both = out.contains(&crate::mapping::STARTED_AT) && out.contains(&crate::mapping::ENDED_AT);
    if !both {
        out.retain(|n| *n == crate::mapping::REVIEW_STATE);
    }
    out
}

/// How many records at the top of a source are searched for the header.
const HEADER_SEARCH: usize = 30;

fn required_found(names: &[String], r: &Resolver) -> (bool, bool, bool) {
    let none = |_: &str| None;
    let mut found = (false, false, false, false);
    for n in names {
        match r.resolve(n, &none).map(|(t, _)| t) {
            Some(Target::ResponseId) => found.0 = true,
            Some(Target::Unit) => found.1 = true,
            Some(Target::Period) => found.2 = true,
            Some(Target::SubmittedAt) => found.3 = true,
            _ => {}
        }
    }
    let period = found.2 || (found.3 && r.period_from_date.is_some());
    (found.0, found.1, period)
}

/// The header of a source: the first record (of the first 30) that maps
/// `response_id`, the unit and the period. Rows above it (titles) are not
/// data. `None` when no record maps any of them (not a response table);
/// when only some are mapped, the first such record (so that the layout
/// names the missing column).
pub(crate) fn find_header(
    loaded: &Loaded,
    path: &Path,
    r: &Resolver,
) -> Result<Option<(usize, Vec<String>)>> {
    let mut found = None;
    let mut partial = None;
    loaded.scan(path, &mut |i, _line, row: Row<'_>| {
        if let Ok(rec) = row {
            let names: Vec<String> = rec
                .iter()
                .map(|f| clean_name(&String::from_utf8_lossy(f)))
                .collect();
            let (a, b, c) = required_found(&names, r);
            if a && b && c {
                found = Some((i, names));
                return false;
            }
            if (a || b || c) && partial.is_none() {
                partial = Some((i, names));
            }
        }
        i + 1 < HEADER_SEARCH
    })?;
    Ok(found.or(partial))
}

impl Layout {
    /// Maps a header. Missing required or item columns, duplicate names and
    /// ties between columns are errors for the source. `keep` lists the extra
    /// columns to keep (see [`crate::IngestOptions::keep_columns`]): a column
    /// the mapping file maps to a kept name, else an otherwise unused column
    /// named exactly so, else one whose [`match_key`] is equal, else one whose
    /// last group-path segment is (exactly, then by key).
    pub(crate) fn map(
        path: &Path,
        header: &[String],
        inst: &Instrument,
        r: &Resolver,
        keep: &[String],
    ) -> Result<Self> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            if !name.is_empty() && seen.insert(name.as_str(), i).is_some() {
                return Err(Error::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                });
            }
        }
        let item = item_of(inst);
        let ids = inst.item_ids();
        let mut best: HashMap<Target, (u8, usize)> = HashMap::new();
        let mut ignored = Vec::new();
        let mut kept: Vec<Option<usize>> = vec![None; keep.len()];
        for (i, name) in header.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            match r.resolve(name, &item) {
                None | Some((Target::Ignore, _)) => ignored.push(name.clone()),
                Some((t, rank)) => {
                    if let Target::Item(id) = &t
                        && !ids.contains(&id.as_str())
                        && let Some(k) = keep.iter().position(|c| c == id)
                    {
                        // The mapping file names a kept column.
                        if let Some(i0) = kept[k] {
                            return Err(Error::AmbiguousColumn {
                                path: path.to_path_buf(),
                                field: id.clone(),
                                columns: format!("{}, {name}", header[i0]),
                            });
                        }
                        kept[k] = Some(i);
                        continue;
                    }
                    if let Target::Item(id) = &t
                        && !ids.contains(&id.as_str())
                    {
                        return Err(Error::Mapping {
                            path: path.to_path_buf(),
                            message: format!(
                                "column `{name}` maps to `{id}`, which is neither a field, nor an item of instrument {}, nor a kept column",
                                inst.id
                            ),
                        });
                    }
                    match best.get(&t) {
                        Some(&(r0, i0)) if r0 == rank => {
                            return Err(Error::AmbiguousColumn {
                                path: path.to_path_buf(),
                                field: t.name().to_string(),
                                columns: format!("{}, {name}", header[i0]),
                            });
                        }
                        Some(&(r0, _)) if r0 < rank => ignored.push(name.clone()),
                        Some(&(_, i0)) => {
                            ignored.push(header[i0].clone());
                            best.insert(t, (rank, i));
                        }
                        None => {
                            best.insert(t, (rank, i));
                        }
                    }
                }
            }
        }
        let get = |t: &Target| best.get(t).map(|&(_, i)| i);
        let required = |t: Target| {
            get(&t).ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                column: t.name().to_string(),
            })
        };
        let response_id = required(Target::ResponseId)?;
        let unit_code = required(Target::Unit)?;
        let submitted_at = get(&Target::SubmittedAt);
        let period = match get(&Target::Period) {
            Some(p) => Some(p),
            None if r.period_from_date.is_some() && submitted_at.is_some() => None,
            None => Some(required(Target::Period)?),
        };
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| get(&Target::Item((*id).to_string())).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingItems {
                path: path.to_path_buf(),
                instrument: inst.id.clone(),
                columns: missing.join(", "),
            });
        }
        let items = ids
            .iter()
            .map(|id| get(&Target::Item((*id).to_string())).expect("checked above"))
            .collect();
        // Platform columns written as kept columns (see `platform_kept`).
        for t in [Target::StartedAt, Target::EndedAt, Target::Review] {
            if let (Some(i), Some(k)) = (get(&t), keep.iter().position(|c| c == t.name()))
                && kept[k].is_none()
            {
                kept[k] = Some(i);
            }
        }
        let review = get(&Target::Review);
        let review_kept = keep
            .iter()
            .position(|c| c == crate::mapping::REVIEW_STATE)
            .filter(|&k| review.is_some() && kept[k] == review);
        let find = |keys: &[&str]| keys.iter().find_map(|k| header.iter().position(|h| h == k));
        let instance = find(crate::mapping::INSTANCE_KEYS);
        let deprecated = find(crate::mapping::DEPRECATED_KEYS);
        if let Some(d) = deprecated {
            ignored.retain(|n| *n != header[d]);
        }
        let mut missing_kept = Vec::new();
        for (k, want) in keep.iter().enumerate() {
            if kept[k].is_some() {
                continue;
            }
            match find_kept(path, &ignored, want)? {
                Some(name) => {
                    ignored.retain(|n| *n != name);
                    kept[k] = header.iter().position(|h| *h == name);
                }
                None => missing_kept.push(want.clone()),
            }
        }
        ignored.sort();
        Ok(Layout {
            n_fields: header.len(),
            names: header.to_vec(),
            response_id,
            unit_code,
            period,
            submitted_at,
            channel: get(&Target::Channel),
            weight: get(&Target::Weight),
            district: get(&Target::District),
            items,
            ignored,
            kept,
            missing_kept,
            review,
            review_kept,
            instance,
            deprecated,
        })
    }
}

/// The unused column holding the kept column `want`: named exactly so, else
/// with an equal [`match_key`], else whose last group-path segment is (exactly,
/// then by key). Two candidates at the first step that finds any are an error.
fn find_kept(path: &Path, unused: &[String], want: &str) -> Result<Option<String>> {
    if unused.iter().any(|n| n == want) {
        return Ok(Some(want.to_string()));
    }
    let key = match_key(want);
    let last = |n: &String| n.rsplit_once('/').map(|(_, l)| l.to_string());
    let steps: [&dyn Fn(&String) -> bool; 3] = [
        &|n| match_key(n) == key,
        &|n| last(n).is_some_and(|l| l == want),
        &|n| last(n).is_some_and(|l| match_key(&l) == key),
    ];
    for step in steps {
        let found: Vec<&String> = unused.iter().filter(|n| step(n)).collect();
        match found.as_slice() {
            [] => {}
            [one] => return Ok(Some((*one).clone())),
            [a, b, ..] => {
                return Err(Error::AmbiguousColumn {
                    path: path.to_path_buf(),
                    field: want.to_string(),
                    columns: format!("{a}, {b}"),
                });
            }
        }
    }
    Ok(None)
}

/// The bundled instrument whose items all map from `header` (the largest
/// such), or an error naming the missing item columns of the closest one.
pub(crate) fn detect_instrument(
    path: &Path,
    header: &[String],
    r: &Resolver,
) -> Result<Instrument> {
    let scored: Vec<(Instrument, Vec<String>)> = sipas_core::bundled::instruments()
        .into_iter()
        .map(|inst| {
            let found: Vec<String> = {
                let item = item_of(&inst);
                header
                    .iter()
                    .filter_map(|h| match r.resolve(h, &item) {
                        Some((Target::Item(id), _)) => Some(id),
                        _ => None,
                    })
                    .collect()
            };
            let missing = inst
                .item_ids()
                .iter()
                .filter(|id| !found.iter().any(|f| f == *id))
                .map(|s| (*s).to_string())
                .collect();
            (inst, missing)
        })
        .collect();
    if let Some((inst, _)) = scored
        .iter()
        .filter(|(_, m)| m.is_empty())
        .max_by_key(|(i, _)| i.items().len())
    {
        return Ok(inst.clone());
    }
    let closest = scored
        .into_iter()
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
    use crate::Mapping;

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

    fn map(h: &[String]) -> Result<Layout> {
        let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
        Layout::map(
            Path::new("f.csv"),
            h,
            &inst,
            &Resolver::new(&Mapping::default()),
            &[],
        )
    }

    #[test]
    fn maps_columns_in_any_order_and_lists_ignored_ones() {
        let h = header(&["note", "weight"], &[]);
        let l = map(&h).unwrap();
        assert_eq!(h[l.response_id], "response_id");
        assert_eq!(h[l.items[0]], "a1");
        assert_eq!(h[l.weight.unwrap()], "weight");
        assert_eq!(l.ignored, vec!["note".to_string()]);
        assert!(l.channel.is_none());
    }

    #[test]
    fn a_code_column_beats_a_name_column_and_ties_are_errors() {
        let h = header(&["Xã/Phường", "Huyện"], &["unit_code"]);
        let l = map(&h).unwrap();
        assert_eq!(h[l.unit_code], "Xã/Phường");
        assert_eq!(h[l.district.unwrap()], "Huyện");
        let h = header(&["Xã/Phường", "Mã xã"], &["unit_code"]);
        let l = map(&h).unwrap();
        assert_eq!(h[l.unit_code], "Mã xã");
        assert_eq!(l.ignored, vec!["Xã/Phường".to_string()]);
        let h = header(&["Tên xã"], &[]);
        assert_eq!(h[map(&h).unwrap().unit_code], "unit_code");
        let h = header(&["g1/a1", "g2/a1"], &["a1"]);
        let e = map(&h).unwrap_err().to_string();
        assert!(e.contains("`a1`") && e.contains("g1/a1, g2/a1"), "{e}");
    }

    #[test]
    fn closest_instrument_names_missing_items() {
        let h = header(&[], &["e3", "e4"]);
        let r = Resolver::new(&Mapping::default());
        let err = detect_instrument(Path::new("f.csv"), &h, &r).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("closest is sipas-2017"), "{msg}");
        assert!(msg.ends_with("missing item columns: e3, e4"), "{msg}");
    }
}
