//! A results folder written as one unit: staged beside the target, then swapped in whole.
//!
//! [`Staging::begin`] takes the folder's lock ([`OutputLock`]), repairs what an earlier run that
//! was killed left behind, and creates an empty staging folder beside the target. The stage writes
//! everything there; [`Staging::commit`] then replaces the target with it. A stage that fails (or
//! whose [`Staging`] is dropped without a commit) removes its staging folder and leaves the
//! previous results exactly as they were.
//!
//! The swap is two renames within one parent folder: target → `.NAME.sipas-old`, staging → target,
//! then the old folder is removed. A run killed between the two renames leaves no target but a
//! complete old folder, which the next [`Staging::begin`] (or [`recover`]) puts back; killed later,
//! the new folder is in place and the old one is removed next time. At every moment the target is
//! either the previous complete results or the new complete ones.
//!
//! Names beside the target `out/results`: `out/.results.sipas-lock` (the lock, kept),
//! `out/.results.sipas-staging-PID` and `out/.results.sipas-old`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// How a stage names the paths it works on inside a run's staging folder: as they will be after
/// the swap (`out/clean/…`, not `out/.run.sipas-staging-PID/clean/…`), so that reports and
/// quarantine rows name files that exist after the run and are the same bytes on every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownAs {
    /// The staging side (paths under it are renamed).
    pub from: PathBuf,
    /// What it becomes.
    pub to: PathBuf,
}

impl ShownAs {
    /// For a stage that writes `out` and shows it as `shown`: paths beside `out` (its parent,
    /// the run's staging folder) are named beside `shown`. `None` when they are the same folder
    /// (a stage run on its own).
    pub fn of_stage(out: &Path, shown: &Path) -> Option<Self> {
        out.parent()
            .zip(shown.parent())
            .filter(|(from, to)| from != to)
            .map(|(from, to)| ShownAs {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
            })
    }

    /// `path` as it is shown: under `to` when it is under `from`, else unchanged.
    pub fn path(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.from)
            .map_or_else(|_| path.to_path_buf(), |rest| self.to.join(rest))
    }
}

/// What can go wrong while staging a results folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StagingError {
    /// Another process is writing the same folder.
    #[error(
        "{} is being written by another sipas process ({holder}); wait for it to finish, or write elsewhere with --out",
        target.display()
    )]
    Locked {
        /// The results folder.
        target: PathBuf,
        /// What the lock file says of its holder: `pid 1234: sipas aggregate …`.
        holder: String,
    },
    /// The target has no folder name of its own (`.`, `..`, `/`): replacing it whole would
    /// replace the folder it names, with everything else in it.
    #[error(
        "{} cannot be a results folder: it is replaced whole, so name a folder of its own (e.g. {}/out)",
        target.display(), target.display()
    )]
    BadTarget {
        /// The folder given.
        target: PathBuf,
    },
    /// A file operation failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done ("cannot create", "cannot rename", …).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, StagingError>;

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StagingError + 'a {
    move |source| StagingError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The parent folder and the file name of `target` (`out/results` → `out`, `results`).
fn split(target: &Path) -> (PathBuf, String) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map_or_else(
        || "results".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    (parent, name)
}

/// The lock file of `target`.
pub fn lock_path(target: &Path) -> PathBuf {
    let (parent, name) = split(target);
    parent.join(format!(".{name}.sipas-lock"))
}

fn old_path(target: &Path) -> PathBuf {
    let (parent, name) = split(target);
    parent.join(format!(".{name}.sipas-old"))
}

fn staging_prefix(target: &Path) -> (PathBuf, String) {
    let (parent, name) = split(target);
    (parent, format!(".{name}.sipas-staging-"))
}

/// An advisory lock on a results folder: one writer at a time. Held until dropped; the lock file
/// stays (empty of meaning once unlocked) so that locking never races with its creation.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
}

impl OutputLock {
    /// Takes the lock of `target`, writing `command` and this process's id into the lock file; a
    /// second writer gets [`StagingError::Locked`] at once, naming the holder.
    pub fn acquire(target: &Path, command: &str) -> Result<OutputLock> {
        let (parent, _) = split(target);
        fs::create_dir_all(&parent).map_err(io_err("cannot create folder", &parent))?;
        let path = lock_path(target);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("cannot open lock file", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(StagingError::Locked {
                    target: target.to_path_buf(),
                    holder: if holder.is_empty() {
                        "holder unknown".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", &path)(e)),
        }
        let write = |f: &mut File| -> io::Result<()> {
            f.set_len(0)?;
            f.rewind()?;
            writeln!(f, "pid {}: {command}", std::process::id())?;
            f.sync_all()
        };
        write(&mut file).map_err(io_err("cannot write lock file", &path))?;
        Ok(OutputLock { file })
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Repairs what a killed run left beside `target`: puts a complete old folder back where the
/// target is missing, removes an old folder where the target is present, and removes every
/// staging folder. Call it only while holding the target's [`OutputLock`] (as
/// [`Staging::begin`] does). Returns the paths removed or restored.
pub fn recover(target: &Path) -> Result<Vec<PathBuf>> {
    let mut touched = Vec::new();
    let old = old_path(target);
    if old.is_dir() {
        if target.exists() {
            fs::remove_dir_all(&old).map_err(io_err("cannot remove", &old))?;
        } else {
            fs::rename(&old, target).map_err(io_err("cannot restore", &old))?;
        }
        touched.push(old);
    }
    let (parent, prefix) = staging_prefix(target);
    if let Ok(entries) = fs::read_dir(&parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let p = e.path();
                fs::remove_dir_all(&p).map_err(io_err("cannot remove", &p))?;
                touched.push(p);
            }
        }
    }
    Ok(touched)
}

/// A results folder being written: a staging folder beside the target, under the target's lock.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
    recovered: Vec<PathBuf>,
    committed: bool,
    _lock: OutputLock,
}

impl Staging {
    /// Locks `target`, repairs what a killed run left ([`recover`]) and creates an empty staging
    /// folder beside it.
    pub fn begin(target: &Path, command: &str) -> Result<Staging> {
        if !matches!(
            target.components().next_back(),
            Some(std::path::Component::Normal(_))
        ) {
            return Err(StagingError::BadTarget {
                target: target.to_path_buf(),
            });
        }
        let lock = OutputLock::acquire(target, command)?;
        let recovered = recover(target)?;
        let (parent, prefix) = staging_prefix(target);
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        fs::create_dir(&dir).map_err(io_err("cannot create folder", &dir))?;
        Ok(Staging {
            target: target.to_path_buf(),
            dir,
            recovered,
            committed: false,
            _lock: lock,
        })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The results folder this replaces.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// What [`recover`] repaired when this staging began (stale folders of a killed run).
    pub fn recovered(&self) -> &[PathBuf] {
        &self.recovered
    }

    /// Replaces the target with the staged folder, whole.
    pub fn commit(mut self) -> Result<()> {
        sync_tree(&self.dir).map_err(io_err("cannot sync", &self.dir))?;
        swap(&self.dir, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

/// Renames `dir` to `target`, keeping the previous target aside until the new one is in place
/// and putting it back if the rename fails.
fn swap(dir: &Path, target: &Path) -> Result<()> {
    let old = old_path(target);
    let had_target = target.exists();
    if had_target {
        fs::rename(target, &old).map_err(io_err("cannot move aside", target))?;
    }
    if let Err(e) = fs::rename(dir, target) {
        // The target is never left missing by a failed swap.
        if had_target {
            let _ = fs::rename(&old, target);
        }
        return Err(io_err("cannot rename", dir)(e));
    }
    let (parent, _) = split(target);
    if let Ok(d) = File::open(&parent) {
        let _ = d.sync_all();
    }
    if had_target {
        fs::remove_dir_all(&old).map_err(io_err("cannot remove", &old))?;
    }
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Syncs every file under `dir` to disk, so that the rename publishes complete files.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            sync_tree(&p)?;
        } else {
            File::open(&p)?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn staged_paths_are_shown_as_after_the_swap() {
        let staged = Path::new("out/.out.sipas-staging-7");
        let s = ShownAs::of_stage(&staged.join("results"), Path::new("out/results")).unwrap();
        assert_eq!(
            s.path(&staged.join("clean")),
            Path::new("out").join("clean")
        );
        // Outside the staging folder: unchanged.
        assert_eq!(s.path(Path::new("data/x.csv")), Path::new("data/x.csv"));
        // A stage run on its own writes where it is shown: nothing to rename.
        assert_eq!(
            ShownAs::of_stage(Path::new("out/results"), Path::new("out/results")),
            None
        );
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_the_folder_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("results");
        fs::create_dir(&target).unwrap();
        write(&target, "a.csv", "old a");
        write(&target, "stale.csv", "only in the old run");
        let s = Staging::begin(&target, "sipas test").unwrap();
        write(s.path(), "a.csv", "new a");
        // Until the commit the old results are untouched.
        assert_eq!(fs::read_to_string(target.join("a.csv")).unwrap(), "old a");
        s.commit().unwrap();
        assert_eq!(listing(&target), ["a.csv"]);
        assert_eq!(fs::read_to_string(target.join("a.csv")).unwrap(), "new a");
        assert_eq!(listing(tmp.path()), [".results.sipas-lock", "results"]);
    }

    #[test]
    fn a_failed_stage_leaves_the_old_results_and_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("results");
        fs::create_dir(&target).unwrap();
        write(&target, "a.csv", "old");
        {
            let s = Staging::begin(&target, "sipas test").unwrap();
            write(s.path(), "a.csv", "half");
            // dropped without commit: the stage failed
        }
        assert_eq!(listing(&target), ["a.csv"]);
        assert_eq!(fs::read_to_string(target.join("a.csv")).unwrap(), "old");
        assert_eq!(listing(tmp.path()), [".results.sipas-lock", "results"]);
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("results");
        let first = Staging::begin(&target, "sipas aggregate --out results").unwrap();
        let err = Staging::begin(&target, "sipas aggregate again").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StagingError::Locked { .. }), "{msg}");
        assert!(
            msg.contains(&format!(
                "pid {}: sipas aggregate --out results",
                std::process::id()
            )),
            "{msg}"
        );
        drop(first);
        // Released: the next writer goes ahead.
        Staging::begin(&target, "sipas aggregate again")
            .unwrap()
            .commit()
            .unwrap();
        assert!(target.is_dir());
    }

    #[test]
    fn what_a_killed_run_left_is_repaired_at_the_next_start() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("results");
        // Killed between the two renames: no target, a complete old folder, a staging folder.
        let old = tmp.path().join(".results.sipas-old");
        fs::create_dir(&old).unwrap();
        write(&old, "a.csv", "previous complete run");
        let stale = tmp.path().join(".results.sipas-staging-999999");
        fs::create_dir(&stale).unwrap();
        write(&stale, "a.csv", "half written");
        let restored = recover(&target).unwrap();
        assert_eq!(restored.len(), 2);
        assert_eq!(
            fs::read_to_string(target.join("a.csv")).unwrap(),
            "previous complete run"
        );
        assert_eq!(listing(tmp.path()), ["results"]);

        // Killed after the second rename: the target is new, the old folder is removed.
        fs::create_dir(&old).unwrap();
        write(&old, "a.csv", "older");
        let s = Staging::begin(&target, "sipas test").unwrap();
        assert_eq!(s.recovered(), std::slice::from_ref(&old));
        drop(s);
        assert!(!old.exists());
        assert_eq!(
            fs::read_to_string(target.join("a.csv")).unwrap(),
            "previous complete run"
        );
    }

    #[test]
    fn a_failed_swap_puts_the_old_results_back() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("results");
        fs::create_dir(&target).unwrap();
        write(&target, "a.csv", "old");
        // The staged folder vanished (e.g. removed by hand): the second rename fails.
        let err = swap(&tmp.path().join(".results.sipas-staging-1"), &target).unwrap_err();
        assert!(err.to_string().starts_with("cannot rename"), "{err}");
        assert_eq!(fs::read_to_string(target.join("a.csv")).unwrap(), "old");
        assert_eq!(listing(tmp.path()), ["results"]);
    }

    #[test]
    fn a_folder_without_a_name_of_its_own_is_refused() {
        for t in [".", "..", "out/..", "/"] {
            let err = Staging::begin(Path::new(t), "sipas test").unwrap_err();
            assert!(matches!(err, StagingError::BadTarget { .. }), "{t}: {err}");
        }
    }

    #[test]
    fn a_first_run_creates_the_parent_and_the_target() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("new/deeper/results");
        let s = Staging::begin(&target, "sipas test").unwrap();
        fs::create_dir(s.path().join("sub")).unwrap();
        write(&s.path().join("sub"), "x.csv", "x");
        s.commit().unwrap();
        assert_eq!(fs::read_to_string(target.join("sub/x.csv")).unwrap(), "x");
    }
}
