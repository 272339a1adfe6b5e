// Automation settings: lists and JSON editors over the REST API, with the browser's session.
(function () {
  "use strict";
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: Object.assign({"Accept": "application/json"},
        body === undefined ? {} : {"Content-Type": "application/json"},
        method === "GET" ? {} : {"X-CSRF-Token": csrf}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {ok: response.ok, status: response.status, data: text ? JSON.parse(text) : null};
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  async function list(table) {
    const body = table.tBodies[0];
    const columns = table.dataset.columns.split(",");
    const result = await api("GET", table.dataset.api);
    body.textContent = "";
    if (!result.ok) { cell(body.insertRow(), table.dataset.failed); return; }
    if (!result.data.length) { cell(body.insertRow(), table.dataset.empty).colSpan = columns.length + 1; }
    for (const item of result.data) {
      const row = body.insertRow();
      const link = document.createElement("a");
      link.href = "/automation/" + table.dataset.kind + "/" + item.id;
      link.textContent = "#" + item.id;
      cell(row, "").appendChild(link);
      for (const column of columns) {
        const value = item[column];
        cell(row, value === true ? table.dataset.yes : value === false ? table.dataset.no
          : value === null || value === undefined ? "" : String(value));
      }
    }
  }

  function show(form, kind, lines) {
    const box = document.getElementById("editor-result");
    box.className = kind;
    box.textContent = "";
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    }
  }

  async function editor(form) {
    const area = document.getElementById("definition");
    const readOnly = form.dataset.readOnly.split(",");
    const existing = form.dataset.id || form.dataset.singleton;
    const url = form.dataset.id ? form.dataset.api + "/" + form.dataset.id : form.dataset.api;
    if (existing) {
      const result = await api("GET", url);
      if (!result.ok) { show(form, "error", [form.dataset.failed]); return; }
      for (const key of readOnly) delete result.data[key];
      area.value = JSON.stringify(result.data, null, 2);
    }
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      let definition;
      try { definition = JSON.parse(area.value); } catch (error) {
        show(form, "error", [form.dataset.badJson.replace("{detail}", error.message)]);
        return;
      }
      const result = await api(existing ? "PATCH" : "POST", url, definition);
      if (result.ok) {
        show(form, "notice", [form.dataset.saved]);
        if (!existing && result.data && result.data.id) {
          window.location.href = "/automation/" + form.dataset.kind + "/" + result.data.id;
        }
        return;
      }
      const error = (result.data && result.data.error) || {};
      show(form, "error", [form.dataset.refused,
        [error.field, error.message].filter(Boolean).join(": ") + " (" + (error.code || result.status) + ")"]);
    });
    const remove = document.getElementById("delete");
    if (remove) remove.addEventListener("click", async function () {
      if (!window.confirm(form.dataset.confirmDelete)) return;
      const result = await api("DELETE", url);
      if (result.ok) { window.location.href = "/automation/" + form.dataset.kind; return; }
      const error = (result.data && result.data.error) || {};
      show(form, "error", [form.dataset.refused, (error.message || "") + " (" + (error.code || result.status) + ")"]);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const table = document.getElementById("automation-list");
    if (table) list(table);
    const form = document.getElementById("automation-editor");
    if (form) editor(form);
  });
})();
