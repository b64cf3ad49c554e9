// My playlists: follows the page's queued and running runs live, through one JSON
// request for the whole page (dashboard:home-runs with every active run's id), not
// one per card. A badge changes as its run does; once a run is over the page
// reloads, so the server shows the card (tracks, or the "needs attention" strip).
(function () {
  "use strict";

  var POLL_MS = 1500;
  var MAX_BACKOFF_MS = 15000;
  var delay = POLL_MS;

  function activeBadges() {
    return Array.prototype.slice.call(document.querySelectorAll(".badge[data-run-id][data-active]"));
  }

  function statusUrl(badges) {
    var root = document.getElementById("playlist-list") || document.body;
    var params = new URLSearchParams();
    badges.forEach(function (badge) {
      params.append("run", badge.dataset.runId);
    });
    return root.dataset.runsUrl + "?" + params.toString();
  }

  function update(runs) {
    var over = false;
    runs.forEach(function (run) {
      document.querySelectorAll('.badge[data-run-id="' + run.id + '"]').forEach(function (badge) {
        badge.className = "badge badge-" + run.status;
        badge.textContent = run.status_label;
      });
      if (run.final) over = true;
    });
    return over;
  }

  function poll() {
    var badges = activeBadges();
    if (!badges.length) return;
    fetch(statusUrl(badges), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) throw new Error("stop"); // signed out
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        delay = POLL_MS;
        if (update(data.runs)) {
          window.location.reload();
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function (error) {
        if (error.message === "stop") return;
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
        window.setTimeout(poll, delay);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (activeBadges().length) window.setTimeout(poll, POLL_MS);
  });
})();
