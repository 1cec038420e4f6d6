//! One module per input format. Each reads bytes and feeds [`crate::builder`].

pub(crate) mod internals;
pub(crate) mod jitsi_server;
pub(crate) mod native;
pub(crate) mod observertc;
pub(crate) mod rtcstats;
pub(crate) mod snapshot;
