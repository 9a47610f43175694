//! The `sipas` binary: parse arguments, run, report errors, exit.

use clap::Parser;

/// mimalloc keeps freed pages for reuse: polars' large column buffers are
/// allocated and freed chunk after chunk, and the system allocator maps
/// each afresh (the kernel zeroes every new page).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = sipas_cli::args::Args::parse();
    sipas_cli::logging::init(sipas_cli::logging::Verbosity::from_flags(
        args.quiet,
        args.verbose,
    ));
    let status = match sipas_cli::run(&args) {
        Ok(status) => status,
        Err(err) => sipas_cli::report_error(&err),
    };
    std::process::exit(status.code());
}
