// casework front-end behaviour. No inline script anywhere (the CSP forbids it); everything works
// without JavaScript too — this file only adds comfort.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // Language picker submits on change (a visible button exists when JS is off).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // Move focus to the error summary so screen readers announce it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    // Confirmation for destructive actions.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // "Not asked or not known" and the answers beside it exclude each other (the server
    // refuses both; this only saves a round trip): ticking one side clears the other.
    document.querySelectorAll("input[data-excludes]").forEach(function (box) {
      var group = document.getElementById(box.getAttribute("data-excludes"));
      if (!group) { return; }
      var answers = Array.prototype.filter.call(
        group.querySelectorAll("input[type=checkbox], select"),
        function (input) { return input !== box; }
      );
      box.addEventListener("change", function () {
        if (!box.checked) { return; }
        answers.forEach(function (input) {
          if (input.tagName === "SELECT") {
            input.value = "";
            input.dispatchEvent(new Event("change", { bubbles: true }));  // a type-ahead box follows
          } else {
            input.checked = false;
          }
        });
      });
      answers.forEach(function (input) {
        input.addEventListener("change", function () {
          if (input.tagName === "SELECT" ? input.value !== "" : input.checked) { box.checked = false; }
        });
      });
    });
    // Print buttons.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
