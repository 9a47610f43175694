//! `generate`: drawing synthetic responses (frame) and writing them as Parquet.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    for rows in sipas_bench::SIZES {
        let model = sipas_bench::model(rows);
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("frame/{rows}"), |b| {
            b.iter(|| sipas_synth::generate_chunk(black_box(&model), 0..rows).expect("draw"));
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("responses.parquet");
        g.bench_function(format!("parquet/{rows}"), |b| {
            b.iter(|| sipas_synth::write_responses(black_box(&model), &path).expect("write"));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
