//! The engine, loading, and one evaluation in a fresh sandbox.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hopscope_rules::catalogue::MetricId;
use hopscope_rules::finding::Finding;
use hopscope_rules::view::View;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, WasmStr};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    StoreContextMut, StoreLimits, StoreLimitsBuilder, Trap,
};

use crate::bindings::hopscope::plugin::types as wit;
use crate::error::PluginError;
use crate::input::SharedInput;
use crate::manifest::{self, Budget, Manifest, Wanted, truncate};

/// The host's limits: ceilings for every plugin's budget, and caps on what comes back.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most fuel a plugin may declare.
    pub max_fuel: u64,
    /// Most linear memory a plugin may declare, bytes.
    pub max_memory_bytes: usize,
    /// Longest wall-clock budget a plugin may declare, ms.
    pub max_wall_ms: u32,
    /// Wasm stack per evaluation, bytes.
    pub max_stack_bytes: usize,
    /// Most findings one evaluation may return.
    pub max_findings: usize,
    /// Longest string in a finding (message, metric, callback...), bytes.
    pub max_string_bytes: usize,
    /// Most evidence entries per finding.
    pub max_evidence: usize,
    /// Most proposed actions per finding.
    pub max_actions: usize,
    /// Log lines kept per evaluation (the rest are counted and reported as dropped).
    pub max_log_lines: usize,
    /// Longest log line kept, bytes (longer ones are cut).
    pub max_log_line_bytes: usize,
    /// Failures in a row after which a plugin is quarantined.
    pub quarantine_after: u32,
    /// Instances that may exist at once across all plugins (pooling allocator slots).
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_fuel: 2_000_000_000,
            max_memory_bytes: 64 << 20,
            max_wall_ms: 2_000,
            max_stack_bytes: 512 << 10,
            max_findings: 1_000,
            max_string_bytes: 4_096,
            max_evidence: 16,
            max_actions: 8,
            max_log_lines: 32,
            max_log_line_bytes: 1_024,
            quarantine_after: 3,
            max_instances: 64,
        }
    }
}

/// Linear memory per instance slot kept mapped between evaluations (see `PluginHost::new`).
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// Fuel a read through the host (`summarise-streams`, `stream-series`) costs: a fixed part
/// and a part per value read, so reads are bounded by the same budget as the plugin's own
/// work. A summary costs the same whether or not an earlier plugin of the pass already
/// worked it out, so the fuel an evaluation uses does not depend on its neighbours.
const SERIES_CALL_FUEL: u64 = 1_000;
const SERIES_VALUE_FUEL: u64 = 8;

// The view of the evaluation under way and the stream summaries its pass worked out, lent
// to `summarise-streams` and `stream-series` for the length of the call into the plugin (a
// store's data must own what it holds; these are borrowed).
scoped_tls::scoped_thread_local!(static LENT_VIEW: View);
scoped_tls::scoped_thread_local!(static LENT_SUMMARIES: RefCell<HashMap<MetricId, wit::StreamSummary>>);

/// How often the epoch advances: the resolution of wall-clock deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Interfaces Rust's standard library links into every wasm32-wasip2 component. They are
/// bound to functions that trap, so a plugin gets no environment, no stdio and no exit from
/// them: they cost nothing to allow and refusing them would refuse every Rust plugin.
const INERT_IMPORTS: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
];

const HOST_INTERFACE: &str = "hopscope:plugin/host@0.4.0";
/// Only type definitions: importing it gives a plugin nothing to call.
const TYPES_INTERFACE: &str = "hopscope:plugin/types@0.4.0";

/// One log line a plugin wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn`, `error`.
    pub level: &'static str,
    /// The text (cut to the host's cap).
    pub message: String,
}

struct LogSink {
    plugin: Arc<str>,
    lines: Vec<LogLine>,
    dropped: u32,
    max_lines: usize,
    max_bytes: usize,
}

impl LogSink {
    fn push(&mut self, level: wit::LogLevel, message: &str) {
        if self.lines.len() >= self.max_lines {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let text = truncate(message, self.max_bytes).to_string();
        let plugin = &*self.plugin;
        let level = match level {
            wit::LogLevel::Trace => {
                tracing::trace!(target: "hopscope_plugin::guest", plugin, "{text}");
                "trace"
            }
            wit::LogLevel::Debug => {
                tracing::debug!(target: "hopscope_plugin::guest", plugin, "{text}");
                "debug"
            }
            wit::LogLevel::Info => {
                tracing::info!(target: "hopscope_plugin::guest", plugin, "{text}");
                "info"
            }
            wit::LogLevel::Warn => {
                tracing::warn!(target: "hopscope_plugin::guest", plugin, "{text}");
                "warn"
            }
            wit::LogLevel::Error => {
                tracing::error!(target: "hopscope_plugin::guest", plugin, "{text}");
                "error"
            }
        };
        self.lines.push(LogLine { level, message: text });
    }
}

/// `StoreLimits`, plus a note of whether a growth was refused, so a trap that follows
/// (Rust aborts when an allocation fails) is reported as the memory limit it is.
struct Limiter {
    inner: StoreLimits,
    refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        self.refused |= !ok;
        Ok(ok)
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.table_growing(current, desired, maximum)?;
        self.refused |= !ok;
        Ok(ok)
    }
    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

struct State {
    limiter: Limiter,
    now_ms: f64,
    logs: LogSink,
    /// The stream metrics `stream-series` may read: the manifest's numeric stream metrics.
    series: Arc<[(&'static str, MetricId)]>,
    /// Fuel taken for reads through the host so far.
    read_fuel: u64,
}

/// What an evaluation's sandbox used up.
struct Spent {
    fuel_used: u64,
    read_fuel: u64,
    logs: Vec<LogLine>,
    logs_dropped: u32,
}

/// The metric a plugin names in `summarise-streams` or `stream-series`, if its manifest reads
/// it and an evaluation is under way.
fn readable(cx: &StoreContextMut<'_, State>, metric: &WasmStr) -> Option<MetricId> {
    // A name longer than any metric's cannot match: not worth copying out.
    let name = metric.to_str(cx).ok().filter(|n| n.len() <= 64)?;
    let &(_, id) = cx.data().series.iter().find(|(known, _)| *known == name)?;
    // Both are lent together, for the length of `evaluate`.
    (LENT_VIEW.is_set() && LENT_SUMMARIES.is_set()).then_some(id)
}

/// Takes the fuel a read through the host costs: `values` read, plus a fixed part per
/// call. Running out traps like running out inside the plugin.
fn charge(cx: &mut StoreContextMut<'_, State>, values: usize) -> wasmtime::Result<()> {
    let cost = SERIES_CALL_FUEL.saturating_add(SERIES_VALUE_FUEL.saturating_mul(values as u64));
    let left = cx.get_fuel()?;
    if left < cost {
        cx.set_fuel(0)?;
        return Err(wasmtime::Error::new(Trap::OutOfFuel));
    }
    cx.set_fuel(left - cost)?;
    cx.data_mut().read_fuel = cx.data().read_fuel.saturating_add(cost);
    Ok(())
}

/// `summarise-streams`: every stream's highest and lowest value of a metric, worked out once
/// per pass and copied to each plugin that asks.
fn stream_summary(
    cx: &mut StoreContextMut<'_, State>,
    metric: &WasmStr,
) -> wasmtime::Result<Option<wit::StreamSummary>> {
    let Some(id) = readable(cx, metric) else { return Ok(None) };
    LENT_VIEW.with(|view| {
        charge(cx, view.streams.len().saturating_mul(view.ticks.len()))?;
        LENT_SUMMARIES.with(|kept| {
            let mut kept = kept.borrow_mut();
            Ok(Some(kept.entry(id).or_insert_with(|| crate::input::stream_summary(view, id)).clone()))
        })
    })
}

/// `stream-series`: one stream's values of a metric the manifest reads.
fn stream_series(
    cx: &mut StoreContextMut<'_, State>,
    metric: &WasmStr,
    stream: u32,
) -> wasmtime::Result<Option<Vec<f64>>> {
    let Some(id) = readable(cx, metric) else { return Ok(None) };
    LENT_VIEW.with(|view| {
        let stream = stream as usize;
        if stream >= view.streams.len() {
            return Ok(None);
        }
        charge(cx, view.ticks.len())?;
        let mut values = Vec::with_capacity(view.ticks.len());
        view.stream_numbers_into(stream, id, &mut values);
        Ok(Some(values))
    })
}

struct Inner {
    engine: Engine,
    linker: Linker<State>,
    limits: Limits,
    /// Compiled components by content: loading the same bytes twice compiles once.
    cache: Mutex<HashMap<(u64, u64, usize), Component>>,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = lock(&self.ticker).take() {
            // The ticker only sleeps and bumps a counter; it cannot fail in a way worth reporting.
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another evaluation panicked in host code; the data
    // (a cache, counters) is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The plugin runtime: one wasmtime engine shared by every plugin it loads.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

fn engine_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::Engine { reason: e.to_string() }
}

impl PluginHost {
    /// A host with these limits.
    pub fn new(limits: Limits) -> Result<PluginHost, PluginError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(limits.max_stack_bytes);
        config.wasm_component_model(true);
        let n = limits.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n);
        // A wasip2 Rust component is a handful of core instances (the module and its shims).
        pool.total_core_instances(n.saturating_mul(8));
        pool.total_memories(n.saturating_mul(2));
        pool.total_tables(n.saturating_mul(8));
        pool.max_memory_size(limits.max_memory_bytes);
        // A fresh instance per evaluation would otherwise fault in every page of memory the
        // plugin touches again (a 5000-stream call copies megabytes in); pages kept resident
        // are zeroed with memset on release instead, which costs a fraction of that.
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(limits.max_memory_bytes));
        pool.table_keep_resident(64 << 10);
        // Where the kernel can say which pages a plugin dirtied (Linux 6.7+), only those are
        // reset, not every accessible byte.
        pool.pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(engine_error)?;

        let mut linker: Linker<State> = Linker::new(&engine);
        {
            let mut host = linker.instance(HOST_INTERFACE).map_err(engine_error)?;
            // The message stays in guest memory until the caps say it is worth reading.
            host.func_wrap(
                "log",
                |mut cx: StoreContextMut<'_, State>, (level, message): (wit::LogLevel, WasmStr)| {
                    let keep = cx.data().logs.lines.len() < cx.data().logs.max_lines;
                    if !keep {
                        cx.data_mut().logs.dropped = cx.data().logs.dropped.saturating_add(1);
                        return Ok(());
                    }
                    let text = match message.to_str(&cx) {
                        Ok(s) => truncate(&s, cx.data().logs.max_bytes).to_string(),
                        Err(_) => "<not UTF-8>".to_string(),
                    };
                    cx.data_mut().logs.push(level, &text);
                    Ok(())
                },
            )
            .map_err(engine_error)?;
            host.func_wrap("now", |cx: StoreContextMut<'_, State>, (): ()| Ok((cx.data().now_ms,)))
                .map_err(engine_error)?;
            host.func_wrap(
                "summarise-streams",
                |mut cx: StoreContextMut<'_, State>, (metric,): (WasmStr,)| {
                    Ok((stream_summary(&mut cx, &metric)?,))
                },
            )
            .map_err(engine_error)?;
            host.func_wrap(
                "stream-series",
                |mut cx: StoreContextMut<'_, State>, (metric, stream): (WasmStr, u32)| {
                    Ok((stream_series(&mut cx, &metric, stream)?,))
                },
            )
            .map_err(engine_error)?;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("hopscope-plugin-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(engine_error)?
        };
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                cache: Mutex::new(HashMap::new()),
                stop,
                ticker: Mutex::new(Some(ticker)),
            }),
        })
    }

    /// The host's limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Loads a plugin from a file.
    pub fn load_file(&self, path: &std::path::Path) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path)
            .map_err(|e| PluginError::Io { path: path.display().to_string(), reason: e.to_string() })?;
        self.load(&bytes, &path.display().to_string())
    }

    /// Loads a plugin: compiles it (once per distinct bytes), checks its imports and
    /// exports, pre-links it, and checks its manifest. `label` names it in errors and logs
    /// until the manifest gives its name.
    pub fn load(&self, bytes: &[u8], label: &str) -> Result<Plugin, PluginError> {
        let component = self.compile(bytes)?;
        let engine = &self.inner.engine;
        for (name, _) in component.component_type().imports(engine) {
            let base = name.split('@').next().unwrap_or(name);
            if name == HOST_INTERFACE || name == TYPES_INTERFACE || INERT_IMPORTS.contains(&base) {
                continue;
            }
            // Our own interfaces at another version: a plugin built with an older SDK.
            if let ("hopscope:plugin/host" | "hopscope:plugin/types", Some(version)) =
                (base, name.split_once('@').map(|(_, v)| v))
            {
                return Err(PluginError::WitVersion {
                    found: format!("hopscope:plugin@{version}"),
                    expected: crate::WIT_PACKAGE.to_string(),
                });
            }
            return Err(PluginError::UnknownImport { name: name.to_string() });
        }
        let mut linker = self.inner.linker.clone();
        linker.define_unknown_imports_as_traps(&component).map_err(engine_error)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::BadExport { reason: format!("cannot link: {e}") })?;
        let export = |name: &str| {
            component
                .get_export_index(None, name)
                .ok_or_else(|| PluginError::BadExport { reason: format!("no `{name}` export") })
        };
        let describe = export("describe")?;
        let evaluate = export("evaluate")?;
        let mut plugin = Plugin {
            inner: self.inner.clone(),
            label: label.to_string(),
            manifest: Manifest {
                name: label.to_string(),
                version: String::new(),
                rules: Vec::new(),
                metrics: Vec::new(),
                on_request: Vec::new(),
                capabilities: Vec::new(),
                budget: Budget {
                    fuel: self.inner.limits.max_fuel.min(100_000_000),
                    memory_bytes: self.inner.limits.max_memory_bytes as u64,
                    wall_ms: self.inner.limits.max_wall_ms.min(1_000),
                },
                wit: crate::WIT_PACKAGE,
            },
            wanted: Vec::new(),
            series: Arc::from([]),
            pre,
            evaluate,
            health: Mutex::new(Health::default()),
            last_fuel: AtomicU64::new(0),
        };
        let (raw, _) = plugin.run(0.0, |store, instance| {
            // Type-check `evaluate` now, so a mistyped plugin fails to load rather than
            // failing (and being quarantined) at its first evaluation.
            instance
                .get_typed_func::<(&wit::Conference,), (Result<Vec<wit::Finding>, String>,)>(
                    &mut *store,
                    &evaluate,
                )
                .map_err(|e| PluginError::BadExport { reason: format!("`evaluate`: {e}") })?;
            let f = instance
                .get_typed_func::<(), (wit::Manifest,)>(&mut *store, &describe)
                .map_err(|e| PluginError::BadExport { reason: format!("`describe`: {e}") })?;
            let (m,) = f.call(&mut *store, ()).map_err(Failure::Wasm)?;
            Ok(m)
        })?;
        let (manifest, wanted) = manifest::check(raw, &self.inner.limits)?;
        plugin.manifest = manifest;
        plugin.series = wanted
            .iter()
            .filter(|w| w.scope == hopscope_rules::catalogue::Scope::Stream && !w.text)
            .map(|w| (w.name, w.id))
            .collect();
        plugin.wanted = wanted;
        tracing::debug!(plugin = %plugin.manifest.name, "loaded {label}");
        Ok(plugin)
    }

    fn compile(&self, bytes: &[u8]) -> Result<Component, PluginError> {
        // Two differently seeded hashes and the length: a collision would need all three.
        let key = {
            let hash = |seed: u8| {
                let mut h = std::hash::DefaultHasher::new();
                seed.hash(&mut h);
                bytes.hash(&mut h);
                h.finish()
            };
            (hash(0), hash(1), bytes.len())
        };
        if let Some(c) = lock(&self.inner.cache).get(&key) {
            return Ok(c.clone());
        }
        // Component::new validates everything before compiling.
        let component = Component::new(&self.inner.engine, bytes)
            .map_err(|e| PluginError::Malformed { reason: format!("{e:#}") })?;
        lock(&self.inner.cache).insert(key, component.clone());
        Ok(component)
    }
}

#[derive(Debug, Default)]
struct Health {
    failures: u32,
    quarantined: bool,
    last: Option<PluginError>,
}

/// A loaded, checked plugin, ready to evaluate (from any number of threads at once).
pub struct Plugin {
    inner: Arc<Inner>,
    label: String,
    manifest: Manifest,
    wanted: Vec<Wanted>,
    /// The stream metrics `stream-series` serves this plugin.
    series: Arc<[(&'static str, MetricId)]>,
    pre: InstancePre<State>,
    evaluate: ComponentExportIndex,
    health: Mutex<Health>,
    last_fuel: AtomicU64,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("label", &self.label)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

/// What one evaluation produced.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The checked findings.
    pub findings: Vec<Finding>,
    /// Fuel used, reads through the host included.
    pub fuel_used: u64,
    /// The part of `fuel_used` that paid for reads through the host (`summarise-streams`,
    /// `stream-series`).
    pub read_fuel: u64,
    /// Log lines kept.
    pub logs: Vec<LogLine>,
    /// Log lines dropped over the cap.
    pub logs_dropped: u32,
    /// Wall-clock time, instantiation included.
    pub elapsed: Duration,
}

/// A failure inside `run`, before it is classified.
pub(crate) enum Failure {
    Wasm(wasmtime::Error),
    Plugin(PluginError),
}

impl From<PluginError> for Failure {
    fn from(e: PluginError) -> Self {
        Failure::Plugin(e)
    }
}

impl Plugin {
    /// The checked manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where it came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether it is quarantined.
    pub fn is_quarantined(&self) -> bool {
        lock(&self.health).quarantined
    }

    /// The last failure, if the last evaluation failed.
    pub fn last_error(&self) -> Option<PluginError> {
        lock(&self.health).last.clone()
    }

    /// Fuel the last successful evaluation used.
    pub fn last_fuel(&self) -> u64 {
        self.last_fuel.load(Ordering::Relaxed)
    }

    /// Lets a quarantined plugin run again (an operator's decision).
    pub fn release(&self) {
        *lock(&self.health) = Health::default();
    }

    /// Creates one sandbox (store, fuel, deadline, instance from the pre-linked template)
    /// and drops it without calling the plugin: the fixed cost every evaluation pays, for
    /// benchmarks and health checks.
    pub fn fresh_instance(&self) -> Result<(), PluginError> {
        self.run(0.0, |_, _| Ok(())).map(|_| ())
    }

    /// Evaluates a conference. `earlier` are findings other rules raised on it already.
    pub fn evaluate(&self, view: &View, earlier: &[Finding]) -> Result<Evaluation, PluginError> {
        self.evaluate_shared(&mut SharedInput::new(view, earlier))
    }

    /// [`evaluate`](Self::evaluate) with the input parts plugins share on one view: call
    /// it for each plugin of a pass with the same `shared`.
    pub fn evaluate_shared(&self, shared: &mut SharedInput<'_>) -> Result<Evaluation, PluginError> {
        {
            let h = lock(&self.health);
            if h.quarantined {
                return Err(PluginError::Quarantined {
                    failures: h.failures,
                    last: h.last.as_ref().map_or_else(String::new, ToString::to_string),
                });
            }
        }
        let result = self.evaluate_once(shared);
        let mut h = lock(&self.health);
        match &result {
            Ok(e) => {
                h.failures = 0;
                h.last = None;
                self.last_fuel.store(e.fuel_used, Ordering::Relaxed);
            }
            Err(e) => {
                h.failures = h.failures.saturating_add(1);
                h.last = Some(e.clone());
                tracing::warn!(plugin = %self.manifest.name, code = e.code(), "evaluation failed: {e}");
                if h.failures >= self.inner.limits.quarantine_after && !h.quarantined {
                    h.quarantined = true;
                    tracing::error!(
                        plugin = %self.manifest.name,
                        failures = h.failures,
                        "plugin quarantined after {} failures in a row; last: {e}",
                        h.failures
                    );
                }
            }
        }
        result
    }

    fn evaluate_once(&self, shared: &mut SharedInput<'_>) -> Result<Evaluation, PluginError> {
        let started = Instant::now();
        let view = shared.view();
        let input = crate::input::conference(shared, &self.wanted);
        let now_ms = view.ticks.last().map_or(0.0, |t| t.epoch_ms());
        let limits = &self.inner.limits;
        let summaries = &shared.summaries;
        let raw = LENT_VIEW.set(view, || {
            LENT_SUMMARIES.set(summaries, || {
                self.run(now_ms, |store, instance| self.call_evaluate(store, instance, &input))
            })
        });
        // Whatever happened in the sandbox, what the input borrowed goes back.
        shared.put_back(input, &self.wanted);
        let (raw, Spent { fuel_used, read_fuel, logs, logs_dropped }) = raw?;
        let mut findings = Vec::with_capacity(raw.len());
        for f in raw {
            findings.push(crate::convert::finding(f, view, &self.manifest, limits)?);
        }
        Ok(Evaluation { findings, fuel_used, read_fuel, logs, logs_dropped, elapsed: started.elapsed() })
    }

    /// Calls `evaluate` and applies the output caps.
    fn call_evaluate(
        &self,
        store: &mut Store<State>,
        instance: &wasmtime::component::Instance,
        input: &wit::Conference,
    ) -> Result<Vec<wit::Finding>, Failure> {
        let limits = &self.inner.limits;
        let f = instance
            .get_typed_func::<(&wit::Conference,), (Result<Vec<wit::Finding>, String>,)>(
                &mut *store,
                &self.evaluate,
            )
            .map_err(|e| PluginError::BadExport { reason: format!("`evaluate`: {e}") })?;
        // The result is copied out whole before the guest frees it (post-return runs inside
        // `call`): its size is bounded by the plugin's memory limit, and the caps below apply
        // before anything is converted.
        let (result,) = f.call(&mut *store, (input,)).map_err(Failure::Wasm)?;
        match result {
            Err(message) => {
                Err(PluginError::Failed { message: truncate(&message, limits.max_string_bytes).to_string() }
                    .into())
            }
            Ok(list) if list.len() > limits.max_findings => Err(PluginError::OutputTooLarge {
                what: format!("{} findings (at most {})", list.len(), limits.max_findings),
            }
            .into()),
            Ok(list) => Ok(list),
        }
    }

    /// Runs `f` on a fresh instance in a fresh store with this plugin's budget; classifies
    /// whatever goes wrong.
    fn run<R>(
        &self,
        now_ms: f64,
        f: impl FnOnce(&mut Store<State>, &wasmtime::component::Instance) -> Result<R, Failure>,
    ) -> Result<(R, Spent), PluginError> {
        let limits = &self.inner.limits;
        let budget = self.manifest.budget;
        let memory = usize::try_from(budget.memory_bytes).unwrap_or(usize::MAX).min(limits.max_memory_bytes);
        let state = State {
            limiter: Limiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory)
                    .table_elements(100_000)
                    .instances(32)
                    .tables(32)
                    .memories(4)
                    .build(),
                refused: false,
            },
            now_ms,
            series: self.series.clone(),
            read_fuel: 0,
            logs: LogSink {
                plugin: self.manifest.name.as_str().into(),
                lines: Vec::new(),
                dropped: 0,
                max_lines: limits.max_log_lines,
                max_bytes: limits.max_log_line_bytes,
            },
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(budget.fuel).map_err(engine_error)?;
        let ticks = u64::from(budget.wall_ms).div_ceil(EPOCH_TICK.as_millis().max(1) as u64) + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let outcome = match self.pre.instantiate(&mut store) {
            Ok(instance) => f(&mut store, &instance),
            Err(e) if e.downcast_ref::<Trap>().is_some() || store.data().limiter.refused => {
                Err(Failure::Wasm(e))
            }
            Err(e) => Err(PluginError::Instantiate { reason: format!("{e:#}") }.into()),
        };
        let fuel_used = budget.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        match outcome {
            Ok(r) => {
                let s = store.into_data();
                Ok((
                    r,
                    Spent {
                        fuel_used,
                        read_fuel: s.read_fuel,
                        logs: s.logs.lines,
                        logs_dropped: s.logs.dropped,
                    },
                ))
            }
            Err(Failure::Plugin(e)) => Err(e),
            Err(Failure::Wasm(e)) => Err(classify(&e, store.data(), budget, memory)),
        }
    }
}

/// Turns a wasmtime error into the limit it hit.
fn classify(e: &wasmtime::Error, state: &State, budget: Budget, memory: usize) -> PluginError {
    if state.limiter.refused {
        return PluginError::MemoryLimit { limit_bytes: memory as u64 };
    }
    // The SDK's panic hook logs the panic message just before the trap.
    let panic = state.logs.lines.iter().rev().find(|l| l.level == "error").map(|l| l.message.clone());
    let with_panic = |m: String| match &panic {
        Some(p) => format!("{m}: {p}"),
        None => m,
    };
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PluginError::OutOfFuel { budget: budget.fuel },
        Some(Trap::Interrupt) => PluginError::Deadline { ms: budget.wall_ms },
        Some(Trap::StackOverflow) => PluginError::StackOverflow,
        Some(t) => PluginError::Trap { message: with_panic(t.to_string()) },
        // A std-runtime import bound to a trap (stdout, env, exit...): the plugin reached
        // for something the sandbox does not grant.
        None if e.root_cause().to_string().starts_with("unknown import") => PluginError::Trap {
            message: with_panic(format!("{} (the sandbox grants no WASI)", e.root_cause())),
        },
        // Anything else failed while values crossed the boundary: what the plugin returned
        // does not decode (a bad enum discriminant, invalid UTF-8, a pointer out of bounds).
        None => PluginError::BadOutput { reason: e.root_cause().to_string() },
    }
}
