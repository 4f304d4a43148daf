/* Review panel of a document page.
 *
 * - Selecting text in the rendered document offers "Comment": it fills the comment form's quote.
 * - Open comments whose quote is found in the document highlight it; a click on the highlight
 *   shows the comment, a click on the comment's quote shows the passage.
 * - Ctrl/Cmd+Enter sends a comment form.
 * The panel is loaded (and reloaded after every action) by htmx, so everything here is delegated
 * and the highlights are redrawn after each swap.
 */
(function () {
  "use strict";

  var BODY = ".doc-body";
  var PANEL = "[data-review-panel]";
  var QUOTE_MAX = 1000;
  var button = null;
  var pendingQuote = "";

  function docBody() {
    return document.querySelector(BODY);
  }

  function normalize(text) {
    return text.replace(/\s+/g, " ").trim();
  }

  /* --- the "Comment" button on a selection ------------------------------------------------ */
  function ensureButton() {
    if (button) return button;
    button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn--primary btn--sm review-select-btn";
    button.textContent = "Comment";
    button.hidden = true;
    button.setAttribute("data-review-select", "");
    button.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep the selection
    });
    button.addEventListener("click", function () {
      startComment(pendingQuote);
      hideButton();
    });
    document.body.appendChild(button);
    return button;
  }

  function hideButton() {
    if (button) button.hidden = true;
  }

  function selectionInBody() {
    var body = docBody();
    var selection = window.getSelection();
    if (!body || !selection || selection.isCollapsed || !selection.rangeCount) return null;
    var range = selection.getRangeAt(0);
    if (!body.contains(range.commonAncestorContainer)) return null;
    var text = normalize(selection.toString());
    if (!text) return null;
    return { range: range, text: text.slice(0, QUOTE_MAX) };
  }

  function onSelection() {
    var found = selectionInBody();
    if (!found || !document.querySelector(PANEL)) {
      hideButton();
      return;
    }
    pendingQuote = found.text;
    var rect = found.range.getBoundingClientRect();
    var btn = ensureButton();
    btn.hidden = false;
    btn.style.top = window.scrollY + rect.top - btn.offsetHeight - 8 + "px";
    btn.style.left = window.scrollX + rect.left + rect.width / 2 - btn.offsetWidth / 2 + "px";
  }

  function startComment(quote) {
    var form = document.querySelector("[data-comment-form]");
    if (!form) return;
    var input = form.querySelector("[data-quote-input]");
    var preview = form.querySelector("[data-quote-preview]");
    var text = form.querySelector("[data-quote-text]");
    input.value = quote;
    text.textContent = quote;
    preview.hidden = !quote;
    var body = form.querySelector("[data-comment-body]");
    form.scrollIntoView({ block: "nearest", behavior: "smooth" });
    body.focus({ preventScroll: true });
  }

  document.addEventListener("mouseup", function () {
    window.setTimeout(onSelection, 0);
  });
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey || event.key === "Shift") onSelection();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hideButton();
    // "c" with a passage selected: comment on it (no modifier, not while typing).
    var target = event.target;
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "c" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      var found = selectionInBody();
      if (found) {
        event.preventDefault();
        startComment(found.text);
        hideButton();
      }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.matches("[data-comment-body]")) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest("[data-quote-clear]");
    if (clear) {
      startComment("");
      return;
    }
    var mark = event.target.closest("mark.doc-quote");
    if (mark) {
      showComment(mark.getAttribute("data-comment-id"));
      return;
    }
    var jump = event.target.closest("[data-quote-jump]");
    if (jump) {
      var passage = document.querySelector('mark.doc-quote[data-comment-id="' + jump.getAttribute("data-quote-jump") + '"]');
      if (passage) {
        event.preventDefault();
        passage.scrollIntoView({ block: "center", behavior: "smooth" });
        flash(passage);
      }
    }
  });

  function showComment(id) {
    var thread = document.getElementById("comment-" + id);
    if (!thread) return;
    var folded = thread.closest("details");
    if (folded) folded.open = true; // a resolved thread, or a reply box
    thread.scrollIntoView({ block: "nearest", behavior: "smooth" });
    flash(thread);
  }

  function flash(element) {
    element.classList.remove("is-flashing");
    void element.offsetWidth; // restart the animation
    element.classList.add("is-flashing");
  }

  /* --- highlights of quoted passages -------------------------------------------------------- */
  function clearMarks(body) {
    body.querySelectorAll("mark.doc-quote").forEach(function (mark) {
      var parent = mark.parentNode;
      while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
      parent.removeChild(mark);
      parent.normalize();
    });
  }

  /* The body's text with runs of whitespace as one space, and where each character came from. */
  function textMap(body) {
    var walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    var chars = [];
    var nodes = [];
    var offsets = [];
    var lastSpace = true;
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var value = node.nodeValue;
      for (var i = 0; i < value.length; i++) {
        var space = /\s/.test(value[i]);
        if (space && lastSpace) continue;
        chars.push(space ? " " : value[i]);
        nodes.push(node);
        offsets.push(i);
        lastSpace = space;
      }
    }
    return { text: chars.join(""), nodes: nodes, offsets: offsets };
  }

  function wrap(map, start, end, id) {
    // Split per text node, from the last so earlier offsets stay valid.
    var segments = [];
    for (var i = start; i < end; i++) {
      var last = segments[segments.length - 1];
      if (last && last.node === map.nodes[i]) last.to = map.offsets[i] + 1;
      else segments.push({ node: map.nodes[i], from: map.offsets[i], to: map.offsets[i] + 1 });
    }
    for (var s = segments.length - 1; s >= 0; s--) {
      var seg = segments[s];
      if (seg.node.parentNode && seg.node.parentNode.closest && seg.node.parentNode.closest("mark.doc-quote")) continue;
      var range = document.createRange();
      range.setStart(seg.node, seg.from);
      range.setEnd(seg.node, seg.to);
      var mark = document.createElement("mark");
      mark.className = "doc-quote";
      mark.setAttribute("data-comment-id", id);
      mark.title = "Commented: click to see the comment";
      range.surroundContents(mark);
    }
  }

  function highlight() {
    var body = docBody();
    var panel = document.querySelector(PANEL);
    if (!body || !panel) return;
    clearMarks(body);
    var threads = panel.querySelectorAll("[data-quote][data-comment-id]");
    threads.forEach(function (thread) {
      var quote = normalize(thread.getAttribute("data-quote") || "");
      if (!quote) return;
      var map = textMap(body); // rebuilt: wrapping splits text nodes
      var at = map.text.indexOf(quote);
      if (at === -1) at = map.text.toLowerCase().indexOf(quote.toLowerCase());
      if (at === -1) {
        thread.classList.add("comment-thread--detached");
        var quoted = thread.querySelector(".comment__quote");
        if (quoted) quoted.title = "This passage is no longer in the document: it changed since.";
        return;
      }
      wrap(map, at, at + quote.length, thread.getAttribute("data-comment-id"));
      thread.classList.add("comment-thread--anchored");
    });
  }

  var firstLoad = true;
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.target || event.target.id !== "review") return;
    highlight();
    // Opened from a mention email (#comment-12): show that comment once the panel is in.
    if (firstLoad && location.hash.indexOf("#comment-") === 0) {
      showComment(location.hash.slice("#comment-".length));
    }
    firstLoad = false;
  });
  document.addEventListener("DOMContentLoaded", highlight);
})();

/* @mention suggestions in a comment box: typing "@" and the start of a member's name lists the
 * matching members; arrows move, Enter or Tab inserts "@Name ", Escape closes. */
(function () {
  "use strict";

  var list = null;
  var state = null; // {box, start, matches, active}

  function members() {
    var data = document.getElementById("review-mentionable");
    if (!data) return [];
    try {
      return JSON.parse(data.textContent);
    } catch (error) {
      return [];
    }
  }

  function close() {
    if (list) list.hidden = true;
    if (state && state.box) state.box.removeAttribute("aria-activedescendant");
    state = null;
  }

  function ensureList() {
    if (!list) {
      list = document.createElement("ul");
      list.className = "mention-suggest";
      list.id = "mention-suggest";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Members to mention");
      list.hidden = true;
      list.addEventListener("mousedown", function (event) {
        event.preventDefault();
        var option = event.target.closest("[role=option]");
        if (option && state) {
          state.active = Number(option.getAttribute("data-index"));
          insert();
        }
      });
    }
    return list;
  }

  function draw() {
    var ul = ensureList();
    ul.textContent = "";
    state.matches.forEach(function (person, index) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = "mention-option-" + index;
      li.setAttribute("data-index", String(index));
      li.setAttribute("aria-selected", index === state.active ? "true" : "false");
      var name = document.createElement("span");
      name.className = "mention-suggest__name";
      name.textContent = person.name;
      var email = document.createElement("span");
      email.className = "mention-suggest__email";
      email.textContent = person.email;
      li.appendChild(name);
      li.appendChild(email);
      ul.appendChild(li);
    });
    state.box.insertAdjacentElement("afterend", ul);
    state.box.setAttribute("aria-activedescendant", "mention-option-" + state.active);
    ul.hidden = false;
  }

  function insert() {
    var person = state.matches[state.active];
    var box = state.box;
    var before = box.value.slice(0, state.start);
    var after = box.value.slice(box.selectionStart);
    var text = "@" + person.name + " ";
    box.value = before + text + after;
    var caret = before.length + text.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-comment-body]")) return;
    var head = box.value.slice(0, box.selectionStart);
    var found = /(^|[^\w@])@([^\s@][^@\n]{0,30})?$/.exec(head);
    if (!found) {
      close();
      return;
    }
    var query = (found[2] || "").toLowerCase();
    var matches = members()
      .filter(function (person) {
        return (
          person.name.toLowerCase().indexOf(query) === 0 ||
          person.email.toLowerCase().indexOf(query) === 0 ||
          person.name.toLowerCase().indexOf(" " + query) !== -1
        );
      })
      .slice(0, 6);
    if (!matches.length) {
      close();
      return;
    }
    state = { box: box, start: head.length - (found[2] || "").length - 1, matches: matches, active: 0 };
    draw();
  });

  document.addEventListener(
    "keydown",
    function (event) {
      if (!state || event.target !== state.box || !list || list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        state.active = (state.active + step + state.matches.length) % state.matches.length;
        draw();
      } else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
        event.preventDefault();
        event.stopPropagation();
        insert();
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    },
    true
  );

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.box) window.setTimeout(close, 100);
  });
})();
