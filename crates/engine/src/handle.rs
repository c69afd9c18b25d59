//! The handle's operations: each a request to the actor, or a read of what is durable.

use super::*;

impl Engine {
    /// Starts the engine on its own thread.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let (written, _) = tokio::sync::broadcast::channel(limits::WRITTEN_QUEUE_MAX);
        let (changes, _) = tokio::sync::broadcast::channel(limits::CHANGES_QUEUE_MAX);
        let figures: SharedFigures =
            Arc::new(std::sync::RwLock::new(aggregates::load(&config.store)?));
        places::ensure(&config.store)?;
        codes::ensure(&config.store)?;
        let local = Arc::new(Local {
            node_name: config.node_name,
            clock: config.clock,
            topology: config.topology,
            author: config.signer.author().0,
            store: config.store.clone(),
            written: written.clone(),
            changes: changes.clone(),
            figures: figures.clone(),
        });
        let mut actor = Actor {
            replicas: Replicas::new(local.author),
            signer: config.signer,
            store: config.store,
            stats: Stats::default(),
            written: Vec::new(),
            changes: Vec::new(),
            figures,
            pending: Pending::default(),
            glass_grants: Default::default(),
        };
        // Entries of a revoked key past its point, taken before the revoking topology reached this node, go first.
        actor.purge_revoked(&local.topology)?;
        let (to_flusher, flusher_rx) = std::sync::mpsc::sync_channel(limits::FLUSH_QUEUE_MAX);
        let finisher = Finisher {
            store: actor.store.clone(),
            announce: Arc::new(Announce { written, changes }),
            queued: Arc::default(),
        };
        let flushing = finisher.clone();
        let flusher = thread::Builder::new()
            .name("hifazat-flush".into())
            .spawn(move || flusher(flusher_rx, flushing))
            .map_err(EngineError::Spawn)?;
        let (tx, rx) = mpsc::channel(limits::ENGINE_QUEUE_MAX);
        thread::Builder::new()
            .name("hifazat-engine".into())
            .spawn(move || actor.run(rx, to_flusher, flusher, finisher))
            .map_err(EngineError::Spawn)?;
        Ok(Engine { tx, local })
    }

    pub(crate) async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Signs a register notification, already sealed to the federal node's key, into this node's notices log, which
    /// the sync layer carries along the node's line to the federal node. Answers once it is on disk. Only district
    /// and province nodes keep such a log.
    pub async fn notify_register(
        &self,
        sealed: Vec<u8>,
        actor: &str,
    ) -> Result<NoticeWritten, EngineError> {
        let actor = actor_name(actor)?;
        let me = self
            .local
            .topology
            .node(&self.local.node_name)
            .ok_or_else(|| Invalid::one("(node)", "this node is not in its topology"))?;
        let code = match me.role {
            hifazat_topology::Role::District => me.district.clone(),
            hifazat_topology::Role::Province => me.province.clone(),
            hifazat_topology::Role::Federal => None,
        }
        .ok_or_else(|| {
            Invalid::one(
                "(node)",
                "the federal node holds the register itself: change the entry there",
            )
        })?;
        if sealed.len() > limits::NOTICE_SEALED_BYTES_MAX {
            return Err(Invalid::one("(notice)", "the sealed notification is too large").into());
        }
        let scope = Scope::notices(&code)
            .map_err(|_| Invalid::one("(node)", "this node's code does not make a scope"))?;
        let now_ms = self.local.clock.now_ms();
        self.call(|reply| Request::Notice {
            scope,
            sealed,
            actor,
            now_ms,
            reply,
        })
        .await?
    }

    /// Raises a missing-child alert. Answers once the alert is on disk.
    pub async fn raise_alert(
        &self,
        draft: AlertDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        let new = Box::new(self.local.new_alert(&draft, &actor)?);
        self.call(|reply| Request::Create { new, reply }).await?
    }

    pub async fn alert(&self, id: RecordId) -> Result<AlertRecord, EngineError> {
        self.call(|reply| Request::GetAlert { id, reply }).await?
    }

    /// Adds an event to a record's timeline, acted by `actor`, recorded at this node now. Answers once it is on
    /// disk, with the event as recorded.
    pub async fn add_event(
        &self,
        id: RecordId,
        kind: EventKind,
        note: Option<String>,
        actor: String,
    ) -> Result<Event, EngineError> {
        let actor = actor_name(&actor)?;
        let note = note
            .map(|n| hifazat_domain::validate::optional_text(&n, limits::NOTE_CHARS_MAX))
            .transpose()
            .map_err(|reason| Invalid::one("note", reason))?
            .filter(|n| !n.is_empty());
        let event = Event {
            kind,
            at_ms: self.local.clock.now_ms(),
            by: actor,
            node: self.local.node_name.clone(),
            note,
        };
        let sent = event.clone();
        self.call(|reply| Request::AddEvent {
            id,
            event: sent,
            reply,
        })
        .await??;
        Ok(event)
    }

    /// Adds a sighting to an alert. Answers once it is on disk, with the alert's number of sightings.
    pub async fn add_sighting(
        &self,
        id: RecordId,
        draft: SightingDraft,
        actor: String,
    ) -> Result<usize, EngineError> {
        let actor = actor_name(&actor)?;
        let now = self.local.clock.now_ms();
        let sighting = draft.validate(&Context {
            districts: &self.local.topology,
            now_ms: now,
        })?;
        self.call(|reply| Request::AddSighting {
            id,
            sighting: Box::new(sighting),
            actor,
            now_ms: now,
            reply,
        })
        .await?
    }

    /// A page of this node's alerts, newest first, that `keep` keeps (given each summary and its lower-case
    /// searchable text: name, description, place): at most `limit`, starting below `before`, reading only the
    /// records `narrow` allows. Stops after looking at `LIST_SCAN_MAX` records and says where to go on.
    pub async fn list_alerts(
        &self,
        keep: impl Fn(&AlertSummary, &str) -> bool + Send + 'static,
        narrow: Narrow,
        before: Option<RecordId>,
        limit: usize,
    ) -> Result<Page<AlertSummary>, EngineError> {
        self.list(RecordKind::Alert, narrow, before, limit, move |bytes| {
            serde_json::from_slice::<summary::Stored<AlertSummary>>(bytes)
                .ok()
                .filter(|s| keep(&s.summary, &s.search))
                .map(|s| s.summary)
        })
        .await
    }

    /// A page of this node's cases, as [`Engine::list_alerts`].
    pub async fn list_cases(
        &self,
        keep: impl Fn(&CaseSummary) -> bool + Send + 'static,
        narrow: Narrow,
        before: Option<RecordId>,
        limit: usize,
    ) -> Result<Page<CaseSummary>, EngineError> {
        self.list(RecordKind::Case, narrow, before, limit, move |bytes| {
            serde_json::from_slice::<summary::Stored<CaseSummary>>(bytes)
                .ok()
                .map(|s| s.summary)
                .filter(|s| keep(s))
        })
        .await
    }

    async fn list<T: Send + 'static>(
        &self,
        kind: RecordKind,
        narrow: Narrow,
        before: Option<RecordId>,
        limit: usize,
        pick: impl Fn(&[u8]) -> Option<T> + Send + 'static,
    ) -> Result<Page<T>, EngineError> {
        let store = self.local.store.clone();
        let limit = limit.clamp(1, limits::LIST_PAGE_MAX);
        let page = tokio::task::spawn_blocking(move || -> Result<Page<T>, StoreError> {
            if let Some(districts) = &narrow.districts {
                return places::page(
                    &store,
                    kind,
                    &narrow,
                    districts,
                    before.as_ref(),
                    limit,
                    pick,
                );
            }
            let mut page = Page {
                items: Vec::new(),
                next: None,
                scanned: 0,
            };
            for item in store.summaries(kind, before.as_ref()) {
                let (id, bytes) = item?;
                page.scanned += 1;
                if let Some(t) = pick(&bytes) {
                    page.items.push(t);
                }
                if page.items.len() == limit || page.scanned == limits::LIST_SCAN_MAX {
                    page.next = Some(id);
                    break;
                }
            }
            Ok(page)
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        // What the scan saw was applied before this barrier: it answers once that is on disk.
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(page)
    }

    /// Folds every alert summary of this node into `acc` (for statistics), on a blocking thread, reading at most
    /// `STATS_SCAN_MAX`. Answers with the result and whether every summary was read.
    pub async fn fold_alerts<A: Send + 'static>(
        &self,
        acc: A,
        f: impl FnMut(&mut A, AlertSummary) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        self.fold(RecordKind::Alert, acc, f).await
    }

    /// Folds every found child's report summary of this node into `acc`, as [`Engine::fold_alerts`].
    pub async fn fold_found<A: Send + 'static>(
        &self,
        acc: A,
        f: impl FnMut(&mut A, FoundSummary) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        self.fold(RecordKind::Found, acc, f).await
    }

    /// Folds every case summary of this node into `acc`, as [`Engine::fold_alerts`].
    pub async fn fold_cases<A: Send + 'static>(
        &self,
        acc: A,
        f: impl FnMut(&mut A, CaseSummary) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        self.fold(RecordKind::Case, acc, f).await
    }

    async fn fold<A: Send + 'static, T: serde::de::DeserializeOwned>(
        &self,
        kind: RecordKind,
        mut acc: A,
        mut f: impl FnMut(&mut A, T) + Send + 'static,
    ) -> Result<(A, bool), EngineError> {
        let store = self.local.store.clone();
        let folded = tokio::task::spawn_blocking(move || -> Result<(A, bool), StoreError> {
            for (scanned, item) in store.summaries(kind, None).enumerate() {
                if scanned == limits::STATS_SCAN_MAX {
                    return Ok((acc, false));
                }
                let (_, bytes) = item?;
                if let Ok(s) = serde_json::from_slice::<summary::Stored<T>>(&bytes) {
                    f(&mut acc, s.summary);
                }
            }
            Ok((acc, true))
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        self.call(|reply| Request::Barrier { reply }).await?;
        Ok(folded)
    }

    /// The case a tracking code was given to, if this node holds it.
    pub async fn case_by_tracking(&self, code: &str) -> Result<Option<CaseRecord>, EngineError> {
        let store = self.local.store.clone();
        let code_text = code.to_owned();
        let code = code.to_owned();
        let id = tokio::task::spawn_blocking(move || store.tracking(&code))
            .await
            .map_err(|_| EngineError::Stopped)??;
        match id {
            None => Ok(None),
            Some(id) => match self.case(id).await {
                Ok(case) if messages::is_current(&case.doc, &code_text) => Ok(Some(case)),
                Ok(_) => Ok(None),
                Err(EngineError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// The clock this engine reads (the node's parts read the time from it, so a test or tool that gives the
    /// engine another clock gives it to them all).
    pub fn clock(&self) -> &hifazat_domain::Clock {
        &self.local.clock
    }

    /// Now, by [`Engine::clock`].
    pub fn now_ms(&self) -> u64 {
        self.local.clock.now_ms()
    }

    /// This node's name in the topology.
    pub fn node_name(&self) -> &str {
        &self.local.node_name
    }

    /// The topology this engine checks districts against.
    pub fn topology(&self) -> &Topology {
        &self.local.topology
    }

    /// Whether this node files complaints for `district`: districts on its own line only (its district; a
    /// province's districts; any district at the federal node), since only those nodes may hold the case's log.
    pub fn files_cases_for(&self, district: &str) -> bool {
        self.local.files_cases_for(district)
    }

    /// Files a complaint case. Answers once it is on disk, with the case's id and its tracking code (for the
    /// complainant, who follows the case with it).
    pub async fn file_case(
        &self,
        draft: CaseDraft,
        actor: String,
    ) -> Result<(RecordId, String), EngineError> {
        let new = Box::new(self.local.new_case(&draft, &actor)?);
        let code = new.tracking.clone().unwrap_or_default();
        let id = self.call(|reply| Request::Create { new, reply }).await??;
        Ok((id, code))
    }

    /// Reports a found child. Answers once the report is on disk; its photos are then kept here for good.
    pub async fn report_found(
        &self,
        draft: FoundDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        let new = Box::new(self.local.new_found(&draft, &actor)?);
        self.call(|reply| Request::Create { new, reply }).await?
    }

    pub async fn found(&self, id: RecordId) -> Result<FoundRecord, EngineError> {
        self.call(|reply| Request::GetFound { id, reply }).await?
    }

    /// A page of this node's found children's reports, as [`Engine::list_alerts`].
    pub async fn list_found(
        &self,
        keep: impl Fn(&FoundSummary) -> bool + Send + 'static,
        narrow: Narrow,
        before: Option<RecordId>,
        limit: usize,
    ) -> Result<Page<FoundSummary>, EngineError> {
        self.list(RecordKind::Found, narrow, before, limit, move |bytes| {
            serde_json::from_slice::<summary::Stored<FoundSummary>>(bytes)
                .ok()
                .filter(|s| keep(&s.summary))
                .map(|s| s.summary)
        })
        .await
    }

    pub async fn case(&self, id: RecordId) -> Result<CaseRecord, EngineError> {
        self.call(|reply| Request::GetCase { id, reply }).await?
    }

    /// Verifies, stores and applies entries received from elsewhere. Decoding and signature checks run on the
    /// blocking pool, beside the engine thread; the engine then checks chains, stores and applies.
    pub async fn apply_remote(&self, entries: Vec<Vec<u8>>) -> Result<RemoteReport, EngineError> {
        self.remote(entries, false).await
    }

    /// Like [`Engine::apply_remote`], but answers as soon as the entries are applied, before they are flushed:
    /// for relaying other nodes' entries onward without waiting for this node's disk. Nothing is lost if this
    /// node crashes before the flush: the entries are the authors' signed entries, held by whoever sent them,
    /// and catch-up fetches them again. Never for this node's own entries, which are announced only once durable.
    pub async fn relay_remote(&self, entries: Vec<Vec<u8>>) -> Result<RemoteReport, EngineError> {
        self.remote(entries, true).await
    }

    /// Like [`Engine::relay_remote`], for entries whose signatures the caller has verified. The request is queued
    /// before this returns (unless the engine's queue is full), so entries given in successive calls are applied
    /// in that order; the future waits for the answer.
    pub fn relay_verified(
        &self,
        entries: Vec<VerifiedEntry>,
    ) -> impl Future<Output = Result<RemoteReport, EngineError>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let request = Request::ApplyRemote {
            checked: Box::new(Checked::verified(entries, &self.local.topology)),
            early: true,
            reply,
        };
        let queued = match self.tx.try_send(request) {
            Ok(()) => Ok(None),
            Err(mpsc::error::TrySendError::Full(request)) => Ok(Some((self.tx.clone(), request))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(EngineError::Stopped),
        };
        async move {
            if let Some((tx, request)) = queued? {
                tx.send(request).await.map_err(|_| EngineError::Stopped)?;
            }
            rx.await.map_err(|_| EngineError::Stopped)
        }
    }

    async fn remote(
        &self,
        entries: Vec<Vec<u8>>,
        early: bool,
    ) -> Result<RemoteReport, EngineError> {
        let local = self.local.clone();
        let checked = tokio::task::spawn_blocking(move || Checked::new(entries, &local.topology))
            .await
            .map_err(|_| EngineError::Stopped)?;
        self.call(|reply| Request::ApplyRemote {
            checked: Box::new(checked),
            early,
            reply,
        })
        .await
    }

    /// Answers once everything applied before this call is on disk.
    pub async fn barrier(&self) -> Result<(), EngineError> {
        self.call(|reply| Request::Barrier { reply }).await
    }

    /// Our own new entries, each batch announced once it is durable. A receiver that falls more than
    /// `WRITTEN_QUEUE_MAX` batches behind is told it lagged, and should read the heads again.
    pub fn subscribe_written(&self) -> tokio::sync::broadcast::Receiver<Written> {
        self.local.written.subscribe()
    }

    /// Every record that changes on this node, local or remote, each announced once durable. A receiver that
    /// falls more than `CHANGES_QUEUE_MAX` changes behind is told it lagged.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.local.changes.subscribe()
    }

    /// The heads of every log in the store. Reads only what has been applied; everything this engine applies is
    /// flushed before any answer depends on it.
    pub async fn heads(&self) -> Result<Vec<hifazat_store::StoredHead>, EngineError> {
        let store = self.local.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.heads())
            .await
            .map_err(|_| EngineError::Stopped)??)
    }

    /// For each author whose logs this node holds, the newest time (by the author's own clock) among those logs'
    /// last entries: how fresh this node's picture of that author's work is.
    pub async fn newest_by_author(
        &self,
    ) -> Result<std::collections::BTreeMap<hifazat_log::Author, u64>, EngineError> {
        let store = self.local.store.clone();
        let newest = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let mut newest = std::collections::BTreeMap::new();
            for head in store.heads()? {
                let last = store.entries(&head.log.digest(), head.head.seq, 1)?;
                let Some(Ok(entry)) = last.first().map(|b| hifazat_log::Entry::decode(b)) else {
                    continue;
                };
                let at = entry.content().timestamp_ms;
                newest
                    .entry(head.log.author)
                    .and_modify(|t: &mut u64| *t = (*t).max(at))
                    .or_insert(at);
            }
            Ok(newest)
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        Ok(newest)
    }

    /// Entries `after + 1 ..= up_to` of a log, in order, stopping before their bytes would pass `bytes_max`
    /// (at least one entry is returned if there is one).
    pub async fn log_range(
        &self,
        log: Hash,
        after: u64,
        up_to: u64,
        bytes_max: usize,
    ) -> Result<Vec<Vec<u8>>, EngineError> {
        let store = self.local.store.clone();
        let limit = up_to
            .saturating_sub(after)
            .min(limits::SYNC_PULL_ENTRIES_MAX as u64) as usize;
        let entries = tokio::task::spawn_blocking(move || store.entries(&log, after + 1, limit))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let mut out = Vec::with_capacity(entries.len());
        let mut bytes = 0;
        for e in entries {
            if bytes + e.len() > bytes_max && !out.is_empty() {
                break;
            }
            bytes += e.len();
            out.push(e);
        }
        Ok(out)
    }

    pub async fn stats(&self) -> Result<Stats, EngineError> {
        self.call(|reply| Request::Stats { reply }).await
    }

    /// A blocking variant of [`Engine::raise_alert`] for callers outside an async runtime (benchmarks, tools).
    pub fn raise_alert_blocking(
        &self,
        draft: AlertDraft,
        actor: String,
    ) -> Result<RecordId, EngineError> {
        let new = Box::new(self.local.new_alert(&draft, &actor)?);
        let (reply, rx) = oneshot::channel();
        self.tx
            .blocking_send(Request::Create { new, reply })
            .map_err(|_| EngineError::Stopped)?;
        rx.blocking_recv().map_err(|_| EngineError::Stopped)?
    }
}
