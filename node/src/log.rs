//! `hifazat log`: checks of a node's signed logs.

use std::path::PathBuf;

use anyhow::Context as _;
use hifazat_engine::FiguresCheck;
use hifazat_store::Store;

use crate::dir;
use crate::progress::Progress;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Re-verifies every entry in a node's store: decoding, the signature rule (in batches), the hash chain and
    /// each log's head; then rebuilds the statistics aggregates from the records' entries and compares them with
    /// the stored ones. Prints counts and every failure; exits with status 1 if anything fails.
    Verify {
        /// The node's data directory; the node must not be running.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Runs a log command; `false` when a check failed (exit status 1).
pub fn run(command: Command) -> anyhow::Result<bool> {
    let Command::Verify { data } = command;
    dir::ensure_node_dir(&data)?;
    // Opened without the start-up head check, so damage there is reported with the rest, not in its place.
    let store = Store::open_unchecked(&data.join(dir::STORE_DIR)).context("opening the store")?;
    let total: u64 = store.heads()?.iter().map(|h| h.head.seq).sum();
    let mut progress = Progress::new("entries verified");
    let report = hifazat_engine::verify_store(&store, |done| progress.show(done, total))?;
    progress.finish();
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
    let records = store.records()?.len() as u64;
    let mut progress = Progress::new("records rebuilt for the statistics aggregates");
    let figures = hifazat_engine::verify_figures(&store, |done| progress.show(done, records))?;
    progress.finish();
    let figures_ok = match figures {
        FiguresCheck::NotBuilt => {
            println!(
                "statistics aggregates: not built yet (a node builds them when it next starts)"
            );
            true
        }
        FiguresCheck::Checked {
            records,
            cells,
            differences,
        } => {
            println!(
                "statistics aggregates: {cells} cells against {records} records rebuilt from their entries: {}",
                if differences.is_empty() {
                    "agree"
                } else {
                    "DIFFER"
                }
            );
            for cell in &differences {
                println!("  FAIL  cell {cell}");
            }
            differences.is_empty()
        }
    };
    Ok(report.failures == 0 && figures_ok)
}
