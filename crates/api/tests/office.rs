//! The officials' sign-in through the router, no socket: the form and its anti-forgery token, a refused token in
//! the reader's language, the session's cookie (HttpOnly, SameSite=Strict, its lifetime), the office page of who
//! is signed in, signing out with and without the session's own token, and a removed user's session ending.

mod common;

use axum::http::{HeaderMap, StatusCode};
use hifazat_access::Users;

use common::web::*;
use common::*;

fn location(headers: &HeaderMap) -> &str {
    headers["location"].to_str().unwrap()
}

/// The hidden anti-forgery field's value in a page.
fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// Signs `who` in; the session cookie's value.
async fn sign_in(n: &Node, who: &str) -> String {
    let (status, headers, html) = page(n, "/office/sign-in", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
    assert_eq!(csrf_field(&html), csrf);
    let cookie = format!("hifazat_csrf={csrf}");
    let (status, headers, html) = post_form(
        n,
        "/office/sign-in",
        &[("cookie", &cookie)],
        &[("csrf", &csrf), ("token", &n.tokens[who])],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location(&headers), "/office");
    let set = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Max-Age=43200"),
        "{set}"
    );
    set_cookie(&headers, "hz_session").expect("a session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_signs_in_sees_their_office_and_signs_out() {
    within(async {
        let n = node("lahore", (1000, 1000));
        // Without a session the office sends the reader to sign in.
        let (status, headers, _) = page(&n, "/office", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location(&headers), "/office/sign-in");

        let (_, headers, html) = page(&n, "/office/sign-in", &[]).await;
        assert_page(&headers, &html, "en", "ltr");
        assert!(html.contains("type=\"password\""), "{html}");
        let (_, headers, html) = page(&n, "/office/sign-in", &[("accept-language", "ur")]).await;
        assert_page(&headers, &html, "ur", "rtl");
        assert!(html.contains("آپ کا ٹوکن"), "{html}");

        // A form without this node's anti-forgery token is refused, and so is a token no user holds.
        let (status, _, html) =
            post_form(&n, "/office/sign-in", &[], &[("token", &n.tokens["dpo"])]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("has expired"), "{html}");
        let (_, headers, _) = page(&n, "/office/sign-in", &[]).await;
        let csrf = set_cookie(&headers, "hifazat_csrf").unwrap();
        let cookie = format!("hifazat_csrf={csrf}; hifazat_lang=ur");
        let (status, headers, html) = post_form(
            &n,
            "/office/sign-in",
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("token", &format!("hz_{}", "0".repeat(64))),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&headers, "hz_session").is_none());
        assert!(html.contains("یہ ٹوکن اس نوڈ پر موجود نہیں"), "{html}");

        // The DPO's token begins a session: the office says who, in which role and area, in either language.
        let session = sign_in(&n, "dpo").await;
        let cookie = format!("hz_session={session}");
        let (status, headers, html) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html, "en", "ltr");
        assert!(
            html.contains("District Police Officer")
                && html.contains("Lahore")
                && html.contains(">dpo<"),
            "{html}"
        );
        assert!(!html.contains(&n.tokens["dpo"]), "the token is never shown");
        let (_, _, html_ur) = page(
            &n,
            "/office",
            &[("cookie", &format!("{cookie}; hifazat_lang=ur"))],
        )
        .await;
        assert!(
            html_ur.contains("ڈسٹرکٹ پولیس افسر") && html_ur.contains("لاہور"),
            "{html_ur}"
        );
        // Signed in, the sign-in form goes on to the office.
        let (status, headers, _) = page(&n, "/office/sign-in", &[("cookie", &cookie)]).await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/office")
        );

        // Signing out needs the session's own anti-forgery token.
        let token = csrf_field(&html);
        let (status, _, _) = post_form(
            &n,
            "/office/sign-out",
            &[("cookie", &cookie)],
            &[("csrf", "0")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a refused sign-out leaves the session"
        );
        let (status, headers, _) = post_form(
            &n,
            "/office/sign-out",
            &[("cookie", &cookie)],
            &[("csrf", &token)],
        )
        .await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/office/sign-in")
        );
        assert!(
            headers["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let (status, _, _) = page(&n, "/office", &[("cookie", &cookie)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the session is over");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_user_ends_their_sessions() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let officer = format!("hz_session={}", sign_in(&n, "station_officer").await);
        let ig = format!("hz_session={}", sign_in(&n, "ig").await);
        let (_, _, html) = page(&n, "/office", &[("cookie", &ig)]).await;
        assert!(
            html.contains("Inspector General of Police") && html.contains("Punjab"),
            "{html}"
        );
        Users::remove(n._dir.path(), "station_officer").unwrap();
        // The node reads its users' file again within a second of it changing.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let (status, headers, _) = page(&n, "/office", &[("cookie", &officer)]).await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/office/sign-in")
        );
        let (status, _, _) = page(&n, "/office", &[("cookie", &ig)]).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "only the removed user's sessions end"
        );
    })
    .await;
}
