//! The results tables written by `sipas aggregate`, read back with the `csv` crate.

use std::collections::BTreeMap;
use std::path::Path;

use sipas_core::Period;
use sipas_core::results as contract;
use sipas_core::text::nfc;

use crate::evaluation::{
    DataQuality, Evaluation, ReportOptions, load_aggregate_quality, load_evaluation, load_quality,
};
use crate::table::{Col, Row, Table};
use crate::{Error, Result};

/// File names inside a results directory (the results contract, [`sipas_core::results`]).
pub const UNIT_PERIOD_CSV: &str = contract::UNIT_PERIOD.file;
/// Pooled pilot / baseline estimates per period.
pub const GROUPS_CSV: &str = contract::GROUPS.file;
/// The difference-in-differences estimate (one row).
pub const DID_CSV: &str = contract::DID.file;

/// One SIPAS estimate of a cell (a unit or a group in a period); `None` = undefined.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    /// Number of responses.
    pub n: u64,
    /// SIPAS, 0–100.
    pub sipas: Option<f64>,
    /// Linearized standard error.
    pub se: Option<f64>,
    /// Lower bound of the interval, at the results' level.
    pub lo: Option<f64>,
    /// Upper bound of the interval.
    pub hi: Option<f64>,
}

/// A unit's estimates over time, with its display names (NFC).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitResults {
    /// 5-digit GSO code.
    pub code: String,
    /// Full name with prefix, e.g. "Phường Trưng Vương".
    pub name: String,
    /// District name.
    pub district: String,
    /// `xa` | `phuong` | `thi_tran`.
    pub kind: String,
    /// Whether the results mark the unit as a pilot unit.
    pub pilot: bool,
    /// Estimates by period.
    pub by_period: BTreeMap<Period, Estimate>,
}

/// The difference-in-differences row of `did.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Did {
    /// Change in pilot units minus change in the baseline, in percentage points.
    pub estimate: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// Lower bound of the interval, at the results' level.
    pub lo: Option<f64>,
    /// Upper bound of the interval.
    pub hi: Option<f64>,
    /// Mean pilot SIPAS before the start.
    pub pilot_pre: Option<f64>,
    /// Mean pilot SIPAS from the start on.
    pub pilot_post: Option<f64>,
    /// Mean baseline SIPAS before the start.
    pub baseline_pre: Option<f64>,
    /// Mean baseline SIPAS from the start on.
    pub baseline_post: Option<f64>,
    /// First pilot period as recorded by aggregate.
    pub pilot_start: Option<Period>,
}

/// Everything the report needs from a results directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Every period from the first to the last seen, in order (gaps filled, so
    /// a period without data shows as a gap).
    pub periods: Vec<Period>,
    /// Units by GSO code.
    pub units: BTreeMap<String, UnitResults>,
    /// Pooled estimate of the pilot units (`groups.csv`, group = pilot).
    pub pilot_group: BTreeMap<Period, Estimate>,
    /// Pooled estimate of the non-pilot units (`groups.csv`, group = baseline).
    pub baseline: BTreeMap<Period, Estimate>,
    /// The 2×2 DiD estimate; `None` when `did.csv` has no row (the data
    /// could not give one, e.g. a single survey round).
    pub did: Option<Did>,
    /// Element and part columns of `groups.csv` (after `sipas_hi`), in file order.
    pub group_columns: Vec<String>,
    /// Pooled pilot values of [`Results::group_columns`] by period.
    pub pilot_parts: BTreeMap<Period, Vec<Option<f64>>>,
    /// Pooled baseline values of [`Results::group_columns`] by period.
    pub baseline_parts: BTreeMap<Period, Vec<Option<f64>>>,
    /// The pilot evaluation files, each optional (older results folders lack them).
    pub evaluation: Evaluation,
    /// The ingest and clean reports beside the results folder and the
    /// aggregate report in it, when found.
    pub quality: DataQuality,
    /// SIPAS by survey mode and the differences between modes (`modes.csv`);
    /// empty with one mode.
    pub modes: Vec<crate::modes::ModeRow>,
    /// The headline indices other than the run's own (`indices.csv`), each with its pooled
    /// trends; empty without the file.
    pub indices: Vec<crate::indices::IndexResults>,
    /// The commune PAR ranking (`par_ranking.csv`); empty without a PAR index.
    pub par_ranking: Vec<crate::indices::RankRow>,
}

impl Results {
    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Result<&UnitResults> {
        self.units
            .get(code)
            .ok_or_else(|| Error::UnknownUnit(code.to_string()))
    }

    /// Number of units in the baseline group: the non-pilot units less those
    /// `aggregate-report.json` lists as left out of the comparison.
    pub fn baseline_unit_count(&self) -> usize {
        // Non-pilot units the aggregate left out of the comparison
        // (`sipas_aggregate::arms`) are not in the baseline's pool.
        let left_out = self.quality.aggregate.as_ref().map_or(0, |a| {
            a.left_out
                .iter()
                .filter(|u| !u.pilot && self.units.contains_key(&u.unit_code))
                .count()
        });
        self.units.values().filter(|u| !u.pilot).count() - left_out
    }

    /// The confidence level every interval of these results was computed at
    /// (`aggregate-report.json`; 95 % without it): the report's labels say it.
    pub fn level(&self) -> sipas_core::Level {
        self.quality
            .aggregate
            .as_ref()
            .map(|a| a.level)
            .unwrap_or_default()
    }

    /// The labels of `lang` for these results: at their confidence level, naming their
    /// headline index where the labels name SIPAS when it is another index
    /// ([`crate::Lang::labels_for`]).
    pub fn labels(&self, lang: crate::Lang) -> &'static crate::labels::Labels {
        let h = self
            .quality
            .aggregate
            .as_ref()
            .and_then(|a| a.headline.as_ref())
            .filter(|h| h.id != "sipas");
        let Some(h) = h else {
            return lang.labels_at(self.level());
        };
        let name = match lang {
            crate::Lang::Vi => &h.name_vi,
            crate::Lang::En => &h.name_en,
        };
        let scale = crate::spec::scale_text(h.scale);
        lang.labels_for(self.level(), Some((name.as_str(), scale.as_str())))
    }

    /// Codes of the units the results mark as pilot units, in code order.
    pub fn pilot_codes(&self) -> Vec<&str> {
        self.units
            .values()
            .filter(|u| u.pilot)
            .map(|u| u.code.as_str())
            .collect()
    }
}

/// Reads `unit_period.csv`, `groups.csv` and `did.csv` from a results directory,
/// and the evaluation files (`did_twfe.csv`, `did_units.csv`, `event_study.csv`,
/// `pretrend.csv`, `methods.txt`, `evaluation.json`) that are present.
/// [`Results::quality`] holds only `aggregate-report.json` (when present in
/// `dir`); the ingest and clean reports beside it: see [`load_results_with`].
pub fn load_results(dir: &Path) -> Result<Results> {
    let units = read_unit_period(dir)?;
    let groups_path = dir.join(GROUPS_CSV);
    let groups = read_groups(dir)?;
    let (pilot_group, baseline) = (groups.pilot, groups.baseline);
    let did = read_did(dir)?;
    let (indices, par_ranking) = crate::indices::load_indices(dir)?;

    let mut seen: Vec<Period> = units
        .values()
        .flat_map(|u| u.by_period.keys().copied())
        .chain(pilot_group.keys().copied())
        .chain(baseline.keys().copied())
        .collect();
    seen.sort();
    seen.dedup();
    let periods = match (seen.first(), seen.last()) {
        (Some(&first), Some(&last)) => {
            if let Some(odd) = seen.iter().find(|p| p.granularity() != first.granularity()) {
                return Err(Error::Inconsistent {
                    path: groups_path,
                    message: format!("periods mix granularities ({first} and {odd})"),
                });
            }
            first.range_to(last)
        }
        _ => Vec::new(),
    };
    Ok(Results {
        periods,
        units,
        pilot_group,
        baseline,
        did,
        group_columns: groups.columns,
        pilot_parts: groups.pilot_parts,
        baseline_parts: groups.baseline_parts,
        evaluation: load_evaluation(dir)?,
        quality: DataQuality {
            aggregate: load_aggregate_quality(dir)?,
            ..DataQuality::default()
        },
        modes: crate::modes::load_modes(dir)?,
        indices,
        par_ranking,
    })
}

/// [`load_results`], plus the ingest and clean reports named in `options`
/// (into [`Results::quality`]).
pub fn load_results_with(dir: &Path, options: &ReportOptions) -> Result<Results> {
    let mut results = load_results(dir)?;
    let aggregate = results.quality.aggregate.take();
    results.quality = load_quality(options)?;
    results.quality.aggregate = aggregate;
    Ok(results)
}

/// The estimate columns shared by `unit_period.csv` and `groups.csv`.
struct EstimateCols {
    n: Col,
    sipas: Col,
    se: Col,
    lo: Col,
    hi: Col,
}

impl EstimateCols {
    fn find(t: &Table) -> Result<Self> {
        Ok(EstimateCols {
            n: t.col("n")?,
            sipas: t.col("sipas")?,
            se: t.col("sipas_se")?,
            lo: t.col("sipas_lo")?,
            hi: t.col("sipas_hi")?,
        })
    }

    fn read(&self, path: &Path, row: &Row) -> Result<Estimate> {
        let est = Estimate {
            n: row.count(path, self.n)?,
            sipas: row.opt_f64(path, self.sipas)?,
            se: row.opt_f64(path, self.se)?,
            lo: row.opt_f64(path, self.lo)?,
            hi: row.opt_f64(path, self.hi)?,
        };
        for (v, col) in [
            (est.sipas, self.sipas),
            (est.lo, self.lo),
            (est.hi, self.hi),
        ] {
            if let Some(v) = v
                && !(0.0..=100.0).contains(&v)
            {
                return Err(row.bad(path, col, format!("{v} is outside 0–100")));
            }
        }
        if let (Some(lo), Some(hi)) = (est.lo, est.hi)
            && lo > hi
        {
            return Err(row.bad(
                path,
                self.hi,
                format!("upper bound {hi} is below lower bound {lo}"),
            ));
        }
        Ok(est)
    }
}

fn read_unit_period(dir: &Path) -> Result<BTreeMap<String, UnitResults>> {
    let mut t = Table::open(dir, &contract::UNIT_PERIOD)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let code = t.col("unit_code")?;
    let name = t.col("unit_name")?;
    let district = t.col("district")?;
    let kind = t.col("kind")?;
    let pilot = t.col("pilot")?;
    let period = t.col("period")?;
    let est_cols = EstimateCols::find(&t)?;
    let mut units: BTreeMap<String, UnitResults> = BTreeMap::new();
    for row in t.rows()? {
        let c = row.text(code).to_string();
        if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(row.bad(path, code, format!("`{c}` is not a 5-digit GSO code")));
        }
        let p = row.period(path, period)?;
        let est = est_cols.read(path, &row)?;
        let is_pilot = row.flag(path, pilot)?;
        let unit = units.entry(c.clone()).or_insert_with(|| UnitResults {
            code: c.clone(),
            name: nfc(row.text(name)),
            district: nfc(row.text(district)),
            kind: row.text(kind).to_string(),
            pilot: is_pilot,
            by_period: BTreeMap::new(),
        });
        if unit.pilot != is_pilot {
            return Err(row.bad(path, pilot, format!("unit {c} changes its pilot flag")));
        }
        if unit.by_period.insert(p, est).is_some() {
            return Err(row.bad(path, period, format!("unit {c} has period {p} twice")));
        }
    }
    Ok(units)
}

/// The contents of `groups.csv`.
struct Groups {
    pilot: BTreeMap<Period, Estimate>,
    baseline: BTreeMap<Period, Estimate>,
    columns: Vec<String>,
    pilot_parts: BTreeMap<Period, Vec<Option<f64>>>,
    baseline_parts: BTreeMap<Period, Vec<Option<f64>>>,
}

fn read_groups(dir: &Path) -> Result<Groups> {
    let mut t = Table::open(dir, &contract::GROUPS)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let period = t.col("period")?;
    let group = t.col("group")?;
    let est_cols = EstimateCols::find(&t)?;
    let first_part = est_cols.hi.index + 1;
    let columns: Vec<String> = t
        .header
        .iter()
        .skip(first_part)
        .map(|h| h.trim().to_string())
        .collect();
    let mut g = Groups {
        pilot: BTreeMap::new(),
        baseline: BTreeMap::new(),
        columns,
        pilot_parts: BTreeMap::new(),
        baseline_parts: BTreeMap::new(),
    };
    for row in t.rows()? {
        let p = row.period(path, period)?;
        let est = est_cols.read(path, &row)?;
        let (target, parts) = match row.text(group) {
            "pilot" => (&mut g.pilot, &mut g.pilot_parts),
            "baseline" => (&mut g.baseline, &mut g.baseline_parts),
            other => {
                return Err(row.bad(path, group, format!("`{other}` is not pilot or baseline")));
            }
        };
        if target.insert(p, est).is_some() {
            return Err(row.bad(path, period, format!("period {p} appears twice")));
        }
        let mut values = Vec::with_capacity(g.columns.len());
        for (i, name) in g.columns.iter().enumerate() {
            let col = Col {
                index: first_part + i,
                name: "",
            };
            let v = row.opt_f64(path, col).map_err(|_| Error::Field {
                path: path.to_path_buf(),
                line: row.line,
                column: name.clone(),
                reason: format!("`{}` is not a finite number", row.text(col)),
            })?;
            values.push(v);
        }
        parts.insert(p, values);
    }
    Ok(g)
}

/// `did.csv`: one row, or none when the data could not give a DiD (a single
/// round, no period before the start…; aggregate-report.json says why).
fn read_did(dir: &Path) -> Result<Option<Did>> {
    let mut t = Table::open(dir, &contract::DID)?;
    let path = &t.path.clone();
    let path = path.as_path();
    let [
        estimate,
        se,
        lo,
        hi,
        pilot_pre,
        pilot_post,
        baseline_pre,
        baseline_post,
    ] = t.cols([
        "estimate",
        "se",
        "lo",
        "hi",
        "pilot_pre",
        "pilot_post",
        "baseline_pre",
        "baseline_post",
    ])?;
    let start = t.col("pilot_start")?;
    let rows = t.rows()?;
    let row = match rows.as_slice() {
        [] => return Ok(None),
        [row] => row,
        _ => {
            return Err(Error::Inconsistent {
                path: path.to_path_buf(),
                message: format!("expected at most one row, found {}", rows.len()),
            });
        }
    };
    Ok(Some(Did {
        estimate: row.opt_f64(path, estimate)?,
        se: row.opt_f64(path, se)?,
        lo: row.opt_f64(path, lo)?,
        hi: row.opt_f64(path, hi)?,
        pilot_pre: row.opt_f64(path, pilot_pre)?,
        pilot_post: row.opt_f64(path, pilot_post)?,
        baseline_pre: row.opt_f64(path, baseline_pre)?,
        baseline_post: row.opt_f64(path, baseline_post)?,
        pilot_start: row.opt_period(path, start)?,
    }))
}
