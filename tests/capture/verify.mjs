#!/usr/bin/env node
// Checks the files capture.mjs wrote and summarises what they contain.
//   node verify.mjs DIR            verify every scenario directory under DIR
// verifyScenario(dir, scenario) throws on the first problem and returns a summary object.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

function fail(msg) {
  throw new Error(`verify: ${msg}`);
}

// Reads FILE or FILE.gz.
export function readMaybeGz(file) {
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    return (buf[0] === 0x1f && buf[1] === 0x8b ? zlib.gunzipSync(buf) : buf).toString('utf8');
  }
  if (fs.existsSync(file + '.gz')) return zlib.gunzipSync(fs.readFileSync(file + '.gz')).toString('utf8');
  fail(`missing ${file}`);
}

const jsonLines = (text, file) =>
  text
    .split('\n')
    .filter((l) => l.length)
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        fail(`${file}:${i + 1}: ${e.message}`);
      }
    });

function parseRtcstats(file) {
  const lines = jsonLines(readMaybeGz(file), file);
  const first = lines[0];
  if (!Array.isArray(first) || first[0] !== 'connectionInfo' || first[1] !== null)
    fail(`${file}: first line is not connectionInfo`);
  if (first[2].statsFormat !== 'chrome_standard' || first[2].clientProtocol !== '3.1_STANDARD')
    fail(`${file}: bad connectionInfo ${JSON.stringify(first[2])}`);
  // Rebuild full snapshots from the delta-compressed getstats lines.
  const state = new Map(); // pc -> Map(id -> full object)
  const snapshots = new Map(); // pc -> [ {ts, stats: Map} ]
  let prevTs = 0;
  for (const [i, l] of lines.entries()) {
    if (!Array.isArray(l) || l.length !== 4) fail(`${file}:${i + 1}: not a 4-element array`);
    const [method, pc, value, ts] = l;
    if (typeof method !== 'string' || typeof ts !== 'number') fail(`${file}:${i + 1}: bad line`);
    if (ts < prevTs) fail(`${file}:${i + 1}: time goes backwards`);
    prevTs = ts;
    if (method !== 'getstats') continue;
    if (typeof pc !== 'string') fail(`${file}:${i + 1}: getstats without pc`);
    if (typeof value.timestamp !== 'number') fail(`${file}:${i + 1}: getstats without top-level timestamp`);
    const prev = state.get(pc) || new Map();
    const next = new Map();
    for (const [id, delta] of Object.entries(value)) {
      if (id === 'timestamp') continue;
      if (typeof delta.timestamp !== 'number') fail(`${file}:${i + 1}: ${id} has no timestamp`);
      const old = prev.get(id);
      if (!old && !delta.type) fail(`${file}:${i + 1}: first occurrence of ${id} has no type`);
      if (old && 'type' in delta) fail(`${file}:${i + 1}: type repeated for ${id}`);
      next.set(id, { ...(old || {}), ...delta });
    }
    state.set(pc, next);
    if (!snapshots.has(pc)) snapshots.set(pc, []);
    snapshots.get(pc).push({ ts, stats: next });
  }
  return { lines, snapshots };
}

function parseHopscope(file, scenario, participant) {
  const lines = jsonLines(readMaybeGz(file), file);
  const byPc = new Map();
  const events = [];
  let prevTs = 0;
  for (const [i, l] of lines.entries()) {
    const where = `${file}:${i + 1}`;
    if (l.v !== 1 || l.conference !== scenario || l.participant !== participant || l.source !== 'endpoint')
      fail(`${where}: bad envelope`);
    if (typeof l.timestamp !== 'number') fail(`${where}: no timestamp`);
    if (l.timestamp < prevTs) fail(`${where}: time goes backwards`);
    prevTs = l.timestamp;
    if ((i === 0) !== ('client' in l)) fail(`${where}: client must be on the first line only`);
    if (!l.stats && !l.events) fail(`${where}: neither stats nor events`);
    if (l.stats) {
      if (!l.pc) fail(`${where}: stats without pc`);
      for (const s of l.stats) if (!s.id || !s.type || typeof s.timestamp !== 'number') fail(`${where}: bad stats object`);
      if (!byPc.has(l.pc)) byPc.set(l.pc, []);
      byPc.get(l.pc).push({ ts: l.timestamp, stats: new Map(l.stats.map((s) => [s.id, s])) });
    }
    for (const e of l.events || []) {
      if (typeof e.timestamp !== 'number' || typeof e.type !== 'string' || !('value' in e)) fail(`${where}: bad event`);
      if (e.timestamp > l.timestamp) fail(`${where}: event after its line`);
      if (l.pc && e.pc !== l.pc) fail(`${where}: event pc differs from line pc`);
      events.push(e);
    }
  }
  return { lines, byPc, events };
}

function sameSamples(rs, hs, who) {
  const stale = new Set();
  const pcs = [...rs.snapshots.keys()];
  if (pcs.length !== hs.byPc.size) fail(`${who}: ${pcs.length} PCs in rtcstats, ${hs.byPc.size} in hopscope`);
  for (const pc of pcs) {
    const hsPc = 'pc-' + (Number(pc.replace('PC_', '')) + 1);
    const a = rs.snapshots.get(pc);
    const b = hs.byPc.get(hsPc);
    if (!b || a.length !== b.length) fail(`${who}: ${pc}/${hsPc} sample counts differ`);
    a.forEach((snap, i) => {
      if (snap.ts !== b[i].ts) fail(`${who}: sample ${i} times differ`);
      if (snap.stats.size !== b[i].stats.size) fail(`${who}: sample ${i} id sets differ`);
      for (const [id, full] of b[i].stats) {
        const got = snap.stats.get(id);
        if (!got) fail(`${who}: sample ${i} ${id} missing from rtcstats`);
        for (const [k, v] of Object.entries(full)) {
          if (k === 'id') continue;
          if (JSON.stringify(got[k]) !== JSON.stringify(v))
            fail(`${who}: sample ${i} ${id}.${k} differs after delta decompression`);
        }
        // A field that vanished from a stats object (e.g. remote-outbound-rtp.roundTripTime)
        // cannot be expressed by the delta format: the decoder keeps the stale value.
        for (const k of Object.keys(got)) if (!(k in full)) stale.add(`${full.type}.${k}`);
      }
    });
  }
  return [...stale].sort();
}

const sortKeys = (o) => (o ? Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1))) : o);

function selected(stats) {
  for (const s of stats.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const p = stats.get(s.selectedCandidatePairId);
      return { pair: p, local: p && stats.get(p.localCandidateId), remote: p && stats.get(p.remoteCandidateId) };
    }
  }
  return null;
}

function mediaSummary(samples) {
  const last = samples[samples.length - 1].stats;
  const out = { inbound: {}, remoteInbound: {} };
  for (const s of last.values()) {
    if (s.type === 'inbound-rtp')
      out.inbound[s.kind] = { packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, jitter: s.jitter };
    if (s.type === 'remote-inbound-rtp')
      out.remoteInbound[s.kind] = {
        packetsLost: s.packetsLost,
        fractionLost: s.fractionLost,
        roundTripTime: s.roundTripTime,
      };
  }
  return out;
}

function parseInternals(file) {
  const d = JSON.parse(readMaybeGz(file));
  for (const k of ['getUserMedia', 'PeerConnections', 'UserAgent']) if (!(k in d)) fail(`${file}: no ${k}`);
  return d;
}

function parseChromeRtcstats(file) {
  const text = readMaybeGz(file);
  const lines = text.split('\n');
  if (lines[0] !== 'RTCStatsDump') fail(`${file}: no RTCStatsDump header`);
  const fmt = JSON.parse(lines[1]);
  if (fmt.fileFormat !== 3) fail(`${file}: unexpected fileFormat ${lines[1]}`);
  return lines.slice(2).filter(Boolean).map((l) => JSON.parse(l));
}

// ---- impaired-network scenarios ------------------------------------------------------------
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
const round = (x, d = 4) => (typeof x === 'number' ? Number(x.toFixed(d)) : x);
const ofType = (stats, type, kind) => [...stats.values()].filter((s) => s.type === type && (!kind || s.kind === kind));
const one = (stats, type, kind) => ofType(stats, type, kind)[0];
const sumOf = (stats, type, field) => ofType(stats, type).reduce((n, s) => n + (s[field] || 0), 0);
// epoch ms of the first impairment step whose action starts with `action`
function impairedAt(extra, action, who) {
  const e = (extra.impairments || []).find((x) => x.action === action || x.action.startsWith(action + ' '));
  if (!e) fail(`${who}: no "${action}" impairment recorded (capture-summary.json impairments)`);
  return e.epochMs;
}

function checkDelay(sc, samples, who) {
  const [lo, hi] = sc.checks.rtt;
  const pairRtts = samples.map((x) => selected(x.stats)?.pair?.currentRoundTripTime);
  const last = samples[samples.length - 1].stats;
  const pair = selected(last).pair;
  const o = {
    pairCurrentRttMedian: round(median(pairRtts)),
    pairAvgRtt: round(pair.totalRoundTripTime / pair.responsesReceived),
    remoteInboundAvgRtt: {},
    inboundJitterMedian: {},
    inboundJitterMax: {},
    jitterBufferDelayMs: {},
  };
  for (const kind of ['audio', 'video']) {
    const ri = one(last, 'remote-inbound-rtp', kind);
    if (ri) o.remoteInboundAvgRtt[kind] = round(ri.totalRoundTripTime / ri.roundTripTimeMeasurements);
    const jit = samples.map((x) => one(x.stats, 'inbound-rtp', kind)?.jitter);
    o.inboundJitterMedian[kind] = median(jit);
    o.inboundJitterMax[kind] = Math.max(...jit.filter((j) => typeof j === 'number'));
    const ib = one(last, 'inbound-rtp', kind);
    if (ib && ib.jitterBufferEmittedCount) o.jitterBufferDelayMs[kind] = round((1000 * ib.jitterBufferDelay) / ib.jitterBufferEmittedCount, 1);
  }
  const inRange = (x) => typeof x === 'number' && x >= lo && x <= hi;
  if (!inRange(o.pairAvgRtt) || !inRange(o.pairCurrentRttMedian)) fail(`${who}: candidate-pair RTT ${o.pairAvgRtt}/${o.pairCurrentRttMedian} not in [${lo}, ${hi}]`);
  for (const kind of ['audio', 'video'])
    if (!inRange(o.remoteInboundAvgRtt[kind])) fail(`${who}: remote-inbound-rtp ${kind} RTT ${o.remoteInboundAvgRtt[kind]} not in [${lo}, ${hi}]`);
  if (!(o.inboundJitterMedian.audio >= sc.checks.minAudioJitter))
    fail(`${who}: inbound audio jitter median ${o.inboundJitterMedian.audio} < ${sc.checks.minAudioJitter}`);
  return o;
}

function checkBandwidth(sc, samples, who, capAt) {
  const before = samples.filter((x) => x.ts < capAt);
  const after = samples.filter((x) => x.ts >= capAt);
  if (!before.length || after.length < 5) fail(`${who}: too few samples around the cap`);
  const aob = (xs) => xs.map((x) => selected(x.stats)?.pair?.availableOutgoingBitrate).filter((v) => typeof v === 'number');
  const video = (x, type) => one(x.stats, type, 'video') || {};
  const lastBefore = before[before.length - 1];
  const last = samples[samples.length - 1];
  const out = video(last, 'outbound-rtp');
  const inb = video(last, 'inbound-rtp');
  const o = {
    capAtEpochMs: capAt,
    availableOutgoingBitrateMaxBeforeCap: Math.max(...aob(before)),
    availableOutgoingBitrateMinAfterCap: Math.min(...aob(after)),
    availableOutgoingBitrateAtEnd: aob([last])[0],
    qualityLimitationReasonsAfterCap: [...new Set(after.map((x) => video(x, 'outbound-rtp').qualityLimitationReason))],
    qualityLimitationDurations: sortKeys(out.qualityLimitationDurations),
    qualityLimitationResolutionChanges: out.qualityLimitationResolutionChanges,
    outboundVideoBeforeCap: {
      frameWidth: video(lastBefore, 'outbound-rtp').frameWidth,
      frameHeight: video(lastBefore, 'outbound-rtp').frameHeight,
      framesPerSecond: video(lastBefore, 'outbound-rtp').framesPerSecond,
      targetBitrate: video(lastBefore, 'outbound-rtp').targetBitrate,
    },
    outboundVideoAtEnd: { frameWidth: out.frameWidth, frameHeight: out.frameHeight, framesPerSecond: out.framesPerSecond, targetBitrate: out.targetBitrate },
    inboundVideoAtEnd: {
      frameWidth: inb.frameWidth,
      frameHeight: inb.frameHeight,
      framesPerSecond: inb.framesPerSecond,
      freezeCount: inb.freezeCount,
      totalFreezesDuration: inb.totalFreezesDuration,
      packetsLost: inb.packetsLost,
    },
  };
  // capture.mjs applies the cap once both senders report "none"; Chrome needs seconds to react,
  // so the last sample taken up to 1 s after the cap still shows the reason at the cap.
  const atCap = samples.filter((x) => x.ts < capAt + 1000).pop();
  o.qualityLimitationReasonAtCap = video(atCap, 'outbound-rtp').qualityLimitationReason;
  o.outboundVideoAtCap = { frameWidth: video(atCap, 'outbound-rtp').frameWidth, frameHeight: video(atCap, 'outbound-rtp').frameHeight };
  if (o.qualityLimitationReasonAtCap !== 'none') fail(`${who}: qualityLimitationReason ${o.qualityLimitationReasonAtCap} (not "none") at the cap`);
  if (!o.qualityLimitationReasonsAfterCap.includes('bandwidth')) fail(`${who}: qualityLimitationReason never "bandwidth" after the cap`);
  o.bandwidthLimitedSecondsAfterCap = round(
    (out.qualityLimitationDurations?.bandwidth || 0) - (video(lastBefore, 'outbound-rtp').qualityLimitationDurations?.bandwidth || 0), 3);
  if (!(o.bandwidthLimitedSecondsAfterCap >= sc.checks.bandwidthLimited.minSeconds))
    fail(`${who}: qualityLimitationDurations.bandwidth grew by ${o.bandwidthLimitedSecondsAfterCap} s after the cap (< ${sc.checks.bandwidthLimited.minSeconds})`);
  if (!(o.availableOutgoingBitrateMinAfterCap < 400000 && o.availableOutgoingBitrateMinAfterCap < o.availableOutgoingBitrateMaxBeforeCap / 2))
    fail(`${who}: availableOutgoingBitrate did not drop (${o.availableOutgoingBitrateMaxBeforeCap} -> ${o.availableOutgoingBitrateMinAfterCap})`);
  return o;
}

function checkConnectionLost(samples, events, who, cutAt) {
  const received = (x) => sumOf(x.stats, 'inbound-rtp', 'packetsReceived');
  const before = samples.filter((x) => x.ts <= cutAt);
  const settled = samples.filter((x) => x.ts >= cutAt + 1000);
  if (!before.length || settled.length < 5) fail(`${who}: too few samples around the cut`);
  const atCut = received(before[before.length - 1]);
  const firstAfter = received(settled[0]);
  const atEnd = received(samples[samples.length - 1]);
  const firstEvent = (type, value) => events.find((e) => e.type === type && e.value === value && e.timestamp >= cutAt);
  const disc = firstEvent('iceconnectionstatechange', 'disconnected');
  const failedIce = firstEvent('iceconnectionstatechange', 'failed');
  const failed = firstEvent('connectionstatechange', 'failed');
  const o = {
    cutAtEpochMs: cutAt,
    packetsReceivedAtCut: atCut,
    packetsReceivedCutPlus1s: firstAfter,
    packetsReceivedAtEnd: atEnd,
    iceDisconnectedAfterCutMs: disc ? disc.timestamp - cutAt : null,
    iceFailedAfterCutMs: failedIce ? failedIce.timestamp - cutAt : null,
    connectionFailedAfterCutMs: failed ? failed.timestamp - cutAt : null,
    samplesAfterCut: settled.length,
    transportIceStateAtEnd: ofType(samples[samples.length - 1].stats, 'transport')[0]?.iceState,
    candidatePairsAtEnd: ofType(samples[samples.length - 1].stats, 'candidate-pair').length,
  };
  if (!(atCut > 0)) fail(`${who}: nothing received before the cut`);
  if (settled.some((x) => received(x) !== firstAfter)) fail(`${who}: packets received more than 1 s after the cut`);
  if (!disc) fail(`${who}: no iceConnectionState "disconnected" after the cut`);
  if (!failed) fail(`${who}: no connectionState "failed" after the cut`);
  return o;
}

function checkBurstLoss(sc, samples, who, impairments) {
  const last = samples[samples.length - 1].stats;
  const v = one(last, 'inbound-rtp', 'video') || {};
  const a = one(last, 'inbound-rtp', 'audio') || {};
  const drops = impairments
    .filter((e) => e.action === 'unblock' && e.output)
    .map((e) => Number(/counter packets (\d+)/.exec((e.output || []).join(' '))?.[1]));
  const o = {
    routerDropsPerBurst: drops,
    inboundVideo: {
      packetsReceived: v.packetsReceived,
      packetsLost: v.packetsLost,
      nackCount: v.nackCount,
      pliCount: v.pliCount,
      keyFramesDecoded: v.keyFramesDecoded,
      freezeCount: v.freezeCount,
      totalFreezesDuration: v.totalFreezesDuration,
      pauseCount: v.pauseCount,
      totalPausesDuration: v.totalPausesDuration,
      framesDropped: v.framesDropped,
    },
    inboundAudio: {
      packetsReceived: a.packetsReceived,
      packetsLost: a.packetsLost,
      concealmentEvents: a.concealmentEvents,
      concealedSamples: a.concealedSamples,
      silentConcealedSamples: a.silentConcealedSamples,
      totalSamplesReceived: a.totalSamplesReceived,
    },
  };
  if (!(v.freezeCount > 0)) fail(`${who}: no video freeze (freezeCount ${v.freezeCount})`);
  if (!(a.concealmentEvents > 0)) fail(`${who}: no audio concealment events`);
  // Audio packetsLost stays 0 here: a 1.5 s gap is ~75 audio packets, more than libwebrtc's
  // receive-statistics reordering threshold (50), so the jump is taken as a stream restart.
  if (!(v.packetsLost > 0)) fail(`${who}: no video packetsLost`);
  return o;
}

function checkNegotiationFailure(p, hs, wi, cr, who, name) {
  const srdFail = hs.events.filter((e) => e.type === 'setRemoteDescriptionOnFailure').map((e) => e.value);
  const wiFail = Object.values(wi.PeerConnections).flatMap((pc) => pc.updateLog.filter((u) => u.type === 'setRemoteDescriptionOnFailure').map((u) => u.value));
  const crFail = cr.filter((l) => l[0] === 'setRemoteDescriptionOnFailure').map((l) => l[2]);
  const o = { setRemoteDescriptionOnFailure: srdFail, internalsSetRemoteDescriptionOnFailure: wiFail, chromeRtcstatsSetRemoteDescriptionOnFailure: crFail };
  if (p.connectionStates.includes('connected')) fail(`${who}: connectionState reached "connected"`);
  if (name === 'alice') {
    if (p.iceConnectionStates.includes('connected')) fail(`${who}: ICE connected`);
    if (srdFail.length !== 1 || typeof srdFail[0].name !== 'string' || !srdFail[0].name || typeof srdFail[0].message !== 'string' || !srdFail[0].message)
      fail(`${who}: expected one setRemoteDescriptionOnFailure {name, message}, got ${JSON.stringify(srdFail)}`);
    if (!wiFail.length) fail(`${who}: webrtc-internals has no setRemoteDescriptionOnFailure`);
    if (!crFail.length) fail(`${who}: chrome rtcstats dump has no setRemoteDescriptionOnFailure`);
  } else if (srdFail.length) fail(`${who}: unexpected setRemoteDescriptionOnFailure`);
  return o;
}

// extra.impairments: the impairment steps capture.mjs ran (from capture-summary.json when
// re-verifying), needed to locate the cut / cap in time.
export function verifyScenario(dir, sc, extra = {}) {
  const summary = { scenario: sc.name, participants: {} };
  for (const name of ['alice', 'bob']) {
    const who = `${sc.name}/${name}`;
    const base = path.join(dir, name);
    const rs = parseRtcstats(base + '.rtcstats');
    const hs = parseHopscope(base + '.hopscope.ndjson', sc.name, name);
    const staleAfterDelta = sameSamples(rs, hs, who);
    const wi = parseInternals(base + '.webrtc-internals.json');
    const cr = parseChromeRtcstats(base + '.chrome-rtcstats.txt');

    const pcs = [...hs.byPc.keys()];
    const types = (t) => hs.events.filter((e) => e.type === t);
    const iceStates = types('iceconnectionstatechange').map((e) => e.value);
    const p = {
      rtcstatsLines: rs.lines.length,
      getstatsLines: rs.lines.filter((l) => l[0] === 'getstats').length,
      hopscopeLines: hs.lines.length,
      pcs,
      iceConnectionStates: iceStates,
      connectionStates: types('connectionstatechange').map((e) => e.value),
      icecandidateerrors: types('icecandidateerror').map((e) => e.value),
      getUserMediaFailures: types('getUserMediaOnFailure').map((e) => e.value),
      internalsPeerConnections: Object.keys(wi.PeerConnections).length,
      internalsStatsSeries: Object.values(wi.PeerConnections).reduce((n, pc) => n + Object.keys(pc.stats).length, 0),
      internalsGetUserMedia: wi.getUserMedia.length,
      chromeRtcstatsLines: cr.length,
      chromeRtcstatsGetStats: cr.filter((l) => l[0] === 'getStats').length,
      fieldsThatVanish: staleAfterDelta,
    };
    if (p.internalsPeerConnections !== pcs.length) fail(`${who}: webrtc-internals has ${p.internalsPeerConnections} PCs`);
    if (p.getstatsLines < 5) fail(`${who}: only ${p.getstatsLines} getstats lines`);
    // Chrome's webrtc-internals polls no stats at all for a PC whose ICE never leaves "new".
    if (sc.expect === 'connected' && !p.internalsStatsSeries) fail(`${who}: webrtc-internals dump has no stats series`);
    const samples = hs.byPc.get(pcs[0]);
    const sel = selected(samples[samples.length - 1].stats);
    const pairs = [...samples[samples.length - 1].stats.values()].filter((s) => s.type === 'candidate-pair');
    p.candidatePairStates = pairs.map((x) => x.state);
    if (sel && sel.pair) {
      p.selected = {
        state: sel.pair.state,
        currentRoundTripTime: sel.pair.currentRoundTripTime,
        local: {
          candidateType: sel.local.candidateType,
          protocol: sel.local.protocol,
          relayProtocol: sel.local.relayProtocol,
          address: sel.local.address,
        },
        remote: { candidateType: sel.remote.candidateType, protocol: sel.remote.protocol, address: sel.remote.address },
      };
      p.media = mediaSummary(samples);
    }
    if (sc.expect === 'connected') {
      if (!iceStates.includes('connected')) fail(`${who}: ICE never connected`);
      if (!p.selected || p.selected.state !== 'succeeded') fail(`${who}: no succeeded selected pair`);
      if (sc.relayProtocol) {
        if (p.selected.local.candidateType !== 'relay') fail(`${who}: local candidate is not relay`);
        if (p.selected.local.relayProtocol !== sc.relayProtocol)
          fail(`${who}: relayProtocol ${p.selected.local.relayProtocol} != ${sc.relayProtocol}`);
      }
    }
    if (sc.expect === 'failed-401' && name === 'alice') {
      if (iceStates.includes('connected')) fail(`${who}: ICE connected`);
      if (p.candidatePairStates.includes('succeeded')) fail(`${who}: has a succeeded pair`);
      if (!p.icecandidateerrors.some((e) => e.errorCode === 401)) fail(`${who}: no icecandidateerror 401`);
    }
    if (sc.alice.gumFailure && name === 'alice' && !p.getUserMediaFailures.length)
      fail(`${who}: no getUserMediaOnFailure event`);
    if (sc.expect === 'connection-lost') {
      if (!iceStates.includes('connected')) fail(`${who}: ICE never connected`);
      p.observed = checkConnectionLost(samples, hs.events, who, impairedAt(extra, 'block', who));
    }
    if (sc.expect === 'negotiation-failed') p.observed = checkNegotiationFailure(p, hs, wi, cr, who, name);
    if (sc.checks?.rtt) p.observed = checkDelay(sc, samples, who);
    if (sc.checks?.bandwidthLimited) p.observed = checkBandwidth(sc, samples, who, impairedAt(extra, 'cap', who));
    if (sc.checks?.burstLoss) p.observed = checkBurstLoss(sc, samples, who, extra.impairments || []);
    if (sc.lossPercent && p.media) {
      const lost = Object.values(p.media.inbound).reduce((n, m) => n + (m.packetsLost || 0), 0);
      if (!lost) fail(`${who}: lossy scenario without packetsLost`);
    }
    summary.participants[name] = p;
  }
  return summary;
}

// CLI
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node verify.mjs DIR');
    process.exit(2);
  }
  const { SCENARIOS } = await import('./scenarios.mjs');
  let n = 0;
  for (const sc of SCENARIOS) {
    const d = path.join(dir, sc.name);
    if (!fs.existsSync(d)) continue;
    const summaryFile = path.join(d, 'capture-summary.json');
    const extra = fs.existsSync(summaryFile) ? { impairments: JSON.parse(fs.readFileSync(summaryFile, 'utf8')).impairments } : {};
    console.log(JSON.stringify(verifyScenario(d, sc, extra), null, 1));
    n++;
  }
  if (!n) {
    console.error('no scenario directories found');
    process.exit(1);
  }
}
