#!/usr/bin/env node
// Drives Debian's headless Chromium through real WebRTC calls and records, per participant:
//   <scenario>/<name>.webrtc-internals.json  Chrome's own chrome://webrtc-internals dump
//   <scenario>/<name>.chrome-rtcstats.txt    Chrome's "rtcstats dump" from the same page
//   <scenario>/<name>.rtcstats               Jitsi rtcstats v3 line dump (collector.js)
//   <scenario>/<name>.hopscope.ndjson        hopscope native NDJSON (collector.js)
//
// Usage (as root): node capture.mjs --out ../fixtures/chromium [--only a,b] [--keep-run]
// See README.md. Every browser runs in its own network namespace created by netlab.sh.
import { chromium } from 'playwright-core';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { verifyScenario } from './verify.mjs';
import { SCENARIOS } from './scenarios.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NETLAB = path.join(HERE, 'netlab.sh');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ORIGIN = 'http://localhost:8080';
const NS = { alice: 'hs-alice', bob: 'hs-bob' };

function parseArgs(argv) {
  const a = { out: null, only: null, keepRun: false, gzipOver: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') a.out = argv[++i];
    else if (argv[i] === '--only') a.only = argv[++i].split(',');
    else if (argv[i] === '--keep-run') a.keepRun = true;
    else if (argv[i] === '--gzip-over') {
      const v = argv[++i];
      a.gzipOver = v === 'never' ? null : Number(v);
      if (a.gzipOver !== null && !(a.gzipOver >= 0)) throw new Error(`bad --gzip-over ${v}`);
    }
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!a.out) throw new Error('usage: node capture.mjs --out DIR [--only s1,s2] [--keep-run] [--gzip-over BYTES|never]');
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...m) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...m);

function netlab(...args) {
  execFileSync(NETLAB, args, { stdio: 'inherit' });
}

// Runs one impairment step (netlab.sh ARGS, "$RUNDIR" replaced) and records when it ran and
// what it printed (drop counters, tbf statistics, nfq-delay counters).
function impairStep(runDir, args, t0, record) {
  const argv = args.map((a) => (a === '$RUNDIR' ? runDir : a));
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    execFile(NETLAB, argv, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const entry = {
        action: args.filter((a) => a !== '$RUNDIR').join(' '),
        epochMs: startedAt,
        tMs: t0 === null ? null : startedAt - t0,
        tookMs: Date.now() - startedAt,
      };
      const out = (stdout + stderr).trim();
      if (out) entry.output = out.split('\n').map((l) => l.trim()).filter(Boolean);
      record.push(entry);
      log(`impair ${entry.action}${entry.tMs === null ? '' : ` at t+${(entry.tMs / 1000).toFixed(2)}s`}${out ? `: ${out.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`);
      if (err) reject(new Error(`netlab ${argv.join(' ')} failed: ${err.message}`));
      else resolve(entry);
    });
  });
}

// Scenarios whose files are never gzipped, so that one complete plain set always exists.
const PLAIN = ['p2p-direct'];

const STATIC = {
  '/call.html': ['call.html', 'text/html'],
  '/collector.js': ['collector.js', 'text/javascript'],
  '/call.js': ['call.js', 'text/javascript'],
};

// One Chromium instance per participant, inside that participant's network namespace.
async function launchParticipant(runDir, scenario, name) {
  const wrapper = path.join(runDir, `chromium-${name}.sh`);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NS[name]} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  const profile = path.join(runDir, `profile-${scenario.name}-${name}`);
  fs.rmSync(profile, { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    acceptDownloads: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      ...(scenario[name].chromiumArgs || []),
    ],
  });
  const failures = [];
  context.on('page', (p) => p.on('pageerror', (e) => failures.push(`${name}: page error: ${e}`)));
  await context.route(`${ORIGIN}/**`, (route) => {
    const u = new URL(route.request().url());
    const f = STATIC[u.pathname];
    if (!f) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: f[1], body: fs.readFileSync(path.join(HERE, f[0])) });
  });

  // chrome://webrtc-internals must be open before the call so that it records stats.
  const internals = context.pages()[0] || (await context.newPage());
  // ?keepRemovedConnections: this Chromium drops a PeerConnection from the page (and so from
  // the dump) as soon as it is closed unless this parameter is present.
  await internals.goto('chrome://webrtc-internals/?keepRemovedConnections');
  await internals.locator('#dump-click-target').waitFor({ state: 'attached' });
  await internals.evaluate(() => {
    document.querySelectorAll('details.peer-connection-dump-root').forEach((d) => (d.open = true));
  });
  const compress = internals.locator('#dump-checkbox');
  if (await compress.isChecked()) await compress.uncheck();

  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`${name}: page error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`${name} console.${m.type()}: ${m.text()}`);
  });
  return { name, context, internals, page, failures };
}

async function download(page, selector, file) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 20000 }), page.click(selector)]);
  const failure = await dl.failure();
  if (failure) throw new Error(`download ${selector} failed: ${failure}`);
  await dl.saveAs(file);
  return dl.suggestedFilename();
}

async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function runScenario(runDir, outDir, sc, gzipOver) {
  const dir = path.join(outDir, sc.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`=== ${sc.name}`);
  if (sc.lossPercent) netlab('loss', String(sc.lossPercent));
  const parts = {};
  const impairments = []; // what impairStep ran, with epoch times
  const timers = [];
  const pending = [];
  const impairFailures = [];
  try {
    for (const args of sc.impair?.setup || []) await impairStep(runDir, args, null, impairments);
    parts.alice = await launchParticipant(runDir, sc, 'alice');
    parts.bob = await launchParticipant(runDir, sc, 'bob');
    const other = { alice: parts.bob, bob: parts.alice };
    for (const name of ['alice', 'bob']) {
      await parts[name].page.exposeBinding('hsSignal', (_src, msg) => {
        other[name].page.evaluate((m) => window.hsCall.signal(m), msg).catch((e) => {
          parts[name].failures.push(`signal ${name}->${other[name].name}: ${e.message}`);
        });
      });
      await parts[name].page.goto(`${ORIGIN}/call.html`);
    }
    const init = {};
    for (const name of ['bob', 'alice']) {
      const cfg = { conference: sc.name, participant: name, ...sc[name] };
      init[name] = await parts[name].page.evaluate((c) => window.hsCall.init(c), cfg);
      log(`${name} ready`, init[name].gumFailure ? `(getUserMedia failure: ${JSON.stringify(init[name].gumFailure)})` : '');
    }
    if (sc.alice.gumFailure && !init.alice.gumFailure) throw new Error('expected a getUserMedia failure');

    const t0 = Date.now();
    // The call lasts durationMs, and at least afterLastImpairMs after the last timeline step.
    let endMs = sc.durationMs;
    let stepsLeft = (sc.impair?.timeline || []).length;
    const waitUnlimited = async (step) => {
      // waitFor 'video-unlimited': apply the step once every sender's outbound video reports
      // qualityLimitationReason "none" (or after maxWaitMs more, and let verify complain).
      const end = Date.now() + (step.maxWaitMs || 0);
      while (Date.now() < end) {
        const r = await Promise.all(['alice', 'bob'].map((n) => parts[n].page.evaluate(() => window.hsCall.outboundVideo())));
        if (r.every((v) => v && v.qualityLimitationReason === 'none')) return;
        await sleep(250);
      }
      log(`impair: waited ${step.maxWaitMs} ms for qualityLimitationReason "none" in vain`);
    };
    for (const step of sc.impair?.timeline || []) {
      timers.push(setTimeout(() => {
        const run = async () => {
          if (step.waitFor === 'video-unlimited') await waitUnlimited(step);
          else if (step.waitFor) throw new Error(`unknown waitFor ${step.waitFor}`);
          await impairStep(runDir, step.netlab, t0, impairments);
          stepsLeft--;
          if (sc.afterLastImpairMs) endMs = Math.max(endMs, Date.now() - t0 + sc.afterLastImpairMs);
        };
        pending.push(run().catch((e) => impairFailures.push(e.message)));
      }, step.atMs));
    }
    await parts.alice.page.evaluate(() => window.hsCall.call());
    const state = (name) => parts[name].page.evaluate(() => window.hsCall.state());
    if (sc.expect === 'connected' || sc.expect === 'connection-lost') {
      for (const name of ['alice', 'bob']) {
        await waitFor(async () => {
          const s = await state(name);
          if (s.conn === 'failed') throw new Error(`${name}: connection failed`);
          return s.conn === 'connected';
        }, 15000, `${name} to connect`);
      }
      log(`connected after ${Date.now() - t0} ms`);
    }
    while (Date.now() - t0 < endMs || (sc.afterLastImpairMs && stepsLeft > 0)) {
      await sleep(Math.max(100, Math.min(5000, endMs - (Date.now() - t0))));
      const s = { alice: await state('alice'), bob: await state('bob') };
      log(`t+${((Date.now() - t0) / 1000).toFixed(0)}s alice ice=${s.alice.ice}/${s.alice.conn} bob ice=${s.bob.ice}/${s.bob.conn}`);
    }
    if (sc.untilFailedMs) {
      // connection-lost: wait for both sides to give up (connectionState "failed").
      const end = Date.now() + sc.untilFailedMs;
      let lastLog = Date.now();
      for (;;) {
        const s = { alice: await state('alice'), bob: await state('bob') };
        if (s.alice.conn === 'failed' && s.bob.conn === 'failed') {
          log(`t+${((Date.now() - t0) / 1000).toFixed(1)}s both failed`);
          break;
        }
        if (Date.now() > end) throw new Error(`connectionState not failed on both sides: ${s.alice.conn}/${s.bob.conn}`);
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          log(`t+${((Date.now() - t0) / 1000).toFixed(0)}s alice ice=${s.alice.ice}/${s.alice.conn} bob ice=${s.bob.ice}/${s.bob.conn}`);
        }
        await sleep(500);
      }
      // One more collector sample after "failed" happens in hangup().
      await sleep(1000);
    }
    timers.forEach(clearTimeout);
    await Promise.all(pending);
    if (impairFailures.length) throw new Error(impairFailures.join('\n'));
    const summary = { scenario: sc.name, durationMs: sc.durationMs, lossPercent: sc.lossPercent || 0, participants: {} };
    for (const name of ['alice', 'bob']) {
      summary.participants[name] = {
        state: await state(name),
        selected: await parts[name].page.evaluate(() => window.hsCall.selectedPair()),
      };
      delete summary.participants[name].state.log;
    }
    for (const name of ['alice', 'bob']) await parts[name].page.evaluate(() => window.hsCall.hangup());
    if (sc.lossPercent) {
      execFileSync(NETLAB, ['counters'], { stdio: 'inherit' });
      netlab('noloss');
    }
    for (const args of sc.impair?.teardown || []) await impairStep(runDir, args, t0, impairments);
    // Let webrtc-internals record the close before dumping.
    await sleep(1500);
    for (const name of ['alice', 'bob']) {
      const p = parts[name];
      const lines = await p.page.evaluate(() => window.hsCall.drain());
      fs.writeFileSync(path.join(dir, `${name}.rtcstats`), lines.rtcstats.join('\n') + '\n');
      fs.writeFileSync(path.join(dir, `${name}.hopscope.ndjson`), lines.hopscope.join('\n') + '\n');
      const f1 = await download(p.internals, '#dump-click-target', path.join(dir, `${name}.webrtc-internals.json`));
      // Chrome always gzips the "rtcstats dump" download; store it decompressed.
      const crFile = path.join(dir, `${name}.chrome-rtcstats.txt`);
      const f2 = await download(p.internals, '#dump-click-target-rtcstats', crFile);
      const raw = fs.readFileSync(crFile);
      if (raw[0] === 0x1f && raw[1] === 0x8b) fs.writeFileSync(crFile, zlib.gunzipSync(raw));
      log(`${name}: downloads ${f1}, ${f2}`);
      if (p.failures.length) throw new Error(p.failures.join('\n'));
    }
    fs.writeFileSync(path.join(runDir, `${sc.name}.summary.json`), JSON.stringify(summary, null, 2));
    log('selected pairs:', JSON.stringify(
      Object.fromEntries(Object.entries(summary.participants).map(([n, v]) => [n, v.selected && {
        local: v.selected.local && `${v.selected.local.candidateType}/${v.selected.local.protocol}/${v.selected.local.relayProtocol || ''}`,
        remote: v.selected.remote && `${v.selected.remote.candidateType}/${v.selected.remote.protocol}`,
      }])),
    ));
  } finally {
    timers.forEach(clearTimeout);
    await Promise.all(pending);
    for (const p of Object.values(parts)) await p.context.close().catch(() => {});
    if (sc.impair) {
      // Undo every kind of impairment, whatever happened (each is a no-op if absent).
      for (const args of [['nodelay', runDir], ['nocap'], ['noloss']]) {
        try {
          execFileSync(NETLAB, args, { stdio: 'ignore' });
        } catch {
          /* lab may already be down */
        }
      }
    }
    if (sc.lossPercent) {
      try {
        netlab('noloss');
      } catch {
        /* lab may already be down */
      }
    }
  }
  const checked = verifyScenario(dir, sc, { impairments });
  const out = { ...checked, durationMs: sc.durationMs, lossPercent: sc.lossPercent || 0 };
  if (sc.impair) out.impairments = impairments;
  fs.writeFileSync(path.join(dir, 'capture-summary.json'), JSON.stringify(out, null, 1) + '\n');
  log(`${sc.name}: verified`);
  if (gzipOver !== null && !PLAIN.includes(sc.name)) {
    for (const f of fs.readdirSync(dir)) {
      const file = path.join(dir, f);
      if (f.endsWith('.gz') || f === 'capture-summary.json' || fs.statSync(file).size <= gzipOver) continue;
      fs.writeFileSync(file + '.gz', zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
      fs.rmSync(file);
    }
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid() !== 0) throw new Error('must run as root (network namespaces, coturn)');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  const outDir = path.resolve(args.out);
  fs.mkdirSync(outDir, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopscope-capture-'));
  const version = execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  log(`${version}; run dir ${runDir}`);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    try {
      netlab('down', runDir);
    } finally {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    netlab('up', runDir);
    const scenarios = SCENARIOS.filter((s) => !args.only || args.only.includes(s.name));
    if (!scenarios.length) throw new Error(`no scenario matches ${args.only}`);
    for (const sc of scenarios) await runScenario(runDir, outDir, sc, args.gzipOver);
    fs.writeFileSync(path.join(outDir, 'chromium-version.txt'), version + '\n');
  } finally {
    if (!interrupted) netlab('down', runDir);
    if (!args.keepRun) fs.rmSync(runDir, { recursive: true, force: true });
    else log(`kept ${runDir}`);
  }
  log('done');
}

main().catch((e) => {
  console.error('capture FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
