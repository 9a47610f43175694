//! The small CSV inputs of aggregate (a population table, the PAR criteria): UTF-8 text, an
//! optional BOM, a header row.

use crate::{Error, Result};

/// A reader over `text` (its BOM dropped) and its header; a header that does not read is an
/// error naming `origin`.
pub(crate) fn with_header<'a>(
    text: &'a str,
    origin: &str,
) -> Result<(csv::Reader<&'a [u8]>, csv::StringRecord)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| Error::Data {
            origin: origin.to_string(),
            message: format!("cannot read the header: {e}"),
        })?
        .clone();
    Ok((reader, header))
}
