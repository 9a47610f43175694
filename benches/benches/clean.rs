//! `clean`: unit matching, duplicates, careless-response flags and the
//! audit files, from the ingested table.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("clean");
    g.sample_size(10);
    for rows in sipas_bench::SIZES {
        let dir = tempfile::tempdir().expect("temp dir");
        let ingest = sipas_bench::ingested(dir.path(), rows);
        let out = dir.path().join("clean");
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("{rows}"), |b| {
            b.iter(|| sipas_bench::clean_into(&ingest, &out));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
