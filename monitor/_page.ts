// The monitor's web page: one HTML document with its style and a small
// script, no framework, no build step, nothing fetched from elsewhere. The
// script reads the token from its own address and uses it for the event
// stream, stacks and cancel.

/** The page, served by _web.ts. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>curio monitor</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2327; background: #f6f7f7; }
  header { padding: 12px 20px; background: #1d2327; color: #fff; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 17px; margin: 0; }
  #status { font-size: 13px; color: #b8e6bf; }
  #status.stalled { color: #ffb3b3; font-weight: bold; }
  main { padding: 12px 20px; }
  #stall { display: none; white-space: pre-wrap; background: #fcf0f1; border: 1px solid #d63638; padding: 8px; font: 12px/1.4 ui-monospace, monospace; }
  table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0002; }
  th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e0e0e0; white-space: nowrap; }
  th { background: #f0f0f1; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.task { cursor: pointer; }
  tr.task:hover { background: #f0f6fc; }
  tr.selected { background: #dbeafe !important; }
  .state { font: 12px ui-monospace, monospace; }
  .RUNNING, .READY { color: #008a20; font-weight: 600; }
  .daemon { color: #787c82; font-size: 12px; }
  button { font-size: 12px; padding: 2px 8px; cursor: pointer; }
  #detail { margin-top: 14px; }
  #detail h2 { font-size: 14px; margin: 0 0 6px; }
  #stack { background: #fff; border: 1px solid #dcdcde; padding: 8px; min-height: 3em; white-space: pre; overflow-x: auto; font: 12px/1.4 ui-monospace, monospace; }
  #message { margin: 8px 0; min-height: 1.4em; color: #2271b1; }
</style>
</head>
<body>
<header><h1>curio monitor</h1><span id="count"></span><span id="status">connecting...</span></header>
<main>
<div id="stall"></div>
<div id="message"></div>
<table>
  <thead><tr><th>ID</th><th>Parent</th><th>Name</th><th>State</th><th>Time in state</th><th>Cycles</th><th></th></tr></thead>
  <tbody id="tasks"></tbody>
</table>
<section id="detail"><h2 id="detail-title">Click a task to see where it is blocked</h2><div id="stack"></div></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const tasks = new Map();
let kernelNow = 0, receivedAt = Date.now(), stalled = 0, selected = null;
const $ = (id) => document.getElementById(id);

function seconds(row) {
  if (!row.blocked || row.since < 0) return "-";
  const s = kernelNow - row.since + (stalled > 0 ? 0 : (Date.now() - receivedAt) / 1000);
  if (s < 60) return Math.max(0, s).toFixed(1) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function render() {
  const body = $("tasks");
  body.textContent = "";
  for (const row of tasks.values()) {
    const tr = document.createElement("tr");
    tr.className = "task" + (row.id === selected ? " selected" : "");
    tr.dataset.id = String(row.id);
    cell(tr, String(row.id), "num");
    cell(tr, row.parent === undefined || row.parent === null ? "-" : String(row.parent), "num");
    const name = cell(tr, row.name);
    if (row.daemon) {
      const d = document.createElement("span");
      d.className = "daemon";
      d.textContent = " daemon";
      name.appendChild(d);
    }
    cell(tr, row.state, "state " + row.state);
    cell(tr, seconds(row), "num time");
    cell(tr, String(row.cycles), "num");
    const td = cell(tr, "");
    const button = document.createElement("button");
    button.textContent = "Cancel";
    button.className = "cancel";
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      cancelTask(row.id);
    });
    td.appendChild(button);
    tr.addEventListener("click", () => showStack(row.id));
    body.appendChild(tr);
  }
  $("count").textContent = tasks.size + (tasks.size === 1 ? " task" : " tasks");
}

async function showStack(id) {
  selected = id;
  history.replaceState(null, "", "#task=" + id);
  render();
  const row = tasks.get(id);
  $("detail-title").textContent = "Task " + id + (row ? " (" + row.name + ")" : "");
  $("stack").textContent = "loading...";
  const res = await fetch("/stack?id=" + id + "&token=" + encodeURIComponent(token));
  $("stack").textContent = await res.text();
}

async function cancelTask(id) {
  $("message").textContent = "cancelling task " + id + "...";
  const res = await fetch("/cancel?id=" + id, { method: "POST", headers: { "x-curio-token": token } });
  $("message").textContent = (await res.text()).trim();
}

const events = new EventSource("/events?token=" + encodeURIComponent(token));
events.addEventListener("table", (e) => {
  const data = JSON.parse(e.data);
  tasks.clear();
  for (const row of data.rows) tasks.set(row.id, row);
  kernelNow = data.now;
  receivedAt = Date.now();
  render();
  // An address ending in #task=ID opens with that task's stack shown.
  const wanted = /^#task=(\\d+)$/.exec(location.hash);
  if (wanted && selected === null && tasks.has(Number(wanted[1]))) showStack(Number(wanted[1]));
});
events.addEventListener("update", (e) => {
  const data = JSON.parse(e.data);
  for (const row of data.rows) tasks.set(row.id, row);
  for (const id of data.gone) tasks.delete(id);
  kernelNow = data.now;
  receivedAt = Date.now();
  render();
});
events.addEventListener("status", (e) => {
  const data = JSON.parse(e.data);
  stalled = data.stalled;
  const status = $("status");
  status.className = stalled > 0 ? "stalled" : "";
  status.textContent = stalled > 0
    ? "kernel not responding for " + (stalled / 1000).toFixed(1) + "s"
    : "live";
  $("stall").style.display = stalled > 0 ? "block" : "none";
  $("stall").textContent = data.report.join("\\n");
});
events.onerror = () => {
  $("status").className = "stalled";
  $("status").textContent = "disconnected (has the program exited?)";
};
setInterval(() => {
  for (const tr of document.querySelectorAll("tr.task")) {
    const row = tasks.get(Number(tr.dataset.id));
    if (row) tr.querySelector(".time").textContent = seconds(row);
  }
}, 500);
</script>
</body>
</html>
`;
