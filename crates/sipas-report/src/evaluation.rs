//! The pilot-evaluation files of a results folder and the ingest / clean
//! reports beside it; every one is optional (older folders lack them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use sipas_core::results as contract;

use crate::table::{Table, opt_count};
use crate::{Error, Result};

/// Two-way fixed-effects DiD, overall and per pilot unit (the results contract's names).
pub const DID_TWFE_CSV: &str = contract::DID_TWFE.file;
/// Per-unit 2×2 DiD of cell means.
pub const DID_UNITS_CSV: &str = contract::DID_UNITS.file;
/// Event-study coefficients.
pub const EVENT_STUDY_CSV: &str = contract::EVENT_STUDY.file;
/// Joint pre-trend test.
pub const PRETREND_CSV: &str = contract::PRETREND.file;
/// Plain-English method text.
pub const METHODS_TXT: &str = contract::METHODS.file;
/// Options and panel selection of the evaluation.
pub const EVALUATION_JSON: &str = contract::EVALUATION_JSON.file;
/// The ingest report, in `RESULTS/../ingest/`.
pub const INGEST_REPORT_JSON: &str = "ingest-report.json";
/// The clean report, in `RESULTS/../clean/`.
pub const CLEAN_REPORT_JSON: &str = "clean-report.json";
/// Which old units make up each unit with a pilot commune (after a crosswalk).
pub const TREATMENT_CSV: &str = contract::TREATMENT.file;
/// The aggregate report, in `RESULTS/` itself.
pub const AGGREGATE_REPORT_JSON: &str = contract::AGGREGATE_REPORT.file;

/// One row of `did_twfe.csv`; `None` = empty field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TwfeRow {
    /// `None` for the overall row, the pilot unit's code otherwise.
    pub unit_code: Option<String>,
    /// β̂ in index points.
    pub estimate: Option<f64>,
    /// CR1 clustered standard error.
    pub se: Option<f64>,
    /// Lower bound of the CR1 interval (t with G − 1 df), at the results' level.
    pub lo: Option<f64>,
    /// Upper bound of the CR1 interval.
    pub hi: Option<f64>,
    /// CR1 p-value.
    pub p: Option<f64>,
    /// Wild cluster restricted bootstrap p-value (overall row only).
    pub p_wild: Option<f64>,
    /// Lower bound of the wild bootstrap interval, at the results' level.
    pub lo_wild: Option<f64>,
    /// Upper bound of the wild bootstrap interval.
    pub hi_wild: Option<f64>,
    /// Number of clusters (units).
    pub n_clusters: Option<u64>,
    /// Number of treated clusters.
    pub n_treated: Option<u64>,
    /// Number of cells.
    pub n_obs: Option<u64>,
    /// `rademacher` | `webb` (empty when no bootstrap).
    pub bootstrap_weights: String,
    /// Bootstrap replicates.
    pub replicates: Option<u64>,
    /// Bootstrap seed.
    pub seed: Option<u64>,
}

/// `did_twfe.csv`: the overall row and the per-unit rows (sorted by code).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Twfe {
    /// The overall TWFE estimate.
    pub overall: TwfeRow,
    /// One row per pilot unit, in code order.
    pub units: Vec<TwfeRow>,
    /// After a crosswalk: one row per treatment definition on today's units
    /// (`contains_pilot`, `intensity`, `contains_pilot_unmixed`, in
    /// `unit_code`), in file order.
    pub treatments: Vec<TwfeRow>,
}

/// One row of `treatment.csv`: which old units make up a unit with a pilot commune.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TreatmentRow {
    /// Today's unit.
    pub unit_code: String,
    /// Share of its pre-merge responses from pilot communes.
    pub intensity: Option<f64>,
    /// The old units behind it, `|`-separated.
    pub old_units: String,
    /// Those of them that are pilot communes.
    pub pilot_old_units: String,
    /// The old units' names with their prefix, `|`-separated in the order
    /// of `old_units` (empty when `treatment.csv` has no `old_unit_names`).
    pub old_unit_names: String,
    /// What the intensity is a share of: `responses` or `population`
    /// (empty in files written before the column existed).
    pub intensity_basis: String,
}

/// The old units of a [`TreatmentRow`] as shown to readers: `code name`
/// (`05536 Thị trấn Chợ Chu`) where `treatment.csv` names them, else the
/// code alone; every old unit and the pilot communes among them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamedOldUnits {
    /// Every old unit behind today's unit.
    pub all: Vec<String>,
    /// The pilot communes among them.
    pub pilots: Vec<String>,
}

/// Names the old units of a row (see [`NamedOldUnits`]).
pub fn named_old_units(t: &TreatmentRow) -> NamedOldUnits {
    let split = |s: &str| -> Vec<String> {
        s.split('|')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let codes = split(&t.old_units);
    let names: Vec<String> = t.old_unit_names.split('|').map(str::to_string).collect();
    let label = |code: &str| -> String {
        codes
            .iter()
            .position(|c| c == code)
            .and_then(|i| names.get(i))
            .filter(|n| !n.is_empty() && names.len() == codes.len())
            .map_or_else(|| code.to_string(), |n| format!("{code} {n}"))
    };
    NamedOldUnits {
        all: codes.iter().map(|c| label(c)).collect(),
        pilots: split(&t.pilot_old_units).iter().map(|c| label(c)).collect(),
    }
}

// A row of `did_units.csv` (a pilot unit's 2×2 of cell means) and of `event_study.csv`: the
// results contract's row types, as the evaluation wrote them.
pub use sipas_core::results::{DidUnitsRow as UnitDid, EventStudyRow as EventCoef};

/// `pretrend.csv`: joint Wald test of the pre-start coefficients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pretrend {
    /// Number of pre coefficients tested.
    pub q: u64,
    /// Numerator degrees of freedom.
    pub df1: u64,
    /// Denominator degrees of freedom (G − 1).
    pub df2: u64,
    /// Wald statistic.
    pub wald: Option<f64>,
    /// F = W / q.
    pub f: Option<f64>,
    /// p-value of F.
    pub p: Option<f64>,
    /// Wild bootstrap p-value of W.
    pub p_wild: Option<f64>,
    /// Bootstrap weights.
    pub bootstrap_weights: String,
    /// Bootstrap replicates.
    pub replicates: Option<u64>,
    /// Bootstrap seed.
    pub seed: Option<u64>,
}

/// The parts of `evaluation.json` the report shows.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct EvaluationInfo {
    /// Options of the evaluation.
    pub options: EvaluationOptionsInfo,
    /// Panel selection counts.
    pub selection: Option<SelectionInfo>,
}

/// `evaluation.json` → `options`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct EvaluationOptionsInfo {
    /// `all` | `same_kind` | `same_district`.
    pub baseline: String,
    /// `equal` | `n`.
    pub weighting: String,
}

/// `evaluation.json` → `selection`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct SelectionInfo {
    /// Pilot units in the panel.
    pub pilot_units: u64,
    /// Comparison units in the panel.
    pub baseline_units: u64,
    /// Units left out of the panel.
    pub dropped_units: u64,
    /// Cells of units outside the comparison group.
    pub dropped_cells_outside_baseline: u64,
    /// Units without a period before the pilot start (left out).
    pub dropped_units_no_pre_period: u64,
    /// Their cells.
    pub dropped_cells_no_pre_period: u64,
    /// Units of later waves of a staggered rollout (not in the first wave's comparison).
    pub dropped_units_later_wave: u64,
    /// Their cells.
    pub dropped_cells_later_wave: u64,
    /// Cells with an undefined SIPAS.
    pub dropped_cells_undefined: u64,
    /// Cells in the panel.
    pub cells: u64,
}

/// The evaluation files of a results folder; each is `None` / empty when absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// `did_twfe.csv`.
    pub twfe: Option<Twfe>,
    /// `did_units.csv`, in code order.
    pub did_units: Vec<UnitDid>,
    /// `event_study.csv`, by k.
    pub event_study: Vec<EventCoef>,
    /// `pretrend.csv`.
    pub pretrend: Option<Pretrend>,
    /// `methods.txt` (NFC, `\n` line ends).
    pub methods: Option<String>,
    /// `evaluation.json`.
    pub info: Option<EvaluationInfo>,
    /// `treatment.csv` (after a crosswalk), in code order.
    pub treatment: Vec<TreatmentRow>,
    /// The staggered rollout (`att_*.csv`, `bacon.csv`, `rollout.json`).
    pub rollout: Option<crate::rollout::Rollout>,
}

impl Evaluation {
    /// The codes of the pilot units with an effect (own TWFE row or 2×2
    /// DiD), sorted, each once.
    pub(crate) fn unit_codes(&self) -> Vec<&str> {
        let twfe_units: &[TwfeRow] = self.twfe.as_ref().map_or(&[], |t| t.units.as_slice());
        let mut codes: Vec<&str> = twfe_units
            .iter()
            .filter_map(|u| u.unit_code.as_deref())
            .chain(self.did_units.iter().map(|d| d.unit_code.as_str()))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

/// Counts of the ingest stage (`ingest-report.json` → `totals`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct IngestQuality {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows accepted into `responses.parquet`.
    pub accepted: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// Quarantined rows by reason (reason key → rows).
    pub quarantined_by_reason: BTreeMap<String, u64>,
}

/// Counts of the clean stage (`clean-report.json`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CleanQuality {
    /// Rows read from ingest.
    pub rows_in: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows excluded.
    pub excluded: u64,
    /// Excluded rows by reason.
    pub excluded_by_reason: BTreeMap<String, u64>,
    /// Kept rows carrying a flag, by flag (a row may carry several).
    #[serde(default)]
    pub flagged_by_reason: BTreeMap<String, u64>,
    /// The crosswalk, when one was applied.
    #[serde(default)]
    pub crosswalk: Option<CleanCrosswalk>,
}

/// The crosswalk part of `clean-report.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct CleanCrosswalk {
    /// First days of its steps (`YYYY-MM-DD`): the reorganisations.
    #[serde(default)]
    pub steps: Vec<String>,
}

/// Counts of the aggregate stage (`aggregate-report.json` in the results folder).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AggregateQuality {
    /// The channel used (`survey` by default); other channels are never pooled.
    pub channel: String,
    /// Rows read from the clean response table.
    pub rows_read: u64,
    /// Rows of the used channel.
    pub rows_used: u64,
    /// Rows per channel used (the survey modes pooled); absent in older reports.
    #[serde(default)]
    pub channels_used: BTreeMap<String, u64>,
    /// Rows of other channels, left out.
    pub rows_excluded_channel: u64,
    /// Left-out rows by channel.
    #[serde(default)]
    pub excluded_by_channel: BTreeMap<String, u64>,
    /// Why there is no difference-in-differences, when there is none.
    #[serde(default)]
    pub did_unavailable: Option<String>,
    /// The survey design and variance method every SE and band comes from,
    /// in words (empty in results written without a design).
    #[serde(default)]
    pub design: String,
    /// Units with data left out of the pilot / baseline comparison (no
    /// period before the start, or outside the baseline choice).
    #[serde(default)]
    pub left_out: Vec<LeftOutUnit>,
    /// The confidence level of every interval of the results (absent in
    /// results written before the level was recorded: 95 %, the only level then).
    #[serde(default)]
    pub level: sipas_core::Level,
    /// The run's headline index (absent in results written before it was recorded: SIPAS).
    #[serde(default)]
    pub headline: Option<HeadlineInfo>,
}

/// `aggregate-report.json` → `headline`: the index the unit and group tables hold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct HeadlineInfo {
    /// Its group id (`sipas`, `papi`).
    pub id: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Its scale (lowest, highest).
    pub scale: (f64, f64),
}

/// `aggregate-report.json` → `left_out[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LeftOutUnit {
    /// GSO code.
    pub unit_code: String,
    /// Whether it is a pilot unit.
    pub pilot: bool,
    /// `no_pre_period` or `outside_baseline`.
    pub reason: String,
}

impl AggregateQuality {
    /// `rows_read = rows_used + rows_excluded_channel` and
    /// `rows_excluded_channel = Σ by channel`.
    pub fn reconciles(&self) -> bool {
        self.rows_read == self.rows_used + self.rows_excluded_channel
            && self.rows_excluded_channel == self.excluded_by_channel.values().sum::<u64>()
    }
}

impl IngestQuality {
    /// `rows_read = accepted + quarantined` and `quarantined = Σ by reason`.
    pub fn reconciles(&self) -> bool {
        self.rows_read == self.accepted + self.quarantined
            && self.quarantined == self.quarantined_by_reason.values().sum::<u64>()
    }
}

impl CleanQuality {
    /// `rows_in = kept + excluded` and `excluded = Σ by reason`.
    pub fn reconciles(&self) -> bool {
        self.rows_in == self.kept + self.excluded
            && self.excluded == self.excluded_by_reason.values().sum::<u64>()
    }
}

/// The ingest, clean and aggregate reports, when found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataQuality {
    /// From `ingest-report.json`.
    pub ingest: Option<IngestQuality>,
    /// From `clean-report.json`.
    pub clean: Option<CleanQuality>,
    /// From `RESULTS/aggregate-report.json` (read by [`crate::load_results`]).
    pub aggregate: Option<AggregateQuality>,
}

/// Where the report looks for the stage reports beside the results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportOptions {
    /// `ingest-report.json` to show; must exist when given.
    pub ingest_report: Option<PathBuf>,
    /// `clean-report.json` to show; must exist when given.
    pub clean_report: Option<PathBuf>,
}

impl ReportOptions {
    /// The layout of `sipas run`: `RESULTS/../ingest/ingest-report.json` and
    /// `RESULTS/../clean/clean-report.json`, each only if the file exists.
    pub fn beside(results_dir: &Path) -> Self {
        let found = |stage: &str, file: &str| {
            let p = results_dir.join("..").join(stage).join(file);
            p.is_file().then_some(p)
        };
        ReportOptions {
            ingest_report: found("ingest", INGEST_REPORT_JSON),
            clean_report: found("clean", CLEAN_REPORT_JSON),
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the stage reports named in `options` (not the aggregate report,
/// which lives in the results folder: [`load_aggregate_quality`]).
pub fn load_quality(options: &ReportOptions) -> Result<DataQuality> {
    #[derive(Deserialize)]
    struct IngestFile {
        totals: IngestQuality,
    }
    let ingest = match &options.ingest_report {
        Some(p) => Some(read_json::<IngestFile>(p)?.totals),
        None => None,
    };
    let clean = match &options.clean_report {
        Some(p) => Some(read_json::<CleanQuality>(p)?),
        None => None,
    };
    Ok(DataQuality {
        ingest,
        clean,
        aggregate: None,
    })
}

/// Reads `dir/aggregate-report.json` when it exists.
pub fn load_aggregate_quality(dir: &Path) -> Result<Option<AggregateQuality>> {
    let p = dir.join(AGGREGATE_REPORT_JSON);
    if p.is_file() {
        read_json(&p).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads the evaluation files present in `dir`.
pub fn load_evaluation(dir: &Path) -> Result<Evaluation> {
    let present = |name: &str| {
        let p = dir.join(name);
        p.is_file().then_some(p)
    };
    let mut ev = Evaluation {
        rollout: crate::rollout::load_rollout(dir)?,
        ..Evaluation::default()
    };
    if present(DID_TWFE_CSV).is_some() {
        ev.twfe = Some(read_twfe(dir)?);
    }
    if present(DID_UNITS_CSV).is_some() {
        ev.did_units = read_did_units(dir)?;
    }
    if present(EVENT_STUDY_CSV).is_some() {
        ev.event_study = read_event_study(dir)?;
    }
    if present(PRETREND_CSV).is_some() {
        ev.pretrend = read_pretrend(dir)?;
    }
    if let Some(p) = present(METHODS_TXT) {
        let text = std::fs::read_to_string(&p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
        let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
        ev.methods = Some(sipas_core::text::nfc(&text));
    }
    if let Some(p) = present(EVALUATION_JSON) {
        ev.info = Some(read_json(&p)?);
    }
    if let Some(p) = present(TREATMENT_CSV) {
        let mut t = Table::open(dir, &contract::TREATMENT)?;
        let [code, x, olds, pilots] =
            ["unit_code", "intensity", "old_units", "pilot_old_units"].map(|n| t.col(n));
        let (code, x, olds, pilots) = (code?, x?, olds?, pilots?);
        let (names, basis) = (t.col("old_unit_names").ok(), t.col("intensity_basis").ok());
        for r in t.rows()? {
            ev.treatment.push(TreatmentRow {
                unit_code: r.text(code).to_string(),
                intensity: r.opt_f64(&p, x)?,
                old_units: r.text(olds).to_string(),
                pilot_old_units: r.text(pilots).to_string(),
                old_unit_names: names.map(|c| r.text(c).to_string()).unwrap_or_default(),
                intensity_basis: basis.map(|c| r.text(c).to_string()).unwrap_or_default(),
            });
        }
        ev.treatment.sort_by(|a, b| a.unit_code.cmp(&b.unit_code));
    }
    Ok(ev)
}

fn read_twfe(dir: &Path) -> Result<Twfe> {
    let mut t = Table::open(dir, &contract::DID_TWFE)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let scope = t.col("scope")?;
    let code = t.col("unit_code")?;
    let [est, se, lo, hi, p, p_wild, lo_wild, hi_wild] = [
        "estimate", "se_cr1", "lo_cr1", "hi_cr1", "p_cr1", "p_wild", "lo_wild", "hi_wild",
    ]
    .map(|n| t.col(n));
    let (est, se, lo, hi, p) = (est?, se?, lo?, hi?, p?);
    let (p_wild, lo_wild, hi_wild) = (p_wild?, lo_wild?, hi_wild?);
    let n_clusters = t.col("n_clusters")?;
    let n_treated = t.col("n_treated")?;
    let n_obs = t.col("n_obs")?;
    let weights = t.col("bootstrap_weights")?;
    let replicates = t.col("replicates")?;
    let seed = t.col("seed")?;
    let mut overall = None;
    let mut units = Vec::new();
    let mut treatments = Vec::new();
    for r in t.rows()? {
        let row = TwfeRow {
            unit_code: Some(r.text(code).to_string()).filter(|c| !c.is_empty()),
            estimate: r.opt_f64(path, est)?,
            se: r.opt_f64(path, se)?,
            lo: r.opt_f64(path, lo)?,
            hi: r.opt_f64(path, hi)?,
            p: r.opt_f64(path, p)?,
            p_wild: r.opt_f64(path, p_wild)?,
            lo_wild: r.opt_f64(path, lo_wild)?,
            hi_wild: r.opt_f64(path, hi_wild)?,
            n_clusters: opt_count(&r, path, n_clusters)?,
            n_treated: opt_count(&r, path, n_treated)?,
            n_obs: opt_count(&r, path, n_obs)?,
            bootstrap_weights: r.text(weights).to_string(),
            replicates: opt_count(&r, path, replicates)?,
            seed: opt_count(&r, path, seed)?,
        };
        match r.text(scope) {
            "overall" if overall.is_none() => overall = Some(row),
            "overall" => return Err(r.bad(path, scope, "a second overall row")),
            "unit" if row.unit_code.is_some() => units.push(row),
            "unit" => return Err(r.bad(path, code, "a unit row without a unit code")),
            // The DiD on today's units under each treatment definition
            // (`unit_code` holds the definition): listed in methods.txt.
            "treatment" if row.unit_code.is_some() => treatments.push(row),
            s => return Err(r.bad(path, scope, format!("`{s}` is not overall or unit"))),
        }
    }
    let overall = overall.ok_or_else(|| Error::Inconsistent {
        path: path.to_path_buf(),
        message: "no overall row".into(),
    })?;
    units.sort_by(|a, b| a.unit_code.cmp(&b.unit_code));
    Ok(Twfe {
        overall,
        units,
        treatments,
    })
}

fn read_did_units(dir: &Path) -> Result<Vec<UnitDid>> {
    let mut t = Table::open(dir, &contract::DID_UNITS)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let code = t.col("unit_code")?;
    let [pp, pq, bp, bq, est, se, lo, hi] = [
        "pilot_pre",
        "pilot_post",
        "baseline_pre",
        "baseline_post",
        "estimate",
        "se",
        "lo",
        "hi",
    ]
    .map(|n| t.col(n));
    let (pp, pq, bp, bq) = (pp?, pq?, bp?, bq?);
    let (est, se, lo, hi) = (est?, se?, lo?, hi?);
    let mut out = Vec::new();
    for r in t.rows()? {
        out.push(UnitDid {
            unit_code: r.text(code).to_string(),
            pilot_pre: r.opt_f64(path, pp)?,
            pilot_post: r.opt_f64(path, pq)?,
            baseline_pre: r.opt_f64(path, bp)?,
            baseline_post: r.opt_f64(path, bq)?,
            estimate: r.opt_f64(path, est)?,
            se: r.opt_f64(path, se)?,
            lo: r.opt_f64(path, lo)?,
            hi: r.opt_f64(path, hi)?,
        });
    }
    out.sort_by(|a, b| a.unit_code.cmp(&b.unit_code));
    Ok(out)
}

fn read_event_study(dir: &Path) -> Result<Vec<EventCoef>> {
    let mut t = Table::open(dir, &contract::EVENT_STUDY)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let k = t.col("k")?;
    let period = t.col("period")?;
    let [est, se, lo, hi, p] = ["estimate", "se", "lo", "hi", "p"].map(|n| t.col(n));
    let (est, se, lo, hi, p) = (est?, se?, lo?, hi?, p?);
    let mut out: Vec<EventCoef> = Vec::new();
    for r in t.rows()? {
        let kv: i64 = r
            .text(k)
            .parse()
            .map_err(|_| r.bad(path, k, format!("`{}` is not an integer", r.text(k))))?;
        if out.iter().any(|c| c.k == kv) {
            return Err(r.bad(path, k, format!("k = {kv} appears twice")));
        }
        out.push(EventCoef {
            k: kv,
            period: r.period(path, period)?,
            estimate: r.opt_f64(path, est)?,
            se: r.opt_f64(path, se)?,
            lo: r.opt_f64(path, lo)?,
            hi: r.opt_f64(path, hi)?,
            p: r.opt_f64(path, p)?,
        });
    }
    out.sort_by_key(|c| c.k);
    Ok(out)
}

/// `pretrend.csv`: one row, or none when there is no pre-period to test
/// (only the reference period before the start).
fn read_pretrend(dir: &Path) -> Result<Option<Pretrend>> {
    let mut t = Table::open(dir, &contract::PRETREND)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let [q, df1, df2] = ["q", "df1", "df2"].map(|n| t.col(n));
    let (q, df1, df2) = (q?, df1?, df2?);
    let [wald, f, p, p_wild] = ["wald", "f", "p", "p_wild"].map(|n| t.col(n));
    let (wald, f, p, p_wild) = (wald?, f?, p?, p_wild?);
    let weights = t.col("bootstrap_weights")?;
    let replicates = t.col("replicates")?;
    let seed = t.col("seed")?;
    let rows = t.rows()?;
    let r = match rows.as_slice() {
        [] => return Ok(None),
        [r] => r,
        _ => {
            return Err(Error::Inconsistent {
                path: path.to_path_buf(),
                message: format!("expected at most one row, found {}", rows.len()),
            });
        }
    };
    Ok(Some(Pretrend {
        q: r.count(path, q)?,
        df1: r.count(path, df1)?,
        df2: r.count(path, df2)?,
        wald: r.opt_f64(path, wald)?,
        f: r.opt_f64(path, f)?,
        p: r.opt_f64(path, p)?,
        p_wild: r.opt_f64(path, p_wild)?,
        bootstrap_weights: r.text(weights).to_string(),
        replicates: opt_count(r, path, replicates)?,
        seed: opt_count(r, path, seed)?,
    }))
}

#[cfg(test)]
mod named_tests {
    use super::{TreatmentRow, named_old_units};

    #[test]
    fn old_units_carry_their_names_where_given() {
        let t = TreatmentRow {
            unit_code: "05528".into(),
            intensity: Some(0.5),
            old_units: "05506|05527|05528".into(),
            pilot_old_units: "05506|05527".into(),
            old_unit_names: "Phường Lương Sơn|Xã Tân Quang|Phường Bách Quang".into(),
            intensity_basis: "responses".into(),
        };
        let n = named_old_units(&t);
        assert_eq!(
            n.all,
            [
                "05506 Phường Lương Sơn",
                "05527 Xã Tân Quang",
                "05528 Phường Bách Quang"
            ]
        );
        assert_eq!(n.pilots, ["05506 Phường Lương Sơn", "05527 Xã Tân Quang"]);
        // A file without names (or with a count that does not match): codes only.
        let bare = TreatmentRow {
            old_unit_names: String::new(),
            ..t.clone()
        };
        assert_eq!(named_old_units(&bare).all, ["05506", "05527", "05528"]);
        let short = TreatmentRow {
            old_unit_names: "Phường Lương Sơn".into(),
            ..t
        };
        assert_eq!(named_old_units(&short).pilots, ["05506", "05527"]);
    }
}
