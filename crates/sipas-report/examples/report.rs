//! Renders a report from a results folder with the bundled pilot set:
//! `cargo run -p sipas-report --example report -- RESULTS OUT`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(results), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: report RESULTS OUT".into());
    };
    let pilots = sipas_core::bundled::pilots();
    let summary = sipas_report::write_report(&results, &pilots, &out)?;
    for f in &summary.files {
        println!("{}", f.display());
    }
    Ok(())
}
