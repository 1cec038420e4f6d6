//! Which hop a fault is pinned on. A hop here is a place a problem can come from: a
//! participant's device, one direction of their access network, a TURN relay, the media
//! server. Access networks are split by direction because the two directions fail
//! independently (a saturated uplink leaves the downlink alone).

use std::fmt;

use serde::Serialize;

/// What kind of place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopClass {
    /// The participant's device and browser (CPU, camera, microphone).
    Endpoint,
    /// The participant's network up to the internet: Wi-Fi, ISP, VPN.
    Access,
    /// A TURN relay.
    Turn,
    /// The media server.
    Sfu,
}

/// Which way along an access network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From the participant towards the world (what they send).
    Up,
    /// Towards the participant (what they receive).
    Down,
    /// Both ways (a round trip says no more).
    Both,
}

/// A hop of the conference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct HopRef {
    /// What kind of place.
    pub class: HopClass,
    /// Whose, for endpoints and access networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Which server, for TURN relays and media servers, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Which way, for access networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

impl HopRef {
    /// A participant's device.
    pub fn endpoint(participant: &str) -> HopRef {
        HopRef {
            class: HopClass::Endpoint,
            participant: Some(participant.into()),
            server: None,
            direction: None,
        }
    }

    /// One direction of a participant's access network.
    pub fn access(participant: &str, direction: Direction) -> HopRef {
        HopRef {
            class: HopClass::Access,
            participant: Some(participant.into()),
            server: None,
            direction: Some(direction),
        }
    }

    /// A TURN relay.
    pub fn turn(server: &str) -> HopRef {
        HopRef { class: HopClass::Turn, participant: None, server: Some(server.into()), direction: None }
    }

    /// One way through a TURN relay: `Up` for what clients send into it, `Down` for what
    /// it hands them.
    pub fn turn_way(server: &str, direction: Direction) -> HopRef {
        HopRef { direction: Some(direction), ..HopRef::turn(server) }
    }

    /// One way through the media server: `Up` for what it receives from senders, `Down`
    /// for what it forwards to receivers.
    pub fn sfu_way(server: Option<&str>, direction: Direction) -> HopRef {
        HopRef { direction: Some(direction), ..HopRef::sfu(server) }
    }

    /// The media server.
    pub fn sfu(server: Option<&str>) -> HopRef {
        HopRef { class: HopClass::Sfu, participant: None, server: server.map(String::from), direction: None }
    }

    /// The place as a whole, for a one-way hop: an access network both ways, a relay or
    /// media server without a way. `None` when it already is.
    pub fn whole(&self) -> Option<HopRef> {
        match (self.class, self.direction) {
            (HopClass::Access, Some(Direction::Up | Direction::Down)) => {
                Some(HopRef { direction: Some(Direction::Both), ..self.clone() })
            }
            (HopClass::Turn | HopClass::Sfu, Some(_)) => Some(HopRef { direction: None, ..self.clone() }),
            _ => None,
        }
    }
}

impl fmt::Display for HopRef {
    /// How people name it: "alice's network (uplink)", "the media server".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.participant.as_deref().unwrap_or("a participant");
        match self.class {
            HopClass::Endpoint => write!(f, "{who}'s device"),
            HopClass::Access => match self.direction {
                Some(Direction::Up) => write!(f, "{who}'s network (uplink)"),
                Some(Direction::Down) => write!(f, "{who}'s network (downlink)"),
                _ => write!(f, "{who}'s network"),
            },
            HopClass::Turn => {
                match &self.server {
                    Some(s) => write!(f, "the TURN relay {s}")?,
                    None => write!(f, "the TURN relay")?,
                }
                match self.direction {
                    Some(Direction::Up) => write!(f, " (from its clients)"),
                    Some(Direction::Down) => write!(f, " (to its clients)"),
                    _ => Ok(()),
                }
            }
            HopClass::Sfu => {
                match &self.server {
                    Some(s) => write!(f, "the media server {s}")?,
                    None => write!(f, "the media server")?,
                }
                match self.direction {
                    Some(Direction::Up) => write!(f, " (receiving)"),
                    Some(Direction::Down) => write!(f, " (forwarding)"),
                    _ => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_read_as_people_name_them() {
        assert_eq!(HopRef::access("alice", Direction::Up).to_string(), "alice's network (uplink)");
        assert_eq!(HopRef::access("bob", Direction::Both).to_string(), "bob's network");
        assert_eq!(HopRef::endpoint("carol").to_string(), "carol's device");
        assert_eq!(HopRef::turn("turn-fra-1").to_string(), "the TURN relay turn-fra-1");
        assert_eq!(HopRef::sfu(None).to_string(), "the media server");
    }
}
