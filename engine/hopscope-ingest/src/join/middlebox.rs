//! Which participant each middlebox record is.
//!
//! SFU client transports match a participant by the id the server reports, else by address
//! (the server sees the client at its srflx or relay address), else by the SSRCs the server
//! receives from it (the endpoint's outbound SSRCs); TURN allocations by participant id,
//! relay address (the endpoint's relay candidate), client address (its srflx candidate) or
//! a TURN username naming them. The strongest kind of evidence that points at
//! exactly one participant decides; agreeing evidence is kept with the match, disagreeing
//! evidence becomes a data-quality note. A record that matches nobody is kept, noted, and
//! never turned into a participant or a hop.

use std::collections::{BTreeMap, BTreeSet};

use hopscope_model::events::EventKind;
use hopscope_model::middlebox::{
    ClockOffset, MiddleboxClient, MiddleboxKind, MiddleboxObservation, ParticipantMatch, TurnAllocation,
    TurnAllocationError,
};
use hopscope_model::stats::CandidateType;
use hopscope_model::{Conference, DataNote, Participant, ParticipantId, RemoteKind, Timestamp};

/// Server and endpoint clocks further apart than this make time-aligned comparisons wrong.
const SKEW_LIMIT_S: f64 = 5.0;

/// What a middlebox can recognise a participant by.
pub(super) struct Facts {
    id: String,
    /// The input the participant came from, to tell two participants of one name apart.
    source: String,
    endpoint_id: Option<String>,
    display_name: Option<String>,
    user: Option<String>,
    /// Local candidate addresses: (`ip:port`, type, on a selected pair).
    addresses: Vec<(String, &'static str, bool)>,
    outbound_ssrcs: BTreeSet<u32>,
    /// First ICE connected event (connections to a media server first).
    ice_connected: Option<Timestamp>,
    /// Bounds on when the first media packet left: (after, at or before).
    first_media: Option<(Option<Timestamp>, Timestamp)>,
    /// `icecandidateerror` events from TURN URLs: (code, url).
    turn_errors: Vec<(u16, String)>,
}

impl Facts {
    pub(super) fn of(p: &Participant) -> Facts {
        let mut addresses: Vec<(String, &'static str, bool)> = Vec::new();
        for pc in &p.peer_connections {
            let selected: BTreeSet<&str> = pc
                .selected_pairs
                .iter()
                .filter_map(|c| pc.candidate_pair(&c.pair_stats_id))
                .filter_map(|pair| pair.local_candidate_id.as_deref())
                .collect();
            for c in pc.candidates.iter().filter(|c| !c.is_remote) {
                let Some(endpoint) = c.endpoint() else { continue };
                let is_selected = selected.contains(c.stats_id.as_str());
                let kind = if c.is_relayed() {
                    "relay"
                } else {
                    match c.candidate_type {
                        Some(CandidateType::Srflx) => "srflx",
                        Some(CandidateType::Prflx) => "prflx",
                        // A server sees a host address only when there is no NAT: a public
                        // one, or the one on the pair in use.
                        Some(CandidateType::Host)
                            if is_selected
                                || c.address.as_deref().is_some_and(crate::builder::is_public_address) =>
                        {
                            "host"
                        }
                        _ => continue,
                    }
                };
                match addresses.iter_mut().find(|(a, _, _)| *a == endpoint) {
                    Some(existing) => existing.2 |= is_selected,
                    None => addresses.push((endpoint, kind, is_selected)),
                }
            }
        }
        let sfu_pcs: Vec<_> =
            p.peer_connections.iter().filter(|pc| pc.remote_kind == RemoteKind::Sfu).collect();
        let pcs = if sfu_pcs.is_empty() { p.peer_connections.iter().collect() } else { sfu_pcs };
        let ice_connected = pcs
            .iter()
            .filter_map(|pc| pc.ice_states().find(|(_, s)| s.is_connected()).map(|(at, _)| at))
            .min();
        let first_media = pcs
            .iter()
            .flat_map(|pc| {
                pc.outbound.iter().filter_map(|s| {
                    let i = s.samples.iter().position(|x| x.packets_sent.is_some_and(|n| n > 0.0))?;
                    let at = s.samples[i].at;
                    let before = match i {
                        0 => pc.stats_times.iter().filter(|t| **t < at).max().copied(),
                        _ => Some(s.samples[i - 1].at),
                    };
                    Some((before, at))
                })
            })
            .reduce(|(a0, a1), (b0, b1)| (a0.zip(b0).map(|(x, y)| x.min(y)), a1.min(b1)));
        let mut turn_errors = Vec::new();
        for pc in &p.peer_connections {
            for e in &pc.events {
                if let EventKind::IceCandidateError(err) = &e.kind
                    && let (Some(code), Some(url)) = (err.error_code, &err.url)
                    && url.to_ascii_lowercase().starts_with("turn")
                {
                    turn_errors.push((code, url.clone()));
                }
            }
        }
        Facts {
            id: p.id.as_str().to_string(),
            source: p.source.name.clone(),
            endpoint_id: p.identifier("endpointId").map(String::from),
            display_name: p.identifier("displayName").map(String::from),
            user: p.identifier("user").or(p.identifier("userId")).map(String::from),
            addresses,
            outbound_ssrcs: p
                .peer_connections
                .iter()
                .flat_map(|pc| pc.outbound.iter().filter_map(|s| s.info.ssrc))
                .filter(|s| *s != 0)
                .collect(),
            ice_connected,
            first_media,
            turn_errors,
        }
    }

    fn address(&self, addr: &str, kinds: &[&str]) -> Option<String> {
        let (_, kind, selected) = self.addresses.iter().find(|(a, k, _)| a == addr && kinds.contains(k))?;
        let selected = if *selected { "selected " } else { "" };
        Some(format!("{}'s {selected}local {kind} candidate", self.id))
    }
}

/// A middlebox record to match.
#[derive(Clone, Copy)]
pub(super) enum Record<'a> {
    Client(&'a MiddleboxClient),
    Allocation(&'a TurnAllocation),
    Error(&'a TurnAllocationError),
}

impl Record<'_> {
    /// `transport t-alice-1`, `allocation a-17`, `allocation error 401 at ...`.
    pub(super) fn name(&self) -> String {
        match self {
            Record::Client(c) => format!("transport {}", c.id),
            Record::Allocation(a) => format!("allocation {}", a.id),
            Record::Error(e) => format!(
                "allocation error {} at {}",
                e.code.map(|c| c.to_string()).unwrap_or_else(|| "(no code)".into()),
                e.at
            ),
        }
    }

    /// The name and what the record says about its client:
    /// `transport t-alice-1 (participant alice, remote 198.51.100.7:53124)`.
    pub(super) fn describe(&self) -> String {
        let mut said = Vec::new();
        match self {
            Record::Client(c) => {
                if let Some(p) = &c.reported_participant {
                    said.push(format!("participant `{p}`"));
                }
                if let Some(a) = c.remote_address() {
                    said.push(format!("remote {a}"));
                }
            }
            Record::Allocation(a) => {
                if let Some(p) = &a.reported_participant {
                    said.push(format!("participant `{p}`"));
                }
                if let Some(u) = &a.username {
                    said.push(format!("username `{u}`"));
                }
                if let Some(c) = &a.client_address {
                    said.push(format!("client {c}"));
                }
                if let Some(r) = &a.relay_address {
                    said.push(format!("relay {r}"));
                }
            }
            Record::Error(e) => {
                if let Some(u) = &e.username {
                    said.push(format!("username `{u}`"));
                }
                if let Some(c) = &e.client_address {
                    said.push(format!("client {c}"));
                }
            }
        }
        if said.is_empty() { self.name() } else { format!("{} ({})", self.name(), said.join(", ")) }
    }

    /// What the record could have matched by, for the note when it matched nothing.
    fn tried(&self) -> String {
        let mut tried = Vec::new();
        let mut push = |what: String| tried.push(what);
        match self {
            Record::Client(c) => {
                if let Some(p) = &c.reported_participant {
                    push(format!("no participant `{p}`"));
                }
                for (_, a) in &c.remote_addresses {
                    push(format!("no endpoint candidate at {a}"));
                }
                if c.inbound_ssrcs().next().is_some() {
                    push("no endpoint sends its inbound SSRCs".into());
                }
            }
            Record::Allocation(a) => {
                if let Some(p) = &a.reported_participant {
                    push(format!("no participant `{p}`"));
                }
                if let Some(r) = &a.relay_address {
                    push(format!("no endpoint relay candidate at {r}"));
                }
                if let Some(c) = &a.client_address {
                    push(format!("no endpoint srflx candidate at {c}"));
                }
            }
            Record::Error(e) => {
                if let Some(c) = &e.client_address {
                    push(format!("no endpoint srflx candidate at {c}"));
                }
                if e.username.is_some() {
                    push("no participant named by its username".into());
                }
            }
        }
        if tried.is_empty() {
            "it carries no participant id, address or SSRC".into()
        } else {
            tried.join(", ")
        }
    }
}

/// One piece of evidence: which participant, how strong (lower is stronger), and what.
struct Hit {
    participant: usize,
    rank: u8,
    what: String,
}

/// The user part of a TURN REST username (`1767265200:alice` → `alice`).
fn rest_user(username: &str) -> Option<&str> {
    let (expiry, user) = username.split_once(':')?;
    (expiry.bytes().all(|b| b.is_ascii_digit()) && !expiry.is_empty() && !user.is_empty()).then_some(user)
}

/// Whether a TURN username names the participant: it is their id (or app user id), or its
/// TURN REST user part is.
fn username_names(username: Option<&str>, f: &Facts) -> Option<String> {
    let username = username?;
    let names = |u: &str| u == f.id || f.user.as_deref() == Some(u);
    if names(username) {
        return Some(format!("its TURN username `{username}` is {}'s id", f.id));
    }
    let user = rest_user(username).filter(|u| names(u))?;
    Some(format!("its TURN REST username (`expiry:user`) names `{user}`, {}", f.id))
}

fn hits(record: Record, facts: &[&Facts]) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let mut hit = |rank: u8, what: String| out.push(Hit { participant: i, rank, what });
        match record {
            Record::Client(c) => {
                if c.reported_participant.as_deref() == Some(f.id.as_str()) {
                    hit(0, format!("the server names its participant `{}`", f.id));
                }
                if f.endpoint_id.as_deref() == Some(c.id.as_str()) {
                    hit(0, format!("the server's endpoint id `{}` is {}'s endpointId", c.id, f.id));
                }
                for (_, a) in &c.remote_addresses {
                    if let Some(whose) = f.address(a, &["srflx", "prflx", "relay", "host"]) {
                        hit(1, format!("its remote address {a} is {whose}"));
                    }
                }
                let shared: Vec<String> = c
                    .inbound_ssrcs()
                    .filter(|s| f.outbound_ssrcs.contains(s))
                    .map(|s| s.to_string())
                    .collect();
                if !shared.is_empty() {
                    hit(
                        2,
                        format!(
                            "the SSRCs it receives from the client ({}) are {}'s outbound SSRCs",
                            shared.join(", "),
                            f.id
                        ),
                    );
                }
                if let Some(name) = &c.display_name
                    && (*name == f.id || f.display_name.as_deref() == Some(name.as_str()))
                {
                    hit(3, format!("the server's display name `{name}` is {}'s", f.id));
                }
            }
            Record::Allocation(a) => {
                if a.reported_participant.as_deref() == Some(f.id.as_str()) {
                    hit(0, format!("the relay names its participant `{}`", f.id));
                }
                if let Some(r) = &a.relay_address
                    && let Some(whose) = f.address(r, &["relay"])
                {
                    hit(1, format!("its relay address {r} is {whose}"));
                }
                if let Some(c) = &a.client_address
                    && let Some(whose) = f.address(c, &["srflx", "prflx", "host"])
                {
                    hit(1, format!("its client address {c} is {whose}"));
                }
                if let Some(what) = username_names(a.username.as_deref(), f) {
                    hit(3, what);
                }
            }
            Record::Error(e) => {
                if let Some(c) = &e.client_address
                    && let Some(whose) = f.address(c, &["srflx", "prflx", "host"])
                {
                    hit(1, format!("its client address {c} is {whose}"));
                }
                if let Some(what) = username_names(e.username.as_deref(), f) {
                    hit(3, what);
                }
                if let Some(code) = e.code
                    && let Some((_, url)) = f.turn_errors.iter().find(|(c, _)| *c == code)
                {
                    hit(4, format!("{}'s browser reported TURN error {code} from {url}", f.id));
                }
            }
        }
    }
    out
}

/// The outcome of matching one record.
pub(super) struct Decision {
    /// Index into the facts given.
    pub chosen: Option<usize>,
    /// Why, strongest first.
    pub evidence: Vec<String>,
    /// Contradictions and ambiguities, for notes.
    pub problems: Vec<String>,
}

/// Matches a record against participants.
pub(super) fn decide(record: Record, facts: &[&Facts]) -> Decision {
    let hits = hits(record, facts);
    let mut problems = Vec::new();
    let mut chosen = None;
    for rank in 0..=4u8 {
        let who: BTreeSet<usize> = hits.iter().filter(|h| h.rank == rank).map(|h| h.participant).collect();
        match who.len() {
            0 => continue,
            1 => {
                chosen = who.first().copied();
                break;
            }
            _ => {
                let ids: Vec<&str> = who.iter().map(|&i| facts[i].id.as_str()).collect();
                let repeated = ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id));
                let names: Vec<String> = who
                    .iter()
                    .map(|&i| {
                        let f = facts[i];
                        if repeated { format!("{} in {}", f.id, f.source) } else { f.id.clone() }
                    })
                    .collect();
                let what: Vec<&str> =
                    hits.iter().filter(|h| h.rank == rank).map(|h| h.what.as_str()).collect();
                problems.push(format!(
                    "points at several participants ({}): {}; not used",
                    names.join(", "),
                    what.join("; ")
                ));
            }
        }
    }
    let Some(chosen) = chosen else {
        return Decision { chosen: None, evidence: Vec::new(), problems };
    };
    let mut evidence: Vec<(u8, String)> = Vec::new();
    for h in &hits {
        if h.participant == chosen {
            evidence.push((h.rank, h.what.clone()));
        } else if h.rank <= 2 {
            problems.push(format!("matched {} but {}", facts[chosen].id, h.what));
        }
    }
    evidence.sort_by_key(|(r, _)| *r);
    Decision { chosen: Some(chosen), evidence: evidence.into_iter().map(|(_, w)| w).collect(), problems }
}

/// Every record of an observation, in order.
pub(super) fn records(m: &MiddleboxObservation) -> Vec<Record<'_>> {
    m.clients
        .iter()
        .map(Record::Client)
        .chain(m.allocations.iter().map(Record::Allocation))
        .chain(m.allocation_errors.iter().map(Record::Error))
        .collect()
}

/// Bounds on the server clock minus the endpoint clock for a matched SFU client, from when
/// ICE connected, else from the first media, when both sides saw the moment happen.
fn clock_offset(c: &MiddleboxClient, f: &Facts) -> Option<(f64, f64, &'static str)> {
    // The first sample that shows the transition, and the one before it.
    let server_connected = c.samples.windows(2).find_map(|w| {
        (w[0].ice_connected == Some(false) && w[1].ice_connected == Some(true)).then_some((w[0].at, w[1].at))
    });
    if let (Some((before, at)), Some(endpoint)) = (server_connected, f.ice_connected) {
        return Some((before.seconds_since(endpoint), at.seconds_since(endpoint), "ICE connected"));
    }
    let first_sample = c.samples.first().map(|s| s.at);
    let server_media = c
        .inbound
        .iter()
        .filter_map(|s| {
            let i = s.samples.iter().position(|x| x.packets_received.is_some_and(|n| n > 0.0))?;
            let at = s.samples[i].at;
            let before = match i {
                0 => first_sample.filter(|t| *t < at),
                _ => Some(s.samples[i - 1].at),
            };
            Some((before, at))
        })
        .reduce(|(a0, a1), (b0, b1)| (a0.zip(b0).map(|(x, y)| x.min(y)), a1.min(b1)));
    let ((s_before, s_at), (e_before, e_at)) = (server_media?, f.first_media?);
    // Server first media in (s_before, s_at], endpoint's in (e_before, e_at].
    let min = s_before.map_or(f64::NEG_INFINITY, |s| s.seconds_since(e_at));
    let max = e_before.map_or(f64::INFINITY, |e| s_at.seconds_since(e));
    Some((min, max, "first media"))
}

/// Matches every middlebox record of a conference to its participants, recording the
/// participant and evidence on each record and noting what matched nothing, what
/// contradicts, and clocks too far apart. `sources[i]` names the input of
/// `conference.middleboxes[i]`.
pub(super) fn attach(conference: &mut Conference, sources: &[String], mut extra: Vec<DataNote>) {
    if conference.middleboxes.is_empty() && extra.is_empty() {
        return;
    }
    let facts: Vec<Facts> = conference.participants.iter().map(Facts::of).collect();
    let refs: Vec<&Facts> = facts.iter().collect();
    let mut notes: Vec<DataNote> = Vec::new();
    // Who each address was matched to, across all records, to catch two participants at one.
    let mut address_owner: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for (mi, m) in conference.middleboxes.iter_mut().enumerate() {
        let source = sources.get(mi).cloned().unwrap_or_default();
        let server = m.server.clone();
        let kind = m.kind.map(MiddleboxKind::as_str).unwrap_or("middlebox");
        let decisions: Vec<Decision> = records(m).into_iter().map(|r| decide(r, &refs)).collect();
        let named: Vec<String> = records(m).iter().map(Record::name).collect();
        let tried: Vec<String> = records(m).iter().map(Record::tried).collect();
        if refs.is_empty() {
            let n = decisions.len();
            if n > 0 {
                let (records, verb) = if n == 1 { ("record", "matches") } else { ("records", "match") };
                notes.push(DataNote {
                    source: source.clone(),
                    location: Some(server.clone()),
                    message: format!(
                        "{n} {kind} {records} {verb} no endpoint in the inputs; kept, and no participant or hop is drawn from them"
                    ),
                });
            }
            continue;
        }
        let mut i = 0;
        let mut next = |matched: &mut Option<ParticipantMatch>, addresses: Vec<String>| -> Option<usize> {
            let d = &decisions[i];
            let location = Some(format!("{kind} {server}, {}", named[i]));
            for p in &d.problems {
                notes.push(DataNote {
                    source: source.clone(),
                    location: location.clone(),
                    message: p.clone(),
                });
            }
            let chosen = d.chosen;
            match chosen {
                Some(c) => {
                    *matched = Some(ParticipantMatch {
                        participant: ParticipantId::new(refs[c].id.clone()),
                        evidence: d.evidence.clone(),
                        clock_offset: None,
                    });
                    for a in addresses {
                        let entry = address_owner.entry(a).or_insert_with(|| (source.clone(), BTreeSet::new()));
                        entry.1.insert(refs[c].id.clone());
                    }
                }
                None => notes.push(DataNote {
                    source: source.clone(),
                    location,
                    message: format!(
                        "matches no participant in this conference ({}); kept, and no participant or hop is drawn from it",
                        tried[i]
                    ),
                }),
            }
            i += 1;
            chosen
        };
        let mut skews = Vec::new();
        for c in &mut m.clients {
            let addresses = c.remote_addresses.iter().map(|(_, a)| a.clone()).collect();
            if let Some(p) = next(&mut c.matched, addresses)
                && let Some((min, max, basis)) = clock_offset(c, refs[p])
            {
                if min > SKEW_LIMIT_S || max < -SKEW_LIMIT_S {
                    skews.push((refs[p].id.clone(), c.id.clone(), min, max, basis));
                }
                if let Some(matched) = &mut c.matched
                    && min.is_finite()
                    && max.is_finite()
                {
                    matched.clock_offset =
                        Some(ClockOffset { min_s: min, max_s: max, basis: basis.to_string() });
                }
            }
        }
        for a in &mut m.allocations {
            let addresses = a.relay_address.iter().chain(a.client_address.iter()).cloned().collect();
            next(&mut a.matched, addresses);
        }
        for e in &mut m.allocation_errors {
            next(&mut e.matched, Vec::new());
        }
        let mut seen = BTreeSet::new();
        for (who, transport, min, max, basis) in skews {
            if !seen.insert(who.clone()) {
                continue;
            }
            let estimate = if min.is_finite() && max.is_finite() {
                (min + max) / 2.0
            } else if min.is_finite() {
                min
            } else {
                max
            };
            let (direction, size) =
                if estimate >= 0.0 { ("ahead of", estimate) } else { ("behind", -estimate) };
            let bounds = match (min.is_finite(), max.is_finite()) {
                (true, true) => format!("between {min:.1} and {max:.1} s"),
                (true, false) => format!("at least {min:.1} s"),
                _ => format!("at most {max:.1} s"),
            };
            notes.push(DataNote {
                source: source.clone(),
                location: Some(format!("{kind} {server}, transport {transport}")),
                message: format!(
                    "clock skew: {server}'s clock is about {size:.1} s {direction} {who}'s ({bounds}, from {basis}); comparing their series in time needs that correction"
                ),
            });
        }
    }
    for (address, (source, owners)) in &address_owner {
        if owners.len() > 1 {
            let names: Vec<&str> = owners.iter().map(String::as_str).collect();
            notes.push(DataNote {
                source: source.clone(),
                location: Some(address.clone()),
                message: format!(
                    "address {address} is claimed by several participants ({}): middlebox records at it were matched to different participants",
                    names.join(", ")
                ),
            });
        }
    }
    extra.extend(notes);
    for n in extra {
        if !conference.notes.contains(&n) {
            conference.notes.push(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_rest_usernames() {
        assert_eq!(rest_user("1767265200:carol"), Some("carol"));
        assert_eq!(rest_user("carol"), None);
        assert_eq!(rest_user("abc:carol"), None);
        assert_eq!(rest_user("1767265200:"), None);
    }
}
