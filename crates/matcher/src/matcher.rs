//! The matcher: the faces of open alerts and open found children's reports, compared as either side changes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use hifazat_domain::{AlertStage, EventKind, FoundStage, RecordId, RecordKind, suggestions};
use hifazat_engine::Engine;
use hifazat_faces::{Embedding, Face, Gallery, pipeline};
use hifazat_photos::PhotoId;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::{MATCHER_ACTOR, Worker};

/// How often alerts whose photo had not all arrived are looked at again.
const RETRY: Duration = Duration::from_secs(5);
/// After missing changes, the matcher reads every record again, but not sooner than this after the last time,
/// nor sooner than four times as long as that reading took: under a burst of changes a reading at once would
/// fall behind again while it reads, and read again, and again.
const RELOAD_PAUSE: Duration = Duration::from_secs(1);

/// When the matcher reads every record again, after it missed changes.
#[derive(Debug)]
struct Rereads {
    /// A reading is due then (changes were missed).
    due: Option<Instant>,
    /// Not before this: [`RELOAD_PAUSE`], or four times the last reading's length, after it ended.
    earliest: Instant,
}

impl Rereads {
    /// After a reading of every record that ran from `started` to `ended`.
    fn new(started: Instant, ended: Instant) -> Rereads {
        Rereads {
            due: None,
            earliest: ended + (ended.saturating_duration_since(started) * 4).max(RELOAD_PAUSE),
        }
    }

    /// Changes were missed at `now`: a reading is due, at the earliest it may be. Returns when, unless one was due
    /// already.
    fn missed(&mut self, now: Instant) -> Option<Instant> {
        if self.due.is_some() {
            return None;
        }
        let at = self.earliest.max(now);
        self.due = Some(at);
        Some(at)
    }
}
/// Suggestions announced to live streams and not yet read, per listener.
const ANNOUNCED_MAX: usize = 256;
/// The note on every suggestion: what it is, and what it is not.
pub const NOTE: &str = "possible match, confirm in person";

/// A possible match seen on a record here: on the alert's side or on the found child's report's side, with that
/// record's district (who may hear of it depends on it).
#[derive(Debug, Clone, PartialEq)]
pub struct Suggested {
    pub alert: RecordId,
    pub found: RecordId,
    /// The distance between the faces.
    pub distance: f32,
    /// The node that compared them.
    pub node: String,
    /// The kind of the record this was seen on, and its district.
    pub seen_on: RecordKind,
    pub district: String,
}

#[derive(Default)]
struct State {
    /// Faces of open alerts with a photo: (alert, face).
    alerts: Gallery<(RecordId, u8)>,
    /// The photo whose faces are held for each alert in `alerts`.
    alert_photos: HashMap<RecordId, PhotoId>,
    /// Alerts whose photo has not all arrived, or was not described yet.
    waiting: BTreeSet<RecordId>,
    /// Faces of open found children's reports whose photos are here: (report, photo, face).
    found: Gallery<(RecordId, u8, u8)>,
    found_held: HashMap<RecordId, Vec<(u8, u8)>>,
    /// The suggestions each record was last seen with, so only new ones are announced.
    seen: HashMap<RecordId, BTreeSet<RecordId>>,
}

/// Face matching on this node (crate docs).
pub struct Matcher {
    engine: Engine,
    worker: Worker,
    threshold: f32,
    announce: broadcast::Sender<Suggested>,
    /// Counts the times every record was read and compared (once at start, again after a lag).
    loaded: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Matcher {
    /// Starts matching on this node's records, with pairs closer than `threshold` suggested.
    pub fn start(engine: Engine, worker: Worker, threshold: f32) -> Arc<Matcher> {
        let (announce, _) = broadcast::channel(ANNOUNCED_MAX);
        let (loaded, _) = tokio::sync::watch::channel(0);
        let matcher = Arc::new(Matcher {
            engine,
            worker,
            threshold,
            announce,
            loaded,
        });
        tokio::spawn(matcher.clone().run());
        matcher
    }

    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Resolves once every record held at start was read and compared.
    pub async fn ready(&self) {
        let mut rx = self.loaded.subscribe();
        let _ = rx.wait_for(|n| *n > 0).await;
    }

    /// Every suggestion seen arriving on a record here from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Suggested> {
        self.announce.subscribe()
    }

    async fn run(self: Arc<Matcher>) {
        let mut changes = self.engine.subscribe_changes();
        let mut st = State::default();
        let started = Instant::now();
        self.load(&mut st).await;
        let mut rereads = Rereads::new(started, Instant::now());
        // A steady beat, so a stream of changes cannot put the retries off.
        let mut retry = tokio::time::interval(RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    // A reading of every record is due: it covers what arrives until then.
                    Ok(_) if rereads.due.is_some() => {}
                    Ok(c) if c.kind == RecordKind::Alert => self.alert_changed(&mut st, c.record, true).await,
                    Ok(c) if c.kind == RecordKind::Found => self.found_changed(&mut st, c.record, true).await,
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        let now = Instant::now();
                        if let Some(at) = rereads.missed(now) {
                            tracing::warn!(
                                missed,
                                in_ms = at.saturating_duration_since(now).as_millis() as u64,
                                "the matcher missed changes; reading every record again"
                            );
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
                () = tokio::time::sleep_until(rereads.due.unwrap_or_else(Instant::now)), if rereads.due.is_some() => {
                    let started = Instant::now();
                    self.load(&mut st).await;
                    rereads = Rereads::new(started, Instant::now());
                }
                _ = retry.tick(), if !st.waiting.is_empty() => {
                    let waiting: Vec<RecordId> = st.waiting.iter().copied().collect();
                    for id in waiting {
                        st.waiting.remove(&id);
                        self.alert_changed(&mut st, id, false).await;
                    }
                }
            }
        }
    }

    /// Reads every open alert with a photo and every open report here, then compares each report's faces with
    /// every alert's (a suggestion lost in a crash is made now; one made before is not made again).
    async fn load(&self, st: &mut State) {
        let alerts = self
            .engine
            .fold_alerts(Vec::new(), |acc: &mut Vec<RecordId>, s| {
                if s.photo.is_some() && s.status.stage < AlertStage::Recovered {
                    acc.push(s.id);
                }
            })
            .await;
        let found = self
            .engine
            .fold_found(Vec::new(), |acc: &mut Vec<RecordId>, s| {
                if s.status.stage < FoundStage::HandedToFamily && !s.photos.is_empty() {
                    acc.push(s.id);
                }
            })
            .await;
        let (Ok((alerts, _)), Ok((found, _))) = (alerts, found) else {
            tracing::error!("the matcher could not read the node's records");
            return;
        };
        for id in alerts {
            self.alert_changed(st, id, false).await;
        }
        for id in found {
            self.found_changed(st, id, false).await;
        }
        self.loaded.send_modify(|n| *n += 1);
        tracing::info!(
            alert_faces = st.alerts.len(),
            found_faces = st.found.len(),
            waiting = st.waiting.len(),
            threshold = self.threshold,
            "face matching ready"
        );
    }

    /// Announces the suggestions on a record that were not there when it was last seen.
    fn announce_new(
        &self,
        st: &mut State,
        record: RecordId,
        kind: RecordKind,
        district: &str,
        timeline: &[hifazat_domain::Event],
        announce: bool,
    ) {
        let now = suggestions(timeline);
        if now.is_empty() {
            return;
        }
        let seen = st.seen.entry(record).or_default();
        for s in now {
            if !seen.insert(s.other) || !announce {
                continue;
            }
            let (alert, found) = match kind {
                RecordKind::Alert => (record, s.other),
                _ => (s.other, record),
            };
            let _ = self.announce.send(Suggested {
                alert,
                found,
                distance: s.distance,
                node: s.node.clone(),
                seen_on: kind,
                district: district.to_owned(),
            });
        }
    }

    /// The faces of a held photo: as stored, or described now (and stored). `None` while the photo is not all here.
    async fn faces_of(&self, photo: PhotoId, local: bool) -> Option<Vec<Face>> {
        if let Ok(Some(bytes)) = self.engine.faces(photo).await {
            return pipeline::decode(&bytes);
        }
        let bytes = if local {
            self.engine
                .local_photo(photo)
                .await
                .ok()
                .flatten()
                .map(|l| l.bytes)
        } else {
            self.engine.photo(photo).await.ok().flatten()
        }?;
        match self.worker.describe(photo, bytes).await {
            Ok(described) => {
                if let Err(e) = self
                    .engine
                    .set_faces(photo, pipeline::encode(&described.faces))
                    .await
                {
                    tracing::error!(photo = %photo, error = %e, "the faces found could not be kept");
                }
                Some(described.faces)
            }
            Err(e) => {
                tracing::warn!(photo = %photo, error = %e, "a photo could not be described");
                None
            }
        }
    }

    async fn alert_changed(&self, st: &mut State, id: RecordId, announce: bool) {
        let Ok(alert) = self.engine.alert(id).await else {
            return;
        };
        let district = alert.doc.intake.public.last_seen.district.clone();
        self.announce_new(
            st,
            id,
            RecordKind::Alert,
            &district,
            &alert.doc.timeline,
            announce,
        );
        let photo = alert
            .doc
            .intake
            .public
            .photo_ref
            .as_deref()
            .and_then(|p| p.parse::<PhotoId>().ok());
        let open = alert.status.stage < AlertStage::Recovered;
        let (Some(photo), true) = (photo, open) else {
            forget_alert(st, id);
            return;
        };
        if st.alert_photos.get(&id) == Some(&photo) {
            return;
        }
        forget_alert(st, id);
        let Some(faces) = self.faces_of(photo, false).await else {
            tracing::debug!(alert = %id, photo = %photo, "the alert's photo has not all arrived; waiting");
            st.waiting.insert(id);
            return;
        };
        for (i, face) in faces.iter().enumerate() {
            st.alerts.insert((id, i as u8), &face.embedding);
        }
        st.alert_photos.insert(id, photo);
        tracing::info!(alert = %id, photo = %photo, faces = faces.len(), "an alert's photo compared");
        // Each report's nearest face to any of the alert's.
        let mut nearest: HashMap<RecordId, f32> = HashMap::new();
        for face in &faces {
            for m in st.found.within(&face.embedding, self.threshold) {
                let d = nearest.entry(m.key.0).or_insert(f32::INFINITY);
                *d = d.min(m.distance);
            }
        }
        for (found, distance) in nearest {
            self.suggest(id, found, distance).await;
        }
    }

    async fn found_changed(&self, st: &mut State, id: RecordId, announce: bool) {
        let Ok(report) = self.engine.found(id).await else {
            return;
        };
        let district = report.doc.intake.place.district.clone();
        self.announce_new(
            st,
            id,
            RecordKind::Found,
            &district,
            &report.doc.timeline,
            announce,
        );
        if report.status.stage >= FoundStage::HandedToFamily {
            if let Some(keys) = st.found_held.remove(&id) {
                for (p, f) in keys {
                    st.found.remove(&(id, p, f));
                }
            }
            return;
        }
        if st.found_held.contains_key(&id) {
            return;
        }
        let mut held = Vec::new();
        let mut embeddings: Vec<Embedding> = Vec::new();
        for (p, photo) in report.doc.intake.photos.iter().enumerate() {
            let Ok(photo) = photo.parse::<PhotoId>() else {
                continue;
            };
            // Only the node that took the photos has them; elsewhere the report has no faces to compare.
            let Ok(Some(_)) = self.engine.local_photo(photo).await else {
                continue;
            };
            for (f, face) in self
                .faces_of(photo, true)
                .await
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                st.found.insert((id, p as u8, f as u8), &face.embedding);
                held.push((p as u8, f as u8));
                embeddings.push(face.embedding);
            }
        }
        if held.is_empty() {
            return;
        }
        tracing::info!(report = %id, faces = held.len(), "a found child's photos compared");
        st.found_held.insert(id, held);
        let mut nearest: HashMap<RecordId, f32> = HashMap::new();
        for e in &embeddings {
            for m in st.alerts.within(e, self.threshold) {
                let d = nearest.entry(m.key.0).or_insert(f32::INFINITY);
                *d = d.min(m.distance);
            }
        }
        for (alert, distance) in nearest {
            self.suggest(alert, id, distance).await;
        }
    }

    /// Writes a possible match on both records, unless the report already holds one for this alert (suggested,
    /// confirmed or rejected).
    async fn suggest(&self, alert: RecordId, found: RecordId, distance: f32) {
        let Ok(report) = self.engine.found(found).await else {
            return;
        };
        if suggestions(&report.doc.timeline)
            .iter()
            .any(|s| s.other == alert)
        {
            return;
        }
        let milli = (distance * 1000.0).round().clamp(0.0, f32::from(u16::MAX)) as u16;
        for (record, other) in [(found, alert), (alert, found)] {
            if let Err(e) = self
                .engine
                .add_event(
                    record,
                    EventKind::MatchSuggested {
                        other,
                        distance: milli,
                    },
                    Some(NOTE.into()),
                    MATCHER_ACTOR.into(),
                )
                .await
            {
                tracing::error!(record = %record, error = %e, "a possible match could not be recorded");
                return;
            }
        }
        tracing::info!(alert = %alert, found = %found, distance, "possible match suggested");
    }
}

fn forget_alert(st: &mut State, id: RecordId) {
    st.waiting.remove(&id);
    if st.alert_photos.remove(&id).is_some() {
        for i in 0..hifazat_faces::pipeline::FACES_MAX as u8 {
            st.alerts.remove(&(id, i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_after_missed_changes_waits_its_pause_and_is_made_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        // A quick reading (100 ms): the next waits a second after it ended.
        let mut r = Rereads::new(t0, t0 + s / 10);
        assert_eq!(r.missed(t0 + s / 5), Some(t0 + s / 10 + s));
        // Missed again before it is made: still the one reading, at the same time.
        assert_eq!(r.missed(t0 + s / 2), None);
        assert_eq!(r.due, Some(t0 + s / 10 + s));
        // A slow reading (2 s, a large store): the next waits four times as long.
        let r = Rereads::new(t0, t0 + 2 * s);
        assert_eq!(r.earliest, t0 + 10 * s);
        // Changes missed long after the pause: the reading is due at once.
        let mut r = Rereads::new(t0, t0 + s / 10);
        assert_eq!(r.missed(t0 + 60 * s), Some(t0 + 60 * s));
    }
}
