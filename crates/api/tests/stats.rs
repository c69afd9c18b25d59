//! Statistics: exact for officials within their area, suppressed below 5 for everyone else, and time windows.

use axum::http::StatusCode;
use serde_json::Value;

mod common;

use common::*;

async fn created(n: &Node, who: &str, uri: &str, body: &str) -> String {
    let (status, body) = n.call(who, "POST", uri, body).await;
    assert_eq!(status, StatusCode::CREATED, "{uri}: {body}");
    body["id"].as_str().expect("an id").to_owned()
}

async fn event(n: &Node, uri: &str, body: &str) {
    let (status, answer) = n.call("dpo", "POST", uri, body).await;
    assert!(status.is_success(), "{uri} {body}: {status} {answer}");
}

async fn stats(n: &Node, who: &str, query: &str) -> Value {
    let (status, body) = n
        .call(who, "GET", &format!("/api/v1/stats{query}"), "")
        .await;
    assert_eq!(status, StatusCode::OK, "{who} {query}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_are_exact_within_an_area_and_suppressed_outside_it() {
    within(async {
        let n = node("lahore", (1000, 1000));
        // Six alerts in Lahore, five validated and two recovered; two in Kasur.
        let mut lahore = Vec::new();
        for i in 0..6 {
            let id = created(
                &n,
                "dpo",
                "/api/v1/alerts",
                &alert(&format!("L{i}"), "PB-LHR", "police_station"),
            )
            .await;
            lahore.push(id);
        }
        for id in &lahore[..5] {
            event(
                &n,
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"validated"}"#,
            )
            .await;
        }
        for id in &lahore[..2] {
            event(
                &n,
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"recovered"}"#,
            )
            .await;
        }
        for i in 0..2 {
            created(
                &n,
                "station_officer",
                "/api/v1/alerts",
                &alert(&format!("K{i}"), "PB-KSR", "police_station"),
            )
            .await;
        }
        // Seven harassment cases and one of domestic violence in Lahore; FIRs on three, one fast-tracked.
        let mut cases = Vec::new();
        for _ in 0..7 {
            cases.push(
                created(
                    &n,
                    "dpo",
                    "/api/v1/cases",
                    &case("PB-LHR", "police_station"),
                )
                .await,
            );
        }
        let dv = case("PB-LHR", "police_station").replace("harassment", "domestic_violence");
        created(&n, "dpo", "/api/v1/cases", &dv).await;
        for (i, id) in cases[..3].iter().enumerate() {
            event(
                &n,
                &format!("/api/v1/cases/{id}/events"),
                &format!(r#"{{"type":"fir_registered","fir_number":"FIR-{i}"}}"#),
            )
            .await;
        }
        event(
            &n,
            &format!("/api/v1/cases/{}/events", cases[0]),
            r#"{"type":"fast_tracked"}"#,
        )
        .await;

        // The Lahore DPO asking about Lahore: exact.
        let s = stats(&n, "dpo", "?district=PB-LHR").await;
        assert_eq!(s["exact"], true, "{s}");
        assert_eq!(s["suppressed_below"], Value::Null);
        assert_eq!(s["complete"], true);
        assert_eq!(s["alerts"]["total"], 6);
        assert_eq!(s["alerts"]["by_status"]["validated"], 3);
        assert_eq!(s["alerts"]["by_status"]["recovered"], 2);
        assert_eq!(s["alerts"]["by_district"]["PB-LHR"], 6);
        assert!(s["alerts"]["by_district"].get("PB-KSR").is_none(), "{s}");
        assert_eq!(s["alerts"]["recovered"], 2);
        assert_eq!(s["alerts"]["to_validation"]["samples"], 5);
        assert!(s["alerts"]["to_validation"]["median_ms"].is_u64(), "{s}");
        assert_eq!(s["alerts"]["to_recovery"]["samples"], 2);
        assert_eq!(s["cases"]["total"], 8);
        assert_eq!(s["cases"]["by_category"]["harassment"], 7);
        assert_eq!(s["cases"]["by_category"]["domestic_violence"], 1);
        assert_eq!(s["cases"]["fir_registered"], 3);
        assert_eq!(s["cases"]["fast_tracked"], 1);
        assert_eq!(s["cases"]["under_investigation"], 3);
        assert_eq!(s["cases"]["by_status"]["filed"], 5);
        assert_eq!(s["cases"]["by_province"]["PB"], 8);
        assert_eq!(s["cases"]["by_region"]["PB-LAHORE"], 8);

        // The ministry sees everything exactly; the Punjab IG all of Punjab.
        let s = stats(&n, "ministry", "").await;
        assert_eq!(
            (s["exact"].clone(), s["alerts"]["total"].clone()),
            (true.into(), 8.into())
        );
        assert_eq!(s["alerts"]["by_district"]["PB-KSR"], 2);
        let s = stats(&n, "ig", "?province=PB").await;
        assert_eq!(s["exact"], true);
        assert_eq!(s["alerts"]["by_region"]["PB-LAHORE"], 8);

        // The public, the auditor, and the DPO asking beyond Lahore get suppressed figures.
        for who in ["public", "auditor", "dpo"] {
            let s = stats(&n, who, "").await;
            assert_eq!(s["exact"], false, "{who}: {s}");
            assert_eq!(s["suppressed_below"], 5);
            assert_eq!(s["alerts"]["total"], 8);
            assert_eq!(s["alerts"]["by_district"]["PB-KSR"], Value::Null, "{s}");
            // The lone small cell takes the next smallest with it, so 8 - 6 cannot reveal Kasur's 2.
            assert_eq!(s["alerts"]["by_district"]["PB-LHR"], Value::Null, "{s}");
            assert_eq!(s["alerts"]["by_province"]["PB"], 8);
            assert_eq!(s["alerts"]["to_validation"]["samples"], 5);
            assert_eq!(s["alerts"]["to_recovery"]["samples"], Value::Null);
            assert_eq!(s["alerts"]["to_recovery"]["median_ms"], Value::Null);
            assert_eq!(s["cases"]["by_category"]["domestic_violence"], Value::Null);
            assert_eq!(s["cases"]["by_category"]["harassment"], Value::Null);
            assert_eq!(s["cases"]["fir_registered"], Value::Null);
            assert_eq!(s["cases"]["fast_tracked"], Value::Null);
            assert_eq!(s["cases"]["total"], 8);
            // Three under investigation: suppressed, and the five filed with them.
            assert_eq!(s["cases"]["by_status"]["under_investigation"], Value::Null);
            assert_eq!(s["cases"]["by_status"]["filed"], Value::Null);
        }

        // Months: this one holds everything, one long past nothing; other windows are for exact callers.
        let month = this_month();
        let s = stats(&n, "public", &format!("?month={month}")).await;
        assert_eq!(s["alerts"]["total"], 8, "{s}");
        let s = stats(&n, "public", "?month=2001-01").await;
        assert_eq!(s["alerts"]["total"], 0);
        assert_eq!(s["cases"]["total"], 0);
        let s = stats(
            &n,
            "dpo",
            &format!("?district=PB-LHR&since={}", now_ms() + 60_000),
        )
        .await;
        assert_eq!(s["alerts"]["total"], 0);
        let s = stats(&n, "dpo", "?district=PB-LHR&since=1&until=2").await;
        assert_eq!(s["cases"]["total"], 0);

        // A month narrowed by `since`: the same records, or none when nothing of the month is left.
        let whole = stats(&n, "dpo", &format!("?district=PB-LHR&month={month}")).await;
        assert!(whole["alerts"]["total"].as_u64() > Some(0), "{whole}");
        let s = stats(
            &n,
            "dpo",
            &format!("?district=PB-LHR&month={month}&since=1"),
        )
        .await;
        assert_eq!(s["alerts"]["total"], whole["alerts"]["total"], "{s}");
        assert_eq!(s["cases"]["total"], whole["cases"]["total"], "{s}");
        let s = stats(
            &n,
            "dpo",
            &format!("?district=PB-LHR&month={month}&since={}", now_ms() + 60_000),
        )
        .await;
        assert_eq!(s["alerts"]["total"], 0, "{s}");
        let s = stats(&n, "dpo", "?district=PB-LHR&month=2001-01&until=1").await;
        assert_eq!(s["alerts"]["total"], 0, "{s}");
        // Time windows are an official's, within their area.
        for (who, query) in [("public", "?since=1"), ("dpo", "?until=5")] {
            let (status, body) = n
                .call(who, "GET", &format!("/api/v1/stats{query}"), "")
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {query}: {body}");
        }

        for (who, query, field) in [
            ("dpo", "?district=PB-LHR&since=5&until=5", "until"),
            ("public", "?month=2026-13", "month"),
            ("public", "?district=XX", "district"),
        ] {
            let (status, body) = n
                .call(who, "GET", &format!("/api/v1/stats{query}"), "")
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{who} {query}: {body}"
            );
            assert_eq!(body["fields"][0]["field"], field, "{who} {query}: {body}");
        }
        let (status, _) = n
            .call("public", "GET", "/api/v1/stats?colour=red", "")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

/// This month as `YYYY-MM` in UTC, from the clock.
fn this_month() -> String {
    let (year, month, _) =
        hifazat_domain::calendar::civil_from_days((now_ms() / 86_400_000) as i64);
    format!("{year:04}-{month:02}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_view_has_monthly_trends() {
    within(async {
        let n = node("federal", (1000, 1000));
        // This month: six alerts in Lahore (two recovered), three harassment cases and six in Karachi South.
        let mut ids = Vec::new();
        for i in 0..6 {
            ids.push(
                created(
                    &n,
                    "dpo",
                    "/api/v1/alerts",
                    &alert(&format!("T{i}"), "PB-LHR", "police_station"),
                )
                .await,
            );
        }
        for id in &ids[..2] {
            event(
                &n,
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"recovered"}"#,
            )
            .await;
        }
        for _ in 0..3 {
            created(
                &n,
                "dpo",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        }
        for _ in 0..6 {
            created(
                &n,
                "dpo_karachi",
                "/api/v1/cases",
                &case("SD-KHS", "police_station"),
            )
            .await;
        }
        let get = |who: &'static str, query: &'static str| {
            let n = &n;
            async move {
                let (status, body) = n
                    .call(who, "GET", &format!("/api/v1/stats/trends{query}"), "")
                    .await;
                (status, body)
            }
        };
        let (status, exact) = get("ministry", "?months=3").await;
        assert_eq!(status, StatusCode::OK, "{exact}");
        assert_eq!(exact["exact"], true);
        let months = exact["months"].as_array().unwrap();
        assert_eq!(months.len(), 3);
        let last = |key: &str| exact[key].as_array().unwrap()[2].clone();
        assert_eq!(last("alerts_raised"), 6);
        assert_eq!(last("alerts_recovered"), 2);
        assert_eq!(last("cases_filed"), 9);
        assert_eq!(exact["cases_by_category"]["harassment"][2], 9);
        assert_eq!(exact["alerts_raised"][0], 0);
        // The months are consecutive and end now.
        let now = common::now_ms();
        let (y, m, _) = hifazat_domain::calendar::civil_from_days((now / 86_400_000) as i64);
        assert_eq!(months[2], format!("{y:04}-{m:02}"));

        // The public sees counts of 5 and over; Sindh alone (6 cases) stands, Lahore's 3 do not.
        let (_, public) = get("public", "?months=3&province=PB").await;
        assert_eq!(public["exact"], false);
        assert_eq!(public["alerts_raised"][2], 6);
        assert_eq!(public["alerts_recovered"][2], Value::Null);
        assert_eq!(public["cases_filed"][2], Value::Null);
        let (_, sindh) = get("public", "?months=3&province=SD").await;
        assert_eq!(sindh["cases_filed"][2], 6);
        // A DPO of Karachi gets Karachi South exactly, Punjab suppressed.
        let (_, own) = get("dpo_karachi", "?district=SD-KHS").await;
        assert_eq!(own["exact"], true);
        assert_eq!(own["months"].as_array().unwrap().len(), 12);

        for bad in [
            "?months=0",
            "?months=61",
            "?province=XX",
            "?months=x",
            "?week=1",
        ] {
            let (status, body) = get("ministry", bad).await;
            assert!(status.is_client_error(), "{bad}: {status} {body}");
        }
    })
    .await;
}
