// Chat panel: messages to everybody, or (reps) to the reps only. Text is always shown as text.
import { el } from "/static/core/client.js";

export function mount(api) {
  const seen = new Set();
  let unread = 0;
  const log = el("ol", { class: "chat-log", "aria-live": "polite" });
  const input = el("textarea", { class: "chat-input", rows: 2, maxlength: 20000, "aria-label": "Chat message",
    placeholder: "Type a message" });
  const isRep = () => api.me && (api.me.role === "primary_rep" || api.me.role === "assisting_rep");
  const audience = el("select", { class: "chat-audience", "aria-label": "Send to" },
    el("option", { value: "all", text: "Everybody" }), el("option", { value: "reps", text: "Reps only" }));
  const status = el("div", { class: "chat-status" });

  function add(m, pending = false) {
    if (m.id !== undefined && seen.has(m.id)) return null;
    if (m.id !== undefined) seen.add(m.id);
    const mine = api.me && m.from === api.me.id;
    const item = el("li", { class: `chat-line${mine ? " mine" : ""}${m.to === "reps" ? " reps-only" : ""}${pending ? " pending" : ""}` },
      el("span", { class: "chat-name", text: m.name }),
      m.to === "reps" ? el("span", { class: "chat-private", text: " (reps only)" }) : "",
      el("span", { class: "chat-sep", text: ": " }),
      el("span", { class: "chat-text", text: m.text }));
    if (m.id !== undefined) item.dataset.id = m.id;
    // Keep the log in message order: a line from history goes before any newer line already shown.
    const later = m.id === undefined ? null
      : [...log.querySelectorAll(".chat-line[data-id]")].find((li) => Number(li.dataset.id) > m.id);
    if (later) log.insertBefore(item, later); else log.append(item);
    if (!later) log.scrollTop = log.scrollHeight;
    return item;
  }

  const numericIds = () => [...seen].filter((id) => typeof id === "number");
  const earlier = el("button", { class: "chat-earlier", text: "Show earlier messages", hidden: true,
    onclick: () => loadPage(Math.min(...numericIds()), "earlier") });

  // mode "latest": (re)connect — the newest page, then back until it meets what is shown already;
  // mode "earlier": one older page, asked for by the person.
  async function loadPage(before, mode = "latest") {
    try {
      const reply = await api.request(before ? { type: "chat.history", before } : { type: "chat.history" });
      const shownBefore = numericIds().length > 0;
      const gap = reply.messages.length > 0 && !seen.has(reply.messages[0].id);
      for (const m of reply.messages) add(m);
      if (mode === "latest" && shownBefore && reply.more && gap) return loadPage(reply.messages[0].id);
      if (mode === "earlier" || !shownBefore) earlier.hidden = !reply.more;
    } catch (err) { status.textContent = err.message; }
  }
  const loadHistory = () => loadPage(null, "latest");

  async function sendNow() {
    const text = input.value;
    if (!text.trim()) return;
    const to = isRep() ? audience.value : "all";
    const line = add({ name: api.me ? api.me.name : "me", from: api.me && api.me.id, to, text }, true);
    input.value = "";
    try {
      const ack = await api.request({ type: "chat.send", text, to });
      seen.add(ack.message.id);
      line.classList.remove("pending");
      line.dataset.id = ack.message.id;
      status.textContent = "";
    } catch (err) {
      line.classList.add("failed");
      status.textContent = `Not sent: ${err.message}`;
      input.value = text;
    }
  }

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendNow(); }
  });
  const button = el("button", { class: "chat-send", onclick: sendNow, text: "Send" });
  api.panel.append(el("h3", { text: "Chat" }), earlier, log,
    el("div", { class: "chat-compose" }, input, isRep() ? audience : "", button), status);

  api.on("chat.message", (m) => {
    add(m.message);
    if (!api.isShown()) api.badge(++unread);
  });
  api.on("client.shown", (m) => { if (m.option === api.option.id) { unread = 0; api.badge(0); } });
  api.on("session.hello", loadHistory);   // every (re)connect: catch up on what was said
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) loadHistory();
}
