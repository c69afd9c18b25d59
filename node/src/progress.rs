//! Progress of long work on standard error, at most a few times a second, so `audit export`, `audit verify` and
//! `log verify` on a large store show that they are moving.

use std::time::{Duration, Instant};

/// How often progress is redrawn at most.
const SHOW_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Progress {
    what: &'static str,
    shown: Option<Instant>,
}

impl Progress {
    pub fn new(what: &'static str) -> Progress {
        Progress { what, shown: None }
    }

    /// Shows `done` of `total` (always the last step, else at most every [`SHOW_EVERY`]).
    pub fn show(&mut self, done: u64, total: u64) {
        let due = self.shown.is_none_or(|at| at.elapsed() >= SHOW_EVERY);
        if due || done == total {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            eprint!("\r{}: {done}/{total} ({percent}%)", self.what);
            self.shown = Some(Instant::now());
        }
    }

    /// Ends the progress line, if one was drawn.
    pub fn finish(&self) {
        if self.shown.is_some() {
            eprintln!();
        }
    }
}
