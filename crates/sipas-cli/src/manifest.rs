//! `manifest.json`: what a results folder holds and how it was made.
//!
//! Every folder a stage writes gets one: the sipas version, the command line and the resolved
//! options, the input files with their sizes and BLAKE3 hashes, the stage's row counts, every
//! output file (path relative to the folder) with its size and hash, the start and end time
//! (UTC, RFC 3339) and the stage's wall time and rows/s (`timing`, see [`crate::timing`]): the
//! manifest is the one file of a folder that changes from run to run. [`verify`] checks a folder against its manifest before a later stage reads it.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The manifest's file name inside a results folder.
pub const MANIFEST: &str = "manifest.json";

/// One file: its path, size and BLAKE3 hash (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Inputs: the path as given; outputs: relative to the folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// BLAKE3 hash, hex.
    pub blake3: String,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// `0.1.0 (commit 1a2b3c4)`.
    pub sipas: String,
    /// The stage that wrote the folder (`ingest`, `clean`, `aggregate`, `report`, `run`).
    pub stage: String,
    /// The command line (argv).
    pub command: Vec<String>,
    /// The resolved options (every default filled in).
    pub options: String,
    /// The files read.
    pub inputs: Vec<FileEntry>,
    /// Row counts of the stage (`rows_read`, `accepted`, …).
    pub rows: BTreeMap<String, u64>,
    /// Every file written, except this manifest.
    pub outputs: Vec<FileEntry>,
    /// Start time, UTC, RFC 3339.
    pub started: String,
    /// End time, UTC, RFC 3339.
    pub finished: String,
    /// The stage's wall time and rows/s: the only timing sipas records, kept here so that
    /// every other file of the folder is reproducible byte for byte ([`crate::timing`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<crate::timing::Timing>,
    /// How each input file was read (ingest): its format, encoding (with the detector's
    /// confidence under `--encoding auto`) and delimiter, or why it was skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reading: Vec<ReadEntry>,
}

/// What a stage reports of itself in its manifest: row counts, timing and how its inputs were read.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Row counts (`rows_read`, `accepted`, …).
    pub rows: BTreeMap<String, u64>,
    /// Wall time and rows/s.
    pub timing: Option<crate::timing::Timing>,
    /// How each input file was read (ingest).
    pub reading: Vec<ReadEntry>,
}

/// How one input file was read, or why it was not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadEntry {
    /// The file (`file.xlsx#Sheet` for a sheet), as named in the ingest report.
    pub file: String,
    /// `csv`, `excel`, `json`, … (empty when skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The text encoding used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The detector's confidence, under `--encoding auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_confidence: Option<f64>,
    /// The delimiter of delimited text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Rows read from the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_read: Option<u64>,
    /// Why the file was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The size and BLAKE3 hash of a file: read 4 MiB at a time, each block hashed on the rayon
/// pool (BLAKE3's tree splits it) while the next is read. A results folder holds over a
/// gigabyte with 10,000 units, and every input is hashed too.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    const BLOCK: usize = 4 << 20;
    /// Fills `buf` from `f` as far as the file goes; how many bytes it holds.
    fn fill(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut k = 0;
        while k < buf.len() {
            match f.read(&mut buf[k..]) {
                Ok(0) => break,
                Ok(n) => k += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(k)
    }
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let (mut cur, mut next) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    let mut k = fill(&mut f, &mut cur)?;
    let mut n = 0u64;
    while k > 0 {
        let (read, ()) = rayon::join(
            || fill(&mut f, &mut next),
            || {
                h.update_rayon(&cur[..k]);
            },
        );
        n += k as u64;
        k = read?;
        std::mem::swap(&mut cur, &mut next);
    }
    Ok((n, h.finalize().to_hex().to_string()))
}

/// The size and BLAKE3 hash of `path` for a manifest: known when this process has just
/// written it (hashed on the way) or has read it whole since it last changed (an input verified
/// when the stage started); otherwise read ([`hash_file`]) and remembered.
fn file_hash(path: &Path) -> anyhow::Result<(u64, String)> {
    if let Some(known) = sipas_core::direct::written(path) {
        return Ok(known);
    }
    let seen = sipas_core::direct::stamp(path);
    let (bytes, blake3) =
        hash_file(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(seen) = seen {
        sipas_core::direct::remember_read(path, seen, bytes, &blake3);
    }
    Ok((bytes, blake3))
}

/// Every file under `dir` (recursive), relative `/`-separated paths, sorted; `dir/manifest.json`
/// itself is left out.
pub fn files(dir: &Path) -> anyhow::Result<Vec<FileEntry>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<FileEntry>) -> anyhow::Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("cannot list {}", dir.display()))?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                walk(root, &p, out)?;
                continue;
            }
            let rel: Vec<String> = p
                .strip_prefix(root)
                .expect("under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let rel = rel.join("/");
            if rel == MANIFEST {
                continue;
            }
            let (bytes, blake3) = file_hash(&p)?;
            out.push(FileEntry {
                path: rel,
                bytes,
                blake3,
            });
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Input files: a file as given, a folder as every file under it (`folder/rel/path`).
pub fn input_entries(inputs: &[(PathBuf, String)]) -> anyhow::Result<Vec<FileEntry>> {
    let mut v = Vec::new();
    for (path, shown) in inputs {
        if path.is_dir() {
            for mut f in files(path)? {
                f.path = format!("{}/{}", shown.trim_end_matches('/'), f.path);
                v.push(f);
            }
            let m = path.join(MANIFEST);
            if m.is_file() {
                let (bytes, blake3) = file_hash(&m)?;
                v.push(FileEntry {
                    path: format!("{}/{MANIFEST}", shown.trim_end_matches('/')),
                    bytes,
                    blake3,
                });
            }
        } else if path.is_file() {
            let (bytes, blake3) = file_hash(path)?;
            v.push(FileEntry {
                path: shown.clone(),
                bytes,
                blake3,
            });
        }
    }
    Ok(v)
}

/// What a stage knows when it starts: the command line and the clock.
#[derive(Debug, Clone)]
pub struct Recorder {
    command: Vec<String>,
    started: String,
}

impl Recorder {
    /// Starts the record now, with this process's command line.
    pub fn start() -> Recorder {
        Recorder {
            command: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            started: rfc3339(SystemTime::now()),
        }
    }

    /// The command line as one string (`sipas aggregate --data …`), for the lock file.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }

    /// Writes `dir/manifest.json`: every file now in `dir` is an output.
    pub fn write(
        &self,
        dir: &Path,
        stage: &str,
        options: String,
        inputs: Vec<FileEntry>,
        summary: Summary,
    ) -> anyhow::Result<()> {
        let Summary {
            rows,
            timing,
            reading,
        } = summary;
        let m = Manifest {
            sipas: crate::args::VERSION.to_string(),
            stage: stage.to_string(),
            command: self.command.clone(),
            options,
            inputs,
            rows,
            outputs: files(dir)?,
            started: self.started.clone(),
            finished: rfc3339(SystemTime::now()),
            timing,
            reading,
        };
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(&m)?;
        text.push('\n');
        sipas_core::atomic::write_bytes(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Checks `dir` against its `manifest.json`: every listed file present with the same size and
/// hash, and no other file. The error names the file that differs and the stage to rerun
/// (`fallback_stage` when the manifest itself is missing or unreadable).
pub fn verify(dir: &Path, fallback_stage: &str) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let rerun = |stage: &str| format!("rerun `sipas {stage}`");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "is missing".to_string()
        } else {
            format!("cannot be read ({e})")
        };
        anyhow::anyhow!(
            "{} {why}: {} was not written (completely) by sipas; {}",
            path.display(),
            dir.display(),
            rerun(fallback_stage)
        )
    })?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a sipas manifest ({e}); {}",
            path.display(),
            rerun(fallback_stage)
        )
    })?;
    let present = files(dir)?;
    let listed: BTreeMap<&str, &FileEntry> =
        m.outputs.iter().map(|f| (f.path.as_str(), f)).collect();
    let found: BTreeMap<&str, &FileEntry> = present.iter().map(|f| (f.path.as_str(), f)).collect();
    for (p, f) in &listed {
        match found.get(p) {
            None => anyhow::bail!(
                "{} is missing but listed in {}: {}",
                dir.join(p).display(),
                path.display(),
                rerun(&m.stage)
            ),
            Some(g) if g != f => anyhow::bail!(
                "{} differs from {}: {}",
                dir.join(p).display(),
                path.display(),
                rerun(&m.stage)
            ),
            Some(_) => {}
        }
    }
    if let Some(p) = found.keys().find(|p| !listed.contains_key(*p)) {
        anyhow::bail!(
            "{} is not listed in {}: {}",
            dir.join(p).display(),
            path.display(),
            rerun(&m.stage)
        );
    }
    Ok(m)
}

/// `t` as UTC RFC 3339 with seconds (`2026-12-04T19:43:18Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).expect("u64 seconds / 86 400 fit an i64");
    let rem = secs % 86_400;
    let d =
        sipas_ingest::date_of_day_number(days).expect("the clock reads a date of years 1970–9999");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A file hashed block by block on several threads has the hash of its bytes at once: empty,
    /// under one block, and two blocks and a bit.
    #[test]
    fn a_file_hashed_in_blocks_has_the_hash_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = sipas_core::xorshift::XorShift64::new(0x2545_F491_4F6C_DD1D);
        let bytes: Vec<u8> = (0..(9 << 20) + 3)
            .map(|_| rng.next_u64().to_le_bytes()[3])
            .collect();
        for len in [0, 1000, bytes.len()] {
            let p = dir.path().join(format!("f{len}"));
            std::fs::write(&p, &bytes[..len]).unwrap();
            let (n, hex) = hash_file(&p).unwrap();
            assert_eq!(n, len as u64);
            assert_eq!(
                hex,
                blake3::hash(&bytes[..len]).to_hex().to_string(),
                "{len}"
            );
        }
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400`: the leap day of 2000.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        // `date -u -d @1796413398`.
        assert_eq!(at(1_796_413_398), "2026-12-04T19:43:18Z");
    }

    #[test]
    fn a_folder_verifies_until_a_file_changes_appears_or_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("a.csv"), "x,y\n1,2\n").unwrap();
        std::fs::write(d.join("sub/b.csv"), "b\n").unwrap();
        let r = Recorder::start();
        r.write(d, "aggregate", String::new(), vec![], Summary::default())
            .unwrap();
        let m = verify(d, "aggregate").unwrap();
        assert_eq!(
            m.outputs
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>(),
            ["a.csv", "sub/b.csv"]
        );
        assert_eq!(m.outputs[0].bytes, 8);
        // The BLAKE3 of "b\n" (`printf 'b\n' | b3sum`).
        assert_eq!(
            m.outputs[1].blake3,
            blake3::hash(b"b\n").to_hex().to_string()
        );
        std::fs::write(d.join("a.csv"), "x,y\n1,3\n").unwrap();
        let e = verify(d, "aggregate").unwrap_err().to_string();
        assert!(
            e.contains("a.csv differs from") && e.ends_with("rerun `sipas aggregate`"),
            "{e}"
        );
        std::fs::write(d.join("a.csv"), "x,y\n1,2\n").unwrap();
        verify(d, "aggregate").unwrap();
        std::fs::write(d.join("extra.csv"), "").unwrap();
        let e = verify(d, "aggregate").unwrap_err().to_string();
        assert!(e.contains("extra.csv is not listed"), "{e}");
        std::fs::remove_file(d.join("extra.csv")).unwrap();
        std::fs::remove_file(d.join("sub/b.csv")).unwrap();
        let e = verify(d, "aggregate").unwrap_err().to_string();
        assert!(e.contains("b.csv is missing"), "{e}");
        std::fs::remove_file(d.join(MANIFEST)).unwrap();
        let e = verify(d, "ingest").unwrap_err().to_string();
        assert!(
            e.contains("manifest.json is missing") && e.ends_with("rerun `sipas ingest`"),
            "{e}"
        );
    }
}
