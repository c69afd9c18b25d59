//! Signed topologies: signing one with the federal root key, opening one, and the one rule for taking one.

use super::*;

impl Topology {
    /// Validates `text` as a membership document and signs it with the federal root key: the signed topology,
    /// a c2sp.org signed note whose text is the TOML.
    pub fn sign(text: &str, root: &SignerKey) -> Result<String, TopologyError> {
        Topology::parse(text)?.check_membership()?;
        let note = Note::sign(text, root).map_err(|e| TopologyError {
            line: None,
            reason: format!("cannot be signed: {e}"),
        })?;
        Ok(note.encode())
    }

    /// Opens a signed topology: the signature must be the federal root's (`root`), the text a valid topology
    /// that names every node's key. Line numbers in errors are the note's own.
    pub fn open_signed(bytes: &[u8], root: &VerifierKey) -> Result<Topology, TopologyError> {
        let signature = |e: NoteError| TopologyError {
            line: None,
            reason: format!("signed topology: {e}"),
        };
        let note = Note::parse(bytes).map_err(signature)?;
        let (text, _) = note.verify(std::slice::from_ref(root)).map_err(signature)?;
        let topology = Topology::parse(text)?;
        topology.check_membership()?;
        Ok(topology)
    }
}

/// Why a signed topology is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotTaken {
    /// It does not open under the trusted root (a bad signature, a bad layout, a node without a key).
    Invalid(TopologyError),
    /// It names no node `name`.
    NoSuchNode(String),
    /// It gives node `name` another key than this node's.
    OtherKey { name: String, ours: [u8; 32] },
    /// No member has this node's key.
    NotMember,
    /// It is not newer than the one the node runs.
    NotNewer { offered: u64, running: u64 },
}

impl fmt::Display for NotTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotTaken::Invalid(e) => write!(f, "{e}"),
            NotTaken::NoSuchNode(name) => write!(f, "the signed topology has no node `{name}`"),
            NotTaken::OtherKey { name, ours } => write!(
                f,
                "the signed topology gives node `{name}` another key than this node's ({})",
                hex::encode(ours)
            ),
            NotTaken::NotMember => f.write_str("the signed topology does not name this node's key"),
            NotTaken::NotNewer { offered, running } => write!(
                f,
                "it is version {offered}; version {running} is installed, and only a newer one replaces it"
            ),
        }
    }
}

impl std::error::Error for NotTaken {}

impl Topology {
    /// The one rule for taking a signed topology, when an operator installs one and when a peer offers one: it
    /// opens under the trusted `root`, names this node under its key `me` (as node `name`, when the caller
    /// knows its name), and is newer than the version the node runs (`running`, if it runs one).
    pub fn take_signed(
        signed: &[u8],
        root: &VerifierKey,
        me: &[u8; 32],
        name: Option<&str>,
        running: Option<u64>,
    ) -> Result<Topology, NotTaken> {
        let topology = Topology::open_signed(signed, root).map_err(NotTaken::Invalid)?;
        match name {
            Some(name) => match topology.node(name) {
                None => return Err(NotTaken::NoSuchNode(name.to_owned())),
                Some(n) if n.key != Some(*me) => {
                    return Err(NotTaken::OtherKey {
                        name: name.to_owned(),
                        ours: *me,
                    });
                }
                Some(_) => {}
            },
            None if topology.member(me).is_none() => return Err(NotTaken::NotMember),
            None => {}
        }
        match running {
            Some(running) if topology.version <= running => Err(NotTaken::NotNewer {
                offered: topology.version,
                running,
            }),
            _ => Ok(topology),
        }
    }
}
