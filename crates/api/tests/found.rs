//! Photos and found children through the API, with face matching running: uploads cleaned or refused with the
//! right status, an alert's photo served back by its hash, a found child's report matched with the alert of the
//! same person (and not with another person's), the suggestion on both records and on the live stream, never
//! in the public's view, and an officer's confirmation or rejection, which is remembered.
//!
//! The photographs are face_recognition 1.3.0's test images (`scripts/faces/reference.sh` downloads them, pinned
//! by hash, into `target/faces/photos`; `scripts/test.sh` runs it first): two of one man, one of another.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;
use tower::ServiceExt;

fn photo(name: &str) -> Vec<u8> {
    reference_photo(name)
}

/// A PNG of one flat colour: a photo with no face.
fn flat_png(side: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(side, side, image::Rgb([120, 130, 140]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn upload(n: &Node, who: &str, purpose: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    n.post_bytes(
        who,
        &format!("/api/v1/photos?purpose={purpose}"),
        "image/jpeg",
        bytes,
    )
    .await
}

fn found_report(photos: &[&str]) -> String {
    let now = now_ms();
    let photos: Vec<String> = photos.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        r#"{{"place":{{"district":"SD-KHS","lat":24.85,"lon":67.01,"text":"Saddar bus stand"}},
            "found_at_ms":{now},"apparent_age_years":6,"sex":"male","description":"Blue shirt, says his name is Ali",
            "care":"shelter","care_name":"Edhi Home, Kharadar","photos":[{}]}}"#,
        photos.join(",")
    )
}

/// The report's suggestions once there are `want` of them (the matcher writes them in the background).
async fn suggestions(n: &Node, found: &str, want: usize) -> Vec<Value> {
    for _ in 0..300 {
        let (status, body) = n
            .call("dpo_karachi", "GET", &format!("/api/v1/found/{found}"), "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let s = body["suggestions"].as_array().unwrap().clone();
        if s.len() >= want {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no suggestion on report {found} within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_each_get_their_status() {
    within(async {
        let n = node_with_faces("federal");
        let jpeg = photo("obama.jpg");
        let cases: Vec<(&str, &str, &str, Vec<u8>, u16)> = vec![
            ("empty", "dpo", "alert", Vec::new(), 415),
            (
                "a GIF",
                "dpo",
                "alert",
                b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
                415,
            ),
            (
                "text",
                "dpo",
                "alert",
                b"this is not a photo at all".to_vec(),
                415,
            ),
            (
                "cut short",
                "dpo",
                "alert",
                {
                    let png = flat_png(400);
                    png[..png.len() / 2].to_vec()
                },
                422,
            ),
            ("too small", "dpo", "alert", flat_png(32), 422),
            (
                "too large",
                "dpo",
                "alert",
                vec![0xFF; 5 * 1024 * 1024 + 1],
                413,
            ),
            (
                "no face, for a found child",
                "dpo_karachi",
                "found",
                flat_png(400),
                422,
            ),
            (
                "a found child's, by the public",
                "public",
                "found",
                jpeg.clone(),
                403,
            ),
            (
                "a found child's, by an auditor",
                "auditor",
                "found",
                jpeg.clone(),
                403,
            ),
        ];
        for (what, who, purpose, bytes, want) in cases {
            let (status, body) = upload(&n, who, purpose, bytes).await;
            assert_eq!(status.as_u16(), want, "{what}: {body}");
            assert!(body["error"].is_string(), "{what}: a JSON error: {body}");
        }
        let (status, body) = n
            .post_bytes(
                "dpo",
                "/api/v1/photos?purpose=poster",
                "image/jpeg",
                jpeg.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // A photo without a face is still a poster's photo; the public may give one with an alert.
        let (status, body) = upload(&n, "public", "alert", flat_png(400)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["faces"], serde_json::json!([]));
        // An alert naming a photo never uploaded here is refused by field.
        let mut alert: Value =
            serde_json::from_str(&alert("Ali", "PB-LHR", "police_station")).unwrap();
        alert["photo_ref"] = Value::String("ab".repeat(32));
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &alert.to_string())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], "photo_ref", "{body}");
        alert["photo_ref"] = Value::String("not a hash".into());
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &alert.to_string())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        // A photo taken for a found child's report is never published as an alert's, even by name.
        let (status, up) = upload(&n, "dpo_karachi", "found", photo("obama2.jpg")).await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        alert["photo_ref"] = up["photo"].clone();
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &alert.to_string())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], "photo_ref", "{body}");
        // Nor may a report name a photo that is not here.
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                "/api/v1/found",
                &found_report(&[&"cd".repeat(32)]),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], "photos", "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_child_meets_the_alert_of_the_same_child() {
    within(async {
        let n = node_with_faces("federal");
        n.matcher.as_ref().unwrap().ready().await;
        // The live stream of the alert's district's DPO, open before anything happens.
        let live = n
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
        assert_eq!(live.status(), StatusCode::OK);
        let public_live = n
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/api/v1/events")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();

        // Lahore's DPO raises an alert with the child's photo.
        let (status, up) = upload(&n, "dpo", "alert", photo("obama.jpg")).await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        assert_eq!(up["faces"].as_array().unwrap().len(), 1, "{up}");
        let photo_id = up["photo"].as_str().unwrap().to_owned();
        let mut alert: Value =
            serde_json::from_str(&alert("Ali", "PB-LHR", "police_station")).unwrap();
        alert["photo_ref"] = Value::String(photo_id.clone());
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &alert.to_string())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let alert_id = body["id"].as_str().unwrap().to_owned();
        // The photo is served back, by anyone, as exactly the bytes its id names.
        let (status, headers, bytes) = n
            .send("public", "GET", &format!("/api/v1/photos/{photo_id}"), "")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "image/jpeg");
        assert_eq!(hifazat_photos::PhotoId::of(&bytes).to_hex(), photo_id);

        // Karachi South's DPO reports another man first, then a found child with another photo of the alert's.
        let (status, up) = upload(&n, "dpo_karachi", "found", photo("biden.jpg")).await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                "/api/v1/found",
                &found_report(&[up["photo"].as_str().unwrap()]),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let other = body["id"].as_str().unwrap().to_owned();
        let (status, up) = upload(&n, "dpo_karachi", "found", photo("obama2.jpg")).await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let found_photo = up["photo"].as_str().unwrap().to_owned();
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                "/api/v1/found",
                &found_report(&[&found_photo]),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let found = body["id"].as_str().unwrap().to_owned();

        // The suggestion, on the report: the alert, its distance, no decision.
        let s = suggestions(&n, &found, 1).await;
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0]["other"], alert_id.as_str());
        let distance = s[0]["distance"].as_f64().unwrap();
        assert!(distance > 0.0 && distance < 0.6, "{distance}");
        assert!(s[0]["decision"].is_null());
        // The other man's report, compared before this one, has none.
        let (_, body) = n
            .call("dpo_karachi", "GET", &format!("/api/v1/found/{other}"), "")
            .await;
        assert_eq!(body["suggestions"], serde_json::json!([]), "{body}");
        // On the alert, for Lahore's police: the event naming the report, and no photo of the found child.
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{alert_id}"), "")
            .await;
        let events: Vec<&Value> = body["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "match_suggested")
            .collect();
        assert_eq!(events.len(), 1, "{body}");
        assert_eq!(events[0]["other"], found.as_str());
        assert_eq!(events[0]["note"], "possible match, confirm in person");
        assert!(
            !body.to_string().contains(&found_photo),
            "the alert carries no found child's photo"
        );
        // The public sees nothing of it.
        let (_, body) = n
            .call("public", "GET", &format!("/api/v1/alerts/{alert_id}"), "")
            .await;
        assert!(!body.to_string().contains("match"), "{body}");
        // Lahore's DPO may not read the report (it is Karachi South's), nor its photo.
        let (status, _) = n
            .call("dpo", "GET", &format!("/api/v1/found/{found}"), "")
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = n
            .send("dpo", "GET", &format!("/api/v1/found/{found}/photos/0"), "")
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, headers, bytes) = n
            .send(
                "dpo_karachi",
                "GET",
                &format!("/api/v1/found/{found}/photos/0"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["cache-control"], "private, no-store");
        assert_eq!(hifazat_photos::PhotoId::of(&bytes).to_hex(), found_photo);
        // Nor is a found child's photo served as an alert's.
        let (status, _, _) = n
            .send(
                "public",
                "GET",
                &format!("/api/v1/photos/{found_photo}"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The live stream told Lahore's DPO; the public's heard no suggestion.
        let heard = read_events(live.into_body(), "suggestion", 1).await;
        assert_eq!(heard[0]["alert"], alert_id.as_str());
        assert_eq!(heard[0]["found"], found.as_str());
        assert_eq!(heard[0]["seen_on"], "alert");
        let public_heard =
            read_events_for(public_live.into_body(), Duration::from_millis(500)).await;
        assert!(!public_heard.contains("suggestion"), "{public_heard}");

        // Only the police of the report's district decide; a confirmation is a sighting on the alert.
        let decide = format!("/api/v1/found/{found}/matches/{alert_id}");
        let (status, _) = n
            .call("dpo", "POST", &decide, r#"{"decision":"confirmed"}"#)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("/api/v1/found/{other}/matches/{alert_id}"),
                r#"{"decision":"rejected"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no suggestion there: {body}");
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &decide,
                r#"{"decision":"confirmed","note":"Seen at the shelter with his aunt"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["alert_sightings"], 1);
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{alert_id}"), "")
            .await;
        assert_eq!(
            body["status"]["stage"], "raised",
            "a sighting is a report, not a step: {body}"
        );
        assert_eq!(body["sighting_reports"][0]["place"]["district"], "SD-KHS");
        assert!(body["timeline"].to_string().contains("match_confirmed"));
        let (_, body) = n
            .call("dpo_karachi", "GET", &format!("/api/v1/found/{found}"), "")
            .await;
        assert_eq!(body["status"]["stage"], "matched");
        assert_eq!(body["suggestions"][0]["decision"], "confirmed");
        // Users never write a suggestion themselves.
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{alert_id}/events"),
                &format!(r#"{{"type":"match_suggested","other":"{found}","distance":100}}"#),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_pair_is_not_suggested_again() {
    within(async {
        let n = node_with_faces("federal");
        let (_, up) = upload(&n, "dpo", "alert", photo("obama.jpg")).await;
        let mut alert: Value = serde_json::from_str(&alert("Ali", "PB-LHR", "police_station")).unwrap();
        alert["photo_ref"] = up["photo"].clone();
        let (_, body) = n.call("dpo", "POST", "/api/v1/alerts", &alert.to_string()).await;
        let alert_id = body["id"].as_str().unwrap().to_owned();
        let (_, up) = upload(&n, "dpo_karachi", "found", photo("obama3.jpg")).await;
        let (_, body) = n
            .call("dpo_karachi", "POST", "/api/v1/found", &found_report(&[up["photo"].as_str().unwrap()]))
            .await;
        let found = body["id"].as_str().unwrap().to_owned();
        suggestions(&n, &found, 1).await;
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("/api/v1/found/{found}/matches/{alert_id}"),
                r#"{"decision":"rejected","note":"Not him: the child's family came, he is their son"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // A matcher starting afresh (as after a restart) compares every report with every alert again.
        let again = hifazat_matcher::Matcher::start(
            n.engine.clone(),
            hifazat_matcher::Worker::start().unwrap(),
            hifazat_matcher::DEFAULT_THRESHOLD,
        );
        again.ready().await;
        let (_, body) = n.call("dpo_karachi", "GET", &format!("/api/v1/found/{found}"), "").await;
        let suggested = body["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "match_suggested")
            .count();
        assert_eq!(suggested, 1, "{body}");
        assert_eq!(body["suggestions"][0]["decision"], "rejected");
        assert_eq!(body["status"]["stage"], "reported");
        // Handed to the family: the report is done, and its faces are no longer compared.
        let (status, body) = n
            .call("dpo_karachi", "POST", &format!("/api/v1/found/{found}/events"), r#"{"type":"handed_to_family"}"#)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, body) = n.call("dpo_karachi", "GET", "/api/v1/found?status=handed_to_family", "").await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
        // The Lahore police list no report of Karachi South's.
        let (_, body) = n.call("dpo", "GET", "/api/v1/found", "").await;
        assert_eq!(body["items"], serde_json::json!([]), "{body}");
    })
    .await;
}

/// Reads a live stream until `want` events of type `kind` have come (their data), or fails after 30 s.
async fn read_events(body: Body, kind: &str, want: usize) -> Vec<Value> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut text = String::new();
    let mut found = Vec::new();
    let prefix = format!("event: {kind}\n");
    tokio::time::timeout(Duration::from_secs(30), async {
        while found.len() < want {
            let chunk = stream.next().await.expect("the stream goes on").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if event.starts_with(&prefix) {
                    let data = event
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    found.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    })
    .await
    .expect("the events within 30 s");
    found
}

/// Everything a live stream says within `time`.
async fn read_events_for(body: Body, time: Duration) -> String {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut text = String::new();
    let _ = tokio::time::timeout(time, async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    text
}
