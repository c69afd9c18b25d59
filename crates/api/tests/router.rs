//! The router without a socket: routes, status codes and error bodies.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::SigningKey;
use hifazat_engine::{Engine, EngineConfig};
use hifazat_log::Signer;
use hifazat_store::Store;
use hifazat_topology::Topology;
use tower::ServiceExt;

async fn call(
    engine: &Engine,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = hifazat_api::router(engine.clone(), None)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_with_clear_statuses() {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::start(EngineConfig {
            node_name: "lahore".into(),
            topology: Topology::parse(include_str!("../../../topology/demo.toml")).unwrap(),
            signer: Signer::new(SigningKey::from_bytes(&[1; 32])),
            store: Store::open(dir.path()).unwrap(),
        })
        .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let good = format!(
            r#"{{"child_name":"Zara","age_years":5,"sex":"female","description":"yellow dress",
                "last_seen":{{"district":"SD-KHS","lat":24.85,"lon":67.01}},"last_seen_at_ms":{now},
                "reporter":{{"name":"Aunt","mobile":"+923451234567"}},"channel":"police_station"}}"#
        );
        let (status, body) = call(&engine, "POST", "/api/v1/alerts", &good).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = call(&engine, "GET", &format!("/api/v1/alerts/{id}"), "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["public"]["child_name"], "Zara");
        assert_eq!(body["status"]["stage"], "raised");
        assert!(
            body.get("restricted").is_none(),
            "restricted fields stay out of this view"
        );

        let (status, body) = call(
            &engine,
            "GET",
            &format!("/api/v1/alerts/{}", "0".repeat(32)),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = call(&engine, "GET", "/api/v1/alerts/not-an-id", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "id");
        let (status, body) = call(&engine, "POST", "/api/v1/alerts", "{not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = call(&engine, "POST", "/api/v1/alerts", r#"{"child_name":"x"}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"].as_str().unwrap().contains("missing field"),
            "{body}"
        );
        let bad = good
            .replace("\"SD-KHS\"", "\"SD-NOPE\"")
            .replace("+923451234567", "12");
        let (status, body) = call(&engine, "POST", "/api/v1/alerts", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["last_seen.district", "reporter.mobile"]);
        let huge = format!("{{\"child_name\":\"{}\"}}", "x".repeat(300 * 1024));
        let (status, _) = call(&engine, "POST", "/api/v1/alerts", &huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, _) = call(&engine, "GET", "/nowhere", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = call(&engine, "GET", "/healthz", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["stats"]["local_writes"], 1);
        // Cases: filed for a district on this node's line, refused for one elsewhere.
        let case = r#"{"category":"harassment","district":"PB-LHR","description":"Followed from school",
            "channel":"helpline1099"}"#;
        let (status, body) = call(&engine, "POST", "/api/v1/cases", case).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let case_id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = call(&engine, "GET", &format!("/api/v1/cases/{case_id}"), "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["category"], "harassment");
        assert_eq!(body["anonymous"], true);
        assert!(body.get("description").is_none(), "{body}");
        let (status, _) = call(&engine, "GET", &format!("/api/v1/alerts/{case_id}"), "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let elsewhere = case.replace("PB-LHR", "SD-KHS");
        let (status, body) = call(&engine, "POST", "/api/v1/cases", &elsewhere).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "district", "{body}");
        assert!(body["fields"][0]["reason"].as_str().unwrap().contains("not on this node's line"));
        // A node without a signed topology runs no network, and says so.
        let (status, body) = call(&engine, "GET", "/api/v1/peers", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["error"].as_str().unwrap().contains("no signed topology"), "{body}");
    })
    .await
    .expect("the test finishes within its time limit");
}

/// Reads a live event stream's body until `want` events of type `change` have come, or fails after 10 s.
async fn read_changes(body: Body, want: usize) -> Vec<serde_json::Value> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut text = String::new();
    let mut changes = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while changes.len() < want {
            let chunk = stream.next().await.expect("the stream goes on").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if event.starts_with("event: change\n") {
                    let data = event
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    changes.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    })
    .await
    .expect("the changes within 10 s");
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_the_changes_and_have_a_limit() {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::start(EngineConfig {
            node_name: "lahore".into(),
            topology: Topology::parse(include_str!("../../../topology/demo.toml")).unwrap(),
            signer: Signer::new(SigningKey::from_bytes(&[1; 32])),
            store: Store::open(dir.path()).unwrap(),
        })
        .unwrap();
        let router = hifazat_api::router(engine.clone(), None);
        let open = |uri: &str| {
            let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
            router.clone().oneshot(request)
        };
        let all = open("/api/v1/events").await.unwrap();
        assert_eq!(all.status(), StatusCode::OK);
        assert_eq!(all.headers()["content-type"], "text/event-stream");
        let cases_only = open("/api/v1/events?kind=case").await.unwrap();
        assert_eq!(cases_only.status(), StatusCode::OK);

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let alert = format!(
            r#"{{"child_name":"Zara","age_years":5,"sex":"female","description":"yellow dress",
                "last_seen":{{"district":"PB-LHR","lat":31.55,"lon":74.34}},"last_seen_at_ms":{now},
                "reporter":{{"name":"Aunt","mobile":"+923451234567"}},"channel":"police_station"}}"#
        );
        let (status, body) = call(&engine, "POST", "/api/v1/alerts", &alert).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let alert_id = body["id"].clone();
        let case = r#"{"category":"harassment","district":"PB-LHR","description":"Followed from school",
            "channel":"helpline1099"}"#;
        let (status, body) = call(&engine, "POST", "/api/v1/cases", case).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let case_id = body["id"].clone();

        let heard = read_changes(all.into_body(), 2).await;
        assert_eq!(heard[0]["record"], alert_id);
        assert_eq!(heard[0]["kind"], "alert");
        assert_eq!(heard[0]["created"], true);
        assert_eq!(heard[0]["origin"], "local");
        assert_eq!(heard[1]["record"], case_id);
        let heard = read_changes(cases_only.into_body(), 1).await;
        assert_eq!(heard[0]["record"], case_id, "the filter lets only cases through");

        // A bad filter is named.
        let (status, body) = call(&engine, "GET", "/api/v1/events?kind=sighting", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("kind"), "{body}");
        let (status, _) = call(&engine, "GET", "/api/v1/events?colour=red", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Streams past the limit are refused with a reason, and a closed stream frees its place.
        let mut held = Vec::new();
        for _ in 0..hifazat_limits::EVENT_STREAMS_MAX {
            let response = open("/api/v1/events").await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            held.push(response);
        }
        let refused = open("/api/v1/events").await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(refused.into_body(), usize::MAX).await.unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("live event streams"));
        held.pop();
        assert_eq!(open("/api/v1/events").await.unwrap().status(), StatusCode::OK);
    })
    .await
    .expect("the test finishes within its time limit");
}
