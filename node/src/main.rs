//! `hifazat`: one binary for every node of the federation, and its tools. This file holds the command line and
//! the dispatch; each command is a module of its own.
// The command-line interface prints its results to standard output by design; the workspace lint against
// printing guards the library crates.
#![allow(clippy::print_stdout)]

mod audit;
mod demo;
mod dir;
mod faces;
mod init;
mod log;
mod progress;
mod register;
mod serve;
mod topology;
mod user;

use std::io::IsTerminal as _;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Init(init::Args),
    /// Runs a node: opens its store and serves its local HTTP API (health; alerts, their events and sightings;
    /// cases and their events; tracking; live events; peers; at the federal node the register; README lists
    /// them) until SIGTERM or Ctrl-C, on which it finishes the answers in flight and exits with status 0.
    /// Listens on the node's address from the topology unless --listen says otherwise. With a signed topology
    /// installed, it also joins the federation on the topology's peer-to-peer address.
    Serve(serve::Args),
    /// The node's API users: each has a role, the area it covers and a token (printed once by `add`; only its
    /// hash is kept). A running node sees changes within a second.
    User {
        #[command(subcommand)]
        command: user::Command,
    },
    /// Log tools.
    Log {
        #[command(subcommand)]
        command: log::Command,
    },
    /// Audit bundles: a node's signed history in one file, checked offline with public keys alone.
    Audit {
        #[command(subcommand)]
        command: audit::Command,
    },
    /// The signed topology: the federal root key, and signing and checking membership documents.
    Topology {
        #[command(subcommand)]
        command: topology::Command,
    },
    /// Face matching: how well it works on a node's own cases (`faces evaluate`).
    Faces {
        #[command(subcommand)]
        command: faces::Command,
    },
    /// Starts a federation on one machine (by default the embedded demo layout: federal, 2 provinces, 4
    /// districts on 127.0.0.2-8), each node as its own process that syncs with its peers, and prints their
    /// addresses. On the first run it makes a root key, signs the layout with every node's key and installs it in
    /// each node. Stops them all on Ctrl-C or SIGTERM.
    Demo(demo::Args),
}

fn main() -> anyhow::Result<()> {
    // mimalloc asks the kernel for transparent huge pages for its memory, and the first touch of each such page
    // zeroes 2 MiB on whichever thread touched it: pauses of a fraction of a millisecond in the middle of a write,
    // at the same moment on every node holding the same records. Small pages cost less than those pauses here
    // (`BENCHMARKS.md`, "Federation"). Best effort: a kernel without the setting keeps its default.
    let _ = nix::sys::prctl::set_thp_disable(true);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hifazat=info,warn".into()),
        )
        .init();
    // Commands that check something answer `false` when the check failed: exit status 1.
    let passed = match Cli::parse().command {
        Command::Init(args) => init::run(args).map(|()| true),
        Command::Serve(args) => serve::run(args).map(|()| true),
        Command::User { command } => user::run(command).map(|()| true),
        Command::Log { command } => log::run(command),
        Command::Audit { command } => audit::run(command),
        Command::Topology { command } => topology::run(command),
        Command::Faces { command } => faces::run(command),
        Command::Demo(args) => demo::run(args).map(|()| true),
    }?;
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}

/// The async runtime: `threads` worker threads, or one per core.
fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    Ok(builder.enable_all().build()?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every command and every argument says what it is for in `--help`.
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            if command.get_about().is_none() && path != " hifazat" {
                missing.push(path.clone());
            }
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:?}");
        Cli::command().debug_assert();
    }
}
