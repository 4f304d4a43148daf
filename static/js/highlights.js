/* pmhub — highlighting words in a transcript or a feedback text.
 *
 *   [data-highlight-text]     the text: only text nodes and <mark data-highlight-id>, pre-wrap
 *   [data-highlight-popover]  the form shown under a selection (start, end, tag_ids), posted as
 *                             a normal form; the page redirects back with the highlight in place
 *   [data-color="#rrggbb"]    a tag colour, applied as --tag-color (CSSOM; no style attributes)
 *
 * Offsets are counted in Unicode code points over the container's text, marks included, which is
 * how Python indexes the stored string (a JS string counts UTF-16 units: an emoji is 2 there).
 */
(function () {
  "use strict";

  var COLOR = /^#[0-9a-fA-F]{6}$/;

  function applyColors(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll("[data-color]"), function (el) {
      var color = el.getAttribute("data-color");
      if (COLOR.test(color)) el.style.setProperty("--tag-color", color);
    });
  }

  function codePoints(text) {
    var count = 0;
    for (var i = 0; i < text.length; i++) {
      var unit = text.charCodeAt(i);
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
        var next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) i++;
      }
      count++;
    }
    return count;
  }

  /* The selection clipped to `container`, as {start, end, text} in code points, or null. */
  function selectionOffsets(container) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0).cloneRange();
    if (!range.intersectsNode(container)) return null;
    if (!container.contains(range.startContainer)) range.setStart(container, 0);
    if (!container.contains(range.endContainer)) range.setEnd(container, container.childNodes.length);
    var before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    var text = range.toString();
    var start = codePoints(before.toString());
    // Leave out the spaces a double click or a sloppy drag picks up at either end.
    var leading = text.length - text.replace(/^\s+/, "").length;
    var trimmed = text.trim();
    if (!trimmed) return null;
    start += codePoints(text.slice(0, leading));
    return { start: start, end: start + codePoints(trimmed), text: trimmed, range: range };
  }

  function Tool(root) {
    this.root = root;
    this.text = root.querySelector("[data-highlight-text]");
    this.popover = root.querySelector("[data-highlight-popover]");
    if (!this.text || !this.popover) return;
    this.start = this.popover.querySelector("[data-highlight-start]");
    this.end = this.popover.querySelector("[data-highlight-end]");
    this.quote = this.popover.querySelector("[data-highlight-quote]");
    this.preview = this.popover.querySelector("[data-highlight-preview]");
    var tool = this;
    var later = function (event) {
      if (tool.popover.contains(event.target)) return;
      window.setTimeout(function () {
        tool.update();
      }, 0);
    };
    document.addEventListener("mouseup", later);
    document.addEventListener("keyup", function (event) {
      if (event.key === "Escape") {
        tool.hide(true);
        return;
      }
      if (event.shiftKey || event.key === "Shift") later(event);
    });
    document.addEventListener("mousedown", function (event) {
      if (!tool.popover.hidden && !tool.popover.contains(event.target)) tool.hide(false);
    });
    var cancel = this.popover.querySelector("[data-highlight-cancel]");
    if (cancel) {
      cancel.addEventListener("click", function () {
        tool.hide(true);
      });
    }
    this.popover.addEventListener("submit", function () {
      var button = tool.popover.querySelector("[data-highlight-submit]");
      if (button) button.disabled = true;
    });
  }

  Tool.prototype.update = function () {
    var found = selectionOffsets(this.text);
    if (!found) return;
    this.start.value = String(found.start);
    this.end.value = String(found.end);
    // The words themselves let the server find them again if the text changed meanwhile.
    if (this.quote) this.quote.value = found.text;
    this.preview.textContent = "“" + found.text + "”";
    this.show(found.range);
  };

  Tool.prototype.show = function (range) {
    var box = range.getBoundingClientRect();
    var rects = range.getClientRects();
    var last = rects.length ? rects[rects.length - 1] : box;
    var frame = this.root.getBoundingClientRect();
    this.popover.hidden = false;
    var width = this.popover.offsetWidth;
    var left = Math.max(0, Math.min(last.left - frame.left, frame.width - width));
    this.popover.style.left = left + "px";
    this.popover.style.top = last.bottom - frame.top + 8 + "px";
    var live = document.getElementById("live-region");
    if (live) live.textContent = "Selection ready to highlight. Press Tab to choose tags.";
  };

  Tool.prototype.hide = function (returnFocus) {
    if (this.popover.hidden) return;
    this.popover.hidden = true;
    if (returnFocus) this.text.focus();
  };

  /* A click on a mark shows its entry in the list. */
  function linkMarks(scope) {
    scope.addEventListener("click", function (event) {
      var mark = event.target.closest("mark[data-highlight-id]");
      if (!mark) return;
      var selection = window.getSelection();
      if (selection && !selection.isCollapsed) return;
      var item = document.getElementById("highlight-item-" + mark.getAttribute("data-highlight-id"));
      if (!item) return;
      item.scrollIntoView({ block: "nearest", behavior: "smooth" });
      item.classList.add("is-flash");
      window.setTimeout(function () {
        item.classList.remove("is-flash");
      }, 1600);
    });
  }

  function start() {
    applyColors(document);
    Array.prototype.forEach.call(document.querySelectorAll("[data-highlight-root]"), function (root) {
      new Tool(root);
      linkMarks(root);
    });
  }

  window.pmhubHighlights = { selectionOffsets: selectionOffsets, codePoints: codePoints };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
