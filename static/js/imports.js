/* Import upload: refuse a file over the size limit before sending it.
 *
 * The server answers a request over its limit with a bare 413; checking here first lets the PM
 * see the reason next to the field instead. The server still checks (this is only a courtesy).
 *   input[type=file][data-max-bytes]   the largest file the page accepts
 */
(function () {
  "use strict";

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.ceil(bytes / 1024) + " KB";
  }

  function check(input) {
    var limit = Number(input.dataset.maxBytes);
    var file = input.files && input.files[0];
    if (file && limit && file.size > limit) {
      input.setCustomValidity(
        "This file is " + size(file.size) + "; files up to " + size(limit) + " can be imported."
      );
    } else {
      input.setCustomValidity("");
    }
    return input.checkValidity();
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.dataset.maxBytes) {
      if (!check(input)) input.reportValidity();
    }
  });

  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll("input[type=file][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      if (!check(inputs[i])) {
        event.preventDefault();
        inputs[i].reportValidity();
        return;
      }
    }
  });
})();
