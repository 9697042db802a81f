// The player page of /watch/{event}: hls.js with content steering and
// CMCD (query mode: no preflight), timeouts short enough that a CDN that
// hangs is left within seconds, and a beacon to /t/{event} while on a
// CDN pathway (the edges measure the mesh's requests themselves).
'use strict';
(() => {
  const $ = (s) => document.getElementById(s);
  const event = document.body.dataset.event;
  const video = $('video');
  // What tests and curious operators read.
  const st = window.ringsideWatch = { event, session: '', region: '', pathway: '', frags: [], errors: [], switches: [], stalls: 0, playing: false, firstFrame: 0 };
  const reports = [];
  let lastTime = 0, stalledSince = 0, stalledMs = 0, starved = false;

  const set = (id, v) => { const el = $(id); if (el.textContent !== v) el.textContent = v; };

  function report(fields) {
    if (!st.pathway || st.pathway === 'mesh') return;
    const kv = [`sid="${st.session}"`, `cid="${event}"`, 'v=2', `cdn="${st.pathway}"`];
    for (const [k, v] of Object.entries(fields)) {
      if (v === true) kv.push(k); else if (v !== undefined && v !== false) kv.push(typeof v === 'string' ? `${k}="${v}"` : `${k}=${Math.round(v)}`);
    }
    reports.push(kv.join(','));
  }
  setInterval(() => {
    if (!reports.length) return;
    const body = reports.splice(0, 32).join('\n');
    fetch('/t/' + encodeURIComponent(event), { method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, keepalive: true }).catch(() => {});
  }, 1000);

  async function start() {
    let play;
    try {
      const r = await fetch('/play/' + encodeURIComponent(event));
      if (!r.ok) throw new Error('play: ' + r.status);
      play = await r.json();
    } catch (e) {
      set('s-status', 'cannot start: ' + e.message);
      return;
    }
    st.session = play.session; st.region = play.region || '';
    set('s-region', st.region || '(none)');
    const src = play.steered_manifest;
    if (!window.Hls || !Hls.isSupported()) {
      video.src = src; // Safari: native HLS with content steering
      return;
    }
    const quick = (ttfb, load) => ({ default: { maxTimeToFirstByteMs: ttfb, maxLoadTimeMs: load,
      timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 2000 } } });
    const hls = new Hls({
      cmcd: { sessionId: play.session, contentId: event, useHeaders: false },
      contentSteeringEnabled: true,
      liveSyncDurationCount: 3,
      fragLoadPolicy: quick(3000, 15000),
      playlistLoadPolicy: quick(2500, 6000),
      steeringManifestLoadPolicy: quick(2000, 4000),
    });
    window.hls = hls;
    hls.on(Hls.Events.STEERING_MANIFEST_LOADED, () => {});
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
      const lv = hls.levels[d.level];
      if (lv && lv.pathwayId !== st.pathway) {
        st.switches.push({ at: Date.now(), from: st.pathway, to: lv.pathwayId });
        st.pathway = lv.pathwayId;
      }
    });
    hls.on(Hls.Events.LEVELS_UPDATED, () => {
      const lv = hls.levels[hls.nextLoadLevel] || hls.levels[0];
      if (lv && lv.pathwayId && lv.pathwayId !== st.pathway) {
        st.switches.push({ at: Date.now(), from: st.pathway, to: lv.pathwayId });
        st.pathway = lv.pathwayId;
      }
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
      const lv = hls.levels[d.frag.level];
      const pathway = (lv && lv.pathwayId) || '.';
      const s = d.frag.stats || d.stats || {};
      const t0 = s.loading ? s.loading.start : 0;
      st.frags.push({ at: Date.now(), pathway, url: d.frag.url, bytes: s.loaded || 0 });
      if (st.frags.length > 500) st.frags.shift();
      if (pathway !== st.pathway) {
        st.switches.push({ at: Date.now(), from: st.pathway, to: pathway });
        st.pathway = pathway;
      }
      report({ ot: 'v', br: lv ? lv.bitrate / 1000 : undefined, bl: bufferMs(), d: (d.frag.duration || 0) * 1000,
        rc: 200, ttfb: t0 && s.loading.first ? s.loading.first - t0 : undefined,
        ttlb: t0 && s.loading.end ? s.loading.end - t0 : undefined, bs: starved, bsd: stalledMs || undefined, su: !st.playing });
      starved = false; stalledMs = 0;
    });
    hls.on(Hls.Events.ERROR, (_, d) => {
      st.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, code: d.response ? d.response.code : undefined });
      if (st.errors.length > 200) st.errors.shift();
      if (d.details === 'fragLoadError' || d.details === 'fragLoadTimeOut') {
        report({ ot: 'v', rc: d.response && d.response.code ? d.response.code : 0 });
      }
      if (d.fatal) {
        set('s-status', 'error: ' + d.details);
        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => hls.startLoad(), 1000);
        else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    video.play().catch(() => {});
    setInterval(() => {
      const lv = hls.levels[hls.currentLevel];
      set('s-latency', hls.latency ? hls.latency.toFixed(1) + ' s' : '–');
      set('s-bitrate', lv ? (lv.bitrate / 1e6).toFixed(2) + ' Mbps (' + (lv.height || '?') + 'p)' : '–');
      set('s-pathway', st.pathway || '–');
      set('s-buffer', (bufferMs() / 1000).toFixed(1) + ' s');
    }, 500);
  }

  function bufferMs() {
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= video.currentTime + 0.1 && b.end(i) >= video.currentTime) return (b.end(i) - video.currentTime) * 1000;
    return 0;
  }

  video.addEventListener('playing', () => {
    if (!st.firstFrame) st.firstFrame = Date.now();
    st.playing = true;
    set('s-status', 'playing');
  });
  setInterval(() => { // stalls: currentTime still while playing
    const now = Date.now();
    if (!st.playing || video.paused || video.ended) return;
    if (video.currentTime === lastTime) {
      if (!stalledSince) { stalledSince = now; st.stalls++; starved = true; set('s-status', 'rebuffering'); }
    } else if (stalledSince) {
      stalledMs += now - stalledSince; stalledSince = 0; set('s-status', 'playing');
    }
    lastTime = video.currentTime;
  }, 250);
  start();
})();
