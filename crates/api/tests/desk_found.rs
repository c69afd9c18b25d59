//! Photos and found children on the pages, through the router, with the script off (plain forms): an alert raised
//! with a photo on the officials' form and shown on its pages; a found child reported with a photo on the form
//! for it; the possible match on the report (with the alert's photo and the words "possible match, confirm in
//! person") and on the alert; a confirmation by the police where the child is; refusals in the reader's language
//! (another district's report, a photo with no face, a file that is not a photo).
//!
//! The photographs are face_recognition 1.3.0's test images (`target/faces/photos`, which
//! `scripts/faces/reference.sh` makes and the test command runs first).

mod common;

use std::time::Duration;

use axum::http::StatusCode;

use common::web::*;
use common::*;

fn photo(name: &str) -> Vec<u8> {
    reference_photo(name)
}

fn location(headers: &axum::http::HeaderMap) -> String {
    headers["location"].to_str().unwrap().to_owned()
}

fn found_fields<'a>(csrf: &'a str, found_at: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("district", "SD-KHS"),
        ("place", "Saddar bus stand"),
        ("position", ""),
        ("found_at", found_at),
        ("age", "6"),
        ("sex", "male"),
        ("description", "Blue shirt, says his name is Ali"),
        ("care", "shelter"),
        ("care_name", "Edhi Home, Kharadar"),
        ("police_notes", ""),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_child_meets_an_alert_on_the_pages() {
    within(async {
        let n = node_with_faces("federal");
        n.matcher.as_ref().unwrap().ready().await;
        // Lahore's DPO raises an alert with the child's photo on the officials' form.
        let (cookie, csrf) = signed_in(&n, "dpo").await;
        let seen = local_time(-3_600_000);
        let (status, headers, html) = post_multipart(
            &n,
            "/office/raise",
            &[("cookie", &cookie)],
            &[
                ("csrf", &csrf),
                ("channel", "police_station"),
                ("office", ""),
                ("child_name", "Ali"),
                ("age_years", "6"),
                ("sex", "male"),
                ("description", "Blue shirt"),
                ("district", "PB-LHR"),
                ("place", "Anarkali Bazaar"),
                ("last_seen_at", &seen),
                ("position", ""),
                ("name", "His mother"),
                ("mobile", "0300-1234567"),
                ("police_notes", ""),
            ],
            &[("photo", "ali.jpg", photo("obama.jpg"))],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let alert = location(&headers).rsplit('/').next().unwrap().to_owned();
        // The photo is on the alert's pages: the officials', the public's and the poster.
        for path in [
            format!("/office/alerts/{alert}"),
            format!("/alerts/{alert}"),
            format!("/alerts/{alert}/poster"),
        ] {
            let (status, headers, html) = page(&n, &path, &[("cookie", &cookie)]).await;
            assert_eq!(status, StatusCode::OK, "{path}: {html}");
            assert_page(&headers, &html, "en", "ltr");
            assert!(
                html.contains("<img src=\"/api/v1/photos/"),
                "{path}: {html}"
            );
            assert!(html.contains("alt=\"Photo of Ali\""), "{path}: {html}");
        }

        // Karachi South's DPO reports a found child with another photo of the same boy.
        let (kcookie, kcsrf) = signed_in(&n, "dpo_karachi").await;
        let (status, headers, html) = page(&n, "/office/found/new", &[("cookie", &kcookie)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page(&headers, &html, "en", "ltr");
        assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("type=\"file\""));
        let found_at = local_time(-600_000);
        // A photo with no face, and a file that is not a photo, are refused beside the field, in words.
        let flat = {
            let image = image::RgbImage::from_pixel(300, 300, image::Rgb([90, 90, 90]));
            let mut out = Vec::new();
            image::DynamicImage::ImageRgb8(image)
                .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        };
        for (bytes, words) in [
            (flat, "No face was found in this photo"),
            (b"not a photo".to_vec(), "This is not a JPEG or PNG photo"),
        ] {
            let (status, _, html) = post_multipart(
                &n,
                "/office/found/new",
                &[("cookie", &kcookie)],
                &found_fields(&kcsrf, &found_at),
                &[("photos", "child.jpg", bytes)],
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
            assert!(html.contains(words), "{html}");
            assert!(html.contains("id=\"photos-error\""), "{html}");
        }
        let (status, headers, html) = post_multipart(
            &n,
            "/office/found/new",
            &[("cookie", &kcookie)],
            &found_fields(&kcsrf, &found_at),
            &[("photos", "child.jpg", photo("obama2.jpg"))],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let report_path = location(&headers);
        assert!(report_path.ends_with("?done=reported"), "{report_path}");
        let report = report_path
            .trim_start_matches("/office/found/")
            .trim_end_matches("?done=reported")
            .to_owned();

        // The report shows its photo and, once compared, the possible match with the alert's photo.
        let mut html = String::new();
        for _ in 0..300 {
            let (status, _, got) = page(&n, &report_path, &[("cookie", &kcookie)]).await;
            assert_eq!(status, StatusCode::OK, "{got}");
            html = got;
            if html.contains("class=\"match\"") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(html.contains("The found child is reported"), "{html}");
        assert!(
            html.contains(&format!("/office/found/{report}/photos/0")),
            "{html}"
        );
        assert!(
            html.contains("class=\"match\""),
            "no possible match shown: {html}"
        );
        assert!(html.contains("Possible match, confirm in person"), "{html}");
        assert!(html.contains(&format!("/office/alerts/{alert}")), "{html}");
        assert!(
            html.contains("value=\"confirmed\"") && html.contains("value=\"rejected\""),
            "{html}"
        );
        let (_, headers, _) = page(&n, &report_path, &[("cookie", &kcookie)]).await;
        assert_page(&headers, &html, "en", "ltr");
        // In Urdu too, right to left.
        let ur = format!("{kcookie}; hifazat_lang=ur");
        let (status, headers, html_ur) =
            page(&n, &format!("/office/found/{report}"), &[("cookie", &ur)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_page(&headers, &html_ur, "ur", "rtl");
        assert!(
            html_ur.contains("ممکنہ میچ، خود جا کر تصدیق کریں"),
            "{html_ur}"
        );
        // The found child's photo for the police there, not for Lahore's.
        let (status, headers, _) = page(
            &n,
            &format!("/office/found/{report}/photos/0"),
            &[("cookie", &kcookie)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "image/jpeg");
        let (status, _, _) = page(
            &n,
            &format!("/office/found/{report}/photos/0"),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Lahore's DPO sees the possible match on the alert, and is refused the report, in words.
        let (_, _, html) = page(
            &n,
            &format!("/office/alerts/{alert}"),
            &[("cookie", &cookie)],
        )
        .await;
        assert!(html.contains("id=\"matches\""), "{html}");
        assert!(html.contains(&format!("/office/found/{report}")), "{html}");
        // Where the child was found: the district of the node that compared the faces (here the federal node
        // itself, which has none, so its name).
        assert!(html.contains("a child found at federal"), "{html}");
        let (status, _, html) = page(
            &n,
            &format!("/office/found/{report}"),
            &[("cookie", &cookie)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert!(
            html.contains("This found child belongs to a district outside your area"),
            "{html}"
        );
        // The public's page of the alert says nothing of it.
        let (_, _, html) = page(&n, &format!("/alerts/{alert}"), &[]).await;
        assert!(
            !html.contains("Possible match") && !html.contains(&report),
            "{html}"
        );

        // Karachi South's queue says a found child's possible match waits to be checked.
        let (_, _, html) = page(&n, "/office", &[("cookie", &kcookie)]).await;
        assert!(
            html.contains("/office/found?open=1") && html.contains("possible matches to check"),
            "{html}"
        );
        // Karachi South's DPO confirms it in person: the alert has a sighting where the child was found.
        let (status, headers, html) = post_form(
            &n,
            &format!("/office/found/{report}/matches/{alert}"),
            &[("cookie", &kcookie)],
            &[
                ("csrf", &kcsrf),
                ("decision", "confirmed"),
                ("note", "His mother came to the shelter"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, _, html) = page(&n, &location(&headers), &[("cookie", &kcookie)]).await;
        assert!(html.contains("The match is confirmed"), "{html}");
        assert!(html.contains("Confirmed in person"), "{html}");
        assert!(
            !html.contains("value=\"confirmed\""),
            "no second decision: {html}"
        );
        let (_, _, html) = page(
            &n,
            &format!("/office/alerts/{alert}"),
            &[("cookie", &cookie)],
        )
        .await;
        assert!(
            html.contains("Confirmed in person") && html.contains("Saddar bus stand"),
            "{html}"
        );
        // A forged decision (no session token) is refused.
        let (status, _, _) = post_form(
            &n,
            &format!("/office/found/{report}/matches/{alert}"),
            &[("cookie", &kcookie)],
            &[("csrf", "forged"), ("decision", "rejected")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The list, and the step that ends it.
        let (status, _, html) = page(&n, "/office/found", &[("cookie", &kcookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("/office/found/{report}")), "{html}");
        let (status, _, _) = post_form(
            &n,
            &format!("/office/found/{report}/steps"),
            &[("cookie", &kcookie)],
            &[("csrf", &kcsrf), ("step", "handed_to_family"), ("note", "")],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, html) = page(
            &n,
            &format!("/office/found/{report}"),
            &[("cookie", &kcookie)],
        )
        .await;
        assert!(html.contains("Handed to the family"), "{html}");
        // Roles that do not see found children get their page's refusal.
        let (rcookie, _) = signed_in(&n, "register_officer").await;
        let (status, _, _) = page(&n, "/office/found", &[("cookie", &rcookie)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_raises_an_alert_with_a_photo() {
    within(async {
        let n = node_with_faces("lahore");
        let (_, headers, html) = page(&n, "/raise", &[]).await;
        let csrf = set_cookie(&headers, "hifazat_csrf").unwrap();
        assert!(html.contains("enctype=\"multipart/form-data\""));
        let seen = local_time(-3_600_000);
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("child_name", "Sana"),
            ("age_years", "9"),
            ("sex", "female"),
            ("description", "Green shalwar kameez"),
            ("district", "PB-LHR"),
            ("place", "Mall Road"),
            ("last_seen_at", seen.as_str()),
            ("position", ""),
            ("name", "Her father"),
            ("mobile", ""),
        ];
        let cookie = format!("hifazat_csrf={csrf}");
        // A missing mobile number is refused; the photo sent is kept with the form, not asked for again.
        let (status, _, html) = post_multipart(
            &n,
            "/raise",
            &[("cookie", &cookie)],
            &fields,
            &[("photo", "sana.jpg", photo("biden.jpg"))],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("name=\"photo_ref\" value=\""), "{html}");
        assert!(
            html.contains("The photo you sent is kept with this form"),
            "{html}"
        );
        let at = html.find("name=\"photo_ref\" value=\"").unwrap() + 24;
        let photo_ref = html[at..].split('"').next().unwrap().to_owned();
        fields.retain(|(k, _)| *k != "mobile");
        fields.push(("mobile", "0300-7654321"));
        fields.push(("photo_ref", &photo_ref));
        let (status, headers, html) =
            post_multipart(&n, "/raise", &[("cookie", &cookie)], &fields, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, _, html) = page(&n, &location(&headers), &[]).await;
        assert!(
            html.contains(&format!("<img src=\"/api/v1/photos/{photo_ref}\"")),
            "{html}"
        );
        // And on the home page's card.
        let (_, _, html) = page(&n, "/", &[]).await;
        assert!(
            !html.contains("<img") || html.contains(&photo_ref),
            "{html}"
        );
        // A file that is too large is refused in words, not with a bare error.
        let (status, _, html) = post_multipart(
            &n,
            "/raise",
            &[("cookie", &cookie)],
            &fields,
            &[("photo", "big.jpg", vec![0xFF; 6 * 1024 * 1024])],
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(html.contains("This photo is too large"), "{html}");
    })
    .await;
}
