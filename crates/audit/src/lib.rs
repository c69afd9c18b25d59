//! Audit bundles: everything an auditor needs to check a node's signed history offline, in one file, and the
//! check itself.
//!
//! `export` writes a node's store as a bundle (`docs/wire.md`, "Audit bundles"): the federal root key, the signed
//! topology, every log with its newest signed checkpoint (and cosignatures), a consistency proof from that
//! checkpoint to the log's head, the log's entries, and the evidence of forks the node holds (found or received). `verify`
//! needs nothing but the bundle and the root key: it checks every signature (in batches), chain link, checkpoint,
//! cosignature and proof, and reports who changed which record when, any evidence of misbehaviour, and every
//! failure with the record, log, entry and rule. Pure apart from the store `export` reads.

pub mod bundle;
pub mod export;
pub mod verify;

pub use bundle::{BundleError, Kind, MAGIC, Reader, Record, Writer};
pub use export::{ExportError, ExportSummary, export};
pub use verify::{Change, Failure, LogSummary, Report, verify};
