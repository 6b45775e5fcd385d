// Every page: the app's service worker (installable, opens offline, notifications), and the
// time an offline copy was saved, in its banner.
"use strict";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

const root = document.documentElement;
const kept = root.dataset.offline;
if (kept) {
  const when = new Date(kept).toLocaleString(root.lang, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: root.dataset.tz || undefined,
  });
  for (const span of document.querySelectorAll(".offline-when")) span.textContent = when;
}
