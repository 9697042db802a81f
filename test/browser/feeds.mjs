// feeds.mjs plays one stream with a web player in Debian's Chromium while
// the test acts on the stream (switches a redundant event's feed, kills an
// encoder), and tells the test how playback goes as it goes. It talks in
// JSON lines:
//
//   stdin, first line: the spec
//     {"player": "hls.js", "page": "http://127.0.0.1:PORT/",
//      "manifest": "http://127.0.0.1:PORT/live/demo-backup/master.m3u8",
//      "startTimeout": 20, "maxSeconds": 60, "config": {...},
//      "chromium": "/usr/bin/chromium"}
//   stdin, later: "stop" ends playback (so does maxSeconds after the
//     first frame, or the player's first fatal error)
//   stdout: {"progress": {played, currentTime, bufferedAhead, t}} every
//     250 ms once playing, then one {"result": {...}}: the page's report
//     (page/harness.js), the samples of the video element every 50 ms
//     ({t, currentTime, bufferedAhead, paused, readyState}, t in Unix ms
//     on this machine's clock, the one the test stamps its actions with),
//     its waiting/playing/stalled events ({t, type}), what Chromium saw
//     on the network, the console.
//
// Chromium is never downloaded: only playwright-core is used, on the
// browser Debian installs.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const out = { report: null, samples: [], mediaEvents: [], requests: [], console: [], timedOut: '', driverError: '' };

// sampler runs in the page: the video element every 50 ms and its
// waiting/playing/stalled events, stamped with Date.now().
function sampler() {
  const v = document.getElementById('video');
  window.feedSamples = [];
  window.feedEvents = [];
  const ahead = () => {
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime + 0.1 && v.currentTime <= v.buffered.end(i)) return v.buffered.end(i) - v.currentTime;
    }
    return 0;
  };
  for (const type of ['waiting', 'playing', 'stalled']) {
    v.addEventListener(type, () => window.feedEvents.push({ t: Date.now(), type }));
  }
  setInterval(() => {
    if (window.feedSamples.length < 4000) {
      window.feedSamples.push({ t: Date.now(), currentTime: v.currentTime, bufferedAhead: ahead(), paused: v.paused, readyState: v.readyState });
    }
  }, 50);
}

let stop = false;
let context;
const userDataDir = await mkdtemp(join(tmpdir(), 'ringside-chromium-'));
try {
  const first = await lines.next();
  const spec = JSON.parse(first.value);
  (async () => {
    for (;;) {
      const l = await lines.next();
      if (l.done || l.value.trim() === 'stop') { stop = true; return; }
    }
  })();
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: spec.chromium || '/usr/bin/chromium', headless: true, timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
      '--disable-sync', '--disable-quic', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (out.console.length < 100) out.console.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', (e) => out.console.push('pageerror: ' + e.message));
  page.on('response', (res) => {
    if (out.requests.length < 600) out.requests.push({ method: res.request().method(), url: res.url(), status: res.status(), at: Date.now() });
  });
  page.on('requestfailed', (req) => {
    if (out.requests.length < 600) out.requests.push({ method: req.method(), url: req.url(), status: 0, failure: req.failure()?.errorText || '', at: Date.now() });
  });
  await page.goto(spec.page, { timeout: 15000 });
  await page.waitForFunction(() => !!window.harness, null, { timeout: 10000 });
  await page.evaluate((s) => window.harness.start(s), { player: spec.player, manifest: spec.manifest, config: spec.config || null });
  await page.evaluate(sampler);
  const startBy = Date.now() + (spec.startTimeout ?? 20) * 1000;
  let until = 0;
  while (!stop) {
    await sleep(250);
    const r = await page.evaluate(() => {
      const v = document.getElementById('video');
      const s = window.feedSamples[window.feedSamples.length - 1];
      return { report: window.harness.report(), currentTime: v.currentTime, bufferedAhead: s ? s.bufferedAhead : 0 };
    });
    out.report = r.report;
    if (r.report.fatal) break;
    if (r.report.started) {
      if (!until) until = Date.now() + (spec.maxSeconds ?? 60) * 1000;
      emit({ progress: { played: r.report.secondsPlayed, currentTime: r.currentTime, bufferedAhead: r.bufferedAhead, t: Date.now() } });
      if (Date.now() >= until) { out.timedOut = 'played maxSeconds without a stop'; break; }
    } else if (Date.now() >= startBy) {
      out.timedOut = 'no first frame within ' + (spec.startTimeout ?? 20) + ' s';
      break;
    }
  }
  out.report = await page.evaluate(() => window.harness.report());
  out.samples = await page.evaluate(() => window.feedSamples);
  out.mediaEvents = await page.evaluate(() => window.feedEvents);
} catch (e) {
  out.driverError = String(e && (e.stack || e));
} finally {
  if (context) await context.close().catch(() => {});
  await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
}
// The result is one line of several hundred kB and stdout is a pipe: Node
// writes it in the background, so exit only once it has all been handed
// over (exiting at once cut it at the pipe's 64 KiB). The exit itself is
// needed: the reader of stdin would keep the process alive.
process.stdout.write(JSON.stringify({ result: out }) + '\n', () => process.exit(0));
