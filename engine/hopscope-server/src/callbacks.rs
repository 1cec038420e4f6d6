//! From evaluations to the outbox: the findings that were raised or cleared go to the
//! actions their rules name, an ended conference's summary to the app's
//! `conference_summary` actions, and what rate limits held back is summarised once its
//! window closes.

use std::sync::Arc;
use std::time::Duration;

use hopscope_actions::event::{self, ConferenceRef};
use hopscope_store::OutboxEntry;
use tokio::sync::watch;

use crate::live::{FindingChange, Snapshot};
use crate::{State, now_ms};

/// Enqueues the events of one evaluation (blocking: call from a blocking thread).
pub fn enqueue(
    state: &State,
    app: &str,
    conference: &str,
    changes: &[FindingChange],
    ended: Option<&Snapshot>,
) {
    let Some(config) = state.dispatcher.app(app) else { return };
    if config.actions.is_empty() {
        return;
    }
    let off = match state.store.switches_off(app) {
        Ok(off) => off,
        Err(error) => {
            tracing::error!(%error, "kill switches unreadable; holding this evaluation's events");
            return;
        }
    };
    let killed = |kind: &str, name: &str| off.iter().any(|(k, n)| k == kind && n == name);
    let c = ConferenceRef { id: conference.to_string(), url: crate::api::conference_url(state, conference) };
    let now = now_ms() as f64;
    let mut entries: Vec<OutboxEntry> = Vec::new();
    for change in changes {
        let f = &change.finding;
        if killed("rule", &f.rule) {
            continue;
        }
        for action in &f.actions {
            if !config.actions.contains_key(action) {
                tracing::debug!(%app, %action, rule = %f.rule, "the rule names an action this app does not configure");
                continue;
            }
            if killed("action", action) {
                continue;
            }
            entries.push(event::finding(app, action, &c, change.status, f, now, &config.limits));
        }
    }
    if let Some(snapshot) = ended {
        let details = serde_json::json!({ "narrative": snapshot.narrative });
        for action in &config.conference_summary {
            if !killed("action", action) {
                entries.push(event::conference_ended(
                    app,
                    action,
                    &c,
                    &snapshot.summary,
                    &snapshot.findings,
                    details.clone(),
                    now,
                ));
            }
        }
    }
    if entries.is_empty() {
        return;
    }
    match state.store.enqueue(app, entries, now_ms()) {
        Ok(states) => {
            if !states.is_empty() {
                state.dispatcher.wake();
            }
        }
        // The evaluation runs again (the conference stays dirty on error elsewhere); here
        // the events are lost for this round only: the next evaluation re-derives them,
        // and event ids keep that from sending anything twice.
        Err(error) => tracing::error!(%error, %app, %conference, "could not enqueue callbacks"),
    }
}

/// Summarises held events once their windows close, every few seconds, until `stop`.
pub async fn summarise_held(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => return,
        }
        let state2 = state.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let groups = match state2.store.held_groups(now) {
                Ok(g) => g,
                Err(error) => {
                    tracing::error!(%error, "held events unreadable");
                    return;
                }
            };
            for g in groups {
                let window_s = state2.dispatcher.app(&g.app).map(|c| c.limits.window_s).unwrap_or(300.0);
                if g.window_start_ms + (window_s * 1000.0) as i64 > now {
                    continue; // still open
                }
                let summary = event::held_summary(&g, window_s, now as f64);
                if let Err(error) = state2.store.summarize_held(&g, summary, now) {
                    tracing::error!(%error, "could not summarise held events");
                }
            }
            state2.dispatcher.wake();
        })
        .await;
    }
}
