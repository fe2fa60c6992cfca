/* The proof-of-work widget (templates/core/_challenge.html, core/challenge.py).
   ALTCHA's "external" build (static/vendor/altcha/altcha.min.js, loaded just
   before this file) injects no <style> and makes no blob: worker, which the
   Content-Security-Policy would refuse; here its SHA-256 worker is given as a
   file of this origin, and its texts are replaced by ours, in the page's
   language, which the template passes in data-strings. */
const registry = globalThis.$altcha;
if (registry) {
  const worker = new URL("../vendor/altcha/workers/sha.js", import.meta.url);
  registry.algorithms.set("SHA-256", () => new Worker(worker));
  for (const widget of document.querySelectorAll("altcha-widget[data-strings]")) {
    const language = widget.getAttribute("language") || document.documentElement.lang;
    try {
      const strings = JSON.parse(widget.dataset.strings);
      registry.i18n.set(language, Object.assign({}, registry.i18n.get("en"),
                                                registry.i18n.get(language), strings));
    } catch (error) {
      console.error("altcha strings", error);
    }
  }
}
