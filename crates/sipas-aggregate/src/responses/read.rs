//! The one reader of the response table: a Parquet file or period partitions,
//! read in chunks on every core and packed straight into the compact table.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Rows read at a time: at most one default row group, and fewer when the
/// table would otherwise give some core no chunk. Chunks are read and
/// packed on all cores at once, each by one thread (benches/README.md has
/// the measurements).
pub const READ_CHUNK_ROWS: usize = sipas_dataset::ROW_GROUP_ROWS;

/// Tables of fewer rows are read by one reader (polars still decodes
/// their columns in parallel).
pub(super) const PARALLEL_READ_ROWS: usize = 1 << 17;

/// Reads the response table (the canonical schema, see the crate docs).
///
/// `path` is what [`sipas_dataset::Dataset::open`] accepts: a Parquet file,
/// an output folder holding `responses.parquet` or a `responses/` folder
/// partitioned by period, or that folder itself. Only the columns the
/// estimators need are read, [`READ_CHUNK_ROWS`] rows at a time. Without an
/// instrument the bundled one is detected from the column names.
pub fn read_responses(path: &Path, instrument: Option<&Instrument>) -> Result<Responses> {
    read_responses_with(path, instrument, &[])
}

/// Reads the response table like [`read_responses`] and keeps the named
/// design columns (see [`Responses::from_frame_with`]).
pub fn read_responses_with(
    path: &Path,
    instrument: Option<&Instrument>,
    design_columns: &[&str],
) -> Result<Responses> {
    read_responses_chunked(path, instrument, design_columns, READ_CHUNK_ROWS)
}

/// [`read_responses_with`] reading `chunk_rows` rows at a time (at least 1).
/// The result does not depend on `chunk_rows`. Chunks are decoded and
/// packed in parallel straight into the compact table (allocated from the
/// row count); memory is that table plus one chunk per thread.
///
/// A bad value is reported with the Parquet file holding it (the table's
/// file, or the partition file in the partitioned layout) and its 1-based
/// row within that file: the first bad value in table order.
pub fn read_responses_chunked(
    path: &Path,
    instrument: Option<&Instrument>,
    design_columns: &[&str],
    chunk_rows: usize,
) -> Result<Responses> {
    let origin = path.display().to_string();
    let dataset = Dataset::open(path)?;
    let plan = Plan::new(dataset.schema(), instrument, &origin, design_columns)?;
    let rows = usize::try_from(dataset.rows()).expect("the row count fits in memory");
    if u32::try_from(rows).is_err() {
        return Err(Error::Data {
            origin,
            message: format!("{rows} rows: at most {} are supported", u32::MAX),
        });
    }
    let columns: Vec<String> = plan.columns().into_iter().map(String::from).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    // At least one chunk per core when the table has enough row groups
    // (whole row groups are never split unless larger than a chunk); a
    // small table in one piece (a reader per core costs more than it saves).
    let cores = rayon::current_num_threads().max(1);
    let threads = if rows < PARALLEL_READ_ROWS { 1 } else { cores };
    let specs = dataset.chunk_specs(chunk_rows.min(rows.div_ceil(threads)).max(1));
    let lens: Vec<usize> = specs.iter().map(|s| s.len).collect();
    // Fewer chunks than cores: let polars spread each over its own threads.
    let here = specs.len() >= cores;
    let mut table = Table::new(&plan, rows);
    // One chunk per thread at a time, taken in table order. Plain threads,
    // not rayon tasks: a rayon task waiting inside polars' reader would
    // start other chunks and hold them all in memory at once. Chunks after
    // the first failed one are skipped: their errors would come later in
    // table order.
    let slots: Vec<Mutex<Option<Slot<'_>>>> = table
        .slots(&lens)
        .into_iter()
        .map(|s| Mutex::new(Some(s)))
        .collect();
    let results: Vec<Mutex<Option<Result<Local>>>> =
        specs.iter().map(|_| Mutex::new(None)).collect();
    let (next, failed) = (AtomicUsize::new(0), AtomicUsize::new(usize::MAX));
    let read_one = |i: usize| -> Result<Local> {
        let spec = &specs[i];
        let slot = slots[i]
            .lock()
            .expect("no reader panicked")
            .take()
            .expect("each chunk is read once");
        let part = dataset.parts()[spec.part].path.display().to_string();
        let chunk = if here {
            dataset.read_chunk_here(spec, Some(&columns))?
        } else {
            dataset.read_chunk(spec, Some(&columns))?
        };
        if chunk.df.height() != spec.len {
            return Err(Error::Data {
                origin: part,
                message: format!(
                    "{} rows read from row {} where the footer has {}",
                    chunk.df.height(),
                    spec.offset + 1,
                    spec.len
                ),
            });
        }
        sipas_core::progress::advance(spec.len as u64);
        fill(&plan, &chunk.df, &part, spec.offset, slot, false)
    };
    let threads = threads.min(specs.len().max(1));
    sipas_core::progress::begin("aggregate: reading", "rows", Some(rows as u64));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= specs.len() || i > failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let out = read_one(i);
                    if out.is_err() {
                        failed.fetch_min(i, Ordering::Relaxed);
                    }
                    *results[i].lock().expect("no reader panicked") = Some(out);
                }
            });
        }
    });
    sipas_core::progress::end();
    let locals: Vec<Option<Result<Local>>> = results
        .into_iter()
        .map(|m| m.into_inner().expect("no reader panicked"))
        .collect();
    let mut done = Vec::with_capacity(locals.len());
    for l in locals {
        done.push(l.expect("a chunk is skipped only after a failed one")?);
    }
    table.finish(plan, &done, origin)
}
