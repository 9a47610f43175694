//! `AggregateOptions::level`: every interval at 90 % against R `survey`'s
//! `confint(…, level = 0.90)` and `svyciprop(method = "logit", level = 0.90)`
//! (`fixtures/reference/level/reference.R`), on the declared-design test data;
//! and nothing but the intervals changes with the level.

use std::path::PathBuf;

use sipas_aggregate::design::{CiMethod, DomainType};
use sipas_aggregate::{AggregateOptions, DesignSpec, aggregate_with_design};
use sipas_core::Level;

use crate::design::{close, clustered, options, responses};

/// One row of `reference.csv`.
struct Row {
    design: String,
    domain_type: String,
    domain: String,
    period: String,
    indicator: String,
    method: String,
    value: f64,
    se: f64,
    lo: f64,
    hi: f64,
}

fn reference() -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reference/level/reference.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let num = |s: &str| s.trim().parse::<f64>().unwrap_or(f64::NAN);
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                design: f[0].into(),
                domain_type: f[1].into(),
                domain: f[2].into(),
                period: f[3].into(),
                indicator: f[4].into(),
                method: f[5].into(),
                value: num(f[6]),
                se: num(f[7]),
                lo: num(f[8]),
                hi: num(f[9]),
            }
        })
        .collect()
}

fn at_90() -> AggregateOptions {
    AggregateOptions {
        level: Level::new(0.90).unwrap(),
        ..options()
    }
}

#[test]
fn intervals_at_90_percent_match_r_survey() {
    let r = responses(false);
    let refs = reference();
    let mut checked = [0usize; 3];
    for (name, spec) in [
        ("default", DesignSpec::default()),
        ("clustered", clustered()),
    ] {
        let (ix, est) = aggregate_with_design(&r, &at_90(), &spec).unwrap();
        assert_eq!(est.level.value(), 0.90);
        assert_eq!(ix.report.level.value(), 0.90);
        for row in refs.iter().filter(|x| x.design == name) {
            let what = format!(
                "{name} {} {} {} {}",
                row.domain_type, row.domain, row.period, row.indicator
            );
            if row.domain_type == "did" {
                if row.domain != "contrast" {
                    continue;
                }
                let d = ix.did.as_ref().unwrap();
                close(d.estimate, row.value, 1e-9, &what);
                close(d.se, row.se, 1e-6, &what);
                // R: 7.4616 ± qnorm(0.95)·3.2651 = 2.0911 to 12.8322 (default design).
                close(d.lo, row.lo, 1e-6, &format!("{what} lo"));
                close(d.hi, row.hi, 1e-6, &format!("{what} hi"));
                checked[2] += 1;
                continue;
            }
            if !row.se.is_finite() || row.se < 1e-5 {
                continue;
            }
            let dtype = if row.domain_type == "unit" {
                DomainType::Unit
            } else {
                DomainType::Group
            };
            let method = if row.method == "logit" {
                CiMethod::Logit
            } else {
                CiMethod::Normal
            };
            let got = est
                .get(
                    dtype,
                    &row.domain,
                    row.period.parse().unwrap(),
                    &row.indicator,
                    method,
                )
                .unwrap_or_else(|| panic!("no row for {what}"));
            // svyciprop's logit estimate comes from an iterated glm fit
            // (converged to about 1e-9); composites are closed-form.
            let tol = if method == CiMethod::Logit {
                1e-7
            } else {
                1e-9
            };
            close(got.value.unwrap(), row.value, tol, &what);
            close(got.se.unwrap(), row.se, 1e-6, &format!("{what} se"));
            // sipas clips composite intervals to 0–100; R's confint does not.
            let clip = |x: f64| x.clamp(0.0, 100.0);
            close(got.lo.unwrap(), clip(row.lo), 1e-6, &format!("{what} lo"));
            close(got.hi.unwrap(), clip(row.hi), 1e-6, &format!("{what} hi"));
            checked[usize::from(method == CiMethod::Logit)] += 1;
        }
    }
    // 2 designs × 64 unit and group cells (108 with an SE in R), 443 items
    // with a logit interval, both DiDs: every kind of row was compared.
    assert_eq!(checked, [108, 443, 2]);
    assert_eq!(checked[2], 2);
}

#[test]
fn the_level_changes_the_intervals_and_nothing_else() {
    let r = responses(false);
    let (a, ea) = aggregate_with_design(&r, &options(), &clustered()).unwrap();
    let (b, eb) = aggregate_with_design(&r, &at_90(), &clustered()).unwrap();
    assert_eq!(ea.rows.len(), eb.rows.len());
    let mut narrower = 0;
    for (x, y) in ea.rows.iter().zip(&eb.rows) {
        assert_eq!((x.value, x.se, x.deff, x.df), (y.value, y.se, y.deff, y.df));
        // Normal and logit intervals shrink around the same centre; Wilson's
        // centre moves with z, so its bounds are not nested.
        if let (Some(xl), Some(yl), Some(xh), Some(yh)) = (x.lo, y.lo, x.hi, y.hi) {
            if x.ci_method != CiMethod::Wilson {
                assert!(yl >= xl && yh <= xh, "{:?}", x.indicator);
            }
            narrower += usize::from(yh - yl < xh - xl);
        }
    }
    assert!(narrower > ea.rows.len() / 2, "{narrower}");
    for (x, y) in a.cells.iter().zip(&b.cells) {
        assert_eq!((x.sipas.value, x.sipas.se), (y.sipas.value, y.sipas.se));
    }
    let (da, db) = (a.did.unwrap(), b.did.unwrap());
    assert_eq!((da.estimate, da.se), (db.estimate, db.se));
    // ±1.96·SE at 95 % (the published multiplier), ±qnorm(0.95)·SE at 90 %.
    close(da.hi - da.estimate, 1.96 * da.se, 1e-12, "did 95");
    close(
        db.hi - db.estimate,
        1.644_853_626_951_471_5 * db.se,
        1e-12,
        "did 90",
    );
}
