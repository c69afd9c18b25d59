//! The libp2p swarm: its behaviours (the allow list first, then connection limits, identify, ping, gossipsub and
//! the sync request-response protocol) over TCP with noise and yamux.

use super::*;

pub(super) fn multiaddr(address: SocketAddr) -> Multiaddr {
    let mut m = Multiaddr::empty();
    match address.ip() {
        std::net::IpAddr::V4(ip) => m.push(Protocol::Ip4(ip)),
        std::net::IpAddr::V6(ip) => m.push(Protocol::Ip6(ip)),
    }
    m.push(Protocol::Tcp(address.port()));
    m
}

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    /// First, so a non-member's connection is refused before any other protocol sees it.
    pub(super) allow: allow_block_list::Behaviour<AllowedPeers>,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) identify: identify::Behaviour,
    /// A link that stops carrying packets shows no error on an idle TCP connection; pings notice, and the
    /// connection is closed so the peer shows as gone and is dialled again.
    pub(super) ping: ping::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) sync: request_response::Behaviour<codec::SyncCodec>,
}

pub(super) fn build_swarm(
    keypair: libp2p::identity::Keypair,
) -> Result<Swarm<Behaviour>, NetError> {
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
