// The example plugin's option: a button that waves at everybody in the session.
export function mount(api) {
  const log = document.createElement("p");
  log.className = "hello-log";
  const button = document.createElement("button");
  button.className = "hello-wave";
  button.textContent = "Wave at everybody";
  button.addEventListener("click", () => api.request({ type: "hello.wave" }).catch((e) => api.notice(e.message, "error")));
  api.on("hello.waved", (m) => { log.textContent = `${m.by} waves at ${m.to}`; });
  api.panel.append(button, log);
}
