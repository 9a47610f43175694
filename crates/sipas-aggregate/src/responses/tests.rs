use std::path::Path;

use polars::prelude::*;

use sipas_dataset::{DatasetWriter, Layout};

use super::{Responses, read_responses, read_responses_chunked};

fn frame() -> DataFrame {
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let mut cols = vec![
        Column::new("response_id".into(), ["a", "b", "c"]),
        Column::new("unit_code".into(), ["05446", "05443", "05446"]),
        Column::new("period".into(), ["2024Q1", "2023Q4", "2023Q4"]),
        Column::new("channel".into(), ["survey", "qr", "survey"]),
        Column::new("weight".into(), [1.0, 2.0, 0.5]),
    ];
    for (j, it) in inst.items().iter().enumerate() {
        let v: Vec<Option<u8>> = vec![Some(1 + (j % 5) as u8), None, Some(5)];
        cols.push(Column::new(it.id.as_str().into(), v));
    }
    cols.push(Column::new("source_line".into(), [2u64, 3, 4]));
    DataFrame::new_infer_height(cols).unwrap()
}

fn write(df: &mut DataFrame, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f).finish(df).unwrap();
}

#[test]
fn reads_parquet_into_the_compact_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.parquet");
    write(&mut frame(), &path);
    let r = read_responses(&path, None).unwrap();
    assert_eq!(r.instrument().id, "sipas-2017");
    assert_eq!(r.len(), 3);
    assert_eq!(r.units(), ["05443", "05446"]);
    let periods: Vec<String> = r.periods().iter().map(ToString::to_string).collect();
    assert_eq!(periods, ["2023Q4", "2024Q1"]);
    assert_eq!(r.channels(), ["qr", "survey"]);
    assert_eq!(r.unit_indices(), [1, 0, 1]);
    assert_eq!(r.period_indices(), [1, 0, 0]);
    assert_eq!(r.channel_indices(), [1, 0, 1]);
    assert_eq!(r.weights(), [1.0, 2.0, 0.5]);
    // Row 1: 1,2,3,4,5,1,… (satisfied = 4 or 5); row 2 all missing; row 3 all 5.
    assert_eq!(r.words(), 1);
    let mut st = vec![9u8; 22];
    r.row_states(0, &mut st);
    assert_eq!(&st[..6], [1, 1, 1, 2, 2, 1]);
    let (a, s) = r.masks(0);
    // Items cycle through 1..=5: item j is satisfied when j % 5 is 3 or 4.
    let sat: u64 = (0..22).filter(|j| j % 5 >= 3).map(|j| 1u64 << j).sum();
    assert_eq!((a[0], s[0]), ((1 << 22) - 1, sat));
    assert_eq!(r.masks(1), (&[0u64][..], &[0u64][..]));
    assert_eq!(
        r.masks(2),
        (&[(1u64 << 22) - 1][..], &[(1u64 << 22) - 1][..])
    );
    // Same table as from the frame directly.
    let m = Responses::from_frame(&frame(), None, "frame").unwrap();
    assert_eq!(m.states(), r.states());
}

#[test]
fn wrong_type_names_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.parquet");
    let mut df = frame();
    df.with_column(Column::new("a2".into(), [1i64, 2, 3]))
        .unwrap();
    write(&mut df, &path);
    let err = read_responses(&path, None).unwrap_err().to_string();
    assert!(err.contains("responses.parquet"), "{err}");
    assert!(
        err.ends_with("column `a2` has type i64, expected u8"),
        "{err}"
    );
}

#[test]
fn missing_column_and_bad_values_are_named() {
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let df = frame().drop("period").unwrap();
    let err = Responses::from_frame(&df, Some(&inst), "t.parquet").unwrap_err();
    assert_eq!(err.to_string(), "t.parquet: missing column `period`");

    let mut df = frame();
    df.with_column(Column::new("a3".into(), [Some(1u8), Some(7), None]))
        .unwrap();
    let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.parquet: row 2, column `a3`: answer code 7 is outside the scale 1–5"
    );

    let mut df = frame();
    df.with_column(Column::new("weight".into(), [1.0, 0.0, 1.0]))
        .unwrap();
    let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.parquet: row 2, column `weight`: weight 0 is not finite and > 0"
    );

    let mut df = frame();
    df.with_column(Column::new("period".into(), ["2024Q1", "2024", "2024Q1"]))
        .unwrap();
    let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.parquet: mixed period granularities (2024 and 2024Q1)"
    );

    let df = frame().drop("a1").unwrap();
    let err = Responses::from_frame(&df, None, "t.parquet").unwrap_err();
    assert!(
        err.to_string().contains("match no known instrument"),
        "{err}"
    );
}

/// A small table in canonical row order (by period): several units (first
/// seen out of order), periods, channels (one longer than the 12 bytes a
/// string view holds inline), missing answers, weights and design columns
/// (text, float, integer). Returns the frame and the same rows as plain values.
struct Table {
    df: DataFrame,
    units: Vec<&'static str>,
    periods: Vec<&'static str>,
    channels: Vec<&'static str>,
    weights: Vec<f64>,
    answers: Vec<Vec<Option<u8>>>,
    villages: Vec<&'static str>,
    fpc: Vec<f64>,
    cluster: Vec<i64>,
}

fn table() -> Table {
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let n_items = inst.items().len();
    let unit_pool = ["05500", "05443", "05446", "05506"];
    let channel_pool = ["survey", "qr", "telephone-hotline-callback", "survey"];
    let village_pool = ["Thôn Đồng Bẩm phía bắc", "Thôn 2", "", "Thôn 1"];
    let mut state: u64 = 42;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let mut t = Table {
        df: DataFrame::empty(),
        units: vec![],
        periods: vec![],
        channels: vec![],
        weights: vec![],
        answers: vec![],
        villages: vec![],
        fpc: vec![],
        cluster: vec![],
    };
    for (period, rows) in [("2023Q4", 9), ("2024Q1", 14), ("2024Q2", 7)] {
        for _ in 0..rows {
            t.units.push(unit_pool[next() % 4]);
            t.periods.push(period);
            t.channels.push(channel_pool[next() % 4]);
            t.weights.push(0.5 + (next() % 8) as f64 / 4.0);
            t.answers.push(
                (0..n_items)
                    .map(|_| match next() % 7 {
                        0 => None,
                        k => Some(1 + (k % 5) as u8),
                    })
                    .collect(),
            );
            t.villages.push(village_pool[next() % 4]);
            t.fpc.push([0.1, 0.25][next() % 2]);
            t.cluster.push((next() % 5) as i64 - 2);
        }
    }
    let n = t.units.len();
    let ids: Vec<String> = (0..n).map(|i| format!("r{i:03}")).collect();
    let mut cols = vec![
        Column::new("response_id".into(), ids),
        Column::new("unit_code".into(), &t.units),
        Column::new("period".into(), &t.periods),
        Column::new("channel".into(), &t.channels),
        Column::new("weight".into(), &t.weights),
    ];
    for (j, it) in inst.items().iter().enumerate() {
        let v: Vec<Option<u8>> = t.answers.iter().map(|a| a[j]).collect();
        cols.push(Column::new(it.id.as_str().into(), v));
    }
    cols.push(Column::new("village".into(), &t.villages));
    cols.push(Column::new("fpc".into(), &t.fpc));
    cols.push(Column::new("cluster".into(), &t.cluster));
    t.df = DataFrame::new_infer_height(cols).unwrap();
    t
}

/// The same rows built row by row (an independent path).
fn expected(t: &Table) -> Responses {
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let mut b = Responses::builder(inst);
    for i in 0..t.units.len() {
        b.push(
            t.units[i],
            t.periods[i],
            t.channels[i],
            t.weights[i],
            &t.answers[i],
        )
        .unwrap();
    }
    b.build()
        .unwrap()
        .with_text_column("village", &t.villages)
        .unwrap()
        .with_number_column("fpc", t.fpc.clone())
        .unwrap()
        .with_number_column("cluster", t.cluster.iter().map(|&c| c as f64).collect())
        .unwrap()
}

fn assert_same(a: &Responses, b: &Responses, what: &str) {
    assert_eq!(a.instrument().id, b.instrument().id, "{what}");
    assert_eq!(a.len(), b.len(), "{what}");
    assert_eq!(a.units(), b.units(), "{what}");
    assert_eq!(a.periods(), b.periods(), "{what}");
    assert_eq!(a.channels(), b.channels(), "{what}");
    assert_eq!(a.unit_indices(), b.unit_indices(), "{what}");
    assert_eq!(a.period_indices(), b.period_indices(), "{what}");
    assert_eq!(a.channel_indices(), b.channel_indices(), "{what}");
    assert_eq!(a.weights(), b.weights(), "{what}");
    assert_eq!(a.words(), b.words(), "{what}");
    assert_eq!(a.states(), b.states(), "{what}");
    for c in ["village", "fpc", "cluster"] {
        assert_eq!(a.design_column(c), b.design_column(c), "{what}: {c}");
    }
}

fn write_dataset(df: &DataFrame, dir: &Path, layout: Layout) {
    let mut w = DatasetWriter::create(dir, layout, df.schema()).unwrap();
    let periods = df.column("period").unwrap().str().unwrap().clone();
    let mut start = 0;
    while start < df.height() {
        let p = periods.get(start).unwrap();
        let mut end = start;
        while end < df.height() && periods.get(end) == Some(p) {
            end += 1;
        }
        w.write(p, &df.slice(start as i64, end - start)).unwrap();
        start = end;
    }
    w.finish().unwrap();
}

#[test]
fn chunked_reading_equals_the_whole_frame_and_the_row_by_row_build() {
    let t = table();
    let want = expected(&t);
    // The table's own orders, written out: units sorted by code, channels
    // by text, villages by text; the first row's unit is not the first code.
    assert_eq!(want.units(), ["05443", "05446", "05500", "05506"]);
    assert_eq!(
        want.channels(),
        ["qr", "survey", "telephone-hotline-callback"]
    );
    assert_eq!(t.units[0], "05446");
    assert_eq!(want.unit_indices()[0], 1);
    let design = ["village", "fpc", "cluster"];
    let whole = Responses::from_frame_with(&t.df, None, "frame", &design).unwrap();
    assert_same(&whole, &want, "whole frame");
    for layout in [Layout::File, Layout::ByPeriod] {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(&t.df, dir.path(), layout);
        for chunk_rows in [1, 2, 3, 1000] {
            let r = read_responses_chunked(dir.path(), None, &design, chunk_rows).unwrap();
            assert_same(
                &r,
                &want,
                &format!("{layout} layout, chunks of {chunk_rows}"),
            );
            assert_eq!(r.origin(), dir.path().display().to_string());
        }
        // Without design columns (the default read) the rest is the same.
        let r = read_responses(dir.path(), None).unwrap();
        assert_eq!(r.states(), want.states());
        assert_eq!(r.design_column("village"), None);
    }
}

#[test]
fn a_bad_code_in_a_later_chunk_names_the_file_row_and_column() {
    let t = table();
    let mut df = t.df.clone();
    // Row 20 (1-based) of the table is row 11 of the 2024Q1 partition.
    let mut b1: Vec<Option<u8>> = t.answers.iter().map(|a| a[4]).collect();
    b1[19] = Some(9);
    df.with_column(Column::new("b1".into(), b1)).unwrap();
    for (layout, file, row) in [
        (Layout::File, "responses.parquet", 20),
        (Layout::ByPeriod, "part-00000.parquet", 11),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(&df, dir.path(), layout);
        for chunk_rows in [1, 3, 1000] {
            let err = read_responses_chunked(dir.path(), None, &[], chunk_rows)
                .unwrap_err()
                .to_string();
            assert!(
                err.ends_with(&format!(
                    "{file}: row {row}, column `b1`: answer code 9 is outside the scale 1–5"
                )),
                "{layout}, {chunk_rows}: {err}"
            );
            if layout == Layout::ByPeriod {
                assert!(err.contains("period=2024Q1"), "{err}");
            }
        }
    }
    // A null unit code and a bad weight in a later chunk, too.
    let mut df = t.df.clone();
    let mut w = t.weights.clone();
    w[25] = -1.0;
    df.with_column(Column::new("weight".into(), w)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_dataset(&df, dir.path(), Layout::File);
    let err = read_responses_chunked(dir.path(), None, &[], 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "responses.parquet: row 26, column `weight`: weight -1 is not finite and > 0"
        ),
        "{err}"
    );
}

#[test]
fn views_of_long_and_short_strings_encode_alike() {
    // The same values as inline views, as views into a buffer, and repeated
    // across arrays of one column: one dictionary entry each.
    let long = "a-channel-name-longer-than-twelve";
    let mut d = super::Dict::default();
    let a = StringChunked::new("c".into(), ["qr", long, long, "qr", "web"]);
    let b = StringChunked::new("c".into(), [long, "web", "qr"]);
    let mut ab = a.clone();
    ab.append(&b).unwrap();
    assert_eq!(ab.chunks().len(), 2);
    let mut idx = [9u32; 8];
    d.encode(&ab, false, &mut idx).unwrap();
    assert_eq!(d.values, ["qr", long, "web"]);
    assert_eq!(idx, [0, 1, 1, 0, 2, 1, 2, 0]);
    let mut two = [0u32; 2];
    let e = StringChunked::new("c".into(), [Some("x"), None]);
    assert_eq!(super::Dict::default().encode(&e, false, &mut two), Err(1));
    let e = StringChunked::new("c".into(), ["x", ""]);
    assert_eq!(super::Dict::default().encode(&e, false, &mut two), Err(1));
    assert_eq!(super::Dict::default().encode(&e, true, &mut two), Ok(()));
}

#[test]
fn bit_matrices_transpose_and_bitmaps_read_at_any_offset() {
    let mut rng = sipas_core::xorshift::XorShift64::new(0x9E37_79B9_7F4A_7C15);
    let mut m = [0u64; 64];
    for w in &mut m {
        *w = rng.next_u64();
    }
    let mut t = m;
    super::transpose64(&mut t);
    for (i, mi) in m.iter().enumerate() {
        for (j, tj) in t.iter().enumerate() {
            assert_eq!((tj >> i) & 1, (mi >> j) & 1, "({i}, {j})");
        }
    }
    // 12 bytes = 96 bits; bit k of the bitmap is bit k % 8 of byte k / 8.
    let bytes: Vec<u8> = (0..12u8).map(|b| b.wrapping_mul(37) ^ 0xA5).collect();
    let bit = |k: usize| k < 96 && (bytes[k / 8] >> (k % 8)) & 1 == 1;
    for p in [0, 1, 7, 8, 13, 32, 40, 63, 90] {
        let w = super::bitmap_word(&bytes, p);
        for i in 0..64 {
            assert_eq!((w >> i) & 1 == 1, bit(p + i), "p {p}, bit {i}");
        }
    }
}

#[test]
fn code_ranges_become_bits() {
    // Every pattern of eight flags, and codes 0..=255 against 1..=5 and 4..=5.
    for pattern in 0..=255u8 {
        let v: Vec<u8> = (0..64)
            .map(|i| if (pattern >> (i % 8)) & 1 == 1 { 4 } else { 9 })
            .collect();
        let v: &[u8; 64] = v.as_slice().try_into().unwrap();
        let want = super::range_bits(v, 1, 4);
        assert_eq!(super::range_bits64(v, 1, 4), want, "{pattern:08b}");
        assert_eq!(want as u8, pattern);
    }
    for start in 0..4u8 {
        let v: Vec<u8> = (0..64).map(|i| start.wrapping_add(i * 4)).collect();
        let v: &[u8; 64] = v.as_slice().try_into().unwrap();
        for (lo, span) in [(1, 4), (4, 1), (0, 255), (200, 55)] {
            let naive = (0..64).fold(0u64, |m, i| {
                m | (u64::from(v[i] >= lo && u16::from(v[i]) <= u16::from(lo) + u16::from(span))
                    << i)
            });
            assert_eq!(
                super::range_bits64(v, lo, span),
                naive,
                "{start} {lo} {span}"
            );
            assert_eq!(super::range_bits(v, lo, span), naive);
        }
    }
}

#[test]
fn large_frames_with_nulls_and_offsets_pack_like_the_row_builder() {
    // 5,000 rows (several 4,096-row blocks and 1,024-row spans, a partial
    // 64-row group), 22 items, ~20% nulls; also a slice starting at row
    // 1,000 (validity bitmaps at a bit offset).
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let n = 5000;
    let mut rng = sipas_core::xorshift::XorShift64::new(0x2545_F491_4F6C_DD1D);
    let mut rand = move || rng.next_u64();
    let answers: Vec<Vec<Option<u8>>> = (0..n)
        .map(|_| {
            (0..inst.items().len())
                .map(|_| (rand() % 5 != 0).then(|| 1 + (rand() % 5) as u8))
                .collect()
        })
        .collect();
    let mut cols = vec![
        Column::new("unit_code".into(), vec!["05443"; n]),
        Column::new("period".into(), vec!["2024Q1"; n]),
    ];
    for (j, it) in inst.items().iter().enumerate() {
        let v: Vec<Option<u8>> = answers.iter().map(|a| a[j]).collect();
        cols.push(Column::new(it.id.as_str().into(), v));
    }
    let df = DataFrame::new_infer_height(cols).unwrap();
    for (from, len) in [(0, n), (1000, 3001)] {
        let part = df.slice(from as i64, len);
        let got = Responses::from_frame(&part, Some(&inst), "frame").unwrap();
        let mut b = Responses::builder(inst.clone());
        for a in &answers[from..from + len] {
            b.push("05443", "2024Q1", "survey", 1.0, a).unwrap();
        }
        let want = b.build().unwrap();
        assert_eq!(got.states(), want.states(), "rows {from}..{}", from + len);
    }
    // An off-scale code late in the table is named by row and item.
    let mut bad = df.clone();
    let id = inst.items()[7].id.clone();
    let mut v: Vec<Option<u8>> = answers.iter().map(|a| a[7]).collect();
    v[4321] = Some(6);
    v[4500] = Some(0);
    bad.with_column(Column::new(id.as_str().into(), v)).unwrap();
    let e = Responses::from_frame(&bad, Some(&inst), "frame")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 4322") && e.contains(&id) && e.contains("answer code 6"),
        "{e}"
    );
}

#[test]
fn replicate_column_patterns_match_with_stars_in_natural_order() {
    use super::{glob_match, natural_cmp};
    assert!(glob_match("rb*", "rb1") && glob_match("rb*", "rb") && !glob_match("rb*", "xrb1"));
    assert!(glob_match("repwt_*_w", "repwt_12_w") && !glob_match("repwt_*_w", "repwt_12"));
    assert!(glob_match("*wt*", "repwt3") && glob_match("village", "village"));
    assert!(!glob_match("village", "villages") && !glob_match("a*b*c", "acb"));
    let mut v = vec!["rb10", "rb2", "rb1", "rb11", "rb3"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, ["rb1", "rb2", "rb3", "rb10", "rb11"]);
}

#[test]
fn a_replicate_pattern_keeps_every_matching_column_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.parquet");
    let mut df = frame();
    for (name, v) in [("rw10", [3.0, 4.0, 5.0]), ("rw2", [1.0, 0.0, 2.0])] {
        df.with_column(Column::new(name.into(), v)).unwrap();
    }
    write(&mut df, &path);
    let r = super::read_responses_with(&path, None, &["rw*"]).unwrap();
    assert_eq!(r.design_columns_matching("rw*"), ["rw2", "rw10"]);
    assert_eq!(
        r.design_column("rw2").unwrap().to_numbers().unwrap(),
        [1.0, 0.0, 2.0]
    );
    // A pattern that matches no column is named.
    let err = super::read_responses_with(&path, None, &["zz*"]).unwrap_err();
    assert!(err.to_string().contains("zz*"), "{err}");
}

/// A clean table's answer-mask columns are read instead of the items: the
/// same compact table as the item path and the row-by-row build, in every
/// layout and chunking; a mask of another instrument's definition is not
/// read (its name does not match), and an impossible mask is an error
/// naming the file, row and column.
#[test]
fn answer_mask_columns_read_like_the_items() {
    let t = table();
    let want = expected(&t);
    let inst = sipas_core::bundled::instrument("sipas-2017").unwrap();
    let masked = sipas_dataset::with_answer_masks(t.df.clone(), &inst).unwrap();
    let [na, ns] = sipas_core::schema::mask_columns(&inst).unwrap();
    assert_eq!(masked.width(), t.df.width() + 2);
    let design = ["village", "fpc", "cluster"];
    // Items that disagree with the masks show which one was read.
    let mut scrambled = masked.clone();
    for it in inst.item_ids() {
        let n = scrambled.height();
        scrambled
            .with_column(Column::new(it.into(), vec![Some(1u8); n]))
            .unwrap();
    }
    for layout in [Layout::File, Layout::ByPeriod] {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(&scrambled, dir.path(), layout);
        for chunk_rows in [1, 3, 1000] {
            let r = read_responses_chunked(dir.path(), None, &design, chunk_rows).unwrap();
            assert_same(
                &r,
                &want,
                &format!("masks, {layout}, chunks of {chunk_rows}"),
            );
        }
    }
    // Under another instrument definition the names differ.
    let mut other = inst.clone();
    other.scale.satisfied_min = 5;
    assert_ne!(sipas_core::schema::mask_columns(&other).unwrap()[0], na);

    // A satisfied bit without its answered bit, in row 5 (1-based).
    let mut bad = masked.clone();
    let mut s: Vec<u64> = bad
        .column(&ns)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let a: Vec<u64> = bad
        .column(&na)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let j = (0..inst.items().len())
        .find(|j| a[4] & (1 << j) == 0)
        .expect("row 5 has a missing item");
    s[4] |= 1 << j;
    bad.with_column(Column::new(ns.as_str().into(), s)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.parquet");
    write(&mut bad, &path);
    let err = read_responses(&path, None).unwrap_err().to_string();
    assert!(err.contains("responses.parquet"), "{err}");
    assert!(err.contains("row 5"), "{err}");
    assert!(err.contains(&ns), "{err}");
}
