//! Taking a log back to an earlier entry: what a node does with the entries a key signed after the point it was
//! revoked from, when it took them before it knew of the revocation.

use hifazat_domain::RecordId;
use hifazat_log::{Entry, Head, LogId};

use crate::{
    META, StoreError, StoredHead, TREE, checkpoint_meta, encode_head, entry_key, frame, glass,
    head_key, key, photo, record_entry_key, tree_key, unframe,
};
use crate::{Store, WriteBatch};

/// The tree size a checkpoint's note text states (its second line), if it reads.
fn checkpoint_size(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

impl Store {
    /// Removes every entry of `log` after entry `keep` (all of them when `keep` is 0) with what indexes them here:
    /// the record index of entries, the subtrees of the log's tree that cover any of them, the break-glass uses and
    /// photo pieces they carry, and the log's kept checkpoint when it is of more entries. The head moves back to
    /// entry `keep`. All in `batch`, so the caller commits it with the records brought up to date; returns the
    /// removed entries, oldest first. Nothing happens to a log that does not reach past `keep`. Nothing may be
    /// appended to the log in the same batch.
    pub fn truncate_log(
        &self,
        batch: &mut WriteBatch,
        log: &LogId,
        keep: u64,
    ) -> Result<Vec<Entry>, StoreError> {
        let digest = log.digest();
        match self.head(&digest)? {
            Some(head) if head.head.seq > keep => {}
            _ => return Ok(Vec::new()),
        }
        let mut removed = Vec::new();
        for item in self
            .db
            .range(entry_key(&digest, keep + 1)..=entry_key(&digest, u64::MAX))
        {
            let (k, v) = item?;
            let entry = Entry::decode(&unframe(&k, &v)?).map_err(|e| StoreError::Corrupt {
                key: hex::encode(&k),
                reason: e.to_string(),
            })?;
            let c = entry.content();
            batch.delete(k.to_vec());
            batch.delete(record_entry_key(&RecordId(c.record), &digest, c.seq));
            removed.push(entry);
        }
        // A subtree at `level`, `index` covers leaves index·2^level to (index+1)·2^level − 1; leaf i is entry i + 1.
        for item in self.db.scan_prefix(key(TREE, &[&digest.0])) {
            let (k, _) = item?;
            let (level, index) = match (k.get(33), k.get(34..42)) {
                (Some(&level), Some(index)) if k.len() == 42 => (
                    level,
                    u64::from_be_bytes(index.try_into().expect("8 bytes")),
                ),
                _ => {
                    return Err(StoreError::Corrupt {
                        key: hex::encode(&k),
                        reason: "tree key length".into(),
                    });
                }
            };
            let end = (index + 1)
                .checked_shl(u32::from(level))
                .unwrap_or(u64::MAX);
            if end > keep {
                debug_assert_eq!(k.to_vec(), tree_key(&digest, level, index));
                batch.delete(k.to_vec());
            }
        }
        if keep == 0 {
            batch.delete(head_key(&digest));
        } else {
            let bytes = self
                .entry(&digest, keep)?
                .ok_or_else(|| StoreError::Corrupt {
                    key: hex::encode(entry_key(&digest, keep)),
                    reason: "below the log's head, yet not stored".into(),
                })?;
            let hash = Entry::decode(&bytes)
                .map_err(|e| StoreError::Corrupt {
                    key: hex::encode(entry_key(&digest, keep)),
                    reason: e.to_string(),
                })?
                .hash();
            let head = StoredHead {
                log: log.clone(),
                head: Head { seq: keep, hash },
            };
            batch.put(head_key(&digest), frame(&encode_head(&head)));
        }
        if let Some(note) = self.checkpoint(&digest)?
            && checkpoint_size(&note).is_none_or(|size| size > keep)
        {
            batch.delete(key(META, &[checkpoint_meta(&digest).as_bytes()]));
        }
        // Break-glass uses: time (8), log (32), position (8).
        for item in self.db.scan_prefix([glass::USE]) {
            let (k, _) = item?;
            if k.len() == 1 + glass::USE_PLACE
                && k[9..41] == digest.0
                && u64::from_be_bytes(k[41..49].try_into().expect("8 bytes")) > keep
            {
                batch.delete(k.to_vec());
            }
        }
        // Photo pieces: photo (32), log (32), offset (4); the entry's position is the value.
        for item in self.db.scan_prefix([photo::PIECE]) {
            let (k, v) = item?;
            if k.len() == 1 + 32 + 32 + 4 && k[33..65] == digest.0 {
                let seq = unframe(&k, &v)?;
                if seq.len() == 8 && u64::from_be_bytes((*seq).try_into().expect("8 bytes")) > keep
                {
                    batch.delete(k.to_vec());
                }
            }
        }
        Ok(removed)
    }

    /// Removes a record from the record index, in `batch` (a record none of whose changes is held any more).
    pub fn remove_record(&self, batch: &mut WriteBatch, record: &RecordId) {
        batch.delete(crate::record_key(record));
    }

    /// Removes an alert's short code from the index of codes, in `batch`.
    pub fn remove_alert_code(&self, batch: &mut WriteBatch, code: &str, record: &RecordId) {
        batch.delete(crate::alert_code_key(code, Some(record)));
    }
}
