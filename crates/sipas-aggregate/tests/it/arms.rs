//! Issue 14: units first surveyed after the pilot start (former Bắc Kạn's
//! units, surveyed on today's units from 2025Q3) are left out of the
//! pilot / baseline comparison everywhere — `groups.csv`, the 2×2 DiD
//! (default engine and design engine), the group domains of
//! `estimates.csv`, the TWFE panel — so adding them changes none of those
//! numbers, while their own cells stay in `unit_period.csv`.

use std::path::PathBuf;

use sipas_aggregate::arms::LeftOut;
use sipas_aggregate::design::DomainType;
use sipas_aggregate::{
    AggregateOptions, Baseline, DesignSpec, EvaluationOptions, Responses, Strata,
    aggregate_with_design, evaluate, select_panel,
};
use sipas_core::Instrument;

fn instrument() -> Instrument {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference");
    Instrument::from_path(&dir.join("survey/instrument.toml")).unwrap()
}

/// Pilots 05443, 05500 and baseline units 05446, 05449, 05452 over
/// 2023Q3–2024Q2 (pilot start 2024Q1), answers from a fixed LCG; with
/// `late`, two more non-pilot units answered from 2024Q1 only, much more
/// satisfied than everyone else.
fn responses(late: bool) -> Responses {
    responses_without(late, &[])
}

/// [`responses`] without the rows of the units `skip` (the same answers for
/// everyone else: the generator still draws theirs).
fn responses_without(late: bool, skip: &[&str]) -> Responses {
    let mut b = Responses::builder(instrument());
    let mut state: u64 = 20_251_201;
    let mut next = |lo: u8| -> Option<u8> {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let v = ((state >> 33) % 5) as u8 + 1;
        (v != 1 || lo > 1).then_some(v.max(lo))
    };
    let periods = ["2023Q3", "2023Q4", "2024Q1", "2024Q2"];
    for unit in ["05443", "05446", "05449", "05452", "05500"] {
        for period in periods {
            for _ in 0..6 {
                let a: Vec<Option<u8>> = (0..5).map(|_| next(1)).collect();
                if !skip.contains(&unit) {
                    b.push(unit, period, "survey", 1.0, &a).unwrap();
                }
            }
        }
    }
    if late {
        for unit in ["05455", "05458"] {
            for period in &periods[2..] {
                for _ in 0..6 {
                    let a: Vec<Option<u8>> = (0..5).map(|_| next(4)).collect();
                    b.push(unit, period, "survey", 1.0, &a).unwrap();
                }
            }
        }
    }
    b.build().unwrap()
}

fn design(strata: Strata) -> DesignSpec {
    DesignSpec {
        strata,
        ..DesignSpec::default()
    }
}

#[test]
fn units_without_a_pre_period_change_no_comparison() {
    let opts = AggregateOptions::bundled();
    for strata in [Strata::UnitPeriod, Strata::District] {
        let (ix0, est0) =
            aggregate_with_design(&responses(false), &opts, &design(strata.clone())).unwrap();
        let (ix1, est1) =
            aggregate_with_design(&responses(true), &opts, &design(strata.clone())).unwrap();

        // Their cells are estimated and written.
        assert_eq!(ix1.cells.len(), ix0.cells.len() + 4);
        assert!(ix1.cells.iter().any(|c| c.unit_code == "05455"));
        // … and listed as left out, with the reason.
        let left: Vec<(&str, LeftOut, bool)> = ix1
            .report
            .left_out
            .iter()
            .map(|u| (u.unit_code.as_str(), u.reason, u.pilot))
            .collect();
        assert_eq!(
            left,
            [
                ("05455", LeftOut::NoPrePeriod, false),
                ("05458", LeftOut::NoPrePeriod, false)
            ]
        );
        assert!(ix0.report.left_out.is_empty());

        // groups.csv: the same pooled values (and n) in every period.
        assert_eq!(ix0.groups.len(), ix1.groups.len());
        for (a, b) in ix0.groups.iter().zip(&ix1.groups) {
            assert_eq!((a.period, a.group, a.n), (b.period, b.group, b.n));
            let (va, vb) = (a.sipas.value.unwrap(), b.sipas.value.unwrap());
            assert!(
                (va - vb).abs() < 1e-12,
                "{strata:?} {}: {va} vs {vb}",
                a.period
            );
        }
        // The 2×2 DiD (the design engine's, written to did.csv).
        let (d0, d1) = (ix0.did.as_ref().unwrap(), ix1.did.as_ref().unwrap());
        assert!((d0.estimate - d1.estimate).abs() < 1e-12);
        let (e0, e1) = (est0.did.as_ref().unwrap(), est1.did.as_ref().unwrap());
        assert!((e0.estimate - e1.estimate).abs() < 1e-12);
        assert_eq!(e0.n, e1.n);
        // The group domains of estimates.csv.
        let groups =
            |est: &sipas_aggregate::DomainEstimates| -> Vec<(String, String, String, Option<f64>)> {
                est.rows
                    .iter()
                    .filter(|r| r.domain_type == DomainType::Group)
                    .map(|r| {
                        (
                            r.domain.to_string(),
                            r.period.to_string(),
                            r.indicator.to_string(),
                            r.value,
                        )
                    })
                    .collect()
            };
        let (g0, g1) = (groups(&est0), groups(&est1));
        assert_eq!(g0.len(), g1.len());
        for (a, b) in g0.iter().zip(&g1) {
            assert_eq!((&a.0, &a.1, &a.2), (&b.0, &b.1, &b.2));
            match (a.3, b.3) {
                (Some(x), Some(y)) => assert!((x - y).abs() < 1e-12),
                (x, y) => assert_eq!(x, y),
            }
        }
        // Under unit × period strata the left-out units are their own
        // strata: every SE is unchanged too.
        if strata == Strata::UnitPeriod {
            assert!((d0.se - d1.se).abs() < 1e-12, "{} vs {}", d0.se, d1.se);
            for (a, b) in ix0.groups.iter().zip(&ix1.groups) {
                assert!((a.sipas.se.unwrap() - b.sipas.se.unwrap()).abs() < 1e-12);
            }
        }

        // The TWFE panel and its estimate.
        let ev_opts = EvaluationOptions {
            replicates: 0,
            ..EvaluationOptions::default()
        };
        let (p0, _) = select_panel(&ix0.cells, &opts.pilots, Baseline::All);
        let (p1, s1) = select_panel(&ix1.cells, &opts.pilots, Baseline::All);
        // The cells' SEs move with district strata (a stratum gains rows),
        // their values do not.
        let key = |p: &[sipas_aggregate::PanelCell]| -> Vec<(String, String, f64, bool)> {
            p.iter()
                .map(|c| (c.unit_code.clone(), c.period.to_string(), c.value, c.pilot))
                .collect()
        };
        assert_eq!(key(&p0), key(&p1));
        if strata == Strata::UnitPeriod {
            assert_eq!(p0, p1);
        }
        assert_eq!(
            (
                s1.dropped_units_no_pre_period,
                s1.dropped_cells_no_pre_period
            ),
            (2, 4)
        );
        assert_eq!((s1.pilot_units, s1.baseline_units), (2, 3));
        let (t0, t1) = (
            evaluate(&p0, opts.pilots.start, &ev_opts).unwrap(),
            evaluate(&p1, opts.pilots.start, &ev_opts).unwrap(),
        );
        assert_eq!(t0.overall.estimate, t1.overall.estimate);
        assert_eq!(t0.baseline_units, 3);
    }
}

/// The baseline's quadrant levels are those without the late units, whose
/// cells (answers 4–5 only) all lie above the baseline's post level: had
/// they joined the baseline from 2024Q1, they would have raised it and
/// passed for a fall in the pilot's relative change.
#[test]
fn the_baseline_quadrants_hold_only_units_with_a_pre_period() {
    let opts = AggregateOptions::bundled();
    let with = aggregate_with_design(&responses(true), &opts, &DesignSpec::default())
        .unwrap()
        .0;
    let without = aggregate_with_design(&responses(false), &opts, &DesignSpec::default())
        .unwrap()
        .0;
    let (a, b) = (with.did.unwrap(), without.did.unwrap());
    assert_eq!(a.baseline_post.value, b.baseline_post.value);
    assert_eq!(a.baseline_pre.value, b.baseline_pre.value);
    // Had the late units (answers 4–5 only) joined the baseline from
    // 2024Q1, the baseline's post level would be higher.
    let late_cells: Vec<f64> = with
        .cells
        .iter()
        .filter(|c| c.unit_code == "05455" || c.unit_code == "05458")
        .map(|c| c.sipas.value.unwrap())
        .collect();
    assert_eq!(late_cells.len(), 4);
    assert!(
        late_cells
            .iter()
            .all(|v| *v > b.baseline_post.value.unwrap())
    );
}

/// A staggered rollout: the bundled 12 pilots from 2024Q1 and unit 05446 in a
/// second wave from 2024Q2. In the first wave's comparison (groups, the 2×2
/// DiD of both engines, the TWFE panel) 05446 is left out as a later wave —
/// every number equals that of the data without 05446 — while the staggered
/// panel keeps it, treated from its own start.
#[test]
fn a_later_wave_leaves_the_first_waves_comparison() {
    use sipas_aggregate::arms::Comparison;
    use sipas_aggregate::select_panel_for;
    use sipas_core::pilots::Wave;
    let bundled = sipas_core::bundled::pilots();
    let pilots = sipas_core::PilotSet::from_waves(
        "test",
        vec![
            Wave {
                start: bundled.start,
                units: bundled.units.clone(),
            },
            Wave {
                start: "2024Q2".parse().unwrap(),
                units: ["05446".to_string()].into(),
            },
        ],
    )
    .unwrap();
    let mut staggered = AggregateOptions::bundled();
    staggered.pilots = pilots.clone();
    let spec = design(Strata::UnitPeriod);
    let (ix, est) = aggregate_with_design(&responses(false), &staggered, &spec).unwrap();
    let without = responses_without(false, &["05446"]);
    let (ix0, est0) = aggregate_with_design(&without, &AggregateOptions::bundled(), &spec).unwrap();
    let left: Vec<(&str, LeftOut, bool)> = ix
        .report
        .left_out
        .iter()
        .map(|u| (u.unit_code.as_str(), u.reason, u.pilot))
        .collect();
    assert_eq!(left, [("05446", LeftOut::LaterWave, true)]);
    // Its cells stay in unit_period.csv.
    assert_eq!(ix.cells.len(), ix0.cells.len() + 4);
    // groups.csv: values, SEs and n as without the unit.
    assert_eq!(ix.groups.len(), ix0.groups.len());
    for (a, b) in ix.groups.iter().zip(&ix0.groups) {
        assert_eq!((a.period, a.group, a.n), (b.period, b.group, b.n));
        for (x, y) in [(a.sipas.value, b.sipas.value), (a.sipas.se, b.sipas.se)] {
            let (x, y) = (x.unwrap(), y.unwrap());
            assert!((x - y).abs() < 1e-12, "{}: {x} vs {y}", a.period);
        }
    }
    // The 2×2 DiD under the design, and the default kernel's.
    let (d, d0) = (ix.did.as_ref().unwrap(), ix0.did.as_ref().unwrap());
    assert!((d.estimate - d0.estimate).abs() < 1e-12);
    assert!((d.se - d0.se).abs() < 1e-12);
    assert_eq!(est.did.as_ref().unwrap().n, est0.did.as_ref().unwrap().n);
    let k = sipas_aggregate::aggregate(&responses(false), &staggered).unwrap();
    let k0 = sipas_aggregate::aggregate(&without, &AggregateOptions::bundled()).unwrap();
    let (kd, kd0) = (k.did.unwrap(), k0.did.unwrap());
    assert!((kd.estimate - kd0.estimate).abs() < 1e-12 && (kd.se - kd0.se).abs() < 1e-12);
    // The TWFE panel leaves it out and counts it; the staggered panel keeps it as treated.
    let (panel, sel) = select_panel(&ix.cells, &pilots, Baseline::All);
    assert!(panel.iter().all(|c| c.unit_code != "05446"));
    assert_eq!(
        (sel.dropped_units_later_wave, sel.dropped_cells_later_wave),
        (1, 4)
    );
    assert_eq!((sel.pilot_units, sel.baseline_units), (2, 2));
    let (all, sel_all) = select_panel_for(&ix.cells, &pilots, Baseline::All, Comparison::AllWaves);
    assert_eq!(
        all.iter()
            .filter(|c| c.unit_code == "05446" && c.pilot)
            .count(),
        4
    );
    assert_eq!((sel_all.pilot_units, sel_all.baseline_units), (3, 2));
    // methods.txt says why.
    let text = sipas_aggregate::arms::methods_text(&ix.report.left_out, pilots.start);
    assert!(
        text.contains("later waves") && text.contains("05446"),
        "{text}"
    );
}
