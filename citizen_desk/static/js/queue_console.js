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

  var list = document.getElementById("waiting");
  if (!list || !window.fetch) return;
  var url = list.getAttribute("data-refresh-url");
  var seconds = parseInt(list.getAttribute("data-refresh-seconds"), 10) || 10;

  function refresh() {
    // Never replace what the clerk is using: a focused Call button stays as it is.
    if (list.contains(document.activeElement) || document.hidden) return;
    fetch(url, {credentials: "same-origin", redirect: "manual",
                headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        if (!list.contains(document.activeElement)) list.innerHTML = html;
      })
      .catch(function () { window.clearInterval(timer); });
  }
  var timer = window.setInterval(refresh, seconds * 1000);
})();
