//! Messages on a case between the complainant (holding the tracking code) and the police of its area: written and
//! read through the API and the pages, live on both sides, limited, kept out of the public timeline; a new code
//! ends the old one; wrong codes lock an address out.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::web::{hidden_csrf, page, post_form, set_cookie, signed_in};
use common::*;
use serde_json::Value;
use tower::ServiceExt;

/// Files an anonymous complaint for Lahore as the public; its id and tracking code.
async fn filed(n: &Node) -> (String, String) {
    let (status, body) = n
        .call("public", "POST", "/api/v1/cases", &case("PB-LHR", "app"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["tracking_code"].as_str().unwrap().to_owned(),
    )
}

fn message(text: &str) -> String {
    serde_json::json!({ "text": text }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_complainant_and_the_police_write_on_the_case() {
    within(async {
        let n = node("federal", (1000, 1000));
        let (id, code) = filed(&n).await;
        assert_eq!(code.len(), 22, "80-bit codes: {code}");

        // The complainant's live stream, opened before anyone writes.
        let live = n
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .uri(format!("/api/v1/track/{code}/events"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(live.status(), StatusCode::OK);
        let heard = tokio::spawn(next_event(live.into_body(), "message", |m| {
            m["from"] == "complainant"
        }));

        let (status, written) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/track/{}/messages", code.to_lowercase()),
                &message("He waits outside the school gate every day"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{written}");
        assert_eq!(written["from"], "complainant");
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/cases/{id}/messages"),
                &message("An officer will come to the school tomorrow at 8"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // The live stream carried the first message as it reached the case.
        let first = heard.await.unwrap();
        assert_eq!(first["from"], "complainant");
        assert!(first["text"].as_str().unwrap().contains("school gate"));

        // Both see the conversation, oldest first; the public timeline has no message in it, and nothing of the
        // officer's name reaches the complainant.
        let (_, tracked) = n
            .call("public", "GET", &format!("/api/v1/track/{code}"), "")
            .await;
        let msgs = tracked["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2, "{tracked}");
        assert_eq!(
            (&msgs[0]["from"], &msgs[1]["from"]),
            (&Value::from("complainant"), &Value::from("police"))
        );
        assert!(
            tracked["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["type"] != "message"),
            "{tracked}"
        );
        assert!(!tracked.to_string().contains("dpo"), "{tracked}");
        let (_, case_out) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(case_out["messages"].as_array().unwrap().len(), 2);
        assert_eq!(case_out["anonymous"], true);

        // The police of another area neither read nor write it; nobody writes a message as an event.
        let (status, _) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("/api/v1/cases/{id}/messages"),
                &message("hello"),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/cases/{id}/events"),
                r#"{"type":"message","from":"police","note":"sneaky"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        // Empty and overlong messages are refused by field.
        for text in ["  ", &"x".repeat(501)] {
            let (status, body) = n
                .call(
                    "public",
                    "POST",
                    &format!("/api/v1/track/{code}/messages"),
                    &message(text),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["fields"][0]["field"], "text", "{body}");
        }
        // At most 30 a day from one side.
        for i in 1..30 {
            let (status, body) = n
                .call(
                    "public",
                    "POST",
                    &format!("/api/v1/track/{code}/messages"),
                    &message(&format!("note {i}")),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{i}: {body}");
        }
        let (status, _) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/track/{code}/messages"),
                &message("one more"),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/cases/{id}/messages"),
                &message("the police may still answer"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // A new code ends the old one; the conversation stays with the case.
        let (status, renewed) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/cases/{id}/tracking-code"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{renewed}");
        let new_code = renewed["tracking_code"].as_str().unwrap().to_owned();
        assert_ne!(new_code, code);
        let (status, _) = n
            .call("public", "GET", &format!("/api/v1/track/{code}"), "")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old code reads nothing");
        let (status, _) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/track/{code}/messages"),
                &message("x"),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nor writes");
        let (status, tracked) = n
            .call("public", "GET", &format!("/api/v1/track/{new_code}"), "")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tracked["messages"].as_array().unwrap().len(), 32);
        let (_, case_out) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(case_out["tracking_code"], new_code.as_str());
        let (status, _) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("/api/v1/cases/{id}/tracking-code"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_lock_an_address_out() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (_, code) = filed(&n).await;
        for i in 0..10 {
            let wrong = if i % 2 == 0 {
                "HZ-0000-0000-0000-0000"
            } else {
                "HZ-12"
            };
            let (status, _) = n
                .call("public", "GET", &format!("/api/v1/track/{wrong}"), "")
                .await;
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{i}: {status}"
            );
        }
        // Now even the right code is refused from this address, with how long to wait; officials are not locked.
        let (status, headers, _) = n
            .send("public", "GET", &format!("/api/v1/track/{code}"), "")
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((3_000..=3_600).contains(&wait), "{wait}");
        let (status, _) = n
            .call(
                "public",
                "POST",
                &format!("/api/v1/track/{code}/messages"),
                &message("hi"),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, _, html) = page(&n, &format!("/track?code={code}"), &[]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        let (status, _) = n
            .call("dpo", "GET", &format!("/api/v1/track/{code}"), "")
            .await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_on_the_pages_works_without_javascript() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (id, code) = filed(&n).await;
        // The complainant's page: the conversation, a form with its anti-forgery token, and the live stream named.
        let (status, headers, html) = page(&n, &format!("/track?code={code}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("No messages yet") && html.contains(r#"action="/track/messages""#),
            "{html}"
        );
        assert!(
            html.contains(&format!("/api/v1/track/{code}/events")),
            "{html}"
        );
        let csrf = set_cookie(&headers, "hifazat_csrf").expect("a token cookie");
        let cookie = format!("hifazat_csrf={csrf}");
        let (status, headers, html) = post_form(
            &n,
            "/track/messages",
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("text", "Please call after 6 pm"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/track?code=")
        );
        // An empty message comes back marked, in Urdu for an Urdu reader.
        let (status, _, html) = post_form(
            &n,
            "/track/messages",
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
            &[("csrf", &csrf), ("code", &code), ("text", " ")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("text-error") && html.contains("حروف"),
            "{html}"
        );

        // The police's page of the case shows it and answers it; a new code is given from there.
        let (cookie, _) = signed_in(&n, "dpo").await;
        let (_, _, html) = page(&n, &format!("/office/cases/{id}"), &[("cookie", &cookie)]).await;
        assert!(html.contains("Please call after 6 pm"), "{html}");
        let csrf = hidden_csrf(&html);
        let (status, _, _) = post_form(
            &n,
            &format!("/office/cases/{id}/messages"),
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("text", "We will call at 6:30 pm")],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, html) = page(&n, &format!("/track?code={code}"), &[]).await;
        assert!(
            html.contains("We will call at 6:30 pm") && html.contains("The police"),
            "{html}"
        );
        let (status, _, _) = post_form(
            &n,
            &format!("/office/cases/{id}/tracking-code"),
            &[("cookie", &cookie)],
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, html) = page(&n, &format!("/office/cases/{id}"), &[("cookie", &cookie)]).await;
        assert!(!html.contains(&code), "the old code is no longer shown");
        let (status, _, _) = page(&n, &format!("/track?code={code}"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}
