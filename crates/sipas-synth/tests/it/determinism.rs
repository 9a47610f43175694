//! Same seed ⇒ same bytes, whatever the threads or chunking; layout and
//! allocation of responses to cells.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use sipas_synth::{Error, Model, SynthConfig, WriteOptions, write_responses, write_responses_with};

use crate::{sipas2023, small_config};

fn csv_bytes(cfg: &SynthConfig, dir: &Path, name: &str, chunk_rows: usize) -> Vec<u8> {
    let model = Model::new(cfg, &sipas2023()).unwrap();
    let path = dir.join(name);
    let s = write_responses_with(&model, &path, &WriteOptions { chunk_rows }).unwrap();
    assert_eq!(s.rows, cfg.responses);
    std::fs::read(&path).unwrap()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn bytes_depend_only_on_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(7, 1003);
    let a = csv_bytes(&cfg, dir.path(), "a.csv", 97);
    let b = csv_bytes(&cfg, dir.path(), "b.csv", 97);
    assert_eq!(a, b);
    let one = in_pool(1, || csv_bytes(&cfg, dir.path(), "one.csv", 97));
    let two = in_pool(2, || csv_bytes(&cfg, dir.path(), "two.csv", 97));
    assert_eq!(a, one);
    assert_eq!(a, two);
    // Chunking does not matter either.
    let big = csv_bytes(&cfg, dir.path(), "big.csv", 1 << 17);
    assert_eq!(a, big);
    // Another seed gives other answers (same ids and layout).
    let other = csv_bytes(&small_config(8, 1003), dir.path(), "c.csv", 97);
    assert_ne!(a, other);
    let lines = |b: &[u8]| b.split(|&c| c == b'\n').count() - 1;
    assert_eq!(lines(&a), 1004);
    assert_eq!(lines(&other), 1004);
    // Nothing but the output is left in the directory (the temp file was persisted).
    let names: HashSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 6);
}

#[test]
fn rows_are_spread_evenly_over_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(11, 1003);
    let text = String::from_utf8(csv_bytes(&cfg, dir.path(), "r.csv", 64)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let ids = sipas2023().item_ids().join(",");
    assert_eq!(
        header,
        format!("response_id,unit_code,period,submitted_at,channel,weight,{ids}")
    );
    let mut seen = HashSet::new();
    let mut per_cell: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut n = 0;
    for line in lines {
        n += 1;
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6 + 33);
        assert!(seen.insert(f[0].to_string()), "duplicate id {}", f[0]);
        assert!(f[0].starts_with(&format!("{}-{}-", f[1], f[2])));
        assert_eq!(f[0].rsplit('-').next().unwrap().len(), 6);
        // The date lies inside the quarter.
        let (y, m) = (&f[3][..4], f[3][5..7].parse::<u32>().unwrap());
        let q: u32 = f[2][5..].parse().unwrap();
        assert_eq!(y, &f[2][..4]);
        assert_eq!((m - 1) / 3 + 1, q, "{} in {}", f[3], f[2]);
        assert_eq!(f[4], "survey");
        assert_eq!(f[5], "1");
        for a in &f[6..] {
            assert!(
                a.is_empty() || matches!(*a, "1" | "2" | "3" | "4" | "5"),
                "{a}"
            );
        }
        *per_cell
            .entry((f[1].to_string(), f[2].to_string()))
            .or_default() += 1;
    }
    assert_eq!(n, 1003);
    // 1003 = 20 · 50 + 3: the first 3 cells in (unit, period) order get 51.
    assert_eq!(per_cell.len(), 20);
    let counts: Vec<u64> = per_cell.values().copied().collect();
    assert_eq!(&counts[..3], &[51, 51, 51]);
    assert!(counts[3..].iter().all(|&c| c == 50));
    assert_eq!(
        per_cell.keys().next().unwrap(),
        &("05431".to_string(), "2023Q3".to_string())
    );
    assert!(seen.contains("05431-2023Q3-000051"));
    assert!(seen.contains("05431-2024Q1-000051"));
    assert!(!seen.contains("05431-2024Q2-000051"));
    assert!(seen.contains("05431-2024Q2-000050"));
}

#[test]
fn fewer_responses_than_cells_and_zero_responses() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(csv_bytes(&small_config(1, 3), dir.path(), "x.csv", 2)).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "05431-2023Q3-000001",
            "05431-2023Q4-000001",
            "05431-2024Q1-000001"
        ]
    );
    let empty = csv_bytes(&small_config(1, 0), dir.path(), "e.csv", 2);
    assert_eq!(String::from_utf8(empty).unwrap().lines().count(), 1);
}

#[test]
fn rejects_bad_paths_and_configurations() {
    let model = Model::new(&small_config(1, 5), &sipas2023()).unwrap();
    let err = write_responses(&model, Path::new("out.txt")).unwrap_err();
    assert!(matches!(err, Error::UnknownFormat { .. }), "{err}");
    let bad = SynthConfig {
        thresholds: vec![-1.0, -2.0, 0.0, 1.0],
        ..small_config(1, 5)
    };
    assert!(matches!(
        Model::new(&bad, &sipas2023()),
        Err(Error::Config(_))
    ));
    let bad = SynthConfig {
        thresholds: vec![-1.0, 0.0, 1.0],
        ..small_config(1, 5)
    };
    assert!(matches!(
        Model::new(&bad, &sipas2023()),
        Err(Error::Config(_))
    ));
    let bad = SynthConfig {
        missing_rate: 1.0,
        ..small_config(1, 5)
    };
    assert!(matches!(
        Model::new(&bad, &sipas2023()),
        Err(Error::Config(_))
    ));
    let mut bad = small_config(1, 5);
    bad.units.push("05500".into());
    let err = Model::new(&bad, &sipas2023()).unwrap_err();
    assert!(err.to_string().contains("05500"), "{err}");
    let bad = SynthConfig {
        periods: vec!["2024Q1".parse().unwrap(), "2024-05".parse().unwrap()],
        ..small_config(1, 5)
    };
    assert!(matches!(
        Model::new(&bad, &sipas2023()),
        Err(Error::Config(_))
    ));
}
