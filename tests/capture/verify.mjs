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

export function verifyScenario(dir, sc) {
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
    console.log(JSON.stringify(verifyScenario(d, sc), null, 1));
    n++;
  }
  if (!n) {
    console.error('no scenario directories found');
    process.exit(1);
  }
}
