//! Photos in the store: which entries of which `photos` logs carry the pieces of which photo (so a photo is read
//! back from the entries themselves), the photos this node keeps for itself alone (uploads not yet named by a
//! record, and found children's photos, which never go into a log), and the faces found in each photo.

use hifazat_log::Hash;
use hifazat_photos::PhotoId;
use hifazat_photos::piece::{Piece, assemble};

use crate::{Store, StoreError, WriteBatch, frame, key, unframe};

pub(crate) const PIECE: u8 = b'G';
const LOCAL: u8 = b'L';
const FACES: u8 = b'A';
const PENDING: u8 = b'Q';

/// Why a photo is kept on this node alone (written as one byte: 1 an alert's upload, 2 a found child's, 3 an upload
/// for a found child's report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Uploaded for an alert, and not yet named by one; dropped when `PHOTO_PENDING_MS` have passed.
    Pending,
    /// Uploaded for a found child's report, and not yet named by one; dropped likewise. Never published.
    PendingFound,
    /// A found child's photo, named by its report: kept, and never sent anywhere.
    Found,
}

impl Kept {
    fn code(self) -> u8 {
        match self {
            Kept::Pending => 1,
            Kept::Found => 2,
            Kept::PendingFound => 3,
        }
    }

    fn from_code(code: u8) -> Option<Kept> {
        [Kept::Pending, Kept::Found, Kept::PendingFound]
            .into_iter()
            .find(|k| k.code() == code)
    }

    /// Whether the photo waits for a record to name it.
    pub fn pending(self) -> bool {
        matches!(self, Kept::Pending | Kept::PendingFound)
    }
}

/// A photo kept on this node alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPhoto {
    pub kept: Kept,
    pub kept_ms: u64,
    pub bytes: Vec<u8>,
}

fn piece_key(photo: &PhotoId, log: &Hash, offset: u32) -> Vec<u8> {
    key(PIECE, &[&photo.0, &log.0, &offset.to_be_bytes()])
}

fn corrupt(k: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(k),
        reason: reason.into(),
    }
}

impl Store {
    /// Notes, in `batch`, that entry `seq` of the photos log `log` carries the piece of `photo` at `offset`.
    pub fn set_photo_piece(
        &self,
        batch: &mut WriteBatch,
        photo: &PhotoId,
        log: &Hash,
        offset: u32,
        seq: u64,
    ) {
        batch.put(piece_key(photo, log, offset), frame(&seq.to_be_bytes()));
    }

    /// Whether any piece of an alert's photo is held.
    pub fn has_photo_pieces(&self, photo: &PhotoId) -> Result<bool, StoreError> {
        Ok(self
            .db
            .scan_prefix(key(PIECE, &[&photo.0]))
            .next()
            .transpose()?
            .is_some())
    }

    /// Whether some log holds every piece of an alert's photo (without reading the photo: the pieces' keys, and
    /// one piece's header for the photo's length).
    pub fn photo_held(&self, photo: &PhotoId) -> Result<bool, StoreError> {
        let prefix = key(PIECE, &[&photo.0]);
        let mut by_log: Vec<(Hash, u64, usize)> = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let v = unframe(&k, &v)?;
            let log = Hash(
                k[prefix.len()..prefix.len() + 32]
                    .try_into()
                    .map_err(|_| corrupt(&k, "photo piece key length"))?,
            );
            let seq = u64::from_be_bytes(
                (*v).try_into()
                    .map_err(|_| corrupt(&k, "photo piece value length"))?,
            );
            match by_log.last_mut() {
                Some((l, _, n)) if *l == log => *n += 1,
                _ => by_log.push((log, seq, 1)),
            }
        }
        for (log, seq, held) in by_log {
            let Some(bytes) = self.entry(&log, seq)? else {
                continue;
            };
            let Ok(entry) = hifazat_log::Entry::decode(&bytes) else {
                continue;
            };
            if let Ok(piece) = Piece::decode(&entry.content().payload) {
                let needed = (piece.total as usize).div_ceil(hifazat_limits::PHOTO_PIECE_BYTES);
                if held >= needed {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// An alert's photo, read back from the entries that carry its pieces and checked against its id: from the
    /// first log that holds all of them (two nodes may have published the same photo). `None` while no log holds
    /// them all.
    pub fn photo(&self, photo: &PhotoId) -> Result<Option<Vec<u8>>, StoreError> {
        let prefix = key(PIECE, &[&photo.0]);
        let mut by_log: Vec<(Hash, Vec<u64>)> = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let v = unframe(&k, &v)?;
            let log = Hash(
                k[prefix.len()..prefix.len() + 32]
                    .try_into()
                    .map_err(|_| corrupt(&k, "photo piece key length"))?,
            );
            let seq = u64::from_be_bytes(
                (*v).try_into()
                    .map_err(|_| corrupt(&k, "photo piece value length"))?,
            );
            match by_log.last_mut() {
                Some((l, seqs)) if *l == log => seqs.push(seq),
                _ => by_log.push((log, vec![seq])),
            }
        }
        for (log, seqs) in by_log {
            let mut entries = Vec::with_capacity(seqs.len());
            for seq in seqs {
                if let Some(bytes) = self.entry(&log, seq)? {
                    entries.push(bytes);
                }
            }
            let decoded: Vec<hifazat_log::Entry> = entries
                .iter()
                .filter_map(|b| hifazat_log::Entry::decode(b).ok())
                .collect();
            let pieces = decoded
                .iter()
                .filter_map(|e| Piece::decode(e.content().payload.as_slice()).ok());
            if let Ok(bytes) = assemble(*photo, pieces) {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// Keeps a photo on this node alone, in `batch`: an upload waiting for a record to name it, or a found
    /// child's photo. A pending photo is also listed by time, so the oldest are found without reading photos.
    pub fn set_local_photo(
        &self,
        batch: &mut WriteBatch,
        photo: &PhotoId,
        kept: Kept,
        kept_ms: u64,
        bytes: &[u8],
    ) {
        let mut v = Vec::with_capacity(9 + bytes.len());
        v.push(kept.code());
        v.extend_from_slice(&kept_ms.to_be_bytes());
        v.extend_from_slice(bytes);
        batch.put(key(LOCAL, &[&photo.0]), frame(&v));
        if kept == Kept::Pending {
            batch.put(
                key(PENDING, &[&kept_ms.to_be_bytes(), &photo.0]),
                frame(&[]),
            );
        }
    }

    /// Drops a photo kept on this node alone, or its place in the list of pending ones (a pending photo that
    /// was kept at `kept_ms`), in `batch`.
    pub fn remove_local_photo(
        &self,
        batch: &mut WriteBatch,
        photo: &PhotoId,
        pending_since: Option<u64>,
    ) {
        batch.delete(key(LOCAL, &[&photo.0]));
        if let Some(kept_ms) = pending_since {
            batch.delete(key(PENDING, &[&kept_ms.to_be_bytes(), &photo.0]));
        }
    }

    /// Takes a photo off the list of pending ones, in `batch` (it stays kept).
    pub fn unlist_pending_photo(&self, batch: &mut WriteBatch, photo: &PhotoId, kept_ms: u64) {
        batch.delete(key(PENDING, &[&kept_ms.to_be_bytes(), &photo.0]));
    }

    /// A photo kept on this node alone, checked against its id.
    pub fn local_photo(&self, photo: &PhotoId) -> Result<Option<LocalPhoto>, StoreError> {
        let k = key(LOCAL, &[&photo.0]);
        let Some(v) = self.get(&k)? else {
            return Ok(None);
        };
        let local = decode_local(&k, &v)?;
        if !photo.matches(&local.bytes) {
            return Err(corrupt(&k, "the photo's bytes are not its id's"));
        }
        Ok(Some(local))
    }

    /// The photos uploaded and not yet named by a record, oldest first: since when, and which.
    pub fn pending_photos(&self) -> Result<Vec<(u64, PhotoId)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix([PENDING]) {
            let (k, v) = item?;
            unframe(&k, &v)?;
            if k.len() != 1 + 8 + 32 {
                return Err(corrupt(&k, "pending photo key length"));
            }
            out.push((
                u64::from_be_bytes(k[1..9].try_into().expect("8")),
                PhotoId(k[9..41].try_into().expect("32")),
            ));
        }
        Ok(out)
    }

    /// Keeps what was found in a photo (the faces: `hifazat_faces` encodes them), in `batch`.
    pub fn set_faces(&self, batch: &mut WriteBatch, photo: &PhotoId, faces: &[u8]) {
        batch.put(key(FACES, &[&photo.0]), frame(faces));
    }

    /// What was found in a photo, if it was looked at.
    pub fn faces(&self, photo: &PhotoId) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&key(FACES, &[&photo.0]))
    }
}

fn decode_local(k: &[u8], v: &[u8]) -> Result<LocalPhoto, StoreError> {
    if v.len() < 9 {
        return Err(corrupt(k, "local photo length"));
    }
    Ok(LocalPhoto {
        kept: Kept::from_code(v[0]).ok_or_else(|| corrupt(k, "local photo kind"))?,
        kept_ms: u64::from_be_bytes(v[1..9].try_into().expect("8")),
        bytes: v[9..].to_vec(),
    })
}
