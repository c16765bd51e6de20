// The desktop viewer: draws the tiles of a shared screen on a canvas as they arrive, scales it (fit or
// 1:1), shows the remote cursor, picks a monitor, and, only while control is granted, captures mouse and
// keyboard and sends them (KeyboardEvent.code + key; the Support Manager maps them to its keyboard).
import { el } from "/static/core/client.js";

const KIND_SOLID = 0, KIND_JPEG = 2, KIND_COPY = 3, KIND_ZLIB = 4;
const REC_SIZE = 14;

export function parseBinary(buffer) {
  const bytes = new Uint8Array(buffer);
  const n = bytes[0];
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(1, 1 + n)));
  return { header, payload: bytes.subarray(1 + n) };
}

function* records(payload) {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let pos = 0;
  while (pos + REC_SIZE <= payload.byteLength) {
    const rec = { x: view.getUint16(pos, true), y: view.getUint16(pos + 2, true), w: view.getUint16(pos + 4, true),
      h: view.getUint16(pos + 6, true), kind: view.getUint8(pos + 8), scale: view.getUint8(pos + 9) };
    const len = view.getUint32(pos + 10, true);
    pos += REC_SIZE;
    rec.data = payload.subarray(pos, pos + len);
    pos += len;
    yield rec;
  }
}

// deflate-compressed (raw, no zlib header) RGB rows (lossless text and UI) -> ImageData
async function inflateRGB(r) {
  const stream = new Blob([r.data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  const rgb = new Uint8Array(await new Response(stream).arrayBuffer());
  const out = new ImageData(r.w, r.h);
  const px = out.data;
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    px[j] = rgb[i]; px[j + 1] = rgb[i + 1]; px[j + 2] = rgb[i + 2]; px[j + 3] = 255;
  }
  return out;
}

export class DesktopViewer {
  constructor({ send, onError, plugin = "desktop" }) {
    this.plugin = plugin;
    this.send = send;
    this.onError = onError || (() => {});
    this.agent = null;
    this.control = false;
    this.frames = 0;
    this.copies = 0;
    this.chain = Promise.resolve();
    this.fit = true;
    this.pending = [];
    this.flushTimer = null;
    this.canvas = el("canvas", { class: "desktop-canvas", width: 1, height: 1, tabindex: 0,
      "aria-label": "Shared screen" });
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    this.cursor = el("canvas", { class: "desktop-cursor", width: 1, height: 1, hidden: true });
    this.hotspot = [0, 0];
    this.stage = el("div", { class: "desktop-stage fit" }, this.canvas, this.cursor);
    this.monitorPick = el("select", { class: "desktop-monitor", "aria-label": "Monitor", hidden: true,
      onchange: () => this.send({ type: `${this.plugin}.pick_monitor`, agent: this.agent, monitor: Number(this.monitorPick.value) }) });
    this.scaleButton = el("button", { class: "desktop-scale", text: "1:1", onclick: () => this.toggleScale() });
    this.status = el("span", { class: "desktop-status", "aria-live": "polite" });
    this.root = el("div", { class: "desktop-viewer", "data-plugin": plugin, hidden: true },
      el("div", { class: "desktop-toolbar" }, this.scaleButton, this.monitorPick, this.status), this.stage);
    this.bindInput();
  }

  toggleScale() {
    this.fit = !this.fit;
    this.stage.classList.toggle("fit", this.fit);
    this.scaleButton.textContent = this.fit ? "1:1" : "Scale to fit";
    this.placeCursor();
  }

  setMonitors(monitors, current) {
    this.monitorPick.replaceChildren(...(monitors || []).map((m) =>
      el("option", { value: m.index, text: `Monitor ${m.index} (${m.width}x${m.height})` })));
    if (current !== undefined && current !== null) this.monitorPick.value = String(current);
    this.monitorPick.hidden = !monitors || monitors.length < 2;
  }

  show(agent, control) {
    if (agent !== this.agent) { this.frames = 0; }
    this.agent = agent;
    this.control = control;
    this.root.hidden = false;
    this.root.classList.toggle("controlling", control);
    this.canvas.dataset.control = control ? "1" : "0";
  }

  hide() {
    this.agent = null;
    this.control = false;
    this.root.hidden = true;
    this.canvas.dataset.control = "0";
  }

  // -- frames --------------------------------------------------------------------------------------
  onBinary(buffer) {
    let parsed;
    try { parsed = parseBinary(buffer); } catch { return; }
    const { header, payload } = parsed;
    if (header.from !== this.agent) return;
    if (header.type === `${this.plugin}.cursor_shape`) { this.setCursorShape(header, payload.slice()); return; }
    if (header.type !== `${this.plugin}.frame`) return;
    const copy = payload.slice();
    this.chain = this.chain.then(() => this.drawChunk(header, copy)).catch((err) => this.onError(err.message));
  }

  async drawChunk(header, payload) {
    // the size comes with full frames and changes (not every frame: it saves bytes when typing)
    if (header.w && header.h && (this.canvas.width !== header.w || this.canvas.height !== header.h)) {
      this.canvas.width = header.w;
      this.canvas.height = header.h;
    }
    const recs = [...records(payload)];
    const images = await Promise.all(recs.map((r) => r.kind === KIND_JPEG
      ? createImageBitmap(new Blob([r.data], { type: "image/jpeg" }))
      : r.kind === KIND_ZLIB ? inflateRGB(r) : null));
    const ctx = this.ctx;
    recs.forEach((r, i) => {
      if (r.kind === KIND_SOLID) {
        ctx.fillStyle = `rgb(${r.data[0]},${r.data[1]},${r.data[2]})`;
        ctx.fillRect(r.x, r.y, r.w, r.h);
      } else if (r.kind === KIND_COPY) {   // pixels the viewer already has, moved (scroll, dragged window)
        const v = new DataView(r.data.buffer, r.data.byteOffset, 4);
        ctx.drawImage(this.canvas, v.getUint16(0, true), v.getUint16(2, true), r.w, r.h, r.x, r.y, r.w, r.h);
        this.copies += 1;
        this.canvas.dataset.copies = String(this.copies);
      } else if (r.kind === KIND_ZLIB) {
        ctx.putImageData(images[i], r.x, r.y);
      } else if (images[i]) {
        ctx.imageSmoothingEnabled = r.scale !== 1;
        ctx.drawImage(images[i], r.x, r.y, r.w, r.h);
        images[i].close();
      }
    });
    if ((header.c ?? 0) === (header.n ?? 1) - 1) {     // the last chunk (a one-chunk frame says neither)
      this.frames += 1;
      this.canvas.dataset.frames = String(this.frames);
      this.send({ type: `${this.plugin}.ack`, agent: header.from, seq: header.seq });
    }
  }

  onCursor(m) {
    if (m.agent !== this.agent) return;
    this.cursorAt = [m.x, m.y];
    this.placeCursor();
  }

  async setCursorShape(header, png) {
    try {
      const bmp = await createImageBitmap(new Blob([png], { type: "image/png" }));
      this.cursor.width = header.w;
      this.cursor.height = header.h;
      this.cursor.getContext("2d").drawImage(bmp, 0, 0);
      bmp.close();
      this.hotspot = [header.hx, header.hy];
      this.cursor.classList.add("shaped");
      this.cursor.dataset.shape = `${header.w}x${header.h}`;
      this.placeCursor();
    } catch { /* a broken image: keep the previous shape */ }
  }

  placeCursor() {
    if (!this.cursorAt || !this.canvas.width) { this.cursor.hidden = true; return; }
    const scale = this.canvas.clientWidth / this.canvas.width || 1;
    this.cursor.hidden = false;
    this.cursor.style.left = `${(this.cursorAt[0] - this.hotspot[0]) * scale}px`;
    this.cursor.style.top = `${(this.cursorAt[1] - this.hotspot[1]) * scale}px`;
    if (this.cursor.classList.contains("shaped")) {
      this.cursor.style.width = `${this.cursor.width * scale}px`;
      this.cursor.style.height = `${this.cursor.height * scale}px`;
    }
  }

  // -- input ---------------------------------------------------------------------------------------
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left) * this.canvas.width / r.width);
    const y = Math.floor((e.clientY - r.top) * this.canvas.height / r.height);
    return { x: Math.max(0, Math.min(this.canvas.width - 1, x)), y: Math.max(0, Math.min(this.canvas.height - 1, y)) };
  }

  queue(ev, now = false) {
    if (!this.control || !this.agent) return;
    // consecutive moves collapse into the newest one
    const last = this.pending[this.pending.length - 1];
    if (ev.t === "move" && last && last.t === "move") this.pending[this.pending.length - 1] = ev;
    else this.pending.push(ev);
    if (now) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 16);
  }

  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending.length || !this.control) { this.pending = []; return; }
    const events = this.pending.splice(0, 200);
    this.send({ type: `${this.plugin}.input`, agent: this.agent, events });
    if (this.pending.length) this.flush();
  }

  bindInput() {
    const c = this.canvas;
    const buttons = ["left", "middle", "right"];
    c.addEventListener("mousedown", (e) => {
      if (!this.control) return;
      e.preventDefault();
      c.focus();
      this.queue({ t: "button", b: buttons[e.button] || "left", down: true, ...this.point(e) }, true);
    });
    c.addEventListener("mouseup", (e) => {
      if (!this.control) return;
      e.preventDefault();
      this.queue({ t: "button", b: buttons[e.button] || "left", down: false, ...this.point(e) }, true);
    });
    c.addEventListener("mousemove", (e) => { if (this.control) this.queue({ t: "move", ...this.point(e) }); });
    c.addEventListener("wheel", (e) => {
      if (!this.control) return;
      e.preventDefault();
      // browser: deltaY > 0 scrolls down; the agent (pynput): dy > 0 scrolls up, dx > 0 scrolls right
      const steps = (d) => (d === 0 ? 0 : Math.sign(d) * Math.min(10, Math.max(1, Math.round(Math.abs(d) / 40))));
      this.queue({ t: "wheel", dx: steps(e.deltaX), dy: -steps(e.deltaY), ...this.point(e) }, true);
    }, { passive: false });
    c.addEventListener("contextmenu", (e) => { if (this.control) e.preventDefault(); });
    const key = (down) => (e) => {
      if (!this.control) return;
      e.preventDefault();
      this.queue({ t: "key", code: e.code || "Unidentified", key: e.key.length <= 24 ? e.key : "", down }, true);
    };
    c.addEventListener("keydown", key(true));
    c.addEventListener("keyup", key(false));
    new ResizeObserver(() => this.placeCursor()).observe(c);
  }
}
