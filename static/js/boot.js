/* Runs before first paint (loaded without defer): marks JS as available and applies the saved
 * theme and sidebar state, so pages do not flash. Keep it tiny; everything else is in app.js. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var theme = window.localStorage.getItem("pmhub:theme");
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    if (window.localStorage.getItem("pmhub:sidebar") === "collapsed") {
      root.setAttribute("data-sidebar", "collapsed");
    }
  } catch (e) {
    /* Storage blocked: follow the system theme and keep the sidebar open. */
  }
})();
