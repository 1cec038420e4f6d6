//! hopscope's durable store.
//!
//! What the server keeps: the raw observations collectors sent (the ground state, kept
//! compressed so any conference can be re-diagnosed with new rules), and what was derived
//! from them (each conference's record, its latest diagnosis, its findings), plus user
//! feedback, applications and their keys.
//!
//! [`Store`] is the interface; [`SqliteStore`] the embedded backend (SQLite in WAL mode
//! under a data directory, zero set-up). The interface speaks in plain records and owned
//! bytes, never in SQL or connections, so a networked backend (PostgreSQL) can implement it
//! later without the server changing.
//!
//! Durability: a write returns only after its transaction committed with a full sync, so
//! whatever the server acknowledged survives a crash. Concurrent writes are committed
//! together (group commit) to keep that affordable.

mod records;
mod sqlite;

pub use records::*;
pub use sqlite::SqliteStore;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or prepared.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// Where.
        path: String,
        /// Why.
        message: String,
    },
    /// A query failed.
    #[error("store {operation} failed: {source}")]
    Sql {
        /// What was being done.
        operation: &'static str,
        /// The database's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The transaction holding this write did not commit; the write is not stored.
    #[error("store commit failed, nothing of this write is stored: {0}")]
    Commit(String),
    /// The writer has stopped (the store is shutting down or broke).
    #[error("the store's writer has stopped")]
    WriterGone,
    /// The writer's queue is full: writes arrive faster than the disk commits them.
    #[error("the store's write queue is full ({queued} writes waiting)")]
    Busy {
        /// How many writes were waiting.
        queued: usize,
    },
    /// Stored bytes could not be decoded (disk corruption or a bug).
    #[error("stored {what} for {app}/{conference} is unreadable: {message}")]
    Corrupt {
        /// Which data.
        what: &'static str,
        /// App.
        app: String,
        /// Conference.
        conference: String,
        /// Why.
        message: String,
    },
    /// A reference to something that does not exist.
    #[error("unknown {what} `{name}`")]
    Unknown {
        /// Kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
    },
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store's interface. Every method is blocking; async callers run them on a blocking
/// thread. Implementations are shared between threads.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates an application if it does not exist.
    fn ensure_app(&self, app: &str) -> Result<()>;
    /// All applications, by name.
    fn apps(&self) -> Result<Vec<String>>;
    /// Registers a key for an app (only its hash is kept).
    fn add_key(&self, app: &str, kind: KeyKind, key: &str, label: &str) -> Result<()>;
    /// What a key grants, if it is known.
    fn resolve_key(&self, key: &str) -> Result<Option<KeyGrant>>;
    /// How many keys an app has.
    fn key_count(&self, app: &str) -> Result<u64>;

    /// Stores a batch of observations, once: a batch id seen before for the app is a
    /// replay and stores nothing.
    fn append(&self, batch: Batch) -> Result<Appended>;
    /// [`Store::append`] that answers through `done` once the batch is durable (or is
    /// not), so a caller on an async runtime waits on a channel instead of holding a
    /// blocking thread for the commit. It may do the batch's CPU work (compression) on the
    /// calling thread first, and never blocks on a full write queue: it answers
    /// [`StoreError::Busy`] instead. A backend without a writer queue answers before
    /// returning.
    fn append_then(&self, batch: Batch, done: Box<dyn FnOnce(Result<Appended>) + Send>) {
        done(self.append(batch))
    }
    /// A conference's raw data as inputs for ingest: its native observations as one NDJSON
    /// input ([`NATIVE_INPUT`], in arrival order), then each uploaded dump.
    fn observations(&self, app: &str, conference: &str) -> Result<Vec<Input>> {
        let Observations { native, uploads, .. } = self.observations_after(app, conference, 0)?;
        let native = (!native.is_empty()).then(|| Input { name: NATIVE_INPUT.to_string(), bytes: native });
        Ok(native.into_iter().chain(uploads).collect())
    }
    /// The native observations of a conference that arrived after position `after` (0: all
    /// of them), with every uploaded dump, read at one point in time. A live conference's
    /// evaluations read each observation once this way, passing the `through` of the
    /// last read.
    fn observations_after(&self, app: &str, conference: &str, after: i64) -> Result<Observations>;
    /// Relay observations of the app that named no conference, received between `from_ms`
    /// and `to_ms`, as one NDJSON input ([`RELAY_INPUT`]), oldest first; the newest
    /// [`MAX_RELAY_OBSERVATIONS`] (the batch that crosses the cap whole); `None` when there
    /// are none.
    fn relay_observations(&self, app: &str, from_ms: i64, to_ms: i64) -> Result<Option<Input>>;
    /// Stores an uploaded dump (any format ingest reads) as part of a conference.
    fn store_upload(&self, app: &str, conference: &str, input: Input, received_ms: i64) -> Result<()>;

    /// Saves what an evaluation derived (live: may be replaced; final: the call ended).
    fn save_evaluation(&self, evaluation: Evaluation) -> Result<()>;
    /// Conferences still live (for recovery after a restart).
    fn live_conferences(&self) -> Result<Vec<ConferenceRecord>>;
    /// One conference's record.
    fn conference(&self, app: &str, id: &str) -> Result<Option<ConferenceRecord>>;
    /// The latest diagnosis of a conference, as JSON.
    fn diagnosis(&self, app: &str, id: &str) -> Result<Option<Vec<u8>>>;
    /// The findings of a conference's latest evaluation.
    fn findings(&self, app: &str, id: &str) -> Result<Vec<FindingRow>>;
    /// Conferences matching a query, newest first.
    fn conferences(&self, app: &str, query: &ConferenceQuery) -> Result<Vec<ConferenceRecord>>;

    /// Attaches user feedback to a conference.
    fn add_feedback(&self, app: &str, feedback: Feedback) -> Result<()>;
    /// A conference's feedback.
    fn feedback(&self, app: &str, conference: &str) -> Result<Vec<Feedback>>;

    /// Deletes ended conferences (with everything attached) last seen before `cutoff_ms`,
    /// relay observations received before it, and forgets batch ids older than it. Returns
    /// the conferences deleted.
    fn purge_before(&self, cutoff_ms: i64) -> Result<u64>;

    /// Stores a rule file (a new version when the name exists), enabled.
    fn put_rule_file(&self, app: &str, name: &str, content: &[u8]) -> Result<RuleFile>;
    /// An app's rule files, by name.
    fn rule_files(&self, app: &str) -> Result<Vec<RuleFile>>;
    /// Turns a rule file on or off; false when there is no such file.
    fn set_rule_file_enabled(&self, app: &str, name: &str, enabled: bool) -> Result<bool>;
    /// Deletes a rule file; false when there is no such file.
    fn delete_rule_file(&self, app: &str, name: &str) -> Result<bool>;

    /// Enqueues events for delivery, each once per (action, event id), applying the rate
    /// limits each entry carries (over them, the entry is held for a summary). Returns the
    /// states the new entries got (events seen before are left out).
    fn enqueue(&self, app: &str, entries: Vec<OutboxEntry>, now_ms: i64) -> Result<Vec<DeliveryState>>;
    /// Pending deliveries due at `now_ms`, oldest first.
    fn due_deliveries(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>>;
    /// Records an attempt in the audit log and moves the delivery on.
    fn record_attempt(&self, id: i64, attempt: Attempt, outcome: AttemptOutcome) -> Result<()>;
    /// An app's deliveries, newest first, optionally in one state.
    fn deliveries(&self, app: &str, state: Option<DeliveryState>, limit: u32) -> Result<Vec<Delivery>>;
    /// One delivery with its attempts.
    fn delivery(&self, app: &str, id: i64) -> Result<Option<(Delivery, Vec<Attempt>)>>;
    /// Puts a dead delivery back in line; false when there is no dead delivery with that id.
    fn retry_delivery(&self, app: &str, id: i64, now_ms: i64) -> Result<bool>;
    /// Held events whose rate window started at or before `cutoff_ms` (pass `now - window`:
    /// windows that have closed), grouped.
    fn held_groups(&self, cutoff_ms: i64) -> Result<Vec<HeldGroup>>;
    /// Marks a group's held events summarised and enqueues their summary, atomically.
    fn summarize_held(&self, group: &HeldGroup, summary: OutboxEntry, now_ms: i64) -> Result<()>;
    /// Kill switches: (kind `action` or `rule`, name) → enabled.
    fn set_switch(&self, app: &str, kind: &str, name: &str, enabled: bool) -> Result<()>;
    /// The switches turned off, as (kind, name).
    fn switches_off(&self, app: &str) -> Result<Vec<(String, String)>>;

    /// Commits everything queued, then refuses further writes.
    fn close(&self);
}

/// Hash under which a key is stored (keys themselves are never kept).
pub fn key_hash(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}
