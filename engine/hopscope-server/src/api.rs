//! The HTTP API. Every route and its errors are described in `sdk/openapi.yaml`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use bytes::Bytes;
use futures_util::Stream;
use hopscope_store::{
    Appended, Batch, ConferenceQuery, ConferenceRecord, ConferenceState, Feedback, FindingRow, Input,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::{Caller, Need};
use crate::batch::{self, BatchLimits};
use crate::error::ApiError;
use crate::live::{LiveEvent, Snapshot};
use crate::{State, now_ms};

/// The checked-in OpenAPI description, served as is.
pub const OPENAPI: &str = include_str!("../../../sdk/openapi.yaml");

type AppState = Shared<Arc<State>>;

/// Every route, as `(method, path)`. The router is built from this list and a test keeps
/// `sdk/openapi.yaml` describing exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/openapi.yaml"),
    ("post", "/v1/observations"),
    ("post", "/v1/evaluate"),
    ("post", "/v1/feedback"),
    ("get", "/v1/conferences"),
    ("get", "/v1/conferences/{id}"),
    ("get", "/v1/conferences/{id}/events"),
    ("get", "/v1/users/{user}/conferences"),
    ("get", "/v1/rules"),
    ("post", "/v1/rules/check"),
    ("put", "/v1/rules/{name}"),
    ("patch", "/v1/rules/{name}"),
    ("delete", "/v1/rules/{name}"),
    ("get", "/v1/deliveries"),
    ("get", "/v1/deliveries/{id}"),
    ("post", "/v1/deliveries/{id}/retry"),
    ("get", "/v1/switches"),
    ("put", "/v1/switches/{kind}/{name}"),
    ("get", "/ui/conferences/{id}"),
    ("get", "/ui/conference.js"),
    ("get", "/ui/users/{user}"),
    ("get", "/ui/user.js"),
];

fn handler(method: &str, path: &str) -> Option<MethodRouter<Arc<State>>> {
    use axum::routing::{delete, patch, put};
    Some(match (method, path) {
        ("get", "/healthz") => get(healthz),
        ("get", "/readyz") => get(readyz),
        ("get", "/metrics") => get(metrics),
        ("get", "/v1/openapi.yaml") => get(openapi),
        ("post", "/v1/observations") => post(post_observations),
        ("post", "/v1/evaluate") => post(post_evaluate),
        ("post", "/v1/feedback") => post(post_feedback),
        ("get", "/v1/conferences") => get(list_conferences),
        ("get", "/v1/conferences/{id}") => get(get_conference),
        ("get", "/v1/conferences/{id}/events") => get(conference_events),
        ("get", "/v1/users/{user}/conferences") => get(user_conferences),
        ("get", "/v1/rules") => get(crate::rules_api::list),
        ("post", "/v1/rules/check") => post(crate::rules_api::check),
        ("put", "/v1/rules/{name}") => put(crate::rules_api::upload),
        ("patch", "/v1/rules/{name}") => patch(crate::rules_api::switch),
        ("delete", "/v1/rules/{name}") => delete(crate::rules_api::remove),
        ("get", "/v1/deliveries") => get(crate::callbacks_api::list),
        ("get", "/v1/deliveries/{id}") => get(crate::callbacks_api::get),
        ("post", "/v1/deliveries/{id}/retry") => post(crate::callbacks_api::retry),
        ("get", "/v1/switches") => get(crate::callbacks_api::switches),
        ("put", "/v1/switches/{kind}/{name}") => put(crate::callbacks_api::set_switch),
        ("get", "/ui/conferences/{id}") => get(crate::ui::conference_page),
        ("get", "/ui/conference.js") => get(crate::ui::conference_script),
        ("get", "/ui/users/{user}") => get(crate::ui::user_page),
        ("get", "/ui/user.js") => get(crate::ui::user_script),
        _ => return None,
    })
}

/// All routes.
pub fn router(state: Arc<State>) -> Router {
    // The limit applies to the raw body; gzip bodies are also checked after inflating.
    let body_limit = state.config.max_body_bytes;
    let mut by_path: Vec<(&str, MethodRouter<Arc<State>>)> = Vec::new();
    for (method, path) in ROUTES {
        let Some(h) = handler(method, path) else { continue };
        match by_path.iter_mut().find(|(p, _)| p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(h),
            None => by_path.push((path, h)),
        }
    }
    let mut router = Router::new();
    for (path, h) in by_path {
        router = router.route(path, h);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
    .hint("see /v1/openapi.yaml for the API")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI description lists exactly the routes the server serves.
    #[test]
    fn openapi_describes_every_route_and_no_other() {
        let spec: serde_yaml::Value = serde_yaml::from_str(OPENAPI).unwrap_or(serde_yaml::Value::Null);
        let mut described = Vec::new();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_mapping()) {
            for (path, ops) in paths {
                for (method, _) in ops.as_mapping().into_iter().flatten() {
                    described.push((
                        method.as_str().unwrap_or("").to_string(),
                        path.as_str().unwrap_or("").to_string(),
                    ));
                }
            }
        }
        described.sort();
        let mut served: Vec<(String, String)> =
            ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        served.sort();
        assert_eq!(described, served);
        assert!(ROUTES.iter().all(|(m, p)| handler(m, p).is_some()), "every listed route has a handler");
    }
}

/// `?key=` for clients that cannot set headers (EventSource).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyParam {
    pub(crate) key: Option<String>,
}

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|e| {
        ApiError::bad_request("bad_query", format!("the query string is not valid: {}", e.body_text()))
            .hint("see /v1/openapi.yaml for the parameters")
    })
}

pub(crate) fn body(b: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            batch::too_large(limit)
        } else {
            ApiError::bad_request("bad_body", format!("the body could not be read: {}", e.body_text()))
        }
    })
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal("a background task", e))
}

pub(crate) fn authenticate(
    state: &State,
    headers: &HeaderMap,
    key: Option<&str>,
    need: Need,
) -> Result<Caller, ApiError> {
    state.keys.authenticate(state.store.as_ref(), headers, key, need)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_such_route", "there is no such endpoint")
        .hint("see /v1/openapi.yaml for the API")
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(Shared(state): AppState) -> Response {
    if state.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting or shutting down\n").into_response()
    }
}

async fn metrics(Shared(state): AppState) -> Response {
    state.metrics.live_conferences.set(state.live.len() as i64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

/// The answer to an ingest request.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestReply {
    /// Observations in the batch.
    pub observations: usize,
    /// `stored`, or `duplicate` when the batch id was seen before (nothing stored again).
    pub result: String,
    /// The batch id used for deduplication.
    pub batch_id: String,
    /// The conferences it touched.
    pub conferences: Vec<String>,
}

fn batch_id(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    match headers.get("idempotency-key") {
        Some(v) => {
            let v = v.to_str().unwrap_or("");
            if v.is_empty() || v.len() > 200 || !v.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ApiError::bad_request(
                    "bad_idempotency_key",
                    "Idempotency-Key must be 1–200 visible ASCII characters",
                )
                .hint("use a UUID per batch, the same one on every retry of that batch"));
            }
            Ok(format!("key:{v}"))
        }
        // Without a key, a byte-identical body is the same batch.
        None => {
            use sha2::Digest;
            Ok(format!("body:{}", hex::encode(sha2::Sha256::digest(body))))
        }
    }
}

/// Bodies up to this size (plain JSON) are checked on the request's own task: about
/// 1.8 µs per KiB, so at most ~60 µs between awaits.
const INLINE_CHECK_BYTES: usize = 32 * 1024;

async fn post_observations(
    Shared(state): AppState,
    headers: HeaderMap,
    key: Result<Query<KeyParam>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let started = Instant::now();
    let result = ingest(&state, &headers, key, raw).await;
    state.metrics.ingest_seconds.observe(started.elapsed().as_secs_f64());
    match &result {
        Ok((_, reply)) => state.metrics.batch(&reply.result),
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => state.metrics.batch("throttled"),
        Err(_) => state.metrics.batch("rejected"),
    }
    result
}

async fn ingest(
    state: &Arc<State>,
    headers: &HeaderMap,
    key: Result<Query<KeyParam>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let key = query(key)?;
    let caller = authenticate(state, headers, key.key.as_deref(), Need::Write)?;
    state.keys.rate_limit(&caller, state.config.rate_limit_per_key, state.config.rate_limit_burst)?;
    // Bounded work: beyond the in-flight limit, clients back off instead of queueing.
    let _slot = state.ingest_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::too_many("overloaded", "the server is at its ingest capacity", 1)
            .hint("retry after the Retry-After delay; batches are idempotent")
    })?;
    state.metrics.ingest_in_flight.inc();
    let _in_flight = scopeguard(|| {
        state.metrics.ingest_in_flight.dec();
    });
    let body = body(raw, state.config.max_body_bytes)?;
    let batch_id = batch_id(headers, &body)?;
    let limits = BatchLimits {
        max_bytes: state.config.max_body_bytes,
        max_observations: state.config.max_batch_observations,
        max_skew_ms: state.config.max_clock_skew_s * 1000.0,
    };
    // A typical collector's batch (a 27 KB one checks in about 50 µs) fits in the
    // ~100 µs a task may run between awaits, so it is checked right here, sparing two
    // thread hand-offs; big or compressed bodies go to a blocking thread.
    let checked = if body.len() <= INLINE_CHECK_BYTES && !batch::is_gzip(&body) {
        batch::check(&body, &caller.app, now_ms(), &limits)?
    } else {
        let app = caller.app.clone();
        blocking(move || batch::check(&body, &app, now_ms(), &limits)).await??
    };
    let conferences: Vec<String> = checked.parts.iter().map(|p| p.conference.clone()).collect();
    let batch = Batch {
        app: caller.app.clone(),
        batch_id: batch_id.clone(),
        received_ms: now_ms(),
        parts: checked.parts,
        unfiled: checked.unfiled,
        unfiled_observations: checked.unfiled_observations,
    };
    // The request waits for the group commit on a channel, holding no thread.
    let (done, committed) = tokio::sync::oneshot::channel();
    state.store.append_then(batch, Box::new(move |r| drop(done.send(r))));
    let appended = committed.await.map_err(|_| hopscope_store::StoreError::WriterGone)??;
    if appended == Appended::Stored {
        state.metrics.observations.inc_by(checked.observations as u64);
        for c in &conferences {
            if state.live.touch(&caller.app, c).is_err() {
                // Stored, so nothing is lost: it is evaluated once the load drops.
                tracing::warn!(app = %caller.app, conference = %c, "live registry full; conference not evaluated live");
            }
        }
    }
    let result = match appended {
        Appended::Stored => "stored",
        Appended::Duplicate => "duplicate",
    };
    let status = if appended == Appended::Stored { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((
        status,
        Json(IngestReply {
            observations: checked.observations,
            result: result.into(),
            batch_id,
            conferences,
        }),
    ))
}

/// Runs a closure when dropped.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

#[derive(Debug, Default, Deserialize)]
struct EvaluateParams {
    key: Option<String>,
    /// File name of a single-file body (names the participant when the data does not).
    name: Option<String>,
}

/// Stateless: a dump (or several, as multipart/form-data) or native observations in, the
/// full diagnosis of each conference out. Nothing is stored.
async fn post_evaluate(
    Shared(state): AppState,
    headers: HeaderMap,
    params: Result<Query<EvaluateParams>, QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let caller = authenticate(&state, &headers, params.key.as_deref(), Need::Read)?;
    let _slot = state.evaluate_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::too_many("overloaded", "every evaluation worker is busy", 2)
            .hint("retry after the Retry-After delay")
    })?;
    let limit = state.config.max_body_bytes;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut inputs = Vec::new();
    if is_multipart {
        let mut form = <Multipart as axum::extract::FromRequest<()>>::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request("bad_multipart", e.body_text()))?;
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(batch::too_large(limit)),
                Err(e) => return Err(ApiError::bad_request("bad_multipart", e.body_text())),
            };
            let name = field
                .file_name()
                .or(field.name())
                .map(str::to_string)
                .unwrap_or_else(|| format!("upload-{}", inputs.len() + 1));
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    batch::too_large(limit)
                } else {
                    ApiError::bad_request("bad_multipart", e.body_text())
                }
            })?;
            inputs.push(Input { name, bytes: bytes.to_vec() });
        }
    } else {
        let raw = <Bytes as axum::extract::FromRequest<()>>::from_request(request, &()).await;
        let bytes = body(raw, limit)?;
        let name = params.name.unwrap_or_else(|| "upload".into());
        inputs.push(Input { name, bytes: bytes.to_vec() });
    }
    if inputs.iter().all(|i| i.bytes.is_empty()) {
        return Err(ApiError::bad_request("empty_body", "nothing to evaluate").hint(
            "send a dump (webrtc-internals, rtcstats, getStats JSON) or native observations as the body",
        ));
    }
    let rules = state.rules_for(&caller.app);
    let limits = state.ingest_limits;
    let evaluated = blocking(move || crate::evaluate::evaluate(&inputs, &rules, &limits)).await?;
    state.metrics.rule_errors.inc_by(evaluated.rule_errors.len() as u64);
    if evaluated.conferences.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable",
            "none of the input could be read",
        )
        .details(evaluated.errors));
    }
    Ok(Json(evaluated).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    conference: String,
    participant: Option<String>,
    user: Option<String>,
    rating: i64,
    comment: Option<String>,
}

async fn post_feedback(
    Shared(state): AppState,
    headers: HeaderMap,
    key: Result<Query<KeyParam>, QueryRejection>,
    payload: Result<Json<FeedbackBody>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Write)?;
    state.keys.rate_limit(&caller, state.config.rate_limit_per_key, state.config.rate_limit_burst)?;
    let Json(fb) = payload.map_err(|e| {
        ApiError::bad_request("bad_feedback", e.body_text())
            .hint(r#"send {"conference": "...", "rating": 1-5, "comment": "...", "user": "...", "participant": "..."}"#)
    })?;
    if !(1..=5).contains(&fb.rating) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rating",
            format!("rating {} is outside 1–5", fb.rating),
        ));
    }
    if fb.comment.as_ref().is_some_and(|c| c.chars().count() > 4000) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "comment_too_long",
            "the comment is over 4000 characters",
        ));
    }
    let store = state.store.clone();
    let (app, conference) = (caller.app.clone(), fb.conference.clone());
    let known = blocking(move || store.conference(&app, &conference)).await??;
    if known.is_none() {
        return Err(ApiError::not_found("conference", &fb.conference)
            .hint("send feedback after the call's first observations reached the server, with the same conference id"));
    }
    let feedback = Feedback {
        conference: fb.conference,
        participant: fb.participant,
        user: fb.user,
        rating: fb.rating as u8,
        comment: fb.comment,
        received_ms: now_ms(),
    };
    let store = state.store.clone();
    let app = caller.app.clone();
    blocking(move || store.add_feedback(&app, feedback)).await??;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"result": "stored"}))))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    key: Option<String>,
    from: Option<String>,
    to: Option<String>,
    user: Option<String>,
    outcome: Option<String>,
    category: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
}

fn parse_time(name: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    hopscope_model::Timestamp::parse_rfc3339(v).map(|t| t.epoch_ms() as i64).ok_or_else(|| {
        ApiError::bad_request("bad_time", format!("`{name}={v}` is not a time"))
            .hint("use RFC 3339 (2026-11-24T10:00:00Z) or epoch milliseconds")
    })
}

/// A conference in lists: its record and where to find it.
#[derive(Debug, Serialize)]
struct Listed {
    #[serde(flatten)]
    record: ConferenceRecord,
    url: String,
}

pub(crate) fn conference_url(state: &State, id: &str) -> String {
    format!("{}/v1/conferences/{}", state.config.public_base(), percent_encode(id))
}

/// Percent-encodes a path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn list(
    state: &Arc<State>,
    caller: Caller,
    p: ListParams,
) -> Result<Json<serde_json::Value>, ApiError> {
    let state_filter = match p.state.as_deref() {
        None => None,
        Some("live") => Some(ConferenceState::Live),
        Some("ended") => Some(ConferenceState::Ended),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_state",
                format!("state `{other}`: expected live or ended"),
            ));
        }
    };
    let q = ConferenceQuery {
        from_ms: p.from.as_deref().map(|v| parse_time("from", v)).transpose()?,
        to_ms: p.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        user: p.user,
        outcome: p.outcome,
        category: p.category,
        state: state_filter,
        limit: p.limit,
    };
    let store = state.store.clone();
    let app = caller.app.clone();
    let records = blocking(move || store.conferences(&app, &q)).await??;
    let listed: Vec<Listed> =
        records.into_iter().map(|record| Listed { url: conference_url(state, &record.id), record }).collect();
    Ok(Json(serde_json::json!({ "conferences": listed })))
}

async fn list_conferences(
    Shared(state): AppState,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    list(&state, caller, p).await
}

async fn user_conferences(
    Shared(state): AppState,
    headers: HeaderMap,
    Path(user): Path<String>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    p.user = Some(user);
    list(&state, caller, p).await
}

/// Everything known about one conference.
#[derive(Debug, Serialize)]
struct ConferenceDetail {
    conference: ConferenceRecord,
    url: String,
    /// The page people read and share (add `#key=` and a secret key to open it).
    page: String,
    findings: Vec<FindingRow>,
    feedback: Vec<Feedback>,
    /// The latest (or final) diagnosis.
    diagnosis: Option<Box<RawValue>>,
}

async fn get_conference(
    Shared(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    key: Result<Query<KeyParam>, QueryRejection>,
) -> Result<Json<ConferenceDetail>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    let store = state.store.clone();
    let app = caller.app.clone();
    let id2 = id.clone();
    let (record, findings, feedback, diagnosis) =
        blocking(move || -> Result<_, hopscope_store::StoreError> {
            let Some(record) = store.conference(&app, &id2)? else { return Ok((None, vec![], vec![], None)) };
            Ok((
                Some(record),
                store.findings(&app, &id2)?,
                store.feedback(&app, &id2)?,
                store.diagnosis(&app, &id2)?,
            ))
        })
        .await??;
    let Some(record) = record else { return Err(ApiError::not_found("conference", &id)) };
    let diagnosis = diagnosis
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| RawValue::from_string(text).ok());
    Ok(Json(ConferenceDetail {
        url: conference_url(&state, &id),
        page: crate::ui::page_url(&state.config.public_base(), &percent_encode(&id)),
        conference: record,
        findings,
        feedback,
        diagnosis,
    }))
}

fn sse_event(e: &LiveEvent) -> Event {
    let data = match e {
        LiveEvent::Update(s) | LiveEvent::Ended(s) => serde_json::to_string(s.as_ref()),
        LiveEvent::Finding(f) => serde_json::to_string(f),
    };
    Event::default().event(e.name()).data(data.unwrap_or_else(|_| "{}".into()))
}

/// Server-sent events for one conference: `update` (its state now and after each
/// evaluation), `finding` (raised or cleared), `ended` (the final state, then the stream
/// closes). An ended conference sends its final state at once.
async fn conference_events(
    Shared(state): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    key: Result<Query<KeyParam>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    let mut first: VecDeque<LiveEvent> = VecDeque::new();
    let receiver = match state.live.subscribe(&caller.app, &id) {
        Some(sub) => {
            first.extend(sub.current.map(LiveEvent::Update));
            sub.events
        }
        None => {
            let store = state.store.clone();
            let (app, id2) = (caller.app.clone(), id.clone());
            let found = blocking(move || -> Result<_, hopscope_store::StoreError> {
                Ok(match store.conference(&app, &id2)? {
                    Some(r) => Some((r, store.findings(&app, &id2)?)),
                    None => None,
                })
            })
            .await??;
            let Some((record, findings)) = found else { return Err(ApiError::not_found("conference", &id)) };
            // Between batches, a conference may be neither in the registry nor ended:
            // send what the store has and close; the client reconnects.
            let ended = record.state == ConferenceState::Ended;
            let snapshot = Arc::new(Snapshot {
                conference: id.clone(),
                state: if ended { "ended" } else { "live" },
                version: 0,
                summary: record.summary.unwrap_or_default(),
                findings,
                narrative: serde_json::Value::Null,
                errors: Vec::new(),
            });
            first.push_back(if ended { LiveEvent::Ended(snapshot) } else { LiveEvent::Update(snapshot) });
            let (_, rx) = tokio::sync::broadcast::channel(1);
            rx
        }
    };
    let stream =
        futures_util::stream::unfold((receiver, first, false), |(mut rx, mut queue, done)| async move {
            if done {
                return None;
            }
            if let Some(e) = queue.pop_front() {
                let end = matches!(e, LiveEvent::Ended(_));
                return Some((Ok(sse_event(&e)), (rx, queue, end)));
            }
            loop {
                match rx.recv().await {
                    Ok(e) => {
                        let end = matches!(e, LiveEvent::Ended(_));
                        return Some((Ok(sse_event(&e)), (rx, queue, end)));
                    }
                    // A slow subscriber missed some events; the next update carries the state.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
