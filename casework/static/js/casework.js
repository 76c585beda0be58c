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
    // Panels folded for phones (the case list's filters) open by themselves on wider screens.
    if (window.matchMedia("(min-width: 48rem)").matches) {
      document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
    }
    // A table wider than the screen scrolls in its box: let the keyboard reach and scroll it,
    // and name the region after the table's caption.
    var markScrollable = function () {
      document.querySelectorAll(".table-wrap").forEach(function (wrap) {
        if (wrap.scrollWidth > wrap.clientWidth + 1) {
          wrap.tabIndex = 0;
          wrap.setAttribute("role", "region");
          var caption = wrap.querySelector("caption");
          if (caption) { wrap.setAttribute("aria-label", caption.textContent.trim()); }
        } else if (wrap.getAttribute("role") === "region") {
          wrap.removeAttribute("tabindex");
          wrap.removeAttribute("role");
          wrap.removeAttribute("aria-label");
        }
      });
    };
    markScrollable();
    var resizing = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(markScrollable, 150);
    });
    // Print buttons.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
