// Scenario definitions shared by capture.mjs and verify.mjs.
// Addresses and TURN credentials must match netlab.sh.
export const TURN = '10.77.0.1:3478';
export const CREDS = { alice: 'alice-secret', bob: 'bob-secret' };

const turnServer = (name, transport, credential = CREDS[name]) => ({
  urls: `turn:${TURN}?transport=${transport}`,
  username: name,
  credential,
});
const stun = { urls: `stun:${TURN}` };
const AV = { audio: true, video: { width: 640, height: 360, frameRate: 15 } };
const AUDIO = { audio: true, video: false };
const AV720 = { audio: true, video: { width: 1280, height: 720, frameRate: 30 } };
const direct = (media) => ({ media, rtcConfig: { iceServers: [stun] } });
const FAKE30 = ['--use-fake-device-for-media-stream=fps=30'];

// Each scenario: a real call between alice (offerer) and bob (answerer).
export const SCENARIOS = [
  {
    name: 'p2p-direct',
    durationMs: 20000,
    expect: 'connected',
    alice: { media: AV, rtcConfig: { iceServers: [stun] } },
    bob: { media: AV, rtcConfig: { iceServers: [stun] } },
  },
  {
    name: 'p2p-turn-tcp',
    durationMs: 20000,
    expect: 'connected',
    relayProtocol: 'tcp',
    alice: { media: AV, rtcConfig: { iceServers: [turnServer('alice', 'tcp')], iceTransportPolicy: 'relay' } },
    bob: { media: AV, rtcConfig: { iceServers: [turnServer('bob', 'tcp')], iceTransportPolicy: 'relay' } },
  },
  {
    name: 'ice-failure-turn-401',
    durationMs: 15000,
    expect: 'failed-401',
    alice: {
      media: AV,
      rtcConfig: { iceServers: [turnServer('alice', 'udp', 'wrong-password')], iceTransportPolicy: 'relay' },
    },
    bob: { media: AV, rtcConfig: { iceServers: [turnServer('bob', 'udp')] } },
  },
  {
    name: 'gum-failure',
    durationMs: 12000,
    expect: 'connected',
    alice: {
      gumFailure: { audio: false, video: { deviceId: { exact: 'hopscope-no-such-camera' } } },
      media: AUDIO,
      rtcConfig: { iceServers: [] },
    },
    bob: { media: AUDIO, rtcConfig: { iceServers: [] } },
  },
  {
    name: 'p2p-lossy',
    durationMs: 20000,
    expect: 'connected',
    lossPercent: 5,
    alice: { media: AV, rtcConfig: { iceServers: [stun] } },
    bob: { media: AV, rtcConfig: { iceServers: [stun] } },
  },

  // ---- impaired networks (see tests/fixtures/chromium/README.md) ----------------------------
  // impair.setup / impair.teardown: netlab.sh argument lists run before the call / after hangup
  // ("$RUNDIR" is replaced by the run directory); impair.timeline: [{atMs, netlab}] run at atMs
  // after alice's createOffer. What ran and when (epoch ms) is written to capture-summary.json.
  {
    name: 'p2p-delay-jitter',
    durationMs: 20000,
    expect: 'connected',
    impair: {
      setup: [['delay', '$RUNDIR', '150', '40']],
      teardown: [['nodelay', '$RUNDIR']],
    },
    checks: { rtt: [0.25, 0.45], minAudioJitter: 0.01 },
    alice: direct(AV),
    bob: direct(AV),
  },
  {
    name: 'p2p-bandwidth-cap',
    durationMs: 20000,
    afterLastImpairMs: 16000,
    expect: 'connected',
    impair: {
      // Even with a 2500 kbit/s start bitrate Chrome needs 6-12 s to scale up to 1280x720: cap
      // once both senders report qualityLimitationReason "none" (from t=6 s, at most 16 s).
      timeline: [{ atMs: 6000, waitFor: 'video-unlimited', maxWaitMs: 10000, netlab: ['cap', '250'] }],
      teardown: [['nocap']],
    },
    checks: { bandwidthLimited: { minSeconds: 4 } },
    alice: { ...direct(AV720), chromiumArgs: FAKE30, startBitrateKbps: 2500 },
    bob: { ...direct(AV720), chromiumArgs: FAKE30, startBitrateKbps: 2500 },
  },
  {
    name: 'p2p-connection-lost',
    durationMs: 12000,
    // After durationMs, keep going until both sides report connectionState "failed"
    // (Chromium takes ~30 s after the last packet), at most untilFailedMs more.
    untilFailedMs: 45000,
    expect: 'connection-lost',
    impair: {
      timeline: [{ atMs: 10000, netlab: ['block'] }],
      teardown: [['unblock']],
    },
    checks: { cutAtMs: 10000 },
    alice: direct(AV),
    bob: direct(AV),
  },
  {
    name: 'p2p-burst-loss',
    durationMs: 22000,
    expect: 'connected',
    impair: {
      // 1.5 s of 100% loss every 6 s (t = 4, 10, 16 s).
      timeline: [4000, 10000, 16000].flatMap((t) => [
        { atMs: t, netlab: ['block'] },
        { atMs: t + 1500, netlab: ['unblock'] },
      ]),
      teardown: [['unblock']],
    },
    checks: { burstLoss: true },
    alice: direct(AV),
    bob: direct(AV),
  },
  {
    name: 'negotiation-failure',
    durationMs: 10000,
    expect: 'negotiation-failed',
    alice: { ...direct(AV), corruptAnswer: 'fingerprint' },
    bob: direct(AV),
  },
];
