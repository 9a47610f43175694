//! The aggregate stage with a pilot file in waves: the staggered tables are written from the
//! unit × period SIPAS panel, and ATT(g, t) equals the 2×2 difference of means re-computed by
//! hand from `unit_period.csv`.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{cleaned, num, read_csv, succeeds};

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
}
