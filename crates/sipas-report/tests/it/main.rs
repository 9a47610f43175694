//! Integration tests of sipas-report, on the hand-written fixture
//! `fixtures/report/small` (3 units, 2 of them pilots, 6 quarters, pilot start 2024Q1).

mod charts;
mod evaluation;
mod html;
mod indices;
mod lang;
mod png;
mod results;
mod rollout;

use std::path::PathBuf;

use sipas_core::PilotSet;
use sipas_report::{Results, load_results};

/// The workspace `fixtures/` directory.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The small results fixture.
pub(crate) fn small_dir() -> PathBuf {
    fixtures().join("report/small")
}

pub(crate) fn small() -> Results {
    load_results(&small_dir()).expect("fixture loads")
}

/// Asserts that `html` holds each of `parts`, naming the first one it lacks.
pub(crate) fn assert_contains_all(html: &str, parts: &[&str]) {
    for part in parts {
        assert!(html.contains(part), "the page lacks {part:?}");
    }
}

/// The file names of a written report, in the order written.
pub(crate) fn file_names(summary: &sipas_report::ReportSummary) -> Vec<String> {
    summary
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The fixture's pilot set: Trưng Vương and Phú Đình, from 2024Q1.
pub(crate) fn pilots() -> PilotSet {
    PilotSet::from_toml_str(
        "program = \"Chính quyền thân thiện, nhân dân phát huy quyền làm chủ\"\n\
         start = \"2024Q1\"\nunits = [\"05443\", \"05602\"]\n",
        "test",
    )
    .unwrap()
}
