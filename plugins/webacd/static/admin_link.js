// Adds a link to the WebACD queues and monitor on the site admin page.
const prefix = location.pathname.replace(/\/admin.*$/, "");
const main = document.querySelector("main");
if (main) {
  const p = document.createElement("p");
  p.className = "acd-admin-links";
  const a = document.createElement("a");
  a.href = `${prefix}/p/webacd/admin`;
  a.textContent = "WebACD queues";
  const m = document.createElement("a");
  m.href = `${prefix}/p/webacd/monitor`;
  m.textContent = "Live queue monitor";
  p.append(a, " · ", m);
  main.prepend(p);
}
