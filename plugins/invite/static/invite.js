// Invite panel: invite the customer (email, instant message, phone, or a channel another plugin adds)
// or another rep (email). Every invite is listed with how it went; one that failed can be retried.
import { el, postJSON } from "/static/core/client.js";

export async function mount(api) {
  const base = () => `${api.sitePrefix}/p/invite/sessions/${api.session.id}`;
  const channel = el("select", { class: "invite-channel", "aria-label": "Invite how" });
  const to = el("input", { class: "invite-to", name: "to", autocomplete: "off" });
  const toLabel = el("span", { text: "Address" });
  const name = el("input", { class: "invite-name", name: "name", maxlength: 80, autocomplete: "off" });
  const status = el("p", { class: "invite-status", role: "status" });
  const sentence = el("p", { class: "invite-sentence" });
  const list = el("ul", { class: "invite-list" });
  let channels = [];

  const rows = new Map();
  function draw(inv) {
    const text = inv.channel === "phone"
      ? `phone${inv.recipient ? " → " + inv.recipient : ""}: read out “${inv.detail || ""}”`
      : `${inv.channel} → ${inv.recipient || inv.recipient_name || "(everybody)"}: ${inv.status}` +
        (inv.error ? ` — ${inv.error}` : "");
    const item = el("li", { class: `invite-row ${inv.status}`, "data-id": inv.id }, el("span", { text }));
    if (inv.status === "failed") {
      item.append(" ", el("button", { class: "invite-retry", text: "Retry", onclick: () => retry(inv.id) }));
    }
    const old = rows.get(inv.id);
    if (old) old.replaceWith(item); else list.prepend(item);
    rows.set(inv.id, item);
  }

  function pick() {
    const c = channels.find((x) => x.name === channel.value);
    if (!c) return;
    toLabel.textContent = c.address_label;
    to.required = c.needs_address;
    to.type = c.name.endsWith("email") ? "email" : "text";
  }

  async function send() {
    status.textContent = "Sending…";
    sentence.textContent = "";
    try {
      const res = await postJSON(`${base()}/invites`, { channel: channel.value, to: to.value, name: name.value });
      draw(res.invite);
      if (res.invite.channel === "phone") {
        sentence.textContent = `Read out: “${res.invite.detail}”`;
        status.textContent = "";
      } else {
        status.textContent = `Invite sent (${res.invite.detail || res.invite.status}).`;
      }
      to.value = ""; name.value = "";
    } catch (err) {
      status.textContent = err.message;
      refresh();
    }
  }

  async function retry(id) {
    status.textContent = "Retrying…";
    try {
      const res = await postJSON(`${base()}/invites/${id}/retry`);
      draw(res.invite);
      status.textContent = "Invite sent.";
    } catch (err) { status.textContent = err.message; refresh(); }
  }

  async function refresh() {
    const res = await fetch(`${base()}/invites`, { credentials: "same-origin" });
    if (res.ok) for (const inv of (await res.json()).invites) draw(inv);
  }

  const form = el("form", { class: "invite-form", onsubmit: (e) => { e.preventDefault(); send(); } },
    el("label", {}, "How ", channel),
    el("label", {}, toLabel, " ", to),
    el("label", {}, "Name ", name),
    el("button", { type: "submit", class: "invite-send", text: "Send invite" }));
  api.panel.append(el("h3", { text: "Invite" }), form, status, sentence, el("h4", { text: "Invites of this session" }), list);
  channel.addEventListener("change", pick);
  api.on("invite.updated", (m) => draw(m.invite));

  const res = await fetch(`${base()}/channels`, { credentials: "same-origin" });
  if (res.ok) {
    channels = (await res.json()).channels;
    channel.replaceChildren(...channels.map((c) => el("option", { value: c.name, text: c.label })));
    pick();
  }
  await refresh();
}
