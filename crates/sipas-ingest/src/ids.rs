//! The set of accepted response ids, in bounded memory: an id is kept as a
//! hash, never as text.
//!
//! Every id gets a 128-bit key ([`IdKey`]: two SipHash-2-4 values under
//! fixed, independent keys). The set ([`IdSet::narrow`]) keeps only the first
//! 64 bits of each accepted id's key, in one open-addressing table (linear
//! probing) sized before the first row is read from an upper bound `n` on the
//! rows of the inputs (the lines of a text file, the rows of a Parquet file,
//! the records of a JSON or Excel source): `⌈5n/4⌉ + 64` slots of 8 bytes,
//! so **10 bytes per input row**, whatever the ids look like (1.0 GB for
//! 10^8 rows; the table is filled to at most 4/5 and only grows, by
//! doubling, if the bound was wrong). The table is dropped before the
//! table is sorted and written.
//!
//! A 64-bit hash can be shared by two different ids: among `n` accepted ids
//! with probability at most n²/2^65 (2.7·10^-4 for n = 10^8, 2.7·10^-6 for
//! 10^7). Such a pair is always found on a second look: a row taken for a
//! duplicate is looked up by its text among the accepted rows when the table
//! is written (its quarantine detail names the first occurrence), and a
//! lookup that finds nothing means the hash, not the id, was repeated. The
//! run is then done again with the full 128-bit keys ([`IdSet::wide`], a
//! hash set of 16-byte keys: about 40 bytes per id), whose collisions have
//! probability n²/2^129 (1.5·10^-23 for 10^8) and stop the run with
//! [`crate::Error::IdCollision`]. So the outputs are exact; only the time of
//! such a rare run doubles.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};

/// The 128-bit hash of a response id (NFC text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdKey(u64, u64);

impl Hash for IdKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The second half is already uniform: the set uses it as is.
        state.write_u64(self.1);
    }
}

/// Fixed SipHash keys (arbitrary constants, never to change: they make the
/// keys the same in every run and thread).
const K1: (u64, u64) = (0x736f_6d65_7073_6575, 0x646f_7261_6e64_6f6d);
const K2: (u64, u64) = (0x6c79_6765_6e65_7261, 0x7465_6462_7974_6573);

/// The key of an id.
#[allow(deprecated)] // SipHasher (2-4) is the only keyed hash in std.
pub(crate) fn id_key(id: &str) -> IdKey {
    let h = |(k0, k1): (u64, u64)| {
        let mut s = std::hash::SipHasher::new_with_keys(k0, k1);
        s.write(id.as_bytes());
        s.finish()
    };
    IdKey(h(K1), h(K2))
}

/// A hasher that passes a `u64` through (the keys are hashes already).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `IdKey`; FNV-1a keeps the hasher correct for any input.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl BuildHasher for PassThrough {
    type Hasher = PassThrough;

    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}

#[cfg(test)]
thread_local! {
    /// Tests keep only these bits of a fingerprint, to make the 64-bit
    /// hashes of different ids collide.
    pub(crate) static FINGERPRINT_MASK: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// The 64-bit fingerprint of a key, never 0 (0 marks an empty slot).
fn fingerprint(k: IdKey) -> u64 {
    #[cfg(test)]
    let f = k.0 & FINGERPRINT_MASK.with(std::cell::Cell::get);
    #[cfg(not(test))]
    let f = k.0;
    f.max(1)
}

/// The accepted ids (see the module docs).
#[derive(Debug)]
pub(crate) enum IdSet {
    /// 64-bit fingerprints in one open-addressing table (0 = empty).
    Narrow { slots: Vec<u64>, len: usize },
    /// Full keys, in 256 shards by the first key's top byte (growing never
    /// copies more than one shard at a time).
    Wide(Vec<HashSet<IdKey, PassThrough>>),
}

impl IdSet {
    /// 64-bit fingerprints for up to `rows` ids (more are taken, by growing).
    pub(crate) fn narrow(rows: usize) -> Self {
        IdSet::Narrow {
            slots: vec![0; rows.saturating_add(rows.div_ceil(4)).saturating_add(64)],
            len: 0,
        }
    }

    /// Full 128-bit keys.
    pub(crate) fn wide() -> Self {
        IdSet::Wide(
            (0..256)
                .map(|_| HashSet::with_hasher(PassThrough(0)))
                .collect(),
        )
    }

    /// Bytes the set holds on the heap (its table; for full keys, their
    /// hash sets' capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IdSet::Narrow { slots, .. } => std::mem::size_of_val(slots.as_slice()),
            IdSet::Wide(shards) => shards
                .iter()
                .map(|s| s.capacity() * (std::mem::size_of::<IdKey>() + 1))
                .sum(),
        }
    }

    /// The first slot `f` is looked for in. The fingerprint is uniform: its
    /// product with the table size, shifted, is a uniform slot (Lemire's
    /// reduction).
    fn home(slots: &[u64], f: u64) -> usize {
        ((u128::from(f) * slots.len() as u128) >> 64) as usize
    }

    /// The slot of `f` or the empty slot where it would go.
    fn probe(slots: &[u64], f: u64) -> usize {
        let mut i = Self::home(slots, f);
        loop {
            let s = slots[i];
            if s == f || s == 0 {
                return i;
            }
            i += 1;
            if i == slots.len() {
                i = 0;
            }
        }
    }

    /// Reads the first slot of each of `keys` (the narrow table), so that
    /// their cache lines are loaded together, many at a time, before the
    /// keys are looked up one after the other: the table is far larger
    /// than the caches, and each lookup alone waits for its line.
    pub(crate) fn warm(&self, keys: &[IdKey]) {
        if let IdSet::Narrow { slots, .. } = self {
            let mut any = 0u64;
            for &k in keys {
                any ^= slots[Self::home(slots, fingerprint(k))];
            }
            std::hint::black_box(any);
        }
    }

    pub(crate) fn contains(&self, k: IdKey) -> bool {
        match self {
            IdSet::Narrow { slots, .. } => {
                let f = fingerprint(k);
                slots[Self::probe(slots, f)] == f
            }
            IdSet::Wide(shards) => shards[(k.0 >> 56) as usize].contains(&k),
        }
    }

    /// Adds `k`; `false` if it was there already.
    pub(crate) fn insert(&mut self, k: IdKey) -> bool {
        match self {
            IdSet::Narrow { slots, len } => {
                let f = fingerprint(k);
                let i = Self::probe(slots, f);
                if slots[i] == f {
                    return false;
                }
                slots[i] = f;
                *len += 1;
                if *len > slots.len() / 5 * 4 {
                    // More ids than the bound: double (not expected).
                    let mut grown = vec![0; slots.len() * 2];
                    for &f in slots.iter().filter(|&&f| f != 0) {
                        let j = Self::probe(&grown, f);
                        grown[j] = f;
                    }
                    *slots = grown;
                }
                true
            }
            IdSet::Wide(shards) => shards[(k.0 >> 56) as usize].insert(k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_and_distinguish_ids() {
        // Fixed across runs: the key of a given id never changes.
        assert_eq!(id_key("R1"), id_key("R1"));
        assert_ne!(id_key("R1"), id_key("R2"));
        assert_ne!(id_key("R1").0, id_key("R1").1);
        let n = 200_000;
        // A bound too small makes the narrow table grow.
        for mut set in [IdSet::narrow(n), IdSet::narrow(1000), IdSet::wide()] {
            for i in 0..n {
                assert!(set.insert(id_key(&format!("id-{i}"))));
            }
            for i in 0..n {
                assert!(set.contains(id_key(&format!("id-{i}"))));
                assert!(!set.insert(id_key(&format!("id-{i}"))));
                assert!(!set.contains(id_key(&format!("other-{i}"))));
            }
            match &set {
                IdSet::Narrow { slots, len } => {
                    assert_eq!(*len, n);
                    assert_eq!(slots.iter().filter(|&&f| f != 0).count(), n);
                    assert!(slots.len() * 4 >= n * 5);
                }
                IdSet::Wide(shards) => {
                    assert_eq!(shards.iter().map(HashSet::len).sum::<usize>(), n);
                }
            }
        }
    }

    #[test]
    fn the_narrow_table_holds_ten_bytes_per_row_of_the_bound() {
        let IdSet::Narrow { slots, .. } = IdSet::narrow(100_000_000) else {
            unreachable!()
        };
        // 125,000,064 slots of 8 bytes: 10.0 bytes per row.
        assert_eq!(slots.len(), 125_000_064);
        assert_eq!(IdSet::narrow(100).heap_bytes(), (125 + 64) * 8);
    }

    #[test]
    fn shared_fingerprints_are_taken_for_one_id_by_the_narrow_set_only() {
        FINGERPRINT_MASK.with(|m| m.set(0xF));
        let (a, b) = (0..10_000)
            .map(|i| (id_key("R0"), id_key(&format!("R{i}"))))
            .find(|(a, b)| a != b && fingerprint(*a) == fingerprint(*b))
            .unwrap();
        let mut narrow = IdSet::narrow(10);
        assert!(narrow.insert(a));
        assert!(narrow.contains(b));
        let mut wide = IdSet::wide();
        assert!(wide.insert(a));
        assert!(!wide.contains(b));
        FINGERPRINT_MASK.with(|m| m.set(u64::MAX));
    }
}
