//! Joining inputs into conferences.
//!
//! Files of one call are joined by what they share: a conference identifier in the data
//! (Jitsi `meetingUniqueId`, a native `conference`, an ObserveRTC `callId`), media one side
//! sends and the other receives (SSRCs), or one side's remote candidate being the other's
//! local candidate. Several getStats snapshots of the same endpoint (the same outbound
//! SSRCs) become one participant with several reports.
//!
//! Middlebox observations join by their conference id; an observation without one (a TURN
//! relay rarely knows the call) is split into its records, and each record joins the call
//! of the one participant it matches ([`middlebox`]: participant id, addresses, SSRCs).
//! Ids never join across calls: a record only matches participants whose call ids do not
//! contradict its own. Records that match nobody stay together in a conference of their
//! own, and every record is then matched within its conference and noted when it matches
//! nothing or contradicts.

mod middlebox;

use std::collections::{BTreeMap, BTreeSet};

use hopscope_model::middlebox::{MiddleboxKind, MiddleboxObservation};
use hopscope_model::stats::IceCandidate;
use hopscope_model::{Conference, ConferenceId, DataNote, Participant, ParticipantId, PeerConnection};

use crate::{Format, Ingested};

/// A middlebox observation, or one record of it when it has no conference id to join by.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Whole,
    Client(usize),
    Allocation(usize),
    Error(usize),
}

struct Unit {
    obs: usize,
    part: Part,
}

fn unit_records<'a>(m: &'a MiddleboxObservation, part: Part) -> Vec<middlebox::Record<'a>> {
    use middlebox::Record;
    match part {
        Part::Whole => middlebox::records(m),
        Part::Client(j) => m.clients.get(j).map(Record::Client).into_iter().collect(),
        Part::Allocation(j) => m.allocations.get(j).map(Record::Allocation).into_iter().collect(),
        Part::Error(j) => m.allocation_errors.get(j).map(Record::Error).into_iter().collect(),
    }
}

/// Whether two groups' call ids allow them to be one call: no identifier present on both
/// sides with different values.
fn compatible(a: &BTreeSet<(String, String)>, b: &BTreeSet<(String, String)>) -> bool {
    let names: BTreeSet<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
    names.into_iter().all(|name| {
        let mut theirs = b.iter().filter(|(k, _)| k == name).peekable();
        theirs.peek().is_none() || theirs.any(|pair| a.contains(pair))
    })
}

/// Groups ingested inputs into conferences. Deterministic: the same inputs in the same
/// order give the same conferences.
pub fn assemble(inputs: Vec<Ingested>) -> Vec<Conference> {
    // Flatten participants, remembering their input.
    struct Item {
        input: usize,
        participant: Participant,
    }
    let mut items: Vec<Item> = Vec::new();
    let mut notes: Vec<Vec<DataNote>> = Vec::new();
    let mut keys: Vec<Vec<(String, String)>> = Vec::new();
    let mut formats = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let mut observations: Vec<(usize, MiddleboxObservation)> = Vec::new();
    // Inputs with no call data (a Jicofo log, a getUserMedia-only page) still get a
    // conference of their own so what we learned about them is reported.
    let mut empty_inputs = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        if input.participants.is_empty() && input.middleboxes.is_empty() {
            empty_inputs.push((i, input.source.clone(), input.conference_keys.clone(), input.notes.clone()));
        }
        for p in input.participants {
            items.push(Item { input: i, participant: p });
        }
        for m in input.middleboxes {
            observations.push((i, m));
        }
        notes.push(input.notes);
        keys.push(input.conference_keys);
        formats.push(input.format);
        sources.push(input.source);
    }

    // Merge snapshot files of one endpoint: same outbound SSRCs.
    let mut merged: Vec<Item> = Vec::new();
    for item in items {
        let snapshot = formats[item.input] == Format::GetStatsSnapshot;
        let sent = outbound_ssrcs(&item.participant);
        let target = merged.iter_mut().find(|m| {
            snapshot
                && formats[m.input] == Format::GetStatsSnapshot
                && !sent.is_empty()
                && outbound_ssrcs(&m.participant) == sent
        });
        match target {
            Some(t) => merge_participant(&mut t.participant, item.participant),
            None => merged.push(item),
        }
    }
    let items = merged;

    // Middlebox observations with a call id join whole; the others record by record.
    let mut units: Vec<Unit> = Vec::new();
    for (k, (_, m)) in observations.iter().enumerate() {
        let keyed = m.conference_keys.iter().any(|(key, _)| joining_key(key));
        let parts = m
            .clients
            .iter()
            .enumerate()
            .map(|(j, _)| Part::Client(j))
            .chain(m.allocations.iter().enumerate().map(|(j, _)| Part::Allocation(j)))
            .chain(m.allocation_errors.iter().enumerate().map(|(j, _)| Part::Error(j)));
        let before = units.len();
        if !keyed {
            units.extend(parts.map(|part| Unit { obs: k, part }));
        }
        if units.len() == before {
            units.push(Unit { obs: k, part: Part::Whole });
        }
    }

    // Union-find over participants, plus one node per middlebox unit.
    let n = items.len() + units.len();
    let mut parent: Vec<usize> = (0..n).collect();
    // Why two nodes were joined, by one of the nodes.
    let mut reasons: Vec<(usize, String)> = Vec::new();
    fn find(parent: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while parent[r] != r {
            r = parent[r];
        }
        let mut y = x;
        while parent[y] != r {
            let next = parent[y];
            parent[y] = r;
            y = next;
        }
        r
    }
    let union =
        |parent: &mut Vec<usize>, a: usize, b: usize, why: String, reasons: &mut Vec<(usize, String)>| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
                if !why.is_empty() && !reasons.iter().any(|(_, r)| *r == why) {
                    reasons.push((a, why));
                }
            }
        };
    let key_sets: Vec<BTreeSet<(String, String)>> = (0..n)
        .map(|i| {
            if i < items.len() {
                let mut set: BTreeSet<(String, String)> =
                    keys[items[i].input].iter().filter(|(k, _)| joining_key(k)).cloned().collect();
                for (k, v) in &items[i].participant.identifiers {
                    if joining_key(k) {
                        set.insert((k.clone(), v.clone()));
                    }
                }
                set
            } else {
                observations[units[i - items.len()].obs]
                    .1
                    .conference_keys
                    .iter()
                    .filter(|(k, _)| joining_key(k))
                    .cloned()
                    .collect()
            }
        })
        .collect();
    for a in 0..n {
        for b in (a + 1)..n {
            if let Some((k, v)) = key_sets[a].intersection(&key_sets[b]).next() {
                union(&mut parent, a, b, format!("same {k} `{v}`"), &mut reasons);
                continue;
            }
            if a < items.len() && b < items.len() {
                let (pa, pb) = (&items[a].participant, &items[b].participant);
                if let Some(ssrc) = shared_ssrc(pa, pb).or_else(|| shared_ssrc(pb, pa)) {
                    union(
                        &mut parent,
                        a,
                        b,
                        format!("media SSRC {ssrc} sent by one and received by the other"),
                        &mut reasons,
                    );
                } else if let Some(addr) = shared_address(pa, pb).or_else(|| shared_address(pb, pa)) {
                    union(&mut parent, a, b, format!("candidate address {addr} on both sides"), &mut reasons);
                }
            }
        }
    }

    // Middlebox records join the call of the participant they match, among the participants
    // whose call ids do not contradict the record's (kept per group as groups merge).
    let facts: Vec<middlebox::Facts> = if units.is_empty() {
        Vec::new()
    } else {
        items.iter().map(|it| middlebox::Facts::of(&it.participant)).collect()
    };
    let mut group_keys: BTreeMap<usize, BTreeSet<(String, String)>> = BTreeMap::new();
    for (i, set) in key_sets.iter().enumerate() {
        let r = find(&mut parent, i);
        group_keys.entry(r).or_default().extend(set.iter().cloned());
    }
    let mut unit_notes: Vec<Vec<DataNote>> = (0..units.len()).map(|_| Vec::new()).collect();
    for (u, unit) in units.iter().enumerate() {
        let node = items.len() + u;
        let (input, m) = &observations[unit.obs];
        let kind = m.kind.map(MiddleboxKind::as_str).unwrap_or("middlebox");
        for r in unit_records(m, unit.part) {
            let own_root = find(&mut parent, node);
            let own = group_keys.get(&own_root).cloned().unwrap_or_default();
            let candidates: Vec<usize> = (0..items.len())
                .filter(|&i| {
                    let root = find(&mut parent, i);
                    group_keys.get(&root).is_none_or(|theirs| compatible(&own, theirs))
                })
                .collect();
            let refs: Vec<&middlebox::Facts> = candidates.iter().map(|&i| &facts[i]).collect();
            let d = middlebox::decide(r, &refs);
            match d.chosen {
                Some(c) => {
                    let item = candidates[c];
                    let item_root = find(&mut parent, item);
                    let why = format!(
                        "{kind} {}: {} is {}: {}",
                        m.server,
                        r.describe(),
                        items[item].participant.id,
                        d.evidence.first().map(String::as_str).unwrap_or("matched")
                    );
                    union(&mut parent, node, item, why, &mut reasons);
                    if item_root != own_root {
                        let mut merged = group_keys.remove(&own_root).unwrap_or_default();
                        merged.extend(group_keys.remove(&item_root).unwrap_or_default());
                        group_keys.insert(find(&mut parent, node), merged);
                    }
                }
                None if unit.part != Part::Whole => {
                    for p in d.problems {
                        unit_notes[u].push(DataNote {
                            source: sources[*input].clone(),
                            location: Some(format!("{kind} {}, {}", m.server, r.name())),
                            message: format!("{p}; not joined to any call"),
                        });
                    }
                }
                None => {}
            }
        }
    }
    // What matched nobody stays together, one conference per observation.
    let with_participants: BTreeSet<usize> = (0..items.len()).map(|i| find(&mut parent, i)).collect();
    let mut leftover: BTreeMap<usize, usize> = BTreeMap::new();
    for (u, unit) in units.iter().enumerate() {
        let node = items.len() + u;
        if with_participants.contains(&find(&mut parent, node)) {
            continue;
        }
        match leftover.get(&unit.obs) {
            Some(&first) => union(&mut parent, first, node, String::new(), &mut reasons),
            None => {
                leftover.insert(unit.obs, node);
            }
        }
    }

    // Build conferences in order of first appearance.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    let item_count = items.len();
    let mut conferences = Vec::new();
    for (_, members) in groups {
        let mut conference = Conference::default();
        let mut inputs_used = BTreeSet::new();
        let mut conf_keys: BTreeSet<(String, String)> = BTreeSet::new();
        // Observation → the parts of it in this conference, in order.
        let mut parts: BTreeMap<usize, Vec<Part>> = BTreeMap::new();
        let mut extra_notes = Vec::new();
        for &m in &members {
            conf_keys.extend(key_sets[m].iter().cloned());
            if m < item_count {
                if let Some(item) = items[m].take() {
                    inputs_used.insert(item.input);
                    conference.participants.push(item.participant);
                }
            } else {
                let unit = &units[m - item_count];
                parts.entry(unit.obs).or_default().push(unit.part);
                extra_notes.append(&mut unit_notes[m - item_count]);
            }
        }
        let mut mb_sources = Vec::new();
        for (k, parts) in parts {
            let (input, obs) = &mut observations[k];
            inputs_used.insert(*input);
            mb_sources.push(sources[*input].clone());
            conference.middleboxes.push(take_parts(obs, &parts));
        }
        for i in inputs_used {
            conference.notes.extend(notes[i].iter().cloned());
        }
        conference.id = conference_id(&conf_keys, &conference);
        if conference.participants.len() + conference.middleboxes.len() > 1 {
            let member_set: BTreeSet<usize> = members.iter().copied().collect();
            conference.joined_by = reasons
                .iter()
                .filter(|(node, _)| member_set.contains(node))
                .map(|(_, r)| r.clone())
                .collect();
        }
        disambiguate_names(&mut conference.participants);
        mark_matched_peers(&mut conference);
        middlebox::attach(&mut conference, &mb_sources, extra_notes);
        conferences.push(conference);
    }
    for (_, source, keys, notes) in empty_inputs {
        let id = keys
            .iter()
            .find(|(k, _)| joining_key(k) || k == "meetingUniqueId")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("no-call-data-in-{source}"));
        conferences.push(Conference { id: ConferenceId::new(id), notes, ..Conference::default() });
    }
    conferences
}

/// Moves the given parts of an observation out into an observation of their own (the
/// whole one when it joined whole).
fn take_parts(obs: &mut MiddleboxObservation, parts: &[Part]) -> MiddleboxObservation {
    if parts.contains(&Part::Whole) {
        return std::mem::take(obs);
    }
    let mut out = MiddleboxObservation {
        kind: obs.kind,
        server: obs.server.clone(),
        software: obs.software.clone(),
        conference_keys: obs.conference_keys.clone(),
        not_modelled: obs.not_modelled.clone(),
        ..MiddleboxObservation::default()
    };
    for part in parts {
        match *part {
            Part::Client(j) => out.clients.extend(obs.clients.get_mut(j).map(std::mem::take)),
            Part::Allocation(j) => out.allocations.extend(obs.allocations.get_mut(j).map(std::mem::take)),
            Part::Error(j) => {
                out.allocation_errors.extend(obs.allocation_errors.get_mut(j).map(std::mem::take))
            }
            Part::Whole => {}
        }
    }
    out
}

/// Two endpoints whose connections carry each other's media directly are peers, whatever
/// the connection could tell on its own.
fn mark_matched_peers(conference: &mut Conference) {
    let matches = hopscope_model::graph::match_peers(conference);
    let mut updates = Vec::new();
    for ((pi, ci), (qi, _)) in matches {
        let other = conference.participants[qi].id.clone();
        let pc = &conference.participants[pi].peer_connections[ci];
        if pc.remote_kind == hopscope_model::RemoteKind::Unknown {
            updates.push((pi, ci, other));
        }
    }
    for (pi, ci, other) in updates {
        let pc = &mut conference.participants[pi].peer_connections[ci];
        pc.remote_kind = hopscope_model::RemoteKind::Peer;
        pc.remote_kind_evidence = Some(format!(
            "its media goes to and comes from {other} directly (the same SSRCs or addresses on both ends)"
        ));
    }
}

/// Identifiers that name a call (not a person or a server).
fn joining_key(key: &str) -> bool {
    matches!(key, "meetingUniqueId" | "conference" | "callId")
}

fn conference_id(keys: &BTreeSet<(String, String)>, conference: &Conference) -> ConferenceId {
    for wanted in ["conference", "meetingUniqueId", "callId"] {
        if let Some((_, v)) = keys.iter().find(|(k, _)| k == wanted) {
            return ConferenceId::new(v.clone());
        }
    }
    if let Some(name) = conference.participants.iter().find_map(|p| p.identifier("confName")) {
        return ConferenceId::new(name);
    }
    let names: Vec<&str> = conference.participants.iter().map(|p| p.id.as_str()).collect();
    if names.is_empty() {
        let server = conference.middleboxes.first().map(|m| m.server.as_str()).unwrap_or("empty");
        return ConferenceId::new(format!("observed-by-{server}"));
    }
    ConferenceId::new(format!("call-of-{}", names.join("+")))
}

fn outbound_ssrcs(p: &Participant) -> BTreeSet<u32> {
    p.peer_connections
        .iter()
        .flat_map(|pc| pc.outbound.iter().filter_map(|s| s.info.ssrc))
        .filter(|s| *s != 0)
        .collect()
}

fn inbound_ssrcs(p: &Participant) -> BTreeSet<u32> {
    p.peer_connections
        .iter()
        .flat_map(|pc| pc.inbound.iter().filter_map(|s| s.info.ssrc))
        .filter(|s| *s != 0)
        .collect()
}

fn shared_ssrc(sender: &Participant, receiver: &Participant) -> Option<u32> {
    let sent = outbound_ssrcs(sender);
    inbound_ssrcs(receiver).into_iter().find(|s| sent.contains(s))
}

fn selected_candidates(pc: &PeerConnection, remote: bool) -> Vec<&IceCandidate> {
    pc.selected_pairs
        .iter()
        .filter_map(|c| pc.candidate_pair(&c.pair_stats_id))
        .filter_map(
            |p| if remote { p.remote_candidate_id.as_deref() } else { p.local_candidate_id.as_deref() },
        )
        .filter_map(|id| pc.candidate(id))
        .collect()
}

/// An address `a` sends to that `b` sends from: on the selected pairs of both, or failing
/// that on the selected pair of one and among the gathered candidates of the other (a call
/// where only one side got connected, as when the other rejects the answer).
fn shared_address(a: &Participant, b: &Participant) -> Option<String> {
    let endpoints = |p: &Participant, remote: bool, selected_only: bool| -> BTreeSet<String> {
        p.peer_connections
            .iter()
            .flat_map(|pc| {
                if selected_only {
                    selected_candidates(pc, remote)
                } else {
                    pc.candidates.iter().filter(|c| c.is_remote == remote).collect()
                }
            })
            .filter_map(IceCandidate::endpoint)
            .collect()
    };
    let a_selected = endpoints(a, true, true);
    let b_selected = endpoints(b, false, true);
    if let Some(e) = a_selected.intersection(&b_selected).next() {
        return Some(e.clone());
    }
    let b_gathered = endpoints(b, false, false);
    if let Some(e) = a_selected.intersection(&b_gathered).next() {
        return Some(e.clone());
    }
    let a_gathered = endpoints(a, true, false);
    a_gathered.intersection(&b_selected).next().cloned()
}

/// Two participants may carry the same display name (the same person joined twice):
/// suffix an endpoint id or the file name.
fn disambiguate_names(participants: &mut [Participant]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for p in participants.iter() {
        *seen.entry(p.id.as_str().to_string()).or_default() += 1;
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for p in participants.iter_mut() {
        let name = p.id.as_str().to_string();
        if seen.get(&name).copied().unwrap_or(0) > 1 {
            let suffix = p
                .identifier("endpointId")
                .map(String::from)
                .unwrap_or_else(|| crate::participant_name_from_file(&p.source.name));
            let mut candidate = format!("{name} ({suffix})");
            let mut k = 2;
            while used.contains(&candidate) {
                candidate = format!("{name} ({suffix} #{k})");
                k += 1;
            }
            p.id = ParticipantId::new(candidate);
        }
        used.insert(p.id.as_str().to_string());
    }
}

/// Appends `other`'s data to `into` (same endpoint, later reports).
fn merge_participant(into: &mut Participant, other: Participant) {
    into.events.extend(other.events);
    into.events.sort_by_key(|e| e.at);
    for pc in other.peer_connections {
        match into.peer_connections.iter_mut().find(|p| p.id == pc.id) {
            Some(existing) => merge_pc(existing, pc),
            None => into.peer_connections.push(pc),
        }
    }
}

fn merge_pc(into: &mut PeerConnection, other: PeerConnection) {
    fn merge_streams<S: Clone>(
        into: &mut Vec<hopscope_model::stats::Stream<S>>,
        other: Vec<hopscope_model::stats::Stream<S>>,
        at: fn(&S) -> hopscope_model::Timestamp,
    ) {
        for s in other {
            match into.iter_mut().find(|x| x.info.stats_id == s.info.stats_id) {
                Some(x) => {
                    x.samples.extend(s.samples);
                    x.samples.sort_by_key(&at);
                }
                None => into.push(s),
            }
        }
    }
    merge_streams(&mut into.inbound, other.inbound, |s| s.at);
    merge_streams(&mut into.outbound, other.outbound, |s| s.at);
    merge_streams(&mut into.remote_inbound, other.remote_inbound, |s| s.at);
    merge_streams(&mut into.remote_outbound, other.remote_outbound, |s| s.at);
    for p in other.candidate_pairs {
        match into.candidate_pairs.iter_mut().find(|x| x.stats_id == p.stats_id) {
            Some(x) => {
                x.samples.extend(p.samples);
                x.samples.sort_by_key(|s| s.at);
            }
            None => into.candidate_pairs.push(p),
        }
    }
    for c in other.candidates {
        match into.candidates.iter_mut().find(|x| x.stats_id == c.stats_id) {
            Some(x) => *x = c,
            None => into.candidates.push(c),
        }
    }
    for t in other.transports {
        match into.transports.iter_mut().find(|x| x.stats_id == t.stats_id) {
            Some(x) => {
                x.samples.extend(t.samples);
                x.samples.sort_by_key(|s| s.at);
            }
            None => into.transports.push(t),
        }
    }
    for c in other.codecs {
        if !into.codecs.iter().any(|x| x.stats_id == c.stats_id) {
            into.codecs.push(c);
        }
    }
    into.selected_pairs.extend(other.selected_pairs);
    into.selected_pairs.sort_by_key(|c| c.at);
    into.selected_pairs.dedup_by(|b, a| a.pair_stats_id == b.pair_stats_id);
    into.stats_times.extend(other.stats_times);
    into.stats_times.sort();
    into.stats_times.dedup();
    into.events.extend(other.events);
    into.events.sort_by_key(|e| e.at);
}
