//! The pilot units and when the pilot starts.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::{Error, Period, Result, UnitRegistry};

/// Pilot units and the first period of the pilot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PilotSet {
    /// Name of the programme.
    pub program: String,
    /// First period in which the pilot is in force.
    pub start: Period,
    /// GSO codes of the pilot units.
    pub units: BTreeSet<String>,
}

impl PilotSet {
    /// Reads a pilot TOML file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses a pilot definition; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|source| Error::Toml {
            origin: origin.to_string(),
            source,
        })
    }

    /// Whether a unit is a pilot unit.
    pub fn contains(&self, code: &str) -> bool {
        self.units.contains(code)
    }

    /// Checks that every pilot code is a known unit.
    pub fn check_against(&self, units: &UnitRegistry, origin: &str) -> Result<()> {
        if let Some(bad) = self.units.iter().find(|c| !units.contains(c)) {
            return Err(Error::Invalid {
                origin: origin.to_string(),
                message: format!("pilot unit {bad} is not in the unit list"),
            });
        }
        Ok(())
    }
}
