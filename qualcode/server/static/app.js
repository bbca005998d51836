// qualcode's coding page. Plain JavaScript, no build step, no library.
//
// Offsets: the server counts Unicode code points into the stored text (end
// exclusive); JavaScript strings count UTF-16 units. `Offsets` converts, and
// every span sent to the server is converted from the DOM selection here.
// Every rule (what a valid span is, what a disagreement is) is the server's.
"use strict";

const TOKEN = (document.querySelector('meta[name="qualcode-token"]') || {}).content || "";
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

class ApiError extends Error {}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch("/api" + path, {
      method, credentials: "same-origin",
      headers: { "X-Qualcode-Token": TOKEN, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (exc) {
    throw new ApiError("the server does not answer (was it stopped?); nothing was saved");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error || `the server answered ${response.status}`);
  return data;
}

function status(message, error = false) {
  const node = $("status");
  node.textContent = message;
  node.classList.toggle("error", error);
}

async function guarded(work) {
  try {
    return await work();
  } catch (exc) {
    status(exc instanceof ApiError ? exc.message : "something went wrong on the page: " + exc, true);
    return undefined;
  }
}

// ------------------------------------------------------------------ offsets

class Offsets {
  constructor(text) {
    this.text = text;
    this.simple = !/[\uD800-\uDFFF]/.test(text);
    if (this.simple) return;
    const toUnit = [], toPoint = new Uint32Array(text.length + 1);
    let point = 0;
    for (let unit = 0; unit < text.length; point++) {
      toUnit.push(unit);
      const wide = text.codePointAt(unit) > 0xffff;
      toPoint[unit] = point;
      if (wide) toPoint[unit + 1] = point + 1;  // inside a pair: counts as after it
      unit += wide ? 2 : 1;
    }
    toUnit.push(text.length);
    toPoint[text.length] = point;
    this.toUnit = Uint32Array.from(toUnit);
    this.toPoint = toPoint;
  }
  unit(point) { return this.simple ? point : this.toUnit[point]; }
  point(unit) { return this.simple ? unit : this.toPoint[unit]; }
}

// ------------------------------------------------------------------ state

const state = {
  session: null, documents: [], codebook: null, codes: new Map(), doc: null, offsets: null,
  codings: [], memos: [], segs: [], selection: null, coding: null, undo: [], disagreements: [],
  current: null, hits: [], cursor: -1,
};

const reconciling = () => state.session && state.session.mode === "reconcile";

// ------------------------------------------------------------------ start

async function start() {
  bindKeys();
  const ok = await guarded(async () => {
    state.session = await api("GET", "/session");
    const s = state.session;
    $("title").textContent = `qualcode · ${s.project}`;
    $("who").textContent = s.mode === "code"
      ? `coding as ${s.coder}` + (s.sample ? ` · sample ${s.sample}` : "")
      : `reconciling ${s.coders[0]} and ${s.coders[1]} into ${s.into} (unit: ${s.unit})`;
    document.title = `qualcode · ${s.project}`;
    $("disagreements-pane").hidden = s.mode !== "reconcile";
    await Promise.all([loadDocuments(), loadCodebook()]);
    return true;
  });
  if (!ok) return;
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("doc"));
  const first = state.documents.find((d) => d.id === wanted) || state.documents[0];
  if (first) await openDocument(first.id);
  else status("no documents to show: import transcripts first (qualcode import)");
}

// ------------------------------------------------------------------ documents

async function loadDocuments() {
  state.documents = await api("GET", "/documents");
  const list = $("documents");
  list.replaceChildren(...state.documents.map((d) => {
    const progress = reconciling()
      ? `${d.codings} open · ${d.units_coded} decided`
      : `${d.units_coded} of ${d.units} paragraphs coded · ${d.codings} codings`;
    return el("li", {}, el("button", {
      type: "button", dataset: { doc: d.id }, "aria-current": state.doc && state.doc.id === d.id ? "true" : "false",
      onclick: () => guarded(() => openDocument(d.id)),
    }, `${d.name}`, d.respondent_id ? ` (${d.respondent_id})` : "", el("span", { class: "progress", text: progress })));
  }));
}

async function openDocument(id, keepCoding = false) {
  const [doc, codings, memos] = await Promise.all([
    api("GET", `/documents/${id}`), api("GET", `/documents/${id}/codings`), api("GET", `/memos?document_id=${id}`)]);
  state.doc = doc;
  state.offsets = new Offsets(doc.text);
  state.codings = codings;
  state.memos = memos;
  state.cursor = -1;
  history.replaceState(null, "", `#doc=${id}`);
  $("document-heading").textContent = doc.name + (doc.respondent_id ? ` · respondent ${doc.respondent_id}` : "");
  const memo = memos.find((m) => m.document_id === id && m.coding_id === null);
  $("document-memo").value = memo ? memo.text : "";
  $("document-memo-box").dataset.memo = memo ? memo.id : "";
  for (const button of $("documents").querySelectorAll("button")) {
    button.setAttribute("aria-current", Number(button.dataset.doc) === id ? "true" : "false");
  }
  if (!keepCoding) closeCoding();
  if (reconciling()) await loadDisagreements();
  renderTranscript();
}

async function refreshCodings(changed = null) {
  const id = state.doc.id;
  const [codings, memos] = await Promise.all([api("GET", `/documents/${id}/codings`), api("GET", `/memos?document_id=${id}`)]);
  state.codings = codings;
  state.memos = memos;
  const counts = Promise.all([loadDocuments(), loadCodebook()]);  // asked for while the text is drawn
  renderTranscript(changed);
  await counts;
}

// ------------------------------------------------------------------ the transcript

function blocksOf(doc) {
  // One block per paragraph, from the end of the one before (so a speaker label
  // and the blank lines before a paragraph belong to it); the tail to the last.
  const length = [...doc.text].length;
  const units = [...doc.units].sort((a, b) => a.start - b.start);
  if (!units.length) return [{ start: 0, body: 0, end: length, unit: null }];
  const blocks = units.map((unit, i) => ({ start: i ? units[i - 1].end : 0, body: unit.start, end: unit.end, unit }));
  blocks[blocks.length - 1].end = Math.max(length, blocks[blocks.length - 1].end);
  return blocks;
}

function colourOf(key) {
  const code = state.codes.get(key);
  return (code && code.color) || "#999999";
}

function withAlpha(hex, alpha) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex) || /^#?([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex);
  if (!m) return hex;
  const full = m.length === 2 ? m[1] : m.slice(1).map((c) => c + c).join("");
  const n = parseInt(full, 16);
  return `rgba(${n >> 16 & 255}, ${n >> 8 & 255}, ${n & 255}, ${alpha})`;
}

function tagLabel(coding) {
  const code = state.codes.get(coding.code);
  const key = code && code.shortcut ? `${code.shortcut} ${coding.code}` : coding.code;
  return reconciling() ? `${coding.coder}: ${key}` : key;
}

// Draws the transcript. With ``changed`` (code-point ranges whose codings changed), only the
// paragraphs over those ranges are drawn again; the others keep their nodes.
function renderTranscript(changed = null) {
  const doc = state.doc, off = state.offsets, text = doc.text;
  const container = $("transcript");
  const partial = changed && state.rendered === doc.id && !reconciling();
  const fragment = document.createDocumentFragment();
  const paras = [], blockSegs = [];
  const codings = [...state.codings].sort((a, b) => a.start - b.start || b.end - a.end);
  const turns = doc.turns || [];
  const spansA = new Set(), spansB = new Set();
  if (reconciling() && state.current) {
    const [a, b] = state.session.coders;
    for (const [s, e] of state.current.spans[a] || []) spansA.add(`${s}:${e}`);
    for (const [s, e] of state.current.spans[b] || []) spansB.add(`${s}:${e}`);
  }
  let turnIndex = 0, next = 0, active = [], previousTurn = null;
  const blocks = blocksOf(doc);
  for (let index = 0; index < blocks.length; index++) {
    const block = blocks[index];
    // the codings over this block: a sweep, since blocks and codings are both in order
    while (next < codings.length && codings[next].start < block.end) active.push(codings[next++]);
    active = active.filter((c) => c.end > block.body);
    const here = active.filter((c) => c.start < block.end);
    while (turnIndex < turns.length && turns[turnIndex].end <= block.body) turnIndex++;
    const turn = turns[turnIndex];
    const inTurn = turn && turn.start <= block.body && block.body < turn.end;
    const first = inTurn && previousTurn !== turnIndex;
    previousTurn = inTurn ? turnIndex : null;
    if (partial && !changed.some(([s, e]) => s < block.end && e > block.start)) {
      paras.push(state.paras[index]);
      blockSegs.push(state.blockSegs[index]);
      continue;
    }
    const para = el("div", { class: "para", dataset: { start: block.body, end: block.end } });
    const segs = [];
    if (inTurn) {
      para.classList.add(turn.role || "other");
      para.dataset.turn = String(turnIndex);
      if (first) {
        para.classList.add("turn-start");
        const who = turn.role === "interviewer" ? "Interviewer" : turn.speaker || "";
        para.dataset.who = who + (turn.respondent_id && turn.respondent_id !== who ? ` · respondent ${turn.respondent_id}` : "")
          + (turn.role === "interviewer" ? " (interviewer turn)" : "");
      }
    }
    // the label before the paragraph (blank lines dropped from view, offsets kept)
    const gap = text.slice(off.unit(block.start), off.unit(block.body));
    const lead = gap.length - gap.replace(/^\s+/, "").length;
    if (lead < gap.length) {
      const seg = el("span", { class: "seg label", dataset: { u: off.unit(block.start) + lead } }, gap.slice(lead));
      para.append(seg);
      segs.push(seg);
    }
    const cuts = new Set([block.body, block.end]);
    for (const c of here) {
      cuts.add(Math.max(c.start, block.body));
      cuts.add(Math.min(c.end, block.end));
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i], b = points[i + 1];
      const covering = here.filter((c) => c.start <= a && c.end >= b);
      for (const c of here) {
        if (c.start === a && c.end > a) {
          const tag = el("button", {
            type: "button", class: "tag", tabindex: "0", dataset: { coding: c.id, label: tagLabel(c) },
            "aria-label": `coding ${c.code}${reconciling() ? " by " + c.coder : ""}: show it`,
            onclick: (event) => { event.stopPropagation(); showCoding(c.id); },
          });
          tag.style.backgroundColor = withAlpha(colourOf(c.code), 0.55);
          para.append(tag);
        }
      }
      const seg = el("span", { class: "seg", dataset: { u: off.unit(a) } }, text.slice(off.unit(a), off.unit(b)));
      if (covering.length) {
        const inner = covering[covering.length - 1];
        seg.classList.add("coded");
        seg.dataset.codings = covering.map((c) => c.id).join(" ");
        seg.style.backgroundColor = withAlpha(colourOf(inner.code), 0.3);
        const others = covering.slice(0, -1);
        if (others.length) {
          seg.style.boxShadow = others.map((c, k) => `inset 0 -${3 * (k + 1)}px 0 ${withAlpha(colourOf(c.code), 0.9)}`).join(", ");
        }
        if (reconciling()) {
          const [ca, cb] = state.session.coders;
          if (covering.some((c) => c.coder === ca && spanMarked(spansA, c))) seg.classList.add("a-span");
          if (covering.some((c) => c.coder === cb && spanMarked(spansB, c))) seg.classList.add("b-span");
        }
      }
      para.append(seg);
      segs.push(seg);
    }
    if (partial) container.replaceChild(para, state.paras[index]);
    else fragment.append(para);
    paras.push(para);
    blockSegs.push(segs);
  }
  if (!partial) container.replaceChildren(fragment);
  state.paras = paras;
  state.blockSegs = blockSegs;
  state.segs = blockSegs.flat();
  state.rendered = doc.id;
}

function spanMarked(set, coding) {
  if (!state.current || coding.code !== state.current.code) return false;
  for (const key of set) {
    const [s, e] = key.split(":").map(Number);
    if (coding.start < e && coding.end > s) return true;
  }
  return false;
}

// a DOM boundary → a UTF-16 offset into the text (null when it is outside the transcript)
function boundaryUnit(node, offset, isEnd) {
  const container = $("transcript");
  if (!container.contains(node)) return null;
  if (node.nodeType === Node.TEXT_NODE) {
    const seg = node.parentElement.closest(".seg");
    if (seg) return Number(seg.dataset.u) + offset;
  }
  // an element boundary (or inside a tag): the first segment after it, or the end of the one before
  const probe = document.createRange();
  probe.setStart(node, node.nodeType === Node.TEXT_NODE ? offset : Math.min(offset, node.childNodes.length));
  const segs = state.segs;
  let lo = 0, hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (probe.comparePoint(segs[mid], 0) < 0) lo = mid + 1; else hi = mid;
  }
  if (!isEnd && lo < segs.length) return Number(segs[lo].dataset.u);
  const before = segs[lo - 1];
  if (before) return Number(before.dataset.u) + before.textContent.length;
  return lo < segs.length ? Number(segs[lo].dataset.u) : null;
}

// the current selection in code points, white space trimmed; null when there is none
function selectedSpan() {
  const selection = window.getSelection();
  if (!state.doc || !selection.rangeCount || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  let su = boundaryUnit(range.startContainer, range.startOffset, false);
  let eu = boundaryUnit(range.endContainer, range.endOffset, true);
  if (su === null && eu === null) return null;
  const text = state.doc.text;
  if (su === null) su = 0;
  if (eu === null) eu = text.length;
  while (su < eu && /\s/.test(text[su])) su++;
  while (eu > su && /\s/.test(text[eu - 1])) eu--;
  if (eu <= su) return null;
  const off = state.offsets;
  return { start: off.point(su), end: off.point(eu) };
}

function segAt(unit) {
  const segs = state.segs;
  let lo = 0, hi = segs.length - 1, found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (Number(segs[mid].dataset.u) <= unit) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return segs[found];
}

function domPoint(unit) {
  const seg = segAt(unit);
  const node = seg.firstChild || seg;
  return [node, Math.max(0, Math.min(unit - Number(seg.dataset.u), node.length || 0))];
}

// select code points [start, end) in the transcript and bring them into view
function selectSpan(start, end) {
  const off = state.offsets;
  const range = document.createRange();
  range.setStart(...domPoint(off.unit(start)));
  range.setEnd(...domPoint(off.unit(end)));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  const seg = segAt(off.unit(start));
  seg.scrollIntoView({ block: "center" });
  state.selection = { start, end };
}

// ------------------------------------------------------------------ codebook

async function loadCodebook() {
  state.codebook = await api("GET", "/codebook");
  state.codes = new Map(state.codebook.codes.map((c) => [c.key, c]));
  renderCodes();
  const options = state.codebook.codes.filter((c) => c.codable)
    .map((c) => el("option", { value: c.key, text: `${c.label} (${c.key})` }));
  $("coding-code").replaceChildren(...options.map((o) => o.cloneNode(true)));
  $("search-code-select").replaceChildren(...options);
}

function renderCodes() {
  const filter = $("code-filter").value.trim().toLowerCase();
  const items = [];
  for (const code of state.codebook.codes) {
    if (!code.active) continue;
    const matches = !filter || code.key.toLowerCase().includes(filter) || (code.label || "").toLowerCase().includes(filter);
    if (!matches) continue;
    const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.backgroundColor = code.color || "#999";
    const button = el("button", {
      type: "button", class: code.codable ? "code" : "group", dataset: { key: code.key },
      "aria-disabled": code.codable ? "false" : "true",
      onclick: () => code.codable && guarded(() => applyCode(code.key)),
      onfocus: () => showCodeDetail(code), onmouseenter: () => showCodeDetail(code),
    }, swatch, code.shortcut ? el("span", { class: "key", text: code.shortcut, "aria-label": `key ${code.shortcut}` }) : "",
    el("span", { text: code.label || code.key }), el("span", { class: "count", text: String(code.count || 0), title: "codings" }));
    button.style.paddingLeft = `${0.4 + code.depth * 0.9}rem`;
    items.push(el("li", {}, button));
  }
  $("codes").replaceChildren(...items);
}

function showCodeDetail(code) {
  const parts = [el("dt", { text: `${code.label} (${code.key})` })];
  const add = (name, value) => value && parts.push(el("dt", { text: name }), el("dd", { text: value }));
  add("Definition", code.definition);
  add("Include", code.include);
  add("Exclude", code.exclude);
  if (code.examples && code.examples.length) add("Examples", code.examples.map((e) => `“${e}”`).join("  "));
  $("code-detail").replaceChildren(el("dl", {}, ...parts));
}

// ------------------------------------------------------------------ coding

async function applyCode(key, span = null) {
  if (reconciling()) { status("this page reconciles: decide the disagreements on the right"); return; }
  span = span || selectedSpan() || state.selection;
  if (!span) { status("select some text first, then press a code's key"); return; }
  status("saving…");
  const coding = await api("POST", "/codings", { document_id: state.doc.id, code: key, start: span.start, end: span.end });
  state.undo.push({ kind: "add", coding });
  window.getSelection().removeAllRanges();
  state.selection = null;
  await refreshCodings([[coding.start, coding.end]]);
  status(`saved: ${key} on ${span.end - span.start} characters`);
  updateUndo();
}

function codingById(id) { return state.codings.find((c) => c.id === Number(id)); }

function showCoding(id) {
  const coding = codingById(id);
  if (!coding) return;
  state.coding = coding;
  const off = state.offsets;
  const code = state.codes.get(coding.code);
  $("coding-pane").hidden = false;
  $("coding-heading").textContent = `Coding: ${code ? code.label : coding.code}`;
  $("coding-quote").textContent = "“" + state.doc.text.slice(off.unit(coding.start), off.unit(coding.end)) + "”";
  $("coding-meta").textContent = `${coding.code} · coder ${coding.coder} · made by ${coding.origin} · characters ${coding.start}–${coding.end}`;
  const own = !reconciling();
  $("coding-code").value = coding.code;
  $("coding-code").disabled = !own;
  $("coding-remove").hidden = !own;
  const memo = state.memos.find((m) => m.coding_id === coding.id);
  $("coding-memo").value = memo ? memo.text : (coding.memo || "");
  $("coding-memo").disabled = !own;
  $("coding-memo-save").hidden = !own;
  for (const tag of document.querySelectorAll(".tag.active")) tag.classList.remove("active");
  const tag = document.querySelector(`.tag[data-coding="${coding.id}"]`);
  if (tag) tag.classList.add("active");
  $("coding-code").focus();
}

function closeCoding() {
  state.coding = null;
  $("coding-pane").hidden = true;
  for (const tag of document.querySelectorAll(".tag.active")) tag.classList.remove("active");
}

async function removeCoding() {
  const coding = state.coding;
  if (!coding) return;
  await api("DELETE", `/codings/${coding.id}`);
  state.undo.push({ kind: "remove", coding });
  closeCoding();
  await refreshCodings([[coding.start, coding.end]]);
  status(`removed: ${coding.code}`);
  updateUndo();
  $("transcript").focus();
}

async function changeCode(key) {
  const coding = state.coding;
  if (!coding || key === coding.code) return;
  const changed = await api("PATCH", `/codings/${coding.id}`, { code: key });
  state.undo.push({ kind: "change", coding: changed, from: coding.code });
  await refreshCodings([[coding.start, coding.end]]);
  showCoding(changed.id);
  status(`changed to ${key}`);
  updateUndo();
}

async function saveMemo(target, text) {
  const memo = target.coding_id
    ? state.memos.find((m) => m.coding_id === target.coding_id)
    : state.memos.find((m) => m.document_id === target.document_id && m.coding_id === null);
  if (memo && !text.trim()) await api("DELETE", `/memos/${memo.id}`);
  else if (memo) await api("PATCH", `/memos/${memo.id}`, { text });
  else if (text.trim()) await api("POST", "/memos", { ...target, text });
  state.memos = await api("GET", `/memos?document_id=${state.doc.id}`);
}

async function undo() {
  if (reconciling()) {
    const result = await api("POST", "/disagreements/undo");
    await loadDisagreements();
    await refreshCodings();
    status(result.undone ? `undone: the decision on ${result.undone.unit_key} × ${result.undone.code}` : "undone");
    return;
  }
  const action = state.undo.pop();
  updateUndo();
  if (!action) { status("nothing to undo"); return; }
  const c = action.coding;
  if (action.kind === "add") await api("DELETE", `/codings/${c.id}`);
  else if (action.kind === "remove") {
    await api("POST", "/codings", { document_id: c.document_id, code: c.code, start: c.start, end: c.end });
  } else if (action.kind === "change") await api("PATCH", `/codings/${c.id}`, { code: action.from });
  closeCoding();
  if (c.document_id !== state.doc.id) await openDocument(c.document_id);
  else await refreshCodings([[c.start, c.end]]);
  status(`undone: ${action.kind === "add" ? "the coding" : action.kind === "remove" ? "the removal" : "the change"} of ${c.code}`);
}

function updateUndo() { $("undo").disabled = !reconciling() && !state.undo.length; }

// ------------------------------------------------------------------ search

async function search(query) {
  query = query.trim();
  if (query.length < 2) { status("search for at least 2 characters"); return; }
  state.hits = await api("GET", `/search?q=${encodeURIComponent(query)}`);
  const summary = `${state.hits.length} hit${state.hits.length === 1 ? "" : "s"}${state.hits.length >= 200 ? " (the first 200)" : ""}`;
  $("search-summary").textContent = summary;
  $("search-code").hidden = !state.hits.length || reconciling();
  $("search-results").replaceChildren(...state.hits.map((hit) => el("li", {}, el("button", {
    type: "button", onclick: () => guarded(() => openHit(hit)),
  }, el("strong", { text: hit.document + ": " }), "…" + hit.before, el("mark", { text: hit.match }), hit.after + "…"))));
}

async function openHit(hit) {
  if (!state.doc || state.doc.id !== hit.document_id) await openDocument(hit.document_id);
  selectSpan(hit.start, hit.end);
  $("transcript").focus({ preventScroll: true });
  status("hit selected: press a code's key to code it");
}

async function codeAllHits() {
  const key = $("search-code-select").value;
  let done = 0;
  for (const hit of state.hits) {
    const coding = await api("POST", "/codings", { document_id: hit.document_id, code: key, start: hit.start, end: hit.end });
    state.undo.push({ kind: "add", coding });
    done++;
    status(`coding the hits: ${done} of ${state.hits.length}`);
  }
  updateUndo();
  await refreshCodings();
  status(`${done} hits coded with ${key} (Undo takes them back one at a time)`);
}

// ------------------------------------------------------------------ reconciliation

async function loadDisagreements() {
  state.disagreements = await api("GET", `/disagreements?document_id=${state.doc.id}`);
  const open = state.disagreements.filter((d) => !d.decision);
  if (!state.current || !state.disagreements.some((d) => d.id === state.current.id)) state.current = open[0] || null;
  else state.current = state.disagreements.find((d) => d.id === state.current.id);
  $("disagreements-summary").textContent =
    `${open.length} open, ${state.disagreements.length - open.length} decided in this document`;
  renderDisagreements();
}

function spansText(spans) {
  const off = state.offsets;
  if (!spans || !spans.length) return "(nothing)";
  return spans.map(([s, e]) => "“" + state.doc.text.slice(off.unit(s), off.unit(e)) + "”").join(" … ");
}

function renderDisagreements() {
  const [a, b] = state.session.coders;
  $("disagreements").replaceChildren(...state.disagreements.map((d) => {
    const code = state.codes.get(d.code);
    const current = state.current && state.current.id === d.id;
    const item = el("li", { class: (current ? "current " : "") + (d.decision ? "decided" : ""), dataset: { id: d.id } },
      el("strong", { text: `${code ? code.label : d.code} (${d.code})` }), ` · ${d.unit_key} · ${d.kind}`,
      el("div", { class: "spans" }, el("b", { text: `${a} (solid): ` }), spansText(d.spans[a])),
      el("div", { class: "spans" }, el("b", { text: `${b} (dashed): ` }), spansText(d.spans[b])));
    if (d.decision) {
      item.append(el("p", { text: `decided: ${d.decision.decision}` + (d.decision.note ? ` — ${d.decision.note}` : "") }));
    } else {
      const note = el("input", { type: "text", placeholder: "note (optional)", "aria-label": "note on this decision" });
      const decide = (kind) => guarded(() => decideCurrent(d, kind, note.value));
      item.append(note, el("div", { class: "row" },
        el("button", { type: "button", text: "Keep (k)", title: "keep: the union of both coders' spans",
          onclick: () => decide("keep") }),
        el("button", { type: "button", text: "Drop (d)", onclick: () => decide("drop") }),
        el("button", { type: "button", text: "Edit to selection (e)", onclick: () => decide("edit") })));
    }
    item.addEventListener("focusin", () => focusDisagreement(d, false));
    item.addEventListener("click", () => focusDisagreement(d, false));
    return item;
  }));
}

function focusDisagreement(d, scroll = true) {
  if (state.current && state.current.id === d.id) return;
  state.current = d;
  renderTranscript();
  for (const li of $("disagreements").children) li.classList.toggle("current", li.dataset.id === d.id);
  if (scroll) selectSpan(d.unit.start, d.unit.start);
}

async function decideCurrent(d, kind, note) {
  d = d || state.current;
  if (!d || d.decision) { status("no open disagreement chosen"); return; }
  const body = { decision: kind, note: note || undefined };
  if (kind === "edit") {
    const span = selectedSpan();
    if (!span) { status("select the span to keep in the transcript first, then press e"); return; }
    body.spans = [[span.start, span.end]];
  }
  await api("POST", `/disagreements/${encodeURIComponent(d.id)}/decision`, body);
  state.current = null;
  await loadDisagreements();
  await refreshCodings();
  status(`saved: ${kind} for ${d.unit_key} × ${d.code}`);
  const next = $("disagreements").querySelector("li.current button");
  if (next) next.focus();
}

// ------------------------------------------------------------------ keys

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]");
}

function paragraphs() { return [...$("transcript").querySelectorAll(".para")]; }

function moveCursor(step) {
  const paras = paragraphs();
  if (!paras.length) return;
  const old = paras[state.cursor];
  if (old) old.classList.remove("cursor");
  state.cursor = Math.max(0, Math.min(paras.length - 1, state.cursor + step));
  const para = paras[state.cursor];
  para.classList.add("cursor");
  const first = para.querySelector(".seg:not(.label)") || para.querySelector(".seg");
  if (first) {
    const selection = window.getSelection();
    selection.collapse(first.firstChild || first, 0);
  }
  para.scrollIntoView({ block: "nearest" });
}

function selectCursorParagraph() {
  const para = paragraphs()[state.cursor];
  if (!para) return;
  selectSpan(Number(para.dataset.start), Number(para.dataset.end));
}

function bindKeys() {
  $("help-button").addEventListener("click", () => {
    const help = $("help");
    help.hidden = !help.hidden;
    $("help-button").setAttribute("aria-expanded", String(!help.hidden));
  });
  $("undo").addEventListener("click", () => guarded(undo));
  $("coding-remove").addEventListener("click", () => guarded(removeCoding));
  $("coding-close").addEventListener("click", closeCoding);
  $("coding-code").addEventListener("change", (event) => guarded(() => changeCode(event.target.value)));
  $("coding-memo-save").addEventListener("click", () => guarded(async () => {
    await saveMemo({ coding_id: state.coding.id }, $("coding-memo").value);
    await refreshCodings();
    status("memo saved");
  }));
  $("document-memo-save").addEventListener("click", () => guarded(async () => {
    await saveMemo({ document_id: state.doc.id }, $("document-memo").value);
    status("memo saved");
  }));
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); guarded(() => search($("search").value)); });
  $("search-code-all").addEventListener("click", () => guarded(codeAllHits));
  $("code-filter").addEventListener("input", renderCodes);
  $("code-filter").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const first = $("codes").querySelector("button.code");
      if (first) guarded(() => applyCode(first.dataset.key));
      $("code-filter").value = "";
      renderCodes();
      $("transcript").focus({ preventScroll: true });
    } else if (event.key === "Escape") {
      $("code-filter").value = "";
      renderCodes();
      $("transcript").focus({ preventScroll: true });
    }
  });
  $("transcript").addEventListener("click", (event) => {
    const seg = event.target.closest(".seg.coded");
    if (seg && window.getSelection().isCollapsed) {
      const ids = seg.dataset.codings.split(" ");
      showCoding(ids[ids.length - 1]);
    }
  });
  document.addEventListener("selectionchange", () => {
    // a selection in the transcript is remembered while the codebook filter has the focus
    const selection = window.getSelection();
    if (selection.rangeCount && $("transcript").contains(selection.anchorNode)) state.selection = selectedSpan();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      window.getSelection().removeAllRanges();
      state.selection = null;
      closeCoding();
      $("help").hidden = true;
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !typing(event.target)) {
      event.preventDefault();
      guarded(undo);
      return;
    }
    if (typing(event.target) || event.altKey || event.metaKey) return;
    const inTranscript = event.target === $("transcript") || $("transcript").contains(event.target);
    if (inTranscript && (event.key === "ArrowDown" || event.key === "ArrowUp") && !event.shiftKey) {
      event.preventDefault();
      moveCursor(event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (inTranscript && event.shiftKey && ["ArrowRight", "ArrowLeft", "End", "Home"].includes(event.key)) {
      event.preventDefault();
      const selection = window.getSelection();
      if (!selection.rangeCount) moveCursor(1);
      const forward = event.key === "ArrowRight" || event.key === "End";
      const by = event.key === "End" || event.key === "Home" ? "lineboundary" : event.ctrlKey ? "word" : "character";
      selection.modify("extend", forward ? "forward" : "backward", by);
      return;
    }
    if (inTranscript && event.key === "Enter" && event.target === $("transcript")) {
      event.preventDefault();
      selectCursorParagraph();
      return;
    }
    if (event.ctrlKey) return;
    if (event.key === "?") { $("help-button").click(); return; }
    if (event.key === "Delete" && state.coding && !reconciling()) { event.preventDefault(); guarded(removeCoding); return; }
    if (reconciling()) {
      const kinds = { k: "keep", d: "drop", e: "edit" };
      if (kinds[event.key] && state.current) {
        event.preventDefault();
        guarded(() => decideCurrent(state.current, kinds[event.key], ""));
      }
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      const code = state.codebook && state.codebook.codes.find((c) => c.shortcut === event.key);
      if (code) { event.preventDefault(); guarded(() => applyCode(code.key)); }
      return;
    }
    if ((event.key === "/" || /^[a-z]$/i.test(event.key)) && (selectedSpan() || state.selection)) {
      event.preventDefault();
      state.selection = selectedSpan() || state.selection;
      $("code-filter").value = event.key === "/" ? "" : event.key;
      renderCodes();
      $("code-filter").focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", start);
