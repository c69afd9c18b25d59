//! The OpenAPI document: complete, consistent, and every operation in it driven with random and malformed input
//! (bodies generated from its schemas and then broken, wrong types, junk bytes, bad tokens, odd paths and
//! queries) without a 5xx or a panic.
//!
//! Seeded: `HIFAZAT_FUZZ_SEED=N` replays a run; a failure prints the seed and the request.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

mod common;

use common::*;

/// Requests per operation and caller kind.
const ROUNDS: usize = 100;

/// splitmix64: small, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Records that exist, so some requests reach deep into the handlers.
struct Known {
    alert: String,
    case: String,
    code: String,
    /// A log the node holds (its id, hex).
    log: String,
}

/// Makes values for schemas of the document, mostly well-formed, sometimes wild.
struct Gen<'a> {
    doc: &'a Value,
    rng: Rng,
    known: &'a Known,
}

impl Gen<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                &self.doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    fn string(&mut self) -> Value {
        let long = "x".repeat(5_000);
        let hex: String = (0..32)
            .map(|_| char::from_digit(self.rng.below(16) as u32, 16).unwrap())
            .collect();
        let pool = [
            "PB-LHR",
            "PB-KSR",
            "SD-KHS",
            "SD-HYD",
            "PB",
            "PB-LAHORE",
            "XX-NOPE",
            "",
            " ",
            "Zara",
            "زارا بی بی",
            "\u{0}\u{202e}\u{feff}",
            "+923451234567",
            "03001234567",
            "FIR-12/2026",
            "2026-11",
            "../../etc/passwd",
            "%00%ff",
            "'; DROP TABLE alerts; --",
            "🙂🙂🙂",
            &long,
            &hex,
            &self.known.alert,
            &self.known.case,
            &self.known.code,
        ];
        Value::String(self.rng.pick(&pool).to_string())
    }

    fn integer(&mut self) -> Value {
        let now = now_ms();
        match self.rng.below(14) {
            0 => json!(0),
            1 => json!(1),
            2 => json!(5),
            3 => json!(3),
            4 => json!(200),
            5 => json!(201),
            6 => json!(now),
            7 => json!(now - 3_600_000),
            8 => json!(now + 86_400_000),
            9 => json!(u64::MAX),
            10 => json!(-1),
            11 => json!(i64::MIN),
            12 => json!(1e30),
            _ => json!(2.5),
        }
    }

    fn number(&mut self) -> Value {
        let pool = [31.55, 74.34, 24.85, 67.01, 0.0, -91.0, 181.0, 1e308, -0.0];
        json!(self.rng.pick(&pool))
    }

    /// Anything at all, of any type.
    fn wild(&mut self) -> Value {
        match self.rng.below(9) {
            0 => Value::Null,
            1 => json!(true),
            2 => self.string(),
            3 => self.integer(),
            4 => json!([]),
            5 => json!({}),
            6 => json!([1, "two", null]),
            7 => {
                // Deep nesting, past what a parser should take.
                let mut v = json!(1);
                for _ in 0..200 {
                    v = json!([v]);
                }
                v
            }
            _ => json!({"type": "raised"}),
        }
    }

    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema).clone();
        if depth > 8 || self.rng.one_in(14) {
            return self.wild();
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            return self.rng.pick(options).clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let option = self.rng.pick(options).clone();
                return self.value(&option, depth + 1);
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts.clone() {
                match self.value(&part, depth + 1) {
                    Value::Object(o) => merged.extend(o),
                    other => return other,
                }
            }
            return Value::Object(merged);
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => {
                // Mostly the non-null type.
                let ts: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                let non_null: Vec<&str> = ts.iter().copied().filter(|t| *t != "null").collect();
                if non_null.is_empty() || self.rng.one_in(5) {
                    self.rng.pick(&ts).to_string()
                } else {
                    self.rng.pick(&non_null).to_string()
                }
            }
            _ if schema.get("properties").is_some() => "object".into(),
            _ => return self.wild(),
        };
        match ty.as_str() {
            "string" => self.string(),
            "integer" => self.integer(),
            "number" => self.number(),
            "boolean" => json!(self.rng.one_in(2)),
            "null" => Value::Null,
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                let n = self.rng.below(4);
                Value::Array((0..n).map(|_| self.value(&items, depth + 1)).collect())
            }
            _ => {
                let required: BTreeSet<String> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let mut object = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (name, prop) in props {
                        let wanted = if required.contains(name) {
                            !self.rng.one_in(15)
                        } else {
                            self.rng.one_in(2)
                        };
                        if wanted {
                            let v = self.value(prop, depth + 1);
                            object.insert(name.clone(), v);
                        }
                    }
                }
                if self.rng.one_in(15) {
                    object.insert("unexpected_field".into(), json!(1));
                }
                Value::Object(object)
            }
        }
    }

    /// A query parameter's value as text.
    fn query_value(&mut self, schema: &Value) -> String {
        if self.rng.one_in(8) {
            let pool = ["", "%ZZ", "-1", "1e3", "null", "true", &"9".repeat(40)];
            return self.rng.pick(&pool).to_string();
        }
        match self.value(schema, 7) {
            Value::String(s) => encode(&s),
            other => encode(&other.to_string()),
        }
    }

    fn path_value(&mut self, name: &str) -> String {
        let known = if name == "code" {
            vec![self.known.code.clone(), self.known.code.to_lowercase()]
        } else if name == "log" {
            vec![self.known.log.clone(), self.known.log.to_uppercase()]
        } else {
            vec![self.known.alert.clone(), self.known.case.clone()]
        };
        match self.rng.below(6) {
            0 | 1 => self.rng.pick(&known).clone(),
            2 => (0..32)
                .map(|_| char::from_digit(self.rng.below(16) as u32, 16).unwrap())
                .collect(),
            3 => encode("zara bibi/..%"),
            4 => "f".repeat(300),
            _ => {
                let text = match self.string() {
                    Value::String(s) => s.chars().take(60).collect::<String>(),
                    _ => "x".into(),
                };
                encode(&text)
            }
        }
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct Sent {
    method: String,
    uri: String,
    caller: String,
    content_type: String,
    body: Vec<u8>,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(400).collect();
        write!(
            f,
            "{} {} as {} ({}): {}",
            self.method, self.uri, self.caller, self.content_type, body
        )
    }
}

async fn send(n: &Node, sent: &Sent) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(sent.method.as_str())
        .uri(&sent.uri)
        .header("content-type", &sent.content_type);
    match sent.caller.as_str() {
        "public" => {}
        "bad token" => request = request.header("authorization", "Bearer hz_0123"),
        "not bearer" => request = request.header("authorization", "Basic YTpi"),
        who => request = request.header("authorization", format!("Bearer {}", n.tokens[who])),
    }
    let response = n
        .router
        .clone()
        .oneshot(request.body(Body::from(sent.body.clone())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
    // A live stream never ends: only its status counts.
    if streaming {
        return (status, String::new());
    }
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn document(n: &Node) -> Value {
    let (status, body) = n.call("public", "GET", "/api/v1/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn known(n: &Node) -> Known {
    let (_, a) = n
        .call(
            "dpo",
            "POST",
            "/api/v1/alerts",
            &alert("Zara", "PB-LHR", "police_station"),
        )
        .await;
    let (_, c) = n
        .call(
            "dpo",
            "POST",
            "/api/v1/cases",
            &case("PB-LHR", "police_station"),
        )
        .await;
    let (_, logs) = n.call("ministry", "GET", "/api/v1/logs", "").await;
    Known {
        log: logs[0]["log"].as_str().expect("a log").to_owned(),
        alert: a["id"].as_str().expect("an alert").to_owned(),
        case: c["id"].as_str().expect("a case").to_owned(),
        code: c["tracking_code"].as_str().expect("a code").to_owned(),
    }
}

/// Every operation of the document, as (method, path template, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            ops.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_covers_every_route_and_resolves() {
    within(async {
        let n = node("lahore", (1000, 1000));
        let doc = document(&n).await;
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        // Every reference resolves.
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                schemas.contains_key(&name),
                "unresolved reference to {name}"
            );
        }
        // The routes the router serves, written out: each is documented, and nothing else is.
        let served: BTreeSet<(String, String)> = [
            ("GET", "/healthz"),
            ("GET", "/metrics"),
            ("GET", "/api/v1/openapi.json"),
            ("POST", "/api/v1/alerts"),
            ("GET", "/api/v1/alerts"),
            ("GET", "/api/v1/alerts/{id}"),
            ("GET", "/api/v1/alerts/by-code/{code}"),
            ("POST", "/api/v1/alerts/{id}/events"),
            ("POST", "/api/v1/alerts/{id}/sightings"),
            ("POST", "/api/v1/alerts/{id}/break-glass"),
            ("POST", "/api/v1/cases/{id}/break-glass"),
            ("GET", "/api/v1/break-glass"),
            ("GET", "/api/v1/alerts/{id}/cap"),
            ("GET", "/api/v1/alerts.atom"),
            ("POST", "/api/v1/cases"),
            ("GET", "/api/v1/cases"),
            ("GET", "/api/v1/cases/{id}"),
            ("POST", "/api/v1/cases/{id}/events"),
            ("GET", "/api/v1/track/{code}"),
            ("POST", "/api/v1/track/{code}/messages"),
            ("GET", "/api/v1/track/{code}/events"),
            ("POST", "/api/v1/cases/{id}/messages"),
            ("POST", "/api/v1/cases/{id}/tracking-code"),
            ("GET", "/api/v1/stats"),
            ("GET", "/api/v1/stats/trends"),
            ("GET", "/api/v1/events"),
            ("GET", "/api/v1/peers"),
            ("POST", "/api/v1/register/verify"),
            ("POST", "/api/v1/register/offenders"),
            ("GET", "/api/v1/register/offenders"),
            ("GET", "/api/v1/register/offenders/{id}"),
            ("POST", "/api/v1/register/offenders/{id}/updates"),
            ("POST", "/api/v1/register/search"),
            ("GET", "/api/v1/register/consultations"),
            ("GET", "/api/v1/register/alarms"),
            ("GET", "/api/v1/register/notices"),
            ("POST", "/api/v1/register/notices"),
            ("GET", "/api/v1/sms/outbox"),
            ("GET", "/api/v1/sms/incoming"),
            ("GET", "/api/v1/sms/dlr"),
            ("GET", "/api/v1/logs"),
            ("GET", "/api/v1/logs/{log}/checkpoint"),
            ("GET", "/api/v1/logs/{log}/inclusion"),
            ("GET", "/api/v1/logs/{log}/consistency"),
            ("GET", "/api/v1/records/{id}/history"),
            ("GET", "/api/v1/evidence"),
            ("POST", "/api/v1/photos"),
            ("GET", "/api/v1/photos/{id}"),
            ("POST", "/api/v1/found"),
            ("GET", "/api/v1/found"),
            ("GET", "/api/v1/found/{id}"),
            ("GET", "/api/v1/found/{id}/photos/{n}"),
            ("POST", "/api/v1/found/{id}/events"),
            ("POST", "/api/v1/found/{id}/matches/{alert}"),
        ]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
        let documented: BTreeSet<(String, String)> = operations(&doc)
            .into_iter()
            .map(|(m, p, _)| (m, p))
            .collect();
        assert_eq!(documented, served);
        // Every parameter is where the handler reads it: a path parameter is in the path's template, and every
        // name in the template is a required path parameter.
        for (method, path, op) in operations(&doc) {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for param in &params {
                let name = param["name"].as_str().expect("named");
                let braced = format!("{{{name}}}");
                assert_eq!(
                    param["in"] == "path",
                    path.contains(&braced),
                    "{method} {path}: parameter `{name}` is said to be in {}",
                    param["in"]
                );
            }
            for piece in path.split('{').skip(1) {
                let name = piece.split('}').next().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{method} {path}: `{name}` is not a required path parameter"
                );
            }
        }
        // And each documented operation is really routed (not the fallback's 404 or a 405).
        let known = known(&n).await;
        for (method, path, _) in operations(&doc) {
            let uri = path
                .replace("{id}", &known.alert)
                .replace("{code}", &known.code)
                .replace("{log}", &known.log);
            let sent = Sent {
                method: method.clone(),
                uri,
                caller: "ministry".into(),
                content_type: "application/json".into(),
                body: b"{}".to_vec(),
            };
            let (status, body) = send(&n, &sent).await;
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && !body.contains("no such route"),
                "{sent}: {status} {body}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_random_and_malformed_input() {
    let seed: u64 = std::env::var("HIFAZAT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x4846_5a54);
    tokio::time::timeout(std::time::Duration::from_secs(600), async {
        let n = node("federal", (1_000_000, 1_000_000));
        let doc = document(&n).await;
        let known = known(&n).await;
        let mut g = Gen {
            doc: &doc,
            rng: Rng(seed),
            known: &known,
        };
        let callers = [
            "public",
            "station_officer",
            "dpo",
            "ig",
            "ministry",
            "auditor",
            "dpo_karachi",
            "register_officer",
            "verifier",
            "bad token",
            "not bearer",
        ];
        let mut sent_count = 0;
        let mut statuses = BTreeSet::new();
        for (method, path, op) in operations(&doc) {
            for caller in callers {
                for _ in 0..ROUNDS {
                    let mut uri = path.clone();
                    for name in ["id", "code", "log"] {
                        let pattern = format!("{{{name}}}");
                        if uri.contains(&pattern) {
                            let value = g.path_value(name);
                            uri = uri.replace(&pattern, &value);
                        }
                    }
                    let mut query = Vec::new();
                    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
                        for p in params.iter().filter(|p| p["in"] == "query") {
                            if g.rng.one_in(2) {
                                let value = g.query_value(&p["schema"]);
                                query.push(format!("{}={value}", p["name"].as_str().unwrap()));
                            }
                        }
                    }
                    if g.rng.one_in(12) {
                        query.push("unexpected=1".into());
                    }
                    if !query.is_empty() {
                        uri = format!("{uri}?{}", query.join("&"));
                    }
                    let schema = op
                        .pointer("/requestBody/content/application~1json/schema")
                        .cloned();
                    let mut content_type = "application/json".to_owned();
                    let body = match (schema, g.rng.below(20)) {
                        (None, 0) => b"{\"x\":1}".to_vec(),
                        (None, _) => Vec::new(),
                        (Some(_), 0) => vec![0xff, 0xfe, 0x00, b'{'],
                        (Some(_), 1) => Vec::new(),
                        (Some(s), 2) => {
                            let v = serde_json::to_vec(&g.value(&s, 0)).unwrap();
                            v[..v.len() / 2].to_vec()
                        }
                        (Some(s), 3) => {
                            content_type = "text/plain".into();
                            serde_json::to_vec(&g.value(&s, 0)).unwrap()
                        }
                        (Some(s), _) => serde_json::to_vec(&g.value(&s, 0)).unwrap(),
                    };
                    let sent = Sent {
                        method: method.clone(),
                        uri,
                        caller: caller.into(),
                        content_type,
                        body,
                    };
                    let (status, answer) = send(&n, &sent).await;
                    sent_count += 1;
                    statuses.insert(status.as_u16());
                    // The one 5xx the document promises on a healthy node: peers, when it runs without a network.
                    let no_network = path == "/api/v1/peers"
                        && status == StatusCode::SERVICE_UNAVAILABLE
                        && answer.contains("without a network");
                    assert!(
                        !status.is_server_error() || no_network,
                        "seed {seed}: {sent}\n=> {status} {answer}"
                    );
                    if status.is_client_error() && status != StatusCode::NOT_FOUND {
                        let error: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                        assert!(
                            error["error"].as_str().is_some_and(|e| !e.is_empty()),
                            "seed {seed}: {sent}\n=> {status} without a JSON error: {answer}"
                        );
                    }
                }
            }
        }
        // The run reached past validation: records were written, and bad input was turned away in many ways.
        for want in [200, 201, 400, 401, 403, 404, 422] {
            assert!(statuses.contains(&want), "no {want} in {statuses:?}");
        }
        eprintln!("seed {seed}: {sent_count} requests, statuses {statuses:?}");
    })
    .await
    .expect("the run finishes within its time limit");
}
