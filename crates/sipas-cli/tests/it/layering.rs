//! The crate graph flows one way: core ← dataset ← stages ← cli (datafusion's depcheck idea).

use std::process::Command;

/// Allowed `sipas-*` → `sipas-*` edges (normal and dev dependencies).
const ALLOWED: &[(&str, &str)] = &[
    ("sipas-dataset", "sipas-core"),
    ("sipas-synth", "sipas-core"),
    ("sipas-synth", "sipas-dataset"),
    ("sipas-ingest", "sipas-dataset"),
    ("sipas-clean", "sipas-dataset"),
    ("sipas-aggregate", "sipas-dataset"),
    ("sipas-cli", "sipas-dataset"),
    ("sipas-bench", "sipas-dataset"),
    ("sipas-ingest", "sipas-core"),
    ("sipas-clean", "sipas-core"),
    ("sipas-aggregate", "sipas-core"),
    ("sipas-report", "sipas-core"),
    ("sipas-cli", "sipas-core"),
    ("sipas-cli", "sipas-synth"),
    ("sipas-cli", "sipas-ingest"),
    ("sipas-cli", "sipas-clean"),
    ("sipas-cli", "sipas-aggregate"),
    ("sipas-cli", "sipas-report"),
    ("sipas-bench", "sipas-core"),
    ("sipas-bench", "sipas-synth"),
    ("sipas-bench", "sipas-ingest"),
    ("sipas-bench", "sipas-clean"),
    ("sipas-bench", "sipas-aggregate"),
    ("sipas-bench", "sipas-report"),
];

#[test]
fn internal_dependencies_follow_the_layering() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut edges = Vec::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let from = pkg["name"].as_str().unwrap();
        for dep in pkg["dependencies"].as_array().unwrap() {
            let to = dep["name"].as_str().unwrap();
            if to.starts_with("sipas-") && to != from {
                edges.push((from.to_string(), to.to_string()));
            }
        }
    }
    assert!(
        edges.len() >= 6,
        "expected the stage crates in the graph: {edges:?}"
    );
    for (from, to) in &edges {
        assert!(
            ALLOWED.contains(&(from.as_str(), to.as_str())),
            "{from} must not depend on {to}: stages are siblings, only sipas-cli orchestrates"
        );
    }
}
