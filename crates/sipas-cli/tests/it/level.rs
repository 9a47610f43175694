//! `--level`: `sipas aggregate --level 0.90` changes the interval columns and
//! the labels, nothing else; the level is recorded in the results and the
//! report labels its intervals with it, refusing to show them at another.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{code, ingested, read_csv, sipas, stderr};

/// Columns that hold an interval bound (they move with the level).
fn is_bound(col: &str) -> bool {
    col == "lo"
        || col == "hi"
        || col.ends_with("_lo")
        || col.ends_with("_hi")
        || col.starts_with("lo_")
        || col.starts_with("hi_")
        || col.starts_with("ci_")
        || col.starts_with("band_")
}

fn aggregate(dir: &Path, out: &str, level: Option<&str>) {
    let mut args = vec!["-q", "aggregate", "ing", "--out", out, "--replicates", "99"];
    if let Some(l) = level {
        args.extend(["--level", l]);
    }
    let o = sipas(dir, &args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

fn csv_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "csv"))
        .collect()
}

#[test]
fn level_90_changes_the_intervals_and_labels_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ingested(dir);
    aggregate(dir, "r95", None);
    aggregate(dir, "r90", Some("0.90"));
    let (a, b) = (dir.join("r95"), dir.join("r90"));
    let files = csv_files(&a);
    assert_eq!(files, csv_files(&b));
    for f in [
        "unit_period.csv",
        "groups.csv",
        "items.csv",
        "did.csv",
        "estimates.csv",
    ] {
        assert!(files.contains(f), "{f} missing: {files:?}");
    }
    let (mut same, mut moved, mut narrower) = (0usize, 0usize, 0usize);
    for f in &files {
        let (x, y) = (read_csv(&a.join(f)), read_csv(&b.join(f)));
        assert_eq!(x.len(), y.len(), "{f}");
        for (rx, ry) in x.iter().zip(&y) {
            assert_eq!(
                rx.keys().collect::<BTreeSet<_>>(),
                ry.keys().collect::<BTreeSet<_>>()
            );
            for (col, vx) in rx {
                let vy = &ry[col];
                if !is_bound(col) {
                    assert_eq!(vx, vy, "{f} {col}: only intervals may change");
                    same += 1;
                } else if vx != vy {
                    moved += 1;
                }
            }
            // The estimates' composite intervals shrink by qnorm(0.95)/1.96.
            if f == "unit_period.csv" && !rx["sipas_se"].is_empty() {
                let w = |r: &std::collections::HashMap<String, String>| {
                    r["sipas_hi"].parse::<f64>().unwrap() - r["sipas_lo"].parse::<f64>().unwrap()
                };
                narrower += usize::from(w(ry) < w(rx));
            }
        }
    }
    assert!(same > 10_000 && moved > 1_000, "same {same}, moved {moved}");
    assert!(narrower > 100, "narrower cells {narrower}");
    // did.csv at 90 % (six decimals): estimate ± qnorm(0.95)·se.
    let d = &read_csv(&b.join("did.csv"))[0];
    let (e, se, lo) = (
        d["estimate"].parse::<f64>().unwrap(),
        d["se"].parse::<f64>().unwrap(),
        d["lo"].parse::<f64>().unwrap(),
    );
    assert!(
        (e - lo - 1.644_853_626_951_471_5 * se).abs() < 3e-6,
        "{d:?}"
    );

    // The level is recorded, and said in methods.txt.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("aggregate-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["level"], 0.9);
    let methods = std::fs::read_to_string(b.join("methods.txt")).unwrap();
    assert!(methods.contains("at the 90% level"), "{methods}");
    assert!(!methods.contains("95%"), "{methods}");
    let methods95 = std::fs::read_to_string(a.join("methods.txt")).unwrap();
    assert!(methods95.contains("at the 95% level"));

    // The report labels the intervals at the results' level.
    for (res, out, lang) in [("r90", "rep90", "en"), ("r90", "rep90vi", "vi")] {
        let o = sipas(dir, &["-q", "report", res, "--out", out, "--lang", lang]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let html = std::fs::read_to_string(dir.join(out).join("index.html")).unwrap();
        let want = if lang == "en" { "90% CI" } else { "KTC 90%" };
        assert!(html.contains(want), "{lang}: no `{want}`");
        assert!(!html.contains("95%"), "{lang}: a 95% label in a 90% report");
    }
    // … and refuses to show them at another level.
    let o = sipas(
        dir,
        &["-q", "report", "r90", "--out", "rep", "--level", "0.95"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("computed at the 90% confidence level") && err.contains("--level 0.95"),
        "{err}"
    );
    assert!(!dir.join("rep").exists());
    let o = sipas(
        dir,
        &["-q", "report", "r90", "--out", "rep", "--level", "90%"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A level outside (0.5, 1) is refused before anything runs.
    let o = sipas(
        dir,
        &["-q", "aggregate", "ing", "--out", "bad", "--level", "95"],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not strictly between 0.5 and 1"),
        "{}",
        stderr(&o)
    );
}
