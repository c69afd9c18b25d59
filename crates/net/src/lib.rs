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

mod actor;
mod capture;
mod codec;
mod identity;
mod swarm;

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

use actor::{Actor, RefusalLog, log_heads};
pub use capture::Capture;
pub use identity::{author_of, peer_id_of};
use swarm::{Behaviour, BehaviourEvent, build_swarm, multiaddr};

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
