//! The register's pages, the verification form and the auditors' pages through the router, no socket: a register
//! officer adds, finds and changes an entry (CNICs in form bodies only, every search a logged consultation); a
//! verifying institution checks CNICs; no other role, and no other node, shows anything of the register; an
//! auditor reads the logs, a log's checkpoint and a record's signed history, in both languages.

mod common;

use axum::http::StatusCode;

use common::web::*;
use common::*;

fn location(headers: &axum::http::HeaderMap) -> String {
    headers["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_officer_keeps_the_register_in_the_browser() {
    within(async {
        let n = node("federal", (1000, 1000));
        let (cookie, csrf) = signed_in(&n, "register_officer").await;
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("action=\"/office/register/search\"") && html.contains("no entries yet"),
            "{html}"
        );

        // A new entry; a CNIC that is not one is refused beside its field, in Urdu for an Urdu reader.
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("cnic", "35202-1234567-1"),
            ("name", "Naveed Akhtar"),
            ("relation", "son_of"),
            ("parent", "Akhtar Ali"),
            ("aliases", "Navi, Naveed Butt"),
            ("offence", "s.377-B PPC"),
            ("court", "Sessions Court Lahore"),
            ("date", "2021-05-10"),
            ("sentence", "7 years"),
            ("address", "House 12, Street 4, Shadbagh"),
            ("district", "PB-LHR"),
            ("since", "2024-01-15"),
        ];
        let mut bad = fields.clone();
        bad[1] = ("cnic", "12345");
        let ur = format!("{cookie}; hifazat_lang=ur");
        let (status, _, html) =
            post_form(&n, "/office/register/new", &[("cookie", &ur)], &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("href=\"#cnic\"") && html.contains("13 ہندسوں"),
            "{html}"
        );
        let (status, headers, html) =
            post_form(&n, "/office/register/new", &[("cookie", &cookie)], &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let created = location(&headers);
        let entry = created
            .strip_suffix("?done=1")
            .unwrap_or(&created)
            .to_owned();
        assert!(
            entry.starts_with("/office/register/offenders/") && !entry.contains("35202"),
            "{entry}"
        );
        let (_, _, html) = page(&n, &entry, &[("cookie", &cookie)]).await;
        assert!(
            html.contains("3520212345671")
                && html.contains("Naveed Butt")
                && html.contains("Shadbagh"),
            "{html}"
        );
        // The same CNIC again is refused as a duplicate, beside the field.
        fields[2] = ("name", "Someone Else");
        let (status, _, html) =
            post_form(&n, "/office/register/new", &[("cookie", &cookie)], &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("already on the register"), "{html}");

        // Found by CNIC (in the form's body); a CNIC with no entry says so beside the field.
        let (status, headers, _) = post_form(
            &n,
            "/office/register/search",
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("cnic", "3520212345671")],
        )
        .await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, entry.clone())
        );
        let (status, _, html) = post_form(
            &n,
            "/office/register/search",
            &[("cookie", &cookie)],
            &[("csrf", &csrf), ("cnic", "4210198765432")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("No entry has this CNIC."), "{html}");

        // A move, recorded in the register's log: the old address gets its end date.
        let id = entry.rsplit('/').next().unwrap();
        let (status, _, html) = post_form(
            &n,
            &format!("{entry}/updates"),
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("kind", "move"),
                ("address", "Flat 3, Gulberg III"),
                ("district", "PB-LHR"),
                ("since", "2026-11-01"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, body) = n
            .call(
                "register_officer",
                "GET",
                &format!("/api/v1/register/offenders/{id}"),
                "",
            )
            .await;
        assert_eq!(body["addresses"][0]["until"], "2026-11-01");
        assert_eq!(body["addresses"][1]["address"], "Flat 3, Gulberg III");
        // A change that does not apply is refused, not half made.
        let (status, _, html) = post_form(
            &n,
            &format!("{entry}/updates"),
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("kind", "move"),
                ("address", "Somewhere"),
                ("district", "PB-LHR"),
                ("since", "not a date"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

        // The searches are consultations, by this officer.
        let (status, _, html) =
            page(&n, "/office/register/consultations", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            html.matches("register_officer:register_officer").count(),
            2,
            "{html}"
        );
        for journal in ["alarms", "notices"] {
            let (status, _, _) = page(
                &n,
                &format!("/office/register/{journal}"),
                &[("cookie", &cookie)],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{journal}");
        }

        // An institution verifies: the answer in the reader's language, with its reference.
        let (vcookie, vcsrf) = signed_in(&n, "verifier").await;
        let (status, _, html) = page(&n, "/office", &[("cookie", &vcookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("action=\"/office/verify\""), "{html}");
        let (status, _, html) = post_form(
            &n,
            "/office/verify",
            &[("cookie", &vcookie)],
            &[("csrf", &vcsrf), ("cnic", "35202-1234567-1")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("On the register."), "{html}");
        let (_, _, html) = post_form(
            &n,
            "/office/verify",
            &[("cookie", &format!("{vcookie}; hifazat_lang=ur"))],
            &[("csrf", &vcsrf), ("cnic", "4210198765432")],
        )
        .await;
        assert!(html.contains("رجسٹر میں نہیں۔"), "{html}");
        let (status, _, html) = post_form(
            &n,
            "/office/verify",
            &[("cookie", &vcookie)],
            &[("csrf", &vcsrf), ("cnic", "12")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Enter a CNIC of 13 digits."), "{html}");
        let (status, _, _) = post_form(
            &n,
            "/office/verify",
            &[("cookie", &vcookie)],
            &[("csrf", "forged"), ("cnic", "3520212345671")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, _, html) = page(&n, "/office/register/consultations", &[("cookie", &cookie)]).await;
        assert_eq!(
            html.matches("verifier:verifier").count(),
            3,
            "the three checks (one not a CNIC), not the forged form: {html}"
        );

        // Nothing of the register for any other role: refused with why, and no entry shown anywhere they can go.
        for who in ["ministry", "auditor", "dpo", "ig", "verifier"] {
            let (c, _) = signed_in(&n, who).await;
            for uri in [
                "/office/register",
                "/office/register/consultations",
                "/office/register/new",
                entry.as_str(),
            ] {
                let (status, _, html) = page(&n, uri, &[("cookie", &c)]).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} {uri}");
                assert!(
                    !html.contains("Naveed") && !html.contains("3520212345671"),
                    "{who} {uri}: {html}"
                );
            }
            let (_, _, html) = page(&n, "/office", &[("cookie", &c)]).await;
            assert!(
                !html.contains("Naveed") && !html.contains("3520212345671"),
                "{who}: {html}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_have_no_register_pages() {
    within(async {
        let n = node("lahore", (1000, 1000));
        for who in ["ministry", "dpo", "auditor"] {
            let (cookie, csrf) = signed_in(&n, who).await;
            let (status, _, _) = page(&n, "/office/register", &[("cookie", &cookie)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
            let (status, _, _) = post_form(
                &n,
                "/office/verify",
                &[("cookie", &cookie)],
                &[("csrf", &csrf), ("cnic", "3520212345671")],
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_logs_checkpoints_and_a_records_signed_history() {
    within(async {
        let n = node("federal", (1000, 1000));
        let id = n.raise("Rabia").await;
        let (status, body) = n
            .call(
                "dpo",
                "POST",
                &format!("/api/v1/alerts/{id}/events"),
                r#"{"type":"validated"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (cookie, _) = signed_in(&n, "auditor").await;
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("hifazat audit export --data") && html.contains("hifazat audit verify"),
            "{html}"
        );
        assert!(
            html.contains("no node has signed two different entries"),
            "{html}"
        );
        // Every log held here is listed, linked to its page.
        let (_, logs) = n.call("auditor", "GET", "/api/v1/logs", "").await;
        let logs = logs.as_array().unwrap();
        assert!(!logs.is_empty());
        for log in logs {
            assert!(
                html.contains(&format!(
                    "/office/audit/logs/{}",
                    log["log"].as_str().unwrap()
                )),
                "{html}"
            );
        }
        let first = logs[0]["log"].as_str().unwrap();
        let (status, _, html) = page(
            &n,
            &format!("/office/audit/logs/{first}"),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains(first) && html.contains(logs[0]["root"].as_str().unwrap()),
            "{html}"
        );

        // The alert's history: its two changes, by whom, each with its proof.
        let (status, _, html) = page(
            &n,
            &format!("/office/audit/history?record={id}"),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!(
            html.matches("<bdi dir=\"ltr\">dpo:dpo</bdi>").count(),
            2,
            "{html}"
        );
        // A bad id and an unknown one come back to the form, saying why in the reader's language.
        let ur = format!("{cookie}; hifazat_lang=ur");
        let (status, _, html) =
            page(&n, "/office/audit/history?record=xyz", &[("cookie", &ur)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("32 ہیکساڈیسیمل"), "{html}");
        let (status, _, html) = page(
            &n,
            &format!("/office/audit/history?record={}", "0".repeat(32)),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("no alert or case with this id"), "{html}");

        // The history is the DPO's to read too (their district's alert), not a Karachi DPO's.
        let (dpo, _) = signed_in(&n, "dpo").await;
        let (status, _, _) = page(
            &n,
            &format!("/office/audit/history?record={id}"),
            &[("cookie", &dpo)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (karachi, _) = signed_in(&n, "dpo_karachi").await;
        let (status, _, _) = page(
            &n,
            &format!("/office/audit/history?record={id}"),
            &[("cookie", &karachi)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
