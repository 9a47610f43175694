//! `sipas sync`: collection platforms → the local raw store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sipas_ingest::ReviewPolicy;
use sipas_ingest::sources::{
    HttpOptions, SourceConfig, SourceKind, SyncReport, records_path, sync_all,
};

use crate::ExitStatus;
use crate::args::SyncArgs;
use crate::commands::say;
use crate::job::Job;

pub(crate) fn run(a: &SyncArgs) -> anyhow::Result<ExitStatus> {
    let job = Job::from_path(a.input())?;
    if job.sources.is_empty() {
        anyhow::bail!("job file {} has no [[source]] entries", a.input().display());
    }
    let store = a.store.clone().unwrap_or_else(|| job.out.join("raw"));
    let review =
        crate::options::review_policy(a.review.as_deref().or(job.ingest.read.review.as_deref()))?;
    // The store is updated in place (it keeps the watermarks), one writer at a time.
    let _lock = sipas_core::staging::OutputLock::acquire(
        &store,
        &crate::manifest::Recorder::start().command_line(),
    )?;
    sync_sources(&job.sources, &store, a.full_refresh, a.allow_http, review)?;
    Ok(ExitStatus::Success)
}

/// Syncs every source into `store`; returns the record files to ingest.
/// A source that failed keeps what it fetched, but the run stops: its data
/// would be incomplete. Under the review policy `include`, ODK sources keep
/// the submissions a reviewer rejected (`include_rejected`), as Kobo
/// sources always do; the ingest of the store then applies the policy to
/// both platforms alike.
pub(crate) fn sync_sources(
    sources: &[SourceConfig],
    store: &Path,
    full_refresh: bool,
    allow_http: bool,
    review: ReviewPolicy,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut sources = sources.to_vec();
    if review == ReviewPolicy::Include {
        for s in &mut sources {
            if s.kind == SourceKind::Odk {
                s.include_rejected = true;
            }
        }
    }
    let sources = sources.as_slice();
    std::fs::create_dir_all(store)
        .with_context(|| format!("cannot create store {}", store.display()))?;
    let opts = HttpOptions {
        full_refresh,
        allow_http,
        ..HttpOptions::default()
    };
    let secrets = |name: &str| std::env::var(name).ok();
    let reports = sync_all(sources, store, &opts, &secrets).context("sync failed")?;
    let mut failed = Vec::new();
    for r in &reports {
        say(&describe(r));
        if let Some(e) = &r.error {
            failed.push(format!("{}: {e}", r.source));
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} sources failed (what they fetched is kept in {}; the next run resumes from the watermark):\n  {}",
            failed.len(),
            reports.len(),
            store.display(),
            failed.join("\n  ")
        );
    }
    Ok(sources
        .iter()
        .map(|s| records_path(store, &s.name))
        .collect())
}

fn describe(r: &SyncReport) -> String {
    format!(
        "sync: {}: {} pages, {} records received ({} new, {} updated, {} rejected skipped), {} stored, watermark {} → {}{}",
        r.source,
        r.pages_fetched,
        r.records_received,
        r.new,
        r.updated,
        r.skipped_rejected,
        r.stored_total,
        r.watermark_before.as_deref().unwrap_or("none"),
        r.watermark_after.as_deref().unwrap_or("none"),
        if r.retries > 0 {
            format!(", {} retries", r.retries)
        } else {
            String::new()
        }
    )
}
