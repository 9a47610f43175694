//! What the command says: stage lines with wall time and rows/s on stderr, nothing with `-q`,
//! never anything on stdout (stdout may be data), and no progress bars when stderr is not a
//! terminal.

use crate::common::{code, sipas, stderr};

#[test]
fn stage_lines_carry_time_and_rows_per_second_on_stderr_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sipas(
        tmp.path(),
        &[
            "generate",
            "--responses",
            "2124",
            "--seed",
            "1",
            "--out",
            "g/r.csv",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "stdout is for data");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let line = lines[0];
    assert!(
        line.starts_with("generate: 2124 responses in 2124 unit × period cells"),
        "{line}"
    );
    // "… (0.05 s, 42,480 rows/s)": the time and the rate it implies.
    let tail = line.rsplit_once(" (").expect("a timing suffix").1;
    let (secs, rate) = tail
        .trim_end_matches(" rows/s)")
        .split_once(" s, ")
        .expect("s, rows/s");
    let secs: f64 = secs.parse().expect("seconds");
    let rate: f64 = rate.replace(',', "").parse().expect("rows per second");
    assert!(secs >= 0.0 && rate > 0.0, "{line}");
    // No progress bar, spinner or escape sequence: stderr here is a pipe.
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
}

#[test]
fn quiet_says_nothing_but_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sipas(
        tmp.path(),
        &["-q", "generate", "--responses", "2124", "--out", "g/r.csv"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(tmp.path().join("g/r.csv").is_file());

    let out = sipas(tmp.path(), &["-q", "ingest", "missing.csv", "--out", "i"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing.csv"), "{}", stderr(&out));
}
