// The console's own behaviour, loaded from /console/assets (the Content-Security-Policy
// allows no inline script). Every page works without it; it adds copy buttons, "select
// all" in lists, and reading a chosen CSV file into the import form.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      button.textContent = "Copied";
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        source.select && source.select();
      });
    } else if (source.select) {
      source.select();
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("input[data-select-all]");
    if (all) {
      var form = all.form;
      form.querySelectorAll("input[name='id']").forEach(function (box) {
        box.checked = all.checked;
      });
      return;
    }
    var file = event.target.closest("input[type='file'][data-fill]");
    if (file && file.files && file.files[0]) {
      var target = document.getElementById(file.getAttribute("data-fill"));
      var reader = new FileReader();
      reader.onload = function () {
        target.value = reader.result;
      };
      reader.readAsText(file.files[0]);
    }
  });

  onReady(function () {
    document.documentElement.classList.add("js");
  });
})();
