// play.mjs plays one stream with one web player in Debian's Chromium and
// prints what happened as JSON on stdout. The spec is JSON, as the first
// argument or on stdin:
//
//   {"player": "hls.js" | "dash.js" | "shaka",
//    "page": "http://127.0.0.1:PORT/",    the test page (page/index.html), on its own origin
//    "manifest": "http://127.0.0.1:PORT/live/demo/master.m3u8",
//    "seconds": 20,                       how long to play after the first frame
//    "startTimeout": 15,                  seconds to wait for the first frame
//    "stopOnFatal": true,                 stop at the player's first fatal error
//    "ignoreHTTPSErrors": false,          accept the stream's certificate whatever it is
//    "spki": ["base64 SHA-256 of a SubjectPublicKeyInfo", ...],   or trust these keys only
//    "config": {...},                     passed to the player (Hls config, dash.js
//                                         settings, Shaka configure)
//    "maxRequests": 400,                  responses recorded at most
//    "inspect": "\\.m3u8(\\?|$)",          for responses whose URL matches (a RegExp),
//    "tags": ["#EXT-X-PART:", ...],       count the body's lines starting with each
//    "chromium": "/usr/bin/chromium"}
//
// The report is the page's (page/harness.js: started, startupSeconds,
// secondsPlayed, stalls, rebufferSeconds, waitingEvents, errors with the
// HTTP status the player saw, level, video, latency samples) plus what
// Chromium itself saw on the network (requests: url, status or failure,
// when the response came and when its body ended (at, end: seconds since
// the driver's start), for inspected ones the tag counts of the body;
// preflights: the CORS
// OPTIONS requests Chromium sent on the player's behalf, which pages never
// see), how long each step took (timing) and the page's console. The exit status is 0 whenever a report is printed, whatever it
// says; 2 when the browser could not be driven at all.
//
// Chromium is never downloaded: only playwright-core is used, on the
// browser Debian installs.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const defaultMaxRequests = 400;
const maxPreflights = 200;
const maxConsole = 100;

async function readSpec() {
  if (process.argv[2] && process.argv[2] !== '-') return JSON.parse(process.argv[2]);
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return JSON.parse(s);
}

function chromiumArgs(spec) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
    '--autoplay-policy=no-user-gesture-required', '--mute-audio'];
  if (spec.spki && spec.spki.length) args.push('--ignore-certificate-errors-spki-list=' + spec.spki.join(','));
  return args;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const secondsSince = (t) => Math.round((Date.now() - t) / 10) / 100;

async function play(spec, out) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'ringside-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: spec.chromium || '/usr/bin/chromium',
      args: chromiumArgs(spec),
      headless: true,
      ignoreHTTPSErrors: !!spec.ignoreHTTPSErrors,
      timeout: 30000,
    });
    out.timing.launch = secondsSince(t0);
    const page = context.pages()[0] || await context.newPage();
    // Preflights happen in Chromium's network service: only the DevTools
    // protocol shows them.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const preflights = new Map();
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.method === 'OPTIONS' && out.preflights.length < maxPreflights) {
        const p = { url: e.request.url, status: 0, failure: '' };
        preflights.set(e.requestId, p);
        out.preflights.push(p);
      }
    });
    cdp.on('Network.responseReceived', (e) => {
      const p = preflights.get(e.requestId);
      if (p) p.status = e.response.status;
    });
    cdp.on('Network.loadingFailed', (e) => {
      const p = preflights.get(e.requestId);
      if (p) p.failure = e.errorText || (e.corsErrorStatus && e.corsErrorStatus.corsError) || 'failed';
    });
    page.on('console', (m) => {
      if (out.console.length < maxConsole) out.console.push(m.type() + ': ' + m.text());
    });
    page.on('pageerror', (e) => out.console.push('pageerror: ' + e.message));
    const maxRequests = spec.maxRequests || defaultMaxRequests;
    // When each body ended (seconds since the driver's start): a part or a
    // blocking playlist reload is held by the origin until it exists.
    const finished = new WeakMap();
    page.on('requestfinished', (req) => {
      const q = finished.get(req);
      if (q) q.end = secondsSince(t0);
    });
    const inspect = spec.inspect ? new RegExp(spec.inspect) : null;
    page.on('response', (res) => {
      if (out.requests.length >= maxRequests) return;
      const q = { method: res.request().method(), url: res.url(), status: res.status(), at: secondsSince(t0) };
      out.requests.push(q);
      finished.set(res.request(), q);
      if (inspect && inspect.test(q.url) && q.status === 200) {
        // Counted when the body is complete (a blocking playlist reload
        // answers when the playlist is ready).
        res.text().then((body) => {
          q.tags = {};
          for (const tag of spec.tags || []) q.tags[tag] = 0;
          for (const line of body.split('\n')) {
            for (const tag of spec.tags || []) if (line.startsWith(tag)) q.tags[tag]++;
          }
        }).catch((e) => { q.bodyError = String(e && e.message); });
      }
    });
    page.on('requestfailed', (req) => {
      if (out.requests.length < (spec.maxRequests || defaultMaxRequests)) {
        out.requests.push({ method: req.method(), url: req.url(), status: 0, failure: req.failure()?.errorText || '',
          at: secondsSince(t0) });
      }
    });
    await page.goto(spec.page, { timeout: 15000 });
    await page.waitForFunction(() => !!window.harness, null, { timeout: 10000 });
    out.timing.page = secondsSince(t0);
    await page.evaluate((s) => window.harness.start(s), {
      player: spec.player, manifest: spec.manifest, config: spec.config || null,
    });
    out.timing.player = secondsSince(t0);
    const startBy = Date.now() + (spec.startTimeout ?? 15) * 1000;
    let playUntil = 0;
    for (;;) {
      await sleep(250);
      const r = await page.evaluate(() => window.harness.report());
      out.report = r;
      if (r.fatal && spec.stopOnFatal !== false) break;
      if (r.started && !playUntil) out.timing.firstFrame = secondsSince(t0);
      if (r.started && !playUntil) playUntil = Date.now() + (spec.seconds ?? 20) * 1000;
      if (playUntil && Date.now() >= playUntil) break;
      if (!playUntil && Date.now() >= startBy) {
        out.timedOut = 'no first frame within ' + (spec.startTimeout ?? 15) + ' s';
        break;
      }
    }
    out.timing.played = secondsSince(t0);
  } finally {
    if (context) await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    out.timing.closed = secondsSince(t0);
  }
}

// timing: seconds from the driver's start to each step (launch, page,
// player, firstFrame, played, closed).
const out = { spec: null, report: null, requests: [], preflights: [], console: [], timing: {}, timedOut: '' };
try {
  out.spec = await readSpec();
  await play(out.spec, out);
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  out.driverError = String(e && (e.stack || e));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = 2;
}
