// Every page: a cover image that fails to load becomes the same ♪ placeholder as a
// playlist without art (an error listener here: the CSP forbids inline onerror).
(function () {
  "use strict";

  function placeholder(image) {
    var box = document.createElement("div");
    box.className = image.className + " cover-empty";
    box.setAttribute("aria-hidden", "true");
    box.textContent = "♪";
    image.replaceWith(box);
  }

  // Capture: error events do not bubble. Images that failed before this ran
  // (complete, but with no size) are replaced on load.
  document.addEventListener(
    "error",
    function (event) {
      if (event.target.matches && event.target.matches("img[data-cover]")) placeholder(event.target);
    },
    true
  );
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("img[data-cover]").forEach(function (image) {
      if (image.complete && !image.naturalWidth) placeholder(image);
    });
  });
})();
