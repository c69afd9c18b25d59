//! Work done on the caller's thread before the engine sees a write: validating a draft and building a new
//! record's document, so callers on other cores do it in parallel.

use super::*;

/// What callers need to prepare a write (this node's name, the topology and the node's public key), and what
/// they may read without the engine thread: durable log entries, and the announcements of our own new ones.
#[derive(Debug)]
pub(crate) struct Local {
    pub(crate) node_name: String,
    pub(crate) clock: hifazat_domain::Clock,
    pub(crate) topology: Topology,
    pub(crate) author: [u8; 32],
    pub(crate) store: Store,
    pub(crate) written: tokio::sync::broadcast::Sender<Written>,
    pub(crate) changes: tokio::sync::broadcast::Sender<Change>,
    pub(crate) figures: SharedFigures,
}

/// A new record made on the caller's thread, ready for the engine to sign and store.
#[derive(Debug)]
pub(crate) struct Created {
    pub(crate) scope: Scope,
    pub(crate) record: NewRecord,
    pub(crate) actor: String,
    pub(crate) kind: RecordKind,
    pub(crate) meta: RecordMeta,
    pub(crate) now_ms: u64,
    pub(crate) summary: Summary,
    /// A case's tracking code.
    pub(crate) tracking: Option<String>,
    /// The photos the record names, and what becomes of them once it is stored: an alert's is published, a found
    /// child's kept here alone.
    pub(crate) photos: Vec<(PhotoId, PhotoUse)>,
}

/// What storing a record does with a photo it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhotoUse {
    Publish,
    KeepFound,
}

impl Local {
    /// Validates an alert draft and builds its record's document.
    pub(crate) fn new_alert(
        &self,
        draft: &AlertDraft,
        actor: &str,
    ) -> Result<Created, EngineError> {
        let now = self.clock.now_ms();
        let intake = draft.validate(&Context {
            districts: &self.topology,
            now_ms: now,
        })?;
        let photo = intake
            .public
            .photo_ref
            .as_deref()
            .and_then(|p| p.parse::<PhotoId>().ok());
        let mut created = self.created(Scope::alerts(), actor, now, |raised| {
            RecordDoc::Alert(AlertDoc {
                intake,
                timeline: vec![raised],
                sightings: vec![],
            })
        })?;
        created.photos = photo.map(|p| (p, PhotoUse::Publish)).into_iter().collect();
        Ok(created)
    }

    /// Validates a found child's report and builds its document. Like a case, it is kept along its district's
    /// line, so a node reports only for districts on its own.
    pub(crate) fn new_found(
        &self,
        draft: &FoundDraft,
        actor: &str,
    ) -> Result<Created, EngineError> {
        let now = self.clock.now_ms();
        let intake = draft.validate(&Context {
            districts: &self.topology,
            now_ms: now,
        })?;
        let district = intake.place.district.clone();
        let scope = Scope::cases(&district)
            .map_err(|_| Invalid::one("place.district", "is not a valid district code"))?;
        if !self.files_cases_for(&district) {
            return Err(Invalid::one(
                "place.district",
                format!(
                    "`{district}` is not on this node's line; report the child at that district's, province's or the federal node"
                ),
            )
            .into());
        }
        let photos = intake
            .photos
            .iter()
            .filter_map(|p| p.parse::<PhotoId>().ok())
            .map(|p| (p, PhotoUse::KeepFound))
            .collect();
        let mut created = self.created(scope, actor, now, |reported| {
            RecordDoc::Found(FoundDoc {
                intake,
                timeline: vec![reported],
            })
        })?;
        created.photos = photos;
        Ok(created)
    }

    /// A new record at time `now`: its document (made by `doc` from the `raised` event that opens its
    /// timeline), under a fresh id, ready to be signed into this node's log for `scope`.
    pub(crate) fn created(
        &self,
        scope: Scope,
        actor: &str,
        now: u64,
        doc: impl FnOnce(Event) -> RecordDoc,
    ) -> Result<Created, EngineError> {
        let actor = actor_name(actor)?;
        let raised = Event {
            kind: EventKind::Raised,
            at_ms: now,
            by: actor.clone(),
            node: self.node_name.clone(),
            note: None,
        };
        let doc = doc(raised);
        let id = new_record_id(now);
        let tracking = match &doc {
            RecordDoc::Case(c) => Some(c.intake.tracking_code.as_str().to_owned()),
            RecordDoc::Alert(_) | RecordDoc::Found(_) => None,
        };
        Ok(Created {
            scope,
            record: NewRecord::build(self.author, id, &doc, now)?,
            actor,
            kind: doc.kind(),
            meta: RecordMeta {
                kind: doc.kind(),
                created_ms: now,
            },
            now_ms: now,
            summary: Summary::of(id, &doc, now),
            tracking,
            photos: Vec::new(),
        })
    }

    /// Whether this node files complaints for `district` (see [`Engine::files_cases_for`]).
    pub(crate) fn files_cases_for(&self, district: &str) -> bool {
        Scope::cases(district).is_ok_and(|scope| {
            self.topology
                .node(&self.node_name)
                .is_some_and(|me| hifazat_topology::may_hold(&self.topology, me, &scope))
        })
    }

    /// Validates a complaint and builds its case's document. A node files cases only for districts on its own
    /// line (its district; a province's districts; any district at the federal node), since only those nodes
    /// may hold the case's log.
    pub(crate) fn new_case(&self, draft: &CaseDraft, actor: &str) -> Result<Created, EngineError> {
        let now = self.clock.now_ms();
        let mut tracking = [0u8; hifazat_domain::TRACKING_RANDOM_BYTES];
        OsRng.fill_bytes(&mut tracking);
        let intake = draft.validate(
            &Context {
                districts: &self.topology,
                now_ms: now,
            },
            tracking,
        )?;
        let scope = Scope::cases(&intake.district)
            .map_err(|_| Invalid::one("district", "is not a valid district code"))?;
        if !self.files_cases_for(&intake.district) {
            return Err(Invalid::one(
                "district",
                format!(
                    "`{}` is not on this node's line; file it at that district's, province's or the federal node",
                    intake.district
                ),
            )
            .into());
        }
        self.created(scope, actor, now, |filed| {
            RecordDoc::Case(CaseDoc {
                intake,
                timeline: vec![filed],
            })
        })
    }
}
