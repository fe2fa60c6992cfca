/* The clerk's console (templates/queue/console/counter.html): keyboard shortcuts and a
   refreshed waiting list. Everything works without this file: each action is a form.
   (The Content-Security-Policy forbids inline script: this file is the way.)

   A shortcut is a button's data-shortcut letter (shown on it, announced by
   aria-keyshortcuts); it is ignored while the clerk types in a field, with a modifier
   key, or when held down. A button with data-shortcut-focus moves the focus to the
   field it needs first (the transfer's target) when that is still empty. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, select, textarea, [contenteditable]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.altKey ||
        event.metaKey || typing(event.target)) return;
    var key = (event.key || "").toLowerCase();
    if (key.length !== 1) return;
    var button = document.querySelector('[data-shortcut="' + key + '"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    var field = button.getAttribute("data-shortcut-focus");
    field = field && document.getElementById(field);
    if (field && !field.value) {
      field.focus();
      return;
    }
    if (button.form && button.form.requestSubmit) button.form.requestSubmit(button);
    else button.click();
  });

  document.documentElement.setAttribute("data-shortcuts", "on");

  /* Submitting twice (a double click, a key held) would act twice: one submit a form. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
  });

  /* The waiting list, live: the office's nudges (GET .../counters/<id>/events,
     display/live.py: something happened to a ticket or a counter) fetch it again, half a
     second after the last of a burst; the poll every data-refresh-seconds is the fallback
     while the stream is down or without EventSource. */
  var list = document.getElementById("waiting");
  if (!list || !window.fetch) return;
  var url = list.getAttribute("data-refresh-url");
  var seconds = parseInt(list.getAttribute("data-refresh-seconds"), 10) || 10;
  var timer = null, soon = null, source = null, pending = false, over = false;

  function refresh() {
    // Never replace what the clerk is using: a focused Call button stays as it is.
    if (over) return;
    if (list.contains(document.activeElement) || document.hidden) {
      pending = true;  // done when the focus leaves the list or the tab shows again
      return;
    }
    pending = false;
    fetch(url, {credentials: "same-origin", redirect: "manual",
                headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        if (!list.contains(document.activeElement)) list.innerHTML = html;
        else pending = true;
      })
      .catch(stop);
  }

  function stop() {
    over = true;
    window.clearInterval(timer);
    if (source) source.close();
  }

  function nudged() {
    window.clearTimeout(soon);
    soon = window.setTimeout(refresh, 500);
  }

  function polling(on) {
    window.clearInterval(timer);
    timer = on && !over ? window.setInterval(refresh, seconds * 1000) : null;
  }

  list.addEventListener("focusout", function () {
    window.setTimeout(function () {
      if (pending && !list.contains(document.activeElement)) nudged();
    }, 0);
  });
  document.addEventListener("visibilitychange", function () {
    if (pending && !document.hidden) nudged();
  });

  polling(true);
  if (window.EventSource && /\/waiting$/.test(url)) {
    source = new EventSource(url.replace(/\/waiting$/, "/events"));
    source.addEventListener("open", function () {
      polling(false);
      nudged();  // whatever happened while it was not connected
    });
    source.addEventListener("changed", nudged);
    source.addEventListener("error", function () { polling(true); });
  }
})();
