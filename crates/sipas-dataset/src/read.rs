//! Finding a response table in either layout and reading it in chunks.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{io, pe};
use crate::{Error, Layout, RESPONSES_DIR, RESPONSES_FILE, Result, SCHEMA_FILE};

const PERIOD: &str = sipas_core::schema::PERIOD;

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The file.
    pub path: PathBuf,
    /// The period of its partition folder ([`Layout::ByPeriod`]); `None` in
    /// the single-file layout, where `period` is a column of the file.
    pub period: Option<String>,
    /// Rows in the file (from its footer).
    pub rows: usize,
    /// Rows of each row group, in order (from the footer).
    pub row_groups: Vec<usize>,
}

/// A response table on disk, in either [`Layout`].
#[derive(Debug, Clone)]
pub struct Dataset {
    path: PathBuf,
    layout: Layout,
    parts: Vec<Part>,
    schema: Schema,
}

/// Rows `offset .. offset + df.height()` of part `part` of a [`Dataset`].
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The rows, with the requested columns in the table's order.
    pub df: DataFrame,
    /// Index of the part in [`Dataset::parts`].
    pub part: usize,
    /// Index of the chunk's first row within its part.
    pub offset: usize,
    /// Index of the chunk's first row in the whole table (parts in order).
    pub ordinal: u64,
}

/// Where a chunk lies: see [`Dataset::chunk_specs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpec {
    /// Index of the part in [`Dataset::parts`].
    pub part: usize,
    /// Index of the chunk's first row within its part.
    pub offset: usize,
    /// Rows in the chunk.
    pub len: usize,
    /// Index of the chunk's first row in the whole table (parts in order).
    pub ordinal: u64,
}

/// Rows, row-group sizes and schema of a Parquet file, from its footer.
fn file_rows_and_schema(path: &Path) -> Result<(usize, Vec<usize>, Schema)> {
    let f = File::open(path).map_err(io(path))?;
    let mut reader = ParquetReader::new(f);
    let meta = reader.get_metadata().map_err(pe(path))?;
    let rows = meta.num_rows;
    let mut groups = Vec::with_capacity(meta.row_groups.len());
    for g in &meta.row_groups {
        groups.push(g.num_rows());
    }
    let df = reader.with_slice(Some((0, 0))).finish().map_err(pe(path))?;
    Ok((rows, groups, df.schema().as_ref().clone()))
}

/// The (offset, len) slices a part is read in: whole row groups together
/// while they fit in `chunk_rows` (so no row group is decoded twice), a row
/// group larger than `chunk_rows` in slices of `chunk_rows`.
pub(crate) fn plan(part: &Part, chunk_rows: usize) -> Vec<(usize, usize)> {
    let mut groups = part.row_groups.clone();
    if groups.iter().sum::<usize>() != part.rows {
        groups = vec![part.rows];
    }
    let mut out = Vec::new();
    let (mut start, mut len) = (0usize, 0usize);
    for g in groups {
        if len > 0 && len + g > chunk_rows {
            out.push((start, len));
            start += len;
            len = 0;
        }
        if g > chunk_rows {
            let mut done = 0;
            while done < g {
                let n = chunk_rows.min(g - done);
                out.push((start, n));
                start += n;
                done += n;
            }
        } else {
            len += g;
        }
    }
    if len > 0 {
        out.push((start, len));
    }
    out
}

fn is_partition_dir(name: &str) -> bool {
    name.strip_prefix(PERIOD)
        .and_then(|r| r.strip_prefix('='))
        .is_some_and(|p| !p.is_empty())
}

fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        out.push((name, e.path()));
    }
    out.sort();
    Ok(out)
}

impl Dataset {
    /// Opens a response table. `path` may be a Parquet file, a folder
    /// holding `responses.parquet` or `responses/` (an output folder of
    /// ingest or clean), or a partitioned `responses/` folder itself. A
    /// folder holding both layouts is an error (which one is current?).
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_file() {
            let (rows, row_groups, schema) = file_rows_and_schema(path)?;
            return Ok(Dataset {
                path: path.to_path_buf(),
                layout: Layout::File,
                parts: vec![Part {
                    path: path.to_path_buf(),
                    period: None,
                    rows,
                    row_groups,
                }],
                schema,
            });
        }
        if !path.is_dir() {
            return Err(Error::Layout {
                path: path.to_path_buf(),
                message: "no such file or folder".into(),
            });
        }
        let file = path.join(RESPONSES_FILE);
        let dir = path.join(RESPONSES_DIR);
        match (file.is_file(), dir.is_dir()) {
            (true, true) => Err(Error::Layout {
                path: path.to_path_buf(),
                message: format!(
                    "holds both {RESPONSES_FILE} and {RESPONSES_DIR}/; remove the stale one"
                ),
            }),
            (true, false) => Self::open(&file),
            (false, true) => Self::open_partitioned(&dir),
            (false, false) => {
                let looks_partitioned = path.join(SCHEMA_FILE).is_file()
                    || sorted_entries(path)?
                        .iter()
                        .any(|(n, p)| is_partition_dir(n) && p.is_dir());
                if looks_partitioned {
                    Self::open_partitioned(path)
                } else {
                    Err(Error::Layout {
                        path: path.to_path_buf(),
                        message: format!(
                            "no response table: expected {RESPONSES_FILE} or a {RESPONSES_DIR}/ folder partitioned by period"
                        ),
                    })
                }
            }
        }
    }

    fn open_partitioned(dir: &Path) -> Result<Self> {
        let mut parts = Vec::new();
        let mut first_schema = None;
        for (name, p) in sorted_entries(dir)? {
            if !p.is_dir() {
                continue;
            }
            if !is_partition_dir(&name) {
                if name.starts_with('_') || name.starts_with('.') {
                    continue;
                }
                return Err(Error::Layout {
                    path: p,
                    message: format!("not a partition folder (expected `{PERIOD}=…`)"),
                });
            }
            let period = name[PERIOD.len() + 1..].to_string();
            for (fname, f) in sorted_entries(&p)? {
                if !f.is_file()
                    || fname.starts_with('_')
                    || fname.starts_with('.')
                    || !fname.ends_with(".parquet")
                {
                    continue;
                }
                let (rows, row_groups, schema) = file_rows_and_schema(&f)?;
                if schema.contains(PERIOD) {
                    return Err(Error::Layout {
                        path: f,
                        message: format!(
                            "a partition file carries a `{PERIOD}` column; the folder name holds it"
                        ),
                    });
                }
                if first_schema.is_none() {
                    first_schema = Some(schema);
                }
                parts.push(Part {
                    path: f,
                    period: Some(period.clone()),
                    rows,
                    row_groups,
                });
            }
        }
        let schema_file = dir.join(SCHEMA_FILE);
        let schema = if schema_file.is_file() {
            file_rows_and_schema(&schema_file)?.2
        } else if let Some(s) = first_schema {
            // Written by another engine: put `period` after `unit_code`.
            let mut names: Vec<(PlSmallStr, DataType)> =
                s.iter().map(|(n, d)| (n.clone(), d.clone())).collect();
            let at = names
                .iter()
                .position(|(n, _)| n.as_str() == sipas_core::schema::UNIT_CODE)
                .map_or(names.len(), |i| i + 1);
            names.insert(at, (PERIOD.into(), DataType::String));
            names.into_iter().collect()
        } else {
            return Err(Error::Layout {
                path: dir.to_path_buf(),
                message: format!("no partitions and no {SCHEMA_FILE}"),
            });
        };
        Ok(Dataset {
            path: dir.to_path_buf(),
            layout: Layout::ByPeriod,
            parts,
            schema,
        })
    }

    /// The file ([`Layout::File`]) or the partition folder ([`Layout::ByPeriod`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The layout found.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The files, in order (partitions by name, files within by name).
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Rows in the whole table.
    pub fn rows(&self) -> u64 {
        self.parts.iter().map(|p| p.rows as u64).sum()
    }

    /// The table's schema, `period` included, in column order.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.schema.iter_names().map(ToString::to_string).collect()
    }

    /// Whether the table has column `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.schema.contains(name)
    }

    /// The chunks [`Dataset::chunks`] reads, in order: at most `chunk_rows`
    /// rows each, whole row groups unless a row group is larger than
    /// `chunk_rows`, never spanning two parts. Each can be read on its own
    /// with [`Dataset::read_chunk`] (on any thread).
    pub fn chunk_specs(&self, chunk_rows: usize) -> Vec<ChunkSpec> {
        let chunk_rows = chunk_rows.max(1);
        let mut ordinal = 0u64;
        let mut out = Vec::new();
        for (i, part) in self.parts.iter().enumerate() {
            for (offset, len) in plan(part, chunk_rows) {
                out.push(ChunkSpec {
                    part: i,
                    offset,
                    len,
                    ordinal,
                });
                ordinal += len as u64;
            }
        }
        out
    }

    /// Reads one chunk of [`Dataset::chunk_specs`] with the `columns` asked
    /// for (all when `None`) in the table's column order; a column the
    /// table lacks is an error. Polars decodes its columns on its own
    /// threads.
    pub fn read_chunk(&self, spec: &ChunkSpec, columns: Option<&[&str]>) -> Result<Chunk> {
        self.read_chunk_with(spec, columns, ParallelStrategy::Auto)
    }

    /// [`Dataset::read_chunk`] decoding on the calling thread only: for
    /// readers that already run one chunk per core (polars' own threads on
    /// top would only compete with them).
    pub fn read_chunk_here(&self, spec: &ChunkSpec, columns: Option<&[&str]>) -> Result<Chunk> {
        self.read_chunk_with(spec, columns, ParallelStrategy::None)
    }

    fn read_chunk_with(
        &self,
        spec: &ChunkSpec,
        columns: Option<&[&str]>,
        parallel: ParallelStrategy,
    ) -> Result<Chunk> {
        let order = self.column_order(columns)?;
        let part = self.parts.get(spec.part).ok_or_else(|| Error::Layout {
            path: self.path.clone(),
            message: format!("no part {} (the table has {})", spec.part, self.parts.len()),
        })?;
        let df = read_slice(part, &order, spec.offset, spec.len, parallel)?;
        Ok(Chunk {
            df,
            part: spec.part,
            offset: spec.offset,
            ordinal: spec.ordinal,
        })
    }

    /// The `columns` asked for (all when `None`) in the table's order.
    fn column_order(&self, columns: Option<&[&str]>) -> Result<Vec<String>> {
        if let Some(c) = columns
            .unwrap_or(&[])
            .iter()
            .find(|c| !self.schema.contains(c))
        {
            return Err(Error::Layout {
                path: self.path.clone(),
                message: format!("no column `{c}`"),
            });
        }
        Ok(self
            .schema
            .iter_names()
            .filter(|n| columns.is_none_or(|c| c.contains(&n.as_str())))
            .map(ToString::to_string)
            .collect())
    }

    /// The rows in chunks of at most `chunk_rows` rows (see
    /// [`Dataset::chunk_specs`]), read one after another, with the `columns`
    /// asked for (all when `None`) in the table's column order.
    pub fn chunks<'a>(&'a self, chunk_rows: usize, columns: Option<&[&str]>) -> Chunks<'a> {
        Chunks {
            dataset: self,
            specs: self.chunk_specs(chunk_rows).into_iter(),
            order: self.column_order(columns),
        }
    }

    /// The whole table (or the `columns` asked for) in one frame.
    pub fn read(&self, columns: Option<&[&str]>) -> Result<DataFrame> {
        let mut out: Option<DataFrame> = None;
        for chunk in self.chunks(usize::MAX, columns) {
            let chunk = chunk?;
            match &mut out {
                None => out = Some(chunk.df),
                Some(df) => {
                    df.vstack_mut_owned(chunk.df)
                        .map_err(pe(&self.parts[chunk.part].path))?;
                }
            }
        }
        if let Some(mut df) = out {
            df.rechunk_mut_par();
            Ok(df)
        } else {
            let schema: Schema = self
                .schema
                .iter()
                .filter(|(n, _)| columns.is_none_or(|c| c.contains(&n.as_str())))
                .map(|(n, d)| (n.clone(), d.clone()))
                .collect();
            Ok(DataFrame::empty_with_schema(&schema))
        }
    }
}

/// Iterator of [`Chunk`]s, see [`Dataset::chunks`].
#[derive(Debug)]
pub struct Chunks<'a> {
    dataset: &'a Dataset,
    specs: std::vec::IntoIter<ChunkSpec>,
    /// The columns in table order, or the error to report once.
    order: Result<Vec<String>>,
}

/// Reads rows `offset .. offset + len` of a part, the `order` columns in
/// that order (the period of a partition folder becomes a column).
fn read_slice(
    part: &Part,
    order: &[String],
    offset: usize,
    len: usize,
    parallel: ParallelStrategy,
) -> Result<DataFrame> {
    let file_cols: Vec<String> = order
        .iter()
        .filter(|c| part.period.is_none() || c.as_str() != PERIOD)
        .cloned()
        .collect();
    let f = File::open(&part.path).map_err(io(&part.path))?;
    let mut df = ParquetReader::new(f)
        .with_columns(Some(file_cols))
        .with_slice(Some((offset, len)))
        .read_parallel(parallel)
        .finish()
        .map_err(pe(&part.path))?;
    if let Some(p) = &part.period
        && order.iter().any(|c| c == PERIOD)
    {
        let col = StringChunked::full(PERIOD.into(), p, df.height()).into_column();
        df.with_column(col).map_err(pe(&part.path))?;
    }
    df.select(order.iter().map(String::as_str))
        .map_err(pe(&part.path))
}

impl Iterator for Chunks<'_> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        let Ok(order) = &self.order else {
            // Report a missing column once, then stop.
            let e = std::mem::replace(&mut self.order, Ok(Vec::new())).err()?;
            self.specs = Vec::new().into_iter();
            return Some(Err(e));
        };
        let spec = self.specs.next()?;
        let part = &self.dataset.parts[spec.part];
        let out =
            read_slice(part, order, spec.offset, spec.len, ParallelStrategy::Auto).map(|df| {
                Chunk {
                    df,
                    part: spec.part,
                    offset: spec.offset,
                    ordinal: spec.ordinal,
                }
            });
        if out.is_err() {
            self.specs = Vec::new().into_iter();
        }
        Some(out)
    }
}
