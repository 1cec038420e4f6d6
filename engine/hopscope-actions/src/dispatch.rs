//! Delivery: picks due entries from the outbox, sends them (at most `max_concurrency` at
//! once per destination), and records every attempt. A 2xx delivers; a timeout, a network
//! error, 408, 429 (after its Retry-After) or 5xx retries with backoff until the attempts
//! run out; any other 4xx is the destination refusing it and goes straight to the
//! dead-letter list, from where it can be retried by hand.
//!
//! Delivery is at least once: an entry is marked delivered only after the answer, so a
//! crash in between sends it again with the same `Idempotency-Key`, which receivers use to
//! keep it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hopscope_store::{Attempt, AttemptOutcome, Delivery, Store};
use tokio::sync::{Notify, watch};

use crate::config::{ActionConfig, ActionKind, ActionsConfig};
use crate::sign::sign;

/// Delivers what the outbox holds.
#[derive(Debug)]
pub struct Dispatcher {
    store: Arc<dyn Store>,
    apps: HashMap<String, ActionsConfig>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    in_flight: Mutex<HashMap<(String, String), usize>>,
    sending: Mutex<std::collections::HashSet<i64>>,
    /// When each delivery last finished: a due list read before that is stale for it.
    settled: Mutex<HashMap<i64, Instant>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The HTTP client deliveries use (HTTPS through rustls).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("hopscope/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

impl Dispatcher {
    /// A dispatcher for these apps' actions.
    pub fn new(store: Arc<dyn Store>, apps: HashMap<String, ActionsConfig>) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            store,
            apps,
            client: client(),
            wake: Arc::new(Notify::new()),
            in_flight: Mutex::new(HashMap::new()),
            sending: Mutex::new(Default::default()),
            settled: Mutex::new(HashMap::new()),
        })
    }

    /// Wakes the dispatcher (something was enqueued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// An app's action settings.
    pub fn app(&self, app: &str) -> Option<&ActionsConfig> {
        self.apps.get(app)
    }

    /// Runs until `stop`; deliveries in flight then finish or are retried after a restart.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => return,
            }
            let read_at = Instant::now();
            if let Ok(mut settled) = self.settled.lock() {
                settled.retain(|_, at| read_at.duration_since(*at) < Duration::from_secs(60));
            }
            let store = self.store.clone();
            // The due list and each app's kill switches, read together off the async threads.
            let read = tokio::task::spawn_blocking(move || {
                let due = store.due_deliveries(now_ms(), 256)?;
                let mut killed: HashMap<String, Vec<(String, String)>> = HashMap::new();
                for d in &due {
                    if !killed.contains_key(&d.app) {
                        killed.insert(d.app.clone(), store.switches_off(&d.app)?);
                    }
                }
                Ok::<_, hopscope_store::StoreError>((due, killed))
            });
            let (due, killed) = match read.await {
                Ok(Ok(read)) => read,
                Ok(Err(error)) => {
                    tracing::error!(%error, "outbox unreadable");
                    continue;
                }
                Err(_) => continue,
            };
            for d in due {
                if !self.claim(&d, read_at) {
                    continue;
                }
                let off = killed.get(&d.app).map(Vec::as_slice).unwrap_or_default();
                if off.iter().any(|(k, n)| k == "action" && *n == d.action) {
                    // Killed destination: nothing goes out; pending entries wait.
                    self.release(&d);
                    continue;
                }
                let me = self.clone();
                tokio::spawn(async move {
                    me.deliver(&d).await;
                    me.release(&d);
                    me.wake();
                });
            }
        }
    }

    /// Takes a slot for this delivery's destination, if one is free and it is not already
    /// being sent.
    fn claim(&self, d: &Delivery, read_at: Instant) -> bool {
        // Finished after the due list was read: the list is stale for this one.
        if self.settled.lock().is_ok_and(|s| s.get(&d.id).is_some_and(|at| *at >= read_at)) {
            return false;
        }
        let limit = self
            .apps
            .get(&d.app)
            .and_then(|a| a.actions.get(&d.action))
            .map(|a| a.max_concurrency)
            .unwrap_or(1);
        let (Ok(mut sending), Ok(mut in_flight)) = (self.sending.lock(), self.in_flight.lock()) else {
            return false;
        };
        if sending.contains(&d.id) {
            return false;
        }
        let n = in_flight.entry((d.app.clone(), d.action.clone())).or_insert(0);
        if *n >= limit {
            return false;
        }
        *n += 1;
        sending.insert(d.id);
        true
    }

    fn release(&self, d: &Delivery) {
        if let Ok(mut settled) = self.settled.lock() {
            settled.insert(d.id, Instant::now());
        }
        if let (Ok(mut sending), Ok(mut in_flight)) = (self.sending.lock(), self.in_flight.lock()) {
            sending.remove(&d.id);
            if let Some(n) = in_flight.get_mut(&(d.app.clone(), d.action.clone())) {
                *n = n.saturating_sub(1);
            }
        }
    }

    async fn deliver(&self, d: &Delivery) {
        let started = Instant::now();
        let at_ms = now_ms();
        let Some(app) = self.apps.get(&d.app) else {
            self.record(
                d,
                Attempt {
                    at_ms,
                    status: None,
                    error: Some(format!("app `{}` has no actions configured", d.app)),
                    duration_ms: 0.0,
                    dry_run: false,
                },
                AttemptOutcome::Dead,
            )
            .await;
            return;
        };
        let Some(action) = app.actions.get(&d.action) else {
            let error = format!("action `{}` is not configured for app `{}`", d.action, d.app);
            self.record(
                d,
                Attempt { at_ms, status: None, error: Some(error), duration_ms: 0.0, dry_run: false },
                AttemptOutcome::Dead,
            )
            .await;
            return;
        };
        let body = match render(action, d) {
            Ok(b) => b,
            Err(error) => {
                self.record(
                    d,
                    Attempt { at_ms, status: None, error: Some(error), duration_ms: 0.0, dry_run: false },
                    AttemptOutcome::Dead,
                )
                .await;
                return;
            }
        };
        if action.dry_run {
            tracing::info!(action = %d.action, event = %d.event_id, body = %body, "dry run: not sent");
            self.record(
                d,
                Attempt { at_ms, status: None, error: None, duration_ms: 0.0, dry_run: true },
                AttemptOutcome::Delivered,
            )
            .await;
            return;
        }
        let mut request = self
            .client
            .post(&action.url)
            .timeout(Duration::from_secs_f64(action.timeout_s))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &d.event_id)
            .header("Hopscope-Event", &d.kind)
            .header("Hopscope-Delivery", d.id.to_string());
        if let (ActionKind::Webhook, Some(secret)) = (action.kind, &action.secret) {
            let ts = at_ms / 1000;
            request = request
                .header("Hopscope-Timestamp", ts.to_string())
                .header("Hopscope-Signature", sign(secret, ts, body.as_bytes()));
        }
        let result = request.body(body).send().await;
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let attempts = d.attempts + 1;
        let retry = |after_ms: Option<i64>| {
            if attempts >= app.retry.max_attempts {
                AttemptOutcome::Dead
            } else {
                AttemptOutcome::RetryAt(now_ms() + after_ms.unwrap_or_else(|| app.retry.delay_ms(attempts)))
            }
        };
        let (status, error, outcome) = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(|s| s.clamp(0, 3600) * 1000);
                match status {
                    200..=299 => (Some(status), None, AttemptOutcome::Delivered),
                    429 => (
                        Some(status),
                        Some("429: the destination asks to slow down".into()),
                        retry(retry_after),
                    ),
                    408 | 500..=599 => {
                        (Some(status), Some(format!("{status} from the destination")), retry(None))
                    }
                    _ => (
                        Some(status),
                        Some(format!("{status}: the destination refused the event")),
                        AttemptOutcome::Dead,
                    ),
                }
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer within {} s", action.timeout_s)
                } else {
                    format!("not delivered: {e}")
                };
                (None, Some(why), retry(None))
            }
        };
        if outcome == AttemptOutcome::Dead {
            tracing::warn!(action = %d.action, event = %d.event_id, error = ?error, "delivery dead-lettered");
        }
        self.record(d, Attempt { at_ms, status, error, duration_ms, dry_run: false }, outcome).await;
    }

    async fn record(&self, d: &Delivery, attempt: Attempt, outcome: AttemptOutcome) {
        let store = self.store.clone();
        let id = d.id;
        match tokio::task::spawn_blocking(move || store.record_attempt(id, attempt, outcome)).await {
            Ok(Ok(())) => {}
            // Not recorded: the entry stays pending and is sent again (receivers dedupe).
            Ok(Err(error)) => tracing::error!(%error, delivery = id, "could not record a delivery attempt"),
            Err(_) => {}
        }
    }
}

/// The body for a destination: the event as is for webhooks, a Slack message for Slack.
fn render(action: &ActionConfig, d: &Delivery) -> Result<String, String> {
    match action.kind {
        ActionKind::Webhook => Ok(d.payload.clone()),
        ActionKind::Slack => {
            let event: serde_json::Value =
                serde_json::from_str(&d.payload).map_err(|e| format!("stored event is not JSON: {e}"))?;
            Ok(crate::event::slack(&event).to_string())
        }
    }
}
