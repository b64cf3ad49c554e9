// The site's bar charts: one palette and one drawing helper for every page script
// (playlist.js, overview.js), on the vendored Chart.js 4.6.1 (static/vendor/chartjs/).
// A chart's spec comes from the server (dashboard.views.analytics._chart): labels,
// values, unit, axis titles, and the track-table filter a click on a bar sets.
// A new chart needs no code here: a spec, and optionally a colour in CHART_COLORS.
(function () {
  "use strict";

  // Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/).
  var PALETTE = {
    blue: "#0072B2",
    green: "#009E73",
    orange: "#E69F00",
    vermillion: "#D55E00",
    purple: "#CC79A7",
    sky: "#56B4E9",
    yellow: "#F0E442",
    black: "#000000",
  };
  // The same chart has the same colour on every page.
  var CHART_COLORS = {
    artists: PALETTE.blue,
    genres: PALETTE.green,
    decades: PALETTE.orange,
    years: PALETTE.vermillion,
    durations: PALETTE.purple,
    timeline: PALETTE.sky,
    size: PALETTE.blue,
  };
  var ORDER = ["blue", "green", "orange", "vermillion", "purple", "sky", "black"];

  function colorOf(spec, index) {
    return CHART_COLORS[spec.id] || PALETTE[ORDER[index % ORDER.length]];
  }

  function axisTitle(text) {
    return { display: Boolean(text), text: text || "", font: { weight: "600" } };
  }

  // Draws `spec` on its canvas (#chart-<id>); `onBarClick(spec, index)` if given and
  // the spec is filterable. Returns the Chart, or null if there is nothing to draw on.
  function drawBarChart(spec, index, onBarClick) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas || !window.Chart) return null;
    var clickable = Boolean(onBarClick && spec.filterable);
    var categoryAxis = {
      title: axisTitle(spec.category_title),
      ticks: { autoSkip: !spec.horizontal, maxRotation: 60 },
    };
    var valueAxis = {
      title: axisTitle(spec.value_title),
      beginAtZero: true,
      ticks: { precision: 0 }, // counts are whole numbers: no 0.5 ticks
    };
    if (clickable) canvas.dataset.clickable = "true";
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ label: spec.unit, data: spec.values, backgroundColor: colorOf(spec, index) }],
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
                return item.formattedValue + " " + spec.unit + (clickable ? " (click to list them)" : "");
              },
            },
          },
        },
        scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        onHover: function (event, elements) {
          if (clickable) event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (clickable && elements.length) onBarClick(spec, elements[0].index);
        },
      },
    });
  }

  // Every chart of the page's #chart-data block.
  function drawAll(onBarClick) {
    var element = document.getElementById("chart-data");
    if (!element) return [];
    return JSON.parse(element.textContent).charts.map(function (spec, index) {
      return drawBarChart(spec, index, onBarClick);
    });
  }

  window.PlaylistCharts = { PALETTE: PALETTE, CHART_COLORS: CHART_COLORS, drawBarChart: drawBarChart, drawAll: drawAll };
})();
