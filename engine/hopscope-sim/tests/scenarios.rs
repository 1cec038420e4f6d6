//! The simulator through the real pipeline: scenarios are simulated, the NDJSON is ingested
//! and assembled like any capture, and what the model measures must be what the scenario
//! configured.

use hopscope_ingest::{Limits, assemble, ingest};
use hopscope_model::Reading;
use hopscope_model::events::{ConnectionState, EventKind, IceConnectionState, MediaRequestSource, Outcome};
use hopscope_model::intervals::{
    InboundInterval, OutboundInterval, inbound_intervals, outbound_intervals, pair_intervals,
    remote_inbound_intervals,
};
use hopscope_model::stats::{InboundRtpStream, MediaKind, OutboundRtpStream};
use hopscope_model::{BrowserFamily, Conference, Participant, PeerConnection, RemoteKind, Timestamp};
use hopscope_sim::{Scenario, SimError, Simulation, simulate};

/// A simulated call and the conference hopscope built from it.
struct Call {
    sim: Simulation,
    conf: Conference,
    start: Timestamp,
}

fn example(name: &str) -> String {
    let path = format!("{}/../../examples/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn run(yaml: &str) -> Call {
    run_scenario(&scenario(yaml))
}

fn run_scenario(scenario: &Scenario) -> Call {
    let sim = simulate(scenario);
    let inputs = sim
        .participants
        .iter()
        .map(|p| {
            let name = format!("{}.ndjson", p.name);
            let ingested =
                ingest(&name, p.ndjson.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(ingested.notes.is_empty(), "{name}: {:?}", ingested.notes);
            ingested
        })
        .collect();
    let mut conferences = assemble(inputs);
    assert_eq!(conferences.len(), 1, "one conference");
    let start = Timestamp::from_epoch_ms(scenario.start_ms()).expect("finite");
    Call { sim, conf: conferences.remove(0), start }
}

impl Call {
    fn participant(&self, name: &str) -> &Participant {
        self.conf.participants.iter().find(|p| p.id.as_str() == name).unwrap_or_else(|| panic!("no {name}"))
    }

    fn pc(&self, name: &str) -> &PeerConnection {
        let p = self.participant(name);
        assert_eq!(p.peer_connections.len(), 1, "{name} has one connection");
        &p.peer_connections[0]
    }

    fn secs(&self, t: Timestamp) -> f64 {
        t.seconds_since(self.start)
    }

    fn sent(&self, sender: &str, kind: MediaKind) -> &OutboundRtpStream {
        let pc = self.pc(sender);
        pc.outbound
            .iter()
            .find(|s| s.info.kind == Some(kind))
            .unwrap_or_else(|| panic!("{sender} sends no {kind:?}"))
    }

    fn received(&self, receiver: &str, sender: &str, kind: MediaKind) -> &InboundRtpStream {
        let ssrc = self.sent(sender, kind).info.ssrc;
        let pc = self.pc(receiver);
        pc.inbound
            .iter()
            .find(|s| s.info.ssrc == ssrc)
            .unwrap_or_else(|| panic!("{receiver} gets no {kind:?} from {sender}"))
    }

    /// Inbound intervals that end within `[from, to]` seconds.
    fn inbound(
        &self,
        receiver: &str,
        sender: &str,
        kind: MediaKind,
        from: f64,
        to: f64,
    ) -> Vec<InboundInterval> {
        let s = self.received(receiver, sender, kind);
        inbound_intervals(&s.samples)
            .into_iter()
            .filter(|i| (from..=to).contains(&self.secs(i.end)))
            .collect()
    }

    fn outbound(&self, sender: &str, kind: MediaKind, from: f64, to: f64) -> Vec<OutboundInterval> {
        let s = self.sent(sender, kind);
        outbound_intervals(&s.samples)
            .into_iter()
            .filter(|i| (from..=to).contains(&self.secs(i.end)))
            .collect()
    }

    /// When the connection's ICE reached `state`, seconds, in order.
    fn ice(&self, name: &str, state: IceConnectionState) -> Vec<f64> {
        self.pc(name).ice_states().filter(|(_, s)| *s == state).map(|(t, _)| self.secs(t)).collect()
    }
}

/// Lost / (lost + received) over intervals.
fn loss(intervals: &[InboundInterval]) -> f64 {
    let lost: f64 = intervals.iter().filter_map(|i| i.packets_lost).sum();
    let received: f64 = intervals.iter().filter_map(|i| i.packets_received).sum();
    lost / (lost + received)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    assert!(!v.is_empty(), "no values");
    v.iter().sum::<f64>() / v.len() as f64
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    assert!(!v.is_empty(), "no values");
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn assert_near(what: &str, measured: f64, expected: f64, tolerance: f64) {
    assert!(
        (measured - expected).abs() <= tolerance,
        "{what}: measured {measured:.4}, expected {expected} ± {tolerance}"
    );
}

#[test]
fn uplink_loss_reaches_everyone_through_the_sfu() {
    let call = run(&example("sfu-wifi-loss"));
    let (lossy_from, lossy_to) = (12.0, 49.0);
    for receiver in ["alice", "bob", "dave"] {
        // Audio is forwarded as it arrives: the configured 8 % shows at every receiver.
        let during = loss(&call.inbound(receiver, "carol", MediaKind::Audio, lossy_from, lossy_to));
        assert_near(&format!("{receiver} hears carol lose"), during, 0.08, 0.015);
        assert_eq!(
            loss(&call.inbound(receiver, "carol", MediaKind::Audio, 2.0, 9.0)),
            0.0,
            "before the segment"
        );
        assert_eq!(loss(&call.inbound(receiver, "carol", MediaKind::Audio, 52.0, 60.0)), 0.0, "after it");
        let clean = if receiver == "alice" { "dave" } else { "alice" };
        assert_eq!(loss(&call.inbound(receiver, clean, MediaKind::Audio, 2.0, 60.0)), 0.0, "from {clean}");
        // The server repairs video with retransmissions: little media loss is left.
        let video = call.inbound(receiver, "carol", MediaKind::Video, lossy_from, lossy_to);
        let media_loss = mean(video.iter().filter_map(|i| i.media_loss_fraction));
        assert!(media_loss < 0.02, "{receiver}: residual video loss {media_loss}");
    }
    // What is left over still breaks frames: Chrome receivers count freezes.
    let freezes: f64 = call
        .inbound("alice", "carol", MediaKind::Video, lossy_from, lossy_to)
        .iter()
        .filter_map(|i| i.freezes)
        .sum();
    assert!(freezes >= 3.0, "alice saw {freezes} freezes of carol's video");
    // Carol's own browser sees the loss in the server's receiver reports.
    let video = call.sent("carol", MediaKind::Video);
    let at = |t: f64| video.samples.iter().find(|s| call.secs(s.at) >= t).expect("sample");
    let (a, b) = (at(lossy_from), at(lossy_to));
    let sent = b.packets_sent.unwrap_or(0.0)
        - a.packets_sent.unwrap_or(0.0)
        - (b.retransmitted_packets_sent.unwrap_or(0.0) - a.retransmitted_packets_sent.unwrap_or(0.0));
    let pc = call.pc("carol");
    let rr = pc.remote_inbound.iter().find(|s| s.info.ssrc == video.info.ssrc).expect("receiver reports");
    let lost_at = |t: f64| {
        rr.samples
            .iter()
            .rev()
            .find(|s| call.secs(s.at) <= t)
            .and_then(|s| s.packets_lost.get())
            .unwrap_or(0.0)
    };
    assert_near(
        "the server reports losing carol's video",
        (lost_at(lossy_to) - lost_at(lossy_from)) / sent,
        0.08,
        0.015,
    );
    let retransmitted =
        b.retransmitted_packets_sent.unwrap_or(0.0) - a.retransmitted_packets_sent.unwrap_or(0.0);
    assert!(retransmitted > 0.05 * sent, "carol retransmitted {retransmitted} of {sent}");
}

#[test]
fn round_trip_time_is_the_sum_of_the_one_way_delays() {
    let call = run(r"
name: rtt
duration: 20s
topology: p2p
participants:
  - name: alice
    network: {uplink: {delay: 30ms, jitter: 1ms}, downlink: {delay: 20ms, jitter: 1ms}}
  - name: bob
    network: {uplink: {delay: 25ms, jitter: 1ms}, downlink: {delay: 15ms, jitter: 1ms}}
");
    let expected_ms = 30.0 + 15.0 + 25.0 + 20.0;
    for who in ["alice", "bob"] {
        let pc = call.pc(who);
        let pair = pc.selected_pair_at(call.start.plus_ms(10_000.0)).expect("a selected pair");
        let ice = median(pair_intervals(&pair.samples).iter().filter_map(|i| i.rtt_ms));
        assert_near(&format!("{who}'s ICE RTT"), ice, expected_ms, 6.0);
        for rr in &pc.remote_inbound {
            let rtcp = median(remote_inbound_intervals(&rr.samples).iter().filter_map(|i| i.rtt_ms));
            assert_near(&format!("{who}'s RTCP RTT"), rtcp, expected_ms, 6.0);
        }
    }
    // Through a media server, a participant's RTT covers only its own access link.
    let call = run(
        "name: rtt-sfu\nduration: 10s\ntopology: sfu\nparticipants:\n  - {name: a, network: {uplink: {delay: 40ms}, downlink: {delay: 30ms}}}\n  - {name: b}\n",
    );
    let pair = &call.pc("a").candidate_pairs[0];
    assert_near("SFU RTT", median(pair_intervals(&pair.samples).iter().filter_map(|i| i.rtt_ms)), 72.0, 5.0);
    assert_eq!(call.pc("a").remote_kind, RemoteKind::Sfu, "the far end is recognised as a media server");
}

#[test]
fn jitter_follows_the_configured_jitter() {
    let jitter_at = |configured_ms: u32| {
        let yaml = format!(
            "name: j\nduration: 20s\ntopology: p2p\nparticipants:\n  - name: alice\n  - name: bob\n    network: {{uplink: {{delay: 30ms, jitter: {configured_ms}ms}}}}\n"
        );
        let call = run(&yaml);
        let audio = call.inbound("alice", "bob", MediaKind::Audio, 3.0, 20.0);
        (
            median(audio.iter().filter_map(|i| i.jitter_ms)),
            median(audio.iter().filter_map(|i| i.jitter_buffer_delay_ms)),
        )
    };
    let (low, low_buffer) = jitter_at(2);
    let (mid, mid_buffer) = jitter_at(20);
    let (high, high_buffer) = jitter_at(60);
    assert!(low < 5.0, "2 ms configured: {low}");
    assert_near("20 ms configured", mid, 20.0, 4.0);
    assert_near("60 ms configured", high, 60.0, 10.0);
    // The jitter buffer grows to absorb it.
    assert!(low_buffer < mid_buffer && mid_buffer < high_buffer, "{low_buffer} {mid_buffer} {high_buffer}");
    assert!(high_buffer > 150.0, "{high_buffer}");
    // The example: ~60 ms of jitter on bob's uplink shows at alice, not the other way.
    let call = run(&example("p2p-high-jitter"));
    let at_alice =
        median(call.inbound("alice", "bob", MediaKind::Audio, 3.0, 60.0).iter().filter_map(|i| i.jitter_ms));
    let at_bob =
        median(call.inbound("bob", "alice", MediaKind::Audio, 3.0, 60.0).iter().filter_map(|i| i.jitter_ms));
    assert_near("alice receives bob with", at_alice, 60.0, 10.0);
    assert!(at_bob < 5.0, "bob receives alice with {at_bob}");
}

#[test]
fn a_bandwidth_cap_makes_the_sender_adapt() {
    let call = run(&example("p2p-bandwidth-cap"));
    let before = call.outbound("alice", MediaKind::Video, 12.0, 19.0);
    let capped = call.outbound("alice", MediaKind::Video, 25.0, 45.0);
    let share = |ivs: &[OutboundInterval]| mean(ivs.iter().filter_map(|i| i.bandwidth_limited_share));
    assert_eq!(share(&before), 0.0, "720p fits 5 Mbit/s");
    assert!(share(&capped) > 0.95, "capped: {}", share(&capped));
    assert!(before.iter().all(|i| i.frame_height == Some(720.0)));
    assert!(
        capped.iter().all(|i| i.frame_height.is_some_and(|h| h <= 360.0)),
        "the picture shrinks under 400 kbit/s"
    );
    let bitrate = mean(capped.iter().filter_map(|i| i.bitrate_bps));
    assert!(bitrate < 400_000.0 && bitrate > 150_000.0, "video bitrate under the cap: {bitrate}");
    // The estimate sits near the cap while it lasts.
    let pair = call.pc("alice").selected_pair_at(call.start.plus_ms(30_000.0)).expect("pair");
    let estimates: Vec<f64> = pair_intervals(&pair.samples)
        .iter()
        .filter(|i| (25.0..=45.0).contains(&call.secs(i.end)))
        .filter_map(|i| i.available_outgoing_bitrate_bps)
        .collect();
    let estimate = mean(estimates.iter().copied());
    assert!((300_000.0..=420_000.0).contains(&estimate), "availableOutgoingBitrate {estimate}");
    // While it adapts, the bottleneck queues and drops: bob sees loss and delay at 20-22 s.
    let transition = call.inbound("bob", "alice", MediaKind::Audio, 20.5, 22.5);
    assert!(
        transition.iter().filter_map(|i| i.packets_lost).sum::<f64>() > 0.0,
        "queue overflow loses packets"
    );
    assert!(
        transition.iter().filter_map(|i| i.jitter_ms).fold(0.0, f64::max) > 30.0,
        "the queue delays packets"
    );
    // Bob, whose link is not capped, keeps sending 720p.
    assert_eq!(share(&call.outbound("bob", MediaKind::Video, 25.0, 45.0)), 0.0);
}

#[test]
fn a_cpu_window_shows_as_cpu_limitation() {
    let call = run(&example("cpu-limited"));
    let during = call.outbound("alice", MediaKind::Video, 21.0, 40.0);
    let before = call.outbound("alice", MediaKind::Video, 12.0, 19.0);
    let after = call.outbound("alice", MediaKind::Video, 50.0, 60.0);
    let cpu = |ivs: &[OutboundInterval]| mean(ivs.iter().filter_map(|i| i.cpu_limited_share));
    assert_eq!(cpu(&during), 1.0);
    assert_eq!(cpu(&before), 0.0);
    assert_eq!(cpu(&after), 0.0);
    assert_near("fps while CPU-limited", mean(during.iter().filter_map(|i| i.fps)), 20.0, 1.0);
    assert!(during.iter().all(|i| i.frame_height == Some(360.0)));
    assert!(after.iter().all(|i| i.frame_height == Some(720.0)), "back to 720p once the CPU is free");
    assert!(during.iter().all(|i| i.encode_ms_per_frame.is_some_and(|ms| ms > 10.0)), "slow encodes");
    // What bob receives follows.
    let received = call.inbound("bob", "alice", MediaKind::Video, 21.0, 40.0);
    assert_near("bob's received fps", mean(received.iter().filter_map(|i| i.fps)), 20.0, 1.0);
}

#[test]
fn stopped_sending_means_no_packets_while_still_receiving() {
    let call = run(
        "name: stop\nduration: 30s\ntopology: p2p\nparticipants:\n  - name: alice\n    sending_stopped: [[10s, 20s]]\n  - name: bob\n",
    );
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let stopped = call.outbound("alice", kind, 11.0, 19.0);
        assert!(!stopped.is_empty());
        // No packets: the model marks the intervals inactive.
        assert!(stopped.iter().all(|i| !i.active && i.packet_rate.is_none()), "{kind:?}: {stopped:?}");
        let before = call.outbound("alice", kind, 2.0, 9.0);
        assert!(before.iter().all(|i| i.packet_rate.is_some_and(|r| r > 1.0)), "{kind:?} before");
        let after = call.outbound("alice", kind, 22.0, 29.0);
        assert!(after.iter().all(|i| i.packet_rate.is_some_and(|r| r > 1.0)), "{kind:?} after");
    }
    let received = call.inbound("alice", "bob", MediaKind::Audio, 11.0, 19.0);
    assert_near("alice still hears bob", mean(received.iter().filter_map(|i| i.packet_rate)), 50.0, 2.0);
}

#[test]
fn muted_dtx_is_neither_loss_nor_silence_trouble() {
    let call = run(&example("muted-dtx"));
    let muted = call.inbound("alice", "bob", MediaKind::Audio, 12.0, 49.0);
    let talking = call.inbound("alice", "bob", MediaKind::Audio, 2.0, 9.0);
    // DTX: one comfort-noise packet every 400 ms.
    assert_near("packets/s while muted", mean(muted.iter().filter_map(|i| i.packet_rate)), 2.5, 0.3);
    assert_near("packets/s while talking", mean(talking.iter().filter_map(|i| i.packet_rate)), 50.0, 2.0);
    assert_eq!(loss(&muted), 0.0);
    // NetEq fills the gaps with comfort noise: silent concealment, excluded from the ratio.
    assert!(muted.iter().all(|i| i.concealment_ratio == Some(0.0)), "no audible concealment");
    assert!(muted.iter().all(|i| i.silent_concealed_samples.is_some_and(|n| n > 40_000.0)));
    assert!(muted.iter().all(|i| i.mean_audio_level.is_some_and(|l| l < 0.001)));
    assert!(talking.iter().all(|i| i.mean_audio_level.is_some_and(|l| l > 0.01)));
    // Bob's own microphone reads zero while muted.
    let source =
        &call.pc("bob").media_sources.iter().find(|m| m.kind == Some(MediaKind::Audio)).expect("mic").samples;
    assert!(
        source
            .iter()
            .filter(|s| (12.0..49.0).contains(&call.secs(s.at)))
            .all(|s| s.audio_level == Reading::some(0.0))
    );
}

#[test]
fn ice_setup_takes_what_the_scenario_says() {
    let call = run(&example("slow-ice"));
    for who in ["alice", "bob"] {
        let checking = call.ice(who, IceConnectionState::Checking);
        let connected = call.ice(who, IceConnectionState::Connected);
        assert_eq!((checking.len(), connected.len()), (1, 1), "{who}");
        assert_near(&format!("{who}'s ICE setup"), connected[0] - checking[0], 8.0, 0.1);
        // No media flows before.
        let first =
            call.received(who, if who == "alice" { "bob" } else { "alice" }, MediaKind::Audio).samples[0].at;
        assert!(call.secs(first) > 8.0, "{who} received media at {}", call.secs(first));
    }
    let relay = call.pc("alice");
    let pair = relay.selected_pair_at(call.start.plus_ms(20_000.0)).expect("pair");
    let local =
        relay.candidate(pair.local_candidate_id.as_deref().unwrap_or_default()).expect("local candidate");
    assert_eq!(local.relay_transport().map(|p| p.as_str()), Some("tls"));
    // The default is a quarter of a second.
    let call = run("name: fast\nduration: 5s\ntopology: sfu\nparticipants: [{name: a}]\n");
    let (c, k) = (call.ice("a", IceConnectionState::Connected), call.ice("a", IceConnectionState::Checking));
    assert_near("default setup", c[0] - k[0], 0.25, 0.01);
}

#[test]
fn failures_and_disconnections_appear_as_events() {
    let call = run(&example("p2p-connection-lost"));
    for who in ["alice", "bob"] {
        let disconnected = call.ice(who, IceConnectionState::Disconnected);
        let connected = call.ice(who, IceConnectionState::Connected);
        assert_eq!(disconnected.len(), 2, "{who}: {disconnected:?}");
        // Chrome notices a dead path after ~5 s; the 20-27 s outage recovers, the 40 s one does not.
        assert!(
            (25.0..25.5).contains(&disconnected[0]) && (45.0..45.5).contains(&disconnected[1]),
            "{disconnected:?}"
        );
        assert!(connected.iter().any(|t| (27.0..27.5).contains(t)), "reconnected: {connected:?}");
        assert!(call.ice(who, IceConnectionState::Failed).is_empty(), "Chrome never reports ICE failed");
        let pc = call.pc(who);
        let failed: Vec<f64> = pc
            .connection_states()
            .filter(|(_, s)| *s == ConnectionState::Failed)
            .map(|(t, _)| call.secs(t))
            .collect();
        assert_eq!(failed.len(), 1);
        assert_near("failed 10 s after disconnected", failed[0] - disconnected[1], 10.0, 0.01);
        assert!(pc.events.iter().any(|e| e.kind == EventKind::Closed && call.secs(e.at) > failed[0]));
        // Nothing arrives after the path dies, and audio loss stays 0: the gap is too long to
        // count (as Chromium does), only concealment shows it.
        let other = if who == "alice" { "bob" } else { "alice" };
        let dead = call.inbound(who, other, MediaKind::Audio, 41.0, 56.0);
        assert!(dead.iter().all(|i| !i.active), "{who} still receives");
        let stream = call.received(who, other, MediaKind::Audio);
        let lost = stream.samples.last().and_then(|s| s.packets_lost.get());
        assert_eq!(lost, Some(0.0));
        let video = call.inbound(who, other, MediaKind::Video, 26.0, 30.0);
        let frozen: f64 = video.iter().filter_map(|i| i.freeze_duration_s).sum();
        assert_near("the 7 s outage froze the video for", frozen, 7.0, 0.3);
    }

    let call = run(&example("turn-401"));
    let alice = call.pc("alice");
    let errors: Vec<_> = alice
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::IceCandidateError(err) => Some(err.error_code),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [Some(401)]);
    for who in ["alice", "bob"] {
        let pc = call.pc(who);
        assert!(
            pc.candidate_pairs.is_empty() && pc.ice_states().next().is_none() && !pc.ever_connected(),
            "{who}"
        );
    }
    assert_eq!(alice.configuration.as_ref().and_then(|c| c.ice_transport_policy.as_deref()), Some("relay"));
    assert!(
        call.participant("bob")
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Feedback { rating: 1, .. }))
    );

    let call = run(r#"
name: refusals
duration: 10s
topology: sfu
participants:
  - name: alice
    gum_error: NotAllowedError
  - name: bob
    negotiation_error: "Failed to parse SessionDescription. a=fingerprint:sha-256 ZZ:not:a:digest"
  - name: carol
"#);
    let alice = call.participant("alice");
    assert!(alice.peer_connections.is_empty(), "no connection without media");
    assert!(alice.events.iter().any(|e| e.kind
        == EventKind::MediaRequest {
            source: MediaRequestSource::UserMedia,
            outcome: Outcome::Failed("NotAllowedError: Permission denied".into()),
            detail: None
        }));
    let bob = call.pc("bob");
    assert!(!bob.ever_connected());
    assert!(bob.events.iter().any(|e| matches!(&e.kind, EventKind::Negotiation { outcome: Outcome::Failed(m), .. } if m.contains("ZZ:not:a:digest"))));
    assert!(call.pc("carol").ever_connected());
    assert_eq!(call.pc("carol").inbound.len(), 0, "nobody else sends");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let yaml = example("sfu-wifi-loss");
    let a = simulate(&scenario(&yaml)).combined();
    let b = simulate(&scenario(&yaml)).combined();
    assert!(a == b, "two runs differ");
    let c = simulate(&scenario(&yaml).with_seed(6)).combined();
    assert!(a != c, "another seed gives the same call");
    assert_eq!(a.lines().count(), c.lines().count(), "but the same structure");
}

#[test]
fn browsers_report_their_own_dialects() {
    let call = run(&example("sfu-wifi-loss"));
    let family = |name: &str| call.participant(name).client.inferred_family;
    assert_eq!(family("alice"), Some(BrowserFamily::Chromium));
    assert_eq!(family("bob"), Some(BrowserFamily::Firefox));
    assert_eq!(family("dave"), Some(BrowserFamily::Safari));
    assert_eq!(call.participant("bob").client.user_agent_browser, Some((BrowserFamily::Firefox, Some(128))));
    // Firefox has no transport stats and no pair RTT; its RTT comes from RTCP.
    let bob = call.pc("bob");
    assert!(bob.transports.is_empty());
    assert!(
        bob.candidate_pairs.iter().flat_map(|p| &p.samples).all(|s| s.current_round_trip_time_s.is_none())
    );
    assert!(bob.remote_inbound.iter().flat_map(|s| &s.samples).any(|s| s.round_trip_time_s.is_some()));
}

#[test]
fn the_50_person_example_is_one_conference() {
    // The full example is large on purpose (benchmarks); its first seconds show the joining.
    let scenario = scenario(&example("sfu-50")).truncated(4.0);
    let call = run_scenario(&scenario);
    assert_eq!(call.conf.id.as_str(), "all-hands");
    assert_eq!(call.conf.participants.len(), 50);
    assert_eq!(call.sim.participants.len(), 50);
    for p in &call.conf.participants {
        let pc = &p.peer_connections[0];
        assert_eq!(pc.remote_kind, RemoteKind::Sfu, "{}", p.id.as_str());
        assert!(pc.inbound.len() >= 60, "{} receives {} streams", p.id.as_str(), pc.inbound.len());
    }
}

#[test]
fn bad_scenarios_say_what_where_and_how() {
    let base = "name: x\nduration: 10s\ntopology: p2p\nparticipants:\n  - name: a\n  - name: b\n";
    let cases: [(&str, &[&str]); 9] = [
        (
            "name: x\nduration: 10s\ntopology: p2p\nparticipants:\n  - name: a\n    network: {uplink: {los: 8%}}\n  - name: b\n",
            &["unknown field `los`", "participants[0].network.uplink", "line 6"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a, network: {uplink: {delay: 20}}}]\n",
            &["`20` has no unit", "`250ms`"],
        ),
        (
            "name: x\nduration: 10s\ntopology: p2p\nparticipants: [{name: a}, {name: b}, {name: c}]\n",
            &["`participants`", "exactly 2", "topology: sfu"],
        ),
        (
            "name: x\nduration: 10s\ntopology: mesh\nparticipants: [{name: a}]\n",
            &["unknown variant `mesh`", "p2p", "sfu"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a, ice: {relay_protocol: tcp}}]\n",
            &["participants[0] (a).ice.relay_protocol", "set `candidate: relay`"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a, gum_error: Nope}]\n",
            &["`Nope` is not a getUserMedia error", "NotAllowedError"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a, audio: {muted: [[8s, 2s]]}}]\n",
            &["participants[0] (a).audio.muted[0]", "start first"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a, leave: 20s}]\n",
            &["(a).leave", "at the latest at `duration`"],
        ),
        (
            "name: x\nduration: 10s\ntopology: sfu\nparticipants: [{name: a}, {name: a}]\n",
            &["participants[1].name", "`a` is used twice"],
        ),
    ];
    assert!(Scenario::from_yaml(base).is_ok());
    for (yaml, expected) in cases {
        let err = match Scenario::from_yaml(yaml) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => e,
        };
        let text = err.to_string();
        for part in expected {
            assert!(text.contains(part), "{text:?} does not mention {part:?}");
        }
        if let SimError::Invalid { fix, .. } = &err {
            assert!(!fix.is_empty(), "{text}");
        }
    }
}
