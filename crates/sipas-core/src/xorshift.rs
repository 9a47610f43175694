//! Marsaglia's xorshift64 (shifts 13, 7, 17): the one small deterministic generator of the
//! workspace's property tests (random CSV records, bit matrices, byte texts, numbers near
//! rounding ties), so that each test draws the same inputs on every machine.
//!
//! Not for statistics: the synthetic surveys (`sipas-synth`) and the bootstraps
//! (`sipas-aggregate`) draw from their own generators, whose streams are part of their results.

/// The generator's state (any seed but 0, which stays 0).
#[derive(Debug, Clone)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator seeded with `seed` (not 0).
    pub const fn new(seed: u64) -> Self {
        XorShift64(seed)
    }

    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::XorShift64;

    /// The first numbers of the sequence from 1, worked by hand from the three shifts:
    /// 1 → 1 ^ 1<<13 = 0x2001 → ^ 0x2001>>7 = 0x2001 ^ 0x40 = 0x2041 → ^ 0x2041<<17.
    #[test]
    fn the_sequence_is_marsaglias() {
        let mut g = XorShift64::new(1);
        assert_eq!(g.next_u64(), 0x2041 ^ (0x2041 << 17));
        let mut h = XorShift64::new(0x2041 ^ (0x2041 << 17));
        let mut again = XorShift64::new(1);
        again.next_u64();
        assert_eq!(h.next_u64(), again.next_u64());
        assert_eq!(XorShift64::new(0).next_u64(), 0);
    }
}
