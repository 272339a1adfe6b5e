// The ticket page: composer modes (#reply / #note), shortcuts, macro text, live refreshes.
(function () {
  "use strict";
  const ticketId = document.body.dataset.ticket;
  if (!ticketId) return;
  const $ = (selector) => document.querySelector(selector);

  function mode(which) {
    const radio = $(which === "note" ? "#mode-note" : "#mode-reply") || $("#mode-note");
    const text = $("#composer-text");
    if (radio) radio.checked = true;
    placeholder();
    if (text) text.focus();
  }

  function placeholder() {
    const text = $("#composer-text");
    const note = $("#mode-note");
    if (!text || !note) return;
    text.placeholder = note.checked ? text.dataset.notePlaceholder : text.dataset.replyPlaceholder;
  }

  function click(selector) {
    const button = $(selector);
    if (button && !button.disabled) button.click();
  }

  SellerDesk.keys.on("r", () => mode("reply"));
  SellerDesk.keys.on("n", () => mode("note"));
  SellerDesk.keys.on("e", () => click("#solve-ticket"));
  SellerDesk.keys.on("a", () => click("#assign-me"));

  function fromHash() {
    if (location.hash === "#reply" || location.hash === "#note") mode(location.hash.slice(1));
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();

  document.addEventListener("change", (event) => {
    if (event.target.name === "mode") placeholder();
  });

  // Ctrl+Enter (Cmd+Enter on a Mac) sends from the composer.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!event.target.closest("[data-composer]")) return;
    event.preventDefault();
    click("#send-button");
  });

  // A picked macro's text goes into an empty composer at once, else on "Use this text".
  function useMacro(force) {
    const source = $("#macro-text");
    const text = $("#composer-text");
    if (!source || !text) return;
    if (force || !text.value.trim()) text.value = source.textContent;
    text.focus();
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-use-macro]")) useMacro(true);
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "macro-preview") useMacro(false);
    if (event.detail.target && event.detail.target.id === "composer") {
      placeholder();
      const text = $("#composer-text");
      if (text) text.focus();
    }
  });

  // Refused input (4xx) is shown where the form is, not only in the banner.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    const elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (status >= 400 && status < 500 && status !== 401 && elt &&
        elt.closest("[data-ticket-form], #macro-preview, .macro-pick")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Live: refresh what changed when the event is about this ticket.
  let pending = null;
  function refresh(sidebarToo) {
    clearTimeout(pending);
    pending = setTimeout(() => {
      htmx.trigger(document.body, "ticket:refresh");
      const side = $("#sidebar");
      // Not while the agent is typing in the sidebar: the edit would be lost.
      if (sidebarToo && side && !side.contains(document.activeElement)) {
        htmx.trigger(document.body, "ticket:sidebar");
      }
    }, 300);
  }
  function mine(event) {
    return event.detail && String(event.detail.ticket_id) === ticketId;
  }
  document.body.addEventListener("live:message.created", (e) => { if (mine(e)) refresh(true); });
  document.body.addEventListener("live:ticket.updated", (e) => { if (mine(e)) refresh(true); });
  document.body.addEventListener("live:sla.updated", (e) => { if (mine(e)) refresh(true); });
  document.body.addEventListener("live:message.delivery", (e) => {
    if (!mine(e)) return;
    const el = document.querySelector(`[data-message-id="${Number(e.detail.message_id)}"]`);
    if (el) htmx.trigger(el, "delivery:refresh"); else refresh(false);
  });
})();
