//! The survey design as data: the `[design]` section of a job file.

use serde::{Deserialize, Serialize};

/// How rows are stratified.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Strata {
    /// Each unit × period is a stratum (the design of [`crate::aggregate`]).
    #[default]
    UnitPeriod,
    /// Each unit is a stratum (over all periods).
    Unit,
    /// Each district (from the unit registry) is a stratum.
    District,
    /// Each unit kind (`xa`, `phuong`, `thi_tran`) is a stratum.
    Kind,
    /// No stratification.
    None,
    /// The values of a design column.
    Column(String),
}

impl From<String> for Strata {
    fn from(s: String) -> Self {
        match s.as_str() {
            "unit_period" => Strata::UnitPeriod,
            "unit" => Strata::Unit,
            "district" => Strata::District,
            "kind" => Strata::Kind,
            "none" => Strata::None,
            _ => Strata::Column(s),
        }
    }
}

impl From<Strata> for String {
    fn from(s: Strata) -> Self {
        match s {
            Strata::UnitPeriod => "unit_period".into(),
            Strata::Unit => "unit".into(),
            Strata::District => "district".into(),
            Strata::Kind => "kind".into(),
            Strata::None => "none".into(),
            Strata::Column(c) => c,
        }
    }
}

/// What to do with a stratum that has a single PSU, as R's
/// `options(survey.lonely.psu = …)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LonelyPsu {
    /// Refuse the design.
    Fail,
    /// The stratum contributes no variance (same numbers as `certainty`).
    Remove,
    /// The PSU is taken with certainty: no variance contribution.
    #[default]
    Certainty,
    /// The PSU total is centred at zero (the grand mean) instead of the stratum mean.
    Adjust,
    /// The stratum gets the average variance of the other strata.
    Average,
}

/// How variances are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceMethod {
    /// Taylor linearization (R `svydesign`).
    #[default]
    Linearization,
    /// Rao–Wu rescaling bootstrap (`replicates`, `seed`).
    Bootstrap,
    /// Delete-one-PSU jackknife: JK1 when unstratified, else JKn.
    Jackknife,
}

/// The kind of replicate weights supplied with the data (R `svrepdesign(type = …)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicateType {
    /// Bootstrap: scale 1/(R − 1), rscales 1.
    Bootstrap,
    /// Unstratified jackknife: scale (R − 1)/R (factors: 1/max factor of
    /// replicate 1, as R guesses), rscales 1.
    Jk1,
    /// Stratified jackknife: scale 1; `rscales` ((n_h − 1)/n_h of each
    /// replicate's stratum) required for full weights, else 1/max factor.
    Jkn,
    /// Any other replicates: `scale` and `rscales` default 1.
    Other,
}

/// Replicate weights supplied with the data, as R's `svrepdesign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicateWeights {
    /// Column pattern: a name with `*` matching any text (`"rb*"`, `"repwt_*"`).
    /// Matching columns are replicates in natural order (`rb2` before `rb10`).
    pub columns: String,
    /// The kind of replicates (sets the default scale and rscales).
    #[serde(rename = "type")]
    pub kind: ReplicateType,
    /// Overall scale of the variance (R `scale`).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Per-replicate scales (R `rscales`), in column order.
    #[serde(default)]
    pub rscales: Option<Vec<f64>>,
    /// The replicate columns are full weights (`true`, R's default
    /// `combined.weights = TRUE`) or factors multiplying `weights`.
    #[serde(default = "yes")]
    pub combined_weights: bool,
}

fn yes() -> bool {
    true
}

/// A survey design and the reliability rules (the job file's `[design]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesignSpec {
    /// Weight column (`weight`; weights 1 when the table has no `weight` column).
    pub weights: String,
    /// Strata.
    pub strata: Strata,
    /// Cluster (PSU) column; `None`: each response is its own PSU.
    pub cluster: Option<String>,
    /// Column of population sizes per stratum (number of PSUs in the
    /// population), or of sampling fractions when every value is ≤ 1.
    pub fpc: Option<String>,
    /// Lonely-PSU rule.
    pub lonely_psu: LonelyPsu,
    /// Variance method.
    pub variance: VarianceMethod,
    /// Replicate weights supplied with the data; when set, every variance
    /// comes from them (strata, cluster, fpc and `variance` are not used).
    pub replicate_weights: Option<ReplicateWeights>,
    /// Replication variances centred at the full-sample estimate (`true`)
    /// or at the mean of the replicates (`false`, R's default), as R's
    /// `mse` option.
    pub mse: bool,
    /// Bootstrap replicates.
    pub replicates: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Minimum n of a reliable estimate.
    pub min_n: usize,
    /// Maximum coefficient of variation of a reliable estimate.
    pub max_cv: f64,
    /// Values of estimates on fewer responses are left empty when published.
    pub suppress_below: usize,
}

impl Default for DesignSpec {
    fn default() -> Self {
        DesignSpec {
            weights: sipas_core::schema::WEIGHT.to_string(),
            strata: Strata::UnitPeriod,
            cluster: None,
            fpc: None,
            lonely_psu: LonelyPsu::Certainty,
            variance: VarianceMethod::Linearization,
            replicate_weights: None,
            mse: false,
            replicates: 1000,
            seed: 1,
            min_n: 30,
            max_cv: 0.2,
            suppress_below: 10,
        }
    }
}

impl DesignSpec {
    /// The design columns [`crate::read_responses_with`] must keep.
    pub fn columns(&self) -> Vec<&str> {
        let mut c = Vec::new();
        if self.weights != sipas_core::schema::WEIGHT {
            c.push(self.weights.as_str());
        }
        if let Strata::Column(s) = &self.strata {
            c.push(s.as_str());
        }
        c.extend(self.cluster.as_deref());
        c.extend(self.fpc.as_deref());
        c.extend(self.replicate_weights.as_ref().map(|r| r.columns.as_str()));
        c.dedup();
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_job_file_section() {
        let s: DesignSpec = toml::from_str(
            "strata = \"district\"\ncluster = \"village\"\nlonely_psu = \"adjust\"\nvariance = \"bootstrap\"\nreplicates = 500\nseed = 7",
        )
        .unwrap();
        assert_eq!(s.strata, Strata::District);
        assert_eq!(s.cluster.as_deref(), Some("village"));
        assert_eq!(s.lonely_psu, LonelyPsu::Adjust);
        assert_eq!(s.variance, VarianceMethod::Bootstrap);
        assert_eq!((s.replicates, s.seed, s.min_n), (500, 7, 30));
        let s: DesignSpec = toml::from_str("strata = \"interviewer\"").unwrap();
        assert_eq!(s.strata, Strata::Column("interviewer".into()));
        assert_eq!(s.columns(), ["interviewer"]);
        assert_eq!(
            toml::from_str::<DesignSpec>("").unwrap(),
            DesignSpec::default()
        );
        assert!(toml::from_str::<DesignSpec>("bogus = 1").is_err());
    }
}
