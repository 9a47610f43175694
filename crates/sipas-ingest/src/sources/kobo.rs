//! KoboToolbox API v2: `GET {server}/api/v2/assets/{uid}/data/?format=json&limit=N`,
//! `Authorization: Token …`, pages `{count, next, previous, results}`.

use reqwest::Url;
use serde_json::{Map, Value};

use super::config::{HttpOptions, SourceConfig};
use super::error::{Error, Result};
use super::http::{Hints, encode_component};

/// Time of a (flattened) Kobo record.
pub(crate) const TIME_KEY: &str = "_submission_time";

/// The record's id: `meta/rootUuid` (stable across edits, newer Kobo
/// versions; `uuid:` prefix removed) when present, else `_uuid`.
pub(crate) fn id_of(rec: &Map<String, Value>) -> Option<String> {
    let root = rec
        .get("meta/rootUuid")
        .and_then(Value::as_str)
        .map(|s| s.strip_prefix("uuid:").unwrap_or(s))
        .filter(|s| !s.is_empty());
    root.or_else(|| {
        rec.get("_uuid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
    .map(str::to_owned)
}

/// `_submission_time`.
pub(crate) fn time_of(rec: &Map<String, Value>) -> Option<String> {
    rec.get(TIME_KEY).and_then(Value::as_str).map(str::to_owned)
}

/// The first page's URL, with the incremental `query` when a watermark is given.
pub(crate) fn first_url(
    cfg: &SourceConfig,
    opts: &HttpOptions,
    watermark: Option<&str>,
) -> Result<Url> {
    let asset = cfg.asset.as_deref().unwrap_or_default();
    let mut s = format!(
        "{}/api/v2/assets/{}/data/?format=json&limit={}",
        cfg.server.trim_end_matches('/'),
        encode_component(asset),
        opts.page_limit.max(1)
    );
    if let Some(wm) = watermark {
        let query = serde_json::json!({ TIME_KEY: { "$gte": wm } }).to_string();
        s.push_str("&query=");
        s.push_str(&encode_component(&query));
    }
    Url::parse(&s).map_err(|e| Error::Config {
        source_name: cfg.name.clone(),
        reason: format!("cannot build the data URL ({e})"),
    })
}

/// Records and next link of a page: the reader shared with file ingest
/// ([`crate::platform::parse_page`]).
pub(crate) fn parse_page(page: Value) -> Result<(Vec<Value>, Option<String>), String> {
    crate::platform::parse_page(crate::platform::PageKind::Kobo, page).map(|p| (p.records, p.next))
}

/// What to check on 401/403/404.
pub(crate) fn hints(cfg: &SourceConfig) -> Hints {
    let asset = cfg.asset.as_deref().unwrap_or_default();
    Hints {
        unauthorized: format!(
            "check the API token in environment variable {} (Kobo: Account settings → Security → API key)",
            cfg.secret_var()
        ),
        forbidden: format!(
            "the token's account lacks permission to view submissions of asset {asset}; ask the form owner to share it"
        ),
        not_found: format!(
            "check `server` ({}) and the asset uid `{asset}` (the id in the form's URL)",
            cfg.server
        ),
    }
}
