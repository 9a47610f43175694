//! Writing `responses.parquet`, `quarantine.csv` and `ingest-report.json`
//! atomically (temp file in the output folder, then rename; the table through
//! [`sipas_dataset::DatasetWriter`]).

use std::io::Write;
use std::path::Path;

use sipas_dataset::{DatasetWriter, Layout};

use crate::{Error, IngestReport, Ingested, QuarantinedRow, Result};

/// File name of the response table ([`sipas_dataset::Layout::File`]).
pub const RESPONSES_FILE: &str = sipas_dataset::RESPONSES_FILE;
/// File name of the quarantine.
pub const QUARANTINE_FILE: &str = "quarantine.csv";
/// File name of the report.
pub const REPORT_FILE: &str = "ingest-report.json";

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `path` atomically (see [`sipas_core::atomic::write_with`]): `fill`
/// writes into a temp file in the same folder, which is then renamed over
/// `path`. An error of `fill` is returned as is.
fn atomic(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    let written = sipas_core::atomic::write_with(path, |file| {
        let mut w = std::io::BufWriter::new(file);
        if let Err(e) = fill(&mut w) {
            let io = std::io::Error::other(e.to_string());
            failure = Some(e);
            return Err(io);
        }
        w.flush()
    });
    match failure {
        Some(e) => Err(e),
        None => written.map_err(io(path)),
    }
}

/// Writes the three outputs into `out_dir` (created if needed) and returns the
/// report. Fails, writing nothing, if the row counts do not reconcile. The
/// table is written as `responses.parquet` (replacing a `responses/`
/// folder left by an earlier run), one row group per period at least.
pub fn write_outputs(ingested: &Ingested, out_dir: &Path) -> Result<IngestReport> {
    ingested.report.check_counts()?;
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;

    let df = &ingested.responses;
    let mut writer = DatasetWriter::create(out_dir, Layout::File, df.schema())?;
    let pe = |source| Error::Polars {
        path: out_dir.join(RESPONSES_FILE),
        source,
    };
    if df.height() > 0 {
        // Rows are sorted by period: write each run of one period.
        let periods = df
            .column(sipas_core::schema::PERIOD)
            .map_err(pe)?
            .str()
            .map_err(pe)?;
        let mut start = 0;
        let mut current: Option<&str> = None;
        for (i, p) in periods.iter().enumerate() {
            let p = p.unwrap_or_default();
            if let Some(c) = current
                && c != p
            {
                writer.write(c, &df.slice(start as i64, i - start))?;
                start = i;
            }
            current = Some(p);
        }
        if let Some(c) = current {
            writer.write(c, &df.slice(start as i64, df.height() - start))?;
        }
    }
    writer.finish()?;
    write_quarantine_file(out_dir, &ingested.quarantine)?;
    write_report_file(out_dir, &ingested.report)?;
    Ok(ingested.report.clone())
}

/// Writes `quarantine.csv` into `out_dir` atomically.
pub(crate) fn write_quarantine_file(out_dir: &Path, rows: &[QuarantinedRow]) -> Result<()> {
    let path = out_dir.join(QUARANTINE_FILE);
    let mut bytes = Vec::new();
    write_quarantine(&mut bytes, rows, &path)?;
    sipas_core::csv_out::write(&path, &bytes).map_err(io(&path))
}

/// Writes `ingest-report.json` into `out_dir` atomically.
pub(crate) fn write_report_file(out_dir: &Path, report: &IngestReport) -> Result<()> {
    let path = out_dir.join(REPORT_FILE);
    atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, report).map_err(Error::Json)?;
        w.write_all(b"\n").map_err(io(&path))
    })
}

fn write_quarantine(w: impl Write, rows: &[QuarantinedRow], path: &Path) -> Result<()> {
    let err = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w);
    csv.write_record([
        "source_file",
        "line",
        "reason",
        "column",
        "detail",
        "record",
    ])
    .map_err(err)?;
    for r in rows {
        csv.write_record([
            r.source_file.as_str(),
            &r.line.to_string(),
            r.reason.as_str(),
            &r.column,
            &r.detail,
            &r.record,
        ])
        .map_err(err)?;
    }
    csv.flush().map_err(io(path))?;
    Ok(())
}
