//! `[[source]]` entries of a job file, HTTP options and secrets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The collection platform a source talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// KoboToolbox API v2 (`/api/v2/assets/{uid}/data/`).
    Kobo,
    /// ODK Central OData (`/v1/projects/{id}/forms/{form}.svc/Submissions`).
    Odk,
}

impl SourceKind {
    /// `kobo` or `odk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kobo => "kobo",
            Self::Odk => "odk",
        }
    }
}

/// One `[[source]]` entry of a job file. Holds the *names* of environment
/// variables, never secrets themselves, so deriving `Debug` is safe.
///
/// ```toml
/// [[source]]
/// name = "kobo-2024"
/// kind = "kobo"
/// server = "https://kf.kobotoolbox.org"
/// asset = "aBcD1234"
/// token_env = "KOBO_TOKEN"
///
/// [[source]]
/// name = "odk-2024"
/// kind = "odk"
/// server = "https://central.example.org"
/// project = 1
/// form = "sipas_2024"
/// user = "analyst@example.org"
/// password_env = "ODK_PASSWORD"   # or token_env = "ODK_TOKEN" (Bearer)
/// include_rejected = false
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; also the store folder `STORE/<name>/`.
    pub name: String,
    /// The platform.
    pub kind: SourceKind,
    /// Base URL of the server (`https://kf.kobotoolbox.org`), without path
    /// below the API root and without credentials.
    pub server: String,
    /// Kobo: the asset (form) uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// ODK: the project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<u64>,
    /// ODK: the form id (`xmlFormId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// Environment variable holding the API token (Kobo `Token`, ODK `Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// ODK Basic auth: the user (e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// ODK Basic auth: environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// ODK: keep submissions whose review state is `rejected` (default false).
    #[serde(default)]
    pub include_rejected: bool,
}

impl SourceConfig {
    /// Checks that the entry is complete and consistent for its kind.
    pub fn validate(&self) -> Result<()> {
        let fail = |reason: &str| {
            Err(Error::Config {
                source_name: self.name.clone(),
                reason: reason.to_owned(),
            })
        };
        let name_ok = !self.name.is_empty()
            && !self.name.starts_with('.')
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return fail(
                "`name` must be non-empty, use only ASCII letters, digits, `-`, `_`, `.` and not start with `.` (it names the store folder)",
            );
        }
        match reqwest::Url::parse(&self.server) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                if !url.username().is_empty() || url.password().is_some() {
                    return fail(
                        "`server` must not contain credentials; use token_env or user + password_env",
                    );
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return fail("`server` must not have a query or fragment");
                }
            }
            _ => return fail("`server` must be an http:// or https:// URL"),
        }
        let empty = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        if empty(&self.asset)
            || empty(&self.form)
            || empty(&self.token_env)
            || empty(&self.user)
            || empty(&self.password_env)
        {
            return fail("fields must not be empty strings");
        }
        match self.kind {
            SourceKind::Kobo => {
                if self.asset.is_none() {
                    return fail("kind = \"kobo\" needs `asset` (the form's uid)");
                }
                if self.project.is_some() || self.form.is_some() {
                    return fail("`project` and `form` are for kind = \"odk\"; Kobo uses `asset`");
                }
                if self.user.is_some() || self.password_env.is_some() {
                    return fail("Kobo uses `token_env` only (no user / password_env)");
                }
                if self.token_env.is_none() {
                    return fail(
                        "kind = \"kobo\" needs `token_env` (the variable holding the API token)",
                    );
                }
                if self.include_rejected {
                    return fail("`include_rejected` applies to kind = \"odk\" only");
                }
            }
            SourceKind::Odk => {
                if self.project.is_none() || self.form.is_none() {
                    return fail("kind = \"odk\" needs `project` (number) and `form`");
                }
                if self.asset.is_some() {
                    return fail("`asset` is for kind = \"kobo\"; ODK uses `project` and `form`");
                }
                match (&self.token_env, &self.user, &self.password_env) {
                    (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                    (Some(_), _, _) => {
                        return fail(
                            "give either `token_env` (Bearer) or `user` + `password_env` (Basic), not both",
                        );
                    }
                    _ => {
                        return fail(
                            "kind = \"odk\" needs `token_env` (Bearer) or both `user` and `password_env` (Basic)",
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads the secrets named by the entry through `secrets` (the CLI
    /// passes `|v| std::env::var(v).ok()`).
    pub(crate) fn credentials(
        &self,
        secrets: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials> {
        let read = |var: &str, field: &'static str| {
            secrets(var)
                .filter(|v| !v.trim().is_empty())
                .map(Secret::new)
                .ok_or_else(|| Error::MissingSecret {
                    source_name: self.name.clone(),
                    var: var.to_owned(),
                    field,
                })
        };
        match (self.kind, &self.token_env, &self.user, &self.password_env) {
            (SourceKind::Kobo, Some(var), _, _) => {
                Ok(Credentials::KoboToken(read(var, "token_env")?))
            }
            (SourceKind::Odk, Some(var), _, _) => Ok(Credentials::Bearer(read(var, "token_env")?)),
            (SourceKind::Odk, None, Some(user), Some(var)) => Ok(Credentials::Basic {
                user: user.clone(),
                password: read(var, "password_env")?,
            }),
            _ => Err(Error::Config {
                source_name: self.name.clone(),
                reason: "no credentials configured".to_owned(),
            }),
        }
    }

    /// The variable holding the secret, for hints in error messages.
    pub(crate) fn secret_var(&self) -> &str {
        self.token_env
            .as_deref()
            .or(self.password_env.as_deref())
            .unwrap_or("?")
    }
}

/// A secret (token or password). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for building a request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Resolved credentials of a source.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    /// `Authorization: Token …` (Kobo).
    KoboToken(Secret),
    /// `Authorization: Bearer …` (ODK app-user or session token).
    Bearer(Secret),
    /// `Authorization: Basic …` (ODK web user).
    Basic {
        /// The user (not secret).
        user: String,
        /// The password.
        password: Secret,
    },
}

/// How requests are made: timeouts, retries, paging and concurrency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Time allowed to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included (default 120 s).
    pub timeout: Duration,
    /// Retries after the first attempt on connection errors, timeouts, 429
    /// and 5xx (default 5).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each retry (default 500 ms).
    pub base_backoff: Duration,
    /// Upper bound of the backoff (default 30 s).
    pub max_backoff: Duration,
    /// Upper bound of a `Retry-After` wait (default 120 s).
    pub max_retry_after: Duration,
    /// Seed of the jitter PRNG (mixed with the source name).
    pub seed: u64,
    /// Records requested per page (`limit` / `$top`; default 1000, the Kobo maximum).
    pub page_limit: u32,
    /// Loop guard: a run stops with an error after this many pages (default 10 000).
    pub max_pages: u64,
    /// Sources synced at once by [`super::sync_all`] (default 2).
    pub max_concurrent_sources: usize,
    /// Ignore the watermark and fetch every submission again (records are
    /// still merged by id). Default false.
    pub full_refresh: bool,
    /// Allow plain `http://` to a server that is not on this machine (credentials would cross
    /// the network unencrypted). Default false: refused, except on loopback addresses.
    pub allow_http: bool,
    /// Largest response body accepted (default 256 MiB); a larger one is an error, not read on.
    pub max_response_bytes: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_mins(2),
            max_retries: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_mins(2),
            seed: 0x0051_95a5_2024,
            page_limit: 1000,
            max_pages: 10_000,
            max_concurrent_sources: 2,
            full_refresh: false,
            allow_http: false,
            max_response_bytes: 256 << 20,
        }
    }
}
