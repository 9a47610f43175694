//! Instruments that are not SIPAS-shaped (yes/no, choice, numeric and
//! Likert-mean items): the sample's share of every test agrees with the
//! exact truth, with and without response styles (acquiescent respondents
//! say yes; modes shift the latent value).

use sipas_core::Instrument;
use sipas_synth::{Model, ResponseStyles, SynthConfig, generate_chunk};

use crate::quarters;

fn instrument(path: &str) -> Instrument {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    Instrument::from_path(&p).unwrap()
}

fn one_cell(n: u64, styles: ResponseStyles) -> SynthConfig {
    SynthConfig {
        seed: 11,
        responses: n,
        units: vec!["05443".into()],
        periods: quarters("2024Q2", "2024Q2"),
        missing_rate: 0.05,
        styles,
        ..SynthConfig::thai_nguyen()
    }
}

/// Per test: the sample's share among the rows that answered its item, and
/// the number of those rows.
fn sample_shares(model: &Model) -> Vec<(f64, usize)> {
    let inst = model.instrument();
    let df = generate_chunk(model, 0..model.n_rows()).unwrap();
    inst.tests()
        .iter()
        .map(|t| {
            let id = &inst.items()[t.item].id;
            let col = df.column(id).unwrap().u8().unwrap().clone();
            let answered: Vec<u8> = col.iter().flatten().collect();
            for &a in &answered {
                assert!(inst.items()[t.item].is_valid(a), "{id}: code {a}");
            }
            let pass = answered.iter().filter(|&&a| t.test.passes(a)).count();
            (pass as f64 / answered.len() as f64, answered.len())
        })
        .collect()
}

fn check(path: &str, styles: ResponseStyles) {
    let inst = instrument(path);
    let model = Model::new(&one_cell(40_000, styles), &inst).unwrap();
    let truth = &model.truth()[0];
    assert_eq!(truth.items.len(), inst.tests().len());
    let ids = inst.test_ids();
    for (k, (share, n)) in sample_shares(&model).into_iter().enumerate() {
        let p = truth.items[k];
        let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
        assert!(
            (share - p).abs() < 4.5 * se,
            "{path} {}: sample {share} vs truth {p} (se {se}, n {n})",
            ids[k]
        );
    }
    // Every group's truth lies on its own scale.
    let groups = inst.reported_groups();
    for (g, v) in groups.iter().zip(&truth.groups) {
        let (lo, hi) = inst.bounds(&g.id).unwrap();
        assert!((lo..=hi).contains(v), "{} = {v} outside {lo}–{hi}", g.id);
    }
}

fn styles_without_copies() -> ResponseStyles {
    ResponseStyles {
        resent_share: 0.0,
        edit_share: 0.0,
        ..ResponseStyles::realistic()
    }
}

#[test]
fn every_item_type_matches_the_truth() {
    check(
        "fixtures/reference/index/instrument.toml",
        ResponseStyles::default(),
    );
    check(
        "fixtures/instruments/papi-commune.toml",
        ResponseStyles::default(),
    );
}

#[test]
fn every_item_type_matches_the_truth_under_response_styles() {
    check(
        "fixtures/reference/index/instrument.toml",
        styles_without_copies(),
    );
    check(
        "fixtures/instruments/papi-commune.toml",
        styles_without_copies(),
    );
}

#[test]
fn acquiescent_respondents_say_yes() {
    let inst = instrument("fixtures/instruments/papi-commune.toml");
    let plain = Model::new(&one_cell(10, ResponseStyles::default()), &inst).unwrap();
    let styled = Model::new(&one_cell(10, styles_without_copies()), &inst).unwrap();
    let k = inst.test_ids().iter().position(|t| *t == "pp1").unwrap();
    let (p0, p1) = (plain.truth()[0].items[k], styled.truth()[0].items[k]);
    let a = ResponseStyles::realistic().acquiescent_share;
    assert!(a > 0.0 && p1 > p0, "{p0} → {p1}");
}
