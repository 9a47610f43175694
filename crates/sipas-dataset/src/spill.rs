//! Partitioning rows by a key into temporary Parquet files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

use crate::Result;
use crate::error::{io, pe};

/// Rows buffered per key before they are written as one row group.
const BUFFER_ROWS: usize = 1 << 16;

struct Bucket {
    path: PathBuf,
    writer: BatchedWriter<File>,
    buffer: Vec<DataFrame>,
    buffered: usize,
    rows: u64,
}

impl Bucket {
    fn flush(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut parts = std::mem::take(&mut self.buffer).into_iter();
        let mut df = parts.next().expect("buffered rows");
        for p in parts {
            df.vstack_mut_owned(p).map_err(pe(&self.path))?;
        }
        df.rechunk_mut();
        self.writer.write_batch(&df).map_err(pe(&self.path))?;
        self.buffered = 0;
        Ok(())
    }
}

/// Rows partitioned by a key `K` into temporary Parquet files (LZ4, in a
/// temporary folder that is removed when the [`Spilled`] is dropped), so
/// that a stage can hold one partition at a time. Memory: at most 65,536
/// buffered rows per key.
pub struct Spill<K: Ord + Clone> {
    dir: tempfile::TempDir,
    schema: Schema,
    buckets: BTreeMap<K, Bucket>,
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
        })
    }

    /// Appends all rows of `df` under `key`.
    pub fn push(&mut self, key: &K, df: DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        if !self.buckets.contains_key(key) {
            let path = self
                .dir
                .path()
                .join(format!("part-{:06}.parquet", self.buckets.len()));
            let file = File::create(&path).map_err(io(&path))?;
            let writer = ParquetWriter::new(file)
                .with_compression(ParquetCompression::Lz4Raw)
                // Read back whole by this process only: no statistics.
                .with_statistics(StatisticsOptions {
                    min_value: false,
                    max_value: false,
                    distinct_count: false,
                    null_count: false,
                    binary_statistics_truncate_length: None,
                })
                .batched(&self.schema)
                .map_err(pe(&path))?;
            self.buckets.insert(
                key.clone(),
                Bucket {
                    path,
                    writer,
                    buffer: Vec::new(),
                    buffered: 0,
                    rows: 0,
                },
            );
        }
        let b = self.buckets.get_mut(key).expect("inserted above");
        b.rows += df.height() as u64;
        b.buffered += df.height();
        b.buffer.push(df);
        if b.buffered >= BUFFER_ROWS {
            b.flush()?;
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

    /// Writes the buffered rows and closes the files.
    pub fn finish(self) -> Result<Spilled<K>> {
        let mut parts = BTreeMap::new();
        for (k, mut b) in self.buckets {
            b.flush()?;
            b.writer.finish().map_err(pe(&b.path))?;
            parts.insert(k, (b.path, b.rows));
        }
        Ok(Spilled {
            _dir: self.dir,
            schema: self.schema,
            parts,
        })
    }
}

/// The closed partitions of a [`Spill`].
#[derive(Debug)]
pub struct Spilled<K: Ord> {
    _dir: tempfile::TempDir,
    schema: Schema,
    parts: BTreeMap<K, (PathBuf, u64)>,
}

impl<K: Ord + Clone> Spilled<K> {
    /// The keys that received rows, in order.
    pub fn keys(&self) -> Vec<K> {
        self.parts.keys().cloned().collect()
    }

    /// Rows under `key` (0 if none).
    pub fn rows(&self, key: &K) -> u64 {
        self.parts.get(key).map_or(0, |p| p.1)
    }

    /// Reads the rows under `key` (in the order pushed) and deletes their
    /// file; an unknown key gives an empty frame.
    pub fn take(&mut self, key: &K) -> Result<DataFrame> {
        let Some((path, _)) = self.parts.remove(key) else {
            return Ok(DataFrame::empty_with_schema(&self.schema));
        };
        let f = File::open(&path).map_err(io(&path))?;
        let mut df = ParquetReader::new(f).finish().map_err(pe(&path))?;
        df.rechunk_mut_par();
        std::fs::remove_file(&path).map_err(io(&path))?;
        Ok(df)
    }
}
