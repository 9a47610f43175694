//! Cleans a response table with `clean_folder_with` and prints the totals: a
//! small driver for measuring time and memory on large tables.
//!
//! ```text
//! cargo run --release -p sipas-clean --example clean_dir -- DATA OUT [GROUP_ROWS] [CHUNK_ROWS] [file|period]
//! ```

use std::path::PathBuf;

use sipas_clean::FolderOptions;
use sipas_clean::{CleanOptions, Crosswalk};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: clean_dir DATA OUT [GROUP_ROWS] [CHUNK_ROWS] [file|period]".into());
    }
    let mut run = FolderOptions::default();
    if let Some(g) = args.get(2) {
        run.group_rows = g.parse()?;
    }
    if let Some(c) = args.get(3) {
        run.chunk_rows = c.parse()?;
    }
    if let Some(l) = args.get(4) {
        run.layout = l.parse()?;
    }
    let opts = CleanOptions {
        crosswalk: Some(Crosswalk::thai_nguyen()),
        ..CleanOptions::default()
    };
    let report = sipas_clean::clean_folder_with(
        &PathBuf::from(&args[0]),
        &PathBuf::from(&args[1]),
        None,
        &sipas_core::bundled::units(),
        &opts,
        &run,
    )?;
    let t = &report.totals;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(
        &mut out,
        format!(
            "rows_in {} kept {} excluded {} {:?}\n",
            t.rows_in, t.kept, t.excluded, t.excluded_by_reason
        )
        .as_bytes(),
    )?;
    Ok(())
}
