// The live queue monitor: waiting customers with their wait, reps by status and load; refreshed every 2 s.
import { el } from "/static/core/client.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const queuesBox = document.querySelector(".acd-monitor-queues");
const repsBody = document.querySelector(".acd-monitor-reps tbody");
const updated = document.querySelector(".acd-updated");

function wait(s) {
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function draw(m) {
  queuesBox.replaceChildren(...m.queues.map((q) => el("div", { class: "acd-monitor-queue", "data-queue": q.id },
    el("h3", { text: `${q.name} — ${q.waiting.length} waiting${q.open ? "" : " (closed)"}` }),
    q.waiting.length ? el("table", {}, el("thead", {}, el("tr", {}, ...["#", "Customer", "Waiting", "Offered to", ""].map((t) => el("th", { text: t })))),
      el("tbody", {}, ...q.waiting.map((w) => el("tr", { class: "acd-waiting-row" },
        el("td", { text: String(w.position) }), el("td", { class: "acd-name", text: w.name }),
        el("td", { class: "acd-wait", text: wait(w.waited) }), el("td", { text: w.offered_to.join(", ") }),
        el("td", { text: `${w.kind === "transfer" ? "transfer" : ""}${w.escalated ? " escalated" : ""}` })))))
      : el("p", { class: "small", text: "Nobody is waiting." }))));
  repsBody.replaceChildren(...m.reps.map((r) => el("tr", { class: `acd-rep ${r.status}`, "data-rep": r.name },
    el("td", { class: "acd-name", text: r.name }), el("td", { class: "acd-status", text: r.status }),
    el("td", { class: "acd-load", text: `${r.load} / ${r.capacity}` }), el("td", { text: String(r.offers) }),
    el("td", { text: r.online ? "online" : "offline" }))));
  updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function poll() {
  try {
    const res = await fetch(`${data.sitePrefix}/p/webacd/api/monitor`, { credentials: "same-origin" });
    if (res.ok) draw(await res.json());
  } catch { updated.textContent = "reconnecting…"; }
  setTimeout(poll, 2000);
}

draw(data.monitor);
setTimeout(poll, 2000);
