/* A ticket's tracking page, live: listens to GET /t/<id>/events (display/live.py: a nudge,
   without data, whenever something happens at the office that can move this ticket) and on
   each nudge asks GET /api/v1/tickets/<id> again (at most every 2 seconds; a nudge that came
   while a poll was on its way is answered by one more, not by that poll); while the stream
   is up, a slow 30-second poll is the safety net, and while it is down (or without
   EventSource, or refused because the server's budget of citizens' streams is spent: it
   tries again 60-90 s later) the 5-second poll below does the work, as before.
   The poll: asks GET /api/v1/tickets/<id> every 5 seconds and, when
   the ticket moved, fetches the page again and swaps its live part (#cd-tracking-live), so
   every word stays the server's translation. Paused while the tab is hidden, unless alerts
   are on (then every 15 seconds, so that a phone in a pocket still hears its turn); after an
   error it waits longer each time (up to a minute). A 404 or a final status stops it.
   "Turn on sound and alerts" (a user gesture: browsers allow sound only after one) enables
   a short beep (WebAudio), vibration and, when the citizen allows them, notifications;
   they fire when the turn nears and when the ticket is called (again on a recall).
   Notifications go through the service worker /t/sw.js (static/js/tracking_worker.js),
   registered once the citizen allowed them: Android's Chrome shows them no other way.
   Without it (no worker support, or its registration failed) `new Notification` remains.
   (The Content-Security-Policy forbids inline script: this file is the way.) */
(function () {
  "use strict";
  var root = document.getElementById("cd-tracking");
  if (!root || !window.fetch) { return; }
  var api = root.getAttribute("data-api");
  var BASE = 5000, HIDDEN = 15000, MAX = 60000, SAFETY = 30000, NUDGE_GAP = 2000;
  var RELISTEN = 60000;
  var delay = BASE, timer = null, stopped = false;
  var source = null, streaming = false, lastPoll = 0;
  /* Nudges received: an answer that was on its way when one came may predate its news. */
  var nudges = 0;
  /* What the page shows, in the API's terms: a different answer means "fetch the page". */
  var signature = document.getElementById("cd-tracking-live").getAttribute("data-sign");
  var alertsOn = false, audio = null, flashing = null;
  /* The service worker's registration (a promise), once alerts are on and allowed. */
  var worker = null;
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function live() { return document.getElementById("cd-tracking-live"); }
  function state() { return live().getAttribute("data-state"); }
  function recalls() { return parseInt(live().getAttribute("data-recalls") || "0", 10); }

  function sign(t) {
    return [t.status, t.position, t.estimated_wait_minutes, t.counter && t.counter.id,
            t.recalls, t.service].join("|");
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (stopped) { stopListening(); return; }
    if (document.hidden && !alertsOn) { return; } // resumed by visibilitychange
    if (streaming) { ms = Math.max(ms, SAFETY); }
    timer = setTimeout(poll, document.hidden ? Math.max(ms, HIDDEN) : ms);
  }

  /* A nudge: ask again soon, but not more often than every NUDGE_GAP (a busy office). */
  function nudged() {
    if (stopped) { return; }
    nudges += 1;
    clearTimeout(timer);
    if (document.hidden && !alertsOn) { return; } // resumed by visibilitychange
    timer = setTimeout(poll, Math.max(100, lastPoll + NUDGE_GAP - Date.now()));
  }

  function listen() {
    if (!window.EventSource || source || stopped) { return; }
    source = new EventSource(window.location.pathname.replace(/\/+$/, "") + "/events");
    source.addEventListener("open", function () {
      streaming = true;
      nudged(); // whatever happened while it was not connected
    });
    source.addEventListener("changed", nudged);
    source.addEventListener("error", function () {
      // The browser reconnects by itself (a 204 once the ticket is final stops it);
      // meanwhile the 5-second poll is back.
      streaming = false;
      if (source && source.readyState === 2) {
        // Given up: refused (503 once the server's streams for citizens are all taken, or
        // a proxy's error during a deploy). Poll, and try the stream again a minute or so
        // later (the 503's Retry-After; spread out so refused pages do not return at once).
        source = null;
        if (!stopped) { setTimeout(listen, RELISTEN * (1 + Math.random() / 2)); }
      }
      if (!stopped) { schedule(delay); }
    });
  }

  function stopListening() {
    streaming = false;
    if (source) { source.close(); source = null; }
  }

  function offline(shown) {
    var note = root.querySelector("[data-offline]");
    if (note) { note.hidden = !shown; }
  }

  function poll() {
    lastPoll = Date.now();
    var seen = nudges;
    /* The next poll: the usual one, unless a nudge came while this one was on its way (its
       answer may have been read before what the nudge announced, and the usual poll, 30 s
       away while streaming, would drop the nudge's own). */
    function next() {
      if (nudges !== seen) { nudged(); } else { schedule(delay); }
    }
    fetch(api, { headers: { "Accept": "application/json" }, cache: "no-store",
                 credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) {
          stopped = true; stopListening(); window.location.reload(); return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (ticket) {
        if (!ticket) { return; }
        offline(false);
        delay = BASE;
        var now = sign(ticket);
        if (now === signature) { next(); return; }
        return refresh().then(function () {
          signature = now;
          if (["done", "no_show", "cancelled", "expired"].indexOf(ticket.status) >= 0) {
            stopped = true;
            stopListening();
            var alerts = root.querySelector("[data-alerts]");
            if (alerts) { alerts.hidden = true; }
          }
          next();
        });
      })
      .catch(function () {
        offline(true);
        delay = Math.min(MAX, delay * 2);
        next();
      });
  }

  /* Fetch the page again and swap its live part; alert on the way into "near" or "called". */
  function refresh() {
    var before = state(), beforeRecalls = recalls();
    return fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("cd-tracking-live");
        if (!fresh) { throw new Error("no live part"); }
        live().replaceWith(document.importNode(fresh, true));
        document.title = page.title;
        var after = state();
        if (after === "called" && (before !== "called" || recalls() > beforeRecalls)) {
          alert_("called");
        } else if (after === "near" && before === "waiting") {
          alert_("near");
        }
      });
  }

  function beep(times) {
    if (!audio) { return; }
    var start = audio.currentTime + 0.05;
    for (var i = 0; i < times; i++) {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.3);
      start += 0.35;
    }
  }

  function flashTitle() {
    if (flashing || !document.hidden) { return; }
    var original = document.title, on = false;
    flashing = setInterval(function () {
      on = !on;
      document.title = on ? "\u25CF " + original : original;
    }, 1000);
    document.addEventListener("visibilitychange", function stop() {
      if (document.hidden) { return; }
      clearInterval(flashing);
      flashing = null;
      document.title = original;
      document.removeEventListener("visibilitychange", stop);
    });
  }

  function alert_(kind) {
    if (!alertsOn) { return; }
    var text = live().getAttribute("data-alert") || document.title;
    beep(kind === "called" ? 3 : 2);
    if (navigator.vibrate) {
      navigator.vibrate(kind === "called" ? [400, 150, 400, 150, 400] : [200, 100, 200]);
    }
    if (!reducedMotion) { flashTitle(); }
    if ("Notification" in window && Notification.permission === "granted") {
      notify(document.title, {
        body: text, tag: "cd-ticket-" + kind, renotify: true, lang: document.documentElement.lang,
        vibrate: kind === "called" ? [400, 150, 400, 150, 400] : [200, 100, 200],
        // The worker brings this page back when the notification is clicked.
        data: { url: window.location.pathname + window.location.search }
      });
    }
  }

  /* Register the worker that shows the notifications (scope /t/: the tracking pages only). */
  function registerWorker() {
    var script = root.getAttribute("data-worker");
    if (worker || !script || !("serviceWorker" in navigator)) { return; }
    var scope = script.replace(/[^\/]*$/, "");
    var registered = navigator.serviceWorker.register(script, { scope: scope })
      .then(function () { return navigator.serviceWorker.ready; });
    // Not active within 10 seconds (or refused, as in some private windows): the page's own.
    worker = Promise.race([registered, new Promise(function (resolve, reject) {
      setTimeout(reject, 10000);
    })]);
    worker.catch(function () { worker = null; });
  }

  /* A notification through the worker when there is one, else the page's own. */
  function notify(title, options) {
    function direct() {
      try { new Notification(title, options); } catch (e) { /* Android without the worker */ }
    }
    if (!worker) { direct(); return; }
    worker.then(function (registration) { return registration.showNotification(title, options); })
      .catch(direct);
  }

  function enableAlerts(event) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) {
      try { audio = new Context(); } catch (e) { audio = null; }
    }
    if (audio && audio.state === "suspended") { audio.resume(); }
    alertsOn = true;
    beep(1);
    var status = root.querySelector("[data-alerts-status]");
    var button = event.currentTarget;
    function said(permission) {
      status.textContent = root.getAttribute(permission === "granted"
        ? "data-msg-alerts-on" : "data-msg-notifications-blocked");
      if (permission === "granted") { registerWorker(); }
    }
    if ("Notification" in window && Notification.permission === "default") {
      var asked = Notification.requestPermission(said);
      if (asked && asked.then) { asked.then(said); }
    } else {
      said("Notification" in window ? Notification.permission : "unsupported");
    }
    button.hidden = true;
    if (state() === "near" || state() === "called") { alert_(state()); }
  }

  var alerts = root.querySelector("[data-alerts]");
  if (alerts) {
    alerts.hidden = false;
    alerts.querySelector("[data-alerts-on]").addEventListener("click", enableAlerts);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !stopped) { clearTimeout(timer); poll(); }
  });
  listen();
  schedule(delay);
})();
