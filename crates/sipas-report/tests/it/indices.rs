//! A section per headline index: its 2×2 quadrants from `indices.csv`, its staggered effects
//! (the rows of `att_*.csv` with its id, not another index's) and its event-study chart.

use std::fs;

use sipas_report::rollout::index_rollout_spec;
use sipas_report::{Lang, load_results, render_html_in, write_report};

use crate::rollout::with_rollout;
use crate::{assert_contains_all, file_names, pilots};

/// `indices.csv` with SIPAS, `access` (its staggered rows are in the rollout fixture) and
/// `papi_x` (no staggered rows).
fn with_indices(dir: &std::path::Path) {
    with_rollout(dir, 1);
    let mut s = sipas_core::results::INDICES.header::<&str>(&[]);
    s.push_str(
        "sipas,Chỉ số SIPAS,SIPAS index,0,100,2024Q1,1.2,0.3,0.6,1.8,80,83,79,80.8,1.1,0.3,0.5,1.7,0.02,0.5,survey\n\
         access,Tiếp cận dịch vụ,Access,0,100,2024Q1,1,0.2,0.6,1.4,8,9.5,7,7.5,,,,,,,survey\n\
         papi_x,Tham gia,Participation,1,10,2024Q1,,,,,,,,,,,,,,,survey\n",
    );
    fs::write(dir.join("indices.csv"), s).unwrap();
}

#[test]
fn each_index_gets_its_quadrants_and_its_own_staggered_effects() {
    let tmp = tempfile::tempdir().unwrap();
    with_indices(tmp.path());
    let r = load_results(tmp.path()).unwrap();
    let ids: Vec<&str> = r.indices.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["sipas", "access", "papi_x"]);
    let access = &r.indices[1];
    assert_eq!(
        access.quadrants,
        [Some(8.0), Some(9.5), Some(7.0), Some(7.5)]
    );
    let ra = access.rollout.as_ref().expect("access has staggered rows");
    let events: Vec<(i64, f64)> = ra.event.iter().map(|e| (e.exposure, e.att)).collect();
    assert_eq!(events, [(0, 9.0)], "only access's rows");
    assert_eq!(
        ra.overall.as_ref().map(|o| (o.att, o.ci)),
        Some((9.0, Some((8.0, 10.0))))
    );
    let rs = r.indices[0]
        .rollout
        .as_ref()
        .expect("sipas has staggered rows");
    assert_eq!(rs.event.len(), 5);
    assert_eq!(rs.overall.as_ref().map(|o| o.att), Some(1.8));
    assert!(r.indices[2].rollout.is_none(), "no rows: no rollout");

    let spec = index_rollout_spec(rs, "Chỉ số SIPAS", Lang::Vi, r.level()).unwrap();
    assert_eq!(
        spec.title,
        "Chỉ số SIPAS: tác động theo số kỳ kể từ khi bắt đầu"
    );
    assert_eq!(spec.y_title, "Tác động (điểm chỉ số)");
    let pooled: Vec<(i64, f64)> = spec.pooled.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(
        pooled,
        [(-2, -0.2), (-1, 0.2), (0, 0.75), (1, 1.75), (2, 3.0)]
    );
}

#[test]
fn the_page_has_a_section_per_index_with_its_event_study_when_it_has_one() {
    let tmp = tempfile::tempdir().unwrap();
    with_indices(tmp.path());
    let r = load_results(tmp.path()).unwrap();
    let html = render_html_in(&r, &pilots(), Lang::En);
    assert_contains_all(
        &html,
        &[
            "<h3 id=\"index-access\">Access (access, scale 0–100)</h3>",
            // Pilot 8 → 9.5 (change 1.5), baseline 7 → 7.5 (0.5).
            "<td>8.00</td><td>9.50</td><td>1.50</td>",
            "<td>7.00</td><td>7.50</td><td>0.50</td>",
            "2×2 DiD (interval): 1.00 (0.60–1.40).",
            // The staggered overall ATT of each index, from its own rows.
            "<td>9.00 (8.00–10.00)</td>",
            "<td>1.80 (1.00–2.60)</td>",
            "src=\"index_access.event.png\"",
            "src=\"index_sipas.event.png\"",
            "<h3 id=\"index-papi_x\">",
        ],
    );
    assert!(!html.contains("index_papi_x.event.png"));

    let out = tmp.path().join("report");
    let summary = write_report(tmp.path(), &pilots(), &out).unwrap();
    let files = file_names(&summary);
    for f in [
        "index_sipas.event.png",
        "index_access.event.png",
        "index_papi_x.png",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} not written: {files:?}");
    }
    assert!(!files.iter().any(|x| x == "index_papi_x.event.png"));
}

/// Results whose headline is not SIPAS (`aggregate-report.json` → `headline`): the page and the
/// charts name that index and its scale wherever they would say SIPAS, in both languages, and
/// its differences are in points, not percentage points.
#[test]
fn a_headline_other_than_sipas_is_named_in_the_page_and_the_charts() {
    let tmp = tempfile::tempdir().unwrap();
    with_indices(tmp.path());
    let path = tmp.path().join("aggregate-report.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    json["headline"] = serde_json::json!({
        "id": "papi",
        "name_vi": "Chỉ số PAPI cấp xã",
        "name_en": "Commune PAPI",
        "scale": [3.0, 30.0]
    });
    fs::write(&path, json.to_string()).unwrap();
    let r = load_results(tmp.path()).unwrap();
    let en = render_html_in(&r, &pilots(), Lang::En);
    assert_contains_all(
        &en,
        &[
            "<title>Commune PAPI: evaluation of the pilot</title>",
            "Commune PAPI (3–30)",
        ],
    );
    assert!(!en.contains("percentage points"));
    let vi = render_html_in(&r, &pilots(), Lang::Vi);
    assert_contains_all(
        &vi,
        &["<title>Chỉ số PAPI cấp xã: đánh giá mô hình thí điểm</title>"],
    );
    for (lang, page) in [("en", &en), ("vi", &vi)] {
        // Only the indices section (SIPAS is one of the indices there) names SIPAS.
        let outside: String = page
            .split("<h2 id=\"indices\">")
            .next()
            .unwrap()
            .to_string();
        assert!(!outside.contains("SIPAS"), "{lang}: {outside}");
    }
    let l = r.labels(Lang::En);
    assert_eq!(l.sipas_axis, "Commune PAPI score (3–30)");
    assert_eq!(l.rollout_y, "Effect on the Commune PAPI score (points)");
    assert_eq!(
        r.labels(Lang::Vi).sipas_axis,
        "Điểm Chỉ số PAPI cấp xã (3–30)"
    );
    // Without a headline (older results) or with SIPAS, the labels are SIPAS's.
    assert_eq!(
        load_results(&crate::small_dir())
            .unwrap()
            .labels(Lang::En)
            .sipas_axis,
        "SIPAS score (0–100)"
    );
}
