//! The HTML page and the whole report on disk.

use sipas_core::PilotSet;
use sipas_report::{render_html, write_report};

use crate::{assert_contains_all, file_names, pilots, small, small_dir};

#[test]
fn page_has_names_numbers_tables_and_images() {
    let html = render_html(&small(), &pilots());
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"vi\">"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(!html.contains("<script"));
    for name in [
        "Phường Trưng Vương",
        "Xã Phú Đình",
        "Huyện Định Hóa",
        "Thành phố Thái Nguyên",
    ] {
        assert!(html.contains(name), "{name}");
    }
    assert_contains_all(
        &html,
        &[
            "Chính quyền thân thiện, nhân dân phát huy quyền làm chủ",
            // DiD 6.35 [6.35 ∓ 1.959964 × 2.1 = 2.234076, 10.465924], SE 2.10.
            "6.35 điểm phần trăm",
            "2.23–10.47",
            "sai số chuẩn 2.10",
            // Pilot change 85.45 − 77.60 = 7.85; baseline 82.25 − 80.75 = 1.50.
            "<td>77.60</td><td>85.45</td><td>7.85</td>",
            "<td>80.75</td><td>82.25</td><td>1.50</td>",
        ],
    );
    // Groups table row 2023Q1: pilot 75.3 (72.2–78.4, n 215), baseline 80.0 (76.5–83.5, n 110).
    assert!(html.contains(
        "<td class=\"name\">2023Q1</td><td>75.3</td><td>72.2–78.4</td><td>215</td>\
         <td>80.0</td><td>76.5–83.5</td><td>110</td>"
    ));
    // Unit table: Phú Đình's undefined 2023Q3 shows a dash, not zero.
    assert!(html.contains("<td>—<br><small>—<br>n=0</small></td>"));
    assert!(html.contains("<td class=\"post\">88.5<br><small>84.6–92.4<br>n=120</small></td>"));
    for src in ["trend_05443.png", "trend_05602.png", "pilots.png"] {
        assert!(
            html.contains(&format!("<img src=\"{src}\" alt=\"")),
            "{src}"
        );
    }
    // + event_study.png and did_forest.png from the evaluation files.
    assert_eq!(html.matches("<img ").count(), 5);
    assert!(html.contains("Nhóm đối chứng (1 đơn vị)"));
}

#[test]
fn text_is_escaped() {
    let mut p = pilots();
    p.program = "A <b>&</b> \"B\"".into();
    let html = render_html(&small(), &p);
    assert!(html.contains("A &lt;b&gt;&amp;&lt;/b&gt; &quot;B&quot;"));
    assert!(!html.contains("<b>"));
}

#[test]
fn write_report_writes_every_file_reproducibly() {
    let p: PilotSet = pilots();
    let out = tempfile::tempdir().unwrap();
    let a = out.path().join("a");
    let summary = write_report(&small_dir(), &p, &a).unwrap();
    let names = file_names(&summary);
    assert_eq!(
        names,
        [
            "trend_05443.png",
            "trend_05602.png",
            "pilots.png",
            "event_study.png",
            "did_forest.png",
            "index.html"
        ]
    );
    assert_eq!(summary.pilot_units, ["05443", "05602"]);
    assert!(summary.missing_pilots.is_empty());
    assert_eq!((summary.baseline_units, summary.periods), (1, 6));
    // No temp files left behind.
    assert_eq!(std::fs::read_dir(&a).unwrap().count(), 6);

    let b = out.path().join("b");
    write_report(&small_dir(), &p, &b).unwrap();
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
            "{n} differs between runs"
        );
    }
}

#[test]
fn embedded_images_make_the_page_self_contained() {
    use base64::Engine as _;
    let out = tempfile::tempdir().unwrap();
    write_report(&small_dir(), &pilots(), out.path()).unwrap();
    let before = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let n = sipas_report::embed_images(out.path()).unwrap();
    assert_eq!(n, 5);
    let page = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert_eq!(page.matches("<img src=\"data:image/png;base64,").count(), 5);
    assert!(!page.contains(".png\" alt="));
    // Each URI decodes to the very PNG beside the page, in the order the page shows them.
    let mut names = before
        .match_indices("<img src=\"")
        .map(|(i, m)| &before[i + m.len()..])
        .map(|t| &t[..t.find('"').unwrap()]);
    for (i, m) in page.match_indices("<img src=\"data:image/png;base64,") {
        let tail = &page[i + m.len()..];
        let b64 = &tail[..tail.find('"').unwrap()];
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let name = names.next().unwrap();
        assert_eq!(
            bytes,
            std::fs::read(out.path().join(name)).unwrap(),
            "{name}"
        );
    }
    // Everything else is unchanged.
    let strip = |s: &str| -> String {
        s.split("<img src=\"")
            .map(|p| p.split_once('"').map_or(p, |(_, r)| r))
            .collect()
    };
    assert_eq!(strip(&page), strip(&before));
    // A second call finds nothing left to embed.
    assert_eq!(sipas_report::embed_images(out.path()).unwrap(), 0);
}
