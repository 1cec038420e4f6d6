//! Live conferences: re-evaluated as data arrives, pushed to subscribers, ended by
//! inactivity.
//!
//! The registry holds bookkeeping per conference (a few hundred bytes plus the latest
//! update) and, within a memory budget (`live_read_cache_mib`), what its evaluations have
//! read so far ([`ReadSoFar`]), so that each observation is read from the store and parsed
//! once rather than at every evaluation. The store stays the ground truth: a conference
//! over the budget, or any after a restart, is read from the start again, and gives the
//! same result. Evaluations run on their own threads ([`Evaluators`]), at a lower CPU
//! priority than ingest; a conference is re-evaluated at most every
//! `evaluate_every_ms`, and less often when its evaluations are slow, so one huge call
//! cannot starve the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hopscope_ingest::LiveIngest;
use hopscope_store::{Evaluation, FindingRow, NATIVE_INPUT, Store, Summary};
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};

use crate::State;
use crate::evaluate::{Read, evaluate_read, primary, summarize};

/// What subscribers of a conference receive.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum LiveEvent {
    /// The conference's current state (sent on subscribing and after each evaluation).
    Update(Arc<Snapshot>),
    /// A finding was raised or cleared since the previous evaluation.
    Finding(FindingChange),
    /// The conference ended: its final state.
    Ended(Arc<Snapshot>),
}

impl LiveEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Update(_) => "update",
            LiveEvent::Finding(_) => "finding",
            LiveEvent::Ended(_) => "ended",
        }
    }
}

/// A conference as of one evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Conference id.
    pub conference: String,
    /// `live` or `ended`.
    pub state: &'static str,
    /// Increases with each evaluation.
    pub version: u64,
    /// The brief.
    pub summary: Summary,
    /// Findings so far.
    pub findings: Vec<FindingRow>,
    /// The conference told in plain English so far (summary, a paragraph per root cause).
    pub narrative: serde_json::Value,
    /// Inputs that could not be read.
    pub errors: Vec<String>,
}

/// A finding that appeared or cleared.
#[derive(Clone, Debug, Serialize)]
pub struct FindingChange {
    /// `raised` or `cleared`.
    pub status: &'static str,
    /// The finding.
    pub finding: FindingRow,
}

type Key = (String, String);

#[derive(Debug)]
struct Entry {
    last_activity: Instant,
    /// When data first arrived that no evaluation has taken in yet; `None` when every
    /// piece of data is in an evaluation (done or running).
    waiting_since: Option<Instant>,
    evaluating: bool,
    not_before: Instant,
    version: u64,
    latest: Option<Arc<Snapshot>>,
    tx: broadcast::Sender<LiveEvent>,
    /// What evaluations have read so far, when kept; out while one runs.
    read: Option<ReadSoFar>,
}

/// A live conference's native observations as far as its evaluations have read them: the
/// next evaluation reads only what the store received after `through`.
#[derive(Debug)]
pub(crate) struct ReadSoFar {
    ingest: LiveIngest,
    /// The store's position after the last observation read.
    through: i64,
    /// What it took in memory when kept (`LiveIngest::memory_bytes`).
    bytes: usize,
}

impl Entry {
    fn new(last_activity: Instant) -> Entry {
        let (tx, _) = broadcast::channel(256);
        Entry {
            last_activity,
            waiting_since: Some(last_activity),
            evaluating: false,
            not_before: Instant::now(),
            version: 0,
            latest: None,
            tx,
            read: None,
        }
    }
}

/// The registry of live conferences.
#[derive(Debug)]
pub struct Live {
    entries: Mutex<HashMap<Key, Entry>>,
    workers: Arc<Semaphore>,
    /// How many permits `workers` holds when idle.
    worker_count: u32,
    max_live: usize,
    /// Most bytes of [`ReadSoFar`] kept across all conferences.
    read_budget: usize,
    /// Bytes of [`ReadSoFar`] kept now (changed under the `entries` lock).
    read_kept: std::sync::atomic::AtomicUsize,
}

/// Subscribing found the conference live.
#[derive(Debug)]
pub struct Subscription {
    /// Its state now, if evaluated yet.
    pub current: Option<Arc<Snapshot>>,
    /// What comes next.
    pub events: broadcast::Receiver<LiveEvent>,
}

/// The registry is full.
#[derive(Debug)]
pub struct Full;

impl Live {
    /// An empty registry evaluating at most `workers` conferences at once, keeping at most
    /// `read_budget` bytes of what evaluations have read.
    pub fn new(workers: usize, max_live: usize, read_budget: usize) -> Live {
        Live {
            entries: Mutex::new(HashMap::new()),
            workers: Arc::new(Semaphore::new(workers.max(1))),
            worker_count: u32::try_from(workers.max(1)).unwrap_or(u32::MAX),
            max_live,
            read_budget,
            read_kept: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// How many conferences are evaluated at once, at most.
    pub fn worker_count(&self) -> usize {
        self.worker_count as usize
    }

    /// Bytes kept of what evaluations have read, across conferences.
    pub fn read_kept_bytes(&self) -> usize {
        self.read_kept.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes what a conference's evaluations have read so far, for the one starting.
    fn take_read(&self, key: &Key) -> Option<ReadSoFar> {
        let mut map = self.lock();
        let read = map.get_mut(key)?.read.take()?;
        self.read_kept.fetch_sub(read.bytes, std::sync::atomic::Ordering::Relaxed);
        Some(read)
    }

    /// Keeps what an evaluation read for the next one, if the conference is still live and
    /// the budget has room; says whether it was kept.
    fn keep_read(&self, key: &Key, ingest: LiveIngest, through: i64) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let bytes = ingest.memory_bytes();
        let mut map = self.lock();
        let Some(e) = map.get_mut(key) else { return false };
        if self.read_kept.load(Relaxed).saturating_add(bytes) > self.read_budget {
            return false;
        }
        self.read_kept.fetch_add(bytes, Relaxed);
        let old = e.read.replace(ReadSoFar { ingest, through, bytes });
        if let Some(old) = &old {
            self.read_kept.fetch_sub(old.bytes, Relaxed);
        }
        // A reading is freed after the lock is let go (see `finish`).
        drop(map);
        drop(old);
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // The map stays consistent between statements; a panic elsewhere does not
        // invalidate it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New data arrived for a conference.
    pub fn touch(&self, app: &str, conference: &str) -> Result<(), Full> {
        // Built before the lock is taken: every ingest request comes here.
        let key = (app.to_string(), conference.to_string());
        let now = Instant::now();
        let mut map = self.lock();
        if !map.contains_key(&key) && map.len() >= self.max_live {
            return Err(Full);
        }
        let e = map.entry(key).or_insert_with(|| Entry::new(now));
        e.last_activity = now;
        e.waiting_since.get_or_insert(now);
        Ok(())
    }

    /// Takes back conferences the store holds as live (after a restart), with the time
    /// since their last data counted against the inactivity timeout.
    pub fn recover(&self, app: &str, conference: &str, idle: Duration) {
        let now = Instant::now();
        let last = now.checked_sub(idle).unwrap_or(now);
        self.lock().entry((app.to_string(), conference.to_string())).or_insert_with(|| Entry::new(last));
    }

    /// How many conferences are live.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Listens to a live conference.
    pub fn subscribe(&self, app: &str, conference: &str) -> Option<Subscription> {
        let map = self.lock();
        let e = map.get(&(app.to_string(), conference.to_string()))?;
        Some(Subscription { current: e.latest.clone(), events: e.tx.subscribe() })
    }

    /// The latest snapshot of a live conference.
    pub fn latest(&self, app: &str, conference: &str) -> Option<Arc<Snapshot>> {
        self.lock().get(&(app.to_string(), conference.to_string())).and_then(|e| e.latest.clone())
    }

    /// Conferences due for evaluation at `now` (marked as being evaluated), with whether
    /// each is ending; and how long the oldest data still waiting for an evaluation after
    /// these has waited.
    fn due(&self, inactivity: Duration, now: Instant) -> (Vec<(Key, bool)>, Duration) {
        let mut out = Vec::new();
        let mut lag = Duration::ZERO;
        for (key, e) in self.lock().iter_mut() {
            if !e.evaluating {
                let ending = now.duration_since(e.last_activity) >= inactivity;
                if ending || (e.waiting_since.is_some() && now >= e.not_before) {
                    e.evaluating = true;
                    e.waiting_since = None;
                    out.push((key.clone(), ending));
                    continue;
                }
            }
            if let Some(since) = e.waiting_since {
                lag = lag.max(now.saturating_duration_since(since));
            }
        }
        (out, lag)
    }

    /// Records an evaluation's result and tells subscribers; returns what changed and the
    /// final state if the conference ended.
    ///
    /// Every ingest request takes the registry's lock, and evaluation threads run on idle
    /// CPU: one preempted while holding it would hold up ingest until the CPU is idle
    /// again. So the findings are compared before the lock is taken, and what the update
    /// replaces is freed after it is let go; under it are only the bookkeeping and the
    /// sends, which stay there so that a subscriber sees each update once, in order.
    fn finish(
        &self,
        key: &Key,
        ending: bool,
        mut snapshot: Snapshot,
        cost: Duration,
        every: Duration,
    ) -> (Vec<FindingChange>, Option<Arc<Snapshot>>) {
        // Only this evaluation changes the conference's latest state until it is marked
        // as no longer evaluating, below.
        let previous = self.lock().get(key).and_then(|e| e.latest.clone());
        let previous = previous.as_ref().map_or(&[][..], |s| &s.findings[..]);
        let mut changes = Vec::new();
        for f in &snapshot.findings {
            let before = previous.iter().find(|p| p.id == f.id);
            // A finding that rose and cleared between two evaluations is told as both.
            let statuses: &[&'static str] = match before {
                None if f.cleared_ms.is_some() => &["raised", "cleared"],
                None => &["raised"],
                Some(p) if p.cleared_ms.is_none() && f.cleared_ms.is_some() => &["cleared"],
                Some(_) => &[],
            };
            changes.extend(statuses.iter().map(|status| FindingChange { status, finding: f.clone() }));
        }
        let replaced;
        let mut removed = None;
        let ended;
        let snapshot = {
            let mut map = self.lock();
            let Some(e) = map.get_mut(key) else { return (Vec::new(), None) };
            e.evaluating = false;
            // Slow conferences wait longer between evaluations: at most ~20 % of a worker.
            e.not_before = Instant::now() + every.max(cost * 4);
            e.version += 1;
            snapshot.version = e.version;
            // Ended only if nothing arrived while the final evaluation ran.
            ended = ending && e.waiting_since.is_none();
            if ended {
                snapshot.state = "ended";
            }
            let snapshot = Arc::new(snapshot);
            for change in &changes {
                let _ = e.tx.send(LiveEvent::Finding(change.clone()));
            }
            replaced = e.latest.replace(snapshot.clone());
            let _ = e.tx.send(if ended {
                LiveEvent::Ended(snapshot.clone())
            } else {
                LiveEvent::Update(snapshot.clone())
            });
            if ended {
                removed = map.remove(key);
                let kept = removed.as_ref().and_then(|e| e.read.as_ref()).map_or(0, |r| r.bytes);
                self.read_kept.fetch_sub(kept, std::sync::atomic::Ordering::Relaxed);
            }
            snapshot
        };
        drop((replaced, removed));
        (changes, ended.then_some(snapshot))
    }

    /// Hands back conferences taken by [`Live::due`] but never evaluated.
    fn release(&self, keys: impl IntoIterator<Item = Key>) {
        let mut map = self.lock();
        let now = Instant::now();
        for key in keys {
            if let Some(e) = map.get_mut(&key) {
                e.evaluating = false;
                e.waiting_since.get_or_insert(now);
            }
        }
    }

    fn abandon(&self, key: &Key) {
        if let Some(e) = self.lock().get_mut(key) {
            e.evaluating = false;
            e.waiting_since.get_or_insert_with(Instant::now);
            e.not_before = Instant::now() + Duration::from_secs(5);
        }
    }
}

/// How far before a conference's first data and after its last a relay observation naming
/// no call is still read with it: relays report every few seconds, so two minutes either
/// side takes in the reports around the call without reading every other call of the day.
const RELAY_SLACK_MS: i64 = 120_000;

/// Evaluates one conference from the store (blocking).
pub(crate) fn evaluate_conference(
    state: &State,
    app: &str,
    conference: &str,
    ended: bool,
) -> Result<Snapshot, String> {
    let store: &dyn Store = state.store.as_ref();
    let key = (app.to_string(), conference.to_string());
    // Only what arrived since the last evaluation is read and parsed, when that one's
    // reading was kept.
    let kept_before = state.live.take_read(&key);
    let reused = kept_before.is_some();
    let (mut native, after) = match kept_before {
        Some(r) => (r.ingest, r.through),
        None => (LiveIngest::new(NATIVE_INPUT, &state.ingest_limits), 0),
    };
    let observations = store.observations_after(app, conference, after).map_err(|e| e.to_string())?;
    let mut read = Read::default();
    let mut keep = true;
    if let Err(e) = native.read(&observations.native) {
        // As `ingest` refuses a whole input over the limit: none of it is read.
        read.add(Err(e));
        keep = false;
    } else if native.bytes_read() > 0 {
        read.add(native.ingested());
    }
    for upload in &observations.uploads {
        read.add(hopscope_ingest::ingest(&upload.name, &upload.bytes, &state.ingest_limits));
    }
    // Relay observations that named no call, from around the time this one's data came:
    // ingest joins each allocation to the participant it matches (by participant id,
    // relay or client address, username) and leaves the rest out of this conference.
    if let Some(record) = store.conference(app, conference).map_err(|e| e.to_string())? {
        let (from, to) =
            (record.first_received_ms - RELAY_SLACK_MS, record.last_received_ms + RELAY_SLACK_MS);
        if let Some(relay) = store.relay_observations(app, from, to).map_err(|e| e.to_string())? {
            read.add(hopscope_ingest::ingest(&relay.name, &relay.bytes, &state.ingest_limits));
        }
    }
    let kept = !ended && keep && state.live.keep_read(&key, native, observations.through);
    state.metrics.live_read(match (reused, kept) {
        (true, _) => "continued",
        (false, true) => "started",
        (false, false) => "whole",
    });
    let rules = state.rules_for(app);
    let evaluated = evaluate_read(read, &rules);
    if !evaluated.rule_errors.is_empty() {
        state.metrics.rule_errors.inc_by(evaluated.rule_errors.len() as u64);
        tracing::warn!(%app, %conference, errors = %evaluated.rule_errors.join("; "), "rules failed on a conference; the others ran");
    }
    let errors = evaluated.errors.clone();
    let (summary, findings, diagnosis_json, narrative) = match primary(evaluated, conference) {
        Some(d) => {
            let (summary, findings) = summarize(&d);
            let json = serde_json::to_vec(&d).map_err(|e| e.to_string())?;
            let narrative = serde_json::to_value(&d.narrative).unwrap_or_default();
            (summary, findings, json, narrative)
        }
        None => {
            let summary = Summary {
                outcome: "unreadable".into(),
                headline: format!("None of the data could be read: {}", errors.join("; ")),
                ..Summary::default()
            };
            (summary, Vec::new(), b"null".to_vec(), serde_json::Value::Null)
        }
    };
    store
        .save_evaluation(Evaluation {
            app: app.to_string(),
            conference: conference.to_string(),
            ended,
            summary: summary.clone(),
            findings: findings.clone(),
            diagnosis_json,
        })
        .map_err(|e| e.to_string())?;
    Ok(Snapshot {
        conference: conference.to_string(),
        state: "live",
        version: 0,
        summary,
        findings,
        narrative,
        errors,
    })
}

/// Runs until `stop` fires: picks due conferences and evaluates them.
pub(crate) async fn run_scheduler(
    state: Arc<State>,
    evaluators: Evaluators,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Validated positive; one too big for a `Duration` (say `.inf`) means "never".
    let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
    let inactivity = seconds(state.config.inactivity_timeout_s);
    let every = Duration::from_millis(state.config.evaluate_every_ms);
    let tick = Duration::from_millis(100).min(every);
    let max_lag = seconds(state.config.live_evaluation_max_lag_s);
    'scheduling: loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => break,
        }
        let (due, lag) = state.live.due(inactivity, Instant::now());
        state.metrics.live_conferences.set(state.live.len() as i64);
        state
            .metrics
            .live_read_kept_bytes
            .set(i64::try_from(state.live.read_kept_bytes()).unwrap_or(i64::MAX));
        state.metrics.evaluation_lag_seconds.set(lag.as_secs_f64());
        evaluators.follow_lag(lag, max_lag);
        let mut due = due.into_iter();
        while let Some((key, ending)) = due.next() {
            // Stopping starts no more evaluations: under load the due list can hold
            // minutes of work, and what is not evaluated now is recovered from the store
            // on the next start.
            let permit = tokio::select! {
                biased;
                _ = stop.changed() => None,
                permit = state.live.workers.clone().acquire_owned() => Some(permit),
            };
            let Some(permit) = permit.filter(|_| !*stop.borrow()) else {
                state.live.release(std::iter::once(key).chain(due.map(|(k, _)| k)));
                break 'scheduling;
            };
            let Ok(permit) = permit else { return };
            let state = state.clone();
            state.metrics.evaluations_queued.inc();
            evaluators.run(Box::new(move || {
                let _permit = permit;
                state.metrics.evaluations_queued.dec();
                let started = Instant::now();
                // A panic (a bug) must not leave the conference marked as being evaluated,
                // which would keep it from ever being evaluated or ended again.
                let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    evaluate_conference(&state, &key.0, &key.1, ending)
                }))
                .unwrap_or_else(|_| Err("the evaluation panicked (a bug)".to_string()));
                match evaluated {
                    Ok(snapshot) => {
                        let cost = started.elapsed();
                        state.metrics.evaluation_seconds.observe(cost.as_secs_f64());
                        if ending {
                            tracing::info!(app = %key.0, conference = %key.1, outcome = %snapshot.summary.outcome, "conference ended");
                        }
                        let (changes, ended) = state.live.finish(&key, ending, snapshot, cost, every);
                        crate::callbacks::enqueue(&state, &key.0, &key.1, &changes, ended.as_deref());
                    }
                    Err(error) => {
                        state.metrics.evaluation_errors.inc();
                        tracing::error!(app = %key.0, conference = %key.1, %error, "evaluation failed; will retry");
                        state.live.abandon(&key);
                    }
                }
            }));
        }
    }
    // Let running evaluations finish before the store closes.
    let _ = state.live.workers.acquire_many(state.live.worker_count).await;
}

/// How much lower than the rest of the server live evaluations run, in nice steps, once
/// live views have fallen too far behind (`live_evaluation_max_lag_s`): a thread 10 steps
/// down gets about a tenth of a core that a thread at the server's own level also wants.
const EVALUATION_NICENESS: i32 = 10;

type EvaluationJob = Box<dyn FnOnce() + Send>;

/// The threads live evaluations run on, below the rest of the server. They run under
/// `SCHED_IDLE`: the kernel hands them the CPU only when nothing else wants it, and takes
/// it back the moment an ingest thread wakes, so an acknowledgement never waits behind a
/// diagnosis (at 2,500 four-party calls, ingest's p99 went from 18 to 13 ms against 10
/// nice steps down, which still let an evaluation finish its time slice first). Under
/// sustained overload that would starve them, so once live views fall too far behind
/// they run at 10 nice steps down instead, until they catch up.
pub struct Evaluators {
    jobs: std::sync::mpsc::Sender<EvaluationJob>,
    /// Whether evaluations should take a share of the CPU rather than only idle time;
    /// each thread applies it to itself before its next job.
    share_cpu: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Evaluators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluators").finish_non_exhaustive()
    }
}

impl Evaluators {
    /// Starts `threads` threads; they stop once the `Evaluators` is dropped and the jobs
    /// already given are done.
    pub fn start(threads: usize) -> std::io::Result<Evaluators> {
        let (jobs, queue) = std::sync::mpsc::channel::<EvaluationJob>();
        let queue = Arc::new(Mutex::new(queue));
        let share_cpu = Arc::new(std::sync::atomic::AtomicBool::new(false));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let share_cpu = share_cpu.clone();
            std::thread::Builder::new().name(format!("hopscope-evaluate-{i}")).spawn(move || {
                let mut priority = EvaluationPriority::start();
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    priority.set(share_cpu.load(std::sync::atomic::Ordering::Relaxed));
                    // A panicking job (a bug) must not cost the server a thread. The
                    // scheduler's jobs catch their own panics and retry the conference.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                        tracing::error!("a live evaluation job panicked; its thread goes on");
                    }
                }
            })?;
        }
        Ok(Evaluators { jobs, share_cpu })
    }

    /// Hands a job to the next free thread.
    fn run(&self, job: EvaluationJob) {
        // The threads only stop once `self` is dropped, so the send cannot fail here.
        let _ = self.jobs.send(job);
    }

    /// Follows how far behind live views are (the oldest data no evaluation has taken
    /// in): past `max_lag` evaluations share the CPU, and they go back to idle time once
    /// under half of it (apart, so that they do not flip at every scheduling tick).
    fn follow_lag(&self, lag: Duration, max_lag: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        if lag > max_lag {
            if !self.share_cpu.swap(true, Relaxed) {
                tracing::info!(
                    lag_s = lag.as_secs_f64(),
                    "live views are falling behind; evaluations now share the CPU with ingest"
                );
            }
        } else if lag <= max_lag / 2 && self.share_cpu.swap(false, Relaxed) {
            tracing::info!(
                lag_s = lag.as_secs_f64(),
                "live views caught up; evaluations run on idle CPU again"
            );
        }
    }
}

/// One evaluation thread's CPU priority: idle time only, or a share at 10 nice steps below
/// where it started. A nice value and a scheduling policy belong to one thread on Linux
/// (setpriority(2), sched(7)), so this leaves ingest's threads as they are.
struct EvaluationPriority {
    /// The nice value shared CPU time runs at.
    share_nice: i32,
    /// What the thread runs under now (`None` until first set).
    sharing: Option<bool>,
}

impl EvaluationPriority {
    /// Takes the calling thread down to idle time.
    fn start() -> EvaluationPriority {
        let thread = Some(rustix::thread::gettid());
        let ours = rustix::process::getpriority_process(thread).unwrap_or(0);
        let mut priority =
            EvaluationPriority { share_nice: (ours + EVALUATION_NICENESS).min(19), sharing: None };
        priority.set(false);
        priority
    }

    /// Moves the calling thread to idle time (`false`) or to a share of the CPU.
    fn set(&mut self, share: bool) {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
        if self.sharing == Some(share) {
            return;
        }
        let (policy, priority) = if share {
            let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
            (policy, nice_as_priority(self.share_nice, policy))
        } else {
            // SCHED_IDLE ignores the nice value; the crate accepts only its lowest with it.
            (ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle), Some(ThreadPriority::Min))
        };
        let result = priority.map(|priority| {
            thread_priority::unix::set_thread_priority_and_policy(
                thread_priority::unix::thread_native_id(),
                priority,
                policy,
            )
        });
        // The policy is set before the nice value, and an unprivileged thread may not
        // take its nice value back down: what counts is the policy it ended up under.
        let now = thread_priority::unix::thread_schedule_policy().ok();
        if now != Some(policy) {
            tracing::warn!(?result, ?policy, ?now, "cannot set a live evaluation thread's CPU scheduling");
        }
        // Not retried at every job when it failed: one warning is enough.
        self.sharing = Some(share);
    }
}

/// The crate's 0–99 priority that stands for `nice` under `policy` (it takes nice values
/// only through that scale on Linux).
fn nice_as_priority(
    nice: i32,
    policy: thread_priority::ThreadSchedulePolicy,
) -> Option<thread_priority::ThreadPriority> {
    (0..=99u8)
        .filter_map(|step| thread_priority::ThreadPriority::try_from(step).ok())
        .find(|priority| priority.to_posix(policy).ok() == Some(nice))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lag counts from the first data no evaluation has taken in: none right after
    /// evaluations are dispatched, and data arriving during one waits until the next.
    #[test]
    fn evaluation_lag_is_the_oldest_data_no_evaluation_has_taken_in() -> Result<(), Full> {
        let live = Live::new(1, 10, 1 << 20);
        let inactivity = Duration::from_secs(3600);
        let later = |s: u64| Instant::now() + Duration::from_secs(s);
        live.touch("prod", "c1")?;
        live.touch("prod", "c2")?;
        let (due, lag) = live.due(inactivity, later(2));
        assert_eq!(due.len(), 2);
        assert_eq!(lag, Duration::ZERO, "everything waiting was just dispatched");
        // New data for c1 while it is being evaluated: it waits for the next evaluation.
        live.touch("prod", "c1")?;
        let (due, lag) = live.due(inactivity, later(5));
        assert!(due.is_empty(), "both are still being evaluated");
        assert!(lag >= Duration::from_secs(5) && lag < Duration::from_secs(6), "{lag:?}");
        // Handed back unevaluated, c2 waits too; c1's wait still counts from its data.
        live.release([("prod".to_string(), "c2".to_string())]);
        let (due, lag) = live.due(inactivity, later(7));
        assert_eq!(due, vec![(("prod".to_string(), "c2".to_string()), false)]);
        assert!(lag >= Duration::from_secs(7) && lag < Duration::from_secs(8), "c1's data: {lag:?}");
        Ok(())
    }

    /// A job's thread name, scheduling policy and nice value.
    type Seen = (Option<String>, Option<thread_priority::ThreadSchedulePolicy>, Option<i32>);

    /// Evaluations run on their own threads on idle CPU, a panicking one does not take its
    /// thread down, and they take a share of the CPU (10 nice steps down) only while live
    /// views are too far behind.
    #[test]
    fn evaluations_run_on_idle_cpu_share_it_when_behind_and_survive_a_panic()
    -> Result<(), Box<dyn std::error::Error>> {
        use thread_priority::{NormalThreadSchedulePolicy as Normal, ThreadSchedulePolicy as Policy};
        let ours = rustix::process::getpriority_process(Some(rustix::thread::gettid()))?;
        let evaluators = Evaluators::start(2)?;
        evaluators.run(Box::new(|| panic!("a bug in an evaluation")));
        evaluators.run(Box::new(|| panic!("another one")));
        // What the threads run under, seen from inside four jobs.
        let seen = |evaluators: &Evaluators| -> Result<Vec<Seen>, Box<dyn std::error::Error>> {
            let (tx, rx) = std::sync::mpsc::channel();
            for _ in 0..4 {
                let tx = tx.clone();
                evaluators.run(Box::new(move || {
                    let name = std::thread::current().name().map(str::to_string);
                    let policy = thread_priority::unix::thread_schedule_policy().ok();
                    let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok();
                    let _ = tx.send((name, policy, nice));
                }));
            }
            (0..4).map(|_| Ok(rx.recv_timeout(Duration::from_secs(10))?)).collect()
        };
        let max_lag = Duration::from_secs(30);
        for (name, policy, _) in seen(&evaluators)? {
            assert!(name.as_deref().is_some_and(|n| n.starts_with("hopscope-evaluate-")), "{name:?}");
            assert_eq!(policy, Some(Policy::Normal(Normal::Idle)), "idle CPU only while views keep up");
        }
        evaluators.follow_lag(Duration::from_secs(31), max_lag);
        for (_, policy, nice) in seen(&evaluators)? {
            assert_eq!(policy, Some(Policy::Normal(Normal::Other)), "a share of the CPU once 31 s behind");
            assert_eq!(nice, Some((ours + EVALUATION_NICENESS).min(19)));
        }
        // Still 20 s behind: more than half the limit, so they keep sharing.
        evaluators.follow_lag(Duration::from_secs(20), max_lag);
        assert!(seen(&evaluators)?.iter().all(|(_, p, _)| *p == Some(Policy::Normal(Normal::Other))));
        evaluators.follow_lag(Duration::from_secs(15), max_lag);
        assert!(
            seen(&evaluators)?.iter().all(|(_, p, _)| *p == Some(Policy::Normal(Normal::Idle))),
            "back to idle time"
        );
        Ok(())
    }

    /// A reading of `reports` native observations of one participant.
    fn reading(reports: usize) -> LiveIngest {
        let mut ingest = LiveIngest::new(NATIVE_INPUT, &hopscope_ingest::Limits::default());
        let mut ndjson = String::new();
        for i in 0..reports {
            let at = 1_700_000_000_000u64 + 1000 * i as u64;
            ndjson.push_str(&format!(
                r#"{{"v":1,"conference":"c1","participant":"alice","pc":"pc1","timestamp":{at},"stats":[{{"id":"IT01A1","type":"inbound-rtp","timestamp":{at},"kind":"audio","ssrc":1,"packetsReceived":{p},"packetsLost":0,"jitter":0.01,"bytesReceived":{b}}}]}}"#,
                p = 50 * i,
                b = 8000 * i
            ));
            ndjson.push('\n');
        }
        assert!(ingest.read(ndjson.as_bytes()).is_ok());
        ingest
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            conference: "c1".into(),
            state: "live",
            version: 0,
            summary: Summary::default(),
            findings: Vec::new(),
            narrative: serde_json::Value::Null,
            errors: Vec::new(),
        }
    }

    /// What evaluations keep of their reading stays within the budget, is handed to the
    /// next evaluation whole, and leaves with its conference.
    #[test]
    fn kept_readings_stay_within_the_budget_and_leave_with_their_conference() -> Result<(), Full> {
        let one = reading(60);
        let bytes = one.memory_bytes();
        assert!(bytes > 0);
        let live = Live::new(1, 10, bytes + bytes / 4);
        let (c1, c2) = (("prod".to_string(), "c1".to_string()), ("prod".to_string(), "c2".to_string()));
        assert!(!live.keep_read(&c1, reading(60), 7), "not live: nothing to keep it with");
        live.touch("prod", "c1")?;
        live.touch("prod", "c2")?;
        assert!(live.keep_read(&c1, one, 7));
        assert_eq!(live.read_kept_bytes(), bytes);
        assert!(!live.keep_read(&c2, reading(60), 9), "a second would pass the budget");
        assert_eq!(live.read_kept_bytes(), bytes);
        // The next evaluation takes it, with where it stopped; nothing is counted meanwhile.
        let taken = live.take_read(&c1).ok_or(Full)?;
        assert_eq!((taken.through, taken.bytes), (7, bytes));
        assert_eq!(live.read_kept_bytes(), 0);
        assert!(live.take_read(&c1).is_none());
        // Now c2's fits; c1's goes back once more data was read, replacing nothing.
        assert!(live.keep_read(&c2, reading(20), 9));
        let c2_bytes = live.read_kept_bytes();
        assert!(c2_bytes < bytes);
        assert!(!live.keep_read(&c1, taken.ingest, 12), "c1's and c2's together pass the budget");
        // The conference ends: what it kept goes with it.
        let inactivity = Duration::from_secs(3600);
        let (due, _) = live.due(inactivity, Instant::now() + Duration::from_secs(2));
        assert_eq!(due.len(), 2);
        let (_, ended) = live.finish(&c2, true, snapshot(), Duration::ZERO, Duration::from_secs(1));
        assert!(ended.is_some());
        assert_eq!(live.read_kept_bytes(), 0);
        Ok(())
    }
}
