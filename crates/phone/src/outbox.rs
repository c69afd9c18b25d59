//! The outbox: every message this node sends, on disk before it goes to a gateway, with what became of it.
//!
//! Kept in a vault of its own (`<data>/sms/`). A message may carry a key that makes it once: enqueueing a key
//! that is already there returns the message that has it (an official's notification is keyed by the alert,
//! office, reason and official, so a crash between queueing and recording the timeline event never sends twice).
//!
//! The text of a register verification's reply is never written here (it may name an offender): it is held in
//! memory until the gateway has it. A node that stops before then marks the message failed when it starts again;
//! the asker sends the CNIC again.

use std::collections::HashMap;
use std::sync::Mutex;

use hifazat_domain::{NoticeReason, Office};
use hifazat_store::{StoreError, Vault, VaultBatch};
use serde::{Deserialize, Serialize};

/// Messages the outbox keeps; when there are more, the oldest that are finished (delivered, failed, kept) go.
pub const OUTBOX_MESSAGES_MAX: u64 = 1_000_000;
/// How many messages a page of the outbox holds at most.
pub const OUTBOX_PAGE_MAX: usize = 500;

const MESSAGES: u8 = 1;
const KEYS: u8 = 2;
/// The ids of queued messages, so retries read only those (not the whole outbox).
const QUEUED: u8 = 3;
/// Queued messages read at once by [`Outbox::queued`].
const QUEUED_READ_MAX: usize = 10_000;

/// What a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Purpose {
    /// An official told of an alert.
    Notification {
        record: String,
        office: Office,
        reason: NoticeReason,
        official: String,
    },
    /// The answer to an incoming text.
    Reply { about: ReplyAbout },
    /// A register officer told of the register's alarm number `seq` (the federal node).
    RegisterAlarm { seq: u64, officer: String },
    /// A record's DPO or RPO told that an officer elsewhere opened it by break-glass.
    BreakGlass {
        record: String,
        office: Office,
        official: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyAbout {
    /// A CNIC verification (the text is not kept).
    Verification,
    /// An alert raised by text, or why it was not.
    Alert,
    /// How an alert stands (`STATUS <code>`).
    Status,
    /// A text that was not understood.
    Help,
}

/// Where a message stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// On disk, not yet accepted by the gateway.
    Queued,
    /// The node has no gateway: the message is kept here (and in the log) for someone to read.
    Kept,
    /// The gateway accepted it.
    Submitted,
    /// The gateway reports it delivered to the phone.
    Delivered,
    /// The gateway refused it, reports it undelivered, or it could not be sent.
    Failed { reason: String },
}

impl State {
    fn finished(&self) -> bool {
        matches!(self, State::Kept | State::Delivered | State::Failed { .. })
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: u64,
    /// E.164.
    pub to: String,
    /// The text; absent for a verification's reply, which is never written down.
    pub text: Option<String>,
    /// `gsm7` or `ucs2`.
    pub coding: String,
    pub parts: usize,
    pub purpose: Purpose,
    #[serde(flatten)]
    pub state: State,
    pub attempts: u32,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// What the gateway last said (its delivery report's text, or its answer to the submission).
    pub gateway_said: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: Option<String>,
    pub to: String,
    pub text: String,
    /// Never written to disk or to the log.
    pub secret: bool,
    pub purpose: Purpose,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("the outbox holds a damaged message: {0}")]
    Damaged(String),
    #[error("{0}")]
    Text(#[from] hifazat_sms::TooLong),
}

/// The outbox of one node.
#[derive(Debug)]
pub struct Outbox {
    vault: Vault,
    state: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    next_id: u64,
    /// Texts that are not written down, until the gateway has them.
    secret_texts: HashMap<u64, String>,
}

fn decode(bytes: &[u8]) -> Result<Message, OutboxError> {
    serde_json::from_slice(bytes).map_err(|e| OutboxError::Damaged(e.to_string()))
}

fn encode(message: &Message) -> Vec<u8> {
    serde_json::to_vec(message).expect("a message serialises")
}

impl Outbox {
    /// Opens the outbox in `dir`. Secret texts do not survive a restart: their queued messages are marked failed.
    pub fn open(dir: &std::path::Path, now_ms: u64) -> Result<Outbox, OutboxError> {
        let vault = Vault::open(dir)?;
        let next_id = match vault.last(MESSAGES)? {
            Some((k, _)) => {
                u64::from_be_bytes(
                    k.try_into()
                        .map_err(|_| OutboxError::Damaged("a message key is not 8 bytes".into()))?,
                ) + 1
            }
            None => 1,
        };
        let outbox = Outbox {
            vault,
            state: Mutex::new(Inner {
                next_id,
                secret_texts: HashMap::new(),
            }),
        };
        for m in outbox.queued()? {
            if m.text.is_none() {
                outbox.set_state(
                    m.id,
                    State::Failed {
                        reason: "the node restarted before the gateway took it, and its text is not kept"
                            .into(),
                    },
                    None,
                    now_ms,
                )?;
            }
        }
        Ok(outbox)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message, on disk when this returns. With a key already in the outbox, returns that message and
    /// `false`.
    pub fn enqueue(&self, out: Outgoing, now_ms: u64) -> Result<(Message, bool), OutboxError> {
        let split = hifazat_sms::split(&out.text)?;
        let mut inner = self.lock();
        if let Some(key) = &out.key
            && let Some(id) = self.vault.get(KEYS, key.as_bytes())?
        {
            let id = u64::from_be_bytes(
                id.try_into()
                    .map_err(|_| OutboxError::Damaged("a key's id is not 8 bytes".into()))?,
            );
            let message = self.get(id)?.ok_or_else(|| {
                OutboxError::Damaged(format!("key {key} names a missing message"))
            })?;
            return Ok((message, false));
        }
        let id = inner.next_id;
        let message = Message {
            id,
            to: out.to,
            text: (!out.secret).then(|| out.text.clone()),
            coding: match split.coding {
                hifazat_sms::Coding::Gsm7 => "gsm7",
                hifazat_sms::Coding::Ucs2 => "ucs2",
            }
            .to_owned(),
            parts: split.parts.len(),
            purpose: out.purpose,
            state: State::Queued,
            attempts: 0,
            created_ms: now_ms,
            updated_ms: now_ms,
            gateway_said: None,
        };
        let mut batch = VaultBatch::default();
        batch.put(MESSAGES, &id.to_be_bytes(), &encode(&message));
        batch.put(QUEUED, &id.to_be_bytes(), &[]);
        if let Some(key) = &out.key {
            batch.put(KEYS, key.as_bytes(), &id.to_be_bytes());
        }
        if id > OUTBOX_MESSAGES_MAX && id.is_multiple_of(1_000) {
            self.prune(&mut batch, id - OUTBOX_MESSAGES_MAX)?;
        }
        self.vault.commit(batch)?;
        inner.next_id = id + 1;
        if out.secret {
            inner.secret_texts.insert(id, out.text);
        }
        Ok((message, true))
    }

    /// Removes finished messages with ids below `below` (their keys stay, so nothing keyed is sent again).
    fn prune(&self, batch: &mut VaultBatch, below: u64) -> Result<(), OutboxError> {
        for (k, v) in self.vault.scan(MESSAGES, None, 10_000)? {
            let m = decode(&v)?;
            if m.id >= below {
                break;
            }
            if m.state.finished() {
                batch.remove(MESSAGES, &k);
            }
        }
        Ok(())
    }

    /// The text to hand to the gateway: the kept one, or the secret one held in memory.
    pub fn text_of(&self, message: &Message) -> Option<String> {
        message
            .text
            .clone()
            .or_else(|| self.lock().secret_texts.get(&message.id).cloned())
    }

    /// Whether a message with this key was ever queued.
    pub fn has_key(&self, key: &str) -> Result<bool, OutboxError> {
        Ok(self.vault.get(KEYS, key.as_bytes())?.is_some())
    }

    pub fn get(&self, id: u64) -> Result<Option<Message>, OutboxError> {
        self.vault
            .get(MESSAGES, &id.to_be_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Sets a message's state (and what the gateway said), on disk when this returns; a finished message drops
    /// its secret text. Returns the message as it now is, or `None` if there is no such message.
    pub fn set_state(
        &self,
        id: u64,
        state: State,
        said: Option<String>,
        now_ms: u64,
    ) -> Result<Option<Message>, OutboxError> {
        let mut inner = self.lock();
        let Some(mut message) = self.get(id)? else {
            return Ok(None);
        };
        // A late report never takes a delivered message back.
        if message.state == State::Delivered {
            return Ok(Some(message));
        }
        if state == State::Submitted || matches!(state, State::Failed { .. }) {
            message.attempts += 1;
        }
        message.state = state;
        if said.is_some() {
            message.gateway_said = said;
        }
        message.updated_ms = now_ms;
        let mut batch = VaultBatch::default();
        batch.put(MESSAGES, &id.to_be_bytes(), &encode(&message));
        if message.state != State::Queued {
            batch.remove(QUEUED, &id.to_be_bytes());
        }
        self.vault.commit(batch)?;
        if message.state != State::Queued {
            inner.secret_texts.remove(&id);
        }
        Ok(Some(message))
    }

    /// Messages still queued, oldest first (at most `QUEUED_READ_MAX`), read through the queued ids.
    pub fn queued(&self) -> Result<Vec<Message>, OutboxError> {
        let mut out = Vec::new();
        for (k, _) in self.vault.scan(QUEUED, None, QUEUED_READ_MAX)? {
            let id = u64::from_be_bytes(
                k.try_into()
                    .map_err(|_| OutboxError::Damaged("a queued id is not 8 bytes".into()))?,
            );
            if let Some(m) = self.get(id)?
                && m.state == State::Queued
            {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Up to `limit` messages with ids below `before`, newest first.
    pub fn page(&self, before: Option<u64>, limit: usize) -> Result<Vec<Message>, OutboxError> {
        let before = before.map(u64::to_be_bytes);
        self.vault
            .scan_rev(
                MESSAGES,
                before.as_ref().map(|b| &b[..]),
                limit.min(OUTBOX_PAGE_MAX),
            )?
            .iter()
            .map(|(_, v)| decode(v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(key: &str) -> Outgoing {
        Outgoing {
            key: Some(key.into()),
            to: "+923001234567".into(),
            text: "Hifazat: test".into(),
            secret: false,
            purpose: Purpose::Reply {
                about: ReplyAbout::Help,
            },
        }
    }

    #[test]
    fn keyed_messages_are_queued_once_and_secret_texts_never_reach_the_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let outbox = Outbox::open(dir.path(), 1).expect("open");
            let (a, new) = outbox.enqueue(note("k1"), 10).expect("queue");
            assert!(new);
            assert_eq!((a.id, a.coding.as_str(), a.parts), (1, "gsm7", 1));
            let (again, new) = outbox.enqueue(note("k1"), 11).expect("queue");
            assert!(!new);
            assert_eq!(again.id, 1);
            let secret = Outgoing {
                key: None,
                text: "Beware! ZZQX son of QQZY".into(),
                secret: true,
                ..note("unused")
            };
            let (s, _) = outbox.enqueue(secret, 12).expect("queue");
            assert_eq!(s.text, None);
            assert_eq!(
                outbox.text_of(&s).as_deref(),
                Some("Beware! ZZQX son of QQZY")
            );
            let d = outbox
                .set_state(1, State::Delivered, Some("ACK".into()), 13)
                .expect("state")
                .expect("there");
            assert_eq!(d.state, State::Delivered);
            // A late failure report does not undo a delivery.
            outbox
                .set_state(1, State::Failed { reason: "x".into() }, None, 14)
                .expect("state");
            assert_eq!(
                outbox.get(1).expect("get").expect("there").state,
                State::Delivered
            );
            assert_eq!(outbox.page(None, 10).expect("page").len(), 2);
        }
        let outbox = Outbox::open(dir.path(), 20).expect("reopen");
        // The secret message's text was not kept: it is failed, and its text is nowhere.
        let s = outbox.get(2).expect("get").expect("there");
        assert!(matches!(s.state, State::Failed { .. }));
        assert_eq!(outbox.text_of(&s), None);
        assert!(outbox.queued().expect("queued").is_empty());
        let (next, new) = outbox.enqueue(note("k2"), 21).expect("queue");
        assert!(new);
        assert_eq!(next.id, 3, "ids go on after a restart");
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).expect("read");
            assert!(
                !bytes.windows(4).any(|w| w == b"ZZQX"),
                "{} holds the secret text",
                entry.display()
            );
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
