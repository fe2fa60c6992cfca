/* The waiting-room display (templates/display/page.html, citizen_desk/display/).
 *
 * Follows the office's event stream (EventSource): the first message of every connection
 * is the whole state; then each ticket event comes with its event id, exactly once, and
 * waiting counts after the events that change them. A call (or a recall) flashes, chimes
 * (WebAudio) and is spoken in each of the screen's languages that has a voice, spelling
 * the number digit by digit. Headings alternate between the languages. When the stream
 * drops, a discreet notice shows and the last state stays; EventSource reconnects by
 * itself with Last-Event-ID, and if it gave up (an error answer) we open a new one that
 * resumes after the last id we have.
 */
(function () {
  "use strict";
  var body = document.body;
  var config;
  try { config = JSON.parse(body.getAttribute("data-config") || "{}"); } catch (e) { return; }

  var languages = config.languages || ["el"];
  var headings = config.headings || {};
  var shown = config.first || languages[0];
  var calls = [];          // newest first: {number, counter, service, at, recalls, event_id}
  var services = [];
  var counters = {};
  // The last event id received (what we resume after); first, the page's own state's.
  var lastId = typeof config.lastEventId === "number" ? config.lastEventId : null;
  var offsetMs = 0;        // server clock - our clock
  var source = null;
  var retryTimer = null;
  var offlineTimer = null;
  var speaking = [];       // announcements waiting their turn
  var busy = false;
  var audio = null;
  var MAX_CALLS = 6;
  // Calls older than this when they reach us (a replay after a long gap) are listed, not announced.
  var ANNOUNCE_WITHIN_MS = 3 * 60 * 1000;
  var GREEK_LETTERS = {A: "Α", B: "Β", E: "Ε", Z: "Ζ", H: "Η", I: "Ι", K: "Κ", M: "Μ",
                       N: "Ν", O: "Ο", P: "Ρ", T: "Τ", Y: "Υ", X: "Χ"};
  var VOICE_LANG = {el: "el-GR", en: "en-GB"};

  function $(id) { return document.getElementById(id); }
  function text(key, lang) { return (headings[key] || {})[lang || shown] || ""; }

  function wanted(call) {
    if (config.services && config.services.length && config.services.indexOf(call.service) < 0) return false;
    if (config.counters && config.counters.length && config.counters.indexOf(call.counter) < 0) return false;
    return true;
  }

  function counterLabel(code, lang) {
    var counter = counters[code];
    if (!counter) return code || "";
    return (counter.label || {})[lang || shown] || code;
  }

  function cell(tag, content, cls) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  }

  // -- rendering --------------------------------------------------------------------------

  function renderCurrent(flash) {
    var box = $("display-current");
    var latest = calls[0];
    box.textContent = "";
    if (!latest) {
      var empty = cell("p", text("none"), "cd-display__empty");
      empty.setAttribute("data-heading", "none");
      box.appendChild(empty);
      return;
    }
    var p = document.createElement("p");
    p.className = "cd-display__call" + (flash ? " is-new" : "");
    p.setAttribute("data-number", latest.number);
    p.appendChild(cell("span", latest.number, "cd-display__number"));
    var where = cell("span", "", "cd-display__where");
    var arrow = cell("span", "→", "cd-display__arrow");
    arrow.setAttribute("aria-hidden", "true");
    where.appendChild(arrow);
    where.appendChild(document.createTextNode(" "));
    where.appendChild(cell("span", counterLabel(latest.counter), "cd-display__counter"));
    p.appendChild(where);
    box.appendChild(p);
  }

  function renderCalls() {
    var tbody = $("display-calls");
    tbody.textContent = "";
    calls.slice(0, MAX_CALLS).forEach(function (call, index) {
      var row = document.createElement("tr");
      row.setAttribute("data-number", call.number);
      if (index === 0) row.className = "is-latest";
      row.appendChild(cell("td", call.number, "cd-display__cell-number"));
      row.appendChild(cell("td", counterLabel(call.counter)));
      tbody.appendChild(row);
    });
  }

  function renderServices() {
    var tbody = $("display-services");
    tbody.textContent = "";
    services.forEach(function (row) {
      if (config.services && config.services.length && config.services.indexOf(row.code) < 0) return;
      if (!row.waiting) return;  // the services someone waits for (a screen has room for few)
      var tr = document.createElement("tr");
      tr.setAttribute("data-service", row.code);
      tr.appendChild(cell("td", row.prefix, "cd-display__prefix"));
      tr.appendChild(cell("td", (row.name || {})[shown] || row.code));
      tr.appendChild(cell("td", String(row.waiting)));
      tr.appendChild(cell("td", text("minutes").replace("{minutes}", String(row.wait_minutes))));
      tbody.appendChild(tr);
    });
    if (!tbody.rows.length) {
      var nobody = document.createElement("tr");
      nobody.className = "cd-display__nobody";
      var only = cell("td", text("nobody"));
      only.colSpan = 4;
      only.setAttribute("data-heading", "nobody");
      nobody.appendChild(only);
      tbody.appendChild(nobody);
    }
    fit(tbody);
  }

  function fit(tbody) {
    // Rows that would be cut at the screen's edge are left out rather than shown in half.
    var section = tbody.parentNode.parentNode;
    var limit = Math.min(document.documentElement.clientHeight,
                         section.getBoundingClientRect().bottom);
    var rows = tbody.rows;
    for (var i = rows.length - 1; i > 0 && rows[i].getBoundingClientRect().bottom > limit; i--) {
      rows[i].hidden = true;
    }
  }

  function renderHeadings() {
    document.documentElement.lang = shown;
    var office = (config.state && config.state.office && config.state.office.name) || {};
    if (office[shown]) $("display-office").textContent = office[shown];
    Array.prototype.forEach.call(document.querySelectorAll("[data-heading]"), function (el) {
      el.textContent = text(el.getAttribute("data-heading"));
    });
  }

  function renderAll(flash) {
    renderHeadings();
    renderCurrent(flash);
    renderCalls();
    renderServices();
  }

  // -- the clock and the languages ----------------------------------------------------------

  var clockFormat = null;
  try {
    clockFormat = new Intl.DateTimeFormat(shown === "el" ? "el-GR" : "en-GB",
      {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: config.timezone || "Europe/Athens"});
  } catch (e) { clockFormat = null; }

  function tick() {
    var now = new Date(Date.now() + offsetMs);
    var clock = $("display-clock");
    if (clockFormat) clock.textContent = clockFormat.format(now);
    clock.setAttribute("datetime", now.toISOString());
  }

  function rotate() {
    if (languages.length < 2) return;
    shown = languages[(languages.indexOf(shown) + 1) % languages.length];
    renderHeadings();
    renderCurrent(false);
    renderCalls();
    renderServices();
  }

  // -- sound and speech -------------------------------------------------------------------

  function audioContext() {
    if (audio) return audio;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try { audio = new Context(); } catch (e) { audio = null; }
    return audio;
  }

  function offerSound() {
    // Browsers start audio only after a gesture unless the kiosk browser allows autoplay.
    var ctx = audioContext();
    var button = $("display-sound");
    if (!ctx || ctx.state !== "suspended" || !(config.chime || config.speech)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      ctx.resume();
      button.hidden = true;
    });
  }

  function chime(done) {
    var ctx = config.chime ? audioContext() : null;
    if (!ctx || ctx.state !== "running") { done(); return; }
    var volume = Math.max(0, Math.min(1, (config.volume || 0) / 100));
    var start = ctx.currentTime + 0.02;
    [[880, 0], [660, 0.35]].forEach(function (tone) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, start + tone[1]);
      gain.gain.exponentialRampToValueAtTime(Math.max(0.0002, volume * 0.6), start + tone[1] + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + tone[1] + 0.6);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start + tone[1]);
      osc.stop(start + tone[1] + 0.65);
    });
    setTimeout(done, 1000);
  }

  function spelled(number, lang) {
    return String(number || "").split("").map(function (ch) {
      return lang === "el" && GREEK_LETTERS[ch] ? GREEK_LETTERS[ch] : ch;
    }).join(" ");
  }

  function voiceFor(lang) {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf(lang) === 0) return voices[i];
    }
    return null;
  }

  function speak(call, done) {
    if (!config.speech || !window.speechSynthesis || !window.SpeechSynthesisUtterance) { done(); return; }
    var queue = languages.filter(function (lang) { return voiceFor(lang); });
    function next() {
      var lang = queue.shift();
      if (!lang) { done(); return; }
      var phrase = text("speech", lang).replace("{number}", spelled(call.number, lang))
        .replace("{counter}", spelled(call.counter, lang));
      var utterance = new window.SpeechSynthesisUtterance(phrase);
      utterance.lang = VOICE_LANG[lang] || lang;
      utterance.voice = voiceFor(lang);
      utterance.volume = Math.max(0, Math.min(1, (config.volume || 0) / 100));
      utterance.rate = 0.9;
      var finished = false;
      function end() { if (!finished) { finished = true; next(); } }
      utterance.onend = end;
      utterance.onerror = end;
      setTimeout(end, 12000);  // a voice that never ends must not stop later calls
      window.speechSynthesis.speak(utterance);
    }
    next();
  }

  function announce(call) {
    speaking.push(call);
    if (!busy) nextAnnouncement();
  }

  function nextAnnouncement() {
    var call = speaking.shift();
    if (!call) { busy = false; return; }
    busy = true;
    chime(function () { speak(call, nextAnnouncement); });
  }

  // -- the stream -------------------------------------------------------------------------

  function setState(state) {
    if (state.now) offsetMs = new Date(state.now).getTime() - Date.now();
    counters = state.counters || {};
    services = state.services || [];
    calls = (state.calls || []).filter(wanted);
    // Only a first state sets where we are: after a reconnect the stream replays the events
    // after our last id (which the state already lists) and those must still be announced.
    if (lastId === null) lastId = state.last_event_id;
    body.setAttribute("data-last-event-id", String(lastId));
    renderAll(false);
  }

  function onCall(data, id) {
    var call = {number: data.number, counter: data.counter, service: data.service,
                at: data.at, recalls: data.recalls || 0, event_id: id};
    calls = calls.filter(function (each) { return each.number !== call.number; });
    calls.unshift(call);
    calls = calls.slice(0, MAX_CALLS);
    renderCurrent(true);
    renderCalls();
    var age = Date.now() + offsetMs - new Date(call.at).getTime();
    if (!(age > ANNOUNCE_WITHIN_MS)) announce(call);
  }

  function onEvent(message) {
    var id = parseInt(message.lastEventId, 10);
    if (!isNaN(id)) {
      if (lastId !== null && id <= lastId) return;  // already seen: never announced twice
      lastId = id;
      body.setAttribute("data-last-event-id", String(id));
    }
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    if ((data.type === "called" || data.type === "recalled") && wanted(data)) onCall(data, id);
  }

  function online() {
    body.setAttribute("data-stream", "open");
    clearTimeout(offlineTimer);
    offlineTimer = null;
    $("display-status").hidden = true;
    body.classList.remove("is-offline");
  }

  function offline() {
    body.setAttribute("data-stream", "lost");
    // A reconnect that succeeds within a few seconds is not worth a notice.
    if (offlineTimer) return;
    offlineTimer = setTimeout(function () {
      offlineTimer = null;
      if (!source || source.readyState !== 1) {
        $("display-status").hidden = false;
        body.classList.add("is-offline");
      }
    }, 4000);
  }

  function connect() {
    clearTimeout(retryTimer);
    var url = config.stream;
    if (lastId !== null) url += (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + lastId;
    source = new EventSource(url);
    source.addEventListener("open", function () { online(); });
    source.addEventListener("state", function (message) {
      try { setState(JSON.parse(message.data)); } catch (e) { /* keep the last state */ }
      online();
    });
    source.addEventListener("waiting", function (message) {
      try { services = JSON.parse(message.data) || services; } catch (e) { return; }
      renderServices();
    });
    source.addEventListener("message", onEvent);
    source.addEventListener("error", function () {
      offline();
      if (source.readyState === 2) {
        // EventSource gave up (an error answer, e.g. during a deploy): try again ourselves.
        source.close();
        retryTimer = setTimeout(connect, 5000 + Math.random() * 5000);
      }
    });
  }

  if (config.state) setState(config.state); else renderHeadings();
  tick();
  setInterval(tick, 1000);
  setInterval(rotate, (config.headingSeconds || 6) * 1000);
  if (window.speechSynthesis) window.speechSynthesis.getVoices();  // loads the voice list
  offerSound();
  if (window.EventSource) connect();
}());
