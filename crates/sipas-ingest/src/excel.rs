//! Excel workbooks (`.xlsx`, `.xls`) via calamine: every sheet is a source
//! (`file.xlsx#Sheet1`), its records are the sheet's rows with their row
//! numbers as lines. Cells become text: integral floats without decimals
//! (`4.0` → `4`), dates as ISO 8601 (`2024-02-15`, `2024-02-15T08:30:00`).

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};
use csv::ByteRecord;

use crate::input::{InputFile, Loaded};
use crate::{Error, Result};

fn open(file: &InputFile) -> Result<calamine::Sheets<Cursor<Vec<u8>>>> {
    let bytes = std::fs::read(&file.path).map_err(|source| Error::Io {
        path: file.path.clone(),
        source,
    })?;
    open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| Error::Excel {
        path: file.path.clone(),
        message: e.to_string(),
    })
}

/// The text of a cell.
pub(crate) fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::Error(e) => format!("#{e}"),
    }
}

fn sheet_records(
    file: &InputFile,
    wb: &mut calamine::Sheets<Cursor<Vec<u8>>>,
    sheet: &str,
) -> Result<Loaded> {
    let range = wb.worksheet_range(sheet).map_err(|e| Error::Excel {
        path: file.path.clone(),
        message: format!("sheet {sheet}: {e}"),
    })?;
    let first_row = range.start().map_or(0, |(r, _)| r);
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    let recs = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut rec = ByteRecord::new();
            // Columns left of the used range are empty.
            for _ in 0..first_col {
                rec.push_field(b"");
            }
            for c in cells {
                rec.push_field(cell_text(c).as_bytes());
            }
            (u64::from(first_row) + i as u64 + 1, Ok(rec))
        })
        .collect();
    Ok(Loaded::Records(recs))
}

/// Every sheet of a workbook, in workbook order, as (sheet source, records).
pub(crate) fn load_all(file: &InputFile) -> Result<Vec<(InputFile, Loaded)>> {
    let mut wb = open(file)?;
    let names = wb.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let loaded = sheet_records(file, &mut wb, &name)?;
            let src = InputFile {
                sheet: Some(name),
                ..file.clone()
            };
            Ok((src, loaded))
        })
        .collect()
}

/// One sheet of a workbook (`file.sheet` must be set).
pub(crate) fn load_sheet(file: &InputFile) -> Result<Loaded> {
    let mut wb = open(file)?;
    let name = file.sheet.clone().unwrap_or_default();
    sheet_records(file, &mut wb, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_text() {
        assert_eq!(cell_text(&Data::Float(4.0)), "4");
        assert_eq!(cell_text(&Data::Float(5443.0)), "5443");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::Int(7)), "7");
        assert_eq!(cell_text(&Data::Empty), "");
        assert_eq!(cell_text(&Data::String("Hài lòng".into())), "Hài lòng");
        let d = calamine::ExcelDateTime::new(45337.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(d)), "2024-02-15");
        let t = calamine::ExcelDateTime::new(45337.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(t)), "2024-02-15T12:00:00");
    }
}
