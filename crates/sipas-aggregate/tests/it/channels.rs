//! Channels: survey modes are one sample (pooled), rating channels are
//! never pooled, an unknown channel value stops with a clear message.

use std::path::PathBuf;

use sipas_aggregate::design::CiMethod;
use sipas_aggregate::{
    AggregateOptions, ChannelClasses, DesignSpec, Indices, Responses, aggregate, estimate_domains,
};
use sipas_core::Instrument;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/survey")
}

/// The R-reference fixture (598 weighted responses), each row's channel
/// given by `channel(row)`; `extra` rows are appended (unit, period,
/// channel, answers).
fn responses(
    channel: &dyn Fn(usize) -> &'static str,
    extra: &[(&str, &str, &str, [Option<u8>; 5])],
) -> Responses {
    let inst = Instrument::from_path(&dir().join("instrument.toml")).unwrap();
    let mut b = Responses::builder(inst);
    for (i, (unit, period, weight, answers)) in fixture_rows().iter().enumerate() {
        b.push(unit, period, channel(i), *weight, answers).unwrap();
    }
    for (unit, period, ch, answers) in extra {
        b.push(unit, period, ch, 1.0, answers).unwrap();
    }
    b.build().unwrap()
}

fn three_modes(i: usize) -> &'static str {
    ["paper", "online", "phone"][i % 3]
}

/// The cells, groups and DiD as comparable text (every number to the bit).
fn numbers(ix: &Indices) -> String {
    format!("{:?}\n{:?}\n{:?}", ix.cells, ix.groups, ix.did)
}

#[test]
fn three_modes_pool_to_the_one_channel_numbers() {
    let one = responses(&|_| "survey", &[]);
    let three = responses(&three_modes, &[]);
    let opts = AggregateOptions::bundled();
    let a = aggregate(&one, &opts).unwrap();
    let b = aggregate(&three, &opts).unwrap();
    assert_eq!(numbers(&a), numbers(&b));
    assert_eq!(b.report.rows_used, 598);
    assert_eq!(b.report.rows_excluded_channel, 0);
    assert_eq!(b.report.channel, "survey (online + paper + phone)");
    assert_eq!(
        b.report.channels_used.values().copied().collect::<Vec<_>>(),
        // 598 rows cycling paper, online, phone: 200, 199, 199 in row
        // order; reported by channel name (online, paper, phone).
        [199, 200, 199]
    );
    // Design-based estimates: the cell, group, district and kind domains
    // are identical to the bit.
    let ea = estimate_domains(&one, &opts, &DesignSpec::default()).unwrap();
    let eb = estimate_domains(&three, &opts, &DesignSpec::default()).unwrap();
    let non_mode: Vec<_> = eb
        .rows
        .iter()
        .filter(|r| r.domain_type.as_str() != "mode")
        .collect();
    assert_eq!(ea.rows.to_vec(), non_mode);
}

#[test]
fn a_rating_channel_is_never_pooled() {
    // 30 QR ratings, all "very dissatisfied", in a unit of the fixture.
    let qr: Vec<(&str, &str, &str, [Option<u8>; 5])> =
        vec![("05443", "2023Q4", "qr", [Some(1); 5]); 30];
    let survey = responses(&three_modes, &[]);
    let with_qr = responses(&three_modes, &qr);
    let opts = AggregateOptions::bundled();
    let a = aggregate(&survey, &opts).unwrap();
    let b = aggregate(&with_qr, &opts).unwrap();
    assert_eq!(numbers(&a), numbers(&b));
    assert_eq!(b.report.rows_excluded_channel, 30);
    assert_eq!(b.report.excluded_by_channel.get("qr"), Some(&30));
    let ea = estimate_domains(&survey, &opts, &DesignSpec::default()).unwrap();
    let eb = estimate_domains(&with_qr, &opts, &DesignSpec::default()).unwrap();
    assert_eq!(ea.rows, eb.rows);
    // Even when listed as the only survey mode's companion it stays out:
    // the QR channel can be estimated on its own, alone.
    let alone = AggregateOptions {
        channel: "qr".into(),
        ..AggregateOptions::bundled()
    };
    let q = aggregate(&with_qr, &alone).unwrap();
    assert_eq!(q.report.rows_used, 30);
    assert_eq!(q.cells.len(), 1);
    assert_eq!(q.cells[0].sipas.value, Some(0.0));
    // Classifying `qr` as a survey mode is what it takes to pool it.
    let pooled = AggregateOptions {
        channels: ChannelClasses::new(Some(&["paper", "online", "phone", "qr"]), Some(&[]))
            .unwrap(),
        ..AggregateOptions::bundled()
    };
    assert_eq!(aggregate(&with_qr, &pooled).unwrap().report.rows_used, 628);
}

#[test]
fn an_unknown_channel_stops_with_the_values_seen() {
    let r = responses(&|i| if i % 2 == 0 { "paper" } else { "zalo" }, &[]);
    let opts = AggregateOptions::bundled();
    for err in [
        aggregate(&r, &opts).unwrap_err().to_string(),
        estimate_domains(&r, &opts, &DesignSpec::default())
            .unwrap_err()
            .to_string(),
    ] {
        for part in [
            "channel value `zalo` is neither a survey mode nor a rating channel",
            "`paper` (299 rows, survey mode)",
            "`zalo` (299 rows, unknown)",
            "--survey-modes",
            "--rating-channels",
            "survey_modes = [...]",
        ] {
            assert!(err.contains(part), "`{part}` not in: {err}");
        }
    }
    // Classified, it is used.
    let opts = AggregateOptions {
        channels: ChannelClasses::new(Some(&["paper", "zalo"]), None).unwrap(),
        ..AggregateOptions::bundled()
    };
    assert_eq!(aggregate(&r, &opts).unwrap().report.rows_used, 598);
    let ok = estimate_domains(&r, &opts, &DesignSpec::default()).unwrap();
    assert!(ok.rows.iter().any(|r| r.ci_method == CiMethod::Normal));
}

/// One fixture row: unit, period, weight, answers.
type Row = (String, String, f64, Vec<Option<u8>>);

fn fixture_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("responses.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (u, p, w) = (col("unit_code"), col("period"), col("weight"));
    let items: Vec<usize> = ["q1", "q2", "q3", "q4", "q5"].map(col).to_vec();
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[u].to_string(),
                f[p].to_string(),
                f[w].parse().unwrap(),
                items.iter().map(|&i| f[i].parse().ok()).collect(),
            )
        })
        .collect()
}

#[test]
fn modes_are_domains_and_their_difference_has_a_design_se() {
    // Root coefficients of the fixture instrument: SIPAS = mean of two
    // elements of 3 and 2 items.
    let c = [1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 0.25, 0.25];
    let rows = fixture_rows();
    let mode = |i: usize| three_modes(i);
    let r = responses(&three_modes, &[]);
    let opts = AggregateOptions::bundled();
    let est = estimate_domains(&r, &opts, &DesignSpec::default()).unwrap();
    // The influence z_i of row i in the domain (mode m, period p) and the
    // domain's SIPAS, from the formulas.
    let domain = |m: &str, p: &str| -> (f64, Vec<f64>) {
        let inside = |i: usize| mode(i) == m && rows[i].1 == p;
        let (mut x, mut y) = ([0.0; 5], [0.0; 5]);
        for (i, (_, _, w, a)) in rows.iter().enumerate() {
            if inside(i) {
                for j in 0..5 {
                    if let Some(v) = a[j] {
                        x[j] += w;
                        y[j] += w * f64::from(u8::from(v >= 4));
                    }
                }
            }
        }
        let ratio: Vec<f64> = (0..5).map(|j| y[j] / x[j]).collect();
        let sipas = 100.0 * (0..5).map(|j| c[j] * ratio[j]).sum::<f64>();
        let z = rows
            .iter()
            .enumerate()
            .map(|(i, (_, _, w, a))| {
                if !inside(i) {
                    return 0.0;
                }
                100.0
                    * w
                    * (0..5)
                        .map(|j| match a[j] {
                            Some(v) => c[j] * (f64::from(u8::from(v >= 4)) - ratio[j]) / x[j],
                            None => 0.0,
                        })
                        .sum::<f64>()
            })
            .collect();
        (sipas, z)
    };
    // Var of a per-row linearized variable under strata = unit × period,
    // each row its own PSU.
    let variance = |d: &[f64]| -> f64 {
        let mut strata: std::collections::BTreeMap<(&str, &str), Vec<f64>> =
            std::collections::BTreeMap::new();
        for (i, (u, p, _, _)) in rows.iter().enumerate() {
            strata.entry((u, p)).or_default().push(d[i]);
        }
        strata
            .values()
            .filter(|v| v.len() > 1)
            .map(|v| {
                let n = v.len() as f64;
                let m = v.iter().sum::<f64>() / n;
                n / (n - 1.0) * v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
            })
            .sum()
    };
    let periods: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    // Three modes per period: three pairs each.
    assert_eq!(est.mode_differences.len(), 3 * periods.len());
    let mut covariance_matters = false;
    for d in &est.mode_differences {
        let p = d.period.to_string();
        let (va, za) = domain(&d.mode_a, &p);
        let (vb, zb) = domain(&d.mode_b, &p);
        let diff: Vec<f64> = za.iter().zip(&zb).map(|(a, b)| a - b).collect();
        let se = variance(&diff).sqrt();
        assert!((d.sipas_a.unwrap() - va).abs() < 1e-9, "{d:?}");
        assert!((d.sipas_b.unwrap() - vb).abs() < 1e-9, "{d:?}");
        assert!((d.difference.unwrap() - (va - vb)).abs() < 1e-9);
        assert!(
            (d.se.unwrap() - se).abs() < 1e-9,
            "{} vs {se}",
            d.se.unwrap()
        );
        assert!((d.se_a.unwrap() - variance(&za).sqrt()).abs() < 1e-9);
        // The mode rows of estimates.csv carry the same numbers.
        let row = est
            .get(
                sipas_aggregate::DomainType::Mode,
                &d.mode_a,
                d.period,
                "sipas",
                CiMethod::Normal,
            )
            .unwrap();
        assert_eq!((row.value, row.se), (d.sipas_a, d.se_a));
        assert_eq!(row.n, d.n_a);
        // Both modes share the unit × period strata: their covariance enters.
        let independent = (d.se_a.unwrap().powi(2) + d.se_b.unwrap().powi(2)).sqrt();
        covariance_matters |= (independent - d.se.unwrap()).abs() > 1e-6;
    }
    assert!(covariance_matters);
    // One channel: no mode domains, no differences.
    let one = estimate_domains(
        &responses(&|_| "survey", &[]),
        &opts,
        &DesignSpec::default(),
    )
    .unwrap();
    assert!(one.mode_differences.is_empty());
    assert!(one.rows.iter().all(|r| r.domain_type.as_str() != "mode"));
}

#[test]
fn mode_differences_match_r_survey() {
    // fixtures/reference/modes/reference.R: svytotal of the domain totals and
    // svycontrast (delta method) for each mode's SIPAS and the differences.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reference/modes/reference.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let est = estimate_domains(
        &responses(&three_modes, &[]),
        &AggregateOptions::bundled(),
        &DesignSpec::default(),
    )
    .unwrap();
    let mut compared = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let d = est
            .mode_differences
            .iter()
            .find(|d| d.period.to_string() == f[0] && d.mode_a == f[1] && d.mode_b == f[2])
            .unwrap_or_else(|| panic!("no difference for {line}"));
        for (got, want) in [
            (d.sipas_a, num(3)),
            (d.se_a, num(4)),
            (d.sipas_b, num(5)),
            (d.se_b, num(6)),
            (d.difference, num(7)),
            (d.se, num(8)),
        ] {
            assert!((got.unwrap() - want).abs() < 1e-6, "{line}: {got:?}");
        }
        compared += 1;
    }
    assert_eq!(compared, 9);
    assert_eq!(est.mode_differences.len(), 9);
}
