// Adds "Activity report" to the top bar of the consoles and the admin page.
const nav = document.querySelector(".user-nav");
const prefix = (location.pathname.match(/^\/s\/[^/]+/) || [""])[0];
if (nav && prefix && !nav.querySelector(".report-link")) {
  const a = document.createElement("a");
  a.className = "report-link";
  a.href = `${prefix}/p/report/`;
  a.textContent = "Activity report";
  nav.insertBefore(a, nav.querySelector("form"));
}
