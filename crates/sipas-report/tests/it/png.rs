//! Rendered PNGs: size, colours, determinism and goldens on decoded pixels.

use std::path::PathBuf;

use image::RgbImage;
use sipas_report::render::{BASELINE_COLOR, UNIT_COLOR, band_on_white};
use sipas_report::{ChartStyle, SeriesRole, render_pilots, render_trend};

use crate::{fixtures, pilots, small};

pub(crate) fn decode(png: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("valid PNG")
        .to_rgb8()
}

/// Number of pixels within `tol` of `rgb` on every channel.
pub(crate) fn count_near(img: &RgbImage, rgb: [u8; 3], tol: u8) -> usize {
    img.pixels()
        .filter(|p| p.0.iter().zip(rgb).all(|(&a, b)| a.abs_diff(b) <= tol))
        .count()
}

fn assert_colours(img: &RgbImage) {
    let unit = [UNIT_COLOR.0, UNIT_COLOR.1, UNIT_COLOR.2];
    let base = [BASELINE_COLOR.0, BASELINE_COLOR.1, BASELINE_COLOR.2];
    assert!(count_near(img, unit, 0) > 200, "unit line colour missing");
    assert!(
        count_near(img, base, 0) > 200,
        "baseline line colour missing"
    );
    // Bands: each colour at 20% on white, where the other band does not overlap.
    let ub = band_on_white(SeriesRole::Unit);
    let bb = band_on_white(SeriesRole::Baseline);
    assert!(count_near(img, ub, 2) > 500, "unit band {ub:?} missing");
    assert!(count_near(img, bb, 2) > 500, "baseline band {bb:?} missing");
}

/// Compares to `fixtures/golden/report/<case>.png` on decoded pixels; a pixel
/// differs when a channel is off by more than 24, and up to 0.2% may differ
/// (font rasteriser or encoder updates). `SIPAS_BLESS=1` rewrites the golden;
/// a mismatch writes `target/golden-diff/<case>.actual.png`.
pub(crate) fn golden(case: &str, png: &[u8]) {
    let path = fixtures().join(format!("golden/report/{case}.png"));
    if std::env::var_os("SIPAS_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden {} ({e}); run with SIPAS_BLESS=1",
            path.display()
        )
    });
    let (want, got) = (decode(&expected), decode(png));
    let differing = if want.dimensions() == got.dimensions() {
        want.pixels()
            .zip(got.pixels())
            .filter(|(a, b)| a.0.iter().zip(b.0).any(|(&x, y)| x.abs_diff(y) > 24))
            .count()
    } else {
        usize::MAX
    };
    let allowed = (got.width() * got.height()) as usize / 500;
    if differing > allowed {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../golden-diff");
        std::fs::create_dir_all(&dir).unwrap();
        let actual = dir.join(format!("{case}.actual.png"));
        std::fs::write(&actual, png).unwrap();
        panic!(
            "{case}: {differing} pixels differ from {} (allowed {allowed}); actual written to {}",
            path.display(),
            actual.display()
        );
    }
}

#[test]
fn trend_chart_has_size_colours_and_matches_golden() {
    let (r, p, style) = (small(), pilots(), ChartStyle::default());
    let png = render_trend(&r, &p, "05443", &style).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (1000, 600));
    assert_colours(&img);
    let again = render_trend(&r, &p, "05443", &style).unwrap();
    assert_eq!(
        decode(&again).as_raw(),
        img.as_raw(),
        "rendering is not deterministic"
    );
    golden("trend_05443", &png);
}

#[test]
fn trend_chart_with_a_gap_matches_golden() {
    let png = render_trend(&small(), &pilots(), "05602", &ChartStyle::default()).unwrap();
    assert_colours(&decode(&png));
    golden("trend_05602", &png);
}

#[test]
fn pilots_chart_is_a_grid_and_matches_golden() {
    let style = ChartStyle::default();
    let png = render_pilots(&small(), &pilots(), &style).unwrap();
    let img = decode(&png);
    // 2 panels (fewer than the 4 columns): one row of two 420×300 panels
    // under an 80 px header.
    assert_eq!(img.dimensions(), (2 * 420, 80 + 300));
    assert_colours(&img);
    let again = render_pilots(&small(), &pilots(), &style).unwrap();
    assert_eq!(decode(&again).as_raw(), img.as_raw());
    golden("pilots", &png);
}
