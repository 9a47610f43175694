//! The command line as a person meets it: stage lines with wall time and rows/s on stderr, nothing with `-q`,
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
    // The stage line, then the codes of each row's day (the default with the bundled units).
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[1].starts_with("generate: coded as offices did on each submission day"));
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

#[test]
fn version_names_the_commit_and_help_shows_examples_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sipas(tmp.path(), &["--version"]);
    assert_eq!(code(&out), 0);
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(v.starts_with("sipas 0.1.0 (commit "), "{v}");
    for sub in [
        "generate",
        "ingest",
        "sync",
        "clean",
        "aggregate",
        "report",
        "evaluate",
        "run",
    ] {
        let out = sipas(tmp.path(), &[sub, "--help"]);
        assert_eq!(code(&out), 0, "{sub}");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let examples = help.split_once("Examples:\n").expect("examples").1;
        let lines: Vec<&str> = examples.lines().take_while(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2, "{sub}: {help}");
        assert!(
            lines.iter().all(|l| l.contains(&format!("sipas {sub}"))),
            "{sub}: {help}"
        );
        assert!(
            help.contains("Exit codes:\n  0  everything went through\n  1  "),
            "{sub}"
        );
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    let tmp = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_sipas()"),
        ("zsh", "#compdef sipas"),
        ("fish", "complete -c sipas"),
    ] {
        let out = sipas(tmp.path(), &["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..text.len().min(200)]
        );
        assert!(text.contains("aggregate"), "{shell}");
    }
    let out = sipas(tmp.path(), &["man"]);
    assert_eq!(code(&out), 0);
    let roff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(roff.contains(".TH sipas 1"), "{roff}");
    assert!(roff.contains("aggregate"));
}

#[test]
fn sync_refuses_plain_http_off_this_machine_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("job.toml"),
        "out = \"o\"\n[[source]]\nname = \"k\"\nkind = \"kobo\"\n\
         server = \"http://kobo.example.org\"\nasset = \"aBc\"\ntoken_env = \"SIPAS_TEST_TOKEN\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(["sync", "--config", "job.toml"])
        .env("SIPAS_TEST_TOKEN", "t0ken-never-sent")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("plain http://") && err.contains("--allow-http"),
        "{err}"
    );
    assert!(!err.contains("t0ken-never-sent"), "{err}");
}
