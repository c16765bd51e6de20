// The probe's option: shows who this participant is.
export function mount(api) {
  const line = document.createElement("p");
  line.className = "probe-me";
  line.textContent = `probe on ${api.console}`;
  api.panel.append(line);
}
