//! The task that owns the swarm and the sync state machine: swarm events, the engine's announcements and a tick in,
//! effects out as swarm calls and engine calls (those run as tasks of their own and report back).

use super::*;

pub(super) struct Actor {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) sync: Sync,
    pub(super) engine: Engine,
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) started: Instant,
    /// Who relayed each gossip message waiting for its verdict.
    pub(super) gossip_sources: HashMap<hifazat_log::Hash, PeerId>,
    /// Reads for peers' pulls under way.
    pub(super) serves: Arc<Semaphore>,
    pub(super) topology_path: PathBuf,
    pub(super) publish_failures: u64,
    pub(super) traffic: Traffic,
    pub(super) capture: Option<Capture>,
    /// This node's key under its topology name, for cosigning the checkpoints it witnesses.
    pub(super) witness_key: Arc<hifazat_note::SignerKey>,
    /// Each open connection's peer and when it last showed it is alive (opened, or answered a ping).
    pub(super) alive: HashMap<ConnectionId, (PeerId, Instant)>,
    /// Refusals of non-members, logged at most once per peer per `P2P_REFUSED_LOG_EVERY_MS`.
    pub(super) refusals: RefusalLog,
}

/// When each refused peer was last logged, and how many of its refusals have not been logged since; bounded by
/// `P2P_REFUSED_LOGGED_MAX` peers, past which the rest share one more entry.
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    peers: HashMap<Option<PeerId>, (Instant, u64)>,
}

impl RefusalLog {
    /// Notes one refusal of `peer`; returns how many refusals to report now (this one included), or `None` while
    /// the peer was logged less than `P2P_REFUSED_LOG_EVERY_MS` ago.
    fn refused(&mut self, peer: Option<PeerId>, now: Instant) -> Option<u64> {
        let every = Duration::from_millis(limits::P2P_REFUSED_LOG_EVERY_MS);
        if !self.peers.contains_key(&peer) && self.peers.len() >= limits::P2P_REFUSED_LOGGED_MAX {
            self.peers
                .retain(|_, (logged, _)| now.duration_since(*logged) < every);
        }
        // Still full: peers not remembered are logged as one.
        let key = if self.peers.contains_key(&peer)
            || self.peers.len() < limits::P2P_REFUSED_LOGGED_MAX
        {
            peer
        } else {
            None
        };
        match self.peers.get_mut(&key) {
            Some((logged, unlogged)) if now.duration_since(*logged) < every => {
                *unlogged += 1;
                None
            }
            Some((logged, unlogged)) => {
                let count = *unlogged + 1;
                *logged = now;
                *unlogged = 0;
                Some(count)
            }
            None => {
                self.peers.insert(key, (now, 0));
                Some(1)
            }
        }
    }
}

/// The store's heads as the state machine takes them.
pub(super) fn log_heads(heads: Vec<hifazat_engine::StoredHead>) -> Vec<LogHead> {
    heads
        .into_iter()
        .map(|h| LogHead {
            log: h.log,
            seq: h.head.seq,
            hash: h.head.hash,
        })
        .collect()
}

impl Actor {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut written: tokio::sync::broadcast::Receiver<hifazat_engine::Written>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(limits::SYNC_TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(peer_id = %self.swarm.local_peer_id(), "network started");
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.swarm_event(event),
                command = rx.recv() => match command {
                    // Only the handles and the actor's own tasks send; with every handle gone the actor ends.
                    None => break,
                    Some(command) => self.command(command),
                },
                batch = written.recv() => match batch {
                    Ok(entries) => self.input(Input::Written { entries: entries.to_vec() }),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(batches = n, "fell behind the engine's announcements; re-reading heads");
                        self.reread_heads();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    self.close_silent();
                    self.input(Input::Tick);
                }
            }
        }
        tracing::info!("network stopped");
    }

    /// Reads every log's head from the engine on a task of its own, so the loop never waits on the disk, and
    /// hands them to the state machine as an input when they arrive.
    fn reread_heads(&self) {
        let (engine, tx) = (self.engine.clone(), self.tx.clone());
        tokio::spawn(async move {
            if let Ok(heads) = engine.heads().await {
                let heads = log_heads(heads);
                let _ = tx.send(Command::Input(Input::Stored { heads })).await;
            }
        });
    }

    fn input(&mut self, input: Input) {
        let now = self.now_ms();
        for effect in self.sync.handle(input, now) {
            self.effect(effect);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Peers(reply) => {
                let _ = reply.send(PeersReport {
                    topology_version: self.sync.topology().version,
                    peers: self.sync.peers(),
                    counters: self.sync.counters().clone(),
                    publish_failures: self.publish_failures,
                    now_ms: self.now_ms(),
                    traffic: self.traffic,
                });
            }
            Command::Input(input) => self.input(input),
            Command::Send { peer, message } => self.send(peer, message),
        }
    }

    fn send(&mut self, peer: Author, message: Message) {
        if let Some(peer_id) = peer_id_of(&peer) {
            let bytes = message.encode();
            self.traffic.sync_bytes_out += bytes.len() as u64 + 5;
            if let Some(c) = &mut self.capture {
                // As the message is, not packed: what leaves the node is searched for in captures.
                c.record(b'>', b'S', &message.encode_plain());
            }
            self.swarm
                .behaviour_mut()
                .sync
                .send_request(&peer_id, bytes);
        }
    }

    /// Closes every connection whose peer has answered no ping for `P2P_PEER_SILENT_MAX_MS`: the link is taken
    /// to be cut, and the peer shows as gone until a dial reaches it again.
    fn close_silent(&mut self) {
        let silent_max = Duration::from_millis(limits::P2P_PEER_SILENT_MAX_MS);
        let now = Instant::now();
        let silent: Vec<(ConnectionId, PeerId, Duration)> = self
            .alive
            .iter()
            .map(|(id, (peer, at))| (*id, *peer, now.duration_since(*at)))
            .filter(|(_, _, silence)| *silence > silent_max)
            .collect();
        for (connection, peer, silence) in silent {
            tracing::info!(%peer, silence_ms = silence.as_millis() as u64, "peer silent too long; closing the connection");
            // Checked once: the connection leaves the map now, and the swarm reports it closed shortly.
            self.alive.remove(&connection);
            self.swarm.close_connection(connection);
        }
    }

    /// Counts a connection the allow list refused (the other end proved a key that is not a member), and logs it
    /// at most once per peer per `P2P_REFUSED_LOG_EVERY_MS`.
    fn refused(&mut self, peer_id: Option<PeerId>, address: &Multiaddr) {
        let peer = peer_id.as_ref().and_then(author_of);
        self.input(Input::Refused { peer });
        if let Some(refusals) = self.refusals.refused(peer_id, Instant::now()) {
            let peer = peer_id.map_or_else(|| "(unknown)".to_owned(), |p| p.to_string());
            tracing::info!(%peer, %address, refusals, "refused a connection from a peer that is not a member of the topology");
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.alive.insert(connection_id, (peer_id, Instant::now()));
                if num_established.get() == 1
                    && let Some(peer) = author_of(&peer_id)
                {
                    tracing::info!(peer = %peer_id, name = self.name_of(&peer), "peer connected");
                    self.input(Input::Connected { peer });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.alive.remove(&connection_id);
                if num_established == 0
                    && let Some(peer) = author_of(&peer_id)
                {
                    tracing::info!(peer = %peer_id, name = self.name_of(&peer), "peer disconnected");
                    self.input(Input::Disconnected { peer });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Ok(_),
                ..
            })) => {
                if let Some((_, at)) = self.alive.get_mut(&connection) {
                    *at = Instant::now();
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                self.traffic.gossip_bytes_in += message.data.len() as u64;
                if let Some(c) = &mut self.capture {
                    c.record(b'<', b'G', &message.data);
                }
                // The message id is the content's SHA-256 already (`message_id_fn`): not hashed again.
                let id = <[u8; 32]>::try_from(message_id.0.as_slice())
                    .ok()
                    .map(hifazat_log::Hash);
                match (author_of(&propagation_source), id) {
                    (Some(from), Some(id))
                        if self.gossip_sources.len() < limits::SYNC_APPLYING_MAX * 4 =>
                    {
                        self.gossip_sources.insert(id, propagation_source);
                        self.input(Input::Gossip {
                            from,
                            id,
                            entry: message.data,
                        });
                    }
                    _ => {
                        self.swarm
                            .behaviour_mut()
                            .gossipsub
                            .report_message_validation_result(
                                &message_id,
                                &propagation_source,
                                MessageAcceptance::Ignore,
                            );
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, ());
                self.traffic.sync_bytes_in += request.len() as u64 + 5;
                let decoded = Message::decode(&request);
                if let Some(c) = &mut self.capture {
                    // As the message is, not packed (what does not decode, as it came).
                    match &decoded {
                        Ok(message) => c.record(b'<', b'S', &message.encode_plain()),
                        Err(_) => c.record(b'<', b'S', &request),
                    }
                }
                let Some(author) = author_of(&peer) else {
                    return;
                };
                match decoded {
                    Ok(message) => self.input(Input::Message {
                        peer: author,
                        message,
                    }),
                    Err(e) => tracing::warn!(%peer, error = %e, "undecodable sync message"),
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, error, .. },
            )) => tracing::debug!(%peer, %error, "sync message not delivered"),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(error),
            })) => {
                tracing::info!(%peer, %error, "ping failed; closing the connection");
                self.swarm.close_connection(connection);
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause },
                send_back_addr,
                peer_id,
                ..
            } if cause
                .downcast_ref::<allow_block_list::NotAllowed>()
                .is_some() =>
            {
                self.refused(peer_id, &send_back_addr);
            }
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                ..
            } => {
                tracing::debug!(%send_back_addr, %error, "incoming connection failed");
            }
            _ => {}
        }
    }

    fn name_of(&self, peer: &Author) -> String {
        self.sync
            .member(peer)
            .map_or_else(|| "(not a member)".to_owned(), |n| n.name.clone())
    }

    fn effect(&mut self, effect: Effect) {
        match effect {
            Effect::Dial { peer, host, port } => {
                let Some(peer_id) = peer_id_of(&peer) else {
                    return;
                };
                let opts = DialOpts::peer_id(peer_id)
                    .addresses(vec![multiaddr(SocketAddr::new(host, port))])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                if let Err(e) = self.swarm.dial(opts) {
                    tracing::debug!(%peer_id, error = %e, "dial not started");
                }
            }
            Effect::Disconnect { peer, reason } => {
                if let Some(peer_id) = peer_id_of(&peer) {
                    tracing::warn!(%peer_id, %reason, "disconnecting");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                }
            }
            Effect::Send { peer, message } => self.send(peer, message),
            Effect::Publish { topic, entry } => {
                self.traffic.gossip_bytes_out += entry.len() as u64;
                if let Some(c) = &mut self.capture {
                    c.record(b'>', b'G', &entry);
                }
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(IdentTopic::new(topic), entry)
                {
                    self.publish_failures += 1;
                    tracing::debug!(error = %e, "gossip publish reached nobody; catch-up will carry it");
                }
            }
            Effect::Verdict { id, verdict } => {
                if let Some(source) = self.gossip_sources.remove(&id) {
                    let acceptance = match verdict {
                        Verdict::Accept => MessageAcceptance::Accept,
                        Verdict::Ignore => MessageAcceptance::Ignore,
                        Verdict::Reject => MessageAcceptance::Reject,
                    };
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &MessageId::new(&id.0),
                            &source,
                            acceptance,
                        );
                }
            }
            Effect::Apply { ticket, entries } => {
                let engine = self.engine.clone();
                // Other nodes' entries: relayed once applied, without waiting for our disk.
                let report = async move { engine.relay_remote(entries).await };
                self.applying(ticket, report);
            }
            Effect::Relay { ticket, entry } => {
                // Queued on the engine now, so one log's entries are applied in the order they came.
                let report = self.engine.relay_verified(vec![entry]);
                self.applying(ticket, report);
            }
            Effect::Serve {
                peer,
                log,
                after,
                up_to,
            } => {
                // A peer asking faster than we read waits for its pull to time out and asks again.
                let Ok(permit) = self.serves.clone().try_acquire_owned() else {
                    return;
                };
                let engine = self.engine.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Ok(entries) = engine
                        .log_range(log, after, up_to, limits::SYNC_PULL_BYTES_MAX)
                        .await
                    {
                        let message = Message::Entries { log, entries };
                        let _ = tx.send(Command::Send { peer, message }).await;
                    }
                });
            }
            Effect::Check {
                peer,
                log,
                size,
                note,
                cosign,
            } => {
                let engine = self.engine.clone();
                let tx = self.tx.clone();
                let key = cosign.then(|| self.witness_key.clone());
                tokio::spawn(async move {
                    let result = match engine.check_checkpoint(log, note, key).await {
                        Ok(CheckpointCheck::Kept(note)) => CheckResult::Kept {
                            note: note.into_bytes(),
                        },
                        Ok(CheckpointCheck::Short) => CheckResult::Short,
                        Ok(CheckpointCheck::Stale) => CheckResult::Stale,
                        Ok(CheckpointCheck::Differs) => {
                            tracing::warn!(%log, size, "a checkpoint's root is not that of the log held here");
                            CheckResult::Differs
                        }
                        Err(e) => {
                            tracing::warn!(%log, error = %e, "checking a checkpoint failed");
                            CheckResult::Stale
                        }
                    };
                    let input = Input::Checked {
                        peer,
                        log,
                        size,
                        result,
                    };
                    let _ = tx.send(Command::Input(input)).await;
                });
            }
            Effect::KeepEvidence {
                first,
                second,
                from,
            } => {
                let engine = self.engine.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    match engine.keep_evidence(first.clone(), second.clone()).await {
                        Ok(()) => {
                            tracing::warn!(?from, "evidence of a fork received and kept");
                            let input = Input::Evidence {
                                first,
                                second,
                                from: Some(from),
                            };
                            let _ = tx.send(Command::Input(input)).await;
                        }
                        Err(e) => tracing::error!(error = %e, "keeping evidence of a fork failed"),
                    }
                });
            }
            Effect::InstallTopology {
                signed,
                version,
                members,
            } => {
                let allowed: HashSet<PeerId> = members.iter().filter_map(peer_id_of).collect();
                let allow = &mut self.swarm.behaviour_mut().allow;
                let old: Vec<PeerId> = allow.allowed_peers().iter().copied().collect();
                for peer in old {
                    if !allowed.contains(&peer) {
                        allow.disallow_peer(peer);
                    }
                }
                for peer in allowed {
                    allow.allow_peer(peer);
                }
                if let Err(e) = hifazat_files::replace(
                    &self.topology_path,
                    &signed,
                    hifazat_files::Access::Shared,
                ) {
                    // Not fatal: the node runs the new topology now and gets it again from a peer after a restart.
                    tracing::error!(error = %e, path = %self.topology_path.display(), "could not store the new topology");
                }
                tracing::info!(version, "installed a newer topology");
            }
        }
    }

    /// Waits, on a task of its own, for the engine to apply a batch of remote entries, and tells the state
    /// machine; evidence of a fork found in the batch is announced once it is on disk.
    fn applying(
        &self,
        ticket: hifazat_sync::Ticket,
        report: impl Future<Output = Result<hifazat_engine::RemoteReport, hifazat_engine::EngineError>>
        + Send
        + 'static,
    ) {
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let report = match report.await {
                Ok(report) => report,
                // The engine has stopped: the node is going down.
                Err(_) => return,
            };
            let outcomes = report.outcomes.into_iter().map(outcome).collect();
            let _ = tx
                .send(Command::Input(Input::Applied { ticket, outcomes }))
                .await;
            if !report.evidence.is_empty() {
                tracing::warn!(
                    pieces = report.evidence.len(),
                    "a log was forked: evidence kept"
                );
                // Kept in the applied batch; announced once it is on disk.
                if engine.barrier().await.is_err() {
                    return;
                }
            }
            for (first, second) in report.evidence {
                let input = Input::Evidence {
                    first,
                    second,
                    from: None,
                };
                let _ = tx.send(Command::Input(input)).await;
            }
        });
    }
}

fn outcome(o: EntryOutcome) -> Outcome {
    match o {
        EntryOutcome::Stored { log, seq, hash } => Outcome::Stored(LogHead { log, seq, hash }),
        EntryOutcome::Duplicate => Outcome::Duplicate,
        EntryOutcome::Gap => Outcome::Gap,
        EntryOutcome::Conflict => Outcome::Conflict,
        EntryOutcome::Invalid(reason) => Outcome::Invalid(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerId {
        let key = libp2p::identity::Keypair::ed25519_from_bytes([n; 32]).unwrap();
        key.public().to_peer_id()
    }

    #[test]
    fn a_refused_peer_is_logged_once_a_period_with_every_refusal_counted() {
        let mut log = RefusalLog::default();
        let start = Instant::now();
        let every = Duration::from_millis(limits::P2P_REFUSED_LOG_EVERY_MS);
        assert_eq!(log.refused(Some(peer(1)), start), Some(1));
        for n in 1..34 {
            let at = start + Duration::from_millis(n * 500);
            assert_eq!(log.refused(Some(peer(1)), at), None);
        }
        // Another peer is logged on its own.
        assert_eq!(log.refused(Some(peer(2)), start), Some(1));
        // A period on, the next refusal reports the 33 that were not logged, and itself.
        assert_eq!(log.refused(Some(peer(1)), start + every), Some(34));
        assert_eq!(log.refused(Some(peer(1)), start + every), None);
    }

    #[test]
    fn refused_peers_past_the_limit_share_one_entry() {
        let mut log = RefusalLog::default();
        let start = Instant::now();
        for n in 0..limits::P2P_REFUSED_LOGGED_MAX {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
            let key = libp2p::identity::Keypair::ed25519_from_bytes(seed).unwrap();
            assert_eq!(log.refused(Some(key.public().to_peer_id()), start), Some(1));
        }
        assert_eq!(log.peers.len(), limits::P2P_REFUSED_LOGGED_MAX);
        // Full, and every entry recent: newcomers are logged as one, once a period.
        assert_eq!(log.refused(Some(peer(200)), start), Some(1));
        assert_eq!(log.refused(Some(peer(201)), start), None);
        assert!(log.peers.len() <= limits::P2P_REFUSED_LOGGED_MAX + 1);
        // A period on, the old entries are forgotten and a newcomer has its own again.
        let later = start + Duration::from_millis(limits::P2P_REFUSED_LOG_EVERY_MS);
        assert_eq!(log.refused(Some(peer(202)), later), Some(1));
        assert!(log.peers.len() <= limits::P2P_REFUSED_LOGGED_MAX + 1);
    }
}
