//! What the pages' tests share: a page GET and a form POST through the router, and the checks every page passes.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

use super::{Node, now_ms};

/// GETs `uri` from the public pages with these request headers; the answer's status, headers and body.
pub async fn page(
    n: &Node,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder().uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(n, request.body(Body::empty()).unwrap()).await
}

/// Checks what every page has: HTML, the security headers, its language and direction, nothing from outside
/// the node and no inline script or style.
pub fn assert_page(headers: &HeaderMap, html: &str, lang: &str, dir: &str) {
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"),
        "{headers:?}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        html.contains(&format!("<html lang=\"{lang}\" dir=\"{dir}\">")),
        "{html}"
    );
    // Nothing from outside the node, and no inline script or style.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    // Scripts only from the node's assets, never inline.
    assert!(
        html.matches("<script").count() == html.matches("<script src=\"/assets/").count()
            && !html.contains("style="),
        "{html}"
    );
}

/// POSTs a form to `uri` with these request headers; the answer's status, headers and body.
pub async fn post_form(
    n: &Node,
    uri: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let body: String = fields
        .iter()
        .map(|(k, v)| {
            let encode = |s: &str| -> String {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                            (b as char).to_string()
                        }
                        b' ' => "+".to_owned(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect()
            };
            format!("{}={}", encode(k), encode(v))
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(n, request.body(Body::from(body)).unwrap()).await
}

/// The value a `Set-Cookie` header of `headers` gives cookie `name`.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// `YYYY-MM-DDTHH:MM` in Pakistan Standard Time, `offset_ms` from now.
pub fn local_time(offset_ms: i64) -> String {
    let ms = now_ms() as i64 + offset_ms + 5 * 3_600_000;
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = hifazat_domain::calendar::civil_from_days(days);
    let in_day = ms.rem_euclid(86_400_000);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}",
        in_day / 3_600_000,
        in_day % 3_600_000 / 60_000
    )
}

/// Signs `who` (a role name from `users_for`) in to the officials' pages; the cookie header that carries the
/// session, and the session's anti-forgery token (from the sign-out form every official's page has).
pub async fn signed_in(n: &Node, who: &str) -> (String, String) {
    let (_, headers, _) = page(n, "/office/sign-in", &[]).await;
    let csrf = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
    let (status, headers, html) = post_form(
        n,
        "/office/sign-in",
        &[("cookie", &format!("hifazat_csrf={csrf}"))],
        &[("csrf", &csrf), ("token", &n.tokens[who])],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let cookie = format!(
        "hz_session={}",
        set_cookie(&headers, "hz_session").expect("a session cookie")
    );
    let (status, _, html) = page(n, "/office/node", &[("cookie", &cookie)]).await;
    assert!(
        status == StatusCode::OK || status == StatusCode::FORBIDDEN,
        "{status} {html}"
    );
    (cookie, hidden_csrf(&html))
}

/// The first hidden anti-forgery field's value in a page.
pub fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// POSTs a `multipart/form-data` form to `uri` with these request headers, text fields and files (field name,
/// file name, bytes); the answer's status, headers and body.
pub async fn post_multipart(
    n: &Node,
    uri: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
    files: &[(&str, &str, Vec<u8>)],
) -> (StatusCode, HeaderMap, String) {
    let boundary = "hifazat-test-boundary-7d1c";
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut request = Request::builder().method("POST").uri(uri).header(
        "content-type",
        format!("multipart/form-data; boundary={boundary}"),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(n, request.body(Body::from(body)).unwrap()).await
}

/// Sends `request` through the router; the answer's status, headers and body as text.
async fn answer(n: &Node, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = n.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
