//! Every name of every bundled unit list resolves in every written form.
//!
//! The lists are read from `fixtures/units/*.csv` (any list added there is
//! tested too). The expected answer is computed from the lists alone, by
//! plain string equality on the official names: the units whose name (and
//! kind, when a prefix is written; and district, when one is given) equal
//! the unit's. One such unit → its code; several → ambiguous, with them as
//! candidates.

use std::path::PathBuf;

use sipas_clean::{UnitMatch, UnitMatcher};
use sipas_core::{Unit, UnitKind, UnitRegistry};
use unicode_normalization::UnicodeNormalization;

fn unit_lists() -> Vec<(PathBuf, UnitRegistry)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/units");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let r = UnitRegistry::from_path(&p).unwrap();
            (p, r)
        })
        .collect()
}

/// The prefixes a unit of `kind` may be written with (`None`: no prefix).
fn prefixes(kind: UnitKind) -> Vec<Option<&'static str>> {
    let written: &[&str] = match kind {
        UnitKind::Xa => &["Xã ", "X. ", "X.", "X ", "Xa "],
        UnitKind::Phuong => &["Phường ", "P. ", "P.", "P ", "Phuong "],
        UnitKind::ThiTran => &["Thị trấn ", "TT. ", "TT.", "Tt ", "TT ", "Thi tran "],
    };
    std::iter::once(None)
        .chain(written.iter().copied().map(Some))
        .collect()
}

/// The other tone placement of the syllables `oa`, `oe`, `uy` (`Hòa` ↔
/// `Hoà`, `Thụy` ↔ `Thuỵ`), in NFC; the text unchanged if it has none.
fn other_tone_placement(s: &str) -> String {
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{309}', '\u{303}', '\u{323}'];
    let pairs = [('o', 'a'), ('o', 'e'), ('u', 'y')];
    let c: Vec<char> = s.nfd().collect();
    let mut out: Vec<char> = Vec::with_capacity(c.len());
    let mut i = 0;
    while i < c.len() {
        let lower = |k: usize| c.get(k).map(|x| x.to_lowercase().next().unwrap());
        let is_pair = |a: Option<char>, b: Option<char>| {
            pairs.iter().any(|&(x, y)| a == Some(x) && b == Some(y))
        };
        // Old placement: o + tone + a  →  o + a + tone.
        if c.get(i + 1).is_some_and(|t| TONES.contains(t)) && is_pair(lower(i), lower(i + 2)) {
            out.extend([c[i], c[i + 2], c[i + 1]]);
            i += 3;
            continue;
        }
        // New placement: o + a + tone  →  o + tone + a (only at the end of a syllable).
        if c.get(i + 2).is_some_and(|t| TONES.contains(t))
            && is_pair(lower(i), lower(i + 1))
            && c.get(i + 3).is_none_or(|n| !n.is_alphabetic())
        {
            out.extend([c[i], c[i + 2], c[i + 1]]);
            i += 3;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out.into_iter().nfc().collect()
}

/// The written forms of a text: case as is, upper, lower; NFC and NFD;
/// either tone placement; single or extra spaces.
fn forms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cased in [text.to_string(), text.to_uppercase(), text.to_lowercase()] {
        for toned in [cased.clone(), other_tone_placement(&cased)] {
            for spaced in [toned.clone(), format!("  {}  ", toned.replace(' ', "   "))] {
                out.push(spaced.nfc().collect());
                out.push(spaced.nfd().collect());
            }
        }
    }
    out
}

/// What the lists say `name` (written with `kind`'s prefix, if any, within
/// `district`, if given) is.
fn expected(reg: &UnitRegistry, u: &Unit, kind: Option<UnitKind>, district: bool) -> UnitMatch {
    let mut codes: Vec<String> = reg
        .iter()
        .filter(|o| o.name == u.name)
        .filter(|o| kind.is_none_or(|k| o.kind == k))
        .filter(|o| !district || o.district_name == u.district_name)
        .map(|o| o.code.clone())
        .collect();
    codes.sort();
    match codes.as_slice() {
        [one] => UnitMatch::Exact(one.clone()),
        _ => UnitMatch::Ambiguous(codes),
    }
}

#[test]
fn every_unit_in_every_written_form() {
    let lists = unit_lists();
    assert!(lists.len() >= 2, "the bundled lists are found");
    for (path, reg) in &lists {
        let m = UnitMatcher::new(reg);
        let (mut checked, mut ambiguous, mut retoned) = (0u64, 0u64, 0u64);
        for u in reg.iter() {
            retoned += u64::from(other_tone_placement(&u.name) != u.name);
            for prefix in prefixes(u.kind) {
                let text = format!("{}{}", prefix.unwrap_or(""), u.name);
                let kind = prefix.map(|_| u.kind);
                for district in [None, Some(u.district_name.as_str())] {
                    let want = expected(reg, u, kind, district.is_some());
                    ambiguous += u64::from(matches!(want, UnitMatch::Ambiguous(_)));
                    for (t, d) in forms(&text).into_iter().zip(district.map_or_else(
                        || vec![None; 24],
                        |d| forms(d).into_iter().map(Some).collect(),
                    )) {
                        assert_eq!(
                            m.match_unit(&t, d.as_deref()),
                            want,
                            "{}: `{t}` in {d:?}",
                            path.display()
                        );
                        checked += 1;
                    }
                }
            }
        }
        // Every unit: (1 + prefixes) × 2 districts × 24 forms.
        let per_kind = |k: UnitKind| prefixes(k).len() as u64 * 2 * 24;
        assert_eq!(
            checked,
            reg.iter().map(|u| per_kind(u.kind)).sum::<u64>(),
            "{}",
            path.display()
        );
        // The lists have names in both tone placements' reach; the lists with districts
        // (before 01/07/2025) also have names shared by several units.
        assert!(
            retoned >= 3,
            "{}: {retoned} names change placement",
            path.display()
        );
        let with_districts = reg.iter().all(|u| !u.district_code.is_empty());
        assert_eq!(ambiguous > 0, with_districts, "{}", path.display());
    }
}

#[test]
fn names_beginning_like_a_prefix() {
    for (path, reg) in unit_lists() {
        if reg.get("05443").is_none() {
            continue; // Bắc Kạn's list: no Phương Giao nor Phượng Tiến.
        }
        let m = UnitMatcher::new(&reg);
        // Phương Giao merged away on 01/07/2025; Phượng Tiến lives on under code 05563.
        let names: &[(&str, &str)] = if reg.get("05749").is_some() {
            &[("Phương Giao", "05749"), ("Phượng Tiến", "05566")]
        } else {
            &[("Phượng Tiến", "05563")]
        };
        for &(name, code) in names {
            let u = reg.get(code).unwrap();
            assert_eq!(u.name, name, "{}", path.display());
            for t in [name.to_string(), format!("Xã {name}"), format!("X. {name}")] {
                assert_eq!(m.match_unit(&t, None), UnitMatch::Exact(code.into()), "{t}");
            }
            // Another tone on a prefix-like word is a name, not a prefix.
            assert_eq!(
                m.match_unit(&format!("Xá {name}"), None),
                UnitMatch::Unknown
            );
            // Typed without accents: read as a name once the prefix reading fails.
            let loose = m.clone().with_ascii_fallback(true);
            let ascii = if code == "05749" {
                "Phuong Giao"
            } else {
                "Phuong Tien"
            };
            assert_eq!(
                loose.match_unit(ascii, None),
                UnitMatch::AccentFallback(code.into())
            );
        }
    }
}

#[test]
fn tone_placement_helper() {
    assert_eq!(other_tone_placement("Hòa Bình"), "Hoà Bình");
    assert_eq!(other_tone_placement("Hoà"), "Hòa");
    assert_eq!(other_tone_placement("Thụy"), "Thuỵ");
    assert_eq!(other_tone_placement("HÒA"), "HOÀ");
    assert_eq!(other_tone_placement("Hoàng"), "Hoàng");
    assert_eq!(other_tone_placement("Trưng Vương"), "Trưng Vương");
}
