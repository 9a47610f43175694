//! The sample agrees with the model: item shares, the answer distribution,
//! missingness, the respondent effect and weights, against exact values.

use sipas_synth::quad::LogisticNormal;
use sipas_synth::{Model, SynthConfig, generate_chunk};

use crate::{quarters, sipas2023, weights};

/// One pilot unit, one period after the start, `n` respondents.
fn one_cell(n: u64, missing_rate: f64, weights: bool) -> SynthConfig {
    SynthConfig {
        seed: 2024,
        responses: n,
        units: vec!["05443".into()],
        periods: quarters("2024Q2", "2024Q2"),
        missing_rate,
        weights,
        ..SynthConfig::thai_nguyen()
    }
}

/// Answers as a row-major matrix, 0 = missing.
fn answers(model: &Model) -> (usize, Vec<u8>) {
    let df = generate_chunk(model, 0..model.n_rows()).unwrap();
    let ids = model.instrument().item_ids();
    let n = df.height();
    let mut out = vec![0u8; n * ids.len()];
    for (j, id) in ids.iter().enumerate() {
        let col = df.column(id).unwrap().u8().unwrap().clone();
        for (i, v) in col.iter().enumerate() {
            out[i * ids.len() + j] = v.unwrap_or(0);
        }
    }
    (n, out)
}

#[test]
fn item_shares_and_missingness_match_the_model() {
    let model = Model::new(&one_cell(20_000, 0.02, false), &sipas2023()).unwrap();
    assert!(model.treated(0, 0));
    let (n, a) = answers(&model);
    assert_eq!(n, 20_000);
    let k = 33;
    let truth = &model.truth()[0];
    let mut missing = 0usize;
    for j in 0..k {
        let col: Vec<u8> = (0..n).map(|i| a[i * k + j]).collect();
        let valid = col.iter().filter(|&&v| v != 0).count();
        missing += n - valid;
        let sat = col.iter().filter(|&&v| v >= 4).count();
        let share = sat as f64 / valid as f64;
        let p = truth.items[j];
        let se = (p * (1.0 - p) / valid as f64).sqrt();
        assert!(
            (share - p).abs() < 4.0 * se,
            "item {j}: {share} vs {p} (se {se})"
        );
    }
    let total = (n * k) as f64;
    let rate = missing as f64 / total;
    let se = (0.02 * 0.98 / total).sqrt();
    assert!((rate - 0.02).abs() < 4.0 * se, "missing rate {rate}");
}

#[test]
fn answer_distribution_matches_the_ordered_logit() {
    // P(Y ≤ k) = E[logistic(κ_k − η₀ − b)] = E[logistic(κ_k − η₀ + b)] (b symmetric).
    let cfg = one_cell(20_000, 0.0, false);
    let model = Model::new(&cfg, &sipas2023()).unwrap();
    let (n, a) = answers(&model);
    let rule = LogisticNormal::with_intervals(0.8, 20_000);
    for j in [0, 13, 32] {
        let eta0 = model.eta0(0, 0, j);
        let mut cdf = vec![0.0];
        cdf.extend(cfg.thresholds.iter().map(|k| rule.mean(k - eta0)));
        cdf.push(1.0);
        for code in 1..=5u8 {
            let p = cdf[code as usize] - cdf[code as usize - 1];
            let got = (0..n).filter(|&i| a[i * 33 + j] == code).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (got - p).abs() < 4.0 * se + 1e-12,
                "item {j} code {code}: {got} vs {p}"
            );
        }
    }
}

#[test]
fn respondent_effect_correlates_answers() {
    // S = number of satisfied items of a respondent. Exactly:
    // Var S = E[Σ p_j(b)(1 − p_j(b))] + Var[Σ p_j(b)], p_j(b) = logistic(η₀j + b − κ₃).
    let model = Model::new(&one_cell(8_000, 0.0, false), &sipas2023()).unwrap();
    let (n, a) = answers(&model);
    let s: Vec<f64> = (0..n)
        .map(|i| a[i * 33..(i + 1) * 33].iter().filter(|&&v| v >= 4).count() as f64)
        .collect();
    let mean = s.iter().sum::<f64>() / n as f64;
    let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let x: Vec<f64> = (0..33).map(|j| model.eta0(0, 0, j) + 1.9).collect();
    // Simpson on z ∈ [−12, 12], b = 0.8 z.
    let (m, h) = (24_000, 24.0 / 24_000.0);
    let (mut e1, mut e2, mut e_within) = (0.0, 0.0, 0.0);
    for i in 0..=m {
        let z = -12.0 + f64::from(i) * h;
        let w = h / 3.0
            * if i == 0 || i == m {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            }
            * (-0.5 * z * z).exp()
            / (2.0 * std::f64::consts::PI).sqrt();
        let ps: Vec<f64> = x
            .iter()
            .map(|xj| 1.0 / (1.0 + (-(xj + 0.8 * z)).exp()))
            .collect();
        let sum: f64 = ps.iter().sum();
        e1 += w * sum;
        e2 += w * sum * sum;
        e_within += w * ps.iter().map(|p| p * (1.0 - p)).sum::<f64>();
    }
    let exact_var = e_within + (e2 - e1 * e1);
    let independent_var = x
        .iter()
        .map(|xj| LogisticNormal::new(0.8).mean(*xj))
        .map(|p| p * (1.0 - p))
        .sum::<f64>();
    assert!(
        (mean - e1).abs() < 4.0 * (exact_var / n as f64).sqrt(),
        "{mean} vs {e1}"
    );
    // Sample variance: relative SE ≈ sqrt(2/n) · (kurtosis factor) < 3%.
    assert!((var / exact_var - 1.0).abs() < 0.08, "{var} vs {exact_var}");
    // Without the respondent effect the variance would be far smaller.
    assert!(exact_var > 1.5 * independent_var);
}

#[test]
fn drawn_weights_are_log_normal() {
    let model = Model::new(&one_cell(20_000, 0.02, true), &sipas2023()).unwrap();
    let df = generate_chunk(&model, 0..20_000).unwrap();
    let w = weights(&df);
    assert!(
        w.iter()
            .all(|&x| x > 0.0 && (x * 1e6 - (x * 1e6).round()).abs() < 1e-6)
    );
    let logs: Vec<f64> = w.iter().map(|x| x.ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // SE of the mean 0.3/√n = 0.0021; SE of the sd ≈ 0.3/√(2n) = 0.0015.
    assert!(mean.abs() < 4.0 * 0.3 / n.sqrt(), "{mean}");
    assert!((sd - 0.3).abs() < 4.0 * 0.3 / (2.0 * n).sqrt(), "{sd}");
    // Without weights every weight is exactly 1.
    let model = Model::new(&one_cell(50, 0.02, false), &sipas2023()).unwrap();
    let df = generate_chunk(&model, 0..50).unwrap();
    assert!(weights(&df).iter().all(|&x| x == 1.0));
}

#[test]
fn chunks_concatenate_to_the_whole() {
    let model = Model::new(&crate::small_config(5, 333), &sipas2023()).unwrap();
    let whole = generate_chunk(&model, 0..333).unwrap();
    let mut parts = model.frames(50);
    let mut acc = parts.next().unwrap().unwrap();
    for p in parts {
        acc.vstack_mut(&p.unwrap()).unwrap();
    }
    assert_eq!(acc.height(), 333);
    assert!(acc.equals_missing(&whole));
    // Out-of-range requests are clamped.
    assert_eq!(generate_chunk(&model, 300..1_000).unwrap().height(), 33);
    assert_eq!(generate_chunk(&model, 400..500).unwrap().height(), 0);
}
