// The conference page: what support reads and shares. It renders the server's JSON
// (GET /v1/conferences/{id}) and follows the live events while the call runs. The secret
// key travels in the address fragment (#key=...), which browsers never send to a server or
// put in a Referer. Everything from the data is set as text, never as markup.

const id = decodeURIComponent(location.pathname.split("/").pop());

function time(ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toISOString().slice(11, 19);
}

function fact(value, label) {
  const d = el("div");
  d.append(el("b", value), el("span", label));
  return d;
}

function render(detail) {
  const c = detail.conference;
  const s = c.summary || {};
  $("title").textContent = c.id;
  const state = $("state");
  state.textContent = c.state;
  state.className = "badge " + (c.state === "live" ? "live" : "ended");
  $("updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";

  const facts = $("facts");
  facts.replaceChildren(
    fact(s.outcome || "?", "outcome"),
    fact(s.participants ?? "?", "participants"),
    fact(s.duration_s != null ? Math.round(s.duration_s) + " s" : "?", "duration"),
    fact(s.audio_mos != null ? s.audio_mos.toFixed(2) : "unknown", "audio MOS"),
    fact(s.video_mos != null ? s.video_mos.toFixed(2) : "unknown", "video MOS"),
    fact(detail.findings.length, "findings"),
  );

  const narrative = $("narrative");
  narrative.replaceChildren();
  const story = detail.diagnosis && detail.diagnosis.narrative;
  narrative.append(el("div", (story && story.summary) || s.headline || "", "card summary"));
  for (const p of (story && story.paragraphs) || []) {
    const card = el("div", null, "card");
    card.append(el("p", p.text));
    if (p.evidence && p.evidence.length) {
      const ul = el("ul");
      for (const e of p.evidence) ul.append(el("li", e));
      card.append(el("div", "Evidence", "muted"), ul);
    }
    for (const [who, what] of Object.entries(p.actions || {})) {
      card.append(el("p", who + ": " + what, "muted"));
    }
    narrative.append(card);
  }
  for (const u of (story && story.unobserved) || []) narrative.append(el("div", u, "muted"));

  const findings = $("findings");
  findings.replaceChildren();
  for (const f of detail.findings) {
    const tr = el("tr");
    tr.append(
      el("td", f.severity, "sev " + f.severity),
      el("td", f.rule),
      el("td", f.participant || "everyone"),
      el("td", time(f.raised_ms) + " – " + (f.cleared_ms ? time(f.cleared_ms) : c.state === "live" ? "now" : "end of call")),
      el("td", f.message),
    );
    findings.append(tr);
  }

  const participants = $("participants");
  participants.replaceChildren();
  for (const p of (detail.diagnosis && detail.diagnosis.participants) || []) {
    const tr = el("tr");
    // What the stats show, and what the User-Agent claims when it says more.
    const b = p.browser || {};
    const claims = b.user_agent_claims || "";
    const browser = !b.inferred ? claims || "?" : claims.startsWith(b.inferred) ? claims : b.inferred + (claims ? " (User-Agent: " + claims + ")" : "");
    const pcs = (p.peer_connections || []).map((pc) => pc.outcome).join("; ");
    tr.append(el("td", p.id), el("td", browser), el("td", p.os || "?"), el("td", pcs));
    participants.append(tr);
  }

  const feedback = $("feedback");
  if (detail.feedback.length) {
    feedback.replaceChildren();
    for (const f of detail.feedback) feedback.append(el("div", f.user + " rated " + f.rating + "/5" + (f.comment ? ": " + f.comment : ""), "card"));
  }
  $("content").hidden = false;
}

async function load(key) {
  const resp = await fetch("/v1/conferences/" + encodeURIComponent(id), { headers: { Authorization: "Bearer " + key } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = body.error || {};
    problem((e.message || "the server said " + resp.status) + (e.hint ? " (" + e.hint + ")" : ""));
    if (resp.status === 401 || resp.status === 403) $("ask-key").hidden = false;
    return null;
  }
  problem("");
  render(body);
  return body;
}

function follow(key) {
  // EventSource cannot send headers: the key goes as a query parameter on this one request.
  const events = new EventSource("/v1/conferences/" + encodeURIComponent(id) + "/events?key=" + encodeURIComponent(key));
  let pending = null;
  const refresh = () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; load(key); }, 250);
  };
  events.addEventListener("update", refresh);
  events.addEventListener("finding", refresh);
  events.addEventListener("ended", () => { events.close(); load(key); });
}

async function start() {
  const key = keyFromFragment();
  if (!key) {
    $("ask-key").hidden = false;
    $("state").textContent = "needs a key";
    return;
  }
  const detail = await load(key);
  if (detail && detail.conference.state === "live") follow(key);
}

$("ask-key").addEventListener("submit", (e) => {
  e.preventDefault();
  location.hash = "key=" + encodeURIComponent($("key").value);
  $("ask-key").hidden = true;
  start();
});

start();
