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
use polars::io::parquet::metadata::FileMetadataRef;
use polars::prelude::*;
use rayon::prelude::*;
use sipas_core::direct::{ALIGN, AlignedBuf, DirectReader};
use sipas_core::staging::ShownAs;

use crate::{Error, Result};

/// The file formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// Delimited text (`,` `;` tab or `|`; UTF-8, UTF-16 with BOM, or an
    /// encoding named or detected).
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
    /// A saved KoboToolbox API v2 data page (`{count, next, previous,
    /// results}`).
    KoboJson,
    /// A saved ODK Central OData page (`{@odata.context, value,
    /// @odata.nextLink}`).
    OdkJson,
    /// A zip of CSV files (ODK Central's "CSV zip" export): every `.csv`
    /// entry is a source (`file.zip#form.csv`).
    CsvZip,
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
    /// The path named in reports and quarantine rows: [`InputFile::path`], or
    /// the path the file will have once a run's staging folder is swapped
    /// into place (see [`crate::IngestOptions::shown_as`]).
    pub shown: PathBuf,
}

impl InputFile {
    /// The name used in reports: the path, with `#Sheet` for a sheet.
    pub fn name(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{}#{s}", self.shown.display()),
            None => self.shown.display().to_string(),
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
    discover_shown(inputs, None)
}

/// [`discover`], naming files inside a run's staging folder as they are
/// after the swap ([`ShownAs`]), so that reports and quarantine rows name
/// the files that exist after the run and are the same bytes on every run.
pub fn discover_shown(inputs: &[PathBuf], shown_as: Option<&ShownAs>) -> Result<Discovery> {
    let shown =
        |path: &Path| -> PathBuf { shown_as.map_or_else(|| path.to_path_buf(), |s| s.path(path)) };
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
                    shown: shown(&path),
                    path,
                    format,
                    sheet: None,
                }),
                Err(reason) => out.skipped.push(Skipped {
                    file: shown(&path).display().to_string(),
                    reason,
                }),
            }
        }
    }
    if out.files.is_empty() {
        return Err(if out.skipped.is_empty() {
            Error::NoInputs
        } else {
            Error::NothingRead {
                skipped: out.skipped,
            }
        });
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
/// A zip archive, read whole.
pub(crate) fn open_zip(path: &Path) -> Result<::zip::ZipArchive<std::io::Cursor<Vec<u8>>>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::Archive {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn is_csv(name: &str) -> bool {
    let ext = Path::new(name).extension();
    !name.ends_with('/')
        && ext.is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        && !name.to_ascii_lowercase().starts_with("__macosx/")
}

/// The `.csv` entries of a zip, in archive order.
pub(crate) fn csv_entries(zip: &::zip::ZipArchive<std::io::Cursor<Vec<u8>>>) -> Vec<String> {
    zip.file_names()
        .filter_map(std::result::Result::ok)
        .filter(|n| is_csv(n))
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
}

/// Whether a zip archive holds at least one `.csv` entry (false when it
/// cannot be read).
fn zip_has_csv(path: &Path) -> bool {
    open_zip(path).is_ok_and(|z| !csv_entries(&z).is_empty())
}

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
        } else if zip_has_csv(path) {
            Ok(Format::CsvZip)
        } else {
            Err("zip archive without an xl/ entry or .csv files (not an xlsx workbook or a CSV zip)".into())
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
        Some(b'{') => return Ok(Ok(detect_object_file(path, text)?)),
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

/// A file starting with `{`: a saved platform page (one object, compact or
/// pretty-printed, whose keys are those of a Kobo or ODK page), else NDJSON.
fn detect_object_file(path: &Path, head: &[u8]) -> Result<Format> {
    let page = |v: &serde_json::Value| match v {
        serde_json::Value::Object(o) => crate::platform::page_kind(o),
        _ => None,
    };
    let kind = |k| match k {
        crate::platform::PageKind::Kobo => Format::KoboJson,
        crate::platform::PageKind::Odk => Format::OdkJson,
    };
    // A first line that is a whole object: NDJSON, or a one-line page.
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(first) {
        return Ok(page(&v).map_or(Format::Ndjson, kind));
    }
    // Else one object over several lines: a page if its keys say so.
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
    Ok(serde_json::from_slice::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| page(&v))
        .map_or(Format::Ndjson, kind))
}

/// The number of `\n` in `b`.
#[allow(clippy::naive_bytecount)] // LLVM vectorises this; no extra crate.
pub(crate) fn count_newlines(b: &[u8]) -> u64 {
    sipas_core::bytes::count_byte(b, b'\n')
}

/// Cleans a header name: BOM removed, whitespace trimmed, NFC.
pub(crate) fn clean_name(s: &str) -> String {
    sipas_core::text::nfc(s.trim_start_matches('\u{feff}').trim())
}

/// What a record callback receives: the record's 1-based line, and the record
/// or, when it could not be parsed, the parser's message.
pub(crate) type Row<'a> = std::result::Result<Record<'a>, String>;

/// A record's fields without copying them: field `i` is
/// `text[bounds[i]..bounds[i + 1] - gap]`. A line of delimited text split
/// at its delimiter has `gap` 1 (the delimiter after each field; the last
/// bound is the line's length + 1); a [`ByteRecord`] (its fields one after
/// another) has `gap` 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    text: &'a [u8],
    bounds: &'a [usize],
    gap: usize,
}

impl<'a> Record<'a> {
    /// The record of `rec`, its bounds kept in `bounds`.
    pub(crate) fn of(rec: &'a ByteRecord, bounds: &'a mut Vec<usize>) -> Record<'a> {
        bounds.clear();
        bounds.push(0);
        bounds.extend((0..rec.len()).map(|i| rec.range(i).map_or(0, |r| r.end)));
        Record {
            text: rec.as_slice(),
            bounds,
            gap: 0,
        }
    }

    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// Field `i`, if the record has it.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.bounds.get(i + 1)?;
        Some(&self.text[self.bounds[i]..end - self.gap])
    }

    /// Field `i` (panics if the record has fewer fields).
    #[inline]
    pub(crate) fn field(&self, i: usize) -> &'a [u8] {
        self.get(i).expect("a field within the record")
    }

    /// The fields in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.field(i))
    }
}

impl std::ops::Index<usize> for Record<'_> {
    type Output = [u8];

    #[inline]
    fn index(&self, i: usize) -> &[u8] {
        self.field(i)
    }
}

/// Where reading a source resumes: the index of the next record and, for
/// delimited text, the byte offset and line number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// Index of the next record (the header candidates count).
    pub(crate) index: usize,
    byte: usize,
    line: u64,
}

impl Cursor {
    /// The first record.
    pub(crate) const START: Cursor = Cursor {
        index: 0,
        byte: 0,
        line: 1,
    };

    /// The line at the cursor (that of the next record, or the line ending
    /// just before it).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }
}

/// A source loaded for scanning (more than once, from any [`Cursor`]).
#[derive(Debug)]
pub(crate) enum Loaded {
    /// Delimited text, decoded to UTF-8 (BOM removed).
    Text {
        text: Text,
        delimiter: u8,
        encoding: &'static str,
        /// The detector's confidence, when the encoding was detected.
        confidence: Option<f64>,
    },
    /// Records with their lines (Excel, JSON); the first is the header for
    /// JSON.
    Records(Vec<(u64, std::result::Result<ByteRecord, String>)>),
    /// A Parquet file, read slice by slice ([`ParquetRows`]): record 0 is
    /// the header (column names), record `i` is row `i - 1`.
    Parquet {
        names: Vec<String>,
        rows: usize,
        metadata: FileMetadataRef,
    },
}

/// The bytes of a delimited-text source.
#[derive(Debug)]
pub(crate) enum Text {
    /// Decoded and held whole.
    Whole(Vec<u8>),
    /// Valid UTF-8 (checked when loaded) read from the file a window at a
    /// time: `len` bytes after the first `skip` (a BOM), holding `newlines`
    /// line feeds, past the page cache when `direct`
    /// ([`sipas_core::direct::DirectReader`]). Memory holds one window, not
    /// the file; the buffer of a window is kept in `spare` when it is dropped
    /// and read into by the next, so the windows of a chunk after another
    /// reuse the same memory (a fresh buffer is pages the kernel must zero
    /// first), and the bytes they share (a chunk's window reaches past its
    /// end, where the next chunk starts) are moved, not read again.
    File {
        path: PathBuf,
        skip: u64,
        len: usize,
        newlines: u64,
        direct: bool,
        spare: std::sync::Mutex<Spare>,
        ahead: std::sync::Mutex<Option<Ahead>>,
    },
}

/// A read of the bytes after a window, started on its own thread when the
/// window was read, so that the next window finds them read while the
/// rows of this one were parsed: the reads past the page cache do not wait
/// between chunks (at 10⁸ rows the windows' reads took 13 s).
#[derive(Debug)]
pub(crate) struct Ahead {
    /// The file offset read from (a multiple of [`ALIGN`]).
    pos: u64,
    /// The bytes asked for.
    asked: usize,
    /// The buffer and the bytes read into it.
    job: std::thread::JoinHandle<(AlignedBuf, std::io::Result<usize>)>,
}

impl Ahead {
    /// Starts reading `len` bytes of `path` from `pos` (a multiple of
    /// [`ALIGN`]) on a thread of its own, into `buf` if it is large enough.
    /// An error (opening or reading) is left for the window that needs the
    /// bytes: it reads them itself.
    fn start(path: &Path, direct: bool, pos: u64, len: usize, buf: Option<AlignedBuf>) -> Self {
        let path = path.to_path_buf();
        let mut buf = buf
            .filter(|b| b.capacity() >= len)
            .unwrap_or_else(|| AlignedBuf::new(len));
        let job = std::thread::spawn(move || {
            let got = DirectReader::open(&path, direct)
                .and_then(|r| r.read_at(&mut buf.bytes_mut()[..len], pos));
            (buf, got)
        });
        Ahead {
            pos,
            asked: len,
            job,
        }
    }
}

/// Windows of at least this many bytes read the next ones ahead ([`Ahead`]);
/// smaller ones (the few KiB looked at between records) leave them alone.
/// The tests' windows are smaller.
const AHEAD_MIN: usize = if cfg!(test) { 4096 } else { 1 << 20 };

#[cfg(test)]
thread_local! {
    /// The bytes windows took from reads ahead, on this thread.
    static AHEAD_TAKEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The buffer of the last window dropped: the file's bytes
/// `start..start + filled` at its beginning.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    buf: Option<AlignedBuf>,
    start: u64,
    filled: usize,
}

impl Text {
    /// The text's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Text::Whole(b) => b.len(),
            Text::File { len, .. } => *len,
        }
    }

    /// The number of line feeds.
    pub(crate) fn newlines(&self) -> u64 {
        match self {
            Text::Whole(b) => b.par_chunks(1 << 20).map(count_newlines).sum(),
            Text::File { newlines, .. } => *newlines,
        }
    }

    /// Bytes held in memory.
    pub(crate) fn held(&self) -> usize {
        match self {
            Text::Whole(b) => b.len(),
            Text::File { .. } => 0,
        }
    }

    /// The bytes from `from`, at most `len` of them (fewer at the end).
    /// The file is read from the [`ALIGN`]ed offset at or before them, into
    /// an aligned buffer, in whole aligned blocks (as reads past the page
    /// cache must be); the bytes the last window read from there on are
    /// moved to the buffer's beginning rather than read again.
    fn window(&self, from: usize, len: usize) -> Result<Window<'_>> {
        match self {
            Text::Whole(_) => unreachable!("a whole text is viewed, not windowed"),
            Text::File {
                path,
                skip,
                len: total,
                direct,
                spare,
                ahead,
                ..
            } => {
                let from = from.min(*total);
                let n = len.min(*total - from);
                let io = |source| Error::Io {
                    path: path.clone(),
                    source,
                };
                let changed =
                    |msg: String| io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, msg));
                let reader = DirectReader::open(path, *direct).map_err(io)?;
                let expected = *skip + *total as u64;
                let size = reader.size().map_err(io)?;
                if size != expected {
                    return Err(changed(format!(
                        "the file changed since it was checked ({size} bytes, {expected} expected)"
                    )));
                }
                let pos = *skip + from as u64;
                let start = pos - pos % ALIGN as u64;
                let lead = usize::try_from(pos - start).expect("below ALIGN");
                let need = lead + n;
                let cap = need.next_multiple_of(ALIGN).max(ALIGN);
                // The spare buffer if no other window holds it.
                let last = spare
                    .lock()
                    .map(|mut s| std::mem::take(&mut *s))
                    .unwrap_or_default();
                let (mut buf, kept) = match last.buf {
                    Some(mut buf) if buf.capacity() >= cap => {
                        let end = last.start + last.filled as u64;
                        let kept = if last.start <= start && start < end {
                            let k0 = usize::try_from(start - last.start).expect("in the buffer");
                            let k = (last.filled - k0).min(cap);
                            buf.bytes_mut().copy_within(k0..k0 + k, 0);
                            // Whole aligned blocks, unless all that is needed.
                            if k >= need { k } else { k - k % ALIGN }
                        } else {
                            0
                        };
                        (buf, kept)
                    }
                    _ => (AlignedBuf::new(cap), 0),
                };
                let big = cap >= AHEAD_MIN;
                let (mut filled, mut ended) = (kept, false);
                // The bytes a read ahead got, if it started where this
                // window goes on (a read that failed is made again here, to
                // report its error).
                let mut recycled = None;
                if filled < need
                    && big
                    && let Some(Ahead {
                        pos: at,
                        asked,
                        job,
                    }) = ahead.lock().ok().and_then(|mut a| a.take())
                    && let Ok((got_buf, Ok(got))) = job.join()
                {
                    if at == start + filled as u64 {
                        let n = got.min(cap - filled);
                        buf.bytes_mut()[filled..filled + n].copy_from_slice(&got_buf.bytes()[..n]);
                        filled += n;
                        ended = got < asked;
                        #[cfg(test)]
                        AHEAD_TAKEN.with(|t| t.set(t.get() + n));
                    }
                    recycled = Some(got_buf);
                }
                if filled < need && !ended {
                    filled += reader
                        .read_at(&mut buf.bytes_mut()[filled..cap], start + filled as u64)
                        .map_err(io)?;
                }
                // The next bytes, read while this window's rows are parsed:
                // as many as this window did not have from the last one (the
                // next window keeps the rest of these, as this one kept the
                // last one's; reading a whole window ahead read a quarter of
                // the file twice).
                let next = start + filled as u64;
                if big
                    && filled == cap
                    && next < expected
                    && let Ok(mut slot) = ahead.lock()
                    && slot.is_none()
                {
                    let fresh = (filled - kept).next_multiple_of(ALIGN).max(ALIGN);
                    *slot = Some(Ahead::start(path, *direct, next, fresh, recycled));
                }
                if filled < need {
                    return Err(changed(format!(
                        "the file is shorter than when it was checked ({n} bytes expected at offset {pos})"
                    )));
                }
                Ok(Window {
                    held: Spare {
                        buf: Some(buf),
                        start,
                        filled,
                    },
                    lead,
                    n,
                    base: from,
                    len: *total,
                    home: spare,
                })
            }
        }
    }
}

/// Bytes `base..base + n` of a text of `len` bytes, at `lead` in the
/// buffer `held` (which goes back to `home` when the window is dropped).
struct Window<'a> {
    held: Spare,
    lead: usize,
    n: usize,
    base: usize,
    len: usize,
    home: &'a std::sync::Mutex<Spare>,
}

impl Drop for Window<'_> {
    fn drop(&mut self) {
        if let Ok(mut spare) = self.home.lock() {
            // Keep the larger of the two buffers.
            let cap = |s: &Spare| s.buf.as_ref().map_or(0, AlignedBuf::capacity);
            if cap(&spare) <= cap(&self.held) {
                *spare = std::mem::take(&mut self.held);
            }
        }
    }
}

impl Window<'_> {
    /// The window's bytes.
    fn bytes(&self) -> &[u8] {
        let buf = self.held.buf.as_ref().expect("held until dropped");
        &buf.bytes()[self.lead..self.lead + self.n]
    }

    fn view(&self, delimiter: u8) -> View<'_> {
        View {
            bytes: self.bytes(),
            base: self.base,
            len: self.len,
            delimiter,
        }
    }
}

/// A view of delimited text: its bytes from offset `base` (all offsets are
/// from the start of the text), of a text of `len` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    bytes: &'a [u8],
    base: usize,
    len: usize,
    delimiter: u8,
}

impl<'a> View<'a> {
    /// The whole of a text held in memory.
    fn whole(bytes: &'a [u8], delimiter: u8) -> Self {
        View {
            bytes,
            base: 0,
            len: bytes.len(),
            delimiter,
        }
    }

    /// The offset after the view's last byte.
    fn end(&self) -> usize {
        self.base + self.bytes.len()
    }

    /// Whether the view reaches the end of the text.
    fn eof(&self) -> bool {
        self.end() >= self.len
    }

    /// Bytes `a..b` (offsets from the start of the text, within the view).
    fn slice(&self, a: usize, b: usize) -> &'a [u8] {
        &self.bytes[a - self.base..b - self.base]
    }

    fn byte(&self, at: usize) -> u8 {
        self.bytes[at - self.base]
    }

    /// Reads the records that start at or after `at` and before byte `end`
    /// (see [`Loaded::scan_from`]).
    pub(crate) fn scan_until(
        &self,
        path: &Path,
        at: Cursor,
        end: usize,
        f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
    ) -> Result<(Cursor, usize)> {
        scan_text(*self, path, at, usize::MAX, end, f)
    }
}

/// The first window a sequential scan of a windowed text reads (it doubles
/// while one record does not fit).
const SCAN_WINDOW: usize = 1 << 20;

/// How a text source was read (all `None` for other formats).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextInfo {
    pub(crate) encoding: Option<String>,
    pub(crate) confidence: Option<f64>,
    pub(crate) delimiter: Option<String>,
}

/// A delimiter as the report shows it (`\t` for tab).
pub(crate) fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "\\t".to_string(),
        d => char::from(d).to_string(),
    }
}

/// Rows per slice when a Parquet source is scanned record by record.
const PARQUET_SCAN_ROWS: usize = 1 << 16;

impl Loaded {
    /// The encoding (and detection confidence) and delimiter of a text
    /// source, for the report.
    pub(crate) fn text_info(&self) -> TextInfo {
        match self {
            Loaded::Text {
                delimiter,
                encoding,
                confidence,
                ..
            } => TextInfo {
                encoding: Some((*encoding).to_string()),
                confidence: *confidence,
                delimiter: Some(delimiter_name(*delimiter)),
            },
            _ => TextInfo::default(),
        }
    }

    /// Calls `f(index, line, row)` for every record (header candidates
    /// included) until it returns `false`.
    pub(crate) fn scan(
        &self,
        path: &Path,
        f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
    ) -> Result<()> {
        self.scan_from(path, Cursor::START, usize::MAX, f)?;
        Ok(())
    }

    /// Calls `f(index, line, row)` for at most `max` records from `at`,
    /// until it returns `false`. Returns the cursor after the last record
    /// read and the number of records read (fewer than `max` only at the
    /// end of the source or when `f` stopped).
    pub(crate) fn scan_from(
        &self,
        path: &Path,
        at: Cursor,
        max: usize,
        f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
    ) -> Result<(Cursor, usize)> {
        match self {
            Loaded::Text {
                text: Text::Whole(bytes),
                delimiter,
                ..
            } => scan_text(View::whole(bytes, *delimiter), path, at, max, usize::MAX, f),
            Loaded::Text {
                text, delimiter, ..
            } => scan_windows(text, *delimiter, path, at, max, f),
            Loaded::Records(recs) => {
                let end = recs.len().min(at.index.saturating_add(max));
                let mut i = at.index;
                let mut bounds = Vec::new();
                while i < end {
                    let (line, r) = &recs[i];
                    let row = match r {
                        Ok(rec) => Ok(Record::of(rec, &mut bounds)),
                        Err(msg) => Err(msg.clone()),
                    };
                    i += 1;
                    if !f(i - 1, *line, row) {
                        break;
                    }
                }
                let n = i - at.index.min(i);
                Ok((Cursor { index: i, ..at }, n))
            }
            Loaded::Parquet {
                names,
                rows,
                metadata,
            } => {
                let mut i = at.index;
                let end = (rows + 1).min(at.index.saturating_add(max));
                if i == 0 && end > 0 {
                    let header: ByteRecord = names.iter().map(String::as_bytes).collect();
                    i = 1;
                    let mut bounds = Vec::new();
                    if !f(0, 1, Ok(Record::of(&header, &mut bounds))) {
                        return Ok((Cursor { index: 1, ..at }, 1));
                    }
                }
                while i < end {
                    let len = PARQUET_SCAN_ROWS.min(end - i);
                    let part = ParquetRows::read(path, metadata, i - 1, len)?;
                    let mut go = true;
                    let mut read = 0;
                    part.scan(0..len, &mut |j, line, row| {
                        read += 1;
                        go = f(j, line, row);
                        go
                    });
                    i += read;
                    if !go {
                        break;
                    }
                }
                let n = i - at.index.min(i);
                Ok((Cursor { index: i, ..at }, n))
            }
        }
    }

    /// The cursor of record `index` (the records before it are read and
    /// discarded).
    pub(crate) fn cursor_at(&self, path: &Path, index: usize) -> Result<Cursor> {
        match self {
            Loaded::Text { .. } => Ok(self
                .scan_from(path, Cursor::START, index, &mut |_, _, _| true)?
                .0),
            _ => Ok(Cursor {
                index,
                ..Cursor::START
            }),
        }
    }
}

/// [`Loaded::scan_from`] for a text read window by window: each window is
/// read once to find the records that end inside it (the last record read
/// may be cut by the window's end, unless the window reaches the end of the
/// text), then again calling `f` on those. A window holding not even one
/// whole record is doubled.
fn scan_windows(
    text: &Text,
    delimiter: u8,
    path: &Path,
    mut at: Cursor,
    max: usize,
    f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
) -> Result<(Cursor, usize)> {
    let (mut done, mut size) = (0usize, SCAN_WINDOW);
    while done < max && skip_text_terminators(text, at.byte)? < text.len() {
        let w = text.window(at.byte, size)?;
        let v = w.view(delimiter);
        let (end, n) = scan_text(v, path, at, max - done, usize::MAX, &mut |_, _, _| true)?;
        // Records that certainly end inside the window.
        let whole = if !v.eof() && end.byte >= v.end() {
            n.saturating_sub(1)
        } else {
            n
        };
        if whole == 0 {
            if v.eof() {
                break;
            }
            size = size.saturating_mul(2);
            continue;
        }
        let mut go = true;
        let (next, read) = scan_text(v, path, at, whole, usize::MAX, &mut |i, line, row| {
            go = f(i, line, row);
            go
        })?;
        done += read;
        at = next;
        if !go {
            break;
        }
    }
    Ok((at, done))
}

/// The first byte from `at` of a text that is not a line terminator (the
/// text's length if none).
fn skip_text_terminators(text: &Text, mut at: usize) -> Result<usize> {
    match text {
        Text::Whole(bytes) => Ok(skip_terminators(View::whole(bytes, b','), at)),
        Text::File { .. } => loop {
            let w = text.window(at, 4096)?;
            let v = w.view(b',');
            let next = skip_terminators(v, at);
            if next < v.end() || v.eof() {
                return Ok(next);
            }
            at = next;
        },
    }
}

/// One part of a delimited-text chunk read by [`Loaded::scan_text_parts`]:
/// where it starts, its number of records, and what the reader made of them.
#[derive(Debug)]
pub(crate) struct TextPart<T> {
    pub(crate) at: Cursor,
    pub(crate) n: usize,
    pub(crate) out: T,
}

/// The first byte from `at` that is not a line terminator: where a reader
/// started at `at` finds its next record (the csv reader skips `\r` and `\n`
/// between records, blank lines included).
fn skip_terminators(v: View<'_>, mut at: usize) -> usize {
    while at < v.end() && matches!(v.byte(at), b'\r' | b'\n') {
        at += 1;
    }
    at
}

/// The number of `"` in `b`.
#[allow(clippy::naive_bytecount)] // LLVM vectorises this; no extra crate.
fn count_quotes(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'"').count()
}

/// The first line start at or after `from` that is outside quotes, the text
/// from the chunk's start to `from` holding an odd number of `"` when
/// `quoted` (quote parity: `""` inside a quoted field counts twice). A guess:
/// exact for well-formed quoting, and checked by the reader.
fn line_start_outside_quotes(v: View<'_>, from: usize, mut quoted: bool) -> usize {
    for (i, &b) in v.slice(from, v.end()).iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return skip_terminators(v, from + i + 1),
            _ => {}
        }
    }
    v.end()
}

impl Loaded {
    /// Reads the records of a delimited-text source from `at` on, about
    /// `budget` bytes of them, in (at most) `parts` parts on the rayon pool:
    /// `read(start, end)` reads one part, the records that start at or after
    /// cursor `start` and before byte `end` (with [`Loaded::scan_until`]),
    /// and returns what it made of them, the cursor after them and their
    /// number. Returns the parts in order and the cursor after the last.
    ///
    /// The parts are exactly the records one sequential reader finds:
    /// part boundaries are guessed at line starts outside quotes (a first
    /// pass counts `"` to know the quote parity at each guess, so a newline
    /// inside a quoted field is not taken for one), and each guess is checked:
    /// a part is kept only if the part before it ended exactly where it
    /// starts. Otherwise (malformed quoting: a stray `"` inside an unquoted
    /// field) the part is read again from where the part before it ended.
    /// Lines come from counting `\n` before each part. The record indices of
    /// the cursors are exact; the index `read` sees in a part is not.
    pub(crate) fn scan_text_parts<T: Send>(
        &self,
        at: Cursor,
        budget: usize,
        parts: usize,
        read: &PartReader<'_, T>,
    ) -> Result<TextChunk<T>> {
        let Loaded::Text {
            text, delimiter, ..
        } = self
        else {
            unreachable!("scan_text_parts reads delimited text only")
        };
        let budget = budget.max(1);
        match text {
            Text::Whole(bytes) => {
                text_parts(View::whole(bytes, *delimiter), at, budget, parts, read)
            }
            Text::File { .. } => {
                // The chunk's bytes and a margin for its last line; a chunk
                // whose reading ran into the window's end (a line longer than
                // the margin, or quoting gone wrong) is read again in a
                // larger window.
                let mut margin = (budget / 4).max(1);
                loop {
                    let w = text.window(at.byte, budget.saturating_add(margin))?;
                    let v = w.view(*delimiter);
                    let chunk = text_parts(v, at, budget, parts, read)?;
                    if v.eof() || chunk.next.byte < v.end() {
                        return Ok(chunk);
                    }
                    margin = margin.saturating_mul(4);
                }
            }
        }
    }
}

/// Reads one part of a delimited-text chunk: the records from a cursor to
/// a byte offset of a view, what it made of them, the cursor after them and
/// their number.
pub(crate) type PartReader<'a, T> =
    dyn Fn(View<'_>, Cursor, usize) -> Result<(T, Cursor, usize)> + Sync + 'a;

/// The parts of a delimited-text chunk ([`Loaded::scan_text_parts`]), the
/// cursor after the last, and whether nothing but line terminators follows
/// it in the text.
#[derive(Debug)]
pub(crate) struct TextChunk<T> {
    pub(crate) parts: Vec<TextPart<T>>,
    pub(crate) next: Cursor,
    pub(crate) done: bool,
}

/// [`Loaded::scan_text_parts`] within one view of the text.
fn text_parts<T: Send>(
    v: View<'_>,
    at: Cursor,
    budget: usize,
    parts: usize,
    read: &PartReader<'_, T>,
) -> Result<TextChunk<T>> {
    let start = at.byte.clamp(v.base, v.end());
    let stop = start.saturating_add(budget).min(v.end());
    let parts = parts.max(1);
    // Guessed boundaries: `targets[k]` is where part k would end by
    // size; the quotes before it give the parity there.
    let targets: Vec<usize> = (1..=parts)
        .map(|k| start + (stop - start) * k / parts)
        .collect();
    let quotes: Vec<usize> = targets
        .par_iter()
        .enumerate()
        .map(|(k, &t)| {
            let from = if k == 0 { start } else { targets[k - 1] };
            count_quotes(v.slice(from, t))
        })
        .collect();
    let mut parity = false;
    let parity_at: Vec<bool> = quotes
        .iter()
        .map(|&q| {
            parity ^= q % 2 == 1;
            parity
        })
        .collect();
    let mut bounds: Vec<usize> = targets
        .par_iter()
        .zip(&parity_at)
        .map(|(&t, &quoted)| {
            if t >= v.end() {
                v.end()
            } else {
                line_start_outside_quotes(v, t, quoted)
            }
        })
        .collect();
    bounds.dedup();
    bounds.retain(|&b| b > start);
    // Part k reads from `starts[k]` to `bounds[k]`, at line `lines[k]`.
    let starts: Vec<usize> = std::iter::once(start)
        .chain(bounds.iter().copied())
        .take(bounds.len())
        .collect();
    let newlines: Vec<u64> = starts
        .par_iter()
        .zip(&bounds)
        .map(|(&s, &e)| count_newlines(v.slice(s, e)))
        .collect();
    let mut line = at.line;
    let cursors: Vec<Cursor> = starts
        .iter()
        .zip(&newlines)
        .map(|(&s, &nl)| {
            let c = Cursor {
                index: at.index,
                byte: s,
                line,
            };
            line += nl;
            c
        })
        .collect();
    let mut read_parts: Vec<Result<(T, Cursor, usize)>> = cursors
        .par_iter()
        .zip(&bounds)
        .map(|(&c, &end)| read(v, c, end))
        .collect();
    // The check, in order: a part is kept if the one before it ended
    // where it starts, else read again from there.
    let mut out = Vec::with_capacity(read_parts.len());
    let mut next = Cursor { byte: start, ..at };
    for (k, r) in read_parts.drain(..).enumerate() {
        let resumed = skip_terminators(v, next.byte);
        let (t, end, n) = if k == 0 || resumed == cursors[k].byte {
            r?
        } else {
            read(v, next, bounds[k])?
        };
        out.push(TextPart {
            at: next,
            n,
            out: t,
        });
        next = Cursor {
            index: next.index + n,
            ..end
        };
    }
    let done = v.eof() && skip_terminators(v, next.byte) >= v.end();
    Ok(TextChunk {
        parts: out,
        next,
        done,
    })
}

/// [`Loaded::scan_from`] for delimited text, stopping after `max` records or
/// before a record that starts at or after byte `end`: records without a
/// quote or a lone carriage return are split here ([`scan_plain`]), from
/// the first other one on the csv crate reads them ([`scan_csv`]).
fn scan_text(
    v: View<'_>,
    path: &Path,
    at: Cursor,
    max: usize,
    end: usize,
    f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
) -> Result<(Cursor, usize)> {
    let (next, n, done) = scan_plain(v, at, max, end, f);
    if done {
        return Ok((next, n));
    }
    let (next, m) = scan_csv(v, path, next, max - n, end, f)?;
    Ok((next, n + m))
}

/// The records the csv crate would read from `at`, as long as each is one
/// line holding no `"` and no carriage return but the one of its `\r\n`:
/// such a record is its line split at the delimiter. The csv crate's
/// reading otherwise: blank lines skipped, `\r\n` or `\n` ending a record,
/// the cursor after a record at its `\n` when a `\r` ended it (the csv
/// crate's position), the view's end ending the last record. Returns the
/// cursor, the records read and whether reading is over (`max` records, a
/// record at or after `end`, `f` said stop, or the end of the view); when
/// not, the record at the cursor is for the csv crate.
fn scan_plain(
    v: View<'_>,
    at: Cursor,
    max: usize,
    end: usize,
    f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
) -> (Cursor, usize, bool) {
    let mut bounds = Vec::new();
    let stop = v.end();
    // `line` is the line at `pos`.
    let mut pos = at.byte.clamp(v.base, stop);
    let mut line = at.line;
    let mut n = 0;
    let cursor = |pos: usize, line: u64, n: usize| Cursor {
        index: at.index + n,
        byte: pos,
        line,
    };
    while n < max {
        // Blank lines and the `\n` of a `\r\n`: the record starts at
        // `first`, on line `first_line`.
        let (mut first, mut first_line) = (pos, line);
        while first < stop {
            match v.byte(first) {
                b'\n' => first_line += 1,
                b'\r' => {}
                _ => break,
            }
            first += 1;
        }
        if end < stop && first >= end {
            return (cursor(pos, line, n), n, true);
        }
        if first >= stop {
            return (cursor(first, first_line, n), n, true);
        }
        let rest = v.slice(first, stop);
        // The record's last byte (before its terminator) and where the next
        // read starts.
        let (len, after) = match memchr::memchr3(b'"', b'\r', b'\n', rest) {
            None => (rest.len(), rest.len()),
            Some(k) if rest[k] == b'\n' => (k, k + 1),
            Some(k) if rest[k] == b'\r' && rest.get(k + 1) == Some(&b'\n') => (k, k + 1),
            // A quote or a lone carriage return: the csv crate's.
            Some(_) => return (cursor(pos, line, n), n, false),
        };
        let record = &rest[..len];
        // Each field ends where a delimiter is (fields are short: eight
        // bytes at a time, not memchr).
        bounds.clear();
        bounds.push(0);
        delimiters(record, v.delimiter, &mut bounds);
        bounds.push(len + 1);
        let rec = Record {
            text: record,
            bounds: &bounds,
            gap: 1,
        };
        let go = f(at.index + n, first_line, Ok(rec));
        n += 1;
        pos = first + after;
        // A `\n` ending the record is behind the cursor (a `\r\n`'s is not).
        line = first_line + u64::from(after > len && rest[len] == b'\n');
        if !go {
            return (cursor(pos, line, n), n, true);
        }
    }
    (cursor(pos, line, n), n, true)
}

/// Pushes onto `out` the position after each `delimiter` in `record`, in
/// order.
fn delimiters(record: &[u8], delimiter: u8, out: &mut Vec<usize>) {
    let spread = u64::from(delimiter) * 0x0101_0101_0101_0101;
    let mut chunks = record.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ spread;
        let mut zero = sipas_core::bytes::zero_bytes(x);
        while zero != 0 {
            out.push(at + (zero.trailing_zeros() / 8) as usize + 1);
            zero &= zero - 1;
        }
        at += 8;
    }
    for (k, &b) in chunks.remainder().iter().enumerate() {
        if b == delimiter {
            out.push(at + k + 1);
        }
    }
}

/// [`scan_text`] with the csv crate. A new reader starts at the cursor's
/// byte offset, which [`csv::Reader::position`] guarantees to be the start
/// of the next record.
fn scan_csv(
    v: View<'_>,
    path: &Path,
    at: Cursor,
    max: usize,
    end: usize,
    f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
) -> Result<(Cursor, usize)> {
    let start = at.byte.clamp(v.base, v.end());
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(v.delimiter)
        .from_reader(v.slice(start, v.end()));
    let mut rec = ByteRecord::new();
    let mut bounds = Vec::new();
    // Lines are counted from byte offsets: the csv crate's own line count is
    // off after CRLF terminators. (`pos`, `line_at`): a byte offset and its line.
    let (mut pos, mut line_at) = (start, at.line);
    // The line at `byte` (at or after `start`).
    let line_from_start = |byte: usize| at.line + count_newlines(v.slice(start, byte.max(start)));
    let mut line_of = |byte: usize| {
        let mut byte = byte.min(v.end());
        // After `\r\n` a record's position is that of its `\n`.
        while byte < v.end() && matches!(v.byte(byte), b'\r' | b'\n') {
            byte += 1;
        }
        if byte >= pos {
            line_at += count_newlines(v.slice(pos, byte));
        } else {
            line_at = line_from_start(byte);
        }
        pos = byte;
        line_at
    };
    let offset = |p: u64| start + p as usize;
    let mut n = 0;
    while n < max {
        if end < v.end() && skip_terminators(v, offset(rdr.position().byte())) >= end {
            break;
        }
        let i = at.index + n;
        let go = match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map_or(0, |p| line_of(offset(p.byte())));
                f(i, line, Ok(Record::of(&rec, &mut bounds)))
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
                f(i, line_of(offset(byte)), Err(e.to_string()))
            }
        };
        n += 1;
        if !go {
            break;
        }
    }
    let end = offset(rdr.position().byte()).min(v.end());
    let line = if end >= pos {
        line_at + count_newlines(v.slice(pos, end))
    } else {
        line_from_start(end)
    };
    Ok((
        Cursor {
            index: at.index + n,
            byte: end,
            line,
        },
        n,
    ))
}

/// The columns of a slice of a Parquet file, ready to be read as text
/// records: integer columns are formatted on the fly (as a cast to text
/// would), other types are cast to text one slice at a time.
#[derive(Debug)]
pub(crate) struct ParquetRows {
    cols: Vec<FieldCol>,
    /// Index of the slice's first row in the file.
    first: usize,
    len: usize,
}

/// A column of a slice in one chunk, with its validity (`None`: no nulls).
#[derive(Debug)]
enum FieldCol {
    Str(StringChunked, Option<Valid>),
    U8(UInt8Chunked, Option<Valid>),
    Int(Int64Chunked, Option<Valid>),
}

/// Which values of a column are not null (one chunk).
#[derive(Debug)]
struct Valid(BooleanChunked);

fn with_validity<T: PolarsDataType>(ca: &ChunkedArray<T>) -> (ChunkedArray<T>, Option<Valid>) {
    let ca = ca.rechunk().into_owned();
    let validity = (ca.null_count() > 0).then(|| Valid(ca.is_not_null().rechunk().into_owned()));
    (ca, validity)
}

/// Opens a Parquet input, and maps polars' errors to ones naming it.
fn open_parquet(
    path: &Path,
) -> Result<(
    ParquetReader<File>,
    impl Fn(PolarsError) -> Error + Copy + '_,
)> {
    let f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let polars_err = |source| Error::Polars {
        path: path.to_path_buf(),
        source,
    };
    Ok((ParquetReader::new(f), polars_err))
}

/// Reads the metadata, column names and row count of a Parquet file.
pub(crate) fn parquet_meta(path: &Path) -> Result<(Vec<String>, usize, FileMetadataRef)> {
    let (mut r, polars_err) = open_parquet(path)?;
    let names = r
        .schema()
        .map_err(polars_err)?
        .iter_names()
        .map(ToString::to_string)
        .collect();
    let rows = r.num_rows().map_err(polars_err)?;
    let metadata = r.get_metadata().map_err(polars_err)?.clone();
    Ok((names, rows, metadata))
}

impl ParquetRows {
    /// Reads rows `first..first + len` of a Parquet file.
    pub(crate) fn read(
        path: &Path,
        metadata: &FileMetadataRef,
        first: usize,
        len: usize,
    ) -> Result<Self> {
        let (r, polars_err) = open_parquet(path)?;
        let mut r = r.with_slice(Some((first, len)));
        r.set_metadata(metadata.clone());
        let df = r.finish().map_err(polars_err)?;
        let cols = df
            .columns()
            .par_iter()
            .map(|c| {
                let col = match c.dtype() {
                    DataType::UInt8 => {
                        let (ca, v) = with_validity(c.u8()?);
                        FieldCol::U8(ca, v)
                    }
                    DataType::UInt16
                    | DataType::UInt32
                    | DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64 => {
                        let (ca, v) = with_validity(c.cast(&DataType::Int64)?.i64()?);
                        FieldCol::Int(ca, v)
                    }
                    _ => {
                        let (ca, v) = with_validity(c.cast(&DataType::String)?.str()?);
                        FieldCol::Str(ca, v)
                    }
                };
                Ok(col)
            })
            .collect::<PolarsResult<_>>()
            .map_err(polars_err)?;
        Ok(ParquetRows {
            cols,
            first,
            len: df.height(),
        })
    }

    /// Rows in the slice.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Calls `f(index, line, row)` for the rows `range` of the slice (record
    /// index = file row + 1, line = file row + 2) until it returns `false`.
    pub(crate) fn scan(
        &self,
        range: std::ops::Range<usize>,
        f: &mut dyn FnMut(usize, u64, Row<'_>) -> bool,
    ) {
        /// A column's values and validity, looked up once per call.
        enum Field<'a> {
            Str(&'a StrArray, Option<&'a BoolArray>),
            U8(&'a [u8], Option<&'a BoolArray>),
            Int(&'a [i64], Option<&'a BoolArray>),
        }
        fn valid(v: Option<&Valid>) -> Option<&BoolArray> {
            v.map(|v| v.0.downcast_as_array())
        }
        let fields: Vec<Field<'_>> = self
            .cols
            .iter()
            .map(|c| match c {
                FieldCol::Str(ca, v) => Field::Str(ca.downcast_as_array(), valid(v.as_ref())),
                FieldCol::U8(ca, v) => {
                    Field::U8(ca.downcast_as_array().values(), valid(v.as_ref()))
                }
                FieldCol::Int(ca, v) => {
                    Field::Int(ca.downcast_as_array().values(), valid(v.as_ref()))
                }
            })
            .collect();
        let is_valid = |v: Option<&BoolArray>, k: usize| v.is_none_or(|v| v.values().get_bit(k));
        let u8_text: Vec<Vec<u8>> = (0..=255u8).map(|b| b.to_string().into_bytes()).collect();
        let mut rec = ByteRecord::new();
        let mut bounds = Vec::new();
        let mut num = [0u8; 24];
        for k in range {
            rec.clear();
            for c in &fields {
                match *c {
                    Field::Str(a, v) => {
                        rec.push_field(if is_valid(v, k) {
                            a.value(k).as_bytes()
                        } else {
                            b""
                        });
                    }
                    Field::U8(a, v) => {
                        rec.push_field(if is_valid(v, k) {
                            &u8_text[a[k] as usize]
                        } else {
                            b""
                        });
                    }
                    Field::Int(a, v) => {
                        rec.push_field(if is_valid(v, k) {
                            fmt_int(a[k], &mut num)
                        } else {
                            b""
                        });
                    }
                }
            }
            let row = self.first + k;
            if !f(row + 1, row as u64 + 2, Ok(Record::of(&rec, &mut bounds))) {
                break;
            }
        }
    }
}

/// The arrow array types behind polars' chunked arrays (not re-exported by
/// polars under their own names).
type StrArray = <StringType as PolarsDataType>::Array;
type BoolArray = <BooleanType as PolarsDataType>::Array;

/// The decimal text of `v` (as polars casts an integer to text).
fn fmt_int(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut at = buf.len();
    let mut u = v.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// How text files without a BOM are decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    /// UTF-8, strictly: a byte sequence that is not UTF-8 stops the run
    /// ([`Error::InvalidUtf8`]).
    #[default]
    Utf8,
    /// The encoding named by the job or the command line.
    Named(&'static encoding_rs::Encoding),
    /// Detected per file between UTF-8 and CP1258 ([`detect_encoding`]).
    Auto,
}

impl TextEncoding {
    /// From an option value: `auto`, or an `encoding_rs` label.
    pub(crate) fn from_label(label: &str) -> Option<TextEncoding> {
        let label = label.trim();
        if label.eq_ignore_ascii_case("auto") {
            return Some(TextEncoding::Auto);
        }
        let enc = encoding_rs::Encoding::for_label(label.as_bytes())?;
        Some(if enc == encoding_rs::UTF_8 {
            TextEncoding::Utf8
        } else {
            TextEncoding::Named(enc)
        })
    }
}

/// How text files are decoded and split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextOpts {
    pub(crate) delimiter: Option<u8>,
    pub(crate) encoding: TextEncoding,
    /// A file larger than this many bytes that needs no transcoding (UTF-8)
    /// is read window by window ([`open_windowed`]) instead of whole.
    pub(crate) window_above: usize,
    /// A file read window by window larger than this many bytes is read
    /// past the page cache ([`sipas_core::direct::DirectReader`]).
    pub(crate) direct_above: usize,
}

impl Default for TextOpts {
    fn default() -> Self {
        TextOpts {
            delimiter: None,
            encoding: TextEncoding::default(),
            window_above: usize::MAX,
            direct_above: usize::MAX,
        }
    }
}

/// Bytes read at a time by [`open_windowed`]'s check.
const CHECK_BLOCK: usize = 8 << 20;

/// Room before each block of [`open_windowed`]'s check, for the bytes
/// carried from the block before (at most [`CHECK_CARRY`]): one aligned
/// block, so that the block itself is read at an aligned address.
const CHECK_ROOM: usize = ALIGN;
const _: () = assert!(CHECK_CARRY <= CHECK_ROOM);

/// Parts of a block checked in parallel ([`check_parts`]).
const CHECK_PARTS: usize = 16;

/// The most bytes after a block's last ASCII byte that [`check_parts`]
/// carries to the next block (more: the block is checked serially).
const CHECK_CARRY: usize = 64;

/// What the check of a block of [`open_windowed`] found in its bytes up to
/// `upto` (the rest is carried to the next block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checked {
    upto: usize,
    newlines: u64,
    /// Non-ASCII bytes (counted when detecting the encoding) ...
    non_ascii: usize,
    /// ... and those of them inside well-formed UTF-8 sequences.
    in_utf8: usize,
}

/// The check of a block of [`open_windowed`], byte for byte: all of it when
/// it is the `last`, else up to an incomplete sequence at its end (carried
/// to the next block). `Err(at)`: the offset of the first byte that is not
/// UTF-8, when not `detect`ing (strict UTF-8).
fn check_serial(data: &[u8], last: bool, detect: bool) -> std::result::Result<Checked, usize> {
    let (mut non_ascii, mut in_utf8) = (0usize, 0usize);
    let mut rest: &[u8] = data;
    let upto = loop {
        match std::str::from_utf8(rest) {
            Ok(ok) => {
                if detect {
                    let n = sipas_core::bytes::count_non_ascii(ok.as_bytes());
                    non_ascii += n;
                    in_utf8 += n;
                }
                break data.len();
            }
            Err(e) => {
                if detect {
                    let good = &rest[..e.valid_up_to()];
                    let n = sipas_core::bytes::count_non_ascii(good);
                    non_ascii += n;
                    in_utf8 += n;
                }
                let at = data.len() - rest.len() + e.valid_up_to();
                let Some(bad) = e.error_len().or(last.then(|| rest.len() - e.valid_up_to())) else {
                    break at;
                };
                if !detect {
                    return Err(at);
                }
                non_ascii += sipas_core::bytes::count_non_ascii(&data[at..at + bad]);
                rest = &data[at + bad..];
            }
        }
    };
    Ok(Checked {
        upto,
        newlines: count_newlines(&data[..upto]),
        non_ascii,
        in_utf8,
    })
}

/// The check of a block of [`open_windowed`] when all of it is well-formed
/// UTF-8: up to its last ASCII byte (the whole block when it is the `last`),
/// cut after ASCII bytes into parts checked on the rayon pool (a cut after an
/// ASCII byte never splits a sequence), its newlines and (when `detect`ing)
/// non-ASCII bytes counted. `None` when a part is not well-formed UTF-8, or
/// more than [`CHECK_CARRY`] bytes follow the last ASCII byte: the block is
/// then checked serially, byte for byte as before, which also finds and
/// names the error.
fn check_parts(data: &[u8], last: bool, detect: bool) -> Option<Checked> {
    let upto = if last {
        data.len()
    } else {
        let end = data.iter().rposition(u8::is_ascii)? + 1;
        (data.len() - end <= CHECK_CARRY).then_some(end)?
    };
    let body = &data[..upto];
    let mut cuts = vec![0];
    for k in 1..CHECK_PARTS {
        let at = (body.len() * k / CHECK_PARTS).max(*cuts.last().expect("one cut"));
        let at = body[at..]
            .iter()
            .position(u8::is_ascii)
            .map_or(body.len(), |i| at + i + 1);
        cuts.push(at);
    }
    cuts.push(body.len());
    let parts: Vec<Option<(u64, usize)>> = cuts
        .par_windows(2)
        .map(|w| {
            let part = std::str::from_utf8(&body[w[0]..w[1]]).ok()?.as_bytes();
            let non_ascii = if detect {
                sipas_core::bytes::count_non_ascii(part)
            } else {
                0
            };
            Some((count_newlines(part), non_ascii))
        })
        .collect();
    let mut c = Checked {
        upto,
        newlines: 0,
        non_ascii: 0,
        in_utf8: 0,
    };
    for (newlines, non_ascii) in parts.into_iter().collect::<Option<Vec<_>>>()? {
        c.newlines += newlines;
        c.non_ascii += non_ascii;
        c.in_utf8 += non_ascii;
    }
    Some(c)
}

/// Opens a text file larger than `opts.window_above` bytes to be read window
/// by window ([`Text::File`]), when it is UTF-8 (with or without a BOM):
/// the file is read once, a block at a time, to check it as
/// [`decode_text`] would (strict UTF-8, or the share of well-formed
/// sequences when detecting), count its lines and sniff its delimiter. A
/// file larger than `opts.direct_above` bytes is read past the page cache,
/// here and in its windows, and this read also hashes it (BLAKE3) for the
/// manifest, which would otherwise read it a third time
/// ([`sipas_core::direct::remember_read`]). `None` when the file is small, or must be decoded whole: a
/// UTF-16 BOM, a named encoding other than UTF-8, or CP1258 detected.
pub(crate) fn open_windowed(path: &Path, name: &str, opts: TextOpts) -> Result<Option<Loaded>> {
    open_windowed_by(path, name, opts, CHECK_BLOCK)
}

/// [`open_windowed`], its check reading `block` bytes at a time (a multiple
/// of [`ALIGN`] past the page cache; any size otherwise).
fn open_windowed_by(
    path: &Path,
    name: &str,
    opts: TextOpts,
    block: usize,
) -> Result<Option<Loaded>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let seen = sipas_core::direct::stamp(path);
    let size = usize::try_from(std::fs::metadata(path).map_err(io)?.len()).unwrap_or(usize::MAX);
    if size <= opts.window_above || matches!(opts.encoding, TextEncoding::Named(_)) {
        return Ok(None);
    }
    let mut head = Vec::with_capacity(3);
    File::open(path)
        .map_err(io)?
        .take(3)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(None);
    }
    let skip = if head == b"\xEF\xBB\xBF" { 3 } else { 0 };
    let direct = size > opts.direct_above && block.is_multiple_of(ALIGN);
    let reader = DirectReader::open(path, direct).map_err(io)?;
    let direct = reader.is_direct();
    let detect = opts.encoding == TextEncoding::Auto;
    // Past the page cache the file is hashed as it is checked: it will not
    // be cached when the manifest is written. A file read through the page
    // cache is hashed then, from memory, on every core.
    let mut hash = direct.then(blake3::Hasher::new);
    // Past the page cache, reads start at an aligned offset: the first block
    // holds the BOM, passed over in it; otherwise reading starts after it.
    let (mut pos, mut first_skip) = if direct {
        (0u64, skip as usize)
    } else {
        (skip, 0)
    };
    let (mut newlines, mut consumed) = (0u64, 0usize);
    let (mut non_ascii, mut in_utf8) = (0usize, 0usize);
    let mut delimiter = opts.delimiter;
    // A block is read after CHECK_ROOM bytes of room, where the bytes the
    // previous block carried over are put: no block is copied. The next
    // block is read while this one is checked (and hashed).
    let read_block = |buf: &mut AlignedBuf, pos: u64| {
        reader.read_at(&mut buf.bytes_mut()[CHECK_ROOM..CHECK_ROOM + block], pos)
    };
    let mut buf = AlignedBuf::new(CHECK_ROOM + block);
    let mut spare = AlignedBuf::new(CHECK_ROOM + block);
    let mut got = read_block(&mut buf, pos).map_err(io)?;
    let mut start = CHECK_ROOM;
    loop {
        let last = got == 0;
        let raw = &buf.bytes()[CHECK_ROOM..CHECK_ROOM + got];
        let data = &buf.bytes()[start + first_skip..CHECK_ROOM + got];
        first_skip = 0;
        if delimiter.is_none() {
            // From the first line (in the first block).
            delimiter = Some(sniff_delimiter(data));
        }
        // Most blocks: well-formed in every part, checked in parallel.
        let next_pos = pos + got as u64;
        // The read alone on one side: the disk is the slower of the two.
        let (checked, next) = rayon::join(
            || {
                let checked = check_parts(data, last, detect);
                if let Some(h) = hash.as_mut() {
                    h.update(raw);
                }
                checked
            },
            || {
                // A block shorter than asked ended the file.
                if got < block {
                    Ok(0)
                } else {
                    read_block(&mut spare, next_pos)
                }
            },
        );
        let c = match checked {
            Some(c) => c,
            // A block with something other than well-formed UTF-8.
            None => check_serial(data, last, detect).map_err(|at| Error::InvalidUtf8 {
                file: name.to_string(),
                line: newlines + count_newlines(&data[..at]) + 1,
                offset: skip as usize + consumed + at,
                byte: data[at],
            })?,
        };
        non_ascii += c.non_ascii;
        in_utf8 += c.in_utf8;
        newlines += c.newlines;
        consumed += c.upto;
        let upto = c.upto;
        if last {
            break;
        }
        got = next.map_err(io)?;
        pos = next_pos;
        // The bytes not checked yet go before the next block: at most
        // CHECK_CARRY after the last ASCII byte (`check_parts`), or an
        // incomplete sequence of at most 3 bytes (`check_serial`).
        let carry = &data[upto..];
        start = CHECK_ROOM - carry.len();
        spare.bytes_mut()[start..CHECK_ROOM].copy_from_slice(carry);
        std::mem::swap(&mut buf, &mut spare);
    }
    // Read whole, unchanged since: the manifest takes its hash from here.
    if let (Some(seen), Some(hash)) = (seen, hash)
        && pos == seen.0
    {
        sipas_core::direct::remember_read(path, seen, pos, &hash.finalize().to_hex());
    }
    let confidence = if !detect || skip > 0 {
        // A UTF-8 BOM decides the encoding, as for a text read whole
        // ([`decode_text`]): no confidence, and bad bytes are left to the rows.
        None
    } else if non_ascii == in_utf8 {
        Some(1.0)
    } else {
        #[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
        let share = in_utf8 as f64 / non_ascii as f64;
        if share < 0.5 {
            // CP1258: decoded whole.
            return Ok(None);
        }
        Some(share)
    };
    Ok(Some(Loaded::Text {
        text: Text::File {
            path: path.to_path_buf(),
            skip,
            len: consumed,
            newlines,
            direct,
            spare: std::sync::Mutex::default(),
            ahead: std::sync::Mutex::default(),
        },
        delimiter: delimiter.unwrap_or(b','),
        encoding: "UTF-8",
        confidence,
    }))
}

/// A decoded text file: UTF-8 bytes (BOM removed), the encoding's name and,
/// when it was detected, the detector's confidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) encoding: &'static str,
    pub(crate) confidence: Option<f64>,
}

/// Where a text file stops being UTF-8: 1-based line, 0-based byte offset
/// from the start of the file, and the offending byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadUtf8 {
    pub(crate) line: u64,
    pub(crate) offset: usize,
    pub(crate) byte: u8,
}

/// Counts of the non-ASCII bytes of a text: all of them, and those inside
/// well-formed UTF-8 sequences (the check of a last block, [`check_serial`]).
fn utf8_share(raw: &[u8]) -> (usize, usize) {
    let c = check_serial(raw, true, true).expect("detecting takes every byte");
    (c.non_ascii, c.in_utf8)
}

/// Detects the encoding of a text without a BOM: UTF-8 or CP1258 (Windows
/// Vietnamese, the other encoding Vietnamese offices save CSV in). The
/// confidence is the share of non-ASCII bytes that form well-formed UTF-8
/// sequences (for UTF-8) or do not (for CP1258); 1 for valid UTF-8 and for
/// pure ASCII. UTF-8 wins at a share of one half or more: its invalid bytes
/// stay as they are, and the rows holding them are quarantined as
/// `malformed_row` (or `invalid_answer`) rather than the whole file decoded
/// wrongly.
pub(crate) fn detect_encoding(raw: &[u8]) -> (&'static encoding_rs::Encoding, f64) {
    let (non_ascii, in_utf8) = utf8_share(raw);
    if non_ascii == in_utf8 {
        return (encoding_rs::UTF_8, 1.0);
    }
    #[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
    let share = in_utf8 as f64 / non_ascii as f64;
    if share >= 0.5 {
        (encoding_rs::UTF_8, share)
    } else {
        (encoding_rs::WINDOWS_1258, 1.0 - share)
    }
}

/// The first invalid UTF-8 sequence of `raw`, if any (`base` is the offset
/// of `raw` in its file, for a BOM).
fn first_bad_utf8(raw: &[u8], base: usize) -> Option<BadUtf8> {
    let e = std::str::from_utf8(raw).err()?;
    let at = e.valid_up_to();
    Some(BadUtf8 {
        line: count_newlines(&raw[..at]) + 1,
        offset: base + at,
        byte: raw[at],
    })
}

/// Decodes a text file to UTF-8: a BOM decides (UTF-8, UTF-16 LE/BE), then
/// the encoding option: strict UTF-8 (the default: `Err` at the first
/// invalid sequence), a named encoding, or detection ([`detect_encoding`]).
/// Non-UTF-8 input is NFC-normalised.
pub(crate) fn decode_text(
    raw: Vec<u8>,
    encoding: TextEncoding,
) -> std::result::Result<Decoded, BadUtf8> {
    use encoding_rs::{UTF_8, UTF_16BE, UTF_16LE};
    let decode = |enc: &'static encoding_rs::Encoding, bytes: &[u8]| {
        let (text, _) = enc.decode_without_bom_handling(bytes);
        sipas_core::text::nfc(&text).into_bytes()
    };
    let plain = |bytes, encoding| Decoded {
        bytes,
        encoding,
        confidence: None,
    };
    if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
        if encoding != TextEncoding::Auto
            && let Some(bad) = first_bad_utf8(rest, 3)
        {
            return Err(bad);
        }
        return Ok(plain(rest.to_vec(), "UTF-8"));
    }
    if let Some(rest) = raw.strip_prefix(&[0xFF, 0xFE]) {
        return Ok(plain(decode(UTF_16LE, rest), "UTF-16LE"));
    }
    if let Some(rest) = raw.strip_prefix(&[0xFE, 0xFF]) {
        return Ok(plain(decode(UTF_16BE, rest), "UTF-16BE"));
    }
    match encoding {
        TextEncoding::Utf8 => match first_bad_utf8(&raw, 0) {
            Some(bad) => Err(bad),
            None => Ok(plain(raw, "UTF-8")),
        },
        TextEncoding::Named(enc) => Ok(plain(decode(enc, &raw), enc.name())),
        TextEncoding::Auto => {
            let (enc, confidence) = detect_encoding(&raw);
            let bytes = if enc == UTF_8 { raw } else { decode(enc, &raw) };
            Ok(Decoded {
                bytes,
                encoding: enc.name(),
                confidence: Some(confidence),
            })
        }
    }
}

/// [`decode_text`] for the file `name`, with the error naming it.
pub(crate) fn decode_file(raw: Vec<u8>, encoding: TextEncoding, name: &str) -> Result<Decoded> {
    decode_text(raw, encoding).map_err(|bad| Error::InvalidUtf8 {
        file: name.to_string(),
        line: bad.line,
        offset: bad.offset,
        byte: bad.byte,
    })
}

/// The delimiter of a header line: the most frequent of `,` `;` tab `|`
/// outside quotes (the first in that order on ties; `,` when none occurs). An Excel `sep=;` line decides.
pub(crate) fn sniff_delimiter(text: &[u8]) -> u8 {
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if let Some(rest) = first.strip_prefix(b"sep=")
        && let [d] = rest
    {
        return *d;
    }
    let (mut counts, mut quoted) = ([0usize; 4], false);
    for &b in first {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            b'|' if !quoted => counts[3] += 1,
            _ => {}
        }
    }
    let best = (0..4).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    [b',', b';', b'\t', b'|'][best]
}

/// A decoded text source, its delimiter given or sniffed.
pub(crate) fn text_source(d: Decoded, opts: TextOpts) -> Loaded {
    let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&d.bytes));
    Loaded::Text {
        text: Text::Whole(d.bytes),
        delimiter,
        encoding: d.encoding,
        confidence: d.confidence,
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
        let p = dir.path().join("k.json");
        std::fs::write(
            &p,
            b"{\n \"count\": 1,\n \"next\": null,\n \"results\": []\n}\n",
        )
        .unwrap();
        assert_eq!(detect_format(&p).unwrap(), Ok(Format::KoboJson));
        std::fs::write(&p, b"{\"@odata.context\": \"x\", \"value\": []}").unwrap();
        assert_eq!(detect_format(&p).unwrap(), Ok(Format::OdkJson));
        std::fs::write(&p, b"{\"value\": [], \"a\": 1}\n{\"a\": 2}\n").unwrap();
        assert_eq!(detect_format(&p).unwrap(), Ok(Format::Ndjson));
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
        assert_eq!(
            sniff_delimiter(b"id|unit|period|a1\n1|x,y|2024Q1|4\n"),
            b'|'
        );
        assert_eq!(sniff_delimiter(b"a|b,c,d\n"), b',');
    }

    #[test]
    fn cp1258_and_utf16_are_decoded_to_nfc_utf8() {
        let cp1258 = TextEncoding::from_label("windows-1258").unwrap();
        // "Hòa" in CP1258: o + combining grave (0xCC); "Mỹ" = y + tilde (0xDE).
        let d = decode_text(b"Ho\xCCa;My\xDE\n".to_vec(), cp1258).unwrap();
        assert_eq!((d.encoding, d.confidence), ("windows-1258", None));
        assert_eq!(String::from_utf8(d.bytes).unwrap(), "Hòa;Mỹ\n");
        let mut le = vec![0xFF, 0xFE];
        le.extend("Xã\tb\n".encode_utf16().flat_map(u16::to_le_bytes));
        let d = decode_text(le, TextEncoding::Utf8).unwrap();
        assert_eq!(
            (String::from_utf8(d.bytes).unwrap().as_str(), d.encoding),
            ("Xã\tb\n", "UTF-16LE")
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend("Xã".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(
            decode_text(be, TextEncoding::Utf8).unwrap().bytes,
            "Xã".as_bytes()
        );
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_line_and_offset() {
        // "id,xã\n1,Hòa\n2,a\xFFb\n": the bad byte is on line 3, at byte
        // 7 ("id,xã\n") + 7 ("1,Hòa\n") + 3 ("2,a") = 17.
        let mut raw = "id,xã\n1,Hòa\n2,a".as_bytes().to_vec();
        raw.push(0xFF);
        raw.extend(b"b\n");
        let bad = decode_text(raw.clone(), TextEncoding::Utf8).unwrap_err();
        assert_eq!(
            bad,
            BadUtf8 {
                line: 3,
                offset: 17,
                byte: 0xFF
            }
        );
        assert_eq!(raw[17], 0xFF);
        // Named utf-8 is the same strict rule; behind a BOM the offset counts it.
        let named = TextEncoding::from_label("UTF-8").unwrap();
        assert_eq!(decode_text(raw.clone(), named).unwrap_err().offset, 17);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(&raw);
        assert_eq!(decode_text(bom, named).unwrap_err().offset, 20);
        // auto: UTF-8 (4 of 5 non-ASCII bytes, those of "ã" and "ò", are in
        // UTF-8 sequences), the bytes kept as they are.
        let d = decode_text(raw.clone(), TextEncoding::Auto).unwrap();
        assert_eq!((d.encoding, d.bytes), ("UTF-8", raw));
        let c = d.confidence.unwrap();
        assert!((c - 4.0 / 5.0).abs() < 1e-12, "{c}");
    }

    #[test]
    fn auto_detects_cp1258_with_its_confidence() {
        let auto = TextEncoding::from_label(" Auto ").unwrap();
        // CP1258 "Hòa;Mỹ": 2 non-ASCII bytes, none in a UTF-8 sequence.
        let d = decode_text(b"Ho\xCCa;My\xDE\n".to_vec(), auto).unwrap();
        assert_eq!(
            (d.encoding, d.confidence, d.bytes),
            ("windows-1258", Some(1.0), "Hòa;Mỹ\n".as_bytes().to_vec())
        );
        // Valid UTF-8 and pure ASCII: UTF-8 with confidence 1.
        let d = decode_text("Xã".as_bytes().to_vec(), auto).unwrap();
        assert_eq!((d.encoding, d.confidence), ("UTF-8", Some(1.0)));
        let d = decode_text(b"a,b\n".to_vec(), auto).unwrap();
        assert_eq!((d.encoding, d.confidence), ("UTF-8", Some(1.0)));
        assert_eq!(TextEncoding::from_label("klingon"), None);
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    /// Every record of `l` from `at` as (index, line, fields joined by `|`),
    /// read by one sequential reader.
    fn sequential(l: &Loaded, at: Cursor) -> Vec<(usize, u64, String)> {
        let mut got = Vec::new();
        l.scan_from(Path::new("f"), at, usize::MAX, &mut |i, line, row| {
            let rec = row.unwrap();
            let fields: Vec<String> = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            got.push((i, line, fields.join("|")));
            true
        })
        .unwrap();
        got
    }

    /// The same records read chunk by chunk (`budget` bytes each) in parts
    /// ([`Loaded::scan_text_parts`]); the record index comes from the parts'
    /// cursors.
    /// Also returns how many parts were read again (a boundary guess was
    /// wrong).
    fn in_parts(
        l: &Loaded,
        mut at: Cursor,
        budget: usize,
        parts: usize,
    ) -> (Vec<(usize, u64, String)>, usize) {
        let path = Path::new("f");
        let mut got = Vec::new();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let mut kept = 0;
        loop {
            let read = |v: View<'_>, start: Cursor, end: usize| {
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut recs = Vec::new();
                let (next, n) = v.scan_until(path, start, end, &mut |_, line, row| {
                    let fields: Vec<String> = row
                        .unwrap()
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect();
                    recs.push((line, fields.join("|")));
                    true
                })?;
                Ok((recs, next, n))
            };
            let chunk = l.scan_text_parts(at, budget, parts, &read).unwrap();
            let (ps, next) = (chunk.parts, chunk.next);
            kept += ps.len();
            for p in &ps {
                assert_eq!(p.n, p.out.len());
                for (j, (line, rec)) in p.out.iter().enumerate() {
                    got.push((p.at.index + j, *line, rec.clone()));
                }
            }
            let n: usize = ps.iter().map(|p| p.n).sum();
            if n == 0 || chunk.done {
                return (got, reads.into_inner() - kept);
            }
            at = next;
        }
    }

    #[test]
    fn parts_read_exactly_what_one_reader_reads() {
        // Quoted fields holding newlines and doubled quotes, CRLF and LF,
        // a blank line, a stray quote inside an unquoted field (it makes the
        // quote parity wrong for the rest of the text, so boundary guesses
        // go wrong and must be caught), and no final newline.
        let text: &[u8] = b"id,v,w\r\n\
1,\"a\r\nb\",x\r\n\
2,\"he said \"\"hi\"\"\nthen \"\"bye\"\"\",y\n\
\n\
3,5\" screen,z\n\
4,\"p\nq\nr\",\"\"\n\
5,plain,\"\"\"\"\n\
6,\"s,t\",u\r\n\
7,\"multi\r\n\r\nline\",v\n\
8,last,w";
        let l = Loaded::Text {
            text: Text::Whole(text.to_vec()),
            delimiter: b',',
            encoding: "UTF-8",
            confidence: None,
        };
        let want = sequential(&l, Cursor::START);
        // Worked out by hand: the blank line 6 is no record.
        let lines: Vec<u64> = want.iter().map(|w| w.1).collect();
        assert_eq!(lines, [1, 2, 4, 7, 8, 11, 12, 13, 16]);
        assert_eq!(want[2].2, "2|he said \"hi\"\nthen \"bye\"|y");
        assert_eq!(want[3].2, "3|5\" screen|z");
        assert_eq!(want[5].2, "5|plain|\"");
        assert_eq!(want[7].2, "7|multi\r\n\r\nline|v");
        let mut reread = 0;
        for budget in 1..=text.len() + 1 {
            for parts in [1, 2, 3, 8] {
                let (got, again) = in_parts(&l, Cursor::START, budget, parts);
                assert_eq!(got, want, "budget {budget}, {parts} parts");
                reread += again;
            }
        }
        // The stray quote did mislead some guesses, and the check caught them.
        assert!(reread > 0);
        // From a cursor after the header, as ingest reads.
        let at = l.cursor_at(Path::new("f"), 1).unwrap();
        for budget in [1, 7, 40, 1000] {
            assert_eq!(in_parts(&l, at, budget, 8).0, want[1..]);
        }

        // The same text read from its file a window at a time (after a BOM):
        // windows smaller than a record are grown, and records cut by a
        // window's end are read again from the next window.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, [b"\xEF\xBB\xBF".as_slice(), text].concat()).unwrap();
        // Through the page cache and past it.
        for direct_above in [usize::MAX, 0] {
            let opts = TextOpts {
                window_above: 0,
                direct_above,
                ..TextOpts::default()
            };
            let w = open_windowed(&path, "t.csv", opts).unwrap().unwrap();
            let Loaded::Text {
                text:
                    Text::File {
                        skip,
                        len,
                        newlines,
                        ..
                    },
                delimiter,
                ..
            } = &w
            else {
                panic!("not windowed")
            };
            assert_eq!((*skip, *len, *delimiter), (3, text.len(), b','));
            assert_eq!(*newlines, count_newlines(text));
            assert_eq!(sequential(&w, Cursor::START), want);
            for budget in 1..=text.len() + 1 {
                for parts in [1, 3, 8] {
                    assert_eq!(
                        in_parts(&w, Cursor::START, budget, parts).0,
                        want,
                        "windowed, budget {budget}, {parts} parts"
                    );
                }
            }
            let at = w.cursor_at(Path::new("f"), 1).unwrap();
            assert_eq!(at, l.cursor_at(Path::new("f"), 1).unwrap());
            assert_eq!(in_parts(&w, at, 7, 8).0, want[1..]);
        }
    }

    /// Windows reuse one buffer (the larger kept): each holds exactly its
    /// bytes whatever the buffer held before, and a file cut short after its
    /// check is an error naming the file, not a window of stale bytes.
    #[test]
    fn windows_reuse_one_buffer_and_see_a_shortened_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.csv");
        let body: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("{i},{}\n", i * 7).into_bytes())
            .collect();
        std::fs::write(&path, [b"\xEF\xBB\xBF".as_slice(), &body].concat()).unwrap();
        let opts = TextOpts {
            window_above: 0,
            ..TextOpts::default()
        };
        let Some(Loaded::Text { text, .. }) = open_windowed(&path, "w.csv", opts).unwrap() else {
            panic!("not windowed")
        };
        for (from, len) in [
            (0, 40_000),
            (17, 100),
            (30_000, 5_000),
            (40_000, 1 << 20),
            (3, 3),
        ] {
            let w = text.window(from, len).unwrap();
            let want = &body[from.min(body.len())..(from + len).min(body.len())];
            assert_eq!(w.bytes(), want, "window {from}+{len}");
            assert_eq!((w.base, w.len), (from.min(body.len()), body.len()));
        }
        let Text::File { spare, .. } = &text else {
            unreachable!()
        };
        let kept = spare.lock().unwrap().buf.as_ref().map(AlignedBuf::capacity);
        assert!(kept >= Some(body.len() - 40_000), "{kept:?}");
        // A file shorter, or longer, than when it was checked is an error
        // naming it, even where the last window's bytes would serve.
        for changed in [&body[..1000], &[&body[..], b"5000,1\n"].concat()[..]] {
            std::fs::write(&path, changed).unwrap();
            let err = text.window(0, 10).err().expect("a changed file");
            assert!(err.to_string().contains("w.csv"), "{err}");
        }
    }

    /// Windows read past the page cache, or through it, in any order and
    /// overlapping the last (whose shared bytes are moved, not read again),
    /// each hold exactly their bytes; the check reads the same file past the
    /// page cache and finds what it finds through it.
    #[test]
    fn windows_past_the_page_cache_hold_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let body: Vec<u8> = (0..40_000u32)
            .flat_map(|i| format!("{i},Hòa Bình {}\n", i * 7).into_bytes())
            .collect();
        let file = [b"\xEF\xBB\xBF".as_slice(), &body].concat();
        std::fs::write(&path, &file).unwrap();
        let mut rng = sipas_core::xorshift::XorShift64::new(7);
        let mut opened = Vec::new();
        for direct_above in [0, usize::MAX] {
            let opts = TextOpts {
                window_above: 0,
                direct_above,
                ..TextOpts::default()
            };
            let Some(l) = open_windowed_by(&path, "d.csv", opts, 3 * ALIGN).unwrap() else {
                panic!("not windowed")
            };
            let Loaded::Text {
                text:
                    text @ Text::File {
                        skip,
                        len,
                        newlines,
                        ..
                    },
                ..
            } = &l
            else {
                panic!("not windowed")
            };
            assert_eq!(
                (*skip, *len, *newlines),
                (3, body.len(), count_newlines(&body))
            );
            // Read past the page cache (where the file system allows), the
            // check hashed the file whole, as the manifest would.
            let direct = matches!(text, Text::File { direct: true, .. });
            if direct {
                assert_eq!(
                    sipas_core::direct::written(&path),
                    Some((file.len() as u64, blake3::hash(&file).to_hex().to_string()))
                );
            }
            let mut from = 0usize;
            let taken = AHEAD_TAKEN.with(std::cell::Cell::get);
            for _ in 0..200 {
                // Mostly the next chunk from inside the last window; now and
                // then anywhere.
                let len = 1 + usize::try_from(rng.next_u64() % 30_000).unwrap();
                if rng.next_u64().is_multiple_of(5) {
                    from = usize::try_from(rng.next_u64()).unwrap() % (body.len() + 10);
                }
                let w = text.window(from, len).unwrap();
                let a = from.min(body.len());
                assert_eq!(
                    w.bytes(),
                    &body[a..(a + len).min(body.len())],
                    "{from}+{len}"
                );
                from = (from + len * 4 / 5).min(body.len());
            }
            // Windows went on where the last one's read ahead started.
            let taken = AHEAD_TAKEN.with(std::cell::Cell::get) - taken;
            assert!(taken > 100_000, "{taken} bytes read ahead were used");
            opened.push(l.text_info());
        }
        assert_eq!(opened[0], opened[1]);
    }

    /// Options that read any text file window by window, in `encoding`.
    fn windowed(encoding: TextEncoding) -> TextOpts {
        TextOpts {
            window_above: 0,
            encoding,
            ..TextOpts::default()
        }
    }

    #[test]
    fn a_windowed_text_is_checked_like_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        // A bad byte after a multi-byte character cut by no block: the same
        // line, offset and byte as the whole-file check.
        let raw = b"id;t\n1;H\xc3\xb2a\n2;x\xffy\n".to_vec();
        std::fs::write(&path, &raw).unwrap();
        let e = open_windowed(&path, "t.csv", windowed(TextEncoding::Utf8)).unwrap_err();
        let whole = decode_file(raw.clone(), TextEncoding::Utf8, "t.csv").unwrap_err();
        assert_eq!(e.to_string(), whole.to_string());
        assert!(e.to_string().contains("line 3"), "{e}");
        // Detection: mostly UTF-8 stays windowed with the same confidence.
        let w = open_windowed(&path, "t.csv", windowed(TextEncoding::Auto))
            .unwrap()
            .unwrap();
        let d = decode_text(raw, TextEncoding::Auto).unwrap();
        assert_eq!(w.text_info().confidence, d.confidence);
        assert_eq!(w.text_info().delimiter.as_deref(), Some(";"));
        // CP1258 and UTF-16 are decoded whole; small files are read whole.
        std::fs::write(&path, b"id,t\n1,H\xf2a\n").unwrap();
        assert!(
            open_windowed(&path, "t.csv", windowed(TextEncoding::Auto))
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, b"\xFF\xFEi\0").unwrap();
        assert!(
            open_windowed(&path, "t.csv", windowed(TextEncoding::Auto))
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, b"id,t\n").unwrap();
        let small = TextOpts {
            window_above: 100,
            ..TextOpts::default()
        };
        assert!(open_windowed(&path, "t.csv", small).unwrap().is_none());
    }

    /// The check of a windowed text, block by block (blocks checked in
    /// parallel parts, or byte for byte where a block holds something other
    /// than UTF-8; multi-byte characters and bad bytes cut by block ends;
    /// blocks shorter than a character), finds what the whole-text check
    /// finds: the same lines and length, the same error (line, offset, byte)
    /// in strict UTF-8, the same confidence or CP1258 when detecting.
    #[test]
    fn a_text_checked_block_by_block_is_checked_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut rng = sipas_core::xorshift::XorShift64::new(0x9e37_79b9_7f4a_7c15);
        let mut draw = |m: u64| rng.next_u64() % m;
        let words: [&[u8]; 7] = [
            b"ma_don_vi",
            "Hòa Bình".as_bytes(),
            "Đại Từ".as_bytes(),
            "Thái Nguyên ✓".as_bytes(),
            "🙂".as_bytes(),
            b"\xff",
            b"H\xf2a",
        ];
        let (mut whole_errors, mut cp1258) = (0, 0);
        for case in 0..32 {
            let mut raw: Vec<u8> = if case % 5 == 0 {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            raw.extend_from_slice(b"id,t\n");
            let lines = 20 + draw(200);
            for i in 0..lines {
                raw.extend_from_slice(format!("{i},").as_bytes());
                for _ in 0..draw(4) {
                    // UTF-8 only; with a bad byte now and then; CP1258 only.
                    let w = match case % 4 {
                        0 | 1 => draw(5),
                        2 => draw(6),
                        _ => 5 + draw(2),
                    };
                    raw.extend_from_slice(words[w as usize]);
                }
                raw.push(b'\n');
            }
            std::fs::write(&path, &raw).unwrap();
            let whole = decode_file(raw.clone(), TextEncoding::Utf8, "t.csv");
            let detected = decode_text(raw.clone(), TextEncoding::Auto).unwrap();
            whole_errors += usize::from(whole.is_err());
            cp1258 += usize::from(detected.encoding != "UTF-8");
            for block in [1, 2, 3, 5, 17, 64, 65, 100, 1000, 1 << 20] {
                let at = format!("case {case}, block {block}");
                match (
                    open_windowed_by(&path, "t.csv", windowed(TextEncoding::Utf8), block),
                    &whole,
                ) {
                    (Ok(Some(w)), Ok(_)) => {
                        let Loaded::Text {
                            text:
                                Text::File {
                                    skip,
                                    len,
                                    newlines,
                                    ..
                                },
                            confidence: None,
                            ..
                        } = &w
                        else {
                            panic!("{at}: not windowed")
                        };
                        let body = &raw[usize::try_from(*skip).unwrap()..];
                        assert_eq!(
                            (*len, *newlines),
                            (body.len(), count_newlines(body)),
                            "{at}"
                        );
                    }
                    (Err(e), Err(f)) => assert_eq!(e.to_string(), f.to_string(), "{at}"),
                    (w, _) => panic!("{at}: {:?} against {whole:?}", w.map(|w| w.is_some())),
                }
                match open_windowed_by(&path, "t.csv", windowed(TextEncoding::Auto), block).unwrap()
                {
                    Some(w) => {
                        assert_eq!(detected.encoding, "UTF-8", "{at}");
                        assert_eq!(w.text_info().confidence, detected.confidence, "{at}");
                    }
                    None => assert_ne!(detected.encoding, "UTF-8", "{at}"),
                }
            }
        }
        // Valid and invalid texts, UTF-8 and CP1258 were all met.
        assert!((8..32).contains(&whole_errors), "{whole_errors}");
        assert!((4..24).contains(&cp1258), "{cp1258}");
    }

    /// Records split at the delimiter ([`scan_plain`], then the csv crate
    /// from the first record that needs it) read exactly as the csv crate
    /// alone reads them: the same records, lines and cursor, stopping after
    /// `max` records or before byte `end`, on texts of unquoted records with
    /// LF and CRLF ends, blank lines, lone carriage returns, quoted fields,
    /// empty fields and no final newline.
    #[test]
    fn unquoted_records_split_here_read_as_the_csv_crate_reads_them() {
        let pieces: [&[u8]; 13] = [
            b"1,a,b\n",
            b"1234567,abcdefghij,,klm;nopq,r,stuvwxyz0123,,,x,,,,,,,,,,y\r\n",
            b"22,,ccc\r\n",
            b"\n",
            b"\r\n",
            b"3;x,y\n",
            b",\n",
            b"4,\"q,r\",s\n",
            b"5,lone\rcr,t\n",
            b"6,v\r\n\r\n",
            b"   \n",
            b"7,\"a\nb\",c\r\n",
            b"8,w,x,y,z\n",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut draw = |m: u64| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % m
        };
        let path = Path::new("f");
        let read = |text: &[u8], at: Cursor, max: usize, end: usize, plain: bool| {
            let v = View::whole(text, b',');
            let mut got = Vec::new();
            let mut f = |i: usize, line: u64, row: Row<'_>| {
                let fields: Vec<String> = row
                    .unwrap()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                got.push((i, line, fields.join("|")));
                true
            };
            let (next, n) = if plain {
                scan_text(v, path, at, max, end, &mut f).unwrap()
            } else {
                scan_csv(v, path, at, max, end, &mut f).unwrap()
            };
            (got, next, n)
        };
        for case in 0..3000 {
            // Mostly unquoted, so the split records run long before a
            // record sends the rest to the csv crate.
            let mut text = Vec::new();
            for _ in 0..draw(30) {
                let k = draw(100) as usize;
                let piece = if k < 60 {
                    pieces[0]
                } else {
                    pieces[k % pieces.len()]
                };
                text.extend_from_slice(piece);
            }
            if draw(3) == 0 {
                text.extend_from_slice(b"9,end");
            }
            let (max, end) = (
                [usize::MAX, draw(10) as usize][case % 2],
                [usize::MAX, draw(text.len() as u64 + 2) as usize][(case / 2) % 2],
            );
            // From the start, and from a record boundary the csv crate gave.
            let whole = read(&text, Cursor::START, usize::MAX, usize::MAX, false);
            let mut starts = vec![Cursor::START];
            let (_, mid, _) = read(&text, Cursor::START, draw(5) as usize, usize::MAX, false);
            starts.push(mid);
            for at in starts {
                let want = read(&text, at, max, end, false);
                let got = read(&text, at, max, end, true);
                assert_eq!(
                    got,
                    want,
                    "case {case}: {:?} from {at:?}, max {max}, end {end}",
                    String::from_utf8_lossy(&text)
                );
            }
            assert!(whole.2 <= text.len());
        }
    }

    #[test]
    fn crlf_lines_are_exact() {
        let l = Loaded::Text {
            text: Text::Whole(b"h,x\r\na,1\r\n\"b\r\nc\",2\r\nd,3\r\n".to_vec()),
            delimiter: b',',
            encoding: "UTF-8",
            confidence: None,
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

#[cfg(test)]
mod parquet_tests {
    use super::*;

    #[test]
    fn integers_read_as_polars_casts_them_to_text() {
        let values = [
            Some(0i64),
            Some(7),
            Some(-12),
            None,
            Some(255),
            Some(i64::MAX),
            Some(i64::MIN),
        ];
        let col = Column::new("x".into(), values);
        let cast = col.cast(&DataType::String).unwrap();
        let cast: Vec<&str> = cast
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(""))
            .collect();
        let mut buf = [0u8; 24];
        let ours: Vec<String> = values
            .iter()
            .map(|v| {
                v.map_or(String::new(), |v| {
                    String::from_utf8(fmt_int(v, &mut buf).to_vec()).unwrap()
                })
            })
            .collect();
        assert_eq!(ours, cast);

        // Through a file: UInt8 and Int32 columns give the same records as text.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = DataFrame::new(
            3,
            vec![
                Column::new("s".into(), [Some("a"), None, Some("a long text value")]),
                Column::new("u".into(), [Some(4u8), None, Some(200)]),
                Column::new("i".into(), [Some(-3i32), Some(10), None]),
                Column::new("f".into(), [Some(1.5f64), Some(2.0), None]),
            ],
        )
        .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let (names, rows, meta) = parquet_meta(&path).unwrap();
        assert_eq!((names.len(), rows), (4, 3));
        let f = df.column("f").unwrap().cast(&DataType::String).unwrap();
        let f: Vec<String> = f
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect();
        let part = ParquetRows::read(&path, &meta, 1, 2).unwrap();
        let mut got = Vec::new();
        part.scan(0..part.len(), &mut |i, line, row| {
            let rec = row.unwrap();
            got.push((
                i,
                line,
                rec.iter()
                    .map(|b| String::from_utf8(b.to_vec()).unwrap())
                    .collect::<Vec<_>>(),
            ));
            true
        });
        let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                (2, 3, s(&["", "", "10", &f[1]])),
                (3, 4, s(&["a long text value", "200", "", ""])),
            ]
        );
    }
}
