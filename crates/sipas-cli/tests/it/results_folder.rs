//! A results folder is written as one unit, by one writer at a time: the lock through the
//! binary, the manifest check of `report`, and `aggregate` and `run` killed (SIGKILL) at
//! pseudo-random moments, after which the folder holds the complete old results or the
//! complete new ones, and the next run leaves nothing stale behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sipas_cli::manifest::Manifest;

use crate::common::{
    AGGREGATE_ING, aggregate_ing, assert_refused, code, ingested, kobo_record, kobo_server,
    run_kobo_job, sipas, stderr,
};

/// Every file under `dir`: relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

/// Names under `dir` (recursive) that a stopped run leaves: staging and old folders, temporary
/// and spill files.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(".sipas-staging-")
            || name.ends_with(".sipas-old")
            || name.starts_with(".sipas-")
        {
            v.push(e.path().display().to_string());
        }
        if e.file_type().unwrap().is_dir() {
            v.extend(leftovers(&e.path()));
        }
    }
    v
}

/// A small seeded generator (SplitMix64) for the kill delays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn aggregate_args(seed: u64) -> Vec<String> {
    let seed = seed.to_string();
    [&AGGREGATE_ING[..], &["--replicates", "49", "--seed", &seed]]
        .concat()
        .into_iter()
        .map(String::from)
        .collect()
}

/// `sipas -q report --results res --out OUT`, then `extra`, in `dir`.
fn report(dir: &Path, out: &str, extra: &[&str]) -> Output {
    sipas(
        dir,
        &[&["-q", "report", "--results", "res", "--out", out], extra].concat(),
    )
}

fn run_job(dir: &Path, seed: u64) {
    // The bootstrap seed changes from run to run, so old and new results differ. The periods end
    // before 01/12/2024: generated rows carry the 177 units' codes, valid until then.
    fs::write(
        dir.join("job.toml"),
        format!(
            "out = \"out\"\ninstrument = \"sipas-2023\"\n[generate]\nresponses = 2000\nseed = 1\nfirst_period = \"2023Q1\"\nlast_period = \"2024Q4\"\n[evaluation]\nreplicates = 49\nseed = {seed}\n"
        ),
    )
    .unwrap();
}

/// Runs `args` in `dir` to the end: it succeeds, leaves nothing behind, and the manifest of
/// `results` (written by `stage`) verifies. How long it took, and the manifest.
fn completes(
    dir: &Path,
    args: &[String],
    results: &Path,
    stage: &str,
    what: &str,
) -> (Duration, Manifest) {
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(code(&out), 0, "{what}: {}", stderr(&out));
    assert!(leftovers(dir).is_empty(), "{what}: {:?}", leftovers(dir));
    (took, sipas_cli::manifest::verify(results, stage).unwrap())
}

/// What the kills of a run left: the old results, new ones, and how many stopped it half way.
#[derive(Default)]
struct Kills {
    old: usize,
    new: usize,
    mid_run: usize,
}

impl Kills {
    /// Starts `args` in `dir` and kills it after `delay`; then `target` must hold `old` or
    /// complete new results. Whether they are new.
    fn kill(
        &mut self,
        dir: &Path,
        args: &[String],
        delay: Duration,
        (target, old): (&Path, &BTreeMap<String, Vec<u8>>),
        what: &str,
    ) -> bool {
        start_and_kill(dir, args, delay);
        if !leftovers(dir).is_empty() {
            self.mid_run += 1;
        }
        let new = assert_old_or_new(target, old, what);
        if new {
            self.new += 1;
        } else {
            self.old += 1;
        }
        new
    }

    /// Prints the counts; some kills must have stopped the run half way (else the delays did
    /// not span the run, and the test proved nothing).
    fn check(&self, stage: &str) {
        eprintln!(
            "{stage}: {} kills left the old results, {} the new ones; {} left a staging folder",
            self.old, self.new, self.mid_run
        );
        assert!(self.mid_run > 0);
    }
}

/// Starts `args` in `dir`, kills it after `delay`, and returns whether it had already ended.
fn start_and_kill(dir: &Path, args: &[String], delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let ended = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    ended
}

/// The folder `target` as the next start finds it: itself, or (killed between the two renames
/// of the swap) the complete previous folder kept aside, which the next start puts back. It
/// holds either `old` byte for byte or results whose manifest verifies.
fn assert_old_or_new(target: &Path, old: &BTreeMap<String, Vec<u8>>, what: &str) -> bool {
    let name = target.file_name().unwrap().to_string_lossy();
    let aside = target.with_file_name(format!(".{name}.sipas-old"));
    let seen = if target.is_dir() { target } else { &aside };
    assert!(seen.is_dir(), "{what}: neither {name} nor its old folder");
    let now = snapshot(seen);
    if &now == old {
        return false;
    }
    if let Err(e) = sipas_cli::manifest::verify(seen, "aggregate") {
        panic!(
            "{what}: {name} is neither the old results nor complete new ones: {e:#}\nfiles: {:?}",
            now.keys().collect::<Vec<_>>()
        );
    }
    true
}

#[test]
fn a_second_writer_stops_at_once_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("res");
    let _held =
        sipas_core::staging::OutputLock::acquire(&target, "sipas aggregate (held by the test)")
            .unwrap();
    let out = sipas(tmp.path(), &["aggregate", "--data", "ing", "--out", "res"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!(
            "pid {}: sipas aggregate (held by the test)",
            std::process::id()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("is being written by another sipas process"),
        "{msg}"
    );
    assert!(!target.exists());
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
}

#[test]
fn aggregate_killed_leaves_old_or_new_results_and_report_checks_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ingested(dir);
    let res = dir.join("res");
    let (full, m) = completes(dir, &aggregate_args(1000), &res, "aggregate", "first");
    assert_eq!(m.stage, "aggregate");
    assert_eq!(m.rows["rows_read"], 2000);
    assert!(m.outputs.iter().any(|f| f.path == "unit_period.csv"));
    assert!(m.inputs.iter().any(|f| f.path == "ing/responses.parquet"));
    assert!(m.started.ends_with('Z') && m.finished >= m.started);

    let mut rng = Rng(15);
    let mut old = snapshot(&res);
    let mut kills = Kills::default();
    let span = (full.as_millis() as u64 * 13 / 10).max(50);
    for k in 0..12 {
        let delay = Duration::from_millis(rng.below(span));
        let what = format!("aggregate killed after {delay:?}");
        kills.kill(dir, &aggregate_args(k), delay, (&res, &old), &what);
        // The next run repairs and cleans what the killed one left, then completes.
        completes(dir, &aggregate_args(100 + k), &res, "aggregate", &what);
        old = snapshot(&res);
    }
    kills.check("aggregate");

    // A stage that stops on an error leaves the previous results exactly as they were.
    let failed = aggregate_ing(dir, &["--channel", "nosuch"]);
    assert_refused(&failed, "no rows of channel `nosuch`");
    assert!(snapshot(&res) == old, "a failed aggregate changed res/");
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
    // A results folder that holds the input would lose it: refused before anything is written.
    let inside = sipas(dir, &["-q", "aggregate", "--data", "ing", "--out", "."]);
    assert_refused(&inside, "the input ing is inside the output folder .");
    assert!(snapshot(&res) == old);

    // report reads only results that match their manifest.
    let rep = report(dir, "rep", &[]);
    assert!(code(&rep) <= 1, "{}", stderr(&rep));
    sipas_cli::manifest::verify(&dir.join("rep"), "report").unwrap();
    // `--lang en`: the same report with English labels; charts redrawn in English.
    let en = report(dir, "rep-en", &["--lang", "en"]);
    assert!(code(&en) <= 1, "{}", stderr(&en));
    let page = fs::read_to_string(dir.join("rep-en/index.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.contains("<h1>SIPAS index: evaluation of the pilot</h1>"));
    assert!(!page.contains("<h2>Ước lượng khác biệt kép (DiD)</h2>"));
    let vi = fs::read_to_string(dir.join("rep/index.html")).unwrap();
    assert!(vi.contains("<h1>Chỉ số SIPAS: đánh giá mô hình thí điểm</h1>"));
    assert_ne!(
        fs::read(dir.join("rep/pilots.png")).unwrap(),
        fs::read(dir.join("rep-en/pilots.png")).unwrap()
    );
    let bad = report(dir, "x", &["--lang", "fr"]);
    assert_eq!(code(&bad), 2);
    let mut text = fs::read_to_string(res.join("unit_period.csv")).unwrap();
    text = text.replacen(',', ";", 1);
    fs::write(res.join("unit_period.csv"), text).unwrap();
    assert_refused(
        &report(dir, "rep", &[]),
        "res/unit_period.csv differs from res/manifest.json: rerun `sipas aggregate`",
    );
    // The refused report left the previous one as it was.
    sipas_cli::manifest::verify(&dir.join("rep"), "report").unwrap();
    fs::remove_file(res.join("manifest.json")).unwrap();
    assert_refused(&report(dir, "rep", &[]), "res/manifest.json is missing");

    // aggregate refuses an ingest folder changed since ingest wrote it, and writes nothing.
    let before = snapshot(&res);
    let mut q = fs::OpenOptions::new()
        .append(true)
        .open(dir.join("ing/quarantine.csv"))
        .unwrap();
    std::io::Write::write_all(&mut q, b"\n").unwrap();
    assert_refused(
        &aggregate_ing(dir, &[]),
        "ing/quarantine.csv differs from ing/manifest.json: rerun `sipas ingest`",
    );
    assert!(snapshot(&res) == before);
}

#[test]
fn run_killed_leaves_old_or_new_results_and_no_spill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = dir.join("out");
    run_job(dir, 1);
    let args: Vec<String> = ["-q", "run", "--config", "job.toml"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let (full, m) = completes(dir, &args, &out, "run", "first");
    assert_eq!(m.rows["ingest.rows_read"], 2000);
    for stage in ["ingest", "clean", "results", "report"] {
        sipas_cli::manifest::verify(&out.join(stage), stage).unwrap();
    }

    let mut rng = Rng(1515);
    let mut old = snapshot(&out);
    let mut kills = Kills::default();
    let span = (full.as_millis() as u64 * 12 / 10).max(50);
    for k in 0..10 {
        run_job(dir, 2 + k);
        let delay = Duration::from_millis(rng.below(span));
        let what = format!("run killed after {delay:?}");
        if kills.kill(dir, &args, delay, (&out, &old), &what) && out.is_dir() {
            old = snapshot(&out);
        }
        if k == 4 || k == 9 {
            completes(dir, &args, &out, "run", &what);
            old = snapshot(&out);
        }
    }
    kills.check("run");
}

/// `sipas run` replaces `OUT` whole, but the platform store `OUT/raw/` (records and watermark)
/// carries over: a second run that receives nothing new still ingests the records of the first.
#[test]
fn run_keeps_the_platform_store_across_runs() {
    // First run: two records; second run: nothing new.
    let (base, handle) = kobo_server(|_| {
        let record = |id: &str, unit: &str, answer: &str| kobo_record(id, unit, answer, false);
        vec![
            serde_json::json!({"count": 2, "next": null, "previous": null,
                "results": [record("k-1", "05443", "4"), record("k-2", "05446", "5")]}),
            serde_json::json!({"count": 0, "next": null, "previous": null, "results": []}),
        ]
    });
    let tmp = tempfile::tempdir().unwrap();
    let settings = "out = \"o\"\ninstrument = \"sipas-2017\"\n[evaluation]\nreplicates = 0\n";
    let rows_read = || {
        let r: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(tmp.path().join("o/ingest/ingest-report.json")).unwrap(),
        )
        .unwrap();
        r["totals"]["rows_read"].as_u64().unwrap()
    };
    for _ in 0..2 {
        let out = run_kobo_job(tmp.path(), settings, &base, "t", true);
        // Exit 1: most pilot units have no data.
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert_eq!(rows_read(), 2);
        sipas_cli::manifest::verify(&tmp.path().join("o"), "run").unwrap();
    }
    assert_eq!(handle.join().unwrap().len(), 2, "one request per run");
    assert!(leftovers(tmp.path()).is_empty());
}
