//! SFU and TURN observations as input: read per docs/middlebox-observations.md, joined to
//! the conference and to the participant each record is (with the evidence), turned into
//! per-hop interval metrics, reported, and refused with a precise message when malformed.
//!
//! Fixtures: `tests/fixtures/native/` (written by its `generate.py`).

use hopscope_ingest::{IngestError, Limits, Location, assemble, ingest};
use hopscope_model::intervals::inbound_totals;
use hopscope_model::middlebox::intervals::{sfu_client_intervals, sfu_outbound_intervals, turn_intervals};
use hopscope_model::middlebox::{MiddleboxClient, MiddleboxKind, MiddleboxObservation, TransportProtocol};
use hopscope_model::{Conference, DataNote};
use hopscope_tests::{conference, conferences, fixture};
use serde_json::{Value, json};

const SFU_CALL: &str = "native/sfu-uplink-loss/call.hopscope.ndjson";
const TURN_FILES: [&str; 4] = [
    "native/turn-relayed/alice.hopscope.ndjson",
    "native/turn-relayed/bob.hopscope.ndjson",
    "native/turn-relayed/carol.hopscope.ndjson",
    "native/turn-relayed/turn-fra-1.hopscope.ndjson",
];

fn sfu(c: &Conference) -> &MiddleboxObservation {
    let sfus: Vec<_> = c.middleboxes.iter().filter(|m| m.kind == Some(MiddleboxKind::Sfu)).collect();
    assert_eq!(sfus.len(), 1, "one SFU observation");
    sfus[0]
}

fn client<'a>(m: &'a MiddleboxObservation, id: &str) -> &'a MiddleboxClient {
    m.clients.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no transport {id}"))
}

fn matched(c: &MiddleboxClient) -> (&str, &[String]) {
    let m = c.matched.as_ref().unwrap_or_else(|| panic!("{} matched nobody", c.id));
    (m.participant.as_str(), &m.evidence)
}

fn has_note(c: &Conference, location: &str, text: &str) -> bool {
    c.notes
        .iter()
        .any(|n| n.location.as_deref().is_some_and(|l| l.contains(location)) && n.message.contains(text))
}

fn notes(c: &Conference) -> Vec<&DataNote> {
    c.notes.iter().collect()
}

/// Loss over a series of intervals: total lost over total seen.
fn overall(pairs: impl Iterator<Item = (Option<f64>, Option<f64>)>) -> f64 {
    let (mut lost, mut seen) = (0.0, 0.0);
    for (l, r) in pairs {
        if let (Some(l), Some(r)) = (l, r) {
            lost += l;
            seen += l + r;
        }
    }
    assert!(seen > 0.0, "no packets");
    lost / seen
}

#[test]
fn sfu_transports_join_their_participants_with_evidence() {
    let c = conference(&[fixture(SFU_CALL)]);
    assert_eq!(c.id.as_str(), "room-42");
    let mut names: Vec<&str> = c.participants.iter().map(|p| p.id.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "bob", "carol"], "the recorder's transport invents no participant");
    let m = sfu(&c);
    assert_eq!(m.server, "sfu-eu-1");
    assert_eq!(m.software.as_deref(), Some("mediasoup 3.14"));
    assert_eq!(m.conference_keys, [("conference".to_string(), "room-42".to_string())]);
    assert_eq!(m.clients.len(), 4);

    // Named by the server; the address and the SSRCs agree.
    let alice = client(m, "t-alice-1");
    let (who, evidence) = matched(alice);
    assert_eq!(who, "alice");
    assert_eq!(evidence[0], "the server names its participant `alice`");
    assert!(
        evidence
            .iter()
            .any(|e| e == "its remote address 198.51.100.7:53124 is alice's local srflx candidate"),
        "{evidence:?}"
    );
    assert!(evidence.iter().any(|e| e.contains("(1001, 1002) are alice's outbound SSRCs")), "{evidence:?}");
    assert_eq!(alice.remote_address(), Some("198.51.100.7:53124"));
    assert_eq!(alice.local_address.as_deref(), Some("203.0.113.5:10000"));
    assert_eq!(alice.protocol, Some(TransportProtocol::Udp));
    assert_eq!(alice.relayed, Some(false));
    assert_eq!(alice.samples.len(), 11);
    assert_eq!(alice.inbound.len(), 2);
    assert_eq!(alice.outbound.len(), 4);
    assert!(alice.outbound.iter().all(|s| s.sender.as_deref() != Some("alice")));
    // ICE connected between the server's samples at 0.4 s and 2.4 s, the endpoint's at 1.2 s.
    let offset = alice.matched.as_ref().and_then(|m| m.clock_offset.clone()).expect("clock offset bounded");
    assert_eq!(offset.basis, "ICE connected");
    assert!((offset.min_s - -0.8).abs() < 1e-6 && (offset.max_s - 1.2).abs() < 1e-6, "{offset:?}");

    // No participant id: the address decides, the SSRCs confirm.
    let (who, evidence) = matched(client(m, "t-carol-1"));
    assert_eq!(who, "carol");
    assert_eq!(evidence[0], "its remote address 192.0.2.30:40001 is carol's local srflx candidate");
    assert!(evidence[1].contains("are carol's outbound SSRCs"), "{evidence:?}");
    assert_eq!(matched(client(m, "t-bob-1")).0, "bob");

    // The recorder bot matches nobody: kept, noted, no hop.
    let recorder = client(m, "t-recorder-1");
    assert!(recorder.matched.is_none());
    assert!(
        has_note(
            &c,
            "sfu sfu-eu-1, transport t-recorder-1",
            "matches no participant in this conference (no participant `recorder`, no endpoint candidate at 203.0.113.77:40000)"
        ),
        "{:?}",
        notes(&c)
    );
    assert!(!c.notes.iter().any(|n| n.message.contains("clock skew")), "{:?}", notes(&c));
}

#[test]
fn alices_lossy_uplink_shows_at_the_sfu_and_at_the_receivers() {
    let c = conference(&[fixture(SFU_CALL)]);
    let m = sfu(&c);
    let up = |id: &str| {
        let iv = sfu_client_intervals(client(m, id));
        overall(iv.iter().map(|i| (i.upstream_packets_lost, i.upstream_packets_received)))
    };
    let alice_up = up("t-alice-1");
    assert!((0.07..0.09).contains(&alice_up), "SFU inbound loss from alice {alice_up}");
    assert!(up("t-bob-1") < 0.01 && up("t-carol-1") < 0.01);

    let iv = sfu_client_intervals(client(m, "t-alice-1"));
    assert_eq!(iv.len(), 10, "one interval per pair of SFU observations, 2 s apart");
    assert!(iv.iter().all(|i| (i.duration_s() - 2.0).abs() < 1e-9 && !i.reset));
    // Media starts at 1.5 s, inside the first interval (0.4 s–2.4 s).
    assert!(iv.iter().all(|i| i.upstream_active && i.upstream_loss_fraction.is_some()));
    assert!(iv.iter().all(|i| i.upstream_jitter_ms == Some(16.0)), "the worst stream's jitter");
    assert!(iv.iter().all(|i| i.rtt_ms.is_some_and(|r| (r - 48.4).abs() < 1e-6)), "the server's RTT");

    // What the SFU forwards from alice arrives with her loss: the receivers' reports say so.
    for receiver in ["t-bob-1", "t-carol-1"] {
        let from_alice: Vec<_> = client(m, receiver)
            .outbound
            .iter()
            .filter(|s| s.sender.as_deref() == Some("alice"))
            .flat_map(sfu_outbound_intervals)
            .collect();
        let sent: f64 = from_alice.iter().filter_map(|i| i.packets_sent).sum();
        let lost: f64 = from_alice.iter().filter_map(|i| i.packets_lost).sum();
        assert!((0.07..0.10).contains(&(lost / sent)), "{receiver}: {lost} of {sent}");
        let mixed = sfu_client_intervals(client(m, receiver));
        assert!(mixed[1..].iter().all(|i| i.downstream_loss_fraction.is_some_and(|f| f > 0.0 && f < 0.1)));
    }
    // ... and the receivers' own stats see it as loss on what they receive from alice.
    for name in ["bob", "carol"] {
        let p = c.participants.iter().find(|p| p.id.as_str() == name).expect("participant");
        let video =
            p.peer_connections[0].inbound.iter().find(|s| s.info.ssrc == Some(1002)).expect("alice's video");
        let (received, lost) = inbound_totals(&video.samples);
        let loss = lost.unwrap_or(0.0) / (lost.unwrap_or(0.0) + received.unwrap_or(0.0));
        assert!((0.07..0.10).contains(&loss), "{name} loses {loss} of alice's video");
    }
}

#[test]
fn the_report_says_which_participant_each_transport_is_and_its_hop_metrics() {
    let c = conference(&[fixture(SFU_CALL)]);
    let d = hopscope_diagnose::diagnose(&c);
    assert_eq!(d.middleboxes.len(), 1);
    let m = &d.middleboxes[0];
    assert_eq!(m.kind, Some("sfu"));
    let alice = m.clients.iter().find(|c| c.id == "t-alice-1").expect("alice's transport");
    assert_eq!(alice.participant.as_deref(), Some("alice"));
    assert!(alice.participant_evidence[0].contains("names its participant"));
    let loss = alice.upstream_loss_pct.expect("upstream loss");
    assert!((6.0..10.0).contains(&loss.mean), "{loss:?}");
    assert_eq!(alice.upstream_jitter_ms.map(|j| j.max), Some(16.0));
    assert!(alice.rtt_ms.is_some_and(|r| (r.mean - 48.4).abs() < 1e-6));
    assert!(alice.downstream_loss_pct.is_some_and(|r| r.mean < 1.0));
    let recorder = m.clients.iter().find(|c| c.id == "t-recorder-1").expect("recorder");
    assert_eq!(recorder.participant, None);
    let text = hopscope_diagnose::render(&d, hopscope_diagnose::Detail::Full);
    assert!(
        text.contains(
            "t-alice-1 → alice (the server names its participant `alice`): ICE connected; upstream loss"
        ),
        "{text}"
    );
    assert!(text.contains("t-recorder-1 → no participant matched"), "{text}");
    let json = serde_json::to_value(&d).expect("serialises");
    assert_eq!(json["middleboxes"][0]["clients"][0]["participant"], "alice");
}

#[test]
fn turn_allocations_without_a_conference_id_join_by_participant_and_address() {
    let files: Vec<_> = TURN_FILES.iter().map(|f| fixture(f)).collect();
    let all = conferences(&files);
    assert_eq!(all.len(), 2, "the call, and the relay's allocation of a client not in the inputs");
    let call = &all[0];
    assert_eq!(call.id.as_str(), "relay-call");
    assert_eq!(call.participants.len(), 3, "middlebox data invents no participant");
    let turn = &call.middleboxes[0];
    assert_eq!(turn.kind, Some(MiddleboxKind::Turn));
    assert_eq!((turn.server.as_str(), turn.software.as_deref()), ("turn-fra-1", Some("coturn 4.6.2")));
    assert!(turn.conference_keys.is_empty(), "the relay knows no conference");
    let ids: Vec<&str> = turn.allocations.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a-17", "a-18"]);

    let a17 = &turn.allocations[0];
    let m = a17.matched.as_ref().expect("a-17 matched");
    assert_eq!(m.participant.as_str(), "alice");
    assert_eq!(
        m.evidence,
        [
            "the relay names its participant `alice`",
            "its relay address 203.0.113.9:49152 is alice's selected local relay candidate",
            "its client address 198.51.100.7:53124 is alice's local srflx candidate",
            "its TURN REST username (`expiry:user`) names `alice`, alice",
        ]
    );
    assert_eq!(a17.protocol, Some(TransportProtocol::Udp));
    assert_eq!(a17.peers, ["203.0.113.9:49170"]);
    assert_eq!(a17.samples.len(), 5);

    // An opaque username: the relay address decides.
    let m = turn.allocations[1].matched.as_ref().expect("a-18 matched");
    assert_eq!(m.participant.as_str(), "bob");
    assert_eq!(m.evidence[0], "its relay address 203.0.113.9:49170 is bob's selected local relay candidate");
    assert!(
        call.joined_by.iter().any(|j| j.contains("allocation a-18") && j.contains("is bob")),
        "{:?}",
        call.joined_by
    );

    // Carol's refused allocation: her srflx address, her name in the username, her browser's 401.
    assert_eq!(turn.allocation_errors.len(), 1);
    let e = &turn.allocation_errors[0];
    assert_eq!((e.code, e.reason.as_deref()), (Some(401), Some("Unauthorized")));
    let m = e.matched.as_ref().expect("the error matched");
    assert_eq!(m.participant.as_str(), "carol");
    assert_eq!(m.evidence[0], "its client address 198.51.100.8:40000 is carol's local srflx candidate");
    assert!(
        m.evidence.iter().any(|w| w.starts_with("carol's browser reported TURN error 401")),
        "{:?}",
        m.evidence
    );

    // Loss inside the relay, each way: 1 % of alice's packets never reach bob's allocation.
    let iv = turn_intervals(a17);
    assert_eq!(iv.len(), 4);
    let to_peers = overall(iv.iter().map(|i| {
        let (Some(from), Some(to)) = (i.packets_from_client, i.packets_to_peers) else { return (None, None) };
        (Some(from - to), Some(to))
    }));
    assert!((0.005..0.015).contains(&to_peers), "relay loss to peers {to_peers}");
    assert!(iv.iter().all(|i| i.peers_to_client_loss_fraction.is_none_or(|f| f == 0.0)));

    // The unmatched allocation is kept in a conference of its own, with a note.
    let rest = &all[1];
    assert!(rest.participants.is_empty());
    assert_eq!(rest.id.as_str(), "observed-by-turn-fra-1");
    assert_eq!(rest.middleboxes[0].allocations.len(), 1);
    assert_eq!(rest.middleboxes[0].allocations[0].id, "a-99");
    assert!(
        has_note(rest, "turn-fra-1", "1 turn record matches no endpoint in the inputs"),
        "{:?}",
        notes(rest)
    );

    let d = hopscope_diagnose::diagnose(call);
    let text = hopscope_diagnose::render(&d, hopscope_diagnose::Detail::Full);
    assert!(text.contains("allocation a-17 → alice (the relay names its participant `alice`)"), "{text}");
    assert!(
        text.contains("allocation refused at 10:00:02: 401 Unauthorized from 198.51.100.8:40000 → carol"),
        "{text}"
    );
    let r = &d.middleboxes[0].allocations[0];
    assert!(r.client_to_peers_loss_pct.is_some_and(|l| l.mean > 0.5 && l.mean < 1.5), "{r:?}");
}

#[test]
fn file_order_does_not_change_the_join() {
    let files: Vec<_> = TURN_FILES.iter().map(|f| fixture(f)).collect();
    let reversed: Vec<_> = files.iter().rev().cloned().collect();
    let summary = |cs: Vec<Conference>| {
        let mut out: Vec<(String, String, Option<String>)> = Vec::new();
        for c in cs {
            for m in &c.middleboxes {
                for a in &m.allocations {
                    out.push((
                        c.id.to_string(),
                        a.id.clone(),
                        a.matched.as_ref().map(|m| m.participant.to_string()),
                    ));
                }
            }
        }
        out.sort();
        out
    };
    assert_eq!(summary(conferences(&files)), summary(conferences(&reversed)));
}

/// The SFU fixture's lines, with `edit` applied to every SFU envelope.
fn edited_sfu_call(edit: impl Fn(&mut Value)) -> String {
    let text = std::fs::read_to_string(fixture(SFU_CALL)).expect("fixture");
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("JSON line");
        if v["source"] == "sfu" {
            edit(&mut v);
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

fn one_conference(name: &str, text: &str) -> Conference {
    let i = ingest(name, text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut all = assemble(vec![i]);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn clock_skew_between_the_sfu_and_the_endpoints_is_noted() {
    let text = edited_sfu_call(|v| {
        let ts = v["timestamp"].as_f64().expect("timestamp");
        v["timestamp"] = json!(ts + 9000.0);
    });
    let c = one_conference("skewed.ndjson", &text);
    let alice = client(sfu(&c), "t-alice-1");
    let offset = alice.matched.as_ref().and_then(|m| m.clock_offset.clone()).expect("bounded");
    assert!((offset.estimate_s() - 9.2).abs() < 0.01, "{offset:?}");
    assert!(
        has_note(
            &c,
            "sfu sfu-eu-1, transport t-alice-1",
            "clock skew: sfu-eu-1's clock is about 9.2 s ahead of alice's (between 8.2 and 10.2 s, from ICE connected)"
        ),
        "{:?}",
        notes(&c)
    );
    // Within the limit: no note.
    let text = edited_sfu_call(|v| {
        let ts = v["timestamp"].as_f64().expect("timestamp");
        v["timestamp"] = json!(ts - 3000.0);
    });
    let c = one_conference("slight.ndjson", &text);
    assert!(!c.notes.iter().any(|n| n.message.contains("clock skew")), "{:?}", notes(&c));
}

/// A minimal endpoint envelope: one report with a srflx candidate and an outbound SSRC.
fn endpoint(participant: &str, srflx: (&str, u16), ssrc: u32) -> String {
    json!({"v": 1, "conference": "c-1", "participant": participant, "pc": "pc-1", "timestamp": 1.7e12,
    "stats": [
        {"id": "L1", "type": "local-candidate", "timestamp": 1.7e12, "candidateType": "srflx",
         "address": srflx.0, "port": srflx.1, "protocol": "udp"},
        {"id": "O1", "type": "outbound-rtp", "timestamp": 1.7e12, "kind": "audio", "ssrc": ssrc,
         "packetsSent": 10, "bytesSent": 1000}
    ]})
    .to_string()
}

fn sfu_line(transports: Value) -> String {
    json!({"v": 1, "conference": "c-1", "source": "sfu", "server": "sfu-1", "timestamp": 1.7e12 + 500.0,
        "transports": transports})
    .to_string()
}

#[test]
fn contradicting_and_ambiguous_middlebox_records_are_noted() {
    let lines = [
        endpoint("alice", ("198.51.100.1", 1000), 11),
        endpoint("bob", ("198.51.100.2", 2000), 22),
        // A NAT shared by two clients, badly: both report the same srflx address.
        endpoint("dan", ("198.51.100.9", 9000), 44),
        endpoint("erin", ("198.51.100.9", 9000), 55),
        sfu_line(json!([
            // Named alice, but at bob's address and receiving bob's SSRC.
            {"participant": "alice", "transport": "t-1", "remoteAddress": "198.51.100.2:2000",
             "inbound": [{"ssrc": 22, "packetsReceived": 5}]},
            // At the address both dan and erin claim; nothing else to go by.
            {"transport": "t-2", "remoteAddress": "198.51.100.9:9000"},
            // Names a participant nobody sent data for.
            {"participant": "zoe", "transport": "t-3"}
        ])),
    ];
    let c = one_conference("c.ndjson", &lines.join("\n"));
    assert_eq!(c.participants.len(), 4);
    let m = sfu(&c);
    assert_eq!(matched(client(m, "t-1")).0, "alice", "the server's own participant id wins");
    assert!(
        has_note(
            &c,
            "transport t-1",
            "matched alice but its remote address 198.51.100.2:2000 is bob's local srflx candidate"
        ),
        "{:?}",
        notes(&c)
    );
    assert!(has_note(
        &c,
        "transport t-1",
        "matched alice but the SSRCs it receives from the client (22) are bob's"
    ));
    assert!(client(m, "t-2").matched.is_none());
    assert!(has_note(&c, "transport t-2", "points at several participants (dan, erin)"), "{:?}", notes(&c));
    assert!(client(m, "t-3").matched.is_none());
    assert!(has_note(&c, "transport t-3", "no participant `zoe`"));
    // Two records matched to different participants at one address.
    let lines = [
        endpoint("alice", ("198.51.100.1", 1000), 11),
        endpoint("bob", ("198.51.100.2", 2000), 22),
        sfu_line(json!([
            {"participant": "alice", "transport": "t-1", "remoteAddress": "198.51.100.1:1000"},
            {"participant": "bob", "transport": "t-2", "remoteAddress": "198.51.100.1:1000"}
        ])),
    ];
    let c = one_conference("c.ndjson", &lines.join("\n"));
    assert!(
        has_note(
            &c,
            "198.51.100.1:1000",
            "address 198.51.100.1:1000 is claimed by several participants (alice, bob)"
        ),
        "{:?}",
        notes(&c)
    );
}

#[test]
fn a_participant_id_never_joins_two_different_calls() {
    // Alice is in two calls; a TURN allocation naming only `alice` belongs to neither.
    let a1 = endpoint("alice", ("198.51.100.1", 1000), 11);
    let a2 = endpoint("alice", ("198.51.100.5", 5000), 55).replace("\"c-1\"", "\"c-2\"");
    let turn = json!({"v": 1, "source": "turn", "server": "turn-1", "timestamp": 1.7e12,
        "allocations": [{"id": "a-1", "participant": "alice", "packetsFromClient": 1}]})
    .to_string();
    let inputs = vec![
        ingest("a1.ndjson", a1.as_bytes(), &Limits::default()).expect("a1"),
        ingest("a2.ndjson", a2.as_bytes(), &Limits::default()).expect("a2"),
        ingest("turn.ndjson", turn.as_bytes(), &Limits::default()).expect("turn"),
    ];
    let all = assemble(inputs);
    assert_eq!(all.len(), 3, "{:?}", all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>());
    let rest = all.iter().find(|c| c.participants.is_empty()).expect("the allocation on its own");
    assert!(
        has_note(
            rest,
            "turn turn-1, allocation a-1",
            "points at several participants (alice in a1.ndjson, alice in a2.ndjson): the relay names its participant `alice`"
        ),
        "{:?}",
        notes(rest)
    );
    // An address only one of them has decides, and the allocation joins that call.
    let turn = json!({"v": 1, "source": "turn", "server": "turn-1", "timestamp": 1.7e12,
        "allocations": [{"id": "a-1", "participant": "alice", "clientAddress": "198.51.100.5:5000"}]})
    .to_string();
    let inputs = vec![
        ingest("a1.ndjson", a1.as_bytes(), &Limits::default()).expect("a1"),
        ingest("a2.ndjson", a2.as_bytes(), &Limits::default()).expect("a2"),
        ingest("turn.ndjson", turn.as_bytes(), &Limits::default()).expect("turn"),
    ];
    let all = assemble(inputs);
    assert_eq!(all.len(), 2);
    let c2 = all.iter().find(|c| c.id.as_str() == "c-2").expect("c-2");
    let a = &c2.middleboxes[0].allocations[0];
    assert_eq!(a.matched.as_ref().map(|m| m.participant.as_str()), Some("alice"));
}

fn refused(text: &str) -> (Location, String) {
    match ingest("mb.ndjson", text.as_bytes(), &Limits::default()) {
        Err(IngestError::Malformed { source_name, location, problem, .. }) => {
            assert_eq!(source_name, "mb.ndjson");
            (location, problem)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(i) => panic!("accepted: {:?}", i.notes),
    }
}

#[test]
fn malformed_middlebox_envelopes_say_what_where_and_how_to_fix() {
    let sfu = |transports: &str| {
        format!(
            r#"{{"v":1,"source":"sfu","server":"s","timestamp":1700000000000,"transports":{transports}}}"#
        )
    };
    let turn =
        |rest: &str| format!(r#"{{"v":1,"source":"turn","server":"t","timestamp":1700000000000{rest}}}"#);
    let cases: Vec<(String, &str)> = vec![
        (
            sfu(r#"[{"participant":"a","inbound":[{"ssrc":1,"packetsLost":"12"}]}]"#),
            r#"`transports[0].inbound[0].packetsLost` is a string ("12"); expected a number (cumulative packets lost)"#,
        ),
        (sfu(r#"{"participant":"a"}"#), "`transports` is an object; expected an array of client transports"),
        (sfu(r#"[{"inbound":[]}]"#), "`transports[0]` has neither `transport` nor `participant`"),
        (
            sfu(r#"[{"transport":"t","outbound":[{"ssrc":-4}]}]"#),
            "`transports[0].outbound[0].ssrc` is -4; expected an RTP SSRC, an integer 0–4294967295",
        ),
        (
            sfu(r#"[{"transport":"t","outbound":[{"kind":"audio"}]}]"#),
            "`transports[0].outbound[0]` has no `ssrc`",
        ),
        (
            sfu(r#"[{"transport":"t","outbound":[{"ssrc":1,"fractionLost":25}]}]"#),
            "expected 0–1 (the RTCP fraction lost divided by 256)",
        ),
        (
            sfu(r#"[{"transport":"t","inbound":[{"ssrc":1,"packetsReceived":-1}]}]"#),
            "`transports[0].inbound[0].packetsReceived` is negative",
        ),
        (
            sfu(r#"[{"transport":"t","relayed":"no"}]"#),
            r#"`transports[0].relayed` is a string ("no"); expected true or false"#,
        ),
        (sfu(r#"[{"transport":"t","rttMs":[1]}]"#), "`transports[0].rttMs` is an array; expected a number"),
        (sfu(r#"["t-1"]"#), r#"`transports[0]` is a string ("t-1"); expected a client transport object"#),
        (
            r#"{"v":1,"source":"sfu","server":"s","timestamp":1700000000000}"#.into(),
            "a `source: sfu` observation needs `transports`",
        ),
        (
            r#"{"v":1,"source":"sfu","server":"s","transports":[]}"#.into(),
            "needs a `timestamp` (the server's clock, epoch milliseconds)",
        ),
        (
            r#"{"v":1,"source":"sfu","server":7,"timestamp":1,"transports":[]}"#.into(),
            "`server` is a number (7); expected a string",
        ),
        (
            r#"{"v":1,"source":"sfu","timestamp":1,"transports":[],"pc":"pc-1","stats":[]}"#.into(),
            "`pc` belongs to endpoint observations, not `source: sfu`",
        ),
        (
            r#"{"v":1,"participant":"a","transports":[]}"#.into(),
            r#"`transports` is only read in `source: sfu` observations; set `"source": "sfu"`"#,
        ),
        (turn(""), "a `source: turn` observation needs `allocations` or `errors`"),
        (turn(r#","allocations":{}"#), "`allocations` is an object; expected an array of TURN allocations"),
        (
            turn(r#","allocations":[{"id":"a","peers":[5]}]"#),
            "`allocations[0].peers[0]` is a number (5); expected a peer address string",
        ),
        (
            turn(r#","allocations":[{"id":"a","packetsToPeers":true}]"#),
            "`allocations[0].packetsToPeers` is a boolean (true); expected a number",
        ),
        (
            turn(r#","allocations":[{"packetsToPeers":1}]"#),
            "`allocations[0]` has no `id`, `relayAddress` or `clientAddress`",
        ),
        (
            turn(r#","errors":[{"code":"401"}]"#),
            r#"`errors[0].code` is a string ("401"); expected a STUN error code, an integer"#,
        ),
        (
            turn(r#","errors":[{"code":4010}]"#),
            "`errors[0].code` is 4010; expected a STUN error code, an integer 100–699",
        ),
        (turn(r#","transports":[]"#), "`transports` belongs to `source: sfu` observations"),
        (
            r#"{"v":1,"source":"relay","timestamp":1}"#.into(),
            "unknown source `relay`; expected endpoint, sfu or turn",
        ),
    ];
    for (text, expected) in cases {
        let (location, problem) = refused(&text);
        assert_eq!(location, Location::Line(1), "{text}");
        assert!(problem.contains(expected), "{text}\n  got:      {problem}\n  expected: {expected}");
    }
    // The whole error names the file, the line, the problem and the format.
    let err =
        ingest("mb.ndjson", sfu(r#"[{"transport":"t","rttMs":"fast"}]"#).as_bytes(), &Limits::default())
            .expect_err("wrong type");
    assert_eq!(
        err.to_string(),
        "mb.ndjson: line 1: `transports[0].rttMs` is a string (\"fast\"); expected a number (the server's round-trip time to the client, milliseconds); expected a hopscope observation envelope (see sdk/schema/observation.schema.json)"
    );
    // In an array the place is the element.
    let array = format!("[{}, {}]", sfu("[]"), sfu(r#"[{"transport":7}]"#));
    let i = ingest("mb.json", array.as_bytes(), &Limits::default()).expect("the good element is read");
    assert!(
        i.notes.iter().any(|n| n.message.contains(
            "1 observation was skipped; the first: mb.json: at [1]: `transports[0].transport` is a number (7)"
        )),
        "{:?}",
        i.notes
    );
}

#[test]
fn bad_lines_are_skipped_and_unknown_fields_and_words_are_tolerated() {
    let good = r#"{"v":1,"source":"sfu","server":"s","timestamp":1700000000000,"futureEnvelopeField":{"a":[1]},"transports":[{"transport":"t","protocol":"quic","iceState":"warming-up","futureField":[{"x":1}],"inbound":[{"ssrc":1,"kind":"data","packetsReceived":10,"newCounter":3}]}]}"#;
    let bad = r#"{"v":1,"source":"sfu","server":"s","timestamp":1700000001000,"transports":[{"transport":"t","inbound":[{"ssrc":1,"jitterMs":"high"}]}]}"#;
    let truncated = &good[..good.len() / 2];
    let text = format!("{good}\n{bad}\n{truncated}\n");
    let i = ingest("mb.ndjson", text.as_bytes(), &Limits::default()).expect("the good line is read");
    assert_eq!(i.middleboxes.len(), 1);
    let t = &i.middleboxes[0].clients[0];
    assert_eq!(t.samples.len(), 1, "the bad line left nothing behind");
    assert_eq!(t.protocol, None);
    assert_eq!(t.samples[0].ice_state, None);
    assert_eq!(t.inbound[0].kind, None);
    assert_eq!(t.inbound[0].samples[0].packets_received, Some(10.0));
    let messages: Vec<&str> = i.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`protocol` value `quic` is not one of udp, tcp, tls; read as unknown")),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("`iceState` value `warming-up`")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.starts_with("2 observations were skipped; the first: mb.ndjson: line 2: `transports[0].inbound[0].jitterMs` is a string")),
        "{messages:?}"
    );
    assert!(
        i.notes.iter().any(|n| n.location.as_deref() == Some("line 1, transports[0].protocol")),
        "{:?}",
        i.notes
    );
    // Nothing usable at all: the first problem is the error.
    let err = ingest("mb.ndjson", truncated.as_bytes(), &Limits::default()).expect_err("truncated");
    assert!(err.to_string().starts_with("mb.ndjson: line 1: EOF while parsing"), "{err}");
}

#[test]
fn jvb_dumps_fill_rtt_display_names_ssrcs_and_feedback_counters() {
    let Some(dir) = hopscope_tests::corpus() else { return };
    let i = hopscope_ingest::ingest_file(&dir.join("jitsi-rtcstats-server/jvb-sample")).expect("loads");
    let m = &i.middleboxes[0];
    let mut names: Vec<&str> = m.clients.iter().filter_map(|c| c.display_name.as_deref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Hillard-sAi", "Lottie-1R0"]);
    let c = m.clients.iter().find(|c| c.id == "92aac468").expect("endpoint 92aac468");
    assert!(c.samples.iter().any(|s| s.rtt_s.is_some_and(|r| (r - 0.018508815).abs() < 1e-9)));
    assert!(c.inbound_ssrcs().any(|s| s == 1_292_517_411), "the audio SSRC it receives");
    let totals = c.outbound.iter().find(|s| s.ssrc.is_none()).expect("transport totals");
    assert!(totals.samples.iter().any(|s| s.pli_count == Some(1.0)));
    assert!(m.not_modelled.iter().any(|n| n.contains("endpoint connection loss statistics")));
}

#[test]
fn one_pretty_printed_middlebox_object_is_read() {
    let envelope = json!({"v": 1, "source": "turn", "server": "turn-1", "timestamp": 1.7e12,
        "errors": [{"clientAddress": "192.0.2.1:5000", "code": 486, "reason": "Allocation Quota Reached"}]});
    let text = serde_json::to_string_pretty(&envelope).expect("JSON");
    let i = ingest("one.json", text.as_bytes(), &Limits::default()).expect("a single object");
    assert_eq!(i.middleboxes[0].allocation_errors[0].code, Some(486));
    let bad = text.replace("486", "\"486\"");
    let (location, problem) = match ingest("one.json", bad.as_bytes(), &Limits::default()) {
        Err(IngestError::Malformed { location, problem, .. }) => (location, problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(location, Location::Line(1));
    assert!(problem.starts_with("`errors[0].code` is a string (\"486\")"), "{problem}");
}
