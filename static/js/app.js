/* pmhub — the little the browser must do beyond HTML and htmx.
 *
 * No inline handlers anywhere (strict CSP): everything hooks in here through data attributes.
 *   [data-palette]          an entry of the Ctrl/Cmd-K command palette (link or button)
 *   [data-nav-key="d"]      target of the "g d" shortcut
 *   [data-confirm]          a form (or submit button) that asks before submitting
 *   [data-copy="#id"]       a button that copies the target's text
 *   [data-autosubmit]       a select that submits its form on change
 *   [data-slug-from="#id"]  an input filled with a slug of another input until edited
 *   [data-toast]            a flash message that dismisses itself
 *   [data-sidebar-toggle]   collapses the sidebar (desktop) or opens the drawer (tablet)
 *   [data-theme-toggle]     cycles system → light → dark
 *   [data-open-dialog="id"] opens a <dialog>
 */
(function () {
  "use strict";

  var root = document.documentElement;
  var NARROW = window.matchMedia("(max-width: 899px)");

  function $(selector, scope) {
    return (scope || document).querySelector(selector);
  }

  function $$(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) {
      /* Private mode or storage disabled: the choice lasts for this page only. */
    }
  }

  var TEXT_INPUT = /^(text|search|email|password|url|tel|number|date|datetime-local|month|time|week)$/;

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && TEXT_INPUT.test(el.type || "text");
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  /* A toast for what a script did (server messages arrive as [data-toast]), said to screen
     readers too; gone after `ms` (errors stay longer). */
  function toast(text, kind, ms) {
    var live = document.getElementById("live-region");
    if (live) live.textContent = text;
    var region = document.querySelector(".toasts");
    if (!region) return;
    var node = document.createElement("div");
    node.className = "toast toast--" + (kind || "success");
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    var p = document.createElement("p");
    p.className = "toast__text";
    p.textContent = text;
    node.appendChild(p);
    region.appendChild(node);
    window.setTimeout(function () {
      node.remove();
    }, kind === "error" ? 8000 : ms || 3000);
  }

  /* For the pages' own scripts, which load before this one: they look these up when called. */
  window.pmhub = { isTyping: isTyping, csrfToken: csrfToken, toast: toast };

  function openDialog() {
    return $("dialog[open]");
  }

  var live;
  function announce(text) {
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = text;
    }, 30);
  }

  /* ---- Theme ------------------------------------------------------------------------------ */

  var THEMES = ["system", "light", "dark"];
  var THEME_LABELS = { system: "System", light: "Light", dark: "Dark" };

  function currentTheme() {
    return root.getAttribute("data-theme") || "system";
  }

  function setTheme(theme) {
    if (theme === "system") {
      root.removeAttribute("data-theme");
      store("pmhub:theme", null);
    } else {
      root.setAttribute("data-theme", theme);
      store("pmhub:theme", theme);
    }
    syncThemeButtons();
  }

  function syncThemeButtons() {
    var theme = currentTheme();
    var next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    $$("[data-theme-toggle]").forEach(function (button) {
      var label = "Theme: " + THEME_LABELS[theme] + ". Switch to " + THEME_LABELS[next].toLowerCase();
      button.setAttribute("aria-label", label);
      button.setAttribute("title", label);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-toggle]");
    if (!button) return;
    var theme = currentTheme();
    var next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    setTheme(next);
    announce("Theme: " + THEME_LABELS[next]);
  });

  /* ---- Sidebar: collapse on desktop, drawer on tablet -------------------------------------- */

  function drawerOpen() {
    return root.classList.contains("drawer-open");
  }

  function setDrawer(open, returnFocus) {
    root.classList.toggle("drawer-open", open);
    syncSidebarButtons();
    if (open) {
      var first = $("#sidebar summary, #sidebar a, #sidebar button");
      if (first) first.focus();
    } else if (returnFocus) {
      var toggle = $(".topbar [data-sidebar-toggle]");
      if (toggle) toggle.focus();
    }
  }

  function syncSidebarButtons() {
    var expanded = NARROW.matches
      ? drawerOpen()
      : root.getAttribute("data-sidebar") !== "collapsed";
    $$("[data-sidebar-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", expanded ? "true" : "false");
      var label = NARROW.matches
        ? (expanded ? "Close navigation" : "Open navigation")
        : (expanded ? "Collapse sidebar" : "Expand sidebar");
      button.setAttribute("aria-label", label);
      button.setAttribute("title", label);
    });
  }

  function toggleSidebar() {
    if (NARROW.matches) {
      setDrawer(!drawerOpen(), true);
      return;
    }
    var collapsed = root.getAttribute("data-sidebar") === "collapsed";
    if (collapsed) root.removeAttribute("data-sidebar");
    else root.setAttribute("data-sidebar", "collapsed");
    store("pmhub:sidebar", collapsed ? null : "collapsed");
    syncSidebarButtons();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-sidebar-toggle]")) {
      toggleSidebar();
    } else if (event.target.closest("[data-drawer-close]")) {
      setDrawer(false, true);
    }
  });

  var onWidthChange = function () {
    if (!NARROW.matches && drawerOpen()) root.classList.remove("drawer-open");
    syncSidebarButtons();
  };
  if (NARROW.addEventListener) NARROW.addEventListener("change", onWidthChange);

  /* ---- Menus built on <details data-menu> ------------------------------------------------- */

  document.addEventListener("click", function (event) {
    $$("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  function closeMenus() {
    var closed = false;
    $$("details[data-menu][open]").forEach(function (menu) {
      menu.open = false;
      var summary = $("summary", menu);
      if (summary && menu.contains(document.activeElement)) summary.focus();
      closed = true;
    });
    return closed;
  }

  /* ---- Forms: confirm, autosubmit, slug --------------------------------------------------- */

  // Capture phase, so that a refusal stops htmx and every other submit listener too.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-autosubmit]") || !select.form) return;
    if (select.form.requestSubmit) select.form.requestSubmit();
    else select.form.submit();
  });

  function slugify(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/g, "");
  }

  function initSlugs() {
    $$("input[data-slug-from]").forEach(function (slug) {
      var source = $(slug.getAttribute("data-slug-from"));
      if (!source) return;
      // Follow the name until the person edits the address themselves.
      var edited = slug.value !== "" && slug.value !== slugify(source.value);
      source.addEventListener("input", function () {
        if (!edited) slug.value = slugify(source.value);
      });
      slug.addEventListener("input", function () {
        edited = slug.value !== "";
      });
    });
  }

  /* ---- Copy to clipboard ------------------------------------------------------------------ */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var target = $(button.getAttribute("data-copy"));
    if (!target) return;
    var text = "value" in target && target.tagName !== "BUTTON" ? target.value : target.textContent;
    var label = $(".copy-label", button) || button;
    var original = label.getAttribute("data-label") || label.textContent;
    label.setAttribute("data-label", original);
    copyText(text.trim()).then(
      function () {
        label.textContent = "Copied";
        announce("Copied to clipboard");
      },
      function () {
        label.textContent = "Press Ctrl+C";
        if (target.select) target.select();
      }
    );
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      label.textContent = original;
    }, 2000);
  });

  /* ---- Toasts ----------------------------------------------------------------------------- */

  function dismissToast(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    window.setTimeout(function () {
      if (toast.parentNode) toast.parentNode.removeChild(toast);
    }, 180);
  }

  function initToasts(scope) {
    $$("[data-toast]", scope).forEach(function (toast) {
      if (toast._toastReady) return;
      toast._toastReady = true;
      var delay = parseInt(toast.getAttribute("data-timeout"), 10) || 5000;
      var timer = null;
      var start = function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          dismissToast(toast);
        }, delay);
      };
      var pause = function () {
        window.clearTimeout(timer);
      };
      toast.addEventListener("mouseenter", pause);
      toast.addEventListener("mouseleave", start);
      toast.addEventListener("focusin", pause);
      toast.addEventListener("focusout", start);
      start();
    });
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-toast-close]");
    if (close) dismissToast(close.closest("[data-toast]"));
  });

  /* ---- Dialogs ---------------------------------------------------------------------------- */

  function showDialog(dialog) {
    if (!dialog || dialog.open) return;
    var other = openDialog();
    if (other) other.close();
    closeMenus();
    dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      showDialog(document.getElementById(opener.getAttribute("data-open-dialog")));
      return;
    }
    // A click on the backdrop lands on the <dialog> itself: close it.
    if (event.target.tagName === "DIALOG" && event.target.open) {
      var box = event.target.getBoundingClientRect();
      var inside =
        event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.target.close();
    }
  });

  /* ---- Command palette -------------------------------------------------------------------- */

  var palette = {
    dialog: null,
    input: null,
    list: null,
    empty: null,
    icons: "",
    entries: [],
    shown: [],
    active: 0,
  };

  function entryFrom(el) {
    var label = el.getAttribute("data-palette");
    if (!label) return null;
    return {
      label: label,
      group: el.getAttribute("data-palette-group") || "Go to",
      hint: el.getAttribute("data-palette-hint") || "",
      keywords: el.getAttribute("data-palette-keywords") || "",
      icon: el.getAttribute("data-palette-icon") || "arrow-right",
      href: el.tagName === "A" ? el.href : "",
      el: el.tagName === "A" ? null : el,
    };
  }

  function collectEntries() {
    var entries = [];
    var seen = {};
    var add = function (entry) {
      if (!entry) return;
      var key = entry.group + "|" + entry.label + "|" + entry.href;
      if (seen[key]) return;
      seen[key] = true;
      entries.push(entry);
    };
    $$("[data-palette]").forEach(function (el) {
      if (!palette.dialog.contains(el)) add(entryFrom(el));
    });
    $$("template[data-palette-extra]").forEach(function (template) {
      $$("[data-palette]", template.content).forEach(function (el) {
        add(entryFrom(el));
      });
    });
    var theme = currentTheme();
    THEMES.forEach(function (name) {
      if (name === theme) return;
      add({
        label: "Use " + THEME_LABELS[name].toLowerCase() + " theme",
        group: "Actions",
        hint: "",
        keywords: "appearance dark light mode colour color",
        icon: name === "system" ? "monitor" : name === "light" ? "sun" : "moon",
        run: function () {
          setTheme(name);
        },
      });
    });
    if ($("[data-sidebar-toggle]")) {
      add({
        label: "Toggle sidebar",
        group: "Actions",
        hint: "",
        keywords: "collapse expand navigation",
        icon: "sidebar",
        run: toggleSidebar,
      });
    }
    if ($("#shortcuts")) {
      add({
        label: "Keyboard shortcuts",
        group: "Actions",
        hint: "?",
        keywords: "help keys hotkeys",
        icon: "keyboard",
        run: function () {
          showDialog($("#shortcuts"));
        },
      });
    }
    // Actions last, whatever order the page declared them in.
    var order = ["Go to", "Settings", "Workspaces", "Actions"];
    return entries
      .map(function (entry, index) {
        var rank = order.indexOf(entry.group);
        return { entry: entry, rank: rank < 0 ? order.length : rank, index: index };
      })
      .sort(function (a, b) {
        return a.rank - b.rank || a.index - b.index;
      })
      .map(function (item) {
        return item.entry;
      });
  }

  /* Subsequence match: every query character in order. Higher scores for word starts, runs and
   * early matches. Returns null when it does not match, else {score, positions}. */
  function isWordStart(text, at) {
    return at === 0 || /[\s\-_/·]/.test(text.charAt(at - 1));
  }

  function fuzzyPass(q, t, preferWordStarts) {
    var positions = [];
    var score = 0;
    var from = 0;
    var prev = -2;
    for (var i = 0; i < q.length; i++) {
      var ch = q.charAt(i);
      if (ch === " ") continue;
      var at = t.indexOf(ch, from);
      if (at < 0) return null;
      if (preferWordStarts && at !== prev + 1) {
        var word = at;
        while (word >= 0 && !isWordStart(t, word)) word = t.indexOf(ch, word + 1);
        if (word >= 0) at = word;
      }
      score += 1 + (at === prev + 1 ? 5 : 0) + (isWordStart(t, at) ? 8 : 0);
      positions.push(at);
      prev = at;
      from = at + 1;
    }
    score -= t.length * 0.05 + (positions[0] || 0) * 0.2;
    return { score: score, positions: positions };
  }

  function fuzzy(query, text) {
    var q = query.toLowerCase();
    var t = text.toLowerCase();
    return fuzzyPass(q, t, true) || fuzzyPass(q, t, false);
  }

  function filterEntries(query) {
    query = query.trim();
    if (!query) {
      return palette.entries.map(function (entry) {
        return { entry: entry, positions: [] };
      });
    }
    var results = [];
    palette.entries.forEach(function (entry, index) {
      var match = fuzzy(query, entry.label);
      var positions = match ? match.positions : [];
      if (!match) {
        match = fuzzy(query, entry.group + " " + entry.keywords);
        if (match) match.score -= 10;
      }
      if (match) results.push({ entry: entry, positions: positions, score: match.score, index: index });
    });
    results.sort(function (a, b) {
      return b.score - a.score || a.index - b.index;
    });
    // Last, always: full-text search of the workspace for what was typed.
    var searchUrl = $("#global-search") && $("#global-search").getAttribute("data-search-url");
    if (searchUrl) {
      results.push({
        entry: {
          label: "Search “" + query + "” in Discovery",
          group: "Search",
          hint: "",
          keywords: "",
          icon: "search",
          run: function () {
            window.location.href = searchUrl + "?q=" + encodeURIComponent(query);
          },
        },
        positions: [],
      });
    }
    return results;
  }

  function iconNode(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(ns, "use");
    use.setAttribute("href", palette.icons + "#" + name);
    svg.appendChild(use);
    return svg;
  }

  function labelNode(text, positions) {
    var span = document.createElement("span");
    span.className = "palette__label";
    var marks = {};
    positions.forEach(function (p) {
      marks[p] = true;
    });
    var run = "";
    var flush = function () {
      if (run) span.appendChild(document.createTextNode(run));
      run = "";
    };
    for (var i = 0; i < text.length; i++) {
      if (marks[i]) {
        flush();
        var mark = document.createElement("mark");
        mark.textContent = text.charAt(i);
        span.appendChild(mark);
      } else {
        run += text.charAt(i);
      }
    }
    flush();
    return span;
  }

  function renderPalette() {
    var query = palette.input.value;
    var results = filterEntries(query);
    var grouped = !query.trim();
    palette.shown = results.map(function (r) {
      return r.entry;
    });
    palette.list.textContent = "";
    var lastGroup = null;
    results.forEach(function (result, index) {
      var entry = result.entry;
      if (grouped && entry.group !== lastGroup) {
        var heading = document.createElement("li");
        heading.className = "palette__group";
        heading.setAttribute("role", "presentation");
        heading.textContent = entry.group;
        palette.list.appendChild(heading);
        lastGroup = entry.group;
      }
      var option = document.createElement("li");
      option.className = "palette__option";
      option.id = "palette-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("data-index", String(index));
      option.appendChild(iconNode(entry.icon));
      option.appendChild(labelNode(entry.label, result.positions));
      var hintText = grouped ? entry.hint : entry.hint || entry.group;
      if (hintText) {
        var hint = document.createElement("span");
        hint.className = "palette__hint";
        hint.textContent = hintText;
        option.appendChild(hint);
      }
      palette.list.appendChild(option);
    });
    palette.empty.hidden = results.length > 0;
    palette.list.hidden = results.length === 0;
    setActive(0);
  }

  function setActive(index) {
    var options = $$('[role="option"]', palette.list);
    if (!options.length) {
      palette.active = -1;
      palette.input.removeAttribute("aria-activedescendant");
      return;
    }
    palette.active = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === palette.active ? "true" : "false");
    });
    var current = options[palette.active];
    palette.input.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function runEntry(entry) {
    if (!entry) return;
    if (entry.href) {
      window.location.assign(entry.href);
      return;
    }
    palette.dialog.close();
    if (entry.run) entry.run();
    else if (entry.el) entry.el.click();
  }

  function openPalette(query) {
    if (!palette.dialog) return;
    palette.entries = collectEntries();
    palette.input.value = query || "";
    renderPalette();
    if (!palette.dialog.open) showDialog(palette.dialog);
    palette.input.focus();
    var end = palette.input.value.length;
    palette.input.setSelectionRange(end, end);
  }

  function initPalette() {
    palette.dialog = $("#palette");
    if (!palette.dialog) return;
    palette.input = $("#palette-input");
    palette.list = $("#palette-list");
    palette.empty = $("#palette-empty");
    palette.icons = palette.dialog.getAttribute("data-icons") || "";

    palette.input.addEventListener("input", renderPalette);
    palette.input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || (event.ctrlKey && event.key === "n")) {
        event.preventDefault();
        setActive(palette.active + 1);
      } else if (event.key === "ArrowUp" || (event.ctrlKey && event.key === "p")) {
        event.preventDefault();
        setActive(palette.active - 1);
      } else if (event.key === "Home" && event.ctrlKey) {
        event.preventDefault();
        setActive(0);
      } else if (event.key === "End" && event.ctrlKey) {
        event.preventDefault();
        setActive(-1);
      } else if (event.key === "Enter") {
        event.preventDefault();
        runEntry(palette.shown[palette.active]);
      }
    });
    palette.list.addEventListener("click", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option) runEntry(palette.shown[parseInt(option.getAttribute("data-index"), 10)]);
    });
    palette.list.addEventListener("mousemove", function (event) {
      var option = event.target.closest('[role="option"]');
      if (!option) return;
      var index = $$('[role="option"]', palette.list).indexOf(option);
      if (index !== palette.active) setActive(index);
    });
    palette.dialog.addEventListener("close", function () {
      palette.input.value = "";
      palette.list.textContent = "";
    });

    // The top bar's search field is the palette's front door: typing there continues in it.
    var search = $("#global-search");
    if (search) {
      search.addEventListener("input", function () {
        var value = search.value;
        search.value = "";
        openPalette(value);
      });
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === "ArrowDown") {
          event.preventDefault();
          openPalette(search.value);
          search.value = "";
        } else if (event.key === "Escape") {
          search.blur();
        }
      });
      search.addEventListener("click", function () {
        openPalette("");
      });
    }
  }

  /* ---- Keyboard shortcuts ----------------------------------------------------------------- */

  var pendingG = false;
  var pendingTimer = null;

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    var key = event.key;

    if ((event.metaKey || event.ctrlKey) && !event.altKey && !event.shiftKey && (key === "k" || key === "K")) {
      if (!palette.dialog) return;
      event.preventDefault();
      if (palette.dialog.open) palette.dialog.close();
      else openPalette("");
      return;
    }

    if (key === "Escape") {
      if (closeMenus()) {
        event.preventDefault();
        return;
      }
      if (drawerOpen() && !openDialog()) {
        event.preventDefault();
        setDrawer(false, true);
      }
      return;
    }

    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (isTyping(event.target) || openDialog()) return;

    if (pendingG) {
      pendingG = false;
      window.clearTimeout(pendingTimer);
      var link = $('[data-nav-key="' + key.toLowerCase() + '"]');
      if (link && link.href) {
        event.preventDefault();
        window.location.assign(link.href);
      }
      return;
    }

    if (key === "/") {
      var search = $("#global-search");
      if (search && search.offsetParent !== null) {
        event.preventDefault();
        search.focus();
      } else if (palette.dialog) {
        event.preventDefault();
        openPalette("");
      }
    } else if (key === "?") {
      var help = $("#shortcuts");
      if (help) {
        event.preventDefault();
        showDialog(help);
      }
    } else if (key === "g" || key === "G") {
      if (!$("[data-nav-key]")) return;
      pendingG = true;
      window.clearTimeout(pendingTimer);
      pendingTimer = window.setTimeout(function () {
        pendingG = false;
      }, 1500);
    }
  });

  /* ---- Start ------------------------------------------------------------------------------ */

  function start() {
    live = $("#live-region");
    if (!live) {
      live = document.createElement("div");
      live.id = "live-region";
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    syncThemeButtons();
    syncSidebarButtons();
    initSlugs();
    initToasts(document);
    initPalette();
  }

  // htmx swaps in new content: give new toasts their timers.
  document.addEventListener("htmx:load", function (event) {
    initToasts(event.target);
  });

  // htmx leaves 4xx answers unswapped. An element marked data-swap-errors takes its 404 anyway:
  // the answer explains itself (the rule being edited was deleted meanwhile, and the section
  // as it is now says so).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var source = detail.requestConfig && detail.requestConfig.elt;
    if (detail.xhr.status === 404 && source && source.closest("[data-swap-errors]")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // Nor does it swap a 503, and a click would seem to do nothing: while the database is
  // unavailable (templates/503.html) say so, in the words of the API's 503.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr.status !== 503) return;
    toast("The database is unavailable for a moment; try again in a few seconds.", "error");
  });

  // Escape inside an inline edit form (data-escape-cancel) follows its Cancel link.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    var form = event.target.closest && event.target.closest("[data-escape-cancel]");
    var cancel = form && form.querySelector("[data-cancel]");
    if (!cancel) return;
    event.preventDefault();
    cancel.click();
  });

  // A search field living inside a bigger form (data-search-field, e.g. the customer picker of
  // Add feedback): Enter searches at once instead of submitting a form, which would reload the
  // page and lose what was typed around it. Without JS, Enter submits the search's own form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing || !window.htmx) return;
    var field = event.target.closest && event.target.closest("[data-search-field]");
    if (!field) return;
    event.preventDefault();
    window.htmx.trigger(field, "search");
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
