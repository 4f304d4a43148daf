/* Stakeholder digests: j / k move between the stakeholders of the list, Enter opens one. */
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function initList() {
    var links = Array.prototype.slice.call(document.querySelectorAll(".stakeholder-cell__name"));
    if (!links.length) return;
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key !== "j" && event.key !== "k") return;
      event.preventDefault();
      var at = links.indexOf(document.activeElement);
      var next = at === -1 ? 0 : at + (event.key === "j" ? 1 : -1);
      links[Math.max(0, Math.min(links.length - 1, next))].focus();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initList);
  else initList();
})();
