// A user's call history for support: their recent conferences from
// GET /v1/users/{user}/conferences, each linking to its conference page with the same key
// (kept in the address fragment). Everything from the data is set as text.

const user = decodeURIComponent(location.pathname.split("/").pop());
const key = keyFromFragment();

async function start() {
  $("title").textContent = "Call history of " + user;
  if (!key) {
    problem("open this page with #key= and a secret key of the app after its address");
    return;
  }
  const resp = await fetch("/v1/users/" + encodeURIComponent(user) + "/conferences?limit=100", {
    headers: { Authorization: "Bearer " + key },
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = body.error || {};
    problem((e.message || "the server said " + resp.status) + (e.hint ? " (" + e.hint + ")" : ""));
    return;
  }
  const calls = $("calls");
  for (const c of body.conferences || []) {
    const s = c.summary || {};
    const tr = el("tr");
    const link = el("a", c.id);
    link.href = "/ui/conferences/" + encodeURIComponent(c.id) + "#key=" + encodeURIComponent(key);
    const cell = el("td");
    cell.append(link);
    const when = s.started_ms ? new Date(s.started_ms).toISOString().replace("T", " ").slice(0, 16) : "";
    tr.append(
      el("td", when),
      cell,
      el("td", (s.outcome || c.state || "").replace("_", " "), "outcome-" + (s.outcome || "")),
      el("td", s.participants ?? ""),
      el("td", s.audio_mos != null ? s.audio_mos.toFixed(2) : "unknown"),
      el("td", s.headline || ""),
    );
    calls.append(tr);
  }
  $("table").hidden = calls.children.length === 0;
  $("none").hidden = calls.children.length !== 0;
}

start();
