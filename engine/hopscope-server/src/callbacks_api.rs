//! Callbacks over the API: the deliveries (with the dead-letter list and each one's audit
//! log), retrying a dead delivery, and the kill switches. Secret key.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State as Shared};
use axum::http::HeaderMap;
use hopscope_store::DeliveryState;
use serde::Deserialize;

use crate::api::{authenticate, blocking, query};
use crate::auth::Need;
use crate::error::ApiError;
use crate::{State, now_ms};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeliveryParams {
    key: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/deliveries?state=dead`: newest first.
pub(crate) async fn list(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    params: Result<Query<DeliveryParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    let filter = match p.state.as_deref() {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "bad_state",
                format!("state `{s}`: expected pending, delivered, dead, held or summarized"),
            )
        })?),
    };
    let store = state.store.clone();
    let list = blocking(move || store.deliveries(&caller.app, filter, p.limit.unwrap_or(100))).await??;
    Ok(Json(serde_json::json!({ "deliveries": list })))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyOnly {
    key: Option<String>,
}

/// `GET /v1/deliveries/{id}`: the delivery, its body and every attempt.
pub(crate) async fn get(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    params: Result<Query<KeyOnly>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    let store = state.store.clone();
    let found = blocking(move || store.delivery(&caller.app, id)).await??;
    let Some((delivery, attempts)) = found else {
        return Err(ApiError::not_found("delivery", &id.to_string()));
    };
    let body: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null);
    Ok(Json(serde_json::json!({ "delivery": delivery, "body": body, "attempts": attempts })))
}

/// `POST /v1/deliveries/{id}/retry`: a dead delivery back in line.
pub(crate) async fn retry(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    params: Result<Query<KeyOnly>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    let store = state.store.clone();
    let done = blocking(move || store.retry_delivery(&caller.app, id, now_ms())).await??;
    if !done {
        return Err(ApiError::not_found("dead delivery", &id.to_string())
            .hint("only dead deliveries can be retried; see GET /v1/deliveries?state=dead"));
    }
    state.dispatcher.wake();
    Ok(Json(serde_json::json!({ "delivery": id, "state": "pending" })))
}

/// `GET /v1/switches`: what is switched off.
pub(crate) async fn switches(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    params: Result<Query<KeyOnly>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    let store = state.store.clone();
    let off = blocking(move || store.switches_off(&caller.app)).await??;
    let off: Vec<_> = off
        .into_iter()
        .map(|(kind, name)| serde_json::json!({"kind": kind, "name": name, "enabled": false}))
        .collect();
    Ok(Json(serde_json::json!({ "off": off })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Switch {
    enabled: bool,
}

/// `PUT /v1/switches/{kind}/{name}` with `{"enabled": false}`: stops callbacks from a rule
/// (`kind` = `rule`) or to a destination (`action`); `true` turns them back on.
pub(crate) async fn set_switch(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path((kind, name)): Path<(String, String)>,
    params: Result<Query<KeyOnly>, QueryRejection>,
    payload: Result<Json<Switch>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = query(params)?;
    let caller = authenticate(&state, &headers, p.key.as_deref(), Need::Read)?;
    if kind != "rule" && kind != "action" {
        return Err(ApiError::bad_request(
            "bad_switch_kind",
            format!("`{kind}`: switches are for a `rule` or an `action`"),
        ));
    }
    let Json(switch) = payload.map_err(|e| {
        ApiError::bad_request("bad_switch", e.body_text())
            .hint(r#"send {"enabled": false} or {"enabled": true}"#)
    })?;
    let store = state.store.clone();
    let (k, n) = (kind.clone(), name.clone());
    blocking(move || store.set_switch(&caller.app, &k, &n, switch.enabled)).await??;
    tracing::info!(%kind, %name, enabled = switch.enabled, "callback switch set");
    state.dispatcher.wake();
    Ok(Json(serde_json::json!({ "kind": kind, "name": name, "enabled": switch.enabled })))
}
