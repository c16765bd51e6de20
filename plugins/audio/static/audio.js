// Audio (VoIP) panel: the rep starts VoIP, the others accept; mute, microphone and speaker choice,
// who is speaking. Media goes browser to browser with the browser's own WebRTC (see /static/lib/calls/rtc_mesh.js).
import { el } from "/static/core/client.js";
import { Mesh, mediaErrorText, takeOver } from "/static/lib/calls/rtc_mesh.js";

const SPEAKING = 0.02;   // audio level (0..1) above which somebody counts as speaking

export function mount(api) {
  const isRep = () => api.me && (api.me.role === "primary_rep" || api.me.role === "assisting_rep");
  const state = { active: false, inCall: false, joining: false, allowed: true, members: [], startedBy: null,
    stream: null, muted: false, micId: "", speakerId: "", levels: new Map(), peerState: new Map(), declined: false };
  const sinks = el("div", { class: "audio-sinks", hidden: true });
  const audios = new Map();

  const mesh = new Mesh({
    kind: "audio", client: api.client,
    onTrack: (peerId, track) => {
      let a = audios.get(peerId);
      if (!a) {
        a = el("audio", { autoplay: true, "data-peer": peerId });
        audios.set(peerId, a);
        sinks.append(a);
        if (state.speakerId && a.setSinkId) a.setSinkId(state.speakerId).catch(() => {});
      }
      a.srcObject = new MediaStream([track]);
      a.play().catch(() => {});
    },
    onPeerState: (peerId, s) => { state.peerState.set(peerId, s); renderMembers(); },
    onPeerGone: (peerId) => {
      const a = audios.get(peerId);
      if (a) { a.srcObject = null; a.remove(); audios.delete(peerId); }
      state.peerState.delete(peerId);
    },
  });

  // -- the panel ----------------------------------------------------------------------------------
  const status = el("p", { class: "audio-status", role: "status" });
  const problem = el("p", { class: "audio-problem error", role: "alert", hidden: true });
  const startBtn = el("button", { class: "audio-start primary", text: "Start VoIP", onclick: () => enter("start") });
  const acceptBtn = el("button", { class: "audio-accept primary", text: "Accept", onclick: () => enter("join") });
  const declineBtn = el("button", { class: "audio-decline", text: "Decline", onclick: () => { state.declined = true; render(); } });
  const prompt = el("div", { class: "audio-prompt", hidden: true },
    el("span", { class: "audio-prompt-text" }), " ", acceptBtn, " ", declineBtn);
  const muteBtn = el("button", { class: "audio-mute", text: "Mute", onclick: () => setMuted(!state.muted) });
  const hangupBtn = el("button", { class: "audio-hangup", text: "Hang up", onclick: hangUp });
  const endBtn = el("button", { class: "audio-end danger", text: "End VoIP for everybody", onclick: endForAll });
  const micSel = el("select", { class: "audio-mic", "aria-label": "Microphone", onchange: () => pickMic(micSel.value) });
  const spkSel = el("select", { class: "audio-speaker", "aria-label": "Speaker", onchange: () => pickSpeaker(spkSel.value) });
  const devices = el("div", { class: "audio-devices" },
    el("label", {}, "Microphone ", micSel), " ", el("label", {}, "Speaker ", spkSel));
  const memberList = el("ul", { class: "audio-members", "aria-label": "In the call" });
  const controls = el("div", { class: "audio-controls" }, muteBtn, " ", hangupBtn, " ", endBtn);
  api.panel.append(el("h3", { text: "Audio (VoIP)" }), status, problem, startBtn, prompt, controls, devices, memberList, sinks);

  function say(text) { status.textContent = text; }
  function trouble(text) { problem.textContent = text || ""; problem.hidden = !text; }

  function render() {
    const rep = isRep();
    startBtn.hidden = !(rep && state.allowed && !state.active && !state.inCall);
    const asking = state.active && !state.inCall && !state.joining && !state.declined && state.allowed;
    prompt.hidden = !asking;
    if (asking) {
      prompt.querySelector(".audio-prompt-text").textContent =
        `${state.startedBy ? state.startedBy.name : "A rep"} started VoIP. Join the call?`;
    }
    controls.hidden = !state.inCall;
    devices.hidden = !state.inCall;
    endBtn.hidden = !rep;
    muteBtn.textContent = state.muted ? "Unmute" : "Mute";
    muteBtn.setAttribute("aria-pressed", state.muted ? "true" : "false");
    muteBtn.disabled = !state.stream;
    if (!state.allowed) say("VoIP is switched off for this site.");
    else if (state.inCall) say(state.stream ? (state.muted ? "In the call — you are muted." : "In the call.") : "In the call — listening only.");
    else if (state.joining) say("Connecting…");
    else if (state.active) say(state.declined ? "A call is running; you did not join." : "A call is running.");
    else say(rep ? "No call. Start VoIP to talk with the customer." : "No call right now.");
    if (state.active && state.declined && !state.inCall) prompt.hidden = false;
    renderMembers();
  }

  function renderMembers() {
    memberList.replaceChildren(...state.members.map((m) => {
      const mine = api.me && m.id === api.me.id;
      const level = state.levels.get(m.id) || 0;
      const speaking = !m.muted && level > SPEAKING;
      const conn = mine ? "" : state.peerState.get(m.id);
      const item = el("li", { class: `audio-member${speaking ? " speaking" : ""}${m.muted ? " muted" : ""}`, "data-member": m.id },
        el("span", { class: "audio-indicator", "aria-hidden": "true", text: speaking ? "\u{1F50A}" : "\u{1F508}" }),
        el("span", { class: "name", text: mine ? `${m.name} (you)` : m.name }),
        m.muted ? el("span", { class: "audio-flag", text: " muted" }) : "",
        speaking ? el("span", { class: "audio-flag speaking-flag", text: " speaking" }) : "",
        conn && conn !== "connected" && conn !== "new" ? el("span", { class: "audio-flag", text: ` (${conn})` }) : "",
        m.problem ? el("span", { class: "audio-flag audio-member-problem", text: ` — ${m.problem}` }) : "");
      return item;
    }));
  }

  // -- devices ------------------------------------------------------------------------------------
  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    const fill = (sel, kind, current, fallback) => {
      const items = all.filter((d) => d.kind === kind);
      sel.replaceChildren(...items.map((d, i) => el("option", { value: d.deviceId, text: d.label || `${fallback} ${i + 1}` })));
      if (current) sel.value = current;
    };
    fill(micSel, "audioinput", state.micId, "Microphone");
    fill(spkSel, "audiooutput", state.speakerId, "Speaker");
    const canPickSpeaker = "setSinkId" in HTMLMediaElement.prototype;
    spkSel.disabled = !canPickSpeaker;
    if (!canPickSpeaker) spkSel.title = "This browser cannot choose the speaker";
  }
  if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", () => listDevices().catch(() => {}));

  async function openMic(deviceId) {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audio.deviceId = { exact: deviceId };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error("no mediaDevices"), { name: "SecurityError" });
    return navigator.mediaDevices.getUserMedia({ audio, video: false });
  }

  async function pickMic(deviceId) {
    try {
      const stream = await openMic(deviceId);
      const old = state.stream;
      state.stream = stream;
      state.micId = deviceId;
      const track = stream.getAudioTracks()[0];
      track.enabled = !state.muted;
      await mesh.setTrack(state.muted ? null : track);
      if (old) old.getTracks().forEach((t) => t.stop());
      trouble("");
    } catch (err) {
      trouble(mediaErrorText(err, "microphone"));
    }
    render();
  }

  async function pickSpeaker(deviceId) {
    state.speakerId = deviceId;
    for (const a of audios.values()) {
      if (a.setSinkId) await a.setSinkId(deviceId).catch((err) => trouble(`The speaker could not be used: ${err.message}`));
    }
  }

  // -- the call -----------------------------------------------------------------------------------
  async function enter(how) {
    if (state.inCall || state.joining) return;
    state.joining = true;
    state.declined = false;
    trouble("");
    render();
    try {
      state.stream = await openMic(state.micId);
    } catch (err) {
      state.stream = null;
      trouble(`${mediaErrorText(err, "microphone")} You can still listen.`);
    }
    try {
      const reply = await api.request({ type: how === "start" ? "audio.start" : "audio.join" });
      const track = state.stream && state.stream.getAudioTracks()[0];
      state.muted = false;
      mesh.track = track || null;
      mesh.start(api.me.id, reply);
      state.inCall = true;
      state.active = true;
      state.members = reply.members;
      state.startedBy = reply.started_by;
      listDevices().catch(() => {});
    } catch (err) {
      stopMic();
      trouble(err.message);
    } finally {
      state.joining = false;
      render();
    }
  }

  async function setMuted(muted) {
    if (!state.stream) return;
    state.muted = muted;
    const track = state.stream.getAudioTracks()[0];
    track.enabled = !muted;
    await mesh.setTrack(muted ? null : track);   // muted: nothing at all is sent
    api.send({ type: "audio.status", muted });
    render();
  }

  function stopMic() {
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
  }

  function hangUpLocally(text) {
    mesh.close();
    stopMic();
    for (const a of audios.values()) { a.srcObject = null; a.remove(); }
    audios.clear();
    state.inCall = false;
    state.muted = false;
    state.levels.clear();
    if (text) say(text);
  }

  async function hangUp() {
    hangUpLocally();
    render();
    try { await api.request({ type: "audio.leave" }); } catch (err) { trouble(err.message); }
  }

  async function endForAll() {
    try { await api.request({ type: "audio.stop" }); } catch (err) { trouble(err.message); }
  }

  async function refresh(reconnected) {
    let s;
    try { s = await api.request({ type: "audio.state" }); } catch (err) { trouble(err.message); return; }
    state.allowed = s.allowed;
    state.active = s.active;
    state.startedBy = s.started_by || null;
    state.members = s.members || [];
    if (state.inCall && reconnected) {
      // Our connection dropped and came back: join again, the others rebuild their side.
      mesh.closePeers();
      state.inCall = false;
      stopMic();
      if (s.active) await enter("join");
    } else if (!state.inCall && s.active && (s.me_member || s.auto_join)) {
      await enter("join");     // back after a reload, or VoIP started automatically for us
    } else if (!state.inCall && s.active && s.allowed && !state.declined) {
      if (!api.isShown()) api.badge(1);   // a call runs already: ask
      if (!isRep()) api.show();
    }
    render();
  }

  // -- messages from the host -------------------------------------------------------------------
  api.on("audio.call", (m) => {
    state.active = m.active;
    state.startedBy = m.started_by || null;
    state.members = m.members || [];
    if (!m.active) {
      if (state.inCall) hangUpLocally();
      state.declined = false;
      render();
      say(m.reason === "session ended" ? "VoIP ended with the session." : "VoIP has ended.");
      return;
    }
    if (!state.inCall && api.me && m.started_by && m.started_by.id !== api.me.id) {
      api.notice(`${m.started_by.name} started VoIP`);
      if (!api.isShown()) api.badge(1);
      if (!isRep()) api.show();
    }
    render();
  });
  api.on("audio.members", (m) => {
    state.members = m.members;
    if (state.inCall) mesh.update(m.members);
    render();
  });
  api.on("audio.signal", (m) => { if (state.inCall) mesh.handleSignal(m); });
  api.on("client.shown", (m) => { if (m.option === api.option.id) api.badge(0); });
  let helloSeen = false;
  api.on("session.hello", () => { const again = helloSeen; helloSeen = true; refresh(again); });

  // Who is speaking: audio levels from WebRTC statistics, a few times a second.
  const timer = setInterval(async () => {
    if (!state.inCall) return;
    const stats = await mesh.stats();
    for (const [id, row] of stats) state.levels.set(id, row.level);
    if (api.me && state.stream && !state.muted) state.levels.set(api.me.id, await localLevel());
    renderMembers();
  }, 400);

  let meter = null;
  async function localLevel() {
    // Our own level, from an AnalyserNode on the microphone.
    try {
      if (!meter || meter.stream !== state.stream) {
        const ctx = meter ? meter.ctx : new AudioContext();
        const source = ctx.createMediaStreamSource(state.stream);
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 512;
        source.connect(analyser);
        meter = { ctx, analyser, stream: state.stream, buf: new Float32Array(analyser.fftSize) };
      }
      meter.analyser.getFloatTimeDomainData(meter.buf);
      let peak = 0;
      for (const v of meter.buf) peak = Math.max(peak, Math.abs(v));
      return peak;
    } catch { return 0; }
  }

  // Leaving or ending the session hangs up. (Not scoped to the panel: the session view removes its
  // panels' listeners before it shows that the session is over.)
  const offs = [
    api.client.on("session.ended", () => hangUpLocally("The session has ended; the call was hung up.")),
    api.client.on("session.you_left", () => hangUpLocally("You left the session; the call was hung up.")),
  ];
  const onHide = () => { if (state.inCall) api.client.send({ type: "audio.leave" }); };
  window.addEventListener("pagehide", onHide);

  const instance = {
    dispose() {
      clearInterval(timer);
      offs.forEach((off) => off());
      window.removeEventListener("pagehide", onHide);
      hangUpLocally();
      if (meter) meter.ctx.close().catch(() => {});
    },
  };
  const previous = takeOver(api.client, "audio", instance);
  if (previous) previous.dispose();
  render();
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) { helloSeen = true; refresh(false); }
}
