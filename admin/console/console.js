// Ringside ops console: plain script, no dependencies, nothing loaded
// from elsewhere. It talks to the admin API with the operator's token
// (kept in this tab's sessionStorage only) and reads the telemetry
// stream (Server-Sent Events) through fetch, which can send the token.
'use strict';
(() => {
  const $ = (s) => document.querySelector(s);
  const API = '/admin/v1/';
  const HISTORY = 120; // seconds of the sparklines
  let token = sessionStorage.getItem('ringside-token') || '';
  let event = '';
  let streamAbort = null;
  let hist = [];
  let lastView = null;
  let cdnHealth = {}; // probes
  let telNodes = {};

  async function api(method, path, body) {
    const h = { Authorization: 'Bearer ' + token };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const r = await fetch(API + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    if (!r.ok) {
      const err = new Error((data && data.detail) || r.status + ' ' + r.statusText);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  // ---- formatting
  const pct = (x) => (x * 100).toFixed(x < 0.1 ? 2 : 1) + '%';
  const ms = (x) => (x >= 1000 ? (x / 1000).toFixed(2) + ' s' : Math.round(x) + ' ms');
  const kbps = (x) => (x >= 1000 ? (x / 1000).toFixed(2) + ' Mbps' : Math.round(x) + ' kbps');
  const text = (el, s) => { if (el.textContent !== s) el.textContent = s; };
  function cell(tr, v, cls) {
    const td = document.createElement('td');
    if (v instanceof Node) td.append(v); else td.textContent = v;
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  }
  function button(label, aria, onClick, danger) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('aria-label', aria);
    if (danger) b.className = 'danger';
    b.addEventListener('click', onClick);
    return b;
  }

  // ---- confirmation
  function confirmAction(what) {
    const d = $('#confirm');
    text($('#confirm-text'), what);
    return new Promise((resolve) => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
      d.returnValue = '';
      d.showModal();
      $('#confirm-ok').focus();
    });
  }
  async function act(what, method, path, body) {
    if (!(await confirmAction(what))) return;
    const out = $('#act-result');
    try {
      await api(method, path, body);
      text(out, 'Done: ' + what);
      poll();
    } catch (e) {
      text(out, 'Failed: ' + what + ': ' + e.message + (e.status === 403 ? ' (the read-only token cannot act)' : ''));
    }
  }

  // ---- charts: plain SVG polylines
  function spark(svg, values) {
    const w = 300, h = 36;
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    const max = Math.max(...values, 1e-9);
    const step = w / (HISTORY - 1);
    const off = HISTORY - values.length;
    const pts = values.map((v, i) => `${((off + i) * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ');
    let pl = svg.firstChild;
    if (!pl) { pl = document.createElementNS('http://www.w3.org/2000/svg', 'polyline'); svg.append(pl); }
    pl.setAttribute('points', pts);
  }

  // ---- telemetry view
  function render(v) {
    lastView = v;
    const t = v.total || {}, s = t.short || {}, l = t.long || {};
    text($('#k-viewers'), String(t.viewers || 0));
    text($('#k-startup'), l.startups ? ms(l.startup_p50_ms) + ' / ' + ms(l.startup_p90_ms) : '–');
    text($('#k-rebuffer'), pct(l.rebuffer_ratio || 0));
    text($('#k-errors'), pct(s.error_rate || 0));
    text($('#k-bitrate'), kbps(s.bitrate_kbps || 0) + ' · ' + (s.requests_per_second || 0).toFixed(1));
    hist.push({ viewers: t.viewers || 0, startup: l.startup_p50_ms || 0, rebuffer: l.rebuffer_ratio || 0, errors: s.error_rate || 0, rps: s.requests_per_second || 0 });
    if (hist.length > HISTORY) hist.shift();
    for (const k of ['viewers', 'startup', 'rebuffer', 'errors', 'rps']) spark($('#c-' + k), hist.map((x) => x[k]));
    text($('#updated'), 'updated ' + new Date(v.at).toLocaleTimeString());
    const down = {};
    for (const h of v.health || []) if (h.down) (down[h.pathway] = down[h.pathway] || []).push(h.region || '(none)');
    const tb = $('#t-rp tbody');
    const rows = (v.by_region_pathway || []).slice().sort((a, b) => b.viewers - a.viewers);
    tb.replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      const rs = r.short || {}, rl = r.long || {};
      cell(tr, r.region || '(none)'); cell(tr, r.pathway || '');
      cell(tr, String(r.viewers), 'num');
      cell(tr, rl.startups ? ms(rl.startup_p50_ms) : '–', 'num');
      cell(tr, pct(rl.rebuffer_ratio || 0), 'num');
      cell(tr, pct(rs.error_rate || 0), 'num');
      cell(tr, kbps(rs.bitrate_kbps || 0), 'num');
      cell(tr, (rs.requests_per_second || 0).toFixed(1), 'num');
      const isDown = (down[r.pathway] || []).includes(r.region || '(none)');
      cell(tr, isDown ? 'down' : 'ok', isDown ? 'down' : 'up');
      return tr;
    }));
    telNodes = {};
    for (const n of v.nodes || []) telNodes[n.id] = n;
    renderCDNs();
  }

  async function stream() {
    if (streamAbort) streamAbort.abort();
    const ac = new AbortController();
    streamAbort = ac;
    hist = [];
    while (!ac.signal.aborted) {
      try {
        const r = await fetch(API + 'telemetry/stream?event=' + encodeURIComponent(event),
          { headers: { Authorization: 'Bearer ' + token }, signal: ac.signal });
        if (!r.ok) throw new Error('telemetry stream: ' + r.status);
        const rd = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await rd.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const msg = buf.slice(0, i); buf = buf.slice(i + 2);
            const data = msg.split('\n').filter((x) => x.startsWith('data: ')).map((x) => x.slice(6)).join('\n');
            if (data) render(JSON.parse(data));
          }
        }
      } catch (e) {
        if (ac.signal.aborted) return;
        text($('#updated'), 'telemetry: ' + e.message + ', retrying');
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  // ---- CDNs, nodes, feeds: polled
  let cdns = [];
  function renderCDNs() {
    const v = lastView || {};
    const viewers = {};
    for (const r of v.by_pathway || []) viewers[r.pathway] = r.viewers;
    const down = {};
    for (const h of v.health || []) if (h.down) (down[h.pathway] = down[h.pathway] || []).push(h.region || '(none)');
    const tb = $('#t-cdns tbody');
    tb.replaceChildren(...cdns.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.cdn = c.id;
      cell(tr, c.id);
      cell(tr, c.state, c.state === 'active' ? 'up' : 'down');
      cell(tr, String(c.weight), 'num');
      const p = cdnHealth[c.id];
      cell(tr, p ? (p.up ? 'up' : 'down') + (p.flaps ? ` (${p.flaps} flaps)` : '') : '–', p && !p.up ? 'down' : '');
      cell(tr, (down[c.id] || []).join(', ') || 'none', down[c.id] ? 'down' : '');
      cell(tr, String(viewers[c.id] || 0), 'num');
      const acts = document.createElement('span');
      if (c.state === 'draining' || c.state === 'disabled') {
        acts.append(button('Undrain', 'Undrain CDN ' + c.id, () => act(`Put CDN ${c.id} back to active`, 'POST', `cdns/${c.id}/state`, { state: 'active' })));
      } else {
        acts.append(button('Drain', 'Drain CDN ' + c.id, () => act(`Drain CDN ${c.id}: no new sessions, its sessions leave within one steering TTL`, 'POST', `cdns/${c.id}/state`, { state: 'draining' }), true));
      }
      acts.append(' ', button('Weight…', 'Set the weight of CDN ' + c.id, () => {
        const w = prompt(`New weight of ${c.id} (0-1000)`, String(c.weight));
        if (w !== null && /^\d+$/.test(w)) act(`Set the weight of CDN ${c.id} to ${w}`, 'POST', `cdns/${c.id}/weight`, { weight: Number(w) });
      }));
      cell(tr, acts);
      return tr;
    }));
  }

  function renderNodes(ns) {
    const tb = $('#t-nodes tbody');
    tb.replaceChildren(...ns.map((n) => {
      const tr = document.createElement('tr');
      cell(tr, n.id + (n.self ? ' (this)' : ''));
      cell(tr, (n.roles || []).join(', '));
      cell(tr, n.region || '');
      cell(tr, n.state, n.state === 'alive' ? 'up' : 'down');
      cell(tr, pct(n.load || 0), 'num');
      cell(tr, n.drain ? 'drained' : 'no', n.drain ? 'down' : '');
      const tn = telNodes[n.id];
      cell(tr, tn ? `${tn.applied} deltas` : '–');
      cell(tr, n.drain
        ? button('Undrain', 'Undrain node ' + n.id, () => act(`Undrain node ${n.id}`, 'POST', `nodes/${n.id}/undrain`))
        : button('Drain', 'Drain node ' + n.id, () => act(`Drain node ${n.id}: steering sends no new session to it`, 'POST', `nodes/${n.id}/drain`), true));
      return tr;
    }));
  }

  async function renderFeeds() {
    const el = $('#feeds');
    if (!event) { text(el, '–'); return; }
    try {
      const f = await api('GET', `events/${encodeURIComponent(event)}/feeds`);
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify(f, null, 2);
      el.replaceChildren(pre);
    } catch (e) {
      text(el, e.status === 404 ? 'No feed information for this event (single feed, or not available on this node).' : 'Feeds: ' + e.message);
    }
  }

  async function poll() {
    try {
      const [nodes, cd, evs] = await Promise.all([api('GET', 'nodes'), api('GET', 'cdns'), api('GET', 'events')]);
      cdns = (cd && cd.cdns) || [];
      try {
        const h = await api('GET', 'steering/health');
        cdnHealth = {};
        for (const x of h.cdns || []) cdnHealth[x.id] = x;
      } catch (e) { cdnHealth = {}; }
      renderNodes(nodes.nodes || []);
      renderCDNs();
      fillEvents((evs && evs.events) || []);
      renderFeeds();
    } catch (e) {
      if (e.status === 401) logout('Your token was refused.');
    }
  }

  function fillEvents(evs) {
    const sel = $('#event');
    const ids = evs.map((e) => e.id);
    if (sel.options.length !== ids.length || [...sel.options].some((o, i) => o.value !== ids[i])) {
      sel.replaceChildren(...evs.map((e) => new Option(e.title ? `${e.id} — ${e.title}` : e.id, e.id)));
      const want = location.hash.slice(1);
      const pick = ids.includes(want) ? want : (evs.find((e) => e.state === 'live') || evs[0] || {}).id || '';
      if (pick && pick !== event) { sel.value = pick; select(pick); }
    }
    const cur = evs.find((e) => e.id === event);
    text($('#event-state'), cur ? cur.state : '');
    if (cur) $('#state').value = cur.state;
  }

  function select(id) {
    event = id;
    history.replaceState(null, '', '#' + id);
    stream();
    renderFeeds();
  }

  // ---- session
  async function login(t) {
    token = t;
    try {
      await api('GET', 'nodes');
    } catch (e) {
      token = '';
      text($('#login-error'), e.status === 401 ? 'That token was refused.' : 'Cannot reach the admin API: ' + e.message);
      return;
    }
    sessionStorage.setItem('ringside-token', t);
    $('#login').hidden = true;
    $('#app').hidden = false;
    text($('#who'), 'signed in');
    await poll();
    if (!event) stream();
    setInterval(poll, 2000);
  }
  function logout(msg) {
    sessionStorage.removeItem('ringside-token');
    if (streamAbort) streamAbort.abort();
    token = '';
    location.hash = '';
    location.reload();
    if (msg) text($('#login-error'), msg);
  }

  $('#login-form').addEventListener('submit', (e) => { e.preventDefault(); login($('#token').value); });
  $('#logout').addEventListener('click', () => logout());
  $('#event').addEventListener('change', (e) => select(e.target.value));
  $('#f-state').addEventListener('submit', (e) => {
    e.preventDefault();
    const s = $('#state').value;
    act(`Switch event ${event} to ${s}`, 'POST', `events/${encodeURIComponent(event)}/state`, { state: s });
  });
  $('#f-purge').addEventListener('submit', (e) => {
    e.preventDefault();
    const p = $('#purge').value.trim();
    if (p) act(`Purge ${p} on every node`, 'POST', 'purge', p.endsWith('/') ? { prefix: p } : { key: p });
  });
  if (token) login(token);
})();
