//! The router without a socket: routes, status codes, error bodies, and who may see and do what.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_statuses() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let good = alert("Zara", "PB-LHR", "police_station");
        let (status, body) = n
            .call(
                "dpo",
                "GET",
                &format!("/api/v1/alerts/{}", "0".repeat(32)),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = n.call("dpo", "GET", "/api/v1/alerts/not-an-id", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "id");
        let (status, body) = n.call("dpo", "POST", "/api/v1/alerts", "{not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", r#"{"child_name":"x"}"#)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"].as_str().unwrap().contains("missing field"),
            "{body}"
        );
        let bad = good
            .replace("\"PB-LHR\"", "\"SD-NOPE\"")
            .replace("+923451234567", "12");
        let (status, body) = n.call("dpo", "POST", "/api/v1/alerts", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["last_seen.district", "reporter.mobile"]);
        let huge = format!("{{\"child_name\":\"{}\"}}", "x".repeat(300 * 1024));
        let (status, _) = n.call("dpo", "POST", "/api/v1/alerts", &huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, _) = n.call("public", "GET", "/nowhere", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = n.call("public", "GET", "/healthz", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        // Credentials: malformed or unknown tokens are refused, never taken as the public.
        let request = |auth: &str| {
            Request::builder()
                .uri("/api/v1/alerts")
                .header("authorization", auth)
                .body(Body::empty())
                .unwrap()
        };
        for auth in [
            "Basic abc",
            "Bearer nonsense",
            &format!("Bearer hz_{}", "0".repeat(64)),
        ] {
            let response = n.router.clone().oneshot(request(auth)).await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth}");
        }
        // Lists: filters are checked.
        for (query, field) in [
            ("district=XX-NO", "district"),
            ("region=NOPE", "region"),
            ("province=ZZ", "province"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("before=zz", "id"),
        ] {
            let (status, body) = n
                .call("public", "GET", &format!("/api/v1/alerts?{query}"), "")
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
            assert_eq!(body["fields"][0]["field"], field, "{query}: {body}");
        }
        let (status, _) = n
            .call("public", "GET", "/api/v1/alerts?status=lost", "")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = n
            .call("public", "GET", "/api/v1/alerts?colour=red", "")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let long = "x".repeat(101);
        let (status, body) = n
            .call("public", "GET", &format!("/api/v1/alerts?text={long}"), "")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "text");
        // A node without a signed topology runs no network, and says so.
        let (status, body) = n.call("dpo", "GET", "/api/v1/peers", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("no signed topology"),
            "{body}"
        );
        let (status, _) = n.call("public", "GET", "/api/v1/peers", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_raised_worked_listed_and_shown_by_role() {
    within(async {
        let n = node("lahore", (1000, 1000));
        // The public raises through the portal only, and without police fields.
        let (status, body) = n
            .call(
                "public",
                "POST",
                "/api/v1/alerts",
                &alert("Zara", "PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], "channel");
        let noted = alert("Zara", "PB-LHR", "citizen_portal")
            .replace("\"channel\"", "\"police_notes\":\"x\",\"channel\"");
        let (status, body) = n.call("public", "POST", "/api/v1/alerts", &noted).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "police_notes");
        let (status, body) = n
            .call(
                "public",
                "POST",
                "/api/v1/alerts",
                &alert("Zara", "PB-LHR", "citizen_portal"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let zara = body["id"].as_str().unwrap().to_owned();
        let (status, body) = n
            .call(
                "station_officer",
                "POST",
                "/api/v1/alerts",
                &alert("Bilal", "SD-KHS", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let bilal = body["id"].as_str().unwrap().to_owned();
        let (status, _) = n
            .call(
                "ministry",
                "POST",
                "/api/v1/alerts",
                &alert("X", "PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The public sees the public part; the district's police see the rest.
        let (status, body) = n
            .call("public", "GET", &format!("/api/v1/alerts/{zara}"), "")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["public"]["child_name"], "Zara");
        assert!(body.get("restricted").is_none(), "{body}");
        assert!(body["timeline"][0].get("by").is_none(), "{body}");
        assert!(!body.to_string().contains("+923451234567"), "{body}");
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{zara}"), "")
            .await;
        assert_eq!(
            body["restricted"]["reporter"]["mobile"], "+923451234567",
            "{body}"
        );
        assert_eq!(body["timeline"][0]["by"], "public");
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{bilal}"), "")
            .await;
        assert!(
            body.get("restricted").is_none(),
            "Karachi's alert is outside the Lahore DPO's area: {body}"
        );

        // Timeline events by role.
        let validate = r#"{"type":"validated","note":"called the family"}"#;
        let (status, _) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                validate,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = n
            .call(
                "ministry",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                validate,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{bilal}/events"),
                validate,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("outside your area")
        );
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                validate,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["by"], "dpo:dpo");
        assert_eq!(body["node"], "lahore");
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                r#"{"type":"raised"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "type");
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                r#"{"type":"fast_tracked"}"#,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "fast-tracking is for cases: {body}"
        );
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                r#"{"type":"escalated","level":9}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "level");
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{zara}/events"),
                r#"{"type":"launched"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // A recovery can be recorded by police anywhere.
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{bilal}/events"),
                r#"{"type":"recovered"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // Sightings: anyone, anonymous allowed; their details only for the area's police.
        let tip = format!(
            r#"{{"seen_at_ms":{},"description":"near the shrine","channel":"citizen_portal"}}"#,
            now_ms() - 1000
        );
        let (status, body) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/alerts/{zara}/sightings"),
                &tip,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["sightings"], 1);
        let (status, body) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/alerts/{zara}/sightings"),
                r#"{"description":"x"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, body) = n
            .call("public", "GET", &format!("/api/v1/alerts/{zara}"), "")
            .await;
        assert_eq!(body["sightings"], 1);
        assert!(body.get("sighting_reports").is_none());
        assert_eq!(body["status"]["stage"], "validated");
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{zara}"), "")
            .await;
        assert_eq!(
            body["sighting_reports"][0]["description"],
            "near the shrine"
        );

        // Lists: newest first, filters, pages.
        let (status, body) = n.call("public", "GET", "/api/v1/alerts", "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let names: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["child_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Bilal", "Zara"]);
        assert!(
            !body.to_string().contains("+923451234567"),
            "lists are public: {body}"
        );
        let (_, body) = n
            .call("public", "GET", "/api/v1/alerts?status=validated", "")
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        assert_eq!(body["items"][0]["id"], zara);
        let (_, body) = n
            .call("public", "GET", "/api/v1/alerts?province=SD", "")
            .await;
        assert_eq!(body["items"][0]["id"], bilal);
        let (_, body) = n
            .call(
                "public",
                "GET",
                "/api/v1/alerts?region=PB-LAHORE&text=ANARKALI",
                "",
            )
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        let (_, body) = n
            .call("public", "GET", "/api/v1/alerts?text=nobody", "")
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 0);
        let (_, body) = n
            .call(
                "public",
                "GET",
                &format!("/api/v1/alerts?since={}", now_ms() + 60_000),
                "",
            )
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 0);
        let (_, first) = n.call("public", "GET", "/api/v1/alerts?limit=1", "").await;
        assert_eq!(first["items"][0]["id"], bilal);
        let next = first["next"].as_str().unwrap();
        let (_, second) = n
            .call(
                "public",
                "GET",
                &format!("/api/v1/alerts?limit=1&before={next}"),
                "",
            )
            .await;
        assert_eq!(second["items"][0]["id"], zara);
        let (_, third) = n
            .call(
                "public",
                "GET",
                &format!("/api/v1/alerts?limit=1&before={zara}"),
                "",
            )
            .await;
        assert_eq!(third["items"].as_array().unwrap().len(), 0);
        assert!(third["next"].is_null());

        // Entries name their acting users.
        let stats = n.engine.stats().await.unwrap();
        assert_eq!(stats.local_writes, 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_filed_worked_and_tracked() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, body) = n
            .call(
                "public",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "channel");
        let (status, body) = n
            .call("public", "POST", "/api/v1/cases", &case("PB-LHR", "app"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let code = body["tracking_code"].as_str().unwrap().to_owned();
        assert!(code.starts_with("HZ-"), "{code}");
        let (status, body) = n
            .call(
                "station_officer",
                "POST",
                "/api/v1/cases",
                &case("SD-KHS", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _) = n
            .call(
                "ministry",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Filed on the public's behalf, with the complainant's identity.
        let named = case("PB-LHR", "police_station").replace(
            "\"channel\"",
            r#""complainant":{"name":"Sana","mobile":"03001234567"},"channel""#,
        );
        let (status, body) = n
            .call("station_officer", "POST", "/api/v1/cases", &named)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let named_id = body["id"].as_str().unwrap().to_owned();

        // Reading: the police of the area and the ministry; not the public or an auditor.
        let (status, _) = n
            .call("public", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = n
            .call("auditor", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for who in ["station_officer", "dpo", "rpo", "ig", "ministry"] {
            let (status, body) = n
                .call(who, "GET", &format!("/api/v1/cases/{named_id}"), "")
                .await;
            assert_eq!(status, StatusCode::OK, "{who}: {body}");
            assert_eq!(body["complainant"]["name"], "Sana", "{who}");
            assert_eq!(body["anonymous"], false);
        }
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(body["anonymous"], true);
        assert!(
            body["complainant"].is_null(),
            "an anonymous complaint keeps no identity: {body}"
        );
        let (status, body) = n
            .call("dpo", "GET", "/api/v1/cases?category=harassment", "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 2);
        assert!(
            !body.to_string().contains("Sana"),
            "case lists carry no identities: {body}"
        );
        let (status, _) = n.call("auditor", "GET", "/api/v1/cases", "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = n.call("public", "GET", "/api/v1/cases", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Work: an FIR, then reconciliation.
        let fir = r#"{"type":"fir_registered","fir_number":"LHR-123/26"}"#;
        let (status, _) = n
            .call(
                "ministry",
                "POST",
                &format!("/api/v1/cases/{id}/events"),
                fir,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = n
            .call("dpo", "POST", &format!("/api/v1/cases/{id}/events"), fir)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/cases/{id}/events"),
                r#"{"type":"validated"}"#,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation is for alerts"
        );
        let (_, body) = n
            .call("dpo", "GET", "/api/v1/cases?status=under_investigation", "")
            .await;
        assert_eq!(body["items"][0]["id"], id);

        // Tracking: the code holder sees how it stands, and no one's identity.
        let (status, body) = n
            .call(
                "public",
                "GET",
                &format!("/api/v1/track/{}", code.to_lowercase()),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"]["stage"], "under_investigation");
        assert_eq!(body["status"]["fir_registered"], true);
        let text = body.to_string();
        for hidden in ["LHR-123/26", "dpo", "Followed from school"] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
        let (status, body) = n
            .call("public", "GET", "/api/v1/track/HZ-0000-0000", "")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = n.call("public", "GET", "/api/v1/track/nonsense", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "code");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_is_rate_limited_and_officials_are_not() {
    within(async {
        let n = node("lahore", (2, 1));
        for _ in 0..2 {
            let (status, _) = n
                .call(
                    "public",
                    "POST",
                    "/api/v1/alerts",
                    &alert("Zara", "PB-LHR", "citizen_portal"),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let request = Request::builder()
            .method("POST")
            .uri("/api/v1/alerts")
            .header("content-type", "application/json")
            .body(Body::from(alert("Zara", "PB-LHR", "citizen_portal")))
            .unwrap();
        let response = n.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        let (status, _) = n
            .call("public", "GET", "/api/v1/track/HZ-0000-0000", "")
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // Reading public lists is not limited here, and officials are never.
        let (status, _) = n.call("public", "GET", "/api/v1/alerts", "").await;
        assert_eq!(status, StatusCode::OK);
        for _ in 0..5 {
            let (status, _) = n
                .call(
                    "dpo",
                    "POST",
                    "/api/v1/alerts",
                    &alert("Zara", "PB-LHR", "police_station"),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
    })
    .await;
}

/// Every role against every operation, at the federal node (where every role can exist): the status each gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix() {
    within(async {
        let n = node("federal", (1000, 1000));
        // Records to work on, made by the Lahore DPO.
        let (_, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/alerts",
                &alert("Zara", "PB-LHR", "police_station"),
            )
            .await;
        let alert_id = body["id"].as_str().unwrap().to_owned();
        let (_, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        let case_id = body["id"].as_str().unwrap().to_owned();
        let code = body["tracking_code"].as_str().unwrap().to_owned();
        let tip = format!(
            r#"{{"seen_at_ms":{},"description":"near the shrine","channel":"sms"}}"#,
            now_ms() - 1000
        );

        const C: u16 = 201;
        const OK: u16 = 200;
        const UN: u16 = 401;
        const NO: u16 = 403;
        const NR: u16 = 503;
        let roles = [
            "public",
            "station_officer",
            "dpo",
            "rpo",
            "ig",
            "ministry",
            "register_officer",
            "auditor",
            "dpo_karachi",
        ];
        // (operation, method, path, body, expected status per role in the order above)
        let alert_body = |who: &str| {
            alert(
                "Ali",
                "PB-LHR",
                if who == "public" {
                    "citizen_portal"
                } else {
                    "police_station"
                },
            )
        };
        let case_body = |who: &str| {
            case(
                "PB-LHR",
                if who == "public" {
                    "app"
                } else {
                    "police_station"
                },
            )
        };
        type Body = Box<dyn Fn(&str) -> String>;
        let ops: Vec<(&str, &str, String, Body, [u16; 9])> = vec![
            (
                "raise alert",
                "POST",
                "/api/v1/alerts".into(),
                Box::new(alert_body),
                [C, C, C, C, C, NO, NO, NO, C],
            ),
            (
                "list alerts",
                "GET",
                "/api/v1/alerts".into(),
                Box::new(|_| String::new()),
                [OK; 9],
            ),
            (
                "read alert",
                "GET",
                format!("/api/v1/alerts/{alert_id}"),
                Box::new(|_| String::new()),
                [OK; 9],
            ),
            (
                "validate alert",
                "POST",
                format!("/api/v1/alerts/{alert_id}/events"),
                Box::new(|_| r#"{"type":"validated"}"#.into()),
                [UN, C, C, C, C, NO, NO, NO, NO],
            ),
            (
                "record recovery",
                "POST",
                format!("/api/v1/alerts/{alert_id}/events"),
                Box::new(|_| r#"{"type":"recovered"}"#.into()),
                [UN, C, C, C, C, NO, NO, NO, C],
            ),
            (
                "report sighting",
                "POST",
                format!("/api/v1/alerts/{alert_id}/sightings"),
                Box::new(move |_| tip.clone()),
                [C; 9],
            ),
            (
                "file case",
                "POST",
                "/api/v1/cases".into(),
                Box::new(case_body),
                [C, C, C, C, C, NO, NO, NO, NO],
            ),
            (
                "list cases",
                "GET",
                "/api/v1/cases".into(),
                Box::new(|_| String::new()),
                [UN, OK, OK, OK, OK, OK, NO, NO, OK],
            ),
            (
                "read case",
                "GET",
                format!("/api/v1/cases/{case_id}"),
                Box::new(|_| String::new()),
                [UN, OK, OK, OK, OK, OK, NO, NO, NO],
            ),
            (
                "case event",
                "POST",
                format!("/api/v1/cases/{case_id}/events"),
                Box::new(|_| r#"{"type":"under_investigation"}"#.into()),
                [UN, C, C, C, C, NO, NO, NO, NO],
            ),
            (
                "track case",
                "GET",
                format!("/api/v1/track/{code}"),
                Box::new(|_| String::new()),
                [OK; 9],
            ),
            (
                "statistics",
                "GET",
                "/api/v1/stats".into(),
                Box::new(|_| String::new()),
                [OK; 9],
            ),
            (
                "statistics of a time window in Lahore",
                "GET",
                "/api/v1/stats?district=PB-LHR&since=1".into(),
                Box::new(|_| String::new()),
                [NO, OK, OK, OK, OK, OK, NO, NO, NO],
            ),
            (
                "peers",
                "GET",
                "/api/v1/peers".into(),
                Box::new(|_| String::new()),
                [UN, NR, NR, NR, NR, NR, NR, NR, NR],
            ),
        ];
        let mut wrong = Vec::new();
        for (op, method, path, body, expected) in &ops {
            for (who, want) in roles.iter().zip(expected) {
                let (status, answer) = n.call(who, method, path, &body(who)).await;
                if status.as_u16() != *want {
                    wrong.push(format!(
                        "{op} as {who}: {status} (expected {want}): {answer}"
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The Karachi DPO lists cases at the federal node and sees none of Lahore's.
        let (_, body) = n.call("dpo_karachi", "GET", "/api/v1/cases", "").await;
        assert!(body["items"].as_array().unwrap().is_empty(), "{body}");
        let (_, body) = n.call("ministry", "GET", "/api/v1/cases", "").await;
        assert!(!body["items"].as_array().unwrap().is_empty());
    })
    .await;
}

/// Reads a live event stream's body until `want` events of type `change` have come, or fails after 10 s.
async fn read_changes(body: Body, want: usize) -> Vec<Value> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut text = String::new();
    let mut changes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while changes.len() < want {
            let chunk = stream.next().await.expect("the stream goes on").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if event.starts_with("event: change\n") {
                    let data = event
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    changes.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    })
    .await
    .expect("the changes within 10 s");
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_streams_end_when_the_node_begins_to_stop() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (stopping, signal) = tokio::sync::watch::channel(false);
        let router = hifazat_api::Api::new(n.engine.clone())
            .stopping(signal)
            .router();
        let open = || {
            router.clone().oneshot(
                Request::builder()
                    .uri("/api/v1/events")
                    .body(Body::empty())
                    .unwrap(),
            )
        };
        let first = open().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        // A change still reaches an open stream before the node stops.
        n.raise("Zara").await;
        let heard = read_changes(first.into_body(), 1).await;
        assert_eq!(heard.len(), 1);
        let second = open().await.unwrap();
        stopping.send_replace(true);
        // The stream ends (its body completes) rather than hold a graceful shutdown open.
        let rest = axum::body::to_bytes(second.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&rest).contains("event: change"));
        // A stream opened once the node is stopping ends at once.
        let late = open().await.unwrap();
        axum::body::to_bytes(late.into_body(), usize::MAX)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_what_the_caller_may_see_and_have_a_limit() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let open = |who: &str, uri: &str| {
            let mut request = Request::builder().uri(uri);
            if who != "public" {
                request = request.header("authorization", format!("Bearer {}", n.tokens[who]));
            }
            n.router
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
        };
        let dpo = open("dpo", "/api/v1/events").await.unwrap();
        assert_eq!(dpo.status(), StatusCode::OK);
        assert_eq!(dpo.headers()["content-type"], "text/event-stream");
        let public = open("public", "/api/v1/events").await.unwrap();
        let cases_only = open("dpo", "/api/v1/events?kind=case").await.unwrap();

        let (status, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let case_id = body["id"].clone();
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/alerts",
                &alert("Zara", "PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let alert_id = body["id"].clone();

        let heard = read_changes(dpo.into_body(), 2).await;
        assert_eq!(heard[0]["record"], case_id);
        assert_eq!(heard[0]["kind"], "case");
        assert_eq!(heard[0]["created"], true);
        assert_eq!(heard[0]["origin"], "local");
        assert_eq!(heard[1]["record"], alert_id);
        // The public hears of the alert, not of the case.
        let heard = read_changes(public.into_body(), 1).await;
        assert_eq!(heard[0]["record"], alert_id);
        let heard = read_changes(cases_only.into_body(), 1).await;
        assert_eq!(
            heard[0]["record"], case_id,
            "the filter lets only cases through"
        );

        let (status, body) = n
            .call("public", "GET", "/api/v1/events?kind=sighting", "")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("kind"), "{body}");

        // Streams past the limit are refused with a reason, and a closed stream frees its place.
        let mut held = Vec::new();
        for _ in 0..hifazat_limits::EVENT_STREAMS_MAX {
            let response = open("public", "/api/v1/events").await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            held.push(response);
        }
        let refused = open("public", "/api/v1/events").await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(refused.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("live event streams"));
        held.pop();
        assert_eq!(
            open("public", "/api/v1/events").await.unwrap().status(),
            StatusCode::OK
        );
    })
    .await;
}
