//! Writing responses (CSV or Parquet) and the truth table, atomically.
//!
//! Rows are generated in chunks; a batch of chunks is drawn (and, for CSV,
//! formatted and recoded) in parallel with rayon, then written in order by a
//! writer thread while the next batch is drawn, so memory stays bounded by a
//! few chunks whatever N is, and the bytes do not depend on the number of
//! threads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::generate::{RawChunk, csv_header, draw, frame_schema, to_csv, to_frame};
use crate::model::Model;
use crate::{Error, Result};

/// Output format of the responses, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.csv`: the canonical CSV layout.
    Csv,
    /// `.parquet`: the canonical Parquet types.
    Parquet,
}

impl Format {
    /// The format of `path` by its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") => Ok(Format::Parquet),
            _ => Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// How responses are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Rows per generated chunk (a Parquet row group each). Default 131,072.
    pub chunk_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            chunk_rows: 1 << 17,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The output file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Responses written (= N).
    pub rows: u64,
    /// Unit × period cells.
    pub cells: usize,
    /// Answers left missing.
    pub missing_answers: u64,
}

/// Writes all responses to `path`, CSV or Parquet by extension, atomically.
pub fn write_responses(model: &Model, path: &Path) -> Result<Summary> {
    write_responses_with(model, path, &WriteOptions::default())
}

/// [`write_responses`] with explicit options.
pub fn write_responses_with(model: &Model, path: &Path, opts: &WriteOptions) -> Result<Summary> {
    write_responses_inner(model, path, *opts, None)
}

/// Rewrites the CSV lines of one generated chunk (whole lines, each ending
/// in `\n`, never the header) in place. It runs on the rayon pool, chunk by
/// chunk, before the chunk is written: it must not depend on the order the
/// chunks are given in.
pub type Recode<'a> = &'a (dyn Fn(&mut Vec<u8>) + Sync);

/// [`write_responses_with`] to a CSV file whose lines go through `recode`
/// (for instance, codes rewritten to those in force on each row's day) as
/// they are made: the file is written once. A Parquet `path` is refused
/// ([`Error::Config`]).
pub fn write_responses_recoded(
    model: &Model,
    path: &Path,
    opts: &WriteOptions,
    recode: Recode<'_>,
) -> Result<Summary> {
    write_responses_inner(model, path, *opts, Some(recode))
}

fn write_responses_inner(
    model: &Model,
    path: &Path,
    opts: WriteOptions,
    recode: Option<Recode<'_>>,
) -> Result<Summary> {
    let format = Format::from_path(path)?;
    if recode.is_some() && format != Format::Csv {
        return Err(Error::Config(format!(
            "{}: rows can be recoded in CSV output only",
            path.display()
        )));
    }
    let missing = match format {
        Format::Csv => atomic_write_direct(path, |out| write_csv(model, out, path, opts, recode))?,
        Format::Parquet => atomic_write(path, |file| write_parquet(model, file, path, opts))?,
    };
    Ok(Summary {
        path: path.to_path_buf(),
        format,
        rows: model.n_rows(),
        cells: model.n_cells(),
        missing_answers: missing,
    })
}

/// Writes the truth table (see [`write_truth_to`]) to `path`, atomically.
pub fn write_truth(model: &Model, path: &Path) -> Result<()> {
    atomic_write(path, |file| {
        let mut w = BufWriter::new(file);
        write_truth_to(model, &mut w).map_err(|source| io_err(path, source))?;
        w.flush().map_err(|source| io_err(path, source))
    })
}

/// Writes `unit_code,period,pilot,sipas,<reported groups>` rows, values
/// 0–100 with 6 decimals, `pilot` = `true`|`false`, sorted by unit code then
/// period.
pub fn write_truth_to<W: Write>(model: &Model, w: &mut W) -> std::io::Result<()> {
    let groups = model.instrument().reported_groups();
    write!(w, "unit_code,period,pilot,{}", model.instrument().root())?;
    for g in &groups {
        write!(w, ",{}", g.id)?;
    }
    writeln!(w)?;
    for row in model.truth() {
        write!(
            w,
            "{},{},{},{:.6}",
            row.unit_code, row.period, row.pilot, row.sipas
        )?;
        for v in &row.groups {
            write!(w, ",{v:.6}")?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// The file name of the group-time effect truth, written beside `truth.csv`.
pub const ATT_TRUTH_FILE: &str = "truth_att_gt.csv";

/// Writes the group-time effect truth (see [`write_att_truth_to`]) to `path`, atomically.
pub fn write_att_truth(model: &Model, path: &Path) -> Result<()> {
    atomic_write(path, |file| {
        let mut w = BufWriter::new(file);
        write_att_truth_to(model, &mut w).map_err(|source| io_err(path, source))?;
        w.flush().map_err(|source| io_err(path, source))
    })
}

/// Writes `index,group,period,exposure,units,att,untreated` rows ([`Model::att_truth`]): one
/// per index, wave and period, index points with 9 decimals.
pub fn write_att_truth_to<W: Write>(model: &Model, w: &mut W) -> std::io::Result<()> {
    writeln!(w, "index,group,period,exposure,units,att,untreated")?;
    for r in model.att_truth() {
        writeln!(
            w,
            "{},{},{},{},{},{:.9},{:.9}",
            r.index, r.group, r.period, r.exposure, r.units, r.att, r.untreated
        )?;
    }
    Ok(())
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `body` on a temp file next to `path`, then renames it onto `path`
/// (see [`sipas_core::atomic::write_with`]). An error of `body` is returned
/// as is.
fn atomic_write<T>(path: &Path, body: impl FnOnce(&File) -> Result<T>) -> Result<T> {
    let mut out = None;
    let written = sipas_core::atomic::write_with(path, |file| io_of(out.insert(body(file))));
    written_as(path, out, written)
}

/// [`atomic_write`] with the bytes written past the page cache
/// ([`sipas_core::atomic::write_direct_with`]): a 10⁸-row CSV is 11.9 GB, which copied into the
/// page cache cost as much system time as the drawing took user time.
fn atomic_write_direct<T>(
    path: &Path,
    body: impl FnOnce(&mut sipas_core::direct::DirectWriter) -> Result<T>,
) -> Result<T> {
    let mut out = None;
    let written = sipas_core::atomic::write_direct_with(path, |w| io_of(out.insert(body(w))));
    written_as(path, out, written)
}

/// What an atomic write is told of `body`'s result: it commits the file only on `Ok`.
fn io_of<T>(result: &Result<T>) -> std::io::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// The result of an atomic write that ran `body` (`out`, its result): `body`'s own error as
/// is, else the write's.
fn written_as<T>(path: &Path, out: Option<Result<T>>, written: std::io::Result<()>) -> Result<T> {
    match (out, written) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (_, Err(source)) => Err(io_err(path, source)),
        (None, Ok(())) => unreachable!("an atomic write runs its writer before it succeeds"),
    }
}

/// Chunk ranges in order, in batches of about two chunks per thread.
/// Also starts the progress of the generation (`sipas_core::progress`).
fn batches(model: &Model, opts: WriteOptions) -> Vec<Vec<std::ops::Range<u64>>> {
    let n = model.n_rows();
    sipas_core::progress::begin("generate", "rows", Some(n));
    let step = opts.chunk_rows.max(1) as u64;
    let ranges: Vec<_> = (0..n.div_ceil(step))
        .map(|i| i * step..((i + 1) * step).min(n))
        .collect();
    let per_batch = 2 * rayon::current_num_threads().max(1);
    ranges.chunks(per_batch).map(<[_]>::to_vec).collect()
}

fn write_csv(
    model: &Model,
    out: &mut sipas_core::direct::DirectWriter,
    path: &Path,
    opts: WriteOptions,
    recode: Option<Recode<'_>>,
) -> Result<u64> {
    let err = |source| io_err(path, source);
    let mut missing = 0;
    std::thread::scope(|scope| -> Result<u64> {
        // Batch k is written while batch k + 1 is drawn.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
        let writer = scope.spawn(move || -> std::io::Result<()> {
            out.write_all(&csv_header(model))?;
            for bufs in rx {
                for buf in bufs {
                    out.write_all(&buf)?;
                }
            }
            out.flush()
        });
        for batch in batches(model, opts) {
            let parts: Vec<(Vec<u8>, u64)> = batch
                .into_par_iter()
                .map(|r| {
                    sipas_core::progress::advance(r.end - r.start);
                    let chunk = draw(model, r);
                    let mut buf = Vec::new();
                    to_csv(model, &chunk, &mut buf);
                    if let Some(recode) = recode {
                        recode(&mut buf);
                    }
                    (buf, chunk.missing)
                })
                .collect();
            missing += parts.iter().map(|p| p.1).sum::<u64>();
            if tx.send(parts.into_iter().map(|p| p.0).collect()).is_err() {
                // The writer stopped: its error is returned below.
                break;
            }
        }
        drop(tx);
        writer
            .join()
            .expect("the writer thread does not panic")
            .map_err(err)?;
        sipas_core::progress::end();
        Ok(missing)
    })
}

fn write_parquet(model: &Model, file: &File, path: &Path, opts: WriteOptions) -> Result<u64> {
    let perr = |source| Error::Polars {
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut writer =
        sipas_dataset::ParquetOut::new(&mut w, &frame_schema(model), |_| false).map_err(perr)?;
    let mut missing = 0;
    for batch in batches(model, opts) {
        let frames: Vec<Result<(DataFrame, u64)>> = batch
            .into_par_iter()
            .map(|r| {
                sipas_core::progress::advance(r.end - r.start);
                let chunk: RawChunk = draw(model, r);
                Ok((to_frame(model, &chunk)?, chunk.missing))
            })
            .collect();
        for f in frames {
            let (df, m) = f?;
            writer.write_batch(&df).map_err(perr)?;
            missing += m;
        }
    }
    writer.finish().map_err(perr)?;
    w.flush().map_err(|source| io_err(path, source))?;
    sipas_core::progress::end();
    Ok(missing)
}
