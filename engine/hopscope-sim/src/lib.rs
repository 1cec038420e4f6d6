//! hopscope-sim: a deterministic WebRTC conference simulator.
//!
//! Reads a scenario (who is in the call, their browsers, media, access networks, the media
//! server and relays between them, and what goes wrong when) and writes what each
//! participant's browser SDK would have sent: native observation envelopes
//! (`sdk/schema/observation.schema.json`) with Chrome-shaped `getStats()` reports and the
//! peer-connection events, one NDJSON line each; what an observed media server or relay
//! would have reported (`docs/middlebox-observations.md`); and the [`Truth`]: every fault
//! the scenario injects, where, when and how large.
//!
//! It exists for the inputs real captures cannot give on demand: high jitter, CPU-limited
//! encoders, DTX, old browsers, slow ICE, 50-participant SFU calls, failing relays, and
//! calls whose faults are known, to backtest attribution on ([`corpus`]). The counters
//! follow the causal chain a real call has (loss → concealment, NACKs and freezes; a
//! bandwidth cap → queueing, congestion control and a smaller picture), and every stretch
//! of a path counts what it lost, so endpoint and middlebox views agree. Everything is
//! derived from `seed`. The same data can be written as Chrome webrtc-internals or rtcstats
//! dumps ([`DumpFormat`]).
//!
//! ```
//! let scenario = hopscope_sim::Scenario::from_yaml(
//!     "name: demo\nduration: 5s\ntopology: p2p\nparticipants: [{name: alice}, {name: bob}]\n",
//! )?;
//! let simulation = hopscope_sim::simulate(&scenario);
//! assert_eq!(simulation.participants.len(), 2);
//! assert!(simulation.combined().lines().count() > 10);
//! # Ok::<(), hopscope_sim::SimError>(())
//! ```

mod browser;
pub mod corpus;
mod dump;
mod error;
mod json;
mod network;
mod output;
mod scenario;
mod sim;
pub mod truth;
mod units;

pub use corpus::{CorpusEntry, corpus};
pub use dump::DumpFormat;
pub use error::SimError;
pub use output::{ParticipantOutput, ServerKind, ServerOutput, Simulation};
pub use scenario::{Scenario, Topology};
pub use sim::simulate;
pub use truth::Truth;
