//! Chart specifications: everything a chart shows, computed without drawing.
//!
//! The renderer ([`crate::render`]) only turns a [`ChartSpec`] into pixels, so
//! the numbers, ranges and labels of a chart are tested here, on text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sipas_core::text::nfc;
use sipas_core::{Period, PilotSet};

use crate::results::{Estimate, Results};
use crate::{Error, Result};

/// Half the width, in period steps, of the band drawn around a single isolated point.
pub const LONE_BAND_HALF_WIDTH: f64 = 0.12;

/// X axis title.
pub const X_TITLE: &str = "Kỳ khảo sát";
/// Y axis title.
pub const Y_TITLE: &str = "Chỉ số SIPAS (%)";
/// Legend label of a pilot unit's series.
pub const UNIT_LABEL: &str = "Đơn vị thí điểm";

/// Which series a [`SeriesSpec`] is; decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesRole {
    /// The pilot unit.
    Unit,
    /// The pooled non-pilot baseline.
    Baseline,
}

/// One series: a line with points and its 95% band, in chart coordinates
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
    format!("Nhóm đối chứng ({units} đơn vị)")
}

/// Label of the pilot start marker.
pub fn marker_label(start: Period) -> String {
    format!("Bắt đầu thí điểm {start}")
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

/// Every value a series contributes to the y range.
fn series_values(s: &SeriesSpec) -> impl Iterator<Item = f64> + '_ {
    s.points
        .iter()
        .chain(s.bands.iter().flatten())
        .map(|&(_, y)| y)
}

/// Position of the start marker for these periods, if the start is shown with
/// at least one period before it.
fn marker(periods: &[Period], start: Period) -> Option<MarkerSpec> {
    let k = periods.iter().position(|&p| p == start)?;
    (k >= 1).then(|| MarkerSpec {
        x: k as f64 - 0.5,
        label: nfc(&marker_label(start)),
    })
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
    results: &Results,
    pilots: &PilotSet,
    unit_code: &str,
    title: String,
) -> Result<ChartSpec> {
    let unit = results.unit(unit_code)?;
    let periods = &results.periods;
    let unit_series = series(SeriesRole::Unit, UNIT_LABEL, periods, &unit.by_period);
    let base_series = series(
        SeriesRole::Baseline,
        &baseline_label(results.baseline_unit_count()),
        periods,
        &results.baseline,
    );
    let y = y_range(series_values(&unit_series).chain(series_values(&base_series)));
    Ok(ChartSpec {
        title,
        x_title: nfc(X_TITLE),
        y_title: nfc(Y_TITLE),
        x_labels: periods.iter().map(ToString::to_string).collect(),
        y_range: y,
        series: vec![unit_series, base_series],
        marker: marker(periods, pilots.start),
    })
}

/// The trend chart of one unit: the unit and the baseline with their bands,
/// the start marker, y range from the data.
pub fn trend_spec(results: &Results, pilots: &PilotSet, unit_code: &str) -> Result<ChartSpec> {
    let unit = results.unit(unit_code)?;
    let title = unit_title(&unit.name, &unit.district);
    unit_chart(results, pilots, unit_code, title)
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
    let mut panels = shown_pilots(results, pilots)
        .into_iter()
        .map(|code| {
            let name = nfc(&results.unit(code)?.name);
            unit_chart(results, pilots, code, name)
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

#[cfg(test)]
mod tests {
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
        let m = marker(&periods, p("2024Q1")).unwrap();
        assert_eq!(m.x, 1.5);
        assert_eq!(m.label, "Bắt đầu thí điểm 2024Q1");
        assert!(marker(&periods, p("2023Q3")).is_none());
        assert!(marker(&periods, p("2024Q2")).is_none());
    }
}
