//! SMS through the API, on the default backend (the outbox, no gateway): an alert raised at Lahore is told to
//! the DPO homed there, once, kept in the outbox (readable by officials), recorded on the timeline, and announced
//! on the live stream; officials outside the node's duties are not told; users cannot write `notified` events;
//! the gateway's addresses need a gateway and its key; a possible match with a found child is told to the alert's
//! DPO once (with face matching running; the photographs from `scripts/faces/reference.sh`).

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{alert, next_event, node_with_sms, within};
use hifazat_phone::TopologyPlaces;
use hifazat_sms::SmsConfig;
use serde_json::Value;
use tower::ServiceExt;

const DIRECTORY: &str = r#"
[[official]]
name = "DPO Lahore"
office = "dpo"
area = "PB-LHR"
phone = "03001110001"
home = "lahore"

[[official]]
name = "DPO Kasur"
office = "dpo"
area = "PB-KSR"
phone = "03001110002"
home = "kasur"

[[official]]
name = "RPO Lahore"
office = "rpo"
area = "PB-LAHORE"
phone = "03001110003"
home = "punjab"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_keeps_the_dpos_notification_once_and_officials_read_it() {
    within(async {
        let topology = common::demo();
        let config = SmsConfig::parse(DIRECTORY, &TopologyPlaces(&topology)).unwrap();
        let n = node_with_sms("lahore", config);
        let phone = n.phone.clone().unwrap();
        // Lahore acts for its own DPO only: Kasur's DPO is Kasur's (and Punjab's), the RPO Punjab's.
        let duties: Vec<_> = phone.duties().iter().map(|(o, _)| o.name.clone()).collect();
        assert_eq!(duties, ["DPO Lahore"]);
        tokio::spawn(phone.clone().run());
        let stream = n
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/api/v1/events")
                    .header("authorization", format!("Bearer {}", n.tokens["dpo"]))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();

        let (status, body) = n
            .call(
                "station_officer",
                "POST",
                "/api/v1/alerts",
                &alert("Zara", "PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let heard = next_event(stream.into_body(), "notified", |_| true).await;
        assert_eq!(heard["record"], id.as_str());
        assert_eq!(heard["office"], "dpo");
        assert_eq!(heard["official"], "DPO Lahore");

        // Kept in the outbox: no gateway.
        let mut kept = Value::Null;
        for _ in 0..100 {
            let (status, page) = n.call("dpo", "GET", "/api/v1/sms/outbox", "").await;
            assert_eq!(status, StatusCode::OK, "{page}");
            if page["items"][0]["state"] == "kept" {
                kept = page;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let items = kept["items"].as_array().expect("a kept message");
        assert_eq!(items.len(), 1, "{kept}");
        let m = &items[0];
        assert_eq!(m["to"], "+923001110001");
        assert_eq!(m["coding"], "ucs2");
        assert_eq!(m["purpose"]["type"], "notification");
        assert_eq!(m["purpose"]["official"], "DPO Lahore");
        // The text names the alert by its short code.
        let code = hifazat_domain::AlertCode::of(&id.parse().unwrap());
        assert!(m["text"].as_str().unwrap().contains(code.as_str()));

        // On the timeline once; the public sees that someone was told, not who.
        let (_, full) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        let notified: Vec<&Value> = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "notified")
            .collect();
        assert_eq!(notified.len(), 1, "{full}");
        assert_eq!(notified[0]["by"], hifazat_phone::NOTIFIER_ACTOR);
        assert_eq!(notified[0]["node"], "lahore");
        let (_, public) = n
            .call("public", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert!(public.to_string().contains("notified"));
        assert!(!public.to_string().contains("DPO Lahore"), "{public}");

        // A change to the alert does not tell the DPO again.
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"mobilised"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, page) = n.call("dpo", "GET", "/api/v1/sms/outbox", "").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

        let (_, _, metrics) = n.send("public", "GET", "/metrics", "").await;
        let metrics = String::from_utf8(metrics).unwrap();
        assert!(
            metrics.contains("hifazat_sms_notifications_total 1"),
            "{metrics}"
        );

        // Who reads the outbox; who may not write `notified`.
        for (who, want) in [
            ("station_officer", StatusCode::FORBIDDEN),
            ("auditor", StatusCode::FORBIDDEN),
            ("public", StatusCode::FORBIDDEN),
            ("ministry", StatusCode::OK),
            ("ig", StatusCode::OK),
        ] {
            let (status, body) = n.call(who, "GET", "/api/v1/sms/outbox", "").await;
            assert_eq!(status, want, "{who}: {body}");
        }
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"notified","office":"dpo","reason":"raised","official":"DPO Lahore"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("sends an official"), "{body}");

        // Without a gateway, nothing calls in.
        let (status, body) = n
            .call(
                "public",
                "GET",
                "/api/v1/sms/incoming?id=1&from=923001112222&text=hello",
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = n
            .call("public", "GET", "/api/v1/sms/outbox?limit=0", "")
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = n.call("dpo", "GET", "/api/v1/sms/outbox?limit=0", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_addresses_need_its_key() {
    within(async {
        let topology = common::demo();
        let text = format!(
            "[gateway]\nbackend = \"kannel\"\nsendsms_url = \"http://127.0.0.1:9/cgi-bin/sendsms\"\n\
             username = \"u\"\npassword = \"p\"\nsender = \"8484\"\ncallback_url = \"http://127.0.0.1:9\"\n\
             callback_key = \"{}\"\n",
            "k".repeat(24)
        );
        let config = SmsConfig::parse(&text, &TopologyPlaces(&topology)).unwrap();
        let n = node_with_sms("lahore", config);
        for key in ["", "&key=wrong", "&key=kkkkkkkkkkkkkkkkkkkkkkkj"] {
            let (status, body) = n
                .call("public", "GET", &format!("/api/v1/sms/incoming?id=1&from=923001112222&text=hi{key}"), "")
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{key}: {body}");
            let (status, _) = n
                .call("public", "GET", &format!("/api/v1/sms/dlr?id=1&status=1{key}"), "")
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{key}");
        }
        let key = "k".repeat(24);
        // A report for a message that is not there; a report type Kannel does not send.
        let (status, _) = n
            .call("public", "GET", &format!("/api/v1/sms/dlr?id=99&status=1&key={key}"), "")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = n
            .call("public", "GET", &format!("/api/v1/sms/dlr?id=99&status=3&key={key}"), "")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("status"), "{body}");
        // A sender that is not a phone number is named.
        let (status, body) = n
            .call("public", "GET", &format!("/api/v1/sms/incoming?id=1&from=abc&text=hi&key={key}"), "")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("from"), "{body}");
        // A text that is not understood gets the help text (queued; the gateway here is unreachable, so it stays
        // queued), and the same gateway id twice is answered once.
        for _ in 0..2 {
            let (status, body) = n
                .call("public", "GET", &format!("/api/v1/sms/incoming?id=abc-1&from=923001112222&text=hello&key={key}"), "")
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, page) = n.call("ministry", "GET", "/api/v1/sms/outbox", "").await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        assert_eq!(items[0]["purpose"]["about"], "help");
        assert!(items[0]["text"].as_str().unwrap().contains("Not understood"));
    })
    .await;
}

/// A possible match between a found child and an alert is told to the alert's DPO by SMS, once, as a
/// `notified` event with the reason `possible_match` (face matching and the SMS service both running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_possible_match_is_told_to_the_alerts_dpo() {
    within(async {
        let topology = common::demo();
        let config = SmsConfig::parse(DIRECTORY, &TopologyPlaces(&topology)).unwrap();
        let mut n = node_with_sms("lahore", config);
        let phone = n.phone.clone().unwrap();
        let matcher = hifazat_matcher::Matcher::start(
            n.engine.clone(),
            hifazat_matcher::Worker::start().unwrap(),
            hifazat_matcher::DEFAULT_THRESHOLD,
        );
        n.router = hifazat_api::Api::new(n.engine.clone())
            .phone(Some(phone.clone()))
            .users(hifazat_access::Directory::open(n._dir.path()).unwrap())
            .public_rate(1000, 1000)
            .matcher(Some(matcher))
            .router();
        tokio::spawn(phone.clone().run());
        let photo = common::reference_photo;
        let (status, up) = n
            .post_bytes("dpo", "/api/v1/photos?purpose=alert", "image/jpeg", photo("obama.jpg"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let mut draft: Value =
            serde_json::from_str(&alert("Ali", "PB-LHR", "police_station")).unwrap();
        draft["photo_ref"] = up["photo"].clone();
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &draft.to_string())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, up) = n
            .post_bytes("dpo", "/api/v1/photos?purpose=found", "image/jpeg", photo("obama2.jpg"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let now = common::now_ms();
        let report = format!(
            r#"{{"place":{{"district":"PB-LHR","lat":31.55,"lon":74.34,"text":"Data Darbar"}},"found_at_ms":{now},
                "apparent_age_years":6,"sex":"male","description":"Blue shirt","care":"police_station",
                "care_name":"Police Station Data Darbar","photos":["{}"]}}"#,
            up["photo"].as_str().unwrap()
        );
        let (status, body) = n.call("dpo", "POST", "/api/v1/found", &report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // The DPO's second message: the possible match, after the alert's own.
        let mut told = Vec::new();
        for _ in 0..300 {
            let (_, page) = n.call("dpo", "GET", "/api/v1/sms/outbox", "").await;
            told = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["purpose"]["reason"] == "possible_match")
                .cloned()
                .collect();
            if !told.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(told.len(), 1, "no possible-match SMS: {told:?}");
        let text = told[0]["text"].as_str().unwrap();
        let code = hifazat_domain::AlertCode::of(&id.parse().unwrap());
        assert!(text.contains("POSSIBLE MATCH") && text.contains(code.as_str()), "{text}");
        assert!(text.contains("Confirm in person"), "{text}");
        let (_, full) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        let notified = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "notified" && e["reason"] == "possible_match")
            .count();
        assert_eq!(notified, 1, "{full}");
    })
    .await;
}
