// Live updates: the only script the pages have, and every page works without it. A page marks what may change
// with `data-live` (each such element has an id) and names its node's live stream on one element with
// `data-stream`. When a change arrives, the script fetches this same page again from the node and puts each fresh
// `data-live` element in place of the old one, so what is shown is always the server's own rendering (the same
// rules, language and escaping); forms outside those elements keep what the reader typed. With `data-every`
// (seconds), it also fetches the page that often, for what changes without a record changing (the time left
// before an escalation, the link to the parent). Nothing is fetched from anywhere but the node.
(function () {
  "use strict";
  var status = document.querySelector("[data-stream]");
  if (!status || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  // Changes often come in bursts (an alert and its first events): one reload for a burst.
  var BURST_MS = 800;
  // When the node refuses the stream (it serves a limited number) or it drops, listen again after this long.
  var RETRY_MS = 60000;
  var every = parseInt(status.getAttribute("data-every") || "0", 10);
  var pending = null;
  var source = null;
  var here = window.location.pathname + window.location.search;

  function refresh() {
    pending = null;
    fetch(here, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) {
          // Signed out or the session ended: show the reader where they were sent.
          window.location.assign(response.url);
          throw new Error("redirected");
        }
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var regions = document.querySelectorAll("[data-live]");
        for (var i = 0; i < regions.length; i++) {
          var replacement = regions[i].id && fresh.getElementById(regions[i].id);
          if (replacement) {
            regions[i].innerHTML = replacement.innerHTML;
          }
        }
        status.textContent = status.getAttribute("data-updated") + " " +
          new Date().toLocaleTimeString(document.documentElement.lang, {
            hour: "2-digit",
            minute: "2-digit",
            hourCycle: "h23",
            // The pages give every time in Pakistan Standard Time, whatever the reader's device is set to.
            timeZone: "Asia/Karachi"
          });
      })
      .catch(function () {
        // The node may be restarting; the next change, or the reader, will try again.
      });
  }

  function soon() {
    if (pending === null) {
      pending = window.setTimeout(refresh, BURST_MS);
    }
  }

  function listen() {
    source = new EventSource(status.getAttribute("data-stream"));
    source.addEventListener("change", soon);
    source.addEventListener("notified", soon);
    source.addEventListener("break_glass", soon);
    source.addEventListener("lagged", refresh);
    source.onerror = function () {
      // A closed stream is not retried by the browser: try again later, and catch up on what was missed.
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        window.setTimeout(function () {
          listen();
          refresh();
        }, RETRY_MS);
      }
    };
  }

  listen();
  if (every > 0) {
    window.setInterval(refresh, every * 1000);
  }
})();
