// The recording player: replays a recording's stream on the recording clock. The shared screen is drawn by the
// live session's own viewer (plugin_libs/screenshare/static/viewer.js) fed with the recorded frames; chapters,
// chat and events are a list to jump to; media files (<audio>/<video>) follow the clock; recorded co-browse is
// replayed by rrweb in a frame that runs no script (player_cobrowse.js).
// Segments are fetched from the host (which checks their SHA-256 first); a seek starts at the last key event whose
// whole picture (the sharer's answer to the recorder's refresh) was complete by the moment, and replays from there
// without delay up to it.
import { el, postJSON } from "/static/core/client.js";
import { DesktopViewer } from "/static/lib/screenshare/viewer.js";
import { CobrowseReplay, cobrowseMessage, hasSnapshot } from "./player_cobrowse.js";

const KIND_JSON = 1, KIND_BINARY = 2, KIND_EVENT = 3;
const MAGIC = "SHREC\u0000\u0001\n";
const MEDIA_DRIFT = 0.3;           // seconds a media element may drift before it is moved
const EXPORT_POLL_MS = 1000;

export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n) => String(n).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`
    : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

// the records of a segment file (the host served only complete, checked records)
export function parseSegment(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error("not a recording segment");
  const out = [];
  const text = new TextDecoder();
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const start = pos + 8;
    if (start + len > bytes.length) break;
    const t = Number(view.getBigUint64(start));
    const kind = view.getUint8(start + 8), dir = view.getUint8(start + 9), n = view.getUint16(start + 10);
    const who = text.decode(bytes.subarray(start + 12, start + 12 + n));
    const body = bytes.subarray(start + 12 + n, start + len);
    out.push({ t, kind, dir, who, body });
    pos = start + len;
  }
  return out;
}

// a recorded frame from an agent carries no "from" (the host adds it when relaying): add it for the viewer
function withSender(body, sender) {
  const n = body[0];
  const header = JSON.parse(new TextDecoder().decode(body.subarray(1, 1 + n)));
  header.from = sender;
  let raw = new TextEncoder().encode(JSON.stringify(header));
  if (raw.length > 255) { delete header.t; delete header.mon; raw = new TextEncoder().encode(JSON.stringify(header)); }
  const out = new Uint8Array(1 + raw.length + body.length - 1 - n);
  out[0] = raw.length;
  out.set(raw, 1);
  out.set(body.subarray(1 + n), 1 + raw.length);
  return { header, buffer: out.buffer };
}

// the area a frame chunk's tile records paint (not counting copies of pixels already there)
function paintedArea(payload) {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let pos = 0, area = 0;
  while (pos + 14 <= payload.byteLength) {
    if (view.getUint8(pos + 8) !== 3) area += view.getUint16(pos + 4, true) * view.getUint16(pos + 6, true);
    pos += 14 + view.getUint32(pos + 10, true);
  }
  return area;
}

// in a segment's records: the key event ({"e":"key"}) and when the whole picture after it was complete: the
// sharer's (a frame that started after the event and paints every pixel of its size) and, when co-browse is in the
// segment, the page's (a full snapshot after the event)
function findKey(records) {
  const text = new TextDecoder();
  const k = records.findIndex((r) => r.kind === KIND_EVENT && r.body.length < 64 && text.decode(r.body).includes('"key"'));
  if (k < 0) return null;
  const screen = screenReady(records, k);
  const page = pageReady(records, k);
  if (screen === null || page === null) return null;
  if (screen === undefined && page === undefined) return null;      // nothing shown in the segment after the key
  return { index: k, ready: Math.max(screen ?? 0, page ?? 0) };
}

// when the co-browsed page's full snapshot after the key came: its time, null when co-browse is there but no
// snapshot, undefined when there is no co-browse after the key
function pageReady(records, k) {
  let seen;
  for (let i = k + 1; i < records.length; i += 1) {
    const r = records[i];
    const m = pageOf(r);
    if (!m || m.type !== "cobrowse.events") continue;
    if (hasSnapshot(m)) return r.t;
    seen = null;
  }
  return seen;
}

// the same for the shared screen: the time its whole picture was complete, null when frames came but never a
// whole picture, undefined when no frame came after the key
function screenReady(records, k) {
  const text = new TextDecoder();
  const frames = new Map();           // frame id -> { need: w*h, area }
  let seen;
  for (let i = k + 1; i < records.length; i += 1) {
    const r = records[i];
    if (r.kind !== KIND_BINARY || r.dir !== 1) continue;
    let header;
    try { header = JSON.parse(text.decode(r.body.subarray(1, 1 + r.body[0]))); } catch { continue; }
    if (!String(header.type).endsWith(".frame")) continue;
    seen = null;
    const id = `${r.who}|${header.type}|${header.seq}`;
    if ((header.c ?? 0) === 0 && header.w && header.h) frames.set(id, { need: header.w * header.h, area: 0 });
    const f = frames.get(id);
    if (!f) continue;
    f.area += paintedArea(r.body.subarray(1 + r.body[0]));
    if ((header.c ?? 0) === (header.n ?? 1) - 1) {
      if (f.area >= f.need) return r.t;
      frames.delete(id);
    }
  }
  return seen;
}

// A seek replays many frames at once; tiles that later tiles of the replay paint over entirely are never seen, so
// they are left out before the viewer decodes them (a backward pass over a 64-pixel grid per screen: a tile is
// dropped when every cell it touches is painted later; a copy keeps the cells it reads from). A screen whose size
// changes within the replay is replayed whole.
const CELL = 64, KIND_COPY = 3, TILE_HEAD = 14;

function pruneReplay(records) {
  const text = new TextDecoder();
  const frames = [];
  const sizes = new Map();            // stream -> "WxH" of its frames in the replay, or null when it changed
  records.forEach((r, i) => {
    if (r.kind !== KIND_BINARY || r.dir !== 1) return;
    let header;
    try { header = JSON.parse(text.decode(r.body.subarray(1, 1 + r.body[0]))); } catch { return; }
    if (!String(header.type).endsWith(".frame")) return;
    const stream = `${r.who}|${header.type}`;
    if (header.w && header.h) {
      const size = `${header.w}x${header.h}`;
      if (!sizes.has(stream)) sizes.set(stream, size);
      else if (sizes.get(stream) !== size) sizes.set(stream, null);
    }
    frames.push({ i, stream, start: 1 + r.body[0] });
  });
  const grids = new Map();
  for (const [stream, size] of sizes) {
    if (!size) continue;
    const [w, h] = size.split("x").map(Number);
    const cols = Math.ceil(w / CELL), rows = Math.ceil(h / CELL);
    grids.set(stream, { w, h, cols, rows, painted: new Uint8Array(cols * rows) });
  }
  const out = records.slice();
  for (let f = frames.length - 1; f >= 0; f -= 1) {
    const { i, stream, start } = frames[f];
    const grid = grids.get(stream);
    if (!grid) continue;
    const body = records[i].body;
    const payload = body.subarray(start);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const tiles = [];
    for (let pos = 0; pos + TILE_HEAD <= payload.byteLength;) {
      const len = view.getUint32(pos + 10, true);
      tiles.push({ pos, end: pos + TILE_HEAD + len, x: view.getUint16(pos, true), y: view.getUint16(pos + 2, true),
        w: view.getUint16(pos + 4, true), h: view.getUint16(pos + 6, true), kind: view.getUint8(pos + 8) });
      pos += TILE_HEAD + len;
    }
    const keep = new Array(tiles.length).fill(true);
    for (let k = tiles.length - 1; k >= 0; k -= 1) {
      const t = tiles[k];
      if (allPainted(grid, t)) { keep[k] = false; continue; }
      markInside(grid, t, 1);
      if (t.kind === KIND_COPY && t.end - t.pos >= TILE_HEAD + 4) {
        const sx = view.getUint16(t.pos + TILE_HEAD, true), sy = view.getUint16(t.pos + TILE_HEAD + 2, true);
        markTouched(grid, { x: sx, y: sy, w: t.w, h: t.h }, 0);      // what it copies from is needed
      }
    }
    if (keep.every(Boolean)) continue;
    const parts = tiles.filter((_, k) => keep[k]).map((t) => payload.subarray(t.pos, t.end));
    const size = parts.reduce((n, p) => n + p.length, 0);
    const rebuilt = new Uint8Array(start + size);
    rebuilt.set(body.subarray(0, start));
    let at = start;
    for (const p of parts) { rebuilt.set(p, at); at += p.length; }
    out[i] = { ...records[i], body: rebuilt };
  }
  return out;
}

// co-browse batches before the replay's last full snapshot of the page are not needed to draw it
function pruneCobrowse(records) {
  let last = -1;
  records.forEach((r, i) => { const m = pageOf(r); if (m && hasSnapshot(m)) last = i; });
  return records.filter((r, i) => i >= last || pageOf(r)?.type !== "cobrowse.events");
}

// the co-browse message of a recorded message to the reps (parsed once), else null
function pageOf(r) {
  if (r.kind !== KIND_JSON || r.dir !== 0) return null;
  if (r.page === undefined) r.page = cobrowseMessage(r.body);
  return r.page;
}

function cellRange(grid, t) {
  const x1 = Math.min(grid.w, t.x + t.w), y1 = Math.min(grid.h, t.y + t.h);
  return { x0: t.x, y0: t.y, x1, y1 };
}

function allPainted(grid, t) {
  const { x0, y0, x1, y1 } = cellRange(grid, t);
  if (x1 <= x0 || y1 <= y0) return true;                 // outside the picture: draws nothing
  for (let r = Math.floor(y0 / CELL); r <= Math.floor((y1 - 1) / CELL); r += 1) {
    for (let c = Math.floor(x0 / CELL); c <= Math.floor((x1 - 1) / CELL); c += 1) {
      if (!grid.painted[r * grid.cols + c]) return false;
    }
  }
  return true;
}

// cells wholly inside the tile (a cell cut by the picture's edge counts as whole when the tile reaches the edge)
function markInside(grid, t, value) {
  const { x0, y0, x1, y1 } = cellRange(grid, t);
  for (let r = Math.ceil(y0 / CELL); r < grid.rows && Math.min((r + 1) * CELL, grid.h) <= y1; r += 1) {
    for (let c = Math.ceil(x0 / CELL); c < grid.cols && Math.min((c + 1) * CELL, grid.w) <= x1; c += 1) {
      grid.painted[r * grid.cols + c] = value;
    }
  }
}

function markTouched(grid, t, value) {
  const { x0, y0, x1, y1 } = cellRange(grid, t);
  if (x1 <= x0 || y1 <= y0) return;
  for (let r = Math.floor(y0 / CELL); r <= Math.floor((y1 - 1) / CELL); r += 1) {
    for (let c = Math.floor(x0 / CELL); c <= Math.floor((x1 - 1) / CELL); c += 1) grid.painted[r * grid.cols + c] = value;
  }
}

class Player {
  constructor(root) {
    this.root = root;
    this.$ = (sel) => root.querySelector(sel);
    this.t = 0;
    this.playing = false;
    this.speed = 1;
    this.segments = new Map();      // index -> Promise of records
    this.viewers = new Map();       // "sender|plugin" -> DesktopViewer
    this.shown = null;
    this.generation = 0;            // bumps on every seek: a replay of an older seek stops
  }

  async start() {
    const res = await fetch(this.root.dataset.index, { headers: { Accept: "application/json" } });
    const index = await res.json().catch(() => ({}));
    if (!res.ok) return this.problem(index.error?.message || `The recording could not be opened (${res.status}).`);
    this.index = index;
    if (index.damaged.length) {
      this.problem(`This recording was changed or damaged after it was made; what is damaged is not played: ${index.damaged.join("; ")}`);
    }
    const timeline = this.$(".player-timeline");
    timeline.max = String(index.duration_ms);
    timeline.addEventListener("input", () => this.seek(Number(timeline.value)));
    this.$(".player-play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.$(".player-speed").addEventListener("change", (e) => { this.speed = Number(e.target.value); this.syncMedia(true); });
    this.renderChapters();
    this.$(".player-export").addEventListener("click", () => this.exportWebm());
    document.addEventListener("keydown", (e) => {          // space: play/pause, unless a control has the focus
      if (e.key !== " " || e.target.closest("button, input, select, a, textarea")) return;
      e.preventDefault();
      if (this.playing) this.pause(); else this.play();
    });
    this.cobrowse = new CobrowseReplay(this.$(".player-cobrowse"), this.root.dataset.frame, () => this.screenShown());
    this.media = index.media.map((m) => {
      const node = el(m.kind, { src: m.url, preload: "auto", "data-first": m.first_ms, "aria-label": m.name });
      node.addEventListener("loadedmetadata", () => this.syncMedia(true));   // a seek before it loaded
      this.$(".player-media").append(node);
      return { node, first: m.first_ms };
    });
    await this.seek(0);
    this.root.dataset.ready = "1";
  }

  // the export is made on the host in the background (long recordings take minutes); the link comes when ready
  async exportWebm() {
    const button = this.$(".player-export"), state = this.$(".player-export-state");
    const url = button.dataset.url;
    button.disabled = true;
    try {
      let job = await postJSON(url);
      while (job.state === "waiting" || job.state === "running") {
        state.textContent = job.state === "waiting" ? "Waiting for another export…"
          : `Exporting… ${Math.round(job.progress * 100)} %`;
        await new Promise((ok) => setTimeout(ok, EXPORT_POLL_MS));
        const res = await fetch(url, { headers: { Accept: "application/json" } });
        job = await res.json();
        if (!res.ok) throw new Error(job.error?.message || `The export could not be checked (${res.status}).`);
      }
      if (job.state !== "done") throw new Error(job.error || "The export failed.");
      state.textContent = "Ready.";
      this.$(".player-download").hidden = false;
    } catch (err) {
      state.textContent = "";
      this.problem(err.message);
    } finally {
      button.disabled = false;
    }
  }

  problem(text) {
    const p = this.$(".player-problem");
    p.textContent = text;
    p.hidden = false;
  }

  renderChapters() {
    const list = this.$(".player-chapters");
    this.chapterItems = this.index.chapters.map((c) => {
      const li = el("li", { "data-t": c.t, "data-type": c.type },
        el("button", { type: "button", onclick: () => this.seek(c.t) },
          el("span", { class: "when", text: clock(c.t) }), el("span", { class: "label", text: c.label })));
      list.append(li);
      return li;
    });
    if (!this.chapterItems.length) list.append(el("li", { class: "empty", text: "No chapters." }));
    // the chapters as tick marks on the timeline
    this.$("#player-chapter-ticks").replaceChildren(...this.index.chapters.map((c) => el("option", { value: c.t })));
  }

  segmentAt(t) {
    const segs = this.index.segments;
    let i = 0;
    while (i + 1 < segs.length && segs[i + 1].first_ms <= t) i += 1;
    return i;
  }

  // where replaying to `t` may start: at the key event of the last segment whose whole picture after that event
  // was complete by `t` (segments without one are passed over), else at the very start
  async keyStart(t) {
    for (let i = this.segmentAt(t); i >= 0; i -= 1) {
      const key = findKey(await this.load(i));
      if (key && key.ready <= t) return { seg: i, pos: key.index };
    }
    return { seg: 0, pos: 0 };
  }

  load(i) {
    if (!this.segments.has(i)) {
      const seg = this.index.segments[i];
      this.segments.set(i, fetch(seg.url).then(async (res) => {
        if (!res.ok) {
          const body = await res.json().catch(() => ({}));
          throw new Error(body.error?.message || `Part of the recording could not be read (${res.status}).`);
        }
        return parseSegment(await res.arrayBuffer());
      }));
      this.segments.get(i).catch(() => this.segments.delete(i));
    }
    return this.segments.get(i);
  }

  // segments behind the one playing are dropped (an hour of a busy screen is gigabytes)
  forgetBefore(i) {
    for (const k of [...this.segments.keys()]) if (k < i) this.segments.delete(k);
  }

  // -- replay -------------------------------------------------------------------------------------
  viewerFor(sender, plugin) {
    const key = `${sender}|${plugin}`;
    let v = this.viewers.get(key);
    if (!v) {
      v = new DesktopViewer({ send: () => {}, plugin, onError: (m) => this.problem(m) });
      v.show(sender, false);
      v.root.hidden = true;
      this.$(".player-screen").append(v.root);
      this.viewers.set(key, v);
    }
    return v;
  }

  showViewer(v) {
    if (this.shown === v) return;
    for (const other of this.viewers.values()) other.root.hidden = other !== v;
    this.shown = v;
    this.screenShown();
  }

  screenShown() {
    const page = Boolean(this.cobrowse?.active);
    this.root.dataset.cobrowse = page ? "on" : "off";
    this.$(".player-no-screen").hidden = Boolean(this.shown) || page;
  }

  apply(rec) {
    if (rec.kind === KIND_BINARY && rec.dir === 1) {
      let frame;
      try { frame = withSender(rec.body, rec.who); } catch { return; }
      const type = String(frame.header.type || "");
      const dot = type.lastIndexOf(".");
      const verb = type.slice(dot + 1);
      if (verb !== "frame" && verb !== "cursor_shape") return;
      const v = this.viewerFor(rec.who, type.slice(0, dot));
      v.onBinary(frame.buffer);
      if (verb === "frame") this.showViewer(v);
    } else if (rec.kind === KIND_JSON && rec.dir === 1) {
      let m;
      try { m = JSON.parse(new TextDecoder().decode(rec.body)); } catch { return; }
      const type = String(m.type || "");
      if (type.endsWith(".cursor") && Number.isInteger(m.x) && Number.isInteger(m.y)) {
        const v = this.viewers.get(`${rec.who}|${type.slice(0, -".cursor".length)}`);
        if (v) v.onCursor({ agent: rec.who, x: m.x, y: m.y });
      }
    } else if (rec.kind === KIND_JSON && rec.dir === 0) {
      const m = pageOf(rec);
      if (m) this.cobrowse.message(m);
    } else if (rec.kind === KIND_EVENT) {
      let e;
      try { e = JSON.parse(new TextDecoder().decode(rec.body)); } catch { return; }
      if (e.e === "part_start" || e.e === "part_end") this.root.dataset.part = String(e.part ?? "");
    }
  }

  resetScreens() {
    for (const v of this.viewers.values()) { v.root.remove(); }
    this.viewers.clear();
    this.shown = null;
    this.cobrowse.reset();
  }

  // replay from the key frame before `target` up to it at once, then go on from there
  async seek(target) {
    const gen = ++this.generation;
    target = Math.max(0, Math.min(target, this.index.duration_ms));
    this.t = target;
    this.resetScreens();
    this.root.dataset.seeking = "1";
    try {
      const start = await this.keyStart(target);
      if (gen !== this.generation) return;
      this.cursor = start;
      for (const k of [...this.segments.keys()]) {
        if (k < this.cursor.seg - 1 || k > this.cursor.seg + 2) this.segments.delete(k);
      }
      const replay = [];
      await this.advance(target, gen, (r) => replay.push(r));
      if (gen !== this.generation) return;
      for (const r of pruneReplay(pruneCobrowse(replay))) this.apply(r);
      await Promise.all([...this.viewers.values()].map((v) => v.chain).concat(this.cobrowse.chain));
    } catch (err) {
      this.problem(err.message);
      this.pause();
    }
    if (gen !== this.generation) return;
    this.root.dataset.seeking = "0";
    this.showTime();
    this.syncMedia(true);
  }

  // apply (or hand to `sink`) every record up to `until`; false when the recording ended
  async advance(until, gen, sink = (r) => this.apply(r)) {
    const segs = this.index.segments;
    while (this.cursor.seg < segs.length) {
      const records = await this.load(this.cursor.seg);
      if (gen !== this.generation) return true;
      if (this.cursor.seg + 1 < segs.length) this.load(this.cursor.seg + 1);   // fetch ahead
      this.forgetBefore(this.cursor.seg - 1);
      while (this.cursor.pos < records.length && records[this.cursor.pos].t <= until) {
        sink(records[this.cursor.pos]);
        this.cursor.pos += 1;
      }
      if (this.cursor.pos < records.length) return true;
      if (this.cursor.seg + 1 < segs.length && segs[this.cursor.seg + 1].first_ms > until) return true;
      this.cursor = { seg: this.cursor.seg + 1, pos: 0 };
    }
    return false;
  }

  play() {
    if (this.t >= this.index.duration_ms) this.seek(0);
    this.playing = true;
    this.$(".player-play").textContent = "Pause";
    this.last = performance.now();
    this.syncMedia(true);
    const tick = async (now) => {
      if (!this.playing) return;
      const g = this.generation;
      this.t = Math.min(this.index.duration_ms, this.t + (now - this.last) * this.speed);
      this.last = now;
      try {
        if (this.root.dataset.seeking !== "1") await this.advance(this.t, g);
      } catch (err) {
        this.problem(err.message);
        this.pause();
        return;
      }
      this.showTime();
      this.syncMedia(false);
      if (this.t >= this.index.duration_ms) { this.pause(); return; }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    this.$(".player-play").textContent = "Play";
    this.syncMedia(true);
  }

  showTime() {
    this.root.dataset.t = String(Math.round(this.t));
    this.$(".player-timeline").value = String(this.t);
    this.$(".player-timeline").setAttribute("aria-valuetext", clock(this.t));
    this.$(".player-time").textContent = `${clock(this.t)} / ${clock(this.index.duration_ms)}`;
    let current = null;
    for (const li of this.chapterItems) if (Number(li.dataset.t) <= this.t) current = li;
    for (const li of this.chapterItems) li.setAttribute("aria-current", li === current ? "true" : "false");
  }

  // media elements follow the clock: play inside their span, pause outside, move when they drift
  syncMedia(force) {
    for (const { node, first } of this.media || []) {
      const want = (this.t - first) / 1000;
      const inside = want >= 0 && (!Number.isFinite(node.duration) || want < node.duration);
      node.playbackRate = this.speed;
      if (!inside || !this.playing) { if (!node.paused) node.pause(); if (!inside) continue; }
      if (force || Math.abs(node.currentTime - want) > MEDIA_DRIFT * this.speed) node.currentTime = Math.max(0, want);
      if (this.playing && node.paused) node.play().catch(() => {});
    }
  }
}

const root = document.querySelector(".recorder-player");
if (root) {
  const player = new Player(root);
  window.recorderPlayer = player;
  player.start().catch((err) => player.problem(err.message));
}
