// The playlist dashboard: draws its charts and makes the track table update in place.
// Charts use the vendored Chart.js 4.6.1 (static/vendor/chartjs/, no CDN, no build step).
// Data arrives only through the page's JSON script (#chart-data); nothing is spliced
// into JavaScript. Without JavaScript the value tables and the plain-link table still work.
(function () {
  "use strict";

  var ACCENT = "#1a7f4b";
  var MUTED = "#9aa3b2";

  function drawChart(spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas || !window.Chart) return;
    var colors = spec.labels.map(function (label) {
      return label === spec.highlight ? MUTED : ACCENT;
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ label: spec.unit, data: spec.values, backgroundColor: colors }],
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.formattedValue + " " + spec.unit;
              },
            },
          },
        },
        scales: {
          // Counts of tracks are whole numbers: no 0.5 ticks on the value axis.
          x: {
            ticks: { autoSkip: !spec.horizontal, maxRotation: 60, precision: 0 },
            beginAtZero: true,
          },
          y: { ticks: { autoSkip: false, precision: 0 }, beginAtZero: true },
        },
      },
    });
  }

  function drawCharts() {
    var element = document.getElementById("chart-data");
    if (!element) return;
    JSON.parse(element.textContent).charts.forEach(drawChart);
  }

  // --- the track table: same URLs as without JavaScript, answered by the fragment view.
  var pending = null;

  function loadTable(search, push) {
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
    drawCharts();
    var section = document.getElementById("tracks");
    if (!section) return;
    section.addEventListener("click", onClick);
    section.addEventListener("submit", onSubmit);
    window.addEventListener("popstate", function () {
      loadTable(window.location.search, false);
    });
  });
})();
