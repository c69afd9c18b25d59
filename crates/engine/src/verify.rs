//! Re-verification of everything in a store: the work behind `hifazat log verify`.

use hifazat_limits as limits;
use hifazat_log::{Entry, Fault, Head, Verifier, check_next};
use hifazat_store::{Store, StoreError};
use serde::Serialize;

/// The outcome for one log.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    pub log: String,
    pub entries: u64,
    /// The first failure, if any: the entry's sequence number and the rule it broke.
    pub failure: Option<(u64, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub logs: Vec<LogReport>,
    pub entries: u64,
    pub failures: u64,
    pub evidence: usize,
}

/// Re-verifies every entry of every log in `store` (signatures in batches, then the chain), calling `progress`
/// with the number of entries checked so far.
pub fn verify_store(
    store: &Store,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut verifier = Verifier::new();
    let mut heads = store.heads()?;
    heads.sort_by(|a, b| a.log.cmp(&b.log));
    for stored in heads {
        let digest = stored.log.digest();
        let mut log = LogReport {
            log: stored.log.to_string(),
            entries: 0,
            failure: None,
        };
        let mut head: Option<Head> = None;
        let mut next = 1;
        'chunks: while next <= stored.head.seq {
            let chunk = match store.entries(&digest, next, limits::VERIFY_BATCH_ENTRIES_MAX) {
                Ok(chunk) => chunk,
                Err(e) => {
                    // Name the entry that cannot be read: re-read this chunk's range one by one.
                    let last = stored
                        .head
                        .seq
                        .min(next + limits::VERIFY_BATCH_ENTRIES_MAX as u64 - 1);
                    let failing = (next..=last)
                        .find_map(|seq| store.entry(&digest, seq).err().map(|e| (seq, e)))
                        .unwrap_or((next, e));
                    log.failure = Some((failing.0, format!("storage: {}", failing.1)));
                    break;
                }
            };
            if chunk.is_empty() {
                log.failure = Some((next, "entry missing from the store".into()));
                break;
            }
            let mut decoded = Vec::with_capacity(chunk.len());
            for (i, bytes) in chunk.iter().enumerate() {
                match Entry::decode(bytes) {
                    Ok(e) => decoded.push(e),
                    Err(e) => {
                        log.failure = Some((next + i as u64, Fault::from(e).to_string()));
                        break 'chunks;
                    }
                }
            }
            for result in verifier.verify_batch(decoded) {
                let fault = match result {
                    Err((entry, e)) => Some((entry.content().seq, Fault::from(e))),
                    Ok(entry) if entry.content().log != stored.log => Some((
                        entry.content().seq,
                        Fault::WrongLog {
                            expected: stored.log.to_string(),
                            found: entry.content().log.to_string(),
                        },
                    )),
                    Ok(entry) => match check_next(head, &entry) {
                        Ok(()) => {
                            head = Some(entry.head());
                            log.entries += 1;
                            None
                        }
                        Err(e) => Some((entry.content().seq, Fault::from(e))),
                    },
                };
                if let Some((seq, fault)) = fault {
                    log.failure = Some((seq, fault.to_string()));
                    break 'chunks;
                }
            }
            next = head.map_or(1, |h| h.seq + 1);
            progress(report.entries + log.entries);
        }
        if log.failure.is_none() && head != Some(stored.head) {
            log.failure = Some((
                stored.head.seq,
                "the stored head does not match the last entry".into(),
            ));
        }
        report.entries += log.entries;
        report.failures += u64::from(log.failure.is_some());
        report.logs.push(log);
    }
    report.evidence = store.evidence()?.len();
    Ok(report)
}
