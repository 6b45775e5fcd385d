// A floor's screen by the lift: counts and the plan, large, following the live events.
// It never shows a name: the server sends desk states only.
"use strict";

const cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

function gone() {
  document.getElementById("main").textContent = "";
  const p = document.createElement("p");
  p.className = "kiosk-gone";
  p.setAttribute("role", "alert");
  p.textContent = cfg.gone;
  document.getElementById("main").appendChild(p);
}

async function refresh() {
  const resp = await fetch(`${cfg.base}/state`, { headers: { Accept: "application/json" } });
  if (resp.status === 404) { gone(); return false; }
  if (!resp.ok) return true;
  const floor = await resp.json();
  document.getElementById("k-floor").textContent = floor.floor;
  document.getElementById("k-building").textContent = floor.building;
  document.getElementById("k-now").textContent = floor.now;
  for (const [state, n] of Object.entries(floor.counts)) {
    const cell = document.getElementById(`count-${state}`);
    if (cell) cell.textContent = n;
  }
  const box = document.getElementById("k-plan");
  box.textContent = "";
  const svg = el("svg", { viewBox: `0 0 ${floor.width} ${floor.height}`, class: "kiosk-svg" }, box);
  el("rect", { x: 0, y: 0, width: floor.width, height: floor.height, class: "floor" }, svg);
  for (const r of floor.rooms) el("rect", { x: r.x, y: r.y, width: r.width, height: r.height, class: "room" }, svg);
  let gap = Infinity;
  for (let i = 0; i < floor.desks.length; i++) {
    for (let j = i + 1; j < floor.desks.length; j++) {
      const d = Math.hypot(floor.desks[i].x - floor.desks[j].x, floor.desks[i].y - floor.desks[j].y);
      if (d > 0 && d < gap) gap = d;
    }
  }
  if (!Number.isFinite(gap)) gap = Math.min(floor.width, floor.height) / 10;
  for (const d of floor.desks) {
    const g = el("g", { transform: `translate(${d.x} ${d.y})`, class: `desk s-${d.state}`, "data-desk": d.id }, svg);
    el("use", { href: `#kmark-${d.state}`, transform: `scale(${gap * 0.042})` }, g);
  }
  return true;
}

let pending = null;
function soon() { clearTimeout(pending); pending = setTimeout(refresh, 300); }

refresh().then((alive) => {
  if (!alive) return;
  const source = new EventSource(`${cfg.base}/events`);
  source.addEventListener("desk", soon);
  setInterval(() => refresh().then((still) => { if (!still) source.close(); }), 60000);
});
