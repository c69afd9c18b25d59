//! `hifazat user`: the node's API users (a role, the area it covers, a token kept as a hash).

use std::path::PathBuf;

use anyhow::Context as _;
use hifazat_access::{Area, Users};

use crate::dir;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Adds a user and prints their API token, once. Requests carry it as `Authorization: Bearer <token>`.
    /// Roles: station_officer and dpo (need --district), rpo (--region), ig (--province), ministry, auditor,
    /// register_officer (federal node only; these three cover the whole country).
    Add {
        /// The node's data directory (made by `hifazat init`); the node may be running.
        #[arg(long)]
        data: PathBuf,
        /// The user's role.
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
        /// The node's data directory; the node may be running.
        #[arg(long)]
        data: PathBuf,
        /// The user's name.
        #[arg(long)]
        name: String,
    },
    /// Lists the node's users (names, roles, areas; never tokens).
    List {
        /// The node's data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            data,
            role,
            name,
            district,
            region,
            province,
        } => {
            // The node's identity and topology only: the store may be open in a running node.
            let (node_name, key) = dir::node_identity(&data)?;
            let topology = dir::load_topology(&data, &node_name, &key)?;
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
        Command::Remove { data, name } => {
            let user = Users::remove(&data, &name)?;
            println!("removed {} `{}`", user.role, user.name);
            Ok(())
        }
        Command::List { data } => {
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
