//! `GET /metrics`: requests counted by route template, the engine's counters, and no record data.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

mod common;

use common::*;

async fn scrape(n: &Node) -> String {
    let response = n
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_carry_no_record_data() {
    within(async {
        let n = node("lahore", (1, 1));
        let (status, body) = n
            .call("dpo", "POST", "/api/v1/alerts", &alert("Zara Bibi", "PB-LHR", "police_station"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let id = body["id"].as_str().unwrap().to_owned();
        let (_, body) = n
            .call("dpo", "POST", "/api/v1/cases", &case("PB-LHR", "police_station"))
            .await;
        let code = body["tracking_code"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            n.call("public", "GET", &format!("/api/v1/alerts/{id}"), "").await;
        }
        // The public's allowance is one request: the second lookup is refused.
        n.call("public", "GET", &format!("/api/v1/track/{code}"), "").await;
        let (status, _) = n.call("public", "GET", &format!("/api/v1/track/{code}"), "").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

        let text = scrape(&n).await;
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(
            sample(
                &text,
                r#"hifazat_http_requests_total{method="GET",route="/api/v1/alerts/{id}",status="200"}"#
            ),
            Some(3.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"hifazat_http_requests_total{method="POST",route="/api/v1/alerts",status="201"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"hifazat_http_request_duration_seconds_count{method="GET",route="/api/v1/alerts/{id}"}"#
            ),
            Some(3.0)
        );
        assert_eq!(sample(&text, "hifazat_engine_local_writes_total"), Some(2.0));
        assert_eq!(sample(&text, "hifazat_public_rate_limited_total"), Some(1.0));
        assert_eq!(sample(&text, "hifazat_live_streams"), Some(0.0));
        // Route templates only: no record id, tracking code or name.
        for secret in [id.as_str(), code.as_str(), "Zara", "+923451234567"] {
            assert!(!text.contains(secret), "{secret} in the metrics");
        }
        // A node without a network has no network metrics, rather than zeros.
        assert!(!text.contains("hifazat_peers_connected"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_metrics_count_consultations_and_never_outcomes() {
    within(async {
        let n = node("federal", (1000, 1000));
        n.add_offender().await;
        let before = scrape(&n).await;
        n.call(
            "verifier",
            "POST",
            "/api/v1/register/verify",
            r#"{"cnic":"3510276543213"}"#,
        )
        .await;
        let after_hit = scrape(&n).await;
        n.call(
            "verifier",
            "POST",
            "/api/v1/register/verify",
            r#"{"cnic":"3510276543214"}"#,
        )
        .await;
        let after_miss = scrape(&n).await;
        assert_eq!(
            sample(&after_miss, "hifazat_register_consultations_total"),
            Some(2.0)
        );
        // A hit and a miss move the same counters by the same amounts, so the page cannot answer a verification.
        let register_lines = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("hifazat_register"))
                .map(str::to_owned)
                .collect()
        };
        let counters = |text: &str| -> Vec<f64> {
            register_lines(text)
                .iter()
                .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
                .collect()
        };
        let step =
            |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| y - x).collect() };
        assert_eq!(
            step(&counters(&before), &counters(&after_hit)),
            step(&counters(&after_hit), &counters(&after_miss))
        );
        for needle in ["3510276543213", "Shahid", "record"] {
            assert!(!register_lines(&after_miss).join("\n").contains(needle));
        }
    })
    .await;
}
