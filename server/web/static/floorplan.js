// The floor plan renderer every page shares (find a desk, the manager's live map, the
// installer's commissioning, the kiosk by the lift): the floor, its rooms and its desks as
// SVG, with pan and zoom. Pages decide what each desk and room shows; the marks are
// <g id="mark-..."> (or the page's own prefix) in the page.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
// The smallest target a finger hits reliably (WCAG 2.2, 2.5.8), in CSS pixels.
const TARGET_PX = 26;

export function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// The distance between neighbouring desks, so the marks fit whatever units the plan uses.
function spacing(floor, desks) {
  let best = Infinity;
  for (let i = 0; i < desks.length; i++) {
    for (let j = i + 1; j < desks.length; j++) {
      const d = Math.hypot(desks[i].x - desks[j].x, desks[i].y - desks[j].y);
      if (d > 0 && d < best) best = d;
    }
  }
  return Number.isFinite(best) ? best : Math.min(floor.width, floor.height) / 20;
}

// A plan in `box`. `draw(desks)` (re)draws it: each desk {id, x, y, mark, title}; options:
//   caption: the SVG's accessible name; onDesk(desk), onRoom(room): clicks;
//   room(r): {cls, title, label} for a room; zoom: {in, out, reset} buttons;
//   look: {svg, marks, scale, labels} for a screen read from afar (the kiosk): the SVG's
//   class, the marks' id prefix, their size against the desks' spacing, desk codes or not;
//   touch: false for a screen nobody touches (no pan, zoom or finger-sized first view).
export class FloorPlan {
  constructor(box, floor, options = {}) {
    this.box = box;
    this.floor = floor;
    this.options = options;
    this.view = [0, 0, floor.width, floor.height];
    this.look = { svg: "plan-svg", marks: "mark-", scale: 0.036, labels: true, ...(options.look || {}) };
    this.touch = options.touch !== false;
    const z = options.zoom || {};
    if (z.in) z.in.onclick = () => this.zoom(1.5);
    if (z.out) z.out.onclick = () => this.zoom(1 / 1.5);
    if (z.reset) z.reset.onclick = () => { this.view = [0, 0, floor.width, floor.height]; this.set(); };
  }

  draw(desks) {
    const { box, floor, options } = this;
    box.textContent = "";
    const look = this.look;
    const svg = el("svg", { class: look.svg, role: "img", "aria-label": options.caption || "" }, box);
    this.svg = svg;
    this.set();
    // A long, narrow floor still gets room to zoom into (a screen nobody touches fits it).
    if (this.touch) svg.style.aspectRatio = `${floor.width} / ${Math.max(floor.height, floor.width / 3)}`;
    el("rect", { x: 0, y: 0, width: floor.width, height: floor.height, class: "floor" }, svg);
    if (floor.plan_url) {
      el("image", { href: floor.plan_url, x: 0, y: 0, width: floor.width, height: floor.height, preserveAspectRatio: "xMidYMid meet" }, svg);
    }
    for (const r of floor.rooms) {
      const shown = options.room ? options.room(r) : {};
      const g = el("g", { class: `room-g ${shown.cls || ""}`, "data-room": r.id }, svg);
      el("rect", { x: r.x, y: r.y, width: r.width, height: r.height, class: "room" }, g);
      const t = el("text", { x: r.x + r.width / 2, y: r.y + r.height / 2, class: "room-label",
                             "font-size": Math.min(r.width / 5, r.height / 3) }, g);
      t.textContent = shown.label || r.id;
      el("title", {}, g).textContent = shown.title || `${r.name} (${r.capacity})`;
      if (options.onRoom) g.addEventListener("click", () => options.onRoom(r));
    }
    const size = spacing(floor, desks);
    for (const d of desks) {
      const g = el("g", { transform: `translate(${d.x} ${d.y})`, class: `desk s-${d.mark}`, "data-desk": d.id }, svg);
      el("use", { href: `#${look.marks}${d.mark}`, transform: `scale(${size * look.scale})` }, g);
      if (look.labels) {
        const t = el("text", { y: size * 0.72, class: "desk-label", "font-size": size * 0.3 }, g);
        // The short part people read: "U-01" of "Meja U-01"; an unnamed desk's code's end.
        const words = (d.name || d.id).split(" ");
        t.textContent = words.length > 1 ? words.pop() : d.id.split("-").pop();
      }
      if (d.title) el("title", {}, g).textContent = d.title;
      if (options.onDesk) g.addEventListener("click", () => options.onDesk(d));
    }
    if (!this.touch) return;
    if (!this.fitted) this.fitFingers(svg, desks);
    this.panzoom(svg);
  }

  // On a small screen the whole floor makes desks smaller than a finger (WCAG 2.2: 24 px
  // at least): the first view then zooms in on the desks, and the rest is a drag away.
  fitFingers(svg, desks) {
    const first = svg.querySelector("[data-desk]");
    const shown = svg.getBoundingClientRect().width;
    if (!first || !shown) return;
    this.fitted = true;
    const box = first.getBoundingClientRect();
    const smallest = Math.min(box.width, box.height);
    if (smallest >= TARGET_PX) return;
    // Centred on the desks (not on the floor), so as many of them as fit are in view, and
    // kept on the floor where it is larger than the view.
    const xs = desks.map((d) => d.x);
    const ys = desks.map((d) => d.y);
    this.zoom(TARGET_PX / Math.max(smallest, 1));
    const [, , w, h] = this.view;
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
    const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
    const inside = (c, size, whole) => (size < whole ? Math.min(Math.max(c - size / 2, 0), whole - size) : c - size / 2);
    this.view = [inside(cx, w, this.floor.width), inside(cy, h, this.floor.height), w, h];
    this.set();
  }

  set() {
    if (this.svg) this.svg.setAttribute("viewBox", this.view.join(" "));
  }

  zoom(factor, cx, cy) {
    const [x, y, w, h] = this.view;
    const fw = this.floor.width;
    const nw = Math.min(fw * 1.5, Math.max(fw / 40, w / factor));
    const k = nw / w;
    cx = cx === undefined ? x + w / 2 : cx;
    cy = cy === undefined ? y + h / 2 : cy;
    this.view = [cx - (cx - x) * k, cy - (cy - y) * k, w * k, h * k];
    this.set();
  }

  panzoom(svg) {
    const toPlan = (ev) => {
      const r = svg.getBoundingClientRect();
      return [this.view[0] + ((ev.clientX - r.left) / r.width) * this.view[2],
              this.view[1] + ((ev.clientY - r.top) / r.height) * this.view[3]];
    };
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const [cx, cy] = toPlan(ev);
      this.zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, cx, cy);
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
        if (pinch) this.zoom(dist / pinch);
        pinch = dist;
        return;
      }
      const r = svg.getBoundingClientRect();
      const dx = ((ev.clientX - prev.clientX) / r.width) * this.view[2];
      const dy = ((ev.clientY - prev.clientY) / r.height) * this.view[3];
      if (Math.abs(dx) + Math.abs(dy) > 0) {
        this.view = [this.view[0] - dx, this.view[1] - dy, this.view[2], this.view[3]];
        this.set();
      }
    });
    const up = (ev) => { pointers.delete(ev.pointerId); if (pointers.size < 2) pinch = 0; };
    svg.addEventListener("pointerup", up);
    svg.addEventListener("pointercancel", up);
  }
}
