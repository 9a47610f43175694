//! The staggered rollout in the report: the Callaway–Sant'Anna tables of the results folder
//! (`att_gt.csv`, `att_event.csv`, `att_overall.csv`, `bacon.csv`, `rollout.json`) read back, and
//! the event-study chart with one line per wave and the pooled line with its band
//! ([`RolloutSpec`], drawn by [`crate::render::render_rollout_spec`]).

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use sipas_core::Period;
use sipas_core::results as contract;

use crate::labels::{Lang, fill};
use crate::spec::{effect_range, k_label};
use crate::table::Table;
use crate::{Error, Result};

/// `rollout.json`: the estimator and its options.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct RolloutInfo {
    /// `callaway-santanna`.
    pub estimator: String,
    /// `never` or `not-yet`.
    pub control: String,
    /// `varying` or `universal`.
    pub base: String,
    /// Whether the cells' design variance is in the SEs.
    pub design_variance: bool,
    /// The waves' starts, in order.
    pub waves: Vec<String>,
}

/// An effect with its pointwise interval.
#[derive(Debug, Clone, PartialEq)]
pub struct AttRow {
    /// The wave's start (`att_gt.csv`; empty for a pooled row).
    pub group: String,
    /// Periods since the start.
    pub exposure: i64,
    /// The effect.
    pub att: f64,
    /// Its pointwise interval, when it has an SE.
    pub ci: Option<(f64, f64)>,
}

/// The staggered rollout of a results folder (its first index: SIPAS for `sipas aggregate`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rollout {
    /// `rollout.json` (default when absent).
    pub info: RolloutInfo,
    /// Every ATT(g, t) with a parsable group and period, by group then exposure.
    pub gt: Vec<AttRow>,
    /// `att_event.csv`: the pooled effect by exposure.
    pub event: Vec<AttRow>,
    /// `att_overall.csv`, aggregation `simple`: the headline.
    pub overall: Option<AttRow>,
    /// `bacon.csv`: the TWFE estimate and its weight on forbidden comparisons.
    pub twfe: Option<(f64, f64)>,
}

impl Rollout {
    /// The waves (distinct groups of `att_gt.csv`), in order.
    pub fn waves(&self) -> Vec<&str> {
        let mut w: Vec<&str> = self.gt.iter().map(|r| r.group.as_str()).collect();
        w.dedup();
        w
    }
}

/// Reads the staggered rollout of `dir` (its first index); `None` when `att_gt.csv` is absent.
pub fn load_rollout(dir: &Path) -> Result<Option<Rollout>> {
    load_rollout_of(dir, None)
}

/// Reads the staggered rollout of index `wanted` (`None`: the first index of `att_gt.csv`) from
/// `dir`; `None` when `att_gt.csv` is absent. An index without rows gives an empty rollout.
pub fn load_rollout_of(dir: &Path, wanted: Option<&str>) -> Result<Option<Rollout>> {
    if !dir.join(contract::ATT_GT.file).is_file() {
        return Ok(None);
    }
    let mut r = Rollout::default();
    let json = dir.join(contract::ROLLOUT_JSON.file);
    if json.is_file() {
        let text = std::fs::read_to_string(&json).map_err(|source| Error::Io {
            path: json.clone(),
            source,
        })?;
        r.info = serde_json::from_str(&text).map_err(|e| Error::Inconsistent {
            path: json.clone(),
            message: e.to_string(),
        })?;
    }
    let mut first_index: Option<String> = wanted.map(str::to_string);
    // ATT(g, t): the exposure is t − g in periods.
    let mut t = Table::open(dir, &contract::ATT_GT)?;
    let path = t.path.clone();
    let [index, group, period, att, lo, hi] =
        ["index", "group", "period", "att", "ci_low", "ci_high"].map(|n| t.col(n));
    let (index, group, period, att, lo, hi) = (index?, group?, period?, att?, lo?, hi?);
    for row in t.rows()? {
        let i = row.text(index).to_string();
        if first_index.get_or_insert_with(|| i.clone()) != &i {
            continue;
        }
        let (Ok(g), Ok(p)) = (
            row.text(group).parse::<Period>(),
            row.text(period).parse::<Period>(),
        ) else {
            continue;
        };
        if g.granularity() != p.granularity() {
            continue;
        }
        let Some(a) = row.opt_f64(&path, att)? else {
            continue;
        };
        let ci = row.opt_f64(&path, lo)?.zip(row.opt_f64(&path, hi)?);
        r.gt.push(AttRow {
            group: g.to_string(),
            exposure: p.index() - g.index(),
            att: a,
            ci,
        });
    }
    let Some(first_index) = first_index else {
        return Ok(Some(r));
    };
    let mut t = Table::open(dir, &contract::ATT_EVENT)?;
    let path = t.path.clone();
    let [index, exposure, att, lo, hi] =
        ["index", "exposure", "att", "ci_low", "ci_high"].map(|n| t.col(n));
    let (index, exposure, att, lo, hi) = (index?, exposure?, att?, lo?, hi?);
    for row in t.rows()? {
        if row.text(index) != first_index {
            continue;
        }
        let e = row.text(exposure);
        let e: i64 = e
            .parse()
            .map_err(|_| row.bad(&path, exposure, format!("`{e}` is not an exposure")))?;
        if let Some(a) = row.opt_f64(&path, att)? {
            r.event.push(AttRow {
                group: String::new(),
                exposure: e,
                att: a,
                ci: row.opt_f64(&path, lo)?.zip(row.opt_f64(&path, hi)?),
            });
        }
    }
    let mut t = Table::open(dir, &contract::ATT_OVERALL)?;
    let path = t.path.clone();
    let [index, aggregation, att, lo, hi] =
        ["index", "aggregation", "att", "ci_low", "ci_high"].map(|n| t.col(n));
    let (index, aggregation, att, lo, hi) = (index?, aggregation?, att?, lo?, hi?);
    for row in t.rows()? {
        if row.text(index) == first_index && row.text(aggregation) == "simple" {
            r.overall = row.opt_f64(&path, att)?.map(|a| AttRow {
                group: String::new(),
                exposure: 0,
                att: a,
                ci: None,
            });
            if let Some(o) = &mut r.overall {
                o.ci = row.opt_f64(&path, lo)?.zip(row.opt_f64(&path, hi)?);
            }
        }
    }
    if dir.join(contract::BACON.file).is_file() {
        let mut t = Table::open(dir, &contract::BACON)?;
        let path = t.path.clone();
        let [index, comparison, estimate, weight, forbidden] =
            ["index", "comparison", "estimate", "weight", "forbidden"].map(|n| t.col(n));
        let (index, comparison, estimate, weight, forbidden) =
            (index?, comparison?, estimate?, weight?, forbidden?);
        let (mut twfe, mut w_forbidden) = (None, 0.0);
        for row in t.rows()? {
            if row.text(index) != first_index {
                continue;
            }
            if row.text(comparison) == "twfe" {
                twfe = row.opt_f64(&path, estimate)?;
            } else if row.flag(&path, forbidden)? {
                w_forbidden += row.opt_f64(&path, weight)?.unwrap_or(0.0);
            }
        }
        r.twfe = twfe.map(|t| (t, w_forbidden));
    }
    Ok(Some(r))
}

/// A point of the pooled line: exposure, effect, pointwise interval.
pub type PooledPoint = (i64, f64, Option<(f64, f64)>);

/// One wave's line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveLine {
    /// Its legend (`Wave starting 2025Q1`).
    pub label: String,
    /// (exposure, ATT) in order of exposure.
    pub points: Vec<(i64, f64)>,
}

/// What the rollout chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSpec {
    /// Chart title.
    pub title: String,
    /// X axis title.
    pub x_title: String,
    /// Y axis title.
    pub y_title: String,
    /// X range: first exposure − 0.5 to last + 0.5.
    pub x_range: (f64, f64),
    /// Y range ([`effect_range`] of every value and bound).
    pub y_range: (f64, f64),
    /// The exposures with a tick, each with its label.
    pub x_labels: Vec<(i64, String)>,
    /// One line per wave.
    pub waves: Vec<WaveLine>,
    /// The pooled line's legend.
    pub pooled_label: String,
    /// The pooled effect by exposure with its interval.
    pub pooled: Vec<PooledPoint>,
}

impl RolloutSpec {
    /// A stable multi-line text form (2 decimals) for tests.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "title: {}", self.title);
        let _ = writeln!(
            s,
            "x: {} [{:.2}, {:.2}]",
            self.x_title, self.x_range.0, self.x_range.1
        );
        let _ = writeln!(
            s,
            "y: {} [{:.2}, {:.2}]",
            self.y_title, self.y_range.0, self.y_range.1
        );
        for w in &self.waves {
            let pts: Vec<String> = w
                .points
                .iter()
                .map(|(e, a)| format!("{e}:{a:.2}"))
                .collect();
            let _ = writeln!(s, "{}: {}", w.label, pts.join(" "));
        }
        let pts: Vec<String> = self
            .pooled
            .iter()
            .map(|(e, a, ci)| match ci {
                Some((lo, hi)) => format!("{e}:{a:.2} [{lo:.2}, {hi:.2}]"),
                None => format!("{e}:{a:.2}"),
            })
            .collect();
        let _ = writeln!(s, "{}: {}", self.pooled_label, pts.join(" "));
        s
    }
}

/// The event-study chart of a headline index named `name`: [`rollout_spec`] titled by the
/// index, its effects in the index's points; `None` without a pooled effect.
pub fn index_rollout_spec(
    r: &Rollout,
    name: &str,
    lang: Lang,
    level: sipas_core::Level,
) -> Option<RolloutSpec> {
    let l = lang.labels_at(level);
    let mut s = rollout_spec(r, lang, level)?;
    s.title = fill(l.index_event_title, &[("index", name)]);
    s.y_title = l.index_effect_axis.to_string();
    Some(s)
}

/// The chart of `r` labelled in `lang` at `level`; `None` without a pooled effect.
pub fn rollout_spec(r: &Rollout, lang: Lang, level: sipas_core::Level) -> Option<RolloutSpec> {
    rollout_spec_with(r, lang.labels_at(level))
}

/// [`rollout_spec`] with the labels `l` (e.g. [`crate::Results::labels`], naming the results'
/// headline index).
pub fn rollout_spec_with(r: &Rollout, l: &crate::labels::Labels) -> Option<RolloutSpec> {
    if r.event.is_empty() {
        return None;
    }
    let waves: Vec<WaveLine> = r
        .waves()
        .into_iter()
        .map(|g| WaveLine {
            label: fill(l.rollout_wave, &[("start", g)]),
            points: r
                .gt
                .iter()
                .filter(|x| x.group == g)
                .map(|x| (x.exposure, x.att))
                .collect(),
        })
        .collect();
    let pooled: Vec<PooledPoint> = r.event.iter().map(|e| (e.exposure, e.att, e.ci)).collect();
    let exposures = waves
        .iter()
        .flat_map(|w| w.points.iter().map(|p| p.0))
        .chain(pooled.iter().map(|p| p.0));
    let (lo, hi) = exposures.fold((i64::MAX, i64::MIN), |(a, b), e| (a.min(e), b.max(e)));
    let values =
        waves
            .iter()
            .flat_map(|w| w.points.iter().map(|p| p.1))
            .chain(pooled.iter().flat_map(|(_, a, ci)| {
                std::iter::once(*a).chain(ci.iter().flat_map(|c| [c.0, c.1]))
            }));
    #[allow(clippy::cast_precision_loss)]
    let x_range = (lo as f64 - 0.5, hi as f64 + 0.5);
    Some(RolloutSpec {
        title: l.rollout_title.to_string(),
        x_title: l.rollout_x.to_string(),
        y_title: l.rollout_y.to_string(),
        x_range,
        y_range: effect_range(values),
        x_labels: (lo..=hi).map(|e| (e, k_label(e))).collect(),
        waves,
        pooled_label: l.rollout_pooled.to_string(),
        pooled,
    })
}
