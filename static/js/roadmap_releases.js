/* pmhub — a release's page and its edit form.
 *
 * Without this file the page works through plain forms: the checklist's toggles post and come
 * back, the item search is a GET form. This file adds the keyboard: E edits the release, A goes
 * to the add-items search (↓ moves to the matches, Enter picks the first, ↑ from the first match
 * returns to the search); after htmx redraws the launch checklist, focus returns to the task
 * that was toggled or moved. On the edit form, a target date later than the saved one marks
 * the reason field as asked for.
 */
(function () {
  "use strict";

  /* app.js (loaded after this file) shares isTyping: looked up when called. */
  function isTyping(el) {
    return window.pmhub && window.pmhub.isTyping(el);
  }

  function radios() {
    var list = document.querySelector("[data-release-options]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("input[type=radio]:not(:disabled)")) : [];
  }

  var find = document.querySelector("[data-release-find]");
  if (find) {
    find.addEventListener("keydown", function (event) {
      var all = radios();
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        all[0].focus();
      } else if (event.key === "Enter" && all.length) {
        event.preventDefault();
        all[0].checked = true;
        all[0].focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowUp" || event.target.name !== "item_id") return;
      if (radios()[0] === event.target) {
        event.preventDefault();
        find.focus();
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || isTyping(event.target)) return;
    if (event.metaKey || event.ctrlKey || event.altKey || document.querySelector("dialog[open]")) {
      return;
    }
    if (event.key === "e") {
      var edit = document.querySelector("[data-release-edit]");
      if (edit) {
        event.preventDefault();
        edit.click();
      }
    } else if (event.key === "a" && find) {
      event.preventDefault();
      find.scrollIntoView({ block: "center" });
      find.focus();
    }
  });

  /* Which task's control had focus before htmx replaced the checklist. */
  var lastTask = null;
  var lastControl = "";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var row = event.target.closest && event.target.closest("[data-task-id]");
    if (!row) return;
    lastTask = row.getAttribute("data-task-id");
    var active = document.activeElement;
    lastControl = active && active.value === "up" ? "up" : active && active.value === "down" ? "down" : "toggle";
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!lastTask) return;
    var row = document.querySelector('[data-task-id="' + lastTask + '"]');
    lastTask = null;
    if (!row) return;
    var target =
      lastControl === "toggle"
        ? row.querySelector("[data-task-toggle]")
        : row.querySelector('button[value="' + lastControl + '"]');
    if (target) target.focus();
  });

  var form = document.querySelector("[data-release-form]");
  if (form && form.hasAttribute("data-saved-date")) {
    var saved = form.getAttribute("data-saved-date");
    var date = form.querySelector("input[name=target_date]");
    var reason = form.querySelector("input[name=reason]");
    var field = reason && reason.closest(".field");
    var update = function () {
      var slips = !!(saved && date.value && date.value > saved);
      if (field) field.classList.toggle("is-asked", slips);
      reason.required = slips;
    };
    if (date && reason) {
      date.addEventListener("input", update);
      update();
    }
  }
})();
