//! Zips of CSV files: ODK Central's "CSV zip" export (`form.csv`, and one
//! `form-<repeat>.csv` per repeat group, keyed to its parent by
//! `PARENT_KEY`). Every `.csv` entry is a source named `file.zip#entry.csv`,
//! read as delimited text; other entries (media attachments) are not read.

use std::io::Read;
use std::path::Path;

use crate::input::{InputFile, Loaded, TextOpts};
use crate::{Error, Result};

fn open(path: &Path) -> Result<zip::ZipArchive<std::io::Cursor<Vec<u8>>>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::Archive {
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
fn csv_entries(zip: &zip::ZipArchive<std::io::Cursor<Vec<u8>>>) -> Vec<String> {
    zip.file_names()
        .filter_map(std::result::Result::ok)
        .filter(|n| is_csv(n))
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
}

/// Whether a zip archive holds at least one `.csv` entry (false when it
/// cannot be read).
pub(crate) fn has_csv(path: &Path) -> bool {
    open(path).is_ok_and(|z| !csv_entries(&z).is_empty())
}

/// The bytes of the entry `file.sheet` of the zip `file.path`.
pub(crate) fn read_entry(file: &InputFile) -> Result<Vec<u8>> {
    let mut zip = open(&file.path)?;
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
    let zip = open(&file.path)?;
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
            let loaded = crate::input::load(&src, text)?;
            Ok((src, loaded))
        })
        .collect()
}
