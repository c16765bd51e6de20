// The waiting page: position and estimated wait, live over a WebSocket that comes back by itself
// (also after a host restart); when a rep accepts, on to the session.
const data = JSON.parse(document.getElementById("page-data").textContent);
const $ = (sel) => document.querySelector(sel);
let delay = 500;

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "estimating (no recent sessions in this queue to go by yet)";
  if (seconds < 60) return "less than a minute";
  const m = Math.round(seconds / 60);
  return `about ${m} minute${m === 1 ? "" : "s"}`;
}

function show(msg) {
  if (msg.state === "waiting") {
    $(".acd-position").textContent = String(msg.position);
    $(".acd-of").textContent = msg.waiting > 1 ? `of ${msg.waiting} waiting` : "";
    $(".acd-estimate").textContent = minutes(msg.estimate);
    $(".acd-state").textContent = "";
  } else if (msg.state === "accepted") {
    $(".acd-state").textContent = `${msg.by || "A representative"} is ready for you…`;
    location.href = msg.url;
  } else if (msg.state === "left") {
    $(".acd-state").textContent = "You left the queue.";
  } else {
    $(".acd-state").textContent = "This request is closed.";
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}${data.sitePrefix}/p/webacd/ws/wait/${data.entryId}`);
  ws.onopen = () => { delay = 500; document.body.classList.remove("acd-offline"); };
  ws.onmessage = (event) => {
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (msg.type === "webacd.status") show(msg);
  };
  ws.onclose = () => {
    document.body.classList.add("acd-offline");
    $(".acd-state").textContent = "Reconnecting… you keep your place.";
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 4000);
  };
}

connect();
