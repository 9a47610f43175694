//! PNG trend charts and an HTML report from sipas results.
//!
//! `sipas report --results RESULTS --out REPORT` reads the result tables that
//! `sipas aggregate` writes and produces, for the pilot evaluation:
//! a trend chart per pilot unit (`trend_<code>.png`), a small-multiples chart
//! of all pilot units on one shared axis (`pilots.png`) and a self-contained
//! page (`index.html`). When the results folder holds the pilot-evaluation
//! files of `sipas aggregate` (`event_study.csv`, `did_twfe.csv`, …) it also
//! draws `event_study.png` and `did_forest.png` and adds the evaluation,
//! methods and data-quality sections; every such file is optional. With a
//! staggered rollout of several waves (`att_*.csv`) the page leads with its
//! overall effect and draws `rollout.png` ([`rollout`]).
//!
//! # Overview
//! - [`load_results`] reads `unit_period.csv`, `groups.csv` and `did.csv` into [`Results`],
//!   plus the [`evaluation`] files present; [`load_results_with`] also reads the
//!   ingest / clean reports named by [`ReportOptions`] (by default beside the results).
//! - [`spec`] computes what a chart shows ([`ChartSpec`]: points, bands, y range,
//!   labels, the pilot start marker) without drawing; [`render`] draws it with
//!   plotters and the embedded DejaVu Sans font into PNG bytes.
//! - [`render_trend`], [`render_pilots`], [`render_event_study`], [`render_forest`] and
//!   [`render_html`] produce the outputs in memory; [`write_report`] (or
//!   [`write_report_with`]) writes them all atomically.
//!
//! Output depends only on the input: same results, same pixels and bytes.

mod error;
pub mod evaluation;
pub mod html;
pub mod indices;
pub mod labels;
pub mod modes;
pub mod render;
pub mod results;
pub mod rollout;
pub mod spec;
mod table;

use std::path::{Path, PathBuf};

use sipas_core::PilotSet;

pub use error::{Error, Result};
pub use evaluation::{
    AggregateQuality, CleanQuality, DataQuality, Evaluation, EventCoef, IngestQuality, Pretrend,
    ReportOptions, Twfe, TwfeRow, UnitDid,
};
pub use html::{render_html, render_html_in};
pub use labels::Lang;
pub use render::ChartStyle;
pub use results::{Did, Estimate, Results, UnitResults, load_results, load_results_with};
pub use spec::{
    ChartSpec, EventStudySpec, ForestRole, ForestSpec, MarkerSpec, SeriesRole, SeriesSpec,
};

/// Title of the small-multiples chart (Vietnamese; [`labels`] has every language).
pub const PILOTS_TITLE: &str = labels::VI.pilots_title;

/// A unit's trend chart as PNG bytes.
pub fn render_trend(
    results: &Results,
    pilots: &PilotSet,
    unit_code: &str,
    style: &ChartStyle,
) -> Result<Vec<u8>> {
    let spec = spec::trend_spec_in(results, pilots, unit_code, style.lang)?;
    render::render_trend_spec(&spec, style)
}

/// The small-multiples chart of the pilot units as PNG bytes.
pub fn render_pilots(results: &Results, pilots: &PilotSet, style: &ChartStyle) -> Result<Vec<u8>> {
    let panels = spec::pilots_spec_in(results, pilots, style.lang)?;
    render::render_pilots_spec(
        style.lang.labels().pilots_title,
        &panels,
        results.baseline_unit_count(),
        style,
    )
}

/// The event-study chart as PNG bytes; `None` when the results have no event study.
pub fn render_event_study(results: &Results, style: &ChartStyle) -> Result<Option<Vec<u8>>> {
    spec::event_study_spec_in(results, style.lang)
        .map(|s| render::render_event_study_spec(&s, style))
        .transpose()
}

/// The forest plot as PNG bytes; `None` when the results have no TWFE estimate.
pub fn render_forest(results: &Results, style: &ChartStyle) -> Result<Option<Vec<u8>>> {
    spec::forest_spec_in(results, style.lang)
        .map(|s| render::render_forest_spec(&s, style))
        .transpose()
}

/// The staggered-rollout chart (one line per wave, the pooled line with its band) as PNG bytes;
/// `None` unless the results hold a rollout of several waves ([`html::has_rollout`]).
pub fn render_rollout(results: &Results, style: &ChartStyle) -> Result<Option<Vec<u8>>> {
    if !html::has_rollout(results) {
        return Ok(None);
    }
    let Some(r) = &results.evaluation.rollout else {
        return Ok(None);
    };
    rollout::rollout_spec_with(r, results.labels(style.lang))
        .map(|s| render::render_rollout_spec(&s, style))
        .transpose()
}

/// The event-study chart of a headline index (its Callaway–Sant'Anna effects by exposure) as PNG
/// bytes; `None` when the results hold no staggered rollout of it.
pub fn render_index_event(
    results: &Results,
    idx: &indices::IndexResults,
    style: &ChartStyle,
) -> Result<Option<Vec<u8>>> {
    let Some(r) = &idx.rollout else {
        return Ok(None);
    };
    let name = match style.lang {
        Lang::Vi => &idx.name_vi,
        Lang::En => &idx.name_en,
    };
    rollout::index_rollout_spec(r, name, style.lang, results.level())
        .map(|s| render::render_rollout_spec(&s, style))
        .transpose()
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    /// Files written, in the order written.
    pub files: Vec<PathBuf>,
    /// Pilot units charted (present in the results), in code order.
    pub pilot_units: Vec<String>,
    /// Pilot units of the pilot set that have no rows in the results.
    pub missing_pilots: Vec<String>,
    /// Non-pilot units in the results.
    pub baseline_units: usize,
    /// Periods shown.
    pub periods: usize,
}

/// Reads the results in `results_dir` (and the ingest / clean reports beside
/// it, [`ReportOptions::beside`]) and writes every chart and `index.html` into
/// `out_dir` (created if needed), each file atomically.
pub fn write_report(
    results_dir: &Path,
    pilots: &PilotSet,
    out_dir: &Path,
) -> Result<ReportSummary> {
    write_report_with(
        results_dir,
        pilots,
        out_dir,
        &ReportOptions::beside(results_dir),
    )
}

/// [`write_report`] with the labels in `lang` (`sipas report --lang`).
pub fn write_report_in(
    results_dir: &Path,
    pilots: &PilotSet,
    out_dir: &Path,
    lang: Lang,
) -> Result<ReportSummary> {
    write_report_full(
        results_dir,
        pilots,
        out_dir,
        &ReportOptions::beside(results_dir),
        lang,
    )
}

/// [`write_report`] with the stage reports named explicitly.
pub fn write_report_with(
    results_dir: &Path,
    pilots: &PilotSet,
    out_dir: &Path,
    options: &ReportOptions,
) -> Result<ReportSummary> {
    write_report_full(results_dir, pilots, out_dir, options, Lang::Vi)
}

/// [`write_report_with`] in `lang`.
pub fn write_report_full(
    results_dir: &Path,
    pilots: &PilotSet,
    out_dir: &Path,
    options: &ReportOptions,
    lang: Lang,
) -> Result<ReportSummary> {
    let results = load_results_with(results_dir, options)?;
    spec::check_pilots(&results, pilots)?;
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let style = ChartStyle {
        lang,
        ..ChartStyle::default()
    };
    let shown: Vec<String> = spec::shown_pilots(&results, pilots)
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut files = Vec::new();
    for code in &shown {
        let png = render_trend(&results, pilots, code, &style)?;
        files.push(write_atomic(out_dir, &html::trend_file_name(code), &png)?);
    }
    let png = render_pilots(&results, pilots, &style)?;
    files.push(write_atomic(out_dir, html::PILOTS_PNG, &png)?);
    if let Some(png) = render_event_study(&results, &style)? {
        files.push(write_atomic(out_dir, html::EVENT_STUDY_PNG, &png)?);
    }
    if let Some(png) = render_forest(&results, &style)? {
        files.push(write_atomic(out_dir, html::FOREST_PNG, &png)?);
    }
    if let Some(png) = render_rollout(&results, &style)? {
        files.push(write_atomic(out_dir, html::ROLLOUT_PNG, &png)?);
    }
    // One trend chart per headline index: the pilot units pooled against the baseline.
    for idx in &results.indices {
        let spec = spec::index_spec_in(&results, idx, pilots.start, lang);
        let png = render::render_trend_spec(&spec, &style)?;
        files.push(write_atomic(
            out_dir,
            &html::index_file_name(&idx.id),
            &png,
        )?);
        if let Some(png) = render_index_event(&results, idx, &style)? {
            files.push(write_atomic(
                out_dir,
                &html::index_event_file_name(&idx.id),
                &png,
            )?);
        }
    }
    let page = render_html_in(&results, pilots, lang);
    files.push(write_atomic(out_dir, html::INDEX_HTML, page.as_bytes())?);
    Ok(ReportSummary {
        files,
        missing_pilots: pilots
            .units
            .iter()
            .filter(|c| !shown.contains(c))
            .cloned()
            .collect(),
        pilot_units: shown,
        baseline_units: results.baseline_unit_count(),
        periods: results.periods.len(),
    })
}

/// Makes `out_dir/index.html` (as [`write_report`] wrote it) self-contained: every
/// `<img src="NAME.png">` whose PNG is in `out_dir` becomes a `data:image/png;base64` URI, so the
/// page alone can be mailed or archived and still shows its charts. The PNG files stay beside it.
/// Returns the number of images embedded.
pub fn embed_images(out_dir: &Path) -> Result<usize> {
    let index = out_dir.join(html::INDEX_HTML);
    let page = std::fs::read_to_string(&index).map_err(|source| Error::Io {
        path: index.clone(),
        source,
    })?;
    let (page, n) = html::embed_images(&page, |name| {
        let path = out_dir.join(name);
        let png = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        (png && !name.contains(['/', '\\']) && path.is_file())
            .then(|| std::fs::read(&path))
            .transpose()
            .map_err(|source| Error::Io { path, source })
    })?;
    write_atomic(out_dir, html::INDEX_HTML, page.as_bytes())?;
    Ok(n)
}

/// Writes `bytes` to `dir/name` atomically (see
/// [`sipas_core::atomic::write_bytes`]).
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    sipas_core::atomic::write_bytes(&path, bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
