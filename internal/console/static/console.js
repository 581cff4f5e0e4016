// The console works without this file; it adds a copy button for a new
// secret and a checkbox that ticks every row of the tokens table.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copied");
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { if (status) { status.textContent = "Copied."; } };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
          if (status) { status.textContent = "Select the text and copy it with Ctrl+C or ⌘C."; }
        });
      } else {
        field.select();
        if (status) { status.textContent = "Select the text and copy it with Ctrl+C or ⌘C."; }
      }
    });
  });
  var all = document.getElementById("select-all");
  if (all) {
    var boxes = function () { return document.querySelectorAll("#tokens tbody input[type=checkbox][name=id]"); };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
    });
  }
});
