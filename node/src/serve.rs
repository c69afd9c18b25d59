//! `hifazat serve`: runs a node (its engine, network, register, SMS and HTTP API) until it is told to stop.
//!
//! Stopping: on SIGTERM (how service managers stop a node) or Ctrl-C, the node stops taking connections, ends its
//! live event streams, lets the answers in flight finish (for at most `SHUTDOWN_GRACE_MS`), waits until
//! everything its engine took in is on disk, and exits with status 0.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_limits as limits;
use hifazat_note::SignerKey;
use hifazat_topology::Topology;

use crate::{dir, register};

#[derive(clap::Args)]
pub struct Args {
    /// The node's data directory (made by `hifazat init`).
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on, e.g. 127.0.0.5:8080 (port 0 picks a free port and prints it).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address to listen for peers on, when it is not the one the topology gives them: behind port forwarding
    /// or a relay, peers dial the topology's address and the traffic arrives here.
    #[arg(long)]
    p2p_listen: Option<SocketAddr>,
    /// At the federal node: what a verification that finds a record tells the asker. `full`: the offender's
    /// name and parentage, as the national register's SMS service answers; `reference_only`: that a record
    /// exists and a reference for managed disclosure by the police.
    #[arg(long, default_value = "full")]
    disclosure: hifazat_register::Disclosure,
    /// Appends every sync and gossip message this node sends or receives to this file, as sent before the
    /// transport encrypts it (an audit of what leaves the node; slows it down).
    #[arg(long)]
    capture: Option<PathBuf>,
    /// At the federal node: a TOML file with the verification guard's limits and alarm thresholds (README,
    /// "The register"); the defaults otherwise.
    #[arg(long)]
    guard: Option<PathBuf>,
    /// The node's SMS settings (TOML: the gateway, notification times, the officials' directory; README,
    /// "SMS"). Without it the node keeps its messages in its outbox and has no officials to notify.
    #[arg(long)]
    sms: Option<PathBuf>,
    /// Threads that run the node's network and API (not its engine, which has its own). Defaults to one per
    /// core; `hifazat demo` shares the cores out among its nodes, since they all run on one machine.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Face matching: two faces closer than this are suggested as a possible match between a found child and
    /// an alert (dlib's measure; 0.6 is dlib's threshold, measured on adults). Set it from the node's own closed
    /// cases with `hifazat faces evaluate`.
    #[arg(long, default_value_t = hifazat_matcher::DEFAULT_THRESHOLD, value_parser = threshold)]
    match_threshold: f32,
}

fn threshold(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if (0.1..=1.2).contains(&t) => Ok(t),
        _ => Err("a distance from 0.1 to 1.2 (dlib's measure; 0.6 is its threshold)".into()),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let register_config = register_config(args.disclosure, args.guard.as_deref())?;
    crate::runtime(args.threads.map(usize::from))?.block_on(serve(
        &args.data,
        args.listen,
        args.p2p_listen,
        args.capture,
        register_config,
        args.sms.as_deref(),
        args.match_threshold,
    ))
}

/// SIGTERM and SIGINT (Ctrl-C), listened for from its making on: from then, neither ends the process at once.
#[derive(Debug)]
pub struct StopSignal {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Must be called within the runtime.
    pub fn new() -> anyhow::Result<StopSignal> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignal {
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
        })
    }

    /// Resolves on the next SIGTERM or SIGINT, with its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// How the federal node's register answers and guards itself.
fn register_config(
    disclosure: hifazat_register::Disclosure,
    guard: Option<&Path>,
) -> anyhow::Result<hifazat_register::RegisterConfig> {
    let guard = match guard {
        None => hifazat_register::GuardConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let guard: hifazat_register::GuardConfig =
                toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
            guard
                .check()
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            guard
        }
    };
    Ok(hifazat_register::RegisterConfig { disclosure, guard })
}

/// The node's SMS settings, checked against its topology; the defaults (the outbox, nobody to notify) without a
/// file.
fn sms_config(path: Option<&Path>, topology: &Topology) -> anyhow::Result<hifazat_sms::SmsConfig> {
    let Some(path) = path else {
        return Ok(hifazat_sms::SmsConfig::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    hifazat_sms::SmsConfig::parse(&text, &hifazat_phone::TopologyPlaces(topology))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn serve(
    data: &Path,
    listen: Option<SocketAddr>,
    p2p_listen: Option<SocketAddr>,
    capture: Option<PathBuf>,
    register_config: hifazat_register::RegisterConfig,
    sms: Option<&Path>,
    match_threshold: f32,
) -> anyhow::Result<()> {
    // Listened for from the start, so a SIGTERM during start-up does not kill the node half-way either.
    let mut stop = StopSignal::new()?;
    let node = dir::open_node(data)?;
    let sms_config = sms_config(sms, &node.topology)?;
    let me = node
        .topology
        .node(&node.name)
        .context("this node is not in its topology")?
        .clone();
    // The one clock of the node: the engine keeps it, and the node's parts read it from the engine.
    let clock = hifazat_engine::Clock::system();
    // The register lives at the federal node only.
    let register = if me.role == hifazat_topology::Role::Federal {
        Some(register::open(
            data,
            SigningKey::from_bytes(&node.seed),
            &node.name,
            &node.topology,
            register_config,
            clock.now_ms(),
        )?)
    } else {
        None
    };
    let address = listen.unwrap_or(SocketAddr::new(me.host, me.http_port));
    let name = node.name.clone();
    let seed = node.seed;
    let engine = Engine::start(EngineConfig {
        node_name: node.name,
        clock,
        topology: node.topology,
        signer: node.signer,
        store: node.store,
    })?;
    // Peers come from a signed topology; a node with only topology.toml works alone.
    let net = if data.join(dir::SIGNED_TOPOLOGY).exists() {
        let root = dir::installed_root(data)?;
        let signed_topology = std::fs::read(data.join(dir::SIGNED_TOPOLOGY))?;
        let listen = p2p_listen.unwrap_or(SocketAddr::new(me.host, me.p2p_port));
        let net = hifazat_net::Net::start(hifazat_net::NetConfig {
            name: name.clone(),
            seed,
            listen,
            root,
            signed_topology,
            topology_path: data.join(dir::SIGNED_TOPOLOGY),
            engine: engine.clone(),
            capture,
        })
        .await
        .with_context(|| format!("starting the network on {listen}"))?;
        println!("hifazat: node {name} peer-to-peer on {}", net.listening);
        Some(net)
    } else {
        tracing::warn!("no signed topology installed: this node runs without peers");
        None
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(node = %name, %bound, "serving");
    // Tests and the demo read this line to learn the port.
    println!("hifazat: node {name} listening on http://{bound}");
    std::io::stdout().flush()?;
    let users = hifazat_access::Directory::open(data).context("reading the node's users")?;
    if let Some(register) = &register {
        tokio::spawn(register::take_notices(engine.clone(), register.clone()));
    }
    tokio::spawn(sign_checkpoints(
        engine.clone(),
        net.clone(),
        SignerKey::new(&name, seed)?,
    ));
    let phone = hifazat_phone::Phone::open(
        &data.join("sms"),
        engine.clone(),
        register.clone(),
        sms_config,
        engine.now_ms(),
    )
    .context("opening the SMS outbox")?;
    tracing::info!(
        officials = phone.duties().len(),
        gateway = if phone.callback_key().is_some() {
            "kannel"
        } else {
            "outbox"
        },
        "sms ready"
    );
    tokio::spawn(phone.clone().run());
    let worker = hifazat_matcher::Worker::start().context("starting the photo worker")?;
    let matcher = hifazat_matcher::Matcher::start(engine.clone(), worker, match_threshold);
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let app = hifazat_api::Api::new(engine.clone())
        .matcher(Some(matcher))
        .net(net)
        .register(register)
        .phone(Some(phone))
        .users(users)
        .stopping(stopping.clone())
        .router();
    let mut stopping_server = stopping;
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stopping_server.wait_for(|stop| *stop).await;
    })
    .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => served.context("serving HTTP")?,
        signal = stop.recv() => {
            tracing::info!(signal, "stopping: finishing the answers in flight");
            stopping_tx.send_replace(true);
            let grace = Duration::from_millis(limits::SHUTDOWN_GRACE_MS);
            match tokio::time::timeout(grace, &mut server).await {
                Ok(served) => served.context("serving HTTP")?,
                Err(_) => tracing::warn!(
                    grace_ms = limits::SHUTDOWN_GRACE_MS,
                    "answers still in flight after the grace period; closing their connections"
                ),
            }
        }
    }
    // Everything the engine took in (our own writes were flushed before they were answered; other nodes'
    // entries may still be queued) is on disk before the process ends.
    engine
        .barrier()
        .await
        .context("flushing the store before stopping")?;
    tracing::info!("stopped");
    Ok(())
}

/// Signs a checkpoint of each of this node's logs that grew, every `CHECKPOINT_EVERY_MS`, and keeps it (on disk)
/// for `GET /api/v1/logs/{log}/checkpoint`, record histories and audit bundles; then offers it to the node's
/// witness, which cosigns it and passes it on.
async fn sign_checkpoints(engine: Engine, net: Option<hifazat_net::Net>, key: SignerKey) {
    let mut every = tokio::time::interval(Duration::from_millis(limits::CHECKPOINT_EVERY_MS));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match engine.sign_checkpoints(&key).await {
            Ok(signed) => {
                for (log, note) in signed {
                    tracing::debug!(log = %log, note = %note.encode().lines().nth(1).unwrap_or(""), "checkpoint signed");
                    if let Some(net) = &net
                        && net.signed(log.digest(), note.encode()).await.is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "signing checkpoints failed"),
        }
    }
}
