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

/// True when `url`'s host is this machine (`localhost`, 127.0.0.0/8, `::1`): plain http there
/// sends nothing across a network.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
        // Redirects are followed only within the origin of the request that was made (at most
        // 10); a redirect elsewhere is returned as it is and reported as an error.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if same && attempt.previous().len() <= 10 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = Client::builder()
            .redirect(redirects)
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

    /// After an error while reading a body: as [`Self::retry_transport`].
    fn retry_body(&mut self, e: &std::io::Error, attempt: u32, shown: &str) -> Result<()> {
        if attempt > self.opts.max_retries {
            return Err(Error::Transport {
                url: shown.to_string(),
                reason: format!("reading the response failed: {e}"),
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
        if url.scheme() == "http" && !self.opts.allow_http && !is_loopback(url) {
            return Err(Error::InsecureUrl { url: shown });
        }
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
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| url.join(l).map_or_else(|_| l.to_string(), |u| redact(&u)))
                    .unwrap_or_default();
                return Err(Error::ForeignRedirect {
                    url: shown,
                    location,
                });
            }
            if status.is_success() {
                let limit = self.opts.max_response_bytes;
                if resp.content_length().is_some_and(|n| n > limit) {
                    return Err(Error::TooLarge { url: shown, limit });
                }
                let mut body = Vec::new();
                let read = std::io::Read::read_to_end(
                    &mut std::io::Read::take(resp, limit.saturating_add(1)),
                    &mut body,
                );
                if read.is_ok() && body.len() as u64 > limit {
                    return Err(Error::TooLarge { url: shown, limit });
                }
                match read {
                    Ok(_) => {
                        return serde_json::from_slice(&body).map_err(|e| Error::Malformed {
                            url: shown,
                            page,
                            reason: format!("not JSON ({e})"),
                        });
                    }
                    Err(e) => {
                        self.retry_body(&e, attempt, &shown)?;
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

    fn fetcher(opts: &HttpOptions) -> Fetcher<'_> {
        let hints = Hints {
            unauthorized: String::new(),
            forbidden: String::new(),
            not_found: String::new(),
        };
        Fetcher::new(
            Credentials::Bearer(super::super::config::Secret::new("t0ken")),
            opts,
            hints,
            "t",
        )
        .unwrap()
    }

    /// A reply: status, one extra header, body.
    type Reply = (u16, Option<(&'static str, String)>, String);

    /// A loopback server that answers `replies` in turn (status, extra header, body), then stops;
    /// returns its base URL and the paths it was asked for.
    fn serve(replies: Vec<Reply>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, header, body) in replies {
                let Ok(Some(rq)) = server.recv_timeout(Duration::from_secs(5)) else {
                    break;
                };
                seen.push(rq.url().to_owned());
                let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
                if let Some((k, v)) = header {
                    resp.add_header(tiny_http::Header::from_bytes(k, v.as_bytes()).unwrap());
                }
                let _ = rq.respond(resp);
            }
            seen
        });
        (base, handle)
    }

    #[test]
    fn redirects_stay_on_the_server() {
        let opts = HttpOptions {
            max_retries: 0,
            ..HttpOptions::default()
        };
        // Same server: followed.
        let (base, h) = serve(vec![
            (
                302,
                Some(("Location", "/moved?page=1".into())),
                String::new(),
            ),
            (200, None, "{\"ok\": 1}".into()),
        ]);
        let url = Url::parse(&format!("{base}/data")).unwrap();
        let v = fetcher(&opts).get_json(&url, 1).unwrap();
        assert_eq!(v["ok"], 1);
        assert_eq!(h.join().unwrap(), ["/data", "/moved?page=1"]);

        // Another origin (another loopback address and port): not followed, an error naming it.
        let (base, h) = serve(vec![(
            302,
            Some(("Location", "http://127.0.0.2:9/steal?x=1".into())),
            String::new(),
        )]);
        let url = Url::parse(&format!("{base}/data")).unwrap();
        let err = fetcher(&opts).get_json(&url, 1).unwrap_err();
        assert!(matches!(err, Error::ForeignRedirect { .. }), "{err}");
        assert!(err.to_string().contains("127.0.0.2:9/steal"), "{err}");
        assert_eq!(h.join().unwrap(), ["/data"]);
    }

    #[test]
    fn plain_http_is_refused_off_this_machine() {
        let opts = HttpOptions::default();
        let url = Url::parse("http://kobo.example.org/api/v2/assets/x/data/").unwrap();
        let err = fetcher(&opts).get_json(&url, 1).unwrap_err();
        assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
        assert!(err.to_string().contains("--allow-http"), "{err}");
        for (u, local) in [
            ("http://127.0.0.1:8000/x", true),
            ("http://localhost/x", true),
            ("http://[::1]:8/x", true),
            ("http://10.0.0.1/x", false),
            ("https://kobo.example.org/x", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(u).unwrap()), local, "{u}");
        }
    }

    #[test]
    fn a_response_over_the_cap_is_an_error() {
        let opts = HttpOptions {
            max_response_bytes: 64,
            max_retries: 0,
            ..HttpOptions::default()
        };
        let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(100));
        let (base, h) = serve(vec![(200, None, big), (200, None, "{}".into())]);
        let url = Url::parse(&format!("{base}/data")).unwrap();
        let mut f = fetcher(&opts);
        let err = f.get_json(&url, 1).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 64, .. }), "{err}");
        // Under the cap: read.
        assert_eq!(f.get_json(&url, 1).unwrap(), serde_json::json!({}));
        assert_eq!(h.join().unwrap().len(), 2);
    }

    #[test]
    fn encodes_components_and_redacts() {
        assert_eq!(encode_component("a b/$:\"é"), "a%20b%2F%24%3A%22%C3%A9");
        let url = Url::parse("https://u:p@h.example/x?y=1").unwrap();
        assert_eq!(redact(&url), "https://h.example/x?y=1");
    }
}
