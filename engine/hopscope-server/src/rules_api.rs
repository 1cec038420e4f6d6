//! Rules per app over the API: check, upload, list, switch on and off, delete. Secret key.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::State;
use crate::api::{KeyParam, authenticate, blocking, body, query};
use crate::auth::Need;
use crate::error::ApiError;
use crate::rules::{build, errors};

/// A rule file is at most this large (as on the command line).
const MAX_RULE_FILE: usize = 1 << 20;

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("bad_rule_file_name", format!("`{name}` is not a rule file name"))
            .hint("use 1–64 letters, digits, `.`, `_` or `-`, e.g. `sla.yaml`"))
    }
}

fn text(raw: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let bytes = body(raw, MAX_RULE_FILE)?;
    if bytes.len() > MAX_RULE_FILE {
        return Err(crate::batch::too_large(MAX_RULE_FILE));
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::bad_request(
            "bad_utf8",
            format!("the rule file is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// A rule in force.
#[derive(Debug, Serialize)]
struct ActiveRule {
    id: String,
    version: u32,
    severity: &'static str,
    category: &'static str,
    file: String,
}

/// `GET /v1/rules`: the app's uploaded files and every rule in force.
pub(crate) async fn list(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    key: Result<Query<KeyParam>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    let store = state.store.clone();
    let app = caller.app.clone();
    let files = blocking(move || store.rule_files(&app)).await??;
    let active: Vec<ActiveRule> = state
        .rules_for(&caller.app)
        .iter()
        .map(|r| ActiveRule {
            id: r.id.clone(),
            version: r.version,
            severity: r.severity.as_str(),
            category: r.category.as_str(),
            file: r.origin.file.to_string(),
        })
        .collect();
    Ok(Json(serde_json::json!({ "files": files, "rules": active })))
}

/// `POST /v1/rules/check`: what `hopscope rules check` says of a file, against the app's
/// other rules (ids must stay unique). Nothing changes.
pub(crate) async fn check(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    key: Result<Query<KeyParam>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    let text = text(raw)?;
    let store = state.store.clone();
    let app = caller.app.clone();
    let uploads = blocking(move || store.rule_files(&app)).await??;
    let base = state.rule_base(&caller.app);
    let set = build(&base, &uploads, Some(("check", &text)));
    let ok = !set.has_errors();
    Ok(Json(serde_json::json!({
        "ok": ok,
        "diagnostics": set.diagnostics,
        "messages": set.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
    })))
}

/// `PUT /v1/rules/{name}`: uploads (or replaces) a rule file. It takes effect at once if
/// the app's whole rule set still loads; otherwise 422 with the diagnostics, and the rules
/// in force stay as they were.
pub(crate) async fn upload(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    key: Result<Query<KeyParam>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    check_name(&name)?;
    let text = text(raw)?;
    let _one_at_a_time = state.rule_changes.lock().await;
    let store = state.store.clone();
    let app = caller.app.clone();
    let uploads = blocking(move || store.rule_files(&app)).await??;
    let set = build(&state.rule_base(&caller.app), &uploads, Some((&name, &text)));
    if set.has_errors() {
        state.metrics.rule_errors.inc();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rules_invalid",
            format!("`{name}` does not load; the rules in force are unchanged"),
        )
        .hint("fix the errors listed (the same as `hopscope rules check`) and upload again")
        .details(errors(&set)));
    }
    let label = crate::rules::upload_label(&name);
    let ids: Vec<String> =
        set.rules.iter().filter(|r| *r.origin.file == *label).map(|r| r.id.clone()).collect();
    let mut warnings: Vec<String> = set.diagnostics.iter().map(|d| d.to_string()).collect();
    // Actions are the app's to configure; a name it does not know would call back nothing.
    let configured = state.dispatcher.app(&caller.app).map(|c| &c.actions);
    for rule in set.rules.iter().filter(|r| *r.origin.file == *label) {
        for action in &rule.actions {
            if !configured.is_some_and(|a| a.contains_key(action)) {
                warnings.push(format!(
                    "rule `{}` names the action `{action}`, which app `{}` does not configure: its findings will call nothing back until `callbacks.actions.{action}` is set",
                    rule.id, caller.app
                ));
            }
        }
    }
    let store = state.store.clone();
    let (app, name2, text2) = (caller.app.clone(), name.clone(), text.clone());
    let file = blocking(move || store.put_rule_file(&app, &name2, &text2)).await??;
    state.rules.set(&caller.app, set.rules);
    tracing::info!(app = %caller.app, file = %name, version = file.version, rules = ids.len(), "rule file uploaded");
    Ok(Json(serde_json::json!({ "file": file, "rules": ids, "warnings": warnings })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Switch {
    enabled: bool,
}

/// `PATCH /v1/rules/{name}` with `{"enabled": false}` (or true).
pub(crate) async fn switch(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    key: Result<Query<KeyParam>, QueryRejection>,
    payload: Result<Json<Switch>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    let Json(switch) = payload.map_err(|e| {
        ApiError::bad_request("bad_switch", e.body_text())
            .hint(r#"send {"enabled": true} or {"enabled": false}"#)
    })?;
    change(&state, &caller.app, &name, move |store, app, name| {
        store.set_rule_file_enabled(app, name, switch.enabled)
    })
    .await?;
    Ok(Json(serde_json::json!({ "file": name, "enabled": switch.enabled })))
}

/// `DELETE /v1/rules/{name}`.
pub(crate) async fn remove(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    key: Result<Query<KeyParam>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let key = query(key)?;
    let caller = authenticate(&state, &headers, key.key.as_deref(), Need::Read)?;
    change(&state, &caller.app, &name, |store, app, name| store.delete_rule_file(app, name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies a change to the stored files, then reloads; a change that breaks the set (a
/// file another depends on switched off) is undone by reloading what was there.
async fn change(
    state: &Arc<State>,
    app: &str,
    name: &str,
    op: impl FnOnce(&dyn hopscope_store::Store, &str, &str) -> hopscope_store::Result<bool> + Send + 'static,
) -> Result<(), ApiError> {
    let _one_at_a_time = state.rule_changes.lock().await;
    let store = state.store.clone();
    let (app2, name2) = (app.to_string(), name.to_string());
    let found = blocking(move || op(store.as_ref(), &app2, &name2)).await??;
    if !found {
        return Err(ApiError::not_found("rule file", name));
    }
    let state2 = state.clone();
    let app2 = app.to_string();
    if let Err(errors) = blocking(move || state2.reload_rules(&app2)).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "rules_invalid",
            "the change was stored but the rule set no longer loads; the previous rules stay in force",
        )
        .details(errors));
    }
    Ok(())
}
