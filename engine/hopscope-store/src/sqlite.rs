//! The embedded backend: SQLite in WAL mode, one writer thread committing concurrent writes
//! together, a few reader connections.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    Appended, Attempt, AttemptOutcome, Batch, ConferenceQuery, ConferenceRecord, ConferenceState, Delivery,
    DeliveryState, Evaluation, Feedback, FindingRow, HeldGroup, Input, KeyGrant, KeyKind,
    MAX_RELAY_OBSERVATIONS, Observations, OutboxEntry, RELAY_INPUT, Result, RuleFile, Store, StoreError,
    Summary, key_hash,
};

/// Writes waiting for the writer beyond this block their callers (back-pressure).
const WRITE_QUEUE: usize = 4096;
/// Most writes committed in one transaction.
const GROUP_COMMIT_MAX: usize = 512;
const READERS: usize = 4;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    hash TEXT PRIMARY KEY,
    app TEXT NOT NULL REFERENCES apps(name),
    kind TEXT NOT NULL CHECK (kind IN ('ingest', 'secret')),
    label TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    app TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (app, batch_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS observations (
    seq INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    conference TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    -- '' for native observations (NDJSON, read back as one input); otherwise the file
    -- name of an uploaded dump (read back as an input of its own).
    upload TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL -- zstd (gzip in stores written before)
);
CREATE INDEX IF NOT EXISTS observations_by_conference ON observations (app, conference, seq);
-- A conference's uploads without scanning its native observations (read at every live
-- evaluation, which reads only the native observations it has not read yet).
CREATE INDEX IF NOT EXISTS observations_uploads ON observations (app, conference, seq) WHERE upload <> '';
CREATE TABLE IF NOT EXISTS relay_observations (
    seq INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    body BLOB NOT NULL -- zstd NDJSON of TURN observations that named no conference
);
CREATE INDEX IF NOT EXISTS relay_observations_by_time ON relay_observations (app, received_ms);
CREATE TABLE IF NOT EXISTS conferences (
    app TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    first_received_ms INTEGER NOT NULL,
    last_received_ms INTEGER NOT NULL,
    observations INTEGER NOT NULL,
    outcome TEXT,
    summary TEXT, -- JSON
    -- Stores written before stop 18 kept the latest diagnosis here (zstd or gzip JSON); it
    -- moves to `diagnoses` at the conference's next evaluation.
    diagnosis BLOB,
    PRIMARY KEY (app, id)
);
-- Each conference's latest diagnosis (zstd JSON), apart from its row: the row changes with
-- every batch, and SQLite rewrites a whole row, overflow pages included, to change one
-- column (2,500 four-party calls for 40 s wrote 6.2 GB instead of 6.5 once it moved).
CREATE TABLE IF NOT EXISTS diagnoses (
    app TEXT NOT NULL,
    conference TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (app, conference)
);
CREATE INDEX IF NOT EXISTS conferences_by_time ON conferences (app, last_received_ms);
CREATE INDEX IF NOT EXISTS conferences_live ON conferences (state) WHERE state = 'live';
CREATE TABLE IF NOT EXISTS conference_users (
    app TEXT NOT NULL,
    conference TEXT NOT NULL,
    user TEXT NOT NULL,
    participant TEXT NOT NULL,
    PRIMARY KEY (app, conference, user, participant)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS users_by_user ON conference_users (app, user);
CREATE TABLE IF NOT EXISTS findings (
    app TEXT NOT NULL,
    conference TEXT NOT NULL,
    id TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    participant TEXT,
    raised_ms REAL NOT NULL,
    cleared_ms REAL,
    message TEXT NOT NULL,
    PRIMARY KEY (app, conference, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS findings_by_category ON findings (app, category);
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    conference TEXT NOT NULL,
    participant TEXT,
    user TEXT,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT,
    received_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_conference ON feedback (app, conference);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    action TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule TEXT,
    conference TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL,
    UNIQUE (app, action, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_held ON outbox (window_start_ms) WHERE state = 'held';
CREATE INDEX IF NOT EXISTS outbox_by_rule ON outbox (app, action, rule, window_start_ms);
CREATE INDEX IF NOT EXISTS outbox_by_conference ON outbox (app, action, conference, window_start_ms);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    outbox_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL,
    dry_run INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_delivery ON delivery_attempts (outbox_id);
CREATE TABLE IF NOT EXISTS switches (
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    PRIMARY KEY (app, kind, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_files (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The uploaded bytes (YAML, Rhai, or a WASM component); the name predates plugins.
    text BLOB NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (app, name)
) WITHOUT ROWID;
"#;

/// A write the writer thread runs inside its group transaction, answering only after the
/// transaction's fate is known.
trait WriteJob: Send {
    /// Runs the write; false when it failed (and was rolled back to its savepoint).
    fn apply(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the group committed (or did not).
    fn finish(self: Box<Self>, commit: std::result::Result<(), String>);
    /// Answers the caller that the write never reached the writer.
    fn fail(self: Box<Self>, error: StoreError);
}

/// How a write's outcome reaches its caller.
type Answer<R> = Box<dyn FnOnce(Result<R>) + Send>;

/// Starts a write that answers through a callback, and blocks until it does.
fn wait_for<R: Send + 'static>(start: impl FnOnce(Answer<R>)) -> Result<R> {
    let (reply, answer) = mpsc::sync_channel(1);
    // The caller may have given up waiting; nothing to do then.
    start(Box::new(move |r| drop(reply.send(r))));
    answer.recv().map_err(|_| StoreError::WriterGone)?
}

/// What queueing a write does when the writer's queue is full.
enum Room {
    /// Wait for room (callers on blocking threads).
    WaitForIt,
    /// Answer [`StoreError::Busy`] at once (callers on an async runtime).
    NoWait,
}

struct Job<R, F> {
    op: Option<F>,
    result: Option<Result<R>>,
    answer: Answer<R>,
}

impl<R: Send, F: FnOnce(&Connection) -> Result<R> + Send> WriteJob for Job<R, F> {
    fn apply(&mut self, conn: &Connection) -> bool {
        let Some(op) = self.op.take() else { return false };
        let result = op(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: std::result::Result<(), String>) {
        let answer = match (commit, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(r))) => Ok(r),
            (Err(e), _) => Err(StoreError::Commit(e)),
            (Ok(()), None) => Err(StoreError::WriterGone),
        };
        (self.answer)(answer);
    }

    fn fail(self: Box<Self>, error: StoreError) {
        (self.answer)(Err(error));
    }
}

/// SQLite under a data directory.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Option<mpsc::SyncSender<Box<dyn WriteJob>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Dropped to stop the checkpoint thread (after the writer).
    checkpointer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for dyn WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteJob")
    }
}

fn sql(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sql { operation, source }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// zstd at its fastest level: about five times cheaper than deflate for the stats JSON
/// ingest stores (deflate was the largest cost of an ingested batch) at a similar ratio.
const ZSTD_LEVEL: i32 = 1;

thread_local! {
    // A zstd context costs more to set up than a small body costs to compress: each
    // thread keeps one of each way.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// The most a zstd frame may say it holds to be inflated in one go; bigger (or unsaid)
/// sizes are streamed, so a corrupt header cannot ask for a huge allocation.
const MAX_DECLARED_BYTES: u64 = 256 << 20;

fn compress(bytes: &[u8]) -> Vec<u8> {
    let zstd = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        c.as_mut()?.compress(bytes).ok()
    });
    // zstd into memory fails only if its context cannot be allocated; gzip then, which
    // `decompress` reads as well, rather than lose the data.
    zstd.unwrap_or_else(|| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = enc.write_all(bytes);
        enc.finish().unwrap_or_default()
    })
}

/// Inflates what [`compress`] wrote, and gzip as stores before zstd wrote it.
fn decompress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    const GZIP: [u8; 2] = [0x1f, 0x8b];
    const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if bytes.starts_with(&GZIP) {
        let mut out = Vec::with_capacity(bytes.len() * 8);
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    } else if bytes.starts_with(&ZSTD) {
        match zstd::zstd_safe::get_frame_content_size(bytes) {
            Ok(Some(size)) if size <= MAX_DECLARED_BYTES => DECOMPRESSOR.with(|d| {
                let mut d = d.borrow_mut();
                if d.is_none() {
                    *d = Some(zstd::bulk::Decompressor::new()?);
                }
                match d.as_mut() {
                    Some(d) => d.decompress(bytes, size as usize),
                    None => zstd::stream::decode_all(bytes),
                }
            }),
            _ => zstd::stream::decode_all(bytes),
        }
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "neither zstd nor gzip data"))
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let open_err =
        |e: rusqlite::Error| StoreError::Open { path: path.display().to_string(), message: e.to_string() };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(open_err)?;
    // WAL: readers never block the writer. synchronous=FULL: a commit is on disk when
    // it returns, which is what "acknowledged" promises.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(open_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir` (`dir/hopscope.db`).
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Open { path: dir.display().to_string(), message: e.to_string() })?;
        let path = dir.join("hopscope.db");
        let writer_conn = open_connection(&path)?;
        writer_conn
            .execute_batch(SCHEMA)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        // Checkpoints run on their own thread (`checkpoint_loop`); the writer checkpoints
        // only if that one falls this far behind.
        writer_conn
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        let checkpoint_conn = open_connection(&path)?;
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let conn = open_connection(&path)?;
            conn.execute_batch("PRAGMA query_only = ON;")
                .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
            readers.push(Mutex::new(conn));
        }
        let (tx, rx) = mpsc::sync_channel::<Box<dyn WriteJob>>(WRITE_QUEUE);
        let thread = std::thread::Builder::new()
            .name("hopscope-store-writer".into())
            .spawn(move || writer_loop(writer_conn, rx))
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        let (stop_checkpoints, stopped) = mpsc::channel();
        let checkpoint_thread = std::thread::Builder::new()
            .name("hopscope-store-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, stopped))
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        Ok(SqliteStore {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            checkpointer: Mutex::new(Some((stop_checkpoints, checkpoint_thread))),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn stop_writer(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Ok(mut t) = self.writer_thread.lock()
            && let Some(handle) = t.take()
        {
            let _ = handle.join();
        }
        if let Ok(mut c) = self.checkpointer.lock()
            && let Some((stop, handle)) = c.take()
        {
            drop(stop);
            let _ = handle.join();
        }
    }

    /// Runs a write on the writer thread and waits for its group commit. Called from
    /// blocking threads, it waits for room in a full queue.
    fn write<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        wait_for(|answer| self.queue(op, answer, Room::WaitForIt))
    }

    /// Queues a write for the writer thread; `answer` hears its fate after the group
    /// commit, or at once when the writer is gone (or, with [`Room::NoWait`], when its
    /// queue is full).
    fn queue<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
        answer: Answer<R>,
        room: Room,
    ) {
        let sender = match self.writer.lock() {
            Ok(guard) => guard.clone(),
            Err(_) => None,
        };
        let Some(sender) = sender else { return answer(Err(StoreError::WriterGone)) };
        let job: Box<dyn WriteJob> = Box::new(Job { op: Some(op), result: None, answer });
        let refused = match room {
            Room::WaitForIt => sender.send(job).err().map(|e| (e.0, StoreError::WriterGone)),
            Room::NoWait => sender.try_send(job).err().map(|e| match e {
                mpsc::TrySendError::Full(job) => (job, StoreError::Busy { queued: WRITE_QUEUE }),
                mpsc::TrySendError::Disconnected(job) => (job, StoreError::WriterGone),
            }),
        };
        if let Some((job, error)) = refused {
            job.fail(error);
        }
    }

    /// Compresses a batch here (the writer's time is the scarce resource), then queues
    /// its write.
    fn append_with(&self, batch: Batch, done: Answer<Appended>, room: Room) {
        let parts: Vec<_> = batch.parts.iter().map(|p| compress(&p.ndjson)).collect();
        let unfiled = (!batch.unfiled.is_empty()).then(|| compress(&batch.unfiled));
        let write = move |conn: &Connection| {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO batches (app, batch_id, received_ms) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql("prepare batch"))?
                .execute(params![batch.app, batch.batch_id, batch.received_ms])
                .map_err(sql("record a batch"))?;
            if inserted == 0 {
                return Ok(Appended::Duplicate);
            }
            for (part, body) in batch.parts.iter().zip(parts) {
                conn.prepare_cached(
                    "INSERT INTO observations (app, conference, received_ms, count, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql("prepare observations"))?
                .execute(params![batch.app, part.conference, batch.received_ms, part.observations, body])
                .map_err(sql("store observations"))?;
                conn.prepare_cached(
                    "INSERT INTO conferences (app, id, state, first_received_ms, last_received_ms, observations)
                     VALUES (?1, ?2, 'live', ?3, ?3, ?4)
                     ON CONFLICT (app, id) DO UPDATE SET
                        last_received_ms = max(last_received_ms, excluded.last_received_ms),
                        observations = observations + excluded.observations",
                )
                .map_err(sql("prepare conference"))?
                .execute(params![batch.app, part.conference, batch.received_ms, part.observations])
                .map_err(sql("record a conference"))?;
                // Apart, so that the usual batch (to a live conference) leaves the index of
                // live conferences alone: SQLite updates an index when the statement sets any
                // of its columns, even to the same value.
                conn.prepare_cached(
                    "UPDATE conferences SET state = 'live' WHERE app = ?1 AND id = ?2 AND state <> 'live'",
                )
                .map_err(sql("prepare conference state"))?
                .execute(params![batch.app, part.conference])
                .map_err(sql("reopen a conference"))?;
                for (user, participant) in &part.users {
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO conference_users (app, conference, user, participant) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(sql("prepare users"))?
                    .execute(params![batch.app, part.conference, user, participant])
                    .map_err(sql("record a user"))?;
                }
            }
            if let Some(body) = unfiled {
                conn.prepare_cached(
                    "INSERT INTO relay_observations (app, received_ms, count, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql("prepare relay observations"))?
                .execute(params![batch.app, batch.received_ms, batch.unfiled_observations, body])
                .map_err(sql("store relay observations"))?;
            }
            Ok(Appended::Stored)
        };
        self.queue(write, done, room);
    }

    fn read<R>(&self, op: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        // A poisoned reader only means another reader panicked mid-query; the connection
        // itself is fine.
        let conn = match self.readers[i].lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        op(&conn)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop_writer();
    }
}

/// How often the checkpoint thread copies committed pages from the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// The WAL size, in pages, at which the writer checkpoints itself: only if the checkpoint
/// thread falls behind (64 MiB of 4 KiB pages; SQLite's default is 1,000).
const WRITER_CHECKPOINT_PAGES: i64 = 16_384;

/// Copies committed pages from the WAL into the database, off the writer's thread. A
/// checkpoint copies every page a commit wrote; run by the writer (SQLite's default), it
/// delayed the commits queued behind it: 8 % of the server's CPU at 2,500 four-party calls,
/// all of it in front of acknowledgements. A passive checkpoint never blocks the writer or
/// readers; it stops when `stop` is dropped.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        // Busy (another checkpoint, or one at close) only means it is done elsewhere.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(%error, "checkpoint skipped");
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_COMMIT_MAX {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let message = e.to_string();
            for job in jobs {
                job.finish(Err(message.clone()));
            }
            continue;
        }
        for job in jobs.iter_mut() {
            // Each write in its own savepoint: one failing write does not take the
            // others in its group down with it.
            if conn.execute_batch("SAVEPOINT w").is_err() {
                continue;
            }
            if job.apply(&conn) {
                let _ = conn.execute_batch("RELEASE w");
            } else {
                let _ = conn.execute_batch("ROLLBACK TO w; RELEASE w");
            }
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in jobs {
            job.finish(commit.clone());
        }
    }
    tracing::debug!("store writer stopped");
}

fn conference_record(conn: &Connection, app: &str, id: &str) -> Result<Option<ConferenceRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT state, first_received_ms, last_received_ms, observations, summary
             FROM conferences WHERE app = ?1 AND id = ?2",
        )
        .map_err(sql("prepare conference lookup"))?
        .query_row(params![app, id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()
        .map_err(sql("look up a conference"))?;
    let Some((state, first, last, observations, summary)) = row else { return Ok(None) };
    let users = conn
        .prepare_cached(
            "SELECT DISTINCT user FROM conference_users WHERE app = ?1 AND conference = ?2 ORDER BY user",
        )
        .map_err(sql("prepare users lookup"))?
        .query_map(params![app, id], |r| r.get::<_, String>(0))
        .map_err(sql("read users"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql("read users"))?;
    let summary = match summary {
        Some(text) => Some(serde_json::from_str::<Summary>(&text).map_err(|e| StoreError::Corrupt {
            what: "summary",
            app: app.into(),
            conference: id.into(),
            message: e.to_string(),
        })?),
        None => None,
    };
    Ok(Some(ConferenceRecord {
        app: app.into(),
        id: id.into(),
        state: ConferenceState::parse(&state),
        first_received_ms: first,
        last_received_ms: last,
        observations: observations.max(0) as u64,
        users,
        summary,
    }))
}

impl Store for SqliteStore {
    fn ensure_app(&self, app: &str) -> Result<()> {
        let app = app.to_string();
        self.write(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO apps (name, created_ms) VALUES (?1, ?2)",
                params![app, now_ms()],
            )
            .map_err(sql("create an app"))?;
            Ok(())
        })
    }

    fn apps(&self) -> Result<Vec<String>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT name FROM apps ORDER BY name")
                .map_err(sql("prepare apps"))?
                .query_map([], |r| r.get(0))
                .map_err(sql("list apps"))?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(sql("list apps"))
        })
    }

    fn add_key(&self, app: &str, kind: KeyKind, key: &str, label: &str) -> Result<()> {
        let (app, hash, label) = (app.to_string(), key_hash(key), label.to_string());
        self.write(move |conn| {
            let known: bool = conn
                .query_row("SELECT 1 FROM apps WHERE name = ?1", params![app], |_| Ok(true))
                .optional()
                .map_err(sql("look up an app"))?
                .unwrap_or(false);
            if !known {
                return Err(StoreError::Unknown { what: "app", name: app });
            }
            conn.execute(
                "INSERT INTO keys (hash, app, kind, label, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (hash) DO UPDATE SET app = excluded.app, kind = excluded.kind, label = excluded.label",
                params![hash, app, kind.as_str(), label, now_ms()],
            )
            .map_err(sql("add a key"))?;
            Ok(())
        })
    }

    fn resolve_key(&self, key: &str) -> Result<Option<KeyGrant>> {
        let hash = key_hash(key);
        self.read(|conn| {
            let row = conn
                .prepare_cached("SELECT app, kind FROM keys WHERE hash = ?1")
                .map_err(sql("prepare key lookup"))?
                .query_row(params![hash], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .optional()
                .map_err(sql("look up a key"))?;
            Ok(row.and_then(|(app, kind)| KeyKind::parse(&kind).map(|kind| KeyGrant { app, kind })))
        })
    }

    fn key_count(&self, app: &str) -> Result<u64> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM keys WHERE app = ?1", params![app], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(sql("count keys"))
        })
    }

    fn append(&self, batch: Batch) -> Result<Appended> {
        wait_for(|answer| self.append_with(batch, answer, Room::WaitForIt))
    }

    fn append_then(&self, batch: Batch, done: Box<dyn FnOnce(Result<Appended>) + Send>) {
        // An async caller must not block: a full queue is its signal to back off.
        self.append_with(batch, done, Room::NoWait);
    }

    fn observations_after(&self, app: &str, conference: &str, after: i64) -> Result<Observations> {
        // One statement, so the native rows and the uploads are of one moment; each half
        // reads its own index range, not every row of the conference.
        let rows: Vec<(i64, String, Vec<u8>)> = self.read(|conn| {
            conn.prepare_cached(
                "SELECT seq, upload, body FROM observations WHERE app = ?1 AND conference = ?2 AND seq > ?3
                 UNION ALL
                 SELECT seq, upload, body FROM observations
                 WHERE app = ?1 AND conference = ?2 AND seq <= ?3 AND upload <> ''
                 ORDER BY seq",
            )
            .map_err(sql("prepare observations"))?
            .query_map(params![app, conference, after], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql("read observations"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read observations"))
        })?;
        let mut out = Observations { through: after, ..Observations::default() };
        for (seq, upload, body) in rows {
            let bytes = decompress(&body).map_err(|e| StoreError::Corrupt {
                what: "observations",
                app: app.into(),
                conference: conference.into(),
                message: e.to_string(),
            })?;
            if upload.is_empty() {
                out.native.extend_from_slice(&bytes);
                out.through = out.through.max(seq);
            } else {
                out.uploads.push(Input { name: upload, bytes });
            }
        }
        Ok(out)
    }

    fn relay_observations(&self, app: &str, from_ms: i64, to_ms: i64) -> Result<Option<Input>> {
        let rows: Vec<Vec<u8>> = self.read(|conn| {
            conn.prepare_cached(
                // Newest first until the cap: `newer` counts the observations of this row
                // and every newer one, so the row that crosses the cap is read whole.
                "SELECT body FROM (SELECT seq, body, count,
                                          SUM(count) OVER (ORDER BY seq DESC) AS newer
                                   FROM relay_observations
                                   WHERE app = ?1 AND received_ms BETWEEN ?2 AND ?3)
                 WHERE newer - count < ?4
                 ORDER BY seq",
            )
            .map_err(sql("prepare relay observations"))?
            .query_map(params![app, from_ms, to_ms, MAX_RELAY_OBSERVATIONS], |r| r.get(0))
            .map_err(sql("read relay observations"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read relay observations"))
        })?;
        let mut bytes = Vec::new();
        for body in rows {
            bytes.extend(decompress(&body).map_err(|e| StoreError::Corrupt {
                what: "relay observations",
                app: app.into(),
                conference: format!("(no conference, received {from_ms}..{to_ms} ms)"),
                message: e.to_string(),
            })?);
        }
        Ok((!bytes.is_empty()).then(|| Input { name: RELAY_INPUT.to_string(), bytes }))
    }

    fn store_upload(&self, app: &str, conference: &str, input: Input, received_ms: i64) -> Result<()> {
        let (app, conference) = (app.to_string(), conference.to_string());
        let body = compress(&input.bytes);
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO observations (app, conference, received_ms, count, upload, body) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                params![app, conference, received_ms, input.name, body],
            )
            .map_err(sql("store an upload"))?;
            conn.execute(
                "INSERT INTO conferences (app, id, state, first_received_ms, last_received_ms, observations)
                 VALUES (?1, ?2, 'live', ?3, ?3, 1)
                 ON CONFLICT (app, id) DO UPDATE SET
                    last_received_ms = max(last_received_ms, excluded.last_received_ms),
                    observations = observations + 1",
                params![app, conference, received_ms],
            )
            .map_err(sql("record a conference"))?;
            Ok(())
        })
    }

    fn save_evaluation(&self, evaluation: Evaluation) -> Result<()> {
        let summary = serde_json::to_string(&evaluation.summary).unwrap_or_default();
        let diagnosis = compress(&evaluation.diagnosis_json);
        self.write(move |conn| {
            let e = &evaluation;
            let state = if e.ended { ConferenceState::Ended } else { ConferenceState::Live };
            let changed = conn
                .prepare_cached(
                    "UPDATE conferences SET state = ?3, outcome = ?4, summary = ?5, diagnosis = NULL
                     WHERE app = ?1 AND id = ?2",
                )
                .map_err(sql("prepare an evaluation"))?
                .execute(params![e.app, e.conference, state.sql(), e.summary.outcome, summary])
                .map_err(sql("save an evaluation"))?;
            if changed == 0 {
                return Err(StoreError::Unknown { what: "conference", name: e.conference.clone() });
            }
            conn.prepare_cached("INSERT OR REPLACE INTO diagnoses (app, conference, body) VALUES (?1, ?2, ?3)")
                .map_err(sql("prepare a diagnosis"))?
                .execute(params![e.app, e.conference, diagnosis])
                .map_err(sql("save a diagnosis"))?;
            conn.execute("DELETE FROM findings WHERE app = ?1 AND conference = ?2", params![e.app, e.conference])
                .map_err(sql("replace findings"))?;
            for f in &e.findings {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO findings
                     (app, conference, id, rule, severity, category, participant, raised_ms, cleared_ms, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql("prepare findings"))?
                .execute(params![
                    e.app,
                    e.conference,
                    f.id,
                    f.rule,
                    f.severity,
                    f.category,
                    f.participant,
                    f.raised_ms,
                    f.cleared_ms,
                    f.message
                ])
                .map_err(sql("store a finding"))?;
            }
            Ok(())
        })
    }

    fn live_conferences(&self) -> Result<Vec<ConferenceRecord>> {
        let ids: Vec<(String, String)> = self.read(|conn| {
            conn.prepare_cached(
                "SELECT app, id FROM conferences WHERE state = 'live' ORDER BY last_received_ms",
            )
            .map_err(sql("prepare live conferences"))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql("list live conferences"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("list live conferences"))
        })?;
        let mut out = Vec::new();
        for (app, id) in ids {
            if let Some(r) = self.conference(&app, &id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn conference(&self, app: &str, id: &str) -> Result<Option<ConferenceRecord>> {
        self.read(|conn| conference_record(conn, app, id))
    }

    fn diagnosis(&self, app: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let body: Option<Option<Vec<u8>>> = self.read(|conn| {
            conn.query_row(
                // A store written before kept it in the conference's row.
                "SELECT coalesce(d.body, c.diagnosis) FROM conferences c
                 LEFT JOIN diagnoses d ON d.app = c.app AND d.conference = c.id
                 WHERE c.app = ?1 AND c.id = ?2",
                params![app, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read a diagnosis"))
        })?;
        match body.flatten() {
            None => Ok(None),
            Some(bytes) => decompress(&bytes).map(Some).map_err(|e| StoreError::Corrupt {
                what: "diagnosis",
                app: app.into(),
                conference: id.into(),
                message: e.to_string(),
            }),
        }
    }

    fn findings(&self, app: &str, id: &str) -> Result<Vec<FindingRow>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, rule, severity, category, participant, raised_ms, cleared_ms, message
                 FROM findings WHERE app = ?1 AND conference = ?2 ORDER BY raised_ms, id",
            )
            .map_err(sql("prepare findings"))?
            .query_map(params![app, id], |r| {
                Ok(FindingRow {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    severity: r.get(2)?,
                    category: r.get(3)?,
                    participant: r.get(4)?,
                    raised_ms: r.get(5)?,
                    cleared_ms: r.get(6)?,
                    message: r.get(7)?,
                    actions: Vec::new(),
                })
            })
            .map_err(sql("read findings"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read findings"))
        })
    }

    fn conferences(&self, app: &str, q: &ConferenceQuery) -> Result<Vec<ConferenceRecord>> {
        let limit = q.limit.unwrap_or(50).clamp(1, 1000) as i64;
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT c.id FROM conferences c
                     WHERE c.app = ?1
                       AND (?2 IS NULL OR c.last_received_ms >= ?2)
                       AND (?3 IS NULL OR c.first_received_ms < ?3)
                       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM conference_users u
                                                  WHERE u.app = c.app AND u.conference = c.id AND u.user = ?4))
                       AND (?5 IS NULL OR c.outcome = ?5)
                       AND (?6 IS NULL OR EXISTS (SELECT 1 FROM findings f
                                                  WHERE f.app = c.app AND f.conference = c.id AND f.category = ?6))
                       AND (?7 IS NULL OR c.state = ?7)
                     ORDER BY c.last_received_ms DESC, c.id
                     LIMIT ?8",
                )
                .map_err(sql("prepare conference query"))?;
            let ids = stmt.query_map(
                params![
                    app,
                    q.from_ms,
                    q.to_ms,
                    q.user,
                    q.outcome,
                    q.category,
                    q.state.map(ConferenceState::sql),
                    limit
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(sql("query conferences"))?;
            let ids = ids.collect::<rusqlite::Result<Vec<_>>>().map_err(sql("query conferences"))?;
            // The records on the same connection and snapshot as the ids.
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = conference_record(conn, app, &id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    fn add_feedback(&self, app: &str, feedback: Feedback) -> Result<()> {
        let app = app.to_string();
        self.write(move |conn| {
            let f = &feedback;
            conn.execute(
                "INSERT INTO feedback (app, conference, participant, user, rating, comment, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![app, f.conference, f.participant, f.user, f.rating, f.comment, f.received_ms],
            )
            .map_err(sql("store feedback"))?;
            Ok(())
        })
    }

    fn feedback(&self, app: &str, conference: &str) -> Result<Vec<Feedback>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT participant, user, rating, comment, received_ms FROM feedback
                 WHERE app = ?1 AND conference = ?2 ORDER BY seq",
            )
            .map_err(sql("prepare feedback"))?
            .query_map(params![app, conference], |r| {
                Ok(Feedback {
                    conference: conference.to_string(),
                    participant: r.get(0)?,
                    user: r.get(1)?,
                    rating: r.get(2)?,
                    comment: r.get(3)?,
                    received_ms: r.get(4)?,
                })
            })
            .map_err(sql("read feedback"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read feedback"))
        })
    }

    fn purge_before(&self, cutoff_ms: i64) -> Result<u64> {
        self.write(move |conn| {
            let doomed = "SELECT app, id FROM conferences WHERE state = 'ended' AND last_received_ms < ?1";
            for table in ["observations", "conference_users", "findings", "feedback", "diagnoses"] {
                conn.execute(
                    &format!("DELETE FROM {table} WHERE (app, conference) IN ({doomed})"),
                    params![cutoff_ms],
                )
                .map_err(sql("purge attached data"))?;
            }
            let n = conn
                .execute(
                    "DELETE FROM conferences WHERE state = 'ended' AND last_received_ms < ?1",
                    params![cutoff_ms],
                )
                .map_err(sql("purge conferences"))?;
            conn.execute("DELETE FROM batches WHERE received_ms < ?1", params![cutoff_ms])
                .map_err(sql("purge batch ids"))?;
            conn.execute("DELETE FROM relay_observations WHERE received_ms < ?1", params![cutoff_ms])
                .map_err(sql("purge relay observations"))?;
            Ok(n as u64)
        })
    }

    fn put_rule_file(&self, app: &str, name: &str, content: &[u8]) -> Result<RuleFile> {
        let (app, name, content) = (app.to_string(), name.to_string(), content.to_vec());
        self.write(move |conn| {
            let now = now_ms();
            conn.execute(
                "INSERT INTO rule_files (app, name, text, enabled, version, updated_ms) VALUES (?1, ?2, ?3, 1, 1, ?4)
                 ON CONFLICT (app, name) DO UPDATE SET text = excluded.text, enabled = 1,
                    version = version + 1, updated_ms = excluded.updated_ms",
                params![app, name, content, now],
            )
            .map_err(sql("store a rule file"))?;
            let version: u32 = conn
                .query_row("SELECT version FROM rule_files WHERE app = ?1 AND name = ?2", params![app, name], |r| r.get(0))
                .map_err(sql("read a rule file version"))?;
            let size = content.len();
            Ok(RuleFile { name, content, size, enabled: true, version, updated_ms: now })
        })
    }

    fn rule_files(&self, app: &str) -> Result<Vec<RuleFile>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT name, text, enabled, version, updated_ms FROM rule_files WHERE app = ?1 ORDER BY name")
                .map_err(sql("prepare rule files"))?
                .query_map(params![app], |r| {
                    // Text from before plugins were stored here, bytes since.
                    let content = match r.get_ref(1)? {
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.to_vec(),
                        _ => Vec::new(),
                    };
                    Ok(RuleFile {
                        name: r.get(0)?,
                        size: content.len(),
                        content,
                        enabled: r.get::<_, i64>(2)? != 0,
                        version: r.get(3)?,
                        updated_ms: r.get(4)?,
                    })
                })
                .map_err(sql("read rule files"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("read rule files"))
        })
    }

    fn set_rule_file_enabled(&self, app: &str, name: &str, enabled: bool) -> Result<bool> {
        let (app, name) = (app.to_string(), name.to_string());
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE rule_files SET enabled = ?3, updated_ms = ?4 WHERE app = ?1 AND name = ?2",
                    params![app, name, enabled as i64, now_ms()],
                )
                .map_err(sql("switch a rule file"))?;
            Ok(n > 0)
        })
    }

    fn delete_rule_file(&self, app: &str, name: &str) -> Result<bool> {
        let (app, name) = (app.to_string(), name.to_string());
        self.write(move |conn| {
            let n = conn
                .execute("DELETE FROM rule_files WHERE app = ?1 AND name = ?2", params![app, name])
                .map_err(sql("delete a rule file"))?;
            Ok(n > 0)
        })
    }

    fn enqueue(&self, app: &str, entries: Vec<OutboxEntry>, now_ms: i64) -> Result<Vec<DeliveryState>> {
        let app = app.to_string();
        self.write(move |conn| {
            let mut states = Vec::new();
            for e in &entries {
                let window = if e.window_ms > 0 { now_ms - now_ms.rem_euclid(e.window_ms) } else { now_ms };
                let count = |column: &str, value: &Option<String>| -> Result<u32> {
                    let Some(v) = value else { return Ok(0) };
                    conn.query_row(
                        &format!(
                            "SELECT count(*) FROM outbox WHERE app = ?1 AND action = ?2 AND {column} = ?3
                             AND window_start_ms = ?4 AND kind != 'summary'"
                        ),
                        params![app, e.action, v, window],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| n.max(0) as u32)
                    .map_err(sql("count events for a rate limit"))
                };
                let over = (e.limit_per_rule > 0 && count("rule", &e.rule)? >= e.limit_per_rule)
                    || (e.limit_per_conference > 0 && count("conference", &e.conference)? >= e.limit_per_conference);
                let state = if over { DeliveryState::Held } else { DeliveryState::Pending };
                let inserted = conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO outbox
                         (app, action, event_id, kind, rule, conference, payload, state, next_attempt_ms, created_ms, window_start_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                    )
                    .map_err(sql("prepare outbox"))?
                    .execute(params![
                        app,
                        e.action,
                        e.event_id,
                        e.kind,
                        e.rule,
                        e.conference,
                        e.payload,
                        state.as_str(),
                        now_ms,
                        window
                    ])
                    .map_err(sql("enqueue an event"))?;
                if inserted > 0 {
                    states.push(state);
                }
            }
            Ok(states)
        })
    }

    fn due_deliveries(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?1
                 ORDER BY next_attempt_ms, id LIMIT ?2"
            ))
            .map_err(sql("prepare due deliveries"))?
            .query_map(params![now_ms, limit], delivery_row)
            .map_err(sql("read due deliveries"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read due deliveries"))
        })
    }

    fn record_attempt(&self, id: i64, attempt: Attempt, outcome: AttemptOutcome) -> Result<()> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO delivery_attempts (outbox_id, at_ms, status, error, duration_ms, dry_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, attempt.at_ms, attempt.status, attempt.error, attempt.duration_ms, attempt.dry_run as i64],
            )
            .map_err(sql("audit an attempt"))?;
            let (state, next) = match outcome {
                AttemptOutcome::Delivered => (DeliveryState::Delivered, attempt.at_ms),
                AttemptOutcome::RetryAt(t) => (DeliveryState::Pending, t),
                AttemptOutcome::Dead => (DeliveryState::Dead, attempt.at_ms),
            };
            conn.execute(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, next_attempt_ms = ?3, last_error = ?4 WHERE id = ?1",
                params![id, state.as_str(), next, attempt.error],
            )
            .map_err(sql("move a delivery on"))?;
            Ok(())
        })
    }

    fn deliveries(&self, app: &str, state: Option<DeliveryState>, limit: u32) -> Result<Vec<Delivery>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app = ?1 AND (?2 IS NULL OR state = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(sql("prepare deliveries"))?
            .query_map(params![app, state.map(DeliveryState::as_str), limit.clamp(1, 1000)], delivery_row)
            .map_err(sql("read deliveries"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read deliveries"))
        })
    }

    fn delivery(&self, app: &str, id: i64) -> Result<Option<(Delivery, Vec<Attempt>)>> {
        self.read(|conn| {
            let d = conn
                .prepare_cached(&format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app = ?1 AND id = ?2"))
                .map_err(sql("prepare a delivery"))?
                .query_row(params![app, id], delivery_row)
                .optional()
                .map_err(sql("read a delivery"))?;
            let Some(d) = d else { return Ok(None) };
            let attempts = conn
                .prepare_cached(
                    "SELECT at_ms, status, error, duration_ms, dry_run FROM delivery_attempts
                     WHERE outbox_id = ?1 ORDER BY at_ms, rowid",
                )
                .map_err(sql("prepare attempts"))?
                .query_map(params![id], |r| {
                    Ok(Attempt {
                        at_ms: r.get(0)?,
                        status: r.get(1)?,
                        error: r.get(2)?,
                        duration_ms: r.get(3)?,
                        dry_run: r.get::<_, i64>(4)? != 0,
                    })
                })
                .map_err(sql("read attempts"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("read attempts"))?;
            Ok(Some((d, attempts)))
        })
    }

    fn retry_delivery(&self, app: &str, id: i64, now_ms: i64) -> Result<bool> {
        let app = app.to_string();
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE outbox SET state = 'pending', next_attempt_ms = ?3 WHERE app = ?1 AND id = ?2 AND state = 'dead'",
                    params![app, id, now_ms],
                )
                .map_err(sql("retry a delivery"))?;
            Ok(n > 0)
        })
    }

    fn held_groups(&self, cutoff_ms: i64) -> Result<Vec<HeldGroup>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT app, action, coalesce(rule, ''), window_start_ms, count(*),
                        group_concat(DISTINCT conference)
                 FROM outbox WHERE state = 'held' AND window_start_ms <= ?1
                 GROUP BY app, action, coalesce(rule, ''), window_start_ms
                 ORDER BY window_start_ms",
            )
            .map_err(sql("prepare held events"))?
            .query_map(params![cutoff_ms], |r| {
                let conferences: Option<String> = r.get(5)?;
                Ok(HeldGroup {
                    app: r.get(0)?,
                    action: r.get(1)?,
                    rule: r.get(2)?,
                    window_start_ms: r.get(3)?,
                    count: r.get::<_, i64>(4)?.max(0) as u32,
                    conferences: conferences
                        .map(|c| c.split(',').take(10).map(str::to_string).collect())
                        .unwrap_or_default(),
                })
            })
            .map_err(sql("read held events"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read held events"))
        })
    }

    fn summarize_held(&self, group: &HeldGroup, summary: OutboxEntry, now_ms: i64) -> Result<()> {
        let g = group.clone();
        self.write(move |conn| {
            conn.execute(
                "UPDATE outbox SET state = 'summarized'
                 WHERE state = 'held' AND app = ?1 AND action = ?2 AND coalesce(rule, '') = ?3 AND window_start_ms = ?4",
                params![g.app, g.action, g.rule, g.window_start_ms],
            )
            .map_err(sql("mark held events"))?;
            conn.execute(
                "INSERT OR IGNORE INTO outbox
                 (app, action, event_id, kind, rule, conference, payload, state, next_attempt_ms, created_ms, window_start_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, 'pending', ?7, ?7, ?7)",
                params![g.app, summary.action, summary.event_id, summary.kind, summary.rule, summary.payload, now_ms],
            )
            .map_err(sql("enqueue a summary"))?;
            Ok(())
        })
    }

    fn set_switch(&self, app: &str, kind: &str, name: &str, enabled: bool) -> Result<()> {
        let (app, kind, name) = (app.to_string(), kind.to_string(), name.to_string());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO switches (app, kind, name, enabled) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (app, kind, name) DO UPDATE SET enabled = excluded.enabled",
                params![app, kind, name, enabled as i64],
            )
            .map_err(sql("set a switch"))?;
            Ok(())
        })
    }

    fn switches_off(&self, app: &str) -> Result<Vec<(String, String)>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT kind, name FROM switches WHERE app = ?1 AND enabled = 0 ORDER BY kind, name",
            )
            .map_err(sql("prepare switches"))?
            .query_map(params![app], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql("read switches"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read switches"))
        })
    }

    fn close(&self) {
        self.stop_writer();
    }
}

const DELIVERY_COLUMNS: &str = "id, app, action, event_id, kind, rule, conference, state, attempts, next_attempt_ms, last_error, created_ms, payload";

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = r.get(7)?;
    Ok(Delivery {
        id: r.get(0)?,
        app: r.get(1)?,
        action: r.get(2)?,
        event_id: r.get(3)?,
        kind: r.get(4)?,
        rule: r.get(5)?,
        conference: r.get(6)?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: r.get(8)?,
        next_attempt_ms: r.get(9)?,
        last_error: r.get(10)?,
        created_ms: r.get(11)?,
        payload: r.get(12)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchPart, NATIVE_INPUT};

    fn temp_dir() -> Result<tempfile::TempDir> {
        tempfile::tempdir().map_err(|e| StoreError::Open { path: "tmp".into(), message: e.to_string() })
    }

    /// A store in a fresh directory (kept alive by the returned guard) with the app `prod`.
    fn prod_store() -> Result<(tempfile::TempDir, SqliteStore)> {
        let dir = temp_dir()?;
        let store = SqliteStore::open(dir.path())?;
        store.ensure_app("prod")?;
        Ok((dir, store))
    }

    /// Committed pages reach the database file through the checkpoint thread, well before
    /// the writer's own checkpoint threshold, and everything is still read back.
    #[test]
    fn the_checkpoint_thread_copies_commits_into_the_database() -> Result<()> {
        let (dir, store) = prod_store()?;
        let db = dir.path().join("hopscope.db");
        let db_len = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        // Let the checkpoint thread catch up with the schema first.
        std::thread::sleep(CHECKPOINT_EVERY * 5);
        let before = db_len();
        // Incompressible, so that each batch takes about a page once compressed.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in 0..50 {
            let noise: String = (0..3000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'a' + (state % 26) as u8)
                })
                .collect();
            let line = format!(r#"{{"payload":"{noise}"}}"#);
            store.append(batch(&format!("b{i}"), "c1", &[&line], None))?;
        }
        // 50 commits of a page or two each: far below WRITER_CHECKPOINT_PAGES, so only the
        // checkpoint thread can have grown the file.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while db_len() <= before + 50 * 3000 / 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(CHECKPOINT_EVERY);
        }
        assert!(db_len() > before + 50 * 3000 / 2, "database file {} bytes, was {before}", db_len());
        assert_eq!(store.conference("prod", "c1")?.map(|c| c.observations), Some(50));
        Ok(())
    }

    /// With the writer stalled and its queue full, an async caller's append is refused at
    /// once with `Busy` (it does not block); once the writer moves, everything queued is
    /// committed and a retried append is stored.
    #[test]
    fn a_full_write_queue_refuses_appends_at_once_and_loses_nothing_queued() -> Result<()> {
        let (_dir, store) = prod_store()?;
        let (release, stalled) = mpsc::channel::<()>();
        let (started, writer_busy) = mpsc::channel::<()>();
        // Holds the writer inside its transaction until released.
        store.queue(
            move |_conn: &Connection| {
                let _ = started.send(());
                let _ = stalled.recv();
                Ok(())
            },
            Box::new(|_| {}),
            Room::NoWait,
        );
        writer_busy.recv().map_err(|_| StoreError::WriterGone)?;
        let (done, answers) = mpsc::channel();
        for i in 0..WRITE_QUEUE {
            let done = done.clone();
            let line = format!(r#"{{"n":{i}}}"#);
            store.append_then(
                batch(&format!("b{i}"), "c1", &[&line], None),
                Box::new(move |r| drop(done.send(r))),
            );
        }
        let (refused, answer) = mpsc::channel();
        store.append_then(
            batch("one-too-many", "c1", &["{}"], None),
            Box::new(move |r| drop(refused.send(r))),
        );
        match answer.try_recv() {
            Ok(Err(StoreError::Busy { queued })) => assert_eq!(queued, WRITE_QUEUE),
            other => panic!("expected an immediate Busy, got {other:?}"),
        }
        drop(release);
        for _ in 0..WRITE_QUEUE {
            assert_eq!(answers.recv().map_err(|_| StoreError::WriterGone)??, Appended::Stored);
        }
        assert_eq!(store.append(batch("one-too-many", "c1", &["{}"], None))?, Appended::Stored);
        let stored = store.conference("prod", "c1")?.map(|c| c.observations);
        assert_eq!(stored, Some(WRITE_QUEUE as u64 + 1));
        Ok(())
    }

    fn batch(id: &str, conference: &str, lines: &[&str], user: Option<&str>) -> Batch {
        Batch {
            app: "prod".into(),
            batch_id: id.into(),
            received_ms: 1_000,
            parts: vec![BatchPart {
                conference: conference.into(),
                ndjson: lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes(),
                observations: lines.len() as u32,
                users: user.map(|u| (u.to_string(), "alice".to_string())).into_iter().collect(),
            }],
            ..Batch::default()
        }
    }

    #[test]
    fn batches_are_stored_once_and_read_back_in_order() -> Result<()> {
        let (_dir, store) = prod_store()?;
        assert_eq!(
            store.append(batch("b1", "c1", &["{\"a\":1}", "{\"a\":2}"], Some("u1")))?,
            Appended::Stored
        );
        assert_eq!(store.append(batch("b2", "c1", &["{\"a\":3}"], None))?, Appended::Stored);
        assert_eq!(
            store.append(batch("b1", "c1", &["{\"a\":1}", "{\"a\":2}"], Some("u1")))?,
            Appended::Duplicate
        );
        let inputs = store.observations("prod", "c1")?;
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].bytes, b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        store.store_upload("prod", "c1", Input { name: "bob.rtcstats".into(), bytes: b"x".to_vec() }, 5)?;
        let inputs = store.observations("prod", "c1")?;
        assert_eq!(
            inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            [NATIVE_INPUT, "bob.rtcstats"]
        );
        let record = store.conference("prod", "c1")?.ok_or(StoreError::WriterGone)?;
        assert_eq!(record.observations, 4, "three observations and one upload");
        assert_eq!(record.users, vec!["u1".to_string()]);
        assert_eq!(record.state, ConferenceState::Live);
        // Another app sees nothing.
        assert!(store.conference("staging", "c1")?.is_none());
        assert!(store.observations("staging", "c1")?.is_empty());
        // Read in steps: each native observation once, the upload every time.
        let first = store.observations_after("prod", "c1", 0)?;
        assert_eq!(first.native, b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        assert_eq!(first.uploads.len(), 1);
        let nothing_new = store.observations_after("prod", "c1", first.through)?;
        assert!(nothing_new.native.is_empty());
        assert_eq!(nothing_new.through, first.through, "nothing read: the position stays");
        assert_eq!(nothing_new.uploads, first.uploads);
        store.append(batch("b3", "c1", &["{\"a\":4}"], None))?;
        let next = store.observations_after("prod", "c1", first.through)?;
        assert_eq!(next.native, b"{\"a\":4}\n");
        assert!(next.through > first.through);
        assert_eq!(store.observations_after("prod", "c1", next.through)?.native, b"");
        assert!(store.observations_after("staging", "c1", 0)?.native.is_empty());
        Ok(())
    }

    /// New bodies are zstd; rows a store wrote before (gzip) still read back; a body that
    /// is neither is reported as corrupt, naming the conference.
    #[test]
    fn compression_reuses_its_contexts_and_reads_frames_with_and_without_a_size() {
        // One thread's contexts serve body after body, each exactly itself again.
        for i in 0..50 {
            let body = format!("{{\"conference\":\"room-{i}\",\"stats\":[{}]}}", "1,".repeat(i * 100) + "2");
            let packed = compress(body.as_bytes());
            assert!(packed.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]), "zstd");
            assert_eq!(decompress(&packed).ok().as_deref(), Some(body.as_bytes()));
        }
        // A frame written by a streaming encoder does not say its size: it streams back.
        let body = b"streamed ".repeat(1000);
        let streamed = zstd::stream::encode_all(&body[..], 1).unwrap_or_default();
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&streamed).ok(), Some(None));
        assert_eq!(decompress(&streamed).ok(), Some(body));
        // A truncated frame is an error, not a panic or a short body.
        let packed = compress(&b"truncated ".repeat(1000));
        assert!(decompress(&packed[..packed.len() / 2]).is_err());
    }

    #[test]
    fn relay_observations_without_a_conference_are_kept_per_app_and_read_by_time() -> Result<()> {
        let (_dir, store) = prod_store()?;
        store.ensure_app("staging")?;
        let relay = |app: &str, id: &str, at: i64, line: &str| Batch {
            app: app.into(),
            batch_id: id.into(),
            received_ms: at,
            parts: Vec::new(),
            unfiled: format!("{line}\n").into_bytes(),
            unfiled_observations: 1,
        };
        store.append(relay("prod", "r1", 1_000, "{\"relay\":1}"))?;
        store.append(relay("prod", "r2", 5_000, "{\"relay\":2}"))?;
        store.append(relay("staging", "r3", 1_000, "{\"relay\":3}"))?;
        // A batch may hold both: its conference part is filed as always.
        let mut both = batch("b1", "c1", &["{\"a\":1}"], None);
        both.unfiled = b"{\"relay\":4}\n".to_vec();
        both.unfiled_observations = 1;
        both.received_ms = 9_000;
        store.append(both)?;
        let read = |from, to| -> Result<Option<String>> {
            Ok(store.relay_observations("prod", from, to)?.map(|i| {
                assert_eq!(i.name, RELAY_INPUT);
                String::from_utf8_lossy(&i.bytes).into_owned()
            }))
        };
        assert_eq!(read(0, 10_000)?.as_deref(), Some("{\"relay\":1}\n{\"relay\":2}\n{\"relay\":4}\n"));
        assert_eq!(read(2_000, 6_000)?.as_deref(), Some("{\"relay\":2}\n"));
        assert_eq!(read(10_000, 20_000)?, None);
        assert_eq!(store.observations("prod", "c1")?[0].bytes, b"{\"a\":1}\n");
        // Retention forgets them with the batch ids.
        store.purge_before(6_000)?;
        assert_eq!(read(0, 10_000)?.as_deref(), Some("{\"relay\":4}\n"));
        // The cap counts observations, not batches: the newest are read, and the batch
        // that crosses the cap is read whole.
        let mut big = relay("prod", "r5", 11_000, "{\"relay\":5}");
        big.unfiled_observations = MAX_RELAY_OBSERVATIONS;
        store.append(big)?;
        store.append(relay("prod", "r6", 12_000, "{\"relay\":6}"))?;
        assert_eq!(read(8_000, 20_000)?.as_deref(), Some("{\"relay\":5}\n{\"relay\":6}\n"));
        Ok(())
    }

    #[test]
    fn bodies_are_zstd_and_older_gzip_rows_still_read() -> Result<()> {
        let (_dir, store) = prod_store()?;
        store.append(batch("b1", "c1", &["{\"a\":1}"], None))?;
        let stored: Vec<u8> = store.read(|conn| {
            conn.query_row("SELECT body FROM observations WHERE conference = 'c1'", [], |r| r.get(0))
                .map_err(sql("read body"))
        })?;
        assert!(stored.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]), "a zstd frame");
        let old = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(b"{\"a\":2}\n")
                .map_err(|e| StoreError::Open { path: "gz".into(), message: e.to_string() })?;
            enc.finish().map_err(|e| StoreError::Open { path: "gz".into(), message: e.to_string() })?
        };
        for (conference, body) in [("c1", old), ("c2", b"garbage".to_vec())] {
            store.write(move |conn| {
                conn.execute(
                    "INSERT INTO observations (app, conference, received_ms, count, upload, body) VALUES ('prod', ?1, 2, 1, '', ?2)",
                    params![conference, body],
                )
                .map_err(sql("insert"))?;
                Ok(())
            })?;
        }
        assert_eq!(store.observations("prod", "c1")?[0].bytes, b"{\"a\":1}\n{\"a\":2}\n");
        match store.observations("prod", "c2") {
            Err(StoreError::Corrupt { conference, message, .. }) => {
                assert_eq!(conference, "c2");
                assert!(message.contains("neither zstd nor gzip"), "{message}");
            }
            other => panic!("expected corrupt data, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn evaluations_findings_queries_and_purge() -> Result<()> {
        let (_dir, store) = prod_store()?;
        store.append(batch("b1", "c1", &["{}"], Some("u1")))?;
        store.append(batch("b2", "c2", &["{}"], Some("u2")))?;
        let finding = FindingRow {
            id: "f1".into(),
            rule: "audio-packet-loss".into(),
            severity: "warning".into(),
            category: "packet-loss".into(),
            participant: Some("alice".into()),
            raised_ms: 5.0,
            cleared_ms: None,
            message: "alice lost audio".into(),
            actions: Vec::new(),
        };
        store.save_evaluation(Evaluation {
            app: "prod".into(),
            conference: "c1".into(),
            ended: true,
            summary: Summary { outcome: "completed".into(), participants: 2, ..Summary::default() },
            findings: vec![finding.clone()],
            diagnosis_json: b"{\"conference\":\"c1\"}".to_vec(),
        })?;
        assert_eq!(store.findings("prod", "c1")?, vec![finding]);
        assert_eq!(store.diagnosis("prod", "c1")?.as_deref(), Some(&b"{\"conference\":\"c1\"}"[..]));
        let by_user =
            store.conferences("prod", &ConferenceQuery { user: Some("u1".into()), ..Default::default() })?;
        assert_eq!(by_user.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1"]);
        let by_category = store.conferences(
            "prod",
            &ConferenceQuery { category: Some("packet-loss".into()), ..Default::default() },
        )?;
        assert_eq!(by_category.len(), 1);
        assert_eq!(store.live_conferences()?.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
        // Unknown conference: an error, not a silent no-op.
        let missing = store.save_evaluation(Evaluation {
            app: "prod".into(),
            conference: "nope".into(),
            ended: true,
            summary: Summary::default(),
            findings: vec![],
            diagnosis_json: vec![],
        });
        assert!(matches!(missing, Err(StoreError::Unknown { .. })));
        store.add_feedback(
            "prod",
            Feedback {
                conference: "c1".into(),
                participant: None,
                user: Some("u1".into()),
                rating: 2,
                comment: Some("echo".into()),
                received_ms: 3,
            },
        )?;
        assert_eq!(store.feedback("prod", "c1")?.len(), 1);
        // Only the ended conference goes, its diagnosis with it.
        assert_eq!(store.purge_before(2_000)?, 1);
        assert!(store.conference("prod", "c1")?.is_none());
        assert!(store.conference("prod", "c2")?.is_some());
        assert_eq!(store.diagnosis("prod", "c1")?, None);
        let left: i64 = store.read(|conn| {
            conn.query_row("SELECT count(*) FROM diagnoses", [], |r| r.get(0)).map_err(sql("count"))
        })?;
        assert_eq!(left, 0);
        Ok(())
    }

    /// A diagnosis is kept apart from its conference's row (which every batch rewrites); a
    /// store written before, with the diagnosis in the row, still reads it until the next
    /// evaluation moves it; and data for an ended conference makes it live again.
    #[test]
    fn diagnoses_are_kept_apart_and_older_rows_still_read() -> Result<()> {
        let (_dir, store) = prod_store()?;
        store.append(batch("b1", "c1", &["{}"], None))?;
        let old = compress(b"{\"written\":\"before\"}");
        store.write(move |conn| {
            conn.execute(
                "UPDATE conferences SET diagnosis = ?1 WHERE app = 'prod' AND id = 'c1'",
                params![old],
            )
            .map_err(sql("write an old diagnosis"))
        })?;
        assert_eq!(store.diagnosis("prod", "c1")?.as_deref(), Some(&b"{\"written\":\"before\"}"[..]));
        store.save_evaluation(Evaluation {
            app: "prod".into(),
            conference: "c1".into(),
            ended: true,
            summary: Summary { outcome: "completed".into(), ..Summary::default() },
            findings: vec![],
            diagnosis_json: b"{\"written\":\"now\"}".to_vec(),
        })?;
        assert_eq!(store.diagnosis("prod", "c1")?.as_deref(), Some(&b"{\"written\":\"now\"}"[..]));
        let in_row: Option<Vec<u8>> = store.read(|conn| {
            conn.query_row("SELECT diagnosis FROM conferences WHERE id = 'c1'", [], |r| r.get(0))
                .map_err(sql("read the row"))
        })?;
        assert_eq!(in_row, None, "the row no longer carries it");
        assert!(store.live_conferences()?.is_empty());
        // New data: live again, with its diagnosis and counts intact.
        store.append(batch("b2", "c1", &["{}", "{}"], None))?;
        assert_eq!(store.live_conferences()?.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1"]);
        let record = store
            .conference("prod", "c1")?
            .ok_or(StoreError::Unknown { what: "conference", name: "c1".into() })?;
        assert_eq!((record.state, record.observations), (ConferenceState::Live, 3));
        assert_eq!(store.diagnosis("prod", "c1")?.as_deref(), Some(&b"{\"written\":\"now\"}"[..]));
        Ok(())
    }

    #[test]
    fn keys_resolve_to_their_app_and_kind() -> Result<()> {
        let (_dir, store) = prod_store()?;
        store.add_key("prod", KeyKind::Ingest, "hs_ingest_abc", "browser")?;
        assert_eq!(
            store.resolve_key("hs_ingest_abc")?,
            Some(KeyGrant { app: "prod".into(), kind: KeyKind::Ingest })
        );
        assert_eq!(store.resolve_key("hs_ingest_abd")?, None);
        assert!(matches!(store.add_key("nope", KeyKind::Secret, "k", "x"), Err(StoreError::Unknown { .. })));
        Ok(())
    }

    #[test]
    fn outbox_dedupes_rate_limits_retries_and_summarises() -> Result<()> {
        let dir = temp_dir()?;
        let store = SqliteStore::open(dir.path())?;
        let entry = |id: &str, conference: &str| OutboxEntry {
            action: "hook".into(),
            event_id: id.into(),
            kind: "finding.raised".into(),
            rule: Some("loss".into()),
            conference: Some(conference.into()),
            payload: "{}".into(),
            limit_per_rule: 2,
            limit_per_conference: 0,
            window_ms: 300_000,
        };
        let now = 1_000_000;
        let states = store.enqueue(
            "prod",
            vec![entry("e1", "c1"), entry("e2", "c2"), entry("e3", "c3"), entry("e1", "c1")],
            now,
        )?;
        assert_eq!(
            states,
            [DeliveryState::Pending, DeliveryState::Pending, DeliveryState::Held],
            "e1 twice is one event"
        );
        let due = store.due_deliveries(now, 10)?;
        assert_eq!(due.len(), 2);
        let attempt = |status| Attempt {
            at_ms: now,
            status: Some(status),
            error: None,
            duration_ms: 1.0,
            dry_run: false,
        };
        store.record_attempt(due[0].id, attempt(500), AttemptOutcome::RetryAt(now + 1000))?;
        store.record_attempt(due[1].id, attempt(200), AttemptOutcome::Delivered)?;
        assert_eq!(store.due_deliveries(now, 10)?.len(), 0, "the retry waits for its time");
        assert_eq!(store.due_deliveries(now + 1000, 10)?.len(), 1);
        store.record_attempt(due[0].id, attempt(500), AttemptOutcome::Dead)?;
        let dead = store.deliveries("prod", Some(DeliveryState::Dead), 10)?;
        assert_eq!(dead.len(), 1);
        assert_eq!(store.delivery("prod", dead[0].id)?.map(|(d, a)| (d.attempts, a.len())), Some((2, 2)));
        assert!(store.retry_delivery("prod", dead[0].id, now + 5)?);
        assert!(!store.retry_delivery("staging", dead[0].id, now + 5)?, "another app's delivery");
        // The held event is summarised once its window closed.
        assert!(store.held_groups(now - 300_000)?.is_empty(), "window still open");
        let closed_at = 1_200_000;
        let groups = store.held_groups(closed_at - 300_000)?;
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].count, groups[0].conferences.clone()), (1, vec!["c3".to_string()]));
        let summary = OutboxEntry { event_id: "s1".into(), kind: "summary".into(), ..entry("s1", "") };
        store.summarize_held(&groups[0], summary, now + 300_001)?;
        assert!(store.held_groups(closed_at)?.is_empty());
        assert_eq!(store.deliveries("prod", Some(DeliveryState::Summarized), 10)?.len(), 1);
        Ok(())
    }

    #[test]
    fn data_survives_reopening() -> Result<()> {
        let dir = temp_dir()?;
        {
            let store = SqliteStore::open(dir.path())?;
            store.ensure_app("prod")?;
            store.append(batch("b1", "c1", &["{\"x\":1}"], None))?;
        }
        let store = SqliteStore::open(dir.path())?;
        assert_eq!(store.observations("prod", "c1")?[0].bytes, b"{\"x\":1}\n");
        Ok(())
    }
}
