// SellerDesk live updates: one WebSocket (/ws) per page. Each server event is re-dispatched as
// an htmx trigger on <body> named "live:<type>" with the event as detail, so fragments refresh
// themselves (hx-trigger="live:ticket.updated from:body"). After a reconnect "live:resync"
// tells every fragment to refresh what it may have missed. On a ticket page (body data-ticket)
// the page reports viewing and typing, and shows who else is on the ticket (collision).
// body[data-live] is "on" while the socket is open ("off" otherwise).
(function () {
  "use strict";
  const body = document.body;
  if (!body || !body.dataset.agent || !window.WebSocket || !window.SellerDesk) return;
  const me = Number(body.dataset.agent);
  const TYPING_EVERY = 3000; // ms between typing reports while the agent writes
  const SILENCE = 60000; // ms without any frame (the server pings every 25 s): reconnect
  const SKIP = { ping: 1, pong: 1, ready: 1, error: 1 };
  let socket = null;
  let attempts = 0;
  let wasReady = false;
  let viewing = null;
  let lastTyping = 0;
  let presence = null;
  let shown = "";
  let watchdog = 0;

  function trigger(name, detail) {
    if (window.htmx) window.htmx.trigger(body, name, detail);
    else body.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function ticket() {
    const id = Number(body.dataset.ticket);
    return id > 0 ? id : null;
  }

  function syncView() {
    const id = ticket();
    if (id === viewing) return;
    viewing = id;
    presence = null;
    render();
    send({ op: "view", ticket_id: id });
  }

  function banner(text, kind) {
    if (text) {
      window.SellerDesk.banner(text, kind);
    } else if (shown && document.getElementById("live-banner").textContent === shown) {
      window.SellerDesk.banner("");
    }
    shown = text;
  }

  function names(list) {
    return (list || []).filter(function (a) { return a.agent_id !== me; })
      .map(function (a) { return a.name; });
  }

  function say(people, one, many) {
    if (!people.length) return "";
    const data = body.dataset;
    return people.length === 1 ? data[one].replace("{name}", people[0])
      : data[many].replace("{names}", people.join(", "));
  }

  function render() {
    const typing = presence ? names(presence.typing) : [];
    const others = presence ? names(presence.viewing) : [];
    banner(say(typing, "liveTypingOne", "liveTypingMany") ||
           say(others, "liveViewingOne", "liveViewingMany"), "collision");
  }

  function refresh(selector) {
    if (!window.htmx) return;
    document.querySelectorAll(selector).forEach(function (el) {
      window.htmx.ajax("GET", el.dataset.liveSrc, { target: el, swap: "outerHTML" });
    });
  }

  function handle(event) {
    const type = event.type;
    if (type === "ready") {
      attempts = 0;
      body.dataset.live = "on";
      if (shown === body.dataset.liveLost) banner("");
      viewing = undefined;
      syncView();
      if (wasReady) {
        trigger("live:resync", event);
        refresh("[data-message-id][data-live-src]");
      }
      wasReady = true;
      return;
    }
    if (type === "presence" && event.ticket_id === viewing) {
      presence = event;
      render();
    }
    if (type === "message.delivery") {
      refresh('[data-message-id="' + Number(event.message_id) + '"][data-live-src]');
    }
    if (type === "resync") refresh("[data-message-id][data-live-src]");
    if (!SKIP[type]) trigger("live:" + type, event);
  }

  function alive() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (socket) socket.close(); }, SILENCE);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.onopen = alive;
    socket.onmessage = function (message) {
      alive();
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event && typeof event.type === "string") handle(event);
    };
    socket.onclose = function (closed) {
      clearTimeout(watchdog);
      socket = null;
      body.dataset.live = "off";
      // 4401: the session is over (the next page load signs in again); 1008: refused.
      if (closed.code === 4401 || closed.code === 1008) return;
      attempts += 1;
      if (attempts > 1 && body.dataset.liveLost) banner(body.dataset.liveLost, "error");
      const delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempts - 1, 5)));
      setTimeout(connect, delay * (0.5 + Math.random() / 2));
    };
  }

  new MutationObserver(syncView).observe(body, { attributes: true,
                                                 attributeFilter: ["data-ticket"] });
  document.addEventListener("htmx:afterSettle", syncView);
  document.addEventListener("input", function (event) {
    if (!event.target || event.target.id !== "composer-text") return;
    syncView();
    const now = Date.now();
    if (viewing === null || now - lastTyping < TYPING_EVERY) return;
    lastTyping = now;
    send({ op: "typing", ticket_id: viewing });
  });
  window.addEventListener("pagehide", function () { send({ op: "view", ticket_id: null }); });

  body.dataset.live = "off";
  connect();
})();
