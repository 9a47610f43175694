//! Matching unit text (a GSO code, or a name with or without its prefix) to
//! a unit of the registry.
//!
//! Names are compared on [`sipas_core::text::match_key`] (NFC, case-folded,
//! one tone placement). A prefix (`Phường`, `P.`, `Xã`, `X.`, `Thị trấn`,
//! `TT.`, also typed without accents) is stripped and must agree with the
//! unit's kind. Names repeat across districts, so a district (with or without
//! `Huyện`/`Thành phố`/`TP.`) narrows the candidates. Accent-stripped
//! matching ([`sipas_core::text::ascii_key`]) is a fallback that must be
//! switched on and is reported as such.

use std::collections::{BTreeMap, BTreeSet};

use sipas_core::text::{ascii_key, match_key, nfc};
use sipas_core::{UnitKind, UnitRegistry};

/// The outcome of matching a unit text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitMatch {
    /// One unit, matched by code or by its name key.
    Exact(String),
    /// Several units share the name (and the district, if given, did not
    /// separate them): the candidate codes, sorted.
    Ambiguous(Vec<String>),
    /// No unit matches.
    Unknown,
    /// One unit, matched only once accents were ignored (`Xa Phu Dinh`).
    AccentFallback(String),
}

const UNIT_PREFIXES: [(&[&str], UnitKind); 6] = [
    (&["thị", "trấn"], UnitKind::ThiTran),
    (&["tt"], UnitKind::ThiTran),
    (&["phường"], UnitKind::Phuong),
    (&["p"], UnitKind::Phuong),
    (&["xã"], UnitKind::Xa),
    (&["x"], UnitKind::Xa),
];

const DISTRICT_PREFIXES: [&[&str]; 7] = [
    &["thành", "phố"],
    &["tp"],
    &["thị", "xã"],
    &["tx"],
    &["huyện"],
    &["h"],
    &["quận"],
];

fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| c.is_whitespace() || c == '.' || c == ',' || c == '-')
        .filter(|w| !ascii_key(w).is_empty())
        .collect()
}

/// Whether the typed word `w` is the prefix word `p`: a word written with
/// diacritics must carry the prefix's own (`Phường`, `PHƯỜNG`, NFD; not
/// `Phương` or `Phượng`, which begin names, nor `Xá`); a word typed without
/// any diacritic (`Phuong`, `xa`, `TT`) is read on its accent-free key.
fn is_prefix_word(w: &str, p: &str) -> bool {
    if w.is_ascii() {
        ascii_key(w) == ascii_key(p)
    } else {
        match_key(w) == match_key(p)
    }
}

/// Splits a leading prefix (see [`is_prefix_word`]) off `text`; returns the
/// index of the prefix and the rest, or `None` when there is no prefix or
/// nothing would be left after it.
fn strip_prefix<'a>(text: &'a str, prefixes: &[&[&str]]) -> Option<(usize, Vec<&'a str>)> {
    let w = words(text);
    for (i, p) in prefixes.iter().enumerate() {
        if w.len() > p.len() && p.iter().zip(&w).all(|(p, w)| is_prefix_word(w, p)) {
            return Some((i, w[p.len()..].to_vec()));
        }
    }
    None
}

/// The name part of a district, keyed (`Huyện Định Hóa` → `định hoa2`).
fn district_keys(text: &str) -> (String, String) {
    let rest = strip_prefix(text, &DISTRICT_PREFIXES).map_or_else(|| words(text), |(_, r)| r);
    let joined = rest.join(" ");
    (match_key(&joined), ascii_key(&joined))
}

#[derive(Debug, Clone)]
struct Entry {
    code: String,
    kind: UnitKind,
    district_key: String,
    district_ascii: String,
}

/// Matches unit text against a [`UnitRegistry`].
#[derive(Debug, Clone)]
pub struct UnitMatcher {
    entries: Vec<Entry>,
    by_key: BTreeMap<String, Vec<usize>>,
    by_ascii: BTreeMap<String, Vec<usize>>,
    district_keys: BTreeSet<String>,
    district_ascii: BTreeSet<String>,
    allow_ascii_fallback: bool,
}

impl UnitMatcher {
    /// A matcher over every unit of the registry; accent fallback off.
    pub fn new(registry: &UnitRegistry) -> Self {
        let mut m = UnitMatcher {
            entries: Vec::with_capacity(registry.len()),
            by_key: BTreeMap::new(),
            by_ascii: BTreeMap::new(),
            district_keys: BTreeSet::new(),
            district_ascii: BTreeSet::new(),
            allow_ascii_fallback: false,
        };
        for (i, u) in registry.iter().enumerate() {
            let (dk, da) = district_keys(&u.district_name);
            m.district_keys.insert(dk.clone());
            m.district_ascii.insert(da.clone());
            m.entries.push(Entry {
                code: u.code.clone(),
                kind: u.kind,
                district_key: dk,
                district_ascii: da,
            });
            m.by_key.entry(match_key(&u.name)).or_default().push(i);
            m.by_ascii.entry(ascii_key(&u.name)).or_default().push(i);
        }
        m
    }

    /// Turns the accent-stripped fallback on or off (off by default).
    #[must_use]
    pub fn with_ascii_fallback(mut self, allow: bool) -> Self {
        self.allow_ascii_fallback = allow;
        self
    }

    /// Whether the accent-stripped fallback is on.
    pub fn allows_ascii_fallback(&self) -> bool {
        self.allow_ascii_fallback
    }

    /// Matches `text` (a 5-digit code or a name, with or without prefix),
    /// optionally within `district` (a district name, with or without prefix).
    ///
    /// A district that names no district of the registry is ignored; a known
    /// district that none of the candidates lies in gives [`UnitMatch::Unknown`].
    pub fn match_unit(&self, text: &str, district: Option<&str>) -> UnitMatch {
        let text = nfc(text.trim());
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            if let Some(e) = self.entries.iter().find(|e| e.code == text) {
                return UnitMatch::Exact(e.code.clone());
            }
            return UnitMatch::Unknown;
        }
        let prefixes: Vec<&[&str]> = UNIT_PREFIXES.iter().map(|(p, _)| *p).collect();
        let district = district.map(|d| district_keys(&nfc(d.trim())));
        // With the prefix read as a prefix first; if that leaves no unit,
        // the whole text as a name (`Phuong Giao` typed without accents).
        let mut readings = Vec::with_capacity(2);
        if let Some((i, rest)) = strip_prefix(&text, &prefixes) {
            readings.push((Some(UNIT_PREFIXES[i].1), rest.join(" ")));
        }
        readings.push((None, text.clone()));
        let Some((cands, mut fallback)) = readings
            .iter()
            .map(|(kind, name)| self.name_candidates(name, *kind))
            .find(|(c, _)| !c.is_empty())
        else {
            return UnitMatch::Unknown;
        };
        let cands = match &district {
            Some((dk, _)) if self.district_keys.contains(dk) => cands
                .into_iter()
                .filter(|&i| self.entries[i].district_key == *dk)
                .collect(),
            Some((_, da)) if self.allow_ascii_fallback && self.district_ascii.contains(da) => {
                fallback = true;
                cands
                    .into_iter()
                    .filter(|&i| self.entries[i].district_ascii == *da)
                    .collect()
            }
            _ => cands,
        };
        match cands.as_slice() {
            [] => UnitMatch::Unknown,
            [i] if fallback => UnitMatch::AccentFallback(self.entries[*i].code.clone()),
            [i] => UnitMatch::Exact(self.entries[*i].code.clone()),
            many => {
                let mut codes: Vec<String> =
                    many.iter().map(|&i| self.entries[i].code.clone()).collect();
                codes.sort();
                UnitMatch::Ambiguous(codes)
            }
        }
    }

    /// The units called `name` (of `kind`, if given), on the exact key,
    /// else (if allowed) on the accent-free key; whether the fallback was used.
    fn name_candidates(&self, name: &str, kind: Option<UnitKind>) -> (Vec<usize>, bool) {
        let exact = self.candidates(&self.by_key, &match_key(name), kind);
        if exact.is_empty() && self.allow_ascii_fallback {
            (
                self.candidates(&self.by_ascii, &ascii_key(name), kind),
                true,
            )
        } else {
            (exact, false)
        }
    }

    fn candidates(
        &self,
        index: &BTreeMap<String, Vec<usize>>,
        key: &str,
        kind: Option<UnitKind>,
    ) -> Vec<usize> {
        index
            .get(key)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| kind.is_none_or(|k| self.entries[i].kind == k))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipas_core::bundled;

    fn m() -> UnitMatcher {
        UnitMatcher::new(&bundled::units())
    }

    fn exact(c: &str) -> UnitMatch {
        UnitMatch::Exact(c.into())
    }

    #[test]
    fn codes_match_themselves() {
        assert_eq!(m().match_unit("05443", None), exact("05443"));
        assert_eq!(m().match_unit(" 05443 ", None), exact("05443"));
        assert_eq!(m().match_unit("99999", None), UnitMatch::Unknown);
    }

    #[test]
    fn prefixes_case_and_tone_placement() {
        let m = m();
        for t in [
            "P. Trưng Vương",
            "phường trưng vương",
            "PHƯỜNG TRƯNG VƯƠNG",
            "P Trưng Vương",
            "P.Trưng Vương",
            "Phuong Trưng Vương",
            "Trưng Vương",
        ] {
            assert_eq!(m.match_unit(t, None), exact("05443"), "{t}");
        }
        // Decomposed (NFD) input.
        let nfd = "Phu\u{31b}\u{300}o\u{31b}ng Tru\u{31b}ng Vu\u{31b}o\u{31b}ng";
        assert_eq!(m.match_unit(nfd, None), exact("05443"));
        // Chợ Chu is a thị trấn: TT / Thị trấn / Thi tran agree, Xã does not.
        for t in [
            "TT. Chợ Chu",
            "TT Chợ Chu",
            "Thị trấn Chợ Chu",
            "thi tran Chợ Chu",
        ] {
            assert_eq!(m.match_unit(t, None), exact("05536"), "{t}");
        }
        assert_eq!(m.match_unit("Xã Chợ Chu", None), UnitMatch::Unknown);
        assert_eq!(m.match_unit("Xã Trưng Vương", None), UnitMatch::Unknown);
        assert_eq!(m.match_unit("X. Phú Đình", None), exact("05602"));
    }

    #[test]
    fn accent_fallback_only_when_allowed() {
        let strict = m();
        assert_eq!(strict.match_unit("Xa Phu Dinh", None), UnitMatch::Unknown);
        let loose = m().with_ascii_fallback(true);
        assert_eq!(
            loose.match_unit("Xa Phu Dinh", None),
            UnitMatch::AccentFallback("05602".into())
        );
        // An exact key still wins with the fallback on.
        assert_eq!(loose.match_unit("Xã Phú Đình", None), exact("05602"));
        assert_eq!(loose.match_unit("Xa Khong Co", None), UnitMatch::Unknown);
    }

    #[test]
    fn district_with_either_tone_placement() {
        let m = m();
        // Tân Thịnh is a phường in TP Thái Nguyên and a xã in Định Hóa.
        let reg = bundled::units();
        let tt_dinh_hoa = reg
            .iter()
            .find(|u| u.name == "Tân Thịnh" && u.district_name == "Huyện Định Hóa")
            .unwrap();
        for d in [
            "Huyện Định Hoá",
            "Huyện Định Hóa",
            "Định Hoá",
            "H. định hoá",
        ] {
            assert_eq!(
                m.match_unit("Tân Thịnh", Some(d)),
                exact(&tt_dinh_hoa.code),
                "{d}"
            );
        }
        // A district typed without accents is only read with the fallback on.
        assert!(matches!(
            m.match_unit("Tân Thịnh", Some("Dinh Hoa")),
            UnitMatch::Ambiguous(_)
        ));
        assert_eq!(
            m.clone()
                .with_ascii_fallback(true)
                .match_unit("Tân Thịnh", Some("Dinh Hoa")),
            UnitMatch::AccentFallback(tt_dinh_hoa.code.clone())
        );
    }

    #[test]
    fn the_five_duplicated_names() {
        let m = m();
        let reg = bundled::units();
        for name in [
            "Tân Thịnh",
            "Hương Sơn",
            "Trung Thành",
            "Tân Thành",
            "Tân Long",
        ] {
            let units: Vec<_> = reg.iter().filter(|u| u.name == name).collect();
            assert_eq!(units.len(), 2, "{name}");
            let mut codes: Vec<String> = units.iter().map(|u| u.code.clone()).collect();
            codes.sort();
            assert_eq!(
                m.match_unit(name, None),
                UnitMatch::Ambiguous(codes.clone()),
                "{name}"
            );
            for u in &units {
                if units[0].district_name != units[1].district_name {
                    assert_eq!(
                        m.match_unit(name, Some(&u.district_name)),
                        exact(&u.code),
                        "{name} in {}",
                        u.district_name
                    );
                }
                // With the prefix, the kind separates them when kinds differ.
                let other = units.iter().find(|o| o.code != u.code).unwrap();
                if other.kind != u.kind {
                    assert_eq!(m.match_unit(&u.full_name(), None), exact(&u.code));
                }
            }
        }
        // Trung Thành is a phường in two cities: only the district separates them.
        assert!(matches!(
            m.match_unit("Phường Trung Thành", None),
            UnitMatch::Ambiguous(c) if c.len() == 2
        ));
        assert!(matches!(
            m.match_unit("Phường Trung Thành", Some("TP. Phổ Yên")),
            UnitMatch::Exact(_)
        ));
        // An unknown district is ignored; a known district without the name gives Unknown.
        assert!(matches!(
            m.match_unit("Tân Long", Some("Huyện Không Có")),
            UnitMatch::Ambiguous(_)
        ));
        assert_eq!(
            m.match_unit("Tân Long", Some("Huyện Võ Nhai")),
            UnitMatch::Unknown
        );
    }

    #[test]
    fn unknown_names() {
        let m = m();
        for t in ["", "Phường", "Phường Không Tồn Tại", "Hà Nội", "12345x"] {
            assert_eq!(m.match_unit(t, None), UnitMatch::Unknown, "{t}");
        }
    }
}
