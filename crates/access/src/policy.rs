//! Roles, the areas they cover, and the access rules of the API. Pure: everything is decided from the caller, the
//! topology and the record's district.

use std::fmt;
use std::str::FromStr;

use hifazat_domain::EventKind;
use hifazat_topology::{Node, Role as NodeRole, Topology};
use serde::{Deserialize, Serialize};

/// What an API user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works alerts and cases at a police station of one district.
    StationOfficer,
    /// District Police Officer: one district.
    Dpo,
    /// Regional Police Officer: one region's districts.
    Rpo,
    /// Inspector General of Police: one province.
    Ig,
    /// The ministry: everything but the register, read-only for police work.
    Ministry,
    /// Keeps the sex-offender register (federal node only).
    RegisterOfficer,
    /// Verifies signed histories; sees what the public sees.
    Auditor,
    /// An institution authorised to verify CNICs against the register (a school, an employer's agency, a
    /// government department), at the federal node only.
    Verifier,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::StationOfficer,
        Role::Dpo,
        Role::Rpo,
        Role::Ig,
        Role::Ministry,
        Role::RegisterOfficer,
        Role::Auditor,
        Role::Verifier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::StationOfficer => "station_officer",
            Role::Dpo => "dpo",
            Role::Rpo => "rpo",
            Role::Ig => "ig",
            Role::Ministry => "ministry",
            Role::RegisterOfficer => "register_officer",
            Role::Auditor => "auditor",
            Role::Verifier => "verifier",
        }
    }

    /// Police roles work alerts and cases in their area.
    pub fn is_police(self) -> bool {
        matches!(
            self,
            Role::StationOfficer | Role::Dpo | Role::Rpo | Role::Ig
        )
    }

    /// The kind of area the role is given: `district`, `region`, `province`, or none (national).
    pub fn area_kind(self) -> Option<&'static str> {
        match self {
            Role::StationOfficer | Role::Dpo => Some("district"),
            Role::Rpo => Some("region"),
            Role::Ig => Some("province"),
            Role::Ministry | Role::RegisterOfficer | Role::Auditor | Role::Verifier => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("`{s}` is not a role; one of {}", names.join(", "))
            })
    }
}

/// The part of the country a user's role covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum Area {
    District(String),
    Region(String),
    Province(String),
    National,
}

impl Area {
    /// Whether a record of `district` lies in this area.
    pub fn covers(&self, topology: &Topology, district: &str) -> bool {
        match self {
            Area::National => true,
            Area::District(d) => d == district,
            Area::Region(r) => topology.district(district).is_some_and(|d| &d.region == r),
            Area::Province(p) => topology
                .district(district)
                .is_some_and(|d| &d.province == p),
        }
    }

    /// Checks that the area exists in `topology` and that `node` holds the cases of at least part of it (a
    /// district node its district; a province node its province; the federal node everything), so a user given
    /// it sees something here.
    pub fn check(&self, topology: &Topology, node: &Node) -> Result<(), String> {
        let node_province = node.province.as_deref();
        match self {
            Area::National => Ok(()),
            Area::District(code) => {
                let d = topology
                    .district(code)
                    .ok_or_else(|| format!("district `{code}` is not in the topology"))?;
                let here = match node.role {
                    NodeRole::Federal => true,
                    NodeRole::Province => node_province == Some(d.province.as_str()),
                    NodeRole::District => node.district.as_deref() == Some(code.as_str()),
                };
                here.then_some(()).ok_or_else(|| {
                    format!("district `{code}` is not on node `{}`'s line", node.name)
                })
            }
            Area::Region(code) => {
                let r = topology
                    .region(code)
                    .ok_or_else(|| format!("region `{code}` is not in the topology"))?;
                let here = match node.role {
                    NodeRole::Federal => true,
                    NodeRole::Province => node_province == Some(r.province.as_str()),
                    NodeRole::District => node
                        .district
                        .as_deref()
                        .and_then(|d| topology.district(d))
                        .is_some_and(|d| d.region == *code),
                };
                here.then_some(())
                    .ok_or_else(|| format!("region `{code}` is not on node `{}`'s line", node.name))
            }
            Area::Province(code) => {
                topology
                    .province(code)
                    .ok_or_else(|| format!("province `{code}` is not in the topology"))?;
                let here = match node.role {
                    NodeRole::Federal => true,
                    NodeRole::Province => node_province == Some(code.as_str()),
                    NodeRole::District => node_province == Some(code.as_str()),
                };
                here.then_some(()).ok_or_else(|| {
                    format!("province `{code}` is not on node `{}`'s line", node.name)
                })
            }
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Area::District(c) => write!(f, "district {c}"),
            Area::Region(c) => write!(f, "region {c}"),
            Area::Province(c) => write!(f, "province {c}"),
            Area::National => f.write_str("national"),
        }
    }
}

/// Who is calling: the public (no token), or a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Public,
    User {
        name: String,
        role: Role,
        area: Area,
    },
}

/// Why a caller may not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn deny<T>(why: impl Into<String>) -> Result<T, Denied> {
    Err(Denied(why.into()))
}

impl Caller {
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Public => None,
            Caller::User { role, .. } => Some(*role),
        }
    }

    /// The acting user as it goes into signed entries: `role:name`, or `public`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Public => "public".into(),
            Caller::User { name, role, .. } => format!("{role}:{name}"),
        }
    }

    fn police_covering(&self, topology: &Topology, district: &str) -> bool {
        matches!(self, Caller::User { role, area, .. } if role.is_police() && area.covers(topology, district))
    }

    /// Whether the caller sees the restricted part of an alert last seen in `district` (who reported it, the
    /// police notes): police whose area covers it, and the ministry.
    pub fn sees_alert_restricted(&self, topology: &Topology, district: &str) -> bool {
        self.police_covering(topology, district) || self.role() == Some(Role::Ministry)
    }

    /// Break-glass: whether the caller may ask for a time-limited view of a record of `district` outside their
    /// area. Police only: the public, institutions, register officers and auditors never see a record's
    /// restricted part, whatever reason they give. `Ok(false)` for those who see it already (police of the area,
    /// the ministry), who need no such view.
    pub fn may_break_glass(&self, topology: &Topology, district: &str) -> Result<bool, Denied> {
        match self {
            Caller::User { role, .. } if role.is_police() => {
                Ok(!self.police_covering(topology, district))
            }
            Caller::User {
                role: Role::Ministry,
                ..
            } => Ok(false),
            _ => deny(
                "break-glass access is for police officers; no reason opens a record's restricted part to another role",
            ),
        }
    }

    /// Listing break-glass uses: the police (those of the records' areas), the ministry and auditors (all).
    pub fn may_list_glass(&self) -> Result<(), Denied> {
        match self {
            Caller::User { role, .. }
                if role.is_police() || matches!(role, Role::Ministry | Role::Auditor) =>
            {
                Ok(())
            }
            _ => deny(
                "break-glass uses are for the police of the records' areas, the ministry and auditors",
            ),
        }
    }

    /// Whether the caller sees a break-glass use of a record of `district` made at node `at`: the record's own
    /// police (its DPO, RPO, IG and stations), the police over the node where it was used (the officer's own
    /// supervisors), the ministry and auditors.
    pub fn sees_glass_uses(&self, topology: &Topology, district: &str, at: &str) -> bool {
        let over_node = topology
            .node(at)
            .is_some_and(|n| match (&n.district, &n.province) {
                (Some(d), _) => self.police_covering(topology, d),
                (None, Some(p)) => {
                    matches!(self, Caller::User { role, area: Area::Province(mine), .. }
                if role.is_police() && mine == p)
                }
                _ => false,
            });
        self.police_covering(topology, district)
            || over_node
            || matches!(self.role(), Some(Role::Ministry | Role::Auditor))
    }

    /// Whether the caller sees cases of `district` at all (their category, place and timeline), and then their
    /// restricted part too: police whose area covers it, and the ministry. The public follows its own case by its
    /// tracking code only.
    pub fn sees_cases(&self, topology: &Topology, district: &str) -> bool {
        self.police_covering(topology, district) || self.role() == Some(Role::Ministry)
    }

    /// Whether the caller gets exact statistics over these districts: an official who sees the cases of every one
    /// of them. Everyone else gets the public figures, with small counts suppressed.
    pub fn sees_exact_figures<'a>(
        &self,
        topology: &Topology,
        mut districts: impl Iterator<Item = &'a str>,
    ) -> bool {
        *self != Caller::Public && districts.all(|d| self.sees_cases(topology, d))
    }

    /// Listing cases at all: those who see some district's cases (the police, over their area; the ministry).
    pub fn may_list_cases(&self) -> Result<(), Denied> {
        match self {
            Caller::User { role, .. } if role.is_police() || *role == Role::Ministry => Ok(()),
            _ => deny("cases are for the police of their area and the ministry"),
        }
    }

    /// Raising an alert: police anywhere (a child may be reported missing at any station), and the public through
    /// the portal. Others (the ministry, register officers, auditors) do not raise alerts.
    pub fn may_raise_alert(&self) -> Result<(), Denied> {
        match self {
            Caller::Public => Ok(()),
            Caller::User { role, .. } if role.is_police() => Ok(()),
            Caller::User { role, .. } => deny(format!("a {role} does not raise alerts")),
        }
    }

    /// The fields of an alert `draft` this caller may not fill, each with why: the public raises through the
    /// portal only (channel `citizen_portal`), and without police notes or a government office, which are for
    /// the police and an office's staff. Empty for the police, who raise on any channel.
    pub fn alert_draft_refusals(
        &self,
        draft: &hifazat_domain::AlertDraft,
    ) -> Vec<(&'static str, String)> {
        let mut refused = Vec::new();
        if *self != Caller::Public {
            return refused;
        }
        if draft.channel != hifazat_domain::Channel::CitizenPortal {
            refused.push((
                "channel",
                "the public raises alerts through the portal: `citizen_portal`".to_owned(),
            ));
        }
        if draft.police_notes.is_some() {
            refused.push(("police_notes", "is for the police; leave it out".to_owned()));
        }
        if draft.office.is_some() {
            refused.push((
                "office",
                "is for alerts raised at a government office, by its staff".to_owned(),
            ));
        }
        refused
    }

    /// Adding `event` to the timeline of an alert last seen in `district`. Only police roles validate or close,
    /// and only in their area; mobilising, FIRs and escalation belong to the area's police too. A sighting,
    /// recovery or reunion can happen anywhere, so any police officer may record it.
    pub fn may_add_alert_event(
        &self,
        topology: &Topology,
        district: &str,
        event: &EventKind,
    ) -> Result<(), Denied> {
        let Caller::User { role, area, .. } = self else {
            return deny("only police officials add timeline events; the public reports sightings");
        };
        if !role.is_police() {
            return deny(format!("a {role} does not work alerts"));
        }
        let anywhere = matches!(
            event,
            EventKind::Sighted | EventKind::Recovered | EventKind::Reunited
        );
        if anywhere || area.covers(topology, district) {
            Ok(())
        } else {
            deny(format!(
                "this alert was raised for {district}, outside your area ({area})"
            ))
        }
    }

    /// Filing a case in `district`: the public (anonymous allowed), and police whose area covers the district.
    pub fn may_file_case(&self, topology: &Topology, district: &str) -> Result<(), Denied> {
        match self {
            Caller::Public => Ok(()),
            Caller::User { role, area, .. } if role.is_police() => {
                if area.covers(topology, district) {
                    Ok(())
                } else {
                    deny(format!("{district} is outside your area ({area})"))
                }
            }
            Caller::User { role, .. } => deny(format!("a {role} does not file cases")),
        }
    }

    /// Adding an event to a case of `district`: police whose area covers it.
    pub fn may_add_case_event(&self, topology: &Topology, district: &str) -> Result<(), Denied> {
        match self {
            Caller::User { role, area, .. } if role.is_police() => {
                if area.covers(topology, district) {
                    Ok(())
                } else {
                    deny(format!(
                        "this case belongs to {district}, outside your area ({area})"
                    ))
                }
            }
            Caller::Public => deny("only police officials work cases"),
            Caller::User { role, .. } => deny(format!("a {role} does not work cases")),
        }
    }

    /// Reporting a found child in `district`, working the report (handing over, closing) and deciding its
    /// possible matches: police whose area covers the district, who see the child in person. Found children's
    /// reports are seen as the district's cases are (`sees_cases`).
    pub fn may_work_found(&self, topology: &Topology, district: &str) -> Result<(), Denied> {
        match self {
            Caller::User { role, area, .. } if role.is_police() => {
                if area.covers(topology, district) {
                    Ok(())
                } else {
                    deny(format!(
                        "found children of {district} are reported and worked by its police, outside your area ({area})"
                    ))
                }
            }
            Caller::Public => deny("found children are reported by the police; call 15 or 1099"),
            Caller::User { role, .. } => deny(format!("a {role} does not report found children")),
        }
    }

    /// Uploading a photo: for an alert, whoever may raise one (the public through the portal, the police); for a
    /// found child's report, the police.
    pub fn may_upload_photo(&self, for_found: bool) -> Result<(), Denied> {
        match self {
            Caller::User { role, .. } if role.is_police() => Ok(()),
            Caller::Public if !for_found => Ok(()),
            Caller::Public => deny("photos of found children are taken by the police"),
            Caller::User { role, .. } => deny(format!("a {role} does not upload photos")),
        }
    }

    /// Verifying a CNIC against the register: authorised institutions and register officers. The public verifies
    /// by SMS, under the guard's limits.
    pub fn may_verify(&self) -> Result<(), Denied> {
        match self {
            Caller::User {
                role: Role::Verifier | Role::RegisterOfficer,
                ..
            } => Ok(()),
            Caller::Public => deny(
                "verification over the API is for authorised institutions; the public texts the short code",
            ),
            Caller::User { role, .. } => deny(format!(
                "a {role} does not verify CNICs against the register"
            )),
        }
    }

    /// Keeping the register (entries, searches, consultations, alarms, notifications received): register officers.
    pub fn may_keep_register(&self) -> Result<(), Denied> {
        match self {
            Caller::User { role, .. } if *role == Role::RegisterOfficer => Ok(()),
            _ => deny("the register is kept by register officers only"),
        }
    }

    /// Notifying the register of an offender's change of name or address, travel or new conviction: the police.
    pub fn may_notify_register(&self) -> Result<(), Denied> {
        match self {
            Caller::User { role, .. } if role.is_police() => Ok(()),
            Caller::Public => deny("notifications to the register come from police officers"),
            Caller::User { role, .. } => deny(format!("a {role} does not notify the register")),
        }
    }

    /// Reading the node's SMS outbox (officials' notifications and replies to texts, with phone numbers): the
    /// DPO, RPO and IG, the ministry, and register officers.
    pub fn may_read_outbox(&self) -> Result<(), Denied> {
        match self {
            Caller::User {
                role: Role::Dpo | Role::Rpo | Role::Ig | Role::Ministry | Role::RegisterOfficer,
                ..
            } => Ok(()),
            Caller::Public => deny("the SMS outbox is for officials"),
            Caller::User { role, .. } => deny(format!("a {role} does not read the SMS outbox")),
        }
    }

    /// Reading logs' checkpoints and proofs (sizes and hashes, nothing of a record): any official.
    pub fn may_audit_logs(&self) -> Result<(), Denied> {
        match self {
            Caller::Public => deny("checkpoints and proofs are for officials"),
            Caller::User { .. } => Ok(()),
        }
    }

    /// Reading the register log's checkpoints and proofs at the federal node (how many changes the register has had;
    /// nothing of what they were): auditors and register officers.
    pub fn may_audit_register(&self) -> Result<(), Denied> {
        match self {
            Caller::User {
                role: Role::Auditor | Role::RegisterOfficer,
                ..
            } => Ok(()),
            _ => deny("the register log is audited by auditors and register officers only"),
        }
    }

    /// Reading a record's history (who changed it, when, signed by which node): auditors, and those who see the
    /// record's restricted part (for an alert last seen in `district`) or its district's cases.
    pub fn may_read_history(
        &self,
        topology: &Topology,
        district: &str,
        is_case: bool,
    ) -> Result<(), Denied> {
        let sees = if is_case {
            self.sees_cases(topology, district)
        } else {
            self.sees_alert_restricted(topology, district)
        };
        match self {
            Caller::Public => deny("a record's history is for officials"),
            _ if sees || self.role() == Some(Role::Auditor) => Ok(()),
            Caller::User { role, area, .. } => deny(format!(
                "a {role} of {area} does not see this record's history (district {district})"
            )),
        }
    }

    /// Reading the node's peers and sync state: any official.
    pub fn may_see_peers(&self) -> Result<(), Denied> {
        match self {
            Caller::Public => deny("the node's peers are for officials"),
            Caller::User { .. } => Ok(()),
        }
    }
}
