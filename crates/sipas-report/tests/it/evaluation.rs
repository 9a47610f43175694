//! The pilot-evaluation files, their charts and page sections, the data-quality
//! section, and older results folders without them.
//!
//! Fixture values (hand-written): TWFE 5.90, CR1 interval 5.9 ∓ t(2) 4.302653 × 1.2,
//! wild interval −2.10 to 13.40; per-unit 2×2 of cell means, e.g. Phú Đình
//! (83.5 − 73.666667) − (82.25 − 80.75) = 8.333333 ± 1.959964 × 1.5.
//! Per-unit TWFE against the single baseline unit 05446: Trưng Vương's panel is
//! balanced, so it equals the 2×2, 6.125; Phú Đình lacks 2023Q3, and with two
//! units the period effects leave the mean of the differences d_t = y_pilot − y_base:
//! post (0 + 2.5)/2 − pre (−8 − 6.5 − 6.5)/3 = 8.25. Their CR1 intervals use t(1)
//! 12.706205 (G = 2): 6.125 ∓ 12.706205 × 0.9 = −5.31 … 17.56, 8.25 ∓ 12.706205 × 1.1 =
//! −5.73 … 22.23, and must appear nowhere.
//! Stage counts: ingest 1874 read = 1866 accepted + 8; clean 1866 in = 1859 kept + 7;
//! aggregate 1859 read = 1855 survey used (= Σ n of unit_period.csv: 6 × 120 + 6 × 110
//! + 5 × 95) + 4 qr.

use std::fs;

use sipas_report::html::{EVENT_STUDY_PNG, FOREST_PNG};
use sipas_report::render::{EFFECT_COLOR, MARKER_COLOR, OVERALL_COLOR, forest_size};
use sipas_report::spec::{event_study_spec, forest_spec};
use sipas_report::{
    ChartStyle, Error, ReportOptions, load_results, load_results_with, render_event_study,
    render_forest, render_html, write_report, write_report_with,
};

use crate::png::{count_near, decode, golden};
use crate::{assert_contains_all, file_names, pilots, small, small_dir};

fn with_quality() -> sipas_report::Results {
    load_results_with(&small_dir(), &ReportOptions::beside(&small_dir())).unwrap()
}

#[test]
fn loads_evaluation_files_and_stage_reports() {
    let r = with_quality();
    let ev = &r.evaluation;
    let t = ev.twfe.as_ref().unwrap();
    assert_eq!(t.overall.estimate, Some(5.9));
    assert_eq!(t.overall.lo_wild, Some(-2.1));
    assert_eq!(t.overall.n_clusters, Some(3));
    assert_eq!(t.overall.bootstrap_weights, "webb");
    // The file lists 05602 first; rows come back in code order.
    let codes: Vec<_> = t.units.iter().map(|u| u.unit_code.as_deref()).collect();
    assert_eq!(codes, [Some("05443"), Some("05602")]);
    assert_eq!(t.units[1].p_wild, None);
    assert_eq!(ev.did_units.len(), 2);
    assert_eq!(ev.event_study.len(), 6);
    let refs: Vec<i64> = ev
        .event_study
        .iter()
        .filter(|c| c.is_reference())
        .map(|c| c.k)
        .collect();
    assert_eq!(refs, [-1]);
    let pt = ev.pretrend.as_ref().unwrap();
    assert_eq!((pt.q, pt.df1, pt.df2, pt.p), (3, 3, 2, Some(0.715)));
    assert!(
        ev.methods
            .as_ref()
            .unwrap()
            .starts_with("Evaluating the pilot\n\n")
    );
    assert_eq!(
        ev.info.as_ref().unwrap().selection.as_ref().unwrap().cells,
        17
    );

    let i = r.quality.ingest.as_ref().unwrap();
    assert_eq!((i.rows_read, i.accepted, i.quarantined), (1874, 1866, 8));
    assert!(i.reconciles());
    let c = r.quality.clean.as_ref().unwrap();
    assert_eq!((c.rows_in, c.kept, c.excluded), (1866, 1859, 7));
    assert_eq!(c.flagged_by_reason["flag_straightline"], 6);
    assert!(c.reconciles());
    let a = r.quality.aggregate.as_ref().unwrap();
    assert_eq!(
        (
            a.channel.as_str(),
            a.rows_read,
            a.rows_used,
            a.rows_excluded_channel
        ),
        ("survey", 1859, 1855, 4)
    );
    assert_eq!(a.excluded_by_channel["qr"], 4);
    assert!(a.reconciles());
    // load_results alone does not look beside the folder, but reads the
    // aggregate report inside it.
    let alone = small();
    assert!(alone.quality.ingest.is_none() && alone.quality.clean.is_none());
    assert_eq!(alone.quality.aggregate.as_ref(), Some(a));
}

#[test]
fn event_study_spec_from_the_fixture() {
    let spec = event_study_spec(&small()).unwrap();
    // y: lowest −5.663184, highest 13.023714 (and 0); span 18.686898, ± 3% →
    // −6.223791 … 13.584321, 19.81 wide → step 2 (≤ 10 steps) → −8 … 14.
    let expected = "\
title: Nghiên cứu sự kiện: chênh lệch SIPAS so với nhóm đối chứng
subtitle: Kiểm định xu hướng trước thí điểm: F(3, 2) = 0.50, p = 0.715; p bootstrap hoang dã = 0.690
x: Số kỳ so với kỳ bắt đầu thí điểm (k) [-4.50, 1.50] [−4 2023Q1, −3 2023Q2, −2 2023Q3, −1 2023Q4, 0 2024Q1, 1 2024Q2]
y: Chênh lệch điểm SIPAS (điểm) [-8.00, 14.00]
marker: x=-0.50 \"Bắt đầu thí điểm\"
k=-4 2023Q1: -1.00 [-5.30, 3.30]
k=-3 2023Q2: 0.50 [-3.80, 4.80]
k=-2 2023Q3: -0.50 [-5.66, 4.66]
k=-1 2023Q4: 0.00 none reference
k=0 2024Q1: 5.50 [-0.09, 11.09]
k=1 2024Q2: 7.00 [0.98, 13.02]
";
    assert_eq!(spec.to_text(), expected);
}

#[test]
fn forest_spec_from_the_fixture() {
    let spec = forest_spec(&small()).unwrap();
    // Units by code, each with its 2×2 from did_units.csv: Trưng Vương
    // (87.25 − 79.625) − (82.25 − 80.75) = 6.125 (printed 6.12: ties to even)
    // ∓ 1.959964 × 1.2 = 3.77 … 8.48;
    // Phú Đình 8.333333 ∓ 1.959964 × 1.5 = 5.39 … 11.27. The per-unit CR1
    // intervals (down to −5.73, up to 22.23) are not drawn and do not widen the axis.
    // x: lowest −2.1 (wild), highest 13.4 (wild); span 15.5, ± 3% → −2.565 … 13.865,
    // 16.43 wide → step 2 → −4 … 14.
    let expected = "\
title: Tác động của thí điểm: chung và theo từng đơn vị
x: Chênh lệch điểm SIPAS so với nhóm đối chứng (điểm) [-4.00, 14.00]
OverallCr1 \"Chung — KTC cụm (CR1)\": 5.90 [0.74, 11.06]
OverallWild \"Chung — KTC bootstrap hoang dã\": 5.90 [-2.10, 13.40]
Unit \"Phường Trưng Vương\": 6.12 [3.77, 8.48]
Unit \"Xã Phú Đình\": 8.33 [5.39, 11.27]
";
    assert_eq!(spec.to_text(), expected);
    assert!(
        spec.subtitle
            .contains("xanh: từng đơn vị, DiD 2×2, KTC 95% từ sai số khảo sát")
    );
}

#[test]
fn event_study_png_has_size_colours_and_matches_golden() {
    let style = ChartStyle::default();
    let png = render_event_study(&small(), &style).unwrap().unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (1000, 600));
    let c = |c: plotters::style::RGBColor| [c.0, c.1, c.2];
    assert!(
        count_near(&img, c(EFFECT_COLOR), 0) > 300,
        "error bars missing"
    );
    assert!(count_near(&img, c(MARKER_COLOR), 0) > 100, "marker missing");
    let again = render_event_study(&small(), &style).unwrap().unwrap();
    assert_eq!(decode(&again).as_raw(), img.as_raw());
    golden("event_study", &png);
}

#[test]
fn forest_png_has_size_colours_and_matches_golden() {
    let style = ChartStyle::default();
    let png = render_forest(&small(), &style).unwrap().unwrap();
    let img = decode(&png);
    // 4 rows: 76 px header + 4 × 36 + 96.
    assert_eq!(img.dimensions(), (1000, 76 + 4 * 36 + 96));
    assert_eq!(forest_size(4, &style), (1000, 316));
    let c = |c: plotters::style::RGBColor| [c.0, c.1, c.2];
    assert!(
        count_near(&img, c(OVERALL_COLOR), 0) > 300,
        "overall rows missing"
    );
    assert!(
        count_near(&img, c(EFFECT_COLOR), 0) > 200,
        "unit rows missing"
    );
    let again = render_forest(&small(), &style).unwrap().unwrap();
    assert_eq!(decode(&again).as_raw(), img.as_raw());
    golden("did_forest", &png);
}

#[test]
fn page_has_evaluation_methods_quality_and_elements() {
    let html = render_html(&with_quality(), &pilots());
    assert_eq!(sipas_core::text::nfc(&html), html, "page is NFC");
    assert_contains_all(
        &html,
        &[
            "<h2>Đánh giá thí điểm / Pilot evaluation</h2>",
            // TWFE CR1 and wild rows.
            "<td>5.90</td><td>0.74–11.06</td><td>1.20</td><td>0.039</td>",
            "<td>5.90</td><td>-2.10–13.40</td><td>—</td><td>0.250</td>",
            "trọng số webb, 999 lần lặp, hạt giống 42",
            "3 đơn vị (2 thí điểm), 17 ô đơn vị × kỳ",
            "F(3, 2) = 0.50, p = 0.715; p bootstrap hoang dã = 0.690",
        ],
    );
    // Event-study table: the reference row.
    assert!(
        html.contains("<td>−1</td><td class=\"name\">2023Q4</td><td>0.00</td><td>tham chiếu</td>")
    );
    // Per-unit rows: the 2×2 with its survey-SE interval, then the unit's TWFE
    // estimate alone (6.125 = the 2×2 on Trưng Vương's balanced panel; 8.25 for
    // Phú Đình, who lacks a cell).
    assert!(html.contains(
        "<td>79.62</td><td>87.25</td><td>80.75</td><td>82.25</td><td>6.12</td>\
         <td>3.77–8.48</td><td>6.12</td></tr>"
    ));
    assert!(html.contains(
        "<td>73.67</td><td>83.50</td><td>80.75</td><td>82.25</td><td>8.33</td>\
         <td>5.39–11.27</td><td>8.25</td></tr>"
    ));
    // The per-unit CR1 intervals and p-values appear nowhere; the reason is given.
    for cr1 in ["-5.31", "17.56", "-5.73", "22.23", "0.093", "0.084"] {
        assert!(!html.contains(cr1), "{cr1}");
    }
    assert!(html.contains("với một đơn vị thí điểm, sai số chuẩn theo cụm không đáng tin cậy"));
    for src in [EVENT_STUDY_PNG, FOREST_PNG] {
        assert!(
            html.contains(&format!("<img src=\"{src}\" alt=\"")),
            "{src}"
        );
    }
    assert_eq!(html.matches("<img ").count(), 5);
    // Methods: the Vietnamese text with this fixture's numbers, then the English
    // methods.txt below it with paragraphs kept, line breaks inside kept, text escaped.
    assert!(html.contains("<h2>Phương pháp / Methods</h2>"));
    let vi = html.find("<h3>Chỉ số</h3>").unwrap();
    let en = html.find("<div class=\"methods\" lang=\"en\">").unwrap();
    assert!(vi < en);
    assert!(
        html.contains("tỷ lệ hài lòng: 100 × (số câu trả lời 4 “Hài lòng” hoặc 5 “Rất hài lòng”)")
    );
    assert!(html.contains(
        "Số liệu gồm 2 đơn vị thí điểm và 1 đơn vị đối chứng (không thí điểm), 6 kỳ khảo sát \
         từ 2023Q1 đến 2024Q2. Thí điểm bắt đầu từ kỳ 2024Q1: 4 kỳ trước thí điểm và 2 kỳ từ \
         khi thí điểm."
    ));
    assert!(html.contains("3 cụm, trong đó 2 cụm thí điểm, 17 ô"));
    assert!(html.contains("Chỉ có 2 đơn vị được thí điểm"));
    assert!(
        html.contains(
            "phân phối Webb (sáu giá trị ±√0.5, ±1, ±√1.5), lặp lại 999 lần (hạt giống 42)"
        )
    );
    assert!(html.contains("kỳ ngay trước thí điểm (k = −1) là kỳ tham chiếu"));
    for h3 in [
        "Sai số chuẩn và khoảng tin cậy",
        "Khác biệt kép 2×2",
        "Mô hình hai chiều cố định (TWFE) và sai số theo cụm",
        "Nghiên cứu sự kiện và kiểm định xu hướng trước thí điểm",
        "Giả định",
    ] {
        assert!(html.contains(&format!("<h3>{h3}</h3>")), "{h3}");
    }
    for assumption in [
        "Xu hướng song song",
        "Không có tác động đón trước",
        "Ít cụm được thí điểm",
    ] {
        assert!(html.contains(&format!("<li>{assumption}:")), "{assumption}");
    }
    assert!(html.contains("chỉ có 2 đơn vị thí điểm, nên mọi khoảng tin cậy"));
    assert!(html.contains("<p>Evaluating the pilot</p>"));
    assert!(
        html.contains("<p>Method. Two-way fixed effects: unit levels<br>\nplus period levels.</p>")
    );
    assert!(html.contains("<p>Uncertainty. p &lt; 0.05 &amp; &quot;wild&quot; bootstrap.</p>"));
    assert_contains_all(
        &html,
        &[
            // Data quality and its identities.
            "<h2>Chất lượng dữ liệu / Data quality</h2>",
            "1874 đọc = 1866 nhận + 8 cách ly ✓; 8 cách ly = tổng theo lý do 8 ✓",
            "1866 vào = 1859 giữ + 7 loại ✓; 7 loại = tổng theo lý do 7 ✓",
            "1866 nhận ở bước nhập = 1866 vào bước làm sạch ✓",
            // The aggregate step: used by channel, other channels left out, reconciled.
            "<h3>Tổng hợp (aggregate)</h3>",
        ],
    );
    assert!(html.contains(
        "<td class=\"name\">Phiếu khảo sát</td><td class=\"name\"><small>survey</small></td>\
         <td>1855</td><td>0</td>"
    ));
    assert!(html.contains(
        "<td class=\"name\">Đánh giá qua mã QR</td><td class=\"name\"><small>qr</small></td>\
         <td>0</td><td>4</td>"
    ));
    assert!(html.contains(
        "1859 đọc = 1855 dùng + 4 kênh khác ✓; 4 kênh khác = tổng theo kênh 4 ✓; \
         1855 dùng = tổng n các ô đơn vị × kỳ 1855 ✓"
    ));
    assert!(html.contains("1859 giữ ở bước làm sạch = 1859 đọc ở bước tổng hợp ✓"));
    assert!(html.contains("Chuỗi số phiếu: 1874 đọc → 1866 nhận → 1859 giữ → 1855 dùng ✓"));
    assert!(html.contains(
        "<td class=\"name\">Trả lời quá nhanh</td><td class=\"name\"><small>flag_speeder</small></td><td>2</td>"
    ));
    assert!(html.contains("<td class=\"name\">Câu trả lời không hợp lệ</td>"));
    // Elements, last period 2024Q2: policy 85.3 vs 81.0 → 4.3.
    assert!(html.contains("kỳ 2024Q2</h2>"));
    assert!(html.contains(
        "<td class=\"name\">Xây dựng, tổ chức thực hiện chính sách <small>(policy)</small></td>\
         <td>85.3</td><td>81.0</td><td>4.3</td>"
    ));
}

#[test]
fn identities_that_do_not_hold_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("clean-report.json");
    let text = fs::read_to_string(small_dir().join("../clean/clean-report.json")).unwrap();
    fs::write(&bad, text.replace("\"kept\": 1859", "\"kept\": 1850")).unwrap();
    let opts = ReportOptions {
        ingest_report: None,
        clean_report: Some(bad),
    };
    let r = load_results_with(&small_dir(), &opts).unwrap();
    assert!(!r.quality.clean.as_ref().unwrap().reconciles());
    let html = render_html(&r, &pilots());
    assert!(html.contains("1866 vào = 1850 giữ + 7 loại ✗ không khớp"));
    assert!(html.contains("1850 giữ ở bước làm sạch = 1859 đọc ở bước tổng hợp ✗ không khớp"));
    assert!(html.contains("Chuỗi số phiếu: 1866 vào làm sạch → 1850 giữ → 1855 dùng ✗ không khớp"));
    assert!(!html.contains("Nhập số liệu (ingest)"));

    // An explicit report that does not exist is an error naming it.
    let missing = ReportOptions {
        ingest_report: Some(dir.path().join("nope.json")),
        clean_report: None,
    };
    let err = load_results_with(&small_dir(), &missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("nope.json"), "{err}");
}

#[test]
fn older_results_folder_still_renders() {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    fs::create_dir(&results).unwrap();
    for f in ["unit_period.csv", "groups.csv", "did.csv", "items.csv"] {
        fs::copy(small_dir().join(f), results.join(f)).unwrap();
    }
    let r = load_results(&results).unwrap();
    assert!(event_study_spec(&r).is_none() && forest_spec(&r).is_none());
    let out = root.path().join("report");
    let summary = write_report(&results, &pilots(), &out).unwrap();
    assert_eq!(
        file_names(&summary),
        [
            "trend_05443.png",
            "trend_05602.png",
            "pilots.png",
            "index.html"
        ]
    );
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("Pilot evaluation"));
    assert!(!html.contains("Data quality"));
    assert!(!html.contains("event_study.png"));
    assert!(html.contains("6.35 điểm phần trăm"));
}

#[test]
fn write_report_finds_stage_reports_beside_the_results() {
    let out = tempfile::tempdir().unwrap();
    write_report(&small_dir(), &pilots(), out.path()).unwrap();
    let html = fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("Data quality"));
    // Without stage reports: only the aggregate step (its report is in the
    // results folder), everything else the same.
    let none = out.path().join("none");
    write_report_with(&small_dir(), &pilots(), &none, &ReportOptions::default()).unwrap();
    let html = fs::read_to_string(none.join("index.html")).unwrap();
    assert!(html.contains("Data quality") && html.contains("Pilot evaluation"));
    assert!(html.contains("<h3>Tổng hợp (aggregate)</h3>"));
    assert!(!html.contains("Nhập số liệu (ingest)") && !html.contains("Làm sạch (clean)"));
    assert!(!html.contains("Chuỗi số phiếu"));
}

#[test]
fn a_malformed_event_study_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for f in fs::read_dir(small_dir()).unwrap() {
        let f = f.unwrap().path();
        fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let p = dir.path().join("event_study.csv");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace("-3,2023Q2", "x,2023Q2");
    fs::write(&p, text).unwrap();
    let err = load_results(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Field { line: 3, column, .. } if column == "k"),
        "{err}"
    );
    assert!(err.to_string().contains("event_study.csv"), "{err}");
}

/// A single survey round: aggregate writes a header-only did.csv, says why
/// in aggregate-report.json and writes no evaluation files.
#[test]
fn results_without_a_did_render_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    fs::create_dir(&results).unwrap();
    for f in ["unit_period.csv", "groups.csv", "items.csv"] {
        fs::copy(small_dir().join(f), results.join(f)).unwrap();
    }
    fs::write(
        results.join("did.csv"),
        "pilot_start,estimate,se,lo,hi,pilot_pre,pilot_post,baseline_pre,baseline_post\n",
    )
    .unwrap();
    let mut agg: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(small_dir().join("aggregate-report.json")).unwrap(),
    )
    .unwrap();
    agg["did_unavailable"] = "pilot start 2024Q1: no period before the start".into();
    fs::write(results.join("aggregate-report.json"), agg.to_string()).unwrap();
    let r = load_results(&results).unwrap();
    assert!(r.did.is_none());
    let out = root.path().join("report");
    write_report(&results, &pilots(), &out).unwrap();
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Chưa ước lượng được khác biệt kép"), "{html}");
    assert!(html.contains("pilot start 2024Q1: no period before the start"));
    assert!(!html.contains("điểm phần trăm"));
    // Two rows is still an error naming the file.
    let row = "2024Q1,1,1,0,2,80,81,80,80\n";
    fs::write(
        results.join("did.csv"),
        format!(
            "pilot_start,estimate,se,lo,hi,pilot_pre,pilot_post,baseline_pre,baseline_post\n{row}{row}"
        ),
    )
    .unwrap();
    let err = load_results(&results).unwrap_err();
    assert!(err.to_string().contains("did.csv"), "{err}");
}
