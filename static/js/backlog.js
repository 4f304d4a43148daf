/* pmhub — the backlog's keyboard and drag-to-rank.
 *
 * Without this file the table is a list of links and the item page a set of plain forms.
 * With it, in the table: j / k move the focused row, h / l (or the arrows) move across its cells,
 * Enter opens the item, c starts a new item. Editors edit a cell in place: Enter or F2 (or a
 * second click) opens its editor, Enter saves, Escape cancels, Tab saves and moves on. A save
 * posts the cell and the row's version to the row's cell URL; the server answers with the row as
 * it now stands (also when someone else changed the item first: 409), which replaces the one on
 * screen, or 400 with what is wrong with the value, shown under the editor. In the manual order
 * an editor drags rows, or presses Alt+Down / Alt+Up on the focused row, to rank: a move posts
 * the row's new neighbour (after_id, or before_id at the top) to its move URL; the server writes
 * one rank key. On the item page: e opens the inline edit.
 */
(function () {
  "use strict";

  /* Shared with every page by app.js, which runs after this file: looked up when called. */
  function isTyping(el) {
    return window.pmhub.isTyping(el);
  }

  function csrfToken() {
    return window.pmhub.csrfToken();
  }

  /* POST a form to one of the table's URLs, asking for the JSON answer. */
  function postForm(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
  }

  function announce(text) {
    var live = document.getElementById("live-region");
    if (live) live.textContent = text;
  }

  function toast(text, kind) {
    window.pmhub.toast(text, kind);
  }

  /* ---- The table -------------------------------------------------------------------------- */

  var table = document.querySelector("[data-backlog]");
  var tbody = table && table.querySelector("[data-rows]");
  var rankable = !!(table && table.hasAttribute("data-rankable"));
  var current = -1; // the focused row
  var column = -1; // the focused cell in that row; -1: the row itself
  var editing = null; // the cell being edited: { td, control, state: "open" | "asking" | "saving" }

  function rows() {
    return tbody ? Array.prototype.slice.call(tbody.querySelectorAll("[data-row]")) : [];
  }

  /* The cells keys move across: every cell but the drag grip. */
  function cellsOf(row) {
    return Array.prototype.slice.call(row.children, 1);
  }

  function markRow(index) {
    rows().forEach(function (row, i) {
      row.classList.toggle("is-current", i === index);
    });
  }

  function setCurrent(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    markRow(index);
    current = index;
    column = -1;
    all[index].focus({ preventScroll: true });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function focusCell(rowIndex, cellIndex) {
    var all = rows();
    if (!all.length) return;
    rowIndex = Math.max(0, Math.min(rowIndex, all.length - 1));
    var cells = cellsOf(all[rowIndex]);
    cellIndex = Math.max(0, Math.min(cellIndex, cells.length - 1));
    markRow(rowIndex);
    current = rowIndex;
    column = cellIndex;
    var td = cells[cellIndex];
    td.tabIndex = -1;
    td.focus({ preventScroll: true });
    td.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function focusedCell() {
    var row = rows()[current];
    return row && column >= 0 ? cellsOf(row)[column] : null;
  }

  /* Tab order across the grid: the next (or previous) cell, on to the next row; null past
   * either end, where Tab leaves the table as usual. */
  function stepCell(delta) {
    var all = rows();
    var row = all[current];
    if (!row) return null;
    var width = cellsOf(row).length;
    var flat = current * width + column + delta;
    if (flat < 0 || flat >= all.length * width) return null;
    return [Math.floor(flat / width), flat % width];
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
    postForm(row.getAttribute("data-move-url"), data)
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

  /* ---- Cells edited in place (editors) ----------------------------------------------------- */

  /* Swap in the row as the server now has it; keep the focus where the person left it. */
  function replaceRow(row, html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh) return null;
    var index = rows().indexOf(row);
    var hadFocus = row.contains(document.activeElement) || document.activeElement === document.body;
    row.replaceWith(fresh);
    if (index === current) {
      fresh.classList.add("is-current");
      if (hadFocus) {
        if (column >= 0) focusCell(current, column);
        else setCurrent(current);
      }
    }
    return fresh;
  }

  function closeEditor(restore) {
    if (!editing) return;
    var td = editing.td;
    td.classList.remove("is-editing", "is-saving");
    if (restore) {
      td.replaceChildren.apply(td, editing.original);
    }
    editing = null;
    if (td.isConnected) focusCell(rows().indexOf(td.closest("[data-row]")), column);
  }

  function showCellError(message) {
    if (!editing) return;
    var old = editing.td.querySelector(".cell-error");
    if (old) old.remove();
    var note = document.createElement("p");
    note.className = "cell-error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    (editing.reason ? editing.reason.closest(".cell-reason") : editing.td).appendChild(note);
  }

  function sendCell(fields) {
    var td = editing.td;
    var row = td.closest("[data-row]");
    var data = new FormData();
    data.append("field", td.getAttribute("data-cell"));
    data.append("version", row.getAttribute("data-version"));
    data.append("was", td.getAttribute("data-value") || "");
    if (rankable) data.append("rankable", "1");
    Object.keys(fields).forEach(function (name) {
      data.append(name, fields[name]);
    });
    editing.state = "saving";
    td.classList.add("is-saving");
    postForm(row.getAttribute("data-cell-url"), data)
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.status === 400) {
            // The value is refused: keep the editor open, with the reason beside it.
            td.classList.remove("is-saving");
            editing.state = editing.reason ? "asking" : "open";
            showCellError(body.message);
            var control = editing.reason || editing.control;
            control.focus();
            if (control.select) control.select();
            return;
          }
          if (!response.ok && !body.row) throw new Error(body.message);
          var index = cellsOf(row).indexOf(td);
          editing = null;
          var fresh = replaceRow(row, body.row);
          if (!response.ok) {
            toast(body.message, "error");
          } else {
            announce(body.message);
            if (fresh) cellsOf(fresh)[index].classList.add("is-saved");
          }
        });
      })
      .catch(function (error) {
        toast(error.message || "The change was not saved; reload the table.", "error");
        closeEditor(true);
      });
  }

  /* Declining needs a reason: ask for it in a small prompt under the cell. */
  function askReason() {
    var template = document.querySelector('template[data-cell-editor="reason"]');
    var prompt = template.content.firstElementChild.cloneNode(true);
    var input = prompt.querySelector("input");
    editing.state = "asking";
    editing.reason = input;
    editing.td.appendChild(prompt);
    prompt.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        sendCell({ value: "declined", reason: input.value });
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeEditor(true);
      }
    });
    input.focus();
  }

  /* Save the editor's value (nothing to save when it did not change), then `then()`. */
  function commit(then) {
    if (!editing || editing.state !== "open") return;
    var td = editing.td;
    var value = editing.control.value.trim();
    if (value === (td.getAttribute("data-value") || "")) {
      closeEditor(true);
    } else if (td.getAttribute("data-cell") === "status" && value === "declined") {
      askReason();
      return;
    } else {
      sendCell({ value: value });
    }
    if (then) then();
  }

  function startEdit(td) {
    if (editing || !td || !td.hasAttribute("data-cell")) return;
    var template = document.querySelector(
      'template[data-cell-editor="' + td.getAttribute("data-editor") + '"]'
    );
    if (!template) return;
    var control = template.content.firstElementChild.cloneNode(true);
    var header = table.tHead && table.tHead.rows[0].cells[column + 1];
    if (header && control.tagName === "INPUT") {
      control.setAttribute("aria-label", header.textContent.trim());
    }
    editing = {
      td: td,
      control: control,
      state: "open",
      original: Array.prototype.slice.call(td.childNodes),
    };
    control.value = td.getAttribute("data-value") || "";
    td.classList.add("is-editing");
    td.replaceChildren(control);
    control.focus();
    if (control.select) control.select();

    control.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        commit();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeEditor(true);
      } else if (event.key === "Tab") {
        event.preventDefault();
        var next = stepCell(event.shiftKey ? -1 : 1);
        commit(function () {
          if (next) focusCell(next[0], next[1]);
        });
      }
    });
    control.addEventListener("blur", function () {
      // Clicking elsewhere keeps the change, as in a spreadsheet.
      window.setTimeout(function () {
        if (editing && editing.control === control && editing.state === "open") commit();
      }, 0);
    });
  }

  if (tbody) {
    tbody.addEventListener("click", function (event) {
      var row = event.target.closest("[data-row]");
      if (!row || event.target.closest("a, .cell-editor, .cell-reason")) {
        if (row) current = rows().indexOf(row);
        return;
      }
      var td = event.target.closest("td");
      var index = cellsOf(row).indexOf(td);
      var rowIndex = rows().indexOf(row);
      if (index < 0) {
        current = rowIndex;
        return;
      }
      var again = rowIndex === current && index === column;
      focusCell(rowIndex, index);
      if (again) startEdit(td);
    });

    tbody.addEventListener("dblclick", function (event) {
      var td = event.target.closest("td[data-cell]");
      if (td && !editing) startEdit(td);
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
      var inGrid = !!(event.target.closest && event.target.closest("[data-row]"));
      if (key === "Tab" && column >= 0 && inGrid) {
        var next = stepCell(event.shiftKey ? -1 : 1);
        if (next) {
          event.preventDefault();
          focusCell(next[0], next[1]);
        }
        return;
      }
      if (event.shiftKey && key !== "F2") return;
      if (key === "j" || key === "ArrowDown") {
        if (key === "ArrowDown" && current < 0) return;
        event.preventDefault();
        if (column >= 0) focusCell(current + 1, column);
        else setCurrent(current + 1);
      } else if (key === "k" || key === "ArrowUp") {
        if (key === "ArrowUp" && current < 0) return;
        event.preventDefault();
        if (column >= 0) focusCell(Math.max(current - 1, 0), column);
        else setCurrent(current < 0 ? 0 : current - 1);
      } else if (key === "h" || key === "ArrowLeft" || key === "l" || key === "ArrowRight") {
        if (current < 0 && (key === "ArrowLeft" || key === "ArrowRight")) return;
        event.preventDefault();
        var step = key === "h" || key === "ArrowLeft" ? -1 : 1;
        focusCell(Math.max(current, 0), column < 0 ? 0 : column + step);
      } else if ((key === "Enter" || key === "F2") && current >= 0 && inGrid) {
        var cell = focusedCell();
        if (cell && cell.hasAttribute("data-cell")) {
          event.preventDefault();
          startEdit(cell);
        } else if (key === "Enter") {
          event.preventDefault();
          window.location.assign(rows()[current].getAttribute("data-href"));
        }
      }
    });

    if (rankable) {
      var dragged = null;
      var startIndex = -1;

      tbody.addEventListener("dragstart", function (event) {
        if (editing) {
          event.preventDefault();
          return;
        }
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
