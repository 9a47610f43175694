//! `aggregate`: point estimates only (`point_estimates`), and point
//! estimates with linearized SEs of every cell, pooled group and the DiD
//! (`aggregate`), from the in-memory table; the design-based estimates with
//! a 100-replicate Rao–Wu bootstrap (`estimate_domains`); and
//! `read_responses`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipas_aggregate::{
    AggregateOptions, DesignSpec, VarianceMethod, aggregate, estimate_domains, point_estimates,
    read_responses,
};

fn bench(c: &mut Criterion) {
    let opts = AggregateOptions::bundled();
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(10);
    for rows in sipas_bench::SIZES {
        let responses = sipas_bench::responses(rows);
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("point-estimates/{rows}"), |b| {
            b.iter(|| point_estimates(black_box(&responses), &opts).expect("point estimates"));
        });
        g.bench_function(format!("estimates+se/{rows}"), |b| {
            b.iter(|| aggregate(black_box(&responses), &opts).expect("aggregate"));
        });
        g.bench_function(format!("bootstrap-100/{rows}"), |b| {
            let spec = DesignSpec {
                variance: VarianceMethod::Bootstrap,
                replicates: 100,
                ..DesignSpec::default()
            };
            b.iter(|| estimate_domains(black_box(&responses), &opts, &spec).expect("bootstrap"));
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
