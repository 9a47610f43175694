//! JSON inputs: an array of objects, or NDJSON (one object per line).
//! Nested objects are flattened with `/` (`{"g": {"a1": "4"}}` → `g/a1`);
//! strings, numbers and booleans become text, `null` is empty, arrays are
//! kept as JSON text. The header is the union of the keys in order of first
//! appearance. Lines: NDJSON = the physical line; array = the line where the
//! object starts.

use std::collections::HashMap;

use csv::ByteRecord;
use serde_json::Value;

use crate::input::Loaded;

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}/{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&key(k), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::Bool(b) => out.push((prefix.to_string(), b.to_string())),
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::Array(_) => out.push((prefix.to_string(), v.to_string())),
    }
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

fn parse_object(bytes: &[u8]) -> Flat {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => {
            let mut out = Vec::new();
            flatten("", &v, &mut out);
            Ok(out)
        }
        Ok(_) => Err("the JSON value is not an object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// Loads a JSON or NDJSON file: a synthesized header record (line 0), then
/// one record per object.
pub(crate) fn load(raw: &[u8], ndjson: bool) -> Loaded {
    let text = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let mut objects: Vec<(u64, Flat)> = Vec::new();
    if ndjson {
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            objects.push((i as u64 + 1, parse_object(line)));
        }
    } else {
        let mut line = 1u64;
        let mut at = 0usize;
        for (start, end) in array_elements(text) {
            line += crate::input::count_newlines(&text[at..start]);
            at = start;
            objects.push((line, parse_object(&text[start..end])));
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
        let got = rows(&load(text, false));
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
        let got = rows(&load(text, true));
        assert_eq!(got.len(), 4);
        assert_eq!(got[1], (1, Ok(vec!["1".into(), String::new()])));
        assert_eq!(got[2], (3, Ok(vec!["2.0".into(), "true".into()])));
        assert_eq!(got[3].0, 4);
        assert!(got[3].1.as_ref().unwrap_err().starts_with("invalid JSON"));
    }
}
