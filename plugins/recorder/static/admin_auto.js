// The site admin page: a "Record all sessions" switch on each account's row (the recorder's per-rep automatic
// recording). A change is saved at once; the row says what happened, or why it could not be saved.
import { el, postJSON } from "/static/core/client.js";

const prefix = location.pathname.replace(/\/admin.*$/, "");
const api = `${prefix}/p/recorder/api/automatic`;
const table = document.querySelector("table.users");

async function load() {
  const r = await fetch(api, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!r.ok) return;
  const { reps } = await r.json();
  table.querySelector("thead tr").append(el("th", { text: "Record all sessions" }));
  for (const row of table.querySelectorAll("tbody tr[data-user]")) {
    const rep = reps.find((u) => u.username === row.dataset.user);
    const cell = el("td", { class: "recorder-auto" });
    row.append(cell);
    if (!rep) continue;
    const box = el("input", { type: "checkbox", name: "recorder_automatic", "aria-label": `Record all sessions of ${rep.username}` });
    box.checked = rep.automatic;
    const said = el("span", { class: "recorder-auto-status small", role: "status" });
    box.addEventListener("change", async () => {
      const on = box.checked;
      box.disabled = true;
      try {
        await postJSON(api, { user_id: rep.id, on });
        said.className = "recorder-auto-status small ok";
        said.textContent = on ? "Every session is recorded." : "Not recorded automatically.";
      } catch (e) {
        box.checked = !on;
        said.className = "recorder-auto-status small error";
        said.textContent = `Not saved: ${e.message}`;
      } finally {
        box.disabled = false;
      }
    });
    cell.append(box, " ", said);
  }
}

if (table) load();
