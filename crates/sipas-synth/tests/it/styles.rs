//! Response styles: the sample agrees with the styled model, the truth is
//! its exact expected value, copies and edits are what they claim to be.

use std::collections::HashMap;

use sipas_synth::quad::LogisticNormal;
use sipas_synth::{Model, ResponseStyles, SynthConfig, generate_chunk};

use crate::{quarters, sipas2023};

fn styled(n: u64) -> SynthConfig {
    SynthConfig {
        seed: 7,
        responses: n,
        units: vec!["05443".into()],
        periods: quarters("2024Q2", "2024Q2"),
        styles: ResponseStyles::realistic(),
        ..SynthConfig::thai_nguyen()
    }
}

struct Row {
    id: String,
    submitted_at: String,
    channel: String,
    answers: Vec<u8>,
}

fn rows(model: &Model) -> Vec<Row> {
    let df = generate_chunk(model, 0..model.n_rows()).unwrap();
    let text = |c: &str| -> Vec<String> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect()
    };
    let (ids, sub, ch) = (text("response_id"), text("submitted_at"), text("channel"));
    let items = model.instrument().item_ids();
    let cols: Vec<Vec<u8>> = items
        .iter()
        .map(|id| {
            df.column(id)
                .unwrap()
                .u8()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or(0))
                .collect()
        })
        .collect();
    (0..df.height())
        .map(|i| Row {
            id: ids[i].clone(),
            submitted_at: sub[i].clone(),
            channel: ch[i].clone(),
            answers: cols.iter().map(|c| c[i]).collect(),
        })
        .collect()
}

#[test]
fn the_truth_is_the_styled_population_mean() {
    let model = Model::new(&styled(10), &sipas2023()).unwrap();
    let cfg = model.config();
    let st = &cfg.styles;
    let rule = LogisticNormal::new(cfg.sigma_respondent);
    let kappa = cfg.thresholds[2]; // κ₃: satisfied is 4 or 5
    let truth = &model.truth()[0];
    for (j, &p) in truth.items.iter().enumerate() {
        let x = model.eta0(0, 0, j) - kappa;
        let answered: f64 = st
            .modes
            .iter()
            .map(|m| m.share * rule.mean(x + m.effect))
            .sum();
        let want = st.acquiescent_share + (1.0 - st.acquiescent_share) * answered;
        assert!((p - want).abs() < 1e-14, "item {j}: {p} vs {want}");
    }
    // Acquiescent respondents raise the truth: 30% of the population are
    // all satisfied, so SIPAS ≈ plain + 0.3·(100 − plain) (the mode effects
    // average −0.025 on the logit scale: a fraction of a point).
    let plain = Model::new(
        &SynthConfig {
            styles: ResponseStyles::default(),
            ..styled(10)
        },
        &sipas2023(),
    )
    .unwrap();
    let p = plain.truth()[0].sipas;
    let lift = truth.sipas - p;
    assert!((lift - 0.3 * (100.0 - p)).abs() < 1.0, "{lift} vs {p}");
}

#[test]
fn the_styled_sample_matches_the_truth_after_copies_and_drafts() {
    let n = 20_000u64;
    let model = Model::new(&styled(n), &sipas2023()).unwrap();
    let all = rows(&model);
    // Drafts follow their edit under the same id; copies carry `-resent`.
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in all.iter().enumerate() {
        by_id.entry(r.id.as_str()).or_default().push(i);
    }
    let copies: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].id.ends_with("-resent"))
        .collect();
    let edited: Vec<&Vec<usize>> = by_id.values().filter(|v| v.len() == 2).collect();
    assert_eq!(all.len(), n as usize + copies.len() + edited.len());
    // About 0.5% copies and 1% edits (binomial, 4 SE).
    let near = |k: usize, p: f64| {
        let (m, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
        (k as f64 - m).abs() < 4.0 * sd
    };
    assert!(near(copies.len(), 0.005), "{} copies", copies.len());
    assert!(near(edited.len(), 0.01), "{} edits", edited.len());
    for &c in &copies {
        let orig = &all[by_id[all[c].id.trim_end_matches("-resent")][0]];
        assert_eq!(
            (&orig.submitted_at, &orig.channel, &orig.answers),
            (&all[c].submitted_at, &all[c].channel, &all[c].answers)
        );
    }
    for v in &edited {
        let (edit, draft) = (&all[v[0]], &all[v[1]]);
        assert!(draft.submitted_at < edit.submitted_at);
        assert_eq!(draft.submitted_at[..11], edit.submitted_at[..11]);
    }
    // The respondents: the first row of every id (the edit, not its
    // draft), copies left out.
    let people: Vec<&Row> = by_id
        .iter()
        .filter(|(id, _)| !id.ends_with("-resent"))
        .map(|(_, v)| &all[v[0]])
        .collect();
    assert_eq!(people.len(), n as usize);
    let k = 33;
    let truth = &model.truth()[0];
    for j in 0..k {
        let valid = people.iter().filter(|r| r.answers[j] != 0).count();
        let sat = people.iter().filter(|r| r.answers[j] >= 4).count();
        let share = sat as f64 / valid as f64;
        let p = truth.items[j];
        let se = (p * (1.0 - p) / valid as f64).sqrt();
        assert!((share - p).abs() < 4.0 * se, "item {j}: {share} vs {p}");
    }
    // Acquiescent: every answered item the same satisfied code (30%; a
    // fifth of them 5s).
    let same = |code: u8| {
        people
            .iter()
            .filter(|r| {
                r.answers.iter().any(|&a| a != 0) && r.answers.iter().all(|&a| a == 0 || a == code)
            })
            .count()
    };
    let (fours, fives) = (same(4), same(5));
    let p4 = 0.3 * 0.8;
    let p5 = 0.3 * 0.2;
    assert!(near(fours, p4), "{fours} all-4");
    assert!(near(fives, p5), "{fives} all-5");
    // Modes: paper 50%, online 30%, phone 20%.
    for (mode, p) in [("paper", 0.5), ("online", 0.3), ("phone", 0.2)] {
        let m = people.iter().filter(|r| r.channel == mode).count();
        assert!(near(m, p), "{mode}: {m}");
    }
    // Nonresponse clusters: 5% of respondents skip about half the items;
    // the others 2%. Respondents with more than 9 of 33 items missing: the
    // clustered ones (P(Bin(33, 0.5) > 9) ≈ 0.9993), hardly any others.
    let heavy = people
        .iter()
        .filter(|r| {
            r.answers
                .iter()
                .map(|&a| usize::from(a == 0))
                .sum::<usize>()
                > 9
        })
        .count();
    assert!(near(heavy, 0.05), "{heavy} heavy nonresponders");
    // Times of day, Vietnam time.
    assert!(
        people.iter().all(|r| r.submitted_at.ends_with("+07:00")
            && ("07".."17").contains(&&r.submitted_at[11..13]))
    );
}

#[test]
fn styles_off_leave_the_model_draws_unchanged() {
    // Only the styles stream is new: with every style off except the mode
    // names (effect 0), the answers are those of the plain model.
    let plain = SynthConfig {
        styles: ResponseStyles::default(),
        ..styled(500)
    };
    let zero_effect = SynthConfig {
        styles: ResponseStyles {
            modes: vec![sipas_synth::Mode {
                name: "paper".into(),
                share: 1.0,
                effect: 0.0,
            }],
            ..ResponseStyles::default()
        },
        ..styled(500)
    };
    let a = rows(&Model::new(&plain, &sipas2023()).unwrap());
    let b = rows(&Model::new(&zero_effect, &sipas2023()).unwrap());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.answers, y.answers);
        assert_eq!(x.id, y.id);
        assert_eq!(x.channel, "survey");
        assert_eq!(y.channel, "paper");
        assert_eq!(y.submitted_at[..10], x.submitted_at);
    }
}
