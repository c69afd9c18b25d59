//! Where the node's parts read the time: the wall clock in a running node, another in tests and tools. The
//! binary makes one and passes it to the engine; the other parts read the engine's.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A clock in milliseconds since the Unix epoch. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system's wall clock (0 should it read before 1970).
    pub fn system() -> Clock {
        Clock(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        }))
    }

    /// A clock that reads `f`.
    pub fn from_fn(f: impl Fn() -> u64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_reads_what_it_was_given() {
        let stepped = std::sync::atomic::AtomicU64::new(5);
        let clock =
            Clock::from_fn(move || stepped.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        assert_eq!((clock.now_ms(), clock.clone().now_ms()), (5, 6));
        // The system clock is past the time this was written.
        assert!(Clock::system().now_ms() > 1_796_000_000_000);
    }
}
