// The page side of the browser test: loads one web player (hls.js,
// dash.js or Shaka Player) from /players/, points it at a manifest on
// another origin, and records what a viewer would notice: when playback
// started, how far video.currentTime advanced, every stall, every error
// with the HTTP status the player itself saw, and the rendition it ended
// on; on a live stream, the latency every half second after the first
// frame. play.mjs calls window.harness.start(spec) and polls
// window.harness.report().
'use strict';

window.harness = (() => {
  const players = {
    'hls.js': { script: '/players/hls.js', start: startHls },
    'dash.js': { script: '/players/dash.js', start: startDash },
    shaka: { script: '/players/shaka.js', start: startShaka },
  };
  // A stall is a stretch of at least this long in which currentTime did
  // not move although the video was neither paused nor ended.
  const stallMinSeconds = 0.5;
  const sampleMs = 100;
  const latencyMs = 500;
  const maxLatencySamples = 600;

  const r = {
    player: '',
    manifest: '',
    loaded: false, // the player's script loaded and the player was created
    started: false, // the first 'playing' event
    startupSeconds: null, // from start() to the first 'playing'
    startTime: null, // currentTime at the first 'playing'
    currentTime: 0,
    secondsPlayed: 0, // currentTime advanced since the first 'playing'
    waitingEvents: 0, // 'waiting' events after the first 'playing'
    stalls: [], // {at, seconds}: at is seconds since the first 'playing'
    rebufferSeconds: 0,
    errors: [], // {fatal, type, details, status, url, message, at}: at is seconds since the first 'playing', null before
    fatal: false,
    level: null, // {width, height, bitrate} as the player reports it
    video: null, // {width, height, droppedFrames, totalFrames, readyState}
    levels: 0, // renditions the player found
    // {at, latency, wall, rate} every latencyMs after the first 'playing':
    // latency is the player's own figure (hls.js: hls.latency, the
    // distance to the live edge it computes from the playlist; dash.js:
    // getCurrentLiveLatency(); Shaka: getStats().liveLatency), wall is now
    // minus the wall-clock time of the frame playing (hls.js: playingDate,
    // from EXT-X-PROGRAM-DATE-TIME; dash.js: the same as latency, it
    // computes it so; Shaka: from getPresentationStartTimeAsDate()), rate
    // the playback rate (catch-up).
    latency: [],
    lowLatency: null, // whether the player says it is in low-latency mode
  };
  let t0 = 0;
  let tPlaying = 0;
  let player = null;
  let lastLevel = () => null;
  let latencyOf = () => ({ latency: null, wall: null });
  let lowLatencyOf = () => null;
  let openStall = () => null; // a stall still going on, counted by report()

  const now = () => performance.now() / 1000;

  function error(e) {
    e.at = r.started ? round(now() - tPlaying) : null;
    r.errors.push(e);
    if (e.fatal) r.fatal = true;
    if (r.errors.length > 200) r.errors.splice(100, r.errors.length - 200);
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error('could not load ' + src));
      document.head.appendChild(s);
    });
  }

  // watch follows the video element: the start, waiting events and, by
  // sampling currentTime, stalls however the player signals them.
  function watch(video) {
    video.addEventListener('playing', () => {
      if (r.started) return;
      r.started = true;
      tPlaying = now();
      r.startupSeconds = tPlaying - t0;
      r.startTime = video.currentTime;
    });
    video.addEventListener('waiting', () => {
      if (r.started && !video.seeking) r.waitingEvents++;
    });
    let lastTime = -1;
    let frozenSince = 0;
    setInterval(() => {
      const t = video.currentTime;
      r.currentTime = t;
      if (!r.started) return;
      r.secondsPlayed = t - r.startTime;
      const moving = t !== lastTime || video.paused || video.ended || video.seeking;
      lastTime = t;
      if (!moving) {
        if (!frozenSince) frozenSince = now() - sampleMs / 1000;
        return;
      }
      if (frozenSince) {
        const seconds = now() - frozenSince;
        if (seconds >= stallMinSeconds) {
          r.stalls.push({ at: round(frozenSince - tPlaying), seconds: round(seconds) });
          r.rebufferSeconds = round(r.rebufferSeconds + seconds);
        }
        frozenSince = 0;
      }
    }, sampleMs);
    setInterval(() => {
      if (!r.started || r.latency.length >= maxLatencySamples) return;
      let l = { latency: null, wall: null };
      try { l = latencyOf(); } catch (_) { /* the player is not ready */ }
      const num = (x) => (typeof x === 'number' && isFinite(x) ? round(x) : null);
      r.latency.push({ at: round(now() - tPlaying), latency: num(l.latency), wall: num(l.wall), rate: video.playbackRate });
    }, latencyMs);
    openStall = () => (frozenSince && now() - frozenSince >= stallMinSeconds
      ? { at: round(frozenSince - tPlaying), seconds: round(now() - frozenSince), ongoing: true } : null);
  }

  function round(x) { return Math.round(x * 1000) / 1000; }

  function startHls(video, spec) {
    const hls = new Hls(Object.assign({ debug: false }, spec.config || {}));
    player = hls;
    hls.on(Hls.Events.ERROR, (_, d) => error({
      fatal: !!d.fatal,
      type: d.type,
      details: d.details,
      status: d.response && typeof d.response.code === 'number' ? d.response.code : null,
      url: d.url || (d.context && d.context.url) || (d.frag && d.frag.url) || null,
      message: d.error ? String(d.error.message || d.error) : (d.reason || ''),
    }));
    hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
      r.levels = d.levels.length;
      video.play().catch(() => {});
    });
    lastLevel = () => {
      const l = hls.levels && hls.levels[hls.currentLevel];
      return l ? { width: l.width, height: l.height, bitrate: l.bitrate, index: hls.currentLevel } : null;
    };
    latencyOf = () => ({
      latency: hls.latency,
      wall: hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null,
    });
    lowLatencyOf = () => !!(hls.config.lowLatencyMode && hls.levels && hls.levels[hls.currentLevel]
      && hls.levels[hls.currentLevel].details && hls.levels[hls.currentLevel].details.partList);
    hls.loadSource(spec.manifest);
    hls.attachMedia(video);
  }

  function startDash(video, spec) {
    const p = dashjs.MediaPlayer().create();
    player = p;
    // dash.js's ERROR events carry no HTTP status: a response interceptor
    // sees every response (failed ones too) and the last failure's status
    // is attached to the next error.
    let lastFailure = null;
    p.addResponseInterceptor((res) => {
      if (!(res.status >= 200 && res.status < 400)) {
        lastFailure = { status: res.status || 0, url: res.url || (res.request && res.request.url) || null };
      }
      return Promise.resolve(res);
    });
    const ev = dashjs.MediaPlayer.events;
    p.on(ev.ERROR, (e) => {
      const er = e.error || {};
      error({
        fatal: true, // dash.js stops on every ERROR event
        type: 'error',
        details: String(er.code),
        status: lastFailure ? lastFailure.status : null,
        url: lastFailure ? lastFailure.url : null,
        message: er.message || '',
      });
    });
    p.on(ev.PLAYBACK_ERROR, (e) => error({ fatal: true, type: 'playback', details: 'PLAYBACK_ERROR',
      status: null, url: null, message: String(e.error && (e.error.message || e.error.code)) }));
    p.on(ev.STREAM_INITIALIZED, () => {
      try { r.levels = p.getRepresentationsByType('video').length; } catch (_) { /* older API */ }
    });
    lastLevel = () => {
      const rep = p.getCurrentRepresentationForType && p.getCurrentRepresentationForType('video');
      return rep ? { width: rep.width, height: rep.height, bitrate: rep.bandwidth, index: rep.absoluteIndex } : null;
    };
    latencyOf = () => {
      const l = p.getCurrentLiveLatency();
      return { latency: l, wall: l };
    };
    lowLatencyOf = () => p.getLowLatencyModeEnabled();
    if (spec.config) p.updateSettings(spec.config);
    p.initialize(video, spec.manifest, true);
  }

  function startShaka(video, spec) {
    shaka.polyfill.installAll();
    const p = new shaka.Player();
    player = p;
    const shakaError = (e) => {
      // BAD_HTTP_STATUS (1001): data [uri, status, ...]; HTTP_ERROR
      // (1002): data [uri, cause, ...], no status reached the player.
      const d = e.data || [];
      error({
        fatal: e.severity === shaka.util.Error.Severity.CRITICAL,
        type: 'category ' + e.category,
        details: String(e.code),
        status: e.code === shaka.util.Error.Code.BAD_HTTP_STATUS ? d[1]
          : e.code === shaka.util.Error.Code.HTTP_ERROR ? 0 : null,
        url: typeof d[0] === 'string' ? d[0] : null,
        message: e.message || '',
      });
    };
    p.addEventListener('error', (ev) => shakaError(ev.detail));
    lastLevel = () => {
      const tr = (p.getVariantTracks() || []).find((t) => t.active);
      return tr ? { width: tr.width, height: tr.height, bitrate: tr.bandwidth, index: tr.id } : null;
    };
    latencyOf = () => {
      // getLiveLatency() is not exported by the compiled build; its stats
      // carry it (liveLatency), and the wall-clock figure is its formula.
      const start = p.isLive() ? p.getPresentationStartTimeAsDate() : null;
      return {
        latency: p.isLive() ? p.getStats().liveLatency : null,
        wall: start ? (Date.now() - start.getTime()) / 1000 - video.currentTime : null,
      };
    };
    lowLatencyOf = () => !!p.getConfiguration().streaming.lowLatencyMode;
    if (spec.config) p.configure(spec.config);
    p.attach(video)
      .then(() => p.load(spec.manifest))
      .then(() => {
        r.levels = p.getVariantTracks().length;
        return video.play();
      })
      .catch((e) => (e instanceof shaka.util.Error ? shakaError(e)
        : error({ fatal: true, type: 'exception', details: String(e && e.name), status: null, url: null,
          message: String(e && (e.message || e)) })));
  }

  return {
    // start loads the player and plays spec.manifest; it resolves once the
    // player is created (playback goes on without it).
    async start(spec) {
      const kind = players[spec.player];
      if (!kind) throw new Error('unknown player ' + spec.player + ' (hls.js, dash.js, shaka)');
      r.player = spec.player;
      r.manifest = spec.manifest;
      const video = document.getElementById('video');
      await loadScript(kind.script);
      t0 = now();
      watch(video);
      kind.start(video, spec);
      r.loaded = true;
    },
    report() {
      const video = document.getElementById('video');
      let level = null;
      try { level = lastLevel(); } catch (e) { level = { error: String(e) }; }
      let lowLatency = null;
      try { lowLatency = lowLatencyOf(); } catch (_) { /* not ready */ }
      const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
      const open = openStall();
      return Object.assign({}, r, {
        stalls: open ? r.stalls.concat([open]) : r.stalls,
        rebufferSeconds: round(r.rebufferSeconds + (open ? open.seconds : 0)),
        secondsPlayed: round(r.secondsPlayed),
        startupSeconds: r.startupSeconds === null ? null : round(r.startupSeconds),
        level,
        lowLatency,
        video: {
          width: video.videoWidth,
          height: video.videoHeight,
          readyState: video.readyState,
          paused: video.paused,
          droppedFrames: q.droppedVideoFrames || 0,
          totalFrames: q.totalVideoFrames || 0,
          mediaError: video.error ? { code: video.error.code, message: video.error.message } : null,
        },
        playerVersion: r.player === 'hls.js' ? Hls.version
          : r.player === 'shaka' ? shaka.Player.version
            : r.player === 'dash.js' && player ? player.getVersion() : '',
      });
    },
  };
})();
