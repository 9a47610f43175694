//! Definitions shipped with sipas (from `fixtures/`): the two SIPAS
//! instruments, the Thái Nguyên units over time (177 → 172 → 92), their
//! crosswalk steps and the 12 pilot units.
//!
//! This module is the one registry of bundled data: an instrument is found
//! by its id ([`instrument`]), a province's units, crosswalk and pilots by
//! the name a flag or job key gives them ([`named`]: `thai-nguyen`). No
//! other code compares such a name.

use crate::{Instrument, IsoDate, PilotSet, UnitHistory, UnitRegistry};

const SIPAS_2017: &str = include_str!("../../../fixtures/instruments/sipas-2017.toml");
const SIPAS_2023: &str = include_str!("../../../fixtures/instruments/sipas-2023.toml");
const PAPI_COMMUNE: &str = include_str!("../../../fixtures/instruments/papi-commune.toml");
const THAI_NGUYEN_PILOT: &str =
    include_str!("../../../fixtures/instruments/thai-nguyen-pilot.toml");
const UNITS: &str = include_str!("../../../fixtures/units/thai_nguyen.csv");
const PILOTS: &str = include_str!("../../../fixtures/pilots/thai_nguyen.toml");
const UNITS_2024_12: &str = include_str!("../../../fixtures/units/thai_nguyen_2024-12.csv");
const UNITS_2025_07: &str = include_str!("../../../fixtures/units/thai_nguyen_2025-07.csv");
const BAC_KAN_2025_06: &str = include_str!("../../../fixtures/units/bac_kan_2025-06.csv");
const CROSSWALK_2024_12: &str = include_str!("../../../fixtures/crosswalk/thai_nguyen.csv");
const CROSSWALK_2025_07: &str = include_str!("../../../fixtures/crosswalk/thai_nguyen_2025-07.csv");

/// One bundled crosswalk file: where it comes from (named in messages) and
/// its CSV text (`old_code,new_code,valid_from[,part,note]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrosswalkFile {
    /// The file under `fixtures/`, as messages name it.
    pub origin: &'static str,
    /// Its text.
    pub csv: &'static str,
}

/// A province's bundled data, found by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bundle {
    /// The name flags and job keys give it (`--crosswalk thai-nguyen`,
    /// `codes_at_date = "thai-nguyen"`).
    pub name: &'static str,
    /// Its crosswalk files, oldest step first; they chain by date.
    pub crosswalk: &'static [CrosswalkFile],
}

impl Bundle {
    /// The units before the first crosswalk step (the default unit list).
    pub fn units(&self) -> UnitRegistry {
        units()
    }

    /// The units over time, each list from the day it came into force.
    pub fn unit_history(&self) -> UnitHistory {
        unit_history()
    }

    /// The pilot units.
    pub fn pilots(&self) -> PilotSet {
        pilots()
    }
}

/// Tỉnh Thái Nguyên: the 177 units to 30/11/2024, the 172 from 01/12/2024
/// (Nghị quyết 1240/NQ-UBTVQH15), the 92 from 01/07/2025 (Nghị quyết
/// 1683/NQ-UBTVQH15, with former Bắc Kạn), and the 12 pilot units.
pub const THAI_NGUYEN: Bundle = Bundle {
    name: "thai-nguyen",
    crosswalk: &[
        CrosswalkFile {
            origin: "fixtures/crosswalk/thai_nguyen.csv",
            csv: CROSSWALK_2024_12,
        },
        CrosswalkFile {
            origin: "fixtures/crosswalk/thai_nguyen_2025-07.csv",
            csv: CROSSWALK_2025_07,
        },
    ],
};

/// Every bundle; the first is the default (its units are used when none
/// are given).
pub const BUNDLES: [Bundle; 1] = [THAI_NGUYEN];

/// The bundle a flag or job key names (`thai-nguyen`), if any.
pub fn named(name: &str) -> Option<&'static Bundle> {
    BUNDLES.iter().find(|b| b.name == name)
}

/// The bundle whose units are used when no unit list is given.
pub fn default_bundle() -> &'static Bundle {
    &BUNDLES[0]
}

/// Ids of the bundled instruments: the two SIPAS questionnaires, the
/// PAPI-style commune module and the pilot's three indices together
/// (SIPAS-2023 + the PAPI module + the commune PAR index).
pub const INSTRUMENT_IDS: [&str; 4] = [
    "sipas-2017",
    "sipas-2023",
    "papi-commune",
    "thai-nguyen-pilot",
];

/// The TOML text of a bundled instrument.
pub fn instrument_text(id: &str) -> Option<&'static str> {
    Some(match id {
        "sipas-2017" => SIPAS_2017,
        "sipas-2023" => SIPAS_2023,
        "papi-commune" => PAPI_COMMUNE,
        "thai-nguyen-pilot" => THAI_NGUYEN_PILOT,
        _ => return None,
    })
}

/// A bundled instrument by id (one of [`INSTRUMENT_IDS`]).
pub fn instrument(id: &str) -> Option<Instrument> {
    let text = instrument_text(id)?;
    Some(
        Instrument::from_toml_str(text, id)
            .expect("bundled instruments are checked by the test suite"),
    )
}

/// Every bundled instrument.
pub fn instruments() -> Vec<Instrument> {
    INSTRUMENT_IDS
        .iter()
        .filter_map(|id| instrument(id))
        .collect()
}

/// Recognises the bundled instrument whose item ids are all among `columns`.
/// When several match, the one with the most items wins.
pub fn detect_instrument<S: AsRef<str>>(columns: &[S]) -> Option<Instrument> {
    let cols: std::collections::HashSet<&str> = columns.iter().map(AsRef::as_ref).collect();
    instruments()
        .into_iter()
        .filter(|i| i.items().iter().all(|it| cols.contains(it.id.as_str())))
        .max_by_key(|i| i.items().len())
}

/// The 177 Thái Nguyên units (2023–2024 GSO list).
pub fn units() -> UnitRegistry {
    UnitRegistry::from_csv_str(UNITS, "fixtures/units/thai_nguyen.csv")
        .expect("the bundled unit list is checked by the test suite")
}

/// The 172 Thái Nguyên units from 01/12/2024 to 30/06/2025 (Nghị quyết
/// 1240/NQ-UBTVQH15).
pub fn units_2024_12() -> UnitRegistry {
    UnitRegistry::from_csv_str(UNITS_2024_12, "fixtures/units/thai_nguyen_2024-12.csv")
        .expect("the bundled unit list is checked by the test suite")
}

/// The 108 units of Tỉnh Bắc Kạn in force until 30/06/2025 (95 xã, 6
/// phường, 7 thị trấn in 8 districts; names and districts from the
/// 01/07/2025 crosswalk, no district codes), which merged into Tỉnh Thái
/// Nguyên on 01/07/2025.
pub fn units_bac_kan() -> UnitRegistry {
    UnitRegistry::from_csv_str(BAC_KAN_2025_06, "fixtures/units/bac_kan_2025-06.csv")
        .expect("the bundled unit list is checked by the test suite")
}

/// The 92 units of the merged Tỉnh Thái Nguyên from 01/07/2025 (Nghị quyết
/// 1683/NQ-UBTVQH15; no districts).
pub fn units_2025_07() -> UnitRegistry {
    UnitRegistry::from_csv_str(UNITS_2025_07, "fixtures/units/thai_nguyen_2025-07.csv")
        .expect("the bundled unit list is checked by the test suite")
}

/// The Thái Nguyên units over time: the 177 to 30/11/2024; from 01/12/2024
/// to 30/06/2025 the 172 and, beside them, Bắc Kạn's 108 (so rows of former
/// Bắc Kạn coded before the merger validate and map through the 01/07/2025
/// crosswalk); the 92 from 01/07/2025. Bắc Kạn's units before 01/12/2024
/// are not bundled (the sources list them as in force just before
/// 01/07/2025).
pub fn unit_history() -> UnitHistory {
    let day = |s: &str| s.parse::<IsoDate>().expect("a bundled date");
    let before_july_2025 = units_2024_12()
        .union(&units_bac_kan(), "bundled unit history")
        .expect("the bundled unit history is checked by the test suite");
    UnitHistory::from_eras(
        vec![
            (None, units()),
            (Some(day("2024-12-01")), before_july_2025),
            (Some(day("2025-07-01")), units_2025_07()),
        ],
        "bundled unit history",
    )
    .expect("the bundled unit history is checked by the test suite")
}

/// The 12 Thái Nguyên pilot units, start 2024Q1.
pub fn pilots() -> PilotSet {
    PilotSet::from_toml_str(PILOTS, "fixtures/pilots/thai_nguyen.toml")
        .expect("the bundled pilot list is checked by the test suite")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pilots_are_twelve_known_units_starting_2024q1() {
        let p = super::pilots();
        assert_eq!(p.units.len(), 12);
        assert_eq!(p.start.to_string(), "2024Q1");
        p.check_against(&super::units(), "bundled").unwrap();
        let units = super::units();
        let dinh_hoa = p
            .units
            .iter()
            .filter(|c| units.get(c).unwrap().district_code == "167")
            .count();
        assert_eq!(dinh_hoa, 4);
    }

    #[test]
    fn merged_units_drop_three_codes_and_rename_three() {
        let u = super::units_2024_12();
        assert_eq!(u.len(), 172);
        for gone in ["05536", "05608", "05839", "05704", "05782"] {
            assert!(!u.contains(gone), "{gone}");
        }
        assert_eq!(u.get("05569").unwrap().full_name(), "Thị trấn Chợ Chu");
        assert_eq!(u.get("05644").unwrap().full_name(), "Thị trấn Giang Tiên");
        assert_eq!(u.get("05845").unwrap().full_name(), "Xã Vạn Phú");
        let thi_tran = u
            .iter()
            .filter(|x| x.kind == crate::UnitKind::ThiTran)
            .count();
        assert_eq!(thi_tran, 10);
        let p = crate::PilotSet::from_toml_str(
            include_str!("../../../fixtures/pilots/thai_nguyen_2024-12.toml"),
            "pilots 2024-12",
        )
        .unwrap();
        assert_eq!(p.units.len(), 12);
        p.check_against(&u, "pilots 2024-12").unwrap();
    }

    #[test]
    fn bac_kan_has_108_units_95_6_7_in_8_districts() {
        let u = super::units_bac_kan();
        assert_eq!(u.len(), 108);
        let count = |k| u.iter().filter(|x| x.kind == k).count();
        assert_eq!(
            (
                count(crate::UnitKind::Xa),
                count(crate::UnitKind::Phuong),
                count(crate::UnitKind::ThiTran)
            ),
            (95, 6, 7)
        );
        let districts: std::collections::BTreeSet<&str> =
            u.iter().map(|x| x.district_name.as_str()).collect();
        assert_eq!(districts.len(), 8);
        assert!(districts.contains("Thành phố Bắc Kạn"));
        assert_eq!(
            u.get("01834").unwrap().full_name(),
            "Phường Nguyễn Thị Minh Khai"
        );
        assert_eq!(u.get("01888").unwrap().full_name(), "Thị trấn Chợ Rã");
        assert_eq!(u.get("01888").unwrap().district_name, "Huyện Ba Bể");
        // NFC, and no code shared with Thái Nguyên's lists.
        for x in u.iter() {
            assert_eq!(crate::text::nfc(&x.name), x.name);
            assert!(!super::units().contains(&x.code), "{}", x.code);
        }
    }

    #[test]
    fn bundles_are_found_by_name_only() {
        let b = super::named("thai-nguyen").unwrap();
        assert_eq!(b, super::default_bundle());
        assert_eq!(b.crosswalk.len(), 2);
        assert!(
            b.crosswalk[0]
                .csv
                .starts_with("old_code,new_code,valid_from")
        );
        assert_eq!(b.units().len(), 177);
        assert_eq!(b.pilots().units.len(), 12);
        assert_eq!(b.unit_history().latest().len(), 92);
        for other in ["Thai-Nguyen", "thai_nguyen", "", "bac-kan"] {
            assert!(super::named(other).is_none(), "{other}");
        }
    }

    #[test]
    fn detects_instrument_from_columns() {
        let i = super::instrument("sipas-2017").unwrap();
        let mut cols: Vec<String> = i.item_ids().iter().map(|s| (*s).to_string()).collect();
        cols.push("unit_code".into());
        assert_eq!(super::detect_instrument(&cols).unwrap().id, "sipas-2017");
        cols.pop();
        cols.pop();
        assert!(super::detect_instrument(&cols).is_none());
    }
}
