//! Command-line arguments (clap derive). Library crates never see these types.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

/// sipas: citizen-satisfaction (SIPAS) surveys to indices, pilot effects and reports.
#[derive(Debug, Parser)]
#[command(
    name = "sipas",
    version = VERSION,
    about,
    long_about = None,
    after_help = EXIT_CODES
)]
pub struct Args {
    /// Say more: `-v` the libraries' debug logs, `-vv` their trace logs (`RUST_LOG` overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say only errors (no stage lines, no progress bars); the exit code still tells.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Write every CSV with a UTF-8 byte order mark, so Excel shows Vietnamese text correctly
    /// (job key `excel_csv`). Codes stay text: read `unit_code` as a string.
    #[arg(long, global = true)]
    pub excel_csv: bool,
    /// The stage to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The version and the commit it was built from (`0.1.0 (commit 1a2b3c4)`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SIPAS_COMMIT"),
    ")"
);

/// The exit codes, shown under every `--help`.
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  everything went through
  1  the run completed but found data problems (rows quarantined or excluded, pilot units without data)
  2  error: nothing trustworthy was written; the message names the file, row and column"
    };
}

/// A subcommand's `--help` footer: two examples, then the exit codes.
macro_rules! examples {
    ($examples:literal) => {
        concat!("Examples:\n", $examples, "\n\n", exit_codes!())
    };
}

/// The exit codes, shown under every `--help`.
pub const EXIT_CODES: &str = exit_codes!();

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write synthetic responses from an explicit model, and the exact truth beside them.
    #[command(after_help = examples!("  sipas generate -n 1000000 --seed 1 -o data/responses.parquet
  sipas generate --first-period 2023Q1 --last-period 2025Q4 --pilot-effect 0.35 -o data/r.csv"))]
    Generate(GenerateArgs),
    /// Read response files, validate every row, write responses.parquet and a quarantine.
    #[command(after_help = examples!("  sipas ingest received/ -o work/ingest
  sipas ingest huyen_dinh_hoa.xlsx kobo_page1.json -m mapping.toml -o work/ingest"))]
    Ingest(IngestArgs),
    /// Fetch submissions from the job file's collection platforms (KoboToolbox, ODK Central) into a local store.
    #[command(after_help = examples!("  KOBO_TOKEN=… sipas sync job.toml
  sipas sync job.toml --store work/raw --full-refresh"))]
    Sync(SyncArgs),
    /// Match units, handle duplicates and careless answers; write the analysis set and its audit.
    #[command(after_help = examples!("  sipas clean work/ingest -o work/clean
  sipas clean work/ingest -o work/clean --crosswalk thai-nguyen --exclude-flagged"))]
    Clean(CleanArgs),
    /// Compute SIPAS indices with standard errors, pooled groups and the difference-in-differences.
    #[command(after_help = examples!("  sipas aggregate work/clean -o work/results
  sipas aggregate work/clean -o work/results --design design.toml --replicates 9999 --seed 1"))]
    Aggregate(AggregateArgs),
    /// Print the aggregation as SQL (Spark SQL or DuckDB) for the instrument, channel and design.
    #[command(after_help = examples!("  sipas sql --dialect duckdb --table work/clean/responses.parquet
  sipas sql --dialect spark --table hdfs:///sipas/clean/responses --instrument sipas-2023 --design design.toml --output groups"))]
    Sql(SqlArgs),
    /// Draw PNG trend charts and an HTML report from aggregate results.
    #[command(after_help = examples!("  sipas report work/results -o work/report
  sipas report work/results -p pilots.toml -o work/report --lang en"))]
    Report(ReportArgs),
    /// Staggered-rollout evaluation of a unit × period panel you already have (Callaway–Sant'Anna, Goodman-Bacon).
    #[command(after_help = examples!("  sipas evaluate --panel panel.csv --unit county --period year --value lemp --group first_treat --out work/eval
  sipas evaluate --panel cells.parquet --unit unit_code --period period --value sipas --group start --control not-yet --out work/eval"))]
    Evaluate(EvaluateArgs),
    /// Run every stage from a TOML job file (no file: the bundled demo into ./out/).
    #[command(after_help = examples!("  sipas run                       # the bundled demo into ./out
  sipas run job.toml -o results-2026"))]
    Run(RunArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = "Examples:
  sipas completions bash > ~/.local/share/bash-completion/completions/sipas
  sipas completions zsh > ~/.zfunc/_sipas")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout.
    #[command(after_help = "Examples:
  sipas man > sipas.1 && man ./sipas.1
  sipas man | gzip > /usr/local/share/man/man1/sipas.1.gz")]
    Man,
}

/// `sipas completions`.
#[derive(Debug, Clone, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Definitions shared by every stage.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct DomainArgs {
    /// Instrument: a bundled id (sipas-2017, sipas-2023) or a TOML file. Default: recognised from the item columns.
    #[arg(long)]
    pub instrument: Option<String>,
    /// Unit list CSV (code,name,kind,district_code,district_name). Default: the bundled 177 Thái Nguyên units.
    #[arg(short, long)]
    pub units: Option<PathBuf>,
    /// Pilot definition TOML (one start, or `[[wave]]`s of units by code or name). Default: the bundled 12 Thái Nguyên pilot units, start 2024Q1.
    #[arg(short, long)]
    pub pilots: Option<PathBuf>,
}

/// `sipas generate`.
#[derive(Debug, Clone, ClapArgs)]
pub struct GenerateArgs {
    /// Total number of responses.
    #[arg(short = 'n', long, default_value_t = 212_400)]
    pub responses: u64,
    /// Random seed (same seed, same bytes).
    #[arg(long, default_value_t = 20_240_101)]
    pub seed: u64,
    /// Output file: .csv or .parquet. `truth.csv` (and `truth_att_gt.csv`) are written beside it.
    #[arg(short, long)]
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
    /// How the effect builds up after each wave's start: the share of the pilot effect reached
    /// 0, 1, 2, … periods after it, the last from then on (comma-separated, e.g.
    /// `0,0.25,0.5,0.75,1`: nothing at the start, the full effect after four periods). Default:
    /// the full effect from the start. The truth of every group-time effect is written to
    /// `truth_att_gt.csv` beside `truth.csv`.
    #[arg(long, value_delimiter = ',', value_name = "SHARES")]
    pub effect_path: Option<Vec<f64>>,
    /// Draw unequal sampling weights instead of weight 1.
    #[arg(long)]
    pub weights: bool,
    /// Draw real response styles (30% acquiescent respondents, clustered item nonresponse,
    /// paper/online/phone modes with a small mode effect, a few re-sent copies and edits).
    #[arg(long)]
    pub realistic_styles: bool,
    /// Unit codes as offices wrote them on each row's day: `thai-nguyen` (the 177's codes to
    /// 30/11/2024, the 172's from 01/12/2024, the 92's from 01/07/2025; the default with the
    /// bundled units, CSV output) or `none` (the 177's codes in every period).
    #[arg(long, value_name = "thai-nguyen|none")]
    pub codes_at_date: Option<String>,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// `sipas ingest`.
#[derive(Debug, Clone, ClapArgs)]
pub struct IngestArgs {
    /// Files or folders: CSV/TSV (any delimiter; UTF-8, UTF-16 or CP1258), Excel, JSON, NDJSON, Parquet.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output folder: responses.parquet, quarantine.csv, ingest-report.json.
    #[arg(short, long)]
    pub out: PathBuf,
    /// How to read the files.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Keep this extra source column (e.g. a survey design's `village` cluster) in responses.parquet; repeatable.
    #[arg(long = "keep-columns", alias = "keep-column", value_name = "NAME")]
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
    /// Field delimiter of text files: `,`, `;`, `|` or `tab` (default: sniffed from the header line; the choice is logged).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Encoding of text files without a BOM: `utf-8` (the default: a byte that is not UTF-8 stops the run, naming file, line and byte offset), a label such as `windows-1258`, or `auto` (UTF-8 or CP1258 detected per file; the choice and its confidence are logged and in ingest-report.json).
    #[arg(long)]
    pub encoding: Option<String>,
    /// The as-of date of the run, YYYY-MM-DD (default: today, UTC): a `submitted_at` later than it (plus --future-tolerance-days) is quarantined as submitted_in_future. Name a day to make a rerun reproducible.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Days after the as-of date a `submitted_at` may still fall (default 1).
    #[arg(long)]
    pub future_tolerance_days: Option<u32>,
    /// The survey's first day, YYYY-MM-DD: an earlier `submitted_at` is quarantined as submitted_before_start (default: no check).
    #[arg(long)]
    pub survey_start: Option<String>,
    /// The survey's first period (e.g. 2023Q1): earlier periods are quarantined as period_out_of_range (default: no check).
    #[arg(long)]
    pub first_survey_period: Option<String>,
    /// The survey's last period (e.g. 2026Q4): later periods are quarantined as period_out_of_range (default: no check).
    #[arg(long)]
    pub last_survey_period: Option<String>,
    /// Days after a period's end a `submitted_at` may fall and still belong to it (late returns of a round; default 0); beyond, period_date_mismatch.
    #[arg(long)]
    pub period_grace_days: Option<u32>,
    /// Mapping TOML: source column names → canonical fields and item ids, answer labels → codes.
    #[arg(short, long)]
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
    #[arg(value_name = "INPUT", required_unless_present = "config")]
    pub input: Option<PathBuf>,
    /// Old name of INPUT (still accepted).
    #[arg(long, hide = true, conflicts_with = "input")]
    pub config: Option<PathBuf>,
    /// Store folder (default: OUT/raw of the job).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Ignore the stored watermark and fetch everything again.
    #[arg(long)]
    pub full_refresh: bool,
    /// Allow plain http:// to a server that is not on this machine (the credentials would
    /// cross the network unencrypted). Redirects are followed only within the server either way.
    #[arg(long)]
    pub allow_http: bool,
    /// Review policy (default: the job's `[ingest] review`, else `exclude-rejected`): with `include`, ODK submissions a reviewer rejected are stored too; the ingest of the store applies the same policy to both platforms.
    #[arg(long, value_parser = ["include", "exclude-rejected", "approved-only"])]
    pub review: Option<String>,
}

/// `sipas clean`.
#[derive(Debug, Clone, ClapArgs)]
pub struct CleanArgs {
    /// Folder holding the response table (the output of ingest: responses.parquet or responses/).
    #[arg(value_name = "INPUT", required_unless_present = "data")]
    pub input: Option<PathBuf>,
    /// Old name of INPUT (still accepted).
    #[arg(long, hide = true, conflicts_with = "input")]
    pub data: Option<PathBuf>,
    /// Output folder: responses.parquet (with flag columns), quarantine.csv, clean-report.json, clean-by-cell.csv.
    #[arg(short, long)]
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
    /// Keep re-sent copies (a row identical to another in every recorded field, submitted_at
    /// included, under a new id), flagged `flag_resent_copy`, instead of excluding them.
    /// Respondents who merely give the same answers are always kept.
    #[arg(long)]
    pub keep_resent_copies: bool,
    /// Match unit names typed without accents (reported as such).
    #[arg(long)]
    pub ascii_fallback: bool,
    /// Dated unit crosswalk: `thai-nguyen` (the bundled 01/12/2024 and 01/07/2025 steps) or a CSV
    /// (`old_code,new_code,valid_from[,part,note]`); several, separated by commas, chain by date.
    #[arg(long)]
    pub crosswalk: Option<String>,
    /// Map onto the units after the last step (`new`, default), before the first (`old`), or in
    /// force on a date (`YYYY-MM-DD`); mapping back only where one-to-one.
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
    /// Job files only: the unit list after the crosswalk, used by aggregate and report; default
    /// with the bundled units: the units in force on the target (the 92 for `new`).
    #[arg(skip)]
    pub units_after: Option<PathBuf>,
}

impl Default for CleanRules {
    fn default() -> Self {
        CleanRules {
            exclude_flagged: false,
            keep_resent_copies: false,
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
    #[arg(value_name = "INPUT", required_unless_present = "data")]
    pub input: Option<PathBuf>,
    /// Old name of INPUT (still accepted).
    #[arg(long, hide = true, conflicts_with = "input")]
    pub data: Option<PathBuf>,
    /// Output folder for the result tables.
    #[arg(short, long)]
    pub out: PathBuf,
    /// The channel estimated and how channel values are classed.
    #[command(flatten)]
    pub channels: ChannelArgs,
    /// Survey design TOML (weights, strata, cluster, fpc, lonely PSU rule, variance method);
    /// default: strata = unit × period, each response its own PSU, linearization.
    #[arg(long)]
    pub design: Option<PathBuf>,
    /// The commune PAR index's appraised criteria (CSV `unit_code,period,criterion,points,maximum`),
    /// for an instrument with a `[par]` table; bad rows go to `par_quarantine.csv`.
    #[arg(long, value_name = "FILE")]
    pub criteria: Option<PathBuf>,
    /// Where the unit × period, group and estimate tables are computed: here (`local`), or on
    /// Spark through PySpark (`spark`: the SQL of `sipas sql`; the pilot evaluation runs here).
    #[arg(long, default_value = "local", value_parser = ["local", "spark"])]
    pub engine: String,
    /// Spark master with `--engine spark`: `local[*]`, `spark://host:7077`, `yarn`.
    #[arg(long, default_value = "local[*]")]
    pub spark_master: String,
    /// The confidence level.
    #[command(flatten)]
    pub level: LevelArg,
    /// Pilot evaluation (two-way fixed effects, wild cluster bootstrap, event study).
    #[command(flatten)]
    pub evaluation: EvaluationArgs,
    /// Staggered rollout (Callaway–Sant'Anna): comparison group, base period, design variance.
    #[command(flatten)]
    pub rollout: RolloutArgs,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// Which channel is estimated, and which channel values are survey modes or ratings
/// (`sipas aggregate`, `sipas sql`).
#[derive(Debug, Clone, ClapArgs)]
pub struct ChannelArgs {
    /// Channel to estimate: `survey` pools every survey mode (paper, online, phone…); another
    /// value estimates that channel alone. Rating channels are never pooled.
    #[arg(long, default_value = "survey")]
    pub channel: String,
    /// Channel values that are modes of the survey, pooled (comma-separated; replaces the
    /// default list survey,paper,online,web,phone,cati,capi,face_to_face,interview,mail).
    #[arg(long, value_delimiter = ',')]
    pub survey_modes: Option<Vec<String>>,
    /// Channel values that are per-transaction ratings, never pooled (comma-separated;
    /// replaces the default list qr,kiosk,sms,rating).
    #[arg(long, value_delimiter = ',')]
    pub rating_channels: Option<Vec<String>>,
}

/// `--level` (`sipas aggregate`, `evaluate`, `report` and `run`).
#[derive(Debug, Clone, Copy, ClapArgs)]
pub struct LevelArg {
    /// Confidence level of every interval: 0.5 < LEVEL < 1, as `0.90` or `90%` (default 95%;
    /// with `run`, the job's `level`; `report` refuses results computed at another level,
    /// and by default takes the level recorded in them).
    #[arg(long = "level", value_name = "LEVEL")]
    pub given: Option<sipas_core::Level>,
}

impl LevelArg {
    /// The level given, else 95%.
    pub fn or_default(self) -> sipas_core::Level {
        self.given.unwrap_or_default()
    }
}

/// Options of the staggered-rollout (Callaway–Sant'Anna) estimates of the aggregate stage (also
/// keys of a job file's `[aggregate]` section).
#[derive(Debug, Clone, Copy, Default, ClapArgs, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutArgs {
    /// Comparison units of each group-time effect: never treated, or not yet treated (never
    /// treated included).
    #[arg(long, value_enum, default_value = "never")]
    pub control: ControlArg,
    /// Base period of each ATT(g,t): `varying` (pre-periods period-on-period) or `universal` (all against g−1).
    #[arg(long, value_enum, default_value = "varying")]
    pub base: BaseArg,
    /// Add the design-based variance of every unit × period SIPAS (its survey SE²) to the
    /// unit-clustered variance of the staggered estimates (conservative).
    #[arg(long)]
    pub design_variance: bool,
}

/// `sipas sql`.
#[derive(Debug, Clone, ClapArgs)]
pub struct SqlArgs {
    /// SQL dialect.
    #[arg(long, value_parser = ["spark", "duckdb"])]
    pub dialect: String,
    /// The response table: responses.parquet or the period-partitioned responses/ folder.
    #[arg(long)]
    pub table: PathBuf,
    /// The result table the query returns (its columns are those of the sipas CSV).
    #[arg(long, default_value = "unit_period", value_parser = ["unit_period", "groups", "estimates"])]
    pub output: String,
    /// Survey design TOML (weights, strata, cluster, fpc, lonely PSU rule; linearization).
    #[arg(long)]
    pub design: Option<PathBuf>,
    /// The channel estimated and how channel values are classed.
    #[command(flatten)]
    pub channels: ChannelArgs,
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
    #[arg(value_name = "INPUT", required_unless_present = "results")]
    pub input: Option<PathBuf>,
    /// Old name of INPUT (still accepted).
    #[arg(long, hide = true, conflicts_with = "input")]
    pub results: Option<PathBuf>,
    /// Output folder for the PNG charts and index.html.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Embed the charts in index.html (base64), so the page alone shows them when mailed.
    #[arg(long)]
    pub single_file: bool,
    /// Language of the report's labels (chart and axis titles, legends, headings, table headers).
    #[arg(short, long, default_value = "vi", value_parser = ["vi", "en"])]
    pub lang: String,
    /// Read the results even when their manifest.json is missing or does not match the files
    /// (hand-made or hand-edited results); by default such a folder is refused.
    #[arg(long)]
    pub no_verify: bool,
    /// The confidence level.
    #[command(flatten)]
    pub level: LevelArg,
    /// Instrument, units and pilots.
    #[command(flatten)]
    pub domain: DomainArgs,
}

/// `sipas evaluate`.
#[derive(Debug, Clone, ClapArgs)]
pub struct EvaluateArgs {
    /// The panel: a CSV or Parquet file (by extension), one row per unit and period.
    #[arg(long)]
    pub panel: PathBuf,
    /// Column of the unit id (any text).
    #[arg(long)]
    pub unit: String,
    /// Column of the period: 2024, 2024-H1, 2024Q1 or 2024-01.
    #[arg(long)]
    pub period: String,
    /// Column of the outcome.
    #[arg(long)]
    pub value: String,
    /// Column of the unit's first treated period (same form as the periods); 0 or empty: never treated.
    #[arg(long)]
    pub group: String,
    /// Comparison units: never treated, or not yet treated (never treated included).
    #[arg(long, value_enum, default_value = "never")]
    pub control: ControlArg,
    /// Base period of each ATT(g,t): `varying` (pre-periods period-on-period) or `universal` (all against g−1).
    #[arg(long, value_enum, default_value = "varying")]
    pub base: BaseArg,
    /// Optional column of row weights (e.g. responses); a unit weighs the mean of its rows'. Default: equal.
    #[arg(long)]
    pub weight: Option<String>,
    /// Optional column of each value's design-based SE, added to the unit-clustered variance.
    #[arg(long)]
    pub se: Option<String>,
    /// Multiplier-bootstrap replicates for the simultaneous bands (0: none).
    #[arg(long, default_value_t = 999)]
    pub replicates: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 20_240_101)]
    pub seed: u64,
    /// The confidence level.
    #[command(flatten)]
    pub level: LevelArg,
    /// Output folder for att_*.csv and bacon.csv (each with its Parquet twin), rollout.json and methods.txt.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// `--control` (job key `control`: `never` or `not-yet`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlArg {
    /// Never-treated units.
    #[default]
    Never,
    /// Units not yet treated.
    NotYet,
}

/// `--base` (job key `base`: `varying` or `universal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseArg {
    /// g−1 after the start, the previous period before it.
    #[default]
    Varying,
    /// g−1 for every period.
    Universal,
}

/// `sipas run`.
#[derive(Debug, Clone, ClapArgs)]
pub struct RunArgs {
    /// TOML job file (its input paths are relative to its folder). Without it, the bundled demo runs.
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
    /// Old name of INPUT (still accepted).
    #[arg(long, hide = true, conflicts_with = "input")]
    pub config: Option<PathBuf>,
    /// Output folder (overrides the job file's `out`; default `out` under the working folder).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// The confidence level.
    #[command(flatten)]
    pub level: LevelArg,
}

/// `fn input(&self)`: the input of a stage, given as INPUT or under its old
/// flag name (clap requires one of them).
macro_rules! stage_input {
    ($($args:ident: $old:ident, $what:literal;)*) => {$(
        impl $args {
            #[doc = concat!("The ", $what, " (INPUT, or the old `--", stringify!($old), "`).")]
            pub fn input(&self) -> &std::path::Path {
                self.input
                    .as_deref()
                    .or(self.$old.as_deref())
                    .expect("clap requires INPUT or its old flag")
            }
        }
    )*};
}

stage_input! {
    SyncArgs: config, "job file";
    CleanArgs: data, "ingest folder";
    AggregateArgs: data, "clean folder";
    ReportArgs: results, "results folder";
}

impl RunArgs {
    /// The job file, if any (INPUT, or the old `--config`).
    pub fn input(&self) -> Option<&std::path::Path> {
        self.input.as_deref().or(self.config.as_deref())
    }
}
