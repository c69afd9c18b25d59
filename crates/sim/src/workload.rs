//! The honest work: officials writing alerts and cases at their nodes.

use super::*;

/// An alert for a child last seen in `district` at (`lat`, `lon`) a minute before `now_ms`: the one the simulator
/// raises, and (in Lahore) the benchmarks too.
pub fn alert_draft(district: &str, lat: f64, lon: f64, now_ms: u64) -> AlertDraft {
    AlertDraft {
        child_name: "Ayesha".into(),
        age_years: 7,
        sex: Sex::Female,
        photo_ref: None,
        description: "Red frock, plastic sandals, answers to Ashi".into(),
        last_seen: PlaceDraft {
            district: district.into(),
            lat,
            lon,
            text: "Anarkali Bazaar".into(),
        },
        last_seen_at_ms: now_ms - 60_000,
        reporter: ContactDraft {
            name: "Mother".into(),
            mobile: Some("03001234567".into()),
            cnic: None,
        },
        channel: Channel::Helpline1099,
        contact_line: None,
        office: None,
        police_notes: None,
    }
}

pub(crate) fn case_draft(district: &str) -> CaseDraft {
    CaseDraft {
        category: CaseCategory::Harassment,
        district: district.into(),
        place: None,
        description: "Harassed on the way to school".into(),
        channel: Channel::Helpline1099,
        victim_age_years: Some(14),
        complainant: None,
        media: None,
    }
}

impl Sim {
    /// A new record's content at a node `me` may write for: an alert or a case in one of its districts.
    fn draft(&mut self, me: &hifazat_topology::Node, alert: bool) -> (Scope, RecordDoc) {
        let districts: Vec<String> = self
            .topology
            .districts
            .iter()
            .filter(|d| match me.role {
                Role::Federal => true,
                Role::Province => me.province.as_deref() == Some(d.province.as_str()),
                Role::District => me.district.as_deref() == Some(d.code.as_str()),
            })
            .map(|d| d.code.clone())
            .collect();
        let district = self.rng.pick(&districts).clone();
        let d = self.topology.district(&district).expect("district").clone();
        let ctx = Context {
            districts: &self.topology,
            now_ms: self.now_ms + 1_600_000_000_000,
        };
        if alert {
            let intake = alert_draft(&d.code, d.lat, d.lon, ctx.now_ms)
                .validate(&ctx)
                .expect("a valid alert");
            (
                Scope::alerts(),
                RecordDoc::Alert(AlertDoc {
                    intake,
                    timeline: vec![],
                    sightings: vec![],
                }),
            )
        } else {
            let intake = case_draft(&d.code)
                .validate(&ctx, self.rng.bytes())
                .expect("a valid case");
            (
                Scope::cases(&d.code).expect("scope"),
                RecordDoc::Case(CaseDoc {
                    intake,
                    timeline: vec![],
                }),
            )
        }
    }

    /// One write at `node`: a new alert, a new case on the node's line, or an event on a record it holds.
    pub(crate) fn write(&mut self, node: usize) {
        if !self.faulty || !self.nodes[node].up() {
            return;
        }
        let now = self.now_ms;
        let thief = self.thief == Some(node);
        // The thief writes as the node it stole, by the topology it kept.
        let me = match &self.nodes[node].sync {
            Some(sync) if thief => sync.member(&self.nodes[node].author),
            _ => self.topology.member(&self.nodes[node].author.0),
        }
        .expect("member")
        .clone();
        let held: Vec<(RecordId, Scope)> = self
            .records
            .iter()
            .filter(|(r, _)| self.nodes[node].store.records.contains_key(r))
            .cloned()
            .collect();
        let forker = self.forking.as_ref().is_some_and(|f| f.node == node);
        let roll = if self.plan.propagation_from_ms.is_some() || forker {
            // Alerts only.
            3 + self.rng.below(4)
        } else {
            self.rng.below(10)
        };
        let alerts: Vec<RecordId> = held
            .iter()
            .filter(|(_, scope)| *scope == Scope::alerts())
            .map(|(record, _)| *record)
            .collect();
        let (head, bytes) =
            if self.equivocator == Some(node) && !alerts.is_empty() && self.rng.chance(500) {
                // A second, different creation of an alert it holds.
                let record = *self.rng.pick(&alerts);
                let (scope, doc) = self.draft(&me, true);
                let n = &mut self.nodes[node];
                let rival = hifazat_replica::NewRecord::build(n.author.0, record, &doc, now)
                    .expect("a simulated record builds");
                let hash = automerge::Change::from_bytes(rival.change().to_vec())
                    .expect("a change")
                    .hash();
                self.rivals.push((record, hash));
                n.write(scope, record, rival.change().to_vec(), now)
            } else if roll < 3 && !held.is_empty() {
                let (record, scope) = self.rng.pick(&held).clone();
                let event = TimelineEvent {
                    kind: EventKind::Mobilised,
                    at_ms: now,
                    by: "sim".into(),
                    node: self.nodes[node].name.clone(),
                    note: Some(format!("step {}", self.seq)),
                };
                let n = &mut self.nodes[node];
                let change = match n.replicas.append_event(record, &n.store, &event, now) {
                    Ok(c) => c,
                    Err(_) => return,
                };
                n.write(scope, record, change, now)
            } else {
                let record = RecordId(self.rng.bytes());
                let (scope, doc) = self.draft(&me, roll < 7);
                if !thief {
                    self.records.push((record, scope.clone()));
                }
                self.nodes[node].create(scope, record, &doc, now)
            };
        self.trace.update(head.hash.0);
        if self.plan.propagation_from_ms.is_some() {
            self.spread.insert(
                (head.log.digest(), head.seq),
                Spread {
                    written_ms: now,
                    from: node,
                    lacking: self.nodes.len() - 1,
                    done_ms: None,
                },
            );
        }
        if !forker && !thief {
            // The forker's writes are on two branches: no node can hold them all. The thief's are refused.
            self.acked.push(head);
        }
        self.input(
            node,
            Input::Written {
                entries: vec![bytes],
            },
        );
    }
}
