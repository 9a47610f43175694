//! Vietnamese text: NFC normalisation and matching keys.
//!
//! Text is data: every string sipas reads is normalised to Unicode NFC and
//! the original is kept for display. Names are *matched* on a key that also
//! ignores case, extra whitespace and old vs new tone placement
//! (`Hòa`/`Hoà`, `Thụy`/`Thuỵ`): each syllable's tone mark is taken off the
//! vowel it sits on and written after the syllable.

use unicode_normalization::UnicodeNormalization;

/// The string in Unicode Normalization Form C.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Whether the string is already NFC.
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// The tone of a combining mark, if it is one of the five Vietnamese tone marks.
fn tone_of(c: char) -> Option<u8> {
    match c {
        '\u{0300}' => Some(1), // huyền (grave)
        '\u{0301}' => Some(2), // sắc (acute)
        '\u{0309}' => Some(3), // hỏi (hook above)
        '\u{0303}' => Some(4), // ngã (tilde)
        '\u{0323}' => Some(5), // nặng (dot below)
        _ => None,
    }
}

/// A matching key: NFC, lowercase, single spaces, punctuation other than
/// letters and digits dropped, and each syllable's tone moved to a digit
/// suffix, so `Hòa`, `Hoà` and `HOÀ` share a key (`hoa1`).
pub fn match_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for word in s.split(|c: char| c.is_whitespace() || c == '.' || c == ',' || c == '-') {
        if word.is_empty() {
            continue;
        }
        let mut syllable = String::with_capacity(word.len());
        let mut tone = None;
        for c in word.nfd() {
            if let Some(t) = tone_of(c) {
                tone = Some(t);
            } else if c.is_alphanumeric() || is_quality_mark(c) {
                syllable.extend(c.to_lowercase());
            }
        }
        if syllable.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(syllable.nfc());
        if let Some(t) = tone {
            out.push(char::from(b'0' + t));
        }
    }
    out
}

fn is_quality_mark(c: char) -> bool {
    matches!(c, '\u{0302}' | '\u{0306}' | '\u{031B}')
}

/// A key with every diacritic removed and `đ` read as `d` (`Phú Đình` →
/// `phu dinh`): a fallback for text typed without accents. Matches made on
/// it must be reported as such, since distinct names can share it.
pub fn ascii_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c == '.' || c == ',' || c == '-') {
        let mut w = String::new();
        for c in word.nfd() {
            let c = match c {
                'đ' | 'Đ' => 'd',
                c => c,
            };
            if c.is_ascii_alphanumeric() {
                w.push(c.to_ascii_lowercase());
            }
        }
        if !w.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_composes_decomposed_vietnamese() {
        let nfd = "Pho\u{302}\u{301} Ye\u{302}n";
        assert_eq!(nfc(nfd), "Phố Yên");
        assert!(is_nfc(&nfc(nfd)));
        assert!(!is_nfc(nfd));
    }

    #[test]
    fn key_ignores_tone_placement_case_and_spacing() {
        assert_eq!(match_key("Hòa"), match_key("Hoà"));
        assert_eq!(match_key("Thụy"), match_key("Thuỵ"));
        assert_eq!(match_key("  Định   HÓA "), match_key("định hoá"));
        assert_eq!(match_key("Hòa"), "hoa1");
        assert_eq!(match_key("Trưng Vương"), "trưng vương");
        assert_ne!(match_key("Hòa"), match_key("Hóa"));
        assert_eq!(match_key("Pho\u{302}\u{301}"), match_key("Phố"));
    }

    #[test]
    fn ascii_key_strips_all_marks() {
        assert_eq!(ascii_key("Xã Phú Đình"), "xa phu dinh");
        assert_eq!(ascii_key("Xa Phu Dinh"), "xa phu dinh");
    }
}
