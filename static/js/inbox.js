/* pmhub — the triage inbox's keyboard and selection.
 *
 * Without this file the inbox is a plain form: tick rows, choose an action, Apply.
 * With it: j / k move the focused row, x selects it, shift-click selects a range, e archives
 * the focused row (or the selection), t opens the tag picker, l links the focused row (or the
 * selection) to an insight, Enter opens the feedback.
 * Archive and tag go to the same bulk endpoint as the form (asking for JSON), then the focus
 * moves to the next row: "archive, next".
 * Suggestions of the model: y accepts the focused row's top suggestion, n rejects it, 0 says no
 * tag fits. Each submits the row's own htmx form (the same one a click sends); htmx swaps the
 * row, and the focus stays on it while it has suggestions left, else moves to the next row.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var table, tbody, bulkForm, current = -1, lastClicked = null, engaged = false;

  function rows() {
    return tbody ? Array.prototype.slice.call(tbody.querySelectorAll("[data-row]")) : [];
  }

  /* Shared with every page by app.js, which runs after this file: looked up when called. */
  function isTyping(el) {
    return window.pmhub.isTyping(el);
  }

  function checkbox(row) {
    return row.querySelector("[data-select]");
  }

  function setCurrent(index, focus) {
    var all = rows();
    if (focus) engaged = true;
    if (!all.length) {
      current = -1;
      return;
    }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("is-current", i === index);
      row.setAttribute("aria-current", i === index ? "true" : "false");
    });
    current = index;
    if (focus) {
      all[index].focus({ preventScroll: true });
      all[index].scrollIntoView({ block: "nearest" });
    }
  }

  function selectedRows() {
    return rows().filter(function (row) {
      var box = checkbox(row);
      return box && box.checked;
    });
  }

  function syncCount() {
    var label = document.querySelector("[data-selected-count]");
    var n = selectedRows().length;
    rows().forEach(function (row) {
      var box = checkbox(row);
      row.classList.toggle("is-selected", !!(box && box.checked));
    });
    if (label) label.textContent = n ? n + " selected" : "Select rows, then";
    var all = document.querySelector("[data-select-all]");
    if (all) {
      var total = rows().length;
      all.checked = total > 0 && n === total;
      all.indeterminate = n > 0 && n < total;
    }
  }

  function toast(text, kind) {
    window.pmhub.toast(text, kind, 4000);
  }

  /* Rows an action applies to: the selection, else the focused row. */
  function targets() {
    var chosen = selectedRows();
    if (chosen.length) return chosen;
    var all = rows();
    return current >= 0 && all[current] ? [all[current]] : [];
  }

  function post(action, targetRows, choiceId) {
    var url = table.getAttribute("data-bulk-url");
    var data = new FormData();
    var token = bulkForm && bulkForm.querySelector("[name=csrfmiddlewaretoken]");
    if (token) data.append("csrfmiddlewaretoken", token.value);
    data.append("action", action);
    if (choiceId) data.append(action === "link" ? "insight_id" : "tag_id", choiceId);
    targetRows.forEach(function (row) {
      data.append("feedback_ids", row.getAttribute("data-id"));
    });
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.message || "That did not work.");
        return body;
      });
    });
  }

  /* After an action, focus the row that followed the last one acted on. */
  function moveOn(targetRows, removed) {
    var all = rows();
    var last = all.indexOf(targetRows[targetRows.length - 1]);
    var next = last + 1;
    if (removed) {
      targetRows.forEach(function (row) {
        row.remove();
      });
      next = last + 1 - targetRows.length;
    }
    syncCount();
    if (!rows().length) {
      window.location.reload();
      return;
    }
    setCurrent(next, true);
  }

  function archive() {
    var chosen = targets();
    if (!chosen.length) return;
    post("archive", chosen)
      .then(function (body) {
        var filter = table.getAttribute("data-status-filter");
        var stays = filter === "archived" || filter === "all";
        chosen.forEach(function (row) {
          var box = checkbox(row);
          if (box) box.checked = false;
          row.setAttribute("data-status", "archived");
          var badge = row.querySelector("[data-status-badge]");
          if (badge) {
            badge.textContent = "Archived";
            badge.className = "badge badge--dot status status--archived";
          }
        });
        toast(body.message);
        moveOn(chosen, !stays);
      })
      .catch(function (error) {
        toast(error.message, "error");
      });
  }

  function chip(name, color) {
    var node = document.createElement("span");
    node.className = "chip";
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chip__dot");
    svg.setAttribute("viewBox", "0 0 8 8");
    svg.setAttribute("aria-hidden", "true");
    var dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", "4");
    dot.setAttribute("cy", "4");
    dot.setAttribute("r", "4");
    dot.setAttribute("fill", color);
    svg.appendChild(dot);
    node.appendChild(svg);
    node.appendChild(document.createTextNode(name));
    return node;
  }

  /* ---- Pickers: t tags, l links to an insight ------------------------------------------- */

  var pickers = {};

  function options(p) {
    return Array.prototype.slice.call(p.dialog.querySelectorAll("[data-option]"));
  }

  function visibleOptions(p) {
    return options(p).filter(function (o) {
      return !o.hidden;
    });
  }

  function activate(p, option) {
    options(p).forEach(function (o) {
      var on = o === option;
      o.setAttribute("aria-selected", on ? "true" : "false");
      o.classList.toggle("is-active", on);
      if (on) o.scrollIntoView({ block: "nearest" });
    });
  }

  function filterOptions(p) {
    var q = p.input.value.trim().toLowerCase();
    options(p).forEach(function (o) {
      o.hidden = q !== "" && o.getAttribute("data-option-name").toLowerCase().indexOf(q) === -1;
    });
    activate(p, visibleOptions(p)[0] || null);
  }

  function openPicker(action) {
    var p = pickers[action];
    if (!p) return;
    p.rows = targets();
    if (!p.rows.length) return;
    p.input.value = "";
    filterOptions(p);
    p.dialog.showModal();
    p.input.focus();
  }

  function addChip(row, option) {
    var tagId = option.getAttribute("data-option-id");
    var holder = row.querySelector("[data-tags]");
    if (holder && !holder.querySelector('[data-tag-id="' + tagId + '"]')) {
      var node = chip(option.getAttribute("data-option-name"), option.getAttribute("data-tag-color"));
      node.setAttribute("data-tag-id", tagId);
      holder.appendChild(node);
    }
  }

  function applyChoice(p, option) {
    if (!option) return;
    var chosen = p.rows;
    p.dialog.close();
    post(p.action, chosen, option.getAttribute("data-option-id"))
      .then(function (body) {
        chosen.forEach(function (row) {
          var box = checkbox(row);
          if (box) box.checked = false;
          if (p.action === "tag") addChip(row, option);
        });
        toast(body.message);
        moveOn(chosen, false);
      })
      .catch(function (error) {
        toast(error.message, "error");
      });
  }

  function initPicker(action, id) {
    var dialog = document.getElementById(id);
    if (!dialog) return;
    var p = { action: action, dialog: dialog, input: dialog.querySelector("[data-option-filter]"), rows: [] };
    pickers[action] = p;
    p.input.addEventListener("input", function () {
      filterOptions(p);
    });
    p.input.addEventListener("keydown", function (event) {
      var visible = visibleOptions(p);
      var active = dialog.querySelector("[data-option].is-active");
      var at = visible.indexOf(active);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!visible.length) return;
        var step = event.key === "ArrowDown" ? 1 : -1;
        activate(p, visible[(at + step + visible.length) % visible.length]);
      } else if (event.key === "Enter") {
        event.preventDefault();
        applyChoice(p, active);
      }
    });
    dialog.addEventListener("click", function (event) {
      var option = event.target.closest("[data-option]");
      if (option) applyChoice(p, option);
    });
    dialog.addEventListener("close", function () {
      var all = rows();
      if (current >= 0 && all[current] && !document.querySelector("dialog[open]")) {
        all[current].focus({ preventScroll: true });
      }
    });
  }

  /* ---- Suggestions: y accepts, n rejects, 0 says no tag fits ----------------------------- */

  var decidedRowId = null;

  function decide(selector, none) {
    var row = rows()[current];
    if (!row) return;
    var form = row.querySelector(selector);
    if (!form) {
      toast(none, "info");
      return;
    }
    decidedRowId = row.getAttribute("data-id");
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  }

  /* After htmx redrew a row: keep the focus on it, or move on once it has nothing to decide. */
  function afterRowSwap() {
    var all = rows();
    if (decidedRowId === null) {
      if (current >= 0) setCurrent(current, false);
      return;
    }
    var index = -1;
    all.forEach(function (row, i) {
      if (row.getAttribute("data-id") === decidedRowId) index = i;
    });
    decidedRowId = null;
    if (index < 0) return;
    var settled = !all[index].querySelector("[data-suggestion]");
    setCurrent(settled && index < all.length - 1 ? index + 1 : index, true);
  }

  /* ---- Keys and clicks ------------------------------------------------------------------- */

  function onKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (isTyping(event.target) || document.querySelector("dialog[open]")) return;
    var all = rows();
    if (!all.length) return;
    var key = event.key;
    if (key === "j" || key === "k") {
      event.preventDefault();
      // The first j or k picks up the highlighted row; later ones move.
      var step = engaged ? (key === "j" ? 1 : -1) : 0;
      engaged = true;
      setCurrent(current < 0 ? 0 : current + step, true);
    } else if (key === "x") {
      if (current < 0) setCurrent(0, true);
      var box = checkbox(all[current]);
      if (!box) return;
      event.preventDefault();
      box.checked = !box.checked;
      lastClicked = all[current];
      syncCount();
    } else if (key === "e" && table.hasAttribute("data-bulk-url")) {
      event.preventDefault();
      archive();
    } else if ((key === "t" || key === "l") && table.hasAttribute("data-bulk-url")) {
      event.preventDefault();
      openPicker(key === "t" ? "tag" : "link");
    } else if ((key === "y" || key === "n") && table.hasAttribute("data-bulk-url")) {
      event.preventDefault();
      if (current < 0) setCurrent(0, true);
      decide(
        key === "y" ? "[data-suggestion-accept]" : "[data-suggestion-reject]",
        "No suggestion on this row."
      );
    } else if (key === "0" && table.hasAttribute("data-bulk-url")) {
      event.preventDefault();
      if (current < 0) setCurrent(0, true);
      decide("[data-no-tag-fits]", "This row cannot be marked.");
    } else if (key === "Enter") {
      if (event.target.closest && event.target.closest("a, button, input")) return;
      var row = all[current];
      if (row && row.getAttribute("data-href")) {
        event.preventDefault();
        window.location.assign(row.getAttribute("data-href"));
      }
    }
  }

  function onClick(event) {
    var box = event.target.closest("[data-select]");
    if (box) {
      var row = box.closest("[data-row]");
      var all = rows();
      if (event.shiftKey && lastClicked && lastClicked !== row && all.indexOf(lastClicked) >= 0) {
        var a = all.indexOf(lastClicked);
        var b = all.indexOf(row);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (r) {
          var other = checkbox(r);
          if (other) other.checked = box.checked;
        });
      }
      lastClicked = row;
      setCurrent(all.indexOf(row), false);
      syncCount();
      return;
    }
    var selectAll = event.target.closest("[data-select-all]");
    if (selectAll) {
      rows().forEach(function (r) {
        var other = checkbox(r);
        if (other) other.checked = selectAll.checked;
      });
      syncCount();
      return;
    }
    var clicked = event.target.closest("[data-row]");
    if (clicked && !event.target.closest("a, button, input, label")) {
      setCurrent(rows().indexOf(clicked), true);
    }
  }

  function start() {
    table = document.querySelector("[data-inbox]");
    if (!table) return;
    tbody = table.querySelector("[data-rows]");
    bulkForm = document.getElementById("bulk-form");
    initPicker("tag", "tag-picker");
    initPicker("link", "insight-picker");
    document.addEventListener("keydown", onKey);
    table.addEventListener("click", onClick);
    // Shift-click on a checkbox would also select text across the rows; keep the page clean.
    table.addEventListener("mousedown", function (event) {
      if (event.shiftKey && event.target.closest("[data-select]")) event.preventDefault();
    });
    // htmx swaps a row after a suggestion is decided (by key or by click).
    document.body.addEventListener("htmx:afterSettle", afterRowSwap);
    setCurrent(0, false);
    syncCount();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
