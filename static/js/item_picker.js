/* pmhub — the item edit form's parent picker.
 *
 * Without this file (or htmx) the form shows "No parent" and the parent chosen now as radios, and
 * saving posts the checked one. htmx asks the server for the epics and features matching what is
 * typed (the radios replace the list); this file makes that keyboard friendly: in the search
 * field ↓ moves to the list (the arrows then move through the radios, as radios do), Enter picks
 * the first match instead of saving the whole form, and ↑ from the list's top returns to the
 * search field.
 */
(function () {
  "use strict";

  var find = document.querySelector("[data-parent-find]");
  if (!find) return;

  function radios() {
    var list = document.querySelector("[data-parent-options]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("input[type=radio]")) : [];
  }

  /* The first match: the first radio after "No parent" and the one chosen now. */
  function firstMatch() {
    var all = radios();
    for (var i = 0; i < all.length; i++) {
      if (all[i].value && !all[i].checked) return all[i];
    }
    return null;
  }

  find.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      var all = radios();
      var target = firstMatch() || all[0];
      if (target) {
        event.preventDefault();
        target.focus();
      }
    } else if (event.key === "Enter") {
      event.preventDefault();
      var match = firstMatch();
      if (match) {
        match.checked = true;
        match.focus();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key !== "ArrowUp" || !el || el.name !== "parent") return;
    if (radios()[0] === el) {
      event.preventDefault();
      find.focus();
    }
  });
})();
