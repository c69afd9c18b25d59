//! Every operation of the API over real HTTP, against `hifazat serve` as a process on 127.0.0.24 (a district node)
//! and 127.0.0.25 (a federal node, for the register): each answers as documented through a real socket, and the
//! test checks it called every operation the OpenAPI document lists.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use hifazat_tests::{Stopper, add_user, alert_body, case_body, http_as, id_of, init, start};

const HOST: &str = "127.0.0.24";
const FEDERAL_HOST: &str = "127.0.0.25";

fn offender_body(cnic: &str) -> String {
    format!(
        r#"{{"cnic":"{cnic}","name":"Shahid Mehmood","parentage":{{"relation":"son_of","name":"Ghulam Rasool"}},
            "convictions":[{{"offence":"s.376 PPC","court":"Anti-Rape Special Court Kasur","date":"2022-03-14",
            "sentence":"10 years"}}],
            "address":{{"address":"Mohalla Rasheedabad","district":"PB-KSR","since":"2019-06-01"}}}}"#
    )
}

/// Calls the node and records which documented operation was called.
struct Client {
    addr: SocketAddr,
    called: BTreeSet<(String, String)>,
}

impl Client {
    fn call(
        &mut self,
        token: Option<&str>,
        method: &str,
        template: &str,
        path: &str,
        body: &str,
    ) -> (u16, String) {
        self.called.insert((method.to_owned(), template.to_owned()));
        http_as(self.addr, token, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn expect(
        &mut self,
        token: Option<&str>,
        method: &str,
        template: &str,
        path: &str,
        body: &str,
        want: u16,
    ) -> serde_json::Value {
        let (status, text) = self.call(token, method, template, path, body);
        assert_eq!(status, want, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

/// Opens a live event stream at `path` (as `token`'s user, or the public) and returns the socket once the response
/// head has arrived.
fn open_stream(addr: SocketAddr, path: &str, token: Option<&str>) -> (TcpStream, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

/// Reads the stream until `needle` has come, or fails after ten seconds.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "{needle} never came: {seen}");
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    seen
}

#[test]
fn every_operation_answers_over_real_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    assert!(init("lahore", &data).status.success());
    let dpo = add_user(
        &data,
        &[
            "--role",
            "dpo",
            "--name",
            "dpo-lahore",
            "--district",
            "PB-LHR",
        ],
    );
    let ministry = add_user(&data, &["--role", "ministry", "--name", "ministry"]);
    let (child, addr) = start(HOST, &data);
    let _node = Stopper(child);
    let mut c = Client {
        addr,
        called: BTreeSet::new(),
    };
    let (dpo, ministry) = (Some(dpo.as_str()), Some(ministry.as_str()));

    let health = c.expect(None, "GET", "/healthz", "/healthz", "", 200);
    assert_eq!(health["status"], "ok");

    // The live stream is open before anything happens, so it hears the alert being raised.
    let (mut stream, head) = open_stream(addr, "/api/v1/events?kind=alert", dpo);
    c.called.insert(("GET".into(), "/api/v1/events".into()));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");

    // Alerts.
    let body = c.expect(
        dpo,
        "POST",
        "/api/v1/alerts",
        "/api/v1/alerts",
        &alert_body(1),
        201,
    );
    let alert = body["id"].as_str().unwrap().to_owned();
    let heard = read_until(&mut stream, &alert);
    assert!(heard.contains("event: change"), "{heard}");
    drop(stream);
    let listed = c.expect(
        None,
        "GET",
        "/api/v1/alerts",
        "/api/v1/alerts?district=PB-LHR&limit=5",
        "",
        200,
    );
    assert_eq!(listed["items"][0]["id"], alert.as_str());
    let one = c.expect(
        None,
        "GET",
        "/api/v1/alerts/{id}",
        &format!("/api/v1/alerts/{alert}"),
        "",
        200,
    );
    assert!(one.get("restricted").is_none(), "the public view: {one}");
    let one = c.expect(
        dpo,
        "GET",
        "/api/v1/alerts/{id}",
        &format!("/api/v1/alerts/{alert}"),
        "",
        200,
    );
    assert_eq!(one["restricted"]["reporter"]["mobile"], "+923001234567");
    c.expect(
        dpo,
        "POST",
        "/api/v1/alerts/{id}/events",
        &format!("/api/v1/alerts/{alert}/events"),
        r#"{"type":"validated","note":"family called back"}"#,
        201,
    );
    let seen_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        - 60_000;
    let tip = c.expect(
        None,
        "POST",
        "/api/v1/alerts/{id}/sightings",
        &format!("/api/v1/alerts/{alert}/sightings"),
        &format!(r#"{{"seen_at_ms":{seen_at},"description":"near the shrine","channel":"sms"}}"#),
        201,
    );
    assert_eq!(tip["sightings"], 1);
    let (status, cap) = c.call(
        None,
        "GET",
        "/api/v1/alerts/{id}/cap",
        &format!("/api/v1/alerts/{alert}/cap"),
        "",
    );
    assert_eq!(status, 200);
    assert!(cap.contains("<msgType>Alert</msgType>"), "{cap}");
    let (status, atom) = c.call(
        None,
        "GET",
        "/api/v1/alerts.atom",
        "/api/v1/alerts.atom",
        "",
    );
    assert_eq!(status, 200);
    assert!(
        atom.contains(&format!("http://{addr}/api/v1/alerts/{alert}/cap")),
        "{atom}"
    );

    // Cases.
    let filed = c.expect(
        None,
        "POST",
        "/api/v1/cases",
        "/api/v1/cases",
        &case_body("PB-LHR", 1).replace("helpline1099", "citizen_portal"),
        201,
    );
    let case = id_of(&filed.to_string());
    let code = filed["tracking_code"].as_str().unwrap().to_owned();
    let cases = c.expect(
        dpo,
        "GET",
        "/api/v1/cases",
        "/api/v1/cases?category=harassment",
        "",
        200,
    );
    assert_eq!(cases["items"][0]["id"], case.as_str());
    c.expect(None, "GET", "/api/v1/cases", "/api/v1/cases", "", 401);
    let full = c.expect(
        dpo,
        "GET",
        "/api/v1/cases/{id}",
        &format!("/api/v1/cases/{case}"),
        "",
        200,
    );
    assert_eq!(full["anonymous"], true);
    c.expect(
        dpo,
        "POST",
        "/api/v1/cases/{id}/events",
        &format!("/api/v1/cases/{case}/events"),
        r#"{"type":"fir_registered","fir_number":"FIR-88/2026"}"#,
        201,
    );
    let tracked = c.expect(
        None,
        "GET",
        "/api/v1/track/{code}",
        &format!("/api/v1/track/{code}"),
        "",
        200,
    );
    assert_eq!(tracked["status"]["fir_registered"], true);
    assert!(!tracked.to_string().contains("FIR-88"), "{tracked}");

    // The conversation: the complainant's live stream hears the police's answer; a new code ends the old one.
    c.called
        .insert(("GET".into(), "/api/v1/track/{code}/events".into()));
    let (mut live, head) = open_stream(c.addr, &format!("/api/v1/track/{code}/events"), None);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    c.expect(
        None,
        "POST",
        "/api/v1/track/{code}/messages",
        &format!("/api/v1/track/{code}/messages"),
        r#"{"text":"Is there any news?"}"#,
        201,
    );
    c.expect(
        dpo,
        "POST",
        "/api/v1/cases/{id}/messages",
        &format!("/api/v1/cases/{case}/messages"),
        r#"{"text":"The FIR is registered"}"#,
        201,
    );
    let heard = read_until(&mut live, "The FIR is registered");
    assert!(heard.contains("event: message"), "{heard}");
    drop(live);
    let renewed = c.expect(
        dpo,
        "POST",
        "/api/v1/cases/{id}/tracking-code",
        &format!("/api/v1/cases/{case}/tracking-code"),
        "",
        201,
    );
    assert_ne!(renewed["tracking_code"], code.as_str());

    // Break-glass: Lahore's DPO sees an alert raised for Karachi South for a while, for a reason; a case of
    // Lahore's needs none (every official at Lahore's node is of Lahore's line).
    let mut karachi: serde_json::Value = serde_json::from_str(&alert_body(2)).unwrap();
    karachi["last_seen"] = serde_json::json!({"district": "SD-KHS", "lat": 24.85, "lon": 67.01});
    let karachi = c.expect(
        dpo,
        "POST",
        "/api/v1/alerts",
        "/api/v1/alerts",
        &karachi.to_string(),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let why = r#"{"reason":"A girl at Lahore's station says she is from Karachi","minutes":5}"#;
    let granted = c.expect(
        dpo,
        "POST",
        "/api/v1/alerts/{id}/break-glass",
        &format!("/api/v1/alerts/{karachi}/break-glass"),
        why,
        201,
    );
    assert_eq!(granted["use"]["by"], "dpo:dpo-lahore");
    c.expect(
        dpo,
        "POST",
        "/api/v1/cases/{id}/break-glass",
        &format!("/api/v1/cases/{case}/break-glass"),
        why,
        409,
    );
    let uses = c.expect(
        ministry,
        "GET",
        "/api/v1/break-glass",
        "/api/v1/break-glass",
        "",
        200,
    );
    assert_eq!(uses["items"].as_array().unwrap().len(), 1, "{uses}");

    // Statistics, peers, the document, metrics.
    let stats = c.expect(ministry, "GET", "/api/v1/stats", "/api/v1/stats", "", 200);
    assert_eq!(
        (
            stats["exact"].clone(),
            stats["cases"]["fir_registered"].clone()
        ),
        (true.into(), 1.into())
    );
    let trends = c.expect(
        ministry,
        "GET",
        "/api/v1/stats/trends",
        "/api/v1/stats/trends?months=2",
        "",
        200,
    );
    assert_eq!(trends["months"].as_array().unwrap().len(), 2);
    assert_eq!(trends["cases_filed"][1], 1);
    let stats = c.expect(None, "GET", "/api/v1/stats", "/api/v1/stats", "", 200);
    assert_eq!(stats["cases"]["fir_registered"], serde_json::Value::Null);
    // This node runs without a signed topology, so without a network: peers says so.
    let peers = c.expect(dpo, "GET", "/api/v1/peers", "/api/v1/peers", "", 503);
    assert!(
        peers["error"]
            .as_str()
            .unwrap()
            .contains("without a network")
    );
    // Audit: the node's logs, a log's checkpoint and proofs, a record's history.
    let logs = c.expect(dpo, "GET", "/api/v1/logs", "/api/v1/logs", "", 200);
    let alerts_log = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["scope"] == "alerts")
        .expect("the alerts log")
        .clone();
    let log = alerts_log["log"].as_str().unwrap().to_owned();
    let checkpoint = c.expect(
        dpo,
        "GET",
        "/api/v1/logs/{log}/checkpoint",
        &format!("/api/v1/logs/{log}/checkpoint"),
        "",
        200,
    );
    assert_eq!(checkpoint["size"], alerts_log["size"]);
    let inclusion = c.expect(
        dpo,
        "GET",
        "/api/v1/logs/{log}/inclusion",
        &format!("/api/v1/logs/{log}/inclusion?seq=1"),
        "",
        200,
    );
    assert_eq!(inclusion["root"], alerts_log["root"]);
    c.expect(
        dpo,
        "GET",
        "/api/v1/logs/{log}/consistency",
        &format!("/api/v1/logs/{log}/consistency?first=1"),
        "",
        200,
    );
    let history = c.expect(
        dpo,
        "GET",
        "/api/v1/records/{id}/history",
        &format!("/api/v1/records/{alert}/history"),
        "",
        200,
    );
    assert_eq!(history["kind"], "alert");
    assert!(!history["changes"].as_array().unwrap().is_empty());
    let evidence = c.expect(dpo, "GET", "/api/v1/evidence", "/api/v1/evidence", "", 200);
    assert_eq!(
        evidence,
        serde_json::json!([]),
        "an honest node alone holds no evidence"
    );
    let doc = c.expect(
        None,
        "GET",
        "/api/v1/openapi.json",
        "/api/v1/openapi.json",
        "",
        200,
    );
    let (status, metrics) = c.call(None, "GET", "/metrics", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            r#"hifazat_http_requests_total{method="POST",route="/api/v1/alerts",status="201"} 2"#
        ),
        "{metrics}"
    );

    // Real sockets: a body past the limit is refused, and bad JSON names its problem.
    let huge = format!(r#"{{"child_name":"{}"}}"#, "x".repeat(300_000));
    let (status, _) = http_as(addr, dpo, "POST", "/api/v1/alerts", &huge).unwrap();
    assert_eq!(status, 413);
    let (status, text) = http_as(addr, dpo, "POST", "/api/v1/alerts", "{\"child_name\":").unwrap();
    assert_eq!(status, 400, "{text}");

    // A notification needs the federal node's key from a signed topology; this node has none, and says so.
    let notice = r#"{"cnic":"3510276543213","update":{"change":"add_alias","alias":"Billa"}}"#;
    let refused = c.expect(
        dpo,
        "POST",
        "/api/v1/register/notices",
        "/api/v1/register/notices",
        notice,
        503,
    );
    assert!(
        refused["error"].as_str().unwrap().contains("federal key"),
        "{refused}"
    );

    // The register, at a federal node of its own.
    let federal_data = dir.path().join("federal");
    assert!(init("federal", &federal_data).status.success());
    assert!(federal_data.join("register.key").exists());
    let officer = add_user(
        &federal_data,
        &["--role", "register_officer", "--name", "npb"],
    );
    let verifier = add_user(&federal_data, &["--role", "verifier", "--name", "school"]);
    let (federal_child, federal_addr) = start(FEDERAL_HOST, &federal_data);
    let _federal = Stopper(federal_child);
    let lahore_addr = c.addr;
    c.addr = federal_addr;
    let (officer, verifier) = (Some(officer.as_str()), Some(verifier.as_str()));
    let entry = c.expect(
        officer,
        "POST",
        "/api/v1/register/offenders",
        "/api/v1/register/offenders",
        &offender_body("35102-7654321-3"),
        201,
    );
    let id = entry["id"].as_str().unwrap().to_owned();
    let page = c.expect(
        officer,
        "GET",
        "/api/v1/register/offenders",
        "/api/v1/register/offenders",
        "",
        200,
    );
    assert_eq!(page["items"][0]["id"], id.as_str());
    c.expect(
        officer,
        "GET",
        "/api/v1/register/offenders/{id}",
        &format!("/api/v1/register/offenders/{id}"),
        "",
        200,
    );
    let changed = c.expect(
        officer,
        "POST",
        "/api/v1/register/offenders/{id}/updates",
        &format!("/api/v1/register/offenders/{id}/updates"),
        r#"{"change":"travel","destination":"Dubai","depart":"2026-12-01"}"#,
        200,
    );
    assert_eq!(changed["travels"][0]["destination"], "Dubai");
    c.expect(
        officer,
        "POST",
        "/api/v1/register/search",
        "/api/v1/register/search",
        r#"{"cnic":"3510276543213"}"#,
        200,
    );
    // A hit and a miss on the wire: the same status, the same length.
    let (hit_status, hit) = c.call(
        verifier,
        "POST",
        "/api/v1/register/verify",
        "/api/v1/register/verify",
        r#"{"cnic":"3510276543213"}"#,
    );
    let (miss_status, miss) = c.call(
        verifier,
        "POST",
        "/api/v1/register/verify",
        "/api/v1/register/verify",
        r#"{"cnic":"3510276543214"}"#,
    );
    assert_eq!((hit_status, miss_status), (200, 200));
    assert_eq!(hit.len(), miss.len());
    assert!(
        hit.contains("Beware! Shahid Mehmood son of Ghulam Rasool is a convict."),
        "{hit}"
    );
    assert!(miss.contains("no_record"), "{miss}");
    let log = c.expect(
        officer,
        "GET",
        "/api/v1/register/consultations",
        "/api/v1/register/consultations",
        "",
        200,
    );
    assert_eq!(log["items"].as_array().unwrap().len(), 3);
    c.expect(
        officer,
        "GET",
        "/api/v1/register/alarms",
        "/api/v1/register/alarms",
        "",
        200,
    );
    c.expect(
        officer,
        "GET",
        "/api/v1/register/notices",
        "/api/v1/register/notices",
        "",
        200,
    );
    c.addr = lahore_addr;

    // SMS: the outbox (empty: without settings the node has nobody to notify); without a gateway nothing calls
    // in (`tests/sms.rs` drives these through Kannel).
    let outbox = c.expect(
        dpo,
        "GET",
        "/api/v1/sms/outbox",
        "/api/v1/sms/outbox",
        "",
        200,
    );
    assert_eq!(outbox["items"], serde_json::json!([]), "{outbox}");
    c.expect(
        None,
        "GET",
        "/api/v1/sms/incoming",
        "/api/v1/sms/incoming?id=1&from=923001112222&text=hello",
        "",
        404,
    );
    c.expect(
        None,
        "GET",
        "/api/v1/sms/dlr",
        "/api/v1/sms/dlr?id=1&status=1",
        "",
        404,
    );

    // Photos and found children (face matching runs on the node): an alert's photo, served once an alert names it;
    // a found child with another photo of the same person; the possible match, confirmed; the report closed.
    let photo_upload = |c: &mut Client, purpose: &str, name: &str| -> serde_json::Value {
        c.called.insert(("POST".into(), "/api/v1/photos".into()));
        let (status, body) = hifazat_tests::post_bytes(
            c.addr,
            dpo.unwrap(),
            &format!("/api/v1/photos?purpose={purpose}"),
            &hifazat_tests::reference_photo(name),
        );
        assert_eq!(status, 201, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let up = photo_upload(&mut c, "alert", "obama.jpg");
    let photo = up["photo"].as_str().unwrap().to_owned();
    let photo_path = format!("/api/v1/photos/{photo}");
    c.called
        .insert(("GET".into(), "/api/v1/photos/{id}".into()));
    let (status, _) = hifazat_tests::get_bytes(c.addr, &photo_path);
    assert_eq!(status, 404, "not served before an alert names it");
    let mut with_photo: serde_json::Value = serde_json::from_str(&alert_body(2)).unwrap();
    with_photo["photo_ref"] = serde_json::Value::String(photo.clone());
    let body = c.expect(
        dpo,
        "POST",
        "/api/v1/alerts",
        "/api/v1/alerts",
        &with_photo.to_string(),
        201,
    );
    let photo_alert = body["id"].as_str().unwrap().to_owned();
    // The alert's short code finds it, for the public too.
    let one = c.expect(
        None,
        "GET",
        "/api/v1/alerts/{id}",
        &format!("/api/v1/alerts/{photo_alert}"),
        "",
        200,
    );
    let code = one["code"].as_str().unwrap().to_owned();
    let by_code = c.expect(
        None,
        "GET",
        "/api/v1/alerts/by-code/{code}",
        &format!("/api/v1/alerts/by-code/{code}"),
        "",
        200,
    );
    assert_eq!(by_code["alerts"][0]["id"], photo_alert.as_str());
    let (status, bytes) = hifazat_tests::get_bytes(c.addr, &photo_path);
    assert_eq!(status, 200);
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let up = photo_upload(&mut c, "found", "obama2.jpg");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let report = format!(
        r#"{{"place":{{"district":"PB-LHR","lat":31.55,"lon":74.34,"text":"Data Darbar"}},"found_at_ms":{now},
            "apparent_age_years":6,"sex":"male","description":"Blue shirt","care":"police_station",
            "care_name":"Police Station Data Darbar","photos":["{}"]}}"#,
        up["photo"].as_str().unwrap()
    );
    let body = c.expect(dpo, "POST", "/api/v1/found", "/api/v1/found", &report, 201);
    let found = body["id"].as_str().unwrap().to_owned();
    let listed = c.expect(
        dpo,
        "GET",
        "/api/v1/found",
        "/api/v1/found?district=PB-LHR",
        "",
        200,
    );
    assert_eq!(listed["items"][0]["id"], found.as_str());
    c.called
        .insert(("GET".into(), "/api/v1/found/{id}/photos/{n}".into()));
    let (status, _) = hifazat_tests::get_bytes(c.addr, &format!("/api/v1/found/{found}/photos/0"));
    assert_eq!(status, 401, "a found child's photo for officials only");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let one = c.expect(
            dpo,
            "GET",
            "/api/v1/found/{id}",
            &format!("/api/v1/found/{found}"),
            "",
            200,
        );
        if one["suggestions"][0]["other"] == photo_alert.as_str() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no suggestion within 30 s: {one}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let decided = c.expect(
        dpo,
        "POST",
        "/api/v1/found/{id}/matches/{alert}",
        &format!("/api/v1/found/{found}/matches/{photo_alert}"),
        r#"{"decision":"confirmed","note":"seen in person"}"#,
        201,
    );
    assert_eq!(decided["alert_sightings"], 1, "{decided}");
    c.expect(
        dpo,
        "POST",
        "/api/v1/found/{id}/events",
        &format!("/api/v1/found/{found}/events"),
        r#"{"type":"handed_to_family"}"#,
        201,
    );

    // Every documented operation was called.
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let missed: Vec<_> = documented.difference(&c.called).collect();
    assert!(missed.is_empty(), "not called over HTTP: {missed:?}");
}
