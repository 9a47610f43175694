//! The per-row rules, as pure functions over answers.

use sipas_core::Scale;

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

/// Sets the scale's missing codes and out-of-range values to missing.
pub fn recode(answers: &mut [Option<u8>], scale: &Scale) -> Recoded {
    let mut r = Recoded::default();
    for a in answers.iter_mut() {
        if let Some(v) = *a
            && !scale.is_valid(v)
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

    fn scale() -> Scale {
        sipas_core::bundled::instrument("sipas-2017").unwrap().scale
    }

    #[test]
    fn recode_counts_missing_codes_and_out_of_range() {
        let mut a = vec![Some(1), Some(9), Some(99), Some(0), Some(6), None, Some(5)];
        let r = recode(&mut a, &scale());
        assert_eq!(
            r,
            Recoded {
                missing_code: 2,
                out_of_range: 2
            }
        );
        assert_eq!(a, vec![Some(1), None, None, None, None, None, Some(5)]);
        // A second pass changes nothing.
        assert!(!recode(&mut a, &scale()).any());
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
