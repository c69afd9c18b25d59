//! What the API's checks enforce, stated in the OpenAPI document, so a client generated from it sends requests
//! the node takes: the lengths and character rules of texts, number ranges, code patterns, the channels and the
//! event types each request may use. Applied to the document as the types make it, from the constants the checks
//! themselves use (`hifazat-limits`, the domain's validators), so the two cannot drift apart; a field named here
//! that the document lacks panics when the document is first built, which every test of the API does.
//!
//! What no schema can say is left to the descriptions and to 422 answers: a place's coordinates inside Pakistan's
//! outline (the document states its bounding box), a time not in the future, a day that exists, and the rules
//! between fields (a reporter's mobile number unless the alert was raised at a government office; a media report's
//! `media`).

use hifazat_domain::validate::YEAR_2000_MS;
use hifazat_domain::{EventKind, RecordKind, geo};
use hifazat_limits as limits;
use serde_json::{Value, json};

use crate::alerts::EventBody;

/// A text of 1 to `maxLength` characters once trimmed, with no control characters other than newlines and tabs
/// (`validate::text`).
const TEXT: &str =
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";
/// Like [`TEXT`], but empty (or blank) is allowed and means "not given" (`validate::optional_text`).
const OPTIONAL_TEXT: &str = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";
/// A Pakistani mobile number (`validate::mobile`), or empty for none.
const MOBILE: &str = r"^((\+92|0092|92|0)3[0-5][0-9]{8})?$";
/// A CNIC, plain or with its dashes (`validate::cnic`), or empty for none.
const CNIC: &str = r"^([1-9][0-9]{12}|[1-9][0-9]{4}-[0-9]{7}-[0-9])?$";
/// A CNIC that must be given.
const CNIC_REQUIRED: &str = r"^([1-9][0-9]{12}|[1-9][0-9]{4}-[0-9]{7}-[0-9])$";
/// A calendar date of the register, `YYYY-MM-DD`, 1900 to 2199 (`offender::date`; the day must exist).
const DATE: &str = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// A photo's id as the node gave it (`is_photo_id`).
const PHOTO: &str = r"^[0-9a-f]{64}$";
/// A day, `YYYY-MM-DD`, from 2000 (`validate::past_day`; not in the future).
const DAY: &str = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// One field's rule.
enum Rule {
    /// A required text of at most this many characters.
    Text(usize),
    /// An optional text of at most this many characters.
    OptionalText(usize),
    Pattern(&'static str),
    /// An integer from..=to.
    Range(u64, u64),
    /// A number from..=to.
    Between(f64, f64),
    /// A time in milliseconds since the Unix epoch, from 2000 and not in the future.
    Time,
}

/// Every constrained field of the request bodies: (schema, field, rule).
fn rules() -> Vec<(&'static str, &'static str, Rule)> {
    use Rule::*;
    let (south, north, west, east) = geo::bounds();
    let age = u64::from(limits::CHILD_AGE_YEARS_MAX);
    vec![
        ("AlertDraft", "child_name", Text(limits::NAME_CHARS_MAX)),
        ("AlertDraft", "age_years", Range(0, age)),
        ("AlertDraft", "photo_ref", Pattern(PHOTO)),
        (
            "AlertDraft",
            "description",
            Text(limits::DESCRIPTION_CHARS_MAX),
        ),
        ("AlertDraft", "last_seen_at_ms", Time),
        ("AlertDraft", "contact_line", OptionalText(20)),
        ("AlertDraft", "office", OptionalText(limits::NAME_CHARS_MAX)),
        (
            "AlertDraft",
            "police_notes",
            OptionalText(limits::NOTE_CHARS_MAX),
        ),
        ("PlaceDraft", "lat", Between(south, north)),
        ("PlaceDraft", "lon", Between(west, east)),
        (
            "PlaceDraft",
            "text",
            OptionalText(limits::PLACE_TEXT_CHARS_MAX),
        ),
        ("ContactDraft", "name", Text(limits::NAME_CHARS_MAX)),
        ("ContactDraft", "mobile", Pattern(MOBILE)),
        ("ContactDraft", "cnic", Pattern(CNIC)),
        ("SightingDraft", "seen_at_ms", Time),
        (
            "SightingDraft",
            "description",
            Text(limits::DESCRIPTION_CHARS_MAX),
        ),
        (
            "CaseDraft",
            "description",
            Text(limits::DESCRIPTION_CHARS_MAX),
        ),
        ("CaseDraft", "victim_age_years", Range(0, 120)),
        ("MediaDraft", "outlet", Text(limits::NAME_CHARS_MAX)),
        ("MediaDraft", "published_on", Pattern(DAY)),
        (
            "MediaDraft",
            "reference",
            Text(limits::MEDIA_REFERENCE_CHARS_MAX),
        ),
        ("FoundDraft", "found_at_ms", Time),
        ("FoundDraft", "apparent_age_years", Range(0, age)),
        (
            "FoundDraft",
            "description",
            Text(limits::DESCRIPTION_CHARS_MAX),
        ),
        ("FoundDraft", "care_name", Text(limits::NAME_CHARS_MAX)),
        (
            "FoundDraft",
            "police_notes",
            OptionalText(limits::NOTE_CHARS_MAX),
        ),
        ("MessageBody", "text", Text(limits::MESSAGE_CHARS_MAX)),
        (
            "MatchDecision",
            "note",
            OptionalText(limits::NOTE_CHARS_MAX),
        ),
        ("FoundStep", "note", OptionalText(limits::NOTE_CHARS_MAX)),
        ("CnicBody", "cnic", Pattern(CNIC_REQUIRED)),
        ("NoticeDraft", "cnic", Pattern(CNIC_REQUIRED)),
        ("OffenderDraft", "cnic", Pattern(CNIC_REQUIRED)),
        (
            "OffenderDraft",
            "name",
            Text(limits::REGISTER_NAME_CHARS_MAX),
        ),
        (
            "OffenderDraft",
            "photo_ref",
            Text(limits::REGISTER_TEXT_CHARS_MAX),
        ),
        ("Parentage", "name", Text(limits::REGISTER_NAME_CHARS_MAX)),
        (
            "Conviction",
            "offence",
            Text(limits::REGISTER_TEXT_CHARS_MAX),
        ),
        ("Conviction", "court", Text(limits::REGISTER_TEXT_CHARS_MAX)),
        ("Conviction", "date", Pattern(DATE)),
        (
            "Conviction",
            "sentence",
            Text(limits::REGISTER_TEXT_CHARS_MAX),
        ),
        (
            "AddressDraft",
            "address",
            Text(limits::REGISTER_TEXT_CHARS_MAX),
        ),
        ("AddressDraft", "since", Pattern(DATE)),
        ("GlassDraft", "reason", Text(limits::GLASS_REASON_CHARS_MAX)),
        (
            "GlassDraft",
            "minutes",
            Range(1, u64::from(limits::GLASS_MINUTES_MAX)),
        ),
    ]
}

/// The document's field `field` of schema `schema`.
fn field<'d>(
    doc: &'d mut Value,
    schema: &str,
    field: &str,
) -> &'d mut serde_json::Map<String, Value> {
    doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("the OpenAPI document has no field {schema}.{field}"))
}

fn apply(target: &mut serde_json::Map<String, Value>, rule: &Rule) {
    let mut set = |k: &str, v: Value| {
        target.insert(k.to_owned(), v);
    };
    match *rule {
        Rule::Text(max) => {
            set("minLength", json!(1));
            set("maxLength", json!(max));
            set("pattern", json!(TEXT));
        }
        Rule::OptionalText(max) => {
            set("maxLength", json!(max));
            set("pattern", json!(OPTIONAL_TEXT));
        }
        Rule::Pattern(p) => set("pattern", json!(p)),
        Rule::Range(from, to) => {
            set("minimum", json!(from));
            set("maximum", json!(to));
        }
        Rule::Between(from, to) => {
            set("minimum", json!(from));
            set("maximum", json!(to));
        }
        Rule::Time => {
            set("minimum", json!(YEAR_2000_MS));
            let said = target
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d} "))
                .unwrap_or_default();
            target.insert(
                "description".into(),
                json!(format!(
                    "{said}Milliseconds since the Unix epoch, from 2000 and not in the future."
                )),
            );
        }
    }
}

/// The event types an official may post on a record of `kind`: every type that belongs on it and that
/// [`EventBody::check`] lets through (the others are written by nodes, or through their own addresses).
pub(crate) fn writable(kind: RecordKind) -> Vec<String> {
    EventKind::one_of_each()
        .into_iter()
        .filter(|k| k.allowed_for(kind))
        .filter(|k| {
            EventBody {
                kind: k.clone(),
                note: None,
            }
            .check()
            .is_ok()
        })
        .filter_map(|k| {
            serde_json::to_value(&k).ok()?["type"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// States the rules in `doc` (the document as the types make it).
pub(crate) fn state(doc: &mut Value) {
    for (schema, name, rule) in rules() {
        apply(field(doc, schema, name), &rule);
    }
    // A break-glass reason says enough to weigh.
    field(doc, "GlassDraft", "reason")
        .insert("minLength".into(), json!(limits::GLASS_REASON_CHARS_MIN));
    // A found child's photos: ids, at most so many.
    let photos = field(doc, "FoundDraft", "photos");
    photos.insert("maxItems".into(), json!(limits::FOUND_PHOTOS_MAX));
    photos.insert("items".into(), json!({"type": "string", "pattern": PHOTO}));

    // A new register entry's aliases and convictions.
    let aliases = field(doc, "OffenderDraft", "aliases");
    aliases.insert("maxItems".into(), json!(limits::REGISTER_ALIASES_MAX));
    let mut alias = serde_json::Map::new();
    alias.insert("type".into(), json!("string"));
    apply(&mut alias, &Rule::Text(limits::REGISTER_NAME_CHARS_MAX));
    aliases.insert("items".into(), Value::Object(alias));
    let convictions = field(doc, "OffenderDraft", "convictions");
    convictions.insert("minItems".into(), json!(1));
    convictions.insert(
        "maxItems".into(),
        json!(limits::REGISTER_DRAFT_CONVICTIONS_MAX),
    );
    // A change to an entry: each kind's fields, and no others.
    let changes = doc
        .pointer_mut("/components/schemas/Update/oneOf")
        .and_then(Value::as_array_mut)
        .expect("Update is one of its kinds");
    for change in changes {
        let Some(props) = change["properties"].as_object_mut() else {
            continue; // `convict`: a conviction (constrained above) and its `change`
        };
        for (name, target) in props.iter_mut() {
            let rule = match name.as_str() {
                "name" | "alias" => Rule::Text(limits::REGISTER_NAME_CHARS_MAX),
                "address" | "destination" | "photo_ref" => {
                    Rule::Text(limits::REGISTER_TEXT_CHARS_MAX)
                }
                "since" | "depart" | "back" => Rule::Pattern(DATE),
                _ => continue,
            };
            if let Some(target) = target.as_object_mut() {
                apply(target, &rule);
            }
        }
        change["additionalProperties"] = json!(false);
    }

    // Alerts and sightings come by any channel but `media_report`, which is for cases.
    let mut channel = doc["components"]["schemas"]["Channel"].clone();
    if let Some(values) = channel["enum"].as_array_mut() {
        values.retain(|v| v != "media_report");
    }
    channel["description"] =
        json!("How an alert or a sighting reached the system: any channel but `media_report`.");
    doc["components"]["schemas"]["AlertChannel"] = channel;
    for schema in ["AlertDraft", "SightingDraft"] {
        let target = field(doc, schema, "channel");
        target.insert("$ref".into(), json!("#/components/schemas/AlertChannel"));
    }

    // The events officials post, one body for alerts and one for cases, each with only the types it takes.
    let kinds = doc["components"]["schemas"]["EventKind"]["oneOf"]
        .as_array()
        .cloned()
        .expect("EventKind is one of its types");
    for (name, kind, path) in [
        (
            "AlertEventBody",
            RecordKind::Alert,
            "/api/v1/alerts/{id}/events",
        ),
        (
            "CaseEventBody",
            RecordKind::Case,
            "/api/v1/cases/{id}/events",
        ),
    ] {
        let writable = writable(kind);
        let mut types: Vec<Value> = kinds
            .iter()
            .filter(|t| {
                t.pointer("/properties/type/enum/0")
                    .and_then(Value::as_str)
                    .is_some_and(|n| writable.iter().any(|w| w == n))
            })
            .cloned()
            .collect();
        assert_eq!(
            types.len(),
            writable.len(),
            "every writable type is in EventKind"
        );
        for t in &mut types {
            if let Some(fir) = t
                .pointer_mut("/properties/fir_number")
                .and_then(Value::as_object_mut)
            {
                apply(fir, &Rule::Text(limits::FIR_NUMBER_CHARS_MAX));
            }
        }
        doc["components"]["schemas"][name] = json!({
            "description": format!(
                "An event an official posts on {}: its type and fields, and an optional note.",
                if kind == RecordKind::Alert { "an alert" } else { "a case" }
            ),
            "allOf": [
                {"oneOf": types},
                {"type": "object", "properties": {"note": {
                    "type": ["string", "null"],
                    "maxLength": limits::NOTE_CHARS_MAX,
                    "pattern": OPTIONAL_TEXT,
                }}},
            ],
        });
        let body = doc
            .pointer_mut(&format!(
                "/paths/{}/post/requestBody/content/application~1json/schema",
                path.replace('/', "~1")
            ))
            .unwrap_or_else(|| panic!("the OpenAPI document has no body for POST {path}"));
        *body = json!({"$ref": format!("#/components/schemas/{name}")});
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.remove("EventBody");
    }
}

/// States, in the document a node serves, the districts the node files cases and found children for (its
/// line): the `district` of a case, and the place of a case or a found child (`LinePlaceDraft`).
pub(crate) fn line(doc: &mut Value, districts: Value) {
    let mut place = doc["components"]["schemas"]["PlaceDraft"].clone();
    place["properties"]["district"]["enum"] = districts.clone();
    place["description"] = json!(
        "A place in a district this node files cases and found children for (its own, its province's, or any at the federal node)."
    );
    doc["components"]["schemas"]["LinePlaceDraft"] = place;
    field(doc, "CaseDraft", "district").insert("enum".into(), districts);
    for schema in ["CaseDraft", "FoundDraft"] {
        let text = doc["components"]["schemas"][schema].to_string().replace(
            "\"#/components/schemas/PlaceDraft\"",
            "\"#/components/schemas/LinePlaceDraft\"",
        );
        doc["components"]["schemas"][schema] =
            serde_json::from_str(&text).expect("the schema reads back");
    }
}
