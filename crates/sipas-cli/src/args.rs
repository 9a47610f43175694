//! Command-line arguments (clap derive). Library crates never see these types.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

/// sipas: citizen-satisfaction (SIPAS) surveys to indices, pilot effects and reports.
#[derive(Debug, Parser)]
#[command(name = "sipas", version, about, long_about = None)]
pub struct Args {
    /// The stage to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write synthetic responses from an explicit model, and the exact truth beside them.
    Generate(GenerateArgs),
    /// Read response files, validate every row, write responses.parquet and a quarantine.
    Ingest(IngestArgs),
    /// Fetch submissions from the job file's collection platforms (KoboToolbox, ODK Central) into a local store.
    Sync(SyncArgs),
    /// Match units, handle duplicates and careless answers; write the analysis set and its audit.
    Clean(CleanArgs),
    /// Compute SIPAS indices with standard errors, pooled groups and the difference-in-differences.
    Aggregate(AggregateArgs),
    /// Draw PNG trend charts and an HTML report from aggregate results.
    Report(ReportArgs),
    /// Run every stage from a TOML job file (no file: the bundled demo into ./out/).
    Run(RunArgs),
}

/// Definitions shared by every stage.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct DomainArgs {
    /// Instrument: a bundled id (sipas-2017, sipas-2023) or a TOML file. Default: recognised from the item columns.
    #[arg(long)]
    pub instrument: Option<String>,
    /// Unit list CSV (code,name,kind,district_code,district_name). Default: the bundled 177 Thái Nguyên units.
    #[arg(long)]
    pub units: Option<PathBuf>,
    /// Pilot definition TOML. Default: the bundled 12 Thái Nguyên pilot units, start 2024Q1.
    #[arg(long)]
    pub pilots: Option<PathBuf>,
}

/// `sipas generate`.
#[derive(Debug, Clone, ClapArgs)]
pub struct GenerateArgs {
    /// Total number of responses.
    #[arg(long, default_value_t = 212_400)]
    pub responses: u64,
    /// Random seed (same seed, same bytes).
    #[arg(long, default_value_t = 20_240_101)]
    pub seed: u64,
    /// Output file: .csv or .parquet. `truth.csv` is written beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// First period.
    #[arg(long, default_value = "2023Q1")]
    pub first_period: String,
    /// Last period.
    #[arg(long, default_value = "2025Q4")]
    pub last_period: String,
    /// Pilot start period (default: the pilot file's).
    #[arg(long)]
    pub pilot_start: Option<String>,
    /// True pilot effect on the latent logit scale.
    #[arg(long)]
    pub pilot_effect: Option<f64>,
    /// Draw unequal sampling weights instead of weight 1.
    #[arg(long)]
    pub weights: bool,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// `sipas ingest`.
#[derive(Debug, Clone, ClapArgs)]
pub struct IngestArgs {
    /// Files or folders: CSV/TSV (any delimiter; UTF-8, UTF-16 or CP1258), Excel, JSON, NDJSON, Parquet.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder: responses.parquet, quarantine.csv, ingest-report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// How to read the files.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Keep this extra source column (e.g. a survey design's `village` cluster) in responses.parquet; repeatable.
    #[arg(long = "keep-column", value_name = "NAME")]
    pub keep_columns: Vec<String>,
    /// How the response table is written: `file` (responses.parquet) or `period` (responses/period=P/part-00000.parquet, Hive style).
    #[arg(long, default_value = "file", value_parser = ["file", "period"])]
    pub layout: String,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// How to read input files (also keys of a job file's `[ingest]` section).
#[derive(Debug, Clone, Default, ClapArgs, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadArgs {
    /// Field delimiter of text files: `,`, `;` or `tab` (default: sniffed from the header line).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Encoding of text files without a BOM, e.g. `utf-8`, `windows-1258` (default: UTF-8 when valid, else CP1258).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Mapping TOML: source column names → canonical fields and item ids, answer labels → codes.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Review decisions of KoboToolbox / ODK Central exports: `include` (keep all), `exclude-rejected` (default: Kobo "Not approved" and ODK `rejected` are excluded, reason review_rejected) or `approved-only`.
    #[arg(long, value_parser = ["include", "exclude-rejected", "approved-only"])]
    pub review: Option<String>,
    /// Repeat-group tables (ODK `form-repeat.csv` with PARENT_KEY, Kobo repeat sheets): `skip` (default, noted in the summary) or `keep` (also written as OUT/repeats/<source>.csv keyed to parent_response_id).
    #[arg(long, value_parser = ["skip", "keep"])]
    pub repeats: Option<String>,
}

/// `sipas sync`.
#[derive(Debug, Clone, ClapArgs)]
pub struct SyncArgs {
    /// Job file with `[[source]]` entries.
    #[arg(long)]
    pub config: PathBuf,
    /// Store folder (default: OUT/raw of the job).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Ignore the stored watermark and fetch everything again.
    #[arg(long)]
    pub full_refresh: bool,
    /// Review policy (default: the job's `[ingest] review`, else `exclude-rejected`): with `include`, ODK submissions a reviewer rejected are stored too; the ingest of the store applies the same policy to both platforms.
    #[arg(long, value_parser = ["include", "exclude-rejected", "approved-only"])]
    pub review: Option<String>,
}

/// `sipas clean`.
#[derive(Debug, Clone, ClapArgs)]
pub struct CleanArgs {
    /// Folder holding the response table (the output of ingest: responses.parquet or responses/).
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder: responses.parquet (with flag columns), quarantine.csv, clean-report.json, clean-by-cell.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Cleaning rules.
    #[command(flatten)]
    pub rules: CleanRules,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// Options of the cleaning rules (also the `[clean]` section of a job file).
#[derive(Debug, Clone, ClapArgs, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleanRules {
    /// Exclude flagged rows (straight-liners, speeders, too many missing) instead of flagging and keeping them.
    #[arg(long)]
    pub exclude_flagged: bool,
    /// Keep exact content duplicates (same unit, period, answers, weight, channel; different id).
    #[arg(long)]
    pub keep_content_duplicates: bool,
    /// Match unit names typed without accents (reported as such).
    #[arg(long)]
    pub ascii_fallback: bool,
    /// Dated unit crosswalk CSV (old_code,new_code,valid_from,note), or `thai-nguyen` for the bundled one.
    #[arg(long)]
    pub crosswalk: Option<String>,
    /// Map onto the `new` (default) or `old` units of the crosswalk.
    #[arg(long, default_value = "new")]
    pub crosswalk_target: String,
    /// Flag a response with more than this share of items unanswered.
    #[arg(long, default_value_t = 0.5)]
    pub max_missing_share: f64,
    /// Flag a response faster than this many seconds (when a duration is known).
    #[arg(long, default_value_t = 120.0)]
    pub min_duration_s: f64,
    /// How the clean response table is written: `file` (responses.parquet) or `period` (responses/period=P/…, Hive style).
    #[arg(long, default_value = "file", value_parser = ["file", "period"])]
    pub layout: String,
    /// Job files only: the unit list after the crosswalk (target `new`), used by aggregate and
    /// report; default for the bundled `thai-nguyen` crosswalk: fixtures/units/thai_nguyen_2024-12.csv.
    #[arg(skip)]
    pub units_after: Option<PathBuf>,
}

impl Default for CleanRules {
    fn default() -> Self {
        CleanRules {
            exclude_flagged: false,
            keep_content_duplicates: false,
            ascii_fallback: false,
            crosswalk: None,
            crosswalk_target: "new".into(),
            max_missing_share: 0.5,
            min_duration_s: 120.0,
            layout: "file".into(),
            units_after: None,
        }
    }
}

/// `sipas aggregate`.
#[derive(Debug, Clone, ClapArgs)]
pub struct AggregateArgs {
    /// Folder holding responses.parquet (the output of clean, or of ingest).
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder for the result tables.
    #[arg(long)]
    pub out: PathBuf,
    /// Channel to estimate (other channels are never pooled with it).
    #[arg(long, default_value = "survey")]
    pub channel: String,
    /// Survey design TOML (weights, strata, cluster, fpc, lonely PSU rule, variance method);
    /// default: strata = unit × period, each response its own PSU, linearization.
    #[arg(long)]
    pub design: Option<PathBuf>,
    /// Pilot evaluation (two-way fixed effects, wild cluster bootstrap, event study).
    #[command(flatten)]
    pub evaluation: EvaluationArgs,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// Options of the pilot evaluation (the `[evaluation]` section of a job file).
#[derive(Debug, Clone, ClapArgs, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluationArgs {
    /// Comparison units: all non-pilot units, or those of the pilots' kinds, or of their districts.
    #[arg(long, default_value = "all", value_parser = ["all", "same_kind", "same_district"])]
    pub baseline: String,
    /// Cell weights in the regressions: equal, or the cell's number of responses.
    #[arg(long, default_value = "equal", value_parser = ["equal", "n"])]
    pub weighting: String,
    /// Auxiliary weights of the wild cluster bootstrap.
    #[arg(long, default_value = "webb", value_parser = ["rademacher", "webb"])]
    pub bootstrap_weights: String,
    /// Wild bootstrap replicates (0 = none).
    #[arg(long, default_value_t = 9999)]
    pub replicates: usize,
    /// Seed of the bootstrap draws.
    #[arg(long, default_value_t = 20_240_101)]
    pub seed: u64,
}

impl Default for EvaluationArgs {
    fn default() -> Self {
        EvaluationArgs {
            baseline: "all".into(),
            weighting: "equal".into(),
            bootstrap_weights: "webb".into(),
            replicates: 9999,
            seed: 20_240_101,
        }
    }
}

/// `sipas report`.
#[derive(Debug, Clone, ClapArgs)]
pub struct ReportArgs {
    /// Folder written by `sipas aggregate`.
    #[arg(long)]
    pub results: PathBuf,
    /// Output folder for the PNG charts and index.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// `sipas run`.
#[derive(Debug, Clone, ClapArgs)]
pub struct RunArgs {
    /// TOML job file. Without it, the bundled demo runs into ./out/.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder (overrides the job file's `out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}
