// The upload form: says what a quick look at the chosen file can tell (its type,
// size, emptiness, whether it looks like an export) before anything is sent or
// queued. The server checks the same again (dashboard.forms, views.uploads): this
// only spares a round trip. Nothing is read beyond the first bytes.
(function () {
  "use strict";

  var SUFFIXES = [".zip", ".json", ".csv"];
  var MPD_SLICE = /^mpd\.slice\.\d+-\d+\.json$/i;
  var PEEK_BYTES = 512;

  function problemOf(file, maxBytes, head) {
    var name = file.name;
    var lower = name.toLowerCase();
    if (MPD_SLICE.test(name)) {
      return name + " is a Million Playlist Dataset slice: import the dataset with `manage.py ingest <folder>` on the server, not through this page.";
    }
    if (!SUFFIXES.some(function (suffix) { return lower.endsWith(suffix); })) {
      return name + " is not a file this page imports: upload a Spotify export (.zip or .json) or an Exportify CSV (.csv).";
    }
    if (file.size === 0) return name + " is empty.";
    if (maxBytes && file.size > maxBytes) {
      return name + " is " + (file.size / 1048576).toFixed(1) + " MB, over the upload limit of " + (maxBytes / 1048576).toFixed(1) + " MB. Upload Playlist1.json rather than the whole ZIP, or import the file with `manage.py ingest`.";
    }
    var text = head.replace(/^\uFEFF/, "").trimStart();
    if (lower.endsWith(".zip") && !head.startsWith("PK")) {
      return name + " is not a ZIP file: upload the ZIP of your Spotify data as you downloaded it, or Playlist1.json from inside it.";
    }
    if (lower.endsWith(".json") && text && text[0] !== "{" && text[0] !== "[") {
      return name + " is not JSON: upload Playlist1.json from your Spotify data export.";
    }
    if (lower.endsWith(".csv") && text && text.indexOf(",") === -1) {
      return name + " does not look like a CSV (no comma in its first line): upload a CSV from Exportify.";
    }
    return "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("id_file");
    var note = document.getElementById("file-peek");
    if (!input || !note) return;
    var form = input.form;
    var maxBytes = parseFloat(input.dataset.maxMegabytes || "0") * 1048576;
    var problem = "";

    function show(message) {
      problem = message;
      note.textContent = message;
      note.hidden = !message;
      input.setAttribute("aria-invalid", message ? "true" : "false");
    }

    input.addEventListener("change", function () {
      show("");
      var file = input.files && input.files[0];
      if (!file) return;
      file
        .slice(0, PEEK_BYTES)
        .text()
        .then(function (head) {
          show(problemOf(file, maxBytes, head));
        })
        .catch(function () {
          show("");  // cannot peek: the server will say
        });
    });

    form.addEventListener("submit", function (event) {
      if (problem) {
        event.preventDefault();
        input.focus();
      }
    });
  });
})();
