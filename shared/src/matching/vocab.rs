//! The tenant's vocabulary: every word of every company name, interned, with
//! its weight. The index builds it; scoring reads it. It depends on neither,
//! so the two depend on it and not on each other.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a: a fast, deterministic hash for short words. Names come from the
/// tenant's own lists, so there is no one to mount a collision attack.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
}

pub(crate) type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Hash of `s` for the deletion index, where collisions only cost a wasted
/// edit-distance check.
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(s.as_bytes());
    h.finish()
}

/// Hash of `chars` with the characters at `skip` left out, without building
/// the string.
pub(crate) fn fnv_without(chars: &[char], skip: [usize; 2]) -> u64 {
    let mut h = Fnv::default();
    let mut buf = [0u8; 4];
    for (i, c) in chars.iter().enumerate() {
        if i != skip[0] && i != skip[1] {
            h.write(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    h.finish()
}

/// Interned tokens of all company names, with their weights.
pub(crate) struct Vocab {
    pub(super) ids: FnvMap<Box<str>, u32>,
    pub(super) texts: Vec<Box<str>>,
    pub(super) weight: Vec<f32>,
    /// Token ids sorted by text, for "words starting with".
    pub(super) sorted: Vec<u32>,
    /// Whether the word opens company names more often than it ends them:
    /// a place or a proper name ("Springfield", "Hernandez"), rather than a
    /// kind of business ("Realty", "Imaging").
    pub(super) leading: Vec<bool>,
    pub(super) unknown_weight: f32,
    pub(super) rare_weight: f32,
}

impl Vocab {
    pub(crate) fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }

    /// Weight of a token: its IDF squared, which spreads distinctive and
    /// generic words further apart than IDF alone.
    pub(crate) fn weight(&self, id: u32) -> f32 {
        self.weight.get(id as usize).copied().unwrap_or(0.0)
    }

    /// Whether the word is used to open company names rather than end them.
    pub(crate) fn leading(&self, id: u32) -> bool {
        self.leading.get(id as usize).copied().unwrap_or(false)
    }

    /// Weight of a word seen in no company name.
    pub(crate) fn unknown_weight(&self) -> f32 {
        self.unknown_weight
    }

    /// Weight of a distinctive word seen in exactly one company name.
    pub(crate) fn rare_weight(&self) -> f32 {
        self.rare_weight
    }

    pub(crate) fn get(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// Ids of the tokens that start with `prefix` (and are longer).
    pub(crate) fn starting_with(&self, prefix: &str) -> &[u32] {
        let lo = self.sorted.partition_point(|&id| self.text(id) < prefix);
        let hi = lo + self.sorted[lo..].partition_point(|&id| self.text(id).starts_with(prefix));
        &self.sorted[lo..hi]
    }
}
