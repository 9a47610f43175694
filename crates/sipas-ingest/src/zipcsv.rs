//! Zips of CSV files: ODK Central's "CSV zip" export (`form.csv`, and one
//! `form-<repeat>.csv` per repeat group, keyed to its parent by
//! `PARENT_KEY`). Every `.csv` entry is a source named `file.zip#entry.csv`,
//! read as delimited text; other entries (media attachments) are not read.

use std::io::Read;

use crate::input::{InputFile, Loaded, TextOpts, csv_entries, decode_file, open_zip, text_source};
use crate::{Error, Result};

/// The entry `file.sheet` of the zip `file.path`, decoded as delimited text.
pub(crate) fn load_entry(file: &InputFile, text: TextOpts) -> Result<Loaded> {
    let raw = read_entry(file)?;
    Ok(text_source(
        decode_file(raw, text.encoding, &file.name())?,
        text,
    ))
}

/// The bytes of the entry `file.sheet` of the zip `file.path`.
fn read_entry(file: &InputFile) -> Result<Vec<u8>> {
    let mut zip = open_zip(&file.path)?;
    let name = file.sheet.clone().unwrap_or_default();
    let mut entry = zip.by_name(&name).map_err(|e| Error::Archive {
        path: file.path.clone(),
        message: format!("zip entry {name}: {e}"),
    })?;
    let mut out = Vec::new();
    entry.read_to_end(&mut out).map_err(|source| Error::Io {
        path: file.path.clone(),
        source,
    })?;
    Ok(out)
}

/// Every `.csv` entry of the zip, sorted so that the main table (the
/// shortest name: `form.csv` before `form-repeat.csv`) comes first.
pub(crate) fn load_all(file: &InputFile, text: TextOpts) -> Result<Vec<(InputFile, Loaded)>> {
    let zip = open_zip(&file.path)?;
    let mut names = csv_entries(&zip);
    drop(zip);
    names.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    names
        .into_iter()
        .map(|name| {
            let src = InputFile {
                sheet: Some(name),
                ..file.clone()
            };
            let loaded = load_entry(&src, text)?;
            Ok((src, loaded))
        })
        .collect()
}
