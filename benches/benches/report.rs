//! `report`: PNG charts and index.html from the results tables. The tables
//! have one row per unit × period whatever the number of responses, so the
//! cost should not grow with `rows`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let pilots = sipas_core::bundled::pilots();
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    for rows in sipas_bench::SIZES {
        let dir = tempfile::tempdir().expect("temp dir");
        let results = sipas_bench::results(dir.path(), rows);
        let out = dir.path().join("report");
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("{rows}"), |b| {
            b.iter(|| sipas_report::write_report(&results, &pilots, &out).expect("report"));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
