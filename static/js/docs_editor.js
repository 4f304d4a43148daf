/* Docs pages: the editor (toolbar, live preview, `[[` reference autocomplete, Ctrl/Cmd-S),
   the new-document form (a kind picks its template) and `e` to edit on a document page. */
(function () {
  "use strict";

  var PREVIEW_DELAY = 350;
  var SEARCH_DELAY = 120;
  var REF_BEFORE_CARET = /\[\[([^\[\]\n]{0,80})$/;

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  /* --- new document: choosing a kind selects its shipped template ---------------------- */
  function initNew() {
    var select = document.querySelector("[data-doc-template-select]");
    if (!select) return;
    document.querySelectorAll('input[name="kind"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        var match = select.querySelector('option[data-kind="' + radio.value + '"][data-default]') ||
          select.querySelector('option[data-kind="' + radio.value + '"]');
        select.value = match ? match.value : "";
      });
    });
  }

  /* --- document page: `e` opens the editor --------------------------------------------- */
  function initDetail() {
    var link = document.querySelector("[data-doc-edit-link]");
    if (!link) return;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "e" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target) || event.defaultPrevented) return;
      event.preventDefault();
      window.location.href = link.href;
    });
  }

  /* --- editor ---------------------------------------------------------------------------- */
  function initEditor(form) {
    var textarea = form.querySelector("textarea[name=body]");
    var preview = form.querySelector("[data-preview]");
    var state = form.querySelector("[data-preview-state]");
    var menu = form.querySelector("#doc-ref-menu");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var previewUrl = form.getAttribute("data-preview-url");
    var searchUrl = form.getAttribute("data-search-url");
    var previewTimer = null;
    var previewSeq = 0;

    /* live preview: it follows the textarea's scroll, so the part being written is in view */
    function syncScroll() {
      var room = textarea.scrollHeight - textarea.clientHeight;
      var ratio = room > 0 ? textarea.scrollTop / room : 0;
      var pane = preview.closest(".doc-editor__preview") || preview;
      pane.scrollTop = ratio * (pane.scrollHeight - pane.clientHeight);
    }

    function renderPreview() {
      var seq = ++previewSeq;
      var body = new URLSearchParams();
      body.set("body", textarea.value);
      if (state) state.textContent = "updating…";
      fetch(previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
      }).then(function (response) {
        return response.text();
      }).then(function (html) {
        if (seq !== previewSeq) return; // a newer preview is on its way
        preview.innerHTML = html; // sanitized by the server's one Markdown renderer
        syncScroll();
        if (state) state.textContent = "";
      }).catch(function () {
        if (seq === previewSeq && state) state.textContent = "offline: preview paused";
      });
    }

    function schedulePreview() {
      window.clearTimeout(previewTimer);
      previewTimer = window.setTimeout(renderPreview, PREVIEW_DELAY);
    }

    /* editing helpers */
    function replaceRange(start, end, text, selectFrom, selectTo) {
      textarea.focus();
      textarea.setRangeText(text, start, end, "end");
      if (selectFrom !== undefined) {
        textarea.setSelectionRange(start + selectFrom, start + (selectTo === undefined ? selectFrom : selectTo));
      }
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function wrap(before, after, placeholder) {
      var start = textarea.selectionStart, end = textarea.selectionEnd;
      var chosen = textarea.value.slice(start, end) || placeholder;
      replaceRange(start, end, before + chosen + after, before.length, before.length + chosen.length);
    }

    function lineStart(position) {
      return textarea.value.lastIndexOf("\n", position - 1) + 1;
    }

    function prefixLines(prefix) {
      var start = lineStart(textarea.selectionStart), end = textarea.selectionEnd;
      var block = textarea.value.slice(start, end);
      var lines = block.split("\n").map(function (line) { return prefix + line; });
      var text = lines.join("\n");
      replaceRange(start, end, text, text.length);
    }

    function insertBlock(text, selectFrom, selectTo) {
      var start = textarea.selectionStart, end = textarea.selectionEnd;
      var before = textarea.value.slice(0, start);
      var lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
      replaceRange(start, end, lead + text, lead.length + selectFrom, lead.length + selectTo);
    }

    var actions = {
      bold: function () { wrap("**", "**", "bold text"); },
      italic: function () { wrap("_", "_", "italic text"); },
      heading: function () { prefixLines("## "); },
      list: function () { prefixLines("- "); },
      task: function () { prefixLines("- [ ] "); },
      code: function () {
        var chosen = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd);
        if (chosen.indexOf("\n") === -1 && chosen) { wrap("`", "`", "code"); return; }
        insertBlock("```\n" + (chosen || "code") + "\n```\n", 4, 4 + (chosen || "code").length);
      },
      table: function () {
        insertBlock("| Column | Column |\n| --- | --- |\n| Cell | Cell |\n", 2, 8);
      },
      link: function () {
        var start = textarea.selectionStart, end = textarea.selectionEnd;
        var label = textarea.value.slice(start, end) || "link text";
        var text = "[" + label + "](https://)";
        replaceRange(start, end, text, label.length + 3, label.length + 11);
      },
      reference: function () {
        var start = textarea.selectionStart;
        replaceRange(start, textarea.selectionEnd, "[[", 2);
        openMenuFor("");
      },
    };

    form.querySelectorAll("[data-md]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = actions[button.getAttribute("data-md")];
        if (action) action();
      });
    });

    /* the [[ autocomplete */
    var searchTimer = null;
    var searchSeq = 0;
    var options = [];
    var active = -1;

    function closeMenu() {
      menu.hidden = true;
      menu.innerHTML = "";
      options = [];
      active = -1;
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }

    function setActive(index) {
      var nodes = menu.querySelectorAll("[role=option]");
      if (!nodes.length) return;
      active = (index + nodes.length) % nodes.length;
      nodes.forEach(function (node, i) { node.setAttribute("aria-selected", i === active ? "true" : "false"); });
      textarea.setAttribute("aria-activedescendant", nodes[active].id);
      nodes[active].scrollIntoView({ block: "nearest" });
    }

    function showMessage(text) {
      menu.innerHTML = "";
      var li = document.createElement("li");
      li.className = "doc-refmenu__empty";
      li.textContent = text;
      menu.appendChild(li);
      menu.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      placeMenu();
    }

    function showResults(results) {
      options = results;
      menu.innerHTML = "";
      if (!results.length) { showMessage("Nothing matches. Keep typing, or press Esc."); return; }
      results.forEach(function (result, i) {
        var li = document.createElement("li");
        li.className = "doc-refmenu__opt";
        li.id = "doc-ref-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-ref", result.ref);
        var kind = document.createElement("span");
        kind.className = "ref__kind";
        kind.textContent = result.kind;
        var title = document.createElement("span");
        title.className = "doc-refmenu__title";
        title.textContent = result.title;
        var meta = document.createElement("span");
        meta.className = "doc-refmenu__meta";
        meta.textContent = (result.status ? result.status + " · " : "") + "#" + result.id;
        li.appendChild(kind);
        li.appendChild(title);
        li.appendChild(meta);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the caret in the textarea
          choose(i);
        });
        menu.appendChild(li);
      });
      menu.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      placeMenu();
      setActive(0);
    }

    /* The caret's offset inside the textarea, measured on a hidden copy of its text. */
    var MIRRORED = ["boxSizing", "width", "paddingTop", "paddingRight", "paddingBottom",
      "paddingLeft", "borderTopWidth", "borderLeftWidth", "fontFamily", "fontSize", "fontWeight",
      "lineHeight", "letterSpacing", "tabSize", "whiteSpace", "wordWrap", "overflowWrap"];

    function caretTop() {
      var mirror = document.createElement("div");
      var computed = window.getComputedStyle(textarea);
      MIRRORED.forEach(function (name) { mirror.style[name] = computed[name]; });
      mirror.style.position = "absolute";
      mirror.style.visibility = "hidden";
      mirror.style.whiteSpace = "pre-wrap";
      mirror.style.overflowWrap = "break-word";
      mirror.textContent = textarea.value.slice(0, textarea.selectionStart);
      var marker = document.createElement("span");
      marker.textContent = "\u200b";
      mirror.appendChild(marker);
      document.body.appendChild(mirror);
      var top = marker.offsetTop + marker.offsetHeight;
      document.body.removeChild(mirror);
      return top - textarea.scrollTop;
    }

    function placeMenu() {
      // Below the caret's line, or above it when the menu would run past the textarea.
      var below = caretTop() + 4;
      var line = parseFloat(window.getComputedStyle(textarea).lineHeight) || 20;
      var height = menu.hidden ? 0 : menu.offsetHeight;
      var top = below + height > textarea.clientHeight ? below - line - height - 8 : below;
      menu.style.top = textarea.offsetTop + Math.max(4, top) + "px";
    }

    function openMenuFor(query) {
      placeMenu();
      window.clearTimeout(searchTimer);
      if (!query.trim()) {
        showMessage("Type a title or a number to cite an item, insight or highlight.");
        options = [];
        active = -1;
        return;
      }
      searchTimer = window.setTimeout(function () {
        var seq = ++searchSeq;
        fetch(searchUrl + "?q=" + encodeURIComponent(query), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        }).then(function (response) { return response.json(); }).then(function (data) {
          if (seq !== searchSeq || menu.hidden) return;
          showResults(data.results || []);
        }).catch(function () { showMessage("Search is unavailable right now."); });
      }, SEARCH_DELAY);
    }

    function pendingReference() {
      if (textarea.selectionStart !== textarea.selectionEnd) return null;
      var before = textarea.value.slice(0, textarea.selectionStart);
      var match = REF_BEFORE_CARET.exec(before);
      if (!match) return null;
      return { start: before.length - match[0].length, query: match[1] };
    }

    function choose(index) {
      var result = options[index];
      var pending = pendingReference();
      if (!result || !pending) { closeMenu(); return; }
      var end = textarea.selectionStart;
      // Swallow a "]]" the person already typed after the caret.
      if (textarea.value.slice(end, end + 2) === "]]") end += 2;
      closeMenu();
      replaceRange(pending.start, end, result.ref, result.ref.length);
    }

    function refreshMenu() {
      var pending = pendingReference();
      if (pending) openMenuFor(pending.query);
      else if (!menu.hidden) closeMenu();
    }

    textarea.addEventListener("input", function () {
      schedulePreview();
      refreshMenu();
    });
    textarea.addEventListener("click", refreshMenu);
    textarea.addEventListener("scroll", syncScroll);
    textarea.addEventListener("blur", function () { window.setTimeout(closeMenu, 150); });

    textarea.addEventListener("keydown", function (event) {
      if (!menu.hidden && options.length) {
        if (event.key === "ArrowDown") { event.preventDefault(); setActive(active + 1); return; }
        if (event.key === "ArrowUp") { event.preventDefault(); setActive(active - 1); return; }
        if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); choose(active); return; }
      }
      if (!menu.hidden && event.key === "Escape") { event.preventDefault(); closeMenu(); return; }
      var mod = event.ctrlKey || event.metaKey;
      if (!mod || event.altKey) return;
      var key = event.key.toLowerCase();
      if (key === "b") { event.preventDefault(); actions.bold(); }
      else if (key === "i") { event.preventDefault(); actions.italic(); }
      else if (key === "k") { event.preventDefault(); event.stopPropagation(); actions.link(); }
    });

    /* Leaving with unsaved text asks first; saving does not. */
    var saved = textarea.value;
    var titleInput = form.querySelector("input[name=title]");
    var savedTitle = titleInput ? titleInput.value : "";
    var submitting = false;
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      // A refused save (conflict, error) came back with text that is not saved yet.
      var changed = form.hasAttribute("data-unsaved") || textarea.value !== saved ||
        (titleInput && titleInput.value !== savedTitle);
      if (submitting || !changed) return;
      event.preventDefault();
      event.returnValue = "";
    });

    /* Ctrl/Cmd-S saves from anywhere on the page */
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });
  }

  /* --- list: j / k move between documents, Enter opens ---------------------------------- */
  function initList() {
    var links = Array.prototype.slice.call(document.querySelectorAll(".doc-table__title"));
    if (!links.length) return;
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key !== "j" && event.key !== "k") return;
      event.preventDefault();
      var at = links.indexOf(document.activeElement);
      var next = event.key === "j" ? at + 1 : at - 1;
      if (at === -1) next = 0;
      links[Math.max(0, Math.min(links.length - 1, next))].focus();
    });
  }

  function init() {
    initList();
    initNew();
    initDetail();
    document.querySelectorAll("[data-doc-editor]").forEach(initEditor);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
