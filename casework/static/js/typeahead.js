// Type-ahead for long pickers (countries): a text box that filters the options of a
// <select data-typeahead> as people type, in the WAI-ARIA combobox pattern (list box, arrow
// keys, Enter, Escape). The select stays in the form, hidden, and is what is submitted; without
// JavaScript it is a plain select. Matching ignores accents and case and finds the start of any
// word ("kingdom" finds United Kingdom, "emirats" finds Émirats arabes unis).
(function () {
  "use strict";
  var MAX_SHOWN = 60;
  var counter = 0;

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function matches(option, query) {
    if (!query) { return true; }
    if (option.key.indexOf(query) === 0) { return true; }
    return option.key.indexOf(" " + query) >= 0 || option.key.indexOf("-" + query) >= 0 ||
      option.key.indexOf("(" + query) >= 0;
  }

  function enhance(select) {
    counter += 1;
    var label = document.querySelector("label[for='" + select.id + "']");
    var options = Array.prototype.map.call(select.options, function (o) {
      return { value: o.value, text: o.text, key: fold(o.text) };
    });
    var blank = options.filter(function (o) { return o.value === ""; })[0];
    var wrapper = document.createElement("div");
    wrapper.className = "typeahead";
    var input = document.createElement("input");
    input.type = "text";
    input.id = select.id + "-typeahead";
    input.className = "typeahead-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    ["aria-describedby", "aria-invalid", "aria-required"].forEach(function (name) {
      if (select.hasAttribute(name)) { input.setAttribute(name, select.getAttribute(name)); }
    });
    if (blank) { input.placeholder = blank.text; }
    var list = document.createElement("ul");
    list.id = select.id + "-options-" + counter;
    list.className = "typeahead-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    if (label) {
      if (!label.id) { label.id = select.id + "-label"; }
      label.htmlFor = input.id;
      list.setAttribute("aria-labelledby", label.id);
    }
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    select.parentNode.insertBefore(wrapper, select);
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;

    var shown = [];
    var active = -1;

    function current() {
      var chosen = select.options[select.selectedIndex];
      return chosen && chosen.value !== "" ? chosen.text : "";
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.children;
      if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
      active = index;
      if (active >= 0 && items[active]) {
        items[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[active].id);
        items[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      var query = fold(input.value.trim());
      shown = options.filter(function (o) { return o.value !== "" && matches(o, query); }).slice(0, MAX_SHOWN);
      list.textContent = "";
      shown.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.text;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { pick(option); });
        list.appendChild(item);
      });
      list.hidden = shown.length === 0;
      input.setAttribute("aria-expanded", shown.length ? "true" : "false");
      active = -1;
      if (shown.length && query) { highlight(0); }
    }

    function pick(option) {
      var changed = select.value !== option.value;
      select.value = option.value;
      input.value = option.value === "" ? "" : option.text;
      close();
      if (changed) { select.dispatchEvent(new Event("change", { bubbles: true })); }
    }

    // Leaving the box: an exact name is taken, an empty box clears the answer, anything else
    // goes back to the answer already chosen (never a half-typed word taken for a country).
    function settle() {
      var text = fold(input.value.trim());
      if (!text) {
        if (blank) { pick(blank); } else { input.value = current(); close(); }
        return;
      }
      var exact = options.filter(function (o) { return o.value !== "" && o.key === text; })[0];
      if (exact) { pick(exact); } else { input.value = current(); close(); }
    }

    input.value = current();
    input.addEventListener("input", open);
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("blur", settle);
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { open(); }
        highlight(Math.min(active + 1, shown.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault();  // choosing a country does not submit the form
          pick(shown[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); }
        input.value = current();
        close();
      }
    });
    select.addEventListener("change", function () {
      if (document.activeElement !== input) { input.value = current(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-typeahead]").forEach(enhance);
  });
})();
