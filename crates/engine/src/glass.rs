//! Break-glass uses (`hifazat_domain::glass`): signed into this node's `access/<district>/<area>` log, one entry a
//! use under a record id of its own (the record seen is named in the payload: entries under a record's id are that
//! record's document's changes); filed by time in the store wherever such an entry is stored (here, or
//! from another node along its lines), with a change announced on the record so the live stream tells the
//! record's own officials; and this node's grants filed by official, for the view's time and the daily limit.

use hifazat_domain::glass::{GlassDraft, GlassUse};
use hifazat_store::glass::Grant;
pub use hifazat_store::glass::UsePlace;

use super::*;

/// The use an entry's bytes carry, if they are an entry that carries one.
fn read_use(bytes: &[u8]) -> Option<GlassUse> {
    serde_json::from_slice(&Entry::decode(bytes).ok()?.content().payload).ok()
}

/// A day, the window of the per-official limit.
const DAY_MS: u64 = 86_400_000;

impl Engine {
    /// Lets `actor` see record `record` (of `kind`, in `district`, outside their area) for the minutes `draft`
    /// asks, for the reason it gives: signs the use into this node's access log and files the grant. Answers once
    /// both are on disk. The caller has checked that the official's role may use it and that the record is here.
    pub async fn break_glass(
        &self,
        record: RecordId,
        kind: RecordKind,
        district: &str,
        draft: &GlassDraft,
        actor: &str,
    ) -> Result<GlassUse, EngineError> {
        let actor = actor_name(actor)?;
        let (reason, minutes) = draft.validate()?;
        let me = self
            .local
            .topology
            .node(&self.local.node_name)
            .ok_or_else(|| Invalid::one("(node)", "this node is not in its topology"))?;
        // The log's second code is this node's own area, so its own supervisors hold it too.
        let at = match me.role {
            hifazat_topology::Role::District => me.district.clone(),
            hifazat_topology::Role::Province => me.province.clone(),
            hifazat_topology::Role::Federal => None,
        }
        .unwrap_or_else(|| district.to_owned());
        let scope = Scope::access(district, &at)
            .map_err(|_| Invalid::one("(node)", "the codes do not make a scope"))?;
        let now_ms = self.local.clock.now_ms();
        let glass = GlassUse {
            record,
            kind,
            district: district.to_owned(),
            by: actor,
            reason,
            minutes,
            at_ms: now_ms,
            node: self.local.node_name.clone(),
        };
        self.call(|reply| Request::Glass {
            scope,
            glass: Box::new(glass),
            reply,
        })
        .await?
    }

    /// Until when `actor`'s break-glass view of `record` at this node lasts, if it lasts past now.
    pub async fn glass_until(
        &self,
        actor: &str,
        record: RecordId,
    ) -> Result<Option<u64>, EngineError> {
        let now = self.local.clock.now_ms();
        let store = self.local.store.clone();
        let actor = actor.to_owned();
        let since = now.saturating_sub(u64::from(limits::GLASS_MINUTES_MAX) * 60_000);
        let grants = tokio::task::spawn_blocking(move || store.glass_grants(&actor, since))
            .await
            .map_err(|_| EngineError::Stopped)??;
        Ok(grants
            .iter()
            .filter(|g| g.record == record && g.until_ms > now)
            .map(|g| g.until_ms)
            .max())
    }

    /// Up to `limit` break-glass uses this node holds, filed before `before` (a place this gave), newest first,
    /// that `wanted` keeps, each with its place. A use whose entry does not read as one (a faulty node's) is left
    /// out.
    pub async fn glass_uses(
        &self,
        before: Option<UsePlace>,
        limit: usize,
        wanted: impl Fn(&GlassUse) -> bool + Send + 'static,
    ) -> Result<Vec<(UsePlace, GlassUse)>, EngineError> {
        let store = self.local.store.clone();
        let filed = tokio::task::spawn_blocking(move || {
            store.glass_uses(before.as_ref(), limit, limits::GLASS_SCAN_MAX, |bytes| {
                read_use(bytes).is_some_and(|u| wanted(&u))
            })
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        Ok(filed
            .into_iter()
            .filter_map(|(place, bytes)| Some((place, read_use(&bytes)?)))
            .collect())
    }
}

impl Actor {
    /// Signs a use into this node's access log, files it and the official's grant, after checking the official's
    /// uses in the last day.
    pub(crate) fn glass(
        &mut self,
        scope: Scope,
        glass: GlassUse,
        batch: &mut hifazat_store::WriteBatch,
    ) -> Result<GlassUse, EngineError> {
        let since = glass.at_ms.saturating_sub(DAY_MS);
        let mut made = match self.glass_grants.get(&glass.by) {
            Some(grants) => grants.clone(),
            None => match self.store.glass_grants(&glass.by, since) {
                Ok(grants) => grants,
                Err(e) => fatal(&e),
            },
        };
        made.retain(|g| g.at_ms >= since);
        if made.len() >= limits::GLASS_USES_PER_DAY {
            let oldest = made.iter().map(|g| g.at_ms).min().unwrap_or(glass.at_ms);
            let wait_ms = (oldest + DAY_MS).saturating_sub(glass.at_ms);
            return Err(EngineError::TooMany(
                format!(
                    "{} break-glass uses in a day is the most one official may make here; the next is possible in {} minutes",
                    limits::GLASS_USES_PER_DAY,
                    wait_ms.div_ceil(60_000)
                ),
                wait_ms.div_ceil(1000),
            ));
        }
        let payload = serde_json::to_vec(&glass).expect("a use serialises");
        let log = LogId {
            author: self.signer.author(),
            scope: scope.clone(),
        };
        self.write(
            LocalChange {
                scope: scope.clone(),
                // Not the record seen: entries under a record's id are its document's changes. The use names
                // the record in its payload.
                record: new_record_id(glass.at_ms),
                actor: &glass.by,
                payload,
                meta: None,
                now_ms: glass.at_ms,
            },
            batch,
        )?;
        let seq = match self.store.head_in(batch, &log.digest()) {
            Ok(Some(head)) => head.head.seq,
            Ok(None) => unreachable!("the use was just added to the batch"),
            Err(e) => fatal(&e),
        };
        self.file_glass(&log, seq, &glass, Origin::Local, batch);
        let grant = Grant {
            at_ms: glass.at_ms,
            record: glass.record,
            until_ms: glass.until_ms(),
        };
        self.store.set_glass_grant(batch, &glass.by, seq, grant);
        made.push(grant);
        self.glass_grants.insert(glass.by.clone(), made);
        Ok(glass)
    }

    /// Files a use stored in `batch` (this node's, or one from elsewhere) and announces it on its record.
    pub(crate) fn file_glass(
        &mut self,
        log: &LogId,
        seq: u64,
        glass: &GlassUse,
        origin: Origin,
        batch: &mut hifazat_store::WriteBatch,
    ) {
        self.store
            .set_glass_use(batch, glass.at_ms, &log.digest(), seq, &glass.district);
        self.changes.push(Change {
            record: glass.record,
            kind: glass.kind,
            scope: log.scope.clone(),
            created: false,
            origin,
        });
    }

    /// Files a use that came in an entry from another node. A payload that is no use (a faulty node's) is stored
    /// and relayed like any entry, and read by nobody.
    pub(crate) fn index_glass(
        &mut self,
        entry: &hifazat_log::Entry,
        batch: &mut hifazat_store::WriteBatch,
    ) {
        let content = entry.content();
        let Scope::Access { about, .. } = &content.log.scope else {
            return;
        };
        // A use is filed under the district its log is about.
        if let Ok(glass) = serde_json::from_slice::<GlassUse>(&content.payload)
            && glass.district.eq_ignore_ascii_case(about.as_str())
        {
            let (log, seq) = (content.log.clone(), content.seq);
            self.file_glass(&log, seq, &glass, Origin::Remote, batch);
        }
    }
}
