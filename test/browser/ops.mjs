// ops.mjs drives Ringside's own pages in Debian's Chromium (playwright-core,
// never a downloaded browser) and prints a JSON report on stdout. Spec
// (JSON on stdin):
//
//   {"mode": "console" | "hung",
//    "watch": "http://127.0.0.1:PORT/watch/demo",   the player page
//    "players": 3,                                  pages opened
//    "console": "http://127.0.0.1:PORT/console/", "token": "...",
//    "cdn": "cdn-a",                                the CDN to drain (console) or that hangs (hung)
//    "hang": "http://127.0.0.1:PORT/hang",          POSTed to make the CDN hang (hung mode)
//    "shots": "/dir",                               screenshots go here
//    "timeout": 60}
//
// console: opens the player pages, waits for their first frame, signs in to
// the console and times how long until it shows that many viewers; clicks
// "Drain" on the CDN and confirms; waits until every page that was on the
// CDN fetches from another pathway; screenshots along the way.
// hung: one page (reopened until it plays from the CDN), then the CDN
// hangs: times how long until the page loads fragments from another
// pathway, and how long playback stalled.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let s = '';
for await (const chunk of process.stdin) s += chunk;
const spec = JSON.parse(s);
const report = { mode: spec.mode, steps: [], console: [] };
const t0 = Date.now();
const step = (what, extra) => report.steps.push({ at: (Date.now() - t0) / 1000, what, ...extra });
const profile = await mkdtemp(join(tmpdir(), 'ringside-ops-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: spec.chromium || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
      '--disable-sync', '--disable-quic', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
    viewport: { width: 1280, height: 900 },
  });
  const deadline = Date.now() + (spec.timeout || 60) * 1000;
  const until = async (what, cond, ms) => {
    const end = Math.min(deadline, Date.now() + (ms || 60000));
    for (;;) {
      const v = await cond();
      if (v) return v;
      if (Date.now() > end) throw new Error('timed out: ' + what);
      await sleep(100);
    }
  };
  const state = (p) => p.evaluate(() => window.ringsideWatch && JSON.parse(JSON.stringify(window.ringsideWatch)));
  const openPlayer = async (i) => {
    const p = await ctx.newPage();
    p.on('console', (m) => { if (report.console.length < 200) report.console.push(`[player ${i}] ${m.type()}: ${m.text()}`); });
    await p.goto(spec.watch);
    return p;
  };

  if (spec.mode === 'console') {
    const pages = [];
    for (let i = 0; i < spec.players; i++) pages.push(await openPlayer(i));
    for (const [i, p] of pages.entries()) await until('first frame of player ' + i, async () => (await state(p))?.firstFrame, 45000);
    const playing = Date.now();
    step('all players playing');
    const c = await ctx.newPage();
    c.on('console', (m) => { if (report.console.length < 200) report.console.push(`[console] ${m.type()}: ${m.text()}`); });
    await c.goto(spec.console);
    await c.fill('#token', spec.token);
    await c.click('#login-form button[type=submit]');
    await until('console shows ' + spec.players + ' viewers', async () => (await c.textContent('#k-viewers')) === String(spec.players), 20000);
    report.viewersShownAfterPlaying = (Date.now() - playing) / 1000;
    step('console shows the viewers');
    await sleep(1500); // a few updates of the charts
    await c.screenshot({ path: join(spec.shots, 'console-viewers.png'), fullPage: true });
    report.sessions = [];
    for (const p of pages) report.sessions.push(await state(p));
    const btn = c.getByRole('button', { name: 'Drain CDN ' + spec.cdn });
    await until('the drain button of ' + spec.cdn, async () => (await btn.count()) > 0, 10000);
    await btn.click();
    await c.screenshot({ path: join(spec.shots, 'console-confirm-drain.png') });
    await c.click('#confirm-ok');
    const drained = Date.now();
    step('drain confirmed');
    await until('the console shows ' + spec.cdn + ' draining', async () =>
      (await c.locator(`tr[data-cdn="${spec.cdn}"]`).textContent()).includes('draining'), 10000);
    await c.screenshot({ path: join(spec.shots, 'console-drained.png'), fullPage: true });
    const onCDN = [];
    for (const [i, p] of pages.entries()) if ((await state(p)).pathway === spec.cdn) onCDN.push(i);
    report.onCDNAtDrain = onCDN;
    await until('the drained CDN\'s players moved', async () => {
      for (const i of onCDN) if ((await state(pages[i])).pathway === spec.cdn) return false;
      return true;
    }, 40000);
    report.movedAfterDrain = (Date.now() - drained) / 1000;
    step('players moved off the drained CDN');
    report.sessionsAfter = [];
    for (const p of pages) report.sessionsAfter.push(await state(p));
    await c.screenshot({ path: join(spec.shots, 'console-after-drain.png'), fullPage: true });
  } else {
    let p, st;
    for (let i = 0; i < 6; i++) {
      p = await openPlayer(i);
      await until('first frame', async () => (await state(p))?.firstFrame, 45000);
      st = await state(p);
      if (st.pathway === spec.cdn) break;
      await p.close();
      p = null;
    }
    if (!p) throw new Error('no session was steered to ' + spec.cdn);
    await sleep(6000); // watch from the CDN for a while
    st = await state(p);
    report.before = { pathway: st.pathway, stalls: st.stalls, frags: st.frags.length };
    const r = await fetch(spec.hang, { method: 'POST' });
    if (!r.ok) throw new Error('hang: ' + r.status);
    const hung = Date.now();
    step('cdn hangs');
    await until('fragments from another pathway', async () => {
      const s2 = await state(p);
      return s2.frags.some((f) => f.at > hung && f.pathway !== spec.cdn);
    }, 40000);
    const s2 = await state(p);
    const first = s2.frags.find((f) => f.at > hung && f.pathway !== spec.cdn);
    report.failoverSeconds = (first.at - hung) / 1000;
    report.failoverPathway = first.pathway;
    await sleep(5000);
    const s3 = await state(p);
    report.after = { pathway: s3.pathway, stalls: s3.stalls, switches: s3.switches, errors: s3.errors.slice(-10) };
    report.stallsDuringFailover = s3.stalls - report.before.stalls;
    await p.screenshot({ path: join(spec.shots, 'watch-after-failover.png') });
    step('failed over');
  }
} catch (e) {
  report.error = String(e && e.stack || e);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  await rm(profile, { recursive: true, force: true }).catch(() => {});
}
process.stdout.write(JSON.stringify(report) + '\n');
