//! Errors of collection-platform syncs. No message ever holds a secret: URLs
//! are shown without user info, and tokens / passwords are only named by the
//! environment variable that holds them.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a sync of a collection platform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `[[source]]` entry is incomplete or contradictory.
    #[error("source `{source_name}`: {reason}")]
    Config {
        /// The source's `name` (may be empty if that is the problem).
        source_name: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Two sources share a name (they would share a store folder).
    #[error("two sources are named `{source_name}`; names must be unique")]
    DuplicateSource {
        /// The repeated name.
        source_name: String,
    },
    /// The environment variable that should hold a secret is unset or empty.
    #[error("source `{source_name}`: environment variable {var} ({field}) is not set or empty")]
    MissingSecret {
        /// The source's name.
        source_name: String,
        /// The environment variable named in the job file.
        var: String,
        /// The job-file field naming it (`token_env`, `password_env`).
        field: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// 401 or 403: the credentials are wrong or lack permission.
    #[error("GET {url}: HTTP {status} ({what}); {hint}")]
    Auth {
        /// The URL, without credentials.
        url: String,
        /// 401 or 403.
        status: u16,
        /// `unauthorized` or `forbidden`.
        what: &'static str,
        /// What to check.
        hint: String,
    },
    /// 404: the server, project, form or asset does not exist.
    #[error("GET {url}: HTTP 404 (not found); {hint}")]
    NotFound {
        /// The URL, without credentials.
        url: String,
        /// What to check.
        hint: String,
    },
    /// Another HTTP status that is not retried, or a retryable one that
    /// persisted after all retries.
    #[error("GET {url}: HTTP {status} after {attempts} attempt(s)")]
    Status {
        /// The URL, without credentials.
        url: String,
        /// The last status.
        status: u16,
        /// Requests made.
        attempts: u32,
    },
    /// Connection errors or timeouts that persisted after all retries.
    #[error("GET {url}: {reason} after {attempts} attempt(s)")]
    Transport {
        /// The URL, without credentials.
        url: String,
        /// Timeout, connection refused, …
        reason: String,
        /// Requests made.
        attempts: u32,
    },
    /// A page that is not what the platform documents.
    #[error("GET {url} (page {page}): malformed page: {reason}")]
    Malformed {
        /// The URL, without credentials.
        url: String,
        /// 1-based page number in this run.
        page: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A `next` / `@odata.nextLink` repeats a URL already fetched in this run.
    #[error("pagination loop: page {page} links back to {url}, already fetched in this run")]
    PaginationLoop {
        /// The repeated URL, without credentials.
        url: String,
        /// The page whose link repeats.
        page: u64,
    },
    /// A next link leads to another server (credentials are never sent there).
    #[error("page {page} links to {url}, which is not on the configured server {server}")]
    ForeignLink {
        /// The link, without credentials.
        url: String,
        /// The configured server.
        server: String,
        /// The page holding the link.
        page: u64,
    },
    /// A server answered with a redirect to another origin; it is not followed (the data would
    /// come from a server nobody configured).
    #[error("GET {url}: redirected to {location}, which is not on the same server; not followed")]
    ForeignRedirect {
        /// The URL asked, without credentials.
        url: String,
        /// Where the server pointed, without credentials.
        location: String,
    },
    /// Plain `http://` to a server that is not on this machine, without `allow_http`.
    #[error(
        "{url}: plain http:// would send the credentials unencrypted; use https://, or allow it with --allow-http"
    )]
    InsecureUrl {
        /// The URL, without credentials.
        url: String,
    },
    /// A response body over `HttpOptions::max_response_bytes`.
    #[error("GET {url}: the response is larger than {limit} bytes; not read on")]
    TooLarge {
        /// The URL, without credentials.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// More pages than `HttpOptions::max_pages`.
    #[error("more than {max_pages} pages from {url}; raise max_pages if this is expected")]
    TooManyPages {
        /// The limit.
        max_pages: u64,
        /// The first URL of the run, without credentials.
        url: String,
    },
    /// A store file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of `records.ndjson` or `state.json` cannot be used.
    #[error("{}, line {line}: {reason}", path.display())]
    Store {
        /// The store file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}
