//! Every limit Hifazat enforces, as named constants in one place.
//!
//! A limit lives here when more than one crate must agree on it, or when an operator may want to find it.
//! Names carry their unit last (`entry_bytes_max`, `timeout_ms`). The `const` assertions at the bottom check the
//! relations between limits at compile time, so changing one number cannot silently break another.

/// Largest encoded log entry accepted from anyone, in bytes (header + payload + signature).
pub const ENTRY_BYTES_MAX: usize = 96 * 1024;
/// Largest automerge change carried by one entry, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 64 * 1024;
/// Longest scope name in a log id, in bytes (ASCII).
pub const SCOPE_BYTES_MAX: usize = 48;
/// Longest acting-user name inside an entry, in bytes (UTF-8).
pub const ACTOR_BYTES_MAX: usize = 64;
/// An API user's name, in characters.
pub const USER_NAME_CHARS_MAX: usize = 40;
/// API users one node keeps.
pub const USERS_MAX: usize = 10_000;
/// Officials' page sessions one node keeps at once; past that, signing in ends the least recently used.
pub const SESSIONS_MAX: usize = 10_000;
/// How long a page session lasts at most from signing in (a shift and a half), and unused.
pub const SESSION_LIFETIME_MS: u64 = 12 * 3_600_000;
pub const SESSION_IDLE_MS: u64 = 3_600_000;
/// Fixed part of an encoded entry, in bytes: everything but the scope, actor and payload bodies.
/// version 1 + author 32 + scope len 1 + seq 8 + prev 32 + time 8 + record 16 + actor len 1 + payload len 4 + sig 64.
pub const ENTRY_FIXED_BYTES: usize = 1 + 32 + 1 + 8 + 32 + 8 + 16 + 1 + 4 + 64;

/// Entries verified together in one batch; larger batches amortise better but hold more memory.
pub const VERIFY_BATCH_ENTRIES_MAX: usize = 256;
/// Changes waiting for missing automerge dependencies, per node. Past this the oldest are dropped
/// (catch-up fetches them again), so a peer cannot grow our memory without bound.
pub const PENDING_CHANGES_MAX: usize = 10_000;
/// Record documents kept decoded in memory at once.
pub const RECORD_CACHE_MAX: usize = 4_096;
/// Timeline events one record may hold; past this, further events are refused.
pub const TIMELINE_EVENTS_MAX: usize = 2_000;
/// Sightings one alert may hold.
pub const SIGHTINGS_MAX: usize = 5_000;

/// Writes the store commits together under one flush.
pub const COMMIT_GROUP_MAX: usize = 256;
/// Applied groups waiting for their flush; when full, the engine waits for the disk before taking more work.
pub const FLUSH_QUEUE_MAX: usize = 4;
/// Batches of our own new entries waiting for the network to announce them; a slower listener re-reads heads.
pub const WRITTEN_QUEUE_MAX: usize = 1_024;
/// Record changes waiting for live-event listeners; a slower listener is told it lagged and reads again.
pub const CHANGES_QUEUE_MAX: usize = 4_096;
/// Requests waiting for the engine; when full, callers wait (back-pressure), never grow a queue.
pub const ENGINE_QUEUE_MAX: usize = 1_024;

/// Largest signed note (text and signatures), in bytes: a national topology is about 40 KB.
pub const NOTE_BYTES_MAX: usize = 1 << 20;
/// How often a node signs a checkpoint of each of its own logs that grew (milliseconds).
pub const CHECKPOINT_EVERY_MS: u64 = 5_000;
/// Largest signed checkpoint a peer may send (its text and up to [`NOTE_SIGNATURES_MAX`] signature lines).
pub const CHECKPOINT_NOTE_BYTES_MAX: usize = 8 * 1024;
/// Checkpoints waiting until this node holds as many entries as they cover, to check them.
pub const SYNC_CHECKPOINTS_PENDING_MAX: usize = 1_024;
/// Pieces of evidence of misbehaviour a node keeps in memory to pass on to peers that connect (every piece is
/// kept on disk; past this, new pieces are passed on once, as they arrive, and not again).
pub const SYNC_EVIDENCE_MAX: usize = 1_024;
/// Most signature lines a signed note may carry (c2sp.org/signed-note asks verifiers to accept at least 16).
pub const NOTE_SIGNATURES_MAX: usize = 16;
/// Longest key name in a signed note, in bytes.
pub const NOTE_KEY_NAME_BYTES_MAX: usize = 256;

/// Largest sync message, in bytes: a pull's answer, or a signed topology, with room for framing.
pub const SYNC_MESSAGE_BYTES_MAX: usize = 2 << 20;
/// Entries one pull asks for, and one answer or push carries.
pub const SYNC_PULL_ENTRIES_MAX: usize = 256;
/// Bytes of entries one answer to a pull carries (the answer stops early rather than go over).
pub const SYNC_PULL_BYTES_MAX: usize = 1 << 20;
/// Logs one vector names.
pub const SYNC_VECTOR_LOGS_MAX: usize = 16_000;
/// Pulls in flight at once, one per log.
pub const SYNC_PULLS_MAX: usize = 64;
/// Batches of entries being applied at once for sync; past this, gossip is ignored and pushes are dropped
/// (catch-up fetches them later).
pub const SYNC_APPLYING_MAX: usize = 256;
/// A pull unanswered for this long is given up and asked of someone else, in milliseconds.
pub const SYNC_PULL_TIMEOUT_MS: u64 = 10_000;
/// Shortest time between two vectors to one peer when our heads moved, in milliseconds.
pub const SYNC_VECTOR_INTERVAL_MS: u64 = 1_000;
/// Longest time between two vectors to one peer, news or not, in milliseconds.
pub const SYNC_VECTOR_REFRESH_MS: u64 = 15_000;
/// Shortest time between two vectors to one peer sent because an entry it passed on did not follow what this node
/// holds, in milliseconds. Under a burst every gossiped entry after a lost one is such a gap; a vector for each (and
/// the peer's answer to each) took more streams than a connection allows, so pulls were lost and waited for their
/// timeout.
pub const SYNC_GAP_VECTOR_MS: u64 = 250;
/// Reads for peers' pulls under way at once; past this, pulls wait for their timeout and are asked again.
pub const SYNC_SERVES_MAX: usize = 64;
/// Sync streams open at once per connection.
pub const SYNC_STREAMS_MAX: usize = 256;
/// Incoming connections still in their handshake at once.
pub const P2P_PENDING_INCOMING_MAX: u32 = 64;
/// How often each connection is pinged, and how long one ping may take, in milliseconds.
pub const P2P_PING_INTERVAL_MS: u64 = 2_000;
pub const P2P_PING_TIMEOUT_MS: u64 = 5_000;
/// A connection whose peer has answered no ping for this long is closed and the peer declared gone, in
/// milliseconds. Checked every `SYNC_TICK_MS`, so a cut link is noticed 6 to 8.25 s after it goes down (the
/// last answered ping was 0 to 2 s before the cut). libp2p's ping alone would take 15 to 19 s: it lets the
/// first failed ping pass silently, and the second fails only when opening a new stream times out (10 s).
pub const P2P_PEER_SILENT_MAX_MS: u64 = 8_000;
/// A peer refused for not being a member is logged at most once in this long (each refusal is counted), in
/// milliseconds; at most `P2P_REFUSED_LOGGED_MAX` such peers are remembered for it.
pub const P2P_REFUSED_LOG_EVERY_MS: u64 = 60_000;
pub const P2P_REFUSED_LOGGED_MAX: usize = 256;
/// The gossip mesh's heartbeat, in milliseconds.
pub const GOSSIP_HEARTBEAT_MS: u64 = 500;
/// How often the sync state machine is ticked, in milliseconds.
pub const SYNC_TICK_MS: u64 = 250;
/// Dial back-off for a neighbour that is away: it starts here and doubles up to the maximum, in milliseconds.
pub const SYNC_DIAL_BACKOFF_MIN_MS: u64 = 1_000;
pub const SYNC_DIAL_BACKOFF_MAX_MS: u64 = 16_000;

/// How long a stopping node waits for the answers in flight to finish before it closes their connections, in
/// milliseconds (live event streams end at once).
pub const SHUTDOWN_GRACE_MS: u64 = 5_000;

/// Largest HTTP request body, in bytes.
pub const HTTP_BODY_BYTES_MAX: usize = 256 * 1024;
/// Longest an HTTP request may take, in milliseconds.
pub const HTTP_TIMEOUT_MS: u64 = 10_000;
/// HTTP requests served at once per node.
pub const HTTP_CONCURRENCY_MAX: usize = 512;
/// Live event streams (`GET /api/v1/events`) open at once; they last, so they do not count against the above.
pub const EVENT_STREAMS_MAX: usize = 64;
/// Items one page of a list may ask for.
pub const LIST_PAGE_MAX: usize = 200;
/// Characters of a list's `text` filter.
pub const SEARCH_CHARS_MAX: usize = 100;
/// Summaries one list request looks at before it answers with what it found and where to go on.
pub const LIST_SCAN_MAX: usize = 50_000;
/// Summaries one statistics request reads at most (per kind); past it the answer says it is incomplete.
pub const STATS_SCAN_MAX: usize = 2_000_000;
/// Statistics requests computed at once on a node; more wait for none and are answered 503.
pub const STATS_CONCURRENCY_MAX: usize = 2;
/// Entries the CAP Atom feed holds at most (newest first).
pub const FEED_ENTRIES_MAX: usize = 100;
/// Days a recovered or closed alert stays in the feed, so its subscribers see the Update or Cancel.
pub const FEED_ENDED_DAYS: u64 = 7;
/// Public statistics show counts below this as suppressed (1 to 4 people could be identified).
pub const STATS_SUPPRESS_BELOW: u64 = 5;
/// Public requests (raising, reporting, filing, tracking) one client address may make at once, and then a
/// minute.
pub const PUBLIC_BURST: u32 = 20;
pub const PUBLIC_PER_MINUTE: u32 = 60;
/// Client addresses the public rate limit remembers.
pub const RATE_CLIENTS_MAX: usize = 100_000;
/// Seconds between keep-alive comments on a quiet event stream, so proxies and clients see it is alive.
pub const EVENT_KEEPALIVE_SECS: u64 = 15;

/// Text field lengths, in characters.
pub const NAME_CHARS_MAX: usize = 100;
pub const DESCRIPTION_CHARS_MAX: usize = 2_000;
pub const NOTE_CHARS_MAX: usize = 1_000;
pub const PLACE_TEXT_CHARS_MAX: usize = 200;
pub const REFERENCE_CHARS_MAX: usize = 200;
pub const FIR_NUMBER_CHARS_MAX: usize = 40;
/// A message on a case, between its complainant and the police.
pub const MESSAGE_CHARS_MAX: usize = 500;
/// Messages one case may hold (they are timeline events, within `TIMELINE_EVENTS_MAX`).
pub const MESSAGES_PER_CASE_MAX: usize = 1_000;
/// Messages each side (the complainant, the police) may write on one case in 24 hours.
pub const MESSAGES_PER_SIDE_DAY: usize = 30;
/// Wrong tracking codes one address may send in `TRACKING_LOCK_SECS` before its lookups are refused until then.
pub const TRACKING_WRONG_MAX: u32 = 10;
pub const TRACKING_LOCK_SECS: u64 = 3_600;
/// A media report's link or reference (a URL, or a newspaper's page, a programme's name and time).
pub const MEDIA_REFERENCE_CHARS_MAX: usize = 500;
// Break-glass access (`hifazat_domain::glass`): an official's time-limited view of a record outside their area.
/// Shortest reason an official may give, in characters (a word or two says nothing an auditor can weigh).
pub const GLASS_REASON_CHARS_MIN: usize = 20;
/// Longest reason, in characters.
pub const GLASS_REASON_CHARS_MAX: usize = 500;
/// Longest view one use grants, in minutes.
pub const GLASS_MINUTES_MAX: u32 = 60;
/// Uses one official may make on one node in any 24 hours.
pub const GLASS_USES_PER_DAY: usize = 3;
/// Uses a listing looks through at most (newest first) to fill a page.
pub const GLASS_SCAN_MAX: usize = 10_000;

/// Oldest age, in years, for which a missing-person alert is a child alert (Zainab Alert covers under-18s).
pub const CHILD_AGE_YEARS_MAX: u8 = 17;

// Photos (`hifazat-photos`): what an upload may be, and what is kept.
/// Largest photo upload, in bytes.
pub const PHOTO_BYTES_MAX: usize = 5 * 1024 * 1024;
/// Most pixels a photo may have, read from its header before any pixel is decoded.
pub const PHOTO_PIXELS_MAX: u64 = 40_000_000;
/// Most memory one photo's decoding may take.
pub const PHOTO_DECODE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Fewest pixels a side: smaller shows no face worth matching.
pub const PHOTO_SIDE_MIN: u32 = 64;
/// Most pixels a side as kept; larger photos are scaled down.
pub const PHOTO_SIDE_MAX: u32 = 1600;
/// The kept JPEG's quality (1 to 100).
pub const PHOTO_JPEG_QUALITY: u8 = 85;
/// Most bytes a clean photo may take (a photo of noise at the largest size could pass it; real photos are a
/// fraction of it).
pub const PHOTO_STORED_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Bytes of a photo in one entry of the `photos` log (the rest of the entry's payload is the piece's header).
pub const PHOTO_PIECE_BYTES: usize = 60 * 1024;
/// How long an uploaded photo is kept for a record to name it; unnamed after that, it is dropped.
pub const PHOTO_PENDING_MS: u64 = 24 * 3_600_000;
/// Most photos uploaded and not yet named by a record a node keeps at once.
pub const PHOTOS_PENDING_MAX: usize = 2_000;
/// Most photos one found-child report carries.
pub const FOUND_PHOTOS_MAX: usize = 4;

/// The register (federal node only). Names and a parent's name, in characters: they go into verification
/// replies, which have one fixed size.
pub const REGISTER_NAME_CHARS_MAX: usize = 80;
/// Free-text fields of a register entry (an offence, a court, a sentence, an address, a destination), in
/// characters.
pub const REGISTER_TEXT_CHARS_MAX: usize = 300;
/// Aliases, convictions, addresses (with their history) and travel notifications one register entry holds.
pub const REGISTER_ALIASES_MAX: usize = 20;
pub const REGISTER_CONVICTIONS_MAX: usize = 50;
pub const REGISTER_ADDRESSES_MAX: usize = 100;
pub const REGISTER_TRAVELS_MAX: usize = 200;
/// Convictions a new entry may name at once (more are added one by one), so that its signed log entry stays
/// within one payload.
pub const REGISTER_DRAFT_CONVICTIONS_MAX: usize = 8;
/// Register entries the federal node keeps (its CNIC index is held in memory).
pub const REGISTER_ENTRIES_MAX: usize = 1_000_000;
/// Every verification reply body has exactly this size in bytes, hit or miss, so its size says nothing.
pub const VERIFY_REPLY_BYTES: usize = 3_072;
/// A verification is answered no sooner than this after it arrived, hit or miss, so its timing says nothing
/// either: the work (a lookup, a decryption, a flush of the consultation log) takes a fraction of it.
pub const VERIFY_ANSWER_FLOOR_MS: u64 = 10;
/// Requesters (users and SMS senders) and queried CNICs the verification guard remembers at once.
pub const VERIFY_TRACKED_MAX: usize = 1_000_000;
/// Largest sealed register notification, in bytes.
pub const NOTICE_SEALED_BYTES_MAX: usize = 16 * 1024;
/// Items one page of register consultations, alarms or notifications holds at most.
pub const REGISTER_PAGE_MAX: usize = 200;

/// Largest topology file, in bytes (the national layout with 2,000 nodes and their keys is about 300 KB). It fits
/// in a signed note with room for its signatures.
pub const TOPOLOGY_BYTES_MAX: usize = 1_000_000;
/// Most nodes one topology may name.
pub const TOPOLOGY_NODES_MAX: usize = 2_000;
/// Former keys a topology keeps per node (each revoked from a stated point).
pub const TOPOLOGY_REVOKED_MAX: usize = 8;
/// Logs a revoked key's point names.
pub const TOPOLOGY_REVOKED_LOGS_MAX: usize = 64;

const _: () = assert!(
    PAYLOAD_BYTES_MAX + SCOPE_BYTES_MAX + ACTOR_BYTES_MAX + ENTRY_FIXED_BYTES <= ENTRY_BYTES_MAX
);
const _: () = assert!(SCOPE_BYTES_MAX <= u8::MAX as usize);
// An answer to a pull, or a signed topology, fits in one sync message with room for the framing.
const _: () = assert!(SYNC_PULL_BYTES_MAX + ENTRY_BYTES_MAX + 64 * 1024 <= SYNC_MESSAGE_BYTES_MAX);
const _: () = assert!(NOTE_BYTES_MAX + 64 <= SYNC_MESSAGE_BYTES_MAX);
const _: () = assert!(CHECKPOINT_NOTE_BYTES_MAX + 64 <= SYNC_MESSAGE_BYTES_MAX);
const _: () = assert!(2 * ENTRY_BYTES_MAX + 64 <= SYNC_MESSAGE_BYTES_MAX);
const _: () = assert!(
    SYNC_VECTOR_LOGS_MAX * (32 + 1 + SCOPE_BYTES_MAX + 8 + 32) + 64 <= SYNC_MESSAGE_BYTES_MAX
);
const _: () = assert!(SYNC_DIAL_BACKOFF_MIN_MS <= SYNC_DIAL_BACKOFF_MAX_MS);
// A ping that answers just within its timeout must not find its connection already closed.
const _: () = assert!(P2P_PING_INTERVAL_MS + P2P_PING_TIMEOUT_MS < P2P_PEER_SILENT_MAX_MS);
const _: () = assert!(SYNC_TICK_MS < P2P_PING_INTERVAL_MS);
const _: () = assert!(SYNC_VECTOR_INTERVAL_MS < SYNC_VECTOR_REFRESH_MS);
const _: () = assert!(SYNC_GAP_VECTOR_MS < SYNC_VECTOR_INTERVAL_MS);
const _: () = assert!(TOPOLOGY_BYTES_MAX + NOTE_SIGNATURES_MAX * 512 <= NOTE_BYTES_MAX);
const _: () = assert!(ACTOR_BYTES_MAX <= u8::MAX as usize);
const _: () = assert!(ENTRY_BYTES_MAX < HTTP_BODY_BYTES_MAX);
const _: () = assert!(PHOTO_SIDE_MIN < PHOTO_SIDE_MAX);
const _: () = assert!(PHOTO_PIXELS_MAX * 4 <= PHOTO_DECODE_BYTES_MAX);
const _: () = assert!(PHOTO_JPEG_QUALITY >= 1 && PHOTO_JPEG_QUALITY <= 100);
// A piece with its header fits an entry's payload, and a photo is a bounded number of pieces.
const _: () = assert!(PHOTO_PIECE_BYTES + 64 <= PAYLOAD_BYTES_MAX);
const _: () = assert!(PHOTO_STORED_BYTES_MAX / PHOTO_PIECE_BYTES < 64);
const _: () = assert!(COMMIT_GROUP_MAX <= ENGINE_QUEUE_MAX);
const _: () = assert!(VERIFY_BATCH_ENTRIES_MAX <= PENDING_CHANGES_MAX);
// A verification reply holds two messages, each naming the offender and a parent (up to 4 bytes per character),
// and fits its fixed size with room for the rest.
const _: () = assert!(2 * (2 * REGISTER_NAME_CHARS_MAX * 4 + 400) + 512 <= VERIFY_REPLY_BYTES);
const _: () = assert!(NOTICE_SEALED_BYTES_MAX <= PAYLOAD_BYTES_MAX);
// A new register entry (its conviction texts, aliases, names and address, at up to 4 bytes per character, with
// room for JSON and encryption) fits one log entry's payload.
const _: () = assert!(
    (REGISTER_DRAFT_CONVICTIONS_MAX * 4 + 2) * REGISTER_TEXT_CHARS_MAX * 4
        + (REGISTER_ALIASES_MAX + 2) * REGISTER_NAME_CHARS_MAX * 4
        + 4096
        <= PAYLOAD_BYTES_MAX
);
const _: () = assert!(REGISTER_DRAFT_CONVICTIONS_MAX <= REGISTER_CONVICTIONS_MAX);
// A description, a note and the fixed fields of a record must fit in one change.
const _: () =
    assert!((DESCRIPTION_CHARS_MAX + NOTE_CHARS_MAX + 8 * NAME_CHARS_MAX) * 4 < PAYLOAD_BYTES_MAX);
