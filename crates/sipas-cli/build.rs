//! Puts the commit sipas is built from into `sipas --version` (`SIPAS_COMMIT`): `git rev-parse`
//! where the source is a git checkout, else `SIPAS_COMMIT` from the environment, else "unknown".

use std::process::Command;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for p in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        let path = root.join(p);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-env-changed=SIPAS_COMMIT");
    let commit = std::env::var("SIPAS_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(&root)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    });
    println!(
        "cargo:rustc-env=SIPAS_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".to_string())
    );
}
