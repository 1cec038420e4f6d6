//! Rules per app over the API: check, upload, list, switch on and off, delete. Secret key.
//! A rule file is YAML rules (`.yaml`), a Rhai script (`.rhai`) or a WASM plugin component
//! (`.wasm`), by its name.

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
use crate::rules::FileKind;

/// A YAML or Rhai file is at most this large (as on the command line).
const MAX_RULE_FILE: usize = 1 << 20;
/// A plugin component is at most this large.
const MAX_PLUGIN: usize = 16 << 20;

fn check_name(name: &str) -> Result<FileKind, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let kind = FileKind::of(name).filter(|_| ok);
    kind.ok_or_else(|| {
        ApiError::bad_request("bad_rule_file_name", format!("`{name}` is not a rule file name")).hint(
            "use 1–64 letters, digits, `.`, `_` or `-`, ending in `.yaml` (rules), `.rhai` (a script) or `.wasm` (a plugin), e.g. `sla.yaml`",
        )
    })
}

/// The body of a rule file of this kind: text for YAML and Rhai, bytes for a plugin.
fn content(raw: Result<Bytes, BytesRejection>, kind: FileKind) -> Result<Bytes, ApiError> {
    let max = if kind == FileKind::Wasm { MAX_PLUGIN } else { MAX_RULE_FILE };
    let bytes = body(raw, max)?;
    if bytes.len() > max {
        return Err(crate::batch::too_large(max));
    }
    if kind != FileKind::Wasm
        && let Err(e) = std::str::from_utf8(&bytes)
    {
        return Err(ApiError::bad_request(
            "bad_utf8",
            format!("the rule file is not UTF-8 (byte {})", e.valid_up_to()),
        ));
    }
    Ok(bytes)
}

/// A rule in force.
#[derive(Debug, Serialize)]
struct ActiveRule {
    id: String,
    version: u32,
    /// `yaml`, `rhai` or `wasm`.
    kind: &'static str,
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
        .listing()
        .into_iter()
        .map(|(id, version, kind, file)| ActiveRule { id, version, kind, file })
        .collect();
    Ok(Json(serde_json::json!({ "files": files, "rules": active })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckParams {
    key: Option<String>,
    /// The file's name, which says its kind (`.yaml` when not given).
    name: Option<String>,
}

/// `POST /v1/rules/check?name=sla.rhai`: what `hopscope rules check` (or `plugin check`)
/// says of a file, against the app's other rules (ids must stay unique). Nothing changes.
pub(crate) async fn check(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    params: Result<Query<CheckParams>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query(params)?;
    let caller = authenticate(&state, &headers, params.key.as_deref(), Need::Read)?;
    let name = params.name.clone().unwrap_or_else(|| "check.yaml".to_string());
    let kind = check_name(&name)?;
    let content = content(raw, kind)?;
    let store = state.store.clone();
    let app = caller.app.clone();
    let uploads = blocking(move || store.rule_files(&app)).await??;
    let state2 = state.clone();
    let built = blocking(move || state2.build_rules(&caller.app, &uploads, Some((&name, &content)))).await?;
    Ok(Json(serde_json::json!({
        "ok": !built.has_errors(),
        "diagnostics": built.yaml.diagnostics,
        "messages": built.messages(),
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
    let kind = check_name(&name)?;
    let content = content(raw, kind)?;
    let _one_at_a_time = state.rule_changes.lock().await;
    let store = state.store.clone();
    let app = caller.app.clone();
    let uploads = blocking(move || store.rule_files(&app)).await??;
    let (state2, app2, name2, content2) = (state.clone(), caller.app.clone(), name.clone(), content.clone());
    let built = blocking(move || state2.build_rules(&app2, &uploads, Some((&name2, &content2)))).await?;
    let messages = built.messages();
    let Some(set) = built.rules else {
        state.metrics.rule_errors.inc();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rules_invalid",
            format!("`{name}` does not load; the rules in force are unchanged"),
        )
        .hint("fix the errors listed (the same as `hopscope rules check`) and upload again")
        .details(built.errors()));
    };
    let label = crate::rules::upload_label(&name);
    let ids = set.ids_from(&label);
    let mut warnings = messages;
    // Actions are the app's to configure; a name it does not know would call back nothing.
    let configured = state.dispatcher.app(&caller.app).map(|c| &c.actions);
    for rule in set.yaml.iter().filter(|r| *r.origin.file == *label) {
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
    let (app, name2) = (caller.app.clone(), name.clone());
    let file = blocking(move || store.put_rule_file(&app, &name2, &content)).await??;
    state.rules.set(&caller.app, set);
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
