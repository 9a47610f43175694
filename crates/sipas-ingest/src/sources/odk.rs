//! ODK Central OData: `GET {server}/v1/projects/{id}/forms/{form}.svc/Submissions`,
//! Basic or Bearer auth, pages `{value, @odata.nextLink}`.

use reqwest::Url;
use serde_json::{Map, Value};

use super::config::{HttpOptions, SourceConfig};
use super::error::{Error, Result};
use super::http::{Hints, encode_component};

/// Time of a flattened ODK record.
pub(crate) const TIME_KEY: &str = "__system/submissionDate";
/// Review state of a flattened ODK record.
pub(crate) const REVIEW_KEY: &str = "__system/reviewState";

/// `__id`.
pub(crate) fn id_of(rec: &Map<String, Value>) -> Option<String> {
    rec.get("__id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `__system/submissionDate`.
pub(crate) fn time_of(rec: &Map<String, Value>) -> Option<String> {
    rec.get(TIME_KEY).and_then(Value::as_str).map(str::to_owned)
}

/// True when `__system/reviewState` is `rejected`.
pub(crate) fn is_rejected(rec: &Map<String, Value>) -> bool {
    rec.get(REVIEW_KEY).and_then(Value::as_str) == Some("rejected")
}

/// The first page's URL, with the incremental `$filter` when a watermark is given.
pub(crate) fn first_url(
    cfg: &SourceConfig,
    opts: &HttpOptions,
    watermark: Option<&str>,
) -> Result<Url> {
    let mut s = format!(
        "{}/v1/projects/{}/forms/{}.svc/Submissions?$top={}&$count=true",
        cfg.server.trim_end_matches('/'),
        cfg.project.unwrap_or_default(),
        encode_component(cfg.form.as_deref().unwrap_or_default()),
        opts.page_limit.max(1)
    );
    if let Some(wm) = watermark {
        s.push_str("&$filter=");
        s.push_str(&encode_component(&format!("{TIME_KEY} ge {wm}")));
    }
    Url::parse(&s).map_err(|e| Error::Config {
        source_name: cfg.name.clone(),
        reason: format!("cannot build the OData URL ({e})"),
    })
}

/// Records and next link of a page: the reader shared with file ingest
/// ([`crate::platform::parse_page`]).
pub(crate) fn parse_page(page: Value) -> Result<(Vec<Value>, Option<String>), String> {
    crate::platform::parse_page(crate::platform::PageKind::Odk, page).map(|p| (p.records, p.next))
}

/// What to check on 401/403/404.
pub(crate) fn hints(cfg: &SourceConfig) -> Hints {
    let project = cfg.project.unwrap_or_default();
    let form = cfg.form.as_deref().unwrap_or_default();
    let creds = match &cfg.user {
        Some(user) => format!(
            "the password of user {user} in environment variable {}",
            cfg.secret_var()
        ),
        None => format!("the token in environment variable {}", cfg.secret_var()),
    };
    Hints {
        unauthorized: format!("check {creds}"),
        forbidden: format!(
            "the account has no role allowing it to read submissions of form `{form}` in project {project}"
        ),
        not_found: format!(
            "check `server` ({}), project id {project} and form id `{form}` (xmlFormId)",
            cfg.server
        ),
    }
}
