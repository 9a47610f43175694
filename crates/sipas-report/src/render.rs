//! Drawing [`ChartSpec`]s with plotters into an in-memory RGB buffer, then PNG.

use std::sync::OnceLock;

use image::ImageEncoder as _;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::rollout::RolloutSpec;
use crate::spec::{
    ChartSpec, EventStudySpec, ForestRole, ForestSpec, SeriesRole, SeriesSpec, UNIT_LABEL,
    baseline_label,
};
use crate::{Error, Result};

/// DejaVu Sans (Bitstream Vera licence, see `assets/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The font family every label is drawn with (the embedded DejaVu Sans).
pub const FONT: &str = "sans-serif";

/// Colour of the pilot unit's line and band.
pub const UNIT_COLOR: RGBColor = RGBColor(31, 119, 180);
/// Colour of the baseline's line and band.
pub const BASELINE_COLOR: RGBColor = RGBColor(217, 95, 2);
/// Colour of the pilot start marker.
pub const MARKER_COLOR: RGBColor = RGBColor(90, 90, 90);
/// Colour of the reorganisation markers.
pub const REORG_COLOR: RGBColor = RGBColor(130, 80, 150);
/// Opacity of the interval bands.
pub const BAND_ALPHA: f64 = 0.2;

/// Sizes of the charts, in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartStyle {
    /// Width and height of a unit's trend chart.
    pub trend_size: (u32, u32),
    /// Width and height of one panel of the small-multiples chart.
    pub panel_size: (u32, u32),
    /// Panels per row of the small-multiples chart.
    pub columns: usize,
    /// Width and height of the event-study chart.
    pub event_size: (u32, u32),
    /// Width of the forest plot (its height follows the number of rows).
    pub forest_width: u32,
    /// Language of the titles, axis titles and legends ([`crate::labels`]).
    pub lang: crate::labels::Lang,
}

impl Default for ChartStyle {
    fn default() -> Self {
        ChartStyle {
            trend_size: (1000, 600),
            panel_size: (420, 300),
            columns: 4,
            event_size: (1000, 600),
            forest_width: 1000,
            lang: crate::labels::Lang::Vi,
        }
    }
}

/// The colour of a series on white, with the band's opacity applied, as
/// plotters blends it (for tests that look for band pixels).
pub fn band_on_white(role: SeriesRole) -> [u8; 3] {
    let c = series_color(role);
    let mix = |v: u8| (f64::from(v) * BAND_ALPHA + 255.0 * (1.0 - BAND_ALPHA)).round() as u8;
    [mix(c.0), mix(c.1), mix(c.2)]
}

/// Line colour of a series.
pub fn series_color(role: SeriesRole) -> RGBColor {
    match role {
        SeriesRole::Unit => UNIT_COLOR,
        SeriesRole::Baseline => BASELINE_COLOR,
    }
}

/// Registers the embedded font under [`FONT`] (once per process).
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Draw(
            "the embedded DejaVu Sans font does not load".into(),
        ))
    }
}

fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::Draw(e.to_string())
}

/// Font sizes and margins of one chart.
struct Layout {
    caption: u32,
    label: u32,
    desc: u32,
    x_area: u32,
    y_area: u32,
    margin: u32,
    point: u32,
    line: u32,
    legend: bool,
    axis_desc: bool,
}

const TREND: Layout = Layout {
    caption: 26,
    label: 16,
    desc: 18,
    x_area: 60,
    y_area: 70,
    margin: 16,
    point: 4,
    line: 3,
    legend: true,
    axis_desc: true,
};

const PANEL: Layout = Layout {
    caption: 18,
    label: 12,
    desc: 11,
    x_area: 44,
    y_area: 52,
    margin: 8,
    point: 3,
    line: 2,
    legend: false,
    axis_desc: true,
};

fn draw_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    layout: &Layout,
) -> Result<()> {
    let n = spec.x_labels.len().max(1);
    let (y0, y1) = spec.y_range;
    let mut chart = ChartBuilder::on(area)
        .caption(&spec.title, (FONT, layout.caption))
        .margin(layout.margin)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)
        .map_err(draw_err)?;

    // Show every `step`-th period label so that labels never overlap.
    let plot_width = chart.plotting_area().dim_in_pixel().0.max(1) as usize;
    let label_px = layout.label as usize * 4;
    let step = (n * label_px).div_ceil(plot_width).max(1);
    let x_fmt = |x: &f64| {
        let r = x.round();
        if (x - r).abs() > 1e-6 || r < 0.0 {
            return String::new();
        }
        let i = r as usize;
        if i.is_multiple_of(step) {
            spec.x_labels.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    // Steps of 10 or 5 on a 0–100 range; halves, quarters or tenths on the short ranges of a
    // 1–10 index.
    let span = y1 - y0;
    let (y_step, decimals) = if span > 40.0 {
        (10.0, 0)
    } else if span >= 5.0 {
        (5.0, 0)
    } else if span > 2.0 {
        (0.5, 1)
    } else if span > 1.0 {
        (0.25, 2)
    } else {
        (0.1, 1)
    };
    let y_fmt = |y: &f64| format!("{y:.decimals$}");
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(n + 1)
        .x_label_formatter(&x_fmt)
        .y_labels(((y1 - y0) / y_step).round() as usize + 1)
        .y_label_formatter(&y_fmt)
        .disable_x_mesh()
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .label_style((FONT, layout.label))
        .axis_desc_style((FONT, layout.desc));
    if layout.axis_desc {
        mesh.x_desc(&spec.x_title).y_desc(&spec.y_title);
    }
    mesh.draw().map_err(draw_err)?;

    // Bands first (baseline under the unit), then lines and points on top.
    for s in spec.series.iter().rev() {
        let color = series_color(s.role).mix(BAND_ALPHA).filled();
        chart
            .draw_series(s.bands.iter().map(|b| Polygon::new(b.clone(), color)))
            .map_err(draw_err)?;
    }
    // Legend entries in spec order (unit first) from empty series, so that
    // the lines can be drawn in reverse order (unit on top).
    for s in &spec.series {
        let color = series_color(s.role);
        chart
            .draw_series(LineSeries::new(std::iter::empty(), color))
            .map_err(draw_err)?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    for s in spec.series.iter().rev() {
        draw_line(&mut chart, s, layout)?;
    }

    if let Some(m) = &spec.marker {
        let style = MARKER_COLOR.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(m.x, y0), (m.x, y1)], 8, 6, style))
            .map_err(draw_err)?;
        let font = (FONT, layout.label).into_font().color(&MARKER_COLOR);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((m.x, y1)) + Text::new(m.label.clone(), (6, 6), font),
            ))
            .map_err(draw_err)?;
    }
    // The reorganisations of the communes: dotted, labelled near the top.
    for (i, m) in spec.reorganisations.iter().enumerate() {
        let style = REORG_COLOR.stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new([(m.x, y0), (m.x, y1)], 3, 4, style))
            .map_err(draw_err)?;
        let font = (FONT, layout.label).into_font().color(&REORG_COLOR);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((m.x, y1))
                    + Text::new(m.label.clone(), (4, 28 + 20 * i as i32), font),
            ))
            .map_err(draw_err)?;
    }

    if layout.legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .margin(12)
            .label_font((FONT, layout.label))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

fn draw_line<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    s: &SeriesSpec,
    layout: &Layout,
) -> Result<()> {
    let color = series_color(s.role);
    let style = color.stroke_width(layout.line);
    for line in &s.lines {
        chart
            .draw_series(LineSeries::new(line.iter().copied(), style))
            .map_err(draw_err)?;
    }
    chart
        .draw_series(
            s.points
                .iter()
                .map(|&p| Circle::new(p, layout.point, color.filled())),
        )
        .map_err(draw_err)?;
    Ok(())
}

/// Renders into an RGB buffer of `size` and encodes it as PNG.
fn render_png(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    ensure_font()?;
    let (w, h) = size;
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&buf, w, h, image::ColorType::Rgb8)
        .map_err(Error::Png)?;
    Ok(png)
}

/// A unit's trend chart as PNG bytes.
pub fn render_trend_spec(spec: &ChartSpec, style: &ChartStyle) -> Result<Vec<u8>> {
    render_png(style.trend_size, |root| draw_chart(root, spec, &TREND))
}

/// The small-multiples chart as PNG bytes: a title and legend strip, then the
/// panels in a grid of `style.columns` columns.
pub fn render_pilots_spec(
    title: &str,
    panels: &[ChartSpec],
    baseline_units: usize,
    style: &ChartStyle,
) -> Result<Vec<u8>> {
    let cols = style.columns.min(panels.len()).max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let (pw, ph) = style.panel_size;
    let header = 80u32;
    let size = (pw * cols as u32, header + ph * rows as u32);
    render_png(size, |root| {
        let (top, grid) = root.split_vertically(header);
        let title = sipas_core::text::nfc(title);
        top.draw(&Text::new(title, (16, 12), (FONT, 26)))
            .map_err(draw_err)?;
        let font: TextStyle<'_> = (FONT, 16).into_text_style(&top);
        // The legend speaks the panels' language (their series labels).
        let label = |role: SeriesRole, default: String| {
            panels
                .first()
                .and_then(|p| p.series.iter().find(|s| s.role == role))
                .map_or(default, |s| s.label.clone())
        };
        let entries = [
            (
                UNIT_COLOR,
                label(SeriesRole::Unit, sipas_core::text::nfc(UNIT_LABEL)),
            ),
            (
                BASELINE_COLOR,
                label(
                    SeriesRole::Baseline,
                    sipas_core::text::nfc(&baseline_label(baseline_units)),
                ),
            ),
        ];
        let mut x = 16;
        for (color, label) in entries {
            let y = 58;
            top.draw(&Rectangle::new(
                [(x, y - 9), (x + 28, y + 9)],
                color.mix(BAND_ALPHA).filled(),
            ))
            .map_err(draw_err)?;
            top.draw(&PathElement::new(
                vec![(x, y), (x + 28, y)],
                color.stroke_width(3),
            ))
            .map_err(draw_err)?;
            top.draw(&Text::new(label.clone(), (x + 36, y - 9), font.clone()))
                .map_err(draw_err)?;
            let (tw, _) = top.estimate_text_size(&label, &font).map_err(draw_err)?;
            x += 36 + tw as i32 + 32;
        }
        let cells = grid.split_evenly((rows, cols));
        for (cell, panel) in cells.iter().zip(panels) {
            draw_chart(cell, panel, &PANEL)?;
        }
        Ok(())
    })
}

/// Colour of the event-study coefficients and the pilot units' forest rows.
pub const EFFECT_COLOR: RGBColor = UNIT_COLOR;
/// Colour of the overall rows of the forest plot.
pub const OVERALL_COLOR: RGBColor = RGBColor(117, 40, 160);
/// Colour of the zero line.
pub const ZERO_COLOR: RGBColor = RGBColor(60, 60, 60);

/// Height of the title strip of the evaluation charts.
const HEADER: u32 = 76;
/// Height of one forest-plot row.
const FOREST_ROW: u32 = 36;

/// Title and optional subtitle in the header strip.
fn draw_header<DB: DrawingBackend>(
    top: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
) -> Result<()> {
    top.draw(&Text::new(nfc(title), (16, 10), (FONT, 24)))
        .map_err(draw_err)?;
    if let Some(sub) = subtitle {
        let font = (FONT, 16).into_font().color(&MARKER_COLOR);
        top.draw(&Text::new(nfc(sub), (16, 46), font))
            .map_err(draw_err)?;
    }
    Ok(())
}

fn nfc(s: &str) -> String {
    sipas_core::text::nfc(s)
}

/// A y / x tick label: no decimals for whole numbers, else one.
fn tick(v: f64) -> String {
    let s = if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v.abs())
    } else {
        format!("{:.1}", v.abs())
    };
    if v < 0.0 && s.bytes().any(|b| b != b'0' && b != b'.') {
        format!("\u{2212}{s}")
    } else {
        s
    }
}

type EffectChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The plot area of an effect chart (event study, rollout) below its header.
fn effect_axes<'a, DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    x_label_area: u32,
) -> Result<EffectChart<'a, DB>> {
    ChartBuilder::on(body)
        .margin(16)
        .margin_top(4)
        .x_label_area_size(x_label_area)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)
}

/// The grid and axes of an effect chart: y ticks and title; x ticks at the whole numbers of
/// `x_ticks` with their labels (none when empty: the caller draws them) and the x title.
fn effect_mesh<DB: DrawingBackend>(
    chart: &mut EffectChart<'_, DB>,
    y_title: &str,
    x_ticks: &[(i64, String)],
    x_title: Option<&str>,
) -> Result<()> {
    let x_label = |x: &f64| {
        #[allow(clippy::cast_possible_truncation)]
        let k = x.round() as i64;
        x_ticks
            .iter()
            .find(|(e, _)| *e == k && (x - x.round()).abs() < 1e-9)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x_ticks.len().min(40))
        .x_label_formatter(&x_label)
        .disable_x_mesh()
        .y_labels(11)
        .y_label_formatter(&|y| tick(*y))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(WHITE)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .y_desc(y_title);
    if let Some(t) = x_title {
        mesh.x_desc(t);
    }
    mesh.draw().map_err(draw_err)
}

/// The event-study chart as PNG bytes (size `style.event_size`).
pub fn render_event_study_spec(spec: &EventStudySpec, style: &ChartStyle) -> Result<Vec<u8>> {
    render_png(style.event_size, |root| {
        let (top, body) = root.split_vertically(HEADER);
        draw_header(&top, &spec.title, spec.subtitle.as_deref())?;
        let (x0, x1) = spec.x_range;
        let (y0, y1) = spec.y_range;
        let mut chart = effect_axes(&body, spec.x_range, spec.y_range, 86)?;
        effect_mesh(&mut chart, &spec.y_title, &[], None)?;

        // Tick labels in two rows (k, then the period), thinned so that
        // period labels never overlap.
        let plot_w = chart.plotting_area().dim_in_pixel().0.max(1) as usize;
        let n = spec.x_labels.len().max(1);
        let step = (n * 72).div_ceil(plot_w).max(1);
        let center_top = Pos::new(HPos::Center, VPos::Top);
        let k_font = (FONT, 16).into_font().color(&BLACK).pos(center_top);
        let p_font = (FONT, 14).into_font().color(&MARKER_COLOR).pos(center_top);
        for (i, (k, klab, period)) in spec.x_labels.iter().enumerate() {
            if i % step != 0 {
                continue;
            }
            let (px, py) = chart.backend_coord(&(*k as f64, y0));
            root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))
                .map_err(draw_err)?;
            root.draw(&Text::new(klab.clone(), (px, py + 8), k_font.clone()))
                .map_err(draw_err)?;
            root.draw(&Text::new(period.clone(), (px, py + 30), p_font.clone()))
                .map_err(draw_err)?;
        }
        let (cx, _) = chart.backend_coord(&(f64::midpoint(x0, x1), y0));
        let (_, by) = chart.backend_coord(&(x0, y0));
        root.draw(&Text::new(
            spec.x_title.clone(),
            (cx, by + 56),
            (FONT, 18).into_font().color(&BLACK).pos(center_top),
        ))
        .map_err(draw_err)?;

        chart
            .draw_series(LineSeries::new([(x0, 0.0), (x1, 0.0)], ZERO_COLOR))
            .map_err(draw_err)?;
        if let Some(m) = &spec.marker {
            let style = MARKER_COLOR.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new([(m.x, y0), (m.x, y1)], 8, 6, style))
                .map_err(draw_err)?;
            let font = (FONT, 16).into_font().color(&MARKER_COLOR);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((m.x, y1)) + Text::new(m.label.clone(), (6, 6), font),
                ))
                .map_err(draw_err)?;
        }
        let bar = EFFECT_COLOR.stroke_width(2);
        for p in &spec.points {
            let x = p.k as f64;
            if let Some((lo, hi)) = p.ci {
                let cap = 0.12;
                for path in [
                    vec![(x, lo), (x, hi)],
                    vec![(x - cap, lo), (x + cap, lo)],
                    vec![(x - cap, hi), (x + cap, hi)],
                ] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(path, bar)))
                        .map_err(draw_err)?;
                }
            }
            let at = (x, p.estimate);
            if p.reference {
                chart
                    .draw_series([
                        Circle::new(at, 6, WHITE.filled()),
                        Circle::new(at, 6, EFFECT_COLOR.stroke_width(2)),
                    ])
                    .map_err(draw_err)?;
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new(at, 6, EFFECT_COLOR.filled())))
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    })
}

/// Colours of the waves' lines (Okabe–Ito, distinguishable in colour-blind vision), in order.
pub const WAVE_COLORS: [RGBColor; 6] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];
/// Colour of the pooled line.
pub const POOLED_COLOR: RGBColor = RGBColor(20, 20, 20);
/// Colour of the pooled line's band (opaque, so the pixels never depend on drawing order).
pub const POOLED_BAND: RGBColor = RGBColor(210, 210, 210);

/// The staggered-rollout chart as PNG bytes (size `style.event_size`): the pooled effect as a
/// thick line over its grey band, one thinner line per wave on top, a legend in the upper left.
pub fn render_rollout_spec(spec: &RolloutSpec, style: &ChartStyle) -> Result<Vec<u8>> {
    render_png(style.event_size, |root| {
        let (top, body) = root.split_vertically(HEADER);
        draw_header(&top, &spec.title, None)?;
        let (x0, x1) = spec.x_range;
        let mut chart = effect_axes(&body, spec.x_range, spec.y_range, 60)?;
        let x_title = nfc(&spec.x_title);
        effect_mesh(
            &mut chart,
            &nfc(&spec.y_title),
            &spec.x_labels,
            Some(&x_title),
        )?;
        chart
            .draw_series(LineSeries::new([(x0, 0.0), (x1, 0.0)], ZERO_COLOR))
            .map_err(draw_err)?;
        #[allow(clippy::cast_precision_loss)]
        let x = |e: i64| e as f64;
        // The band: a polygon from the lower bounds left to right, then the upper bounds back.
        let with_ci: Vec<(f64, f64, f64)> = spec
            .pooled
            .iter()
            .filter_map(|(e, _, ci)| ci.map(|(lo, hi)| (x(*e), lo, hi)))
            .collect();
        for run in with_ci.windows(2).filter(|w| w[1].0 - w[0].0 <= 1.0 + 1e-9) {
            let poly = vec![
                (run[0].0, run[0].1),
                (run[1].0, run[1].1),
                (run[1].0, run[1].2),
                (run[0].0, run[0].2),
            ];
            chart
                .draw_series(std::iter::once(Polygon::new(poly, POOLED_BAND.filled())))
                .map_err(draw_err)?;
        }
        chart
            .draw_series(LineSeries::new(
                spec.pooled.iter().map(|(e, a, _)| (x(*e), *a)),
                POOLED_COLOR.stroke_width(4),
            ))
            .map_err(draw_err)?
            .label(nfc(&spec.pooled_label))
            .legend(|(lx, ly)| {
                PathElement::new(vec![(lx, ly), (lx + 24, ly)], POOLED_COLOR.stroke_width(4))
            });
        for (i, w) in spec.waves.iter().enumerate() {
            let color = WAVE_COLORS[i % WAVE_COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    w.points.iter().map(|(e, a)| (x(*e), *a)),
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(nfc(&w.label))
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 24, ly)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    w.points
                        .iter()
                        .map(|(e, a)| Circle::new((x(*e), *a), 3, color.filled())),
                )
                .map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE)
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 16))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    })
}

/// Pixel size of the forest plot for this many rows.
pub fn forest_size(rows: usize, style: &ChartStyle) -> (u32, u32) {
    let rows = u32::try_from(rows.max(1)).unwrap_or(u32::MAX / FOREST_ROW / 2);
    (style.forest_width, HEADER + FOREST_ROW * rows + 96)
}

/// The forest plot as PNG bytes ([`forest_size`]).
pub fn render_forest_spec(spec: &ForestSpec, style: &ChartStyle) -> Result<Vec<u8>> {
    let size = forest_size(spec.rows.len(), style);
    render_png(size, |root| {
        let (top, body) = root.split_vertically(HEADER);
        draw_header(&top, &spec.title, Some(&spec.subtitle))?;
        let (x0, x1) = spec.x_range;
        let n = spec.rows.len().max(1);
        let nf = n as f64;
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_right(30)
            .margin_top(4)
            .x_label_area_size(56)
            .y_label_area_size(290)
            .build_cartesian_2d(x0..x1, -0.5..(nf - 0.5))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .y_labels(0)
            .disable_y_mesh()
            .x_labels(11)
            .x_label_formatter(&|x| tick(*x))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(WHITE)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .x_desc(&spec.x_title)
            .draw()
            .map_err(draw_err)?;
        let y_of = |i: usize| nf - 1.0 - i as f64;

        // Separator between the overall rows and the units.
        let overall = spec
            .rows
            .iter()
            .filter(|r| r.role != ForestRole::Unit)
            .count();
        if overall > 0 && overall < spec.rows.len() {
            let y = nf - overall as f64 - 0.5;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, y), (x1, y)],
                    6,
                    4,
                    MARKER_COLOR.stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, -0.5), (0.0, nf - 0.5)],
                ZERO_COLOR.stroke_width(2),
            ))
            .map_err(draw_err)?;

        let label_font = (FONT, 16)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (i, r) in spec.rows.iter().enumerate() {
            let y = y_of(i);
            let (px, py) = chart.backend_coord(&(x0, y));
            let font = if r.role == ForestRole::Unit {
                label_font.clone()
            } else {
                label_font.clone().color(&OVERALL_COLOR)
            };
            root.draw(&Text::new(r.label.clone(), (px - 12, py), font))
                .map_err(draw_err)?;
            let color = if r.role == ForestRole::Unit {
                EFFECT_COLOR
            } else {
                OVERALL_COLOR
            };
            if let Some((lo, hi)) = r.ci {
                let style = color.stroke_width(3);
                let cap = 0.2;
                for path in [
                    vec![(lo, y), (hi, y)],
                    vec![(lo, y - cap), (lo, y + cap)],
                    vec![(hi, y - cap), (hi, y + cap)],
                ] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(path, style)))
                        .map_err(draw_err)?;
                }
            }
            if let Some(e) = r.estimate {
                if r.role == ForestRole::Unit {
                    chart
                        .draw_series(std::iter::once(Circle::new((e, y), 6, color.filled())))
                        .map_err(draw_err)?;
                } else {
                    chart
                        .draw_series(std::iter::once(
                            EmptyElement::at((e, y))
                                + Polygon::new(
                                    vec![(0, -9), (9, 0), (0, 9), (-9, 0)],
                                    color.filled(),
                                ),
                        ))
                        .map_err(draw_err)?;
                }
            }
        }
        Ok(())
    })
}
