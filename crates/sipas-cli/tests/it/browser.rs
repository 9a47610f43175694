//! The HTML report as a reader sees it: rendered by headless Chromium through ChromeDriver's
//! WebDriver protocol, at a desktop width (1,400 px) and a phone width (390 px).
//!
//! Fails on a console error, a broken image, a page that scrolls sideways, or (at 1,400 px) a table
//! wider than the page. Saves a screenshot at each width under `CARGO_TARGET_TMPDIR/browser/`
//! (`SIPAS_SCREENSHOT_DIR` overrides), the picture the README shows.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs). Where they are missing the test says so and passes, except under `CI`, where a missing
//! browser is a failure: CI must not report a check it did not make.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{code, generate_job, run_job, stderr};

/// The first of `names` found on `PATH` (or as given, when it is a path).
fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// A ChromeDriver process, killed on drop.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::blocking::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(exe: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_mins(1))
                .build()
                .expect("an HTTP client"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One WebDriver command; panics with the driver's message on an error.
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("chromedriver answers");
        let status = resp.status();
        let v: Value = resp.json().expect("chromedriver answers JSON");
        assert!(status.is_success(), "{path}: {status} {v}");
        v["value"].clone()
    }
}

/// A browser session on one page.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.base, self.id))
            .send();
    }
}

impl Session<'_> {
    fn new<'d>(driver: &'d Driver, chromium: &Path, profile: &Path) -> Session<'d> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let v = driver.call(reqwest::Method::POST, "/session", Some(caps));
        let id = v["sessionId"].as_str().expect("a session id").to_string();
        Session { driver, id }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }
}

/// What the page reports about itself once loaded.
const INSPECT: &str = r"
const w = window.innerWidth;
const imgs = [...document.images];
const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
const wide = [...document.querySelectorAll('table')].map((t, k) => {
  const outer = t.parentElement.classList.contains('scroll') ? t.parentElement : t;
  const scroll = Math.max(t.scrollWidth - t.clientWidth, outer.scrollWidth - outer.clientWidth);
  return {k, caption: (outer.previousElementSibling || {}).textContent || '',
          right: outer.getBoundingClientRect().right, scroll};
}).filter(t => t.right > w + 1 || t.scroll > 1);
return {width: w, page: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
        images: imgs.length, broken, wide, tables: document.querySelectorAll('table').length,
        ready: document.readyState};
";

#[test]
fn the_report_renders_in_a_browser_without_errors_at_desktop_and_phone_width() {
    let (Some(chromium), Some(chromedriver)) = (
        find(
            "SIPAS_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        ),
        find("SIPAS_CHROMEDRIVER", &["chromedriver"]),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium and chromedriver (.ci/run installs Debian's chromium and chromium-driver)"
        );
        eprintln!(
            "skipped: no chromium/chromedriver on PATH (install Debian's chromium and chromium-driver, \
             or set SIPAS_CHROMIUM and SIPAS_CHROMEDRIVER)"
        );
        return;
    };

    // A report of the demo's shape (177 units, 12 pilots, 12 quarters), with fewer responses.
    let tmp = tempfile::tempdir().unwrap();
    let periods = ("2023Q1", "2025Q4");
    let more = "pilot_effect = 0.35\n\n[evaluation]\nreplicates = 199\n";
    let out = run_job(
        tmp.path(),
        &generate_job("sipas-2023", 42480, 11, periods, more),
    );
    assert!(code(&out) <= 1, "{}", stderr(&out));
    let index = tmp.path().join("result/report/index.html");
    assert!(index.is_file());
    let shots = std::env::var_os("SIPAS_SCREENSHOT_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&shots).unwrap();

    let driver = Driver::start(&chromedriver);
    let profile = tmp.path().join("chromium-profile");
    let session = Session::new(&driver, &chromium, &profile);
    let url = format!("file://{}", index.canonicalize().unwrap().display());
    for (width, height, name) in [
        (1400, 1000, "report-1400.png"),
        (390, 844, "report-phone.png"),
    ] {
        session.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
        session.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})));
        let page = session.script(INSPECT);
        assert_eq!(page["ready"], "complete", "{page}");
        assert!(page["tables"].as_u64().unwrap() >= 4, "{page}");
        // 12 trend charts, the small multiples, the event study and the forest plot.
        assert!(page["images"].as_u64().unwrap() >= 15, "{page}");
        assert_eq!(
            page["broken"],
            json!([]),
            "broken images at {width} px: {page}"
        );
        let inner = page["width"].as_f64().unwrap();
        assert!(
            page["page"].as_f64().unwrap() <= inner + 1.0,
            "the page scrolls sideways at {width} px: {page}"
        );
        if width >= 1400 {
            assert_eq!(
                page["wide"],
                json!([]),
                "tables wider than {width} px: {page}"
            );
        }
        let logs = session.cmd(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({"type": "browser"})),
        );
        let errors: Vec<&Value> = logs
            .as_array()
            .expect("a log array")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(
            errors.is_empty(),
            "console errors at {width} px: {errors:?}"
        );
        let png = session.cmd(reqwest::Method::GET, "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("valid base64");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(shots.join(name), bytes).unwrap();
    }
}
