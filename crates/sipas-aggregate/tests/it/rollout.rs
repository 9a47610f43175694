//! Staggered rollout: Callaway–Sant'Anna ATT(g, t) against a plain
//! re-computation of its formulas, against the existing 2×2 DiD with one
//! wave, and against `csdid` 0.4.3 (the Python port of R `did`) on the
//! `mpdta` panel (fixtures/reference/rollout/reference.py → ref_*.csv);
//! the Goodman-Bacon decomposition against the TWFE regression.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sipas_aggregate::panel::{PanelCell, Weighting, twfe_did};
use sipas_aggregate::rollout::{
    AggEffect, BaconKind, BasePeriod, Control, RolloutOptions, UnitSeries, bacon, callaway_santanna,
};
use sipas_core::{Level, Period};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/rollout")
}

fn unit(id: &str, group: Option<i64>, values: &[(i64, f64)]) -> UnitSeries {
    UnitSeries {
        unit: id.into(),
        group,
        weight: 1.0,
        values: values.iter().copied().collect(),
        variances: BTreeMap::new(),
    }
}

fn opts(control: Control, base: BasePeriod) -> RolloutOptions {
    RolloutOptions {
        control,
        base,
        replicates: 0,
        ..RolloutOptions::default()
    }
}

/// Periods 1..=4; group 3 (units a, b), group 4 (unit c, d), never (e, f, g).
fn hand_panel() -> Vec<UnitSeries> {
    vec![
        unit("a", Some(3), &[(1, 10.0), (2, 11.0), (3, 15.0), (4, 17.0)]),
        unit("b", Some(3), &[(1, 12.0), (2, 12.0), (3, 14.0), (4, 18.0)]),
        unit("c", Some(4), &[(1, 9.0), (2, 10.0), (3, 10.5), (4, 14.0)]),
        unit("d", Some(4), &[(1, 8.0), (2, 8.5), (3, 9.0), (4, 11.0)]),
        unit("e", None, &[(1, 10.0), (2, 10.5), (3, 11.0), (4, 11.0)]),
        unit("f", None, &[(1, 11.0), (2, 12.0), (3, 12.0), (4, 13.5)]),
        unit("g", None, &[(1, 9.0), (2, 9.0), (3, 10.0), (4, 10.0)]),
    ]
}

/// The 2×2 DiD of `treated` against `control` between `t` and `b`, and its
/// SE `√(s₁²/n₁ + s₀²/n₀)` with variances divided by n (R `did`'s analytic SE).
fn plain(units: &[UnitSeries], treated: &[&str], control: &[&str], t: i64, b: i64) -> (f64, f64) {
    let dy = |ids: &[&str]| -> Vec<f64> {
        ids.iter()
            .map(|id| {
                let u = units.iter().find(|u| u.unit == *id).unwrap();
                u.values[&t] - u.values[&b]
            })
            .collect()
    };
    let stats = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / x.len() as f64;
        (m, v / x.len() as f64)
    };
    let ((m1, v1), (m0, v0)) = (stats(&dy(treated)), stats(&dy(control)));
    (m1 - m0, (v1 + v0).sqrt())
}

#[test]
fn att_gt_and_se_equal_a_plain_recomputation() {
    let units = hand_panel();
    let never = ["e", "f", "g"];
    // By hand: ATT(3,3) never, base 2: treated ΔY = 4, 2 (mean 3); never ΔY = 0.5, 0, 1 (mean 0.5).
    let r = callaway_santanna(&units, &opts(Control::Never, BasePeriod::Varying)).unwrap();
    let get = |r: &sipas_aggregate::rollout::Rollout, g: i64, t: i64| {
        r.att_gt
            .iter()
            .find(|c| c.group == g && c.period == t)
            .cloned()
            .unwrap()
    };
    let c33 = get(&r, 3, 3);
    assert!((c33.att - 2.5).abs() < 1e-12);
    // SE² = var(4,2)/2/2 + var(.5,0,1)/3/3 = 1/2 + (1/6)/3 = 0.5 + 1/18.
    assert!((c33.se.unwrap() - (0.5_f64 + 1.0 / 18.0).sqrt()).abs() < 1e-12);
    let expect_varying = [
        // (g, t, b, treated, control)
        (3, 2, 1, &["a", "b"][..], &never[..]),
        (3, 3, 2, &["a", "b"][..], &never[..]),
        (3, 4, 2, &["a", "b"][..], &never[..]),
        (4, 2, 1, &["c", "d"][..], &never[..]),
        (4, 3, 2, &["c", "d"][..], &never[..]),
        (4, 4, 3, &["c", "d"][..], &never[..]),
    ];
    assert_eq!(r.att_gt.len(), expect_varying.len());
    for (g, t, b, tr, co) in expect_varying {
        let (att, se) = plain(&units, tr, co, t, b);
        let c = get(&r, g, t);
        assert_eq!(c.base, b);
        assert!(
            (c.att - att).abs() < 1e-9,
            "ATT({g},{t}) {} vs {att}",
            c.att
        );
        assert!((c.se.unwrap() - se).abs() < 1e-9, "SE({g},{t})");
    }
    // Not yet treated: group 4 serves as a comparison for group 3 until it starts.
    let r = callaway_santanna(&units, &opts(Control::NotYet, BasePeriod::Universal)).unwrap();
    let nyt = ["c", "d", "e", "f", "g"];
    let expect_universal = [
        (3, 1, 2, &["a", "b"][..], &nyt[..]),
        (3, 3, 2, &["a", "b"][..], &nyt[..]),
        (3, 4, 2, &["a", "b"][..], &never[..]),
        (4, 1, 3, &["c", "d"][..], &never[..]),
        (4, 2, 3, &["c", "d"][..], &never[..]),
        (4, 4, 3, &["c", "d"][..], &never[..]),
    ];
    for (g, t, b, tr, co) in expect_universal {
        let (att, se) = plain(&units, tr, co, t, b);
        let c = get(&r, g, t);
        assert_eq!(c.base, b);
        assert_eq!(c.n_control, co.len());
        assert!(
            (c.att - att).abs() < 1e-9,
            "ATT({g},{t}) {} vs {att}",
            c.att
        );
        assert!((c.se.unwrap() - se).abs() < 1e-9, "SE({g},{t})");
    }
    // The base cells: 0 without an SE.
    for (g, t) in [(3, 2), (4, 3)] {
        let c = get(&r, g, t);
        assert_eq!((c.att, c.se), (0.0, None));
    }
    // Simple aggregation: post cells weighted by group size (2 and 2 units):
    // (ATT(3,3) + ATT(3,4) + ATT(4,4)) / 3.
    let post: f64 = [(3, 3), (3, 4), (4, 4)]
        .iter()
        .map(|&(g, t)| get(&r, g, t).att)
        .sum::<f64>()
        / 3.0;
    assert!((r.simple.att - post).abs() < 1e-12);
    // Group aggregation: group 3 = mean of its two post cells.
    let g3 = r.group.rows.iter().find(|e| e.key == Some(3)).unwrap();
    assert!((g3.att - f64::midpoint(get(&r, 3, 3).att, get(&r, 3, 4).att)).abs() < 1e-12);
}

#[test]
fn units_without_a_pre_period_are_listed_with_a_reason() {
    let mut units = hand_panel();
    units.push(unit(
        "h",
        Some(1),
        &[(1, 5.0), (2, 6.0), (3, 7.0), (4, 8.0)],
    ));
    units.push(unit(
        "i",
        Some(9),
        &[(1, 5.0), (2, 6.0), (3, 7.0), (4, 8.0)],
    ));
    let r = callaway_santanna(&units, &opts(Control::Never, BasePeriod::Varying)).unwrap();
    let h = r.units.iter().find(|u| u.unit == "h").unwrap();
    assert!(!h.used);
    assert!(h.reason.contains("no pre-period"), "{}", h.reason);
    let i = r.units.iter().find(|u| u.unit == "i").unwrap();
    assert!(i.used && i.reason.contains("never treated"), "{}", i.reason);
    assert_eq!(r.n_units, 8);
    assert_eq!(r.units.len(), 9);
}

/// One wave with one pre-period: the overall effect is the 2×2 DiD of the
/// existing evaluation (TWFE with unit and period effects).
#[test]
fn one_wave_overall_equals_the_existing_two_by_two_did() {
    let q = |i: u32| Period::new(sipas_core::Granularity::Quarter, 2024, i).unwrap();
    let values: [(&str, bool, [f64; 4]); 6] = [
        ("01", true, [60.0, 66.0, 67.5, 70.0]),
        ("02", true, [55.0, 58.0, 61.0, 63.5]),
        ("03", true, [70.0, 71.0, 75.0, 74.0]),
        ("04", false, [62.0, 63.0, 62.5, 64.0]),
        ("05", false, [58.0, 57.0, 59.5, 60.0]),
        ("06", false, [66.0, 67.5, 68.0, 67.0]),
    ];
    let mut cells = Vec::new();
    let mut units = Vec::new();
    for (code, pilot, v) in values {
        for (i, y) in v.iter().enumerate() {
            cells.push(PanelCell {
                unit_code: code.into(),
                period: q(i as u32 + 1),
                pilot,
                value: *y,
                se: None,
                n: 30,
            });
        }
        units.push(UnitSeries {
            unit: code.into(),
            group: pilot.then(|| q(2).index()),
            weight: 1.0,
            values: (0..4).map(|i| (q(i + 1).index(), v[i as usize])).collect(),
            variances: BTreeMap::new(),
        });
    }
    let did = twfe_did(&cells, q(2), Weighting::Equal, Level::DEFAULT).unwrap();
    for base in [BasePeriod::Varying, BasePeriod::Universal] {
        for control in [Control::Never, Control::NotYet] {
            let r = callaway_santanna(&units, &opts(control, base)).unwrap();
            for (name, e) in [
                ("simple", &r.simple),
                ("event", &r.event.overall),
                ("group", &r.group.overall),
                ("calendar", &r.calendar.overall),
            ] {
                assert!(
                    (e.att - did.estimate).abs() < 1e-9,
                    "{name}: {} vs TWFE {}",
                    e.att,
                    did.estimate
                );
            }
        }
    }
    // And the Goodman-Bacon decomposition has one comparison, weight 1.
    let b = bacon(&units).unwrap();
    assert_eq!(b.rows.len(), 1);
    assert!((b.rows[0].weight - 1.0).abs() < 1e-12);
    assert!((b.twfe - did.estimate).abs() < 1e-9);
}

/// The mpdta panel: lemp by county and year, first.treat (0 = never).
fn mpdta() -> Vec<UnitSeries> {
    let text = std::fs::read_to_string(dir().join("mpdta.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (y, c, v, g) = (
        col("year"),
        col("countyreal"),
        col("lemp"),
        col("first.treat"),
    );
    let mut units: BTreeMap<String, UnitSeries> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let first: i64 = f[g].parse().unwrap();
        let u = units.entry(f[c].to_string()).or_insert_with(|| UnitSeries {
            unit: f[c].to_string(),
            group: (first != 0).then_some(first),
            weight: 1.0,
            values: BTreeMap::new(),
            variances: BTreeMap::new(),
        });
        u.values
            .insert(f[y].parse().unwrap(), f[v].parse().unwrap());
    }
    units.into_values().collect()
}

/// The rows of a reference CSV, each by column name.
fn read_ref(name: &str) -> Vec<BTreeMap<String, String>> {
    csv::Reader::from_path(dir().join(name))
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect()
}

fn close(ours: f64, theirs: &str, what: &str) {
    let theirs: f64 = theirs.parse().unwrap();
    assert!(
        (ours - theirs).abs() < 1e-6,
        "{what}: {ours} vs csdid {theirs}"
    );
}

fn close_se(ours: Option<f64>, theirs: &str, what: &str) {
    match ours {
        None => assert!(theirs.is_empty(), "{what}: no SE, csdid {theirs}"),
        Some(s) => close(s, theirs, what),
    }
}

#[test]
fn mpdta_matches_csdid_for_both_comparison_groups_and_base_periods() {
    let units = mpdta();
    assert_eq!(units.len(), 500);
    let attgt = read_ref("ref_attgt.csv");
    let aggte = read_ref("ref_aggte.csv");
    let mut checked = 0;
    for (control, cname) in [
        (Control::Never, "nevertreated"),
        (Control::NotYet, "notyettreated"),
    ] {
        for (base, bname) in [
            (BasePeriod::Varying, "varying"),
            (BasePeriod::Universal, "universal"),
        ] {
            let r = callaway_santanna(&units, &opts(control, base)).unwrap();
            assert_eq!(r.n_units, 500);
            assert!(r.skipped.is_empty());
            let rows: Vec<_> = attgt
                .iter()
                .filter(|x| x["control"] == cname && x["base"] == bname)
                .collect();
            assert_eq!(rows.len(), r.att_gt.len(), "{cname} {bname}");
            for x in rows {
                let (g, t): (i64, i64) =
                    (x["group"].parse().unwrap(), x["period"].parse().unwrap());
                let c = r
                    .att_gt
                    .iter()
                    .find(|c| c.group == g && c.period == t)
                    .unwrap();
                let what = format!("{cname} {bname} ATT({g},{t})");
                close(c.att, &x["att"], &what);
                close_se(c.se, &x["se"], &what);
                checked += 1;
            }
            for x in aggte
                .iter()
                .filter(|x| x["control"] == cname && x["base"] == bname)
            {
                let agg = x["aggregation"].as_str();
                let what = format!("{cname} {bname} {agg} {}", x["key"]);
                let e: &AggEffect = if x["key"].is_empty() {
                    match agg {
                        "simple" => &r.simple,
                        "event" => &r.event.overall,
                        "group" => &r.group.overall,
                        _ => &r.calendar.overall,
                    }
                } else {
                    let key: i64 = x["key"].parse().unwrap();
                    let rows = match agg {
                        "event" => &r.event.rows,
                        "group" => &r.group.rows,
                        _ => &r.calendar.rows,
                    };
                    rows.iter()
                        .find(|e| e.key == Some(key))
                        .unwrap_or_else(|| panic!("{what}"))
                };
                close(e.att, &x["att"], &what);
                close_se(e.se, &x["se"], &what);
                checked += 1;
            }
            // Every row of ours is in the reference.
            let n_ref = aggte
                .iter()
                .filter(|x| x["control"] == cname && x["base"] == bname && !x["key"].is_empty())
                .count();
            assert_eq!(
                n_ref,
                r.event.rows.len() + r.group.rows.len() + r.calendar.rows.len()
            );
        }
    }
    assert_eq!(checked, 54 + 74);
}

#[test]
fn bacon_weights_sum_to_one_and_average_to_twfe_on_mpdta() {
    let b = bacon(&mpdta()).unwrap();
    let twfe: f64 = read_ref("ref_twfe.csv")[0]["estimate"].parse().unwrap();
    assert!((b.twfe - twfe).abs() < 1e-10, "{} vs {twfe}", b.twfe);
    let total: f64 = b.rows.iter().map(|r| r.weight).sum();
    assert!((total - 1.0).abs() < 1e-12, "weights sum to {total}");
    let avg: f64 = b.rows.iter().map(|r| r.weight * r.estimate).sum();
    assert!((avg - twfe).abs() < 1e-12, "{avg} vs {twfe}");
    // 3 groups: 3 against the never treated, 3 pairs × 2 directions.
    assert_eq!(b.rows.len(), 9);
    assert_eq!(
        b.rows
            .iter()
            .filter(|r| r.kind == BaconKind::LaterVsEarlier)
            .count(),
        3
    );
    assert!(b.forbidden_weight() > 0.0 && b.forbidden_weight() < 0.5);
}

#[test]
fn simultaneous_bands_are_wider_than_pointwise_and_reproducible() {
    let units = mpdta();
    let o = RolloutOptions {
        replicates: 999,
        seed: 7,
        ..RolloutOptions::default()
    };
    let a = callaway_santanna(&units, &o).unwrap();
    let b = callaway_santanna(&units, &o).unwrap();
    assert_eq!(a.att_gt_crit, b.att_gt_crit);
    let crit = a.att_gt_crit.unwrap();
    // 12 cells: above the pointwise 1.96, below Bonferroni's Φ⁻¹(1 − 0.025/12) = 2.865.
    assert!(crit > 2.2 && crit < 2.865, "crit {crit}");
    let e = a.event.crit.unwrap();
    assert!(e > 1.96 && e < 2.8, "event crit {e}");
    let other = callaway_santanna(&units, &RolloutOptions { seed: 8, ..o }).unwrap();
    assert!((other.att_gt_crit.unwrap() - crit).abs() < 0.15);
}

#[test]
fn design_variance_adds_each_cells_sampling_variance() {
    let mut units = hand_panel();
    for u in &mut units {
        u.variances = u.values.keys().map(|&p| (p, 0.25)).collect();
    }
    let base = callaway_santanna(&units, &opts(Control::Never, BasePeriod::Varying)).unwrap();
    let with = callaway_santanna(
        &units,
        &RolloutOptions {
            design_variance: true,
            ..opts(Control::Never, BasePeriod::Varying)
        },
    )
    .unwrap();
    // ATT(3,3): 2 treated, 3 never, two periods each: 0.25·2·(2/4 + 3/9).
    let se_33 = |r: &sipas_aggregate::rollout::Rollout| {
        let cell = r.att_gt.iter().find(|c| (c.group, c.period) == (3, 3));
        cell.unwrap().se.unwrap()
    };
    let (s0, s1) = (se_33(&base), se_33(&with));
    let extra = 0.25 * 2.0 * (2.0 / 4.0 + 3.0 / 9.0);
    assert!((s1 * s1 - s0 * s0 - extra).abs() < 1e-12);
}

/// SplitMix64 → standard normal (Box–Muller), for a reproducible panel.
struct Draws(u64);

impl Draws {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + f64::EPSILON
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The rollout of fixtures/rollout: quarters 2023Q1–2026Q4, 12 units from
/// 2024Q1 (full effect 6 points), 20 units from 2025Q1 (full effect 3
/// points), 60 never treated; the effect grows linearly from 0 at the start
/// to full after 4 quarters. Unit and period effects, noise sd `noise`.
/// Returns the panel and the true ATT(g, t).
fn rollout_panel(noise: f64) -> (Vec<UnitSeries>, BTreeMap<(i64, i64), f64>) {
    let q = |y: i32, s: u32| {
        Period::new(sipas_core::Granularity::Quarter, y, s)
            .unwrap()
            .index()
    };
    let (first, last) = (q(2023, 1), q(2026, 4));
    let waves = [(q(2024, 1), 12, 6.0), (q(2025, 1), 20, 3.0)];
    let effect = |g: i64, full: f64, t: i64| {
        if t < g {
            0.0
        } else {
            full * ((t - g) as f64 / 4.0).min(1.0)
        }
    };
    let mut d = Draws(20_250_101);
    let period_fx: Vec<f64> = (first..=last)
        .map(|t| 0.4 * (t - first) as f64 + d.normal())
        .collect();
    let mut units = Vec::new();
    let mut truth = BTreeMap::new();
    let mut k = 0;
    for (g, count, full) in waves
        .iter()
        .map(|&(g, c, f)| (Some(g), c, f))
        .chain([(None, 60, 0.0)])
    {
        for _ in 0..count {
            k += 1;
            let alpha = 60.0 + 5.0 * d.normal();
            let values = (first..=last)
                .map(|t| {
                    let te = g.map_or(0.0, |g| effect(g, full, t));
                    (
                        t,
                        alpha + period_fx[(t - first) as usize] + te + noise * d.normal(),
                    )
                })
                .collect();
            units.push(UnitSeries {
                unit: format!("u{k:03}"),
                group: g,
                weight: 1.0,
                values,
                variances: BTreeMap::new(),
            });
        }
        if let Some(g) = g {
            for t in first..=last {
                truth.insert((g, t), effect(g, full, t));
            }
        }
    }
    (units, truth)
}

/// The true overall (simple) effect: post cells weighted by group size.
fn true_simple(truth: &BTreeMap<(i64, i64), f64>, units: &[UnitSeries]) -> f64 {
    let size = |g: i64| units.iter().filter(|u| u.group == Some(g)).count() as f64;
    let (mut s, mut w) = (0.0, 0.0);
    for (&(g, t), &v) in truth {
        if t >= g {
            s += size(g) * v;
            w += size(g);
        }
    }
    s / w
}

#[test]
fn growing_wave_effects_are_recovered_while_twfe_is_biased() {
    // Without noise: every estimator of CS is exact; TWFE is not.
    let (units, truth) = rollout_panel(0.0);
    let target = true_simple(&truth, &units);
    for control in [Control::Never, Control::NotYet] {
        let r = callaway_santanna(&units, &opts(control, BasePeriod::Varying)).unwrap();
        for c in &r.att_gt {
            assert!((c.att - truth[&(c.group, c.period)]).abs() < 1e-9);
        }
        assert!((r.simple.att - target).abs() < 1e-9);
    }
    let b = bacon(&units).unwrap();
    let bias = b.twfe - target;
    // TWFE averages in the later-vs-earlier comparisons, whose "controls"
    // (wave 1) are still growing into their effect: it understates the effect
    // here by over a fifth.
    assert!(bias < -0.2 * target, "TWFE {} vs true {target}", b.twfe);
    let forbidden: f64 = b
        .rows
        .iter()
        .filter(|r| r.kind.forbidden())
        .map(|r| r.estimate * r.weight)
        .sum();
    assert!(forbidden < 0.5 * b.forbidden_weight() * target);

    let clean_bias = bias;
    // With noise (sd 1.5 per cell): the intervals cover the truth; TWFE lies
    // outside the 95% interval around the truth, and its bias is the
    // noise-free bias give or take noise.
    let (units, truth) = rollout_panel(1.5);
    let o = RolloutOptions {
        replicates: 999,
        seed: 11,
        ..RolloutOptions::default()
    };
    let r = callaway_santanna(&units, &o).unwrap();
    let se = r.simple.se.unwrap();
    assert!(
        (r.simple.att - target).abs() < Level::DEFAULT.z() * se,
        "{} vs {target}",
        r.simple.att
    );
    // Event study: the simultaneous band covers the true exposure path.
    let crit = r.event.crit.unwrap();
    let size = |g: i64| units.iter().filter(|u| u.group == Some(g)).count() as f64;
    for e in &r.event.rows {
        let k = e.key.unwrap();
        let cells: Vec<(i64, f64)> = truth
            .iter()
            .filter(|((g, t), _)| t - g == k)
            .map(|((g, _), v)| (*g, *v))
            .collect();
        let true_e = cells.iter().map(|(g, v)| size(*g) * v).sum::<f64>()
            / cells.iter().map(|(g, _)| size(*g)).sum::<f64>();
        let s = e.se.unwrap();
        assert!(
            (e.att - true_e).abs() < crit * s,
            "exposure {k}: {} vs {true_e}",
            e.att
        );
    }
    let twfe = bacon(&units).unwrap().twfe;
    assert!(
        twfe - target < -Level::DEFAULT.z() * se,
        "TWFE {twfe}, truth {target}, CS SE {se}"
    );
    assert!(
        (twfe - target - clean_bias).abs() < se,
        "{twfe} {clean_bias}"
    );
    eprintln!(
        "truth {target:.3}; CS {:.3} (SE {se:.3}); TWFE {twfe:.3}, bias {:.3} ({:.0}%); noise-free bias {clean_bias:.3}",
        r.simple.att,
        twfe - target,
        100.0 * (twfe - target) / target
    );
}
