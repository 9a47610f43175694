//! Job files for `sipas run`.
//!
//! ```toml
//! out = "out"                       # output folder, relative to the working folder (`-o` overrides)
//! instrument = "sipas-2023"         # optional: bundled id or TOML path
//! units = "units.csv"               # optional (default: bundled Thái Nguyên units)
//! pilots = "pilots.toml"            # optional (default: bundled pilots)
//! lang = "vi"                       # report labels: vi (default) or en
//! single_file = false               # report: embed the charts in index.html
//! level = 0.95                      # confidence level of every interval and label, 0.5 < level < 1
//!
//! [generate]                        # optional: synthesise the input first
//! responses = 212400
//! seed = 20240101
//! # pilot_start = "2024Q1"          # default: the pilot file's start
//! # effect_path = [0, 0.25, 0.5, 0.75, 1]  # share of the effect 0, 1, 2, … periods after
//! #                                 # each wave's start (default: full from the start)
//! # [generate.styles]               # optional response styles (default: off)
//! # acquiescent_share = 0.3         # same satisfied answer (4, or 5) to every item
//! # acquiescent_top_share = 0.2     # of those, all 5s
//! # nonresponse_share = 0.05        # respondents who skip many items …
//! # nonresponse_rate = 0.5          # … at this rate per item
//! # resent_share = 0.005            # rows sent twice (exact copy, new id)
//! # edit_share = 0.01               # rows edited (same id, later)
//! # modes = [{ name = "paper", share = 0.5, effect = 0.0 },
//! #          { name = "online", share = 0.5, effect = -0.15 }]
//! # codes_at_date = "thai-nguyen"  # default with the bundled units: rows carry the code of
//! #                                 # their day (177 → 172 → 92); "none": the 177's codes throughout
//! # bac_kan = true                  # also former Bắc Kạn's 37 units of the 92, from 2025Q3
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
//! # encoding = "windows-1258"       # default: UTF-8, strictly; "auto": UTF-8 or CP1258 detected
//! # as_of = "2026-12-31"            # default: today (UTC); later submitted_at are quarantined
//! # future_tolerance_days = 1       # days after as_of still accepted
//! # survey_start = "2023-01-01"     # earlier submitted_at are quarantined (default: no check)
//! # first_survey_period = "2023Q1"  # periods outside are quarantined (default: no check)
//! # last_survey_period = "2026Q4"
//! # period_grace_days = 0           # submitted_at up to N days after its period's end
//! # mapping = "mapping.toml"        # column and answer-label mapping
//! # review = "exclude-rejected"     # include | exclude-rejected | approved-only
//! # repeats = "skip"                # or "keep": repeat tables written to ingest/repeats/
//! # keep_columns = ["interviewer"]  # extra columns kept in responses.parquet
//! #                                 # ([design] columns are always kept)
//! # layout = "period"               # responses/period=P/… instead of responses.parquet
//!
//! [clean]                           # optional, defaults shown
//! exclude_flagged = false           # flag straight-liners, speeders, too many missing; keep them
//! keep_resent_copies = false        # re-sent copies (same submission, new id) are excluded
//! ascii_fallback = false
//! # crosswalk = "thai-nguyen"       # or CSV paths, comma-separated, chained by date
//! crosswalk_target = "new"          # or "old", or a date "2025-01-01"
//! # units_after = "units-2026.csv"  # units after the crosswalk, for aggregate and report
//! #                                 # (bundled for thai-nguyen; pilots are mapped too)
//! max_missing_share = 0.5
//! min_duration_s = 120.0
//! layout = "file"                   # or "period": responses/period=P/part-00000.parquet
//!
//! [aggregate]
//! channel = "survey"                # every survey mode, pooled; or one channel alone
//! # survey_modes = ["paper", "online", "phone"]   # default: survey, paper, online, web,
//! #                                 # phone, cati, capi, face_to_face, interview, mail
//! # rating_channels = ["qr", "kiosk"]             # default: qr, kiosk, sms, rating (never pooled)
//! # population = "population.csv"  # with a crosswalk: `code,population` of the old units; the
//! #                                 # treatment intensity becomes the share of population
//! # criteria = "criteria.csv"       # the commune PAR index's appraised criteria (an instrument
//! #                                 # with [par]): unit_code,period,criterion,points,maximum
//! # engine = "spark"                # compute the tables on Spark (PySpark), see `sipas sql`
//! # spark_master = "local[*]"       # or "spark://host:7077", "yarn"
//! control = "never"                 # staggered rollout: comparison units never | not-yet treated
//! base = "varying"                  # base period of ATT(g,t): varying | universal
//! design_variance = false           # add each cell's survey variance to the staggered SEs
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
//! mse = false                       # replicate variances centred at the replicate mean (R's default)
//! min_n = 30
//! max_cv = 0.2
//! suppress_below = 10
//! # [design.replicate_weights]      # replicate weights supplied with the data (R svrepdesign)
//! # columns = "repwt*"              # * matches any text; replicates in natural order
//! # type = "bootstrap"              # bootstrap | jk1 | jkn | other
//! # scale = 0.05                    # default from type, as R's svrepdesign
//! # rscales = [1.0, …]              # default 1 (jkn with full weights: required)
//! # combined_weights = true         # columns are full weights (false: factors of `weights`)
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
//!
//! **Names.** A key is the name of the command-line flag that sets the same thing, with `_`
//! for `-` (`--keep-columns` → `keep_columns`, `--max-missing-share` → `[clean]
//! max_missing_share`); the stage flags sit in the stage's section, `--instrument`, `--units`,
//! `--pilots`, `--out`, `--lang`, `--single-file` and `--level` at the top. Paths inside the job file
//! (inputs, units, pilots, mapping, crosswalk) are relative to the job file's folder; `out` is
//! relative to the working folder, as `-o` is. Keys without a flag: `[[source]]`, `[design]`
//! (the flag `--design` names a file holding it), `[generate.styles]`, `codes_at_date`,
//! `units_after`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use sipas_aggregate::DesignSpec;

use sipas_ingest::sources::SourceConfig;

use crate::args::{CleanRules, EvaluationArgs, ReadArgs, RolloutArgs};

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
    /// Language of the report's labels: `vi` (default) or `en`.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Embed the charts in the report's index.html.
    #[serde(default)]
    pub single_file: bool,
    /// `level = 0.90`: the confidence level of every interval the run
    /// computes and every label of its report (`--level`; default 0.95).
    #[serde(default)]
    pub level: sipas_core::Level,
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
    /// Survey design of every SE and interval (all result tables, charts, report).
    #[serde(default)]
    pub design: DesignSpec,
    /// Pilot evaluation settings.
    #[serde(default)]
    pub evaluation: EvaluationArgs,
    /// Every CSV with a UTF-8 byte order mark for Excel (`--excel-csv`).
    #[serde(default)]
    pub excel_csv: bool,
}

fn default_lang() -> String {
    "vi".into()
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
    /// Pilot start period (default: the pilot file's).
    #[serde(default)]
    pub pilot_start: Option<String>,
    /// True pilot effect (latent logit scale).
    #[serde(default)]
    pub pilot_effect: Option<f64>,
    /// Share of the effect reached 0, 1, 2, … periods after each wave's start (`--effect-path`).
    #[serde(default)]
    pub effect_path: Option<Vec<f64>>,
    /// Unequal weights.
    #[serde(default)]
    pub weights: bool,
    /// Instrument to generate (default sipas-2023).
    #[serde(default)]
    pub instrument: Option<String>,
    /// Response styles (`[generate.styles]`; default: off).
    #[serde(default)]
    pub styles: sipas_synth::ResponseStyles,
    /// `thai-nguyen`: code each generated response as offices did on its
    /// submission day (the 177 units' codes moved through the bundled
    /// crosswalk up to that day: 172 from 01/12/2024, 92 from 01/07/2025);
    /// the default with the bundled units. `none`: the 177's codes in every
    /// period (rows after 30/11/2024 may then be unknown units at clean).
    #[serde(default)]
    pub codes_at_date: Option<String>,
    /// Also survey the units of former Bắc Kạn (the 37 of the 92 made only
    /// of Bắc Kạn communes), from 2025Q3 only, when they joined the
    /// province: as many responses per unit and period as the rest, written
    /// to `data/bac_kan/responses.csv` (with the codes of the 92). Needs the
    /// bundled units and codes of the day.
    #[serde(default)]
    pub bac_kan: bool,
    /// With an instrument that has a commune PAR index: also draw its appraised criteria
    /// (`data/criteria.csv`) for every unit × period of the clean table, seeded, with a pilot
    /// gain from the pilot start; used unless `[aggregate] criteria` names a table.
    #[serde(default)]
    pub criteria: bool,
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
    /// Channel estimated: `survey` pools every survey mode.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Channel values that are modes of the survey (pooled); default: the bundled list.
    #[serde(default)]
    pub survey_modes: Option<Vec<String>>,
    /// Channel values that are per-transaction ratings (never pooled); default: the bundled list.
    #[serde(default)]
    pub rating_channels: Option<Vec<String>>,
    /// After a crosswalk: a CSV `code,population` of the old units; the
    /// treatment intensity of today's units is then their share of
    /// population in pilot communes (default: the share of responses).
    #[serde(default)]
    pub population: Option<PathBuf>,
    /// The commune PAR index's appraised criteria table
    /// (`unit_code,period,criterion,points,maximum`), for an instrument with `[par]`.
    #[serde(default)]
    pub criteria: Option<PathBuf>,
    /// `local` (default) or `spark`: the tables computed on Spark through PySpark.
    #[serde(default)]
    pub engine: EngineJob,
    /// `spark_master = "local[*]"` (default), `spark://host:7077` or `yarn`
    /// (the key is the flag's name, `--spark-master`).
    #[serde(default = "default_master")]
    pub spark_master: String,
    /// The staggered-rollout estimates: `control = "never" | "not-yet"`, `base = "varying" |
    /// "universal"`, `design_variance = false | true` (the flags' names).
    #[serde(flatten)]
    pub rollout: RolloutArgs,
}

/// `[aggregate] engine`: where the tables are computed. An unknown value is
/// an error when the job is read (never silently the local engine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineJob {
    /// This machine (polars and rayon).
    #[default]
    Local,
    /// Apache Spark through PySpark, at `spark_master`.
    Spark,
}

fn default_master() -> String {
    "local[*]".into()
}

impl AggregateJob {
    /// The Spark master when `engine = "spark"`.
    pub fn spark_master(&self) -> Option<String> {
        (self.engine == EngineJob::Spark).then(|| self.spark_master.clone())
    }
}

impl Default for AggregateJob {
    fn default() -> Self {
        AggregateJob {
            channel: default_channel(),
            survey_modes: None,
            rating_channels: None,
            population: None,
            criteria: None,
            engine: EngineJob::Local,
            spark_master: default_master(),
            rollout: RolloutArgs::default(),
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
        job.lang
            .parse::<sipas_report::Lang>()
            .map_err(|e| anyhow::anyhow!("job file {origin}: lang: {e}"))?;
        job.units = job.units.as_ref().map(abs);
        job.pilots = job.pilots.as_ref().map(abs);
        job.clean.units_after = job.clean.units_after.as_ref().map(abs);
        job.aggregate.population = job.aggregate.population.as_ref().map(abs);
        job.aggregate.criteria = job.aggregate.criteria.as_ref().map(abs);
        if let Some(c) = &job.clean.crosswalk {
            let parts: Vec<String> = c
                .split(',')
                .map(str::trim)
                .map(|p| {
                    if sipas_core::bundled::named(p).is_some() {
                        p.to_string()
                    } else {
                        abs(&PathBuf::from(p)).display().to_string()
                    }
                })
                .collect();
            job.clean.crosswalk = Some(parts.join(","));
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

#[cfg(test)]
mod tests {
    use super::{EngineJob, Job};
    use std::path::Path;

    #[test]
    fn the_engine_is_local_spark_or_an_error() {
        let base = Path::new(".");
        let local = Job::parse("[generate]\nresponses = 10\nseed = 1\n", "job.toml", base).unwrap();
        assert_eq!(local.aggregate.engine, EngineJob::Local);
        assert_eq!(local.aggregate.spark_master(), None);
        let spark = Job::parse(
            "[generate]\nresponses = 10\nseed = 1\n[aggregate]\nengine = \"spark\"\nspark_master = \"spark://h:7077\"\n",
            "job.toml",
            base,
        )
        .unwrap();
        assert_eq!(
            spark.aggregate.spark_master().as_deref(),
            Some("spark://h:7077")
        );
        let err = Job::parse(
            "[generate]\nresponses = 10\nseed = 1\n[aggregate]\nengine = \"sprak\"\n",
            "job.toml",
            base,
        )
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("job.toml") && msg.contains("sprak"), "{msg}");
    }

    #[test]
    fn the_rollout_keys_are_typed_and_a_misspelt_choice_is_an_error() {
        use crate::args::{BaseArg, ControlArg};
        let base = Path::new(".");
        let head = "[generate]\nresponses = 10\nseed = 1\n[aggregate]\n";
        let d = Job::parse(head, "job.toml", base).unwrap();
        assert_eq!(
            (d.aggregate.rollout.control, d.aggregate.rollout.base),
            (ControlArg::Never, BaseArg::Varying)
        );
        assert!(!d.aggregate.rollout.design_variance);
        let j = Job::parse(
            &format!("{head}control = \"not-yet\"\nbase = \"universal\"\ndesign_variance = true\n"),
            "job.toml",
            base,
        )
        .unwrap();
        assert_eq!(
            (j.aggregate.rollout.control, j.aggregate.rollout.base),
            (ControlArg::NotYet, BaseArg::Universal)
        );
        assert!(j.aggregate.rollout.design_variance);
        let ev = crate::options::evaluation(&j.evaluation, j.level).unwrap();
        let o = crate::options::rollout(j.aggregate.rollout, &ev);
        assert_eq!(o.control, sipas_aggregate::rollout::Control::NotYet);
        assert_eq!(o.base, sipas_aggregate::rollout::BasePeriod::Universal);
        assert!(o.design_variance);
        // 9999 wild bootstrap replicates by default; the bands take at most 999.
        assert_eq!((o.replicates, o.seed), (999, 20_240_101));
        let err =
            Job::parse(&format!("{head}control = \"notyet\"\n"), "job.toml", base).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("notyet") && msg.contains("not-yet"), "{msg}");
        // The flattened keys leave a misspelt [aggregate] key an error.
        let err =
            Job::parse(&format!("{head}chanel = \"survey\"\n"), "job.toml", base).unwrap_err();
        assert!(format!("{err:#}").contains("chanel"), "{err:#}");
    }
}
