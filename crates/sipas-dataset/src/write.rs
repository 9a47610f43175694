//! Writing the response table in either layout, atomically.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{io, pe};
use crate::parquet::ParquetOut;
use crate::{Error, Layout, RESPONSES_DIR, RESPONSES_FILE, ROW_GROUP_ROWS, Result, SCHEMA_FILE};

const PERIOD: &str = sipas_core::schema::PERIOD;

/// Whether column `name` is stored PLAIN and uncompressed instead of
/// dictionary-encoded with zstd (every other column).
///
/// Only the satisfied-mask column of a clean table
/// ([`sipas_core::schema::mask_columns`]): its bits are close to random, so
/// zstd keeps about two thirds of its bytes while decoding it took most of
/// `sipas aggregate`'s read time (0.71 → 0.32 s for 10⁷ rows; the clean
/// table is 18 % larger; benches/README.md, "Issue 18, stop 36"). Plain uncompressed
/// INT64 is the simplest Parquet column: every engine reads it.
pub fn stored_plain(name: &str) -> bool {
    name.strip_prefix(sipas_core::schema::MASK_PREFIX)
        .is_some_and(|rest| rest.starts_with("satisfied_"))
}

fn parquet_writer(file: File, schema: &Schema, path: &Path) -> Result<ParquetOut<File>> {
    ParquetOut::new(file, schema, stored_plain).map_err(pe(path))
}

fn write_slices(w: &mut ParquetOut<File>, df: &DataFrame, path: &Path) -> Result<()> {
    let mut start = 0;
    while start < df.height() {
        let len = ROW_GROUP_ROWS.min(df.height() - start);
        let mut part = df.slice(start as i64, len);
        part.rechunk_mut_par();
        w.write_batch(&part).map_err(pe(path))?;
        start += len;
    }
    Ok(())
}

fn close(w: ParquetOut<File>, file: &File, path: &Path) -> Result<()> {
    w.finish().map_err(pe(path))?;
    file.sync_all().map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io(path))?;
    }
    Ok(())
}

enum Inner {
    File {
        tmp: tempfile::NamedTempFile,
        writer: ParquetOut<File>,
    },
    ByPeriod {
        staging: tempfile::TempDir,
        file_schema: Schema,
        current: Option<(String, File, PathBuf, ParquetOut<File>)>,
    },
}

/// Writes a response table into an output folder in either [`Layout`],
/// period by period. Nothing is visible until [`DatasetWriter::finish`],
/// which replaces the folder's previous table (in either layout) at once.
/// Dropping the writer without finishing leaves the folder as it was.
pub struct DatasetWriter {
    dir: PathBuf,
    schema: Schema,
    inner: Inner,
    last_period: Option<String>,
    rows: u64,
}

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("dir", &self.dir)
            .field("rows", &self.rows)
            .field("last_period", &self.last_period)
            .finish_non_exhaustive()
    }
}

impl DatasetWriter {
    /// Starts a table with `schema` (which must have a `period` column) in
    /// `dir` (created if needed).
    pub fn create(dir: &Path, layout: Layout, schema: &Schema) -> Result<Self> {
        if !schema.contains(PERIOD) {
            return Err(Error::Layout {
                path: dir.to_path_buf(),
                message: format!("the table to write has no `{PERIOD}` column"),
            });
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let inner = match layout {
            Layout::File => {
                let tmp = tempfile::Builder::new()
                    .prefix(".sipas-responses-")
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .map_err(io(dir))?;
                let file = tmp.reopen().map_err(io(tmp.path()))?;
                let writer = parquet_writer(file, schema, tmp.path())?;
                Inner::File { tmp, writer }
            }
            Layout::ByPeriod => {
                let staging = tempfile::Builder::new()
                    .prefix(".sipas-responses-")
                    .suffix(".tmp")
                    .tempdir_in(dir)
                    .map_err(io(dir))?;
                let mut file_schema = schema.clone();
                file_schema.shift_remove(PERIOD);
                Inner::ByPeriod {
                    staging,
                    file_schema,
                    current: None,
                }
            }
        };
        Ok(DatasetWriter {
            dir: dir.to_path_buf(),
            schema: schema.clone(),
            inner,
            last_period: None,
            rows: 0,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends rows of `period` (every row of `df` must have that period).
    /// Periods must come in ascending text order; a period may be written
    /// in several calls in a row.
    pub fn write(&mut self, period: &str, df: &DataFrame) -> Result<()> {
        if df.schema().as_ref() != &self.schema {
            return Err(Error::Layout {
                path: self.dir.clone(),
                message: format!(
                    "rows of period {period} do not have the table's columns and types"
                ),
            });
        }
        if let Some(last) = &self.last_period
            && last.as_str() > period
        {
            return Err(Error::Layout {
                path: self.dir.clone(),
                message: format!("period {period} written after {last}"),
            });
        }
        self.last_period = Some(period.to_string());
        if df.height() == 0 {
            return Ok(());
        }
        self.rows += df.height() as u64;
        match &mut self.inner {
            Inner::File { tmp, writer } => write_slices(writer, df, tmp.path()),
            Inner::ByPeriod {
                staging,
                file_schema,
                current,
            } => {
                if current.as_ref().is_none_or(|c| c.0 != period) {
                    if let Some((_, file, path, w)) = current.take() {
                        close(w, &file, &path)?;
                    }
                    let folder = staging.path().join(crate::partition_dir(period));
                    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
                    let path = folder.join("part-00000.parquet");
                    let file = File::create(&path).map_err(io(&path))?;
                    let w =
                        parquet_writer(file.try_clone().map_err(io(&path))?, file_schema, &path)?;
                    *current = Some((period.to_string(), file, path, w));
                }
                let (_, _, path, w) = current.as_mut().expect("opened above");
                let body = df.drop(PERIOD).map_err(pe(path))?;
                write_slices(w, &body, path)
            }
        }
    }

    /// Finishes the files and puts the table in place of the folder's
    /// previous one (`responses.parquet` or `responses/`, whichever existed).
    pub fn finish(self) -> Result<PathBuf> {
        let dir = self.dir;
        let file_path = dir.join(RESPONSES_FILE);
        let dir_path = dir.join(RESPONSES_DIR);
        match self.inner {
            Inner::File { tmp, writer } => {
                close(writer, tmp.as_file(), tmp.path())?;
                tmp.persist(&file_path).map_err(|e| Error::Io {
                    path: file_path.clone(),
                    source: e.error,
                })?;
                remove_dir_if_exists(&dir_path)?;
                Ok(file_path)
            }
            Inner::ByPeriod {
                staging, current, ..
            } => {
                if let Some((_, file, path, w)) = current {
                    close(w, &file, &path)?;
                }
                let schema_path = staging.path().join(SCHEMA_FILE);
                let file = File::create(&schema_path).map_err(io(&schema_path))?;
                let w = parquet_writer(
                    file.try_clone().map_err(io(&schema_path))?,
                    &self.schema,
                    &schema_path,
                )?;
                close(w, &file, &schema_path)?;
                let staged = staging.keep();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755))
                        .map_err(io(&staged))?;
                }
                let old = if dir_path.exists() {
                    let old = dir.join(format!(
                        ".sipas-responses-old-{}",
                        staged
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ));
                    std::fs::rename(&dir_path, &old).map_err(io(&dir_path))?;
                    Some(old)
                } else {
                    None
                };
                std::fs::rename(&staged, &dir_path).map_err(io(&dir_path))?;
                if let Some(old) = old {
                    remove_dir_if_exists(&old)?;
                }
                if file_path.exists() {
                    std::fs::remove_file(&file_path).map_err(io(&file_path))?;
                }
                Ok(dir_path)
            }
        }
    }
}

fn remove_dir_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}
