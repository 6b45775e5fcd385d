// The facility manager's live map: every desk's state (never who), rooms coloured by their
// CO2 band, counts per state; follows the event stream, and re-reads the rooms' air each
// minute. The same desks and rooms are listed as tables below the plan.
import { FloorPlan } from "./floorplan.js";
import { apiClient, fill, follow, table } from "./page.js";

const cfg = JSON.parse(document.getElementById("floor-config").textContent);
const say = cfg.messages;
const api = apiClient(cfg.lang);
const q = `building=${encodeURIComponent(cfg.building)}&floor=${encodeURIComponent(cfg.floor)}`;
let plan = null;
let floor = null;
let rooms = [];

function shown(d) {
  return d.occupied ? "occupied" : d.state;
}

async function load() {
  if (!floor) floor = await api(`/api/v1/buildings/${encodeURIComponent(cfg.building)}/floors/${encodeURIComponent(cfg.floor)}`);
  const [live, air] = await Promise.all([api(`/api/v1/occupancy/live?${q}`), api(`/app/manage/floor/rooms.json?${q}`)]);
  rooms = air;
  const at = Object.fromEntries(floor.desks.map((d) => [d.id, d]));
  const counts = {};
  const desks = live.filter((d) => at[d.id]).map((d) => {
    const s = shown(d);
    counts[s] = (counts[s] || 0) + 1;
    return { id: d.id, x: at[d.id].x, y: at[d.id].y, mark: s, title: `${say.desk} ${d.id}: ${cfg.states[s]}` };
  });
  const air_of = Object.fromEntries(rooms.map((r) => [r.id, r]));
  if (!plan) {
    plan = new FloorPlan(document.getElementById("plan"), floor, {
      caption: say.caption,
      room: (r) => {
        const a = air_of[r.id] || { band: "unknown" };
        const co2 = a.co2 != null ? fill(say.co2, { ppm: Math.round(a.co2) }) : cfg.bands.unknown;
        return { cls: `air-${a.band}`, title: `${r.name}: ${cfg.bands[a.band]} · ${co2}` };
      },
      zoom: { in: document.getElementById("zoom-in"), out: document.getElementById("zoom-out"),
              reset: document.getElementById("zoom-reset") },
    });
  }
  plan.draw(desks);
  for (const s of Object.keys(cfg.states)) {
    const c = document.getElementById(`count-${s}`);
    if (c) c.textContent = `(${counts[s] || 0})`;
  }
  const num = (v, digits = 0) => (v == null ? "—" : Number(v).toFixed(digits));
  table(document.getElementById("room-list"), {
    caption: say.rooms_caption, head: [say.col_room, say.col_air, say.col_co2, say.col_temp, say.col_rh],
    rows: rooms.map((r) => [r.name, cfg.bands[r.band], num(r.co2), num(r.temp, 1), num(r.rh)]),
  });
  table(document.getElementById("state-list"), {
    caption: say.states_caption, head: [say.col_state, say.col_desks],
    rows: Object.keys(cfg.states).map((s) => [cfg.states[s], String(counts[s] || 0)]),
  });
}

// The rooms' air has no event of its own: it is read again each minute.
load().then(() => {
  follow(`/api/v1/events?${q}`, { events: ["desk", "booking"], refresh: load, every: 60_000,
                                   status: document.getElementById("live-status"), say });
}).catch((err) => {
  document.getElementById("room-list").textContent = fill(say.error, { detail: err.message });
});
