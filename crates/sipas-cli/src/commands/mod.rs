//! One module per subcommand. This module owns all printing to stderr:
//! progress and summaries are logs, never data.

pub(crate) mod aggregate;
pub(crate) mod clean;
pub(crate) mod docs;
pub(crate) mod evaluate;

pub(crate) mod generate;
pub(crate) mod ingest;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod spark;
pub(crate) mod sql;
pub(crate) mod sync;

/// Writes one log line to stderr (above the progress bars, if drawn; not with `-q`).
pub(crate) fn say(msg: &str) {
    crate::logging::line(msg, false);
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_core::staging::Staging;

use crate::ExitStatus;
use crate::manifest::Recorder;
use crate::timing::Timing;

/// How a stage ended: its exit status, the row counts and the timing for its manifest.
pub(crate) struct Done {
    pub(crate) status: ExitStatus,
    pub(crate) rows: BTreeMap<String, u64>,
    pub(crate) timing: Option<Timing>,
    /// How each input file was read (ingest only), for the manifest.
    pub(crate) reading: Vec<crate::manifest::ReadEntry>,
}

impl Done {
    pub(crate) fn new(status: ExitStatus, rows: &[(&str, u64)]) -> Done {
        Done {
            status,
            rows: rows.iter().map(|(k, n)| ((*k).to_string(), *n)).collect(),
            timing: None,
            reading: Vec::new(),
        }
    }

    /// What the manifest records of the stage.
    pub(crate) fn summary(&self) -> crate::manifest::Summary {
        crate::manifest::Summary {
            rows: self.rows.clone(),
            timing: self.timing,
            reading: self.reading.clone(),
        }
    }

    /// The same, with the stage's timing (the one its summary line showed).
    pub(crate) fn timed(mut self, timing: Timing) -> Done {
        self.timing = Some(timing);
        self
    }
}

/// `path` made absolute with `.`/`..` resolved as far as the folders exist (a folder not yet
/// created keeps its name).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolved(parent).join(name),
        (_, Some(name)) => {
            std::env::current_dir().map_or_else(|_| PathBuf::from(name), |d| d.join(name))
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Starts writing the results folder `target` of a stage: refuses a target that holds the
/// stage's inputs or the working folder (it is replaced whole), takes its lock, repairs what a
/// stopped run left and returns the staging folder to write into.
pub(crate) fn begin(
    stage: &str,
    target: &Path,
    inputs: &[&Path],
    rec: &Recorder,
) -> anyhow::Result<Staging> {
    let t = resolved(target);
    for i in inputs {
        if resolved(i).starts_with(&t) {
            anyhow::bail!(
                "{stage}: the input {} is inside the output folder {}, which is replaced whole when the stage ends; write the results elsewhere",
                i.display(),
                target.display()
            );
        }
    }
    if let Ok(cwd) = std::env::current_dir()
        && resolved(&cwd).starts_with(&t)
    {
        anyhow::bail!(
            "{stage}: the output folder {} holds the working folder; it is replaced whole when the stage ends, so name a folder of its own (e.g. {}/out)",
            target.display(),
            target.display()
        );
    }
    let s = Staging::begin(target, &rec.command_line())?;
    for p in s.recovered() {
        say(&format!(
            "{stage}: repaired what a stopped run left: {}",
            p.display()
        ));
    }
    Ok(s)
}

/// Writes the manifest into the staging folder and swaps it in for its target.
pub(crate) fn commit(
    stage: &str,
    staging: Staging,
    rec: &Recorder,
    options: String,
    inputs: &[(PathBuf, String)],
    done: &Done,
) -> anyhow::Result<()> {
    let inputs = crate::manifest::input_entries(inputs)?;
    rec.write(staging.path(), stage, options, inputs, done.summary())?;
    let target = staging.target().to_path_buf();
    staging
        .commit()
        .with_context(|| format!("cannot put the new {} in place", target.display()))
}

/// An input path with the name the manifest gives it.
pub(crate) fn input(p: &Path) -> (PathBuf, String) {
    (p.to_path_buf(), p.display().to_string())
}

/// A folder read by a standalone stage: when it has a manifest (it was written by sipas), its
/// files must match it; a folder without one (made by hand) is read as it is.
pub(crate) fn check_input(dir: &Path, stage: &str) -> anyhow::Result<()> {
    if dir.join(crate::manifest::MANIFEST).exists() {
        crate::manifest::verify(dir, stage).context("the input folder is not as sipas wrote it")?;
    }
    Ok(())
}
