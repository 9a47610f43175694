//! The local raw store of a source: `records.ndjson` (one flattened JSON
//! object per line, unique ids, sorted by id) and `state.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::SyncReport;
use super::config::SourceKind;
use super::error::{Error, Result};

/// File name of the records of a source.
pub const RECORDS_FILE: &str = "records.ndjson";
/// File name of the sync state of a source.
pub const STATE_FILE: &str = "state.json";

/// `state.json`: where a source's sync stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreState {
    /// Format version (1).
    pub version: u32,
    /// The source's name.
    pub source: String,
    /// The platform.
    pub kind: SourceKind,
    /// Greatest submission time among the stored records.
    pub watermark: Option<String>,
    /// Records stored.
    pub records: u64,
    /// Pages fetched over all runs.
    pub pages_fetched_total: u64,
    /// Runs started (including failed ones).
    pub runs: u64,
    /// Summary of the last (or current) run.
    pub last_run: Option<SyncReport>,
}

/// Folder of a source in the store.
pub fn source_dir(store_dir: &Path, source_name: &str) -> PathBuf {
    store_dir.join(source_name)
}

/// `store_dir/<source name>/records.ndjson`: the file to hand to the ingest.
pub fn records_path(store_dir: &Path, source_name: &str) -> PathBuf {
    source_dir(store_dir, source_name).join(RECORDS_FILE)
}

/// Reads `store_dir/<source name>/state.json`, if the source was synced before.
pub fn read_state(store_dir: &Path, source_name: &str) -> Result<Option<StoreState>> {
    let path = source_dir(store_dir, source_name).join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Store {
            path,
            line: e.line() as u64,
            reason: e.to_string(),
        })
}

/// Flattens nested objects into one level, joining keys with `/`
/// (`{"__system": {"submissionDate": …}}` → `__system/submissionDate`).
/// Arrays are kept as they are; empty nested objects disappear.
pub(crate) fn flatten(obj: Map<String, Value>) -> Map<String, Value> {
    crate::platform::flatten(obj)
}

/// How a received record changed the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Merge {
    New,
    Updated,
    Unchanged,
}

#[derive(Clone, Debug)]
struct Stored {
    line: String,
    time: Option<String>,
}

/// The records of a source, in memory, keyed by id.
pub(crate) struct Store {
    dir: PathBuf,
    records: BTreeMap<String, Stored>,
    pub(crate) pages_fetched_total: u64,
    pub(crate) runs: u64,
}

/// Id and time of a flattened record.
pub(crate) type KeyFn = fn(&Map<String, Value>) -> Option<String>;

impl Store {
    /// Opens (or starts) the store of a source.
    pub(crate) fn open(dir: PathBuf, id_of: KeyFn, time_of: KeyFn) -> Result<Self> {
        let mut store = Self {
            records: BTreeMap::new(),
            pages_fetched_total: 0,
            runs: 0,
            dir,
        };
        let path = store.dir.join(RECORDS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let bad = |reason: String| Error::Store {
                        path: path.clone(),
                        line: i as u64 + 1,
                        reason,
                    };
                    let obj: Map<String, Value> = serde_json::from_str(line)
                        .map_err(|e| bad(format!("not a JSON object ({e})")))?;
                    let id = id_of(&obj).ok_or_else(|| bad("record without id".to_owned()))?;
                    let time = time_of(&obj);
                    store.records.insert(
                        id,
                        Stored {
                            line: line.to_owned(),
                            time,
                        },
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
        let source_name = store
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = store.dir.parent().unwrap_or(Path::new("."));
        if let Some(state) = read_state(parent, &source_name)? {
            store.pages_fetched_total = state.pages_fetched_total;
            store.runs = state.runs;
        }
        Ok(store)
    }

    /// Inserts or replaces a (flattened) record.
    pub(crate) fn merge(
        &mut self,
        id: String,
        time: Option<String>,
        record: &Map<String, Value>,
    ) -> Merge {
        let line = Value::Object(record.clone()).to_string();
        match self.records.get_mut(&id) {
            Some(old) if old.line == line => Merge::Unchanged,
            Some(old) => {
                *old = Stored { line, time };
                Merge::Updated
            }
            None => {
                self.records.insert(id, Stored { line, time });
                Merge::New
            }
        }
    }

    /// Removes a record (e.g. one rejected since it was stored).
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        self.records.remove(id).is_some()
    }

    pub(crate) fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// Greatest submission time stored.
    pub(crate) fn watermark(&self) -> Option<String> {
        self.records.values().filter_map(|r| r.time.clone()).max()
    }

    /// Writes `records.ndjson` then `state.json`, each atomically.
    pub(crate) fn save(&self, state: &StoreState) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let mut records = String::new();
        for r in self.records.values() {
            records.push_str(&r.line);
            records.push('\n');
        }
        write_atomic(&self.dir.join(RECORDS_FILE), records.as_bytes())?;
        let mut json = serde_json::to_string_pretty(state).map_err(|e| Error::Store {
            path: self.dir.join(STATE_FILE),
            line: 0,
            reason: e.to_string(),
        })?;
        json.push('\n');
        write_atomic(&self.dir.join(STATE_FILE), json.as_bytes())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    sipas_core::atomic::write_bytes(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_nested_objects_with_slashes() {
        let Value::Object(obj) = json!({
            "__id": "uuid:1",
            "__system": {"submissionDate": "2024-01-02T00:00:00.000Z", "reviewState": null},
            "g1": {"inner": {"q": "3"}, "empty": {}},
            "group/q2": "4",
            "rep": [{"a": 1}]
        }) else {
            unreachable!()
        };
        let flat = flatten(obj);
        let keys: Vec<&str> = flat.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "__id",
                "__system/reviewState",
                "__system/submissionDate",
                "g1/inner/q",
                "group/q2",
                "rep"
            ]
        );
        assert_eq!(flat["g1/inner/q"], json!("3"));
        assert_eq!(flat["rep"], json!([{"a": 1}]));
    }
}
