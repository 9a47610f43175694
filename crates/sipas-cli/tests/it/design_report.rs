//! The report's bands come from the declared design: results written by
//! `aggregate_with_design` (districts as strata, villages as clusters) are
//! loaded by the report, and the trend chart's bands are R `survey`'s 95%
//! intervals for that design (fixtures/reference/design/reference.csv).

use std::collections::HashMap;

use sipas_aggregate::{AggregateOptions, DesignSpec, Strata, aggregate_with_design, write_results};
use sipas_core::bundled;
use sipas_report::spec::trend_spec;
use sipas_report::{SeriesRole, load_results, render_html};

use crate::design_fixture::{dir, responses};

/// R's clustered (value, se) of SIPAS by (domain_type, domain, period).
fn r_clustered() -> HashMap<(String, String, String), (f64, f64)> {
    let text = std::fs::read_to_string(dir().join("reference.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0] == "clustered" && f[4] == "sipas")
        .map(|f| {
            (
                (f[1].to_string(), f[2].to_string(), f[3].to_string()),
                (f[5].parse().unwrap(), f[6].parse().unwrap()),
            )
        })
        .collect()
}

#[test]
fn trend_bands_are_the_declared_designs_intervals() {
    let spec = DesignSpec {
        strata: Strata::Column("district_code".into()),
        cluster: Some("village".into()),
        ..DesignSpec::default()
    };
    let (ix, _) =
        aggregate_with_design(&responses(false), &AggregateOptions::bundled(), &spec).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_results(&ix, tmp.path()).unwrap();
    let results = load_results(tmp.path()).unwrap();
    let r = r_clustered();
    let pilots = bundled::pilots();
    let chart = trend_spec(&results, &pilots, "05443").unwrap();
    let periods = ["2023Q3", "2023Q4", "2024Q1", "2024Q2"];
    let mut checked = 0;
    for s in &chart.series {
        let (dtype, domain) = match s.role {
            SeriesRole::Unit => ("unit", "05443"),
            SeriesRole::Baseline => ("group", "baseline"),
        };
        assert_eq!(s.bands.len(), 1, "one run of four periods");
        let band = &s.bands[0];
        for (i, p) in periods.iter().enumerate() {
            let (value, se) = r[&(dtype.to_string(), domain.to_string(), (*p).to_string())];
            let (lo, hi) = (value - 1.96 * se, value + 1.96 * se);
            let at: Vec<f64> = band
                .iter()
                .filter(|(x, _)| *x == i as f64)
                .map(|&(_, y)| y)
                .collect();
            assert_eq!(at.len(), 2, "{dtype} {p}");
            assert!(
                (at[0] - hi).abs() < 1e-6 && (at[1] - lo).abs() < 1e-6,
                "{dtype} {p}: band {at:?}, R {lo}..{hi}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
    // The report names the design its numbers come from.
    let html = render_html(&results, &pilots);
    assert!(
        html.contains("village"),
        "the design is named in the report"
    );
}
