//! JSON inputs: an array of objects, NDJSON (one object per line), or a
//! saved KoboToolbox / ODK Central API page (its `results` / `value`
//! array). Each record is read by [`crate::platform::record_fields`], as in
//! `sync`: nested objects are flattened with `/` (`{"g": {"a1": "4"}}` →
//! `g/a1`); strings, numbers and booleans become text, `null` is empty,
//! arrays of scalars are kept as JSON text, repeat groups (arrays of objects,
//! OData navigation links) are set aside and counted. The header is the union
//! of the keys in order of first appearance. Lines: NDJSON = the physical
//! line; array and page = the line where the object starts.

use std::collections::{BTreeMap, HashMap};

use csv::ByteRecord;
use serde_json::Value;

use crate::input::Loaded;
use crate::platform::{PageKind, record_fields};

/// How a JSON file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    /// `[ {…}, … ]`.
    Array,
    /// One object per line.
    Ndjson,
    /// A saved API page.
    Page(PageKind),
}

/// What a JSON file said besides its records.
#[derive(Debug, Default)]
pub(crate) struct JsonInfo {
    /// For a page: the server's count of the whole query, and whether it
    /// has a next page.
    pub(crate) count: Option<u64>,
    pub(crate) next: Option<String>,
    /// Repeat groups: name → (records holding it, entries).
    pub(crate) repeats: BTreeMap<String, (usize, usize)>,
}

/// The byte offset of the value of top-level key `key` of the JSON object
/// in `text`, if any.
fn top_level_value(text: &[u8], key: &str) -> Option<usize> {
    let (mut depth, mut i) = (0i32, 0usize);
    let n = text.len();
    while i < n {
        match text[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < n && text[j] != b'"' {
                    j += if text[j] == b'\\' { 2 } else { 1 };
                }
                let name = text.get(start..j)?;
                i = j + 1;
                if depth == 1 {
                    let mut k = i;
                    while k < n && text[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < n && text[k] == b':' && name == key.as_bytes() {
                        k += 1;
                        while k < n && text[k].is_ascii_whitespace() {
                            k += 1;
                        }
                        return Some(k);
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Byte ranges of the top-level elements of a JSON array (an unterminated
/// array gives its remainder as a last element, which then fails to parse).
fn array_elements(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let Some(open) = text.iter().position(|&b| b == b'[') else {
        return out;
    };
    let mut i = open + 1;
    let n = text.len();
    loop {
        while i < n && (text[i].is_ascii_whitespace() || text[i] == b',') {
            i += 1;
        }
        if i >= n || text[i] == b']' {
            return out;
        }
        let start = i;
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        while i < n {
            let b = text[i];
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        let mut end = i;
        while end > start && text[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        out.push((start, end));
    }
}

type Flat = std::result::Result<Vec<(String, String)>, String>;

fn parse_object(bytes: &[u8], info: &mut JsonInfo) -> Flat {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(obj)) => {
            let f = record_fields(obj);
            for (name, entries) in f.repeats {
                let e = info.repeats.entry(name).or_default();
                e.0 += 1;
                e.1 += entries;
            }
            Ok(f.fields)
        }
        Ok(_) => Err("the JSON value is not an object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// Loads a JSON, NDJSON or page file: a synthesized header record (line 0),
/// then one record per object.
pub(crate) fn load(raw: &[u8], kind: JsonKind) -> (Loaded, JsonInfo) {
    let text = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let mut info = JsonInfo::default();
    let mut objects: Vec<(u64, Flat)> = Vec::new();
    let mut elements = |text: &[u8], from: usize, info: &mut JsonInfo| {
        let mut line = 1 + crate::input::count_newlines(&text[..from]);
        let mut at = from;
        for (start, end) in array_elements(&text[from..]) {
            let (start, end) = (from + start, from + end);
            line += crate::input::count_newlines(&text[at..start]);
            at = start;
            objects.push((line, parse_object(&text[start..end], info)));
        }
    };
    match kind {
        JsonKind::Ndjson => {
            for (i, line) in text.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                objects.push((i as u64 + 1, parse_object(line, &mut info)));
            }
        }
        JsonKind::Array => elements(text, 0, &mut info),
        JsonKind::Page(kind) => {
            let key = match kind {
                PageKind::Kobo => "results",
                PageKind::Odk => "value",
            };
            match serde_json::from_slice::<Value>(text)
                .map_err(|e| format!("invalid JSON: {e}"))
                .and_then(|v| crate::platform::parse_page(kind, v))
            {
                Ok(page) => {
                    info.count = page.count;
                    info.next = page.next;
                    if let Some(at) = top_level_value(text, key) {
                        elements(text, at, &mut info);
                    }
                }
                Err(msg) => objects.push((1, Err(msg))),
            }
        }
    }
    let mut keys: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (_, o) in &objects {
        if let Ok(fields) = o {
            for (k, _) in fields {
                if !index.contains_key(k) {
                    index.insert(k.clone(), keys.len());
                    keys.push(k.clone());
                }
            }
        }
    }
    let mut recs = Vec::with_capacity(objects.len() + 1);
    recs.push((
        0,
        Ok(keys.iter().map(String::as_bytes).collect::<ByteRecord>()),
    ));
    for (line, o) in objects {
        let rec = o.map(|fields| {
            let mut row = vec![String::new(); keys.len()];
            for (k, v) in fields {
                row[index[&k]] = v;
            }
            row.iter().map(String::as_bytes).collect::<ByteRecord>()
        });
        recs.push((line, rec));
    }
    (Loaded::Records(recs), info)
}

/// Rewrites the records of a source (header record first) to the header
/// `union` (a superset of its own): the pages of one data set share one
/// header, so that a question nobody answered on one page is an empty
/// column there, not a missing one.
pub(crate) fn widen(loaded: Loaded, union: &[String]) -> Loaded {
    let Loaded::Records(mut recs) = loaded else {
        return loaded;
    };
    let Some((_, Ok(header))) = recs.first() else {
        return Loaded::Records(recs);
    };
    let index: HashMap<&str, usize> = union
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let to: Vec<usize> = header
        .iter()
        .map(|f| index[String::from_utf8_lossy(f).as_ref()])
        .collect();
    recs[0].1 = Ok(union.iter().map(String::as_bytes).collect());
    for (_, rec) in recs.iter_mut().skip(1) {
        if let Ok(r) = rec {
            let mut row: Vec<&[u8]> = vec![b""; union.len()];
            for (f, &j) in r.iter().zip(&to) {
                row[j] = f;
            }
            *r = row.into_iter().collect();
        }
    }
    Loaded::Records(recs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(l: &Loaded) -> Vec<(u64, std::result::Result<Vec<String>, String>)> {
        let Loaded::Records(r) = l else { panic!() };
        r.iter()
            .map(|(line, rec)| {
                let rec = rec.as_ref().map(|rec| {
                    rec.iter()
                        .map(|f| String::from_utf8(f.to_vec()).unwrap())
                        .collect()
                });
                (*line, rec.map_err(Clone::clone))
            })
            .collect()
    }

    #[test]
    fn arrays_flatten_groups_and_keep_start_lines() {
        let text = b"[\n  {\"id\": \"a\", \"g\": {\"sa1\": 4, \"n\": null}},\n  {\"id\": \"b,]\",\n   \"g\": {\"sa1\": \"5\"}, \"x\": [1]},\n  7\n]\n";
        let got = rows(&load(text, JsonKind::Array).0);
        assert_eq!(got[0].1.as_ref().unwrap(), &["g/n", "g/sa1", "id", "x"]);
        assert_eq!(
            got[1],
            (
                2,
                Ok(vec![String::new(), "4".into(), "a".into(), String::new()])
            )
        );
        assert_eq!(
            got[2],
            (
                3,
                Ok(vec![String::new(), "5".into(), "b,]".into(), "[1]".into()])
            )
        );
        assert_eq!(got[3].0, 5);
        assert!(got[3].1.is_err());
    }

    #[test]
    fn ndjson_lines_are_physical_and_bad_lines_fail_alone() {
        let text = b"{\"a\": \"1\"}\n\n{\"a\": 2.0, \"b\": true}\n{oops\n";
        let got = rows(&load(text, JsonKind::Ndjson).0);
        assert_eq!(got.len(), 4);
        assert_eq!(got[1], (1, Ok(vec!["1".into(), String::new()])));
        assert_eq!(got[2], (3, Ok(vec!["2.0".into(), "true".into()])));
        assert_eq!(got[3].0, 4);
        assert!(got[3].1.as_ref().unwrap_err().starts_with("invalid JSON"));
    }

    #[test]
    fn pages_give_their_records_with_start_lines_and_count() {
        let text = b"{\n  \"count\": 2,\n  \"next\": null,\n  \"previous\": null,\n  \"results\": [\n    {\"_uuid\": \"a\", \"g/results\": \"4\", \"rep\": [{\"rep/x\": 1}]},\n    {\"_uuid\": \"b\"}\n  ]\n}\n";
        let (loaded, info) = load(text, JsonKind::Page(PageKind::Kobo));
        let got = rows(&loaded);
        assert_eq!(got[0].1.as_ref().unwrap(), &["_uuid", "g/results"]);
        assert_eq!(got[1], (6, Ok(vec!["a".into(), "4".into()])));
        assert_eq!(got[2], (7, Ok(vec!["b".into(), String::new()])));
        assert_eq!((info.count, info.next), (Some(2), None));
        assert_eq!(info.repeats.get("rep"), Some(&(1, 1)));
        // Widened to a data set's header: the missing key is an empty column.
        let union: Vec<String> = ["x", "g/results", "_uuid"].map(String::from).to_vec();
        let got = rows(&widen(loaded, &union));
        assert_eq!(got[0].1.as_ref().unwrap(), &union);
        assert_eq!(got[1].1.as_ref().unwrap(), &["", "4", "a"]);
        // An ODK page: records under `value`, even when a record has a `value` key.
        let text = br#"{"@odata.context":"c","value":[{"__id":"u1","value":"3","g":{"a1":"5"}}]}"#;
        let got = rows(&load(text, JsonKind::Page(PageKind::Odk)).0);
        assert_eq!(got[0].1.as_ref().unwrap(), &["__id", "g/a1", "value"]);
        assert_eq!(got[1], (1, Ok(vec!["u1".into(), "5".into(), "3".into()])));
    }
}
