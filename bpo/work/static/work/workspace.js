// The agent workspace's keyboard shortcuts and canned-response picker. A plain static file (the
// Content-Security-Policy allows no inline script); the page declares what each key does:
//   data-shortcut="g" on a button or link clicks it; on a form or box, focuses its text field.
//   "?" opens the dialog #shortcuts-help. Keys rest while the person types in a field, except
//   Ctrl/Cmd+Enter (send the form) and Escape (leave the field).
//   form[data-canned-for] inserts the chosen <template id="canned-N"> into the named text box.
//   #open-elsewhere[data-session-end]: the item page's work session. htmx sends the heartbeat
//   (hx-post every 30 s, answered with the "also has this item open" banner); leaving the page
//   ends the session with a beacon, which the browser sends even as the page goes away.
(function () {
  "use strict";

  var FIELD = "textarea, select, input:not([type=button]):not([type=submit]):not([type=reset])" +
    ":not([type=checkbox]):not([type=radio]):not([type=hidden])";

  function isField(element) {
    return !!element && (element.isContentEditable || element.matches(FIELD));
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && window.bootstrap) {
      window.bootstrap.Modal.getOrCreateInstance(dialog).show();
    }
  }

  function activate(target) {
    var field = isField(target) ? target : target.querySelector(FIELD);
    if (target.matches("button, a, input[type=submit]")) {
      target.click();
    } else if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
  }

  document.addEventListener("keydown", function (event) {
    var active = event.target;
    if (isField(active)) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && active.form) {
        event.preventDefault();
        active.form.requestSubmit();
      } else if (event.key === "Escape" && !document.querySelector(".modal.show")) {
        active.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing || event.repeat) {
      return;
    }
    if (document.querySelector(".modal.show")) {
      return; // the dialog has the keyboard (Bootstrap closes it on Escape)
    }
    if (event.key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (target) {
      event.preventDefault();
      activate(target);
    }
  });

  // Insert text into a box where the cursor is (replacing a selection), as typing would.
  function insert(box, text) {
    var start = box.selectionStart, end = box.selectionEnd;
    var before = box.value.slice(0, start);
    var separator = before && !/\s$/.test(before) ? "\n" : "";
    box.setRangeText(separator + text, start, end, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  }

  document.querySelectorAll("form[data-canned-for]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var box = document.getElementById(form.dataset.cannedFor);
      var choice = form.querySelector("select");
      var template = choice && document.getElementById("canned-" + choice.value);
      if (!box || !template) {
        return; // without the text at hand, the server fills the box (?canned=id)
      }
      event.preventDefault();
      insert(box, template.content.textContent);
      choice.value = "";
    });
  });

  // After a refused form, the cursor goes where the reason is (the typed text is still there).
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("textarea.is-invalid, input.is-invalid, select.is-invalid");
    if (invalid) {
      invalid.focus();
    }
  });

  // Leaving the item page ends the work session (reloading it starts a new one). A beacon
  // carries no headers, so the CSRF token goes in the form body.
  window.addEventListener("pagehide", function () {
    var banner = document.getElementById("open-elsewhere");
    if (!banner || !banner.dataset.sessionEnd || !navigator.sendBeacon) {
      return;
    }
    var body = new FormData();
    body.append("csrfmiddlewaretoken", banner.dataset.csrf);
    navigator.sendBeacon(banner.dataset.sessionEnd, body);
  });
})();
