//! The register over the router: who may do what, verification replies of one size and shape, the officers'
//! work, and notifications from a district node taken in at the federal node.

mod common;

use axum::http::StatusCode;
use common::{node, within};
use serde_json::Value;

fn offender(cnic: &str, name: &str) -> String {
    format!(
        r#"{{"cnic":"{cnic}","name":"{name}","parentage":{{"relation":"son_of","name":"Ghulam Rasool"}},
            "convictions":[{{"offence":"s.376 PPC","court":"Anti-Rape Special Court Kasur","date":"2022-03-14",
            "sentence":"10 years"}}],
            "address":{{"address":"Mohalla Rasheedabad","district":"PB-KSR","since":"2019-06-01"}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_use_the_register() {
    within(async {
        let n = node("federal", (1000, 1000));
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                "/api/v1/register/offenders",
                &offender("3510276543213", "Shahid Mehmood"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let cnic = r#"{"cnic":"35102-7654321-3"}"#;
        const OK: u16 = 200;
        const UN: u16 = 401;
        const NO: u16 = 403;
        const X: u16 = 409;
        let roles = [
            "public",
            "station_officer",
            "ministry",
            "auditor",
            "register_officer",
            "verifier",
        ];
        let ops: Vec<(&str, &str, String, String, [u16; 6])> = vec![
            (
                "verify",
                "POST",
                "/api/v1/register/verify".into(),
                cnic.into(),
                [NO, NO, NO, NO, OK, OK],
            ),
            (
                "create",
                "POST",
                "/api/v1/register/offenders".into(),
                offender("3510276543213", "Again"),
                [NO, NO, NO, NO, X, NO],
            ),
            (
                "list",
                "GET",
                "/api/v1/register/offenders".into(),
                String::new(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "read",
                "GET",
                format!("/api/v1/register/offenders/{id}"),
                String::new(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "update",
                "POST",
                format!("/api/v1/register/offenders/{id}/updates"),
                r#"{"change":"add_alias","alias":"Billa"}"#.into(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "search",
                "POST",
                "/api/v1/register/search".into(),
                cnic.into(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "consultations",
                "GET",
                "/api/v1/register/consultations".into(),
                String::new(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "alarms",
                "GET",
                "/api/v1/register/alarms".into(),
                String::new(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "notices",
                "GET",
                "/api/v1/register/notices".into(),
                String::new(),
                [NO, NO, NO, NO, OK, NO],
            ),
            (
                "notify (at the federal node)",
                "POST",
                "/api/v1/register/notices".into(),
                r#"{"cnic":"3510276543213","update":{"change":"add_alias","alias":"B"}}"#.into(),
                [UN, 422, NO, NO, NO, NO],
            ),
        ];
        let mut wrong = Vec::new();
        for (op, method, path, body, expected) in &ops {
            for (who, want) in roles.iter().zip(expected) {
                let (status, answer) = n.call(who, method, path, body).await;
                if status.as_u16() != *want {
                    wrong.push(format!(
                        "{op} as {who}: {status} (expected {want}): {answer}"
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));

        // Elsewhere the register is not there at all.
        let lahore = node("lahore", (1000, 1000));
        for path in [
            "/api/v1/register/offenders",
            "/api/v1/register/consultations",
        ] {
            let (status, body) = lahore.call("ministry", "GET", path, "").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        }
        let (status, body) = lahore
            .call("station_officer", "GET", "/api/v1/register/alarms", "")
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_replies_have_one_size_and_shape_and_are_logged_first() {
    within(async {
        let n = node("federal", (1000, 1000));
        let (status, body) = n
            .call("register_officer", "POST", "/api/v1/register/offenders", &offender("35102-7654321-3", "Shahid Mehmood"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = n
            .call("register_officer", "POST", "/api/v1/register/offenders", &offender("3510276543213", "Other"))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");

        let (hit_status, hit_headers, hit) = n.send("verifier", "POST", "/api/v1/register/verify", r#"{"cnic":"35102-7654321-3"}"#).await;
        let (miss_status, miss_headers, miss) = n.send("verifier", "POST", "/api/v1/register/verify", r#"{"cnic":"3510276543214"}"#).await;
        assert_eq!(hit_status, StatusCode::OK);
        assert_eq!(miss_status, StatusCode::OK);
        assert_eq!(hit.len(), hifazat_limits::VERIFY_REPLY_BYTES);
        assert_eq!(hit.len(), miss.len());
        assert_eq!(hit_headers, miss_headers);
        let hit: Value = serde_json::from_slice(&hit).unwrap();
        let miss: Value = serde_json::from_slice(&miss).unwrap();
        assert_eq!(hit["outcome"], "record");
        assert_eq!(
            hit["message_en"],
            "Beware! Shahid Mehmood son of Ghulam Rasool is a convict. Don't let him be around children and women."
        );
        assert!(hit["message_ur"].as_str().unwrap().contains("خبردار"));
        assert_eq!(miss["outcome"], "no_record");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&hit), keys(&miss));

        // Bad input names the field.
        let (status, body) = n
            .call("verifier", "POST", "/api/v1/register/verify", r#"{"cnic":"123"}"#)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "cnic", "{body}");
        let (status, _) = n
            .call("verifier", "POST", "/api/v1/register/verify", r#"{"cnic":"3510276543213","x":1}"#)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Each consultation is there, newest first, with the keyed hash and never the CNIC.
        let (status, body) = n.call("register_officer", "GET", "/api/v1/register/consultations?limit=2", "").await;
        assert_eq!(status, StatusCode::OK);
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["outcome"], "invalid");
        assert_eq!(items[1]["outcome"], "no_record");
        assert_eq!(items[1]["requester"], "verifier:verifier");
        assert_eq!(items[1]["channel"], "api");
        assert!(!body.to_string().contains("3510276543214"));
        let next = body["next"].as_u64().unwrap();
        let (_, older) = n
            .call("register_officer", "GET", &format!("/api/v1/register/consultations?before={next}"), "")
            .await;
        assert_eq!(older["items"][0]["outcome"], "record");
        assert_eq!(older["items"][0]["reference"], hit["reference"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_officers_keep_entries() {
    within(async {
        let n = node("federal", (1000, 1000));
        let mut bad = offender("123", " ");
        bad = bad.replace("PB-KSR", "XX-NOPE");
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                "/api/v1/register/offenders",
                &bad,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["cnic", "name", "address.district"]);

        let mut ids = Vec::new();
        for i in 0..3 {
            let (status, body) = n
                .call(
                    "register_officer",
                    "POST",
                    "/api/v1/register/offenders",
                    &offender(&format!("351027654321{i}"), &format!("Person {i}")),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        let (_, page) = n
            .call(
                "register_officer",
                "GET",
                "/api/v1/register/offenders?limit=2",
                "",
            )
            .await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let after = page["next"].as_str().unwrap();
        let (_, rest) = n
            .call(
                "register_officer",
                "GET",
                &format!("/api/v1/register/offenders?after={after}"),
                "",
            )
            .await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert!(rest.get("next").is_none());
        let (status, _) = n
            .call(
                "register_officer",
                "GET",
                "/api/v1/register/offenders?after=zz",
                "",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let path = format!("/api/v1/register/offenders/{}/updates", ids[0]);
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                &path,
                r#"{"change":"move","address":"Flat 3","district":"PB-LHR","since":"2025-02-01"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["addresses"].as_array().unwrap().len(), 2);
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                &path,
                r#"{"change":"move","address":"Old","district":"PB-LHR","since":"2001-01-01"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                &path,
                r#"{"change":"travel","destination":"Dubai","depart":"2025-13-01"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "depart");
        let (status, _) = n
            .call("register_officer", "POST", &path, r#"{"change":"fly"}"#)
            .await;
        assert!(status.is_client_error());
        let (status, _) = n
            .call(
                "register_officer",
                "GET",
                &format!("/api/v1/register/offenders/{}", "0".repeat(32)),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = n
            .call(
                "register_officer",
                "GET",
                "/api/v1/register/offenders/not-an-id",
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, body) = n
            .call(
                "register_officer",
                "POST",
                "/api/v1/register/search",
                r#"{"cnic":"3510276543210"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["name"], "Person 0");
        assert_eq!(body["addresses"][1]["district"], "PB-LHR");
        let (status, _) = n
            .call(
                "register_officer",
                "POST",
                "/api/v1/register/search",
                r#"{"cnic":"3510276543219"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The register's signed log has every change, the federal node's own.
        let register = n.register.as_ref().unwrap();
        assert_eq!(register.head().unwrap().seq, 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_from_a_district_is_sealed_there_and_applied_once_at_the_federal_node() {
    within(async {
        let federal = node("federal", (1000, 1000));
        let (status, body) = federal
            .call("register_officer", "POST", "/api/v1/register/offenders", &offender("3510276543213", "Shahid Mehmood"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();

        let kasur_police = node("lahore", (1000, 1000));
        let notice = r#"{"cnic":"35102-7654321-3","update":{"change":"move","address":"House 7, Model Town","district":"PB-LHR","since":"2026-01-10"}}"#;
        for who in ["public", "ministry"] {
            let (status, _) = kasur_police.call(who, "POST", "/api/v1/register/notices", notice).await;
            assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN);
        }
        let (status, body) = kasur_police
            .call("dpo", "POST", "/api/v1/register/notices", r#"{"cnic":"1","update":{"change":"move","address":"","district":"X","since":"no"}}"#)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["cnic", "update.address", "update.district", "update.since"]);
        let (status, body) = kasur_police.call("dpo", "POST", "/api/v1/register/notices", notice).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["seq"], 1);

        // What the district node keeps is sealed: nothing in its store reads as the notification.
        let heads = kasur_police.engine.heads().await.unwrap();
        let head = heads.iter().find(|h| h.log.scope.to_string() == "notices/pb-lhr").expect("the notices log");
        let entries = kasur_police.engine.log_range(head.log.digest(), 0, 1, 1 << 20).await.unwrap();
        let entry = hifazat_log::Entry::decode(&entries[0]).unwrap();
        for needle in ["3510276543213", "35102-7654321-3", "Model Town"] {
            assert!(!String::from_utf8_lossy(&entries[0]).contains(needle));
        }
        assert_eq!(entry.content().actor, "dpo:dpo");

        // The federal node takes it in once, however often it is offered.
        let register = federal.register.as_ref().unwrap();
        let log = head.log.digest().0;
        let taken = register.take_notice(&log, 1, &entry.content().payload, common::now_ms()).unwrap().unwrap();
        assert_eq!(taken.outcome, hifazat_register::NoticeOutcome::Applied { offender: id.clone() });
        assert_eq!(register.take_notice(&log, 1, &entry.content().payload, common::now_ms()).unwrap(), None);
        let (_, body) = federal.call("register_officer", "GET", &format!("/api/v1/register/offenders/{id}"), "").await;
        assert_eq!(body["addresses"][1]["address"], "House 7, Model Town");
        assert_eq!(body["changes"], 2);
        let (_, body) = federal.call("register_officer", "GET", "/api/v1/register/notices", "").await;
        assert_eq!(body["items"][0]["outcome"]["result"], "applied");
        assert_eq!(body["items"][0]["notice"]["by"], "dpo:dpo");
        assert_eq!(body["items"][0]["notice"]["node"], "lahore");
    })
    .await;
}
