// Co-browse in the rep's consoles: Co-browse View and Co-browse Control (Application tab).
// The customer's page arrives as rrweb events (cobrowse.events); an rrweb Replayer in live mode rebuilds it
// in an iframe sandboxed WITHOUT allow-scripts (checked here before anything is shown), inside the host's
// frame document whose own CSP runs no script either. In control mode a transparent overlay over the replay turns the
// rep's clicks, typing, scrolling and pointer into cobrowse.ctl messages naming rrweb node ids.
import { el } from "/static/core/client.js";

const RRWEB = "/static/lib/rrweb/rrweb.min.js";
const POINTER_EVERY = 60;   // ms between two pointer positions sent
const KEYS = new Set(["Enter", "Tab", "Delete", "Escape", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
  "Home", "End", "PageUp", "PageDown"]);
const views = new WeakMap();   // session client -> its CobrowseView (both options share it)
let rrwebLoading = null;

function loadRrweb() {
  if (window.rrweb) return Promise.resolve(window.rrweb);
  if (!rrwebLoading) {
    rrwebLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = RRWEB;
      s.onload = () => (window.rrweb ? resolve(window.rrweb) : reject(new Error("the co-browse viewer did not load")));
      s.onerror = () => reject(new Error("the co-browse viewer could not be loaded"));
      document.head.append(s);
    });
  }
  return rrwebLoading;
}

// The replay iframe may hold the customer's page: it must never run scripts.
export function safeSandbox(iframe) {
  const flags = (iframe.getAttribute("sandbox") || "").split(/\s+/).filter(Boolean);
  return iframe.hasAttribute("sandbox") && !flags.includes("allow-scripts") && flags.every((f) => f === "allow-same-origin");
}

function describe(m) {
  if (!m) return "Co-browse: checking…";
  if (m.state === "unavailable") return `Unavailable: ${m.reason}`;
  const where = m.url ? ` — ${m.title || m.url}` : "";
  if (m.state === "asking") return `Asking the customer to allow co-browse ${m.asking}…`;
  if (m.state === "on") {
    const what = m.mode === "control" ? "You can click and type in the customer's page" : "Viewing the customer's page";
    const asking = m.asking ? ` (asking for ${m.asking}…)` : "";
    return `${what}${asking}${m.page ? where : " — waiting for the customer's page"}`;
  }
  const why = m.reason ? ` ${m.reason}` : "";
  return m.page ? `Co-browse is off.${why} The customer's page is open${where}.`
    : `Co-browse is off.${why} The customer's page is not connected.`;
}

class CobrowseView {
  constructor(api) {
    this.client = api.client;
    this.root = api.panel.closest(".session") || document;
    this.state = null;
    this.replayer = null;
    this.started = false;
    this.focusId = null;
    this.lastPointer = 0;
    this.panels = [];
    this.stage = el("div", { class: "cobrowse-stage", "aria-label": "The customer's page" });
    this.overlay = el("div", { class: "cobrowse-overlay", tabindex: "0", hidden: true,
      "aria-label": "Control the customer's page: click, type and scroll here" });
    this.picker = el("select", { class: "cobrowse-picker", hidden: true, "aria-label": "Choose an option" });
    this.box = el("div", { class: "cobrowse-box" }, this.stage, this.overlay, this.picker);
    this.bindControl();
  }

  on(api) {
    api.on("cobrowse.state", (m) => this.setState(m));
    api.on("cobrowse.events", (m) => this.events(m.e));
    api.on("cobrowse.ended", (m) => { this.reset(); this.notice(api, m.reason); });
    api.on("cobrowse.denied", (m) => this.notice(api, `The customer did not allow co-browse ${m.mode}.`));
    api.on("session.hello", () => this.refresh(true));
  }

  notice(api, text) { if (!this.noticed || this.noticed !== text) { api.notice(text); this.noticed = text; setTimeout(() => { this.noticed = null; }, 500); } }

  async refresh(resync) {
    try {
      const m = await this.client.request({ type: "cobrowse.state" });
      this.setState(m);
      if (resync && m.state === "on") this.client.send({ type: "cobrowse.resync" });
    } catch { /* the session is going away */ }
  }

  setState(m) {
    this.state = m;
    if (m.state !== "on") this.reset();
    for (const p of this.panels) p.draw(m);
    for (const id of ["cobrowse.view", "cobrowse.control"]) {
      for (const b of this.root.querySelectorAll(`[data-open="${id}"]`)) {
        b.classList.toggle("unavailable", m.state === "unavailable");
        if (m.state === "unavailable") b.title = `Unavailable: ${m.reason}`; else b.removeAttribute("title");
      }
    }
    this.overlay.hidden = !(m.state === "on" && m.mode === "control" && this.replayer);
  }

  // One replay serves both options: it moves to the panel shown. A moved iframe loads again, so the replay
  // starts over from a fresh snapshot the host asks the page for.
  attach(panel) {
    if (this.box.parentNode === panel) return;
    const had = Boolean(this.replayer);
    this.reset();
    panel.append(this.box);
    if (had && this.state && this.state.state === "on") this.client.send({ type: "cobrowse.resync" });
  }

  async events(list) {
    if (!Array.isArray(list) || !list.length) return;
    const rrweb = await loadRrweb();
    if (!this.replayer) {
      if (!list.some((e) => e.type === 2)) return;      // the host sends a full snapshot first
      await this.makeReplayer(rrweb, list[0].timestamp);
    }
    for (const e of list) this.replayer.addEvent(e);
    this.overlay.hidden = !(this.state && this.state.state === "on" && this.state.mode === "control");
  }

  // The replay lives two frames deep: an outer frame (the host's /frame document, sandboxed without scripts,
  // whose own CSP lets the shared page's styles and images show where the console's CSP would block them)
  // holds rrweb's wrapper, and rrweb's own iframe (sandbox "allow-same-origin", no scripts) inherits that CSP.
  async makeReplayer(rrweb, firstAt) {
    this.stage.replaceChildren();
    const outer = el("iframe", { class: "cobrowse-frame", sandbox: "allow-same-origin", title: "The customer's page" });
    await new Promise((resolve) => {
      outer.addEventListener("load", resolve, { once: true });
      outer.src = `${this.sitePrefix}/p/cobrowse/frame`;
      this.stage.append(outer);
    });
    const replayer = new rrweb.Replayer([], { root: outer.contentDocument.body, liveMode: true, UNSAFE_replayCanvas: false,
      mouseTail: false, triggerFocus: false, showWarning: false });
    if (!safeSandbox(outer) || !safeSandbox(replayer.iframe)) {   // never show a replay that could run scripts
      this.stage.replaceChildren(el("p", { class: "error", text: "The co-browse view was refused: its frame is not sandboxed." }));
      throw new Error("replay iframe not sandboxed");
    }
    this.outer = outer;
    replayer.on("resize", (d) => this.fit(d.width, d.height));
    replayer.startLive(firstAt - 100);
    this.replayer = replayer;
  }

  fit(width, height) {
    const scale = Math.min(1, (this.box.clientWidth || width) / width);
    Object.assign(this.outer.style, { width: `${width}px`, height: `${height}px`, transform: `scale(${scale})`,
      transformOrigin: "0 0" });
    this.box.style.height = `${Math.ceil(height * scale)}px`;
    this.scale = scale;
  }

  reset() {
    if (this.replayer) {
      try { this.replayer.pause(); this.replayer.destroy?.(); } catch { /* already gone */ }
      this.replayer = null;
    }
    this.stage.replaceChildren();
    this.outer = null;
    this.overlay.hidden = true;
    this.picker.hidden = true;
    this.focusId = null;
  }

  // -- control -----------------------------------------------------------------------------------
  point(event) {
    const iframe = this.replayer && this.replayer.iframe;
    if (!iframe || !this.outer) return null;
    const o = this.outer.getBoundingClientRect(), r = iframe.getBoundingClientRect();   // r: inside the outer frame
    const scale = this.scale || 1;
    const x = (event.clientX - o.left) / scale - r.left, y = (event.clientY - o.top) / scale - r.top;
    const doc = iframe.contentDocument;
    const node = doc && doc.elementFromPoint(x, y);
    return { x, y, node, id: node ? this.replayer.getMirror().getId(node) : -1 };
  }

  ctl(message) { this.client.send({ type: "cobrowse.ctl", ...message }); }

  bindControl() {
    const o = this.overlay;
    o.addEventListener("click", (event) => {
      const p = this.point(event);
      if (!p || p.id < 0) return;
      const box = p.node.getBoundingClientRect();
      this.ctl({ a: "click", id: p.id, x: Math.round(p.x - box.left), y: Math.round(p.y - box.top) });
      const tag = p.node.tagName;
      this.focusId = /^(INPUT|TEXTAREA)$/.test(tag) ? p.id : null;
      this.focusNode = this.focusId !== null ? p.node : null;
      if (tag === "SELECT") this.pick(p.node, p.id, event);
      o.focus();
    });
    o.addEventListener("keydown", (event) => {
      if (this.focusId === null) return;
      const node = this.focusNode;
      if (event.key === "Backspace" || (event.key.length === 1 && !event.ctrlKey && !event.metaKey)) {
        event.preventDefault();
        const current = node && typeof node.value === "string" ? node.value : "";
        const value = event.key === "Backspace" ? current.slice(0, -1) : current + event.key;
        if (node) node.value = value;          // shown at once; the page's own echo follows
        this.ctl({ a: "input", id: this.focusId, value });
      } else if (KEYS.has(event.key)) {
        event.preventDefault();
        this.ctl({ a: "key", id: this.focusId, key: event.key });
      }
    });
    o.addEventListener("wheel", (event) => {
      const iframe = this.replayer && this.replayer.iframe;
      const doc = iframe && iframe.contentDocument;
      if (!doc || !doc.scrollingElement) return;
      event.preventDefault();
      const s = doc.scrollingElement;
      this.ctl({ a: "scroll", id: null, x: Math.max(0, s.scrollLeft + event.deltaX), y: Math.max(0, s.scrollTop + event.deltaY) });
    }, { passive: false });
    o.addEventListener("mousemove", (event) => {
      const now = performance.now();
      if (now - this.lastPointer < POINTER_EVERY) return;
      this.lastPointer = now;
      const p = this.point(event);
      if (p) this.ctl({ a: "pointer", x: Math.round(p.x), y: Math.round(p.y) });
    });
    this.picker.addEventListener("change", () => {
      this.ctl({ a: "select", id: Number(this.picker.dataset.id), value: this.picker.value });
      this.picker.hidden = true;
    });
  }

  pick(node, id, event) {
    this.picker.replaceChildren(...[...node.options].map((opt) => el("option", { value: opt.value, text: opt.text })));
    this.picker.value = node.value;
    this.picker.dataset.id = String(id);
    const box = this.box.getBoundingClientRect();
    this.picker.style.left = `${event.clientX - box.left}px`;
    this.picker.style.top = `${event.clientY - box.top}px`;
    this.picker.hidden = false;
    this.picker.focus();
  }
}

export function mount(api) {
  let view = views.get(api.client);
  if (!view) {
    view = new CobrowseView(api);
    view.sitePrefix = api.sitePrefix;
    views.set(api.client, view);
    view.on(api);
  }
  const mode = api.option.id === "cobrowse.control" ? "control" : "view";
  const status = el("p", { class: "cobrowse-status", role: "status", text: describe(view.state) });
  const startButton = el("button", { class: `cobrowse-start primary`, type: "button",
    text: mode === "control" ? "Request control" : "Start Co-browse View",
    onclick: () => api.request({ type: "cobrowse.start", mode }).catch((err) => api.notice(err.message, "error")) });
  const stopButton = el("button", { class: "cobrowse-stop", type: "button", text: "Stop co-browse",
    onclick: () => api.request({ type: "cobrowse.stop" }).catch((err) => api.notice(err.message, "error")) });
  api.panel.append(el("h3", { text: api.option.label }), status, el("div", { class: "cobrowse-buttons" }, startButton, stopButton));
  const panel = {
    draw(m) {
      status.textContent = describe(m);
      const unavailable = m.state === "unavailable";
      startButton.hidden = unavailable || (m.state === "on" && (m.mode === mode || m.mode === "control"));
      startButton.disabled = !m.page || m.state === "asking" || Boolean(m.asking);
      stopButton.hidden = unavailable || m.state === "off";
    },
  };
  view.panels.push(panel);
  api.on("client.shown", (m) => { if (m.option === api.option.id) view.attach(api.panel); });
  if (view.state) panel.draw(view.state);
  if (api.isShown()) view.attach(api.panel);
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN && !view.state) view.refresh(true);
}
