//! Officials' sessions for the node's pages. An official signs in once with their API token; the node keeps the
//! session itself, under a random id the browser holds in a cookie (HttpOnly, SameSite=Strict), and never the
//! token: a session holds the token's hash and asks the users ([`Directory`]) again at every use, so removing a
//! user ends all their sessions at once (within the second the directory takes to see the file change).
//!
//! A session ends on signing out, `SESSION_LIFETIME_MS` after signing in, or `SESSION_IDLE_MS` unused. Sessions
//! are kept in memory, at most `SESSIONS_MAX` (signing in past that ends the least recently used one), so a
//! restart signs everyone out: that loses no work, since every action is written before it is answered. Each
//! session has its own anti-forgery token, which every action form carries and [`Current::csrf_matches`] checks.

use std::collections::HashMap;
use std::sync::Mutex;

use hifazat_limits as limits;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::policy::Caller;
use crate::users::{AuthError, Directory, token_hash};

/// The cookie that holds a session's id.
pub const SESSION_COOKIE: &str = "hz_session";
/// What a session id starts with (then 64 hexadecimal digits).
const SESSION_PREFIX: &str = "hs_";

#[derive(Debug)]
struct Session {
    /// SHA-256 of the user's token.
    user: [u8; 32],
    started_ms: u64,
    used_ms: u64,
    csrf: String,
}

/// The page sessions of one node.
#[derive(Debug)]
pub struct Sessions {
    lifetime_ms: u64,
    idle_ms: u64,
    max: usize,
    /// By SHA-256 of the session's id, so the ids themselves are not kept either.
    live: Mutex<HashMap<[u8; 32], Session>>,
}

/// A session just begun: its id (for the cookie), its anti-forgery token and who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub id: String,
    pub csrf: String,
    pub caller: Caller,
}

/// The official a session belongs to, as the users now are, and the session's anti-forgery token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub caller: Caller,
    pub csrf: String,
}

impl Current {
    /// Whether a posted form's anti-forgery token is this session's (compared in time that does not depend on
    /// where they differ).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn id_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new(
            limits::SESSION_LIFETIME_MS,
            limits::SESSION_IDLE_MS,
            limits::SESSIONS_MAX,
        )
    }
}

impl Sessions {
    pub fn new(lifetime_ms: u64, idle_ms: u64, max: usize) -> Sessions {
        Sessions {
            lifetime_ms,
            idle_ms,
            max: max.max(1),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn expired(&self, s: &Session, now_ms: u64) -> bool {
        now_ms.saturating_sub(s.started_ms) >= self.lifetime_ms
            || now_ms.saturating_sub(s.used_ms) >= self.idle_ms
    }

    /// Signs in the user holding `token`; a token no user holds is refused.
    pub fn sign_in(
        &self,
        users: &Directory,
        token: &str,
        now_ms: u64,
    ) -> Result<SignedIn, AuthError> {
        let caller = users.caller_of_token(token.trim())?;
        let id = format!("{SESSION_PREFIX}{}", random_hex());
        let csrf = random_hex();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| !self.expired(s, now_ms));
        if live.len() >= self.max
            && let Some(oldest) = live.iter().min_by_key(|(_, s)| s.used_ms).map(|(k, _)| *k)
        {
            live.remove(&oldest);
        }
        live.insert(
            id_key(&id),
            Session {
                user: token_hash(token.trim()),
                started_ms: now_ms,
                used_ms: now_ms,
                csrf: csrf.clone(),
            },
        );
        Ok(SignedIn { id, csrf, caller })
    }

    /// The official session `id` belongs to, if it is live and its user still exists; the use counts against the
    /// idle limit.
    pub fn current(&self, users: &Directory, id: &str, now_ms: u64) -> Option<Current> {
        if !id.starts_with(SESSION_PREFIX) || id.len() != SESSION_PREFIX.len() + 64 {
            return None;
        }
        let key = id_key(id);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let session = live.get(&key)?;
        if self.expired(session, now_ms) {
            live.remove(&key);
            return None;
        }
        let Some(caller) = users.caller_of_hash(&session.user) else {
            live.remove(&key);
            return None;
        };
        let session = live.get_mut(&key)?;
        session.used_ms = now_ms;
        Some(Current {
            caller,
            csrf: session.csrf.clone(),
        })
    }

    /// Ends session `id` (signing out); nothing happens for an id that is not live.
    pub fn sign_out(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id_key(id));
    }

    /// How many sessions are kept now (expired ones included until they are next looked at).
    pub fn len(&self) -> usize {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use hifazat_topology::Topology;

    use super::*;
    use crate::policy::{Area, Role};
    use crate::users::Users;

    const T0: u64 = 1_800_000_000_000;

    fn setup() -> (tempfile::TempDir, Directory, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let topology = Topology::parse(include_str!("../../../topology/demo.toml")).unwrap();
        let node = topology.node("lahore").unwrap().clone();
        let (_, dpo) = Users::add(
            dir.path(),
            &topology,
            &node,
            "Dpo Lahore",
            Role::Dpo,
            Area::District("PB-LHR".into()),
        )
        .unwrap();
        let (_, clerk) = Users::add(
            dir.path(),
            &topology,
            &node,
            "Clerk Lahore",
            Role::StationOfficer,
            Area::District("PB-LHR".into()),
        )
        .unwrap();
        let users = Directory::open(dir.path()).unwrap();
        (dir, users, dpo, clerk)
    }

    fn name(c: &Caller) -> &str {
        match c {
            Caller::User { name, .. } => name,
            Caller::Public => "",
        }
    }

    #[test]
    fn a_session_is_its_user_until_it_ends() {
        let (_dir, users, dpo, _) = setup();
        let sessions = Sessions::default();
        assert_eq!(
            sessions.sign_in(&users, "hz_not-a-token", T0),
            Err(AuthError::Unknown)
        );
        let signed = sessions.sign_in(&users, &dpo, T0).unwrap();
        assert_eq!(name(&signed.caller), "Dpo Lahore");
        let now = sessions.current(&users, &signed.id, T0 + 1).unwrap();
        assert_eq!(
            (name(&now.caller), now.csrf.as_str()),
            ("Dpo Lahore", signed.csrf.as_str())
        );
        assert!(now.csrf_matches(&signed.csrf));
        assert!(!now.csrf_matches(&random_hex()));
        assert!(!now.csrf_matches(""));
        // Another id, or one of the wrong shape, is nobody.
        assert_eq!(
            sessions.current(&users, &format!("hs_{}", random_hex()), T0),
            None
        );
        assert_eq!(sessions.current(&users, "hs_short", T0), None);
        sessions.sign_out(&signed.id);
        assert_eq!(sessions.current(&users, &signed.id, T0 + 2), None);
        assert!(sessions.is_empty());
    }

    #[test]
    fn sessions_expire_by_lifetime_and_when_unused() {
        let (_dir, users, dpo, _) = setup();
        let sessions = Sessions::new(10_000, 3_000, 100);
        let s = sessions.sign_in(&users, &dpo, T0).unwrap();
        // Used every two seconds, it lives until its lifetime ends.
        for t in (2_000..10_000).step_by(2_000) {
            assert!(sessions.current(&users, &s.id, T0 + t).is_some(), "at {t}");
        }
        assert_eq!(sessions.current(&users, &s.id, T0 + 10_000), None);
        // Left alone past the idle limit, it ends.
        let s = sessions.sign_in(&users, &dpo, T0).unwrap();
        assert_eq!(sessions.current(&users, &s.id, T0 + 3_000), None);
    }

    #[test]
    fn removing_a_user_ends_their_sessions_and_only_theirs() {
        let (dir, users, dpo, clerk) = setup();
        let sessions = Sessions::default();
        let a = sessions.sign_in(&users, &dpo, T0).unwrap();
        let b = sessions.sign_in(&users, &dpo, T0).unwrap();
        let c = sessions.sign_in(&users, &clerk, T0).unwrap();
        Users::remove(dir.path(), "Dpo Lahore").unwrap();
        // The directory looks at the file at most once a second.
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        assert_eq!(sessions.current(&users, &a.id, T0 + 1), None);
        assert_eq!(sessions.current(&users, &b.id, T0 + 1), None);
        assert!(sessions.current(&users, &c.id, T0 + 1).is_some());
    }

    #[test]
    fn past_the_bound_the_least_recently_used_session_ends() {
        let (_dir, users, dpo, _) = setup();
        let sessions = Sessions::new(1_000_000, 1_000_000, 2);
        let a = sessions.sign_in(&users, &dpo, T0).unwrap();
        let b = sessions.sign_in(&users, &dpo, T0 + 1).unwrap();
        assert!(sessions.current(&users, &a.id, T0 + 2).is_some());
        let c = sessions.sign_in(&users, &dpo, T0 + 3).unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.current(&users, &b.id, T0 + 4), None);
        assert!(sessions.current(&users, &a.id, T0 + 4).is_some());
        assert!(sessions.current(&users, &c.id, T0 + 4).is_some());
    }
}
