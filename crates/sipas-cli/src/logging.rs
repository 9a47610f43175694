//! What the command says while it works: log lines with levels (`tracing`), and progress bars.
//!
//! - Stage summaries and errors are lines on stderr, never on stdout (stdout may be data).
//! - `-q` keeps only errors; `-v` adds the libraries' debug logs, `-vv` their trace logs;
//!   `RUST_LOG` (an `EnvFilter`, e.g. `RUST_LOG=sipas_clean=debug`) overrides both.
//! - When stderr is a terminal (and not `-q`), the libraries' progress events
//!   ([`sipas_core::progress`]) are drawn as one bar per piece of work, with rows/s and an ETA
//!   where the total is known; in a pipe or CI nothing but the plain lines is written.

use std::io::IsTerminal as _;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, filter};

/// How much the command says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Stage lines and warnings (the default).
    Normal,
    /// Also the libraries' debug logs (`-v`).
    Debug,
    /// Also their trace logs (`-vv`).
    Trace,
}

impl Verbosity {
    /// From the `-q` flag and the number of `-v` flags.
    pub fn from_flags(quiet: bool, verbose: u8) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Debug,
            (false, _) => Verbosity::Trace,
        }
    }
}

struct State {
    verbosity: Verbosity,
    /// Present when bars are drawn (stderr is a terminal).
    bars: Option<MultiProgress>,
}

static STATE: OnceLock<State> = OnceLock::new();

/// Installs the log subscriber and, on a terminal, the progress bars. Called once by `main`; a
/// second call (tests) keeps the first setting.
pub fn init(verbosity: Verbosity) {
    let terminal = std::io::stderr().is_terminal();
    let bars = (terminal && verbosity != Verbosity::Quiet)
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    if STATE
        .set(State {
            verbosity,
            bars: bars.clone(),
        })
        .is_err()
    {
        return;
    }
    let default = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "warn",
        Verbosity::Debug => {
            "warn,sipas=debug,sipas_core=debug,sipas_ingest=debug,sipas_clean=debug,sipas_aggregate=debug,sipas_report=debug,sipas_dataset=debug,sipas_synth=debug,sipas_cli=debug"
        }
        Verbosity::Trace => {
            "warn,sipas=trace,sipas_core=trace,sipas_ingest=trace,sipas_clean=trace,sipas_aggregate=trace,sipas_report=trace,sipas_dataset=trace,sipas_synth=trace,sipas_cli=trace"
        }
    };
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(LineWriter)
        .with_ansi(false)
        .with_target(true)
        .without_time()
        .with_filter(env)
        .with_filter(filter::filter_fn(|m| {
            m.target() != sipas_core::progress::TARGET
        }));
    let progress = bars.map(|multi| {
        ProgressLayer {
            multi,
            current: Mutex::new(None),
        }
        .with_filter(filter::filter_fn(|m| {
            m.target() == sipas_core::progress::TARGET
        }))
    });
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(progress)
        .try_init();
}

/// Writes one line to stderr, above the progress bars when they are drawn. Suppressed by `-q`
/// unless `error` is set.
#[allow(clippy::print_stderr)]
pub fn line(msg: &str, error: bool) {
    let state = STATE.get();
    if !error && state.is_some_and(|s| s.verbosity == Verbosity::Quiet) {
        return;
    }
    match state.and_then(|s| s.bars.as_ref()) {
        Some(multi) => multi.suspend(|| eprintln!("{msg}")),
        None => eprintln!("{msg}"),
    }
}

/// The log layer's writer: each formatted record goes through [`line`].
struct LineWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineWriter {
    type Writer = LineBuf;
    fn make_writer(&'a self) -> LineBuf {
        LineBuf(Vec::new())
    }
}

/// One formatted log record, written as a line when dropped.
struct LineBuf(Vec<u8>);

impl std::io::Write for LineBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuf {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim_end_matches('\n');
        if !text.is_empty() {
            line(text, true);
        }
    }
}

/// Draws [`sipas_core::progress`] events as bars.
struct ProgressLayer {
    multi: MultiProgress,
    current: Mutex<Option<ProgressBar>>,
}

#[derive(Default)]
struct ProgressFields {
    event: String,
    what: String,
    unit: String,
    total: u64,
    known: bool,
    n: u64,
}

impl Visit for ProgressFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event" => self.event = value.to_string(),
            "what" => self.what = value.to_string(),
            "unit" => self.unit = value.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "total" => self.total = value,
            "n" => self.n = value,
            _ => {}
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "known" {
            self.known = value;
        }
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = ProgressFields::default();
        event.record(&mut f);
        let mut current = self
            .current
            .lock()
            .expect("the progress lock is not poisoned");
        match f.event.as_str() {
            "begin" => {
                if let Some(old) = current.take() {
                    old.finish_and_clear();
                }
                // Added to the group before it is styled or ticked: a bar that draws on its own
                // first would leave a stray line behind.
                let bar = self.multi.add(if f.known {
                    ProgressBar::new(f.total)
                } else {
                    ProgressBar::new_spinner()
                });
                if f.known {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg:<24} [{bar:30}] {human_pos}/{human_len} {prefix} \
                             {rate} ETA {eta} ({elapsed})",
                        )
                        .expect("a valid template")
                        .with_key("rate", rate_key)
                        .progress_chars("=> "),
                    );
                } else {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg:<24} {human_pos} {prefix} {rate} ({elapsed})",
                        )
                        .expect("a valid template")
                        .with_key("rate", rate_key),
                    );
                }
                bar.set_message(f.what);
                bar.set_prefix(f.unit);
                if !f.known {
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
                *current = Some(bar);
            }
            "advance" => {
                if let Some(bar) = current.as_ref() {
                    bar.inc(f.n);
                }
            }
            "end" => {
                if let Some(bar) = current.take() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

/// The bars' throughput, "172,600/s".
fn rate_key(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{}/s", thousands(state.per_sec().round() as u64));
}

/// " (1.23 s, 172,600 rows/s)": a stage's wall time and throughput, for its summary line
/// ([`crate::timing::Timing::summary`]).
pub fn rate(started: Instant, rows: u64) -> String {
    crate::timing::Timing::since(started, Some(rows)).summary()
}

/// 172600 → "172,600".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(172_600), "172,600");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn verbosity_from_flags() {
        assert_eq!(Verbosity::from_flags(true, 2), Verbosity::Quiet);
        assert_eq!(Verbosity::from_flags(false, 0), Verbosity::Normal);
        assert_eq!(Verbosity::from_flags(false, 1), Verbosity::Debug);
        assert_eq!(Verbosity::from_flags(false, 3), Verbosity::Trace);
    }
}
