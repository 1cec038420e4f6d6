/*
 * hopscope in-page WebRTC collector.
 *
 * Load this script before any application code (first <script> in <head>, or
 * Playwright's page.addInitScript({path})). It wraps RTCPeerConnection and
 * navigator.mediaDevices.getUserMedia and, from the SAME getStats() reports,
 * writes two line formats:
 *
 *   rtcstats  Jitsi rtcstats-server v3 line dump: one JSON array per line
 *             [method, pcId|null, value, epochMs], getstats delta-compressed.
 *   hopscope  hopscope native NDJSON: {"v":1,"conference",...,"stats":[...],"events":[...]}
 *
 * Usage (in the page):
 *   HopscopeCollector.start({conference: 'room', participant: 'alice'});
 *   ... call ...
 *   await HopscopeCollector.sampleNow();   // optional final sample before pc.close()
 *   const {rtcstats, hopscope} = HopscopeCollector.drain();  // arrays of JSON lines (strings)
 *
 * Options: intervalMs (default 1000), sdk (default 'hopscope-capture/1'),
 * onLine(kind, line) to stream lines instead of (in addition to) buffering.
 *
 * rtcstats dialect details (see tests/fixtures/chromium/README.md):
 *  - pc ids are "PC_0", "PC_1", ... (Jitsi style); the hopscope file names the same
 *    PeerConnections "pc-1", "pc-2", ... (PC_n <-> pc-(n+1)).
 *  - getstats value: {"<stats id>": {fields...}, ..., "timestamp": <max report timestamp>}.
 *    The "id" field is dropped inside each object (the key is the id), as Jitsi does.
 *    First occurrence of an id: every field (incl. "type"). Later lines: only fields whose
 *    value changed since that id's previous getstats line, plus always the real "timestamp".
 *    Every id present in the report appears on every line; an id that disappeared is absent.
 *    (Jitsi's own client drops timestamp-only entries and zeroes the max timestamp; we do not.)
 */
(function () {
  'use strict';
  if (window.HopscopeCollector) return;

  const NativePC = window.RTCPeerConnection;
  const md = navigator.mediaDevices;
  const nativeGUM = md && md.getUserMedia ? md.getUserMedia.bind(md) : null;

  const state = {
    started: false,
    opts: null,
    rtcstats: [],
    hopscope: [],
    pcs: new Map(), // pcId (PC_n) -> {pc, hsId, prev: Map(id -> stats obj), closed}
    pending: [], // queued hopscope events not yet written
    pcCounter: 0,
    timer: null,
    sampling: null,
    clientSent: false,
    early: [], // traces before start()
  };

  function now() {
    return Date.now();
  }

  function clone(v) {
    if (v === undefined) return null;
    return JSON.parse(JSON.stringify(v));
  }

  function emit(kind, obj) {
    const line = JSON.stringify(obj);
    state[kind].push(line);
    if (state.opts && typeof state.opts.onLine === 'function') {
      try {
        state.opts.onLine(kind, line);
      } catch (e) {
        /* ignore sink errors */
      }
    }
  }

  function hsBase(ts) {
    const o = {
      v: 1,
      conference: state.opts.conference,
      participant: state.opts.participant,
      source: 'endpoint',
      timestamp: ts,
    };
    if (!state.clientSent) {
      o.client = { userAgent: navigator.userAgent, sdk: state.opts.sdk };
      state.clientSent = true;
    }
    return o;
  }

  // method: rtcstats method name; pcId: PC_n or null; value: JSON-able
  function trace(method, pcId, value) {
    const ts = now();
    const v = clone(value);
    if (!state.started) {
      state.early.push([method, pcId, v, ts]);
      return;
    }
    record(method, pcId, v, ts);
  }

  function record(method, pcId, v, ts) {
    emit('rtcstats', [method, pcId, v, ts]);
    const type = method.startsWith('navigator.mediaDevices.')
      ? method.slice('navigator.mediaDevices.'.length)
      : method.startsWith('on')
        ? method.slice(2)
        : method;
    const ev = { timestamp: ts };
    if (pcId !== null) ev.pc = state.pcs.get(pcId).hsId;
    ev.type = type;
    ev.value = v;
    if (pcId === null) {
      // Client-level events (getUserMedia) go out at once on their own line, so the file
      // stays in chronological order; PC events ride on that PC's next stats line.
      const line = hsBase(now());
      line.events = [ev];
      emit('hopscope', line);
      return;
    }
    state.pending.push(ev);
  }

  // Write queued events that are not about `exceptPc` on their own lines, grouped by pc.
  function flushEvents(exceptHsId) {
    const keep = [];
    const groups = new Map();
    for (const ev of state.pending) {
      const key = ev.pc === undefined ? null : ev.pc;
      if (exceptHsId !== undefined && key === exceptHsId) {
        keep.push(ev);
        continue;
      }
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(ev);
    }
    state.pending = keep;
    for (const [key, evs] of groups) {
      const line = hsBase(now());
      if (key !== null) line.pc = key;
      line.events = evs;
      emit('hopscope', line);
    }
  }

  function takeEvents(hsId) {
    const out = [];
    const keep = [];
    for (const ev of state.pending) (ev.pc === hsId ? out : keep).push(ev);
    state.pending = keep;
    return out;
  }

  function same(a, b) {
    if (a === b) return true;
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      return JSON.stringify(a) === JSON.stringify(b);
    }
    return false;
  }

  function deltaCompress(prev, statsList) {
    const out = {};
    let maxTs = -Infinity;
    for (const s of statsList) {
      const { id, ...fields } = s;
      const old = prev.get(id);
      if (s.timestamp > maxTs) maxTs = s.timestamp;
      if (!old) {
        out[id] = fields;
        continue;
      }
      const d = {};
      for (const k of Object.keys(fields)) {
        if (k === 'timestamp') continue;
        if (!same(fields[k], old[k])) d[k] = fields[k];
      }
      d.timestamp = fields.timestamp;
      out[id] = d;
    }
    out.timestamp = maxTs === -Infinity ? now() : maxTs;
    return out;
  }

  async function samplePc(pcId, entry) {
    let report;
    try {
      report = await entry.pc.getStats();
    } catch (e) {
      return; // closed in the meantime
    }
    if (entry.closed) return;
    const ts = now();
    const statsList = [];
    report.forEach((s) => statsList.push(clone(s)));
    // rtcstats line (delta) and hopscope line (full) from the same report objects.
    const delta = deltaCompress(entry.prev, statsList);
    const next = new Map();
    for (const s of statsList) next.set(s.id, s);
    entry.prev = next;
    emit('rtcstats', ['getstats', pcId, delta, ts]);
    const line = hsBase(ts);
    line.pc = entry.hsId;
    if (statsList.length) line.stats = statsList;
    const evs = takeEvents(entry.hsId);
    if (evs.length) line.events = evs;
    emit('hopscope', line);
  }

  async function sampleAll() {
    const jobs = [];
    for (const [pcId, entry] of state.pcs) {
      if (!entry.closed) jobs.push(samplePc(pcId, entry));
    }
    await Promise.all(jobs);
    flushEvents();
  }

  function sampleNow() {
    if (!state.started) return Promise.resolve();
    // Serialize with the periodic sampler.
    const p = (state.sampling || Promise.resolve()).then(sampleAll);
    state.sampling = p.catch(() => {});
    return p;
  }

  function schedule() {
    state.timer = setTimeout(async () => {
      await sampleNow().catch(() => {});
      if (state.started) schedule();
    }, state.opts.intervalMs);
  }

  function describeStream(stream) {
    return {
      id: stream.id,
      tracks: stream.getTracks().map((t) => ({
        id: t.id,
        kind: t.kind,
        label: t.label,
        enabled: t.enabled,
        muted: t.muted,
        readyState: t.readyState,
      })),
    };
  }

  function describeError(err) {
    const o = { name: err && err.name, message: err && err.message };
    if (err && err.constraint !== undefined) o.constraint = err.constraint;
    return o;
  }

  function trackValue(track, streams) {
    return track.kind + ':' + track.id + ' ' + (streams || []).map((s) => 'stream:' + s.id).join(' ');
  }

  // ---- RTCPeerConnection wrapper -------------------------------------------------------------
  if (NativePC) {
    class HopscopePC extends NativePC {
      constructor(config, ...rest) {
        super(config, ...rest);
        const pcId = 'PC_' + state.pcCounter;
        state.pcCounter += 1;
        const entry = { pc: this, hsId: 'pc-' + state.pcCounter, prev: new Map(), closed: false };
        state.pcs.set(pcId, entry);
        Object.defineProperty(this, '__hsId', { value: pcId });
        trace('create', pcId, config || {});

        const on = (name, fn) => this.addEventListener(name, fn);
        on('icecandidate', (e) => trace('onicecandidate', pcId, e.candidate ? e.candidate.toJSON() : null));
        on('icecandidateerror', (e) =>
          trace('onicecandidateerror', pcId, {
            address: e.address,
            port: e.port,
            url: e.url,
            errorCode: e.errorCode,
            errorText: e.errorText,
          }),
        );
        on('iceconnectionstatechange', () => trace('oniceconnectionstatechange', pcId, this.iceConnectionState));
        on('connectionstatechange', () => trace('onconnectionstatechange', pcId, this.connectionState));
        on('signalingstatechange', () => trace('onsignalingstatechange', pcId, this.signalingState));
        on('icegatheringstatechange', () => trace('onicegatheringstatechange', pcId, this.iceGatheringState));
        on('negotiationneeded', () => trace('onnegotiationneeded', pcId, null));
        on('track', (e) => trace('ontrack', pcId, trackValue(e.track, e.streams)));
        on('datachannel', (e) => trace('ondatachannel', pcId, [e.channel.id, e.channel.label]));
      }

      close() {
        const pcId = this.__hsId;
        const entry = state.pcs.get(pcId);
        if (entry && !entry.closed) {
          trace('close', pcId, null);
          entry.closed = true;
          if (state.started) flushEvents();
        }
        return super.close();
      }

      addTrack(track, ...streams) {
        trace('addTrack', this.__hsId, trackValue(track, streams));
        return super.addTrack(track, ...streams);
      }

      addTransceiver(trackOrKind, init) {
        const what = typeof trackOrKind === 'string' ? trackOrKind : trackValue(trackOrKind, []);
        trace('addTransceiver', this.__hsId, { trackOrKind: what, init: init || null });
        return super.addTransceiver(trackOrKind, init);
      }

      removeTrack(sender) {
        trace('removeTrack', this.__hsId, sender && sender.track ? trackValue(sender.track, []) : null);
        return super.removeTrack(sender);
      }

      createDataChannel(label, init) {
        trace('createDataChannel', this.__hsId, { label, init: init || null });
        return super.createDataChannel(label, init);
      }
    }

    const promiseMethod = (name, argValue) => {
      const native = NativePC.prototype[name];
      HopscopePC.prototype[name] = function (...args) {
        const pcId = this.__hsId;
        trace(name, pcId, argValue(args));
        return native.apply(this, args).then(
          (res) => {
            trace(name + 'OnSuccess', pcId, res === undefined ? null : res);
            return res;
          },
          (err) => {
            trace(name + 'OnFailure', pcId, describeError(err));
            throw err;
          },
        );
      };
    };
    const first = (args) => (args[0] === undefined ? null : args[0]);
    promiseMethod('createOffer', first);
    promiseMethod('createAnswer', first);
    promiseMethod('setLocalDescription', first);
    promiseMethod('setRemoteDescription', first);
    promiseMethod('addIceCandidate', first);

    window.RTCPeerConnection = HopscopePC;
    if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = HopscopePC;
  }

  // ---- getUserMedia wrapper -------------------------------------------------------------------
  if (nativeGUM) {
    md.getUserMedia = function (constraints) {
      trace('navigator.mediaDevices.getUserMedia', null, constraints === undefined ? null : constraints);
      return nativeGUM(constraints).then(
        (stream) => {
          trace('navigator.mediaDevices.getUserMediaOnSuccess', null, describeStream(stream));
          return stream;
        },
        (err) => {
          trace('navigator.mediaDevices.getUserMediaOnFailure', null, describeError(err));
          throw err;
        },
      );
    };
  }

  window.HopscopeCollector = {
    start(opts) {
      if (state.started) throw new Error('HopscopeCollector already started');
      if (!opts || !opts.conference || !opts.participant) throw new Error('conference and participant are required');
      state.opts = Object.assign({ intervalMs: 1000, sdk: 'hopscope-capture/1' }, opts);
      state.started = true;
      emit('rtcstats', [
        'connectionInfo',
        null,
        { userAgent: navigator.userAgent, statsFormat: 'chrome_standard', clientProtocol: '3.1_STANDARD' },
        now(),
      ]);
      emit('rtcstats', [
        'identity',
        null,
        { confName: state.opts.conference, displayName: state.opts.participant, endpointId: state.opts.participant },
        now(),
      ]);
      for (const [m, p, v, ts] of state.early) record(m, p, v, ts);
      state.early = [];
      flushEvents();
      schedule();
    },
    sampleNow,
    stop() {
      state.started = false;
      clearTimeout(state.timer);
      flushEvents();
    },
    drain() {
      if (state.started) flushEvents();
      const out = { rtcstats: state.rtcstats, hopscope: state.hopscope };
      state.rtcstats = [];
      state.hopscope = [];
      return out;
    },
  };
})();
