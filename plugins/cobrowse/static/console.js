// Co-browse in the rep's consoles (Co-browse View and Co-browse Control, Application tab).
import { el } from "/static/core/client.js";

export function mount(api) {
  const status = el("p", { class: "cobrowse-status", role: "status", text: "Co-browse: checking…" });
  api.panel.append(el("h3", { text: api.option.label }), status);
  const draw = (m) => {
    status.textContent = m.state === "unavailable" ? `Unavailable: ${m.reason}` : `Co-browse: ${m.state}`;
  };
  api.on("cobrowse.state", draw);
  api.on("session.hello", () => api.request({ type: "cobrowse.state" }).then(draw).catch(() => {}));
}
