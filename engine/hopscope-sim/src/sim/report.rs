//! A browser's `getStats()` report: the W3C stats objects of one peer connection, with
//! Chrome's ids, field names and field order, less what Firefox or Safari leave out.

use super::media::{Flow, Kind, Sender};
use super::{Candidate, Pc, Timeline, World};
use crate::browser::Dialect;
use crate::json::Obj;

/// After a sender leaves an SFU call, its streams vanish from the others' reports once the
/// server has renegotiated.
pub(super) const REMOVED_AFTER_S: f64 = 1.0;

/// A Firefox-style id (8 hex digits) standing for a Chrome-style one, stable per connection.
pub(super) fn firefox_id(key: &str, salt: u64) -> String {
    let mut h: u32 = 0x811c_9dc5 ^ (salt as u32);
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// Stats ids in the browser's scheme.
struct Ids {
    dialect: Dialect,
    salt: u64,
}

impl Ids {
    fn id(&self, chrome: String) -> String {
        if self.dialect.libwebrtc_ids { chrome } else { firefox_id(&chrome, self.salt) }
    }

    fn letter(kind: Kind) -> char {
        if kind.is_video() { 'V' } else { 'A' }
    }

    fn outbound(&self, s: &Sender) -> String {
        self.id(format!("OT01{}{}", Self::letter(s.kind), s.ssrc))
    }

    fn inbound(&self, s: &Sender) -> String {
        self.id(format!("IT01{}{}", Self::letter(s.kind), s.ssrc))
    }

    fn remote_inbound(&self, s: &Sender) -> String {
        self.id(format!("RI{}{}", Self::letter(s.kind), s.ssrc))
    }

    fn remote_outbound(&self, s: &Sender) -> String {
        self.id(format!("RO{}{}", Self::letter(s.kind), s.ssrc))
    }

    fn codec(&self, s: &Sender, outbound: bool) -> String {
        self.id(s.codec.stats_id(outbound))
    }
}

/// Collects a report's objects; they are written sorted by id, as Chrome lists them.
struct Report {
    at_ms: f64,
    objects: Vec<(String, String)>,
}

impl Report {
    fn add(&mut self, id: String, kind: &str, fill: impl FnOnce(&mut Obj)) {
        self.add_at(id, kind, self.at_ms, fill);
    }

    fn add_at(&mut self, id: String, kind: &str, at_ms: f64, fill: impl FnOnce(&mut Obj)) {
        let mut json = String::with_capacity(512);
        let mut o = Obj::open(&mut json);
        o.str("id", &id).num("timestamp", at_ms).str("type", kind);
        fill(&mut o);
        o.close();
        self.objects.push((id, json));
    }

    fn finish(mut self) -> String {
        self.objects.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::with_capacity(self.objects.iter().map(|(_, j)| j.len() + 1).sum::<usize>() + 2);
        out.push('[');
        for (i, (_, json)) in self.objects.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(json);
        }
        out.push(']');
        out
    }
}

impl World<'_> {
    /// The `getStats()` report of `pc` at time `t`.
    pub(super) fn report(&self, pc: usize, t: f64) -> String {
        let p = &self.pcs[pc];
        let d = self.endpoints[p.endpoint].dialect;
        let ids = Ids { dialect: d, salt: p.salt };
        let mut r = Report { at_ms: self.epoch_ms(t), objects: Vec::new() };
        let transport = ids.id("T01".into());
        let senders: Vec<&Sender> = p.senders.iter().map(|&s| &self.senders[s]).collect();
        let flows: Vec<&Flow> = p
            .flows
            .iter()
            .map(|&f| &self.flows[f])
            .filter(|f| f.started.is_some_and(|s| s <= t))
            .filter(|f| self.pcs[self.senders[f.sender].pc].tl.closed + REMOVED_AFTER_S > t)
            .collect();

        for s in &senders {
            self.outbound(&mut r, &ids, s, &transport, t);
            self.media_source(&mut r, &ids, s);
            if let Some(at) = s.rr.at {
                self.remote_inbound(&mut r, &ids, s, &transport, at);
            }
        }
        for f in &flows {
            let s = &self.senders[f.sender];
            self.inbound(&mut r, &ids, f, s, &transport);
            if let Some(at) = f.sr.at {
                let (id, local) = (ids.remote_outbound(s), ids.inbound(s));
                r.add_at(id, "remote-outbound-rtp", self.epoch_ms(at), |o| {
                    o.str("codecId", &ids.codec(s, false))
                        .str("kind", s.kind.kind())
                        .str("mediaType", s.kind.kind());
                    o.int("ssrc", u64::from(s.ssrc)).str("transportId", &transport);
                    o.int("bytesSent", f.sr.bytes).int("packetsSent", f.sr.packets).str("localId", &local);
                    o.num("remoteTimestamp", self.epoch_ms(f.sr.remote_timestamp))
                        .int("reportsSent", f.sr.reports);
                });
            }
        }
        self.codecs(&mut r, &ids, &senders, &flows, &transport, d);
        self.ice(&mut r, &ids, p, &senders, &flows, &transport, t);
        if d.media_playout {
            self.playout(&mut r, &flows);
        }
        r.add(ids.id("P".into()), "peer-connection", |o| {
            o.int("dataChannelsClosed", 0).int("dataChannelsOpened", 0);
        });
        r.finish()
    }

    fn outbound(&self, r: &mut Report, ids: &Ids, s: &Sender, transport: &str, t: f64) {
        let d = ids.dialect;
        let c = &s.out;
        let pc = &self.pcs[s.pc];
        r.add(ids.outbound(s), "outbound-rtp", |o| {
            o.str("codecId", &ids.codec(s, true)).str("kind", s.kind.kind()).str("mediaType", s.kind.kind());
            o.int("ssrc", u64::from(s.ssrc)).str("transportId", transport);
            o.int("bytesSent", c.bytes).int("packetsSent", c.packets).bool("active", pc.tl.closed > t);
            if s.kind == Kind::Screen && d.libwebrtc_ids {
                o.str("contentType", "screenshare");
            }
            let enc = s.encoder.as_ref();
            if enc.is_some() && d.implementation {
                o.str("encoderImplementation", s.codec.implementation).int("encodingIndex", 0);
            }
            if let Some(enc) = enc {
                let (w, h) = enc.size();
                o.int("firCount", 0);
                if c.frames > 0 {
                    o.int("frameHeight", h).int("frameWidth", w);
                }
                o.int("framesEncoded", c.frames);
                if c.last_frames > 0 {
                    o.num("framesPerSecond", (c.last_frames as f64 / self.scenario.interval).round());
                }
                o.int("framesSent", c.frames);
            }
            o.int("headerBytesSent", c.header_bytes);
            if enc.is_some() {
                o.int("hugeFramesSent", c.huge_frames).int("keyFramesEncoded", c.key_frames);
            }
            o.str("mediaSourceId", &ids.id(s.source_id.clone())).str("mid", &s.mid).int("nackCount", c.nacks);
            if let Some(enc) = enc {
                o.int("pliCount", c.plis);
                if d.quality_limitation {
                    let [none, cpu, bandwidth] = enc.durations;
                    o.obj("qualityLimitationDurations", |q| {
                        q.num("bandwidth", bandwidth).num("cpu", cpu).num("none", none).int("other", 0);
                    });
                    o.str("qualityLimitationReason", enc.reason.as_str());
                    o.int("qualityLimitationResolutionChanges", enc.resolution_changes);
                }
            }
            if s.rr.at.is_some() {
                o.str("remoteId", &ids.remote_inbound(s));
            }
            o.int("retransmittedBytesSent", c.rtx_bytes).int("retransmittedPacketsSent", c.rtx_packets);
            if let Some(enc) = enc {
                o.int("rtxSsrc", u64::from(s.rtx_ssrc)).str("scalabilityMode", "L1T1");
                o.num("targetBitrate", enc.target_bps.round());
                o.num("totalEncodeTime", c.encode_time).int("totalEncodedBytesTarget", 0);
            } else {
                o.int("targetBitrate", if s.codec.clock_rate == 8000 { 64_000 } else { 32_000 });
            }
            o.num("totalPacketSendDelay", c.packet_send_delay);
        });
    }

    fn media_source(&self, r: &mut Report, ids: &Ids, s: &Sender) {
        let src = &s.source;
        r.add(ids.id(s.source_id.clone()), "media-source", |o| {
            o.str("kind", s.kind.kind()).str("trackIdentifier", &s.track_id);
            match &s.encoder {
                None => {
                    o.num("audioLevel", src.level).num("totalAudioEnergy", src.energy);
                    o.num("totalSamplesDuration", src.duration);
                }
                Some(enc) => {
                    o.int("frames", src.frames).num("framesPerSecond", enc.spec.fps);
                    o.int("height", u64::from(enc.spec.height)).int("width", u64::from(enc.spec.width));
                }
            }
        });
    }

    fn remote_inbound(&self, r: &mut Report, ids: &Ids, s: &Sender, transport: &str, at: f64) {
        let rr = &s.rr;
        r.add_at(ids.remote_inbound(s), "remote-inbound-rtp", self.epoch_ms(at), |o| {
            o.str("codecId", &ids.codec(s, true)).str("kind", s.kind.kind()).str("mediaType", s.kind.kind());
            o.int("ssrc", u64::from(s.ssrc)).str("transportId", transport);
            o.num(
                "jitter",
                (rr.jitter * f64::from(s.codec.clock_rate)).round() / f64::from(s.codec.clock_rate),
            );
            o.signed("packetsLost", rr.lost as i64).num("fractionLost", rr.fraction);
            o.str("localId", &ids.outbound(s)).num("roundTripTime", rr.rtt);
            o.int("roundTripTimeMeasurements", rr.measurements).num("totalRoundTripTime", rr.total_rtt);
        });
    }

    fn inbound(&self, r: &mut Report, ids: &Ids, f: &Flow, s: &Sender, transport: &str) {
        let d = ids.dialect;
        let c = &f.c;
        let clock = f64::from(s.codec.clock_rate);
        r.add(ids.inbound(s), "inbound-rtp", |o| {
            o.str("codecId", &ids.codec(s, false)).str("kind", s.kind.kind()).str("mediaType", s.kind.kind());
            o.int("ssrc", u64::from(s.ssrc)).str("transportId", transport);
            // RTP jitter is counted in timestamp units.
            o.num("jitter", (f.jitter * clock).round() / clock);
            o.signed("packetsLost", f.seq.lost as i64).int("packetsReceived", f.seq.received + c.rtx_packets);
            if s.kind == Kind::Screen && d.libwebrtc_ids {
                o.str("contentType", "screenshare");
            }
            let last = c.last_packet_at.map(|t| self.epoch_ms(t));
            if s.kind.is_video() {
                o.int("bytesReceived", c.bytes);
                if d.implementation {
                    o.str("decoderImplementation", s.codec.implementation);
                }
                o.int("firCount", 0);
                if c.width > 0 {
                    o.int("frameHeight", c.height).int("frameWidth", c.width);
                }
                o.int("framesAssembledFromMultiplePackets", c.frames_multi_packet);
                o.int("framesDecoded", c.frames_decoded).int("framesDropped", c.frames_dropped);
                if c.fps > 0.0 {
                    o.num("framesPerSecond", c.fps);
                }
                o.int("framesReceived", c.frames_received);
                if d.freezes {
                    o.int("freezeCount", c.freezes);
                }
                o.int("headerBytesReceived", c.header_bytes);
                jitter_buffer(o, c);
                o.int("keyFramesDecoded", c.key_frames_decoded);
                if let Some(l) = last {
                    o.num("lastPacketReceivedTimestamp", l);
                }
                o.str("mid", &f.mid).int("nackCount", c.nacks);
                if d.freezes {
                    o.int("pauseCount", 0);
                }
                o.int("pliCount", c.plis);
                if f.sr.at.is_some() {
                    o.str("remoteId", &ids.remote_outbound(s));
                }
                o.int("retransmittedBytesReceived", c.rtx_bytes)
                    .int("retransmittedPacketsReceived", c.rtx_packets);
                o.int("rtxSsrc", u64::from(s.rtx_ssrc)).num("totalDecodeTime", c.decode_time);
                if d.freezes {
                    o.num("totalFreezesDuration", c.freeze_duration);
                }
                o.num("totalInterFrameDelay", c.inter_frame_delay);
                if d.freezes {
                    o.int("totalPausesDuration", 0);
                }
                o.num("totalProcessingDelay", c.processing_delay);
                o.num("totalSquaredInterFrameDelay", c.squared_inter_frame_delay);
            } else {
                o.num("audioLevel", c.level).int("bytesReceived", c.bytes);
                o.num("concealedSamples", c.concealed.round()).int("concealmentEvents", c.concealment_events);
                o.int("fecPacketsDiscarded", 0)
                    .int("fecPacketsReceived", 0)
                    .int("headerBytesReceived", c.header_bytes);
                o.num("insertedSamplesForDeceleration", c.inserted.round());
                jitter_buffer(o, c);
                if let Some(l) = last {
                    o.num("lastPacketReceivedTimestamp", l);
                }
                o.str("mid", &f.mid).int("packetsDiscarded", c.discarded);
                if d.media_playout {
                    o.str("playoutId", &ids.id("AP".into()));
                }
                if f.sr.at.is_some() {
                    o.str("remoteId", &ids.remote_outbound(s));
                }
                o.num("removedSamplesForAcceleration", c.removed.round());
                o.num("silentConcealedSamples", c.silent_concealed.round());
                o.num("totalAudioEnergy", c.energy).num("totalProcessingDelay", c.processing_delay);
                o.num("totalSamplesDuration", c.samples_duration)
                    .num("totalSamplesReceived", c.samples.round());
            }
            o.str("trackIdentifier", &f.track_id);
        });
    }

    fn codecs(
        &self,
        r: &mut Report,
        ids: &Ids,
        senders: &[&Sender],
        flows: &[&Flow],
        transport: &str,
        d: Dialect,
    ) {
        let mut seen: Vec<String> = Vec::new();
        let directions =
            senders.iter().map(|s| (*s, true)).chain(flows.iter().map(|f| (&self.senders[f.sender], false)));
        for (s, outbound) in directions {
            let id = ids.codec(s, outbound);
            if seen.contains(&id) {
                continue;
            }
            seen.push(id.clone());
            let c = &s.codec;
            r.add(id, "codec", |o| {
                if let Some(ch) = c.channels {
                    o.int("channels", u64::from(ch));
                }
                o.int("clockRate", u64::from(c.clock_rate));
                if !d.transport {
                    o.str("codecType", if outbound { "encode" } else { "decode" });
                }
                o.str("mimeType", c.mime).int("payloadType", u64::from(c.payload_type));
                if let Some(f) = &c.fmtp {
                    o.str("sdpFmtpLine", f);
                }
                o.str("transportId", transport);
            });
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one report's shared context")]
    fn ice(
        &self,
        r: &mut Report,
        ids: &Ids,
        p: &Pc,
        senders: &[&Sender],
        flows: &[&Flow],
        transport: &str,
        t: f64,
    ) {
        let d = ids.dialect;
        let tl = &p.tl;
        if tl.gathered {
            for c in &p.local {
                candidate(r, c, false, transport);
            }
        }
        let bytes_sent: u64 = senders.iter().map(|s| s.out.bytes + s.out.header_bytes).sum();
        let packets_sent: u64 = senders.iter().map(|s| s.out.packets).sum();
        let bytes_received: u64 = flows.iter().map(|f| f.c.bytes + f.c.header_bytes).sum();
        let packets_received: u64 = flows.iter().map(|f| f.seq.received + f.c.rtx_packets).sum();
        let pair_id = p.pair_id(d);
        let checking = tl.checking.is_some_and(|c| c <= t);
        let failed = tl.failed_at.is_some_and(|f| f <= t);
        let connected = tl.connected.is_some_and(|c| c <= t);
        let pair_shown = checking && !failed && tl.gathered && pair_id.is_some();
        if let (true, Some(remote), Some(pair_id)) = (pair_shown, &p.remote, &pair_id) {
            candidate(r, remote, true, transport);
            let long_down = tl.outages.iter().any(|w| w.contains(t) && t - w.from > 1.0);
            let state = match (connected, tl.pair_waiting) {
                (_, true) => "waiting",
                (false, _) => "in-progress",
                (true, _) if long_down => "in-progress",
                (true, _) => "succeeded",
            };
            let last_in = flows.iter().filter_map(|f| f.c.last_packet_at).reduce(f64::max);
            let (local_id, remote_id) =
                (p.local.last().map(|c| c.id.clone()).unwrap_or_default(), remote.id.clone());
            r.add(pair_id.clone(), "candidate-pair", |o| {
                if connected && d.pair_rtt && tl.media_from.is_some() {
                    o.num("availableOutgoingBitrate", p.bwe.round());
                }
                o.int("bytesDiscardedOnSend", 0)
                    .int("bytesReceived", bytes_received)
                    .int("bytesSent", bytes_sent);
                o.int("consentRequestsSent", p.pair.consent_requests);
                if let (true, Some(rtt)) = (d.pair_rtt, p.pair.current_rtt) {
                    o.num("currentRoundTripTime", (rtt * 1000.0).round() / 1000.0);
                }
                if let Some(l) = last_in {
                    o.num("lastPacketReceivedTimestamp", self.epoch_ms(l).round());
                }
                if packets_sent > 0 {
                    o.num("lastPacketSentTimestamp", (self.epoch_ms(t) - 1.0).round());
                }
                o.str("localCandidateId", &local_id).bool("nominated", connected);
                o.int("packetsDiscardedOnSend", 0)
                    .int("packetsReceived", packets_received)
                    .int("packetsSent", packets_sent);
                o.num("priority", 9_115_038_255_631_187_000.0).str("remoteCandidateId", &remote_id);
                o.int("requestsReceived", p.pair.requests_sent).int("requestsSent", p.pair.requests_sent);
                o.int("responsesReceived", p.pair.responses_received)
                    .int("responsesSent", p.pair.responses_received);
                if d.pair_selected_flag {
                    o.bool("selected", connected);
                }
                o.str("state", state);
                if d.pair_rtt {
                    o.num("totalRoundTripTime", p.pair.total_rtt);
                }
                o.str("transportId", transport).bool("writable", state == "succeeded");
            });
        }
        if !d.transport {
            return;
        }
        let ice_state = Timeline::state_at(&tl.ice_states, t);
        let dtls_state = Timeline::state_at(&tl.dtls_states, t);
        r.add(transport.to_string(), "transport", |o| {
            o.int("bytesReceived", bytes_received).int("bytesSent", bytes_sent);
            if dtls_state == "connected" {
                o.str("dtlsCipher", "TLS_AES_128_GCM_SHA256")
                    .str("dtlsRole", if p.controlling { "server" } else { "client" });
            }
            o.str("dtlsState", dtls_state).str("iceLocalUsernameFragment", &p.ufrag);
            o.str("iceRole", if p.controlling { "controlling" } else { "controlled" });
            if d.transport_ice_state {
                o.str("iceState", ice_state);
            }
            o.int("packetsReceived", packets_received).int("packetsSent", packets_sent);
            let selected = connected && !failed && pair_shown;
            if d.transport_ice_state {
                o.int("selectedCandidatePairChanges", u64::from(connected));
            }
            if let (true, Some(id)) = (selected, &pair_id) {
                o.str("selectedCandidatePairId", id);
            }
            if dtls_state == "connected" {
                o.str("srtpCipher", "SRTP_AES128_CM_HMAC_SHA1_80").str("tlsVersion", "FEFD");
            }
        });
    }

    fn playout(&self, r: &mut Report, flows: &[&Flow]) {
        let audio: Vec<&Flow> =
            flows.iter().copied().filter(|f| !self.senders[f.sender].kind.is_video()).collect();
        let Some(device) = audio.iter().max_by(|a, b| a.c.samples.total_cmp(&b.c.samples)) else { return };
        let clock = f64::from(self.senders[device.sender].codec.clock_rate);
        let synthesized: f64 =
            audio.iter().map(|f| (f.c.concealed - f.c.silent_concealed).max(0.0)).sum::<f64>() / clock;
        let events: u64 = audio.iter().map(|f| f.c.concealment_events).sum();
        let duration = device.c.samples / clock;
        r.add("AP".into(), "media-playout", |o| {
            o.str("kind", "audio").num("synthesizedSamplesDuration", synthesized.min(duration));
            o.int("synthesizedSamplesEvents", events).num("totalPlayoutDelay", device.c.jb_delay / clock);
            o.num("totalSamplesCount", device.c.samples.round()).num("totalSamplesDuration", duration);
        });
    }
}

fn jitter_buffer(o: &mut Obj, c: &super::media::InCounters) {
    o.num("jitterBufferDelay", c.jb_delay).num("jitterBufferEmittedCount", c.jb_emitted.round());
    o.num("jitterBufferMinimumDelay", c.jb_minimum).num("jitterBufferTargetDelay", c.jb_target);
}

fn candidate(r: &mut Report, c: &Candidate, remote: bool, transport: &str) {
    let kind = if remote { "remote-candidate" } else { "local-candidate" };
    r.add(c.id.clone(), kind, |o| {
        o.str("address", &c.address)
            .str("candidateType", c.kind)
            .str("foundation", &c.foundation.to_string());
        o.str("ip", &c.address).bool("isRemote", remote);
        if let (false, Some(n)) = (remote, c.network_type) {
            o.str("networkType", n);
        }
        o.int("port", u64::from(c.port)).int("priority", c.priority).str("protocol", "udp");
        if let (false, Some(p)) = (remote, c.relay_protocol) {
            o.str("relayProtocol", p);
        }
        o.str("transportId", transport);
        if let (false, Some(url)) = (remote, &c.url) {
            o.str("url", url);
        }
        o.str("usernameFragment", &c.ufrag);
    });
}
