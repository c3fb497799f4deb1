// heron-ui: a dependency-free single-page app over a Heron tracker's REST API
// (Heron 0.20.5 paths and JSON shapes). Every tracker call goes through the
// UI server's same-origin proxy at <base>/api/tracker/..., so the browser
// never needs CORS. Page URLs are Heron UI's, so old bookmarks keep working.
(function () {
  'use strict';

  const CFG = window.HERON_UI || { base: '' };
  const BASE = CFG.base || '';

  // ---------------------------------------------------------------- DOM helpers

  const SVGNS = 'http://www.w3.org/2000/svg';

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function appendKids(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k == null || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    appendKids(el, kids);
    return el;
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    appendKids(el, kids);
    return el;
  }
  function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }
  function replace(el, ...kids) { clear(el); appendKids(el, kids); return el; }
  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- tracker access

  class ApiError extends Error {
    constructor(status, message, url) { super(message); this.status = status; this.url = url; }
    // gone: the tracker no longer knows the topology (Heron 0.20.5 answers a
    // 500 "Topology not found for ..."; other trackers may send a 404).
    get gone() { return /topology not found|no topology found|unknown topology/i.test(this.message); }
    get unreachable() { return this.status === 0 || this.status === 502 || this.status === 504; }
  }

  function errorText(body, fallback) {
    if (typeof body === 'string' && body) return body.length > 600 ? body.slice(0, 600) + '…' : body;
    if (body && typeof body === 'object') {
      for (const k of ['detail', 'message', 'error']) {
        const d = body[k];
        if (typeof d === 'string' && d) return d;
        if (Array.isArray(d) && d.length) return d.map(x => (x.msg || JSON.stringify(x)) + (x.loc ? ' (' + x.loc.join('.') + ')' : '')).join('; ');
      }
    }
    return fallback || 'request failed';
  }

  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v == null || v === '') continue;
      if (Array.isArray(v)) v.forEach(x => u.append(k, x));
      else u.append(k, v);
    }
    const t = u.toString();
    return t ? '?' + t : '';
  }
  const trackerURL = (path, params) => BASE + '/api/tracker' + path + qs(params);

  async function getJSON(url) {
    let resp;
    try {
      resp = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'heron-ui server unreachable: ' + e.message, url);
    }
    const text = await resp.text();
    let body;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    if (!resp.ok) throw new ApiError(resp.status, errorText(body, resp.status + ' ' + resp.statusText), url);
    return body;
  }
  const tracker = (path, params) => getJSON(trackerURL(path, params));

  // ---------------------------------------------------------------- formatting

  function fmtNum(v, digits) {
    if (v == null || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(digits == null ? (a >= 100 ? 0 : a >= 1 ? 2 : 3) : digits);
  }
  function fmtBytes(b) {
    if (b == null) return '–';
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0; let v = Number(b);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : v) + ' ' + u[i];
  }
  function fmtTime(epoch) {
    if (!epoch || epoch === '-') return '–';
    return new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
  }
  function fmtAgo(epoch) {
    if (!epoch || epoch === '-') return '–';
    let d = Math.round(Date.now() / 1000 - Number(epoch));
    const future = d < 0; d = Math.abs(d);
    const u = d < 90 ? [d, 's'] : d < 5400 ? [Math.round(d / 60), 'min'] : d < 129600 ? [Math.round(d / 3600), 'h'] : [Math.round(d / 86400), 'd'];
    return future ? 'in ' + u[0] + ' ' + u[1] : u[0] + ' ' + u[1] + ' ago';
  }
  function fmtUptime(secs) {
    if (secs == null || Number.isNaN(secs)) return '–';
    secs = Math.floor(secs);
    const d = Math.floor(secs / 86400), hh = Math.floor(secs / 3600) % 24, mm = Math.floor(secs / 60) % 60, ss = secs % 60;
    const p = n => String(n).padStart(2, '0');
    return String(d).padStart(3, '0') + ':' + p(hh) + ':' + p(mm) + ':' + p(ss);
  }
  function hhmm(epoch) {
    const d = new Date(epoch * 1000);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  // ---------------------------------------------------------------- colours

  // 18 distinguishable component colours, soft enough to put text on.
  const PALETTE = ['#6fa8dc', '#f6b26b', '#93c47d', '#e06666', '#8e7cc3', '#c27ba0', '#76a5af', '#ffd966',
    '#a2c4c9', '#b6d7a8', '#f9cb9c', '#d5a6bd', '#9fc5e8', '#b4a7d6', '#ea9999', '#cfe2a8', '#ffe599', '#a4b8c4'];
  function componentColors(names) {
    const m = {};
    [...names].sort().forEach((n, i) => { m[n] = PALETTE[i % PALETTE.length]; });
    return m;
  }

  // Metrics the plan can be coloured and charted by. lo/med/hi are Heron
  // UI's thresholds; a metric without them is coloured relative to its max.
  const METRICS = [
    { key: 'capacity', label: 'Capacity', lo: 0.1, med: 0.5, hi: 1, fmt: v => fmtNum(v, 3) },
    { key: 'failures', label: 'Failures', lo: 0, med: 0.02, hi: 0.05, fmt: v => fmtNum(v * 100, 1) + '%' },
    { key: 'cpu', label: 'CPU', lo: 1, med: 1.5, hi: 2, fmt: v => fmtNum(v, 2) },
    { key: 'memory', label: 'Memory', lo: 0.7, med: 0.85, hi: 1, fmt: v => fmtNum(v * 100, 1) + '%' },
    { key: 'gc', label: 'GC', lo: 1000, med: 1500, hi: 2000, fmt: v => fmtNum(v) + ' ms' },
    { key: 'backpressure', label: 'Back pressure', lo: 3000, med: 12000, hi: 30000, fmt: v => fmtNum(v) + ' ms' },
    { key: 'emits', label: 'Emits/min', fmt: v => fmtNum(v) },
    { key: 'executes', label: 'Executes/min', fmt: v => fmtNum(v) },
  ];
  const METRIC = Object.fromEntries(METRICS.map(m => [m.key, m]));
  const WINDOWS = [
    { key: '3m', label: '3 min', secs: 180 },
    { key: '10m', label: '10 min', secs: 600 },
    { key: '1h', label: '1 hour', secs: 3600 },
    { key: '3h', label: '3 hours', secs: 10800 },
  ];
  const WINDOW = Object.fromEntries(WINDOWS.map(w => [w.key, w]));
  const NODATA = '#e4ebf2';

  function colorblind() { try { return localStorage.getItem('heron-ui.colors') === 'colorblind'; } catch (e) { return false; } }
  function scaleStops() { return colorblind() ? ['#2166ac', '#f7f7f7', '#b2182b'] : ['#1a9850', '#fdae61', '#d73027']; }
  function mix(a, b, t) {
    const pa = [1, 3, 5].map(i => parseInt(a.slice(i, i + 2), 16));
    const pb = [1, 3, 5].map(i => parseInt(b.slice(i, i + 2), 16));
    return '#' + pa.map((x, i) => Math.round(x + (pb[i] - x) * t).toString(16).padStart(2, '0')).join('');
  }
  // metricColor maps a value to the green–orange–red scale; relMax is used
  // for metrics without thresholds.
  function metricColor(metric, v, relMax) {
    if (v == null || Number.isNaN(v)) return NODATA;
    const m = METRIC[metric];
    const [c0, c1, c2] = scaleStops();
    let t;
    if (m.hi == null) {
      if (!relMax) return colorblind() ? '#f7f7f7' : '#d9efe0';
      return mix('#e8f1fa', '#1f5f8b', Math.min(1, v / relMax));
    }
    if (v <= m.lo) t = 0;
    else if (v >= m.hi) t = 1;
    else if (v < m.med) t = 0.5 * (v - m.lo) / (m.med - m.lo);
    else t = 0.5 + 0.5 * (v - m.med) / (m.hi - m.med);
    return t <= 0.5 ? mix(c0, c1, t * 2) : mix(c1, c2, (t - 0.5) * 2);
  }

  // ---------------------------------------------------------------- banner & errors

  function banner(kind, text) {
    const b = document.getElementById('banner');
    if (!text) { b.hidden = true; clear(b); return; }
    b.className = 'banner ' + kind;
    replace(b, text);
    b.hidden = false;
  }
  function errorBox(e, what) {
    const msg = e instanceof ApiError && e.unreachable ? e.message : (what ? what + ': ' : '') + (e.message || String(e));
    return h('div', { class: 'error-box' }, msg);
  }

  // ---------------------------------------------------------------- routing

  // A Page owns the timers of the current view; navigating away stops them.
  class Page {
    constructor(root) { this.root = root; this.timers = []; this.alive = true; }
    every(ms, fn) { const id = setInterval(() => { if (this.alive) fn(); }, ms); this.timers.push(id); return id; }
    later(ms, fn) { const id = setTimeout(() => { if (this.alive) fn(); }, ms); this.timers.push(id); return id; }
    stop() { this.alive = false; this.timers.forEach(id => { clearInterval(id); clearTimeout(id); }); }
  }
  let current = null;

  function navigate(url, replaceState) {
    history[replaceState ? 'replaceState' : 'pushState'](null, '', url);
    render();
  }
  document.addEventListener('click', ev => {
    const a = ev.target.closest && ev.target.closest('a[data-nav]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', render);

  function topoURL(t, rest) {
    return BASE + '/topologies/' + enc(t.cluster) + '/' + enc(t.environ) + '/' + enc(t.topology) + (rest || '');
  }
  function navLink(href, text, attrs) { return h('a', Object.assign({ href: href, 'data-nav': true }, attrs || {}), text); }
  function containerOf(instanceId) { const m = /^container_(\d+)_/.exec(instanceId || ''); return m ? m[1] : ''; }
  function componentOf(instanceId) {
    const parts = (instanceId || '').split('_');
    return parts.length >= 4 ? parts.slice(2, -1).join('_') : '';
  }
  function logPathOf(inst, id) {
    if (inst && inst.logfile) {
      const i = inst.logfile.indexOf('/file/');
      if (i >= 0) return decodeURIComponent(inst.logfile.slice(i + 6));
    }
    return 'log-files/' + id + '.log.0';
  }

  function render() {
    if (current) current.stop();
    const root = clear(document.getElementById('app'));
    banner();
    const rel = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
    let segs;
    try { segs = rel.split('/').filter(Boolean).map(decodeURIComponent); } catch (e) { segs = ['?']; }
    const q = new URLSearchParams(location.search);
    const page = current = new Page(root);
    document.getElementById('tracker-info').textContent = 'tracker ' + (CFG.tracker || '');
    const fail = e => { if (page.alive) { root.append(errorBox(e)); console.error(e); } };
    try {
      const p = dispatch(segs, q, page);
      if (p && p.catch) p.catch(fail);
    } catch (e) { fail(e); }
  }

  function dispatch(segs, q, page) {
    const n = segs.length;
    if (segs[0] !== 'topologies') return notFoundPage(page);
    if (n === 1) return listPage(page, q);
    if (segs[1] === 'filestats' && n === 7 && segs[6] === 'file') {
      return containerPage(page, { cluster: segs[2], environ: segs[3], topology: segs[4] }, segs[5], q.get('path') || '.');
    }
    const t = { cluster: segs[1], environ: segs[2], topology: segs[3] };
    if (n === 4) return topologyPage(page, t, q);
    if (n === 5 && segs[4] === 'config') return topologyPage(page, t, q, 'config');
    if (n === 6) {
      if (segs[4] === 'containers') return containerPage(page, t, segs[5], q.get('path') || '.');
      if (segs[4] === 'instances') return instancePage(page, t, segs[5], q.get('report'));
      if (segs[5] === 'file') return logPage(page, t, segs[4], q.get('path') || '');
      if (['pid', 'jstack', 'jmap', 'histo'].includes(segs[5])) return instancePage(page, t, segs[4], segs[5]);
    }
    if (n === 7 && segs[6] === 'exceptions') return exceptionsPage(page, t, segs[4], segs[5]);
    return notFoundPage(page);
  }

  function notFoundPage(page) {
    document.title = 'Not found · Heron UI';
    page.root.append(h('h1', null, 'Page not found'),
      h('p', null, 'heron-ui has no page at ', h('code', null, location.pathname), '. ', navLink(BASE + '/topologies', 'Show all topologies'), '.'));
  }

  // ---------------------------------------------------------------- topology list

  async function loadTopologyRows() {
    const [clusters, states, names] = await Promise.all([
      tracker('/clusters').catch(() => []),
      tracker('/topologies/states'),
      tracker('/topologies').catch(() => ({})),
    ]);
    const rows = new Map();
    for (const [c, envs] of Object.entries(states || {})) {
      for (const [e, topos] of Object.entries(envs || {})) {
        for (const [name, es] of Object.entries(topos || {})) {
          if (!es) continue;
          const r = {
            name: es.jobname || name, cluster: es.cluster || c, environ: es.environ || e, role: es.role || '',
            status: es.status || 'Unknown', instances: es.instances, version: es.release_version || '',
            user: es.submission_user || '', submitted: es.submission_time || 0, links: es.extra_links || [],
            hasPplan: es.has_physical_plan, hasTmanager: es.has_tmanager_location,
          };
          rows.set(r.cluster + '/' + r.environ + '/' + r.name, r);
        }
      }
    }
    // /topologies/states leaves out topologies without a role or info yet;
    // /topologies lists them, so they are shown too.
    for (const [c, roles] of Object.entries(names || {})) {
      for (const [role, envs] of Object.entries(roles || {})) {
        for (const [e, list] of Object.entries(envs || {})) {
          for (const name of list || []) {
            const k = c + '/' + e + '/' + name;
            if (!rows.has(k)) rows.set(k, { name, cluster: c, environ: e, role: role === 'null' ? '' : role, status: 'Unknown', links: [], submitted: 0 });
          }
        }
      }
    }
    return { clusters: Array.isArray(clusters) ? clusters : [], rows: [...rows.values()] };
  }

  function rowClass(r) {
    const young = r.submitted && Date.now() / 1000 - r.submitted < 300;
    if ((!r.hasTmanager || !r.hasPplan) && young) return 'starting';
    if (r.hasTmanager === false) return 'dead';
    if (r.hasPplan === false) return 'weird';
    return 'normal';
  }

  async function listPage(page, q) {
    document.title = 'Topologies · Heron UI';
    const st = {
      cluster: q.get('cluster') || '', environ: q.get('environ') || '', role: q.get('role') || '',
      status: q.get('status') || '', text: q.get('q') || '', sort: q.get('sort') || 'name', desc: q.get('order') === 'desc',
      rows: [], clusters: [],
    };
    const cols = [
      { key: 'name', label: 'Name' }, { key: 'status', label: 'Status' }, { key: 'cluster', label: 'Cluster' },
      { key: 'environ', label: 'Environ' }, { key: 'role', label: 'Role' }, { key: 'instances', label: 'Instances', num: true },
      { key: 'version', label: 'Version' }, { key: 'user', label: 'Submitted by' }, { key: 'submitted', label: 'Launched' },
      { key: 'links', label: 'Links', nosort: true },
    ];
    const selects = {};
    const mkSelect = (key, label) => {
      const sel = h('select', { id: 'f-' + key, onchange: () => { st[key] = sel.value; update(); } });
      selects[key] = sel;
      return h('label', null, label, sel);
    };
    const search = h('input', { type: 'search', id: 'filter', placeholder: 'Filter: words that must all match', value: st.text, oninput: () => { st.text = search.value; update(); } });
    const count = h('span', { id: 'list-count', class: 'muted' });
    const thead = h('tr');
    const tbody = h('tbody');
    const status = h('div');
    page.root.append(
      h('h1', null, 'Topologies'),
      h('div', { class: 'controls' }, search, mkSelect('cluster', 'Cluster'), mkSelect('environ', 'Environ'),
        mkSelect('role', 'Role'), mkSelect('status', 'Status'), count),
      status,
      h('table', { id: 'topologies' }, h('thead', null, thead), tbody));

    for (const c of cols) {
      const th = h('th', { class: (c.nosort ? '' : 'sortable') + (c.num ? ' num' : ''), 'data-key': c.key }, c.label);
      if (!c.nosort) th.addEventListener('click', () => { if (st.sort === c.key) st.desc = !st.desc; else { st.sort = c.key; st.desc = false; } update(); });
      thead.append(th);
    }

    function fillSelect(key, values) {
      const sel = selects[key];
      const want = st[key];
      const opts = ['', ...[...new Set(values.filter(Boolean))].sort()];
      if (want && !opts.includes(want)) opts.push(want);
      replace(sel, opts.map(v => h('option', { value: v, selected: v === want }, v || 'all')));
    }

    function update() {
      const p = new URLSearchParams();
      if (st.cluster) p.set('cluster', st.cluster);
      if (st.environ) p.set('environ', st.environ);
      if (st.role) p.set('role', st.role);
      if (st.status) p.set('status', st.status);
      if (st.text) p.set('q', st.text);
      if (st.sort !== 'name') p.set('sort', st.sort);
      if (st.desc) p.set('order', 'desc');
      const u = location.pathname + (p.toString() ? '?' + p : '');
      if (u !== location.pathname + location.search) history.replaceState(null, '', u);
      fillSelect('cluster', st.clusters.concat(st.rows.map(r => r.cluster)));
      fillSelect('environ', st.rows.map(r => r.environ));
      fillSelect('role', st.rows.map(r => r.role));
      fillSelect('status', st.rows.map(r => r.status));
      for (const th of thead.children) {
        th.classList.toggle('sorted-asc', th.dataset.key === st.sort && !st.desc);
        th.classList.toggle('sorted-desc', th.dataset.key === st.sort && st.desc);
      }
      const terms = st.text.toLowerCase().split(/\s+/).filter(Boolean);
      let rows = st.rows.filter(r =>
        (!st.cluster || r.cluster === st.cluster) && (!st.environ || r.environ === st.environ) &&
        (!st.role || r.role === st.role) && (!st.status || r.status === st.status) &&
        terms.every(t => [r.name, r.cluster, r.environ, r.role, r.status, r.version, r.user].some(f => String(f || '').toLowerCase().includes(t))));
      const k = st.sort;
      rows.sort((a, b) => {
        const x = a[k] == null ? '' : a[k], y = b[k] == null ? '' : b[k];
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return (st.desc ? -c : c) || a.name.localeCompare(b.name);
      });
      replace(tbody, rows.map(r => h('tr', { class: 'topology-row ' + rowClass(r), 'data-name': r.name, 'data-cluster': r.cluster, 'data-environ': r.environ },
        h('td', null, navLink(topoURL({ cluster: r.cluster, environ: r.environ, topology: r.name }), r.name, { class: 'topology-link' })),
        h('td', null, h('span', { class: 'badge ' + r.status }, r.status)),
        h('td', null, r.cluster), h('td', null, r.environ), h('td', null, r.role || '–'),
        h('td', { class: 'num' }, r.instances == null ? '–' : r.instances),
        h('td', null, r.version || '–'), h('td', null, r.user || '–'),
        h('td', { title: fmtTime(r.submitted) }, fmtAgo(r.submitted)),
        h('td', null, h('div', { class: 'links' }, (r.links || []).filter(l => l.url).map(l => h('a', { class: 'button', href: l.url, target: '_blank', rel: 'noopener' }, l.name))))),
      ));
      if (!rows.length) tbody.append(h('tr', null, h('td', { colspan: cols.length, class: 'muted' }, st.rows.length ? 'No topology matches the filters.' : 'The tracker knows no topology.')));
      count.textContent = rows.length + ' of ' + st.rows.length + ' topologies';
    }

    async function load() {
      try {
        const d = await loadTopologyRows();
        if (!page.alive) return;
        st.rows = d.rows; st.clusters = d.clusters;
        clear(status);
        update();
      } catch (e) {
        if (page.alive) replace(status, errorBox(e, 'Cannot list topologies'));
      }
    }
    update();
    await load();
    page.every(10000, load);
  }

  // ---------------------------------------------------------------- logical plan DAG

  // buildGraph turns a tracker logical plan into nodes and one edge per
  // input stream of every bolt.
  function buildGraph(lp) {
    const nodes = [];
    for (const [name, sp] of Object.entries(lp.spouts || {})) nodes.push({ name, kind: 'spout', spec: sp });
    for (const [name, b] of Object.entries(lp.bolts || {})) nodes.push({ name, kind: 'bolt', spec: b });
    const byName = Object.fromEntries(nodes.map(n => [n.name, n]));
    const edges = [];
    for (const [name, b] of Object.entries(lp.bolts || {})) {
      const inputs = b.inputs && b.inputs.length ? b.inputs
        : (b.inputComponents || []).map(c => ({ component_name: c, stream_name: 'default', grouping: '' }));
      for (const i of inputs) {
        if (!byName[i.component_name]) continue;
        edges.push({ from: i.component_name, to: name, stream: i.stream_name || 'default', grouping: (i.grouping || 'SHUFFLE').toUpperCase() });
      }
    }
    return { nodes, edges, byName };
  }

  // layoutDAG places nodes in layers by longest path from the sources,
  // splits long edges with virtual nodes, orders each layer by repeated
  // barycentre sweeps keeping the ordering with the fewest crossings, and
  // returns coordinates.
  function layoutDAG(g, opt) {
    const colGap = opt.colGap, rowGap = opt.rowGap, padX = opt.padX, padY = opt.padY;
    const names = g.nodes.map(n => n.name);
    const succ = new Map(names.map(n => [n, []]));
    const indeg = new Map(names.map(n => [n, 0]));
    for (const e of g.edges) {
      if (e.from === e.to) continue;
      succ.get(e.from).push(e.to);
      indeg.set(e.to, indeg.get(e.to) + 1);
    }
    // Longest-path layering over a topological order (Kahn). Nodes on a
    // cycle never reach in-degree 0; they go one layer past their deepest
    // placed predecessor so the drawing still shows them.
    const layer = new Map(names.map(n => [n, 0]));
    const queue = names.filter(n => indeg.get(n) === 0);
    const seen = new Set();
    while (queue.length) {
      const u = queue.shift();
      seen.add(u);
      for (const v of succ.get(u)) {
        layer.set(v, Math.max(layer.get(v), layer.get(u) + 1));
        indeg.set(v, indeg.get(v) - 1);
        if (indeg.get(v) === 0) queue.push(v);
      }
    }
    for (const n of names) if (!seen.has(n)) layer.set(n, Math.max(layer.get(n), 1));

    // Layers hold real and virtual nodes; each drawn edge is a chain of
    // points through consecutive layers.
    const L = Math.max(0, ...layer.values()) + 1;
    const layers = Array.from({ length: L }, () => []);
    const vnode = new Map(); // id -> {id, layer, virtual}
    const addNode = (id, l, virtual) => { const n = { id, layer: l, virtual }; vnode.set(id, n); layers[l].push(n); return n; };
    // Initial order: depth-first from sources, so connected nodes start near each other.
    const order = [];
    const visited = new Set();
    const dfs = u => { if (visited.has(u)) return; visited.add(u); order.push(u); for (const v of succ.get(u)) dfs(v); };
    names.filter(n => layer.get(n) === 0).forEach(dfs);
    names.forEach(dfs);
    order.forEach(n => addNode(n, layer.get(n), false));
    const chains = [];
    const links = []; // [upperId, lowerId] between adjacent layers
    g.edges.forEach((e, idx) => {
      let a = layer.get(e.from), b = layer.get(e.to);
      const ids = [e.from];
      if (b > a) {
        for (let l = a + 1; l < b; l++) { const id = '\u0000v' + idx + '_' + l; addNode(id, l, true); ids.push(id); }
      }
      ids.push(e.to);
      if (b > a) for (let i = 0; i + 1 < ids.length; i++) links.push([ids[i], ids[i + 1]]);
      chains.push(ids);
    });
    const up = new Map(), down = new Map();
    for (const n of vnode.keys()) { up.set(n, []); down.set(n, []); }
    for (const [a, b] of links) { down.get(a).push(b); up.get(b).push(a); }

    const pos = new Map();
    const index = () => layers.forEach(ls => ls.forEach((n, i) => pos.set(n.id, i)));
    const crossings = () => {
      let c = 0;
      for (let l = 0; l + 1 < L; l++) {
        const es = [];
        for (const n of layers[l]) for (const m of down.get(n.id)) es.push([pos.get(n.id), pos.get(m)]);
        for (let i = 0; i < es.length; i++) for (let j = i + 1; j < es.length; j++) {
          if ((es[i][0] - es[j][0]) * (es[i][1] - es[j][1]) < 0) c++;
        }
      }
      return c;
    };
    const sweep = (l, nb) => {
      const ls = layers[l];
      const bary = new Map();
      ls.forEach((n, i) => {
        const ns = nb.get(n.id);
        bary.set(n.id, ns.length ? ns.reduce((a, m) => a + pos.get(m), 0) / ns.length : i);
      });
      ls.sort((x, y) => bary.get(x.id) - bary.get(y.id) || pos.get(x.id) - pos.get(y.id));
      ls.forEach((n, i) => pos.set(n.id, i));
    };
    index();
    let best = crossings();
    let bestOrder = layers.map(ls => ls.slice());
    for (let it = 0; it < 24 && best > 0; it++) {
      if (it % 2 === 0) for (let l = 1; l < L; l++) sweep(l, up);
      else for (let l = L - 2; l >= 0; l--) sweep(l, down);
      const c = crossings();
      if (c < best) { best = c; bestOrder = layers.map(ls => ls.slice()); }
    }
    bestOrder.forEach((ls, l) => { layers[l] = ls; });
    index();

    // Coordinates: layers left to right; each layer centred vertically.
    const maxN = Math.max(1, ...layers.map(ls => ls.length));
    const xy = new Map();
    layers.forEach((ls, l) => {
      const off = (maxN - ls.length) / 2;
      ls.forEach((n, i) => xy.set(n.id, { x: padX + l * colGap, y: padY + (off + i) * rowGap }));
    });
    return {
      xy, chains, crossings: best, layers: L,
      width: padX * 2 + (L - 1) * colGap, height: padY * 2 + (maxN - 1) * rowGap,
    };
  }

  function groupingClass(g) { return 'g-' + String(g || 'shuffle').toLowerCase(); }
  const GROUPINGS = ['SHUFFLE', 'FIELDS', 'ALL', 'LOWEST', 'NONE', 'DIRECT', 'CUSTOM'];
  const GROUPING_NAMES = { LOWEST: 'global (lowest)' };

  // drawDAG renders the logical plan; onPick(component) on click.
  function drawDAG(lp, colors, onPick) {
    const g = buildGraph(lp);
    const longest = Math.max(8, ...g.nodes.map(n => n.name.length));
    const lay = layoutDAG(g, { colGap: Math.min(260, Math.max(170, longest * 7 + 50)), rowGap: 70, padX: 70, padY: 46 });
    const svg = s('svg', { id: 'dag', width: Math.max(lay.width, 300), height: Math.max(lay.height, 120), 'data-crossings': lay.crossings, role: 'img', 'aria-label': 'Logical plan' });
    const defs = s('defs');
    const markerColors = { shuffle: '#8a96a3', fields: '#2f7fc1', all: '#d35400', lowest: '#8e44ad', none: '#aab4be', direct: '#16a085', custom: '#7f8c8d' };
    for (const [k, c] of Object.entries(markerColors)) {
      defs.append(s('marker', { id: 'arrow-' + k, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', fill: c })));
    }
    svg.append(defs);
    const edgeLayer = s('g', { class: 'edges' });
    const labelLayer = s('g', { class: 'edge-labels' });
    const nodeLayer = s('g', { class: 'nodes' });
    svg.append(edgeLayer, labelLayer, nodeLayer);
    const R = 15;
    // Several streams between the same two components are fanned out.
    const pairCount = {}, pairSeen = {};
    g.edges.forEach(e => { const k = e.from + '\u0000' + e.to; pairCount[k] = (pairCount[k] || 0) + 1; });
    g.edges.forEach((e, i) => {
      const k = e.from + '\u0000' + e.to;
      const j = pairSeen[k] = (pairSeen[k] || 0) + 1;
      const fan = (j - (pairCount[k] + 1) / 2) * 9;
      const pts = lay.chains[i].map(id => lay.xy.get(id));
      let d;
      if (e.from === e.to || pts.length < 2 || pts[pts.length - 1].x <= pts[0].x) {
        // Self loop or backward edge (a cycle): an arc above the nodes.
        const a = pts[0], b = pts[pts.length - 1];
        const lift = 40 + Math.abs(fan) * 2 + Math.abs(b.x - a.x) / 4;
        d = `M${a.x},${a.y - R} C${a.x + 40},${a.y - R - lift} ${b.x - 40},${b.y - R - lift} ${b.x},${b.y - R - 2}`;
      } else {
        d = `M${pts[0].x + R},${pts[0].y + fan}`;
        for (let p = 1; p < pts.length; p++) {
          const a = pts[p - 1], b = pts[p];
          const ax = p === 1 ? a.x + R : a.x, bx = p === pts.length - 1 ? b.x - R - 3 : b.x;
          const mx = (ax + bx) / 2;
          d += ` C${mx},${a.y + fan} ${mx},${b.y + fan} ${bx},${b.y + fan}`;
        }
      }
      const gc = groupingClass(e.grouping);
      const label = (e.stream !== 'default' ? e.stream + ' · ' : '') + (GROUPING_NAMES[e.grouping] || e.grouping.toLowerCase());
      const path = s('path', {
        class: 'dag-edge ' + gc, d, 'marker-end': 'url(#arrow-' + gc.slice(2) + ')',
        'data-from': e.from, 'data-to': e.to, 'data-stream': e.stream, 'data-grouping': e.grouping,
      }, s('title', null, `${e.from} → ${e.to}\nstream ${e.stream}, ${e.grouping} grouping`));
      edgeLayer.append(path);
      if (pts.length >= 2) {
        const a = pts[0], b = pts[1];
        labelLayer.append(s('text', { class: 'edge-label', x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 + fan - 5, 'text-anchor': 'middle' }, label));
      }
    });
    for (const n of g.nodes) {
      const p = lay.xy.get(n.name);
      const par = (n.spec.config || {})['topology.component.parallelism'];
      const shortName = n.name.length > 26 ? n.name.slice(0, 24) + '…' : n.name;
      const node = s('g', { class: 'dag-node ' + n.kind, 'data-component': n.name, transform: `translate(${p.x},${p.y})`, tabindex: 0 },
        s('title', null, `${n.kind} ${n.name}` + (par ? `, parallelism ${par}` : '')),
        n.kind === 'spout'
          ? s('rect', { class: 'ring', x: -R - 2, y: -R - 2, width: 2 * R + 4, height: 2 * R + 4, rx: 6, fill: '#fff', stroke: NODATA })
          : s('circle', { class: 'ring', r: R + 2, fill: '#fff', stroke: NODATA }),
        n.kind === 'spout'
          ? s('rect', { class: 'core', x: -R + 3, y: -R + 3, width: 2 * R - 6, height: 2 * R - 6, rx: 4, fill: colors[n.name] })
          : s('circle', { class: 'core', r: R - 3, fill: colors[n.name] }),
        s('text', { y: -R - 8, 'text-anchor': 'middle' }, shortName),
        par ? s('text', { class: 'par', y: R + 16, 'text-anchor': 'middle' }, '×' + par) : null);
      node.addEventListener('click', () => onPick(n.name));
      node.addEventListener('keydown', ev => { if (ev.key === 'Enter') onPick(n.name); });
      node.addEventListener('mouseenter', () => highlight(svg, n.name));
      node.addEventListener('mouseleave', () => highlight(svg, null));
      nodeLayer.append(node);
    }
    const used = [...new Set(g.edges.map(e => e.grouping))];
    const legend = h('div', { class: 'legend' },
      h('span', null, '■ spout   ● bolt'),
      GROUPINGS.filter(x => used.includes(x)).map(x => h('span', null,
        (() => { const sv = s('svg', { width: 34, height: 10 }, s('line', { class: 'edge-sample ' + groupingClass(x), x1: 0, y1: 5, x2: 34, y2: 5 })); return sv; })(),
        ' ' + (GROUPING_NAMES[x] || x.toLowerCase()))),
      h('span', { id: 'dag-counts' }, g.nodes.length + ' components, ' + g.edges.length + ' streams'));
    return { svg, legend, graph: g };
  }

  function highlight(svg, name) {
    svg.querySelectorAll('.dag-edge').forEach(e => e.classList.toggle('dim', !!name && e.dataset.from !== name && e.dataset.to !== name));
    const near = new Set([name]);
    if (name) svg.querySelectorAll('.dag-edge').forEach(e => { if (e.dataset.from === name) near.add(e.dataset.to); if (e.dataset.to === name) near.add(e.dataset.from); });
    svg.querySelectorAll('.dag-node').forEach(n => n.classList.toggle('dim', !!name && !near.has(n.dataset.component)));
  }

  // ---------------------------------------------------------------- metrics timelines

  function quantile(sorted, p) {
    if (!sorted.length) return null;
    const i = (sorted.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
  }

  // Timelines fetches and caches 3 hours of per-instance data per metric
  // from the UI server's /topologies/metrics/timeline (Heron UI's endpoint).
  class Timelines {
    constructor(t) { this.t = t; this.cache = {}; this.inflight = {}; }
    async get(metric, force) {
      const c = this.cache[metric];
      if (c && !force && Date.now() - c.at < 55000) return c;
      if (this.inflight[metric]) return this.inflight[metric];
      const end = Math.floor(Date.now() / 60000) * 60;
      const start = end - 10800;
      const url = BASE + '/topologies/metrics/timeline' + qs({
        cluster: this.t.cluster, environ: this.t.environ, topology: this.t.topology,
        metric, component: '*', instance: '*', starttime: start, endtime: end,
      });
      const p = getJSON(url).then(body => {
        const series = (body.result && body.result.timeline) || [];
        const byInstance = {};
        for (const sr of series) {
          if (!sr.instance) continue;
          // The minute still being filled is left out: the topology
          // manager answers 0 (or a partial value) for it.
          const pts = Object.entries(sr.data || {}).map(([k, v]) => [Number(k), Number(v)])
            .filter(x => !Number.isNaN(x[1]) && x[0] < end).sort((a, b) => a[0] - b[0]);
          byInstance[sr.instance] = (byInstance[sr.instance] || []).concat(pts);
        }
        const r = { at: Date.now(), byInstance, error: null };
        this.cache[metric] = r;
        return r;
      }, e => {
        const r = { at: Date.now(), byInstance: {}, error: e };
        this.cache[metric] = r;
        return r;
      }).finally(() => { delete this.inflight[metric]; });
      this.inflight[metric] = p;
      return p;
    }
    // value is Heron UI's per-instance figure: the 90th percentile of the
    // minutes inside the window.
    static value(pts, windowSecs) {
      if (!pts || !pts.length) return null;
      const from = Date.now() / 1000 - windowSecs;
      const vals = pts.filter(p => p[0] >= from).map(p => p[1]).sort((a, b) => a - b);
      return quantile(vals, 0.9);
    }
  }

  // ---------------------------------------------------------------- SVG charts

  // lineChart draws series [{name, color, points:[[t,v]]}] over [from,to].
  function lineChart(series, from, to, fmt) {
    const W = 460, H = 150, L = 56, R = 10, T = 8, B = 20;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet' });
    const pts = series.flatMap(sr => sr.points.filter(p => p[0] >= from && p[0] <= to));
    let max = Math.max(0, ...pts.map(p => p[1]));
    const min = Math.min(0, ...pts.map(p => p[1])) * 1.08;
    if (max <= 0 && min >= 0) max = 1;
    max *= 1.08;
    const x = t => L + (W - L - R) * (t - from) / Math.max(1, to - from);
    const y = v => T + (H - T - B) * (1 - (v - min) / (max - min));
    for (let i = 0; i <= 4; i++) {
      const v = min + (max - min) * i / 4;
      svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, fmt(v)));
    }
    const span = to - from;
    const step = span <= 600 ? 60 : span <= 3600 ? 600 : 1800;
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      svg.append(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: T, y2: H - B }),
        s('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' }, hhmm(t)));
    }
    svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: y(0), y2: y(0) }), s('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    if (!pts.length) {
      svg.append(s('text', { x: (L + W) / 2, y: H / 2, 'text-anchor': 'middle', style: 'font-size:13px' }, 'no data in this window'));
      return svg;
    }
    for (const sr of series) {
      const p = sr.points.filter(q => q[0] >= from && q[0] <= to);
      if (!p.length) continue;
      const g = s('g', { class: 'series', 'data-name': sr.name });
      g.append(s('title', null, sr.name));
      g.append(s('polyline', { class: 'line', stroke: sr.color, points: p.map(q => x(q[0]).toFixed(1) + ',' + y(q[1]).toFixed(1)).join(' ') }));
      if (p.length < 30) p.forEach(q => g.append(s('circle', { cx: x(q[0]), cy: y(q[1]), r: 2.5, fill: sr.color }, s('title', null, `${sr.name} ${hhmm(q[0])}: ${fmt(q[1])}`))));
      svg.append(g);
    }
    return svg;
  }

  // ---------------------------------------------------------------- topology page

  async function loadTopology(t) {
    const p = { cluster: t.cluster, environ: t.environ, topology: t.topology };
    const [es, lp, pp, pk] = await Promise.all([
      tracker('/topologies/executionstate', p),
      tracker('/topologies/logicalplan', p),
      tracker('/topologies/physicalplan', p),
      tracker('/topologies/packingplan', p).catch(() => ({ container_plans: [] })),
    ]);
    return { es, lp, pp, pk };
  }

  function containerIndex(stmgrId) { const m = /(\d+)$/.exec(stmgrId || ''); return m ? Number(m[1]) : 0; }
  function instancesOf(pp, component) {
    return Object.values(pp.instances || {}).filter(i => !component || i.name === component).map(i => i.id);
  }

  async function topologyPage(page, t, q, forcedTab) {
    document.title = t.topology + ' · Heron UI';
    const params = { cluster: t.cluster, environ: t.environ, topology: t.topology };
    const st = {
      metric: METRIC[q.get('metric')] ? q.get('metric') : 'capacity',
      window: WINDOW[q.get('window')] ? q.get('window') : '10m',
      tab: forcedTab || q.get('tab') || 'stats',
      focus: parseFocus(),
      gone: false,
    };
    const timelines = new Timelines(t);
    const root = page.root;
    const header = h('section', { id: 'topo-header', class: 'card' }, h('div', { class: 'loading' }, 'Loading ' + t.topology + '…'));
    const goneBox = h('div', { id: 'topology-gone', class: 'gone', hidden: true });
    root.append(h('div', { class: 'breadcrumbs' }, navLink(BASE + '/topologies', 'Topologies'), h('span', { class: 'sep' }, '/'),
      h('span', null, t.cluster + ' / ' + t.environ + ' / ' + t.topology)), goneBox, header);

    let data;
    try {
      data = await loadTopology(t);
    } catch (e) {
      if (!page.alive) return;
      if (e instanceof ApiError && e.gone) { showGone(e); replace(header, errorBox(e)); watchGone(); return; }
      replace(header, errorBox(e, 'Cannot load topology ' + t.topology));
      return;
    }
    if (!page.alive) return;
    const colors = componentColors([...Object.keys(data.lp.spouts || {}), ...Object.keys(data.lp.bolts || {})]);

    // Toolbar: metric and window for colouring the plans.
    const metricBtns = h('div', { class: 'btn-group', id: 'metric-select' }, METRICS.map(m =>
      h('button', { type: 'button', 'data-metric': m.key, onclick: () => { st.metric = m.key; syncURL(); paintPlans(false); } }, m.label)));
    const windowBtns = h('div', { class: 'btn-group', id: 'window-select' }, WINDOWS.map(w =>
      h('button', { type: 'button', 'data-window': w.key, onclick: () => { st.window = w.key; syncURL(); paintPlans(false); renderTab(); } }, w.label)));
    const cbToggle = h('label', { class: 'small muted' }, h('input', { type: 'checkbox', id: 'colorblind', checked: colorblind(), onchange: ev => { try { localStorage.setItem('heron-ui.colors', ev.target.checked ? 'colorblind' : ''); } catch (e) { /* private mode */ } paintPlans(false); } }), ' colour-blind palette');
    const refreshBtn = h('button', { type: 'button', id: 'refresh', onclick: () => refreshAll(true) }, 'Refresh');
    const lpBox = h('div', { id: 'logical-plan', class: 'card' });
    const ppBox = h('div', { id: 'physical-plan', class: 'card' });
    const summaryBox = h('div', { id: 'summary-box', class: 'card' });
    const focusBar = h('div', { id: 'focus', class: 'focusbar' });
    const tabs = h('div', { class: 'tabs', role: 'tablist' });
    const panel = h('div', { class: 'tabpanel', id: 'tabpanel' });
    const TABS = [['stats', 'Stats'], ['counters', 'Counters'], ['config', 'Config'], ['exceptions', 'Exceptions']];
    TABS.forEach(([k, label]) => tabs.append(h('button', { type: 'button', role: 'tab', 'data-tab': k, onclick: () => { st.tab = k; syncURL(); renderTab(); } }, label)));
    const body = h('div', { id: 'topology-body' },
      h('div', { class: 'plan-toolbar' }, h('strong', null, 'Colour by'), metricBtns, h('strong', null, 'over'), windowBtns, refreshBtn, cbToggle),
      h('div', { class: 'plan-area' }, lpBox, ppBox),
      summaryBox, focusBar, tabs, panel);
    root.append(body);

    function parseFocus() {
      const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(x => { try { return decodeURIComponent(x); } catch (e) { return x; } });
      return { component: parts[0] || '', instance: parts[1] || '' };
    }
    function syncURL() {
      const p = new URLSearchParams();
      if (st.tab !== 'stats') p.set('tab', st.tab);
      if (st.metric !== 'capacity') p.set('metric', st.metric);
      if (st.window !== '10m') p.set('window', st.window);
      const hash = st.focus.component ? '#/' + enc(st.focus.component) + (st.focus.instance ? '/' + enc(st.focus.instance) : '') : '';
      const path = forcedTab === 'config' && st.tab !== 'config' ? topoURL(t) : location.pathname;
      history.replaceState(null, '', path + (p.toString() ? '?' + p : '') + hash);
      metricBtns.querySelectorAll('button').forEach(b => b.classList.toggle('active', b.dataset.metric === st.metric));
      windowBtns.querySelectorAll('button').forEach(b => b.classList.toggle('active', b.dataset.window === st.window));
      tabs.querySelectorAll('button').forEach(b => b.classList.toggle('active', b.dataset.tab === st.tab));
    }
    function setFocus(component, instance) {
      if (st.focus.component === component && st.focus.instance === (instance || '') && !instance) component = '';
      st.focus = { component: component || '', instance: instance || '' };
      syncURL();
      paintFocus();
      renderTab();
    }
    window.addEventListener('hashchange', onHash);
    const origStop = page.stop.bind(page);
    page.stop = () => { window.removeEventListener('hashchange', onHash); origStop(); };
    function onHash() { if (!page.alive) return; const f = parseFocus(); if (f.component !== st.focus.component || f.instance !== st.focus.instance) { st.focus = f; paintFocus(); renderTab(); } }

    // ---- header
    function renderHeader(sl, rs) {
      const es = data.es;
      const status = st.gone ? 'Gone' : (es.status || 'Unknown');
      const links = [];
      if (sl && sl.job_page_link) links.push(h('a', { class: 'button', href: sl.job_page_link, target: '_blank', rel: 'noopener', id: 'job-page' }, 'Job page'));
      for (const l of es.extra_links || []) if (l.url) links.push(h('a', { class: 'button extra-link', href: l.url, target: '_blank', rel: 'noopener' }, l.name));
      links.push(navLink(topoURL(t, '/All/All/exceptions'), 'All exceptions', { class: 'button' }));
      let registered = null;
      if (rs && rs.stmgrs) {
        const all = Object.values(rs.stmgrs);
        registered = all.filter(x => x.is_registered).length + ' / ' + all.length;
      }
      replace(header,
        h('h1', null, t.topology, h('span', { class: 'badge ' + status, id: 'topology-status' }, status)),
        h('dl', { class: 'facts' },
          [['Cluster', es.cluster || t.cluster], ['Environ', es.environ || t.environ], ['Role', es.role || '–'],
            ['Instances', es.instances != null ? es.instances : Object.keys(data.pp.instances || {}).length],
            ['Containers', Object.keys(data.pp.stmgrs || {}).length + (registered ? ' (registered ' + registered + ')' : '')],
            ['Stages', data.lp.stages != null ? data.lp.stages : '–'],
            ['Version', es.release_version || '–'], ['Submitted by', es.submission_user || '–'],
            ['Launched', fmtTime(es.submission_time) + ' (' + fmtAgo(es.submission_time) + ')'],
            ['Topology id', (data.pk && data.pk.id) || '–']].map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, String(v))))),
        h('div', { class: 'links' }, links));
    }
    renderHeader(null, null);
    tracker('/topologies/schedulerlocation', params).then(sl => { st.sl = sl; if (page.alive) renderHeader(sl, st.rs); }, () => {});
    tracker('/topologies/runtimestate', params).then(rs => { st.rs = rs; if (page.alive) renderHeader(st.sl, rs); }, () => {});

    // ---- logical plan
    let dag;
    function renderDAG() {
      dag = drawDAG(data.lp, colors, name => setFocus(name));
      replace(lpBox, h('h2', { style: 'margin-top:0' }, 'Logical plan'), dag.svg, dag.legend);
    }

    // ---- physical plan
    function renderPP() {
      const pp = data.pp;
      const stmgrs = Object.values(pp.stmgrs || {}).sort((a, b) => containerIndex(a.id) - containerIndex(b.id));
      const plans = {};
      for (const cp of (data.pk && data.pk.container_plans) || []) plans[cp.id] = cp;
      const byStmgr = {};
      for (const inst of Object.values(pp.instances || {})) (byStmgr[inst.stmgr_id || inst.stmgrId] = byStmgr[inst.stmgr_id || inst.stmgrId] || []).push(inst);
      const maxPer = Math.max(1, ...Object.values(byStmgr).map(l => l.length));
      const cols = Math.ceil(Math.sqrt(maxPer));
      const boxes = stmgrs.map(sm => {
        const n = containerIndex(sm.id);
        const cp = plans[n];
        const insts = (byStmgr[sm.id] || []).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id, undefined, { numeric: true }));
        const res = cp && cp.required_resources ? `required cpu ${fmtNum(cp.required_resources.cpu)}, ram ${fmtBytes(cp.required_resources.ram)}, disk ${fmtBytes(cp.required_resources.disk)}` : '';
        return h('div', { class: 'pp-container', 'data-container': sm.id, title: `${sm.id} on ${sm.host}:${sm.port}` + (res ? '\n' + res : '') },
          h('div', { class: 'head' }, navLink(topoURL(t, '/containers/' + n), 'container ' + n, { class: 'container-link' }), h('span', { class: 'muted' }, sm.host || '')),
          h('div', { class: 'pp-grid', style: { gridTemplateColumns: `repeat(${cols}, 22px)` } }, insts.map(inst => {
            let tip = inst.id + ' (' + inst.name + ')';
            if (cp) {
              const task = inst.id.split('_').pop();
              const pi = (cp.instances || []).find(x => x.component_name === inst.name && String(x.task_id) === task);
              if (pi && pi.instance_resources) tip += `\ncpu ${fmtNum(pi.instance_resources.cpu)}, ram ${fmtBytes(pi.instance_resources.ram)}, disk ${fmtBytes(pi.instance_resources.disk)}`;
            }
            const el = h('div', { class: 'pp-instance', 'data-instance': inst.id, 'data-component': inst.name, title: tip, tabindex: 0, style: { borderBottomColor: colors[inst.name] } });
            el.addEventListener('click', () => setFocus(inst.name, inst.id));
            el.addEventListener('dblclick', () => setFocus('', ''));
            return el;
          })));
      });
      replace(ppBox, h('h2', { style: 'margin-top:0' }, 'Physical plan'),
        h('div', { class: 'muted small', id: 'pp-count' }),
        h('div', { class: 'containers' }, boxes.length ? boxes : h('div', { class: 'muted' }, 'No physical plan yet: the topology manager has not written one.')),
        h('div', { class: 'colorkey', id: 'colorkey' }), h('div', { id: 'metric-error', class: 'small' }));
    }

    function focusInstances() {
      if (st.focus.instance) return [st.focus.instance];
      return instancesOf(data.pp, st.focus.component);
    }

    function paintFocus() {
      const f = st.focus;
      const insts = new Set(focusInstances());
      ppBox.querySelectorAll('.pp-instance').forEach(el => {
        el.classList.toggle('faded', !!f.component && !insts.has(el.dataset.instance));
        el.classList.toggle('focused', !!f.instance && el.dataset.instance === f.instance);
      });
      const cnt = ppBox.querySelector('#pp-count');
      if (cnt) {
        const shown = ppBox.querySelectorAll('.pp-instance:not(.faded)').length;
        const conts = new Set([...ppBox.querySelectorAll('.pp-instance:not(.faded)')].map(e => e.closest('.pp-container').dataset.container));
        const pl = (n, w) => n + ' ' + w + (n === 1 ? '' : 's');
        cnt.textContent = pl(conts.size, 'container') + ' and ' + pl(shown, 'instance') + (f.component ? ' in focus' : '');
      }
      if (dag) dag.svg.querySelectorAll('.dag-node').forEach(n => n.classList.toggle('focused', n.dataset.component === f.component));
      const comp = f.component;
      const inst = f.instance ? data.pp.instances[f.instance] : null;
      const items = [h('strong', null, 'Focus:')];
      if (!comp) items.push(h('span', null, 'whole topology'), h('span', { class: 'muted' }, '(click a component or an instance)'));
      else {
        const kind = (data.lp.spouts || {})[comp] ? 'spout' : 'bolt';
        items.push(h('span', { class: 'swatch', style: { background: colors[comp] } }), h('span', { id: 'focus-component' }, kind + ' ' + comp));
        const spec = (data.lp.spouts || {})[comp];
        if (spec && spec.spout_type && spec.spout_type !== 'default') items.push(h('span', { class: 'muted' }, 'type ' + spec.spout_type + (spec.spout_source && spec.spout_source !== 'NA' ? ', source ' + spec.spout_source : '')));
        if (spec) for (const l of spec.extra_links || []) if (l.url) items.push(h('a', { class: 'button', href: l.url, target: '_blank', rel: 'noopener' }, l.name));
        items.push(navLink(topoURL(t, '/' + enc(comp) + '/All/exceptions'), 'exceptions', { class: 'button' }));
        if (f.instance) {
          const n = containerIndex(inst && (inst.stmgr_id || inst.stmgrId)) || containerOf(f.instance);
          items.push(h('span', { id: 'focus-instance' }, 'instance ' + f.instance),
            navLink(topoURL(t, '/instances/' + enc(f.instance)), 'instance page', { class: 'button instance-link' }),
            navLink(topoURL(t, '/' + n + '/file?path=' + enc(logPathOf(inst, f.instance))), 'log', { class: 'button' }),
            navLink(topoURL(t, '/containers/' + n), 'container ' + n, { class: 'button' }));
        }
        items.push(h('button', { type: 'button', id: 'clear-focus', onclick: () => setFocus('', '') }, 'Clear focus'));
      }
      replace(focusBar, items);
    }

    // paintPlans colours instances and components by the chosen metric and window.
    async function paintPlans(rerenderTab) {
      syncURL();
      const metric = st.metric, win = WINDOW[st.window].secs;
      ppBox.dataset.metric = metric; ppBox.dataset.window = st.window;
      const tl = await timelines.get(metric, false);
      if (!page.alive || metric !== st.metric) return;
      const vals = {};
      for (const id of Object.keys(data.pp.instances || {})) vals[id] = Timelines.value(tl.byInstance[id], win);
      const relMax = Math.max(0, ...Object.values(vals).filter(v => v != null));
      ppBox.querySelectorAll('.pp-instance').forEach(el => {
        const v = vals[el.dataset.instance];
        el.style.backgroundColor = metricColor(metric, v, relMax);
        el.dataset.value = v == null ? '' : v;
        const base = el.title.split('\n— ')[0];
        el.title = base + '\n— ' + METRIC[metric].label + ' (' + WINDOW[st.window].label + '): ' + (v == null ? 'no data' : METRIC[metric].fmt(v));
      });
      if (dag) dag.svg.querySelectorAll('.dag-node').forEach(n => {
        const vs = instancesOf(data.pp, n.dataset.component).map(id => vals[id]).filter(v => v != null);
        n.querySelector('.ring').setAttribute('stroke', metricColor(metric, vs.length ? Math.max(...vs) : null, relMax));
      });
      const key = ppBox.querySelector('#colorkey');
      if (key) {
        const m = METRIC[metric];
        const [c0, c1, c2] = scaleStops();
        replace(key, h('span', null, m.label + ', ' + WINDOW[st.window].label + ' (90th percentile):'),
          m.hi != null
            ? [h('span', null, m.fmt(m.lo)), h('span', { class: 'bar', style: { background: `linear-gradient(90deg, ${c0}, ${c1}, ${c2})` } }), h('span', null, m.fmt(m.hi))]
            : [h('span', null, '0'), h('span', { class: 'bar', style: { background: 'linear-gradient(90deg, #e8f1fa, #1f5f8b)' } }), h('span', null, m.fmt(relMax))],
          h('span', { class: 'swatch', style: { background: NODATA } }), 'no data');
        const err = ppBox.querySelector('#metric-error');
        if (err) replace(err, tl.error ? errorBox(tl.error, 'Metrics unavailable') : '');
      }
      renderSummary();
      if (rerenderTab) renderTab();
    }

    // ---- summary: every metric × window, max over the focused instances
    function renderSummary() {
      const insts = focusInstances();
      const rows = METRICS.map(m => {
        const tl = timelines.cache[m.key];
        return h('tr', null, h('th', null, m.label), WINDOWS.map(w => {
          let v = null;
          if (tl) for (const id of insts) { const x = Timelines.value(tl.byInstance[id], w.secs); if (x != null && (v == null || x > v)) v = x; }
          const active = m.key === st.metric && w.key === st.window;
          return h('td', {
            class: 'cell' + (active ? ' active' : ''), 'data-metric': m.key, 'data-window': w.key,
            title: tl && tl.error ? tl.error.message : '',
            onclick: () => { st.metric = m.key; st.window = w.key; paintPlans(false); renderTab(); },
          }, h('span', { class: 'dot', style: { background: metricColor(m.key, v, v) } }), !tl ? '…' : v == null ? '–' : m.fmt(v));
        }));
      });
      replace(summaryBox, h('h2', { style: 'margin-top:0' }, 'Summary ', h('span', { class: 'muted small' }, '(max over ' + (st.focus.component ? 'the focused' : 'all') + ' instances of the 90th percentile per instance)')),
        h('table', { id: 'summary' }, h('thead', null, h('tr', null, h('th', null, 'Metric'), WINDOWS.map(w => h('th', null, w.label)))), h('tbody', null, rows)));
    }
    async function loadAllTimelines(force) {
      await Promise.all(METRICS.map(m => timelines.get(m.key, force)));
      if (page.alive) renderSummary();
    }

    // ---- tabs
    function renderTab() {
      syncURL();
      const ctx = { page, t, params, data, colors, focus: st.focus, metric: st.metric, window: st.window, timelines };
      clear(panel);
      panel.dataset.tab = st.tab;
      if (st.tab === 'stats') statsTab(panel, ctx);
      else if (st.tab === 'counters') countersTab(panel, ctx);
      else if (st.tab === 'config') configTab(panel, data.pp, data.lp);
      else if (st.tab === 'exceptions') exceptionsWidget(panel, ctx, st.focus.component || 'All', st.focus.instance || 'All');
    }

    function refreshAll(force) {
      paintPlans(false);
      timelines.get(st.metric, true).then(() => { if (page.alive) { paintPlans(false); if (st.tab === 'stats') renderTab(); } });
      loadAllTimelines(force).then(() => { if (page.alive && st.tab === 'stats') renderTab(); });
    }

    // ---- the topology disappearing
    function showGone(e) {
      st.gone = true;
      replace(goneBox, 'Topology ', h('strong', null, t.topology), ` is gone: the tracker no longer knows it in cluster ${t.cluster}, environ ${t.environ} (it was killed or its state was removed). `,
        h('span', { class: 'muted' }, '(' + e.message + ') '), navLink(BASE + '/topologies', 'Back to all topologies'));
      goneBox.hidden = false;
      root.classList.add('stale');
      document.title = t.topology + ' (gone) · Heron UI';
      const badge = document.getElementById('topology-status');
      if (badge) { badge.textContent = 'Gone'; badge.className = 'badge Gone'; }
    }
    function watchGone() {
      page.every(3000, async () => {
        try {
          const es = await tracker('/topologies/executionstate', params);
          if (st.gone) { st.gone = false; goneBox.hidden = true; root.classList.remove('stale'); banner(); if (data) { data.es = es; renderHeader(st.sl, st.rs); } else render(); return; }
          banner();
          if (data && es.status !== data.es.status) { data.es = es; renderHeader(st.sl, st.rs); }
        } catch (e) {
          if (!(e instanceof ApiError)) return;
          if (e.gone) { if (!st.gone) showGone(e); } else if (e.unreachable) banner('warn', e.message);
        }
      });
    }

    renderDAG();
    renderPP();
    syncURL();
    paintFocus();
    renderSummary();
    renderTab();
    paintPlans(false);
    loadAllTimelines(false);
    watchGone();
    // Plans change when containers restart; metrics arrive every minute.
    page.every(30000, async () => {
      if (st.gone) return;
      try {
        const d = await loadTopology(t);
        if (!page.alive) return;
        const changed = JSON.stringify(d.pp) !== JSON.stringify(data.pp) || JSON.stringify(d.lp) !== JSON.stringify(data.lp);
        data = Object.assign(data, d);
        if (changed) { renderDAG(); renderPP(); paintFocus(); }
      } catch (e) { /* the gone watcher reports */ }
      refreshAll(true);
    });
  }

  // ---------------------------------------------------------------- Stats tab

  function statsTab(panel, ctx) {
    const { data, focus, timelines, colors } = ctx;
    const w = WINDOW[ctx.window];
    const to = Date.now() / 1000, from = to - w.secs;
    const title = focus.instance ? 'instance ' + focus.instance : focus.component ? 'component ' + focus.component + ' (one line per instance)' : 'every component (max over its instances)';
    const grid = h('div', { class: 'charts', id: 'charts' });
    const errs = h('div', { id: 'chart-errors' });
    const seenErrors = new Set();
    panel.append(errs);
    panel.append(h('p', { class: 'muted' }, 'Metrics of ', h('strong', null, title), ' over the last ', h('strong', { id: 'chart-window' }, w.label),
      '. Minute buckets from the topology manager; the charts refresh every 30 s.'), grid);
    const comps = [...Object.keys(data.lp.spouts || {}), ...Object.keys(data.lp.bolts || {})];
    const instPalette = id => PALETTE[(Number(id.split('_').pop()) || 0) % PALETTE.length];
    for (const m of METRICS) {
      const box = h('div', { class: 'chart', 'data-metric': m.key }, h('h3', null, m.label, h('span', { class: 'muted small' }, '')), h('div', { class: 'loading' }, 'loading…'));
      grid.append(box);
      timelines.get(m.key, false).then(tl => {
        if (!ctx.page.alive || !box.isConnected) return;
        let series;
        if (focus.instance) series = [{ name: focus.instance, color: colors[focus.component] || '#1f5f8b', points: tl.byInstance[focus.instance] || [] }];
        else if (focus.component) series = instancesOf(data.pp, focus.component).sort().map(id => ({ name: id, color: instPalette(id), points: tl.byInstance[id] || [] }));
        else {
          series = comps.map(c => {
            const byT = {};
            for (const id of instancesOf(data.pp, c)) for (const [tt, v] of tl.byInstance[id] || []) byT[tt] = byT[tt] == null ? v : Math.max(byT[tt], v);
            return { name: c, color: colors[c], points: Object.entries(byT).map(([tt, v]) => [Number(tt), v]).sort((a, b) => a[0] - b[0]) };
          });
        }
        const nodes = [lineChart(series, from, to, m.fmt)];
        if (tl.error && !seenErrors.has(tl.error.message)) {
          seenErrors.add(tl.error.message);
          errs.append(h('div', { class: 'error-box' }, 'Metrics unavailable: ' + tl.error.message));
        }
        const legend = series.length <= 12 ? h('div', { class: 'legend' }, series.filter(x => x.points.length).map(x => h('span', null, h('span', { class: 'swatch', style: { background: x.color } }), x.name))) : null;
        box.replaceChildren(box.firstChild, ...nodes, legend || '');
      });
    }
  }

  // ---------------------------------------------------------------- Counters tab

  const COUNTER_WINDOWS = [['10m', '10 min', 600], ['1h', '1 hour', 3600], ['3h', '3 hours', 10800], ['all', 'all time', -1]];

  function componentMetricNames(lp, name) {
    const sp = (lp.spouts || {})[name];
    const names = ['__jvm-uptime-secs'];
    if (sp) {
      for (const o of sp.outputs || []) names.push('__emit-count/' + o.stream_name, '__ack-count/' + o.stream_name, '__fail-count/' + o.stream_name, '__complete-latency/' + o.stream_name);
      return names;
    }
    const b = (lp.bolts || {})[name] || {};
    for (const o of b.outputs || []) names.push('__emit-count/' + o.stream_name);
    for (const i of b.inputs || []) {
      for (const base of ['__execute-count', '__ack-count', '__fail-count', '__execute-latency', '__process-latency']) {
        names.push(base + '/' + i.stream_name, base + '/' + i.component_name + '/' + i.stream_name);
      }
    }
    return [...new Set(names)];
  }

  // sumFamily adds a metric family for one instance: the per-stream names
  // (`base/<stream>`) when present, else the per-source ones (`base/<c>/<s>`).
  function family(metrics, base, inst, agg) {
    const short = [], long = [];
    for (const [name, byInst] of Object.entries(metrics || {})) {
      if (!name.startsWith(base + '/')) continue;
      const v = parseFloat(byInst[inst]);
      if (Number.isNaN(v)) continue;
      (name.slice(base.length + 1).includes('/') ? long : short).push(v);
    }
    const vs = short.length ? short : long;
    if (!vs.length) return null;
    return agg === 'avg' ? vs.reduce((a, b) => a + b, 0) / vs.length : vs.reduce((a, b) => a + b, 0);
  }

  function countersTab(panel, ctx) {
    const { data, params, focus, page } = ctx;
    let win = sessionStorage.getItem('heron-ui.counters') || '10m';
    if (!COUNTER_WINDOWS.find(w => w[0] === win)) win = '10m';
    const btns = h('div', { class: 'btn-group', id: 'counter-window' });
    const out = h('div', { id: 'counters' });
    panel.append(h('div', { class: 'controls' }, h('strong', null, 'Counters over'), btns), out);
    const comps = [...Object.keys(data.lp.spouts || {}).map(n => [n, 'spout']), ...Object.keys(data.lp.bolts || {}).map(n => [n, 'bolt'])];
    const drawButtons = () => replace(btns, COUNTER_WINDOWS.map(([k, label]) => h('button', { type: 'button', 'data-window': k, class: k === win ? 'active' : '', onclick: () => { win = k; sessionStorage.setItem('heron-ui.counters', k); drawButtons(); load(); } }, label)));
    drawButtons();
    async function load() {
      const interval = COUNTER_WINDOWS.find(w => w[0] === win)[2];
      replace(out, h('div', { class: 'loading' }, 'loading counters…'));
      const results = await Promise.all(comps.map(([name]) => tracker('/topologies/metrics', Object.assign({}, params, { component: name, metricname: componentMetricNames(data.lp, name), interval })).then(r => ({ r }), e => ({ e }))));
      if (!page.alive || !out.isConnected) return;
      const secs = interval > 0 ? interval : null;
      const rows = [], errors = [];
      const instRows = [];
      comps.forEach(([name, kind], i) => {
        const res = results[i];
        if (res.e) { errors.push(name + ': ' + res.e.message); }
        const m = (res.r && res.r.metrics) || {};
        const insts = instancesOf(data.pp, name).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
        const per = insts.map(id => {
          const exec = family(m, '__execute-count', id), lat = family(m, kind === 'spout' ? '__complete-latency' : '__execute-latency', id, 'avg');
          const up = m['__jvm-uptime-secs'] ? parseFloat(m['__jvm-uptime-secs'][id]) : NaN;
          return {
            id, emit: family(m, '__emit-count', id), ack: family(m, '__ack-count', id), fail: family(m, '__fail-count', id), exec,
            lat: lat == null ? null : lat / 1e6, uptime: Number.isNaN(up) ? null : up,
            cap: kind === 'bolt' && secs && exec != null && lat != null ? exec * (lat / 1e6) / (secs * 1000) : null,
          };
        });
        const sum = k => { const vs = per.map(p => p[k]).filter(v => v != null); return vs.length ? vs.reduce((a, b) => a + b, 0) : null; };
        const avg = k => { const vs = per.map(p => p[k]).filter(v => v != null); return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null; };
        const caps = per.map(p => p.cap).filter(v => v != null);
        rows.push(h('tr', { class: 'counter-row', 'data-component': name },
          h('td', null, h('a', { href: '#/' + enc(name) }, name)), h('td', null, kind), h('td', { class: 'num' }, insts.length),
          h('td', { class: 'num' }, fmtNum(sum('emit'))), h('td', { class: 'num' }, fmtNum(sum('ack'))), h('td', { class: 'num' }, fmtNum(sum('fail'))),
          h('td', { class: 'num' }, kind === 'bolt' ? fmtNum(sum('exec')) : '–'), h('td', { class: 'num' }, fmtNum(avg('lat'))),
          h('td', { class: 'num' }, caps.length ? fmtNum(Math.min(...caps) * 100, 1) + '% – ' + fmtNum(Math.max(...caps) * 100, 1) + '%' : '–')));
        if (focus.component === name) {
          for (const p of per) {
            if (focus.instance && p.id !== focus.instance) continue;
            const n = containerOf(p.id);
            instRows.push(h('tr', { class: 'instance-counter-row', 'data-instance': p.id },
              h('td', null, navLink(topoURL(ctx.t, '/instances/' + enc(p.id)), p.id)), h('td', { class: 'num' }, fmtNum(p.emit)), h('td', { class: 'num' }, fmtNum(p.ack)),
              h('td', { class: 'num' }, fmtNum(p.fail)), h('td', { class: 'num' }, kind === 'bolt' ? fmtNum(p.exec) : '–'), h('td', { class: 'num' }, fmtNum(p.lat)),
              h('td', { class: 'num' }, p.cap == null ? '–' : fmtNum(p.cap * 100, 1) + '%'), h('td', { class: 'mono' }, fmtUptime(p.uptime)),
              h('td', null, h('div', { class: 'links' },
                navLink(topoURL(ctx.t, '/' + n + '/file?path=' + enc(logPathOf(data.pp.instances[p.id], p.id))), 'log', { class: 'button' }),
                navLink(topoURL(ctx.t, '/containers/' + n), 'files', { class: 'button' }),
                navLink(topoURL(ctx.t, '/' + enc(name) + '/' + enc(p.id) + '/exceptions'), 'exceptions', { class: 'button' })))));
          }
        }
      });
      const parts = [];
      if (errors.length) parts.push(h('div', { class: 'error-box' }, 'Some counters are unavailable:\n' + errors.join('\n')));
      parts.push(h('table', { id: 'counters-table' }, h('thead', null, h('tr', null, ['Component', 'Type', 'Parallelism', 'Emitted', 'Acked', 'Failed', 'Executed', 'Latency (ms)', 'Capacity (min – max)'].map((x, i) => h('th', { class: i > 1 ? 'num' : '' }, x)))), h('tbody', null, rows)));
      if (focus.component) {
        parts.push(h('h3', null, 'Instances of ' + focus.component),
          h('table', { id: 'instance-counters' }, h('thead', null, h('tr', null, ['Instance', 'Emitted', 'Acked', 'Failed', 'Executed', 'Latency (ms)', 'Capacity', 'Uptime', 'View'].map((x, i) => h('th', { class: i && i < 7 ? 'num' : '' }, x)))), h('tbody', null, instRows)));
      }
      replace(out, parts);
    }
    load();
    page.every(60000, () => { if (out.isConnected) load(); });
  }

  // ---------------------------------------------------------------- Config tab

  function configValue(key, v) {
    if (v && typeof v === 'object' && 'value' in v) {
      try {
        const parsed = JSON.parse(v.value);
        return h('pre', { class: 'kv-pre', title: 'serialized: ' + (v.raw || '') }, JSON.stringify(parsed, (k, x) => (k === 'annotations' || k === 'classdesc') ? undefined : x, 2));
      } catch (e) { return h('pre', { class: 'kv-pre' }, String(v.value)); }
    }
    if (typeof v === 'string' && /base64/i.test(key)) {
      try { return h('span', { title: v }, atob(v)); } catch (e) { /* not base64 after all */ }
    }
    return h('span', null, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }

  function configTab(panel, pp, lp) {
    const rows = [];
    for (const [k, v] of Object.entries(pp.config || {}).sort()) rows.push({ scope: 'topology', key: k, v });
    for (const [c, spec] of Object.entries(pp.components || {})) for (const [k, v] of Object.entries((spec && spec.config) || {}).sort()) rows.push({ scope: c, key: k, v });
    if (!pp.components) for (const [c, spec] of Object.entries(Object.assign({}, lp.spouts, lp.bolts))) for (const [k, v] of Object.entries(spec.config || {})) rows.push({ scope: c, key: k, v });
    const filter = h('input', { type: 'search', id: 'config-filter', placeholder: 'Filter keys and values' });
    const tbody = h('tbody');
    const draw = () => {
      const f = filter.value.toLowerCase();
      replace(tbody, rows.filter(r => !f || (r.scope + ' ' + r.key + ' ' + JSON.stringify(r.v)).toLowerCase().includes(f)).map(r =>
        h('tr', { class: 'config-row' }, h('td', null, r.scope === 'topology' ? h('span', { class: 'muted' }, 'topology') : '[' + r.scope + ']'), h('td', { class: 'mono' }, r.key), h('td', { class: 'mono' }, configValue(r.key, r.v)))));
    };
    filter.addEventListener('input', draw);
    panel.append(h('div', { class: 'controls' }, filter, h('span', { class: 'muted' }, rows.length + ' keys')),
      h('table', { id: 'config' }, h('thead', null, h('tr', null, h('th', null, 'Scope'), h('th', null, 'Key'), h('th', null, 'Value'))), tbody));
    draw();
  }

  // ---------------------------------------------------------------- exceptions

  function traceOf(x) { return x.stacktrace || x.stack_trace || ''; }

  async function fetchExceptions(params, components, instance) {
    const list = await Promise.all(components.map(c => tracker('/topologies/exceptions', Object.assign({}, params, { component: c, instance: instance && instance !== 'All' ? instance : null }))
      .then(r => ({ c, r: Array.isArray(r) ? r : [] }), e => ({ c, e }))));
    const rows = [], errors = [];
    for (const it of list) {
      if (it.e) { errors.push(it.c + ': ' + it.e.message); continue; }
      for (const x of it.r) rows.push(Object.assign({ component: it.c }, x));
    }
    // Merge records whose first two trace lines match, as Heron UI does.
    const merged = new Map();
    for (const x of rows) {
      const k = x.component + '\u0000' + x.instance_id + '\u0000' + traceOf(x).split('\n').slice(0, 2).join('\n');
      const m = merged.get(k);
      if (!m) { merged.set(k, Object.assign({}, x, { count: Number(x.count) || 0 })); continue; }
      m.count += Number(x.count) || 0;
      if (Date.parse(x.lasttime) > Date.parse(m.lasttime)) m.lasttime = x.lasttime;
      if (Date.parse(x.firsttime) < Date.parse(m.firsttime)) m.firsttime = x.firsttime;
    }
    return { rows: [...merged.values()].sort((a, b) => (Date.parse(b.lasttime) || 0) - (Date.parse(a.lasttime) || 0)), errors };
  }

  // summarize groups exceptions by class (the trace up to the first ':'),
  // as the topology manager's /exceptionsummary does.
  function summarize(rows) {
    const m = new Map();
    for (const x of rows) {
      const t = traceOf(x);
      const i = t.indexOf(':');
      const cls = (i >= 0 ? t.slice(0, i) : t.split('\n')[0]).trim() || '(empty)';
      const e = m.get(cls) || { cls, count: 0, first: x.firsttime, last: x.lasttime, components: new Set() };
      e.count += Number(x.count) || 0;
      e.components.add(x.component);
      if (Date.parse(x.lasttime) > Date.parse(e.last)) e.last = x.lasttime;
      if (Date.parse(x.firsttime) < Date.parse(e.first)) e.first = x.firsttime;
      m.set(cls, e);
    }
    return [...m.values()].sort((a, b) => b.count - a.count);
  }

  function exceptionsWidget(panel, ctx, component, instance) {
    const { data, params, page } = ctx;
    const comps = component && component !== 'All' ? [component] : [...Object.keys(data.lp.spouts || {}), ...Object.keys(data.lp.bolts || {})];
    const out = h('div', { id: 'exceptions' }, h('div', { class: 'loading' }, 'loading exceptions…'));
    panel.append(h('p', { class: 'muted' }, 'Exceptions of ', h('strong', null, component === 'All' ? 'every component' : component), instance && instance !== 'All' ? [' instance ', h('strong', null, instance)] : '', ', as kept by the topology manager (the last 256 per instance).'), out);
    async function load() {
      const { rows, errors } = await fetchExceptions(params, comps, instance);
      if (!page.alive || !out.isConnected) return;
      const sum = summarize(rows);
      const parts = [];
      if (errors.length) parts.push(h('div', { class: 'error-box' }, 'Exceptions unavailable for ' + errors.join('\n')));
      parts.push(h('h3', null, 'Summary by exception class'),
        h('table', { id: 'exception-summary' }, h('thead', null, h('tr', null, ['Class', 'Count', 'Components', 'First', 'Last'].map(x => h('th', null, x)))),
          h('tbody', null, sum.length ? sum.map(e => h('tr', null, h('td', { class: 'mono' }, e.cls), h('td', { class: 'num' }, e.count), h('td', null, [...e.components].join(', ')), h('td', null, e.first || '–'), h('td', null, e.last || '–')))
            : h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No exceptions.')))));
      parts.push(h('h3', null, 'Exceptions'),
        h('table', { id: 'exception-list' }, h('thead', null, h('tr', null, ['Trace', 'Component', 'Instance', 'First', 'Last', 'Count', 'View'].map(x => h('th', null, x)))),
          h('tbody', null, rows.map(x => {
            const tr = traceOf(x);
            const inst = data.pp.instances[x.instance_id];
            const n = containerIndex(inst && (inst.stmgr_id || inst.stmgrId)) || containerOf(x.instance_id);
            return h('tr', { class: 'exception-row' },
              h('td', null, h('details', null, h('summary', { class: 'mono' }, tr.split('\n')[0]), h('pre', { class: 'trace' }, tr + (x.logging ? '\n' + x.logging : '')))),
              h('td', null, x.component), h('td', { class: 'mono' }, x.instance_id), h('td', null, x.firsttime), h('td', null, x.lasttime), h('td', { class: 'num' }, x.count),
              h('td', null, h('div', { class: 'links' }, navLink(topoURL(ctx.t, '/instances/' + enc(x.instance_id)), 'instance', { class: 'button' }),
                navLink(topoURL(ctx.t, '/' + n + '/file?path=' + enc(logPathOf(inst, x.instance_id))), 'log', { class: 'button' }))));
          }))));
      replace(out, parts);
    }
    load();
    page.every(30000, () => { if (out.isConnected) load(); });
  }

  async function exceptionsPage(page, t, component, instance) {
    document.title = 'Exceptions · ' + t.topology + ' · Heron UI';
    const params = { cluster: t.cluster, environ: t.environ, topology: t.topology };
    page.root.append(crumbs(t, 'exceptions'), h('h1', null, 'Exceptions'));
    let data;
    try { data = await loadTopology(t); } catch (e) { page.root.append(errorBox(e, 'Cannot load topology')); return; }
    if (!page.alive) return;
    const comps = [...Object.keys(data.lp.spouts || {}), ...Object.keys(data.lp.bolts || {})];
    const selC = h('select', { id: 'exc-component' }, ['All', ...comps].map(c => h('option', { value: c, selected: c === component }, c)));
    const insts = component === 'All' ? [] : instancesOf(data.pp, component).sort();
    const selI = h('select', { id: 'exc-instance' }, ['All', ...insts].map(c => h('option', { value: c, selected: c === instance }, c)));
    const go = () => navigate(topoURL(t, '/' + enc(selC.value) + '/' + enc(selC.value === component ? selI.value : 'All') + '/exceptions'));
    selC.addEventListener('change', go); selI.addEventListener('change', go);
    const panel = h('div', { class: 'card' });
    page.root.append(h('div', { class: 'controls' }, h('label', null, 'Component', selC), h('label', null, 'Instance', selI)), panel);
    exceptionsWidget(panel, { page, t, params, data }, component, instance);
  }

  function crumbs(t, ...rest) {
    return h('div', { class: 'breadcrumbs' }, navLink(BASE + '/topologies', 'Topologies'), h('span', { class: 'sep' }, '/'),
      navLink(topoURL(t), t.topology, { class: 'topology-crumb' }),
      rest.map(r => [h('span', { class: 'sep' }, '/'), r]));
  }

  // ---------------------------------------------------------------- container page

  async function containerPage(page, t, container, path) {
    container = String(container).replace(/^stmgr-/, '');
    document.title = 'Container ' + container + ' · ' + t.topology + ' · Heron UI';
    const params = { cluster: t.cluster, environ: t.environ, topology: t.topology };
    const info = h('div', { class: 'card', id: 'container-info' }, h('div', { class: 'loading' }, 'loading…'));
    const files = h('div', { class: 'card', id: 'container-files' });
    page.root.append(crumbs(t, 'container ' + container), h('h1', null, 'Container ' + container), info, files);

    tracker('/topologies/physicalplan', params).then(pp => {
      if (!page.alive) return;
      const sm = (pp.stmgrs || {})['stmgr-' + container];
      if (!sm) { replace(info, errorBox(new Error('the physical plan has no stmgr-' + container))); return; }
      const insts = Object.values(pp.instances || {}).filter(i => (i.stmgr_id || i.stmgrId) === sm.id).sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
      replace(info,
        h('dl', { class: 'facts' }, [['Stream manager', sm.id], ['Host', sm.host], ['Data port', sm.port], ['Shell port', sm.shell_port == null ? '–' : sm.shell_port], ['PID', sm.pid], ['Working dir', sm.cwd]]
          .map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v == null ? '–' : String(v))))),
        h('h3', null, insts.length + ' instances'),
        h('table', { id: 'container-instances' }, h('thead', null, h('tr', null, ['Instance', 'Component', 'View'].map(x => h('th', null, x)))),
          h('tbody', null, insts.map(i => h('tr', { 'data-instance': i.id },
            h('td', { class: 'mono' }, navLink(topoURL(t, '/instances/' + enc(i.id)), i.id)), h('td', null, i.name),
            h('td', null, h('div', { class: 'links' },
              navLink(topoURL(t, '/' + container + '/file?path=' + enc(logPathOf(i, i.id))), 'log', { class: 'button log-link' }),
              navLink(topoURL(t, '/' + enc(i.name) + '/' + enc(i.id) + '/exceptions'), 'exceptions', { class: 'button' }))))))));
    }, e => { if (page.alive) replace(info, errorBox(e, 'Cannot load the physical plan')); });

    async function browse(p) {
      replace(files, h('h2', { style: 'margin-top:0' }, 'Files'), h('div', { class: 'loading' }, 'listing ' + p + '…'));
      let listing;
      try {
        listing = await tracker('/topologies/container/filestats', Object.assign({}, params, { container, path: p }));
      } catch (e) {
        if (page.alive) replace(files, h('h2', { style: 'margin-top:0' }, 'Files'), errorBox(e, 'Cannot list ' + p + ' in container ' + container));
        return;
      }
      if (!page.alive) return;
      const segs = p === '.' ? [] : p.split('/').filter(x => x && x !== '.');
      const bc = [h('a', { href: topoURL(t, '/containers/' + container), 'data-nav': true }, 'container ' + container)];
      segs.forEach((sg, i) => bc.push(h('span', { class: 'sep' }, '/'), navLink(topoURL(t, '/containers/' + container + '?path=' + enc(segs.slice(0, i + 1).join('/'))), sg)));
      const entries = Object.entries(listing || {}).sort((a, b) => (a[0] === '..' ? -1 : b[0] === '..' ? 1 : (b[1].is_dir - a[1].is_dir) || a[0].localeCompare(b[0])));
      const rows = entries.map(([name, st]) => {
        let fp;
        try { fp = decodeURIComponent(st.path || name); } catch (e) { fp = st.path || name; }
        fp = fp.replace(/^\.\//, '');
        if (name !== '..' && segs.length && !fp.includes('/')) fp = segs.join('/') + '/' + name;
        if (name === '..') fp = segs.slice(0, -1).join('/') || '.';
        const dl = trackerURL('/topologies/container/filedownload', Object.assign({}, params, { container, path: fp }));
        return h('tr', { class: 'file-row', 'data-name': name, 'data-dir': st.is_dir ? '1' : '0' },
          h('td', { class: 'mono' }, st.is_dir ? navLink(topoURL(t, '/containers/' + container + '?path=' + enc(fp)), name + '/', { class: 'dir-link' })
            : navLink(topoURL(t, '/' + container + '/file?path=' + enc(fp)), name, { class: 'file-link' })),
          h('td', { class: 'mono muted' }, st.formatted_stat || ''),
          h('td', null, st.is_dir ? '' : h('div', { class: 'links' }, navLink(topoURL(t, '/' + container + '/file?path=' + enc(fp)), 'view', { class: 'button' }),
            h('a', { class: 'button download-link', href: dl, download: name }, 'download'))));
      });
      replace(files, h('h2', { style: 'margin-top:0' }, 'Files'), h('div', { class: 'breadcrumbs' }, bc),
        h('table', { id: 'files' }, h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Details'), h('th', null, ''))), h('tbody', null, rows)));
    }
    browse(path || '.');
  }

  // ---------------------------------------------------------------- log viewer

  function unescapeXML(s) { return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'); }
  const utf8 = new TextEncoder();

  async function logPage(page, t, container, path) {
    document.title = path + ' · container ' + container + ' · Heron UI';
    const params = { cluster: t.cluster, environ: t.environ, topology: t.topology, container, path };
    const pre = h('pre', { id: 'log' });
    const follow = h('input', { type: 'checkbox', id: 'follow', checked: true });
    const status = h('span', { id: 'log-status', class: 'muted small' });
    const earlier = h('button', { type: 'button', id: 'log-earlier' }, 'Load earlier');
    const dl = h('a', { class: 'button', id: 'log-download', href: trackerURL('/topologies/container/filedownload', params), download: path.split('/').pop() }, 'Download');
    page.root.append(crumbs(t, navLink(topoURL(t, '/containers/' + container), 'container ' + container), path),
      h('h1', null, path.split('/').pop() || path),
      h('div', { class: 'controls' }, h('label', null, follow, 'Follow (tail live)'), earlier, dl, status), pre);
    if (!path) { pre.replaceWith(errorBox(new Error('no file given: add ?path=<file> to the URL'))); return; }

    const CHUNK = 32768, TAIL = 50000;
    let start = 0, end = 0;
    const read = (offset, length) => tracker('/topologies/container/filedata', Object.assign({}, params, { offset, length }));
    const bytes = d => utf8.encode(d).length;
    const atBottom = () => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    try {
      const first = await read(-1, -1);
      end = Number(first.offset) || 0;
      start = Math.max(0, end - CHUNK);
      if (end > start) {
        const c = await read(start, end - start);
        let text = unescapeXML(c.data || '');
        if (start > 0) { const nl = text.indexOf('\n'); if (nl >= 0) { start += bytes(text.slice(0, nl + 1)); text = text.slice(nl + 1); } }
        pre.textContent = text;
        end = start + bytes(text);
      }
      pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      if (page.alive) pre.replaceWith(errorBox(e, 'Cannot read ' + path + ' in container ' + container));
      return;
    }
    const showStatus = () => { status.textContent = `bytes ${start}–${end}` + (follow.checked ? ', following' : '') + ' · updated ' + new Date().toLocaleTimeString(); };
    showStatus();
    earlier.disabled = start === 0;
    earlier.addEventListener('click', async () => {
      if (start === 0) return;
      const from = Math.max(0, start - CHUNK);
      try {
        const c = await read(from, start - from);
        let text = unescapeXML(c.data || '');
        let newStart = from;
        if (from > 0) { const nl = text.indexOf('\n'); if (nl >= 0) { newStart += bytes(text.slice(0, nl + 1)); text = text.slice(nl + 1); } }
        const h0 = pre.scrollHeight;
        pre.textContent = text + pre.textContent;
        pre.scrollTop += pre.scrollHeight - h0;
        start = newStart;
        earlier.disabled = start === 0;
        showStatus();
      } catch (e) { status.textContent = e.message; }
    });
    let busy = false;
    const tail = async () => {
      if (busy || !follow.checked) return;
      busy = true;
      try {
        for (let i = 0; i < 20 && page.alive; i++) {
          const c = await read(end, TAIL);
          const text = unescapeXML(c.data || '');
          if (!text) break;
          const stick = atBottom();
          pre.append(text);
          end += bytes(text);
          if (stick) pre.scrollTop = pre.scrollHeight;
          if ((Number(c.length) || 0) < TAIL) break;
        }
        showStatus();
      } catch (e) {
        status.textContent = 'tail stopped: ' + e.message;
      } finally { busy = false; }
    };
    page.every(1000, tail);
  }

  // ---------------------------------------------------------------- instance page

  const REPORTS = [
    { key: 'pid', label: 'Process id', help: '' },
    { key: 'jstack', label: 'Thread stacks', help: '' },
    { key: 'histo', label: 'Heap histogram', help: '' },
    { key: 'jmap', label: 'Heap dump', help: 'A heap dump can take a minute or two. It is written to /tmp/heap.bin on the container\'s host.' },
  ];

  async function instancePage(page, t, instance, report) {
    document.title = instance + ' · ' + t.topology + ' · Heron UI';
    const params = { cluster: t.cluster, environ: t.environ, topology: t.topology };
    const root = page.root;
    root.append(crumbs(t, 'instance ' + instance), h('h1', null, instance));
    let data;
    try { data = await loadTopology(t); } catch (e) { root.append(errorBox(e, 'Cannot load topology')); return; }
    if (!page.alive) return;
    const inst = (data.pp.instances || {})[instance];
    if (!inst) { root.append(errorBox(new Error('the physical plan of ' + t.topology + ' has no instance ' + instance))); return; }
    const sm = (data.pp.stmgrs || {})[inst.stmgr_id || inst.stmgrId] || {};
    const n = containerIndex(sm.id) || containerOf(instance);
    const colors = componentColors([...Object.keys(data.lp.spouts || {}), ...Object.keys(data.lp.bolts || {})]);
    const reportBox = h('div', { id: 'report' });
    root.append(h('div', { class: 'card' },
      h('dl', { class: 'facts' }, [['Component', inst.name], ['Kind', (data.lp.spouts || {})[inst.name] ? 'spout' : 'bolt'], ['Container', n], ['Host', sm.host], ['Stream manager', sm.id]]
        .map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v == null ? '–' : String(v))))),
      h('div', { class: 'links' },
        navLink(topoURL(t, '/' + n + '/file?path=' + enc(logPathOf(inst, instance))), 'Log', { class: 'button log-link' }),
        navLink(topoURL(t, '/containers/' + n), 'Container files', { class: 'button container-link' }),
        navLink(topoURL(t, '/' + enc(inst.name) + '/' + enc(instance) + '/exceptions'), 'Exceptions', { class: 'button' }),
        navLink(topoURL(t) + '#/' + enc(inst.name) + '/' + enc(instance), 'In topology', { class: 'button' })),
      h('h3', null, 'Process reports'),
      h('div', { class: 'links' }, REPORTS.map(r => h('button', { type: 'button', id: 'action-' + r.key, onclick: () => runReport(r) }, r.label))),
      reportBox));

    async function runReport(r) {
      replace(reportBox, h('div', { class: 'loading' }, 'running ' + r.key + ' on ' + (sm.host || 'the container') + '…'), r.help ? h('p', { class: 'muted' }, r.help) : null);
      try {
        let res = await tracker('/topologies/' + r.key, Object.assign({}, params, { instance }));
        if (typeof res === 'string') { try { res = JSON.parse(res); } catch (e) { res = { stdout: res }; } }
        if (!page.alive) return;
        replace(reportBox, r.help ? h('p', { class: 'muted' }, r.help) : null,
          h('pre', { class: 'report', 'data-report': r.key }, `$${sm.host || ''}> ${res.command || r.key}\n` + (res.stdout || '') + (res.stderr ? '\n' + res.stderr : '')));
      } catch (e) {
        if (page.alive) replace(reportBox, errorBox(e, r.label + ' failed'));
      }
    }

    const st = { window: '10m' };
    const winBtns = h('div', { class: 'btn-group', id: 'window-select' });
    const charts = h('div');
    const drawWin = () => replace(winBtns, WINDOWS.map(w => h('button', { type: 'button', 'data-window': w.key, class: w.key === st.window ? 'active' : '', onclick: () => { st.window = w.key; drawWin(); drawCharts(); } }, w.label)));
    const timelines = new Timelines(t);
    const ctx = { page, t, params, data, colors, focus: { component: inst.name, instance }, window: st.window, timelines };
    const drawCharts = () => { clear(charts); ctx.window = st.window; statsTab(charts, ctx); };
    const counters = h('div');
    const exc = h('div');
    root.append(h('div', { class: 'card' }, h('div', { class: 'controls' }, h('h2', { style: 'margin:0' }, 'Metrics'), winBtns), charts),
      h('div', { class: 'card' }, h('h2', { style: 'margin-top:0' }, 'Counters'), counters),
      h('div', { class: 'card' }, h('h2', { style: 'margin-top:0' }, 'Exceptions'), exc));
    drawWin(); drawCharts();
    countersTab(counters, ctx);
    exceptionsWidget(exc, ctx, inst.name, instance);
    page.every(30000, () => { Promise.all(METRICS.map(m => timelines.get(m.key, true))).then(() => { if (page.alive) drawCharts(); }); });
    if (report) { const r = REPORTS.find(x => x.key === report); if (r) runReport(r); }
  }

  // ---------------------------------------------------------------- start

  // Exposed for the browser tests.
  window.heronUI = { layoutDAG, buildGraph, drawDAG, componentColors, quantile, metricColor };
  render();
})();
