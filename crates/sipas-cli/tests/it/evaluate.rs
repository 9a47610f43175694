//! `sipas evaluate` on a panel from elsewhere: the mpdta panel against the
//! csdid reference (fixtures/reference/rollout), a quarterly panel with
//! text unit ids, and bad rows named by row and column.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::common::{code, read_csv, sipas, stderr};

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference/rollout")
}

#[test]
fn evaluate_mpdta_writes_the_tables_csdid_agrees_with() {
    let tmp = tempfile::tempdir().unwrap();
    let panel = reference().join("mpdta.csv");
    let refs = read_csv(&reference().join("ref_aggte.csv"));
    for (control, cname) in [("never", "nevertreated"), ("not-yet", "notyettreated")] {
        let out = tmp.path().join(control);
        let o = sipas(
            tmp.path(),
            &[
                "evaluate",
                "--panel",
                panel.to_str().unwrap(),
                "--unit",
                "countyreal",
                "--period",
                "year",
                "--value",
                "lemp",
                "--group",
                "first.treat",
                "--control",
                control,
                "--replicates",
                "199",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stderr(&o).contains("TWFE -0.036549"), "{}", stderr(&o));
        // Each table has its typed Parquet twin: same rows, the group a text label.
        let twin = {
            use polars::prelude::*;
            let f = std::fs::File::open(out.join("att_gt.parquet")).unwrap();
            ParquetReader::new(f).finish().unwrap()
        };
        assert_eq!(twin.height(), 12);
        assert_eq!(
            twin.column("group").unwrap().dtype(),
            &polars::prelude::DataType::String
        );
        assert_eq!(
            twin.column("att").unwrap().dtype(),
            &polars::prelude::DataType::Float64
        );
        let overall = read_csv(&out.join("att_overall.csv"));
        assert_eq!(overall.len(), 4);
        for row in &overall {
            assert_eq!(row["index"], "lemp");
            let r = refs
                .iter()
                .find(|r| {
                    r["control"] == cname
                        && r["base"] == "varying"
                        && r["aggregation"] == row["aggregation"]
                        && r["key"].is_empty()
                })
                .unwrap();
            for col in ["att", "se"] {
                let (ours, theirs): (f64, f64) =
                    (row[col].parse().unwrap(), r[col].parse().unwrap());
                assert!((ours - theirs).abs() <= 5e-7, "{control} {row:?} {col}");
            }
        }
        let gt = read_csv(&out.join("att_gt.csv"));
        assert_eq!(gt.len(), 12);
        assert!(
            gt.iter()
                .any(|r| r["group"] == "2004" && r["period"] == "2007")
        );
        for r in &gt {
            let (lo, hi, blo, bhi): (f64, f64, f64, f64) = (
                r["ci_low"].parse().unwrap(),
                r["ci_high"].parse().unwrap(),
                r["band_low"].parse().unwrap(),
                r["band_high"].parse().unwrap(),
            );
            assert!(
                blo < lo && hi < bhi,
                "band wider than the pointwise interval: {r:?}"
            );
        }
        assert_eq!(read_csv(&out.join("att_units.csv")).len(), 500);
        assert_eq!(read_csv(&out.join("att_event.csv")).len(), 7);
        assert_eq!(read_csv(&out.join("att_group.csv")).len(), 3);
        assert_eq!(read_csv(&out.join("att_calendar.csv")).len(), 4);
        let methods = std::fs::read_to_string(out.join("methods.txt")).unwrap();
        assert!(methods.contains("Callaway and Sant'Anna"), "{methods}");
        assert_eq!(
            methods.contains("units not yet treated in t"),
            control == "not-yet"
        );
        assert!(
            methods.contains("the regression estimate is -0.0365"),
            "{methods}"
        );
        let bacon = read_csv(&out.join("bacon.csv"));
        let twfe = bacon.iter().find(|r| r["comparison"] == "twfe").unwrap();
        assert_eq!(twfe["estimate"], "-0.036549");
        assert_eq!(twfe["weight"], "1.000000");
        assert_eq!(bacon.iter().filter(|r| r["forbidden"] == "true").count(), 3);
    }
}

#[test]
fn evaluate_reads_quarters_and_text_ids_and_names_bad_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("xa,quy,diem,bat_dau\n");
    let units = [
        ("Phường Hoàng Văn Thụ", "2024Q3", [60.0, 61.0, 66.0, 68.0]),
        ("Xã Quyết Thắng", "2024Q3", [55.0, 55.5, 59.0, 62.0]),
        ("Xã Phúc Xuân, TP", "2024Q4", [50.0, 51.0, 51.5, 56.0]),
        ("Xã Tân Cương", "", [58.0, 58.5, 59.0, 59.0]),
        ("Xã Thịnh Đức", "0", [62.0, 63.0, 63.5, 64.5]),
    ];
    for (id, g, v) in units {
        for (q, y) in v.iter().enumerate() {
            writeln!(csv, "\"{id}\",2024Q{},{y},{g}", q + 1).unwrap();
        }
    }
    std::fs::write(tmp.path().join("panel.csv"), &csv).unwrap();
    let args = |out: &str| {
        [
            "evaluate",
            "--panel",
            "panel.csv",
            "--unit",
            "xa",
            "--period",
            "quy",
            "--value",
            "diem",
            "--group",
            "bat_dau",
            "--control",
            "not-yet",
            "--replicates",
            "0",
            "--out",
            out,
        ]
        .map(String::from)
    };
    let a = args("out");
    let o = sipas(
        tmp.path(),
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let gt = read_csv(&tmp.path().join("out/att_gt.csv"));
    // ATT(2024Q3, 2024Q3), not yet treated (2024Q4 group + 2 never), base 2024Q2:
    // treated ΔY 5, 3.5 → 4.25; comparisons 0.5, 0.5, 0.5 → 0.5; ATT 3.75.
    let c = gt
        .iter()
        .find(|r| r["group"] == "2024Q3" && r["period"] == "2024Q3")
        .unwrap();
    assert_eq!(c["att"], "3.750000");
    let units = read_csv(&tmp.path().join("out/att_units.csv"));
    assert!(
        units
            .iter()
            .any(|u| u["unit_code"] == "Xã Phúc Xuân, TP" && u["group"] == "2024Q4")
    );
    assert_eq!(units.iter().filter(|u| u["group"].is_empty()).count(), 2);

    // A value that is not a number: the file, row and column are named.
    std::fs::write(
        tmp.path().join("panel.csv"),
        csv.replacen(",61,", ",sáu mốt,", 1),
    )
    .unwrap();
    let o = sipas(
        tmp.path(),
        &args("bad").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("panel.csv") && e.contains("row 2") && e.contains("`diem`"),
        "{e}"
    );
    assert!(!tmp.path().join("bad").exists());
}
