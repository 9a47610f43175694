//! Partitioning rows by a key into temporary Parquet files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::parquet::ParquetOut;
use polars::prelude::*;

use crate::Result;
use crate::error::{io, pe};

/// Rows buffered per key before they are written as one row group.
const BUFFER_ROWS: usize = 1 << 16;

struct Bucket {
    /// The bucket's file, once some of its rows were written.
    file: Option<(PathBuf, ParquetOut<File>)>,
    /// Rows not yet written, in the order pushed (after the file's rows).
    buffer: Vec<DataFrame>,
    buffered: usize,
    /// Estimated heap size of `buffer` while the bucket has no file.
    bytes: usize,
    rows: u64,
}

impl Bucket {
    /// Writes the buffered rows to the bucket's file (created in `dir` as
    /// `part-{files:06}.parquet` on the first write, counting `files` up).
    fn flush(&mut self, dir: &Path, files: &mut usize, schema: &Schema) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        if self.file.is_none() {
            let path = dir.join(format!("part-{files:06}.parquet"));
            *files += 1;
            let file = File::create(&path).map_err(io(&path))?;
            // Read back whole by this process only: plain pages, no statistics.
            let writer = ParquetOut::scratch(file, schema).map_err(pe(&path))?;
            self.file = Some((path, writer));
        }
        let (path, writer) = self.file.as_mut().expect("created above");
        let df = concat(std::mem::take(&mut self.buffer), path)?;
        writer.write_batch(&df).map_err(pe(path))?;
        self.buffered = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// The frames stacked into one frame of one chunk.
fn concat(frames: Vec<DataFrame>, origin: &Path) -> Result<DataFrame> {
    let mut df = crate::stack(frames)
        .map_err(pe(origin))?
        .expect("at least one frame");
    df.rechunk_mut_par();
    Ok(df)
}

/// Rows partitioned by a key `K`, held in memory up to a budget and beyond
/// it in temporary Parquet files (LZ4, in a temporary folder that is
/// removed when the [`Spilled`] is dropped), so that a stage can hold one
/// partition at a time. Memory: the budget ([`Spill::with_memory`], none
/// by default) plus, for each key written out, at most 65,536 buffered rows.
pub struct Spill<K: Ord + Clone> {
    dir: tempfile::TempDir,
    schema: Schema,
    buckets: BTreeMap<K, Bucket>,
    /// Bytes of rows kept in memory before buckets are written out.
    budget: usize,
    /// Estimated bytes of the rows held in all buckets' buffers.
    held: usize,
    /// Files created so far.
    files: usize,
}

impl<K: Ord + Clone> std::fmt::Debug for Spill<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("dir", &self.dir.path())
            .field("keys", &self.buckets.len())
            .finish_non_exhaustive()
    }
}

impl<K: Ord + Clone> Spill<K> {
    /// A spill of rows with `schema`, in a temporary folder inside `parent`
    /// (use the output folder: the spill can be as large as the table).
    pub fn new_in(parent: &Path, schema: &Schema) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let dir = tempfile::Builder::new()
            .prefix(".sipas-spill-")
            .tempdir_in(parent)
            .map_err(io(parent))?;
        Ok(Spill {
            dir,
            schema: schema.clone(),
            buckets: BTreeMap::new(),
            budget: 0,
            held: 0,
            files: 0,
        })
    }

    /// Keeps rows in memory, unwritten, while their estimated size stays
    /// within `bytes`; past it, the key holding the most is written out (and
    /// from then on written every 65,536 rows). What is read back is the
    /// same either way.
    #[must_use]
    pub fn with_memory(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// Appends all rows of `df` under `key`.
    pub fn push(&mut self, key: &K, df: DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let b = self.buckets.entry(key.clone()).or_insert_with(|| Bucket {
            file: None,
            buffer: Vec::new(),
            buffered: 0,
            bytes: 0,
            rows: 0,
        });
        let bytes = df.estimated_size();
        b.rows += df.height() as u64;
        b.buffered += df.height();
        b.buffer.push(df);
        if b.file.is_some() {
            // On disk already: written in row groups of `BUFFER_ROWS`.
            if b.buffered >= BUFFER_ROWS {
                b.flush(self.dir.path(), &mut self.files, &self.schema)?;
            }
            return Ok(());
        }
        b.bytes += bytes;
        self.held += bytes;
        // Past the budget, the bucket held in memory with the most bytes
        // goes to disk.
        while self.held > self.budget {
            let Some((k, _)) = self
                .buckets
                .iter()
                .filter(|(_, b)| b.file.is_none() && b.buffered > 0)
                .max_by_key(|(_, b)| b.bytes)
            else {
                break;
            };
            let k = k.clone();
            let b = self.buckets.get_mut(&k).expect("found above");
            self.held -= b.bytes;
            b.flush(self.dir.path(), &mut self.files, &self.schema)?;
        }
        Ok(())
    }

    /// Appends each row of `df` under its key (`keys[i]` for row `i`),
    /// keeping the rows' order within a key.
    pub fn push_by(&mut self, df: &DataFrame, keys: &[K]) -> Result<()> {
        assert_eq!(df.height(), keys.len(), "one key per row");
        let mut rows: BTreeMap<&K, Vec<IdxSize>> = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            rows.entry(k).or_default().push(i as IdxSize);
        }
        if rows.len() == 1 {
            return self.push(&keys[0], df.clone());
        }
        for (k, idx) in rows {
            let idx = IdxCa::from_vec(PlSmallStr::EMPTY, idx);
            let part = df.take(&idx).map_err(pe(self.dir.path()))?;
            self.push(k, part)?;
        }
        Ok(())
    }

    /// Closes the files; rows still in memory stay there.
    pub fn finish(self) -> Result<Spilled<K>> {
        let mut parts = BTreeMap::new();
        for (k, b) in self.buckets {
            let file = match b.file {
                Some((path, mut writer)) => {
                    // Rows pushed after the last write go to the file too,
                    // so that the file's rows come first.
                    if b.buffered > 0 {
                        let df = concat(b.buffer, &path)?;
                        writer.write_batch(&df).map_err(pe(&path))?;
                    }
                    writer.finish().map_err(pe(&path))?;
                    Part::File(path)
                }
                None => Part::Memory(b.buffer),
            };
            parts.insert(k, (file, b.rows));
        }
        Ok(Spilled {
            dir: self.dir,
            schema: self.schema,
            parts,
        })
    }
}

/// Where a key's rows are.
#[derive(Debug)]
enum Part {
    File(PathBuf),
    Memory(Vec<DataFrame>),
}

/// The closed partitions of a [`Spill`].
#[derive(Debug)]
pub struct Spilled<K: Ord> {
    dir: tempfile::TempDir,
    schema: Schema,
    parts: BTreeMap<K, (Part, u64)>,
}

impl<K: Ord + Clone> Spilled<K> {
    /// The keys that received rows, in order.
    pub fn keys(&self) -> Vec<K> {
        self.parts.keys().cloned().collect()
    }

    /// The schema of the rows.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Rows under `key` (0 if none).
    pub fn rows(&self, key: &K) -> u64 {
        self.parts.get(key).map_or(0, |p| p.1)
    }

    /// Keys whose rows were written to disk (the others stayed in memory).
    pub fn written(&self) -> usize {
        self.parts
            .values()
            .filter(|p| matches!(p.0, Part::File(_)))
            .count()
    }

    /// The column `name` of the rows under `key`, in the order pushed
    /// (nothing else is read; the rows stay). An unknown key gives an empty
    /// column.
    pub fn column(&self, key: &K, name: &str) -> Result<Column> {
        match self.parts.get(key) {
            None => Ok(DataFrame::empty_with_schema(&self.schema)
                .column(name)
                .map_err(pe(self.dir.path()))?
                .clone()),
            Some((Part::Memory(frames), _)) => {
                let mut cols = frames.iter().map(|f| f.column(name));
                let mut col = cols
                    .next()
                    .expect("a key in memory has a frame")
                    .map_err(pe(self.dir.path()))?
                    .clone();
                for c in cols {
                    col.append(c.map_err(pe(self.dir.path()))?)
                        .map_err(pe(self.dir.path()))?;
                }
                Ok(col)
            }
            Some((Part::File(path), _)) => {
                let f = File::open(path).map_err(io(path))?;
                let df = ParquetReader::new(f)
                    .with_columns(Some(vec![name.to_string()]))
                    .finish()
                    .map_err(pe(path))?;
                df.column(name).cloned().map_err(pe(path))
            }
        }
    }

    /// The sizes of the row groups of `key`'s file, in order (they add up to
    /// its rows); `None` when its rows are in memory or the key is unknown.
    pub fn row_groups(&self, key: &K) -> Result<Option<Vec<usize>>> {
        match self.parts.get(key) {
            Some((Part::File(path), _)) => {
                let f = File::open(path).map_err(io(path))?;
                let meta = ParquetReader::new(f)
                    .get_metadata()
                    .map_err(pe(path))?
                    .clone();
                let mut groups = Vec::with_capacity(meta.row_groups.len());
                for g in &meta.row_groups {
                    groups.push(g.num_rows());
                }
                Ok(Some(groups))
            }
            _ => Ok(None),
        }
    }

    /// Rows `offset..offset + len` of the rows under `key` (in the order
    /// pushed; fewer past the end). Only the row groups holding them are
    /// read from a file.
    pub fn slice(&self, key: &K, offset: usize, len: usize) -> Result<DataFrame> {
        match self.parts.get(key) {
            None => Ok(DataFrame::empty_with_schema(&self.schema)),
            Some((Part::Memory(frames), _)) => {
                let mut parts = Vec::new();
                let mut at = 0;
                for f in frames {
                    let (lo, hi) = (offset.max(at), (offset + len).min(at + f.height()));
                    if lo < hi {
                        parts.push(f.slice((lo - at) as i64, hi - lo));
                    }
                    at += f.height();
                }
                Ok(crate::stack(parts)
                    .map_err(pe(self.dir.path()))?
                    .unwrap_or_else(|| DataFrame::empty_with_schema(&self.schema)))
            }
            Some((Part::File(path), _)) => {
                let f = File::open(path).map_err(io(path))?;
                ParquetReader::new(f)
                    .with_slice(Some((offset, len)))
                    .finish()
                    .map_err(pe(path))
            }
        }
    }

    /// Forgets the rows under `key`, deleting their file if any.
    pub fn remove(&mut self, key: &K) -> Result<()> {
        if let Some((Part::File(path), _)) = self.parts.remove(key) {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// The rows under `key` (in the order pushed), as one chunk; their file,
    /// if any, is deleted. An unknown key gives an empty frame.
    pub fn take(&mut self, key: &K) -> Result<DataFrame> {
        match self.parts.remove(key) {
            None => Ok(DataFrame::empty_with_schema(&self.schema)),
            Some((Part::Memory(frames), _)) => concat(frames, self.dir.path()),
            Some((Part::File(path), _)) => {
                let f = File::open(&path).map_err(io(&path))?;
                let mut df = ParquetReader::new(f).finish().map_err(pe(&path))?;
                df.rechunk_mut_par();
                std::fs::remove_file(&path).map_err(io(&path))?;
                Ok(df)
            }
        }
    }
}
