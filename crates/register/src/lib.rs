//! The confidential sex-offender register, as only the federal node holds it.
//!
//! - [`offender`]: register entries, drafts and the changes that make them, validated field by field;
//! - [`keys`]: the register key (its own file, mode 0600), the AEAD that encrypts every value at rest and the
//!   keyed hash of the CNIC index;
//! - [`log`]: the register log's entries, Merkle tree and signed checkpoint, as auditors read them;
//! - [`seal`]: notifications from the field, sealed to the federal node's public key so relays cannot read them;
//! - [`reply`]: what verification answers, in English and Urdu, under the disclosure policy, at one fixed size;
//! - [`guard`]: rate limits and scan detection (pure: time is an argument);
//! - [`service`]: the register itself over a vault of its own (`hifazat_store::Vault`), with its federal-only
//!   signed log, consultations logged durably before they are answered, and notifications applied exactly once.
//!
//! Nothing here logs a CNIC, a name or a hash of either.

pub mod guard;
pub mod keys;
pub mod log;
pub mod offender;
pub mod reply;
pub mod seal;
pub mod service;

pub use guard::{Alarm, Guard, GuardConfig, Refusal, Requester, Signal, Verdict};
pub use keys::{KeyError, RegisterKeys, create_key_file, read_key_file};
pub use log::RegisterLog;
pub use offender::{Offender, OffenderDraft, Update};
pub use reply::{Disclosure, Outcome, VerifyReply};
pub use service::{
    AlarmRecord, Channel, ConsultOutcome, Consultation, Notice, NoticeDraft, NoticeOutcome,
    NoticeRecord, OffenderSummary, Register, RegisterConfig, RegisterError, RegisterStats,
};
