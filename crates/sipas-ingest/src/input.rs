//! Input discovery (files and folders), format detection and record reading.
//!
//! Every format is read as text records ([`csv::ByteRecord`]) with a 1-based
//! line number, so that one row validator serves them all:
//! - delimited text: the physical line where the record starts (header =
//!   line 1 when it is the first line);
//! - Excel: the sheet's row number;
//! - NDJSON: the physical line; JSON array: the line where the object starts;
//! - Parquet: row number + 1 (the first row is line 2, as in the CSV).
//!
//! A source's records start with its header candidates (for JSON and Parquet
//! one synthesized header record, line 0 / 1).

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
    /// Delimited text (`,` `;` or tab; UTF-8, UTF-16 with BOM, or CP1258).
    Csv,
    /// Apache Parquet (detected by its `PAR1` magic bytes).
    Parquet,
    /// Excel 2007+ workbook (a zip holding `xl/`).
    Xlsx,
    /// Excel 97–2003 workbook (OLE compound file).
    Xls,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// One file (or sheet of a workbook) to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path (folder inputs are joined with the file's relative path).
    pub path: PathBuf,
    /// How to read it.
    pub format: Format,
    /// The sheet, for workbooks (set when the workbook is opened).
    pub sheet: Option<String>,
}

impl InputFile {
    /// The name used in reports: the path, with `#Sheet` for a sheet.
    pub fn name(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{}#{s}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// A file or sheet that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The file (`file.xlsx#Sheet` for a sheet).
    pub file: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The files found by [`discover`].
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Files to read, in order.
    pub files: Vec<InputFile>,
    /// Files that are none of the formats read.
    pub skipped: Vec<Skipped>,
}

/// Expands the inputs into the files to read, in order: files as given,
/// folders walked recursively in sorted path order. Each file's format is
/// detected from its content ([`detect_format`]); files that are none of
/// the formats read are listed in [`Discovery::skipped`].
pub fn discover(inputs: &[PathBuf]) -> Result<Discovery> {
    let mut out = Discovery::default();
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
        let mut files = Vec::new();
        if meta.is_dir() {
            walk(input, &mut files)?;
            files.sort();
        } else {
            files.push(input.clone());
        }
        for path in files {
            match detect_format(&path)? {
                Ok(format) => out.files.push(InputFile {
                    path,
                    format,
                    sheet: None,
                }),
                Err(reason) => out.skipped.push(Skipped {
                    file: path.display().to_string(),
                    reason,
                }),
            }
        }
    }
    if out.files.is_empty() {
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
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn read_prefix(path: &Path, n: usize) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut buf = Vec::with_capacity(n);
    f.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(buf)
}

/// Whether a zip archive has an entry under `xl/` (an xlsx workbook).
fn zip_has_xl(path: &Path) -> Result<bool> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Local file headers and central directory entries carry the names.
    Ok(bytes.windows(3).any(|w| w == b"xl/"))
}

/// The format of a file from its content: `PAR1` is Parquet, a zip with an
/// `xl/` entry is xlsx, the OLE magic is xls, `[` / `{` (after whitespace or
/// a BOM) is JSON / NDJSON, a UTF-16 BOM or other text is delimited text.
/// `Err(reason)` for a file that is none of these (binary, other archive).
pub fn detect_format(path: &Path) -> Result<std::result::Result<Format, String>> {
    let head = read_prefix(path, 8192)?;
    if head.starts_with(b"PAR1") {
        return Ok(Ok(Format::Parquet));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(if zip_has_xl(path)? {
            Ok(Format::Xlsx)
        } else {
            Err("zip archive without an xl/ entry (not an xlsx workbook)".into())
        });
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Ok(Format::Xls));
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(Ok(Format::Csv));
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => return Ok(Ok(Format::Json)),
        Some(b'{') => return Ok(Ok(Format::Ndjson)),
        _ => {}
    }
    if text.contains(&0) {
        return Ok(Err("binary file (not text, JSON, Excel or Parquet)".into()));
    }
    if text.is_empty() {
        return Ok(Err("empty file".into()));
    }
    Ok(Ok(Format::Csv))
}

/// The number of `\n` in `b`.
#[allow(clippy::naive_bytecount)] // LLVM vectorises this; no extra crate.
pub(crate) fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Cleans a header name: BOM removed, whitespace trimmed, NFC.
pub(crate) fn clean_name(s: &str) -> String {
    sipas_core::text::nfc(s.trim_start_matches('\u{feff}').trim())
}

/// What a record callback receives: the record's 1-based line, and the record
/// or, when it could not be parsed, the parser's message.
pub(crate) type Row<'a> = std::result::Result<&'a ByteRecord, String>;

/// A source loaded in memory, ready to be scanned (more than once).
#[derive(Debug)]
pub(crate) enum Loaded {
    /// Delimited text, decoded to UTF-8 (BOM removed).
    Text {
        bytes: Vec<u8>,
        delimiter: u8,
        encoding: &'static str,
    },
    /// Records with their lines (Excel, JSON); the first is the header for
    /// JSON.
    Records(Vec<(u64, std::result::Result<ByteRecord, String>)>),
    /// Parquet columns cast to text, and their names.
    Parquet(Vec<Column>),
}

impl Loaded {
    /// The encoding and delimiter of a text source, for the report.
    pub(crate) fn text_info(&self) -> (Option<String>, Option<String>) {
        match self {
            Loaded::Text {
                delimiter,
                encoding,
                ..
            } => (
                Some((*encoding).to_string()),
                Some(match delimiter {
                    b'\t' => "\\t".to_string(),
                    d => char::from(*d).to_string(),
                }),
            ),
            _ => (None, None),
        }
    }

    /// Calls `f(index, line, row)` for every record (header candidates
    /// included) until it returns `false`.
    pub(crate) fn scan(
        &self,
        path: &Path,
        f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
    ) -> Result<()> {
        match self {
            Loaded::Text {
                bytes, delimiter, ..
            } => {
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(*delimiter)
                    .from_reader(bytes.as_slice());
                let mut rec = ByteRecord::new();
                let mut i = 0;
                // Lines are counted from byte offsets: the csv crate's own line
                // count is off after CRLF terminators.
                let (mut at, mut line_at) = (0usize, 1u64);
                let mut line_of = |byte: u64| {
                    let mut byte = (byte as usize).min(bytes.len());
                    // After `\r\n` a record's position is that of its `\n`.
                    while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
                        byte += 1;
                    }
                    if byte >= at {
                        line_at += count_newlines(&bytes[at..byte]);
                    } else {
                        line_at = 1 + count_newlines(&bytes[..byte]);
                    }
                    at = byte;
                    line_at
                };
                loop {
                    let go = match rdr.read_byte_record(&mut rec) {
                        Ok(false) => break,
                        Ok(true) => {
                            let line = rec.position().map_or(0, |p| line_of(p.byte()));
                            f(i, line, Ok(&rec))
                        }
                        Err(e) => {
                            let byte = e
                                .position()
                                .map_or(rdr.position().byte(), csv::Position::byte);
                            if e.is_io_error() {
                                return Err(Error::Csv {
                                    path: path.to_path_buf(),
                                    source: e,
                                });
                            }
                            f(i, line_of(byte), Err(e.to_string()))
                        }
                    };
                    i += 1;
                    if !go {
                        break;
                    }
                }
                Ok(())
            }
            Loaded::Records(recs) => {
                for (i, (line, r)) in recs.iter().enumerate() {
                    let row = match r {
                        Ok(rec) => Ok(rec),
                        Err(msg) => Err(msg.clone()),
                    };
                    if !f(i, *line, row) {
                        break;
                    }
                }
                Ok(())
            }
            Loaded::Parquet(cols) => {
                let polars_err = |source| Error::Polars {
                    path: path.to_path_buf(),
                    source,
                };
                let header: ByteRecord = cols.iter().map(|c| c.name().as_bytes()).collect();
                if !f(0, 1, Ok(&header)) {
                    return Ok(());
                }
                let cas: Vec<&StringChunked> = cols
                    .iter()
                    .map(Column::str)
                    .collect::<PolarsResult<_>>()
                    .map_err(polars_err)?;
                let mut iters: Vec<_> = cas.iter().map(|ca| ca.iter()).collect();
                let height = cols.first().map_or(0, Column::len);
                let mut rec = ByteRecord::new();
                for row in 0..height {
                    rec.clear();
                    for it in &mut iters {
                        let v = it.next().flatten().unwrap_or("");
                        rec.push_field(v.as_bytes());
                    }
                    if !f(row + 1, row as u64 + 2, Ok(&rec)) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// How text files are decoded and split.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextOpts {
    pub(crate) delimiter: Option<u8>,
    pub(crate) encoding: Option<&'static encoding_rs::Encoding>,
}

/// Decodes a text file to UTF-8: a BOM decides (UTF-8, UTF-16 LE/BE), then
/// the `encoding` option, then UTF-8 if the bytes are valid UTF-8, else
/// CP1258 (Windows Vietnamese). Non-UTF-8 input is NFC-normalised.
pub(crate) fn decode_text(
    raw: Vec<u8>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> (Vec<u8>, &'static str) {
    use encoding_rs::{UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1258};
    let decode = |enc: &'static encoding_rs::Encoding, bytes: &[u8]| {
        let (text, _) = enc.decode_without_bom_handling(bytes);
        sipas_core::text::nfc(&text).into_bytes()
    };
    if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
        return (rest.to_vec(), "UTF-8");
    }
    if let Some(rest) = raw.strip_prefix(&[0xFF, 0xFE]) {
        return (decode(UTF_16LE, rest), "UTF-16LE");
    }
    if let Some(rest) = raw.strip_prefix(&[0xFE, 0xFF]) {
        return (decode(UTF_16BE, rest), "UTF-16BE");
    }
    match encoding {
        Some(enc) if enc == UTF_8 => (raw, "UTF-8"),
        Some(enc) => {
            let out = decode(enc, &raw);
            (out, enc.name())
        }
        None if std::str::from_utf8(&raw).is_ok() => (raw, "UTF-8"),
        None => (decode(WINDOWS_1258, &raw), WINDOWS_1258.name()),
    }
}

/// The delimiter of a header line: the most frequent of `,` `;` tab outside
/// quotes (`,` on ties or when none occurs). An Excel `sep=;` line decides.
pub(crate) fn sniff_delimiter(text: &[u8]) -> u8 {
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if let Some(rest) = first.strip_prefix(b"sep=")
        && let [d] = rest
    {
        return *d;
    }
    let (mut counts, mut quoted) = ([0usize; 3], false);
    for &b in first {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    [b',', b';', b'\t'][best]
}

/// Loads a source for scanning. Workbooks are loaded by [`crate::excel`].
pub(crate) fn load(file: &InputFile, opts: TextOpts) -> Result<Loaded> {
    let io = |source| Error::Io {
        path: file.path.clone(),
        source,
    };
    match file.format {
        Format::Csv => {
            let raw = std::fs::read(&file.path).map_err(io)?;
            let (bytes, encoding) = decode_text(raw, opts.encoding);
            let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&bytes));
            Ok(Loaded::Text {
                bytes,
                delimiter,
                encoding,
            })
        }
        Format::Json | Format::Ndjson => {
            let raw = std::fs::read(&file.path).map_err(io)?;
            Ok(crate::json::load(&raw, file.format == Format::Ndjson))
        }
        Format::Parquet => {
            let f = File::open(&file.path).map_err(io)?;
            let polars_err = |source| Error::Polars {
                path: file.path.clone(),
                source,
            };
            let df = ParquetReader::new(f).finish().map_err(polars_err)?;
            let cols = df
                .columns()
                .iter()
                .map(|c| c.cast(&DataType::String))
                .collect::<PolarsResult<_>>()
                .map_err(polars_err)?;
            Ok(Loaded::Parquet(cols))
        }
        Format::Xlsx | Format::Xls => crate::excel::load_sheet(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_content_not_extension() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], std::result::Result<Format, ()>); 9] = [
            ("x.csv", b"PAR1rest", Ok(Format::Parquet)),
            ("y.parquet", b"a,b\n", Ok(Format::Csv)),
            ("j.txt", b"\xEF\xBB\xBF \n [{\"a\":1}]", Ok(Format::Json)),
            ("n.json", b"{\"a\":1}\n{\"a\":2}\n", Ok(Format::Ndjson)),
            ("u.txt", b"\xFF\xFEa\0", Ok(Format::Csv)),
            ("o.bin", b"\xD0\xCF\x11\xE0rest", Ok(Format::Xls)),
            ("d.zip", b"PK\x03\x04word/document.xml", Err(())),
            ("i.png", b"\x89PNG\r\n\x1a\n\0\0", Err(())),
            ("e.csv", b"", Err(())),
        ];
        for (name, bytes, want) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let got = detect_format(&p).unwrap().map_err(|_| ());
            assert_eq!(got, want, "{name}");
        }
        let p = dir.path().join("w.xlsx");
        std::fs::write(&p, b"PK\x03\x04....xl/workbook.xml").unwrap();
        assert_eq!(detect_format(&p).unwrap(), Ok(Format::Xlsx));
    }

    #[test]
    fn header_names_are_cleaned() {
        assert_eq!(clean_name("\u{feff} response_id "), "response_id");
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header_line() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc\r\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a,b,\"x;y;z\"\n"), b',');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
        assert_eq!(sniff_delimiter(b"sep=;\na,b;c\n"), b';');
    }

    #[test]
    fn cp1258_and_utf16_are_decoded_to_nfc_utf8() {
        // "Hòa" in CP1258: o + combining grave (0xCC); "Mỹ" = y + tilde (0xDE).
        let (out, enc) = decode_text(b"Ho\xCCa;My\xDE\n".to_vec(), None);
        assert_eq!(enc, "windows-1258");
        assert_eq!(String::from_utf8(out).unwrap(), "Hòa;Mỹ\n");
        let mut le = vec![0xFF, 0xFE];
        le.extend("Xã\tb\n".encode_utf16().flat_map(u16::to_le_bytes));
        let (out, enc) = decode_text(le, None);
        assert_eq!(
            (String::from_utf8(out).unwrap().as_str(), enc),
            ("Xã\tb\n", "UTF-16LE")
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend("Xã".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_text(be, None).0, "Xã".as_bytes());
        let (out, enc) = decode_text(b"a\xFFb".to_vec(), Some(encoding_rs::UTF_8));
        assert_eq!((out, enc), (b"a\xFFb".to_vec(), "UTF-8"));
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn crlf_lines_are_exact() {
        let l = Loaded::Text {
            bytes: b"h,x\r\na,1\r\n\"b\r\nc\",2\r\nd,3\r\n".to_vec(),
            delimiter: b',',
            encoding: "UTF-8",
        };
        let mut got = Vec::new();
        l.scan(Path::new("f"), &mut |_, line, _| {
            got.push(line);
            true
        })
        .unwrap();
        assert_eq!(got, [1, 2, 3, 5]);
    }
}
