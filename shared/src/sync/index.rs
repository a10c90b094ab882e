//! The device index: what a sync run needs to know about every stored device
//! (its listing hash, whether it is marked removed, whether it waits for an
//! audit, its Datto type) in a few items, so that a run learns what changed
//! without reading every `DEVICE#` item back.
//!
//! One index per shard (see [`crate::store::keys::SHARDS`]), in the shard's
//! own partition: `DEVIDX#{part}` items of at most [`PART_ENTRIES`] entries
//! (about 240 KB, under DynamoDB's 400 KB item limit), one line per device
//! `uid \t hash \t flags \t type`. `SYNC#INDEX` in the integration partition
//! says the index is complete; without it, the run builds the index from a
//! full read of the devices once.
//!
//! Guarantee: the index is written only after the device writes it describes
//! have finished, so it may lag the devices (a crash in between makes the
//! next run read and rewrite those devices once) but never runs ahead of them.

use super::plan::{DeviceRecord, UNKNOWN};
use crate::store::{Item, keys, n, s};
use std::collections::HashMap;

pub const INDEX_SK: &str = "SYNC#INDEX";
pub const PART_PREFIX: &str = "DEVIDX#";
/// Entries per `DEVIDX#` item.
pub const PART_ENTRIES: usize = 4_000;
/// The index layout's version (a different one is rebuilt from the devices).
pub const VERSION: i64 = 1;

/// `flags`: bit 0 removed; bits 1-2: 0 no audit due, 1 due and never audited, 2 due again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub hash: u64,
    pub removed: bool,
    /// 0: no audit due; 1: due, never audited (first in line); 2: due again.
    pub audit: u8,
    pub ty: u16,
}

/// The whole index of an integration, in memory (about 60 bytes a device).
#[derive(Debug)]
pub struct DeviceIndex {
    pub entries: HashMap<String, Entry>,
    types: Vec<(String, String)>,
    type_ids: HashMap<(String, String), u16>,
    dirty: Vec<bool>,
    /// Parts each shard has stored (to delete the ones a smaller shard no longer needs).
    stored_parts: Vec<usize>,
    /// False until the index describes every stored device (`SYNC#INDEX` exists).
    pub complete: bool,
}

pub fn parse_hash(hex: &str) -> u64 {
    u64::from_str_radix(hex, 16).unwrap_or(0)
}

/// A device's (category, type), `(unknown)` for a missing one, as the type counts use it.
pub fn type_key_of(d: &DeviceRecord) -> (String, String) {
    (
        d.category.clone().unwrap_or_else(|| UNKNOWN.into()),
        d.device_type.clone().unwrap_or_else(|| UNKNOWN.into()),
    )
}

impl Default for DeviceIndex {
    /// An empty index, one slot per shard.
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceIndex {
    pub fn new() -> Self {
        Self {
            entries: HashMap::new(),
            types: Vec::new(),
            type_ids: HashMap::new(),
            dirty: vec![false; keys::SHARDS as usize],
            stored_parts: vec![0; keys::SHARDS as usize],
            complete: false,
        }
    }

    fn type_id(&mut self, key: (String, String)) -> u16 {
        if let Some(id) = self.type_ids.get(&key) {
            return *id;
        }
        let id = self.types.len() as u16;
        self.types.push(key.clone());
        self.type_ids.insert(key, id);
        id
    }

    pub fn type_of(&self, e: &Entry) -> Option<&(String, String)> {
        self.types.get(e.ty as usize)
    }

    /// Records what a device item now says (call once it is handed to the writer).
    pub fn set(&mut self, d: &DeviceRecord) {
        let ty = self.type_id(type_key_of(d));
        let audit = if d.needs_audit() {
            if d.audited_audit_date.is_some() { 2 } else { 1 }
        } else {
            0
        };
        let entry = Entry {
            hash: parse_hash(&d.hash),
            removed: d.removed_at.is_some(),
            audit,
            ty,
        };
        if self.entries.get(&d.uid) != Some(&entry) {
            self.dirty[keys::shard_of(&d.uid) as usize] = true;
            self.entries.insert(d.uid.clone(), entry);
        }
    }

    /// Marks every shard for writing (after a build from the devices themselves).
    pub fn mark_all_dirty(&mut self) {
        self.dirty.iter_mut().for_each(|d| *d = true);
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty.iter().any(|d| *d)
    }

    /// Live devices per (category, type).
    pub fn type_counts(&self) -> HashMap<(String, String), i64> {
        let mut counts: HashMap<(String, String), i64> = HashMap::new();
        for e in self.entries.values().filter(|e| !e.removed) {
            if let Some(k) = self.type_of(e) {
                *counts.entry(k.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// Devices waiting for an audit: never audited first, then by uid
    /// (the order [`super::plan::pending_audits`] gives).
    pub fn pending_audits(&self) -> Vec<String> {
        let mut pending: Vec<(u8, &String)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.removed && e.audit != 0)
            .map(|(uid, e)| (e.audit, uid))
            .collect();
        pending.sort();
        pending.into_iter().map(|(_, uid)| uid.clone()).collect()
    }

    /// Adds one stored `DEVIDX#` item; returns false if it is not one this version wrote.
    pub fn load_part(&mut self, shard: u32, item: &Item) -> bool {
        let f = crate::store::Fields(item);
        let (Some(types), Some(lines)) = (f.opt_s("types"), f.opt_s("entries")) else {
            return false;
        };
        let part: usize = f
            .opt_s("SK")
            .and_then(|sk| sk.strip_prefix(PART_PREFIX).and_then(|p| p.parse().ok()))
            .unwrap_or(0);
        let parts = f.opt_n("parts").unwrap_or(1).max(1) as usize;
        let slot = &mut self.stored_parts[shard as usize];
        *slot = (*slot).max(part + 1);
        if part >= parts {
            // Left over from a shard that had more parts once: its entries are stale.
            self.dirty[shard as usize] = true;
            return true;
        }
        let local: Vec<(String, String)> = types
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (c, t) = l.split_once('\t').unwrap_or((l, UNKNOWN));
                (c.to_owned(), t.to_owned())
            })
            .collect();
        let local_ids: Vec<u16> = local.into_iter().map(|k| self.type_id(k)).collect();
        for line in lines.split('\n').filter(|l| !l.is_empty()) {
            let mut cols = line.split('\t');
            let (Some(uid), Some(hash), Some(flags), Some(ty)) = (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let flags: u8 = flags.parse().unwrap_or(0);
            let ty = ty.parse::<usize>().ok().and_then(|i| local_ids.get(i)).copied();
            let Some(ty) = ty else { continue };
            self.entries.insert(
                uid.to_owned(),
                Entry {
                    hash: parse_hash(hash),
                    removed: flags & 1 == 1,
                    audit: (flags >> 1) & 3,
                    ty,
                },
            );
        }
        true
    }

    /// The items of every changed shard, and the keys of parts it no longer
    /// needs; clears the dirty marks (call once the items are written).
    pub fn dirty_items(&mut self, base_pk: &str) -> (Vec<Item>, Vec<(String, String)>) {
        let mut by_shard: Vec<Vec<(&String, &Entry)>> = vec![Vec::new(); keys::SHARDS as usize];
        for (uid, e) in &self.entries {
            let shard = keys::shard_of(uid) as usize;
            if self.dirty[shard] {
                by_shard[shard].push((uid, e));
            }
        }
        let mut items = Vec::new();
        let mut stale = Vec::new();
        for (shard, mut entries) in by_shard.into_iter().enumerate() {
            if !self.dirty[shard] {
                continue;
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let pk = keys::shard_pk(base_pk, shard as u32);
            let parts = entries.len().div_ceil(PART_ENTRIES).max(1);
            let chunks: Vec<&[(&String, &Entry)]> = if entries.is_empty() {
                vec![&[]]
            } else {
                entries.chunks(PART_ENTRIES).collect()
            };
            for (part, chunk) in chunks.into_iter().enumerate() {
                let mut local: HashMap<u16, usize> = HashMap::new();
                let mut types = String::new();
                let mut lines = String::with_capacity(chunk.len() * 64);
                for (uid, e) in chunk {
                    let next = local.len();
                    let idx = *local.entry(e.ty).or_insert_with(|| {
                        let (c, t) = &self.types[e.ty as usize];
                        types.push_str(c);
                        types.push('\t');
                        types.push_str(t);
                        types.push('\n');
                        next
                    });
                    let flags = u8::from(e.removed) | (e.audit << 1);
                    lines.push_str(&format!("{uid}\t{:016x}\t{flags}\t{idx}\n", e.hash));
                }
                items.push(Item::from([
                    ("PK".into(), s(&pk)),
                    ("SK".into(), s(format!("{PART_PREFIX}{part:02}"))),
                    ("entity".into(), s("device-index")),
                    ("parts".into(), n(parts as i64)),
                    ("types".into(), s(types)),
                    ("entries".into(), s(lines)),
                ]));
            }
            for part in parts..self.stored_parts[shard] {
                stale.push((pk.clone(), format!("{PART_PREFIX}{part:02}")));
            }
            self.stored_parts[shard] = parts;
        }
        self.dirty.iter_mut().for_each(|d| *d = false);
        (items, stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(uid: &str, hash: &str, category: Option<&str>) -> DeviceRecord {
        DeviceRecord {
            uid: uid.into(),
            hash: hash.into(),
            category: category.map(str::to_owned),
            device_type: Some("Laptop".into()),
            device_class: Some("device".into()),
            last_audit_date: Some(5),
            ..Default::default()
        }
    }

    #[test]
    fn entries_round_trip_through_items() {
        let mut index = DeviceIndex::new();
        let mut gone = device("b", "00000000000000ff", None);
        gone.removed_at = Some(1);
        let mut audited = device("c", "0000000000000001", Some("Desktop"));
        audited.audited_audit_date = Some(4);
        for d in [device("a", "abcdef0123456789", Some("Desktop")), gone, audited] {
            index.set(&d);
        }
        assert!(index.is_dirty());
        let (items, stale) = index.dirty_items("TENANT#t#INTEGRATION#i");
        assert!(stale.is_empty());
        assert!(!index.is_dirty());
        let mut loaded = DeviceIndex::new();
        for item in &items {
            let pk = crate::store::Fields(item).opt_s("PK").unwrap();
            let shard: u32 = pk.rsplit('#').next().unwrap().parse().unwrap();
            assert!(loaded.load_part(shard, item));
        }
        assert_eq!(loaded.entries.len(), 3);
        assert_eq!(loaded.entries["a"].hash, 0xabcdef0123456789);
        assert!(loaded.entries["b"].removed);
        assert_eq!(loaded.entries["a"].audit, 1);
        assert_eq!(loaded.entries["c"].audit, 2);
        assert_eq!(loaded.pending_audits(), vec!["a".to_owned(), "c".to_owned()]);
        let counts = loaded.type_counts();
        assert_eq!(counts[&("Desktop".to_owned(), "Laptop".to_owned())], 2);
        assert!(!counts.contains_key(&(UNKNOWN.to_owned(), "Laptop".to_owned())));
        // Unchanged records leave the index clean.
        loaded.set(&device("a", "abcdef0123456789", Some("Desktop")));
        assert!(!loaded.is_dirty());
    }

    #[test]
    fn a_shard_that_shrinks_drops_its_extra_parts() {
        let mut index = DeviceIndex::new();
        let uids: Vec<String> = (0..(PART_ENTRIES * keys::SHARDS as usize * 2))
            .map(|i| format!("u{i}"))
            .collect();
        for u in &uids {
            index.set(&device(u, "01", Some("Desktop")));
        }
        let (items, _) = index.dirty_items("P");
        assert!(items.len() > keys::SHARDS as usize);
        index.entries.retain(|u, _| u.len() < 4);
        index.mark_all_dirty();
        let (items, stale) = index.dirty_items("P");
        assert_eq!(items.len(), keys::SHARDS as usize);
        assert!(!stale.is_empty());
    }
}
