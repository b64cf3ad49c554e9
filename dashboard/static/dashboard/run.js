// The ingest run page: polls the run's JSON status about once a second and
// updates the page; when the run ends well it opens the playlist's dashboard
// (a file import of several playlists has none: the page reloads to list
// them), otherwise it reloads so that the server shows the error and "Try again".
// Data comes from the page (json_script and data-* attributes), never inline JS.
(function () {
  "use strict";

  var root = document.getElementById("run");
  var dataNode = document.getElementById("run-status-data");
  if (!root || !dataNode) return;

  var statusUrl = root.dataset.statusUrl;
  var initial = JSON.parse(dataNode.textContent);
  var POLL_MS = 1000;
  var MAX_BACKOFF_MS = 15000;
  var delay = POLL_MS;

  // A run that was already over when the page was rendered: nothing to follow.
  if (initial.final) return;

  function setField(name, value) {
    root.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) {
      // Counts as the server writes them (intcomma): 10,000, not 10000.
      if (value === null || value === undefined) node.textContent = "";
      else node.textContent = typeof value === "number" ? value.toLocaleString("en-US") : String(value);
    });
  }

  function show(name, visible) {
    root.querySelectorAll('[data-show="' + name + '"]').forEach(function (node) {
      node.hidden = !visible;
    });
  }

  function setProgress(name, done, total) {
    var bar = root.querySelector('[data-progress="' + name + '"]');
    if (!bar) return;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
  }

  function localTime(iso) {
    var when = new Date(iso);
    return isNaN(when) ? "" : when.toLocaleTimeString();
  }

  function render(status) {
    var badge = root.querySelector('[data-field="status_label"]');
    if (badge) {
      badge.className = "badge badge-" + status.status;
      badge.dataset.status = status.status;
    }
    [
      "status_label", "step_label", "attempt", "max_attempts", "items_fetched",
      "items_total", "artists_done", "artists_total", "files_done", "files_total",
      "playlists_done", "playlists_total", "rate_limit_waits", "error",
    ].forEach(function (name) { setField(name, status[name]); });

    show("step", Boolean(status.step) && !status.final);
    // "Attempt 1 of 5" on a run that works the first time is noise: only retries say it.
    show("attempt", status.attempt > 1);
    show("items", status.items_total > 0);
    show("artists", status.artists_total > 0);
    setProgress("items", status.items_fetched, status.items_total);
    setProgress("artists", status.artists_done, status.artists_total);
    // A folder shows its files; a single file only its playlists.
    show("files", status.files_total > 1);
    show("playlists", status.playlists_total > 0);
    setProgress("files", status.files_done, status.files_total);
    setProgress("playlists", status.playlists_done, status.playlists_total);

    show("waiting", status.waiting);
    var until = root.querySelector('[data-field="not_before"]');
    if (until && status.not_before) {
      until.setAttribute("datetime", status.not_before);
      until.textContent = localTime(status.not_before);
    }
  }

  function finish(status) {
    if (status.done && status.playlist_url) {
      window.location.assign(status.playlist_url);
    } else {
      window.location.reload();
    }
  }

  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404 || response.redirected) {
          throw new Error("stop");  // gone, or signed out: following it makes no sense
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (status) {
        delay = POLL_MS;
        render(status);
        if (status.final) {
          finish(status);
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function (error) {
        if (error.message === "stop") return;
        // A hiccup (server restarting, network): keep trying, less often.
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
        window.setTimeout(poll, delay);
      });
  }

  render(initial);
  window.setTimeout(poll, POLL_MS);
})();
