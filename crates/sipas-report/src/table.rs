//! A result table read back: its header looked up by the names of the results contract
//! ([`sipas_core::results`]), every field checked with the file, line and column in the error.

use std::path::{Path, PathBuf};

use sipas_core::Period;
use sipas_core::results as contract;

use crate::{Error, Result};

/// A CSV file with its header, for looking up columns by name.
pub(crate) struct Table {
    pub(crate) path: PathBuf,
    reader: csv::Reader<std::fs::File>,
    pub(crate) header: csv::StringRecord,
    spec: &'static contract::Table,
}

impl Table {
    /// Opens the contract's table `spec` in the results folder `dir`.
    pub(crate) fn open(dir: &Path, spec: &'static contract::Table) -> Result<Self> {
        let path = dir.join(spec.file);
        let path = path.as_path();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file);
        let header = reader
            .headers()
            .map_err(|source| Error::Csv {
                path: path.to_path_buf(),
                source,
            })?
            .clone();
        Ok(Table {
            path: path.to_path_buf(),
            reader,
            header,
            spec,
        })
    }

    /// [`Table::col`] of each name, in order.
    pub(crate) fn cols<const N: usize>(&self, names: [&'static str; N]) -> Result<[Col; N]> {
        let mut out = [Col { index: 0, name: "" }; N];
        for (c, name) in out.iter_mut().zip(names) {
            *c = self.col(name)?;
        }
        Ok(out)
    }

    /// The column `name`, one of the contract's fixed columns of this table.
    pub(crate) fn col(&self, name: &'static str) -> Result<Col> {
        debug_assert!(
            self.spec.column(name).is_some(),
            "`{name}` is not a column of {} in the results contract",
            self.spec.file
        );
        self.header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .map(|index| Col { index, name })
            .ok_or_else(|| Error::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
            })
    }

    pub(crate) fn rows(&mut self) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for rec in self.reader.records() {
            let record = rec.map_err(|source| Error::Csv {
                path: self.path.clone(),
                source,
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            out.push(Row { record, line });
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Col {
    pub(crate) index: usize,
    pub(crate) name: &'static str,
}

pub(crate) struct Row {
    record: csv::StringRecord,
    pub(crate) line: u64,
}

impl Row {
    pub(crate) fn bad(&self, path: &Path, col: Col, reason: impl Into<String>) -> Error {
        Error::Field {
            path: path.to_path_buf(),
            line: self.line,
            column: col.name.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn text(&self, col: Col) -> &str {
        self.record.get(col.index).unwrap_or("").trim()
    }

    pub(crate) fn opt_f64(&self, path: &Path, col: Col) -> Result<Option<f64>> {
        let s = self.text(col);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.bad(path, col, format!("`{s}` is not a finite number"))),
        }
    }

    pub(crate) fn count(&self, path: &Path, col: Col) -> Result<u64> {
        let s = self.text(col);
        s.parse::<u64>()
            .map_err(|_| self.bad(path, col, format!("`{s}` is not a count")))
    }

    pub(crate) fn period(&self, path: &Path, col: Col) -> Result<Period> {
        let s = self.text(col);
        s.parse::<Period>()
            .map_err(|_| self.bad(path, col, format!("`{s}` is not a period")))
    }

    pub(crate) fn opt_period(&self, path: &Path, col: Col) -> Result<Option<Period>> {
        if self.text(col).is_empty() {
            Ok(None)
        } else {
            self.period(path, col).map(Some)
        }
    }

    pub(crate) fn flag(&self, path: &Path, col: Col) -> Result<bool> {
        match self.text(col) {
            "true" => Ok(true),
            "false" => Ok(false),
            s => Err(self.bad(path, col, format!("`{s}` is not true or false"))),
        }
    }
}

/// `Some(count)`, or `None` for an empty field.
pub(crate) fn opt_count(row: &Row, path: &Path, col: Col) -> Result<Option<u64>> {
    if row.text(col).is_empty() {
        Ok(None)
    } else {
        row.count(path, col).map(Some)
    }
}
