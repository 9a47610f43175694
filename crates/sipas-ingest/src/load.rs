//! Loading a discovered source by its format: the one place that sends
//! each format to its reader (delimited text and Parquet in
//! [`crate::input`], JSON in [`crate::json`], CSV zips in
//! [`crate::zipcsv`], workbooks in [`crate::excel`]). The readers use
//! `input`'s types and never this module, so the flow is one way:
//! `input` ← readers ← `load` ← `stream`.

use crate::input::{
    InputFile, Loaded, TextOpts, decode_file, open_windowed, parquet_meta, text_source,
};
use crate::json::JsonKind;
use crate::{Error, Format, Result};

/// How a JSON format is laid out.
pub(crate) fn json_kind(format: Format) -> JsonKind {
    match format {
        Format::Ndjson => JsonKind::Ndjson,
        Format::KoboJson => JsonKind::Page(crate::platform::PageKind::Kobo),
        Format::OdkJson => JsonKind::Page(crate::platform::PageKind::Odk),
        _ => JsonKind::Array,
    }
}

/// Loads a source for scanning, by its format.
pub(crate) fn load(file: &InputFile, opts: TextOpts) -> Result<Loaded> {
    let io = |source| Error::Io {
        path: file.path.clone(),
        source,
    };
    match file.format {
        Format::Csv => {
            if let Some(l) = open_windowed(&file.path, &file.name(), opts)? {
                return Ok(l);
            }
            let raw = std::fs::read(&file.path).map_err(io)?;
            Ok(text_source(
                decode_file(raw, opts.encoding, &file.name())?,
                opts,
            ))
        }
        Format::Json | Format::Ndjson | Format::KoboJson | Format::OdkJson => {
            let raw = std::fs::read(&file.path).map_err(io)?;
            Ok(crate::json::load(&raw, json_kind(file.format)).0)
        }
        Format::CsvZip => crate::zipcsv::load_entry(file, opts),
        Format::Parquet => {
            let (names, rows, metadata) = parquet_meta(&file.path)?;
            Ok(Loaded::Parquet {
                names,
                rows,
                metadata,
            })
        }
        Format::Xlsx | Format::Xls => crate::excel::load_sheet(file),
    }
}
