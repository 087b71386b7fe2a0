// xvr_view: draws one task's samples from the data files written beside the page.
// It runs from file:// with no server, so data arrives through <script> tags (fetch() of local files is blocked);
// dataset text is only ever set with textContent, never parsed as HTML.
"use strict";
const XVR = { index: null, chunks: {}, waiting: {} };
XVR.setIndex = (ix) => { XVR.index = ix; };
XVR.setChunk = (k, records) => {
  XVR.chunks[k] = records;
  (XVR.waiting[k] || []).forEach((done) => done());
  delete XVR.waiting[k];
};

function loadChunk(k) {
  return new Promise((resolve, reject) => {
    if (XVR.chunks[k]) return resolve();
    const first = !XVR.waiting[k];
    (XVR.waiting[k] = XVR.waiting[k] || []).push(resolve);
    if (!first) return;
    const s = document.createElement("script");
    s.src = `${XVR.index.dir}/c${String(k).padStart(5, "0")}.js`;
    s.onerror = () => reject(new Error(`cannot load ${s.src}`));
    document.head.appendChild(s);
  });
}

const FILTERS = ["source", "split", "answer", "verdict"];
function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  const st = { page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1) };
  FILTERS.forEach((f) => { st[f] = p.get(f) || ""; });
  return st;
}
function writeState(st) {
  const p = new URLSearchParams();
  FILTERS.forEach((f) => { if (st[f]) p.set(f, st[f]); });
  if (st.page > 1) p.set("page", st.page);
  location.hash = p.toString();
}

function matching(st) {
  const ix = XVR.index, out = [];
  ix.rows.forEach((r, i) => {
    if (st.source && ix.sources[r[0]] !== st.source) return;
    if (st.split && ix.splits[r[1]] !== st.split) return;
    if (st.answer && ix.answers[r[2]] !== st.answer) return;
    if (st.verdict && ix.verdicts[r[3]] !== st.verdict) return;
    out.push(i);
  });
  return out;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "text") e.textContent = v; else e.setAttribute(k, v); });
  kids.forEach((c) => e.append(c));
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v));
  return e;
}

function overlay(im) {
  const svg = svgEl("svg", { viewBox: `0 0 ${im.w} ${im.h}`, class: "markers" });
  const r = Math.max(3, Math.min(im.w, im.h) / 25);
  (im.markers || []).forEach((m) => {
    const color = XVR.index.palette[m.color] || m.color || "white";
    if (m.uv) svg.append(svgEl("circle", { cx: m.uv[0], cy: m.uv[1], r: r * 1.6, fill: "none", stroke: color,
      "stroke-width": 1.5, "stroke-dasharray": "3 2" }));
    if (m.start && m.end) svg.append(svgEl("line", { x1: m.start[0], y1: m.start[1], x2: m.end[0], y2: m.end[1],
      stroke: color, "stroke-width": 1.5, "stroke-dasharray": "3 2" }));
  });
  svg.style.display = document.getElementById("overlay").checked ? "" : "none";
  return svg;
}

function figure(im) {
  const img = el("img", { src: im.src, alt: im.label, loading: "lazy", ...(im.w ? { width: im.w, height: im.h } : {}) });
  const box = el("a", { class: "img", href: im.src, target: "_blank" }, img);
  if (im.w && im.markers && im.markers.length) box.append(overlay(im));
  return el("figure", {}, box, el("figcaption", { text: im.label }));
}

function card(r) {
  const verdict = r.verdict === null ? ["unchecked", "not re-checked: " + (r.unchecked || "no metadata")]
    : r.verdict.length ? ["bad", "validator: " + r.verdict.join("; ")] : ["ok", "validator: ok"];
  const c = el("article", { class: "card" + (verdict[0] === "bad" ? " bad" : ""), id: r.id });
  c.append(el("h2", { text: r.id }));
  c.append(el("div", { class: "meta", text: r.provenance }));
  c.append(el("div", { class: "views" }, ...r.images.map(figure)));
  const text = r.parts.map((t, k) => t + (k < r.parts.length - 1 ? `[image ${k + 1}]` : "")).join("");
  c.append(el("div", { class: "prompt", text: text.trim() }));
  const opts = el("div", { class: "options" }, "options: ");
  r.options.forEach((o) => opts.append(el("span", { class: o === r.answer ? "answer" : "", text: o })));
  c.append(opts, el("div", { class: "answer-line", text: "answer: " + r.answer }));
  c.append(el("div", { class: "verdict " + verdict[0], text: verdict[1] }));
  c.append(el("details", {}, el("summary", { text: "metadata" }), el("pre", { text: r.meta })));
  return c;
}

function pager(st, pages) {
  const p = el("div", { class: "pager" });
  const go = (n) => { const a = el("a", { href: "#", text: String(n) }); a.onclick = (e) => { e.preventDefault(); writeState({ ...st, page: n }); }; return a; };
  const shown = new Set([1, pages, st.page - 2, st.page - 1, st.page, st.page + 1, st.page + 2]);
  let last = 0;
  [...shown].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b).forEach((n) => {
    if (n > last + 1) p.append(el("span", { text: "…" }));
    p.append(n === st.page ? el("span", { class: "current", text: String(n) }) : go(n));
    last = n;
  });
  return p;
}

async function render() {
  const st = readState(), ix = XVR.index;
  FILTERS.forEach((f) => { document.getElementById("f-" + f).value = st[f]; });
  const rows = matching(st), pages = Math.max(1, Math.ceil(rows.length / ix.per_page));
  st.page = Math.min(st.page, pages);
  const mine = rows.slice((st.page - 1) * ix.per_page, st.page * ix.per_page);
  await Promise.all([...new Set(mine.map((i) => Math.floor(i / ix.chunk)))].map(loadChunk));
  document.getElementById("samples").replaceChildren(...mine.map((i) => card(XVR.chunks[Math.floor(i / ix.chunk)][i % ix.chunk])));
  document.getElementById("count").textContent = `${rows.length} of ${ix.rows.length} samples · page ${st.page} of ${pages}`;
  document.querySelectorAll(".pager").forEach((p) => p.replaceWith(pager(st, pages)));
  document.body.dataset.ready = "1";
}

function fillSelect(id, values) {
  const s = document.getElementById(id);
  values.forEach((v) => s.append(el("option", { value: v, text: v })));
  s.onchange = () => { const st = readState(); st[id.slice(2)] = s.value; st.page = 1; writeState(st); };
}

function start() {
  const ix = XVR.index;
  fillSelect("f-source", ix.sources); fillSelect("f-split", ix.splits);
  fillSelect("f-answer", ix.answers); fillSelect("f-verdict", ix.verdicts);
  const task = document.getElementById("f-task");
  task.onchange = () => { location.href = task.value + location.hash; };
  document.getElementById("overlay").onchange = (e) => {
    document.querySelectorAll("svg.markers").forEach((s) => { s.style.display = e.target.checked ? "" : "none"; });
  };
  window.addEventListener("hashchange", render);
  render().catch((e) => { document.getElementById("count").textContent = String(e); });
}
document.addEventListener("DOMContentLoaded", start);
