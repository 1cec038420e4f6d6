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
];

