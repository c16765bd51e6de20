// Records, in the panel, what mount(api) saw (read by tests/test_mount_timing_browser.py).
export function mount(api) {
  const seen = { meAtMount: Boolean(api.me && api.me.id), sessionAtMount: Boolean(api.session && api.session.id),
                 openAtMount: api.client.ws.readyState === WebSocket.OPEN, hellos: 0 };
  const out = document.createElement("pre");
  out.className = "mount-timing";
  const show = () => { out.textContent = JSON.stringify(seen); };
  api.on("session.hello", () => { seen.hellos += 1; show(); });
  show();
  api.panel.append(out);
}
