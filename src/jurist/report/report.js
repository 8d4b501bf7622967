// The verdict table (search, filter, sort) and the item view. Every text from the data goes into the page
// through textContent: nothing is parsed as HTML, and no link in a candidate's text becomes clickable.
(function () {
  "use strict";
  var CUT = 160; // characters of a prompt in the table; the item view shows it whole
  var dialog = document.getElementById("item-view");

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function cut(text) {
    text = text || "";
    return text.length > CUT ? text.slice(0, CUT - 1) + "…" : text;
  }

  function confidence(value) {
    return typeof value === "number" ? value.toFixed(3) : "";
  }

  function field(item, key) {
    if (key === "status") return (item.status || []).join(" ");
    if (key === "confidence") return item.confidence;
    return item[key] === undefined ? null : item[key];
  }

  function compare(a, b, key) {
    var x = field(a, key), y = field(b, key);
    if (x === null || x === undefined || x === "") return (y === null || y === undefined || y === "") ? 0 : 1;
    if (y === null || y === undefined || y === "") return -1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x).localeCompare(String(y), undefined, { numeric: true });
  }

  function row(item, open) {
    var tr = el("tr");
    tr.tabIndex = 0;
    tr.appendChild(el("td", item.id));
    tr.appendChild(el("td", cut(item.prompt)));
    tr.appendChild(el("td", item.decision === undefined ? "–" : item.decision));
    tr.appendChild(el("td", item.label === undefined ? "" : item.label));
    tr.appendChild(el("td", confidence(item.confidence)));
    var status = el("td");
    (item.status || []).forEach(function (s) { status.appendChild(el("span", s, "badge " + s)); });
    tr.appendChild(status);
    tr.addEventListener("click", function () { open(item); });
    tr.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(item); }
    });
    return tr;
  }

  function setupRun(section) {
    var items = JSON.parse(section.querySelector("script.items").textContent);
    var tbody = section.querySelector("table.verdicts tbody");
    var search = section.querySelector("input.search");
    var filter = section.querySelector("select.filter");
    var shown = section.querySelector(".shown");
    var haystack = items.map(function (item) {
      var texts = [item.id, item.prompt, item.decision, item.label, item.rationale, item.error];
      (item.responses || []).forEach(function (r) { texts.push(r[1]); });
      return texts.filter(function (t) { return t !== undefined && t !== null; }).join("\n").toLowerCase();
    });
    var rows = items.map(function (item) { return row(item, openItem); });
    var order = items.map(function (_, i) { return i; });
    var sortKey = null, direction = 1;

    function refresh() {
      var query = search.value.trim().toLowerCase();
      var wanted = filter.value;
      var count = 0;
      var fragment = document.createDocumentFragment();
      order.forEach(function (i) {
        var matches = (!query || haystack[i].indexOf(query) >= 0) &&
          (wanted === "all" || (items[i].status || []).indexOf(wanted) >= 0);
        if (matches) { fragment.appendChild(rows[i]); count += 1; }
      });
      tbody.replaceChildren(fragment);
      shown.textContent = count + " of " + items.length + " items shown";
    }

    section.querySelectorAll("th button[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-sort");
        direction = key === sortKey ? -direction : 1;
        sortKey = key;
        order.sort(function (a, b) {
          var c = compare(items[a], items[b], key);
          return (c === 0 ? a - b : c) * (c === 0 ? 1 : direction);
        });
        section.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
        button.parentNode.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
        refresh();
      });
    });
    search.addEventListener("input", refresh);
    filter.addEventListener("change", refresh);
    refresh();
  }

  function block(parent, title, text, className) {
    if (text === undefined || text === null || text === "") return;
    parent.appendChild(el("h3", title));
    parent.appendChild(el("div", text, className || "text"));
  }

  function table(parent, title, head, lines) {
    if (!lines.length) return;
    parent.appendChild(el("h3", title));
    var t = el("table"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = t.appendChild(el("tbody"));
    lines.forEach(function (line) {
      var r = el("tr");
      line.forEach(function (cell) { r.appendChild(el("td", cell)); });
      body.appendChild(r);
    });
    var wrap = el("div", null, "table-wrap");
    wrap.appendChild(t);
    parent.appendChild(wrap);
  }

  function probs(p) {
    if (!p) return "";
    return Object.keys(p).sort().map(function (k) { return k + " " + Number(p[k]).toFixed(3); }).join(", ");
  }

  function openItem(item) {
    dialog.querySelector(".item-title").textContent = "item " + item.id;
    var body = dialog.querySelector(".item-body");
    body.replaceChildren();
    var facts = el("dl", null, "summary");
    [["decision", item.decision === undefined ? "none" : item.decision], ["label", item.label],
      ["reviewers' label", item.review],
      ["confidence", confidence(item.confidence)], ["status", (item.status || []).join(", ") || "ok"],
      ["error", item.error], ["probabilities", probs(item.probs)]].forEach(function (pair) {
      if (pair[1] === undefined || pair[1] === null || pair[1] === "") return;
      facts.appendChild(el("dt", pair[0]));
      facts.appendChild(el("dd", pair[1]));
    });
    body.appendChild(facts);
    (item.turns || []).forEach(function (turn, i) { block(body, "turn " + (i + 1) + " (" + turn[0] + ")", turn[1]); });
    block(body, "prompt", item.prompt);
    if ((item.responses || []).length) {
      body.appendChild(el("h3", "responses"));
      var side = el("div", null, "responses");
      item.responses.forEach(function (r) {
        var box = el("div", null, "response");
        box.appendChild(el("h4", r[0]));
        box.appendChild(el("div", r[1], "text"));
        side.appendChild(box);
      });
      body.appendChild(side);
    }
    block(body, "reference", item.reference);
    block(body, "rationale", item.rationale);
    table(body, "both orders", ["order", "winner (original positions)", "probabilities", "error"],
      (item.orders || []).map(function (o) { return [o.order, o.winner || "–", probs(o.probs), o.error || ""]; }));
    var orders = item.orders || [];
    (item.raw || []).forEach(function (text, i) {
      var which = orders.length === item.raw.length ? "model output, order " + orders[i].order : "model output " + (i + 1);
      block(body, which, text, "text raw");
    });
    block(body, "metadata", item.metadata, "text");
    if (item.cut) body.appendChild(el("p", "Some texts were cut; the run directory holds them whole.", "muted"));
    if (!dialog.open) dialog.showModal();
  }

  dialog.querySelector("button.close").addEventListener("click", function () { dialog.close(); });
  document.querySelectorAll("section.run").forEach(setupRun);
})();
