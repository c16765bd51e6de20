// The customer page of a session.
import { el } from "./client.js";
import { ConsentPanel } from "./consent_panel.js";
import { SessionView } from "./session_view.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const view = new SessionView({
  root: document.querySelector(".session-stage"),
  sitePrefix: data.sitePrefix,
  session: { id: data.sessionId, number: data.number },
  console: "customer",
  optionsForRole: { [data.role]: data.options, customer: data.options, secondary_customer: data.options },
  onEnd: (v) => v.root.append(el("p", {}, el("a", { class: "join-again", href: `${data.sitePrefix}/join`,
    text: "Join another support session" }))),
});
// Listening before the view connects, so that the panel sees the session's first messages too.
new ConsentPanel({ root: document.querySelector(".consent-panel"), client: view.client, siteName: data.siteName }).start();
view.start();
