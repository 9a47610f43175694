//! A unit × period panel from a file (`sipas evaluate`) and the tables of
//! the staggered-rollout evaluation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;
use sipas_core::results;
use sipas_core::{Level, Period};

use super::{AggEffect, Aggregation, Bacon, Rollout, UnitSeries};
use crate::write::{field, finite_num};
use crate::{Error, Result};

/// The columns of a panel file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelColumns {
    /// Unit id (any text).
    pub unit: String,
    /// Period label: `2024`, `2024-H1`, `2024Q1` or `2024-01`.
    pub period: String,
    /// The outcome.
    pub value: String,
    /// The unit's first treated period; `0` or empty for never treated.
    pub group: String,
    /// Optional weight per row (e.g. responses); a unit's weight is the mean of its rows'.
    pub weight: Option<String>,
    /// Optional design-based SE of each value.
    pub se: Option<String>,
}

/// A panel read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelFile {
    /// One series per unit, in order of first appearance.
    pub units: Vec<UnitSeries>,
    /// The period of each period index (for labels).
    pub periods: BTreeMap<i64, Period>,
    /// Data rows read.
    pub rows: usize,
}

fn read_frame(path: &Path) -> Result<DataFrame> {
    let origin = path.display().to_string();
    let pe = |source| Error::Polars {
        origin: origin.clone(),
        source,
    };
    let is_parquet = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let df = if is_parquet {
        let f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ParquetReader::new(f).finish().map_err(pe)?
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(CsvReader::finish)
            .map_err(pe)?
    };
    Ok(df)
}

/// The column `name` as text (numbers formatted as polars prints them).
fn text_column(df: &DataFrame, name: &str, origin: &str) -> Result<Vec<Option<String>>> {
    let col = df.column(name).map_err(|_| Error::MissingColumn {
        origin: origin.to_string(),
        column: name.to_string(),
    })?;
    let s = col
        .cast(&DataType::String)
        .map_err(|source| Error::Polars {
            origin: format!("{origin}: column `{name}`"),
            source,
        })?;
    let ca = s.str().map_err(|source| Error::Polars {
        origin: format!("{origin}: column `{name}`"),
        source,
    })?;
    Ok(ca
        .iter()
        .map(|v| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from))
        .collect())
}

/// Reads a unit × period panel (CSV or Parquet, by extension). Every row
/// must have a unit, a period and a finite value; a unit has one group and
/// at most one row per period; all periods share one granularity.
pub fn read_panel(path: &Path, cols: &PanelColumns) -> Result<PanelFile> {
    let origin = path.display().to_string();
    let df = read_frame(path)?;
    let unit = text_column(&df, &cols.unit, &origin)?;
    let period = text_column(&df, &cols.period, &origin)?;
    let value = text_column(&df, &cols.value, &origin)?;
    let group = text_column(&df, &cols.group, &origin)?;
    let weight = cols
        .weight
        .as_deref()
        .map(|c| text_column(&df, c, &origin))
        .transpose()?;
    let se = cols
        .se
        .as_deref()
        .map(|c| text_column(&df, c, &origin))
        .transpose()?;
    let bad = |row: usize, column: &str, message: String| Error::Value {
        origin: origin.clone(),
        row: row + 1,
        column: column.to_string(),
        message,
    };
    let number = |row: usize, column: &str, v: &Option<String>| -> Result<f64> {
        let t = v
            .as_deref()
            .ok_or_else(|| bad(row, column, "empty".into()))?;
        t.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(row, column, format!("`{t}` is not a finite number")))
    };
    let mut granularity = None;
    let mut parse_period = |row: usize, column: &str, t: &str| -> Result<Period> {
        let p: Period = t.parse().map_err(|_| {
            bad(
                row,
                column,
                format!("`{t}` is not a period (2024, 2024-H1, 2024Q1 or 2024-01)"),
            )
        })?;
        match granularity {
            None => granularity = Some(p.granularity()),
            Some(g) if g != p.granularity() => {
                return Err(bad(
                    row,
                    column,
                    format!("`{t}` is not of the granularity of the periods above"),
                ));
            }
            Some(_) => {}
        }
        Ok(p)
    };
    let mut order: Vec<String> = Vec::new();
    let mut by_unit: BTreeMap<String, (UnitSeries, Vec<f64>)> = BTreeMap::new();
    let mut periods = BTreeMap::new();
    for row in 0..df.height() {
        let id = unit[row]
            .clone()
            .ok_or_else(|| bad(row, &cols.unit, "empty unit id".into()))?;
        let pt = period[row]
            .as_deref()
            .ok_or_else(|| bad(row, &cols.period, "empty period".into()))?;
        let p = parse_period(row, &cols.period, pt)?;
        let v = number(row, &cols.value, &value[row])?;
        let g = match group[row].as_deref() {
            None | Some("0") => None,
            Some(t) => Some(parse_period(row, &cols.group, t)?.index()),
        };
        let w = match &weight {
            Some(w) => {
                let x = number(row, cols.weight.as_deref().unwrap_or_default(), &w[row])?;
                if x <= 0.0 {
                    return Err(bad(
                        row,
                        cols.weight.as_deref().unwrap_or_default(),
                        format!("weight {x} is not positive"),
                    ));
                }
                x
            }
            None => 1.0,
        };
        let entry = by_unit.entry(id.clone()).or_insert_with(|| {
            order.push(id.clone());
            (
                UnitSeries {
                    unit: id.clone(),
                    group: g,
                    weight: 0.0,
                    values: BTreeMap::new(),
                    variances: BTreeMap::new(),
                },
                Vec::new(),
            )
        });
        if entry.0.group != g {
            return Err(bad(
                row,
                &cols.group,
                format!("unit {id} has another first treated period on an earlier row"),
            ));
        }
        if entry.0.values.insert(p.index(), v).is_some() {
            return Err(bad(
                row,
                &cols.period,
                format!("unit {id} has period {p} twice"),
            ));
        }
        if let (Some(se), Some(c)) = (&se, cols.se.as_deref())
            && se[row].is_some()
        {
            let s = number(row, c, &se[row])?;
            entry.0.variances.insert(p.index(), s * s);
        }
        entry.1.push(w);
        periods.insert(p.index(), p);
    }
    let units = order
        .into_iter()
        .map(|id| {
            let (mut u, w) = by_unit.remove(&id).unwrap_or_else(|| unreachable!());
            u.weight = w.iter().sum::<f64>() / w.len() as f64;
            u
        })
        .collect();
    Ok(PanelFile {
        units,
        periods,
        rows: df.height(),
    })
}

/// Label of a period index.
pub type Labels<'a> = &'a dyn Fn(i64) -> String;

fn ci(e: &AggEffect, level: Level) -> (Option<f64>, Option<f64>) {
    e.ci(level)
        .map_or((None, None), |(l, h)| (Some(l), Some(h)))
}

fn band(att: f64, se: Option<f64>, crit: Option<f64>) -> (Option<f64>, Option<f64>) {
    match (se, crit) {
        (Some(s), Some(c)) => (Some(att - c * s), Some(att + c * s)),
        _ => (None, None),
    }
}

fn push_nums(s: &mut String, v: &[Option<f64>]) {
    for x in v {
        s.push(',');
        s.push_str(&finite_num(*x));
    }
    s.push('\n');
}

fn agg_rows(
    s: &mut String,
    index: &str,
    a: &Aggregation,
    level: Level,
    key: &dyn Fn(i64) -> String,
) {
    for e in &a.rows {
        let (lo, hi) = ci(e, level);
        let (bl, bh) = band(e.att, e.se, a.crit);
        let _ = write!(
            s,
            "{},{}",
            field(index),
            field(&key(e.key.unwrap_or_default()))
        );
        push_nums(s, &[Some(e.att), e.se, lo, hi, bl, bh]);
    }
}

/// One index's estimates for [`write_rollout`].
pub struct IndexRollout<'a> {
    /// Name of the index (`sipas`, a part or element id, or a panel's value column).
    pub index: &'a str,
    /// Its Callaway–Sant'Anna estimates.
    pub rollout: &'a Rollout,
    /// Its Goodman-Bacon decomposition, when the balanced panel allows one.
    pub bacon: Option<&'a Bacon>,
}

/// Writes the rollout tables of the results contract (`att_gt.csv` … `bacon.csv`, see
/// [`sipas_core::results::Stage::Rollout`]) into `out_dir`, atomically each; six decimals.
/// `ci_low/ci_high`: pointwise at [`RolloutOptions::level`](super::RolloutOptions::level)
/// (`±Φ⁻¹(1 − α/2)·se`); `band_low/band_high`: the simultaneous band of the
/// table's rows at the same level (multiplier bootstrap).
/// `att_units.csv` lists the units of the first index; `rollout.json` the estimator, its options
/// and the waves (of the first index).
pub fn write_rollout(out_dir: &Path, tables: &[IndexRollout<'_>], label: Labels<'_>) -> Result<()> {
    let header = |t: &results::Table| t.header::<&str>(&[]);
    let mut gt = header(&results::ATT_GT);
    let mut ev = header(&results::ATT_EVENT);
    let mut gr = header(&results::ATT_GROUP);
    let mut ca = header(&results::ATT_CALENDAR);
    let mut ov = header(&results::ATT_OVERALL);
    let mut un = header(&results::ATT_UNITS);
    let mut ba = header(&results::BACON);
    for (k, t) in tables.iter().enumerate() {
        let r = t.rollout;
        let index = field(t.index).into_owned();
        let level = r.options.level;
        for c in &r.att_gt {
            let (lo, hi) = c.se.map_or((None, None), |s| {
                (Some(c.att - level.z() * s), Some(c.att + level.z() * s))
            });
            let (bl, bh) = band(c.att, c.se, r.att_gt_crit);
            let _ = write!(gt, "{index},{},{}", label(c.group), label(c.period));
            push_nums(&mut gt, &[Some(c.att), c.se, lo, hi, bl, bh]);
        }
        agg_rows(&mut ev, t.index, &r.event, level, &|e| e.to_string());
        agg_rows(&mut gr, t.index, &r.group, level, &|g| label(g));
        agg_rows(&mut ca, t.index, &r.calendar, level, &|p| label(p));
        for (name, e) in [
            ("simple", &r.simple),
            ("event", &r.event.overall),
            ("group", &r.group.overall),
            ("calendar", &r.calendar.overall),
        ] {
            let (lo, hi) = ci(e, level);
            let _ = write!(ov, "{index},{name}");
            push_nums(&mut ov, &[Some(e.att), e.se, lo, hi]);
        }
        if k == 0 {
            for u in &r.units {
                let _ = writeln!(
                    un,
                    "{},{},{},{}",
                    field(&u.unit),
                    u.group.map(label).unwrap_or_default(),
                    u.used,
                    field(&u.reason)
                );
            }
        }
        if let Some(b) = t.bacon {
            for row in &b.rows {
                let _ = write!(
                    ba,
                    "{index},{},{},{},{}",
                    row.kind.as_str(),
                    label(row.treated),
                    row.control.map_or_else(|| "never".to_string(), label),
                    finite_num(Some(row.estimate))
                );
                let _ = writeln!(
                    ba,
                    ",{},{}",
                    finite_num(Some(row.weight)),
                    row.kind.forbidden()
                );
            }
            let total: f64 = b.rows.iter().map(|r| r.weight).sum();
            let _ = writeln!(
                ba,
                "{index},twfe,,,{},{},",
                finite_num(Some(b.twfe)),
                finite_num(Some(total))
            );
        }
    }
    for (table, s) in [
        (&results::ATT_GT, gt),
        (&results::ATT_EVENT, ev),
        (&results::ATT_GROUP, gr),
        (&results::ATT_CALENDAR, ca),
        (&results::ATT_OVERALL, ov),
        (&results::ATT_UNITS, un),
        (&results::BACON, ba),
    ] {
        crate::twin::write_csv_and_twin(out_dir, table, s.as_bytes())?;
    }
    if let Some(t) = tables.first() {
        let r = t.rollout;
        let waves = wave_labels(r, label);
        let info = serde_json::json!({
            "estimator": "callaway-santanna",
            "control": r.options.control.as_str(),
            "base": r.options.base.as_str(),
            "design_variance": r.options.design_variance,
            "replicates": r.options.replicates,
            "seed": r.options.seed,
            "level": r.options.level.value(),
            "waves": waves,
            "units": r.n_units,
        });
        let json = serde_json::to_string_pretty(&info).expect("a JSON value serialises") + "\n";
        crate::write::write_atomic(out_dir, results::ROLLOUT_JSON.file, json.as_bytes())?;
    }
    Ok(())
}

/// The waves (groups with an effect), labelled, in order.
fn wave_labels(r: &Rollout, label: Labels<'_>) -> Vec<String> {
    r.group
        .rows
        .iter()
        .filter_map(|e| e.key)
        .map(label)
        .collect()
}

/// Plain-English methods of a staggered-rollout evaluation (`methods.txt`
/// of `sipas evaluate`): which estimator, comparison group and base period,
/// which estimator to trust and why, and what the standard errors cover.
pub fn methods_text(r: &Rollout, bacon: Option<&Bacon>, label: Labels<'_>) -> String {
    let o = &r.options;
    let mut s = String::new();
    let groups = wave_labels(r, label);
    let _ = writeln!(
        s,
        "Evaluating a staggered rollout\n\n\
         Data. A unit x period panel of {} units; treated units start in {} wave(s) ({}). \
         Units are weighted as the panel's weight column says (equally without one).\n",
        r.n_units,
        groups.len(),
        groups.join(", "),
    );
    let _ = writeln!(
        s,
        "Estimator. Callaway and Sant'Anna (2021), without covariates. For every wave g (the \
         units that start in period g) and every period t, ATT(g,t) is the change of the wave's \
         mean from a base period to t minus the same change in the comparison units: a plain \
         2x2 difference in differences that never uses an already-treated unit as a control. \
         Comparison units: {}. Base period: {}. The group-time effects are then averaged: by \
         exposure (quarters since the start: the event study), by wave, by calendar period, and \
         overall (the post-start effects weighted by wave size, the headline figure).\n",
        match o.control {
            super::Control::Never => "units never treated in the panel",
            super::Control::NotYet => {
                "units not yet treated in t nor in the base period (the never treated included)"
            }
        },
        match o.base {
            super::BasePeriod::Varying => {
                "the last period before the start for post-start effects, the previous period \
                 for pre-start effects (these test parallel trends period by period)"
            }
            super::BasePeriod::Universal => {
                "the last period before the start for every period (pre-start effects are \
                 cumulative differences from it)"
            }
        }
    );
    let _ = writeln!(
        s,
        "Which estimator to trust. The two-way fixed-effects regression (one treatment dummy, \
         unit and period effects) is a weighted average of every 2x2 comparison in the panel, \
         including 'forbidden' ones where a later wave is compared with an earlier wave that is \
         already treated (Goodman-Bacon 2021). When the effect grows with time since the start, \
         the earlier wave's growth is subtracted from the later wave's effect, and the \
         regression understates the effect; it can even have the wrong sign (de Chaisemartin \
         and D'Haultfoeuille 2020). The Callaway-Sant'Anna effects make only clean comparisons \
         and are the estimate to report when units start at different dates or the effect \
         changes over time. The regression is shown beside it, with its decomposition \
         (bacon.csv), so the difference can be explained. The difference is in what each \
         compares and how it weights: Callaway-Sant'Anna averages clean comparisons with \
         weights chosen in advance (the overall figure weights every post-start period of every \
         wave by the wave's size); the regression's weights follow from its variance, not from \
         a choice, and include the forbidden comparisons. With few never-treated units, the \
         not-yet-treated comparison uses more units; the pre-start rows of att_event.csv are the \
         parallel-trends check."
    );
    if let Some(b) = bacon {
        let _ = writeln!(
            s,
            "Here: the regression estimate is {:.4}; {:.1}% of its weight is on forbidden \
             comparisons; the Callaway-Sant'Anna overall effect is {:.4}.",
            b.twfe,
            100.0 * b.forbidden_weight(),
            r.simple.att
        );
    }
    let _ = writeln!(
        s,
        "Options: control = {}, base = {}, design variance = {} (sipas aggregate: the \
         [aggregate] keys control, base, design_variance, or the flags --control, --base, \
         --design-variance; sipas evaluate: --control, --base, --se).",
        o.control.as_str(),
        o.base.as_str(),
        o.design_variance
    );
    let _ = writeln!(
        s,
        "\nUncertainty. Standard errors come from the influence function of each estimate, \
         clustered by unit: all periods of a unit move together, so correlation over time \
         within a unit is allowed for. They treat the units as a sample and the panel's values \
         as data: the sampling error of each value (a commune's SIPAS is itself a survey \
         estimate) enters only through the spread of the changes across units. With the \
         design-variance option (a column of design-based standard errors), the variance of \
         each value is added: surveys of different units and periods are independent, so \
         their variances add; since part of this noise is already in the unit spread, the \
         result is conservative.{} Intervals are pointwise {} (estimate +/- {} SE). \
         The simultaneous {} bands (band_low, band_high) cover all rows of a table at once; \
         they come from a multiplier bootstrap with Mammen weights ({} replicates, seed {}).",
        if o.design_variance {
            " The design variance is included in this run."
        } else {
            " It is not included in this run."
        },
        o.level,
        o.level.multiplier_label(),
        o.level,
        o.replicates,
        o.seed
    );
    let left: Vec<&str> = r
        .units
        .iter()
        .filter(|u| !u.used)
        .map(|u| u.unit.as_str())
        .collect();
    if !left.is_empty() {
        let _ = writeln!(
            s,
            "\nLeft out ({}; reasons in att_units.csv): {}.",
            left.len(),
            left.join(", ")
        );
    }
    s
}
