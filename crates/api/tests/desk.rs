//! The police's pages through the router, no socket: the station's work queue, an alert's and a case's page with
//! the steps an official records there (the same events the API writes), intake on a citizen's behalf, the list
//! of cases, refusals in the reader's language (outside one's area, another role's page, a forged form), and the
//! role matrix: every role of the demo against every official's page, with what each sees.

mod common;

use axum::http::StatusCode;

use common::web::*;
use common::*;

fn location(headers: &axum::http::HeaderMap) -> String {
    headers["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_validates_an_alert_from_its_queue() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let id = n.raise("Ayesha").await;
        let (cookie, csrf) = signed_in(&n, "dpo").await;

        // The queue lists it as waiting for validation, with the time left before it goes to the RPO.
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        let waiting = &html
            [html.find("id=\"waiting-title\"").unwrap()..html.find("id=\"open-title\"").unwrap()];
        assert!(
            waiting.contains(&format!("/office/alerts/{id}")) && waiting.contains("Ayesha"),
            "{waiting}"
        );
        assert!(
            waiting.contains("29 min") || waiting.contains("30 min"),
            "{waiting}"
        );
        // The page listens for changes on the official's own stream, and says so to the script.
        assert!(
            html.contains("data-stream=\"/office/events\"")
                && html.contains("id=\"queue\" data-live"),
            "{html}"
        );

        // The alert's page shows the restricted part and offers the DPO's steps.
        let (status, _, html) =
            page(&n, &format!("/office/alerts/{id}"), &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Aunt") && html.contains("+923451234567"),
            "the reporter: {html}"
        );
        assert!(
            html.contains(&format!("/office/audit/history?record={id}")),
            "a link to its signed history: {html}"
        );
        for step in [
            "validated",
            "mobilised",
            "fir_registered",
            "escalated",
            "closed",
        ] {
            assert!(
                html.contains(&format!("value=\"{step}\"")),
                "{step}: {html}"
            );
        }
        assert!(
            !html.contains("value=\"under_investigation\""),
            "a case's step is not an alert's"
        );

        // A forged form, or one without the session's token, is refused; the DPO's own validates, as the API would.
        let uri = format!("/office/alerts/{id}/steps");
        for fields in [
            &[("csrf", "forged"), ("step", "validated")][..],
            &[("step", "validated")][..],
        ] {
            let (status, _, _) = post_form(&n, &uri, &[("cookie", &cookie)], fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
        }
        let (status, headers, _) =
            post_form(&n, &uri, &[], &[("csrf", &csrf), ("step", "validated")]).await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/office/sign-in".into()),
            "no session"
        );
        let (status, headers, html) = post_form(
            &n,
            &uri,
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("step", "validated"),
                ("note", "Called the father back"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(
            location(&headers),
            format!("/office/alerts/{id}?done=validated#step")
        );
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(body["status"]["stage"], "validated");
        let event = &body["timeline"][1];
        assert_eq!(
            (event["type"].as_str(), event["by"].as_str()),
            (Some("validated"), Some("dpo:dpo"))
        );
        assert_eq!(event["note"], "Called the father back");
        let (_, _, html) = page(
            &n,
            &format!("/office/alerts/{id}?done=validated"),
            &[("cookie", &cookie)],
        )
        .await;
        assert!(
            html.contains("Recorded:") && html.contains("Called the father back"),
            "{html}"
        );

        // An FIR needs its number: said beside the field, in Urdu for an Urdu reader.
        let ur = format!("{cookie}; hifazat_lang=ur");
        let (status, _, html) = post_form(
            &n,
            &uri,
            &[("cookie", &ur)],
            &[("csrf", &csrf), ("step", "fir_registered")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("ایف آئی آر کا نمبر لکھیں") && html.contains("href=\"#fir_number\""),
            "{html}"
        );
        let (status, _, _) = post_form(
            &n,
            &uri,
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("step", "fir_registered"),
                ("fir_number", "FIR 123/2026"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(body["status"]["fir_numbers"][0], "FIR 123/2026");

        // Validated, it leaves the waiting list for the open alerts.
        let (_, _, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        let open = &html
            [html.find("id=\"open-title\"").unwrap()..html.find("id=\"sightings-title\"").unwrap()];
        assert!(open.contains(&format!("/office/alerts/{id}")), "{open}");
        assert!(
            html.contains("No alert is waiting for validation."),
            "{html}"
        );

        // A sighting taken by phone, recorded at the station, shows on the alert and in the queue.
        let (status, headers, html) = post_form(
            &n,
            &format!("/office/alerts/{id}/sightings"),
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("channel", "helpline15"),
                ("seen_at", &local_time(-600_000)),
                (
                    "description",
                    "Near the railway station, with a woman in black",
                ),
                ("anonymous", "yes"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(
            location(&headers),
            format!("/office/alerts/{id}?sent=1#sighting")
        );
        let (_, _, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert!(
            html.contains("Near the railway station") && html.contains("Helpline 15"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_takes_reports_on_a_citizens_behalf() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let (cookie, csrf) = signed_in(&n, "station_officer").await;
        let (status, _, html) = page(&n, "/office/raise", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("action=\"/office/raise\"") && html.contains("value=\"helpline1099\""),
            "{html}"
        );

        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("channel", "government_office"),
            ("office", "Assistant Commissioner's office, Model Town"),
            ("child_name", "Hamza"),
            ("age_years", "9"),
            ("sex", "male"),
            ("description", "Grey shalwar kameez"),
            ("district", "PB-LHR"),
            ("place", "Model Town park"),
            ("name", "Nasreen"),
            ("mobile", "0300 1234567"),
            ("police_notes", "Mother came in person"),
        ];
        let when = local_time(-3_600_000);
        fields.push(("last_seen_at", &when));
        // A channel the form does not offer is refused beside its field.
        let mut bad = fields.clone();
        bad[1] = ("channel", "citizen_portal");
        let (status, _, html) = post_form(&n, "/office/raise", &[("cookie", &cookie)], &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("href=\"#channel\""), "{html}");
        let (status, headers, html) =
            post_form(&n, "/office/raise", &[("cookie", &cookie)], &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let id = location(&headers)
            .strip_prefix("/office/alerts/")
            .unwrap()
            .to_owned();
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{id}"), "")
            .await;
        assert_eq!(body["public"]["channel"], "government_office");
        assert_eq!(
            body["restricted"]["office"],
            "Assistant Commissioner's office, Model Town"
        );
        assert_eq!(body["restricted"]["police_notes"], "Mother came in person");
        assert_eq!(body["timeline"][0]["by"], "station_officer:station_officer");

        // A complaint by helpline, anonymous: the case's page shows the tracking code to give the caller.
        let (status, _, html) = page(&n, "/office/cases/new", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("action=\"/office/cases/new\""), "{html}");
        let (status, headers, html) = post_form(
            &n,
            "/office/cases/new",
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("channel", "helpline15"),
                ("category", "domestic_violence"),
                ("district", "PB-LHR"),
                (
                    "description",
                    "A neighbour reports shouting and a woman hurt",
                ),
                ("anonymous", "yes"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let page_uri = location(&headers);
        let case = page_uri.strip_prefix("/office/cases/").unwrap().to_owned();
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{case}"), "")
            .await;
        assert_eq!(
            (body["channel"].as_str(), body["anonymous"].as_bool()),
            (Some("helpline15"), Some(true))
        );
        let code = body["tracking_code"].as_str().unwrap().to_owned();
        let (_, _, html) = page(&n, &page_uri, &[("cookie", &cookie)]).await;
        assert!(html.contains(&code) && html.contains("Anonymous"), "{html}");

        // The case moves through its steps from its page.
        let (status, _, _) = post_form(
            &n,
            &format!("/office/cases/{case}/steps"),
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("step", "under_investigation")],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/cases/{case}"), "")
            .await;
        assert_eq!(body["status"]["stage"], "under_investigation");

        // The list filters by stage and category; a filter that is not one is refused, not ignored.
        let (_, _, html) = page(
            &n,
            "/office/cases?stage=under_investigation",
            &[("cookie", &cookie)],
        )
        .await;
        assert!(html.contains(&format!("/office/cases/{case}")), "{html}");
        let (_, _, html) = page(&n, "/office/cases?stage=filed", &[("cookie", &cookie)]).await;
        assert!(!html.contains(&format!("/office/cases/{case}")), "{html}");
        let (status, _, _) = page(&n, "/office/cases?stage=lost", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

/// Every official's page, for each role of the federal node's users: the status it answers with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_matrix_over_the_officials_pages() {
    within(async {
        let n = node("federal", (1000, 1000));
        let alert = n.raise("Zainab").await;
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                "/api/v1/cases",
                &case("PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let case_id = body["id"].as_str().unwrap().to_owned();
        let alert_page = format!("/office/alerts/{alert}");
        let case_page = format!("/office/cases/{case_id}");
        let pages_: [&str; 8] = [
            "/office",
            "/office/alerts",
            "/office/cases",
            "/office/raise",
            "/office/cases/new",
            "/office/node",
            &alert_page,
            &case_page,
        ];
        const OK: u16 = 200;
        const NO: u16 = 403;
        let matrix: [(&str, [u16; 8]); 9] = [
            ("station_officer", [OK, OK, OK, OK, OK, OK, OK, OK]),
            ("dpo", [OK, OK, OK, OK, OK, OK, OK, OK]),
            ("rpo", [OK, OK, OK, OK, OK, OK, OK, OK]),
            ("ig", [OK, OK, OK, OK, OK, OK, OK, OK]),
            ("ministry", [OK, OK, OK, NO, NO, OK, OK, OK]),
            ("auditor", [OK, NO, NO, NO, NO, OK, OK, NO]),
            ("register_officer", [OK, NO, NO, NO, NO, OK, OK, NO]),
            ("verifier", [OK, NO, NO, NO, NO, OK, OK, NO]),
            ("dpo_karachi", [OK, OK, OK, OK, OK, OK, OK, NO]),
        ];
        for (who, expected) in matrix {
            let (cookie, _) = signed_in(&n, who).await;
            for (uri, want) in pages_.iter().zip(expected) {
                let (status, headers, html) = page(&n, uri, &[("cookie", &cookie)]).await;
                assert_eq!(status.as_u16(), want, "{who} {uri}: {html}");
                assert_page(&headers, &html, "en", "ltr");
                assert!(
                    html.contains("action=\"/office/sign-out\""),
                    "{who} {uri}: the desk"
                );
            }
            // What each sees of the alert: the whole record within their area, its public part outside it.
            let (_, _, html) = page(&n, &alert_page, &[("cookie", &cookie)]).await;
            let whole = matches!(who, "station_officer" | "dpo" | "rpo" | "ig" | "ministry");
            assert_eq!(html.contains("+923451234567"), whole, "{who}: {html}");
            assert_eq!(
                html.contains("outside your area"),
                who == "dpo_karachi",
                "{who}: {html}"
            );
            assert_eq!(
                html.contains("You see the public part"),
                !whole,
                "{who}: {html}"
            );
            let validates = matches!(who, "station_officer" | "dpo" | "rpo" | "ig");
            assert_eq!(html.contains("value=\"validated\""), validates, "{who}");
            // Lists hold exactly their area.
            if who == "dpo_karachi" || who == "ministry" {
                let (_, _, html) = page(&n, "/office/cases", &[("cookie", &cookie)]).await;
                assert_eq!(
                    html.contains(&case_page),
                    who == "ministry",
                    "{who}: {html}"
                );
            }
        }

        // A case outside one's area answers 403 with why, in the reader's language.
        let (cookie, csrf) = signed_in(&n, "dpo_karachi").await;
        let (status, _, html) = page(
            &n,
            &case_page,
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            html.contains("آپ کے علاقے سے باہر")
                && html.contains("لاہور")
                && html.contains("کراچی جنوبی"),
            "{html}"
        );
        let (status, _, html) = post_form(
            &n,
            &format!("{alert_page}/steps"),
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("step", "validated")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            html.contains("outside your area") && html.contains("Lahore"),
            "{html}"
        );
        let (_, body) = n
            .call("dpo", "GET", &format!("/api/v1/alerts/{alert}"), "")
            .await;
        assert_eq!(body["status"]["stage"], "raised", "nothing was recorded");
        // A step anyone may record (the child found) is taken from outside the area, as the API allows.
        let (status, _, _) = post_form(
            &n,
            &format!("{alert_page}/steps"),
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("step", "recovered")],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_and_the_province_see_their_districts_side_by_side() {
    within(async {
        // Alerts go to the RPO after a second here, so one can be late within the test.
        let topology = common::demo();
        let config = hifazat_sms::SmsConfig::parse(
            "[timing]\ncover_after_s = 1\nescalate_rpo_after_s = 1\nescalate_ig_after_s = 2\n",
            &hifazat_phone::TopologyPlaces(&topology),
        )
        .unwrap();
        let n = node_with_sms("punjab", config);
        let late = n.raise("Bushra").await;
        let escalated = n.raise("Kamran").await;
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{escalated}/events"),
                r#"{"type":"escalated","level":1}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for _ in 0..2 {
            let (status, body) = n
                .call(
                    "dpo",
                    "POST",
                    "/api/v1/cases",
                    &case("PB-LHR", "police_station"),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

        let (cookie, _) = signed_in(&n, "rpo").await;
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        // Escalated to the region: the one escalated, not the one merely late.
        let escalations = &html[html.find("id=\"escalated-title\"").unwrap()
            ..html.find("id=\"districts-title\"").unwrap()];
        assert!(
            escalations.contains(&format!("/office/alerts/{escalated}")),
            "{escalations}"
        );
        assert!(
            !escalations.contains(&format!("/office/alerts/{late}")),
            "{escalations}"
        );
        // Lahore's row: 2 open alerts, 2 late (neither validated), 1 escalated, 2 cases filed; Kasur's all zero.
        let row = |name: &str| -> Vec<String> {
            let at = html
                .find(&format!("<th scope=\"row\">{name}<br>"))
                .unwrap_or_else(|| panic!("{name}: {html}"));
            let tr = &html[at..at + html[at..].find("</tr>").unwrap()];
            tr.split("<bdi dir=\"ltr\">")
                .skip(1)
                .map(|c| c.split('<').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(row("Lahore"), ["2", "2", "1", "2", "0", "0", "0", "0"]);
        assert_eq!(row("Kasur"), ["0", "0", "0", "0", "0", "0", "0", "0"]);
        assert!(
            html.contains("/office/cases?district=PB-LHR")
                && html.contains("/office/alerts?district=PB-LHR"),
            "{html}"
        );
        // The map of the area: Punjab shaded, the other provinces outside it.
        assert!(
            html.contains("class=\"area outside\"") && html.contains("outside your area"),
            "{html}"
        );
        // Drill down: the district's alerts.
        let (status, _, list) = page(
            &n,
            "/office/alerts?district=PB-LHR&stage=raised",
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            list.contains(&format!("/office/alerts/{late}"))
                && list.contains(&format!("/office/alerts/{escalated}")),
            "{list}"
        );
        let (status, _, _) =
            page(&n, "/office/alerts?district=SD-KHS", &[("cookie", &cookie)]).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a district outside the region is not its to list"
        );

        // The IG sees escalations to the province only.
        let (cookie, _) = signed_in(&n, "ig").await;
        let (_, _, html) = page(
            &n,
            "/office",
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
        )
        .await;
        assert!(html.contains("پنجاب"), "{html}");
        assert!(
            html.contains("کوئی کھلا الرٹ اس دفتر کو نہیں بھیجا گیا۔"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ministry_sees_the_national_dashboard() {
    within(async {
        let n = node("federal", (1000, 1000));
        for name in ["Sana", "Ali", "Hina"] {
            n.raise(name).await;
        }
        let (status, body) = n
            .call(
                "dpo_karachi",
                "POST",
                "/api/v1/cases",
                &case("SD-KHS", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (cookie, _) = signed_in(&n, "ministry").await;
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        // Exact figures (3 alerts is below the public's threshold of 5, shown here as is).
        let total = &html[html.find("Alerts raised").expect("the alerts tile")..];
        assert!(total.contains("<bdi dir=\"ltr\">3</bdi>"), "{html}");
        // Two monthly charts drawn on the node, each with its numbers in a table; the current month has the 3.
        assert_eq!(
            html.matches("<svg class=\"chart-drawing\"").count(),
            2,
            "{html}"
        );
        assert_eq!(html.matches("<polyline class=\"line").count(), 4, "{html}");
        assert!(html.contains("<title>Reported: 3</title>"), "{html}");
        // The map with exact counts, and every other node with how fresh its part is.
        assert!(html.contains("class=\"map-drawing\""), "{html}");
        for node in [
            "punjab",
            "sindh",
            "lahore",
            "kasur",
            "karachi-south",
            "hyderabad",
        ] {
            assert!(
                html.contains(&format!("<bdi>{node}</bdi>")),
                "{node}: {html}"
            );
        }
        // In Urdu, the charts too.
        let (_, _, ur) = page(
            &n,
            "/office",
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
        )
        .await;
        assert!(
            ur.contains("قومی ڈیش بورڈ") && ur.contains("ہر مہینے کے الرٹس"),
            "{ur}"
        );
    })
    .await;
}
