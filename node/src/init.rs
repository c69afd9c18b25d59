//! `hifazat init`: a new node's data directory.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ed25519_dalek::SigningKey;
use hifazat_store::Store;
use hifazat_topology::Topology;
use rand_core::OsRng;

use crate::dir::{self, NodeFile};
use crate::register;

#[derive(clap::Args)]
pub struct Args {
    /// The topology file (e.g. topology/demo.toml).
    #[arg(long)]
    topology: PathBuf,
    /// This node's name in the topology (e.g. lahore).
    #[arg(long)]
    node: String,
    /// The node's data directory; created if missing.
    #[arg(long)]
    data: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.topology)
        .with_context(|| format!("reading the topology {}", args.topology.display()))?;
    init(
        &text,
        &args.topology.display().to_string(),
        &args.node,
        &args.data,
    )
}

/// Makes node `node` of the topology `text` (read from `source`, for messages) in `data`: its key (mode 0600,
/// never overwritten), the topology, `node.toml`, the empty store, and at the federal node the register's key.
pub fn init(text: &str, source: &str, node: &str, data: &Path) -> anyhow::Result<()> {
    let topology = Topology::parse(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    if topology.node(node).is_none() {
        let names: Vec<&str> = topology.nodes.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "{source} has no node `{node}`; its nodes are: {}",
            names.join(", ")
        );
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let key_file = dir::key_path(data);
    if key_file.exists() {
        bail!(
            "{} already exists; a node's key is never overwritten",
            key_file.display()
        );
    }
    let key = SigningKey::generate(&mut OsRng);
    dir::write_secret(
        &key_file,
        format!("{}\n", hex::encode(key.to_bytes())).as_bytes(),
    )?;
    std::fs::write(data.join(dir::TOPOLOGY_FILE), text)?;
    std::fs::write(
        data.join(dir::NODE_FILE),
        toml::to_string(&NodeFile {
            name: node.to_owned(),
        })?,
    )?;
    Store::open(&data.join(dir::STORE_DIR)).context("creating the store")?;
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
