/* pmhub — a roadmap's board, release plan and timeline.
 *
 * Loaded by templates/roadmap/roadmap_{detail,releases,timeline}.html:
 *   [data-roadmap-board]     the board (data-mode="columns") or release plan ("releases"); with
 *                            data-movable, cards move by drag and drop or by the keyboard:
 *                            [ / ] a column back / on, Shift (or Alt) + ↑ / ↓ within the column
 *   [data-lane]              a swimlane (area or objective); a card moves within its own lane
 *   [data-column]            a column's cell in a lane: data-column-id, data-position
 *   [data-card]              a card: data-id, data-href, data-move-url (editors only)
 *   [data-reason-dialog]     asks why when a card moves to a later column or release
 *   [data-picker]            a column's "Add an item" search (htmx fills the matches)
 *   form[data-schedule-form] a timeline bar's dates; a later end asks for the reason first
 *   [data-bar-drag]          a timeline bar an editor drags sideways to move both its dates by
 *                            whole days (data-start, data-end, data-days: the window's length)
 * A move is shown at once and posted (column_id with after_item_id / before_item_id, or
 * release_id, and a reason); when the server refuses it the card goes back where it was and a
 * toast says why. When the server asks for a reason (400, reason_required), the dialog asks and
 * the move is sent again.
 */
(function () {
  "use strict";

  function $$(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  /* Shared with every page by app.js, which runs after this file: looked up when called. */
  function isTyping(el) {
    return window.pmhub.isTyping(el);
  }

  function toast(text, kind) {
    window.pmhub.toast(text, kind);
  }

  function plainKey(event) {
    return !(
      event.defaultPrevented ||
      event.isComposing ||
      event.metaKey ||
      event.ctrlKey ||
      isTyping(event.target) ||
      document.querySelector("dialog[open]")
    );
  }

  /* ---- The reason dialog ------------------------------------------------------------------- */

  var dialog = document.querySelector("[data-reason-dialog]");

  /* The reason given, or null when the person cancels. */
  function askReason(title, what) {
    if (!dialog) return Promise.resolve(null);
    return new Promise(function (resolve) {
      var text = dialog.querySelector("textarea");
      dialog.querySelector("[data-reason-title]").textContent = title;
      dialog.querySelector("[data-reason-what]").textContent = what || "";
      text.value = "";
      dialog.returnValue = "";
      dialog.showModal();
      text.focus();
      dialog.addEventListener(
        "close",
        function () {
          var reason = text.value.trim();
          resolve(dialog.returnValue === "move" && reason ? reason : null);
        },
        { once: true }
      );
    });
  }

  /* ---- Timeline: a later end asks why before the form goes -------------------------------- */

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-schedule-form]") || form._reasonGiven) return;
    var before = form.getAttribute("data-end");
    var end = form.querySelector("input[name=end_date]");
    var start = form.querySelector("input[name=start_date]");
    var reason = form.querySelector("input[name=reason]");
    if (start.value && end.value && end.value < start.value) {
      event.preventDefault();
      toast("It ends before it starts: pick an end on or after the start.", "error");
      end.focus();
      return;
    }
    if (!before || !end.value || end.value <= before || reason.value.trim()) return;
    event.preventDefault();
    askReason("Why does it slip?", form.getAttribute("data-title") + ": " + before + " → " + end.value).then(
      function (text) {
        if (text === null) return;
        reason.value = text;
        form._reasonGiven = true;
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      }
    );
  });

  /* ---- Timeline: drag a bar to move its dates ------------------------------------------- */

  function shiftDay(iso, days) {
    var parts = iso.split("-");
    var day = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2] + days));
    return day.toISOString().slice(0, 10);
  }

  function sendDates(bar, start, end, reason) {
    var data = new FormData();
    data.append("start_date", start);
    data.append("end_date", end);
    data.append("reason", reason || "");
    return fetch(bar.getAttribute("data-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": window.pmhub.csrfToken() },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { message: "The dates were not saved; reload the timeline." };
        })
        .then(function (body) {
          if (!response.ok) throw new Error(body.message || "The dates were not saved.");
          return body;
        });
    });
  }

  document.addEventListener("pointerdown", function (event) {
    var bar = event.target.closest && event.target.closest("[data-bar-drag]");
    if (!bar || event.button !== 0) return;
    event.preventDefault();
    var width = bar.ownerSVGElement.getBoundingClientRect().width;
    var days = parseInt(bar.getAttribute("data-days"), 10);
    var left = parseFloat(bar.getAttribute("x"));
    var startX = event.clientX;
    var shift = 0;
    bar.setPointerCapture(event.pointerId);
    bar.classList.add("is-dragging");

    function follow(move) {
      shift = Math.round(((move.clientX - startX) / width) * days);
      bar.setAttribute("x", left + (shift / days) * 100 + "%");
    }

    function drop(up) {
      bar.removeEventListener("pointermove", follow);
      bar.removeEventListener("pointerup", drop);
      bar.removeEventListener("pointercancel", drop);
      bar.classList.remove("is-dragging");
      var reset = function () {
        bar.setAttribute("x", left + "%");
      };
      if (Math.abs(up.clientX - startX) < 3) {
        window.location.assign(bar.getAttribute("data-href"));
        return;
      }
      if (!shift) return reset();
      var start = shiftDay(bar.getAttribute("data-start") || bar.getAttribute("data-end"), shift);
      var end = shiftDay(bar.getAttribute("data-end") || bar.getAttribute("data-start"), shift);
      var title = bar.getAttribute("data-title");
      var asked = shift > 0
        ? askReason("Why does it slip?", title + ": ends " + end + " instead of " + bar.getAttribute("data-end"))
        : Promise.resolve("");
      asked.then(function (reason) {
        if (reason === null) return reset();
        sendDates(bar, start, end, reason)
          .then(function (body) {
            toast(body.message);
            window.location.reload();
          })
          .catch(function (error) {
            reset();
            toast(error.message, "error");
          });
      });
    }

    bar.addEventListener("pointermove", follow);
    bar.addEventListener("pointerup", drop);
    bar.addEventListener("pointercancel", drop);
  });

  /* ---- The "Add an item" picker ------------------------------------------------------------ */

  document.addEventListener("toggle", function (event) {
    var picker = event.target;
    if (picker.matches && picker.matches("[data-picker]") && picker.open) {
      picker.querySelector("[data-picker-find]").focus();
    }
  }, true);

  document.addEventListener("keydown", function (event) {
    var find = event.target.closest && event.target.closest("[data-picker-find]");
    if (!find) return;
    var radios = $$("input[type=radio]", find.form);
    if (event.key === "Enter") {
      event.preventDefault();
      var chosen = radios.filter(function (radio) {
        return radio.checked;
      })[0];
      if (chosen) find.form.submit();
    } else if (event.key === "ArrowDown" && radios[0]) {
      event.preventDefault();
      radios[0].focus();
    } else if (event.key === "Escape") {
      find.closest("[data-picker]").open = false;
    }
  });

  /* ---- The board --------------------------------------------------------------------------- */

  var board = document.querySelector("[data-roadmap-board]");
  if (!board) return;
  var releases = board.getAttribute("data-mode") === "releases";
  var movable = board.hasAttribute("data-movable");

  function cellOf(card) {
    return card.closest("[data-column]");
  }

  function laneOf(node) {
    return node.closest("[data-lane]") || board;
  }

  function cellsOf(lane) {
    return $$("[data-column]", lane);
  }

  function cardsOf(cell) {
    return $$("[data-card]", cell);
  }

  function idOf(cell) {
    return cell.getAttribute("data-column-id");
  }

  function positionOf(cell) {
    return parseInt(cell.getAttribute("data-position"), 10);
  }

  function focusCard(card) {
    if (!card) return;
    card.focus();
    card.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function setCount(cell, delta) {
    var count = board.querySelector('[data-count-for="' + idOf(cell) + '"]');
    if (!count) return;
    var value = parseInt(count.textContent, 10) + delta;
    count.textContent = String(value);
    count.title = value + (value === 1 ? " item" : " items");
  }

  function syncEmpty(cell) {
    var hint = cell.querySelector("[data-empty]");
    var hasCards = cardsOf(cell).length > 0;
    if (hasCards && hint) hint.remove();
    if (!hasCards && !hint) {
      hint = document.createElement("p");
      hint.className = "board__empty subtle";
      hint.setAttribute("data-empty", "");
      hint.textContent = movable ? "Drop a card here" : "No items";
      cell.querySelector("[data-cards]").after(hint);
    }
  }

  /* Put `card` into `cell` before `before` (null: at the end), keeping the counts right. */
  function put(card, cell, before) {
    var from = cellOf(card);
    cell.querySelector("[data-cards]").insertBefore(card, before || null);
    if (from !== cell) {
      setCount(from, -1);
      setCount(cell, 1);
      syncEmpty(from);
      syncEmpty(cell);
    }
  }

  /* Back where it was (after a refusal or a cancelled reason). */
  function restore(card, was) {
    var list = was.cell.querySelector("[data-cards]");
    put(card, was.cell, was.next && was.next.parentNode === list ? was.next : null);
  }

  function post(card, fields) {
    var data = new FormData();
    Object.keys(fields).forEach(function (name) {
      data.append(name, fields[name]);
    });
    return fetch(card.getAttribute("data-move-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": window.pmhub.csrfToken() },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { message: "The move was not saved; reload the roadmap." };
        })
        .then(function (body) {
          if (response.ok) return body;
          var error = new Error(body.message || "The move was not saved.");
          error.reasonRequired = Boolean(body.reason_required);
          throw error;
        });
    });
  }

  function titleOf(card) {
    return card.getAttribute("data-title");
  }

  function nameOf(cell) {
    return cell.getAttribute("data-column-name");
  }

  /* Send the move the card shows now; `was` is where it came from, for the rollback. */
  function commit(card, was, reason) {
    var cell = cellOf(card);
    var fields = { reason: reason || "" };
    if (releases) {
      fields.release_id = idOf(cell);
    } else {
      fields.column_id = idOf(cell);
      var previous = card.previousElementSibling;
      var next = card.nextElementSibling;
      if (previous) fields.after_item_id = previous.getAttribute("data-id");
      else if (next) fields.before_item_id = next.getAttribute("data-id");
    }
    card.classList.add("is-saving");
    return post(card, fields)
      .then(function (body) {
        toast(body.message);
      })
      .catch(function (error) {
        if (error.reasonRequired && !reason) {
          return askReason(
            "Why does it move back to " + nameOf(cell) + "?",
            titleOf(card) + ": " + error.message
          ).then(function (given) {
            if (given === null) {
              restore(card, was);
              return;
            }
            return commit(card, was, given);
          });
        }
        restore(card, was);
        toast(error.message, "error");
      })
      .then(function () {
        card.classList.remove("is-saving");
        if (document.activeElement === document.body) focusCard(card);
      });
  }

  /* Move `card` to `cell` before `before` on screen, ask why when it goes backwards, save. */
  function move(card, cell, before) {
    var was = { cell: cellOf(card), next: card.nextElementSibling };
    if (before === card || (cell === was.cell && before === was.next)) return;
    put(card, cell, before);
    focusCard(card);
    var backwards = positionOf(cell) > positionOf(was.cell);
    var asked = backwards
      ? askReason(
          (releases ? "Why does it slip to " : "Why does it move back to ") + nameOf(cell) + "?",
          titleOf(card) + ": " + nameOf(was.cell) + " → " + nameOf(cell)
        )
      : Promise.resolve("");
    asked.then(function (reason) {
      if (reason === null) {
        restore(card, was);
        focusCard(card);
        return;
      }
      commit(card, was, reason);
    });
  }

  /* ---- Keyboard ---------------------------------------------------------------------------- */

  function columnCards(cell) {
    return $$('[data-column][data-column-id="' + idOf(cell) + '"] [data-card]', board);
  }

  board.addEventListener("keydown", function (event) {
    var card = event.target.closest && event.target.closest("[data-card]");
    if (!card || !plainKey(event)) return;
    var cell = cellOf(card);
    var cells = cellsOf(laneOf(cell));
    var index = cells.indexOf(cell);
    var key = event.key;
    var step = key === "]" ? 1 : key === "[" ? -1 : 0;
    if (step) {
      event.preventDefault();
      if (movable && cells[index + step]) move(card, cells[index + step], null);
      return;
    }
    var vertical = key === "ArrowDown" || key === "ArrowUp";
    if (vertical && (event.shiftKey || event.altKey)) {
      event.preventDefault();
      if (!movable || releases) return;
      if (key === "ArrowUp") move(card, cell, card.previousElementSibling);
      else if (card.nextElementSibling) move(card, cell, card.nextElementSibling.nextElementSibling);
      return;
    }
    if (event.altKey || event.shiftKey) return;
    var inColumn = columnCards(cell);
    var position = inColumn.indexOf(card);
    if (key === "Enter") {
      event.preventDefault();
      window.location.assign(card.getAttribute("data-href"));
    } else if (key === "ArrowDown" || key === "j") {
      event.preventDefault();
      focusCard(inColumn[position + 1]);
    } else if (key === "ArrowUp" || key === "k") {
      event.preventDefault();
      focusCard(inColumn[position - 1]);
    } else if (key === "ArrowRight" || key === "ArrowLeft" || key === "l" || key === "h") {
      event.preventDefault();
      var other = cells[index + (key === "ArrowRight" || key === "l" ? 1 : -1)];
      if (!other) return;
      var there = cardsOf(other);
      var mine = cardsOf(cell).indexOf(card);
      focusCard(there[Math.min(mine, there.length - 1)] || columnCards(other)[0]);
    }
  });

  /* j / k with nothing focused start at the first card. */
  document.addEventListener("keydown", function (event) {
    if (!plainKey(event) || event.altKey || (event.key !== "j" && event.key !== "k")) return;
    if (event.target.closest && event.target.closest("[data-card]")) return;
    var first = board.querySelector("[data-card]");
    if (!first) return;
    event.preventDefault();
    focusCard(first);
  });

  if (!movable) return;

  /* ---- Drag and drop ----------------------------------------------------------------------- */

  var dragged = null;

  board.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("[data-card]");
    if (!dragged) return;
    dragged.classList.add("is-dragging");
    board.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-id"));
  });

  /* The cell of the dragged card's own lane that a drop on `cell` means. */
  function targetCell(cell) {
    if (!cell || !dragged) return null;
    var lane = laneOf(dragged);
    if (laneOf(cell) === lane) return cell;
    return lane.querySelector('[data-column][data-column-id="' + idOf(cell) + '"]');
  }

  /* The card the drop lands before: the first whose middle is below the pointer. */
  function cardBefore(cell, y) {
    if (releases) return null;
    var cards = cardsOf(cell).filter(function (card) {
      return card !== dragged;
    });
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return cards[i];
    }
    return null;
  }

  board.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var cell = targetCell(event.target.closest("[data-column]"));
    if (!cell) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    $$("[data-column]", board).forEach(function (other) {
      other.classList.toggle("is-drop-target", other === cell);
    });
  });

  board.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    var cell = targetCell(event.target.closest("[data-column]"));
    var card = dragged;
    var before = cell ? cardBefore(cell, event.clientY) : null;
    finishDrag();
    if (cell) move(card, cell, before);
  });

  function finishDrag() {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    board.classList.remove("is-dragging");
    $$("[data-column]", board).forEach(function (cell) {
      cell.classList.remove("is-drop-target");
    });
  }

  board.addEventListener("dragend", finishDrag);
})();
