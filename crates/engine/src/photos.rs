//! Photos: an upload kept on this node until a record names it; an alert's photo published into this node's
//! `photos` log in pieces (which the sync layer carries to every node, as it does every log); a found child's
//! photo kept here alone; the faces found in each. Reads go to the store on a blocking thread, after a barrier,
//! so they see only what is on disk.

use hifazat_photos::Photo;
use hifazat_photos::piece::{Piece, cut};
use hifazat_store::{Kept, LocalPhoto};

use super::*;

/// What a photo request asks of the actor.
#[derive(Debug)]
pub(crate) enum PhotoOp {
    /// An upload, for an alert or (`for_found`) for a found child's report.
    KeepPending {
        photo: Box<Photo>,
        for_found: bool,
    },
    Publish {
        id: PhotoId,
        actor: String,
    },
    KeepFound {
        id: PhotoId,
    },
    Faces {
        id: PhotoId,
        faces: Vec<u8>,
    },
}

impl Engine {
    async fn photo_op(&self, op: PhotoOp) -> Result<(), EngineError> {
        let now_ms = self.local.clock.now_ms();
        self.call(|reply| Request::Photo { op, now_ms, reply })
            .await?
    }

    /// Keeps an uploaded (clean) photo on this node alone, for `PHOTO_PENDING_MS`, until a record names it: an
    /// alert (which publishes it) or, `for_found`, a found child's report (which keeps it here for good; such an
    /// upload is never published). Refused while `PHOTOS_PENDING_MAX` wait already.
    pub async fn keep_pending_photo(
        &self,
        photo: Photo,
        for_found: bool,
    ) -> Result<(), EngineError> {
        self.photo_op(PhotoOp::KeepPending {
            photo: Box::new(photo),
            for_found,
        })
        .await
    }

    /// Keeps what was found in a photo (encoded by the caller).
    pub async fn set_faces(&self, id: PhotoId, faces: Vec<u8>) -> Result<(), EngineError> {
        self.photo_op(PhotoOp::Faces { id, faces }).await
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.barrier().await?;
        let store = self.local.store.clone();
        Ok(tokio::task::spawn_blocking(move || read(&store))
            .await
            .map_err(|_| EngineError::Stopped)??)
    }

    /// An alert's photo, read back from its pieces and checked against its id; `None` while not all are here.
    pub async fn photo(&self, id: PhotoId) -> Result<Option<Vec<u8>>, EngineError> {
        self.read(move |s| s.photo(&id)).await
    }

    /// Whether every piece of an alert's photo is here (cheap: no photo is read).
    pub async fn photo_held(&self, id: PhotoId) -> Result<bool, EngineError> {
        self.read(move |s| s.photo_held(&id)).await
    }

    /// [`Engine::photo_held`] for several photos at once (a page of alerts), after one barrier.
    pub async fn photos_held(&self, ids: Vec<PhotoId>) -> Result<Vec<bool>, EngineError> {
        self.read(move |s| ids.iter().map(|id| s.photo_held(id)).collect())
            .await
    }

    /// A photo kept on this node alone (pending or a found child's), checked against its id.
    pub async fn local_photo(&self, id: PhotoId) -> Result<Option<LocalPhoto>, EngineError> {
        self.read(move |s| s.local_photo(&id)).await
    }

    /// What was found in a photo, if it was looked at.
    pub async fn faces(&self, id: PhotoId) -> Result<Option<Vec<u8>>, EngineError> {
        self.read(move |s| s.faces(&id)).await
    }
}

impl Actor {
    pub(crate) fn photo(
        &mut self,
        op: PhotoOp,
        now_ms: u64,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<(), EngineError> {
        match op {
            PhotoOp::KeepPending { photo, for_found } => {
                let mut pending = self.store.pending_photos().unwrap_or_else(|e| fatal(&e));
                // The expired go first; they were never named.
                let expired = pending
                    .iter()
                    .take_while(|(kept_ms, _)| kept_ms + limits::PHOTO_PENDING_MS < now_ms)
                    .count();
                for (kept_ms, id) in pending.drain(..expired) {
                    self.store.remove_local_photo(batch, &id, Some(kept_ms));
                }
                if pending.iter().any(|(_, id)| *id == photo.id) {
                    return Ok(());
                }
                if pending.len() >= limits::PHOTOS_PENDING_MAX {
                    return Err(EngineError::Busy(format!(
                        "{} photos wait already for a record to name them; try again later",
                        pending.len()
                    )));
                }
                if matches!(self.store.local_photo(&photo.id), Ok(Some(_))) {
                    return Ok(());
                }
                let kept = if for_found {
                    Kept::PendingFound
                } else {
                    Kept::Pending
                };
                self.store
                    .set_local_photo(batch, &photo.id, kept, now_ms, &photo.bytes);
                Ok(())
            }
            PhotoOp::Publish { id, actor } => {
                if self
                    .store
                    .photo(&id)
                    .unwrap_or_else(|e| fatal(&e))
                    .is_some()
                {
                    return Ok(());
                }
                let local = self
                    .store
                    .local_photo(&id)
                    .unwrap_or_else(|e| fatal(&e))
                    .filter(|l| l.kept == Kept::Pending)
                    .ok_or_else(|| {
                        Invalid::one(
                            "photo_ref",
                            "names no photo uploaded to this node (POST /api/v1/photos first)",
                        )
                    })?;
                for payload in cut(id, &local.bytes) {
                    self.write(
                        LocalChange {
                            scope: Scope::Photos,
                            record: RecordId(id.0[..16].try_into().expect("16")),
                            actor: &actor,
                            payload,
                            meta: None,
                            now_ms,
                        },
                        batch,
                    )?;
                }
                self.store
                    .remove_local_photo(batch, &id, Some(local.kept_ms));
                Ok(())
            }
            PhotoOp::KeepFound { id } => {
                let local = self
                    .store
                    .local_photo(&id)
                    .unwrap_or_else(|e| fatal(&e))
                    .ok_or_else(|| {
                        Invalid::one(
                            "photos",
                            "names no photo uploaded to this node (POST /api/v1/photos first)",
                        )
                    })?;
                if local.kept.pending() {
                    self.store.unlist_pending_photo(batch, &id, local.kept_ms);
                    self.store
                        .set_local_photo(batch, &id, Kept::Found, now_ms, &local.bytes);
                }
                Ok(())
            }
            PhotoOp::Faces { id, faces } => {
                self.store.set_faces(batch, &id, &faces);
                Ok(())
            }
        }
    }

    /// Whether a photo a new record names can be used as it says: an alert's photo published already or uploaded
    /// here; a found child's uploaded here.
    pub(crate) fn photo_ready(&self, id: PhotoId, use_: PhotoUse) -> Result<(), EngineError> {
        let local = self.store.local_photo(&id).unwrap_or_else(|e| fatal(&e));
        let ready = match use_ {
            // Only an alert's upload is ever published: never a found child's photo, named or not.
            PhotoUse::Publish => {
                local.is_some_and(|l| l.kept == Kept::Pending)
                    || self
                        .store
                        .photo(&id)
                        .unwrap_or_else(|e| fatal(&e))
                        .is_some()
            }
            PhotoUse::KeepFound => local.is_some(),
        };
        if ready {
            return Ok(());
        }
        let field = match use_ {
            PhotoUse::Publish => "photo_ref",
            PhotoUse::KeepFound => "photos",
        };
        Err(Invalid::one(
            field,
            format!("names photo {id}, which was not uploaded to this node (POST /api/v1/photos first), or was dropped after a day unused"),
        )
        .into())
    }

    /// Notes which photo piece an entry of a `photos` log carries, so the photo can be read back. A payload that
    /// is no piece (a faulty node's) is stored and relayed like any entry, and read by nobody.
    pub(crate) fn index_photo_piece(
        &self,
        entry: &hifazat_log::Entry,
        batch: &mut hifazat_store::WriteBatch,
    ) {
        if entry.content().log.scope != Scope::Photos {
            return;
        }
        if let Ok(piece) = Piece::decode(&entry.content().payload) {
            self.store.set_photo_piece(
                batch,
                &piece.photo,
                &entry.content().log.digest(),
                piece.offset,
                entry.content().seq,
            );
        }
    }
}

/// A pair of photos known to show one child: an alert's photo and the photo of a found child's report that an
/// officer confirmed, in person, to be that alert's child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedPair {
    pub alert: RecordId,
    pub alert_photo: PhotoId,
    pub found: RecordId,
    pub found_photos: Vec<PhotoId>,
}

/// Every confirmed match held in `store` (read from the found children's reports' documents), for measuring how
/// well matching works on a node's own cases (`hifazat faces evaluate`).
pub fn confirmed_pairs(store: &Store) -> Result<Vec<ConfirmedPair>, StoreError> {
    let mut replicas = hifazat_replica::Replicas::new([0; 32]);
    let mut out = Vec::new();
    for (id, meta) in store.records()? {
        if meta.kind != RecordKind::Found {
            continue;
        }
        let Ok(Some(RecordDoc::Found(found))) = replicas.get(id, &StoreSource(store)) else {
            continue;
        };
        for event in &found.timeline {
            let EventKind::MatchConfirmed { other } = event.kind else {
                continue;
            };
            let Ok(Some(RecordDoc::Alert(alert))) = replicas.get(other, &StoreSource(store)) else {
                continue;
            };
            let Some(alert_photo) = alert
                .intake
                .public
                .photo_ref
                .as_deref()
                .and_then(|p| p.parse().ok())
            else {
                continue;
            };
            out.push(ConfirmedPair {
                alert: other,
                alert_photo,
                found: id,
                found_photos: found
                    .intake
                    .photos
                    .iter()
                    .filter_map(|p| p.parse().ok())
                    .collect(),
            });
        }
        replicas.take_evicted();
    }
    out.sort_by_key(|p| (p.found, p.alert));
    out.dedup();
    Ok(out)
}
