//! The public pages through the router, no socket: language and direction, security headers, what the public
//! may see (the same as the JSON API shows it), errors beside the field in the reader's language, the per-address
//! limit, the language switch, assets and unknown paths.

mod common;

use axum::http::StatusCode;

use common::web::*;
use common::*;

/// Raises an alert for `name` as the DPO and takes it to `events` (e.g. `validated`); its id.
async fn alert_at(n: &Node, name: &str, events: &[&str]) -> String {
    let id = n.raise(name).await;
    for event in events {
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                &format!(r#"{{"type":"{event}"}}"#),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_lists_the_active_validated_alerts_in_the_readers_language() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, headers, html) = page(&n, "/", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(html.contains("No child is being searched for"), "{html}");

        alert_at(&n, "Unconfirmed", &[]).await;
        let validated = alert_at(&n, "Ayesha", &["validated"]).await;
        alert_at(&n, "Searching", &["validated", "mobilised"]).await;
        alert_at(&n, "Found", &["validated", "recovered"]).await;
        let (_, headers, html) = page(&n, "/", &[]).await;
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("Ayesha") && html.contains("Searching"),
            "{html}"
        );
        assert!(
            !html.contains("Unconfirmed") && !html.contains("Found<"),
            "only police-validated, active alerts: {html}"
        );
        assert!(
            html.contains(&format!("href=\"/alerts/{validated}\"")),
            "{html}"
        );
        // Newest first.
        assert!(html.find("Searching").unwrap() < html.find("Ayesha").unwrap());

        // Urdu from the browser's languages, and from the switch's cookie over them.
        let (_, headers, html) = page(&n, "/", &[("accept-language", "ur-PK,en;q=0.5")]).await;
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("لاپتہ بچے"), "{html}");
        assert!(html.contains("پولیس نے تصدیق کر دی"), "{html}");
        let (_, headers, html) = page(
            &n,
            "/",
            &[
                ("accept-language", "en"),
                ("cookie", "a=b; hifazat_lang=ur"),
            ],
        )
        .await;
        assert_page(&headers, &html, "ur", "rtl");
        // A page of a bad `before` is no page.
        let (status, _, _) = page(&n, "/?before=nonsense", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The first page loads the live-update script from the node (deferred, the list still server-rendered
        // inside `#alerts`); the script is served as JavaScript, and listens to the public's live stream.
        let (_, _, html) = page(&n, "/", &[]).await;
        let script = html
            .split("<script src=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a script")
            .to_owned();
        assert!(
            script.starts_with("/assets/live-") && script.ends_with(".js"),
            "{script}"
        );
        assert!(
            html.contains("<div id=\"alerts\" data-live>")
                && html.contains("data-stream=\"/api/v1/events?kind=alert\""),
            "{html}"
        );
        let (status, headers, js) = page(&n, &script, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
        assert!(
            js.contains("new EventSource(status.getAttribute(\"data-stream\"))"),
            "{js}"
        );
        assert!(!js.contains("http://") && !js.contains("https://"), "{js}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alerts_page_shows_its_public_part_and_timeline_only() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let id = alert_at(&n, "Ayesha", &["validated"]).await;
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"fir_registered","fir_number":"LHR-991/26","note":"suspect is the uncle"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, headers, html) = page(&n, &format!("/alerts/{id}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        for shown in ["Ayesha", "yellow dress", "Anarkali Bazaar", "Lahore", "Reported", "Confirmed by the police", "FIR registered"] {
            assert!(html.contains(shown), "{shown} missing: {html}");
        }
        // The restricted part, the FIR's number and the officers' notes are not the public's.
        for hidden in ["Aunt", "3451234567", "LHR-991/26", "uncle"] {
            assert!(!html.contains(hidden), "{hidden} shown to the public: {html}");
        }
        assert!(html.contains(&format!("/api/v1/alerts/{id}/cap")), "{html}");

        // No such alert: a page that says so, in the reader's language.
        let (status, headers, html) = page(
            &n,
            "/alerts/0123456789abcdef0123456789abcdef",
            &[("accept-language", "ur")],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("ایسا کوئی صفحہ یا ریکارڈ نہیں"), "{html}");
        let (status, _, _) = page(&n, "/alerts/not-an-id", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_by_code_shows_the_stage_and_puts_errors_beside_the_field() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, body) = n
            .call("public", "POST", "/api/v1/cases", &case("PB-LHR", "app"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let code = body["tracking_code"].as_str().unwrap().to_owned();

        let (status, headers, html) = page(&n, "/track", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("<label for=\"code\">Tracking code or alert code</label>"),
            "{html}"
        );
        assert!(!html.contains("field-error"), "{html}");

        // Found, in lower case too: category, district, stage, timeline; nobody's identity.
        let lower = code.to_lowercase();
        let (status, _, html) = page(&n, &format!("/track?code={lower}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        for shown in [code.as_str(), "Harassment", "Lahore", "Filed", "Reported"] {
            assert!(html.contains(shown), "{shown} missing: {html}");
        }
        assert!(
            !html.contains("Followed from school"),
            "the complaint's text is not shown: {html}"
        );

        // A code that is not one: 422, the reason at the top and beside the field, in Urdu when asked.
        let (status, headers, html) =
            page(&n, "/track?code=HZ-12", &[("accept-language", "ur")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("class=\"error-summary\""), "{html}");
        assert!(html.contains("id=\"code-error\""), "{html}");
        assert!(
            html.contains("aria-describedby=\"code-hint code-error\""),
            "{html}"
        );
        assert!(html.contains("ٹریکنگ کوڈ اس طرح کا ہوتا ہے"), "{html}");
        assert!(
            html.contains("value=\"HZ-12\""),
            "what was typed stays in the field: {html}"
        );

        // Well formed, but no such case here.
        let (status, _, html) = page(&n, "/track?code=HZ-AAAA-AAAA", &[]).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}"
        );
        assert!(html.contains("field-error"), "{html}");
        // What was typed is escaped where it is shown again.
        let (_, _, html) = page(&n, "/track?code=%22%3E%3Cb%3E", &[]).await;
        assert!(!html.contains("\"><b>"), "{html}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_pages_share_the_apis_per_address_limit() {
    within(async {
        let n = node("lahore", (1, 1));
        let (status, _, _) = page(&n, "/track?code=HZ-AAAA-AAAA", &[]).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, headers, html) = page(&n, "/track?code=HZ-AAAA-AAAA", &[]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_page(&headers, &html, "en", "ltr");
        assert!(headers.contains_key("retry-after"), "{headers:?}");
        assert!(html.contains("Too many requests"), "{html}");
        // The form itself is not a lookup and is always shown.
        let (status, _, _) = page(&n, "/track", &[]).await;
        assert_eq!(status, StatusCode::OK);
        // The JSON lookup shares the same allowance.
        let (status, _) = n
            .call("public", "GET", "/api/v1/track/HZ-AAAA-AAAA", "")
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_remembers_the_language_and_returns_only_to_this_node() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, headers, _) = page(&n, "/lang/ur?back=/track%3Fcode%3DHZ-1", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], "/track?code=HZ-1");
        let cookie = headers["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("hifazat_lang=ur;"), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        for away in [
            "//elsewhere.example/x",
            "https://elsewhere.example/",
            "/\\elsewhere",
            "",
        ] {
            let (status, headers, _) = page(&n, &format!("/lang/en?back={away}"), &[]).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            assert_eq!(headers["location"], "/", "back={away}");
        }
        let (status, _, _) = page(&n, "/lang/fr", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Every page links the switch to the other language, back to itself.
        let (_, _, html) = page(&n, "/track", &[("accept-language", "ur")]).await;
        assert!(html.contains("href=\"/lang/en?back=/track\""), "{html}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_fingerprinted_and_unknown_paths_get_a_page_or_json() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (_, _, html) = page(&n, "/", &[]).await;
        let style = html
            .split("<link rel=\"stylesheet\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a stylesheet link")
            .to_owned();
        assert!(
            style.starts_with("/assets/style-") && style.ends_with(".css"),
            "{style}"
        );
        let (status, headers, css) = page(&n, &style, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/css; charset=utf-8");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        // Right-to-left by construction: no physical left or right in the stylesheet.
        for physical in ["left", "right"] {
            assert!(!css.contains(physical), "the stylesheet says `{physical}`");
        }
        // The Urdu typeface, named in the stylesheet, is served by the node and cached for ever.
        let font = css
            .split("url(")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .expect("a font in the stylesheet");
        let (status, headers, _) = page(&n, &format!("/assets/{font}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{font}");
        assert_eq!(headers["content-type"], "font/woff2");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let (status, headers, html) = page(&n, "/assets/style.css", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_page(&headers, &html, "en", "ltr");

        let (status, headers, html) = page(&n, "/no/such/page", &[("accept-language", "ur")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_page(&headers, &html, "ur", "rtl");
        let (status, body) = n.call("public", "GET", "/api/v1/no-such-route", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "no such route");
    })
    .await;
}

/// The complaint form's token, from its page and its cookie (which must agree).
async fn complaint_token(n: &Node) -> String {
    let (status, headers, html) = page(n, "/complaint", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_page(&headers, &html, "en", "ltr");
    let token = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("SameSite=Strict"),
        "{headers:?}"
    );
    assert!(
        html.contains(&format!("name=\"csrf\" value=\"{token}\"")),
        "{html}"
    );
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_complaint_is_filed_and_its_code_shown_once() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let token = complaint_token(&n).await;
        let cookie = format!("hifazat_csrf={token}");
        let fields = [
            ("csrf", token.as_str()),
            ("category", "harassment"),
            ("district", "PB-LHR"),
            ("description", "Followed home from school every day"),
            ("victim_age", "15"),
            ("anonymous", "yes"),
            ("name", "Not kept"),
            ("mobile", "03001234567"),
        ];
        let (status, headers, body) =
            post_form(&n, "/complaint", &[("cookie", &cookie)], &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(headers["location"], "/complaint/filed");
        let code = set_cookie(&headers, "hifazat_filed").expect("the code's cookie");
        assert!(code.starts_with("HZ-"), "{code}");

        let filed_cookie = format!("hifazat_filed={code}");
        let (status, headers, html) =
            page(&n, "/complaint/filed", &[("cookie", &filed_cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(html.contains(&code), "{html}");
        assert_eq!(
            set_cookie(&headers, "hifazat_filed").as_deref(),
            Some(""),
            "cleared once shown"
        );
        let (status, headers, _) = page(&n, "/complaint/filed", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], "/track");

        // The complaint is tracked by its code, and kept without anyone's identity.
        let (status, _, html) = page(&n, &format!("/track?code={code}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Harassment") && html.contains("Filed"),
            "{html}"
        );
        let (status, list) = n.call("dpo", "GET", "/api/v1/cases", "").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let id = list["items"][0]["id"].as_str().unwrap().to_owned();
        let (_, case) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{id}"), "")
            .await;
        assert_eq!(case["anonymous"], true, "{case}");
        assert_eq!(case["channel"], "citizen_portal", "{case}");
        assert_eq!(case["victim_age_years"], 15, "{case}");
        assert!(!case.to_string().contains("Not kept") && !case.to_string().contains("1234567"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_form_without_this_nodes_token_is_refused_and_shown_again() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let token = complaint_token(&n).await;
        let fields = [
            ("csrf", token.as_str()),
            ("category", "harassment"),
            ("district", "PB-LHR"),
            ("description", "Kept as typed"),
            ("anonymous", "yes"),
        ];
        // No cookie (a form posted from another site), or a token that is not the cookie's.
        for headers in [
            vec![],
            vec![("cookie", "hifazat_csrf=00000000000000000000000000000000")],
        ] {
            let (status, response_headers, html) =
                post_form(&n, "/complaint", &headers, &fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
            assert_page(&response_headers, &html, "en", "ltr");
            assert!(html.contains("This form has expired"), "{html}");
            assert!(
                html.contains("Kept as typed"),
                "what was typed is shown again: {html}"
            );
        }
        let (_, list) = n.call("dpo", "GET", "/api/v1/cases", "").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_complaint_fields_are_shown_beside_the_field_in_the_readers_language() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let token = complaint_token(&n).await;
        let cookie = format!("hifazat_csrf={token}");
        let headers = [("cookie", cookie.as_str()), ("accept-language", "ur")];
        // A bad age is found on the page; the node's own rules find the rest.
        let (status, response_headers, html) = post_form(
            &n,
            "/complaint",
            &headers,
            &[
                ("csrf", &token),
                ("category", "harassment"),
                ("district", "PB-LHR"),
                ("description", ""),
                ("victim_age", "abc"),
                ("anonymous", "no"),
                ("name", ""),
                ("mobile", "12"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_page(&response_headers, &html, "ur", "rtl");
        assert!(html.contains("id=\"victim_age-error\""), "{html}");
        assert!(html.contains("عمر 0 سے 120 تک"), "{html}");
        assert!(html.contains("value=\"abc\""), "{html}");
        let (status, _, html) = post_form(
            &n,
            "/complaint",
            &headers,
            &[
                ("csrf", &token),
                ("category", "harassment"),
                ("district", "PB-LHR"),
                ("description", ""),
                ("victim_age", "9"),
                ("anonymous", "no"),
                ("name", ""),
                ("mobile", "12"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        for field in ["description", "name", "mobile"] {
            assert!(
                html.contains(&format!("id=\"{field}-error\"")),
                "{field}: {html}"
            );
            assert!(
                html.contains(&format!("href=\"#{field}\"")),
                "{field} in the summary: {html}"
            );
        }
        assert!(!html.contains("id=\"victim_age-error\""), "{html}");
        assert!(
            html.contains("checked>\n      <label for=\"anonymous-no\""),
            "the choice is kept: {html}"
        );
        // A category or district that is not offered.
        let (status, _, html) = post_form(
            &n,
            "/complaint",
            &[("cookie", cookie.as_str())],
            &[
                ("csrf", &token),
                ("category", "gossip"),
                ("district", "SD-KHS"),
                ("description", "Something"),
                ("anonymous", "yes"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"category-error\"") && html.contains("id=\"district-error\""),
            "{html}"
        );
        let (_, list) = n.call("dpo", "GET", "/api/v1/cases", "").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_node_offers_its_own_districts_only() {
    within(async {
        let n = node("punjab", (1000, 1000));
        let (_, _, html) = page(&n, "/complaint", &[]).await;
        assert!(
            html.contains("<option value=\"\">Choose a district</option>"),
            "{html}"
        );
        assert!(
            html.contains("value=\"PB-LHR\"") && html.contains("value=\"PB-KSR\""),
            "{html}"
        );
        assert!(!html.contains("value=\"SD-KHS\""), "{html}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighting_is_reported_from_the_alerts_page_anonymously() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let id = alert_at(&n, "Ayesha", &["validated"]).await;
        let (status, headers, html) = page(&n, &format!("/alerts/{id}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let token = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
        assert!(
            html.contains(&format!("action=\"/alerts/{id}/sighting\"")),
            "{html}"
        );
        assert!(
            html.contains(&format!("name=\"csrf\" value=\"{token}\"")),
            "{html}"
        );
        let cookie = format!("hifazat_csrf={token}");
        let seen_at = local_time(-3_600_000);
        let (status, headers, body) = post_form(
            &n,
            &format!("/alerts/{id}/sighting"),
            &[("cookie", &cookie)],
            &[
                ("csrf", &token),
                ("seen_at", &seen_at),
                (
                    "description",
                    "Near the Data Darbar gate with a woman in a black chador",
                ),
                ("anonymous", "yes"),
                ("name", "Not kept"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(headers["location"], format!("/alerts/{id}?sent=1#sighting"));
        let (status, _, html) =
            page(&n, &format!("/alerts/{id}?sent=1"), &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Thank you. Your report is with the police"),
            "{html}"
        );
        // The public sees only that there is one more sighting; the police of the area see what was reported.
        assert!(!html.contains("Data Darbar"), "{html}");
        let (_, alert) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(alert["sightings"], 1, "{alert}");
        let report = &alert["sighting_reports"][0];
        assert!(
            report["description"]
                .as_str()
                .unwrap()
                .contains("Data Darbar"),
            "{alert}"
        );
        assert!(
            report["reporter"].is_null(),
            "an anonymous report keeps no one: {alert}"
        );
        assert_eq!(report["channel"], "citizen_portal");
        // The moment typed in Pakistan's time is the moment stored.
        let typed = hifazat_web::parse_local_time(&seen_at).unwrap();
        assert_eq!(report["seen_at_ms"], typed, "{alert}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sighting_is_shown_again_with_the_reason_beside_the_field() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let id = alert_at(&n, "Ayesha", &["validated"]).await;
        let (_, headers, _) = page(&n, &format!("/alerts/{id}"), &[]).await;
        let token = set_cookie(&headers, "hifazat_csrf").unwrap();
        let cookie = format!("hifazat_csrf={token}");
        let uri = format!("/alerts/{id}/sighting");
        let post = |seen_at: String, description: &'static str, lang: &'static str| {
            let cookie = cookie.clone();
            let token = token.clone();
            let uri = uri.clone();
            let n = &n;
            async move {
                post_form(
                    n,
                    &uri,
                    &[("cookie", &cookie), ("accept-language", lang)],
                    &[
                        ("csrf", &token),
                        ("seen_at", &seen_at),
                        ("description", description),
                        ("anonymous", "no"),
                        ("name", "Bilal"),
                        ("mobile", "12"),
                    ],
                )
                .await
            }
        };
        // Not a time: found on the page, in Urdu when asked, with what was typed kept.
        let (status, headers, html) = post("yesterday".into(), "By the canal", "ur").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("id=\"seen_at-error\""), "{html}");
        assert!(
            html.contains("value=\"yesterday\"") && html.contains("By the canal"),
            "{html}"
        );
        // In the future, no description, a bad number: the node's own rules, each beside its field.
        let (status, _, html) = post(local_time(86_400_000), "", "en").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for field in ["seen_at", "description", "mobile"] {
            assert!(
                html.contains(&format!("id=\"{field}-error\"")),
                "{field}: {html}"
            );
        }
        assert!(html.contains("value=\"Bilal\""), "{html}");
        // Without this node's token: refused and shown again.
        let (status, _, html) = post_form(
            &n,
            &uri,
            &[],
            &[
                ("csrf", &token),
                ("seen_at", &local_time(-60_000)),
                ("description", "At the bus stop"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            html.contains("This form has expired") && html.contains("At the bus stop"),
            "{html}"
        );
        let (_, alert) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(alert["sightings"], 0, "{alert}");
        // A sighting of no such alert.
        let (status, _, _) = post_form(
            &n,
            "/alerts/0123456789abcdef0123456789abcdef/sighting",
            &[("cookie", &cookie)],
            &[
                ("csrf", &token),
                ("seen_at", &local_time(-60_000)),
                ("description", "x"),
                ("anonymous", "yes"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_show_the_publics_figures_with_small_counts_hidden() {
    within(async {
        let n = node("lahore", (1000, 1000));
        for i in 0..6 {
            alert_at(&n, &format!("Child {i}"), &["validated"]).await;
        }
        for _ in 0..2 {
            let (status, body) = n
                .call("public", "POST", "/api/v1/cases", &case("PB-LHR", "app"))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, headers, html) = page(&n, "/statistics", &[]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        // The same figures the JSON gives the public: six alerts shown, two complaints not.
        let (_, json) = n.call("public", "GET", "/api/v1/stats", "").await;
        assert_eq!(json["alerts"]["total"], 6, "{json}");
        assert!(json["cases"]["total"].is_null(), "{json}");
        assert_eq!(row_of(&html, "Alerts raised"), "6");
        assert_eq!(row_of(&html, "Complaints received"), "not shown");
        assert!(
            html.contains(
                "<th scope=\"row\">Lahore</th><td><bdi>6</bdi></td><td><bdi>not shown</bdi></td>"
            ),
            "{html}"
        );
        assert!(html.contains("Counts below 5"), "{html}");
        // The map of complaints: Punjab hatched (its count is not shown), Lahore a hollow point, every other
        // province and territory unshaded; a link to the map of alerts keeps the filters.
        assert_eq!(html.matches("<path class=\"area ").count(), 7, "{html}");
        assert!(html.contains("<path class=\"area hidden\""), "{html}");
        assert_eq!(
            html.matches("<path class=\"area shade-0\"").count(),
            6,
            "{html}"
        );
        assert!(
            html.contains("<title>Punjab: fewer than 5, or not shown"),
            "{html}"
        );
        assert!(html.contains("<circle class=\"point hidden\""), "{html}");
        assert!(
            html.contains("Boundaries are indicative, not official"),
            "{html}"
        );
        assert!(
            html.contains(
                "href=\"/statistics?province=&amp;district=&amp;month=&amp;map=alerts#map\""
            ) || html.contains(
                "href=\"/statistics?province=&#38;district=&#38;month=&#38;map=alerts#map\""
            ),
            "{html}"
        );
        // The map of alerts: Punjab the darkest, with its six; Lahore's point the largest.
        let (_, _, html) = page(&n, "/statistics?map=alerts", &[]).await;
        assert!(html.contains("<path class=\"area shade-4\""), "{html}");
        assert!(html.contains("<title>Punjab: 6 alerts</title>"), "{html}");
        assert!(
            html.contains("r=\"14.0\"><title>Lahore: 6 alerts</title>"),
            "{html}"
        );
        // In Urdu.
        let (_, headers, html) = page(&n, "/statistics", &[("accept-language", "ur")]).await;
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("نہیں دکھایا گیا"), "{html}");
        // Places by their Urdu names, in the table and in the filters.
        assert!(html.contains("<th scope=\"row\">لاہور</th>"), "{html}");
        assert!(html.contains(">پنجاب</option>"), "{html}");
        assert!(!html.contains(">Lahore<"), "{html}");
        // Filters: a month with nothing in it, and filters that are not places or months.
        let (status, _, html) = page(&n, "/statistics?province=PB&month=2020-01", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<option value=\"PB\" selected>"), "{html}");
        assert_eq!(row_of(&html, "Alerts raised"), "0");
        let (status, _, html) = page(&n, "/statistics?district=XX-NOPE", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("id=\"district-error\""), "{html}");
        let (status, _, html) = page(&n, "/statistics?month=2026-13", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("id=\"month-error\""), "{html}");
        assert!(html.contains("value=\"2026-13\""), "{html}");
    })
    .await;
}

/// The figure shown for `label` on a statistics page.
fn row_of(html: &str, label: &str) -> String {
    let at = html
        .find(&format!("<dt>{label}</dt>"))
        .unwrap_or_else(|| panic!("{label}: {html}"));
    html[at..]
        .split("<bdi>")
        .nth(1)
        .unwrap()
        .split("</bdi>")
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alerts_poster_is_in_both_languages_and_says_when_the_child_is_found() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let id = alert_at(&n, "Ayesha", &["validated"]).await;
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"fir_registered","fir_number":"LHR-991/26","note":"suspect is the uncle"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, _, html) = page(&n, &format!("/alerts/{id}"), &[]).await;
        assert!(html.contains(&format!("href=\"/alerts/{id}/poster\"")), "{html}");
        for (lang, dir, first) in [("en", "ltr", "MISSING CHILD"), ("ur", "rtl", "لاپتہ بچہ")] {
            let (status, headers, html) =
                page(&n, &format!("/alerts/{id}/poster"), &[("accept-language", lang)]).await;
            assert_eq!(status, StatusCode::OK);
            assert_page(&headers, &html, lang, dir);
            // Both halves, the reader's language first, each naming the district in its own script.
            let (english, urdu) = (html.find("MISSING CHILD").unwrap(), html.find("لاپتہ بچہ").unwrap());
            assert_eq!(html.find(first).unwrap(), english.min(urdu), "{html}");
            assert!(html.contains("<section class=\"poster-half\" lang=\"ur\" dir=\"rtl\">"), "{html}");
            assert!(html.contains("Anarkali Bazaar") && html.contains("Lahore") && html.contains("لاہور"));
            // The public part only.
            assert!(!html.contains("LHR-991") && !html.contains("uncle"), "{html}");
        }
        let (_, body) = n
            .call("dpo", "POST", &format!("/api/v1/alerts/{id}/events"), r#"{"type":"recovered"}"#)
            .await;
        assert!(body.get("error").is_none(), "{body}");
        let (_, _, html) = page(&n, &format!("/alerts/{id}/poster"), &[]).await;
        assert!(html.contains("FOUND: no longer missing") && !html.contains("MISSING CHILD"), "{html}");
        let (status, _, _) = page(&n, "/alerts/0123456789abcdef0123456789abcdef/poster", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_says_which_node_this_is_and_whom_it_serves() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (status, headers, html) = page(&n, "/status", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("<bdi>lahore</bdi>") && html.contains("a district, Lahore"),
            "{html}"
        );
        // This test node runs without a network, and says so.
        assert!(html.contains("This node runs alone"), "{html}");
        let (_, headers, html) = page(&n, "/status", &[("accept-language", "ur")]).await;
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("ایک ضلع، لاہور"), "{html}");
        // Every page's footer links here.
        let (_, _, html) = page(&n, "/", &[]).await;
        assert!(html.contains("<a href=\"/status\">"), "{html}");
        // The federal node has no link upward.
        let f = node("federal", (1000, 1000));
        let (_, _, html) = page(&f, "/status", &[]).await;
        assert!(html.contains("this is the federal node"), "{html}");
    })
    .await;
}
