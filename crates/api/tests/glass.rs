//! Break-glass access through the API, at the federal node (which holds every district's cases), where a Karachi
//! DPO looks at Lahore's records: refused before, granted after a reason, over when its minutes pass; never for
//! roles that may not see a record's restricted part; logged as a signed entry of its own log, listed for the
//! record's officials, the ministry and auditors, heard live by Lahore's DPO; at most 3 a day for one officer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;

use common::web::*;
use common::*;

fn reason(minutes: u32) -> String {
    json!({
        "reason": "A boy found at Saddar says he was taken from Anarkali, Lahore",
        "minutes": minutes,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_outside_the_area_sees_a_record_for_the_minutes_asked_and_it_is_logged() {
    within(async {
        // A clock the test moves on.
        let skew = Arc::new(AtomicU64::new(0));
        let ahead = skew.clone();
        let n = node_at(
            "federal",
            hifazat_domain::Clock::from_fn(move || now_ms() + ahead.load(Ordering::SeqCst)),
        );
        let alert = n.raise("Zara").await;
        let path = format!("/api/v1/alerts/{alert}");
        let glass = format!("{path}/break-glass");

        // Before: the Karachi DPO sees the public part only.
        let (status, body) = n.call("dpo_karachi", "GET", &path, "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("restricted").is_none(), "{body}");

        // Roles that may never see it cannot ask, whatever the reason; nor can the public; the alert's own DPO
        // needs no such view.
        for (who, want) in [
            ("public", StatusCode::UNAUTHORIZED),
            ("verifier", StatusCode::FORBIDDEN),
            ("auditor", StatusCode::FORBIDDEN),
            ("register_officer", StatusCode::FORBIDDEN),
            ("dpo", StatusCode::CONFLICT),
            ("ministry", StatusCode::CONFLICT),
        ] {
            let (status, body) = n.call(who, "POST", &glass, &reason(5)).await;
            assert_eq!(status, want, "{who}: {body}");
        }
        // A reason too short to weigh, and minutes out of range: each field named.
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &glass,
                r#"{"reason":"need it","minutes":0}"#,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], "reason");
        assert_eq!(body["fields"][1]["field"], "minutes");
        let (status, _) = n.call("dpo_karachi", "POST", &glass, &reason(61)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Lahore's DPO listens.
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
        let heard = tokio::spawn(next_event(live.into_body(), "break_glass", |c| {
            c["kind"] == "alert"
        }));

        // Granted: the restricted part shows, with when the view ends.
        let (status, granted) = n.call("dpo_karachi", "POST", &glass, &reason(2)).await;
        assert_eq!(status, StatusCode::CREATED, "{granted}");
        assert_eq!(granted["use"]["by"], "dpo:dpo_karachi");
        assert_eq!(granted["use"]["district"], "PB-LHR");
        assert_eq!(granted["use"]["node"], "federal");
        assert_eq!(granted["use"]["minutes"], 2);
        let until = granted["until_ms"].as_u64().unwrap();
        assert_eq!(until, granted["use"]["at_ms"].as_u64().unwrap() + 120_000);
        let (status, body) = n.call("dpo_karachi", "GET", &path, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["restricted"]["reporter"]["name"], "Aunt", "{body}");
        assert_eq!(body["glass_until_ms"], until);
        let heard = heard.await.unwrap();
        assert_eq!(heard["record"], alert.as_str());
        assert_eq!(heard["scope"], "access/pb-lhr/pb-lhr");

        // Listed for the record's officials, the ministry and auditors, with the reason; not for others.
        for who in ["dpo", "rpo", "ig", "ministry", "auditor"] {
            let (status, page) = n.call(who, "GET", "/api/v1/break-glass", "").await;
            assert_eq!(status, StatusCode::OK, "{who}: {page}");
            assert_eq!(page["items"].as_array().unwrap().len(), 1, "{who}: {page}");
            assert_eq!(page["items"][0]["reason"], granted["use"]["reason"]);
            assert_eq!(page["items"][0]["record"], alert.as_str());
        }
        let (_, page) = n
            .call("dpo_karachi", "GET", "/api/v1/break-glass", "")
            .await;
        assert_eq!(page["items"], json!([]), "Karachi's DPO is not Lahore's");
        for who in ["public", "verifier", "register_officer"] {
            let (status, _) = n.call(who, "GET", "/api/v1/break-glass", "").await;
            assert!(
                status.is_client_error() && status != StatusCode::NOT_FOUND,
                "{who}"
            );
        }

        // It is a signed entry of a log of its own, which the node serves like any other.
        let (status, logs) = n.call("auditor", "GET", "/api/v1/logs", "").await;
        assert_eq!(status, StatusCode::OK, "{logs}");
        assert!(
            logs.to_string().contains("access/pb-lhr/pb-lhr"),
            "the access log is listed: {logs}"
        );

        // Over once its minutes pass.
        skew.store(121_000, Ordering::SeqCst);
        let (_, body) = n.call("dpo_karachi", "GET", &path, "").await;
        assert!(body.get("restricted").is_none(), "{body}");

        // A case: refused before, the whole case after.
        let (status, filed) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{filed}");
        let case_path = format!("/api/v1/cases/{}", filed["id"].as_str().unwrap());
        let (status, _) = n.call("dpo_karachi", "GET", &case_path, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for who in ["verifier", "auditor"] {
            let (status, _) = n
                .call(who, "POST", &format!("{case_path}/break-glass"), &reason(5))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        }
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("{case_path}/break-glass"),
                &reason(5),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = n.call("dpo_karachi", "GET", &case_path, "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["district"], "PB-LHR");
        assert!(body["glass_until_ms"].as_u64().is_some());

        // The limit: three in a day, then 429 with when to try again; a day later, one more.
        let (status, _) = n.call("dpo_karachi", "POST", &glass, &reason(1)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, headers, body) = n.send("dpo_karachi", "POST", &glass, &reason(1)).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert!(headers.contains_key("retry-after"));
        let (_, page) = n.call("auditor", "GET", "/api/v1/break-glass", "").await;
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            3,
            "a refused use is not one"
        );
        skew.store(86_400_000 + 121_000, Ordering::SeqCst);
        let (status, body) = n.call("dpo_karachi", "POST", &glass, &reason(1)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // Newest first, and paged.
        let (_, page) = n
            .call("auditor", "GET", "/api/v1/break-glass?limit=2", "")
            .await;
        let items: Vec<Value> = page["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert!(items[0]["at_ms"].as_u64() > items[1]["at_ms"].as_u64());
        let (_, rest) = n
            .call(
                "auditor",
                "GET",
                &format!(
                    "/api/v1/break-glass?limit=2&before={}",
                    page["next"].as_str().unwrap()
                ),
                "",
            )
            .await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{rest}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_dpo_and_rpo_are_told_by_sms_once() {
    within(async {
        let topology = demo();
        let directory = r#"
[[official]]
name = "DPO Lahore"
office = "dpo"
area = "PB-LHR"
phone = "03001110001"
home = "federal"

[[official]]
name = "RPO Lahore"
office = "rpo"
area = "PB-LAHORE"
phone = "03001110003"
home = "federal"

[[official]]
name = "DPO Kasur"
office = "dpo"
area = "PB-KSR"
phone = "03001110002"
home = "federal"
"#;
        let config =
            hifazat_sms::SmsConfig::parse(directory, &hifazat_phone::TopologyPlaces(&topology))
                .unwrap();
        let n = node_with_sms("federal", config);
        let phone = n.phone.clone().unwrap();
        let alert = n.raise("Zara").await;
        assert_eq!(phone.tell_glass().await.unwrap(), 0, "no use yet");
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                &format!("/api/v1/alerts/{alert}/break-glass"),
                &reason(15),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(phone.tell_glass().await.unwrap(), 2, "Lahore's DPO and RPO");
        assert_eq!(phone.tell_glass().await.unwrap(), 0, "once");
        let told: Vec<_> = phone
            .outbox()
            .page(None, 50)
            .unwrap()
            .into_iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("BREAK-GLASS")))
            .collect();
        assert_eq!(told.len(), 2, "{told:?}");
        let mut to: Vec<&str> = told.iter().map(|m| m.to.as_str()).collect();
        to.sort();
        assert_eq!(to, ["+923001110001", "+923001110003"], "not Kasur's DPO");
        let text = told[0].text.as_deref().unwrap();
        let code = hifazat_domain::AlertCode::of(&alert.parse().unwrap()).to_string();
        assert!(
            text.contains(&code) && text.contains("dpo:dpo_karachi") && text.contains("15 min"),
            "{text}"
        );
        assert!(!text.contains("Saddar"), "the reason stays off SMS: {text}");
    })
    .await;
}

/// The break-glass form as an officer's page posts it.
async fn post_glass(
    n: &Node,
    uri: &str,
    cookie: &str,
    csrf: &str,
    reason: &str,
    minutes: &str,
) -> (StatusCode, String, String) {
    let (status, headers, html) = post_form(
        n,
        uri,
        &[("cookie", cookie)],
        &[("csrf", csrf), ("reason", reason), ("minutes", minutes)],
    )
    .await;
    let location = headers
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_offer_break_glass_outside_the_area_and_show_the_uses_to_the_records_officials() {
    within(async {
        let skew = Arc::new(AtomicU64::new(0));
        let ahead = skew.clone();
        let n = node_at(
            "federal",
            hifazat_domain::Clock::from_fn(move || now_ms() + ahead.load(Ordering::SeqCst)),
        );
        let alert = n.raise("Zara").await;
        let alert_page = format!("/office/alerts/{alert}");
        let alert_glass = format!("{alert_page}/break-glass");
        let (karachi, csrf) = signed_in(&n, "dpo_karachi").await;
        let reason = "A boy at Saddar station says he was taken from Anarkali, Lahore";

        // Before: the public part, why, and the form; the reporter is not on the page.
        let (status, headers, html) = page(&n, &alert_page, &[("cookie", &karachi)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("id=\"break-glass\"")
                && html.contains(&format!("action=\"{alert_glass}\"")),
            "{html}"
        );
        assert!(!html.contains("Aunt"), "{html}");
        // Not offered to those who see it by their area, nor to roles that may never open it.
        for who in ["dpo", "ministry", "auditor"] {
            let (cookie, _) = signed_in(&n, who).await;
            let (status, _, html) = page(&n, &alert_page, &[("cookie", &cookie)]).await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert!(!html.contains("id=\"break-glass\""), "{who}: {html}");
        }

        // What to correct, field by field, in the reader's language, with what was typed kept.
        let (status, _, html) =
            post_glass(&n, &alert_glass, &karachi, &csrf, "need it", "soon").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("Say why in 20 to 500 characters.")
                && html.contains("Give a whole number of minutes from 1 to 60.")
                && html.contains(">need it</textarea>"),
            "{html}"
        );
        let (status, headers, html) = post_form(
            &n,
            &alert_glass,
            &[("cookie", &format!("{karachi}; hifazat_lang=ur"))],
            &[("csrf", &csrf), ("reason", reason), ("minutes", "61")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert_page(&headers, &html, "ur", "rtl");
        assert!(
            html.contains("1 سے 60 تک منٹوں کی پوری تعداد لکھیں۔"),
            "{html}"
        );
        // A forged form opens nothing.
        let (status, _, _) = post_glass(&n, &alert_glass, &karachi, "forged", reason, "2").await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Granted: back to the alert, whole, saying until when.
        let (status, location, html) =
            post_glass(&n, &alert_glass, &karachi, &csrf, reason, "2").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(location, alert_page);
        let (status, _, html) = page(&n, &alert_page, &[("cookie", &karachi)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Aunt")
                && html.contains("You see this record by break-glass")
                && !html.contains("id=\"break-glass\""),
            "{html}"
        );

        // The record's DPO sees it on their queue (in a part the live script refreshes), the RPO on the area's
        // dashboard, auditors in the list; Karachi's DPO is not Lahore's officer, and a verifier lists nothing.
        for (who, uri) in [
            ("dpo", "/office"),
            ("rpo", "/office"),
            ("ig", "/office"),
            ("ministry", "/office/break-glass"),
            ("auditor", "/office/break-glass"),
        ] {
            let (cookie, _) = signed_in(&n, who).await;
            let (status, _, html) = page(&n, uri, &[("cookie", &cookie)]).await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert!(
                html.contains(reason)
                    && html.contains(&format!("href=\"{alert_page}\""))
                    && html.contains("dpo:dpo_karachi"),
                "{who}: {html}"
            );
            if uri == "/office" {
                assert!(
                    html.contains("Records opened by break-glass in the last 24 hours"),
                    "{who}: {html}"
                );
            }
        }
        let (_, _, html) = page(&n, "/office/break-glass", &[("cookie", &karachi)]).await;
        assert!(
            html.contains("No break-glass use that you oversee."),
            "{html}"
        );
        let (verifier, _) = signed_in(&n, "verifier").await;
        let (status, _, _) = page(&n, "/office/break-glass", &[("cookie", &verifier)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A case outside the area: refused with the form; the auditor gets no form; granted, the whole case.
        let (status, filed) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{filed}");
        let case_page = format!("/office/cases/{}", filed["id"].as_str().unwrap());
        let (status, _, html) = page(&n, &case_page, &[("cookie", &karachi)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            html.contains(&format!("action=\"{case_page}/break-glass\""))
                && !html.contains("Followed from school"),
            "{html}"
        );
        let (auditor, _) = signed_in(&n, "auditor").await;
        let (status, _, html) = page(&n, &case_page, &[("cookie", &auditor)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!html.contains("id=\"break-glass\""), "{html}");
        let case_glass = format!("{case_page}/break-glass");
        let (status, _, html) = post_glass(&n, &case_glass, &karachi, &csrf, "short", "5").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Say why in 20 to 500 characters."), "{html}");
        let (status, location, _) = post_glass(&n, &case_glass, &karachi, &csrf, reason, "5").await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, case_page.as_str())
        );
        let (status, _, html) = page(&n, &case_page, &[("cookie", &karachi)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Followed from school")
                && html.contains("You see this record by break-glass"),
            "{html}"
        );

        // Over when its minutes pass: the form again.
        skew.store(121_000, Ordering::SeqCst);
        let (_, _, html) = page(&n, &alert_page, &[("cookie", &karachi)]).await;
        assert!(
            !html.contains("Aunt") && html.contains("id=\"break-glass\""),
            "{html}"
        );

        // The day's limit, said on the page.
        let (status, _, _) = post_glass(&n, &alert_glass, &karachi, &csrf, reason, "1").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, html) = post_glass(&n, &alert_glass, &karachi, &csrf, reason, "1").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        assert!(html.contains("as many times as a day allows"), "{html}");
    })
    .await;
}
