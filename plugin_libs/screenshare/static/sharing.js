// Desktop sharing in the consoles and on the customer page: Request view / Request control,
// Share view / Share control, Session options (display mode), and the customer's "Screen sharing"
// panel (run the Support Manager, who sees my screen, stop at once). One controller per connection
// holds the state the host announces and one viewer; option panels show parts of it.
import { el } from "/static/core/client.js";
import { DesktopViewer } from "./viewer.js";

const controllers = new WeakMap();   // client -> { plugin: Controller }
const LEVEL_TEXT = { view: "view", control: "control" };

function shellQuote(s) { return `'${String(s).replace(/'/g, "'\\''")}'`; }

class Controller {
  constructor(api, plugin) {
    this.api = api;
    this.plugin = plugin;
    this.client = api.client;
    this.state = { agents: [], grants: [], pending: [], mode: "standard" };
    this.panels = new Set();
    this.viewer = new DesktopViewer({ send: (m) => this.client.send(m), onError: (t) => this.say(t), plugin });
    const P = plugin;
    const on = (type, fn) => this.client.on(type, fn);
    on("client.binary", (m) => this.viewer.onBinary(m.data));
    on(`${P}.cursor`, (m) => this.viewer.onCursor(m));
    on(`${P}.state`, (m) => { this.state = m; this.update(); });
    on(`${P}.notice`, (m) => this.api.notice(m.text, "error"));
    on(`${P}.answer`, (m) => {
      const text = m.allow ? `Allowed: you can ${LEVEL_TEXT[m.level]} the screen now` : `The request to ${LEVEL_TEXT[m.level]} was denied`;
      this.api.notice(text, m.allow ? "info" : "error");
      this.say(text);
      if (m.allow && this.requestPanel) this.requestPanel.show();
    });
    on("error", (m) => { if (m.re === `${P}.input`) this.say(m.error); });
    on("session.hello", () => this.client.request({ type: `${P}.state` }).then((m) => { this.state = m; this.update(); }).catch(() => {}));
    if (this.client.ws && this.client.ws.readyState === WebSocket.OPEN) this.client.send({ type: `${P}.state` });
  }

  get me() { return this.api.me; }
  isRep() { return this.me && (this.me.role === "primary_rep" || this.me.role === "assisting_rep"); }
  agents(side) { return this.state.agents.filter((a) => a.side === side); }
  myAgent() { return this.state.agents.find((a) => a.side === "rep" && this.me && a.owner === this.me.id); }
  myGrant() { return this.me && this.state.grants.find((g) => g.viewer === this.me.id); }
  grantsOf(agentIds) { return this.state.grants.filter((g) => agentIds.includes(g.agent)); }

  say(text) { this.viewer.status.textContent = text; }

  update() {
    const g = this.myGrant();
    if (g) {
      const agent = this.state.agents.find((a) => a.id === g.agent);
      this.viewer.show(g.agent, g.level === "control");
      if (agent) this.viewer.setMonitors(agent.monitors, agent.monitor);
      this.say(g.level === "control" ? "You control this screen" : "You are viewing this screen");
    } else {
      this.viewer.hide();
    }
    for (const p of this.panels) p.update();
  }

  attachViewer(panel) { panel.append(this.viewer.root); }

  async command(api) {
    const m = await api.request({ type: `${this.plugin}.agent_command` });
    const url = `${location.origin}${api.sitePrefix}`;
    return `support-manager join ${url} ${m.number} --name ${shellQuote(m.name)} --pair ${m.pair}`;
  }
}

function controller(api) {
  const plugin = api.option.plugin || api.option.id.split(".")[0];
  let mine = controllers.get(api.client);
  if (!mine) { mine = {}; controllers.set(api.client, mine); }
  if (!mine[plugin]) mine[plugin] = new Controller(api, plugin);
  mine[plugin].api = api;
  return mine[plugin];
}

function commandBox(c, api, intro) {
  const code = el("code", { class: "desktop-command" });
  const copy = el("button", { class: "copy-command", text: "Copy", hidden: true,
    onclick: () => navigator.clipboard?.writeText(code.textContent).then(() => api.notice("Command copied")).catch(() => {}) });
  const get = el("button", { class: "show-command", text: "Show the command",
    onclick: async () => {
      try { code.textContent = await c.command(api); copy.hidden = false; }
      catch (err) { api.notice(err.message, "error"); }
    } });
  return el("div", { class: "desktop-run" }, el("p", { text: intro }), get, " ", copy, el("pre", {}, code),
    el("p", { class: "small" }, "Install it first: ",
      el("a", { href: `${api.sitePrefix}/downloads`, target: "_blank", rel: "noopener", class: "downloads-link",
        text: "Downloads page (Linux, Windows, macOS)" }),
      ". Nothing is shared until you click Allow on your computer."));
}

function listGrants(grants) {
  if (!grants.length) return "Nobody sees this screen.";
  return grants.map((g) => `${g.viewer_name} can ${g.level === "control" ? "see and control" : "see"} it`).join("; ") + ".";
}

const mounts = {
  request(api, level) {
    const c = controller(api);
    const status = el("p", { class: "desktop-request-status", "aria-live": "polite" });
    const ask = el("button", { class: `desktop-request primary`, text: level === "control" ? "Request control" : "Request view",
      onclick: async () => {
        c.requestPanel = api;
        try {
          const m = await api.request({ type: `${c.plugin}.request`, level });
          status.textContent = m.already ? "You have this already." : "Waiting for the customer to allow it on their computer…";
        } catch (err) { status.textContent = err.message; }
      } });
    const release = el("button", { class: "desktop-release", text: "Stop viewing", hidden: true,
      onclick: () => api.request({ type: `${c.plugin}.release` }).catch((err) => api.notice(err.message, "error")) });
    const info = el("p", { class: "desktop-agent-info small" });
    const thing = c.plugin === "appshare" ? "application" : "screen";
    api.panel.append(el("h3", { text: level === "control" ? `Control the customer's ${thing}` : `View the customer's ${thing}` }),
      info, el("div", { class: "desktop-actions" }, ask, " ", release), status);
    const panel = {
      update() {
        const agents = c.agents("customer");
        info.textContent = agents.length ? `Support Manager: ${agents.map((a) => `${a.name}${a.online ? "" : " (reconnecting)"}`).join(", ")}`
          : "The customer's Support Manager is not running yet: ask them to start it from their session page.";
        const g = c.myGrant();
        release.hidden = !g;
        if (g) status.textContent = g.level === "control" ? "You control the customer's screen." : "You see the customer's screen.";
        const mine = c.state.pending.find((p) => c.me && p.viewers.includes(c.me.id));
        if (mine && !g) status.textContent = "Waiting for the customer to allow it on their computer…";
      },
    };
    c.panels.add(panel);
    api.on("client.shown", (m) => { if (m.option === api.option.id) { c.attachViewer(api.panel); } });
    if (!c.viewer.root.parentNode || level === "view") c.attachViewer(api.panel);
    panel.update();
  },

  share(api, level) {
    const c = controller(api);
    const status = el("p", { class: "desktop-share-status", "aria-live": "polite" });
    const go = el("button", { class: "desktop-share primary", text: level === "control" ? "Share my screen with control" : "Share my screen",
      onclick: () => api.request({ type: `${c.plugin}.share`, level })
        .then(() => { status.textContent = "Allow it in your Support Manager…"; })
        .catch((err) => { status.textContent = err.message; }) });
    const stop = el("button", { class: "desktop-stop danger", text: "Stop sharing",
      onclick: () => api.request({ type: `${c.plugin}.stop` }).catch((err) => api.notice(err.message, "error")) });
    const who = el("p", { class: "desktop-share-who" });
    api.panel.append(el("h3", { text: level === "control" ? "Let the customer see and control your screen" : "Show your screen to the customer" }),
      commandBox(c, api, "1. Start your own Support Manager with this command:"),
      el("p", { text: "2. Then:" }), go, " ", stop, who, status);
    const panel = {
      update() {
        const mine = c.myAgent();
        who.textContent = mine ? listGrants(c.grantsOf([mine.id])) : "Your Support Manager is not connected.";
      },
    };
    c.panels.add(panel);
    panel.update();
  },

  options(api) {
    const c = controller(api);
    const select = el("select", { class: "desktop-mode", "aria-label": "Display mode",
      onchange: () => api.request({ type: `${c.plugin}.set_mode`, mode: select.value }).catch((err) => api.notice(err.message, "error")) },
    el("option", { value: "standard", text: "Standard (better picture, more bandwidth)" }),
    el("option", { value: "sampling", text: "Screen sampling (faster, lower picture quality)" }));
    api.panel.append(el("h3", { text: "Session options" }), el("label", {}, "Display mode ", select));
    const panel = { update() { if (document.activeElement !== select) select.value = c.state.mode || "standard"; } };
    c.panels.add(panel);
    panel.update();
  },

  customer(api) {
    const c = controller(api);
    const who = el("p", { class: "desktop-who", "aria-live": "polite" });
    const stop = el("button", { class: "desktop-stop danger", text: "Stop sharing now", hidden: true,
      onclick: () => api.request({ type: `${c.plugin}.stop` }).then(() => api.notice("Sharing stopped."))
        .catch((err) => api.notice(err.message, "error")) });
    const viewerBox = el("div", { class: "desktop-incoming" });
    api.panel.append(el("h3", { text: "Screen sharing" }), who, stop,
      commandBox(c, api, "To let your representative see your screen, run the Support Manager on your computer:"),
      viewerBox);
    c.attachViewer(viewerBox);
    const panel = {
      update() {
        const mine = c.agents("customer").map((a) => a.id);
        const grants = c.grantsOf(mine);
        who.textContent = mine.length ? listGrants(grants) : "The Support Manager is not running.";
        stop.hidden = !grants.length;
        if (grants.length && !api.isShown()) api.badge(grants.length); else api.badge(0);
      },
    };
    c.panels.add(panel);
    panel.update();
  },
};

export function mount(api) {
  switch (api.option.id.split(".")[1]) {
    case "request_view": return mounts.request(api, "view");
    case "request_control": return mounts.request(api, "control");
    case "share_view": return mounts.share(api, "view");
    case "share_control": return mounts.share(api, "control");
    case "session_options": return mounts.options(api);
    case "customer": return mounts.customer(api);
    default: return undefined;
  }
}
