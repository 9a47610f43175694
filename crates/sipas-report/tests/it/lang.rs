//! `--lang`: the English report carries the English labels of the catalogue
//! and none of its Vietnamese ones; the Vietnamese report stays NFC.

use sipas_core::text::nfc;
use sipas_report::labels::{EN, Labels, VI};
use sipas_report::spec::{event_study_spec_in, forest_spec_in, pilots_spec_in, trend_spec_in};
use sipas_report::{Lang, ReportOptions, Results, load_results_with, render_html_in};

use crate::{pilots, small, small_dir};

/// The fixed text of every label: the parts between `{placeholders}`, at least
/// four characters long (shorter pieces such as "Kỳ" also occur inside data).
fn fragments(l: &Labels) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (key, text) in l.all() {
        let mut rest = text;
        while !rest.is_empty() {
            let (piece, tail) = match rest.find('{') {
                Some(i) => {
                    let close = rest[i..].find('}').map_or(rest.len(), |j| i + j + 1);
                    (&rest[..i], &rest[close..])
                }
                None => (rest, ""),
            };
            let piece = piece.trim_matches(|c: char| c.is_whitespace() || "(),;:.".contains(c));
            if piece.chars().count() >= 4 {
                out.push((key, piece.to_string()));
            }
            rest = tail;
        }
    }
    out
}

/// The small fixture with its ingest and clean reports, plus a survey-mode
/// comparison and a crosswalk's `treatment.csv`, so that every section shows.
fn full_results() -> (tempfile::TempDir, Results) {
    let dir = tempfile::tempdir().unwrap();
    let res = dir.path().join("results");
    std::fs::create_dir(&res).unwrap();
    for entry in std::fs::read_dir(small_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, res.join(path.file_name().unwrap())).unwrap();
    }
    for (stage, file) in [
        ("ingest", "ingest-report.json"),
        ("clean", "clean-report.json"),
    ] {
        // Beside the results, where `ReportOptions::beside` looks for them.
        let to = dir.path().join(stage);
        std::fs::create_dir(&to).unwrap();
        std::fs::copy(small_dir().join("..").join(stage).join(file), to.join(file)).unwrap();
    }
    std::fs::write(
        res.join("modes.csv"),
        "period,mode_a,mode_b,n_a,n_b,sipas_a,se_a,sipas_b,se_b,difference,se,lo,hi\n\
         2024Q1,online,paper,30,50,80.000000,2.000000,84.500000,1.500000,-4.500000,2.400000,\
         -9.204000,0.204000\n",
    )
    .unwrap();
    std::fs::write(
        res.join("treatment.csv"),
        "unit_code,intensity,mixed,old_units,pilot_old_units,responses,intensity_basis,\
         population,old_unit_names\n\
         05443,0.75,true,05443|05446,05443,40,population,1000,Phường Trưng Vương|Phường Túc Duyên\n",
    )
    .unwrap();
    let r = load_results_with(&res, &ReportOptions::beside(&res)).unwrap();
    assert!(!r.modes.is_empty() && !r.evaluation.treatment.is_empty());
    assert!(r.quality.ingest.is_some() && r.quality.clean.is_some());
    (dir, r)
}

/// Everything an English report shows as text: the page and every chart's labels.
fn english_text() -> String {
    let (r, p) = (small(), pilots());
    let mut text = render_html_in(&r, &p, Lang::En);
    text.push_str(&render_html_in(&full_results().1, &p, Lang::En));
    for code in ["05443", "05602"] {
        text.push_str(&trend_spec_in(&r, &p, code, Lang::En).unwrap().to_text());
    }
    for panel in pilots_spec_in(&r, &p, Lang::En).unwrap() {
        text.push_str(&panel.to_text());
    }
    text.push_str(&event_study_spec_in(&r, Lang::En).unwrap().to_text());
    text.push_str(&forest_spec_in(&r, Lang::En).unwrap().to_text());
    text
}

#[test]
fn english_report_has_english_labels_and_no_vietnamese_ones() {
    let text = english_text();
    assert!(text.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    for label in [
        "<h1>SIPAS index: evaluation of the pilot</h1>",
        "<h2>The pilot</h2>",
        // DiD 6.35 (SE 2.10) of the fixture, as in the Vietnamese page's test.
        "6.35 percentage points (95% confidence interval: 2.23–10.47; standard error 2.10)",
        "<th>Before the pilot</th><th>Since the pilot</th><th>Change</th>",
        "<th>SIPAS (0–100)</th><th>95% CI</th><th>n</th>",
        "x: Survey period [2023Q1,",
        "y: SIPAS score (0–100) [70, 95]",
        "series Unit \"Pilot unit\"",
        "series Baseline \"Comparison group (1 units)\"",
        "marker: x=3.50 \"Pilot starts 2024Q1\"",
        "title: Event study: SIPAS difference from the comparison group",
        "subtitle: Pre-trend test: F(3, 2) = 0.50, p = 0.715; wild bootstrap p = 0.690",
        "y: Difference in SIPAS score (points) [",
        "x: Difference in SIPAS score from the comparison group (points) [",
        "OverallCr1 \"Overall — cluster CI (CR1)\"",
        "OverallWild \"Overall — wild bootstrap CI\"",
        // The evaluation detail (numbers of the fixture's did_twfe.csv and pretrend.csv).
        "<h2>Pilot evaluation</h2>",
        "<th class=\"name\">Method</th><th>Estimate</th><th>95% CI</th><th>Standard error</th>",
        "<td class=\"name\">Two-way fixed-effects DiD (TWFE), CR1 cluster standard error</td>\
         <td>5.90</td><td>0.74–11.06</td><td>1.20</td><td>0.039</td>",
        "3 units (2 pilots), 17 unit × period cells; t with G − 1 degrees of freedom",
        "webb weights, 999 replicates, seed 42",
        "Joint test that the 3 pre-pilot coefficients are 0: F(3, 2) = 0.50, p = 0.715; \
         wild bootstrap p = 0.690.",
        "<td>0.00</td><td>reference</td>",
        "<h3>Each pilot unit</h3>",
        "<th>Before</th><th>After</th><th>Before</th><th>After</th>",
        // Parts and elements, last period 2024Q2: policy 85.3 vs 81.0 (English names
        // from the instrument).
        "<h2>Parts and elements: pilot and comparison units, period 2024Q2</h2>",
        "<th class=\"name\">Part / element</th><th>Pilot units</th><th>Comparison group</th>\
         <th>Difference</th>",
        "<td class=\"name\">Policy making and implementation <small>(policy)</small></td>\
         <td>85.3</td><td>81.0</td><td>4.3</td>",
        // Methods, with the fixture's counts and the TWFE's clusters.
        "<h2>Methods</h2>",
        "The data hold 2 pilot units and 1 comparison units (without the pilot), \
         6 survey periods from 2023Q1 to 2024Q2. The pilot starts in period 2024Q1: \
         4 periods before the pilot and 2 since.",
        "agrees with R&#39;s <i>survey</i> package.",
        "y<sub>ut</sub> = α<sub>u</sub> + λ<sub>t</sub> + β·D<sub>ut</sub>, where α<sub>u</sub>",
        "(each unit a cluster: 3 clusters, 2 of them pilots, 17 cells)",
        "drawn from the Webb (six values ±√0.5, ±1, ±√1.5) distribution, repeat 999 times (seed 42)",
        "one coefficient β<sub>k</sub> for each period",
        "<li>No anticipation: the pilot does not change satisfaction before period 2024Q1.</li>",
        // Survey modes, today's units and data quality (numbers of the fixture's reports).
        "<h2>SIPAS by survey mode</h2>",
        "<h2>Pilots on today&#39;s units</h2>",
        "<h2>Data quality</h2>",
        "<th class=\"name\">Mode A</th>",
        "<td class=\"name\">Online</td><td>30</td><td>80.00 (2.00)</td>\
         <td class=\"name\">Paper form</td>",
        "<th>Unit</th><th>Former communes</th><th>Pilot communes</th><th>Treatment intensity</th>",
        "Intensity by population: the share of the unit&#39;s population living in pilot communes",
        "Read 1874 responses: 1866 accepted, 8 quarantined.",
        "Reconciliation: 1874 read = 1866 accepted + 8 quarantined ✓; \
         8 quarantined = sum over reasons 8 ✓",
        "<td class=\"name\">Missing unit</td><td class=\"name\"><small>missing_unit</small>",
        "1866 responses in: 1859 kept, 7 excluded.",
        "<td class=\"name\">Answered too fast</td>",
        "1855 responses of the channel “Survey form” used, 4 responses of other channels \
         set apart (never pooled)",
        "<td class=\"name\">Rating by QR code</td>",
        "Responses through the steps: 1874 read → 1866 accepted → 1859 kept → 1855 used ✓",
    ] {
        assert!(text.contains(label), "missing English label {label}");
    }
    // Pieces both languages share (e.g. "SIPAS (0–100)") are not Vietnamese.
    let shared: Vec<String> = fragments(&EN).into_iter().map(|(_, f)| f).collect();
    let leftovers: Vec<String> = fragments(&VI)
        .into_iter()
        .filter(|(_, f)| !shared.contains(f) && text.contains(f.as_str()))
        .map(|(k, f)| format!("{k}: {f}"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "Vietnamese labels left: {leftovers:#?}"
    );
    // The check can fail: the Vietnamese report holds every one of these pieces it shows.
    let vi = render_html_in(&small(), &pilots(), Lang::Vi);
    for piece in ["Ước lượng khác biệt kép (DiD)", "Trước thí điểm", "KTC 95%"] {
        assert!(vi.contains(piece), "{piece}");
        assert!(!text.contains(piece), "{piece}");
    }
    let vi_full = render_html_in(&full_results().1, &pilots(), Lang::Vi);
    for piece in [
        "Chuỗi số phiếu: 1874 đọc → 1866 nhận → 1859 giữ → 1855 dùng ✓",
        "<td class=\"name\">Trực tuyến</td>",
        "<th>Các xã cũ</th>",
        "Thiếu đơn vị",
    ] {
        assert!(vi_full.contains(piece), "{piece}");
        assert!(!text.contains(piece), "{piece}");
    }
    let full = render_html_in(&small(), &pilots(), Lang::En);
    assert!(full.contains("alt=\"Event study: SIPAS difference from the comparison group\""));
    assert!(full.contains("alt=\"Effect of the pilot: overall and per unit\""));
    // Data stay data: Vietnamese names are shown as they are, in both languages.
    assert!(text.contains("Phường Trưng Vương"));
}

#[test]
fn vietnamese_report_is_nfc_with_its_diacritics() {
    let (r, p) = (small(), pilots());
    let html = render_html_in(&r, &p, Lang::Vi);
    assert_eq!(html, nfc(&html));
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"vi\">"));
    let spec = trend_spec_in(&r, &p, "05443", Lang::Vi).unwrap().to_text();
    assert_eq!(spec, nfc(&spec));
    assert!(spec.contains("y: Điểm SIPAS (0–100) [70, 95]"));
    assert!(spec.contains("x: Kỳ khảo sát ["));
    // NFC, not the decomposed form a keyboard may send (Đi + ê + ̉ + m).
    assert!(!spec.contains("Đie\u{302}\u{309}m"));
    for (key, label) in VI.all() {
        assert_eq!(label, nfc(label), "{key}");
    }
    // The sections moved into the catalogue read as before in Vietnamese,
    // with the English gloss kept after the Vietnamese text.
    let full = render_html_in(&full_results().1, &p, Lang::Vi);
    assert_eq!(full, nfc(&full));
    for piece in [
        "<h2>Các phần và yếu tố: thí điểm và đối chứng, kỳ 2024Q2</h2>",
        "<tr><th class=\"name\">Phần / yếu tố</th><th>Đơn vị thí điểm</th>\
         <th>Nhóm đối chứng</th><th>Chênh lệch</th></tr>",
        "<h2>Phương pháp / Methods</h2>\n<h3>Chỉ số</h3>",
        "<p>Số liệu gồm 2 đơn vị thí điểm và 1 đơn vị đối chứng (không thí điểm), 6 kỳ khảo sát \
         từ 2023Q1 đến 2024Q2. Thí điểm bắt đầu từ kỳ 2024Q1: 4 kỳ trước thí điểm và 2 kỳ từ khi \
         thí điểm.</p>",
        "cho cùng kết quả với gói <i>survey</i> của R.",
        "<p>Mô hình hồi quy trên các ô đơn vị × kỳ: y<sub>ut</sub> = α<sub>u</sub> + \
         λ<sub>t</sub> + β·D<sub>ut</sub>, trong đó α<sub>u</sub> là mức riêng",
        "(mỗi đơn vị là một cụm: 3 cụm, trong đó 2 cụm thí điểm, 17 ô)",
        "theo phân phối Webb (sáu giá trị ±√0.5, ±1, ±√1.5), lặp lại 999 lần (hạt giống 42)",
        "kỳ ngay trước thí điểm (k = −1) là kỳ tham chiếu",
        "<li>Không có tác động đón trước: thí điểm không làm thay đổi sự hài lòng trước kỳ \
         2024Q1.</li>",
        "<h2>Đánh giá thí điểm / Pilot evaluation</h2>",
        "<td class=\"name\">DiD hai chiều cố định (TWFE), sai số cụm CR1</td>",
        "3 đơn vị (2 thí điểm), 17 ô đơn vị × kỳ; t với G − 1 bậc tự do",
        "trọng số webb, 999 lần lặp, hạt giống 42",
        "<h3>Kiểm định xu hướng trước thí điểm</h3>\n<p>Kiểm định đồng thời 3 hệ số trước thí \
         điểm bằng 0: F(3, 2) = 0.50, p = 0.715; p bootstrap hoang dã = 0.690. p lớn",
        "<td>0.00</td><td>tham chiếu</td>",
        "(MacKinnon &amp; Webb 2017). <small lang=\"en\">(With a single pilot unit,",
        "<tr><th>Trước</th><th>Sau</th><th>Trước</th><th>Sau</th><th>Ước lượng</th>",
        "<h2>SIPAS theo hình thức khảo sát / By survey mode</h2>",
        "<h2>Đơn vị hiện nay và thí điểm / Pilots on today&#39;s units</h2>",
        "<h2>Chất lượng dữ liệu / Data quality</h2>",
        "<p>Các hình thức khảo sát (giấy, trực tuyến, điện thoại…) là các phần của cùng một mẫu: \
         chỉ số chung gộp tất cả.",
        "<th class=\"name\">Kỳ</th><th class=\"name\">Hình thức A</th>",
        "xã thí điểm. <small>After the reorganisations each unit of today holds one or more former \
         communes;",
        "<tr><th>Đơn vị</th><th>Các xã cũ</th><th>Xã thí điểm</th><th>Mức độ can thiệp</th></tr>",
        "<h3>Nhập số liệu (ingest)</h3>\n<p>Đọc 1874 phiếu: nhận 1866, cách ly 8.</p>",
        "Đối chiếu: 1874 đọc = 1866 nhận + 8 cách ly ✓; 8 cách ly = tổng theo lý do 8 ✓",
        "<h3>Làm sạch (clean)</h3>\n<p>Vào 1866 phiếu: giữ 1859, loại 7.</p>",
        "Nối hai bước: 1866 nhận ở bước nhập = 1866 vào bước làm sạch ✓",
        "dùng 1855 phiếu của kênh “Phiếu khảo sát”, để riêng 4 phiếu của các kênh khác",
        "<th class=\"name\">Kênh</th><th class=\"name\">Mã</th><th>Dùng</th><th>Để riêng</th>",
        "Nối hai bước: 1859 giữ ở bước làm sạch = 1859 đọc ở bước tổng hợp ✓",
    ] {
        assert!(full.contains(piece), "{piece}");
    }
    // Every panel of the small multiples has its axis titles.
    for panel in pilots_spec_in(&r, &p, Lang::En).unwrap() {
        assert_eq!(panel.x_title, EN.period_axis);
        assert_eq!(panel.y_title, EN.sipas_axis);
    }
}
