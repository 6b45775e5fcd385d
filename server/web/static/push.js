// "Allow notifications here": this browser subscribes to the server's pushes (Web Push,
// with the server's VAPID key) and hands its subscription to the server.
import { apiClient } from "/static/page.js";

const button = document.getElementById("push-allow");
const said = document.getElementById("push-said");
const lang = document.documentElement.lang || "id";
const api = apiClient(lang);
const words = document.getElementById("push-device").dataset;

function key(base64) {
  const text = atob(base64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64.length + 3) % 4));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function allow() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    said.textContent = words.unsupported;
    return;
  }
  if ((await Notification.requestPermission()) !== "granted") {
    said.textContent = words.denied;
    return;
  }
  try {
    const { key: serverKey } = await api("/api/v1/push/key");
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(serverKey) });
    await api("/api/v1/me/push-subscriptions", { method: "POST", body: JSON.stringify(sub.toJSON()) });
    said.textContent = words.done;
  } catch (err) {
    said.textContent = err.message;
  }
}

if (button) button.addEventListener("click", allow);
