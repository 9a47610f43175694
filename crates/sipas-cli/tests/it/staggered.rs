//! The aggregate stage with a pilot file in waves: the staggered tables are written from the
//! unit × period SIPAS panel, and ATT(g, t) equals the 2×2 difference of means re-computed by
//! hand from `unit_period.csv`.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{cleaned, code, num, read_csv, sipas, stderr, succeeds};

#[test]
fn aggregate_with_two_waves_writes_att_tables_a_hand_2x2_agrees_with() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // The 12 bundled pilots from 2024Q1 and four more units from 2024Q3 (codes of the 177 units,
    // valid until 30/11/2024, so the panel ends 2024Q4).
    let pilots = "program = \"x\"\n[[wave]]\nstart = \"2024Q1\"\nunits = [\"05443\", \"05500\", \
        \"05695\", \"05518\", \"05506\", \"05527\", \"05860\", \"05866\", \"05536\", \"05581\", \
        \"05584\", \"05602\"]\n[[wave]]\nstart = \"2024Q3\"\nunits = [\"Phường Quán Triều\", \
        \"05458\", \"05482\", \"05659\"]\n";
    std::fs::write(d.join("waves.toml"), pilots).unwrap();
    cleaned(d, 3000, 7);
    let said = succeeds(
        d,
        &[
            "aggregate",
            "c",
            "-o",
            "a",
            "-p",
            "waves.toml",
            "--replicates",
            "0",
        ],
    );
    assert!(
        said.contains(
            "staggered (Callaway–Sant'Anna, 2 waves, comparison never, base period varying)"
        ) && said.contains("TWFE"),
        "{said}"
    );
    let a = d.join("a");
    let units = read_csv(&a.join("att_units.csv"));
    let group_of: BTreeMap<String, String> = units
        .iter()
        .map(|r| (r["unit_code"].clone(), r["group"].clone()))
        .collect();
    assert_eq!(group_of["05431"], "2024Q3", "Quán Triều, given by name");
    assert_eq!(group_of["05443"], "2024Q1");
    assert_eq!(
        group_of.values().filter(|g| g.as_str() == "2024Q3").count(),
        4
    );
    let overall = read_csv(&a.join("att_overall.csv"));
    let kinds: BTreeSet<&str> = overall.iter().map(|r| r["aggregation"].as_str()).collect();
    assert_eq!(
        kinds,
        ["calendar", "event", "group", "simple"]
            .into_iter()
            .collect()
    );
    for f in [
        "att_event.csv",
        "att_group.csv",
        "att_calendar.csv",
        "bacon.csv",
    ] {
        assert!(!read_csv(&a.join(f)).is_empty(), "{f}");
    }
    // ATT(2024Q3, 2024Q4) by hand: mean change 2024Q2 → 2024Q4 of the second wave minus that of
    // the never-treated units, equal weights, units with SIPAS in both periods.
    let up = read_csv(&a.join("unit_period.csv"));
    let mut y: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in &up {
        if !r["sipas"].is_empty() {
            y.insert(
                (r["unit_code"].clone(), r["period"].clone()),
                num(r, "sipas"),
            );
        }
    }
    let mean_change = |want: &str| {
        let ch: Vec<f64> = group_of
            .iter()
            .filter(|(_, g)| g.as_str() == want)
            .filter_map(|(u, _)| {
                let b = y.get(&(u.clone(), "2024Q2".to_string()))?;
                let t = y.get(&(u.clone(), "2024Q4".to_string()))?;
                Some(t - b)
            })
            .collect();
        assert!(ch.len() >= 3, "{want}: {}", ch.len());
        ch.iter().sum::<f64>() / ch.len() as f64
    };
    let hand = mean_change("2024Q3") - mean_change("");
    let gt = read_csv(&a.join("att_gt.csv"));
    let row = gt
        .iter()
        .find(|r| r["group"] == "2024Q3" && r["period"] == "2024Q4")
        .expect("ATT(2024Q3, 2024Q4)");
    assert_eq!(row["index"], "sipas");
    // unit_period.csv and att_gt.csv carry 6 decimals.
    assert!(
        (num(row, "att") - hand).abs() < 1e-5,
        "{} vs {hand}",
        row["att"]
    );
    let methods = std::fs::read_to_string(a.join("methods.txt")).unwrap();
    assert!(methods.contains("Callaway"), "{methods}");

    // The options: not-yet-treated comparisons, the universal base period, the design variance.
    let run_with = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "aggregate",
            "c",
            "-o",
            out,
            "-p",
            "waves.toml",
            "--replicates",
            "0",
            "--control",
            "not-yet",
            "--base",
            "universal",
        ];
        args.extend_from_slice(extra);
        let said = succeeds(d, &args);
        assert!(
            said.contains("comparison not-yet, base period universal"),
            "{said}"
        );
        read_csv(&d.join(out).join("att_gt.csv"))
    };
    let plain = run_with("a2", &[]);
    let with_dv = run_with("a3", &["--design-variance"]);
    let cell = |rows: &[std::collections::HashMap<String, String>], g: &str, t: &str| {
        rows.iter()
            .find(|r| r["group"] == g && r["period"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("ATT({g}, {t})"))
    };
    // Universal base: the period before the start is the reference, reported as 0 without an SE.
    let base_cell = cell(&plain, "2024Q3", "2024Q2");
    assert_eq!(
        (num(&base_cell, "att"), base_cell["se"].as_str()),
        (0.0, "")
    );
    // Not yet treated: ATT(2024Q1, 2024Q2) compares the first wave with the never treated AND
    // the second wave (treated from 2024Q3 only), changes from the base 2023Q4.
    let change = |want: &[&str], from: &str, to: &str| {
        let ch: Vec<f64> = group_of
            .iter()
            .filter(|(_, g)| want.contains(&g.as_str()))
            .filter_map(|(u, _)| {
                let b = y.get(&(u.clone(), from.to_string()))?;
                let t = y.get(&(u.clone(), to.to_string()))?;
                Some(t - b)
            })
            .collect();
        ch.iter().sum::<f64>() / ch.len() as f64
    };
    let hand =
        change(&["2024Q1"], "2023Q4", "2024Q2") - change(&["", "2024Q3"], "2023Q4", "2024Q2");
    let row = cell(&plain, "2024Q1", "2024Q2");
    assert!(
        (num(&row, "att") - hand).abs() < 1e-5,
        "{} vs {hand}",
        row["att"]
    );
    // The design variance adds each cell's survey variance: same effects, wider SEs.
    assert_eq!(plain.len(), with_dv.len());
    for (p, w) in plain.iter().zip(&with_dv) {
        assert_eq!(p["att"], w["att"]);
        if !p["se"].is_empty() {
            assert!(num(w, "se") > num(p, "se"), "{p:?} vs {w:?}");
        }
    }
    let methods = std::fs::read_to_string(d.join("a3/methods.txt")).unwrap();
    assert!(
        methods.contains("The design variance is included in this run")
            && methods.contains("not yet treated"),
        "{methods}"
    );
}

/// The bundled rollout job reads: two waves, an effect path, the rollout keys.
#[test]
fn the_bundled_rollout_job_reads() {
    let path = fixtures().join("rollout/job.toml");
    let job = sipas_cli::job::Job::from_path(&path).unwrap();
    let g = job.generate.as_ref().expect("[generate]");
    assert_eq!(
        g.effect_path.as_deref(),
        Some(&[0.0, 0.25, 0.5, 0.75, 1.0][..])
    );
    let pilots = sipas_core::PilotSet::from_path(job.pilots.as_deref().unwrap()).unwrap();
    let sizes: Vec<(String, usize)> = pilots
        .waves()
        .iter()
        .map(|w| (w.start.to_string(), w.units.len()))
        .collect();
    assert_eq!(
        sizes,
        [("2024Q1".to_string(), 12), ("2025Q1".to_string(), 20)]
    );
}

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Issue 20's check: on a panel with known, wave-specific and growing effects (the bundled
/// pilot waves, the effect built up over four quarters), the Callaway–Sant'Anna overall effect's
/// interval covers the exact truth, while the TWFE figure is biased by the amount the truth
/// itself gives it.
#[test]
fn a_rollout_job_recovers_the_true_effect_and_twfe_is_biased_by_its_stated_amount() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let units_csv = fixtures().join("units/thai_nguyen.csv");
    let pilots_toml = fixtures().join("rollout/pilots.toml");
    let registry = sipas_core::UnitRegistry::from_path(&units_csv).unwrap();
    let mut pilots = sipas_core::PilotSet::from_path(&pilots_toml).unwrap();
    pilots.resolve_against(&registry, "pilots").unwrap();
    // The 32 units of the two waves and 10 never treated: few never-treated units give the
    // "forbidden" comparisons (the second wave against the already-treated first) real weight.
    let text = std::fs::read_to_string(&units_csv).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    let mut never = 0;
    for l in lines {
        let code = l.split(',').next().unwrap();
        if pilots.in_any_wave(code) {
            kept.push(l.to_string());
        } else if never < 10 {
            kept.push(l.to_string());
            never += 1;
        }
    }
    assert_eq!(kept.len(), 1 + 32 + 10);
    std::fs::write(d.join("units.csv"), kept.join("\n") + "\n").unwrap();
    let job = format!(
        "out = \"out\"\ninstrument = \"sipas-2023\"\nunits = \"units.csv\"\npilots = {:?}\n\
         [generate]\nresponses = 50400\nseed = 5\nfirst_period = \"2023Q1\"\n\
         last_period = \"2025Q4\"\npilot_effect = 1.0\neffect_path = [0, 0.25, 0.5, 0.75, 1]\n\
         [ingest]\nas_of = \"2025-12-31\"\n[evaluation]\nreplicates = 0\n",
        pilots_toml.display().to_string()
    );
    std::fs::write(d.join("job.toml"), job).unwrap();
    let out = sipas(d, &["run", "job.toml"]);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("staggered (Callaway–Sant'Anna, 2 waves, comparison never, base period varying): overall ATT")
            && said.contains("; TWFE "),
        "{said}"
    );
    let o = d.join("out");

    // The truth: the simple aggregation of R `did` weights each post-start ATT(g, t) by its
    // wave's size.
    let truth_all = read_csv(&o.join("data/truth_att_gt.csv"));
    let truth_of = |index: &str| {
        let (mut num_, mut den) = (0.0, 0.0);
        for r in truth_all.iter().filter(|r| r["index"] == index) {
            if num(r, "exposure") >= 0.0 {
                num_ += num(r, "units") * num(r, "att");
                den += num(r, "units");
            }
        }
        num_ / den
    };
    let truth = truth_of("sipas");
    let overall = read_csv(&o.join("results/att_overall.csv"));
    let simple_of = |index: &str| {
        overall
            .iter()
            .find(|r| r["index"] == index && r["aggregation"] == "simple")
            .unwrap_or_else(|| panic!("no simple ATT of {index}"))
    };
    let simple = simple_of("sipas");
    assert!(
        num(simple, "ci_low") <= truth && truth <= num(simple, "ci_high"),
        "truth {truth} outside {simple:?}"
    );
    // Every part and element has its staggered estimate too, within 4 SEs of its exact
    // truth (12 indices: 4 SEs keeps a chance failure below 1e-3 in all).
    let indices: std::collections::BTreeSet<&str> =
        truth_all.iter().map(|r| r["index"].as_str()).collect();
    assert!(indices.len() > 1, "{indices:?}");
    for index in indices {
        let (t, row) = (truth_of(index), simple_of(index));
        let (att, se) = (num(row, "att"), num(row, "se"));
        assert!(
            (att - t).abs() <= 4.0 * se,
            "{index}: ATT {att} (SE {se}), truth {t}"
        );
    }

    // TWFE on the truth itself (no sampling error): β = Σ D̃·y / Σ D̃², D̃ the treatment
    // dummy with unit and period means removed (balanced panel).
    let groups: BTreeMap<String, String> = read_csv(&o.join("results/att_units.csv"))
        .iter()
        .map(|r| (r["unit_code"].clone(), r["group"].clone()))
        .collect();
    let truth_cells: BTreeMap<(String, String), f64> = read_csv(&o.join("data/truth.csv"))
        .iter()
        .map(|r| {
            (
                (r["unit_code"].clone(), r["period"].clone()),
                num(r, "sipas"),
            )
        })
        .collect();
    let units: BTreeSet<&String> = truth_cells.keys().map(|k| &k.0).collect();
    let periods: BTreeSet<&String> = truth_cells.keys().map(|k| &k.1).collect();
    let dummy = |u: &str, p: &str| {
        let g = &groups[u];
        f64::from(u8::from(!g.is_empty() && p >= g.as_str()))
    };
    let (nu, np) = (units.len() as f64, periods.len() as f64);
    let unit_mean: BTreeMap<&String, f64> = units
        .iter()
        .map(|u| (*u, periods.iter().map(|p| dummy(u, p)).sum::<f64>() / np))
        .collect();
    let period_mean: BTreeMap<&String, f64> = periods
        .iter()
        .map(|p| (*p, units.iter().map(|u| dummy(u, p)).sum::<f64>() / nu))
        .collect();
    let grand = unit_mean.values().sum::<f64>() / nu;
    let tilde = |u: &String, p: &String| dummy(u, p) - unit_mean[u] - period_mean[p] + grand;
    let ss: f64 = truth_cells.keys().map(|(u, p)| tilde(u, p).powi(2)).sum();
    // TWFE is linear in the cells: β = Σ c·y with c = D̃ / Σ D̃².
    let c = |u: &String, p: &String| tilde(u, p) / ss;
    let twfe_truth: f64 = truth_cells.iter().map(|((u, p), y)| c(u, p) * y).sum();
    let stated_bias = twfe_truth - truth;
    // With this seed: the true effect is 4.894 points (the Callaway–Sant'Anna estimate 4.958,
    // 95% CI 4.289 to 5.627) and TWFE on the truth 3.241, a third less (bias −1.653; measured:
    // TWFE 3.188, bias −1.706, SD 0.197): the second wave's changes are compared with the first wave's while the first
    // wave's effect is still growing, and that growth is subtracted.
    assert!(
        (4.0..6.0).contains(&truth) && stated_bias < -0.25 * truth,
        "truth {truth}, TWFE on the truth {twfe_truth}"
    );

    // The measured TWFE differs from TWFE on the truth only by the cells' sampling errors,
    // independent surveys weighted by c: its SD is √(Σ c² SE²) with the cells' design SEs from
    // unit_period.csv. 4 SDs (a two-sided 6·10⁻⁵ chance) is the tolerance.
    let up = read_csv(&o.join("results/unit_period.csv"));
    let var: f64 = up
        .iter()
        .map(|r| c(&r["unit_code"], &r["period"]).powi(2) * num(r, "sipas_se").powi(2))
        .sum();
    let sd = var.sqrt();
    let bacon = read_csv(&o.join("results/bacon.csv"));
    let twfe = num(
        bacon.iter().find(|r| r["comparison"] == "twfe").unwrap(),
        "estimate",
    );
    let measured_bias = twfe - truth;
    assert!(
        (measured_bias - stated_bias).abs() <= 4.0 * sd,
        "measured bias {measured_bias}, stated {stated_bias}, SD {sd}"
    );
    // The test can tell a biased TWFE from an unbiased one: the bias is well beyond 4 SDs.
    assert!(stated_bias + 4.0 * sd < 0.0, "bias {stated_bias}, SD {sd}");
    assert!(measured_bias < 0.0);
}

/// `sipas generate --effect-path` with a pilot file in waves writes the truth of every wave's
/// effect: nothing before the start nor in the start period (h(0) = 0), half of it one period
/// later, all of it from two periods on.
#[test]
fn generate_writes_the_truth_of_every_waves_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("waves.toml"),
        "program = \"x\"\n[[wave]]\nstart = \"2024Q1\"\nunits = [\"05443\", \"05500\"]\n\
         [[wave]]\nstart = \"2024Q3\"\nunits = [\"05431\"]\n",
    )
    .unwrap();
    let out = sipas(
        d,
        &[
            "generate",
            "-n",
            "500",
            "--seed",
            "3",
            "--first-period",
            "2023Q3",
            "--last-period",
            "2024Q4",
            "-p",
            "waves.toml",
            "--pilot-effect",
            "0.5",
            "--effect-path",
            "0,0.5,1",
            "-o",
            "g/r.csv",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let all = read_csv(&d.join("g/truth_att_gt.csv"));
    // SIPAS and every part and element of the instrument, each for two waves × six quarters.
    let inst = sipas_core::bundled::instrument("sipas-2023").unwrap();
    let indices: std::collections::BTreeSet<&str> =
        all.iter().map(|r| r["index"].as_str()).collect();
    assert_eq!(indices.len(), 1 + inst.reported_groups().len());
    assert_eq!(
        all.len(),
        indices.len() * 2 * 6,
        "every index × two waves × six quarters"
    );
    // Every element and part has its effect too, 0 before the start.
    assert!(
        all.iter()
            .filter(|r| num(r, "exposure") < 1.0)
            .all(|r| num(r, "att") == 0.0)
    );
    assert!(
        all.iter()
            .filter(|r| r["index"] != "sipas" && num(r, "exposure") >= 1.0)
            .all(|r| num(r, "att") > 0.0)
    );
    let rows: Vec<_> = all.into_iter().filter(|r| r["index"] == "sipas").collect();
    assert_eq!(rows.len(), 2 * 6, "two waves × six quarters");
    let att = |g: &str, e: i64| {
        let r = rows
            .iter()
            .find(|r| r["group"] == g && num(r, "exposure") as i64 == e)
            .unwrap_or_else(|| panic!("{g} {e}"));
        num(r, "att")
    };
    for (g, units) in [("2024Q1", 2.0), ("2024Q3", 1.0)] {
        assert!(
            rows.iter()
                .filter(|r| r["group"] == g)
                .all(|r| num(r, "units") == units)
        );
        assert_eq!(att(g, -1), 0.0);
        assert_eq!(att(g, 0), 0.0);
        assert!(
            att(g, 1) > 1.0,
            "{g}: half of 0.5 on the logit scale is over a point"
        );
    }
    // The full effect after two quarters: about twice the half (the logistic is nearly linear
    // over a quarter of a logit unit).
    let ratio = att("2024Q1", 2) / att("2024Q1", 1);
    assert!((1.8..2.2).contains(&ratio), "{ratio}");
    // Past the path's end the share stays 1: the effect moves only with the level (trend 0.02).
    let (full2, full3) = (att("2024Q1", 2), att("2024Q1", 3));
    assert!((full3 - full2).abs() < 0.05 * full2, "{full2} {full3}");
}
