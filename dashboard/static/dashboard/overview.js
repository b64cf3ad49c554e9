// The overview: draws its charts with the vendored Chart.js 4.6.1 (static/vendor/chartjs/).
// Data arrives only through the page's JSON script (#chart-data).
(function () {
  "use strict";

  var ACCENT = "#1a7f4b";
  var MUTED = "#9aa3b2";

  function drawChart(spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas || !window.Chart) return;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [
          {
            label: spec.unit,
            data: spec.values,
            backgroundColor: spec.labels.map(function (label) {
              return label === spec.highlight ? MUTED : ACCENT;
            }),
          },
        ],
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        // Whole-number counts: no 0.5 ticks.
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("chart-data");
    if (element) JSON.parse(element.textContent).charts.forEach(drawChart);
  });
})();
