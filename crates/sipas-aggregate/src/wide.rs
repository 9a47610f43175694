//! The lane loops compiled for the vector instructions of the CPU that runs them.
//!
//! The bootstraps' replicates ([`crate::lanes`]) and the Gram pass's domains
//! ([`crate::design`]) are summed side by side in lanes (`[f64; 8]`, `[f64; 4]`),
//! each lane its own chain of additions. Built for the baseline x86-64, such a loop is
//! vectorised two lanes an instruction (SSE2), and a count of bits takes a dozen
//! instructions (no POPCNT). [`wide`] runs it as code compiled for AVX2 (x86-64-v3:
//! AVX2, POPCNT) when the CPU has them, detected at run time by `pulp`: the binary still
//! runs on any x86-64. AVX-512 was measured too and was slower on the machine of
//! `benches/README.md` (its bootstrap phase 2.6 s against 1.8 s with AVX2), so it is not
//! used.
//!
//! The numbers do not change: every lane still adds its own terms in the same order,
//! and a product and a sum stay two roundings (Rust never fuses them into one
//! multiply-add unless asked to), whatever the width of the instructions. The tests of
//! the lane loops compare with one replicate at a time bit for bit, and the results
//! are byte-identical with and without the wide instructions.

/// `f` compiled for AVX2 when the CPU has it (x86-64), as is otherwise.
///
/// Only code inlined into the dispatching function is compiled so: `f` must be a closure
/// marked `#[inline(always)]` (the compiler may keep an unmarked closure's body out of line,
/// compiled for the baseline), and so must the functions its loops call.
#[allow(clippy::inline_always)] // inlined into the wide code (`crate::wide`)
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = pulp::x86::V3::try_new() {
        return v3.vectorize(f);
    }
    f()
}

#[cfg(test)]
mod tests {
    use super::wide;

    #[allow(clippy::inline_always)] // as the kernels run through `wide`
    #[inline(always)]
    fn lanes(m: &[f64], v: &[[f64; 8]]) -> [f64; 8] {
        let mut acc = [0.0f64; 8];
        for (x, w) in m.iter().zip(v) {
            for l in 0..8 {
                acc[l] += x * w[l];
            }
        }
        acc
    }

    /// A lane loop gives the same bits in the wide code as in the baseline code, and
    /// each lane is its own sum in order.
    #[test]
    fn the_wide_code_adds_each_lane_in_the_same_order() {
        let m: Vec<f64> = (0..997)
            .map(|x| (f64::from(x) * 0.37).sin() * 1e3)
            .collect();
        let v: Vec<[f64; 8]> = (0..997)
            .map(|i| std::array::from_fn(|l| (f64::from(i) * 0.11 + l as f64).cos()))
            .collect();
        let plain = lanes(&m, &v);
        let wided = wide(
            #[inline(always)]
            || lanes(&m, &v),
        );
        assert_eq!(plain.map(f64::to_bits), wided.map(f64::to_bits));
        for l in 0..8 {
            let one = m.iter().zip(&v).fold(0.0, |a, (x, w)| a + x * w[l]);
            assert_eq!(one.to_bits(), plain[l].to_bits());
        }
    }
}
