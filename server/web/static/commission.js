// Commissioning on the floor plan: register a node (password once, config as a QR code),
// bind it by clicking its desk or room, watch it come online, blink its LED, print the
// desk's label, decommission. Calls the JSON API with the session cookie and CSRF token.
import { FloorPlan } from "./floorplan.js";
import { apiClient, fill, table } from "./page.js";

const cfg = JSON.parse(document.getElementById("commission-config").textContent);
const say = cfg.messages;
const api = apiClient(cfg.lang);
const $ = (id) => document.getElementById(id);
const SERVES = { desk: "desk", room: "room", energy: "zone" };

let floor = null;
let plan = null;
let nodes = {};       // "desk:w01" / "room:r1" -> live devices there
let pending = null;   // the node just registered, waiting to be bound
let chosen = null;    // the place shown in the side panel
let watching = null;  // the interval following a node until it is online

function key(kind, id) { return `${kind}:${id}`; }

function markOf(list) {
  if (!list || !list.length) return "node_none";
  if (list.length > 1) return "node_many";
  return { online: "node_online", offline: "node_offline" }[list[0].state] || "node_new";
}

function said(text, kind = "ok") {
  const p = $("place-result");
  p.textContent = text;
  p.className = `notice ${kind}`;
}

async function load() {
  const q = `building=${encodeURIComponent(cfg.building)}&floor=${encodeURIComponent(cfg.floor)}`;
  if (!floor) floor = await api(`/api/v1/buildings/${encodeURIComponent(cfg.building)}/floors/${encodeURIComponent(cfg.floor)}`);
  const devices = await api(`/api/v1/devices?${q}`);
  nodes = {};
  for (const d of devices) {
    if (!d.space || d.state === "decommissioned") continue;
    (nodes[key(d.space.space_kind, d.space.space)] ||= []).push(d);
  }
  if (!plan) {
    plan = new FloorPlan($("plan"), floor, {
      caption: say.caption,
      onDesk: (d) => pick("desk", d.id),
      onRoom: (r) => pick("room", r.id),
      room: (r) => {
        const m = markOf(nodes[key("room", r.id)]);
        return { cls: `room-${m}`, title: `${say.room} ${r.id}: ${cfg.marks[m]}` };
      },
      zoom: { in: $("zoom-in"), out: $("zoom-out"), reset: $("zoom-reset") },
    });
  }
  plan.draw(floor.desks.map((d) => {
    const m = markOf(nodes[key("desk", d.id)]);
    return { id: d.id, x: d.x, y: d.y, mark: m, title: `${say.desk} ${d.id}: ${cfg.marks[m]}` };
  }));
  list();
  if (chosen) show(chosen.kind, chosen.id);
}

function list() {
  const places = [...floor.desks.map((d) => ["desk", d.id]), ...floor.rooms.map((r) => ["room", r.id])];
  table($("place-list"), {
    caption: say.caption, head: [say.col_place, say.col_nodes, say.col_state],
    rows: places.map(([kind, id]) => {
      const there = nodes[key(kind, id)] || [];
      const b = document.createElement("button");
      b.type = "button"; b.className = "link"; b.textContent = `${say[kind]} ${id}`;
      b.addEventListener("click", () => pick(kind, id));
      return { cells: [b, there.map((d) => d.id).join(", ") || "—", cfg.marks[markOf(there)]], data: { place: key(kind, id) } };
    }),
  });
}

function show(kind, id) {
  chosen = { kind, id };
  $("place-title").textContent = `${say[kind]} ${id}`;
  const ul = $("place-nodes");
  ul.textContent = "";
  const list = nodes[key(kind, id)] || [];
  if (!list.length) { const li = document.createElement("li"); li.textContent = say.none; ul.appendChild(li); }
  for (const d of list) {
    const li = document.createElement("li");
    li.dataset.device = d.id;
    li.append(`${d.id} · ${cfg.states[d.state] || d.state} `);
    const blink = document.createElement("button");
    blink.type = "button"; blink.className = "small"; blink.textContent = say.identify;
    blink.addEventListener("click", () => identify(d.id));
    li.append(blink, " ");
    if (kind === "desk") {
      const a = document.createElement("a");
      a.className = "button small"; a.target = "_blank";
      a.href = `/app/devices/label/${encodeURIComponent(cfg.building)}/${encodeURIComponent(id)}.svg`;
      a.textContent = say.label;
      li.append(a, " ");
    }
    const off = document.createElement("button");
    off.type = "button"; off.className = "small danger"; off.textContent = say.decommission;
    off.addEventListener("click", () => decommission(d.id));
    li.appendChild(off);
    ul.appendChild(li);
  }
}

function ask(text) {
  return new Promise((resolve) => {
    const dlg = $("confirm");
    $("confirm-text").textContent = text;
    dlg.returnValue = "";
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "yes"), { once: true });
    dlg.showModal();
  });
}

async function pick(kind, id) {
  if (pending && SERVES[pending.kind] === kind) {
    const there = nodes[key(kind, id)] || [];
    if (kind === "desk" && there.length &&
        !(await ask(fill(say.second, { place: `${say.desk} ${id}`, others: there.map((d) => d.id).join(", "), id: pending.id })))) {
      return;
    }
    await bind({ building: cfg.building, [kind]: id }, `${say[kind]} ${id}`, kind, id);
    return;
  }
  show(kind, id);
}

async function bind(where, place, kind, id) {
  try {
    const d = await api(`/api/v1/devices/${encodeURIComponent(pending.id)}/assignment`, { method: "PUT", body: JSON.stringify(where) });
    said([fill(say.bound, { id: d.id, place }), ...d.warnings].join(" "), d.warnings.length ? "error" : "ok");
    const id_ = pending.id;
    pending = null;
    $("zone-pick").hidden = true;
    chosen = kind ? { kind, id } : null;
    await load();
    watch(id_);
  } catch (err) {
    said(fill(say.error, { detail: err.message }), "error");
  }
}

function watch(id) {
  clearInterval(watching);
  const status = $("made-note");
  status.textContent = fill(say.waiting, { id });
  watching = setInterval(async () => {
    try {
      const d = await api(`/api/v1/devices/${encodeURIComponent(id)}`);
      if (d.state === "online") {
        clearInterval(watching);
        status.textContent = fill(say.online, { id });
        status.dataset.online = id;
        await load();
      }
    } catch (err) { /* keep waiting */ }
  }, 2000);
}

async function register() {
  const body = { kind: $("new-kind").value };
  if ($("new-id").value) body.id = $("new-id").value;
  try {
    const made = await api("/app/devices/register", { method: "POST", body: JSON.stringify(body) });
    pending = made.device;
    $("made").hidden = false;
    $("made-id").textContent = made.mqtt_username;
    $("made-password").textContent = made.mqtt_password;
    $("made-topic").textContent = made.base_topic;
    $("made-qr").src = URL.createObjectURL(new Blob([made.config_qr], { type: "image/svg+xml" }));
    $("made-note").textContent = `${fill(say.registered, { id: pending.id })} ${fill(say.pick, { id: pending.id })}`;
    const zones = $("zone");
    zones.textContent = "";
    for (const z of floor.zones) { const o = document.createElement("option"); o.value = z.id; o.textContent = z.name; zones.appendChild(o); }
    $("zone-pick").hidden = pending.kind !== "energy";
  } catch (err) {
    said(fill(say.error, { detail: err.message }), "error");
  }
}

async function identify(id) {
  try {
    const c = await api(`/api/v1/devices/${encodeURIComponent(id)}/commands?wait=10`, { method: "POST", body: JSON.stringify({ cmd: "identify" }) });
    said(c.state === "acked" ? fill(say.identify_sent, { id }) : fill(say.identify_state, { state: c.state }), c.state === "failed" ? "error" : "ok");
    $("place-result").dataset.identify = c.state;
  } catch (err) {
    said(fill(say.error, { detail: err.message }), "error");
  }
}

async function decommission(id) {
  if (!(await ask(fill(say.decommission_ask, { id })))) return;
  try {
    await api(`/api/v1/devices/${encodeURIComponent(id)}`, { method: "DELETE" });
    said(fill(say.decommissioned, { id }));
    await load();
  } catch (err) {
    said(fill(say.error, { detail: err.message }), "error");
  }
}

$("register").addEventListener("click", register);
$("bind-zone").addEventListener("click", () => bind({ building: cfg.building, zone: $("zone").value }, $("zone").value, null, null));
load().catch((err) => said(fill(say.error, { detail: err.message }), "error"));
setInterval(() => load().catch(() => {}), 15000);
