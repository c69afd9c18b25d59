//! SMS end to end, through a real Kannel (bearerbox and smsbox) and its fakesmsc, with the nodes as real
//! processes on 127.0.0.51-54 (federal, Punjab, Lahore, Kasur of the demo layout, moved there) and Kannel on
//! 127.0.0.58:
//! - an alert raised at Lahore reaches the DPO of Lahore's phone and the RPO's, once each, with a delivery report;
//!   not validated in time, it is escalated to the RPO, then the IG, each a timeline event and an SMS;
//! - with Kasur's node down, Punjab covers: the DPO of Kasur gets one SMS, and none more when Kasur comes back;
//! - texts to the short code: a CNIC is answered from the federal register in Urdu and English (UCS-2), an
//!   `ALERT …` text raises an alert and is answered with its short code, `STATUS <code>` answers how the alert
//!   stands, anything else gets help.
//!
//! Needs Kannel (`bearerbox`, `smsbox`, `/usr/lib/kannel/test/fakesmsc`; Debian's kannel and kannel-extras),
//! which the README's test command installs. Bounded: 30 s for each process to come up, 60 s for each step.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hifazat_tests::{
    DEMO, Stopper, alert_body_in, demo_tokens, demo_without, http_as, id_of, moved_host,
    moved_layout, offender_body, serve_logged, wait_until,
};

/// Where this test's layout starts: the demo's nodes on 127.0.0.51-57.
const BASE: u8 = 51;
const KANNEL: &str = "127.0.0.58";
const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";
const KEY: &str = "test-callback-key-0123456789";
const SHORT_CODE: &str = "8484";

const DPO_LAHORE: &str = "923001110001";
const DPO_KASUR: &str = "923001110002";
const RPO_LAHORE: &str = "923001110003";
const IG_PUNJAB: &str = "923001110004";

fn host_of(name: &str) -> String {
    moved_host(BASE, name)
}

fn addr(name: &str) -> SocketAddr {
    format!("{}:8080", host_of(name)).parse().unwrap()
}

/// One node's SMS settings: Kannel, short times, and the officials' directory (the same for every node).
fn sms_toml(name: &str) -> String {
    format!(
        r#"
[gateway]
backend = "kannel"
sendsms_url = "http://{KANNEL}:23113/cgi-bin/sendsms"
username = "hifazat"
password = "test-password"
sender = "{SHORT_CODE}"
callback_url = "http://{host}:8080"
callback_key = "{KEY}"

[timing]
cover_after_s = 3
escalate_rpo_after_s = 10
escalate_ig_after_s = 16

[[official]]
name = "DPO Lahore"
office = "dpo"
area = "PB-LHR"
phone = "+{DPO_LAHORE}"
home = "lahore"

[[official]]
name = "DPO Kasur"
office = "dpo"
area = "PB-KSR"
phone = "0{kasur}"
home = "kasur"

[[official]]
name = "RPO Lahore"
office = "rpo"
area = "PB-LAHORE"
phone = "+{RPO_LAHORE}"
home = "punjab"

[[official]]
name = "IG Punjab"
office = "ig"
area = "PB"
phone = "+{IG_PUNJAB}"
home = "punjab"
"#,
        host = host_of(name),
        kasur = &DPO_KASUR[2..],
    )
}

fn kannel_conf(dir: &Path) -> String {
    format!(
        r#"
group = core
admin-port = 23100
admin-interface = {KANNEL}
admin-password = "test-admin"
admin-allow-ip = "127.0.0.1"
smsbox-port = 23101
smsbox-interface = {KANNEL}
box-allow-ip = "127.0.0.*"
log-file = "{log}/bearerbox.log"
log-level = 1

# The phones: every message the gateway sends goes here.
group = smsc
smsc = fake
smsc-id = phones
port = 23110
connect-allow-ip = "127.0.0.*"

# Texts from the public come in here (one fakesmsc per text); nothing is sent out this way.
group = smsc
smsc = fake
smsc-id = inject
allowed-smsc-id = none
port = 23111
connect-allow-ip = "127.0.0.*"

group = smsbox
bearerbox-host = {KANNEL}
bearerbox-port = 23101
sendsms-port = 23113
sendsms-interface = {KANNEL}
mo-recode = true
log-file = "{log}/smsbox.log"
log-level = 1

group = sendsms-user
username = hifazat
password = test-password
concatenation = true
max-messages = 8

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "http://{federal}:8080/api/v1/sms/incoming?key={KEY}&id=%I&from=%p&to=%P&text=%a"
"#,
        log = dir.display(),
        federal = host_of("federal"),
    )
}

/// One text as fakesmsc saw it leave the gateway.
#[derive(Debug, Clone)]
struct Sms {
    to: String,
    text: String,
}

/// Bytes as fakesmsc prints them: `%XX` escapes, `+` for a space, other characters as themselves.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn ucs2(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Every text fakesmsc received, in order, concatenated parts joined.
fn phones(log: &Path) -> Vec<Sms> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = Vec::new();
    let mut parts: HashMap<(String, u8), Vec<Option<Vec<u8>>>> = HashMap::new();
    for line in text.lines() {
        let Some(start) = line.find("Got message") else {
            continue;
        };
        let Some(open) = line[start..].find('<') else {
            continue;
        };
        let body = line[start + open + 1..].trim_end_matches('>');
        let fields: Vec<&str> = body.splitn(4, ' ').collect();
        if fields.len() < 4 {
            continue;
        }
        let (to, kind, rest) = (fields[1].to_owned(), fields[2], fields[3]);
        match kind {
            "text" => out.push(Sms {
                to,
                text: rest.to_owned(),
            }),
            "ucs-2" => out.push(Sms {
                to,
                text: ucs2(&unescape(rest)),
            }),
            "udh" => {
                let (udh, data) = rest.split_once(" data ").unwrap();
                let udh = unescape(udh);
                let (reference, total, seq) = (udh[3], udh[4] as usize, udh[5] as usize);
                let slot = parts
                    .entry((to.clone(), reference))
                    .or_insert_with(|| vec![None; total]);
                slot[seq - 1] = Some(unescape(data));
                if slot.iter().all(Option::is_some) {
                    let bytes: Vec<u8> = slot.iter().flatten().flatten().copied().collect();
                    parts.remove(&(to.clone(), reference));
                    out.push(Sms {
                        to,
                        text: ucs2(&bytes),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn to(log: &Path, number: &str) -> Vec<Sms> {
    phones(log)
        .into_iter()
        .filter(|m| m.to.trim_start_matches('+') == number)
        .collect()
}

/// A phone texts the short code: one fakesmsc that sends one text, stopped once the text is taken.
fn text_in(dir: &Path, from: &str, text: &str, n: usize) {
    let log = dir.join(format!("inject-{n}.log"));
    let child = Command::new(FAKESMSC)
        .args(["-H", KANNEL, "-r", "23111", "-i", "0.1", "-m", "1"])
        .arg(format!("{from} {SHORT_CODE} text {text}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _sender = Stopper(child);
    assert!(
        wait_until(Duration::from_secs(30), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("sent message 1"))
        .is_some(),
        "fakesmsc did not send the text"
    );
    // Let the gateway take it before the sender goes.
    std::thread::sleep(Duration::from_millis(500));
}

fn serve(data: &Path, name: &str) -> Stopper {
    let settings = data.join(format!("{name}-sms.toml"));
    std::fs::write(&settings, sms_toml(name)).unwrap();
    serve_logged(
        data,
        name,
        addr(name),
        &["--sms".into(), settings.into()],
        "info",
    )
}

fn get(name: &str, token: &str, path: &str) -> serde_json::Value {
    let (status, body) = http_as(addr(name), Some(token), "GET", path, "").unwrap();
    assert_eq!(status, 200, "GET {path} at {name}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The alert's timeline events of one type, as `name` holds them.
fn events(name: &str, token: &str, id: &str, kind: &str) -> Vec<serde_json::Value> {
    let (status, body) = http_as(
        addr(name),
        Some(token),
        "GET",
        &format!("/api/v1/alerts/{id}"),
        "",
    )
    .unwrap();
    if status != 200 {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

fn start_kannel(dir: &Path) -> (Stopper, Stopper, Stopper, PathBuf) {
    let conf = dir.join("kannel.conf");
    std::fs::write(&conf, kannel_conf(dir)).unwrap();
    let quiet = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let bearerbox = Stopper(
        Command::new("bearerbox")
            .arg(&conf)
            .stdout(quiet("bearerbox.out"))
            .stderr(quiet("bearerbox.err"))
            .spawn()
            .expect("bearerbox (Debian package kannel)"),
    );
    let port_open = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &format!("{KANNEL}:{port}").parse().unwrap(),
            Duration::from_millis(200),
        )
        .is_ok()
    };
    assert!(
        wait_until(Duration::from_secs(30), || port_open(23110)).is_some(),
        "bearerbox did not come up"
    );
    let phones_log = dir.join("phones.log");
    let fake = Stopper(
        Command::new(FAKESMSC)
            .args(["-H", KANNEL, "-r", "23110", "-m", "0", "0 0 text none"])
            // fakesmsc writes what it receives to its standard error.
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&phones_log).unwrap())
            .spawn()
            .expect("fakesmsc (Debian package kannel-extras)"),
    );
    let smsbox = Stopper(
        Command::new("smsbox")
            .arg(&conf)
            .stdout(quiet("smsbox.out"))
            .stderr(quiet("smsbox.err"))
            .spawn()
            .expect("smsbox (Debian package kannel)"),
    );
    assert!(
        wait_until(Duration::from_secs(30), || port_open(23113)).is_some(),
        "smsbox did not come up"
    );
    (bearerbox, smsbox, fake, phones_log)
}

#[test]
fn officials_are_told_by_sms_once_escalations_follow_and_texts_are_answered() {
    // HIFAZAT_KEEP=1 keeps the directory (the nodes' and Kannel's logs) for reading after a failure.
    let tmp = tempfile::tempdir().unwrap();
    let (_cleanup, dir) = if std::env::var_os("HIFAZAT_KEEP").is_some() {
        let kept = tmp.keep();
        eprintln!("keeping {}", kept.display());
        (None, kept)
    } else {
        let path = tmp.path().to_owned();
        (Some(tmp), path)
    };
    let layout_file = dir.as_path().join("layout.toml");
    std::fs::write(&layout_file, moved_layout(BASE)).unwrap();
    let data = dir.as_path().join("data");
    std::fs::create_dir_all(data.join("logs")).unwrap();
    // The demo sets every node up; the test starts the nodes it needs itself, with their SMS settings.
    let _demo = demo_without(&layout_file, &data, &DEMO);
    let tokens = demo_tokens(&data);
    let token = |key: &str| tokens[key].clone();
    let (_bearerbox, _smsbox, _fake, log) = start_kannel(dir.as_path());
    let _federal = serve(&data, "federal");
    let _punjab = serve(&data, "punjab");
    let _lahore = serve(&data, "lahore");
    let ig = token("punjab");
    let ministry = token("federal");
    let step = Duration::from_secs(60);

    // 1. An alert raised at Lahore: the DPO (homed at Lahore) and the RPO (homed at Punjab) are told.
    let (status, body) = http_as(
        addr("lahore"),
        Some(&token("lahore")),
        "POST",
        "/api/v1/alerts",
        &alert_body_in("PB-LHR", 31.55, 74.34, 7),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let first = id_of(&body);
    // Officials' texts name the alert by its short code.
    let first_code = get(
        "lahore",
        &token("lahore"),
        &format!("/api/v1/alerts/{first}"),
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        wait_until(step, || to(&log, DPO_LAHORE)
            .iter()
            .any(|m| m.text.contains(&first_code)))
        .is_some(),
        "the DPO's phone got no SMS; phones: {:?}",
        phones(&log)
    );
    let dpo = to(&log, DPO_LAHORE);
    assert!(
        dpo[0].text.contains("Hifazat: missing child alert, Lahore"),
        "{}",
        dpo[0].text
    );
    assert!(dpo[0].text.contains("گمشدہ"), "Urdu too: {}", dpo[0].text);
    assert!(
        wait_until(step, || to(&log, RPO_LAHORE)
            .iter()
            .any(|m| m.text.contains(&first_code)))
        .is_some(),
        "the RPO's phone got no SMS"
    );
    // The gateway's delivery report reaches the outbox of the node that sent it.
    assert!(
        wait_until(step, || get("punjab", &ig, "/api/v1/sms/outbox")["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |m| m["to"] == format!("+{RPO_LAHORE}") && m["state"] == "delivered"
            ))
        .is_some(),
        "no delivery report for the RPO's SMS"
    );

    // 2. Not validated in time: escalated to the RPO (level 1), then the IG (level 2).
    assert!(
        wait_until(step, || to(&log, IG_PUNJAB)
            .iter()
            .any(|m| m.text.contains(&first_code)))
        .is_some(),
        "the IG was never told"
    );
    let rpo = to(&log, RPO_LAHORE);
    assert!(
        rpo.iter()
            .any(|m| m.text.contains("ESCALATED to RPO") && m.text.contains(&first_code)),
        "{rpo:?}"
    );
    assert!(to(&log, IG_PUNJAB)[0].text.contains("ESCALATED to IG"));
    let levels: Vec<u64> = events("federal", &ministry, &first, "escalated")
        .iter()
        .map(|e| e["level"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, vec![1, 2], "escalations on the timeline");
    // Once each, though four nodes hold the alert and Punjab covers for Lahore.
    std::thread::sleep(Duration::from_secs(4));
    let count = |number: &str, id: &str| {
        to(&log, number)
            .iter()
            .filter(|m| m.text.contains(id))
            .count()
    };
    assert_eq!(count(DPO_LAHORE, &first_code), 1);
    assert_eq!(
        count(RPO_LAHORE, &first_code),
        2,
        "told when raised and when escalated"
    );
    assert_eq!(count(IG_PUNJAB, &first_code), 1);
    let notified = events("federal", &ministry, &first, "notified");
    assert_eq!(notified.len(), 4, "{notified:?}");
    assert!(
        notified.iter().any(|e| e["node"] == "lahore"),
        "the DPO's home node told the DPO"
    );

    // 3. Kasur's node is down: an alert for Kasur is covered by Punjab, once, also after Kasur comes back.
    let (status, body) = http_as(
        addr("lahore"),
        Some(&token("lahore")),
        "POST",
        "/api/v1/alerts",
        &alert_body_in("PB-KSR", 31.12, 74.45, 8),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let second = id_of(&body);
    let second_code = get(
        "lahore",
        &token("lahore"),
        &format!("/api/v1/alerts/{second}"),
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        wait_until(step, || count(DPO_KASUR, &second_code) == 1).is_some(),
        "Punjab did not cover for Kasur"
    );
    let (status, body) = http_as(
        addr("punjab"),
        Some(&ig),
        "POST",
        &format!("/api/v1/alerts/{second}/events"),
        r#"{"type":"validated"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let _kasur = serve(&data, "kasur");
    // Kasur catches up and, seeing the alert late, waits for the cover's event: it sends nothing.
    assert!(
        wait_until(step, || events(
            "kasur",
            &token("kasur"),
            &second,
            "notified"
        )
        .len()
            == 2)
        .is_some(),
        "Kasur did not catch up"
    );
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        count(DPO_KASUR, &second_code),
        1,
        "the DPO of Kasur was told twice"
    );
    let kasur_notes = events("kasur", &token("kasur"), &second, "notified");
    assert!(
        kasur_notes.iter().all(|e| e["node"] == "punjab"),
        "{kasur_notes:?}"
    );
    assert!(
        events("federal", &ministry, &second, "escalated").is_empty(),
        "validated in time"
    );

    // 4. Texts to the short code, answered from the federal node.
    let officer = token("federal/register_officer");
    let entry = offender_body("Shahid Mehmood");
    let (status, body) = http_as(
        addr("federal"),
        Some(&officer),
        "POST",
        "/api/v1/register/offenders",
        &entry,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let asker = "923005550001";
    text_in(dir.as_path(), asker, "35102-7654321-3", 1);
    text_in(dir.as_path(), asker, "3510276543214", 2);
    assert!(
        wait_until(step, || to(&log, asker).len() == 2).is_some(),
        "no replies to the CNIC texts: {:?}",
        phones(&log)
    );
    let replies = to(&log, asker);
    let hit = replies
        .iter()
        .find(|m| m.text.contains("Beware"))
        .expect("a hit");
    assert!(hit.text.contains("Shahid Mehmood"), "{}", hit.text);
    assert!(
        hit.text.contains("خبردار") || hit.text.contains("ولد"),
        "Urdu: {}",
        hit.text
    );
    assert!(
        replies.iter().any(|m| m.text.contains("No record")),
        "{replies:?}"
    );
    let consultations = get("federal", &officer, "/api/v1/register/consultations");
    let by_sms = consultations["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "sms")
        .count();
    assert_eq!(by_sms, 2);
    // The reply's text is nowhere in the federal node's outbox.
    let outbox = get("federal", &ministry, "/api/v1/sms/outbox");
    assert!(!outbox.to_string().contains("Shahid"), "{outbox}");

    // An alert by text: answered with its reference; the DPO of Lahore is told of it.
    let reporter = "923005550002";
    text_in(
        dir.as_path(),
        reporter,
        "ALERT pb-lhr 6 M Bilal Ahmed; Data Darbar gate 3",
        3,
    );
    assert!(
        wait_until(step, || !to(&log, reporter).is_empty()).is_some(),
        "no reply to the ALERT text"
    );
    let reply = to(&log, reporter)[0].text.clone();
    // The reply gives the alert's short code, which the DPO's notice names too.
    let code = reply
        .split("Code: ")
        .nth(1)
        .map(|r| r.chars().take(12).collect::<String>())
        .unwrap_or_else(|| panic!("no code in {reply}"));
    let found = get(
        "federal",
        &ministry,
        &format!("/api/v1/alerts/by-code/{code}"),
    );
    let raised = &found["alerts"][0];
    assert_eq!(raised["public"]["channel"], "sms", "{raised}");
    assert_eq!(raised["public"]["child_name"], "Bilal Ahmed");
    assert!(
        wait_until(step, || count(DPO_LAHORE, &code) == 1).is_some(),
        "the DPO was not told of the alert raised by text"
    );
    // Anyone with the code asks how the alert stands.
    let follower = "923005550004";
    text_in(
        dir.as_path(),
        follower,
        &format!("status {}", code.to_lowercase()),
        5,
    );
    assert!(
        wait_until(step, || !to(&log, follower).is_empty()).is_some(),
        "no reply to STATUS"
    );
    let standing = &to(&log, follower)[0].text;
    assert!(
        standing.contains(&code)
            && standing.contains("Bilal Ahmed")
            && standing.contains("waiting for the police"),
        "{standing}"
    );

    // Anything else: help.
    let confused = "923005550003";
    text_in(dir.as_path(), confused, "where is my child", 4);
    assert!(
        wait_until(step, || !to(&log, confused).is_empty()).is_some(),
        "no reply to a text that was not understood"
    );
    let help = &to(&log, confused)[0].text;
    assert!(
        help.contains("Not understood") && help.contains("ALERT"),
        "{help}"
    );
}
