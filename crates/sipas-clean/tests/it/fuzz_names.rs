//! Property tests of the unit-name matcher: any text (random Unicode,
//! prefixes, combining marks, districts) gives an answer without a panic,
//! every code it answers is a code of the registry, and a real name gives
//! the same answer however it is typed (NFD, extra spaces, upper case).
//!
//! A few cases run in `cargo test`; `PROPTEST_CASES=5000 cargo test -p
//! sipas-clean --test it fuzz_names` runs longer; failures are kept in
//! `tests/proptest-regressions/` and replayed first.

use proptest::prelude::*;
use sipas_clean::{UnitMatch, UnitMatcher};
use unicode_normalization::UnicodeNormalization;

use crate::common::units;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Text a unit column may hold: prefixes, Vietnamese letters, combining
/// tone marks, digits, punctuation, whitespace, any other character.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(Xã|xa|P\\.|Phường|TT|Thị trấn|x\\.)? ?[a-zA-Zăâđêôơưạảấầẩẫậắằẳẵặẹẻẽềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ \u{300}\u{301}\u{303}\u{309}\u{323}]{0,20}",
        "[0-9]{0,6}",
        any::<String>(),
    ]
}

/// Checks an answer's codes against the registry.
fn consistent(m: &UnitMatch, codes: &std::collections::BTreeSet<String>) -> bool {
    match m {
        UnitMatch::Exact(c) | UnitMatch::AccentFallback(c) => codes.contains(c),
        UnitMatch::Ambiguous(v) => {
            v.len() >= 2 && v.is_sorted() && v.iter().all(|c| codes.contains(c))
        }
        UnitMatch::Unknown => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    #[test]
    fn any_text_gets_a_consistent_answer(
        t in text(),
        district in proptest::option::of(text()),
        fallback in any::<bool>(),
    ) {
        let reg = units();
        let codes = reg.iter().map(|u| u.code.clone()).collect();
        let m = UnitMatcher::new(&reg).with_ascii_fallback(fallback);
        let got = m.match_unit(&t, district.as_deref());
        prop_assert!(consistent(&got, &codes), "{t:?} → {got:?}");
        // Surrounding whitespace changes nothing.
        prop_assert_eq!(m.match_unit(&format!("  {t}\t"), district.as_deref()), got);
    }

    #[test]
    fn a_real_name_is_matched_however_it_is_typed(
        i in any::<prop::sample::Index>(),
        form in 0u8..3,
        with_district in any::<bool>(),
    ) {
        let reg = units();
        let all: Vec<_> = reg.iter().collect();
        let u = all[i.index(all.len())];
        let m = UnitMatcher::new(&reg);
        let name = u.full_name();
        let district = with_district.then_some(u.district_name.as_str());
        let typed = match form {
            0 => name.nfd().collect::<String>(),
            1 => name.replace(' ', "   "),
            _ => format!(" {name} "),
        };
        let want = m.match_unit(&name, district);
        prop_assert_eq!(m.match_unit(&typed, district), want.clone());
        // The official name with its district finds the unit (alone, or
        // among the units sharing the name).
        match want {
            UnitMatch::Exact(c) => prop_assert_eq!(c, u.code.clone()),
            UnitMatch::Ambiguous(v) => prop_assert!(v.contains(&u.code)),
            other => prop_assert!(false, "{name:?}: {other:?}"),
        }
    }
}
