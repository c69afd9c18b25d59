//! Record ids and the acting user's name as entries carry them.

use super::*;

/// The prefix of the newest record id this process made: its millisecond (48 bits), then a count within that
/// millisecond (16 bits).
pub(crate) static LAST_ID_PREFIX: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// A new record's id: the creation time in milliseconds (6 bytes, big-endian), a count of the ids this process
/// made in that millisecond (2 bytes), then 8 random bytes. Ids made later sort later, even within one
/// millisecond, so lists are newest first and the store's indexes grow at their ends instead of at random places
/// (random keys cost a B-tree page rewrite each); 64 random bits keep ids made on different nodes apart. A clock
/// that steps back, or more than 65,536 ids in one millisecond, moves the time part on past the clock's reading.
pub(crate) fn new_record_id(now_ms: u64) -> RecordId {
    use std::sync::atomic::Ordering;
    let floor = (now_ms & 0xffff_ffff_ffff) << 16;
    let next = |last: u64| floor.max(last.saturating_add(1));
    let last = LAST_ID_PREFIX
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(next(last))
        })
        .unwrap_or_else(|last| last);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&next(last).to_be_bytes());
    OsRng.fill_bytes(&mut id[8..]);
    RecordId(id)
}

/// The acting user's name as it goes into entries: 1 to `ACTOR_BYTES_MAX` bytes, no control characters.
pub(crate) fn actor_name(actor: &str) -> Result<String, Invalid> {
    let actor = actor.trim();
    if actor.is_empty()
        || actor.len() > limits::ACTOR_BYTES_MAX
        || actor.chars().any(char::is_control)
    {
        return Err(Invalid::one(
            "actor",
            format!("must be 1 to {} bytes of text", limits::ACTOR_BYTES_MAX),
        ));
    }
    Ok(actor.to_owned())
}

#[cfg(test)]
mod tests {
    use super::new_record_id;

    pub(crate) fn time_part(id: &super::RecordId) -> u64 {
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&id.0[..6]);
        u64::from_be_bytes(ms)
    }

    #[test]
    pub(crate) fn record_ids_sort_in_the_order_they_were_made() {
        // Ids made in one millisecond, then with a clock that stepped back: each sorts after the one before.
        let now = hifazat_domain::Clock::system().now_ms();
        let mut ids: Vec<_> = (0..1_000).map(|_| new_record_id(now)).collect();
        ids.push(new_record_id(now - 5_000));
        assert!(ids.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ids.iter().all(|id| time_part(id) >= now));
        // A later millisecond is the id's time part, and its count starts again.
        let later = now + 60_000;
        let id = new_record_id(later);
        assert_eq!(time_part(&id), later);
        assert_eq!(id.0[6..8], [0, 0]);
        assert!(ids.iter().all(|i| i.0 < id.0));
    }
}
