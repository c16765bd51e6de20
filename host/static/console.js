// The rep's console page: the CSR dashboard, the compact icon tray or the multisession window.
// All three list the rep's sessions and mount each with SessionView; they differ in layout only.
import { el, loginEnded, postJSON } from "./client.js";
import { SessionView, groupNumber } from "./session_view.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const prefix = data.sitePrefix;
const kind = data.console;
const views = new Map();
let selected = null;
const TRAY_WIDTH = 120;
const PANEL_WIDTH = 420;
let poppedOut = false;
let feed = null;

const list = document.querySelector(".session-list");
const stage = document.querySelector(".session-stage");
const status = document.querySelector(".console-status");

function say(text, kindOf = "info") {
  if (!status) return;
  if (kind === "tray" && kindOf !== "error") return;  // the tray has no room: its info panel says it
  status.textContent = text;
  status.dataset.kind = kindOf;
}

async function startSession() {
  try {
    const s = await postJSON(`${prefix}/api/sessions`);
    say(`Session ${s.number} started. ${s.invitation}`);
    await refresh(s.id);
  } catch (err) {
    say(err.message, "error");
  }
}

function select(id) {
  selected = id;
  for (const [sid, view] of views) view.setVisible(sid === id);
  if (list) for (const item of list.querySelectorAll("[data-session]")) item.classList.toggle("selected", item.dataset.session === id);
  const v = views.get(id);
  if (v) v.onBadge(v, 0, true);
}

function renderList() {
  if (!list) return;
  const items = [...views.values()].map((v) => el("li", { "data-session": v.session.id, class: v.session.id === selected ? "selected" : "" },
    el("button", { class: "pick", title: `Session ${groupNumber(v.session.number)}`, onclick: () => select(v.session.id) },
      el("span", { class: "label", text: sessionLabel(v) }),
      el("span", { class: "badge", text: v.unread ? String(v.unread) : "" }))));
  list.replaceChildren(...items);
  if (!items.length) list.append(el("li", { class: "empty", text: "No sessions. Start one, or wait for one to come in." }));
}

function sessionLabel(v) {
  const customers = (v.participants || []).filter((p) => !p.rep).map((p) => p.name);
  if (kind === "tray") return customers.length ? customers.join(", ") : "waiting…";
  return `${groupNumber(v.session.number)}${customers.length ? " — " + customers.join(", ") : " — waiting for customer"}`;
}

async function refresh(preferId) {
  if (poppedOut) return;
  const res = await fetch(`${prefix}/api/sessions`, { credentials: "same-origin" });
  if (!res.ok) return;
  const { sessions } = await res.json();
  const ids = new Set(sessions.map((s) => s.id));
  for (const [sid, view] of views) {
    if (!ids.has(sid) && !view.client.finished) { view.client.close(); }
  }
  for (const s of sessions) {
    if (views.has(s.id)) continue;
    const root = el("div", { class: "session", "data-session": s.id });
    stage.append(root);
    const view = new SessionView({
      root, sitePrefix: prefix, session: s, console: kind, optionsForRole: data.options,
      onBadge: (v, total, seen) => {
        v.unread = seen ? 0 : (v.session.id === selected && document.hasFocus() ? 0 : total);
        renderList();
      },
      onEnd: (v) => setTimeout(() => { v.root.remove(); views.delete(v.session.id); if (selected === v.session.id) select([...views.keys()].pop() || null); renderList(); }, 4000),
    });
    view.unread = 0;
    views.set(s.id, view);
    view.client.on("client.roster", () => renderList());
    view.start();
  }
  const target = preferId || (selected && views.has(selected) ? selected : [...views.keys()].pop());
  select(target || null);
  renderList();
}

function connectFeed() {
  if (poppedOut) return;
  const ws = feed = new WebSocket(`${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${prefix}/ws/rep`);
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "console.sessions_changed") refresh();
    else if (msg.type === "console.alert") {
      const v = views.get(msg.session);
      if (v && msg.session !== selected) { v.unread = (v.unread || 0) + 1; renderList(); }
      say(msg.text);
    }
    document.dispatchEvent(new CustomEvent("console-feed", { detail: msg }));
  };
  ws.onclose = (event) => {
    if (loginEnded(event)) location.assign(`${prefix}/login?next=${encodeURIComponent(location.pathname)}`);
    else if (!poppedOut) setTimeout(connectFeed, 2000);
  };
}

for (const b of document.querySelectorAll(".start-session")) b.addEventListener("click", startSession);

if (kind === "tray") {
  const tray = document.querySelector(".tray");
  const handle = document.querySelector(".tray-handle");
  let drag = null;
  handle?.addEventListener("pointerdown", (e) => {
    const r = tray.getBoundingClientRect();
    drag = { dx: e.clientX - r.left, dy: e.clientY - r.top };
    handle.setPointerCapture(e.pointerId);
  });
  handle?.addEventListener("pointermove", (e) => {
    if (!drag) return;
    tray.style.left = `${Math.max(0, e.clientX - drag.dx)}px`;
    tray.style.top = `${Math.max(0, e.clientY - drag.dy)}px`;
  });
  handle?.addEventListener("pointerup", () => { drag = null; });
  // Pop out: the tray moves to its own small window. This page lets go of the sessions (one window per
  // participant follows a session) and says where the tray went.
  document.querySelector(".pop-out")?.addEventListener("click", () => {
    const win = window.open(`${prefix}/tray`, "supporthost-tray", `popup,width=${TRAY_WIDTH},height=620`);
    if (!win) { say("Your browser blocked the small window: allow pop-ups for this site.", "error"); return; }
    poppedOut = true;
    feed?.close();
    for (const v of views.values()) v.client.close();
    views.clear();
    tray.replaceWith(el("section", { class: "card popped-out" },
      el("p", { text: "The tray is open in its own small window." }),
      el("button", { class: "bring-back", text: "Bring the tray back here", onclick: () => { win.close(); location.reload(); } })));
  });
  // In its own window the tray widens while a panel is open, and shrinks back to the icons after.
  if (data.popup) {
    document.addEventListener("tray-panels", (e) => {
      try { window.resizeTo(e.detail.open ? TRAY_WIDTH + PANEL_WIDTH : TRAY_WIDTH, window.outerHeight); } catch { /* not ours to size */ }
    });
  }
}

connectFeed();
refresh();
