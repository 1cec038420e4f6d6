/*
 * Minimal 1:1 call used by capture.mjs. Signaling goes through window.hsSignal(msg),
 * a Playwright binding that forwards messages to the other browser (no signaling server).
 * Node drives the page with window.hsCall.*.
 */
(function () {
  'use strict';
  let pc = null;
  let localStream = null;
  let cfg = null;
  let queue = Promise.resolve();
  const pendingCandidates = [];
  const log = [];

  function status(text) {
    const el = document.getElementById('status');
    if (el) el.textContent = text;
    log.push(Date.now() + ' ' + text);
  }

  async function addCandidate(c) {
    try {
      await pc.addIceCandidate(c);
    } catch (e) {
      status('addIceCandidate failed: ' + e);
    }
  }

  // Scenario 'negotiation-failure': break the remote answer so setRemoteDescription rejects.
  function corrupt(sdp, how) {
    if (how !== 'fingerprint') throw new Error('unknown corruption ' + how);
    const out = sdp.replace(/^a=fingerprint:(\S+) .*$/gm, 'a=fingerprint:$1 ZZ:not:a:digest');
    if (out === sdp) throw new Error('answer has no a=fingerprint line to corrupt');
    status('corrupted the answer fingerprint');
    return out;
  }

  // Scenario 'p2p-bandwidth-cap': Chrome starts every call at ~300 kbit/s, so a 720p camera
  // is first sent at 480x270 or less and only reaches 1280x720 after ~20 s. A higher start
  // bitrate (the long-standing x-google-start-bitrate fmtp parameter, read by the SENDER from
  // the REMOTE description) makes it start at full resolution. Applied to every video codec.
  function startBitrate(sdp, kbps) {
    const lines = sdp.split('\r\n');
    const out = [];
    let video = false;
    for (const l of lines) {
      if (l.startsWith('m=')) video = l.startsWith('m=video');
      const fmtp = /^a=fmtp:(\d+) /.exec(l);
      if (video && fmtp && !/apt=/.test(l)) {
        out.push(`${l};x-google-start-bitrate=${kbps}`);
        continue;
      }
      out.push(l);
      const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
      if (video && rtpmap && !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(rtpmap[2].toLowerCase()) &&
          !lines.some((x) => x.startsWith(`a=fmtp:${rtpmap[1]} `)))
        out.push(`a=fmtp:${rtpmap[1]} x-google-start-bitrate=${kbps}`);
    }
    return out.join('\r\n');
  }

  async function handle(msg) {
    if (!pc) throw new Error('signal before init');
    if (msg.type === 'offer' || msg.type === 'answer') {
      let sdp = msg.sdp;
      if (msg.type === 'answer' && cfg.corruptAnswer) sdp = corrupt(sdp, cfg.corruptAnswer);
      if (cfg.startBitrateKbps) sdp = startBitrate(sdp, cfg.startBitrateKbps);
      await pc.setRemoteDescription({ type: msg.type, sdp });
      while (pendingCandidates.length) await addCandidate(pendingCandidates.shift());
      if (msg.type === 'offer') {
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        window.hsSignal({ type: 'answer', sdp: pc.localDescription.sdp });
      }
    } else if (msg.type === 'candidate') {
      if (pc.remoteDescription) await addCandidate(msg.candidate);
      else pendingCandidates.push(msg.candidate);
    }
  }

  window.hsCall = {
    async init(c) {
      cfg = c;
      HopscopeCollector.start({ conference: c.conference, participant: c.participant });
      const result = { gumFailure: null };
      if (c.gumFailure) {
        try {
          const s = await navigator.mediaDevices.getUserMedia(c.gumFailure);
          s.getTracks().forEach((t) => t.stop());
          throw new Error('getUserMedia unexpectedly succeeded');
        } catch (e) {
          if (e.message === 'getUserMedia unexpectedly succeeded') throw e;
          result.gumFailure = { name: e.name, message: e.message, constraint: e.constraint };
          status('getUserMedia failed as intended: ' + e.name);
        }
      }
      localStream = await navigator.mediaDevices.getUserMedia(c.media);
      document.getElementById('local').srcObject = localStream;
      pc = new RTCPeerConnection(c.rtcConfig);
      pc.addEventListener('icecandidate', (e) => {
        if (e.candidate) window.hsSignal({ type: 'candidate', candidate: e.candidate.toJSON() });
      });
      pc.addEventListener('track', (e) => {
        const v = document.getElementById('remote');
        if (!v.srcObject) v.srcObject = e.streams[0] || new MediaStream([e.track]);
      });
      for (const t of localStream.getTracks()) pc.addTrack(t, localStream);
      status('ready');
      return result;
    },
    async call() {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      window.hsSignal({ type: 'offer', sdp: pc.localDescription.sdp });
    },
    signal(msg) {
      queue = queue.then(() => handle(msg)).catch((e) => status('signal error: ' + e));
      return true;
    },
    state() {
      return pc
        ? {
            ice: pc.iceConnectionState,
            conn: pc.connectionState,
            signaling: pc.signalingState,
            gathering: pc.iceGatheringState,
            log,
          }
        : null;
    },
    async selectedPair() {
      const r = await pc.getStats();
      let out = null;
      r.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = r.get(s.selectedCandidatePairId);
          out = {
            pair: p && p.state,
            local: p && r.get(p.localCandidateId),
            remote: p && r.get(p.remoteCandidateId),
          };
        }
      });
      return out;
    },
    async outboundVideo() {
      const r = await pc.getStats();
      let out = null;
      r.forEach((s) => {
        if (!out && s.type === 'outbound-rtp' && s.kind === 'video')
          out = { qualityLimitationReason: s.qualityLimitationReason, frameWidth: s.frameWidth, frameHeight: s.frameHeight };
      });
      return out;
    },
    async hangup() {
      await HopscopeCollector.sampleNow();
      pc.close();
      localStream.getTracks().forEach((t) => t.stop());
      HopscopeCollector.stop();
      status('closed');
      return true;
    },
    drain() {
      return HopscopeCollector.drain();
    },
  };
})();
