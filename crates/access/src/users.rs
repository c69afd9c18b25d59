//! The node's API users: a JSON file in the node's data directory (`users.json`, mode 0600) holding each user's
//! name, role, area and the SHA-256 of their token. A token is shown once, when the user is added; only its hash
//! is kept, so the file does not let anyone act as a user. Tokens are 256 random bits, so a plain hash suffices.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hifazat_limits as limits;
use hifazat_topology::{Node, Topology};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::policy::{Area, Caller, Role};

/// The users file's name in a node's data directory.
pub const USERS_FILE: &str = "users.json";

/// What a token looks like: this prefix, then 64 hex digits.
pub const TOKEN_PREFIX: &str = "hz_";

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
}

/// One API user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub area: Area,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
    pub created_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    version: u32,
    users: Vec<User>,
}

/// The users of one node, as read from its file.
#[derive(Debug, Default)]
pub struct Users {
    users: Vec<User>,
    by_hash: HashMap<[u8; 32], usize>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AccessError + '_ {
    move |source| AccessError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Checks a user's name: 1 to `USER_NAME_CHARS_MAX` characters, no control characters, no `:` (the actor string
/// is `role:name`).
fn check_name(name: &str) -> Result<String, AccessError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > limits::USER_NAME_CHARS_MAX
        || name.chars().any(|c| c.is_control() || c == ':')
    {
        return Err(AccessError::Invalid(format!(
            "--name must be 1 to {} characters, without control characters or `:`",
            limits::USER_NAME_CHARS_MAX
        )));
    }
    // The actor string `role:name` goes into signed entries, which bound it.
    if "register_officer:".len() + name.len() > limits::ACTOR_BYTES_MAX {
        return Err(AccessError::Invalid(format!(
            "--name is {} bytes; with the role it must fit in {} bytes",
            name.len(),
            limits::ACTOR_BYTES_MAX
        )));
    }
    Ok(name.to_owned())
}

impl Users {
    /// Reads a node's users; a node without the file has none.
    pub fn load(data: &Path) -> Result<Users, AccessError> {
        let path = data.join(USERS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
            Err(e) => return Err(io(&path)(e)),
        };
        let file: UsersFile = serde_json::from_slice(&bytes).map_err(|e| AccessError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut by_hash = HashMap::new();
        for (i, user) in file.users.iter().enumerate() {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&user.token_sha256, &mut hash).map_err(|e| {
                AccessError::Damaged {
                    path: path.clone(),
                    reason: format!("user `{}`: token_sha256: {e}", user.name),
                }
            })?;
            by_hash.insert(hash, i);
        }
        Ok(Users {
            users: file.users,
            by_hash,
        })
    }

    pub fn list(&self) -> &[User] {
        &self.users
    }

    /// The user holding `token`, if any.
    pub fn find(&self, token: &str) -> Option<&User> {
        self.by_hash
            .get(&token_hash(token))
            .map(|&i| &self.users[i])
    }

    /// Adds a user to the node in `data` and returns the new token, which is not kept anywhere. Checks the role's
    /// area against the topology and the node: a district officer needs a district on this node's line, an RPO a
    /// region, an IG a province; the ministry and auditors need none; register officers and verifiers exist only on
    /// the federal node.
    pub fn add(
        data: &Path,
        topology: &Topology,
        node: &Node,
        name: &str,
        role: Role,
        area: Area,
    ) -> Result<(User, String), AccessError> {
        let name = check_name(name)?;
        let wanted = role.area_kind();
        let given = match &area {
            Area::District(_) => Some("district"),
            Area::Region(_) => Some("region"),
            Area::Province(_) => Some("province"),
            Area::National => None,
        };
        if wanted != given {
            return Err(AccessError::Invalid(match wanted {
                Some(kind) => format!("a {role} needs --{kind}"),
                None => format!(
                    "a {role} covers the whole country: give no --district, --region or --province"
                ),
            }));
        }
        if matches!(role, Role::RegisterOfficer | Role::Verifier)
            && node.role != hifazat_topology::Role::Federal
        {
            return Err(AccessError::Invalid(format!(
                "{role}s exist only on the federal node, which alone holds the register"
            )));
        }
        area.check(topology, node).map_err(AccessError::Invalid)?;
        let mut users = Users::load(data)?;
        if users.users.iter().any(|u| u.name == name) {
            return Err(AccessError::Invalid(format!(
                "a user named `{name}` already exists on this node"
            )));
        }
        if users.users.len() >= limits::USERS_MAX {
            return Err(AccessError::Invalid(format!(
                "this node has {} users, the most it keeps",
                limits::USERS_MAX
            )));
        }
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let user = User {
            name,
            role,
            area,
            token_sha256: hex::encode(token_hash(&token)),
            created_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        };
        users.users.push(user.clone());
        users.save(data)?;
        Ok((user, token))
    }

    /// Removes the user `name` from the node in `data`; their token stops working within a second on a running
    /// node.
    pub fn remove(data: &Path, name: &str) -> Result<User, AccessError> {
        let mut users = Users::load(data)?;
        let at = users
            .users
            .iter()
            .position(|u| u.name == name)
            .ok_or_else(|| AccessError::Invalid(format!("no user named `{name}` on this node")))?;
        let user = users.users.remove(at);
        users.save(data)?;
        Ok(user)
    }

    fn save(&self, data: &Path) -> Result<(), AccessError> {
        let path = data.join(USERS_FILE);
        let file = UsersFile {
            version: 1,
            users: self.users.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("users serialise");
        hifazat_files::replace(&path, &bytes, hifazat_files::Access::OwnerOnly).map_err(io(&path))
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("unknown or removed token")]
    Unknown,
}

/// A running node's users, read again from the file when it changes (checked at most once a second), so
/// `hifazat user add` and `user remove` take effect without a restart.
#[derive(Debug)]
pub struct Directory {
    /// The node's data directory; none for a directory without a file.
    data: Option<PathBuf>,
    state: RwLock<DirectoryState>,
}

#[derive(Debug)]
struct DirectoryState {
    users: Users,
    /// The file's modification time and length when it was read.
    seen: Option<(SystemTime, u64)>,
    checked: Instant,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Directory {
    pub fn open(data: &Path) -> Result<Directory, AccessError> {
        let seen = stamp(&data.join(USERS_FILE));
        let users = Users::load(data)?;
        Ok(Directory {
            data: Some(data.to_owned()),
            state: RwLock::new(DirectoryState {
                users,
                seen,
                checked: Instant::now(),
            }),
        })
    }

    /// A directory with no users and no file, for nodes and tests without any.
    pub fn empty() -> Directory {
        Directory {
            data: None,
            state: RwLock::new(DirectoryState {
                users: Users::default(),
                seen: None,
                checked: Instant::now(),
            }),
        }
    }

    fn refresh(&self) {
        let Some(data) = &self.data else {
            return;
        };
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.checked.elapsed() < Duration::from_secs(1) {
                return;
            }
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if state.checked.elapsed() < Duration::from_secs(1) {
            return;
        }
        state.checked = Instant::now();
        let now = stamp(&data.join(USERS_FILE));
        if now == state.seen {
            return;
        }
        // A file that does not read keeps the users we have; the operator's tool reports the damage.
        if let Ok(users) = Users::load(data) {
            state.users = users;
            state.seen = now;
        }
    }

    /// The caller an `Authorization` header value names: none is the public.
    pub fn caller(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(value) = authorization else {
            return Ok(Caller::Public);
        };
        let token = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .ok_or(AuthError::Malformed)?;
        self.caller_of_token(token)
    }

    /// The user holding `token`, as a caller.
    pub fn caller_of_token(&self, token: &str) -> Result<Caller, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
            return Err(AuthError::Unknown);
        }
        self.caller_of_hash(&token_hash(token))
            .ok_or(AuthError::Unknown)
    }

    /// The user whose token hashes to `hash`, as a caller, as the users now are (a session holds the hash, never
    /// the token, and asks again at each use, so a removed user's sessions end at once).
    pub fn caller_of_hash(&self, hash: &[u8; 32]) -> Option<Caller> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let user = &state.users.users[*state.users.by_hash.get(hash)?];
        Some(Caller::User {
            name: user.name.clone(),
            role: user.role,
            area: user.area.clone(),
        })
    }
}
