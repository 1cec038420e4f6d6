//! Typed identifiers.
//!
//! WebRTC stats ids only mean something inside one peer connection's reports, so they never
//! serve as identity here: they survive as evidence (`stats_id` fields) only. Conference,
//! participant and peer-connection ids are ours, newtypes so they cannot be mixed up.

use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A conference (one call, one meeting), as named by the data or derived at ingest.
    ConferenceId
);
string_id!(
    /// A participant in a conference: a display name, an endpoint id or a file stem.
    ParticipantId
);
string_id!(
    /// A peer connection, unique within its participant (`PC_0`, `92-1`, `pc-1`, ...).
    PeerConnectionId
);
