// The "find a desk" page: the floor's plan with every desk's state for the chosen slot,
// the same desks as a table (for screen readers, keyboards and small screens), booking
// from either, and live changes from the server's event stream. Calls the JSON API with
// the session cookie and the page's CSRF token.
import { FloorPlan } from "./floorplan.js";
import { apiClient, fill, follow, table } from "./page.js";

const cfg = JSON.parse(document.getElementById("find-config").textContent);
const say = cfg.messages;
const api = apiClient(cfg.lang);
const STATES = ["free", "yours", "booked", "occupied", "blocked", "closed", "team_zone", "not_bookable"];
const ICON = { free: "○", yours: "★", booked: "■", occupied: "●", blocked: "✕", closed: "–", team_zone: "▲", not_bookable: "·" };

let floor = null;     // the floor's map (desks, rooms, plan)
let desks = [];       // the desks with their state for the slot
let chosen = null;    // the desk in the dialog
let plan = null;      // the drawn plan

// A desk's name as people read it: its own name, or "Desk <code>" when it has none.
function label(d) {
  return d.name && d.name !== d.id ? d.name : `${say.desk} ${d.id}`;
}

function query() {
  const q = new URLSearchParams({ building: cfg.building, floor: cfg.floor, start: cfg.start, end: cfg.end });
  if (cfg.zone) q.set("zone", cfg.zone);
  for (const f of cfg.features) q.set(f, "true");
  return q;
}

async function load() {
  if (!floor) floor = await api(`/api/v1/buildings/${encodeURIComponent(cfg.building)}/floors/${encodeURIComponent(cfg.floor)}`);
  const avail = await api(`/api/v1/availability?${query()}`);
  let occupied = new Set();
  if (cfg.now_in_slot) {
    const live = await api(`/api/v1/occupancy/live?building=${encodeURIComponent(cfg.building)}&floor=${encodeURIComponent(cfg.floor)}`);
    occupied = new Set(live.filter((d) => d.occupied).map((d) => d.id));
  }
  // Someone at the desk now shows as occupied, to everyone (the booker too: it says so).
  desks = avail.map((d) => ({ ...d, shown: occupied.has(d.id) ? "occupied" : d.state }));
  draw();
  list();
}

// ---- the plan ------------------------------------------------------------------------

function draw() {
  if (!plan) {
    plan = new FloorPlan(document.getElementById("plan"), floor, {
      caption: say.list_caption,
      onDesk: (d) => open(desks.find((x) => x.id === d.id)),
      zoom: { in: document.getElementById("zoom-in"), out: document.getElementById("zoom-out"),
              reset: document.getElementById("zoom-reset") },
    });
  }
  plan.draw(desks.map((d) => ({ id: d.id, x: d.x, y: d.y, mark: d.shown, title: `${label(d)}: ${say["state_" + d.shown]}` })));
}

// ---- the list ------------------------------------------------------------------------

function features(d) {
  const have = ["monitor", "standing", "accessible", "quiet"].filter((f) => d[f]).map((f) => say["feature_" + f]);
  return have.length ? have.join(", ") : say.no_features;
}

function state(d) {
  const icon = document.createElement("span");
  icon.className = "icon";
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = ICON[d.shown] || "";
  const said = [icon, " ", say["state_" + d.shown]];
  if (d.state === "yours" && d.shown !== "yours") said.push(" · " + say.state_yours);
  if (d.reason && d.shown !== "free") {
    const why = document.createElement("small");
    why.textContent = " — " + d.reason;
    said.push(why);
  }
  return said;
}

function action(d) {
  if (d.state !== "free") return "";
  const b = document.createElement("button");
  b.type = "button"; b.className = "primary small"; b.textContent = say.book;
  b.setAttribute("aria-label", `${say.book}: ${label(d)}`);
  b.addEventListener("click", () => open(d));
  return b;
}

function list() {
  table(document.getElementById("desk-list"), {
    caption: say.list_caption, cls: "table desks", empty: say.none,
    head: [say.col_desk, say.col_state, say.col_features, say.col_action],
    rows: desks.map((d) => ({ cells: [label(d), state(d), features(d), action(d)], data: { desk: d.id }, cls: `s-${d.shown}` })),
  });
}

// ---- the desk's dialog and booking -----------------------------------------------------

function open(d) {
  chosen = d;
  const dlg = document.getElementById("desk-dialog");
  document.getElementById("dlg-title").textContent = label(d);
  const state = document.getElementById("dlg-state");
  state.textContent = `${ICON[d.shown] || ""} ${say["state_" + d.shown]}` + (d.reason && d.shown !== "free" ? ` — ${d.reason}` : "");
  document.getElementById("dlg-features").textContent = `${say.zone}: ${d.zone} · ${features(d)}`;
  document.getElementById("dlg-result").textContent = "";
  document.getElementById("dlg-result").className = "";
  const book = document.getElementById("dlg-book");
  book.hidden = d.state !== "free";
  document.getElementById("dlg-repeat").hidden = d.state !== "free";
  dlg.showModal();
  (book.hidden ? document.getElementById("dlg-close") : book).focus();
}

async function book() {
  const result = document.getElementById("dlg-result");
  const body = { building: cfg.building, desk: chosen.id };
  if (cfg.whole_day) body.day = cfg.day; else { body.start = cfg.start; body.end = cfg.end; }
  const until = document.getElementById("repeat-until").value;
  if (document.getElementById("repeat-on").checked && until) {
    body.repeat = { weekdays: [(new Date(cfg.day + "T12:00:00").getDay() + 6) % 7], until };
  }
  const button = document.getElementById("dlg-book");
  button.disabled = true;
  try {
    const made = await api("/api/v1/bookings", { method: "POST", body: JSON.stringify(body) });
    const first = made.created[0];
    if (body.repeat) {
      let text = fill(say.series_ok, { n: made.created.length, failed: made.failed.length });
      for (const f of made.failed) text += " " + fill(say.failed_day, { day: f.day, reason: f.reason });
      result.textContent = text;
    } else {
      const hm = (t) => t.slice(11, 16);
      result.textContent = fill(say.booked_ok, { desk: first.space, span: `${hm(first.start)}–${hm(first.end)} ${cfg.tzname}` });
    }
    result.className = "notice ok";
    button.hidden = true;
    await load();
  } catch (err) {
    result.textContent = err.message;
    result.className = "notice error";
  } finally {
    button.disabled = false;
  }
}

document.getElementById("dlg-book").addEventListener("click", book);

// ---- live ------------------------------------------------------------------------------

load().then(() => {
  const q = new URLSearchParams({ building: cfg.building, floor: cfg.floor });
  follow(`/api/v1/events?${q}`, { events: ["desk", "booking"], refresh: load, delay: 250,
                                   status: document.getElementById("live-status"), say });
}).catch((err) => {
  document.getElementById("desk-list").textContent = fill(say.error, { detail: err.message });
});
