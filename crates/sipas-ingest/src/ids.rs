//! The set of accepted response ids, in bounded memory: each id is kept as a
//! 128-bit hash ([`IdKey`]), not as text.
//!
//! Two ids are taken to be equal when their keys are. Two different ids get
//! the same key with probability 2^-128 (two SipHash-2-4 values under fixed,
//! independent keys), so among `n` ids the chance that any two collide is at
//! most n²/2^129: about 1.5·10^-23 for n = 10^8. A collision cannot go
//! unnoticed: the duplicate's quarantine detail names the first occurrence,
//! which is looked up by its text in the written table, and a lookup that
//! finds nothing is an error ([`crate::Error::IdCollision`]).
//!
//! Memory: 17 bytes per slot (16-byte key + 1 control byte) at a load of
//! 7/16 to 7/8, about 2.3 GB for 10^8 ids. The set is split in 256 shards by
//! the first key's top byte so that growing it never copies more than one
//! shard at a time.

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

/// The accepted ids (see the module docs).
#[derive(Debug)]
pub(crate) struct IdSet {
    shards: Vec<HashSet<IdKey, PassThrough>>,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet {
            shards: (0..256)
                .map(|_| HashSet::with_hasher(PassThrough(0)))
                .collect(),
        }
    }
}

impl IdSet {
    fn shard(k: IdKey) -> usize {
        (k.0 >> 56) as usize
    }

    pub(crate) fn contains(&self, k: IdKey) -> bool {
        self.shards[Self::shard(k)].contains(&k)
    }

    /// Adds `k`; `false` if it was there already.
    pub(crate) fn insert(&mut self, k: IdKey) -> bool {
        let s = Self::shard(k);
        self.shards[s].insert(k)
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
        let mut set = IdSet::default();
        let n = 200_000;
        for i in 0..n {
            assert!(set.insert(id_key(&format!("id-{i}"))));
        }
        for i in 0..n {
            assert!(set.contains(id_key(&format!("id-{i}"))));
            assert!(!set.insert(id_key(&format!("id-{i}"))));
            assert!(!set.contains(id_key(&format!("other-{i}"))));
        }
        let total: usize = set.shards.iter().map(HashSet::len).sum();
        assert_eq!(total, n);
    }
}
