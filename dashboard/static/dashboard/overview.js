// The overview: draws its charts with the site's one helper (charts.js).
// Data arrives only through the page's JSON script (#chart-data).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (window.PlaylistCharts) window.PlaylistCharts.drawAll(null);
  });
})();
