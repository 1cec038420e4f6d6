//! `hopscope serve`: the evaluate API, live ingestion with server-sent events, and the
//! query API, over the embedded store.
//!
//! ```text
//! collectors ─POST /v1/observations─► batch (check) ─► store (durable commit) ─► 202
//!                                                          │
//!                                      live registry ◄─────┘ (touch)
//!                                          │ scheduler: due conferences
//!                                          ▼
//!                         store.observations ─► ingest ─► diagnose ─► store (evaluation)
//!                                                                  └► SSE subscribers
//! ```
//!
//! A write is acknowledged only after it is committed; everything derived (evaluations,
//! findings, the final diagnosis) can be recomputed from the stored observations, which is
//! what makes recovery after a crash a plain re-evaluation.

pub mod api;
pub mod auth;
pub mod batch;
pub mod callbacks;
mod callbacks_api;
pub mod config;
pub mod demo;
pub mod error;
pub mod evaluate;
pub mod live;
pub mod metrics;
pub mod rules;
mod rules_api;
pub mod ui;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hopscope_rules::pack;
use hopscope_store::{KeyKind, SqliteStore, Store};
use tokio::sync::{Semaphore, watch};

pub use config::{AppConfig, Config, LogFormat};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] hopscope_store::StoreError),
    /// An app's rules do not load.
    #[error("rules of app `{app}` do not load:\n{diagnostics}")]
    Rules {
        /// The app.
        app: String,
        /// The rule diagnostics, one per line.
        diagnostics: String,
    },
    /// Network setup failed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// Where.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No randomness for keys.
    #[error("cannot generate a key: {0}")]
    Random(String),
    /// The live evaluation threads could not start.
    #[error("cannot start the live evaluation threads: {0}")]
    Threads(#[source] std::io::Error),
}

/// What every request handler shares.
#[derive(Debug)]
pub struct State {
    /// The configuration in force.
    pub config: Config,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Key checks and rate limits.
    pub keys: auth::Keys,
    /// Live conferences.
    pub live: live::Live,
    /// Health metrics.
    pub metrics: metrics::Metrics,
    /// Limits on what ingest reads.
    pub ingest_limits: hopscope_ingest::Limits,
    /// Callback delivery.
    pub dispatcher: Arc<hopscope_actions::Dispatcher>,
    rules: rules::Active,
    rule_bases: HashMap<String, rules::AppRuleBase>,
    /// Rule changes happen one at a time (validate, store, swap).
    rule_changes: tokio::sync::Mutex<()>,
    default_rules: Arc<rules::AppRules>,
    /// How scripts and plugins are loaded.
    loaders: rules::Loaders,
    ingest_slots: Arc<Semaphore>,
    evaluate_slots: Arc<Semaphore>,
    ready: AtomicBool,
}

impl State {
    /// The rules an app's conferences are evaluated with.
    pub fn rules_for(&self, app: &str) -> Arc<rules::AppRules> {
        self.rules.get(app).unwrap_or_else(|| self.default_rules.clone())
    }

    /// What an app's rules are built from besides its uploads.
    pub fn rule_base(&self, app: &str) -> rules::AppRuleBase {
        self.rule_bases.get(app).cloned().unwrap_or_default()
    }

    /// Rebuilds an app's rules from the store; on failure the rules in force stay.
    pub fn reload_rules(&self, app: &str) -> Result<usize, Vec<String>> {
        let uploads = self.store.rule_files(app).map_err(|e| vec![e.to_string()])?;
        let base = self.rule_base(app);
        if uploads.is_empty() && base.files.is_empty() && base.overrides.rules.is_empty() {
            let yaml = self.default_rules.yaml.clone();
            let n = yaml.len();
            self.rules.set(app, rules::AppRules::yaml_only(yaml, self.loaders.script_limits.clone()));
            return Ok(n);
        }
        let built = self.build_rules(app, &uploads, None);
        match built.rules {
            Some(set) => {
                let n = set.listing().len();
                self.rules.set(app, set);
                Ok(n)
            }
            None => {
                self.metrics.rule_errors.inc();
                Err(built.errors())
            }
        }
    }

    /// Loads an app's rules from its base and `uploads`, with `candidate` (name, content)
    /// in place of the upload of that name.
    pub fn build_rules(
        &self,
        app: &str,
        uploads: &[hopscope_store::RuleFile],
        candidate: Option<(&str, &[u8])>,
    ) -> rules::Built {
        rules::build(&self.loaders, &self.rule_base(app), uploads, candidate)
    }

    /// Whether the server takes traffic.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Keys the server made at start for apps that had none.
#[derive(Clone, Debug)]
pub struct CreatedKeys {
    /// The app.
    pub app: String,
    /// Its new ingest key.
    pub ingest: String,
    /// Its new secret key.
    pub secret: String,
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub address: SocketAddr,
    /// Keys created at start (print them: they are not shown again).
    pub created_keys: Vec<CreatedKeys>,
    /// The shared state (for tests and the demo).
    pub state: Arc<State>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    scheduler: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops taking requests, finishes those in flight and running evaluations, and
    /// commits everything queued in the store.
    pub async fn shutdown(self) {
        self.state.ready.store(false, Ordering::Relaxed);
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.scheduler.await;
        let _ = self.dispatcher.await;
        let store = self.state.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        tracing::info!("hopscope stopped");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Creates configured apps and keys; gives an app without any key a fresh pair.
fn provision(store: &dyn Store, config: &Config) -> Result<Vec<CreatedKeys>, ServerError> {
    let mut apps: Vec<AppConfig> = config.apps.clone();
    if apps.is_empty() && store.apps()?.is_empty() {
        apps.push(AppConfig { name: "default".into(), ..AppConfig::default() });
    }
    let mut created = Vec::new();
    for app in &apps {
        store.ensure_app(&app.name)?;
        for key in &app.ingest_keys {
            store.add_key(&app.name, KeyKind::Ingest, key, "config")?;
        }
        for key in &app.secret_keys {
            store.add_key(&app.name, KeyKind::Secret, key, "config")?;
        }
        if store.key_count(&app.name)? == 0 {
            let random = |kind| auth::generate_key(kind).map_err(|e| ServerError::Random(e.to_string()));
            let keys = CreatedKeys {
                app: app.name.clone(),
                ingest: random(KeyKind::Ingest)?,
                secret: random(KeyKind::Secret)?,
            };
            store.add_key(&app.name, KeyKind::Ingest, &keys.ingest, "generated at start")?;
            store.add_key(&app.name, KeyKind::Secret, &keys.secret, "generated at start")?;
            created.push(keys);
        }
    }
    Ok(created)
}

/// Live evaluation workers: as configured, else one per core. They run at a lower CPU
/// priority than ingest ([`live::Evaluators`]), so they can have every core ingest leaves.
fn live_workers(config: &Config, cores: u32) -> usize {
    config.live_evaluation_workers.unwrap_or(cores).max(1) as usize
}

/// Opens the store, provisions apps, binds and starts serving. `workers` bounds the
/// evaluations running at once (default: the machine's cores).
pub async fn start(config: Config) -> Result<Running, ServerError> {
    config.validate()?;
    let store: Arc<dyn Store> = {
        let dir = config.data_dir.clone();
        let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
            .await
            .map_err(|e| ServerError::Config(format!("store open task: {e}")))??;
        Arc::new(opened)
    };
    let created_keys = {
        let (store, config) = (store.clone(), config.clone());
        tokio::task::spawn_blocking(move || provision(store.as_ref(), &config))
            .await
            .map_err(|e| ServerError::Config(format!("provisioning task: {e}")))??
    };
    let loaders = rules::Loaders {
        script_limits: hopscope_script::Limits::default(),
        plugins: hopscope_plugin::PluginHost::new(hopscope_plugin::Limits::default())
            .map_err(|e| ServerError::Config(format!("the plugin sandbox: {e}")))?,
    };
    let mut rule_bases = HashMap::new();
    for app in &config.apps {
        let base = rules::base_from_config(app)?;
        // The config's own rules must load: refuse to start rather than run without them.
        let built = rules::build(&loaders, &base, &[], None);
        if built.has_errors() {
            return Err(ServerError::Rules { app: app.name.clone(), diagnostics: built.errors().join("\n") });
        }
        rule_bases.insert(app.name.clone(), base);
    }
    let workers = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Listen { address: config.listen.clone(), source })?;
    let address = listener
        .local_addr()
        .map_err(|source| ServerError::Listen { address: config.listen.clone(), source })?;
    let callbacks = config.apps.iter().map(|a| (a.name.clone(), a.callbacks.clone())).collect();
    let dispatcher = hopscope_actions::Dispatcher::new(store.clone(), callbacks);
    let state = Arc::new(State {
        dispatcher,
        keys: auth::Keys::default(),
        live: live::Live::new(
            live_workers(&config, workers),
            100_000,
            usize::try_from(config.live_read_cache_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
        ),
        metrics: metrics::Metrics::default(),
        ingest_limits: hopscope_ingest::Limits { max_input_bytes: 512 * 1024 * 1024 },
        rules: rules::Active::default(),
        rule_bases,
        rule_changes: tokio::sync::Mutex::new(()),
        default_rules: Arc::new(rules::AppRules::yaml_only(
            pack::builtin_default().rules.clone(),
            loaders.script_limits.clone(),
        )),
        loaders,
        ingest_slots: Arc::new(Semaphore::new(config.max_ingest_in_flight)),
        evaluate_slots: Arc::new(Semaphore::new(workers as usize * 2)),
        ready: AtomicBool::new(false),
        store,
        config,
    });
    // Each app's rules: uploads that no longer load (after an upgrade, say) are reported
    // and left out rather than keeping the server down.
    let apps = {
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.apps())
            .await
            .map_err(|e| ServerError::Config(format!("rules task: {e}")))??
    };
    for app in apps {
        if let Err(errors) = state.reload_rules(&app) {
            tracing::error!(%app, errors = %errors.join("; "), "uploaded rules do not load; running the built-in and configured rules");
            if let Some(set) = state.build_rules(&app, &[], None).rules {
                state.rules.set(&app, set);
            }
        }
    }
    // Conferences that were live when the server last stopped carry on (and end if
    // their inactivity timeout has passed meanwhile).
    let recovered = {
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.live_conferences())
            .await
            .map_err(|e| ServerError::Config(format!("recovery task: {e}")))??
    };
    let now = now_ms();
    for c in &recovered {
        let idle = Duration::from_millis((now - c.last_received_ms).max(0) as u64);
        state.live.recover(&c.app, &c.id, idle);
    }
    if !recovered.is_empty() {
        tracing::info!(conferences = recovered.len(), "resuming live conferences");
    }

    let (stop, stop_rx) = watch::channel(false);
    let evaluators = live::Evaluators::start(state.live.worker_count()).map_err(ServerError::Threads)?;
    let scheduler = tokio::spawn(live::run_scheduler(state.clone(), evaluators, stop_rx.clone()));
    tokio::spawn(retention(state.clone(), stop_rx.clone()));
    let dispatcher = tokio::spawn(state.dispatcher.clone().run(stop_rx.clone()));
    tokio::spawn(callbacks::summarise_held(state.clone(), stop_rx.clone()));
    let router = api::router(state.clone());
    let mut shutdown_rx = stop_rx;
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = shutdown_rx.changed().await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    state.ready.store(true, Ordering::Relaxed);
    tracing::info!(%address, "hopscope listening");
    Ok(Running { address, created_keys, state, stop, server, scheduler, dispatcher })
}

/// Deletes ended conferences past the retention period, hourly.
async fn retention(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        let cutoff = now_ms() - (state.config.retention_days * 86_400_000.0) as i64;
        let store = state.store.clone();
        match tokio::task::spawn_blocking(move || store.purge_before(cutoff)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(conferences = n, "retention: deleted old conferences"),
            Ok(Err(error)) => tracing::error!(%error, "retention purge failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker per core unless the operator says otherwise; never zero workers.
    #[test]
    fn live_evaluation_has_a_worker_per_core() {
        let mut config = Config::default();
        assert_eq!([0, 1, 2, 8].map(|cores| live_workers(&config, cores)), [1, 1, 2, 8]);
        config.live_evaluation_workers = Some(3);
        assert_eq!(live_workers(&config, 2), 3);
        config.live_evaluation_workers = Some(0);
        assert_eq!(live_workers(&config, 8), 1);
    }
}
