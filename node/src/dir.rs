//! A node's data directory, as `init` lays it out and every other command reads it: the node's name and key, its
//! topology (the installed signed one, else the unsigned one from `init`), its store; and the two ways this
//! binary writes files there (a secret that is never replaced, a file replaced atomically).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ed25519_dalek::SigningKey;
use hifazat_files::Access;
use hifazat_log::Signer;
use hifazat_note::VerifierKey;
use hifazat_store::Store;
use hifazat_topology::Topology;

/// The node's name in its topology (`node.toml`).
pub const NODE_FILE: &str = "node.toml";
/// The node key's secret, hex (mode 0600).
pub const KEY_FILE: &str = "node.key";
/// The unsigned topology `init` copied in.
pub const TOPOLOGY_FILE: &str = "topology.toml";
/// The installed signed topology.
pub const SIGNED_TOPOLOGY: &str = "topology.signed";
/// The root key a signed topology was installed under (name+id+key, one line).
pub const ROOT_KEY: &str = "root.pub";
/// The node's store.
pub const STORE_DIR: &str = "store";

/// What `init` writes to `node.toml`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct NodeFile {
    pub name: String,
}

/// An opened node directory.
pub struct NodeDir {
    pub name: String,
    pub topology: Topology,
    pub signer: Signer,
    /// The node key's secret, which is also its libp2p identity.
    pub seed: [u8; 32],
    pub store: Store,
}

/// Fails with a hint unless `data` is a node directory made by `init`.
pub fn ensure_node_dir(data: &Path) -> anyhow::Result<()> {
    if !data.join(NODE_FILE).exists() {
        bail!(
            "{} is not a node directory (run `hifazat init` first)",
            data.display()
        );
    }
    Ok(())
}

pub fn key_path(data: &Path) -> PathBuf {
    data.join(KEY_FILE)
}

/// A node directory's name and key (from `init`).
pub fn node_identity(data: &Path) -> anyhow::Result<(String, SigningKey)> {
    let node: NodeFile = toml::from_str(
        &std::fs::read_to_string(data.join(NODE_FILE)).with_context(|| {
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

/// Opens a signed topology under `root` and checks that node `name` is a member under `key`, newer than
/// `running` when given (`Topology::take_signed`, the rule sync applies too).
pub fn open_signed_for(
    bytes: &[u8],
    root: &VerifierKey,
    name: &str,
    key: &SigningKey,
    running: Option<u64>,
) -> anyhow::Result<Topology> {
    let ours = key.verifying_key().to_bytes();
    Ok(Topology::take_signed(
        bytes,
        root,
        &ours,
        Some(name),
        running,
    )?)
}

/// The root key the node's signed topology was installed under.
pub fn installed_root(data: &Path) -> anyhow::Result<VerifierKey> {
    let text = std::fs::read_to_string(data.join(ROOT_KEY))
        .context("reading root.pub (the root key a signed topology was installed under)")?;
    Ok(VerifierKey::parse(&text)?)
}

/// The node's topology: the installed signed topology when there is one (checked again under the installed root
/// key, with this node a member under its own key), else the unsigned `topology.toml` from `init`.
pub fn load_topology(data: &Path, name: &str, key: &SigningKey) -> anyhow::Result<Topology> {
    let signed = data.join(SIGNED_TOPOLOGY);
    if !signed.exists() {
        return Topology::load(&data.join(TOPOLOGY_FILE))
            .map_err(|e| anyhow::anyhow!("{TOPOLOGY_FILE}: {e}"));
    }
    let root = installed_root(data)?;
    let bytes = std::fs::read(&signed).context("reading topology.signed")?;
    open_signed_for(&bytes, &root, name, key, None).context("topology.signed")
}

/// Opens a node directory: identity, topology and store (which only one process may hold at a time).
pub fn open_node(data: &Path) -> anyhow::Result<NodeDir> {
    let (name, key) = node_identity(data)?;
    let topology = load_topology(data, &name, &key)?;
    let store = Store::open(&data.join(STORE_DIR)).context("opening the store")?;
    Ok(NodeDir {
        name,
        topology,
        seed: key.to_bytes(),
        signer: Signer::new(key),
        store,
    })
}

/// Writes a secret to a new file with mode 0600 and syncs it; refuses to replace an existing file.
pub fn write_secret(path: &Path, secret: &[u8]) -> anyhow::Result<()> {
    hifazat_files::create_new(path, secret, Access::OwnerOnly).with_context(|| {
        format!(
            "creating {} (an existing secret is never overwritten)",
            path.display()
        )
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the old or the new file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    hifazat_files::replace(path, bytes, Access::Shared)
        .with_context(|| format!("writing {}", path.display()))
}
