//! The staggered rollout in the report: the chart of every wave and the pooled line (its spec
//! by hand, the same pixels twice), and a page that leads with the staggered estimate and says
//! which estimator, comparison group and base period were used.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use sipas_report::rollout::rollout_spec;
use sipas_report::{ChartStyle, Lang, load_results, render_html_in, render_rollout, write_report};

use crate::png::{count_near, decode};
use crate::{pilots, small_dir};

/// The small fixture plus hand-written rollout tables: a wave from 2024Q1 and one from 2024Q3
/// (and rows of another index, which the chart ignores).
pub(crate) fn with_rollout(dir: &Path, waves: usize) {
    for e in fs::read_dir(small_dir()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let mut gt = String::from("index,group,period,att,se,ci_low,ci_high,band_low,band_high\n");
    for (g, t, a) in [
        ("2024Q1", "2023Q4", 0.1),
        ("2024Q1", "2024Q1", 1.0),
        ("2024Q1", "2024Q2", 2.0),
        ("2024Q1", "2024Q3", 3.0),
        ("2024Q3", "2024Q1", -0.2),
        ("2024Q3", "2024Q2", 0.3),
        ("2024Q3", "2024Q3", 0.5),
        ("2024Q3", "2024Q4", 1.5),
    ] {
        if waves == 1 && g == "2024Q3" {
            continue;
        }
        let _ = writeln!(gt, "sipas,{g},{t},{a},0.5,{},{},,", a - 1.0, a + 1.0);
    }
    gt.push_str("access,2024Q1,2024Q1,9.0,0.5,8.0,10.0,,\n");
    fs::write(dir.join("att_gt.csv"), gt).unwrap();
    let mut ev = String::from("index,exposure,att,se,ci_low,ci_high,band_low,band_high\n");
    for (e, a, lo, hi) in [
        (-2, -0.2, -1.0, 0.6),
        (-1, 0.2, -0.5, 0.9),
        (0, 0.75, 0.1, 1.4),
        (1, 1.75, 0.9, 2.6),
        (2, 3.0, 1.8, 4.2),
    ] {
        let _ = writeln!(ev, "sipas,{e},{a},0.4,{lo},{hi},,");
    }
    ev.push_str("access,0,9.0,0.4,8.0,10.0,,\n");
    fs::write(dir.join("att_event.csv"), ev).unwrap();
    fs::write(
        dir.join("att_overall.csv"),
        "index,aggregation,att,se,ci_low,ci_high\nsipas,simple,1.8,0.4,1.0,2.6\n\
         sipas,event,1.9,0.4,1.1,2.7\naccess,simple,9.0,0.4,8.0,10.0\n",
    )
    .unwrap();
    fs::write(
        dir.join("bacon.csv"),
        "index,comparison,treated,control,estimate,weight,forbidden\n\
         sipas,treated_vs_never,2024Q1,never,2.0,0.5,false\n\
         sipas,earlier_vs_later,2024Q1,2024Q3,1.0,0.3,false\n\
         sipas,later_vs_earlier,2024Q3,2024Q1,-0.5,0.2,true\n\
         sipas,twfe,,,1.2,1.0,\n",
    )
    .unwrap();
    fs::write(
        dir.join("rollout.json"),
        "{\"estimator\": \"callaway-santanna\", \"control\": \"not-yet\", \"base\": \"universal\", \
         \"design_variance\": true, \"level\": 0.95, \"waves\": [\"2024Q1\", \"2024Q3\"]}\n",
    )
    .unwrap();
}

#[test]
fn the_rollout_chart_has_a_line_per_wave_and_the_pooled_line_with_its_band() {
    let tmp = tempfile::tempdir().unwrap();
    with_rollout(tmp.path(), 2);
    let r = load_results(tmp.path()).unwrap();
    let rollout = r.evaluation.rollout.as_ref().expect("rollout read");
    assert_eq!(rollout.waves(), ["2024Q1", "2024Q3"]);
    let spec = rollout_spec(rollout, Lang::En, r.level()).unwrap();
    // Exposure = t − g in quarters; y: −1.0…4.2 padded by 3% and rounded to whole points.
    assert_eq!(
        spec.to_text(),
        "title: Effect by periods since the start: each wave and pooled\n\
         x: Periods since the wave's start (e) [-2.50, 2.50]\n\
         y: Effect on the SIPAS score (points) [-2.00, 5.00]\n\
         Wave starting 2024Q1: -1:0.10 0:1.00 1:2.00 2:3.00\n\
         Wave starting 2024Q3: -2:-0.20 -1:0.30 0:0.50 1:1.50\n\
         Pooled, 95% CI: -2:-0.20 [-1.00, 0.60] -1:0.20 [-0.50, 0.90] 0:0.75 [0.10, 1.40] \
         1:1.75 [0.90, 2.60] 2:3.00 [1.80, 4.20]\n"
    );
    let vi = rollout_spec(rollout, Lang::Vi, r.level()).unwrap();
    assert_eq!(vi.waves[1].label, "Đợt bắt đầu 2024Q3");
    assert_eq!(vi.pooled_label, "Chung, KTC 95%");
    for style in [
        ChartStyle::default(),
        ChartStyle {
            lang: Lang::En,
            ..ChartStyle::default()
        },
    ] {
        let png = render_rollout(&r, &style)
            .unwrap()
            .expect("several waves: a chart");
        // Same input, same pixels.
        assert_eq!(png, render_rollout(&r, &style).unwrap().unwrap());
        let img = decode(&png);
        assert_eq!(img.dimensions(), (1000, 600));
        let band = sipas_report::render::POOLED_BAND;
        assert!(
            count_near(&img, [band.0, band.1, band.2], 0) > 5000,
            "the band"
        );
        for c in &sipas_report::render::WAVE_COLORS[..2] {
            assert!(count_near(&img, [c.0, c.1, c.2], 10) > 200, "wave {c:?}");
        }
        let black = sipas_report::render::POOLED_COLOR;
        assert!(
            count_near(&img, [black.0, black.1, black.2], 10) > 1000,
            "pooled line"
        );
    }
}

#[test]
fn the_page_leads_with_the_staggered_estimate_and_names_estimator_comparison_and_base() {
    let tmp = tempfile::tempdir().unwrap();
    with_rollout(tmp.path(), 2);
    let r = load_results(tmp.path()).unwrap();
    let en = render_html_in(&r, &pilots(), Lang::En);
    let lead = en
        .find("<h2>Staggered rollout</h2>")
        .expect("rollout section");
    assert!(lead < en.find("<h2>").unwrap() + 1, "the first section");
    for text in [
        "Overall average effect of the model over its 2 waves: 1.80 SIPAS points (95% CI 1.00–2.60).",
        "Estimator: Callaway–Sant&#39;Anna (2021)",
        "comparison group: units not yet treated in the periods compared (the never treated included)",
        "base period: universal (the period just before the wave&#39;s start, for every period)",
        "The standard errors include the survey sampling variance",
        "The two-way fixed-effects regression (TWFE) gives 1.20 points, with 20% of its weight",
        "<img src=\"rollout.png\"",
    ] {
        assert!(en.contains(text), "{text}\n{en}");
    }
    let vi = render_html_in(&r, &pilots(), Lang::Vi);
    assert_eq!(vi, sipas_core::text::nfc(&vi), "the page is NFC");
    assert!(vi.contains("<h2>Đánh giá triển khai theo đợt (staggered rollout)</h2>"));
    assert!(vi.contains("nhóm so sánh: các đơn vị chưa áp dụng mô hình ở kỳ được so sánh"));
    assert!(vi.contains("kỳ gốc: cố định"));
    // The report folder gets the chart.
    let out = tmp.path().join("report");
    let s = write_report(tmp.path(), &pilots(), &out).unwrap();
    assert!(s.files.iter().any(|f| f.ends_with("rollout.png")));
}

#[test]
fn one_wave_draws_no_rollout_chart_and_the_page_keeps_its_order() {
    let tmp = tempfile::tempdir().unwrap();
    with_rollout(tmp.path(), 1);
    let r = load_results(tmp.path()).unwrap();
    assert_eq!(r.evaluation.rollout.as_ref().unwrap().waves(), ["2024Q1"]);
    assert!(
        render_rollout(&r, &ChartStyle::default())
            .unwrap()
            .is_none()
    );
    let page = render_html_in(&r, &pilots(), Lang::En);
    assert!(!page.contains("Staggered rollout") && !page.contains("rollout.png"));
    // Without rollout tables at all: the same page as before.
    let plain = load_results(&small_dir()).unwrap();
    assert!(plain.evaluation.rollout.is_none());
}
