//! The exact truth: closed forms, hand-built sums and realistic magnitudes.

use sipas_synth::quad::{LogisticNormal, logistic};
use sipas_synth::{Model, SynthConfig, write_truth};

use crate::{sipas2023, small_config};

#[test]
fn default_truth_is_realistic_and_complete() {
    let inst = sipas2023();
    let model = Model::new(&SynthConfig::thai_nguyen(), &inst).unwrap();
    let truth = model.truth();
    assert_eq!(truth.len(), 177 * 12);
    let mean = truth.iter().map(|r| r.sipas).sum::<f64>() / truth.len() as f64;
    assert!((80.0..90.0).contains(&mean), "mean SIPAS {mean}");
    assert!(
        truth
            .iter()
            .all(|r| r.sipas > 50.0 && r.sipas < 100.0 && r.groups.len() == 11)
    );
    // 12 pilot units, every period.
    assert_eq!(truth.iter().filter(|r| r.pilot).count(), 12 * 12);
    // Sorted by unit code then period.
    assert!(
        truth
            .windows(2)
            .all(|w| (&w[0].unit_code, w[0].period) < (&w[1].unit_code, w[1].period))
    );
}

#[test]
fn degenerate_model_gives_the_closed_form() {
    // No random effects, no trend, no pilot effect: every item share is
    // logistic(μ − κ₃) = logistic(1.9) = 1 / (1 + e^{−1.9}).
    let cfg = SynthConfig {
        mu: 0.0,
        sigma_unit: 0.0,
        sigma_item: 0.0,
        sigma_respondent: 0.0,
        trend: 0.0,
        pilot_effect: 0.0,
        ..small_config(1, 10)
    };
    let model = Model::new(&cfg, &sipas2023()).unwrap();
    let p = 1.0 / (1.0 + (-1.9f64).exp());
    assert!((p - 0.869_891_525_6).abs() < 1e-10);
    for row in model.truth() {
        assert!((row.sipas - 100.0 * p).abs() < 1e-10, "{}", row.sipas);
        for g in &row.groups {
            assert!((g - 100.0 * p).abs() < 1e-10);
        }
    }
}

#[test]
fn symmetric_point_gives_exactly_fifty_for_any_respondent_spread() {
    // η₀ = κ₃: logistic(b) averages to 1/2 for b symmetric around 0.
    let cfg = SynthConfig {
        mu: -1.9,
        sigma_unit: 0.0,
        sigma_item: 0.0,
        sigma_respondent: 1.7,
        trend: 0.0,
        pilot_effect: 0.0,
        ..small_config(1, 10)
    };
    let model = Model::new(&cfg, &sipas2023()).unwrap();
    for row in model.truth() {
        assert!((row.sipas - 50.0).abs() < 1e-10, "{}", row.sipas);
    }
}

#[test]
fn linear_predictor_has_trend_and_pilot_step() {
    let cfg = small_config(3, 10);
    let model = Model::new(&cfg, &sipas2023()).unwrap();
    // Units sorted: 05431, 05434, 05443 (pilot), 05446, 05500 (pilot).
    assert_eq!(model.units()[2], "05443");
    let (pilot, other) = (2, 0);
    // Periods 2023Q3, 2023Q4, 2024Q1 (start), 2024Q2.
    let step = |u: usize| model.eta0(u, 2, 0) - model.eta0(u, 1, 0);
    assert!((step(other) - 0.02).abs() < 1e-12);
    assert!((step(pilot) - (0.02 + 0.35)).abs() < 1e-12);
    assert!((model.eta0(pilot, 1, 0) - model.eta0(pilot, 0, 0) - 0.02).abs() < 1e-12);
    // η₀ = μ + α_u + β k_t + δ·treated + γ_j, term by term.
    let a = model.unit_effects()[pilot];
    let g = model.item_effects()[5];
    let expect = -0.02 + a + 0.02 * 3.0 + 0.35 + g;
    assert!((model.eta0(pilot, 3, 5) - expect).abs() < 1e-12);
    // Effects are drawn: not all equal, and plausible for σ = 0.35 / 0.25.
    assert!(model.unit_effects().iter().all(|a| a.abs() < 5.0 * 0.35));
    assert!(
        model
            .item_effects()
            .iter()
            .any(|&g| g != model.item_effects()[0])
    );
}

#[test]
fn unit_effects_do_not_depend_on_the_other_units() {
    let inst = sipas2023();
    let full = Model::new(&SynthConfig::thai_nguyen(), &inst).unwrap();
    let small = Model::new(&small_config(0, 10), &inst).unwrap();
    let at = |m: &Model, code: &str| {
        let u = m.units().iter().position(|c| c == code).unwrap();
        m.unit_effects()[u]
    };
    assert_eq!(at(&full, "05500"), at(&small, "05500"));
    assert_eq!(full.item_effects(), small.item_effects());
}

#[test]
fn groups_are_coefficient_sums_of_an_independent_quadrature() {
    let inst = sipas2023();
    let model = Model::new(&small_config(9, 10), &inst).unwrap();
    let truth = model.truth();
    let fine = LogisticNormal::with_intervals(0.8, 60_000);
    // Cell (unit 4 = 05500, period 3 = 2024Q2) is row 4 * 4 + 3.
    let row = &truth[19];
    assert_eq!(
        (row.unit_code.as_str(), row.period.to_string().as_str()),
        ("05500", "2024Q2")
    );
    let p: Vec<f64> = (0..33)
        .map(|j| fine.mean(model.eta0(4, 3, j) + 1.9))
        .collect();
    for (a, b) in row.items.iter().zip(&p) {
        assert!((a - b).abs() < 1e-10);
    }
    // SIPAS = mean of the two parts; policy = mean of its 4 elements, service of 5.
    let ids = inst.item_ids();
    let mean_of = |items: &[&str]| {
        items
            .iter()
            .map(|id| p[ids.iter().position(|x| x == id).unwrap()])
            .sum::<f64>()
            / items.len() as f64
    };
    let elements: Vec<(String, f64)> = inst
        .reported_groups()
        .iter()
        .filter(|g| g.parent.as_deref() != Some("sipas"))
        .map(|g| (g.id.clone(), mean_of(&inst.children(&g.id))))
        .collect();
    let part = |name: &str| {
        let kids = inst.children(name);
        kids.iter()
            .map(|k| elements.iter().find(|(id, _)| id == k).unwrap().1)
            .sum::<f64>()
            / kids.len() as f64
    };
    let sipas = 100.0 * (part("policy") + part("service")) / 2.0;
    assert!((row.sipas - sipas).abs() < 1e-8, "{} vs {sipas}", row.sipas);
    assert!((row.groups[9] - 100.0 * part("policy")).abs() < 1e-8);
    assert!((row.groups[10] - 100.0 * part("service")).abs() < 1e-8);
    assert!((row.groups[0] - 100.0 * elements[0].1).abs() < 1e-8);
    // The item share with σ_b = 0.8 is pulled towards 1/2 relative to logistic(η₀ − κ₃).
    let raw = logistic(model.eta0(4, 3, 0) + 1.9);
    assert!(row.items[0] < raw && row.items[0] > 0.5);
}

#[test]
fn truth_csv_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truth.csv");
    let model = Model::new(&small_config(2, 10), &sipas2023()).unwrap();
    write_truth(&model, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "unit_code,period,pilot,sipas,accountability,participation,policy_quality,impact,\
         access,procedures,staff,results,feedback,policy,service"
    );
    assert_eq!(lines.len(), 1 + 5 * 4);
    assert!(lines[1].starts_with("05431,2023Q3,false,"));
    assert!(lines[20].starts_with("05500,2024Q2,true,"));
    for l in &lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 15);
        for v in &f[3..] {
            let (_, dec) = v.split_once('.').unwrap();
            assert_eq!(dec.len(), 6, "{v}");
        }
    }
    assert!(text.ends_with('\n'));
}
