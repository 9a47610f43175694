//! The record reader shared by file ingest and `sync`: what KoboToolbox and
//! ODK Central send, and how one of their records becomes a row.
//!
//! - A KoboToolbox API v2 data page is `{"count", "next", "previous",
//!   "results": [record…]}`; its records carry group paths in their keys
//!   (`grp_access/a1`), `_uuid`, `_submission_time`, `_validation_status`
//!   (an object: `uid`, `label`…) and repeat groups as arrays of objects.
//! - An ODK Central OData page is `{"@odata.context", "value": [record…],
//!   "@odata.nextLink"?, "@odata.count"?}`; its records nest groups as
//!   objects (`{"grp_access": {"a1": "4"}}`), carry `__id` and `__system`
//!   (`submissionDate`, `reviewState`…), and point to repeat tables with
//!   `<repeat>@odata.navigationLink` (or hold them as arrays with `$expand`).
//!
//! [`flatten`] joins nested object keys with `/` (what the sync store
//! keeps); [`record_fields`] turns a flattened record into text fields, the
//! repeats set aside.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The platform a saved API page comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PageKind {
    /// KoboToolbox API v2 (`count`, `next`, `previous`, `results`).
    Kobo,
    /// ODK Central OData (`@odata.context`, `value`, `@odata.nextLink`).
    Odk,
}

/// One page of an API response.
#[derive(Debug)]
pub(crate) struct Page {
    /// The records, as sent.
    pub(crate) records: Vec<Value>,
    /// The next page's URL, if any.
    pub(crate) next: Option<String>,
    /// The number of submissions the server reported for the whole query
    /// (Kobo `count`, ODK `@odata.count` when asked for), if any.
    pub(crate) count: Option<u64>,
}

/// Which platform page a JSON object is, from its keys: `results` (array)
/// with `count` or `next` is Kobo; `value` (array) with an `@odata.` key is
/// ODK.
pub(crate) fn page_kind(obj: &Map<String, Value>) -> Option<PageKind> {
    let array = |k: &str| obj.get(k).is_some_and(Value::is_array);
    if array("results") && (obj.contains_key("count") || obj.contains_key("next")) {
        return Some(PageKind::Kobo);
    }
    if array("value") && obj.keys().any(|k| k.starts_with("@odata.")) {
        return Some(PageKind::Odk);
    }
    None
}

/// Splits a page into its records, next link and count, or says what is
/// wrong with it.
pub(crate) fn parse_page(kind: PageKind, page: Value) -> Result<Page, String> {
    let (records_key, next_key, count_key) = match kind {
        PageKind::Kobo => ("results", "next", "count"),
        PageKind::Odk => ("value", "@odata.nextLink", "@odata.count"),
    };
    let Value::Object(mut obj) = page else {
        return Err(format!("expected a JSON object with `{records_key}`"));
    };
    let records = match obj.remove(records_key) {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(format!("`{records_key}` is not an array")),
        None => return Err(format!("no `{records_key}` field")),
    };
    let next = match obj.remove(next_key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(format!("`{next_key}` is neither a URL nor null")),
    };
    let count = obj.get(count_key).and_then(Value::as_u64);
    Ok(Page {
        records,
        next,
        count,
    })
}

/// Nested objects flattened, keys joined with `/` (`{"g": {"q": 1}}` →
/// `g/q`); other values (arrays included) kept as they are. An empty object
/// (Kobo's `_validation_status: {}`) gives no key.
pub(crate) fn flatten(obj: Map<String, Value>) -> Map<String, Value> {
    fn walk(prefix: &str, obj: Map<String, Value>, out: &mut Map<String, Value>) {
        for (k, v) in obj {
            let key = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}/{k}")
            };
            match v {
                Value::Object(inner) => walk(&key, inner, out),
                other => {
                    out.insert(key, other);
                }
            }
        }
    }
    let mut out = Map::new();
    walk("", obj, &mut out);
    out
}

/// A record as text fields, with its repeat groups set aside.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// (key, text) in key order: strings as they are, numbers and booleans
    /// as JSON text, `null` empty, arrays of scalars as JSON text.
    pub(crate) fields: Vec<(String, String)>,
    /// Repeat groups: key → number of entries (arrays of objects, and ODK's
    /// `…@odata.navigationLink` references, counted as 0 entries).
    pub(crate) repeats: BTreeMap<String, usize>,
}

/// What a record means as a row: [`flatten`], then every value as text;
/// arrays of objects (repeat groups) and OData navigation links are not
/// fields (they are counted in [`Fields::repeats`]).
pub(crate) fn record_fields(obj: Map<String, Value>) -> Fields {
    let mut out = Fields::default();
    for (k, v) in flatten(obj) {
        if let Some(name) = k.strip_suffix("@odata.navigationLink") {
            out.repeats.entry(name.to_string()).or_insert(0);
            continue;
        }
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            Value::Array(a) if a.iter().any(Value::is_object) => {
                *out.repeats.entry(k).or_insert(0) += a.len();
                continue;
            }
            v @ (Value::Array(_) | Value::Object(_)) => v.to_string(),
        };
        out.fields.push((k, text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_are_recognised_by_their_keys() {
        let kind = |v: Value| match v {
            Value::Object(o) => page_kind(&o),
            _ => None,
        };
        assert_eq!(
            kind(json!({"count": 2, "next": null, "previous": null, "results": []})),
            Some(PageKind::Kobo)
        );
        assert_eq!(
            kind(json!({"@odata.context": "x/$metadata#Submissions", "value": []})),
            Some(PageKind::Odk)
        );
        assert_eq!(kind(json!({"value": [], "other": 1})), None);
        assert_eq!(kind(json!({"results": 3, "count": 1})), None);
        let page = parse_page(
            PageKind::Odk,
            json!({"@odata.context": "c", "@odata.count": 5, "@odata.nextLink": "n", "value": [{}]}),
        )
        .unwrap();
        assert_eq!(
            (page.records.len(), page.next.as_deref(), page.count),
            (1, Some("n"), Some(5))
        );
    }

    #[test]
    fn records_unwrap_groups_and_set_repeats_aside() {
        let Value::Object(obj) = json!({
            "__id": "uuid:1",
            "__system": {"submissionDate": "2024-01-02T00:00:00.000Z", "reviewState": null},
            "grp_access": {"a1": "4", "inner": {"a2": 5}},
            "_validation_status": {},
            "grp_members": [{"grp_members/name": "x"}, {"grp_members/name": "y"}],
            "visits@odata.navigationLink": "Submissions('uuid:1')/visits",
            "tags": ["a", "b"],
            "ok": true
        }) else {
            unreachable!()
        };
        let f = record_fields(obj);
        let keys: Vec<&str> = f.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "__id",
                "__system/reviewState",
                "__system/submissionDate",
                "grp_access/a1",
                "grp_access/inner/a2",
                "ok",
                "tags"
            ]
        );
        assert_eq!(f.fields[1].1, "");
        assert_eq!(f.fields[4].1, "5");
        assert_eq!(f.fields[6].1, "[\"a\",\"b\"]");
        assert_eq!(
            f.repeats.into_iter().collect::<Vec<_>>(),
            [("grp_members".to_string(), 2), ("visits".to_string(), 0)]
        );
    }
}
