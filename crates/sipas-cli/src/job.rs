//! Job files for `sipas run`.
//!
//! ```toml
//! out = "out"                       # output folder, relative to the job file
//! instrument = "sipas-2023"         # optional: bundled id or TOML path
//! units = "units.csv"               # optional (default: bundled Thái Nguyên units)
//! pilots = "pilots.toml"            # optional (default: bundled pilots)
//!
//! [generate]                        # optional: synthesise the input first
//! responses = 212400
//! seed = 20240101
//!
//! [[source]]                        # optional, repeatable: a collection platform
//! name = "kobo-2024"                # stored under OUT/raw/kobo-2024/
//! kind = "kobo"                     # kobo | odk
//! server = "https://kf.kobotoolbox.org"
//! asset = "aBcD1234"                # kobo asset uid; odk: project = 1, form = "sipas"
//! token_env = "KOBO_TOKEN"          # the token is read from this variable, never logged
//!
//! [ingest]
//! inputs = ["data/"]                # files or folders, relative to the job file
//! # delimiter = ";"                 # default: sniffed; "tab" for tab
//! # encoding = "windows-1258"       # default: UTF-8 when valid, else CP1258
//! # mapping = "mapping.toml"        # column and answer-label mapping
//! # review = "exclude-rejected"     # include | exclude-rejected | approved-only
//! # repeats = "skip"                # or "keep": repeat tables written to ingest/repeats/
//! # keep_columns = ["interviewer"]  # extra columns kept in responses.parquet
//! #                                 # ([design] columns are always kept)
//! # layout = "period"               # responses/period=P/… instead of responses.parquet
//!
//! [clean]                           # optional, defaults shown
//! exclude_flagged = false           # flag straight-liners, speeders, too many missing; keep them
//! keep_content_duplicates = false   # exact duplicates with another id are excluded
//! ascii_fallback = false
//! # crosswalk = "thai-nguyen"       # or a CSV path; map merged units onto one set
//! crosswalk_target = "new"
//! # units_after = "units-2025.csv"  # units after the crosswalk, for aggregate and report
//! #                                 # (bundled for thai-nguyen; pilots are mapped too)
//! max_missing_share = 0.5
//! min_duration_s = 120.0
//! layout = "file"                   # or "period": responses/period=P/part-00000.parquet
//!
//! [aggregate]
//! channel = "survey"
//!
//! [design]                          # optional, defaults shown (see sipas-aggregate's README)
//! weights = "weight"                # column; 1 when absent
//! strata = "unit_period"            # unit_period | unit | district | kind | none | <column>
//! # cluster = "village"             # PSU column (default: each response)
//! # fpc = "population"              # population PSUs per stratum
//! lonely_psu = "certainty"          # fail | remove | certainty | adjust | average
//! variance = "linearization"        # linearization | bootstrap | jackknife
//! replicates = 1000
//! seed = 1
//! min_n = 30
//! max_cv = 0.2
//! suppress_below = 10
//!
//! [evaluation]                      # optional, defaults shown
//! baseline = "all"                  # all | same_kind | same_district
//! weighting = "equal"               # equal | n (cell responses)
//! bootstrap_weights = "webb"        # webb | rademacher
//! replicates = 9999                 # wild cluster bootstrap replicates, 0 = none
//! seed = 20240101
//! ```
//! Stages write to `OUT/data/` (generated responses and `truth.csv`),
//! `OUT/ingest/`, `OUT/clean/`, `OUT/results/` and `OUT/report/`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use sipas_aggregate::DesignSpec;

use sipas_ingest::sources::SourceConfig;

use crate::args::{CleanRules, EvaluationArgs, ReadArgs};

/// A pipeline job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Output folder.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// Instrument id or path.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Unit list CSV.
    #[serde(default)]
    pub units: Option<PathBuf>,
    /// Pilot TOML.
    #[serde(default)]
    pub pilots: Option<PathBuf>,
    /// Collection platforms to sync before ingesting (`[[source]]`).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// Synthesise responses before ingesting.
    #[serde(default)]
    pub generate: Option<GenerateJob>,
    /// Ingest settings.
    #[serde(default)]
    pub ingest: IngestJob,
    /// Cleaning rules.
    #[serde(default)]
    pub clean: CleanRules,
    /// Aggregate settings.
    #[serde(default)]
    pub aggregate: AggregateJob,
    /// Survey design of the estimates (`estimates.csv`).
    #[serde(default)]
    pub design: DesignSpec,
    /// Pilot evaluation settings.
    #[serde(default)]
    pub evaluation: EvaluationArgs,
}

fn default_out() -> PathBuf {
    PathBuf::from("out")
}

/// `[generate]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateJob {
    /// Total responses.
    pub responses: u64,
    /// Seed.
    pub seed: u64,
    /// First period.
    #[serde(default = "default_first")]
    pub first_period: String,
    /// Last period.
    #[serde(default = "default_last")]
    pub last_period: String,
    /// True pilot effect (latent logit scale).
    #[serde(default)]
    pub pilot_effect: Option<f64>,
    /// Unequal weights.
    #[serde(default)]
    pub weights: bool,
    /// Instrument to generate (default sipas-2023).
    #[serde(default)]
    pub instrument: Option<String>,
}

fn default_first() -> String {
    "2023Q1".into()
}

fn default_last() -> String {
    "2025Q4".into()
}

/// `[ingest]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestJob {
    /// Files or folders.
    #[serde(default)]
    pub inputs: Vec<PathBuf>,
    /// Extra source columns to keep (design columns are kept automatically).
    #[serde(default)]
    pub keep_columns: Vec<String>,
    /// Delimiter, encoding and mapping file.
    #[serde(flatten)]
    pub read: ReadArgs,
    /// How the response table is written (`file` or `period`).
    #[serde(default)]
    pub layout: Option<String>,
}

/// `[aggregate]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateJob {
    /// Channel estimated.
    #[serde(default = "default_channel")]
    pub channel: String,
}

impl Default for AggregateJob {
    fn default() -> Self {
        AggregateJob {
            channel: default_channel(),
        }
    }
}

fn default_channel() -> String {
    "survey".into()
}

/// The bundled demo job (also shipped as `fixtures/demo/job.toml`).
pub const DEMO_JOB: &str = include_str!("../../../fixtures/demo/job.toml");

impl Job {
    /// Reads a job file; relative paths in it are resolved against its folder.
    pub fn from_path(path: &Path) -> anyhow::Result<Job> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read job file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// The bundled demo, writing into `./out/`.
    pub fn demo() -> Job {
        Self::parse(DEMO_JOB, "bundled demo job", Path::new("."))
            .expect("the bundled demo job is checked by the test suite")
    }

    /// Parses job TOML; `base` is the folder relative paths start from.
    pub fn parse(text: &str, origin: &str, base: &Path) -> anyhow::Result<Job> {
        let mut job: Job =
            toml::from_str(text).with_context(|| format!("invalid job file {origin}"))?;
        let abs = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        };
        job.out = abs(&job.out);
        job.units = job.units.as_ref().map(abs);
        job.pilots = job.pilots.as_ref().map(abs);
        job.clean.units_after = job.clean.units_after.as_ref().map(abs);
        if let Some(c) = &job.clean.crosswalk
            && c != "thai-nguyen"
        {
            job.clean.crosswalk = Some(abs(&PathBuf::from(c)).display().to_string());
        }
        job.ingest.inputs = job.ingest.inputs.iter().map(abs).collect();
        job.ingest.read.mapping = job.ingest.read.mapping.as_ref().map(abs);
        if let Some(i) = &job.instrument
            && (Path::new(i)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
                || i.contains('/'))
        {
            job.instrument = Some(abs(&PathBuf::from(i)).display().to_string());
        }
        if job.generate.is_none() && job.ingest.inputs.is_empty() && job.sources.is_empty() {
            anyhow::bail!(
                "job file {origin}: nothing to ingest\nhint: list files under [ingest] inputs, add [[source]] entries or a [generate] section"
            );
        }
        for s in &job.sources {
            s.validate()
                .with_context(|| format!("job file {origin}: source `{}`", s.name))?;
        }
        Ok(job)
    }
}
