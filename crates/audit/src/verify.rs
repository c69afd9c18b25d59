//! Verifying a bundle offline, with the federal root's public key alone: the signed topology under the root key,
//! then every entry's signature under its author's key from that topology (in batches), every chain link, every
//! log's Merkle tree against its signed checkpoint, every cosignature, every consistency proof, and every piece of
//! evidence. Each failure names the bundle record, the log and entry, and the rule broken; a log stops being
//! checked at its first broken entry (what follows cannot be trusted), the other logs go on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;

use hifazat_log::{
    Author, Entry, Evidence, Hash, Head, Scope, VerifiedEntry, Verifier, check_next,
    checkpoint_origin, tree_leaf,
};
use hifazat_merkle::{Digest, Frontier, verify_consistency};
use hifazat_note::{Checkpoint, Note, VerifierKey, cosignature_key_id};
use hifazat_topology::Topology;

use crate::bundle::{Kind, Reader, Record};

/// Entries verified in one batch.
const BATCH: usize = 1024;

/// A rule broken, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The bundle record (from 0), when one is to blame.
    pub record: Option<u64>,
    /// The log, as `node/scope (id prefix)`, when the failure is in one.
    pub log: Option<String>,
    /// The entry's sequence number, when the failure is an entry's.
    pub seq: Option<u64>,
    pub rule: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = self.record {
            write!(f, "record {r}: ")?;
        }
        if let Some(l) = &self.log {
            write!(f, "log {l}: ")?;
        }
        if let Some(s) = self.seq {
            write!(f, "entry #{s}: ")?;
        }
        f.write_str(&self.rule)
    }
}

/// One change to a record, as its signed entry states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at_ms: u64,
    /// The signing node's name in the topology.
    pub node: String,
    pub actor: String,
    pub scope: String,
    pub seq: u64,
}

/// A log as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    pub name: String,
    pub entries: u64,
    pub root: Digest,
    /// The checkpoint's size and who cosigned it (witness, time in seconds), when the bundle has one.
    pub checkpoint: Option<(u64, Vec<(String, u64)>)>,
    /// Whether every entry, the checkpoint and the proof held.
    pub ok: bool,
}

/// What a verification found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Whether the root key was taken from the bundle itself (no key was given to check it against).
    pub root_from_bundle: bool,
    pub root: Option<String>,
    pub topology: Option<(String, u64)>,
    pub logs: Vec<LogSummary>,
    pub signatures: u64,
    pub cosignatures: u64,
    /// Every change, by record id.
    pub history: BTreeMap<[u8; 16], Vec<Change>>,
    /// Equivocation: who signed two histories of which log, at which entry.
    pub evidence: Vec<String>,
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.topology.is_some()
    }
}

/// The log being read.
struct LogState {
    digest: Hash,
    /// Learnt from the first entry.
    scope: Option<String>,
    author: Option<(Author, String)>,
    record: u64,
    count: u64,
    expect_checkpoint: bool,
    checkpoint: Option<(u64, Checkpoint)>,
    consistency: Option<(u64, u64, u64, Vec<Digest>)>,
    frontier: Frontier,
    head: Option<Head>,
    batch: Vec<(u64, Entry)>,
    read: u64,
    failed: bool,
    cosigned: Vec<(String, u64)>,
}

impl LogState {
    /// How failures and the report name the log: `node/scope (id prefix)`, with `?` for what is not known yet.
    fn name(&self) -> String {
        format!(
            "{}/{} ({})",
            self.author.as_ref().map_or("?", |(_, n)| n.as_str()),
            self.scope.as_deref().unwrap_or("?"),
            &self.digest.to_hex()[..16]
        )
    }
}

/// Checks a bundle. `root` is the federal root key the auditor holds; without it the bundle's own is used (and
/// the report says so). `progress(bytes read)` is called as the bundle is read.
pub fn verify<R: Read>(
    input: R,
    root: Option<&VerifierKey>,
    progress: &mut dyn FnMut(u64),
) -> Report {
    let mut v = Verification {
        report: Report::default(),
        root: root.cloned(),
        members: HashMap::new(),
        federal: HashSet::new(),
        revoked: HashMap::new(),
        verifier: Verifier::new(),
        log: None,
        seen_logs: HashMap::new(),
    };
    let mut reader = match Reader::new(input) {
        Ok(r) => r,
        Err(e) => {
            v.fail(None, e.to_string());
            return v.report;
        }
    };
    let mut ended = false;
    let mut last_progress = 0;
    loop {
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                v.end_log();
                v.fail(e.record(), e.to_string());
                break;
            }
        };
        if ended {
            v.fail(Some(record.index), "a record after the End record".into());
            break;
        }
        if record.kind == Kind::End {
            v.end_log();
            v.end(&record);
            ended = true;
            continue;
        }
        v.record(record);
        if reader.bytes - last_progress >= 1 << 20 {
            last_progress = reader.bytes;
            progress(reader.bytes);
        }
    }
    progress(reader.bytes);
    if !ended {
        v.end_log();
        v.fail(
            None,
            "the bundle ends without its End record (it was cut short)".into(),
        );
    }
    v.report
}

struct Verification {
    report: Report,
    root: Option<VerifierKey>,
    /// Topology members by key: (name, verifier key for notes).
    members: HashMap<Author, (String, VerifierKey)>,
    /// The members with the federal role: the only authors of the register log.
    federal: HashSet<Author>,
    /// Members' former keys, each valid in its logs up to its point (they are in `members` too, under the node's
    /// name, for their checkpoints and cosignatures).
    revoked: HashMap<Author, hifazat_topology::Revoked>,
    verifier: Verifier,
    log: Option<LogState>,
    /// Logs already read, so a log given twice is caught.
    seen_logs: HashMap<Hash, u64>,
}

impl Verification {
    fn fail(&mut self, record: Option<u64>, rule: String) {
        self.report.failures.push(Failure {
            record,
            log: None,
            seq: None,
            rule,
        });
    }

    fn record(&mut self, r: Record) {
        match (r.index, r.kind) {
            (0, Kind::Root) => self.root_key(&r),
            (0, _) => self.fail(Some(0), "the first record must be the root key".into()),
            (1, Kind::Topology) => self.topology(&r),
            (1, _) => self.fail(
                Some(1),
                "the second record must be the signed topology".into(),
            ),
            (_, Kind::Root | Kind::Topology) => {
                self.fail(Some(r.index), "a second root key or topology".into())
            }
            _ if self.report.topology.is_none() => {}
            (_, Kind::Log) => self.start_log(&r),
            (_, Kind::Checkpoint) => self.checkpoint(&r),
            (_, Kind::Consistency) => self.consistency(&r),
            (_, Kind::Entry) => self.entry(r),
            (_, Kind::Evidence) => {
                self.end_log();
                self.evidence(&r)
            }
            (_, Kind::End) => unreachable!("handled by the reader loop"),
        }
    }

    fn root_key(&mut self, r: &Record) {
        let bundled = std::str::from_utf8(&r.body)
            .map_err(|_| "not UTF-8".to_owned())
            .and_then(|t| VerifierKey::parse(t).map_err(|e| e.to_string()));
        match (bundled, &self.root) {
            (Ok(b), Some(given)) if b != *given => self.fail(
                Some(0),
                format!("the bundle's root key {b} is not the one given ({given})"),
            ),
            (Ok(b), Some(_)) => self.report.root = Some(b.to_string()),
            (Ok(b), None) => {
                self.report.root_from_bundle = true;
                self.report.root = Some(b.to_string());
                self.root = Some(b);
            }
            (Err(e), _) => self.fail(Some(0), format!("the root key does not parse: {e}")),
        }
    }

    fn topology(&mut self, r: &Record) {
        let Some(root) = &self.root else {
            self.fail(Some(1), "no root key to check the topology with".into());
            return;
        };
        match Topology::open_signed(&r.body, root) {
            Ok(t) => {
                for node in &t.nodes {
                    let key = Author(node.key.expect("a signed topology names every key"));
                    let former = node.revoked.iter().map(|r| (Author(r.key), Some(r)));
                    for (key, revoked) in std::iter::once((key, None)).chain(former) {
                        if node.role == hifazat_topology::Role::Federal {
                            self.federal.insert(key);
                        }
                        if let Some(r) = revoked {
                            self.revoked.insert(key, r.clone());
                        }
                        match VerifierKey::new(&node.name, key) {
                            Ok(vk) => {
                                self.members.insert(key, (node.name.clone(), vk));
                            }
                            Err(e) => self.fail(Some(1), format!("node {}: {e}", node.name)),
                        }
                    }
                }
                self.report.topology = Some((t.name, t.version));
            }
            Err(e) => self.fail(Some(1), format!("the signed topology does not verify: {e}")),
        }
    }

    /// Whether a checkpoint of `size` entries by `key`, of the log of `scope` (when known yet), runs past the
    /// point the key was revoked from. The scope is known once an entry is read; before that, a revoked key's
    /// checkpoint counts against the largest point it has.
    fn past_revocation(&self, key: Author, scope: Option<&str>, size: u64) -> bool {
        let Some(r) = self.revoked.get(&key) else {
            return false;
        };
        let up_to = match scope {
            Some(scope) => r.logs.get(scope).copied().unwrap_or(0),
            None => r.logs.values().copied().max().unwrap_or(0),
        };
        size > up_to
    }

    fn log_fail(&mut self, record: Option<u64>, seq: Option<u64>, rule: String) {
        let log = self.log.as_mut().expect("a log is open");
        log.failed = true;
        let name = log.name();
        self.report.failures.push(Failure {
            record,
            log: Some(name),
            seq,
            rule,
        });
    }

    fn start_log(&mut self, r: &Record) {
        self.end_log();
        if r.body.len() != 41 || r.body[40] > 1 {
            self.fail(
                Some(r.index),
                "a log header is 41 bytes: id, count, flag".into(),
            );
            return;
        }
        let digest = Hash(r.body[..32].try_into().expect("32"));
        let count = u64::from_be_bytes(r.body[32..40].try_into().expect("8"));
        if let Some(first) = self.seen_logs.insert(digest, r.index) {
            self.fail(
                Some(r.index),
                format!(
                    "log {} was already given at record {first}",
                    &digest.to_hex()[..16]
                ),
            );
        }
        self.log = Some(LogState {
            digest,
            scope: None,
            author: None,
            record: r.index,
            count,
            expect_checkpoint: r.body[40] == 1,
            checkpoint: None,
            consistency: None,
            frontier: Frontier::new(),
            head: None,
            batch: Vec::new(),
            read: 0,
            failed: false,
            cosigned: Vec::new(),
        });
    }

    fn checkpoint(&mut self, r: &Record) {
        let Some(log) = &self.log else {
            self.fail(Some(r.index), "a checkpoint outside a log".into());
            return;
        };
        if log.checkpoint.is_some() || !log.expect_checkpoint || log.read > 0 {
            self.log_fail(
                Some(r.index),
                None,
                "a checkpoint the log header does not announce, or after the entries".into(),
            );
            return;
        }
        match self.open_checkpoint(&r.body, log.digest) {
            Ok(((key, _), checkpoint, _))
                if self.past_revocation(key, log.scope.as_deref(), checkpoint.size) =>
            {
                let rule = format!(
                    "checkpoint: signed by a revoked key for {} entries, past its point",
                    checkpoint.size
                );
                self.log_fail(Some(r.index), None, rule);
            }
            Ok((author, checkpoint, cosigned)) => {
                let log = self.log.as_mut().expect("open");
                log.author = Some(author);
                log.checkpoint = Some((r.index, checkpoint));
                self.report.cosignatures += cosigned.len() as u64;
                log.cosigned = cosigned;
            }
            Err(rule) => self.log_fail(Some(r.index), None, format!("checkpoint: {rule}")),
        }
    }

    /// Checks a checkpoint note: every signature line is by a member (as a signature or a cosignature), the
    /// author's verifies and names this log, every cosignature verifies.
    #[allow(clippy::type_complexity)]
    fn open_checkpoint(
        &self,
        body: &[u8],
        digest: Hash,
    ) -> Result<((Author, String), Checkpoint, Vec<(String, u64)>), String> {
        let note = Note::parse(body).map_err(|e| e.to_string())?;
        for s in note.signatures() {
            let known = self.members.values().any(|(name, vk)| {
                *name == s.name && (vk.id() == s.id || cosignature_key_id(name, &vk.key.0) == s.id)
            });
            if !known {
                return Err(format!(
                    "a signature line by {}, which is not a member's key",
                    s.name
                ));
            }
        }
        let text = note.text_unverified().to_owned();
        let checkpoint = Checkpoint::parse(&text).map_err(|e| e.to_string())?;
        if checkpoint.origin != checkpoint_origin(&digest) {
            return Err(format!(
                "its origin {} is not this log's",
                checkpoint.origin
            ));
        }
        // The author: the member whose key signs it as a log (type 0x01).
        let (author, (name, vk)) = self
            .members
            .iter()
            .find(|(_, (name, vk))| {
                note.signatures()
                    .iter()
                    .any(|s| s.name == *name && s.id == vk.id())
            })
            .ok_or("no member signed it as its log")?;
        note.verify(std::slice::from_ref(vk))
            .map_err(|e| e.to_string())?;
        let witnesses: Vec<VerifierKey> = self
            .members
            .values()
            .filter(|(n, _)| n != name)
            .map(|(_, vk)| vk.clone())
            .collect();
        let cosigned = note
            .cosignatures(&witnesses)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.witness, c.time))
            .collect();
        Ok(((*author, name.clone()), checkpoint, cosigned))
    }

    fn consistency(&mut self, r: &Record) {
        let Some(log) = &self.log else {
            self.fail(Some(r.index), "a consistency proof outside a log".into());
            return;
        };
        if log.failed {
            // Already failed (its checkpoint, say): the rest of the log is not judged again.
            return;
        }
        let body = &r.body;
        if log.checkpoint.is_none() || log.consistency.is_some() || log.read > 0 {
            self.log_fail(
                Some(r.index),
                None,
                "a consistency proof must follow the log's checkpoint, once".into(),
            );
            return;
        }
        if body.len() < 16
            || !(body.len() - 16).is_multiple_of(32)
            || (body.len() - 16) / 32 > hifazat_merkle::PROOF_HASHES_MAX
        {
            self.log_fail(
                Some(r.index),
                None,
                "a consistency proof is two sizes and up to 128 hashes".into(),
            );
            return;
        }
        let first = u64::from_be_bytes(body[..8].try_into().expect("8"));
        let second = u64::from_be_bytes(body[8..16].try_into().expect("8"));
        let hashes = body[16..]
            .chunks(32)
            .map(|c| c.try_into().expect("32"))
            .collect();
        self.log.as_mut().expect("open").consistency = Some((r.index, first, second, hashes));
    }

    fn entry(&mut self, r: Record) {
        let Some(log) = &mut self.log else {
            self.fail(Some(r.index), "an entry outside a log".into());
            return;
        };
        if log.failed {
            log.read += 1;
            return;
        }
        if log.expect_checkpoint && log.checkpoint.is_none() {
            let header = log.record;
            self.log_fail(
                Some(header),
                None,
                "the checkpoint the header announces is missing".into(),
            );
            return;
        }
        log.read += 1;
        match Entry::decode(&r.body) {
            Ok(e) => {
                log.batch.push((r.index, e));
                if log.batch.len() >= BATCH {
                    self.flush_batch();
                }
            }
            Err(e) => {
                let seq = log.head.map_or(1, |h| h.seq + 1) + log.batch.len() as u64;
                self.flush_batch();
                if !self.log.as_ref().expect("open").failed {
                    self.log_fail(Some(r.index), Some(seq), format!("does not decode: {e}"));
                }
            }
        }
    }

    fn flush_batch(&mut self) {
        let Some(log) = &mut self.log else { return };
        if log.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut log.batch);
        let (records, entries): (Vec<u64>, Vec<Entry>) = batch.into_iter().unzip();
        let results = self.verifier.verify_batch(entries);
        for (record, result) in records.into_iter().zip(results) {
            if self.log.as_ref().expect("open").failed {
                return;
            }
            match result {
                Ok(entry) => self.accept(record, entry),
                Err((entry, e)) => self.log_fail(
                    Some(record),
                    Some(entry.content().seq),
                    format!("signature rule: {e}"),
                ),
            }
        }
    }

    fn accept(&mut self, record: u64, entry: VerifiedEntry) {
        let log = self.log.as_mut().expect("open");
        let c = &entry.content();
        let seq = c.seq;
        if c.log.digest() != log.digest {
            let rule = format!("belongs to another log ({})", c.log);
            return self.log_fail(Some(record), Some(seq), rule);
        }
        match &log.author {
            None => match self.members.get(&c.log.author) {
                Some((name, _)) => {
                    log.author = Some((c.log.author, name.clone()));
                }
                None => {
                    return self.log_fail(
                        Some(record),
                        Some(seq),
                        format!(
                            "its author {} is not a member of the topology",
                            c.log.author
                        ),
                    );
                }
            },
            Some((author, _)) if *author != c.log.author => {
                return self.log_fail(
                    Some(record),
                    Some(seq),
                    "its author did not sign the log's checkpoint".into(),
                );
            }
            Some(_) => {}
        }
        if let Some(r) = self.revoked.get(&c.log.author)
            && seq > r.valid_up_to(&c.log.scope)
        {
            let rule = format!(
                "its author's key was revoked after entry {} of this log",
                r.valid_up_to(&c.log.scope)
            );
            return self.log_fail(Some(record), Some(seq), rule);
        }
        if c.log.scope == Scope::Register && !self.federal.contains(&c.log.author) {
            let rule = format!("only the federal node writes the {} log", Scope::Register);
            return self.log_fail(Some(record), Some(seq), rule);
        }
        let log = self.log.as_mut().expect("open");
        let node = log.author.as_ref().expect("set").1.clone();
        if log.scope.is_none() {
            log.scope = Some(c.log.scope.to_string());
        }
        if let Err(e) = check_next(log.head, &entry) {
            return self.log_fail(Some(record), Some(seq), format!("chain rule: {e}"));
        }
        log.head = Some(entry.head());
        log.frontier.push(tree_leaf(&entry.hash()));
        self.report.signatures += 1;
        self.report
            .history
            .entry(c.record)
            .or_default()
            .push(Change {
                at_ms: c.timestamp_ms,
                node,
                actor: c.actor.clone(),
                scope: c.log.scope.to_string(),
                seq,
            });
        if let Some((cp_record, cp)) = &log.checkpoint
            && cp.size == log.frontier.size()
            && cp.root != log.frontier.root()
        {
            let rule = format!(
                "checkpoint: the tree of the first {} entries has another root than the signed one",
                cp.size
            );
            let cp_record = *cp_record;
            self.log_fail(Some(cp_record), Some(seq), rule);
        }
    }

    fn end_log(&mut self) {
        self.flush_batch();
        let Some(log) = self.log.take() else { return };
        let mut failures = Vec::new();
        if !log.failed {
            if log.read != log.count {
                failures.push((
                    Some(log.record),
                    format!(
                        "the header announces {} entries; {} follow",
                        log.count, log.read
                    ),
                ));
            }
            if log.expect_checkpoint && log.checkpoint.is_none() {
                failures.push((
                    Some(log.record),
                    "the checkpoint the header announces is missing".into(),
                ));
            }
            if let Some((r, cp)) = &log.checkpoint {
                if cp.size > log.frontier.size() {
                    failures.push((
                        Some(*r),
                        format!(
                            "checkpoint: states {} entries; the log has {}",
                            cp.size,
                            log.frontier.size()
                        ),
                    ));
                }
                match &log.consistency {
                    None => failures.push((
                        Some(*r),
                        "checkpoint: no consistency proof to the log's head follows it".into(),
                    )),
                    Some((pr, first, second, proof)) => {
                        let size = log.frontier.size();
                        if *first != cp.size || *second != size {
                            failures.push((Some(*pr), format!("consistency proof: from {first} to {second}, not from the checkpoint ({}) to the log ({size})", cp.size)));
                        } else if let Err(e) = verify_consistency(
                            *first,
                            *second,
                            &cp.root,
                            &log.frontier.root(),
                            proof,
                        ) {
                            failures.push((Some(*pr), format!("consistency proof: {e}")));
                        }
                    }
                }
            }
        }
        let ok = !log.failed && failures.is_empty();
        for (record, rule) in failures {
            self.report.failures.push(Failure {
                record,
                log: Some(log.name()),
                seq: None,
                rule,
            });
        }
        self.report.logs.push(LogSummary {
            name: log.name(),
            entries: log.frontier.size(),
            root: log.frontier.root(),
            checkpoint: log
                .checkpoint
                .as_ref()
                .map(|(_, c)| (c.size, log.cosigned.clone())),
            ok,
        });
    }

    fn evidence(&mut self, r: &Record) {
        let body = &r.body;
        let split = body
            .get(..4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4")) as usize + 4)
            .filter(|s| *s <= body.len());
        let Some(split) = split else {
            return self.fail(Some(r.index), "evidence: malformed".into());
        };
        match Evidence::verify(&body[4..split], &body[split..]) {
            Ok(e) => {
                let author = self
                    .members
                    .get(&e.log().author)
                    .map_or_else(|| e.log().author.to_string(), |(n, _)| n.clone());
                self.report.evidence.push(format!(
                    "{author} signed two histories of {} at entries #{} and #{}",
                    e.log().scope,
                    e.first.content().seq,
                    e.second.content().seq
                ));
            }
            Err(e) => self.fail(Some(r.index), format!("evidence: {e}")),
        }
    }

    fn end(&mut self, r: &Record) {
        let (count, hash) = r.before.expect("the reader fills it for End");
        if r.body.len() != 40 {
            return self.fail(Some(r.index), "the End record is 40 bytes".into());
        }
        let stated = u64::from_be_bytes(r.body[..8].try_into().expect("8"));
        if stated != count {
            self.fail(
                Some(r.index),
                format!("the End record counts {stated} records; {count} came before it"),
            );
        } else if r.body[8..] != hash {
            self.fail(
                Some(r.index),
                "the bundle's bytes do not hash to the End record's digest".into(),
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(root) = &self.root {
            writeln!(f, "root key: {root}")?;
        }
        if self.root_from_bundle {
            writeln!(
                f,
                "WARNING: no root key was given; the bundle's own was used. Compare it with the one you hold."
            )?;
        }
        if let Some((name, version)) = &self.topology {
            writeln!(
                f,
                "topology: {name}, version {version} (signed by the root key)"
            )?;
        }
        writeln!(f, "logs: {}", self.logs.len())?;
        for log in &self.logs {
            let cp = match &log.checkpoint {
                None => "no checkpoint".to_owned(),
                Some((size, cos)) if cos.is_empty() => {
                    format!("checkpoint at {size}, not cosigned")
                }
                Some((size, cos)) => format!(
                    "checkpoint at {size}, cosigned by {}",
                    cos.iter()
                        .map(|(w, t)| format!("{w} at {t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            writeln!(
                f,
                "  {} {}: {} entries, root {}, {cp}",
                if log.ok { "ok  " } else { "FAIL" },
                log.name,
                log.entries,
                hex::encode(log.root)
            )?;
        }
        writeln!(
            f,
            "signatures verified: {} entries, {} cosignatures",
            self.signatures, self.cosignatures
        )?;
        writeln!(f, "records changed: {}", self.history.len())?;
        if self.evidence.is_empty() {
            writeln!(f, "evidence of misbehaviour: none")?;
        } else {
            writeln!(f, "evidence of misbehaviour: {}", self.evidence.len())?;
            for e in &self.evidence {
                writeln!(f, "  {e}")?;
            }
        }
        if self.ok() {
            writeln!(f, "result: every check passed")
        } else {
            writeln!(f, "result: {} failure(s)", self.failures.len().max(1))?;
            for failure in &self.failures {
                writeln!(f, "  {failure}")?;
            }
            Ok(())
        }
    }
}

impl Report {
    /// Who changed which record when, record by record, oldest change first.
    pub fn write_history(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for (record, changes) in &self.history {
            let mut changes = changes.clone();
            changes.sort_by_key(|c| (c.at_ms, c.seq));
            writeln!(out, "record {}:", hex::encode(record))?;
            for c in changes {
                writeln!(
                    out,
                    "  {} {} {} {}#{}",
                    c.at_ms,
                    c.node,
                    if c.actor.is_empty() { "-" } else { &c.actor },
                    c.scope,
                    c.seq
                )?;
            }
        }
        Ok(())
    }
}
