//! Helpers shared by the integration tests: run the `sipas` binary, read CSVs.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `sipas` with `args` in `dir`.
pub(crate) fn sipas(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the sipas binary runs")
}

/// Exit code, or a panic with stderr when the process was killed.
pub(crate) fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed: {}", String::from_utf8_lossy(&out.stderr)))
}

/// stderr as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A CSV file as a header and rows of field maps.
pub(crate) fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A float field.
pub(crate) fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("column {col}: `{}` is not a number", row[col]))
}

/// Small responses and their ingest folder in `dir/ing`.
pub(crate) fn ingested(dir: &Path) {
    let g = sipas(
        dir,
        &[
            "-q",
            "generate",
            "--responses",
            "2000",
            "--seed",
            "1",
            "--out",
            "data/r.csv",
        ],
    );
    assert_eq!(code(&g), 0, "{}", stderr(&g));
    let i = sipas(dir, &["-q", "ingest", "data/r.csv", "--out", "ing"]);
    assert_eq!(code(&i), 0, "{}", stderr(&i));
}

/// The arguments of `sipas aggregate` from `dir/ing` into `dir/res`, quiet.
pub(crate) const AGGREGATE_ING: [&str; 6] = ["-q", "aggregate", "--data", "ing", "--out", "res"];

/// `sipas -q aggregate --data ing --out res`, then `extra`, in `dir`.
pub(crate) fn aggregate_ing(dir: &Path, extra: &[&str]) -> Output {
    sipas(dir, &[&AGGREGATE_ING[..], extra].concat())
}

/// Asserts that `out` is a refusal: exit 2, with `says` in its message.
pub(crate) fn assert_refused(out: &Output, says: &str) {
    let msg = stderr(out);
    assert_eq!(code(out), 2, "{msg}");
    assert!(msg.contains(says), "{msg}");
}

/// Runs `sipas` with `args` in `dir`, which must succeed (exit 0, or 1: pilot units without
/// data); its stderr.
pub(crate) fn succeeds(dir: &Path, args: &[&str]) -> String {
    let out = sipas(dir, args);
    assert!(code(&out) <= 1, "{args:?}: {}", stderr(&out));
    stderr(&out)
}

/// `responses` generated rows (seed `seed`, periods to 2024Q4: the 177 units' codes, valid
/// until 30/11/2024) in `dir/g/r.csv`, ingested into `dir/i` and cleaned into `dir/c`.
pub(crate) fn cleaned(dir: &Path, responses: u32, seed: u32) {
    let (n, seed) = (responses.to_string(), seed.to_string());
    let generate = [
        "-q",
        "generate",
        "-n",
        &n,
        "--seed",
        &seed,
        "--last-period",
        "2024Q4",
    ];
    succeeds(dir, &[&generate[..], &["-o", "g/r.csv"]].concat());
    succeeds(dir, &["-q", "ingest", "g/r.csv", "-o", "i"]);
    succeeds(dir, &["-q", "clean", "i", "-o", "c"]);
}

/// A job that generates `responses` responses of `instrument` over the `periods` (first, last)
/// with seed `seed` into `out = "result"`, then `more` (further keys and sections).
pub(crate) fn generate_job(
    instrument: &str,
    responses: u32,
    seed: u32,
    (first, last): (&str, &str),
    more: &str,
) -> String {
    format!(
        "out = \"result\"\ninstrument = \"{instrument}\"\n\n[generate]\nresponses = {responses}\n\
         seed = {seed}\nfirst_period = \"{first}\"\nlast_period = \"{last}\"\n{more}"
    )
}

/// Writes `job` as `dir/job.toml` and runs `sipas run --config job.toml` in `dir`.
pub(crate) fn run_job(dir: &Path, job: &str) -> Output {
    std::fs::write(dir.join("job.toml"), job).unwrap();
    sipas(dir, &["run", "--config", "job.toml"])
}

/// The names in folder `dir`, sorted.
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A KoboToolbox record of the 2017 instrument in 2024Q1, every item answered `answer`; with
/// `grouped`, the unit and the items under group paths, as Kobo sends grouped questions.
pub(crate) fn kobo_record(id: &str, unit: &str, answer: &str, grouped: bool) -> serde_json::Value {
    let path = |group: &str, name: &str| {
        if grouped {
            format!("{group}/{name}")
        } else {
            name.to_string()
        }
    };
    let mut m = serde_json::Map::new();
    m.insert("_uuid".into(), id.into());
    m.insert("_submission_time".into(), "2024-02-10T08:00:00".into());
    m.insert(path("thong_tin", "ma_xa"), unit.into());
    m.insert("ky_khao_sat".into(), "2024Q1".into());
    for it in sipas_core::bundled::instrument("sipas-2017")
        .unwrap()
        .item_ids()
    {
        m.insert(path("nhom", it), answer.into());
    }
    serde_json::Value::Object(m)
}

/// A KoboToolbox server on this machine: its base URL, and a thread that answers one request
/// per page of `pages(base)`, in order, and returns each request's `Authorization` header.
pub(crate) fn kobo_server(
    pages: impl FnOnce(&str) -> Vec<serde_json::Value>,
) -> (String, std::thread::JoinHandle<Vec<Option<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let pages = pages(&base);
    let handle = std::thread::spawn(move || {
        let mut auth = Vec::new();
        for page in &pages {
            let Ok(Some(rq)) = server.recv_timeout(std::time::Duration::from_secs(20)) else {
                break;
            };
            auth.push(
                rq.headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_owned()),
            );
            let resp = tiny_http::Response::from_string(page.to_string()).with_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
            );
            let _ = rq.respond(resp);
        }
        auth
    });
    (base, handle)
}

/// Writes `dir/job.toml`: `settings` (out, instrument, sections), then a KoboToolbox source on
/// `base` whose token is in `SIPAS_TEST_KOBO_TOKEN`; and runs `sipas run` on it with `token`
/// (`quiet`: with `-q`).
pub(crate) fn run_kobo_job(
    dir: &Path,
    settings: &str,
    base: &str,
    token: &str,
    quiet: bool,
) -> Output {
    std::fs::write(
        dir.join("job.toml"),
        format!(
            "{settings}[[source]]\nname = \"kobo-test\"\nkind = \"kobo\"\nserver = \"{base}\"\n\
             asset = \"aBcD1234\"\ntoken_env = \"SIPAS_TEST_KOBO_TOKEN\"\n"
        ),
    )
    .unwrap();
    let args = ["-q", "run", "--config", "job.toml"];
    Command::new(env!("CARGO_BIN_EXE_sipas"))
        .args(if quiet { &args[..] } else { &args[1..] })
        .current_dir(dir)
        .env("SIPAS_TEST_KOBO_TOKEN", token)
        .output()
        .unwrap()
}
