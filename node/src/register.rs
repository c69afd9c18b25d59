//! The register at the federal node: its key file and vault in the data directory, and the task that takes in
//! sealed notifications as they arrive in the node's store.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use ed25519_dalek::SigningKey;
use hifazat_engine::Engine;
use hifazat_limits as limits;
use hifazat_log::Entry;
use hifazat_register::{NoticeOutcome, Register, RegisterConfig};
use hifazat_topology::Topology;

/// The register's secret, apart from the node key.
pub const KEY_FILE: &str = "register.key";
/// The register's vault.
pub const DIR: &str = "register";
/// How often the federal node looks for new notifications in its store.
const NOTICE_POLL: Duration = Duration::from_millis(500);

/// Creates the register key of a new federal node.
pub fn init(data: &Path) -> anyhow::Result<()> {
    hifazat_register::create_key_file(&data.join(KEY_FILE))?;
    Ok(())
}

/// Opens the federal node's register. A data directory from before the register gets its key now; register
/// data without its key is refused (it could never be read).
pub fn open(
    data: &Path,
    node_key: SigningKey,
    name: &str,
    topology: &Topology,
    config: RegisterConfig,
    now_ms: u64,
) -> anyhow::Result<Arc<Register>> {
    let key_file = data.join(KEY_FILE);
    let dir = data.join(DIR);
    let keys = if key_file.exists() {
        hifazat_register::read_key_file(&key_file)?
    } else if dir.exists() {
        bail!(
            "{} holds register data but {} is missing: restore the key from its backup",
            dir.display(),
            key_file.display()
        );
    } else {
        hifazat_register::create_key_file(&key_file)?
    };
    let districts = topology.districts.iter().map(|d| d.code.clone()).collect();
    let register = Register::open(&dir, keys, node_key, name, districts, config, now_ms)
        .context("opening the register")?;
    Ok(Arc::new(register))
}

/// Takes in every notification the store holds past the register's cursor for its log, log by log, in order,
/// until the engine stops.
pub async fn take_notices(engine: Engine, register: Arc<Register>) {
    let mut tick = tokio::time::interval(NOTICE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(heads) = engine.heads().await else {
            return;
        };
        for head in heads
            .into_iter()
            .filter(|h| matches!(h.log.scope, hifazat_log::Scope::Notices(_)))
        {
            let digest = head.log.digest();
            loop {
                let cursor = match register.notice_cursor(&digest.0) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(error = %e, "reading the register's notification cursor");
                        return;
                    }
                };
                if cursor >= head.head.seq {
                    break;
                }
                let Ok(entries) = engine
                    .log_range(digest, cursor, head.head.seq, limits::SYNC_PULL_BYTES_MAX)
                    .await
                else {
                    return;
                };
                if entries.is_empty() {
                    break;
                }
                for bytes in entries {
                    // Entries in the store were verified when they arrived; the log's chain puts them in order.
                    let Ok(entry) = Entry::decode(&bytes) else {
                        tracing::error!(log = %head.log, "a stored notification does not decode");
                        return;
                    };
                    let seq = entry.content().seq;
                    let register = register.clone();
                    let now = engine.now_ms();
                    let taken = tokio::task::spawn_blocking(move || {
                        register.take_notice(&digest.0, seq, &entry.content().payload, now)
                    })
                    .await;
                    match taken {
                        Ok(Ok(Some(record))) => {
                            let outcome = match record.outcome {
                                NoticeOutcome::Applied { .. } => "applied",
                                NoticeOutcome::Unmatched => "unmatched",
                                NoticeOutcome::Rejected { .. } => "rejected",
                            };
                            tracing::info!(log = %head.log, seq, outcome, "register notification taken in");
                        }
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => {
                            tracing::error!(log = %head.log, seq, error = %e, "register notification not taken in");
                            break;
                        }
                        Err(_) => return,
                    }
                }
            }
        }
    }
}
