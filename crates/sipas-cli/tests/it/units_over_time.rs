//! 2024Q1–2026Q2 coded as offices code it at the time (177 → 172 and
//! Bắc Kạn's 108 → 92):
//! ingest and `clean --crosswalk thai-nguyen` lose no row, and every unit ×
//! period on the 92 equals the same formulas on the rows mapped by the
//! published crosswalks (mapped here, independently of sipas).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use sipas_core::{Granularity, IsoDate, Period, bundled};

use crate::common::{code, read_csv, sipas, stderr};

/// 2024Q1, 2024Q2, …, 2026Q2 (ten quarters).
fn quarters() -> Vec<Period> {
    let q = |year, sub| Period::new(Granularity::Quarter, year, sub).unwrap();
    q(2024, 1).range_to(q(2026, 2))
}

/// The published crosswalks, old → new (a divided unit: its default).
fn published(file: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/crosswalk")
        .join(file);
    let mut m = BTreeMap::new();
    for r in read_csv(&path) {
        if r.get("part").is_none_or(|p| p == "whole")
            || r.get("note").is_some_and(|n| n == "default")
        {
            m.insert(r["old_code"].clone(), r["new_code"].clone());
        }
    }
    m
}

/// Writes the offices' file and the same rows mapped onto the 92; returns
/// the number of rows.
fn write_files(dir: &Path) -> usize {
    let h = bundled::unit_history();
    let items = bundled::instrument("sipas-2017").unwrap();
    let ids = items.item_ids();
    let (s1, s2) = (
        published("thai_nguyen.csv"),
        published("thai_nguyen_2025-07.csv"),
    );
    let header = format!(
        "response_id,unit_code,period,submitted_at,{}\n",
        ids.join(",")
    );
    let (mut coded, mut mapped) = (header.clone(), header);
    let mut n = 0usize;
    let mut x: u64 = 20_250_701;
    for p in quarters() {
        let (year, q) = (p.year(), p.sub());
        let month = 3 * q - 1;
        let mut days = vec![format!("{year}-{month:02}-15")];
        if (year, q) == (2024, 4) {
            days.push("2024-12-09".into());
        }
        for day in &days {
            let date: IsoDate = day.parse().unwrap();
            for u in h.in_force(date).iter() {
                for _ in 0..3 {
                    n += 1;
                    let mut answers = String::new();
                    for _ in &ids {
                        x = x
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        write!(answers, ",{}", 1 + (x >> 33) % 5).unwrap();
                    }
                    let mut new = u.code.clone();
                    if date < "2024-12-01".parse().unwrap() {
                        new = s1.get(&new).cloned().unwrap_or(new);
                    }
                    if date < "2025-07-01".parse().unwrap() {
                        new = s2
                            .get(&new)
                            .cloned()
                            .expect("every unit of the 172 is in the 2025-07 step");
                    }
                    let period = format!("{year}Q{q}");
                    let sub = format!("{day}T10:00:00+07:00");
                    writeln!(coded, "r{n},{},{period},{sub}{answers}", u.code).unwrap();
                    writeln!(mapped, "r{n},{new},{period},{sub}{answers}").unwrap();
                }
            }
        }
    }
    fs::write(dir.join("offices.csv"), coded).unwrap();
    fs::write(dir.join("mapped.csv"), mapped).unwrap();
    n
}

#[test]
fn a_panel_coded_at_the_time_is_analysed_on_the_92_with_no_row_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let n = write_files(tmp.path());
    // The 92 as a plain unit list, and the 11 pilot units on them.
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/units/thai_nguyen_2025-07.csv"),
        tmp.path().join("units92.csv"),
    )
    .unwrap();
    fs::write(
        tmp.path().join("pilots92.toml"),
        "program = \"p\"\nstart = \"2024Q1\"\nunits = [\"05443\", \"05500\", \"05710\", \"05518\", \"05528\", \"05860\", \"05857\", \"05569\", \"05581\", \"05587\", \"05602\"]\n",
    )
    .unwrap();
    let job = |name: &str, input: &str, extra: &str| {
        fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!(
                "out = \"{name}\"\ninstrument = \"sipas-2017\"\n{extra}[ingest]\ninputs = [\"{input}\"]\n[evaluation]\nreplicates = 0\n"
            ),
        )
        .unwrap();
        let out = sipas(tmp.path(), &["run", "--config", &format!("{name}.toml")]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    job(
        "cw",
        "offices.csv",
        "[clean]\ncrosswalk = \"thai-nguyen\"\n",
    );
    job(
        "ref",
        "mapped.csv",
        "units = \"units92.csv\"\npilots = \"pilots92.toml\"\n",
    );
    let clean: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("cw/clean/clean-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(clean["rows_in"], n);
    assert_eq!(clean["kept"], n, "no row lost: {clean}");
    // Gia Sàng, Cam Giá, Thượng Đình: 7 days before 01/07/2025, 3 rows a day.
    for k in ["05461 → 05443", "05467 → 05467", "05932 → 05941"] {
        assert_eq!(clean["crosswalk"]["rows_to_default_unit"][k], 21, "{k}");
    }
    let got = read_csv(&tmp.path().join("cw/results/unit_period.csv"));
    let want = read_csv(&tmp.path().join("ref/results/unit_period.csv"));
    assert_eq!(got.len(), want.len());
    // The 92 in 2025Q3–2026Q2; the 55 of Thái Nguyên also in 2024Q1–2025Q2;
    // the 37 of former Bắc Kạn also where its 108 units were in force
    // (2024Q4 from the December day, 2025Q1, 2025Q2).
    assert_eq!(got.len(), 92 * 4 + 55 * 6 + 37 * 3);
    let key = |r: &std::collections::HashMap<String, String>| {
        (r["unit_code"].clone(), r["period"].clone())
    };
    let want: BTreeMap<_, _> = want.iter().map(|r| (key(r), r)).collect();
    for g in &got {
        let w = want[&key(g)];
        for c in ["n", "sipas", "access", "feedback", "pilot", "unit_name"] {
            assert_eq!(g[c], w[c], "{c} of {:?}", key(g));
        }
    }
    let pilots: std::collections::BTreeSet<&String> = got
        .iter()
        .filter(|r| r["pilot"] == "true")
        .map(|r| &r["unit_code"])
        .collect();
    assert_eq!(pilots.len(), 11);
    // The trend chart of a pilot unit marks both reorganisations on the axis:
    // 01/12/2024 in the third month of 2024Q4 (x = 3 − ½ + ⅔), 01/07/2025
    // between 2025Q2 and 2025Q3 (x = 5.5).
    let res = tmp.path().join("cw/results");
    let results = sipas_report::load_results_with(
        &res,
        &sipas_report::evaluation::ReportOptions::beside(&res),
    )
    .unwrap();
    let p = sipas_core::PilotSet::from_path(&tmp.path().join("pilots92.toml")).unwrap();
    let spec = sipas_report::spec::trend_spec(&results, &p, "05569")
        .unwrap()
        .to_text();
    assert!(
        spec.contains("reorganisation: x=3.17 \"Sắp xếp xã 01/12/2024\""),
        "{spec}"
    );
    assert!(
        spec.contains("reorganisation: x=5.50 \"Sắp xếp xã 01/07/2025\""),
        "{spec}"
    );
}

/// `[generate] codes_at_date = "thai-nguyen"` (the demo's setting): the
/// generated rows carry the code in force on their submission day, and the
/// bundled crosswalk brings them all onto today's units with no row lost.
#[test]
fn generated_rows_carry_the_code_of_their_day() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        "out = \"o\"\ninstrument = \"sipas-2017\"\n[generate]\nresponses = 1770\nseed = 5\nfirst_period = \"2024Q3\"\nlast_period = \"2025Q3\"\ncodes_at_date = \"thai-nguyen\"\n[clean]\ncrosswalk = \"thai-nguyen\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let h = bundled::unit_history();
    let data = read_csv(&tmp.path().join("o/data/responses.csv"));
    assert_eq!(data.len(), 1770);
    let mut seen = std::collections::BTreeSet::new();
    for r in &data {
        let day = IsoDate::from_prefix(&r["submitted_at"]).unwrap();
        assert!(
            h.in_force(day).contains(&r["unit_code"]),
            "{} on {day}",
            r["unit_code"]
        );
        // Chợ Chu (05536-…) rows: 05536 before 01/12/2024, 05569 after.
        if r["response_id"].starts_with("05536-") {
            seen.insert((r["unit_code"].clone(), day >= "2024-12-01".parse().unwrap()));
        }
    }
    assert!(seen.contains(&("05536".to_string(), false)));
    assert!(seen.contains(&("05569".to_string(), true)));
    assert!(!seen.contains(&("05536".to_string(), true)));
    let clean: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("o/clean/clean-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(clean["kept"], 1770, "{clean}");
    let cells = read_csv(&tmp.path().join("o/results/unit_period.csv"));
    // The Thái Nguyên part of the 92 (55 units) in each of the 5 quarters.
    assert_eq!(cells.len(), 55 * 5);
}

/// With the bundled units the generator writes the code of each row's day
/// by default (a row with a code no longer in force would be an unknown
/// unit); `none` keeps the 177's codes throughout, and clean then loses
/// exactly the rows whose code was in force neither on their day nor on
/// their period's first day.
#[test]
fn codes_of_the_day_are_the_default_and_none_opts_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gen_args = |out: &str, extra: &[&str]| {
        let mut a = vec![
            "generate",
            "--responses",
            "1770",
            "--seed",
            "5",
            "--first-period",
            "2024Q3",
            "--last-period",
            "2025Q3",
            "--out",
            out,
        ];
        a.extend_from_slice(extra);
        let o = sipas(dir, &a);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        fs::read(dir.join(out)).unwrap()
    };
    let default = gen_args("d/responses.csv", &[]);
    let explicit = gen_args("e/responses.csv", &["--codes-at-date", "thai-nguyen"]);
    let none = gen_args("n/responses.csv", &["--codes-at-date", "none"]);
    assert_eq!(default, explicit, "the default is the codes of the day");
    assert_ne!(default, none);
    let h = bundled::unit_history();
    let d = read_csv(&dir.join("d/responses.csv"));
    assert!(d.iter().all(|r| {
        let day = IsoDate::from_prefix(&r["submitted_at"]).unwrap();
        h.in_force(day).contains(&r["unit_code"])
    }));
    // `none`: the 177's codes in every period; count the rows clean must lose.
    let n = read_csv(&dir.join("n/responses.csv"));
    assert!(
        n.iter()
            .all(|r| h.eras()[0].units.contains(&r["unit_code"]))
    );
    let lost = n
        .iter()
        .filter(|r| {
            let day = IsoDate::from_prefix(&r["submitted_at"]).unwrap();
            let start = sipas_core::history::period_start(r["period"].parse().unwrap());
            !h.in_force(day).contains(&r["unit_code"])
                && !h.in_force(start).contains(&r["unit_code"])
        })
        .count();
    // 5 units merged away on 01/12/2024 (from 2025Q1, and December rows of
    // 2024Q4 keep the code of the period's first day) and every 177 code
    // that is not one of the 92 from 2025Q3: a real loss.
    assert!(lost > 100, "{lost}");
    fs::write(
        dir.join("job.toml"),
        "out = \"o\"\ninstrument = \"sipas-2017\"\n[generate]\nresponses = 1770\nseed = 5\nfirst_period = \"2024Q3\"\nlast_period = \"2025Q3\"\ncodes_at_date = \"none\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let clean: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("o/clean/clean-report.json")).unwrap())
            .unwrap();
    assert_eq!(
        clean["excluded_by_reason"]["unknown_unit"].as_u64(),
        Some(lost as u64),
        "{clean}"
    );
    // Parquet output cannot carry the codes of the day when asked for them.
    let o = sipas(
        dir,
        &[
            "generate",
            "--responses",
            "100",
            "--out",
            "p/r.parquet",
            "--codes-at-date",
            "thai-nguyen",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("CSV output only"), "{}", stderr(&o));
}

/// `[aggregate] population`: the treatment intensity of a merged unit is
/// its share of population in pilot communes. Onto the units of
/// 30/06/2025, Thị trấn Chợ Chu 05569 pools Chợ Chu 05536 (a pilot, 3,000
/// people) and Bảo Cường 05569 (1,000): 3000 / 4000 = 0.75, where the
/// response share is 40 / 80 = 0.5. The report names the old units.
#[test]
fn population_gives_the_intensity_and_the_report_names_old_units() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut pop = String::from("code,name,population\n");
    for u in bundled::units().iter() {
        let n = match u.code.as_str() {
            "05536" => 3000,
            _ => 1000,
        };
        writeln!(pop, "{},{},{n}", u.code, u.full_name()).unwrap();
    }
    fs::write(dir.join("population.csv"), pop).unwrap();
    fs::write(
        dir.join("job.toml"),
        "out = \"o\"\ninstrument = \"sipas-2017\"\n[generate]\nresponses = 7080\nseed = 11\nfirst_period = \"2023Q4\"\nlast_period = \"2024Q1\"\n[clean]\ncrosswalk = \"thai-nguyen\"\ncrosswalk_target = \"2025-06-30\"\n[aggregate]\npopulation = \"population.csv\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let t = read_csv(&dir.join("o/results/treatment.csv"));
    let chu = t.iter().find(|r| r["unit_code"] == "05569").unwrap();
    assert_eq!(chu["intensity"], "0.750000");
    assert_eq!(chu["intensity_basis"], "population");
    assert_eq!(chu["population"], "4000");
    assert_eq!(chu["responses"], "80");
    assert_eq!(chu["old_units"], "05536|05569");
    assert_eq!(chu["old_unit_names"], "Thị trấn Chợ Chu|Xã Bảo Cường");
    // Every other pilot keeps its code and is wholly a pilot.
    assert!(
        t.iter()
            .filter(|r| r["unit_code"] != "05569")
            .all(|r| r["intensity"] == "1.000000" && r["population"] == "1000")
    );
    let did = read_csv(&dir.join("o/results/did_twfe.csv"));
    let defs: Vec<&str> = did
        .iter()
        .filter(|r| r["scope"] == "treatment")
        .map(|r| r["unit_code"].as_str())
        .collect();
    assert!(defs.contains(&"intensity_population"), "{defs:?}");
    assert!(!defs.contains(&"intensity"), "{defs:?}");
    let methods = fs::read_to_string(dir.join("o/results/methods.txt")).unwrap();
    assert!(methods.contains("share of its population"), "{methods}");
    let html = fs::read_to_string(dir.join("o/report/index.html")).unwrap();
    assert!(html.contains("05536 Thị trấn Chợ Chu, 05569 Xã Bảo Cường"));
    assert!(html.contains("intensity_population"));
    // An old unit missing from the file: the run stops naming it.
    let mut short = String::new();
    for l in fs::read_to_string(dir.join("population.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("05569"))
    {
        writeln!(short, "{l}").unwrap();
    }
    fs::write(dir.join("population.csv"), short).unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("no population for old unit 05569"),
        "{}",
        stderr(&out)
    );
}

/// `[generate] bac_kan = true` (the demo's setting): the 37 units of
/// former Bắc Kạn are surveyed from 2025Q3 only, with as many responses per
/// unit and period as the rest; clean keeps every row; the DiD on today's
/// units leaves them out for lacking pre-periods and methods.txt (shown in
/// the report) says how many.
#[test]
fn bac_kan_units_join_in_2025q3_and_are_left_out_of_the_did() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("job.toml"),
        "out = \"o\"\ninstrument = \"sipas-2017\"\n[generate]\nresponses = 7080\nseed = 3\nfirst_period = \"2023Q4\"\nlast_period = \"2025Q3\"\nbac_kan = true\n[clean]\ncrosswalk = \"thai-nguyen\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(dir, &["run", "--config", "job.toml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // 7080 / (177 × 8 quarters) = 5 a cell; Bắc Kạn: 37 units × 2025Q3 × 5.
    let bk = read_csv(&dir.join("o/data/bac_kan/responses.csv"));
    assert_eq!(bk.len(), 37 * 5);
    assert!(bk.iter().all(|r| r["period"] == "2025Q3"));
    let units92 = bundled::units_2025_07();
    let bk_units: std::collections::BTreeSet<&String> =
        bk.iter().map(|r| &r["unit_code"]).collect();
    assert_eq!(bk_units.len(), 37);
    // Each is one of the 92 that took in only Bắc Kạn communes.
    let s2 = published("thai_nguyen_2025-07.csv");
    for u in &bk_units {
        assert!(units92.contains(u));
        assert!(
            !bundled::units_2024_12().iter().any(|t| &&s2[&t.code] == u),
            "{u}"
        );
    }
    let clean: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("o/clean/clean-report.json")).unwrap())
            .unwrap();
    assert_eq!(clean["rows_in"], 7080 + 37 * 5);
    assert_eq!(clean["kept"], 7080 + 37 * 5, "{clean}");
    let cells = read_csv(&dir.join("o/results/unit_period.csv"));
    let in_q3 = cells.iter().filter(|r| r["period"] == "2025Q3").count();
    let in_q2 = cells.iter().filter(|r| r["period"] == "2025Q2").count();
    assert_eq!((in_q3, in_q2), (92, 55));
    let methods = fs::read_to_string(dir.join("o/results/methods.txt")).unwrap();
    assert!(
        methods.contains("37 units have no period before the start"),
        "{methods}"
    );
    assert!(methods.contains("37 đơn vị không có kỳ nào trước khi thí điểm bắt đầu"));
    let html = fs::read_to_string(dir.join("o/report/index.html")).unwrap();
    assert!(html.contains("37 units have no period before the start"));
    // One rule everywhere: the pooled baseline of groups.csv in 2025Q3 holds
    // the 44 non-pilot units with a period before the start, not the 37.
    let n_of = |r: &std::collections::HashMap<String, String>| r["n"].parse::<usize>().unwrap();
    let expected: usize = cells
        .iter()
        .filter(|r| r["period"] == "2025Q3" && r["pilot"] == "false")
        .filter(|r| !bk_units.contains(&r["unit_code"]))
        .map(n_of)
        .sum();
    let groups = read_csv(&dir.join("o/results/groups.csv"));
    let baseline_q3 = groups
        .iter()
        .find(|r| r["period"] == "2025Q3" && r["group"] == "baseline")
        .unwrap();
    assert_eq!(n_of(baseline_q3), expected);
    // (today's units pool several communes of 5 responses each)
    assert!(expected >= 44 * 5);
    let ev: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("o/results/evaluation.json")).unwrap())
            .unwrap();
    let sel = &ev["selection"];
    assert_eq!(
        (&sel["baseline_units"], &sel["dropped_units_no_pre_period"]),
        (&serde_json::json!(44), &serde_json::json!(37)),
        "{sel}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.join("o/results/aggregate-report.json")).unwrap(),
    )
    .unwrap();
    let left: Vec<&str> = report["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit_code"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 37);
    assert!(left.iter().all(|u| bk_units.iter().any(|b| b == u)));
    assert!(
        html.contains(
            "37 đơn vị (37 ô) không có kỳ nào trước khi thí điểm bắt đầu nên không đưa vào so sánh"
        ),
        "the report's panel note"
    );
}

/// The commune PAR index across the reorganisation: the drawn appraisals name the communes in
/// force in each period (old codes before 01/07/2025, the 92 after), none is lost, and a merged
/// unit's appraised points in a period before the merger are its old communes' points averaged
/// with their responses (weight 1 each), by hand from `criteria.csv` and the clean table.
#[test]
fn appraisals_of_old_communes_count_for_todays_units() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("job.toml"),
        "out = \"o\"\ninstrument = \"thai-nguyen-pilot\"\n[generate]\nresponses = 7080\nseed = 9\nfirst_period = \"2025Q1\"\nlast_period = \"2025Q3\"\ncodes_at_date = \"thai-nguyen\"\ncriteria = true\n[clean]\ncrosswalk = \"thai-nguyen\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    let out = sipas(tmp.path(), &["run", "--config", "job.toml"]);
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let o = tmp.path().join("o");
    let today = bundled::unit_history();
    let latest = today.latest();
    let criteria = read_csv(&o.join("data/criteria.csv"));
    let old_codes: std::collections::BTreeSet<(&str, &str)> = criteria
        .iter()
        .filter(|r| latest.get(&r["unit_code"]).is_none())
        .map(|r| (r["unit_code"].as_str(), r["period"].as_str()))
        .collect();
    assert!(
        old_codes.iter().any(|(_, p)| *p == "2025Q1"),
        "old communes before the merger"
    );
    assert!(
        !old_codes.iter().any(|(_, p)| *p == "2025Q3"),
        "{old_codes:?}"
    );
    // Nothing lost but the two faulty rows the generator adds.
    let q = read_csv(&o.join("results/par_quarantine.csv"));
    let reasons: Vec<&str> = q.iter().map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons, ["unknown_criterion", "duplicate_copy"]);
    let cells = read_csv(&o.join("results/unit_period.csv"));
    let ranking = read_csv(&o.join("results/par_ranking.csv"));
    assert_eq!(ranking.len(), cells.len(), "every cell has a total");
    let methods = fs::read_to_string(o.join("results/methods.txt")).unwrap();
    assert!(
        methods.contains("average the points of several such communes"),
        "{methods}"
    );

    // Rows per (old code, period) of the clean table: each response weighs 1.
    let df = sipas_dataset::Dataset::open(&o.join("clean"))
        .unwrap()
        .read(Some(&["unit_code", "old_unit_code", "period"]))
        .unwrap();
    let col = |n: &str| df.column(n).unwrap().str().unwrap().clone();
    let (unit, old, period) = (col("unit_code"), col("old_unit_code"), col("period"));
    let mut n: BTreeMap<(String, String), (String, f64)> = BTreeMap::new();
    for i in 0..df.height() {
        let key = (
            old.get(i).unwrap().to_string(),
            period.get(i).unwrap().to_string(),
        );
        n.entry(key)
            .or_insert((unit.get(i).unwrap().to_string(), 0.0))
            .1 += 1.0;
    }
    // Appraised points per (code, period): the sum over the 7 criteria (the duplicate copy of
    // the first row and the unknown criterion left out).
    let mut pts: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in &criteria {
        if r["criterion"] == "c_unknown"
            || !seen.insert((&r["unit_code"], &r["period"], &r["criterion"]))
        {
            continue;
        }
        *pts.entry((r["unit_code"].clone(), r["period"].clone()))
            .or_insert(0.0) += r["points"].parse::<f64>().unwrap();
    }
    let mut checked = 0;
    for c in cells.iter().filter(|c| c["period"] == "2025Q1") {
        let u = &c["unit_code"];
        let communes: Vec<(&String, f64)> = n
            .iter()
            .filter(|((_, p), (t, _))| p == "2025Q1" && t == u)
            .map(|((code, _), (_, w))| (code, *w))
            .collect();
        if communes.len() < 2 {
            continue;
        }
        let (mut num, mut den) = (0.0, 0.0);
        for (code, w) in &communes {
            let p = pts[&((*code).clone(), "2025Q1".to_string())];
            num += w * p;
            den += w;
        }
        let total = ranking
            .iter()
            .find(|r| &r["unit_code"] == u && r["period"] == "2025Q1")
            .unwrap();
        let got = crate::common::num(total, "par_total") - crate::common::num(c, "par_survey");
        assert!(
            (got - num / den).abs() < 2e-6,
            "{u} 2025Q1: {got} vs {} by hand over {communes:?}",
            num / den
        );
        checked += 1;
    }
    assert!(checked >= 3, "{checked} merged units checked");
}
