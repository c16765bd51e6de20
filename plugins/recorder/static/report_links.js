// The CSR activity report: a "Recording" link on the row of each session that has a recording this person may play.
const prefix = location.pathname.split("/p/")[0];
fetch(`${prefix}/p/recorder/api/recordings`, { headers: { Accept: "application/json" } })
  .then((r) => (r.ok ? r.json() : { recordings: [] }))
  .then(({ recordings }) => {
    for (const rec of recordings) {
      const row = document.querySelector(`tr[data-session="${CSS.escape(rec.session_id)}"]`);
      if (!row || row.querySelector(".recording-link")) continue;
      const a = document.createElement("a");
      a.className = "recording-link";
      a.href = rec.player;
      a.textContent = " \u25B6 Recording";
      row.cells[0].append(a);
    }
  });
