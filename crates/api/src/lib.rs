//! The node's local HTTP API (axum). The only crate that uses axum.
//!
//! Built by [`Api::router`], which tests call with `oneshot` and no socket. Every route has a body limit, a
//! timeout and a share of a concurrency limit (the live event stream has its own limit and no timeout). Errors go
//! through one type, [`ApiError`]: a 4xx says exactly which field was wrong and why; a 5xx says nothing internal.
//!
//! Callers are the public (no token) or users with a token (`hifazat user add`); what each may see and do is
//! `hifazat-access`'s rules, applied here before anything is read out or written. The public's writes and
//! tracking lookups are rate-limited per client address.
//!
//! Routes: health; alerts (raise, list, read, timeline events, sightings); cases (file, list, read, timeline
//! events); break-glass views of records outside an officer's area, and their list (`glass`); CAP 1.2 messages and
//! their Atom feed; tracking by code; statistics; live events; peers; the register
//! (verification, entries, consultations, alarms, notifications; see `register`); SMS (the outbox, and the
//! gateway's incoming texts and delivery reports; see `sms`); the OpenAPI document (derived from the handlers' annotations, see `openapi`); metrics.
//! Beside `/api/v1`, the public pages (`pages`: rendered by `hifazat-web`, reading and writing through the same
//! calls, views, rules and limits as the JSON they mirror).

mod alerts;
mod audit;
mod caller;
mod cap;
mod cases;
mod error;
mod found;
mod glass;
mod live;
mod metrics;
mod openapi;
mod pages;
mod peers;
mod register;
mod sms;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hifazat_access::{Directory, Sessions};
use hifazat_domain::RecordId;
use hifazat_engine::Engine;
use hifazat_limits as limits;
use hifazat_matcher::Matcher;
use hifazat_net::Net;
use hifazat_phone::Phone;
use hifazat_register::Register;
use hifazat_topology::Topology;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use caller::RateLimiter;
pub use error::ApiError;

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    pub engine: Engine,
    pub net: Option<Net>,
    /// The register, at the federal node only.
    register: Option<Arc<Register>>,
    /// The SMS service, where the node has one.
    phone: Option<Arc<Phone>>,
    users: Arc<Directory>,
    /// Officials' page sessions.
    sessions: Arc<Sessions>,
    streams: Arc<Semaphore>,
    limiter: Arc<RateLimiter>,
    /// Addresses locked out of tracking codes after too many wrong ones.
    lockout: Arc<caller::Lockout>,
    /// The OpenAPI document as this node serves it (with its topology's codes).
    document: Arc<String>,
    stats: Arc<Semaphore>,
    metrics: metrics::Metrics,
    /// Face matching: the photo worker and the matcher, where the node runs them.
    matcher: Option<Arc<Matcher>>,
    /// Turns true when the node begins to stop: live streams end then, so a graceful shutdown is not held open by
    /// clients that would listen for ever.
    stopping: Option<watch::Receiver<bool>>,
}

/// The most a page's form with one photo may send: the photo and the form's fields.
const PHOTO_FORM_BYTES_MAX: usize = limits::PHOTO_BYTES_MAX + 64 * 1024;

/// The API of one node, to be built into a router.
#[derive(Debug)]
pub struct Api {
    engine: Engine,
    net: Option<Net>,
    register: Option<Arc<Register>>,
    phone: Option<Arc<Phone>>,
    users: Arc<Directory>,
    public_rate: (u32, u32),
    stopping: Option<watch::Receiver<bool>>,
    matcher: Option<Arc<Matcher>>,
}

impl Api {
    /// An API over `engine`, with no network, no users and the default public rate limit.
    pub fn new(engine: Engine) -> Api {
        Api {
            engine,
            net: None,
            register: None,
            phone: None,
            users: Arc::new(Directory::empty()),
            public_rate: (limits::PUBLIC_BURST, limits::PUBLIC_PER_MINUTE),
            stopping: None,
            matcher: None,
        }
    }

    /// Face matching (photos taken, found children matched with alerts).
    pub fn matcher(mut self, matcher: Option<Arc<Matcher>>) -> Api {
        self.matcher = matcher;
        self
    }

    pub fn net(mut self, net: Option<Net>) -> Api {
        self.net = net;
        self
    }

    /// The register (the federal node only).
    pub fn register(mut self, register: Option<Arc<Register>>) -> Api {
        self.register = register;
        self
    }

    /// The node's SMS service: its outbox, and the addresses its gateway calls.
    pub fn phone(mut self, phone: Option<Arc<Phone>>) -> Api {
        self.phone = phone;
        self
    }

    /// The node's users, whose tokens name callers.
    pub fn users(mut self, users: Directory) -> Api {
        self.users = Arc::new(users);
        self
    }

    /// The public's allowance per client address: `burst` requests at once, then `per_minute`.
    pub fn public_rate(mut self, burst: u32, per_minute: u32) -> Api {
        self.public_rate = (burst, per_minute);
        self
    }

    /// A signal that turns true when the node begins to stop; live event streams end then. Without one they last
    /// as long as their clients listen.
    pub fn stopping(mut self, stopping: watch::Receiver<bool>) -> Api {
        self.stopping = Some(stopping);
        self
    }

    /// The routes.
    pub fn router(self) -> Router {
        let document = Arc::new(openapi::for_topology(self.engine.topology(), |d| {
            self.engine.files_cases_for(d)
        }));
        let state = AppState {
            engine: self.engine,
            net: self.net,
            register: self.register,
            phone: self.phone,
            users: self.users,
            sessions: Arc::new(Sessions::default()),
            streams: Arc::new(Semaphore::new(limits::EVENT_STREAMS_MAX)),
            limiter: Arc::new(RateLimiter::new(self.public_rate.0, self.public_rate.1)),
            lockout: Arc::default(),
            document,
            stats: Arc::new(Semaphore::new(limits::STATS_CONCURRENCY_MAX)),
            metrics: metrics::Metrics::new(),
            stopping: self.stopping,
            matcher: self.matcher,
        };
        // Counts and times every matched route (by its template).
        let track = axum::middleware::from_fn_with_state(state.clone(), metrics::track);
        // Live event streams last as long as their clients listen: they have their own limit, and no timeout.
        let live = Router::new()
            .route("/api/v1/events", get(live::events))
            .route("/api/v1/track/{code}/events", get(live::track_events))
            .route("/office/events", get(pages::office_events))
            .route_layer(track.clone());
        let api = Router::new()
            .route("/alerts", post(alerts::raise).get(alerts::list))
            .route("/alerts/{id}", get(alerts::get))
            .route("/alerts/by-code/{code}", get(alerts::by_code))
            .route("/alerts/{id}/events", post(alerts::add_event))
            .route("/alerts/{id}/sightings", post(alerts::add_sighting))
            .route("/alerts/{id}/break-glass", post(glass::alert))
            .route("/cases/{id}/break-glass", post(glass::case))
            .route("/break-glass", get(glass::list))
            .route("/alerts/{id}/cap", get(cap::alert))
            .route("/alerts.atom", get(cap::feed))
            .route("/cases", post(cases::file).get(cases::list))
            .route("/cases/{id}", get(cases::get))
            .route("/cases/{id}/events", post(cases::add_event))
            .route("/cases/{id}/messages", post(cases::police_message))
            .route("/cases/{id}/tracking-code", post(cases::renew_code))
            .route("/track/{code}", get(cases::track))
            .route("/track/{code}/messages", post(cases::complainant_message))
            .route("/found", post(found::report).get(found::list))
            .route("/found/{id}", get(found::get))
            .route("/found/{id}/events", post(found::add_event))
            .route("/found/{id}/photos/{n}", get(found::found_photo))
            .route("/found/{id}/matches/{alert}", post(found::decide))
            .route("/photos/{id}", get(found::photo))
            .route(
                "/photos",
                post(found::upload).route_layer(DefaultBodyLimit::max(limits::PHOTO_BYTES_MAX)),
            )
            .route("/stats", get(stats::stats))
            .route("/stats/trends", get(stats::trends))
            .route("/register/verify", post(register::verify))
            .route(
                "/register/offenders",
                post(register::create).get(register::list),
            )
            .route("/register/offenders/{id}", get(register::get))
            .route("/register/offenders/{id}/updates", post(register::update))
            .route("/register/search", post(register::search))
            .route("/register/consultations", get(register::consultations))
            .route("/register/alarms", get(register::alarms))
            .route(
                "/register/notices",
                post(register::notify).get(register::notices),
            )
            .route("/sms/outbox", get(sms::outbox))
            .route("/sms/incoming", get(sms::incoming))
            .route("/sms/dlr", get(sms::report))
            .route("/peers", get(peers::peers))
            .route("/logs", get(audit::logs))
            .route("/logs/{log}/checkpoint", get(audit::checkpoint))
            .route("/logs/{log}/inclusion", get(audit::inclusion))
            .route("/logs/{log}/consistency", get(audit::consistency))
            .route("/records/{id}/history", get(audit::history))
            .route("/evidence", get(audit::evidence))
            .route("/openapi.json", get(openapi::document))
            .route_layer(track.clone());
        Router::new()
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics::metrics))
            // The public pages (`hifazat-web` renders them), through the same calls and rules as the API.
            .route("/", get(pages::home))
            .route(
                "/raise",
                get(pages::raise_form)
                    .post(pages::raise_alert)
                    .route_layer(DefaultBodyLimit::max(PHOTO_FORM_BYTES_MAX)),
            )
            .route("/alerts/{id}", get(pages::alert))
            .route("/alerts/{id}/poster", get(pages::poster))
            .route("/alerts/{id}/sighting", post(pages::sighting))
            .route("/track", get(pages::track))
            .route("/track/messages", post(pages::track_message))
            .route(
                "/complaint",
                get(pages::complaint_form).post(pages::complaint_file),
            )
            .route("/complaint/filed", get(pages::complaint_filed))
            .route("/statistics", get(pages::statistics))
            .route("/status", get(pages::status))
            .route("/office", get(pages::office))
            .route("/office/alerts", get(pages::office_alerts))
            .route("/office/alerts/{id}", get(pages::office_alert))
            .route("/office/alerts/{id}/steps", post(pages::alert_step))
            .route("/office/alerts/{id}/break-glass", post(pages::glass_alert))
            .route(
                "/office/alerts/{id}/sightings",
                post(pages::office_sighting),
            )
            .route("/office/cases", get(pages::office_cases))
            .route(
                "/office/cases/new",
                get(pages::office_file_form).post(pages::office_file),
            )
            .route("/office/cases/{id}", get(pages::office_case))
            .route("/office/cases/{id}/steps", post(pages::case_step))
            .route("/office/cases/{id}/messages", post(pages::case_message))
            .route("/office/cases/{id}/break-glass", post(pages::glass_case))
            .route("/office/break-glass", get(pages::glass_list))
            .route(
                "/office/cases/{id}/tracking-code",
                post(pages::case_new_code),
            )
            .route(
                "/office/raise",
                get(pages::office_raise_form)
                    .post(pages::office_raise)
                    .route_layer(DefaultBodyLimit::max(PHOTO_FORM_BYTES_MAX)),
            )
            .route("/office/found", get(pages::found_list))
            .route(
                "/office/found/new",
                get(pages::found_new_form)
                    .post(pages::found_report)
                    .route_layer(DefaultBodyLimit::max(
                        PHOTO_FORM_BYTES_MAX * limits::FOUND_PHOTOS_MAX,
                    )),
            )
            .route("/office/found/{id}", get(pages::found_page))
            .route("/office/found/{id}/photos/{n}", get(pages::found_photo))
            .route("/office/found/{id}/steps", post(pages::found_step))
            .route(
                "/office/found/{id}/matches/{alert}",
                post(pages::found_decide),
            )
            .route("/office/node", get(pages::office_node))
            .route("/office/register", get(pages::register_entries))
            .route("/office/register/search", post(pages::register_search))
            .route(
                "/office/register/new",
                get(pages::register_new_form).post(pages::register_create),
            )
            .route(
                "/office/register/offenders/{id}",
                get(pages::register_offender),
            )
            .route(
                "/office/register/offenders/{id}/updates",
                post(pages::register_update),
            )
            .route("/office/register/{journal}", get(pages::register_journal))
            .route("/office/verify", post(pages::verify))
            .route("/office/audit/logs/{log}", get(pages::audit_log))
            .route("/office/audit/history", get(pages::audit_history))
            .route(
                "/office/sign-in",
                get(pages::sign_in_form).post(pages::sign_in),
            )
            .route("/office/sign-out", post(pages::sign_out))
            .route("/lang/{code}", get(pages::switch))
            .route("/assets/{name}", get(pages::asset))
            .route_layer(track)
            .nest("/api/v1", api)
            .layer(
                ServiceBuilder::new()
                    // Answers 408 Request Timeout when a request takes longer than the limit.
                    .layer(TimeoutLayer::new(Duration::from_millis(
                        limits::HTTP_TIMEOUT_MS,
                    )))
                    .layer(ConcurrencyLimitLayer::new(limits::HTTP_CONCURRENCY_MAX))
                    // Bodies past the limit are refused with 413 by the extractors that read them.
                    .layer(DefaultBodyLimit::max(limits::HTTP_BODY_BYTES_MAX)),
            )
            .merge(live)
            // Under `/api/` a JSON error; anywhere else a page, in the reader's language.
            .fallback(fallback)
            .with_state(state)
    }
}

/// `GET /healthz`: the node is up; its record and log counts.
#[utoipa::path(get, path = "/healthz", tag = "node",
    responses((status = 200, description = "Up, with counts", body = Object), (status = 503, description = "Shutting down")))]
async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = state.engine.stats().await?;
    Ok(Json(json!({ "status": "ok", "stats": stats })))
}

/// A new record's id.
#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    id: RecordId,
}

impl Created {
    fn id(id: RecordId) -> Created {
        Created { id }
    }
}

fn record_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse()
        .map_err(|reason: String| ApiError::field("id", reason))
}

/// A page size: 1 to `LIST_PAGE_MAX`, 50 when not given.
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=limits::LIST_PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "limit",
            format!("is 1 to {}", limits::LIST_PAGE_MAX),
        )),
    }
}

/// A page of a numbered sequence (register consultations, alarms and notifications; the SMS outbox), newest first.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeqQuery {
    /// Items older than this sequence number (from `next`).
    #[param(minimum = 1)]
    pub(crate) before: Option<u64>,
    /// 1 to 200; 50 when not given.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<usize>,
}

impl SeqQuery {
    /// `before` and the page's size, checked.
    fn checked(&self) -> Result<(Option<u64>, usize), ApiError> {
        let limit = page_limit(self.limit)?;
        if self.before == Some(0) {
            return Err(ApiError::field("before", "is a sequence number, from 1"));
        }
        Ok((self.before, limit))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SeqPage<T> {
    pub(crate) items: Vec<T>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<u64>,
}

impl<T> SeqPage<T> {
    /// A page of at most `limit` items, newest first, numbered by `seq`: a full page goes on below its last item.
    fn new(items: Vec<T>, limit: usize, seq: fn(&T) -> u64) -> SeqPage<T> {
        let next = match items.last() {
            Some(last) if items.len() == limit && seq(last) > 1 => Some(seq(last)),
            _ => None,
        };
        SeqPage { items, next }
    }
}

/// A list's place filters (district, region, province), each checked against the topology.
#[derive(Debug, Clone)]
struct Places {
    district: Option<String>,
    region: Option<String>,
    province: Option<String>,
}

impl Places {
    fn check(
        topology: &Topology,
        district: Option<&str>,
        region: Option<&str>,
        province: Option<&str>,
    ) -> Result<Places, ApiError> {
        let mut fields = Vec::new();
        if let Some(d) = district
            && topology.district(d).is_none()
        {
            fields.push(("district", format!("`{d}` is not a district code")));
        }
        if let Some(r) = region
            && topology.region(r).is_none()
        {
            fields.push(("region", format!("`{r}` is not a region code")));
        }
        if let Some(p) = province
            && topology.province(p).is_none()
        {
            fields.push(("province", format!("`{p}` is not a province code")));
        }
        if !fields.is_empty() {
            return Err(ApiError::fields(fields));
        }
        Ok(Places {
            district: district.map(str::to_owned),
            region: region.map(str::to_owned),
            province: province.map(str::to_owned),
        })
    }

    /// What a list needs to read: the districts that pass, and that `also` lets through (`None` when every
    /// district does), and the stage asked for, by its name.
    fn narrow<S: serde::Serialize>(
        &self,
        topology: &Topology,
        also: impl Fn(&str) -> bool,
        stage: Option<S>,
    ) -> hifazat_engine::Narrow {
        let districts: Vec<String> = topology
            .districts
            .iter()
            .filter(|d| self.hold(topology, &d.code) && also(&d.code))
            .map(|d| d.code.clone())
            .collect();
        hifazat_engine::Narrow {
            districts: (districts.len() < topology.districts.len()).then_some(districts),
            stage: stage.and_then(|s| match serde_json::to_value(s) {
                Ok(serde_json::Value::String(name)) => Some(name),
                _ => None,
            }),
        }
    }

    /// Whether a record of `district` passes.
    fn hold(&self, topology: &Topology, district: &str) -> bool {
        let d = topology.district(district);
        self.district.as_deref().is_none_or(|x| x == district)
            && self
                .region
                .as_deref()
                .is_none_or(|r| d.is_some_and(|d| d.region == r))
            && self
                .province
                .as_deref()
                .is_none_or(|p| d.is_some_and(|d| d.province == p))
    }
}

/// A path no route takes: a JSON error under `/api/`, else a page saying there is no such page.
async fn fallback(
    state: State<AppState>,
    reader: pages::Reader,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if uri.path().starts_with("/api/") {
        ApiError::NotFound("no such route".into()).into_response()
    } else {
        pages::not_found(state, reader).await
    }
}
