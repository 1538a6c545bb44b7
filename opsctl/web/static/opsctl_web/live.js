// opsctl dashboard: live progress of queued and running runs, by polling (the pages read
// fine without it: a reload shows the same).
(function () {
  "use strict";
  var INTERVAL = 1000;
  function poll() {
    var meters = document.querySelectorAll("[data-progress-url]");
    if (!meters.length) { return; }
    var ids = [];
    meters.forEach(function (m) { ids.push(m.getAttribute("data-run")); });
    var url = meters[0].getAttribute("data-progress-url").split("?")[0] + "?ids=" + ids.join(",");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (found) {
        meters.forEach(function (m) {
          var one = found[m.getAttribute("data-run")];
          if (!one) { return; }
          var p = one.progress, bar = m.querySelector("progress"), text = m.querySelector(".live-text");
          if (p && p.percent !== null) { bar.value = p.percent; }
          text.textContent = p ? p.text : (one.status === "queued" ? "waiting for a worker" : "no batch yet");
          m.setAttribute("data-status", one.status);
          if (one.status !== "running" && one.status !== "queued") {
            text.textContent += " — " + one.status + " (reload for the outcome)";
            m.removeAttribute("data-progress-url");
          }
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, INTERVAL); });
  }
  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, INTERVAL); });
})();
