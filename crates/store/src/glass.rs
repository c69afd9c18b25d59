//! Break-glass uses in the store: every use this node holds (its own and those that came along their lines), by
//! time, read back from the entries themselves; and this node's own grants, by official, which say whose view of
//! which record lasts until when, and how many uses an official made in a day.

use hifazat_domain::RecordId;
use hifazat_log::Hash;

use crate::{Store, StoreError, WriteBatch, frame, key, unframe};

pub(crate) const USE: u8 = b'B';
/// A use's place among the uses: its time (8), its log (32) and its entry's position there (8).
pub const USE_PLACE: usize = 8 + 32 + 8;
/// A use's place, as bytes.
pub type UsePlace = [u8; USE_PLACE];
/// A filed use: its place, and its entry's bytes.
pub type FiledUse = (UsePlace, Vec<u8>);
const GRANT: u8 = b'U';

/// A grant of this node's: when it was asked, the record, and until when the view lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub at_ms: u64,
    pub record: RecordId,
    pub until_ms: u64,
}

fn use_key(at_ms: u64, log: &Hash, seq: u64) -> Vec<u8> {
    key(USE, &[&at_ms.to_be_bytes(), &log.0, &seq.to_be_bytes()])
}

/// An official's grants: their name's length and name, then the time and the use's place in this node's access
/// log (two uses in one millisecond are two grants).
fn grant_key(actor: &str, at_ms: Option<u64>, seq: Option<u64>) -> Vec<u8> {
    let name = actor.as_bytes();
    let name = &name[..name.len().min(255)];
    let len = [name.len() as u8];
    let at = at_ms.map(u64::to_be_bytes);
    let seq = seq.map(u64::to_be_bytes);
    key(
        GRANT,
        &[
            &len,
            name,
            at.as_ref().map_or(&[][..], |a| &a[..]),
            seq.as_ref().map_or(&[][..], |s| &s[..]),
        ],
    )
}

fn corrupt(k: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(k),
        reason: reason.to_owned(),
    }
}

impl Store {
    /// Files a use carried by entry `seq` of log `log`, made at `at_ms` about a record of `district`, in `batch`
    /// (the batch that stores the entry).
    pub fn set_glass_use(
        &self,
        batch: &mut WriteBatch,
        at_ms: u64,
        log: &Hash,
        seq: u64,
        district: &str,
    ) {
        batch.put(use_key(at_ms, log, seq), frame(district.as_bytes()));
    }

    /// Up to `limit` uses filed before `before` (a use's place, as this returns it; all when `None`), newest first,
    /// whose entries (their bytes) `wanted` keeps. At most `scan` uses are looked at.
    pub fn glass_uses(
        &self,
        before: Option<&UsePlace>,
        limit: usize,
        scan: usize,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<FiledUse>, StoreError> {
        let end = match before {
            Some(place) => key(USE, &[place]),
            None => vec![USE + 1],
        };
        let mut out = Vec::new();
        for item in self.db.range(vec![USE]..end).rev().take(scan) {
            let (k, v) = item?;
            unframe(&k, &v)?;
            if k.len() != 1 + USE_PLACE {
                return Err(corrupt(&k, "break-glass use key length"));
            }
            let log = Hash(k[9..41].try_into().expect("32 bytes"));
            let seq = u64::from_be_bytes(k[41..49].try_into().expect("8 bytes"));
            match self.entry(&log, seq)? {
                Some(bytes) if wanted(&bytes) => {
                    out.push((k[1..].try_into().expect("the length was checked"), bytes));
                }
                Some(_) => continue,
                None => return Err(corrupt(&k, "a break-glass use names an entry not held")),
            }
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Files this node's grant to `actor`, made by entry `seq` of its access log, in `batch`.
    pub fn set_glass_grant(&self, batch: &mut WriteBatch, actor: &str, seq: u64, grant: Grant) {
        let mut value = grant.record.0.to_vec();
        value.extend_from_slice(&grant.until_ms.to_be_bytes());
        batch.put(
            grant_key(actor, Some(grant.at_ms), Some(seq)),
            frame(&value),
        );
    }

    /// This node's grants to `actor` asked at or after `since_ms`, oldest first.
    pub fn glass_grants(&self, actor: &str, since_ms: u64) -> Result<Vec<Grant>, StoreError> {
        let prefix = grant_key(actor, None, None);
        let start = grant_key(actor, Some(since_ms), None);
        let mut end = prefix.clone();
        end.extend_from_slice(&u64::MAX.to_be_bytes());
        end.push(0xff);
        let mut out = Vec::new();
        for item in self.db.range(start..end) {
            let (k, v) = item?;
            let v = unframe(&k, &v)?;
            let rest = &k[prefix.len()..];
            if rest.len() != 8 + 8 || v.len() != 16 + 8 {
                return Err(corrupt(&k, "break-glass grant length"));
            }
            out.push(Grant {
                at_ms: u64::from_be_bytes(rest[..8].try_into().expect("8 bytes")),
                record: RecordId(v[..16].try_into().expect("16 bytes")),
                until_ms: u64::from_be_bytes(v[16..].try_into().expect("8 bytes")),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_read_back_by_official_and_time_and_uses_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut batch = store.batch();
        let (a, b) = (RecordId([1; 16]), RecordId([2; 16]));
        for (seq, (actor, at_ms, record)) in [
            ("dpo:x", 10, a),
            ("dpo:x", 20, b),
            ("dpo:x", 20, a),
            ("dpo:xy", 15, a),
        ]
        .into_iter()
        .enumerate()
        {
            store.set_glass_grant(
                &mut batch,
                actor,
                seq as u64,
                Grant {
                    at_ms,
                    record,
                    until_ms: at_ms + 5,
                },
            );
        }
        store.commit(batch).unwrap();
        let all = store.glass_grants("dpo:x", 0).unwrap();
        assert_eq!(
            all.len(),
            3,
            "another official's grants are not theirs: {all:?}"
        );
        assert_eq!((all[0].record, all[1].record, all[2].record), (a, b, a));
        let later = store.glass_grants("dpo:x", 11).unwrap();
        assert_eq!(later.len(), 2, "two in one millisecond are two");
        assert_eq!(store.glass_grants("dpo:xy", 0).unwrap()[0].until_ms, 20);
        assert!(store.glass_grants("nobody", 0).unwrap().is_empty());
    }
}
