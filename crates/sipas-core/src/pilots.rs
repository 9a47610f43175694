//! The pilot units and when the pilot starts: one start for all, or waves.
//!
//! A pilot file names the programme and either one start for all its units (the old form)
//!
//! ```toml
//! program = "…"
//! start = "2024Q1"
//! units = ["05443", "05500"]
//! ```
//!
//! or one or more waves, each with its own first treated period:
//!
//! ```toml
//! program = "…"
//! [[wave]]
//! start = "2024Q1"
//! units = ["05443", "Phường Tích Lương"]
//! [[wave]]
//! start = "2025Q1"
//! units = ["05506"]
//! ```
//!
//! A unit is given by its GSO code or by its name (with or without the kind prefix, as in the unit
//! list); names are turned into codes by [`PilotSet::resolve_against`]. A unit belongs to one wave.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::{Error, Period, Result, UnitRegistry};

/// One wave of a rollout: the units that start together and their first treated period.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// First period in which the wave's units are treated.
    pub start: Period,
    /// GSO codes (or, before [`PilotSet::resolve_against`], names) of the wave's units.
    pub units: BTreeSet<String>,
}

/// Pilot units and the first period of the pilot.
///
/// `start` and `units` are the first wave (the earliest start); `later_waves` the waves that
/// start after it (empty for a single start). [`PilotSet::waves`] lists them all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawPilots")]
pub struct PilotSet {
    /// Name of the programme.
    pub program: String,
    /// First period in which the (first wave of the) pilot is in force.
    pub start: Period,
    /// GSO codes of the units of the first wave.
    pub units: BTreeSet<String>,
    /// The waves starting after `start`, in order of start.
    pub later_waves: Vec<Wave>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPilots {
    program: String,
    start: Option<Period>,
    #[serde(default)]
    units: Option<BTreeSet<String>>,
    #[serde(default, rename = "wave")]
    waves: Vec<Wave>,
}

impl TryFrom<RawPilots> for PilotSet {
    type Error = String;

    fn try_from(r: RawPilots) -> std::result::Result<Self, String> {
        let mut waves = r.waves;
        match (r.start, r.units) {
            (Some(start), Some(units)) => waves.push(Wave { start, units }),
            (None, None) => {}
            (Some(_), None) => return Err("`start` is given without `units`".into()),
            (None, Some(_)) => return Err("`units` is given without `start`".into()),
        }
        if waves.is_empty() {
            return Err("no pilot units: give `start` and `units`, or one or more [[wave]]".into());
        }
        Self::from_waves(r.program, waves)
    }
}

impl PilotSet {
    /// One start for all pilot units (the form every caller used before waves).
    pub fn new(program: impl Into<String>, start: Period, units: BTreeSet<String>) -> Self {
        Self {
            program: program.into(),
            start,
            units,
            later_waves: Vec::new(),
        }
    }

    /// A pilot in waves. Waves with the same start are merged.
    ///
    /// # Errors
    /// No wave, a wave without units, or a unit in two waves.
    pub fn from_waves(
        program: impl Into<String>,
        waves: Vec<Wave>,
    ) -> std::result::Result<Self, String> {
        let mut by_start: BTreeMap<Period, BTreeSet<String>> = BTreeMap::new();
        let mut seen: BTreeMap<String, Period> = BTreeMap::new();
        for w in waves {
            if w.units.is_empty() {
                return Err(format!("the wave starting {} has no units", w.start));
            }
            for u in &w.units {
                if let Some(other) = seen.insert(u.clone(), w.start)
                    && other != w.start
                {
                    return Err(format!(
                        "unit {u} is in two waves ({other} and {})",
                        w.start
                    ));
                }
            }
            by_start.entry(w.start).or_default().extend(w.units);
        }
        let mut it = by_start.into_iter();
        let (start, units) = it.next().ok_or("no wave")?;
        Ok(Self {
            program: program.into(),
            start,
            units,
            later_waves: it.map(|(start, units)| Wave { start, units }).collect(),
        })
    }

    /// Reads a pilot TOML file.
    pub fn from_path(path: &Path) -> Result<Self> {
        crate::source::parse_definition(path, Self::from_toml_str)
    }

    /// Parses a pilot definition; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|source| Error::Toml {
            origin: origin.to_string(),
            source,
        })
    }

    /// Every wave, the first (`start`, `units`) first, in order of start.
    pub fn waves(&self) -> Vec<Wave> {
        let mut v = vec![Wave {
            start: self.start,
            units: self.units.clone(),
        }];
        v.extend(self.later_waves.iter().cloned());
        v
    }

    /// Whether the pilot comes in more than one wave.
    pub fn is_staggered(&self) -> bool {
        !self.later_waves.is_empty()
    }

    /// The first treated period of a unit of any wave (`None`: never treated).
    pub fn start_of(&self, code: &str) -> Option<Period> {
        if self.units.contains(code) {
            return Some(self.start);
        }
        self.later_waves
            .iter()
            .find(|w| w.units.contains(code))
            .map(|w| w.start)
    }

    /// Whether a unit is a pilot unit of the first wave.
    pub fn contains(&self, code: &str) -> bool {
        self.units.contains(code)
    }

    /// Whether a unit is a pilot unit of any wave.
    pub fn in_any_wave(&self, code: &str) -> bool {
        self.start_of(code).is_some()
    }

    /// Whether a unit is a pilot unit of a wave after the first.
    pub fn in_later_wave(&self, code: &str) -> bool {
        self.later_waves.iter().any(|w| w.units.contains(code))
    }

    /// Turns the units given by name into GSO codes: a name matches a unit's name with or without
    /// its kind prefix (`Trưng Vương`, `Phường Trưng Vương`), NFC, case as in the unit list.
    ///
    /// # Errors
    /// A name that matches no unit or several units, naming `origin`.
    pub fn resolve_against(&mut self, units: &UnitRegistry, origin: &str) -> Result<()> {
        let resolve = |set: &BTreeSet<String>| -> Result<BTreeSet<String>> {
            set.iter()
                .map(|u| {
                    if units.contains(u) {
                        return Ok(u.clone());
                    }
                    let name = crate::text::nfc(u.trim());
                    let hits: Vec<&str> = units
                        .iter()
                        .filter(|x| x.name == name || x.full_name() == name)
                        .map(|x| x.code.as_str())
                        .collect();
                    match hits.as_slice() {
                        [one] => Ok((*one).to_string()),
                        [] => Err(Error::Invalid {
                            origin: origin.to_string(),
                            message: format!(
                                "pilot unit {u:?} is neither a code nor a name in the unit list"
                            ),
                        }),
                        many => Err(Error::Invalid {
                            origin: origin.to_string(),
                            message: format!(
                                "pilot unit name {u:?} matches several units ({}); give the code",
                                many.join(", ")
                            ),
                        }),
                    }
                })
                .collect()
        };
        let mut waves = self.waves();
        for w in &mut waves {
            w.units = resolve(&w.units)?;
        }
        *self =
            Self::from_waves(self.program.clone(), waves).map_err(|message| Error::Invalid {
                origin: origin.to_string(),
                message,
            })?;
        Ok(())
    }

    /// Checks that every pilot code (of every wave) is a known unit.
    pub fn check_against(&self, units: &UnitRegistry, origin: &str) -> Result<()> {
        for w in self.waves() {
            if let Some(bad) = w.units.iter().find(|c| !units.contains(c)) {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    message: format!("pilot unit {bad} is not in the unit list"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and its sources, as the CLI prints them.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn the_old_single_start_form_still_parses() {
        let s = PilotSet::from_toml_str(
            "program = \"x\"\nstart = \"2024Q1\"\nunits = [\"05443\", \"05500\"]\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            s,
            PilotSet::new("x", p("2024Q1"), ["05443".into(), "05500".into()].into())
        );
        assert!(!s.is_staggered());
        assert_eq!(s.waves().len(), 1);
    }

    #[test]
    fn waves_parse_in_order_and_a_unit_knows_its_start() {
        let s = PilotSet::from_toml_str(
            "program = \"x\"\n[[wave]]\nstart = \"2025Q1\"\nunits = [\"05506\", \"05527\"]\n\
             [[wave]]\nstart = \"2024Q1\"\nunits = [\"05443\"]\n",
            "t",
        )
        .unwrap();
        assert!(s.is_staggered());
        assert_eq!(s.start, p("2024Q1"));
        assert_eq!(s.units, ["05443".to_string()].into());
        assert_eq!(s.later_waves.len(), 1);
        assert_eq!(s.start_of("05527"), Some(p("2025Q1")));
        assert_eq!(s.start_of("05443"), Some(p("2024Q1")));
        assert_eq!(s.start_of("05860"), None);
        assert!(!s.contains("05527") && s.in_any_wave("05527") && s.in_later_wave("05527"));
        assert!(s.contains("05443") && !s.in_later_wave("05443"));
    }

    #[test]
    fn a_unit_in_two_waves_or_no_units_is_refused() {
        let two = PilotSet::from_toml_str(
            "program = \"x\"\n[[wave]]\nstart = \"2024Q1\"\nunits = [\"05443\"]\n\
             [[wave]]\nstart = \"2025Q1\"\nunits = [\"05443\"]\n",
            "f.toml",
        )
        .unwrap_err();
        let msg = chain(&two);
        assert!(
            msg.contains("f.toml") && msg.contains("05443 is in two waves"),
            "{msg}"
        );
        let none = PilotSet::from_toml_str("program = \"x\"\n", "g.toml").unwrap_err();
        let none = chain(&none);
        assert!(
            none.contains("g.toml") && none.contains("no pilot units"),
            "{none}"
        );
    }

    #[test]
    fn units_given_by_name_become_codes() {
        let units = crate::bundled::units();
        let mut s = PilotSet::from_toml_str(
            "program = \"x\"\n[[wave]]\nstart = \"2024Q1\"\nunits = [\"Phường Trưng Vương\", \"05500\"]\n\
             [[wave]]\nstart = \"2025Q1\"\nunits = [\"Lương Sơn\"]\n",
            "t",
        )
        .unwrap();
        s.resolve_against(&units, "t").unwrap();
        assert_eq!(s.units, ["05443".to_string(), "05500".into()].into());
        assert_eq!(s.start_of("05506"), Some(p("2025Q1")));
        s.check_against(&units, "t").unwrap();
        let mut bad = PilotSet::from_toml_str(
            "program = \"x\"\nstart = \"2024Q1\"\nunits = [\"Nowhere\"]\n",
            "t",
        )
        .unwrap();
        let e = bad
            .resolve_against(&units, "pilots.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pilots.toml") && e.contains("\"Nowhere\""),
            "{e}"
        );
    }

    #[test]
    fn the_bundled_rollout_file_is_two_waves_of_12_and_20_known_units() {
        let mut s = PilotSet::from_toml_str(
            include_str!("../../../fixtures/rollout/pilots.toml"),
            "fixtures/rollout/pilots.toml",
        )
        .unwrap();
        let units = crate::bundled::units();
        s.resolve_against(&units, "rollout").unwrap();
        s.check_against(&units, "rollout").unwrap();
        // The first wave is the bundled pilot set, unchanged.
        let bundled = crate::bundled::pilots();
        assert_eq!((s.start, &s.units), (bundled.start, &bundled.units));
        let waves = s.waves();
        assert_eq!(waves.len(), 2);
        assert_eq!((waves[1].start, waves[1].units.len()), (p("2025Q1"), 20));
        // The second wave starts after 01/12/2024: its codes are in force then.
        let later = crate::bundled::units_2024_12();
        assert!(waves[1].units.iter().all(|c| later.contains(c)));
        assert_eq!(s.start_of("05431"), Some(p("2025Q1"))); // Phường Quán Triều, by name
        assert_eq!(s.start_of("05896"), Some(p("2025Q1"))); // Phường Đông Cao, by name
    }
}
