//! The official list of commune-level units.
//!
//! A unit is identified by its 5-digit GSO code. Names repeat across
//! districts (Tân Thịnh, Hương Sơn, …): never identify a unit by name alone.
//! The list is a CSV `code,name,kind,district_code,district_name`, NFC; the
//! district columns may be left out (units since 01/07/2025 have none).
//! The units in force at a date are a [`crate::UnitHistory`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::text::nfc;
use crate::{Error, Result};

/// Kind of commune-level unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Xã (rural commune).
    Xa,
    /// Phường (urban ward).
    Phuong,
    /// Thị trấn (district town).
    ThiTran,
}

impl UnitKind {
    /// The Vietnamese prefix written before the name (`Xã`, `Phường`, `Thị trấn`).
    pub fn prefix_vi(self) -> &'static str {
        match self {
            UnitKind::Xa => "Xã",
            UnitKind::Phuong => "Phường",
            UnitKind::ThiTran => "Thị trấn",
        }
    }

    /// The code used in files (`xa`, `phuong`, `thi_tran`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Xa => "xa",
            UnitKind::Phuong => "phuong",
            UnitKind::ThiTran => "thi_tran",
        }
    }
}

/// One commune-level unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Unit {
    /// 5-digit GSO code, text with leading zero.
    pub code: String,
    /// Official name without the kind prefix, NFC.
    pub name: String,
    /// Xã, phường or thị trấn.
    pub kind: UnitKind,
    /// 3-digit GSO district code; empty where districts no longer exist
    /// (the units in force from 01/07/2025).
    #[serde(default)]
    pub district_code: String,
    /// Full district name, prefix included; empty where districts no longer exist.
    #[serde(default)]
    pub district_name: String,
}

impl Unit {
    /// The full name with its prefix (`Phường Trưng Vương`).
    pub fn full_name(&self) -> String {
        format!("{} {}", self.kind.prefix_vi(), self.name)
    }
}

/// The units of a province, by GSO code.
#[derive(Debug, Clone, Default)]
pub struct UnitRegistry {
    units: BTreeMap<String, Unit>,
}

impl UnitRegistry {
    /// Reads a unit list CSV.
    pub fn from_path(path: &Path) -> Result<Self> {
        crate::source::parse_definition(path, Self::from_csv_str)
    }

    /// Parses a unit list CSV; `origin` names it in errors.
    pub fn from_csv_str(text: &str, origin: &str) -> Result<Self> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let mut units = BTreeMap::new();
        for (i, rec) in rdr.deserialize::<Unit>().enumerate() {
            let line = i + 2;
            let mut u = rec.map_err(|source| Error::Csv {
                origin: origin.to_string(),
                source,
            })?;
            if u.code.len() != 5 || !u.code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    message: format!(
                        "line {line}, column code: `{}` is not a 5-digit GSO code",
                        u.code
                    ),
                });
            }
            u.name = nfc(u.name.trim());
            u.district_name = nfc(u.district_name.trim());
            if let Some(prev) = units.insert(u.code.clone(), u) {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    message: format!("line {line}, column code: duplicate code {}", prev.code),
                });
            }
        }
        if units.is_empty() {
            return Err(Error::Invalid {
                origin: origin.to_string(),
                message: "no units".into(),
            });
        }
        Ok(UnitRegistry { units })
    }

    /// The unit with this code.
    pub fn get(&self, code: &str) -> Option<&Unit> {
        self.units.get(code)
    }

    /// Whether the code is known.
    pub fn contains(&self, code: &str) -> bool {
        self.units.contains_key(code)
    }

    /// All units, ordered by code.
    pub fn iter(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether there is no unit.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The units `keep` accepts.
    #[must_use]
    pub fn filtered(&self, keep: impl Fn(&Unit) -> bool) -> Self {
        UnitRegistry {
            units: self
                .units
                .iter()
                .filter(|(_, u)| keep(u))
                .map(|(c, u)| (c.clone(), u.clone()))
                .collect(),
        }
    }

    /// The units of both lists (two provinces in force side by side, e.g.
    /// Thái Nguyên's 172 and Bắc Kạn's 108 before 01/07/2025). A code in
    /// both is an error naming `origin`.
    pub fn union(&self, other: &UnitRegistry, origin: &str) -> Result<Self> {
        let mut units = self.units.clone();
        for (code, u) in &other.units {
            if units.insert(code.clone(), u.clone()).is_some() {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    message: format!("code {code} is in both unit lists"),
                });
            }
        }
        Ok(UnitRegistry { units })
    }
}

#[cfg(test)]
mod tests {
    use crate::bundled;

    #[test]
    fn thai_nguyen_has_177_units_126_41_10() {
        let r = bundled::units();
        assert_eq!(r.len(), 177);
        let count = |k| r.iter().filter(|u| u.kind == k).count();
        assert_eq!(count(super::UnitKind::Xa), 126);
        assert_eq!(count(super::UnitKind::Phuong), 41);
        assert_eq!(count(super::UnitKind::ThiTran), 10);
        let u = r.get("05536").unwrap();
        assert_eq!(u.full_name(), "Thị trấn Chợ Chu");
        assert_eq!(u.district_name, "Huyện Định Hóa");
    }

    #[test]
    fn rejects_a_malformed_code_naming_the_line() {
        let err = super::UnitRegistry::from_csv_str(
            "code,name,kind,district_code,district_name\n5443,Trưng Vương,phuong,164,TP\n",
            "u.csv",
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 2, column code"), "{err}");
    }
}
