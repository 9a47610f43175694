//! Input discovery (files and folders), format detection and record reading.
//!
//! Every format is read as text records ([`csv::ByteRecord`]) with a 1-based
//! line number, so that one row validator serves them all. For CSV the line is
//! where the record starts (header = line 1); for Parquet it is the row number
//! + 1, so the first row is line 2 as in the equivalent CSV.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use polars::prelude::*;

use crate::{Error, Result};

/// The file formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated text, UTF-8 with or without BOM.
    Csv,
    /// Apache Parquet (detected by its `PAR1` magic bytes).
    Parquet,
}

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path (folder inputs are joined with the file's relative path).
    pub path: PathBuf,
    /// How to read it.
    pub format: Format,
}

/// Expands the inputs into the files to read, in order: files as given,
/// folders walked recursively with their `*.csv` / `*.parquet` files in sorted
/// path order. The format of each file is detected from its first bytes.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound {
                    path: input.clone(),
                }
            } else {
                Error::Io {
                    path: input.clone(),
                    source,
                }
            }
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(input, &mut files)?;
            files.sort();
            for path in files {
                let format = detect_format(&path)?;
                out.push(InputFile { path, format });
            }
        } else {
            let format = detect_format(input)?;
            out.push(InputFile {
                path: input.clone(),
                format,
            });
        }
    }
    if out.is_empty() {
        return Err(Error::NoInputs);
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        let kind_is_dir = if kind.is_symlink() {
            path.is_dir()
        } else {
            kind.is_dir()
        };
        if kind_is_dir {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("parquet"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The format of a file from its first bytes: `PAR1` is Parquet, anything
/// else is read as CSV.
pub fn detect_format(path: &Path) -> Result<Format> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        let k = f.read(&mut magic[n..]).map_err(io)?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(if n == 4 && &magic == b"PAR1" {
        Format::Parquet
    } else {
        Format::Csv
    })
}

/// Cleans a header name: BOM removed, whitespace trimmed, NFC.
fn clean_name(s: &str) -> String {
    sipas_core::text::nfc(s.trim_start_matches('\u{feff}').trim())
}

fn csv_reader(path: &Path) -> Result<csv::Reader<File>> {
    let f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(f))
}

fn csv_error(path: &Path, source: csv::Error) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn read_parquet(path: &Path) -> Result<DataFrame> {
    let f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(f)
        .finish()
        .map_err(|source| Error::Polars {
            path: path.to_path_buf(),
            source,
        })
}

/// The column names of a file (cleaned: BOM, whitespace, NFC).
pub(crate) fn read_header(file: &InputFile) -> Result<Vec<String>> {
    match file.format {
        Format::Csv => {
            let mut rdr = csv_reader(&file.path)?;
            let mut rec = ByteRecord::new();
            let got = rdr
                .read_byte_record(&mut rec)
                .map_err(|e| csv_error(&file.path, e))?;
            if !got {
                return Err(Error::EmptyFile {
                    path: file.path.clone(),
                });
            }
            Ok(rec
                .iter()
                .map(|f| clean_name(&String::from_utf8_lossy(f)))
                .collect())
        }
        Format::Parquet => {
            let f = File::open(&file.path).map_err(|source| Error::Io {
                path: file.path.clone(),
                source,
            })?;
            let schema = ParquetReader::new(f)
                .schema()
                .map_err(|source| Error::Polars {
                    path: file.path.clone(),
                    source,
                })?;
            Ok(schema.iter_names().map(|n| clean_name(n)).collect())
        }
    }
}

/// What a record callback receives: the record's 1-based line, and the record
/// or, when it could not be parsed, the parser's message.
pub(crate) type Row<'a> = std::result::Result<&'a ByteRecord, String>;

/// Calls `f` for every data record of the file (the header is skipped), in
/// file order.
pub(crate) fn scan_records(file: &InputFile, f: &mut dyn FnMut(u64, Row<'_>)) -> Result<()> {
    match file.format {
        Format::Csv => {
            let mut rdr = csv_reader(&file.path)?;
            let mut rec = ByteRecord::new();
            let mut first = true;
            loop {
                match rdr.read_byte_record(&mut rec) {
                    Ok(false) => break,
                    Ok(true) => {
                        if first {
                            first = false;
                            continue;
                        }
                        let line = rec.position().map_or(0, csv::Position::line);
                        f(line, Ok(&rec));
                    }
                    Err(e) => {
                        let line = e
                            .position()
                            .map_or(rdr.position().line(), csv::Position::line);
                        if e.is_io_error() {
                            return Err(csv_error(&file.path, e));
                        }
                        first = false;
                        f(line, Err(e.to_string()));
                    }
                }
            }
            Ok(())
        }
        Format::Parquet => {
            let df = read_parquet(&file.path)?;
            let polars_err = |source| Error::Polars {
                path: file.path.clone(),
                source,
            };
            let cols: Vec<Column> = df
                .columns()
                .iter()
                .map(|c| c.cast(&DataType::String))
                .collect::<PolarsResult<_>>()
                .map_err(polars_err)?;
            let cas: Vec<&StringChunked> = cols
                .iter()
                .map(Column::str)
                .collect::<PolarsResult<_>>()
                .map_err(polars_err)?;
            let mut iters: Vec<_> = cas.iter().map(|ca| ca.iter()).collect();
            let mut rec = ByteRecord::new();
            for row in 0..df.height() {
                rec.clear();
                for it in &mut iters {
                    let v = it.next().flatten().unwrap_or("");
                    rec.push_field(v.as_bytes());
                }
                f(row as u64 + 2, Ok(&rec));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_parquet_by_magic_not_extension() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"PAR1rest").unwrap();
        assert_eq!(detect_format(&p).unwrap(), Format::Parquet);
        let q = dir.path().join("y.parquet");
        std::fs::write(&q, b"a,b\n").unwrap();
        assert_eq!(detect_format(&q).unwrap(), Format::Csv);
        let e = dir.path().join("empty.csv");
        std::fs::write(&e, b"").unwrap();
        assert_eq!(detect_format(&e).unwrap(), Format::Csv);
    }

    #[test]
    fn header_names_are_cleaned() {
        assert_eq!(clean_name("\u{feff} response_id "), "response_id");
    }
}
