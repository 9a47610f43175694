//! The self-contained HTML page (inline CSS, no scripts).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sipas_core::text::nfc;
use sipas_core::{Period, PilotSet};

use crate::evaluation::{AggregateQuality, DataQuality};
use crate::labels::{Labels, Lang, fill};
use crate::results::{Estimate, Results};
use crate::spec::{
    baseline_label_in, k_label, p_text, scale_text, shown_pilots, unit_display_name,
};

/// File name of a unit's trend chart.
pub fn trend_file_name(unit_code: &str) -> String {
    format!("trend_{unit_code}.png")
}

/// File name of a headline index's trend chart.
pub fn index_file_name(id: &str) -> String {
    format!("index_{id}.png")
}

/// File name of a headline index's event-study chart (its staggered effects by exposure).
pub fn index_event_file_name(id: &str) -> String {
    format!("index_{id}.event.png")
}

/// File name of the small-multiples chart.
pub const PILOTS_PNG: &str = "pilots.png";
/// File name of the page.
pub const INDEX_HTML: &str = "index.html";

/// Escapes text for HTML element content and attribute values, after NFC.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in nfc(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number with `decimals` decimals, or "—" when undefined.
fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

/// The headline indices: one table of every index's DiD and TWFE, then a chart per index, then
/// the commune PAR ranking of the last period (when the results have one).
fn indices_section(h: &mut String, results: &Results, l: &Labels, lang: Lang) {
    if results.indices.is_empty() {
        return;
    }
    let name = |i: &crate::indices::IndexResults| match lang {
        Lang::Vi => i.name_vi.clone(),
        Lang::En => i.name_en.clone(),
    };
    let _ = write!(
        h,
        "<h2 id=\"indices\">{}</h2>\n<p>{}</p>\n<table>\n<tr><th class=\"name\">{}</th><th class=\"name\">{}</th>\
         <th class=\"name\">{}</th><th class=\"name\">{}</th><th class=\"name\">{}</th><th class=\"name\">{}</th>\
         <th class=\"name\">{}</th></tr>\n",
        escape(l.indices_title),
        escape(l.indices_text),
        escape(l.col_index),
        escape(l.col_scale),
        escape(l.col_did),
        escape(l.col_twfe),
        escape(l.col_att),
        escape(l.col_pretrend),
        escape(l.col_uncertainty)
    );
    for i in &results.indices {
        let carries = if i.uncertainty == "survey" {
            l.uncertainty_survey
        } else {
            l.uncertainty_par
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"name\"><a href=\"#index-{}\">{}</a> <small>({})</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}</td></tr>",
            escape(&i.id),
            escape(&name(i)),
            escape(&i.id),
            scale_text(i.bounds),
            value_ci(i.did.0, i.did.1, i.did.2),
            value_ci(i.twfe.0, i.twfe.1, i.twfe.2),
            i.rollout
                .as_ref()
                .and_then(|r| r.overall.as_ref())
                .map_or_else(
                    || "—".to_string(),
                    |o| { value_ci(Some(o.att), o.ci.map(|c| c.0), o.ci.map(|c| c.1)) }
                ),
            num(i.pretrend_p, 3),
            escape(carries)
        );
    }
    h.push_str("</table>\n");
    // A section per index: its 2×2 quadrants, its trend chart and its event study.
    for i in &results.indices {
        let heading = fill(
            l.index_section_heading,
            &[
                ("name", &name(i)),
                ("id", &i.id),
                ("scale", &scale_text(i.bounds)),
            ],
        );
        let _ = writeln!(
            h,
            "<h3 id=\"index-{}\">{}</h3>",
            escape(&i.id),
            escape(&heading)
        );
        quadrant_table(h, l, i.quadrants);
        let _ = writeln!(
            h,
            "<p>{} {}: {}.</p>",
            escape(l.index_quadrants),
            escape(l.col_did),
            value_ci(i.did.0, i.did.1, i.did.2)
        );
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{}\" width=\"1000\" height=\"600\"><figcaption>{}</figcaption></figure>",
            index_file_name(&i.id),
            escape(&name(i)),
            escape(&heading)
        );
        if i.rollout.as_ref().is_some_and(|r| !r.event.is_empty()) {
            let _ = writeln!(
                h,
                "<figure><img src=\"{}\" alt=\"{}\" width=\"1000\" height=\"600\"><figcaption>{}</figcaption></figure>",
                index_event_file_name(&i.id),
                escape(&fill(l.index_event_title, &[("index", &name(i))])),
                escape(l.index_event_caption)
            );
        }
    }
    let Some(last) = results.par_ranking.iter().map(|r| r.period).max() else {
        return;
    };
    let _ = write!(
        h,
        "<h3 id=\"par-ranking\">{}</h3>\n<p>{}</p>\n<table>\n<tr><th>{}</th><th class=\"name\">{}</th><th>{}</th><th>{}</th></tr>\n",
        escape(&fill(l.par_ranking_title, &[("period", &last.to_string())])),
        escape(l.par_ranking_text),
        escape(l.col_rank),
        escape(l.col_unit),
        escape(l.col_total),
        escape(l.col_rank_interval)
    );
    for r in results.par_ranking.iter().filter(|r| r.period == last) {
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td class=\"name\">{} <small>({})</small></td><td>{}</td><td>{}–{}</td></tr>",
            if r.pilot { " class=\"pilot\"" } else { "" },
            r.rank,
            escape(&r.unit_name),
            escape(&r.unit_code),
            value_ci(r.total.sipas, r.total.lo, r.total.hi),
            r.rank_lo.map_or_else(|| "—".into(), |v| v.to_string()),
            r.rank_hi.map_or_else(|| "—".into(), |v| v.to_string())
        );
    }
    h.push_str("</table>\n");
}

/// The 2×2 table of a DiD: the pilot units and the comparison group before the start, from the
/// start and their change (`q`: pilot pre, pilot post, baseline pre, baseline post).
fn quadrant_table(h: &mut String, l: &Labels, q: [Option<f64>; 4]) {
    let _ = writeln!(
        h,
        "<table>\n<tr><th class=\"name\"></th><th>{}</th><th>{}</th><th>{}</th></tr>",
        escape(l.before_pilot),
        escape(l.since_pilot),
        escape(l.change),
    );
    for (name, pre, post) in [
        (l.unit_legend, q[0], q[1]),
        (l.comparison_group, q[2], q[3]),
    ] {
        let change = pre.zip(post).map(|(a, b)| b - a);
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            num(pre, 2),
            num(post, 2),
            num(change, 2)
        );
    }
    h.push_str("</table>\n");
}

/// "0.58 (0.29–0.88)", or "—" when undefined.
fn value_ci(est: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    match est {
        None => "—".to_string(),
        Some(_) => format!("{} ({})", num(est, 2), interval(lo, hi, 2)),
    }
}

/// The most periods one table of the pilot units shows: wider tables are split in blocks, so that
/// the report reads at 1,400 px without scrolling sideways (checked in a browser by the CLI tests).
const PERIODS_PER_TABLE: usize = 8;

/// "74.1–81.9", or "—" when a bound is undefined.
fn interval(lo: Option<f64>, hi: Option<f64>, decimals: usize) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo:.decimals$}–{hi:.decimals$}"),
        _ => "—".to_string(),
    }
}

const CSS: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1100px;\
padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em;display:block;max-width:100%;overflow-x:auto}\
th,td{border:1px solid #ccc;padding:.3em .55em;text-align:right;white-space:nowrap}\
th{background:#f2f2f2}td.name,th.name{text-align:left;white-space:normal;min-width:8em}\
td.post,th.post,tr.post td{background:#eef5fb}tr.pilot td{background:#fff4e0}small{color:#666}\
.did{font-size:1.3em;font-weight:bold}.scroll{overflow-x:auto}\
figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#555;font-size:.9em}h3{font-size:1.05em;margin-top:1.5em}\
.methods{background:#f8f8f8;border-left:3px solid #ccc;padding:.2em 1em}\
.identity{font-family:'DejaVu Sans Mono',monospace;font-size:.9em}";

/// `page` with each `<img src="NAME">` for which `png(NAME)` gives bytes turned into a
/// `data:image/png;base64,…` URI; the number of images embedded.
pub fn embed_images<E>(
    page: &str,
    mut png: impl FnMut(&str) -> Result<Option<Vec<u8>>, E>,
) -> Result<(String, usize), E> {
    use base64::Engine as _;
    const OPEN: &str = "<img src=\"";
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    let mut n = 0;
    while let Some(at) = rest.find(OPEN) {
        let (before, tail) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        let end = tail.find('"').unwrap_or(tail.len());
        let name = &tail[..end];
        match png(name)? {
            Some(bytes) => {
                out.push_str("data:image/png;base64,");
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                n += 1;
            }
            None => out.push_str(name),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Ok((out, n))
}

/// The report page for these results and pilot set; charts are referenced
/// by relative file names ([`trend_file_name`], [`PILOTS_PNG`]).
pub fn render_html(results: &Results, pilots: &PilotSet) -> String {
    render_html_in(results, pilots, Lang::Vi)
}

/// [`render_html`] with the labels of `lang` ([`crate::labels`]).
pub fn render_html_in(results: &Results, pilots: &PilotSet, lang: Lang) -> String {
    let l = results.labels(lang);
    let mut h = String::new();
    let start = pilots.start;
    let codes = shown_pilots(results, pilots);
    let did = &results.did;
    let periods = &results.periods;
    let post = |p: &sipas_core::Period| *p >= start;
    let cls = |p: &sipas_core::Period| if post(p) { " class=\"post\"" } else { "" };

    let title = l.page_title;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        lang.tag(),
        escape(title),
        escape(title)
    );

    // Several waves: the staggered estimate comes first.
    rollout_section(&mut h, results, l);

    // The programme.
    let with_data = if codes.len() == pilots.units.len() {
        String::new()
    } else {
        fill(l.with_data, &[("n", &codes.len().to_string())])
    };
    let text = fill(
        l.programme_text,
        &[
            ("program", &pilots.program),
            ("pilots", &pilots.units.len().to_string()),
            ("with_data", &with_data),
            ("start", &start.to_string()),
            ("baseline", &results.baseline_unit_count().to_string()),
            ("periods", &periods.len().to_string()),
            (
                "first",
                &periods.first().map(ToString::to_string).unwrap_or_default(),
            ),
            (
                "last",
                &periods.last().map(ToString::to_string).unwrap_or_default(),
            ),
        ],
    );
    let _ = write!(
        h,
        "<h2>{}</h2>\n<p>{}</p>\n",
        escape(l.programme_heading),
        escape(&text)
    );

    // The DiD estimate.
    if let Some(did) = did {
        let headline = fill(
            l.did_headline,
            &[
                ("estimate", &num(did.estimate, 2)),
                ("ci", &interval(did.lo, did.hi, 2)),
                ("se", &num(did.se, 2)),
            ],
        );
        let _ = writeln!(
            h,
            "<h2>{}</h2>\n<p class=\"did\">{}</p>",
            escape(l.did_heading),
            escape(&headline),
        );
        quadrant_table(
            &mut h,
            l,
            [
                did.pilot_pre,
                did.pilot_post,
                did.baseline_pre,
                did.baseline_post,
            ],
        );
        let _ = writeln!(
            h,
            "<p>{}</p>",
            escape(&fill(l.did_reading, &[("start", &start.to_string())]))
        );
    } else {
        let reason = results
            .quality
            .aggregate
            .as_ref()
            .and_then(|a| a.did_unavailable.clone())
            .unwrap_or_else(|| l.did_no_rows.to_string());
        let _ = writeln!(
            h,
            "<h2>{}</h2>\n<p>{} <span lang=\"en\">({})</span></p>",
            escape(l.did_heading),
            escape(&fill(l.did_unavailable, &[("start", &start.to_string())])),
            escape(&reason)
        );
    }

    evaluation_section(&mut h, results, l);
    indices_section(&mut h, results, l, lang);

    // Groups table.
    let _ = write!(
        h,
        "<h2>{}</h2>\n<div class=\"scroll\"><table>\n\
         <tr><th class=\"name\" rowspan=\"2\">{}</th><th colspan=\"3\">{}</th>\
         <th colspan=\"3\">{}</th></tr>\n\
         <tr><th>{sipas}</th><th>{ci}</th><th>n</th><th>{sipas}</th><th>{ci}</th>\
         <th>n</th></tr>\n",
        escape(l.groups_heading),
        escape(l.period),
        escape(l.pilot_units),
        escape(&baseline_label_in(l, results.baseline_unit_count())),
        sipas = escape(l.sipas_column),
        ci = escape(l.ci_label),
    );
    for p in periods {
        let _ = write!(h, "<tr{}><td class=\"name\">{p}</td>", cls(p));
        for series in [&results.pilot_group, &results.baseline] {
            let e = series.get(p).copied().unwrap_or_default();
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td>",
                num(e.sipas, 1),
                interval(e.lo, e.hi, 1),
                e.n
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");

    elements_table(&mut h, results, l, lang);

    // Pilot units table: one row per unit, one column per period, in blocks of at most
    // PERIODS_PER_TABLE periods so that every table fits the page (1,400 px and narrower).
    let _ = write!(
        h,
        "<h2>{}</h2>\n<p><small>{}</small></p>\n",
        escape(l.units_heading),
        escape(l.units_note)
    );
    for block in periods.chunks(PERIODS_PER_TABLE) {
        let _ = write!(
            h,
            "<div class=\"scroll\"><table>\n<tr><th class=\"name\">{}</th>",
            escape(l.unit)
        );
        for p in block {
            let _ = write!(h, "<th{}>{p}</th>", cls(p));
        }
        h.push_str("</tr>\n");
        for code in &codes {
            let Some(u) = results.units.get(*code) else {
                continue;
            };
            let _ = write!(
                h,
                "<tr><td class=\"name\">{} <small>({})<br>{}</small></td>",
                escape(&u.name),
                escape(code),
                escape(&u.district)
            );
            for p in block {
                let e: Estimate = u.by_period.get(p).copied().unwrap_or_default();
                let _ = write!(
                    h,
                    "<td{}>{}<br><small>{}<br>n={}</small></td>",
                    cls(p),
                    num(e.sipas, 1),
                    interval(e.lo, e.hi, 1),
                    e.n
                );
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table></div>\n");
    }

    crate::modes::section(&mut h, &results.modes, l);

    // Charts.
    let _ = writeln!(h, "<h2>{}</h2>", escape(l.charts_heading));
    let _ = writeln!(
        h,
        "<figure><img src=\"{PILOTS_PNG}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
        escape(l.pilots_alt),
        escape(l.pilots_caption)
    );
    for code in &codes {
        let Some(u) = results.units.get(*code) else {
            continue;
        };
        let name = format!("{} — {}", u.name, u.district);
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            escape(&trend_file_name(code)),
            escape(&fill(l.trend_alt, &[("name", &name)])),
            escape(&name)
        );
    }

    todays_units_section(&mut h, results, l);
    methods_section(&mut h, results, start, codes.len(), l);
    quality_section(&mut h, results, l);
    h.push_str("</body>\n</html>\n");
    h
}

/// ` <small>gloss</small>`: the English gloss after a Vietnamese text; nothing when empty.
fn gloss(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" <small>{}</small>", escape(text))
    }
}

/// After a crosswalk: which old units make up each unit with a pilot
/// commune, its treatment intensity, and the DiD under each definition.
fn todays_units_section(h: &mut String, results: &Results, l: &Labels) {
    let ev = &results.evaluation;
    if ev.treatment.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<p>{}{}</p>\n<table>\n\
         <tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        escape(l.todays_heading),
        escape(l.todays_intro),
        gloss(l.todays_intro_gloss),
        escape(l.unit),
        escape(l.former_communes),
        escape(l.pilot_communes),
        escape(l.intensity)
    );
    for t in &ev.treatment {
        let name = results.units.get(&t.unit_code).map_or_else(
            || t.unit_code.clone(),
            |u| format!("{} {}", t.unit_code, u.name),
        );
        let named = crate::evaluation::named_old_units(t);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            escape(&named.all.join(", ")),
            escape(&named.pilots.join(", ")),
            num(t.intensity, 2)
        );
    }
    h.push_str("</table>\n");
    if ev
        .treatment
        .iter()
        .any(|t| t.intensity_basis == "population")
    {
        let _ = writeln!(
            h,
            "<p>{}{}</p>",
            escape(l.todays_population_note),
            gloss(l.todays_population_gloss)
        );
    }
    let rows = ev
        .twfe
        .as_ref()
        .map_or(&[][..], |t| t.treatments.as_slice());
    if !rows.is_empty() {
        let _ = writeln!(
            h,
            "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            escape(l.treatment_definition),
            escape(l.estimate),
            escape(l.ci_label),
            escape(l.treated_of_total)
        );
        for r in rows {
            let label = match r.unit_code.as_deref().unwrap_or_default() {
                "contains_pilot" => l.def_contains_pilot,
                "intensity" => l.def_intensity,
                "intensity_population" => l.def_intensity_population,
                "contains_pilot_unmixed" => l.def_contains_pilot_unmixed,
                other => other,
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td></tr>",
                escape(label),
                num(r.estimate, 2),
                interval(r.lo, r.hi, 2),
                r.n_treated.unwrap_or_default(),
                r.n_clusters.unwrap_or_default()
            );
        }
        h.push_str("</table>\n");
    }
}

/// File name of the event-study chart.
pub const EVENT_STUDY_PNG: &str = "event_study.png";
/// File name of the forest plot.
pub const FOREST_PNG: &str = "did_forest.png";

/// Whether the report has an event-study chart (`event_study.csv` present).
pub fn has_event_study(results: &Results) -> bool {
    !results.evaluation.event_study.is_empty()
}

/// Whether the report has a forest plot (`did_twfe.csv` present).
pub fn has_forest(results: &Results) -> bool {
    results.evaluation.twfe.is_some()
}

/// File name of the staggered-rollout chart.
pub const ROLLOUT_PNG: &str = "rollout.png";

/// Whether the page leads with the staggered rollout: `att_gt.csv` holds several waves.
pub fn has_rollout(results: &Results) -> bool {
    results
        .evaluation
        .rollout
        .as_ref()
        .is_some_and(|r| r.waves().len() > 1 && !r.event.is_empty())
}

/// The staggered estimate the page leads with (several waves): the overall effect with its
/// interval, which estimator, comparison group and base period, the TWFE figure beside it, and
/// the chart of every wave and the pooled line.
fn rollout_section(h: &mut String, results: &Results, l: &Labels) {
    if !has_rollout(results) {
        return;
    }
    let Some(r) = &results.evaluation.rollout else {
        return;
    };
    let _ = writeln!(h, "<h2>{}</h2>", escape(l.rollout_heading));
    if let Some(o) = &r.overall {
        let headline = fill(
            l.rollout_headline,
            &[
                ("estimate", &num(Some(o.att), 2)),
                ("ci", &interval(o.ci.map(|c| c.0), o.ci.map(|c| c.1), 2)),
                ("waves", &r.waves().len().to_string()),
            ],
        );
        let _ = writeln!(h, "<p class=\"did\">{}</p>", escape(&headline));
    }
    let control = match r.info.control.as_str() {
        "not-yet" => l.control_not_yet,
        _ => l.control_never,
    };
    let base = match r.info.base.as_str() {
        "universal" => l.base_universal,
        _ => l.base_varying,
    };
    let mut method = fill(
        l.rollout_method,
        &[
            ("estimator", l.rollout_estimator),
            ("control", control),
            ("base", base),
        ],
    );
    if r.info.design_variance {
        method.push(' ');
        method.push_str(l.rollout_design_variance);
    }
    let _ = writeln!(h, "<p>{}</p>", escape(&method));
    if let Some((twfe, forbidden)) = r.twfe {
        let text = fill(
            l.rollout_twfe,
            &[
                ("twfe", &num(Some(twfe), 2)),
                // `+ 0.0` writes a weight of −0 as 0.
                ("forbidden", &format!("{:.0}", 100.0 * forbidden + 0.0)),
            ],
        );
        let _ = writeln!(h, "<p>{}</p>", escape(&text));
    }
    let _ = writeln!(
        h,
        "<figure><img src=\"{ROLLOUT_PNG}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
        escape(l.rollout_title),
        escape(l.rollout_caption)
    );
}

/// Vietnamese label of an ingest / clean reason key; the key itself when unknown
/// ([`Labels::reason`] for another language).
pub fn reason_label(key: &str) -> &str {
    crate::labels::VI.reason(key)
}

/// "✓" when an identity holds, "✗ không khớp" ("✗ does not match") otherwise.
fn check(ok: bool, l: &Labels) -> String {
    if ok {
        "✓".to_string()
    } else {
        format!("✗ {}", l.mismatch)
    }
}

/// `methods.txt` as HTML: one `<p>` per blank-line-separated paragraph,
/// line breaks inside a paragraph kept as `<br>`, every line escaped.
pub fn paragraphs(text: &str) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    let flush = |para: &mut Vec<String>, out: &mut String| {
        if !para.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", para.join("<br>\n"));
            para.clear();
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            flush(&mut para, &mut out);
        } else {
            para.push(escape(line));
        }
    }
    flush(&mut para, &mut out);
    out
}

/// The declared survey design every SE, interval and chart band comes from
/// (`aggregate-report.json` → `design`), or nothing when the results name none.
fn design_paragraph(results: &Results, l: &Labels) -> String {
    match results
        .quality
        .aggregate
        .as_ref()
        .map(|a| a.design.as_str())
    {
        Some(d) if !d.is_empty() => format!(
            "<p>{}</p>\n",
            fill_html(
                l.design_text,
                &[("design", &format!("<span lang=\"en\">{}</span>", escape(d)))]
            )
        ),
        _ => String::new(),
    }
}

/// "Chung — …" style table cell of an estimate with its interval.
fn est_ci(est: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    format!("<td>{}</td><td>{}</td>", num(est, 2), interval(lo, hi, 2))
}

/// The "Đánh giá thí điểm / Pilot evaluation" section; empty when the results
/// have no evaluation file.
fn evaluation_section(h: &mut String, results: &Results, l: &Labels) {
    let ev = &results.evaluation;
    if ev.twfe.is_none()
        && ev.event_study.is_empty()
        && ev.pretrend.is_none()
        && ev.did_units.is_empty()
    {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<p>{}</p>\n\
         <table>\n<tr><th class=\"name\">{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>p</th><th class=\"name\">{}</th></tr>",
        escape(l.eval_heading),
        escape(l.eval_intro),
        escape(l.method),
        escape(l.estimate),
        escape(l.ci_label),
        escape(l.standard_error),
        escape(l.note)
    );
    if let Some(did) = &results.did {
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td>{}<td>{}</td><td>—</td>\
             <td class=\"name\">{}</td></tr>",
            escape(l.did_pooled),
            est_ci(did.estimate, did.lo, did.hi),
            num(did.se, 2),
            escape(l.did_pooled_note)
        );
    }
    if let Some(t) = &ev.twfe {
        let o = &t.overall;
        let count = |v: Option<u64>| v.map_or_else(|| "—".to_string(), |v| v.to_string());
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td>{}\
             <td>{}</td><td>{}</td><td class=\"name\">{}</td></tr>",
            escape(l.twfe_cr1),
            est_ci(o.estimate, o.lo, o.hi),
            num(o.se, 2),
            escape(&p_text(o.p)),
            escape(&fill(
                l.twfe_note,
                &[
                    ("clusters", &count(o.n_clusters)),
                    ("treated", &count(o.n_treated)),
                    ("cells", &count(o.n_obs)),
                ]
            ))
        );
        if o.p_wild.is_some() || o.lo_wild.is_some() {
            let _ = writeln!(
                h,
                "<tr><td class=\"name\">{}</td>{}\
                 <td>—</td><td>{}</td><td class=\"name\">{}</td></tr>",
                escape(l.twfe_wild),
                est_ci(o.estimate, o.lo_wild, o.hi_wild),
                escape(&p_text(o.p_wild)),
                escape(&fill(
                    l.wild_note,
                    &[
                        ("weights", &o.bootstrap_weights),
                        ("replicates", &count(o.replicates)),
                        ("seed", &count(o.seed)),
                    ]
                ))
            );
        }
    }
    h.push_str("</table>\n");
    if let Some(info) = &ev.info
        && let Some(sel) = &info.selection
    {
        let _ = writeln!(
            h,
            "<p><small>{}</small></p>",
            escape(&fill(
                l.selection_note,
                &[
                    ("cells", &sel.cells.to_string()),
                    ("pilots", &sel.pilot_units.to_string()),
                    ("baseline", &sel.baseline_units.to_string()),
                    ("set", &info.options.baseline),
                    ("weighting", &info.options.weighting),
                    ("dropped", &sel.dropped_units.to_string()),
                    ("outside", &sel.dropped_cells_outside_baseline.to_string()),
                    ("undefined", &sel.dropped_cells_undefined.to_string()),
                    ("no_pre", &sel.dropped_units_no_pre_period.to_string()),
                    ("no_pre_cells", &sel.dropped_cells_no_pre_period.to_string()),
                ]
            ))
        );
        if sel.dropped_units_later_wave > 0 {
            let _ = writeln!(
                h,
                "<p><small>{}</small></p>",
                escape(&fill(
                    l.selection_later_wave,
                    &[
                        ("later", &sel.dropped_units_later_wave.to_string()),
                        ("later_cells", &sel.dropped_cells_later_wave.to_string()),
                    ]
                ))
            );
        }
    }
    let _ = writeln!(h, "<p>{}</p>", escape(l.twfe_reading));
    if let Some(t) = &ev.pretrend {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p>{}</p>",
            escape(l.pretrend_heading),
            escape(&fill(
                l.pretrend_text,
                &[
                    ("q", &t.q.to_string()),
                    ("df1", &t.df1.to_string()),
                    ("df2", &t.df2.to_string()),
                    ("f", &num(t.f, 2)),
                    ("p", &p_text(t.p)),
                    (
                        "wild",
                        &t.p_wild.map_or_else(String::new, |_| {
                            fill(l.pretrend_wild, &[("p", &p_text(t.p_wild))])
                        })
                    ),
                ]
            ))
        );
    }
    if has_event_study(results) {
        let _ = writeln!(
            h,
            "<figure><img src=\"{EVENT_STUDY_PNG}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            escape(l.event_title),
            escape(l.event_caption)
        );
        let _ = writeln!(
            h,
            "<div class=\"scroll\"><table>\n<tr><th>k</th><th class=\"name\">{}</th>\
             <th>{}</th><th>{}</th><th>p</th></tr>",
            escape(l.period),
            escape(l.estimate),
            escape(l.ci_label)
        );
        for c in &ev.event_study {
            let _ = writeln!(
                h,
                "<tr{}><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if c.k >= 0 { " class=\"post\"" } else { "" },
                escape(&k_label(c.k)),
                c.period,
                num(c.estimate, 2),
                if c.is_reference() {
                    escape(l.reference)
                } else {
                    interval(c.lo, c.hi, 2)
                },
                escape(&p_text(c.p))
            );
        }
        h.push_str("</table></div>\n");
    }
    if has_forest(results) {
        let _ = writeln!(
            h,
            "<figure><img src=\"{FOREST_PNG}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            escape(l.forest_title),
            escape(l.forest_caption)
        );
    }
    unit_effects_table(h, results, l);
}

/// Per-pilot-unit table: the 2×2 of cell means and the unit's own TWFE.
fn unit_effects_table(h: &mut String, results: &Results, l: &Labels) {
    let ev = &results.evaluation;
    let twfe_units: &[crate::evaluation::TwfeRow] =
        ev.twfe.as_ref().map_or(&[], |t| t.units.as_slice());
    let codes = ev.unit_codes();
    if codes.is_empty() {
        return;
    }
    let gloss = if l.unit_effects_gloss.is_empty() {
        String::new()
    } else {
        format!(
            " <small lang=\"en\">{}</small>",
            escape(l.unit_effects_gloss)
        )
    };
    let _ = writeln!(
        h,
        "<h3>{}</h3>\n<p>{}{gloss}</p>\n\
         <div class=\"scroll\"><table>\n\
         <tr><th class=\"name\" rowspan=\"2\">{}</th><th colspan=\"2\">{}</th>\
         <th colspan=\"2\">{}</th><th colspan=\"2\">{}</th>\
         <th>TWFE</th></tr>\n\
         <tr><th>{before}</th><th>{after}</th><th>{before}</th><th>{after}</th><th>{est}</th>\
         <th>{}</th><th>{est}</th></tr>",
        escape(l.unit_effects_heading),
        escape(l.unit_effects_text),
        escape(l.unit),
        escape(l.pilot_units),
        escape(l.comparison_group),
        escape(l.did_survey_se),
        escape(l.ci_label),
        before = escape(l.before),
        after = escape(l.after),
        est = escape(l.estimate),
    );
    for code in codes {
        let d = ev.did_units.iter().find(|d| d.unit_code == code);
        let t = twfe_units
            .iter()
            .find(|u| u.unit_code.as_deref() == Some(code));
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{} <small>({})</small></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td>{}<td>{}</td></tr>",
            escape(&unit_display_name(results, code)),
            escape(code),
            num(d.and_then(|d| d.pilot_pre), 2),
            num(d.and_then(|d| d.pilot_post), 2),
            num(d.and_then(|d| d.baseline_pre), 2),
            num(d.and_then(|d| d.baseline_post), 2),
            est_ci(
                d.and_then(|d| d.estimate),
                d.and_then(|d| d.lo),
                d.and_then(|d| d.hi)
            ),
            num(t.and_then(|t| t.estimate), 2),
        );
    }
    h.push_str("</table></div>\n");
}

/// Name of a group column from the bundled instruments (newest first), in
/// the report's language.
fn group_name(id: &str, lang: Lang) -> Option<String> {
    sipas_core::bundled::INSTRUMENT_IDS
        .iter()
        .rev()
        .filter_map(|i| sipas_core::bundled::instrument(i))
        .find_map(|ins| {
            ins.groups()
                .iter()
                .find(|g| g.id == id)
                .map(|g| match lang {
                    Lang::Vi => g.name_vi.clone(),
                    Lang::En => g.name_en.clone(),
                })
        })
}

/// Elements and parts, pilots vs baseline, in the last period with both groups.
fn elements_table(h: &mut String, results: &Results, l: &Labels, lang: Lang) {
    if results.group_columns.is_empty() {
        return;
    }
    let Some((period, pilot)) = results
        .pilot_parts
        .iter()
        .rev()
        .find(|(p, _)| results.baseline_parts.contains_key(*p))
    else {
        return;
    };
    let base = &results.baseline_parts[period];
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<table>\n\
         <tr><th class=\"name\">{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        escape(&fill(
            l.elements_heading,
            &[("period", &period.to_string())]
        )),
        escape(l.part_element),
        escape(l.pilot_units),
        escape(l.comparison_group),
        escape(l.difference)
    );
    for (i, id) in results.group_columns.iter().enumerate() {
        let (a, b) = (
            pilot.get(i).copied().flatten(),
            base.get(i).copied().flatten(),
        );
        let name = group_name(id, lang).unwrap_or_else(|| id.clone());
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{} <small>({})</small></td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            escape(&name),
            escape(id),
            num(a, 1),
            num(b, 1),
            num(a.zip(b).map(|(a, b)| a - b), 1)
        );
    }
    h.push_str("</table>\n");
}

/// The name of a bootstrap weight distribution.
fn weights_name(key: &str, l: &Labels) -> String {
    match key {
        "webb" => l.webb_weights.to_string(),
        "rademacher" => "Rademacher (±1)".to_string(),
        other => other.to_string(),
    }
}

/// `template` escaped, then its `{name}` holes filled with markup.
fn fill_html(template: &str, html: &[(&str, &str)]) -> String {
    fill(&escape(template), html)
}

/// The "Phương pháp / Methods" section: the catalogue's text with the
/// numbers of these results, then `methods.txt` (English, `lang="en"`).
fn methods_section(
    h: &mut String,
    results: &Results,
    start: Period,
    pilot_units: usize,
    l: &Labels,
) {
    let ev = &results.evaluation;
    let periods = &results.periods;
    let pre = periods.iter().filter(|p| **p < start).count();
    let post = periods.len() - pre;
    let first = periods.first().map(ToString::to_string).unwrap_or_default();
    let last = periods.last().map(ToString::to_string).unwrap_or_default();
    let start_s = start.to_string();
    let pilot_units_s = pilot_units.to_string();
    let mut m = String::new();
    let _ = write!(
        m,
        "<h2>{}</h2>\n<h3>{}</h3>\n<p>{}</p>\n<p>{}</p>\n<h3>{}</h3>\n<p>{}</p>\n{}\
         <h3>{}</h3>\n<p>{}</p>\n",
        escape(l.methods_heading),
        escape(l.index_heading),
        escape(l.index_text),
        escape(&fill(
            l.data_text,
            &[
                ("pilot_units", &pilot_units_s),
                ("baseline", &results.baseline_unit_count().to_string()),
                ("periods", &periods.len().to_string()),
                ("first", &first),
                ("last", &last),
                ("start", &start_s),
                ("pre", &pre.to_string()),
                ("post", &post.to_string()),
            ]
        )),
        escape(l.se_heading),
        fill_html(l.se_text, &[("survey", "<i>survey</i>")]),
        design_paragraph(results, l),
        escape(l.did22_heading),
        escape(&fill(
            l.did22_text,
            &[
                ("start", &start_s),
                (
                    "per_unit",
                    if ev.did_units.is_empty() {
                        ""
                    } else {
                        l.did22_per_unit
                    }
                ),
            ]
        )),
    );
    if let Some(t) = &ev.twfe {
        let o = &t.overall;
        let count = |v: Option<u64>| v.map_or_else(|| "—".to_string(), |v| v.to_string());
        let text = fill_html(
            l.twfe_text,
            &[
                (
                    "model",
                    "y<sub>ut</sub> = α<sub>u</sub> + λ<sub>t</sub> + β·D<sub>ut</sub>",
                ),
                ("alpha", "α<sub>u</sub>"),
                ("lambda", "λ<sub>t</sub>"),
                ("d", "D<sub>ut</sub>"),
            ],
        );
        let _ = writeln!(
            m,
            "<h3>{}</h3>\n<p>{}</p>",
            escape(l.twfe_heading),
            fill(
                &text,
                &[
                    ("start", &escape(&start_s)),
                    ("clusters", &count(o.n_clusters)),
                    ("treated", &count(o.n_treated)),
                    ("cells", &count(o.n_obs)),
                ]
            )
        );
        if o.p_wild.is_some() || o.lo_wild.is_some() {
            let _ = writeln!(
                m,
                "<p>{}</p>",
                escape(&fill(
                    l.wcr_text,
                    &[
                        ("treated", &count(o.n_treated)),
                        ("weights", &weights_name(&o.bootstrap_weights, l)),
                        ("replicates", &count(o.replicates)),
                        ("seed", &count(o.seed)),
                    ]
                ))
            );
        }
    }
    if !ev.event_study.is_empty() || ev.pretrend.is_some() {
        let reference = match ev.event_study.iter().find(|c| c.is_reference()) {
            Some(c) if c.k != -1 => fill(
                l.ref_k,
                &[("k", &k_label(c.k)), ("period", &c.period.to_string())],
            ),
            _ => l.ref_default.to_string(),
        };
        let wild = if ev.pretrend.as_ref().is_some_and(|t| t.p_wild.is_some()) {
            l.event_wild
        } else {
            ""
        };
        let text = fill_html(l.event_text, &[("beta_k", "β<sub>k</sub>")]);
        let _ = writeln!(
            m,
            "<h3>{}</h3>\n<p>{}</p>",
            escape(l.event_heading),
            fill(
                &text,
                &[
                    ("start", &escape(&start_s)),
                    ("reference", &escape(&reference)),
                    ("wild", &escape(wild)),
                ]
            )
        );
    }
    let _ = write!(
        m,
        "<h3>{}</h3>\n<ul>\n<li>{}</li>\n<li>{}</li>\n<li>{}</li>\n<li>{}</li>\n</ul>\n",
        escape(l.assumptions_heading),
        escape(l.assume_parallel),
        escape(&fill(l.assume_anticipation, &[("start", &start_s)])),
        escape(l.assume_spillover),
        escape(&fill(l.assume_few, &[("pilot_units", &pilot_units_s)]))
    );
    h.push_str(&nfc(&m));
    if let Some(text) = &ev.methods {
        let _ = write!(
            h,
            "<h3 lang=\"en\">Methods (English)</h3>\n<div class=\"methods\" lang=\"en\">\n{}</div>\n",
            paragraphs(text)
        );
    }
}

/// A table of reason → rows.
fn reasons_table(h: &mut String, caption: &str, reasons: &BTreeMap<String, u64>, l: &Labels) {
    let _ = writeln!(
        h,
        "<table>\n<tr><th class=\"name\">{}</th><th class=\"name\">{}</th><th>{}</th></tr>",
        escape(caption),
        escape(l.code),
        escape(l.responses)
    );
    for (key, n) in reasons {
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td class=\"name\"><small>{}</small></td>\
             <td>{n}</td></tr>",
            escape(l.reason(key)),
            escape(key)
        );
    }
    h.push_str("</table>\n");
}

/// The "Chất lượng dữ liệu / Data quality" section; empty without stage reports.
fn quality_section(h: &mut String, results: &Results, l: &Labels) {
    let q = &results.quality;
    if q.ingest.is_none() && q.clean.is_none() && q.aggregate.is_none() {
        return;
    }
    let _ = writeln!(h, "<h2>{}</h2>", escape(l.quality_heading));
    if let Some(i) = &q.ingest {
        let sum: u64 = i.quarantined_by_reason.values().sum();
        let (read, accepted, quarantined) = (
            i.rows_read.to_string(),
            i.accepted.to_string(),
            i.quarantined.to_string(),
        );
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p>{}</p>\n<p class=\"identity\">{}</p>",
            escape(l.ingest_heading),
            escape(&fill(
                l.ingest_summary,
                &[
                    ("read", &read),
                    ("accepted", &accepted),
                    ("quarantined", &quarantined)
                ]
            )),
            escape(&fill(
                l.ingest_identity,
                &[
                    ("read", &read),
                    ("accepted", &accepted),
                    ("quarantined", &quarantined),
                    ("sum", &sum.to_string()),
                    (
                        "check1",
                        &check(i.rows_read == i.accepted + i.quarantined, l)
                    ),
                    ("check2", &check(i.quarantined == sum, l)),
                ]
            ))
        );
        reasons_table(h, l.quarantine_reasons, &i.quarantined_by_reason, l);
    }
    if let Some(c) = &q.clean {
        let sum: u64 = c.excluded_by_reason.values().sum();
        let (rows_in, kept, excluded) = (
            c.rows_in.to_string(),
            c.kept.to_string(),
            c.excluded.to_string(),
        );
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p>{}</p>\n<p class=\"identity\">{}</p>",
            escape(l.clean_heading),
            escape(&fill(
                l.clean_summary,
                &[
                    ("rows_in", &rows_in),
                    ("kept", &kept),
                    ("excluded", &excluded)
                ]
            )),
            escape(&fill(
                l.clean_identity,
                &[
                    ("rows_in", &rows_in),
                    ("kept", &kept),
                    ("excluded", &excluded),
                    ("sum", &sum.to_string()),
                    ("check1", &check(c.rows_in == c.kept + c.excluded, l)),
                    ("check2", &check(c.excluded == sum, l)),
                ]
            ))
        );
        reasons_table(h, l.exclusion_reasons, &c.excluded_by_reason, l);
        if !c.flagged_by_reason.is_empty() {
            let _ = writeln!(h, "<p><small>{}</small></p>", escape(l.flagged_note));
            reasons_table(h, l.flagged_caption, &c.flagged_by_reason, l);
        }
    }
    if let (Some(i), Some(c)) = (&q.ingest, &q.clean) {
        let _ = writeln!(
            h,
            "<p class=\"identity\">{}</p>",
            escape(&fill(
                l.ingest_clean_link,
                &[
                    ("accepted", &i.accepted.to_string()),
                    ("rows_in", &c.rows_in.to_string()),
                    ("check", &check(i.accepted == c.rows_in, l)),
                ]
            ))
        );
    }
    if let Some(a) = &q.aggregate {
        aggregate_quality(h, results, a, l);
    }
    chain(h, q, l);
}

/// Vietnamese label of a response channel; the key itself when unknown
/// ([`Labels::channel`] for another language).
pub fn channel_label(key: &str) -> &str {
    crate::labels::VI.channel(key)
}

/// The aggregate step: rows used by channel, rows of other channels left
/// out, and the identities with the clean step and the unit × period cells.
fn aggregate_quality(h: &mut String, results: &Results, a: &AggregateQuality, l: &Labels) {
    let sum: u64 = a.excluded_by_channel.values().sum();
    let cells_n: u64 = results
        .units
        .values()
        .flat_map(|u| u.by_period.values())
        .map(|e| e.n)
        .sum();
    let (read, used, other) = (
        a.rows_read.to_string(),
        a.rows_used.to_string(),
        a.rows_excluded_channel.to_string(),
    );
    let _ = writeln!(
        h,
        "<h3>{}</h3>\n<p>{}</p>\n\
         <table>\n<tr><th class=\"name\">{}</th><th class=\"name\">{}</th><th>{}</th>\
         <th>{}</th></tr>",
        escape(l.aggregate_heading),
        escape(&fill(
            l.aggregate_summary,
            &[
                ("read", &read),
                ("used", &used),
                ("channel", l.channel(&a.channel)),
                ("other", &other),
            ]
        )),
        escape(l.channel),
        escape(l.code),
        escape(l.used),
        escape(l.set_apart)
    );
    let row = |h: &mut String, key: &str, used: u64, excluded: u64| {
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td class=\"name\"><small>{}</small></td>\
             <td>{used}</td><td>{excluded}</td></tr>",
            escape(l.channel(key)),
            escape(key)
        );
    };
    if a.channels_used.is_empty() {
        row(h, &a.channel, a.rows_used, 0);
    } else {
        for (key, &n) in &a.channels_used {
            row(h, key, n, 0);
        }
    }
    for (key, &n) in &a.excluded_by_channel {
        row(h, key, 0, n);
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p class=\"identity\">{}</p>",
        escape(&fill(
            l.aggregate_identity,
            &[
                ("read", &read),
                ("used", &used),
                ("other", &other),
                ("sum", &sum.to_string()),
                ("cells", &cells_n.to_string()),
                (
                    "check1",
                    &check(a.rows_read == a.rows_used + a.rows_excluded_channel, l)
                ),
                ("check2", &check(a.rows_excluded_channel == sum, l)),
                ("check3", &check(a.rows_used == cells_n, l)),
            ]
        ))
    );
    if let Some(c) = &results.quality.clean {
        let _ = writeln!(
            h,
            "<p class=\"identity\">{}</p>",
            escape(&fill(
                l.clean_aggregate_link,
                &[
                    ("kept", &c.kept.to_string()),
                    ("read", &read),
                    ("check", &check(c.kept == a.rows_read, l)),
                ]
            ))
        );
    }
}

/// The whole chain on one line, when at least two steps are known:
/// read → accepted → kept → used, with ✓ when every identity holds.
fn chain(h: &mut String, q: &DataQuality, l: &Labels) {
    let mut steps: Vec<String> = Vec::new();
    let mut ok = true;
    let step = |template: &str, n: u64| fill(template, &[("n", &n.to_string())]);
    if let Some(i) = &q.ingest {
        steps.push(step(l.chain_read, i.rows_read));
        steps.push(step(l.chain_accepted, i.accepted));
        ok &= i.reconciles();
    }
    if let Some(c) = &q.clean {
        if let Some(i) = &q.ingest {
            ok &= i.accepted == c.rows_in;
        } else {
            steps.push(step(l.chain_clean_in, c.rows_in));
        }
        steps.push(step(l.chain_kept, c.kept));
        ok &= c.reconciles();
    }
    if let Some(a) = &q.aggregate {
        if let Some(c) = &q.clean {
            ok &= c.kept == a.rows_read;
        } else {
            steps.push(step(l.chain_aggregate_in, a.rows_read));
        }
        steps.push(step(l.chain_used, a.rows_used));
        ok &= a.reconciles();
    }
    let known = [q.ingest.is_some(), q.clean.is_some(), q.aggregate.is_some()];
    if known.iter().filter(|k| **k).count() >= 2 {
        let _ = writeln!(
            h,
            "<p class=\"identity\">{}</p>",
            escape(&fill(
                l.chain,
                &[("steps", &steps.join(" → ")), ("check", &check(ok, l))]
            ))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_normalises() {
        assert_eq!(
            escape("a<b> & \"c\" 'd'"),
            "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;"
        );
        assert_eq!(escape("Pho\u{302}\u{301}"), "Phố");
    }

    #[test]
    fn paragraphs_keep_blank_line_breaks_and_escape() {
        assert_eq!(
            paragraphs("A\n\n b <c>\n d\n\n\n"),
            "<p>A</p>\n<p>b &lt;c&gt;<br>\nd</p>\n"
        );
        assert_eq!(paragraphs(""), "");
    }

    #[test]
    fn formats_numbers_and_undefined() {
        assert_eq!(num(Some(6.35), 2), "6.35");
        assert_eq!(num(None, 1), "—");
        assert_eq!(interval(Some(74.080_072), Some(81.919_928), 1), "74.1–81.9");
        assert_eq!(interval(None, Some(1.0), 1), "—");
    }
}
