//! Collection-platform sources (feature `http`, on by default): KoboToolbox
//! API v2 and ODK Central OData, synced into a local raw store that the file
//! ingest then reads.
//!
//! # Overview
//! - [`SourceConfig`]: one `[[source]]` entry of a job file (serde,
//!   unknown fields rejected); [`SourceConfig::validate`].
//! - [`sync`] fetches one source's submissions into
//!   `STORE/<name>/records.ndjson` and `STORE/<name>/state.json`;
//!   [`sync_all`] syncs several with bounded concurrency.
//! - [`HttpOptions`]: timeouts, retries (exponential backoff, seeded jitter,
//!   `Retry-After`), page size, loop guard, concurrency, full refresh.
//! - [`SyncReport`]: what a run fetched and changed; [`StoreState`] /
//!   [`read_state`]: the persisted state; [`records_path`]: the NDJSON file
//!   to hand to the ingest.
//!
//! # The store
//! `records.ndjson` holds one JSON object per line: the platform's record
//! with nested objects flattened (keys joined with `/`, e.g.
//! `__system/submissionDate`, `group/q1`), unique by the platform's id
//! (Kobo `_uuid`, or `meta/rootUuid` when present, which survives edits;
//! ODK `__id`), sorted by id, keys sorted. A record received again replaces
//! the stored one (an edit). Both files are rewritten atomically after every
//! page, so a run that fails half way keeps every page it fetched, and the
//! watermark (greatest stored submission time) never passes what is stored.
//!
//! # Incremental sync
//! With a watermark, Kobo is asked for `_submission_time ≥ watermark`
//! (`query={"_submission_time":{"$gte":…}}`) and ODK for
//! `$filter=__system/submissionDate ge …`. "≥" re-fetches the records that
//! share the watermark's time; they are merged by id, so none is lost or
//! duplicated. Edits that keep the original submission time are only seen by
//! a full refresh ([`HttpOptions::full_refresh`]).
//!
//! # Secrets
//! Tokens and passwords are read through the `secrets` closure from the
//! environment variables named in the job file. They are held in [`Secret`]
//! (`Debug`/`Display` print `***`) and never appear in errors, reports or
//! the store; URLs in messages are shown without user info.

mod config;
mod error;
mod http;
mod kobo;
mod odk;
mod store;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use config::{HttpOptions, Secret, SourceConfig, SourceKind};
pub use error::{Error, Result};
pub use store::{RECORDS_FILE, STATE_FILE, StoreState, read_state, records_path, source_dir};

use http::{Fetcher, redact, same_origin};
use store::{Merge, Store, flatten};

/// What one sync run of a source did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncReport {
    /// The source's name.
    pub source: String,
    /// The platform.
    pub kind: SourceKind,
    /// Pages fetched and stored in this run.
    pub pages_fetched: u64,
    /// Records received on those pages (rejected ones included).
    pub records_received: u64,
    /// Records whose id was not stored before.
    pub new: u64,
    /// Records whose id was stored with different content (edits).
    pub updated: u64,
    /// Records received again unchanged (e.g. those at the watermark).
    pub unchanged: u64,
    /// ODK records skipped because their review state is `rejected`.
    pub skipped_rejected: u64,
    /// Of those, records removed from the store (rejected after being stored).
    pub removed_rejected: u64,
    /// Records in the store after the run.
    pub stored_total: u64,
    /// Watermark before the run (greatest stored submission time).
    pub watermark_before: Option<String>,
    /// Watermark after the run.
    pub watermark_after: Option<String>,
    /// Requests retried (connection errors, timeouts, 429, 5xx).
    pub retries: u64,
    /// Total wait before those retries, in milliseconds.
    pub retry_wait_ms: u64,
    /// Why the run stopped early; the stored records stay.
    pub error: Option<String>,
}

impl SyncReport {
    fn new(source: &SourceConfig) -> Self {
        Self {
            source: source.name.clone(),
            kind: source.kind,
            pages_fetched: 0,
            records_received: 0,
            new: 0,
            updated: 0,
            unchanged: 0,
            skipped_rejected: 0,
            removed_rejected: 0,
            stored_total: 0,
            watermark_before: None,
            watermark_after: None,
            retries: 0,
            retry_wait_ms: 0,
            error: None,
        }
    }
}

/// Syncs one source into `store_dir/<name>/`. `secrets` maps an environment
/// variable name to its value (the CLI passes `|v| std::env::var(v).ok()`).
///
/// On error, every page fetched before it is kept in the store and
/// `state.json`'s `last_run` records the error; the error is returned.
pub fn sync(
    source: &SourceConfig,
    store_dir: &Path,
    opts: &HttpOptions,
    secrets: &dyn Fn(&str) -> Option<String>,
) -> Result<SyncReport> {
    let (report, error) = run(source, store_dir, opts, secrets);
    match error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Syncs several sources, at most `opts.max_concurrent_sources` at once.
/// Returns one report per source, in the order given; a source that failed
/// has `error` set (the others still run). Fails up front only if two
/// sources share a name.
pub fn sync_all(
    sources: &[SourceConfig],
    store_dir: &Path,
    opts: &HttpOptions,
    secrets: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Vec<SyncReport>> {
    let mut names = BTreeSet::new();
    for s in sources {
        if !names.insert(s.name.as_str()) {
            return Err(Error::DuplicateSource {
                source_name: s.name.clone(),
            });
        }
    }
    let workers = opts.max_concurrent_sources.clamp(1, sources.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<SyncReport>>> = sources.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(source) = sources.get(i) else { break };
                    let (report, _) = run(source, store_dir, opts, secrets);
                    *slots[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report);
                }
            });
        }
    });
    Ok(slots
        .into_iter()
        .zip(sources)
        .map(|(slot, source)| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .unwrap_or_else(|| SyncReport::new(source))
        })
        .collect())
}

/// Splits a page into its records and next link, or says what is wrong.
type PageParser = fn(Value) -> Result<(Vec<Value>, Option<String>), String>;

/// Platform-specific pieces.
struct Platform {
    id_of: store::KeyFn,
    time_of: store::KeyFn,
    id_name: &'static str,
    parse_page: PageParser,
}

impl Platform {
    fn of(kind: SourceKind) -> Self {
        match kind {
            SourceKind::Kobo => Self {
                id_of: kobo::id_of,
                time_of: kobo::time_of,
                id_name: "_uuid",
                parse_page: kobo::parse_page,
            },
            SourceKind::Odk => Self {
                id_of: odk::id_of,
                time_of: odk::time_of,
                id_name: "__id",
                parse_page: odk::parse_page,
            },
        }
    }
}

/// One run: the report so far and the error that stopped it, if any.
fn run(
    source: &SourceConfig,
    store_dir: &Path,
    opts: &HttpOptions,
    secrets: &dyn Fn(&str) -> Option<String>,
) -> (SyncReport, Option<Error>) {
    let mut report = SyncReport::new(source);
    let mut store = None;
    let result = fetch_all(source, store_dir, opts, secrets, &mut report, &mut store);
    let Some(store) = store else {
        // Nothing was opened: configuration, secret or store-reading error.
        report.error = result.as_ref().err().map(ToString::to_string);
        return (report, result.err());
    };
    report.stored_total = store.len();
    report.watermark_after = store.watermark();
    let mut error = result.err();
    if let Some(e) = &error {
        report.error = Some(e.to_string());
        // Record the failed run; keep the first error if this fails too.
        let saved = store.save(&state_of(source, &store, &report));
        if let Err(save_error) = saved {
            report.error = Some(format!("{e}; also {save_error}"));
        }
    } else if let Err(e) = store.save(&state_of(source, &store, &report)) {
        report.error = Some(e.to_string());
        error = Some(e);
    }
    (report, error)
}

fn state_of(source: &SourceConfig, store: &Store, report: &SyncReport) -> StoreState {
    StoreState {
        version: 1,
        source: source.name.clone(),
        kind: source.kind,
        watermark: store.watermark(),
        records: store.len(),
        pages_fetched_total: store.pages_fetched_total,
        runs: store.runs,
        last_run: Some(report.clone()),
    }
}

fn fetch_all(
    source: &SourceConfig,
    store_dir: &Path,
    opts: &HttpOptions,
    secrets: &dyn Fn(&str) -> Option<String>,
    report: &mut SyncReport,
    store_slot: &mut Option<Store>,
) -> Result<()> {
    source.validate()?;
    let credentials = source.credentials(secrets)?;
    let platform = Platform::of(source.kind);
    let (first, hints) = {
        let opened = Store::open(
            source_dir(store_dir, &source.name),
            platform.id_of,
            platform.time_of,
        )?;
        report.watermark_before = opened.watermark();
        let filter = if opts.full_refresh {
            None
        } else {
            report.watermark_before.as_deref()
        };
        let urls = match source.kind {
            SourceKind::Kobo => (kobo::first_url(source, opts, filter)?, kobo::hints(source)),
            SourceKind::Odk => (odk::first_url(source, opts, filter)?, odk::hints(source)),
        };
        *store_slot = Some(opened);
        urls
    };
    let store = store_slot.as_mut().expect("store just opened");
    store.runs += 1;
    let mut fetcher = Fetcher::new(credentials, opts, hints, &source.name)?;
    let server = Url::parse(&source.server).map_err(|e| Error::Config {
        source_name: source.name.clone(),
        reason: format!("bad server URL ({e})"),
    })?;
    let skip_rejected = source.kind == SourceKind::Odk && !source.include_rejected;

    let mut seen: HashSet<String> = HashSet::new();
    let first_shown = redact(&first);
    let mut url = first;
    let mut page: u64 = 0;
    let result = loop {
        page += 1;
        if page > opts.max_pages {
            break Err(Error::TooManyPages {
                max_pages: opts.max_pages,
                url: first_shown,
            });
        }
        seen.insert(url.as_str().to_owned());
        let body = match fetcher.get_json(&url, page) {
            Ok(b) => b,
            Err(e) => break Err(e),
        };
        let malformed = |reason: String| Error::Malformed {
            url: redact(&url),
            page,
            reason,
        };
        let (records, next) = match (platform.parse_page)(body) {
            Ok(p) => p,
            Err(reason) => break Err(malformed(reason)),
        };
        // Check the whole page before storing any of it.
        let mut checked = Vec::with_capacity(records.len());
        let mut bad = None;
        for (i, rec) in records.into_iter().enumerate() {
            let Value::Object(obj) = rec else {
                bad = Some(format!("record {} is not a JSON object", i + 1));
                break;
            };
            let flat = flatten(obj);
            let Some(id) = (platform.id_of)(&flat) else {
                bad = Some(format!("record {} has no `{}`", i + 1, platform.id_name));
                break;
            };
            checked.push((id, flat));
        }
        if let Some(reason) = bad {
            break Err(malformed(reason));
        }
        for (id, flat) in checked {
            report.records_received += 1;
            if skip_rejected && odk::is_rejected(&flat) {
                report.skipped_rejected += 1;
                if store.remove(&id) {
                    report.removed_rejected += 1;
                }
                continue;
            }
            let time = (platform.time_of)(&flat);
            match store.merge(id, time, &flat) {
                Merge::New => report.new += 1,
                Merge::Updated => report.updated += 1,
                Merge::Unchanged => report.unchanged += 1,
            }
        }
        report.pages_fetched += 1;
        store.pages_fetched_total += 1;
        report.retries = fetcher.retries;
        report.retry_wait_ms = fetcher.waited.as_millis() as u64;
        report.stored_total = store.len();
        report.watermark_after = store.watermark();
        if let Err(e) = store.save(&state_of(source, store, report)) {
            break Err(e);
        }
        let Some(next) = next else { break Ok(()) };
        let next_url = match url.join(&next) {
            Ok(u) => u,
            Err(e) => break Err(malformed(format!("next link is not a URL ({e})"))),
        };
        if !same_origin(&server, &next_url) {
            break Err(Error::ForeignLink {
                url: redact(&next_url),
                server: redact(&server),
                page,
            });
        }
        if seen.contains(next_url.as_str()) {
            break Err(Error::PaginationLoop {
                url: redact(&next_url),
                page,
            });
        }
        url = next_url;
    };
    report.retries = fetcher.retries;
    report.retry_wait_ms = fetcher.waited.as_millis() as u64;
    result
}
