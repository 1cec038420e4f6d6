//! The middlebox sections of a scenario: the media server (`sfu:`) and TURN relays
//! (`turn:`), their networks, overload windows and credential failures.
//!
//! A middlebox's network is what its own links do to every flow through it, on top of the
//! participants' access links: an SFU's ingress (media from clients) and egress (media to
//! clients), and a relay's link, crossed both ways by the flows it relays.

use serde::Deserialize;

use super::{LinkSpec, NetworkSpec, RawLink, RelayProtocol, Window, links, windows};
use crate::error::SimError;
use crate::units::{Fraction, Seconds};

/// What a server reports as its software when the scenario does not say.
const DEFAULT_SOFTWARE: &str = concat!("hopscope-sim/", env!("CARGO_PKG_VERSION"));
/// Where the relays' addresses start (TEST-NET-3, as the rest of the simulated network).
const FIRST_RELAY_OCTET: usize = 20;
/// The relay used when a participant relays and the scenario declares none (kept from the
/// scenarios written before relays could be declared).
pub(crate) const IMPLICIT_RELAY: &str = "turn.example.com";
const IMPLICIT_RELAY_ADDRESS: &str = "203.0.113.5";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSfu {
    name: Option<String>,
    #[serde(default)]
    observe: bool,
    software: Option<String>,
    #[serde(default)]
    network: RawSfuNetwork,
    #[serde(default)]
    overload: Vec<(Seconds, Seconds)>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSfuNetwork {
    #[serde(default)]
    ingress: RawHopLink,
    #[serde(default)]
    egress: RawHopLink,
    #[serde(default)]
    segments: Vec<RawSfuSegment>,
}

/// A middlebox link: no `bandwidth` (a server's capacity problem is `overload`).
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawHopLink {
    loss: Option<Fraction>,
    burst: Option<f64>,
    delay: Option<Seconds>,
    jitter: Option<Seconds>,
}

impl From<RawHopLink> for RawLink {
    fn from(l: RawHopLink) -> RawLink {
        RawLink { loss: l.loss, burst: l.burst, delay: l.delay, jitter: l.jitter, bandwidth: None }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSfuSegment {
    from: Seconds,
    to: Option<Seconds>,
    #[serde(default)]
    ingress: RawHopLink,
    #[serde(default)]
    egress: RawHopLink,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTurn {
    name: String,
    protocol: Option<RelayProtocol>,
    #[serde(default)]
    observe: bool,
    software: Option<String>,
    #[serde(default)]
    network: RawTurnNetwork,
    #[serde(default)]
    auth_failure: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTurnNetwork {
    loss: Option<Fraction>,
    burst: Option<f64>,
    delay: Option<Seconds>,
    jitter: Option<Seconds>,
    #[serde(default)]
    segments: Vec<RawTurnSegment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurnSegment {
    from: Seconds,
    to: Option<Seconds>,
    loss: Option<Fraction>,
    burst: Option<f64>,
    delay: Option<Seconds>,
    jitter: Option<Seconds>,
}

/// The media server of an SFU call.
#[derive(Clone, Debug)]
pub(crate) struct SfuSpec {
    pub name: String,
    /// Emit its observations (`source: sfu`).
    pub observe: bool,
    pub software: String,
    /// `uplink` is its ingress (media from clients), `downlink` its egress.
    pub network: NetworkSpec,
    /// Windows when the server is starved of CPU.
    pub overload: Vec<Window>,
}

impl SfuSpec {
    /// The server of an SFU call whose scenario has no `sfu:` section.
    pub fn plain() -> SfuSpec {
        SfuSpec {
            name: "sfu-1".into(),
            observe: false,
            software: DEFAULT_SOFTWARE.into(),
            network: NetworkSpec::quiet(),
            overload: Vec::new(),
        }
    }
}

/// A TURN relay.
#[derive(Clone, Debug)]
pub(crate) struct TurnSpec {
    pub name: String,
    /// The transport its clients reach it over, unless a participant says otherwise.
    pub protocol: RelayProtocol,
    /// Emit its observations (`source: turn`).
    pub observe: bool,
    pub software: String,
    /// `uplink` and `downlink` are the same link: a relayed flow crosses it either way.
    pub network: NetworkSpec,
    /// It rejects its clients' credentials (401).
    pub auth_failure: bool,
    /// Its relayed address (IP).
    pub address: String,
}

impl TurnSpec {
    /// The relay standing in when participants relay and the scenario declares none.
    pub fn implicit() -> TurnSpec {
        TurnSpec {
            name: IMPLICIT_RELAY.into(),
            protocol: RelayProtocol::Udp,
            observe: false,
            software: DEFAULT_SOFTWARE.into(),
            network: NetworkSpec::quiet(),
            auth_failure: false,
            address: IMPLICIT_RELAY_ADDRESS.into(),
        }
    }

    /// The ICE server URL a client configures to reach it over `protocol`.
    pub fn url(&self, protocol: RelayProtocol) -> String {
        let host = &self.name;
        match protocol {
            RelayProtocol::Udp => format!("turn:{host}:3478?transport=udp"),
            RelayProtocol::Tcp => format!("turn:{host}:3478?transport=tcp"),
            RelayProtocol::Tls => format!("turns:{host}:443?transport=tcp"),
        }
    }
}

/// Server names become host names and file names: letters, digits, `-`, `.` and `_`.
pub(super) fn server_name(field: &str, name: &str) -> Result<String, SimError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(SimError::invalid(
            field,
            format!("`{name}` is not a usable server name"),
            "use letters, digits, `-`, `.` and `_` (at most 64), e.g. `sfu-eu-1`",
        ))
    }
}

pub(super) fn sfu(raw: RawSfu, duration: f64) -> Result<SfuSpec, SimError> {
    let name = server_name("sfu.name", raw.name.as_deref().unwrap_or("sfu-1"))?;
    let n = &raw.network;
    let segments: Vec<_> = n
        .segments
        .iter()
        .map(|s| (s.from, s.to, RawLink::from(s.ingress), RawLink::from(s.egress)))
        .collect();
    let network = links(
        "sfu.network",
        ["ingress", "egress"],
        [&RawLink::from(n.ingress), &RawLink::from(n.egress)],
        &segments,
        LinkSpec::QUIET,
        duration,
    )?;
    Ok(SfuSpec {
        name,
        observe: raw.observe,
        software: raw.software.unwrap_or_else(|| DEFAULT_SOFTWARE.into()),
        network,
        overload: windows("sfu.overload", &raw.overload, duration)?,
    })
}

pub(super) fn turns(raw: Vec<RawTurn>, duration: f64) -> Result<Vec<TurnSpec>, SimError> {
    let mut out: Vec<TurnSpec> = Vec::with_capacity(raw.len());
    for (i, t) in raw.into_iter().enumerate() {
        let field = format!("turn[{i}]");
        let name = server_name(&format!("{field}.name"), &t.name)?;
        if out.iter().any(|o| o.name == name) {
            return Err(SimError::invalid(
                format!("{field}.name"),
                format!("`{name}` is used twice"),
                "give every relay its own name",
            ));
        }
        let n = &t.network;
        let base =
            RawLink { loss: n.loss, burst: n.burst, delay: n.delay, jitter: n.jitter, bandwidth: None };
        let segments: Vec<_> = n
            .segments
            .iter()
            .map(|s| {
                let l = RawLink {
                    loss: s.loss,
                    burst: s.burst,
                    delay: s.delay,
                    jitter: s.jitter,
                    bandwidth: None,
                };
                (s.from, s.to, l, l)
            })
            .collect();
        let network = links(
            &format!("{field}.network"),
            ["", ""],
            [&base, &base],
            &segments,
            LinkSpec::QUIET,
            duration,
        )?;
        out.push(TurnSpec {
            name,
            protocol: t.protocol.unwrap_or(RelayProtocol::Udp),
            observe: t.observe,
            software: t.software.unwrap_or_else(|| DEFAULT_SOFTWARE.into()),
            network,
            auth_failure: t.auth_failure,
            address: format!("203.0.113.{}", FIRST_RELAY_OCTET + i),
        });
    }
    if out.len() > 200 {
        return Err(SimError::invalid("turn", "lists more than 200 relays", "declare at most 200"));
    }
    Ok(out)
}
