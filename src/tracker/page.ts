import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateOptions, validateOptionalString } from '../core/validate.js';

/**
 * The live page: one HTML document with its style and script inline, no
 * asset from anywhere, allowed to run only its own script and style (by hash)
 * and to connect only to where it came from. It reads the snapshot stream
 * (snapshotStream) and draws every service with its state, health, restarts,
 * CPU and memory over the last minutes, the last error, and the tracker's own
 * figures. It only reads: nothing on it sends anything back.
 */

/** How much the page may weigh, bytes, as served (uncompressed). A test keeps it under. */
export const LIVE_PAGE_BUDGET_BYTES = 12 * 1024;

const STYLE = `
:root{--bg:#f6f7f9;--fg:#1b1f24;--dim:#5b636d;--card:#fff;--line:#d8dce1;--ok:#17803d;--bad:#c62828;--warn:#a15c00;--cpu:#1f6feb;--mem:#8250df}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#d6dde6;--dim:#8b949e;--card:#161b22;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--cpu:#58a6ff;--mem:#bc8cff}}
*{box-sizing:border-box}
body{margin:0;padding:12px;background:var(--bg);color:var(--fg);font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
header{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;margin-bottom:12px}
h1{font-size:16px;margin:0}
#conn,#tracker{color:var(--dim)}
#conn.live{color:var(--ok)}#conn.down{color:var(--bad)}
main{display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr))}
section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px}
h2{font-size:15px;margin:0 0 6px;display:flex;gap:8px;align-items:baseline;overflow-wrap:anywhere}
.badge{font-size:12px;padding:0 6px;border-radius:9px;border:1px solid currentColor}
.running{color:var(--ok)}.failed{color:var(--bad)}.starting,.stopping{color:var(--warn)}.stopped{color:var(--dim)}
.facts{color:var(--dim);font-size:12px;display:flex;flex-wrap:wrap;gap:2px 12px}
.chart{display:flex;gap:8px;align-items:center;margin-top:6px}
.chart span{width:9em;font-size:12px;white-space:nowrap}
svg{flex:1;height:36px;min-width:0;border-bottom:1px solid var(--line)}
polyline{fill:none;stroke-width:1.5;vector-effect:non-scaling-stroke}
.cpu polyline{stroke:var(--cpu)}.mem polyline{stroke:var(--mem)}
.error{color:var(--bad);font-size:12px;margin-top:6px;overflow-wrap:anywhere;white-space:pre-line}
.error:empty{display:none}
`;

const SCRIPT = `
"use strict";
var WINDOW_MS = 5 * 60 * 1000;
var services = new Map();
var main = document.querySelector("main");
var conn = document.getElementById("conn");
var trackerLine = document.getElementById("tracker");
var replayed = null;

function el(tag, cls, parent) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}
function svgEl(tag, parent) {
  var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  if (parent) parent.appendChild(node);
  return node;
}
function bytes(n) {
  var units = ["B", "KiB", "MiB", "GiB", "TiB"];
  var i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i === 0 ? 0 : 1) + " " + units[i];
}
function duration(ms) {
  if (ms < 1000) return Math.round(ms) + "ms";
  var s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d" + Math.floor((s % 86400) / 3600) + "h";
}
function chart(parent, cls) {
  var row = el("div", "chart " + cls, parent);
  var label = el("span", "", row);
  var svg = svgEl("svg", row);
  svg.setAttribute("viewBox", "0 0 300 36");
  svg.setAttribute("preserveAspectRatio", "none");
  var line = svgEl("polyline", svg);
  return { label: label, svg: svg, line: line, points: [] };
}
function card(name) {
  var section = el("section", "", null);
  section.dataset.service = name;
  var title = el("h2", "", section);
  el("span", "name", title).textContent = name;
  var badge = el("span", "badge", title);
  var facts = el("div", "facts", section);
  var view = {
    section: section, badge: badge,
    health: el("span", "", facts), pid: el("span", "", facts), restarts: el("span", "", facts), uptime: el("span", "", facts),
    cpu: chart(section, "cpu"), mem: chart(section, "mem"),
    error: el("div", "error", section), lastSample: 0
  };
  var names = Array.from(services.keys()).concat(name).sort();
  var next = services.get(names[names.indexOf(name) + 1]);
  main.insertBefore(section, next ? next.section : null);
  services.set(name, view);
  return view;
}
function draw(c, now, max) {
  while (c.points.length > 0 && c.points[0][0] < now - WINDOW_MS) c.points.shift();
  // The chart spans what it has, at least 10 s, at most the window: it fills from the first samples.
  var span = c.points.length > 0 ? Math.min(WINDOW_MS, Math.max(10000, now - c.points[0][0])) : WINDOW_MS;
  var top = max;
  for (var i = 0; i < c.points.length; i++) top = Math.max(top, c.points[i][1] * 1.15);
  c.line.setAttribute("points", c.points.map(function (p) {
    return (300 - ((now - p[0]) / span) * 300).toFixed(1) + "," + (35 - (p[1] / top) * 34).toFixed(1);
  }).join(" "));
  c.svg.dataset.points = String(c.points.length);
}
function show(s) {
  var view = services.get(s.serviceName) || card(s.serviceName);
  var up = s.pid > 0;
  view.section.dataset.state = s.state;
  view.badge.className = "badge " + s.state;
  view.badge.textContent = s.state;
  view.health.textContent = "health " + (up ? (s.healthy ? "ok" : "failing") : "-");
  view.pid.textContent = "pid " + (up ? s.pid : "-");
  view.restarts.textContent = "restarts " + s.restartCount + (s.oomKills > 0 ? " (oom " + s.oomKills + ")" : "");
  view.uptime.textContent = "up " + (up ? duration(s.uptime) : "-");
  var errors = [];
  if (s.lastError) errors.push(s.lastError);
  if (s.healthError) errors.push("health check: " + s.healthError);
  view.error.textContent = errors.join("\\n");
  if (up && s.cpu.timestamp !== view.lastSample) {
    view.lastSample = s.cpu.timestamp;
    view.cpu.points.push([s.cpu.timestamp, s.cpu.usagePercent]);
    view.mem.points.push([s.memory.timestamp, s.memory.rss]);
  }
  view.cpu.label.textContent = "CPU " + (up ? s.cpu.usagePercent.toFixed(1) + "%" : "-");
  view.mem.label.textContent = "RSS " + (up ? bytes(s.memory.rss) : "-");
  var now = Date.now();
  draw(view.cpu, now, 1);
  draw(view.mem, now, 1024 * 1024);
}
function connect() {
  var url = document.querySelector('meta[name="procmetrics-stream"]').content;
  var source = new EventSource(url);
  source.onopen = function () { conn.textContent = "live"; conn.className = "live"; replayed = new Set(); };
  source.onerror = function () { conn.textContent = "reconnecting"; conn.className = "down"; };
  source.addEventListener("snapshot", function (e) {
    var s = JSON.parse(e.data);
    if (replayed) replayed.add(s.serviceName);
    show(s);
  });
  source.addEventListener("ready", function () {
    services.forEach(function (view, name) {
      if (!replayed.has(name)) { view.section.remove(); services.delete(name); }
    });
    replayed = null;
  });
  source.addEventListener("stats", function (e) {
    var t = JSON.parse(e.data);
    trackerLine.textContent = "tracker: " + t.services + " services, every " + duration(t.intervalMs) +
      ", last tick " + t.lastTickDurationMs.toFixed(1) + " ms, " + t.collectionErrors + " errors (" + t.collectionTimeouts +
      " timeouts), " + t.stream.clients + " viewers, " + t.stream.droppedEvents + " events dropped";
    trackerLine.dataset.ticks = String(t.ticks);
  });
  source.addEventListener("dropped", function (e) {
    conn.textContent = "live (" + JSON.parse(e.data).dropped + " updates skipped)";
  });
}
connect();
setInterval(function () {
  var now = Date.now();
  services.forEach(function (view) { draw(view.cpu, now, 1); draw(view.mem, now, 1024 * 1024); });
}, 1000);
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The Content-Security-Policy the page is served with: its own script and style, connections home, nothing else. */
export const LIVE_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeAttribute = (text: string): string =>
  text.replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[c] ?? c);

/** The page's HTML, reading the stream at `streamUrl` (relative to the page). */
export function livePageHtml(streamUrl = 'events'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="procmetrics-stream" content="${escapeAttribute(streamUrl)}">
<title>procmetrics</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>procmetrics</h1><span id="conn">connecting</span><span id="tracker"></span></header>
<main></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export interface LivePageOptions {
  /** Where the page finds the snapshot stream, relative to the page's own URL (default `events`). */
  streamUrl?: string;
}

/**
 * A Node `(request, response)` handler serving the live page (GET and HEAD;
 * 405 otherwise) with its Content-Security-Policy. Mount it beside
 * `snapshotStream(tracker)`: at `/` with the stream at `/events`, or at
 * `/status/` with the stream at `/status/events`.
 */
export function livePage(options: LivePageOptions = {}): (request: IncomingMessage, response: ServerResponse) => void {
  validateOptions(options, 'options');
  validateOptionalString(options.streamUrl, 'options.streamUrl');
  const body = Buffer.from(livePageHtml(options.streamUrl));
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'content-security-policy': LIVE_PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
}
