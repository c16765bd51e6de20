// WebACD in the rep's console (dashboard, icon tray and multisession window alike): status, offers with
// accept / decline, and the queue view to pick a specific waiting customer. Offers arrive on the console
// feed (console.js re-dispatches every feed message as a "console-feed" event on document).
import { el, postJSON } from "/static/core/client.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const api = `${data.sitePrefix}/p/webacd/api`;
const offers = new Map();
let me = null;
let queueOpen = false;

const statusBtn = el("button", { class: "acd-status-toggle", onclick: toggleStatus });
const load = el("span", { class: "acd-load small" });
const offerList = el("ul", { class: "acd-offers", "aria-label": "Customers offered to you" });
const queueBtn = el("button", { class: "acd-queue-toggle", text: "Queue", onclick: () => { queueOpen = !queueOpen; drawQueue(); } });
const queueList = el("ul", { class: "acd-queue", "aria-label": "Waiting customers" });
const say = el("p", { class: "acd-say", role: "status" });
const dock = el("aside", { class: "acd-dock", "aria-label": "WebACD" },
  el("div", { class: "acd-head" }, el("strong", { text: "WebACD" }), statusBtn, load, queueBtn), offerList, queueList, say);
dock.hidden = true;
// In the flow of the page where there is room (dashboard bar, multisession side), floating beside the tray.
const home = document.querySelector(".multi-side") || document.querySelector(".console-bar");
if (home) {
  dock.classList.add("docked");
  if (home.classList.contains("multi-side")) home.append(dock); else home.after(dock);
} else {
  document.body.append(dock);
}

function waited(since) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - since));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min`;
}

function drawMe() {
  dock.hidden = !me || !me.member;
  if (!me || !me.member) return;
  statusBtn.textContent = me.status === "available" ? "Available" : "Away";
  statusBtn.className = `acd-status-toggle ${me.status}`;
  statusBtn.title = me.status === "available" ? "Click to go away (no offers)" : "Click to be available for customers";
  load.textContent = `${me.load}/${me.capacity}`;
}

function drawOffers() {
  offerList.replaceChildren(...[...offers.values()].map((o) => el("li", { class: "acd-offer", "data-entry": o.entry_id },
    el("div", { class: "acd-offer-name", text: o.name }),
    el("div", { class: "acd-offer-meta small", text: `${o.kind === "transfer" ? `Transferred by ${o.from} · ` : ""}${o.escalated ? "escalated from " : ""}${o.queue} · waiting ${waited(o.since)}` }),
    o.problem ? el("div", { class: "acd-offer-problem", text: o.problem }) : null,
    o.note ? el("div", { class: "acd-offer-note", text: `Note: ${o.note}` }) : null,
    el("div", { class: "acd-offer-actions" },
      el("button", { class: "acd-accept primary", text: "Accept", onclick: () => accept(o.entry_id) }),
      el("button", { class: "acd-decline", text: "Decline", onclick: () => decline(o.entry_id) })))));
}

async function drawQueue() {
  if (!queueOpen || !me || !me.member) { queueList.replaceChildren(); return; }
  const res = await fetch(`${api}/queue`, { credentials: "same-origin" });
  if (!res.ok) return;
  const { waiting } = await res.json();
  queueList.replaceChildren(...(waiting.length ? waiting.map((w) => el("li", { class: "acd-queue-item", "data-entry": w.entry_id },
    el("span", { class: "acd-queue-name", text: `${w.position}. ${w.name}` }),
    el("span", { class: "small", text: ` ${w.queue} · ${Math.round(w.waited)} s${w.kind === "transfer" ? " · transfer" : ""}` }),
    w.problem ? el("div", { class: "small", text: w.problem }) : null,
    el("button", { class: "acd-pick", text: "Take", onclick: () => accept(w.entry_id) })))
    : [el("li", { class: "small", text: "Nobody is waiting in your queues." })]));
}

async function refreshMe() {
  const res = await fetch(`${api}/me`, { credentials: "same-origin" });
  if (!res.ok) return;
  me = await res.json();
  offers.clear();
  for (const o of me.offers || []) offers.set(o.entry_id, { ...o, since: Date.now() / 1000 - o.waited });
  drawMe(); drawOffers(); drawQueue();
}

async function toggleStatus() {
  try {
    me = await postJSON(`${api}/status`, { status: me.status === "available" ? "away" : "available" });
    drawMe();
  } catch (err) { say.textContent = err.message; }
}

async function accept(entryId) {
  try {
    const r = await postJSON(`${api}/offers/${entryId}/accept`);
    offers.delete(entryId);
    say.textContent = `You are now helping ${r.name}.`;
  } catch (err) {
    offers.delete(entryId);
    say.textContent = err.message;
  }
  drawOffers(); refreshMe();
}

async function decline(entryId) {
  offers.delete(entryId);
  drawOffers();
  try { await postJSON(`${api}/offers/${entryId}/decline`); } catch (err) { say.textContent = err.message; }
}

document.addEventListener("console-feed", (event) => {
  const msg = event.detail;
  if (msg.type === "console.hello") refreshMe();
  else if (msg.type === "webacd.offer") {
    offers.set(msg.offer.entry_id, { ...msg.offer, since: Date.now() / 1000 - msg.offer.waited });
    say.textContent = `New customer: ${msg.offer.name}`;
    drawOffers();
  } else if (msg.type === "webacd.offer_closed") {
    if (offers.delete(msg.entry_id) && msg.reason === "taken") say.textContent = `${msg.name} was already taken by ${msg.by}.`;
    else if (msg.reason === "expired") say.textContent = `The offer of ${msg.name} timed out; it went to the next rep.`;
    else if (msg.reason === "withdrawn") say.textContent = `${msg.name} is no longer waiting.`;
    drawOffers();
  } else if (msg.type === "webacd.queue_changed") {
    if (queueOpen) drawQueue();
  } else if (msg.type === "console.sessions_changed") {
    refreshMe();
  }
});

setInterval(() => { if (offers.size) drawOffers(); }, 5000);
refreshMe();
