// Advanced file transfer. The rep's "Customer's files" panel: request access, browse the customer's folder
// (lazy listing with sizes and dates), copy a file to me (then download it), send a file into the folder
// shown, with progress bars. The customer's "File access" panel: run the Support Manager, who has access,
// transfers in progress, and "Stop file access now". All text from the other side is set as text.
import { el, csrfToken } from "/static/core/client.js";

const P = "filexfer_advanced";

function size(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

function when(t) { return t ? new Date(t * 1000).toLocaleString() : ""; }
function shellQuote(s) { return `'${String(s).replace(/'/g, "'\\''")}'`; }

// One transfers list per panel: rows keyed by transfer id, updated by progress / done / failed messages.
function transfersView(api, { downloads }) {
  const list = el("ul", { class: "fxa-transfers", "aria-live": "polite" });
  const rows = new Map();
  function row(t) {
    let r = rows.get(t.id);
    if (!r) {
      const bar = el("progress", { class: "fxa-progress", max: 100, value: 0 });
      const note = el("span", { class: "fxa-note" });
      const label = el("span", { class: "fxa-name" });
      const stop = el("button", { class: "fxa-cancel", text: "Cancel",
        onclick: () => api.request({ type: `${P}.cancel`, transfer: t.id }).catch((err) => api.notice(err.message, "error")) });
      const li = el("li", { class: "fxa-transfer", "data-id": t.id, "data-direction": t.direction }, label, " ", bar, " ", note, " ", stop);
      r = { li, bar, note, label, stop };
      rows.set(t.id, r);
      list.prepend(li);
    }
    r.label.textContent = `${t.direction === "to_rep" ? "\u2B07" : "\u2B06"} ${t.name}`;
    return r;
  }
  function update(t) {
    const r = row(t);
    r.li.dataset.status = t.status;
    if (t.size) r.bar.value = Math.round((t.done / t.size) * 100);
    r.note.textContent = t.size ? `${size(t.done)} of ${size(t.size)}` : "starting…";
    if (t.direction === "to_customer" && t.upload_complete === false && t.size) r.note.textContent += ` (uploaded ${size(t.uploaded)})`;
  }
  function done(m) {
    const r = row(m);
    r.stop.hidden = true;
    r.li.dataset.status = m.type.endsWith(".done") ? "done" : "failed";
    if (m.type.endsWith(".failed")) {
      r.note.textContent = m.error || "failed";
      r.note.className = "fxa-note error";
      return;
    }
    r.bar.value = 100;
    r.note.textContent = "";
    r.note.className = "fxa-note ok";
    if (downloads && m.direction === "to_rep" && m.url) {
      r.note.append(el("a", { class: "fxa-download", href: m.url, download: m.name, text: "Download" }),
        el("span", { text: ` ${size(m.size)}, SHA-256 ` }), el("code", { class: "sha256", text: m.sha256 }));
    } else {
      r.note.append(el("span", { text: m.direction === "to_customer" ? `Saved as ${m.path || m.name}, SHA-256 ` : "Done, SHA-256 " }),
        el("code", { class: "sha256", text: m.sha256 || "" }));
    }
  }
  api.on(`${P}.progress`, update);
  api.on(`${P}.done`, done);
  api.on(`${P}.failed`, (m) => { done(m); api.notice(`${m.name}: ${m.error}`, "error"); });
  return { list, update, row };
}

function repPanel(api) {
  let state = { agents: [], grants: [], pending: [], transfers: [] };
  let path = "";
  const status = el("p", { class: "fxa-status", role: "status" });
  const ask = el("button", { class: "fxa-request primary", text: "Request file access" });
  const crumbs = el("nav", { class: "fxa-path", "aria-label": "Folder" });
  const table = el("table", { class: "fxa-listing" });
  const browser = el("div", { class: "fxa-browser", hidden: true });
  const input = el("input", { type: "file", class: "fxa-upload-input", "aria-label": "File to send" });
  const send = el("button", { class: "fxa-send", text: "Send to this folder" });
  const upBar = el("progress", { class: "fxa-upload-progress", max: 100, value: 0, hidden: true });
  const transfers = transfersView(api, { downloads: true });
  browser.append(crumbs, table, el("div", { class: "fxa-upload" }, input, " ", send, " ", upBar));
  api.panel.append(el("h3", { text: "Customer's files" }), status, ask, browser, el("h4", { text: "Transfers" }), transfers.list);

  const me = () => api.me && api.me.id;
  const agent = () => state.agents.find((a) => a.online) || state.agents[0];
  const granted = () => { const a = agent(); return a && state.grants.some((g) => g.agent === a.id && g.rep === me()); };

  function update() {
    const a = agent();
    const waiting = a && state.pending.some((p) => p.agent === a.id && p.rep === me());
    if (!a) status.textContent = "The customer's Support Manager is not running yet: ask them to start it from their session page (File access).";
    else if (granted()) status.textContent = `You may browse and copy files in ${a.root} on ${a.name}'s computer.`;
    else if (waiting) status.textContent = "Waiting for the customer to allow it on their computer…";
    else status.textContent = `${a.name}'s Support Manager is running. Ask for access to their files.`;
    ask.hidden = !a || granted();
    ask.disabled = Boolean(waiting);
    const wasHidden = browser.hidden;
    browser.hidden = !granted();
    if (wasHidden && !browser.hidden) open(path);
  }

  async function open(p) {
    try {
      const m = await api.request({ type: `${P}.list`, path: p, agent: agent()?.id });
      path = m.path;
      draw(m);
    } catch (err) { status.textContent = err.message; api.notice(err.message, "error"); }
  }

  function draw(m) {
    crumbs.replaceChildren();
    const parts = m.path ? m.path.split("/") : [];
    crumbs.append(el("button", { class: "fxa-crumb", "data-path": "", text: agent()?.root || "Home", onclick: () => open("") }));
    parts.forEach((part, i) => {
      const to = parts.slice(0, i + 1).join("/");
      crumbs.append(" / ", el("button", { class: "fxa-crumb", "data-path": to, text: part, onclick: () => open(to) }));
    });
    table.replaceChildren(el("tr", {}, el("th", { text: "Name" }), el("th", { text: "Size" }), el("th", { text: "Modified" }), el("th", {})));
    if (!m.entries.length) table.append(el("tr", {}, el("td", { class: "fxa-empty", text: "This folder is empty.", colspan: 4 })));
    for (const e of m.entries) {
      const full = m.path ? `${m.path}/${e.name}` : e.name;
      let name;
      if (e.kind === "dir") name = el("button", { class: "fxa-dir", "data-name": e.name, text: `\uD83D\uDCC1 ${e.name}`, onclick: () => open(full) });
      else name = el("span", { class: `fxa-${e.kind}`, "data-name": e.name, text: e.kind === "outside" ? `${e.name} (link outside the shared folder)` : e.name });
      const action = e.kind === "file" ? el("button", { class: "fxa-fetch", "data-name": e.name, text: "Copy to me",
        onclick: () => api.request({ type: `${P}.fetch`, path: full, agent: agent()?.id })
          .then((r) => transfers.update(r.transfer)).catch((err) => api.notice(err.message, "error")) }) : "";
      table.append(el("tr", { class: "fxa-entry" }, el("td", {}, name), el("td", { class: "fxa-size", text: e.kind === "file" ? size(e.size) : "" }),
        el("td", { class: "fxa-mtime", text: when(e.mtime) }), el("td", {}, action)));
    }
    if (m.truncated) table.append(el("tr", {}, el("td", { colspan: 4, text: "Only the first 5000 entries are shown." })));
  }

  ask.addEventListener("click", () => api.request({ type: `${P}.request`, agent: agent()?.id })
    .then(() => { status.textContent = "Waiting for the customer to allow it on their computer…"; })
    .catch((err) => { status.textContent = err.message; }));

  // The file goes up in one request from where the host is; if the connection drops, the page asks the host
  // how much it has and goes on from there (the customer's computer meanwhile receives what has arrived).
  const uploadsUrl = () => `${api.sitePrefix}/p/${P}/sessions/${api.session.id}/uploads`;
  class Refused extends Error {}
  // The host's JSON errors: {"error": {"code", "message"}} (plus keys such as "have").
  const errorText = (body) => body?.error?.message || "";
  function putFrom(id, file, offset, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", `${uploadsUrl()}/${id}?offset=${offset}`);
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (e) => onProgress(offset + e.loaded);
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { body = { error: { message: xhr.responseText } }; }
        const text = errorText(body);
        if (xhr.status === 200) resolve(body);
        else if (xhr.status === 409 && typeof body.have === "number") resolve(body);   // go on from what the host has
        else if (xhr.status >= 500 || (xhr.status === 400 && /cut off/.test(text))) reject(new Error(text || `error ${xhr.status}`));
        else reject(new Refused(text || `Sending failed (${xhr.status}).`));
      };
      xhr.onerror = () => reject(new Error("the connection dropped"));
      xhr.send(file.slice(offset));
    });
  }
  async function hostHas(id) {
    const r = await fetch(`${uploadsUrl()}/${id}`, { credentials: "same-origin" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Refused(errorText(body) || `Sending failed (${r.status}).`);
    return body.have;
  }
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));

  // The same file (name, size, last-modified time) into the same folder, left unfinished by this rep (a reload
  // or a closed tab): it goes on from what the host has instead of starting again.
  function unfinished(file) {
    return state.transfers.find((t) => t.direction === "to_customer" && t.rep === me() && t.upload_complete === false
      && t.name === file.name && t.size === file.size && t.upload_modified === file.lastModified && t.path === path);
  }

  async function sendFile(file) {
    let id;
    let have = 0;
    const earlier = unfinished(file);
    if (earlier) {
      id = earlier.id;
      have = await hostHas(id);
      status.textContent = `Resuming ${file.name} from ${size(have)}…`;
    } else {
      const q = new URLSearchParams({ agent: agent()?.id || "", dir: path, name: file.name, size: String(file.size),
        modified: String(file.lastModified) });
      const r = await fetch(`${uploadsUrl()}?${q}`, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() } });
      const body = await r.json().catch(() => ({}));
      if (r.status !== 201) throw new Refused(errorText(body) || `Sending failed (${r.status}).`);
      id = body.transfer.id;
      transfers.update(body.transfer);
    }
    let failures = 0;
    const shown = (n) => { upBar.value = file.size ? Math.round((n / file.size) * 100) : 100; };
    while (have < file.size) {
      try {
        const answer = await putFrom(id, file, have, shown);
        if (answer.have > have || answer.complete) failures = 0;
        else {   // the host had nothing new (another request was still finishing): wait a little
          failures += 1;
          if (failures > 20) throw new Refused(errorText(answer) || "The upload does not go on; try again.");
          await pause(Math.min(500 * failures, 5000));
        }
        have = answer.have;
      } catch (err) {
        if (err instanceof Refused) throw err;
        failures += 1;
        if (failures > 20) throw new Refused(`The upload kept failing (${err.message}); try again.`);
        status.textContent = `The connection dropped; resuming ${file.name}…`;
        await pause(Math.min(500 * failures, 5000));
        try { have = await hostHas(id); } catch (again) { if (again instanceof Refused) throw again; }
        status.textContent = `Resuming ${file.name} from ${size(have)}…`;
      }
    }
    shown(file.size);
    return id;
  }

  send.addEventListener("click", () => {
    const file = input.files[0];
    if (!file) { status.textContent = "Choose a file first."; return; }
    upBar.hidden = false;
    upBar.value = 0;
    send.disabled = true;
    if (!unfinished(file)) status.textContent = `Sending ${file.name} to the customer…`;
    sendFile(file)
      .then(() => { input.value = ""; status.textContent = `${file.name} is uploaded; the customer's computer is receiving it…`; })
      .catch((err) => { upBar.hidden = true; status.textContent = err.message; api.notice(err.message, "error"); })
      .finally(() => { send.disabled = false; });
  });

  api.on(`${P}.state`, (m) => { state = m; update(); });
  api.on(`${P}.answer`, (m) => api.notice(m.allow ? "The customer allowed access to their files." : "The customer denied access to their files.", m.allow ? "info" : "error"));
  api.on(`${P}.notice`, (m) => api.notice(m.text, "error"));
  api.on(`${P}.done`, (m) => {
    if (m.direction !== "to_customer") return;
    status.textContent = `${m.name} is saved on the customer's computer (SHA-256 checked).`;
    upBar.hidden = true;
    if (granted()) open(path);
  });
  api.on(`${P}.failed`, (m) => { if (m.direction === "to_customer" && m.rep === me()) { status.textContent = `${m.name}: ${m.error}`; upBar.hidden = true; } });
  const load = () => api.request({ type: `${P}.state` }).then((m) => { state = m; update(); for (const t of m.transfers) transfers.update(t); }).catch(() => {});
  api.on("session.hello", load);
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) load();
  update();
}

function customerPanel(api) {
  let state = { agents: [], grants: [], transfers: [] };
  const who = el("p", { class: "fxa-who", "aria-live": "polite" });
  const stop = el("button", { class: "fxa-stop danger", text: "Stop file access now", hidden: true });
  const code = el("code", { class: "fxa-command" });
  const show = el("button", { class: "fxa-show-command", text: "Show the command" });
  const transfers = transfersView(api, { downloads: false });
  api.panel.append(el("h3", { text: "File access" }), who, stop,
    el("div", { class: "fxa-run" }, el("p", { text: "To let your representative reach files on your computer, run the Support Manager (it asks you first; add --files FOLDER to share only that folder):" }),
      show, el("pre", {}, code)),
    el("h4", { text: "Transfers" }), transfers.list);
  show.addEventListener("click", async () => {
    try {
      const m = await api.request({ type: `${P}.agent_command` });
      code.textContent = `support-manager join ${location.origin}${api.sitePrefix} ${m.number} --name ${shellQuote(m.name)}`;
    } catch (err) { api.notice(err.message, "error"); }
  });
  stop.addEventListener("click", () => api.request({ type: `${P}.revoke` })
    .then(() => api.notice("File access stopped.")).catch((err) => api.notice(err.message, "error")));
  function update() {
    if (!state.agents.length) who.textContent = "The Support Manager is not running.";
    else if (!state.grants.length) who.textContent = "Nobody can reach your files.";
    else who.textContent = state.grants.map((g) => {
      const a = state.agents.find((x) => x.id === g.agent);
      return `${g.rep_name} can browse and copy files in ${a ? a.root : "your shared folder"}`;
    }).join("; ") + ".";
    stop.hidden = !state.grants.length;
    api.badge(state.grants.length && !api.isShown() ? state.grants.length : 0);
  }
  api.on(`${P}.state`, (m) => { state = m; update(); });
  const load = () => api.request({ type: `${P}.state` }).then((m) => { state = m; update(); }).catch(() => {});
  api.on("session.hello", load);
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) load();
  update();
}

export function mount(api) {
  return api.option.id === `${P}.customer` ? customerPanel(api) : repPanel(api);
}
