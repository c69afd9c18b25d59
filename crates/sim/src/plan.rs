//! What a simulation runs: the layout, the faults and how long.

use super::*;

/// How hostile the network is while faults are on.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Messages lost, per thousand.
    pub drop_per_mille: u32,
    /// Messages delivered twice, per thousand.
    pub duplicate_per_mille: u32,
    /// Delivery takes 1 ms to this (so messages overtake each other).
    pub delay_ms_max: u64,
    /// Partitions started during the faulty phase (each cuts a random set of nodes off for a while).
    pub partitions: u32,
    /// Node crashes during the faulty phase (each node comes back after a while, or at the heal).
    pub crashes: u32,
}

/// One run's shape.
#[derive(Debug, Clone)]
pub struct Plan {
    pub layout: Layout,
    pub faults: Faults,
    /// Writes (new alerts, new cases, timeline events) spread over the faulty phase.
    pub writes: u32,
    /// Length of the faulty phase, simulated milliseconds.
    pub fault_ms: u64,
    /// Longest the federation may take to converge after the heal, simulated milliseconds.
    pub settle_ms_max: u64,
    /// Whether the root publishes a second topology version in the middle of the run.
    pub topology_update: bool,
    /// Only new alerts are written, none before this time (simulated ms), and each one's spread is timed.
    pub propagation_from_ms: Option<u64>,
    /// One district node forks its alerts log: see [`Plan::fork`].
    pub fork: bool,
    /// One district node's machine is stolen: see [`Plan::stolen`].
    pub stolen: bool,
    /// One district node signs second creations of alerts: see [`Plan::equivocating`].
    pub equivocating: bool,
}

impl Plan {
    /// The demo federation under every kind of fault.
    pub fn demo() -> Plan {
        Plan {
            layout: Layout::Demo,
            faults: Faults {
                drop_per_mille: 100,
                duplicate_per_mille: 50,
                delay_ms_max: 200,
                partitions: 3,
                crashes: 3,
            },
            writes: 60,
            fault_ms: 60_000,
            settle_ms_max: 120_000,
            topology_update: true,
            propagation_from_ms: None,
            fork: false,
            stolen: false,
            equivocating: false,
        }
    }

    /// The demo federation with one district node that forks its alerts log, and no other faults (links take 1 to
    /// 50 ms). The node writes alerts; at 10 s a partition leaves it with its province node (its witness) alone,
    /// and it writes one to three more (branch A, which the witness checks and cosigns); at 20 s it rewrites its
    /// log from where the partition began and joins the other side instead, where it writes one to three
    /// different entries (branch B). At 30 s the network heals. The run times how long after the first link
    /// between holders of different branches comes back some node holds evidence of the fork, and until every
    /// node does.
    pub fn fork() -> Plan {
        Plan {
            layout: Layout::Demo,
            faults: Faults {
                drop_per_mille: 0,
                duplicate_per_mille: 0,
                delay_ms_max: 50,
                partitions: 0,
                crashes: 0,
            },
            writes: 0,
            fault_ms: 30_000,
            settle_ms_max: 60_000,
            topology_update: false,
            propagation_from_ms: None,
            fork: true,
            stolen: false,
            equivocating: false,
        }
    }

    /// The demo federation under faults, where a district node's machine is stolen a third of the way into the
    /// faulty phase. The root at once publishes a topology that gives the node a new key and revokes the old one
    /// after the entries each of its logs holds at that moment, and every other node's operator installs it. The
    /// thief keeps the old key, the old topology and the data, and goes on writing and trying to connect and
    /// gossip; the node itself starts again on a new machine, empty, under its new key. In the end every honest
    /// node must hold the old key's entries up to the point and none after it, and the records the same.
    pub fn stolen() -> Plan {
        Plan {
            layout: Layout::Demo,
            faults: Faults {
                drop_per_mille: 50,
                duplicate_per_mille: 20,
                delay_ms_max: 100,
                partitions: 1,
                crashes: 2,
            },
            writes: 50,
            fault_ms: 30_000,
            settle_ms_max: 90_000,
            topology_update: false,
            propagation_from_ms: None,
            fork: false,
            stolen: true,
            equivocating: false,
        }
    }

    /// The demo federation under faults, where one district node is faulty: at about half of its writes it signs
    /// a second, different creation of an alert it holds (equivocation: same record id, another first version)
    /// and sends it out like any entry. The faulty node is not in the topology's bad books; its entries are valid
    /// and every node stores them. In the end every other node must hold the same document of every record (the
    /// creation with the smaller change hash, and what builds on it) and have set aside the same changes.
    pub fn equivocating() -> Plan {
        Plan {
            equivocating: true,
            stolen: false,
            ..Plan::stolen()
        }
    }

    /// The national federation with no faults, links that take 1 to 20 ms, and `alerts` new alerts raised at
    /// random nodes once the federation has connected: for timing how alerts spread.
    pub fn propagation(alerts: u32) -> Plan {
        Plan {
            layout: Layout::National,
            faults: Faults {
                drop_per_mille: 0,
                duplicate_per_mille: 0,
                delay_ms_max: 20,
                partitions: 0,
                crashes: 0,
            },
            writes: alerts,
            fault_ms: 60_000,
            settle_ms_max: 60_000,
            topology_update: false,
            propagation_from_ms: Some(10_000),
            fork: false,
            stolen: false,
            equivocating: false,
        }
    }

    /// The national federation (a node per province and district) under faults.
    pub fn national() -> Plan {
        Plan {
            layout: Layout::National,
            faults: Faults {
                drop_per_mille: 50,
                duplicate_per_mille: 20,
                delay_ms_max: 150,
                partitions: 2,
                crashes: 6,
            },
            writes: 200,
            fault_ms: 30_000,
            settle_ms_max: 120_000,
            topology_update: true,
            propagation_from_ms: None,
            fork: false,
            stolen: false,
            equivocating: false,
        }
    }
}
