//! GET with retries (exponential backoff, seeded jitter, `Retry-After`) and
//! clear errors for authentication and missing resources.

use std::fmt::Write as _;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use super::config::{Credentials, HttpOptions};
use super::error::{Error, Result};

/// A URL for messages: user info removed.
pub(crate) fn redact(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// Percent-encodes a query or path component (everything but RFC 3986
/// unreserved characters).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// True when both URLs share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// SplitMix64: small, seeded, reproducible.
#[derive(Clone, Debug)]
pub(crate) struct Prng(u64);

impl Prng {
    pub(crate) fn new(seed: u64, salt: &str) -> Self {
        // FNV-1a of the salt, so each source has its own sequence.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in salt.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self(seed ^ h)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Backoff before retry number `retry` (0-based): `base · 2^retry`, capped,
/// then jittered uniformly into [½, 1] of that.
pub(crate) fn backoff(opts: &HttpOptions, retry: u32, rng: &mut Prng) -> Duration {
    let exp = opts
        .base_backoff
        .saturating_mul(1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX));
    let capped = exp.min(opts.max_backoff);
    capped.mul_f64(0.5 + 0.5 * rng.next_f64())
}

/// `Retry-After` in its seconds form (HTTP dates are ignored: no clock reads).
fn retry_after(resp: &reqwest::blocking::Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What to say on 401/403/404.
#[derive(Clone, Debug)]
pub(crate) struct Hints {
    /// On 401.
    pub(crate) unauthorized: String,
    /// On 403.
    pub(crate) forbidden: String,
    /// On 404.
    pub(crate) not_found: String,
}

/// Makes authenticated GETs, counting retries and planned waits.
pub(crate) struct Fetcher<'a> {
    client: Client,
    credentials: Credentials,
    opts: &'a HttpOptions,
    hints: Hints,
    rng: Prng,
    /// Retries made so far.
    pub(crate) retries: u64,
    /// Sum of the waits before retries.
    pub(crate) waited: Duration,
}

impl<'a> Fetcher<'a> {
    pub(crate) fn new(
        credentials: Credentials,
        opts: &'a HttpOptions,
        hints: Hints,
        salt: &str,
    ) -> Result<Self> {
        let client = Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .user_agent(concat!("sipas-ingest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Client(e.without_url().to_string()))?;
        Ok(Self {
            client,
            credentials,
            opts,
            hints,
            rng: Prng::new(opts.seed, salt),
            retries: 0,
            waited: Duration::ZERO,
        })
    }

    fn request(&self, url: &Url) -> reqwest::blocking::RequestBuilder {
        let req = self
            .client
            .get(url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        match &self.credentials {
            Credentials::KoboToken(token) => {
                match HeaderValue::from_str(&format!("Token {}", token.expose())) {
                    Ok(mut value) => {
                        value.set_sensitive(true);
                        req.header(AUTHORIZATION, value)
                    }
                    // Not a valid header value: send none, the server answers 401.
                    Err(_) => req,
                }
            }
            Credentials::Bearer(token) => req.bearer_auth(token.expose()),
            Credentials::Basic { user, password } => req.basic_auth(user, Some(password.expose())),
        }
    }

    fn wait(&mut self, d: Duration) {
        self.retries += 1;
        self.waited += d;
        std::thread::sleep(d);
    }

    /// After a transport error (sending, or reading the body) on request
    /// number `attempt`: waits before the next attempt if one is left, else
    /// the error.
    fn retry_transport(&mut self, e: &reqwest::Error, attempt: u32, shown: &str) -> Result<()> {
        if attempt > self.opts.max_retries {
            return Err(Error::Transport {
                url: shown.to_string(),
                reason: describe(e),
                attempts: attempt,
            });
        }
        let d = backoff(self.opts, attempt - 1, &mut self.rng);
        self.wait(d);
        Ok(())
    }

    /// GETs `url` and parses the body as JSON; `page` (1-based) is for messages.
    pub(crate) fn get_json(&mut self, url: &Url, page: u64) -> Result<Value> {
        let shown = redact(url);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let can_retry = attempt <= self.opts.max_retries;
            let resp = match self.request(url).send() {
                Ok(resp) => resp,
                Err(e) => {
                    self.retry_transport(&e, attempt, &shown)?;
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                match resp.bytes() {
                    Ok(body) => {
                        return serde_json::from_slice(&body).map_err(|e| Error::Malformed {
                            url: shown,
                            page,
                            reason: format!("not JSON ({e})"),
                        });
                    }
                    Err(e) => {
                        self.retry_transport(&e, attempt, &shown)?;
                        continue;
                    }
                }
            }
            match status {
                StatusCode::UNAUTHORIZED => {
                    return Err(Error::Auth {
                        url: shown,
                        status: 401,
                        what: "unauthorized",
                        hint: self.hints.unauthorized.clone(),
                    });
                }
                StatusCode::FORBIDDEN => {
                    return Err(Error::Auth {
                        url: shown,
                        status: 403,
                        what: "forbidden",
                        hint: self.hints.forbidden.clone(),
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(Error::NotFound {
                        url: shown,
                        hint: self.hints.not_found.clone(),
                    });
                }
                s if (s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()) && can_retry => {
                    let d = match retry_after(&resp) {
                        Some(ra) => ra.min(self.opts.max_retry_after),
                        None => backoff(self.opts, attempt - 1, &mut self.rng),
                    };
                    drop(resp);
                    self.wait(d);
                }
                s => {
                    return Err(Error::Status {
                        url: shown,
                        status: s.as_u16(),
                        attempts: attempt,
                    });
                }
            }
        }
    }
}

/// A reqwest error without its URL, with its causes.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut msg = kind.to_owned();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_reproducibly() {
        let opts = HttpOptions {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..HttpOptions::default()
        };
        let mut a = Prng::new(7, "s");
        let mut b = Prng::new(7, "s");
        for (retry, nominal) in [(0, 100), (1, 200), (2, 350), (3, 350), (40, 350)] {
            let d = backoff(&opts, retry, &mut a);
            assert_eq!(d, backoff(&opts, retry, &mut b));
            let nominal = Duration::from_millis(nominal);
            assert!(d >= nominal / 2 && d <= nominal, "{retry}: {d:?}");
        }
    }

    #[test]
    fn encodes_components_and_redacts() {
        assert_eq!(encode_component("a b/$:\"é"), "a%20b%2F%24%3A%22%C3%A9");
        let url = Url::parse("https://u:p@h.example/x?y=1").unwrap();
        assert_eq!(redact(&url), "https://h.example/x?y=1");
    }
}
