//! `sipas generate`: synthetic responses and their exact truth.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::{Instrument, Period, PilotSet, UnitRegistry};
use sipas_synth::{Model, ResponseStyles, SynthConfig};

use crate::ExitStatus;
use crate::args::GenerateArgs;
use crate::commands::say;
use crate::resolve;

/// What to generate, resolved.
#[derive(Clone)]
pub(crate) struct GenerateSpec {
    pub(crate) responses: u64,
    pub(crate) seed: u64,
    pub(crate) first: Period,
    pub(crate) last: Period,
    pub(crate) pilot_start: Option<Period>,
    pub(crate) pilot_effect: Option<f64>,
    pub(crate) weights: bool,
    pub(crate) styles: ResponseStyles,
}

pub(crate) fn run(a: &GenerateArgs) -> anyhow::Result<ExitStatus> {
    let instrument = resolve::instrument(a.domain.instrument.as_deref().unwrap_or("sipas-2023"))?;
    let units = resolve::units(a.domain.units.as_deref())?;
    let pilots = resolve::pilots(a.domain.pilots.as_deref(), &units)?;
    let spec = GenerateSpec {
        responses: a.responses,
        seed: a.seed,
        first: parse_period(&a.first_period, "--first-period")?,
        last: parse_period(&a.last_period, "--last-period")?,
        pilot_start: a
            .pilot_start
            .as_deref()
            .map(|p| parse_period(p, "--pilot-start"))
            .transpose()?,
        pilot_effect: a.pilot_effect,
        weights: a.weights,
        styles: if a.realistic_styles {
            ResponseStyles::realistic()
        } else {
            ResponseStyles::default()
        },
    };
    let dated = dated_codes(
        a.codes_at_date.as_deref(),
        a.domain.units.is_none(),
        "--codes-at-date",
    )?;
    let csv = a
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if dated && !csv && a.codes_at_date.is_some() {
        anyhow::bail!(
            "--codes-at-date thai-nguyen: codes of their day are written to CSV output only\nhint: write a .csv file, or pass --codes-at-date none"
        );
    }
    generate(&spec, &instrument, &units, &pilots, &a.out, &a.out)?;
    if dated && csv {
        super::run::code_at_date(&a.out, &sipas_clean::Crosswalk::thai_nguyen())?;
    } else if dated && spec.last >= "2024Q4".parse().expect("a period") {
        say(
            "generate: Parquet output keeps the codes of the 177 units in every period (rows after 30/11/2024 may then be unknown units)\nhint: write a .csv file to get the codes of each row's day",
        );
    }
    Ok(ExitStatus::Success)
}

/// Whether generated rows carry the unit code in force on their submission
/// day (`thai-nguyen`) or the 177 units' codes throughout (`none`). The
/// default, with the bundled units, is the codes of the day: offices wrote
/// the 172's codes from 01/12/2024 and the 92's from 01/07/2025, and a row
/// with a code no longer in force would be an unknown unit at clean.
pub(crate) fn dated_codes(
    setting: Option<&str>,
    bundled_units: bool,
    what: &str,
) -> anyhow::Result<bool> {
    match setting.map(str::trim) {
        None => Ok(bundled_units),
        Some("thai-nguyen") if bundled_units => Ok(true),
        Some("thai-nguyen") => anyhow::bail!(
            "{what} = thai-nguyen: codes of the day need the bundled Thái Nguyên units\nhint: drop the units setting, or set {what} none"
        ),
        Some("none") => Ok(false),
        Some(other) => {
            anyhow::bail!(
                "{what} = `{other}`: use `thai-nguyen` (the default with the bundled units) or `none`"
            )
        }
    }
}

fn parse_period(s: &str, flag: &str) -> anyhow::Result<Period> {
    s.parse().with_context(|| format!("invalid {flag}"))
}

/// Writes `out` (CSV or Parquet) and `truth.csv` beside it; returns the truth path. Messages
/// name `shown` (where `out` ends up once a staged folder is in place).
pub(crate) fn generate(
    spec: &GenerateSpec,
    instrument: &Instrument,
    units: &UnitRegistry,
    pilots: &PilotSet,
    out: &Path,
    shown: &Path,
) -> anyhow::Result<PathBuf> {
    let started = std::time::Instant::now();
    let mut cfg = SynthConfig::with_seed_and_responses(spec.seed, spec.responses);
    cfg.units = units.iter().map(|u| u.code.clone()).collect();
    cfg.periods = spec.first.range_to(spec.last);
    if cfg.periods.is_empty() {
        anyhow::bail!(
            "--first-period {} must not be after --last-period {} (and both of one granularity)",
            spec.first,
            spec.last
        );
    }
    cfg.pilots = pilots.clone();
    if let Some(start) = spec.pilot_start {
        cfg.pilots.start = start;
    }
    if let Some(effect) = spec.pilot_effect {
        cfg.pilot_effect = effect;
    }
    cfg.weights = spec.weights;
    cfg.styles = spec.styles.clone();
    let model = Model::new(&cfg, instrument).context("invalid generation settings")?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    let summary = sipas_synth::write_responses(&model, out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let truth = out.parent().unwrap_or(Path::new(".")).join("truth.csv");
    sipas_synth::write_truth(&model, &truth)
        .with_context(|| format!("cannot write {}", truth.display()))?;
    say(&format!(
        "generate: {} responses in {} unit × period cells ({} answers missing) → {}; truth → {}{}",
        summary.rows,
        summary.cells,
        summary.missing_answers,
        shown.display(),
        shown.with_file_name("truth.csv").display(),
        crate::logging::rate(started, summary.rows)
    ));
    Ok(truth)
}
