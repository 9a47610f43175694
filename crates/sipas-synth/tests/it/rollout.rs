//! Waves and an effect that grows with exposure: the truth of every group-time effect equals
//! the wave's mean of the truth with the effect minus the truth of the same draws without it.

use std::collections::{BTreeMap, BTreeSet};

use sipas_core::{Period, PilotSet, pilots::Wave};
use sipas_synth::{Model, SynthConfig, write_att_truth_to};

use crate::{sipas2023, small_config};

fn wave(start: &str, units: &[&str]) -> Wave {
    Wave {
        start: start.parse().unwrap(),
        units: units
            .iter()
            .map(|u| (*u).to_string())
            .collect::<BTreeSet<_>>(),
    }
}

/// The 5 units of `small_config` (2023Q3–2024Q2): 05443 and 05500 from 2023Q4, 05446 from
/// 2024Q2, the effect reached in halves: `h = (0, 0.5, 1)`.
fn rollout_config(pilot_effect: f64) -> SynthConfig {
    SynthConfig {
        pilots: PilotSet::from_waves(
            "x",
            vec![
                wave("2023Q4", &["05443", "05500"]),
                wave("2024Q2", &["05446"]),
            ],
        )
        .unwrap(),
        pilot_effect,
        effect_path: vec![0.0, 0.5, 1.0],
        ..small_config(11, 1000)
    }
}

#[test]
fn the_effect_follows_each_units_wave_and_exposure() {
    let inst = sipas2023();
    let m = Model::new(&rollout_config(0.4), &inst).unwrap();
    let unit = |code: &str| m.units().iter().position(|u| u == code).unwrap();
    // Periods 2023Q3, 2023Q4, 2024Q1, 2024Q2.
    let effects = |code: &str| (0..4).map(|t| m.effect(unit(code), t)).collect::<Vec<_>>();
    assert_eq!(effects("05443"), [0.0, 0.0, 0.2, 0.4]);
    assert_eq!(effects("05500"), [0.0, 0.0, 0.2, 0.4]);
    assert_eq!(effects("05446"), [0.0; 4]);
    assert_eq!(m.exposure(unit("05446"), 3), Some(0));
    assert_eq!(m.exposure(unit("05446"), 2), None);
    assert_eq!(effects("05431"), [0.0; 4]);
    // Every unit of a wave is a pilot in the truth table.
    let pilots: BTreeSet<String> = m
        .truth()
        .into_iter()
        .filter(|r| r.pilot)
        .map(|r| r.unit_code)
        .collect();
    assert_eq!(pilots, ["05443", "05446", "05500"].map(String::from).into());
}

#[test]
fn att_truth_is_the_waves_mean_of_the_truth_minus_the_truth_without_the_effect() {
    let inst = sipas2023();
    let with = Model::new(&rollout_config(0.4), &inst).unwrap();
    // Same seed: the same unit and item effects, no pilot effect.
    let without = Model::new(&rollout_config(0.0), &inst).unwrap();
    // Per index (SIPAS, then the reported groups), the truth of every unit and period.
    let ids: Vec<String> = std::iter::once(inst.root().to_string())
        .chain(inst.reported_groups().iter().map(|g| g.id.clone()))
        .collect();
    let key = |m: &Model| -> BTreeMap<(String, String, Period), f64> {
        let mut out = BTreeMap::new();
        for r in m.truth() {
            for (id, v) in ids.iter().zip(std::iter::once(r.sipas).chain(r.groups)) {
                out.insert((id.clone(), r.unit_code.clone(), r.period), v);
            }
        }
        out
    };
    let (y1, y0) = (key(&with), key(&without));
    let all = with.att_truth();
    assert_eq!(
        all.len(),
        ids.len() * 2 * 4,
        "every index × two waves × four periods"
    );
    for r in &all {
        let members: &[&str] = if r.group == "2023Q4".parse().unwrap() {
            &["05443", "05500"]
        } else {
            &["05446"]
        };
        assert_eq!(r.units, members.len());
        let hand = members
            .iter()
            .map(|u| {
                let k = (r.index.clone(), (*u).to_string(), r.period);
                y1[&k] - y0[&k]
            })
            .sum::<f64>()
            / members.len() as f64;
        assert!((r.att - hand).abs() < 1e-9, "{r:?} vs {hand}");
        let untreated = members
            .iter()
            .map(|u| y0[&(r.index.clone(), (*u).to_string(), r.period)])
            .sum::<f64>()
            / members.len() as f64;
        assert!((r.untreated - untreated).abs() < 1e-9, "{r:?}");
        assert_eq!(r.exposure, r.period.index() - r.group.index());
        if r.exposure <= 0 {
            // Before the start and at exposure 0 (h(0) = 0) the effect is exactly nothing.
            assert_eq!(r.att, 0.0, "{r:?}");
        }
    }
    // The first wave: half the effect after one quarter, all of it after two; δ = 0.4 on the
    // logit scale near 85% satisfied is about 100 · 0.4 · 0.85 · 0.15 ≈ 5 points.
    let att: Vec<_> = all.iter().filter(|r| r.index == "sipas").collect();
    assert_eq!(att.len(), 2 * 4, "SIPAS: two waves × four periods");
    let first: Vec<f64> = att.iter().take(4).map(|r| r.att).collect();
    assert!(
        first[2] > 1.5 && first[3] > 2.0 * first[2] * 0.9,
        "{first:?}"
    );
    assert!(first[3] > 3.0 && first[3] < 7.0, "{first:?}");

    let mut csv = Vec::new();
    write_att_truth_to(&with, &mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("index,group,period,exposure,units,att,untreated")
    );
    assert_eq!(text.lines().count(), 1 + all.len());
    assert!(
        text.contains("\nsipas,2023Q4,2023Q3,-1,2,0.000000000,"),
        "{text}"
    );
}

#[test]
fn an_effect_path_must_be_finite() {
    let mut cfg = rollout_config(0.4);
    cfg.effect_path = vec![0.0, f64::NAN];
    let err = Model::new(&cfg, &sipas2023()).unwrap_err().to_string();
    assert!(err.contains("effect_path"), "{err}");
}
