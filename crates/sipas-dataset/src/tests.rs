use polars::prelude::*;

use super::*;

fn frame(ids: &[&str], units: &[&str], period: &str, answers: &[Option<u8>]) -> DataFrame {
    df!(
        "response_id" => ids,
        "unit_code" => units,
        "period" => vec![period; ids.len()],
        "weight" => vec![1.5f64; ids.len()],
        "q1" => answers,
    )
    .unwrap()
}

/// The non-null values of a text column.
fn text(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect()
}

fn table() -> Vec<(&'static str, DataFrame)> {
    vec![
        (
            "2023Q1",
            frame(
                &["a", "b", "c"],
                &["05536", "05536", "05539"],
                "2023Q1",
                &[Some(1), None, Some(5)],
            ),
        ),
        ("2023Q2", frame(&["d"], &["05539"], "2023Q2", &[Some(4)])),
        (
            "2023Q2",
            frame(
                &["e", "f"],
                &["05540", "05541"],
                "2023Q2",
                &[Some(2), Some(3)],
            ),
        ),
    ]
}

fn write(dir: &std::path::Path, layout: Layout) -> DataFrame {
    let t = table();
    let mut w = DatasetWriter::create(dir, layout, t[0].1.schema()).unwrap();
    for (p, df) in &t {
        w.write(p, df).unwrap();
    }
    assert_eq!(w.rows(), 6);
    w.finish().unwrap();
    let mut all = t[0].1.clone();
    for (_, df) in &t[1..] {
        all.vstack_mut(df).unwrap();
    }
    all
}

#[test]
fn both_layouts_read_back_the_same_rows_in_chunks_of_any_size() {
    for layout in [Layout::File, Layout::ByPeriod] {
        let dir = tempfile::tempdir().unwrap();
        let all = write(dir.path(), layout);
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.layout(), layout);
        assert_eq!(ds.rows(), 6);
        assert_eq!(
            ds.column_names(),
            ["response_id", "unit_code", "period", "weight", "q1"]
        );
        assert!(ds.read(None).unwrap().equals_missing(&all), "{layout}");
        for size in [1, 2, 4, 100] {
            let mut got: Option<DataFrame> = None;
            let mut ordinal = 0;
            for c in ds.chunks(size, None) {
                let c = c.unwrap();
                assert!(c.df.height() <= size);
                assert_eq!(c.ordinal, ordinal);
                ordinal += c.df.height() as u64;
                match &mut got {
                    None => got = Some(c.df),
                    Some(g) => {
                        g.vstack_mut(&c.df).unwrap();
                    }
                }
            }
            assert!(got.unwrap().equals_missing(&all), "{layout} chunk {size}");
            // The same chunks, read one by one from their specs in reverse.
            let specs = ds.chunk_specs(size);
            let lens: Vec<usize> = specs.iter().map(|s| s.len).collect();
            assert_eq!(lens.iter().sum::<usize>(), 6);
            for (i, spec) in specs.iter().enumerate().rev() {
                let c = if i % 2 == 0 {
                    ds.read_chunk(spec, Some(&["q1", "period"])).unwrap()
                } else {
                    ds.read_chunk_here(spec, Some(&["q1", "period"])).unwrap()
                };
                assert_eq!(c.ordinal, spec.ordinal);
                assert_eq!(c.df.get_column_names(), ["period", "q1"]);
                let start = usize::try_from(spec.ordinal).unwrap();
                let want = all.slice(start as i64, spec.len);
                assert!(
                    c.df.column("q1")
                        .unwrap()
                        .equals_missing(want.column("q1").unwrap())
                        && c.df.column("period").unwrap() == want.column("period").unwrap(),
                    "{layout} chunk {size} #{i}"
                );
            }
        }
        let two = ds.read(Some(&["q1", "period"])).unwrap();
        assert_eq!(two.get_column_names(), ["period", "q1"]);
    }
}

#[test]
fn the_partitioned_layout_is_hive_style_without_the_period_column() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), Layout::ByPeriod);
    let root = dir.path().join(RESPONSES_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["_schema.parquet", "period=2023Q1", "period=2023Q2"]);
    let f = std::fs::File::open(root.join("period=2023Q2/part-00000.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    assert_eq!(df.height(), 3);
    assert!(!df.schema().contains("period"));
    // No temporary files are left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
    // Opening the partition folder itself works too.
    assert_eq!(Dataset::open(&root).unwrap().rows(), 6);
}

#[test]
fn writing_one_layout_replaces_the_other() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), Layout::ByPeriod);
    write(dir.path(), Layout::File);
    assert!(!dir.path().join(RESPONSES_DIR).exists());
    assert_eq!(Dataset::open(dir.path()).unwrap().layout(), Layout::File);
    write(dir.path(), Layout::ByPeriod);
    assert!(!dir.path().join(RESPONSES_FILE).exists());
    write(dir.path(), Layout::ByPeriod);
    assert_eq!(Dataset::open(dir.path()).unwrap().rows(), 6);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_empty_table_keeps_its_schema_in_both_layouts() {
    for layout in [Layout::File, Layout::ByPeriod] {
        let dir = tempfile::tempdir().unwrap();
        let schema = table()[0].1.schema().as_ref().clone();
        DatasetWriter::create(dir.path(), layout, &schema)
            .unwrap()
            .finish()
            .unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.rows(), 0);
        assert_eq!(ds.schema(), &schema);
        assert_eq!(ds.read(None).unwrap().height(), 0);
        assert_eq!(ds.chunks(10, None).count(), 0);
    }
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = Dataset::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no response table"), "{e}");
    write(dir.path(), Layout::File);
    let t = table();
    let mut w = DatasetWriter::create(dir.path(), Layout::ByPeriod, t[0].1.schema()).unwrap();
    w.write("2023Q2", &t[1].1).unwrap();
    let e = w.write("2023Q1", &t[0].1).unwrap_err().to_string();
    assert!(e.contains("period 2023Q1 written after 2023Q2"), "{e}");
    drop(w);
    // The unfinished writer left the old table alone, and no temp folder.
    assert_eq!(Dataset::open(dir.path()).unwrap().rows(), 6);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    std::fs::create_dir(dir.path().join(RESPONSES_DIR)).unwrap();
    let e = Dataset::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("holds both"), "{e}");
    let missing = Dataset::open(&dir.path().join(RESPONSES_FILE))
        .unwrap()
        .chunks(2, Some(&["nope"]))
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(missing.contains("no column `nope`"), "{missing}");
    let ds = Dataset::open(&dir.path().join(RESPONSES_FILE)).unwrap();
    let spec = ds.chunk_specs(2)[0];
    let e = ds
        .read_chunk(&spec, Some(&["nope"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no column `nope`"), "{e}");
}

#[test]
fn spill_partitions_rows_by_key_keeping_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = table();
    let mut spill: Spill<u32> = Spill::new_in(dir.path(), t[0].1.schema()).unwrap();
    for (_, df) in &t {
        let keys: Vec<u32> = df
            .column("unit_code")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(Option::unwrap)
            .map(|u| u32::from(u > "05537"))
            .collect();
        spill.push_by(df, &keys).unwrap();
    }
    let mut done = spill.finish().unwrap();
    assert_eq!(done.keys(), [0, 1]);
    assert_eq!((done.rows(&0), done.rows(&1)), (2, 4));
    assert_eq!(text(&done.take(&0).unwrap(), "response_id"), ["a", "b"]);
    assert_eq!(
        text(&done.take(&1).unwrap(), "response_id"),
        ["c", "d", "e", "f"]
    );
    assert_eq!(done.take(&7).unwrap().height(), 0);
    drop(done);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_empty_write_of_a_new_period_does_not_send_its_rows_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let t = table();
    let schema = t[0].1.schema().as_ref().clone();
    let mut w = DatasetWriter::create(dir.path(), Layout::ByPeriod, &schema).unwrap();
    w.write("2023Q1", &t[0].1).unwrap();
    w.write("2023Q2", &t[1].1.clear()).unwrap();
    w.write("2023Q2", &t[1].1).unwrap();
    w.finish().unwrap();
    let df = Dataset::open(dir.path()).unwrap().read(None).unwrap();
    assert_eq!(
        text(&df, "period"),
        ["2023Q1", "2023Q1", "2023Q1", "2023Q2"]
    );
}

#[test]
fn chunks_keep_row_groups_whole_unless_one_is_larger_than_a_chunk() {
    let part = Part {
        path: "x.parquet".into(),
        period: None,
        rows: 11,
        row_groups: vec![3, 3, 5],
    };
    assert_eq!(read::plan(&part, 4), [(0, 3), (3, 3), (6, 4), (10, 1)]);
    assert_eq!(read::plan(&part, 6), [(0, 6), (6, 5)]);
    assert_eq!(read::plan(&part, 100), [(0, 11)]);
    assert_eq!(read::plan(&part, 1).len(), 11);
    // Footer sizes that do not add up are not trusted.
    let odd = Part {
        row_groups: vec![2],
        ..part
    };
    assert_eq!(read::plan(&odd, 5), [(0, 5), (5, 5), (10, 1)]);
}

#[test]
fn a_spill_reads_back_the_same_rows_whatever_its_memory_budget() {
    // 3 keys, 40 pushes of 5,000 rows each (key i % 3 gets push i), so that
    // a bucket on disk is written in several row groups and the rows pushed
    // after its last full buffer are read back last.
    let frame = |i: usize| {
        let ids: Vec<String> = (0..5_000).map(|r| format!("{i}-{r}")).collect();
        let x: Vec<u32> = (0..5_000u32).map(|r| r * 7 + i as u32).collect();
        df!("response_id" => ids, "x" => x).unwrap()
    };
    let schema = frame(0).schema().as_ref().clone();
    let one = frame(0).estimated_size();
    let read = |budget: usize| {
        let dir = tempfile::tempdir().unwrap();
        let mut spill: Spill<usize> = Spill::new_in(dir.path(), &schema)
            .unwrap()
            .with_memory(budget);
        for i in 0..40 {
            spill.push(&(i % 3), frame(i)).unwrap();
        }
        let mut done = spill.finish().unwrap();
        let written = done.written();
        let rows: Vec<(u64, DataFrame)> = (0..3)
            .map(|k| (done.rows(&k), done.take(&k).unwrap()))
            .collect();
        drop(done);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        (written, rows)
    };
    let (on_disk, expected) = read(0);
    assert_eq!(on_disk, 3);
    for (k, (n, df)) in expected.iter().enumerate() {
        let pushes = (0..40).filter(|i| i % 3 == k).count();
        assert_eq!((*n, df.height()), (pushes as u64 * 5_000, pushes * 5_000));
        let ids = text(df, "response_id");
        let first = (0..40).find(|i| i % 3 == k).unwrap();
        let last = (0..40).rev().find(|i| i % 3 == k).unwrap();
        assert_eq!(ids[0], format!("{first}-0"));
        assert_eq!(ids[ids.len() - 1], format!("{last}-4999"));
    }
    // Three quarters of the rows in memory: the largest bucket goes to
    // disk when the budget is passed, the others stay.
    let (some, rows) = read(one * 30);
    assert!(some > 0 && some < 3, "{some} buckets written");
    assert_eq!(rows, expected);
    let (none, rows) = read(usize::MAX);
    assert_eq!(none, 0);
    assert_eq!(rows, expected);
}

#[test]
fn a_spilled_key_reads_back_by_column_and_in_slices() {
    // Key 0 on disk (budget 0), written in row groups of 65,536 and a rest;
    // key 1 held in memory (budget large): the same rows either way.
    let frame = |i: usize, n: usize| {
        let ids: Vec<String> = (0..n).map(|r| format!("{i}-{r}")).collect();
        let x: Vec<u32> = (0..n as u32).map(|r| r * 3 + i as u32).collect();
        df!("response_id" => ids, "x" => x).unwrap()
    };
    let schema = frame(0, 1).schema().as_ref().clone();
    for budget in [0, usize::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let mut spill: Spill<u8> = Spill::new_in(dir.path(), &schema)
            .unwrap()
            .with_memory(budget);
        for i in 0..5 {
            spill.push(&0, frame(i, 30_000)).unwrap();
        }
        let mut done = spill.finish().unwrap();
        assert_eq!(done.written(), usize::from(budget == 0));
        assert_eq!(done.schema(), &schema);
        let whole = {
            let frames: Vec<DataFrame> = (0..5).map(|i| frame(i, 30_000)).collect();
            let mut df = frames[0].clone();
            for f in &frames[1..] {
                df.vstack_mut(f).unwrap();
            }
            df
        };
        let x = done.column(&0, "x").unwrap();
        assert_eq!(
            x.as_materialized_series(),
            whole.column("x").unwrap().as_materialized_series()
        );
        assert_eq!(done.column(&9, "x").unwrap().len(), 0);
        // Row groups: the first push goes to disk at once (budget 0), the
        // next are buffered until they reach 65,536 rows (three pushes), the
        // last is written at `finish`.
        let groups = done.row_groups(&0).unwrap();
        if budget == 0 {
            assert_eq!(groups, Some(vec![30_000, 90_000, 30_000]));
        } else {
            assert_eq!(groups, None);
        }
        // Slices across frames and row groups, and past the end.
        for (offset, len) in [
            (0, 1),
            (29_990, 20),
            (95_000, 40_000),
            (149_990, 100),
            (150_000, 5),
        ] {
            let got = done.slice(&0, offset, len).unwrap();
            let n = len.min(150_000 - offset);
            assert!(
                got.equals(&whole.slice(offset as i64, n)),
                "slice {offset}+{len}"
            );
        }
        assert_eq!(done.slice(&9, 0, 10).unwrap().height(), 0);
        done.remove(&0).unwrap();
        // Taken: the key is gone, and its file with it.
        assert_eq!(done.take(&0).unwrap().height(), 0);
        drop(done);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// Per column of the first row group: (name, codec, has a dictionary page).
fn codecs(path: &std::path::Path) -> Vec<(String, String, bool)> {
    let mut f = std::fs::File::open(path).unwrap();
    let meta = polars_parquet::read::read_metadata(&mut f).unwrap();
    meta.row_groups[0]
        .parquet_columns()
        .iter()
        .map(|c| {
            (
                c.descriptor().path_in_schema.join("."),
                format!("{:?}", c.compression()),
                c.dictionary_page_offset().is_some(),
            )
        })
        .collect()
}

#[test]
fn the_satisfied_mask_is_stored_plain_and_uncompressed_and_every_other_column_as_polars_writes_it()
{
    let inst = sipas_core::Instrument::from_toml_str(
        include_str!("../../../fixtures/instruments/sipas-2023.toml"),
        "sipas-2023.toml",
    )
    .unwrap();
    let [answered, satisfied] = sipas_core::schema::mask_columns(&inst).unwrap();
    assert!(stored_plain(&satisfied));
    assert!(!stored_plain(&answered));
    assert!(!stored_plain("satisfied") && !stored_plain("_sipas_mask_"));

    let n = 5000;
    let mut df = df!(
        "response_id" => (0..n).map(|i| format!("r{i}")).collect::<Vec<_>>(),
        "unit_code" => (0..n).map(|i| format!("{:05}", 5536 + i % 7)).collect::<Vec<_>>(),
        "period" => vec!["2024Q1"; n],
        "weight" => vec![1.0f64; n],
        "q1" => (0..n).map(|i| Some((i % 5 + 1) as u8)).collect::<Vec<_>>(),
        answered.as_str() => vec![(1u64 << 33) - 1; n],
        // Bits that look random, as a real satisfied mask does.
        satisfied.as_str() => (0..n as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 31).collect::<Vec<_>>(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(dir.path(), Layout::File, df.schema()).unwrap();
    w.write("2024Q1", &df).unwrap();
    let path = w.finish().unwrap();
    let got = codecs(&path);
    let names: Vec<&str> = got.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "response_id",
            "unit_code",
            "period",
            "weight",
            "q1",
            &answered,
            &satisfied
        ]
    );
    for (name, codec, dict) in &got {
        if *name == satisfied {
            assert_eq!((codec.as_str(), *dict), ("Uncompressed", false), "{name}");
        } else {
            assert_eq!(codec, "Zstd", "{name}");
        }
    }
    // Low-cardinality columns keep their dictionaries.
    assert!(got[1].2 && got[4].2 && got[5].2, "{got:?}");
    let back = Dataset::open(dir.path()).unwrap().read(None).unwrap();
    assert!(back.equals_missing(&df));

    // Without a satisfied mask the file is byte for byte what polars'
    // own writer makes of the same frame.
    df.drop_in_place(&satisfied).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(dir.path(), Layout::File, df.schema()).unwrap();
    w.write("2024Q1", &df).unwrap();
    let ours = std::fs::read(w.finish().unwrap()).unwrap();
    let mut theirs = Vec::new();
    {
        let mut pw = ParquetWriter::new(&mut theirs)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(df.schema())
            .unwrap();
        pw.write_batch(&df).unwrap();
        pw.finish().unwrap();
    }
    assert!(
        ours == theirs,
        "{} bytes against polars' {}",
        ours.len(),
        theirs.len()
    );
}

#[test]
fn a_whole_frame_is_written_as_polars_writes_it() {
    let part = |from: usize, n: usize| {
        df!(
            "code" => (from..from + n).map(|i| format!("{:05}", i % 173)).collect::<Vec<_>>(),
            "id" => (from..from + n).map(|i| format!("id-{i}")).collect::<Vec<_>>(),
            "value" => (from..from + n).map(|i| (i % 11 != 0).then_some(i as f64 / 7.0)).collect::<Vec<_>>(),
            "flag" => (from..from + n).map(|i| i % 3 == 0).collect::<Vec<_>>(),
            "count" => (from..from + n).map(|i| (i as i64) * 37 % 1000).collect::<Vec<_>>(),
        )
        .unwrap()
    };
    // Three chunks, none a multiple of the row group.
    let mut df = part(0, 300_001);
    df.vstack_mut(&part(300_001, 250_000)).unwrap();
    df.vstack_mut(&part(550_001, 7)).unwrap();
    let mut whole = df.clone();
    whole.rechunk_mut_par();
    // In chunks (kept as row groups) and in one chunk (cut by polars).
    for (frame, expected) in [
        (&mut df, vec![300_001, 250_000, 7]),
        (&mut whole, vec![275_004, 275_004]),
    ] {
        let mut ours = Vec::new();
        let size = write_frame(&mut ours, &mut frame.clone()).unwrap();
        let mut theirs = Vec::new();
        ParquetWriter::new(&mut theirs).finish(frame).unwrap();
        assert_eq!(size as usize, ours.len());
        assert!(
            ours == theirs,
            "{} bytes against polars' {}",
            ours.len(),
            theirs.len()
        );
        let mut f = std::io::Cursor::new(&ours);
        let meta = polars_parquet::read::read_metadata(&mut f).unwrap();
        let groups: Vec<usize> = meta
            .row_groups
            .iter()
            .map(polars_parquet::read::RowGroupMetadata::num_rows)
            .collect();
        assert_eq!(groups, expected);
    }
}

#[test]
fn a_scratch_file_is_plain_lz4_and_reads_back_every_type() {
    let n = 3000usize;
    let list: Vec<Series> = (0..n)
        .map(|i| Series::new("".into(), vec![i as i64, -(i as i64)]))
        .collect();
    let mut df = df!(
        "text" => (0..n).map(|i| (i % 7 != 0).then(|| format!("v{}", i % 5))).collect::<Vec<_>>(),
        "item" => (0..n).map(|i| (i % 4 != 0).then_some((i % 5 + 1) as u8)).collect::<Vec<_>>(),
        "weight" => (0..n).map(|i| i as f64 / 3.0).collect::<Vec<_>>(),
        "flag" => (0..n).map(|i| i % 2 == 0).collect::<Vec<_>>(),
        "nested" => list,
    )
    .unwrap();
    df.rechunk_mut_par();
    let mut buf = Vec::new();
    let mut w = ParquetOut::scratch(&mut buf, df.schema()).unwrap();
    w.write_batch(&df).unwrap();
    w.finish().unwrap();
    let back = ParquetReader::new(std::io::Cursor::new(&buf))
        .finish()
        .unwrap();
    assert!(back.equals_missing(&df));
    let meta = polars_parquet::read::read_metadata(&mut std::io::Cursor::new(&buf)).unwrap();
    let columns = meta.row_groups[0].parquet_columns();
    // The list column is one leaf: five leaves in all.
    assert_eq!(columns.len(), 5);
    for c in columns {
        assert_eq!(format!("{:?}", c.compression()), "Lz4Raw");
        assert!(c.dictionary_page_offset().is_none());
    }
}

/// Pseudo-random draws of 53 bits (xorshift64*) from `state` (not 0), the
/// same sequence on every run: the test data of this crate.
pub(crate) fn draws(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11
    }
}

/// `n` values of a small-integer column: (a pseudo-random draw, the row) ->
/// the value or null.
fn u8_column(name: &str, n: usize, seed: u64, f: impl Fn(u64, usize) -> Option<u8>) -> Column {
    let mut draw = draws(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let values: Vec<Option<u8>> = (0..n).map(|i| f(draw(), i)).collect();
    Column::new(name.into(), values)
}

/// `n` values in runs: mostly 1-12 of one value (around the 9 that makes
/// an RLE run), some of 8,000-9,000 (a literal run's limit is 8,192) and
/// long literal stretches without a repeat, a few nulls.
fn segments(n: usize, seed: u64) -> Vec<Option<u8>> {
    let mut next = draws(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut draw = |m: u64| next() % m;
    let mut out = Vec::with_capacity(n + 10_000);
    while out.len() < n {
        match draw(40) {
            0 => {
                let len = 8_000 + draw(1_000) as usize;
                let v = draw(4) as u8;
                out.extend(std::iter::repeat_n(Some(v), len));
            }
            1 => {
                // 8,000-9,000 values, no two neighbours equal.
                let len = 8_000 + draw(1_000) as usize;
                out.extend((0..len).map(|k| Some((k % 3) as u8)));
            }
            2 => out.push(None),
            _ => {
                let len = 1 + draw(12) as usize;
                let v = draw(4) as u8;
                out.extend(std::iter::repeat_n(Some(v), len));
            }
        }
    }
    out.truncate(n);
    out
}

/// Small-integer columns of every shape the direct dictionary encoder
/// meets (answers with scattered and clustered nulls, long runs, one value,
/// wide dictionaries, pages without nulls in a column with some, all-null
/// pages and columns, a zero key at the start) are written byte for byte as
/// polars' writer writes them, in chunks of any length and whole.
#[test]
fn small_integer_columns_are_written_as_polars_writes_them() {
    let frame = |n: usize, seed: u64| {
        DataFrame::new(
            n,
            vec![
                // Answers 1-5, 5 % missing.
                u8_column("answers", n, seed, |r, _| {
                    (r % 100 >= 5).then_some((r % 5) as u8 + 1)
                }),
                // Missing in blocks of 3,000 rows: pages without nulls, and runs.
                u8_column("blocks", n, seed + 1, |r, i| {
                    ((i / 3000) % 4 != 1).then_some((r % 3) as u8)
                }),
                // Runs of 1-20 of one value, so RLE and literal runs alternate;
                // starting with zeros (the encoder's initial "previous" value).
                u8_column("runs", n, seed + 2, |_, i| {
                    Some(((i / (1 + i % 20 + (i / 997) % 7)) % 4) as u8)
                }),
                // One value: keys of zero bits.
                u8_column("constant", n, seed + 3, |_, _| Some(4)),
                u8_column("constant_nulls", n, seed + 4, |r, _| {
                    (r % 7 != 0).then_some(9)
                }),
                // Every byte value: an 8-bit dictionary (or none, when short).
                u8_column("wide", n, seed + 5, |r, _| Some((r % 256) as u8)),
                // Null for the first 250,000 rows: a whole page of nulls.
                u8_column("late", n, seed + 6, |r, i| {
                    (i >= 250_000).then_some((r % 2) as u8 + 1)
                }),
                u8_column("never", n, seed + 7, |_, _| None),
                // 17 values between 100 and 116.
                u8_column("offset", n, seed + 8, |r, _| Some(100 + (r % 17) as u8)),
                Column::new("segments".into(), segments(n, seed + 9)),
            ],
        )
        .unwrap()
    };
    let mut chunked = frame(300_001, 1);
    chunked.vstack_mut(&frame(9, 2)).unwrap();
    chunked.vstack_mut(&frame(262_141, 3)).unwrap();
    chunked.vstack_mut(&frame(1, 4)).unwrap();
    chunked.vstack_mut(&frame(45, 5)).unwrap();
    assert_written_as_polars_writes_it(&chunked);
}

/// `n` values of a text column: (a pseudo-random draw, the row) -> the value or null.
fn text_column(
    name: &str,
    n: usize,
    seed: u64,
    f: impl Fn(u64, usize) -> Option<String>,
) -> Column {
    let mut draw = draws(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let values: Vec<Option<String>> = (0..n).map(|i| f(draw(), i)).collect();
    Column::new(name.into(), values)
}

/// Text columns of every shape a table holds (sorted codes in runs, one
/// value, a few values in random order, long values in runs, names with
/// nulls, distinct ids, mostly distinct values around polars' ¾ threshold,
/// empty values beside nulls, all nulls) are written byte for byte as
/// polars' writer writes them, in chunks of any length (≤ 128 rows: always
/// a dictionary) and whole.
#[test]
fn text_columns_are_written_as_polars_writes_them() {
    let frame = |n: usize, seed: u64| {
        let pool = |share: f64| {
            move |r: u64, _: usize| {
                let size = ((n as f64) * share).max(1.0) as u64;
                Some(format!("v{}", r % size))
            }
        };
        DataFrame::new(
            n,
            vec![
                // Sorted unit codes, runs of about 80 rows.
                text_column("unit_code", n, seed, |_, i| {
                    Some(format!("{:05}", 5000 + i / 80))
                }),
                text_column("period", n, seed + 1, |_, _| Some("2024Q3".into())),
                text_column("channel", n, seed + 2, |r, _| {
                    Some(["paper", "online", "phone"][(r % 3) as usize].into())
                }),
                // Values longer than a view holds, in runs and then again.
                text_column("source_file", n, seed + 3, |_, i| {
                    Some(format!(
                        "dữ liệu/đơn vị {}/phiếu khảo sát.csv",
                        (i / 5000) % 7
                    ))
                }),
                text_column("district", n, seed + 4, |r, i| {
                    (r % 11 != 0).then(|| ["Đại Từ", "Phú Lương", "Võ Nhai"][(i / 300) % 3].into())
                }),
                text_column("response_id", n, seed + 5, |_, i| {
                    Some(format!("R{seed}-{i:09}"))
                }),
                text_column("submitted_at", n, seed + 6, |r, _| {
                    (r % 50 != 0).then(|| format!("2024-07-{:02}T{:05}", 1 + r % 28, r % 86_400))
                }),
                // Distinct values drawn from pools around the threshold.
                text_column("pool_60", n, seed + 7, pool(0.6)),
                text_column("pool_150", n, seed + 8, pool(1.5)),
                text_column("pool_300", n, seed + 9, pool(3.0)),
                // Many values in no order (the hash map, not the cache).
                text_column("scattered", n, seed + 10, |r, _| {
                    Some(format!("x{}", r % 5_000))
                }),
                // The first rows repeat, then every row is new.
                text_column("late_ids", n, seed + 11, |_, i| {
                    Some(if i < 1_000 {
                        "same".into()
                    } else {
                        format!("id{i}")
                    })
                }),
                // The empty value beside nulls (polars hashes a null as it).
                text_column("empty", n, seed + 12, |r, _| match r % 4 {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some("x".into()),
                }),
                text_column("never", n, seed + 13, |_, _| None),
            ],
        )
        .unwrap()
    };
    let mut chunked = frame(300_001, 1);
    for (k, n) in [9, 128, 129, 262_141, 1, 45, 700, 20_000]
        .into_iter()
        .enumerate()
    {
        chunked.vstack_mut(&frame(n, 2 + k as u64)).unwrap();
    }
    assert_written_as_polars_writes_it(&chunked);
}

/// Frames stacked in order, none gives none, and frames of other columns
/// are an error.
#[test]
fn frames_stack_in_order() {
    assert!(crate::stack(Vec::new()).unwrap().is_none());
    let f = |v: &[i64]| DataFrame::new(v.len(), vec![Column::new("x".into(), v.to_vec())]).unwrap();
    let s = crate::stack([f(&[1, 2]), f(&[]), f(&[3])])
        .unwrap()
        .unwrap();
    let got: Vec<Option<i64>> = s.column("x").unwrap().i64().unwrap().iter().collect();
    assert_eq!(got, [Some(1), Some(2), Some(3)]);
    let other = DataFrame::new(1, vec![Column::new("y".into(), vec![1i64])]).unwrap();
    assert!(crate::stack([f(&[1]), other]).is_err());
}

/// `chunked` (several chunks) and its one-chunk copy are written byte for
/// byte as polars' writer writes them: by [`ParquetOut`], one row group per
/// chunk (and read back equal), and by [`write_frame`], cut as polars cuts a
/// whole frame.
fn assert_written_as_polars_writes_it(chunked: &DataFrame) {
    let mut whole = chunked.clone();
    whole.rechunk_mut_par();
    for df in [chunked, &whole] {
        let mut ours = Vec::new();
        let mut w = ParquetOut::new(&mut ours, df.schema(), |_| false).unwrap();
        w.write_batch(df).unwrap();
        w.finish().unwrap();
        let mut theirs = Vec::new();
        let mut pw = ParquetWriter::new(&mut theirs)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(df.schema())
            .unwrap();
        pw.write_batch(df).unwrap();
        pw.finish().unwrap();
        assert!(
            ours == theirs,
            "{} bytes against {}",
            ours.len(),
            theirs.len()
        );
        let back = ParquetReader::new(std::io::Cursor::new(&ours))
            .finish()
            .unwrap();
        assert!(back.equals_missing(df));
        let mut ours = Vec::new();
        write_frame(&mut ours, &mut df.clone()).unwrap();
        let mut theirs = Vec::new();
        ParquetWriter::new(&mut theirs)
            .finish(&mut df.clone())
            .unwrap();
        assert!(
            ours == theirs,
            "{} bytes against {}",
            ours.len(),
            theirs.len()
        );
    }
}

/// Checks that `ours` are the pages polars' `array_to_columns` makes of `array` (a flat column
/// of Parquet type `t`) with `options` and `encoding`: page by page, the same kind, bytes,
/// header and rows (`context` names the case in a failure).
pub(crate) fn assert_pages_as_polars(
    ours: &[polars_parquet::parquet::page::Page],
    array: Box<dyn polars_arrow::array::Array>,
    t: &polars_parquet::write::ParquetType,
    options: polars_parquet::write::WriteOptions,
    encoding: polars_parquet::write::Encoding,
    context: &str,
) {
    use polars_parquet::parquet::page::Page;
    let theirs: Vec<Page> =
        polars_parquet::write::array_to_columns(array, t.clone(), options, &[encoding])
            .unwrap()
            .remove(0)
            .map(Result::unwrap)
            .collect();
    assert_eq!(ours.len(), theirs.len(), "{context}");
    for (a, b) in ours.iter().zip(&theirs) {
        match (a, b) {
            (Page::Dict(a), Page::Dict(b)) => {
                assert_eq!(
                    (&*a.buffer, a.num_values),
                    (&*b.buffer, b.num_values),
                    "{context}"
                );
            }
            (Page::Data(a), Page::Data(b)) => {
                assert_eq!(a.buffer(), b.buffer(), "{context}");
                assert_eq!(
                    format!("{:?}", a.header()),
                    format!("{:?}", b.header()),
                    "{context}"
                );
                assert_eq!(a.num_rows(), b.num_rows(), "{context}");
            }
            _ => panic!("page kinds differ ({context})"),
        }
    }
}

/// A frame in one chunk is cut into the row groups `frame_row_groups` gives, whatever its
/// height (below, at and around multiples of the row group): polars' own cut. Written a row
/// group at a time from them, the file is the whole frame's, byte for byte.
#[test]
fn a_frame_written_a_row_group_at_a_time_is_the_whole_frames_file() {
    let rg = FRAME_ROW_GROUP;
    for height in [
        0,
        1,
        rg - 1,
        rg,
        rg + 1,
        2 * rg - 1,
        2 * rg,
        2 * rg + 1,
        3 * rg + rg / 2,
        5 * rg - 3,
        7 * rg + 11,
    ] {
        let mut df = df!("x" => vec![0i8; height]).unwrap();
        let cut = polars::frame::chunk_df_for_writing(&mut df, rg).unwrap();
        let theirs: Vec<usize> = cut
            .column("x")
            .unwrap()
            .as_materialized_series()
            .chunk_lengths()
            .filter(|&n| n > 0)
            .collect();
        let ours: Vec<usize> = frame_row_groups(height)
            .iter()
            .map(ExactSizeIterator::len)
            .collect();
        assert_eq!(ours, theirs, "{height} rows");
        let groups = frame_row_groups(height);
        assert_eq!(groups.first().map_or(0, |r| r.start), 0);
        assert_eq!(groups.last().map_or(0, |r| r.end), height);
        assert!(groups.windows(2).all(|w| w[0].end == w[1].start));
    }
    let n = 2 * rg + 12_345;
    let mut df = df!(
        "code" => (0..n).map(|i| (i % 97 != 5).then(|| format!("{:05}", i % 173))).collect::<Vec<_>>(),
        "value" => (0..n).map(|i| (i % 11 != 0).then_some(i as f64 / 7.0)).collect::<Vec<_>>(),
        "count" => (0..n).map(|i| (i as i64) * 37 % 1000).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut whole = Vec::new();
    write_frame(&mut whole, &mut df).unwrap();
    let mut by_group = Vec::new();
    let mut w = ParquetOut::new(&mut by_group, df.schema(), |_| false).unwrap();
    for r in frame_row_groups(n) {
        let part = df.slice(r.start as i64, r.len());
        w.write_batch(&part).unwrap();
    }
    w.finish().unwrap();
    assert!(
        whole == by_group,
        "{} bytes against {}",
        by_group.len(),
        whole.len()
    );
}
