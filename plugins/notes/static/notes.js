// Notes: the rep's notes on this session. Every change is kept in this browser at once and saved on
// the server shortly after typing stops (debounced); "Save to report" saves at once. After a reload
// the note comes back from the server, or from this browser when a change had not reached it yet.
import { el } from "/static/core/client.js";

const DEBOUNCE_MS = 700;

export async function mount(api) {
  const key = `supporthost.notes.${api.session.id}.${api.me ? api.me.id : "me"}`;
  const area = el("textarea", { class: "notes-text", rows: 10, "aria-label": "Notes on this session",
    placeholder: "Notes on this session (saved as you type)" });
  const status = el("p", { class: "notes-status", role: "status" });
  const button = el("button", { class: "notes-save", text: "Save to report" });
  api.panel.append(el("h3", { text: "Notes" }), area, el("div", { class: "notes-actions" }, button), status);

  let timer = null;
  let saving = null;
  let savedText = null;

  const keep = () => localStorage.setItem(key, JSON.stringify({ text: area.value, at: Date.now() }));
  const draft = () => { try { return JSON.parse(localStorage.getItem(key)); } catch { return null; } };

  async function save(final = false) {
    clearTimeout(timer);
    timer = null;
    const text = area.value;
    if (saving) await saving.catch(() => {});
    if (!final && text === savedText) return;
    status.textContent = "Saving…";
    saving = api.request({ type: "notes.save", text, final });
    try {
      const reply = await saving;
      savedText = text;
      if (area.value === text) localStorage.removeItem(key);
      const when = new Date(reply.note.updated_at * 1000).toLocaleTimeString();
      status.textContent = final ? `Saved to the report at ${when}` : `Saved at ${when}`;
      area.dataset.saved = String(reply.note.revision);
    } catch (err) {
      status.textContent = `Not saved yet (${err.message}); kept in this browser, retrying…`;
      timer = setTimeout(() => save(final), 3000);
    } finally { saving = null; }
  }

  area.addEventListener("input", () => {
    keep();
    status.textContent = "Changed…";
    delete area.dataset.saved;
    clearTimeout(timer);
    timer = setTimeout(() => save(false), DEBOUNCE_MS);
  });
  area.addEventListener("blur", () => { if (timer) save(false); });
  button.addEventListener("click", () => save(true));
  window.addEventListener("pagehide", () => { if (timer) { keep(); save(false); } });
  api.on("session.hello", () => { if (area.value !== savedText && savedText !== null) save(false); });

  try {
    const reply = await api.request({ type: "notes.load" });
    const local = draft();
    savedText = reply.note.text;
    if (local && local.text !== reply.note.text) {
      area.value = local.text;        // a change that had not reached the server: send it now
      save(false);
    } else {
      area.value = reply.note.text;
      localStorage.removeItem(key);
      if (reply.note.updated_at) status.textContent = `Saved at ${new Date(reply.note.updated_at * 1000).toLocaleTimeString()}`;
    }
    area.dataset.loaded = "1";
  } catch (err) {
    status.textContent = `Notes could not be loaded: ${err.message}`;
  }
}
