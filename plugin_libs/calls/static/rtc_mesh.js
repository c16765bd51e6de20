// WebRTC between the members of one call (audio or video) of a session: one RTCPeerConnection per
// other member (a mesh; fine for the few people of a support session). Signalling goes over the
// session's WebSocket as "<kind>.signal" messages that the host relays to members of the same
// session only. "Perfect negotiation" (polite/impolite peers, rollback on glare) keeps both sides
// consistent whoever offers first. A member flagged "agent" (the Support Manager, aiortc) only
// answers, so browsers always offer to it.

export function mediaErrorText(err, device) {
  const name = err && err.name;
  if (!navigator.mediaDevices) return `Your browser gives no access to the ${device} on this page (it needs https).`;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return `Access to the ${device} was denied. Allow it for this site in the browser (the icon in the address bar) and try again.`;
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return `No ${device} was found. Connect one and try again.`;
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return `The ${device} could not be started: another program may be using it.`;
  }
  return `The ${device} could not be started (${(err && err.message) || name || "unknown error"}).`;
}

export class Mesh {
  constructor({ kind, client, onTrack, onPeerState, onPeerGone }) {
    this.kind = kind;
    this.client = client;
    this.onTrack = onTrack || (() => {});
    this.onPeerState = onPeerState || (() => {});
    this.onPeerGone = onPeerGone || (() => {});
    this.me = null;              // {id, epoch}
    this.iceServers = [];
    this.members = new Map();
    this.peers = new Map();
    this.track = null;           // what we send (null: nothing, e.g. muted or camera off)
  }

  get active() { return this.me !== null; }

  // joined: the host's "<kind>.joined" reply.
  start(myId, joined) {
    this.closePeers();
    this.me = { id: myId, epoch: joined.epoch };
    this.iceServers = joined.ice_servers || [];
    this.update(joined.members);
  }

  update(members) {
    if (!this.me) return;
    const seen = new Set();
    for (const m of members) {
      if (m.id === this.me.id) continue;
      seen.add(m.id);
      this.members.set(m.id, m);
      const peer = this.peers.get(m.id);
      if (!peer || peer.epoch < m.epoch) {
        if (peer) this.dropPeer(peer, false);
        this.makePeer(m);
      }
    }
    for (const [id, peer] of this.peers) {
      if (!seen.has(id)) { this.members.delete(id); this.dropPeer(peer, true); }
    }
  }

  makePeer(member) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const peer = { id: member.id, epoch: member.epoch, pc, polite: this.me.id > member.id, makingOffer: false,
      ignoreOffer: false, queue: Promise.resolve(), transceiver: null };
    this.peers.set(member.id, peer);
    pc.ontrack = (e) => { if (this.peers.get(peer.id) === peer) this.onTrack(peer.id, e.track); };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.signal(peer, { candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (this.peers.get(peer.id) !== peer) return;
      this.onPeerState(peer.id, pc.connectionState);
      if (pc.connectionState === "failed" && !peer.polite) pc.restartIce();
    };
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this.signal(peer, { description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      } catch (err) {
        console.warn(`${this.kind}: offer failed`, err);
      } finally {
        peer.makingOffer = false;
      }
    };
    // One side adds the transceiver (and so makes the first offer); the other attaches its track to
    // the transceiver the offer creates. An agent never offers, so browsers always add it for agents.
    const iOffer = member.agent || this.me.id < member.id;
    if (iOffer) {
      peer.transceiver = this.track
        ? pc.addTransceiver(this.track, { direction: "sendrecv" })
        : pc.addTransceiver(this.kind, { direction: "sendrecv" });
    }
    this.onPeerState(peer.id, "new");
    return peer;
  }

  signal(peer, body) {
    if (this.peers.get(peer.id) !== peer) return;
    this.client.send({ type: `${this.kind}.signal`, to: peer.id, peer_epoch: peer.epoch, ...body });
  }

  handleSignal(msg) {
    if (!this.me) return;
    if (msg.to_epoch !== undefined && msg.to_epoch !== this.me.epoch) return;  // for an earlier me
    let peer = this.peers.get(msg.from);
    if (peer && peer.epoch > msg.epoch) return;                                // from its earlier life
    if (!peer || peer.epoch < msg.epoch) {
      if (peer) this.dropPeer(peer, false);
      const member = this.members.get(msg.from) || { id: msg.from, epoch: msg.epoch };
      peer = this.makePeer({ ...member, epoch: msg.epoch });
    }
    const p = peer;
    p.queue = p.queue.then(() => this.apply(p, msg)).catch((err) => console.warn(`${this.kind}: signal failed`, err));
  }

  async apply(peer, msg) {
    const pc = peer.pc;
    if (pc.signalingState === "closed") return;
    if (msg.description) {
      const d = msg.description;
      const collision = d.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      await pc.setRemoteDescription(d);   // a polite peer rolls its own offer back implicitly
      if (d.type === "offer") {
        this.attachToOffered(peer);
        await pc.setLocalDescription();
        this.signal(peer, { description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      }
    } else if (msg.candidate) {
      try {
        await pc.addIceCandidate(msg.candidate);
      } catch (err) {
        if (!peer.ignoreOffer) throw err;
      }
    }
  }

  attachToOffered(peer) {
    if (peer.transceiver) return;
    const t = peer.pc.getTransceivers().find((x) => x.receiver.track && x.receiver.track.kind === this.kind && !x.stopped);
    if (!t) return;
    t.direction = "sendrecv";
    peer.transceiver = t;
    if (this.track) t.sender.replaceTrack(this.track).catch(() => {});
  }

  // What to send to everybody: a track, or null to send nothing (mute, camera off).
  async setTrack(track) {
    this.track = track;
    const jobs = [];
    for (const peer of this.peers.values()) {
      if (peer.transceiver && peer.pc.signalingState !== "closed") jobs.push(peer.transceiver.sender.replaceTrack(track));
    }
    await Promise.allSettled(jobs);
  }

  dropPeer(peer, gone) {
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    try { peer.pc.close(); } catch { /* already closed */ }
    if (gone) this.onPeerGone(peer.id);
  }

  closePeers() {
    for (const peer of [...this.peers.values()]) this.dropPeer(peer, true);
    this.members.clear();
  }

  close() {
    this.closePeers();
    this.me = null;
  }

  // Per peer: audio level heard from it (0..1) and bytes in/out, from WebRTC statistics.
  async stats() {
    const out = new Map();
    await Promise.all([...this.peers.values()].map(async (peer) => {
      const row = { level: 0, bytesIn: 0, bytesOut: 0, framesIn: 0, state: peer.pc.connectionState };
      try {
        const report = await peer.pc.getStats();
        report.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === this.kind) {
            row.bytesIn += s.bytesReceived || 0;
            row.framesIn += s.framesDecoded || 0;
            if (typeof s.audioLevel === "number") row.level = Math.max(row.level, s.audioLevel);
          } else if (s.type === "outbound-rtp" && s.kind === this.kind) {
            row.bytesOut += s.bytesSent || 0;
          }
        });
      } catch { /* closed meanwhile */ }
      out.set(peer.id, row);
    }));
    return out;
  }
}

// One instance per session connection: a re-mounted panel (the role changed) replaces the old one.
const live = new WeakMap();
export function takeOver(client, kind, instance) {
  const key = live.get(client) || {};
  const old = key[kind];
  key[kind] = instance;
  live.set(client, key);
  return old;
}
