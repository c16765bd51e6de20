// Video panel: the rep starts video; everybody sees the cameras of the others and can send or stop
// their own. WebRTC browser to browser (see /static/lib/calls/rtc_mesh.js); no camera or a
// denied permission gives a clear message, and the pictures of the others still show.
import { el } from "/static/core/client.js";
import { Mesh, mediaErrorText, takeOver } from "/static/lib/calls/rtc_mesh.js";

export function mount(api) {
  const isRep = () => api.me && (api.me.role === "primary_rep" || api.me.role === "assisting_rep");
  const state = { active: false, inCall: false, joining: false, allowed: true, members: [], startedBy: null,
    stream: null, media: { max_width: 1280, max_height: 720, max_fps: 15 }, left: false };
  const tiles = new Map();   // member id -> {tile, video}

  const mesh = new Mesh({
    kind: "video", client: api.client,
    onTrack: (peerId, track) => {
      const t = tileFor(peerId);
      t.video.srcObject = new MediaStream([track]);
      t.video.play().catch(() => {});
    },
    onPeerState: () => {},
    onPeerGone: (peerId) => { const t = tiles.get(peerId); if (t) { t.video.srcObject = null; t.tile.remove(); tiles.delete(peerId); } },
  });

  const status = el("p", { class: "video-status", role: "status" });
  const problem = el("p", { class: "video-problem error", role: "alert", hidden: true });
  const startBtn = el("button", { class: "video-start primary", text: "Start video", onclick: () => begin("start", true) });
  const watchBtn = el("button", { class: "video-watch", text: "Show the video", onclick: () => begin("join", false) });
  const camBtn = el("button", { class: "video-camera", text: "Start my camera", onclick: toggleCamera });
  const leaveBtn = el("button", { class: "video-leave", text: "Close the video", onclick: leave });
  const endBtn = el("button", { class: "video-end danger", text: "End video for everybody", onclick: endForAll });
  const grid = el("div", { class: "video-grid" });
  const controls = el("div", { class: "video-controls" }, camBtn, " ", leaveBtn, " ", endBtn);
  api.panel.append(el("h3", { text: "Video" }), status, problem, startBtn, watchBtn, controls, grid);

  function say(text) { status.textContent = text; }
  function trouble(text) { problem.textContent = text || ""; problem.hidden = !text; }

  function tileFor(id) {
    let t = tiles.get(id);
    if (!t) {
      const video = el("video", { autoplay: true, playsinline: true, "data-peer": id });
      video.muted = true;
      const label = el("span", { class: "video-name" });
      const off = el("span", { class: "video-off", text: "camera off" });
      const tile = el("figure", { class: "video-tile", "data-member": id }, video, el("figcaption", {}, label, " ", off));
      grid.append(tile);
      t = { tile, video, label, off };
      tiles.set(id, t);
    }
    return t;
  }

  function render() {
    const rep = isRep();
    startBtn.hidden = !(rep && state.allowed && !state.active && !state.inCall);
    watchBtn.hidden = !(state.active && !state.inCall && !state.joining && state.allowed);
    controls.hidden = !state.inCall;
    endBtn.hidden = !rep;
    camBtn.textContent = state.stream ? "Stop my camera" : "Start my camera";
    camBtn.setAttribute("aria-pressed", state.stream ? "true" : "false");
    if (!state.allowed) say("Video is switched off for this site.");
    else if (state.inCall) say(state.stream ? "Video is on; the others see your camera." : "Video is on; your camera is off.");
    else if (state.joining) say("Connecting…");
    else if (state.active) say("Video is running.");
    else say(rep ? "No video. Start video to send your camera." : "No video right now.");
    // Names and camera flags on the tiles of the members.
    const byId = new Map(state.members.map((m) => [m.id, m]));
    for (const [id, t] of tiles) {
      const m = byId.get(id);
      const mine = api.me && id === api.me.id;
      t.label.textContent = m ? (mine ? `${m.name} (you)` : m.name) : "";
      const on = mine ? !!state.stream : !!(m && m.camera);
      t.off.hidden = on;
      t.off.textContent = !mine && m && m.problem ? `camera off — ${m.problem}` : "camera off";
      t.tile.classList.toggle("camera-off", !on);
    }
  }

  function constraints() {
    const { max_width: w, max_height: h, max_fps: fps } = state.media;
    return { audio: false, video: { width: { max: w, ideal: Math.min(w, 1280) }, height: { max: h, ideal: Math.min(h, 720) },
      frameRate: { max: fps, ideal: fps } } };
  }

  async function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error("no mediaDevices"), { name: "SecurityError" });
    return navigator.mediaDevices.getUserMedia(constraints());
  }

  async function cameraOn() {
    trouble("");
    try {
      state.stream = await openCamera();
    } catch (err) {
      state.stream = null;
      trouble(`${mediaErrorText(err, "camera")} You can still see the others.`);
      render();
      return false;
    }
    const track = state.stream.getVideoTracks()[0];
    track.onended = () => cameraOff();
    const mine = tileFor(api.me.id);
    mine.video.srcObject = state.stream;
    mine.video.play().catch(() => {});
    await mesh.setTrack(track);
    if (state.inCall) api.send({ type: "video.status", camera: true });
    render();
    return true;
  }

  async function cameraOff() {
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
    await mesh.setTrack(null);
    if (api.me && tiles.get(api.me.id)) tiles.get(api.me.id).video.srcObject = null;
    if (state.inCall) api.send({ type: "video.status", camera: false });
    render();
  }

  async function toggleCamera() { if (state.stream) await cameraOff(); else await cameraOn(); }

  async function begin(how, withCamera) {
    if (state.inCall || state.joining) return;
    state.joining = true;
    state.left = false;
    trouble("");
    render();
    try {
      const reply = await api.request({ type: how === "start" ? "video.start" : "video.join" });
      state.media = reply.media || state.media;
      state.inCall = true;
      state.active = true;
      state.members = reply.members;
      mesh.track = null;
      mesh.start(api.me.id, reply);
      for (const member of reply.members) tileFor(member.id);
      if (withCamera) await cameraOn();
    } catch (err) {
      trouble(err.message);
    } finally {
      state.joining = false;
      render();
    }
  }

  function closeLocally() {
    mesh.close();
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
    for (const t of tiles.values()) { t.video.srcObject = null; t.tile.remove(); }
    tiles.clear();
    state.inCall = false;
  }

  async function leave() {
    closeLocally();
    state.left = true;
    render();
    try { await api.request({ type: "video.leave" }); } catch (err) { trouble(err.message); }
  }

  async function endForAll() {
    try { await api.request({ type: "video.stop" }); } catch (err) { trouble(err.message); }
  }

  async function refresh(reconnected) {
    let s;
    try { s = await api.request({ type: "video.state" }); } catch (err) { trouble(err.message); return; }
    state.allowed = s.allowed;
    state.active = s.active;
    state.media = s.media || state.media;
    state.members = s.members || [];
    const hadCamera = !!state.stream;
    if (state.inCall && reconnected) {
      closeLocally();
      if (s.active) await begin("join", hadCamera);
    } else if (!state.inCall && s.active && s.allowed && !state.left) {
      await begin("join", false);   // video runs: show the others' pictures
    }
    render();
  }

  api.on("video.call", (m) => {
    state.active = m.active;
    state.members = m.members || [];
    if (!m.active) {
      closeLocally();
      state.left = false;
      render();
      say("Video has ended.");
      return;
    }
    if (!state.inCall && api.me && m.started_by && m.started_by.id !== api.me.id) {
      api.notice(`${m.started_by.name} started video`);
      if (!api.isShown()) api.badge(1);
      if (state.allowed) begin("join", false);
    }
    render();
  });
  api.on("video.members", (m) => {
    state.members = m.members;
    if (state.inCall) {
      mesh.update(m.members);
      for (const member of m.members) tileFor(member.id);
    }
    render();
  });
  api.on("video.signal", (m) => { if (state.inCall) mesh.handleSignal(m); });
  api.on("client.shown", (m) => { if (m.option === api.option.id) api.badge(0); });
  let helloSeen = false;
  api.on("session.hello", () => { const again = helloSeen; helloSeen = true; refresh(again); });

  const offs = [
    api.client.on("session.ended", () => { closeLocally(); say("The session has ended."); }),
    api.client.on("session.you_left", () => { closeLocally(); say("You left the session."); }),
  ];
  const onHide = () => { if (state.inCall) api.client.send({ type: "video.leave" }); };
  window.addEventListener("pagehide", onHide);
  const previous = takeOver(api.client, "video", {
    dispose() { offs.forEach((off) => off()); window.removeEventListener("pagehide", onHide); closeLocally(); },
  });
  if (previous) previous.dispose();
  render();
  if (api.client.ws && api.client.ws.readyState === WebSocket.OPEN) { helloSeen = true; refresh(false); }
}
