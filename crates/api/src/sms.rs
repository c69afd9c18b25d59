//! SMS: the node's outbox for officials, and the two addresses its gateway calls: incoming texts (Kannel's
//! get-url) and delivery reports (the dlr-url the node gives with each message). The gateway's calls carry the
//! node's callback key instead of a token; a wrong or missing key is refused. Nodes without an SMS service answer
//! 404.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use hifazat_phone::{Message, Phone, PhoneError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Who;
use crate::error::{ApiError, responses};
use crate::{AppState, SeqPage, SeqQuery};

fn here(state: &AppState) -> Result<Arc<Phone>, ApiError> {
    state
        .phone
        .clone()
        .ok_or_else(|| ApiError::NotFound("this node has no SMS service".into()))
}

impl From<PhoneError> for ApiError {
    fn from(e: PhoneError) -> ApiError {
        match e {
            PhoneError::Invalid { field, why } => ApiError::field(field, why),
            PhoneError::Engine(e) => e.into(),
            PhoneError::Outbox(_) | PhoneError::Register(_) => {
                tracing::error!(error = %e, "sms request failed inside the node");
                ApiError::Internal
            }
        }
    }
}

/// Compares the key a gateway call carries with the node's, in time that does not depend on where they differ.
fn check_key(phone: &Phone, key: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = phone.callback_key() else {
        return Err(ApiError::NotFound(
            "this node has no SMS gateway to take calls from".into(),
        ));
    };
    let given = key.unwrap_or("");
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the gateway's callback key is missing or wrong".into(),
        ))
    }
}

/// `GET /api/v1/sms/outbox`: the messages this node sent or keeps, newest first, with where each stands. The text
/// of a verification's reply is never kept.
#[utoipa::path(get, path = "/api/v1/sms/outbox", tag = "sms", params(SeqQuery),
    responses(
        (status = 200, description = "A page of messages", body = SeqPage<Message>),
        responses::Malformed,
        responses::Unauthenticated,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn outbox(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<SeqQuery>, QueryRejection>,
) -> Result<Json<SeqPage<Message>>, ApiError> {
    who.caller.may_read_outbox()?;
    let phone = here(&state)?;
    let Query(query) = query?;
    let (before, limit) = query.checked()?;
    let items = tokio::task::spawn_blocking(move || phone.outbox().page(before, limit))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(PhoneError::from)?;
    Ok(Json(SeqPage::new(items, limit, |m| m.id)))
}

/// A text from the gateway, as Kannel's get-url passes it (`?key=…&id=%I&from=%p&to=%P&text=%a`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IncomingQuery {
    /// The node's callback key.
    key: Option<String>,
    /// The gateway's id for the text (a repeat of an id is answered once).
    id: String,
    /// The sender's number.
    from: String,
    /// The number texted (the short code).
    #[serde(default)]
    #[allow(dead_code)]
    to: Option<String>,
    /// The text, in UTF-8.
    #[serde(default)]
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncomingAnswer {
    /// The outbox message that answers the text, if it gets one.
    reply: Option<u64>,
}

/// `GET /api/v1/sms/incoming`: a text to this node's number, from the gateway. A CNIC is verified against the
/// register (federal node), an `ALERT …` text raises an alert, anything else gets a help text; the answer goes
/// out as an SMS, not in this response.
#[utoipa::path(get, path = "/api/v1/sms/incoming", tag = "sms", params(IncomingQuery),
    security(()),
    responses(
        (status = 200, description = "Taken; the reply's outbox id, if any", body = IncomingAnswer),
        responses::Malformed,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn incoming(
    State(state): State<AppState>,
    query: Result<Query<IncomingQuery>, QueryRejection>,
) -> Result<Json<IncomingAnswer>, ApiError> {
    let phone = here(&state)?;
    let Query(query) = query?;
    check_key(&phone, query.key.as_deref())?;
    let reply = phone
        .incoming(&query.id, &query.from, &query.text, state.engine.now_ms())
        .await?;
    Ok(Json(IncomingAnswer {
        reply: reply.map(|m| m.id),
    }))
}

/// A delivery report, as the node's dlr-url asks Kannel to send it (`?key=…&id=…&status=%d&said=%A`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    key: Option<String>,
    /// The outbox message's id.
    id: u64,
    /// Kannel's report type: 1 delivered, 2 undelivered, 4 buffered, 8 accepted by the SMS centre, 16 rejected.
    #[param(minimum = 0, maximum = 255)]
    status: u8,
    /// What the SMS centre said.
    #[serde(default)]
    said: Option<String>,
}

/// `GET /api/v1/sms/dlr`: a delivery report from the gateway for one outbox message.
#[utoipa::path(get, path = "/api/v1/sms/dlr", tag = "sms", params(ReportQuery),
    security(()),
    responses(
        (status = 200, description = "The message as it now stands", body = Message),
        responses::Malformed,
        responses::Forbidden,
        responses::NotFound,
        responses::InvalidFields,
        responses::Unavailable
    ))]
pub(crate) async fn report(
    State(state): State<AppState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<Message>, ApiError> {
    let phone = here(&state)?;
    let Query(query) = query?;
    check_key(&phone, query.key.as_deref())?;
    let said = query
        .said
        .map(|s| s.chars().take(200).collect::<String>())
        .filter(|s| !s.is_empty());
    tokio::task::spawn_blocking(move || phone.report(query.id, query.status, said))
        .await
        .map_err(|_| ApiError::Internal)??
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no outbox message has this id".into()))
}
