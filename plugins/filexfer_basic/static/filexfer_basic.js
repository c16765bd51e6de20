// File window: the rep publishes files (upload with a progress bar); everybody in the session sees the
// list appear live and downloads with a progress bar; each file shows its SHA-256, checked after download.
import { el, csrfToken } from "/static/core/client.js";

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function sha256hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function mount(api) {
  const isRep = api.me && (api.me.role === "primary_rep" || api.me.role === "assisting_rep");
  const list = el("ul", { class: "files-list", "aria-live": "polite" });
  const status = el("p", { class: "files-status", role: "status" });
  const empty = el("p", { class: "files-empty", text: "No files yet." });
  const shown = new Map();
  let unread = 0;

  function add(f) {
    if (shown.has(f.id)) return;
    empty.hidden = true;
    const bar = el("progress", { class: "download-progress", max: 100, value: 0 });
    bar.hidden = true;
    const note = el("span", { class: "download-note" });
    const button = el("button", { class: "download", text: "Download", onclick: () => download(f, bar, note, button) });
    const item = el("li", { class: "file", "data-id": f.id },
      el("span", { class: "file-name", text: f.name }),
      el("span", { class: "file-size", text: ` (${size(f.size)})` }), " ", button, " ", bar, " ", note,
      el("div", { class: "file-sha" }, el("span", { text: "SHA-256: " }), el("code", { class: "sha256", text: f.sha256 })));
    list.append(item);
    shown.set(f.id, item);
  }

  async function download(f, bar, note, button) {
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    note.textContent = "";
    try {
      const res = await fetch(f.url, { credentials: "same-origin" });
      if (!res.ok) throw new Error((await res.text()) || `download failed (${res.status})`);
      const total = Number(res.headers.get("Content-Length")) || f.size;
      const reader = res.body.getReader();
      const parts = [];
      let got = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        got += value.length;
        bar.value = total ? Math.round((got / total) * 100) : 0;
      }
      const blob = new Blob(parts, { type: "application/octet-stream" });
      const hex = await sha256hex(await blob.arrayBuffer());
      if (hex !== f.sha256) throw new Error("the download does not match its SHA-256; try again");
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: f.name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      bar.value = 100;
      note.textContent = "Downloaded, SHA-256 checked";
      note.className = "download-note ok";
    } catch (err) {
      note.textContent = err.message;
      note.className = "download-note error";
    } finally { button.disabled = false; }
  }

  api.panel.append(el("h3", { text: "Files" }));
  if (isRep) {
    const input = el("input", { type: "file", multiple: true, class: "publish-input", "aria-label": "Files to publish" });
    const bar = el("progress", { class: "upload-progress", max: 100, value: 0 });
    bar.hidden = true;
    const button = el("button", { class: "publish", text: "Publish" });
    button.addEventListener("click", () => {
      if (!input.files.length) { status.textContent = "Choose one or more files first."; return; }
      const form = new FormData();
      for (const file of input.files) form.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${api.sitePrefix}/p/filexfer_basic/sessions/${api.session.id}/files`);
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
      xhr.onload = () => {
        button.disabled = false;
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { body = { error: { message: xhr.responseText } }; }
        if (xhr.status === 201) {
          for (const f of body.files) add(f);
          status.textContent = `Published ${body.files.map((f) => f.name).join(", ")}.`;
          input.value = "";
          bar.value = 100;
        } else {
          status.textContent = body.error?.message || `Publishing failed (${xhr.status}).`;   // {"error": {"code", "message"}}
          bar.hidden = true;
        }
      };
      xhr.onerror = () => { button.disabled = false; bar.hidden = true; status.textContent = "The upload was interrupted; try again."; };
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      status.textContent = "Uploading…";
      xhr.send(form);
    });
    api.panel.append(el("div", { class: "publish-form" }, input, button, bar));
  }
  api.panel.append(status, empty, list);

  api.on("filexfer_basic.added", (m) => {
    for (const f of m.files) add(f);
    if (!api.isShown()) api.badge(++unread);
  });
  api.on("client.shown", (m) => { if (m.option === api.option.id) { unread = 0; api.badge(0); } });
  async function load() {
    try {
      const reply = await api.request({ type: "filexfer_basic.list" });
      for (const f of reply.files) add(f);
    } catch (err) { status.textContent = err.message; }
  }
  api.on("session.hello", load);
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) load();
}
