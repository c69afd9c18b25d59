//! Validation: the one way a draft becomes an intake. Each check names the field it refuses and why, and every
//! field is checked before any is refused, so a form shows all its errors at once.

use hifazat_limits as limits;

use crate::geo;
use crate::model::*;
use crate::validate::{self, Invalid};

pub(crate) fn place(
    invalid: &mut Invalid,
    field: &str,
    draft: &PlaceDraft,
    ctx: &Context<'_>,
) -> Option<Place> {
    let district = draft.district.trim().to_owned();
    let district_ok = if ctx.districts.contains(&district) {
        true
    } else {
        invalid.push(
            format!("{field}.district"),
            format!("`{district}` is not a district code in the topology"),
        );
        false
    };
    let coordinates = match geo::coordinates(draft.lat, draft.lon) {
        Ok(c) => Some(c),
        Err(reason) => {
            invalid.push(format!("{field}.lat"), reason);
            None
        }
    };
    let text = invalid.check(
        &format!("{field}.text"),
        validate::optional_text(&draft.text, limits::PLACE_TEXT_CHARS_MAX),
    );
    let (lat, lon) = coordinates?;
    if !district_ok {
        return None;
    }
    Some(Place {
        district,
        lat,
        lon,
        text: text?,
    })
}

/// Every checked field is `Some` once no error was recorded; this stands for the impossible other case, so
/// a broken validator reports an error rather than panicking.
fn lost() -> Invalid {
    Invalid::one("(internal)", "validation lost a field")
}

fn contact(invalid: &mut Invalid, field: &str, draft: &ContactDraft) -> Option<Contact> {
    let name = invalid.check(
        &format!("{field}.name"),
        validate::text(&draft.name, limits::NAME_CHARS_MAX),
    );
    let mobile = match draft
        .mobile
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => Some(None),
        Some(m) => invalid
            .check(&format!("{field}.mobile"), validate::mobile(m))
            .map(Some),
    };
    let cnic = match draft
        .cnic
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => Some(None),
        Some(c) => invalid
            .check(&format!("{field}.cnic"), validate::cnic(c))
            .map(Some),
    };
    Some(Contact {
        name: name?,
        mobile: mobile?,
        cnic: cnic?,
    })
}

fn media(invalid: &mut Invalid, draft: &MediaDraft, ctx: &Context<'_>) -> Option<MediaReport> {
    let outlet = invalid.check(
        "media.outlet",
        validate::text(&draft.outlet, limits::NAME_CHARS_MAX),
    );
    let published_on = invalid.check(
        "media.published_on",
        validate::past_day(&draft.published_on, ctx.now_ms),
    );
    let reference = invalid.check(
        "media.reference",
        validate::text(&draft.reference, limits::MEDIA_REFERENCE_CHARS_MAX),
    );
    Some(MediaReport {
        outlet: outlet?,
        published_on: published_on?,
        reference: reference?,
    })
}

/// Refuses the channel `media_report` where it does not belong: it is a channel for cases alone.
fn not_media(invalid: &mut Invalid, channel: Channel) {
    if channel == Channel::MediaReport {
        invalid.push(
            "channel",
            "`media_report` is for complaint cases found in the media, not for alerts or sightings",
        );
    }
}

fn optional(
    invalid: &mut Invalid,
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Option<Option<String>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Some(None),
        Some(v) => invalid.check(field, validate::text(v, max)).map(Some),
    }
}

/// Whether `v` is a photo's id as the node names photos: the SHA-256 of its clean bytes, 64 lower-case hex digits.
pub fn is_photo_id(v: &str) -> bool {
    v.len() == 64
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An optional photo id: absent, or a photo's id as uploaded to the node (`POST /api/v1/photos`).
fn photo_id(invalid: &mut Invalid, field: &str, value: &Option<String>) -> Option<Option<String>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Some(None),
        Some(v) if is_photo_id(v) => Some(Some(v.to_owned())),
        Some(_) => {
            invalid.push(
                field,
                "is a photo's id as the node gave it when the photo was uploaded (64 lower-case hexadecimal digits)",
            );
            None
        }
    }
}

impl AlertDraft {
    pub fn validate(&self, ctx: &Context<'_>) -> Result<AlertIntake, Invalid> {
        let mut invalid = Invalid::default();
        let child_name = invalid.check(
            "child_name",
            validate::text(&self.child_name, limits::NAME_CHARS_MAX),
        );
        if self.age_years > limits::CHILD_AGE_YEARS_MAX {
            invalid.push(
                "age_years",
                format!(
                    "is {}; a child alert is for children aged 0 to {} (file a case for adults)",
                    self.age_years,
                    limits::CHILD_AGE_YEARS_MAX
                ),
            );
        }
        let photo_ref = photo_id(&mut invalid, "photo_ref", &self.photo_ref);
        let description = invalid.check(
            "description",
            validate::text(&self.description, limits::DESCRIPTION_CHARS_MAX),
        );
        let last_seen = place(&mut invalid, "last_seen", &self.last_seen, ctx);
        let last_seen_at_ms = invalid.check(
            "last_seen_at_ms",
            validate::past_time(self.last_seen_at_ms, ctx.now_ms, CLOCK_SKEW_MS),
        );
        let reporter = contact(&mut invalid, "reporter", &self.reporter);
        if let Some(r) = &reporter
            && r.mobile.is_none()
            && self.channel != Channel::GovernmentOffice
        {
            invalid.push(
                "reporter.mobile",
                "is needed so the police can call the family back",
            );
        }
        let contact_line = match self
            .contact_line
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => Some("1099".to_owned()),
            Some(v) => invalid.check("contact_line", validate::text(v, 20)),
        };
        let office = optional(&mut invalid, "office", &self.office, limits::NAME_CHARS_MAX);
        if self.channel == Channel::GovernmentOffice && matches!(office, Some(None)) {
            invalid.push(
                "office",
                "names the government office where the alert was raised for the citizen",
            );
        }
        let police_notes = optional(
            &mut invalid,
            "police_notes",
            &self.police_notes,
            limits::NOTE_CHARS_MAX,
        );
        not_media(&mut invalid, self.channel);
        invalid.into_result()?;
        Ok(AlertIntake {
            public: AlertPublic {
                child_name: child_name.ok_or_else(lost)?,
                age_years: self.age_years,
                sex: self.sex,
                photo_ref: photo_ref.ok_or_else(lost)?,
                description: description.ok_or_else(lost)?,
                last_seen: last_seen.ok_or_else(lost)?,
                last_seen_at_ms: last_seen_at_ms.ok_or_else(lost)?,
                contact_line: contact_line.ok_or_else(lost)?,
                channel: self.channel,
            },
            restricted: AlertRestricted {
                reporter: reporter.ok_or_else(lost)?,
                office: office.ok_or_else(lost)?,
                police_notes: police_notes.ok_or_else(lost)?,
            },
        })
    }
}

impl SightingDraft {
    pub fn validate(&self, ctx: &Context<'_>) -> Result<Sighting, Invalid> {
        let mut invalid = Invalid::default();
        let seen_at_ms = invalid.check(
            "seen_at_ms",
            validate::past_time(self.seen_at_ms, ctx.now_ms, CLOCK_SKEW_MS),
        );
        let place = match &self.place {
            None => Some(None),
            Some(p) => place(&mut invalid, "place", p, ctx).map(Some),
        };
        let description = invalid.check(
            "description",
            validate::text(&self.description, limits::DESCRIPTION_CHARS_MAX),
        );
        let reporter = match &self.reporter {
            None => Some(None),
            Some(r) => contact(&mut invalid, "reporter", r).map(Some),
        };
        not_media(&mut invalid, self.channel);
        invalid.into_result()?;
        Ok(Sighting {
            seen_at_ms: seen_at_ms.ok_or_else(lost)?,
            place: place.ok_or_else(lost)?,
            description: description.ok_or_else(lost)?,
            reporter: reporter.ok_or_else(lost)?,
            channel: self.channel,
        })
    }
}

impl CaseDraft {
    /// `tracking_random` supplies the case's tracking code, drawn by the caller.
    pub fn validate(
        &self,
        ctx: &Context<'_>,
        tracking_random: [u8; TRACKING_RANDOM_BYTES],
    ) -> Result<CaseIntake, Invalid> {
        let mut invalid = Invalid::default();
        let district = self.district.trim().to_owned();
        if !ctx.districts.contains(&district) {
            invalid.push(
                "district",
                format!("`{district}` is not a district code in the topology"),
            );
        }
        let place = match &self.place {
            None => Some(None),
            Some(p) => place(&mut invalid, "place", p, ctx).map(Some),
        };
        if let Some(Some(p)) = &place
            && p.district != district
        {
            invalid.push("place.district", "must be the case's own district");
        }
        let description = invalid.check(
            "description",
            validate::text(&self.description, limits::DESCRIPTION_CHARS_MAX),
        );
        if let Some(age) = self.victim_age_years
            && age > 120
        {
            invalid.push("victim_age_years", format!("{age} is not a plausible age"));
        }
        let complainant = match &self.complainant {
            None => Some(None),
            Some(c) => contact(&mut invalid, "complainant", c).map(Some),
        };
        let media = match (&self.media, self.channel == Channel::MediaReport) {
            (Some(m), true) => media(&mut invalid, m, ctx).map(Some),
            (None, false) => Some(None),
            (None, true) => {
                invalid.push(
                    "media",
                    "is needed for a media report: the outlet, the day and the link or reference",
                );
                None
            }
            (Some(_), false) => {
                invalid.push("media", "is only for the channel `media_report`");
                None
            }
        };
        invalid.into_result()?;
        Ok(CaseIntake {
            category: self.category,
            district,
            place: place.ok_or_else(lost)?,
            description: description.ok_or_else(lost)?,
            channel: self.channel,
            victim_age_years: self.victim_age_years,
            complainant: complainant.ok_or_else(lost)?,
            tracking_code: TrackingCode::from_random(tracking_random),
            media: media.ok_or_else(lost)?,
        })
    }
}
