//! A small durable key-value store of its own, apart from the node's replicated store: the federal node's
//! register and every node's SMS outbox each open one. It knows nothing of what it keeps: the register encrypts
//! every value before it comes here and picks keys that say nothing (ids, keyed hashes, sequence numbers). Keeping
//! it in its own directory means no code that serves the replicated store (sync, catch-up, `log verify`) can ever
//! read from it.
//!
//! Values are framed like the main store's (a version byte and a CRC-32); a value that fails its frame is an
//! error, never data. [`Vault::commit`] applies a batch atomically and flushes it: when it returns, the batch
//! is on disk.

use std::path::Path;

use crate::{StoreError, frame, unframe};

/// A key (without its tree byte) and its value.
pub type VaultItem = (Vec<u8>, Vec<u8>);

/// The store.
#[derive(Debug, Clone)]
pub struct Vault {
    db: sled::Db,
}

/// Writes to be committed together.
#[derive(Debug, Default)]
pub struct VaultBatch {
    batch: sled::Batch,
    writes: usize,
}

impl VaultBatch {
    /// Sets `key` in `tree` (a one-byte namespace) to `value`.
    pub fn put(&mut self, tree: u8, key: &[u8], value: &[u8]) {
        self.batch.insert(vault_key(tree, key), frame(value));
        self.writes += 1;
    }

    pub fn remove(&mut self, tree: u8, key: &[u8]) {
        self.batch.remove(vault_key(tree, key));
        self.writes += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.writes == 0
    }
}

fn vault_key(tree: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(tree);
    k.extend_from_slice(key);
    k
}

impl Vault {
    /// Opens (or creates) the vault in `dir`.
    pub fn open(dir: &Path) -> Result<Vault, StoreError> {
        Ok(Vault {
            db: crate::open_db(dir)?,
        })
    }

    /// Whether the vault holds nothing at all (a new one).
    pub fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    pub fn get(&self, tree: u8, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let k = vault_key(tree, key);
        match self.db.get(&k)? {
            None => Ok(None),
            Some(v) => Ok(Some(unframe(&k, &v)?.into_owned())),
        }
    }

    /// Every (key, value) of `tree` in key order, the keys without their tree byte, at most `limit`, starting at
    /// `from` (a key of the tree, inclusive) when given.
    pub fn scan(
        &self,
        tree: u8,
        from: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<VaultItem>, StoreError> {
        let start = vault_key(tree, from.unwrap_or(&[]));
        let end = [tree.wrapping_add(1)];
        let range = if tree == u8::MAX {
            self.db.range(start..)
        } else {
            self.db.range(start..end.to_vec())
        };
        let mut out = Vec::new();
        for item in range.take(limit) {
            let (k, v) = item?;
            out.push((k[1..].to_vec(), unframe(&k, &v)?.into_owned()));
        }
        Ok(out)
    }

    /// The last (key, value) of `tree` in key order.
    pub fn last(&self, tree: u8) -> Result<Option<VaultItem>, StoreError> {
        let item = self.db.scan_prefix([tree]).next_back().transpose()?;
        match item {
            None => Ok(None),
            Some((k, v)) => Ok(Some((k[1..].to_vec(), unframe(&k, &v)?.into_owned()))),
        }
    }

    /// Up to `limit` (key, value) pairs of `tree` before the key `before` (exclusive; the tree's end when not
    /// given), newest key first.
    pub fn scan_rev(
        &self,
        tree: u8,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<VaultItem>, StoreError> {
        let items: Box<dyn DoubleEndedIterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            match before {
                Some(b) => Box::new(self.db.range(vault_key(tree, &[])..vault_key(tree, b))),
                None => Box::new(self.db.scan_prefix([tree])),
            };
        let mut out = Vec::new();
        for item in items.rev().take(limit) {
            let (k, v) = item?;
            out.push((k[1..].to_vec(), unframe(&k, &v)?.into_owned()));
        }
        Ok(out)
    }

    /// Applies `batch` atomically (in memory; readers see it at once). Not yet durable: see [`Vault::flush`].
    /// Batches become durable in the order they were applied, so a caller that applies under its own lock and
    /// flushes after it keeps its sequences without gaps across a crash.
    pub fn apply(&self, batch: VaultBatch) -> Result<(), StoreError> {
        self.db.apply_batch(batch.batch)?;
        Ok(())
    }

    /// Makes every batch applied before this call durable. Several threads may flush at once; one flush covers
    /// every batch applied before it.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// [`Vault::apply`], then [`Vault::flush`].
    pub fn commit(&self, batch: VaultBatch) -> Result<(), StoreError> {
        self.apply(batch)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_survive_reopening_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let vault = Vault::open(dir.path()).expect("open");
            assert!(vault.is_empty());
            let mut batch = VaultBatch::default();
            batch.put(1, b"a", b"one");
            batch.put(1, b"b", b"two");
            batch.put(2, b"a", b"other tree");
            vault.commit(batch).expect("commit");
        }
        let vault = Vault::open(dir.path()).expect("reopen");
        assert_eq!(
            vault.get(1, b"a").expect("get").as_deref(),
            Some(&b"one"[..])
        );
        let all = vault.scan(1, None, 10).expect("scan");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1], (b"b".to_vec(), b"two".to_vec()));
        assert_eq!(vault.scan(1, Some(b"b"), 10).expect("scan").len(), 1);
        assert_eq!(
            vault.last(1).expect("last"),
            Some((b"b".to_vec(), b"two".to_vec()))
        );
        assert_eq!(vault.scan(2, None, 10).expect("scan").len(), 1);
        let back = vault.scan_rev(1, None, 1).expect("scan");
        assert_eq!(back, [(b"b".to_vec(), b"two".to_vec())]);
        let before = vault.scan_rev(1, Some(b"b"), 10).expect("scan");
        assert_eq!(before, [(b"a".to_vec(), b"one".to_vec())]);
        // A damaged value is refused, not served.
        vault
            .db
            .insert(vault_key(1, b"a"), b"\x01\0\0\0\0one".to_vec())
            .expect("insert");
        assert!(matches!(
            vault.get(1, b"a"),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
