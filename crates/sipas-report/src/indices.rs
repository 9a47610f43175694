//! The headline indices (`indices.csv`): each index's pooled pilot and baseline trends (its
//! `group` rows of `estimates.csv`), its DiD and TWFE estimates, and the commune PAR ranking
//! (`par_ranking.csv`). A results folder without these files has no index section.

use std::collections::BTreeMap;
use std::path::Path;

use sipas_core::Period;
use sipas_core::results as contract;
use sipas_core::text::nfc;

use crate::Result;
use crate::results::Estimate;
use crate::table::{Table, opt_count};

/// One headline index with its trends.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexResults {
    /// Id (`papi_participation`).
    pub id: String,
    /// Vietnamese name (NFC).
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Its scale.
    pub bounds: (f64, f64),
    /// 2×2 DiD with its interval.
    pub did: (Option<f64>, Option<f64>, Option<f64>),
    /// TWFE DiD with its interval.
    pub twfe: (Option<f64>, Option<f64>, Option<f64>),
    /// Wild cluster bootstrap p of the TWFE estimate.
    pub p_wild: Option<f64>,
    /// Joint pre-trend test p.
    pub pretrend_p: Option<f64>,
    /// What its intervals carry (`survey`, `survey part only`).
    pub uncertainty: String,
    /// The 2×2 DiD's quadrants: pilot before, pilot from the start, baseline before, baseline
    /// from the start.
    pub quadrants: [Option<f64>; 4],
    /// Its staggered rollout (Callaway–Sant'Anna rows of `att_*.csv` with its id), when the
    /// results have one.
    pub rollout: Option<crate::rollout::Rollout>,
    /// Pooled pilot units by period (`estimates.csv`, domain `pilot`).
    pub pilot: BTreeMap<Period, Estimate>,
    /// Pooled baseline units by period.
    pub baseline: BTreeMap<Period, Estimate>,
}

/// A row of `par_ranking.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// Period.
    pub period: Period,
    /// 1 = highest total.
    pub rank: u64,
    /// Unit code.
    pub unit_code: String,
    /// Unit name (NFC).
    pub unit_name: String,
    /// Pilot unit.
    pub pilot: bool,
    /// Total, interval.
    pub total: Estimate,
    /// Rank interval.
    pub rank_lo: Option<u64>,
    /// …
    pub rank_hi: Option<u64>,
}

/// Reads `indices.csv`, the indices' group rows of `estimates.csv` and `par_ranking.csv`
/// (each absent file: nothing).
///
/// # Errors
/// A file that is present but malformed.
pub fn load_indices(dir: &Path) -> Result<(Vec<IndexResults>, Vec<RankRow>)> {
    if !dir.join(contract::INDICES.file).exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut t = Table::open(dir, &contract::INDICES)?;
    let path = t.path.clone();
    let c = t.cols([
        "index",
        "name_vi",
        "name_en",
        "scale_lo",
        "scale_hi",
        "did",
        "did_lo",
        "did_hi",
        "twfe",
        "twfe_lo",
        "twfe_hi",
        "p_wild",
        "pretrend_p",
        "uncertainty",
        "pilot_pre",
        "pilot_post",
        "baseline_pre",
        "baseline_post",
    ])?;
    let mut out = Vec::new();
    for row in t.rows()? {
        let f = |k: usize| row.opt_f64(&path, c[k]);
        out.push(IndexResults {
            id: row.text(c[0]).to_string(),
            name_vi: nfc(row.text(c[1])),
            name_en: nfc(row.text(c[2])),
            bounds: (f(3)?.unwrap_or(0.0), f(4)?.unwrap_or(100.0)),
            did: (f(5)?, f(6)?, f(7)?),
            twfe: (f(8)?, f(9)?, f(10)?),
            p_wild: f(11)?,
            pretrend_p: f(12)?,
            uncertainty: row.text(c[13]).to_string(),
            quadrants: [f(14)?, f(15)?, f(16)?, f(17)?],
            ..IndexResults::default()
        });
    }
    for i in &mut out {
        i.rollout = crate::rollout::load_rollout_of(dir, Some(&i.id))?
            .filter(|r| !r.event.is_empty() || r.overall.is_some());
    }
    if !out.is_empty() && dir.join(contract::ESTIMATES.file).exists() {
        let mut t = Table::open(dir, &contract::ESTIMATES)?;
        let path = t.path.clone();
        let [dt, dom, per, ind, n, val, se, lo, hi, method] = t.cols([
            "domain_type",
            "domain",
            "period",
            "indicator",
            "n",
            "value",
            "se",
            "lo",
            "hi",
            "ci_method",
        ])?;
        let at: BTreeMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        for row in t.rows()? {
            if row.text(dt) != "group" || row.text(method) != "normal" {
                continue;
            }
            let Some(&i) = at.get(row.text(ind)) else {
                continue;
            };
            let e = Estimate {
                n: opt_count(&row, &path, n)?.unwrap_or(0),
                sipas: row.opt_f64(&path, val)?,
                se: row.opt_f64(&path, se)?,
                lo: row.opt_f64(&path, lo)?,
                hi: row.opt_f64(&path, hi)?,
            };
            let p = row.period(&path, per)?;
            match row.text(dom) {
                "pilot" => out[i].pilot.insert(p, e),
                "baseline" => out[i].baseline.insert(p, e),
                _ => None,
            };
        }
    }
    let mut ranks = Vec::new();
    if dir.join(contract::PAR_RANKING.file).exists() {
        let mut t = Table::open(dir, &contract::PAR_RANKING)?;
        let path = t.path.clone();
        let c = t.cols([
            "period",
            "rank",
            "unit_code",
            "unit_name",
            "pilot",
            "par_total",
            "se",
            "lo",
            "hi",
            "rank_lo",
            "rank_hi",
        ])?;
        for row in t.rows()? {
            ranks.push(RankRow {
                period: row.period(&path, c[0])?,
                rank: row.count(&path, c[1])?,
                unit_code: row.text(c[2]).to_string(),
                unit_name: nfc(row.text(c[3])),
                pilot: row.flag(&path, c[4])?,
                total: Estimate {
                    n: 0,
                    sipas: row.opt_f64(&path, c[5])?,
                    se: row.opt_f64(&path, c[6])?,
                    lo: row.opt_f64(&path, c[7])?,
                    hi: row.opt_f64(&path, c[8])?,
                },
                rank_lo: opt_count(&row, &path, c[9])?,
                rank_hi: opt_count(&row, &path, c[10])?,
            });
        }
    }
    Ok((out, ranks))
}
