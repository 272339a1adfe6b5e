// Inbox: j/k move through rows, x selects, Enter/o opens, a assigns to me, e solves, r/n open
// the ticket with the reply / note composer. Selection and focus survive live refreshes.
(function () {
  "use strict";
  const SD = window.SellerDesk;
  const picked = new Set();
  let current = null;

  function rows() { return Array.from(document.querySelectorAll("#inbox-rows tr[data-id]")); }
  function focused() { return current && document.getElementById("ticket-" + current); }

  function focusRow(row, scroll) {
    rows().forEach(function (r) { r.setAttribute("aria-selected", String(r === row)); });
    current = row ? row.dataset.id : null;
    if (row && scroll) row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const list = rows();
    if (!list.length) return;
    const at = list.indexOf(focused());
    const next = at < 0 ? (step > 0 ? 0 : list.length - 1)
      : Math.min(list.length - 1, Math.max(0, at + step));
    focusRow(list[next], true);
  }

  function open(hash) {
    const row = focused();
    if (row) window.location.href = "/tickets/" + row.dataset.id + (hash || "");
  }

  function counter() {
    const el = document.getElementById("selected-count");
    if (el) el.textContent = picked.size ? el.dataset.template.replace("{n}", picked.size) : "";
  }

  function restore() {
    document.querySelectorAll("#inbox-rows input[name=ids]").forEach(function (box) {
      box.checked = picked.has(box.value);
    });
    const row = focused();
    if (row) focusRow(row, false); else if (current) current = null;
    counter();
  }

  function toggle(box, on) {
    box.checked = on;
    if (on) picked.add(box.value); else picked.delete(box.value);
  }

  // One ticket through the bulk endpoint (a: assign to me, e: solve).
  function act(values) {
    const row = focused();
    if (!row || !document.getElementById("bulk-bar")) return;
    values.ids = row.dataset.id;
    window.htmx.ajax("POST", "/inbox/bulk", { target: "#bulk-result", swap: "innerHTML",
                                              values: values });
  }

  SD.keys.on("j", function () { move(1); });
  SD.keys.on("k", function () { move(-1); });
  SD.keys.on("x", function () {
    const row = focused();
    const box = row && row.querySelector("input[name=ids]");
    if (box) { toggle(box, !box.checked); counter(); }
  });
  function enter(event) {
    // app.js took the key from whatever had focus: a focused link or button still works.
    const target = event.target;
    if (target && target.closest && target.closest("a, button, summary, input")) {
      target.click();
      return;
    }
    open("");
  }
  SD.keys.on("Enter", enter);
  SD.keys.on("o", function () { open(""); });
  SD.keys.on("r", function () { open("#reply"); });
  SD.keys.on("n", function () { open("#note"); });
  SD.keys.on("a", function () { act({ action: "assign", assignee: "me" }); });
  SD.keys.on("e", function () { act({ action: "status", status: "solved" }); });

  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el.matches("[data-navigate]")) { window.location.href = el.value; return; }
    if (el.id === "pick-all") {
      document.querySelectorAll("#inbox-rows input[name=ids]").forEach(function (box) {
        toggle(box, el.checked);
      });
    } else if (el.name === "ids") {
      toggle(el, el.checked);
    }
    counter();
  });

  document.addEventListener("click", function (event) {
    const row = event.target.closest("#inbox-rows tr[data-id]");
    if (row) focusRow(row, false);
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (document.getElementById("inbox-rows")) restore();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const path = event.detail.requestConfig && event.detail.requestConfig.path;
    if (path === "/inbox/bulk" && event.detail.successful) {
      picked.clear();
      const all = document.getElementById("pick-all");
      if (all) all.checked = false;
    }
  });
})();
