// SellerDesk workspace: keyboard shortcuts, the help overlay, error banner. Areas register
// their own keys with SellerDesk.keys.on(key, handler).
(function () {
  "use strict";
  const handlers = {};
  const SellerDesk = window.SellerDesk = {
    keys: {
      on(key, handler) { (handlers[key] = handlers[key] || []).push(handler); },
    },
    banner(text, kind) {
      const el = document.getElementById("live-banner");
      if (!el) return;
      el.textContent = text;
      el.className = "banner" + (kind ? " " + kind : "");
      el.hidden = !text;
    },
  };

  function typing(target) {
    return target && (target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function help(show) {
    const el = document.getElementById("help");
    if (!el) return;
    el.hidden = !show;
    if (show) el.querySelector("[data-close]").focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      help(false);
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "?") { help(true); event.preventDefault(); return; }
    if (event.key === "/") {
      const search = document.querySelector("[data-shortcut='/']");
      if (search) { search.focus(); event.preventDefault(); }
      return;
    }
    const list = handlers[event.key];
    if (list && list.length) {
      event.preventDefault();
      list.forEach(function (handler) { handler(event); });
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close]")) help(false);
  });

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const holder = document.createElement("div");
    holder.innerHTML = xhr.responseText || "";
    SellerDesk.banner(holder.textContent.trim() || String(xhr.status), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    SellerDesk.banner(document.body.dataset.offline || "Offline", "error");
  });
})();
