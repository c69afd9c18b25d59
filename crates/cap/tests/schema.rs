//! Every kind of message, and the feed's inline messages, validate against the OASIS CAP 1.2 schema (xmllint).

use std::path::{Path, PathBuf};
use std::process::Command;

use hifazat_cap::{AlertView, Entry, Feed, MsgType, feed, message};
use hifazat_domain::{AlertPublic, Channel, Event, EventKind, Place, RecordId, Sex, alert_status};
use hifazat_topology::Topology;

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/CAP-v1.2.xsd")
}

/// Validates `xml` against the CAP schema with xmllint; the error is xmllint's own words.
fn validate(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alert.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils; scripts/test.sh installs it)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn demo() -> Topology {
    Topology::parse(include_str!("../../../topology/demo.toml")).unwrap()
}

fn public(name: &str) -> AlertPublic {
    AlertPublic {
        child_name: name.into(),
        age_years: 6,
        sex: Sex::Female,
        photo_ref: None,
        description: "Yellow shalwar kameez & red <sandals>; answers to \"Guddu\"".into(),
        last_seen: Place {
            district: "PB-LHR".into(),
            lat: 31.5497,
            lon: 74.3436,
            text: "Anarkali Bazaar, near the old gate".into(),
        },
        last_seen_at_ms: 1_795_000_000_000,
        contact_line: "1099".into(),
        channel: Channel::PoliceStation,
    }
}

fn event(kind: EventKind, at_ms: u64) -> Event {
    Event {
        kind,
        at_ms,
        by: "dpo:secret-officer".into(),
        node: "lahore".into(),
        note: Some("police note: uncle-lead-3".into()),
    }
}

#[test]
fn alerts_updates_and_cancels_validate_against_cap_1_2() {
    let topology = demo();
    let id = RecordId([7; 16]);
    let p = public("Zara Bibi زارا");
    let t0 = 1_795_000_100_000;
    let stages: Vec<(Vec<Event>, MsgType)> = vec![
        (vec![event(EventKind::Raised, t0)], MsgType::Alert),
        (
            vec![
                event(EventKind::Raised, t0),
                event(EventKind::Validated, t0 + 60_000),
            ],
            MsgType::Alert,
        ),
        (
            vec![
                event(EventKind::Raised, t0),
                event(EventKind::Validated, t0 + 60_000),
                event(EventKind::Recovered, t0 + 7_200_000),
            ],
            MsgType::Update,
        ),
        (
            vec![
                event(EventKind::Raised, t0),
                event(EventKind::Recovered, t0 + 7_200_000),
                event(EventKind::Closed, t0 + 9_000_000),
            ],
            MsgType::Cancel,
        ),
        (
            vec![
                event(EventKind::Raised, t0),
                event(EventKind::Closed, t0 + 5_000),
            ],
            MsgType::Cancel,
        ),
    ];
    let mut entries = Vec::new();
    for (timeline, want) in stages {
        let status = alert_status(&timeline);
        let view = AlertView {
            id: &id,
            public: &p,
            status: &status,
            timeline: &timeline,
        };
        let m = message(&view, &topology);
        assert_eq!(m.msg_type, want);
        let doc = m.document();
        validate(&doc).unwrap_or_else(|e| panic!("{want:?} does not validate: {e}\n{doc}"));
        // English and Urdu, and nothing restricted.
        assert!(doc.contains("<language>en-PK</language>"), "{doc}");
        assert!(doc.contains("<language>ur-PK</language>"), "{doc}");
        for secret in ["secret-officer", "uncle-lead-3", "dpo:"] {
            assert!(!doc.contains(secret), "{secret} in {doc}");
        }
        assert!(doc.contains("Zara Bibi زارا"));
        assert!(doc.contains("&amp; red &lt;sandals&gt;"));
        assert!(
            doc.contains("<circle>31.5497,74.3436 10.0</circle>"),
            "{doc}"
        );
        // Each language names the district in its own script: the Urdu block in Urdu, the English in English.
        let (en, ur) = doc.split_once("<language>ur-PK</language>").unwrap();
        assert!(en.contains("Lahore") && !en.contains("لاہور"), "{en}");
        let said = ur
            .split("<description>")
            .nth(1)
            .unwrap()
            .split("</description>")
            .next()
            .unwrap();
        assert!(said.contains("لاہور") && !said.contains("Lahore"), "{said}");
        match want {
            MsgType::Alert => {
                assert!(!doc.contains("<references>"));
                assert!(doc.contains("لاپتہ بچہ"));
                let certainty = if status.first_validated_ms.is_some() {
                    "Observed"
                } else {
                    "Possible"
                };
                assert!(doc.contains(&format!("<certainty>{certainty}</certainty>")));
            }
            MsgType::Update => {
                let original = format!(
                    "<references>urn:hifazat:node:lahore,urn:hifazat:alert:{id},{}</references>",
                    hifazat_cap::pkt(t0)
                );
                assert!(doc.contains(&original), "{doc}");
                assert!(doc.contains("<responseType>AllClear</responseType>"));
            }
            MsgType::Cancel => {
                assert!(doc.contains(&format!("urn:hifazat:alert:{id}:closed")));
                assert!(doc.contains(&format!(",urn:hifazat:alert:{id},")), "{doc}");
            }
        }
        entries.push(Entry {
            cap_url: format!("http://127.0.0.1:8080/api/v1/alerts/{id}/cap?x=1&y=2"),
            message: m,
        });
    }

    // The feed is well-formed, and each message inside it validates on its own.
    let atom = feed(
        &Feed {
            url: "http://127.0.0.1:8080/api/v1/alerts.atom",
            title: "Missing children",
            now_ms: t0,
        },
        &entries,
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, &atom).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inline = inline_alerts(&atom);
    assert_eq!(inline.len(), entries.len());
    for alert in inline {
        validate(&alert).unwrap_or_else(|e| panic!("an inline alert: {e}\n{alert}"));
    }
}

/// The `<alert>` elements inside a feed, each as a document.
pub fn inline_alerts(atom: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = atom;
    while let Some(start) = rest.find("<alert xmlns=") {
        let end = rest[start..].find("</alert>").expect("closed") + start + "</alert>".len();
        found.push(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
            &rest[start..end]
        ));
        rest = &rest[end..];
    }
    found
}

#[test]
fn a_broken_message_fails_validation() {
    // The check itself can fail: a message with a status CAP does not know is refused.
    let topology = demo();
    let id = RecordId([1; 16]);
    let p = public("Ali");
    let timeline = vec![event(EventKind::Raised, 1_795_000_100_000)];
    let status = alert_status(&timeline);
    let m = message(
        &AlertView {
            id: &id,
            public: &p,
            status: &status,
            timeline: &timeline,
        },
        &topology,
    );
    let broken = m
        .document()
        .replace("<status>Actual</status>", "<status>Maybe</status>");
    assert!(validate(&broken).is_err());
}

#[test]
fn the_schema_is_the_standard_one() {
    // The copy under tests/data is the OASIS schema as the project's standards folder holds it.
    let standard =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/standards/CAP-v1.2.xsd");
    if let Ok(original) = std::fs::read(&standard) {
        assert_eq!(std::fs::read(schema()).unwrap(), original);
    }
}
