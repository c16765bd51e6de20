// WebACD options inside a session: the request's details (reps), transfer to a rep or a queue
// (members of WebACD queues only), and what the customer is told while being transferred.
import { el } from "/static/core/client.js";

const NOTE_MAX = 345;

function hideOption(api) {
  // only members of WebACD queues see the transfer option: hide its button for everybody else
  const root = api.panel.closest(".session") || document;
  for (const b of root.querySelectorAll(`[data-open="${api.option.id}"]`)) b.hidden = true;
}

const mounts = {
  "webacd.request"(api) {
    const box = el("div", { class: "acd-request" });
    api.panel.append(el("h3", { text: "Request" }), box);
    async function load() {
      try {
        const info = await api.request({ type: "webacd.info" });
        if (!info.inbound && !(info.transfers || []).length) {
          box.replaceChildren(el("p", { class: "small", text: "This session did not come from a WebACD queue." }));
          return;
        }
        const r = info.request || {};
        box.replaceChildren(
          info.request ? el("dl", {},
            el("dt", { text: "Customer" }), el("dd", { class: "acd-req-name", text: r.name }),
            el("dt", { text: "Queue" }), el("dd", { text: r.queue }),
            el("dt", { text: "Problem" }), el("dd", { class: "acd-req-problem", text: r.problem || "—" }),
            el("dt", { text: "Email" }), el("dd", { text: r.email || "—" }),
            el("dt", { text: "Came from" }), el("dd", { class: "acd-req-ref", text: r.ref_url || "—" }),
            el("dt", { text: "Waited" }), el("dd", { text: `${r.waited} s` })) : "",
          ...(info.transfers || []).map((t) => el("p", { class: "acd-transfer-note" },
            el("strong", { text: `Transferred by ${t.from_name} to ${t.to_name}` }),
            t.note ? el("span", { text: `: ${t.note}` }) : "")));
        if ((info.transfers || []).length) {
          const last = info.transfers[info.transfers.length - 1];
          api.notice(`Transferred by ${last.from_name}${last.note ? `: ${last.note}` : ""}`);
        }
      } catch (err) { box.replaceChildren(el("p", { class: "error", text: err.message })); }
    }
    api.on("session.hello", load);
    api.on("webacd.transferring", (m) => api.notice(m.note ? `${m.text} Note: ${m.note}` : m.text));
    if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) load();
  },

  async "webacd.transfer"(api) {
    const res = await fetch(`${api.sitePrefix}/p/webacd/api/targets`, { credentials: "same-origin" });
    const targets = res.ok ? await res.json() : { member: false };
    if (!targets.member) { hideOption(api); return; }
    const select = el("select", { class: "acd-transfer-to", "aria-label": "Transfer to" },
      el("optgroup", { label: "Queues" }, ...targets.queues.map((q) => el("option", { value: `queue:${q.id}`, text: q.name }))),
      el("optgroup", { label: "Reps" }, ...targets.reps.map((r) => el("option", { value: `rep:${r.id}`, text: `${r.name} (${r.status})` }))));
    const note = el("textarea", { class: "acd-transfer-note-input", rows: 3, maxlength: NOTE_MAX, "aria-label": "Note for the receiver",
      placeholder: "A note for whoever takes over (shown to them)" });
    const count = el("span", { class: "small acd-note-count", text: `0/${NOTE_MAX}` });
    note.addEventListener("input", () => { count.textContent = `${note.value.length}/${NOTE_MAX}`; });
    const button = el("button", { class: "acd-transfer primary", text: "Transfer",
      onclick: async () => {
        const [kind, id] = select.value.split(":");
        try {
          await api.request(kind === "queue" ? { type: "webacd.transfer", to: "queue", queue_id: Number(id), note: note.value }
            : { type: "webacd.transfer", to: "rep", user_id: Number(id), note: note.value });
          api.notice("Transferred. You left the session; the customer stays connected.");
        } catch (err) { api.notice(err.message, "error"); }
      } });
    api.panel.append(el("h3", { text: "Transfer the session" }), select, note, count, button,
      el("p", { class: "small", text: "You leave the session; the customer stays connected and is told they are being transferred." }));
  },

  "webacd.customer"(api) {
    const box = el("div", { class: "acd-customer-status" });
    api.on("client.shown", (m) => { if (m.option === api.option.id) api.badge(0); });
    api.panel.append(el("h3", { text: "Your request" }), box);
    let shownUrl = false;
    api.on("session.hello", async () => {
      try {
        const info = await api.request({ type: "webacd.info" });
        const r = info.request;
        if (r) box.replaceChildren(el("p", { text: `${r.name}: ${r.problem || ""}` }));
        const url = ((info.start_options || {}).webacd || {}).open_url;
        if (url && !shownUrl && /^https?:\/\//.test(url)) {
          shownUrl = true;
          box.append(el("p", {}, "Your representative suggests this page: ",
            el("a", { class: "acd-open-url", href: url, target: "_blank", rel: "noopener", text: url })));
          api.notice(`Your representative suggests: ${url}`);
        }
      } catch { /* not a WebACD session */ }
    });
    api.on("webacd.transferring", (m) => {
      box.replaceChildren(el("p", { class: "acd-transferring", text: m.text }));
      api.notice(m.text);
      if (!api.isShown()) api.badge(1);
    });
    api.on("webacd.status", (m) => {
      if (m.state === "waiting") box.replaceChildren(el("p", { class: "acd-transferring", text: `You are being transferred. Your position: ${m.position}.` }));
    });
    api.on("webacd.transferred", (m) => {
      box.replaceChildren(el("p", { text: m.text }));
      api.notice(m.text);
    });
  },
};

export function mount(api) {
  return mounts[api.option.id](api);
}
