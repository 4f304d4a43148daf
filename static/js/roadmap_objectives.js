/* pmhub — the objective page (templates/roadmap/objective_detail.html).
 *
 * Without this file every form posts and the page reloads. With htmx, recording a value swaps in
 * the page's main region (#objective-main: the roll-up and every key result with its chart);
 * this file then says what happened as a toast (the answer's [data-notice]) and puts the focus
 * back where the person was: on the same key result's value field, or on the first field with an
 * error. In the link picker, ↑ from the first match returns to the search field (item_picker.js
 * does ↓ and Enter).
 */
(function () {
  "use strict";

  var lastForm = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("[data-record-form]");
    lastForm = form ? form.getAttribute("data-record-form") : null;
  });

  // htmx:load fires on the freshly swapped-in region (an outerHTML swap's old target is gone).
  document.addEventListener("htmx:load", function (event) {
    var main = event.target;
    if (!main || main.id !== "objective-main") return;
    var notice = main.querySelector("[data-notice]");
    if (notice && window.pmhub && window.pmhub.toast) window.pmhub.toast(notice.textContent);
    if (!lastForm) return;
    var form = main.querySelector('[data-record-form="' + lastForm + '"]');
    if (!form) return;
    var invalid = form.querySelector("[aria-invalid=true], .errorlist");
    var field = invalid && invalid.tagName !== "UL" ? invalid : form.querySelector("input[type=number]");
    if (field) field.focus();
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key !== "ArrowUp" || !el || el.name !== "item_id") return;
    var list = el.closest("[data-parent-options]");
    var first = list && list.querySelector("input[type=radio]");
    var find = document.querySelector("[data-parent-find]");
    if (first === el && find) {
      event.preventDefault();
      find.focus();
    }
  });
})();
