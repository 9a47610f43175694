//! The evaluation tables (fixed six decimals, atomic writes) and the
//! methods text for the report.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sipas_core::results;

use super::{DidRow, Evaluation, EvaluationOptions, PanelSelection};
use crate::write::{finite_num, write_atomic, write_csv};
use crate::{Error, Result};

fn did_line(s: &mut String, r: &DidRow) {
    let (scope, code) = match &r.unit_code {
        None => ("overall", ""),
        Some(c) => ("unit", c.as_str()),
    };
    let _ = write!(
        s,
        "{scope},{code},{},{},{},{},{},",
        finite_num(Some(r.estimate)),
        finite_num(Some(r.se_cr1)),
        finite_num(Some(r.lo_cr1)),
        finite_num(Some(r.hi_cr1)),
        finite_num(Some(r.p_cr1)),
    );
    match &r.wild {
        Some(w) => {
            let _ = write!(
                s,
                "{},{},{},",
                finite_num(Some(w.p)),
                finite_num(w.lo),
                finite_num(w.hi)
            );
        }
        None => s.push_str(",,,"),
    }
    let _ = write!(s, "{},{},{},", r.n_clusters, r.n_treated, r.n_obs);
    match &r.wild {
        Some(w) => {
            let _ = writeln!(s, "{},{},{}", w.weights.as_str(), w.replicates, w.seed);
        }
        None => s.push_str(",,\n"),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    options: &'a EvaluationOptions,
    start: String,
    selection: Option<&'a PanelSelection>,
    pilot_units: &'a [String],
    baseline_units: usize,
    cells: usize,
    event_study_reference: i64,
}

/// Adds the TWFE DiD on today's units under each treatment definition to
/// `did_twfe.csv` (written by [`write_evaluation`] first): one row per
/// definition with `scope` = `treatment` and the definition
/// (`contains_pilot`, `intensity` — `intensity_population` when the
/// intensity is a share of population — `contains_pilot_unmixed`) in
/// `unit_code`.
pub fn append_treatment_rows(
    m: &super::MergedDid,
    by_population: bool,
    out_dir: &Path,
) -> Result<()> {
    let path = out_dir.join(results::DID_TWFE.file);
    let mut s = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    // Written by this run, with the Excel BOM when asked: not twice.
    if let Some(rest) = s.strip_prefix('\u{feff}') {
        s = rest.to_string();
    }
    for (t, r) in &m.rows {
        let mut line = String::new();
        did_line(
            &mut line,
            &DidRow {
                unit_code: Some(t.label(by_population).to_string()),
                ..r.clone()
            },
        );
        s.push_str(&line.replacen("unit,", "treatment,", 1));
    }
    write_csv(out_dir, &results::DID_TWFE, s.as_bytes())
}

/// Writes `did_twfe.csv`, `did_units.csv`, `event_study.csv`,
/// `pretrend.csv` and `evaluation.json` into `out_dir` (created if needed),
/// each atomically; same evaluation → same bytes. `selection` (from
/// [`super::select_panel`]) goes into `evaluation.json` when given.
pub fn write_evaluation(
    ev: &Evaluation,
    selection: Option<&PanelSelection>,
    out_dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut s = results::DID_TWFE.header::<&str>(&[]);
    did_line(&mut s, &ev.overall);
    for r in &ev.units {
        did_line(&mut s, r);
    }
    write_csv(out_dir, &results::DID_TWFE, s.as_bytes())?;

    let mut s = results::DID_UNITS.header::<&str>(&[]);
    for m in &ev.unit_means {
        m.write_line(&mut s);
    }
    write_csv(out_dir, &results::DID_UNITS, s.as_bytes())?;

    let mut s = results::EVENT_STUDY.header::<&str>(&[]);
    for r in &ev.event_study.rows {
        r.write_line(&mut s);
    }
    write_csv(out_dir, &results::EVENT_STUDY, s.as_bytes())?;

    let mut s = results::PRETREND.header::<&str>(&[]);
    if let Some(t) = &ev.event_study.pretrend {
        let o = &ev.options;
        let (w, b, seed) = if t.p_wild.is_some() {
            (
                o.bootstrap_weights.as_str().to_string(),
                o.replicates.to_string(),
                o.seed.to_string(),
            )
        } else {
            (String::new(), String::new(), String::new())
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{w},{b},{seed}",
            t.q,
            t.q,
            t.df2,
            finite_num(Some(t.wald)),
            finite_num(Some(t.f)),
            finite_num(Some(t.p)),
            finite_num(t.p_wild)
        );
    }
    write_csv(out_dir, &results::PRETREND, s.as_bytes())?;

    let report = Report {
        options: &ev.options,
        start: ev.start.to_string(),
        selection,
        pilot_units: &ev.pilot_units,
        baseline_units: ev.baseline_units,
        cells: ev.n_obs,
        event_study_reference: ev.event_study.reference,
    };
    let mut json = serde_json::to_string_pretty(&report)?;
    json.push('\n');
    write_atomic(out_dir, results::EVALUATION_JSON.file, json.as_bytes())
}

/// Plain-English description of the evaluation methods and how to read the
/// numbers, with the figures of `ev` filled in (for the report).
pub fn methods_text(ev: &Evaluation) -> String {
    let o = &ev.overall;
    let g = o.n_clusters;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Evaluating the pilot\n\n\
         Data. The unit of analysis is a commune-level unit in a survey period: its SIPAS index \
         (0-100) estimated from the survey responses. The panel has {} cells from {} pilot units \
         and {} comparison (baseline) units; the pilot starts in {}. Cells are weighted {}.\n",
        ev.n_obs,
        ev.pilot_units.len(),
        ev.baseline_units,
        ev.start,
        match ev.options.weighting {
            super::Weighting::Equal => "equally",
            super::Weighting::N => "by their number of responses",
        }
    );
    let _ = writeln!(
        s,
        "Method. The effect of the pilot is estimated by a two-way fixed-effects \
         difference-in-differences regression: the index of a unit in a period is modelled as a \
         unit-specific level, plus a period-specific level common to all units, plus the pilot \
         effect in pilot units from the start period on. The unit levels absorb permanent \
         differences between communes; the period levels absorb changes that affect every \
         commune alike. The effect is then the average change in pilot units beyond the change \
         in the baseline units. Estimate: {:.2} index points.\n",
        o.estimate
    );
    let _ = writeln!(
        s,
        "Uncertainty. Standard errors are clustered by unit (CR1), which allows the errors of one \
         unit to be correlated over time; intervals use Student's t with G - 1 = {} degrees of \
         freedom. CR1 {} interval: {:.2} to {:.2} ({}). With only {} treated units, \
         cluster-robust errors tend to be too small, so the preferred inference is the wild \
         cluster restricted bootstrap: it imposes a zero effect, re-randomises the sign (or a \
         six-point weight) of each unit's residuals, and compares the observed t statistic with \
         the re-randomised ones; its interval collects the effect sizes that this test does not \
         reject at {}.",
        g - 1,
        ev.options.level,
        o.lo_cr1,
        o.hi_cr1,
        p_text(o.p_cr1),
        o.n_treated,
        ev.options.level.alpha_percent()
    );
    if let Some(w) = &o.wild {
        let _ = writeln!(
            s,
            " Wild bootstrap ({} weights, {} replicates, seed {}): {}, interval {} to {}.",
            w.weights.as_str(),
            w.replicates,
            w.seed,
            p_text(w.p),
            w.lo.map_or_else(|| "undefined".into(), |v| format!("{v:.2}")),
            w.hi.map_or_else(|| "undefined".into(), |v| format!("{v:.2}")),
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Pre-trends. The event study replaces the single effect by one coefficient per period \
         relative to the start (the period just before the start is the reference, fixed at 0). \
         Coefficients before the start should be close to zero if pilot and baseline units were \
         on parallel paths; the joint test of all of them is an F test with the clustered \
         covariance{}. A large p-value does not prove parallel trends, it only fails to detect \
         a departure with this many units.\n",
        ev.event_study
            .pretrend
            .map_or_else(String::new, |t| format!(
                " (F = {:.2} on {} and {} degrees of freedom, {})",
                t.f,
                t.q,
                t.df2,
                p_text(t.p)
            ))
    );
    let _ = write!(
        s,
        "Per-unit effects. Each pilot unit is also compared alone with the baseline, by the same \
         regression and by the simple difference of cell means (before/after, pilot/baseline) \
         whose standard error comes from the survey standard errors of the cells. With a single \
         treated unit the clustered standard error only reflects the baseline units' variation \
         and sampling error of that unit's own cells is understated; read these as descriptive.\n\n\
         Assumptions. (1) Parallel trends: without the pilot, pilot units would have changed like \
         the baseline units. (2) No anticipation: the pilot did not change satisfaction before its \
         start. (3) No spill-overs (SUTVA): the pilot did not change satisfaction in baseline \
         units. (4) Enough independent units: inference treats units as independent clusters; \
         with few treated units every interval is approximate, and the pilot units were chosen, \
         not randomised, so the effect is the effect in these units.\n\n\
         Reading the numbers. Effects are in index points (percentage points of satisfied \
         answers). An interval that excludes 0 means the change in pilot units differs from the \
         baseline change by more than chance at the {} level, under the assumptions above. \
         Every interval is at the {} confidence level.\n",
        ev.options.level.alpha_percent(),
        ev.options.level
    );
    s
}

/// `p = 0.123`, or `p < 0.001` rather than a misleading `p = 0.000`.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

#[cfg(test)]
mod p_text_tests {
    #[test]
    fn small_p_values_are_bounded_not_rounded_to_zero() {
        assert_eq!(super::p_text(0.0), "p < 0.001");
        assert_eq!(super::p_text(0.000_99), "p < 0.001");
        assert_eq!(super::p_text(0.001), "p = 0.001");
        assert_eq!(super::p_text(0.791_2), "p = 0.791");
    }
}
