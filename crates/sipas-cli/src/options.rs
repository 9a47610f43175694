//! Typed, validated options: the flags ([`crate::args`]) and job-file keys
//! ([`crate::job`]) are kept as given (the manifests record them so), and
//! convert here, once, into the options the libraries take: enums, loaded
//! crosswalks and mapping files, parsed dates. This is ripgrep's split of
//! low-level args into high-level options. A command converts first, then
//! calls the library and prints; past this module no choice is read as a
//! string.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use sipas_aggregate::{Baseline, ChannelClasses, EvaluationOptions, Weighting, WildWeights};
use sipas_clean::{CleanOptions, Crosswalk, CrosswalkTarget};
use sipas_dataset::Layout;
use sipas_ingest::{DateChecks, Mapping, ReadOptions, RepeatPolicy, ReviewPolicy};
use sipas_report::Lang;

use sipas_aggregate::rollout::{BasePeriod, Control, RolloutOptions};

use crate::args::{BaseArg, CleanRules, ControlArg, EvaluationArgs, ReadArgs, RolloutArgs};
use crate::job::Job;

/// How ingest reads, checks and writes, from `[ingest]` or the ingest flags.
pub(crate) struct IngestSettings {
    /// Delimiter, encoding and the loaded mapping file.
    pub(crate) read: ReadOptions,
    /// The date and period checks (the as-of date filled in).
    pub(crate) dates: DateChecks,
    /// The as-of date was named (not today's).
    pub(crate) as_of_given: bool,
    /// Which reviewed submissions are kept.
    pub(crate) review: ReviewPolicy,
    /// What happens to repeat-group tables.
    pub(crate) repeats: RepeatPolicy,
    /// Extra source columns kept in the response table.
    pub(crate) keep_columns: Vec<String>,
    /// How the response table is written.
    pub(crate) layout: Layout,
}

impl IngestSettings {
    /// Converts the read flags / `[ingest]` keys, the kept columns and the
    /// layout name.
    pub(crate) fn new(
        read: &ReadArgs,
        keep_columns: &[String],
        layout_name: &str,
    ) -> anyhow::Result<IngestSettings> {
        let review = review_policy(read.review.as_deref())?;
        let repeats = match read.repeats.as_deref() {
            None => RepeatPolicy::default(),
            Some(r) => r.parse().map_err(anyhow::Error::msg)?,
        };
        let dates = date_checks(read)?;
        Ok(IngestSettings {
            layout: layout(layout_name)?,
            read: read_options(read)?,
            dates,
            as_of_given: read.as_of.is_some(),
            review,
            repeats,
            keep_columns: keep_columns.to_vec(),
        })
    }
}

/// The review policy named on the command line or in the job (default
/// `exclude-rejected`).
pub(crate) fn review_policy(name: Option<&str>) -> anyhow::Result<ReviewPolicy> {
    name.map_or(Ok(ReviewPolicy::default()), |r| {
        r.parse().map_err(anyhow::Error::msg)
    })
}

/// The table layout named on the command line or in a job file.
pub(crate) fn layout(name: &str) -> anyhow::Result<Layout> {
    name.parse().map_err(anyhow::Error::msg)
}

/// Library read options from the CLI / job settings.
fn read_options(r: &ReadArgs) -> anyhow::Result<ReadOptions> {
    let delimiter = match r.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => anyhow::bail!("invalid delimiter `{d}` (expected one character, or `tab`)"),
    };
    let mapping = r
        .mapping
        .as_deref()
        .map(|p| {
            Mapping::from_path(p).with_context(|| format!("cannot load mapping {}", p.display()))
        })
        .transpose()?;
    Ok(ReadOptions {
        delimiter,
        encoding: r.encoding.clone(),
        mapping,
    })
}

/// The date and period checks from the CLI / job settings; the as-of date
/// defaults to today (UTC).
fn date_checks(r: &ReadArgs) -> anyhow::Result<DateChecks> {
    let day = |what: &str, v: &Option<String>| -> anyhow::Result<Option<sipas_core::IsoDate>> {
        v.as_deref()
            .map(|s| {
                s.parse::<sipas_core::IsoDate>()
                    .map_err(|_| anyhow::anyhow!("invalid {what} `{s}` (expected YYYY-MM-DD)"))
            })
            .transpose()
    };
    let period = |what: &str, v: &Option<String>| -> anyhow::Result<Option<sipas_core::Period>> {
        v.as_deref()
            .map(|s| {
                s.parse::<sipas_core::Period>()
                    .map_err(|_| anyhow::anyhow!("invalid {what} `{s}` (expected e.g. 2024Q1)"))
            })
            .transpose()
    };
    let defaults = DateChecks::default();
    let as_of = match day("as-of date", &r.as_of)? {
        Some(d) => d,
        None => today(),
    };
    let checks = DateChecks {
        as_of: Some(as_of),
        future_tolerance_days: r
            .future_tolerance_days
            .unwrap_or(defaults.future_tolerance_days),
        survey_start: day("survey start", &r.survey_start)?,
        first_period: period("first survey period", &r.first_survey_period)?,
        last_period: period("last survey period", &r.last_survey_period)?,
        period_grace_days: r.period_grace_days.unwrap_or(defaults.period_grace_days),
    };
    if let (Some(f), Some(l)) = (checks.first_period, checks.last_period)
        && sipas_core::history::period_start(f) > sipas_core::history::period_start(l)
    {
        anyhow::bail!("the first survey period {f} is after the last {l}");
    }
    Ok(checks)
}

/// Today's date (UTC).
fn today() -> sipas_core::IsoDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).expect("days since 1970 fit i64");
    sipas_ingest::date_of_day_number(days).expect("today is a date of years 1000–9999")
}

/// The cleaning rules, from `[clean]` or the clean flags: the library's
/// options (the crosswalk loaded once) and the layout of the clean table.
#[derive(Debug)]
pub(crate) struct CleanSettings {
    /// The library's options.
    pub(crate) options: CleanOptions,
    /// How the clean response table is written.
    pub(crate) layout: Layout,
}

impl CleanSettings {
    /// Converts the rules: loads and chains the crosswalk, checks the target
    /// and the missing share.
    pub(crate) fn new(rules: &CleanRules) -> anyhow::Result<CleanSettings> {
        let crosswalk = rules.crosswalk.as_deref().map(crosswalk).transpose()?;
        let Some(crosswalk_target) = CrosswalkTarget::parse(&rules.crosswalk_target) else {
            anyhow::bail!(
                "invalid crosswalk target `{}` (expected new, old or a date YYYY-MM-DD)",
                rules.crosswalk_target
            );
        };
        if !(0.0..=1.0).contains(&rules.max_missing_share) {
            anyhow::bail!(
                "max missing share {} must be between 0 and 1",
                rules.max_missing_share
            );
        }
        let options = CleanOptions {
            allow_ascii_fallback: rules.ascii_fallback,
            crosswalk,
            crosswalk_target,
            exclude_flagged: rules.exclude_flagged,
            exclude_resent_copies: !rules.keep_resent_copies,
            max_missing_share: rules.max_missing_share,
            min_duration_s: rules.min_duration_s,
        };
        Ok(CleanSettings {
            options,
            layout: layout(&rules.layout)?,
        })
    }
}

/// The crosswalk named by `spec`: a bundle's name (`thai-nguyen`: the
/// bundled 01/12/2024 and 01/07/2025 steps) or a CSV path, several separated by commas,
/// chained by date.
pub(crate) fn crosswalk(spec: &str) -> anyhow::Result<Crosswalk> {
    let mut out: Option<Crosswalk> = None;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let c = match Crosswalk::bundled(part) {
            Some(c) => c,
            None => Crosswalk::from_path(Path::new(part))
                .with_context(|| format!("cannot load crosswalk {part}"))?,
        };
        out = Some(match out {
            None => c,
            Some(prev) => prev
                .chain(&c)
                .with_context(|| format!("cannot chain crosswalk {part}"))?,
        });
    }
    out.with_context(|| format!("no crosswalk in `{spec}`"))
}

/// Where aggregate computes the unit × period, group and estimate tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Here (polars and rayon).
    Local,
    /// On Spark through PySpark, at this master (`local[*]`, `spark://host:7077`, `yarn`).
    Spark {
        /// The Spark master.
        master: String,
    },
}

impl Engine {
    /// The engine named `local` or `spark` (the flag's values, checked by
    /// clap), with the Spark master.
    pub(crate) fn named(name: &str, master: &str) -> anyhow::Result<Engine> {
        match name {
            "local" => Ok(Engine::Local),
            "spark" => Ok(Engine::Spark {
                master: master.to_string(),
            }),
            other => anyhow::bail!("invalid engine `{other}` (expected local or spark)"),
        }
    }
}

/// A job's stage options, converted and checked before any stage runs (a
/// misspelt choice stops the run before it reads a row).
pub(crate) struct JobSettings {
    /// `[ingest]`; the kept columns include the design's columns.
    pub(crate) ingest: IngestSettings,
    /// `[clean]`.
    pub(crate) clean: CleanSettings,
    /// `[aggregate] survey_modes` and `rating_channels`.
    pub(crate) channels: ChannelClasses,
    /// `[aggregate] engine` and `spark_master`.
    pub(crate) engine: Engine,
    /// `[evaluation]`.
    pub(crate) evaluation: EvaluationOptions,
    /// `[aggregate] control`, `base` and `design_variance`, with `[evaluation]`'s seed.
    pub(crate) rollout: RolloutOptions,
    /// `lang`.
    pub(crate) lang: Lang,
}

impl JobSettings {
    /// Converts every stage's section of `job`.
    pub(crate) fn new(job: &Job) -> anyhow::Result<JobSettings> {
        let mut keep_columns = job.ingest.keep_columns.clone();
        // A replicate-weight pattern (`repwt*`) is resolved at aggregate; ingest
        // keeps the columns named in `[ingest] keep_columns`.
        for c in job
            .design
            .columns()
            .into_iter()
            .filter(|c| !c.contains('*'))
        {
            if !keep_columns.iter().any(|k| k == c) {
                keep_columns.push(c.to_string());
            }
        }
        let ingest = IngestSettings::new(
            &job.ingest.read,
            &keep_columns,
            job.ingest.layout.as_deref().unwrap_or("file"),
        )?;
        let evaluation = evaluation(&job.evaluation, job.level)?;
        Ok(JobSettings {
            rollout: rollout(job.aggregate.rollout, &evaluation),
            ingest,
            clean: CleanSettings::new(&job.clean)?,
            channels: channel_classes(
                job.aggregate.survey_modes.as_deref(),
                job.aggregate.rating_channels.as_deref(),
            )?,
            engine: job
                .aggregate
                .spark_master()
                .map_or(Engine::Local, |master| Engine::Spark { master }),
            evaluation,
            lang: job.lang.parse().map_err(anyhow::Error::msg)?,
        })
    }
}

/// Channel classes from the CLI / job lists (`None`: the bundled list).
pub(crate) fn channel_classes(
    survey_modes: Option<&[String]>,
    rating_channels: Option<&[String]>,
) -> anyhow::Result<ChannelClasses> {
    ChannelClasses::new(survey_modes, rating_channels).context("invalid channel classes")
}

impl crate::args::ChannelArgs {
    /// The channel classes of `--survey-modes` and `--rating-channels`.
    pub(crate) fn classes(&self) -> anyhow::Result<ChannelClasses> {
        channel_classes(
            self.survey_modes.as_deref(),
            self.rating_channels.as_deref(),
        )
    }
}

/// The library's evaluation options from the flags / `[evaluation]` keys
/// and the run's confidence level; an unknown name is an error listing the
/// known ones.
pub(crate) fn evaluation(
    e: &EvaluationArgs,
    level: sipas_core::Level,
) -> anyhow::Result<EvaluationOptions> {
    fn choice<'de, T: Deserialize<'de>>(key: &str, value: &'de str) -> anyhow::Result<T> {
        let d: serde::de::value::StrDeserializer<'de, serde::de::value::Error> =
            value.into_deserializer();
        T::deserialize(d)
            .with_context(|| format!("{key} `{value}`"))
            .context("invalid [evaluation] settings")
    }
    Ok(EvaluationOptions {
        baseline: choice::<Baseline>("baseline", &e.baseline)?,
        weighting: choice::<Weighting>("weighting", &e.weighting)?,
        bootstrap_weights: choice::<WildWeights>("bootstrap_weights", &e.bootstrap_weights)?,
        replicates: e.replicates,
        seed: e.seed,
        level,
    })
}

impl From<ControlArg> for Control {
    fn from(c: ControlArg) -> Control {
        match c {
            ControlArg::Never => Control::Never,
            ControlArg::NotYet => Control::NotYet,
        }
    }
}

impl From<BaseArg> for BasePeriod {
    fn from(b: BaseArg) -> BasePeriod {
        match b {
            BaseArg::Varying => BasePeriod::Varying,
            BaseArg::Universal => BasePeriod::Universal,
        }
    }
}

/// The staggered-rollout options of the aggregate stage: comparison group, base period and
/// design variance from the flags / `[aggregate]` keys; the multiplier bootstrap's seed and the
/// level from the evaluation's (its replicates capped at 999: the bands' critical value is a
/// quantile of a maximum, stable well before the wild bootstrap's 9999).
pub(crate) fn rollout(r: RolloutArgs, ev: &EvaluationOptions) -> RolloutOptions {
    RolloutOptions {
        control: r.control.into(),
        base: r.base.into(),
        replicates: ev.replicates.min(999),
        seed: ev.seed,
        design_variance: r.design_variance,
        level: ev.level,
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, evaluation};
    use crate::args::EvaluationArgs;
    use sipas_aggregate::{Baseline, Weighting, WildWeights};

    #[test]
    fn evaluation_names_convert_to_the_library_enums() {
        let e = EvaluationArgs {
            baseline: "same_district".into(),
            weighting: "n".into(),
            bootstrap_weights: "rademacher".into(),
            replicates: 7,
            seed: 3,
        };
        let o = evaluation(&e, sipas_core::Level::DEFAULT).unwrap();
        assert_eq!(o.baseline, Baseline::SameDistrict);
        assert_eq!(o.weighting, Weighting::N);
        assert_eq!(o.bootstrap_weights, WildWeights::Rademacher);
        assert_eq!((o.replicates, o.seed), (7, 3));
        let d = evaluation(&EvaluationArgs::default(), sipas_core::Level::DEFAULT).unwrap();
        assert_eq!(
            (d.baseline, d.weighting, d.bootstrap_weights),
            (Baseline::All, Weighting::Equal, WildWeights::Webb)
        );
    }

    #[test]
    fn an_unknown_evaluation_name_is_an_error_naming_key_value_and_choices() {
        let e = EvaluationArgs {
            baseline: "same_province".into(),
            ..EvaluationArgs::default()
        };
        let msg = format!(
            "{:#}",
            evaluation(&e, sipas_core::Level::DEFAULT).unwrap_err()
        );
        assert!(
            msg.contains("[evaluation]")
                && msg.contains("baseline `same_province`")
                && msg.contains("same_district"),
            "{msg}"
        );
    }

    #[test]
    fn the_engine_is_local_or_spark_at_its_master() {
        assert_eq!(Engine::named("local", "yarn").unwrap(), Engine::Local);
        assert_eq!(
            Engine::named("spark", "yarn").unwrap(),
            Engine::Spark {
                master: "yarn".into()
            }
        );
        assert!(Engine::named("sprak", "yarn").is_err());
    }
}
