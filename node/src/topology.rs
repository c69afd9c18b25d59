//! `hifazat topology`: the federal root key, and signing, checking and installing membership documents.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hifazat_note::{SignerKey, VerifierKey};
use hifazat_topology::Topology;
use rand_core::OsRng;

use crate::dir;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Generates the federal root key: a c2sp.org signed-note signer key, written to --out with file mode 0600
    /// and never overwritten. Prints the verifier key, which every node is given to check signed topologies.
    Keygen {
        /// The key's name, e.g. hifazat.gov.pk/root.
        #[arg(long)]
        name: String,
        /// The file to write the secret key to (must not exist).
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
        /// The file to write the signed topology to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Installs a signed topology into a node's data directory. It must verify under the root key, name this node
    /// under this node's own key, and be newer than an installed one (under the same root). `serve` uses it from
    /// its next start, in place of the unsigned topology from `init`.
    Install {
        /// The node's data directory (made by `hifazat init`).
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

/// Runs a topology command; `false` when a signed topology did not verify (exit status 1).
pub fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Keygen { name, out } => {
            let key = new_root_key(&name, &out)?;
            println!("{}", key.verifier());
            Ok(true)
        }
        Command::Sign { key, input, out } => {
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
        Command::Install { data, root, file } => {
            let version = install(&data, &root, &file)?;
            println!(
                "installed topology version {version} into {}; it takes effect when the node next starts",
                data.display()
            );
            Ok(true)
        }
        Command::Verify { root, file } => {
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
                        for r in &n.revoked {
                            let logs: Vec<String> = r
                                .logs
                                .iter()
                                .map(|(s, seq)| format!("{s} ≤ {seq}"))
                                .collect();
                            println!(
                                "  {:<16} revoked  {} valid up to: {}",
                                "",
                                hex::encode(r.key),
                                if logs.is_empty() {
                                    "nothing".to_owned()
                                } else {
                                    logs.join(", ")
                                }
                            );
                        }
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

/// Generates a root key named `name` and writes it to `out` (mode 0600, never overwriting a file).
pub fn new_root_key(name: &str, out: &Path) -> anyhow::Result<SignerKey> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
    let key = SignerKey::new(name, seed)?;
    dir::write_secret(out, format!("{}\n", key.encode()).as_bytes())?;
    Ok(key)
}

/// Installs a signed topology into a node directory: it must verify under `root`, name this node under this
/// node's key, and be newer than the one installed (under the same root). Returns the version installed.
pub fn install(data: &Path, root: &str, file: &Path) -> anyhow::Result<u64> {
    let (name, key) = dir::node_identity(data)?;
    let root = VerifierKey::parse(root)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut running = None;
    if data.join(dir::SIGNED_TOPOLOGY).exists() {
        let installed_root = std::fs::read_to_string(data.join(dir::ROOT_KEY))?;
        if installed_root.trim() != root.to_string() {
            bail!(
                "this node trusts root key {}; a topology signed under another root is not installed",
                installed_root.trim()
            );
        }
        running = Some(dir::load_topology(data, &name, &key)?.version);
    }
    let topology = dir::open_signed_for(&bytes, &root, &name, &key, running)
        .with_context(|| format!("{} cannot be installed", file.display()))?;
    dir::write_atomically(&data.join(dir::ROOT_KEY), format!("{root}\n").as_bytes())?;
    dir::write_atomically(&data.join(dir::SIGNED_TOPOLOGY), &bytes)?;
    Ok(topology.version)
}
