//! Perceived quality end to end: real dumps through ingest → model → scores.

use hopscope_diagnose::diagnose;
use hopscope_model::Reading;
use hopscope_model::stats::{InboundRtpSample, InboundRtpStream, MediaKind, StreamInfo};
use hopscope_model::{Conference, Participant, ParticipantId, PeerConnection, PeerConnectionId, Timestamp};
use hopscope_score::aggregate::Media;
use hopscope_score::{QualityConfig, score_conference};
use hopscope_tests::{conference, corpus, fixture};

fn heard_r(c: &Conference, who: &str) -> f64 {
    let q = score_conference(c, &QualityConfig::default());
    let p = q.participants.iter().find(|p| p.received.id == who).expect("participant");
    p.received.audio.mean.expect("audio scored")
}

#[test]
fn random_loss_lowers_what_people_hear() {
    let clean = conference(&[
        fixture("chromium/p2p-direct/alice.rtcstats"),
        fixture("chromium/p2p-direct/bob.rtcstats"),
    ]);
    let lossy = conference(&[
        fixture("chromium/p2p-lossy/alice.rtcstats"),
        fixture("chromium/p2p-lossy/bob.rtcstats"),
    ]);
    for who in ["alice", "bob"] {
        let (r_clean, r_lossy) = (heard_r(&clean, who), heard_r(&lossy, who));
        // Loopback with no loss: only codec and device delay impair (R in the 80s-90s);
        // 5 % random loss on Opus costs well over 10 R.
        assert!(r_clean > 80.0, "{who}: clean R {r_clean}");
        assert!(r_lossy < r_clean - 10.0, "{who}: lossy R {r_lossy} vs clean {r_clean}");
    }
    // And the senders learn how they were heard.
    let q = score_conference(&lossy, &QualityConfig::default());
    for p in &q.participants {
        let sent = p.sent_audio.as_ref().expect("the other side's view of them");
        assert_eq!(sent.media, Media::Audio);
        assert!(sent.mean.is_some());
    }
}

#[test]
fn a_long_path_scores_worse_than_a_short_one_in_the_same_call() {
    let Some(dir) = corpus() else { return };
    // One participant, two connections at the same time: peer-to-peer on the LAN
    // (PC_4, RTT ≈ 1 ms) and the bridge (PC_3, RTT ≈ 186 ms). Delay alone must cost R.
    let c = conference(&[dir.join("jitsi-rtcstats-server/chrome-standard-multiple-p2p")]);
    let q = score_conference(&c, &QualityConfig::default());
    let mean_r = |pc: &str| {
        let rs: Vec<f64> = q
            .streams
            .iter()
            .filter(|s| s.peer_connection == pc && s.summary.media == Media::Audio)
            .filter_map(|s| s.summary.mean)
            .collect();
        assert!(!rs.is_empty(), "{pc} has scored audio");
        rs.iter().sum::<f64>() / rs.len() as f64
    };
    let (p2p, bridge) = (mean_r("PC_4"), mean_r("PC_3"));
    assert!(p2p > bridge + 2.0, "P2P R {p2p} vs bridge R {bridge}");
}

#[test]
fn relayed_high_rtt_calls_score_worse_than_clean_ones() {
    let Some(dir) = corpus() else { return };
    let jitsi = dir.join("jitsi-rtcstats-server");
    let poor_share = |file: &str| {
        let d = diagnose(&conference(&[jitsi.join(file)]));
        d.quality.participants[0].received.video.poor_share.unwrap_or(0.0)
    };
    // Safari's relayed call (RTT up to 5 s, 6 % video loss, an ICE disconnect) against a
    // clean Safari call through a bridge on a LAN: far more of it is poor. (Its coding
    // quality alone is not worse: 640×360 at 330 kbit/s against 320×180 at 110 kbit/s.)
    let (relayed, clean) = (poor_share("safari-relay"), poor_share("safari-standard-stats"));
    assert!(relayed > 0.10 && clean < 0.05, "poor share relayed {relayed} vs clean {clean}");
    // Safari 14 reports no jitter-buffer delay for audio: unknown, and the report says why.
    let d = diagnose(&conference(&[jitsi.join("safari-standard-stats")]));
    let audio = &d.quality.participants[0].received.audio;
    assert_eq!(audio.mean, None);
    assert!(
        audio.unknown_reasons.iter().any(|r| r.reason.contains("jitter-buffer")),
        "{:?}",
        audio.unknown_reasons
    );
    // Chrome over TURN/TLS with 24 freezes is labelled poor.
    let d = diagnose(&conference(&[jitsi.join("chrome-relay")]));
    assert_eq!(d.quality.conference.labels.poor, 1);
}

#[test]
fn missing_rtt_is_unknown_with_a_reason_not_a_perfect_score() {
    // An audio stream whose connection reports no RTT anywhere (no remote-inbound, no
    // remote-outbound, no candidate pair), as with a filtered snapshot.
    let t = |s: f64| Timestamp::from_epoch_ms(1.7e12 + s * 1000.0).expect("finite");
    let samples: Vec<InboundRtpSample> = (0..6)
        .map(|i| InboundRtpSample {
            at: t(f64::from(i)),
            packets_received: Reading::some(50.0 * f64::from(i)),
            packets_lost: Reading::some(0.0),
            bytes_received: Reading::some(4000.0 * f64::from(i)),
            jitter_s: Reading::some(0.004),
            jitter_buffer_delay_s: Reading::some(0.05 * 960.0 * f64::from(i)),
            jitter_buffer_emitted_count: Reading::some(960.0 * f64::from(i)),
            total_samples_received: Reading::some(48_000.0 * f64::from(i)),
            concealed_samples: Reading::some(0.0),
            silent_concealed_samples: Reading::some(0.0),
            concealment_events: Reading::some(0.0),
            total_audio_energy: Reading::some(0.01 * f64::from(i)),
            total_samples_duration_s: Reading::some(f64::from(i)),
            ..InboundRtpSample::default()
        })
        .collect();
    let stream = InboundRtpStream {
        info: StreamInfo {
            stats_id: "IT01A1".into(),
            kind: Some(MediaKind::Audio),
            ssrc: Some(1),
            codec: Some("audio/opus".into()),
            ..StreamInfo::default()
        },
        samples,
        ..InboundRtpStream::default()
    };
    let pc = PeerConnection {
        id: PeerConnectionId::new("pc"),
        inbound: vec![stream],
        ..PeerConnection::default()
    };
    let c = Conference {
        participants: vec![Participant {
            id: ParticipantId::new("p"),
            peer_connections: vec![pc],
            ..Participant::default()
        }],
        ..Conference::default()
    };
    let q = score_conference(&c, &QualityConfig::default());
    let s = &q.streams[0].summary;
    assert_eq!(s.scored_windows, 0);
    assert_eq!(s.mean, None);
    assert!(
        s.unknown_reasons.iter().any(|r| r.reason.to_ascii_lowercase().contains("rtt")),
        "{:?}",
        s.unknown_reasons
    );
}
