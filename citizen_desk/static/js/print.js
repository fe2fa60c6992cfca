/* A "Print" button ([data-print]) prints the page. The button is hidden in the
   HTML and shown here, so that without script nobody sees a button that does
   nothing; the page's hint tells them to use the browser's own print command.
   (The Content-Security-Policy forbids inline script: this file is the way.) */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();
