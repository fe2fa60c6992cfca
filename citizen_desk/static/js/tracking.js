/* A ticket's tracking page, live: asks GET /api/v1/tickets/<id> every 5 seconds and, when
   the ticket moved, fetches the page again and swaps its live part (#cd-tracking-live), so
   every word stays the server's translation. Paused while the tab is hidden, unless alerts
   are on (then every 15 seconds, so that a phone in a pocket still hears its turn); after an
   error it waits longer each time (up to a minute). A 404 or a final status stops it.
   "Turn on sound and alerts" (a user gesture: browsers allow sound only after one) enables
   a short beep (WebAudio), vibration and, when the citizen allows them, notifications;
   they fire when the turn nears and when the ticket is called (again on a recall).
   (The Content-Security-Policy forbids inline script: this file is the way.) */
(function () {
  "use strict";
  var root = document.getElementById("cd-tracking");
  if (!root || !window.fetch) { return; }
  var api = root.getAttribute("data-api");
  var BASE = 5000, HIDDEN = 15000, MAX = 60000;
  var delay = BASE, timer = null, stopped = false;
  /* What the page shows, in the API's terms: a different answer means "fetch the page". */
  var signature = document.getElementById("cd-tracking-live").getAttribute("data-sign");
  var alertsOn = false, audio = null, flashing = null;
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
    if (stopped) { return; }
    if (document.hidden && !alertsOn) { return; } // resumed by visibilitychange
    timer = setTimeout(poll, document.hidden ? Math.max(ms, HIDDEN) : ms);
  }

  function offline(shown) {
    var note = root.querySelector("[data-offline]");
    if (note) { note.hidden = !shown; }
  }

  function poll() {
    fetch(api, { headers: { "Accept": "application/json" }, cache: "no-store",
                 credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) { stopped = true; window.location.reload(); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (ticket) {
        if (!ticket) { return; }
        offline(false);
        delay = BASE;
        var now = sign(ticket);
        if (now === signature) { schedule(delay); return; }
        return refresh().then(function () {
          signature = now;
          if (["done", "no_show", "cancelled", "expired"].indexOf(ticket.status) >= 0) {
            stopped = true;
            var alerts = root.querySelector("[data-alerts]");
            if (alerts) { alerts.hidden = true; }
          }
          schedule(delay);
        });
      })
      .catch(function () {
        offline(true);
        delay = Math.min(MAX, delay * 2);
        schedule(delay);
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
      try {
        new Notification(document.title, { body: text, tag: "cd-ticket-" + kind,
                                           lang: document.documentElement.lang });
      } catch (e) { /* Android Chrome shows notifications only from a service worker */ }
    }
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
  schedule(delay);
})();
