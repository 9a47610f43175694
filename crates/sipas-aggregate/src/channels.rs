//! Channels: survey modes (pooled) and rating channels (never pooled).
//!
//! A SIPAS survey may be collected in several *modes* of one sample
//! (paper, online, phone, face to face…): their rows are one sample and are
//! pooled. Per-transaction *ratings* (QR codes, kiosks, SMS at the one-stop
//! desk) are a different, self-selected population: never pooled with the
//! survey. Every channel value in the data must be classified; an unknown
//! value is an error, never a silent drop.

use std::collections::BTreeSet;

use crate::responses::Responses;
use crate::{Error, Result};

/// The `channel` option that selects every survey mode, pooled.
pub const SURVEY: &str = "survey";

/// Survey modes known by default.
pub const DEFAULT_SURVEY_MODES: [&str; 10] = [
    "survey",
    "paper",
    "online",
    "web",
    "phone",
    "cati",
    "capi",
    "face_to_face",
    "interview",
    "mail",
];

/// Rating channels known by default.
pub const DEFAULT_RATING_CHANNELS: [&str; 4] = ["qr", "kiosk", "sms", "rating"];

/// The key a channel value is classified on: trimmed, lowercase, spaces and
/// hyphens as `_` (`Face-to-face` → `face_to_face`).
pub fn channel_key(value: &str) -> String {
    value
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '-' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// How channel values are classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelClasses {
    /// Survey modes: pooled when the `survey` channel is estimated.
    pub survey_modes: BTreeSet<String>,
    /// Rating channels: never pooled; each may be estimated on its own.
    pub rating_channels: BTreeSet<String>,
}

impl Default for ChannelClasses {
    fn default() -> Self {
        ChannelClasses {
            survey_modes: DEFAULT_SURVEY_MODES.iter().map(|s| (*s).into()).collect(),
            rating_channels: DEFAULT_RATING_CHANNELS
                .iter()
                .map(|s| (*s).into())
                .collect(),
        }
    }
}

/// The class of a channel value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelClass {
    /// A mode of the survey.
    SurveyMode,
    /// A per-transaction rating channel.
    Rating,
}

impl ChannelClasses {
    /// Classes with the given lists (`None`: the default list); a value in
    /// both lists is an error.
    pub fn new<S: AsRef<str>>(
        survey_modes: Option<&[S]>,
        rating_channels: Option<&[S]>,
    ) -> Result<Self> {
        let d = ChannelClasses::default();
        let set = |v: Option<&[S]>, default: BTreeSet<String>| {
            v.map_or(default, |v| {
                v.iter().map(|s| channel_key(s.as_ref())).collect()
            })
        };
        let c = ChannelClasses {
            survey_modes: set(survey_modes, d.survey_modes),
            rating_channels: set(rating_channels, d.rating_channels),
        };
        if let Some(both) = c.survey_modes.intersection(&c.rating_channels).next() {
            return Err(Error::Data {
                origin: "channel classes".into(),
                message: format!(
                    "`{both}` is listed both as a survey mode and as a rating channel"
                ),
            });
        }
        Ok(c)
    }

    /// The class of `value`, if it is classified.
    pub fn class(&self, value: &str) -> Option<ChannelClass> {
        let k = channel_key(value);
        if self.survey_modes.contains(&k) {
            Some(ChannelClass::SurveyMode)
        } else if self.rating_channels.contains(&k) {
            Some(ChannelClass::Rating)
        } else {
            None
        }
    }

    /// Per channel of `responses` (in [`Responses::channels`] order): whether
    /// its rows are used when estimating `channel` (`survey`: every survey
    /// mode, pooled; another value: the rows of that channel only). Every
    /// channel value must be classified.
    pub fn used(&self, responses: &Responses, channel: &str) -> Result<Vec<bool>> {
        let values = responses.channels();
        let unknown: Vec<&String> = values.iter().filter(|v| self.class(v).is_none()).collect();
        if !unknown.is_empty() {
            let counts = channel_counts(responses);
            let seen: Vec<String> = values
                .iter()
                .zip(&counts)
                .map(|(v, n)| {
                    let class = match self.class(v) {
                        Some(ChannelClass::SurveyMode) => "survey mode",
                        Some(ChannelClass::Rating) => "rating",
                        None => "unknown",
                    };
                    format!("`{v}` ({n} rows, {class})")
                })
                .collect();
            let names: Vec<String> = unknown.iter().map(|v| channel_key(v)).collect();
            return Err(Error::Data {
                origin: responses.origin().to_string(),
                message: format!(
                    "channel value{} {} {} neither a survey mode nor a rating channel; \
                     values seen: {}; classify them with --survey-modes / --rating-channels \
                     (job file: [aggregate] survey_modes = [...], rating_channels = [...]); \
                     survey modes are pooled, rating channels never are; defaults: \
                     survey modes {}, rating channels {}",
                    if names.len() > 1 { "s" } else { "" },
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if names.len() > 1 { "are" } else { "is" },
                    seen.join(", "),
                    DEFAULT_SURVEY_MODES.join(", "),
                    DEFAULT_RATING_CHANNELS.join(", ")
                ),
            });
        }
        let want = channel_key(channel);
        Ok(values
            .iter()
            .map(|v| {
                if want == SURVEY {
                    self.class(v) == Some(ChannelClass::SurveyMode)
                } else {
                    channel_key(v) == want
                }
            })
            .collect())
    }
}

/// Rows per channel of `responses`, in [`Responses::channels`] order.
pub(crate) fn channel_counts(responses: &Responses) -> Vec<usize> {
    let mut n = vec![0usize; responses.channels().len()];
    for &c in responses.channel_indices() {
        n[c as usize] += 1;
    }
    n
}

/// The label of the rows used for `channel`: `survey` when several survey
/// modes are pooled, else the channel.
pub(crate) fn used_label(responses: &Responses, used: &[bool], channel: &str) -> String {
    let names: Vec<&str> = responses
        .channels()
        .iter()
        .zip(used)
        .filter(|(_, u)| **u)
        .map(|(c, _)| c.as_str())
        .collect();
    if channel_key(channel) == SURVEY && names.len() > 1 {
        format!("{SURVEY} ({})", names.join(" + "))
    } else {
        channel.to_string()
    }
}

/// The paragraphs of `methods.txt` on the data: which submissions count
/// once, which channels were pooled and which were left out (from the
/// aggregate report of the run).
pub fn data_methods_text(report: &crate::AggregateReport) -> String {
    let list = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(c, n)| format!("{c} ({n} responses)"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::from(
        "Data: duplicates, survey modes and channels\n\n\
         Duplicates. A duplicate is a copy of the same submission, never a second person: \
         the same response id submitted again (an edit; the latest submission is kept), or \
         a re-sent copy, identical to another row in every field the collection platform \
         records, submission time included, under a new id (a file exported and sent twice; \
         the first copy is kept). Respondents who give the same answers are different people \
         and are kept: in a satisfaction survey many respondents answer \"satisfied\" to \
         every item, and removing them would bias the index downwards. Without a submission \
         time a row whose answers match another's is flagged (flag_same_answers), never \
         removed. Straight-lining (the same answer to every item) is flagged and kept.\n\n",
    );
    let modes = list(&report.channels_used);
    if report.channels_used.len() > 1 {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "Survey modes. The responses were collected in several modes of one sample: \
                 {modes}. They are pooled into one estimate per unit and period, as one \
                 sample. Modes can shift answers (mode effects), so estimates.csv also gives \
                 every index per mode and period (domain type \"mode\"), and modes.csv the \
                 SIPAS of each pair of modes with their difference; the standard error of the \
                 difference is linearized under the same design and includes the covariance of \
                 the two modes, which share strata.\n\n"
            ),
        );
    } else {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!("Survey modes. The estimates use the channel {modes}.\n\n"),
        );
    }
    if report.excluded_by_channel.is_empty() {
        s.push_str("Channels. No response of another channel was present.\n");
    } else {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "Channels. Per-transaction ratings (QR codes, kiosks, SMS at the one-stop \
                 desk) are a different, self-selected population and are never pooled with \
                 the survey: {} were left out.\n",
                list(&report.excluded_by_channel)
            ),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_classes() {
        let c = ChannelClasses::default();
        assert_eq!(channel_key(" Face-to-face "), "face_to_face");
        assert_eq!(c.class("PAPER"), Some(ChannelClass::SurveyMode));
        assert_eq!(c.class("face to face"), Some(ChannelClass::SurveyMode));
        assert_eq!(c.class("qr"), Some(ChannelClass::Rating));
        assert_eq!(c.class("zalo"), None);
        let c = ChannelClasses::new(Some(&["zalo", "paper"]), None).unwrap();
        assert_eq!(c.class("zalo"), Some(ChannelClass::SurveyMode));
        assert_eq!(c.class("online"), None);
        let err = ChannelClasses::new(Some(&["qr"]), None).unwrap_err();
        assert!(err.to_string().contains("`qr`"), "{err}");
    }
}
