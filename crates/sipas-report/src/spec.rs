//! Chart specifications: everything a chart shows, computed without drawing.
//!
//! The renderer ([`crate::render`]) only turns a [`ChartSpec`] into pixels, so
//! the numbers, ranges and labels of a chart are tested here, on text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sipas_core::text::nfc;
use sipas_core::{Period, PilotSet};

use crate::labels::{Labels, Lang, VI, fill};
use crate::results::{Estimate, Results};
use crate::{Error, Result};

/// Half the width, in period steps, of the band drawn around a single isolated point.
pub const LONE_BAND_HALF_WIDTH: f64 = 0.12;

/// X axis title (Vietnamese; see [`crate::labels`] for every language).
pub const X_TITLE: &str = VI.period_axis;
/// Y axis title of the trend charts and small multiples.
pub const Y_TITLE: &str = VI.sipas_axis;
/// Legend label of a pilot unit's series.
pub const UNIT_LABEL: &str = VI.unit_legend;

/// Which series a [`SeriesSpec`] is; decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesRole {
    /// The pilot unit.
    Unit,
    /// The pooled non-pilot baseline.
    Baseline,
}

/// One series: a line with points and its interval band, in chart coordinates
/// (x = position of the period, 0-based; y = SIPAS in %).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec {
    /// Unit or baseline.
    pub role: SeriesRole,
    /// Legend label.
    pub label: String,
    /// Defined points (x, SIPAS).
    pub points: Vec<(f64, f64)>,
    /// Polylines through consecutive defined points; an undefined value splits
    /// the line, leaving a gap.
    pub lines: Vec<Vec<(f64, f64)>>,
    /// Closed band polygons over runs of periods with both bounds defined:
    /// upper bounds left to right, then lower bounds right to left. A run of
    /// one period is a narrow rectangle ±[`LONE_BAND_HALF_WIDTH`].
    pub bands: Vec<Vec<(f64, f64)>>,
}

/// The vertical "pilot starts" marker.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerSpec {
    /// Half-way between the period before the start and the start.
    pub x: f64,
    /// E.g. "Bắt đầu thí điểm 2024Q1".
    pub label: String,
}

/// Everything one chart (or one panel) shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Chart or panel title.
    pub title: String,
    /// X axis title.
    pub x_title: String,
    /// Y axis title.
    pub y_title: String,
    /// Category labels, one per period, at x = 0, 1, ….
    pub x_labels: Vec<String>,
    /// Y axis range (multiples of 5 within 0–100).
    pub y_range: (f64, f64),
    /// Drawn in order: the unit first, then the baseline.
    pub series: Vec<SeriesSpec>,
    /// The pilot start marker, when the start falls inside the periods shown.
    pub marker: Option<MarkerSpec>,
    /// The reorganisations of the communes (crosswalk steps) inside the
    /// periods shown, at their day within the period.
    pub reorganisations: Vec<MarkerSpec>,
}

impl ChartSpec {
    /// A stable multi-line text form (numbers with 2 decimals) for tests and debugging.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let pt = |(x, y): &(f64, f64)| format!("({x:.2}, {y:.2})");
        let pts = |v: &[(f64, f64)]| v.iter().map(pt).collect::<Vec<_>>().join(" ");
        let _ = writeln!(s, "title: {}", self.title);
        let _ = writeln!(s, "x: {} [{}]", self.x_title, self.x_labels.join(", "));
        let _ = writeln!(
            s,
            "y: {} [{:.0}, {:.0}]",
            self.y_title, self.y_range.0, self.y_range.1
        );
        match &self.marker {
            Some(m) => _ = writeln!(s, "marker: x={:.2} \"{}\"", m.x, m.label),
            None => _ = writeln!(s, "marker: none"),
        }
        for m in &self.reorganisations {
            let _ = writeln!(s, "reorganisation: x={:.2} \"{}\"", m.x, m.label);
        }
        for series in &self.series {
            let _ = writeln!(s, "series {:?} \"{}\"", series.role, series.label);
            let _ = writeln!(s, "  points: {}", pts(&series.points));
            for line in &series.lines {
                let _ = writeln!(s, "  line: {}", pts(line));
            }
            for band in &series.bands {
                let _ = writeln!(s, "  band: {}", pts(band));
            }
        }
        s
    }
}

/// Legend label of the baseline, with the number of non-pilot units.
pub fn baseline_label(units: usize) -> String {
    baseline_label_in(&VI, units)
}

/// [`baseline_label`] in the language of `l`.
pub fn baseline_label_in(l: &Labels, units: usize) -> String {
    fill(l.baseline_legend, &[("n", &units.to_string())])
}

/// Label of the pilot start marker.
pub fn marker_label(start: Period) -> String {
    fill(VI.start_marker, &[("start", &start.to_string())])
}

/// The y range for these values: min and max rounded out to multiples of 5
/// and clamped to 0–100; at least one step of 5 wide; 0–100 when there is
/// no value.
pub fn y_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 100.0);
    }
    let mut lo = ((lo / 5.0).floor() * 5.0).clamp(0.0, 100.0);
    let mut hi = ((hi / 5.0).ceil() * 5.0).clamp(0.0, 100.0);
    if hi <= lo {
        if hi < 100.0 {
            hi = lo + 5.0;
        } else {
            lo = hi - 5.0;
        }
    }
    (lo, hi)
}

/// The y range for values of an index on the scale `(lo, hi)`: [`y_range`] on a scale of
/// 50 points or more (clamped to the scale), else rounded out to halves on a scale of 5 or
/// more, to tenths below; at least one rounding step wide.
pub fn y_range_on(values: impl IntoIterator<Item = f64>, (b0, b1): (f64, f64)) -> (f64, f64) {
    let values: Vec<f64> = values.into_iter().collect();
    let span = b1 - b0;
    if span >= 50.0 {
        let (lo, hi) = y_range(values);
        return (lo.max(b0), hi.min(b1));
    }
    let step = if span >= 5.0 { 0.5 } else { 0.1 };
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (b0, b1);
    }
    lo = ((lo / step).floor() * step).max(b0);
    hi = ((hi / step).ceil() * step).min(b1);
    if hi - lo < step {
        hi = (lo + step).min(b1);
        lo = hi - step;
    }
    (lo, hi)
}

/// The trend chart of a headline index: the pilot units pooled against the baseline, with
/// their bands, on the index's own scale (`estimates.csv`'s group rows).
pub fn index_spec_in(
    results: &Results,
    idx: &crate::indices::IndexResults,
    start: Period,
    lang: Lang,
) -> ChartSpec {
    let l = results.labels(lang);
    let periods = &results.periods;
    let pilot = series(
        SeriesRole::Unit,
        l.pilots_pooled_legend,
        periods,
        &idx.pilot,
    );
    let base = series(
        SeriesRole::Baseline,
        &baseline_label_in(l, results.baseline_unit_count()),
        periods,
        &idx.baseline,
    );
    let y = y_range_on(
        series_values(&pilot).chain(series_values(&base)),
        idx.bounds,
    );
    let name = match lang {
        Lang::Vi => &idx.name_vi,
        Lang::En => &idx.name_en,
    };
    ChartSpec {
        title: nfc(name),
        x_title: nfc(l.period_axis),
        y_title: nfc(&format!("{} ({})", l.index_axis, scale_text(idx.bounds))),
        x_labels: periods.iter().map(ToString::to_string).collect(),
        y_range: y,
        series: vec![pilot, base],
        marker: marker(l, periods, start),
        reorganisations: reorganisation_markers_in(l, periods, crosswalk_steps(results)),
    }
}

/// A scale as text: `1–10`, `0–100`, `0.25–2.5`.
pub(crate) fn scale_text((lo, hi): (f64, f64)) -> String {
    let t = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{}–{}", t(lo), t(hi))
}

/// The days the results' crosswalk steps take effect (none without a crosswalk).
fn crosswalk_steps(results: &Results) -> &[String] {
    results
        .quality
        .clean
        .as_ref()
        .and_then(|c| c.crosswalk.as_ref())
        .map_or(&[][..], |c| &c.steps)
}

/// Every value a series contributes to the y range.
fn series_values(s: &SeriesSpec) -> impl Iterator<Item = f64> + '_ {
    s.points
        .iter()
        .chain(s.bands.iter().flatten())
        .map(|&(_, y)| y)
}

/// Position of the start marker for these periods, if the start is shown with
/// at least one period before it.
fn marker(l: &Labels, periods: &[Period], start: Period) -> Option<MarkerSpec> {
    let k = periods.iter().position(|&p| p == start)?;
    (k >= 1).then(|| MarkerSpec {
        x: k as f64 - 0.5,
        label: fill(l.start_marker, &[("start", &start.to_string())]),
    })
}

/// The reorganisations (first days `YYYY-MM-DD` of crosswalk steps) that
/// fall inside the periods shown, placed at their month within the period.
pub fn reorganisation_markers(periods: &[Period], steps: &[String]) -> Vec<MarkerSpec> {
    reorganisation_markers_in(&VI, periods, steps)
}

/// [`reorganisation_markers`] labelled in the language of `l`.
pub fn reorganisation_markers_in(
    l: &Labels,
    periods: &[Period],
    steps: &[String],
) -> Vec<MarkerSpec> {
    let mut out = Vec::new();
    for step in steps {
        if step.len() != 10 {
            continue;
        }
        let (Ok(year), Ok(month), Ok(day)) = (
            step[0..4].parse::<i32>(),
            step[5..7].parse::<u32>(),
            step[8..10].parse::<u32>(),
        ) else {
            continue;
        };
        let Some((k, p)) = periods.iter().enumerate().find(|(_, p)| {
            let len = 12 / p.granularity().per_year();
            p.year() == year && (p.sub() - 1) * len < month && month <= p.sub() * len
        }) else {
            continue;
        };
        let len = 12 / p.granularity().per_year();
        let offset = f64::from(month - 1 - (p.sub() - 1) * len) / f64::from(len);
        out.push(MarkerSpec {
            x: k as f64 - 0.5 + offset,
            label: fill(
                l.reorganisation_marker,
                &[("date", &format!("{day:02}/{month:02}/{year}"))],
            ),
        });
    }
    out
}

/// Builds a series from estimates by period over the periods shown.
pub fn series(
    role: SeriesRole,
    label: &str,
    periods: &[Period],
    by_period: &BTreeMap<Period, Estimate>,
) -> SeriesSpec {
    let est: Vec<Option<&Estimate>> = periods.iter().map(|p| by_period.get(p)).collect();
    let value = |i: usize| est[i].and_then(|e| e.sipas);
    let bounds = |i: usize| est[i].and_then(|e| e.lo.zip(e.hi));

    let points: Vec<(f64, f64)> = (0..periods.len())
        .filter_map(|i| value(i).map(|v| (i as f64, v)))
        .collect();
    let mut lines = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for i in 0..periods.len() {
        match value(i) {
            Some(v) => run.push((i as f64, v)),
            None if !run.is_empty() => lines.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        lines.push(run);
    }

    let mut bands = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let mut close = |run: &mut Vec<(f64, f64, f64)>| {
        if run.len() == 1 {
            let (x, lo, hi) = run[0];
            let w = LONE_BAND_HALF_WIDTH;
            bands.push(vec![(x - w, hi), (x + w, hi), (x + w, lo), (x - w, lo)]);
        } else if run.len() > 1 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|&(x, _, hi)| (x, hi)).collect();
            poly.extend(run.iter().rev().map(|&(x, lo, _)| (x, lo)));
            bands.push(poly);
        }
        run.clear();
    };
    for i in 0..periods.len() {
        match bounds(i) {
            Some((lo, hi)) => run.push((i as f64, lo, hi)),
            None => close(&mut run),
        }
    }
    close(&mut run);

    SeriesSpec {
        role,
        label: nfc(label),
        points,
        lines,
        bands,
    }
}

/// Title of a unit's own chart: "Phường Trưng Vương — Thành phố Thái Nguyên".
fn unit_title(name: &str, district: &str) -> String {
    if district.is_empty() {
        nfc(name)
    } else {
        nfc(&format!("{name} — {district}"))
    }
}

fn unit_chart(
    l: &Labels,
    results: &Results,
    pilots: &PilotSet,
    unit_code: &str,
    title: String,
) -> Result<ChartSpec> {
    let unit = results.unit(unit_code)?;
    let periods = &results.periods;
    let unit_series = series(SeriesRole::Unit, l.unit_legend, periods, &unit.by_period);
    let base_series = series(
        SeriesRole::Baseline,
        &baseline_label_in(l, results.baseline_unit_count()),
        periods,
        &results.baseline,
    );
    let y = y_range(series_values(&unit_series).chain(series_values(&base_series)));
    Ok(ChartSpec {
        title,
        x_title: nfc(l.period_axis),
        y_title: nfc(l.sipas_axis),
        x_labels: periods.iter().map(ToString::to_string).collect(),
        y_range: y,
        series: vec![unit_series, base_series],
        marker: marker(l, periods, pilots.start),
        reorganisations: reorganisation_markers_in(l, periods, crosswalk_steps(results)),
    })
}

/// The trend chart of one unit: the unit and the baseline with their bands,
/// the start marker, y range from the data.
pub fn trend_spec(results: &Results, pilots: &PilotSet, unit_code: &str) -> Result<ChartSpec> {
    trend_spec_in(results, pilots, unit_code, Lang::Vi)
}

/// [`trend_spec`] labelled in `lang`.
pub fn trend_spec_in(
    results: &Results,
    pilots: &PilotSet,
    unit_code: &str,
    lang: Lang,
) -> Result<ChartSpec> {
    let unit = results.unit(unit_code)?;
    let title = unit_title(&unit.name, &unit.district);
    unit_chart(results.labels(lang), results, pilots, unit_code, title)
}

/// Pilot units shown in the report: the pilot set's units present in the
/// results, in code order.
pub fn shown_pilots<'a>(results: &Results, pilots: &'a PilotSet) -> Vec<&'a str> {
    pilots
        .units
        .iter()
        .filter(|c| results.units.contains_key(c.as_str()))
        .map(String::as_str)
        .collect()
}

/// Checks that the pilot set and the results' `pilot` column agree on every
/// unit present in the results.
pub fn check_pilots(results: &Results, pilots: &PilotSet) -> Result<()> {
    for unit in results.units.values() {
        let in_set = pilots.contains(&unit.code);
        if unit.pilot != in_set {
            let message = if in_set {
                "is in the pilot set but the results mark it pilot=false"
            } else {
                "is not in the pilot set but the results mark it pilot=true"
            };
            return Err(Error::PilotMismatch {
                code: unit.code.clone(),
                message: message.to_string(),
            });
        }
    }
    Ok(())
}

/// The panels of the small-multiples chart: one per shown pilot unit, titled
/// with the unit's full name, all on one shared y range.
pub fn pilots_spec(results: &Results, pilots: &PilotSet) -> Result<Vec<ChartSpec>> {
    pilots_spec_in(results, pilots, Lang::Vi)
}

/// [`pilots_spec`] labelled in `lang`; every panel has its axis titles.
pub fn pilots_spec_in(results: &Results, pilots: &PilotSet, lang: Lang) -> Result<Vec<ChartSpec>> {
    let mut panels = shown_pilots(results, pilots)
        .into_iter()
        .map(|code| {
            let name = nfc(&results.unit(code)?.name);
            unit_chart(results.labels(lang), results, pilots, code, name)
        })
        .collect::<Result<Vec<_>>>()?;
    let shared = y_range(
        panels
            .iter()
            .flat_map(|p| p.series.iter().flat_map(series_values)),
    );
    for p in &mut panels {
        p.y_range = shared;
    }
    Ok(panels)
}

/// Title of the event-study chart (Vietnamese; [`crate::labels`] has every language).
pub const EVENT_TITLE: &str = VI.event_title;
/// X axis title of the event-study chart.
pub const EVENT_X_TITLE: &str = VI.event_x;
/// Y axis title of the event-study chart.
pub const EVENT_Y_TITLE: &str = VI.event_y;
/// Label of the start marker of the event-study chart.
pub const EVENT_MARKER: &str = VI.event_marker;
/// Title of the forest plot.
pub const FOREST_TITLE: &str = VI.forest_title;
/// X axis title of the forest plot.
pub const FOREST_X_TITLE: &str = VI.forest_x;
/// Subtitle of the forest plot.
pub const FOREST_SUBTITLE: &str = VI.forest_subtitle;
/// Forest row label of the overall estimate with its CR1 interval.
pub const OVERALL_CR1_LABEL: &str = VI.overall_cr1;
/// Forest row label of the overall estimate with its wild bootstrap interval.
pub const OVERALL_WILD_LABEL: &str = VI.overall_wild;

/// `k` as an axis label, with a true minus sign: "−2", "0", "3".
pub fn k_label(k: i64) -> String {
    if k < 0 {
        format!("\u{2212}{}", k.unsigned_abs())
    } else {
        k.to_string()
    }
}

/// A p-value as text: "< 0.001" below 0.001, else 3 decimals; "—" when undefined.
pub fn p_text(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.001 => "< 0.001".to_string(),
        Some(p) => format!("{p:.3}"),
        None => "—".to_string(),
    }
}

/// The axis range of effects (in index points): the smallest and largest value
/// and 0, widened by 3% of the span on each side, rounded out to multiples of
/// the first step in 0.1, 0.2, 0.5, 1, 2, 5, 10, … that gives at most 10 steps.
/// `(-1, 1)` when every value is 0 or there is none.
pub fn effect_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let span = hi - lo;
    if span <= 0.0 {
        return (-1.0, 1.0);
    }
    let (lo, hi) = (lo - 0.03 * span, hi + 0.03 * span);
    let mut exp = -1;
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(exp);
            if (hi - lo) / step <= 10.0 {
                return ((lo / step).floor() * step, (hi / step).ceil() * step);
            }
        }
        exp += 1;
    }
}

/// One coefficient of the event-study chart, at x = k.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPoint {
    /// Period relative to the start.
    pub k: i64,
    /// Calendar period label.
    pub period: String,
    /// β̂_k.
    pub estimate: f64,
    /// Interval (error bar) at the results' level, when defined.
    pub ci: Option<(f64, f64)>,
    /// The reference period (fixed at 0), drawn as a hollow point.
    pub reference: bool,
}

/// Everything the event-study chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStudySpec {
    /// Chart title.
    pub title: String,
    /// The pre-trend test, when `pretrend.csv` is present.
    pub subtitle: Option<String>,
    /// X axis title.
    pub x_title: String,
    /// Y axis title.
    pub y_title: String,
    /// X range: first k − 0.5 to last k + 0.5.
    pub x_range: (f64, f64),
    /// Y range ([`effect_range`] of estimates and bounds).
    pub y_range: (f64, f64),
    /// Coefficients with a defined estimate, by k.
    pub points: Vec<EventPoint>,
    /// Tick labels: (x = k, k label, period), one per row of `event_study.csv`.
    pub x_labels: Vec<(i64, String, String)>,
    /// Dashed line between k = −1 and k = 0, when both sides are shown.
    pub marker: Option<MarkerSpec>,
}

impl EventStudySpec {
    /// A stable multi-line text form (2 decimals) for tests.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "title: {}", self.title);
        let _ = writeln!(
            s,
            "subtitle: {}",
            self.subtitle.as_deref().unwrap_or("none")
        );
        let ticks: Vec<String> = self
            .x_labels
            .iter()
            .map(|(_, k, p)| format!("{k} {p}"))
            .collect();
        let _ = writeln!(
            s,
            "x: {} [{:.2}, {:.2}] [{}]",
            self.x_title,
            self.x_range.0,
            self.x_range.1,
            ticks.join(", ")
        );
        let _ = writeln!(
            s,
            "y: {} [{:.2}, {:.2}]",
            self.y_title, self.y_range.0, self.y_range.1
        );
        match &self.marker {
            Some(m) => _ = writeln!(s, "marker: x={:.2} \"{}\"", m.x, m.label),
            None => _ = writeln!(s, "marker: none"),
        }
        for p in &self.points {
            let ci =
                p.ci.map_or_else(|| "none".to_string(), |(a, b)| format!("[{a:.2}, {b:.2}]"));
            let r = if p.reference { " reference" } else { "" };
            let _ = writeln!(s, "k={} {}: {:.2} {ci}{r}", p.k, p.period, p.estimate);
        }
        s
    }
}

/// The event-study chart from `event_study.csv` (and `pretrend.csv` for the
/// subtitle); `None` when the results have no event study.
pub fn event_study_spec(results: &Results) -> Option<EventStudySpec> {
    event_study_spec_in(results, Lang::Vi)
}

/// [`event_study_spec`] labelled in `lang`.
pub fn event_study_spec_in(results: &Results, lang: Lang) -> Option<EventStudySpec> {
    let l = results.labels(lang);
    let ev = &results.evaluation;
    let (first, last) = (ev.event_study.first()?, ev.event_study.last()?);
    let points: Vec<EventPoint> = ev
        .event_study
        .iter()
        .filter_map(|c| {
            Some(EventPoint {
                k: c.k,
                period: c.period.to_string(),
                estimate: c.estimate?,
                ci: c.lo.zip(c.hi),
                reference: c.is_reference(),
            })
        })
        .collect();
    let y_range = effect_range(points.iter().flat_map(|p| {
        std::iter::once(p.estimate).chain(p.ci.into_iter().flat_map(|(a, b)| [a, b]))
    }));
    let has_pre = ev.event_study.iter().any(|c| c.k < 0);
    let has_post = ev.event_study.iter().any(|c| c.k >= 0);
    let subtitle = ev.pretrend.as_ref().map(|t| {
        let mut s = fill(
            l.pretrend_subtitle,
            &[
                ("df1", &t.df1.to_string()),
                ("df2", &t.df2.to_string()),
                (
                    "f",
                    &t.f.map_or_else(|| "—".to_string(), |f| format!("{f:.2}")),
                ),
                ("p", &p_text(t.p)),
            ],
        );
        if t.p_wild.is_some() {
            s.push_str(&fill(l.pretrend_wild, &[("p", &p_text(t.p_wild))]));
        }
        s
    });
    Some(EventStudySpec {
        title: nfc(l.event_title),
        subtitle,
        x_title: nfc(l.event_x),
        y_title: nfc(l.event_y),
        x_range: (first.k as f64 - 0.5, last.k as f64 + 0.5),
        y_range,
        points,
        x_labels: ev
            .event_study
            .iter()
            .map(|c| (c.k, k_label(c.k), c.period.to_string()))
            .collect(),
        marker: (has_pre && has_post).then(|| MarkerSpec {
            x: -0.5,
            label: nfc(l.event_marker),
        }),
    })
}

/// What a forest-plot row is; decides its marker and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForestRole {
    /// The overall TWFE estimate with its CR1 interval.
    OverallCr1,
    /// The overall TWFE estimate with its wild bootstrap interval.
    OverallWild,
    /// A pilot unit's 2×2 DiD (`did_units.csv`) with its survey-SE interval.
    /// Its own TWFE CR1 interval is not shown: with one treated cluster,
    /// cluster-robust errors are far too small (MacKinnon & Webb 2017).
    Unit,
}

/// One row of the forest plot, row 0 at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    /// Overall or unit.
    pub role: ForestRole,
    /// Row label (NFC): the unit's full name, or the overall label.
    pub label: String,
    /// The unit's code (units only).
    pub unit_code: Option<String>,
    /// Point estimate, when defined: the overall TWFE estimate, or the unit's
    /// 2×2 estimate (its TWFE estimate when `did_units.csv` lacks the unit).
    pub estimate: Option<f64>,
    /// The row's interval (at the results' level): CR1 or wild for the overall rows, the 2×2
    /// interval from the cells' survey SEs for a unit.
    pub ci: Option<(f64, f64)>,
}

/// Everything the forest plot shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestSpec {
    /// Chart title.
    pub title: String,
    /// Subtitle (how to read it).
    pub subtitle: String,
    /// X axis title.
    pub x_title: String,
    /// X range ([`effect_range`] of every estimate and bound).
    pub x_range: (f64, f64),
    /// Overall CR1, overall wild (when the bootstrap interval exists), then
    /// the pilot units in code order.
    pub rows: Vec<ForestRow>,
}

impl ForestSpec {
    /// A stable multi-line text form (2 decimals) for tests.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let iv = |v: Option<(f64, f64)>| {
            v.map_or_else(|| "none".to_string(), |(a, b)| format!("[{a:.2}, {b:.2}]"))
        };
        let _ = writeln!(s, "title: {}", self.title);
        let _ = writeln!(
            s,
            "x: {} [{:.2}, {:.2}]",
            self.x_title, self.x_range.0, self.x_range.1
        );
        for r in &self.rows {
            let est = r
                .estimate
                .map_or_else(|| "—".to_string(), |e| format!("{e:.2}"));
            let _ = writeln!(s, "{:?} \"{}\": {est} {}", r.role, r.label, iv(r.ci));
        }
        s
    }
}

/// A unit's full name from the results, else the bundled registry, else its code.
pub fn unit_display_name(results: &Results, code: &str) -> String {
    if let Some(u) = results.units.get(code) {
        return nfc(&u.name);
    }
    sipas_core::bundled::units()
        .get(code)
        .map_or_else(|| code.to_string(), |u| nfc(&u.full_name()))
}

/// The forest plot from `did_twfe.csv` and `did_units.csv`; `None` when the
/// results have no TWFE estimate. Order: the overall rows first (CR1, then
/// wild), then the pilot units by code (the order of every other table and
/// chart of the report), each with its 2×2 DiD and survey-SE interval.
pub fn forest_spec(results: &Results) -> Option<ForestSpec> {
    forest_spec_in(results, Lang::Vi)
}

/// [`forest_spec`] labelled in `lang`.
pub fn forest_spec_in(results: &Results, lang: Lang) -> Option<ForestSpec> {
    let l = results.labels(lang);
    let ev = &results.evaluation;
    let twfe = ev.twfe.as_ref()?;
    let o = &twfe.overall;
    let mut rows = vec![ForestRow {
        role: ForestRole::OverallCr1,
        label: nfc(l.overall_cr1),
        unit_code: None,
        estimate: o.estimate,
        ci: o.lo.zip(o.hi),
    }];
    if let Some(ci) = o.lo_wild.zip(o.hi_wild) {
        rows.push(ForestRow {
            role: ForestRole::OverallWild,
            label: nfc(l.overall_wild),
            unit_code: None,
            estimate: o.estimate,
            ci: Some(ci),
        });
    }
    for code in ev.unit_codes() {
        let did = ev.did_units.iter().find(|d| d.unit_code == code);
        let twfe_estimate = twfe
            .units
            .iter()
            .find(|u| u.unit_code.as_deref() == Some(code))
            .and_then(|u| u.estimate);
        rows.push(ForestRow {
            role: ForestRole::Unit,
            label: unit_display_name(results, code),
            unit_code: Some(code.to_string()),
            estimate: did.and_then(|d| d.estimate).or(twfe_estimate),
            ci: did.and_then(|d| d.lo.zip(d.hi)),
        });
    }
    let x_range = effect_range(rows.iter().flat_map(|r| {
        r.estimate
            .into_iter()
            .chain(r.ci.into_iter().flat_map(|(a, b)| [a, b]))
    }));
    Some(ForestSpec {
        title: nfc(l.forest_title),
        subtitle: nfc(l.forest_subtitle),
        x_title: nfc(l.forest_x),
        x_range,
        rows,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reorganisations_sit_at_their_month_within_the_period() {
        let periods: Vec<Period> = "2023Q1"
            .parse::<Period>()
            .unwrap()
            .range_to("2026Q4".parse().unwrap());
        let m = super::reorganisation_markers(
            &periods,
            &[
                "2024-12-01".into(),
                "2025-07-01".into(),
                "2030-01-01".into(),
            ],
        );
        assert_eq!(m.len(), 2, "a step outside the periods is not shown");
        // 2024Q4 is the 8th quarter (x = 7); December is its third month.
        assert!((m[0].x - (7.0 - 0.5 + 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!(m[0].label, "Sắp xếp xã 01/12/2024");
        // 2025Q3 starts with July: between 2025Q2 and 2025Q3.
        assert!((m[1].x - 9.5).abs() < 1e-12);
    }

    use super::*;

    #[test]
    fn y_range_rounds_out_to_fives_within_0_100() {
        assert_eq!(y_range([67.1, 92.42]), (65.0, 95.0));
        assert_eq!(y_range([70.0, 85.0]), (70.0, 85.0));
        assert_eq!(y_range([-3.0, 101.0]), (0.0, 100.0));
        assert_eq!(y_range([80.0]), (80.0, 85.0));
        assert_eq!(y_range([100.0]), (95.0, 100.0));
        assert_eq!(y_range(std::iter::empty()), (0.0, 100.0));
    }

    #[test]
    fn effect_range_includes_zero_pads_and_rounds_to_a_nice_step() {
        assert_eq!(effect_range(std::iter::empty()), (-1.0, 1.0));
        // 0…3 ± 0.09 = 3.18 wide: 0.5 is the first step with ≤ 10 steps.
        assert_eq!(effect_range([3.0]), (-0.5, 3.5));
        // The demo's event study: −1.0765…5.9872 ± 0.2119 → 7.49 wide, step 1.
        assert_eq!(effect_range([-1.076_535, 5.987_239]), (-2.0, 7.0));
        // −30…80 ± 3.3 → 116.6 wide, step 20.
        assert_eq!(effect_range([-30.0, 80.0]), (-40.0, 100.0));
    }

    #[test]
    fn k_and_p_labels() {
        assert_eq!(k_label(-4), "\u{2212}4");
        assert_eq!(k_label(0), "0");
        assert_eq!(p_text(Some(0.0004)), "< 0.001");
        assert_eq!(p_text(Some(0.0456)), "0.046");
        assert_eq!(p_text(None), "—");
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn gaps_split_lines_and_bands_and_lone_band_is_a_bar() {
        let periods: Vec<Period> = ["2023Q1", "2023Q2", "2023Q3", "2023Q4"].map(p).to_vec();
        let e = |v: f64| Estimate {
            n: 10,
            sipas: Some(v),
            se: Some(1.0),
            lo: Some(v - 2.0),
            hi: Some(v + 2.0),
        };
        let mut m = BTreeMap::new();
        m.insert(periods[0], e(50.0));
        m.insert(periods[1], Estimate::default());
        m.insert(periods[2], e(60.0));
        m.insert(
            periods[3],
            Estimate {
                lo: None,
                ..e(70.0)
            },
        );
        let s = series(SeriesRole::Unit, "u", &periods, &m);
        assert_eq!(s.points, vec![(0.0, 50.0), (2.0, 60.0), (3.0, 70.0)]);
        assert_eq!(
            s.lines,
            vec![vec![(0.0, 50.0)], vec![(2.0, 60.0), (3.0, 70.0)]]
        );
        assert_eq!(
            s.bands,
            vec![
                vec![(-0.12, 52.0), (0.12, 52.0), (0.12, 48.0), (-0.12, 48.0)],
                vec![(1.88, 62.0), (2.12, 62.0), (2.12, 58.0), (1.88, 58.0)],
            ]
        );
    }

    #[test]
    fn marker_sits_between_the_period_before_and_the_start() {
        let periods: Vec<Period> = ["2023Q3", "2023Q4", "2024Q1"].map(p).to_vec();
        let m = marker(&VI, &periods, p("2024Q1")).unwrap();
        assert_eq!(m.x, 1.5);
        assert_eq!(m.label, "Bắt đầu thí điểm 2024Q1");
        assert!(marker(&VI, &periods, p("2023Q3")).is_none());
        assert!(marker(&VI, &periods, p("2024Q2")).is_none());
    }
}
