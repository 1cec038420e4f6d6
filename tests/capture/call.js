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

  async function handle(msg) {
    if (!pc) throw new Error('signal before init');
    if (msg.type === 'offer' || msg.type === 'answer') {
      await pc.setRemoteDescription({ type: msg.type, sdp: msg.sdp });
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
