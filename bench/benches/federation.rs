//! Federation: how fast an alert spreads, and what catching up costs, each beside a raw baseline from the same run.
//!
//! 1. Raw gossipsub: seven plain libp2p gossipsub nodes (TCP, noise, yamux, as the nodes use) linked as the demo
//!    federation's nodes are, on 127.0.0.2-8; one publishes messages the size of an alert entry. Latency: publish
//!    until the last of the other six has it. Measured twice: as seven processes (the `raw-gossip` binary, each
//!    reporting receipts on a pipe), the same layout as the demo federation; and as seven nodes in this process.
//! 2. The real-process demo federation (`hifazat demo`, the binary built by `cargo build --release`): an alert is
//!    raised at Lahore over HTTP, and one thread per node follows that node's live event stream. Latency: from just
//!    before the POST until the last of the other nodes announces the alert, which it does once it is durable there;
//!    so it includes Lahore's durable write, and verification, storage and apply at every hop.
//!    For both process runs it also prints the CPU time the seven processes spent per message (read from
//!    `/proc`, by thread name), the baseline's beside ours.
//! 3. The simulator's national federation (176 nodes, `hifazat-sim`, links taking 1 to 20 simulated ms, no
//!    faults): alerts raised at random nodes, timed until every node holds them, beside flooding the same links
//!    with the same delays and no checks (raw gossip), in the same run. Simulated time: it counts hops and round
//!    trips, not CPU.
//! 4. Catch-up: three nodes in this process (engine, store and network each, over libp2p on loopback). Lahore
//!    raises 10,000 alerts, which reach Punjab; then Kasur, which missed them all, starts and catches up from
//!    Punjab. Measured: the time until Kasur holds all of them, and the sync bytes Kasur received (messages with
//!    their request-response framing), against the raw bytes of the 10,000 entries.
//!
//! Run: `cargo build --release && cargo bench -p hifazat-bench --bench federation`. Counts: `HIFAZAT_ALERTS`
//! (propagation samples, 200 by default) and `HIFAZAT_MISSED` (10,000).

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_net::{Net, NetConfig};
use hifazat_note::SignerKey;
use hifazat_store::Store;
use hifazat_topology::Topology;
use libp2p::Multiaddr;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use rand_core::{OsRng, RngCore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEMO: &str = include_str!("../../topology/demo.toml");

/// The demo layout; its nodes, in order, are the benchmark's nodes.
fn demo() -> Topology {
    Topology::parse(DEMO).expect("demo layout")
}

/// A demo node's place in the layout.
fn index_of(t: &Topology, name: &str) -> usize {
    t.nodes
        .iter()
        .position(|n| n.name == name)
        .expect("a demo node")
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).map_or(default, |v| v.parse().expect("a count"))
}

/// p50 and p99 of a sample, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

/// The demo layout's neighbour links, as index pairs into its nodes.
fn demo_links() -> Vec<(usize, usize)> {
    let t = demo();
    let mut links = Vec::new();
    for (i, n) in t.nodes.iter().enumerate() {
        for m in hifazat_topology::neighbours(&t, n) {
            let j = index_of(&t, &m.name);
            if i < j {
                links.push((i, j));
            }
        }
    }
    links
}

fn raw_gossipsub(messages: usize, size: usize) -> Vec<Duration> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let topic = IdentTopic::new("raw/1");
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, Instant)>();
        let mut publishers = Vec::new();
        let addrs = raw_addrs(9280);
        let mut swarms: Vec<_> = addrs
            .iter()
            .map(|a| hifazat_bench::raw_gossip_swarm(a.clone(), &topic))
            .collect();
        for (i, j) in demo_links() {
            swarms[i].dial(addrs[j].clone()).expect("dial");
        }
        for (index, mut swarm) in swarms.into_iter().enumerate() {
            let seen = seen_tx.clone();
            let (publish_tx, mut publish_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
            publishers.push(publish_tx);
            let topic = topic.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        event = swarm.select_next_some() => {
                            if let SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) = event {
                                let seq = u64::from_be_bytes(message.data[..8].try_into().expect("8"));
                                let _ = seen.send((index, seq, Instant::now()));
                            }
                        }
                        data = publish_rx.recv() => match data {
                            Some(data) => { let _ = swarm.behaviour_mut().publish(topic.clone(), data); }
                            None => break,
                        },
                    }
                }
            });
        }
        // Let connections and the mesh form.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let from = index_of(&demo(), "lahore");
        let mut latencies = Vec::with_capacity(messages);
        for seq in 0..messages as u64 {
            let mut data = vec![0u8; size];
            data[..8].copy_from_slice(&seq.to_be_bytes());
            OsRng.fill_bytes(&mut data[8..]);
            let start = Instant::now();
            publishers[from].send(data).expect("publisher");
            let mut got = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while got < 6 {
                match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
                    Ok(Some((_, s, at))) if s == seq => {
                        got += 1;
                        if got == 6 {
                            latencies.push(at - start);
                        }
                    }
                    Ok(Some(_)) => {}
                    _ => panic!("raw gossip message {seq} did not reach every node"),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(publishers);
        latencies
    })
}

/// The demo nodes' own addresses, on `port`.
fn raw_addrs(port: u16) -> Vec<Multiaddr> {
    demo()
        .nodes
        .iter()
        .map(|n| format!("/ip4/{}/tcp/{port}", n.host).parse().expect("addr"))
        .collect()
}

/// What a benchmark's observer threads report: a node (its index in the demo layout) has a message (a sequence
/// number, or a record id), at a time.
type Seen<K> = std::sync::mpsc::Sender<(usize, K, Instant)>;

/// Waits until every node but `from` has reported `key`, and returns each node's first report. Reports of other
/// keys (later ones may come first) are kept in `early`.
fn last_receipt<K: std::hash::Hash + Eq + Clone + std::fmt::Debug>(
    seen: &std::sync::mpsc::Receiver<(usize, K, Instant)>,
    early: &mut std::collections::HashMap<K, Vec<(usize, Instant)>>,
    key: &K,
    from: usize,
    nodes: usize,
) -> Vec<(usize, Instant)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = early.entry(key.clone()).or_default();
        got.sort();
        got.dedup_by_key(|(i, _)| *i);
        got.retain(|(i, _)| *i != from);
        if got.len() == nodes - 1 {
            return early.remove(key).expect("receipts");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match seen.recv_timeout(left) {
            Ok((i, k, at)) => early.entry(k).or_default().push((i, at)),
            Err(_) => panic!("{key:?} did not reach every node within 10 s"),
        }
    }
}

fn latest(receipts: &[(usize, Instant)]) -> Instant {
    receipts.iter().map(|(_, t)| *t).max().expect("receipts")
}

/// CPU time (user and system) of processes' threads, in clock ticks, by thread name with trailing digits cut
/// (`sled-io-3` counts as `sled-io-`), read from `/proc`. Threads that ended in between are not counted.
fn cpu_ticks(pids: &[u32]) -> std::collections::BTreeMap<String, u64> {
    let mut by_name = std::collections::BTreeMap::new();
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // `pid (name) state ...`: the name may hold spaces; the fields after it are utime (12th) and stime.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = stat[open + 1..close].trim_end_matches(|c: char| c.is_ascii_digit());
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            let ticks: u64 =
                fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
            *by_name.entry(name.to_owned()).or_default() += ticks;
        }
    }
    by_name
}

/// The CPU that `pids` spent between two readings, per message, in milliseconds: in all and by thread name.
fn cpu_per_message(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
    messages: usize,
) -> (f64, Vec<(String, f64)>) {
    // Linux reports thread times in USER_HZ ticks, 100 a second.
    let ms = |ticks: u64| ticks as f64 * 10.0 / messages as f64;
    let mut by_name: Vec<(String, f64)> = after
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                ms(t.saturating_sub(*before.get(name).unwrap_or(&0))),
            )
        })
        .filter(|(_, ms)| *ms > 0.0)
        .collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    (by_name.iter().map(|(_, ms)| ms).sum(), by_name)
}

/// The child processes of `pid`, whichever of its threads started them.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(listed) = std::fs::read_to_string(task.path().join("children")) {
            children.extend(
                listed
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    children
}

/// Raw gossipsub as seven processes (the `raw-gossip` binary), linked as the demo federation's: the same process
/// layout, observed the same way (each process tells this one over a pipe), with none of the federation's work.
fn raw_gossip_processes(messages: usize, size: usize) -> (Vec<Duration>, Cpu) {
    let addrs = raw_addrs(9290);
    let links = demo_links();
    let (seen_tx, seen) = std::sync::mpsc::channel::<(usize, u64, Instant)>();
    let (ready_tx, ready) = std::sync::mpsc::channel::<usize>();
    let mut children = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_raw-gossip"))
            .arg(addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("raw-gossip");
        let out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let (seen_tx, ready_tx): (Seen<u64>, _) = (seen_tx.clone(), ready_tx.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in out.lines() {
                let Ok(line) = line else { break };
                let at = Instant::now();
                if line == "ready" {
                    let _ = ready_tx.send(i);
                } else if let Some(seq) = line.strip_prefix("got ").and_then(|s| s.parse().ok()) {
                    let _ = seen_tx.send((i, seq, at));
                }
            }
        });
        children.push(child);
    }
    for _ in 0..addrs.len() {
        ready
            .recv_timeout(Duration::from_secs(30))
            .expect("raw-gossip ready");
    }
    // Dial only once every node listens, then let connections and the mesh form.
    for (a, b) in links {
        use std::io::Write;
        let stdin = children[a].stdin.as_mut().expect("stdin");
        writeln!(stdin, "dial {}", addrs[b])
            .and_then(|()| stdin.flush())
            .expect("dial");
    }
    std::thread::sleep(Duration::from_secs(3));
    let from = index_of(&demo(), "lahore");
    let mut early = std::collections::HashMap::new();
    let mut latencies = Vec::with_capacity(messages);
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let before = cpu_ticks(&pids);
    for seq in 0..messages as u64 {
        use std::io::Write;
        let stdin = children[from].stdin.as_mut().expect("stdin");
        let start = Instant::now();
        writeln!(stdin, "publish {seq} {size}")
            .and_then(|()| stdin.flush())
            .expect("publish");
        let receipts = last_receipt(&seen, &mut early, &seq, from, addrs.len());
        latencies.push(latest(&receipts) - start);
        std::thread::sleep(Duration::from_millis(20));
    }
    let cpu = cpu_per_message(&before, &cpu_ticks(&pids), messages);
    for mut child in children {
        // Closing its standard input ends it.
        drop(child.stdin.take());
        let _ = child.wait();
    }
    (latencies, cpu)
}

/// CPU per message summed over processes, in milliseconds: in all, and by thread name.
type Cpu = (f64, Vec<(String, f64)>);

fn http(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n")),
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Follows one node's live event stream (`GET /api/v1/events?kind=alert`) and reports each alert it announces,
/// with the time its event arrived. Ends when the node closes the stream.
fn watch_alerts(index: usize, addr: SocketAddr, seen: Seen<String>) {
    hifazat_bench::wire::follow_alerts(
        addr,
        || {},
        |record, at| seen.send((index, record, at)).is_ok(),
    );
}

fn demo_processes(alerts: usize) -> (Vec<Duration>, Cpu) {
    let bin = hifazat_bench::hifazat_binary();
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut processes = Command::new(&bin)
        .args(["demo", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hifazat demo");
    let out = processes.stdout.take().expect("stdout");
    std::thread::spawn(move || std::io::copy(&mut { out }, &mut std::io::sink()));
    let layout = demo();
    let addrs: Vec<SocketAddr> = layout
        .nodes
        .iter()
        .map(|n| SocketAddr::new(n.host, n.http_port))
        .collect();
    let up = |a: SocketAddr| http(a, None, "GET", "/healthz", "").is_ok_and(|(s, _)| s == 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !addrs.iter().all(|a| up(*a)) {
        assert!(
            Instant::now() < deadline,
            "the demo federation did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every node's live event stream tells this process when it holds an alert.
    let (seen_tx, seen) = std::sync::mpsc::channel::<(usize, String, Instant)>();
    for (i, addr) in addrs.iter().enumerate() {
        let seen_tx = seen_tx.clone();
        let addr = *addr;
        std::thread::spawn(move || watch_alerts(i, addr, seen_tx));
    }
    // Let connections and the gossip mesh form, as for the raw nodes.
    std::thread::sleep(Duration::from_secs(5));
    let from = index_of(&layout, "lahore");
    // The demo's official at Lahore raises the alerts.
    let tokens: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-tokens.json")).expect("the demo's tokens"),
    )
    .expect("json");
    let token = tokens["lahore"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let mut early = std::collections::HashMap::new();
    let mut latencies = Vec::with_capacity(alerts);
    let nodes = children_of(processes.id());
    assert_eq!(nodes.len(), addrs.len(), "the demo's node processes");
    let before = cpu_ticks(&nodes);
    let began = Instant::now();
    for n in 0..alerts {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let body = serde_json::to_string(&draft_json(now, n)).expect("json");
        let start = Instant::now();
        let (status, text) =
            http(addrs[from], Some(&token), "POST", "/api/v1/alerts", &body).expect("POST");
        assert_eq!(status, 201, "{text}");
        let posted = start.elapsed();
        let id: serde_json::Value = serde_json::from_str(&text).expect("json");
        let id = id["id"].as_str().expect("id").to_owned();
        let receipts = last_receipt(&seen, &mut early, &id, from, addrs.len());
        if std::env::var_os("HIFAZAT_TRACE").is_some() {
            let at: Vec<String> = receipts
                .iter()
                .map(|(i, t)| {
                    format!(
                        "{} {:.2}",
                        layout.nodes[*i].name,
                        (*t - start).as_secs_f64() * 1e3
                    )
                })
                .collect();
            eprintln!(
                "at {:.0} ms: posted {:.2} ms; {}",
                (start - began).as_secs_f64() * 1e3,
                posted.as_secs_f64() * 1e3,
                at.join(", ")
            );
        }
        latencies.push(latest(&receipts) - start);
        std::thread::sleep(Duration::from_millis(20));
    }
    let cpu = cpu_per_message(&before, &cpu_ticks(&nodes), alerts);
    let _ = Command::new("kill")
        .arg(processes.id().to_string())
        .status();
    let _ = processes.wait();
    (latencies, cpu)
}

fn draft_json(now_ms: u64, n: usize) -> serde_json::Value {
    serde_json::json!({
        "child_name": format!("Child {n}"), "age_years": 7, "sex": "female",
        "description": "Red frock, plastic sandals, answers to Ashi",
        "last_seen": {"district": "PB-LHR", "lat": 31.55, "lon": 74.34, "text": "Anarkali Bazaar"},
        "last_seen_at_ms": now_ms - 60_000,
        "reporter": {"name": "Mother", "mobile": "03001234567"},
        "channel": "helpline1099"
    })
}

/// One in-process node of the catch-up run.
struct Node {
    engine: Engine,
    net: Option<Net>,
}

struct Federation {
    dir: tempfile::TempDir,
    signed: Vec<u8>,
    root: hifazat_note::VerifierKey,
    seeds: Vec<[u8; 32]>,
    topology: Topology,
}

impl Federation {
    fn new() -> Federation {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = format!("version = 1\n{DEMO}");
        let mut seeds = Vec::new();
        for node in demo().nodes {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            let marker = format!("name = \"{}\"\n", node.name);
            text = text.replacen(
                &marker,
                &format!("{marker}key = \"{}\"\n", hex::encode(key.as_bytes())),
                1,
            );
            // Ports apart from the demo's, so a running demo does not get in the way.
            let host = format!("host = \"{}\"", node.host);
            text = text.replacen(&host, &format!("{host}\np2p_port = 9380"), 1);
            seeds.push(seed);
        }
        let mut root_seed = [0u8; 32];
        OsRng.fill_bytes(&mut root_seed);
        let root = SignerKey::new("bench/root", root_seed).expect("root");
        let signed = Topology::sign(&text, &root).expect("sign").into_bytes();
        let topology = Topology::open_signed(&signed, &root.verifier()).expect("open");
        Federation {
            dir,
            signed,
            root: root.verifier(),
            seeds,
            topology,
        }
    }

    async fn start(&self, name: &str) -> Node {
        let i = index_of(&self.topology, name);
        let engine = Engine::start(EngineConfig {
            node_name: name.into(),
            clock: hifazat_domain::Clock::system(),
            topology: self.topology.clone(),
            signer: Signer::new(ed25519_dalek::SigningKey::from_bytes(&self.seeds[i])),
            store: Store::open(&self.dir.path().join(name)).expect("store"),
        })
        .expect("engine");
        let me = self.topology.node(name).expect("node");
        let net = Net::start(NetConfig {
            name: name.into(),
            seed: self.seeds[i],
            listen: SocketAddr::new(me.host, me.p2p_port),
            root: self.root.clone(),
            signed_topology: self.signed.clone(),
            topology_path: self.dir.path().join(format!("{name}.topology")),
            engine: engine.clone(),
            capture: None,
        })
        .await
        .expect("net");
        Node {
            engine,
            net: Some(net),
        }
    }
}

async fn wait_applied(node: &Node, count: u64, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if node.engine.stats().await.expect("stats").remote_applied >= count {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "only {} of {count} arrived",
            node.engine.stats().await.expect("stats").remote_applied
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// (time to catch up, sync bytes Kasur received, raw bytes of the missed entries).
fn catch_up(missed: usize) -> (Duration, u64, u64) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let fed = Federation::new();
        let punjab = fed.start("punjab").await;
        let lahore = fed.start("lahore").await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut tasks = tokio::task::JoinSet::new();
        let per = missed / 64;
        for w in 0..64 {
            let engine = lahore.engine.clone();
            let n = if w == 63 { missed - per * 63 } else { per };
            tasks.spawn(async move {
                for _ in 0..n {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .expect("clock")
                        .as_millis() as u64;
                    engine
                        .raise_alert(hifazat_bench::alert_draft(now), "bench".into())
                        .await
                        .expect("raise");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        wait_applied(&punjab, missed as u64, Duration::from_secs(300)).await;
        // The raw size of what Kasur missed: every entry of Lahore's alerts log.
        let heads = lahore.engine.heads().await.expect("heads");
        let log = heads
            .iter()
            .find(|h| h.log.scope == hifazat_log::Scope::Alerts)
            .expect("alerts log");
        let digest = log.log.digest();
        let mut raw = 0u64;
        let mut after = 0;
        while after < log.head.seq {
            let entries = lahore
                .engine
                .log_range(digest, after, log.head.seq, usize::MAX)
                .await
                .expect("range");
            after += entries.len() as u64;
            raw += entries.iter().map(|e| e.len() as u64).sum::<u64>();
        }
        let kasur = fed.start("kasur").await;
        let took = wait_applied(&kasur, missed as u64, Duration::from_secs(300)).await;
        let report = kasur
            .net
            .as_ref()
            .expect("net")
            .peers()
            .await
            .expect("peers");
        let received = report.traffic.sync_bytes_in + report.traffic.gossip_bytes_in;
        drop((punjab, lahore, kasur));
        (took, received, raw)
    })
}

fn main() {
    let alerts = count("HIFAZAT_ALERTS", 200);
    let missed = count("HIFAZAT_MISSED", 10_000);
    println!("federation benchmark: {alerts} propagation samples, {missed} missed entries");

    let mut raw = raw_gossipsub(alerts, 1_200);
    let (raw_p50, raw_p99) = percentiles(&mut raw);
    println!("raw gossipsub, 7 nodes in 1 process:     p50 {raw_p50:.2} ms  p99 {raw_p99:.2} ms");
    let (mut raw_apart, raw_cpu) = raw_gossip_processes(alerts, 1_200);
    let (apart_p50, apart_p99) = percentiles(&mut raw_apart);
    println!(
        "raw gossipsub, 7 processes:              p50 {apart_p50:.2} ms  p99 {apart_p99:.2} ms"
    );

    let (mut ours, cpu) = demo_processes(alerts);
    let (p50, p99) = percentiles(&mut ours);
    println!("hifazat demo federation, 7 processes:    p50 {p50:.2} ms  p99 {p99:.2} ms");
    println!(
        "  p99 ratio to raw gossipsub in 7 processes: {:.2}x (goal <= 3x); to raw gossipsub in 1 process: {:.2}x",
        p99 / apart_p99,
        p99 / raw_p99
    );
    let threads = |by: &[(String, f64)]| {
        by.iter()
            .map(|(name, ms)| format!("{name} {ms:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "  CPU per message, all 7 processes: raw gossipsub {:.2} ms ({}); demo federation {:.2} ms = {:.1}x ({})",
        raw_cpu.0,
        threads(&raw_cpu.1),
        cpu.0,
        cpu.0 / raw_cpu.0,
        threads(&cpu.1)
    );

    let report = hifazat_sim::run(&hifazat_sim::Plan::propagation(alerts as u32), 1);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let mut sim: Vec<Duration> = report
        .spread_ms
        .iter()
        .map(|(o, _)| Duration::from_millis(*o))
        .collect();
    let mut flood: Vec<Duration> = report
        .spread_ms
        .iter()
        .map(|(_, r)| Duration::from_millis(*r))
        .collect();
    let (sim_p50, sim_p99) = percentiles(&mut sim);
    let (flood_p50, flood_p99) = percentiles(&mut flood);
    println!(
        "simulated national federation, {} nodes, {} alerts: p50 {sim_p50:.0} ms  p99 {sim_p99:.0} ms; raw flood p50 {flood_p50:.0} ms  p99 {flood_p99:.0} ms; p99 ratio {:.2}x",
        report.nodes,
        report.spread_ms.len(),
        sim_p99 / flood_p99
    );

    let (took, received, raw_bytes) = catch_up(missed);
    println!(
        "catch-up of {missed} entries: {:.2} s ({:.0} entries/s); received {received} bytes for {raw_bytes} raw bytes = {:.3}x (+{} bytes over raw)",
        took.as_secs_f64(),
        missed as f64 / took.as_secs_f64(),
        received as f64 / raw_bytes as f64,
        received as i64 - raw_bytes as i64
    );
}
