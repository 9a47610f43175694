//! Atomic file writes: every output of sipas is written to a temporary file in
//! the destination folder, flushed to disk, then renamed over the target, so a
//! run killed half way never leaves a truncated table or chart behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::direct::DirectWriter;

/// Writes `path` atomically: `f` fills a temporary file in the same folder,
/// which is synced, given mode 0644 (on Unix) and renamed to `path`. On error
/// the temporary file is removed and `path` is left as it was.
pub fn write_with<F>(path: &Path, f: F) -> io::Result<()>
where
    F: FnOnce(&mut File) -> io::Result<()>,
{
    let mut out = AtomicFile::create(path)?;
    f(out.file())?;
    out.commit()
}

/// Writes `path` atomically as [`write_with`] does, its bytes past the page cache:
/// `f` writes them through a [`DirectWriter`] (see [`crate::direct`]), which hashes them on
/// the way ([`crate::direct::written`]).
///
/// # Errors
/// The error of `f` or of writing the file; `path` is then left as it was.
pub fn write_direct_with<F>(path: &Path, f: F) -> io::Result<()>
where
    F: FnOnce(&mut DirectWriter) -> io::Result<()>,
{
    let mut out = DirectFile::create(path)?;
    f(out.writer())?;
    out.commit()
}

/// A file written atomically past the page cache: an [`AtomicFile`] filled through a
/// [`DirectWriter`]. [`DirectFile::commit`] writes the last bytes, commits the file and
/// remembers its size and hash ([`crate::direct::written`]); dropped without a commit, the
/// temporary file is removed.
#[derive(Debug)]
pub struct DirectFile {
    // Dropped first: the writer thread ends before the temporary file is removed.
    out: DirectWriter,
    file: AtomicFile,
}

impl DirectFile {
    /// Starts `path`.
    ///
    /// # Errors
    /// The I/O error of creating the temporary file or starting the writer.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = AtomicFile::create(path)?;
        let out = DirectWriter::new(file.handle()?, file.temp_path())?;
        Ok(DirectFile { out, file })
    }

    /// The writer of the file's bytes.
    pub fn writer(&mut self) -> &mut DirectWriter {
        &mut self.out
    }

    /// Writes the last bytes, commits the file ([`AtomicFile::commit`]) and remembers it.
    ///
    /// # Errors
    /// The I/O error of any write or of the commit (the temporary file is then removed).
    pub fn commit(self) -> io::Result<()> {
        let written = self.out.finish()?;
        let path = self.file.path.clone();
        self.file.commit()?;
        crate::direct::remember(&path, &written);
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A file written atomically by parts (see [`write_with`]): filled through
/// [`AtomicFile::file`] (or a handle of [`AtomicFile::handle`]), then
/// [`AtomicFile::commit`]ted. Dropped without a commit, its temporary file is
/// removed and `path` is left as it was.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl AtomicFile {
    /// Starts `path`: a temporary file in its folder.
    ///
    /// # Errors
    /// The I/O error of creating the temporary file.
    pub fn create(path: &Path) -> io::Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".sipas-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The temporary file's path (to open it again, as [`DirectWriter::new`] does).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// A second handle on the temporary file (the same file and position), for a writer
    /// that owns its output.
    ///
    /// # Errors
    /// The I/O error of duplicating the handle.
    pub fn handle(&self) -> io::Result<File> {
        self.tmp.as_file().try_clone()
    }

    /// Syncs the temporary file, gives it mode 0644 (on Unix) and renames it to `path`.
    ///
    /// # Errors
    /// The I/O error of any of these steps (the temporary file is then removed).
    pub fn commit(mut self) -> io::Result<()> {
        self.tmp.as_file_mut().flush()?;
        self.tmp.as_file().sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically (see [`write_with`]).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_bytes(&p, b"a\n").unwrap();
        write_bytes(&p, b"b\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
    }

    #[test]
    fn a_failing_writer_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_bytes(&p, b"old").unwrap();
        let err = write_with(&p, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Written through a second handle, the file appears whole at its commit; dropped without
    /// one, it never appears and no temporary file is left.
    #[test]
    fn a_file_by_parts_appears_at_its_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let mut out = AtomicFile::create(&p).unwrap();
        out.file().write_all(b"ab").unwrap();
        out.handle().unwrap().write_all(b"cd").unwrap();
        assert!(!p.exists());
        out.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abcd");
        let mut dropped = AtomicFile::create(&dir.path().join("u.parquet")).unwrap();
        dropped.file().write_all(b"partial").unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
