//! Real response styles, on top of the ordered-logit model: acquiescent
//! respondents, item nonresponse clustered in some respondents, a mix of
//! survey modes with a small mode effect, re-sent files and edits.
//!
//! Every style draw comes from its own stream, keyed by (seed, styles tag,
//! unit, period, sequence): the model's own draws are unchanged, and with
//! [`ResponseStyles::default`] (every style off) the output is byte for
//! byte what it was without styles.
//!
//! **Population model.** Respondent *i* is acquiescent with probability *a*
//! (then every answered item is `satisfied_min`, "Hài lòng", or with
//! probability `acquiescent_top_share` the top code, "Rất hài lòng"); else
//! they answer the ordered logit with their mode's effect ε_m added to η
//! (mode m drawn with probability π_m). Independently of all that, a share
//! of respondents skips items at a high rate, the others at the base rate.
//! The truth is the expected share satisfied of this population:
//!
//! ```text
//! p_utj = a + (1 − a) · Σ_m π_m ∫ logistic(η₀ + ε_m + b − κ_sat) φ(b; 0, σ_b) db
//! ```
//!
//! (both acquiescent codes are satisfied). Missingness is independent of the
//! answers, so it does not enter.
//!
//! **Copies.** A re-sent respondent's row is written twice: the second time
//! under a new id (`…-resent`), identical otherwise, `submitted_at`
//! included (a file exported and sent again). An edited respondent's row is
//! followed by its earlier draft under the same id (one answer different,
//! submitted earlier; an export holding both versions). Ingest keeps the
//! first occurrence of an id and clean the latest submission: both keep the
//! edit. Clean drops the copy, so the clean set is exactly the model's
//! respondents. With styles on,
//! `submitted_at` is a time of day (`YYYY-MM-DDTHH:MM:SS+07:00`, 07:00–17:00),
//! as collection platforms record it.

use crate::model::Model;
use crate::rng::Xoshiro256pp;

/// Stream tag of the style draws.
pub(crate) const TAG_STYLE: u64 = 4;

/// A survey mode of the mix.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mode {
    /// The `channel` value written (`paper`, `online`, `phone`…).
    pub name: String,
    /// Probability π_m that a respondent answers in this mode.
    pub share: f64,
    /// Mode effect ε_m added to η (logit scale).
    pub effect: f64,
}

/// The response styles of a synthetic survey. The default turns every style off.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseStyles {
    /// Share *a* of acquiescent respondents (the same satisfied code to every item).
    pub acquiescent_share: f64,
    /// Among acquiescent respondents, the share answering the top code (5);
    /// the others answer `satisfied_min` (4).
    pub acquiescent_top_share: f64,
    /// Share of respondents who skip many items.
    pub nonresponse_share: f64,
    /// Probability that such a respondent leaves an item unanswered.
    pub nonresponse_rate: f64,
    /// The mode mix (shares sum to 1); empty: every row is `survey`.
    pub modes: Vec<Mode>,
    /// Share of respondents whose row is sent twice (a re-sent copy).
    pub resent_share: f64,
    /// Share of respondents whose row is an edit of an earlier draft (same id).
    pub edit_share: f64,
}

impl ResponseStyles {
    /// Realistic styles for the demo: 30% acquiescent (a fifth of them all
    /// 5s), 5% of respondents skipping half the items, paper 50% / online
    /// 30% / phone 20% with effects 0 / −0.15 / +0.10, 0.5% re-sent and 1%
    /// edited.
    pub fn realistic() -> Self {
        ResponseStyles {
            acquiescent_share: 0.3,
            acquiescent_top_share: 0.2,
            nonresponse_share: 0.05,
            nonresponse_rate: 0.5,
            modes: vec![
                Mode {
                    name: "paper".into(),
                    share: 0.5,
                    effect: 0.0,
                },
                Mode {
                    name: "online".into(),
                    share: 0.3,
                    effect: -0.15,
                },
                Mode {
                    name: "phone".into(),
                    share: 0.2,
                    effect: 0.10,
                },
            ],
            resent_share: 0.005,
            edit_share: 0.01,
        }
    }

    /// Whether any style is on.
    pub fn enabled(&self) -> bool {
        *self != ResponseStyles::default()
    }

    /// Checks the shares and effects.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        for (name, v) in [
            ("acquiescent_share", self.acquiescent_share),
            ("acquiescent_top_share", self.acquiescent_top_share),
            ("nonresponse_share", self.nonresponse_share),
            ("resent_share", self.resent_share),
            ("edit_share", self.edit_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`styles.{name}` must be in [0, 1], got {v}"));
            }
        }
        if !(0.0..1.0).contains(&self.nonresponse_rate) {
            return Err(format!(
                "`styles.nonresponse_rate` must be in [0, 1), got {}",
                self.nonresponse_rate
            ));
        }
        if !self.modes.is_empty() {
            let total: f64 = self.modes.iter().map(|m| m.share).sum();
            if (total - 1.0).abs() > 1e-9 {
                return Err(format!("`styles.modes` shares sum to {total}, not 1"));
            }
            for m in &self.modes {
                if m.name.trim().is_empty() || m.name.contains(',') {
                    return Err(format!("mode name `{}` is empty or has a comma", m.name));
                }
                if !(m.share >= 0.0 && m.effect.is_finite()) {
                    return Err(format!(
                        "mode `{}`: share must be ≥ 0 and effect finite",
                        m.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The styles of one respondent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Respondent {
    /// The code every answered item gets, for an acquiescent respondent.
    pub(crate) acquiescent: Option<u8>,
    /// Probability that an item is unanswered.
    pub(crate) missing_rate: f64,
    /// Index of the mode in `modes` (0 without modes).
    pub(crate) mode: u8,
    /// The mode effect ε_m.
    pub(crate) effect: f64,
    /// Seconds after midnight of the submission.
    pub(crate) seconds: u32,
    /// Written twice (the second under a new id).
    pub(crate) resent: bool,
    /// An edit: the draft's item index, its code there and its submission second.
    pub(crate) draft: Option<(u16, u8, u32)>,
}

/// Draws the styles of respondent `seq` of unit `u`, period `t`.
pub(crate) fn respondent(model: &Model, u: usize, t: usize, seq: u64) -> Respondent {
    let cfg = &model.cfg;
    let st = &cfg.styles;
    let mut rng = Xoshiro256pp::stream(
        cfg.seed,
        &[TAG_STYLE, model.unit_keys[u], model.period_keys[t], seq],
    );
    let (u_acq, u_top, u_nr, u_mode) = (rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform());
    let (u_resent, u_edit, u_time, u_draft) =
        (rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform());
    let scale = &model.instrument.scale;
    let acquiescent =
        (u_acq < st.acquiescent_share).then_some(if u_top < st.acquiescent_top_share {
            scale.max
        } else {
            scale.satisfied_min
        });
    let missing_rate = if u_nr < st.nonresponse_share {
        st.nonresponse_rate
    } else {
        cfg.missing_rate
    };
    let mut mode = 0usize;
    let mut acc = 0.0;
    for (i, m) in st.modes.iter().enumerate() {
        acc += m.share;
        mode = i;
        if u_mode < acc {
            break;
        }
    }
    let effect = st.modes.get(mode).map_or(0.0, |m| m.effect);
    // 07:00:00 to 16:59:59.
    let seconds = 7 * 3600 + ((u_time * 36_000.0) as u32).min(35_999);
    let n_items = model.gamma.len();
    let draft = (u_edit < st.edit_share).then(|| {
        let item = ((u_draft * n_items as f64) as usize).min(n_items - 1);
        let earlier = 1 + ((u_draft * 7_200.0) as u32).min(7_199);
        (
            u16::try_from(item).expect("fewer than 65,536 items"),
            // The item's lowest valid code (the scale's minimum for a Likert item).
            model.instrument.items()[item].rule.valid[0],
            seconds - earlier,
        )
    });
    Respondent {
        acquiescent,
        missing_rate,
        mode: u8::try_from(mode).expect("fewer than 256 modes"),
        effect,
        seconds,
        resent: u_resent < st.resent_share,
        draft,
    }
}

/// The expected share satisfied under the styles, given the model's share
/// `mean(x)` of a non-acquiescent respondent at `x = η₀ − κ_sat` (plus the
/// mode effect).
pub(crate) fn item_share(st: &ResponseStyles, x: f64, mean: impl Fn(f64) -> f64) -> f64 {
    st.acquiescent_share + (1.0 - st.acquiescent_share) * answered_share(st, x, mean)
}

/// The share of respondents who answer by their latent value (not
/// acquiescently) whose latent value is above a cut: `mean(x)` mixed over the
/// modes' effects, `x` = η₀ minus the cut.
pub(crate) fn answered_share(st: &ResponseStyles, x: f64, mean: impl Fn(f64) -> f64) -> f64 {
    if st.modes.is_empty() {
        mean(x)
    } else {
        st.modes.iter().map(|m| m.share * mean(x + m.effect)).sum()
    }
}

/// One written row: which respondent of a chunk, and which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// The earlier draft of an edited row (same id, earlier, one answer different).
    Draft,
    /// The respondent's row.
    Final,
    /// A re-sent copy (new id, identical otherwise).
    Copy,
}

/// The rows written for chunk rows `0..n` (`None` styles: one per row):
/// each respondent's row, then its earlier draft (an export that holds both
/// versions), then its re-sent copy.
pub(crate) fn expand(styles: Option<&[Respondent]>, n: usize) -> Vec<(usize, Version)> {
    let Some(st) = styles else {
        return (0..n).map(|i| (i, Version::Final)).collect();
    };
    let mut out = Vec::with_capacity(n + n / 16);
    for (i, s) in st.iter().enumerate().take(n) {
        out.push((i, Version::Final));
        if s.draft.is_some() {
            out.push((i, Version::Draft));
        }
        if s.resent {
            out.push((i, Version::Copy));
        }
    }
    out
}

/// `submitted_at` of a row with styles: the date at the respondent's (or
/// the draft's) time, Vietnam time.
pub(crate) fn timestamp(date: &str, seconds: u32) -> String {
    format!(
        "{date}T{:02}:{:02}:{:02}+07:00",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_mixes_modes_and_acquiescence() {
        let st = ResponseStyles {
            acquiescent_share: 0.4,
            modes: vec![
                Mode {
                    name: "a".into(),
                    share: 0.25,
                    effect: 1.0,
                },
                Mode {
                    name: "b".into(),
                    share: 0.75,
                    effect: -1.0,
                },
            ],
            ..ResponseStyles::default()
        };
        // mean(x) = x/10 (a stand-in): 0.4 + 0.6·(0.25·0.3 + 0.75·0.1) = 0.49.
        let p = item_share(&st, 2.0, |x| x / 10.0);
        assert!((p - 0.49).abs() < 1e-15, "{p}");
        assert_eq!(
            item_share(&ResponseStyles::default(), 2.0, |x| x / 10.0),
            0.2
        );
        assert_eq!(
            timestamp("2024-01-02", 7 * 3600 + 61),
            "2024-01-02T07:01:01+07:00"
        );
        assert!(ResponseStyles::realistic().check().is_ok());
        assert!(!ResponseStyles::default().enabled());
    }
}
