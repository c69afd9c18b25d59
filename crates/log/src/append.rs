//! Extending a log: the one place where a log's next entry is made, or an entry signed elsewhere is placed after
//! its head, and where the log's Merkle frontier moves with it. Pure: it returns the tree nodes the step
//! finished, and each store writes them in the same batch as the entry (the node store's logs, the register's).

use hifazat_limits as limits;
use hifazat_merkle::{Finished, Frontier};

use crate::chain::{ChainError, Head, check_next};
use crate::entry::{Content, DecodeError, LogId};
use crate::verify::{Signer, VerifiedEntry};

/// The end of one log: its head and the right edge of its Merkle tree, which always cover the same entries.
#[derive(Debug, Clone)]
pub struct LogEnd {
    log: LogId,
    head: Option<Head>,
    frontier: Frontier,
}

impl LogEnd {
    /// The end of `log` at `head`, with the frontier of its tree; both must cover the same entries.
    pub fn new(log: LogId, head: Option<Head>, frontier: Frontier) -> LogEnd {
        assert_eq!(
            frontier.size(),
            head.map_or(0, |h| h.seq),
            "the Merkle frontier of {log} does not cover its log"
        );
        LogEnd {
            log,
            head,
            frontier,
        }
    }

    pub fn log(&self) -> &LogId {
        &self.log
    }

    pub fn head(&self) -> Option<Head> {
        self.head
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Makes, signs and places the log's next entry. The actor is cut at a character's edge to the bytes an entry
    /// allows (callers that must refuse a longer name check it first).
    pub fn write(
        &mut self,
        signer: &Signer,
        timestamp_ms: u64,
        record: [u8; 16],
        actor: &str,
        payload: Vec<u8>,
    ) -> Result<(VerifiedEntry, Vec<Finished>), DecodeError> {
        let mut end = actor.len().min(limits::ACTOR_BYTES_MAX);
        while !actor.is_char_boundary(end) {
            end -= 1;
        }
        let content = Content::following(
            self.log.clone(),
            self.head,
            timestamp_ms,
            record,
            actor[..end].to_owned(),
            payload,
        );
        let entry = signer.sign(content)?;
        let tree = self
            .place(&entry)
            .expect("an entry made to follow the head follows it");
        Ok((entry, tree))
    }

    /// Places an entry signed already (ours or a peer's) after the head: it must belong to this log and follow
    /// the head. Returns the tree nodes it finished, the entry's own leaf first.
    pub fn place(&mut self, entry: &VerifiedEntry) -> Result<Vec<Finished>, ChainError> {
        assert_eq!(
            entry.content().log,
            self.log,
            "an entry is placed only in its own log"
        );
        check_next(self.head, entry)?;
        let tree = self.frontier.push(crate::tree_leaf(&entry.hash()));
        self.head = Some(entry.head());
        assert_eq!(
            self.frontier.size(),
            entry.content().seq,
            "the Merkle frontier of {} does not follow its log",
            self.log
        );
        Ok(tree)
    }
}

/// Why a log's tree could not be written from its entries.
#[derive(Debug)]
pub enum BackfillError<E> {
    /// Reading or writing failed.
    Io(E),
    /// Entry `seq` is missing below the head.
    Missing { seq: u64 },
    /// Entry `seq` does not decode.
    Damaged { seq: u64, error: DecodeError },
}

impl<E> From<E> for BackfillError<E> {
    fn from(e: E) -> BackfillError<E> {
        BackfillError::Io(e)
    }
}

/// Writes the Merkle tree of a log of `size` entries stored before trees were kept: `page(from)` reads entries
/// from sequence number `from` (at least one while any is left), `write` takes the tree nodes of each page.
/// Returns the tree's frontier.
pub fn backfill<E>(
    size: u64,
    mut page: impl FnMut(u64) -> Result<Vec<Vec<u8>>, E>,
    mut write: impl FnMut(Vec<Finished>) -> Result<(), E>,
) -> Result<Frontier, BackfillError<E>> {
    let mut frontier = Frontier::new();
    while frontier.size() < size {
        let entries = page(frontier.size() + 1)?;
        if entries.is_empty() {
            return Err(BackfillError::Missing {
                seq: frontier.size() + 1,
            });
        }
        let mut nodes = Vec::new();
        for bytes in entries.iter().take((size - frontier.size()) as usize) {
            let seq = frontier.size() + 1;
            let entry = crate::Entry::decode(bytes)
                .map_err(|error| BackfillError::Damaged { seq, error })?;
            nodes.extend(frontier.push(crate::tree_leaf(&entry.hash())));
        }
        write(nodes)?;
    }
    Ok(frontier)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use hifazat_merkle::MemoryTree;

    use super::*;
    use crate::Scope;

    fn end(signer: &Signer) -> LogEnd {
        let log = LogId {
            author: signer.author(),
            scope: Scope::Register,
        };
        LogEnd::new(log, None, Frontier::new())
    }

    #[test]
    fn written_entries_chain_and_the_tree_follows() {
        let signer = Signer::new(SigningKey::from_bytes(&[7; 32]));
        let mut end = end(&signer);
        let mut tree = MemoryTree::new();
        let mut written = Vec::new();
        for i in 0..9u8 {
            let (entry, nodes) = end
                .write(&signer, 1_000 + i as u64, [i; 16], "officer", vec![i])
                .expect("write");
            assert_eq!(entry.content().seq, i as u64 + 1);
            assert_eq!(nodes[0], (0, i as u64, crate::tree_leaf(&entry.hash())));
            tree.push(crate::tree_leaf(&entry.hash()));
            written.push(entry);
        }
        assert_eq!(end.frontier().root(), tree.root());
        assert_eq!(end.head(), Some(written[8].head()));
        // Placing the same entries in a fresh end gives the same tree; one out of order is refused.
        let mut again = self::end(&signer);
        assert!(again.place(&written[1]).is_err());
        for e in &written {
            again.place(e).expect("follows");
        }
        assert_eq!(again.frontier().root(), tree.root());
        // A backfill from the entries' bytes agrees, page by page.
        let bytes: Vec<Vec<u8>> = written.iter().map(|e| e.bytes().to_vec()).collect();
        let mut pages = 0;
        let frontier = backfill::<()>(
            9,
            |from| Ok(bytes[from as usize - 1..].iter().take(4).cloned().collect()),
            |_| {
                pages += 1;
                Ok(())
            },
        )
        .expect("backfill");
        assert_eq!((frontier.root(), pages), (tree.root(), 3));
        assert!(matches!(
            backfill::<()>(
                10,
                |from| Ok(bytes.iter().skip(from as usize - 1).cloned().collect()),
                |_| Ok(())
            ),
            Err(BackfillError::Missing { seq: 10 })
        ));
    }

    #[test]
    fn a_long_actor_is_cut_at_a_character() {
        let signer = Signer::new(SigningKey::from_bytes(&[8; 32]));
        let long = format!("register_officer:{}", "ن".repeat(40));
        let (entry, _) = end(&signer)
            .write(&signer, 1, [0; 16], &long, Vec::new())
            .expect("write");
        assert_eq!(entry.content().actor.len(), 63);
        assert!(long.starts_with(&entry.content().actor));
    }
}
