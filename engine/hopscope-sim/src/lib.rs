//! hopscope-sim: a deterministic WebRTC conference simulator.
//!
//! Reads a scenario (who is in the call, their browsers, media, access networks and what
//! goes wrong when) and writes what each participant's browser SDK would have sent: native
//! observation envelopes (`sdk/schema/observation.schema.json`) with Chrome-shaped
//! `getStats()` reports and the peer-connection events, one NDJSON line each.
//!
//! It exists for the inputs real captures cannot give on demand: high jitter, CPU-limited
//! encoders, DTX, old browsers, slow ICE, 50-participant SFU calls. The counters follow
//! the causal chain a real call has (loss → concealment, NACKs and freezes; a bandwidth cap
//! → queueing, congestion control and a smaller picture), so what the engine measures from
//! them matches what the scenario configured. Everything is derived from `seed`.
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
mod error;
mod json;
mod network;
mod output;
mod scenario;
mod sim;
mod units;

pub use error::SimError;
pub use output::{ParticipantOutput, Simulation};
pub use scenario::{Scenario, Topology};
pub use sim::simulate;
