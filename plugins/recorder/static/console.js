// Recording in the consoles. Reps: Record / Stop recording in the Session tab ("Recorded automatically" when an
// admin records all of this rep's sessions; then it cannot be stopped). Customers: the notice "This session is
// being recorded" on their page whenever it is, and Allow / Deny when the site asks them first.
import { el } from "/static/core/client.js";

function banner() {
  let b = document.getElementById("recorder-banner");
  if (!b) {
    b = el("div", { id: "recorder-banner", class: "recorder-banner", role: "status", hidden: true });
    document.body.prepend(b);
  }
  return b;
}

export async function mount(api) {
  const customer = api.console === "customer";
  const status = el("p", { class: "recorder-status", role: "status" });
  const button = el("button", { class: "recorder-toggle", type: "button" });
  const ask = el("div", { class: "recorder-consent", hidden: true });
  const allow = el("button", { class: "recorder-allow", type: "button", text: "Allow" });
  const deny = el("button", { class: "recorder-deny", type: "button", text: "Deny" });
  const question = el("p", { class: "recorder-question" });
  ask.append(question, allow, deny);
  api.panel.append(el("h3", { text: "Recording" }), status);
  if (customer) { banner().append(ask); } else { api.panel.append(button); }
  let state = { recording: false, automatic: false, asking: false };

  function draw() {
    if (customer) {      // the page's banner (a rep's console may hold several sessions: their panels say it)
      const b = banner();
      b.hidden = !state.recording && !state.asking;
      b.querySelector(".recorder-text")?.remove();
      if (state.recording) b.prepend(el("span", { class: "recorder-text", text: "\u23FA This session is being recorded" }));
    }
    ask.hidden = !(customer && state.asking && !state.recording);
    question.textContent = state.automatic
      ? `This site records every session of ${state.asking_by || "the support rep"}. Allow recording this session?`
      : `${state.asking_by || "The support rep"} asks to record this session. Allow it?`;
    if (state.recording) status.textContent = state.automatic ? "Recorded automatically" : "This session is being recorded.";
    else if (state.asking) status.textContent = "Waiting for the customer to allow recording\u2026";
    else status.textContent = state.reason ? `Not recording: ${state.reason}` : "Not recording.";
    button.textContent = state.recording ? "Stop recording" : (state.asking ? "Cancel" : "Record session");
    button.hidden = state.recording && state.automatic;     // an admin's switch: the rep cannot stop it
    api.badge(state.recording ? 1 : 0);
  }

  api.on("recorder.state", (m) => {
    const stoppedWithReason = state.recording && !m.recording && m.reason;
    state = m;
    draw();
    if (stoppedWithReason) api.notice(`Recording stopped: ${m.reason}`, "error");
  });
  api.on("recorder.declined", (m) => { if (!customer) api.notice(`${m.by} did not allow recording.`, "info"); });
  button.addEventListener("click", () => {
    const type = state.recording || state.asking ? "recorder.stop" : "recorder.start";
    api.request({ type }).catch((e) => api.notice(e.message, "error"));
  });
  for (const [btn, yes] of [[allow, true], [deny, false]]) {
    btn.addEventListener("click", () => api.request({ type: "recorder.consent", allow: yes })
      .catch((e) => api.notice(e.message, "error")));
  }
  const load = () => api.request({ type: "recorder.state" }).then((m) => { state = m; draw(); }).catch(() => {});
  api.on("session.hello", load);
  draw();
  await load();
}
