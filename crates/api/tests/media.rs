//! Media reports: a case channel of its own, filed by officials with the outlet, the day and the link or
//! reference, refused to the public and to alerts, and counted in the statistics by channel (from the aggregates
//! and from a scan alike), and filed from the officials' complaint form.

use axum::http::StatusCode;
use serde_json::Value;

mod common;

use common::web::{page, post_form, signed_in};
use common::*;

const MEDIA: &str = r#"{"outlet":"Daily Jang","published_on":"2026-03-14","reference":"https://jang.com.pk/news/123, page 3"}"#;

fn media_case(media: &str) -> String {
    format!(
        r#"{{"category":"sexual_violence","district":"PB-LHR","description":"A child abused, as reported in the press",
            "channel":"media_report","media":{media}}}"#
    )
}

fn fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn stats(n: &Node, query: &str) -> Value {
    let (status, body) = n
        .call("dpo", "GET", &format!("/api/v1/stats{query}"), "")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_reports_are_filed_by_officials_and_counted_by_channel() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/cases", &media_case(MEDIA))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (_, filed) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(filed["channel"], "media_report");
        assert_eq!(filed["media"]["outlet"], "Daily Jang");
        assert_eq!(filed["media"]["published_on"], "2026-03-14");
        assert_eq!(filed["anonymous"], true);

        // Every way to get it wrong is refused, naming the field.
        for (body, field) in [
            (media_case("null"), "media"),
            (
                case("PB-LHR", "police_station").replace(
                    r#""channel":"police_station""#,
                    &format!(r#""channel":"police_station","media":{MEDIA}"#),
                ),
                "media",
            ),
            (
                media_case(&MEDIA.replace("2026-03-14", "2026-02-30")),
                "media.published_on",
            ),
            (
                media_case(&MEDIA.replace("2026-03-14", "2999-01-01")),
                "media.published_on",
            ),
            (
                media_case(&MEDIA.replace("Daily Jang", " ")),
                "media.outlet",
            ),
            (
                media_case(&MEDIA.replace("page 3", &"x".repeat(501))),
                "media.reference",
            ),
            (alert("Zara", "PB-LHR", "media_report"), "channel"),
        ] {
            let uri = if body.contains("child_name") {
                "/api/v1/alerts"
            } else {
                "/api/v1/cases"
            };
            let (status, answer) = n.call("dpo", "POST", uri, &body).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{field}: {answer}"
            );
            assert!(
                fields(&answer).contains(&field.to_owned()),
                "{field}: {answer}"
            );
        }
        // The public files through the portal or an app, never as a media report.
        let (status, answer) = n
            .call("public", "POST", "/api/v1/cases", &media_case(MEDIA))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(fields(&answer), ["channel"]);

        // Two more cases by other channels, and an alert by SMS.
        for channel in ["police_station", "helpline1099"] {
            let (status, _) = n
                .call("dpo", "POST", "/api/v1/cases", &case("PB-LHR", channel))
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        n.raise("Zara").await;

        // Counted by channel, the same from the aggregates (all time) and from a scan (a window of times).
        for query in ["?district=PB-LHR", "?district=PB-LHR&since=1000"] {
            let s = stats(&n, query).await;
            assert_eq!(s["exact"], true);
            let by = &s["cases"]["by_channel"];
            assert_eq!(
                (
                    &by["media_report"],
                    &by["police_station"],
                    &by["helpline1099"]
                ),
                (&Value::from(1), &Value::from(1), &Value::from(1)),
                "{query}: {s}"
            );
            assert_eq!(s["alerts"]["by_channel"]["police_station"], 1, "{s}");
        }
        // The public statistics page has the table, with the channel's name.
        let (status, _, html) = page(&n, "/statistics", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("By how reports came in"), "{html}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officials_file_a_media_report_from_the_complaint_form() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (cookie, csrf) = signed_in(&n, "dpo").await;
        let (_, _, html) = page(&n, "/office/cases/new", &[("cookie", &cookie)]).await;
        assert!(html.contains(r#"value="media_report""#), "{html}");
        assert!(html.contains(r#"name="media_outlet""#), "{html}");
        // The public's form has neither.
        let (_, _, public) = page(&n, "/complaint", &[]).await;
        assert!(!public.contains("media_report") && !public.contains("media_outlet"));

        let form = |outlet: &'static str, day: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("channel", "media_report".to_owned()),
                ("category", "acid_attack".to_owned()),
                ("district", "PB-LHR".to_owned()),
                (
                    "description",
                    "A woman attacked with acid, as a channel reported".to_owned(),
                ),
                ("anonymous", "yes".to_owned()),
                ("media_outlet", outlet.to_owned()),
                ("media_published_on", day.to_owned()),
                ("media_reference", "Evening bulletin, 21:00".to_owned()),
            ]
        };
        let send = |fields: Vec<(&'static str, String)>| {
            let cookie = cookie.clone();
            let n = &n;
            async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post_form(n, "/office/cases/new", &[("cookie", &cookie)], &fields).await
            }
        };
        // A day that is not one: the form comes back with the field marked, in words, and what was typed.
        let (status, _, html) = send(form("Geo News", "2026-02-30")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("media_published_on-error"), "{html}");
        assert!(html.contains("Geo News"), "{html}");
        // Media fields with another channel are refused too.
        let mut other = form("Geo News", "2026-03-01");
        other[1].1 = "police_station".into();
        let (status, _, html) = send(other).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains(r#"id="media-error""#), "{html}");

        let (status, headers, html) = send(form("Geo News", "2026-03-01")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let uri = headers["location"].to_str().unwrap().to_owned();
        let (_, _, html) = page(&n, &uri, &[("cookie", &cookie)]).await;
        assert!(
            html.contains("Geo News")
                && html.contains("2026-03-01")
                && html.contains("Media report"),
            "{html}"
        );
        let (_, _, ur) = page(
            &n,
            &uri,
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
        )
        .await;
        assert!(ur.contains("میڈیا رپورٹ"), "{ur}");
    })
    .await;
}
