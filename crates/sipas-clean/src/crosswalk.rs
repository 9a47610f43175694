//! Dated crosswalks between old and new unit codes.
//!
//! A crosswalk is a CSV `old_code,new_code,valid_from,note`: from
//! `valid_from` (ISO date) on, the unit `old_code` is part of `new_code`.
//! Chains (A→B, later B→C) are followed to the end. Mapping onto the *new*
//! units is always possible; mapping a new code back onto an *old* one only
//! when exactly one old unit lies behind it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sipas_core::UnitRegistry;

use crate::time::is_iso_date;
use crate::{Error, Result};

const THAI_NGUYEN: &str = include_str!("../../../fixtures/crosswalk/thai_nguyen.csv");

/// Which set of units responses are mapped onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrosswalkTarget {
    /// Old codes → new codes (a trend across the merge compares like with like).
    #[default]
    New,
    /// New codes → old codes, only where a new code stands for exactly one old unit.
    Old,
}

impl CrosswalkTarget {
    /// `new` or `old`.
    pub fn as_str(self) -> &'static str {
        match self {
            CrosswalkTarget::New => "new",
            CrosswalkTarget::Old => "old",
        }
    }
}

/// One line of a crosswalk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrosswalkEntry {
    /// The code that stops existing.
    pub old_code: String,
    /// The unit that takes it over.
    pub new_code: String,
    /// First day of the change (`YYYY-MM-DD`).
    pub valid_from: String,
    /// Legal source or remark.
    pub note: String,
}

/// A validated crosswalk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crosswalk {
    entries: Vec<CrosswalkEntry>,
    /// old code → final new code (chains followed).
    to_new: BTreeMap<String, String>,
}

fn is_code(s: &str) -> bool {
    s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Crosswalk {
    /// The Thái Nguyên crosswalk shipped in `fixtures/crosswalk/thai_nguyen.csv`
    /// (Nghị quyết 1240/NQ-UBTVQH15, in force 01/12/2024).
    pub fn thai_nguyen() -> Self {
        Self::from_csv_str(THAI_NGUYEN, "fixtures/crosswalk/thai_nguyen.csv")
            .expect("the bundled crosswalk is checked by the test suite")
    }

    /// Reads a crosswalk CSV file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_csv_str(&text, &path.display().to_string())
    }

    /// Parses a crosswalk CSV; `origin` names it in errors.
    pub fn from_csv_str(text: &str, origin: &str) -> Result<Self> {
        let bad = |line: usize, column: &str, message: String| Error::Crosswalk {
            origin: origin.to_string(),
            line,
            column: column.to_string(),
            message,
        };
        let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = rdr
            .headers()
            .map_err(|source| Error::Csv {
                origin: origin.to_string(),
                source,
            })?
            .clone();
        let col = |name: &str| -> Result<usize> {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| bad(1, name, "column is missing".into()))
        };
        let (io, inew, idate) = (col("old_code")?, col("new_code")?, col("valid_from")?);
        let inote = headers.iter().position(|h| h.trim() == "note");
        let mut entries: Vec<CrosswalkEntry> = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|source| Error::Csv {
                origin: origin.to_string(),
                source,
            })?;
            let get = |j: usize| rec.get(j).unwrap_or("").trim().to_string();
            let e = CrosswalkEntry {
                old_code: get(io),
                new_code: get(inew),
                valid_from: get(idate),
                note: inote.map(get).unwrap_or_default(),
            };
            for (column, v) in [("old_code", &e.old_code), ("new_code", &e.new_code)] {
                if !is_code(v) {
                    return Err(bad(
                        line,
                        column,
                        format!("`{v}` is not a 5-digit GSO code"),
                    ));
                }
            }
            if !is_iso_date(&e.valid_from) {
                return Err(bad(
                    line,
                    "valid_from",
                    format!("`{}` is not an ISO date (YYYY-MM-DD)", e.valid_from),
                ));
            }
            if e.old_code == e.new_code {
                return Err(bad(line, "new_code", "equals old_code".into()));
            }
            if entries.iter().any(|x| x.old_code == e.old_code) {
                return Err(bad(
                    line,
                    "old_code",
                    format!("{} is mapped twice", e.old_code),
                ));
            }
            entries.push(e);
        }
        let direct: BTreeMap<&str, &str> = entries
            .iter()
            .map(|e| (e.old_code.as_str(), e.new_code.as_str()))
            .collect();
        let mut to_new = BTreeMap::new();
        for (idx, e) in entries.iter().enumerate() {
            let mut seen = BTreeSet::from([e.old_code.as_str()]);
            let mut cur = e.new_code.as_str();
            while let Some(next) = direct.get(cur) {
                if !seen.insert(cur) {
                    return Err(bad(idx + 2, "new_code", "the crosswalk has a cycle".into()));
                }
                cur = next;
            }
            if seen.contains(cur) {
                return Err(bad(idx + 2, "new_code", "the crosswalk has a cycle".into()));
            }
            to_new.insert(e.old_code.clone(), cur.to_string());
        }
        entries.sort_by(|a, b| (&a.valid_from, &a.old_code).cmp(&(&b.valid_from, &b.old_code)));
        Ok(Crosswalk { entries, to_new })
    }

    /// The entries, by date then old code.
    pub fn entries(&self) -> &[CrosswalkEntry] {
        &self.entries
    }

    /// Whether the crosswalk mentions the code (as old or new).
    pub fn mentions(&self, code: &str) -> bool {
        self.to_new.contains_key(code) || self.to_new.values().any(|v| v == code)
    }

    /// The code `code` belongs to in the newest set of units (`None` if it is
    /// not an old code).
    pub fn to_new(&self, code: &str) -> Option<&str> {
        self.to_new.get(code).map(String::as_str)
    }

    /// The one old code behind a new code, when there is exactly one: the
    /// old codes mapped onto it, plus the code itself if the registry lists
    /// it (the receiving unit existed before). `None` if the code is not a new
    /// code, or if several old units lie behind it.
    pub fn to_old(&self, code: &str, registry: &UnitRegistry) -> Option<&str> {
        let mut behind = self
            .to_new
            .iter()
            .filter(|(_, n)| n.as_str() == code)
            .map(|(o, _)| o.as_str());
        let first = behind.next()?;
        if behind.next().is_some() || registry.contains(code) {
            return None;
        }
        Some(first)
    }

    /// Applies the crosswalk to a code for a target; `Some(new)` if remapped.
    pub fn apply(
        &self,
        code: &str,
        target: CrosswalkTarget,
        registry: &UnitRegistry,
    ) -> Option<String> {
        match target {
            CrosswalkTarget::New => self.to_new(code),
            CrosswalkTarget::Old => self.to_old(code, registry),
        }
        .map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipas_core::bundled;

    #[test]
    fn bundled_thai_nguyen_merges() {
        let c = Crosswalk::thai_nguyen();
        assert_eq!(c.entries().len(), 3);
        assert_eq!(c.to_new("05536"), Some("05569"));
        assert_eq!(c.to_new("05608"), Some("05644"));
        assert_eq!(c.to_new("05839"), Some("05845"));
        // Receiving unit not stated in the sources: not in the crosswalk.
        assert_eq!(c.to_new("05704"), None);
        assert_eq!(c.to_new("05782"), None);
        assert_eq!(c.to_new("05569"), None);
        assert!(c.entries().iter().all(|e| e.valid_from == "2024-12-01"));
        // Every receiving unit existed before: nothing maps back unambiguously.
        let reg = bundled::units();
        for e in c.entries() {
            assert!(reg.contains(&e.old_code) && reg.contains(&e.new_code));
            assert_eq!(c.to_old(&e.new_code, &reg), None);
        }
    }

    #[test]
    fn chains_and_renames() {
        let reg = bundled::units();
        let c = Crosswalk::from_csv_str(
            "old_code,new_code,valid_from,note\n90001,90002,2025-07-01,\n05536,90001,2024-12-01,rename\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.to_new("05536"), Some("90002"));
        assert_eq!(c.to_new("90001"), Some("90002"));
        // 90002 has two old codes behind it (05536 via the chain, and 90001).
        assert_eq!(c.to_old("90002", &reg), None);
        let r = Crosswalk::from_csv_str(
            "old_code,new_code,valid_from\n05536,90009,2024-12-01\n",
            "t",
        )
        .unwrap();
        assert_eq!(r.to_old("90009", &reg), Some("05536"));
        assert_eq!(r.entries()[0].valid_from, "2024-12-01");
    }

    #[test]
    fn rejects_bad_lines_naming_them() {
        let cases = [
            (
                "old_code,new_code,valid_from\n5536,05569,2024-12-01\n",
                "line 2, column old_code",
            ),
            (
                "old_code,new_code,valid_from\n05536,05569,01/12/2024\n",
                "line 2, column valid_from",
            ),
            (
                "old_code,new_code,valid_from\n05536,05536,2024-12-01\n",
                "line 2, column new_code",
            ),
            (
                "old_code,new_code,valid_from\n05536,05569,2024-12-01\n05536,05570,2024-12-01\n",
                "line 3, column old_code",
            ),
            (
                "old_code,new_code,valid_from\n05536,05569,2024-12-01\n05569,05536,2024-12-01\n",
                "cycle",
            ),
            (
                "old,new_code,valid_from\n",
                "column old_code: column is missing",
            ),
        ];
        for (text, want) in cases {
            let err = Crosswalk::from_csv_str(text, "t").unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
    }
}
