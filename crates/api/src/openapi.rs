//! The OpenAPI 3.1 document of the API (`GET /api/v1/openapi.json`), derived from the handlers' annotations and
//! the types they read and write, so it cannot drift from the code. A test drives every operation in it.

mod constraints;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use hifazat_domain::{AlertStage, CaseStage, FoundStage, RecordKind};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::{alerts, audit, cap, cases, found, glass, live, metrics, peers, register, sms, stats};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hifazat node API",
        description = "The local API of one Hifazat node: missing-child alerts, sightings, complaint cases, \
            tracking, statistics, live changes and the register. Send an official's token as `Authorization: Bearer <token>`; \
            without one you are the public. Errors are JSON: `error`, and for invalid input `fields`, each with \
            the field and the reason."
    ),
    paths(
        crate::healthz,
        alerts::raise,
        alerts::list,
        alerts::get,
        alerts::by_code,
        alerts::add_event,
        alerts::add_sighting,
        glass::alert,
        glass::case,
        glass::list,
        cap::alert,
        cap::feed,
        cases::file,
        cases::list,
        cases::get,
        cases::add_event,
        cases::track,
        cases::complainant_message,
        cases::police_message,
        cases::renew_code,
        found::upload,
        found::photo,
        found::report,
        found::list,
        found::get,
        found::found_photo,
        found::add_event,
        found::decide,
        stats::stats,
        stats::trends,
        live::events,
        live::track_events,
        register::verify,
        register::create,
        register::list,
        register::get,
        register::update,
        register::search,
        register::consultations,
        register::alarms,
        register::notices,
        register::notify,
        sms::outbox,
        sms::incoming,
        sms::report,
        peers::peers,
        audit::logs,
        audit::checkpoint,
        audit::inclusion,
        audit::consistency,
        audit::history,
        audit::evidence,
        document,
        metrics::metrics,
    ),
    // Types named only by query parameters and by the error responses.
    components(schemas(AlertStage, CaseStage, FoundStage, RecordKind, ErrorBody)),
    modifiers(&BearerToken),
    security((), ("bearer" = [])),
    tags(
        (name = "alerts", description = "Missing-child alerts and sightings"),
        (name = "cases", description = "Complaint cases and tracking by code"),
        (name = "break-glass", description = "A police officer's time-limited, logged view of a record outside their area"),
        (name = "photos", description = "Photos: uploaded, cleaned of metadata, named by their hash; alerts' photos \
            travel with the alerts, found children's stay where they were taken"),
        (name = "found", description = "Found children's reports and their possible matches with alerts, which an \
            officer confirms in person or rules out"),
        (name = "statistics", description = "Counts and medians"),
        (name = "live", description = "Changes as they happen"),
        (name = "register", description = "The sex-offender register (federal node): verification, entries, \
            consultations, alarms; notifications from the police of any node"),
        (name = "sms", description = "The node's SMS outbox, and the addresses its SMS gateway calls"),
        (name = "node", description = "The node itself"),
        (name = "audit", description = "Logs' Merkle trees, signed checkpoints, inclusion and consistency proofs, \
            records' histories"),
    )
)]
pub(crate) struct Doc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `hifazat user add`: `hz_` and 64 hex digits",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, made once.
pub(crate) fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc =
            serde_json::to_value(Doc::openapi()).expect("the OpenAPI document serialises");
        constraints::state(&mut doc);
        serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises")
    })
}

/// The document as this node serves it: [`json`] with the topology's codes as the only values of every place a
/// request names (the `district`, `region` and `province` parameters, and the `district` of places), so a client
/// generated from it sends codes the node knows; and a case's or a found child's district among those on the
/// node's line (`on_line`), where alone it files them.
pub(crate) fn for_topology(
    topology: &hifazat_topology::Topology,
    on_line: impl Fn(&str) -> bool,
) -> String {
    let mut doc: serde_json::Value =
        serde_json::from_str(json()).expect("the OpenAPI document reads back");
    let codes = |list: Vec<&String>| -> serde_json::Value {
        let mut list: Vec<&String> = list;
        list.sort();
        list.dedup();
        serde_json::Value::from(list.into_iter().cloned().collect::<Vec<String>>())
    };
    let districts = codes(topology.districts.iter().map(|d| &d.code).collect());
    let regions = codes(topology.regions.iter().map(|r| &r.code).collect());
    let provinces = codes(topology.provinces.iter().map(|p| &p.code).collect());
    let of = |name: &str| match name {
        "district" => Some(districts.clone()),
        "region" => Some(regions.clone()),
        "province" => Some(provinces.clone()),
        _ => None,
    };
    if let Some(paths) = doc["paths"].as_object_mut() {
        for op in paths.values_mut().filter_map(|p| p.as_object_mut()) {
            // `get_mut`, not indexing: indexing a missing key would add it as null.
            let lists = op
                .values_mut()
                .filter_map(|o| o.get_mut("parameters").and_then(|p| p.as_array_mut()));
            for params in lists {
                for param in params {
                    if param["in"] == "query"
                        && let Some(values) = param["name"].as_str().and_then(of)
                    {
                        param["schema"]["enum"] = values;
                    }
                }
            }
        }
    }
    for pointer in [
        "/components/schemas/PlaceDraft/properties/district",
        "/components/schemas/AddressDraft/properties/district",
    ] {
        if let Some(field) = doc.pointer_mut(pointer).filter(|f| f.is_object()) {
            field["enum"] = districts.clone();
        }
    }
    if let Some(kinds) = doc
        .pointer_mut("/components/schemas/Update/oneOf")
        .and_then(|k| k.as_array_mut())
    {
        for kind in kinds {
            if let Some(field) = kind.pointer_mut("/properties/district") {
                field["enum"] = districts.clone();
            }
        }
    }
    let line = codes(
        topology
            .districts
            .iter()
            .map(|d| &d.code)
            .filter(|d| on_line(d))
            .collect(),
    );
    constraints::line(&mut doc, line);
    serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises")
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "node",
    responses((status = 200, description = "This document", body = Object)))]
pub(crate) async fn document(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.document.as_str().to_owned(),
    )
}
