//! `hifazat`: one binary for every node of the federation, and its tools.
// The command-line interface prints its results to standard output by design; the workspace lint against
// printing guards the library crates.
#![allow(clippy::print_stdout)]

mod register;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_note::{SignerKey, VerifierKey};
use hifazat_store::Store;
use hifazat_topology::Topology;
use rand_core::OsRng;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo federation's topology, built into the binary so `hifazat demo` needs no files.
const DEMO_TOPOLOGY: &str = include_str!("../../topology/demo.toml");

#[derive(Parser)]
#[command(
    name = "hifazat",
    version,
    about = "Hifazat: an offline-first federation for child- and women-safety work."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prepares a node's data directory: generates the node's ed25519 key (file mode 0600), copies the topology,
    /// records which node of the topology this is, and creates the empty store. Refuses to overwrite an existing
    /// key.
    Init {
        /// The topology file (e.g. topology/demo.toml).
        #[arg(long)]
        topology: PathBuf,
        /// This node's name in the topology (e.g. lahore).
        #[arg(long)]
        node: String,
        /// The node's data directory; created if missing.
        #[arg(long)]
        data: PathBuf,
    },
    /// Runs a node: opens its store and serves its local HTTP API (health; alerts, their events and sightings;
    /// cases and their events; tracking; live events; peers; at the federal node the register; README lists
    /// them) until interrupted. Listens on the node's address from the topology unless --listen says otherwise.
    /// With a signed topology installed, it also joins the federation on the topology's peer-to-peer address.
    Serve {
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on, e.g. 127.0.0.5:8080 (port 0 picks a free port and prints it).
        #[arg(long)]
        listen: Option<SocketAddr>,
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
    },
    /// The node's API users: each has a role, the area it covers and a token (printed once by `add`; only its
    /// hash is kept). A running node sees changes within a second.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Log tools.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Audit bundles: a node's signed history in one file, checked offline with public keys alone.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The signed topology: the federal root key, and signing and checking membership documents.
    Topology {
        #[command(subcommand)]
        command: TopologyCommand,
    },
    /// Starts a federation on one machine (by default the embedded demo layout: federal, 2 provinces, 4
    /// districts on 127.0.0.2-8), each node as its own process that syncs with its peers, and prints their
    /// addresses. On the first run it makes a root key, signs the layout with every node's key and installs it in
    /// each node. Stops them all on Ctrl-C or SIGTERM.
    Demo {
        /// Where the nodes keep their data (one directory per node); reused across runs.
        #[arg(long, default_value = "demo-data")]
        data: PathBuf,
        /// Another layout (unkeyed, like topology/demo.toml) to run instead of the embedded one.
        #[arg(long)]
        topology: Option<PathBuf>,
        /// Sets these nodes up like the others but does not start them (to run them elsewhere, e.g. in another
        /// network namespace). Repeatable.
        #[arg(long)]
        skip: Vec<String>,
        /// Captures each started node's protocol traffic in DIR/<node>.wire (see `serve --capture`).
        #[arg(long)]
        capture: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TopologyCommand {
    /// Generates the federal root key: a c2sp.org signed-note signer key, written to --out with file mode 0600
    /// and never overwritten. Prints the verifier key, which every node is given to check signed topologies.
    Keygen {
        /// The key's name, e.g. hifazat.gov.pk/root.
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Signs a topology with the root key. The topology must name every node's public key (`key = "<hex>"`,
    /// printed by `hifazat init`). Writes the signed topology (a signed note whose text is the TOML).
    Sign {
        /// The root key file made by `topology keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The topology TOML to sign.
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Installs a signed topology into a node's data directory. It must verify under the root key, name this node
    /// under this node's own key, and be newer than an installed one (under the same root). `serve` uses it from
    /// its next start, in place of the unsigned topology from `init`.
    Install {
        #[arg(long)]
        data: PathBuf,
        /// The root's verifier key (name+id+key). The first install fixes it for the node.
        #[arg(long)]
        root: String,
        /// The signed topology.
        file: PathBuf,
    },
    /// Checks a signed topology against the root's verifier key and prints its name, version and members.
    /// Exits with status 1 if it does not verify.
    Verify {
        /// The root's verifier key, as `topology keygen` printed it (name+id+key).
        #[arg(long)]
        root: String,
        /// The signed topology.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user and prints their API token, once. Requests carry it as `Authorization: Bearer <token>`.
    /// Roles: station_officer and dpo (need --district), rpo (--region), ig (--province), ministry, auditor,
    /// register_officer (federal node only; these three cover the whole country).
    Add {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        role: hifazat_access::Role,
        /// The user's name, as it will appear in every entry they write.
        #[arg(long)]
        name: String,
        /// District code, e.g. PB-LHR.
        #[arg(long, group = "area")]
        district: Option<String>,
        /// Region code, e.g. PB-LAHORE.
        #[arg(long, group = "area")]
        region: Option<String>,
        /// Province code, e.g. PB.
        #[arg(long, group = "area")]
        province: Option<String>,
    },
    /// Removes a user; their token stops working.
    Remove {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Lists the node's users (names, roles, areas; never tokens).
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Re-verifies every entry in a node's store: decoding, the signature rule (in batches), the hash chain and
    /// each log's head. Prints counts and every failure; exits with status 1 if anything fails.
    Verify {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Writes a stopped node's signed history to one file: the federal root key, the signed topology, every log
    /// with its newest signed checkpoint (and cosignatures), a consistency proof from it to the log's head, every
    /// entry, and any evidence of equivocation the node holds. Shows progress; the node must not be running.
    Export {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// At the federal node: the register log too (its entries as signed, with their payloads sealed; its tree's
        /// checkpoint and proof). It shows how many changes the register had, and each one's time, actor and entry
        /// id: leave it out unless the audit is of the register.
        #[arg(long)]
        with_register: bool,
    },
    /// Checks a bundle offline: the topology under the root key, every signature (in batches), chain link,
    /// checkpoint, cosignature and proof. Prints what was verified, who changed which record when, and any
    /// evidence of misbehaviour; exits with status 1 on any failure, naming the record, log, entry and rule.
    Verify {
        bundle: PathBuf,
        /// The federal root's verifier key (a file holding it, e.g. a node's root.pub). Without it the bundle's
        /// own root key is used, and the report warns.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Only the summary: leave out the list of changes by record.
        #[arg(long)]
        summary: bool,
    },
}

/// What `init` writes to `node.toml`.
#[derive(serde::Serialize, serde::Deserialize)]
struct NodeFile {
    name: String,
}

struct NodeDir {
    name: String,
    topology: Topology,
    signer: Signer,
    /// The node key's secret, which is also its libp2p identity.
    seed: [u8; 32],
    store: Store,
}

fn key_path(data: &Path) -> PathBuf {
    data.join("node.key")
}

fn init(topology_path: &Path, node: &str, data: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(topology_path)
        .with_context(|| format!("reading the topology {}", topology_path.display()))?;
    init_from_text(&text, &topology_path.display().to_string(), node, data)
}

fn init_from_text(text: &str, source: &str, node: &str, data: &Path) -> anyhow::Result<()> {
    let topology = Topology::parse(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    if topology.node(node).is_none() {
        let names: Vec<&str> = topology.nodes.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "{source} has no node `{node}`; its nodes are: {}",
            names.join(", ")
        );
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let key_file = key_path(data);
    if key_file.exists() {
        bail!(
            "{} already exists; a node's key is never overwritten",
            key_file.display()
        );
    }
    let key = SigningKey::generate(&mut OsRng);
    write_secret(&key_file, &hex::encode(key.to_bytes()))?;
    std::fs::write(data.join("topology.toml"), text)?;
    std::fs::write(
        data.join("node.toml"),
        toml::to_string(&NodeFile {
            name: node.to_owned(),
        })?,
    )?;
    Store::open(&data.join("store")).context("creating the store")?;
    if topology.node(node).map(|n| n.role) == Some(hifazat_topology::Role::Federal) {
        register::init(data)?;
    }
    println!(
        "initialised node `{node}` in {} (public key {})",
        data.display(),
        hex::encode(key.verifying_key().to_bytes())
    );
    Ok(())
}

/// Writes a secret to a new file with mode 0600 and syncs it; refuses to replace an existing file.
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing key is never overwritten)",
                path.display()
            )
        })?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    Ok(())
}

/// Generates a root key named `name` and writes it to `out` (mode 0600, never overwriting a file).
fn new_root_key(name: &str, out: &Path) -> anyhow::Result<SignerKey> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
    let key = SignerKey::new(name, seed)?;
    write_secret(out, &key.encode())?;
    Ok(key)
}

fn topology_command(command: TopologyCommand) -> anyhow::Result<bool> {
    match command {
        TopologyCommand::Keygen { name, out } => {
            let key = new_root_key(&name, &out)?;
            println!("{}", key.verifier());
            Ok(true)
        }
        TopologyCommand::Sign { key, input, out } => {
            let key = SignerKey::parse(
                &std::fs::read_to_string(&key)
                    .with_context(|| format!("reading {}", key.display()))?,
            )?;
            let text = std::fs::read_to_string(&input)
                .with_context(|| format!("reading {}", input.display()))?;
            let signed = Topology::sign(&text, &key)
                .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
            std::fs::write(&out, signed).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "signed {} as {} into {}",
                input.display(),
                key.name(),
                out.display()
            );
            Ok(true)
        }
        TopologyCommand::Install { data, root, file } => {
            let version = install_topology(&data, &root, &file)?;
            println!(
                "installed topology version {version} into {}; it takes effect when the node next starts",
                data.display()
            );
            Ok(true)
        }
        TopologyCommand::Verify { root, file } => {
            let root = VerifierKey::parse(&root)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            match Topology::open_signed(&bytes, &root) {
                Ok(t) => {
                    println!(
                        "ok: topology `{}` version {}, signed by {}, {} members",
                        t.name,
                        t.version,
                        root.name,
                        t.nodes.len()
                    );
                    for n in &t.nodes {
                        let key = n.key.map(hex::encode).unwrap_or_default();
                        println!("  {:<16} {:<8?} {}", n.name, n.role, key);
                    }
                    Ok(true)
                }
                Err(e) => {
                    println!("FAIL: {}: {e}", file.display());
                    Ok(false)
                }
            }
        }
    }
}

/// A node directory's name and key (from `init`).
fn node_identity(data: &Path) -> anyhow::Result<(String, SigningKey)> {
    let node: NodeFile = toml::from_str(
        &std::fs::read_to_string(data.join("node.toml")).with_context(|| {
            format!(
                "{} is not a node directory (run `hifazat init` first)",
                data.display()
            )
        })?,
    )?;
    let key_hex = std::fs::read_to_string(key_path(data)).context("reading node.key")?;
    let key: [u8; 32] = hex::decode(key_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("node.key must hold 64 hexadecimal digits")?;
    Ok((node.name, SigningKey::from_bytes(&key)))
}

/// The signed topology installed in a node directory, and the root key it was checked under.
const SIGNED_TOPOLOGY: &str = "topology.signed";
const ROOT_KEY: &str = "root.pub";

/// Opens a signed topology under `root` and checks that node `name` is a member under `key`.
fn open_signed_for(
    bytes: &[u8],
    root: &VerifierKey,
    name: &str,
    key: &SigningKey,
) -> anyhow::Result<Topology> {
    let topology = Topology::open_signed(bytes, root).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = key.verifying_key().to_bytes();
    match topology.node(name) {
        None => bail!("the signed topology has no node `{name}`"),
        Some(n) if n.key != Some(ours) => bail!(
            "the signed topology gives node `{name}` another key than this node's ({})",
            hex::encode(ours)
        ),
        Some(_) => Ok(topology),
    }
}

/// The node's topology: the installed signed topology when there is one (checked again under the installed root
/// key, with this node a member under its own key), else the unsigned `topology.toml` from `init`.
fn load_topology(data: &Path, name: &str, key: &SigningKey) -> anyhow::Result<Topology> {
    let signed = data.join(SIGNED_TOPOLOGY);
    if !signed.exists() {
        return Topology::load(&data.join("topology.toml"))
            .map_err(|e| anyhow::anyhow!("topology.toml: {e}"));
    }
    let root = VerifierKey::parse(
        &std::fs::read_to_string(data.join(ROOT_KEY))
            .context("reading root.pub (the root key a signed topology was installed under)")?,
    )?;
    let bytes = std::fs::read(&signed).context("reading topology.signed")?;
    open_signed_for(&bytes, &root, name, key).context("topology.signed")
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the old or the new file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    hifazat_net::write_atomically(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Installs a signed topology into a node directory: it must verify under `root`, name this node under this
/// node's key, and be newer than the one installed (under the same root). Returns the version installed.
fn install_topology(data: &Path, root: &str, file: &Path) -> anyhow::Result<u64> {
    let (name, key) = node_identity(data)?;
    let root = VerifierKey::parse(root)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let topology = open_signed_for(&bytes, &root, &name, &key)
        .with_context(|| format!("{} cannot be installed", file.display()))?;
    if data.join(SIGNED_TOPOLOGY).exists() {
        let installed_root = std::fs::read_to_string(data.join(ROOT_KEY))?;
        if installed_root.trim() != root.to_string() {
            bail!(
                "this node trusts root key {}; a topology signed under another root is not installed",
                installed_root.trim()
            );
        }
        let installed = load_topology(data, &name, &key)?;
        if topology.version <= installed.version {
            bail!(
                "{} is version {}; version {} is installed, and only a newer one replaces it",
                file.display(),
                topology.version,
                installed.version
            );
        }
    }
    write_atomically(&data.join(ROOT_KEY), format!("{root}\n").as_bytes())?;
    write_atomically(&data.join(SIGNED_TOPOLOGY), &bytes)?;
    Ok(topology.version)
}

fn open_node(data: &Path) -> anyhow::Result<NodeDir> {
    let (name, key) = node_identity(data)?;
    let topology = load_topology(data, &name, &key)?;
    let store = Store::open(&data.join("store")).context("opening the store")?;
    Ok(NodeDir {
        name,
        topology,
        seed: key.to_bytes(),
        signer: Signer::new(key),
        store,
    })
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
    capture: Option<PathBuf>,
    register_config: hifazat_register::RegisterConfig,
    sms: Option<&Path>,
) -> anyhow::Result<()> {
    let node = open_node(data)?;
    let sms_config = sms_config(sms, &node.topology)?;
    let me = node
        .topology
        .node(&node.name)
        .context("this node is not in its topology")?
        .clone();
    // The register lives at the federal node only.
    let register = if me.role == hifazat_topology::Role::Federal {
        Some(register::open(
            data,
            SigningKey::from_bytes(&node.seed),
            &node.name,
            &node.topology,
            register_config,
        )?)
    } else {
        None
    };
    let address = listen.unwrap_or(SocketAddr::new(me.host, me.http_port));
    let name = node.name.clone();
    let seed = node.seed;
    let engine = Engine::start(EngineConfig {
        node_name: node.name,
        topology: node.topology,
        signer: node.signer,
        store: node.store,
    })?;
    // Peers come from a signed topology; a node with only topology.toml works alone.
    let net = if data.join(SIGNED_TOPOLOGY).exists() {
        let root = VerifierKey::parse(&std::fs::read_to_string(data.join(ROOT_KEY))?)?;
        let signed_topology = std::fs::read(data.join(SIGNED_TOPOLOGY))?;
        let listen = SocketAddr::new(me.host, me.p2p_port);
        let net = hifazat_net::Net::start(hifazat_net::NetConfig {
            name: name.clone(),
            seed,
            listen,
            root,
            signed_topology,
            topology_path: data.join(SIGNED_TOPOLOGY),
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
        hifazat_engine::now_ms(),
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
    let app = hifazat_api::Api::new(engine)
        .net(net)
        .register(register)
        .phone(Some(phone))
        .users(users)
        .router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Signs a checkpoint of each of this node's logs that grew, every `CHECKPOINT_EVERY_MS`, and keeps it (on disk)
/// for `GET /api/v1/logs/{log}/checkpoint`, record histories and audit bundles; then offers it to the node's
/// witness, which cosigns it and passes it on.
async fn sign_checkpoints(engine: Engine, net: Option<hifazat_net::Net>, key: SignerKey) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(
        hifazat_limits::CHECKPOINT_EVERY_MS,
    ));
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

fn user_command(command: UserCommand) -> anyhow::Result<()> {
    use hifazat_access::{Area, Users};
    match command {
        UserCommand::Add {
            data,
            role,
            name,
            district,
            region,
            province,
        } => {
            // The node's identity and topology only: the store may be open in a running node.
            let (node_name, key) = node_identity(&data)?;
            let topology = load_topology(&data, &node_name, &key)?;
            let node = topology
                .node(&node_name)
                .context("this node is not in its topology")?;
            let area = match (district, region, province) {
                (Some(d), _, _) => Area::District(d),
                (_, Some(r), _) => Area::Region(r),
                (_, _, Some(p)) => Area::Province(p),
                _ => Area::National,
            };
            let (user, token) = Users::add(&data, &topology, node, &name, role, area)?;
            println!(
                "added {} `{}` ({}) on node {node_name}",
                user.role, user.name, user.area
            );
            println!("token (shown once; keep it secret): {token}");
            Ok(())
        }
        UserCommand::Remove { data, name } => {
            let user = Users::remove(&data, &name)?;
            println!("removed {} `{}`", user.role, user.name);
            Ok(())
        }
        UserCommand::List { data } => {
            for user in Users::load(&data)?.list() {
                println!(
                    "{:<18} {:<28} {}",
                    user.role.as_str(),
                    user.area.to_string(),
                    user.name
                );
            }
            Ok(())
        }
    }
}

/// Progress on standard error, at most a few times a second.
struct Progress {
    what: &'static str,
    shown: std::time::Instant,
}

impl Progress {
    fn new(what: &'static str) -> Progress {
        Progress {
            what,
            shown: std::time::Instant::now(),
        }
    }

    fn show(&mut self, done: u64, total: u64) {
        if self.shown.elapsed() >= std::time::Duration::from_millis(250) || done == total {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            eprint!("\r{}: {done}/{total} ({percent}%)", self.what);
            self.shown = std::time::Instant::now();
        }
    }
}

fn audit_command(command: AuditCommand) -> anyhow::Result<bool> {
    match command {
        AuditCommand::Export {
            data,
            out,
            with_register,
        } => {
            if !data.join("node.toml").exists() {
                bail!(
                    "{} is not a node directory (run `hifazat init` first)",
                    data.display()
                );
            }
            let signed = std::fs::read(data.join(SIGNED_TOPOLOGY)).with_context(|| {
                format!(
                    "{} has no signed topology installed: without one an auditor cannot tie keys to nodes",
                    data.display()
                )
            })?;
            let root = std::fs::read_to_string(data.join(ROOT_KEY)).context("reading root.pub")?;
            let store = Store::open(&data.join("store"))
                .context("opening the store (is the node still running? stop it first)")?;
            let register = if with_register {
                let dir = data.join(register::DIR);
                if !dir.exists() {
                    bail!(
                        "--with-register: {} holds no register (only the federal node keeps one)",
                        data.display()
                    );
                }
                Some(
                    hifazat_register::RegisterLog::open(&dir).context(
                        "opening the register (is the node still running? stop it first)",
                    )?,
                )
            } else {
                None
            };
            // Written beside the target and renamed when complete, so a crash leaves no half bundle behind.
            let partial = out.with_extension("partial");
            let file = std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let mut progress = Progress::new("entries written");
            let (file, summary) = hifazat_audit::export(
                &store,
                register.as_ref(),
                &root,
                &signed,
                std::io::BufWriter::new(file),
                &mut |done, total| progress.show(done, total),
            )?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&partial, &out)?;
            eprintln!();
            println!(
                "wrote {}: {} logs, {} entries, {} checkpoints, {} evidence, {} bytes",
                out.display(),
                summary.logs,
                summary.entries,
                summary.checkpoints,
                summary.evidence,
                summary.bytes
            );
            if let Some(n) = summary.register_entries {
                println!(
                    "the bundle holds the register log ({n} entries: times, actors and entry ids, payloads sealed): keep it as confidential as the register"
                );
            }
            Ok(true)
        }
        AuditCommand::Verify {
            bundle,
            root,
            summary,
        } => {
            let root = match root {
                Some(path) => Some(VerifierKey::parse(
                    &std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )?),
                None => None,
            };
            let file = std::fs::File::open(&bundle)
                .with_context(|| format!("opening {}", bundle.display()))?;
            let total = file.metadata()?.len();
            let mut progress = Progress::new("bytes checked");
            let report = hifazat_audit::verify(
                std::io::BufReader::with_capacity(1 << 20, file),
                root.as_ref(),
                &mut |done| progress.show(done, total),
            );
            eprintln!();
            print!("{report}");
            if !summary {
                println!(
                    "changes by record (time in ms since the Unix epoch, node, actor, log#entry):"
                );
                report.write_history(&mut std::io::stdout().lock())?;
            }
            Ok(report.ok())
        }
    }
}

fn log_verify(data: &Path) -> anyhow::Result<bool> {
    if !data.join("node.toml").exists() {
        bail!(
            "{} is not a node directory (run `hifazat init` first)",
            data.display()
        );
    }
    // Opened without the start-up head check, so damage there is reported with the rest, not in its place.
    let store = Store::open_unchecked(&data.join("store")).context("opening the store")?;
    let total: u64 = store.heads()?.iter().map(|h| h.head.seq).sum();
    let mut last_shown = 0;
    let report = hifazat_engine::verify_store(&store, |done| {
        if done - last_shown >= 10_000 || done == total {
            eprint!("\rverified {done}/{total} entries");
            last_shown = done;
        }
    })?;
    if total > 0 {
        eprintln!();
    }
    println!(
        "logs: {}  entries verified: {}  failures: {}",
        report.logs.len(),
        report.entries,
        report.failures
    );
    for log in &report.logs {
        match &log.failure {
            None => println!("  ok    {}  {} entries", log.log, log.entries),
            Some((seq, why)) => println!("  FAIL  {}  entry #{seq}: {why}", log.log),
        }
    }
    if report.evidence > 0 {
        println!("equivocation evidence held: {}", report.evidence);
    }
    Ok(report.failures == 0)
}

/// The demo's membership, as an operator would set it up: a root key (`root.key` in the demo's data), each node's
/// public key written into the embedded layout, the result signed as version 1 and installed into every node.
/// Done once; later runs reuse it.
fn sign_demo_topology(layout: &str, topology: &Topology, data: &Path) -> anyhow::Result<()> {
    if topology
        .nodes
        .iter()
        .all(|n| data.join(&n.name).join(SIGNED_TOPOLOGY).exists())
    {
        return Ok(());
    }
    let root_file = data.join("root.key");
    if !root_file.exists() {
        new_root_key("hifazat.demo/root", &root_file)?;
    }
    let root = SignerKey::parse(&std::fs::read_to_string(&root_file)?)?;
    // Top-level keys come before any table, so the version can lead the file.
    let mut text = format!("version = 1\n{layout}");
    for node in &topology.nodes {
        let (_, key) = node_identity(&data.join(&node.name))?;
        let marker = format!("name = \"{}\"\n", node.name);
        anyhow::ensure!(
            text.contains(&marker),
            "the demo layout has no line {marker:?}"
        );
        let keyed = format!(
            "{marker}key = \"{}\"\n",
            hex::encode(key.verifying_key().to_bytes())
        );
        text = text.replacen(&marker, &keyed, 1);
    }
    let signed = Topology::sign(&text, &root).map_err(|e| anyhow::anyhow!("demo topology: {e}"))?;
    let file = data.join(SIGNED_TOPOLOGY);
    write_atomically(&file, signed.as_bytes())?;
    for node in &topology.nodes {
        let dir = data.join(&node.name);
        if !dir.join(SIGNED_TOPOLOGY).exists() {
            install_topology(&dir, &root.verifier().to_string(), &file).with_context(|| {
                format!(
                    "installing the demo topology into {} (remove {} to start afresh)",
                    dir.display(),
                    data.display()
                )
            })?;
        }
    }
    println!(
        "demo topology signed by {} and installed in every node",
        root.verifier()
    );
    Ok(())
}

async fn demo(
    data: &Path,
    layout: Option<&Path>,
    skip: &[String],
    capture: Option<&Path>,
) -> anyhow::Result<()> {
    let (text, source) = match layout {
        None => (
            DEMO_TOPOLOGY.to_owned(),
            "embedded demo topology".to_owned(),
        ),
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
    };
    let topology = Topology::parse(&text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    if let Some(unknown) = skip.iter().find(|s| topology.node(s).is_none()) {
        bail!("--skip {unknown}: {source} has no such node");
    }
    let exe = std::env::current_exe()?;
    for node in &topology.nodes {
        let dir = data.join(&node.name);
        if !key_path(&dir).exists() {
            init_from_text(&text, &source, &node.name, &dir)?;
        }
    }
    sign_demo_topology(&text, &topology, data)?;
    demo_officials(&topology, data)?;
    let mut children: Vec<(String, Child)> = Vec::new();
    let starting = topology.nodes.iter().filter(|n| !skip.contains(&n.name));
    let threads = demo_threads(starting.clone().count());
    for node in starting {
        let dir = data.join(&node.name);
        let mut command = Process::new(&exe);
        command.args(["serve", "--data"]).arg(&dir);
        command.args(["--threads", &threads.to_string()]);
        if let Some(capture) = capture {
            command
                .arg("--capture")
                .arg(capture.join(format!("{}.wire", node.name)));
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting node {}", node.name))?;
        children.push((node.name.clone(), child));
    }
    println!(
        "demo federation `{}`: {} nodes, data in {}",
        topology.name,
        children.len(),
        data.display()
    );
    for node in &topology.nodes {
        println!(
            "  {:<14} {:<9?} http://{}:{}/healthz",
            node.name, node.role, node.host, node.http_port
        );
    }
    println!(
        "Each node has a demo official; their API tokens are in {}.",
        data.join(DEMO_TOKENS).display()
    );
    println!("Ctrl-C (or SIGTERM) stops every node.");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        name = wait_any(&mut children) => eprintln!("hifazat demo: node {name} stopped; stopping the others"),
    }
    for (_, child) in &mut children {
        // Only the processes this command started, by their own handles.
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(())
}

/// Runtime threads for each of `nodes` demo nodes: the machine's cores shared out, at least one each. With a
/// thread per core in every node, a node's threads hand its work to each other and spend more CPU on it
/// (`BENCHMARKS.md`, "Federation").
fn demo_threads(nodes: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / nodes.max(1)).max(1)
}

/// The demo's officials' tokens, by node name, in the demo's data directory (mode 0600).
const DEMO_TOKENS: &str = "demo-tokens.json";

/// On the first run, adds one official to each demo node and keeps their tokens in `demo-tokens.json`, so the
/// API can be tried at once: a station officer at each district node, the province's IG at each province node, the
/// ministry at the federal node, and there also a register officer (`federal/register_officer`) and a verifying
/// institution (`federal/verifier`). Later runs keep them.
fn demo_officials(topology: &Topology, data: &Path) -> anyhow::Result<()> {
    use hifazat_access::{Area, Role, Users};
    let path = data.join(DEMO_TOKENS);
    if path.exists() {
        return Ok(());
    }
    let mut tokens = std::collections::BTreeMap::new();
    for node in &topology.nodes {
        let (role, area) = match node.role {
            hifazat_topology::Role::District => (
                Role::StationOfficer,
                Area::District(
                    node.district
                        .clone()
                        .context("a district node's district")?,
                ),
            ),
            hifazat_topology::Role::Province => (
                Role::Ig,
                Area::Province(
                    node.province
                        .clone()
                        .context("a province node's province")?,
                ),
            ),
            hifazat_topology::Role::Federal => (Role::Ministry, Area::National),
        };
        let name = format!("demo {role} {}", node.name);
        let (_, token) = Users::add(&data.join(&node.name), topology, node, &name, role, area)?;
        tokens.insert(
            node.name.clone(),
            serde_json::json!({ "role": role, "name": name, "token": token }),
        );
        // The federal node also gets the register's people: a register officer and an institution that verifies.
        if node.role == hifazat_topology::Role::Federal {
            for role in [Role::RegisterOfficer, Role::Verifier] {
                let name = format!("demo {role}");
                let (_, token) = Users::add(
                    &data.join(&node.name),
                    topology,
                    node,
                    &name,
                    role,
                    Area::National,
                )?;
                tokens.insert(
                    format!("{}/{role}", node.name),
                    serde_json::json!({ "role": role, "name": name, "token": token }),
                );
            }
        }
    }
    let text = serde_json::to_string_pretty(&tokens)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Resolves when any child has exited, with its name.
async fn wait_any(children: &mut [(String, Child)]) -> String {
    loop {
        for (name, child) in children.iter_mut() {
            if let Ok(Some(_)) = child.try_wait() {
                return name.clone();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn main() -> anyhow::Result<()> {
    // mimalloc asks the kernel for transparent huge pages for its memory, and the first touch of each such page
    // zeroes 2 MiB on whichever thread touched it: pauses of a fraction of a millisecond in the middle of a write,
    // at the same moment on every node holding the same records. Small pages cost less than those pauses here
    // (`BENCHMARKS.md`, "Federation"). Best effort: a kernel without the setting keeps its default.
    let _ = nix::sys::prctl::set_thp_disable(true);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hifazat=info,warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Init {
            topology,
            node,
            data,
        } => init(&topology, &node, &data),
        Command::Serve {
            data,
            listen,
            capture,
            disclosure,
            guard,
            sms,
            threads,
        } => {
            let config = register_config(disclosure, guard.as_deref())?;
            runtime(threads.map(usize::from))?.block_on(serve(
                &data,
                listen,
                capture,
                config,
                sms.as_deref(),
            ))
        }
        Command::User { command } => user_command(command),
        Command::Log {
            command: LogCommand::Verify { data },
        } => {
            if log_verify(&data)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Audit { command } => {
            if audit_command(command)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Topology { command } => {
            if topology_command(command)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Demo {
            data,
            topology,
            skip,
            capture,
        } => runtime(None)?.block_on(demo(&data, topology.as_deref(), &skip, capture.as_deref())),
    }
}

/// The async runtime: `threads` worker threads, or one per core.
fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    Ok(builder.enable_all().build()?)
}
