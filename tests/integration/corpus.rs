//! The real-data corpus (`../shared/data/real`, read in place, never copied): every file
//! loads, and each yields the facts a reader of it finds by hand (see its README.md).

use std::path::{Path, PathBuf};

use hopscope_diagnose::report::{ParticipantReport, PcReport};
use hopscope_diagnose::{Diagnosis, diagnose};
use hopscope_ingest::{Format, ingest_file};
use hopscope_tests::{conference, conferences, corpus};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(folders) = std::fs::read_dir(dir) else { return out };
    for folder in folders.flatten() {
        let Ok(entries) = std::fs::read_dir(folder.path()) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != "LICENSE" && name != "README.md" {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn one(dir: &Path, rel: &str) -> Diagnosis {
    diagnose(&conference(&[dir.join(rel)]))
}

fn participant(d: &Diagnosis) -> &ParticipantReport {
    assert_eq!(d.participants.len(), 1, "{}", d.conference);
    &d.participants[0]
}

fn pc<'a>(p: &'a ParticipantReport, id: &str) -> &'a PcReport {
    p.peer_connections.iter().find(|pc| pc.id == id).unwrap_or_else(|| panic!("{} has no {id}", p.id))
}

/// Packets lost per inbound stream of a peer connection, sorted.
fn inbound_lost(pc: &PcReport) -> Vec<u64> {
    let mut v: Vec<u64> = pc
        .streams
        .iter()
        .filter(|s| s.direction == "inbound")
        .filter_map(|s| s.packets_lost)
        .filter(|l| *l > 0.0)
        .map(|l| l as u64)
        .collect();
    v.sort_unstable();
    v
}

fn max_pair_rtt_ms(pc: &PcReport) -> f64 {
    pc.selected_paths.iter().filter_map(|p| p.rtt_ms).map(|r| r.max).fold(0.0, f64::max)
}

#[test]
fn every_file_loads_without_error() {
    let Some(dir) = corpus() else { return };
    let all = files(&dir);
    assert!(all.len() >= 40, "corpus has {} files", all.len());
    for f in &all {
        let i = ingest_file(f).unwrap_or_else(|e| panic!("{e}"));
        let c = hopscope_ingest::assemble(vec![i]);
        assert!(!c.is_empty(), "{}", f.display());
        for conf in &c {
            // The diagnosis serialises (the JSON path works for every file).
            let d = diagnose(conf);
            serde_json::to_string(&d).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
}

#[test]
fn relayed_calls_show_their_relay_rtt_and_losses() {
    let Some(dir) = corpus() else { return };
    let jitsi = dir.join("jitsi-rtcstats-server");

    // Chrome over TURN/TLS with high RTT and freezes.
    let d = one(&jitsi, "chrome-relay");
    let p = participant(&d);
    assert_eq!(p.browser.inferred.as_deref(), Some("Chrome"));
    let pc0 = pc(p, "PC_0");
    assert_eq!(pc0.remote, "sfu");
    let path = &pc0.selected_paths[0];
    assert_eq!((path.local_type.as_deref(), path.relay_protocol.as_deref()), (Some("relay"), Some("tls")));
    assert!(max_pair_rtt_ms(pc0) >= 400.0, "pair RTT reaches 0.4 s");
    assert_eq!(inbound_lost(pc0), vec![109, 113]);
    let freezes: Vec<u64> =
        pc0.streams.iter().filter_map(|s| s.freezes).filter(|f| *f > 0.0).map(|f| f as u64).collect();
    assert_eq!(freezes, vec![24, 22]);
    let rtcp_rtt = pc0
        .streams
        .iter()
        .filter(|s| s.direction == "remote-inbound")
        .filter_map(|s| s.rtt_ms)
        .map(|r| r.max)
        .fold(0.0, f64::max);
    assert!(rtcp_rtt >= 700.0, "remote-inbound RTT reaches 0.76 s: {rtcp_rtt}");
    assert!(
        pc0.streams.iter().any(|s| s.bandwidth_limited_percent.is_some_and(|b| b > 0.0)),
        "bandwidth-limited sender"
    );

    // Firefox in the same meeting: no pair RTT at all, relay over TLS, 47 and 50 lost.
    let d = one(&jitsi, "firefox-relay");
    let p = participant(&d);
    assert_eq!(p.browser.inferred.as_deref(), Some("Firefox"));
    let pc0 = pc(p, "PC_0");
    assert_eq!(pc0.selected_paths[0].relay_protocol.as_deref(), Some("tls"));
    assert!(pc0.selected_paths.iter().all(|s| s.rtt_ms.is_none()), "Firefox reports no pair RTT");
    assert!(d.undetermined.iter().any(|u| u.contains("Firefox reports none")));
    assert_eq!(inbound_lost(pc0), vec![47, 50]);

    // Safari: no relayProtocol (the URL says TLS), ICE disconnects and recovers, RTT 5 s+.
    let d = one(&jitsi, "safari-relay");
    let p = participant(&d);
    assert_eq!(p.browser.inferred.as_deref(), Some("Safari"));
    let pc0 = pc(p, "PC_0");
    assert_eq!(pc0.reconnections, 1);
    assert!(pc0.ice_states.windows(2).any(|w| w[0] == "disconnected" && w[1] == "connected"));
    assert!(max_pair_rtt_ms(pc0) > 5000.0);
    assert_eq!(inbound_lost(pc0), vec![2, 514, 528]);
    let reported: Vec<u64> = pc0
        .streams
        .iter()
        .filter(|s| s.direction == "remote-inbound")
        .filter_map(|s| s.packets_lost)
        .map(|l| l as u64)
        .collect();
    assert!(reported.contains(&335) && reported.contains(&382), "{reported:?}");

    // All three are one meeting: joined by its meetingUniqueId, through one SFU.
    let c =
        conferences(&[jitsi.join("chrome-relay"), jitsi.join("firefox-relay"), jitsi.join("safari-relay")]);
    assert_eq!(c.len(), 1);
    let d = diagnose(&c[0]);
    assert_eq!(d.participants.len(), 3);
    assert_eq!(d.topology, "SFU");
    assert!(d.joined_by.iter().any(|r| r.contains("meetingUniqueId")));
    assert!(d.path.shared_hops.iter().any(|h| h == "SFU"), "{:?}", d.path.shared_hops);
}

#[test]
fn failed_and_probe_connections_are_told_apart() {
    let Some(dir) = corpus() else { return };
    let jitsi = dir.join("jitsi-rtcstats-server");
    let d = one(&jitsi, "chrome-standard-multiple-p2p");
    let p = participant(&d);
    assert_eq!(p.peer_connections.len(), 7);
    let never =
        p.peer_connections.iter().filter(|pc| pc.outcome.starts_with("never connected: ICE failed")).count();
    assert_eq!(never, 4, "four STUN-only probe connections fail ICE");
    assert_eq!(p.peer_connections.iter().filter(|pc| pc.outcome.starts_with("connected")).count(), 3);
    assert_eq!(d.topology, "SFU and peer-to-peer");
    assert!(max_pair_rtt_ms(pc(p, "PC_3")) <= 250.0);

    let d = one(&jitsi, "chrome-standard-pc-failed");
    let p = participant(&d);
    assert_eq!(p.peer_connections.len(), 3);
    assert_eq!(pc(p, "PC_0").outcome, "connected, then failed");
    assert!(p.media_requests.iter().any(|m| m.contains("NotReadableError")));

    let d = one(&jitsi, "chrome-standard-pc-reconnect");
    assert_eq!(pc(participant(&d), "PC_0").outcome, "connected, then failed");

    let c = conference(&[jitsi.join("undefined-ice-candidate")]);
    assert_eq!(c.participants[0].peer_connections[0].inbound.len(), 29, "a large meeting: 29 inbound tracks");
    let d = diagnose(&c);
    let p = participant(&d);
    let pc0 = pc(p, "PC_0");
    // ICE connected for 5 s, the connection state never left `connecting`, no packet flowed.
    assert_eq!(
        pc0.outcome,
        "never connected: ICE connected but the secure handshake (DTLS) never completed, then failed"
    );
    assert!(pc0.inactive_streams >= 25, "most of them carry nothing: {}", pc0.inactive_streams);
    assert_eq!(p.os.as_deref(), Some("Windows 7"));
}

#[test]
fn legacy_and_old_dialects_map_onto_the_model() {
    let Some(dir) = corpus() else { return };
    let jitsi = dir.join("jitsi-rtcstats-server");
    let d = one(&jitsi, "google-legacy-stats-p2p");
    let p = participant(&d);
    assert_eq!(p.browser.dialect.as_deref(), Some("legacy goog* stats"));
    assert_eq!(p.peer_connections.len(), 2);
    assert_eq!(inbound_lost(pc(p, "PC_0")), vec![1, 1, 212]);
    let video =
        pc(p, "PC_0").streams.iter().find(|s| s.packets_lost == Some(212.0)).expect("the lossy stream");
    assert_eq!(video.packets, Some(959.0), "959 received");
    assert!(max_pair_rtt_ms(pc(p, "PC_0")) <= 70.0);

    let d = one(&jitsi, "google-legacy-stats-multiple-pc");
    let p = participant(&d);
    assert_eq!(p.peer_connections.len(), 3);
    assert!(inbound_lost(pc(p, "PC_1")).contains(&171));

    let d = one(&jitsi, "google-legacy-screenshare-p2p");
    let p = participant(&d);
    let rtcp_max =
        p.peer_connections[0].streams.iter().filter_map(|s| s.rtt_ms).map(|r| r.max).fold(0.0, f64::max);
    assert!((200.0..=230.0).contains(&rtcp_max), "googRtt up to 217 ms: {rtcp_max}");

    let d = one(&jitsi, "chrome96-standard-stats-p2p-add-transceiver");
    assert_eq!(participant(&d).browser.dialect.as_deref(), Some("legacy goog* stats"));

    let d = one(&jitsi, "google-standard-stats-p2p");
    let p = participant(&d);
    assert_eq!(pc(p, "PC_0").remote, "peer");
    assert!(max_pair_rtt_ms(pc(p, "PC_0")) <= 5.0);
    assert_eq!(pc(p, "PC_1").remote, "sfu");
    assert!(inbound_lost(pc(p, "PC_1")).contains(&36));

    // The 5-element-line history version of the same call agrees.
    let d2 = one(&jitsi, "google-standard-stats-p2p-reconnect");
    let p2 = participant(&d2);
    assert_eq!(p2.peer_connections.len(), 2);
    assert!(inbound_lost(pc(p2, "PC_1")).contains(&36));

    // Firefox from 2020 whose User-Agent line was edited to say Firefox 118.
    let d = one(&jitsi, "firefox-standard-stats-sfu");
    let p = participant(&d);
    assert_eq!(p.browser.inferred.as_deref(), Some("Firefox"));
    assert_eq!(p.browser.inferred_version.as_deref(), Some("≤ 9x (bitrateMean era)"));
    let active_inbound = p.peer_connections[0].streams.iter().filter(|s| s.direction == "inbound").count();
    assert!(active_inbound >= 4, "{active_inbound}");

    let d = one(&jitsi, "safari-standard-stats");
    let p = participant(&d);
    assert_eq!(p.browser.inferred.as_deref(), Some("Safari"));
    assert_eq!(p.browser.inferred_version.as_deref(), Some("≤ 16 (track stats)"));
    assert!(max_pair_rtt_ms(&p.peer_connections[0]) <= 100.0);
}

#[test]
fn snapshots_processed_json_and_server_dumps() {
    let Some(dir) = corpus() else { return };
    // Four snapshots of one call (same senders) become one participant.
    let pure = dir.join("mypurecloud-webrtc-stats-gatherer");
    let c = conferences(
        &["mock-spec-stats-initial.json", "mock-spec-stats-1.json", "mock-spec-stats-2.json"]
            .map(|f| pure.join(f)),
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].participants.len(), 1);
    let d = diagnose(&c[0]);
    assert_eq!(inbound_lost(&d.participants[0].peer_connections[0]), vec![1, 18]);

    // DolbyIO: a filtered Chrome snapshot with a foreign object.
    let dolby = ingest_file(&dir.join("dolbyio-web-webrtc-stats/codec.json")).expect("loads");
    assert_eq!(dolby.format, Format::GetStatsSnapshot);
    assert!(dolby.notes.iter().any(|n| n.message.contains("without a `type`")));
    assert_eq!(dolby.participants[0].client.inferred_family, Some(hopscope_model::BrowserFamily::Chromium));

    // Skyway: one snapshot per browser.
    for (file, family) in [
        ("chrome-77.0.3842.0.json", "Chrome"),
        ("firefox-67.0.4.json", "Firefox"),
        ("safari-12.1.1.json", "Safari"),
    ] {
        let d = one(&dir.join("skyway-rtcstats-wrapper"), file);
        assert_eq!(participant(&d).browser.inferred.as_deref(), Some(family), "{file}");
    }

    // The processed rtcstats-server JSON of a loopback call.
    let i = ingest_file(&dir.join("jitsi-rtcstats-server-processed/clienttest.json")).expect("loads");
    assert_eq!(i.format, Format::ProcessedRtcstats);
    let d = diagnose(&hopscope_ingest::assemble(vec![i])[0]);
    let p = participant(&d);
    assert_eq!(p.peer_connections.len(), 2);
    assert!(p.peer_connections.iter().all(|pc| pc.remote == "peer"), "the two PCs call each other");

    // JVB: SFU-side observations; Jicofo and Jigasi: recognised and described.
    let jvb = ingest_file(&dir.join("jitsi-rtcstats-server/jvb-sample")).expect("loads");
    assert_eq!(jvb.middleboxes.len(), 1);
    assert_eq!(jvb.middleboxes[0].clients.len(), 2);
    assert!(jvb.middleboxes[0].clients.iter().all(|c| c.samples.len() > 100));
    for (file, what) in [("jicofo-sample", "Jicofo"), ("jigasi-sample", "Jigasi")] {
        let i = ingest_file(&dir.join("jitsi-rtcstats-server").join(file)).expect("loads");
        assert!(i.participants.is_empty() && i.middleboxes.is_empty());
        assert!(
            i.notes.iter().any(|n| n.message.contains(what) && n.message.contains("no media statistics")),
            "{file}"
        );
    }

    // getUserMedia-only captures in the two newest formats.
    for file in ["gumonly.jsonl", "gumonly.gz"] {
        let i = ingest_file(&dir.join("rtcstats-rtcstats").join(file)).expect("loads");
        let p = &i.participants[0];
        assert!(p.peer_connections.is_empty(), "{file}");
        assert!(
            p.events.iter().any(|e| matches!(&e.kind, hopscope_model::EventKind::MediaRequest { outcome: hopscope_model::events::Outcome::Succeeded, detail: Some(d), .. } if d == "video")),
            "{file}"
        );
    }

    // ObserveRTC's synthetic ClientSample deltas.
    let d = one(&dir.join("observertc-schemas"), "stream.golden.json");
    let p = participant(&d);
    assert_eq!(p.id, "client-42");
    assert_eq!(p.peer_connections[0].streams.iter().filter(|s| s.direction == "inbound").count(), 3);
}

/// The built-in rules say about the real dumps what a reader of those files would.
#[test]
fn the_builtin_rules_find_what_a_reader_would() {
    let Some(dir) = corpus() else { return };
    let jitsi = dir.join("jitsi-rtcstats-server");
    let rules_of = |d: &Diagnosis| -> Vec<String> { d.findings.iter().map(|f| f.rule.clone()).collect() };
    let messages = |d: &Diagnosis, rule: &str| -> Vec<String> {
        d.findings.iter().filter(|f| f.rule == rule).map(|f| f.message.clone()).collect()
    };

    // The relayed TLS call: media through TURN/TLS, a stall to 1.6 s round trip, freezes.
    let d = one(&jitsi, "chrome-relay");
    assert_eq!(
        messages(&d, "relay-over-tcp"),
        ["Annabel-7gE's media on PC_0 is relayed over TURN/tls (1 min 52 s)"]
    );
    assert_eq!(messages(&d, "rtt-spike"), ["Annabel-7gE's round trip on PC_0 spiked to 1.6 s (10 s)"]);
    let freezes = messages(&d, "video-freezes");
    assert!(freezes.iter().any(|m| m.contains("50% of the time")), "{freezes:?}");
    assert_eq!(d.outcome, "completed");
    // Safari behind the same relay stalls far longer.
    let d = one(&jitsi, "safari-relay");
    assert_eq!(messages(&d, "rtt-spike"), ["Toni-AGZ's round trip on PC_0 spiked to 5.5 s (20 s)"]);

    // Sessions whose connections fail: ICE failed and a dropped call, with the camera error.
    for name in ["chrome-standard-pc-failed", "chrome-standard-pc-reconnect"] {
        let d = one(&jitsi, name);
        let rules = rules_of(&d);
        for expected in ["ice-failed", "call-dropped", "get-user-media-failed"] {
            assert!(rules.contains(&expected.to_string()), "{name}: {rules:?}");
        }
        assert_eq!(d.outcome, "dropped", "{name}");
        assert_eq!(
            messages(&d, "get-user-media-failed"),
            ["Lesly-U1W's media request failed: getUserMedia: NotReadableError"]
        );
        // Its camera failed, so it sends audio only: a low estimate there is not a network problem.
        assert!(!rules.contains(&"low-available-bandwidth".to_string()), "{name}: {rules:?}");
    }
    // ICE connected but the secure handshake never completed, then failed: nobody got media.
    let d = one(&jitsi, "undefined-ice-candidate");
    assert_eq!(d.outcome, "failed");
    assert!(rules_of(&d).contains(&"call-failed".to_string()));

    // STUN-only probe connections fail by design and must not raise ICE failures.
    let d = one(&jitsi, "chrome-standard-multiple-p2p");
    let rules = rules_of(&d);
    assert!(!rules.iter().any(|r| r.starts_with("ice-") || r.starts_with("call-")), "{rules:?}");
    assert_eq!(d.outcome, "completed");

    // A single getStats() snapshot taken while connecting is not a failed call.
    let d = one(&dir.join("mypurecloud-webrtc-stats-gatherer"), "mock-spec-stats-initial.json");
    assert_eq!(d.outcome, "connecting");
    assert!(d.findings.is_empty(), "{:?}", rules_of(&d));

    // Chrome 48's decaying default RTT (3000 ms, then ×0.75 a second) is not a network delay.
    let d = one(&dir.join("jitsi-rtcstats-server-processed"), "clienttest.json");
    assert!(!rules_of(&d).iter().any(|r| r.contains("rtt")), "{:?}", rules_of(&d));

    // Every finding on every corpus file renders a message with no template left in it.
    for entry in files(&dir) {
        let Ok(input) = ingest_file(&entry) else { continue };
        for c in hopscope_ingest::assemble(vec![input]) {
            for f in diagnose(&c).findings {
                assert!(
                    !f.message.contains('{') && !f.message.is_empty(),
                    "{}: {}",
                    entry.display(),
                    f.message
                );
            }
        }
    }
}
