//! The federations the simulator runs: the demo layout, and the national one (every province and district of
//! `topology/pakistan.toml` with its own node), each with keys drawn from the seed and signed by a root key.

use hifazat_note::SignerKey;
use hifazat_topology::{Role, Topology};

use crate::rng::Rng;

const DEMO: &str = include_str!("../../../topology/demo.toml");
const NATIONAL: &str = include_str!("../../../topology/pakistan.toml");

/// Which layout to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `topology/demo.toml`: federal, 2 provinces, 4 districts.
    Demo,
    /// `topology/pakistan.toml` with a node for the federation, every province and territory, and every district.
    National,
}

/// A node of the simulated federation as the topology names it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub role: Role,
    pub province: Option<String>,
    pub district: Option<String>,
    pub seed: [u8; 32],
}

/// A member's former key, revoked from a point: the last valid entry of each of its logs, by scope.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub name: String,
    pub key: [u8; 32],
    pub logs: std::collections::BTreeMap<String, u64>,
}

/// A layout with its keys: everything a run starts from.
#[derive(Debug)]
pub struct Federation {
    pub members: Vec<Member>,
    /// Former keys the root has revoked, named in every topology signed since.
    pub revoked: Vec<Revocation>,
    pub root: SignerKey,
    /// The layout's provinces, regions and districts; [`Federation::signed`] adds the version and the nodes.
    text: String,
}

/// The layout's text up to its first `[[node]]` table: provinces, regions and districts.
fn districts_part(text: &str) -> &str {
    match text.find("[[node]]") {
        Some(i) => &text[..i],
        None => text,
    }
}

impl Federation {
    pub fn new(layout: Layout, rng: &mut Rng) -> Federation {
        let source = match layout {
            Layout::Demo => DEMO,
            Layout::National => NATIONAL,
        };
        let shape = Topology::parse(source).expect("the embedded layouts are valid");
        let mut members = Vec::new();
        let mut push = |name: String, role, province, district, rng: &mut Rng| {
            members.push(Member {
                name,
                role,
                province,
                district,
                seed: rng.bytes(),
            });
        };
        match layout {
            Layout::Demo => {
                for n in &shape.nodes {
                    push(
                        n.name.clone(),
                        n.role,
                        n.province.clone(),
                        n.district.clone(),
                        rng,
                    );
                }
            }
            Layout::National => {
                push("federal".into(), Role::Federal, None, None, rng);
                for p in &shape.provinces {
                    push(
                        p.code.to_ascii_lowercase(),
                        Role::Province,
                        Some(p.code.clone()),
                        None,
                        rng,
                    );
                }
                for d in &shape.districts {
                    push(
                        d.code.to_ascii_lowercase(),
                        Role::District,
                        None,
                        Some(d.code.clone()),
                        rng,
                    );
                }
            }
        }
        let text = districts_part(source).to_owned();
        let root = SignerKey::new("hifazat.sim/root", rng.bytes()).expect("root key name");
        Federation {
            members,
            revoked: Vec::new(),
            root,
            text,
        }
    }

    /// The member `name` gets a new key (seed `seed`); its old one is revoked after the entries `logs` gives (scope
    /// to last valid sequence number), from the next topology signed on.
    pub fn rekey(
        &mut self,
        name: &str,
        seed: [u8; 32],
        logs: std::collections::BTreeMap<String, u64>,
    ) {
        let key = self.key(name).0;
        let member = self
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not a member"));
        member.seed = seed;
        self.revoked.push(Revocation {
            name: name.to_owned(),
            key,
            logs,
        });
    }

    /// A member's secret seed, by name.
    pub fn seed(&self, name: &str) -> [u8; 32] {
        self.members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not a member"))
            .seed
    }

    /// A member's public key, by name.
    pub fn key(&self, name: &str) -> hifazat_log::Author {
        hifazat_log::Author(
            ed25519_dalek::SigningKey::from_bytes(&self.seed(name))
                .verifying_key()
                .to_bytes(),
        )
    }

    /// A member's sync state machine on version 1 of the topology, holding `heads`, with no checkpoints or
    /// evidence: for driving one state machine by hand.
    pub fn start(&self, name: &str, heads: Vec<hifazat_sync::LogHead>) -> hifazat_sync::Sync {
        hifazat_sync::Sync::new(hifazat_sync::Config {
            me: self.key(name),
            root: self.root.verifier(),
            signed_topology: self.signed(1),
            heads,
            checkpoints: vec![],
            evidence: vec![],
        })
        .expect("a member starts")
    }

    /// The topology as version `version`, signed by the root.
    pub fn signed(&self, version: u64) -> Vec<u8> {
        self.signed_without(version, &[])
    }

    /// The topology as version `version` without the members named in `revoked`, signed by the root.
    pub fn signed_without(&self, version: u64, revoked: &[&str]) -> Vec<u8> {
        let mut text = format!("version = {version}\n{}", self.text);
        for (i, m) in self.members.iter().enumerate() {
            if revoked.contains(&m.name.as_str()) {
                continue;
            }
            let key = ed25519_dalek::SigningKey::from_bytes(&m.seed).verifying_key();
            let role = match m.role {
                Role::Federal => "federal",
                Role::Province => "province",
                Role::District => "district",
            };
            text.push_str(&format!(
                "[[node]]\nname = \"{}\"\nrole = \"{role}\"\n",
                m.name
            ));
            if let Some(p) = &m.province {
                text.push_str(&format!("province = \"{p}\"\n"));
            }
            if let Some(d) = &m.district {
                text.push_str(&format!("district = \"{d}\"\n"));
            }
            // Addresses only name the nodes; the simulator never opens a socket.
            text.push_str(&format!(
                "host = \"127.1.{}.{}\"\nkey = \"{}\"\n",
                i / 250,
                i % 250 + 1,
                hex::encode(key.as_bytes())
            ));
            let former: Vec<String> = self
                .revoked
                .iter()
                .filter(|r| r.name == m.name)
                .map(|r| {
                    let logs: Vec<String> = r
                        .logs
                        .iter()
                        .map(|(scope, seq)| format!("\"{scope}\" = {seq}"))
                        .collect();
                    format!(
                        "{{ key = \"{}\", logs = {{ {} }} }}",
                        hex::encode(r.key),
                        logs.join(", ")
                    )
                })
                .collect();
            if !former.is_empty() {
                text.push_str(&format!("revoked = [{}]\n", former.join(", ")));
            }
            text.push('\n');
        }
        Topology::sign(&text, &self.root)
            .expect("the simulated topology is valid")
            .into_bytes()
    }
}
