//! Repeat-group tables (ODK Central's `form-repeat.csv`, Kobo's repeat
//! sheets): not responses. Skipped with a note by default; with
//! [`RepeatPolicy::Keep`] each is written as its own table,
//! `DIR/repeats/<source>.csv`, keyed to its submission by
//! `parent_response_id`.

use std::path::Path;

use crate::input::{Loaded, clean_name};
use crate::{Error, Result};

/// What to do with repeat-group tables.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RepeatPolicy {
    /// Skip them, with a note in the report's `skipped` (the default).
    #[default]
    Skip,
    /// Also write each as `repeats/<source>.csv`: a `parent_response_id`
    /// column (ODK `PARENT_KEY` up to its first `/`, Kobo
    /// `_submission__uuid`; empty when the table has neither), then the
    /// table's own columns and values as read.
    Keep,
}

impl std::str::FromStr for RepeatPolicy {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "skip" => Ok(RepeatPolicy::Skip),
            "keep" => Ok(RepeatPolicy::Keep),
            other => Err(format!(
                "unknown repeats policy `{other}` (expected skip or keep)"
            )),
        }
    }
}

/// A repeat-group table found among the inputs.
#[derive(Debug)]
pub(crate) struct RepeatTable {
    /// The source's report name (`form.zip#form-repeat.csv`).
    pub(crate) name: String,
    pub(crate) path: std::path::PathBuf,
    pub(crate) loaded: Loaded,
    /// Index of the header record.
    pub(crate) header: usize,
}

/// The file name a table is written under: the source's file (and sheet)
/// name, characters other than letters, digits, `-`, `_` and `.` as `_`.
fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.strip_suffix(".csv").unwrap_or(&safe).to_string();
    format!("{safe}.csv")
}

/// The submission a repeat row belongs to: ODK's `PARENT_KEY` (the root
/// instance id, before any `/group[n]` of a nested repeat) or Kobo's
/// `_submission__uuid`.
fn parent_id(names: &[String], rec: crate::input::Record<'_>) -> String {
    let get = |col: &str| {
        names
            .iter()
            .position(|n| n == col)
            .and_then(|i| rec.get(i))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    };
    if let Some(k) = get("PARENT_KEY") {
        return k.split('/').next().unwrap_or_default().to_string();
    }
    get("_submission__uuid").unwrap_or_default()
}

/// Writes the tables into `dir/repeats/` (atomically, one file each);
/// returns the relative paths written.
pub(crate) fn write_tables(dir: &Path, tables: &[RepeatTable]) -> Result<Vec<String>> {
    let mut written = Vec::new();
    if tables.is_empty() {
        return Ok(written);
    }
    let out = dir.join("repeats");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path: path.clone(),
            source,
        }
    };
    std::fs::create_dir_all(&out).map_err(io(&out))?;
    for t in tables {
        let mut names: Vec<String> = Vec::new();
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        t.loaded.scan(&t.path, &mut |i, _, row| {
            let Ok(rec) = row else { return true };
            if i == t.header {
                names = rec
                    .iter()
                    .map(|f| clean_name(&String::from_utf8_lossy(f)))
                    .collect();
                let mut head = vec!["parent_response_id".to_string()];
                head.extend(names.iter().cloned());
                w.write_record(&head)
                    .expect("writing to memory cannot fail");
            } else if i > t.header && rec.iter().any(|f| !f.iter().all(u8::is_ascii_whitespace)) {
                let mut row = csv::ByteRecord::new();
                row.push_field(parent_id(&names, rec).as_bytes());
                for f in rec.iter() {
                    row.push_field(f);
                }
                w.write_byte_record(&row)
                    .expect("writing to memory cannot fail");
            }
            true
        })?;
        let bytes = w.into_inner().expect("flushing to memory cannot fail");
        let name = file_name(&t.name);
        let target = out.join(&name);
        sipas_core::csv_out::write(&target, &bytes).map_err(io(&target))?;
        written.push(format!("repeats/{name}"));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_parent_ids() {
        assert_eq!(
            file_name("/x/odk.zip#sipas-grp_visits.csv"),
            "odk.zip_sipas-grp_visits.csv"
        );
        assert_eq!(file_name("k.xlsx#grp visits"), "k.xlsx_grp_visits.csv");
        let names: Vec<String> = ["thu_tuc", "PARENT_KEY", "KEY"].map(String::from).to_vec();
        let rec = csv::ByteRecord::from(vec!["x", "uuid:ab/grp[1]", "uuid:ab/grp[1]/sub[2]"]);
        let mut bounds = Vec::new();
        let r = crate::input::Record::of(&rec, &mut bounds);
        assert_eq!(parent_id(&names, r), "uuid:ab");
        let names: Vec<String> = ["v", "_submission__uuid"].map(String::from).to_vec();
        let rec = csv::ByteRecord::from(vec!["x", " ab "]);
        let mut bounds = Vec::new();
        let r = crate::input::Record::of(&rec, &mut bounds);
        assert_eq!(parent_id(&names, r), "ab");
    }
}
