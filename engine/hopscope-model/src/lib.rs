//! The hopscope conference model.
//!
//! What every other part of hopscope reads: a [`Conference`] of [`Participant`]s, each with
//! peer connections, typed stats series and events; [`intervals`] that turn cumulative
//! counters into per-interval loss, bitrate, frame rate and the rest; and the
//! [`graph::PathGraph`] of hops a conference's media crossed.
//!
//! Invariants:
//! - the model knows no file format and no transport; ingest builds it;
//! - a metric nobody reported is `None`, never 0;
//! - WebRTC stats ids are evidence, never identity: ids are ours ([`ids`]).

pub mod conference;
pub mod events;
pub mod graph;
pub mod ids;
pub mod intervals;
pub mod middlebox;
pub mod reading;
pub mod stats;
pub mod time;

pub use conference::{
    BrowserFamily, ClientInfo, Conference, DataNote, IceServer, Participant, PeerConnection, RemoteKind,
    RtcConfiguration, SelectedPairChange, SourceInfo,
};
pub use events::{Event, EventKind};
pub use ids::{ConferenceId, ParticipantId, PeerConnectionId};
pub use reading::Reading;
pub use time::Timestamp;
