//! Face matching on a node.
//!
//! - [`Worker`]: one thread that cleans uploaded photos and describes the faces in photos (`hifazat_faces`), so
//!   this work takes at most one core whatever arrives, and the API keeps the other. Uploads wait in a short
//!   queue and go first; photos that arrived with alerts from other nodes wait in a longer one.
//! - [`Matcher`]: keeps the faces of every open alert with a photo and of every open found child's report whose
//!   photos are here, compares each new face on one side with every face on the other, and writes each pair
//!   within the threshold as a `match_suggested` event on both records (never more: a person confirms or rejects
//!   it). A pair already suggested, confirmed or rejected is not suggested again. It also tells the live streams
//!   of every suggestion it sees arrive on either side, from here or from elsewhere.

mod matcher;
mod worker;

pub use matcher::{Matcher, NOTE, Suggested};
pub use worker::{Described, Uploaded, Worker, WorkerError};

/// The actor named in the events the matcher writes.
pub const MATCHER_ACTOR: &str = "face-matcher";

/// dlib's threshold: two faces closer than this are taken for one person (on adults; see the README for children).
pub const DEFAULT_THRESHOLD: f32 = 0.6;
