// TraceAgent viewer: the web UI. Plain JavaScript, no build step, no third-party code, nothing
// fetched from anywhere but the viewer itself. One page; each view is a function of the path.
// A new view is one entry in `views` and one path in the server's PagePaths.
'use strict';

// ---------------------------------------------------------------------------------------------
// helpers

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: reported below */ }
  if (!response.ok) {
    const message = body?.errors?.[0]?.msg ?? body?.error ?? `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

/** A duration given in microseconds, in the unit a person reads best. */
function fmtDuration(us) {
  if (us < 1) return `${Math.round(us * 1000)} ns`;
  if (us < 1000) return `${us < 10 ? us.toFixed(1) : Math.round(us)} µs`;
  const ms = us / 1000;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function pad(n, width = 2) { return String(n).padStart(width, '0'); }

function fmtClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtDateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtClock(ms)}`;
}

function fmtAgo(ms) {
  const seconds = Math.max(0, (Date.now() - ms) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 90) return 'a minute ago';
  if (seconds < 3600) return `${Math.round(seconds / 60)} minutes ago`;
  if (seconds < 5400) return 'an hour ago';
  if (seconds < 86400) return `${Math.round(seconds / 3600)} hours ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function plural(n, one, many = one + 's') { return `${n} ${n === 1 ? one : many}`; }

// Service colours: well apart from each other and from the red that marks errors. Services get
// them in the order of the sorted service list, so a service keeps its colour on every page and
// the first ten never share one; a service not in the list yet falls back to a hash.
const PALETTE = ['#4f7cff', '#e8871e', '#14a3a3', '#8e5ad8', '#3f9b4f', '#c9a227', '#2fb5d8', '#a0643c', '#5b6b8c', '#7a8b2a'];
const colourCache = new Map();
function setServices(names) {
  colourCache.clear();
  names.forEach((name, i) => colourCache.set(name, PALETTE[i % PALETTE.length]));
}
function serviceColour(name) {
  if (!colourCache.has(name)) {
    let hash = 2166136261;
    for (const c of name) { hash = Math.imul(hash ^ c.charCodeAt(0), 16777619); }
    colourCache.set(name, PALETTE[Math.abs(hash) % PALETTE.length]);
  }
  return colourCache.get(name);
}

function tint(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const mix = c => Math.round(c + (255 - c) * amount);
  return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

const RULES = {
  'error-origin': 'Error origin',
  'critical-path': 'Critical path',
  'slowest-span': 'Slowest span',
  'n-plus-one': 'N+1 queries',
  'fan-out': 'Fan-out',
  'trace-gap': 'Trace gap',
  'untraced-service': 'Untraced service',
  'analysis-failed': 'Analysis failed',
};
const SEVERITY_ICON = { error: '✗', warning: '!', info: 'i' };

// Nice round axis steps for a range.
function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

const tooltip = {
  show(event, html) {
    const box = $('#tooltip');
    box.innerHTML = html;
    box.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - box.offsetWidth - 8);
    const y = event.clientY + 16 + box.offsetHeight > window.innerHeight ? event.clientY - box.offsetHeight - 10 : event.clientY + 16;
    box.style.left = `${x}px`;
    box.style.top = `${y}px`;
  },
  hide() { $('#tooltip').hidden = true; },
};

// ---------------------------------------------------------------------------------------------
// routing

const views = [
  { page: 'search', pattern: /^\/(search)?$/, render: renderSearch, title: () => 'Search' },
  { page: 'search', pattern: /^\/trace\/([0-9a-fA-F]{1,32})$/, render: renderTrace, title: () => 'Trace' },
  { page: 'map', pattern: /^\/map$/, render: renderMap, title: () => 'Service map' },
  { page: 'metrics', pattern: /^\/metrics$/, render: renderMetrics, title: () => 'Metrics' },
];

let renderToken = 0;

function navigate(url, replace = false) {
  if (replace) { history.replaceState(null, '', url); } else { history.pushState(null, '', url); }
  route();
}

async function route() {
  tooltip.hide();
  const token = ++renderToken;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const view = views.find(v => v.pattern.test(path));
  $$('#nav a').forEach(a => a.classList.toggle('active', view?.page === a.dataset.page));
  const main = $('#main');
  if (!view) {
    main.innerHTML = `<div class="panel empty"><h3>No page here</h3><p><a href="/search" data-link>Search traces</a></p></div>`;
    return;
  }
  document.title = `${view.title()} · TraceAgent viewer`;
  try {
    await view.render(main, path.match(view.pattern), () => token === renderToken);
  } catch (error) {
    if (token === renderToken) {
      main.innerHTML = `<div class="notice">${esc(error.message)}</div>`;
    }
  }
}

document.addEventListener('click', event => {
  const link = event.target.closest('a[data-link]');
  if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
    event.preventDefault();
    navigate(link.getAttribute('href'));
  }
});
window.addEventListener('popstate', route);

$('#jump').addEventListener('submit', event => {
  event.preventDefault();
  const id = $('#jump-input').value.trim().toLowerCase();
  if (/^[0-9a-f]{1,32}$/.test(id)) {
    $('#jump-input').value = '';
    navigate(`/trace/${id}`);
  } else {
    $('#jump-input').setCustomValidity('A trace ID is 1 to 32 hex digits');
    $('#jump-input').reportValidity();
  }
});
$('#jump-input').addEventListener('input', () => $('#jump-input').setCustomValidity(''));

async function refreshStatus() {
  try {
    const s = await getJson('/viewer-api/status');
    const storage = s.storage === 'memory' ? 'in memory' : 'on disk';
    const dropped = s.dropped > 0 ? ` · ${s.dropped} dropped` : '';
    $('#status').innerHTML = `<b>${s.traces}</b> ${s.traces === 1 ? 'trace' : 'traces'} ${storage}${dropped}`;
    $('#status').title = `Store: ${s.storage}; at most ${s.maxTraces} traces for ${Math.round(s.maxAgeSeconds / 3600)} h.\nOTLP: ${s.otlpHttp} (http/protobuf), ${s.otlpGrpc} (grpc)`;
  } catch {
    $('#status').textContent = 'viewer unreachable';
  }
}

// ---------------------------------------------------------------------------------------------
// search page

const LOOKBACKS = [['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['6h', 'Last 6 hours'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['', 'Any time'], ['custom', 'Custom range']];

/** "a=b c=\"d e\"" (logfmt, as the Jaeger UI takes tags) to an object. */
function parseTags(text) {
  const tags = {};
  const pattern = /([^\s=]+)=("([^"]*)"|\S*)/g;
  let match;
  let consumed = '';
  while ((match = pattern.exec(text)) !== null) {
    tags[match[1]] = match[3] ?? match[2];
    consumed += match[0];
  }
  const rest = text.replace(pattern, '').trim();
  if (rest.length > 0) throw new Error(`Tags are key=value pairs separated by spaces; cannot read "${rest}"`);
  return tags;
}

function tagsText(json) {
  try {
    return Object.entries(JSON.parse(json)).map(([k, v]) => /\s/.test(v) ? `${k}="${v}"` : `${k}=${v}`).join(' ');
  } catch { return ''; }
}

function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function renderSearch(main, _match, current) {
  const params = new URLSearchParams(location.search);
  main.innerHTML = `
    <div class="search-layout">
      <form class="panel search-form" id="search-form" autocomplete="off">
        <h2>Find traces</h2>
        <label class="field"><span>Service</span><select name="service" id="f-service"><option value="">All services</option></select></label>
        <label class="field"><span>Operation</span><select name="operation" id="f-operation"><option value="">All operations</option></select></label>
        <label class="field"><span>Tags</span><input name="tags" id="f-tags" placeholder="http.response.status_code=500" spellcheck="false">
          <small class="hint">key=value pairs, space separated; error=true for failed spans</small></label>
        <div class="row2">
          <label class="field"><span>Min duration</span><input name="minDuration" id="f-min" placeholder="e.g. 100ms" spellcheck="false"></label>
          <label class="field"><span>Max duration</span><input name="maxDuration" id="f-max" placeholder="e.g. 2s" spellcheck="false"></label>
        </div>
        <label class="field"><span>Duration of</span><select name="durationOf" id="f-durationOf">
          <option value="">A matching span (as Jaeger)</option><option value="trace">The whole trace</option></select></label>
        <label class="check"><input type="checkbox" name="errors" id="f-errors" value="true"> Only traces with errors</label>
        <label class="field"><span>Time</span><select name="lookback" id="f-lookback">${LOOKBACKS.map(([v, t]) => `<option value="${v}">${t}</option>`).join('')}</select></label>
        <div class="row2" id="f-custom" hidden>
          <label class="field"><span>From</span><input type="datetime-local" id="f-start"></label>
          <label class="field"><span>To</span><input type="datetime-local" id="f-end"></label>
        </div>
        <label class="field"><span>Limit</span><input name="limit" id="f-limit" type="number" min="1" max="1500" value="20"></label>
        <button class="btn primary" type="submit" id="f-submit">Find traces</button>
        <div id="f-error" class="error-text" style="margin-top:10px" hidden></div>
      </form>
      <section>
        <div class="panel chart" id="chart"></div>
        <div class="results-head">
          <h2 id="results-title">Traces</h2>
          <span class="muted" id="results-note"></span>
          <span class="spacer"></span>
          <select id="sort" aria-label="Sort">
            <option value="">Newest first</option><option value="oldest">Oldest first</option>
            <option value="longest">Longest first</option><option value="shortest">Shortest first</option>
            <option value="most-spans">Most spans</option>
          </select>
        </div>
        <div class="result-list" id="results"></div>
      </section>
    </div>`;

  const form = $('#search-form');
  const services = await getJson('/api/services');
  if (!current()) return;
  setServices(services.data);
  $('#f-service').insertAdjacentHTML('beforeend', services.data.map(s => `<option>${esc(s)}</option>`).join(''));

  async function loadOperations(selected) {
    const select = $('#f-operation');
    select.innerHTML = '<option value="">All operations</option>';
    const service = $('#f-service').value;
    if (!service) return;
    const operations = await getJson(`/api/operations?service=${encodeURIComponent(service)}`);
    const names = [...new Set(operations.data.map(o => o.name))];
    select.insertAdjacentHTML('beforeend', names.map(n => `<option>${esc(n)}</option>`).join(''));
    if (selected) select.value = selected;
  }

  // The form mirrors the URL, so a search can be linked, reloaded and gone back to.
  const service = params.get('service') ?? '';
  if (service && !services.data.includes(service)) {
    $('#f-service').insertAdjacentHTML('beforeend', `<option>${esc(service)}</option>`);
  }
  $('#f-service').value = service;
  await loadOperations(params.get('operation'));
  $('#f-tags').value = params.has('tags') ? tagsText(params.get('tags')) : '';
  $('#f-min').value = params.get('minDuration') ?? '';
  $('#f-max').value = params.get('maxDuration') ?? '';
  $('#f-durationOf').value = params.get('durationOf') ?? '';
  $('#f-errors').checked = params.get('errors') === 'true';
  $('#f-lookback').value = params.has('lookback') ? params.get('lookback') : '';
  $('#f-limit').value = params.get('limit') ?? '20';
  $('#sort').value = params.get('sort') ?? '';
  if (params.get('lookback') === 'custom') {
    $('#f-custom').hidden = false;
    if (params.get('start')) $('#f-start').value = toLocalInput(Number(params.get('start')) / 1000);
    if (params.get('end')) $('#f-end').value = toLocalInput(Number(params.get('end')) / 1000);
  }

  $('#f-service').addEventListener('change', () => loadOperations(null));
  $('#f-lookback').addEventListener('change', () => {
    const custom = $('#f-lookback').value === 'custom';
    $('#f-custom').hidden = !custom;
    if (custom && !$('#f-start').value) {
      $('#f-start').value = toLocalInput(Date.now() - 3600_000);
      $('#f-end').value = toLocalInput(Date.now() + 60_000);
    }
  });
  $('#sort').addEventListener('change', () => form.requestSubmit());

  form.addEventListener('submit', event => {
    event.preventDefault();
    const error = $('#f-error');
    error.hidden = true;
    const query = new URLSearchParams();
    try {
      const add = (key, value) => { if (value) query.set(key, value); };
      add('service', $('#f-service').value);
      add('operation', $('#f-operation').value);
      const tags = parseTags($('#f-tags').value.trim());
      if (Object.keys(tags).length > 0) query.set('tags', JSON.stringify(tags));
      add('minDuration', $('#f-min').value.trim());
      add('maxDuration', $('#f-max').value.trim());
      add('durationOf', $('#f-durationOf').value);
      if ($('#f-errors').checked) query.set('errors', 'true');
      add('lookback', $('#f-lookback').value);
      if ($('#f-lookback').value === 'custom') {
        if ($('#f-start').value) query.set('start', String(new Date($('#f-start').value).getTime() * 1000));
        if ($('#f-end').value) query.set('end', String(new Date($('#f-end').value).getTime() * 1000));
      }
      add('limit', $('#f-limit').value !== '20' ? $('#f-limit').value : '');
      add('sort', $('#sort').value);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    const qs = query.toString();
    history.pushState(null, '', `/search${qs ? `?${qs}` : ''}`);
    runSearch(query, current);
  });

  await runSearch(params, current);
}

async function runSearch(params, current) {
  const results = $('#results');
  results.innerHTML = '<div class="panel empty">Searching…</div>';
  const query = new URLSearchParams(params);
  let answer;
  try {
    answer = await getJson(`/viewer-api/search?${query}`);
  } catch (error) {
    if (!current()) return;
    results.innerHTML = `<div class="notice">${esc(error.message)}</div>`;
    $('#chart').innerHTML = '';
    $('#results-title').textContent = 'Traces';
    $('#results-note').textContent = '';
    return;
  }
  if (!current()) return;

  const traces = answer.traces;
  $('#results-title').textContent = plural(traces.length, 'trace');
  $('#results-note').textContent = answer.matched > traces.length
    ? `${traces.length} of ${answer.matched} matching (raise the limit for more)`
    : `of ${answer.searched} kept`;
  renderScatter($('#chart'), traces);

  if (traces.length === 0) {
    results.innerHTML = answer.searched === 0
      ? `<div class="panel empty"><h3>No traces yet</h3><p>Point an app's OTLP exporter at the viewer (see the status in the top bar) and its traces appear here.</p></div>`
      : `<div class="panel empty"><h3>No trace matches</h3><p>Widen the time range or remove a condition.</p></div>`;
    return;
  }

  const longest = Math.max(...traces.map(t => t.durationUs), 1);
  results.innerHTML = traces.map(t => resultCard(t, longest)).join('');
}

function resultCard(t, longest) {
  const notable = t.findings.filter(f => f.severity !== 'info');
  const findingChips = notable.map(f =>
    `<span class="chip ${f.severity === 'error' ? 'err' : 'warn'}" title="${esc(f.message)}">${SEVERITY_ICON[f.severity]} ${esc(RULES[f.rule] ?? f.rule)}</span>`).join('');
  const serviceChips = t.services.map(s =>
    `<span class="chip"><span class="dot" style="background:${serviceColour(s.name)}"></span>${esc(s.name)} ${s.spans}${s.errors ? ` <span class="badge-err">✗${s.errors}</span>` : ''}</span>`).join('');
  const errors = t.errorCount > 0 ? `<span class="badge-err">✗ ${plural(t.errorCount, 'error')}</span>` : '';
  const incomplete = t.complete ? '' : '<span class="chip warn" title="Spans were still arriving when the viewer stopped">incomplete</span>';
  return `
    <a class="panel result${t.errorCount ? ' has-error' : ''}" href="/trace/${t.traceId}" data-link data-trace-id="${t.traceId}">
      <span class="stripe" style="background:${t.errorCount ? 'var(--error)' : serviceColour(t.rootService)}"></span>
      <div class="result-top">
        <span class="result-name"><span class="svc" style="color:${serviceColour(t.rootService)}">${esc(t.rootService)}</span> ${esc(t.rootName)}</span>
        <span class="result-id">${t.traceId.slice(0, 12)}</span>
        <span class="result-dur">${fmtDuration(t.durationUs)}</span>
      </div>
      <div class="result-bar"><div style="width:${Math.max(0.5, 100 * t.durationUs / longest).toFixed(2)}%"></div></div>
      <div class="result-meta">
        <span>${plural(t.spanCount, 'span')}</span>
        <span>${plural(t.services.length, 'service')}</span>
        ${errors}
        <span class="chips">${serviceChips}</span>
        <span class="chips">${findingChips}${incomplete}</span>
        <span class="when" title="${fmtDateTime(t.startUnixMs)}">${fmtClock(t.startUnixMs)} · ${fmtAgo(t.startUnixMs)}</span>
      </div>
    </a>`;
}

function renderScatter(container, traces) {
  if (traces.length === 0) {
    container.innerHTML = '';
    container.hidden = true;
    return;
  }
  container.hidden = false;
  const width = Math.max(400, container.clientWidth - 34);
  const height = 190;
  const left = 58;
  const bottom = 24;
  const top = 14;
  const times = traces.map(t => t.startUnixMs);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1000) { t0 -= 500; t1 += 500; }
  const pad = (t1 - t0) * 0.03;
  t0 -= pad; t1 += pad;
  const maxDur = Math.max(...traces.map(t => t.durationUs)) * 1.1;
  const x = ms => left + (ms - t0) / (t1 - t0) * (width - left - 8);
  const y = us => height - bottom - us / maxDur * (height - bottom - top);
  const durStep = niceStep(maxDur, 4);
  const timeStep = niceStep(t1 - t0, Math.max(2, Math.floor(width / 130)));
  let grid = '';
  for (let d = 0; d <= maxDur; d += durStep) {
    grid += `<line x1="${left}" x2="${width - 8}" y1="${y(d)}" y2="${y(d)}"/>`;
  }
  let axis = '';
  for (let d = 0; d <= maxDur; d += durStep) {
    axis += `<text x="${left - 8}" y="${y(d) + 4}" text-anchor="end">${d === 0 ? '0' : fmtDuration(d)}</text>`;
  }
  for (let t = Math.ceil(t0 / timeStep) * timeStep; t <= t1; t += timeStep) {
    const label = timeStep >= 60000 ? fmtClock(t).slice(0, 5) : fmtClock(t).slice(0, timeStep >= 1000 ? 8 : 12);
    axis += `<text x="${x(t)}" y="${height - 6}" text-anchor="middle">${label}</text>`;
  }
  const maxSpans = Math.max(...traces.map(t => t.spanCount));
  const dots = traces.map((t, i) => {
    const r = 3.5 + 5 * Math.sqrt(t.spanCount / maxSpans);
    const fill = t.errorCount ? '#d6336c' : serviceColour(t.rootService);
    return `<circle data-i="${i}" cx="${x(t.startUnixMs).toFixed(1)}" cy="${y(t.durationUs).toFixed(1)}" r="${r.toFixed(1)}" fill="${fill}" fill-opacity=".78"/>`;
  }).join('');
  container.innerHTML = `
    <div class="chart-title"><span>Duration of the results over time</span><span><span style="color:var(--error)">●</span> with errors · size: span count</span></div>
    <svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
      <g class="grid">${grid}</g><g class="axis">${axis}</g><g>${dots}</g>
    </svg>`;
  const svg = $('svg', container);
  svg.addEventListener('mousemove', event => {
    const dot = event.target.closest('circle');
    if (!dot) { tooltip.hide(); return; }
    const t = traces[Number(dot.dataset.i)];
    tooltip.show(event, `<b>${esc(t.name)}</b><br>${fmtDuration(t.durationUs)} · ${plural(t.spanCount, 'span')}${t.errorCount ? ` · <span style="color:#ff8fb2">${plural(t.errorCount, 'error')}</span>` : ''}<br>${fmtDateTime(t.startUnixMs)}`);
  });
  svg.addEventListener('mouseleave', () => tooltip.hide());
  svg.addEventListener('click', event => {
    const dot = event.target.closest('circle');
    if (dot) navigate(`/trace/${traces[Number(dot.dataset.i)].traceId}`);
  });
}

// ---------------------------------------------------------------------------------------------
// trace page

async function renderTrace(main, match, current) {
  const traceId = match[1].toLowerCase();
  main.innerHTML = '<div class="panel empty">Loading trace…</div>';
  let trace;
  try {
    trace = await getJson(`/viewer-api/traces/${traceId}`);
  } catch (error) {
    if (!current()) return;
    main.innerHTML = `<div class="panel empty"><h3>Trace ${esc(traceId)} not found</h3><p>${esc(error.message)}</p><p><a href="/search" data-link>Search traces</a></p></div>`;
    return;
  }
  if (!current()) return;
  document.title = `${trace.name} · TraceAgent viewer`;

  const spans = trace.spans;
  const byId = new Map(spans.map(s => [s.spanId, s]));
  const total = Math.max(trace.durationUs, 1);
  const onPathUs = new Map();
  for (const segment of trace.criticalPath.segments) {
    if (segment.spanId) onPathUs.set(segment.spanId, (onPathUs.get(segment.spanId) ?? 0) + segment.endUs - segment.startUs);
  }
  const root = spans[0];
  const services = trace.services;

  const stat = (label, value, cls = '') => `<div class="stat"><span>${label}</span><b class="${cls}">${value}</b></div>`;
  main.innerHTML = `
    <div class="panel trace-head">
      <div class="trace-title">
        <h1><span style="color:${serviceColour(root?.service ?? '')}">${esc(root?.service ?? '')}</span> ${esc(root?.name ?? '')}</h1>
        <span class="result-id" title="Trace ID">${trace.traceId}</span>
        <span class="actions">
          <a class="btn small" href="/search" data-link>← Search</a>
          <a class="btn small" href="/api/traces/${trace.traceId}?prettyPrint=true" target="_blank" rel="noopener" title="This trace in Jaeger's JSON">Jaeger JSON</a>
        </span>
      </div>
      <div class="stats">
        ${stat('Started', fmtDateTime(trace.startUnixMs))}
        ${stat('Duration', fmtDuration(trace.durationUs))}
        ${stat('Services', services.length)}
        ${stat('Spans', trace.spanCount)}
        ${stat('Depth', trace.depth)}
        ${stat('Errors', trace.errorCount, trace.errorCount ? 'bad' : '')}
        ${stat('Critical path', `${fmtDuration(trace.criticalPath.totalUs)}${trace.criticalPath.waitingUs > 0 ? ` <small class="muted" style="font-weight:400;font-size:12.5px">${fmtDuration(trace.criticalPath.waitingUs)} waiting between spans</small>` : ''}`)}
      </div>
      <div class="legend">${services.map(s => `<span class="item"><span class="sw" style="background:${serviceColour(s)}"></span>${esc(s)}</span>`).join('')}</div>
    </div>
    ${findingsPanel(trace, byId)}
    <div class="panel waterfall" id="waterfall">
      <div class="wf-toolbar">
        <input type="search" id="wf-find" placeholder="Find in trace (service, operation, attribute)" spellcheck="false">
        <span class="count" id="wf-count"></span>
        <span class="spacer"></span>
        <span class="key"><i></i> critical path</span>
        <button class="btn small on" id="wf-critical" type="button" title="Highlight the spans that decide the trace's duration">Critical path</button>
        <button class="btn small" id="wf-collapse" type="button">Collapse all</button>
        <button class="btn small" id="wf-expand" type="button">Expand all</button>
      </div>
      <div class="wf-head"><div class="name">Service &amp; operation</div><div class="wf-ticks">${ticks(total)}</div></div>
      <div class="wf-body" id="wf-body"></div>
      ${trace.unattachedLogs.length ? `<div class="section wide" style="margin:14px"><h4>Log records of this trace whose span never arrived</h4>${trace.unattachedLogs.map(logLine).join('')}</div>` : ''}
    </div>`;

  const collapsed = new Set();
  let selected = null;
  let findText = '';

  function visibleSpans() {
    const out = [];
    let hideBelow = null;
    for (const s of spans) {
      if (hideBelow !== null) {
        if (s.depth > hideBelow) continue;
        hideBelow = null;
      }
      out.push(s);
      if (collapsed.has(s.spanId) && s.childCount > 0) hideBelow = s.depth;
    }
    return out;
  }

  function matches(s, text) {
    if (!text) return false;
    if (s.service.toLowerCase().includes(text) || s.name.toLowerCase().includes(text) || s.spanId.includes(text)) return true;
    return s.attributes.some(([k, v]) => k.toLowerCase().includes(text) || v.toLowerCase().includes(text));
  }

  function draw() {
    const body = $('#wf-body');
    const rows = visibleSpans();
    const text = findText.trim().toLowerCase();
    let matchCount = 0;
    body.innerHTML = rows.map(s => {
      const isMatch = matches(s, text);
      if (isMatch) matchCount++;
      return spanRow(s, total, collapsed.has(s.spanId), isMatch, text && !isMatch, onPathUs.has(s.spanId), selected === s.spanId) + (selected === s.spanId ? spanDetail(s, trace, onPathUs, byId) : '');
    }).join('');
    $('#wf-count').textContent = text ? `${plural(spans.filter(s => matches(s, text)).length, 'match', 'matches')}` : `${plural(spans.length, 'span')}`;
  }

  function reveal(spanId) {
    // Open every collapsed ancestor so the span has a row.
    let s = byId.get(spanId);
    while (s && s.parentSpanId && byId.has(s.parentSpanId)) {
      s = byId.get(s.parentSpanId);
      collapsed.delete(s.spanId);
    }
  }

  function select(spanId, scroll) {
    selected = selected === spanId && !scroll ? null : spanId;
    reveal(spanId);
    draw();
    if (scroll) {
      const row = $(`.wf-row[data-span-id="${spanId}"]`);
      if (row) {
        row.scrollIntoView({ block: 'center', behavior: 'smooth' });
        row.classList.add('flash');
      }
    }
  }

  $('#wf-body').addEventListener('click', event => {
    const text = event.target.closest('.logline .text, .kv .text');
    if (text) { text.classList.toggle('open'); return; }
    if (event.target.closest('.detail') && !event.target.closest('[data-goto-span]')) return;
    const toggle = event.target.closest('.toggle');
    const row = event.target.closest('.wf-row');
    if (toggle && row) {
      const id = row.dataset.spanId;
      if (collapsed.has(id)) collapsed.delete(id); else collapsed.add(id);
      draw();
      return;
    }
    const link = event.target.closest('[data-goto-span]');
    if (link) { select(link.dataset.gotoSpan, true); return; }
    if (row) select(row.dataset.spanId, false);
  });
  $('#wf-body').addEventListener('mousemove', event => {
    const bar = event.target.closest('.wf-bar');
    if (!bar) { tooltip.hide(); return; }
    const s = byId.get(bar.closest('.wf-row').dataset.spanId);
    const path = onPathUs.get(s.spanId);
    tooltip.show(event, `<b>${esc(s.service)}</b> ${esc(s.name)}<br>${fmtDuration(s.durationUs)} (self ${fmtDuration(s.selfUs)}), starts at +${fmtDuration(s.startUs)}${path ? `<br>on the critical path for ${fmtDuration(path)}` : ''}${s.error ? `<br><span style="color:#ff8fb2">✗ ${esc(s.statusMessage || 'error')}</span>` : ''}`);
  });
  $('#wf-body').addEventListener('mouseleave', () => tooltip.hide());
  const findings = $('#findings');
  if (findings) {
    $('.findings-head', findings).addEventListener('click', () => findings.classList.toggle('closed'));
    findings.addEventListener('click', event => {
      const link = event.target.closest('[data-goto-span]');
      if (link) { event.stopPropagation(); select(link.dataset.gotoSpan, true); }
    });
  }
  $('#wf-find').addEventListener('input', event => { findText = event.target.value; draw(); });
  $('#wf-critical').addEventListener('click', event => {
    event.currentTarget.classList.toggle('on');
    $('#waterfall').classList.toggle('hide-critical');
  });
  $('#wf-collapse').addEventListener('click', () => { spans.filter(s => s.childCount > 0 && s.depth > 0).forEach(s => collapsed.add(s.spanId)); draw(); });
  $('#wf-expand').addEventListener('click', () => { collapsed.clear(); draw(); });

  // A deep link to a span (#span-ID) opens it.
  const hash = location.hash.match(/^#span-([0-9a-f]+)$/);
  draw();
  if (hash && byId.has(hash[1])) select(hash[1], true);
}

function ticks(total) {
  const step = niceStep(total, 5);
  let html = '';
  for (let t = 0; t <= total * 1.0001; t += step) {
    html += `<span style="left:${(100 * t / total).toFixed(3)}%">${t === 0 ? '0' : fmtDuration(t).replace(/\.0+ /, ' ')}</span>`;
  }
  return html;
}

function tickLines(total) {
  const step = niceStep(total, 5);
  let html = '';
  for (let t = step; t < total; t += step) {
    html += `<i class="tick" style="left:${(100 * t / total).toFixed(3)}%"></i>`;
  }
  return html;
}

let tickCache = { total: -1, html: '' };

function spanRow(s, total, isCollapsed, isMatch, dim, onPath, isSelected) {
  if (tickCache.total !== total) tickCache = { total, html: tickLines(total) };
  const colour = serviceColour(s.service);
  const left = 100 * s.startUs / total;
  const width = Math.max(0.15, 100 * s.durationUs / total);
  const crit = s.critical.map(([a, b]) =>
    `<i class="crit" style="left:${(100 * (a - s.startUs) / Math.max(s.durationUs, 0.001)).toFixed(3)}%;width:${Math.max(0.8, 100 * (b - a) / Math.max(s.durationUs, 0.001)).toFixed(3)}%"></i>`).join('');
  // The duration sits after the bar, or inside a bar that reaches the right edge.
  const dur = fmtDuration(s.durationUs);
  const durLabel = left + width <= 86
    ? `<span class="wf-dur" style="left:${(left + width + 0.5).toFixed(3)}%">${dur}</span>`
    : width >= 10
      ? `<span class="wf-dur inside" style="right:${(100 - left - width + 0.5).toFixed(3)}%">${dur}</span>`
      : `<span class="wf-dur" style="right:${(100 - left + 0.5).toFixed(3)}%">${dur}</span>`;
  // An error is marked where it starts: the origin's bar gets a marker at its end, where it failed.
  const errMark = s.errorOrigin ? `<i class="err-mark" style="left:${(left + width).toFixed(3)}%" title="error starts here"></i>` : '';
  const classes = ['wf-row', s.error ? 'error' : '', s.errorOrigin ? 'origin-row' : '', onPath ? 'on-critical' : 'off-critical', isMatch ? 'match' : '', dim ? 'dim' : '', isSelected ? 'selected' : ''].filter(Boolean).join(' ');
  const indent = '<i></i>'.repeat(s.depth);
  const toggle = s.childCount > 0 ? `<span class="toggle" title="${isCollapsed ? 'Expand' : 'Collapse'}">${isCollapsed ? '▶' : '▼'}</span>` : '<span class="toggle"></span>';
  return `
    <div class="${classes}" data-span-id="${s.spanId}" data-service="${esc(s.service)}">
      <div class="name">
        <span class="svc-bar" style="background:${colour}"></span>
        <span class="indent">${indent}</span>${toggle}
        ${s.error ? '<span class="err-icon" title="error status">✗</span>' : ''}
        <span class="svc" style="color:${s.error ? '' : colour}">${esc(s.service)}</span>
        <span class="op" title="${esc(s.name)}">${esc(s.name)}</span>
        ${s.kind !== 'internal' && s.kind !== 'unspecified' ? `<span class="kind">${s.kind}</span>` : ''}
        ${s.errorOrigin ? '<span class="origin" title="The error started in this span">error starts here</span>' : ''}
        ${isCollapsed ? `<span class="kids">+${s.childCount}</span>` : ''}
        ${s.parentMissing ? `<span class="orphan-note" title="Its parent ${s.parentSpanId} never arrived">⋯ parent missing</span>` : ''}
      </div>
      <div class="wf-timeline">${tickCache.html}
        <div class="wf-bar" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%;background:${tint(colour, 0.3)}">${crit}</div>
        ${errMark}${durLabel}
      </div>
    </div>`;
}

function kvTable(rows, empty, clamp = false) {
  if (rows.length === 0) return `<div class="muted" style="padding:8px 12px">${empty}</div>`;
  return `<table class="kv">${rows.map(([k, v, type]) =>
    `<tr><td class="k">${esc(k)}</td><td class="v"><span class="${clamp && v.length > 300 ? 'text' : ''}" title="${clamp && v.length > 300 ? 'Click to show all' : ''}">${esc(v)}</span>${type && type !== 'string' ? `<span class="type">${type}</span>` : ''}</td></tr>`).join('')}</table>`;
}

function severityClass(log) {
  const n = log.severityNumber;
  return n >= 21 ? 'fatal' : n >= 17 ? 'error' : n >= 13 ? 'warn' : n >= 9 ? 'info' : 'debug';
}

function logLine(log) {
  const attrs = log.attributes.filter(([k]) => !log.message.includes(k)).map(([k, v]) => `${k}=${v}`).join('  ');
  return `<div class="logline"><span class="t">+${fmtDuration(log.offsetUs)}</span><span class="sev ${severityClass(log)}">${esc(log.severity || severityClass(log))}</span><span class="text" title="Click to show all">${esc(log.message)}</span>${attrs ? `<span class="attrs">${esc(attrs)}</span>` : ''}</div>`;
}

function spanDetail(s, trace, onPathUs, byId) {
  const path = onPathUs.get(s.spanId);
  const parent = byId.get(s.parentSpanId);
  const events = s.events.map(e =>
    `<div class="event"><div class="logline"><span class="t">+${fmtDuration(e.offsetUs)}</span><span class="sev ${e.name === 'exception' ? 'error' : ''}">event</span><span><b>${esc(e.name)}</b></span></div>${e.attributes.length ? kvTable(e.attributes, '', true) : ''}</div>`).join('');
  // The exception event says more than the status message (often just a code).
  const exception = s.events.find(e => e.name === 'exception');
  const attr = (e, key) => e?.attributes.find(([k]) => k === key)?.[1];
  const exceptionText = exception ? [attr(exception, 'exception.type'), attr(exception, 'exception.message')].filter(Boolean).join(': ') : '';
  const links = s.links.map(l => `<tr><td class="k">${l.inStore ? `<a href="/trace/${l.traceId}#span-${l.spanId}" data-link>${l.traceId.slice(0, 16)}…</a>` : esc(l.traceId)}</td><td class="v">span ${esc(l.spanId)}${l.inStore ? '' : ' <span class="type">not kept here</span>'}${l.attributes.length ? `<br>${esc(l.attributes.map(([k, v]) => `${k}=${v}`).join(' '))}` : ''}</td></tr>`).join('');
  const status = s.statusCode === 2
    ? `<div class="status-box"><b>${s.errorOrigin ? 'Error starts here' : 'Error'}</b>${s.statusMessage ? `: ${esc(s.statusMessage)}` : ''}${exceptionText && exceptionText !== s.statusMessage ? `<div class="exception">${esc(exceptionText)}</div>` : ''}</div>` : '';
  return `
    <div class="detail" data-detail-for="${s.spanId}">
      <div class="detail-head">
        <h3><span style="color:${serviceColour(s.service)}">${esc(s.service)}</span> ${esc(s.name)}</h3>
        <span class="mono">span ${s.spanId}</span>
      </div>
      <div class="kv-inline">
        <span>Kind <b>${s.kind}</b></span>
        <span>Duration <b>${fmtDuration(s.durationUs)}</b></span>
        <span>Self time <b>${fmtDuration(s.selfUs)}</b></span>
        <span>Starts at <b>+${fmtDuration(s.startUs)}</b></span>
        <span>Critical path <b>${path ? `${fmtDuration(path)} (${Math.round(100 * path / Math.max(trace.criticalPath.totalUs, 0.001))}%)` : 'not on it'}</b></span>
        <span>Status <b class="${s.statusCode === 2 ? 'error-text' : ''}">${['unset', 'ok', 'error'][s.statusCode] ?? s.statusCode}</b></span>
        <span>Parent <b>${parent ? `<a href="#" data-goto-span="${parent.spanId}">${esc(parent.service)} ${esc(parent.name)}</a>` : s.parentSpanId ? `${s.parentSpanId} (missing)` : 'none (root)'}</b></span>
        ${s.scope ? `<span>Scope <b>${esc(s.scope)}${s.scopeVersion ? ` ${esc(s.scopeVersion)}` : ''}</b></span>` : ''}
      </div>
      ${status}
      <div class="sections">
        <div class="section"><h4>Attributes <span class="muted">${s.attributes.length}${s.droppedAttributes ? `, ${s.droppedAttributes} dropped` : ''}</span></h4>${kvTable(s.attributes, 'No attributes')}</div>
        <div class="section"><h4>Resource <span class="muted">${s.resource.length}</span></h4>${kvTable(s.resource, 'No resource attributes')}</div>
        ${s.logs.length ? `<div class="section wide"><h4>Logs written in this span <span class="muted">${s.logs.length}</span></h4>${s.logs.map(logLine).join('')}</div>` : ''}
        ${s.events.length ? `<div class="section wide"><h4>Events <span class="muted">${s.events.length}${s.droppedEvents ? `, ${s.droppedEvents} dropped` : ''}</span></h4>${events}</div>` : ''}
        ${s.links.length ? `<div class="section wide"><h4>Links <span class="muted">${s.links.length}</span></h4><table class="kv">${links}</table></div>` : ''}
      </div>
    </div>`;
}

function findingsPanel(trace, byId) {
  if (trace.findings.length === 0) return '';
  const order = { error: 0, warning: 1, info: 2 };
  const findings = [...trace.findings].sort((a, b) => order[a.severity] - order[b.severity]);
  const counts = ['error', 'warning'].map(sev => findings.filter(f => f.severity === sev).length);
  const summary = [counts[0] ? `<span class="chip err">${plural(counts[0], 'error')}</span>` : '', counts[1] ? `<span class="chip warn">${plural(counts[1], 'warning')}</span>` : ''].join('');
  const spanLink = id => {
    const s = byId.get(id);
    return s ? `<button type="button" class="span-link" data-goto-span="${id}"><span class="dot" style="background:${serviceColour(s.service)}"></span>${esc(s.service)} ${esc(s.name)}</button>` : '';
  };
  // Findings of one rule share a row (the three slowest spans, several N+1 groups).
  const groups = [];
  for (const f of findings) {
    const last = groups[groups.length - 1];
    if (last && last.rule === f.rule && last.severity === f.severity) last.items.push(f); else groups.push({ rule: f.rule, severity: f.severity, items: [f] });
  }
  const rows = groups.map(g => {
    const body = g.items.map(f => {
      const ids = [...new Set(f.spanIds)];
      // A finding about one span (the slowest spans) is itself the link to that span.
      if (ids.length === 1 && f.severity === 'info') {
        return `<div class="item compact"><button type="button" class="msg link" data-goto-span="${ids[0]}">${esc(f.message)}</button></div>`;
      }
      // The critical path and the N+1 list name many spans: show the first few.
      const shown = ids.slice(0, 6).map(spanLink).join('');
      const more = ids.length > 6 ? `<span class="muted" style="font-size:12px">+${ids.length - 6} more</span>` : '';
      return `<div class="item"><div class="msg">${esc(f.message)}</div><div class="spans">${shown}${more}</div></div>`;
    }).join('');
    return `<div class="finding ${g.severity}" data-rule="${g.rule}">
      <span class="icon">${SEVERITY_ICON[g.severity]}</span>
      <span class="rule">${esc(RULES[g.rule] ?? g.rule)}${g.items.length > 1 ? ` <span class="muted">×${g.items.length}</span>` : ''}</span>
      <div>${body}</div>
    </div>`;
  }).join('');
  return `
    <div class="panel findings" id="findings">
      <div class="findings-head"><h2>Analysis</h2>${summary}<span class="muted" style="margin-left:auto;font-size:12px">${plural(findings.length, 'finding')} · click a span to show it</span></div>
      <div class="finding-list">${rows}</div>
    </div>`;
}

// ---------------------------------------------------------------------------------------------
// service map

const NODE_TYPES = { service: 'SERVICE', database: 'DATABASE', cache: 'REDIS', topic: 'TOPIC', external: 'NOT TRACED' };

async function renderMap(main, _match, current) {
  const params = new URLSearchParams(location.search);
  const lookback = params.get('lookback') ?? '';
  main.innerHTML = `
    <div class="map-layout">
      <div class="panel">
        <div class="map-toolbar">
          <h2>Service map</h2><span class="muted" id="map-note"></span><span class="spacer"></span>
          <select id="map-lookback" aria-label="Time">${LOOKBACKS.filter(([v]) => v !== 'custom').map(([v, t]) => `<option value="${v}">${t}</option>`).join('')}</select>
        </div>
        <div class="map-canvas" id="map-canvas"><div class="empty">Loading…</div></div>
      </div>
      <div class="panel" id="map-table"></div>
    </div>`;
  $('#map-lookback').value = lookback;
  $('#map-lookback').addEventListener('change', event => navigate(`/map${event.target.value ? `?lookback=${event.target.value}` : ''}`, true));
  const map = await getJson(`/viewer-api/service-map${lookback ? `?lookback=${lookback}` : ''}`);
  if (!current()) return;
  $('#map-note').textContent = `from ${plural(map.traceCount, 'trace')}`;
  if (map.nodes.length === 0) {
    $('#map-canvas').innerHTML = '<div class="empty"><h3>No traces in this time range</h3></div>';
    $('#map-table').innerHTML = '';
    return;
  }
  drawMap($('#map-canvas'), map);
  const label = new Map(map.nodes.map(n => [n.id, n]));
  const pct = (errors, calls) => calls ? `${(100 * errors / calls).toFixed(errors && errors < calls / 100 ? 1 : 0)}%` : '–';
  $('#map-table').innerHTML = `
    <table class="grid" id="edge-table">
      <thead><tr><th>From</th><th>To</th><th>Protocol</th><th class="num">Calls</th><th class="num">Errors</th><th class="num">Error rate</th><th class="num">p50</th><th class="num">p95</th></tr></thead>
      <tbody>${map.edges.map(e => `<tr data-from="${esc(label.get(e.from).label)}" data-to="${esc(label.get(e.to).label)}">
        <td>${nodeName(label.get(e.from))}</td><td>${nodeName(label.get(e.to))}</td><td><span class="pill">${esc(e.protocol)}</span></td>
        <td class="num">${e.calls}</td><td class="num ${e.errors ? 'error-text' : ''}">${e.errors}</td><td class="num ${e.errors ? 'error-text' : ''}">${pct(e.errors, e.calls)}</td>
        <td class="num">${fmtDuration(e.p50Us)}</td><td class="num">${fmtDuration(e.p95Us)}</td></tr>`).join('')}</tbody>
    </table>`;
}

function nodeName(node) {
  const dot = node.type === 'service' ? `<span class="dot" style="display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:${serviceColour(node.label)}"></span>` : '';
  const link = node.type === 'service' ? `<a href="/search?service=${encodeURIComponent(node.label)}" data-link>${esc(node.label)}</a>` : esc(node.label);
  return `${dot}${link}${node.type !== 'service' ? ` <span class="muted">${NODE_TYPES[node.type].toLowerCase()}</span>` : ''}`;
}

function drawMap(container, map) {
  // Layered layout: a node's column is the longest chain of calls leading to it; within a
  // column, nodes follow the average row of their callers, which keeps edges short and uncrossed.
  const incoming = new Map(map.nodes.map(n => [n.id, []]));
  const outgoing = new Map(map.nodes.map(n => [n.id, []]));
  for (const e of map.edges) {
    if (e.from === e.to) continue;
    outgoing.get(e.from).push(e.to);
    incoming.get(e.to).push(e.from);
  }
  const rank = new Map();
  const visiting = new Set();
  const rankOf = id => {
    if (rank.has(id)) return rank.get(id);
    if (visiting.has(id)) return 0; // a cycle: break it here
    visiting.add(id);
    const r = incoming.get(id).length === 0 ? 0 : Math.max(...incoming.get(id).map(p => rankOf(p) + 1));
    visiting.delete(id);
    rank.set(id, r);
    return r;
  };
  map.nodes.forEach(n => rankOf(n.id));
  const columns = [];
  for (const n of map.nodes) {
    (columns[rank.get(n.id)] ??= []).push(n);
  }
  const row = new Map();
  columns.forEach((column, c) => {
    if (c > 0) {
      column.sort((a, b) => {
        const avg = n => { const p = incoming.get(n.id).filter(id => row.has(id)); return p.length ? p.reduce((s, id) => s + row.get(id), 0) / p.length : 0; };
        return avg(a) - avg(b) || a.label.localeCompare(b.label);
      });
    }
    column.forEach((n, i) => row.set(n.id, i - (column.length - 1) / 2));
  });

  const nodeW = 172;
  const nodeH = 74;
  const colGap = 120;
  const rowGap = 34;
  const maxRows = Math.max(...columns.map(c => c.length));
  const width = columns.length * nodeW + (columns.length - 1) * colGap + 40;
  const height = maxRows * nodeH + (maxRows - 1) * rowGap + 40;
  const pos = new Map();
  columns.forEach((column, c) => column.forEach(n => pos.set(n.id, {
    x: 20 + c * (nodeW + colGap),
    y: height / 2 + row.get(n.id) * (nodeH + rowGap) - nodeH / 2,
  })));

  const maxCalls = Math.max(...map.edges.map(e => e.calls), 1);
  const edges = map.edges.filter(e => e.from !== e.to).map(e => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const x1 = a.x + nodeW; const y1 = a.y + nodeH / 2;
    const x2 = b.x - 6; const y2 = b.y + nodeH / 2;
    const mid = (x1 + x2) / 2;
    const stroke = 1.2 + 2.5 * Math.log1p(e.calls) / Math.log1p(maxCalls);
    const rate = e.calls ? e.errors / e.calls : 0;
    const label = `${e.protocol} ×${e.calls}`;
    // Labels sit three quarters along the curve, where edges fanning out of one node have parted.
    const t = Math.abs(y1 - y2) < 10 ? 0.5 : 0.72;
    const bez = (a, b, c, d) => (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * c + t ** 3 * d;
    const lx = bez(x1, mid, mid, x2);
    const ly = bez(y1, y1, y2, y2);
    return `<g class="map-edge${e.errors ? ' has-error' : ''}">
      <path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" stroke-width="${stroke.toFixed(1)}" marker-end="url(#arrow${e.errors ? '-err' : ''})"/>
      <text x="${lx}" y="${ly - 7}" text-anchor="middle"><title>${plural(e.calls, 'call')} over ${esc(e.protocol)}</title>${esc(label)}</text>
      ${e.errors ? `<text class="bad" x="${lx}" y="${ly + 16}" text-anchor="middle">${Math.round(100 * rate)}% errors</text>` : ''}
    </g>`;
  }).join('');

  const nodes = map.nodes.map(n => {
    const p = pos.get(n.id);
    const colour = n.type === 'service' ? serviceColour(n.label) : n.type === 'external' ? '#9aa3b5' : '#6b7a99';
    const line = n.type === 'service'
      ? `${plural(n.requests, 'request')} · ${plural(n.spans, 'span')}`
      : [n.databases?.join(', '), n.detail].filter(Boolean).join(' · ') || ' ';
    const errorLine = n.type === 'service' && n.errors ? `<text class="bad" x="${p.x + 14}" y="${p.y + 66}">✗ ${plural(n.errors, 'error span')}</text>` : '';
    const label = n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label;
    return `<g class="map-node ${n.type}" data-node="${esc(n.label)}" data-type="${n.type}">
      <rect class="box" x="${p.x}" y="${p.y}" width="${nodeW}" height="${nodeH}" rx="9"/>
      <rect x="${p.x}" y="${p.y}" width="5" height="${nodeH}" rx="2" fill="${colour}"/>
      <text class="type" x="${p.x + 14}" y="${p.y + 17}">${NODE_TYPES[n.type]}</text>
      <text class="label" x="${p.x + 14}" y="${p.y + 35}"><title>${esc(n.label)}</title>${esc(label)}</text>
      <text x="${p.x + 14}" y="${p.y + 51}"><title>${esc(line)}</title>${esc(line.length > 27 ? `${line.slice(0, 26)}…` : line)}</text>
      ${errorLine}
    </g>`;
  }).join('');

  container.innerHTML = `
    <svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9aa6bf"/></marker>
        <marker id="arrow-err" viewBox="0 0 10 10" refX="8" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#e58aa9"/></marker>
      </defs>
      ${edges}${nodes}
    </svg>`;
  container.addEventListener('click', event => {
    const node = event.target.closest('.map-node[data-type="service"]');
    if (node) navigate(`/search?service=${encodeURIComponent(node.dataset.node)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// metrics: per service and route, from the http.server.request.duration histograms the apps send

const METRIC_WINDOWS = [['1m', 'Last minute'], ['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour']];

function fmtRate(perSecond) {
  if (perSecond === 0) return '0/s';
  if (perSecond >= 10) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 0.1) return `${perSecond.toFixed(2)}/s`;
  return `${(perSecond * 60).toFixed(perSecond * 60 >= 1 ? 1 : 2)}/min`;
}

function fmtPercent(rate) {
  if (rate === 0) return '0%';
  const pct = 100 * rate;
  return `${pct < 1 ? pct.toFixed(2) : pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

async function renderMetrics(main, _match, current) {
  const params = new URLSearchParams(location.search);
  const windowParam = params.get('window') ?? '5m';
  main.innerHTML = `
    <div class="map-layout">
      <div class="panel">
        <div class="map-toolbar">
          <h2>Metrics</h2><span class="muted" id="metrics-note"></span><span class="spacer"></span>
          <select id="metrics-window" aria-label="Time">${METRIC_WINDOWS.map(([v, t]) => `<option value="${v}">${t}</option>`).join('')}</select>
          <button type="button" class="btn small" id="metrics-refresh">Refresh</button>
        </div>
        <div class="metrics-help muted">Request rate, error rate (5xx or <code>error.type</code>) and duration percentiles per service and route, from the <code>http.server.request.duration</code> histograms the apps export (percentiles interpolated within their bucket). An exemplar is a request recorded in a sampled span: it opens that trace.</div>
      </div>
      <div id="metrics-services"><div class="panel empty">Loading…</div></div>
    </div>`;
  if (!METRIC_WINDOWS.some(([v]) => v === windowParam)) {
    $('#metrics-window').insertAdjacentHTML('beforeend', `<option value="${esc(windowParam)}">Last ${esc(windowParam)}</option>`);
  }
  $('#metrics-window').value = windowParam;
  $('#metrics-window').addEventListener('change', event => navigate(`/metrics?window=${encodeURIComponent(event.target.value)}`, true));

  async function load() {
    const data = await getJson(`/viewer-api/metrics?window=${encodeURIComponent(windowParam)}`);
    if (!current()) return false;
    const routes = data.services.reduce((n, s) => n + s.routes.length, 0);
    const dropped = data.droppedSeries ? ` · ${data.droppedSeries} series over the limit of ${data.maxSeries} not kept` : '';
    $('#metrics-note').textContent = `${plural(data.services.length, 'service')}, ${plural(routes, 'route')} · updated ${fmtClock(data.toUnixMs)}${dropped}`;
    const box = $('#metrics-services');
    if (data.services.length === 0) {
      box.innerHTML = `<div class="panel empty"><h3>No requests in this time range</h3><p>Run an app under the agent with metrics exported to this viewer (the same OTLP endpoint as traces); <code>OTEL_METRIC_EXPORT_INTERVAL</code> (60000 ms by default) sets how often they arrive.</p></div>`;
      return true;
    }
    const dur = us => us == null ? '–' : fmtDuration(us);
    box.innerHTML = data.services.map(service => `
      <div class="panel metrics-service" data-service="${esc(service.service)}">
        <h3><span class="dot" style="background:${serviceColour(service.service)}"></span><a href="/search?service=${encodeURIComponent(service.service)}" data-link>${esc(service.service)}</a></h3>
        <table class="grid metrics-table">
          <thead><tr><th>Route</th><th>Method</th><th class="num">Requests</th><th class="num">Rate</th><th class="num">Errors</th><th class="num">Error rate</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th>Exemplar traces</th></tr></thead>
          <tbody>${service.routes.map(r => `<tr class="metrics-row" data-route="${esc(r.route)}" data-method="${esc(r.method)}">
            <td class="mono">${r.route ? esc(r.route) : '<span class="muted">(no route)</span>'}</td>
            <td><span class="pill">${esc(r.method || '–')}</span></td>
            <td class="num">${r.requests}</td>
            <td class="num">${fmtRate(r.ratePerSecond)}</td>
            <td class="num ${r.errors ? 'error-text' : ''}">${r.errors}</td>
            <td class="num ${r.errors ? 'error-text' : ''}">${fmtPercent(r.errorRate)}</td>
            <td class="num">${dur(r.p50Us)}</td><td class="num">${dur(r.p95Us)}</td><td class="num">${dur(r.p99Us)}</td>
            <td><div class="exemplars">${r.exemplars.length === 0 ? '<span class="muted">none</span>' : r.exemplars.map(e => `<a class="exemplar${e.error ? ' error' : ''}${e.stored ? '' : ' missing'}" href="/trace/${e.traceId}" data-link data-trace-id="${e.traceId}" title="${esc(`trace ${e.traceId}, span ${e.spanId}\n${fmtDuration(e.durationUs)}, status ${e.statusCode || 'none'}, ${fmtDateTime(e.timeUnixMs)}${e.stored ? '' : '\nnot in the viewer (dropped, or not received yet)'}`)}">${fmtDuration(e.durationUs)}<span class="mono">${e.traceId.slice(0, 8)}</span></a>`).join('')}</div></td>
          </tr>`).join('')}</tbody>
        </table>
      </div>`).join('');
    return true;
  }

  $('#metrics-refresh').addEventListener('click', () => load().catch(error => { $('#metrics-services').innerHTML = `<div class="notice">${esc(error.message)}</div>`; }));
  await load();
  // Apps export on their own schedule: keep the page current while it is shown.
  const timer = setInterval(async () => {
    if (!current()) { clearInterval(timer); return; }
    try { await load(); } catch { /* the next round or the refresh button reports it */ }
  }, 5000);
}

// ---------------------------------------------------------------------------------------------

async function start() {
  try { setServices((await getJson('/api/services')).data); } catch { /* colours fall back to the hash */ }
  refreshStatus();
  setInterval(refreshStatus, 5000);
  route();
}

start();
