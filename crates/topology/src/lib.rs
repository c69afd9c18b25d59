//! The federation's layout: provinces and territories, their regions and districts, and the nodes that serve them.
//!
//! Parsed from TOML (`topology/pakistan.toml`, `topology/demo.toml`) and validated as a whole: every code unique,
//! every reference resolved, every district's headquarters inside Pakistan, every node's address unique. An error
//! names the line of the file and the reason. Pure: reading the file is the caller's job (or [`Topology::load`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

mod entitle;
mod parse;
mod signed;

pub use entitle::{may_hold, neighbours, parent_of, witness_of};
use hifazat_domain::Districts;
use hifazat_limits as limits;
use hifazat_note::{Note, NoteError, SignerKey, VerifierKey};
#[cfg(test)]
use parse::urdu_ok;
use serde::{Deserialize, Serialize};
pub use signed::NotTaken;
use toml::Spanned;

/// A topology error: where in the file, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyError {
    /// 1-based line, when the error has a place in the file.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for TopologyError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvinceKind {
    Province,
    Territory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Federal,
    Province,
    District,
}

/// Default HTTP port of a node (each node has its own address, so all may share it).
pub const HTTP_PORT_DEFAULT: u16 = 8080;
/// Default peer-to-peer port of a node.
pub const P2P_PORT_DEFAULT: u16 = 9080;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Province {
    pub code: String,
    pub name: String,
    /// The name in Urdu script, shown wherever Urdu is.
    pub name_ur: String,
    pub kind: ProvinceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// The name in Urdu script, shown wherever Urdu is.
    pub name_ur: String,
    pub province: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct District {
    pub code: String,
    pub name: String,
    /// The name in Urdu script, shown wherever Urdu is.
    pub name_ur: String,
    pub hq: String,
    pub lat: f64,
    pub lon: f64,
    pub region: String,
    pub province: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub name: String,
    pub role: Role,
    /// The province a province or district node belongs to.
    pub province: Option<String>,
    /// The district a district node serves.
    pub district: Option<String>,
    pub host: IpAddr,
    pub http_port: u16,
    pub p2p_port: u16,
    /// The node's ed25519 public key. A signed topology names every node's key; an unsigned one (for tools and
    /// tests) may leave them out.
    #[serde(serialize_with = "hex_key")]
    pub key: Option<[u8; 32]>,
    /// Keys the node signed with before (a stolen or lost machine's), each with where its logs stop being valid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<Revoked>,
}

/// A node's former key, revoked from a stated point: each of its logs is valid up to a sequence number (the log's
/// head when the key was lost), and every entry after it is refused everywhere. A log the revocation does not
/// name is not valid at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revoked {
    #[serde(serialize_with = "hex_bytes")]
    pub key: [u8; 32],
    /// Scope (as written on the wire) to the last valid sequence number of the key's log of that scope.
    pub logs: BTreeMap<String, u64>,
}

fn hex_bytes<S: serde::Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(key))
}

impl Revoked {
    /// The last valid sequence number of this key's log of `scope` (0: none is valid).
    pub fn valid_up_to(&self, scope: &hifazat_log::Scope) -> u64 {
        self.logs.get(&scope.to_string()).copied().unwrap_or(0)
    }
}

/// Who signed with a key, as the topology says: a member with its key now, or a member with it before.
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    Current(&'a Node),
    Revoked(&'a Node, &'a Revoked),
}

impl<'a> Writer<'a> {
    /// The node, whichever key it is.
    pub fn node(&self) -> &'a Node {
        match self {
            Writer::Current(n) | Writer::Revoked(n, _) => n,
        }
    }

    /// The last valid sequence number of the key's log of `scope`: unlimited for a current key.
    pub fn valid_up_to(&self, scope: &hifazat_log::Scope) -> u64 {
        match self {
            Writer::Current(_) => u64::MAX,
            Writer::Revoked(_, r) => r.valid_up_to(scope),
        }
    }
}

/// Why an entry's author may not have written it at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotWritten {
    /// The key is no member's, now or before.
    Unknown,
    /// The key is `node`'s former key, revoked after entry `up_to` of this log.
    Revoked { node: String, up_to: u64 },
}

impl fmt::Display for NotWritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotWritten::Unknown => f.write_str("its author is not a member of the topology"),
            NotWritten::Revoked { node, up_to } => write!(
                f,
                "its author is node {node}'s revoked key, valid in this log up to entry {up_to} only"
            ),
        }
    }
}

fn hex_key<S: serde::Serializer>(key: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(k) => s.serialize_some(&hex::encode(k)),
        None => s.serialize_none(),
    }
}

/// A validated topology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topology {
    pub name: String,
    pub version: u64,
    pub provinces: Vec<Province>,
    pub regions: Vec<Region>,
    pub districts: Vec<District>,
    pub nodes: Vec<Node>,
    #[serde(skip)]
    district_index: BTreeMap<String, usize>,
    /// Every key, current or revoked, to its node's place in `nodes` and, for a revoked key, its place in the
    /// node's `revoked`: the sync and the engine look up an entry's writer for every entry they receive.
    #[serde(skip)]
    key_index: std::collections::HashMap<[u8; 32], (usize, Option<usize>)>,
}

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let io = |e: std::io::Error| TopologyError {
            line: None,
            reason: format!("{}: {e}", path.display()),
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > limits::TOPOLOGY_BYTES_MAX as u64 {
            return Err(TopologyError {
                line: None,
                reason: format!(
                    "{} is {len} bytes; at most {} are allowed",
                    path.display(),
                    limits::TOPOLOGY_BYTES_MAX
                ),
            });
        }
        Topology::parse(&std::fs::read_to_string(path).map_err(io)?)
    }

    /// Parses and validates a topology.
    pub fn district(&self, code: &str) -> Option<&District> {
        self.district_index.get(code).map(|&i| &self.districts[i])
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn province(&self, code: &str) -> Option<&Province> {
        self.provinces.iter().find(|p| p.code == code)
    }

    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.code == code)
    }

    /// The node whose public key is `key`: a member of the federation this topology describes.
    pub fn member(&self, key: &[u8; 32]) -> Option<&Node> {
        match self.key_index.get(key) {
            Some(&(node, None)) => Some(&self.nodes[node]),
            _ => None,
        }
    }

    /// The node that signs with `key` now, or signed with it before it was revoked.
    pub fn writer(&self, key: &[u8; 32]) -> Option<Writer<'_>> {
        let &(node, revoked) = self.key_index.get(key)?;
        let n = &self.nodes[node];
        Some(match revoked {
            None => Writer::Current(n),
            Some(r) => Writer::Revoked(n, &n.revoked[r]),
        })
    }

    /// Whether entry `seq` of `log` is one its author may have written: by a member's key, or by a revoked key
    /// at or before the point its log was revoked from.
    pub fn written(&self, log: &hifazat_log::LogId, seq: u64) -> Result<Writer<'_>, NotWritten> {
        let writer = self.writer(&log.author.0).ok_or(NotWritten::Unknown)?;
        let up_to = writer.valid_up_to(&log.scope);
        if seq > up_to {
            return Err(NotWritten::Revoked {
                node: writer.node().name.clone(),
                up_to,
            });
        }
        Ok(writer)
    }
}

impl Districts for Topology {
    fn contains(&self, district_code: &str) -> bool {
        self.district_index.contains_key(district_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "test"

[[province]]
code = "PB"
name = "Punjab"
name_ur = "پنجاب"
kind = "province"

[[region]]
code = "PB-LAHORE"
province = "PB"
name = "Lahore"
name_ur = "لاہور"
districts = [
  { code = "PB-LHR", name = "Lahore", name_ur = "لاہور", hq = "Lahore", lat = 31.5497, lon = 74.3436 },
]

[[node]]
name = "federal"
role = "federal"
host = "127.0.0.2"

[[node]]
name = "lahore"
role = "district"
district = "PB-LHR"
host = "127.0.0.5"
"#;

    #[test]
    fn parses_a_good_file() {
        let t = Topology::parse(GOOD).unwrap();
        assert_eq!(t.district("PB-LHR").unwrap().province, "PB");
        assert_eq!(t.node("lahore").unwrap().province.as_deref(), Some("PB"));
        assert_eq!(t.node("federal").unwrap().http_port, HTTP_PORT_DEFAULT);
        assert!(Districts::contains(&t, "PB-LHR"));
        assert!(!Districts::contains(&t, "PB-XXX"));
    }

    fn error_of(text: &str) -> TopologyError {
        Topology::parse(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_reason() {
        let e = error_of(&GOOD.replace("lat = 31.5497, lon = 74.3436", "lat = 51.5, lon = -0.12"));
        assert_eq!(e.line, Some(16), "{e}");
        assert!(e.reason.contains("outside Pakistan"), "{e}");

        let e = error_of(&GOOD.replace("district = \"PB-LHR\"", "district = \"PB-KHI\""));
        assert_eq!(e.line, Some(27), "{e}");
        assert!(e.reason.contains("unknown district `PB-KHI`"), "{e}");

        let e = error_of(&GOOD.replace("host = \"127.0.0.5\"", "host = \"127.0.0.2\""));
        assert!(e.reason.contains("already taken"), "{e}");

        let e = error_of(&GOOD.replace(
            "province = \"PB\"\nname = \"Lahore\"",
            "province = \"SD\"\nname = \"Lahore\"",
        ));
        assert!(e.reason.contains("unknown province `SD`"), "{e}");

        let e = error_of(&GOOD.replace("kind = \"province\"", "kind = \"state\""));
        assert_eq!(e.line, Some(8), "{e}");

        let e = error_of(&GOOD.replace("name = \"lahore\"", "name = \"federal\""));
        assert!(e.reason.contains("defined twice"), "{e}");

        let e = error_of(&format!(
            "{GOOD}\n[[node]]\nname = \"f2\"\nrole = \"federal\"\nhost = \"127.0.0.9\"\n"
        ));
        assert!(e.reason.contains("exactly one"), "{e}");

        let e = error_of("name = \"x\"\n[[province]]\ncode = \"PB\"\n");
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn every_place_needs_its_urdu_name() {
        // Missing, empty, or in Latin letters: each refused with the place's line.
        let e = error_of(&GOOD.replace("name_ur = \"پنجاب\"\n", ""));
        assert!(e.reason.contains("name_ur"), "{e}");
        let e = error_of(&GOOD.replace("name_ur = \"پنجاب\"", "name_ur = \" \""));
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.reason.contains("province `PB` needs `name_ur`"), "{e}");
        let e = error_of(&GOOD.replace("name_ur = \"لاہور\"\n", "name_ur = \"Lahore\"\n"));
        assert_eq!(e.line, Some(14), "{e}");
        assert!(e.reason.contains("region `PB-LAHORE`"), "{e}");
        let e = error_of(&GOOD.replace("name_ur = \"لاہور\", hq", "name_ur = \"\", hq"));
        assert_eq!(e.line, Some(16), "{e}");
        assert!(
            e.reason.contains("district `PB-LHR` needs `name_ur`"),
            "{e}"
        );
        let t = Topology::parse(GOOD).unwrap();
        assert_eq!(t.district("PB-LHR").unwrap().name_ur, "لاہور");
        assert_eq!(t.province("PB").unwrap().name_ur, "پنجاب");
    }

    #[test]
    fn the_repository_layouts_name_every_place_in_urdu() {
        for file in ["pakistan.toml", "demo.toml"] {
            let t = repo_file(file);
            let names = t
                .provinces
                .iter()
                .map(|p| (&p.code, &p.name_ur))
                .chain(t.regions.iter().map(|r| (&r.code, &r.name_ur)))
                .chain(t.districts.iter().map(|d| (&d.code, &d.name_ur)));
            for (code, name) in names {
                assert!(urdu_ok(name), "{file}: {code} has no Urdu name");
            }
        }
        // The demo's places are pakistan.toml's, with the same names.
        let (all, demo) = (repo_file("pakistan.toml"), repo_file("demo.toml"));
        for d in &demo.districts {
            let same = all.district(&d.code).unwrap();
            assert_eq!((&d.name, &d.name_ur), (&same.name, &same.name_ur));
        }
    }

    fn repo_file(name: &str) -> Topology {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../topology")
            .join(name);
        Topology::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn pakistan_has_every_province_and_territory() {
        let t = repo_file("pakistan.toml");
        let codes: Vec<&str> = t.provinces.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["PB", "SD", "KP", "BA", "IS", "GB", "AK"]);
        for p in &t.provinces {
            let n = t.districts.iter().filter(|d| d.province == p.code).count();
            assert!(n >= 1, "{} has no districts", p.name);
        }
        assert!(t.districts.len() >= 160, "{} districts", t.districts.len());
        assert!(t.regions.len() >= 35, "{} regions", t.regions.len());
    }

    #[test]
    fn demo_is_a_small_federation_on_loopback() {
        let t = repo_file("demo.toml");
        assert_eq!(
            t.nodes.iter().filter(|n| n.role == Role::Province).count(),
            2
        );
        assert_eq!(
            t.nodes.iter().filter(|n| n.role == Role::District).count(),
            4
        );
        let hosts: BTreeSet<IpAddr> = t.nodes.iter().map(|n| n.host).collect();
        assert_eq!(
            hosts.len(),
            t.nodes.len(),
            "each node has its own 127.0.0.x"
        );
        assert!(hosts.iter().all(|h| h.is_loopback()));
    }

    /// The public key of seed `seed`.
    fn key(seed: u8) -> [u8; 32] {
        SignerKey::new("k", [seed; 32]).unwrap().verifier().key.0
    }

    /// GOOD with a version and a key for each node (the keys of seeds 1 and 2).
    fn keyed() -> String {
        GOOD.replace("name = \"test\"", "name = \"test\"\nversion = 3")
            .replace(
                "host = \"127.0.0.2\"",
                &format!("host = \"127.0.0.2\"\nkey = \"{}\"", hex::encode(key(1))),
            )
            .replace(
                "host = \"127.0.0.5\"",
                &format!("host = \"127.0.0.5\"\nkey = \"{}\"", hex::encode(key(2))),
            )
    }

    #[test]
    fn node_keys_are_checked_with_their_line() {
        let t = Topology::parse(&keyed()).unwrap();
        assert_eq!(t.version, 3);
        let lahore = t.node("lahore").unwrap().key.unwrap();
        assert_eq!(t.member(&lahore).unwrap().name, "lahore");
        assert!(t.member(&[0; 32]).is_none());

        let text = keyed();
        let first_key = text.lines().find(|l| l.starts_with("key =")).unwrap();
        let e = error_of(&text.replace(first_key, "key = \"00ff\""));
        let key_line = text.lines().position(|l| l == first_key).unwrap() + 1;
        assert_eq!(e.line, Some(key_line), "{e}");
        assert!(e.reason.contains("64 hexadecimal digits"), "{e}");
        let second_key = text
            .lines()
            .filter(|l| l.starts_with("key ="))
            .nth(1)
            .unwrap();
        let e = error_of(&text.replace(second_key, first_key));
        assert!(e.reason.contains("already belongs to another node"), "{e}");
    }

    #[test]
    fn a_revoked_key_writes_validly_up_to_its_point_only() {
        let old = [5u8; 32];
        let text = keyed().replacen(
            &format!("key = \"{}\"", hex::encode(key(2))),
            &format!(
                "key = \"{}\"\nrevoked = [{{ key = \"{}\", logs = {{ \"alerts\" = 12, \"cases/pb-lhr\" = 3 }} }}]",
                hex::encode(key(2)),
                hex::encode(old)
            ),
            1,
        );
        let t = Topology::parse(&text).unwrap();
        let log = |author: [u8; 32], scope: &str| hifazat_log::LogId {
            author: hifazat_log::Author(author),
            scope: hifazat_log::Scope::parse(scope).unwrap(),
        };
        assert_eq!(t.writer(&old).unwrap().node().name, "lahore");
        assert!(
            t.member(&old).is_none(),
            "a revoked key is no member: it may not connect"
        );
        assert!(t.written(&log(old, "alerts"), 12).is_ok());
        assert_eq!(
            t.written(&log(old, "alerts"), 13).unwrap_err(),
            NotWritten::Revoked {
                node: "lahore".into(),
                up_to: 12
            }
        );
        assert!(t.written(&log(old, "cases/pb-lhr"), 3).is_ok());
        assert!(t.written(&log(old, "cases/pb-lhr"), 4).is_err());
        // A log its point does not name has no valid entry.
        assert!(t.written(&log(old, "access/pb-lhr/pb-lhr"), 1).is_err());
        assert!(t.written(&log(key(2), "alerts"), u64::MAX).is_ok());
        assert_eq!(
            t.written(&log([9; 32], "alerts"), 1).unwrap_err(),
            NotWritten::Unknown
        );
        // Signed and opened, it is the same.
        let root = SignerKey::new("hifazat.example/root", [7; 32]).unwrap();
        let signed = Topology::sign(&text, &root).unwrap();
        assert_eq!(
            Topology::open_signed(signed.as_bytes(), &root.verifier()).unwrap(),
            t
        );

        // A revoked key that is a node's current key, a bad scope, a bad key: refused, with the line.
        let e = error_of(&text.replace(&hex::encode(old), &hex::encode(key(1))));
        assert!(e.reason.contains("already belongs to a node"), "{e}");
        assert!(e.line.is_some());
        let e = error_of(&text.replace("\"alerts\" = 12", "\"Alerts!\" = 12"));
        assert!(e.reason.contains("is not a log scope"), "{e}");
        let e = error_of(&text.replace(&hex::encode(old), "abc"));
        assert!(e.reason.contains("64 hexadecimal digits"), "{e}");
    }

    #[test]
    fn a_signed_topology_opens_only_under_the_root_key_and_unaltered() {
        let root = SignerKey::new("hifazat.example/root", [7; 32]).unwrap();
        let signed = Topology::sign(&keyed(), &root).unwrap();
        let t = Topology::open_signed(signed.as_bytes(), &root.verifier()).unwrap();
        assert_eq!(t, Topology::parse(&keyed()).unwrap());

        // Another key with the root's name: refused.
        let impostor = SignerKey::new("hifazat.example/root", [8; 32]).unwrap();
        let e = Topology::open_signed(signed.as_bytes(), &impostor.verifier()).unwrap_err();
        assert!(e.reason.contains("no signature by a known key"), "{e}");
        // One changed byte in the text: refused.
        let altered = signed.replacen("127.0.0.5", "127.0.0.6", 1);
        let e = Topology::open_signed(altered.as_bytes(), &root.verifier()).unwrap_err();
        assert!(e.reason.contains("does not verify"), "{e}");
        // A membership document must name every node's key, signed or not.
        let e = Topology::sign(GOOD, &root).unwrap_err();
        assert!(e.reason.contains("has no `key`"), "{e}");
        let unkeyed = Note::sign(GOOD, &root).unwrap().encode();
        let e = Topology::open_signed(unkeyed.as_bytes(), &root.verifier()).unwrap_err();
        assert!(e.reason.contains("has no `key`"), "{e}");
    }

    #[test]
    fn a_signed_topology_is_taken_only_when_newer_and_naming_this_node_under_its_key() {
        let root = SignerKey::new("hifazat.example/root", [7; 32]).unwrap();
        let signed = Topology::sign(&keyed(), &root).unwrap();
        let (v, bytes) = (root.verifier(), signed.as_bytes());
        let lahore = SignerKey::new("k", [2; 32]).unwrap().verifier().key.0;
        let stranger = [9u8; 32];
        let t = Topology::take_signed(bytes, &v, &lahore, Some("lahore"), Some(2)).unwrap();
        assert_eq!(t.version, 3);
        assert!(Topology::take_signed(bytes, &v, &lahore, None, None).is_ok());
        let take = |me: &[u8; 32], name: Option<&str>, running| {
            Topology::take_signed(bytes, &v, me, name, running).unwrap_err()
        };
        assert_eq!(
            take(&lahore, Some("lahore"), Some(3)),
            NotTaken::NotNewer {
                offered: 3,
                running: 3
            }
        );
        assert_eq!(take(&stranger, None, None), NotTaken::NotMember);
        assert_eq!(
            take(&lahore, Some("quetta"), None),
            NotTaken::NoSuchNode("quetta".into())
        );
        assert!(matches!(
            take(&stranger, Some("lahore"), None),
            NotTaken::OtherKey { .. }
        ));
        let impostor = SignerKey::new("hifazat.example/root", [8; 32]).unwrap();
        let e =
            Topology::take_signed(bytes, &impostor.verifier(), &lahore, None, None).unwrap_err();
        assert!(matches!(e, NotTaken::Invalid(_)), "{e}");
    }
}
