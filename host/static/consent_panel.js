// The customer page's live consent panel: who is helping (the site's name, the address of this page and
// whether the browser verified it, the reps with their roles), who is connected, and what each person may
// do on this computer right now, with a Revoke button per grant. The grants come from the host
// (session.grants); a button sends the message the host named for that grant. Everything is shown as
// text (textContent via el()): names come from other people.
import { el } from "./client.js";

const ROLE = { primary_rep: "primary rep", assisting_rep: "assisting rep", customer: "customer",
  secondary_customer: "secondary customer" };

function person(p) {
  const role = ROLE[p.role] || p.role || "";
  return role ? `${p.name} (${role})` : p.name;
}

export class ConsentPanel {
  constructor({ root, client, siteName }) {
    this.root = root;
    this.client = client;
    this.siteName = siteName;
    this.people = [];
    this.me = null;
    this.grants = [];
    this.ended = false;
    this.problem = "";
  }

  start() {
    this.client.on("session.hello", (m) => {
      this.me = m.you;
      this.people = m.session.participants || [];
      this.render();
      this.client.request({ type: "session.grants" }).catch(() => {});
    });
    this.client.on("session.participants", (m) => { this.people = m.participants || []; this.render(); });
    this.client.on("session.grants", (m) => { this.grants = Array.isArray(m.grants) ? m.grants : []; this.render(); });
    for (const type of ["session.ended", "session.you_left"]) {
      this.client.on(type, () => { this.ended = true; this.grants = []; this.render(); });
    }
    this.render();
  }

  async revoke(grant, button) {
    button.disabled = true;
    this.problem = "";
    try {
      await this.client.request(grant.revoke);
    } catch (err) {
      this.problem = `Could not end it: ${err.message}`;
      button.disabled = false;
      this.render();
    }
  }

  render() {
    const secure = location.protocol === "https:";
    const address = secure
      ? `${location.host} (verified by your browser: HTTPS)`
      : `${location.host} (not verified: this page is not served over HTTPS)`;
    const reps = this.people.filter((p) => p.rep);
    const others = this.people.filter((p) => !this.me || p.id !== this.me.id);
    const grants = this.ended ? [] : this.grants;
    this.root.replaceChildren(
      el("h2", { text: "Who is helping you" }),
      el("p", { class: "consent-site", text: `Site: ${this.siteName} — ${address}` }),
      el("p", { class: "consent-reps", text: reps.length
        ? `Helping you: ${reps.map(person).join(", ")}.` : "No representative is connected yet." }),
      el("p", { class: "consent-connected", text: others.length
        ? `Connected: ${others.map((p) => person(p) + (p.online ? "" : " — reconnecting")).join("; ")}.`
        : "Nobody else is connected." }),
      el("h3", { text: "Allowed right now" }),
      grants.length
        ? el("ul", { class: "consent-grants" }, ...grants.map((g) => {
          const who = (g.holders || []).map(person).join(", ") || "Nobody";
          const button = el("button", { class: "consent-revoke", type: "button", text: "Revoke" });
          button.addEventListener("click", () => this.revoke(g, button));
          return el("li", { class: "consent-grant", "data-plugin": g.plugin },
            el("span", { class: "consent-what", text: `${who} may ${g.what}` }), " ", button);
        }))
        : el("p", { class: "consent-none", text: this.ended
          ? "The session has ended: nobody can do anything on this computer through it."
          : "Nobody may see your screen, reach your files or hear you right now." }),
      ...(this.problem ? [el("p", { class: "consent-problem error", text: this.problem })] : []),
    );
  }
}
