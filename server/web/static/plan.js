// The "find a desk" page: the floor's plan with every desk's state for the chosen slot,
// the same desks as a table (for screen readers, keyboards and small screens), booking
// from either, and live changes from the server's event stream. Calls the JSON API with
// the session cookie and the page's CSRF token.
"use strict";

const cfg = JSON.parse(document.getElementById("find-config").textContent);
const say = cfg.messages;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const SVG = "http://www.w3.org/2000/svg";
const STATES = ["free", "yours", "booked", "occupied", "blocked", "closed", "team_zone", "not_bookable"];
const ICON = { free: "○", yours: "★", booked: "■", occupied: "●", blocked: "✕", closed: "–", team_zone: "▲", not_bookable: "·" };

let floor = null;     // the floor's map (desks, rooms, plan)
let desks = [];       // the desks with their state for the slot
let chosen = null;    // the desk in the dialog
let view = null;      // the plan's viewBox [x, y, w, h]

// A desk's name as people read it: its own name, or "Desk <code>" when it has none.
function label(d) {
  return d.name && d.name !== d.id ? d.name : `${say.desk} ${d.id}`;
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

async function api(path, options = {}) {
  // The API answers in the page's language (the person's choice, or the page's default).
  const headers = { Accept: "application/json", "Accept-Language": cfg.lang, ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { credentials: "same-origin", ...options, headers });
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) {
    let detail = body && body.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
    const err = new Error(detail || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return body;
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

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function draw() {
  const box = document.getElementById("plan");
  box.textContent = "";
  const svg = el("svg", { class: "plan-svg", role: "img", "aria-label": say.list_caption }, box);
  if (!view) view = [0, 0, floor.width, floor.height];
  svg.setAttribute("viewBox", view.join(" "));
  svg.style.aspectRatio = `${floor.width} / ${Math.max(floor.height, floor.width / 3)}`;
  el("rect", { x: 0, y: 0, width: floor.width, height: floor.height, class: "floor" }, svg);
  if (floor.plan_url) {
    el("image", { href: floor.plan_url, x: 0, y: 0, width: floor.width, height: floor.height, preserveAspectRatio: "xMidYMid meet" }, svg);
  }
  for (const r of floor.rooms) {
    el("rect", { x: r.x, y: r.y, width: r.width, height: r.height, class: "room" }, svg);
    const t = el("text", { x: r.x + r.width / 2, y: r.y + r.height / 2, class: "room-label",
                           "font-size": Math.min(r.width / 5, r.height / 3) }, svg);
    t.textContent = r.id;
    const title = el("title", {}, t);
    title.textContent = `${r.name} (${r.capacity})`;
  }
  const size = spacing();
  for (const d of desks) {
    const g = el("g", { transform: `translate(${d.x} ${d.y})`, class: `desk s-${d.shown}`, "data-desk": d.id }, svg);
    el("use", { href: `#mark-${d.shown}`, transform: `scale(${size * 0.036})` }, g);
    const t = el("text", { y: size * 0.72, class: "desk-label", "font-size": size * 0.3 }, g);
    t.textContent = d.id.split("-").pop();
    const title = el("title", {}, g);
    title.textContent = `${label(d)}: ${say["state_" + d.shown]}`;
    g.addEventListener("click", () => open(d));
  }
  panzoom(svg);
}

// The distance between neighbouring desks, so the marks fit whatever units the plan uses.
function spacing() {
  let best = Infinity;
  for (let i = 0; i < desks.length; i++) {
    for (let j = i + 1; j < desks.length; j++) {
      const d = Math.hypot(desks[i].x - desks[j].x, desks[i].y - desks[j].y);
      if (d > 0 && d < best) best = d;
    }
  }
  return Number.isFinite(best) ? best : Math.min(floor.width, floor.height) / 20;
}

function panzoom(svg) {
  const set = () => svg.setAttribute("viewBox", view.join(" "));
  const zoom = (factor, cx, cy) => {
    const [x, y, w, h] = view;
    const nw = Math.min(floor.width * 1.5, Math.max(floor.width / 12, w / factor));
    const k = nw / w;
    cx = cx === undefined ? x + w / 2 : cx;
    cy = cy === undefined ? y + h / 2 : cy;
    view = [cx - (cx - x) * k, cy - (cy - y) * k, w * k, h * k];
    set();
  };
  const toPlan = (ev) => {
    const r = svg.getBoundingClientRect();
    return [view[0] + ((ev.clientX - r.left) / r.width) * view[2], view[1] + ((ev.clientY - r.top) / r.height) * view[3]];
  };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [cx, cy] = toPlan(ev);
    zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, cx, cy);
  }, { passive: false });
  const pointers = new Map();
  let pinch = 0;
  svg.addEventListener("pointerdown", (ev) => { pointers.set(ev.pointerId, ev); });
  svg.addEventListener("pointermove", (ev) => {
    if (!pointers.has(ev.pointerId)) return;
    const prev = pointers.get(ev.pointerId);
    pointers.set(ev.pointerId, ev);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
      if (pinch) zoom(dist / pinch);
      pinch = dist;
      return;
    }
    const r = svg.getBoundingClientRect();
    const dx = ((ev.clientX - prev.clientX) / r.width) * view[2];
    const dy = ((ev.clientY - prev.clientY) / r.height) * view[3];
    if (Math.abs(dx) + Math.abs(dy) > 0) { view = [view[0] - dx, view[1] - dy, view[2], view[3]]; set(); }
  });
  const up = (ev) => { pointers.delete(ev.pointerId); if (pointers.size < 2) pinch = 0; };
  svg.addEventListener("pointerup", up);
  svg.addEventListener("pointercancel", up);
  document.getElementById("zoom-in").onclick = () => zoom(1.5);
  document.getElementById("zoom-out").onclick = () => zoom(1 / 1.5);
  document.getElementById("zoom-reset").onclick = () => { view = [0, 0, floor.width, floor.height]; set(); };
}

// ---- the list ------------------------------------------------------------------------

function features(d) {
  const have = ["monitor", "standing", "accessible", "quiet"].filter((f) => d[f]).map((f) => say["feature_" + f]);
  return have.length ? have.join(", ") : say.no_features;
}

function list() {
  const box = document.getElementById("desk-list");
  box.textContent = "";
  if (!desks.length) { box.textContent = say.none; return; }
  const table = document.createElement("table");
  table.className = "table desks";
  const cap = table.createCaption();
  cap.textContent = say.list_caption;
  const head = table.createTHead().insertRow();
  for (const c of [say.col_desk, say.col_state, say.col_features, say.col_action]) {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = c; head.appendChild(th);
  }
  const body = table.createTBody();
  for (const d of desks) {
    const row = body.insertRow();
    row.dataset.desk = d.id;
    row.className = `s-${d.shown}`;
    const name = document.createElement("th"); name.scope = "row"; name.textContent = label(d); row.appendChild(name);
    const st = row.insertCell();
    st.innerHTML = "";
    const icon = document.createElement("span"); icon.className = "icon"; icon.setAttribute("aria-hidden", "true"); icon.textContent = ICON[d.shown] || "";
    st.append(icon, " ", say["state_" + d.shown]);
    if (d.state === "yours" && d.shown !== "yours") st.append(" · " + say.state_yours);
    if (d.reason && d.shown !== "free") {
      const why = document.createElement("small"); why.textContent = " — " + d.reason; st.appendChild(why);
    }
    row.insertCell().textContent = features(d);
    const act = row.insertCell();
    if (d.state === "free") {
      const b = document.createElement("button");
      b.type = "button"; b.className = "primary small"; b.textContent = say.book;
      b.setAttribute("aria-label", `${say.book}: ${label(d)}`);
      b.addEventListener("click", () => open(d));
      act.appendChild(b);
    }
  }
  box.appendChild(table);
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
      result.textContent = fill(say.booked_ok, { desk: first.space, span: `${hm(first.start)}–${hm(first.end)} WITA` });
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

let pending = null;
function soon() {
  clearTimeout(pending);
  pending = setTimeout(() => load().catch(() => {}), 250);
}

function live() {
  const status = document.getElementById("live-status");
  const q = new URLSearchParams({ building: cfg.building, floor: cfg.floor });
  const source = new EventSource(`/api/v1/events?${q}`);
  source.addEventListener("open", () => { status.textContent = say.live_on; status.dataset.live = "on"; });
  source.addEventListener("desk", soon);
  source.addEventListener("booking", soon);
  source.addEventListener("error", () => { status.textContent = say.live_off; status.dataset.live = "off"; });
}

load().then(live).catch((err) => {
  document.getElementById("desk-list").textContent = fill(say.error, { detail: err.message });
});
