//! The per-row rules, as pure functions over answers.

use sipas_core::Instrument;

/// How many values [`recode`] set to missing, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recoded {
    /// Values that were one of the scale's missing codes (9, 99).
    pub missing_code: u64,
    /// Other values outside `min..=max`.
    pub out_of_range: u64,
}

impl Recoded {
    /// Whether anything was recoded.
    pub fn any(self) -> bool {
        self.missing_code + self.out_of_range > 0
    }
}

/// Sets the scale's missing codes and values that are not valid answers of
/// their item (`answers` in instrument order) to missing.
pub fn recode(answers: &mut [Option<u8>], instrument: &Instrument) -> Recoded {
    let mut r = Recoded::default();
    let scale = &instrument.scale;
    for (a, item) in answers.iter_mut().zip(instrument.items()) {
        if let Some(v) = *a
            && !item.is_valid(v)
        {
            if scale.missing_codes.contains(&u16::from(v)) {
                r.missing_code += 1;
            } else {
                r.out_of_range += 1;
            }
            *a = None;
        }
    }
    r
}

/// The positions of the Likert items when the instrument also has items of
/// other types (straight-lining is judged on the Likert items only); `None`
/// when every item is a Likert item.
pub fn likert_positions(instrument: &Instrument) -> Option<Vec<usize>> {
    let pos: Vec<usize> = instrument
        .items()
        .iter()
        .enumerate()
        .filter(|(_, i)| i.rule.kind == sipas_core::index::ItemType::Likert)
        .map(|(j, _)| j)
        .collect();
    (pos.len() < instrument.items().len()).then_some(pos)
}

/// [`is_straightline`] over the Likert items ([`likert_positions`]).
pub fn is_straightline_at(answers: &[Option<u8>], likert: Option<&[usize]>) -> bool {
    match likert {
        None => is_straightline(answers),
        Some(pos) => {
            let a: Vec<Option<u8>> = pos.iter().map(|&j| answers[j]).collect();
            is_straightline(&a)
        }
    }
}

/// Every item answered, all with the same code (at least two items).
pub fn is_straightline(answers: &[Option<u8>]) -> bool {
    answers.len() >= 2 && answers[0].is_some() && answers.iter().all(|a| *a == answers[0])
}

/// Share of unanswered items (1 for an instrument without items).
pub fn missing_share(answers: &[Option<u8>]) -> f64 {
    if answers.is_empty() {
        return 1.0;
    }
    answers.iter().filter(|a| a.is_none()).count() as f64 / answers.len() as f64
}

/// Too many items unanswered: share strictly above `max_share`.
pub fn is_missing_heavy(answers: &[Option<u8>], max_share: f64) -> bool {
    missing_share(answers) > max_share
}

/// A known duration strictly under `min_duration_s`.
pub fn is_speeder(duration_s: Option<f64>, min_duration_s: f64) -> bool {
    duration_s.is_some_and(|d| d < min_duration_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> Instrument {
        sipas_core::bundled::instrument("sipas-2017").unwrap()
    }

    #[test]
    fn recode_counts_missing_codes_and_out_of_range() {
        let mut a = vec![Some(1), Some(9), Some(99), Some(0), Some(6), None, Some(5)];
        let r = recode(&mut a, &inst());
        assert_eq!(
            r,
            Recoded {
                missing_code: 2,
                out_of_range: 2
            }
        );
        assert_eq!(a, vec![Some(1), None, None, None, None, None, Some(5)]);
        // A second pass changes nothing.
        assert!(!recode(&mut a, &inst()).any());
    }

    #[test]
    fn other_item_types_recode_by_their_own_codes() {
        let m = Instrument::from_toml_str(
            include_str!("../../../fixtures/instruments/test/mixed.toml"),
            "mixed.toml",
        )
        .unwrap();
        // q1 Likert 1–5, q2 yes/no 1–2, q3 Likert, q4 numeric 0–4.
        let mut a = vec![Some(0), Some(3), Some(9), Some(0)];
        let r = recode(&mut a, &m);
        assert_eq!(
            r,
            Recoded {
                missing_code: 1,
                out_of_range: 2
            }
        );
        assert_eq!(a, vec![None, None, None, Some(0)]);
        // Straight-lining is judged on the two Likert items only.
        let pos = likert_positions(&m).unwrap();
        assert_eq!(pos, [0, 2]);
        assert!(is_straightline_at(
            &[Some(4), Some(1), Some(4), Some(0)],
            Some(&pos)
        ));
        assert!(!is_straightline_at(
            &[Some(4), Some(1), Some(4), Some(0)],
            None
        ));
        assert!(likert_positions(&inst()).is_none());
    }

    #[test]
    fn straightline_needs_every_item_answered_alike() {
        assert!(is_straightline(&[Some(4), Some(4), Some(4)]));
        assert!(!is_straightline(&[Some(4), Some(4), None]));
        assert!(!is_straightline(&[None, None]));
        assert!(!is_straightline(&[Some(4), Some(5)]));
        assert!(!is_straightline(&[Some(4)]));
    }

    #[test]
    fn missing_share_is_strictly_above_threshold() {
        let a = [Some(1), None, Some(2), None];
        assert_eq!(missing_share(&a), 0.5);
        assert!(!is_missing_heavy(&a, 0.5));
        assert!(is_missing_heavy(&[None, None, Some(3)], 0.5));
    }

    #[test]
    fn speeder_only_with_known_duration() {
        assert!(is_speeder(Some(119.9), 120.0));
        assert!(!is_speeder(Some(120.0), 120.0));
        assert!(!is_speeder(None, 120.0));
    }
}
