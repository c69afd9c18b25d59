//! Federation sync as a sans-IO state machine: what peers say to each other, and what a node does about it (who
//! may hold what is the topology's to say: `hifazat_topology::may_hold`).
//!
//! [`Sync::handle`] takes an [`Input`] (a peer connected, a message or gossip arrived, our own entries became
//! durable, entries were applied, time passed) and the caller's clock, and returns [`Effect`]s (send, publish,
//! apply, serve, dial, disconnect, install a topology). Nothing in here does IO, reads a clock or draws random
//! numbers, so the same code runs in the node (over libp2p) and in the seeded simulator (`crates/sim`).
//!
//! Live: our own alert entries are published on the alerts gossip topic; gossip arriving here is checked and
//! applied before the gossip layer may forward it (`Accept`, `Ignore` when entries before it are missing,
//! `Reject` only when it is invalid). Case entries are pushed to the connected peers on the case's line, and
//! passed on by each node that stores them (a gossip topic cannot stop a subscriber from reading what it may
//! not hold). Catch-up: peers exchange vectors of their heads on connect and when there is news, and pull what
//! they miss in bounded batches, one pull per log at a time, from whichever peer holds most of it.
//! Membership: only members of the newest valid signed topology may connect; a newer topology spreads through
//! the vectors (they carry its version) and takes effect on arrival.

mod core;
pub mod message;

pub use crate::core::{
    ALERTS_TOPIC, CheckResult, Config, Counters, Effect, GossipId, Input, Outcome, PeerView,
    StartError, Sync, Ticket, Verdict,
};
pub use message::{LogHead, Message, MessageError};
