//! `hifazat audit`: a node's signed history in one file (a bundle), and its offline check.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use hifazat_note::VerifierKey;
use hifazat_store::Store;

use crate::progress::Progress;
use crate::{dir, register};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Writes a stopped node's signed history to one file: the federal root key, the signed topology, every log
    /// with its newest signed checkpoint (and cosignatures), a consistency proof from it to the log's head, every
    /// entry, and any evidence of equivocation the node holds. Shows progress; the node must not be running.
    Export {
        /// The node's data directory; the node must not be running.
        #[arg(long)]
        data: PathBuf,
        /// The bundle to write (written beside it first and renamed when complete).
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
        /// The bundle to check (made by `audit export`).
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

/// Runs an audit command; `false` when a bundle failed its check (exit status 1).
pub fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Export {
            data,
            out,
            with_register,
        } => export(data, out, with_register),
        Command::Verify {
            bundle,
            root,
            summary,
        } => verify(bundle, root, summary),
    }
}

fn export(data: PathBuf, out: PathBuf, with_register: bool) -> anyhow::Result<bool> {
    dir::ensure_node_dir(&data)?;
    let signed = std::fs::read(data.join(dir::SIGNED_TOPOLOGY)).with_context(|| {
        format!(
            "{} has no signed topology installed: without one an auditor cannot tie keys to nodes",
            data.display()
        )
    })?;
    let root = std::fs::read_to_string(data.join(dir::ROOT_KEY)).context("reading root.pub")?;
    let store = Store::open(&data.join(dir::STORE_DIR))
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
            hifazat_register::RegisterLog::open(&dir)
                .context("opening the register (is the node still running? stop it first)")?,
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
    progress.finish();
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

fn verify(bundle: PathBuf, root: Option<PathBuf>, summary: bool) -> anyhow::Result<bool> {
    let root = match root {
        Some(path) => Some(VerifierKey::parse(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?),
        None => None,
    };
    let file =
        std::fs::File::open(&bundle).with_context(|| format!("opening {}", bundle.display()))?;
    let total = file.metadata()?.len();
    let mut progress = Progress::new("bytes checked");
    let report = hifazat_audit::verify(
        std::io::BufReader::with_capacity(1 << 20, file),
        root.as_ref(),
        &mut |done| progress.show(done, total),
    );
    progress.finish();
    print!("{report}");
    if !summary {
        println!("changes by record (time in ms since the Unix epoch, node, actor, log#entry):");
        report.write_history(&mut std::io::stdout().lock())?;
    }
    Ok(report.ok())
}
