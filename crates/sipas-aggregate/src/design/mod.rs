//! The estimator: design-based domain estimation that matches R's `survey`
//! package, in one pass — rows grouped into cells and totalled once
//! (`crate::cells`), linearized SEs (or replicates) under the design, then
//! the domains. The default design is one [`DesignSpec`] among others; its
//! SIPAS-only kernel ([`aggregate`]) shares the cell totals and the variance
//! formula.
//!
//! A [`DesignSpec`] (the job file's `[design]` section) names weights,
//! strata, clusters (PSUs), a finite population correction, the lonely-PSU
//! rule and the variance method. [`estimate_domains`] estimates every item,
//! element, part and the overall index in every domain — unit × period, and
//! per period the pooled `pilot` and `baseline` units, each district and
//! each unit kind, and (with several survey modes pooled) each mode — on the
//! FULL design, as R's `svyby` / `subset` do (responses outside the domain
//! have zero influence; strata and PSUs are never dropped).
//! [`write_estimates`] writes `estimates.csv` and `modes.csv` (SIPAS by
//! mode and the differences between modes, see [`ModeDifference`]).
//!
//! # Overview
//! - [`DesignSpec`], [`Strata`], [`LonelyPsu`], [`VarianceMethod`]: the design.
//! - [`estimate_domains`] → [`DomainEstimates`] of [`EstimateRow`]s ([`EstimateRows`]: made
//!   from each domain's totals when they are read).
//! - [`write_estimates`]: the long table, atomically, byte-reproducible.
//!
//! See the crate README ("Survey designs") for the estimators in a
//! statistician's words.

mod apply;
mod default;
mod did;
mod engine;
mod model;
mod modes;
mod output;
mod replicate;
mod rows;
mod spec;

pub use crate::stats::{logit_ci, t_quantile, wilson};
pub use apply::{aggregate_with_design, apply_design, describe, describe_level, did_estimate};
pub use default::{aggregate, point_estimates};
pub use did::{DesignDid, QUADRANTS};
pub use engine::{design_did, estimate_domains};
pub(crate) use model::indicators;
pub use modes::{ModeDifference, modes_csv};
pub use output::estimates_csv;
pub use output::{
    CiMethod, DomainEstimates, DomainType, EstimateRow, IndicatorKind, Name, write_estimates,
};
pub(crate) use replicate::SplitMix;
pub use rows::EstimateRows;
pub(crate) use rows::RowIndex;
pub use spec::{DesignSpec, LonelyPsu, ReplicateType, ReplicateWeights, Strata, VarianceMethod};
