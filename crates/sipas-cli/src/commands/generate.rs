//! `sipas generate`: synthetic responses and their exact truth.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_clean::Crosswalk;
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
    pub(crate) effect_path: Option<Vec<f64>>,
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
        effect_path: a.effect_path.clone(),
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
    if dated.is_some() && !csv && a.codes_at_date.is_some() {
        anyhow::bail!(
            "--codes-at-date thai-nguyen: codes of their day are written to CSV output only\nhint: write a .csv file, or pass --codes-at-date none"
        );
    }
    generate(
        &spec,
        &instrument,
        &units,
        &pilots,
        &a.out,
        &a.out,
        dated.as_ref().filter(|_| csv),
    )?;
    if dated.is_some() && !csv && spec.last >= "2024Q4".parse().expect("a period") {
        say(
            "generate: Parquet output keeps the codes of the 177 units in every period (rows after 30/11/2024 may then be unknown units)\nhint: write a .csv file to get the codes of each row's day",
        );
    }
    Ok(ExitStatus::Success)
}

/// Whether generated rows carry the unit code in force on their submission
/// day (a bundle's name, `thai-nguyen`: `Some` of its crosswalk, which moves
/// the codes) or the 177 units' codes throughout (`none`). The default, with
/// the bundled units, is the codes of the day: offices wrote the 172's
/// codes from 01/12/2024 and the 92's from 01/07/2025, and a row with a code
/// no longer in force would be an unknown unit at clean.
pub(crate) fn dated_codes(
    setting: Option<&str>,
    bundled_units: bool,
    what: &str,
) -> anyhow::Result<Option<Crosswalk>> {
    let of = |b: &sipas_core::bundled::Bundle| {
        Crosswalk::bundled(b.name).expect("a bundle with codes of the day has a crosswalk")
    };
    match setting.map(str::trim) {
        None if bundled_units => Ok(Some(of(sipas_core::bundled::default_bundle()))),
        None | Some("none") => Ok(None),
        Some(name) => match sipas_core::bundled::named(name) {
            Some(b) if bundled_units => Ok(Some(of(b))),
            Some(_) => anyhow::bail!(
                "{what} = {name}: codes of the day need the bundled Thái Nguyên units\nhint: drop the units setting, or set {what} none"
            ),
            None => anyhow::bail!(
                "{what} = `{name}`: use `thai-nguyen` (the default with the bundled units) or `none`"
            ),
        },
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
    dated: Option<&Crosswalk>,
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
    if let Some(path) = &spec.effect_path {
        cfg.effect_path.clone_from(path);
    }
    cfg.weights = spec.weights;
    cfg.styles = spec.styles.clone();
    let model = Model::new(&cfg, instrument).context("invalid generation settings")?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    let coder = dated.and_then(DayCoder::new);
    let opts = sipas_synth::WriteOptions::default();
    let summary = match &coder {
        Some(c) => sipas_synth::write_responses_recoded(&model, out, &opts, &|buf| c.recode(buf)),
        None => sipas_synth::write_responses_with(&model, out, &opts),
    }
    .with_context(|| format!("cannot write {}", out.display()))?;
    let truth = out.parent().unwrap_or(Path::new(".")).join("truth.csv");
    sipas_synth::write_truth(&model, &truth)
        .with_context(|| format!("cannot write {}", truth.display()))?;
    let att_truth = truth.with_file_name(sipas_synth::ATT_TRUTH_FILE);
    sipas_synth::write_att_truth(&model, &att_truth)
        .with_context(|| format!("cannot write {}", att_truth.display()))?;
    say(&format!(
        "generate: {} responses in {} unit × period cells ({} answers missing) → {}; truth → {}{}",
        summary.rows,
        summary.cells,
        summary.missing_answers,
        shown.display(),
        shown.with_file_name("truth.csv").display(),
        crate::logging::rate(started, summary.rows)
    ));
    if let Some(c) = &coder {
        c.say_moved();
    }
    Ok(truth)
}

/// The units of the 92 made only of former Bắc Kạn communes (none of the
/// 177 Thái Nguyên units goes into them).
pub(crate) fn bac_kan_units(cw: &Crosswalk) -> UnitRegistry {
    use sipas_clean::{CrosswalkTarget, Mapped};
    let history = sipas_core::bundled::unit_history();
    let day = "2024-11-30".parse().expect("a date");
    let onto = |units: &UnitRegistry| -> std::collections::BTreeSet<String> {
        units
            .iter()
            .filter_map(
                |u| match cw.map(&u.code, day, CrosswalkTarget::New, &history) {
                    Mapped::Code { code, .. } => Some(code),
                    Mapped::NotOneToOne { .. } => None,
                },
            )
            .collect()
    };
    let from_tn = onto(&sipas_core::bundled::units());
    let from_bk = onto(&sipas_core::bundled::units_bac_kan());
    sipas_core::bundled::units_2025_07()
        .filtered(|u| from_bk.contains(&u.code) && !from_tn.contains(&u.code))
}

/// `[generate] bac_kan`: responses of former Bắc Kạn's units from 2025Q3
/// (when they joined the province) to the last period, as many per unit
/// and period as the main file (its seed + 1); `false` when no period is
/// left.
pub(crate) fn bac_kan_responses(
    spec: &GenerateSpec,
    dated: Option<&Crosswalk>,
    instrument: &sipas_core::Instrument,
    pilots: &PilotSet,
    file: &Path,
    shown: &Path,
) -> anyhow::Result<bool> {
    let Some(crosswalk) = dated else {
        anyhow::bail!(
            "[generate] bac_kan needs the bundled units and codes of the day (codes_at_date = \"thai-nguyen\")"
        );
    };
    let joined: sipas_core::IsoDate = "2025-07-01".parse().expect("a date");
    let all = spec.first.range_to(spec.last);
    let Some(&first) = all
        .iter()
        .find(|p| sipas_core::history::period_start(**p) >= joined)
    else {
        return Ok(false);
    };
    let units = bac_kan_units(crosswalk);
    let tn = sipas_core::bundled::units().len() as u64;
    let per_cell = spec.responses / (tn * all.len() as u64).max(1);
    let periods = first.range_to(spec.last).len() as u64;
    let bk = GenerateSpec {
        responses: per_cell.max(1) * units.len() as u64 * periods,
        seed: spec.seed.wrapping_add(1),
        first,
        ..spec.clone()
    };
    generate(&bk, instrument, &units, pilots, file, shown, None)?;
    say(&format!(
        "generate: former Bắc Kạn's {} units of the 92 surveyed from {first} (they joined the province on 01/07/2025)",
        units.len()
    ));
    Ok(true)
}

/// Rewrites the `unit_code` of generated CSV lines (second column; codes of
/// the first unit list) with the code in force on each row's submission day
/// (fourth column), as offices would have written it; the lines are
/// rewritten chunk by chunk as `generate` makes them
/// ([`sipas_synth::write_responses_recoded`]).
pub(crate) struct DayCoder<'a> {
    crosswalk: &'a sipas_clean::Crosswalk,
    history: sipas_core::UnitHistory,
    /// The crosswalk's step dates, ascending: a code's mapping to a day
    /// depends on the day only through how many of them it has reached.
    steps: Vec<sipas_core::IsoDate>,
    /// Rows whose code was rewritten.
    moved: std::sync::atomic::AtomicU64,
}

impl<'a> DayCoder<'a> {
    /// `None` when the crosswalk has no step (no code ever changes).
    pub(crate) fn new(crosswalk: &'a sipas_clean::Crosswalk) -> Option<Self> {
        let mut steps = crosswalk.step_dates();
        steps.sort_unstable();
        steps.dedup();
        (!steps.is_empty()).then(|| DayCoder {
            crosswalk,
            history: sipas_core::bundled::unit_history(),
            steps,
            moved: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The code `code` (of the day before the first step) had on `day`.
    fn code_on(&self, code: &str, day: sipas_core::IsoDate) -> String {
        use sipas_clean::{CrosswalkTarget, Mapped};
        match self.crosswalk.map(
            code,
            self.steps[0].pred(),
            CrosswalkTarget::On(day),
            &self.history,
        ) {
            Mapped::Code { code, .. } => code,
            Mapped::NotOneToOne { .. } => code.to_string(),
        }
    }

    /// Rewrites whole CSV lines (no header) in place: a code is replaced
    /// where it stands, by one of the same length (a crosswalk maps 5-digit
    /// GSO codes to 5-digit codes, checked when it is read; a code it does
    /// not list stays as it is).
    pub(crate) fn recode(&self, buf: &mut [u8]) {
        // (code, steps reached) → code of the day: a few hundred pairs; rows
        // come a cell at a time, so most lines ask for the last pair again.
        let mut cache: std::collections::HashMap<(Vec<u8>, usize), String> =
            std::collections::HashMap::new();
        let mut last: Option<(Vec<u8>, usize, String)> = None;
        let mut moved = 0u64;
        let mut pos = 0;
        while pos < buf.len() {
            let end = buf[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| pos + i + 1);
            let line = &buf[pos..end];
            // The bounds of the first four fields (id, code, period, date).
            let mut f = [(0, 0); 4];
            let (mut k, mut from) = (0, 0);
            for (i, &b) in line.iter().enumerate() {
                if b == b',' {
                    f[k] = (from, i);
                    k += 1;
                    from = i + 1;
                    if k == 4 {
                        break;
                    }
                }
            }
            let old = &line[f[1].0..f[1].1];
            let day = (k == 4)
                .then(|| std::str::from_utf8(&line[f[3].0..f[3].1]).ok())
                .flatten()
                .and_then(sipas_core::IsoDate::from_prefix)
                .filter(|d| *d >= self.steps[0]);
            if let (Some(day), Ok(old_code)) = (day, std::str::from_utf8(old)) {
                let reached = self.steps.partition_point(|s| *s <= day);
                if !last
                    .as_ref()
                    .is_some_and(|(o, n, _)| *n == reached && o == old)
                {
                    let code = cache
                        .entry((old.to_vec(), reached))
                        .or_insert_with(|| self.code_on(old_code, day));
                    last = Some((old.to_vec(), reached, code.clone()));
                }
                let code = last
                    .as_ref()
                    .map(|(_, _, c)| c.as_bytes())
                    .expect("the pair was looked up above");
                if code != old {
                    assert_eq!(
                        code.len(),
                        old.len(),
                        "a crosswalk maps codes to codes of the same length"
                    );
                    moved += 1;
                    buf[pos + f[1].0..pos + f[1].1].copy_from_slice(code);
                }
            }
            pos = end;
        }
        self.moved
            .fetch_add(moved, std::sync::atomic::Ordering::Relaxed);
    }

    /// Says how many rows carry a code of a later unit list.
    pub(crate) fn say_moved(&self) {
        say(&format!(
            "generate: coded as offices did on each submission day ({} rows carry a code of 01/12/2024 or 01/07/2025)",
            self.moved.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes move on the bundled crosswalk's dates (fixtures/crosswalk):
    /// 05536 (Thị trấn Chợ Chu) became 05569 on 01/12/2024, and 05431
    /// (Phường Quan Triều) became 05482 on 01/07/2025; other fields, short
    /// lines and rows before the first step are left as they are.
    #[test]
    fn recode_writes_the_code_in_force_on_each_row_s_day() {
        let crosswalk = Crosswalk::bundled("thai-nguyen").unwrap();
        let coder = DayCoder::new(&crosswalk).unwrap();
        let mut buf = b"r1,05536,2024Q4,2024-11-30T10:00:00,4,5\n\
r2,05536,2024Q4,2024-12-01T08:00:00,4,5\n\
r3,05431,2025Q2,2025-06-30,1,\n\
r4,05431,2025Q3,2025-07-01T00:00:00,1,\n\
r5,05431,2025Q3,2025-07-02T00:00:00,1,\n\
short,05431\n\
r6,05431,2025Q3,not a day,1,\n"
            .to_vec();
        coder.recode(&mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "r1,05536,2024Q4,2024-11-30T10:00:00,4,5\n\
r2,05569,2024Q4,2024-12-01T08:00:00,4,5\n\
r3,05431,2025Q2,2025-06-30,1,\n\
r4,05482,2025Q3,2025-07-01T00:00:00,1,\n\
r5,05482,2025Q3,2025-07-02T00:00:00,1,\n\
short,05431\n\
r6,05431,2025Q3,not a day,1,\n"
        );
        assert_eq!(coder.moved.into_inner(), 3);
    }
}
