//! Dated crosswalks between old and new unit codes, applied in steps.
//!
//! A crosswalk is a CSV with the columns `old_code,new_code,valid_from` and,
//! optionally, `part` and `note` (any other column, such as `old_name`, is
//! read past). From `valid_from` (ISO date) on, the unit `old_code` is part
//! of `new_code`. The lines of one date are one *step*, applied all at once:
//!
//! - `part` = `whole` (or empty, or no `part` column): the old unit went
//!   entirely into the new one; several old units may go into one new unit,
//!   and a unit that keeps its code while absorbing others is written
//!   `old_code = new_code`.
//! - `part` = `part`: the old unit was divided; it has one line per receiving
//!   unit, and exactly one of them has `note` = `default`: the unit that took
//!   its seat. Responses of a divided unit go to that default unit (they do
//!   not say which part of the old unit they came from), and the clean
//!   report counts them.
//!
//! Steps chain by date: the bundled Thái Nguyên crosswalk
//! ([`Crosswalk::thai_nguyen`]) is the 01/12/2024 step (Nghị quyết
//! 1240/NQ-UBTVQH15, 177 → 172) followed by the 01/07/2025 step (Nghị quyết
//! 1683/NQ-UBTVQH15, 172 + Bắc Kạn's 108 → 92). Several files chain the same
//! way ([`Crosswalk::chain`]): a user's own file adds its steps.
//!
//! A row dated `d` (its `submitted_at`, else the first day of its period)
//! mapped onto the units in force on a target date `t` goes forward through
//! the steps with `d < valid_from ≤ t`, or back through the steps with
//! `t < valid_from ≤ d`. Going back is allowed only where it is one-to-one:
//! exactly one old unit lies behind the new one, entirely, and the new code
//! did not exist before the step. Otherwise the row is not mapped and is
//! excluded with the candidates named, never guessed.

use std::collections::BTreeMap;
use std::path::Path;

use sipas_core::{IsoDate, PilotSet, UnitHistory, UnitRegistry};

use crate::{Error, Result};

/// Which set of units responses are mapped onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrosswalkTarget {
    /// The units after the last step (the 92 for the bundled crosswalk).
    #[default]
    New,
    /// The units before the first step, only where mapping back is one-to-one.
    Old,
    /// The units in force on a date (forward before it, back after it).
    On(IsoDate),
}

impl CrosswalkTarget {
    /// `new`, `old` or the date.
    pub fn label(self) -> String {
        match self {
            CrosswalkTarget::New => "new".into(),
            CrosswalkTarget::Old => "old".into(),
            CrosswalkTarget::On(d) => d.to_string(),
        }
    }

    /// Parses `new`, `old` or a date `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "new" => Some(CrosswalkTarget::New),
            "old" => Some(CrosswalkTarget::Old),
            t => t.parse().ok().map(CrosswalkTarget::On),
        }
    }
}

/// Whether an old unit went whole into the new one or was divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// All of the old unit went into the new one.
    Whole,
    /// The old unit was divided among several new units.
    Part,
}

/// One line of a crosswalk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrosswalkEntry {
    /// The code that stops existing (or continues, when equal to `new_code`).
    pub old_code: String,
    /// The unit that takes it over.
    pub new_code: String,
    /// First day of the change (`YYYY-MM-DD`).
    pub valid_from: String,
    /// Legal source or remark (`default` on the default receiving unit of a divided unit).
    pub note: String,
    /// Whole or divided.
    pub part: Part,
    /// The default receiving unit of a divided unit.
    pub default: bool,
}

/// One step: every line of one date.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    valid_from: IsoDate,
    /// old code → indices of its lines (several for a divided unit).
    forward: BTreeMap<String, Vec<usize>>,
    /// new code → indices of the lines into it.
    back: BTreeMap<String, Vec<usize>>,
}

/// Where one step (or a chain of steps) takes a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// The code, possibly changed.
    Code {
        /// The code on the target units.
        code: String,
        /// Divided units sent to their default receiving unit on the way (old codes).
        divided: Vec<String>,
    },
    /// Mapping back is not one-to-one: the old codes behind the new one.
    NotOneToOne {
        /// The new code that could not be mapped back.
        code: String,
        /// The date of the step.
        step: IsoDate,
        /// The old codes behind it (and the code itself if it existed before).
        candidates: Vec<String>,
    },
}

/// A validated crosswalk: its steps in date order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crosswalk {
    entries: Vec<CrosswalkEntry>,
    steps: Vec<Step>,
}

fn is_code(s: &str) -> bool {
    s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Crosswalk {
    /// The crosswalk of the bundle named `name` (`thai-nguyen`: see
    /// [`sipas_core::bundled::named`]), its files chained by date; `None`
    /// for a name that is not bundled.
    pub fn bundled(name: &str) -> Option<Self> {
        let files = sipas_core::bundled::named(name)?.crosswalk;
        let mut out: Option<Crosswalk> = None;
        for f in files {
            let c = Self::from_csv_str(f.csv, f.origin)
                .expect("the bundled crosswalk is checked by the test suite");
            out = Some(match out {
                None => c,
                Some(prev) => prev.chain(&c).expect("the bundled crosswalks chain"),
            });
        }
        out
    }

    /// The bundled Thái Nguyên crosswalk: the 01/12/2024 step (Nghị quyết
    /// 1240/NQ-UBTVQH15, `fixtures/crosswalk/thai_nguyen.csv`) then the
    /// 01/07/2025 step (Nghị quyết 1683/NQ-UBTVQH15,
    /// `fixtures/crosswalk/thai_nguyen_2025-07.csv`).
    pub fn thai_nguyen() -> Self {
        Self::bundled(sipas_core::bundled::THAI_NGUYEN.name)
            .expect("the Thái Nguyên bundle has a crosswalk")
    }

    /// The 01/12/2024 step alone (177 → 172 units).
    pub fn thai_nguyen_2024_12() -> Self {
        let f = sipas_core::bundled::THAI_NGUYEN.crosswalk[0];
        Self::from_csv_str(f.csv, f.origin)
            .expect("the bundled crosswalk is checked by the test suite")
    }

    /// Reads a crosswalk CSV file.
    pub fn from_path(path: &Path) -> Result<Self> {
        sipas_core::source::parse_file(
            path,
            |path, source| Error::Io { path, source },
            Self::from_csv_str,
        )
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
        let ipart = headers.iter().position(|h| h.trim() == "part");
        let mut entries: Vec<CrosswalkEntry> = Vec::new();
        let mut lines: Vec<usize> = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|source| Error::Csv {
                origin: origin.to_string(),
                source,
            })?;
            let get = |j: usize| rec.get(j).unwrap_or("").trim().to_string();
            let note = inote.map(get).unwrap_or_default();
            let part = match ipart.map(get).as_deref() {
                None | Some("" | "whole") => Part::Whole,
                Some("part") => Part::Part,
                Some(other) => {
                    return Err(bad(
                        line,
                        "part",
                        format!("`{other}` is neither `whole` nor `part`"),
                    ));
                }
            };
            let e = CrosswalkEntry {
                old_code: get(io),
                new_code: get(inew),
                valid_from: get(idate),
                default: part == Part::Part && note.eq_ignore_ascii_case("default"),
                note,
                part,
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
            if e.valid_from.len() != 10 || e.valid_from.parse::<IsoDate>().is_err() {
                return Err(bad(
                    line,
                    "valid_from",
                    format!("`{}` is not an ISO date (YYYY-MM-DD)", e.valid_from),
                ));
            }
            entries.push(e);
            lines.push(line);
        }
        Self::build(entries, &lines, origin)
    }

    /// Validates the lines and groups them into steps by date.
    fn build(entries: Vec<CrosswalkEntry>, lines: &[usize], origin: &str) -> Result<Self> {
        let bad = |i: usize, column: &str, message: String| Error::Crosswalk {
            origin: origin.to_string(),
            line: lines[i],
            column: column.to_string(),
            message,
        };
        // Lines per (date, old code), in file order.
        let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            let g = groups.entry((&e.valid_from, &e.old_code)).or_default();
            if let Some(&first) = g.first() {
                let f = &entries[first];
                if f.part == Part::Whole || e.part == Part::Whole {
                    return Err(bad(
                        i,
                        "old_code",
                        format!(
                            "{} is mapped twice on {} (a divided unit has `part` = `part` on each line)",
                            e.old_code, e.valid_from
                        ),
                    ));
                }
                if g.iter().any(|&j| entries[j].new_code == e.new_code) {
                    return Err(bad(
                        i,
                        "new_code",
                        format!("{} → {} is listed twice", e.old_code, e.new_code),
                    ));
                }
            }
            g.push(i);
        }
        for g in groups.values() {
            let e = &entries[g[0]];
            if e.part == Part::Part {
                let last = *g.last().expect("a group has a line");
                if g.len() < 2 {
                    return Err(bad(
                        last,
                        "part",
                        format!("divided unit {} has a single receiving unit", e.old_code),
                    ));
                }
                let defaults = g.iter().filter(|&&j| entries[j].default).count();
                if defaults != 1 {
                    return Err(bad(
                        last,
                        "note",
                        format!(
                            "divided unit {} needs exactly one receiving unit with note `default`, has {defaults}",
                            e.old_code
                        ),
                    ));
                }
            }
        }
        let mut steps: BTreeMap<IsoDate, Step> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            let d: IsoDate = e.valid_from.parse().expect("checked");
            let s = steps.entry(d).or_insert_with(|| Step {
                valid_from: d,
                forward: BTreeMap::new(),
                back: BTreeMap::new(),
            });
            s.forward.entry(e.old_code.clone()).or_default().push(i);
            s.back.entry(e.new_code.clone()).or_default().push(i);
        }
        Ok(Crosswalk {
            entries,
            steps: steps.into_values().collect(),
        })
    }

    /// This crosswalk followed (or preceded, by date) by the steps of
    /// `other`: the lines of both, validated together; lines of the same
    /// date form one step.
    pub fn chain(&self, other: &Crosswalk) -> Result<Self> {
        let entries: Vec<CrosswalkEntry> =
            self.entries.iter().chain(&other.entries).cloned().collect();
        let lines: Vec<usize> = (0..entries.len()).map(|i| i + 1).collect();
        Self::build(
            entries,
            &lines,
            "chained crosswalks (line = position in the chain)",
        )
    }

    /// The lines, in the order read (chained files one after the other).
    pub fn entries(&self) -> &[CrosswalkEntry] {
        &self.entries
    }

    /// The dates of the steps, in order.
    pub fn step_dates(&self) -> Vec<IsoDate> {
        self.steps.iter().map(|s| s.valid_from).collect()
    }

    /// Whether the crosswalk mentions the code (as old or new, at any date).
    pub fn mentions(&self, code: &str) -> bool {
        self.steps
            .iter()
            .any(|s| s.forward.contains_key(code) || s.back.contains_key(code))
    }

    /// Whether the code named a unit on `date` as far as the crosswalk
    /// knows: an old code of a later step, or a new code of a step on or
    /// before that date.
    pub fn knows(&self, code: &str, date: IsoDate) -> bool {
        self.steps.iter().any(|s| {
            if s.valid_from > date {
                s.forward.contains_key(code)
            } else {
                s.back.contains_key(code)
            }
        })
    }

    /// The code `code` ends as after every step from the first that lists it
    /// as an old code (a divided unit: its default receiving unit); `None`
    /// if no step lists it as an old code.
    pub fn to_new<'a>(&'a self, code: &'a str) -> Option<&'a str> {
        let first = self
            .steps
            .iter()
            .position(|s| s.forward.contains_key(code))?;
        let mut cur = code;
        for s in &self.steps[first..] {
            if let Some(i) = self.forward_line(s, cur) {
                cur = &self.entries[i].new_code;
            }
        }
        Some(cur)
    }

    /// The line a code takes in a step going forward (the default one for a
    /// divided unit), if the step lists it as an old code.
    fn forward_line(&self, s: &Step, code: &str) -> Option<usize> {
        let lines = s.forward.get(code)?;
        Some(match lines.as_slice() {
            [one] => *one,
            many => *many
                .iter()
                .find(|&&i| self.entries[i].default)
                .expect("a divided unit has one default line"),
        })
    }

    /// Maps `code`, as used on `date`, onto the units in force at `target`.
    /// `history` says which codes existed before a step (a code that did,
    /// and received others, cannot be mapped back one-to-one).
    pub fn map(
        &self,
        code: &str,
        date: IsoDate,
        target: CrosswalkTarget,
        history: &UnitHistory,
    ) -> Mapped {
        let forward = match target {
            CrosswalkTarget::New => true,
            CrosswalkTarget::Old => false,
            CrosswalkTarget::On(t) => date < t,
        };
        let mut cur = code.to_string();
        let mut divided = Vec::new();
        if forward {
            for s in &self.steps {
                let after_target = matches!(target, CrosswalkTarget::On(t) if s.valid_from > t);
                if s.valid_from <= date || after_target {
                    continue;
                }
                if let Some(i) = self.forward_line(s, &cur) {
                    if self.entries[i].part == Part::Part {
                        divided.push(cur.clone());
                    }
                    cur.clone_from(&self.entries[i].new_code);
                }
            }
        } else {
            for s in self.steps.iter().rev() {
                let before_target = matches!(target, CrosswalkTarget::On(t) if s.valid_from <= t);
                if s.valid_from > date || before_target {
                    continue;
                }
                let Some(lines) = s.back.get(&cur) else {
                    continue;
                };
                let existed = !s.forward.contains_key(&cur)
                    && history.in_force(s.valid_from.pred()).contains(&cur);
                let mut candidates: Vec<String> = lines
                    .iter()
                    .map(|&i| self.entries[i].old_code.clone())
                    .collect();
                if existed {
                    candidates.push(cur.clone());
                }
                candidates.sort();
                candidates.dedup();
                let whole = lines.iter().all(|&i| self.entries[i].part == Part::Whole);
                if candidates.len() != 1 || !whole {
                    return Mapped::NotOneToOne {
                        code: cur,
                        step: s.valid_from,
                        candidates,
                    };
                }
                cur = candidates.pop().expect("one candidate");
            }
        }
        Mapped::Code { code: cur, divided }
    }
}

/// The units an analysis after a crosswalk uses, and the pilots on them.
#[derive(Debug, Clone)]
pub struct AnalysisUnits {
    /// The units in force on the target (the 92 for the bundled crosswalk
    /// and target `new`).
    pub units: UnitRegistry,
    /// The pilots mapped from their start onto those units (several pilots
    /// may share a unit).
    pub pilots: PilotSet,
    /// `old → new` for every pilot whose code changed.
    pub changes: Vec<String>,
}

/// When the units were reorganised, and the names of the units before it:
/// what the treatment of today's units needs of a crosswalk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorganisation {
    /// The first step (rows of periods ending before it carry the old codes).
    pub first_step: IsoDate,
    /// The last step.
    pub last_step: IsoDate,
    /// Old unit code → full name (`Thị trấn Chợ Chu`), of the units in force
    /// the day before the first step.
    pub old_names: BTreeMap<String, String>,
}

impl Crosswalk {
    /// Its first and last step and the units' names before the first;
    /// `None` for a crosswalk without a step.
    pub fn reorganisation(&self, history: &UnitHistory) -> Option<Reorganisation> {
        let first = self.steps.first()?.valid_from;
        let last = self.steps.last()?.valid_from;
        let old_names = history
            .in_force(first.pred())
            .iter()
            .map(|u| (u.code.clone(), u.full_name()))
            .collect();
        Some(Reorganisation {
            first_step: first,
            last_step: last,
            old_names,
        })
    }

    /// The date whose units a target stands for: after the last step
    /// (`new`), before the first (`old`), or the date itself.
    pub fn target_date(&self, target: CrosswalkTarget) -> Option<IsoDate> {
        match target {
            CrosswalkTarget::New => self.steps.last().map(|s| s.valid_from),
            CrosswalkTarget::Old => self.steps.first().map(|s| s.valid_from.pred()),
            CrosswalkTarget::On(t) => Some(t),
        }
    }

    /// The units in force on the target and the pilots mapped onto them
    /// (each pilot code read on the first day of its wave). A pilot that
    /// cannot be mapped (back, not one-to-one) is an error.
    pub fn analysis_units(
        &self,
        pilots: &PilotSet,
        target: CrosswalkTarget,
        history: &UnitHistory,
    ) -> std::result::Result<AnalysisUnits, String> {
        let units = self
            .target_date(target)
            .map_or_else(|| history.latest().clone(), |d| history.in_force(d).clone());
        // Each wave's codes are read on the first day of that wave.
        let mut waves = Vec::new();
        let mut changes = Vec::new();
        for w in pilots.waves() {
            let start = sipas_core::history::period_start(w.start);
            let mut codes = std::collections::BTreeSet::new();
            for c in &w.units {
                match self.map(c, start, target, history) {
                    Mapped::Code { code, .. } => {
                        if &code != c {
                            changes.push(format!("{c} → {code}"));
                        }
                        codes.insert(code);
                    }
                    Mapped::NotOneToOne { candidates, .. } => {
                        return Err(format!(
                            "pilot unit {c} cannot be mapped onto the units of {}: old units behind it {}",
                            target.label(),
                            candidates.join("|")
                        ));
                    }
                }
            }
            waves.push(sipas_core::Wave {
                start: w.start,
                units: codes,
            });
        }
        let mapped = PilotSet::from_waves(pilots.program.clone(), waves)?;
        Ok(AnalysisUnits {
            units,
            pilots: mapped,
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipas_core::bundled;

    #[test]
    fn the_bundled_crosswalk_is_found_by_its_name_only() {
        let c = Crosswalk::bundled("thai-nguyen").unwrap();
        assert_eq!(c, Crosswalk::thai_nguyen());
        assert_eq!(
            c.step_dates()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["2024-12-01", "2025-07-01"]
        );
        assert!(Crosswalk::bundled("thai_nguyen.csv").is_none());
    }

    #[test]
    fn the_bundled_reorganisation_runs_from_december_2024_to_july_2025_with_the_177_names() {
        let r = Crosswalk::thai_nguyen()
            .reorganisation(&bundled::unit_history())
            .unwrap();
        assert_eq!(r.first_step.to_string(), "2024-12-01");
        assert_eq!(r.last_step.to_string(), "2025-07-01");
        assert_eq!(r.old_names.len(), 177);
        // 05569 is Xã Bảo Cường among the 177 (Thị trấn Chợ Chu only from 01/12/2024).
        assert_eq!(r.old_names["05569"], "Xã Bảo Cường");
        assert_eq!(r.old_names["05536"], "Thị trấn Chợ Chu");
        let empty = Crosswalk::from_csv_str("old_code,new_code,valid_from\n", "empty");
        if let Ok(c) = empty {
            assert_eq!(c.reorganisation(&bundled::unit_history()), None);
        }
    }

    fn d(s: &str) -> IsoDate {
        s.parse().unwrap()
    }

    fn code(m: Mapped) -> String {
        match m {
            Mapped::Code { code, .. } => code,
            other @ Mapped::NotOneToOne { .. } => panic!("not mapped: {other:?}"),
        }
    }

    /// The raw lines of a bundled CSV, read independently of the parser.
    fn raw(text: &str) -> Vec<BTreeMap<String, String>> {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let h = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                h.iter()
                    .zip(rec.unwrap().iter())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_line_of_the_2024_12_step() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        let lines = raw(bundled::THAI_NGUYEN.crosswalk[0].csv);
        assert_eq!(lines.len(), 5);
        for l in &lines {
            assert_eq!(l["valid_from"], "2024-12-01");
            // Onto the 172: one step only.
            let m = c.map(
                &l["old_code"],
                d("2024-11-30"),
                CrosswalkTarget::On(d("2025-06-30")),
                &h,
            );
            assert_eq!(code(m), l["new_code"], "{l:?}");
            assert!(h.eras()[0].units.contains(&l["old_code"]));
            assert!(!h.eras()[1].units.contains(&l["old_code"]));
            assert!(h.eras()[1].units.contains(&l["new_code"]));
        }
        // Tân Lợi and Na Mao now have their receiving units.
        assert_eq!(c.to_new("05704"), Some("05662"));
        // Na Mao → Phú Cường (2024-12) → Phú Thịnh (2025-07).
        assert_eq!(c.to_new("05782"), Some("05800"));
        // A row dated on or after the step is not moved by it.
        let m = c.map(
            "05569",
            d("2024-12-01"),
            CrosswalkTarget::On(d("2025-06-30")),
            &h,
        );
        assert_eq!(code(m), "05569");
        // Every one of the 177 lies in one of the 172 on 01/12/2024.
        for u in h.eras()[0].units.iter() {
            let m = c.map(
                &u.code,
                d("2024-06-01"),
                CrosswalkTarget::On(d("2024-12-01")),
                &h,
            );
            assert!(h.eras()[1].units.contains(&code(m)), "{}", u.code);
        }
    }

    #[test]
    fn every_line_of_the_2025_07_step() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        let lines = raw(bundled::THAI_NGUYEN.crosswalk[1].csv);
        assert_eq!(lines.len(), 283);
        let mut olds: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
        for l in &lines {
            olds.entry(l["old_code"].as_str()).or_default().push(l);
        }
        assert_eq!(olds.len(), 280);
        for (old, ls) in &olds {
            let want = if ls.len() == 1 {
                assert_eq!(ls[0]["part"], "whole");
                ls[0]["new_code"].clone()
            } else {
                let defaults: Vec<_> = ls.iter().filter(|l| l["note"] == "default").collect();
                assert_eq!(defaults.len(), 1);
                defaults[0]["new_code"].clone()
            };
            let m = c.map(old, d("2025-06-30"), CrosswalkTarget::New, &h);
            let Mapped::Code { code, divided } = m else {
                panic!("{old}")
            };
            assert_eq!(code, want, "{old}");
            assert_eq!(divided.len(), usize::from(ls.len() > 1), "{old}");
            assert!(
                h.latest().contains(&code),
                "{old} → {code} is one of the 92"
            );
            // The whole chain from before 01/12/2024 agrees, for Thái Nguyên codes of the 177.
            if h.eras()[0].units.contains(old) {
                let m = c.map(old, d("2024-01-15"), CrosswalkTarget::New, &h);
                assert_eq!(self::code(m), want, "{old} from 2024");
            }
        }
        // The 172 plus Bắc Kạn's 108.
        let bk = lines
            .iter()
            .filter(|l| l["old_province"] == "Tỉnh Bắc Kạn")
            .count();
        assert_eq!(bk, 108);
        for u in h.eras()[1].units.iter() {
            assert!(
                olds.contains_key(u.code.as_str()),
                "{} in the 2025-07 step",
                u.code
            );
        }
        // Every one of the 177 reaches one of the 92.
        for u in h.eras()[0].units.iter() {
            let m = c.map(&u.code, d("2023-03-01"), CrosswalkTarget::New, &h);
            assert!(h.latest().contains(&code(m)), "{}", u.code);
        }
    }

    #[test]
    fn reused_codes_by_date() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        // 05536 Chợ Chu (to 30/11/2024) → 05569 → 05569 Xã Định Hóa.
        assert_eq!(
            code(c.map("05536", d("2024-10-01"), CrosswalkTarget::New, &h)),
            "05569"
        );
        // 05569 Bảo Cường, Chợ Chu and Định Hóa all end in 05569.
        for day in ["2024-10-01", "2024-12-05", "2025-08-01"] {
            assert_eq!(
                code(c.map("05569", d(day), CrosswalkTarget::New, &h)),
                "05569"
            );
        }
        // Trưng Vương (05443) and the default part of Gia Sàng go to Phan Đình Phùng 05443.
        assert_eq!(
            code(c.map("05443", d("2024-10-01"), CrosswalkTarget::New, &h)),
            "05443"
        );
        assert_eq!(
            h.latest().get("05443").unwrap().full_name(),
            "Phường Phan Đình Phùng"
        );
        assert_eq!(c.step_dates(), [d("2024-12-01"), d("2025-07-01")]);
    }

    #[test]
    fn the_three_divided_units_go_to_their_default() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        for (old, default) in [("05461", "05443"), ("05467", "05467"), ("05932", "05941")] {
            let m = c.map(old, d("2025-03-01"), CrosswalkTarget::New, &h);
            assert_eq!(
                m,
                Mapped::Code {
                    code: default.into(),
                    divided: vec![old.into()]
                }
            );
        }
    }

    #[test]
    fn mapping_back_only_where_one_to_one() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        // Xã Định Hóa (2025-08) back to 2025-01: Bảo Linh, Phúc Chu, Chợ Chu, Đồng Thịnh.
        let m = c.map(
            "05569",
            d("2025-08-01"),
            CrosswalkTarget::On(d("2025-01-01")),
            &h,
        );
        assert_eq!(
            m,
            Mapped::NotOneToOne {
                code: "05569".into(),
                step: d("2025-07-01"),
                candidates: vec![
                    "05554".into(),
                    "05560".into(),
                    "05569".into(),
                    "05572".into()
                ]
            }
        );
        // Chợ Chu (2024-12) back to the 177: 05536 and 05569 behind it.
        let m = c.map("05569", d("2024-12-10"), CrosswalkTarget::Old, &h);
        assert!(
            matches!(m, Mapped::NotOneToOne { ref candidates, .. } if candidates == &["05536", "05569"])
        );
        // Trại Cau received Tân Lợi: it existed before, so not one-to-one.
        let m = c.map("05662", d("2025-01-10"), CrosswalkTarget::Old, &h);
        assert!(
            matches!(m, Mapped::NotOneToOne { ref candidates, .. } if candidates == &["05662", "05704"])
        );
        // A unit the 2024-12 step did not touch maps back to itself.
        assert_eq!(
            code(c.map("05602", d("2025-01-10"), CrosswalkTarget::Old, &h)),
            "05602"
        );
        // Each of the 92 back to the 172: one-to-one exactly where one old
        // unit went wholly into it (computed here from the raw lines).
        let lines = raw(bundled::THAI_NGUYEN.crosswalk[1].csv);
        let mut ok = 0;
        for u in h.latest().iter() {
            let into: Vec<_> = lines.iter().filter(|l| l["new_code"] == u.code).collect();
            let one = into.len() == 1 && into[0]["part"] == "whole";
            let m = c.map(
                &u.code,
                d("2025-09-01"),
                CrosswalkTarget::On(d("2025-06-30")),
                &h,
            );
            match m {
                Mapped::Code { code, .. } => {
                    assert!(one, "{}", u.code);
                    assert_eq!(code, into[0]["old_code"]);
                    ok += 1;
                }
                Mapped::NotOneToOne { candidates, .. } => {
                    assert!(!one, "{}", u.code);
                    assert_eq!(candidates.len(), into.len(), "{}", u.code);
                }
            }
        }
        assert!(ok < 92);
    }

    #[test]
    fn the_twelve_pilots_land_in_eleven_of_the_92() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        let a = c
            .analysis_units(&bundled::pilots(), CrosswalkTarget::New, &h)
            .unwrap();
        assert_eq!(a.units.len(), 92);
        assert_eq!(a.pilots.units.len(), 11);
        // Lương Sơn (05506) and Tân Quang (05527) both go to Bách Quang 05528.
        assert!(a.changes.contains(&"05506 → 05528".to_string()));
        assert!(a.changes.contains(&"05527 → 05528".to_string()));
        assert!(a.pilots.units.contains("05569"), "Chợ Chu → Định Hóa");
        // Onto the 172: only Chợ Chu changes code.
        let a = c
            .analysis_units(&bundled::pilots(), CrosswalkTarget::On(d("2025-01-01")), &h)
            .unwrap();
        // The 172 and, beside them, Bắc Kạn's 108 (in force on that day too).
        assert_eq!(a.units.len(), 172 + 108);
        assert_eq!(a.changes, ["05536 → 05569"]);
    }

    #[test]
    fn every_wave_is_mapped_each_read_at_its_own_start() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        // Chợ Chu (05536 until 30/11/2024) from 2024Q1; Đồng Quang (05458) from 2025Q1.
        let p = sipas_core::PilotSet::from_toml_str(
            "program = \"p\"\n[[wave]]\nstart = \"2024Q1\"\nunits = [\"05536\"]\n\
             [[wave]]\nstart = \"2025Q1\"\nunits = [\"05458\"]\n",
            "t",
        )
        .unwrap();
        let a = c.analysis_units(&p, CrosswalkTarget::New, &h).unwrap();
        let waves = a.pilots.waves();
        assert_eq!(waves.len(), 2);
        for w in &waves {
            assert_eq!(w.units.len(), 1);
            assert!(w.units.iter().all(|u| a.units.contains(u)), "{w:?}");
        }
        assert_eq!(waves[1].start, "2025Q1".parse().unwrap());
        assert!(
            !waves[1].units.contains("05458"),
            "the 2025Q1 wave is mapped too"
        );
        assert_eq!(a.changes.len(), 2, "{:?}", a.changes);
    }

    #[test]
    fn pilots_named_by_todays_codes_keep_them() {
        let c = Crosswalk::thai_nguyen();
        let h = bundled::unit_history();
        let p = sipas_core::PilotSet::from_toml_str(
            "program = \"p\"\nstart = \"2025Q4\"\nunits = [\"05528\", \"01840\"]\n",
            "t",
        )
        .unwrap();
        let a = c.analysis_units(&p, CrosswalkTarget::New, &h).unwrap();
        assert_eq!(a.pilots, p);
        assert!(a.changes.is_empty());
    }

    #[test]
    fn chains_and_renames() {
        let h = sipas_core::UnitHistory::single(bundled::units());
        let c = Crosswalk::from_csv_str(
            "old_code,new_code,valid_from,note\n90001,90002,2025-07-01,\n05536,90001,2024-12-01,rename\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.to_new("05536"), Some("90002"));
        assert_eq!(c.to_new("90001"), Some("90002"));
        assert_eq!(
            code(c.map("05536", d("2024-01-01"), CrosswalkTarget::New, &h)),
            "90002"
        );
        let r = Crosswalk::from_csv_str(
            "old_code,new_code,valid_from\n05536,90009,2024-12-01\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            code(r.map("90009", d("2025-01-01"), CrosswalkTarget::Old, &h)),
            "05536"
        );
        assert_eq!(r.entries()[0].valid_from, "2024-12-01");
        // A user's file chains after the bundled one by date.
        let user = Crosswalk::from_csv_str(
            "old_code,new_code,valid_from\n05569,90010,2026-01-01\n",
            "user.csv",
        )
        .unwrap();
        let all = Crosswalk::thai_nguyen().chain(&user).unwrap();
        assert_eq!(all.step_dates().len(), 3);
        let hb = bundled::unit_history();
        assert_eq!(
            code(all.map("05536", d("2024-01-01"), CrosswalkTarget::New, &hb)),
            "90010"
        );
        assert_eq!(
            code(all.map(
                "05536",
                d("2024-01-01"),
                CrosswalkTarget::On(d("2025-12-31")),
                &hb
            )),
            "05569"
        );
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
                "old_code,new_code,valid_from\n05536,05569,2024-12-01\n05536,05570,2024-12-01\n",
                "line 3, column old_code",
            ),
            (
                "old_code,new_code,valid_from,part,note\n05536,05569,2024-12-01,part,default\n",
                "line 2, column part: divided unit 05536 has a single receiving unit",
            ),
            (
                "old_code,new_code,valid_from,part,note\n05536,05569,2024-12-01,part,\n05536,05570,2024-12-01,part,\n",
                "line 3, column note",
            ),
            (
                "old_code,new_code,valid_from,part\n05536,05569,2024-12-01,half\n",
                "line 2, column part",
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
