/* The kiosk's few scripts; every screen works without them.
   - One tap = one ticket: a form marked [data-once] is sent once, then its buttons are
     disabled (after the submission took the pressed button's name along).
   - The ticket ([data-print-ticket]) is printed once: Chromium started with
     --kiosk --kiosk-printing prints without a dialog.
   - After data-idle-seconds without a touch or a key, back to the start screen (without
     script a <noscript> refresh does it, whatever the citizen is doing).
   - The check-in box ([data-keep-focus]) keeps the focus, so that a QR scanner acting as
     a keyboard types into it. */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-once]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      window.setTimeout(function () {
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
          button.disabled = true;
        });
      }, 0);
    });
  });

  var ticket = document.querySelector("[data-print-ticket]");
  if (ticket) {
    var key = "cd-kiosk-printed-" + ticket.getAttribute("data-print-ticket");
    var printed = false;
    try { printed = window.sessionStorage.getItem(key) === "1"; } catch (e) { printed = false; }
    if (!printed) {
      try { window.sessionStorage.setItem(key, "1"); } catch (e) { /* private mode */ }
      window.addEventListener("load", function () { window.print(); });
    }
  }

  var idle = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var home = document.body.getAttribute("data-idle-url");
  if (idle > 0 && home) {
    var timer = null;
    var wait = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { window.location.assign(home); }, idle * 1000);
    };
    ["pointerdown", "keydown", "input"].forEach(function (name) {
      document.addEventListener(name, wait, true);
    });
    wait();
  }

  var scan = document.querySelector("[data-keep-focus]");
  if (scan) {
    scan.focus();
    window.setInterval(function () {
      if (document.activeElement === document.body || document.activeElement === null) {
        scan.focus();
      }
    }, 1500);
  }
})();
