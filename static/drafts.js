/* A form that expired (its page was open while the person signed in again in another tab)
   gets its input back. When a form in a page's <main> is posted, what was typed in its
   visible fields is kept in this tab's sessionStorage under the page's address; never a
   password, a file, a hidden field or the CSRF token. The expired-form page (403_csrf.html,
   data-form-expired="<the form's address>") marks that address to be restored; the form's
   page, opened again, puts the values back and says so. Any other page drops the draft, so
   nothing typed stays in the browser after the form's answer has come.
   A static file, since the Content-Security-Policy allows no inline script. */
"use strict";
(function () {
  var DRAFT = "vpadmin.draft";
  var RESTORE = "vpadmin.draft.restore";
  var script = document.currentScript;
  var restoredNotice = (script && script.dataset.restored) || "";
  var store;
  try {
    store = window.sessionStorage;
  } catch (error) {
    return; // storage refused (private mode, policy): the page works as it did
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  function postForms() {
    var main = document.querySelector("main");
    if (!main) {
      return [];
    }
    return Array.prototype.filter.call(main.querySelectorAll("form"), function (form) {
      return (form.getAttribute("method") || "").toLowerCase() === "post";
    });
  }

  var SKIPPED = ["password", "hidden", "file", "submit", "button", "reset", "image"];

  function kept(field) {
    if (!field.name || field.name === "csrfmiddlewaretoken" || field.disabled) {
      return false;
    }
    if (field.tagName === "SELECT" || field.tagName === "TEXTAREA") {
      return true;
    }
    return field.tagName === "INPUT" && SKIPPED.indexOf((field.type || "").toLowerCase()) < 0;
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, kept);
  }

  function save(form) {
    var forms = postForms();
    var index = forms.indexOf(form);
    if (index < 0) {
      return;
    }
    var values = fieldsOf(form).map(function (field) {
      if (field.type === "checkbox" || field.type === "radio") {
        return [field.name, field.value, field.checked];
      }
      if (field.tagName === "SELECT") {
        var chosen = Array.prototype.filter.call(field.options, function (option) {
          return option.selected;
        });
        return [field.name, chosen.map(function (option) { return option.value; })];
      }
      return [field.name, field.value];
    });
    if (!values.length) {
      return; // nothing typed that may be kept (a form of passwords only, or of buttons)
    }
    var draft = { path: here(), form: index, action: form.getAttribute("action"), values: values };
    try {
      store.setItem(DRAFT, JSON.stringify(draft));
    } catch (error) {
      // full or refused: the form is posted all the same
    }
  }

  function fill(form, values) {
    // Each value goes back into the first unused field of its name (and, for a checkbox or
    // radio button, its value); how many fields got something typed back is the answer.
    var fields = fieldsOf(form);
    var used = [];
    var typed = 0;
    values.forEach(function (entry) {
      var name = entry[0];
      var field = fields.filter(function (candidate) {
        if (candidate.name !== name || used.indexOf(candidate) >= 0) {
          return false;
        }
        var choice = candidate.type === "checkbox" || candidate.type === "radio";
        return choice ? entry.length === 3 && candidate.value === entry[1] : entry.length === 2;
      })[0];
      if (!field) {
        return;
      }
      used.push(field);
      if (entry.length === 3) {
        typed += field.checked !== Boolean(entry[2]) ? 1 : 0;
        field.checked = Boolean(entry[2]);
      } else if (field.tagName === "SELECT") {
        var chosen = Array.isArray(entry[1]) ? entry[1] : [entry[1]];
        Array.prototype.forEach.call(field.options, function (option) {
          typed += option.selected !== chosen.indexOf(option.value) >= 0 ? 1 : 0;
          option.selected = chosen.indexOf(option.value) >= 0;
        });
      } else {
        typed += field.value !== String(entry[1]) ? 1 : 0;
        field.value = String(entry[1]);
      }
    });
    return typed;
  }

  function notice() {
    if (!restoredNotice) {
      return;
    }
    var main = document.querySelector("main");
    var line = document.createElement("p");
    line.className = "msg";
    line.setAttribute("role", "status");
    line.textContent = restoredNotice;
    main.insertBefore(line, main.firstChild);
  }

  function onShow() {
    var expired = document.querySelector("[data-form-expired]");
    if (expired) {
      try {
        store.setItem(RESTORE, expired.dataset.formExpired);
      } catch (error) {
        // refused: the form opens empty, as it would without script
      }
      return;
    }
    var mark = store.getItem(RESTORE);
    var raw = store.getItem(DRAFT);
    store.removeItem(RESTORE);
    store.removeItem(DRAFT);
    if (!raw || mark !== here()) {
      return;
    }
    var draft;
    try {
      draft = JSON.parse(raw);
    } catch (error) {
      return;
    }
    if (!draft || draft.path !== here() || !Array.isArray(draft.values)) {
      return;
    }
    var form = postForms()[draft.form];
    if (!form || form.getAttribute("action") !== draft.action) {
      return;
    }
    if (fill(form, draft.values)) {
      notice(); // only when something came back that the page did not already show
    }
  }

  document.addEventListener("submit", function (event) {
    // Last in line (on the document, bubbling): a submit another script cancels is not saved.
    var form = event.target;
    if (!event.defaultPrevented && (form.getAttribute("method") || "").toLowerCase() === "post") {
      save(form);
    }
  });
  onShow();
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      onShow(); // the page came back from the browser's back/forward cache
    }
  });
})();
