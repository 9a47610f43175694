//! `ingest`: reading, validating and writing the canonical table, from CSV
//! and from Parquet.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    for ext in ["csv", "parquet"] {
        for rows in sipas_bench::SIZES {
            let dir = tempfile::tempdir().expect("temp dir");
            let input = sipas_bench::write_input(dir.path(), rows, ext);
            let out = dir.path().join("ingest");
            g.throughput(Throughput::Elements(rows));
            g.bench_function(format!("{ext}/{rows}"), |b| {
                b.iter(|| sipas_bench::ingest_into(&input, &out));
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
