//! SIPAS indices per unit and period with design-based standard errors,
//! pooled pilot / baseline estimates and the difference-in-differences.
//!
//! This crate reads the canonical `responses.parquet` written by ingest,
//! estimates every index, and writes the RESULTS tables that the report
//! stage reads. Estimates equal R `survey` with
//! `svydesign(ids = ~1, strata = ~interaction(unit_code, period), weights = ~weight)`
//! and `svyby` / `subset` domain estimation (Taylor linearization,
//! `options(survey.lonely.psu = "certainty")`).
//!
//! # Overview
//! - [`read_responses`] reads the response table (one Parquet file or the
//!   partitioned layout, see `sipas_dataset`) chunk by chunk into
//!   [`Responses`] (dictionary-encoded units, periods and channels; a flat
//!   answer buffer).
//! - [`aggregate`] computes [`Indices`]: one [`CellEstimate`] per unit ×
//!   period, the pooled [`GroupEstimate`]s of pilot and baseline units per
//!   period, the [`DidEstimate`] and the reconciliation [`AggregateReport`].
//! - [`panel`] evaluates the pilot on the unit × period panel (TWFE DiD
//!   with clustered errors and a wild cluster bootstrap, event study,
//!   per-unit effects): [`select_panel`], [`evaluate`], [`write_evaluation`].
//! - [`write_results`] writes them as `unit_period.csv`,
//!   `unit_period.parquet`, `items.csv`, `groups.csv`, `did.csv` and
//!   `aggregate-report.json`, atomically and byte-reproducibly.
//!
//! ```no_run
//! use std::path::Path;
//! use sipas_aggregate::{AggregateOptions, aggregate, read_responses, write_results};
//!
//! let responses = read_responses(Path::new("DATA/responses.parquet"), None)?;
//! let indices = aggregate(&responses, &AggregateOptions::bundled())?;
//! write_results(&indices, Path::new("RESULTS"))?;
//! # Ok::<(), sipas_aggregate::Error>(())
//! ```
//!
//! # Input
//! The response table in either layout of `sipas_dataset` (one
//! `responses.parquet`, or `responses/period=P/…` partitions), read in
//! chunks of [`READ_CHUNK_ROWS`] rows (one per core at a time), so that
//! memory is the compact table plus a chunk per core. The compact table
//! keeps of each answer only its state, as two bit masks per row (answered,
//! satisfied: 16 bytes for up to 64 items), with 8 bytes of weight and 12 of
//! unit, period and channel indices. Columns:
//! `unit_code: String, period: String, channel: String, weight: Float64`
//! and one `UInt8` column per item of the instrument (null = missing, else a
//! code on the scale). `channel` (default `survey`) and `weight` (default 1)
//! may be absent; other columns are ignored. A wrong type is an error naming
//! the file and the column; a bad value names the row too (its 1-based row
//! within the Parquet file named: the table's file, or a partition's file).
//!
//! # Estimator
//! Row *i* has weight *wᵢ*; its stratum *h* is its unit × period. For item
//! *j*, *aᵢⱼ* = 1 when answered and *sᵢⱼ* = 1 when answered ≥
//! `scale.satisfied_min`. Only rows of [`AggregateOptions::channel`] are
//! used: by default every survey mode, pooled (see [`channels`]; rating
//! channels are never pooled). For a domain *D* (a union of strata):
//! - *Xⱼ* = Σ_D *wᵢaᵢⱼ*, *Yⱼ* = Σ_D *wᵢsᵢⱼ*, *Rⱼ* = *Yⱼ/Xⱼ*; item share 100·*Rⱼ*.
//! - group *g*: *G* = 100·Σⱼ *c_gj Rⱼ* with the instrument's coefficients;
//!   undefined when an item with *c_gj* ≠ 0 has *Xⱼ* = 0.
//! - SIPAS variance: *zᵢ* = 100·*wᵢ*·Σⱼ *c_j(sᵢⱼ − Rⱼaᵢⱼ)/Xⱼ*,
//!   Var = Σ_h *n_h/(n_h − 1)*·Σ_{i∈h}(*zᵢ − z̄_h*)², *n_h* = rows of the
//!   stratum (also those with missing answers); a stratum with one row
//!   contributes 0, a cell with one row has no SE. Interval: *G* ± *m*·SE
//!   clipped to [0, 100], *m* = [`Level::normal_multiplier`](sipas_core::Level::normal_multiplier)
//!   of [`AggregateOptions::level`] (the two-decimal 1.96 at the default 95 %,
//!   `qnorm(1 − α/2)` at any other level).
//! - Item intervals (`items.csv`) are Wilson score intervals at
//!   *p* = *Rⱼ*, *n* = the number of answers, *z* = [`Level::z`](sipas_core::Level::z)
//!   (`qnorm(1 − α/2)`), in percent.
//! - Pooled groups (`groups.csv`): the domain of all pilot (or baseline)
//!   units of one period.
//! - DiD (`did.csv`): (*P*post − *P*pre) − (*B*post − *B*pre) of SIPAS, each
//!   term the domain estimate pooled over the periods before / from the pilot
//!   start (see [`is_post`]); the four domains have disjoint strata, so
//!   SE = √(sum of the four variances) and the interval is ±*m*·SE (not
//!   clipped). Under a declared design ([`aggregate_with_design`]) the four
//!   quadrants carry their full covariance and SE = √(c′Vc).
//!
//! # Output
//! - `unit_period.csv` / `.parquet`: `unit_code,unit_name,district,kind,pilot,period,n,sipas,sipas_se,sipas_lo,sipas_hi,<reported groups>`,
//!   sorted by unit code then period.
//! - `items.csv`: `unit_code,period,item,n_valid,share,lo,hi`.
//! - `groups.csv`: `period,group,n,sipas,sipas_se,sipas_lo,sipas_hi,<reported groups>`, baseline before pilot.
//! - `did.csv`: `pilot_start,estimate,se,lo,hi,pilot_pre,pilot_post,baseline_pre,baseline_post`.
//! - `aggregate-report.json`: [`AggregateReport`].
//!
//! Numbers have six decimals; an empty field is undefined. Every CSV table
//! also has a typed Parquet twin (see [`twin`]); the CSVs are written through
//! [`sipas_core::csv_out`] (cells made inert for spreadsheets).
//!
//! # Survey designs
//! [`design`] generalises the design (weights, any strata, clusters, fpc,
//! lonely-PSU rules, jackknife and bootstrap variances, replicate weights
//! supplied with the data) and estimates every indicator in unit,
//! pilot/baseline, district and kind domains, and the 2×2 DiD with the
//! quadrants' covariance: [`estimate_domains`] and [`write_estimates`]
//! (`estimates.csv`). [`aggregate_with_design`] resolves the design once and
//! takes every SE and interval of the result tables from it.

#![warn(missing_docs)]

pub mod arms;
mod cells;
pub mod channels;
mod csv_in;
pub mod design;
mod dist;
mod error;
pub mod headline;
mod indices;
mod lanes;
pub mod methods;
mod options;
pub mod panel;
pub mod par;
mod responses;
pub mod rollout;
pub mod sql;
mod stats;
pub mod twin;
mod wide;
mod write;

pub use arms::{Arm, is_post};
pub use channels::{ChannelClass, ChannelClasses};
pub use design::{
    DesignSpec, DomainEstimates, DomainType, EstimateRow, LonelyPsu, ModeDifference, Strata,
    VarianceMethod, aggregate_with_design, estimate_domains, write_estimates,
};
pub use design::{aggregate, point_estimates};
pub use error::{Error, Result};
pub use indices::{
    AggregateReport, CellEstimate, DidEstimate, Estimate, GroupEstimate, Headline, Indices,
    ItemShare, wilson,
};
pub use options::AggregateOptions;
pub use panel::{
    Baseline, Evaluation, EvaluationOptions, PanelCell, PanelSelection, Weighting, WildWeights,
    evaluate, methods_text, select_panel, select_panel_for, twfe_did, write_evaluation,
};
pub use responses::{
    DesignColumn, READ_CHUNK_ROWS, Responses, ResponsesBuilder, read_responses,
    read_responses_chunked, read_responses_with,
};
pub use write::write_results;
