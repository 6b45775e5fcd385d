// The floor plan renderer every page shares (find a desk, the manager's live map, the
// installer's commissioning): the floor, its rooms and its desks as SVG, with pan and zoom.
// Pages decide what each desk and room shows; the marks are <g id="mark-..."> in the page.
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
//   room(r): {cls, title, label} for a room; zoom: {in, out, reset} buttons.
export class FloorPlan {
  constructor(box, floor, options = {}) {
    this.box = box;
    this.floor = floor;
    this.options = options;
    this.view = [0, 0, floor.width, floor.height];
    const z = options.zoom || {};
    if (z.in) z.in.onclick = () => this.zoom(1.5);
    if (z.out) z.out.onclick = () => this.zoom(1 / 1.5);
    if (z.reset) z.reset.onclick = () => { this.view = [0, 0, floor.width, floor.height]; this.set(); };
  }

  draw(desks) {
    const { box, floor, options } = this;
    box.textContent = "";
    const svg = el("svg", { class: "plan-svg", role: "img", "aria-label": options.caption || "" }, box);
    this.svg = svg;
    this.set();
    svg.style.aspectRatio = `${floor.width} / ${Math.max(floor.height, floor.width / 3)}`;
    el("rect", { x: 0, y: 0, width: floor.width, height: floor.height, class: "floor" }, svg);
    if (floor.plan_url) {
      el("image", { href: floor.plan_url, x: 0, y: 0, width: floor.width, height: floor.height, preserveAspectRatio: "xMidYMid meet" }, svg);
    }
    for (const r of floor.rooms) {
      const look = options.room ? options.room(r) : {};
      const g = el("g", { class: `room-g ${look.cls || ""}`, "data-room": r.id }, svg);
      el("rect", { x: r.x, y: r.y, width: r.width, height: r.height, class: "room" }, g);
      const t = el("text", { x: r.x + r.width / 2, y: r.y + r.height / 2, class: "room-label",
                             "font-size": Math.min(r.width / 5, r.height / 3) }, g);
      t.textContent = look.label || r.id;
      el("title", {}, g).textContent = look.title || `${r.name} (${r.capacity})`;
      if (options.onRoom) g.addEventListener("click", () => options.onRoom(r));
    }
    const size = spacing(floor, desks);
    for (const d of desks) {
      const g = el("g", { transform: `translate(${d.x} ${d.y})`, class: `desk s-${d.mark}`, "data-desk": d.id }, svg);
      el("use", { href: `#mark-${d.mark}`, transform: `scale(${size * 0.036})` }, g);
      const t = el("text", { y: size * 0.72, class: "desk-label", "font-size": size * 0.3 }, g);
      t.textContent = d.id.split("-").pop();
      el("title", {}, g).textContent = d.title;
      if (options.onDesk) g.addEventListener("click", () => options.onDesk(d));
    }
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
    const cx = desks.reduce((a, d) => a + d.x, 0) / desks.length;
    const cy = desks.reduce((a, d) => a + d.y, 0) / desks.length;
    this.zoom(TARGET_PX / Math.max(smallest, 1), cx, cy);
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

// The JSON API with the session cookie; changes carry the page's CSRF token. Errors say
// what the server said, in the page's language.
export function apiClient(lang) {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  return async function api(path, options = {}) {
    const headers = { Accept: "application/json", "Accept-Language": lang, ...(options.headers || {}) };
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
  };
}

export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}
