/* The tracking page's service worker, served as /t/sw.js (queue/tracking_worker.py), so that
   its scope is /t/ and nothing else. It exists for one reason: Android's Chrome refuses
   `new Notification(...)` in a page and shows notifications only through
   `ServiceWorkerRegistration.showNotification()`. static/js/tracking.js registers it when
   the citizen turns on sound and alerts, and shows its notifications through it.
   No caching, no push, no offline page: there is deliberately no "fetch" handler, so the
   browser loads every page and answer from the network as if this worker did not exist.
   A click on a notification brings the ticket's tracking page to the front (or opens it
   again when it was closed) — a page of this origin under /t/, never another address. */
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting(); // nothing to prepare: active at once, so the page can notify now
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

/* The tracking page a notification belongs to: its own address, if it is one of ours. */
function pageOf(notification) {
  var wanted = notification.data && notification.data.url;
  if (typeof wanted !== "string") { return null; }
  var url;
  try { url = new URL(wanted, self.location.origin); } catch (e) { return null; }
  var scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || url.pathname.indexOf(scope.pathname) !== 0) {
    return null;
  }
  return url;
}

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = pageOf(event.notification);
  if (!url) { return; }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      for (var i = 0; i < tabs.length; i++) {
        var tab = new URL(tabs[i].url);
        if (tab.origin === url.origin && tab.pathname === url.pathname && tabs[i].focus) {
          return tabs[i].focus();
        }
      }
      return self.clients.openWindow ? self.clients.openWindow(url.href) : null;
    })
  );
});
