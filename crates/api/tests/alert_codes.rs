//! Alerts' short codes: an alert raised by text is answered with its code; `STATUS <code>` by text answers its
//! public stage as it moves; the API, the public tracking page and the officials' list find an alert by its code,
//! written as people write it.

mod common;

use axum::http::StatusCode;
use common::web::{page, signed_in};
use common::*;
use hifazat_phone::TopologyPlaces;
use hifazat_sms::SmsConfig;

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The newest reply in the outbox.
async fn last_reply(n: &Node) -> String {
    let (_, page) = n.call("ministry", "GET", "/api/v1/sms/outbox", "").await;
    page["items"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_followed_by_its_code_by_text_and_on_the_pages() {
    within(async {
        let topology = common::demo();
        let key = "k".repeat(24);
        // A gateway nobody listens at: replies stay queued in the outbox, where the test reads them.
        let text = format!(
            "[gateway]\nbackend = \"kannel\"\nsendsms_url = \"http://127.0.0.1:9/cgi-bin/sendsms\"\n\
             username = \"u\"\npassword = \"p\"\nsender = \"8484\"\ncallback_url = \"http://127.0.0.1:9\"\n\
             callback_key = \"{key}\"\n"
        );
        let config = SmsConfig::parse(&text, &TopologyPlaces(&topology)).unwrap();
        let n = node_with_sms("lahore", config);
        let text_in = |id: u32, text: &str| {
            format!(
                "/api/v1/sms/incoming?id=t{id}&from=923001112222&text={}&key={key}",
                encode(text)
            )
        };
        let (status, body) = n
            .call(
                "public",
                "GET",
                &text_in(1, "ALERT PB-LHR 7 F Ayesha Bibi; Anarkali Bazaar"),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let reply = last_reply(&n).await;
        let at = reply.find("Code: AL-").expect("the reply gives the code") + 6;
        let code = reply[at..at + 12].to_owned();
        assert!(reply.contains(&format!("STATUS {code}")), "{reply}");

        // The API finds it by its code, however it is written; for the public, only its public part.
        let loose = code.to_lowercase().replace('-', " ");
        let (status, found) = n
            .call(
                "public",
                "GET",
                &format!("/api/v1/alerts/by-code/{}", encode(&loose)),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["code"], code.as_str());
        let alert = &found["alerts"][0];
        assert_eq!(alert["code"], code.as_str());
        assert_eq!(alert["public"]["child_name"], "Ayesha Bibi");
        assert!(alert.get("restricted").is_none(), "{alert}");
        let id = alert["id"].as_str().unwrap().to_owned();
        let (_, full) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/by-code/{code}"), "")
            .await;
        assert_eq!(full["alerts"][0]["restricted"]["reporter"]["mobile"], "+923001112222");
        let (_, by_id) = n.call("public", "GET", &format!("/api/v1/alerts/{id}"), "").await;
        assert_eq!(by_id["code"], code.as_str());
        for (bad, status) in [
            ("AL-7K3M", StatusCode::UNPROCESSABLE_ENTITY),
            ("AL-UUUU-0000", StatusCode::UNPROCESSABLE_ENTITY),
            (
                if code == "AL-0000-0000" { "AL-0000-0001" } else { "AL-0000-0000" },
                StatusCode::NOT_FOUND,
            ),
        ] {
            let (got, body) = n
                .call("public", "GET", &format!("/api/v1/alerts/by-code/{bad}"), "")
                .await;
            assert_eq!(got, status, "{bad}: {body}");
        }

        // STATUS by text answers the public stage as it moves.
        n.call("public", "GET", &text_in(2, &format!("status {loose}")), "")
            .await;
        let reply = last_reply(&n).await;
        assert!(
            reply.contains(&code) && reply.contains("waiting for the police to confirm"),
            "{reply}"
        );
        let (status, _) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"validated"}"#,
            )
            .await;
        assert!(status.is_success());
        n.call("public", "GET", &text_in(3, &format!("STATUS {code}")), "")
            .await;
        let reply = last_reply(&n).await;
        assert!(reply.contains("confirmed by the police"), "{reply}");
        n.call("public", "GET", &text_in(4, "STATUS AL-0000"), "").await;
        assert!(last_reply(&n).await.contains("Not understood"));

        // The public tracking page opens the alert from its code; the alert's page shows the code.
        let (status, headers, _) = page(&n, &format!("/track?code={}", encode(&loose)), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], format!("/alerts/{id}").as_str());
        let (_, _, html) = page(&n, &format!("/alerts/{id}"), &[]).await;
        assert!(html.contains(&code), "{html}");
        let (status, _, html) = page(&n, "/track?code=AL-0000-000U", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

        // Officials look it up from their list of alerts.
        let (cookie, _) = signed_in(&n, "station_officer").await;
        let (status, headers, _) = page(
            &n,
            &format!("/office/alerts?code={}", encode(&code)),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], format!("/office/alerts/{id}").as_str());
        let (_, _, html) = page(&n, &format!("/office/alerts/{id}"), &[("cookie", &cookie)]).await;
        assert!(html.contains(&code), "{html}");
        let (status, _, html) =
            page(&n, "/office/alerts?code=nonsense", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("looks like AL-7K3M-Q9TD"), "{html}");
    })
    .await;
}
