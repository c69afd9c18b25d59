//! The form to raise a missing-child alert, through the router: the public raises as the API lets the public
//! raise (channel `citizen_portal`, the reporter kept restricted, the district headquarters when no position is
//! given), every refused field shown beside it in the reader's language, the anti-forgery token and the
//! per-address limit.

mod common;

use axum::http::StatusCode;

use common::web::*;
use common::*;

/// The form's token, from its page and its cookie.
async fn raise_token(n: &Node, lang: &str) -> String {
    let (status, headers, html) = page(n, "/raise", &[("accept-language", lang)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_page(
        &headers,
        &html,
        lang,
        if lang == "ur" { "rtl" } else { "ltr" },
    );
    let token = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
    assert!(
        html.contains(&format!("name=\"csrf\" value=\"{token}\"")),
        "{html}"
    );
    token
}

fn fields<'a>(token: &'a str, last_seen_at: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", token),
        ("child_name", "Sana Bibi"),
        ("age_years", "9"),
        ("sex", "female"),
        ("description", "Green shalwar kameez, a red hair band"),
        ("district", "SD-KHS"),
        ("place", "Empress Market, Saddar"),
        ("last_seen_at", last_seen_at),
        ("position", ""),
        ("name", "Rukhsana"),
        ("mobile", "0321 7654329"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_raises_an_alert_with_the_form_and_reads_its_page() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let token = raise_token(&n, "en").await;
        let cookie = format!("hifazat_csrf={token}");
        let when = local_time(-30 * 60_000);
        let (status, headers, body) =
            post_form(&n, "/raise", &[("cookie", &cookie)], &fields(&token, &when)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let location = headers["location"].to_str().unwrap().to_owned();
        let id = location
            .strip_prefix("/alerts/")
            .and_then(|l| l.strip_suffix("?raised=1"))
            .unwrap_or_else(|| panic!("{location}"))
            .to_owned();

        // Its page thanks the reader and shows it waiting for the police, in the district named.
        let (status, headers, html) = page(&n, &location, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        for shown in [
            "The alert is recorded",
            "Sana Bibi",
            "Empress Market",
            "Karachi South",
            "waiting for the police",
        ] {
            assert!(html.contains(shown), "{shown} missing: {html}");
        }
        assert!(
            !html.contains("Rukhsana") && !html.contains("7654329"),
            "{html}"
        );

        // As the API keeps it: the citizen portal's channel, the district headquarters as the position, the
        // reporter restricted to the police, and not yet listed for the public (not validated).
        let (status, alert) = n
            .call("ministry", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(status, StatusCode::OK, "{alert}");
        assert_eq!(alert["public"]["channel"], "citizen_portal", "{alert}");
        assert_eq!(alert["public"]["last_seen"]["lat"], 24.854, "{alert}");
        assert_eq!(alert["public"]["last_seen"]["lon"], 67.01, "{alert}");
        assert_eq!(
            alert["restricted"]["reporter"]["mobile"], "+923217654329",
            "{alert}"
        );
        assert_eq!(alert["status"]["stage"], "raised", "{alert}");
        let (_, _, home) = page(&n, "/", &[]).await;
        assert!(!home.contains("Sana Bibi"), "{home}");

        // A position typed as a maps app gives it is kept.
        let mut with_position = fields(&token, &when);
        with_position[8].1 = "24.8607, 67.0011";
        let (status, headers, body) =
            post_form(&n, "/raise", &[("cookie", &cookie)], &with_position).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let location = headers["location"].to_str().unwrap();
        let id = &location["/alerts/".len().."/alerts/".len() + 32];
        let (_, alert) = n
            .call("ministry", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(alert["public"]["last_seen"]["lat"], 24.8607, "{alert}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_alert_fields_are_shown_beside_the_field_in_the_readers_language() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let token = raise_token(&n, "ur").await;
        let cookie = format!("hifazat_csrf={token}");
        let headers = [("cookie", cookie.as_str()), ("accept-language", "ur")];
        let future = local_time(3 * 3_600_000);
        // Found by the page: an age that is not a number, no sex chosen, a position that is not one.
        let mut bad = fields(&token, &future);
        bad[2].1 = "nine";
        bad[3].1 = "";
        bad[8].1 = "Saddar";
        let (status, response_headers, html) = post_form(&n, "/raise", &headers, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert_page(&response_headers, &html, "ur", "rtl");
        for field in ["age_years", "sex", "position"] {
            assert!(
                html.contains(&format!("id=\"{field}-error\"")),
                "{field}: {html}"
            );
        }
        assert!(html.contains("بچے کی عمر سالوں میں"), "{html}");
        assert!(
            html.contains("Green shalwar kameez"),
            "what was typed is kept: {html}"
        );

        // Found by the node's own rules, as the API finds them: a time in the future, an adult's age, a
        // position outside Pakistan, no mobile number.
        let mut bad = fields(&token, &future);
        bad[2].1 = "30";
        bad[8].1 = "51.5, -0.12";
        bad[10].1 = "";
        let (status, _, html) = post_form(&n, "/raise", &headers, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        for field in ["age_years", "last_seen_at", "position", "mobile"] {
            assert!(
                html.contains(&format!("id=\"{field}-error\"")),
                "{field}: {html}"
            );
        }
        assert!(html.contains("آنے والا وقت نہیں ہو سکتا"), "{html}");
        let (_, list) = n.call("ministry", "GET", "/api/v1/alerts", "").await;
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            0,
            "nothing raised: {list}"
        );

        // A form without this node's token is refused and shown again.
        let (status, _, html) =
            post_form(&n, "/raise", &[], &fields(&token, &local_time(-60_000))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert!(html.contains("Sana Bibi"), "{html}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raise_form_shares_the_apis_per_address_limit() {
    within(async {
        // Two requests a minute for the public: the form's page is free, the second raise is the limit's last.
        let n = node("lahore", (2, 2));
        let token = raise_token(&n, "en").await;
        let cookie = format!("hifazat_csrf={token}");
        let when = local_time(-60_000);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let (status, headers, html) =
                post_form(&n, "/raise", &[("cookie", &cookie)], &fields(&token, &when)).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_page(&headers, &html, "en", "ltr");
                assert!(headers.contains_key("retry-after"), "{headers:?}");
                assert!(html.contains("Too many requests"), "{html}");
            }
            statuses.push(status);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::SEE_OTHER,
                StatusCode::SEE_OTHER,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
    })
    .await;
}
