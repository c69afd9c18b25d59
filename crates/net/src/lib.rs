//! The node's network: libp2p (TCP, noise, yamux, gossipsub, request-response, identify) driving the sans-IO
//! sync state machine of `hifazat-sync`. This crate is the only user of libp2p.
//!
//! Actor shape: [`Net`] is a cloneable handle over a bounded channel; one task owns the swarm and the state
//! machine, and turns swarm events, the engine's announcements of our own new entries and a periodic tick into
//! [`Input`]s, and [`Effect`]s into swarm calls and engine calls. Engine calls run as their own tasks and report
//! back through the same channel, so the swarm never waits on the disk.
//!
//! A node's libp2p identity is its ed25519 node key, so a peer id names a topology member exactly. Only the
//! members of the newest valid topology are on the allow list: anyone else's connection is closed as soon as
//! the handshake proves who it is. mDNS is not compiled in: peers come from the topology alone.

mod codec;
mod identity;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hifazat_engine::{CheckpointCheck, Engine, EntryOutcome};
use hifazat_limits as limits;
use hifazat_log::Author;
use hifazat_note::VerifierKey;
use hifazat_sync::{
    ALERTS_TOPIC, CheckResult, Config, Counters, Effect, Input, LogHead, Message, Outcome,
    PeerView, Sync, Verdict,
};
use libp2p::allow_block_list::{self, AllowedPeers};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, connection_limits, identify, noise, ping, tcp, yamux,
};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::Instrument;

pub use identity::{author_of, peer_id_of};

/// The request-response protocol that carries sync messages.
pub const SYNC_PROTOCOL: &str = "/hifazat/sync/1";

#[derive(Debug, Error)]
pub enum NetError {
    #[error("the sync state machine would not start: {0}")]
    Sync(#[from] hifazat_sync::StartError),
    #[error("the node key is not a valid ed25519 key")]
    Key,
    #[error("libp2p: {0}")]
    Transport(String),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, String),
    #[error("the engine: {0}")]
    Engine(#[from] hifazat_engine::EngineError),
    #[error("the network has stopped")]
    Stopped,
}

/// Everything the network needs to start.
#[derive(Debug)]
pub struct NetConfig {
    /// The node's name, for logs.
    pub name: String,
    /// The node key's secret seed (its ed25519 signing key).
    pub seed: [u8; 32],
    /// Where to listen for peers.
    pub listen: SocketAddr,
    /// The federal root's verifier key.
    pub root: VerifierKey,
    /// The installed signed topology.
    pub signed_topology: Vec<u8>,
    /// Where a newer signed topology is written when one arrives.
    pub topology_path: PathBuf,
    pub engine: Engine,
    /// When set, every sync and gossip message this node sends or receives is appended to this file as it is
    /// sent (before the transport encrypts it), for audits of what leaves a node (see [`Capture`]).
    pub capture: Option<PathBuf>,
}

/// A capture of a node's protocol traffic: per message a direction byte (`>` sent, `<` received), a kind byte
/// (`S` sync message, `G` gossip message data), the length (4 bytes, big-endian), then the bytes. Written and
/// flushed message by message; for audits and tests, not for production load.
#[derive(Debug)]
pub struct Capture {
    file: std::io::BufWriter<std::fs::File>,
}

impl Capture {
    pub fn create(path: &std::path::Path) -> std::io::Result<Capture> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Capture {
            file: std::io::BufWriter::new(file),
        })
    }

    fn record(&mut self, direction: u8, kind: u8, bytes: &[u8]) {
        use std::io::Write;
        let written = self
            .file
            .write_all(&[direction, kind])
            .and_then(|()| self.file.write_all(&(bytes.len() as u32).to_be_bytes()))
            .and_then(|()| self.file.write_all(bytes))
            .and_then(|()| self.file.flush());
        if let Err(e) = written {
            tracing::warn!(error = %e, "writing the traffic capture failed");
        }
    }

    /// Reads a capture back: (direction, kind, bytes) per message.
    pub fn read(bytes: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 6 {
            let len = u32::from_be_bytes(rest[2..6].try_into().expect("4 bytes")) as usize;
            if rest.len() < 6 + len {
                break;
            }
            out.push((rest[0], rest[1], rest[6..6 + len].to_vec()));
            rest = &rest[6 + len..];
        }
        out
    }
}

/// What `GET /api/v1/peers` shows.
#[derive(Debug, Clone)]
pub struct PeersReport {
    /// The version of the topology this node runs.
    pub topology_version: u64,
    pub peers: Vec<PeerView>,
    pub counters: Counters,
    /// Gossip messages published that reached no peer (alerts then travel by catch-up).
    pub publish_failures: u64,
    /// The network's clock now, on which `PeerView::last_vector_ms` is read.
    pub now_ms: u64,
    pub traffic: Traffic,
}

/// Bytes this node's sync protocol moved: sync messages with their request-response framing (the 4-byte length
/// and the 1-byte acknowledgement), and gossip message data. Not counted: noise, yamux and TCP overhead, gossip
/// control messages, identify and ping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub sync_bytes_in: u64,
    pub sync_bytes_out: u64,
    pub gossip_bytes_in: u64,
    pub gossip_bytes_out: u64,
}

enum Command {
    Peers(oneshot::Sender<PeersReport>),
    /// An input for the state machine, from one of the actor's tasks or a handle.
    Input(Input),
    Send {
        peer: Author,
        message: Message,
    },
}

/// A handle to the running network. Cheap to clone; the network stops when every handle is dropped.
#[derive(Clone, Debug)]
pub struct Net {
    tx: mpsc::Sender<Command>,
    /// The address peers reach this node at.
    pub listening: Multiaddr,
    pub peer_id: PeerId,
}

impl Net {
    /// Starts listening and the network task.
    pub async fn start(config: NetConfig) -> Result<Net, NetError> {
        let keypair = libp2p::identity::Keypair::ed25519_from_bytes(config.seed)
            .map_err(|_| NetError::Key)?;
        let me = author_of(&keypair.public().to_peer_id()).ok_or(NetError::Key)?;
        let heads = log_heads(config.engine.heads().await?);
        let audit =
            |e: hifazat_engine::AuditError| NetError::Transport(format!("reading the store: {e}"));
        let checkpoints = config
            .engine
            .checkpoints()
            .await
            .map_err(audit)?
            .into_iter()
            .map(|(log, note)| (log, note.into_bytes()))
            .collect();
        let evidence = config.engine.evidence().await.map_err(audit)?;
        let sync = Sync::new(Config {
            me,
            root: config.root,
            signed_topology: config.signed_topology,
            heads,
            checkpoints,
            evidence,
        })?;
        let witness_key = Arc::new(
            hifazat_note::SignerKey::new(&config.name, config.seed).map_err(|_| NetError::Key)?,
        );
        let mut swarm = build_swarm(keypair)?;
        for member in sync.members() {
            if let Some(peer) = peer_id_of(&member) {
                swarm.behaviour_mut().allow.allow_peer(peer);
            }
        }
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&IdentTopic::new(ALERTS_TOPIC))
            .map_err(|e| NetError::Transport(e.to_string()))?;
        let address = multiaddr(config.listen);
        swarm
            .listen_on(address.clone())
            .map_err(|e| NetError::Listen(config.listen, e.to_string()))?;
        // Wait for the listener, so a bad address fails here and not later.
        let listening = loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => break address,
                SwarmEvent::ListenerError { error, .. }
                | SwarmEvent::ListenerClosed {
                    reason: Err(error), ..
                } => {
                    return Err(NetError::Listen(config.listen, error.to_string()));
                }
                _ => {}
            }
        };
        let capture = match &config.capture {
            Some(path) => Some(Capture::create(path).map_err(|e| {
                NetError::Transport(format!("traffic capture {}: {e}", path.display()))
            })?),
            None => None,
        };
        let peer_id = *swarm.local_peer_id();
        let (tx, rx) = mpsc::channel(limits::SYNC_APPLYING_MAX + limits::SYNC_SERVES_MAX + 64);
        let written = config.engine.subscribe_written();
        let actor = Actor {
            swarm,
            sync,
            engine: config.engine,
            tx: tx.clone(),
            started: Instant::now(),
            gossip_sources: HashMap::new(),
            serves: Arc::new(Semaphore::new(limits::SYNC_SERVES_MAX)),
            topology_path: config.topology_path,
            publish_failures: 0,
            traffic: Traffic::default(),
            capture,
            witness_key,
            alive: HashMap::new(),
            refusals: RefusalLog::default(),
        };
        let span = tracing::info_span!("sync", node = %config.name);
        tokio::spawn(actor.run(rx, written).instrument(span));
        Ok(Net {
            tx,
            listening,
            peer_id,
        })
    }

    /// Offers a checkpoint this node signed of one of its own logs, and keeps on disk: to its witness, and once
    /// cosigned, to everyone who may hold the log.
    pub async fn signed(&self, log: hifazat_log::Hash, note: String) -> Result<(), NetError> {
        self.tx
            .send(Command::Input(Input::Signed {
                log,
                note: note.into_bytes(),
            }))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// The peers, their sync state and lag.
    pub async fn peers(&self) -> Result<PeersReport, NetError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Peers(reply))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }
}

fn multiaddr(address: SocketAddr) -> Multiaddr {
    let mut m = Multiaddr::empty();
    match address.ip() {
        std::net::IpAddr::V4(ip) => m.push(Protocol::Ip4(ip)),
        std::net::IpAddr::V6(ip) => m.push(Protocol::Ip6(ip)),
    }
    m.push(Protocol::Tcp(address.port()));
    m
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// First, so a non-member's connection is refused before any other protocol sees it.
    allow: allow_block_list::Behaviour<AllowedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    /// A link that stops carrying packets shows no error on an idle TCP connection; pings notice, and the
    /// connection is closed so the peer shows as gone and is dialled again.
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<codec::SyncCodec>,
}

fn build_swarm(keypair: libp2p::identity::Keypair) -> Result<Swarm<Behaviour>, NetError> {
    let transport = |e: &dyn std::fmt::Display| NetError::Transport(e.to_string());
    let gossip_config = gossipsub::ConfigBuilder::default()
        // Gossip messages carry no signature, sender or sequence number of their own: each is an entry its author
        // signed, checked before it is forwarded, and the relaying peer is known from the connection.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        // Nothing is forwarded before the node has checked it (`docs/wire.md`, "Gossip").
        .validate_messages()
        // Ids are content hashes: the same entry is the same message, whoever relays it.
        .message_id_fn(|m: &gossipsub::Message| MessageId::new(&Sha256::digest(&m.data)))
        .max_transmit_size(limits::ENTRY_BYTES_MAX + 1024)
        .heartbeat_interval(Duration::from_millis(limits::GOSSIP_HEARTBEAT_MS))
        .build()
        .map_err(|e| transport(&e))?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| transport(&e))?
        .with_behaviour(|key| {
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Anonymous,
                gossip_config,
            )?;
            Ok(Behaviour {
                allow: allow_block_list::Behaviour::default(),
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_per_peer(Some(2))
                        .with_max_established(Some(limits::TOPOLOGY_NODES_MAX as u32))
                        .with_max_pending_incoming(Some(limits::P2P_PENDING_INCOMING_MAX)),
                ),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/hifazat/1".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::new(
                    ping::Config::new()
                        .with_interval(Duration::from_millis(limits::P2P_PING_INTERVAL_MS))
                        .with_timeout(Duration::from_millis(limits::P2P_PING_TIMEOUT_MS)),
                ),
                gossipsub,
                sync: request_response::Behaviour::new(
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_millis(limits::SYNC_PULL_TIMEOUT_MS))
                        .with_max_concurrent_streams(limits::SYNC_STREAMS_MAX),
                ),
            })
        })
        .map_err(|e| transport(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    Ok(swarm)
}

struct Actor {
    swarm: Swarm<Behaviour>,
    sync: Sync,
    engine: Engine,
    tx: mpsc::Sender<Command>,
    started: Instant,
    /// Who relayed each gossip message waiting for its verdict.
    gossip_sources: HashMap<hifazat_log::Hash, PeerId>,
    /// Reads for peers' pulls under way.
    serves: Arc<Semaphore>,
    topology_path: PathBuf,
    publish_failures: u64,
    traffic: Traffic,
    capture: Option<Capture>,
    /// This node's key under its topology name, for cosigning the checkpoints it witnesses.
    witness_key: Arc<hifazat_note::SignerKey>,
    /// Each open connection's peer and when it last showed it is alive (opened, or answered a ping).
    alive: HashMap<ConnectionId, (PeerId, Instant)>,
    /// Refusals of non-members, logged at most once per peer per `P2P_REFUSED_LOG_EVERY_MS`.
    refusals: RefusalLog,
}

/// When each refused peer was last logged, and how many of its refusals have not been logged since; bounded by
/// `P2P_REFUSED_LOGGED_MAX` peers, past which the rest share one more entry.
#[derive(Debug, Default)]
struct RefusalLog {
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
fn log_heads(heads: Vec<hifazat_engine::StoredHead>) -> Vec<LogHead> {
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

    async fn run(
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
                c.record(b'>', b'S', &bytes);
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
                if let Some(c) = &mut self.capture {
                    c.record(b'<', b'S', &request);
                }
                let Some(author) = author_of(&peer) else {
                    return;
                };
                match Message::decode(&request) {
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
