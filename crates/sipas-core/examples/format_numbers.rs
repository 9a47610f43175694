//! Times the six-decimal formatting of the result tables (`results::push_num_bytes`) alone:
//! 2 M numbers shaped like the columns of `estimates.csv` (indices 0–100, standard errors,
//! bounds, design effects, effective sizes), written 30 times.
//!
//! `cargo run --release -p sipas-core --example format_numbers`

use sipas_core::results::push_num_bytes;

fn main() {
    // xorshift64: the same numbers on every run.
    let mut x = 88_172_645_463_325_252u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        #[allow(clippy::cast_precision_loss)] // 53 bits
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        u
    };
    let values: Vec<Option<f64>> = (0..2_000_000)
        .map(|i| {
            let u = next();
            Some(match i % 7 {
                0 => u * 100.0,
                1 => u * 5.0,
                2 => u * 100.0 - 3.0,
                3 => u * 100.0 + 1.0,
                4 => 1.0 + u,
                5 => u * 3000.0,
                _ => u * 0.2,
            })
        })
        .collect();
    let rounds = 30;
    let mut out = Vec::with_capacity(40_000_000);
    let mut bytes = 0;
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        out.clear();
        for &v in &values {
            push_num_bytes(&mut out, v);
            out.push(b',');
        }
        bytes += out.len();
    }
    let s = t.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let per = s * 1e9 / (rounds * values.len()) as f64;
    println!("{s:.3} s, {bytes} bytes, {per:.1} ns a number");
}
