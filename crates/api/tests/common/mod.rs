//! What the API's tests share: one node's engine and router with users of every role, and request bodies.

#![allow(dead_code)]

pub mod web;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use ed25519_dalek::SigningKey;
use hifazat_access::{Area, Directory, Role, Users};
use hifazat_api::Api;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_phone::Phone;
use hifazat_register::{Register, RegisterConfig, RegisterKeys};
use hifazat_sms::SmsConfig;
use hifazat_store::Store;
use hifazat_topology::Topology;
use serde_json::Value;
use tower::ServiceExt;

/// The demo layout, naming the federal node's key (every test node's key, [`node_key`]) so notifications can be
/// sealed to it.
pub fn demo() -> Topology {
    let key = hex::encode(node_key().verifying_key().to_bytes());
    let text = include_str!("../../../../topology/demo.toml").replacen(
        "role = \"federal\"\n",
        &format!("role = \"federal\"\nkey = \"{key}\"\n"),
        1,
    );
    Topology::parse(&text).unwrap()
}

/// One node's engine and router, with users of every role its place allows, by role name.
pub struct Node {
    pub _dir: tempfile::TempDir,
    pub engine: Engine,
    pub router: Router,
    pub tokens: HashMap<&'static str, String>,
    /// The register, at the federal node.
    pub register: Option<Arc<Register>>,
    /// The SMS service, when the node was built with one ([`node_with_sms`]).
    pub phone: Option<Arc<Phone>>,
    /// Face matching, when the node was built with it ([`node_with_faces`]).
    pub matcher: Option<Arc<hifazat_matcher::Matcher>>,
}

pub fn users_for(node: &str) -> Vec<(&'static str, Role, Area)> {
    let mut users = vec![
        (
            "station_officer",
            Role::StationOfficer,
            Area::District("PB-LHR".into()),
        ),
        ("dpo", Role::Dpo, Area::District("PB-LHR".into())),
        ("rpo", Role::Rpo, Area::Region("PB-LAHORE".into())),
        ("ig", Role::Ig, Area::Province("PB".into())),
        ("ministry", Role::Ministry, Area::National),
        ("auditor", Role::Auditor, Area::National),
    ];
    if node == "federal" {
        users.push(("register_officer", Role::RegisterOfficer, Area::National));
        users.push(("verifier", Role::Verifier, Area::National));
        users.push(("dpo_karachi", Role::Dpo, Area::District("SD-KHS".into())));
    }
    users
}

pub fn node(name: &str, public_rate: (u32, u32)) -> Node {
    node_with(name, public_rate, RegisterConfig::default())
}

/// The key of every test node (the federal node's register opens notifications sealed to it).
pub fn node_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// Like [`node`], with the federal node's register set up as given.
pub fn node_with(name: &str, public_rate: (u32, u32), register: RegisterConfig) -> Node {
    build(name, public_rate, register, None)
}

/// Like [`node`], with an SMS service on these settings (its notifier not started).
pub fn node_with_sms(name: &str, sms: SmsConfig) -> Node {
    build(name, (1000, 1000), RegisterConfig::default(), Some(sms))
}

/// Like [`node_with_sms`], with the register on these settings (the federal node).
pub fn node_with_register_sms(name: &str, register: RegisterConfig, sms: SmsConfig) -> Node {
    build(name, (1000, 1000), register, Some(sms))
}

/// Like [`node`], with face matching running (its photo worker and matcher), at dlib's threshold. Must be called
/// within a Tokio runtime.
pub fn node_with_faces(name: &str) -> Node {
    let mut n = build(name, (1000, 1000), RegisterConfig::default(), None);
    let matcher = hifazat_matcher::Matcher::start(
        n.engine.clone(),
        hifazat_matcher::Worker::start().unwrap(),
        hifazat_matcher::DEFAULT_THRESHOLD,
    );
    n.router = Api::new(n.engine.clone())
        .register(n.register.clone())
        .users(Directory::open(n._dir.path()).unwrap())
        .public_rate(1000, 1000)
        .matcher(Some(matcher.clone()))
        .router();
    n.matcher = Some(matcher);
    n
}

fn build(
    name: &str,
    public_rate: (u32, u32),
    register: RegisterConfig,
    sms: Option<SmsConfig>,
) -> Node {
    build_at(
        name,
        public_rate,
        register,
        sms,
        hifazat_domain::Clock::system(),
    )
}

/// A node whose engine reads `clock` (a test's own, to let time pass).
pub fn node_at(name: &str, clock: hifazat_domain::Clock) -> Node {
    build_at(name, (1000, 1000), RegisterConfig::default(), None, clock)
}

fn build_at(
    name: &str,
    public_rate: (u32, u32),
    register: RegisterConfig,
    sms: Option<SmsConfig>,
    clock: hifazat_domain::Clock,
) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let topology = demo();
    let me = topology.node(name).unwrap().clone();
    let mut tokens = HashMap::new();
    for (who, role, area) in users_for(name) {
        let (_, token) = Users::add(dir.path(), &topology, &me, who, role, area).unwrap();
        tokens.insert(who, token);
    }
    let engine = Engine::start(EngineConfig {
        node_name: name.into(),
        clock,
        topology,
        signer: Signer::new(node_key()),
        store: Store::open(&dir.path().join("store")).unwrap(),
    })
    .unwrap();
    let register = (name == "federal").then(|| {
        let districts = engine
            .topology()
            .districts
            .iter()
            .map(|d| d.code.clone())
            .collect();
        Arc::new(
            Register::open(
                &dir.path().join("register"),
                RegisterKeys::from_secret(&[11; 32]),
                node_key(),
                "federal",
                districts,
                register,
                now_ms(),
            )
            .unwrap(),
        )
    });
    let phone = sms.map(|config| {
        Phone::open(
            &dir.path().join("sms"),
            engine.clone(),
            register.clone(),
            config,
            now_ms(),
        )
        .unwrap()
    });
    let router = Api::new(engine.clone())
        .register(register.clone())
        .phone(phone.clone())
        .users(Directory::open(dir.path()).unwrap())
        .public_rate(public_rate.0, public_rate.1)
        .router();
    Node {
        _dir: dir,
        engine,
        router,
        tokens,
        register,
        phone,
        matcher: None,
    }
}

impl Node {
    /// The DPO raises an alert for a child of this name, last seen in Lahore, at the police station; its id.
    pub async fn raise(&self, name: &str) -> String {
        let (status, body) = self
            .call(
                "dpo",
                "POST",
                "/api/v1/alerts",
                &alert(name, "PB-LHR", "police_station"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// The register officer puts [`OFFENDER`] on the register (the federal node only); the entry's id.
    pub async fn add_offender(&self) -> String {
        let (status, body) = self
            .call(
                "register_officer",
                "POST",
                "/api/v1/register/offenders",
                OFFENDER,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Calls the router as `who` (a role name from `users_for`, or "public"); the answer's status and JSON body.
    pub async fn call(
        &self,
        who: &str,
        method: &str,
        uri: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let (status, _, bytes) = self.send(who, method, uri, body).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Posts `bytes` (of `content_type`) as `who`; the answer's status and JSON body.
    pub async fn post_bytes(
        &self,
        who: &str,
        uri: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", content_type);
        if who != "public" {
            request = request.header("authorization", format!("Bearer {}", self.tokens[who]));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(bytes)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Calls the router as `who`; the answer's status, headers and body as they are.
    pub async fn send(
        &self,
        who: &str,
        method: &str,
        uri: &str,
        body: &str,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if who != "public" {
            request = request.header("authorization", format!("Bearer {}", self.tokens[who]));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, bytes.to_vec())
    }
}

/// The first server-sent event named `kind` on `body` whose data `wanted` accepts, within 20 s.
pub async fn next_event(body: Body, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let chunk = stream.next().await.expect("the stream goes on").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if event.starts_with(&format!("event: {kind}\n")) {
                    let data = event
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    let value: Value = serde_json::from_str(data).unwrap();
                    if wanted(&value) {
                        return value;
                    }
                }
            }
        }
    })
    .await
    .expect("the event within 20 s")
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn alert(name: &str, district: &str, channel: &str) -> String {
    let now = now_ms();
    format!(
        r#"{{"child_name":"{name}","age_years":5,"sex":"female","description":"yellow dress",
            "last_seen":{{"district":"{district}","lat":31.55,"lon":74.34,"text":"Anarkali Bazaar"}},
            "last_seen_at_ms":{now},"reporter":{{"name":"Aunt","mobile":"+923451234567"}},"channel":"{channel}"}}"#
    )
}

pub fn case(district: &str, channel: &str) -> String {
    format!(
        r#"{{"category":"harassment","district":"{district}","description":"Followed from school",
            "channel":"{channel}"}}"#
    )
}

pub async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the test finishes within its time limit")
}

/// A register entry as a register officer posts it (CNIC 35102-7654321-3).
pub const OFFENDER: &str = r#"{"cnic":"3510276543213","name":"Shahid Mehmood","parentage":{"relation":"son_of","name":"Ghulam Rasool"},
    "convictions":[{"offence":"s.376 PPC","court":"Court","date":"2022-03-14","sentence":"10 years"}],
    "address":{"address":"Mohalla Rasheedabad","district":"PB-KSR","since":"2019-06-01"}}"#;

/// One of face_recognition 1.3.0's test photographs, which `scripts/faces/reference.sh` (run by the test command)
/// puts in `target/faces/photos`.
pub fn reference_photo(name: &str) -> Vec<u8> {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/faces/photos"
    ));
    std::fs::read(dir.join(name)).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `bash scripts/faces/reference.sh` first (scripts/test.sh does)",
            dir.join(name).display()
        )
    })
}
