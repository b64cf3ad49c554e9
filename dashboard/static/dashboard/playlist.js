// The playlist dashboard: draws its charts (charts.js), makes the track table update
// in place, and lets a click on a bar filter the table.
// Data arrives only through the page's JSON script (#chart-data); nothing is spliced
// into JavaScript. Without JavaScript the value tables and the plain-link table still work.
(function () {
  "use strict";

  // A click on a bar lists its tracks: the table's filter (artist, genre, decade,
  // year, length) replaces any other chart filter; search and sort stay.
  var FILTERS = ["artist", "genre", "decade", "year", "minutes"];

  function filterTable(spec, index) {
    var container = document.getElementById("track-table");
    if (!container) return;
    var params = new URLSearchParams(window.location.search);
    FILTERS.forEach(function (name) {
      params.delete(name);
    });
    params.delete("page");
    params.set(spec.filter, String(spec.filter_values[index]));
    loadTable("?" + params.toString(), true, true);
  }

  // --- the track table: same URLs as without JavaScript, answered by the fragment view.
  var pending = null;

  function loadTable(search, push, scroll) {
    var container = document.getElementById("track-table");
    if (!container) return;
    var pageUrl = container.dataset.pageUrl;
    if (pending) pending.abort();
    pending = new AbortController();
    container.setAttribute("aria-busy", "true");
    fetch(container.dataset.tracksUrl + search, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      signal: pending.signal,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        // Server-rendered and autoescaped: the same fragment the page itself includes.
        container.outerHTML = html;
        if (scroll) document.getElementById("tracks").scrollIntoView({ block: "start" });
        if (push) history.pushState({ table: search }, "", pageUrl + search + "#tracks");
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        window.location.assign(pageUrl + search + "#tracks"); // fall back to a page load
      });
  }

  function searchOf(form) {
    var params = new URLSearchParams(new FormData(form));
    if (!params.get("q")) params.delete("q");
    return "?" + params.toString();
  }

  function onClick(event) {
    var link = event.target.closest("a[data-table-link]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    loadTable(new URL(link.href).search, true);
  }

  function onSubmit(event) {
    var form = event.target.closest(".track-search");
    if (!form) return;
    event.preventDefault();
    loadTable(searchOf(form), true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.PlaylistCharts) window.PlaylistCharts.drawAll(filterTable);
    var section = document.getElementById("tracks");
    if (!section) return;
    section.addEventListener("click", onClick);
    section.addEventListener("submit", onSubmit);
    window.addEventListener("popstate", function () {
      loadTable(window.location.search, false);
    });
  });
})();
