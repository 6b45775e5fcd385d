// What every scripted page shares: the JSON API with the session cookie, messages with
// their values filled in, a table built from rows, and following the server's live events.
"use strict";

// The JSON API with the session cookie; changes carry the page's CSRF token. Errors say
// what the server said, in the page's language.
export function apiClient(lang) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
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

// "Meja {desk} dipesan" with {desk: "W-01"}: a message with its values.
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// A table in `box` (replacing what was there): a caption, column heads, and rows. A row is
// a list of cells, or {cells, data, cls} to give it data-* attributes and a class; a cell
// is text or a node. The first cell of each row heads it (a screen reader names the row).
export function table(box, { caption, head, rows, cls = "table", empty = "" }) {
  box.textContent = "";
  if (!rows.length && empty) { box.textContent = empty; return null; }
  const t = document.createElement("table");
  t.className = cls;
  t.createCaption().textContent = caption;
  const h = t.createTHead().insertRow();
  for (const c of head) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c;
    h.appendChild(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const { cells, data = {}, cls: rowCls = "" } = Array.isArray(r) ? { cells: r } : r;
    const tr = body.insertRow();
    Object.assign(tr.dataset, data);
    if (rowCls) tr.className = rowCls;
    cells.forEach((v, i) => {
      let cell;
      if (i === 0) {
        cell = document.createElement("th");
        cell.scope = "row";
        tr.appendChild(cell);
      } else {
        cell = tr.insertCell();
      }
      if (v instanceof Node) cell.appendChild(v); else cell.append(...(Array.isArray(v) ? v : [v]));
    });
  }
  box.appendChild(t);
  return t;
}

// Follow the server's events at `url`: each of `events` reloads the page's data through
// `refresh` (once, for a burst of them); `every` ms reloads it anyway (for what has no
// event of its own). `status` (an element) says whether the stream is live, in `say`'s
// words. `refresh` answering false (the thing is gone) stops following.
export function follow(url, { events, refresh, status = null, say = {}, every = 0, delay = 300 }) {
  const source = new EventSource(url);
  let pending = null;
  let timer = null;
  const stop = () => { source.close(); clearInterval(timer); };
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      try { if ((await refresh()) === false) stop(); } catch (e) { /* the next event tries again */ }
    }, delay);
  };
  for (const name of events) source.addEventListener(name, soon);
  if (status) {
    source.addEventListener("open", () => { status.textContent = say.live_on; status.dataset.live = "on"; });
    source.addEventListener("error", () => { status.textContent = say.live_off; status.dataset.live = "off"; });
  }
  if (every) timer = setInterval(soon, every);
  return source;
}
