// The session's own controls (host core): participants, add a rep, transfer control, end, leave.
import { el } from "./client.js";

function result(api, promise, done) {
  promise.then((m) => { if (done) done(m); }).catch((err) => api.notice(err.message, "error"));
}

const mounts = {
  "session.participants"(api) {
    const list = el("ul", { class: "participants" });
    const draw = () => list.replaceChildren(...api.participants.map((p) =>
      el("li", { "data-role": p.role }, el("span", { class: "name", text: p.name }),
        el("span", { class: "role", text: ` — ${p.role.replace("_", " ")}${p.online ? "" : " (reconnecting)"}` }))));
    api.on("client.roster", draw);
    draw();
    const more = el("button", { class: "new-number", text: "Number for another customer",
      onclick: () => result(api, api.request({ type: "session.new_number" }), (m) => {
        out.textContent = `Another customer can join with ${m.number}`;
      }) });
    const out = el("p", { class: "new-number-out" });
    api.panel.append(el("h3", { text: "Participants" }), list,
      api.me && api.me.role === "primary_rep" ? more : "", out);
  },

  async "session.add_rep"(api) {
    const select = el("select", { name: "rep", "aria-label": "Rep to add" });
    const refresh = async () => {
      const res = await fetch(`${api.sitePrefix}/api/reps`, { credentials: "same-origin" });
      const { reps } = await res.json();
      const inSession = new Set(api.participants.filter((p) => p.rep).map((p) => p.user_id));
      select.replaceChildren(...reps.filter((r) => !inSession.has(r.id))
        .map((r) => el("option", { value: r.id, text: `${r.display_name} (${r.username})` })));
    };
    const button = el("button", { class: "add-rep", text: "Add to session",
      onclick: () => result(api, api.request({ type: "session.add_rep", user_id: Number(select.value) }),
        () => { api.notice("Rep added: they see the session in their console now"); refresh(); }) });
    api.panel.append(el("h3", { text: "Add a rep to assist" }), select, button);
    api.on("client.shown", (m) => { if (m.option === api.option.id) refresh(); });
    await refresh();
  },

  "session.transfer_control"(api) {
    const select = el("select", { name: "to", "aria-label": "Rep to lead the session" });
    const draw = () => select.replaceChildren(...api.participants
      .filter((p) => p.rep && (!api.me || p.id !== api.me.id))
      .map((p) => el("option", { value: p.id, text: p.name })));
    api.on("client.roster", draw);
    draw();
    const button = el("button", { class: "transfer-control", text: "Transfer control",
      onclick: () => {
        if (!select.value) { api.notice("Add another rep to the session first", "error"); return; }
        result(api, api.request({ type: "session.transfer_control", to: select.value }));
      } });
    api.panel.append(el("h3", { text: "Hand the lead to another rep" }), select, button);
  },

  "session.end"(api) {
    const primary = () => api.me && api.me.role === "primary_rep";
    const end = el("button", { class: "end-session danger", text: "End session for everybody",
      onclick: () => { if (confirm("End this session for everybody?")) result(api, api.request({ type: "session.end" })); } });
    const leave = el("button", { class: "leave-session", text: "Leave session",
      onclick: () => result(api, api.request({ type: "session.leave" })) });
    api.panel.append(el("h3", { text: "End or leave" }), primary() ? end : leave);
  },

  "session.rep_leave"(api) {
    api.panel.append(el("h3", { text: "Leave this session" }),
      el("p", { text: "The session goes on without you; the primary rep keeps it." }),
      el("button", { class: "leave-session", text: "Leave session",
        onclick: () => result(api, api.request({ type: "session.leave" })) }));
  },

  "session.customer_leave"(api) {
    api.panel.append(el("p", { text: "Leave this support session? You can join again with a new session number." }),
      el("button", { class: "leave-session", text: "Leave session",
        onclick: () => result(api, api.request({ type: "session.leave" })) }));
  },
};

export function mount(api) {
  return mounts[api.option.id](api);
}
