//! Definition files (instrument, unit lists, pilots, crosswalks) read whole
//! and handed to their parser with the name their errors cite.

use std::path::{Path, PathBuf};

/// Reads the text file at `path` and parses it with `parse(text, origin)`,
/// where `origin` is the path as shown to people; a read failure becomes the
/// caller's own error through `io(path, cause)`.
///
/// # Errors
/// The read failure mapped by `io`, or whatever `parse` returns.
pub fn parse_file<T, E>(
    path: &Path,
    io: impl FnOnce(PathBuf, std::io::Error) -> E,
    parse: impl FnOnce(&str, &str) -> Result<T, E>,
) -> Result<T, E> {
    let text = std::fs::read_to_string(path).map_err(|source| io(path.to_path_buf(), source))?;
    parse(&text, &path.display().to_string())
}

/// [`parse_file`] with this crate's own error for a failed read.
pub(crate) fn parse_definition<T>(
    path: &Path,
    parse: impl FnOnce(&str, &str) -> crate::Result<T>,
) -> crate::Result<T> {
    parse_file(
        path,
        |path, source| crate::Error::Io { path, source },
        parse,
    )
}
