//! Syncs against a real local HTTP server (tiny_http on 127.0.0.1:0) that
//! serves each platform's documented page format for a fixed number of
//! requests, then stops.

use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

const KOBO_TOKEN: &str = "s3cr3t-KOBO-token-9f8e7d";
const ODK_TOKEN: &str = "odk-bearer-T0KEN-1a2b3c";
const ODK_PASSWORD: &str = "pa55-W0RD";
/// base64("analyst@example.org:pa55-W0RD")
const ODK_BASIC: &str = "Basic YW5hbHlzdEBleGFtcGxlLm9yZzpwYTU1LVcwUkQ=";

#[derive(Clone, Debug)]
struct Req {
    url: String,
    auth: Option<String>,
}

impl Req {
    /// A decoded query parameter.
    fn param(&self, name: &str) -> Option<String> {
        let query = self.url.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k) == name).then(|| decode(v))
        })
    }

    fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

struct Reply {
    status: u16,
    body: String,
    retry_after: Option<&'static str>,
}

fn ok(body: &Value) -> Reply {
    Reply {
        status: 200,
        body: body.to_string(),
        retry_after: None,
    }
}

fn status(code: u16) -> Reply {
    Reply {
        status: code,
        body: json!({"detail": "nope"}).to_string(),
        retry_after: None,
    }
}

/// Serves at most `max_requests` requests (5 s idle timeout), then stops and
/// returns what it saw. `handler(i, request, base_url)`.
fn serve<F>(max_requests: usize, mut handler: F) -> (String, JoinHandle<Vec<Req>>)
where
    F: FnMut(usize, &Req, &str) -> Reply + Send + 'static,
{
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let base2 = base.clone();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for i in 0..max_requests {
            let Ok(Some(rq)) = server.recv_timeout(Duration::from_secs(5)) else {
                break;
            };
            let auth = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str().to_owned());
            let req = Req {
                url: rq.url().to_owned(),
                auth,
            };
            let reply = handler(i, &req, &base2);
            let mut resp =
                tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
            resp.add_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
            );
            if let Some(ra) = reply.retry_after {
                resp.add_header(tiny_http::Header::from_bytes("Retry-After", ra).unwrap());
            }
            let _ = rq.respond(resp);
            seen.push(req);
        }
        seen
    });
    (base, handle)
}

fn fast_opts() -> HttpOptions {
    HttpOptions {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retries: 3,
        timeout: Duration::from_secs(10),
        page_limit: 2,
        ..HttpOptions::default()
    }
}

fn env(var: &str) -> Option<String> {
    match var {
        "KOBO_TOKEN" => Some(KOBO_TOKEN.to_owned()),
        "ODK_TOKEN" => Some(ODK_TOKEN.to_owned()),
        "ODK_PASSWORD" => Some(ODK_PASSWORD.to_owned()),
        _ => None,
    }
}

fn kobo_source(base: &str) -> SourceConfig {
    SourceConfig {
        name: "kobo-2024".to_owned(),
        kind: SourceKind::Kobo,
        server: base.to_owned(),
        asset: Some("aXyZ123".to_owned()),
        project: None,
        form: None,
        token_env: Some("KOBO_TOKEN".to_owned()),
        user: None,
        password_env: None,
        include_rejected: false,
    }
}

fn odk_source(base: &str, basic: bool) -> SourceConfig {
    SourceConfig {
        name: "odk-2024".to_owned(),
        kind: SourceKind::Odk,
        server: base.to_owned(),
        asset: None,
        project: Some(7),
        form: Some("sipas_2024".to_owned()),
        token_env: (!basic).then(|| "ODK_TOKEN".to_owned()),
        user: basic.then(|| "analyst@example.org".to_owned()),
        password_env: basic.then(|| "ODK_PASSWORD".to_owned()),
        include_rejected: false,
    }
}

/// A Kobo submission as API v2 returns it (values as strings, group paths).
fn kobo_rec(uuid: &str, time: &str, q1: &str) -> Value {
    json!({
        "_id": 1000 + uuid.len(),
        "_uuid": uuid,
        "_submission_time": time,
        "grp_a/q1": q1,
        "unit_code": "05824",
        "meta/instanceID": format!("uuid:{uuid}"),
        "_validation_status": {"uid": "validation_status_approved"},
        "_geolocation": [null, null],
    })
}

fn kobo_page(base: &str, count: usize, results: &[Value], next_start: Option<usize>) -> Value {
    let next = next_start
        .map(|s| format!("{base}/api/v2/assets/aXyZ123/data/?format=json&limit=2&start={s}"));
    json!({"count": count, "next": next, "previous": null, "results": results})
}

const KOBO_PATH: &str = "/api/v2/assets/aXyZ123/data/";

fn kobo_records() -> Vec<Value> {
    vec![
        kobo_rec("u-c", "2024-03-01T08:00:00", "4"),
        kobo_rec("u-a", "2024-03-01T09:30:00", "5"),
        kobo_rec("u-e", "2024-03-02T10:00:00", "3"),
        kobo_rec("u-b", "2024-03-02T11:15:00", "2"),
        kobo_rec("u-d", "2024-03-03T07:45:00", "1"),
    ]
}

/// Serves the 5 records in pages of 2 (3 pages), checking the token.
fn kobo_handler(i: usize, req: &Req, base: &str) -> Reply {
    if req.auth.as_deref() != Some(&format!("Token {KOBO_TOKEN}")) {
        return status(401);
    }
    assert_eq!(req.path(), KOBO_PATH, "request {i}");
    let recs = kobo_records();
    let start: usize = req.param("start").map_or(0, |s| s.parse().unwrap());
    let end = (start + 2).min(recs.len());
    let next = (end < recs.len()).then_some(end);
    ok(&kobo_page(base, recs.len(), &recs[start..end], next))
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(path: &Path, key: &str) -> Vec<String> {
    lines(path)
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn kobo_follows_next_over_three_pages() {
    let (base, server) = serve(3, kobo_handler);
    let dir = tempfile::tempdir().unwrap();
    let report = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].param("format").as_deref(), Some("json"));
    assert_eq!(seen[0].param("limit").as_deref(), Some("2"));
    assert_eq!(seen[0].param("query"), None, "first run is not incremental");
    assert_eq!(seen[2].param("start").as_deref(), Some("4"));

    assert_eq!(report.pages_fetched, 3);
    assert_eq!(report.records_received, 5);
    assert_eq!(report.new, 5);
    assert_eq!(
        (report.updated, report.unchanged, report.skipped_rejected),
        (0, 0, 0)
    );
    assert_eq!(report.stored_total, 5);
    assert_eq!(report.retries, 0);
    assert_eq!(report.watermark_before, None);
    assert_eq!(
        report.watermark_after.as_deref(),
        Some("2024-03-03T07:45:00")
    );
    assert_eq!(report.error, None);

    let records = records_path(dir.path(), "kobo-2024");
    assert_eq!(ids(&records, "_uuid"), ["u-a", "u-b", "u-c", "u-d", "u-e"]);
    let text = std::fs::read_to_string(&records).unwrap();
    // Keys flattened with `/` and sorted; group paths kept as they come.
    assert_eq!(
        text.lines().next().unwrap(),
        r#"{"_geolocation":[null,null],"_id":1003,"_submission_time":"2024-03-01T09:30:00","_uuid":"u-a","_validation_status/uid":"validation_status_approved","grp_a/q1":"5","meta/instanceID":"uuid:u-a","unit_code":"05824"}"#
    );
    let state = read_state(dir.path(), "kobo-2024").unwrap().unwrap();
    assert_eq!(state.watermark.as_deref(), Some("2024-03-03T07:45:00"));
    assert_eq!(
        (state.records, state.pages_fetched_total, state.runs),
        (5, 3, 1)
    );
    assert_eq!(state.last_run.as_ref(), Some(&report));
    assert!(!text.contains(KOBO_TOKEN));
}

#[test]
fn retries_a_503_then_succeeds() {
    let (base, server) = serve(2, |i, req, base| {
        if i == 0 {
            return status(503);
        }
        assert_eq!(
            req.auth.as_deref(),
            Some(format!("Token {KOBO_TOKEN}").as_str())
        );
        let recs = kobo_records();
        ok(&kobo_page(base, 2, &recs[..2], None))
    });
    let dir = tempfile::tempdir().unwrap();
    let report = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].url, seen[1].url, "the same page was asked again");
    assert_eq!(report.retries, 1);
    assert_eq!(
        (report.pages_fetched, report.new, report.stored_total),
        (1, 2, 2)
    );
}

#[test]
fn honours_retry_after_on_429_and_caps_it() {
    let (base, server) = serve(3, |i, _req, base| match i {
        0 => Reply {
            retry_after: Some("1"),
            ..status(429)
        },
        1 => Reply {
            retry_after: Some("3600"),
            ..status(429)
        },
        _ => ok(&kobo_page(base, 1, &kobo_records()[..1], None)),
    });
    let dir = tempfile::tempdir().unwrap();
    let opts = HttpOptions {
        max_retry_after: Duration::from_millis(50),
        ..fast_opts()
    };
    let report = sync(&kobo_source(&base), dir.path(), &opts, &env).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(report.retries, 2);
    // Both waits capped at 50 ms (1 s and 3600 s asked).
    assert_eq!(report.retry_wait_ms, 100);
    assert_eq!(report.stored_total, 1);

    // Retry-After: 1 honoured as such (1000 ms planned and slept).
    let (base, server) = serve(2, |i, _req, base| {
        if i == 0 {
            Reply {
                retry_after: Some("1"),
                ..status(429)
            }
        } else {
            ok(&kobo_page(base, 1, &kobo_records()[..1], None))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let report = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap();
    assert_eq!(server.join().unwrap().len(), 2);
    assert_eq!((report.retries, report.retry_wait_ms), (1, 1000));
}

#[test]
fn gives_up_after_max_retries() {
    let (base, server) = serve(4, |_, _, _| status(502));
    let dir = tempfile::tempdir().unwrap();
    let err = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 4, "1 attempt + 3 retries");
    assert!(
        matches!(
            err,
            Error::Status {
                status: 502,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    let state = read_state(dir.path(), "kobo-2024").unwrap().unwrap();
    assert_eq!(state.records, 0);
    assert_eq!(state.last_run.unwrap().retries, 3);
}

#[test]
fn malformed_page_keeps_earlier_pages_and_a_rerun_adds_no_duplicates() {
    // Run 1: page 1 fine, page 2 is HTML.
    let (base, server) = serve(2, |i, req, base| {
        if i == 0 {
            kobo_handler(i, req, base)
        } else {
            Reply {
                status: 200,
                body: "<html>maintenance</html>".to_owned(),
                retry_after: None,
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = kobo_source(&base);
    let err = sync(&source, dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 2);
    let msg = err.to_string();
    assert!(matches!(err, Error::Malformed { page: 2, .. }), "{err:?}");
    assert!(
        msg.contains(&format!("{base}{KOBO_PATH}?format=json&limit=2&start=2")),
        "{msg}"
    );
    assert!(msg.contains("page 2") && msg.contains("not JSON"), "{msg}");
    let records = records_path(dir.path(), "kobo-2024");
    assert_eq!(ids(&records, "_uuid"), ["u-a", "u-c"]);
    let state = read_state(dir.path(), "kobo-2024").unwrap().unwrap();
    assert_eq!(state.watermark.as_deref(), Some("2024-03-01T09:30:00"));
    assert_eq!((state.records, state.pages_fetched_total), (2, 1));
    let last = state.last_run.unwrap();
    assert_eq!(last.pages_fetched, 1);
    assert_eq!(last.error.as_deref(), Some(msg.as_str()));

    // Run 2 (same port is gone; new server): asks from the watermark, gets
    // u-a again unchanged, u-c edited later, and the three others.
    let (base2, server) = serve(2, |i, req, base| {
        let all = [
            kobo_rec("u-a", "2024-03-01T09:30:00", "5"),
            kobo_rec("u-c", "2024-03-04T12:00:00", "1"),
            kobo_rec("u-e", "2024-03-02T10:00:00", "3"),
            kobo_rec("u-b", "2024-03-02T11:15:00", "2"),
            kobo_rec("u-d", "2024-03-03T07:45:00", "1"),
        ];
        if i == 0 {
            assert!(req.param("query").is_some(), "incremental query");
            ok(&kobo_page(base, 5, &all[..3], Some(3)))
        } else {
            ok(&kobo_page(base, 5, &all[3..], None))
        }
    });
    let source = SourceConfig {
        server: base2,
        ..source
    };
    let report = sync(&source, dir.path(), &fast_opts(), &env).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    let query: Value = serde_json::from_str(&seen[0].param("query").unwrap()).unwrap();
    assert_eq!(
        query,
        json!({"_submission_time": {"$gte": "2024-03-01T09:30:00"}})
    );
    assert_eq!(
        report.watermark_before.as_deref(),
        Some("2024-03-01T09:30:00")
    );
    assert_eq!(
        (
            report.records_received,
            report.new,
            report.updated,
            report.unchanged
        ),
        (5, 3, 1, 1)
    );
    assert_eq!(report.stored_total, 5);
    assert_eq!(
        report.watermark_after.as_deref(),
        Some("2024-03-04T12:00:00")
    );
    assert_eq!(ids(&records, "_uuid"), ["u-a", "u-b", "u-c", "u-d", "u-e"]);
    let c = &lines(&records)[2];
    assert_eq!(
        (c["grp_a/q1"].as_str(), c["_submission_time"].as_str()),
        (Some("1"), Some("2024-03-04T12:00:00"))
    );
    let state = read_state(dir.path(), "kobo-2024").unwrap().unwrap();
    assert_eq!(
        (state.records, state.pages_fetched_total, state.runs),
        (5, 3, 2)
    );
}

#[test]
fn missing_results_is_malformed_and_next_loop_is_an_error() {
    let (base, server) = serve(1, |_, _, _| ok(&json!({"count": 0, "next": null})));
    let dir = tempfile::tempdir().unwrap();
    let err = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    server.join().unwrap();
    assert!(
        err.to_string()
            .contains("(page 1): malformed page: no `results` field"),
        "{err}"
    );

    // Page 2 links back to page 1.
    let (base, server) = serve(2, |i, _, base| {
        let recs = kobo_records();
        if i == 0 {
            ok(&kobo_page(base, 4, &recs[..2], Some(2)))
        } else {
            let mut page = kobo_page(base, 4, &recs[2..4], None);
            page["next"] = json!(format!("{base}{KOBO_PATH}?format=json&limit=2"));
            ok(&page)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let err = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 2);
    assert!(
        matches!(err, Error::PaginationLoop { page: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("pagination loop"), "{err}");
    assert_eq!(
        read_state(dir.path(), "kobo-2024")
            .unwrap()
            .unwrap()
            .records,
        4
    );

    // A next link to another server is refused before any request.
    let (base, server) = serve(1, |_, _, base| {
        let mut page = kobo_page(base, 4, &kobo_records()[..2], None);
        page["next"] =
            json!("http://collector.example.invalid/api/v2/assets/aXyZ123/data/?start=2");
        ok(&page)
    });
    let dir = tempfile::tempdir().unwrap();
    let err = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1);
    assert!(matches!(err, Error::ForeignLink { page: 1, .. }), "{err:?}");
}

#[test]
fn unauthorized_is_clear_and_never_shows_the_token() {
    let (base, server) = serve(1, |_, req, _| {
        assert_eq!(
            req.auth.as_deref(),
            Some(format!("Token {KOBO_TOKEN}").as_str())
        );
        status(401)
    });
    let dir = tempfile::tempdir().unwrap();
    let err = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 1, "401 is not retried");
    let display = err.to_string();
    let debug = format!("{err:?}");
    assert!(matches!(err, Error::Auth { status: 401, .. }));
    assert!(
        display.contains("HTTP 401") && display.contains("KOBO_TOKEN"),
        "{display}"
    );
    assert!(display.contains(&format!("{base}{KOBO_PATH}")), "{display}");
    for text in [&display, &debug] {
        assert!(!text.contains(KOBO_TOKEN), "{text}");
    }
    let state = std::fs::read_to_string(dir.path().join("kobo-2024").join(STATE_FILE)).unwrap();
    assert!(!state.contains(KOBO_TOKEN));

    // 403 and 404 say what to check, naming the asset.
    let (base, server) = serve(2, |i, _, _| status(if i == 0 { 403 } else { 404 }));
    let dir = tempfile::tempdir().unwrap();
    let e403 = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    let e404 = sync(&kobo_source(&base), dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(server.join().unwrap().len(), 2);
    assert!(
        e403.to_string().contains("permission") && e403.to_string().contains("aXyZ123"),
        "{e403}"
    );
    assert!(e404.to_string().contains("asset uid `aXyZ123`"), "{e404}");
}

#[test]
fn missing_secret_names_the_variable_and_secrets_print_as_stars() {
    let dir = tempfile::tempdir().unwrap();
    let source = kobo_source("http://127.0.0.1:9");
    let err = sync(&source, dir.path(), &fast_opts(), &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "source `kobo-2024`: environment variable KOBO_TOKEN (token_env) is not set or empty"
    );
    let secret = Secret::new(KOBO_TOKEN);
    assert_eq!(format!("{secret} {secret:?}"), "*** ***");
    let creds = source.credentials(&env).unwrap();
    assert!(!format!("{creds:?}").contains(KOBO_TOKEN));
}

/// An ODK Central submission as OData returns it.
fn odk_rec(id: &str, date: &str, review: Option<&str>, q1: &str) -> Value {
    json!({
        "__id": id,
        "__system": {
            "submissionDate": date,
            "updatedAt": null,
            "submitterId": "5",
            "reviewState": review,
        },
        "grp_a": {"q1": q1},
        "meta": {"instanceID": id},
    })
}

const ODK_PATH: &str = "/v1/projects/7/forms/sipas_2024.svc/Submissions";

#[test]
fn odk_follows_next_link_with_basic_auth_and_skips_rejected() {
    let (base, server) = serve(2, |i, req, base| {
        if req.auth.as_deref() != Some(ODK_BASIC) {
            return status(401);
        }
        assert_eq!(req.path(), ODK_PATH);
        if i == 0 {
            ok(&json!({
                "@odata.context": format!("{base}/v1/projects/7/forms/sipas_2024.svc/$metadata#Submissions"),
                "@odata.count": 4,
                "value": [
                    odk_rec("uuid:b", "2024-05-01T10:00:00.000Z", None, "4"),
                    odk_rec("uuid:a", "2024-05-02T10:00:00.000Z", Some("rejected"), "1"),
                ],
                // Opaque: followed exactly as given.
                "@odata.nextLink": format!("{base}{ODK_PATH}?%24top=2&%24count=true&%24skiptoken=01eyJvIjoyfQ%3D%3D"),
            }))
        } else {
            assert_eq!(req.param("$skiptoken").as_deref(), Some("01eyJvIjoyfQ=="));
            ok(&json!({
                "value": [
                    odk_rec("uuid:d", "2024-05-03T10:00:00.000Z", Some("approved"), "5"),
                    odk_rec("uuid:c", "2024-05-02T11:00:00.000Z", Some("hasIssues"), "3"),
                ],
            }))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let report = sync(&odk_source(&base, true), dir.path(), &fast_opts(), &env).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].param("$top").as_deref(), Some("2"));
    assert_eq!(seen[0].param("$count").as_deref(), Some("true"));
    assert_eq!(seen[0].param("$filter"), None);
    assert_eq!(report.pages_fetched, 2);
    assert_eq!(
        (report.records_received, report.new, report.skipped_rejected),
        (4, 3, 1)
    );
    assert_eq!(report.stored_total, 3);
    assert_eq!(
        report.watermark_after.as_deref(),
        Some("2024-05-03T10:00:00.000Z")
    );
    let records = records_path(dir.path(), "odk-2024");
    assert_eq!(ids(&records, "__id"), ["uuid:b", "uuid:c", "uuid:d"]);
    let first = &lines(&records)[0];
    assert_eq!(
        first["__system/submissionDate"],
        json!("2024-05-01T10:00:00.000Z")
    );
    assert_eq!(first["grp_a/q1"], json!("4"));
    assert_eq!(first["meta/instanceID"], json!("uuid:b"));
    assert!(
        !std::fs::read_to_string(&records)
            .unwrap()
            .contains(ODK_PASSWORD)
    );

    // include_rejected keeps it.
    let (base, server) = serve(1, |_, _, _| {
        ok(
            &json!({"value": [odk_rec("uuid:a", "2024-05-02T10:00:00.000Z", Some("rejected"), "1")]}),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let source = SourceConfig {
        include_rejected: true,
        ..odk_source(&base, true)
    };
    let report = sync(&source, dir.path(), &fast_opts(), &env).unwrap();
    server.join().unwrap();
    assert_eq!((report.skipped_rejected, report.stored_total), (0, 1));
}

#[test]
fn odk_bearer_incremental_sync_replaces_edits() {
    let page1 = json!({"value": [
        odk_rec("uuid:1", "2024-06-01T08:00:00.000Z", None, "4"),
        odk_rec("uuid:2", "2024-06-02T08:00:00.000Z", None, "3"),
    ]});
    let (base, server) = serve(1, move |_, req, _| {
        if req.auth.as_deref() != Some(&format!("Bearer {ODK_TOKEN}")) {
            return status(401);
        }
        ok(&page1)
    });
    let dir = tempfile::tempdir().unwrap();
    let first = sync(&odk_source(&base, false), dir.path(), &fast_opts(), &env).unwrap();
    server.join().unwrap();
    assert_eq!((first.new, first.stored_total), (2, 2));

    // Second run: the server checks the watermark filter; uuid:2 was edited
    // (same id, later time), uuid:3 is new.
    let (base, server) = serve(1, |_, req, _| {
        if req.auth.as_deref() != Some(&format!("Bearer {ODK_TOKEN}")) {
            return status(401);
        }
        assert_eq!(
            req.param("$filter").as_deref(),
            Some("__system/submissionDate ge 2024-06-02T08:00:00.000Z")
        );
        ok(&json!({"value": [
            odk_rec("uuid:2", "2024-06-05T09:00:00.000Z", Some("edited"), "5"),
            odk_rec("uuid:3", "2024-06-04T08:00:00.000Z", None, "2"),
        ]}))
    });
    let second = sync(&odk_source(&base, false), dir.path(), &fast_opts(), &env).unwrap();
    assert_eq!(server.join().unwrap().len(), 1);
    assert_eq!(
        second.watermark_before.as_deref(),
        Some("2024-06-02T08:00:00.000Z")
    );
    assert_eq!((second.new, second.updated, second.unchanged), (1, 1, 0));
    assert_eq!(second.stored_total, 3);
    assert_eq!(
        second.watermark_after.as_deref(),
        Some("2024-06-05T09:00:00.000Z")
    );
    let records = records_path(dir.path(), "odk-2024");
    assert_eq!(ids(&records, "__id"), ["uuid:1", "uuid:2", "uuid:3"]);
    assert_eq!(lines(&records)[1]["grp_a/q1"], json!("5"));
}

#[test]
fn sync_all_runs_sources_concurrently_in_order() {
    let (base, server) = serve(3, kobo_handler);
    let dir = tempfile::tempdir().unwrap();
    let odk = SourceConfig {
        token_env: Some("UNSET_VAR".to_owned()),
        ..odk_source("http://127.0.0.1:9", false)
    };
    let sources = [kobo_source(&base), odk];
    let reports = sync_all(&sources, dir.path(), &fast_opts(), &env).unwrap();
    assert_eq!(server.join().unwrap().len(), 3);
    assert_eq!(reports.len(), 2);
    assert_eq!(
        (reports[0].source.as_str(), reports[0].stored_total),
        ("kobo-2024", 5)
    );
    assert_eq!(reports[0].error, None);
    assert_eq!(reports[1].source, "odk-2024");
    assert!(reports[1].error.as_deref().unwrap().contains("UNSET_VAR"));

    let twice = [sources[0].clone(), sources[0].clone()];
    let err = sync_all(&twice, dir.path(), &fast_opts(), &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "two sources are named `kobo-2024`; names must be unique"
    );
}

#[test]
fn job_file_entries_parse_and_validate() {
    #[derive(Debug, serde::Deserialize)]
    struct Job {
        source: Vec<SourceConfig>,
    }
    let job: Job = toml::from_str(
        r#"
        [[source]]
        name = "kobo-2024"
        kind = "kobo"
        server = "https://kf.kobotoolbox.org"
        asset = "aXyZ123"
        token_env = "KOBO_TOKEN"

        [[source]]
        name = "odk-2024"
        kind = "odk"
        server = "https://central.example.org/"
        project = 7
        form = "sipas_2024"
        user = "analyst@example.org"
        password_env = "ODK_PASSWORD"
        include_rejected = true
        "#,
    )
    .unwrap();
    assert_eq!(job.source.len(), 2);
    for s in &job.source {
        s.validate().unwrap();
    }
    assert_eq!(job.source[1].project, Some(7));
    assert!(job.source[1].include_rejected);

    let unknown = toml::from_str::<Job>(
        "[[source]]\nname = \"x\"\nkind = \"kobo\"\nserver = \"https://a\"\ntoken = \"abc\"\n",
    );
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `token`")
    );

    let reason = |s: SourceConfig| s.validate().unwrap_err().to_string();
    let kobo = kobo_source("https://kf.kobotoolbox.org");
    assert!(
        reason(SourceConfig {
            asset: None,
            ..kobo.clone()
        })
        .contains("needs `asset`")
    );
    assert!(
        reason(SourceConfig {
            server: "https://me:pw@kf.kobotoolbox.org".to_owned(),
            ..kobo.clone()
        })
        .contains("must not contain credentials")
    );
    assert!(
        reason(SourceConfig {
            name: "../x".to_owned(),
            ..kobo
        })
        .contains("`name`")
    );
    let odk = odk_source("https://central.example.org", true);
    assert!(
        reason(SourceConfig {
            token_env: Some("T".to_owned()),
            ..odk.clone()
        })
        .contains("not both")
    );
    assert!(
        reason(SourceConfig {
            password_env: None,
            ..odk
        })
        .contains("needs `token_env`")
    );
}
