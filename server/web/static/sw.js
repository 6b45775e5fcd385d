// The app's service worker: the app opens on a weak connection, and notifications arrive.
//
// - Pages a person reads on the go (today, the QR check-in page) are fetched from the network
//   first; a copy is kept, and shown only when the server cannot be reached, marked offline
//   with the time it was saved: a kept page is never passed off as the current one.
// - Styles, scripts and icons come from the cache and are refreshed behind it.
// - Nothing else is cached: the API and every other page are the network's alone.
// - A push shows its notification; its buttons ("I am coming", "Release it") post the
//   answer at once, without opening the app.
"use strict";

const VERSION = "v1";
const SHELL = `shell-${VERSION}`;
const PAGES = `pages-${VERSION}`;
const SHELL_FILES = ["/static/app.css", "/static/app.js", "/static/page.js", "/static/days.js", "/static/icon.svg"];
const KEPT = [/^\/app\/?$/, /^\/checkin\/[^/]+\/[^/]+$/];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== PAGES).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function kept(url) {
  return url.origin === self.location.origin && KEPT.some((re) => re.test(url.pathname));
}

async function offline(request) {
  const copy = await (await caches.open(PAGES)).match(request, { ignoreSearch: true });
  if (!copy) {
    return new Response(
      "<!doctype html><meta charset=utf-8><title>Offline</title><p>Luring: halaman ini belum pernah dibuka di perangkat ini. / Offline: this page was never opened on this device.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
    );
  }
  const saved = copy.headers.get("X-Kept-At") || "";
  const html = (await copy.text()).replace("<html", `<html data-offline="${saved}"`);
  return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function fromNetwork(request) {
  try {
    const resp = await fetch(request);
    if (resp.ok && !resp.redirected && (resp.headers.get("Content-Type") || "").startsWith("text/html")) {
      const body = await resp.clone().text();
      const at = new Date().toISOString(); // the page writes it in its own zone and language
      const copy = new Response(body, { headers: { "Content-Type": "text/html; charset=utf-8", "X-Kept-At": at } });
      await (await caches.open(PAGES)).put(request.url.split("?")[0], copy);
    }
    return resp;
  } catch (err) {
    return offline(request);
  }
}

async function shell(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request);
  const fresh = fetch(request).then((resp) => {
    if (resp.ok) cache.put(request, resp.clone());
    return resp;
  });
  return hit || fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/app/login" || url.pathname === "/app/logout") {
    event.waitUntil(caches.delete(PAGES)); // signed out: nobody's pages stay on the device
    return;
  }
  if (request.mode === "navigate" && kept(url)) {
    event.respondWith(fromNetwork(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => offline(request))); // says so, never a blank
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(shell(request));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = { title: event.data.text() }; }
  const actions = (data.actions || []).map((a) => ({ action: a.action, title: a.title }));
  event.waitUntil(
    self.registration.showNotification(data.title || "IKN Smart Office", {
      body: data.body || "",
      tag: data.tag,
      icon: "/icons/192.png",
      badge: "/icons/192.png",
      data,
      actions,
      requireInteraction: actions.length > 0,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  const chosen = (data.actions || []).find((a) => a.action === event.action);
  if (chosen) {
    event.waitUntil(
      fetch(chosen.url, { method: "POST", headers: { Accept: "application/json" } })
        .then((resp) => resp.json())
        .then((answer) => self.registration.showNotification(answer.title || data.title, { body: answer.said || "", tag: data.tag }))
        .catch(() => self.clients.openWindow(chosen.url)),
    );
    return;
  }
  event.waitUntil(self.clients.openWindow(data.url || "/app"));
});
