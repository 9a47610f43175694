//! Dictionary encoding of the text columns (unit, period, channel, design).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Hashes the 16-byte keys of short strings (multiply and fold).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, v: u128) {
        let (lo, hi) = (v as u64, (v >> 64) as u64);
        let m = u128::from(lo ^ 0x9E37_79B9_7F4A_7C15) * u128::from(hi ^ 0xD1B5_4A32_D192_ED03);
        self.0 ^= (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The key of a string of at most 12 bytes: its length and bytes.
pub(super) fn short_key(bytes: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&u32::try_from(bytes.len()).expect("short").to_le_bytes());
    b[4..4 + bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(b)
}

/// A dictionary of distinct text values (first-seen order).
#[derive(Debug, Default)]
pub(super) struct Dict {
    pub(super) values: Vec<String>,
    pub(super) lookup: HashMap<String, u32>,
    /// Values of at most 12 bytes by [`short_key`].
    pub(super) short: HashMap<u128, u32, BuildHasherDefault<KeyHasher>>,
}

impl Dict {
    pub(super) fn constant(value: &str) -> Self {
        let mut d = Dict::default();
        d.id(value);
        d
    }

    /// The index of `v`, added when new.
    pub(super) fn id(&mut self, v: &str) -> u32 {
        if let Some(&i) = self.lookup.get(v) {
            return i;
        }
        let i = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(v.to_string());
        self.lookup.insert(v.to_string(), i);
        if v.len() <= 12 {
            self.short.insert(short_key(v.as_bytes()), i);
        }
        i
    }

    /// Encodes a string column into `out` (one index per row); `Err(i)` for
    /// the first null (or, unless `allow_empty`, empty) value at index `i`.
    /// Compares the 16-byte views, not the strings: a view equal to the
    /// previous row's is the same value, and a short value (≤ 12 bytes, held
    /// in its view) is looked up by its bytes without touching the string
    /// buffers.
    pub(super) fn encode(
        &mut self,
        ca: &StringChunked,
        allow_empty: bool,
        out: &mut [u32],
    ) -> std::result::Result<(), usize> {
        if ca.null_count() > 0 {
            return Err(ca.iter().position(|v| v.is_none()).expect("a null"));
        }
        let mut base = 0;
        for arr in ca.downcast_iter() {
            // (raw view, index) of the previous row of this array.
            let mut prev: Option<(u128, u32)> = None;
            let out = &mut out[base..base + arr.len()];
            for (i, (view, o)) in arr.views().iter().zip(out).enumerate() {
                if !allow_empty && view.length == 0 {
                    return Err(base + i);
                }
                let raw = view.as_u128();
                *o = match prev {
                    Some((p, id)) if p == raw => id,
                    _ => {
                        let id = match view.get_inlined_slice() {
                            Some(bytes) => match self.short.get(&short_key(bytes)) {
                                Some(&id) => id,
                                None => self.id(arr.value(i)),
                            },
                            None => self.id(arr.value(i)),
                        };
                        prev = Some((raw, id));
                        id
                    }
                };
            }
            base += arr.len();
        }
        Ok(())
    }
}

/// A dictionary and, per row, an index into it.
#[derive(Debug, Default)]
pub(super) struct Coded {
    pub(super) dict: Dict,
    pub(super) idx: Vec<u32>,
}

impl Coded {
    pub(super) fn push(&mut self, v: &str) {
        // Sorted input repeats values: the previous row is the common hit.
        if let Some(&last) = self.idx.last()
            && self.dict.values[last as usize] == v
        {
            self.idx.push(last);
            return;
        }
        let i = self.dict.id(v);
        self.idx.push(i);
    }

    /// Maps each distinct value to a key, sorts by key (merging equal keys)
    /// and re-indexes the rows.
    pub(super) fn sorted_by<K: Ord + Clone>(
        self,
        key: impl Fn(&String) -> Result<K>,
    ) -> Result<(Vec<K>, Vec<u32>)> {
        let keys = self
            .dict
            .values
            .iter()
            .map(key)
            .collect::<Result<Vec<K>>>()?;
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        let remap: Vec<u32> = keys
            .iter()
            .map(|k| sorted.binary_search(k).expect("key is in the sorted list") as u32)
            .collect();
        let mut idx = self.idx;
        if remap.iter().enumerate().any(|(i, &r)| i as u32 != r) {
            idx.par_iter_mut().for_each(|i| *i = remap[*i as usize]);
        }
        Ok((sorted, idx))
    }
}
