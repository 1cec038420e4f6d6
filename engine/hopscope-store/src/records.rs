//! The records the store reads and writes: plain data, serialisable for the API.

use serde::{Deserialize, Serialize};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// Write-only, one app: safe to ship in a browser.
    Ingest,
    /// Read and administer one app.
    Secret,
}

impl KeyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Ingest => "ingest",
            KeyKind::Secret => "secret",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<KeyKind> {
        match s {
            "ingest" => Some(KeyKind::Ingest),
            "secret" => Some(KeyKind::Secret),
            _ => None,
        }
    }
}

/// What a key grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    /// The one app it belongs to.
    pub app: String,
    /// Its kind.
    pub kind: KeyKind,
}

/// One conference's share of a batch.
#[derive(Clone, Debug, Default)]
pub struct BatchPart {
    /// The conference id.
    pub conference: String,
    /// The observations, NDJSON (one envelope per line, newline-terminated).
    pub ndjson: Vec<u8>,
    /// How many observations.
    pub observations: u32,
    /// (user id, participant id) pairs named by the observations.
    pub users: Vec<(String, String)>,
}

/// A batch of observations as received.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The app it was sent to.
    pub app: String,
    /// The collector's idempotency key (or a hash of the body).
    pub batch_id: String,
    /// When the server received it, epoch ms.
    pub received_ms: i64,
    /// Per conference.
    pub parts: Vec<BatchPart>,
    /// Relay (TURN) observations that name no conference, NDJSON: relays rarely know the
    /// call an allocation serves, so they are kept per app and join a conference at its
    /// evaluation, by participant or address ([`Store::relay_observations`]).
    ///
    /// [`Store::relay_observations`]: crate::Store::relay_observations
    pub unfiled: Vec<u8>,
    /// How many observations `unfiled` holds.
    pub unfiled_observations: u32,
}

/// Whether a batch was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Appended {
    /// Stored now.
    Stored,
    /// Seen before; nothing stored.
    Duplicate,
}

/// A conference's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConferenceState {
    /// Data is still arriving.
    Live,
    /// Ended (inactivity) and diagnosed for good.
    Ended,
}

impl ConferenceState {
    fn as_str(self) -> &'static str {
        match self {
            ConferenceState::Live => "live",
            ConferenceState::Ended => "ended",
        }
    }

    pub(crate) fn parse(s: &str) -> ConferenceState {
        if s == "ended" { ConferenceState::Ended } else { ConferenceState::Live }
    }

    pub(crate) fn sql(self) -> &'static str {
        self.as_str()
    }
}

/// A conference as listed and looked up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConferenceRecord {
    /// The app.
    pub app: String,
    /// The conference id.
    pub id: String,
    /// Live or ended.
    pub state: ConferenceState,
    /// When the server first received data for it, epoch ms.
    pub first_received_ms: i64,
    /// When the server last received data for it, epoch ms.
    pub last_received_ms: i64,
    /// Observations stored.
    pub observations: u64,
    /// Users seen in it.
    pub users: Vec<String>,
    /// What the latest evaluation said (absent before the first one).
    pub summary: Option<Summary>,
}

/// What an evaluation says about a conference, in brief.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// completed, failed, partially_failed, dropped, aborted, ...
    pub outcome: String,
    /// Participants.
    pub participants: u32,
    /// Start of the call's data, epoch ms.
    pub started_ms: Option<i64>,
    /// End of the call's data, epoch ms.
    pub ended_ms: Option<i64>,
    /// Seconds.
    pub duration_s: Option<f64>,
    /// Conference audio MOS (time-weighted), when known.
    pub audio_mos: Option<f64>,
    /// Conference video MOS, when known.
    pub video_mos: Option<f64>,
    /// Findings by severity name.
    pub findings: u32,
    /// Finding categories present.
    pub categories: Vec<String>,
    /// The narrative's first sentence.
    pub headline: String,
}

/// A finding as stored (the full finding is inside the diagnosis).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    /// Stable finding id.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Category.
    pub category: String,
    /// The participant it is about, if one.
    pub participant: Option<String>,
    /// Raised, epoch ms.
    pub raised_ms: f64,
    /// Cleared, epoch ms.
    pub cleared_ms: Option<f64>,
    /// The rendered message.
    pub message: String,
    /// Callbacks the rule names (not stored: they belong to the rule, not the record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

/// What one evaluation of a conference derived.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// App.
    pub app: String,
    /// Conference.
    pub conference: String,
    /// Whether the conference has ended with this evaluation.
    pub ended: bool,
    /// The brief.
    pub summary: Summary,
    /// Findings (replacing the previous evaluation's).
    pub findings: Vec<FindingRow>,
    /// The full diagnosis, JSON.
    pub diagnosis_json: Vec<u8>,
}

/// User feedback about a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Conference.
    pub conference: String,
    /// Participant giving it, if known.
    pub participant: Option<String>,
    /// User giving it, if known.
    pub user: Option<String>,
    /// 1 (bad) to 5 (excellent).
    pub rating: u8,
    /// Free text.
    pub comment: Option<String>,
    /// When received, epoch ms.
    pub received_ms: i64,
}

/// Which conferences to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConferenceQuery {
    /// Last received at or after, epoch ms.
    pub from_ms: Option<i64>,
    /// First received before, epoch ms.
    pub to_ms: Option<i64>,
    /// With this user in it.
    pub user: Option<String>,
    /// With this outcome.
    pub outcome: Option<String>,
    /// With a finding of this category.
    pub category: Option<String>,
    /// Live or ended.
    pub state: Option<ConferenceState>,
    /// At most this many (default 50, at most 1000).
    pub limit: Option<u32>,
}

/// The name under which a conference's native observations are read back.
pub const NATIVE_INPUT: &str = "observations.ndjson";

/// The name under which relay observations without a conference are read back.
pub const RELAY_INPUT: &str = "relays.ndjson";

/// The most relay observations one evaluation reads: a busy relay reporting every few
/// seconds stays far below it over a call; beyond it the oldest are left out (the batch
/// that crosses it is read whole).
pub const MAX_RELAY_OBSERVATIONS: u32 = 5_000;

/// One input for ingest: a name (for errors and participant names) and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// File name.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A conference's raw data from a point of its arrival order on (see
/// [`Store::observations_after`](crate::Store::observations_after)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    /// Native observations after the point, NDJSON in arrival order.
    pub native: Vec<u8>,
    /// Every dump uploaded for the conference, whenever it came: a dump is read whole.
    pub uploads: Vec<Input>,
    /// Where what was read ends: pass it as `after` to read only what came since.
    pub through: i64,
}

/// A rule file an app uploaded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleFile {
    /// Its name (unique per app); the extension says its kind (`.yaml`, `.rhai`, `.wasm`).
    pub name: String,
    /// What was uploaded: YAML or Rhai text, or a WASM component.
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Its size, bytes.
    pub size: usize,
    /// Whether its rules run.
    pub enabled: bool,
    /// Increases with each upload of this name.
    pub version: u32,
    /// When last changed, epoch ms.
    pub updated_ms: i64,
}

/// Where an outbox entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for (another) attempt.
    Pending,
    /// The destination answered 2xx (or a dry run recorded it).
    Delivered,
    /// Out of attempts: on the dead-letter list until retried by hand.
    Dead,
    /// Held back by a rate limit; reported in a summary instead.
    Held,
    /// Held back and since reported in a summary.
    Summarized,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Held => "held",
            DeliveryState::Summarized => "summarized",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "dead" => DeliveryState::Dead,
            "held" => DeliveryState::Held,
            "summarized" => DeliveryState::Summarized,
            _ => return None,
        })
    }
}

/// Something to deliver to an action's destination.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    /// The action (destination) name.
    pub action: String,
    /// The event's id: the same event is enqueued once per action (the idempotency key
    /// receivers see).
    pub event_id: String,
    /// `finding.raised`, `finding.cleared`, `conference.ended`, `summary`.
    pub kind: String,
    /// The rule behind it, for rate limits.
    pub rule: Option<String>,
    /// The conference it is about.
    pub conference: Option<String>,
    /// The JSON body (the action's format).
    pub payload: String,
    /// At most this many events per rule and action per window, the rest held (0: no limit).
    pub limit_per_rule: u32,
    /// At most this many events per conference and action per window (0: no limit).
    pub limit_per_conference: u32,
    /// The rate window, ms.
    pub window_ms: i64,
}

/// An outbox entry as delivered and listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// App.
    pub app: String,
    /// Action.
    pub action: String,
    /// Event id (idempotency key).
    pub event_id: String,
    /// Event kind.
    pub kind: String,
    /// Rule.
    pub rule: Option<String>,
    /// Conference.
    pub conference: Option<String>,
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// Next attempt, epoch ms.
    pub next_attempt_ms: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When enqueued, epoch ms.
    pub created_ms: i64,
    /// The body.
    #[serde(skip)]
    pub payload: String,
}

/// One delivery attempt, for the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// When, epoch ms.
    pub at_ms: i64,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: f64,
    /// A dry run: recorded, not sent.
    pub dry_run: bool,
}

/// What an attempt leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Done.
    Delivered,
    /// Try again at this time (epoch ms).
    RetryAt(i64),
    /// Give up: dead letter.
    Dead,
}

/// Events held back by a rate limit, ready to be summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldGroup {
    /// App.
    pub app: String,
    /// Action.
    pub action: String,
    /// Rule (empty for events without one).
    pub rule: String,
    /// Start of the rate window, epoch ms.
    pub window_start_ms: i64,
    /// How many were held.
    pub count: u32,
    /// Some of the conferences they were about.
    pub conferences: Vec<String>,
}
