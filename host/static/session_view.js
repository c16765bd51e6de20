// One session in a console: connects, then lays out the options that plugins registered for this
// console and this participant's role. The same code serves the CSR dashboard, the icon tray, the
// multisession window and the customer page; only the layout differs.
import { SessionClient, el, loginEnded } from "./client.js";

const INFO = "session.info";
const TABS = [["tools", "Tools"], ["desktop", "Desktop"], ["application", "Application"], ["session", "Session"]];
const moduleCache = new Map();

// 123456789 -> "123 456 789": easier to read out on the phone (the join form ignores the spaces).
export function groupNumber(number) {
  return String(number || "").replace(/(\d{3})(?=\d)/g, "$1 ");
}

function loadModule(url) {
  if (!moduleCache.has(url)) moduleCache.set(url, import(url));
  return moduleCache.get(url);
}

export class SessionView {
  constructor({ root, sitePrefix, session, console: consoleKind, optionsForRole, onBadge, onEnd }) {
    this.root = root;
    this.sitePrefix = sitePrefix;
    this.session = session;
    this.console = consoleKind;
    this.optionsForRole = optionsForRole;
    this.onBadge = onBadge || (() => {});
    this.onEnd = onEnd || (() => {});
    this.client = new SessionClient({ sitePrefix, sessionId: session.id });
    this.me = null;
    this.participants = [];
    this.role = null;
    this.scoped = [];
    this.badges = new Map();
    this.visible = true;
    this.active = null;
    this.pluginOf = new Map();
    this.labelOf = new Map();
    for (const list of Object.values(optionsForRole)) {
      for (const o of list) { this.pluginOf.set(o.id, o.plugin); this.labelOf.set(o.id, o.label); }
    }
  }

  start() {
    this.client.on("session.hello", (m) => {
      this.me = m.you;
      this.participants = m.session.participants;
      this.session = { ...this.session, ...m.session };
      if (this.role !== m.you.role) this.render(m.you.role);
      this.updateRoster();
    });
    this.client.on("session.participants", (m) => {
      this.participants = m.participants;
      const mine = m.participants.find((p) => this.me && p.id === this.me.id);
      if (mine && mine.role !== this.role) { this.me = mine; this.render(mine.role); }
      this.updateRoster();
    });
    this.client.on("session.joined", (m) => this.notice(`${m.participant.name} joined the session`));
    this.client.on("session.left", (m) => this.notice(`${m.participant.name} left the session`));
    this.client.on("session.control_transferred", (m) => this.notice(`${m.to.name} now leads the session`));
    this.client.on("session.ended", (m) => this.finish(m.by ? `The session was ended by ${m.by.name}.` : "The session has ended."));
    this.client.on("session.you_left", (m) => this.finish(m.reason === "timeout"
      ? "You were disconnected for too long and are no longer in this session."
      : "You left the session."));
    this.client.on("session.features_changed", (m) => this.featuresChanged(m));
    this.client.on("error", (m) => { if (!m.re) this.notice(`Error: ${m.error}`, "error"); });
    this.client.on("client.closed", (m) => {
      this.root.classList.add("offline");
      if (loginEnded(m)) {
        this.notice(`Your login ended (${m.reason}).`, "error");
      } else if (m.code === 1008 && (m.reason || "").startsWith("replaced")) {
        this.notice("This session is open in another window; this one no longer follows it.", "error");
      } else if (!this.client.finished && !this.lost) {
        this.lost = true;
        this.notice("Connection lost: reconnecting…", "error");
      }
    });
    this.client.on("client.open", () => {
      this.root.classList.remove("offline");
      if (this.lost) { this.lost = false; this.notice("Connected again."); }
    });
    this.client.connect();
  }

  finish(text) {
    this.teardown();
    this.root.replaceChildren(el("p", { class: "ended", text }));
    this.onEnd(this);
  }

  teardown() {
    for (const off of this.scoped.splice(0)) off();
  }

  // The site admin switched features off or on: options of switched-off plugins go at once (the host
  // refuses their messages anyway); new ones need the page loaded again, which the rep or customer decides.
  featuresChanged(m) {
    const off = new Set(m.disabled || []);
    for (const [role, list] of Object.entries(this.optionsForRole)) {
      this.optionsForRole[role] = list.filter((o) => !off.has(o.plugin));
    }
    const gone = [];
    for (const node of [...this.root.querySelectorAll("[data-open], .panel[data-option]")]) {
      const id = node.dataset.open || node.dataset.option;
      if (!off.has(this.pluginOf.get(id))) continue;
      if (node.dataset.open) gone.push(this.labelOf.get(id));
      if (this.badges.get(id)) this.setBadge(id, 0);
      node.remove();
      if (this.active === id) this.active = null;
    }
    if (this.active === null) {
      if (this.trayPanels) this.trayPanels.hidden = true;
      else {
        const next = this.root.querySelector('.tab-body[data-tab="tools"] [data-open]') || this.root.querySelector("[data-open]");
        if (next) this.activate(next.dataset.open);
      }
    }
    for (const body of this.root.querySelectorAll(".tab-body")) {
      if (!body.querySelector("[data-open], .empty")) body.append(el("p", { class: "empty", text: "No options here on this site." }));
    }
    if (gone.length) this.notice(`Switched off for this site: ${[...new Set(gone)].join(", ")}.`);
    if ((m.switched_on || []).length) {
      this.notice(`Switched on for this site: ${m.switched_on.join(", ")}.`, "info",
        { label: "Reload to use it", onclick: () => location.reload() });
    }
  }

  notice(text, kind = "info", action = null) {
    const log = this.root.querySelector(".notices");
    if (!log) return;
    log.prepend(el("div", { class: `notice ${kind}`, text },
      action ? el("button", { class: "notice-action", onclick: action.onclick, text: action.label }) : null));
    while (log.children.length > 5) log.lastChild.remove();
  }

  updateRoster() {
    const list = this.root.querySelector(".roster");
    if (!list) return;
    list.replaceChildren(...this.participants.map((p) =>
      el("li", { class: `person ${p.online ? "online" : "away"}`, "data-role": p.role },
        el("span", { class: "name", text: p.name }),
        el("span", { class: "role", text: ` (${p.role.replace("_", " ")}${p.online ? "" : ", reconnecting"})` }))));
    this.client.emit({ type: "client.roster", participants: this.participants });
  }

  setBadge(optionId, n) {
    this.badges.set(optionId, n);
    const btn = this.root.querySelector(`[data-open="${CSS.escape(optionId)}"] .badge`);
    if (btn) btn.textContent = n ? String(n) : "";
    let total = 0;
    for (const v of this.badges.values()) total += v;
    this.onBadge(this, total);
  }

  setVisible(visible) {
    this.visible = visible;
    this.root.hidden = !visible;
    if (visible && this.active) this.client.emit({ type: "client.shown", option: this.active });
  }

  // The tray: an icon opens its panel beside the tray; the same icon again closes it.
  toggleTray(panels, optionId) {
    if (!panels.hidden && this.active === optionId) {
      panels.hidden = true;
      this.active = null;
      for (const b of this.root.querySelectorAll("[data-open]")) b.classList.remove("active");
    } else {
      panels.hidden = false;
      this.activate(optionId);
    }
    document.dispatchEvent(new CustomEvent("tray-panels", { detail: { open: !panels.hidden } }));
  }

  activate(optionId) {
    this.active = optionId;
    for (const panel of this.root.querySelectorAll(".panel")) panel.hidden = panel.dataset.option !== optionId;
    for (const b of this.root.querySelectorAll("[data-open]")) b.classList.toggle("active", b.dataset.open === optionId);
    this.client.emit({ type: "client.shown", option: optionId });
  }

  header() {
    const s = this.session;
    const rep = this.role === "primary_rep" || this.role === "assisting_rep";
    return el("header", { class: "session-head" },
      el("div", { class: "number" }, el("span", { text: "Session " }),
        el("strong", { class: "session-number", text: groupNumber(s.number) })),
      rep && s.invitation ? el("div", { class: "invitation" },
        el("span", { class: "invitation-text", text: s.invitation }), " ",
        el("a", { class: "join-link", href: s.join_url, target: "_blank", rel: "noopener", text: "join link" })) : null,
      el("div", { class: "my-role", text: this.role ? `You: ${this.role.replace("_", " ")}` : "" }),
      el("ul", { class: "roster" }),
      el("div", { class: "notices", "aria-live": "polite" }));
  }

  showTab(key) {
    for (const b of this.root.querySelectorAll(".tabs .tab")) b.classList.toggle("active", b.dataset.tab === key);
    for (const b of this.root.querySelectorAll(".tab-body")) b.hidden = b.dataset.tab !== key;
  }

  render(role) {
    // A new role (control transferred) lays the options out again: keep what the person was looking at
    // and the notices that said what happened.
    const before = {
      notices: [...(this.root.querySelector(".notices")?.children || [])],
      tab: this.root.querySelector(".tabs .tab.active")?.dataset.tab,
      active: this.active,
      trayOpen: this.trayPanels ? !this.trayPanels.hidden : false,
    };
    this.teardown();
    this.role = role;
    const options = (this.optionsForRole[role] || []).slice().sort((a, b) => a.order - b.order);
    const panels = el("div", { class: "panels" });
    let layout;
    if (this.console === "tray") {
      const icons = el("nav", { class: "tray-icons" });
      for (const o of options) {
        icons.append(el("button", { class: "icon", title: o.label, "aria-label": o.label, "data-open": o.id },
          el("span", { class: "glyph", text: o.icon }), el("span", { class: "badge" })));
      }
      panels.hidden = true;
      const info = el("section", { class: "panel tray-info", "data-option": INFO, "aria-label": "Session info" },
        this.header());
      info.hidden = true;
      panels.append(info);
      const number = el("button", { class: "tray-number", "data-open": INFO, title: "Session number, invitation and people",
        onclick: () => this.toggleTray(panels, INFO) }, groupNumber(this.session.number));
      for (const b of icons.querySelectorAll("[data-open]")) b.onclick = () => this.toggleTray(panels, b.dataset.open);
      layout = el("div", { class: "tray-session" }, number, icons, panels);
      this.trayPanels = panels;
    } else if (this.console === "customer") {
      const bar = el("nav", { class: "customer-tools" });
      for (const o of options) {
        bar.append(el("button", { class: "option", "data-open": o.id, onclick: () => this.activate(o.id) },
          el("span", { class: "icon", text: o.icon }), ` ${o.label}`, el("span", { class: "badge" })));
      }
      layout = el("div", { class: "customer-session" }, this.header(), bar, panels);
    } else {
      const nav = el("nav", { class: "tabs", role: "tablist" });
      const tabBodies = el("div", { class: "tab-bodies" });
      for (const [key, title] of TABS) {
        const mine = options.filter((o) => o.tab === key);
        const body = el("div", { class: "tab-body", "data-tab": key, role: "tabpanel" });
        for (const o of mine) {
          body.append(el("button", { class: "option", "data-open": o.id, onclick: () => this.activate(o.id) },
            el("span", { class: "icon", text: o.icon }), ` ${o.label}`, el("span", { class: "badge" })));
        }
        if (!mine.length) body.append(el("p", { class: "empty", text: "No options here on this site." }));
        body.hidden = key !== "tools";
        tabBodies.append(body);
        nav.append(el("button", { class: `tab${key === "tools" ? " active" : ""}`, role: "tab", "data-tab": key,
          onclick: () => this.showTab(key) }, title));
      }
      layout = el("div", { class: "session-main" }, this.header(), nav, tabBodies, panels);
    }
    this.root.replaceChildren(layout);
    this.root.querySelector(".notices")?.append(...before.notices);
    for (const o of options) {
      const panel = el("section", { class: "panel", "data-option": o.id, "aria-label": o.label });
      panel.hidden = true;
      panels.append(panel);
      this.mountOption(o, panel);
    }
    const still = options.find((o) => o.id === before.active);
    const first = still || options.find((o) => o.tab === "tools");
    this.active = null;
    if (first && this.console !== "tray") this.activate(first.id);
    if (before.tab && this.console !== "tray") this.showTab(before.tab);
    if (this.console === "tray" && before.trayOpen && (still || before.active === INFO)) {
      this.toggleTray(this.trayPanels, before.active);
      return this.updateRoster();
    }
    // The tray opens on the session's number and invitation while nobody has joined yet: that is what
    // the rep reads out on the phone.
    const waiting = !this.participants.some((p) => !p.rep);
    if (this.console === "tray" && waiting && (role === "primary_rep")) this.toggleTray(this.trayPanels, INFO);
    this.updateRoster();
  }

  async mountOption(option, panel) {
    const view = this;
    const api = {
      option, panel, console: this.console, sitePrefix: this.sitePrefix, client: this.client,
      get session() { return view.session; },
      get me() { return view.me; },
      get participants() { return view.participants; },
      send: (m) => this.client.send(m),
      request: (m) => this.client.request(m),
      on: (type, fn) => { const off = this.client.on(type, fn); this.scoped.push(off); return off; },
      badge: (n) => this.setBadge(option.id, n),
      show: () => this.activate(option.id),
      isShown: () => this.visible && this.active === option.id && !panel.closest("[hidden]"),
      notice: (text, kind) => this.notice(text, kind),
    };
    try {
      const mod = await loadModule(option.js_module);
      const mount = mod.mount || mod.default;
      await mount(api);
    } catch (err) {
      console.error(err);
      panel.append(el("p", { class: "error", text: `${option.label} could not start: ${err.message}` }));
    }
  }
}
