//! Media: what a sender puts on the wire each interval, and what a receiver makes of it.
//!
//! Packets are simulated one by one (their loss decides concealment, NACKs, broken frames
//! and freezes), frames one by one (their arrival decides frame rate and freezes); the
//! browser's counters are then the sums libwebrtc would keep.

use fastrand::Rng;

use crate::network::LossChain;
use crate::scenario::{AudioCodec, AudioSpec, VideoCodec, VideoSpec};

/// Longest sequence-number gap libwebrtc counts as loss; a longer one is taken for a
/// stream restart and never reaches `packetsLost` (seen in the captured burst-loss calls).
pub(crate) const MAX_COUNTED_GAP: u64 = 50;
/// How long NetEq's expansion stays audible before it fades to silence.
const AUDIBLE_EXPANSION_S: f64 = 0.19;
/// Payload bytes per video packet, as libwebrtc packetises.
const VIDEO_PACKET_BYTES: f64 = 1150.0;
/// RTP header plus extensions, bytes per packet.
const AUDIO_HEADER_BYTES: u64 = 28;
const VIDEO_HEADER_BYTES: u64 = 30;
/// Encoder bits per pixel: about 1 Mbit/s for 720p at 30 fps with VP8.
const BITS_PER_PIXEL: f64 = 0.035;
/// libwebrtc's downscaling steps (3/4 and 1/2 alternating).
const SCALES: [f64; 6] = [1.0, 0.75, 0.5, 0.375, 0.25, 0.1875];
/// Seconds the encoder waits before stepping the resolution back up.
const UPSCALE_AFTER_S: f64 = 3.0;
/// Frame gaps libwebrtc averages before it calls any gap a freeze.
const MIN_FRAMES_FOR_FREEZE: u64 = 5;

/// What a sender sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Audio,
    Camera,
    Screen,
}

impl Kind {
    pub fn is_video(self) -> bool {
        self != Kind::Audio
    }

    pub fn kind(self) -> &'static str {
        if self.is_video() { "video" } else { "audio" }
    }
}

/// A codec as the `codec` stats object describes it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Codec {
    pub mime: &'static str,
    pub payload_type: u32,
    pub clock_rate: u32,
    pub channels: Option<u32>,
    pub fmtp: Option<String>,
    pub implementation: &'static str,
}

impl Codec {
    pub fn audio(codec: AudioCodec, dtx: bool) -> Codec {
        match codec {
            AudioCodec::Opus => Codec {
                mime: "audio/opus",
                payload_type: 111,
                clock_rate: 48_000,
                channels: Some(2),
                fmtp: Some(
                    if dtx { "minptime=10;usedtx=1;useinbandfec=1" } else { "minptime=10;useinbandfec=1" }
                        .into(),
                ),
                implementation: "",
            },
            AudioCodec::Pcmu => Codec {
                mime: "audio/PCMU",
                payload_type: 0,
                clock_rate: 8000,
                channels: Some(1),
                fmtp: None,
                implementation: "",
            },
            AudioCodec::Pcma => Codec {
                mime: "audio/PCMA",
                payload_type: 8,
                clock_rate: 8000,
                channels: Some(1),
                fmtp: None,
                implementation: "",
            },
        }
    }

    pub fn video(codec: VideoCodec) -> Codec {
        let (mime, payload_type, fmtp, implementation) = match codec {
            VideoCodec::Vp8 => ("video/VP8", 96, None, "libvpx"),
            VideoCodec::Vp9 => ("video/VP9", 98, Some("profile-id=0"), "libvpx"),
            VideoCodec::H264 => (
                "video/H264",
                102,
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
                "OpenH264",
            ),
            VideoCodec::Av1 => ("video/AV1", 35, Some("level-idx=5;profile=0;tier=0"), "libaom"),
        };
        Codec {
            mime,
            payload_type,
            clock_rate: 90_000,
            channels: None,
            fmtp: fmtp.map(String::from),
            implementation,
        }
    }

    /// Chrome's codec stats id: `COT01_111_minptime=10;useinbandfec=1`.
    pub fn stats_id(&self, outbound: bool) -> String {
        let dir = if outbound { "COT01_" } else { "CIT01_" };
        match &self.fmtp {
            Some(f) => format!("{dir}{}_{f}", self.payload_type),
            None => format!("{dir}{}", self.payload_type),
        }
    }
}

/// Sequence-number bookkeeping as libwebrtc's receive statistics keep it: a gap counts as
/// lost when the next packet arrives, unless it is too long to be loss.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeqStats {
    pub received: u64,
    pub lost: u64,
    run: u64,
}

impl SeqStats {
    pub fn arrived(&mut self) {
        if self.run <= MAX_COUNTED_GAP {
            self.lost += self.run;
        }
        self.run = 0;
        self.received += 1;
    }

    pub fn missing(&mut self) {
        self.run += 1;
    }
}

/// One RTP packet sent this interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packet {
    pub at: f64,
    pub bytes: u64,
    /// Index into the interval's frames (video).
    pub frame: usize,
    /// Lost on the sender's access link.
    pub lost_up: bool,
    /// Lost on the sender's access link and not repaired there (an SFU repairs with NACK).
    pub residual_up: bool,
}

/// One video frame sent this interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub at: f64,
    pub packets: usize,
}

/// Why the encoder sends less than it was configured for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limitation {
    None,
    Cpu,
    Bandwidth,
}

impl Limitation {
    pub fn as_str(self) -> &'static str {
        match self {
            Limitation::None => "none",
            Limitation::Cpu => "cpu",
            Limitation::Bandwidth => "bandwidth",
        }
    }
}

/// A video encoder's adaptation state.
#[derive(Clone, Debug)]
pub(crate) struct Encoder {
    pub spec: VideoSpec,
    started: bool,
    step: usize,
    changed_at: f64,
    pub fps: f64,
    pub target_bps: f64,
    pub reason: Limitation,
    /// Seconds spent in none / cpu / bandwidth.
    pub durations: [f64; 3],
    pub resolution_changes: u64,
    pub key_pending: bool,
}

impl Encoder {
    pub fn new(spec: VideoSpec) -> Encoder {
        Encoder {
            spec,
            started: false,
            step: SCALES.len() - 1,
            changed_at: 0.0,
            fps: spec.fps,
            target_bps: 0.0,
            reason: Limitation::None,
            durations: [0.0; 3],
            resolution_changes: 0,
            key_pending: true,
        }
    }

    /// Encoded width and height (even, as encoders need).
    pub fn size(&self) -> (u64, u64) {
        let s = SCALES[self.step];
        let even = |v: u32| ((f64::from(v) * s / 2.0).round() as u64 * 2).max(2);
        (even(self.spec.width), even(self.spec.height))
    }

    fn needs(&self, step: usize, fps: f64) -> f64 {
        let s = SCALES[step];
        f64::from(self.spec.width) * f64::from(self.spec.height) * s * s * fps * BITS_PER_PIXEL
    }

    /// Adapts resolution and frame rate to the bitrate the congestion controller allows
    /// and to the CPU, as libwebrtc's quality scaler and overuse detector do: down at once,
    /// back up one step at a time.
    fn adapt(&mut self, allowed_bps: f64, cpu_limited: bool, now: f64) {
        let spec = self.spec;
        let target = allowed_bps.min(spec.max_bitrate);
        let (min_step, fps_cap) =
            if cpu_limited { (2, (spec.fps * 2.0 / 3.0).round()) } else { (0, spec.fps) };
        let last = SCALES.len() - 1;
        let fits = (min_step..=last).find(|&s| self.needs(s, fps_cap) <= target).unwrap_or(last);
        let before = self.step;
        let initial = !self.started;
        if initial {
            // The first frame is encoded at the size the start bitrate carries.
            self.started = true;
            self.step = fits;
            self.changed_at = now;
        } else if fits > self.step || self.step < min_step {
            self.step = fits.max(min_step);
        } else if fits < self.step
            && now - self.changed_at >= UPSCALE_AFTER_S
            && self.needs(self.step - 1, fps_cap) * 1.2 <= target
        {
            self.step -= 1;
        }
        if self.step != before && !initial {
            self.changed_at = now;
            // Chrome counts the CPU adapter's changes; the bandwidth scaler's stay at 0 (as
            // captured: 720p → 270p under a cap left qualityLimitationResolutionChanges 0).
            if cpu_limited || self.reason == Limitation::Cpu {
                self.resolution_changes += 1;
            }
        }
        let need = self.needs(self.step, fps_cap);
        self.fps = if need > target { (fps_cap * target / need).clamp(1.0, fps_cap) } else { fps_cap };
        self.target_bps = target;
        self.reason = if cpu_limited {
            Limitation::Cpu
        } else if self.step > 0 || self.fps < spec.fps - 0.5 {
            Limitation::Bandwidth
        } else {
            Limitation::None
        };
    }
}

/// Counters of an `outbound-rtp` stream.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutCounters {
    pub packets: u64,
    pub bytes: u64,
    pub header_bytes: u64,
    pub rtx_packets: u64,
    pub rtx_bytes: u64,
    pub nacks: u64,
    pub plis: u64,
    pub frames: u64,
    pub key_frames: u64,
    pub huge_frames: u64,
    pub encode_time: f64,
    pub packet_send_delay: f64,
    /// Frames in the last interval, for `framesPerSecond`.
    pub last_frames: u64,
}

/// The microphone or camera behind a sender (`media-source`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Source {
    pub level: f64,
    pub energy: f64,
    pub duration: f64,
    pub frames: u64,
}

/// What the far end's RTCP receiver reports told the sender (`remote-inbound-rtp`).
#[derive(Clone, Debug, Default)]
pub(crate) struct RrState {
    pub at: Option<f64>,
    pub lost: u64,
    pub fraction: f64,
    pub jitter: f64,
    pub rtt: f64,
    pub total_rtt: f64,
    pub measurements: u64,
    last_lost: u64,
    last_received: u64,
    pub next_at: f64,
}

impl RrState {
    /// One receiver report at `at` about `seq`.
    pub fn report(&mut self, at: f64, seq: SeqStats, jitter: f64, rtt: f64) {
        let lost = seq.lost - self.last_lost.min(seq.lost);
        let received = seq.received - self.last_received.min(seq.received);
        let expected = lost + received;
        // fractionLost is an 8-bit fixed-point number on the wire.
        self.fraction = if expected > 0 {
            (256.0 * lost as f64 / expected as f64).floor().min(255.0) / 256.0
        } else {
            0.0
        };
        self.last_lost = seq.lost;
        self.last_received = seq.received;
        self.lost = seq.lost;
        self.jitter = jitter;
        self.rtt = rtt;
        self.total_rtt += rtt;
        self.measurements += 1;
        self.at = Some(at);
    }
}

/// One sent track.
#[derive(Debug)]
pub(crate) struct Sender {
    pub endpoint: usize,
    pub pc: usize,
    pub kind: Kind,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
    pub mid: String,
    pub source_id: String,
    pub track_id: String,
    pub codec: Codec,
    pub audio: Option<AudioSpec>,
    pub encoder: Option<Encoder>,
    pub rng: Rng,
    /// Loss state of each upstream segment ([`Segments`]).
    pub up_chains: [LossChain; 3],
    pub out: OutCounters,
    pub source: Source,
    pub rr: RrState,
    /// The media server's view of the uplink (its receiver reports), SFU calls only.
    pub up_seq: SeqStats,
    /// Payload bytes that reached the media server.
    pub up_bytes: u64,
    /// Interarrival jitter the media server measures on this stream, seconds.
    pub up_jitter: f64,
    next_at: Option<f64>,
    /// This interval's packets and frames.
    pub packets: Vec<Packet>,
    pub frames: Vec<Frame>,
    /// Seconds sent this interval.
    pub sent_s: f64,
    /// Whether the interval's audio was muted (and in DTX when `dtx`).
    pub muted: bool,
    /// RTCP feedback collected from receivers this interval.
    pub tick_nacks: u64,
    pub tick_plis: u64,
}

impl Sender {
    pub fn new(endpoint: usize, pc: usize, kind: Kind, codec: Codec, rng: Rng) -> Sender {
        Sender {
            endpoint,
            pc,
            kind,
            ssrc: 0,
            rtx_ssrc: 0,
            mid: String::new(),
            source_id: String::new(),
            track_id: String::new(),
            codec,
            audio: None,
            encoder: None,
            rng,
            up_chains: Default::default(),
            out: OutCounters::default(),
            source: Source::default(),
            rr: RrState::default(),
            up_seq: SeqStats::default(),
            up_bytes: 0,
            up_jitter: 0.0,
            next_at: None,
            packets: Vec::new(),
            frames: Vec::new(),
            sent_s: 0.0,
            muted: false,
            tick_nacks: 0,
            tick_plis: 0,
        }
    }

    fn header_bytes(&self) -> u64 {
        if self.kind.is_video() { VIDEO_HEADER_BYTES } else { AUDIO_HEADER_BYTES }
    }

    /// Bits this interval's packets put on the wire, headers included.
    pub fn wire_bits(&self) -> f64 {
        self.packets.iter().map(|p| (p.bytes + self.header_bytes()) as f64 * 8.0).sum()
    }

    /// What the microphone or camera does, whether sending or not.
    pub fn capture(&mut self, dt: f64, muted: bool) {
        match self.kind {
            Kind::Audio => {
                // Speech level wanders; a disabled track captures silence.
                let walk = (self.rng.f64() - 0.5) * 0.6;
                let level = if self.source.level > 0.0 { self.source.level } else { 0.08 };
                self.source.level = if muted { 0.0 } else { (level * walk.exp()).clamp(0.01, 0.4) };
                self.source.energy += self.source.level * self.source.level * dt;
                self.source.duration += dt;
            }
            Kind::Camera | Kind::Screen => {
                let fps = self.encoder.as_ref().map_or(30.0, |e| e.spec.fps);
                self.source.frames += (fps * dt).round() as u64;
            }
        }
    }

    /// Plans the packets sent in `[from, to)`: `allowed_bps` is what congestion control
    /// grants this stream, `cpu_limited` whether the encoder is starved of CPU.
    pub fn send(&mut self, from: f64, to: f64, allowed_bps: f64, cpu_limited: bool, muted: bool) {
        self.packets.clear();
        self.frames.clear();
        self.sent_s = (to - from).max(0.0);
        self.muted = muted;
        self.out.last_frames = 0;
        if self.sent_s <= 0.0 {
            return;
        }
        let start = *self.next_at.get_or_insert(from);
        let mut at = start.max(from);
        match &mut self.encoder {
            None => {
                let dtx = self.audio.as_ref().is_some_and(|a| a.dtx);
                let pcm = self.codec.clock_rate == 8000;
                // Opus DTX sends one comfort-noise frame every 400 ms during silence.
                let spacing = if muted && dtx && !pcm { 0.4 } else { 0.02 };
                while at < to {
                    let bytes = if pcm {
                        160
                    } else if muted {
                        if dtx { 3 } else { 8 }
                    } else {
                        60 + self.rng.u64(0..41)
                    };
                    self.packets.push(Packet { at, bytes, frame: 0, lost_up: false, residual_up: false });
                    at += spacing;
                }
            }
            Some(enc) => {
                enc.adapt(allowed_bps, cpu_limited, from);
                let (w, h) = enc.size();
                let spacing = 1.0 / enc.fps;
                let mean_bytes = enc.target_bps / enc.fps / 8.0;
                let encode_s = 0.001 + 0.008 * (w * h) as f64 / 921_600.0;
                while at < to {
                    let key = std::mem::take(&mut enc.key_pending);
                    let noise = 0.85 + 0.3 * self.rng.f64();
                    let bytes = (mean_bytes * noise * if key { 4.0 } else { 1.0 }).max(40.0);
                    let packets = (bytes / VIDEO_PACKET_BYTES).ceil().max(1.0) as usize;
                    let per_packet = (bytes / packets as f64).round() as u64;
                    let frame = self.frames.len();
                    for i in 0..packets {
                        let t = at + i as f64 * 0.0005;
                        self.packets.push(Packet {
                            at: t,
                            bytes: per_packet,
                            frame,
                            lost_up: false,
                            residual_up: false,
                        });
                    }
                    self.frames.push(Frame { at, packets });
                    self.out.frames += 1;
                    self.out.last_frames += 1;
                    self.out.key_frames += u64::from(key);
                    // A frame 2.5× the mean size is "huge" to libwebrtc.
                    self.out.huge_frames += u64::from(noise * if key { 4.0 } else { 1.0 } > 2.5);
                    self.out.encode_time +=
                        encode_s * if cpu_limited { 4.0 } else { 1.0 } * (0.8 + 0.4 * self.rng.f64());
                    at += spacing;
                }
                let slot = match enc.reason {
                    Limitation::None => 0,
                    Limitation::Cpu => 1,
                    Limitation::Bandwidth => 2,
                };
                enc.durations[slot] += self.sent_s;
            }
        }
        self.next_at = Some(at);
        let header = self.header_bytes();
        for p in &self.packets {
            self.out.packets += 1;
            self.out.bytes += p.bytes;
            self.out.header_bytes += header;
            self.out.packet_send_delay += 0.0004;
        }
    }

    /// Retransmits `n` packets the far end asked for.
    pub fn retransmit(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        let mean = self.packets.iter().map(|p| p.bytes).sum::<u64>() / (self.packets.len().max(1) as u64);
        self.out.rtx_packets += n;
        self.out.rtx_bytes += n * mean;
        self.out.packets += n;
        self.out.bytes += n * mean;
        self.out.header_bytes += n * self.header_bytes();
    }

    /// Samples per packet for audio (20 ms at the codec's clock).
    pub fn samples_per_packet(&self) -> f64 {
        f64::from(self.codec.clock_rate) * 0.02
    }
}

/// What one stretch of the path did to this interval's packets.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Leg {
    /// Loss rate, congestion drops included.
    pub loss: f64,
    /// Mean burst length.
    pub burst: f64,
}

/// The stretches of a path on one side of its middle, in the order packets cross them.
/// Upstream: the sender's access link, its relay, the media server's ingress. Downstream:
/// the media server's egress, the receiver's relay, the receiver's access link. A stretch
/// that is not on the path loses nothing; the relay is always index [`RELAY`].
pub(crate) type Segments = [Leg; 3];
/// Where a relay sits among [`Segments`].
pub(crate) const RELAY: usize = 1;

/// Whether a packet gets across a stretch with no loss memory (retransmissions); a clean
/// stretch draws no random number, so paths without middlebox trouble replay unchanged.
fn passes(rng: &mut Rng, loss: f64) -> bool {
    loss <= 0.0 || rng.f64() >= loss
}

/// Packets and bytes a relay saw for one client: from and to the client, to and from its
/// peers (`[from client, to peers, from peers, to client]`), as TURN servers count them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct RelayCounters {
    pub packets: [u64; 4],
    pub bytes: [u64; 4],
}

impl RelayCounters {
    pub const FROM_CLIENT: usize = 0;
    pub const TO_PEERS: usize = 1;
    pub const FROM_PEERS: usize = 2;
    pub const TO_CLIENT: usize = 3;

    fn count(&mut self, which: usize, bytes: u64) {
        self.packets[which] += 1;
        self.bytes[which] += bytes;
    }

    pub fn add(&mut self, other: &RelayCounters) {
        for k in 0..4 {
            self.packets[k] += other.packets[k];
            self.bytes[k] += other.bytes[k];
        }
    }
}

/// What a sender's packets met upstream this interval.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UplinkTick {
    pub sent: u64,
    pub lost: u64,
    /// What the sender's relay carried (from the client, to its peers).
    pub relay: RelayCounters,
}

/// Decides, for each of a sender's packets, where upstream it was lost (its access link,
/// its relay, the media server's ingress), and whether an SFU got lost video back with a
/// retransmission.
pub(crate) fn uplink(
    sender: &mut Sender,
    segs: Segments,
    outage: impl Fn(f64) -> bool,
    sfu: bool,
) -> UplinkTick {
    let mut tick = UplinkTick::default();
    let video = sender.kind.is_video();
    let header = sender.header_bytes();
    for p in &mut sender.packets {
        tick.sent += 1;
        let wire = p.bytes + header;
        // The first stretch that loses the packet; an outage takes it on the access link.
        let lost_at = if outage(p.at) {
            Some(0)
        } else {
            (0..segs.len()).find(|&k| sender.up_chains[k].lost(&mut sender.rng, segs[k].loss, segs[k].burst))
        };
        if lost_at != Some(0) {
            tick.relay.count(RelayCounters::FROM_CLIENT, wire);
            if lost_at.is_none_or(|k| k > RELAY) {
                tick.relay.count(RelayCounters::TO_PEERS, wire);
            }
        }
        p.lost_up = lost_at.is_some();
        // The media server NACKs lost video at once; the retransmission crosses the same path.
        let mut repaired = false;
        if sfu && video && p.lost_up && !outage(p.at) && passes(&mut sender.rng, segs[0].loss) {
            tick.relay.count(RelayCounters::FROM_CLIENT, wire);
            if passes(&mut sender.rng, segs[RELAY].loss) {
                tick.relay.count(RelayCounters::TO_PEERS, wire);
                repaired = passes(&mut sender.rng, segs[2].loss);
            }
        }
        p.residual_up = p.lost_up && !repaired;
        if sfu {
            if p.lost_up {
                sender.up_seq.missing();
            } else {
                sender.up_seq.arrived();
                sender.up_bytes += p.bytes;
            }
        }
        tick.lost += u64::from(p.lost_up);
    }
    tick
}

/// Counters of an `inbound-rtp` stream.
#[derive(Clone, Debug, Default)]
pub(crate) struct InCounters {
    pub bytes: u64,
    pub header_bytes: u64,
    pub rtx_packets: u64,
    pub rtx_bytes: u64,
    pub discarded: u64,
    pub nacks: u64,
    pub plis: u64,
    pub last_packet_at: Option<f64>,
    // Audio.
    pub samples: f64,
    pub concealed: f64,
    pub silent_concealed: f64,
    pub concealment_events: u64,
    pub inserted: f64,
    pub removed: f64,
    pub energy: f64,
    pub samples_duration: f64,
    pub level: f64,
    // Both: jitter buffer (samples for audio, frames for video).
    pub jb_delay: f64,
    pub jb_target: f64,
    pub jb_minimum: f64,
    pub jb_emitted: f64,
    pub processing_delay: f64,
    // Video.
    pub frames_received: u64,
    pub frames_decoded: u64,
    pub frames_dropped: u64,
    pub key_frames_decoded: u64,
    pub frames_multi_packet: u64,
    pub freezes: u64,
    pub freeze_duration: f64,
    pub inter_frame_delay: f64,
    pub squared_inter_frame_delay: f64,
    pub decode_time: f64,
    pub fps: f64,
    pub width: u64,
    pub height: u64,
}

/// What the sender's RTCP sender reports told the receiver (`remote-outbound-rtp`).
#[derive(Clone, Debug, Default)]
pub(crate) struct SrState {
    pub at: Option<f64>,
    pub packets: u64,
    pub bytes: u64,
    pub remote_timestamp: f64,
    pub reports: u64,
    pub next_at: f64,
}

/// One received track: a sender's stream as one receiving peer connection gets it.
#[derive(Debug)]
pub(crate) struct Flow {
    pub sender: usize,
    pub pc: usize,
    pub endpoint: usize,
    pub mid: String,
    pub track_id: String,
    pub rng: Rng,
    /// Loss state of each downstream segment ([`Segments`]).
    chains: [LossChain; 3],
    pub started: Option<f64>,
    pub seq: SeqStats,
    pub c: InCounters,
    pub jitter: f64,
    pub sr: SrState,
    /// Packets and bytes the last hop (the sender, or the SFU) sent towards this receiver.
    pub forwarded_packets: u64,
    pub forwarded_bytes: u64,
    /// Retransmissions the SFU sent towards this receiver.
    pub rtx_sent: u64,
    /// What the receiver got of what the SFU forwarded (downstream of the server only).
    pub down_seq: SeqStats,
    /// The receiver's reports of `down_seq`, as the SFU keeps them.
    pub down_rr: RrState,
    last_decoded: Option<f64>,
    mean_frame_gap: f64,
    key_wait_until: Option<f64>,
    audible_gap_s: f64,
    /// Fractional late packets carried to the next interval.
    late_carry: f64,
}

/// Conditions for one flow over one interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Path {
    /// Chance that a retransmission gets across the sender's side (peer-to-peer).
    pub up_pass: f64,
    /// The receiver's side of the path.
    pub down: Segments,
    /// When the receiver's connection can take media.
    pub open_from: f64,
    pub open_to: f64,
    pub rtt: f64,
    /// Jitter the receiver measures, seconds.
    pub jitter: f64,
    /// Growth of queueing delay on the path this interval, seconds.
    pub queue_growth: f64,
    pub sfu: bool,
}

/// What one flow's interval meant for its sender and congestion control.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowTick {
    pub delivered: u64,
    pub lost: u64,
    pub nacks: u64,
    pub plis: u64,
    pub rtx: u64,
    /// What the receiver's relay carried (from its peers, to the client).
    pub relay: RelayCounters,
    /// Retransmissions that crossed the sender's relay (peer-to-peer).
    pub sender_relay: RelayCounters,
}

impl Flow {
    pub fn new(sender: usize, pc: usize, endpoint: usize, mid: String, track_id: String, rng: Rng) -> Flow {
        Flow {
            sender,
            pc,
            endpoint,
            mid,
            track_id,
            rng,
            chains: Default::default(),
            started: None,
            seq: SeqStats::default(),
            c: InCounters::default(),
            jitter: 0.0,
            sr: SrState::default(),
            forwarded_packets: 0,
            forwarded_bytes: 0,
            rtx_sent: 0,
            down_seq: SeqStats::default(),
            down_rr: RrState::default(),
            last_decoded: None,
            mean_frame_gap: 1.0 / 30.0,
            key_wait_until: None,
            audible_gap_s: 0.0,
            late_carry: 0.0,
        }
    }

    /// Receives the sender's interval `[t0, t1)`; `outage(t)` says whether the path is down.
    pub fn receive(
        &mut self,
        s: &Sender,
        path: Path,
        outage: impl Fn(f64) -> bool,
        t0: f64,
        t1: f64,
    ) -> FlowTick {
        let video = s.kind.is_video();
        let mut tick = FlowTick::default();
        let mut frame_got = vec![0usize; s.frames.len()];
        let spp = s.samples_per_packet();
        let header = if video { VIDEO_HEADER_BYTES } else { AUDIO_HEADER_BYTES };
        let mut arrived_any = false;
        for p in &s.packets {
            if p.at < path.open_from || p.at >= path.open_to {
                continue;
            }
            let upstream_gap = if path.sfu && video { p.residual_up } else { p.lost_up };
            if !upstream_gap || !path.sfu {
                self.forwarded_packets += 1;
                self.forwarded_bytes += p.bytes;
            }
            let down_out = outage(p.at);
            let wire = p.bytes + header;
            // The downstream links lose at their own pace, whether or not this packet got
            // this far; only what did is counted by the relay and the server.
            let lost_at = if down_out {
                Some(2)
            } else {
                let (chains, rng) = (&mut self.chains, &mut self.rng);
                (0..path.down.len()).find(|&k| chains[k].lost(rng, path.down[k].loss, path.down[k].burst))
            };
            let lost_down = lost_at.is_some();
            if !upstream_gap {
                if lost_at.is_none_or(|k| k >= RELAY) {
                    tick.relay.count(RelayCounters::FROM_PEERS, wire);
                    if lost_at.is_none_or(|k| k > RELAY) {
                        tick.relay.count(RelayCounters::TO_CLIENT, wire);
                    }
                }
                if path.sfu {
                    if lost_down {
                        self.down_seq.missing();
                    } else {
                        self.down_seq.arrived();
                    }
                }
            }
            if !(upstream_gap || lost_down) {
                self.seq.arrived();
                self.c.bytes += p.bytes;
                self.c.header_bytes += header;
                self.c.last_packet_at = Some(p.at);
                arrived_any = true;
                tick.delivered += 1;
                if video {
                    frame_got[p.frame] += 1;
                } else {
                    self.audible_gap_s = 0.0;
                }
                continue;
            }
            self.seq.missing();
            tick.lost += 1;
            if video {
                // The receiver NACKs; a retransmission gets through if the links let it.
                self.c.nacks += 1;
                tick.nacks += 1;
                let down_pass: f64 = path.down.iter().map(|l| 1.0 - l.loss).product();
                let chance = if path.sfu {
                    if p.residual_up { 0.0 } else { down_pass }
                } else {
                    path.up_pass * down_pass
                };
                if path.sfu && !p.residual_up && !down_out {
                    self.rtx_sent += 1;
                }
                if !down_out && !outage(p.at + path.rtt) && self.rng.f64() < chance {
                    tick.rtx += 1;
                    // It crossed every relay on the way.
                    tick.relay.count(RelayCounters::FROM_PEERS, wire);
                    tick.relay.count(RelayCounters::TO_CLIENT, wire);
                    if !path.sfu {
                        tick.sender_relay.count(RelayCounters::FROM_CLIENT, wire);
                        tick.sender_relay.count(RelayCounters::TO_PEERS, wire);
                    }
                    self.c.rtx_packets += 1;
                    self.c.rtx_bytes += p.bytes;
                    self.c.bytes += p.bytes;
                    self.c.header_bytes += header;
                    frame_got[p.frame] += 1;
                }
            } else {
                // NetEq expands over the gap: audible at first, then faded to silence.
                if self.audible_gap_s == 0.0 {
                    self.c.concealment_events += 1;
                }
                self.c.concealed += spp;
                if s.muted || self.audible_gap_s >= AUDIBLE_EXPANSION_S {
                    self.c.silent_concealed += spp;
                }
                self.audible_gap_s += 0.02;
            }
        }
        if self.started.is_none() && arrived_any {
            self.started = s.packets.iter().find(|p| p.at >= path.open_from).map(|p| p.at);
        }
        let Some(started) = self.started else { return tick };
        let jitter_noise = 0.85 + 0.3 * self.rng.f64();
        self.jitter = path.jitter * jitter_noise + 0.5 * path.queue_growth.abs();
        let played = (t1.min(path.open_to) - t0.max(started).max(path.open_from)).max(0.0);
        if video {
            self.receive_frames(s, &frame_got, path, &mut tick, t1 - t0);
        } else {
            self.play_audio(s, played, arrived_any, tick.delivered);
        }
        tick
    }

    fn play_audio(&mut self, s: &Sender, played: f64, arrived_any: bool, delivered: u64) {
        let clock = f64::from(s.codec.clock_rate);
        let samples = clock * played;
        let dtx = s.muted && s.audio.as_ref().is_some_and(|a| a.dtx);
        if dtx {
            // Between DTX frames NetEq plays comfort noise: silent concealment, not loss.
            let covered = delivered as f64 * s.samples_per_packet();
            let cng = (samples - covered).max(0.0);
            self.c.concealed += cng;
            self.c.silent_concealed += cng;
        } else if arrived_any {
            // Packets later than the jitter buffer allows are discarded and concealed.
            let late_share = (0.0005 * (self.jitter / 0.02).powi(2)).min(0.02);
            self.late_carry += delivered as f64 * late_share;
            let late = self.late_carry.floor();
            self.late_carry -= late;
            self.c.discarded += late as u64;
            self.c.concealed += late * s.samples_per_packet();
            self.c.concealment_events += late as u64;
            // Jitter makes NetEq stretch and squeeze audio to keep its delay.
            let stretch = (self.jitter * 0.4).min(0.05) * samples / 2.0;
            self.c.inserted += stretch;
            self.c.removed += stretch;
        }
        self.c.samples += samples;
        let jb = 0.02 + 3.5 * self.jitter;
        self.c.jb_delay += samples * jb;
        self.c.jb_target += samples * jb;
        self.c.jb_minimum += samples * (jb * 0.9);
        self.c.jb_emitted += samples;
        self.c.processing_delay += samples * (jb + 0.002);
        self.c.level = if arrived_any { s.source.level } else { 0.0 };
        self.c.energy += self.c.level * self.c.level * played;
        self.c.samples_duration += played;
    }

    fn receive_frames(&mut self, s: &Sender, got: &[usize], path: Path, tick: &mut FlowTick, dt: f64) {
        let Some(enc) = &s.encoder else { return };
        let (w, h) = enc.size();
        let jb = 0.01 + 2.0 * self.jitter;
        let key_wait = 0.2 + 1.5 * path.rtt;
        let mut decoded = 0u64;
        for (frame, &got) in s.frames.iter().zip(got) {
            if got == 0 {
                continue;
            }
            if got < frame.packets {
                // Incomplete and unrepairable: ask for a key frame; nothing decodes until it comes.
                if self.key_wait_until.is_none() {
                    self.key_wait_until = Some(frame.at + key_wait);
                    self.c.plis += 1;
                    tick.plis += 1;
                }
                continue;
            }
            self.c.frames_received += 1;
            if let Some(until) = self.key_wait_until {
                if frame.at < until {
                    self.c.frames_dropped += 1;
                    continue;
                }
                self.key_wait_until = None;
                self.c.key_frames_decoded += 1;
            }
            if self.c.frames_decoded == 0 {
                self.c.key_frames_decoded += 1;
            }
            decoded += 1;
            self.c.frames_decoded += 1;
            self.c.frames_multi_packet += u64::from(frame.packets > 1);
            if let Some(last) = self.last_decoded {
                // Queueing that builds up within the interval stretches the gap as well.
                let gap = frame.at - last + path.queue_growth.max(0.0) / s.frames.len().max(1) as f64;
                // Chrome's freeze: a gap over 3 mean frame durations and over mean + 150 ms,
                // judged only once a few frame gaps give the mean (libwebrtc waits for
                // kMinFrameSamplesToDetectFreeze = 5), so a slow camera's first frames are
                // not freezes.
                if self.c.frames_decoded > MIN_FRAMES_FOR_FREEZE
                    && gap > (3.0 * self.mean_frame_gap).max(self.mean_frame_gap + 0.15)
                {
                    self.c.freezes += 1;
                    self.c.freeze_duration += gap;
                }
                // The mean starts from the stream's own gaps, not a 30 fps guess.
                let weight = (self.c.frames_decoded as f64 - 1.0).clamp(1.0, 30.0);
                self.mean_frame_gap += (gap.min(1.0) - self.mean_frame_gap) / weight;
                self.c.inter_frame_delay += gap;
                self.c.squared_inter_frame_delay += gap * gap;
            }
            self.last_decoded = Some(frame.at);
        }
        let decoded_f = decoded as f64;
        self.c.jb_delay += decoded_f * jb;
        self.c.jb_target += decoded_f * (jb + 0.005);
        self.c.jb_minimum += decoded_f * jb * 0.8;
        self.c.jb_emitted += decoded_f;
        self.c.processing_delay += decoded_f * (jb + 0.008);
        self.c.decode_time += decoded_f * (0.001 + 0.004 * (w * h) as f64 / 921_600.0);
        self.c.fps = (decoded_f / dt).round();
        if decoded > 0 {
            (self.c.width, self.c.height) = (w, h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gaps_are_restarts_not_loss() {
        let mut s = SeqStats::default();
        s.arrived();
        for _ in 0..3 {
            s.missing();
        }
        s.arrived();
        assert_eq!((s.received, s.lost), (2, 3));
        for _ in 0..=MAX_COUNTED_GAP {
            s.missing();
        }
        s.arrived();
        assert_eq!((s.received, s.lost), (3, 3));
    }

    #[test]
    fn encoder_steps_down_at_once_and_up_slowly() {
        let spec =
            VideoSpec { codec: VideoCodec::Vp8, width: 1280, height: 720, fps: 30.0, max_bitrate: 1.5e6 };
        let mut e = Encoder::new(spec);
        e.adapt(300e3, false, 0.0);
        assert_eq!(
            (e.size(), e.reason),
            ((640, 360), Limitation::Bandwidth),
            "starts at what 300 kbit/s carries"
        );
        e.adapt(1.5e6, false, 1.0);
        assert_eq!(e.size(), (640, 360), "steps up only after a while");
        for t in 3..=9 {
            e.adapt(1.5e6, false, f64::from(t));
        }
        assert_eq!((e.size(), e.reason), ((1280, 720), Limitation::None));
        e.adapt(250e3, false, 13.0);
        assert_eq!((e.size(), e.reason), ((640, 360), Limitation::Bandwidth));
        e.adapt(1.5e6, true, 14.0);
        assert_eq!((e.size(), e.fps, e.reason), ((640, 360), 20.0, Limitation::Cpu));
        assert_eq!(e.resolution_changes, 0, "the bandwidth step-down is not counted; CPU kept the size");
    }
}
