// jurist review: the page. Every text from the run is data: it reaches the DOM through textContent only.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
let config = null;
let tab = null;
let current = null; // the item on screen
let busy = false;

function $(id) { return document.getElementById(id); }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method: method,
    headers: { "X-Jurist-Token": token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: "HTTP " + response.status }; }
  if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
  return data;
}

function showError(error) {
  const box = $("error");
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

function side(choice) {
  if (config.mode !== "pairwise") return String(choice);
  return { A: "left (A)", B: "right (B)", tie: "tie" }[choice] || String(choice);
}

function renderVerdict(box, verdict, title) {
  box.replaceChildren();
  box.appendChild(el("h2", title));
  if (verdict.failed) {
    box.appendChild(el("p", "The judge failed on this item: " + verdict.failed));
  } else {
    const decided = verdict.decision === null || verdict.decision === undefined ? "no decision" : side(verdict.decision);
    box.appendChild(el("p", "The judge decided: " + decided + (verdict.flagged ? " (flagged)" : "")));
  }
  if (verdict.probs) {
    const parts = Object.keys(verdict.probs).map((k) => side(k) + " " + Number(verdict.probs[k]).toFixed(2));
    box.appendChild(el("p", "Probabilities: " + parts.join(", ")));
  }
  if (verdict.consistent === false) box.appendChild(el("p", "The two presentation orders disagreed."));
  if (verdict.escalated) {
    box.appendChild(el("p", "Escalated by the cascade: " + verdict.escalated.join(", ")));
  }
  if (verdict.cheap !== null && verdict.cheap !== undefined) {
    box.appendChild(el("p", "The cheap judge decided: " + side(verdict.cheap)));
  }
  if (verdict.item_label !== null && verdict.item_label !== undefined) {
    box.appendChild(el("p", "The item's own label: " + side(verdict.item_label)));
  }
  if (verdict.rationale) {
    box.appendChild(el("div", "Rationale", "label"));
    box.appendChild(el("div", verdict.rationale, "text"));
  }
  box.hidden = false;
}

function renderProgress(progress) {
  $("progress").textContent = progress.labelled + " labelled, " + progress.skipped + " skipped, " +
    progress.left + " left of " + progress.queue;
}

function renderItem(item) {
  current = item;
  $("note").value = "";
  $("verdict").hidden = true;
  if (!item) { $("item").hidden = true; return; }
  $("item-id").textContent = item.id;
  const prompt = $("prompt");
  prompt.replaceChildren();
  if (item.turns) {
    for (const turn of item.turns) prompt.appendChild(el("div", turn.role + ": " + turn.content));
  } else {
    prompt.textContent = item.prompt;
  }
  $("reference").textContent = item.reference || "";
  $("reference-box").hidden = !item.reference;
  const responses = $("responses");
  responses.replaceChildren();
  const texts = config.mode === "pairwise" ? item.responses : [item.response];
  const names = config.mode === "pairwise" ? ["A (left)", "B (right)"] : ["Response"];
  texts.forEach((text, i) => {
    const box = el("div", null, "response");
    box.appendChild(el("div", names[i], "label"));
    box.appendChild(el("div", text, "text"));
    responses.appendChild(box);
  });
  if (item.verdict) renderVerdict($("verdict"), item.verdict, "The judge's verdict (shown before your answer)");
  $("item").hidden = false;
}

function renderState(state) {
  renderProgress(state.progress);
  renderItem(state.item);
  const message = $("message");
  message.textContent = state.item ? "" : state.message || "";
  message.hidden = !!state.item;
  const previous = $("previous");
  if (state.previous) {
    const p = state.previous;
    const title = "Item " + p.id + ": " + (p.skipped ? "skipped" : "you chose " + side(p.choice));
    renderVerdict(previous, p.verdict, title);
  } else if (state.undone) {
    previous.replaceChildren(el("h2", "Undone: item " + state.undone.id + " is back"));
    previous.hidden = false;
  }
}

function buildAnswers() {
  const answers = $("answers");
  answers.replaceChildren();
  const choices = config.mode === "pairwise"
    ? [["A", "A: left is better (A)"], ["B", "B: right is better (B)"], ["tie", "Tie (T)"]]
    : config.scale.map((option, i) => [option.value, option.label + (i < 9 ? " (" + (i + 1) + ")" : "")]);
  for (const [value, text] of choices) {
    const button = el("button", text, "answer");
    button.type = "button";
    button.addEventListener("click", () => answer(value));
    answers.appendChild(button);
  }
  $("keys").textContent = (config.mode === "pairwise" ? "Keys: A / B / T answer" : "Keys: 1-" +
    Math.min(9, config.scale.length) + " answer") + ", S skip, U undo, N note, V show the judge's verdict.";
}

async function act(work) {
  if (busy) return;
  busy = true;
  try {
    showError(null);
    await work();
  } catch (error) {
    showError(error);
  } finally {
    busy = false;
  }
}

function answer(choice) {
  if (!current) return;
  return act(async () => {
    const note = $("note").value.trim();
    const shown = !$("verdict").hidden;
    const body = { tab: tab, item: current.id, choice: choice, note: note || null, verdict_shown: shown };
    renderState(await api("POST", "/api/answer", body));
    refreshLater();
  });
}

function skip() {
  if (!current) return;
  return act(async () => {
    renderState(await api("POST", "/api/answer", { tab: tab, item: current.id, choice: null, note: null }));
  });
}

function undo() {
  return act(async () => {
    renderState(await api("POST", "/api/undo", { tab: tab }));
    refreshLater();
  });
}

function reveal() {
  if (!current) return;
  return act(async () => {
    const found = await api("POST", "/api/reveal", { tab: tab, item: current.id });
    renderVerdict($("verdict"), found.verdict, "The judge's verdict (shown before your answer: recorded)");
  });
}

function interval(found) {
  if (!found || found.value === null) return "n/a";
  const value = found.value.toFixed(2);
  return found.low === null ? value : value + " [" + found.low.toFixed(2) + ", " + found.high.toFixed(2) + "]";
}

// the agreement is recomputed (with its bootstrap) beside the next item, not before it: keys stay quick
function refreshLater() {
  refreshAgreement().catch(showError);
}

async function refreshAgreement() {
  const found = await api("GET", "/api/agreement");
  const body = $("agreement").querySelector("tbody");
  body.replaceChildren();
  for (const pair of found.pairs) {
    const row = el("tr");
    for (const cell of [pair.first, pair.second, pair.n, interval(pair.accuracy), interval(pair.kappa)]) {
      row.appendChild(el("td", cell));
    }
    body.appendChild(row);
  }
  if (!found.pairs.length) {
    const row = el("tr");
    const cell = el("td", "no labels yet");
    cell.colSpan = 5;
    row.appendChild(cell);
    body.appendChild(row);
  }
}

function release() {
  fetch("/api/release", {
    method: "POST",
    keepalive: true,
    headers: { "X-Jurist-Token": token, "Content-Type": "application/json" },
    body: JSON.stringify({ tab: tab }),
  }).catch(() => {}); // the server may be gone: its claims expire anyway
}

function onKey(event) {
  const target = event.target;
  if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) {
    if (event.key === "Escape") target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !config) return;
  const key = event.key.toLowerCase();
  let handled = true;
  if (config.mode === "pairwise" && (key === "a" || key === "b")) answer(key.toUpperCase());
  else if (config.mode === "pairwise" && key === "t") answer("tie");
  else if (config.mode === "pointwise" && /^[1-9]$/.test(key) && Number(key) <= config.scale.length) {
    answer(config.scale[Number(key) - 1].value);
  } else if (key === "s") skip();
  else if (key === "u") undo();
  else if (key === "v") reveal();
  else if (key === "n") $("note").focus();
  else handled = false;
  if (handled) event.preventDefault();
}

async function main() {
  await act(async () => {
    config = await api("POST", "/api/start");
    // one claimant per page load: a reload or a closed tab frees its item (pagehide), a duplicated tab gets its own
    tab = config.tab;
    window.addEventListener("pagehide", release);
    $("who").textContent = "run " + config.run + " · reviewer " + config.reviewer + " · queue " + config.queue;
    buildAnswers();
    $("skip").addEventListener("click", skip);
    $("undo").addEventListener("click", undo);
    $("reveal").addEventListener("click", reveal);
    document.addEventListener("keydown", onKey);
    renderState(await api("GET", "/api/next?tab=" + encodeURIComponent(tab)));
    await refreshAgreement();
    document.body.dataset.ready = "1";
  });
}

main();
