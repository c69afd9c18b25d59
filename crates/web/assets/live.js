// Live updates of the home page's list of alerts: the only script the pages have, and the page works without it.
// It listens to this node's live stream of alert changes and, when one arrives, fetches this same page again from
// the node and puts its new list in place of the old, so the list is always the server's own rendering (the same
// rules, language and escaping). Nothing is fetched from anywhere but the node.
(function () {
  "use strict";
  var list = document.getElementById("alerts");
  var status = document.getElementById("alerts-status");
  if (!list || !status || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  // Changes often come in bursts (an alert and its first events): one reload for a burst.
  var BURST_MS = 800;
  // When the node refuses the stream (it serves a limited number) or it drops, listen again after this long.
  var RETRY_MS = 60000;
  var pending = null;
  var source = null;

  function refresh() {
    pending = null;
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("alerts");
        if (!fresh) {
          return;
        }
        list.innerHTML = fresh.innerHTML;
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

  function listen() {
    source = new EventSource("/api/v1/events?kind=alert");
    source.addEventListener("change", function () {
      if (pending === null) {
        pending = window.setTimeout(refresh, BURST_MS);
      }
    });
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
})();
