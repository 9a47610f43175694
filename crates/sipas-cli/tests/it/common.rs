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
