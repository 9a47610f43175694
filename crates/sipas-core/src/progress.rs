//! Progress of long work, as `tracing` events that a front end may draw.
//!
//! The stage libraries call [`begin`], [`advance`] and [`end`] around their chunk loops; they never
//! draw anything themselves. `sipas-cli` turns these events into progress bars with rows/s and an
//! ETA when stderr is a terminal, and ignores them otherwise. With no `tracing` subscriber installed
//! (a library user, the tests) each call costs one relaxed atomic load.

/// The `tracing` target of every progress event.
pub const TARGET: &str = "sipas::progress";

/// Work on `what` begins (`"ingest: reading"`, …), with `total` units (`unit`: `"rows"`) expected
/// when known.
pub fn begin(what: &str, unit: &str, total: Option<u64>) {
    tracing::info!(
        target: "sipas::progress",
        event = "begin",
        what,
        unit,
        total = total.unwrap_or(0),
        known = total.is_some()
    );
}

/// `n` more units of the current work are done.
pub fn advance(n: u64) {
    tracing::info!(target: "sipas::progress", event = "advance", n);
}

/// The current work is finished.
pub fn end() {
    tracing::info!(target: "sipas::progress", event = "end");
}

#[cfg(test)]
mod tests {
    #[test]
    fn calls_without_a_subscriber_are_no_ops() {
        super::begin("test", "rows", Some(3));
        super::advance(3);
        super::end();
        assert_eq!(super::TARGET, "sipas::progress");
    }
}
