//! One way to name things: every stage takes its input as the positional INPUT (the old
//! `--data`, `--results`, `--config` still work, hidden), writes where `-o/--out` says, and a job
//! file's key is the flag's name.

use std::fs;

use clap::CommandFactory;
use sipas_cli::args::Args;
use sipas_cli::job::Job;

use crate::common::{cleaned, code, sipas, succeeds};

/// The stages and their old input flag (hidden alias), if any.
const STAGES: [(&str, Option<&str>); 6] = [
    ("ingest", None),
    ("sync", Some("config")),
    ("clean", Some("data")),
    ("aggregate", Some("data")),
    ("report", Some("results")),
    ("run", Some("config")),
];

#[test]
fn every_stage_takes_input_the_same_way_and_out_with_o() {
    let cmd = Args::command();
    for (stage, old) in STAGES {
        let sub = cmd.find_subcommand(stage).expect(stage);
        let positionals: Vec<_> = sub.get_positionals().collect();
        assert_eq!(positionals.len(), 1, "{stage}: one positional");
        let p = positionals[0];
        assert_eq!(
            p.get_value_names().map(|v| v[0].as_str()),
            Some("INPUT"),
            "{stage}"
        );
        if let Some(old) = old {
            let a = sub
                .get_arguments()
                .find(|a| a.get_long() == Some(old))
                .unwrap_or_else(|| panic!("{stage}: old --{old} still accepted"));
            assert!(a.is_hide_set(), "{stage}: --{old} is hidden");
        }
        if stage != "sync" {
            let out = sub
                .get_arguments()
                .find(|a| a.get_long() == Some("out"))
                .unwrap_or_else(|| panic!("{stage} has --out"));
            assert_eq!(out.get_short(), Some('o'), "{stage}: -o");
        }
    }
    // `evaluate` reads a panel named by --panel (with its column flags) and writes where -o says.
    let evaluate = cmd.find_subcommand("evaluate").unwrap();
    let out = evaluate
        .get_arguments()
        .find(|a| a.get_long() == Some("out"))
        .unwrap();
    assert_eq!(out.get_short(), Some('o'));
    assert!(out.is_required_set());
    let generate = cmd.find_subcommand("generate").unwrap();
    let out = generate
        .get_arguments()
        .find(|a| a.get_long() == Some("out"))
        .unwrap();
    assert_eq!(out.get_short(), Some('o'));
}

/// Flags that are not job keys, per subcommand, with the reason.
fn not_a_key(stage: &str, flag: &str) -> bool {
    match flag {
        // Positional input and its old names: the job names inputs in `[ingest] inputs`.
        "input" | "inputs" | "data" | "results" | "config" | "help" => true,
        // A job's `out` is the folder of the whole run (top level); a stage's is inside it.
        "out" => stage != "run",
        // `--design FILE` names a file holding the `[design]` table.
        "design" => stage == "aggregate",
        // Job files spell the response styles out in `[generate.styles]`.
        "realistic-styles" => stage == "generate",
        // A run always verifies what its own stages wrote; sync's own flags.
        "no-verify" => stage == "report",
        "store" | "full-refresh" | "allow-http" | "review" => stage == "sync",
        // `sipas evaluate` reads a panel file the user already has, outside any job: a job
        // evaluates its own SIPAS panel in the aggregate stage, so none of its flags is a job key.
        _ if stage == "evaluate" => true,
        _ => false,
    }
}

/// The job section a stage's flags live in (`None`: the top level).
fn section(stage: &str, flag: &str) -> Option<&'static str> {
    const TOP: [&str; 7] = [
        "instrument",
        "units",
        "pilots",
        "out",
        "lang",
        "single-file",
        "level",
    ];
    const EVALUATION: [&str; 5] = [
        "baseline",
        "weighting",
        "bootstrap-weights",
        "replicates",
        "seed",
    ];
    if TOP.contains(&flag) && !(stage == "generate" && flag == "instrument") {
        return None;
    }
    match stage {
        "aggregate" if EVALUATION.contains(&flag) => Some("evaluation"),
        "generate" => Some("generate"),
        "ingest" => Some("ingest"),
        "clean" => Some("clean"),
        "aggregate" => Some("aggregate"),
        _ => None,
    }
}

/// Whether the job file knows `key` in `section`: a value of any type is accepted or refused
/// for its type, never as an unknown field.
fn known(section: Option<&str>, key: &str) -> Result<(), String> {
    let probe = format!("{key} = 7\n");
    let mut text = String::new();
    if section.is_none() {
        text.push_str(&probe);
    }
    text.push_str("[ingest]\ninputs = [\"x.csv\"]\n");
    match section {
        None => {}
        Some("ingest") => text.push_str(&probe),
        Some("generate") if key == "responses" || key == "seed" => {
            text.push_str("[generate]\nresponses = 1\nseed = 1\n");
        }
        Some("generate") => {
            text.push_str("[generate]\nresponses = 1\nseed = 1\n");
            text.push_str(&probe);
        }
        Some(s) => {
            text.push('[');
            text.push_str(s);
            text.push_str("]\n");
            text.push_str(&probe);
        }
    }
    match Job::parse(&text, "probe", std::path::Path::new(".")) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = format!("{e:#}");
            if msg.contains("unknown field") {
                Err(msg)
            } else {
                Ok(())
            }
        }
    }
}

#[test]
fn job_keys_are_the_flag_names() {
    let cmd = Args::command();
    let mut checked = 0;
    for stage in [
        "generate",
        "ingest",
        "clean",
        "aggregate",
        "report",
        "run",
        "evaluate",
    ] {
        let sub = cmd.find_subcommand(stage).unwrap();
        for arg in sub.get_arguments() {
            let Some(flag) = arg.get_long() else { continue };
            if not_a_key(stage, flag) || arg.is_hide_set() || arg.is_global_set() {
                continue;
            }
            let key = flag.replace('-', "_");
            let s = section(stage, flag);
            known(s, &key).unwrap_or_else(|e| {
                panic!(
                    "`sipas {stage} --{flag}` has no job key `{key}` in [{}]: {e}",
                    s.unwrap_or("top level")
                )
            });
            checked += 1;
        }
    }
    // The probe can fail: a key no flag has is refused as unknown.
    assert!(known(Some("clean"), "no_such_key").is_err());
    assert!(known(Some("ingest"), "keep_column").is_err());
    assert!(known(None, "data").is_err());
    // generate 7 + ingest 7 + clean 8 + aggregate 8 + report 2 + domain flags of each stage.
    assert!(checked >= 40, "{checked} flags checked");
}

#[test]
fn stages_chain_by_input_and_out_and_run_writes_under_the_working_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ok = |args: &[&str]| {
        succeeds(d, args);
    };
    cleaned(d, 2000, 1);
    ok(&["-q", "aggregate", "c", "-o", "a", "--replicates", "0"]);
    ok(&["-q", "report", "a", "-o", "r", "-l", "en"]);
    let page = fs::read_to_string(d.join("r/index.html")).unwrap();
    assert!(page.contains("<html lang=\"en\">"));
    // The old flags give the same bytes.
    ok(&["-q", "clean", "--data", "i", "--out", "c2"]);
    assert_eq!(
        fs::read(d.join("c/clean-report.json")).unwrap(),
        fs::read(d.join("c2/clean-report.json")).unwrap()
    );
    // INPUT and its old flag together are refused.
    let both = sipas(d, &["-q", "clean", "i", "--data", "i", "-o", "c3"]);
    assert_eq!(code(&both), 2);

    // A job in a sub-folder: inputs relative to it, output under the working folder.
    fs::create_dir(d.join("jobs")).unwrap();
    fs::copy(d.join("g/r.csv"), d.join("jobs/r.csv")).unwrap();
    fs::write(
        d.join("jobs/job.toml"),
        // A fixed as-of date: the two runs compared below may fall on either side of midnight.
        "lang = \"en\"\n[ingest]\ninputs = [\"r.csv\"]\nas_of = \"2026-12-01\"\n[evaluation]\nreplicates = 0\n",
    )
    .unwrap();
    ok(&["-q", "run", "jobs/job.toml"]);
    assert!(d.join("out/report/index.html").is_file());
    assert!(
        !d.join("jobs/out").exists(),
        "nothing is written beside the job"
    );
    let page = fs::read_to_string(d.join("out/report/index.html")).unwrap();
    assert!(page.contains("<html lang=\"en\">"));
    // Timing lives in manifest.json only (the reports are reproducible byte for byte).
    for stage in ["ingest", "clean", "results", "report"] {
        let m = sipas_cli::manifest::verify(&d.join("out").join(stage), stage).unwrap();
        let t = m.timing.unwrap_or_else(|| panic!("{stage}: no timing"));
        assert!(t.wall_s >= 0.0);
        if stage != "report" {
            // 2000 rows generated, all read by ingest and clean.
            assert!(t.rows.is_some_and(|n| n > 0), "{stage}: {t:?}");
            assert!(t.rows_per_s.is_some(), "{stage}");
        }
    }
    let ing = sipas_cli::manifest::verify(&d.join("out/ingest"), "ingest").unwrap();
    assert_eq!(ing.timing.unwrap().rows, Some(2000));
    assert_eq!(ing.rows["rows_read"], 2000);
    let whole = sipas_cli::manifest::verify(&d.join("out"), "run").unwrap();
    assert_eq!(whole.timing.unwrap().rows, Some(2000));
    let report = fs::read_to_string(d.join("out/ingest/ingest-report.json")).unwrap();
    assert!(!report.contains("wall_s") && !report.contains("rows_per_s"));
    // `-o` overrides the job's out.
    ok(&["-q", "run", "jobs/job.toml", "-o", "elsewhere"]);
    assert!(d.join("elsewhere/report/index.html").is_file());
    assert_eq!(
        fs::read(d.join("out/ingest/ingest-report.json")).unwrap(),
        fs::read(d.join("elsewhere/ingest/ingest-report.json")).unwrap(),
        "same input, same report bytes"
    );
}
