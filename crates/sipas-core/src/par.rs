//! The commune PAR index (Chỉ số cải cách hành chính cấp xã) as an
//! instrument describes it: appraised criteria, each scored from 0 to its
//! maximum by the appraisal council, plus survey-based points mapped from
//! the instrument's indices.
//!
//! The survey-based part is a linear map of survey indices (`points` ×
//! (value − lo) / (hi − lo) per index), so it is itself an affine function of
//! the test shares: the instrument adds it as a composite group
//! ([`ParDefinition::survey_id`], `par_survey`) and every engine estimates it
//! like any group, with its design-based SE. The total is that estimate plus
//! the unit's appraised criteria points of the period, which carry no
//! sampling error: the uncertainty of `par_total` is that of the survey part
//! only.

use serde::Deserialize;

/// One appraised criterion (`[[par.criteria]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Identifier, as the criteria table names it (`c1`).
    pub id: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// The most points it can score.
    pub maximum: f64,
}

/// One survey-based component (`[[par.survey]]`): an index of the
/// instrument mapped linearly from its scale onto 0 … `points`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyPoints {
    /// A group of the instrument (`sipas`, `papi_participation`).
    pub index: String,
    /// Points at the top of its scale (0 at the bottom).
    pub points: f64,
}

/// The `[par]` table of an instrument file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParDefinition {
    /// The total's name in outputs (`par_total`).
    pub id: String,
    /// Vietnamese name of the total.
    pub name_vi: String,
    /// English name of the total.
    pub name_en: String,
    /// The survey-based part's name in outputs (`par_survey`).
    #[serde(default = "survey_id")]
    pub survey_id: String,
    /// Survey-based components.
    pub survey: Vec<SurveyPoints>,
    /// Appraised criteria.
    pub criteria: Vec<Criterion>,
}

fn survey_id() -> String {
    "par_survey".to_string()
}

impl ParDefinition {
    /// The most survey-based points (Σ `points`).
    pub fn survey_max(&self) -> f64 {
        self.survey.iter().map(|s| s.points).sum()
    }

    /// The most appraised points (Σ `maximum`).
    pub fn criteria_max(&self) -> f64 {
        self.criteria.iter().map(|c| c.maximum).sum()
    }

    /// The total's scale: 0 to the survey and criteria maxima together.
    pub fn bounds(&self) -> (f64, f64) {
        (0.0, self.survey_max() + self.criteria_max())
    }

    /// A criterion by id.
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    /// Checks what does not depend on the rest of the instrument.
    pub(crate) fn check(&self) -> Result<(), String> {
        let finite_pos = |x: f64| x.is_finite() && x > 0.0;
        if self.survey.is_empty() {
            return Err("par: at least one [[par.survey]] component is required".into());
        }
        if self.criteria.is_empty() {
            return Err("par: at least one [[par.criteria]] is required".into());
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.criteria {
            if !seen.insert(c.id.as_str()) {
                return Err(format!("par: duplicate criterion `{}`", c.id));
            }
            if !finite_pos(c.maximum) {
                return Err(format!(
                    "par: criterion `{}`: maximum must be a positive number",
                    c.id
                ));
            }
        }
        for s in &self.survey {
            if !finite_pos(s.points) {
                return Err(format!(
                    "par: survey component `{}`: points must be a positive number",
                    s.index
                ));
            }
        }
        if self.id == self.survey_id {
            return Err("par: `id` and `survey_id` must differ".into());
        }
        Ok(())
    }
}
