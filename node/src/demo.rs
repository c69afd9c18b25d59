//! `hifazat demo`: a whole federation on one machine, each node its own `hifazat serve` process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hifazat_note::SignerKey;
use hifazat_topology::Topology;

use crate::serve::StopSignal;
use crate::{dir, init, topology};

/// The demo federation's topology, built into the binary so `hifazat demo` needs no files.
const DEMO_TOPOLOGY: &str = include_str!("../../topology/demo.toml");
/// The demo's root key (secret), in the demo's data directory.
const ROOT_SECRET: &str = "root.key";
/// The demo officials' tokens, by node name, in the demo's data directory (mode 0600).
const DEMO_TOKENS: &str = "demo-tokens.json";
/// How long the demo waits for its nodes to stop after SIGTERM before it kills them.
const NODE_STOP_MAX: Duration = Duration::from_secs(15);

#[derive(clap::Args)]
pub struct Args {
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
    /// Captures each started node's protocol traffic in DIR/<node>.wire (see `serve --capture`); DIR is created
    /// if missing.
    #[arg(long, value_name = "DIR")]
    capture: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::runtime(None)?.block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::new()?;
    let data = &args.data;
    let (text, source) = match &args.topology {
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
    if let Some(unknown) = args.skip.iter().find(|s| topology.node(s).is_none()) {
        bail!("--skip {unknown}: {source} has no such node");
    }
    if let Some(capture) = &args.capture {
        std::fs::create_dir_all(capture)
            .with_context(|| format!("creating the capture directory {}", capture.display()))?;
    }
    let exe = std::env::current_exe()?;
    for node in &topology.nodes {
        let dir = data.join(&node.name);
        if !dir::key_path(&dir).exists() {
            init::init(&text, &source, &node.name, &dir)?;
        }
    }
    let root = sign_demo_topology(&text, &topology, data)?;
    // Each node must open what it was given; demo data made by an older Hifazat may hold a layout this one no
    // longer reads (e.g. one without Urdu names): say so before starting anything.
    for node in &topology.nodes {
        let dir = data.join(&node.name);
        let (name, key) = dir::node_identity(&dir)?;
        dir::load_topology(&dir, &name, &key).with_context(|| {
            format!(
                "node {name} cannot open its topology; if {} was made by an older version, remove it to start afresh",
                data.display()
            )
        })?;
    }
    demo_officials(&topology, data)?;
    let mut children: Vec<(String, Child)> = Vec::new();
    let starting = topology
        .nodes
        .iter()
        .filter(|n| !args.skip.contains(&n.name));
    let threads = demo_threads(starting.clone().count());
    for node in starting {
        let dir = data.join(&node.name);
        let mut command = Process::new(&exe);
        command.args(["serve", "--data"]).arg(&dir);
        command.args(["--threads", &threads.to_string()]);
        if let Some(capture) = &args.capture {
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
    // The public pages of a district node, where a citizen would open them.
    if let Some(district) = topology
        .nodes
        .iter()
        .find(|n| n.role == hifazat_topology::Role::District)
    {
        println!(
            "Open the public pages in a browser: http://{}:{}/ ({}; every node serves its own).",
            district.host, district.http_port, district.name
        );
        println!(
            "Officials sign in at http://{}:{}/office/sign-in (each node's own /office/sign-in) with a token from {}:",
            district.host,
            district.http_port,
            data.join(DEMO_TOKENS).display()
        );
        println!(
            "  one for every role (station officer, DPO, RPO, IG, ministry, register officer, verifier, auditor), by node."
        );
    }
    println!(
        "The root's verifier key is in {} (for `hifazat audit verify --root`).",
        root.display()
    );
    println!("Ctrl-C (or SIGTERM) stops every node.");
    tokio::select! {
        _ = stop.recv() => {}
        name = wait_any(&mut children) => eprintln!("hifazat demo: node {name} stopped; stopping the others"),
    }
    stop_nodes(&mut children).await;
    Ok(())
}

/// Stops the nodes this command started, by their own process ids: SIGTERM, so each finishes its answers and
/// flushes its store, then SIGKILL for any still running after `NODE_STOP_MAX`.
async fn stop_nodes(children: &mut [(String, Child)]) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for (_, child) in children.iter_mut() {
        if let Ok(None) = child.try_wait()
            && let Ok(pid) = i32::try_from(child.id())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + NODE_STOP_MAX;
    for (name, child) in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(None) => {
                    eprintln!("hifazat demo: node {name} did not stop in time; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
    }
}

/// The demo's membership, as an operator would set it up: a root key (`root.key` in the demo's data), each node's
/// public key written into the embedded layout, the result signed as version 1 and installed into every node.
/// Done once; later runs reuse it. The root's verifier key is written to `root.pub` in the demo's data on every
/// run (auditors check bundles with it); returns that file's path.
fn sign_demo_topology(layout: &str, topology: &Topology, data: &Path) -> anyhow::Result<PathBuf> {
    let root_file = data.join(ROOT_SECRET);
    let root_pub = data.join(dir::ROOT_KEY);
    let signed_everywhere = topology
        .nodes
        .iter()
        .all(|n| data.join(&n.name).join(dir::SIGNED_TOPOLOGY).exists());
    if signed_everywhere {
        // The key the nodes trust, whatever became of the demo's own copy of the secret.
        let first = topology.nodes.first().context("the layout has no nodes")?;
        let root = dir::installed_root(&data.join(&first.name))?;
        dir::write_atomically(&root_pub, format!("{root}\n").as_bytes())?;
        return Ok(root_pub);
    }
    if !root_file.exists() {
        topology::new_root_key("hifazat.demo/root", &root_file)?;
    }
    let root = SignerKey::parse(&std::fs::read_to_string(&root_file)?)?;
    dir::write_atomically(&root_pub, format!("{}\n", root.verifier()).as_bytes())?;
    // Top-level keys come before any table, so the version can lead the file.
    let mut text = format!("version = 1\n{layout}");
    for node in &topology.nodes {
        let (_, key) = dir::node_identity(&data.join(&node.name))?;
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
    let file = data.join(dir::SIGNED_TOPOLOGY);
    dir::write_atomically(&file, signed.as_bytes())?;
    for node in &topology.nodes {
        let dir = data.join(&node.name);
        if !dir.join(dir::SIGNED_TOPOLOGY).exists() {
            topology::install(&dir, &root.verifier().to_string(), &file).with_context(|| {
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
    Ok(root_pub)
}

/// Runtime threads for each of `nodes` demo nodes: the machine's cores shared out, at least one each. With a
/// thread per core in every node, a node's threads hand its work to each other and spend more CPU on it
/// (`BENCHMARKS.md`, "Federation").
fn demo_threads(nodes: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / nodes.max(1)).max(1)
}

/// Adds the demo's officials, one of every role, and keeps their tokens in `demo-tokens.json`, so the API and the
/// officials' pages can be tried at once:
/// - at each district node, a station officer (key: the node's name) and the DPO (`<node>/dpo`);
/// - at each province node, the IG (the node's name) and the RPO of each region it has (`<node>/rpo/<region>`);
/// - at the federal node, the ministry (`federal`), a register officer, an institution that verifies and an
///   auditor (`federal/<role>`).
///
/// Later runs keep those already made and add any missing (a demo made before a role was added gets it).
fn demo_officials(topology: &Topology, data: &Path) -> anyhow::Result<()> {
    use hifazat_access::{Area, Role, Users};
    let path = data.join(DEMO_TOKENS);
    let mut tokens: std::collections::BTreeMap<String, serde_json::Value> = if path.exists() {
        serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("reading {}", path.display()))?
    } else {
        Default::default()
    };
    let before = tokens.len();
    for node in &topology.nodes {
        let mut wanted: Vec<(String, Role, Area)> = Vec::new();
        match node.role {
            hifazat_topology::Role::District => {
                let district = node
                    .district
                    .clone()
                    .context("a district node's district")?;
                wanted.push((
                    node.name.clone(),
                    Role::StationOfficer,
                    Area::District(district.clone()),
                ));
                wanted.push((
                    format!("{}/dpo", node.name),
                    Role::Dpo,
                    Area::District(district),
                ));
            }
            hifazat_topology::Role::Province => {
                let province = node
                    .province
                    .clone()
                    .context("a province node's province")?;
                for region in topology.regions.iter().filter(|r| r.province == province) {
                    wanted.push((
                        format!("{}/rpo/{}", node.name, region.code),
                        Role::Rpo,
                        Area::Region(region.code.clone()),
                    ));
                }
                wanted.push((node.name.clone(), Role::Ig, Area::Province(province)));
            }
            hifazat_topology::Role::Federal => {
                wanted.push((node.name.clone(), Role::Ministry, Area::National));
                for role in [Role::RegisterOfficer, Role::Verifier, Role::Auditor] {
                    wanted.push((format!("{}/{role}", node.name), role, Area::National));
                }
            }
        }
        for (key, role, area) in wanted {
            if tokens.contains_key(&key) {
                continue;
            }
            let name = match &area {
                Area::Region(code) => format!("demo {role} {code}"),
                _ if node.role == hifazat_topology::Role::Federal => format!("demo {role}"),
                _ => format!("demo {role} {}", node.name),
            };
            let (_, token) = Users::add(&data.join(&node.name), topology, node, &name, role, area)?;
            tokens.insert(
                key,
                serde_json::json!({ "role": role, "name": name, "token": token }),
            );
        }
    }
    if tokens.len() == before {
        return Ok(());
    }
    let text = serde_json::to_string_pretty(&tokens)?;
    dir::write_secret(&path, text.as_bytes())
}

/// Resolves when any child has exited, with its name.
async fn wait_any(children: &mut [(String, Child)]) -> String {
    loop {
        for (name, child) in children.iter_mut() {
            if let Ok(Some(_)) = child.try_wait() {
                return name.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
