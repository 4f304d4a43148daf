/* pmhub — the backlog's keyboard and drag-to-rank.
 *
 * Without this file the table is a list of links and the item page a set of plain forms.
 * With it, in the table: j / k move the focused row, Enter opens it, c starts a new item; in the
 * manual order an editor drags rows, or presses Alt+Down / Alt+Up on the focused row, to rank.
 * A move posts the row's new neighbour (after_id, or before_id at the top) to its move URL; the
 * server writes one rank key. On the item page: e opens the inline edit.
 */
(function () {
  "use strict";

  var TEXT_INPUT = /^(text|search|email|password|url|tel|number|date|datetime-local|month|time|week)$/;

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && TEXT_INPUT.test(el.type || "text");
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  function toast(text, kind) {
    var live = document.getElementById("live-region");
    if (live) live.textContent = text;
    var region = document.querySelector(".toasts");
    if (!region) return;
    var node = document.createElement("div");
    node.className = "toast toast--" + (kind || "success");
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    var p = document.createElement("p");
    p.className = "toast__text";
    p.textContent = text;
    node.appendChild(p);
    region.appendChild(node);
    window.setTimeout(function () {
      node.remove();
    }, kind === "error" ? 8000 : 3000);
  }

  /* ---- The table -------------------------------------------------------------------------- */

  var table = document.querySelector("[data-backlog]");
  var tbody = table && table.querySelector("[data-rows]");
  var rankable = !!(table && table.hasAttribute("data-rankable"));
  var current = -1;

  function rows() {
    return tbody ? Array.prototype.slice.call(tbody.querySelectorAll("[data-row]")) : [];
  }

  function setCurrent(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("is-current", i === index);
    });
    current = index;
    all[index].focus({ preventScroll: true });
    all[index].scrollIntoView({ block: "nearest" });
  }

  /* Tell the server where `row` now sits: after the row above it, or before the one below. */
  function saveMove(row) {
    var previous = row.previousElementSibling;
    var next = row.nextElementSibling;
    var data = new FormData();
    if (previous) data.append("after_id", previous.getAttribute("data-id"));
    else if (next) data.append("before_id", next.getAttribute("data-id"));
    else return;
    row.classList.add("is-saving");
    fetch(row.getAttribute("data-move-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.message || "The move was not saved; reload.");
          row.classList.remove("is-saving");
          toast(body.message);
        });
      })
      .catch(function (error) {
        toast(error.message || "The move was not saved; reload the list.", "error");
        // The list on screen no longer matches the saved order: show the saved one.
        window.setTimeout(function () {
          window.location.reload();
        }, 1500);
      });
  }

  function moveFocused(delta) {
    var all = rows();
    var row = all[current];
    if (!row) return;
    var other = all[current + delta];
    if (!other) return;
    if (delta > 0) other.after(row);
    else other.before(row);
    current += delta;
    setCurrent(current);
    saveMove(row);
  }

  if (tbody) {
    tbody.addEventListener("click", function (event) {
      var row = event.target.closest("[data-row]");
      if (row) current = rows().indexOf(row);
    });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.isComposing || isTyping(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      var key = event.key;
      if (event.altKey && (key === "ArrowDown" || key === "ArrowUp")) {
        if (!rankable || current < 0) return;
        event.preventDefault();
        moveFocused(key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (key === "j" || key === "ArrowDown") {
        if (key === "ArrowDown" && current < 0) return;
        event.preventDefault();
        setCurrent(current + 1);
      } else if (key === "k" || key === "ArrowUp") {
        if (key === "ArrowUp" && current < 0) return;
        event.preventDefault();
        setCurrent(current < 0 ? 0 : current - 1);
      } else if (key === "Enter" && current >= 0 && event.target.closest("[data-row]")) {
        event.preventDefault();
        window.location.assign(rows()[current].getAttribute("data-href"));
      }
    });

    if (rankable) {
      var dragged = null;
      var startIndex = -1;

      tbody.addEventListener("dragstart", function (event) {
        dragged = event.target.closest("[data-row]");
        if (!dragged) return;
        startIndex = rows().indexOf(dragged);
        dragged.classList.add("is-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", dragged.getAttribute("data-id"));
      });

      tbody.addEventListener("dragover", function (event) {
        if (!dragged) return;
        var over = event.target.closest("[data-row]");
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        if (!over || over === dragged) return;
        var box = over.getBoundingClientRect();
        if (event.clientY > box.top + box.height / 2) over.after(dragged);
        else over.before(dragged);
      });

      tbody.addEventListener("drop", function (event) {
        if (dragged) event.preventDefault();
      });

      tbody.addEventListener("dragend", function () {
        if (!dragged) return;
        var row = dragged;
        dragged = null;
        row.classList.remove("is-dragging");
        var index = rows().indexOf(row);
        current = index;
        setCurrent(index);
        if (index !== startIndex) saveMove(row);
      });
    }
  }

  /* ---- Keys of the whole page: c creates, e edits ----------------------------------------- */

  function openEdit() {
    var edit = document.querySelector("[data-edit]");
    if (!edit) return false;
    edit.open = true;
    var title = edit.querySelector("input[name=title]");
    if (title) title.focus();
    edit.scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("[data-open-edit]");
    if (trigger && openEdit()) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || isTyping(event.target)) return;
    if (event.metaKey || event.ctrlKey || event.altKey || document.querySelector("dialog[open]")) {
      return;
    }
    if (event.key === "c") {
      var create = document.querySelector("[data-new-item]");
      if (create) {
        event.preventDefault();
        window.location.assign(create.href);
      }
    } else if (event.key === "e") {
      if (openEdit()) event.preventDefault();
    }
  });
})();
