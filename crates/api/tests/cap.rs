//! CAP over the API: each alert's message at every stage, and the Atom feed, checked with xmllint against the
//! OASIS CAP 1.2 schema.

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

mod common;

use common::*;

/// Runs xmllint on `xml`, against the CAP schema when `schema` is set; the error is xmllint's own words.
fn xmllint(xml: &str, schema: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let mut command = Command::new("xmllint");
    command.arg("--noout");
    if schema {
        command
            .arg("--schema")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../cap/tests/data/CAP-v1.2.xsd"));
    }
    let out = command
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils; scripts/test.sh installs it)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn get_xml(n: &Node, uri: &str) -> (StatusCode, String, String) {
    let response = n
        .router
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "127.0.0.1:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|c| c.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

async fn event(n: &Node, id: &str, kind: &str) {
    let (status, body) = n
        .call(
            "dpo",
            "POST",
            &format!("/api/v1/alerts/{id}/events"),
            &format!(r#"{{"type":"{kind}","note":"private-note-77"}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_served_as_valid_cap_and_in_an_atom_feed() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let unvalidated = n.raise("Unvalidated Child").await;
        let active = n.raise("Active Child").await;
        let recovered = n.raise("Recovered Child").await;
        let closed = n.raise("Closed Child").await;
        for id in [&active, &recovered, &closed] {
            event(&n, id, "validated").await;
        }
        event(&n, &recovered, "recovered").await;
        event(&n, &closed, "closed").await;

        for (id, msg_type, certainty) in [
            (&unvalidated, "Alert", "Possible"),
            (&active, "Alert", "Observed"),
            (&recovered, "Update", "Observed"),
            (&closed, "Cancel", "Observed"),
        ] {
            let (status, content_type, xml) =
                get_xml(&n, &format!("/api/v1/alerts/{id}/cap")).await;
            assert_eq!(status, StatusCode::OK, "{xml}");
            assert!(content_type.starts_with("application/cap+xml"));
            xmllint(&xml, true).unwrap_or_else(|e| panic!("{msg_type}: {e}\n{xml}"));
            assert!(xml.contains(&format!("<msgType>{msg_type}</msgType>")), "{xml}");
            assert!(xml.contains(&format!("<certainty>{certainty}</certainty>")), "{xml}");
            assert!(xml.contains("<language>ur-PK</language>"));
            if msg_type != "Alert" {
                assert!(
                    xml.contains(&format!(
                        "<references>urn:hifazat:node:lahore,urn:hifazat:alert:{id},"
                    )),
                    "{xml}"
                );
            }
            // The public part only.
            for secret in ["+923451234567", "Aunt", "private-note-77", "dpo:"] {
                assert!(!xml.contains(secret), "{secret} in {xml}");
            }
        }

        let (status, content_type, atom) = get_xml(&n, "/api/v1/alerts.atom").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/atom+xml"));
        xmllint(&atom, false).unwrap_or_else(|e| panic!("the feed: {e}\n{atom}"));
        assert!(atom.contains(
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"http://127.0.0.1:8080/api/v1/alerts.atom\"/>"
        ));
        // Validated alerts only: the active one, and the ended ones with their Update and Cancel.
        assert!(!atom.contains("Unvalidated Child"), "{atom}");
        for id in [&active, &recovered, &closed] {
            assert!(
                atom.contains(&format!("href=\"http://127.0.0.1:8080/api/v1/alerts/{id}/cap\"")),
                "{id} not in {atom}"
            );
        }
        let mut inline = 0;
        let mut rest = atom.as_str();
        while let Some(start) = rest.find("<alert xmlns=") {
            let end = rest[start..].find("</alert>").unwrap() + start + "</alert>".len();
            let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", &rest[start..end]);
            xmllint(&doc, true).unwrap_or_else(|e| panic!("an inline alert: {e}\n{doc}"));
            inline += 1;
            rest = &rest[end..];
        }
        assert_eq!(inline, 3);
        assert!(atom.contains("<msgType>Update</msgType>") && atom.contains("<msgType>Cancel</msgType>"));

        // A forged Host header does not break the feed's markup.
        let response = n
            .router
            .clone()
            .oneshot(
                Request::get("/api/v1/alerts.atom")
                    .header("host", "\"><x>")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let atom = String::from_utf8(bytes.to_vec()).unwrap();
        xmllint(&atom, false).unwrap();
        assert!(atom.contains("http://localhost/api/v1/alerts.atom"));

        let (status, _, _) = get_xml(&n, "/api/v1/alerts/00000000000000000000000000000000/cap").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}
