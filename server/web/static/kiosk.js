// A floor's screen by the lift: counts and the plan, large, following the live events.
// It never shows a name: the server sends desk states only.
import { FloorPlan } from "./floorplan.js";
import { follow } from "./page.js";

const cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
const LOOK = { svg: "kiosk-svg", marks: "kmark-", scale: 0.042, labels: false };
let plan = null;

function gone() {
  const main = document.getElementById("main");
  main.textContent = "";
  const p = document.createElement("p");
  p.className = "kiosk-gone";
  p.setAttribute("role", "alert");
  p.textContent = cfg.gone;
  main.appendChild(p);
}

// Read the floor now and show it; false once the link is turned off.
async function refresh() {
  const resp = await fetch(`${cfg.base}/state`, { headers: { Accept: "application/json" } });
  if (resp.status === 404) { gone(); return false; }
  if (!resp.ok) return true;
  const floor = await resp.json();
  document.getElementById("k-floor").textContent = floor.floor;
  document.getElementById("k-building").textContent = floor.building;
  document.getElementById("k-now").textContent = `${floor.now} ${floor.zone}`;
  for (const [state, n] of Object.entries(floor.counts)) {
    const cell = document.getElementById(`count-${state}`);
    if (cell) cell.textContent = n;
  }
  if (!plan) plan = new FloorPlan(document.getElementById("k-plan"), floor, { look: LOOK, touch: false });
  plan.floor = floor;
  plan.draw(floor.desks.map((d) => ({ id: d.id, x: d.x, y: d.y, mark: d.state })));
  return true;
}

refresh().then((alive) => {
  if (alive) follow(`${cfg.base}/events`, { events: ["desk"], refresh, every: 60_000 });
});
