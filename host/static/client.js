// One participant's connection to a session: JSON envelopes over a WebSocket that reconnects by itself.

// The host closed a rep's socket because their login ended (password changed, logged out, idle for too
// long, account switched off): the page has to log in again.
export function loginEnded(event) {
  return event.code === 1008 && /log in again|switched off/.test(event.reason || "");
}
export class SessionClient {
  constructor({ sitePrefix, sessionId }) {
    this.url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${sitePrefix}/ws/session/${sessionId}`;
    this.listeners = new Map();
    this.pending = new Map();
    this.outbox = [];
    this.nextId = 1;
    this.finished = false;
    this.delay = 500;
    this.ws = null;
  }

  connect() {
    if (this.finished) return;
    const ws = (this.ws = new WebSocket(this.url));
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.delay = 500;
      const queued = this.outbox.splice(0);
      for (const text of queued) ws.send(text);
      this.emit({ type: "client.open" });
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") {
        this.emit({ type: "client.binary", data: event.data });
        return;
      }
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg.re !== undefined && this.pending.has(msg.re)) {
        const { resolve, reject } = this.pending.get(msg.re);
        this.pending.delete(msg.re);
        if (msg.type === "error") reject(new Error(msg.error)); else resolve(msg);
      }
      if (msg.type === "session.ended" || msg.type === "session.you_left") this.finished = true;
      this.emit(msg);
    };
    ws.onclose = (event) => {
      if (loginEnded(event)) this.finished = true;   // reconnecting would only be refused
      this.emit({ type: "client.closed", code: event.code, reason: event.reason });
      if (this.finished || event.code === 1000 || event.code === 1008 && event.reason.startsWith("replaced")) {
        this.finished = this.finished || event.code === 1000;
        return;
      }
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    };
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type)?.delete(fn);
  }

  emit(msg) {
    for (const key of [msg.type, "*"]) {
      for (const fn of this.listeners.get(key) || []) {
        try { fn(msg); } catch (err) { console.error(err); }
      }
    }
  }

  send(msg) {
    const text = JSON.stringify(msg);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.outbox.push(text);
  }

  sendBinary(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  // Send and wait for the reply that names this message's id (or its error).
  request(msg, timeoutMs = 15000) {
    const id = `m${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ ...msg, id });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error("no answer from the server"));
      }, timeoutMs);
    });
  }

  close() {
    this.finished = true;
    if (this.ws) this.ws.close(1000);
  }
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

export async function postJSON(url, body = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = {};
  try { data = await res.json(); } catch { /* not JSON */ }
  // JSON routes, the host's and plugins', answer {"error": {"code", "message"}} (host/json_errors.py).
  const error = data.error && data.error.message;
  if (!res.ok) throw new Error(error || `request failed (${res.status})`);
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
