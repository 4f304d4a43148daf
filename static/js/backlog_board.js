/* pmhub — the backlog's view tabs, board and matrix.
 *
 * Loaded by templates/backlog/_view_tabs.html, so it runs on every backlog view:
 *   [data-view-key="N"]     a view tab; the key N (1, 2, 3) follows it
 *   [data-board]            the board: arrows move between cards, Enter opens one; with
 *                           data-movable, dragging a card to another column, or ] / [ (also
 *                           Alt+→ / Alt+←) on the focused card, changes its status
 *   [data-decline-dialog]   asks for the reason when a card goes to Declined
 *   [data-autosubmit-check] a checkbox that submits its form on change (the matrix's log scales)
 * Without this file the board is a page of links, and the item page changes a status.
 * A move posts status, reason and the card's version to the card's status URL; the server
 * refuses a stale version, and the card goes back where it was.
 */
(function () {
  "use strict";

  /* Shared with every page by app.js, which runs after this file: looked up when called. */
  function isTyping(el) {
    return window.pmhub.isTyping(el);
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

  function csrfToken() {
    return window.pmhub.csrfToken();
  }

  function toast(text, kind) {
    window.pmhub.toast(text, kind);
  }

  /* ---- View tabs: 1 / 2 / 3 -------------------------------------------------------------- */

  document.addEventListener("keydown", function (event) {
    if (!plainKey(event) || event.altKey || !/^[1-9]$/.test(event.key)) return;
    var tab = document.querySelector('[data-view-key="' + event.key + '"]');
    if (!tab || tab.getAttribute("aria-current") === "page") return;
    event.preventDefault();
    window.location.assign(tab.href);
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-autosubmit-check]") && box.form) {
      if (box.form.requestSubmit) box.form.requestSubmit();
      else box.form.submit();
    }
  });

  /* ---- The board -------------------------------------------------------------------------- */

  var board = document.querySelector("[data-board]");
  if (!board) return;
  var movable = board.hasAttribute("data-movable");

  function columns() {
    return Array.prototype.slice.call(board.querySelectorAll("[data-column]"));
  }

  function cardsOf(column) {
    return Array.prototype.slice.call(column.querySelectorAll("[data-card]"));
  }

  function columnOf(card) {
    return card.closest("[data-column]");
  }

  function focusCard(card) {
    if (!card) return;
    var column = columnOf(card);
    if (column.tagName === "DETAILS") column.open = true;
    card.focus();
    card.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function setCount(column, delta) {
    var count = column.querySelector("[data-count]");
    var value = parseInt(count.textContent, 10) + delta;
    count.textContent = String(value);
    count.title = value + (value === 1 ? " item" : " items");
  }

  function syncEmpty(column) {
    var hint = column.querySelector("[data-empty]");
    var hasCards = cardsOf(column).length > 0;
    if (hasCards && hint) hint.remove();
    if (!hasCards && !hint) {
      hint = document.createElement("p");
      hint.className = "board__empty subtle";
      hint.setAttribute("data-empty", "");
      hint.textContent = movable ? "Drop a card here" : "No items";
      column.querySelector("[data-cards]").after(hint);
    }
  }

  /* Put `card` in `column` where its rank key sorts (byte order, as the database's "C"). */
  function place(card, column) {
    var list = column.querySelector("[data-cards]");
    var rank = card.getAttribute("data-rank");
    var next = cardsOf(column).filter(function (other) {
      return other !== card && other.getAttribute("data-rank") > rank;
    })[0];
    if (next) list.insertBefore(card, next);
    else list.appendChild(card);
  }

  /* Undo a move on screen: the card goes back to `from`, between the same neighbours. */
  function snapBack(card, from, before) {
    var to = columnOf(card);
    if (to === from) return;
    var list = from.querySelector("[data-cards]");
    if (before && before.parentNode === list) list.insertBefore(card, before);
    else list.appendChild(card);
    setCount(to, -1);
    setCount(from, 1);
    syncEmpty(to);
    syncEmpty(from);
  }

  function post(card, status, reason) {
    var data = new FormData();
    data.append("status", status);
    data.append("reason", reason || "");
    data.append("version", card.getAttribute("data-version"));
    return fetch(card.getAttribute("data-status-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { message: "The status was not saved; reload the board." };
        })
        .then(function (body) {
          if (!response.ok) throw new Error(body.message || "The status was not saved.");
          return body;
        });
    });
  }

  var decline = document.querySelector("[data-decline-dialog]");

  /* The reason for declining `card`, or null when the person cancels. */
  function askReason(card) {
    return new Promise(function (resolve) {
      var reason = decline.querySelector("textarea");
      decline.querySelector("[data-decline-title]").textContent =
        card.querySelector(".board-card__title").textContent;
      reason.value = "";
      decline.returnValue = "";
      decline.showModal();
      reason.focus();
      decline.addEventListener(
        "close",
        function () {
          var text = reason.value.trim();
          resolve(decline.returnValue === "decline" && text ? text : null);
        },
        { once: true }
      );
    });
  }

  /* Move `card` to `target` on screen, save, and undo the move if the server refuses it. */
  function moveTo(card, target) {
    var from = columnOf(card);
    if (!target || target === from) return;
    var before = card.nextElementSibling;
    var status = target.getAttribute("data-status");
    place(card, target);
    setCount(from, -1);
    setCount(target, 1);
    syncEmpty(from);
    syncEmpty(target);
    focusCard(card);
    var reasonFor = status === "declined" ? askReason(card) : Promise.resolve("");
    reasonFor.then(function (reason) {
      if (reason === null) {
        snapBack(card, from, before);
        focusCard(card);
        return;
      }
      card.classList.add("is-saving");
      post(card, status, reason)
        .then(function (body) {
          card.setAttribute("data-version", body.version);
          toast(body.message);
        })
        .catch(function (error) {
          snapBack(card, from, before);
          toast(error.message, "error");
        })
        .then(function () {
          card.classList.remove("is-saving");
          if (document.activeElement === document.body) focusCard(card);
        });
    });
  }

  board.addEventListener("keydown", function (event) {
    var card = event.target.closest && event.target.closest("[data-card]");
    if (!card || !plainKey(event)) return;
    var column = columnOf(card);
    var all = columns();
    var index = all.indexOf(column);
    var key = event.key;
    var step = 0;
    if (key === "]" || (event.altKey && key === "ArrowRight")) step = 1;
    else if (key === "[" || (event.altKey && key === "ArrowLeft")) step = -1;
    if (step) {
      if (!movable) return;
      event.preventDefault();
      moveTo(card, all[index + step]);
      return;
    }
    if (event.altKey) return;
    var siblings = cardsOf(column);
    var position = siblings.indexOf(card);
    if (key === "Enter") {
      event.preventDefault();
      window.location.assign(card.getAttribute("data-href"));
    } else if (key === "ArrowDown" || key === "j") {
      event.preventDefault();
      focusCard(siblings[position + 1]);
    } else if (key === "ArrowUp" || key === "k") {
      event.preventDefault();
      focusCard(siblings[position - 1]);
    } else if (key === "ArrowRight" || key === "ArrowLeft") {
      event.preventDefault();
      var next = all[index + (key === "ArrowRight" ? 1 : -1)];
      if (next) {
        var cards = cardsOf(next);
        focusCard(cards[Math.min(position, cards.length - 1)]);
      }
    }
  });

  if (!movable) return;

  var dragged = null;

  board.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("[data-card]");
    if (!dragged) return;
    dragged.classList.add("is-dragging");
    board.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-id"));
  });

  board.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var column = event.target.closest("[data-column]");
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    columns().forEach(function (other) {
      other.classList.toggle("is-drop-target", other === column && other !== columnOf(dragged));
    });
  });

  board.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    var column = event.target.closest("[data-column]");
    var card = dragged;
    finishDrag();
    if (column) moveTo(card, column);
  });

  function finishDrag() {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    board.classList.remove("is-dragging");
    columns().forEach(function (column) {
      column.classList.remove("is-drop-target");
    });
  }

  board.addEventListener("dragend", finishDrag);
})();
