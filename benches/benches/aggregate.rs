//! `aggregate`: point estimates and linearized SEs of every cell, pooled
//! group and the DiD, from the in-memory table; and `read_responses`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipas_aggregate::{AggregateOptions, aggregate, read_responses};

fn bench(c: &mut Criterion) {
    let opts = AggregateOptions::bundled();
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(10);
    for rows in sipas_bench::SIZES {
        let responses = sipas_bench::responses(rows);
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("estimates+se/{rows}"), |b| {
            b.iter(|| aggregate(black_box(&responses), &opts).expect("aggregate"));
        });
    }
    for rows in sipas_bench::SIZES {
        let dir = tempfile::tempdir().expect("temp dir");
        let ingest = sipas_bench::ingested(dir.path(), rows);
        let path = ingest.join("responses.parquet");
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("read_responses/{rows}"), |b| {
            b.iter(|| read_responses(black_box(&path), None).expect("read"));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
