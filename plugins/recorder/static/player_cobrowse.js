// Recorded co-browse in the player: the cobrowse.events batches the host relayed to the reps, replayed by an rrweb
// Replayer on the player's clock. The replay is two frames deep, as in the live console: the recorder's /frame
// document (its own CSP runs no script) sandboxed without scripts, holding rrweb's iframe (sandbox
// "allow-same-origin", no scripts). A frame that is not sandboxed that way is never shown. rrweb gets every event
// as already due (its live mode with a baseline after all of them), so the player's clock alone decides when.
import { el } from "/static/core/client.js";

const RRWEB = "/static/lib/rrweb/rrweb.min.js";
const FULL_SNAPSHOT = 2;
const PREFIX = '"cobrowse.';
let loading = null;

function loadRrweb() {
  if (window.rrweb) return Promise.resolve(window.rrweb);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = RRWEB;
      s.onload = () => (window.rrweb ? resolve(window.rrweb) : reject(new Error("the co-browse replay did not load")));
      s.onerror = () => reject(new Error("the co-browse replay could not be loaded"));
      document.head.append(s);
    });
  }
  return loading;
}

export function safeSandbox(iframe) {
  const flags = (iframe.getAttribute("sandbox") || "").split(/\s+/).filter(Boolean);
  return iframe.hasAttribute("sandbox") && !flags.includes("allow-scripts") && flags.every((f) => f === "allow-same-origin");
}

// a recorded JSON message to the reps that is co-browse's: {type, e} or null (cheap test before parsing)
export function cobrowseMessage(body) {
  const head = new TextDecoder().decode(body.subarray(0, 40));
  if (!head.includes(PREFIX)) return null;
  try {
    const m = JSON.parse(new TextDecoder().decode(body));
    return m && typeof m.type === "string" && m.type.startsWith("cobrowse.") ? m : null;
  } catch { return null; }
}

export const hasSnapshot = (m) => m.type === "cobrowse.events" && Array.isArray(m.e) && m.e.some((e) => e && e.type === FULL_SNAPSHOT);

export class CobrowseReplay {
  constructor(box, frameUrl, onChange) {
    this.box = box;
    this.frameUrl = frameUrl;
    this.onChange = onChange;
    this.replayer = null;
    this.outer = null;
    this.last = -Infinity;           // the newest event timestamp given to rrweb
    this.chain = Promise.resolve();
    this.epoch = 0;                  // bumps on reset: work queued before it is dropped
  }

  get active() { return Boolean(this.replayer); }

  // one recorded message (cobrowse.events, cobrowse.ended ...); applied in order
  message(m) {
    const epoch = this.epoch;
    if (m.type === "cobrowse.ended") { this.reset(); return; }
    if (m.type !== "cobrowse.events" || !Array.isArray(m.e)) return;
    this.chain = this.chain.then(() => (epoch === this.epoch ? this.events(m.e, epoch) : null))
      .catch((err) => { this.box.replaceChildren(el("p", { class: "error", text: err.message })); });
  }

  async events(list, epoch) {
    // the same batch may be in the recording more than once (sent again to a rep who fell behind): only newer
    // events than those given already are new
    const since = this.last;
    const fresh = list.filter((e) => e && Number(e.timestamp) > since);
    if (!fresh.length) return;
    if (!this.replayer) {
      if (!fresh.some((e) => e.type === FULL_SNAPSHOT)) return;   // nothing to draw before a full snapshot
      await this.make(await loadRrweb());
      if (epoch !== this.epoch) return;
    }
    for (const e of fresh) {
      this.last = Math.max(this.last, Number(e.timestamp));
      this.replayer.addEvent(e);
    }
    await new Promise((ok) => setTimeout(ok, 0));   // rrweb applies an added event a moment later
  }

  async make(rrweb) {
    const outer = el("iframe", { class: "player-cobrowse-frame", sandbox: "allow-same-origin",
      title: "The customer's web page (recorded co-browse)" });
    await new Promise((resolve) => {
      outer.addEventListener("load", resolve, { once: true });
      outer.src = this.frameUrl;
      this.box.replaceChildren(outer);
    });
    const replayer = new rrweb.Replayer([], { root: outer.contentDocument.body, liveMode: true, UNSAFE_replayCanvas: false,
      mouseTail: false, triggerFocus: false, showWarning: false });
    if (!safeSandbox(outer) || !safeSandbox(replayer.iframe)) {
      replayer.destroy?.();
      this.box.replaceChildren(el("p", { class: "error", text: "The co-browse replay was refused: its frame is not sandboxed." }));
      throw new Error("replay iframe not sandboxed");
    }
    replayer.on("resize", (d) => this.fit(d.width, d.height));
    replayer.startLive(Number.MAX_SAFE_INTEGER);     // every event is due at once
    this.outer = outer;
    this.replayer = replayer;
    this.box.hidden = false;
    this.onChange();
  }

  fit(width, height) {
    const scale = Math.min(1, (this.box.clientWidth || width) / width);
    Object.assign(this.outer.style, { width: `${width}px`, height: `${height}px`, transform: `scale(${scale})`,
      transformOrigin: "0 0", border: "0" });
    this.box.style.height = `${Math.ceil(height * scale)}px`;
  }

  reset() {
    this.epoch += 1;
    this.chain = Promise.resolve();
    if (this.replayer) {
      try { this.replayer.pause(); this.replayer.destroy?.(); } catch { /* already gone */ }
    }
    this.replayer = null;
    this.outer = null;
    this.last = -Infinity;
    this.box.replaceChildren();
    this.box.hidden = true;
    this.box.style.height = "";
    this.onChange();
  }
}
